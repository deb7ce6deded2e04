/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the reading packer (lib/readpack.c).  Any line that
 * parses as a reading must carry only numbers in range (finite, below
 * 10^11 in magnitude) and strings of well-formed UTF-8, pack, come back
 * byte for byte from the blob and unpack; a line that does not parse
 * must say why in one line.  A line the fast path takes must also be
 * one the general path parses to the same struct and packs to the same
 * blob.  Each reading that parses is then written as bms_reading_json()
 * would write it, and that line, which the fast path should mostly
 * take, goes through the same checks.  The raw input is also taken as
 * a blob: refused or decoded, never a crash, and a blob that unpacks
 * must also write a line that is a JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "readpack.h"
#include "ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bms_readpack rp, u, g, c;

static int same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static int same_codes(const struct bms_readpack *a, const char *const *x,
		      const struct bms_readpack *b, const char *const *y, int n)
{
	for (int i = 0; i < BMS_MAX_CODES; i++) {
		if (i >= n ? x[i] || y[i] :
			     !x[i] || !y[i] || x[i] - a->text != y[i] - b->text ||
			     strcmp(x[i], y[i]) != 0)
			return 0;
	}
	return 1;
}

/* Every field the parser fills, doubles bit for bit. */
static int same_parse(const struct bms_readpack *a, const struct bms_readpack *b)
{
	const struct bms_reading *x = &a->r, *y = &b->r;

	return strcmp(a->bms_id, b->bms_id) == 0 && a->ts_ms == b->ts_ms &&
	       a->has_tenant == b->has_tenant && strcmp(a->tenant, b->tenant) == 0 &&
	       a->has_proto == b->has_proto && strcmp(a->proto, b->proto) == 0 &&
	       x->have == y->have &&
	       same_double(x->pack_voltage, y->pack_voltage) &&
	       same_double(x->pack_current, y->pack_current) &&
	       same_double(x->pack_power, y->pack_power) &&
	       same_double(x->soc_percent, y->soc_percent) &&
	       same_double(x->soh_percent, y->soh_percent) &&
	       same_double(x->remaining_capacity_ah, y->remaining_capacity_ah) &&
	       same_double(x->nominal_capacity_ah, y->nominal_capacity_ah) &&
	       x->ntemps == y->ntemps && memcmp(x->temps, y->temps, sizeof x->temps) == 0 &&
	       x->ncells == y->ncells && memcmp(x->cells, y->cells, sizeof x->cells) == 0 &&
	       x->balancing_active == y->balancing_active &&
	       x->balancing_mask == y->balancing_mask &&
	       memcmp(&x->prot, &y->prot, sizeof x->prot) == 0 &&
	       x->nfaults == y->nfaults && x->nwarnings == y->nwarnings &&
	       same_codes(a, x->faults, b, y->faults, x->nfaults) &&
	       same_codes(a, x->warnings, b, y->warnings, x->nwarnings) &&
	       x->cycles == y->cycles && x->charge_mos == y->charge_mos &&
	       x->discharge_mos == y->discharge_mos;
}

/* A number a reading may carry. */
static int in_range(double v)
{
	return v > -1e11 && v < 1e11;
}

/* Every number of rp in range, every string UTF-8. */
static int sound(const struct bms_readpack *a)
{
	const struct bms_reading *x = &a->r;
	const double *plain[] = {
		&x->pack_voltage, &x->pack_current, &x->pack_power, &x->soc_percent,
		&x->soh_percent, &x->remaining_capacity_ah, &x->nominal_capacity_ah,
	};

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (!in_range(*plain[i]))
			return 0;
	for (int i = 0; i < x->ntemps; i++)
		if (!in_range(x->temps[i]))
			return 0;
	for (int i = 0; i < x->ncells; i++)
		if (!in_range(x->cells[i]))
			return 0;
	for (int i = 0; i < x->nfaults; i++)
		if (!bms_json_utf8_valid(x->faults[i], strlen(x->faults[i])))
			return 0;
	for (int i = 0; i < x->nwarnings; i++)
		if (!bms_json_utf8_valid(x->warnings[i], strlen(x->warnings[i])))
			return 0;
	return in_range((double)x->cycles) &&
	       bms_json_utf8_valid(a->bms_id, strlen(a->bms_id)) &&
	       bms_json_utf8_valid(a->tenant, strlen(a->tenant)) &&
	       bms_json_utf8_valid(a->proto, strlen(a->proto));
}

/*
 * The checks of a line that parsed into rp.  Returns 0 if the fast path
 * did not take it, 1 if it did.
 */
static int check_parsed(const char *line, size_t size)
{
	struct bms_buf blob = BMS_BUF_INIT, out = BMS_BUF_INIT, b2 = BMS_BUF_INIT;
	int rc, fast = rp.fast_line != NULL;

	if (!sound(&rp))
		__builtin_trap();
	rc = bms_readpack_pack(&rp, line, size, &blob);
	if (rc != 0 && rc != 1)
		__builtin_trap();
	if (bms_readpack_json(blob.p, blob.len, rp.bms_id, rp.ts_ms,
			      rp.has_tenant ? rp.tenant : NULL, &out) < 0 ||
	    out.len != size || memcmp(out.p, line, size) != 0)
		__builtin_trap();
	if (bms_readpack_unpack(blob.p, blob.len, &u) < 0 ||
	    u.r.have != rp.r.have || u.has_tenant != rp.has_tenant)
		__builtin_trap();
	if (fast) {
		/* The general path, made to run by a leading space. */
		char *spaced = malloc(size + 1);

		if (!spaced)
			__builtin_trap();
		spaced[0] = ' ';
		memcpy(spaced + 1, line, size);
		if (rc != 0 || bms_readpack_parse(spaced, size + 1, &g, NULL, 0) < 0 ||
		    g.fast_line || !same_parse(&rp, &g))
			__builtin_trap();
		free(spaced);
		c = rp;
		c.fast_line = NULL;
		if (bms_readpack_pack(&c, line, size, &b2) != 0 || b2.len != blob.len ||
		    memcmp(b2.p, blob.p, blob.len) != 0)
			__builtin_trap();
	}
	bms_buf_free(&blob);
	bms_buf_free(&out);
	bms_buf_free(&b2);
	return fast;
}

/* rp as bms_reading_json writes it, with its own identity. */
static void canonical(struct bms_buf *b)
{
	struct bms_buf id = BMS_BUF_INIT, ten = BMS_BUF_INIT;
	struct bms_record_head h = { 0 };
	char ts[BMS_TS_LEN + 3];

	bms_buf_json_str(&id, rp.bms_id, strlen(rp.bms_id));
	h.bms_id = id.p;
	h.bms_id_len = id.len;
	ts[0] = '"';
	bms_ts_format_ms(rp.ts_ms, ts + 1);
	ts[BMS_TS_LEN + 1] = '"';
	ts[BMS_TS_LEN + 2] = '\0';
	h.timestamp = ts;
	h.timestamp_len = BMS_TS_LEN + 2;
	if (rp.has_tenant) {
		bms_buf_json_str(&ten, rp.tenant, strlen(rp.tenant));
		h.tenant = ten.p;
		h.tenant_len = ten.len;
	}
	if (!id.oom && !ten.oom)
		bms_reading_json(&rp.r, &h, rp.has_proto ? rp.proto : NULL, b);
	bms_buf_free(&id);
	bms_buf_free(&ten);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_buf canon = BMS_BUF_INIT, out = BMS_BUF_INIT;
	const char *line = (const char *)data;
	char why[256];

	why[0] = '\0';
	if (bms_readpack_parse(line, size, &rp, why, sizeof why) == 0) {
		check_parsed(line, size);
		/* The same reading in the writer's own form: the walk's
		 * ground.  (The codes point into rp.text; canonical() reads
		 * them before rp is parsed again.) */
		canonical(&canon);
		if (canon.len && bms_readpack_parse(canon.p, canon.len, &rp, NULL, 0) == 0)
			check_parsed(canon.p, canon.len);
	} else if (why[0] == '\0' || strchr(why, '\n')) {
		__builtin_trap();
	}

	if (bms_readpack_unpack(data, size, &u) == 0) {
		if (bms_readpack_json(data, size, "p1", 0, "t", &out) < 0 ||
		    bms_json_scan(out.p, out.len, NULL, 0, NULL) < 0)
			__builtin_trap();
	}
	bms_buf_free(&canon);
	bms_buf_free(&out);
	return 0;
}

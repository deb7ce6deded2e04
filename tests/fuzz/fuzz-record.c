/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the record envelope (lib/record.c), the reading
 * parser (lib/reading.c) and the status parser (lib/status.c).  A line
 * each parser takes must meet the limits of bms(7): a bms_id of 1..127
 * bytes and a tenant of at most 63, UTF-8 without NUL, a time of the
 * years 0000-9999, no envelope key twice; a reading's numbers in range
 * and its fields within the schema's rules.  A line one refuses must
 * say why in one line.  The reading parser and the store's packer
 * (lib/readpack.c, fast path or not) take the same lines with the same
 * reasons, and the readings they give agree.  A reading the parser
 * takes comes out of the validator (lib/validate.c) as a line the
 * parser takes again, with one verdict of the three.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reading.h"
#include "readpack.h"
#include "record.h"
#include "status.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bms_reading_doc d;
static struct bms_readpack rp;
static struct bms_status st;
static struct bms_config *cfg;
static struct bms_validate *val;
static struct bms_validate_result res;
static struct bms_buf out;

static void one_line(const char *why)
{
	if (why[0] == '\0' || strchr(why, '\n'))
		__builtin_trap();
}

static void sound_env(const struct bms_record *e)
{
	size_t n = strlen(e->bms_id), t = strlen(e->tenant);

	if (n == 0 || n > BMS_RECORD_ID_MAX || t > BMS_RECORD_TENANT_MAX ||
	    (!e->has_tenant && t) || !bms_json_utf8_valid(e->bms_id, n) ||
	    !bms_json_utf8_valid(e->tenant, t) ||
	    e->ts_ms < -62167219200000LL || e->ts_ms > 253402300799999LL)
		__builtin_trap();
}

/* A number a reading may carry: finite, below 1e11 in magnitude, and
 * not negative if nonneg. */
static int in_range(double v, int nonneg)
{
	return v > -1e11 && v < 1e11 && (!nonneg || v >= 0);
}

static void sound_reading(const struct bms_reading *r)
{
	if (((r->have & BMS_R_VOLTAGE) && !in_range(r->pack_voltage, 1)) ||
	    ((r->have & BMS_R_SOC) && !(r->soc_percent >= 0 && r->soc_percent <= 100)) ||
	    ((r->have & BMS_R_SOH) && !(r->soh_percent >= 0 && r->soh_percent <= 100)) ||
	    ((r->have & BMS_R_CYCLES) && r->cycles < 0) ||
	    ((r->have & BMS_R_REMAIN) && !in_range(r->remaining_capacity_ah, 1)) ||
	    ((r->have & BMS_R_NOMINAL) && !in_range(r->nominal_capacity_ah, 1)) ||
	    r->ncells < 0 || r->ncells > BMS_MAX_CELLS || r->ntemps < 0 ||
	    r->ntemps > BMS_MAX_TEMPS || r->nfaults > BMS_MAX_CODES ||
	    r->nwarnings > BMS_MAX_CODES ||
	    ((r->have & BMS_R_QUALITY) && (r->quality < 0 || r->quality > BMS_QUALITY_BAD)) ||
	    r->nfindings < 0 || r->nfindings > BMS_MAX_FINDINGS)
		__builtin_trap();
	for (int i = 0; i < r->ncells; i++)
		if (!in_range(r->cells[i], 1))
			__builtin_trap();
	for (int i = 0; i < r->ntemps; i++)
		if (!in_range(r->temps[i], 0))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct bms_record env;
	char why[256], why2[256];
	int rd, pk;

	why[0] = '\0';
	if (bms_record_parse(line, size, &env, why, sizeof why) == 0)
		sound_env(&env);
	else
		one_line(why);

	why[0] = why2[0] = '\0';
	rd = bms_reading_parse(line, size, &d, why, sizeof why);
	pk = bms_readpack_parse(line, size, &rp, why2, sizeof why2);
	if (rd != pk)
		__builtin_trap();
	if (rd == 0) {
		sound_env(&d.env);
		sound_reading(&d.r);
		if (strcmp(d.env.bms_id, rp.bms_id) != 0 || d.env.ts_ms != rp.ts_ms ||
		    d.env.has_tenant != rp.has_tenant || strcmp(d.env.tenant, rp.tenant) ||
		    d.has_proto != rp.has_proto || strcmp(d.proto, rp.proto) ||
		    d.r.have != rp.r.have || d.r.ncells != rp.r.ncells ||
		    d.r.ntemps != rp.r.ntemps || d.r.nfaults != rp.r.nfaults ||
		    d.r.nwarnings != rp.r.nwarnings || d.r.cycles != rp.r.cycles ||
		    memcmp(d.r.cells, rp.r.cells, sizeof d.r.cells) != 0 ||
		    memcmp(d.r.temps, rp.r.temps, sizeof d.r.temps) != 0)
			__builtin_trap();
		for (int i = 0; i < d.r.nfaults; i++)
			if (strcmp(d.r.faults[i], rp.r.faults[i]) != 0)
				__builtin_trap();
		/* Judged, the line is a reading with one verdict. */
		if (!cfg) {
			cfg = bms_config_new(bms_validate_keys, bms_validate_nkeys);
			val = bms_validate_new(cfg, -1);
		}
		if (bms_validate_line(val, line, size, 0, &res, &out, why, sizeof why) !=
			    BMS_VALIDATE_JUDGED ||
		    bms_reading_parse(out.p, out.len, &d, why, sizeof why) != 0 ||
		    !(d.r.have & BMS_R_QUALITY) || d.r.quality != res.quality ||
		    d.r.nfindings != res.n)
			__builtin_trap();
	} else {
		one_line(why);
		/* The fast path never refuses: the reason is the parser's. */
		if (strcmp(why, why2) != 0)
			__builtin_trap();
	}

	why[0] = '\0';
	if (bms_status_parse(line, size, &st, why, sizeof why) == 0) {
		sound_env(&st.env);
		if (st.state == BMS_STATUS_NONE || st.quality < 0 || st.quality > 100 ||
		    !bms_status_reason_known(st.reason) ||
		    !bms_json_utf8_valid(st.message, strlen(st.message)))
			__builtin_trap();
	} else {
		one_line(why);
	}
	return 0;
}

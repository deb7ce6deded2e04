/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Daly A5 decoder (bms_daly_decode) and its
 * framing (bms_daly_next).
 *
 * Input: byte 0 holds the options (bit 0 invert_current, bits 4-7 the
 * board number - 1); then the exchanges of one poll, each as a length
 * byte and that many bytes (the last one may be cut short).  A successful
 * decode must give a sane reading; anything else traps.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "daly.h"
#include "reading.h"

#define MAX_ELEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* The contract of a successful decode (daly.h). */
static void check_reading(const struct bms_reading *r)
{
	check(r->ncells >= 0 && r->ncells <= BMS_MAX_CELLS);
	check(r->ntemps >= 0 && r->ntemps <= BMS_MAX_TEMPS);
	check((r->have & (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC)) ==
	      (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC));
	check(in(r->soc_percent, 0, 100));
	check(in(r->pack_voltage, 0, 250));
	check(in(r->pack_current, -1000, 1000));
	check(isfinite(r->pack_power));
	for (int i = 0; i < r->ncells; i++)
		check(in(r->cells[i], 0, 5));
	for (int i = 0; i < r->ntemps; i++)
		check(in(r->temps[i], -40, 150));
	check(r->balancing_mask >> r->ncells == 0);
	check(r->balancing_active == (r->balancing_mask != 0));
	check(r->nfaults >= 0 && r->nfaults <= BMS_MAX_CODES);
	check(r->nwarnings >= 0 && r->nwarnings <= BMS_MAX_CODES);
	for (int i = 0; i < r->nfaults; i++)
		check(r->faults[i] != NULL);
	for (int i = 0; i < r->nwarnings; i++)
		check(r->warnings[i] != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *elems[MAX_ELEMS];
	size_t lens[MAX_ELEMS], n = 0, pos;
	struct bms_daly_opts opt = { .board = 1 };
	struct bms_daly_frame f;
	struct bms_reading r;
	char err[96];
	int rc;

	/* Framing over the raw input. */
	pos = 0;
	for (;;) {
		size_t start = pos;

		rc = bms_daly_next(data, size, &pos, &f);
		check(pos >= start && pos <= size);
		if (!rc)
			break;
		check(pos >= BMS_DALY_LEN);
		check(data[pos - BMS_DALY_LEN] == BMS_DALY_START);
		check(bms_daly_checksum(data + pos - BMS_DALY_LEN) == data[pos - 1]);
		check(f.id == data[pos - BMS_DALY_LEN + 2]);
	}

	if (size == 0)
		return 0;
	opt.invert_current = data[0] & 1;
	opt.board = (data[0] >> 4) + 1;
	for (pos = 1; pos < size && n < MAX_ELEMS; n++) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		elems[n] = data + pos;
		lens[n] = len;
		pos += len;
	}

	err[0] = '\0';
	rc = bms_daly_decode(elems, lens, n, &opt, &r, err, sizeof err);
	if (rc == 0) {
		struct bms_buf b = BMS_BUF_INIT;
		static const char id[] = "\"fuzz\"", ts[] = "\"2026-11-27T14:29:11.123Z\"";
		struct bms_reading_head h = {
			.bms_id = id, .bms_id_len = sizeof id - 1,
			.timestamp = ts, .timestamp_len = sizeof ts - 1,
			.proto = "daly",
		};

		check_reading(&r);
		bms_reading_json(&r, &h, &b);
		check(!b.oom && b.len > 2 && b.p[0] == '{' && b.p[b.len - 1] == '}');
		bms_buf_free(&b);
	} else {
		check(rc == -1 && err[0] != '\0' && r.have == 0);
	}
	return 0;
}

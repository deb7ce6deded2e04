/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Daly D2 Modbus decoder (bms_dalymb_decode) and
 * the Modbus framing (bms_modbus_next).
 *
 * Input: byte 0 holds the options (bit 0 invert_current); then the
 * exchanges of one poll, each as a length byte and that many bytes (the
 * last one may be cut short).  A successful decode must give a sane
 * reading; anything else traps.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "daly.h"
#include "modbus.h"
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

static void check_reading(const struct bms_reading *r)
{
	check(r->ncells >= 0 && r->ncells <= 32);
	check(r->ntemps >= 0 && r->ntemps <= 8);
	check(in(r->soc_percent, 0, 100));
	check(in(r->pack_voltage, 0, 250));
	check(in(r->pack_current, -1000, 1000));
	check(in(r->pack_power, -65535, 65535));
	check(r->pack_current >= 0 || r->pack_power <= 0);
	for (int i = 0; i < r->ncells; i++)
		check(in(r->cells[i], 0, 5));
	for (int i = 0; i < r->ntemps; i++)
		check(in(r->temps[i], -40, 150));
	check(r->balancing_mask >> r->ncells == 0);
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
	struct bms_modbus_reply rep;
	struct bms_reading r;
	char err[96];
	int rc;

	/* Framing over the raw input, moving on by one after a false start
	 * as a decoder does. */
	pos = 0;
	while (pos < size) {
		size_t start = pos;

		rc = bms_modbus_next(data, size, &pos, BMS_DALYMB_ADDR, &rep);
		check(pos >= start && pos <= size);
		if (!rc) {
			pos++;
			continue;
		}
		check(rep.len >= 5 && rep.len <= pos - start);
		check(data[pos - rep.len] == BMS_DALYMB_ADDR);
		check(bms_modbus_crc(data + pos - rep.len, rep.len) == 0);
		check(rep.nregs <= BMS_MODBUS_MAX_REGS);
		check(rep.func != 0x03 || rep.len == 5 + 2 * (size_t)rep.nregs);
	}

	if (size == 0)
		return 0;
	opt.invert_current = data[0] & 1;
	for (pos = 1; pos < size && n < MAX_ELEMS; n++) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		elems[n] = data + pos;
		lens[n] = len;
		pos += len;
	}

	err[0] = '\0';
	rc = bms_dalymb_decode(elems, lens, n, &opt, &r, err, sizeof err);
	if (rc == 0) {
		struct bms_buf b = BMS_BUF_INIT;
		static const char id[] = "\"fuzz\"", ts[] = "\"2026-11-27T14:29:11.123Z\"";
		struct bms_reading_head h = {
			.bms_id = id, .bms_id_len = sizeof id - 1,
			.timestamp = ts, .timestamp_len = sizeof ts - 1,
			.proto = "daly-modbus",
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

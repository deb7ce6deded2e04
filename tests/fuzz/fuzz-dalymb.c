/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Daly D2 Modbus decoder (bms_dalymb_decode)
 * and the Modbus framing of both ends (bms_modbus_next for replies,
 * bms_modbus_next_request for requests).  Input and checks: fuzz-daly.h;
 * D2 boards answer at one address, so the board bits are not used.
 */
#include "fuzz-daly.h"
#include "modbus.h"

/* The contract of a successful D2 decode beyond the common one. */
static void check_reading(const struct bms_reading *r)
{
	check_reading_common(r);
	check(r->ncells <= 32);
	check(r->ntemps <= 8);
	check(in(r->pack_power, -65535, 65535));
	check(r->pack_current >= 0 || r->pack_power <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *elems[FUZZ_MAX_ELEMS];
	size_t lens[FUZZ_MAX_ELEMS], n, pos, len;
	struct bms_daly_opts opt;
	struct bms_modbus_reply rep;
	struct bms_reading r;
	char err[96];
	int rc;

	/* Replies over the raw input, moving on by one after a false start
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

	/* Requests, as bms-sim takes them: each found one is whole. */
	pos = 0;
	for (;;) {
		size_t start = pos;

		rc = bms_modbus_next_request(data, size, &pos, BMS_DALYMB_ADDR, &len);
		check(pos >= start && pos <= size);
		if (!rc)
			break;
		check(len >= 8 && len <= pos - start);
		check(data[pos - len] == BMS_DALYMB_ADDR);
		check(bms_modbus_crc(data + pos - len, len) == 0);
	}

	if (size == 0)
		return 0;
	n = fuzz_poll(data, size, false, &opt, elems, lens);
	err[0] = '\0';
	rc = bms_dalymb_decode(elems, lens, n, &opt, &r, err, sizeof err);
	if (rc == 0)
		check_reading(&r);
	check_result(rc, &r, err, "daly-modbus");
	return 0;
}

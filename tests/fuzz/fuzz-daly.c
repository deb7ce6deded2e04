/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Daly A5 decoder (bms_daly_decode) and its
 * framing (bms_daly_next).  Input and checks: fuzz-daly.h; the options
 * byte carries the board number.
 */
#include "fuzz-daly.h"

/* The contract of a successful A5 decode beyond the common one. */
static void check_reading(const struct bms_reading *r)
{
	check_reading_common(r);
	check((r->have & (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC)) ==
	      (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC));
	check(isfinite(r->pack_power));
	check(r->balancing_active == (r->balancing_mask != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *elems[FUZZ_MAX_ELEMS];
	size_t lens[FUZZ_MAX_ELEMS], n, pos;
	struct bms_daly_opts opt;
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
	n = fuzz_poll(data, size, true, &opt, elems, lens);
	err[0] = '\0';
	rc = bms_daly_decode(elems, lens, n, &opt, &r, err, sizeof err);
	if (rc == 0)
		check_reading(&r);
	check_result(rc, &r, err, "daly");
	return 0;
}

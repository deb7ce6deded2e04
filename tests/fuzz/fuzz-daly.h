/* SPDX-License-Identifier: MIT */
/*
 * What the two Daly decoder targets (fuzz-daly.c for A5, fuzz-dalymb.c
 * for D2) share: the input format, the contract every successful decode
 * keeps, and the check of the result.  Header-only: include it from one
 * target per binary.
 *
 * Input: byte 0 holds the options (bit 0 invert_current; bits 4-7 the
 * board number - 1, where the target takes a board); then the exchanges
 * of one poll, each as a length byte and that many bytes (the last one
 * may be cut short).  A broken contract traps.
 */
#ifndef BMS_FUZZ_DALY_H
#define BMS_FUZZ_DALY_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "daly.h"
#include "reading.h"

#define FUZZ_MAX_ELEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static inline int in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* One poll out of data[0..size), size > 0: the options into *opt (the
 * board only when with_board), the exchanges into elems and lens.
 * Returns the number of exchanges. */
static inline size_t fuzz_poll(const uint8_t *data, size_t size, bool with_board,
			       struct bms_daly_opts *opt, const uint8_t **elems,
			       size_t *lens)
{
	size_t n = 0, pos;

	opt->board = with_board ? (data[0] >> 4) + 1 : 1;
	opt->invert_current = data[0] & 1;
	for (pos = 1; pos < size && n < FUZZ_MAX_ELEMS; n++) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		elems[n] = data + pos;
		lens[n] = len;
		pos += len;
	}
	return n;
}

/* The part of a reading's contract both decoders keep (daly.h). */
static inline void check_reading_common(const struct bms_reading *r)
{
	check(r->ncells >= 0 && r->ncells <= BMS_MAX_CELLS);
	check(r->ntemps >= 0 && r->ntemps <= BMS_MAX_TEMPS);
	check(in(r->soc_percent, 0, 100));
	check(in(r->pack_voltage, 0, 250));
	check(in(r->pack_current, -1000, 1000));
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

/*
 * After a decode that returned rc: a reading (rc 0, already checked by
 * the caller) must write as one JSON object under proto; a failure must
 * be -1 with a reason and nothing in the reading.
 */
static inline void check_result(int rc, const struct bms_reading *r,
				const char *err, const char *proto)
{
	if (rc == 0) {
		struct bms_buf b = BMS_BUF_INIT;
		static const char id[] = "\"fuzz\"", ts[] = "\"2026-11-27T14:29:11.123Z\"";
		struct bms_record_head h = {
			.bms_id = id, .bms_id_len = sizeof id - 1,
			.timestamp = ts, .timestamp_len = sizeof ts - 1,
		};

		bms_reading_json(r, &h, proto, &b);
		check(!b.oom && b.len > 2 && b.p[0] == '{' && b.p[b.len - 1] == '}');
		bms_buf_free(&b);
	} else {
		check(rc == -1 && err[0] != '\0' && r->have == 0);
	}
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Frames records into readings: the work of bms-decode, kept here so that
 * it can be tested and fuzzed line by line.
 *
 * A frames record (bms-read's output) holds the raw bytes of one poll:
 *   {"type":"frames","bms_id":..,"timestamp":..,"tenant":..,"proto":"daly",
 *    "transport":"uart","board":1,"frames":["a501..",..]}
 * bms_frames_decode() checks the line, decodes the bytes with the codec
 * named by "proto", and writes the reading; bms_id, timestamp and tenant
 * are copied byte for byte.
 */
#ifndef BMS_FRAMES_H
#define BMS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BMS_FRAMES_MAX_ELEMS 128	/* exchanges in one record */
#define BMS_FRAMES_MAX_BYTES 65536	/* raw bytes in one record */

struct bms_frames_opts {
	bool invert_current;	/* --invert-current */
};

/* Scratch space for one record; reuse it from line to line. */
struct bms_frames_ctx {
	uint8_t bytes[BMS_FRAMES_MAX_BYTES];
	const uint8_t *elems[BMS_FRAMES_MAX_ELEMS];
	size_t lens[BMS_FRAMES_MAX_ELEMS];
};

enum bms_frames_rc {
	BMS_FRAMES_READING = 1,	/* out holds the reading, no newline */
	BMS_FRAMES_OTHER = 0,	/* a valid record of another type: pass it on */
	BMS_FRAMES_REJECT = -1,	/* err holds the one-line reason */
};

/*
 * Decode the line s[0..n).  out is reset first and, on BMS_FRAMES_READING,
 * holds the reading record.
 */
int bms_frames_decode(const char *s, size_t n, const struct bms_frames_opts *opt,
		      struct bms_frames_ctx *ctx, struct bms_buf *out,
		      char *err, size_t errsz);

#endif

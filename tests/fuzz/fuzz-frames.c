/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: whole records through bms_frames_decode, the path of
 * bms-decode (JSON scan, hex, Daly A5 and D2 decoding, reading output).
 * A reading it produces must itself be a valid JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bms_frames_ctx ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_frames_opts opt = { size % 2 == 0 };
	struct bms_buf out = BMS_BUF_INIT;
	char err[256];
	int rc;

	rc = bms_frames_decode((const char *)data, size, &opt, &ctx, &out, err, sizeof err);
	if (rc == BMS_FRAMES_READING &&
	    bms_json_scan(out.p, out.len, NULL, 0, NULL) < 0)
		__builtin_trap();
	if (rc == BMS_FRAMES_REJECT && (strlen(err) == 0 || strchr(err, '\n')))
		__builtin_trap();
	bms_buf_free(&out);
	return 0;
}

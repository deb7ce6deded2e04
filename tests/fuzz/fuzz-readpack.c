/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the reading packer (lib/readpack.c).  Any line that
 * parses as a reading must pack, come back byte for byte from the blob
 * and unpack; a line that does not parse must say why in one line.  The
 * raw input is also taken as a blob: refused or decoded, never a crash,
 * and a blob that unpacks must also write a line that is a JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "readpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bms_readpack rp, u;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_buf blob = BMS_BUF_INIT, out = BMS_BUF_INIT;
	const char *line = (const char *)data;
	char why[256];
	int rc;

	why[0] = '\0';
	if (bms_readpack_parse(line, size, &rp, why, sizeof why) == 0) {
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
	} else if (why[0] == '\0' || strchr(why, '\n')) {
		__builtin_trap();
	}

	bms_buf_reset(&out);
	if (bms_readpack_unpack(data, size, &u) == 0) {
		if (bms_readpack_json(data, size, "p1", 0, "t", &out) < 0 ||
		    bms_json_scan(out.p, out.len, NULL, 0, NULL) < 0)
			__builtin_trap();
	}
	bms_buf_free(&blob);
	bms_buf_free(&out);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * A reading record in a few dozen bytes, and back, exactly.
 *
 * bms-store keeps readings as small blobs rather than JSON text or one
 * row per cell.  A reading that bms_reading_json() would write byte for
 * byte as it came (the form bms-decode writes) is packed field by field:
 * numbers as scaled integers at the precision the record is written with,
 * cell voltages as deltas from the cell before, flags as bits.  Any other
 * reading (keys in another order, fields this module does not know,
 * numbers written differently) is kept as its text.  Either way
 * bms_readpack_json() gives back the line that was stored, byte for byte,
 * given the identity the store keeps beside the blob (bms_id, time,
 * tenant).
 *
 * Most lines are in that canonical form, and bms_readpack_parse() builds
 * their compact form while it reads them, so bms_readpack_pack() only
 * copies it; other lines take a slower, general path with the same
 * results (see readpack.c).
 */
#ifndef BMS_READPACK_H
#define BMS_READPACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reading.h"

/*
 * Room for the compact form of a canonical line that bms_readpack_parse()
 * builds: the numbers it takes on that path fit 8 bytes each, the codes
 * at most text[] plus two length bytes each (the sum is in readpack.c).
 */
#define BMS_READPACK_FAST_MAX 2816

/*
 * A parsed reading record.  Strings are NUL-terminated copies held here;
 * r's codes point into text[], so a copy of the struct still points into
 * the original.
 */
struct bms_readpack {
	struct bms_reading r;		/* fault/warning codes point into text[] */
	char bms_id[128];
	int64_t ts_ms;			/* timestamp, ms since the epoch (UTC) */
	int has_tenant;			/* the record has a "tenant" field */
	char tenant[64];
	int has_proto;			/* a "proto" string that fits proto[] (a
					 * longer one is kept in the text form only) */
	char proto[32];
	char text[2048];		/* storage for the codes */
	/* Left by bms_readpack_parse() for bms_readpack_pack(): */
	const char *fast_line;		/* the canonical line fast[] packs, or
					 * NULL (only compared, never read) */
	size_t fast_len;		/* its length, bytes */
	size_t fast_at, fast_n;		/* the blob: fast_n bytes at fast[fast_at] */
	unsigned char fast[BMS_READPACK_FAST_MAX];
};

/*
 * Parse a reading line as bms_reading_parse() does (reading.h: the
 * envelope of record.h, every field of the rule table of the right type
 * and range, every number finite and below 1e11 in magnitude), with the
 * same result and the same reason in why on a refusal; why may be NULL.
 * When line is in the canonical form, a walk of it takes the place of
 * the general parse, and the compact blob is built as well and kept in
 * rp for bms_readpack_pack() with the same line.
 */
int bms_readpack_parse(const char *line, size_t len, struct bms_readpack *rp,
		       char *why, size_t whysz);

/*
 * Append to blob the packed form of the reading rp parsed from line (rp
 * as bms_readpack_parse() left it, line the same pointer and length).
 * Returns 0 if the blob is the compact form, 1 if it holds the text
 * (because the compact form would not give back line exactly).  The
 * compact form that parse built for a canonical line is copied as it
 * is; any other is checked by writing the line back from it.  If memory
 * runs out, blob->oom is set (see buf.h).
 */
int bms_readpack_pack(const struct bms_readpack *rp, const char *line, size_t len,
		      struct bms_buf *blob);

/*
 * Unpack a blob into rp->r (and rp->has_proto/proto, has_tenant); the
 * identity fields (bms_id, ts_ms, tenant) are the caller's and are left
 * as they are.  Returns 0, or -1 if the blob is damaged.
 */
int bms_readpack_unpack(const void *blob, size_t n, struct bms_readpack *rp);

/*
 * Append the reading line (no newline) that was packed into blob, given
 * the identity stored beside it: tenant is the store's tenant name, used
 * if the record had one (NULL is then an error).  Returns 0, or -1 if the
 * blob is damaged (nothing appended).
 */
int bms_readpack_json(const void *blob, size_t n, const char *bms_id,
		      int64_t ts_ms, const char *tenant, struct bms_buf *out);

#endif

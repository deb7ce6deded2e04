/* SPDX-License-Identifier: MIT */
/*
 * Rejected input: every line a filter cannot use is reported, never
 * silently dropped.  With a rejects file each one becomes an NDJSON record
 *   {"type":"reject","reason":"...","file":"<stdin>","lineno":42,"line":"..."}
 * (with "line_hex" instead of "line" when the line is not UTF-8, so that
 * it can be recovered byte for byte).  A line over BMS_NDJSON_MAX_LINE is
 * never held whole; its record carries what the reader kept of it:
 *   {"type":"reject","reason":"line of 1100000 bytes is over the
 *    1048576-byte limit","file":...,"lineno":...,"line_head":"...",
 *    "line_bytes":1100000,"line_sha256":"<64 hex digits>"}
 * where line_head is its first bytes (at most BMS_NDJSON_HEAD, cut back to
 * a whole UTF-8 character; "line_head_hex" with all of them when they are
 * not UTF-8), line_bytes its full length and line_sha256 the digest of
 * the whole line, newline excluded.  Without a rejects file, a diagnostic
 * line
 *   prog: <stdin>:42: reason
 * goes to stderr: the one place lib/ writes a diagnostic itself, since
 * "report on stderr" is the documented default of every filter and the
 * caller chose it by giving no file.  The caller decides what --strict
 * makes of the count.
 */
#ifndef BMS_REJECT_H
#define BMS_REJECT_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "ndjson.h"

struct bms_reject {
	FILE *f;		/* the rejects file, or NULL for stderr */
	const char *prog;	/* program name for stderr messages */
	unsigned long count;	/* lines rejected so far */
	struct bms_buf buf;	/* scratch, owned */
};

/*
 * Start reporting; path NULL means stderr.  The file is appended to, so
 * several runs can share one; a new one is created private (0600), an
 * existing one keeps its mode.  Returns 0, or -1 with err filled in.
 */
int bms_reject_open(struct bms_reject *r, const char *prog, const char *path,
		    char *err, size_t errsz);

/* Report one line. Returns 0, or -1 if the rejects file cannot be written. */
int bms_reject_line(struct bms_reject *r, const char *file, unsigned long lineno,
		    const char *reason, const char *line, size_t len);

/*
 * Report one line with the findings that made it a reject (bms-validate
 * in drop mode): findings[0..flen) is a JSON array written as it is,
 * as "findings" between "lineno" and "line".  Without a rejects file
 * the stderr line has the reason only.  Returns as bms_reject_line.
 */
int bms_reject_findings(struct bms_reject *r, const char *file, unsigned long lineno,
			const char *reason, const char *findings, size_t flen,
			const char *line, size_t len);

/* Report the over-long line the reader just skipped (BMS_NDJSON_LONG).
 * Returns 0, or -1 if the rejects file cannot be written. */
int bms_reject_long(struct bms_reject *r, const char *file, unsigned long lineno,
		    const struct bms_ndjson_long *l);

/* Write out what is buffered, as filters do when their input drains.
 * Returns 0, or -1 if a write failed. */
int bms_reject_flush(struct bms_reject *r);

/* Flush and close. Returns 0, or -1 if a write failed. */
int bms_reject_close(struct bms_reject *r);

#endif

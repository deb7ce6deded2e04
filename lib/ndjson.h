/* SPDX-License-Identifier: MIT */
/*
 * NDJSON input and output for the filters.
 *
 * Input: the files named on the command line, or stdin when none (or "-")
 * is named, read with read(2) into one fixed buffer and cut into lines
 * without copying.  The "drained" hook runs when nothing more is waiting:
 * before a read(2) of a pipe, terminal or socket that would block (a
 * zero-timeout poll says so, and only when the buffer has no whole line
 * left), and at the end of a regular file, which never blocks.  Filters
 * flush (and commit) there, so a live pipeline sees each record at once
 * and a replay still writes in large blocks; no call costs a system call
 * per line.
 *
 * Memory is constant: a line longer than BMS_NDJSON_MAX_LINE is never
 * buffered whole.  It streams past, and what is kept of it is its first
 * BMS_NDJSON_HEAD bytes, its length and the SHA-256 digest of the whole
 * line (newline excluded), for the reject record that reports it.
 *
 * Output: a buffered writer on a file descriptor that treats EPIPE (a
 * reader that went away, as in "bms-read | head") as an ordinary end.
 *
 * This module does not parse JSON; json.h does, and only where a program
 * needs a field.  Records a program does not handle go out byte for byte.
 */
#ifndef BMS_NDJSON_H
#define BMS_NDJSON_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define BMS_NDJSON_MAX_LINE (1u << 20)	/* bytes, newline excluded */
#define BMS_NDJSON_HEAD 4096		/* bytes kept of an over-long line */

/* What is kept of the last over-long line (BMS_NDJSON_LONG). */
struct bms_ndjson_long {
	char head[BMS_NDJSON_HEAD];	/* its first bytes */
	size_t head_len;		/* bytes in head */
	uint64_t bytes;			/* its whole length, newline excluded */
	uint8_t sha256[BMS_SHA256_LEN];	/* digest of the whole line */
	struct bms_sha256 hash;		/* while it streams past */
};

struct bms_ndjson_in {
	char **files;		/* names to read, in order; NULL means stdin */
	int nfiles;
	int next;		/* index of the next file to open */
	int fd;			/* current input, -1 between files */
	const char *name;	/* current input's name, "<stdin>" for stdin */
	unsigned long lineno;	/* line number of the last line returned */
	char *buf;		/* BMS_NDJSON_MAX_LINE + slack bytes */
	size_t start, end;	/* unread bytes are buf[start..end) */
	int skipping;		/* inside an over-long line */
	int eof;		/* current file fully read */
	/* Called when nothing more is waiting (see above); a non-zero
	 * return makes bms_ndjson_next return BMS_NDJSON_STOP at once. */
	int (*drained)(void *ctx);
	void *ctx;
	/* While nothing is waiting, call drained again every tick_ms (a
	 * stage with timers of its own); 0: wait without limit. */
	int tick_ms;
	struct bms_ndjson_long longline;	/* the last BMS_NDJSON_LONG line */
	char errbuf[256];	/* text of the last error */
};

enum bms_ndjson_rc {
	BMS_NDJSON_LINE = 1,	/* *line, *len hold a line, newline removed */
	BMS_NDJSON_END = 0,	/* every input is read */
	BMS_NDJSON_ERR = -1,	/* an input could not be opened or read: errbuf */
	BMS_NDJSON_LONG = -2,	/* a line was too long and was skipped; lineno
				 * and longline describe it */
	BMS_NDJSON_INTR = -3,	/* a signal interrupted a read; call again to go on */
	BMS_NDJSON_STOP = -4,	/* the drained hook returned non-zero */
};

/*
 * Prepare to read files[0..nfiles) (stdin if nfiles is 0).  Returns 0, or
 * -1 if the buffer cannot be allocated.
 */
int bms_ndjson_open(struct bms_ndjson_in *in, char **files, int nfiles);

/*
 * Next line.  The line is not NUL-terminated and stays valid until the
 * next call.  A missing final newline still ends the last line; empty
 * lines are returned too (callers decide).  After BMS_NDJSON_ERR reading
 * goes on with the next file.
 */
int bms_ndjson_next(struct bms_ndjson_in *in, const char **line, size_t *len);

void bms_ndjson_close(struct bms_ndjson_in *in);

struct bms_ndjson_out {
	int fd;
	size_t len;		/* bytes waiting in buf */
	int err;		/* errno of the first failed write, 0 if none */
	char buf[1 << 16];
};

void bms_ndjson_out_init(struct bms_ndjson_out *out, int fd);

/* Append a line; a newline is added. Returns 0, or -1 once writing failed. */
int bms_ndjson_put(struct bms_ndjson_out *out, const char *line, size_t len);

/* Write out what is buffered. Returns 0, or -1 (out->err holds errno). */
int bms_ndjson_flush(struct bms_ndjson_out *out);

#endif

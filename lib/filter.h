/* SPDX-License-Identifier: MIT */
/*
 * The one NDJSON filter loop every stage runs on.  A stage gives a
 * per-line callback; the loop owns everything around it, the same way for
 * every program (bms(7)):
 *
 *   - inputs: the files named, or stdin when none (or "-") is named; a
 *     file that cannot be opened or read is reported (warn) and the loop
 *     goes on with the next, ending with BMS_FILTER_EINPUT;
 *   - empty lines are skipped; a line over BMS_NDJSON_MAX_LINE is
 *     rejected whatever its type, with its head, length and digest
 *     (reject.h), and memory stays constant;
 *   - rejects: to the --rejects file, or stderr without one; a rejects
 *     file that cannot be written is fatal; --strict stops at the first
 *     rejected line (BMS_FILTER_EREJECT);
 *   - output: records the stage passes or emits go to stdout through one
 *     buffer, flushed whenever the input has nothing more waiting (the
 *     stage's drained hook runs first: the store commits there); lines a
 *     stage holds (bms_filter_hold) wait until it releases them;
 *   - a reader that went away (EPIPE) is a quiet, ordinary end, and so is
 *     a stop signal (sig.h): the line in hand is finished, the stage's
 *     drained hook runs a last time, output is flushed;
 *   - the status: the loop returns one of enum bms_filter_status and the
 *     text of a failure in f->err; the cmd main prints it and maps the
 *     status to an exit code (bms_filter_exit).
 *
 * Like every lib/ module it never prints, but for the reject report on
 * stderr reject.h documents and the warn callback the caller gives.  The
 * loop costs no system call per line: reads and writes are 64 KiB blocks
 * (ndjson.h).
 */
#ifndef BMS_FILTER_H
#define BMS_FILTER_H

#include <stddef.h>

#include "buf.h"
#include "ndjson.h"
#include "reject.h"

struct bms_filter;

/* What the line callback made of a line. */
enum bms_filter_act {
	BMS_FILTER_PASS = 0,	/* write the line on, byte for byte */
	BMS_FILTER_DONE = 1,	/* handled: the stage emitted or held what it
				 * writes (zero or more records) */
	BMS_FILTER_REJECT = 2,	/* rejected: the reason is in why */
	BMS_FILTER_FAIL = 3,	/* a runtime failure: stop, the reason in why */
};

struct bms_filter_stage {
	/* One line (newline removed, never empty, valid for the call only);
	 * returns an enum bms_filter_act.  why holds whysz bytes. */
	int (*line)(void *ctx, struct bms_filter *f, const char *line, size_t len,
		    char *why, size_t whysz);
	/* Optional: the input has nothing more waiting, or the loop ends
	 * (then it is called once more, after the last line).  Output is
	 * flushed after it.  Returns 0, or -1 to stop with a failure whose
	 * reason it wrote into why. */
	int (*drained)(void *ctx, struct bms_filter *f, char *why, size_t whysz);
	/* Optional: a diagnostic the caller prints (an input that cannot be
	 * opened or read).  Without it such a message is dropped, though
	 * the status still says so. */
	void (*warn)(void *ctx, const char *msg);
	void *ctx;
};

struct bms_filter_opts {
	char **files;		/* inputs, in order */
	int nfiles;		/* 0: stdin */
	const char *rejects;	/* the rejects file, NULL for stderr */
	int strict;		/* stop at the first rejected line */
	const char *prog;	/* program name for reject lines on stderr */
	int out_fd;		/* where records go, normally STDOUT_FILENO */
};

enum bms_filter_status {
	BMS_FILTER_OK = 0,	/* every input read, a stop signal, or EPIPE */
	BMS_FILTER_EINPUT = 1,	/* an input could not be opened or read (warned) */
	BMS_FILTER_EFAIL = 2,	/* a runtime failure: f->err says what */
	BMS_FILTER_EREJECT = 3,	/* --strict and a line was rejected */
};

struct bms_filter {
	const struct bms_filter_stage *stage;
	struct bms_filter_opts opts;
	struct bms_ndjson_in in;
	struct bms_ndjson_out out;
	struct bms_reject rej;
	struct bms_buf held;	/* held lines, '\n' after each */
	int failed;		/* the drained hook failed: err holds why */
	char err[512];		/* text of an EFAIL */
};

/*
 * Open the rejects file and the reader.  Returns 0, or -1 with the
 * reason in f->err (the rejects file cannot be opened, no memory): a
 * runtime failure.
 */
int bms_filter_open(struct bms_filter *f, const struct bms_filter_opts *opts);

/*
 * Run the loop to its end with the stage's callbacks, then flush and
 * close the rejects file.  Returns an enum bms_filter_status.
 */
int bms_filter_run(struct bms_filter *f, const struct bms_filter_stage *stage);

/* Free what bms_filter_open took (held lines that were never released
 * are dropped). */
void bms_filter_close(struct bms_filter *f);

/* Emit one record now (from the line callback): a newline is added. */
void bms_filter_emit(struct bms_filter *f, const char *rec, size_t len);

/* Hold one record until bms_filter_release: the store passes a record on
 * only once it is committed. */
void bms_filter_hold(struct bms_filter *f, const char *rec, size_t len);

/* Bytes held now. */
size_t bms_filter_held(const struct bms_filter *f);

/* Write the held records out, in order. */
void bms_filter_release(struct bms_filter *f);

/* While the input is idle, run the drained hook every ms milliseconds
 * (0: only when the input goes idle); a stage may change it any time. */
void bms_filter_tick(struct bms_filter *f, int ms);

/* Write out what is buffered now (a stage that just made records final,
 * as the store does at a commit). */
void bms_filter_flush(struct bms_filter *f);

/* The input position of the line in hand: file name and line number. */
const char *bms_filter_file(const struct bms_filter *f);
unsigned long bms_filter_lineno(const struct bms_filter *f);

/* The exit status (exitcode.h) for a status of bms_filter_run. */
int bms_filter_exit(int status);

#endif

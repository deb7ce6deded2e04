/* SPDX-License-Identifier: MIT */
/*
 * --state files: what a stage must remember across a restart (windows,
 * counters, open alerts), loaded once at start and replaced atomically.
 *
 * A state file is NDJSON.  Its first line is this module's header, its
 * last line this module's trailer, and every line between is one record
 * of the stage's own, a JSON object whose shape the stage decides:
 *
 *	{"type":"state","format":1,"program":"bms-agg","version":1,"saved":"2026-11-27T14:29:11.123Z"}
 *	{"bms_id":"house","window":"1m", ...}
 *	{"type":"end","records":1}
 *
 * "format" is the layout of the file (BMS_STATE_FORMAT), "version" the
 * stage's own version of its records, "records" the count of lines
 * between, so that a file cut short at a line boundary is still seen to
 * be damaged.
 *
 * Saving writes a temporary file next to the old one (same directory),
 * created 0600 whatever the umask, fsyncs it, renames it over the old
 * one and fsyncs the directory: after a crash at any point the file
 * holds either the old state or the new one, whole.  When anything
 * fails the old file is left as it was and the temporary file removed
 * (only a crash during a save can leave one, "<path>.XXXXXX", which is
 * never read).  A missing file loads as an empty state, so a stage that
 * wants to know at start that it can save saves once at start.
 *
 * Memory and bytes written grow only with what the stage keeps: records
 * stream through stdio one at a time in both directions, and a line is
 * at most BMS_STATE_MAX_LINE bytes.
 *
 * Errors are one line naming the file, for the caller to print:
 *	'agg.state': damaged at line 3: expected ':' at column 12
 *	'agg.state' was written by state format 3; this program reads up to 1
 */
#ifndef BMS_STATE_H
#define BMS_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"

#define BMS_STATE_FORMAT 1		/* the file layout this module writes */
#define BMS_STATE_MAX_LINE (1u << 20)	/* bytes of one line, newline excluded */
#define BMS_STATE_MAX_PROGRAM 64	/* bytes of a program name, NUL included */

/* What a state file's header said; handed to the stage while it loads. */
struct bms_state_info {
	int format;			/* the file's layout, 1..BMS_STATE_FORMAT */
	int version;			/* the stage's version of its records */
	char program[BMS_STATE_MAX_PROGRAM];	/* the program that saved it */
	int64_t saved_ms;		/* when it was saved, ms since the epoch */
	unsigned long records;		/* records loaded so far */
};

/*
 * Called once per record while loading: rec[0..len) is one line, a JSON
 * object that json.h's bms_json_scan accepts, NUL-terminated at rec[len]
 * and valid only during the call.  Return 0, or -1 with the reason in
 * err (bms_err_set), which stops the load; the reason is reported as the
 * damage of that line.
 */
typedef int (*bms_state_record_fn)(void *ctx, const struct bms_state_info *info,
				   const char *rec, size_t len,
				   char *err, size_t errsz);

/*
 * Load the state file at path, written by program with a record version
 * of at most max_version, handing each record to fn.  Returns 1 when the
 * file was loaded (*info filled in when info is not NULL), 0 when it does
 * not exist (an empty state, not an error), or -1 with the reason in err:
 * the file cannot be read, is damaged, was written by a newer format or
 * version, or by another program.  On -1 some records may already have
 * been handed to fn: a stage that fails to load starts over or stops.
 */
int bms_state_load(const char *path, const char *program, int max_version,
		   bms_state_record_fn fn, void *ctx,
		   struct bms_state_info *info, char *err, size_t errsz);

/* One save in progress: begin, add each record, then commit or abort. */
struct bms_state_save {
	char *path;		/* the state file, owned */
	char *tmp;		/* the temporary file next to it, owned */
	FILE *f;		/* open on tmp */
	unsigned long records;	/* records added */
	char why[256];		/* the first failure of an add, "" if none */
};

/*
 * Start replacing the state file at path: create its temporary file
 * (0600) and write the header naming program and the stage's record
 * version (>= 1).  Returns 0, or -1 with the reason in err (nothing is
 * left to clean up then).
 */
int bms_state_save_begin(struct bms_state_save *s, const char *path,
			 const char *program, int version,
			 char *err, size_t errsz);

/*
 * Add one record: rec[0..len) must be one JSON object on one line
 * (bms_json_scan accepts it and it holds no newline).  Returns 0, or -1
 * when the record is refused or cannot be written; the failure is kept
 * and reported by bms_state_save_commit, so a stage may add every record
 * and look only at the commit.
 */
int bms_state_save_add(struct bms_state_save *s, const char *rec, size_t len);

/*
 * Write the trailer, fsync, rename over the old file and fsync the
 * directory.  Returns 0, or -1 with the reason in err, the old file then
 * untouched and the temporary file removed.  Either way s is finished
 * (its memory freed).
 */
int bms_state_save_commit(struct bms_state_save *s, char *err, size_t errsz);

/* Give up a save: remove the temporary file, keep the old state. */
void bms_state_save_abort(struct bms_state_save *s);

/* ==== Records of struct members ==== */

/*
 * A stage whose state is a fixed set of numbers in a struct lists them
 * in a table, one entry a member, and writes and reads its record with
 * that one table:
 *
 *	{"bms_id":"house","kind":"health","n":1200,"q_in":12.5,"ir":[1.5,1.75]}
 *
 * Types: 'd' a double, 'l' an int64_t, 'i' an int; arrays of n at most:
 * 'a' of doubles, 'L' of int64_t, 'I' of int, as many as *count says
 * (an 'i' member listed, so read, before the array; NULL: exactly n).
 * Doubles are written exactly (buf.h's bms_buf_exact, a value that is
 * not finite as 0), so that a stage resumes as if it had never stopped.
 */
struct bms_state_key {
	const char *key;	/* the member's name, a JSON key needing no escape */
	char type;		/* one of "dliaLI" */
	void *p;		/* the value, or the array's first element */
	int n;			/* an array's length at most; 1 for the others */
	int *count;		/* an array's length, or NULL for n */
};

/* Append the members "k":v of k[0..nk), comma-separated, to out (no
 * braces: the caller writes those and the members that name the record). */
void bms_state_keys_write(const struct bms_state_key *k, int nk, struct bms_buf *out);

/*
 * Read every member of k[0..nk), in order, from the JSON object
 * rec[0..len) (members it does not list are ignored).  Returns 0, or -1
 * with a one-line reason in err that begins with what ("health state: no
 * q_in", "health state: ir: not an array of 9 numbers"); some members may
 * have been stored then.  A number that is not finite or an integer out
 * of its type's range is refused.
 */
int bms_state_keys_read(const struct bms_state_key *k, int nk, const char *rec,
			size_t len, const char *what, char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The reading loop of bms-read: poll one or more boards on one port
 * (cycle.h) on a fixed schedule, reopen the port with backoff when it
 * fails, and hand out a frames record per board and cycle plus a status
 * record whenever a board's state or reason changes.
 *
 * Nothing here prints, exits or writes to a file descriptor: records go
 * to the caller's emit hook, and the caller's flush hook says when a live
 * consumer should see them.  A stop signal (sig.h) ends the run cleanly.
 */
#ifndef BMS_READER_H
#define BMS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "cycle.h"

#define BMS_READER_MAX_BOARDS 16	/* boards on one bus, numbered 1..16 */

struct bms_reader_opts {
	const char *dev;		/* "/dev/ttyUSB0" or "tcp://host:port" */
	int baud;			/* line speed, bps */
	int64_t interval_ms;		/* from one cycle's start to the next, ms;
					 * 0 = back to back */
	long count;			/* cycles to run, 0 = until stopped */
	int64_t backoff_max_ms;		/* longest pause between reopens, ms (> 0) */
	/* proto, host_base, timeout_ms and retries apply; the reader sets
	 * board, cycle, stopping and ctx itself. */
	struct bms_cycle_opts poll;
	const char *id;			/* bms_id; NULL: bms_reader_default_id
					 * (see bms_reader_check_ids) */
	const char *tenant;		/* NULL: records carry no tenant */
	int boards[BMS_READER_MAX_BOARDS];	/* board numbers, polled in order */
	int nboards;			/* 1..BMS_READER_MAX_BOARDS */
	/*
	 * Take one record: len bytes at line, NUL-terminated, without a
	 * newline, valid only during the call.  Return 0 to go on, or -1 to
	 * end the run at once: nothing more is emitted or flushed, and
	 * bms_reader_run returns BMS_READER_HALTED.  Must not be NULL.
	 */
	int (*emit)(void *ctx, const char *line, size_t len);
	/*
	 * Make what was emitted so far visible (write it out).  Called after
	 * each board's cycle, after a failed open or a lost port is
	 * reported, and once at the end of a run that was not halted.
	 * Returns 0, or -1 to end the run as emit does.  NULL: no flushing.
	 */
	int (*flush)(void *ctx);
	void *ctx;			/* passed to emit and flush */
};

enum bms_reader_rc {
	BMS_READER_OK = 0,		/* count cycles ran, at least one of them
					 * complete, or a stop signal came */
	BMS_READER_NO_CYCLE = 1,	/* count cycles ran, none complete: err
					 * holds the last problem */
	BMS_READER_NOMEM = 2,		/* out of memory building a record: err
					 * says so; not flushed since the last
					 * flush call */
	BMS_READER_HALTED = 3,		/* emit or flush returned -1 */
};

/*
 * The defaults of bms-read(1): 9600 baud, one cycle a second until
 * stopped, reopen backoff up to 30 s, daly (A5) at host address 0x40,
 * 500 ms timeout, 2 retries, board 1, default id, no tenant, no hooks.
 */
void bms_reader_defaults(struct bms_reader_opts *o);

/*
 * Parse a board list such as "1", "1,2,3" or "1-4,7": boards 1..16, each
 * at most once.  Returns the number of boards, written to boards[] in the
 * order given, or -1 when s is not such a list (boards[] may then hold
 * some of them).
 */
int bms_reader_parse_boards(const char *s, int boards[BMS_READER_MAX_BOARDS]);

/*
 * The bms_id of device dev when none is given: "host:port" for
 * "tcp://host:port", else the last path component ("ttyUSB0").  Written
 * to out (truncated to outsz - 1 bytes, always NUL-terminated).
 */
void bms_reader_default_id(const char *dev, char *out, size_t outsz);

/*
 * Check what the run of o would write as bms_id and tenant against
 * bms_record_name_check (record.h): the tenant, and each board's
 * bms_id (o->id, or the one derived from o->dev, with "-N" for board N
 * when several are polled).  A record with a bms_id or tenant that is
 * not printable UTF-8 would be refused by every stage after bms-read,
 * so the run is refused at its start instead.  Returns 0, or -1 with a
 * one-line reason in err naming the option ("--id: not UTF-8", "--tenant:
 * longer than 63 bytes", "the id derived from the device name: control
 * character at byte 4; give one with --id").
 */
int bms_reader_check_ids(const struct bms_reader_opts *o, char *err, size_t errsz);

/*
 * Poll o->boards on o->dev until o->count cycles ran (each board polled
 * once per cycle) or a stop signal arrives, emitting records through
 * o->emit as they are made.  Every cycle slot that finds the port closed
 * tries to open it first; a failed open or a lost port is reported for
 * every board, and the next try follows after a backoff that starts at
 * 250 ms and doubles up to o->backoff_max_ms.
 *
 * Blocks for the whole run; o and the strings it points to are borrowed
 * and must stay unchanged until it returns.  Every resource the run
 * takes (the port, buffers) is released before it returns, whatever the
 * outcome.  Returns an enum bms_reader_rc; err (errsz bytes) is filled
 * for NO_CYCLE and NOMEM.  Holds no state between calls.
 */
enum bms_reader_rc bms_reader_run(const struct bms_reader_opts *o,
				  char *err, size_t errsz);

#endif

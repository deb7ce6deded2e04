/* SPDX-License-Identifier: MIT */
/*
 * One poll cycle of one BMS board over an open port (serial.h), and the
 * records bms-read makes of it.
 *
 * Daly A5: requests 0x94 (cell and sensor counts) first, then 0x90, 0x91,
 * 0x92, 0x93, 0x95, 0x96, 0x97, 0x98 and 0x50.  Daly D2: one read of the
 * 62 live registers.  Each try of each request becomes one element of the
 * cycle: every byte received from the moment the request was written
 * until the reply was complete or the timeout ran out, exactly as it came
 * (echoes, garbage, stray frames and all).  Bytes that arrive after an
 * exchange ended are drained before the next request is written and
 * appended to the element they followed, so a capture is exact.
 *
 * A try ends the moment the expected number of valid reply frames from
 * the board is in (no fixed pauses): one per ID, ceil(cells/3) for 0x95
 * and ceil(temps/7) for 0x96 with the counts from 0x94.
 *
 * Requests come in three kinds:
 *   - needed: A5 0x94, 0x90, 0x95, 0x96 and the D2 live read.  A cycle is
 *     OK only when each of them got its complete reply (for 0x95/0x96:
 *     frames 1..ceil(count/n), gathered over all tries of the request;
 *     for D2: a function-3 reply of at least 62 registers; an exception
 *     or a write echo does not count).  They are retried, and a failed
 *     one ends the cycle early when nothing valid came in the cycle yet
 *     or it drew only silence or echoes: the rest would not be answered.
 *   - retried: A5 0x91, 0x92 (bms-decode does not need them): retried,
 *     but a failure neither ends the cycle nor makes it incomplete.
 *   - optional: A5 0x93, 0x97, 0x98 and 0x50: asked once, never retried,
 *     never ending the cycle.  0x50 (rated capacity, reverse-engineered,
 *     rarely changes) is asked only when opts.cycle is a multiple of
 *     BMS_CYCLE_RATED_EVERY.
 *
 * A cycle never holds more than BMS_FRAMES_MAX_ELEMS elements or
 * BMS_FRAMES_MAX_BYTES bytes (frames.h), the most bms-decode accepts in a
 * record: a cycle that would need more ends there, GARBLED with overflow
 * set, and the bytes still waiting go to the next cycle.
 *
 * Memory: a cycle's buffers grow to the largest cycle seen and are reused;
 * nothing here is global, so several ports can be polled side by side.
 */
#ifndef BMS_CYCLE_H
#define BMS_CYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"
#include "serial.h"
#include "status.h"

/* How a cycle ended, in the words of the status record's reason. */
enum bms_cycle_outcome {
	BMS_CYCLE_OK,		/* every needed request got its complete reply */
	BMS_CYCLE_NO_REPLY,	/* nothing at all came back */
	BMS_CYCLE_ASLEEP,	/* only echoes of our requests: the BMS sleeps */
	BMS_CYCLE_GARBLED,	/* bytes came, but no valid frame among them
				 * (cut set when replies came cut short); or
				 * the cycle overflowed (overflow set) */
	BMS_CYCLE_INCOMPLETE,	/* valid frames came, but a needed reply is
				 * missing or incomplete (missing names it) */
	BMS_CYCLE_DEVICE_GONE,	/* I/O error, EOF or hang-up on the port */
};

/* 0x50 is asked in cycles whose opts.cycle is a multiple of this. */
#define BMS_CYCLE_RATED_EVERY 60

struct bms_cycle_opts {
	enum bms_proto proto;	/* what the cycle asks (proto.h) */
	int board;		/* 1..16 */
	uint8_t host_base;	/* A5 host address of board 1: 0x40, or 0x80 (BT dongle) */
	int timeout_ms;		/* per try, from the request's write */
	int retries;		/* further tries of needed and retried requests */
	/* Complete cycles of this board in a row before this one (struct
	 * bms_status_health's streak): 0 after a (re)connect or a failed
	 * cycle.  Decides whether 0x50 is asked. */
	unsigned long cycle;
	/* Called after every wait (whether bytes came, time ran out or a
	 * signal arrived) and after each request is written; non-zero
	 * means stop soon: the cycle goes on while the BMS answers, but
	 * without retries, with waits of at most 250 ms, and ends at the
	 * first needed request that fails.  NULL: never stop. */
	int (*stopping)(void *ctx);
	void *ctx;
};

/* One exchange: bytes buf[off..off+len) of its cycle. */
struct bms_cycle_elem {
	size_t off, len;
};

/* A cycle's result; zero-initialise, reuse, and free with bms_cycle_free. */
struct bms_cycle_cycle {
	uint8_t *buf;			/* every element's bytes back to back */
	size_t len, cap;
	struct bms_cycle_elem *elems;	/* in request order, one per try */
	size_t nelems, elcap;
	enum bms_cycle_outcome outcome;
	int nvalid;			/* valid reply frames from the board in
					 * the tries (any ID); > 0: worth a
					 * frames record */
	int failed;			/* requests without a complete reply */
	int overflow;			/* the cycle hit the frames.h limits */
	int cut;			/* GARBLED without overflow: tries ran
					 * out of time on a partial frame (a
					 * line that truncates replies) */
	char missing[64];		/* INCOMPLETE: the needed requests without
					 * a complete reply, "0x95, 0x96" or "the
					 * live-data read"; else "" */
	int64_t ms;			/* duration of the cycle, ms */
	char err[256];			/* the I/O error when DEVICE_GONE */
};

/*
 * Run one cycle on port.  Returns the outcome (also in c->outcome).
 * The cycle stops early when a needed request fails and nothing valid
 * came yet or it drew only silence or echoes (the BMS will not answer
 * the rest either), when the port fails, and when it would overflow.
 * Out of memory counts as DEVICE_GONE with err saying so.
 *
 * A try's echo and garbage are judged from the last scan of its bytes
 * (so a reply or echo arriving in pieces is not garbage), and bytes at
 * its end that could still begin a frame count as neither while the try
 * runs; a try whose time ran out on such bytes saw a frame cut short.
 * Valid frames from the board count wherever they are: bytes waiting
 * when the cycle starts, and bytes arriving after a try ended, are
 * scanned too (nvalid).  The outcome when no needed reply is missing is
 * OK; else INCOMPLETE if any valid frame came from the board, else
 * GARBLED if bytes other than echoes came or a frame was cut short,
 * else ASLEEP if echoes came, else NO_REPLY.
 */
enum bms_cycle_outcome bms_cycle_run(struct bms_serial *port,
				   const struct bms_cycle_opts *o,
				   struct bms_cycle_cycle *c);

void bms_cycle_free(struct bms_cycle_cycle *c);

/* "ok", "no_reply", "asleep", "garbled", "incomplete", "device_gone". */
const char *bms_cycle_outcome_name(enum bms_cycle_outcome oc);

/* ==== Records ==== */

/* What every record of one board carries. */
struct bms_cycle_meta {
	const char *bms_id;
	const char *tenant;	/* NULL: no tenant field */
	const char *proto;	/* "daly" */
	const char *transport;	/* "uart", "tcp" */
	int board;
};

/*
 * Append a frames record (no newline) for cycle c started at timestamp ts
 * to b: {"type":"frames","bms_id":..,"timestamp":..,["tenant":..,]
 * "proto":..,"transport":..,"board":N,"poll_ms":N,"frames":["hex",...]}.
 */
void bms_cycle_frames_record(struct bms_buf *b, const struct bms_cycle_meta *m,
			    const char *ts, const struct bms_cycle_cycle *c);

/* The state a cycle outcome reports in a status record (status.h),
 * with bms_cycle_outcome_name as its reason. */
enum bms_status_state bms_cycle_outcome_state(enum bms_cycle_outcome oc);

#endif

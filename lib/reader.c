/* SPDX-License-Identifier: MIT */
/*
 * The reading loop of bms-read (see reader.h).
 *
 * Contract: one call of bms_reader_run is one run.  All state (the port,
 * each board's meta and link health, the record and cycle buffers) lives
 * in a struct on its stack and is released before it returns; nothing is
 * global here, so runs on different ports may go on side by side (the
 * stop signal of sig.h is process-wide and ends them all).  Records leave
 * only through the caller's emit hook, in the order they are made: per
 * board, the frames record of a cycle (whenever anything valid came,
 * complete or not), then its status record if one is due.  A hook that
 * returns -1 ends the run on the spot, without another emit or flush:
 * the caller decides what a failed write means (bms-read treats EPIPE as
 * a quiet end).
 *
 * Schedule: cycles start on a fixed grid of interval_ms from the first
 * one; an overrun skips to the next free slot rather than drifting or
 * bursting.  A failed open or a lost port waits out the backoff, and the
 * grid restarts from the next cycle after it.
 *
 * Workload: one port, up to 16 boards, one cycle a second or so; the
 * buffers grow to the largest record once and are reused.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "frames.h"
#include "reader.h"
#include "record.h"
#include "serial.h"
#include "sig.h"
#include "ts.h"

#define BACKOFF_START_MS 250
#define CONNECT_TIMEOUT_MS 3000

struct board {
	struct bms_cycle_meta meta;
	struct bms_status_health health;
	char id[300];		/* meta.bms_id points here */
};

struct reader {
	const struct bms_reader_opts *o;
	struct bms_cycle_opts po;	/* o->poll with the reader's fields */
	struct board boards[BMS_READER_MAX_BOARDS];
	int nboards;
	struct bms_serial *port;	/* NULL while closed */
	int ever_open;		/* the port opened at least once */
	int any_ok;		/* a cycle was complete */
	char last_problem[300];	/* message of the last failed cycle */
	enum bms_reader_rc rc;	/* why the run ends now, once a step fails */
	struct bms_buf line;
	struct bms_cycle_cycle cycle;
};

/* ==== Options ==== */

void bms_reader_defaults(struct bms_reader_opts *o)
{
	memset(o, 0, sizeof *o);
	o->baud = 9600;
	o->interval_ms = 1000;
	o->backoff_max_ms = 30000;
	o->poll.proto = BMS_PROTO_DALY;
	o->poll.host_base = 0x40;
	o->poll.timeout_ms = 500;
	o->poll.retries = 2;
	o->boards[0] = 1;
	o->nboards = 1;
}

int bms_reader_parse_boards(const char *s, int boards[BMS_READER_MAX_BOARDS])
{
	int n = 0, seen[BMS_READER_MAX_BOARDS + 1] = { 0 };
	char *end;

	for (;;) {
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 1 || a > BMS_READER_MAX_BOARDS)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b > BMS_READER_MAX_BOARDS)
				return -1;
		}
		for (long k = a; k <= b; k++) {
			if (seen[k]++)
				return -1;
			boards[n++] = (int)k;
		}
		if (!*end)
			return n;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

void bms_reader_default_id(const char *dev, char *out, size_t outsz)
{
	const char *p;
	size_t n;

	if (strncmp(dev, "tcp://", 6) == 0) {
		snprintf(out, outsz, "%s", dev + 6);
		return;
	}
	n = strlen(dev);
	while (n > 1 && dev[n - 1] == '/')
		n--;
	p = dev + n;
	while (p > dev && p[-1] != '/')
		p--;
	snprintf(out, outsz, "%.*s", (int)(dev + n - p), p);
}

/* The bms_id of board i of o into out (outsz bytes). */
static void board_id(const struct bms_reader_opts *o, int i, char *out, size_t outsz)
{
	char base[256];
	const char *id = o->id;

	if (!id) {
		bms_reader_default_id(o->dev, base, sizeof base);
		id = base;
	}
	if (o->nboards > 1)
		snprintf(out, outsz, "%s-%d", id, o->boards[i]);
	else
		snprintf(out, outsz, "%s", id);
}

int bms_reader_check_ids(const struct bms_reader_opts *o, char *err, size_t errsz)
{
	char why[64], id[300];
	size_t max = BMS_RECORD_ID_MAX;

	if (o->tenant && bms_record_name_check(o->tenant, BMS_RECORD_TENANT_MAX,
					       why, sizeof why) < 0)
		return bms_err_set(err, errsz, "--tenant: %s", why);
	for (int i = 0; i < o->nboards; i++) {
		board_id(o, i, id, sizeof id);
		/* The board suffix is ours: a long id is the user's. */
		if (o->nboards > 1 && strlen(id) > max) {
			snprintf(why, sizeof why, "longer than %zu bytes with \"-%d\"",
				 max, o->boards[i]);
		} else if (bms_record_name_check(id, max, why, sizeof why) == 0) {
			continue;
		}
		if (o->id)
			return bms_err_set(err, errsz, "--id: %s", why);
		return bms_err_set(err, errsz, "the id derived from the device name: "
				   "%s; give one with --id", why);
	}
	return 0;
}

/* ==== Records ==== */

/* The poll's stop check, called after every wait (see sig.h). */
static int on_stop(void *ctx)
{
	(void)ctx;
	return bms_sig_stopping();
}

/* Hand the record built in r->line to emit; -1 when the run must end. */
static int put_line(struct reader *r)
{
	if (r->line.oom) {
		r->rc = BMS_READER_NOMEM;
		return -1;
	}
	if (r->o->emit(r->o->ctx, r->line.p, r->line.len) < 0) {
		r->rc = BMS_READER_HALTED;
		return -1;
	}
	bms_buf_reset(&r->line);
	return 0;
}

/* Let the consumer see what was emitted; -1 when the run must end. */
static int flush_out(struct reader *r)
{
	if (!r->o->flush || r->o->flush(r->o->ctx) == 0)
		return 0;
	r->rc = BMS_READER_HALTED;
	return -1;
}

/*
 * Account a cycle of board b and report a change of state or reason.
 * Returns 0, or -1 when the run must end.
 */
static int note(struct reader *r, struct board *b, int ok,
		enum bms_status_state state, const char *reason, const char *msg)
{
	char ts[BMS_TS_LEN + 1];

	if (!ok)
		snprintf(r->last_problem, sizeof r->last_problem, "%s", msg);
	if (!bms_status_health_note(&b->health, ok, state, reason))
		return 0;
	bms_ts_now(ts);
	bms_status_write(&r->line, b->meta.bms_id, ts, b->meta.tenant, &b->health, msg);
	return put_line(r);
}

static void outcome_message(const struct reader *r, const struct board *b,
			    enum bms_cycle_outcome oc, char *msg, size_t msgsz)
{
	const char *dev = r->o->dev;
	int n = b->meta.board;

	switch (oc) {
	case BMS_CYCLE_OK:
		snprintf(msg, msgsz, "board %d answers on '%s'", n, dev);
		break;
	case BMS_CYCLE_ASLEEP:
		snprintf(msg, msgsz, "board %d on '%s' echoes requests: the BMS is asleep",
			 n, dev);
		break;
	case BMS_CYCLE_GARBLED:
		if (r->cycle.overflow)
			snprintf(msg, msgsz, "board %d on '%s' sends more than one "
				 "poll can hold (%d bytes, %d exchanges): check baud "
				 "rate and wiring", n, dev, BMS_FRAMES_MAX_BYTES,
				 BMS_FRAMES_MAX_ELEMS);
		else if (r->cycle.cut)
			snprintf(msg, msgsz, "board %d on '%s' sends replies cut short: "
				 "check baud rate, cabling and noise on the line", n, dev);
		else
			snprintf(msg, msgsz, "board %d on '%s' sends no valid frame: "
				 "check baud rate and wiring", n, dev);
		break;
	case BMS_CYCLE_INCOMPLETE:
		snprintf(msg, msgsz, "board %d on '%s': no complete reply to %s",
			 n, dev, r->cycle.missing);
		break;
	case BMS_CYCLE_NO_REPLY:
		snprintf(msg, msgsz, "board %d on '%s' does not answer within %d ms: "
			 "check wiring, board number and host address", n, dev,
			 r->po.timeout_ms);
		break;
	default:
		snprintf(msg, msgsz, "%s", r->cycle.err);
		break;
	}
}

/* ==== The loop ==== */

/*
 * Poll every board once.  Returns 0, 1 when the port went away (it is
 * closed and every board told), or -1 when the run must end.
 */
static int run_cycle(struct reader *r)
{
	char ts[BMS_TS_LEN + 1], msg[300];

	for (int i = 0; i < r->nboards; i++) {
		struct board *b = &r->boards[i];
		enum bms_cycle_outcome oc;

		r->po.board = b->meta.board;
		r->po.cycle = b->health.streak;
		bms_ts_now(ts);
		oc = bms_cycle_run(r->port, &r->po, &r->cycle);
		/* Whatever valid came is kept, complete or not. */
		if (r->cycle.nvalid > 0) {
			bms_cycle_frames_record(&r->line, &b->meta, ts, &r->cycle);
			if (put_line(r) < 0)
				return -1;
		}
		if (oc == BMS_CYCLE_OK)
			r->any_ok = 1;
		outcome_message(r, b, oc, msg, sizeof msg);
		if (note(r, b, oc == BMS_CYCLE_OK, bms_cycle_outcome_state(oc),
			 bms_cycle_outcome_name(oc), msg) < 0)
			return -1;
		if (oc == BMS_CYCLE_DEVICE_GONE) {
			/* The port is shared: every board lost it. */
			for (int k = 0; k < r->nboards; k++)
				if (k != i && note(r, &r->boards[k], 0,
						   BMS_STATUS_DISCONNECTED,
						   "device_gone", msg) < 0)
					return -1;
			if (flush_out(r) < 0)
				return -1;
			bms_serial_close(r->port);
			r->port = NULL;
			return 1;
		}
		if (flush_out(r) < 0)
			return -1;
		if (bms_sig_stopping())
			break;
	}
	return 0;
}

/*
 * Try to open the port; on failure report it for every board.  Returns
 * 0 (open), 1 (failed and reported) or -1 when the run must end.
 */
static int open_port(struct reader *r)
{
	char err[300];
	const char *reason;

	if (bms_serial_open(r->o->dev, r->o->baud, CONNECT_TIMEOUT_MS, &r->port,
			    err, sizeof err) == 0) {
		r->ever_open = 1;
		return 0;
	}
	reason = r->ever_open ? "device_gone" : "open_failed";
	for (int i = 0; i < r->nboards; i++)
		if (note(r, &r->boards[i], 0, BMS_STATUS_DISCONNECTED, reason,
			 err) < 0)
			return -1;
	return flush_out(r) < 0 ? -1 : 1;
}

/* Sleep until the monotonic time t; a stop signal ends the wait (sig.h). */
static void wait_until(int64_t t)
{
	if (!bms_sig_stopping())
		bms_ts_sleep_ms(t - bms_ts_mono_ms());
}

/* The cycles of a run; returns 0 when they ended, -1 when a step failed. */
static int run(struct reader *r)
{
	const struct bms_reader_opts *o = r->o;
	int64_t base = bms_ts_mono_ms(), next = base, backoff = BACKOFF_START_MS;
	long slot = 0, k = 0;

	if (backoff > o->backoff_max_ms)
		backoff = o->backoff_max_ms;
	while (!bms_sig_stopping() && (o->count == 0 || slot < o->count)) {
		int rc = 0;

		wait_until(next);
		if (bms_sig_stopping())
			break;
		slot++;
		if (!r->port)
			rc = open_port(r);
		if (rc == 0)
			rc = run_cycle(r);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			/* No port: try again after the backoff, which doubles
			 * up to its maximum; the schedule restarts from there. */
			next = bms_ts_mono_ms() + backoff;
			backoff = backoff * 2 < o->backoff_max_ms ? backoff * 2
								  : o->backoff_max_ms;
			base = next;
			k = 0;
			continue;
		}
		backoff = BACKOFF_START_MS < o->backoff_max_ms ? BACKOFF_START_MS
							       : o->backoff_max_ms;
		/* Cycles start on a fixed grid; an overrun skips to the next
		 * slot rather than drifting or bursting. */
		if (o->interval_ms == 0) {
			next = bms_ts_mono_ms();
		} else {
			int64_t now = bms_ts_mono_ms();

			k++;
			if (base + k * o->interval_ms <= now)
				k = (now - base) / o->interval_ms + 1;
			next = base + k * o->interval_ms;
		}
	}
	return flush_out(r);
}

enum bms_reader_rc bms_reader_run(const struct bms_reader_opts *o,
				  char *err, size_t errsz)
{
	struct reader r = { .o = o, .rc = BMS_READER_OK };
	const char *proto, *transport;

	assert(o->dev && o->emit);
	assert(o->nboards >= 1 && o->nboards <= BMS_READER_MAX_BOARDS);
	assert(o->backoff_max_ms > 0 && o->interval_ms >= 0);
	r.po = o->poll;
	r.po.stopping = on_stop;
	r.po.ctx = NULL;
	proto = bms_proto_name(o->poll.proto);
	transport = strncmp(o->dev, "tcp://", 6) == 0 ? "tcp" : "uart";
	r.nboards = o->nboards;
	for (int i = 0; i < r.nboards; i++) {
		struct board *b = &r.boards[i];

		assert(o->boards[i] >= 1 && o->boards[i] <= BMS_READER_MAX_BOARDS);
		board_id(o, i, b->id, sizeof b->id);
		b->meta.bms_id = b->id;
		b->meta.tenant = o->tenant;
		b->meta.proto = proto;
		b->meta.transport = transport;
		b->meta.board = o->boards[i];
	}

	if (run(&r) == 0 && o->count && !bms_sig_stopping() && !r.any_ok) {
		r.rc = BMS_READER_NO_CYCLE;
		snprintf(err, errsz, "%s", r.last_problem[0] ? r.last_problem
			 : "no complete poll");
	} else if (r.rc == BMS_READER_NOMEM) {
		snprintf(err, errsz, "out of memory");
	}
	bms_serial_close(r.port);
	bms_cycle_free(&r.cycle);
	bms_buf_free(&r.line);
	return r.rc;
}

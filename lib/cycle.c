/* SPDX-License-Identifier: MIT */
/*
 * The poll cycle of one board (see cycle.h).
 *
 * Invariants: the elements of a cycle tile its byte buffer in order, so
 * "append to the previous element" is "append to the buffer"; the buffer
 * never holds more than BMS_FRAMES_MAX_BYTES bytes nor more than
 * BMS_FRAMES_MAX_ELEMS elements; a try is complete when a scan of the
 * bytes received since its request finds the expected reply frames, and
 * that scan runs after every read, so the cycle moves on the moment the
 * last byte of a reply is in.  There are no sleeps: every wait is a read
 * with the time left to the try's deadline.  What a try saw (echoes,
 * garbage, valid frames) is what its last scan found; the board's valid
 * frames outside any try (waiting when the cycle starts, or arriving
 * after a try ended) are counted by the drain that takes them in, so
 * nvalid counts every valid frame of the board the cycle holds.
 *
 * Workload: ten exchanges of a few hundred bytes per cycle; the scans are
 * quadratic in a try's bytes at worst, which the byte cap bounds.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daly.h"
#include "frames.h"
#include "hex.h"
#include "modbus.h"
#include "cycle.h"
#include "record.h"
#include "ts.h"

#define READ_CHUNK 512		/* room made for each read */
#define STOP_GRACE_MS 250	/* longest wait once a stop was asked for */

/* Kinds of request (see cycle.h). */
enum {
	NEEDED = 1,		/* a complete cycle needs its reply */
	ONCE = 2,		/* asked once, never retried */
	RARE = 4,		/* asked only when opts.cycle is a multiple
				 * of BMS_CYCLE_RATED_EVERY */
};

#define MAX_REQS 16		/* requests in one protocol's cycle */

/* One request of a cycle. */
struct req {
	uint8_t id;		/* A5: the data ID */
	uint8_t kind;
	const char *name;	/* for "missing" */
};

/* The A5 requests of a cycle, in order: 0x94 first for the counts. */
static const struct req a5_reqs[] = {
	{ BMS_DALY_STATUS, NEEDED, "0x94" },
	{ BMS_DALY_SOC, NEEDED, "0x90" },
	{ BMS_DALY_CELL_RANGE, 0, "0x91" },
	{ BMS_DALY_TEMP_RANGE, 0, "0x92" },
	{ BMS_DALY_MOS, ONCE, "0x93" },
	{ BMS_DALY_CELLS, NEEDED, "0x95" },
	{ BMS_DALY_TEMPS, NEEDED, "0x96" },
	{ BMS_DALY_BALANCE, ONCE, "0x97" },
	{ BMS_DALY_FAILURE, ONCE, "0x98" },
	{ BMS_DALY_RATED, ONCE | RARE, "0x50" },
};
_Static_assert(sizeof a5_reqs / sizeof a5_reqs[0] <= MAX_REQS, "MAX_REQS");

static const struct req d2_req = { 0x03, NEEDED, "the live-data read" };

/* What one request expects, and what its tries saw. */
struct xchg {
	uint8_t req[BMS_DALY_LEN];	/* the request as written */
	size_t reqlen;
	uint8_t id;			/* A5 data ID */
	int expected;			/* reply frames that complete a try */
	/* The current try, from the last scan of its bytes: */
	int got;			/* distinct replies to the request */
	int valid;			/* valid frames from the board, any ID */
	bool try_echo;			/* a request echo */
	bool try_other;			/* bytes that are neither frames nor
					 * echoes, a trailing partial frame
					 * left out */
	bool try_cut;			/* the bytes end in a partial frame */
	/* All tries so far: */
	uint8_t seen[32];		/* 0x95/0x96 frame numbers received */
	bool complete;			/* every reply frame needed is in */
	bool echo, other;		/* as try_echo, try_other */
	bool cut;			/* a try ran out of time on a partial
					 * frame: a reply cut short */
	int nvalid;			/* sum of valid */
	uint8_t status[8];		/* A5 0x94 payload, when id is 0x94 */
	bool have_status;
};

/* ==== Buffers ==== */

/* Start a new element; -1 when out of memory. */
static int elem_begin(struct bms_cycle_cycle *c)
{
	if (c->nelems == c->elcap) {
		size_t cap = c->elcap ? c->elcap * 2 : 16;
		struct bms_cycle_elem *e = realloc(c->elems, cap * sizeof *e);

		if (!e)
			return -1;
		c->elems = e;
		c->elcap = cap;
	}
	c->elems[c->nelems].off = c->len;
	c->elems[c->nelems].len = 0;
	c->nelems++;
	return 0;
}

/* Bytes the cycle may still take. */
static size_t room(const struct bms_cycle_cycle *c)
{
	size_t n = BMS_FRAMES_MAX_BYTES - c->len;

	return n < READ_CHUNK ? n : READ_CHUNK;
}

/* Make room for n more bytes. */
static int reserve(struct bms_cycle_cycle *c, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (c->len + n <= c->cap)
		return 0;
	cap = c->cap ? c->cap : 1024;
	while (cap < c->len + n)
		cap *= 2;
	p = realloc(c->buf, cap);
	if (!p)
		return -1;
	c->buf = p;
	c->cap = cap;
	return 0;
}

/* Bytes just placed at buf[len..len+n) join the last element. */
static void commit(struct bms_cycle_cycle *c, size_t n)
{
	c->len += n;
	c->elems[c->nelems - 1].len += n;
}

static void nomem(struct bms_cycle_cycle *c)
{
	snprintf(c->err, sizeof c->err, "out of memory");
}

/* ==== Recognising replies ==== */

static bool bit(const uint8_t *set, unsigned k)
{
	return set[k >> 3] & (1u << (k & 7));
}

static void set_bit(uint8_t *set, unsigned k)
{
	set[k >> 3] |= (uint8_t)(1u << (k & 7));
}

/*
 * Scan an A5 try's bytes: count the board's replies to x->id (distinct
 * frame numbers for the multi-frame IDs, so a stale copy does not count
 * twice), note echoes and bytes that belong to no frame.  A partial
 * frame at the end is neither: it may still be arriving.
 */
static void scan_a5(const uint8_t *p, size_t n, int board, struct xchg *x)
{
	uint8_t seen[32];
	struct bms_daly_frame f;
	size_t pos = 0, covered = 0;
	bool multi = x->id == BMS_DALY_CELLS || x->id == BMS_DALY_TEMPS;

	memset(seen, 0, sizeof seen);
	x->got = 0;
	x->valid = 0;
	x->try_echo = false;
	/* On 0, pos is where a frame could still begin, or n. */
	while (bms_daly_next(p, n, &pos, &f)) {
		covered += BMS_DALY_LEN;
		if (bms_daly_is_request(&f)) {
			x->try_echo = true;
			continue;
		}
		if (f.addr != board)
			continue;
		x->valid++;
		if (f.id != x->id)
			continue;
		if (multi) {
			if (bit(seen, f.data[0]))
				continue;
			set_bit(seen, f.data[0]);
			set_bit(x->seen, f.data[0]);
		}
		if (f.id == BMS_DALY_STATUS) {
			memcpy(x->status, f.data, sizeof x->status);
			x->have_status = true;
		}
		x->got++;
	}
	x->try_other = covered < pos;
	x->try_cut = pos < n;
	if (multi) {
		/* Frame numbers are 1-based (daly.md Q6), as the decoder
		 * takes them; they may come from different tries. */
		int k = 1;

		while (k <= x->expected && bit(x->seen, (unsigned)k))
			k++;
		x->complete = k > x->expected;
	} else if (x->got > 0) {
		x->complete = true;
	}
}

/* Scan a D2 try's bytes for the reply to the live-block read. */
static void scan_d2(const uint8_t *p, size_t n, struct xchg *x)
{
	struct bms_modbus_reply rep;
	size_t pos = 0, covered = 0, end = 0;

	x->got = 0;
	x->valid = 0;
	x->try_echo = false;
	for (size_t i = 0; i + x->reqlen <= n; i++)
		if (memcmp(p + i, x->req, x->reqlen) == 0) {
			x->try_echo = true;
			covered += x->reqlen;
			i += x->reqlen - 1;
			end = i + 1;
		}
	while (pos < n) {
		if (!bms_modbus_next(p, n, &pos, BMS_DALYMB_ADDR, &rep)) {
			pos++;
			continue;
		}
		covered += rep.len;
		if (pos > end)
			end = pos;
		x->valid++;
		/* Only the live block itself: not an exception, a write
		 * echo or a shorter read. */
		if (rep.func == 0x03 && rep.nregs >= BMS_DALYMB_LIVE_COUNT)
			x->got++;
	}
	/* What follows the last frame or echo and could still become one
	 * once more bytes arrive is left out. */
	pos = end;
	if (bms_modbus_next(p, n, &pos, BMS_DALYMB_ADDR, &rep))
		pos = n;
	x->try_other = covered < pos;
	x->try_cut = pos < n;
	if (x->got > 0)
		x->complete = true;
}

/* ==== Protocols ==== */

/* Set x up for A5 request q: the frame for o's board, the replies due. */
static void a5_request(const struct bms_cycle_opts *o, const struct req *q,
		       int cells, int temps, struct xchg *x)
{
	x->id = q->id;
	bms_daly_encode(x->req, bms_daly_host_addr(o->host_base, o->board),
			x->id, NULL);
	x->reqlen = BMS_DALY_LEN;
	x->expected = bms_daly_frames_expected(x->id, cells, temps);
}

static void a5_scan(const struct bms_cycle_opts *o, const uint8_t *p, size_t n,
		    struct xchg *x)
{
	scan_a5(p, n, o->board, x);
}

/* The D2 live-block read. */
static void d2_request(const struct bms_cycle_opts *o, const struct req *q,
		       int cells, int temps, struct xchg *x)
{
	bms_modbus_read_request(x->req, BMS_DALYMB_ADDR, BMS_DALYMB_LIVE_START,
				BMS_DALYMB_LIVE_COUNT);
	x->reqlen = 8;
	x->expected = 1;
}

static void d2_scan(const struct bms_cycle_opts *o, const uint8_t *p, size_t n,
		    struct xchg *x)
{
	scan_d2(p, n, x);
}

/* What a cycle of each protocol asks and how it hears the replies
 * (proto.h: one entry per protocol). */
static const struct poller {
	const struct req *reqs;		/* the requests, in order */
	size_t nreqs;			/* at most MAX_REQS */
	/* Set up x (req, reqlen, expected) for request q, with the cell and
	 * temperature counts learnt so far in the cycle. */
	void (*request)(const struct bms_cycle_opts *o, const struct req *q,
			int cells, int temps, struct xchg *x);
	/* Judge a try from all its bytes so far, p[0..n) (see xchg). */
	void (*scan)(const struct bms_cycle_opts *o, const uint8_t *p, size_t n,
		     struct xchg *x);
} pollers[] = {
	[BMS_PROTO_DALY] = { a5_reqs, sizeof a5_reqs / sizeof a5_reqs[0],
			     a5_request, a5_scan },
	[BMS_PROTO_DALY_MODBUS] = { &d2_req, 1, d2_request, d2_scan },
};
_Static_assert(sizeof pollers / sizeof pollers[0] == BMS_PROTO_COUNT,
	       "a protocol without its poll requests");

static void scan(const struct bms_cycle_opts *o, const uint8_t *p, size_t n,
		 struct xchg *x)
{
	pollers[o->proto].scan(o, p, n, x);
}

/* ==== Exchanges ==== */

enum xres {
	X_DONE,		/* the reply is complete */
	X_FAILED,	/* every try ran out of time */
	X_FULL,		/* the cycle reached its limits: c->overflow */
	X_GONE,		/* the port failed: c->err */
};

/* What a cycle carries from one exchange to the next. */
struct run {
	bool wrote;		/* a request went out in this cycle */
	bool stop;		/* the caller asked to stop */
	/* The bytes of the last element that belong to its last try (all
	 * of it for the first element, which holds what was waiting at the
	 * start) begin at tail; tail_valid of the board's valid frames in
	 * them are counted in c->nvalid already. */
	size_t tail;
	int tail_valid;
};

static int stop_requested(const struct bms_cycle_opts *o)
{
	return o->stopping && o->stopping(o->ctx);
}

/*
 * Append what is waiting on the port to the last element, as far as the
 * cycle has room, and count the board's valid frames among the bytes it
 * now holds since its last try began (x supplies the request a D2 echo
 * looks like): frames that came late, or before the first request, are
 * frames all the same.  Returns 0, -1 when out of memory, -2 when the
 * port failed.
 */
static int drain(struct bms_serial *port, const struct bms_cycle_opts *o,
		 struct bms_cycle_cycle *c, const struct xchg *x, struct run *u)
{
	size_t k, before = c->len;
	ssize_t n;
	int rc = 0;

	while ((k = room(c)) > 0) {
		if (reserve(c, k) < 0) {
			rc = -1;
			break;
		}
		n = bms_serial_drain(port, c->buf + c->len, k, c->err,
				     sizeof c->err);
		if (n == BMS_SERIAL_GONE) {
			rc = -2;
			break;
		}
		if (n <= 0)
			break;
		commit(c, (size_t)n);
		if ((size_t)n < k)
			break;
	}
	if (c->len > before) {
		struct xchg t = *x;

		scan(o, c->buf + u->tail, c->len - u->tail, &t);
		c->nvalid += t.valid - u->tail_valid;
		u->tail_valid = t.valid;
	}
	return rc;
}

/*
 * One request with up to tries tries (fewer once a stop was asked for).
 * u->wrote tells whether a request went out earlier in this cycle (the
 * first try uses the element that holds the bytes found waiting at the
 * start); u->stop turns true once the caller asked to stop.
 */
static enum xres exchange(struct bms_serial *port, const struct bms_cycle_opts *o,
			  struct bms_cycle_cycle *c, struct xchg *x, int tries,
			  struct run *u)
{
	bool *stop = &u->stop;

	for (int t = 0; t < tries && !(t > 0 && *stop); t++) {
		size_t start;
		int64_t deadline;
		int rc;

		rc = drain(port, o, c, x, u);
		if (rc == -2)
			return X_GONE;
		if (rc == -1) {
			nomem(c);
			return X_GONE;
		}
		if (u->wrote && c->nelems >= BMS_FRAMES_MAX_ELEMS)
			c->overflow = 1;
		if (room(c) == 0)
			c->overflow = 1;
		if (c->overflow)
			return X_FULL;
		if (u->wrote && elem_begin(c) < 0) {
			nomem(c);
			return X_GONE;
		}
		if (bms_serial_write(port, x->req, x->reqlen, c->err, sizeof c->err) < 0)
			return X_GONE;
		u->wrote = true;
		start = c->len;
		u->tail = start;
		u->tail_valid = 0;
		if (!*stop && stop_requested(o))
			*stop = true;
		deadline = bms_ts_mono_ms() +
			   (*stop && o->timeout_ms > STOP_GRACE_MS ? STOP_GRACE_MS
								 : o->timeout_ms);
		x->got = 0;
		x->valid = 0;
		x->try_echo = x->try_other = x->try_cut = false;
		for (;;) {
			int64_t left = deadline - bms_ts_mono_ms();
			size_t k = room(c);
			ssize_t n;

			if (left <= 0)
				break;
			if (k == 0) {
				c->overflow = 1;
				break;
			}
			if (reserve(c, k) < 0) {
				nomem(c);
				return X_GONE;
			}
			n = bms_serial_read(port, c->buf + c->len, k, (int)left,
					    c->err, sizeof c->err);
			if (n == BMS_SERIAL_GONE) {
				c->nvalid += x->valid;
				u->tail_valid = x->valid;
				return X_GONE;
			}
			if (n > 0) {
				commit(c, (size_t)n);
				scan(o, c->buf + start, c->len - start, x);
			}
			/* A stop is seen within one wait, even while the
			 * BMS keeps talking. */
			if (!*stop && stop_requested(o)) {
				int64_t grace = bms_ts_mono_ms() + STOP_GRACE_MS;

				*stop = true;
				if (deadline > grace)
					deadline = grace;
			}
			if (x->got >= x->expected)
				break;
		}
		x->echo |= x->try_echo;
		x->other |= x->try_other;
		x->nvalid += x->valid;
		c->nvalid += x->valid;
		u->tail_valid = x->valid;
		if (x->complete)
			return X_DONE;
		/* The time is up: a partial frame at the end will not be
		 * completed by this try.  Should its rest come late, the
		 * drain before the next request counts the frame. */
		x->cut |= x->try_cut;
		if (c->overflow)
			return X_FULL;
		if (!*stop && stop_requested(o))
			*stop = true;
	}
	return X_FAILED;
}

/* ==== The cycle ==== */

static void reset(struct bms_cycle_cycle *c)
{
	c->len = 0;
	c->nelems = 0;
	c->outcome = BMS_CYCLE_NO_REPLY;
	c->nvalid = 0;
	c->failed = 0;
	c->overflow = 0;
	c->cut = 0;
	c->missing[0] = '\0';
	c->ms = 0;
	c->err[0] = '\0';
}

/* Add a request's name to the list of missing replies. */
static void add_missing(struct bms_cycle_cycle *c, const char *name)
{
	size_t n = strlen(c->missing);

	snprintf(c->missing + n, sizeof c->missing - n, "%s%s", n ? ", " : "",
		 name);
}

enum bms_cycle_outcome bms_cycle_run(struct bms_serial *port,
				   const struct bms_cycle_opts *o,
				   struct bms_cycle_cycle *c)
{
	int64_t t0 = bms_ts_mono_ms();
	struct run u = { .wrote = false };
	bool echo = false, other = false, cut = false, gone = false;
	bool done[MAX_REQS];
	int cells = 0, temps = 0;
	const struct poller *pp = &pollers[o->proto];

	assert((unsigned)o->proto < BMS_PROTO_COUNT && pp->nreqs <= MAX_REQS);
	reset(c);
	memset(done, 0, sizeof done);
	if (elem_begin(c) < 0) {
		nomem(c);
		c->outcome = BMS_CYCLE_DEVICE_GONE;
		return c->outcome;
	}
	for (size_t i = 0; i < pp->nreqs; i++) {
		const struct req *q = &pp->reqs[i];
		struct xchg x;
		enum xres r;
		int tries;

		if ((q->kind & RARE) && o->cycle % BMS_CYCLE_RATED_EVERY != 0)
			continue;
		memset(&x, 0, sizeof x);
		pp->request(o, q, cells, temps, &x);
		tries = q->kind & ONCE ? 1 : o->retries + 1;
		r = exchange(port, o, c, &x, tries, &u);
		echo |= x.echo;
		other |= x.other;
		cut |= x.cut;
		if (x.have_status) {
			cells = x.status[0];
			temps = x.status[1];
		}
		if (r == X_GONE) {
			gone = true;
			break;
		}
		if (r == X_DONE) {
			done[i] = true;
			continue;
		}
		c->failed++;
		if (r == X_FULL)
			break;
		/* A needed reply failed: with nothing valid yet, or only
		 * silence or echoes to it, the rest will not be answered
		 * either. */
		if ((q->kind & NEEDED) &&
		    (c->nvalid == 0 || (x.nvalid == 0 && !x.other && !x.cut) || u.stop))
			break;
	}
	for (size_t i = 0; i < pp->nreqs; i++) {
		const struct req *q = &pp->reqs[i];

		if ((q->kind & NEEDED) && !done[i])
			add_missing(c, q->name);
	}
	if (gone)
		c->outcome = BMS_CYCLE_DEVICE_GONE;
	else if (c->overflow)
		c->outcome = BMS_CYCLE_GARBLED;
	else if (!c->missing[0])
		c->outcome = BMS_CYCLE_OK;
	else if (c->nvalid > 0)
		c->outcome = BMS_CYCLE_INCOMPLETE;
	else if (other || cut)
		c->outcome = BMS_CYCLE_GARBLED;
	else if (echo)
		c->outcome = BMS_CYCLE_ASLEEP;
	else
		c->outcome = BMS_CYCLE_NO_REPLY;
	if (c->outcome != BMS_CYCLE_INCOMPLETE)
		c->missing[0] = '\0';
	c->cut = c->outcome == BMS_CYCLE_GARBLED && !c->overflow && cut;
	c->ms = bms_ts_mono_ms() - t0;
	return c->outcome;
}

void bms_cycle_free(struct bms_cycle_cycle *c)
{
	free(c->buf);
	free(c->elems);
	c->buf = NULL;
	c->elems = NULL;
	c->len = c->cap = c->nelems = c->elcap = 0;
}

const char *bms_cycle_outcome_name(enum bms_cycle_outcome oc)
{
	switch (oc) {
	case BMS_CYCLE_OK:
		return "ok";
	case BMS_CYCLE_NO_REPLY:
		return "no_reply";
	case BMS_CYCLE_ASLEEP:
		return "asleep";
	case BMS_CYCLE_GARBLED:
		return "garbled";
	case BMS_CYCLE_INCOMPLETE:
		return "incomplete";
	default:
		return "device_gone";
	}
}

/* ==== Records ==== */

void bms_cycle_frames_record(struct bms_buf *b, const struct bms_cycle_meta *m,
			    const char *ts, const struct bms_cycle_cycle *c)
{
	char hex[2 * 256 + 1];

	bms_record_head(b, "frames", m->bms_id, ts, m->tenant);
	bms_buf_printf(b, ",\"proto\":\"%s\",\"transport\":\"%s\",\"board\":%d,"
		       "\"poll_ms\":%lld,\"frames\":[",
		       m->proto, m->transport, m->board, (long long)c->ms);
	for (size_t i = 0; i < c->nelems; i++) {
		const uint8_t *p = c->buf + c->elems[i].off;
		size_t n = c->elems[i].len;

		bms_buf_puts(b, i ? ",\"" : "\"");
		while (n) {
			size_t k = n < 256 ? n : 256;

			bms_hex_encode(p, k, hex);
			bms_buf_add(b, hex, 2 * k);
			p += k;
			n -= k;
		}
		bms_buf_putc(b, '"');
	}
	bms_buf_puts(b, "]}");
}

enum bms_status_state bms_cycle_outcome_state(enum bms_cycle_outcome oc)
{
	switch (oc) {
	case BMS_CYCLE_OK:
		return BMS_STATUS_CONNECTED;
	case BMS_CYCLE_DEVICE_GONE:
		return BMS_STATUS_DISCONNECTED;
	default:
		return BMS_STATUS_ERROR;
	}
}

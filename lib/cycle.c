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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daly.h"
#include "frames.h"
#include "hex.h"
#include "modbus.h"
#include "cycle.h"
#include "ts.h"

#define READ_CHUNK 512		/* room made for each read */
#define STOP_GRACE_MS 250	/* longest wait once a stop was asked for */

/* Kinds of request (see cycle.h). */
enum {
	NEEDED = 1,		/* a complete cycle needs its reply */
	ONCE = 2,		/* asked once, never retried */
};

/* The A5 requests of a cycle, in order: 0x94 first for the counts. */
static const struct a5_req {
	uint8_t id;
	uint8_t kind;
	const char *name;
} a5_reqs[] = {
	{ BMS_DALY_STATUS, NEEDED, "0x94" },
	{ BMS_DALY_SOC, NEEDED, "0x90" },
	{ BMS_DALY_CELL_RANGE, 0, "0x91" },
	{ BMS_DALY_TEMP_RANGE, 0, "0x92" },
	{ BMS_DALY_MOS, ONCE, "0x93" },
	{ BMS_DALY_CELLS, NEEDED, "0x95" },
	{ BMS_DALY_TEMPS, NEEDED, "0x96" },
	{ BMS_DALY_BALANCE, ONCE, "0x97" },
	{ BMS_DALY_FAILURE, ONCE, "0x98" },
	{ BMS_DALY_RATED, ONCE, "0x50" },
};

static const struct a5_req d2_req = { 0x03, NEEDED, "the live-data read" };

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

static void scan(const struct bms_cycle_opts *o, const uint8_t *p, size_t n,
		 struct xchg *x)
{
	if (o->proto == BMS_CYCLE_DALY)
		scan_a5(p, n, o->board, x);
	else
		scan_d2(p, n, x);
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
	bool done[sizeof a5_reqs / sizeof a5_reqs[0]];
	int cells = 0, temps = 0;
	size_t nreq = o->proto == BMS_CYCLE_DALY ? sizeof a5_reqs / sizeof a5_reqs[0]
						: 1;

	reset(c);
	memset(done, 0, sizeof done);
	if (elem_begin(c) < 0) {
		nomem(c);
		c->outcome = BMS_CYCLE_DEVICE_GONE;
		return c->outcome;
	}
	for (size_t i = 0; i < nreq; i++) {
		const struct a5_req *q = o->proto == BMS_CYCLE_DALY ? &a5_reqs[i]
								   : &d2_req;
		struct xchg x;
		enum xres r;
		int tries;

		if (q->id == BMS_DALY_RATED && o->proto == BMS_CYCLE_DALY &&
		    o->cycle % BMS_CYCLE_RATED_EVERY != 0)
			continue;
		memset(&x, 0, sizeof x);
		if (o->proto == BMS_CYCLE_DALY) {
			x.id = q->id;
			bms_daly_encode(x.req, bms_daly_host_addr(o->host_base, o->board),
					x.id, NULL);
			x.reqlen = BMS_DALY_LEN;
			x.expected = bms_daly_frames_expected(x.id, cells, temps);
		} else {
			bms_modbus_read_request(x.req, BMS_DALYMB_ADDR,
						BMS_DALYMB_LIVE_START,
						BMS_DALYMB_LIVE_COUNT);
			x.reqlen = 8;
			x.expected = 1;
		}
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
	for (size_t i = 0; i < nreq; i++) {
		const struct a5_req *q = o->proto == BMS_CYCLE_DALY ? &a5_reqs[i]
								   : &d2_req;

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

const char *bms_cycle_proto_name(enum bms_cycle_proto p)
{
	return p == BMS_CYCLE_DALY ? "daly" : "daly-modbus";
}

/* ==== Records ==== */

static void head(struct bms_buf *b, const char *type,
		 const struct bms_cycle_meta *m, const char *ts)
{
	bms_buf_puts(b, "{\"type\":\"");
	bms_buf_puts(b, type);
	bms_buf_puts(b, "\",\"bms_id\":");
	bms_buf_json_str(b, m->bms_id, strlen(m->bms_id));
	bms_buf_puts(b, ",\"timestamp\":\"");
	bms_buf_puts(b, ts);
	bms_buf_putc(b, '"');
	if (m->tenant) {
		bms_buf_puts(b, ",\"tenant\":");
		bms_buf_json_str(b, m->tenant, strlen(m->tenant));
	}
}

void bms_cycle_frames_record(struct bms_buf *b, const struct bms_cycle_meta *m,
			    const char *ts, const struct bms_cycle_cycle *c)
{
	char hex[2 * 256 + 1];

	head(b, "frames", m, ts);
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

int bms_cycle_health_note(struct bms_cycle_health *h, int ok,
			 enum bms_cycle_state state, const char *reason)
{
	int changed = state != h->state || !h->reason || strcmp(reason, h->reason);

	h->window = h->window << 1 | (ok ? 1u : 0u);
	h->streak = ok ? h->streak + 1 : 0;
	if (h->ncycles < BMS_CYCLE_WINDOW)
		h->ncycles++;
	h->state = state;
	h->reason = reason;
	return changed;
}

int bms_cycle_health_quality(const struct bms_cycle_health *h)
{
	uint32_t bits;
	int ok = 0;

	if (h->ncycles == 0)
		return 0;
	bits = h->window & ((1u << h->ncycles) - 1);
	for (; bits; bits &= bits - 1)
		ok++;
	return (ok * 100 + h->ncycles / 2) / h->ncycles;
}

enum bms_cycle_state bms_cycle_outcome_state(enum bms_cycle_outcome oc)
{
	switch (oc) {
	case BMS_CYCLE_OK:
		return BMS_CYCLE_CONNECTED;
	case BMS_CYCLE_DEVICE_GONE:
		return BMS_CYCLE_DISCONNECTED;
	default:
		return BMS_CYCLE_ERROR;
	}
}

static const char *state_name(enum bms_cycle_state s)
{
	switch (s) {
	case BMS_CYCLE_CONNECTED:
		return "connected";
	case BMS_CYCLE_DISCONNECTED:
		return "disconnected";
	default:
		return "error";
	}
}

void bms_cycle_status_record(struct bms_buf *b, const struct bms_cycle_meta *m,
			    const char *ts, const struct bms_cycle_health *h,
			    const char *message)
{
	head(b, "status", m, ts);
	bms_buf_printf(b, ",\"state\":\"%s\",\"reason\":\"%s\",\"quality\":%d,"
		       "\"message\":", state_name(h->state),
		       h->reason ? h->reason : "ok", bms_cycle_health_quality(h));
	bms_buf_json_str(b, message, strlen(message));
	bms_buf_putc(b, '}');
}

/* SPDX-License-Identifier: MIT */
/*
 * The live hub (see live.h).
 *
 * Threads.  civetweb's worker of each connection runs open, ready,
 * message and closed; one sender thread per connection writes what is
 * queued toward it, so that a client that does not read holds up only
 * its own sender; the hub thread watches the store and the clock.  One
 * mutex guards the connections, their queues and subscriptions, and the
 * hub's own handles on the store, which sign-ins and subscriptions use
 * too (a worker's would stay open, a few hundred KiB each, for as long
 * as the worker lives).  A message is built once and shared by the
 * queues it is on (counted references).  Nothing is written to a socket
 * with the mutex held.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "contract.h"
#include "live.h"
#include "store.h"
#include "ts.h"

#define RECHECK_MS 30000	/* how often a signed-in user is looked up again */
#define STOP_WAIT_MS 2000	/* how long a stop waits for clients to answer */

struct msg {
	atomic_int refs;
	size_t len;
	char text[];
};

struct conn {
	struct bms_live *l;
	struct bms_ws *ws;
	struct conn *next;
	int authed;
	struct bms_serve_who who;
	char remote[48];		/* the client's address */
	char *token;			/* the latest, looked up again now and then */
	int64_t opened_ms, checked_ms;
	int all;			/* every battery of the tenant */
	char (*ids)[128];		/* or these */
	int nids, capids;
	struct msg **q;			/* a ring of o.backlog */
	int qhead, qlen;
	int close_code;			/* to send once the queue is out; 0: none */
	char close_reason[96];
	int dead;			/* a send failed: nothing more is queued */
	int gone;			/* closed: the sender ends */
	int has_thread;
	pthread_t th;
	pthread_cond_t cv;
};

struct tenant {
	char name[64];
	struct bms_store_follow *f;
	int64_t version;
	int seen;			/* had clients at the last look */
	struct tenant *next;
};

struct bms_live {
	struct bms_serve *sv;
	struct bms_live_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* the hub's sleep; a stop's wait */
	struct conn *conns;
	int nconns, stopping;
	pthread_t hub;
	int has_hub;
	void *worker;			/* the hub's store handles (lib/serve) */
	struct tenant *tenants;
};

/* ==== Messages and queues (mu held) ==== */

static struct msg *msg_new(const struct bms_buf *b)
{
	struct msg *m;

	if (b->oom || !(m = malloc(sizeof *m + b->len)))
		return NULL;
	atomic_init(&m->refs, 0);
	m->len = b->len;
	memcpy(m->text, b->p, b->len);
	return m;
}

static void msg_unref(struct msg *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		free(m);
}

static void drop_queue(struct conn *c)
{
	for (; c->qlen; c->qlen--, c->qhead = (c->qhead + 1) % c->l->o.backlog)
		msg_unref(c->q[c->qhead]);
}

/* Ask c's sender to close with code once what is queued is out (or at
 * once, dropping it, unless flush). */
static void close_conn(struct conn *c, int code, const char *reason, int flush)
{
	if (c->close_code || c->gone)
		return;
	if (!flush)
		drop_queue(c);
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
	pthread_cond_signal(&c->cv);
}

static void enqueue(struct conn *c, struct msg *m)
{
	if (!m || c->gone || c->dead || c->close_code)
		return;
	if (c->qlen == c->l->o.backlog) {
		char why[96];

		snprintf(why, sizeof why, "too slow: more than %d messages behind",
			 c->l->o.backlog);
		if (c->l->o.warn)
			c->l->o.warn("live: dropped %s (%s): %s", c->remote,
				     c->authed ? c->who.user : "not signed in", why);
		close_conn(c, 1008, why, 0);
		return;
	}
	atomic_fetch_add(&m->refs, 1);
	c->q[(c->qhead + c->qlen++) % c->l->o.backlog] = m;
	pthread_cond_signal(&c->cv);
}

/* A message of one's own for c: text built in b. */
static void reply(struct conn *c, const struct bms_buf *b)
{
	struct msg *m = msg_new(b);

	if (!m)
		return;
	atomic_fetch_add(&m->refs, 1);
	enqueue(c, m);
	msg_unref(m);
}

static void reply_error(struct conn *c, const char *error, const char *message,
			const char *bms_id)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_buf_puts(&b, "{\"type\":\"error\",\"error\":");
	bms_buf_json_str(&b, error, strlen(error));
	bms_buf_puts(&b, ",\"message\":");
	bms_buf_json_str(&b, message, strlen(message));
	if (bms_id) {
		bms_buf_puts(&b, ",\"details\":{\"bms_id\":");
		bms_buf_json_str(&b, bms_id, strlen(bms_id));
		bms_buf_putc(&b, '}');
	}
	bms_buf_putc(&b, '}');
	reply(c, &b);
	bms_buf_free(&b);
}

static void hello(struct conn *c)
{
	struct bms_buf b = BMS_BUF_INIT;
	char exp[BMS_TS_LEN + 1];

	bms_ts_format_ms(c->who.exp * 1000, exp);
	bms_buf_puts(&b, "{\"type\":\"hello\",\"user\":");
	bms_buf_json_str(&b, c->who.user, strlen(c->who.user));
	bms_buf_puts(&b, ",\"tenant\":");
	bms_buf_json_str(&b, c->who.tenant, strlen(c->who.tenant));
	bms_buf_printf(&b, ",\"role\":\"%s\",\"expires_at\":\"%s\"}", c->who.role, exp);
	reply(c, &b);
	bms_buf_free(&b);
}

/* ==== The sender of a connection ==== */

static void *sender(void *arg)
{
	struct conn *c = arg;
	struct bms_live *l = c->l;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!c->gone && !c->dead && !c->qlen && c->close_code <= 0)
			pthread_cond_wait(&c->cv, &l->mu);
		if (c->gone)
			break;
		if (c->dead) {
			pthread_cond_wait(&c->cv, &l->mu);
			continue;
		}
		if (c->qlen) {
			struct msg *m = c->q[c->qhead];
			int rc;

			c->qhead = (c->qhead + 1) % l->o.backlog;
			c->qlen--;
			pthread_mutex_unlock(&l->mu);
			rc = bms_ws_send(c->ws, m->text, m->len);
			msg_unref(m);
			pthread_mutex_lock(&l->mu);
			if (rc < 0) {
				c->dead = 1;
				drop_queue(c);
			}
		} else {
			int code = c->close_code;
			char reason[sizeof c->close_reason];

			memcpy(reason, c->close_reason, sizeof reason);
			c->close_code = -1;	/* sent */
			pthread_mutex_unlock(&l->mu);
			bms_ws_close(c->ws, code, reason);
			pthread_mutex_lock(&l->mu);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static struct tenant *tenant_of(struct bms_live *l, const char *name);

/* A follower's first look gives nothing. */
static int nothing(void *ctx, enum bms_store_what what, const char *bms_id, const char *line,
		   size_t len)
{
	return 0;
}

/* ==== Signing in ==== */

/* The token of the upgrade request: "bearer.TOKEN" among the offered
 * subprotocols, or an Authorization header; into tok, or "". */
static void request_token(const struct bms_http_req *rq, char *tok, size_t cap)
{
	const char *p = bms_http_header(rq, "Sec-WebSocket-Protocol");
	const char *a = bms_http_header(rq, "Authorization");

	tok[0] = '\0';
	while (p && *p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > 7 && strncasecmp(p, "bearer.", 7) == 0 && n - 7 < cap) {
			memcpy(tok, p + 7, n - 7);
			tok[n - 7] = '\0';
			return;
		}
		p += n;
	}
	if (a && strncasecmp(a, "Bearer ", 7) == 0)
		snprintf(tok, cap, "%s", a + 7);
}

/* Sign c in with tok, checked on thread's store handles.  0, or -1 with
 * a close code and reason. */
static int sign_in(struct conn *c, void *thread, const char *tok, int *code,
		   const char **why)
{
	struct bms_serve_who who;
	char *copy;

	if (bms_serve_token(c->l->sv, thread, tok, &who) < 0) {
		*code = 4401, *why = "the token is not valid: sign in again";
		return -1;
	}
	if (!who.tenant[0]) {
		*code = 4403, *why = "a super-admin has no batteries to follow";
		return -1;
	}
	if (c->authed && (strcmp(who.user, c->who.user) != 0 ||
			  strcmp(who.tenant, c->who.tenant) != 0)) {
		*code = 4401, *why = "the token is another user's";
		return -1;
	}
	if (!(copy = strdup(tok))) {
		*code = 1011, *why = "out of memory";
		return -1;
	}
	free(c->token);
	c->token = copy;
	c->who = who;
	c->authed = 1;
	c->checked_ms = bms_ts_mono_ms();
	return 0;
}

/*
 * The first client of a tenant: its follower begins now, on the handle
 * of the client's worker, so that nothing committed from here on is
 * missed while the hub thread sleeps (the hub looks at its next tick,
 * data_version being its own handle's).  mu held.
 */
static void follow_from_now(struct bms_live *l, void *thread, const char *name)
{
	struct tenant *t = tenant_of(l, name);
	struct bms_store *st;

	if (!t || t->f || !(st = bms_serve_tenant(l->sv, thread, name)))
		return;
	if (!(t->f = bms_store_follow_new()))
		return;
	if (bms_store_follow_next(st, t->f, nothing, NULL) != 0) {
		bms_store_follow_free(t->f);
		t->f = NULL;
		return;
	}
	t->seen = 1;
	t->version = -1;
}

/* ==== The endpoint ==== */

static int ws_open(void *ctx, struct bms_ws *ws, const struct bms_http_req *rq,
		   struct bms_http_resp *rs)
{
	struct bms_live *l = ctx;
	struct conn *c = calloc(1, sizeof *c);
	char tok[BMS_JWT_MAX + 1];
	const char *why;
	int code;

	if (!c || !(c->q = calloc((size_t)l->o.backlog, sizeof *c->q))) {
		free(c);
		bms_http_error(rs, 503, "unavailable", "out of memory", NULL);
		return 503;
	}
	c->l = l;
	c->ws = ws;
	c->opened_ms = bms_ts_mono_ms();
	snprintf(c->remote, sizeof c->remote, "%s", rq->remote ? rq->remote : "?");
	pthread_cond_init(&c->cv, NULL);
	request_token(rq, tok, sizeof tok);
	pthread_mutex_lock(&l->mu);
	if (l->stopping || (tok[0] && sign_in(c, l->worker, tok, &code, &why) < 0)) {
		int stopping = l->stopping;

		pthread_mutex_unlock(&l->mu);
		free(c->token);
		free(c->q);
		pthread_cond_destroy(&c->cv);
		free(c);
		if (stopping) {
			bms_http_error(rs, 503, "unavailable", "the server is stopping", NULL);
			return 503;
		}
		if (code == 4403) {
			bms_http_error(rs, 403, "forbidden", why, NULL);
			return 403;
		}
		snprintf(rs->headers, sizeof rs->headers,
			 "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
		bms_http_error(rs, 401, "unauthorized", why, NULL);
		return 401;
	}
	c->next = l->conns;
	l->conns = c;
	l->nconns++;
	if (c->authed)
		follow_from_now(l, l->worker, c->who.tenant);
	pthread_mutex_unlock(&l->mu);
	bms_ws_set(ws, c);
	return 0;
}

static void ws_ready(void *ctx, struct bms_ws *ws)
{
	struct bms_live *l = ctx;
	struct conn *c = bms_ws_get(ws);
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	pthread_mutex_lock(&l->mu);
	c->has_thread = pthread_create(&c->th, &a, sender, c) == 0;
	if (!c->has_thread)
		close_conn(c, 1011, "the server cannot serve more now", 0);
	else if (c->authed)
		hello(c);
	pthread_mutex_unlock(&l->mu);
	pthread_attr_destroy(&a);
	/* Without a sender, the close goes out from here. */
	if (!c->has_thread)
		bms_ws_close(ws, 1011, "the server cannot serve more now");
}

struct found { char bms_id[128]; };

static int found_fn(void *ctx, const struct bms_battery *b)
{
	struct found *f = ctx;

	snprintf(f->bms_id, sizeof f->bms_id, "%s", b->bms_id);
	return 0;
}

static int has_id(const struct conn *c, const char *id)
{
	for (int i = 0; i < c->nids; i++)
		if (strcmp(c->ids[i], id) == 0)
			return i;
	return -1;
}

static int add_id(struct conn *c, const char *id)
{
	if (has_id(c, id) >= 0)
		return 0;
	if (c->nids == c->capids) {
		int cap = c->capids ? c->capids * 2 : 8;
		void *p = realloc(c->ids, (size_t)cap * sizeof *c->ids);

		if (!p)
			return -1;
		c->ids = p;
		c->capids = cap;
	}
	snprintf(c->ids[c->nids++], sizeof c->ids[0], "%s", id);
	return 0;
}

static void subscribed(struct conn *c)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_buf_printf(&b, "{\"type\":\"subscribed\",\"all\":%s,\"batteries\":[",
		       c->all ? "true" : "false");
	for (int i = 0; i < c->nids; i++) {
		if (i)
			bms_buf_putc(&b, ',');
		bms_buf_json_str(&b, c->ids[i], strlen(c->ids[i]));
	}
	bms_buf_puts(&b, "]}");
	reply(c, &b);
	bms_buf_free(&b);
}

/* (Un)subscribe c to the batteries of list (NULL: all), each looked up
 * in the tenant's registry on thread's handle.  mu held. */
static void subscribe(struct conn *c, void *thread, json_t *list, int on)
{
	struct bms_store *st;
	size_t i;
	json_t *v;

	if (!list || json_is_null(list)) {
		c->all = on;
		if (!on)
			c->nids = 0;
		subscribed(c);
		return;
	}
	if (!json_is_array(list)) {
		reply_error(c, "bad_request", "batteries: give an array of bms_id or UUID", NULL);
		return;
	}
	st = bms_serve_tenant(c->l->sv, thread, c->who.tenant);
	json_array_foreach(list, i, v) {
		struct found f = { "" };
		const char *id = json_string_value(v);
		int k;

		if (!id) {
			reply_error(c, "bad_request", "batteries: give an array of bms_id or UUID",
				    NULL);
			return;
		}
		if (!st) {
			reply_error(c, "unavailable", "the store cannot be read now", NULL);
			return;
		}
		if (bms_store_battery_get(st, id, found_fn, &f) != 0) {
			reply_error(c, "not_found", "no such battery", id);
			continue;
		}
		if (on && add_id(c, f.bms_id) < 0) {
			reply_error(c, "unavailable", "out of memory", NULL);
			return;
		}
		if (!on && (k = has_id(c, f.bms_id)) >= 0)
			memmove(c->ids[k], c->ids[k + 1], (size_t)(--c->nids - k) * sizeof c->ids[0]);
	}
	subscribed(c);
}

static void ws_message(void *ctx, struct bms_ws *ws, const char *text, size_t len)
{
	struct bms_live *l = ctx;
	struct conn *c = bms_ws_get(ws);
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *why;
	int code;

	pthread_mutex_lock(&l->mu);
	if (!c->authed && (!type || strcmp(type, "auth") != 0)) {
		close_conn(c, 4401, "sign in first: {\"type\":\"auth\",\"token\":\"...\"}", 1);
	} else if (!type) {
		reply_error(c, "bad_request", "a message is a JSON object with a \"type\"", NULL);
	} else if (strcmp(type, "auth") == 0) {
		const char *tok = json_string_value(json_object_get(o, "token"));

		if (!tok || sign_in(c, l->worker, tok, &code, &why) < 0) {
			close_conn(c, tok ? code : 4401, tok ? why : "auth: give the token", 1);
		} else {
			follow_from_now(l, l->worker, c->who.tenant);
			hello(c);
		}
	} else if (strcmp(type, "subscribe") == 0 || strcmp(type, "unsubscribe") == 0) {
		subscribe(c, l->worker, json_object_get(o, "batteries"), type[0] == 's');
	} else if (strcmp(type, "ping") == 0) {
		struct bms_buf b = BMS_BUF_INIT;

		bms_buf_puts(&b, "{\"type\":\"pong\"}");
		reply(c, &b);
		bms_buf_free(&b);
	} else {
		reply_error(c, "bad_request", "type: one of auth, subscribe, unsubscribe, ping",
			    NULL);
	}
	pthread_mutex_unlock(&l->mu);
	json_decref(o);
}

static void ws_closed(void *ctx, struct bms_ws *ws)
{
	struct bms_live *l = ctx;
	struct conn *c = bms_ws_get(ws);

	pthread_mutex_lock(&l->mu);
	for (struct conn **p = &l->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	l->nconns--;
	c->gone = 1;
	drop_queue(c);
	pthread_cond_signal(&c->cv);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (c->has_thread)
		pthread_join(c->th, NULL);
	pthread_cond_destroy(&c->cv);
	free(c->token);
	free(c->ids);
	free(c->q);
	free(c);
}

void bms_live_endpoint(struct bms_live *l, struct bms_http_ws *ws)
{
	*ws = (struct bms_http_ws){
		.ctx = l, .path = "/api/v1/live", .protocol = BMS_LIVE_PROTOCOL,
		.open = ws_open, .ready = ws_ready, .message = ws_message, .closed = ws_closed,
	};
}

/* ==== The hub: the store and the clock ==== */

struct fan {
	struct bms_live *l;
	const char *tenant;
	struct bms_buf b;
};

/* A record committed: to every client of the tenant that follows its
 * battery, built once.  mu held. */
static int fan_out(void *ctx, enum bms_store_what what, const char *bms_id,
		   const char *line, size_t len)
{
	static const char *const type[] = {
		[BMS_Q_READINGS] = "reading", [BMS_Q_STATUS] = "status", [BMS_Q_ALERTS] = "alert",
	};
	struct fan *fa = ctx;
	struct msg *m = NULL;

	for (struct conn *c = fa->l->conns; c; c = c->next) {
		if (!c->authed || strcmp(c->who.tenant, fa->tenant) != 0 ||
		    (!c->all && has_id(c, bms_id) < 0))
			continue;
		if (!m) {
			bms_buf_reset(&fa->b);
			bms_buf_printf(&fa->b, "{\"type\":\"%s\",\"bms_id\":", type[what]);
			bms_buf_json_str(&fa->b, bms_id, strlen(bms_id));
			bms_buf_puts(&fa->b, ",\"data\":");
			if (bms_contract_realtime(line, len, &fa->b) < 0)
				return 0;
			bms_buf_putc(&fa->b, '}');
			if (!(m = msg_new(&fa->b)))
				return 0;
			atomic_fetch_add(&m->refs, 1);
		}
		enqueue(c, m);
	}
	msg_unref(m);
	return 0;
}

static struct tenant *tenant_of(struct bms_live *l, const char *name)
{
	struct tenant *t;

	for (t = l->tenants; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	if (strlen(name) >= sizeof t->name || !(t = calloc(1, sizeof *t)))
		return NULL;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->next = l->tenants;
	l->tenants = t;
	return t;
}

/* Look at the tenants that have clients; forget the followers of those
 * that have none, so that a client coming back starts from now. */
static void watch(struct bms_live *l)
{
	struct fan fa = { l, NULL, BMS_BUF_INIT };

	for (struct tenant *t = l->tenants; t; t = t->next)
		t->seen = 0;
	for (struct conn *c = l->conns; c; c = c->next) {
		struct tenant *t;

		if (c->authed && !c->gone && (t = tenant_of(l, c->who.tenant)))
			t->seen = 1;
	}
	for (struct tenant *t = l->tenants; t; t = t->next) {
		struct bms_store *st;
		int64_t v;

		if (!t->seen) {
			bms_store_follow_free(t->f);
			t->f = NULL;
			continue;
		}
		if (!(st = bms_serve_tenant(l->sv, l->worker, t->name)) ||
		    bms_store_data_version(st, &v) < 0)
			continue;
		if (t->f && v == t->version)
			continue;
		if (!t->f && !(t->f = bms_store_follow_new()))
			continue;
		fa.tenant = t->name;
		if (bms_store_follow_next(st, t->f, fan_out, &fa) == 0)
			t->version = v;
	}
	bms_buf_free(&fa.b);
}

/* Clients that did not sign in in time, whose token expired, or whose
 * user is gone. */
static void clock_tick(struct bms_live *l)
{
	int64_t now = bms_ts_mono_ms(), wall = bms_ts_now_ms() / 1000;

	for (struct conn *c = l->conns; c; c = c->next) {
		struct bms_serve_who who;

		if (c->gone || c->close_code)
			continue;
		if (!c->authed) {
			if (now - c->opened_ms >= l->o.auth_ms)
				close_conn(c, 4401, "sign in first: no token came in time", 1);
		} else if (wall >= c->who.exp) {
			close_conn(c, 4401, "the token expired: sign in again", 1);
		} else if (now - c->checked_ms >= RECHECK_MS) {
			c->checked_ms = now;
			if (bms_serve_token(l->sv, l->worker, c->token, &who) < 0)
				close_conn(c, 4403, "the user is gone or disabled", 1);
			else
				memcpy(c->who.role, who.role, sizeof who.role);
		}
	}
}

static void *hub(void *arg)
{
	struct bms_live *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)l->o.poll_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		if (l->stopping)
			break;
		clock_tick(l);
		watch(l);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct bms_live *bms_live_new(struct bms_serve *sv, const struct bms_live_opts *o)
{
	struct bms_live *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->sv = sv;
	l->o = *o;
	if (l->o.backlog <= 0)
		l->o.backlog = 1024;
	if (l->o.poll_ms <= 0)
		l->o.poll_ms = 50;
	if (l->o.auth_ms <= 0)
		l->o.auth_ms = 10000;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (!(l->worker = bms_serve_thread_init(sv)) ||
	    pthread_create(&l->hub, NULL, hub, l) != 0) {
		bms_live_free(l);
		return NULL;
	}
	l->has_hub = 1;
	return l;
}

void bms_live_stop(struct bms_live *l)
{
	struct timespec ts;

	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	for (struct conn *c = l->conns; c; c = c->next)
		close_conn(c, 1001, "the server is stopping", 0);
	pthread_cond_broadcast(&l->cv);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_WAIT_MS / 1000;
	while (l->nconns > 0 && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&l->mu);
	if (l->has_hub)
		pthread_join(l->hub, NULL);
	l->has_hub = 0;
}

void bms_live_free(struct bms_live *l)
{
	if (!l)
		return;
	if (l->has_hub)
		bms_live_stop(l);
	while (l->tenants) {
		struct tenant *t = l->tenants;

		l->tenants = t->next;
		bms_store_follow_free(t->f);
		free(t);
	}
	if (l->worker)
		bms_serve_thread_exit(l->sv, l->worker);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

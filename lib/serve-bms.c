/* SPDX-License-Identifier: MIT */
/*
 * bms-serve's batteries (serve.h): the contract's connections (register,
 * list), a battery's latest reading, its history, analytics and link
 * status, and a battery edited or removed; all within the caller's
 * tenant, where another tenant's battery is one that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chem.h"
#include "contract.h"
#include "json.h"
#include "serve-int.h"
#include "ts.h"

/* ==== Connections and data ==== */

/* A battery as the registry keeps it, with its strings copied ("" for
 * one not set; numbers < 0 not set). */
struct bat {
	int found;
	char bms_id[128], uuid[40], name[1001], bms_type[32], protocol[32], device[256];
	char chemistry[64], notes[1001], created[40];
	double nominal_capacity_ah;	/* Ah */
	long cell_count, baud, timeout_ms;
	int auto_added;
};

/* s (NULL: "") into d of n bytes; cut, if need be, where a UTF-8
 * character begins. */
static void cp(char *d, size_t n, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len >= n)
		for (len = n - 1; len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80; len--)
			;
	memcpy(d, s ? s : "", len);
	d[len] = '\0';
}

static int copy_battery(void *ctx, const struct bms_battery *b)
{
	struct bat *x = ctx;

	x->found = 1;
	cp(x->bms_id, sizeof x->bms_id, b->bms_id);
	cp(x->uuid, sizeof x->uuid, b->uuid);
	cp(x->name, sizeof x->name, b->name);
	cp(x->bms_type, sizeof x->bms_type, b->bms_type);
	cp(x->protocol, sizeof x->protocol, b->protocol);
	cp(x->device, sizeof x->device, b->device);
	cp(x->chemistry, sizeof x->chemistry, b->chemistry);
	cp(x->notes, sizeof x->notes, b->notes);
	cp(x->created, sizeof x->created, b->created);
	x->nominal_capacity_ah = b->nominal_capacity_ah;
	x->cell_count = b->cell_count;
	x->baud = b->baud;
	x->timeout_ms = b->timeout_ms;
	x->auto_added = b->auto_added;
	return 0;
}

/* The latest status of one battery. */
struct link {
	const char *bms_id;
	int found;
	char state[16];
	double quality;
};

static int link_fn(void *ctx, const char *bms_id, int64_t ts_ms, const char *state,
		   const char *reason, double quality)
{
	struct link *l = ctx;

	if (strcmp(bms_id, l->bms_id) != 0)
		return 0;
	l->found = 1;
	cp(l->state, sizeof l->state, state);
	l->quality = quality;
	return 1;
}

/* The timestamp of the latest reading's line. */
static int last_fn(void *ctx, const char *line, size_t len)
{
	struct bms_json_field f = { .key = "timestamp" };

	if (bms_json_scan(line, len, &f, 1, NULL) == 0 && f.val && *f.val == '"' && f.len < 64)
		snprintf(ctx, 64, "%.*s", (int)f.len - 2, f.val + 1);
	return 0;
}

static void json_str_member(struct bms_buf *o, const char *key, const char *v, int comma)
{
	bms_buf_printf(o, "%s\"%s\":", comma ? "," : "", key);
	if (v && *v)
		bms_buf_json_str(o, v, strlen(v));
	else
		bms_buf_puts(o, "null");
}

/* A registered battery in the BMSConnection shape. */
static void connection_json(struct bms_store *st, const struct bat *x, struct bms_buf *o)
{
	struct link l = { x->bms_id, 0, "", -1 };
	char last[64] = "";
	int bt = strcmp(x->protocol, "bluetooth") == 0;

	bms_store_status_latest(st, link_fn, &l);
	bms_store_reading_latest(st, x->bms_id, last_fn, last);
	bms_buf_putc(o, '{');
	json_str_member(o, "id", x->uuid, 0);
	json_str_member(o, "bms_id", x->bms_id, 1);
	json_str_member(o, "name", x->name, 1);
	json_str_member(o, "bms_type", x->bms_type, 1);
	json_str_member(o, "chemistry", x->chemistry, 1);
	bms_buf_puts(o, ",\"nominal_capacity_ah\":");
	if (x->nominal_capacity_ah >= 0)
		bms_buf_exact(o, x->nominal_capacity_ah);
	else
		bms_buf_puts(o, "null");
	if (x->cell_count >= 0)
		bms_buf_printf(o, ",\"cell_count\":%ld", x->cell_count);
	else
		bms_buf_puts(o, ",\"cell_count\":null");
	bms_buf_puts(o, ",\"connection_config\":{");
	json_str_member(o, "protocol", x->protocol, 0);
	json_str_member(o, bt ? "mac_address" : "device_path", x->device, 1);
	if (x->baud > 0)
		bms_buf_printf(o, ",\"baud_rate\":%ld", x->baud);
	if (x->timeout_ms > 0)
		bms_buf_printf(o, ",\"timeout\":%g", (double)x->timeout_ms / 1000);
	bms_buf_putc(o, '}');
	json_str_member(o, "status", l.found && l.state[0] ? l.state : "disconnected", 1);
	json_str_member(o, "last_data_received", last, 1);
	if (l.found && l.quality >= 0)
		bms_buf_printf(o, ",\"connection_quality\":%g", l.quality);
	else
		bms_buf_puts(o, ",\"connection_quality\":null");
	json_str_member(o, "created_at", x->created, 1);
	json_str_member(o, "notes", x->notes, 1);
	bms_buf_putc(o, '}');
}

/* POST /api/v1/bms/connect: register a battery (operator and up). */
void bms_serve_connect(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	struct bms_serve_who c;
	struct bms_contract_conn cc;
	struct bms_battery b;
	struct bat x = { 0 };
	char field[64], why[256], details[128], msg[400];
	struct bms_store *st = bms_serve_caller(sv, rq, rs, BMS_ROLE_OPERATOR, &c);

	if (!st)
		return;
	if (bms_contract_conn_parse(rq->body, rq->body_len, &cc, field, sizeof field, why,
				    sizeof why) < 0) {
		snprintf(details, sizeof details, "{\"field\":\"%s\"}", field);
		snprintf(msg, sizeof msg, "%s%s%s", field, field[0] ? ": " : "", why);
		bms_http_error(rs, 400, "bad_request", msg, field[0] ? details : NULL);
		return;
	}
	if (bms_store_battery_get(st, cc.bms_id, copy_battery, &x) == 0 && x.found &&
	    !x.auto_added) {
		bms_http_error(rs, 409, "conflict", "this battery is registered already",
			       "{\"field\":\"bms_id\"}");
		return;
	}
	bms_store_battery_clear(&b);
	b.bms_id = cc.bms_id;
	b.name = cc.name[0] ? cc.name : NULL;
	b.bms_type = cc.bms_type;
	b.protocol = cc.protocol;
	b.device = bms_contract_conn_device(&cc);
	b.baud = cc.baud_rate > 0 ? cc.baud_rate : -1;
	b.timeout_ms = cc.timeout > 0 ? (long)(cc.timeout * 1000 + 0.5) : -1;
	x.found = 0;
	if (bms_store_battery_add(st, &b) < 0 ||
	    bms_store_battery_get(st, cc.bms_id, copy_battery, &x) != 0 || !x.found) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		return;
	}
	snprintf(msg, sizeof msg, "from %s", rq->remote);
	bms_store_audit(st, c.user, "battery_connect", cc.bms_id, msg);
	rs->status = 201;
	connection_json(st, &x, &rs->body);
}

/* GET /api/v1/bms: every registered battery as a connection. */
struct conns {
	struct bms_store *st;
	struct bms_buf *o;
	int n;
};

static int conn_each(void *ctx, const struct bms_battery *b)
{
	struct conns *k = ctx;
	struct bat x = { 0 };

	copy_battery(&x, b);
	bms_buf_puts(k->o, k->n++ ? "," : "");
	connection_json(k->st, &x, k->o);
	return 0;
}

void bms_serve_connections(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct conns k = { st, &rs->body, 0 };

	if (!st)
		return;
	bms_buf_putc(&rs->body, '[');
	if (bms_store_battery_list(st, conn_each, &k) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* GET /api/v1/bms/data/{bms_id}: the latest reading, by bms_id or UUID. */
struct realtime {
	struct bms_buf *o;
	int ok;
};

static int realtime_fn(void *ctx, const char *line, size_t len)
{
	struct realtime *r = ctx;

	r->ok = bms_contract_realtime(line, len, r->o) == 0;
	return 0;
}

void bms_serve_data(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bat x = { 0 };
	struct realtime r = { &rs->body, 0 };

	if (!st)
		return;
	if (bms_store_battery_get(st, rq->params[0], copy_battery, &x) != 0 || !x.found ||
	    bms_store_reading_latest(st, x.bms_id, realtime_fn, &r) != 0 || !r.ok) {
		bms_buf_reset(&rs->body);
		bms_http_error(rs, 404, "not_found", "no such battery, or no reading of it yet", NULL);
	}
}

/* ==== Batteries: edit and remove ==== */

/* PATCH /api/v1/bms/{id} {"name","chemistry","nominal_capacity_ah","cell_count","notes"};
 * null for name, chemistry or notes clears it. */
void bms_serve_battery_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
	struct bms_battery b;
	struct bat x = { 0 };
	json_t *o, *v;
	static const char *const texts[] = { "name", "notes", "chemistry" };

	if (!st)
		return;
	if (bms_store_battery_get(st, rq->params[0], copy_battery, &x) != 0 || !x.found) {
		bms_http_error(rs, 404, "not_found", "no such battery", NULL);
		return;
	}
	if (!(o = bms_serve_body(rq, rs)))
		return;
	bms_store_battery_clear(&b);
	b.bms_id = x.bms_id;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *t;

		if (!(v = json_object_get(o, texts[i])))
			continue;
		/* null clears it (the store's "") */
		if (json_is_null(v))
			t = "";
		else if (!(t = bms_serve_want_str(o, texts[i], 1000, rs)))
			goto out;
		else if (i == 2) {
			int ch = bms_chem_find(t, strlen(t));

			if (ch < 0) {
				bms_http_error(rs, 400, "bad_request", "chemistry: not lfp, nmc or lto",
					       "{\"field\":\"chemistry\"}");
				goto out;
			}
			t = bms_chem_profile((enum bms_chem)ch)->name;
		}
		*(i == 0 ? &b.name : i == 1 ? &b.notes : &b.chemistry) = t;
	}
	if ((v = json_object_get(o, "nominal_capacity_ah"))) {
		if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1e6) {
			bms_http_error(rs, 400, "bad_request", "nominal_capacity_ah: not a number "
				       "from 0 to 1000000", "{\"field\":\"nominal_capacity_ah\"}");
			goto out;
		}
		b.nominal_capacity_ah = json_number_value(v);
	}
	if ((v = json_object_get(o, "cell_count"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 48) {
			bms_http_error(rs, 400, "bad_request", "cell_count: not a whole number from 1 to 48",
				       "{\"field\":\"cell_count\"}");
			goto out;
		}
		b.cell_count = (long)json_integer_value(v);
	}
	if (bms_store_battery_edit(st, &b) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, c.user, "battery_edit", x.bms_id, rq->remote);
	x.found = 0;
	bms_store_battery_get(st, x.bms_id, copy_battery, &x);
	connection_json(st, &x, &rs->body);
out:
	json_decref(o);
}

/* DELETE /api/v1/bms/{id}[?purge=true]: operator; with its records, admin. */
void bms_serve_battery_remove(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
	struct bat x = { 0 };
	char purge[8] = "";
	int rc;

	if (!st)
		return;
	if (bms_http_query(rq, "purge", purge, sizeof purge) >= 0 && strcmp(purge, "true") &&
	    strcmp(purge, "false")) {
		bms_http_error(rs, 400, "bad_request", "purge: not true or false",
			       "{\"field\":\"purge\"}");
		return;
	}
	if (strcmp(purge, "true") == 0 && bms_serve_level(c.role) < BMS_ROLE_ADMIN) {
		bms_http_error(rs, 403, "forbidden", "this needs an admin of the tenant", NULL);
		return;
	}
	if (bms_store_battery_get(st, rq->params[0], copy_battery, &x) != 0 || !x.found) {
		bms_http_error(rs, 404, "not_found", "no such battery", NULL);
		return;
	}
	rc = bms_store_battery_remove(st, x.bms_id, strcmp(purge, "true") == 0);
	if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 409, "conflict", "the battery has stored records: "
			       "purge=true removes them with it", NULL);
		return;
	}
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		return;
	}
	bms_store_audit(st, c.user, strcmp(purge, "true") == 0 ? "battery_purge" : "battery_remove",
			x.bms_id, rq->remote);
	rs->status = 204;
}

/* ==== History, analytics and status of one battery ==== */

/* The bms_id of path parameter id (a bms_id or UUID) in st, into out;
 * 0, or -1 with rs set to 404. */
static int battery_of(struct bms_store *st, const char *id, struct bat *x,
		      struct bms_http_resp *rs)
{
	if (bms_store_battery_get(st, id, copy_battery, x) != 0 || !x->found) {
		bms_http_error(rs, 404, "not_found", "no such battery", NULL);
		return -1;
	}
	return 0;
}

struct points {
	struct bms_buf *o;
	int n, limit;
	int over;		/* more than limit */
};

static int point_each(void *ctx, const char *line, size_t len)
{
	struct points *p = ctx;

	if (p->n == p->limit) {
		p->over = 1;
		return 1;
	}
	bms_buf_puts(p->o, p->n++ ? "," : "");
	bms_buf_add(p->o, line, len);
	return 0;
}

static const char *const tier_words[] = { "auto", "raw", "minute", "hour", NULL };

/* GET /api/v1/bms/{id}/history?since=&until=&tier=&limit=: readings at
 * the raw tier, aggregate records at the minute and hour tiers; the tier
 * the range picks, or a coarser one when the points would pass limit. */
void bms_serve_history(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bms_store_query q = { .what = BMS_Q_READINGS, .tier = BMS_TIER_AUTO };
	enum bms_store_tier used = BMS_TIER_RAW;
	struct points p = { NULL, 0, 2000, 0 };
	struct bms_buf pts = BMS_BUF_INIT;
	struct bat x = { 0 };
	char tier[16], lim[16];
	int rc, t = 0;

	if (!st || battery_of(st, rq->params[0], &x, rs) < 0)
		return;
	q.bms_id = x.bms_id;
	q.until_ms = bms_ts_now_ms();
	q.since_ms = q.until_ms - 86400000;
	if (bms_serve_time_param(rq, rs, "since", &q.since_ms) < 0 ||
	    bms_serve_time_param(rq, rs, "until", &q.until_ms) < 0 ||
	    (rc = bms_serve_param(rq, rs, "tier", tier, sizeof tier)) < 0)
		return;
	if (rc) {
		for (t = 0; tier_words[t] && strcmp(tier_words[t], tier); t++)
			;
		if (!tier_words[t]) {
			bms_http_error(rs, 400, "bad_request", "tier: not auto, raw, minute or hour",
				       "{\"field\":\"tier\"}");
			return;
		}
		q.tier = (enum bms_store_tier)t;
	}
	if ((rc = bms_serve_param(rq, rs, "limit", lim, sizeof lim)) < 0)
		return;
	if (rc) {
		char *end;
		long v = strtol(lim, &end, 10);

		if (*end || end == lim || v < 1 || v > 100000) {
			bms_http_error(rs, 400, "bad_request",
				       "limit: not a whole number from 1 to 100000", "{\"field\":\"limit\"}");
			return;
		}
		p.limit = (int)v;
	}
	if (q.since_ms >= q.until_ms) {
		bms_http_error(rs, 400, "bad_request", "since: not before until", "{\"field\":\"since\"}");
		return;
	}
	/* A tier asked for is kept; the one the range picks gives way to a
	 * coarser one while the points would pass the limit. */
	for (;;) {
		bms_buf_reset(&pts);
		p.o = &pts;
		p.n = p.over = 0;
		rc = bms_store_query(st, &q, point_each, &p, &used);
		if (rc < 0 || !p.over || t != 0 || used == BMS_TIER_HOUR)
			break;
		q.tier = used == BMS_TIER_RAW ? BMS_TIER_MINUTE : BMS_TIER_HOUR;
	}
	if (rc < 0) {
		bms_buf_free(&pts);
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_puts(&rs->body, "{\"bms_id\":");
	bms_buf_json_str(&rs->body, x.bms_id, strlen(x.bms_id));
	bms_buf_printf(&rs->body, ",\"tier\":\"%s\",\"truncated\":%s,\"points\":[",
		       tier_words[used], p.over ? "true" : "false");
	bms_buf_add(&rs->body, pts.p ? pts.p : "", pts.len);
	bms_buf_puts(&rs->body, "]}");
	bms_buf_free(&pts);
}

/* The last line a query gives. */
static int last_line(void *ctx, const char *line, size_t len)
{
	struct bms_buf *b = ctx;

	bms_buf_reset(b);
	bms_buf_add(b, line, len);
	return 0;
}

/* GET /api/v1/bms/{id}/analytics: bms-agg's latest health record and the
 * anomalies of the last 30 days. */
void bms_serve_analytics(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bms_store_query q = { .what = BMS_Q_HEALTH, .since_ms = 0 };
	struct bms_buf h = BMS_BUF_INIT, an = BMS_BUF_INIT;
	struct points p = { &an, 0, 1000, 0 };
	struct bat x = { 0 };
	int rc;

	if (!st || battery_of(st, rq->params[0], &x, rs) < 0)
		return;
	q.bms_id = x.bms_id;
	q.until_ms = INT64_MAX / 2;
	rc = bms_store_query(st, &q, last_line, &h, NULL);
	q.what = BMS_Q_ANOMALIES;
	q.since_ms = bms_ts_now_ms() - 30LL * 86400000;
	if (rc < 0 || bms_store_query(st, &q, point_each, &p, NULL) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
	} else {
		bms_buf_puts(&rs->body, "{\"bms_id\":");
		bms_buf_json_str(&rs->body, x.bms_id, strlen(x.bms_id));
		bms_buf_puts(&rs->body, ",\"health\":");
		bms_buf_add(&rs->body, h.len ? h.p : "null", h.len ? h.len : 4);
		bms_buf_puts(&rs->body, ",\"anomalies\":[");
		bms_buf_add(&rs->body, an.p ? an.p : "", an.len);
		bms_buf_puts(&rs->body, "]}");
	}
	bms_buf_free(&h);
	bms_buf_free(&an);
}

/* GET /api/v1/bms/{id}/status: the link's latest status record. */
void bms_serve_battery_status(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bms_store_query q = { .what = BMS_Q_STATUS, .since_ms = 0 };
	struct bms_buf b = BMS_BUF_INIT;
	struct bat x = { 0 };

	if (!st || battery_of(st, rq->params[0], &x, rs) < 0)
		return;
	q.bms_id = x.bms_id;
	q.until_ms = INT64_MAX / 2;
	if (bms_store_query(st, &q, last_line, &b, NULL) < 0)
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
	else if (!b.len)
		bms_http_error(rs, 404, "not_found", "no status of this battery yet", NULL);
	else
		bms_contract_realtime(b.p, b.len, &rs->body);
	bms_buf_free(&b);
}

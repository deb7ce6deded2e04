/* SPDX-License-Identifier: MIT */
/*
 * The API routes (see serve.h): the worker's store handles, tokens and
 * authentication, what the routes share (serve-int.h), health, the
 * OpenAPI document and the route table.  The routes of each area are in
 * serve-auth.c, serve-bms.c, serve-alerts.c and serve-users.c.
 *
 * Authentication: a route other than health and login wants
 * "Authorization: Bearer TOKEN", an access token of lib/jwt whose
 * tenant's store is then the only one the request may read or change.
 * A token that does not verify (expired, tampered, another algorithm,
 * another key, a tenant or user that is gone) is 401, with nothing said
 * of why beyond a word.
 *
 * Super-admins (control.db) manage the tenants and nothing in them: their
 * tokens carry the role "super-admin" and an empty tenant, and every
 * tenant's route answers them 403.  Their actions go to the audit log of
 * the tenant they touch, by "super-admin:NAME" (no user's name has a
 * colon).  They get no refresh token: the store keeps refresh tokens in
 * a tenant's database, and a super-admin belongs to none.
 *
 * GET /api/v1/health:
 *
 *   {"status":"healthy","timestamp":"...","version":"0.1.0","connected_devices":2}
 *
 * status is healthy when every battery whose link has been reported on
 * is connected, degraded when one is not (disconnected, error), and
 * unhealthy when the store cannot be read; connected_devices counts the
 * batteries, of every tenant, whose latest status is connected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "err.h"
#include "serve-int.h"
#include "ts.h"
#include "version.h"

/* ==== The worker's store handles ==== */

#define MAX_TENANTS 16	/* tenant handles a worker keeps open */

struct worker {
	struct bms_store *control;
	int n;
	uint64_t clock;			/* counts the uses of the handles */
	struct {
		char name[64];
		struct bms_store *st;
		uint64_t used;		/* clock at its last use */
	} t[MAX_TENANTS];
};

void *bms_serve_thread_init(void *ctx)
{
	return calloc(1, sizeof(struct worker));
}

void bms_serve_thread_exit(void *ctx, void *thread)
{
	struct worker *w = thread;

	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		bms_store_close(w->t[i].st);
	bms_store_close(w->control);
	free(w);
}

struct bms_store *bms_serve_control(struct bms_serve *sv, void *thread)
{
	struct worker *w = thread;
	char err[256];

	if (!w)
		return NULL;
	if (!w->control && bms_store_open(&w->control, sv->db, NULL, NULL, err, sizeof err) < 0)
		w->control = NULL;
	return w->control;
}

struct bms_store *bms_serve_tenant(struct bms_serve *sv, void *thread, const char *name)
{
	struct worker *w = thread;
	char err[256];
	struct bms_store *st;
	int k = 0;

	if (!w || !bms_store_name_ok(name))
		return NULL;

	for (int i = 0; i < w->n; i++)
		if (strcmp(w->t[i].name, name) == 0) {
			w->t[i].used = ++w->clock;
			return w->t[i].st;
		}
	if (strlen(name) >= sizeof w->t[0].name ||
	    bms_store_open(&st, sv->db, name, NULL, err, sizeof err) < 0)
		return NULL;
	/* A free slot, or the one used longest ago (no handler holds two
	 * tenants' handles at once, so that one is not in hand). */
	if (w->n < MAX_TENANTS) {
		k = w->n++;
	} else {
		for (int i = 1; i < MAX_TENANTS; i++)
			if (w->t[i].used < w->t[k].used)
				k = i;
		bms_store_close(w->t[k].st);
	}
	snprintf(w->t[k].name, sizeof w->t[0].name, "%s", name);
	w->t[k].st = st;
	w->t[k].used = ++w->clock;
	return st;
}

/* ==== Tokens and authentication ==== */

/* The role of a user. */
struct role_of { const char *user; int role; };

static int role_fn(void *ctx, const struct bms_user *u)
{
	struct role_of *r = ctx;

	if (strcmp(u->name, r->user) != 0)
		return 0;
	r->role = u->disabled ? -1 : (int)u->role;
	return 1;
}

int bms_serve_user_role(struct bms_store *st, const char *user)
{
	struct role_of ro = { user, -1 };

	return bms_store_user_list(st, role_fn, &ro) < 0 ? -1 : ro.role;
}

/* The claims fit who, and who the claims. */
_Static_assert(sizeof ((struct bms_serve_who *)0)->user ==
	       sizeof ((struct bms_jwt_claims *)0)->user, "user");
_Static_assert(sizeof ((struct bms_serve_who *)0)->tenant ==
	       sizeof ((struct bms_jwt_claims *)0)->tenant, "tenant");
_Static_assert(sizeof ((struct bms_serve_who *)0)->role ==
	       sizeof ((struct bms_jwt_claims *)0)->role, "role");

/* Whether a super-admin is there and enabled. */
struct admin_of { const char *name; int ok; };

static int admin_fn(void *ctx, const struct bms_superadmin *a)
{
	struct admin_of *x = ctx;

	if (strcmp(a->name, x->name) != 0)
		return 0;
	x->ok = !a->disabled;
	return 1;
}

int bms_serve_token(struct bms_serve *sv, void *thread, const char *token,
		    struct bms_serve_who *who)
{
	struct bms_jwt_claims c;
	struct admin_of ao = { c.user, 0 };
	struct bms_store *st;
	char why[256];
	int role;

	memset(who, 0, sizeof *who);
	if (!thread || !token || bms_jwt_verify(sv->secret, sv->secret_len, token,
						bms_ts_now_ms() / 1000, &c, why,
						sizeof why) != BMS_JWT_OK)
		return -1;
	if (strcmp(c.role, BMS_SERVE_SUPERADMIN) == 0) {
		/* Of no tenant, and in control.db's super-admins now. */
		if (c.tenant[0] || !(st = bms_serve_control(sv, thread)) ||
		    bms_store_superadmin_list(st, admin_fn, &ao) < 0 || !ao.ok)
			return -1;
		snprintf(who->role, sizeof who->role, "%s", BMS_SERVE_SUPERADMIN);
	} else {
		if (!(st = bms_serve_tenant(sv, thread, c.tenant)) ||
		    (role = bms_serve_user_role(st, c.user)) < 0)
			return -1;
		/* The user's role now, not when the token was made. */
		snprintf(who->role, sizeof who->role, "%s", bms_store_role_name((enum bms_role)role));
	}
	memcpy(who->user, c.user, sizeof who->user);
	memcpy(who->tenant, c.tenant, sizeof who->tenant);
	who->exp = c.exp;
	return 0;
}

int bms_serve_auth(struct bms_serve *sv, const struct bms_http_req *rq,
		   struct bms_http_resp *rs, struct bms_serve_who *who)
{
	const char *h = bms_http_header(rq, "Authorization");

	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		snprintf(rs->headers, sizeof rs->headers, "WWW-Authenticate: Bearer\r\n");
		bms_http_error(rs, 401, "unauthorized", "sign in first: no bearer token", NULL);
		return -1;
	}
	if (bms_serve_token(sv, rq->thread, h + 7, who) < 0) {
		snprintf(rs->headers, sizeof rs->headers,
			 "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
		bms_http_error(rs, 401, "unauthorized", "the token is not valid: sign in again",
			       NULL);
		return -1;
	}
	return 0;
}

struct bms_store *bms_serve_superadmin(struct bms_serve *sv, const struct bms_http_req *rq,
				       struct bms_http_resp *rs, char *by, size_t bysz)
{
	struct bms_serve_who c;
	struct bms_store *ctl;

	if (bms_serve_auth(sv, rq, rs, &c) < 0)
		return NULL;
	if (!bms_serve_is_superadmin(&c)) {
		bms_http_error(rs, 403, "forbidden", "this needs a super-admin", NULL);
		return NULL;
	}
	if (!(ctl = bms_serve_control(sv, rq->thread))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return NULL;
	}
	snprintf(by, bysz, "%s:%s", BMS_SERVE_SUPERADMIN, c.user);
	return ctl;
}

struct bms_store *bms_serve_caller(struct bms_serve *sv, const struct bms_http_req *rq,
				   struct bms_http_resp *rs, int min, struct bms_serve_who *c)
{
	if (bms_serve_auth(sv, rq, rs, c) < 0)
		return NULL;
	if (bms_serve_is_superadmin(c)) {
		bms_http_error(rs, 403, "forbidden", "a super-admin manages the tenants, not what is "
			       "in them: sign in as a user of the tenant", NULL);
		return NULL;
	}
	if (bms_serve_level(c->role) < min) {
		bms_http_error(rs, 403, "forbidden", min >= BMS_ROLE_ADMIN ?
			       "this needs an admin of the tenant" :
			       "this needs an operator or an admin", NULL);
		return NULL;
	}
	return bms_serve_tenant(sv, rq->thread, c->tenant);
}

/* ==== Requests ==== */

json_t *bms_serve_body(const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	json_error_t je;
	json_t *o = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
	char msg[300];

	if (!o || !json_is_object(o)) {
		snprintf(msg, sizeof msg, "the body is not a JSON object%s%s", o ? "" : ": ",
			 o ? "" : bms_err_oneline(je.text));
		bms_http_error(rs, 400, "bad_request", msg, NULL);
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *bms_serve_want_str(json_t *o, const char *key, size_t max, struct bms_http_resp *rs)
{
	json_t *v = json_object_get(o, key);
	char details[128], msg[128];

	if (v && json_is_string(v) && json_string_length(v) >= 1 &&
	    json_string_length(v) <= max && !memchr(json_string_value(v), 0, json_string_length(v)))
		return json_string_value(v);
	snprintf(details, sizeof details, "{\"field\":\"%s\"}", key);
	snprintf(msg, sizeof msg, "%s: %s", key, !v ? "required" :
		 !json_is_string(v) ? "not a string" : "a string of 1 to a few hundred bytes");
	bms_http_error(rs, 400, "bad_request", msg, details);
	return NULL;
}

int bms_serve_param(const struct bms_http_req *rq, struct bms_http_resp *rs, const char *name,
		    char *out, size_t outsz)
{
	char details[96], msg[128];
	int n = bms_http_query(rq, name, out, outsz);

	if (n >= 0)
		return 1;
	if (n == -1)
		return 0;
	snprintf(details, sizeof details, "{\"field\":\"%s\"}", name);
	snprintf(msg, sizeof msg, "%s: too long", name);
	bms_http_error(rs, 400, "bad_request", msg, details);
	return -1;
}

int bms_serve_time_param(const struct bms_http_req *rq, struct bms_http_resp *rs,
			 const char *name, int64_t *ms)
{
	char v[64], details[96], msg[160];
	int rc = bms_serve_param(rq, rs, name, v, sizeof v);

	if (rc <= 0)
		return rc;
	if (bms_ts_parse_arg(v, bms_ts_now_ms(), ms) == 0)
		return 1;
	snprintf(details, sizeof details, "{\"field\":\"%s\"}", name);
	snprintf(msg, sizeof msg, "%s: not a time (RFC 3339, YYYY-MM-DD, now, -24h, -7d)", name);
	bms_http_error(rs, 400, "bad_request", msg, details);
	return -1;
}

/* ==== GET /api/v1/health ==== */

struct health {
	struct bms_serve *sv;
	void *w;
	int connected, down, failed;
};

static int health_status(void *ctx, const char *bms_id, int64_t ts_ms, const char *state,
			 const char *reason, double quality)
{
	struct health *hc = ctx;

	if (state && strcmp(state, "connected") == 0)
		hc->connected++;
	else if (state && (strcmp(state, "disconnected") == 0 || strcmp(state, "error") == 0))
		hc->down++;
	return 0;
}

static int health_tenant(void *ctx, const struct bms_tenant *t)
{
	struct health *hc = ctx;
	struct bms_store *st = bms_serve_tenant(hc->sv, hc->w, t->name);

	if (!st || bms_store_status_latest(st, health_status, hc) < 0)
		hc->failed = 1;
	return 0;
}

void bms_serve_health(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct health hc = { ctx, rq->thread, 0, 0, 0 };
	struct bms_store *c = bms_serve_control(hc.sv, hc.w);
	char now[BMS_TS_LEN + 1];
	const char *status;

	if (!c || bms_store_tenant_list(c, health_tenant, &hc) < 0)
		hc.failed = 1;
	status = hc.failed ? "unhealthy" : hc.down ? "degraded" : "healthy";
	bms_ts_now(now);
	rs->status = hc.failed ? 503 : 200;
	bms_buf_printf(&rs->body, "{\"status\":\"%s\",\"timestamp\":\"%s\",\"version\":\"%s\","
		       "\"connected_devices\":%d}", status, now, BMS_VERSION, hc.connected);
}

/* GET /api/v1/openapi.json: what this server does, in OpenAPI 3.1. */
void bms_serve_openapi(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	const struct bms_serve *sv = ctx;

	bms_buf_add(&rs->body, sv->openapi, sv->openapi_len);
}

/* ==== The routes ==== */

const struct bms_http_route bms_serve_routes[] = {
	{ "GET", "/api/v1/openapi.json", bms_serve_openapi },
	{ "GET", "/api/v1/health", bms_serve_health },
	{ "POST", "/api/v1/auth/login", bms_serve_login },
	{ "GET", "/api/v1/auth/me", bms_serve_me },
	{ "POST", "/api/v1/auth/refresh", bms_serve_refresh },
	{ "POST", "/api/v1/auth/logout", bms_serve_logout },
	{ "POST", "/api/v1/bms/connect", bms_serve_connect },
	{ "GET", "/api/v1/bms", bms_serve_connections },
	{ "GET", "/api/v1/bms/data/{bms_id}", bms_serve_data },
	{ "GET", "/api/v1/alerts", bms_serve_alerts },
	{ "POST", "/api/v1/alerts/{id}/ack", bms_serve_alert_ack },
	{ "PATCH", "/api/v1/bms/{bms_id}", bms_serve_battery_edit },
	{ "DELETE", "/api/v1/bms/{bms_id}", bms_serve_battery_remove },
	{ "GET", "/api/v1/bms/{bms_id}/history", bms_serve_history },
	{ "GET", "/api/v1/bms/{bms_id}/analytics", bms_serve_analytics },
	{ "GET", "/api/v1/bms/{bms_id}/status", bms_serve_battery_status },
	{ "GET", "/api/v1/users", bms_serve_users },
	{ "POST", "/api/v1/users", bms_serve_user_add },
	{ "PATCH", "/api/v1/users/{name}", bms_serve_user_edit },
	{ "POST", "/api/v1/auth/password", bms_serve_password },
	{ "GET", "/api/v1/tenants", bms_serve_tenants },
	{ "POST", "/api/v1/tenants", bms_serve_tenant_add },
	{ "PATCH", "/api/v1/tenants/{name}", bms_serve_tenant_edit },
	{ "POST", "/api/v1/tenants/{name}/users", bms_serve_tenant_user_add },
};
const int bms_serve_nroutes = sizeof bms_serve_routes / sizeof bms_serve_routes[0];

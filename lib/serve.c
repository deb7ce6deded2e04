/* SPDX-License-Identifier: MIT */
/*
 * The API routes (see serve.h).
 *
 * Authentication: a route other than health and login wants
 * "Authorization: Bearer TOKEN", an access token of lib/jwt whose
 * tenant's store is then the only one the request may read or change.
 * A token that does not verify (expired, tampered, another algorithm,
 * another key, a tenant or user that is gone) is 401, with nothing said
 * of why beyond a word.
 *
 * POST /api/v1/auth/login {"tenant","username","password"}: the store's
 * yescrypt check (the same time and answer for an unknown user, a
 * disabled one and a wrong password); after BMS_BACKOFF_FREE failures
 * from one address or for one account, 429 with Retry-After.  It answers
 * {"access_token","token_type":"Bearer","expires_in","refresh_token",
 *  "user":{"name","tenant","role"}}.
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
#include <sys/random.h>

#include <jansson.h>

#include "serve.h"
#include "store.h"
#include "ts.h"
#include "version.h"

#define MAX_TENANTS 64	/* tenant handles a worker keeps open */

struct worker {
	struct bms_store *control;
	int n;
	struct {
		char name[64];
		struct bms_store *st;
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

/* The worker's control handle, opened at first use; NULL if it cannot be. */
static struct bms_store *control(const struct bms_serve *sv, struct worker *w)
{
	char err[256];

	if (!w->control && bms_store_open(&w->control, sv->db, NULL, NULL, err, sizeof err) < 0)
		w->control = NULL;
	return w->control;
}

/* The worker's handle on tenant name; NULL if it cannot be had. */
static struct bms_store *tenant(const struct bms_serve *sv, struct worker *w, const char *name)
{
	char err[256];
	struct bms_store *st;

	if (!w)
		return NULL;
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->t[i].name, name) == 0)
			return w->t[i].st;
	if (w->n == MAX_TENANTS || strlen(name) >= sizeof w->t[0].name ||
	    bms_store_open(&st, sv->db, name, NULL, err, sizeof err) < 0)
		return NULL;
	snprintf(w->t[w->n].name, sizeof w->t[0].name, "%s", name);
	w->t[w->n++].st = st;
	return st;
}

/* ==== GET /api/v1/health ==== */

struct health {
	const struct bms_serve *sv;
	struct worker *w;
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
	struct bms_store *st = tenant(hc->sv, hc->w, t->name);

	if (!st || bms_store_status_latest(st, health_status, hc) < 0)
		hc->failed = 1;
	return 0;
}

static void health(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct health hc = { ctx, rq->thread, 0, 0, 0 };
	struct bms_store *c = hc.w ? control(hc.sv, hc.w) : NULL;
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

/* ==== Authentication ==== */

/* The claims of the request's bearer token, or -1 with rs set to 401. */
static int authenticate(const struct bms_serve *sv, const struct bms_http_req *rq,
			struct bms_http_resp *rs, struct bms_jwt_claims *c)
{
	const char *h = bms_http_header(rq, "Authorization");
	char why[256];

	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		snprintf(rs->headers, sizeof rs->headers, "WWW-Authenticate: Bearer\r\n");
		bms_http_error(rs, 401, "unauthorized", "sign in first: no bearer token", NULL);
		return -1;
	}
	if (bms_jwt_verify(sv->secret, sv->secret_len, h + 7, bms_ts_now_ms() / 1000, c, why,
			   sizeof why) != BMS_JWT_OK ||
	    !tenant((struct bms_serve *)sv, rq->thread, c->tenant)) {
		snprintf(rs->headers, sizeof rs->headers,
			 "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
		bms_http_error(rs, 401, "unauthorized", "the token is not valid: sign in again",
			       NULL);
		return -1;
	}
	return 0;
}

/* The request's body as a JSON object, or NULL with rs set to 400. */
static json_t *body_object(const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	json_error_t je;
	json_t *o = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
	char msg[300];

	if (!o || !json_is_object(o)) {
		snprintf(msg, sizeof msg, "the body is not a JSON object%s%s", o ? "" : ": ",
			 o ? "" : je.text);
		bms_http_error(rs, 400, "bad_request", msg, NULL);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A string member of o, or NULL with rs set to 400 naming it. */
static const char *want_str(json_t *o, const char *key, size_t max, struct bms_http_resp *rs)
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

/*
 * Answer a sign-in or a refresh: a new access token for user of tenant t
 * with role, and the next refresh token of family (NULL: a new one).
 */
static void grant(const struct bms_serve *sv, struct bms_store *st, const char *t,
		  const char *user, enum bms_role role, const char *family,
		  struct bms_http_resp *rs)
{
	struct bms_jwt_claims c = { 0 };
	char token[BMS_JWT_MAX], refresh[96], hex[65], why[256];
	unsigned char rnd[32];
	int64_t now = bms_ts_now_ms();

	snprintf(c.user, sizeof c.user, "%s", user);
	snprintf(c.tenant, sizeof c.tenant, "%s", t);
	snprintf(c.role, sizeof c.role, "%s", bms_store_role_name(role));
	c.iat = now / 1000;
	c.exp = c.iat + (sv->access_ttl_s ? sv->access_ttl_s : BMS_JWT_TTL);
	if (bms_jwt_new_jti(c.jti, why, sizeof why) < 0 ||
	    bms_jwt_sign(sv->secret, sv->secret_len, &c, token, sizeof token, why, sizeof why) < 0 ||
	    getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		bms_http_error(rs, 503, "unavailable", "cannot make a token now", NULL);
		return;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(refresh, sizeof refresh, "%s.%s", t, hex);
	if (bms_store_token_add_family(st, user, refresh,
				now + 1000 * (sv->refresh_ttl_s ? sv->refresh_ttl_s : 30 * 86400),
				family, NULL) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		return;
	}
	bms_buf_printf(&rs->body, "{\"access_token\":\"%s\",\"token_type\":\"Bearer\","
		       "\"expires_in\":%lld,\"refresh_token\":\"%s\",\"user\":{\"name\":",
		       token, (long long)(c.exp - c.iat), refresh);
	bms_buf_json_str(&rs->body, c.user, strlen(c.user));
	bms_buf_printf(&rs->body, ",\"tenant\":\"%s\",\"role\":\"%s\"}}", c.tenant, c.role);
}

static void login(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char account[200];
	const char *t, *user, *pass;
	struct bms_store *st;
	enum bms_role role;
	int64_t now = bms_ts_now_ms(), wait;
	json_t *o = body_object(rq, rs);
	int ok;

	if (!o)
		return;
	if (!(t = want_str(o, "tenant", 63, rs)) || !(user = want_str(o, "username", 127, rs)) ||
	    !(pass = want_str(o, "password", 1024, rs)))
		goto out;
	snprintf(account, sizeof account, "%s/%s", t, user);
	wait = bms_backoff_wait(sv->by_addr, rq->remote, now);
	if (bms_backoff_wait(sv->by_account, account, now) > wait)
		wait = bms_backoff_wait(sv->by_account, account, now);
	if (wait > 0) {
		snprintf(rs->headers, sizeof rs->headers, "Retry-After: %lld\r\n",
			 (long long)((wait + 999) / 1000));
		bms_http_error(rs, 429, "too_many_requests",
			       "too many failed sign-ins: wait and try again", NULL);
		goto out;
	}
	st = bms_store_name_ok(t) ? tenant(sv, rq->thread, t) : NULL;
	ok = st ? bms_store_user_verify(st, user, pass, &role) : 0;
	if (ok < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		goto out;
	}
	if (ok != 1) {
		bms_backoff_fail(sv->by_addr, rq->remote, now);
		bms_backoff_fail(sv->by_account, account, now);
		bms_http_error(rs, 401, "unauthorized", "wrong tenant, user name or password", NULL);
		goto out;
	}
	bms_backoff_ok(sv->by_addr, rq->remote);
	bms_backoff_ok(sv->by_account, account);
	grant(sv, st, t, user, role, NULL, rs);
out:
	json_decref(o);
}

/* The role of user in st, or -1. */
struct role_of { const char *user; int role; };

static int role_fn(void *ctx, const struct bms_user *u)
{
	struct role_of *r = ctx;

	if (strcmp(u->name, r->user) != 0)
		return 0;
	r->role = u->disabled ? -1 : (int)u->role;
	return 1;
}

/* The tenant a refresh token names ("TENANT.HEX"), into t; 0 or -1. */
static int token_tenant(const char *tok, char *t, size_t tsz)
{
	const char *dot = strchr(tok, '.');

	if (!dot || (size_t)(dot - tok) >= tsz)
		return -1;
	memcpy(t, tok, (size_t)(dot - tok));
	t[dot - tok] = '\0';
	return bms_store_name_ok(t) ? 0 : -1;
}

/* POST /api/v1/auth/refresh {"refresh_token"}: the token is used up and
 * the next of its family answers with a new access token; a token used
 * before ends its whole family (someone else holds a copy). */
static void refresh(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char t[64], user[128], fam[BMS_STORE_FAMILY_LEN + 1];
	struct role_of ro = { user, -1 };
	struct bms_store *st = NULL;
	json_t *o = body_object(rq, rs);
	const char *tok;
	int rc = 0;

	if (!o || !(tok = want_str(o, "refresh_token", 200, rs)))
		goto out;
	if (token_tenant(tok, t, sizeof t) == 0 && (st = tenant(sv, rq->thread, t)))
		rc = bms_store_token_use(st, tok, bms_ts_now_ms(), user, sizeof user, fam);
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	if (rc == BMS_STORE_TOKEN_REUSED) {
		bms_store_audit(st, user, "token_reused", fam, rq->remote);
		bms_http_error(rs, 401, "unauthorized", "this refresh token was used before: "
			       "every session it began is ended, sign in again", NULL);
		goto out;
	}
	if (rc != 1 || bms_store_user_list(st, role_fn, &ro) < 0 || ro.role < 0) {
		bms_http_error(rs, 401, "unauthorized", "the refresh token is not valid: sign in again",
			       NULL);
		goto out;
	}
	grant(sv, st, t, user, (enum bms_role)ro.role, fam, rs);
out:
	json_decref(o);
}

/* POST /api/v1/auth/logout {"refresh_token"}: its family ends. */
static void logout(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char t[64], fam[BMS_STORE_FAMILY_LEN + 1] = "";
	struct bms_store *st;
	json_t *o = body_object(rq, rs);
	const char *tok;

	if (!o || !(tok = want_str(o, "refresh_token", 200, rs)))
		goto out;
	if (token_tenant(tok, t, sizeof t) == 0 && (st = tenant(sv, rq->thread, t)) &&
	    bms_store_token_use(st, tok, bms_ts_now_ms(), NULL, 0, fam) > 0 && fam[0])
		bms_store_family_revoke(st, fam);
	rs->status = 204;
out:
	json_decref(o);
}

/* GET /api/v1/auth/me: who the token says the caller is. */
static void me(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_jwt_claims c;
	char exp[BMS_TS_LEN + 1];

	if (authenticate(ctx, rq, rs, &c) < 0)
		return;
	bms_ts_format_ms(c.exp * 1000, exp);
	bms_buf_puts(&rs->body, "{\"name\":");
	bms_buf_json_str(&rs->body, c.user, strlen(c.user));
	bms_buf_printf(&rs->body, ",\"tenant\":\"%s\",\"role\":\"%s\",\"expires_at\":\"%s\"}",
		       c.tenant, c.role, exp);
}

const struct bms_http_route bms_serve_routes[] = {
	{ "GET", "/api/v1/health", health },
	{ "POST", "/api/v1/auth/login", login },
	{ "GET", "/api/v1/auth/me", me },
	{ "POST", "/api/v1/auth/refresh", refresh },
	{ "POST", "/api/v1/auth/logout", logout },
};
const int bms_serve_nroutes = sizeof bms_serve_routes / sizeof bms_serve_routes[0];

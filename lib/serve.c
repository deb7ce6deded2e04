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
 * Super-admins (control.db) manage the tenants and nothing in them: their
 * tokens carry the role "super-admin" and an empty tenant, and every
 * tenant's route answers them 403.  Their actions go to the audit log of
 * the tenant they touch, by "super-admin:NAME" (no user's name has a
 * colon).  They get no refresh token: the store keeps refresh tokens in
 * a tenant's database, and a super-admin belongs to none.
 *
 * POST /api/v1/auth/login {"tenant","username","password"}: the store's
 * yescrypt check (the same time and answer for an unknown user, a
 * disabled one and a wrong password); after BMS_BACKOFF_FREE failures
 * from one address or for one account, 429 with Retry-After.  It answers
 * {"access_token","token_type":"Bearer","expires_in","refresh_token",
 *  "user":{"name","tenant","role"}}.  Without "tenant", a super-admin
 * signs in: no refresh_token, and "tenant":null.
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

#include "chem.h"
#include "contract.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "rand.h"
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

	if (!w || !bms_store_name_ok(name))
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

struct bms_store *bms_serve_tenant(struct bms_serve *sv, void *thread, const char *name)
{
	return tenant(sv, thread, name);
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
	struct role_of ro = { c.user, -1 };
	struct admin_of ao = { c.user, 0 };
	struct bms_store *st;
	char why[256];

	memset(who, 0, sizeof *who);
	if (!thread || !token || bms_jwt_verify(sv->secret, sv->secret_len, token,
						bms_ts_now_ms() / 1000, &c, why,
						sizeof why) != BMS_JWT_OK)
		return -1;
	if (strcmp(c.role, BMS_SERVE_SUPERADMIN) == 0) {
		/* Of no tenant, and in control.db's super-admins now. */
		if (c.tenant[0] || !(st = control(sv, thread)) ||
		    bms_store_superadmin_list(st, admin_fn, &ao) < 0 || !ao.ok)
			return -1;
		snprintf(who->role, sizeof who->role, "%s", BMS_SERVE_SUPERADMIN);
	} else {
		if (!(st = tenant(sv, thread, c.tenant)) || bms_store_user_list(st, role_fn, &ro) < 0 ||
		    ro.role < 0)
			return -1;
		/* The user's role now, not when the token was made. */
		snprintf(who->role, sizeof who->role, "%s",
			 bms_store_role_name((enum bms_role)ro.role));
	}
	memcpy(who->user, c.user, sizeof who->user);
	memcpy(who->tenant, c.tenant, sizeof who->tenant);
	who->exp = c.exp;
	return 0;
}

/* True if who is a super-admin. */
static int is_superadmin(const struct bms_serve_who *who)
{
	return strcmp(who->role, BMS_SERVE_SUPERADMIN) == 0;
}

/* Who the request's bearer token says, or -1 with rs set to 401. */
static int authenticate(struct bms_serve *sv, const struct bms_http_req *rq,
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

/* The request's body as a JSON object, or NULL with rs set to 400. */
static json_t *body_object(const struct bms_http_req *rq, struct bms_http_resp *rs)
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

/* Append s to o as a JSON string, or null when it is empty. */
static void json_str_or_null(struct bms_buf *o, const char *s)
{
	if (s[0])
		bms_buf_json_str(o, s, strlen(s));
	else
		bms_buf_puts(o, "null");
}

/*
 * Answer a sign-in or a refresh: a new access token for user of tenant t
 * with role, and the next refresh token of family (NULL: a new one) in
 * st; st NULL (a super-admin, of tenant ""): no refresh token.
 */
static void grant(const struct bms_serve *sv, struct bms_store *st, const char *t,
		  const char *user, const char *role, const char *family,
		  struct bms_http_resp *rs)
{
	struct bms_jwt_claims c = { 0 };
	char token[BMS_JWT_MAX], refresh[96], hex[65], why[256];
	unsigned char rnd[32];
	int64_t now = bms_ts_now_ms();

	snprintf(c.user, sizeof c.user, "%s", user);
	snprintf(c.tenant, sizeof c.tenant, "%s", t);
	snprintf(c.role, sizeof c.role, "%s", role);
	c.iat = now / 1000;
	c.exp = c.iat + (sv->access_ttl_s ? sv->access_ttl_s : BMS_JWT_TTL);
	if (bms_jwt_new_jti(c.jti, why, sizeof why) < 0 ||
	    bms_jwt_sign(sv->secret, sv->secret_len, &c, token, sizeof token, why, sizeof why) < 0 ||
	    bms_rand_bytes(rnd, sizeof rnd) < 0) {
		bms_http_error(rs, 503, "unavailable", "cannot make a token now", NULL);
		return;
	}
	bms_hex_encode(rnd, sizeof rnd, hex);
	snprintf(refresh, sizeof refresh, "%s.%s", t, hex);
	if (st && bms_store_token_add_family(st, user, refresh,
				now + 1000 * (sv->refresh_ttl_s ? sv->refresh_ttl_s : 30 * 86400),
				family, NULL) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		return;
	}
	bms_buf_printf(&rs->body, "{\"access_token\":\"%s\",\"token_type\":\"Bearer\","
		       "\"expires_in\":%lld,", token, (long long)(c.exp - c.iat));
	if (st)
		bms_buf_printf(&rs->body, "\"refresh_token\":\"%s\",", refresh);
	bms_buf_puts(&rs->body, "\"user\":{\"name\":");
	bms_buf_json_str(&rs->body, c.user, strlen(c.user));
	bms_buf_puts(&rs->body, ",\"tenant\":");
	json_str_or_null(&rs->body, c.tenant);
	bms_buf_printf(&rs->body, ",\"role\":\"%s\"}}", c.role);
}

static void login(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char account[200];
	const char *t = NULL, *user, *pass;
	struct bms_store *st = NULL;
	enum bms_role role = BMS_ROLE_VIEWER;
	int64_t now = bms_ts_now_ms(), wait;
	json_t *o = body_object(rq, rs);
	int ok;

	if (!o)
		return;
	/* Without a tenant, a super-admin signs in. */
	if ((json_object_get(o, "tenant") && !(t = want_str(o, "tenant", 63, rs))) ||
	    !(user = want_str(o, "username", 127, rs)) || !(pass = want_str(o, "password", 1024, rs)))
		goto out;
	snprintf(account, sizeof account, "%s/%s", t ? t : "", user);
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
	if (t) {
		st = bms_store_name_ok(t) ? tenant(sv, rq->thread, t) : NULL;
		ok = st ? bms_store_user_verify(st, user, pass, &role) : 0;
	} else {
		struct bms_store *ctl = rq->thread ? control(sv, rq->thread) : NULL;

		ok = ctl ? bms_store_superadmin_verify(ctl, user, pass) : -1;
	}
	if (ok < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		goto out;
	}
	if (ok != 1) {
		bms_backoff_fail(sv->by_addr, rq->remote, now);
		bms_backoff_fail(sv->by_account, account, now);
		bms_http_error(rs, 401, "unauthorized", t ? "wrong tenant, user name or password" :
			       "wrong user name or password", NULL);
		goto out;
	}
	bms_backoff_ok(sv->by_addr, rq->remote);
	bms_backoff_ok(sv->by_account, account);
	if (t)
		grant(sv, st, t, user, bms_store_role_name(role), NULL, rs);
	else
		grant(sv, NULL, "", user, BMS_SERVE_SUPERADMIN, NULL, rs);
out:
	json_decref(o);
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
	grant(sv, st, t, user, bms_store_role_name((enum bms_role)ro.role), fam, rs);
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
	struct bms_serve_who c;
	char exp[BMS_TS_LEN + 1];

	if (authenticate(ctx, rq, rs, &c) < 0)
		return;
	bms_ts_format_ms(c.exp * 1000, exp);
	bms_buf_puts(&rs->body, "{\"name\":");
	bms_buf_json_str(&rs->body, c.user, strlen(c.user));
	bms_buf_puts(&rs->body, ",\"tenant\":");
	json_str_or_null(&rs->body, c.tenant);
	bms_buf_printf(&rs->body, ",\"role\":\"%s\",\"expires_at\":\"%s\"}", c.role, exp);
}


/* ==== Batteries: the contract's connections and data ==== */

/* The level of a role: viewer 0, operator 1, admin 2; -1 unknown. */
static int level(const char *role)
{
	int r = bms_store_role_parse(role);

	return r < 0 ? -1 : r;
}

/* The caller's claims and tenant store, wanting at least role min; NULL
 * with rs set (401, 403) when not. */
static struct bms_store *caller(struct bms_serve *sv, const struct bms_http_req *rq,
				struct bms_http_resp *rs, int min, struct bms_serve_who *c)
{
	if (authenticate(sv, rq, rs, c) < 0)
		return NULL;
	if (is_superadmin(c)) {
		bms_http_error(rs, 403, "forbidden", "a super-admin manages the tenants, not what is "
			       "in them: sign in as a user of the tenant", NULL);
		return NULL;
	}
	if (level(c->role) < min) {
		bms_http_error(rs, 403, "forbidden", min >= BMS_ROLE_ADMIN ?
			       "this needs an admin of the tenant" :
			       "this needs an operator or an admin", NULL);
		return NULL;
	}
	return tenant(sv, rq->thread, c->tenant);
}

/* A battery as the registry keeps it, with its strings copied. */
struct bat {
	int found;
	char bms_id[128], uuid[40], name[128], bms_type[32], protocol[32], device[256];
	char created[40];
	long baud, timeout_ms;
	int auto_added;
};

static void cp(char *d, size_t n, const char *s)
{
	snprintf(d, n, "%s", s ? s : "");
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
	cp(x->created, sizeof x->created, b->created);
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
	bms_buf_putc(o, '}');
}

/* POST /api/v1/bms/connect: register a battery (operator and up). */
static void connect_bms(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	struct bms_serve_who c;
	struct bms_contract_conn cc;
	struct bms_battery b;
	struct bat x = { 0 };
	char field[64], why[256], details[128], msg[400];
	struct bms_store *st = caller(sv, rq, rs, BMS_ROLE_OPERATOR, &c);

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

static void connections(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
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

static void data(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
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

/* ==== Alerts ==== */

/* A query parameter, or 400 naming it: 1 set, 0 absent, -1 refused. */
static int param(const struct bms_http_req *rq, struct bms_http_resp *rs, const char *name,
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

/* A time parameter (RFC 3339, a date, now, -90s, -7d) into *ms. */
static int time_param(const struct bms_http_req *rq, struct bms_http_resp *rs, const char *name,
		      int64_t *ms)
{
	char v[64], details[96], msg[160];
	int rc = param(rq, rs, name, v, sizeof v);

	if (rc <= 0)
		return rc;
	if (bms_ts_parse_arg(v, bms_ts_now_ms(), ms) == 0)
		return 1;
	snprintf(details, sizeof details, "{\"field\":\"%s\"}", name);
	snprintf(msg, sizeof msg, "%s: not a time (RFC 3339, YYYY-MM-DD, now, -24h, -7d)", name);
	bms_http_error(rs, 400, "bad_request", msg, details);
	return -1;
}

struct alerts {
	struct bms_buf *o;
	const char *severity;	/* NULL: any */
	const char *state;	/* NULL: any */
	int open;		/* -1 any; 1 only alerts not cleared; 0 only cleared */
	int pass;		/* 0: learning which alerts are open; 1: writing */
	int n, limit;
	/* alert ids whose latest record is not "cleared", in pass 0 */
	char (*ids)[200];
	int nids, capids;
};

static int alert_open(const struct alerts *a, const char *id, size_t n)
{
	for (int i = 0; i < a->nids; i++)
		if (strlen(a->ids[i]) == n && memcmp(a->ids[i], id, n) == 0)
			return 1;
	return 0;
}

static int alert_each(void *ctx, const char *line, size_t len)
{
	struct alerts *a = ctx;
	struct bms_json_field f[3] = { { .key = "alert_id" }, { .key = "state" },
				       { .key = "severity" } };
	char id[200];
	long n;

	if (bms_json_scan(line, len, f, 3, NULL) < 0)
		return 0;
	n = f[0].val ? bms_json_str_copy(f[0].val, f[0].len, id, sizeof id) : -1;
	if (a->pass == 0) {
		int cleared = f[1].val && bms_json_str_eq(f[1].val, f[1].len, "cleared");
		int notify = f[1].val && bms_json_str_eq(f[1].val, f[1].len, "notify_failed");

		if (n <= 0 || notify)
			return 0;
		if (cleared) {
			for (int i = 0; i < a->nids; i++)
				if (strcmp(a->ids[i], id) == 0) {
					memcpy(a->ids[i], a->ids[--a->nids], sizeof a->ids[0]);
					break;
				}
		} else if (!alert_open(a, id, (size_t)n)) {
			if (a->nids == a->capids) {
				int cap = a->capids ? 2 * a->capids : 16;
				void *p = realloc(a->ids, (size_t)cap * sizeof *a->ids);

				if (!p)
					return 1;
				a->ids = p;
				a->capids = cap;
			}
			memcpy(a->ids[a->nids++], id, (size_t)n + 1);
		}
		return 0;
	}
	if (a->severity && !(f[2].val && bms_json_str_eq(f[2].val, f[2].len, a->severity)))
		return 0;
	if (a->state && !(f[1].val && bms_json_str_eq(f[1].val, f[1].len, a->state)))
		return 0;
	if (a->open >= 0 && (n <= 0 || alert_open(a, id, (size_t)n) != a->open))
		return 0;
	if (a->n == a->limit)
		return 1;
	bms_buf_puts(a->o, a->n++ ? "," : "");
	bms_buf_add(a->o, line, len);
	return 0;
}

/* s if it is one of words, else NULL. */
static const char *word(const char *s, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], s) == 0)
			return s;
	return NULL;
}

/* GET /api/v1/alerts?bms_id=&severity=&state=&open=&since=&until=&limit= */
static void alerts(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	static const char *const sevs[] = { "info", "warning", "critical", NULL };
	static const char *const states[] = { "raised", "escalated", "repeated", "cleared",
					      "notify_failed", NULL };
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bms_store_query q = { .what = BMS_Q_ALERTS };
	struct alerts a = { &rs->body, NULL, NULL, -1, 0, 0, 1000, NULL, 0, 0 };
	char id[128], sev[16], state[16], open[8], lim[16];
	int rc;

	if (!st)
		return;
	q.since_ms = bms_ts_now_ms() - 30LL * 86400000;
	q.until_ms = INT64_MAX / 2;
	if ((rc = param(rq, rs, "bms_id", id, sizeof id)) < 0)
		return;
	if (rc)
		q.bms_id = id;
	if (time_param(rq, rs, "since", &q.since_ms) < 0 ||
	    time_param(rq, rs, "until", &q.until_ms) < 0)
		return;
	if ((rc = param(rq, rs, "severity", sev, sizeof sev)) < 0)
		return;
	if (rc && !(a.severity = word(sev, sevs))) {
		bms_http_error(rs, 400, "bad_request", "severity: not info, warning or critical",
			       "{\"field\":\"severity\"}");
		return;
	}
	if ((rc = param(rq, rs, "state", state, sizeof state)) < 0)
		return;
	if (rc && !(a.state = word(state, states))) {
		bms_http_error(rs, 400, "bad_request", "state: not raised, escalated, repeated, "
			       "cleared or notify_failed", "{\"field\":\"state\"}");
		return;
	}
	if ((rc = param(rq, rs, "open", open, sizeof open)) < 0)
		return;
	if (rc) {
		if (strcmp(open, "true") && strcmp(open, "false")) {
			bms_http_error(rs, 400, "bad_request", "open: not true or false",
				       "{\"field\":\"open\"}");
			return;
		}
		a.open = strcmp(open, "true") == 0;
	}
	if ((rc = param(rq, rs, "limit", lim, sizeof lim)) < 0)
		return;
	if (rc) {
		char *end;
		long v = strtol(lim, &end, 10);

		if (*end || end == lim || v < 1 || v > 10000) {
			bms_http_error(rs, 400, "bad_request", "limit: not a whole number from 1 to 10000",
				       "{\"field\":\"limit\"}");
			return;
		}
		a.limit = (int)v;
	}
	bms_buf_putc(&rs->body, '[');
	rc = a.open >= 0 ? bms_store_query(st, &q, alert_each, &a, NULL) : 0;
	a.pass = 1;
	if (rc >= 0)
		rc = bms_store_query(st, &q, alert_each, &a, NULL);
	free(a.ids);
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* POST /api/v1/alerts/{id}/ack {"note":"..."}: operator and up. */
static void alert_ack(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
	struct bms_alert_ack first;
	const char *note = NULL;
	char at[BMS_TS_LEN + 1], *end;
	json_t *o = NULL, *v;
	int64_t now = bms_ts_now_ms();
	long long id;
	int rc;

	if (!st)
		return;
	id = strtoll(rq->params[0], &end, 10);
	if (*end || id <= 0) {
		bms_http_error(rs, 404, "not_found", "no such alert", NULL);
		return;
	}
	if (rq->body_len) {
		if (!(o = body_object(rq, rs)))
			return;
		if ((v = json_object_get(o, "note")) && !(note = want_str(o, "note", 1000, rs)))
			goto out;
	}
	rc = bms_store_alert_ack(st, id, c.user, now, note, &first);
	if (rc == BMS_STORE_ECONFIG && note && strstr(bms_store_error(st), "note")) {
		bms_http_error(rs, 400, "bad_request", "note: not text of one line", "{\"field\":\"note\"}");
	} else if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such alert", NULL);
	} else if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
	} else {
		if (rc == 1)
			rs->status = 409;
		bms_ts_format_ms(rc == 1 ? first.at_ms : now, at);
		bms_buf_printf(&rs->body, "{\"id\":%lld,\"ack_by\":", id);
		bms_buf_json_str(&rs->body, rc == 1 ? first.by : c.user,
				 strlen(rc == 1 ? first.by : c.user));
		bms_buf_printf(&rs->body, ",\"ack_at\":\"%s\"%s}", at,
			       rc == 1 ? ",\"error\":\"conflict\",\"message\":\"acknowledged already\"" : "");
	}
out:
	json_decref(o);
}

/* ==== Users (admin) and passwords ==== */

/* Append a user's JSON to o (the store's writer starts its buffer over). */
static void user_json(const struct bms_user *u, struct bms_buf *o)
{
	struct bms_buf t = BMS_BUF_INIT;

	bms_store_user_json(u, &t);
	bms_buf_add(o, t.p ? t.p : "", t.len);
	if (t.oom)
		o->oom = 1;
	bms_buf_free(&t);
}

/* A JSON array being written: its buffer, and the items so far. */
struct list {
	struct bms_buf *o;
	int n;
};

static int user_each(void *ctx, const struct bms_user *u)
{
	struct list *l = ctx;

	bms_buf_puts(l->o, l->n++ ? "," : "");
	user_json(u, l->o);
	return 0;
}

/* The user named name, as JSON, into rs's body; 0, or -1 if none. */
struct one_user {
	const char *name;
	struct bms_buf *o;
	int found;
};

static int one_user_fn(void *ctx, const struct bms_user *u)
{
	struct one_user *x = ctx;

	if (strcmp(u->name, x->name) != 0)
		return 0;
	x->found = 1;
	user_json(u, x->o);
	return 1;
}

/* GET /api/v1/users */
static void users(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);
	struct list l = { &rs->body, 0 };

	if (!st)
		return;
	bms_buf_putc(&rs->body, '[');
	if (bms_store_user_list(st, user_each, &l) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* A role member: 1 set (*role), 0 absent, -1 refused (rs set). */
static int role_member(json_t *o, struct bms_http_resp *rs, enum bms_role *role)
{
	json_t *v = json_object_get(o, "role");
	int r;

	if (!v)
		return 0;
	if (!json_is_string(v) || (r = bms_store_role_parse(json_string_value(v))) < 0) {
		bms_http_error(rs, 400, "bad_request", "role: not viewer, operator or admin",
			       "{\"field\":\"role\"}");
		return -1;
	}
	*role = (enum bms_role)r;
	return 1;
}

/* Add the user the body of rq describes to st, by by; the answer in rs:
 * 201 with the user, 400 naming a field, 409, 503. */
static void add_user(struct bms_store *st, const char *by, const struct bms_http_req *rq,
		     struct bms_http_resp *rs)
{
	enum bms_role role = BMS_ROLE_VIEWER;
	struct one_user x = { NULL, &rs->body, 0 };
	const char *name, *pass;
	json_t *o;

	if (!(o = body_object(rq, rs)))
		return;
	if (!(name = want_str(o, "username", 63, rs)) || !(pass = want_str(o, "password", 1024, rs)) ||
	    role_member(o, rs, &role) < 0)
		goto out;
	if (!bms_store_name_ok(name)) {
		bms_http_error(rs, 400, "bad_request", "username: use a-z, 0-9, '_' and '-', "
			       "starting with a letter or digit", "{\"field\":\"username\"}");
		goto out;
	}
	if (strlen(pass) < 8) {
		bms_http_error(rs, 400, "bad_request", "password: at least 8 characters",
			       "{\"field\":\"password\"}");
		goto out;
	}
	switch (bms_store_user_add(st, name, role, pass)) {
	case 0:
		break;
	case BMS_STORE_ECONFIG:
		bms_http_error(rs, 409, "conflict", "this user exists already",
			       "{\"field\":\"username\"}");
		goto out;
	default:
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, by, "user_add", name, rq->remote);
	rs->status = 201;
	x.name = name;
	bms_store_user_list(st, one_user_fn, &x);
out:
	json_decref(o);
}

/* POST /api/v1/users {"username","password","role"} */
static void user_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);

	if (st)
		add_user(st, c.user, rq, rs);
}

/* PATCH /api/v1/users/{name} {"role","disabled","password"} */
static void user_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);
	struct one_user x = { rq->params[0], &rs->body, 0 };
	enum bms_role role;
	json_t *o, *v;
	const char *pass = NULL;
	int has_role, rc = 0;

	if (!st || !(o = body_object(rq, rs)))
		return;
	if ((has_role = role_member(o, rs, &role)) < 0)
		goto out;
	if ((v = json_object_get(o, "disabled")) && !json_is_boolean(v)) {
		bms_http_error(rs, 400, "bad_request", "disabled: not true or false",
			       "{\"field\":\"disabled\"}");
		goto out;
	}
	if (json_object_get(o, "password") && !(pass = want_str(o, "password", 1024, rs)))
		goto out;
	if (pass && strlen(pass) < 8) {
		bms_http_error(rs, 400, "bad_request", "password: at least 8 characters",
			       "{\"field\":\"password\"}");
		goto out;
	}
	if (has_role)
		rc = bms_store_user_role(st, x.name, role);
	if (rc == 0 && v)
		rc = bms_store_user_disable(st, x.name, json_is_true(v));
	if (rc == 0 && pass)
		rc = bms_store_user_passwd(st, x.name, pass);
	if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such user", NULL);
		goto out;
	}
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, c.user, "user_edit", x.name, rq->remote);
	if (bms_store_user_list(st, one_user_fn, &x) < 0 || !x.found) {
		bms_buf_reset(&rs->body);
		bms_http_error(rs, 404, "not_found", "no such user", NULL);
	}
out:
	json_decref(o);
}

/* POST /api/v1/auth/password {"current_password","new_password"}: 204. */
static void password(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	struct bms_serve_who c;
	struct bms_store *st;
	const char *cur, *neu;
	enum bms_role role;
	int64_t wait;
	json_t *o;
	int rc;

	if (authenticate(sv, rq, rs, &c) < 0)
		return;
	/* control.db keeps no audit log for a super-admin's change. */
	if (is_superadmin(&c)) {
		bms_http_error(rs, 403, "forbidden", "a super-admin's password is changed with "
			       "bms-store superadmins passwd", NULL);
		return;
	}
	if (!(st = tenant(sv, rq->thread, c.tenant))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	if (!(o = body_object(rq, rs)))
		return;
	if (!(cur = want_str(o, "current_password", 1024, rs)) ||
	    !(neu = want_str(o, "new_password", 1024, rs)))
		goto out;
	if (strlen(neu) < 8) {
		bms_http_error(rs, 400, "bad_request", "new_password: at least 8 characters",
			       "{\"field\":\"new_password\"}");
		goto out;
	}
	if ((wait = bms_backoff_wait(sv->by_addr, rq->remote, bms_ts_now_ms())) > 0) {
		snprintf(rs->headers, sizeof rs->headers, "Retry-After: %lld\r\n",
			 (long long)((wait + 999) / 1000));
		bms_http_error(rs, 429, "too_many_requests",
			       "too many failed sign-ins: wait and try again", NULL);
		goto out;
	}
	rc = bms_store_user_verify(st, c.user, cur, &role);
	if (rc != 1) {
		if (rc == 0)
			bms_backoff_fail(sv->by_addr, rq->remote, bms_ts_now_ms());
		bms_http_error(rs, rc == 0 ? 403 : 503, rc == 0 ? "forbidden" : "unavailable",
			       rc == 0 ? "the current password is wrong" : "the store cannot be read now",
			       rc == 0 ? "{\"field\":\"current_password\"}" : NULL);
		goto out;
	}
	if (bms_store_user_passwd(st, c.user, neu) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, c.user, "password_change", c.user, rq->remote);
	rs->status = 204;
out:
	json_decref(o);
}

/* ==== Tenants (super-admins) ==== */

/* The control handle for a super-admin's request; NULL with rs set (401,
 * 403, 503) for anyone else.  by gets the name the audit log gives the
 * super-admin. */
static struct bms_store *superadmin(struct bms_serve *sv, const struct bms_http_req *rq,
				    struct bms_http_resp *rs, char *by, size_t bysz)
{
	struct bms_serve_who c;
	struct bms_store *ctl;

	if (authenticate(sv, rq, rs, &c) < 0)
		return NULL;
	if (!is_superadmin(&c)) {
		bms_http_error(rs, 403, "forbidden", "this needs a super-admin", NULL);
		return NULL;
	}
	if (!(ctl = control(sv, rq->thread))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return NULL;
	}
	snprintf(by, bysz, "%s:%s", BMS_SERVE_SUPERADMIN, c.user);
	return ctl;
}

/* Append a tenant's JSON to o (the store's writer starts its buffer over). */
static void tenant_json(const struct bms_tenant *t, struct bms_buf *o)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_store_tenant_json(t, &b);
	bms_buf_add(o, b.p ? b.p : "", b.len);
	if (b.oom)
		o->oom = 1;
	bms_buf_free(&b);
}

static int tenant_each(void *ctx, const struct bms_tenant *t)
{
	struct list *l = ctx;

	bms_buf_puts(l->o, l->n++ ? "," : "");
	tenant_json(t, l->o);
	return 0;
}

/* The tenant named name, as JSON into o (NULL: not wanted). */
struct one_tenant {
	const char *name;
	struct bms_buf *o;
	int found;
};

static int one_tenant_fn(void *ctx, const struct bms_tenant *t)
{
	struct one_tenant *x = ctx;

	if (strcmp(t->name, x->name) != 0)
		return 0;
	x->found = 1;
	if (x->o)
		tenant_json(t, x->o);
	return 1;
}

/* The retention members of o into k (-1 where not given), their count in
 * *given; 0, or -1 with rs set to 400 naming the member. */
static int retention_members(json_t *o, struct bms_retention *k, int *given,
			     struct bms_http_resp *rs)
{
	static const char *const keys[] = { "raw_days", "minute_days", "hour_days" };
	long *f[] = { &k->raw_days, &k->minute_days, &k->hour_days };
	char msg[128], details[64];

	*given = 0;
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(o, keys[i]);

		*f[i] = -1;
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000000) {
			snprintf(msg, sizeof msg, "%s: not a whole number of days from 0 "
				 "(keep forever) to 1000000", keys[i]);
			snprintf(details, sizeof details, "{\"field\":\"%s\"}", keys[i]);
			bms_http_error(rs, 400, "bad_request", msg, details);
			return -1;
		}
		*f[i] = (long)json_integer_value(v);
		(*given)++;
	}
	return 0;
}

/* GET /api/v1/tenants: every tenant with its retention. */
static void tenants(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	char by[200];
	struct bms_store *ctl = superadmin(ctx, rq, rs, by, sizeof by);
	struct list l = { &rs->body, 0 };

	if (!ctl)
		return;
	bms_buf_putc(&rs->body, '[');
	if (bms_store_tenant_list(ctl, tenant_each, &l) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* POST /api/v1/tenants {"name","raw_days","minute_days","hour_days"} */
static void tenant_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { NULL, &rs->body, 0 };
	struct bms_retention k;
	const char *name;
	json_t *o;
	int given;

	if (!ctl || !(o = body_object(rq, rs)))
		return;
	if (!(name = want_str(o, "name", 63, rs)) || retention_members(o, &k, &given, rs) < 0)
		goto out;
	if (!bms_store_name_ok(name)) {
		bms_http_error(rs, 400, "bad_request", "name: use a-z, 0-9, '_' and '-', "
			       "starting with a letter or digit", "{\"field\":\"name\"}");
		goto out;
	}
	switch (bms_store_tenant_add(ctl, name, &k)) {
	case 0:
		break;
	case BMS_STORE_ECONFIG:
		bms_http_error(rs, 409, "conflict", "this tenant exists already",
			       "{\"field\":\"name\"}");
		goto out;
	default:
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	if ((st = tenant(sv, rq->thread, name)))
		bms_store_audit(st, by, "tenant_add", name, rq->remote);
	rs->status = 201;
	x.name = name;
	bms_store_tenant_list(ctl, one_tenant_fn, &x);
out:
	json_decref(o);
}

/* PATCH /api/v1/tenants/{name} {"raw_days","minute_days","hour_days"} */
static void tenant_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { rq->params[0], &rs->body, 0 };
	struct bms_retention k;
	json_t *o;
	int given, rc = 0;

	if (!ctl || !(o = body_object(rq, rs)))
		return;
	if (retention_members(o, &k, &given, rs) < 0)
		goto out;
	if (given)
		rc = bms_store_tenant_set(ctl, x.name, &k);
	if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
		goto out;
	}
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	if (given && (st = tenant(sv, rq->thread, x.name)))
		bms_store_audit(st, by, "tenant_edit", x.name, rq->remote);
	if (bms_store_tenant_list(ctl, one_tenant_fn, &x) < 0 || !x.found) {
		bms_buf_reset(&rs->body);
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
	}
out:
	json_decref(o);
}

/* POST /api/v1/tenants/{name}/users {"username","password","role"}: a
 * user of the tenant, such as its first admin. */
static void tenant_user_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { rq->params[0], NULL, 0 };

	if (!ctl)
		return;
	if (bms_store_tenant_list(ctl, one_tenant_fn, &x) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	if (!x.found) {
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
		return;
	}
	if (!(st = tenant(sv, rq->thread, x.name))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	add_user(st, by, rq, rs);
}

/* ==== Batteries: edit and remove ==== */

/* PATCH /api/v1/bms/{id} {"name","chemistry","nominal_capacity_ah","cell_count","notes"} */
static void battery_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
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
	if (!(o = body_object(rq, rs)))
		return;
	bms_store_battery_clear(&b);
	b.bms_id = x.bms_id;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *t;

		if (!json_object_get(o, texts[i]))
			continue;
		if (!(t = want_str(o, texts[i], 1000, rs)))
			goto out;
		if (i == 2) {
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
static void battery_remove(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
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
	if (strcmp(purge, "true") == 0 && level(c.role) < BMS_ROLE_ADMIN) {
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

/* GET /api/v1/openapi.json: what this server does, in OpenAPI 3.1. */
static void openapi(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	const struct bms_serve *sv = ctx;

	bms_buf_add(&rs->body, sv->openapi, sv->openapi_len);
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
static void history(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
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
	if (time_param(rq, rs, "since", &q.since_ms) < 0 ||
	    time_param(rq, rs, "until", &q.until_ms) < 0 ||
	    (rc = param(rq, rs, "tier", tier, sizeof tier)) < 0)
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
	if ((rc = param(rq, rs, "limit", lim, sizeof lim)) < 0)
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
static void analytics(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
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
static void battery_status(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
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

const struct bms_http_route bms_serve_routes[] = {
	{ "GET", "/api/v1/openapi.json", openapi },
	{ "GET", "/api/v1/health", health },
	{ "POST", "/api/v1/auth/login", login },
	{ "GET", "/api/v1/auth/me", me },
	{ "POST", "/api/v1/auth/refresh", refresh },
	{ "POST", "/api/v1/auth/logout", logout },
	{ "POST", "/api/v1/bms/connect", connect_bms },
	{ "GET", "/api/v1/bms", connections },
	{ "GET", "/api/v1/bms/data/{bms_id}", data },
	{ "GET", "/api/v1/alerts", alerts },
	{ "POST", "/api/v1/alerts/{id}/ack", alert_ack },
	{ "PATCH", "/api/v1/bms/{bms_id}", battery_edit },
	{ "DELETE", "/api/v1/bms/{bms_id}", battery_remove },
	{ "GET", "/api/v1/bms/{bms_id}/history", history },
	{ "GET", "/api/v1/bms/{bms_id}/analytics", analytics },
	{ "GET", "/api/v1/bms/{bms_id}/status", battery_status },
	{ "GET", "/api/v1/users", users },
	{ "POST", "/api/v1/users", user_add },
	{ "PATCH", "/api/v1/users/{name}", user_edit },
	{ "POST", "/api/v1/auth/password", password },
	{ "GET", "/api/v1/tenants", tenants },
	{ "POST", "/api/v1/tenants", tenant_add },
	{ "PATCH", "/api/v1/tenants/{name}", tenant_edit },
	{ "POST", "/api/v1/tenants/{name}/users", tenant_user_add },
};
const int bms_serve_nroutes = sizeof bms_serve_routes / sizeof bms_serve_routes[0];

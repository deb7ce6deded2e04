/* SPDX-License-Identifier: MIT */
/*
 * bms-serve's accounts (serve.h): sign-in, refresh tokens, logout, who
 * one is, and one's own password.
 *
 * POST /api/v1/auth/login {"tenant","username","password"}: the store's
 * yescrypt check (the same time and answer for an unknown user, a
 * disabled one and a wrong password); after BMS_BACKOFF_FREE failures
 * from one address or for one account, 429 with Retry-After.  It answers
 * {"access_token","token_type":"Bearer","expires_in","refresh_token",
 *  "user":{"name","tenant","role"}}.  Without "tenant", a super-admin
 * signs in: no refresh_token, and "tenant":null.
 *
 * A refresh token is "TENANT.HEX": the tenant whose store keeps it, and
 * 32 random bytes; the store keeps only its hash.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "hex.h"
#include "rand.h"
#include "serve-int.h"
#include "ts.h"

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

void bms_serve_login(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char account[200];
	const char *t = NULL, *user, *pass;
	struct bms_store *st = NULL;
	enum bms_role role = BMS_ROLE_VIEWER;
	int64_t now = bms_ts_now_ms(), wait;
	json_t *o = bms_serve_body(rq, rs);
	int ok;

	if (!o)
		return;
	/* Without a tenant, a super-admin signs in. */
	if ((json_object_get(o, "tenant") && !(t = bms_serve_want_str(o, "tenant", 63, rs))) ||
	    !(user = bms_serve_want_str(o, "username", 127, rs)) ||
	    !(pass = bms_serve_want_str(o, "password", 1024, rs)))
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
		st = bms_store_name_ok(t) ? bms_serve_tenant(sv, rq->thread, t) : NULL;
		ok = st ? bms_store_user_verify(st, user, pass, &role) : 0;
	} else {
		struct bms_store *ctl = rq->thread ? bms_serve_control(sv, rq->thread) : NULL;

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
void bms_serve_refresh(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char t[64], user[128], fam[BMS_STORE_FAMILY_LEN + 1];
	struct bms_store *st = NULL;
	json_t *o = bms_serve_body(rq, rs);
	const char *tok;
	int rc = 0, role;

	if (!o || !(tok = bms_serve_want_str(o, "refresh_token", 200, rs)))
		goto out;
	if (token_tenant(tok, t, sizeof t) == 0 && (st = bms_serve_tenant(sv, rq->thread, t)))
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
	if (rc != 1 || (role = bms_serve_user_role(st, user)) < 0) {
		bms_http_error(rs, 401, "unauthorized", "the refresh token is not valid: sign in again",
			       NULL);
		goto out;
	}
	grant(sv, st, t, user, bms_store_role_name((enum bms_role)role), fam, rs);
out:
	json_decref(o);
}

/* POST /api/v1/auth/logout {"refresh_token"}: its family ends. */
void bms_serve_logout(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char t[64], fam[BMS_STORE_FAMILY_LEN + 1] = "";
	struct bms_store *st;
	json_t *o = bms_serve_body(rq, rs);
	const char *tok;

	if (!o || !(tok = bms_serve_want_str(o, "refresh_token", 200, rs)))
		goto out;
	if (token_tenant(tok, t, sizeof t) == 0 && (st = bms_serve_tenant(sv, rq->thread, t)) &&
	    bms_store_token_use(st, tok, bms_ts_now_ms(), NULL, 0, fam) > 0 && fam[0])
		bms_store_family_revoke(st, fam);
	rs->status = 204;
out:
	json_decref(o);
}

/* GET /api/v1/auth/me: who the token says the caller is. */
void bms_serve_me(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	char exp[BMS_TS_LEN + 1];

	if (bms_serve_auth(ctx, rq, rs, &c) < 0)
		return;
	bms_ts_format_ms(c.exp * 1000, exp);
	bms_buf_puts(&rs->body, "{\"name\":");
	bms_buf_json_str(&rs->body, c.user, strlen(c.user));
	bms_buf_puts(&rs->body, ",\"tenant\":");
	json_str_or_null(&rs->body, c.tenant);
	bms_buf_printf(&rs->body, ",\"role\":\"%s\",\"expires_at\":\"%s\"}", c.role, exp);
}

/* POST /api/v1/auth/password {"current_password","new_password"}: 204. */
void bms_serve_password(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	struct bms_serve_who c;
	struct bms_store *st;
	const char *cur, *neu;
	enum bms_role role;
	int64_t wait;
	json_t *o;
	int rc;

	if (bms_serve_auth(sv, rq, rs, &c) < 0)
		return;
	/* control.db keeps no audit log for a super-admin's change. */
	if (bms_serve_is_superadmin(&c)) {
		bms_http_error(rs, 403, "forbidden", "a super-admin's password is changed with "
			       "bms-store superadmins passwd", NULL);
		return;
	}
	if (!(st = bms_serve_tenant(sv, rq->thread, c.tenant))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	if (!(o = bms_serve_body(rq, rs)))
		return;
	if (!(cur = bms_serve_want_str(o, "current_password", 1024, rs)) ||
	    !(neu = bms_serve_want_str(o, "new_password", 1024, rs)))
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

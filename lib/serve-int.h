/* SPDX-License-Identifier: MIT */
/*
 * What the files of lib/serve share, and nothing else includes
 * (serve.h is the module's face):
 *
 *   serve.c         the worker's store handles, tokens, authentication,
 *                   the request helpers below, health, the route table
 *   serve-auth.c    sign-in, refresh, logout, me, one's password
 *   serve-bms.c     batteries: connections, data, history, analytics,
 *                   link status, edit, remove
 *   serve-alerts.c  alerts and their acknowledgement
 *   serve-users.c   a tenant's users (admins) and the tenants (super-admins)
 *
 * A helper that refuses a request sets rs to the error's status and JSON
 * (bms_http_error) and returns NULL or -1; the handler then returns.
 */
#ifndef BMS_SERVE_INT_H
#define BMS_SERVE_INT_H

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "serve.h"
#include "store.h"

/* ==== The worker's handles and the caller (serve.c) ==== */

/* The worker's control handle (thread: bms_serve_thread_init's), opened
 * at first use; NULL if it cannot be. */
struct bms_store *bms_serve_control(struct bms_serve *sv, void *thread);

/* The role of user in st now (enum bms_role), or -1: no such user,
 * disabled, or the store cannot be read. */
int bms_serve_user_role(struct bms_store *st, const char *user);

/* True if who is a super-admin. */
static inline int bms_serve_is_superadmin(const struct bms_serve_who *who)
{
	return strcmp(who->role, BMS_SERVE_SUPERADMIN) == 0;
}

/* The level of a role: viewer 0, operator 1, admin 2; -1 for another
 * (a super-admin's has none in a tenant). */
static inline int bms_serve_level(const char *role)
{
	int r = bms_store_role_parse(role);

	return r < 0 ? -1 : r;
}

/* Who the request's bearer token says (bms_serve_token), or -1 with rs
 * set to 401 and WWW-Authenticate. */
int bms_serve_auth(struct bms_serve *sv, const struct bms_http_req *rq,
		   struct bms_http_resp *rs, struct bms_serve_who *who);

/* The caller (in *c) and its tenant's store, wanting a user of at least
 * role min (enum bms_role); NULL with rs set (401; 403 for a lower role
 * or a super-admin) when not. */
struct bms_store *bms_serve_caller(struct bms_serve *sv, const struct bms_http_req *rq,
				   struct bms_http_resp *rs, int min, struct bms_serve_who *c);

/* The control handle for a super-admin's request, and in by[0..bysz) the
 * name the audit log gives the super-admin ("super-admin:NAME"); NULL
 * with rs set (401, 403 for anyone else, 503). */
struct bms_store *bms_serve_superadmin(struct bms_serve *sv, const struct bms_http_req *rq,
				       struct bms_http_resp *rs, char *by, size_t bysz);

/* ==== Requests (serve.c) ==== */

/* The request's body as a JSON object (a new reference), or NULL with rs
 * set to 400. */
json_t *bms_serve_body(const struct bms_http_req *rq, struct bms_http_resp *rs);

/* String member key of o (borrowed from o), 1 to max bytes without a NUL,
 * or NULL with rs set to 400 naming it. */
const char *bms_serve_want_str(json_t *o, const char *key, size_t max,
			       struct bms_http_resp *rs);

/* Query parameter name into out[0..outsz): 1 given, 0 absent, or -1 with
 * rs set to 400 naming it (too long). */
int bms_serve_param(const struct bms_http_req *rq, struct bms_http_resp *rs, const char *name,
		    char *out, size_t outsz);

/* A time parameter (RFC 3339, a date, now, -90s, -7d) into *ms: as
 * bms_serve_param, *ms left as it is when absent. */
int bms_serve_time_param(const struct bms_http_req *rq, struct bms_http_resp *rs,
			 const char *name, int64_t *ms);

/* ==== The routes' handlers, for the table in serve.c ==== */

/* serve.c */
void bms_serve_health(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_openapi(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
/* serve-auth.c */
void bms_serve_login(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_refresh(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_logout(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_me(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_password(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
/* serve-bms.c */
void bms_serve_connect(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_connections(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_data(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_battery_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_battery_remove(void *ctx, const struct bms_http_req *rq,
			      struct bms_http_resp *rs);
void bms_serve_history(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_analytics(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_battery_status(void *ctx, const struct bms_http_req *rq,
			      struct bms_http_resp *rs);
/* serve-alerts.c */
void bms_serve_alerts(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_alert_ack(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
/* serve-users.c */
void bms_serve_users(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_user_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_user_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_tenants(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_tenant_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_tenant_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
void bms_serve_tenant_user_add(void *ctx, const struct bms_http_req *rq,
			       struct bms_http_resp *rs);

#endif

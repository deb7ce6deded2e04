/* SPDX-License-Identifier: MIT */
/*
 * bms-serve's API (bms-serve(1)): the routes under /api/v1 and what each
 * reads from the store.  Every worker thread keeps its own read handles
 * on the store (the control database, and each tenant's as it is first
 * needed), so that requests are served while bms-store writes (WAL
 * readers) and no two threads share a SQLite connection.
 *
 * The store is only read here; a route that fails to read it answers
 * 503 with a message that names neither a path nor SQL.
 */
#ifndef BMS_SERVE_H
#define BMS_SERVE_H

#include <stdint.h>

#include "backoff.h"
#include "http.h"
#include "jwt.h"

struct bms_store;

struct bms_serve {
	const char *db;		/* the store's directory */
	unsigned char secret[BMS_JWT_SECRET_MAX];	/* signs the access tokens */
	size_t secret_len;
	int64_t access_ttl_s;	/* an access token's life; 0: BMS_JWT_TTL */
	int64_t refresh_ttl_s;	/* a refresh token's; 0: 30 days */
	struct bms_backoff *by_addr;	/* failed logins per client address */
	struct bms_backoff *by_account;	/* and per tenant/user */
	const char *openapi;	/* the OpenAPI document GET /api/v1/openapi.json answers */
	size_t openapi_len;
};

/* The routes, for bms_http_opts (ctx: a struct bms_serve). */
extern const struct bms_http_route bms_serve_routes[];
extern const int bms_serve_nroutes;

/* A worker's own store handles: thread_init and thread_exit of
 * bms_http_opts. */
void *bms_serve_thread_init(void *ctx);
void bms_serve_thread_exit(void *ctx, void *thread);

/* The role of a super-admin's token: one of control.db's super-admins,
 * who manage the tenants and nothing in them, and have no tenant. */
#define BMS_SERVE_SUPERADMIN "super-admin"

/* Who an access token says its bearer is, as the store has it now. */
struct bms_serve_who {
	char user[128];		/* the user's (or super-admin's) name ("sub") */
	char tenant[64];	/* the user's tenant; "" for a super-admin */
	char role[16];		/* "viewer", "operator" or "admin", the role now;
				 * or BMS_SERVE_SUPERADMIN */
	int64_t exp;		/* s since the epoch: when the token expires */
};

/*
 * Verify an access token exactly as a request's "Authorization: Bearer"
 * header is: its signature, algorithm and expiry (lib/jwt), then that its
 * user (or super-admin) is still there and enabled, with the role the
 * user has now (not the one in the token).  thread is the worker's data from
 * bms_serve_thread_init.  Returns 0 with *who filled, or -1 (not valid:
 * nothing is said of why) with *who zeroed.
 */
int bms_serve_token(struct bms_serve *sv, void *thread, const char *token,
		    struct bms_serve_who *who);

/* The worker's handle on tenant's store (opened at first use and kept
 * until the worker ends; the worker's alone), or NULL when there is no
 * such tenant or it cannot be opened. */
struct bms_store *bms_serve_tenant(struct bms_serve *sv, void *thread, const char *tenant);

#endif

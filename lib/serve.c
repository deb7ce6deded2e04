/* SPDX-License-Identifier: MIT */
/*
 * The API routes (see serve.h).  GET /api/v1/health:
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

const struct bms_http_route bms_serve_routes[] = {
	{ "GET", "/api/v1/health", health },
};
const int bms_serve_nroutes = sizeof bms_serve_routes / sizeof bms_serve_routes[0];

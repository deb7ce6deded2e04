/* SPDX-License-Identifier: MIT */
/*
 * The store's ingest policy (see ingest.h).
 */
#include <stdio.h>

#include "err.h"
#include "ingest.h"
#include "sig.h"
#include "ts.h"

/* A busy store (nothing lost, the call may be repeated): say so, and wait
 * again.  A stop signal does not end the waiting: what was read is
 * committed first, as on every stop. */
static int busy_again(struct bms_ingest *g)
{
	char msg[640];

	if (!bms_store_busy(g->st))
		return 0;
	if (g->o.warn) {
		snprintf(msg, sizeof msg, "%s; retrying", bms_store_error(g->st));
		g->o.warn(g->o.ctx, msg);
	}
	bms_sig_poll(NULL, 0, 0);	/* let a pending stop signal in */
	return 1;
}

static int store_failed(struct bms_ingest *g, char *why, size_t whysz)
{
	return bms_err_set(why, whysz, "cannot store records from %s:%lu on: %s",
			   g->first_file, g->first_line, bms_store_error(g->st));
}

static int expire(struct bms_ingest *g, char *err, size_t errsz)
{
	while (bms_store_expire(g->st, bms_ts_now_ms()) < 0)
		if (!busy_again(g))
			return bms_err_set(err, errsz, "cannot expire old records: %s",
					   bms_store_error(g->st));
	g->next_expire = bms_ts_mono_ms() + BMS_INGEST_EXPIRE_MS;
	return 0;
}

/* Commit the open batch, then let its records go on downstream. */
static int end_batch(struct bms_ingest *g, struct bms_filter *f, char *why, size_t whysz)
{
	if (g->n) {
		while (bms_store_commit(g->st) < 0)
			if (!busy_again(g))
				return store_failed(g, why, whysz);
	}
	g->n = 0;
	g->began = -1;
	bms_filter_release(f);
	bms_filter_flush(f);
	if (bms_ts_mono_ms() >= g->next_expire)
		return expire(g, why, whysz);
	return 0;
}

/* The input has nothing more waiting, or it ended: commit, so that
 * nothing a live pipeline delivered waits for the next record. */
static int drained(void *ctx, struct bms_filter *f, char *why, size_t whysz)
{
	return end_batch(ctx, f, why, whysz);
}

/* Store one line in the open batch. */
static int line(void *ctx, struct bms_filter *f, const char *s, size_t len,
		char *why, size_t whysz)
{
	struct bms_ingest *g = ctx;
	int rc;

	if (g->began < 0)
		g->began = bms_ts_mono_ms();
	while ((rc = bms_store_put(g->st, s, len, why, whysz)) == BMS_STORE_EFAIL)
		if (!busy_again(g))
			break;
	if (rc == BMS_STORE_EREJECT)
		return BMS_FILTER_REJECT;
	if (rc != 0 && g->n == 0) {
		g->first_file = bms_filter_file(f);
		g->first_line = bms_filter_lineno(f);
	}
	if (rc < 0) {
		store_failed(g, why, whysz);
		return BMS_FILTER_FAIL;
	}
	g->n += rc > 0;
	if (g->o.passthrough)
		bms_filter_hold(f, s, len);
	if (g->n >= g->o.batch_max || bms_filter_held(f) >= BMS_INGEST_HELD_MAX ||
	    bms_ts_mono_ms() - g->began >= g->o.batch_ms)
		if (end_batch(g, f, why, whysz) < 0)
			return BMS_FILTER_FAIL;
	return BMS_FILTER_DONE;
}

int bms_ingest_begin(struct bms_ingest *g, struct bms_store *st,
		     const struct bms_ingest_opts *o, char *err, size_t errsz)
{
	g->st = st;
	g->o = *o;
	g->n = 0;
	g->began = -1;
	g->first_file = "";
	g->first_line = 0;
	return expire(g, err, errsz);
}

void bms_ingest_stage(struct bms_ingest *g, struct bms_filter_stage *stage)
{
	stage->line = line;
	stage->drained = drained;
	stage->ctx = g;
}

int bms_ingest_note(const struct bms_ingest *g, char *note, size_t notesz)
{
	struct bms_store_stats stats;
	const char *t = bms_store_tenant(g->st);

	bms_store_stats(g->st, &stats);
	if (!stats.too_old)
		return 0;
	snprintf(note, notesz, "%lu records older than the raw retention of tenant '%s' "
		 "were not stored; keep them with: bms-store --db %s tenants set %s "
		 "--raw-days 0", stats.too_old, t, g->o.dir, t);
	return 1;
}

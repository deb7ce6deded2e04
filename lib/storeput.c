/* SPDX-License-Identifier: MIT */
/*
 * Ingest and history (see store.h): bms_store_put and bms_store_commit,
 * the per-minute and per-hour tiers built on the way, and retention and
 * compaction.  Opening, tenants, backup and check are in store.c; what
 * the store's files share is in store-int.h.
 *
 * Invariants.
 *  - A record and the tier rows it feeds commit in the same transaction:
 *    the buckets a batch touched (lib/agg) are merged into their rows of
 *    the tiers table (bms_agg_merge: counts and sums add, extremes are
 *    kept and, per metric, the value with the latest time) before its
 *    COMMIT, so tiers stay exact across batches, restarts and several
 *    writers (the batch holds the write lock from the read to the
 *    write).  A rolled-back batch takes its contributions with it: the
 *    in-memory buckets and the battery cache are cleared.
 *  - Memory grows with the batteries seen (at most STORE_CACHE cached;
 *    the least recently used is evicted after its buckets are written),
 *    never with the input: every statement of the ingest is prepared once
 *    per handle and every buffer is reused.
 *  - The batch is one IMMEDIATE transaction, begun by the first record
 *    that is stored; a battery is looked up or registered inside it, so
 *    two writers never register the same one twice.
 *  - A record is counted in the tiers only when its row is new: readings
 *    are unique per (battery, ts), status, alert and aggregate records
 *    per (battery, ts, doc), and a record older than the raw retention
 *    (whose row expire may have deleted already) is not stored at all.
 *    The cutoff never falls behind what expire on this handle deleted.
 *
 * Workload: tens of thousands of readings a second.  A reading costs one
 * parse and one pack (lib/readpack), one comparison with the too-old
 * cutoff, one bind and step of a cached INSERT, and, once a minute per
 * battery, one read and one UPSERT of a tier row; a batch, one read of
 * its retention.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "record.h"
#include "store-int.h"
#include "ts.h"

_Static_assert(BMS_RECORD_ID_MAX == BMS_STORE_ID_MAX &&
	       BMS_RECORD_TENANT_MAX == BMS_STORE_NAME_MAX,
	       "the store keeps what an envelope may carry");

/* ==== The battery cache ==== */

static unsigned hash_id(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (STORE_HASH - 1);
}

static void cache_clear(struct bms_store *st)
{
	st->nbats = 0;
	st->last = -1;
	for (int i = 0; i < STORE_HASH; i++)
		st->hash[i] = -1;
}

static int cache_find(const struct bms_store *st, const char *bms_id)
{
	for (int i = st->hash[hash_id(bms_id)]; i >= 0; i = st->bats[i].next)
		if (strcmp(st->bats[i].bms_id, bms_id) == 0)
			return i;
	return -1;
}

static void cache_unlink(struct bms_store *st, int i)
{
	int *p = &st->hash[hash_id(st->bats[i].bms_id)];

	while (*p >= 0 && *p != i)
		p = &st->bats[*p].next;
	if (*p == i)
		*p = st->bats[i].next;
	st->bats[i].next = -1;
}

void bms_store_cache_drop(struct bms_store *st, const char *bms_id)
{
	int i;

	if (!st->bats || (i = cache_find(st, bms_id)) < 0)
		return;
	cache_unlink(st, i);
	memset(&st->bats[i], 0, sizeof st->bats[i]);	/* used 0: evicted first */
	st->bats[i].next = -1;
	if (st->last == i)
		st->last = -1;
}

/* ==== Tiers ==== */

static const int64_t period_ms[2] = { STORE_MINUTE_MS, STORE_HOUR_MS };

static const char *const tier_col[STORE_TIER_MCOLS] = {
	"n", "min", "max", "sum", "last", "last_ts"
};

void bms_store_tier_cols(struct bms_buf *b, const char *prefix)
{
	bms_buf_printf(b, ", %sn, %slast_ts", prefix, prefix);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++)
		for (int c = 0; c < STORE_TIER_MCOLS; c++)
			bms_buf_printf(b, ", %s%s_%s", prefix, bms_agg_metric_name[m], tier_col[c]);
}

void bms_store_tier_row(sqlite3_stmt *s, int col, struct bms_agg_bucket *b)
{
	b->n = (long)sqlite3_column_int64(s, col);
	b->last_ts = sqlite3_column_int64(s, col + 1);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		struct bms_agg_stat *x = &b->m[m];
		int k = col + 2 + STORE_TIER_MCOLS * m;

		x->n = (long)sqlite3_column_int64(s, k);
		if (x->n <= 0) {
			memset(x, 0, sizeof *x);
			continue;
		}
		x->min = sqlite3_column_double(s, k + 1);
		x->max = sqlite3_column_double(s, k + 2);
		x->sum = sqlite3_column_double(s, k + 3);
		x->last = sqlite3_column_double(s, k + 4);
		/* A last value without its time is older than any other. */
		x->last_ts = sqlite3_column_type(s, k + 5) == SQLITE_NULL ? INT64_MIN :
			sqlite3_column_int64(s, k + 5);
	}
}

/* Prepare the SQL built in b, and free b. */
static sqlite3_stmt *prep_built(struct bms_store *st, struct bms_buf *b)
{
	sqlite3_stmt *s = NULL;

	if (b->oom)
		bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	else
		s = bms_store_prep(st, b->p);
	bms_buf_free(b);
	return s;
}

/*
 * The statement writing a bucket into the tiers table: it replaces a row
 * that counts no more readings than the bucket.  The ingest writes the
 * bucket merged with its row (which counts more), compact a bucket built
 * again from the readings.  Parameters: 1 battery, 2 period (s), 3 start,
 * then the STORE_TIER_NCOLS columns of the row.
 */
static sqlite3_stmt *tier_stmt(struct bms_store *st)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_buf_puts(&b, "INSERT INTO tiers (battery, period, start");
	bms_store_tier_cols(&b, "");
	bms_buf_puts(&b, ") VALUES (?1, ?2, ?3");
	for (int i = 4; i < 4 + STORE_TIER_NCOLS; i++)
		bms_buf_printf(&b, ", ?%d", i);
	bms_buf_puts(&b, ") ON CONFLICT (battery, period, start) DO UPDATE SET ");
	bms_buf_puts(&b, "n = excluded.n, last_ts = excluded.last_ts");
	for (int m = 0; m < BMS_AGG_NMETRICS; m++)
		for (int c = 0; c < STORE_TIER_MCOLS; c++)
			bms_buf_printf(&b, ", %s_%s = excluded.%s_%s", bms_agg_metric_name[m],
				       tier_col[c], bms_agg_metric_name[m], tier_col[c]);
	bms_buf_puts(&b, " WHERE excluded.n >= tiers.n");
	return prep_built(st, &b);
}

/* The statement reading the row of a bucket: 1 battery, 2 period (s),
 * 3 start. */
static sqlite3_stmt *tier_get_stmt(struct bms_store *st)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_buf_puts(&b, "SELECT start");
	bms_store_tier_cols(&b, "");
	bms_buf_puts(&b, " FROM tiers WHERE battery = ?1 AND period = ?2 AND start = ?3");
	return prep_built(st, &b);
}

/*
 * Merge bucket a into the row the ingest stored for it before, if any
 * (a batch's bucket is one part of it): *out becomes a or the merged
 * bucket.  0 or EFAIL.
 */
static int tier_merge_row(struct bms_store *st, int64_t battery, const struct bms_agg_bucket *a,
			  struct bms_agg_bucket *out)
{
	sqlite3_stmt *g = st->tier_get;
	int rc;

	sqlite3_bind_int64(g, 1, battery);
	sqlite3_bind_int64(g, 2, a->period_ms / 1000);
	sqlite3_bind_int64(g, 3, a->start);
	rc = sqlite3_step(g);
	if (rc == SQLITE_ROW) {
		bms_agg_init(out, a->period_ms);
		out->start = a->start;
		bms_store_tier_row(g, 1, out);
		if (out->n > 0)
			bms_agg_merge(out, a);
		else
			*out = *a;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		*out = *a;
		rc = 0;
	} else {
		rc = bms_store_tdberr(st);
	}
	sqlite3_reset(g);
	return rc;
}

/*
 * Write bucket a (if it holds readings) with statement s and empty it.
 * The ingest's statement (st->tier_merge) writes it merged with the row
 * already there; any other (compact's) writes it as it is.
 */
static int acc_flush(struct bms_store *st, sqlite3_stmt *s, int64_t battery, int p,
		     struct bms_agg_bucket *a)
{
	struct bms_agg_bucket merged;
	const struct bms_agg_bucket *w = a;
	int rc;

	if (!a->n)
		return 0;
	if (s == st->tier_merge) {
		if ((rc = tier_merge_row(st, battery, a, &merged)) < 0)
			return rc;
		w = &merged;
	}
	sqlite3_bind_int64(s, 1, battery);
	sqlite3_bind_int64(s, 2, period_ms[p] / 1000);
	sqlite3_bind_int64(s, 3, w->start);
	sqlite3_bind_int64(s, 4, w->n);
	sqlite3_bind_int64(s, 5, w->last_ts);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		const struct bms_agg_stat *x = &w->m[m];
		int k = 6 + STORE_TIER_MCOLS * m;

		sqlite3_bind_int64(s, k, x->n);
		if (x->n) {
			sqlite3_bind_double(s, k + 1, x->min);
			sqlite3_bind_double(s, k + 2, x->max);
			sqlite3_bind_double(s, k + 3, x->sum);
			sqlite3_bind_double(s, k + 4, x->last);
			if (x->last_ts == INT64_MIN)
				sqlite3_bind_null(s, k + 5);
			else
				sqlite3_bind_int64(s, k + 5, x->last_ts);
		} else {
			for (int j = 1; j < STORE_TIER_MCOLS; j++)
				sqlite3_bind_null(s, k + j);
		}
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		rc = bms_store_tdberr(st);
	else
		rc = 0;
	sqlite3_reset(s);
	bms_agg_init(a, period_ms[p]);
	return rc;
}

/* Add reading r at ts to the minute and hour buckets acc[], writing a
 * bucket out with s first when the reading falls into another one. */
static int acc_add(struct bms_store *st, sqlite3_stmt *s, int64_t battery,
		   struct bms_agg_bucket acc[2], int64_t ts, const struct bms_reading *r)
{
	struct bms_agg_point pt;
	int rc;

	bms_agg_point(r, &pt);
	for (int p = 0; p < 2; p++) {
		struct bms_agg_bucket *a = &acc[p];

		if (bms_agg_outside(a, ts) && (rc = acc_flush(st, s, battery, p, a)) < 0)
			return rc;
		if (!a->n)
			bms_agg_init(a, period_ms[p]);
		bms_agg_add_point(a, ts, &pt);
	}
	return 0;
}

/* ==== Ingest ==== */

static const char *const ingest_sql[] = {
	"INSERT OR IGNORE INTO readings (battery, ts, body) VALUES (?1, ?2, ?3)",
	"INSERT OR IGNORE INTO status (battery, ts, state, reason, quality, doc)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	"INSERT OR IGNORE INTO alerts (battery, ts, severity, code, state, message, doc,"
	" alert_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	"INSERT OR IGNORE INTO aggregates (battery, ts, doc) VALUES (?1, ?2, ?3)",
	"INSERT OR IGNORE INTO health (battery, ts, doc) VALUES (?1, ?2, ?3)",
	"INSERT OR IGNORE INTO anomalies (battery, ts, code, state, doc)"
	" VALUES (?1, ?2, ?3, ?4, ?5)",
	"SELECT id FROM batteries WHERE bms_id = ?1",
	"INSERT INTO batteries (bms_id, created, auto_added, uuid) VALUES (?1, ?2, 1, ?3)",
};

static sqlite3_stmt **ingest_stmt(struct bms_store *st, int i)
{
	sqlite3_stmt **all[] = {
		&st->ins_reading, &st->ins_status, &st->ins_alert, &st->ins_agg,
		&st->ins_health, &st->ins_anomaly,
		&st->bat_find, &st->bat_add, &st->tier_get, &st->tier_merge,
	};

	return all[i];
}

#define N_INGEST_STMT 10	/* the last two, the tiers', are built */

static int prepare_ingest(struct bms_store *st)
{
	if (st->tier_merge)
		return 0;
	for (int i = 0; i < N_INGEST_STMT - 2; i++) {
		sqlite3_stmt **s = ingest_stmt(st, i);

		if (!*s && !(*s = bms_store_prep(st, ingest_sql[i])))
			return BMS_STORE_EFAIL;
	}
	if (!st->tier_get && !(st->tier_get = tier_get_stmt(st)))
		return BMS_STORE_EFAIL;
	st->tier_merge = tier_stmt(st);
	return st->tier_merge ? 0 : BMS_STORE_EFAIL;
}

static void reset_ingest(struct bms_store *st)
{
	for (int i = 0; i < N_INGEST_STMT; i++)
		if (*ingest_stmt(st, i))
			sqlite3_reset(*ingest_stmt(st, i));
}

/* End the open batch without keeping it. */
static void batch_abort(struct bms_store *st)
{
	if (st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	reset_ingest(st);
	cache_clear(st);	/* batteries registered in the batch are gone */
	st->in_batch = 0;
	st->cut_ok = 0;
	st->stats.pending = 0;
	st->pending_dups = st->pending_added = 0;
}

/* A database failure in the batch: keep the reason, roll back. */
static int batch_fail(struct bms_store *st)
{
	bms_store_tdberr(st);
	batch_abort(st);
	return BMS_STORE_EFAIL;
}

static int batch_begin(struct bms_store *st)
{
	if (st->in_batch)
		return 0;
	if (prepare_ingest(st) < 0)
		return BMS_STORE_EFAIL;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return bms_store_tdberr(st);
	st->in_batch = 1;
	return 0;
}

/* Write every open bucket of cache entry i. */
static int flush_bat(struct bms_store *st, int i)
{
	struct store_bat *b = &st->bats[i];

	for (int p = 0; p < 2; p++) {
		int rc = acc_flush(st, st->tier_merge, b->id, p, &b->acc[p]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The cache entry of battery bms_id, looked up or registered (inside the
 * open batch) on a miss; the least recently used entry makes room after
 * its buckets are written.  Returns the index, or EFAIL with the batch
 * rolled back.
 */
static int battery(struct bms_store *st, const char *bms_id)
{
	struct store_bat *b;
	char now[BMS_TS_LEN + 1], uuid[BMS_STORE_UUID_LEN + 1];
	int64_t id;
	int i, rc;

	if (st->last >= 0 && strcmp(st->bats[st->last].bms_id, bms_id) == 0) {
		i = st->last;
		goto hit;
	}
	i = cache_find(st, bms_id);
	if (i >= 0)
		goto hit;

	sqlite3_bind_text(st->bat_find, 1, bms_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->bat_find);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(st->bat_find, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return batch_fail(st);
	sqlite3_reset(st->bat_find);
	if (rc == SQLITE_DONE) {
		if (bms_store_uuid(st, uuid) < 0) {
			batch_abort(st);
			return BMS_STORE_EFAIL;
		}
		bms_ts_now(now);
		sqlite3_bind_text(st->bat_add, 1, bms_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st->bat_add, 2, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(st->bat_add, 3, uuid, -1, SQLITE_STATIC);
		if (sqlite3_step(st->bat_add) != SQLITE_DONE)
			return batch_fail(st);
		sqlite3_reset(st->bat_add);
		id = sqlite3_last_insert_rowid(st->db);
		st->pending_added++;
	}

	if (st->nbats < STORE_CACHE) {
		i = st->nbats++;
	} else {
		i = 0;
		for (int j = 1; j < STORE_CACHE; j++)
			if (st->bats[j].used < st->bats[i].used)
				i = j;
		if (flush_bat(st, i) < 0) {
			batch_abort(st);
			return BMS_STORE_EFAIL;
		}
		if (st->bats[i].bms_id[0])
			cache_unlink(st, i);
	}
	b = &st->bats[i];
	memset(b, 0, sizeof *b);
	snprintf(b->bms_id, sizeof b->bms_id, "%s", bms_id);
	b->id = id;
	b->next = st->hash[hash_id(bms_id)];
	st->hash[hash_id(bms_id)] = i;
hit:
	st->bats[i].used = ++st->clock;
	st->last = i;
	return i;
}

/*
 * Step insert s, whose parameter 1 is the battery, for cache entry *bi.
 * A battery that another process removed since it was cached fails the
 * foreign key: it is looked up (or registered) again, once.  0, or
 * EFAIL with the batch rolled back.
 */
static int step_insert(struct bms_store *st, sqlite3_stmt *s, int *bi, const char *bms_id)
{
	for (int tries = 0;; tries++) {
		int rc;

		sqlite3_bind_int64(s, 1, st->bats[*bi].id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE) {
			sqlite3_reset(s);
			return 0;
		}
		if (rc != SQLITE_CONSTRAINT_FOREIGNKEY || tries > 0)
			return batch_fail(st);
		sqlite3_reset(s);
		bms_store_cache_drop(st, bms_id);
		if ((*bi = battery(st, bms_id)) < 0)
			return BMS_STORE_EFAIL;
	}
}

static int other_tenant(struct bms_store *st, const char *t, char *why, size_t whysz)
{
	char e[96];

	bms_err_set(why, whysz, "record of tenant '%s', this store writes '%s'",
		    bms_store_esc(e, sizeof e, t), st->tenant);
	return BMS_STORE_EREJECT;
}

/*
 * Is a record at ts too old to store (see store.h)?  1 (counted), 0, or
 * a BMS_STORE_E* code.  Inside a batch the cutoff stays as it was taken,
 * so the check is one comparison.
 */
static int too_old(struct bms_store *st, int64_t ts)
{
	if (!st->in_batch &&
	    (!st->cut_ok || bms_ts_mono_ms() - st->cut_at >= STORE_CUT_MS)) {
		struct bms_retention k;
		int rc = bms_store_keep(st, &k);

		if (rc < 0)
			return rc;
		st->cut_ms = bms_store_cutoff(bms_ts_now_ms(), k.raw_days);
		st->cut_at = bms_ts_mono_ms();
		st->cut_ok = 1;
	}
	if (ts >= st->cut_ms)
		return 0;
	st->stats.too_old++;
	return 1;
}

static int put_reading(struct bms_store *st, const char *line, size_t len,
		       char *why, size_t whysz)
{
	struct bms_readpack *rp = st->rp;
	int bi, rc;

	if (bms_readpack_parse(line, len, rp, why, whysz) < 0)
		return BMS_STORE_EREJECT;
	if (rp->has_tenant && strcmp(rp->tenant, st->tenant) != 0)
		return other_tenant(st, rp->tenant, why, whysz);
	if ((rc = too_old(st, rp->ts_ms)) != 0)
		return rc < 0 ? rc : 0;
	bms_buf_reset(&st->blob);
	bms_readpack_pack(rp, line, len, &st->blob);
	if (st->blob.oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	if ((rc = batch_begin(st)) < 0)
		return rc;
	if ((bi = battery(st, rp->bms_id)) < 0)
		return BMS_STORE_EFAIL;
	sqlite3_bind_int64(st->ins_reading, 2, rp->ts_ms);
	sqlite3_bind_blob(st->ins_reading, 3, st->blob.p, (int)st->blob.len, SQLITE_STATIC);
	if ((rc = step_insert(st, st->ins_reading, &bi, rp->bms_id)) < 0)
		return rc;
	st->stats.pending++;
	if (sqlite3_changes(st->db) == 0) {
		st->pending_dups++;
		return 1;
	}
	if (acc_add(st, st->tier_merge, st->bats[bi].id, st->bats[bi].acc, rp->ts_ms,
		    &rp->r) < 0) {
		batch_abort(st);	/* the reason is set */
		return BMS_STORE_EFAIL;
	}
	return 1;
}

/* Fields of a status, alert or aggregate record the store looks at. */
enum {
	D_TYPE = BMS_RECORD_TYPE, D_STATE = BMS_RECORD_NKEYS, D_REASON, D_QUALITY,
	D_SEVERITY, D_CODE, D_RULE, D_MESSAGE, D_ALERT_ID, D_COUNT
};

/*
 * Decode string field f into st->sbuf (after what is there); returns its
 * offset there, -1 if f is absent or not a string, -2 if it does not
 * fit in max bytes, -3 if it holds a NUL.  Offsets stay valid while the
 * buffer grows; pointers are taken once every field is in.
 */
static long sbuf_str(struct bms_store *st, const struct bms_json_field *f, size_t max)
{
	size_t off = st->sbuf.len;
	long n;

	if (!f->val || f->val[0] != '"')
		return -1;
	bms_buf_add(&st->sbuf, f->val, f->len);	/* room: decoding only shrinks */
	if (st->sbuf.oom)
		return -2;
	n = bms_json_str_get(f->val, f->len, st->sbuf.p + off, f->len);
	if (n < 0 || (size_t)n > max) {
		st->sbuf.len = off;
		return -2;
	}
	st->sbuf.len = off + (size_t)n + 1;	/* keep the NUL */
	if (memchr(st->sbuf.p + off, 0, (size_t)n)) {
		st->sbuf.len = off;
		return -3;
	}
	return (long)off;
}

/* Bind parameter k of s to string field f, NULL if absent or not a string. */
static void bind_str(struct bms_store *st, sqlite3_stmt *s, int k, long off)
{
	if (off >= 0)
		sqlite3_bind_text(s, k, st->sbuf.p + off, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, k);
}

static void bind_num(sqlite3_stmt *s, int k, const struct bms_json_field *f)
{
	char num[64];
	char *end;
	double v;

	if (!f->val || f->len >= sizeof num || !(f->val[0] == '-' ||
						  (f->val[0] >= '0' && f->val[0] <= '9'))) {
		sqlite3_bind_null(s, k);
		return;
	}
	memcpy(num, f->val, f->len);
	num[f->len] = '\0';
	v = strtod(num, &end);
	if (*end)
		sqlite3_bind_null(s, k);
	else
		sqlite3_bind_double(s, k, v);
}

enum { K_STATUS = 1, K_ALERT, K_AGGREGATE, K_HEALTH, K_ANOMALY };

static int put_doc(struct bms_store *st, int kind, const char *line, size_t len,
		   struct bms_json_field *f, char *why, size_t whysz)
{
	struct bms_record env;
	long off[D_COUNT];
	const char *bms_id;
	sqlite3_stmt *s;
	int64_t ts;
	int bi, rc;

	bms_buf_reset(&st->sbuf);
	if (bms_record_get(f, &env, why, whysz) < 0)
		return BMS_STORE_EREJECT;
	if (env.has_tenant && strcmp(env.tenant, st->tenant) != 0)
		return other_tenant(st, env.tenant, why, whysz);
	ts = env.ts_ms;
	if ((rc = too_old(st, ts)) != 0)
		return rc < 0 ? rc : 0;
	for (int k = D_STATE; k < D_COUNT; k++)
		off[k] = k == D_QUALITY ? -1 : sbuf_str(st, &f[k], (size_t)-1);
	if (st->sbuf.oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");

	if ((rc = batch_begin(st)) < 0)
		return rc;
	bms_id = env.bms_id;
	if ((bi = battery(st, bms_id)) < 0)
		return BMS_STORE_EFAIL;
	switch (kind) {
	case K_STATUS:
		s = st->ins_status;
		bind_str(st, s, 3, off[D_STATE]);
		bind_str(st, s, 4, off[D_REASON]);
		bind_num(s, 5, &f[D_QUALITY]);
		sqlite3_bind_text(s, 6, line, (int)len, SQLITE_STATIC);
		break;
	case K_ALERT:
		s = st->ins_alert;
		bind_str(st, s, 3, off[D_SEVERITY]);
		bind_str(st, s, 4, off[D_CODE] >= 0 ? off[D_CODE] : off[D_RULE]);
		bind_str(st, s, 5, off[D_STATE]);
		bind_str(st, s, 6, off[D_MESSAGE]);
		sqlite3_bind_text(s, 7, line, (int)len, SQLITE_STATIC);
		bind_str(st, s, 8, off[D_ALERT_ID]);
		break;
	case K_ANOMALY:
		s = st->ins_anomaly;
		bind_str(st, s, 3, off[D_CODE]);
		bind_str(st, s, 4, off[D_STATE]);
		sqlite3_bind_text(s, 5, line, (int)len, SQLITE_STATIC);
		break;
	default:
		s = kind == K_HEALTH ? st->ins_health : st->ins_agg;
		sqlite3_bind_text(s, 3, line, (int)len, SQLITE_STATIC);
		break;
	}
	sqlite3_bind_int64(s, 2, ts);
	if ((rc = step_insert(st, s, &bi, bms_id)) < 0)
		return rc;
	st->stats.pending++;
	if (sqlite3_changes(st->db) == 0)
		st->pending_dups++;
	return 1;
}

int bms_store_put(struct bms_store *st, const char *line, size_t len,
		  char *why, size_t whysz)
{
	static const char fast[] = "{\"type\":\"reading\",";
	struct bms_json_field f[D_COUNT] = {
		[D_STATE] = { .key = "state" }, [D_REASON] = { .key = "reason" },
		[D_QUALITY] = { .key = "quality" }, [D_SEVERITY] = { .key = "severity" },
		[D_CODE] = { .key = "code" }, [D_RULE] = { .key = "rule" },
		[D_MESSAGE] = { .key = "message" }, [D_ALERT_ID] = { .key = "alert_id" },
	};
	int kind;

	if (why && whysz)
		why[0] = '\0';
	if (bms_store_need_tenant(st) < 0)
		return BMS_STORE_ECONFIG;
	if (len > INT_MAX) {
		bms_err_set(why, whysz, "line too long");
		return BMS_STORE_EREJECT;
	}
	/* What bms-decode writes goes straight to the reading parser. */
	if (len >= sizeof fast - 1 && memcmp(line, fast, sizeof fast - 1) == 0)
		return put_reading(st, line, len, why, whysz);
	bms_record_keys(f);
	if (bms_record_scan_typed(line, len, f, D_COUNT, why, whysz) < 0)
		return BMS_STORE_EREJECT;
	if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "reading"))
		return put_reading(st, line, len, why, whysz);
	if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "status"))
		kind = K_STATUS;
	else if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "alert"))
		kind = K_ALERT;
	else if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "aggregate"))
		kind = K_AGGREGATE;
	else if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "health"))
		kind = K_HEALTH;
	else if (bms_json_str_eq(f[D_TYPE].val, f[D_TYPE].len, "anomaly"))
		kind = K_ANOMALY;
	else
		return 0;
	return put_doc(st, kind, line, len, f, why, whysz);
}

int bms_store_commit(struct bms_store *st)
{
	int64_t t0;
	int rc;

	if (!st->db || !st->in_batch)
		return 0;
	for (int i = 0; i < st->nbats; i++)
		if (st->bats[i].bms_id[0] && flush_bat(st, i) < 0) {
			batch_abort(st);
			return BMS_STORE_EFAIL;
		}
	/* In WAL mode COMMIT is rarely busy; when it is, wait as long as the
	 * busy timeout would.  The batch stays open so that the caller can
	 * commit again (or close, which rolls it back). */
	t0 = bms_ts_mono_ms();
	while ((rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		if ((rc & 0xff) != SQLITE_BUSY || sqlite3_get_autocommit(st->db))
			return batch_fail(st);
		if (bms_ts_mono_ms() - t0 >= st->busy_ms)
			return bms_store_tdberr(st);
		sqlite3_sleep(10);
	}
	st->in_batch = 0;
	st->cut_ok = 0;		/* the next batch takes it afresh */
	st->stats.stored += st->stats.pending - st->pending_dups;
	st->stats.duplicates += st->pending_dups;
	st->stats.batteries_added += st->pending_added;
	st->stats.pending = 0;
	st->pending_dups = st->pending_added = 0;
	return 0;
}

void bms_store_stats(const struct bms_store *st, struct bms_store_stats *s)
{
	*s = st->stats;
}

void bms_store_ingest_close(struct bms_store *st)
{
	if (st->in_batch)
		batch_abort(st);
	for (int i = 0; i < N_INGEST_STMT; i++) {
		bms_store_finish(st, *ingest_stmt(st, i));
		*ingest_stmt(st, i) = NULL;
	}
	bms_buf_free(&st->blob);
	free(st->bats);
	st->bats = NULL;
}

/* ==== Transactions outside ingest ==== */

int bms_store_tx_begin(struct bms_store *st)
{
	const char *sql = st->in_batch ? "SAVEPOINT admin" : "BEGIN IMMEDIATE";

	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return bms_store_tdberr(st);
	return 0;
}

int bms_store_tx_end(struct bms_store *st, int ok)
{
	if (ok) {
		const char *sql = st->in_batch ? "RELEASE admin" : "COMMIT";

		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK)
			return 0;
		bms_store_tdberr(st);
	}
	if (st->in_batch) {
		sqlite3_exec(st->db, "ROLLBACK TO admin; RELEASE admin", NULL, NULL, NULL);
		if (sqlite3_get_autocommit(st->db))	/* SQLite ended the batch */
			batch_abort(st);
	} else if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return BMS_STORE_EFAIL;
}

/* ==== History ==== */

int64_t bms_store_cutoff(int64_t now_ms, long days)
{
	/* Beyond a million years nothing is that old (and nothing overflows). */
	if (days <= 0 || days > 365L * 1000000)
		return INT64_MIN;
	return now_ms - days * STORE_DAY_MS;
}

/* Run s (parameters already bound but ?1) with ?1 = v to the end. */
static int run_with(struct bms_store *st, sqlite3_stmt *s, int64_t v)
{
	int rc;

	sqlite3_bind_int64(s, 1, v);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
}

int bms_store_expire(struct bms_store *st, int64_t now_ms)
{
	static const char *const raw_sql[] = {
		"DELETE FROM readings WHERE battery IN (SELECT id FROM batteries) AND ts < ?1",
		"DELETE FROM status WHERE ts < ?1",
		"DELETE FROM alerts WHERE ts < ?1",
		"DELETE FROM aggregates WHERE ts < ?1",
		"DELETE FROM health WHERE ts < ?1",
		"DELETE FROM anomalies WHERE ts < ?1",
	};
	struct bms_retention k;
	sqlite3_stmt *s = NULL;
	int64_t cut;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = bms_store_keep(st, &k)) < 0)
		return rc;
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	cut = bms_store_cutoff(now_ms, k.raw_days);
	for (size_t i = 0; cut != INT64_MIN && i < sizeof raw_sql / sizeof raw_sql[0]; i++) {
		if (!(s = bms_store_prep(st, raw_sql[i])) || (rc = run_with(st, s, cut)) < 0)
			goto out;
		bms_store_finish(st, s);
		s = NULL;
	}
	for (int p = 0; p < 2; p++) {
		int64_t tcut = bms_store_cutoff(now_ms, p ? k.hour_days : k.minute_days);

		if (tcut == INT64_MIN)
			continue;
		if (!(s = bms_store_prep(st, "DELETE FROM tiers WHERE battery IN"
					 " (SELECT id FROM batteries) AND period = ?2"
					 " AND start < ?1")))
			goto out;
		sqlite3_bind_int64(s, 2, period_ms[p] / 1000);
		if ((rc = run_with(st, s, tcut)) < 0)
			goto out;
		bms_store_finish(st, s);
		s = NULL;
	}
	if (!(s = bms_store_prep(st, "DELETE FROM tokens WHERE expires <= ?1")) ||
	    (rc = run_with(st, s, now_ms)) < 0)
		goto out;
	bms_store_finish(st, s);
	if ((rc = bms_store_tx_end(st, 1)) < 0)
		return rc;
	/* Records this deleted are too old for the batch going on, too. */
	if (st->cut_ok && cut > st->cut_ms)
		st->cut_ms = cut;
	return 0;
out:
	bms_store_finish(st, s);
	bms_store_tx_end(st, 0);
	return BMS_STORE_EFAIL;
}

/*
 * Rebuild the tiers of battery id from its readings, in one transaction.
 * Buckets after the first are deleted and computed again; the first one
 * may have lost readings to retention, so its row is only replaced when
 * the readings count at least as many as it does.
 */
static int rebuild(struct bms_store *st, sqlite3_stmt *replace, int64_t id)
{
	struct bms_agg_bucket acc[2];
	sqlite3_stmt *range = NULL, *del = NULL, *scan = NULL;
	int64_t first, last;
	int rc;

	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	rc = BMS_STORE_EFAIL;
	range = bms_store_prep(st, "SELECT min(ts), max(ts) FROM readings WHERE battery = ?1");
	del = bms_store_prep(st, "DELETE FROM tiers WHERE battery = ?1 AND period = ?2"
			     " AND start > ?3 AND start <= ?4");
	scan = bms_store_prep(st, "SELECT ts, body FROM readings WHERE battery = ?1 ORDER BY ts");
	if (!range || !del || !scan)
		goto out;
	sqlite3_bind_int64(range, 1, id);
	if (sqlite3_step(range) != SQLITE_ROW) {
		bms_store_tdberr(st);
		goto out;
	}
	if (sqlite3_column_type(range, 0) == SQLITE_NULL) {
		rc = 0;
		goto out;
	}
	first = sqlite3_column_int64(range, 0);
	last = sqlite3_column_int64(range, 1);
	for (int p = 0; p < 2; p++) {
		sqlite3_bind_int64(del, 1, id);
		sqlite3_bind_int64(del, 2, period_ms[p] / 1000);
		sqlite3_bind_int64(del, 3, bms_agg_align(first, period_ms[p]));
		sqlite3_bind_int64(del, 4, bms_agg_align(last, period_ms[p]));
		if (sqlite3_step(del) != SQLITE_DONE) {
			bms_store_tdberr(st);
			goto out;
		}
		sqlite3_reset(del);
	}
	for (int p = 0; p < 2; p++)
		bms_agg_init(&acc[p], period_ms[p]);
	sqlite3_bind_int64(scan, 1, id);
	while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(scan, 0);
		const void *blob = sqlite3_column_blob(scan, 1);
		int n = sqlite3_column_bytes(scan, 1);

		if (bms_readpack_unpack(blob, (size_t)n, st->rp) < 0) {
			rc = bms_store_fail(st, BMS_STORE_EFAIL,
					    "damaged reading of battery %lld at %lld ms ('%s')",
					    (long long)id, (long long)ts, st->db_path);
			goto out;
		}
		if ((rc = acc_add(st, replace, id, acc, ts, &st->rp->r)) < 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = bms_store_tdberr(st);
		goto out;
	}
	rc = 0;
	for (int p = 0; p < 2 && rc == 0; p++)
		rc = acc_flush(st, replace, id, p, &acc[p]);
out:
	bms_store_finish(st, range);
	bms_store_finish(st, del);
	bms_store_finish(st, scan);
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	return bms_store_tx_end(st, 1);
}

int bms_store_compact(struct bms_store *st, int64_t now_ms)
{
	sqlite3_stmt *next = NULL, *replace = NULL, *ck = NULL;
	int64_t id = INT64_MIN;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = bms_store_commit(st)) < 0)
		return rc;
	rc = BMS_STORE_EFAIL;
	next = bms_store_prep(st, "SELECT id FROM batteries WHERE id > ?1 ORDER BY id LIMIT 1");
	replace = tier_stmt(st);
	if (!next || !replace)
		goto out;
	for (;;) {
		sqlite3_bind_int64(next, 1, id);
		rc = sqlite3_step(next);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rc = bms_store_tdberr(st);
			goto out;
		}
		id = sqlite3_column_int64(next, 0);
		sqlite3_reset(next);
		if ((rc = rebuild(st, replace, id)) < 0)
			goto out;
	}
	sqlite3_reset(next);
	if ((rc = bms_store_expire(st, now_ms)) < 0)
		goto out;
	/* Busy readers may keep the WAL from being cut back; that is not a
	 * failure, the next checkpoint does it. */
	ck = bms_store_prep(st, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (!ck || (rc = sqlite3_step(ck)) != SQLITE_ROW) {
		rc = ck ? bms_store_tdberr(st) : BMS_STORE_EFAIL;
		goto out;
	}
	rc = 0;
out:
	bms_store_finish(st, next);
	bms_store_finish(st, replace);
	bms_store_finish(st, ck);
	return rc;
}

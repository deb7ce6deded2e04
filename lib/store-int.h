/* SPDX-License-Identifier: MIT */
/*
 * Inside the store: the handle and the helpers that the store's four
 * files share: lib/store.c (schema, opening, tenants, super-admins,
 * backup, check), lib/storeput.c (ingest, tiers, retention, compaction),
 * lib/storeq.c (queries and CSV) and lib/storereg.c (batteries, alerts,
 * users, tokens, audit, password hashes).  Only they include this
 * header; everything else uses store.h.  The helpers keep the module's
 * bms_store_ prefix but are not part of the contract.  A handle is used
 * by one thread at a time.
 */
#ifndef BMS_STORE_INT_H
#define BMS_STORE_INT_H

#include <stdint.h>

#include <crypt.h>
#include <sqlite3.h>

#include "agg.h"
#include "buf.h"
#include "readpack.h"
#include "store.h"

#define STORE_PATH_MAX 4096	/* bytes of any path the store builds */
#define STORE_MINUTE_MS BMS_AGG_MINUTE_MS	/* ms */
#define STORE_HOUR_MS BMS_AGG_HOUR_MS	/* ms */
#define STORE_DAY_MS 86400000LL		/* ms */
#define STORE_CUT_MS 1000	/* ms the too-old cutoff is kept outside a batch */
#define STORE_CACHE 256		/* batteries the ingest cache holds */
#define STORE_STMTS 48		/* prepared statements a handle keeps */
#define STORE_HASH 512		/* hash chains of that cache (power of 2) */

/* The tiers: buckets of lib/agg, one row each in the tiers table.
 * Columns of a tiers row after (battery, period, start): n, last_ts, then
 * per metric (bms_agg_metric order) n, min, max, sum, last, last_ts. */
#define STORE_TIER_MCOLS 6
#define STORE_TIER_NCOLS (2 + STORE_TIER_MCOLS * BMS_AGG_NMETRICS)

/* Append ", <prefix>n, <prefix>last_ts, <prefix>pack_voltage_n, ...":
 * the STORE_TIER_NCOLS columns above, for a statement's text. */
void bms_store_tier_cols(struct bms_buf *b, const char *prefix);

/* Read the STORE_TIER_NCOLS columns from column col of s's row into b,
 * already initialised for its period and given its start. */
void bms_store_tier_row(sqlite3_stmt *s, int col, struct bms_agg_bucket *b);

/* A battery the ingest has seen lately, with its open tier buckets. */
struct store_bat {
	char bms_id[BMS_STORE_ID_MAX + 1];
	int64_t id;		/* batteries.id */
	uint64_t used;		/* LRU clock of the last use */
	int next;		/* next entry in its hash chain, -1 at the end */
	struct bms_agg_bucket acc[2];	/* [0] the minute, [1] the hour bucket */
};

struct bms_store {
	char dir[STORE_PATH_MAX - 128];	/* room for "/tenants/NAME.db" */
	char tenant[BMS_STORE_NAME_MAX + 1];	/* "" for a control-only handle */
	char ctl_path[STORE_PATH_MAX];	/* DIR/control.db */
	char db_path[STORE_PATH_MAX];	/* DIR/tenants/NAME.db, or "" */
	sqlite3 *ctl;			/* the control database */
	sqlite3 *db;			/* the tenant's database, or NULL */
	int busy_ms;			/* busy_timeout, ms */
	int sync_full;
	char err[1024];			/* the last error's text */
	int busy;			/* the last EFAIL was a busy database */

	/* Ingest: statements prepared at the first put, the open batch. */
	sqlite3_stmt *ins_reading, *ins_status, *ins_alert, *ins_agg;
	sqlite3_stmt *ins_health, *ins_anomaly;
	sqlite3_stmt *bat_find, *bat_add, *tier_get;
	sqlite3_stmt *tier_merge;	/* writes a bucket merged with its row */
	int in_batch;			/* a write transaction is open */
	unsigned long pending_dups, pending_added;
	/* The too-old cutoff: records before cut_ms are not stored.  Taken
	 * from the wall clock and the tenant's raw_days at the first put
	 * after open or a batch's end, and outside a batch again once it is
	 * STORE_CUT_MS old; cut_ok 0: take it at the next put. */
	int cut_ok;
	int64_t cut_ms;			/* ms since the epoch; INT64_MIN: none */
	int64_t cut_at;			/* bms_ts_mono_ms() when it was taken */
	struct bms_store_stats stats;
	struct bms_buf blob;		/* the packed reading */
	struct bms_buf sbuf;		/* decoded strings of a record */
	struct bms_readpack *rp;	/* the parsed reading (large) */

	/* The battery cache: at most STORE_CACHE entries, LRU. */
	struct store_bat *bats;
	int nbats;
	int hash[STORE_HASH];		/* first entry of each chain, -1 */
	int last;			/* the entry used last, -1 */
	uint64_t clock;

	/* Queries: one reused output buffer. */
	struct bms_buf out;

	/* Statements prepared once and reused (prep_on, bms_store_finish):
	 * SQLite's parse and plan of a short query cost more than the query. */
	struct store_stmt {
		sqlite3_stmt *s;	/* NULL: a free slot */
		uint32_t hash;		/* of its SQL text */
		int busy;		/* handed out, not finished yet */
	} stmts[STORE_STMTS];
	int stmt_next;			/* the slot to take next when all are full */

	/* The polls of a long-running reader (bms_store_alert_acks,
	 * bms_store_data_version), prepared at their first call and reset
	 * after each. */
	sqlite3_stmt *acks, *data_version;
};

/* Set the error text; returns code. */
int bms_store_fail(struct bms_store *st, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the error from db's last failure: "<reason> ('<path>')", or the busy
 * message when another writer held the database.  Returns EFAIL. */
int bms_store_dberr(struct bms_store *st, sqlite3 *db, const char *path);

/* The same for the tenant database. */
int bms_store_tdberr(struct bms_store *st);

/* ECONFIG unless st is a tenant handle. */
int bms_store_need_tenant(struct bms_store *st);

/*
 * s as the inside of a JSON string (no quotes) in out[0..outsz), for a
 * message that must stay one line of printable text whatever a record or
 * a caller put in a name: '"', '\\', C0 and C1 controls and DEL are
 * escaped (\n, \u007f, ...), anything else, an ordinary name say, comes
 * out as it is.  Cut at a character boundary to fit, "..." marking the
 * cut.  outsz is at least 8.  Returns out.
 * A single quote comes out as \' too, as messages quote names in
 * single quotes (which a JSON string would not escape).
 */
const char *bms_store_esc(char *out, size_t outsz, const char *s);

/* Prepare sql on the tenant database; NULL with the error set. */
sqlite3_stmt *bms_store_prep(struct bms_store *st, const char *sql);

/* Done with statement s of bms_store_prep (or any other): a kept one is
 * reset for its next use, any other finalized. */
void bms_store_finish(struct bms_store *st, sqlite3_stmt *s);

/*
 * A write on the tenant database outside ingest: joins the open batch
 * (as a savepoint) or begins its own IMMEDIATE transaction.  end commits
 * (ok) or undoes the work; it returns 0 or EFAIL.
 */
int bms_store_tx_begin(struct bms_store *st);
int bms_store_tx_end(struct bms_store *st, int ok);

/* End ingest (rolling back an open batch) and free what it holds. */
void bms_store_ingest_close(struct bms_store *st);

/* The tenant's retention as control.db has it now. */
int bms_store_keep(struct bms_store *st, struct bms_retention *keep);

/* Forget a battery in the ingest cache, dropping its open buckets (its
 * rows are about to go). */
void bms_store_cache_drop(struct bms_store *st, const char *bms_id);

/* A new random (version 4) UUID, lowercase, in out; 0 or EFAIL. */
int bms_store_uuid(struct bms_store *st, char out[BMS_STORE_UUID_LEN + 1]);

/* The yescrypt hash of password in out: under setting (a stored hash,
 * whose salt and cost it takes), or with a fresh salt when setting is
 * NULL.  0 or EFAIL. */
int bms_store_pwhash(struct bms_store *st, const char *password, const char *setting,
		     char out[CRYPT_OUTPUT_SIZE]);

/*
 * 1 if password is the one whose hash is stored, 0 if not.  stored NULL
 * (a name that has no hash: unknown) matches nothing, but a hash is
 * computed all the same, with a fresh salt, so that it costs what a
 * known name does; hashes are compared in constant time.  EFAIL only when
 * the stored hash's setting cannot be used.
 */
int bms_store_pwcheck(struct bms_store *st, const char *password, const char *stored);

/* The time before which retention of days (0: forever) drops a record,
 * seen at now_ms; INT64_MIN when nothing is that old. */
int64_t bms_store_cutoff(int64_t now_ms, long days);

#endif

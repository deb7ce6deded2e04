/* SPDX-License-Identifier: MIT */
/*
 * The store: SQLite databases (WAL) holding every record of the pipeline,
 * per tenant, with history tiers, retention, queries and the registries
 * bms-serve needs (batteries, users, super-admins, refresh tokens, audit
 * log).
 *
 * Layout.  A store is a directory:
 *     DIR/control.db          tenants and their retention settings, super-admins
 *     DIR/tenants/NAME.db     everything of tenant NAME
 * Tenant isolation holds by construction: a handle opened for a tenant
 * has that tenant's file open and no other, and no function here takes a
 * tenant name on a tenant handle: tenants are added and changed through a
 * control-only handle (bms_store_open with tenant NULL), and a tenant
 * handle lists its own tenant only.  Tenant names are
 * [a-z0-9][a-z0-9_-]* (at most 63 bytes), so a name is always a plain
 * file name; and no database file of a store may be a symbolic link (one
 * planted as tenants/NAME.db is refused, not followed).  What the store
 * creates, a backup's too, is private whatever the umask: directories
 * 0700, database files 0600 (SQLite gives a database's -wal, -shm and
 * -journal files its mode); what exists already keeps its mode.
 *
 * Every database carries its schema version in PRAGMA user_version.  On
 * open, an older database is upgraded in place (each migration in its own
 * transaction); a newer one is refused.
 *
 * Ingest is batched: bms_store_put() adds a record to the open
 * transaction, bms_store_commit() ends it.  The caller decides when
 * (every N records, every T ms, when its input drains, at the end).
 * A record written but not committed is lost if the process dies; a
 * committed one survives kill -9 (and power loss with sync_full).
 *
 * Errors: functions return 0 (or a count) on success and a negative
 * BMS_STORE_E* on failure, with the text in bms_store_error(st): one line,
 * naming the file and what to do.  Names and ids from records or callers
 * appear in messages escaped as inside a JSON string ("ev\nil"), so a
 * message never holds a line break or another control character.  The
 * single quotes messages put around a name stay unambiguous: a quote
 * in the name comes out as \'.  The
 * library never prints or exits.  Every string a callback receives is
 * borrowed for the call only.  A handle is used by one thread at a time;
 * several processes may hold handles on one tenant at once (each batch
 * takes the write lock).
 */
#ifndef BMS_STORE_H
#define BMS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
	BMS_STORE_EFAIL = -1,	/* runtime: I/O, full disk, read-only, busy, corrupt */
	BMS_STORE_ECONFIG = -2,	/* configuration: no store, no such tenant or
				 * battery or user, newer schema, bad name,
				 * a call the handle is not for */
	BMS_STORE_EREJECT = -3,	/* this record cannot be stored (bms_store_put) */
};

#define BMS_STORE_NAME_MAX 63	/* tenant, user names */
#define BMS_STORE_ID_MAX 127	/* bms_id */
#define BMS_STORE_UUID_LEN 36	/* a battery's UUID: 8-4-4-4-12 hex digits */

struct bms_store;		/* opaque */

struct bms_store_opts {
	int sync_full;		/* PRAGMA synchronous=FULL: survive power loss */
	int busy_ms;		/* bound on a wait for another writer; 0: 5000 */
};

/* Retention per tenant, in days; 0 keeps forever.  Ingest does not store
 * a record older than raw_days (see bms_store_put). */
struct bms_retention {
	long raw_days;		/* readings, status, alerts, aggregates; default 30 */
	long minute_days;	/* per-minute tier; default 400 */
	long hour_days;		/* per-hour tier; default 0 (forever) */
};

/* ==== Opening ==== */

/*
 * Create the store directory (if missing) and its control database, or
 * upgrade an existing one.  Idempotent.  Returns 0 or a BMS_STORE_E* code
 * with the reason in err.
 */
int bms_store_init(const char *dir, char *err, size_t errsz);

/*
 * Open the store at dir.  With tenant NULL only the control database is
 * open (tenant administration, whole-store backup and check); with a
 * tenant name, that tenant's database as well, which must exist (made by
 * bms_store_tenant_add).  Both are upgraded if older.  opts may be NULL.
 * On failure *st is NULL and err holds the reason.
 */
int bms_store_open(struct bms_store **st, const char *dir, const char *tenant,
		   const struct bms_store_opts *opts, char *err, size_t errsz);

/* Roll back an open batch (bms_store_commit first to keep it) and close. */
void bms_store_close(struct bms_store *st);

/* The last error's text (empty if none). */
const char *bms_store_error(const struct bms_store *st);

/*
 * True if the last BMS_STORE_EFAIL was a busy database: another writer
 * held it for all of busy_ms.  The text is then "PATH: busy for N ms
 * (another writer holds it)".  Nothing was lost: the record (put) or the
 * batch (commit) is still to be done, and the call may be repeated.
 */
int bms_store_busy(const struct bms_store *st);

/* The tenant's name, or NULL for a control-only handle. */
const char *bms_store_tenant(const struct bms_store *st);

/* True if s is a valid tenant or user name. */
int bms_store_name_ok(const char *s);

/* ==== Tenants ==== */

struct bms_tenant {
	const char *name;
	const char *created;		/* RFC 3339 */
	struct bms_retention keep;
};

/* Add a tenant and create its database; keep NULL means the defaults.
 * Control-only handle: on a tenant handle BMS_STORE_ECONFIG. */
int bms_store_tenant_add(struct bms_store *st, const char *name,
			 const struct bms_retention *keep);

/* Change a tenant's retention (fields < 0 are left as they are).
 * Control-only handle: on a tenant handle BMS_STORE_ECONFIG.  A handle
 * ingesting for the tenant meanwhile uses the new raw_days from its next
 * batch on (see bms_store_put). */
int bms_store_tenant_set(struct bms_store *st, const char *name,
			 const struct bms_retention *keep);

/* Call fn for each tenant, by name (on a tenant handle: its own tenant
 * only); fn returning non-zero stops the walk and is returned. */
int bms_store_tenant_list(struct bms_store *st,
			  int (*fn)(void *ctx, const struct bms_tenant *t), void *ctx);

/* ==== Super-admins (control-only handle) ==== */

/*
 * The accounts that manage the tenants through bms-serve, kept in
 * control.db apart from every tenant's users; names as a user's, and
 * passwords only as salted yescrypt hashes.  Each call needs a
 * control-only handle: on a tenant handle BMS_STORE_ECONFIG.
 */
struct bms_superadmin {
	const char *name;
	int disabled;
	const char *created;		/* RFC 3339 */
};

/* Add a super-admin with a password (not empty); BMS_STORE_ECONFIG for a
 * bad or taken name. */
int bms_store_superadmin_add(struct bms_store *st, const char *name, const char *password);
/* Change a super-admin's password, or disabled flag; BMS_STORE_ECONFIG
 * if there is no such super-admin. */
int bms_store_superadmin_passwd(struct bms_store *st, const char *name,
				const char *password);
int bms_store_superadmin_disable(struct bms_store *st, const char *name, int disabled);
/* Call fn for each super-admin, by name; fn returning non-zero stops the
 * walk and is returned. */
int bms_store_superadmin_list(struct bms_store *st,
			      int (*fn)(void *ctx, const struct bms_superadmin *a), void *ctx);
/* 1 if name is an enabled super-admin with this password, 0 if not
 * (unknown, disabled or wrong password: the same answer in the same time,
 * as bms_store_user_verify gives), or BMS_STORE_EFAIL. */
int bms_store_superadmin_verify(struct bms_store *st, const char *name,
				const char *password);

/* ==== Ingest (tenant handle) ==== */

struct bms_store_stats {
	unsigned long stored;		/* records written in committed batches */
	unsigned long duplicates;	/* records already stored: a reading of the
					 * same battery and time, a status, alert
					 * or aggregate of the same battery, time
					 * and text */
	unsigned long pending;		/* records in the open batch */
	unsigned long batteries_added;	/* auto-registered batteries */
	unsigned long too_old;	/* records older than the raw retention when they came: not stored */
};

/*
 * Store one record line (reading, aggregate, alert or status) in the open
 * batch, opening one if needed; the per-minute and per-hour tiers are
 * updated in the same batch.  A record of an unknown bms_id registers the
 * battery.  A record already stored is a duplicate: written once, counted
 * once in the tiers, so input replayed after a crash does no harm.
 *
 * Too old.  A record whose time is before now - raw_days (the tenant's
 * raw retention; raw_days 0 keeps everything) is not stored, does not
 * register its battery and does not count in the tiers: retention
 * (bms_store_expire) would delete it, and since its reading may have
 * been deleted already, storing it again would count it twice.  The
 * cutoff comes from the wall clock and the retention in control.db, read
 * at the first put after open or a batch's end (and again each second
 * while puts store nothing); a batch keeps it, moved up to what an
 * expire in the batch deleted.  Such a record is counted in too_old at
 * once.  (Raising raw_days lets older records in again; one whose reading
 * retention deleted before then counts in the tiers a second time.)
 *
 * Returns
 *   1  stored (or a duplicate, counted apart),
 *   0  not a type the store keeps (frames, reject, ...), or too old:
 *      nothing written,
 *   BMS_STORE_EREJECT  the record is malformed or names another tenant:
 *      nothing written, the reason in why (one line),
 *   BMS_STORE_EFAIL  the database failed: the open batch is rolled back,
 *      bms_store_error() says why.
 */
int bms_store_put(struct bms_store *st, const char *line, size_t len,
		  char *why, size_t whysz);

/* Commit the open batch (nothing to do if none).  On failure the batch is
 * rolled back, except when the database stayed busy for busy_ms
 * (bms_store_busy): then the batch is still open and commit may be
 * called again. */
int bms_store_commit(struct bms_store *st);

/* Counters since open (stored, duplicates and batteries_added count
 * committed batches only; too_old counts at the put). */
void bms_store_stats(const struct bms_store *st, struct bms_store_stats *s);

/* ==== History ==== */

/*
 * Rebuild the tiers from the raw readings still kept, then delete what is
 * older than the tenant's retention, and checkpoint the WAL.  Tenant
 * handle.  now_ms is the reference time (bms_ts of the wall clock in
 * normal use).
 */
int bms_store_compact(struct bms_store *st, int64_t now_ms);

/* Delete what is older than the retention (and expired refresh tokens);
 * done by compact, and cheap enough for a long-running ingest to call
 * once an hour, inside an open batch or not. */
int bms_store_expire(struct bms_store *st, int64_t now_ms);

enum bms_store_what {
	BMS_Q_READINGS, BMS_Q_AGGREGATES, BMS_Q_ALERTS, BMS_Q_STATUS, BMS_Q_HEALTH,
	BMS_Q_ANOMALIES
};
enum bms_store_tier { BMS_TIER_AUTO, BMS_TIER_RAW, BMS_TIER_MINUTE, BMS_TIER_HOUR };

struct bms_store_query {
	enum bms_store_what what;
	const char *bms_id;		/* NULL: every battery */
	int64_t since_ms, until_ms;	/* [since, until), ms since the epoch */
	enum bms_store_tier tier;	/* readings only */
	int csv;			/* CSV with a header line instead of NDJSON */
};

/*
 * Run a query; fn gets each output line (no newline) in time order, per
 * battery.  Readings at the raw tier come back exactly as they were
 * stored; at the minute and hour tiers as aggregate records (bms-store(1)
 * documents them), one per bucket that overlaps [since, until).  Status,
 * alert and aggregate records come back as their stored lines.
 * BMS_TIER_AUTO picks the raw tier for spans up to 48 hours, per-minute
 * up to 60 days and per-hour beyond, falling back to a coarser tier where
 * retention dropped the finer one.  Returns 0, fn's non-zero value, or
 * BMS_STORE_E* (BMS_STORE_ECONFIG for a what or tier out of its enum).
 * *tier_used (may be NULL) says which tier answered.
 */
int bms_store_query(struct bms_store *st, const struct bms_store_query *q,
		    int (*fn)(void *ctx, const char *line, size_t len), void *ctx,
		    enum bms_store_tier *tier_used);

/*
 * The latest reading of battery bms_id (tenant handle): fn gets its line
 * (no newline) exactly as it was stored, as a query of the raw tier
 * gives it back, once.  Returns 0 (fn's value when not 0),
 * BMS_STORE_ECONFIG when the battery has no reading or there is no such
 * battery ("no reading of battery 'x'"), or BMS_STORE_EFAIL.
 */
int bms_store_reading_latest(struct bms_store *st, const char *bms_id,
			     int (*fn)(void *ctx, const char *line, size_t len), void *ctx);

/*
 * Each battery's latest status record (tenant handle): fn gets its
 * bms_id, time (ms) and state, reason and quality (NULL / -1 when the
 * record lacks them), by bms_id; fn's non-zero stops and is returned.
 * Batteries without a status record are left out.
 */
int bms_store_status_latest(struct bms_store *st,
			    int (*fn)(void *ctx, const char *bms_id, int64_t ts_ms,
				      const char *state, const char *reason, double quality),
			    void *ctx);

/*
 * Following a tenant's store as records are committed to it, for the
 * live updates of bms-serve.  A follower begins at the store as it is:
 * its first bms_store_follow_next (until one succeeds) gives nothing and
 * only notes where the store stands; each call after gives fn what was
 * committed since:
 * the readings (BMS_Q_READINGS: each battery's in time order, as a raw
 * query gives them back; of a battery first seen, only its newest), the
 * status and alert records (BMS_Q_STATUS, BMS_Q_ALERTS, in the order
 * they were stored, an alert as an alert query gives it, with its id),
 * and alerts acknowledged since (BMS_Q_ALERTS again, now with ack_by and
 * ack_at).  Of each kind at most the newest 100 per call: a bulk import
 * is history, not news.  A reading stored later with an older time than
 * its battery's newest is not given.  fn gets the battery's bms_id and
 * the line (no newline); its non-zero stops the call and is returned.
 * Returns 0 or BMS_STORE_E*.  bms_store_data_version tells cheaply
 * whether a call is worth making.
 */
struct bms_store_follow;
struct bms_store_follow *bms_store_follow_new(void);
void bms_store_follow_free(struct bms_store_follow *f);
int bms_store_follow_next(struct bms_store *st, struct bms_store_follow *f,
			  int (*fn)(void *ctx, enum bms_store_what what, const char *bms_id,
				    const char *line, size_t len),
			  void *ctx);

/* ==== Batteries (tenant handle) ==== */

/* A battery in the registry.  Strings NULL and numbers < 0 mean "not set";
 * for bms_store_battery_edit they mean "leave as it is". */
struct bms_battery {
	const char *bms_id;
	const char *uuid;		/* random (version 4), lowercase, given when
					 * the battery is registered and kept;
					 * output only */
	const char *name;
	const char *chemistry;		/* lifepo4, nmc, lto, ... */
	double nominal_capacity_ah;	/* Ah */
	long cell_count;
	const char *bms_type;		/* daly, foxbms, libresolar, greenbms, ... */
	const char *protocol;		/* daly, daly-modbus, thingset, ... */
	const char *device;		/* device path, tcp://host:port or BLE MAC */
	long baud;			/* bit/s */
	long timeout_ms;		/* ms */
	const char *notes;
	const char *created;		/* RFC 3339; output only */
	int auto_added;			/* registered by ingest; output only */
};

/* Initialise every field to "not set". */
void bms_store_battery_clear(struct bms_battery *b);

/*
 * Register a battery (bms_id of 1 to 127 bytes of UTF-8), with a new
 * UUID.  One that ingest registered on its own (with its UUID) is filled
 * in and counts as added by hand from then on; one added by hand before
 * is BMS_STORE_ECONFIG.
 */
int bms_store_battery_add(struct bms_store *st, const struct bms_battery *b);

/* Change the fields of b that are set (an empty string clears a text
 * field); the battery then counts as added by hand.  BMS_STORE_ECONFIG if
 * there is no such battery. */
int bms_store_battery_edit(struct bms_store *st, const struct bms_battery *b);

/* Remove a battery; one with stored records only when purge is set, and
 * then its records go too. */
int bms_store_battery_remove(struct bms_store *st, const char *bms_id, int purge);

/* Call fn for each battery, by bms_id; fn returning non-zero stops the
 * walk and is returned. */
int bms_store_battery_list(struct bms_store *st,
			   int (*fn)(void *ctx, const struct bms_battery *b), void *ctx);

/*
 * Call fn for the battery whose bms_id or UUID (in either case) is
 * id_or_uuid; a battery whose bms_id it is comes first, should another
 * have it as its UUID.  Returns 0 (fn's value when not 0),
 * BMS_STORE_ECONFIG when there is no such battery ("no battery 'x'"), or
 * BMS_STORE_EFAIL.
 */
int bms_store_battery_get(struct bms_store *st, const char *id_or_uuid,
			  int (*fn)(void *ctx, const struct bms_battery *b), void *ctx);

/* ==== Alerts (tenant handle) ==== */

#define BMS_STORE_BY_MAX 127	/* bytes of who acknowledged an alert */

/* An alert's acknowledgement. */
struct bms_alert_ack {
	char by[BMS_STORE_BY_MAX + 1];	/* who acknowledged it */
	int64_t at_ms;			/* when, ms since the epoch */
};

/*
 * Acknowledge stored alert number id (the "id" of alert queries) as user
 * by (1 to BMS_STORE_BY_MAX bytes of UTF-8 without control characters;
 * any name, not only a user of the store) at at_ms, and append to the
 * audit log in the same transaction an entry by that user: action
 * "alert_ack", object the id in decimal, detail note (NULL for none;
 * UTF-8).  An acknowledgement stays: an alert acknowledged already keeps
 * its first one.
 * Returns
 *   0  acknowledged now,
 *   1  acknowledged already: nothing changed or logged; *first (may be
 *      NULL) says by whom and when,
 *   BMS_STORE_ECONFIG  no alert id in this tenant ("no alert 7 in tenant
 *      'acme'"), or by or note is bad,
 *   BMS_STORE_EFAIL  the database failed.
 */
int bms_store_alert_ack(struct bms_store *st, int64_t id, const char *by,
			int64_t at_ms, const char *note, struct bms_alert_ack *first);

/*
 * For a stage that keeps a handle open and polls for acknowledgements:
 * call fn for each acknowledged alert whose ack_at >= ack_after_ms and
 * whose record time ts >= since_ms, in order of ack_at (then of id);
 * fn's non-zero value stops the walk and is returned, else 0 or
 * BMS_STORE_E*.  alert_id is the record's "alert_id", NULL for a record
 * without one; by is "" if the row has no name.  The walk follows an
 * index of the acknowledged alerts by ack_at, so its cost grows with the
 * acknowledgements from ack_after_ms on, not with the alerts stored.  It
 * reads in one read transaction (a batch open on this handle: in it),
 * which is over when the call returns, so a writer is never kept waiting
 * and the WAL can be checkpointed between calls.  A caller that passes
 * the last ack_at it saw as ack_after_ms sees the acknowledgements of
 * that millisecond again.  fn may not call this function on the same
 * handle.
 */
int bms_store_alert_acks(struct bms_store *st, int64_t ack_after_ms, int64_t since_ms,
			 int (*fn)(void *ctx, const char *alert_id, int64_t ts_ms,
				   const char *by, int64_t ack_at_ms),
			 void *ctx);

/*
 * The tenant database's PRAGMA data_version in *v: a value that changes
 * whenever another connection (this process's or another's) committed to
 * it since the last call; this handle's own commits do not change it.
 * Another connection's checkpoint of the WAL may change it too, so a
 * change means "look again", not that something is new.  A cheap test
 * of whether a poll such as bms_store_alert_acks has anything to find;
 * it holds no read transaction after it returns.  0 or BMS_STORE_E*.
 */
int bms_store_data_version(struct bms_store *st, int64_t *v);

/* ==== Users, tokens, audit (tenant handle) ==== */

enum bms_role { BMS_ROLE_VIEWER, BMS_ROLE_OPERATOR, BMS_ROLE_ADMIN };

struct bms_user {
	const char *name;
	enum bms_role role;
	int disabled;
	const char *created;		/* RFC 3339 */
};

/* "viewer", "operator", "admin"; parse returns -1 for anything else. */
const char *bms_store_role_name(enum bms_role r);
int bms_store_role_parse(const char *s);

/* Add a user; the password (not empty) is stored only as a salted
 * yescrypt hash.  BMS_STORE_ECONFIG for a bad or taken name. */
int bms_store_user_add(struct bms_store *st, const char *name, enum bms_role role,
		       const char *password);
/* Change a user's password, role, or disabled flag; BMS_STORE_ECONFIG if
 * there is no such user. */
int bms_store_user_passwd(struct bms_store *st, const char *name,
			  const char *password);
int bms_store_user_role(struct bms_store *st, const char *name, enum bms_role role);
int bms_store_user_disable(struct bms_store *st, const char *name, int disabled);
/* Call fn for each user, by name; fn returning non-zero stops the walk
 * and is returned. */
int bms_store_user_list(struct bms_store *st,
			int (*fn)(void *ctx, const struct bms_user *u), void *ctx);

/* 1 if name is an enabled user with this password (role in *role), 0 if
 * not (unknown, disabled or wrong password: the same answer), or
 * BMS_STORE_EFAIL.  Every name costs a hash, an unknown one too, and
 * hashes are compared in constant time: how long the answer takes does
 * not tell a user's name. */
int bms_store_user_verify(struct bms_store *st, const char *name,
			  const char *password, enum bms_role *role);

/*
 * Refresh tokens.  Only a SHA-256 of a token is kept.  Tokens come in
 * families: a login starts one, and each use of its token
 * (bms_store_token_use) is followed by the next token of the same
 * family, so a family holds one unused token at a time.  A token is good
 * while it is unused, now < its expiry and its user enabled.  A used
 * token is kept until it expires, so that a use of it again is seen: that
 * revokes its whole family.  bms_store_expire deletes expired tokens,
 * used or not.
 */
#define BMS_STORE_FAMILY_LEN 32	/* lowercase hex digits of a family's id */

/*
 * Keep token (not empty, and not known already) for user until
 * expires_ms, in family: an id that bms_store_token_add_family or
 * bms_store_token_use gave, or NULL or "" to start a new family (a
 * login).  The family's id goes to fam (may be NULL).  BMS_STORE_ECONFIG
 * if there is no such user, the token is known already, or family holds
 * none of user's tokens (revoked, expired, another user's, or never
 * made): the user then logs in again.
 */
int bms_store_token_add_family(struct bms_store *st, const char *user, const char *token,
			       int64_t expires_ms, const char *family,
			       char fam[BMS_STORE_FAMILY_LEN + 1]);

/* The first token of a login: bms_store_token_add_family starting a new
 * family, whose id is not wanted. */
int bms_store_token_add(struct bms_store *st, const char *user, const char *token,
			int64_t expires_ms);

/* What bms_store_token_use answers for a token used before. */
#define BMS_STORE_TOKEN_REUSED 2

/*
 * Use token at now_ms: all in one transaction (a savepoint in an open
 * batch), so of two uses of one token only one is the first.
 * Returns
 *   1  the token was good: it is used now, and will not answer 1 again;
 *      its user's name is in user[0..usersz) and its family in fam, for
 *      the next token (bms_store_token_add_family with that family),
 *   BMS_STORE_TOKEN_REUSED  the token was used already (and is not
 *      expired): a copy of it is in someone's hands, so every token of
 *      its family is revoked, the newest one too; user and fam say whose
 *      family it was (for the audit log),
 *   0  the token is unknown or expired, or its user disabled: nothing
 *      changed; user and fam are empty,
 *   BMS_STORE_EFAIL  the database failed: nothing changed.
 * user (with usersz) and fam may be NULL.
 */
int bms_store_token_use(struct bms_store *st, const char *token, int64_t now_ms,
			char *user, size_t usersz, char fam[BMS_STORE_FAMILY_LEN + 1]);

/* 1 and the user's name in user[0..usersz) if the token is known, unused,
 * unexpired at now_ms and its user enabled; 0 if not; or BMS_STORE_EFAIL.
 * Nothing changes: a refresh goes through bms_store_token_use. */
int bms_store_token_check(struct bms_store *st, const char *token, int64_t now_ms,
			  char *user, size_t usersz);

/* Forget a token (known or not): 0, or BMS_STORE_EFAIL.  Forgetting the
 * newest token of a family ends it too: what is left of it is used. */
int bms_store_token_revoke(struct bms_store *st, const char *token);

/* Revoke every token of family (a logout): 0 whether it held any or not,
 * or BMS_STORE_EFAIL. */
int bms_store_family_revoke(struct bms_store *st, const char *family);

/* Append to the audit log: who did what to which object. */
int bms_store_audit(struct bms_store *st, const char *user, const char *action,
		    const char *object, const char *detail);

/* ==== Registry rows as JSON ==== */

/*
 * Replace b's contents with the row as one JSON object (no newline), the
 * form the lists of bms-store(1) print: fields not set are left out; a
 * user's password hash never appears.
 */
void bms_store_tenant_json(const struct bms_tenant *t, struct bms_buf *b);
void bms_store_battery_json(const struct bms_battery *bat, struct bms_buf *b);
void bms_store_user_json(const struct bms_user *u, struct bms_buf *b);
void bms_store_superadmin_json(const struct bms_superadmin *a, struct bms_buf *b);

/* ==== Maintenance (any handle) ==== */

/*
 * Copy the open databases into directory dest (created; it must not hold
 * a store already, and none of the files it makes there may be a
 * symbolic link already) with SQLite's online backup API, a few hundred pages
 * at a time, so writers go on meanwhile.  Each database is copied as one
 * consistent snapshot.  A control-only handle copies the whole store; a
 * tenant handle its own database, with a control.db listing only that
 * tenant.  dest is a store that bms_store_open can open; its control.db
 * is put in place last, so a backup cut short can be made again into the
 * same directory.
 */
int bms_store_backup(struct bms_store *st, const char *dest);

/*
 * PRAGMA integrity_check and foreign_key_check of each open database (a
 * control handle: every tenant's too); fn gets one line per database,
 * "control.db: ok" or "tenants/x.db: <problem>" (the first problem, then
 * "(and N more)").  Returns 0 if all are ok, 1 if one is not, fn's
 * non-zero value (which stops the walk), or BMS_STORE_E*.
 */
int bms_store_check(struct bms_store *st,
		    int (*fn)(void *ctx, const char *line), void *ctx);

/*
 * The modes of the files bms_store_check checks: the store directory and
 * tenants/ (each wider than 0700 reported), and each database (control.db
 * and that handle's tenant's, or every tenant's) with its -wal, -shm and
 * -journal files (each wider than 0600).  fn gets one line for each:
 * "DIR/control.db: mode 644 is wider than 600; make it private with:
 * chmod 600 DIR/control.db", DIR as the store was opened.  Nothing is
 * changed: a store made wide on purpose stays so.  Returns 0 if all are
 * private, 1 if one is not, fn's non-zero value (which stops the walk),
 * or BMS_STORE_EFAIL.
 */
int bms_store_check_modes(struct bms_store *st,
			  int (*fn)(void *ctx, const char *line), void *ctx);

/* The SQL of migration n (1-based) of the tenant (tenant != 0) or control
 * schema, NULL past the last: for the manual and the migration tests. */
const char *bms_store_migration(int tenant, int n);

#endif

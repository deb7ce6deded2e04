/* SPDX-License-Identifier: MIT */
/*
 * The registries of a tenant's store (see store.h): batteries, alert
 * acknowledgements (and the polls of them), users with their password
 * hashes, refresh tokens and the audit log.
 *
 * Invariants.  Every function works on the handle's one tenant database,
 * so a name that exists only in another tenant's store is simply not
 * found.  Passwords are kept only as salted yescrypt hashes (libcrypt)
 * and refresh tokens only as SHA-256 digests; a check of either answers
 * the same for an unknown user, a disabled one and a wrong secret, and
 * compares hashes in constant time.  Each change is one transaction (or
 * a savepoint in an open ingest batch); a token's use reads and marks it
 * (or revokes its family) in one, so a token is used once.
 *
 * Workload: administration and logins, a few calls a second at most;
 * clarity wins over speed here, so statements are prepared per call.
 * The exception is the two polls of a long-running reader
 * (bms_store_alert_acks, bms_store_data_version), whose statements the
 * handle keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "rand.h"
#include "json.h"
#include "sha256.h"
#include "store-int.h"
#include "ts.h"

/* ==== Helpers ==== */

/* Step s once to its end; 0 or EFAIL. */
static int done(struct bms_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : bms_store_tdberr(st);

	bms_store_finish(st, s);
	return rc;
}

/* n random bytes into p; 0 or EFAIL. */
static int random_bytes(struct bms_store *st, void *p, size_t n)
{
	if (bms_rand_bytes(p, n) < 0)
		return bms_store_fail(st, BMS_STORE_EFAIL, "cannot get random bytes: %s",
				      strerror(errno));
	return 0;
}

int bms_store_uuid(struct bms_store *st, char out[BMS_STORE_UUID_LEN + 1])
{
	uint8_t r[16];
	char h[33];
	int rc;

	if ((rc = random_bytes(st, r, sizeof r)) < 0)
		return rc;
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);	/* version 4: random */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);	/* variant 10: RFC 4122 */
	bms_hex_encode(r, sizeof r, h);
	snprintf(out, BMS_STORE_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		 h + 16, h + 20);
	return 0;
}

static int id_ok(struct bms_store *st, const char *bms_id)
{
	size_t n = bms_id ? strlen(bms_id) : 0;
	char e[140];

	if (n == 0 || n > BMS_STORE_ID_MAX || !bms_json_utf8_valid(bms_id, n))
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "bad battery id '%s': 1 to %d bytes of UTF-8",
				      bms_store_esc(e, sizeof e, bms_id ? bms_id : ""),
				      BMS_STORE_ID_MAX);
	return 0;
}

/* batteries.id of bms_id: > 0, 0 if there is none, or EFAIL. */
static int64_t battery_id(struct bms_store *st, const char *bms_id, int *auto_added)
{
	sqlite3_stmt *s = bms_store_prep(st, "SELECT id, auto_added FROM batteries"
					 " WHERE bms_id = ?1");
	int64_t id;
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, bms_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		if (auto_added)
			*auto_added = sqlite3_column_int(s, 1);
	} else {
		id = rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	return id;
}

static int no_battery(struct bms_store *st, const char *bms_id)
{
	char e[140];

	return bms_store_fail(st, BMS_STORE_ECONFIG, "no battery '%s'",
			      bms_store_esc(e, sizeof e, bms_id));
}

/* ==== Batteries ==== */

void bms_store_battery_clear(struct bms_battery *b)
{
	memset(b, 0, sizeof *b);
	b->nominal_capacity_ah = -1;
	b->cell_count = -1;
	b->baud = -1;
	b->timeout_ms = -1;
}

/* Bind the settable fields of b to parameters 2..11 (NULL: not given). */
static void bind_battery(sqlite3_stmt *s, const struct bms_battery *b)
{
	const char *str[] = { b->name, b->chemistry, b->bms_type, b->protocol,
			      b->device, b->notes };
	const int at[] = { 2, 3, 6, 7, 8, 11 };

	for (int i = 0; i < 6; i++)
		if (str[i])
			sqlite3_bind_text(s, at[i], str[i], -1, SQLITE_STATIC);
	if (b->nominal_capacity_ah >= 0)
		sqlite3_bind_double(s, 4, b->nominal_capacity_ah);
	if (b->cell_count >= 0)
		sqlite3_bind_int64(s, 5, b->cell_count);
	if (b->baud >= 0)
		sqlite3_bind_int64(s, 9, b->baud);
	if (b->timeout_ms >= 0)
		sqlite3_bind_int64(s, 10, b->timeout_ms);
}

/* Change the given fields of battery ?1 ("" clears a text field) and mark
 * it as registered by hand. */
static const char edit_sql[] =
	"UPDATE batteries SET"
	" name = CASE WHEN ?2 IS NULL THEN name ELSE nullif(?2, '') END,"
	" chemistry = CASE WHEN ?3 IS NULL THEN chemistry ELSE nullif(?3, '') END,"
	" nominal_capacity_ah = coalesce(?4, nominal_capacity_ah),"
	" cell_count = coalesce(?5, cell_count),"
	" bms_type = CASE WHEN ?6 IS NULL THEN bms_type ELSE nullif(?6, '') END,"
	" protocol = CASE WHEN ?7 IS NULL THEN protocol ELSE nullif(?7, '') END,"
	" device = CASE WHEN ?8 IS NULL THEN device ELSE nullif(?8, '') END,"
	" baud = coalesce(?9, baud),"
	" timeout_ms = coalesce(?10, timeout_ms),"
	" notes = CASE WHEN ?11 IS NULL THEN notes ELSE nullif(?11, '') END,"
	" auto_added = 0"
	" WHERE bms_id = ?1";

int bms_store_battery_add(struct bms_store *st, const struct bms_battery *b)
{
	char now[BMS_TS_LEN + 1], uuid[BMS_STORE_UUID_LEN + 1];
	sqlite3_stmt *s;
	int auto_added = 0, rc;
	int64_t id;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = id_ok(st, b->bms_id)) < 0)
		return rc;
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	id = battery_id(st, b->bms_id, &auto_added);
	if (id < 0) {
		rc = (int)id;
	} else if (id > 0 && !auto_added) {
		char e[140];

		rc = bms_store_fail(st, BMS_STORE_ECONFIG,
				    "battery '%s' exists already; change it with"
				    " batteries edit", bms_store_esc(e, sizeof e, b->bms_id));
	} else if (id > 0) {
		/* Registered by ingest: adding it by hand fills it in. */
		if (!(s = bms_store_prep(st, edit_sql)))
			rc = BMS_STORE_EFAIL;
		else {
			sqlite3_bind_text(s, 1, b->bms_id, -1, SQLITE_STATIC);
			bind_battery(s, b);
			rc = done(st, s);
		}
	} else if ((rc = bms_store_uuid(st, uuid)) < 0) {
		;
	} else if (!(s = bms_store_prep(st, "INSERT INTO batteries (bms_id, name,"
					" chemistry, nominal_capacity_ah, cell_count,"
					" bms_type, protocol, device, baud, timeout_ms,"
					" notes, created, auto_added, uuid) VALUES (?1,"
					" nullif(?2, ''), nullif(?3, ''), ?4, ?5,"
					" nullif(?6, ''), nullif(?7, ''), nullif(?8, ''),"
					" ?9, ?10, nullif(?11, ''), ?12, 0, ?13)"))) {
		rc = BMS_STORE_EFAIL;
	} else {
		bms_ts_now(now);
		sqlite3_bind_text(s, 1, b->bms_id, -1, SQLITE_STATIC);
		bind_battery(s, b);
		sqlite3_bind_text(s, 12, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 13, uuid, -1, SQLITE_STATIC);
		rc = done(st, s);
	}
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	return bms_store_tx_end(st, 1);
}

int bms_store_battery_edit(struct bms_store *st, const struct bms_battery *b)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = id_ok(st, b->bms_id)) < 0)
		return rc;
	if (!(s = bms_store_prep(st, edit_sql)))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, b->bms_id, -1, SQLITE_STATIC);
	bind_battery(s, b);
	if ((rc = done(st, s)) < 0)
		return rc;
	return sqlite3_changes(st->db) ? 0 : no_battery(st, b->bms_id);
}

int bms_store_battery_remove(struct bms_store *st, const char *bms_id, int purge)
{
	static const char *const tables[] = {
		"readings", "tiers", "status", "alerts", "aggregates", "health",
		"anomalies",
	};
	char sql[96];
	sqlite3_stmt *s;
	int64_t id;
	int rc, has = 0;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = id_ok(st, bms_id)) < 0)
		return rc;
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	id = battery_id(st, bms_id, NULL);
	if (id <= 0) {
		rc = id < 0 ? (int)id : no_battery(st, bms_id);
		goto out;
	}
	for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !has; i++) {
		snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE battery = ?1 LIMIT 1",
			 tables[i]);
		if (!(s = bms_store_prep(st, sql))) {
			rc = BMS_STORE_EFAIL;
			goto out;
		}
		sqlite3_bind_int64(s, 1, id);
		rc = sqlite3_step(s);
		has = rc == SQLITE_ROW;
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
		bms_store_finish(st, s);
		if (rc < 0)
			goto out;
	}
	if (has && !purge) {
		char e[140];

		rc = bms_store_fail(st, BMS_STORE_ECONFIG,
				    "battery '%s' has stored records; remove it with"
				    " --purge to delete them too",
				    bms_store_esc(e, sizeof e, bms_id));
		goto out;
	}
	for (size_t i = 0; i < sizeof tables / sizeof tables[0] && has; i++) {
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE battery = ?1", tables[i]);
		if (!(s = bms_store_prep(st, sql))) {
			rc = BMS_STORE_EFAIL;
			goto out;
		}
		sqlite3_bind_int64(s, 1, id);
		if ((rc = done(st, s)) < 0)
			goto out;
	}
	if (!(s = bms_store_prep(st, "DELETE FROM batteries WHERE id = ?1"))) {
		rc = BMS_STORE_EFAIL;
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	rc = done(st, s);
out:
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	/* Its open tier buckets must not be written after it is gone. */
	bms_store_cache_drop(st, bms_id);
	return bms_store_tx_end(st, 1);
}

/* The columns battery_row reads, for a statement's text. */
#define BATTERY_COLS "bms_id, name, chemistry, nominal_capacity_ah, cell_count," \
	" bms_type, protocol, device, baud, timeout_ms, notes, created, auto_added, uuid"

/* b from the BATTERY_COLS of s's row; its strings are s's, valid until
 * the next step. */
static void battery_row(sqlite3_stmt *s, struct bms_battery *b)
{
	bms_store_battery_clear(b);
	b->bms_id = (const char *)sqlite3_column_text(s, 0);
	b->name = (const char *)sqlite3_column_text(s, 1);
	b->chemistry = (const char *)sqlite3_column_text(s, 2);
	if (sqlite3_column_type(s, 3) != SQLITE_NULL)
		b->nominal_capacity_ah = sqlite3_column_double(s, 3);
	if (sqlite3_column_type(s, 4) != SQLITE_NULL)
		b->cell_count = (long)sqlite3_column_int64(s, 4);
	b->bms_type = (const char *)sqlite3_column_text(s, 5);
	b->protocol = (const char *)sqlite3_column_text(s, 6);
	b->device = (const char *)sqlite3_column_text(s, 7);
	if (sqlite3_column_type(s, 8) != SQLITE_NULL)
		b->baud = (long)sqlite3_column_int64(s, 8);
	if (sqlite3_column_type(s, 9) != SQLITE_NULL)
		b->timeout_ms = (long)sqlite3_column_int64(s, 9);
	b->notes = (const char *)sqlite3_column_text(s, 10);
	b->created = (const char *)sqlite3_column_text(s, 11);
	b->auto_added = sqlite3_column_int(s, 12);
	b->uuid = (const char *)sqlite3_column_text(s, 13);
}

int bms_store_battery_list(struct bms_store *st,
			   int (*fn)(void *ctx, const struct bms_battery *b), void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	s = bms_store_prep(st, "SELECT " BATTERY_COLS " FROM batteries ORDER BY bms_id");
	if (!s)
		return BMS_STORE_EFAIL;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct bms_battery b;

		battery_row(s, &b);
		stop = fn(ctx, &b);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_battery_get(struct bms_store *st, const char *id_or_uuid,
			  int (*fn)(void *ctx, const struct bms_battery *b), void *ctx)
{
	struct bms_battery b;
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = id_ok(st, id_or_uuid)) < 0)
		return rc;
	/* One probe of each unique index; the bms_id first. */
	s = bms_store_prep(st, "SELECT " BATTERY_COLS " FROM batteries"
			   " WHERE bms_id = ?1 OR uuid = lower(?1)"
			   " ORDER BY bms_id = ?1 DESC LIMIT 1");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, id_or_uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		battery_row(s, &b);
		rc = fn(ctx, &b);
	} else {
		rc = rc == SQLITE_DONE ? no_battery(st, id_or_uuid) : bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	return rc;
}

/* ==== Alerts ==== */

/* Who acknowledges: a name that prints on one line wherever it is shown. */
static int by_ok(struct bms_store *st, const char *by)
{
	const unsigned char *p = (const unsigned char *)by;
	size_t n = by ? strlen(by) : 0;
	int ok = n > 0 && n <= BMS_STORE_BY_MAX && bms_json_utf8_valid(by, n);
	char e[160];

	for (size_t i = 0; ok && i < n; i++)
		ok = p[i] >= 0x20 && p[i] != 0x7f &&
			!(p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f);
	if (!ok)
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "bad name '%s' for an acknowledgement: 1 to %d bytes"
				      " of UTF-8 without control characters",
				      bms_store_esc(e, sizeof e, by ? by : ""), BMS_STORE_BY_MAX);
	return 0;
}

/* The acknowledgement of alert id, which has one or no row: 1 with it in
 * *first (may be NULL), ECONFIG if there is no such alert, or EFAIL. */
static int ack_of(struct bms_store *st, int64_t id, struct bms_alert_ack *first)
{
	sqlite3_stmt *s = bms_store_prep(st, "SELECT ack_by, ack_at FROM alerts WHERE id = ?1");
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *by = (const char *)sqlite3_column_text(s, 0);

		if (first) {
			snprintf(first->by, sizeof first->by, "%s", by ? by : "");
			first->at_ms = sqlite3_column_int64(s, 1);
		}
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "no alert %lld in tenant '%s'",
				    (long long)id, st->tenant);
	} else {
		rc = bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	return rc;
}

int bms_store_alert_ack(struct bms_store *st, int64_t id, const char *by,
			int64_t at_ms, const char *note, struct bms_alert_ack *first)
{
	char object[24];
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = by_ok(st, by)) < 0)
		return rc;
	if (note && !bms_json_utf8_valid(note, strlen(note)))
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "the note of an acknowledgement is not UTF-8");
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	/* Only an alert not acknowledged yet: the first acknowledgement stays. */
	s = bms_store_prep(st, "UPDATE alerts SET ack_by = ?2, ack_at = ?3"
			   " WHERE id = ?1 AND ack_at IS NULL");
	if (!s) {
		rc = BMS_STORE_EFAIL;
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, at_ms);
	if ((rc = done(st, s)) < 0)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		rc = ack_of(st, id, first);
		goto out;
	}
	snprintf(object, sizeof object, "%lld", (long long)id);
	rc = bms_store_audit(st, by, "alert_ack", object, note);
out:
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	return bms_store_tx_end(st, 1) < 0 ? BMS_STORE_EFAIL : rc;
}

/*
 * The polls below run on statements kept in the handle: a long-running
 * reader calls them every second or so.  Each is reset before it
 * returns, which ends the read transaction its step began.
 */

int bms_store_alert_acks(struct bms_store *st, int64_t ack_after_ms, int64_t since_ms,
			 int (*fn)(void *ctx, const char *alert_id, int64_t ts_ms,
				   const char *by, int64_t ack_at_ms),
			 void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	/* INDEXED BY: the walk is along the acknowledged alerts, never the
	 * table (preparing fails rather than scan it). */
	if (!st->acks &&
	    !(st->acks = bms_store_prep(st, "SELECT alert_id, ts, ack_by, ack_at"
					" FROM alerts INDEXED BY alerts_ack_at"
					" WHERE ack_at IS NOT NULL AND ack_at >= ?1"
					" AND ts >= ?2 ORDER BY ack_at, id")))
		return BMS_STORE_EFAIL;
	s = st->acks;
	sqlite3_bind_int64(s, 1, ack_after_ms);
	sqlite3_bind_int64(s, 2, since_ms);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *by = (const char *)sqlite3_column_text(s, 2);

		stop = fn(ctx, (const char *)sqlite3_column_text(s, 0),
			  sqlite3_column_int64(s, 1), by ? by : "",
			  sqlite3_column_int64(s, 3));
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	sqlite3_reset(s);
	return stop;
}

int bms_store_data_version(struct bms_store *st, int64_t *v)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!st->data_version &&
	    !(st->data_version = bms_store_prep(st, "PRAGMA data_version")))
		return BMS_STORE_EFAIL;
	s = st->data_version;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		rc = 0;
	} else {
		rc = bms_store_tdberr(st);
	}
	sqlite3_reset(s);
	return rc;
}

/* ==== Users ==== */

static const char *const role_names[] = {
	[BMS_ROLE_VIEWER] = "viewer", [BMS_ROLE_OPERATOR] = "operator",
	[BMS_ROLE_ADMIN] = "admin",
};

const char *bms_store_role_name(enum bms_role r)
{
	return (unsigned)r < 3 ? role_names[r] : "viewer";
}

int bms_store_role_parse(const char *s)
{
	for (int r = 0; s && r < 3; r++)
		if (strcmp(s, role_names[r]) == 0)
			return r;
	return -1;
}

int bms_store_pwhash(struct bms_store *st, const char *password, const char *setting,
		     char out[CRYPT_OUTPUT_SIZE])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = 0;

	if (!setting) {
		if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
			return bms_store_fail(st, BMS_STORE_EFAIL,
					      "cannot make a password salt: %s", strerror(errno));
		setting = salt;
	}
	cd = calloc(1, sizeof *cd);
	if (!cd)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	h = crypt_rn(password, setting, cd, sizeof *cd);
	if (!h || h[0] == '*' || strlen(h) >= CRYPT_OUTPUT_SIZE)
		rc = bms_store_fail(st, BMS_STORE_EFAIL, "cannot hash a password: %s",
				    strerror(errno ? errno : EINVAL));
	else
		memcpy(out, h, strlen(h) + 1);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

/* Equal strings, in time that depends on their lengths only. */
static int same(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = na != nb;

	for (size_t i = 0; i < na && i < nb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int bms_store_pwcheck(struct bms_store *st, const char *password, const char *stored)
{
	char h[CRYPT_OUTPUT_SIZE];
	int rc;

	/* No hash stored: one with a fresh salt costs what checking one does. */
	rc = bms_store_pwhash(st, password, stored, h);
	if (rc < 0)
		return stored ? rc : 0;
	rc = stored && same(h, stored);
	explicit_bzero(h, sizeof h);
	return rc;
}

static int user_ok(struct bms_store *st, const char *name)
{
	char e[84];

	if (!bms_store_name_ok(name))
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "bad user name '%s': use a-z, 0-9, '_' and '-', at"
				      " most %d bytes, starting with a letter or digit",
				      bms_store_esc(e, sizeof e, name ? name : ""),
				      BMS_STORE_NAME_MAX);
	return 0;
}

static int no_user(struct bms_store *st, const char *name)
{
	return bms_store_fail(st, BMS_STORE_ECONFIG, "no user '%s'", name);
}

int bms_store_user_add(struct bms_store *st, const char *name, enum bms_role role,
		       const char *password)
{
	char h[CRYPT_OUTPUT_SIZE], now[BMS_TS_LEN + 1];
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = user_ok(st, name)) < 0)
		return rc;
	if ((unsigned)role > BMS_ROLE_ADMIN)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "bad role %d", (int)role);
	if (!password || !*password)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "empty password for user '%s'",
				      name);
	if ((rc = bms_store_pwhash(st, password, NULL, h)) < 0)
		return rc;
	s = bms_store_prep(st, "INSERT INTO users (name, role, pwhash, disabled, created)"
			   " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (name) DO NOTHING");
	if (!s)
		return BMS_STORE_EFAIL;
	bms_ts_now(now);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role_names[role], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, h, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	rc = done(st, s);
	explicit_bzero(h, sizeof h);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "user '%s' exists already", name);
	return rc;
}

/* Run an UPDATE of users WHERE name = ?1 with ?2 bound to text or int. */
static int user_update(struct bms_store *st, const char *sql, const char *name,
		       const char *text, int64_t num)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = user_ok(st, name)) < 0)
		return rc;
	if (!(s = bms_store_prep(st, sql)))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 2, num);
	if ((rc = done(st, s)) < 0)
		return rc;
	return sqlite3_changes(st->db) ? 0 : no_user(st, name);
}

int bms_store_user_passwd(struct bms_store *st, const char *name, const char *password)
{
	char h[CRYPT_OUTPUT_SIZE];
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = user_ok(st, name)) < 0)
		return rc;
	if (!password || !*password)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "empty password for user '%s'",
				      name);
	if ((rc = bms_store_pwhash(st, password, NULL, h)) < 0)
		return rc;
	rc = user_update(st, "UPDATE users SET pwhash = ?2 WHERE name = ?1", name, h, 0);
	explicit_bzero(h, sizeof h);
	return rc;
}

int bms_store_user_role(struct bms_store *st, const char *name, enum bms_role role)
{
	if ((unsigned)role > BMS_ROLE_ADMIN)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "bad role %d", (int)role);
	return user_update(st, "UPDATE users SET role = ?2 WHERE name = ?1", name,
			   role_names[role], 0);
}

int bms_store_user_disable(struct bms_store *st, const char *name, int disabled)
{
	return user_update(st, "UPDATE users SET disabled = ?2 WHERE name = ?1", name,
			   NULL, disabled ? 1 : 0);
}

int bms_store_user_list(struct bms_store *st,
			int (*fn)(void *ctx, const struct bms_user *u), void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	s = bms_store_prep(st, "SELECT name, role, disabled, created FROM users ORDER BY name");
	if (!s)
		return BMS_STORE_EFAIL;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int role = bms_store_role_parse((const char *)sqlite3_column_text(s, 1));
		struct bms_user u = {
			.name = (const char *)sqlite3_column_text(s, 0),
			.role = role < 0 ? BMS_ROLE_VIEWER : (enum bms_role)role,
			.disabled = sqlite3_column_int(s, 2) != 0,
			.created = (const char *)sqlite3_column_text(s, 3),
		};

		stop = fn(ctx, &u);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_user_verify(struct bms_store *st, const char *name,
			  const char *password, enum bms_role *role)
{
	char stored[CRYPT_OUTPUT_SIZE];
	sqlite3_stmt *s;
	int rc, known = 0, disabled = 1, r = BMS_ROLE_VIEWER;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!password)
		return 0;
	/* Every name is looked up, one that cannot be a user's too, and
	 * costs a hash: an unknown name answers as slowly as a known one. */
	s = bms_store_prep(st, "SELECT pwhash, role, disabled FROM users WHERE name = ?1");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name ? name : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);

		known = p && strlen(p) < sizeof stored;
		if (known)
			memcpy(stored, p, strlen(p) + 1);
		r = bms_store_role_parse((const char *)sqlite3_column_text(s, 1));
		disabled = sqlite3_column_int(s, 2) != 0;
	} else if (rc != SQLITE_DONE) {
		rc = bms_store_tdberr(st);
		bms_store_finish(st, s);
		return rc;
	}
	bms_store_finish(st, s);
	rc = bms_store_pwcheck(st, password, known ? stored : NULL);
	if (rc < 0)
		return rc;
	rc = rc && !disabled;
	if (rc && role)
		*role = r < 0 ? BMS_ROLE_VIEWER : (enum bms_role)r;
	return rc;
}

/* ==== Tokens ==== */

/* Is f a family's id: BMS_STORE_FAMILY_LEN lowercase hex digits? */
static int family_ok(const char *f)
{
	size_t n = 0;

	for (; f && f[n]; n++)
		if (!((f[n] >= '0' && f[n] <= '9') || (f[n] >= 'a' && f[n] <= 'f')))
			return 0;
	return n == BMS_STORE_FAMILY_LEN;
}

/* 1 if sql, with ?1 bound to text a and ?2 to text b (NULL: not bound),
 * gives a row; 0 if not, or EFAIL. */
static int has_row(struct bms_store *st, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *s = bms_store_prep(st, sql);
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
	bms_store_finish(st, s);
	return rc;
}

/* The user and the family are looked up and the token added in one
 * transaction, so that a family revoked meanwhile gets no token again. */
int bms_store_token_add_family(struct bms_store *st, const char *user, const char *token,
			       int64_t expires_ms, const char *family,
			       char fam[BMS_STORE_FAMILY_LEN + 1])
{
	uint8_t d[BMS_SHA256_LEN], r[BMS_STORE_FAMILY_LEN / 2];
	char f[BMS_STORE_FAMILY_LEN + 1], now[BMS_TS_LEN + 1], e[84];
	sqlite3_stmt *s;
	int rc;

	if (fam)
		fam[0] = '\0';
	if ((rc = bms_store_need_tenant(st)) < 0 || (rc = user_ok(st, user)) < 0)
		return rc;
	if (!token || !*token)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "empty token");
	if (family && *family && !family_ok(family))
		return bms_store_fail(st, BMS_STORE_ECONFIG, "bad token family '%s': %d"
				      " lowercase hex digits",
				      bms_store_esc(e, sizeof e, family), BMS_STORE_FAMILY_LEN);
	if (family && *family) {
		memcpy(f, family, sizeof f);
	} else {
		if ((rc = random_bytes(st, r, sizeof r)) < 0)
			return rc;
		bms_hex_encode(r, sizeof r, f);
	}
	bms_sha256(token, strlen(token), d);
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	rc = has_row(st, "SELECT 1 FROM users WHERE name = ?1", user, NULL);
	if (rc == 0)
		rc = no_user(st, user);
	if (rc == 1 && family && *family) {
		rc = has_row(st, "SELECT 1 FROM tokens WHERE family = ?1 AND user = ?2",
			     f, user);
		if (rc == 0)
			rc = bms_store_fail(st, BMS_STORE_ECONFIG, "no token family '%s' of"
					    " user '%s': revoked or expired; log in again",
					    f, user);
	}
	if (rc < 0)
		goto out;
	s = bms_store_prep(st, "INSERT INTO tokens (hash, user, expires, created, family)"
			   " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hash) DO NOTHING");
	if (!s) {
		rc = BMS_STORE_EFAIL;
		goto out;
	}
	bms_ts_now(now);
	sqlite3_bind_blob(s, 1, d, sizeof d, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, expires_ms);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, f, -1, SQLITE_STATIC);
	if ((rc = done(st, s)) == 0 && sqlite3_changes(st->db) == 0)
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "token known already; make a new one");
out:
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	if ((rc = bms_store_tx_end(st, 1)) < 0)
		return rc;
	if (fam)
		memcpy(fam, f, sizeof f);
	return 0;
}

int bms_store_token_add(struct bms_store *st, const char *user, const char *token,
			int64_t expires_ms)
{
	return bms_store_token_add_family(st, user, token, expires_ms, NULL, NULL);
}

int bms_store_token_use(struct bms_store *st, const char *token, int64_t now_ms,
			char *user, size_t usersz, char fam[BMS_STORE_FAMILY_LEN + 1])
{
	uint8_t d[BMS_SHA256_LEN];
	char u[BMS_STORE_NAME_MAX + 1] = "", f[BMS_STORE_FAMILY_LEN + 1] = "";
	sqlite3_stmt *s;
	int rc;

	if (user && usersz)
		user[0] = '\0';
	if (fam)
		fam[0] = '\0';
	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!token || !*token)
		return 0;
	bms_sha256(token, strlen(token), d);
	if ((rc = bms_store_tx_begin(st)) < 0)
		return rc;
	s = bms_store_prep(st, "SELECT t.user, t.family, t.used IS NOT NULL, u.disabled = 0"
			   " FROM tokens t JOIN users u ON u.name = t.user"
			   " WHERE t.hash = ?1 AND t.expires > ?2");
	if (!s) {
		rc = BMS_STORE_EFAIL;
		goto out;
	}
	sqlite3_bind_blob(s, 1, d, sizeof d, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *cu = (const char *)sqlite3_column_text(s, 0);
		const char *cf = (const char *)sqlite3_column_text(s, 1);

		snprintf(u, sizeof u, "%s", cu ? cu : "");
		snprintf(f, sizeof f, "%s", cf ? cf : "");
		/* Used before, whoever's it is now: the family goes. */
		rc = sqlite3_column_int(s, 2) ? BMS_STORE_TOKEN_REUSED :
			sqlite3_column_int(s, 3) ? 1 : 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	if (rc == BMS_STORE_TOKEN_REUSED) {
		if (!(s = bms_store_prep(st, "DELETE FROM tokens WHERE family = ?1"))) {
			rc = BMS_STORE_EFAIL;
			goto out;
		}
		sqlite3_bind_text(s, 1, f, -1, SQLITE_STATIC);
		if (done(st, s) < 0)
			rc = BMS_STORE_EFAIL;
	} else if (rc == 1) {
		if (!(s = bms_store_prep(st, "UPDATE tokens SET used = ?2 WHERE hash = ?1"))) {
			rc = BMS_STORE_EFAIL;
			goto out;
		}
		sqlite3_bind_blob(s, 1, d, sizeof d, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, now_ms);
		if (done(st, s) < 0)
			rc = BMS_STORE_EFAIL;
	}
out:
	if (rc < 0) {
		bms_store_tx_end(st, 0);
		return rc;
	}
	if (bms_store_tx_end(st, 1) < 0)
		return BMS_STORE_EFAIL;
	if (rc > 0 && user && usersz)
		snprintf(user, usersz, "%s", u);
	if (rc > 0 && fam)
		memcpy(fam, f, sizeof f);
	return rc;
}

int bms_store_token_check(struct bms_store *st, const char *token, int64_t now_ms,
			  char *user, size_t usersz)
{
	uint8_t d[BMS_SHA256_LEN];
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (user && usersz)
		user[0] = '\0';
	if (!token || !*token)
		return 0;
	bms_sha256(token, strlen(token), d);
	s = bms_store_prep(st, "SELECT t.user FROM tokens t JOIN users u ON u.name = t.user"
			   " WHERE t.hash = ?1 AND t.expires > ?2 AND t.used IS NULL"
			   " AND u.disabled = 0");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_blob(s, 1, d, sizeof d, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(s, 0);

		if (user && usersz)
			snprintf(user, usersz, "%s", u ? u : "");
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	return rc;
}

int bms_store_token_revoke(struct bms_store *st, const char *token)
{
	uint8_t d[BMS_SHA256_LEN];
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!token)
		return 0;
	bms_sha256(token, strlen(token), d);
	if (!(s = bms_store_prep(st, "DELETE FROM tokens WHERE hash = ?1")))
		return BMS_STORE_EFAIL;
	sqlite3_bind_blob(s, 1, d, sizeof d, SQLITE_STATIC);
	return done(st, s);
}

int bms_store_family_revoke(struct bms_store *st, const char *family)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!family_ok(family))
		return 0;
	if (!(s = bms_store_prep(st, "DELETE FROM tokens WHERE family = ?1")))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, family, -1, SQLITE_STATIC);
	return done(st, s);
}

/* ==== Registry rows as JSON ==== */

static void json_key(struct bms_buf *b, const char *key)
{
	bms_buf_putc(b, b->len ? ',' : '{');
	bms_buf_json_str(b, key, strlen(key));
	bms_buf_putc(b, ':');
}

static void json_str(struct bms_buf *b, const char *key, const char *val)
{
	if (!val)
		return;
	json_key(b, key);
	bms_buf_json_str(b, val, strlen(val));
}

static void json_long(struct bms_buf *b, const char *key, long val)
{
	if (val < 0)
		return;
	json_key(b, key);
	bms_buf_printf(b, "%ld", val);
}

static void json_bool(struct bms_buf *b, const char *key, int val)
{
	json_key(b, key);
	bms_buf_puts(b, val ? "true" : "false");
}

void bms_store_tenant_json(const struct bms_tenant *t, struct bms_buf *b)
{
	bms_buf_reset(b);
	json_str(b, "name", t->name);
	json_str(b, "created", t->created);
	json_long(b, "raw_days", t->keep.raw_days);
	json_long(b, "minute_days", t->keep.minute_days);
	json_long(b, "hour_days", t->keep.hour_days);
	bms_buf_putc(b, '}');
}

void bms_store_battery_json(const struct bms_battery *bat, struct bms_buf *b)
{
	bms_buf_reset(b);
	json_str(b, "bms_id", bat->bms_id);
	json_str(b, "uuid", bat->uuid);
	json_str(b, "name", bat->name);
	json_str(b, "chemistry", bat->chemistry);
	if (bat->nominal_capacity_ah >= 0) {
		json_key(b, "nominal_capacity_ah");
		bms_buf_num(b, bat->nominal_capacity_ah, 4);
	}
	json_long(b, "cell_count", bat->cell_count);
	json_str(b, "bms_type", bat->bms_type);
	json_str(b, "protocol", bat->protocol);
	json_str(b, "device", bat->device);
	json_long(b, "baud", bat->baud);
	json_long(b, "timeout_ms", bat->timeout_ms);
	json_str(b, "notes", bat->notes);
	json_bool(b, "auto_added", bat->auto_added);
	json_str(b, "created", bat->created);
	bms_buf_putc(b, '}');
}

void bms_store_user_json(const struct bms_user *u, struct bms_buf *b)
{
	bms_buf_reset(b);
	json_str(b, "name", u->name);
	json_str(b, "role", bms_store_role_name(u->role));
	json_bool(b, "disabled", u->disabled);
	json_str(b, "created", u->created);
	bms_buf_putc(b, '}');
}

void bms_store_superadmin_json(const struct bms_superadmin *a, struct bms_buf *b)
{
	bms_buf_reset(b);
	json_str(b, "name", a->name);
	json_bool(b, "disabled", a->disabled);
	json_str(b, "created", a->created);
	bms_buf_putc(b, '}');
}

/* ==== Audit ==== */

int bms_store_audit(struct bms_store *st, const char *user, const char *action,
		    const char *object, const char *detail)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	if (!action || !*action)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "audit entry without an action");
	s = bms_store_prep(st, "INSERT INTO audit (ts, user, action, object, detail)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_int64(s, 1, bms_ts_now_ms());
	sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	return done(st, s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The store (see store.h): its files and schema, opening and migrations,
 * tenants, super-admins, backup and check.  Ingest and history are in
 * storeput.c, queries in storeq.c, the registries (batteries, alerts,
 * users, tokens, audit) in storereg.c; store-int.h holds the handle they
 * share.
 *
 * Invariants.
 *  - A handle holds the control database and at most one tenant
 *    database, fixed at open; nothing later names a tenant, so a handle
 *    cannot reach another tenant's rows.  Tenant names are plain file
 *    names ([a-z0-9][a-z0-9_-]*), checked before any path is built.
 *  - Tenant administration (add, set) and every call on super-admins
 *    need a control-only handle; a tenant handle lists its own tenant
 *    only.
 *  - Both databases are in WAL mode with synchronous NORMAL (FULL on
 *    request), foreign keys on, a modest page cache, and every wait for
 *    a lock bounded by busy_timeout.
 *  - No database file the store opens or makes (control.db, a tenant's,
 *    a backup's) may be a symbolic link: each is opened with
 *    SQLITE_OPEN_NOFOLLOW under its directory's real path, so a link
 *    planted as tenants/NAME.db cannot point a handle at another file,
 *    while the store's directory itself may be reached through links.
 *  - Every directory and database file the store makes is private
 *    (0700, 0600) whatever the umask: make_dir and make_file create
 *    them so before SQLite sees them.  SQLite's unix VFS creates a
 *    database's -wal, -shm and -journal files with exactly the database
 *    file's permission bits (findCreateFileMode and the -shm open in
 *    os_unix.c, robust_open setting them past the umask), so those are
 *    private too, and nothing here changes the process's umask.  What
 *    exists already keeps its mode; bms_store_check_modes reports one
 *    that is wider.
 *  - PRAGMA user_version counts the migrations applied; each runs in its
 *    own IMMEDIATE transaction that first reads the version again, so
 *    processes opening one database at once upgrade it once.
 *  - Backups read each source in one read transaction (one consistent
 *    snapshot, writers going on); a backup's control.db is put in place
 *    last.
 *
 * Workload: a few opens per process; administration and maintenance now
 * and then.  The hot paths are in storeput.c and storeq.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-int.h"
#include "ts.h"

#define CACHE_KIB 1024		/* page cache per connection, KiB */
#define WAL_LIMIT (64 << 20)	/* bytes the WAL file is cut back to */
#define BACKUP_PAGES 256	/* pages a backup step copies */
/* ==== Schema ==== */

/* Tenant database migrations; user_version is the number applied. */
static const char *const tenant_mig[] = {
	/* 1: batteries and the records of the pipeline */
	"CREATE TABLE batteries (\n"
	"\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"\tbms_id TEXT NOT NULL UNIQUE,\n"
	"\tname TEXT,\n"
	"\tchemistry TEXT,\n"
	"\tnominal_capacity_ah REAL,\n"
	"\tcell_count INTEGER,\n"
	"\tbms_type TEXT,\n"
	"\tprotocol TEXT,\n"
	"\tdevice TEXT,\n"
	"\tbaud INTEGER,\n"
	"\ttimeout_ms INTEGER,\n"
	"\tnotes TEXT,\n"
	"\tcreated TEXT NOT NULL,\n"
	"\tauto_added INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE TABLE readings (\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tbody BLOB NOT NULL,\n"
	"\tPRIMARY KEY (battery, ts)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE status (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tstate TEXT,\n"
	"\treason TEXT,\n"
	"\tquality REAL,\n"
	"\tdoc TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX status_battery_ts ON status (battery, ts);\n"
	"CREATE INDEX status_ts ON status (ts);\n"
	"CREATE TABLE alerts (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tseverity TEXT,\n"
	"\tcode TEXT,\n"
	"\tstate TEXT,\n"
	"\tmessage TEXT,\n"
	"\tdoc TEXT NOT NULL,\n"
	"\tack_by TEXT,\n"
	"\tack_at INTEGER\n"
	");\n"
	"CREATE INDEX alerts_battery_ts ON alerts (battery, ts);\n"
	"CREATE INDEX alerts_ts ON alerts (ts);\n"
	"CREATE TABLE aggregates (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tdoc TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX aggregates_battery_ts ON aggregates (battery, ts);\n"
	"CREATE INDEX aggregates_ts ON aggregates (ts);\n",

	/* 2: the per-minute (period 60) and per-hour (3600) tiers: per metric
	 * the readings that had it, their extremes and sum, and the value
	 * and time (ms) of the latest of them */
	"CREATE TABLE tiers (\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tperiod INTEGER NOT NULL,\n"
	"\tstart INTEGER NOT NULL,\n"
	"\tn INTEGER NOT NULL,\n"
	"\tlast_ts INTEGER NOT NULL,\n"
	"\tpack_voltage_n INTEGER NOT NULL DEFAULT 0, pack_voltage_min REAL,\n"
	"\tpack_voltage_max REAL, pack_voltage_sum REAL,\n"
	"\tpack_voltage_last REAL, pack_voltage_last_ts INTEGER,\n"
	"\tpack_current_n INTEGER NOT NULL DEFAULT 0, pack_current_min REAL,\n"
	"\tpack_current_max REAL, pack_current_sum REAL,\n"
	"\tpack_current_last REAL, pack_current_last_ts INTEGER,\n"
	"\tpack_power_n INTEGER NOT NULL DEFAULT 0, pack_power_min REAL,\n"
	"\tpack_power_max REAL, pack_power_sum REAL,\n"
	"\tpack_power_last REAL, pack_power_last_ts INTEGER,\n"
	"\tsoc_percent_n INTEGER NOT NULL DEFAULT 0, soc_percent_min REAL,\n"
	"\tsoc_percent_max REAL, soc_percent_sum REAL,\n"
	"\tsoc_percent_last REAL, soc_percent_last_ts INTEGER,\n"
	"\tcell_voltage_min_n INTEGER NOT NULL DEFAULT 0, cell_voltage_min_min REAL,\n"
	"\tcell_voltage_min_max REAL, cell_voltage_min_sum REAL,\n"
	"\tcell_voltage_min_last REAL, cell_voltage_min_last_ts INTEGER,\n"
	"\tcell_voltage_max_n INTEGER NOT NULL DEFAULT 0, cell_voltage_max_min REAL,\n"
	"\tcell_voltage_max_max REAL, cell_voltage_max_sum REAL,\n"
	"\tcell_voltage_max_last REAL, cell_voltage_max_last_ts INTEGER,\n"
	"\ttemperature_min_n INTEGER NOT NULL DEFAULT 0, temperature_min_min REAL,\n"
	"\ttemperature_min_max REAL, temperature_min_sum REAL,\n"
	"\ttemperature_min_last REAL, temperature_min_last_ts INTEGER,\n"
	"\ttemperature_max_n INTEGER NOT NULL DEFAULT 0, temperature_max_min REAL,\n"
	"\ttemperature_max_max REAL, temperature_max_sum REAL,\n"
	"\ttemperature_max_last REAL, temperature_max_last_ts INTEGER,\n"
	"\tPRIMARY KEY (battery, period, start)\n"
	") WITHOUT ROWID;\n",

	/* 3: users, refresh tokens and the audit log of bms-serve */
	"CREATE TABLE users (\n"
	"\tname TEXT PRIMARY KEY,\n"
	"\trole TEXT NOT NULL,\n"
	"\tpwhash TEXT NOT NULL,\n"
	"\tdisabled INTEGER NOT NULL DEFAULT 0,\n"
	"\tcreated TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE tokens (\n"
	"\thash BLOB PRIMARY KEY,\n"
	"\tuser TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,\n"
	"\texpires INTEGER NOT NULL,\n"
	"\tcreated TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX tokens_user ON tokens (user);\n"
	"CREATE TABLE audit (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tts INTEGER NOT NULL,\n"
	"\tuser TEXT,\n"
	"\taction TEXT NOT NULL,\n"
	"\tobject TEXT,\n"
	"\tdetail TEXT\n"
	");\n",

	/* 4: a status, alert or aggregate record is kept once, as readings
	 * are: exact copies (same battery, time and text) that replayed
	 * input left are dropped, the first one kept, which takes over the
	 * earliest acknowledgement of a copy of an alert */
	"UPDATE alerts SET (ack_by, ack_at) = (SELECT d.ack_by, d.ack_at FROM alerts d\n"
	"\tWHERE d.battery = alerts.battery AND d.ts = alerts.ts AND d.doc = alerts.doc\n"
	"\tAND d.ack_by IS NOT NULL ORDER BY d.ack_at, d.id LIMIT 1)\n"
	"WHERE ack_by IS NULL AND EXISTS (SELECT 1 FROM alerts d\n"
	"\tWHERE d.battery = alerts.battery AND d.ts = alerts.ts AND d.doc = alerts.doc\n"
	"\tAND d.ack_by IS NOT NULL);\n"
	"DELETE FROM status WHERE id NOT IN\n"
	"\t(SELECT min(id) FROM status GROUP BY battery, ts, doc);\n"
	"DELETE FROM alerts WHERE id NOT IN\n"
	"\t(SELECT min(id) FROM alerts GROUP BY battery, ts, doc);\n"
	"DELETE FROM aggregates WHERE id NOT IN\n"
	"\t(SELECT min(id) FROM aggregates GROUP BY battery, ts, doc);\n"
	"CREATE UNIQUE INDEX status_battery_ts_doc ON status (battery, ts, doc);\n"
	"CREATE UNIQUE INDEX alerts_battery_ts_doc ON alerts (battery, ts, doc);\n"
	"CREATE UNIQUE INDEX aggregates_battery_ts_doc ON aggregates (battery, ts, doc);\n",

	/* 5: the lifetime analytics ("health") and anomaly records of
	 * bms-agg, each kept once as the line it came as, like aggregates;
	 * an anomaly's code and state beside it, to be searched on */
	"CREATE TABLE health (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tdoc TEXT NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX health_battery_ts_doc ON health (battery, ts, doc);\n"
	"CREATE INDEX health_ts ON health (ts);\n"
	"CREATE TABLE anomalies (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\tbattery INTEGER NOT NULL REFERENCES batteries(id),\n"
	"\tts INTEGER NOT NULL,\n"
	"\tcode TEXT,\n"
	"\tstate TEXT,\n"
	"\tdoc TEXT NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX anomalies_battery_ts_doc ON anomalies (battery, ts, doc);\n"
	"CREATE INDEX anomalies_ts ON anomalies (ts);\n",

	/* 6: an alert's alert_id (stable per rule and battery, so that a
	 * raise and its clear pair up) beside it, taken from the records
	 * stored before as ingest takes it (a string, else NULL); and the
	 * acknowledged alerts by the time of their acknowledgement, for a
	 * stage that polls for new ones */
	"ALTER TABLE alerts ADD COLUMN alert_id TEXT;\n"
	"UPDATE alerts SET alert_id = json_extract(doc, '$.alert_id')\n"
	"\tWHERE json_valid(doc) AND json_type(doc, '$.alert_id') = 'text';\n"
	"CREATE INDEX alerts_alert_id_ts ON alerts (alert_id, ts);\n"
	"CREATE INDEX alerts_ack_at ON alerts (ack_at) WHERE ack_at IS NOT NULL;\n",

	/* 7: refresh tokens in families, rotated on every use: a token's
	 * family (the login that began it; each token kept before began one
	 * of its own) and when it was used (ms; NULL while it is not) */
	"ALTER TABLE tokens ADD COLUMN family TEXT NOT NULL DEFAULT '';\n"
	"ALTER TABLE tokens ADD COLUMN used INTEGER;\n"
	"UPDATE tokens SET family = lower(hex(randomblob(16)));\n"
	"CREATE INDEX tokens_family ON tokens (family);\n",

	/* 8: a UUID per battery (random, version 4, lowercase), by which
	 * bms-serve's API names it as well as by its bms_id: the batteries
	 * registered before get theirs here, from SQLite's randomness with
	 * the version and variant bits set, the others when they are
	 * registered (ALTER TABLE cannot add a UNIQUE column: the index
	 * makes it one) */
	"ALTER TABLE batteries ADD COLUMN uuid TEXT;\n"
	"UPDATE batteries SET uuid = lower(hex(randomblob(4))) || '-'\n"
	"\t|| lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)\n"
	"\t|| '-' || substr('89ab', 1 + (random() & 3), 1)\n"
	"\t|| substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));\n"
	"CREATE UNIQUE INDEX batteries_uuid ON batteries (uuid);\n",
};

/* Control database migrations. */
static const char *const control_mig[] = {
	/* 1: the tenants and their retention in days (0: forever) */
	"CREATE TABLE tenants (\n"
	"\tname TEXT PRIMARY KEY,\n"
	"\tcreated TEXT NOT NULL,\n"
	"\traw_days INTEGER NOT NULL DEFAULT 30,\n"
	"\tminute_days INTEGER NOT NULL DEFAULT 400,\n"
	"\thour_days INTEGER NOT NULL DEFAULT 0\n"
	");\n",

	/* 2: the super-admins of bms-serve, who manage the tenants: apart
	 * from every tenant's users, with their salted yescrypt hashes */
	"CREATE TABLE superadmins (\n"
	"\tname TEXT PRIMARY KEY,\n"
	"\tpwhash TEXT NOT NULL,\n"
	"\tdisabled INTEGER NOT NULL DEFAULT 0,\n"
	"\tcreated TEXT NOT NULL\n"
	");\n",
};

#define N_TENANT_MIG ((int)(sizeof tenant_mig / sizeof tenant_mig[0]))
#define N_CONTROL_MIG ((int)(sizeof control_mig / sizeof control_mig[0]))

const char *bms_store_migration(int tenant, int n)
{
	if (tenant)
		return n >= 1 && n <= N_TENANT_MIG ? tenant_mig[n - 1] : NULL;
	return n >= 1 && n <= N_CONTROL_MIG ? control_mig[n - 1] : NULL;
}

/* ==== Errors ==== */

int bms_store_fail(struct bms_store *st, int code, const char *fmt, ...)
{
	va_list ap;

	st->busy = 0;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
	return code;
}

int bms_store_dberr(struct bms_store *st, sqlite3 *db, const char *path)
{
	if ((sqlite3_errcode(db) & 0xff) == SQLITE_BUSY) {
		bms_store_fail(st, BMS_STORE_EFAIL,
			       "%s: busy for %d ms (another writer holds it)",
			       path, st->busy_ms);
		st->busy = 1;
		return BMS_STORE_EFAIL;
	}
	return bms_store_fail(st, BMS_STORE_EFAIL, "%s ('%s')", sqlite3_errmsg(db), path);
}

int bms_store_tdberr(struct bms_store *st)
{
	return bms_store_dberr(st, st->db, st->db_path);
}

static int ctlerr(struct bms_store *st)
{
	return bms_store_dberr(st, st->ctl, st->ctl_path);
}

int bms_store_need_tenant(struct bms_store *st)
{
	if (st->db)
		return 0;
	return bms_store_fail(st, BMS_STORE_ECONFIG,
			      "no tenant given: this needs a tenant's store");
}

/* The escaped form of the character at p (see bms_store_esc) in e[0..6]:
 * returns its length, *adv the bytes of p it stands for. */
static size_t esc_one(const unsigned char *p, char e[6], size_t *adv)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 1;
	unsigned c = *p;

	*adv = 1;
	if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {	/* a C1 control */
		c = p[1];
		*adv = 2;
	} else if (c >= 0xc0 && c < 0xf8) {	/* a whole UTF-8 sequence */
		size_t want = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		while (n < want && (p[n] & 0xc0) == 0x80)
			n++;
		memcpy(e, p, n);
		*adv = n;
		return n;
	}
	switch (c) {
	case '"': case '\\': case '\'':
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	case '\n':
		memcpy(e, "\\n", 2);
		return 2;
	case '\r':
		memcpy(e, "\\r", 2);
		return 2;
	case '\t':
		memcpy(e, "\\t", 2);
		return 2;
	}
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
		memcpy(e, "\\u00", 4);
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		return 6;
	}
	e[0] = (char)c;
	return 1;
}

const char *bms_store_esc(char *out, size_t outsz, const char *s)
{
	const unsigned char *p;
	size_t o = 0, total = 0, n, adv, room;
	char e[6];

	assert(outsz >= 8);
	for (p = (const unsigned char *)s; *p; p += adv)
		total += esc_one(p, e, &adv);
	room = total < outsz ? outsz - 1 : outsz - 4;	/* "..." if cut */
	for (p = (const unsigned char *)s; *p; p += adv) {
		n = esc_one(p, e, &adv);
		if (o + n > room)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	if (*p) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

const char *bms_store_error(const struct bms_store *st)
{
	return st->err;
}

int bms_store_busy(const struct bms_store *st)
{
	return st->busy;
}

const char *bms_store_tenant(const struct bms_store *st)
{
	return st->db ? st->tenant : NULL;
}

int bms_store_name_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (n > 0 && (c == '_' || c == '-'))
			continue;
		return 0;
	}
	return n >= 1 && n <= BMS_STORE_NAME_MAX;
}

/* ==== Small SQL helpers ==== */

static int exec(struct bms_store *st, sqlite3 *db, const char *path, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return bms_store_dberr(st, db, path);
	return 0;
}

static uint32_t sql_hash(const char *sql)
{
	uint32_t h = 2166136261u;

	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 16777619u;
	return h;
}

/*
 * sql prepared on db (the file at path), or NULL with the error set: a
 * statement kept from before, same text and database, not in use; else
 * prepared now and kept in a free slot (or the next one that is not in
 * use, whose statement is finalized).
 */
static sqlite3_stmt *prep_on(struct bms_store *st, sqlite3 *db, const char *path,
			     const char *sql)
{
	uint32_t h = sql_hash(sql);
	struct store_stmt *e;
	sqlite3_stmt *s = NULL;

	for (int i = 0; i < STORE_STMTS; i++) {
		e = &st->stmts[i];
		if (e->s && !e->busy && e->hash == h && sqlite3_db_handle(e->s) == db &&
		    strcmp(sqlite3_sql(e->s), sql) == 0) {
			e->busy = 1;
			return e->s;
		}
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		bms_store_dberr(st, db, path);
		sqlite3_finalize(s);
		return NULL;
	}
	for (int i = 0; i < STORE_STMTS; i++) {
		e = &st->stmts[(st->stmt_next + i) % STORE_STMTS];
		if (e->busy)
			continue;
		st->stmt_next = (int)(e - st->stmts + 1) % STORE_STMTS;
		sqlite3_finalize(e->s);
		*e = (struct store_stmt){ s, h, 1 };
		break;
	}
	return s;
}

void bms_store_finish(struct bms_store *st, sqlite3_stmt *s)
{
	if (!s)
		return;
	for (int i = 0; i < STORE_STMTS; i++)
		if (st->stmts[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->stmts[i].busy = 0;
			return;
		}
	sqlite3_finalize(s);
}

sqlite3_stmt *bms_store_prep(struct bms_store *st, const char *sql)
{
	return prep_on(st, st->db, st->db_path, sql);
}

static sqlite3_stmt *ctlprep(struct bms_store *st, const char *sql)
{
	return prep_on(st, st->ctl, st->ctl_path, sql);
}

/* PRAGMA user_version of db, or -1 with the error set. */
static int user_version(struct bms_store *st, sqlite3 *db, const char *path)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	else
		bms_store_dberr(st, db, path);
	bms_store_finish(st, s);
	return v;
}

/* ==== Opening ==== */

enum { OPEN_RAW = 1 << 30 };	/* open_db: no pragmas, no WAL switch */

static int on_read_only_fs(const char *path)
{
	return access(path, W_OK) != 0 && errno == EROFS;
}

/*
 * On a read-only filesystem a WAL database cannot be read the usual way:
 * its -shm file cannot be made.  Nobody can change the file there either,
 * so it is opened read-only as immutable.  NULL if that fails too.
 */
static sqlite3 *open_immutable(const char *path, int flags)
{
	struct bms_buf uri = BMS_BUF_INIT;
	sqlite3 *db = NULL;

	bms_buf_puts(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-~", *p))
			bms_buf_putc(&uri, (char)*p);
		else
			bms_buf_printf(&uri, "%%%02X", *p);
	}
	bms_buf_puts(&uri, "?immutable=1");
	if (uri.oom || sqlite3_open_v2(uri.p, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
				       SQLITE_OPEN_NOMUTEX | (flags & SQLITE_OPEN_NOFOLLOW),
				       NULL) != SQLITE_OK) {
		sqlite3_close(db);
		db = NULL;
	}
	bms_buf_free(&uri);
	return db;
}

/*
 * The name SQLite is to open path by: path with its directory resolved to
 * its real path, in out[0..STORE_PATH_MAX).  SQLITE_OPEN_NOFOLLOW refuses
 * a symbolic link anywhere in the name it is given, so this leaves only
 * the file itself to be refused.  path as it is when the directory cannot
 * be resolved (SQLite then says why it cannot open the file).
 */
static const char *real_name(const char *path, char *out)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char dir[STORE_PATH_MAX], *r;
	int n;

	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (!(r = realpath(dir, NULL)))
		return path;
	n = snprintf(out, STORE_PATH_MAX, "%s%s%s", r, strcmp(r, "/") ? "/" : "", base);
	free(r);
	return n > 0 && n < STORE_PATH_MAX ? out : path;
}

/*
 * Make path an empty file of mode 0600 (whatever the umask) for SQLite to
 * open as a new database, unless something is there already: an
 * existing file keeps its mode, and a symbolic link is left for SQLite to
 * refuse.  Not following a link, this never creates a file elsewhere.
 */
static int make_file(struct bms_store *st, const char *path, const char *shown)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return bms_store_fail(st, BMS_STORE_EFAIL, "cannot create '%s': %s", shown,
				      strerror(errno));
	/* A umask that took the owner's own bits is undone too. */
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 07777) != 0600)
		fchmod(fd, 0600);
	close(fd);
	return 0;
}

/*
 * Open path with flags (SQLITE_OPEN_*; OPEN_RAW leaves the journal mode
 * and pragmas alone), with the busy timeout; a read-write connection is
 * put in WAL mode with the store's pragmas.  On a read-only filesystem
 * the database is opened read-only (queries answer, writes fail).  A
 * path that is a symbolic link is refused.  With SQLITE_OPEN_CREATE a
 * new database file is made private first (make_file).
 */
static int open_db(struct bms_store *st, const char *path, int flags, sqlite3 **out)
{
	char real[STORE_PATH_MAX];
	const char *name = real_name(path, real);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char sql[128];
	int rc, ro = flags & SQLITE_OPEN_READONLY;

	*out = NULL;
	if ((flags & SQLITE_OPEN_CREATE) && make_file(st, name, path) < 0)
		return BMS_STORE_EFAIL;
	flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	rc = sqlite3_open_v2(name, &db, flags & ~OPEN_RAW, NULL);
	if (rc != SQLITE_OK) {
		if (db && sqlite3_extended_errcode(db) == SQLITE_CANTOPEN_SYMLINK)
			bms_store_fail(st, BMS_STORE_EFAIL, "cannot open '%s': it is a"
				       " symbolic link; a store's databases must be plain"
				       " files", path);
		else
			bms_store_fail(st, BMS_STORE_EFAIL, "cannot open '%s': %s", path,
				       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return BMS_STORE_EFAIL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, st->busy_ms);
	if (flags & OPEN_RAW) {
		*out = db;
		return 0;
	}
	/* The first statement reads the file; journal_mode answers with the
	 * mode now in force. */
	rc = sqlite3_prepare_v2(db, ro ? "SELECT count(*) FROM sqlite_schema" :
				"PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && (sqlite3_errcode(db) & 0xff) == SQLITE_CANTOPEN &&
	    on_read_only_fs(path)) {
		bms_store_finish(st, s);
		sqlite3_close(db);
		if (!(db = open_immutable(name, flags)))
			return bms_store_fail(st, BMS_STORE_EFAIL, "cannot open '%s': %s", path,
					      "unable to open database file");
		sqlite3_extended_result_codes(db, 1);
		*out = db;
		return 0;
	}
	if (ro) {		/* a damaged file is for the caller to report */
		bms_store_finish(st, s);
		*out = db;
		return 0;
	}
	if (rc != SQLITE_ROW) {
		bms_store_fail(st, BMS_STORE_EFAIL, "cannot open '%s': %s", path,
			       sqlite3_errmsg(db));
		if ((sqlite3_errcode(db) & 0xff) == SQLITE_BUSY)
			bms_store_dberr(st, db, path);
		goto fail;
	}
	if (sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		bms_store_fail(st, BMS_STORE_EFAIL,
			       "cannot open '%s': it cannot be put in WAL mode", path);
		goto fail;
	}
	bms_store_finish(st, s);
	s = NULL;
	snprintf(sql, sizeof sql,
		 "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;"
		 " PRAGMA cache_size=-%d; PRAGMA journal_size_limit=%d",
		 st->sync_full ? "FULL" : "NORMAL", CACHE_KIB, WAL_LIMIT);
	if (exec(st, db, path, sql) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	bms_store_finish(st, s);
	sqlite3_close(db);
	return BMS_STORE_EFAIL;
}

/* Bring db up to the last of the nmig migrations, each in its own
 * transaction; refuse a database newer than that. */
static int migrate(struct bms_store *st, sqlite3 *db, const char *path,
		   const char *const *mig, int nmig)
{
	char sql[64];
	int v = user_version(st, db, path);

	if (v < 0)
		return BMS_STORE_EFAIL;
	for (int n = v + 1; n <= nmig; n++) {
		if (exec(st, db, path, "BEGIN IMMEDIATE") < 0)
			return BMS_STORE_EFAIL;
		/* Another process may have upgraded it meanwhile. */
		v = user_version(st, db, path);
		if (v < 0)
			goto fail;
		if (v >= n) {
			n = v;
			if (exec(st, db, path, "COMMIT") < 0)
				goto fail;
			continue;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", n);
		if (exec(st, db, path, mig[n - 1]) < 0 || exec(st, db, path, sql) < 0 ||
		    exec(st, db, path, "COMMIT") < 0)
			goto fail;
	}
	if (v > nmig)
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "%s: schema version %d is newer than this bms-store"
				      " knows (%d); use a newer bms-store", path, v, nmig);
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return BMS_STORE_EFAIL;
}

/* Fill in the handle's paths; ECONFIG if they do not fit. */
static int set_paths(struct bms_store *st, const char *dir, const char *tenant)
{
	if (strlen(dir) >= sizeof st->dir)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "store path too long: '%.64s...'",
				      dir);
	snprintf(st->dir, sizeof st->dir, "%s", dir);
	snprintf(st->ctl_path, sizeof st->ctl_path, "%s/control.db", dir);
	if (tenant) {
		snprintf(st->tenant, sizeof st->tenant, "%s", tenant);
		snprintf(st->db_path, sizeof st->db_path, "%s/tenants/%s.db", dir, tenant);
	}
	return 0;
}

static struct bms_store *new_handle(const struct bms_store_opts *opts)
{
	struct bms_store *st = calloc(1, sizeof *st);

	if (!st)
		return NULL;
	st->busy_ms = opts && opts->busy_ms > 0 ? opts->busy_ms : 5000;
	st->sync_full = opts && opts->sync_full;
	st->last = -1;
	for (int i = 0; i < STORE_HASH; i++)
		st->hash[i] = -1;
	return st;
}

/* Make directory path, private (0700 whatever the umask), unless there is
 * one already: that one keeps its mode. */
static int make_dir(struct bms_store *st, const char *path)
{
	struct stat sb;
	int fd;

	if (mkdir(path, 0700) == 0) {
		/* A umask that took the owner's own bits is undone too. */
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &sb) == 0 && (sb.st_mode & 07777) != 0700)
				fchmod(fd, 0700);
			close(fd);
		} else {
			chmod(path, 0700);
		}
		return 0;
	}
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	return bms_store_fail(st, BMS_STORE_EFAIL, "cannot create '%s': %s", path,
			      errno == EEXIST ? "not a directory" : strerror(errno));
}

static void copy_err(const struct bms_store *st, char *err, size_t errsz)
{
	if (err && errsz)
		snprintf(err, errsz, "%s", st->err);
}

int bms_store_init(const char *dir, char *err, size_t errsz)
{
	struct bms_store *st = new_handle(NULL);
	char path[STORE_PATH_MAX];
	int rc;

	if (!st) {
		snprintf(err, errsz, "out of memory");
		return BMS_STORE_EFAIL;
	}
	rc = set_paths(st, dir, NULL);
	if (rc == 0)
		rc = make_dir(st, dir);
	snprintf(path, sizeof path, "%s/tenants", dir);
	if (rc == 0)
		rc = make_dir(st, path);
	if (rc == 0)
		rc = open_db(st, st->ctl_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     &st->ctl);
	if (rc == 0)
		rc = migrate(st, st->ctl, st->ctl_path, control_mig, N_CONTROL_MIG);
	if (rc < 0)
		copy_err(st, err, errsz);
	bms_store_close(st);
	return rc;
}

/* Does control.db list tenant name?  1, 0, or EFAIL. */
static int tenant_known(struct bms_store *st, const char *name)
{
	sqlite3_stmt *s = ctlprep(st, "SELECT 1 FROM tenants WHERE name = ?1");
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = ctlerr(st);
	bms_store_finish(st, s);
	return rc;
}

static int bad_name(struct bms_store *st, const char *what, const char *name)
{
	char e[84];

	return bms_store_fail(st, BMS_STORE_ECONFIG,
			      "bad %s name '%s': use a-z, 0-9, '_' and '-', at most"
			      " %d bytes, starting with a letter or digit",
			      what, bms_store_esc(e, sizeof e, name ? name : ""),
			      BMS_STORE_NAME_MAX);
}

int bms_store_open(struct bms_store **out, const char *dir, const char *tenant,
		   const struct bms_store_opts *opts, char *err, size_t errsz)
{
	struct bms_store *st = new_handle(opts);
	struct stat sb;
	int rc;

	*out = NULL;
	if (!st) {
		snprintf(err, errsz, "out of memory");
		return BMS_STORE_EFAIL;
	}
	rc = set_paths(st, dir, tenant);
	if (rc == 0 && tenant && !bms_store_name_ok(tenant))
		rc = bad_name(st, "tenant", tenant);
	if (rc == 0 && stat(st->ctl_path, &sb) != 0)
		rc = bms_store_fail(st, BMS_STORE_ECONFIG,
				    "cannot open store '%s': no control.db; create it"
				    " with: bms-store --db %s init", dir, dir);
	if (rc == 0)
		rc = open_db(st, st->ctl_path, SQLITE_OPEN_READWRITE, &st->ctl);
	if (rc == 0)
		rc = migrate(st, st->ctl, st->ctl_path, control_mig, N_CONTROL_MIG);
	if (rc == 0 && tenant) {
		rc = tenant_known(st, tenant);
		if (rc == 0)
			rc = bms_store_fail(st, BMS_STORE_ECONFIG,
					    "no tenant '%s' in store '%s'; add it with:"
					    " bms-store --db %s tenants add %s",
					    tenant, dir, dir, tenant);
		else if (rc == 1)
			rc = 0;
	}
	if (rc == 0 && tenant)
		rc = open_db(st, st->db_path, SQLITE_OPEN_READWRITE, &st->db);
	if (rc == 0 && tenant)
		rc = migrate(st, st->db, st->db_path, tenant_mig, N_TENANT_MIG);
	if (rc == 0 && tenant) {
		st->rp = calloc(1, sizeof *st->rp);
		st->bats = calloc(STORE_CACHE, sizeof *st->bats);
		if (!st->rp || !st->bats)
			rc = bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	}
	if (rc < 0) {
		copy_err(st, err, errsz);
		bms_store_close(st);
		return rc;
	}
	st->err[0] = '\0';
	*out = st;
	return 0;
}
void bms_store_close(struct bms_store *st)
{
	if (!st)
		return;
	bms_store_ingest_close(st);
	bms_store_finish(st, st->acks);
	bms_store_finish(st, st->data_version);
	for (int i = 0; i < STORE_STMTS; i++)
		sqlite3_finalize(st->stmts[i].s);
	sqlite3_close(st->db);
	sqlite3_close(st->ctl);
	bms_buf_free(&st->out);
	bms_buf_free(&st->sbuf);
	free(st->rp);
	free(st);
}

/* ==== Tenants ==== */

static void fill_keep(struct bms_retention *k, const struct bms_retention *in)
{
	k->raw_days = in && in->raw_days >= 0 ? in->raw_days : 30;
	k->minute_days = in && in->minute_days >= 0 ? in->minute_days : 400;
	k->hour_days = in && in->hour_days >= 0 ? in->hour_days : 0;
}

/* ECONFIG unless st is a control-only handle: a tenant handle may not
 * reach another tenant's settings, nor the super-admins (what they are). */
static int need_control(struct bms_store *st, const char *what)
{
	if (!st->db)
		return 0;
	return bms_store_fail(st, BMS_STORE_ECONFIG, "%s are managed on the whole"
			      " store, not through tenant '%s'", what, st->tenant);
}

static int no_tenant(struct bms_store *st, const char *name)
{
	return bms_store_fail(st, BMS_STORE_ECONFIG,
			      "no tenant '%s' in store '%s'; add it with:"
			      " bms-store --db %s tenants add %s", name, st->dir, st->dir, name);
}

int bms_store_tenant_add(struct bms_store *st, const char *name,
			 const struct bms_retention *keep)
{
	char path[STORE_PATH_MAX], now[BMS_TS_LEN + 1];
	struct bms_store *t;
	struct bms_retention k;
	sqlite3_stmt *s;
	int rc;

	if ((rc = need_control(st, "tenants")) < 0)
		return rc;
	if (!bms_store_name_ok(name))
		return bad_name(st, "tenant", name);
	fill_keep(&k, keep);
	if (exec(st, st->ctl, st->ctl_path, "BEGIN IMMEDIATE") < 0)
		return BMS_STORE_EFAIL;
	rc = tenant_known(st, name);
	if (rc == 1)
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "tenant '%s' exists already", name);
	if (rc < 0)
		goto out;
	s = ctlprep(st, "INSERT INTO tenants (name, created, raw_days, minute_days,"
		    " hour_days) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (!s) {
		rc = BMS_STORE_EFAIL;
		goto out;
	}
	bms_ts_now(now);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, k.raw_days);
	sqlite3_bind_int64(s, 4, k.minute_days);
	sqlite3_bind_int64(s, 5, k.hour_days);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : ctlerr(st);
	bms_store_finish(st, s);
	if (rc < 0)
		goto out;

	/* The tenant's database, created and brought to the last version;
	 * a file left from an earlier tenant of that name is kept. */
	t = new_handle(NULL);
	if (!t) {
		rc = bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
		goto out;
	}
	t->busy_ms = st->busy_ms;
	t->sync_full = st->sync_full;
	snprintf(path, sizeof path, "%s/tenants", st->dir);
	rc = make_dir(t, path);
	snprintf(path, sizeof path, "%s/tenants/%s.db", st->dir, name);
	if (rc == 0)
		rc = open_db(t, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &t->db);
	if (rc == 0)
		rc = migrate(t, t->db, path, tenant_mig, N_TENANT_MIG);
	if (rc < 0)
		bms_store_fail(st, rc, "%s", t->err);
	bms_store_close(t);
out:
	if (rc == 0 && exec(st, st->ctl, st->ctl_path, "COMMIT") == 0)
		return 0;
	if (!sqlite3_get_autocommit(st->ctl))
		sqlite3_exec(st->ctl, "ROLLBACK", NULL, NULL, NULL);
	return rc < 0 ? rc : BMS_STORE_EFAIL;
}

int bms_store_tenant_set(struct bms_store *st, const char *name,
			 const struct bms_retention *keep)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = need_control(st, "tenants")) < 0)
		return rc;
	if (!bms_store_name_ok(name))
		return bad_name(st, "tenant", name);
	s = ctlprep(st, "UPDATE tenants SET"
		    " raw_days = CASE WHEN ?2 < 0 THEN raw_days ELSE ?2 END,"
		    " minute_days = CASE WHEN ?3 < 0 THEN minute_days ELSE ?3 END,"
		    " hour_days = CASE WHEN ?4 < 0 THEN hour_days ELSE ?4 END"
		    " WHERE name = ?1");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, keep ? keep->raw_days : -1);
	sqlite3_bind_int64(s, 3, keep ? keep->minute_days : -1);
	sqlite3_bind_int64(s, 4, keep ? keep->hour_days : -1);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : ctlerr(st);
	bms_store_finish(st, s);
	if (rc == 0 && sqlite3_changes(st->ctl) == 0)
		rc = no_tenant(st, name);
	return rc;
}

int bms_store_tenant_list(struct bms_store *st,
			  int (*fn)(void *ctx, const struct bms_tenant *t), void *ctx)
{
	sqlite3_stmt *s = ctlprep(st, "SELECT name, created, raw_days, minute_days,"
				  " hour_days FROM tenants WHERE ?1 IS NULL OR name = ?1"
				  " ORDER BY name");
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	/* A tenant handle sees its own tenant only. */
	sqlite3_bind_text(s, 1, bms_store_tenant(st), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct bms_tenant t = {
			.name = (const char *)sqlite3_column_text(s, 0),
			.created = (const char *)sqlite3_column_text(s, 1),
			.keep = {
				.raw_days = (long)sqlite3_column_int64(s, 2),
				.minute_days = (long)sqlite3_column_int64(s, 3),
				.hour_days = (long)sqlite3_column_int64(s, 4),
			},
		};

		if ((rc = fn(ctx, &t)) != 0) {
			bms_store_finish(st, s);
			return rc;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : ctlerr(st);
	bms_store_finish(st, s);
	return rc;
}

/* ==== Super-admins ==== */

static int superadmin_ok(struct bms_store *st, const char *name)
{
	if (!bms_store_name_ok(name))
		return bad_name(st, "super-admin", name);
	return 0;
}

static int no_superadmin(struct bms_store *st, const char *name)
{
	return bms_store_fail(st, BMS_STORE_ECONFIG, "no super-admin '%s'", name);
}

/* The checks every change of a super-admin makes first. */
static int superadmin_change(struct bms_store *st, const char *name, const char *password)
{
	int rc;

	if ((rc = need_control(st, "super-admins")) < 0 || (rc = superadmin_ok(st, name)) < 0)
		return rc;
	if (password && !*password)
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "empty password for super-admin '%s'", name);
	return 0;
}

int bms_store_superadmin_add(struct bms_store *st, const char *name, const char *password)
{
	char h[CRYPT_OUTPUT_SIZE], now[BMS_TS_LEN + 1];
	sqlite3_stmt *s;
	int rc;

	if ((rc = superadmin_change(st, name, password ? password : "")) < 0)
		return rc;
	if ((rc = bms_store_pwhash(st, password, NULL, h)) < 0)
		return rc;
	s = ctlprep(st, "INSERT INTO superadmins (name, pwhash, disabled, created)"
		    " VALUES (?1, ?2, 0, ?3) ON CONFLICT (name) DO NOTHING");
	if (s) {
		bms_ts_now(now);
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, h, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : ctlerr(st);
		bms_store_finish(st, s);
	} else {
		rc = BMS_STORE_EFAIL;
	}
	explicit_bzero(h, sizeof h);
	if (rc == 0 && sqlite3_changes(st->ctl) == 0)
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "super-admin '%s' exists already",
				    name);
	return rc;
}

/* Run an UPDATE of superadmins WHERE name = ?1 with ?2 bound to text, or
 * to num when text is NULL. */
static int superadmin_update(struct bms_store *st, const char *sql, const char *name,
			     const char *text, int64_t num)
{
	sqlite3_stmt *s = ctlprep(st, sql);
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 2, num);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : ctlerr(st);
	bms_store_finish(st, s);
	if (rc == 0 && sqlite3_changes(st->ctl) == 0)
		rc = no_superadmin(st, name);
	return rc;
}

int bms_store_superadmin_passwd(struct bms_store *st, const char *name,
				const char *password)
{
	char h[CRYPT_OUTPUT_SIZE];
	int rc;

	if ((rc = superadmin_change(st, name, password ? password : "")) < 0)
		return rc;
	if ((rc = bms_store_pwhash(st, password, NULL, h)) < 0)
		return rc;
	rc = superadmin_update(st, "UPDATE superadmins SET pwhash = ?2 WHERE name = ?1",
			       name, h, 0);
	explicit_bzero(h, sizeof h);
	return rc;
}

int bms_store_superadmin_disable(struct bms_store *st, const char *name, int disabled)
{
	int rc;

	if ((rc = superadmin_change(st, name, NULL)) < 0)
		return rc;
	return superadmin_update(st, "UPDATE superadmins SET disabled = ?2 WHERE name = ?1",
				 name, NULL, disabled ? 1 : 0);
}

int bms_store_superadmin_list(struct bms_store *st,
			      int (*fn)(void *ctx, const struct bms_superadmin *a), void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	if ((rc = need_control(st, "super-admins")) < 0)
		return rc;
	s = ctlprep(st, "SELECT name, disabled, created FROM superadmins ORDER BY name");
	if (!s)
		return BMS_STORE_EFAIL;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct bms_superadmin a = {
			.name = (const char *)sqlite3_column_text(s, 0),
			.disabled = sqlite3_column_int(s, 1) != 0,
			.created = (const char *)sqlite3_column_text(s, 2),
		};

		stop = fn(ctx, &a);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = ctlerr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_superadmin_verify(struct bms_store *st, const char *name,
				const char *password)
{
	char stored[CRYPT_OUTPUT_SIZE];
	sqlite3_stmt *s;
	int rc, known = 0, disabled = 1;

	if ((rc = need_control(st, "super-admins")) < 0)
		return rc;
	if (!password)
		return 0;
	/* As bms_store_user_verify: every name costs a hash. */
	if (!(s = ctlprep(st, "SELECT pwhash, disabled FROM superadmins WHERE name = ?1")))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, name ? name : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);

		known = p && strlen(p) < sizeof stored;
		if (known)
			memcpy(stored, p, strlen(p) + 1);
		disabled = sqlite3_column_int(s, 1) != 0;
	} else if (rc != SQLITE_DONE) {
		rc = ctlerr(st);
		bms_store_finish(st, s);
		return rc;
	}
	bms_store_finish(st, s);
	rc = bms_store_pwcheck(st, password, known ? stored : NULL);
	return rc < 0 ? rc : rc && !disabled;
}

int bms_store_keep(struct bms_store *st, struct bms_retention *keep)
{
	sqlite3_stmt *s = ctlprep(st, "SELECT raw_days, minute_days, hour_days"
				  " FROM tenants WHERE name = ?1");
	int rc;

	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, st->tenant, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		keep->raw_days = (long)sqlite3_column_int64(s, 0);
		keep->minute_days = (long)sqlite3_column_int64(s, 1);
		keep->hour_days = (long)sqlite3_column_int64(s, 2);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = no_tenant(st, st->tenant);
	} else {
		rc = ctlerr(st);
	}
	bms_store_finish(st, s);
	return rc;
}
/* ==== Backup ==== */

/*
 * Copy database src into dst (made or overwritten) with the online
 * backup API.  The source is opened read-only and held in one read
 * transaction, so the copy is one consistent snapshot and writers in
 * other processes go on meanwhile without restarting it.
 */
static int copy_db(struct bms_store *st, const char *src, const char *dst)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b;
	int rc, waited = 0;

	if (open_db(st, src, SQLITE_OPEN_READONLY, &s) < 0)
		return BMS_STORE_EFAIL;
	rc = exec(st, s, src, "BEGIN; SELECT count(*) FROM sqlite_schema");
	if (rc == 0)
		rc = open_db(st, dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | OPEN_RAW, &d);
	if (rc < 0)
		goto out;
	b = sqlite3_backup_init(d, "main", s, "main");
	if (!b) {
		rc = bms_store_dberr(st, d, dst);
		goto out;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, BACKUP_PAGES);
		if (rc == SQLITE_OK)
			continue;
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waited < st->busy_ms) {
			sqlite3_sleep(20);
			waited += 20;
			continue;
		}
		break;
	}
	sqlite3_backup_finish(b);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		rc = bms_store_dberr(st, s, src);
	else
		rc = bms_store_fail(st, BMS_STORE_EFAIL, "cannot back up '%s' into '%s': %s",
				    src, dst, sqlite3_errstr(rc));
out:
	if (s && !sqlite3_get_autocommit(s))
		sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(s);
	if (d && sqlite3_close(d) != SQLITE_OK && rc == 0)
		rc = bms_store_fail(st, BMS_STORE_EFAIL, "cannot close '%s'", dst);
	return rc;
}

/* dest/control.db with only this handle's tenant in it, made at path. */
static int control_for_tenant(struct bms_store *st, const char *path)
{
	struct bms_store *t = new_handle(NULL);
	sqlite3_stmt *src = NULL, *ins = NULL;
	int rc;

	if (!t)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	t->busy_ms = st->busy_ms;
	rc = open_db(t, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &t->ctl);
	if (rc == 0)
		rc = migrate(t, t->ctl, path, control_mig, N_CONTROL_MIG);
	if (rc < 0) {
		bms_store_fail(st, rc, "%s", t->err);
		goto out;
	}
	src = ctlprep(st, "SELECT name, created, raw_days, minute_days, hour_days"
		      " FROM tenants WHERE name = ?1");
	if (!src || sqlite3_prepare_v2(t->ctl, "INSERT INTO tenants (name, created,"
				       " raw_days, minute_days, hour_days)"
				       " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins, NULL)) {
		rc = src ? bms_store_dberr(st, t->ctl, path) : BMS_STORE_EFAIL;
		goto out;
	}
	sqlite3_bind_text(src, 1, st->tenant, -1, SQLITE_STATIC);
	rc = sqlite3_step(src);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? no_tenant(st, st->tenant) : ctlerr(st);
		goto out;
	}
	for (int i = 0; i < 5; i++)
		sqlite3_bind_value(ins, i + 1, sqlite3_column_value(src, i));
	rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : bms_store_dberr(st, t->ctl, path);
out:
	bms_store_finish(st, src);
	bms_store_finish(st, ins);
	bms_store_close(t);
	return rc;
}

int bms_store_backup(struct bms_store *st, const char *dest)
{
	char ctl[STORE_PATH_MAX], tmp[STORE_PATH_MAX], src[STORE_PATH_MAX], dst[STORE_PATH_MAX];
	struct stat sb;
	sqlite3 *copy = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	if (strlen(dest) + 32 + BMS_STORE_NAME_MAX >= STORE_PATH_MAX)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "backup path too long");
	snprintf(ctl, sizeof ctl, "%s/control.db", dest);
	snprintf(tmp, sizeof tmp, "%s/control.db.part", dest);
	snprintf(dst, sizeof dst, "%s/tenants", dest);
	if (make_dir(st, dest) < 0)
		return BMS_STORE_EFAIL;
	if (stat(ctl, &sb) == 0)
		return bms_store_fail(st, BMS_STORE_ECONFIG,
				      "'%s' holds a store already; back up into a new"
				      " directory", dest);
	if (make_dir(st, dst) < 0)
		return BMS_STORE_EFAIL;
	unlink(tmp);

	/* control.db comes into place last: a backup cut short is not a
	 * store, and can be made again into the same directory. */
	if (st->db) {
		snprintf(dst, sizeof dst, "%s/tenants/%s.db", dest, st->tenant);
		rc = copy_db(st, st->db_path, dst);
		if (rc == 0)
			rc = control_for_tenant(st, tmp);
	} else {
		/* The tenants are those of the control snapshot copied (read
		 * on a read-write connection, so that closing it leaves no
		 * -wal and -shm files behind). */
		rc = copy_db(st, st->ctl_path, tmp);
		if (rc == 0)
			rc = open_db(st, tmp, SQLITE_OPEN_READWRITE | OPEN_RAW, &copy);
		if (rc == 0 && sqlite3_prepare_v2(copy, "SELECT name FROM tenants ORDER BY name",
						  -1, &s, NULL) != SQLITE_OK)
			rc = bms_store_dberr(st, copy, tmp);
		while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(s, 0);

			if (!bms_store_name_ok(name)) {
				rc = bad_name(st, "tenant", name);
				break;
			}
			snprintf(src, sizeof src, "%s/tenants/%s.db", st->dir, name);
			snprintf(dst, sizeof dst, "%s/tenants/%s.db", dest, name);
			rc = copy_db(st, src, dst);
		}
		if (rc == SQLITE_DONE)
			rc = 0;
		else if (rc > 0)
			rc = bms_store_dberr(st, copy, tmp);
		bms_store_finish(st, s);
		sqlite3_close(copy);
	}
	if (rc == 0 && rename(tmp, ctl) != 0)
		rc = bms_store_fail(st, BMS_STORE_EFAIL, "cannot rename '%s' to '%s': %s",
				    tmp, ctl, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* ==== Check ==== */

/* A problem integrity_check reports, on one line: its "*** in database
 * main ***" heading dropped, line breaks as "; ". */
static void one_line(char *out, size_t outsz, const char *t)
{
	static const char head[] = "*** in database main ***\n";
	size_t n;

	if (strncmp(t, head, sizeof head - 1) == 0)
		t += sizeof head - 1;
	snprintf(out, outsz, "%s", t);
	while ((n = strcspn(out, "\r\n")) < strlen(out)) {
		size_t len = strlen(out);

		if (len + 1 < outsz) {
			memmove(out + n + 2, out + n + 1, len - n);
			out[n] = ';';
			out[n + 1] = ' ';
		} else {
			out[n] = ' ';
		}
	}
}

/* Check one database; its line goes to fn, whose value is left in *stop.
 * Returns 0 if it is ok, 1 if not. */
static int check_db(struct bms_store *st, const char *path, const char *label,
		    int (*fn)(void *ctx, const char *line), void *ctx, int *stop)
{
	struct bms_buf *b = &st->out;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char first[sizeof st->err] = "";
	long problems = 0;
	int rc;

	if (open_db(st, path, SQLITE_OPEN_READONLY, &db) < 0) {
		snprintf(first, sizeof first, "%s", st->err);
		problems = 1;
		goto report;
	}
	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);

		rc = SQLITE_OK;
		if (t && strcmp(t, "ok") == 0)
			continue;
		if (!problems++)
			one_line(first, sizeof first, t ? t : "?");
	}
	if (rc != SQLITE_DONE && !problems) {
		snprintf(first, sizeof first, "%s", sqlite3_errmsg(db));
		problems = 1;
	}
	bms_store_finish(st, s);
	s = NULL;
	if (problems)
		goto report;
	rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (!problems++)
			snprintf(first, sizeof first,
				 "row %lld of %s refers to a missing row of %s",
				 (long long)sqlite3_column_int64(s, 1),
				 (const char *)sqlite3_column_text(s, 0),
				 (const char *)sqlite3_column_text(s, 2));
	}
	if (rc != SQLITE_DONE && !problems) {
		snprintf(first, sizeof first, "%s", sqlite3_errmsg(db));
		problems = 1;
	}
report:
	bms_store_finish(st, s);
	sqlite3_close(db);
	bms_buf_reset(b);
	bms_buf_printf(b, "%s: %s", label, problems ? first : "ok");
	if (problems > 1)
		bms_buf_printf(b, " (and %ld more)", problems - 1);
	*stop = b->oom ? bms_store_fail(st, BMS_STORE_EFAIL, "out of memory") : fn(ctx, b->p);
	return problems ? 1 : 0;
}

int bms_store_check(struct bms_store *st,
		    int (*fn)(void *ctx, const char *line), void *ctx)
{
	char path[STORE_PATH_MAX], label[BMS_STORE_NAME_MAX + 16];
	sqlite3_stmt *s;
	int bad = 0, stop = 0, rc;

	bad |= check_db(st, st->ctl_path, "control.db", fn, ctx, &stop);
	if (stop)
		return stop;
	if (st->db) {
		snprintf(label, sizeof label, "tenants/%s.db", st->tenant);
		bad |= check_db(st, st->db_path, label, fn, ctx, &stop);
		return stop ? stop : bad;
	}
	s = ctlprep(st, "SELECT name FROM tenants ORDER BY name");
	if (!s)
		return BMS_STORE_EFAIL;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if (!bms_store_name_ok(name))
			continue;
		snprintf(path, sizeof path, "%s/tenants/%s.db", st->dir, name);
		snprintf(label, sizeof label, "tenants/%s.db", name);
		bad |= check_db(st, path, label, fn, ctx, &stop);
		if (stop) {
			bms_store_finish(st, s);
			return stop;
		}
	}
	rc = rc == SQLITE_DONE ? bad : ctlerr(st);
	bms_store_finish(st, s);
	return rc;
}

/* ==== Modes ==== */

struct modes {
	int (*fn)(void *ctx, const char *line);
	void *ctx;
	int wide;		/* a line was given */
	int stop;		/* fn's non-zero value */
};

/* A line to m->fn if path, a directory (is_dir) or a plain file, is wider
 * than want.  What is missing is not for this to report, nor a symbolic
 * link in place of a file (opening refuses it). */
static void mode_of(struct bms_store *st, struct modes *m, const char *path, int is_dir)
{
	struct bms_buf *b = &st->out;
	unsigned want = is_dir ? 0700 : 0600, mode;
	struct stat sb;

	if (m->stop)
		return;
	if (is_dir ? stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) :
	    lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return;
	mode = (unsigned)sb.st_mode & 07777;
	if (!(mode & ~want))
		return;
	m->wide = 1;
	bms_buf_reset(b);
	bms_buf_printf(b, "%s: mode %03o is wider than %03o; make it private with:"
		       " chmod %03o %s", path, mode, want, want, path);
	m->stop = b->oom ? bms_store_fail(st, BMS_STORE_EFAIL, "out of memory") :
		m->fn(m->ctx, b->p);
}

/* The database file db (a path under the store) and its -wal, -shm and
 * -journal files. */
static void db_modes(struct bms_store *st, struct modes *m, const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[STORE_PATH_MAX];

	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		mode_of(st, m, path, 0);
	}
}

int bms_store_check_modes(struct bms_store *st,
			  int (*fn)(void *ctx, const char *line), void *ctx)
{
	struct modes m = { .fn = fn, .ctx = ctx };
	char path[STORE_PATH_MAX];
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;

	mode_of(st, &m, st->dir, 1);
	snprintf(path, sizeof path, "%s/tenants", st->dir);
	mode_of(st, &m, path, 1);
	db_modes(st, &m, st->ctl_path);
	if (st->db) {
		db_modes(st, &m, st->db_path);
		return m.stop ? m.stop : m.wide;
	}
	s = ctlprep(st, "SELECT name FROM tenants ORDER BY name");
	if (!s)
		return BMS_STORE_EFAIL;
	while (!m.stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if (!bms_store_name_ok(name))
			continue;
		snprintf(path, sizeof path, "%s/tenants/%s.db", st->dir, name);
		db_modes(st, &m, path);
	}
	if (m.stop)
		rc = m.stop;
	else
		rc = rc == SQLITE_DONE ? m.wide : ctlerr(st);
	bms_store_finish(st, s);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the store (lib/store.c, lib/storeq.c, lib/storereg.c) on
 * real database files in a scratch directory under $TMPDIR: opening and
 * migrations (from tests/fixtures/store-v1.sql), every record type back
 * byte for byte, duplicates and replays, tier values worked out by hand,
 * compaction, retention and records too old for it, the tier choice, CSV
 * text, tenant isolation through every call, messages that stay one
 * line, the registries (batteries by bms_id or UUID, refresh tokens
 * rotated in families, super-admins and what their password checks
 * cost), the latest reading of a battery, a busy database, a full disk,
 * symbolic links planted in a store, backup under a concurrent writer,
 * check of a damaged copy, and alerts: their alert_id, the id and
 * acknowledgement a query adds, acknowledging, and the polls a
 * long-running reader makes without holding the log.
 *
 * Records with fixed times go to tenants that keep raw records for ever
 * (acme, beta, full), so that no test depends on the day it runs;
 * retention is tested with times taken from the clock.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agg.h"
#include "buf.h"
#include "hex.h"
#include "reading.h"
#include "sha256.h"
#include "store.h"
#include "ts.h"
#include "unit.h"

/* ==== Helpers ==== */

/* The schema versions this store writes: its migrations' counts. */
#define TENANT_V 8
#define CONTROL_V 2

static char dir[256];	/* a fresh directory under $TMPDIR */
static char store[300];	/* the store in it */

static char *path(const char *fmt, const char *a)
{
	static char p[4][1024];
	static int k;
	char name[512];

	k = (k + 1) % 4;
	snprintf(name, sizeof name, fmt, a);
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

/* The first line of tests/fixtures/name, without its newline. */
static const char *fixture_line(const char *name)
{
	static char buf[2][8192];
	static int k;
	const char *slash = strrchr(__FILE__, '/');
	char p[512];
	FILE *f;
	char *s = buf[k = !k];

	snprintf(p, sizeof p, "%.*s/../fixtures/%s",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".", name);
	f = fopen(p, "r");
	s[0] = '\0';
	if (!f || !fgets(s, sizeof buf[0], f))
		fprintf(stderr, "  cannot read %s\n", p);
	if (f)
		fclose(f);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* All of tests/fixtures/name, malloc'd. */
static char *fixture_file(const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	char p[512], *s;
	FILE *f;
	long n;

	snprintf(p, sizeof p, "%.*s/../fixtures/%s",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".", name);
	f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = '\0';
	fclose(f);
	return s;
}

static int64_t ts_of(const char *t)
{
	int64_t ms = 0;

	bms_ts_parse(t, strlen(t), &ms);
	return ms;
}

/* line with its timestamp value replaced by t (and extra inserted after
 * it); a static buffer of a ring of four. */
static const char *retime(const char *line, const char *t, const char *extra)
{
	static char buf[4][8192];
	static int k;
	const char *p = strstr(line, "\"timestamp\":\"");

	k = (k + 1) % 4;
	if (!p)
		return line;
	p += 13;
	snprintf(buf[k], sizeof buf[k], "%.*s%s\"%s%s", (int)(p - line), line, t,
		 extra ? extra : "", p + BMS_TS_LEN + 1);
	return buf[k];
}

static int lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int put(struct bms_store *st, const char *line)
{
	char why[256];

	return bms_store_put(st, line, strlen(line), why, sizeof why);
}

static const char *put_why(struct bms_store *st, const char *line, int want)
{
	static char why[256];

	why[0] = '\0';
	CHECK_INT(bms_store_put(st, line, strlen(line), why, sizeof why), want);
	return why;
}

/* Lines a callback collects, each ended with "\n". */
static int collect(void *ctx, const char *line, size_t len)
{
	struct bms_buf *b = ctx;

	bms_buf_add(b, line, len);
	bms_buf_putc(b, '\n');
	return 0;
}

static struct bms_buf out = BMS_BUF_INIT;

/* The text a query gives (each line ended with "\n"), "" if none. */
static const char *query(struct bms_store *st, enum bms_store_what what, const char *id,
			 int64_t since, int64_t until, enum bms_store_tier tier, int csv,
			 enum bms_store_tier *used)
{
	struct bms_store_query q = { what, id, since, until, tier, csv };
	int rc;

	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	rc = bms_store_query(st, &q, collect, &out, used);
	if (rc != 0)
		fprintf(stderr, "  query: %d %s\n", rc, bms_store_error(st));
	return out.p ? out.p : "";
}

static const char *readings(struct bms_store *st, const char *id, enum bms_store_tier tier)
{
	return query(st, BMS_Q_READINGS, id, INT64_MIN / 2, INT64_MAX / 2, tier, 0, NULL);
}

/* One integer from a query on database file db (opened read-only). */
static long long sql_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		fprintf(stderr, "  sql_int %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* Every row of a query on db as text, one line each, columns by '|'. */
static const char *sql_dump(const char *db, const char *sql)
{
	static struct bms_buf b = BMS_BUF_INIT;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	bms_buf_reset(&b);
	bms_buf_puts(&b, "");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int i = 0; i < sqlite3_column_count(s); i++) {
				const char *t = (const char *)sqlite3_column_text(s, i);

				bms_buf_printf(&b, "%s%s", i ? "|" : "", t ? t : "NULL");
			}
			bms_buf_putc(&b, '\n');
		}
	} else {
		fprintf(stderr, "  sql_dump %s: %s\n", sql, sqlite3_errmsg(h));
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	return b.p;
}

static int sql_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open(db, &h);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  sql_exec: %s\n", sqlite3_errmsg(h));
	sqlite3_close(h);
	return rc;
}

static struct bms_store *open_t(const char *tenant)
{
	struct bms_store *st = NULL;
	char err[512];

	if (bms_store_open(&st, store, tenant, NULL, err, sizeof err) != 0)
		fprintf(stderr, "  open %s: %s\n", tenant ? tenant : "(control)", err);
	return st;
}

static const char *tdb(const char *tenant)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/tenants/%s.db", store, tenant);
	return p[k];
}

/* The names in directory p, sorted, each followed by a space. */
static const char *ls(const char *p)
{
	static char buf[1024];
	struct dirent **e;
	int n = scandir(p, &e, NULL, alphasort);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (e[i]->d_name[0] != '.') {
			strncat(buf, e[i]->d_name, sizeof buf - strlen(buf) - 2);
			strcat(buf, " ");
		}
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	return buf;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Is u a UUID of version 4 (random), lowercase, as 8-4-4-4-12 digits? */
static int is_uuid4(const char *u)
{
	static const char form[] = "xxxxxxxx-xxxx-4xxx-vxxx-xxxxxxxxxxxx";

	for (size_t i = 0; i < sizeof form; i++) {
		char c = u ? u[i] : '\0', f = form[i];

		if (f == 'x' ? !strchr("0123456789abcdef", c) || !c :
		    f == 'v' ? !strchr("89ab", c) || !c : c != f)
			return 0;
	}
	return 1;
}

/* A battery as one line; its UUID only as whether it is one. */
static int battery_line(void *ctx, const struct bms_battery *b)
{
	struct bms_buf *o = ctx;

	bms_buf_printf(o, "%s|%s|%s|%g|%ld|%s|%s|%s|%ld|%ld|%s|%d|%d|%d\n", b->bms_id,
		       b->name ? b->name : "-", b->chemistry ? b->chemistry : "-",
		       b->nominal_capacity_ah, b->cell_count, b->bms_type ? b->bms_type : "-",
		       b->protocol ? b->protocol : "-", b->device ? b->device : "-", b->baud,
		       b->timeout_ms, b->notes ? b->notes : "-", b->auto_added,
		       b->created && strlen(b->created) == BMS_TS_LEN, is_uuid4(b->uuid));
	return 0;
}

/* The bms_id and UUID of the battery bms_store_battery_get gives. */
static int battery_ids(void *ctx, const struct bms_battery *b)
{
	bms_buf_printf(ctx, "%s %s", b->bms_id, b->uuid);
	return 0;
}

static int battery_stop(void *ctx, const struct bms_battery *b)
{
	return 7;
}

/* What bms_store_battery_get(id) gives to battery_ids, or "rc N". */
static const char *battery_get(struct bms_store *st, const char *id)
{
	static struct bms_buf b = BMS_BUF_INIT;
	int rc;

	bms_buf_reset(&b);
	bms_buf_puts(&b, "");
	rc = bms_store_battery_get(st, id, battery_ids, &b);
	if (rc != 0)
		bms_buf_printf(&b, "rc %d", rc);
	return b.p;
}

static const char *battery_list(struct bms_store *st)
{
	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	CHECK_INT(bms_store_battery_list(st, battery_line, &out), 0);
	return out.p;
}

/* ==== Records used throughout ==== */

static const char STATUS[] =
	"{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:20.000Z\","
	"\"state\":\"disconnected\",\"reason\":\"no_reply\",\"quality\":80,"
	"\"message\":\"no reply, 3 polls\"}";
static const char ALERT[] =
	"{\"type\":\"alert\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T14:29:30.000Z\","
	"\"severity\":\"warning\",\"rule\":\"cell_high\",\"state\":\"open\","
	"\"message\":\"cell 12 at \\\"3.65\\\" V\"}";
static const char AGG[] =
	"{\"type\":\"aggregate\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:00.000Z\","
	"\"period\":\"1m\",\"n\":2}";
static const char FRAMES[] =
	"{\"type\":\"frames\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:11.000Z\","
	"\"proto\":\"daly\",\"transport\":\"uart\",\"frames\":[\"a5\"]}";

/* ==== Names, migrations ==== */

static void test_names(void)
{
	char name64[65];

	CHECK(bms_store_name_ok("acme"));
	CHECK(bms_store_name_ok("a"));
	CHECK(bms_store_name_ok("0-a_b"));
	CHECK(!bms_store_name_ok(""));
	CHECK(!bms_store_name_ok("-a"));
	CHECK(!bms_store_name_ok("_a"));
	CHECK(!bms_store_name_ok("Acme"));
	CHECK(!bms_store_name_ok("a/b"));
	CHECK(!bms_store_name_ok(".."));
	CHECK(!bms_store_name_ok("a.db"));
	CHECK(!bms_store_name_ok(NULL));
	memset(name64, 'a', 64);
	name64[64] = '\0';
	CHECK(!bms_store_name_ok(name64));
	name64[63] = '\0';
	CHECK(bms_store_name_ok(name64));

	CHECK_STR(bms_store_role_name(BMS_ROLE_VIEWER), "viewer");
	CHECK_STR(bms_store_role_name(BMS_ROLE_OPERATOR), "operator");
	CHECK_STR(bms_store_role_name(BMS_ROLE_ADMIN), "admin");
	CHECK_INT(bms_store_role_parse("admin"), BMS_ROLE_ADMIN);
	CHECK_INT(bms_store_role_parse("operator"), BMS_ROLE_OPERATOR);
	CHECK_INT(bms_store_role_parse("root"), -1);

	CHECK(bms_store_migration(1, 1) != NULL);
	CHECK(bms_store_migration(1, TENANT_V) != NULL);
	CHECK(bms_store_migration(1, TENANT_V + 1) == NULL);
	CHECK(bms_store_migration(1, 0) == NULL);
	CHECK(bms_store_migration(0, CONTROL_V) != NULL);
	CHECK(bms_store_migration(0, CONTROL_V + 1) == NULL);
}

/* ==== Init and open ==== */

static int tenant_line(void *ctx, const struct bms_tenant *t)
{
	struct bms_buf *b = ctx;

	bms_buf_printf(b, "%s %ld %ld %ld %d\n", t->name, t->keep.raw_days,
		       t->keep.minute_days, t->keep.hour_days,
		       t->created && strlen(t->created) == BMS_TS_LEN);
	return 0;
}

static void test_init_open(void)
{
	struct bms_store *st = NULL;
	struct bms_retention keep = { 1, 2, 3 }, partial = { -1, 5, -1 };
	struct bms_retention forever = { 0, -1, -1 };
	struct bms_buf b = BMS_BUF_INIT;
	char err[512], want[1024];

	CHECK_INT(bms_store_open(&st, store, NULL, NULL, err, sizeof err), BMS_STORE_ECONFIG);
	CHECK(st == NULL);
	snprintf(want, sizeof want, "cannot open store '%s': no control.db; create it"
		 " with: bms-store --db %s init", store, store);
	CHECK_STR(err, want);

	CHECK_INT(bms_store_init(store, err, sizeof err), 0);
	CHECK_INT(bms_store_init(store, err, sizeof err), 0);	/* idempotent */
	CHECK_INT(sql_int(path("store/control.db", NULL), "PRAGMA user_version"), CONTROL_V);
	CHECK_STR(sql_dump(path("store/control.db", NULL), "PRAGMA journal_mode"), "wal\n");

	CHECK_INT(bms_store_open(&st, store, "acme", NULL, err, sizeof err), BMS_STORE_ECONFIG);
	snprintf(want, sizeof want, "no tenant 'acme' in store '%s'; add it with:"
		 " bms-store --db %s tenants add acme", store, store);
	CHECK_STR(err, want);
	CHECK_INT(bms_store_open(&st, store, "../acme", NULL, err, sizeof err),
		  BMS_STORE_ECONFIG);
	CHECK_STR(err, "bad tenant name '../acme': use a-z, 0-9, '_' and '-', at most 63"
		  " bytes, starting with a letter or digit");
	CHECK_INT(bms_store_open(&st, store, "ac\nme", NULL, err, sizeof err),
		  BMS_STORE_ECONFIG);
	CHECK_STR(err, "bad tenant name 'ac\\nme': use a-z, 0-9, '_' and '-', at most 63"
		  " bytes, starting with a letter or digit");

	st = open_t(NULL);
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK(bms_store_tenant(st) == NULL);
	CHECK_INT(bms_store_tenant_add(st, "acme", NULL), 0);
	CHECK_INT(bms_store_tenant_add(st, "beta", NULL), 0);
	CHECK_INT(bms_store_tenant_add(st, "exp", &keep), 0);
	CHECK_INT(bms_store_tenant_add(st, "acme", NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "tenant 'acme' exists already");
	CHECK_INT(bms_store_tenant_add(st, "Bad", NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_tenant_set(st, "beta", &partial), 0);
	CHECK_INT(bms_store_tenant_set(st, "nope", &partial), BMS_STORE_ECONFIG);
	snprintf(want, sizeof want, "no tenant 'nope' in store '%s'; add it with:"
		 " bms-store --db %s tenants add nope", store, store);
	CHECK_STR(bms_store_error(st), want);
	CHECK_INT(bms_store_tenant_list(st, tenant_line, &b), 0);
	CHECK_STR(b.p, "acme 30 400 0 1\nbeta 30 5 0 1\nexp 1 2 3 1\n");
	/* Ingest and queries need a tenant. */
	CHECK_INT(put(st, STATUS), BMS_STORE_ECONFIG);
	/* The records of fixed times below are kept whenever this runs. */
	CHECK_INT(bms_store_tenant_set(st, "acme", &forever), 0);
	CHECK_INT(bms_store_tenant_set(st, "beta", &forever), 0);
	bms_store_close(st);

	CHECK_INT(sql_int(tdb("acme"), "PRAGMA user_version"), TENANT_V);
	CHECK_STR(sql_dump(tdb("acme"), "PRAGMA journal_mode"), "wal\n");
	st = open_t("acme");
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_STR(bms_store_tenant(st), "acme");
	/* A tenant handle lists its own tenant only. */
	bms_buf_reset(&b);
	CHECK_INT(bms_store_tenant_list(st, tenant_line, &b), 0);
	CHECK_STR(b.p, "acme 0 400 0 1\n");
	bms_store_close(st);
	bms_buf_free(&b);
}

static void test_newer(void)
{
	struct bms_store *st = NULL;
	char err[512], want[1024];

	CHECK_INT(sql_exec(tdb("beta"), "PRAGMA user_version = 9"), SQLITE_OK);
	CHECK_INT(bms_store_open(&st, store, "beta", NULL, err, sizeof err), BMS_STORE_ECONFIG);
	CHECK(st == NULL);
	snprintf(want, sizeof want, "%s/tenants/beta.db: schema version 9 is newer than"
		 " this bms-store knows (%d); use a newer bms-store", store, TENANT_V);
	CHECK_STR(err, want);
	snprintf(want, sizeof want, "PRAGMA user_version = %d", TENANT_V);
	CHECK_INT(sql_exec(tdb("beta"), want), SQLITE_OK);

	CHECK_INT(sql_exec(path("store/control.db", NULL), "PRAGMA user_version = 9"), SQLITE_OK);
	CHECK_INT(bms_store_open(&st, store, NULL, NULL, err, sizeof err), BMS_STORE_ECONFIG);
	snprintf(want, sizeof want, "%s/control.db: schema version 9 is newer than"
		 " this bms-store knows (%d); use a newer bms-store", store, CONTROL_V);
	CHECK_STR(err, want);
	snprintf(want, sizeof want, "PRAGMA user_version = %d", CONTROL_V);
	CHECK_INT(sql_exec(path("store/control.db", NULL), want), SQLITE_OK);
	st = open_t("beta");
	CHECK(st != NULL);
	bms_store_close(st);
}

/* ==== Upgrade of a control database from schema version 1 ==== */

static void test_upgrade_control(void)
{
	const char *old = path("oldctl", NULL);
	struct bms_store *st = NULL;
	char ctl[1024], err[512];

	CHECK_INT(mkdir(old, 0700), 0);
	snprintf(ctl, sizeof ctl, "%s/control.db", old);
	CHECK_INT(sql_exec(ctl, bms_store_migration(0, 1)), SQLITE_OK);
	CHECK_INT(sql_exec(ctl, "INSERT INTO tenants (name, created, raw_days) VALUES ('home',"
			   " '2026-11-01T08:00:00.000Z', 7); PRAGMA user_version = 1"), SQLITE_OK);
	CHECK_INT(bms_store_open(&st, old, NULL, NULL, err, sizeof err), 0);
	if (!st)
		return;
	CHECK_INT(sql_int(ctl, "PRAGMA user_version"), CONTROL_V);
	CHECK_STR(sql_dump(ctl, "SELECT * FROM tenants"),
		  "home|2026-11-01T08:00:00.000Z|7|400|0\n");
	CHECK_INT(sql_int(ctl, "SELECT count(*) FROM superadmins"), 0);
	CHECK_INT(bms_store_superadmin_add(st, "root", "pw"), 0);
	CHECK_INT(bms_store_superadmin_verify(st, "root", "pw"), 1);
	bms_store_close(st);
}

/* ==== Upgrade from schema version 1 ==== */

static void test_upgrade(void)
{
	const char *l16 = fixture_line("reading-16s.ndjson");
	const char *ld2 = fixture_line("reading-d2.ndjson");
	char *sql = fixture_file("store-v1.sql");
	const char *m1 = bms_store_migration(1, 1);
	struct bms_store *st;
	struct bms_buf want = BMS_BUF_INIT;
	int64_t t0 = ts_of("2026-11-27T14:00:00Z"), t1 = ts_of("2026-11-27T15:00:00Z");

	CHECK(sql != NULL);
	if (!sql)
		return;
	CHECK(strncmp(sql, m1, strlen(m1)) == 0);
	st = open_t(NULL);
	CHECK_INT(bms_store_tenant_add(st, "old", NULL), 0);
	bms_store_close(st);
	unlink(tdb("old"));
	CHECK_INT(sql_exec(tdb("old"), sql), SQLITE_OK);
	free(sql);
	CHECK_INT(sql_int(tdb("old"), "PRAGMA user_version"), 1);
	/* The same input again, as a replay stored it before version 4 (the
	 * copy of the alert is the one acknowledged), and a status of the
	 * same battery and time with another text, which is no copy. */
	CHECK_INT(sql_exec(tdb("old"), "INSERT INTO status (battery, ts, state, reason,"
			   " quality, doc) SELECT battery, ts, state, reason, quality, doc"
			   " FROM status WHERE id = 1;"
			   " INSERT INTO alerts (battery, ts, severity, code, state, message,"
			   " doc, ack_by, ack_at) SELECT battery, ts, severity, code, state,"
			   " message, doc, 'ops', 1795790400000 FROM alerts WHERE id = 1;"
			   " INSERT INTO aggregates (battery, ts, doc) SELECT battery, ts, doc"
			   " FROM aggregates WHERE id = 1;"
			   " INSERT INTO status (battery, ts, state, quality, doc) VALUES"
			   " (1, 1795789760000, 'connected', 100, '{\"type\":\"status\","
			   "\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:20.000Z\","
			   "\"state\":\"connected\",\"quality\":100}')"), SQLITE_OK);
	/* Alerts stored before version 6: an alert_id that is a string, one
	 * that is not, and a line a hand put there that is no JSON. */
	CHECK_INT(sql_exec(tdb("old"), "INSERT INTO alerts (battery, ts, code, state, doc)"
			   " VALUES (2, 1795795200000, 'cell_high', 'raised', '{\"type\":"
			   "\"alert\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T16:00:00.000Z\","
			   "\"alert_id\":\"p2/cell_high\",\"rule\":\"cell_high\","
			   "\"state\":\"raised\"}'),"
			   " (2, 1795795260000, NULL, NULL, '{\"type\":\"alert\",\"bms_id\":"
			   "\"p2\",\"timestamp\":\"2026-11-27T16:01:00.000Z\",\"alert_id\":5}'),"
			   " (2, 1795795320000, NULL, NULL, 'not json')"), SQLITE_OK);

	/* Refresh tokens kept before they came in families (version 3): each
	 * was a login's own. */
	CHECK_INT(sql_exec(tdb("old"), bms_store_migration(1, 2)), SQLITE_OK);
	CHECK_INT(sql_exec(tdb("old"), bms_store_migration(1, 3)), SQLITE_OK);
	CHECK_INT(sql_exec(tdb("old"), "PRAGMA user_version = 3"), SQLITE_OK);
	CHECK_INT(sql_exec(tdb("old"), "INSERT INTO users VALUES ('ann', 'viewer', 'x', 0,"
			   " '2026-11-01T08:00:00.000Z')"), SQLITE_OK);
	for (int i = 0; i < 2; i++) {
		uint8_t d[BMS_SHA256_LEN];
		char h[2 * BMS_SHA256_LEN + 1], ins[256];

		bms_sha256(i ? "old-b" : "old-a", 5, d);
		bms_hex_encode(d, sizeof d, h);
		snprintf(ins, sizeof ins, "INSERT INTO tokens VALUES (X'%s', 'ann', %lld,"
			 " '2026-11-01T08:00:00.000Z')", h, (long long)INT64_MAX);
		CHECK_INT(sql_exec(tdb("old"), ins), SQLITE_OK);
	}

	st = open_t("old");
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(sql_int(tdb("old"), "PRAGMA user_version"), TENANT_V);
	CHECK_STR(sql_dump(tdb("old"), "SELECT count(DISTINCT family), count(used),"
			   " sum(length(family) = 32 AND NOT family GLOB '*[^0-9a-f]*')"
			   " FROM tokens"), "2|0|2\n");
	CHECK_INT(bms_store_token_use(st, "old-a", 0, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_token_use(st, "old-a", 0, NULL, 0, NULL), BMS_STORE_TOKEN_REUSED);
	CHECK_INT(bms_store_token_check(st, "old-b", 0, NULL, 0), 1);
	CHECK_INT(sql_int(tdb("old"), "SELECT count(*) FROM readings"), 5);
	/* Copies are gone, the first of each kept (2026-11-27: a replay
	 * stored status, alerts and aggregates twice). */
	CHECK_STR(sql_dump(tdb("old"), "SELECT 's', id, state FROM status UNION ALL"
			   " SELECT 'a', id, ack_by || ' ' || ack_at FROM alerts UNION ALL"
			   " SELECT 'g', id, ts FROM aggregates"),
		  "s|1|disconnected\ns|3|connected\na|1|ops 1795790400000\na|3|NULL\na|4|NULL\n"
		  "a|5|NULL\ng|1|1795789740000\n");
	CHECK_INT(sql_int(tdb("old"), "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
			  " AND name LIKE '%_battery_ts_doc'"), 5);
	CHECK_INT(sql_int(tdb("old"), "SELECT count(*) FROM tiers"), 0);
	CHECK_INT(sql_int(tdb("old"), "SELECT count(*) FROM users"), 1);
	CHECK_STR(sql_dump(tdb("old"), "SELECT id, bms_id, name, chemistry,"
			   " nominal_capacity_ah, cell_count, device, baud, auto_added"
			   " FROM batteries ORDER BY id"),
		  "1|p1|House bank|lifepo4|280.0|16|/dev/ttyUSB0|9600|0\n"
		  "2|p2|NULL|NULL|NULL|NULL|NULL|NULL|1\n");
	/* Version 8 gave each battery registered before a UUID of its own. */
	CHECK_STR(battery_list(st),
		  "p1|House bank|lifepo4|280|16|daly|daly|/dev/ttyUSB0|9600|500|-|0|1|1\n"
		  "p2|-|-|-1|-1|-|-|-|-1|-1|-|1|1|1\n");
	CHECK_INT(sql_int(tdb("old"), "SELECT count(DISTINCT uuid) FROM batteries"), 2);
	CHECK_INT(sql_int(tdb("old"), "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
			  " AND name = 'batteries_uuid' AND sql LIKE 'CREATE UNIQUE INDEX%'"), 1);
	{
		char p1[8 + BMS_STORE_UUID_LEN];

		snprintf(p1, sizeof p1, "%s", battery_get(st, "p1"));
		CHECK_STR(battery_get(st, p1 + 3), p1);
	}

	/* The readings read back exactly, the handle giving the tenant. */
	bms_buf_printf(&want, "%s\n%s\n%s\n",
		       retime(l16, "2026-11-27T14:29:11.123Z", NULL),
		       retime(l16, "2026-11-27T14:29:12.123Z", NULL),
		       retime(l16, "2026-11-27T14:30:05.000Z", NULL));
	bms_buf_printf(&want, "%s\n", retime(ld2, "2026-11-27T14:29:11.123Z",
					     ",\"tenant\":\"old\""));
	bms_buf_puts(&want, "{\"bms_id\":\"p2\",\"type\":\"reading\",\"timestamp\":"
		     "\"2026-11-27T14:29:12.500Z\",\"pack_voltage\":53.25}\n");
	CHECK_STR(readings(st, NULL, BMS_TIER_RAW), want.p);
	CHECK_STR(query(st, BMS_Q_STATUS, NULL, t0, t1, BMS_TIER_AUTO, 0, NULL),
		  "{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:20.000Z\","
		  "\"state\":\"disconnected\",\"reason\":\"no_reply\",\"quality\":80,"
		  "\"message\":\"no reply, 3 polls\"}\n"
		  "{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:20.000Z\","
		  "\"state\":\"connected\",\"quality\":100}\n");
	CHECK_STR(query(st, BMS_Q_ALERTS, NULL, t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,ack_at\n"
		  "1,2026-11-27T14:29:30.000Z,p2,,warning,cell_high,open,cell 12 at 3.65 V,"
		  "ops,2026-11-27T14:40:00.000Z\n");
	CHECK_STR(query(st, BMS_Q_AGGREGATES, "p1", t0, t1, BMS_TIER_AUTO, 0, NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:00.000Z\","
		  "\"period\":\"1m\",\"n\":2}\n");
	/* Version 6 took each alert's alert_id from its line, where it is a
	 * string; the line that is no JSON comes back as it is. */
	CHECK_STR(sql_dump(tdb("old"), "SELECT id, alert_id FROM alerts ORDER BY id"),
		  "1|NULL\n3|p2/cell_high\n4|NULL\n5|NULL\n");
	CHECK_STR(sql_dump(tdb("old"), "SELECT name, sql FROM sqlite_schema WHERE name IN"
			   " ('alerts_alert_id_ts', 'alerts_ack_at') ORDER BY name"),
		  "alerts_ack_at|CREATE INDEX alerts_ack_at ON alerts (ack_at)"
		  " WHERE ack_at IS NOT NULL\n"
		  "alerts_alert_id_ts|CREATE INDEX alerts_alert_id_ts ON alerts (alert_id, ts)\n");
	CHECK_STR(query(st, BMS_Q_ALERTS, NULL, t1, t1 + 7200000, BMS_TIER_AUTO, 0, NULL),
		  "{\"type\":\"alert\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T16:00:00.000Z\","
		  "\"alert_id\":\"p2/cell_high\",\"rule\":\"cell_high\",\"state\":\"raised\","
		  "\"id\":3}\n"
		  "{\"type\":\"alert\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T16:01:00.000Z\","
		  "\"alert_id\":5,\"id\":4}\n"
		  "not json\n");

	/* No tiers were kept at version 1: compact makes them. */
	CHECK_INT(bms_store_compact(st, t1), 0);
	CHECK_STR(query(st, BMS_Q_READINGS, NULL, t0, t1, BMS_TIER_MINUTE, 1, NULL),
		  "timestamp,bms_id,period,n,"
		  "pack_voltage_min,pack_voltage_max,pack_voltage_mean,pack_voltage_last,"
		  "pack_current_min,pack_current_max,pack_current_mean,pack_current_last,"
		  "pack_power_min,pack_power_max,pack_power_mean,pack_power_last,"
		  "soc_percent_min,soc_percent_max,soc_percent_mean,soc_percent_last,"
		  "cell_voltage_min_min,cell_voltage_min_max,cell_voltage_min_mean,cell_voltage_min_last,"
		  "cell_voltage_max_min,cell_voltage_max_max,cell_voltage_max_mean,cell_voltage_max_last,"
		  "temperature_min_min,temperature_min_max,temperature_min_mean,temperature_min_last,"
		  "temperature_max_min,temperature_max_max,temperature_max_mean,temperature_max_last\n"
		  "2026-11-27T14:29:00.000Z,p1,1m,2,53.4,53.4,53.4,53.4,12.5,12.5,12.5,12.5,"
		  "667.5,667.5,667.5,667.5,78.5,78.5,78.5,78.5,3.333,3.333,3.333,3.333,"
		  "3.352,3.352,3.352,3.352,25,25,25,25,27,27,27,27\n"
		  "2026-11-27T14:30:00.000Z,p1,1m,1,53.4,53.4,53.4,53.4,12.5,12.5,12.5,12.5,"
		  "667.5,667.5,667.5,667.5,78.5,78.5,78.5,78.5,3.333,3.333,3.333,3.333,"
		  "3.352,3.352,3.352,3.352,25,25,25,25,27,27,27,27\n"
		  "2026-11-27T14:29:00.000Z,p2,1m,2,53.25,53.4,53.325,53.25,12.5,12.5,12.5,12.5,"
		  "668,668,668,668,78.5,78.5,78.5,78.5,3.333,3.333,3.333,3.333,"
		  "3.352,3.352,3.352,3.352,25,25,25,25,27,27,27,27\n");
	bms_store_close(st);
	bms_buf_free(&want);
}

/* ==== Round trips ==== */

static void test_roundtrip(void)
{
	const char *l16 = fixture_line("reading-16s.ndjson");
	const char *ld2 = fixture_line("reading-d2.ndjson");
	struct bms_store *st = open_t("acme");
	struct bms_store_stats s;
	struct bms_buf want = BMS_BUF_INIT;
	int64_t t0 = ts_of("2026-11-27T14:00:00Z"), t1 = ts_of("2026-11-27T15:00:00Z");
	const char *ten = retime(l16, "2026-11-27T14:29:13.000Z", ",\"tenant\":\"acme\"");

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(put(st, l16), 1);
	CHECK_INT(put(st, ld2), 1);
	CHECK_INT(put(st, ten), 1);
	CHECK_INT(put(st, STATUS), 1);
	CHECK_INT(put(st, ALERT), 1);
	CHECK_INT(put(st, AGG), 1);
	CHECK_INT(put(st, FRAMES), 0);
	CHECK_INT(put(st, "{\"type\":\"reject\",\"reason\":\"x\"}"), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.pending, 6);
	CHECK_INT(s.stored, 0);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(bms_store_commit(st), 0);	/* nothing open */
	bms_store_stats(st, &s);
	CHECK_INT(s.pending, 0);
	CHECK_INT(s.stored, 6);
	CHECK_INT(s.duplicates, 0);
	CHECK_INT(s.batteries_added, 2);

	bms_buf_printf(&want, "%s\n%s\n", l16, ten);
	CHECK_STR(query(st, BMS_Q_READINGS, "p1", t0, t1, BMS_TIER_RAW, 0, NULL), want.p);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n", ld2);
	CHECK_STR(query(st, BMS_Q_READINGS, "p2", t0, t1, BMS_TIER_RAW, 0, NULL), want.p);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n%s\n%s\n", l16, ten, ld2);
	CHECK_STR(query(st, BMS_Q_READINGS, NULL, t0, t1, BMS_TIER_RAW, 0, NULL), want.p);
	/* [since, until): the reading at until is out, at since in. */
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n", l16);
	CHECK_STR(query(st, BMS_Q_READINGS, "p1", ts_of("2026-11-27T14:29:11.123Z"),
			ts_of("2026-11-27T14:29:13Z"), BMS_TIER_RAW, 0, NULL), want.p);
	CHECK_STR(query(st, BMS_Q_READINGS, "p9", t0, t1, BMS_TIER_RAW, 0, NULL), "");

	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n", STATUS);
	CHECK_STR(query(st, BMS_Q_STATUS, NULL, t0, t1, BMS_TIER_AUTO, 0, NULL), want.p);
	/* An alert with its row's id added. */
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%.*s,\"id\":1}\n", (int)strlen(ALERT) - 1, ALERT);
	CHECK_STR(query(st, BMS_Q_ALERTS, NULL, t0, t1, BMS_TIER_AUTO, 0, NULL), want.p);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n", AGG);
	CHECK_STR(query(st, BMS_Q_AGGREGATES, NULL, t0, t1, BMS_TIER_AUTO, 0, NULL), want.p);
	CHECK_STR(query(st, BMS_Q_AGGREGATES, "p2", t0, t1, BMS_TIER_AUTO, 0, NULL), "");
	/* The indexed columns. */
	CHECK_STR(sql_dump(tdb("acme"), "SELECT state, reason, quality FROM status"),
		  "disconnected|no_reply|80.0\n");
	CHECK_STR(sql_dump(tdb("acme"), "SELECT severity, code, state, message FROM alerts"),
		  "warning|cell_high|open|cell 12 at \"3.65\" V\n");
	bms_store_close(st);
	bms_buf_free(&want);
}

static void test_duplicates(void)
{
	const char *l16 = fixture_line("reading-16s.ndjson");
	struct bms_store *st = open_t("acme");
	struct bms_store_stats s;
	const char *tiers = NULL;

	CHECK(st != NULL);
	if (!st)
		return;
	tiers = strdup(sql_dump(tdb("acme"), "SELECT * FROM tiers ORDER BY battery, period, start"));
	CHECK_INT(put(st, l16), 1);	/* stored in the last test */
	CHECK_INT(put(st, l16), 1);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.stored, 0);
	CHECK_INT(s.duplicates, 2);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM readings"), 3);
	/* Duplicates leave the tiers alone. */
	CHECK_STR(sql_dump(tdb("acme"), "SELECT * FROM tiers ORDER BY battery, period, start"),
		  tiers);
	free((char *)tiers);

	/* Status, alert and aggregate records replayed (2026-11-27: input
	 * read again after a restart stored them twice), in a later batch
	 * and in the same one: each is kept once and counted a duplicate. */
	CHECK_INT(put(st, STATUS), 1);
	CHECK_INT(put(st, ALERT), 1);
	CHECK_INT(put(st, AGG), 1);
	CHECK_INT(put(st, AGG), 1);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.stored, 0);
	CHECK_INT(s.duplicates, 6);
	CHECK_STR(sql_dump(tdb("acme"), "SELECT (SELECT count(*) FROM status),"
			   " (SELECT count(*) FROM alerts), (SELECT count(*) FROM aggregates)"),
		  "1|1|1\n");
	/* The same battery and time with another text is another record. */
	CHECK_INT(put(st, "{\"type\":\"status\",\"bms_id\":\"d1\",\"timestamp\":"
		      "\"2026-11-26T00:00:00Z\",\"state\":\"connected\"}"), 1);
	CHECK_INT(put(st, "{\"type\":\"status\",\"bms_id\":\"d1\",\"timestamp\":"
		      "\"2026-11-26T00:00:00Z\",\"state\":\"disconnected\"}"), 1);
	CHECK_INT(put(st, "{\"type\":\"status\",\"bms_id\":\"d1\",\"timestamp\":"
		      "\"2026-11-26T00:00:00Z\",\"state\":\"connected\"}"), 1);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.stored, 2);
	CHECK_INT(s.duplicates, 7);
	CHECK_STR(query(st, BMS_Q_STATUS, "d1", 0, INT64_MAX, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,state,reason,quality,message\n"
		  "2026-11-26T00:00:00.000Z,d1,connected,,,\n"
		  "2026-11-26T00:00:00.000Z,d1,disconnected,,,\n");
	bms_store_close(st);
}

static void test_rejects(void)
{
	struct bms_store *st = open_t("acme");
	const char *l16 = fixture_line("reading-16s.ndjson");

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_STR(put_why(st, "{\"type\":\"status\",", BMS_STORE_EREJECT),
		  "not a JSON object: expected a key at byte 18");
	CHECK_STR(put_why(st, "{\"bms_id\":\"p1\"}", BMS_STORE_EREJECT), "no type");
	CHECK_STR(put_why(st, "{\"type\":\"status\",\"timestamp\":\"2026-11-27T14:29:20Z\"}",
			  BMS_STORE_EREJECT), "no bms_id");
	CHECK_STR(put_why(st, "{\"type\":\"status\",\"bms_id\":7,\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\"}", BMS_STORE_EREJECT), "bms_id: not a string");
	CHECK_STR(put_why(st, "{\"type\":\"alert\",\"bms_id\":\"\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\"}", BMS_STORE_EREJECT), "bms_id: empty");
	CHECK_STR(put_why(st, "{\"type\":\"status\",\"bms_id\":\"p1\"}", BMS_STORE_EREJECT),
		  "no timestamp");
	CHECK_STR(put_why(st, "{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":"
			  "\"yesterday\"}", BMS_STORE_EREJECT), "bad timestamp");
	CHECK_STR(put_why(st, "{\"type\":\"aggregate\",\"bms_id\":\"p1\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"tenant\":\"beta\"}", BMS_STORE_EREJECT),
		  "record of tenant 'beta', this store writes 'acme'");
	CHECK_STR(put_why(st, retime(l16, "2026-11-27T14:29:20.000Z", ",\"tenant\":\"beta\""),
			  BMS_STORE_EREJECT),
		  "record of tenant 'beta', this store writes 'acme'");
	CHECK_STR(put_why(st, "{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"pack_voltage\":\"x\"}", BMS_STORE_EREJECT),
		  "pack_voltage: not a number");

	/* A name from a record is escaped in a message, which stays one line
	 * (2026-11-27: a tenant "ev\nil" split the line of the rejects file);
	 * a long one is cut, with "..." to say so. */
	CHECK_STR(put_why(st, "{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"tenant\":\"ev\\nil\"}", BMS_STORE_EREJECT),
		  "record of tenant 'ev\\nil', this store writes 'acme'");
	CHECK_STR(put_why(st, retime(l16, "2026-11-27T14:29:20.000Z",
				     ",\"tenant\":\"ev\\u0007il\\\"\\\\x\""), BMS_STORE_EREJECT),
		  "record of tenant 'ev\\u0007il\\\"\\\\x', this store writes 'acme'");
	CHECK_STR(put_why(st, "{\"type\":\"alert\",\"bms_id\":\"p1\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"tenant\":\"a\\u007fb\\u0085c\\t\u00e9\"}",
			  BMS_STORE_EREJECT),
		  "record of tenant 'a\\u007fb\\u0085c\\t\u00e9', this store writes 'acme'");
	{
		char rec[1024], want[512];
		int n;

		n = snprintf(rec, sizeof rec, "{\"type\":\"status\",\"bms_id\":\"p1\","
			     "\"timestamp\":\"2026-11-27T14:29:20Z\",\"tenant\":\"");
		/* 63 bytes, the most an envelope's tenant holds (issue 7). */
		for (int i = 0; i < 63; i++)
			n += snprintf(rec + n, sizeof rec - (size_t)n, "\\n");
		snprintf(rec + n, sizeof rec - (size_t)n, "\"}");
		n = snprintf(want, sizeof want, "record of tenant '");
		for (int i = 0; i < 46; i++)
			n += snprintf(want + n, sizeof want - (size_t)n, "\\n");
		snprintf(want + n, sizeof want - (size_t)n, "...', this store writes 'acme'");
		CHECK_STR(put_why(st, rec, BMS_STORE_EREJECT), want);
		/* One more is past the envelope's limit. */
		n = snprintf(rec, sizeof rec, "{\"type\":\"status\",\"bms_id\":\"p1\","
			     "\"timestamp\":\"2026-11-27T14:29:20Z\",\"tenant\":\"");
		for (int i = 0; i < 64; i++)
			n += snprintf(rec + n, sizeof rec - (size_t)n, "\\n");
		snprintf(rec + n, sizeof rec - (size_t)n, "\"}");
		CHECK_STR(put_why(st, rec, BMS_STORE_EREJECT), "tenant: longer than 63 bytes");
	}
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM readings"), 3);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM status WHERE battery ="
			  " (SELECT id FROM batteries WHERE bms_id = 'p1')"), 1);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM aggregates"), 1);
	bms_store_close(st);
}

/* ==== Tiers ==== */

static const char *treading(const char *id, const char *t, const char *fields)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "{\"type\":\"reading\",\"bms_id\":\"%s\","
		 "\"timestamp\":\"%s\",%s}", id, t, fields);
	return buf[k];
}

static const char T1_MINUTE0[] =
	"{\"type\":\"aggregate\",\"bms_id\":\"t1\",\"timestamp\":\"2026-11-27T10:00:00.000Z\","
	"\"period\":\"1m\",\"n\":3,"
	"\"pack_voltage\":{\"min\":52,\"max\":53,\"mean\":52.5,\"last\":53},"
	"\"pack_current\":{\"min\":-11,\"max\":-9.75,\"mean\":-10.3333,\"last\":-9.75},"
	"\"soc_percent\":{\"min\":79.5,\"max\":80,\"mean\":79.75,\"last\":79.5},"
	"\"cell_voltage_min\":{\"min\":3.125,\"max\":3.25,\"mean\":3.2083,\"last\":3.25},"
	"\"cell_voltage_max\":{\"min\":3.5,\"max\":3.5,\"mean\":3.5,\"last\":3.5},"
	"\"temperature_min\":{\"min\":19.5,\"max\":21,\"mean\":20.1667,\"last\":21},"
	"\"temperature_max\":{\"min\":22.5,\"max\":24,\"mean\":23.1667,\"last\":23}}\n";
static const char T1_MINUTE1[] =
	"{\"type\":\"aggregate\",\"bms_id\":\"t1\",\"timestamp\":\"2026-11-27T10:01:00.000Z\","
	"\"period\":\"1m\",\"n\":1,"
	"\"pack_voltage\":{\"min\":54,\"max\":54,\"mean\":54,\"last\":54}}\n";
static const char T1_HOUR[] =
	"{\"type\":\"aggregate\",\"bms_id\":\"t1\",\"timestamp\":\"2026-11-27T10:00:00.000Z\","
	"\"period\":\"1h\",\"n\":4,"
	"\"pack_voltage\":{\"min\":52,\"max\":54,\"mean\":52.875,\"last\":54},"
	"\"pack_current\":{\"min\":-11,\"max\":-9.75,\"mean\":-10.3333,\"last\":-9.75},"
	"\"soc_percent\":{\"min\":79.5,\"max\":80,\"mean\":79.75,\"last\":79.5},"
	"\"cell_voltage_min\":{\"min\":3.125,\"max\":3.25,\"mean\":3.2083,\"last\":3.25},"
	"\"cell_voltage_max\":{\"min\":3.5,\"max\":3.5,\"mean\":3.5,\"last\":3.5},"
	"\"temperature_min\":{\"min\":19.5,\"max\":21,\"mean\":20.1667,\"last\":21},"
	"\"temperature_max\":{\"min\":22.5,\"max\":24,\"mean\":23.1667,\"last\":23}}\n";

/*
 * Four readings of t1, worked out by hand: two in a first batch, then a
 * late one of the same minute and one of the next minute (voltage only)
 * in a second.  Every value is a binary fraction, so sums are exact and
 * the tier rows can be compared bit for bit after compact.
 */
static void test_tiers(void)
{
	struct bms_store *st = open_t("acme");
	int64_t t0 = ts_of("2026-11-27T10:00:00Z"), t1 = ts_of("2026-11-27T11:00:00Z");
	const char *sel = "SELECT t.* FROM tiers t JOIN batteries b ON b.id = t.battery"
			  " WHERE b.bms_id = 't1' ORDER BY period, start";
	char *before, *all;
	struct bms_buf want = BMS_BUF_INIT;
	enum bms_store_tier used;

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(put(st, treading("t1", "2026-11-27T10:00:05.000Z",
				   "\"pack_voltage\":52.5,\"pack_current\":-10.25,\"soc_percent\":80,"
				   "\"temperatures\":[20,22.5],\"cell_voltages\":[3.25,3.5,3.375]")), 1);
	CHECK_INT(put(st, treading("t1", "2026-11-27T10:00:35.000Z",
				   "\"pack_voltage\":53,\"pack_current\":-9.75,\"soc_percent\":79.5,"
				   "\"temperatures\":[21,23],\"cell_voltages\":[3.25,3.5,3.25]")), 1);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(put(st, treading("t1", "2026-11-27T10:00:20.000Z",
				   "\"pack_voltage\":52,\"pack_current\":-11,\"soc_percent\":79.75,"
				   "\"temperatures\":[19.5,24],\"cell_voltages\":[3.125,3.5,3.25]")), 1);
	CHECK_INT(put(st, treading("t1", "2026-11-27T10:01:10.000Z", "\"pack_voltage\":54")), 1);
	CHECK_INT(bms_store_commit(st), 0);

	bms_buf_printf(&want, "%s%s", T1_MINUTE0, T1_MINUTE1);
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0, t1, BMS_TIER_MINUTE, 0, &used), want.p);
	CHECK_INT(used, BMS_TIER_MINUTE);
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0, t1, BMS_TIER_HOUR, 0, &used), T1_HOUR);
	CHECK_INT(used, BMS_TIER_HOUR);
	/* A bucket that begins before since still counts. */
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0 + 30000, t0 + 60000, BMS_TIER_MINUTE, 0,
			NULL), T1_MINUTE0);
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0 + 60000, t1, BMS_TIER_MINUTE, 0, NULL),
		  T1_MINUTE1);

	/* Compact rebuilds the very same rows from the readings. */
	all = strdup(query(st, BMS_Q_READINGS, NULL, 0, INT64_MAX / 2, BMS_TIER_MINUTE, 0, NULL));
	before = strdup(sql_dump(tdb("acme"), sel));
	CHECK(strlen(before) > 0);
	CHECK_INT(sql_exec(tdb("acme"), "UPDATE tiers SET n = 99, pack_voltage_max = 0"
			   " WHERE battery = (SELECT id FROM batteries WHERE bms_id = 't1')"
			   " AND period = 60 AND start > 0 AND start = "
			   "(SELECT max(start) FROM tiers WHERE period = 60 AND battery ="
			   " (SELECT id FROM batteries WHERE bms_id = 't1'))"), SQLITE_OK);
	CHECK_INT(bms_store_compact(st, t1), 0);
	/* The first bucket is only replaced by one counting at least as much:
	 * the damaged row was the last one, so it is rebuilt too. */
	CHECK_STR(sql_dump(tdb("acme"), sel), before);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s%s", T1_MINUTE0, T1_MINUTE1);
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0, t1, BMS_TIER_MINUTE, 0, NULL), want.p);
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", t0, t1, BMS_TIER_HOUR, 0, NULL), T1_HOUR);
	CHECK_STR(query(st, BMS_Q_READINGS, NULL, 0, INT64_MAX / 2, BMS_TIER_MINUTE, 0, NULL), all);
	CHECK_INT(lines(all), 4);	/* p1 14:29, p2 14:29, t1 10:00 and 10:01 */
	free(all);
	free(before);
	bms_buf_free(&want);
	bms_store_close(st);
}

/* More batteries in one batch than the cache holds: evicted batteries
 * have their buckets written first, so every reading is in the tiers. */
static void test_many_batteries(void)
{
	struct bms_store *st = open_t("beta");
	char id[16];
	int ok = 1;

	CHECK(st != NULL);
	if (!st)
		return;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(id, sizeof id, "m%03d", i);
			ok &= put(st, treading(id, round ? "2026-11-27T10:00:30.000Z" :
					       "2026-11-27T10:00:10.000Z",
					       "\"pack_voltage\":50")) == 1;
		}
	CHECK(ok);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM batteries WHERE bms_id LIKE 'm%'"),
		  300);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM tiers WHERE n = 2"), 600);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM tiers WHERE n != 2"), 0);
	CHECK_INT(sql_int(tdb("beta"), "SELECT sum(pack_voltage_sum) FROM tiers"), 600 * 100);
	bms_store_close(st);
}

/* ==== Retention and the tier choice ==== */

/* Set the raw retention of tenant to days through a control handle. */
static void set_raw(const char *tenant, long days)
{
	struct bms_store *c = open_t(NULL);
	struct bms_retention k = { days, -1, -1 };

	CHECK(c != NULL);
	if (c)
		CHECK_INT(bms_store_tenant_set(c, tenant, &k), 0);
	bms_store_close(c);
}

static void test_expire(void)
{
	struct bms_store *st = open_t("exp");	/* raw 1 day, minute 2, hour 3 */
	int64_t now = bms_ts_now_ms() / 3600000 * 3600000, day = 86400000;
	char t[BMS_TS_LEN + 1], rec[512];
	enum bms_store_tier used;

	CHECK(st != NULL);
	if (!st)
		return;
	/* Records past the raw retention are only stored while it is off. */
	set_raw("exp", 0);
	for (int i = 0; i < 4; i++) {
		bms_ts_format_ms(now - day / 2 - i * day, t);
		CHECK_INT(put(st, treading("e1", t, "\"pack_voltage\":50")), 1);
		snprintf(rec, sizeof rec, "{\"type\":\"status\",\"bms_id\":\"e1\","
			 "\"timestamp\":\"%s\",\"state\":\"connected\"}", t);
		CHECK_INT(put(st, rec), 1);
		snprintf(rec, sizeof rec, "{\"type\":\"alert\",\"bms_id\":\"e1\","
			 "\"timestamp\":\"%s\",\"code\":\"x\"}", t);
		CHECK_INT(put(st, rec), 1);
		snprintf(rec, sizeof rec, "{\"type\":\"aggregate\",\"bms_id\":\"e1\","
			 "\"timestamp\":\"%s\"}", t);
		CHECK_INT(put(st, rec), 1);
	}
	CHECK_INT(bms_store_commit(st), 0);
	set_raw("exp", 1);
	CHECK_INT(bms_store_user_add(st, "u", BMS_ROLE_VIEWER, "pw"), 0);
	CHECK_INT(bms_store_token_add(st, "u", "old-token", now - 1), 0);
	CHECK_INT(bms_store_token_add(st, "u", "new-token", now + day), 0);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM tiers"), 8);

	CHECK_INT(bms_store_expire(st, now), 0);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM readings"), 1);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM status"), 1);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM alerts"), 1);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM aggregates"), 1);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM tiers WHERE period = 60"), 2);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM tiers WHERE period = 3600"), 3);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM tokens"), 1);
	CHECK_INT(bms_store_token_check(st, "new-token", now, NULL, 0), 1);

	/* Auto: raw kept 1 day, minutes 2 days. */
	query(st, BMS_Q_READINGS, NULL, now - 3600000, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_RAW);
	query(st, BMS_Q_READINGS, NULL, now - day - 7200000, now - day, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_MINUTE);
	query(st, BMS_Q_READINGS, NULL, now - 3 * day, now - 3 * day + 3600000,
	      BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_HOUR);
	query(st, BMS_Q_READINGS, NULL, now - day / 2, now + 2 * day, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_MINUTE);
	/* Expired readings are gone from the raw answer, not from the hours. */
	CHECK_INT(strlen(query(st, BMS_Q_READINGS, "e1", now - 4 * day, now, BMS_TIER_RAW,
			       0, NULL)) > 0, 1);
	CHECK_STR(query(st, BMS_Q_READINGS, "e1", now - 4 * day, now - day, BMS_TIER_RAW,
			0, NULL), "");
	query(st, BMS_Q_READINGS, "e1", now - 4 * day, now, BMS_TIER_HOUR, 0, NULL);
	CHECK_INT(lines(out.p), 3);
	bms_store_close(st);

	/* The defaults: raw 30 days, minutes 400, hours forever. */
	set_raw("acme", 30);
	st = open_t("acme");
	if (!st)
		return;
	query(st, BMS_Q_READINGS, NULL, now - 3600000, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_RAW);
	query(st, BMS_Q_READINGS, NULL, now - 48 * 3600000LL, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_RAW);
	query(st, BMS_Q_READINGS, NULL, now - 48 * 3600000LL - 1, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_MINUTE);
	query(st, BMS_Q_READINGS, NULL, now - 60 * day, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_MINUTE);
	query(st, BMS_Q_READINGS, NULL, now - 90 * day, now, BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_HOUR);
	CHECK_INT(lines(query(st, BMS_Q_READINGS, "t1", INT64_MIN, INT64_MAX, BMS_TIER_AUTO, 0,
			      &used)), 1);
	CHECK_INT(used, BMS_TIER_HOUR);
	query(st, BMS_Q_READINGS, NULL, now - 31 * day, now - 30 * day - 3600000,
	      BMS_TIER_AUTO, 0, &used);
	CHECK_INT(used, BMS_TIER_MINUTE);
	bms_store_close(st);
	set_raw("acme", 0);
}

static const char *tier_rows(const char *tenant, const char *bms_id)
{
	static char sql[256];

	snprintf(sql, sizeof sql, "SELECT t.* FROM tiers t JOIN batteries b ON b.id = t.battery"
		 " WHERE b.bms_id = '%s' ORDER BY period, start", bms_id);
	return sql_dump(tdb(tenant), sql);
}

/*
 * Records older than the raw retention are not stored (2026-11-27:
 * readings read again after expire had deleted them were counted in the
 * tiers twice).  Tenant exp keeps raw records for 1 day.
 */
static void test_too_old(void)
{
	struct bms_store *st = open_t("exp");
	struct bms_store_stats s;
	int64_t now = bms_ts_now_ms(), day = 86400000;
	char old[BMS_TS_LEN + 1], recent[BMS_TS_LEN + 1], gone[BMS_TS_LEN + 1], rec[512];
	char *before;

	CHECK(st != NULL);
	if (!st)
		return;
	bms_ts_format_ms(now - day - 3600000, old);
	bms_ts_format_ms(now - 3600000, recent);
	/* e1's reading of 1.5 days ago, which test_expire deleted. */
	bms_ts_format_ms(now / 3600000 * 3600000 - day / 2 - day, gone);
	before = strdup(tier_rows("exp", "e1"));
	CHECK(strlen(before) > 0);

	/* Every type, to a new battery and a known one: nothing is stored,
	 * no battery registered, and the tiers stay as they were. */
	CHECK_STR(put_why(st, treading("o1", old, "\"pack_voltage\":50"), 0), "");
	CHECK_INT(put(st, treading("e1", gone, "\"pack_voltage\":50")), 0);
	snprintf(rec, sizeof rec, "{\"type\":\"status\",\"bms_id\":\"o1\","
		 "\"timestamp\":\"%s\",\"state\":\"connected\"}", old);
	CHECK_INT(put(st, rec), 0);
	snprintf(rec, sizeof rec, "{\"type\":\"alert\",\"bms_id\":\"o1\","
		 "\"timestamp\":\"%s\",\"code\":\"x\"}", old);
	CHECK_INT(put(st, rec), 0);
	snprintf(rec, sizeof rec, "{\"type\":\"aggregate\",\"bms_id\":\"o1\","
		 "\"timestamp\":\"%s\"}", old);
	CHECK_INT(put(st, rec), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.too_old, 5);
	CHECK_INT(s.pending, 0);
	/* Malformed or another tenant's: rejected, not counted too old. */
	CHECK_INT(put(st, retime(treading("o1", old, "\"pack_voltage\":50"), old,
				 ",\"tenant\":\"beta\"")), BMS_STORE_EREJECT);
	CHECK_INT(put(st, treading("o1", old, "\"pack_voltage\":\"x\"")), BMS_STORE_EREJECT);
	/* A recent record in the same batch is stored. */
	CHECK_INT(put(st, treading("o1", recent, "\"pack_voltage\":50")), 1);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.too_old, 5);
	CHECK_INT(s.stored, 1);
	CHECK_STR(tier_rows("exp", "e1"), before);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM readings r JOIN batteries b"
			  " ON b.id = r.battery WHERE b.bms_id = 'e1'"), 1);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM tiers t JOIN batteries b"
			  " ON b.id = t.battery WHERE b.bms_id = 'o1'"), 2);
	CHECK_INT(sql_int(tdb("exp"), "SELECT (SELECT count(*) FROM status) +"
			  " (SELECT count(*) FROM alerts) +"
			  " (SELECT count(*) FROM aggregates)"), 3);

	/* Inside a batch the cutoff follows what expire deleted. */
	bms_ts_format_ms(now - 7200000, old);
	CHECK_INT(put(st, treading("o1", recent, "\"pack_voltage\":51")), 1);	/* a duplicate */
	CHECK_INT(bms_store_expire(st, now + day - 5400000), 0);
	CHECK_INT(put(st, treading("o1", old, "\"pack_voltage\":50")), 0);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.too_old, 6);
	CHECK_INT(s.duplicates, 1);

	/* Retention raised to forever: from the next batch on, nothing is
	 * too old. */
	set_raw("exp", 0);
	CHECK_INT(put(st, treading("o1", "1999-12-31T23:59:59.000Z", "\"pack_voltage\":50")), 1);
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_stats(st, &s);
	CHECK_INT(s.too_old, 6);
	CHECK_INT(s.stored, 2);
	set_raw("exp", 1);
	free(before);
	bms_store_close(st);
}

/* ==== CSV ==== */

static void test_csv(void)
{
	struct bms_store *st = open_t("acme");
	int64_t t0 = ts_of("2026-11-27T14:00:00Z"), t1 = ts_of("2026-11-27T15:00:00Z");

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_STR(query(st, BMS_Q_READINGS, NULL, t0, t1, BMS_TIER_RAW, 1, NULL),
		  "timestamp,bms_id,pack_voltage,pack_current,pack_power,soc_percent,"
		  "soh_percent,cell_voltages,temperatures,cycles,remaining_capacity_ah,"
		  "fault_codes,warning_codes\n"
		  "2026-11-27T14:29:11.123Z,p1,53.4,12.5,667.5,78.5,,3.338 3.341 3.336 3.343"
		  " 3.335 3.34 3.342 3.344 3.337 3.341 3.339 3.352 3.333 3.34 3.342 3.341,"
		  "27 25,42,219.8,,\n"
		  "2026-11-27T14:29:13.000Z,p1,53.4,12.5,667.5,78.5,,3.338 3.341 3.336 3.343"
		  " 3.335 3.34 3.342 3.344 3.337 3.341 3.339 3.352 3.333 3.34 3.342 3.341,"
		  "27 25,42,219.8,,\n"
		  "2026-11-27T14:29:11.123Z,p2,53.4,12.5,668,78.5,,3.338 3.341 3.336 3.343"
		  " 3.335 3.34 3.342 3.344 3.337 3.341 3.339 3.352 3.333 3.34 3.342 3.341,"
		  "27 25,42,219.8,,\n");
	CHECK_STR(query(st, BMS_Q_STATUS, NULL, t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,state,reason,quality,message\n"
		  "2026-11-27T14:29:20.000Z,p1,disconnected,no_reply,80,\"no reply, 3 polls\"\n");
	CHECK_STR(query(st, BMS_Q_ALERTS, NULL, t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,ack_at\n"
		  "1,2026-11-27T14:29:30.000Z,p2,,warning,cell_high,open,"
		  "\"cell 12 at \"\"3.65\"\" V\",,\n");
	CHECK_STR(query(st, BMS_Q_AGGREGATES, NULL, t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,doc\n"
		  "2026-11-27T14:29:00.000Z,p1,\"{\"\"type\"\":\"\"aggregate\"\",\"\"bms_id\"\":"
		  "\"\"p1\"\",\"\"timestamp\"\":\"\"2026-11-27T14:29:00.000Z\"\",\"\"period\"\":"
		  "\"\"1m\"\",\"\"n\"\":2}\"\n");
	/* A bms_id that needs quoting, and an empty answer: the header only. */
	CHECK_INT(put(st, "{\"type\":\"status\",\"bms_id\":\"a,\\\"b\",\"timestamp\":"
		      "\"2026-11-27T14:29:40Z\",\"state\":\"testing\",\"quality\":99.5}"), 1);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_STR(query(st, BMS_Q_STATUS, "a,\"b", t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,state,reason,quality,message\n"
		  "2026-11-27T14:29:40.000Z,\"a,\"\"b\",testing,,99.5,\n");
	CHECK_STR(query(st, BMS_Q_STATUS, "nobody", t0, t1, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,state,reason,quality,message\n");
	CHECK_STR(query(st, BMS_Q_READINGS, "t1", ts_of("2026-11-27T10:00:00Z"),
			ts_of("2026-11-27T10:01:00Z"), BMS_TIER_MINUTE, 1, NULL),
		  "timestamp,bms_id,period,n,"
		  "pack_voltage_min,pack_voltage_max,pack_voltage_mean,pack_voltage_last,"
		  "pack_current_min,pack_current_max,pack_current_mean,pack_current_last,"
		  "pack_power_min,pack_power_max,pack_power_mean,pack_power_last,"
		  "soc_percent_min,soc_percent_max,soc_percent_mean,soc_percent_last,"
		  "cell_voltage_min_min,cell_voltage_min_max,cell_voltage_min_mean,cell_voltage_min_last,"
		  "cell_voltage_max_min,cell_voltage_max_max,cell_voltage_max_mean,cell_voltage_max_last,"
		  "temperature_min_min,temperature_min_max,temperature_min_mean,temperature_min_last,"
		  "temperature_max_min,temperature_max_max,temperature_max_mean,temperature_max_last\n"
		  "2026-11-27T10:00:00.000Z,t1,1m,3,52,53,52.5,53,-11,-9.75,-10.3333,-9.75,,,,,"
		  "79.5,80,79.75,79.5,3.125,3.25,3.2083,3.25,3.5,3.5,3.5,3.5,"
		  "19.5,21,20.1667,21,22.5,24,23.1667,23\n");
	bms_store_close(st);
}

/* A query of a record type or tier out of its enum is refused
 * (2026-11-27: one indexed past the end of the store's tables). */
static void test_bad_query(void)
{
	struct bms_store *st = open_t("acme");
	struct bms_store_query q = { BMS_Q_STATUS, NULL, 0, INT64_MAX, BMS_TIER_AUTO, 1 };

	CHECK(st != NULL);
	if (!st)
		return;
	bms_buf_reset(&out);
	q.what = (enum bms_store_what)(BMS_Q_ANOMALIES + 1);
	CHECK_INT(bms_store_query(st, &q, collect, &out, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad query: no record type 6");
	q.what = (enum bms_store_what)-1;
	CHECK_INT(bms_store_query(st, &q, collect, &out, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad query: no record type -1");
	q.what = BMS_Q_READINGS;
	q.tier = (enum bms_store_tier)(BMS_TIER_HOUR + 1);
	CHECK_INT(bms_store_query(st, &q, collect, &out, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad query: no tier 4");
	q.tier = (enum bms_store_tier)-1;
	CHECK_INT(bms_store_query(st, &q, collect, &out, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad query: no tier -1");
	CHECK(out.len == 0);
	bms_store_close(st);
}

/* ==== Registries ==== */

static void test_batteries(void)
{
	struct bms_store *st = open_t("beta");
	struct bms_battery b;
	char house[8 + BMS_STORE_UUID_LEN], upper[BMS_STORE_UUID_LEN + 1], auto1[128];
	const char *uuid;
	struct bms_buf j = BMS_BUF_INIT;

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(sql_exec(tdb("beta"), "DELETE FROM readings; DELETE FROM tiers;"
			   " DELETE FROM batteries"), SQLITE_OK);

	bms_store_battery_clear(&b);
	b.bms_id = "house";
	b.name = "House bank";
	b.chemistry = "lifepo4";
	b.nominal_capacity_ah = 280;
	b.cell_count = 16;
	b.bms_type = "daly";
	b.protocol = "daly";
	b.device = "/dev/ttyUSB0";
	b.baud = 9600;
	b.timeout_ms = 500;
	b.notes = "shed";
	CHECK_INT(bms_store_battery_add(st, &b), 0);
	CHECK_INT(bms_store_battery_add(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "battery 'house' exists already; change it with"
		  " batteries edit");
	bms_store_battery_clear(&b);
	b.bms_id = "spare";
	CHECK_INT(bms_store_battery_add(st, &b), 0);
	b.bms_id = "";
	CHECK_INT(bms_store_battery_add(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(battery_list(st),
		  "house|House bank|lifepo4|280|16|daly|daly|/dev/ttyUSB0|9600|500|shed|0|1|1\n"
		  "spare|-|-|-1|-1|-|-|-|-1|-1|-|0|1|1\n");

	/* Each has a UUID of its own; either names it. */
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(DISTINCT uuid) FROM batteries"), 2);
	snprintf(house, sizeof house, "%s", battery_get(st, "house"));
	CHECK_INT(strlen(house), 6 + BMS_STORE_UUID_LEN);
	uuid = house + 6;
	CHECK(is_uuid4(uuid));
	CHECK_STR(battery_get(st, uuid), house);
	for (size_t i = 0; i < sizeof upper; i++)
		upper[i] = (char)toupper((unsigned char)uuid[i]);
	CHECK_STR(battery_get(st, upper), house);
	CHECK_STR(battery_get(st, "ghost"), "rc -2");
	CHECK_STR(bms_store_error(st), "no battery 'ghost'");
	CHECK_STR(battery_get(st, ""), "rc -2");
	CHECK_STR(bms_store_error(st), "bad battery id '': 1 to 127 bytes of UTF-8");
	CHECK_STR(battery_get(st, "' OR 1 = 1 --"), "rc -2");
	CHECK_INT(bms_store_battery_get(st, "spare", battery_stop, NULL), 7);

	/* Edit: given fields change, "" clears one, the rest stay. */
	bms_store_battery_clear(&b);
	b.bms_id = "house";
	b.name = "House";
	b.notes = "";
	b.baud = 115200;
	CHECK_INT(bms_store_battery_edit(st, &b), 0);
	b.bms_id = "ghost";
	CHECK_INT(bms_store_battery_edit(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no battery 'ghost'");
	/* An id is escaped in a message, which stays one line. */
	b.bms_id = "gh\nost";
	CHECK_INT(bms_store_battery_edit(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no battery 'gh\\nost'");
	CHECK_INT(bms_store_battery_remove(st, "x\x1b[2Jy", 0), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no battery 'x\\u001b[2Jy'");
	b.bms_id = "\xff\r";
	CHECK_INT(bms_store_battery_edit(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad battery id '\xff\\r': 1 to 127 bytes of UTF-8");
	CHECK_STR(battery_list(st),
		  "house|House|lifepo4|280|16|daly|daly|/dev/ttyUSB0|115200|500|-|0|1|1\n"
		  "spare|-|-|-1|-1|-|-|-|-1|-1|-|0|1|1\n");
	/* An edit keeps the UUID. */
	CHECK_STR(battery_get(st, uuid), house);

	/* Auto-registration, then adding it by hand fills it in. */
	CHECK_INT(put(st, treading("auto1", "2026-11-27T10:00:00.000Z", "\"pack_voltage\":50")), 1);
	CHECK_INT(put(st, STATUS), 1);	/* p1 */
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_STR(battery_list(st),
		  "auto1|-|-|-1|-1|-|-|-|-1|-1|-|1|1|1\n"
		  "house|House|lifepo4|280|16|daly|daly|/dev/ttyUSB0|115200|500|-|0|1|1\n"
		  "p1|-|-|-1|-1|-|-|-|-1|-1|-|1|1|1\n"
		  "spare|-|-|-1|-1|-|-|-|-1|-1|-|0|1|1\n");
	snprintf(auto1, sizeof auto1, "%s", battery_get(st, "auto1"));
	CHECK(is_uuid4(auto1 + 6));
	CHECK_STR(battery_get(st, auto1 + 6), auto1);
	bms_store_battery_clear(&b);
	b.bms_id = "auto1";
	b.chemistry = "nmc";
	CHECK_INT(bms_store_battery_add(st, &b), 0);
	CHECK_INT(bms_store_battery_add(st, &b), BMS_STORE_ECONFIG);
	CHECK_STR(battery_get(st, "auto1"), auto1);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(DISTINCT uuid) FROM batteries"), 4);

	/* A bms_id that is another battery's UUID names its own battery. */
	bms_store_battery_clear(&b);
	b.bms_id = uuid;
	CHECK_INT(bms_store_battery_add(st, &b), 0);
	CHECK(strncmp(battery_get(st, uuid), uuid, BMS_STORE_UUID_LEN) == 0);
	CHECK_STR(battery_get(st, "house"), house);
	CHECK_INT(bms_store_battery_remove(st, uuid, 0), 0);
	CHECK_STR(battery_get(st, uuid), house);

	/* The JSON of a row: the UUID after the bms_id. */
	bms_store_battery_clear(&b);
	b.bms_id = "x";
	b.uuid = "0b9d2c3e-6f5a-4e1b-9c8d-7a6b5c4d3e2f";
	b.created = "2026-11-27T14:29:11.123Z";
	bms_store_battery_json(&b, &j);
	CHECK_STR(j.p, "{\"bms_id\":\"x\",\"uuid\":\"0b9d2c3e-6f5a-4e1b-9c8d-7a6b5c4d3e2f\","
		  "\"auto_added\":false,\"created\":\"2026-11-27T14:29:11.123Z\"}");
	bms_buf_free(&j);

	/* Remove: refused with records unless purged. */
	CHECK_INT(bms_store_battery_remove(st, "spare", 0), 0);
	CHECK_INT(bms_store_battery_remove(st, "spare", 0), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no battery 'spare'");
	CHECK_INT(bms_store_battery_remove(st, "auto1", 0), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "battery 'auto1' has stored records; remove it with"
		  " --purge to delete them too");
	CHECK_INT(bms_store_battery_remove(st, "p1", 0), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_battery_remove(st, "auto1", 1), 0);
	CHECK_INT(bms_store_battery_remove(st, "p1", 1), 0);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM readings"), 0);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM tiers"), 0);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM status"), 0);
	CHECK_STR(battery_list(st),
		  "house|House|lifepo4|280|16|daly|daly|/dev/ttyUSB0|115200|500|-|0|1|1\n");
	bms_store_close(st);
}

/* A battery another process removed while it sat in the ingest cache is
 * registered again, not written under its old number. */
static void test_removed_meanwhile(void)
{
	struct bms_store *a = open_t("beta"), *b = open_t("beta");

	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK_INT(put(a, treading("gone", "2026-11-27T10:00:00.000Z", "\"pack_voltage\":50")), 1);
	CHECK_INT(bms_store_commit(a), 0);
	CHECK_INT(bms_store_battery_remove(b, "gone", 1), 0);
	CHECK_INT(put(a, treading("gone", "2026-11-27T10:00:01.000Z", "\"pack_voltage\":51")), 1);
	CHECK_INT(bms_store_commit(a), 0);
	CHECK_STR(sql_dump(tdb("beta"), "SELECT b.bms_id, r.ts, t.n FROM readings r"
			   " JOIN batteries b ON b.id = r.battery JOIN tiers t ON"
			   " t.battery = b.id AND t.period = 60"),
		  "gone|1795773601000|1\n");
out:
	bms_store_close(a);
	bms_store_close(b);
}

static int user_line(void *ctx, const struct bms_user *u)
{
	struct bms_buf *o = ctx;

	bms_buf_printf(o, "%s %s %d %d\n", u->name, bms_store_role_name(u->role), u->disabled,
		       u->created && strlen(u->created) == BMS_TS_LEN);
	return 0;
}

static void test_users(void)
{
	struct bms_store *st = open_t("acme");
	enum bms_role role = BMS_ROLE_VIEWER;
	char user[64];

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(bms_store_user_add(st, "alice", BMS_ROLE_ADMIN, "s3cret pass"), 0);
	CHECK_INT(bms_store_user_add(st, "bob", BMS_ROLE_VIEWER, "hunter2"), 0);
	CHECK_INT(bms_store_user_add(st, "alice", BMS_ROLE_VIEWER, "x"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "user 'alice' exists already");
	CHECK_INT(bms_store_user_add(st, "Alice", BMS_ROLE_VIEWER, "x"), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_user_add(st, "al\nice", BMS_ROLE_VIEWER, "x"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad user name 'al\\nice': use a-z, 0-9, '_' and '-', at"
		  " most 63 bytes, starting with a letter or digit");
	CHECK_INT(bms_store_user_add(st, "carol", BMS_ROLE_VIEWER, ""), BMS_STORE_ECONFIG);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM users WHERE pwhash LIKE '$y$%'"
			  " AND instr(pwhash, 's3cret') = 0"), 2);

	CHECK_INT(bms_store_user_verify(st, "alice", "s3cret pass", &role), 1);
	CHECK_INT(role, BMS_ROLE_ADMIN);
	CHECK_INT(bms_store_user_verify(st, "alice", "s3cret", &role), 0);
	CHECK_INT(bms_store_user_verify(st, "nobody", "s3cret pass", &role), 0);
	CHECK_INT(bms_store_user_verify(st, "bob", "hunter2", &role), 1);
	CHECK_INT(role, BMS_ROLE_VIEWER);

	CHECK_INT(bms_store_user_disable(st, "alice", 1), 0);
	CHECK_INT(bms_store_user_verify(st, "alice", "s3cret pass", &role), 0);
	CHECK_INT(bms_store_user_disable(st, "alice", 0), 0);
	CHECK_INT(bms_store_user_verify(st, "alice", "s3cret pass", &role), 1);
	CHECK_INT(bms_store_user_passwd(st, "alice", "new one"), 0);
	CHECK_INT(bms_store_user_verify(st, "alice", "s3cret pass", &role), 0);
	CHECK_INT(bms_store_user_verify(st, "alice", "new one", &role), 1);
	CHECK_INT(bms_store_user_role(st, "bob", BMS_ROLE_OPERATOR), 0);
	CHECK_INT(bms_store_user_verify(st, "bob", "hunter2", &role), 1);
	CHECK_INT(role, BMS_ROLE_OPERATOR);
	CHECK_INT(bms_store_user_role(st, "zed", BMS_ROLE_OPERATOR), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no user 'zed'");
	CHECK_INT(bms_store_user_passwd(st, "zed", "x"), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_user_disable(st, "zed", 1), BMS_STORE_ECONFIG);
	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	CHECK_INT(bms_store_user_list(st, user_line, &out), 0);
	CHECK_STR(out.p, "alice admin 0 1\nbob operator 0 1\n");

	/* Tokens: kept as a digest, good until they expire. */
	CHECK_INT(bms_store_token_add(st, "alice", "tok-alice", 5000), 0);
	CHECK_INT(bms_store_token_add(st, "zed", "tok-zed", 5000), BMS_STORE_ECONFIG);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM tokens WHERE length(hash) = 32"
			  " AND instr(hash, 'tok-alice') = 0"), 1);
	CHECK_INT(bms_store_token_check(st, "tok-alice", 4999, user, sizeof user), 1);
	CHECK_STR(user, "alice");
	CHECK_INT(bms_store_token_check(st, "tok-alice", 5000, user, sizeof user), 0);
	CHECK_STR(user, "");
	CHECK_INT(bms_store_token_check(st, "tok-other", 0, user, sizeof user), 0);
	CHECK_INT(bms_store_user_disable(st, "alice", 1), 0);
	CHECK_INT(bms_store_token_check(st, "tok-alice", 0, user, sizeof user), 0);
	CHECK_INT(bms_store_user_disable(st, "alice", 0), 0);
	CHECK_INT(bms_store_token_check(st, "tok-alice", 0, user, sizeof user), 1);
	CHECK_INT(bms_store_token_revoke(st, "tok-alice"), 0);
	CHECK_INT(bms_store_token_check(st, "tok-alice", 0, user, sizeof user), 0);
	CHECK_INT(bms_store_token_add(st, "bob", "tok-bob", INT64_MAX), 0);

	/* Audit. */
	CHECK_INT(bms_store_audit(st, "alice", "battery.edit", "house", "name=House"), 0);
	CHECK_INT(bms_store_audit(st, NULL, "login.failed", NULL, NULL), 0);
	CHECK_INT(bms_store_audit(st, "alice", "", NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(sql_dump(tdb("acme"), "SELECT user, action, object, detail,"
			   " abs(ts - CAST(strftime('%s', 'now') AS INTEGER) * 1000) < 60000"
			   " FROM audit ORDER BY id"),
		  "alice|battery.edit|house|name=House|1\nNULL|login.failed|NULL|NULL|1\n");

	/* Alert acknowledgement (test_alerts has the rest). */
	CHECK_INT(bms_store_alert_ack(st, 1, "alice", ts_of("2026-11-27T15:00:00Z"), NULL, NULL), 0);
	CHECK_INT(bms_store_alert_ack(st, 99, "alice", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no alert 99 in tenant 'acme'");
	CHECK_STR(query(st, BMS_Q_ALERTS, "p2", 0, INT64_MAX, BMS_TIER_AUTO, 1, NULL),
		  "id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,ack_at\n"
		  "1,2026-11-27T14:29:30.000Z,p2,,warning,cell_high,open,"
		  "\"cell 12 at \"\"3.65\"\" V\",alice,2026-11-27T15:00:00.000Z\n");
	bms_store_close(st);
}

/* ==== The latest reading ==== */

static int stop9(void *ctx, const char *line, size_t len)
{
	collect(ctx, line, len);
	return 9;
}

/* line (of battery p1) as a reading of battery lat1; a ring of four. */
static const char *as_lat1(const char *line)
{
	static char buf[4][8192];
	static int k;
	const char *p = strstr(line, "\"bms_id\":\"p1\"");

	k = (k + 1) % 4;
	if (!p)
		return line;
	snprintf(buf[k], sizeof buf[k], "%.*s\"bms_id\":\"lat1\"%s", (int)(p - line), line,
		 p + 13);
	return buf[k];
}

/* What bms_store_reading_latest gives for bms_id, or "rc N: error". */
static const char *latest(struct bms_store *st, const char *bms_id)
{
	int rc;

	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	rc = bms_store_reading_latest(st, bms_id, collect, &out);
	if (rc != 0)
		bms_buf_printf(&out, "rc %d: %s", rc, bms_store_error(st));
	return out.p;
}

static void test_latest(void)
{
	const char *l16 = fixture_line("reading-16s.ndjson");
	struct bms_store *st = open_t("acme"), *c = open_t(NULL);
	struct bms_buf want = BMS_BUF_INIT;
	char *all;
	const char *last;

	CHECK(st && c);
	if (!st || !c)
		goto out;
	/* Packed readings and one kept as text, out of order: the latest in
	 * time comes back as it was stored, the tenant field with it. */
	CHECK_INT(put(st, as_lat1(retime(l16, "2026-11-28T10:00:01.000Z", NULL))), 1);
	CHECK_INT(put(st, as_lat1(retime(l16, "2026-11-28T10:00:03.000Z",
					 ",\"tenant\":\"acme\""))), 1);
	CHECK_INT(put(st, as_lat1(retime(l16, "2026-11-28T10:00:02.000Z", NULL))), 1);
	CHECK_INT(put(st, treading("lat2", "2026-11-28T10:00:00.000Z",
				   "\"pack_voltage\":50,\"zz\":[1]")), 1);
	CHECK_INT(put(st, treading("lat2", "2026-11-28T09:00:00.000Z", "\"pack_voltage\":49")), 1);
	CHECK_INT(put(st, "{\"type\":\"status\",\"bms_id\":\"sonly\",\"timestamp\":"
		      "\"2026-11-28T10:00:00.000Z\",\"state\":\"connected\"}"), 1);
	/* Not committed yet: the handle's own batch is seen. */
	bms_buf_printf(&want, "%s\n", as_lat1(retime(l16, "2026-11-28T10:00:03.000Z",
						     ",\"tenant\":\"acme\"")));
	CHECK_STR(latest(st, "lat1"), want.p);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_STR(latest(st, "lat1"), want.p);
	/* The same line as the last of a query of the raw tier. */
	all = strdup(readings(st, "lat1", BMS_TIER_RAW));
	CHECK_INT(lines(all), 3);
	last = all ? strrchr(all, '\n') : NULL;
	while (last && last > all && last[-1] != '\n')
		last--;
	CHECK_STR(last, want.p);
	free(all);
	CHECK_STR(latest(st, "lat2"), "{\"type\":\"reading\",\"bms_id\":\"lat2\",\"timestamp\":"
		  "\"2026-11-28T10:00:00.000Z\",\"pack_voltage\":50,\"zz\":[1]}\n");

	/* No reading, no battery: a configuration error that says which. */
	CHECK_STR(latest(st, "sonly"), "rc -2: no reading of battery 'sonly'");
	CHECK_STR(latest(st, "gh\nost"), "rc -2: no reading of battery 'gh\\nost'");
	CHECK_STR(latest(st, NULL), "rc -2: no reading of battery ''");
	bms_buf_reset(&out);
	CHECK_INT(bms_store_reading_latest(st, "lat2", stop9, &out), 9);
	CHECK_INT(lines(out.p), 1);
	CHECK_INT(bms_store_reading_latest(c, "p1", collect, &out), BMS_STORE_ECONFIG);

	/* A damaged blob is a failure that names the reading. */
	CHECK_INT(sql_exec(tdb("acme"), "UPDATE readings SET body = X'01FF' WHERE battery ="
			   " (SELECT id FROM batteries WHERE bms_id = 'lat2')"
			   " AND ts = 1795860000000"), SQLITE_OK);
	CHECK(strstr(latest(st, "lat2"), "rc -1: damaged reading of 'lat2' at 1795860000000 ms")
	      == out.p);
	CHECK_INT(bms_store_battery_remove(st, "lat1", 1), 0);
	CHECK_INT(bms_store_battery_remove(st, "lat2", 1), 0);
	CHECK_INT(bms_store_battery_remove(st, "sonly", 1), 0);
out:
	bms_buf_free(&want);
	bms_store_close(st);
	bms_store_close(c);
}

/* ==== Refresh-token families ==== */

static int is_family(const char *f)
{
	size_t n = strspn(f, "0123456789abcdef");

	return n == BMS_STORE_FAMILY_LEN && f[n] == '\0';
}

/* How many tokens family f holds, and how many of them are used. */
static const char *family_rows(const char *tenant, const char *f)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT count(*), count(used) FROM tokens WHERE family = '%s'",
		 f);
	return sql_dump(tdb(tenant), sql);
}

static void test_tokens(void)
{
	struct bms_store *st = open_t("acme"), *c = open_t(NULL);
	char fam[BMS_STORE_FAMILY_LEN + 1], fam2[BMS_STORE_FAMILY_LEN + 1];
	char f1[BMS_STORE_FAMILY_LEN + 1], got[BMS_STORE_FAMILY_LEN + 1], user[64], want[160];
	int64_t now = 1795789751000, exp = now + 86400000;

	CHECK(st && c);
	if (!st || !c)
		goto out;
	CHECK_INT(bms_store_user_add(st, "tina", BMS_ROLE_OPERATOR, "pw"), 0);

	/* A login starts a family; each use is followed by the next token. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "t1", exp, NULL, f1), 0);
	CHECK(is_family(f1));
	CHECK_INT(bms_store_token_check(st, "t1", now, user, sizeof user), 1);
	CHECK_INT(bms_store_token_use(st, "t1", now, user, sizeof user, got), 1);
	CHECK_STR(user, "tina");
	CHECK_STR(got, f1);
	CHECK_INT(bms_store_token_check(st, "t1", now, user, sizeof user), 0);
	CHECK_INT(bms_store_token_add_family(st, "tina", "t2", exp, got, fam), 0);
	CHECK_STR(fam, f1);
	CHECK_INT(bms_store_token_use(st, "t2", now + 1, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_token_add_family(st, "tina", "t3", exp, f1, NULL), 0);
	CHECK_STR(family_rows("acme", f1), "3|2\n");
	CHECK_INT(sql_int(tdb("acme"), "SELECT used FROM tokens WHERE used IS NOT NULL"
			  " ORDER BY used DESC"), now + 1);
	/* Another login of the same user: a family of its own. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "s1", exp, "", fam2), 0);
	CHECK(is_family(fam2) && strcmp(fam2, f1) != 0);

	/* A rotated token used again: its whole family goes, the newest
	 * token too; the other login stays. */
	CHECK_INT(bms_store_token_use(st, "t1", now + 2, user, sizeof user, got),
		  BMS_STORE_TOKEN_REUSED);
	CHECK_STR(user, "tina");
	CHECK_STR(got, f1);
	CHECK_STR(family_rows("acme", f1), "0|0\n");
	CHECK_INT(bms_store_token_check(st, "t3", now + 2, NULL, 0), 0);
	CHECK_INT(bms_store_token_use(st, "t3", now + 2, user, sizeof user, got), 0);
	CHECK_STR(user, "");
	CHECK_STR(got, "");
	CHECK_INT(bms_store_token_use(st, "t1", now + 2, NULL, 0, NULL), 0);
	CHECK_INT(bms_store_token_check(st, "s1", now + 2, NULL, 0), 1);
	/* A revoked family gets no token again. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "t4", exp, f1, fam), BMS_STORE_ECONFIG);
	CHECK_STR(fam, "");
	snprintf(want, sizeof want, "no token family '%s' of user 'tina': revoked or"
		 " expired; log in again", f1);
	CHECK_STR(bms_store_error(st), want);
	CHECK_INT(bms_store_token_check(st, "t4", now, NULL, 0), 0);

	/* Bad families, another user's family, a token known already. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "t5", exp, "ABC\n", NULL),
		  BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad token family 'ABC\\n': 32 lowercase hex digits");
	CHECK_INT(bms_store_token_add_family(st, "bob", "b1", exp, NULL, NULL), 0);
	CHECK_INT(bms_store_token_add_family(st, "bob", "b2", exp, fam2, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_token_add_family(st, "tina", "s1", exp, fam2, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "token known already; make a new one");
	CHECK_INT(bms_store_token_add_family(st, "nobody", "n1", exp, NULL, NULL),
		  BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no user 'nobody'");
	CHECK_INT(bms_store_token_add_family(st, "tina", "", exp, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(family_rows("acme", fam2), "1|0\n");

	/* An expired token answers 0 and stays unused. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "e1", now + 10, NULL, fam), 0);
	CHECK_INT(bms_store_token_use(st, "e1", now + 10, user, sizeof user, got), 0);
	CHECK_STR(family_rows("acme", fam), "1|0\n");
	CHECK_INT(bms_store_token_use(st, "e1", now + 9, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_token_use(st, "e1", now + 10, NULL, 0, NULL), 0);
	CHECK_STR(family_rows("acme", fam), "1|1\n");
	CHECK_INT(bms_store_token_use(st, "unknown", now, user, sizeof user, got), 0);
	CHECK_INT(bms_store_token_use(st, "", now, user, sizeof user, got), 0);
	CHECK_INT(bms_store_token_use(st, NULL, now, user, sizeof user, got), 0);

	/* A disabled user's token does not work and is not used up; once
	 * enabled it works.  A copy used while the user is disabled still
	 * revokes the family. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "d1", exp, NULL, fam), 0);
	CHECK_INT(bms_store_user_disable(st, "tina", 1), 0);
	CHECK_INT(bms_store_token_use(st, "d1", now, user, sizeof user, got), 0);
	CHECK_STR(family_rows("acme", fam), "1|0\n");
	CHECK_INT(bms_store_user_disable(st, "tina", 0), 0);
	CHECK_INT(bms_store_token_use(st, "d1", now, user, sizeof user, got), 1);
	CHECK_INT(bms_store_token_add_family(st, "tina", "d2", exp, got, NULL), 0);
	CHECK_INT(bms_store_user_disable(st, "tina", 1), 0);
	CHECK_INT(bms_store_token_use(st, "d1", now, user, sizeof user, got),
		  BMS_STORE_TOKEN_REUSED);
	CHECK_STR(family_rows("acme", fam), "0|0\n");
	CHECK_INT(bms_store_user_disable(st, "tina", 0), 0);
	CHECK_INT(bms_store_token_use(st, "d2", now, NULL, 0, NULL), 0);

	/* Logout: the family goes, whatever its tokens' state. */
	CHECK_INT(bms_store_family_revoke(st, fam2), 0);
	CHECK_STR(family_rows("acme", fam2), "0|0\n");
	CHECK_INT(bms_store_token_use(st, "s1", now, NULL, 0, NULL), 0);
	CHECK_INT(bms_store_family_revoke(st, fam2), 0);
	CHECK_INT(bms_store_family_revoke(st, "' OR 1 = 1 --"), 0);
	CHECK_INT(bms_store_family_revoke(st, NULL), 0);
	CHECK_INT(bms_store_token_check(st, "b1", now, NULL, 0), 1);

	/* Used tokens are kept until they expire, so that a copy is still
	 * caught; expire then deletes them with the rest. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "x1", now + 1000, NULL, fam), 0);
	CHECK_INT(bms_store_token_use(st, "x1", now, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_token_add_family(st, "tina", "x2", now + 2000, fam, NULL), 0);
	CHECK_INT(bms_store_expire(st, now + 999), 0);
	CHECK_STR(family_rows("acme", fam), "2|1\n");
	CHECK_INT(bms_store_expire(st, now + 1000), 0);
	CHECK_STR(family_rows("acme", fam), "1|0\n");
	CHECK_INT(bms_store_token_use(st, "x1", now + 1000, NULL, 0, NULL), 0);
	CHECK_INT(bms_store_token_use(st, "x2", now + 1000, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_expire(st, now + 2000), 0);
	CHECK_STR(family_rows("acme", fam), "0|0\n");

	/* Inside an open batch (as a savepoint), and through a second
	 * handle: one use only is the first. */
	CHECK_INT(bms_store_token_add_family(st, "tina", "y1", exp, NULL, fam), 0);
	CHECK_INT(put(st, treading("tok", "2026-11-27T10:00:00.000Z", "\"pack_voltage\":50")), 1);
	CHECK_INT(bms_store_token_use(st, "y1", now, NULL, 0, NULL), 1);
	CHECK_INT(bms_store_commit(st), 0);
	{
		struct bms_store *b = open_t("acme");

		CHECK_INT(bms_store_token_use(b, "y1", now, NULL, 0, NULL), BMS_STORE_TOKEN_REUSED);
		bms_store_close(b);
	}
	CHECK_STR(family_rows("acme", fam), "0|0\n");

	/* Only digests are kept; a control handle has no tokens. */
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM tokens WHERE length(hash) != 32"),
		  0);
	CHECK_INT(bms_store_token_use(c, "b1", now, NULL, 0, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_family_revoke(c, fam), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_token_add_family(c, "bob", "c1", exp, NULL, NULL), BMS_STORE_ECONFIG);
out:
	bms_store_close(st);
	bms_store_close(c);
}

/* ==== Super-admins ==== */

static int superadmin_line(void *ctx, const struct bms_superadmin *a)
{
	bms_buf_printf(ctx, "%s %d %d\n", a->name, a->disabled,
		       a->created && strlen(a->created) == BMS_TS_LEN);
	return 0;
}

static int superadmin_stop(void *ctx, const struct bms_superadmin *a)
{
	superadmin_line(ctx, a);
	return 5;
}

/* The least process CPU time (ns) of three super-admin verifications. */
static long long verify_ns(struct bms_store *st, const char *name, const char *password)
{
	long long best = -1;

	for (int i = 0; i < 3; i++) {
		struct timespec a, b;
		long long ns;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		CHECK_INT(bms_store_superadmin_verify(st, name, password), 0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
		if (best < 0 || ns < best)
			best = ns;
	}
	return best;
}

static void test_superadmins(void)
{
	struct bms_store *c = open_t(NULL), *t = open_t("acme");
	struct bms_buf b = BMS_BUF_INIT;
	const char *ctl = path("store/control.db", NULL);
	long long known, unknown, bad;
	const char *tenant_err = "super-admins are managed on the whole store, not through"
		" tenant 'acme'";

	CHECK(c && t);
	if (!c || !t)
		goto out;
	CHECK_INT(bms_store_superadmin_add(c, "root", "top secret"), 0);
	CHECK_INT(bms_store_superadmin_add(c, "ops", "ops pass"), 0);
	CHECK_INT(bms_store_superadmin_add(c, "root", "other"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "super-admin 'root' exists already");
	CHECK_INT(bms_store_superadmin_add(c, "Ro'ot", "x"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "bad super-admin name 'Ro\\'ot': use a-z, 0-9, '_' and '-',"
		  " at most 63 bytes, starting with a letter or digit");
	CHECK_INT(bms_store_superadmin_add(c, "eve", ""), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "empty password for super-admin 'eve'");
	CHECK_INT(bms_store_superadmin_add(c, "eve", NULL), BMS_STORE_ECONFIG);
	CHECK_INT(sql_int(ctl, "SELECT count(*) FROM superadmins WHERE pwhash LIKE '$y$%'"
			  " AND instr(pwhash, 'secret') = 0"), 2);

	/* Unknown, disabled and a wrong password answer the same. */
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secret"), 1);
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secre"), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", ""), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", NULL), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "nobody", "top secret"), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "../root", "top secret"), 0);
	CHECK_INT(bms_store_superadmin_verify(c, NULL, "top secret"), 0);
	CHECK_INT(bms_store_superadmin_disable(c, "root", 1), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secret"), 0);
	CHECK_INT(bms_store_superadmin_disable(c, "root", 0), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secret"), 1);
	CHECK_INT(bms_store_superadmin_passwd(c, "root", "top secret 2"), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secret"), 0);
	CHECK_INT(bms_store_superadmin_verify(c, "root", "top secret 2"), 1);
	CHECK_INT(bms_store_superadmin_verify(c, "ops", "ops pass"), 1);
	CHECK_INT(bms_store_superadmin_passwd(c, "zed", "x"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "no super-admin 'zed'");
	CHECK_INT(bms_store_superadmin_passwd(c, "root", ""), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_superadmin_disable(c, "zed", 1), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "no super-admin 'zed'");
	CHECK_INT(bms_store_superadmin_disable(c, "a\nb", 1), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(c), "bad super-admin name 'a\\nb': use a-z, 0-9, '_' and '-',"
		  " at most 63 bytes, starting with a letter or digit");
	/* A tenant's user is no super-admin, nor the other way round. */
	CHECK_INT(bms_store_superadmin_verify(c, "alice", "new one"), 0);
	CHECK_INT(bms_store_user_verify(t, "alice", "new one", NULL), 1);
	CHECK_INT(bms_store_user_verify(t, "root", "top secret 2", NULL), 0);

	/* An unknown name, one that cannot be a name, a disabled one and a
	 * wrong password cost a hash as a good one does (a loose bound: the
	 * least CPU time of three, against a quarter of it). */
	CHECK_INT(bms_store_superadmin_disable(c, "ops", 1), 0);
	known = verify_ns(c, "root", "wrong");
	unknown = verify_ns(c, "nobody", "wrong");
	bad = verify_ns(c, "../Bad name", "wrong");
	CHECK(unknown * 4 > known);
	CHECK(bad * 4 > known);
	CHECK(verify_ns(c, "ops", "ops pass") * 4 > known);
	CHECK_INT(bms_store_superadmin_disable(c, "ops", 0), 0);
	{
		struct timespec a, z;
		long long u;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		CHECK_INT(bms_store_user_verify(t, "../Nobody", "wrong", NULL), 0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &z);
		u = (z.tv_sec - a.tv_sec) * 1000000000LL + (z.tv_nsec - a.tv_nsec);
		CHECK(u * 4 > known);
	}

	bms_buf_puts(&b, "");
	CHECK_INT(bms_store_superadmin_list(c, superadmin_line, &b), 0);
	CHECK_STR(b.p, "ops 0 1\nroot 0 1\n");
	bms_buf_reset(&b);
	CHECK_INT(bms_store_superadmin_list(c, superadmin_stop, &b), 5);
	CHECK_STR(b.p, "ops 0 1\n");
	bms_buf_reset(&b);
	bms_store_superadmin_json(&(struct bms_superadmin){ "root", 1, "2026-11-27T14:29:11.123Z" },
				  &b);
	CHECK_STR(b.p, "{\"name\":\"root\",\"disabled\":true,\"created\":\"2026-11-27T14:29:11.123Z\"}");

	/* None of it through a tenant's handle. */
	CHECK_INT(bms_store_superadmin_add(t, "evil", "x"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(t), tenant_err);
	CHECK_INT(bms_store_superadmin_passwd(t, "root", "mine now"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(t), tenant_err);
	CHECK_INT(bms_store_superadmin_disable(t, "root", 1), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_superadmin_verify(t, "root", "top secret 2"), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(t), tenant_err);
	CHECK_INT(bms_store_superadmin_list(t, superadmin_line, &b), BMS_STORE_ECONFIG);
	CHECK_STR(sql_dump(ctl, "SELECT name, disabled FROM superadmins ORDER BY name"),
		  "ops|0\nroot|0\n");
out:
	bms_buf_free(&b);
	bms_store_close(c);
	bms_store_close(t);
}

/* ==== Alerts ==== */

/* One line per acknowledgement a poll gives: "alert_id ts by ack_at". */
static int ack_line(void *ctx, const char *alert_id, int64_t ts_ms, const char *by,
		    int64_t ack_at_ms)
{
	bms_buf_printf(ctx, "%s %lld %s %lld\n", alert_id ? alert_id : "(none)",
		       (long long)ts_ms, by, (long long)ack_at_ms);
	return 0;
}

/* The same, stopping the walk after the first. */
static int ack_first(void *ctx, const char *alert_id, int64_t ts_ms, const char *by,
		     int64_t ack_at_ms)
{
	ack_line(ctx, alert_id, ts_ms, by, ack_at_ms);
	return 7;
}

static const char *acks(struct bms_store *st, int64_t after, int64_t since)
{
	int rc;

	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	rc = bms_store_alert_acks(st, after, since, ack_line, &out);
	if (rc != 0)
		fprintf(stderr, "  acks: %d %s\n", rc, bms_store_error(st));
	return out.p;
}

/* PRAGMA wal_checkpoint(TRUNCATE) of db on a connection of its own, not
 * waiting: "busy|log|checkpointed", "0|0|0" when no reader held on to the
 * log and it was emptied. */
static const char *checkpoint(const char *db)
{
	static char r[64];
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	snprintf(r, sizeof r, "failed");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		snprintf(r, sizeof r, "%d|%d|%d", sqlite3_column_int(s, 0),
			 sqlite3_column_int(s, 1), sqlite3_column_int(s, 2));
	sqlite3_finalize(s);
	sqlite3_close(h);
	return r;
}

/* The records of bms-alert, raised and cleared; others of no alert_id or
 * of one that is not a string; lines of an earlier query stored again,
 * which hold the members a query adds (one written with an escape, one
 * twice), one with white space about. */
static const char *const ALERTS[] = {
	"{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:00:05.000Z\","
	"\"alert_id\":\"house/cell_overvoltage\",\"rule\":\"cell_overvoltage\","
	"\"state\":\"raised\",\"severity\":\"warning\",\"since\":\"2026-12-07T10:00:05.000Z\","
	"\"count\":1,\"value\":3.712,\"threshold\":3.65,\"message\":\"cell 5 at 3.712 V\"}",
	"{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:05:05.000Z\","
	"\"alert_id\":\"house/cell_overvoltage\",\"rule\":\"cell_overvoltage\","
	"\"state\":\"cleared\",\"severity\":\"warning\",\"since\":\"2026-12-07T10:00:05.000Z\","
	"\"count\":1,\"value\":3.641,\"threshold\":3.65,\"message\":\"cell 5 at 3.641 V\"}",
	"{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:01:00.000Z\","
	"\"rule\":\"soc_low\",\"state\":\"raised\",\"severity\":\"info\"}",
	"{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:02:00.000Z\","
	"\"alert_id\":[\"x\"],\"state\":\"raised\"}",
	"{\"id\":12,\"type\":\"alert\",\"bms_id\":\"shed\",\"timestamp\":\"2026-12-07T09:00:00.000Z\","
	"\"alert_id\":\"shed/t\",\"ack_by\":\"bob\",\"state\":\"raised\","
	"\"ack_at\":\"2026-12-07T09:30:00.000Z\",\"i\\u0064\":13}",
	"{ \"type\" : \"alert\" , \"bms_id\":\"shed\", \"timestamp\":\"2026-12-07T09:10:00.000Z\""
	" , \"id\" : 3 } ",
};

static void test_alerts(void)
{
	struct bms_store *c = open_t(NULL), *st, *w;
	struct bms_retention forever = { 0, -1, -1 };
	struct bms_alert_ack first;
	int64_t day = ts_of("2026-12-07T00:00:00Z"), v[3];
	struct bms_buf want = BMS_BUF_INIT;
	sqlite3 *h = NULL;
	char big[129];

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(bms_store_tenant_add(c, "alerts", &forever), 0);
	/* Acknowledging and polling need a tenant. */
	CHECK_INT(bms_store_alert_ack(c, 1, "alice", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_alert_acks(c, 0, 0, ack_line, &out), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_data_version(c, &v[0]), BMS_STORE_ECONFIG);
	bms_store_close(c);
	st = open_t("alerts");
	w = open_t("alerts");
	CHECK(st && w);
	if (!st || !w)
		return;
	for (size_t i = 0; i < sizeof ALERTS / sizeof ALERTS[0]; i++)
		CHECK_INT(put(w, ALERTS[i]), 1);
	CHECK_INT(bms_store_commit(w), 0);
	/* alert_id is stored where it is a string. */
	CHECK_STR(sql_dump(tdb("alerts"), "SELECT id, alert_id FROM alerts ORDER BY id"),
		  "1|house/cell_overvoltage\n2|house/cell_overvoltage\n3|NULL\n4|NULL\n"
		  "5|shed/t\n6|NULL\n");

	/* Acknowledgements: the first one stays, and each goes to the audit
	 * log with its note. */
	CHECK_INT(bms_store_alert_ack(st, 1, "alice", ts_of("2026-12-07T10:03:00Z"),
				      "cell 5 rebalanced", NULL), 0);
	memset(&first, 0, sizeof first);
	CHECK_INT(bms_store_alert_ack(st, 1, "bob", ts_of("2026-12-07T10:04:00Z"), "again",
				      &first), 1);
	CHECK_STR(first.by, "alice");
	CHECK_INT(first.at_ms, ts_of("2026-12-07T10:03:00Z"));
	CHECK_INT(bms_store_alert_ack(st, 3, "bob", ts_of("2026-12-07T10:02:30Z"), NULL, NULL), 0);
	CHECK_INT(bms_store_alert_ack(st, 5, "carol \xc3\xa9", ts_of("2026-12-07T10:03:00Z"),
				      NULL, &first), 0);
	CHECK_INT(bms_store_alert_ack(st, 99, "alice", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no alert 99 in tenant 'alerts'");
	CHECK_INT(bms_store_alert_ack(st, 0, "alice", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "no alert 0 in tenant 'alerts'");
	/* Who acknowledges is a name that prints on one line. */
	CHECK_INT(bms_store_alert_ack(st, 2, "", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad name '' for an acknowledgement: 1 to 127 bytes"
		  " of UTF-8 without control characters");
	CHECK_INT(bms_store_alert_ack(st, 2, NULL, 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_alert_ack(st, 2, "a\nb", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "bad name 'a\\nb' for an acknowledgement: 1 to 127"
		  " bytes of UTF-8 without control characters");
	CHECK_INT(bms_store_alert_ack(st, 2, "a\xc2\x85", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_alert_ack(st, 2, "\xff", 0, NULL, NULL), BMS_STORE_ECONFIG);
	memset(big, 'x', 128);
	big[128] = '\0';
	CHECK_INT(bms_store_alert_ack(st, 2, big, 0, NULL, NULL), BMS_STORE_ECONFIG);
	big[127] = '\0';	/* BMS_STORE_BY_MAX bytes */
	CHECK_INT(bms_store_alert_ack(st, 6, big, ts_of("2026-12-07T11:00:00Z"), NULL, NULL), 0);
	CHECK_INT(bms_store_alert_ack(st, 2, "alice", 0, "\xc3", NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(st), "the note of an acknowledgement is not UTF-8");
	CHECK_STR(sql_dump(tdb("alerts"), "SELECT user, action, object, detail FROM audit"
			   " WHERE length(user) < 100 ORDER BY id"),
		  "alice|alert_ack|1|cell 5 rebalanced\nbob|alert_ack|3|NULL\n"
		  "carol \xc3\xa9|alert_ack|5|NULL\n");
	CHECK_INT(sql_int(tdb("alerts"), "SELECT count(*) FROM audit"), 4);
	CHECK_INT(sql_int(tdb("alerts"), "SELECT count(*) FROM alerts WHERE id = 2"
			  " AND ack_by IS NULL AND ack_at IS NULL"), 1);

	/* A query gives each line with its row's id and, once acknowledged,
	 * who and when, each once; the rest of the line as it came. */
	bms_buf_printf(&want, "%s%s\",\"ack_at\":\"2026-12-07T11:00:00.000Z\"} \n",
		  "{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:00:05.000Z\","
		  "\"alert_id\":\"house/cell_overvoltage\",\"rule\":\"cell_overvoltage\","
		  "\"state\":\"raised\",\"severity\":\"warning\",\"since\":\"2026-12-07T10:00:05.000Z\","
		  "\"count\":1,\"value\":3.712,\"threshold\":3.65,\"message\":\"cell 5 at 3.712 V\","
		  "\"id\":1,\"ack_by\":\"alice\",\"ack_at\":\"2026-12-07T10:03:00.000Z\"}\n"
		  "{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:01:00.000Z\","
		  "\"rule\":\"soc_low\",\"state\":\"raised\",\"severity\":\"info\",\"id\":3,"
		  "\"ack_by\":\"bob\",\"ack_at\":\"2026-12-07T10:02:30.000Z\"}\n"
		  "{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:02:00.000Z\","
		  "\"alert_id\":[\"x\"],\"state\":\"raised\",\"id\":4}\n"
		  "{\"type\":\"alert\",\"bms_id\":\"house\",\"timestamp\":\"2026-12-07T10:05:05.000Z\","
		  "\"alert_id\":\"house/cell_overvoltage\",\"rule\":\"cell_overvoltage\","
		  "\"state\":\"cleared\",\"severity\":\"warning\",\"since\":\"2026-12-07T10:00:05.000Z\","
		  "\"count\":1,\"value\":3.641,\"threshold\":3.65,\"message\":\"cell 5 at 3.641 V\","
		  "\"id\":2}\n"
		  "{\"type\":\"alert\",\"bms_id\":\"shed\",\"timestamp\":\"2026-12-07T09:00:00.000Z\","
		  "\"alert_id\":\"shed/t\",\"state\":\"raised\",\"id\":5,"
		  "\"ack_by\":\"carol \xc3\xa9\",\"ack_at\":\"2026-12-07T10:03:00.000Z\"}\n"
		  "{ \"type\" : \"alert\" , \"bms_id\":\"shed\", \"timestamp\":\"2026-12-07T09:10:00.000Z\""
		  " ,\"id\":6,\"ack_by\":\"", big);
	CHECK_STR(query(st, BMS_Q_ALERTS, NULL, day, day + 86400000, BMS_TIER_AUTO, 0, NULL),
		  want.p);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,"
		       "ack_at\n"
		       "5,2026-12-07T09:00:00.000Z,shed,shed/t,,,raised,,carol \xc3\xa9,"
		       "2026-12-07T10:03:00.000Z\n"
		       "6,2026-12-07T09:10:00.000Z,shed,,,,,,%s,2026-12-07T11:00:00.000Z\n", big);
	CHECK_STR(query(st, BMS_Q_ALERTS, "shed", day, day + 86400000, BMS_TIER_AUTO, 1, NULL),
		  want.p);
	/* Other records stay as they came. */
	CHECK_INT(put(w, STATUS), 1);
	CHECK_INT(bms_store_commit(w), 0);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "%s\n", STATUS);
	CHECK_STR(query(st, BMS_Q_STATUS, NULL, 0, INT64_MAX, BMS_TIER_AUTO, 0, NULL), want.p);

	/* The poll: by ack_at, then id; from ack_after_ms on, of records
	 * from since_ms on; fn's value stops it. */
	bms_buf_reset(&want);
	bms_buf_printf(&want, "(none) 1796637660000 bob 1796637750000\n"
		       "house/cell_overvoltage 1796637605000 alice 1796637780000\n"
		       "shed/t 1796634000000 carol \xc3\xa9 1796637780000\n"
		       "(none) 1796634600000 %s 1796641200000\n", big);
	CHECK_STR(acks(st, INT64_MIN, INT64_MIN), want.p);
	bms_buf_reset(&want);
	bms_buf_printf(&want, "house/cell_overvoltage 1796637605000 alice 1796637780000\n"
		       "(none) 1796634600000 %s 1796641200000\n", big);
	CHECK_STR(acks(st, ts_of("2026-12-07T10:03:00Z"), ts_of("2026-12-07T09:10:00Z")), want.p);
	CHECK_STR(acks(st, ts_of("2026-12-07T11:00:00.001Z"), INT64_MIN), "");
	bms_buf_reset(&out);
	CHECK_INT(bms_store_alert_acks(st, INT64_MIN, ts_of("2026-12-07T10:00:05Z"),
				       ack_first, &out), 7);
	CHECK_STR(out.p, "(none) 1796637660000 bob 1796637750000\n");

	/* Neither call keeps a read transaction open: the log can be emptied
	 * right after (as it cannot while a reader holds on to it). */
	CHECK_INT(bms_store_alert_ack(w, 2, "dave", ts_of("2026-12-07T12:00:00Z"), NULL, NULL), 0);
	CHECK_INT(sqlite3_open_v2(tdb("alerts"), &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(h, "BEGIN; SELECT count(*) FROM alerts", NULL, NULL, NULL),
		  SQLITE_OK);
	CHECK(checkpoint(tdb("alerts"))[0] == '1');
	sqlite3_close(h);	/* rolls its read back */
	CHECK_STR(checkpoint(tdb("alerts")), "0|0|0");
	CHECK_INT(bms_store_data_version(st, &v[0]), 0);
	CHECK_INT(bms_store_alert_ack(w, 4, "dave", ts_of("2026-12-07T12:00:00Z"), NULL, NULL), 0);
	bms_buf_reset(&out);
	CHECK_INT(bms_store_alert_acks(st, INT64_MIN, INT64_MIN, ack_first, &out), 7);
	CHECK_STR(checkpoint(tdb("alerts")), "0|0|0");
	CHECK_INT(bms_store_alert_ack(w, 2, "dave", 0, NULL, NULL), 1);
	CHECK_STR(acks(st, ts_of("2026-12-07T12:00:00Z"), INT64_MIN),
		  "house/cell_overvoltage 1796637905000 dave 1796644800000\n"
		  "(none) 1796637720000 dave 1796644800000\n");
	CHECK_STR(checkpoint(tdb("alerts")), "0|0|0");

	/* data_version changes with another connection's commit (or its
	 * checkpoint, as above), not with this handle's own. */
	CHECK_INT(bms_store_data_version(st, &v[1]), 0);
	CHECK(v[1] != v[0]);
	CHECK_INT(bms_store_data_version(st, &v[2]), 0);
	CHECK_INT(v[2], v[1]);
	CHECK_INT(bms_store_alert_ack(st, 6, "erin", 0, NULL, NULL), 1);	/* no write */
	CHECK_INT(put(st, retime(STATUS, "2026-12-07T10:00:00.000Z", NULL)), 1);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(bms_store_data_version(st, &v[2]), 0);
	CHECK_INT(v[2], v[1]);
	CHECK_INT(put(w, retime(STATUS, "2026-12-07T10:00:01.000Z", NULL)), 1);
	CHECK_INT(bms_store_commit(w), 0);
	CHECK_INT(bms_store_data_version(st, &v[2]), 0);
	CHECK(v[2] != v[1]);

	/* An acknowledgement joins a batch open on the handle; one refused
	 * there leaves the batch as it was. */
	CHECK_INT(put(st, retime(STATUS, "2026-12-07T10:00:02.000Z", NULL)), 1);
	CHECK_INT(bms_store_alert_ack(st, 99, "frank", 0, NULL, NULL), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_alert_acks(st, INT64_MIN, INT64_MIN, ack_first, &out), 7);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(sql_int(tdb("alerts"), "SELECT count(*) FROM status"), 4);

	/* The poll walks its index, never the table: without the index it
	 * fails rather than scan. */
	CHECK_INT(sql_exec(tdb("alerts"), "DROP INDEX alerts_ack_at"), SQLITE_OK);
	CHECK_INT(bms_store_alert_acks(st, INT64_MIN, INT64_MIN, ack_line, &out),
		  BMS_STORE_EFAIL);
	CHECK(strstr(bms_store_error(st), "no such index: alerts_ack_at") != NULL);
	CHECK_INT(sql_exec(tdb("alerts"), "CREATE INDEX alerts_ack_at ON alerts (ack_at)"
			   " WHERE ack_at IS NOT NULL"), SQLITE_OK);
	CHECK_INT(bms_store_alert_acks(st, INT64_MIN, INT64_MIN, ack_first, &out), 7);
	bms_store_close(st);
	bms_store_close(w);
	bms_buf_free(&want);
}

/* ==== Isolation ==== */

/*
 * Tenant beta holds a battery, records, a user, a token and alerts that
 * acme's handle must not see or change through any call.
 */
static void test_isolation(void)
{
	struct bms_store *a, *b = open_t("beta");
	const char *l16 = fixture_line("reading-16s.ndjson");
	struct bms_retention one_day = { 1, 1, 1 };
	struct bms_battery bat;
	enum bms_role role;
	char user[64], rec[512], bea_family[BMS_STORE_FAMILY_LEN + 1];
	char bonly_uuid[BMS_STORE_UUID_LEN + 1];
	const char *before;

	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_INT(put(b, retime(treading("bonly", "2026-11-27T14:29:11.123Z",
					 "\"pack_voltage\":50"), "2026-11-27T14:29:11.123Z",
				",\"tenant\":\"beta\"")), 1);
	for (int i = 0; i < 5; i++) {
		snprintf(rec, sizeof rec, "{\"type\":\"alert\",\"bms_id\":\"bonly\","
			 "\"timestamp\":\"2026-11-27T14:29:3%d.000Z\",\"code\":\"c%d\"}", i, i);
		CHECK_INT(put(b, rec), 1);
	}
	CHECK_INT(put(b, "{\"type\":\"status\",\"bms_id\":\"bonly\",\"timestamp\":"
		      "\"2026-11-27T14:29:20Z\",\"state\":\"connected\"}"), 1);
	CHECK_INT(bms_store_commit(b), 0);
	CHECK_INT(bms_store_user_add(b, "bea", BMS_ROLE_ADMIN, "beta-pass"), 0);
	CHECK_INT(bms_store_token_add(b, "bea", "tok-bea", INT64_MAX), 0);
	bms_store_close(b);
	snprintf(bea_family, sizeof bea_family, "%s",
		 sql_dump(tdb("beta"), "SELECT family FROM tokens"));
	snprintf(bonly_uuid, sizeof bonly_uuid, "%s",
		 sql_dump(tdb("beta"), "SELECT uuid FROM batteries WHERE bms_id = 'bonly'"));
	before = strdup(sql_dump(tdb("beta"), "SELECT * FROM batteries ORDER BY id;"));
	before = before ? before : "";

	a = open_t("acme");
	CHECK(a != NULL);
	if (!a)
		return;
	/* Records of beta through acme's handle. */
	CHECK_STR(put_why(a, retime(l16, "2026-11-27T14:31:00.000Z", ",\"tenant\":\"beta\""),
			  BMS_STORE_EREJECT), "record of tenant 'beta', this store writes 'acme'");
	CHECK_STR(put_why(a, "{\"type\":\"alert\",\"bms_id\":\"bonly\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"tenant\":\"beta\"}", BMS_STORE_EREJECT),
		  "record of tenant 'beta', this store writes 'acme'");
	CHECK_STR(put_why(a, "{\"type\":\"status\",\"bms_id\":\"bonly\",\"timestamp\":"
			  "\"2026-11-27T14:29:20Z\",\"tenant\":\"acme/../beta\"}", BMS_STORE_EREJECT),
		  "record of tenant 'acme/../beta', this store writes 'acme'");
	CHECK_INT(bms_store_commit(a), 0);
	/* Queries. */
	CHECK_STR(readings(a, "bonly", BMS_TIER_RAW), "");
	CHECK_STR(readings(a, "bonly", BMS_TIER_MINUTE), "");
	CHECK_STR(readings(a, "bonly", BMS_TIER_HOUR), "");
	CHECK_STR(query(a, BMS_Q_ALERTS, "bonly", 0, INT64_MAX, BMS_TIER_AUTO, 0, NULL), "");
	CHECK_STR(query(a, BMS_Q_STATUS, "bonly", 0, INT64_MAX, BMS_TIER_AUTO, 0, NULL), "");
	CHECK_STR(query(a, BMS_Q_AGGREGATES, "bonly", 0, INT64_MAX, BMS_TIER_AUTO, 1, NULL),
		  "timestamp,bms_id,doc\n");
	/* Batteries. */
	bms_store_battery_clear(&bat);
	bat.bms_id = "bonly";
	bat.name = "stolen";
	CHECK_INT(bms_store_battery_edit(a, &bat), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_battery_remove(a, "bonly", 1), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_battery_remove(a, "bonly", 0), BMS_STORE_ECONFIG);
	CHECK_STR(battery_get(a, "bonly"), "rc -2");
	CHECK_STR(battery_get(a, bonly_uuid), "rc -2");
	CHECK_STR(latest(a, "bonly"), "rc -2: no reading of battery 'bonly'");
	/* Users and tokens. */
	CHECK_INT(bms_store_user_verify(a, "bea", "beta-pass", &role), 0);
	CHECK_INT(bms_store_user_passwd(a, "bea", "mine now"), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_user_role(a, "bea", BMS_ROLE_VIEWER), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_user_disable(a, "bea", 1), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_token_check(a, "tok-bea", 0, user, sizeof user), 0);
	CHECK_INT(bms_store_token_add(a, "bea", "tok-x", INT64_MAX), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_token_revoke(a, "tok-bea"), 0);
	CHECK_INT(bms_store_token_use(a, "tok-bea", 0, user, sizeof user, NULL), 0);
	CHECK_INT(bms_store_family_revoke(a, bea_family), 0);
	CHECK_INT(bms_store_token_add_family(a, "bea", "tok-y", INT64_MAX, bea_family, NULL),
		  BMS_STORE_ECONFIG);
	/* Alerts: beta's ids go past acme's; acme's poll sees its own
	 * acknowledgement only (beta's alerts have none, and keep none). */
	CHECK_INT(bms_store_alert_ack(a, 5, "alice", 1, "mine", NULL), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(a), "no alert 5 in tenant 'acme'");
	bms_buf_reset(&out);
	CHECK_INT(bms_store_alert_acks(a, INT64_MIN, INT64_MIN, ack_line, &out), 0);
	CHECK_STR(out.p, "(none) 1795789770000 alice 1795791600000\n");
	/* Tenant settings (2026-11-27: acme's handle could set beta's raw
	 * retention to a day, and so have beta's records deleted). */
	CHECK_INT(bms_store_tenant_set(a, "beta", &one_day), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(a), "tenants are managed on the whole store, not through"
		  " tenant 'acme'");
	CHECK_INT(bms_store_tenant_set(a, "acme", &one_day), BMS_STORE_ECONFIG);
	CHECK_INT(bms_store_tenant_add(a, "evil", &one_day), BMS_STORE_ECONFIG);
	CHECK_STR(bms_store_error(a), "tenants are managed on the whole store, not through"
		  " tenant 'acme'");
	CHECK_INT(access(tdb("evil"), F_OK), -1);
	bms_buf_reset(&out);
	CHECK_INT(bms_store_tenant_list(a, tenant_line, &out), 0);
	CHECK_STR(out.p, "acme 0 400 0 1\n");
	CHECK_STR(sql_dump(path("store/control.db", NULL), "SELECT name, raw_days, minute_days,"
			   " hour_days FROM tenants ORDER BY name"),
		  "acme|0|400|0\nbeta|0|5|0\nexp|1|2|3\nold|30|400|0\n");
	/* acme's own registry saw nothing of it. */
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM batteries WHERE bms_id = 'bonly'"), 0);
	CHECK_INT(sql_int(tdb("acme"), "SELECT count(*) FROM users WHERE name = 'bea'"), 0);
	bms_store_close(a);

	/* beta, opened afresh, is as it was. */
	b = open_t("beta");
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_STR(sql_dump(tdb("beta"), "SELECT * FROM batteries ORDER BY id;"), before);
	CHECK_INT(strlen(readings(b, "bonly", BMS_TIER_RAW)) > 0, 1);
	CHECK_INT(bms_store_user_verify(b, "bea", "beta-pass", &role), 1);
	CHECK_INT(role, BMS_ROLE_ADMIN);
	CHECK_INT(bms_store_token_check(b, "tok-bea", 0, user, sizeof user), 1);
	CHECK_STR(user, "bea");
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM alerts WHERE ack_by IS NULL"), 5);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM readings WHERE battery ="
			  " (SELECT id FROM batteries WHERE bms_id = 'bonly')"), 1);
	CHECK_INT(sql_int(tdb("beta"), "SELECT count(*) FROM status"), 1);
	free((char *)before);
	bms_store_close(b);
}

/* ==== Failures ==== */

static void test_busy(void)
{
	struct bms_store_opts o = { 0, 100 };
	struct bms_store *a = NULL, *b = NULL;
	char err[512], want[1024], t0[BMS_TS_LEN + 1], t1[BMS_TS_LEN + 1];
	int64_t hour = bms_ts_now_ms() / 3600000 * 3600000 - 3600000;

	/* Two seconds of an hour ago, inside exp's raw retention. */
	bms_ts_format_ms(hour, t0);
	bms_ts_format_ms(hour + 1000, t1);
	bms_store_open(&a, store, "exp", &o, err, sizeof err);
	bms_store_open(&b, store, "exp", &o, err, sizeof err);
	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK_INT(put(a, treading("e2", t0, "\"pack_voltage\":50")), 1);
	CHECK_INT(put(b, treading("e2", t1, "\"pack_voltage\":50")), BMS_STORE_EFAIL);
	CHECK(bms_store_busy(b));
	snprintf(want, sizeof want, "%s/tenants/exp.db: busy for 100 ms (another writer"
		 " holds it)", store);
	CHECK_STR(bms_store_error(b), want);
	CHECK_INT(bms_store_commit(a), 0);
	CHECK_INT(put(b, treading("e2", t1, "\"pack_voltage\":50")), 1);
	CHECK_INT(bms_store_commit(b), 0);
	CHECK_INT(sql_int(tdb("exp"), "SELECT count(*) FROM readings r JOIN batteries b"
			  " ON b.id = r.battery WHERE b.bms_id = 'e2'"), 2);
	/* Two writers, one bucket: the tiers add up. */
	CHECK_STR(sql_dump(tdb("exp"), "SELECT period, n, pack_voltage_n, pack_voltage_sum"
			   " FROM tiers t JOIN batteries b ON b.id = t.battery"
			   " WHERE b.bms_id = 'e2' ORDER BY period"),
		  "60|2|2|100.0\n3600|2|2|100.0\n");
out:
	bms_store_close(a);
	bms_store_close(b);
}

/*
 * A disk that takes no more (a file size limit in a child process): the
 * batch fails with SQLite's reason and the file, the handle closes
 * cleanly, and the database holds exactly the batches committed before.
 * The limit makes write(2) fail with EFBIG, which SQLite reports as an
 * I/O error; ENOSPC on a full disk reads "database or disk is full" in
 * the same form.
 */
static void test_full(void)
{
	struct bms_store *st = open_t(NULL);
	struct bms_retention forever = { 0, -1, -1 };	/* its times are fixed */
	int fd[2], status = 0;
	long committed = -1;
	char msg[512] = "", want[600];
	pid_t pid;

	CHECK_INT(bms_store_tenant_add(st, "full", &forever), 0);
	bms_store_close(st);
	if (pipe(fd) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 256 * 1024, 256 * 1024 };
		const char *l16 = fixture_line("reading-16s.ndjson");
		struct bms_store *c = open_t("full");
		char t[BMS_TS_LEN + 1], reply[600];
		long done = 0, n = 0;
		int rc = 0;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		while (c && rc >= 0 && n < 1000000) {
			bms_ts_format_ms(ts_of("2026-01-01T00:00:00Z") + n * 1000, t);
			rc = put(c, retime(l16, t, NULL));
			if (rc >= 0 && ++n % 100 == 0 && (rc = bms_store_commit(c)) == 0)
				done = n;
		}
		snprintf(reply, sizeof reply, "%ld %s", done, c ? bms_store_error(c) : "no handle");
		bms_store_close(c);
		if (write(fd[1], reply, strlen(reply)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	{
		char buf[600];
		ssize_t n = read(fd[0], buf, sizeof buf - 1);
		char *sp;

		buf[n > 0 ? n : 0] = '\0';
		committed = strtol(buf, &sp, 10);
		snprintf(msg, sizeof msg, "%s", *sp ? sp + 1 : "");
	}
	close(fd[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(committed > 0);
	snprintf(want, sizeof want, "disk I/O error ('%s/tenants/full.db')", store);
	CHECK_STR(msg, want);
	CHECK_INT(sql_int(tdb("full"), "SELECT count(*) FROM readings"), committed);
	CHECK_STR(sql_dump(tdb("full"), "PRAGMA integrity_check"), "ok\n");
	/* Tiers are whole: they count the committed readings exactly. */
	CHECK_INT(sql_int(tdb("full"), "SELECT sum(n) FROM tiers WHERE period = 60"), committed);
	st = open_t("full");
	CHECK(st != NULL);
	bms_store_close(st);
}

/* ==== Backup and check ==== */

static int check_line(void *ctx, const char *line)
{
	struct bms_buf *b = ctx;

	bms_buf_puts(b, line);
	bms_buf_putc(b, '\n');
	return 0;
}

static const char *check(struct bms_store *st, int want)
{
	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	CHECK_INT(bms_store_check(st, check_line, &out), want);
	return out.p;
}

/*
 * Symbolic links planted in a store are refused, not followed
 * (2026-11-27: tenants/evil.db linked to tenants/acme.db gave a handle
 * for evil acme's records); the store's own directory may be a link.
 */
static void test_links(void)
{
	char s2[512], p[1024], evil[1024], q[1024], err[1024], want[1400];
	struct bms_store *st = NULL, *c = NULL;
	struct bms_buf b = BMS_BUF_INIT;
	FILE *f;

	snprintf(s2, sizeof s2, "%s/links", dir);
	CHECK_INT(bms_store_init(s2, err, sizeof err), 0);
	CHECK_INT(bms_store_open(&c, s2, NULL, NULL, err, sizeof err), 0);
	if (!c)
		return;
	CHECK_INT(bms_store_tenant_add(c, "acme", NULL), 0);
	CHECK_INT(bms_store_tenant_add(c, "evil", NULL), 0);
	snprintf(evil, sizeof evil, "%s/tenants/evil.db", s2);
	CHECK_INT(unlink(evil), 0);
	CHECK_INT(symlink("acme.db", evil), 0);
	snprintf(want, sizeof want, "cannot open '%s': it is a symbolic link; a store's"
		 " databases must be plain files", evil);
	CHECK_INT(bms_store_open(&st, s2, "evil", NULL, err, sizeof err), BMS_STORE_EFAIL);
	CHECK(st == NULL);
	CHECK_STR(err, want);
	/* check says so; a backup does not copy what it points at. */
	bms_buf_printf(&b, "control.db: ok\ntenants/acme.db: ok\ntenants/evil.db: %s\n", want);
	CHECK_STR(check(c, 1), b.p);
	snprintf(q, sizeof q, "%s/links-backup1", dir);
	CHECK_INT(bms_store_backup(c, q), BMS_STORE_EFAIL);
	CHECK_STR(bms_store_error(c), want);
	/* A tenant whose file is there already as a link is not added. */
	snprintf(p, sizeof p, "%s/tenants/new.db", s2);
	CHECK_INT(symlink("/nonexistent/new.db", p), 0);
	CHECK_INT(bms_store_tenant_add(c, "new", NULL), BMS_STORE_EFAIL);
	snprintf(want, sizeof want, "cannot open '%s': it is a symbolic link; a store's"
		 " databases must be plain files", p);
	CHECK_STR(bms_store_error(c), want);
	bms_buf_reset(&b);
	CHECK_INT(bms_store_tenant_list(c, tenant_line, &b), 0);
	CHECK_STR(b.p, "acme 30 400 0 1\nevil 30 400 0 1\n");
	bms_store_close(c);

	/* A backup where a link waits in place of a copy leaves its target
	 * alone. */
	snprintf(p, sizeof p, "%s/victim", dir);
	f = fopen(p, "w");
	CHECK(f && fputs("precious\n", f) >= 0 && fclose(f) == 0);
	snprintf(q, sizeof q, "%s/links-backup2", dir);
	CHECK_INT(mkdir(q, 0777), 0);
	snprintf(q, sizeof q, "%s/links-backup2/tenants", dir);
	CHECK_INT(mkdir(q, 0777), 0);
	snprintf(q, sizeof q, "%s/links-backup2/tenants/acme.db", dir);
	CHECK_INT(symlink(p, q), 0);
	CHECK_INT(bms_store_open(&st, s2, "acme", NULL, err, sizeof err), 0);
	if (st) {
		snprintf(want, sizeof want, "cannot open '%s': it is a symbolic link; a store's"
			 " databases must be plain files", q);
		snprintf(q, sizeof q, "%s/links-backup2", dir);
		CHECK_INT(bms_store_backup(st, q), BMS_STORE_EFAIL);
		CHECK_STR(bms_store_error(st), want);
		bms_store_close(st);
	}
	f = fopen(p, "r");
	CHECK(f && fgets(err, sizeof err, f) && strcmp(err, "precious\n") == 0 &&
	      !fgets(err, sizeof err, f));
	if (f)
		fclose(f);

	/* The store itself reached through a link opens and writes as ever. */
	snprintf(p, sizeof p, "%s/links-link", dir);
	CHECK_INT(symlink("links", p), 0);
	st = NULL;
	CHECK_INT(bms_store_open(&st, p, "acme", NULL, err, sizeof err), 0);
	if (st) {
		CHECK_INT(put(st, STATUS), 1);
		CHECK_INT(bms_store_commit(st), 0);
		bms_store_close(st);
	}
	snprintf(p, sizeof p, "%s/tenants/acme.db", s2);
	CHECK_INT(sql_int(p, "SELECT count(*) FROM status"), 1);
	bms_buf_free(&b);
}

/* Commit batches of acme readings until killed. */
static void writer(void)
{
	struct bms_store *c = open_t("acme");
	char t[BMS_TS_LEN + 1];
	const char *l16 = fixture_line("reading-16s.ndjson");

	if (!c)
		_exit(1);
	for (long n = 0;; n++) {
		bms_ts_format_ms(ts_of("2025-06-01T00:00:00Z") + n * 1000, t);
		if (put(c, retime(l16, t, NULL)) < 0)
			_exit(1);
		if (n % 50 == 49 && bms_store_commit(c) < 0)
			_exit(1);
	}
}

static void test_backup(void)
{
	const char *l16 = fixture_line("reading-16s.ndjson");
	struct bms_store *st = open_t("acme"), *bk;
	char t[BMS_TS_LEN + 1], bdir[512], err[1024];
	long long n0, n1, nb;
	pid_t pid;
	int status, waits = 0;

	CHECK(st != NULL);
	if (!st)
		return;
	/* Enough pages for many backup steps. */
	for (long n = 0; n < 30000; n++) {
		bms_ts_format_ms(ts_of("2025-01-01T00:00:00Z") + n * 1000, t);
		put(st, retime(l16, t, NULL));
	}
	CHECK_INT(bms_store_commit(st), 0);
	bms_store_close(st);	/* no connection open across fork() */
	n0 = sql_int(tdb("acme"), "SELECT count(*) FROM readings");

	pid = fork();
	if (pid == 0)
		writer();
	/* Let the writer get going, then copy while it commits. */
	while (sql_int(tdb("acme"), "SELECT count(*) FROM readings") < n0 + 100 &&
	       waits++ < 10000)
		usleep(1000);
	st = open_t("acme");
	/* The writer must have committed while the copy was made; on a busy
	 * machine it may not have been scheduled at all, so try a few times. */
	for (int k = 0; k < 5; k++) {
		char name[16];

		snprintf(name, sizeof name, "backup1-%d", k);
		snprintf(bdir, sizeof bdir, "%s/%s", dir, name);
		nb = sql_int(tdb("acme"), "SELECT count(*) FROM readings");
		CHECK_INT(bms_store_backup(st, bdir), 0);
		n1 = sql_int(tdb("acme"), "SELECT count(*) FROM readings");
		if (n1 > nb)
			break;
	}
	CHECK(n1 > nb);
	CHECK_STR(ls(bdir), "control.db tenants ");
	snprintf(err, sizeof err, "%s/tenants", bdir);
	CHECK_STR(ls(err), "acme.db ");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK_INT(bms_store_backup(st, bdir), BMS_STORE_ECONFIG);
	snprintf(err, sizeof err, "'%s' holds a store already; back up into a new directory",
		 bdir);
	CHECK_STR(bms_store_error(st), err);
	bms_store_close(st);

	/* The copy is a store of acme alone, consistent, with what was
	 * committed when it was taken. */
	CHECK_INT(bms_store_open(&bk, bdir, "acme", NULL, err, sizeof err), 0);
	if (bk) {
		CHECK_STR(check(bk, 0), "control.db: ok\ntenants/acme.db: ok\n");
		bms_store_close(bk);
	}
	snprintf(err, sizeof err, "%s/tenants/acme.db", bdir);
	n0 = sql_int(err, "SELECT count(*) FROM readings");
	CHECK(n0 >= nb && n0 <= n1);
	CHECK_INT(sql_int(err, "SELECT sum(n) FROM tiers WHERE period = 3600 AND battery ="
			  " (SELECT id FROM batteries WHERE bms_id = 'p1')"),
		  sql_int(err, "SELECT count(*) FROM readings WHERE battery ="
			  " (SELECT id FROM batteries WHERE bms_id = 'p1')"));
	snprintf(err, sizeof err, "%s/control.db", bdir);
	CHECK_STR(sql_dump(err, "SELECT name FROM tenants"), "acme\n");
	/* The super-admins of the store stay out of a tenant's copy. */
	CHECK_STR(sql_dump(err, "SELECT count(*) FROM superadmins"), "0\n");

	/* The whole store from a control handle. */
	st = open_t(NULL);
	snprintf(bdir, sizeof bdir, "%s/backup2", dir);
	CHECK_INT(bms_store_backup(st, bdir), 0);
	CHECK_STR(ls(bdir), "control.db tenants ");
	snprintf(err, sizeof err, "%s/tenants", bdir);
	CHECK_STR(ls(err), "acme.db beta.db exp.db full.db old.db ");
	CHECK_STR(check(st, 0), "control.db: ok\ntenants/acme.db: ok\ntenants/beta.db: ok\n"
		  "tenants/exp.db: ok\ntenants/full.db: ok\ntenants/old.db: ok\n");
	bms_store_close(st);
	CHECK_INT(bms_store_open(&bk, bdir, NULL, NULL, err, sizeof err), 0);
	if (bk) {
		CHECK_STR(check(bk, 0), "control.db: ok\ntenants/acme.db: ok\ntenants/beta.db: ok\n"
			  "tenants/exp.db: ok\ntenants/full.db: ok\ntenants/old.db: ok\n");
		CHECK_INT(bms_store_superadmin_verify(bk, "root", "top secret 2"), 1);
		bms_store_close(bk);
	}
	CHECK_INT(bms_store_open(&bk, bdir, "beta", NULL, err, sizeof err), 0);
	if (bk) {
		enum bms_role role;

		CHECK_INT(bms_store_user_verify(bk, "bea", "beta-pass", &role), 1);
		bms_store_close(bk);
	}

	/* Damage a page of the copy of beta: check says so. */
	{
		char p[1024];
		unsigned char junk[512];
		int fd;

		long long page, size;

		snprintf(p, sizeof p, "%s/tenants/beta.db", bdir);
		page = sql_int(p, "SELECT rootpage FROM sqlite_schema WHERE name = 'readings'");
		size = sql_int(p, "PRAGMA page_size");
		memset(junk, 0xa5, sizeof junk);
		fd = open(p, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, junk, sizeof junk, (page - 1) * size) == sizeof junk);
		close(fd);
		CHECK_INT(bms_store_open(&bk, bdir, NULL, NULL, err, sizeof err), 0);
		if (bk) {
			const char *r = check(bk, 1);

			char want[512];

			snprintf(want, sizeof want, "control.db: ok\ntenants/acme.db: ok\n"
				 "tenants/beta.db: Page %lld: btreeInitPage() returns error code 11\n"
				 "tenants/exp.db: ok\ntenants/full.db: ok\ntenants/old.db: ok\n", page);
			CHECK_STR(r, want);
			bms_store_close(bk);
		}
	}
}

/* ==== Tiers and lib/agg print the same record ==== */

#define SAME_N 600

struct same_reading {
	const char *id;
	int64_t ts;
	struct bms_reading r;
};

static uint32_t same_rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* The reading line of v, every number at the precision a decoder writes. */
static void same_line(struct bms_buf *b, const struct same_reading *v)
{
	const struct bms_reading *r = &v->r;
	char t[BMS_TS_LEN + 1];

	bms_ts_format_ms(v->ts, t);
	bms_buf_reset(b);
	bms_buf_printf(b, "{\"type\":\"reading\",\"bms_id\":\"%s\",\"timestamp\":\"%s\"",
		       v->id, t);
	if (r->have & BMS_R_VOLTAGE)
		bms_buf_printf(b, ",\"pack_voltage\":%.3f", r->pack_voltage);
	if (r->have & BMS_R_CURRENT)
		bms_buf_printf(b, ",\"pack_current\":%.3f", r->pack_current);
	if (r->have & BMS_R_POWER)
		bms_buf_printf(b, ",\"pack_power\":%.2f", r->pack_power);
	if (r->have & BMS_R_SOC)
		bms_buf_printf(b, ",\"soc_percent\":%.2f", r->soc_percent);
	if (r->have & BMS_R_TEMPS)
		for (int i = 0; i < r->ntemps; i++)
			bms_buf_printf(b, "%s%.2f", i ? "," : ",\"temperatures\":[", r->temps[i]);
	if (r->have & BMS_R_TEMPS)
		bms_buf_putc(b, ']');
	if (r->have & BMS_R_CELLS)
		for (int i = 0; i < r->ncells; i++)
			bms_buf_printf(b, "%s%.4f", i ? "," : ",\"cell_voltages\":[", r->cells[i]);
	if (r->have & BMS_R_CELLS)
		bms_buf_putc(b, ']');
	bms_buf_putc(b, '}');
}

/*
 * What a tier query must print: per battery in name order and per bucket
 * in time order, lib/agg's record of one bucket fed every reading of it
 * directly, in input order, as bms-agg will.
 */
static void same_want(const struct same_reading *v, int n, const char *id, int64_t period,
		      struct bms_buf *want)
{
	for (int64_t prev = INT64_MIN;;) {
		struct bms_agg_bucket b;
		int64_t next = INT64_MAX;

		for (int i = 0; i < n; i++) {
			int64_t s = bms_agg_align(v[i].ts, period);

			if (strcmp(v[i].id, id) == 0 && s > prev && s < next)
				next = s;
		}
		if (next == INT64_MAX)
			return;
		bms_agg_init(&b, period);
		for (int i = 0; i < n; i++)
			if (strcmp(v[i].id, id) == 0 && bms_agg_align(v[i].ts, period) == next)
				bms_agg_add(&b, v[i].ts, &v[i].r);
		bms_agg_json(&b, id, strlen(id), NULL, want);
		bms_buf_putc(want, '\n');
		prev = next;
	}
}

/*
 * issue 7: a stored tier and lib/agg over the same readings print the
 * same record.  600 readings of two batteries from before 1970 into it,
 * some out of order, each metric missing from some, stored in batches of
 * varying size (so buckets are merged into rows already stored), then
 * rebuilt by compact; the minute and hour tiers are compared byte for
 * byte with lib/agg's writer.  Values are binary fractions, so every sum
 * is exact whatever the order of the additions.
 */
static void test_agg_same(void)
{
	static struct same_reading v[SAME_N];
	struct bms_store *c = open_t(NULL), *st;
	struct bms_retention forever = { 0, 0, 0 };
	struct bms_buf line = BMS_BUF_INIT, want = BMS_BUF_INIT;
	const int64_t period[2] = { BMS_AGG_MINUTE_MS, BMS_AGG_HOUR_MS };
	const enum bms_store_tier tier[2] = { BMS_TIER_MINUTE, BMS_TIER_HOUR };
	uint32_t seed = 7;
	int64_t t = -200000;	/* 1969-12-31T23:56:40Z */
	int ok = 1;

	CHECK(c != NULL);
	if (c)
		CHECK_INT(bms_store_tenant_add(c, "same", &forever), 0);
	bms_store_close(c);
	if (!(st = open_t("same")))
		return;
	for (int i = 0; i < SAME_N; i++) {
		struct bms_reading *r = &v[i].r;

		bms_reading_clear(r);
		t += 1000 + same_rnd(&seed) % 15000;
		v[i].ts = t;
		v[i].id = same_rnd(&seed) % 3 ? "s1" : "s2";
		if (i > 0 && same_rnd(&seed) % 7 == 0) {	/* out of order */
			v[i].ts = v[i - 1].ts;
			v[i - 1].ts = t;
		}
		if (same_rnd(&seed) % 4)
			r->have |= BMS_R_VOLTAGE, r->pack_voltage = 48 + same_rnd(&seed) % 64 / 8.0;
		if (same_rnd(&seed) % 4)
			r->have |= BMS_R_CURRENT, r->pack_current = (int)(same_rnd(&seed) % 161) / 4.0 - 20;
		if (same_rnd(&seed) % 4)
			r->have |= BMS_R_POWER, r->pack_power = (int)(same_rnd(&seed) % 4001) / 4.0 - 500;
		if (same_rnd(&seed) % 4)
			r->have |= BMS_R_SOC, r->soc_percent = same_rnd(&seed) % 401 / 4.0;
		if (same_rnd(&seed) % 4) {
			r->have |= BMS_R_TEMPS;
			r->ntemps = 2 + (int)(same_rnd(&seed) % 3);
			for (int k = 0; k < r->ntemps; k++)
				r->temps[k] = (int)(same_rnd(&seed) % 121) / 4.0 - 5;
		}
		if (same_rnd(&seed) % 4) {
			r->have |= BMS_R_CELLS;
			r->ncells = 4 + (int)(same_rnd(&seed) % 13);
			for (int k = 0; k < r->ncells; k++)
				r->cells[k] = 3 + same_rnd(&seed) % 16 / 16.0;
		}
	}
	for (int i = 0; i < SAME_N; i++) {
		same_line(&line, &v[i]);
		ok &= !line.oom && bms_store_put(st, line.p, line.len, NULL, 0) == 1;
		if (same_rnd(&seed) % 40 == 0)
			ok &= bms_store_commit(st) == 0;
	}
	CHECK(ok);
	CHECK_INT(bms_store_commit(st), 0);
	CHECK_INT(lines(readings(st, NULL, BMS_TIER_RAW)), SAME_N);

	for (int round = 0; round < 2; round++) {
		for (int p = 0; p < 2; p++) {
			bms_buf_reset(&want);
			same_want(v, SAME_N, "s1", period[p], &want);
			same_want(v, SAME_N, "s2", period[p], &want);
			bms_buf_putc(&want, '\0');
			CHECK(lines(want.p) > (p ? 2 : 50));
			CHECK_STR(readings(st, NULL, tier[p]), want.p);
		}
		/* The second round: the tiers built again from the readings. */
		CHECK_INT(bms_store_compact(st, bms_ts_now_ms()), 0);
	}
	bms_buf_free(&line);
	bms_buf_free(&want);
	bms_store_close(st);
}

/* ==== Modes (issue 7) ==== */

/* The permission bits of p, or -1. */
static int mode_of(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/*
 * A store and its backups are private whatever the umask (issue 7: under
 * 022 they were 0755 and 0644); check_modes reports what is wider, with
 * its chmod, changing nothing; a quote in a name is escaped.
 */
static void test_modes(void)
{
	static const mode_t masks[] = { 022, 0, 0277 };
	char s[512], p[1024], b[512], err[1024], want[8192];
	struct bms_store *st = NULL, *t = NULL;
	mode_t old = umask(022);

	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		umask(masks[i]);
		snprintf(s, sizeof s, "%s/modes%zu", dir, i);
		CHECK_INT(bms_store_init(s, err, sizeof err), 0);
		CHECK_INT(bms_store_open(&st, s, NULL, NULL, err, sizeof err), 0);
		if (!st)
			break;
		CHECK_INT(bms_store_tenant_add(st, "m", NULL), 0);
		CHECK_INT(bms_store_open(&t, s, "m", NULL, err, sizeof err), 0);
		CHECK_INT(mode_of(s), 0700);
		snprintf(p, sizeof p, "%s/tenants", s);
		CHECK_INT(mode_of(p), 0700);
		snprintf(p, sizeof p, "%s/control.db", s);
		CHECK_INT(mode_of(p), 0600);
		snprintf(p, sizeof p, "%s/control.db-wal", s);
		CHECK_INT(mode_of(p), 0600);
		snprintf(p, sizeof p, "%s/tenants/m.db", s);
		CHECK_INT(mode_of(p), 0600);
		snprintf(p, sizeof p, "%s/tenants/m.db-wal", s);
		CHECK_INT(mode_of(p), 0600);
		snprintf(p, sizeof p, "%s/tenants/m.db-shm", s);
		CHECK_INT(mode_of(p), 0600);
		bms_buf_reset(&out);
		bms_buf_puts(&out, "");
		CHECK_INT(bms_store_check_modes(st, check_line, &out), 0);
		CHECK_STR(out.p, "");
		/* Backups, of the whole store and of one tenant. */
		for (int k = 0; k < 2; k++) {
			snprintf(b, sizeof b, "%s/modes%zu-backup%d", dir, i, k);
			CHECK_INT(bms_store_backup(k ? t : st, b), 0);
			CHECK_INT(mode_of(b), 0700);
			snprintf(p, sizeof p, "%s/tenants", b);
			CHECK_INT(mode_of(p), 0700);
			snprintf(p, sizeof p, "%s/control.db", b);
			CHECK_INT(mode_of(p), 0600);
			snprintf(p, sizeof p, "%s/tenants/m.db", b);
			CHECK_INT(mode_of(p), 0600);
		}
		bms_store_close(t);
		t = NULL;
		bms_store_close(st);
		st = NULL;
	}
	umask(old);

	/* Opened up by hand: reported, each with the chmod that mends it,
	 * and left as it is; a tenant handle reports its own files. */
	snprintf(s, sizeof s, "%s/modes0", dir);
	CHECK_INT(chmod(s, 0750), 0);
	snprintf(p, sizeof p, "%s/tenants/m.db", s);
	CHECK_INT(chmod(p, 0604), 0);
	CHECK_INT(bms_store_open(&t, s, "m", NULL, err, sizeof err), 0);
	if (t) {
		bms_buf_reset(&out);
		bms_buf_puts(&out, "");
		CHECK_INT(bms_store_check_modes(t, check_line, &out), 1);
		snprintf(want, sizeof want,
			 "%s: mode 750 is wider than 700; make it private with: chmod 700 %s\n"
			 "%s: mode 604 is wider than 600; make it private with: chmod 600 %s\n"
			 "%s-wal: mode 604 is wider than 600; make it private with: chmod 600 %s-wal\n"
			 "%s-shm: mode 604 is wider than 600; make it private with: chmod 600 %s-shm\n",
			 s, s, p, p, p, p, p, p);
		CHECK_STR(out.p, want);
		/* check's own lines are as before. */
		CHECK_STR(check(t, 0), "control.db: ok\ntenants/m.db: ok\n");
		/* A battery id holding a quote is escaped in its message. */
		CHECK_INT(bms_store_battery_remove(t, "o'b\"\n", 0), BMS_STORE_ECONFIG);
		CHECK_STR(bms_store_error(t), "no battery 'o\\'b\\\"\\n'");
		bms_store_close(t);
	}
	CHECK_INT(mode_of(s), 0750);
	CHECK_INT(mode_of(p), 0604);
	CHECK_INT(bms_store_open(&st, s, NULL, NULL, err, sizeof err), 0);
	if (st) {
		CHECK_INT(bms_store_tenant_add(st, "o'k", NULL), BMS_STORE_ECONFIG);
		CHECK_STR(bms_store_error(st), "bad tenant name 'o\\'k': use a-z, 0-9, '_' and"
			  " '-', at most 63 bytes, starting with a letter or digit");
		bms_store_close(st);
	}
}

/* ==== Following the store ==== */

static int follow_line(void *ctx, enum bms_store_what what, const char *bms_id,
		       const char *line, size_t len)
{
	bms_buf_printf(ctx, "%s %s %.*s\n", what == BMS_Q_READINGS ? "reading" :
		       what == BMS_Q_STATUS ? "status" : "alert", bms_id, (int)len, line);
	return 0;
}

static const char *follow(struct bms_store *st, struct bms_store_follow *f)
{
	int rc;

	bms_buf_reset(&out);
	bms_buf_puts(&out, "");
	if ((rc = bms_store_follow_next(st, f, follow_line, &out)) != 0)
		bms_buf_printf(&out, "rc %d: %s", rc, bms_store_error(st));
	return out.p;
}

static void test_follow(void)
{
	struct bms_store *c = open_t(NULL), *r = NULL, *w = NULL;
	struct bms_store_follow *f = bms_store_follow_new();
	struct bms_retention forever = { 0, -1, -1 };
	const char *st1 = "{\"type\":\"status\",\"bms_id\":\"fa\",\"timestamp\":"
			  "\"2026-12-07T10:00:01.000Z\",\"state\":\"connected\",\"reason\":\"ok\"}";
	const char *al1 = "{\"type\":\"alert\",\"bms_id\":\"fa\",\"timestamp\":"
			  "\"2026-12-07T10:00:02.000Z\",\"alert_id\":\"fa/low\",\"rule\":\"low\","
			  "\"state\":\"raised\",\"severity\":\"warning\",\"message\":\"low\"}";
	struct bms_buf want = BMS_BUF_INIT;
	char t[32];

	CHECK(c && f);
	if (!c || !f)
		goto out;
	CHECK_INT(bms_store_tenant_add(c, "follow", &forever), 0);
	r = open_t("follow");
	w = open_t("follow");
	CHECK(r && w);
	if (!r || !w)
		goto out;
	/* What was stored before the follower began is not given. */
	CHECK_INT(put(w, treading("fa", "2026-12-07T10:00:00.000Z", "\"pack_voltage\":52")), 1);
	CHECK_INT(put(w, st1), 1);
	CHECK_INT(put(w, al1), 1);
	CHECK_INT(bms_store_commit(w), 0);
	CHECK_STR(follow(r, f), "");
	CHECK_STR(follow(r, f), "");
	/* What is committed after, in order, of a battery first seen only
	 * its newest reading. */
	CHECK_INT(put(w, treading("fa", "2026-12-07T10:00:03.000Z", "\"pack_voltage\":53")), 1);
	CHECK_INT(put(w, treading("fa", "2026-12-07T10:00:04.000Z", "\"pack_voltage\":54")), 1);
	CHECK_INT(put(w, treading("fb", "2026-12-07T10:00:01.000Z", "\"pack_voltage\":40")), 1);
	CHECK_INT(put(w, treading("fb", "2026-12-07T10:00:02.000Z", "\"pack_voltage\":41")), 1);
	CHECK_INT(put(w, st1), 1);	/* an exact copy is not kept, so not given */
	CHECK_INT(put(w, "{\"type\":\"status\",\"bms_id\":\"fb\",\"timestamp\":"
		      "\"2026-12-07T10:00:02.000Z\",\"state\":\"asleep\"}"), 1);
	CHECK_INT(put(w, "{\"type\":\"alert\",\"bms_id\":\"fb\",\"timestamp\":"
		      "\"2026-12-07T10:00:02.000Z\",\"alert_id\":\"fb/x\",\"state\":\"raised\"}"), 1);
	/* Not committed: not seen. */
	CHECK_STR(follow(r, f), "");
	CHECK_INT(bms_store_commit(w), 0);
	CHECK_STR(follow(r, f),
		  "reading fa {\"type\":\"reading\",\"bms_id\":\"fa\",\"timestamp\":"
		  "\"2026-12-07T10:00:03.000Z\",\"pack_voltage\":53}\n"
		  "reading fa {\"type\":\"reading\",\"bms_id\":\"fa\",\"timestamp\":"
		  "\"2026-12-07T10:00:04.000Z\",\"pack_voltage\":54}\n"
		  "reading fb {\"type\":\"reading\",\"bms_id\":\"fb\",\"timestamp\":"
		  "\"2026-12-07T10:00:02.000Z\",\"pack_voltage\":41}\n"
		  "status fb {\"type\":\"status\",\"bms_id\":\"fb\",\"timestamp\":"
		  "\"2026-12-07T10:00:02.000Z\",\"state\":\"asleep\"}\n"
		  "alert fb {\"type\":\"alert\",\"bms_id\":\"fb\",\"timestamp\":"
		  "\"2026-12-07T10:00:02.000Z\",\"alert_id\":\"fb/x\",\"state\":\"raised\","
		  "\"id\":2}\n");
	CHECK_STR(follow(r, f), "");
	/* An acknowledgement gives the alert again, acknowledged. */
	CHECK_INT(bms_store_alert_ack(w, 1, "ann", ts_of("2026-12-07T10:01:00Z"), NULL, NULL), 0);
	CHECK(strstr(follow(r, f), "alert fa {\"type\":\"alert\",\"bms_id\":\"fa\",") == out.p);
	CHECK(strstr(out.p, ",\"id\":1,\"ack_by\":\"ann\",\"ack_at\":\"2026-12-07T10:01:00.000Z\"}\n"));
	CHECK_INT(lines(out.p), 1);
	CHECK_STR(follow(r, f), "");
	/* A bulk import: only the newest 100 of a battery. */
	for (int i = 0; i < 150; i++) {
		snprintf(t, sizeof t, "2026-12-07T11:%02d:%02d.000Z", i / 60, i % 60);
		CHECK_INT(put(w, treading("fa", t, "\"pack_voltage\":50")), 1);
	}
	CHECK_INT(bms_store_commit(w), 0);
	CHECK_INT(lines(follow(r, f)), 100);
	CHECK(strstr(out.p, "\"2026-12-07T11:00:50.000Z\"") != NULL);
	CHECK(strstr(out.p, "\"2026-12-07T11:00:49.000Z\"") == NULL);
	CHECK(strstr(out.p, "\"2026-12-07T11:02:29.000Z\"") != NULL);
	/* A control handle is refused. */
	CHECK_INT(bms_store_follow_next(c, f, follow_line, &out), BMS_STORE_ECONFIG);
out:
	bms_buf_free(&want);
	bms_store_follow_free(f);
	bms_store_close(r);
	bms_store_close(w);
	bms_store_close(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "%s/bms-unit-XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(store, sizeof store, "%s/store", dir);
	test_names();
	test_init_open();
	test_newer();
	test_upgrade();
	test_upgrade_control();
	test_roundtrip();
	test_duplicates();
	test_rejects();
	test_tiers();
	test_many_batteries();
	test_expire();
	test_too_old();
	test_csv();
	test_bad_query();
	test_latest();
	test_batteries();
	test_removed_meanwhile();
	test_users();
	test_tokens();
	test_superadmins();
	test_isolation();
	test_busy();
	test_full();
	test_links();
	test_backup();
	test_agg_same();
	test_alerts();
	test_follow();
	test_modes();
	bms_buf_free(&out);
	rm_tree(dir);
	return unit_done();
}

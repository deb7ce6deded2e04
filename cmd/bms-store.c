/* SPDX-License-Identifier: MIT */
/*
 * bms-store: keep pipeline records in a store of SQLite databases, one per
 * tenant, and administer it (tenants, batteries, users, super-admins,
 * queries, upkeep).
 * See bms-store(1).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "exitcode.h"
#include "filter.h"
#include "ingest.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "sig.h"
#include "store.h"
#include "ts.h"

#define DAY_MS (24 * 3600 * 1000LL)

/* ==== Command line ==== */

#define SYN_INGEST "bms-store [-p] [-r file] [-s] [-b n] [-t ms] [--sync mode] " \
	"[--busy-timeout ms] -d dir -T tenant [file ...]"
#define SYN_INIT "bms-store -d dir init"
#define SYN_TENANTS "bms-store -d dir tenants add|set name [--raw-days n] " \
	"[--minute-days n] [--hour-days n]\n" \
	"bms-store -d dir tenants list"
#define SYN_BATTERIES "bms-store -d dir -T tenant batteries add|edit id [--name s] " \
	"[--chemistry s] [--capacity ah] [--cells n] [--bms-type s] [--protocol s] " \
	"[--device s] [--baud n] [--timeout ms] [--notes s]\n" \
	"bms-store -d dir -T tenant batteries remove [--purge] id\n" \
	"bms-store -d dir -T tenant batteries list"
#define SYN_USERS "bms-store -d dir -T tenant users add name --role role\n" \
	"bms-store -d dir -T tenant users passwd name\n" \
	"bms-store -d dir -T tenant users disable|enable name\n" \
	"bms-store -d dir -T tenant users list"
#define SYN_SUPERADMINS "bms-store -d dir superadmins add|passwd name\n" \
	"bms-store -d dir superadmins disable|enable name\n" \
	"bms-store -d dir superadmins list"
#define SYN_QUERY "bms-store -d dir -T tenant query [--type what] [--battery id] " \
	"[--since time] [--until time] [--tier tier] [--csv]"
#define SYN_ACK "bms-store -d dir -T tenant ack id [--by user] [--note text]"
#define SYN_COMPACT "bms-store -d dir -T tenant compact"
#define SYN_BACKUP "bms-store -d dir [-T tenant] backup dest"
#define SYN_CHECK "bms-store -d dir [-T tenant] check"

enum {
	OPT_SYNC = 256, OPT_BUSY,
	OPT_RAW_DAYS, OPT_MINUTE_DAYS, OPT_HOUR_DAYS,
	OPT_NAME, OPT_CHEMISTRY, OPT_CAPACITY, OPT_CELLS, OPT_BMS_TYPE,
	OPT_PROTOCOL, OPT_DEVICE, OPT_BAUD, OPT_TIMEOUT, OPT_NOTES, OPT_PURGE,
	OPT_ROLE,
	OPT_TYPE, OPT_BATTERY, OPT_SINCE, OPT_UNTIL, OPT_TIER, OPT_CSV,
	OPT_BY, OPT_NOTE,
};

static const struct option longopts[] = {
	{ "db", required_argument, 0, 'd' },
	{ "tenant", required_argument, 0, 'T' },
	{ "passthrough", no_argument, 0, 'p' },
	{ "rejects", required_argument, 0, 'r' },
	{ "strict", no_argument, 0, 's' },
	{ "batch", required_argument, 0, 'b' },
	{ "batch-ms", required_argument, 0, 't' },
	{ "sync", required_argument, 0, OPT_SYNC },
	{ "busy-timeout", required_argument, 0, OPT_BUSY },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = SYN_INGEST "\n" SYN_INIT "\n" SYN_TENANTS "\n" SYN_BATTERIES "\n"
		SYN_USERS "\n" SYN_SUPERADMINS "\n" SYN_QUERY "\n" SYN_ACK "\n" SYN_COMPACT "\n" SYN_BACKUP "\n"
		SYN_CHECK,
	.help =
	"Store pipeline records in SQLite, one database per tenant, and look\n"
	"after the store.  With no subcommand, store the records of the files\n"
	"(or standard input); global options come before the subcommand word.\n\n"
	"  init                 create the store, or upgrade an older one\n"
	"  tenants              add tenants, set their retention, list them\n"
	"  batteries            add, edit, remove or list batteries\n"
	"  users                add users, set passwords, disable, enable, list\n"
	"  superadmins          the same for the super-admins, who manage tenants\n"
	"  query                print stored records as NDJSON (or CSV)\n"
	"  ack                  acknowledge a stored alert\n"
	"  compact              rebuild the tiers, drop expired records\n"
	"  backup               copy the store, or one tenant, to a new directory\n"
	"  check                check the integrity of every database\n\n"
	"  -d, --db DIR         the store directory\n"
	"  -T, --tenant NAME    the tenant whose database is used\n"
	"  -p, --passthrough    write each record on to stdout once it is committed\n"
	"  -r, --rejects FILE   append rejected lines to FILE as reject records\n"
	"  -s, --strict         stop with exit status 3 at the first rejected line\n"
	"  -b, --batch N        commit at most N records at a time (default 10000)\n"
	"  -t, --batch-ms MS    commit at most MS ms after a batch began (default 1000)\n"
	"      --sync MODE      normal (default), or full to survive power loss\n"
	"      --busy-timeout MS\n"
	"                       wait at most MS ms for another writer, then warn\n"
	"                       and wait again (default 5000)\n",
	.shortopts = "d:T:pr:sb:t:",
	.longopts = longopts,
};

struct global {
	const char *dir;
	const char *tenant;
	const char *rejects;
	int passthrough, strict;
	long batch;			/* records per commit at most */
	long batch_ms;			/* ms from a batch's start to its commit at most */
	struct bms_store_opts sopts;
};

/* A subcommand's own options, as its opt function parses them. */
struct args {
	struct bms_retention keep;	/* tenants */
	int keep_set;
	struct bms_battery b;		/* batteries */
	int fields, purge;
	int role;			/* users: an enum bms_role, -1 if not given */
	struct bms_store_query q;	/* query */
	const char *since, *until;
	int tier_set;
	const char *by, *note;		/* ack */
};

/* A subcommand: its word, its usage, whether it needs --tenant, its action
 * words (tenants add ...) if any, and the functions that parse one of its
 * options and run it on the operands after the action word. */
struct sub {
	const char *word;
	int tenant;
	const char *const *verbs;
	struct bms_cmd cmd;
	void (*opt)(struct args *a, const struct bms_cmd *cmd, int c);
	int (*run)(struct global *g, struct args *a, const struct sub *s, int verb,
		   int argc, char **argv);
};

/* An operand, not an option word: where global option parsing stops. */
static int is_operand(const char *s)
{
	return s[0] != '-' || s[1] == '\0';
}

static int exit_code(int rc)
{
	return rc == BMS_STORE_ECONFIG ? BMS_EXIT_USAGE : BMS_EXIT_FAIL;
}

static struct bms_store *open_store(const struct global *g, const char *tenant)
{
	struct bms_store *st;
	char err[512];
	int rc;

	rc = bms_store_open(&st, g->dir, tenant, &g->sopts, err, sizeof err);
	if (rc < 0)
		bms_die(exit_code(rc), "%s", err);
	return st;
}

/* End a subcommand: a store failure becomes its message and exit code. */
static int finish(struct bms_store *st, int rc)
{
	if (rc < 0) {
		bms_warn("%s", bms_store_error(st));
		bms_store_close(st);
		return exit_code(rc);
	}
	bms_store_close(st);
	return BMS_EXIT_OK;
}

/* ==== Output of the lists and queries ==== */

static struct bms_ndjson_out out;
static struct bms_buf line = BMS_BUF_INIT;

/* Write a line of output; 2 (stop, and not a failed check) once writing
 * failed. */
static int put_line(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	return bms_ndjson_put(&out, s, n) < 0 ? 2 : 0;
}

static int put_text(void *ctx, const char *s)
{
	return put_line(ctx, s, strlen(s));
}

/* Close stdout; a write error other than a closed reader is a failure. */
static int out_end(int status)
{
	bms_ndjson_flush(&out);
	if (out.err && out.err != EPIPE)
		bms_die(BMS_EXIT_FAIL, "cannot write output: %s", strerror(out.err));
	return status;
}

/* End a listing or query: rc is what the walk returned. */
static int end_list(struct bms_store *st, int rc)
{
	return out_end(finish(st, rc < 0 ? rc : 0));
}

/* Write the row object in line. */
static int put_object(void)
{
	if (line.oom)
		bms_die(BMS_EXIT_FAIL, "out of memory");
	return put_line(NULL, line.p, line.len);
}

static int tenant_row(void *ctx, const struct bms_tenant *t)
{
	bms_store_tenant_json(t, &line);
	return put_object();
}

static int battery_row(void *ctx, const struct bms_battery *b)
{
	bms_store_battery_json(b, &line);
	return put_object();
}

static int user_row(void *ctx, const struct bms_user *u)
{
	bms_store_user_json(u, &line);
	return put_object();
}

static int superadmin_row(void *ctx, const struct bms_superadmin *a)
{
	bms_store_superadmin_json(a, &line);
	return put_object();
}

/* ==== init, compact, backup, check ==== */

static int run_init(struct global *g, struct args *a, const struct sub *s, int verb,
		    int argc, char **argv)
{
	char err[512];
	int rc;

	if (argc)
		bms_opt_usage(&s->cmd, "init takes no operands");
	rc = bms_store_init(g->dir, err, sizeof err);
	if (rc < 0)
		bms_die(exit_code(rc), "%s", err);
	return BMS_EXIT_OK;
}

static int run_compact(struct global *g, struct args *a, const struct sub *s, int verb,
		       int argc, char **argv)
{
	struct bms_store *st;

	if (argc)
		bms_opt_usage(&s->cmd, "compact takes no operands");
	st = open_store(g, g->tenant);
	return finish(st, bms_store_compact(st, bms_ts_now_ms()));
}

static int run_backup(struct global *g, struct args *a, const struct sub *s, int verb,
		      int argc, char **argv)
{
	struct bms_store *st;

	if (argc != 1)
		bms_opt_usage(&s->cmd, "backup: give one destination directory");
	st = open_store(g, g->tenant);
	return finish(st, bms_store_backup(st, argv[0]));
}

static int run_check(struct global *g, struct args *a, const struct sub *s, int verb,
		     int argc, char **argv)
{
	struct bms_store *st;
	int rc;

	if (argc)
		bms_opt_usage(&s->cmd, "check takes no operands");
	st = open_store(g, g->tenant);
	rc = bms_store_check(st, put_text, NULL);
	if (rc == 0 || rc == 1) {	/* wide modes are reported, not a failure */
		int m = bms_store_check_modes(st, put_text, NULL);

		if (m < 0)
			rc = m;
	}
	if (rc == 1) {
		bms_store_close(st);
		return out_end(BMS_EXIT_FAIL);
	}
	return end_list(st, rc);
}

/* ==== tenants ==== */

static const struct option tenant_opts[] = {
	{ "raw-days", required_argument, 0, OPT_RAW_DAYS },
	{ "minute-days", required_argument, 0, OPT_MINUTE_DAYS },
	{ "hour-days", required_argument, 0, OPT_HOUR_DAYS },
	BMS_OPT_COMMON
};

static void tenant_opt(struct args *a, const struct bms_cmd *sub, int c)
{
	long *f = c == OPT_RAW_DAYS ? &a->keep.raw_days :
		c == OPT_MINUTE_DAYS ? &a->keep.minute_days : &a->keep.hour_days;

	*f = bms_opt_long(sub, tenant_opts[c - OPT_RAW_DAYS].name, optarg, 0, 1000000);
	a->keep_set = 1;
}

enum { TENANT_ADD, TENANT_SET, TENANT_LIST };

static int run_tenants(struct global *g, struct args *a, const struct sub *s, int verb,
		       int argc, char **argv)
{
	struct bms_store *st;

	if (verb == TENANT_LIST) {
		if (argc || a->keep_set)
			bms_opt_usage(&s->cmd, "tenants list takes no operands or options");
		st = open_store(g, NULL);
		return end_list(st, bms_store_tenant_list(st, tenant_row, NULL));
	}
	if (argc != 1)
		bms_opt_usage(&s->cmd, "tenants %s: give one tenant name", argv[-1]);
	if (verb == TENANT_SET && !a->keep_set)
		bms_opt_usage(&s->cmd, "tenants set: give --raw-days, --minute-days "
			      "or --hour-days");
	st = open_store(g, NULL);
	return finish(st, verb == TENANT_ADD ? bms_store_tenant_add(st, argv[0], &a->keep) :
		      bms_store_tenant_set(st, argv[0], &a->keep));
}

/* ==== batteries ==== */

static const struct option battery_opts[] = {
	{ "name", required_argument, 0, OPT_NAME },
	{ "chemistry", required_argument, 0, OPT_CHEMISTRY },
	{ "capacity", required_argument, 0, OPT_CAPACITY },
	{ "cells", required_argument, 0, OPT_CELLS },
	{ "bms-type", required_argument, 0, OPT_BMS_TYPE },
	{ "protocol", required_argument, 0, OPT_PROTOCOL },
	{ "device", required_argument, 0, OPT_DEVICE },
	{ "baud", required_argument, 0, OPT_BAUD },
	{ "timeout", required_argument, 0, OPT_TIMEOUT },
	{ "notes", required_argument, 0, OPT_NOTES },
	{ "purge", no_argument, 0, OPT_PURGE },
	BMS_OPT_COMMON
};

static void battery_opt(struct args *a, const struct bms_cmd *sub, int c)
{
	struct bms_battery *b = &a->b;

	a->fields += c != OPT_PURGE;
	switch (c) {
	case OPT_NAME: b->name = optarg; break;
	case OPT_CHEMISTRY: b->chemistry = optarg; break;
	case OPT_CAPACITY:
		b->nominal_capacity_ah = bms_opt_double(sub, "capacity", optarg, 0, 1e6);
		break;
	case OPT_CELLS: b->cell_count = bms_opt_long(sub, "cells", optarg, 1, 1024); break;
	case OPT_BMS_TYPE: b->bms_type = optarg; break;
	case OPT_PROTOCOL: b->protocol = optarg; break;
	case OPT_DEVICE: b->device = optarg; break;
	case OPT_BAUD: b->baud = bms_opt_long(sub, "baud", optarg, 1, 100000000); break;
	case OPT_TIMEOUT: b->timeout_ms = bms_opt_long(sub, "timeout", optarg, 1, 3600000); break;
	case OPT_NOTES: b->notes = optarg; break;
	case OPT_PURGE: a->purge = 1; break;
	}
}

enum { BATTERY_ADD, BATTERY_EDIT, BATTERY_REMOVE, BATTERY_LIST };

static int run_batteries(struct global *g, struct args *a, const struct sub *s, int verb,
			 int argc, char **argv)
{
	struct bms_store *st;
	int rc;

	if (verb == BATTERY_LIST) {
		if (argc || a->fields || a->purge)
			bms_opt_usage(&s->cmd, "batteries list takes no operands or options");
		st = open_store(g, g->tenant);
		return end_list(st, bms_store_battery_list(st, battery_row, NULL));
	}
	if (argc != 1)
		bms_opt_usage(&s->cmd, "batteries %s: give one battery id", argv[-1]);
	if (verb == BATTERY_REMOVE && a->fields)
		bms_opt_usage(&s->cmd, "batteries remove takes only --purge");
	if (verb != BATTERY_REMOVE && a->purge)
		bms_opt_usage(&s->cmd, "--purge is for batteries remove");
	a->b.bms_id = argv[0];
	st = open_store(g, g->tenant);
	if (verb == BATTERY_ADD)
		rc = bms_store_battery_add(st, &a->b);
	else if (verb == BATTERY_EDIT)
		rc = bms_store_battery_edit(st, &a->b);
	else
		rc = bms_store_battery_remove(st, a->b.bms_id, a->purge);
	return finish(st, rc);
}

/* ==== users ==== */

/* The first line of standard input, without its line end; the caller frees. */
static char *read_password(void)
{
	char *pw = NULL;
	size_t cap = 0;
	ssize_t n;

	errno = 0;
	n = getline(&pw, &cap, stdin);
	if (n < 0 && errno)
		bms_die(BMS_EXIT_FAIL, "cannot read the password: %s", strerror(errno));
	if (n > 0 && pw[n - 1] == '\n')
		pw[--n] = '\0';
	if (n > 0 && memchr(pw, '\0', (size_t)n)) {
		free(pw);
		bms_die(BMS_EXIT_USAGE, "the password on standard input holds a NUL byte");
	}
	if (n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	if (n <= 0) {
		free(pw);
		bms_die(BMS_EXIT_USAGE, "empty password on standard input");
	}
	return pw;
}

static const struct option user_opts[] = {
	{ "role", required_argument, 0, OPT_ROLE },
	BMS_OPT_COMMON
};

static void user_opt(struct args *a, const struct bms_cmd *sub, int c)
{
	a->role = bms_opt_word(sub, "role", optarg,
			       (const char *const[]){ "viewer", "operator", "admin", NULL });
}

enum { USER_ADD, USER_PASSWD, USER_DISABLE, USER_ENABLE, USER_LIST };

static int run_users(struct global *g, struct args *a, const struct sub *s, int verb,
		     int argc, char **argv)
{
	struct bms_store *st;
	char *pw;
	int rc;

	if (verb == USER_LIST) {
		if (argc || a->role >= 0)
			bms_opt_usage(&s->cmd, "users list takes no operands or options");
		st = open_store(g, g->tenant);
		return end_list(st, bms_store_user_list(st, user_row, NULL));
	}
	if (argc != 1)
		bms_opt_usage(&s->cmd, "users %s: give one user name", argv[-1]);
	if (verb == USER_ADD && a->role < 0)
		bms_opt_usage(&s->cmd, "users add: --role is required");
	if (verb != USER_ADD && a->role >= 0)
		bms_opt_usage(&s->cmd, "--role is for users add");
	if (verb == USER_DISABLE || verb == USER_ENABLE) {
		st = open_store(g, g->tenant);
		return finish(st, bms_store_user_disable(st, argv[0], verb == USER_DISABLE));
	}
	pw = read_password();
	st = open_store(g, g->tenant);
	if (verb == USER_ADD)
		rc = bms_store_user_add(st, argv[0], (enum bms_role)a->role, pw);
	else
		rc = bms_store_user_passwd(st, argv[0], pw);
	memset(pw, 0, strlen(pw));
	free(pw);
	return finish(st, rc);
}

/* ==== superadmins ==== */

enum { SUPERADMIN_ADD, SUPERADMIN_PASSWD, SUPERADMIN_DISABLE, SUPERADMIN_ENABLE,
       SUPERADMIN_LIST };

static int run_superadmins(struct global *g, struct args *a, const struct sub *s, int verb,
			   int argc, char **argv)
{
	struct bms_store *st;
	char *pw;
	int rc;

	if (verb == SUPERADMIN_LIST) {
		if (argc)
			bms_opt_usage(&s->cmd, "superadmins list takes no operands");
		st = open_store(g, NULL);
		return end_list(st, bms_store_superadmin_list(st, superadmin_row, NULL));
	}
	if (argc != 1)
		bms_opt_usage(&s->cmd, "superadmins %s: give one name", argv[-1]);
	if (verb == SUPERADMIN_DISABLE || verb == SUPERADMIN_ENABLE) {
		st = open_store(g, NULL);
		return finish(st, bms_store_superadmin_disable(st, argv[0],
							       verb == SUPERADMIN_DISABLE));
	}
	pw = read_password();
	st = open_store(g, NULL);
	if (verb == SUPERADMIN_ADD)
		rc = bms_store_superadmin_add(st, argv[0], pw);
	else
		rc = bms_store_superadmin_passwd(st, argv[0], pw);
	memset(pw, 0, strlen(pw));
	free(pw);
	return finish(st, rc);
}

/* ==== query ==== */

static const struct option query_opts[] = {
	{ "type", required_argument, 0, OPT_TYPE },
	{ "battery", required_argument, 0, OPT_BATTERY },
	{ "since", required_argument, 0, OPT_SINCE },
	{ "until", required_argument, 0, OPT_UNTIL },
	{ "tier", required_argument, 0, OPT_TIER },
	{ "csv", no_argument, 0, OPT_CSV },
	BMS_OPT_COMMON
};

static void query_opt(struct args *a, const struct bms_cmd *sub, int c)
{
	static const char *const whats[] = { "readings|reading", "aggregates|aggregate",
					      "alerts|alert", "status", "health",
					      "anomalies|anomaly", NULL };
	static const char *const tiers[] = { "auto", "raw", "minute", "hour", NULL };

	switch (c) {
	case OPT_TYPE: a->q.what = (enum bms_store_what)bms_opt_word(sub, "type", optarg, whats); break;
	case OPT_BATTERY: a->q.bms_id = optarg; break;
	case OPT_SINCE: a->since = optarg; break;
	case OPT_UNTIL: a->until = optarg; break;
	case OPT_TIER:
		a->q.tier = (enum bms_store_tier)bms_opt_word(sub, "tier", optarg, tiers);
		a->tier_set = 1;
		break;
	case OPT_CSV: a->q.csv = 1; break;
	}
}

static int64_t parse_time(const char *opt, const char *s, int64_t now)
{
	int64_t ms;

	if (bms_ts_parse_arg(s, now, &ms) < 0)
		bms_die(BMS_EXIT_USAGE, "--%s: '%s' is not a time (RFC 3339, YYYY-MM-DD, "
			"now, or back from now as -90s, -30m, -24h, -7d)", opt, s);
	return ms;
}

static int run_query(struct global *g, struct args *a, const struct sub *s, int verb,
		     int argc, char **argv)
{
	struct bms_store_query *q = &a->q;
	struct bms_store *st;
	int64_t now = bms_ts_now_ms();

	if (argc)
		bms_opt_usage(&s->cmd, "query takes no operands");
	if (a->tier_set && q->what != BMS_Q_READINGS)
		bms_die(BMS_EXIT_USAGE, "--tier is for --type readings");
	q->until_ms = a->until ? parse_time("until", a->until, now) : now;
	q->since_ms = a->since ? parse_time("since", a->since, now) : q->until_ms - DAY_MS;
	if (q->since_ms >= q->until_ms)
		bms_die(BMS_EXIT_USAGE, "--since %s is not before --until %s",
			a->since ? a->since : "(24 hours before --until)",
			a->until ? a->until : "now");
	st = open_store(g, g->tenant);
	return end_list(st, bms_store_query(st, q, put_line, NULL, NULL));
}

/* ==== ack ==== */

static const struct option ack_opts[] = {
	{ "by", required_argument, 0, OPT_BY },
	{ "note", required_argument, 0, OPT_NOTE },
	BMS_OPT_COMMON
};

static void ack_opt(struct args *a, const struct bms_cmd *sub, int c)
{
	if (c == OPT_BY)
		a->by = optarg;
	else
		a->note = optarg;
}

/* The login name: $USER, else the password database's name of the real
 * user; NULL if neither is known. */
static const char *login_name(void)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
}

static int run_ack(struct global *g, struct args *a, const struct sub *s, int verb,
		   int argc, char **argv)
{
	struct bms_alert_ack first;
	struct bms_store *st;
	char *end, at[BMS_TS_LEN + 1];
	long long id;
	int rc;

	if (argc != 1)
		bms_opt_usage(&s->cmd, "ack: give one alert id");
	errno = 0;
	id = strtoll(argv[0], &end, 10);
	if (argv[0][0] < '0' || argv[0][0] > '9' || *end || errno || id < 1)
		bms_die(BMS_EXIT_USAGE, "ack: '%s' is not an alert id (the \"id\" of"
			" query --type alerts)", argv[0]);
	if (!a->by && !(a->by = login_name()))
		bms_die(BMS_EXIT_USAGE, "ack: no login name known; say who acknowledges"
			" with --by");
	st = open_store(g, g->tenant);
	rc = bms_store_alert_ack(st, id, a->by, bms_ts_now_ms(), a->note, &first);
	if (rc == 1) {
		bms_ts_format_ms(first.at_ms, at);
		bms_warn("alert %lld in tenant '%s' was acknowledged already, by '%s' at %s;"
			 " that acknowledgement is kept", id, g->tenant, first.by, at);
		rc = 0;
	}
	return finish(st, rc);
}

/* ==== Ingest ==== */

static void warn(void *ctx, const char *msg)
{
	bms_warn("%s", msg);
}

static int ingest(struct global *gl, char **files, int nfiles)
{
	static struct bms_filter f;
	static struct bms_ingest g;
	const struct bms_filter_opts fo = {
		.files = files, .nfiles = nfiles, .rejects = gl->rejects,
		.strict = gl->strict, .prog = bms_msg_name(), .out_fd = STDOUT_FILENO,
	};
	const struct bms_ingest_opts io = {
		.dir = gl->dir, .passthrough = gl->passthrough, .warn = warn,
		.batch_max = (unsigned long)gl->batch, .batch_ms = gl->batch_ms,
	};
	struct bms_filter_stage stage = { .warn = warn };
	struct bms_store *st;
	char err[512];
	int rc;

	bms_sig_install();
	if (bms_filter_open(&f, &fo) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	st = open_store(gl, gl->tenant);
	if (bms_ingest_begin(&g, st, &io, err, sizeof err) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	bms_ingest_stage(&g, &stage);
	rc = bms_filter_run(&f, &stage);
	if (rc == BMS_FILTER_EFAIL)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	if (bms_ingest_note(&g, err, sizeof err))
		bms_warn("%s", err);
	bms_store_close(st);
	bms_filter_close(&f);
	return bms_filter_exit(rc);
}

/* ==== main ==== */

static const struct option no_opts[] = { BMS_OPT_COMMON };

static const struct sub subs[] = {
	{ "init", 0, NULL, { SYN_INIT, "", "", no_opts }, NULL, run_init },
	{ "tenants", 0, (const char *const[]){ "add", "set", "list", NULL },
	  { SYN_TENANTS,
	    "      --raw-days N     keep readings and the other records N days\n"
	    "                       (default 30, 0 for ever)\n"
	    "      --minute-days N  keep the per-minute tier N days (default 400)\n"
	    "      --hour-days N    keep the per-hour tier N days (default 0: for ever)\n",
	    "", tenant_opts }, tenant_opt, run_tenants },
	{ "batteries", 1, (const char *const[]){ "add", "edit", "remove", "list", NULL },
	  { SYN_BATTERIES,
	    "      --name S         a name for people\n"
	    "      --chemistry S    lifepo4, nmc, lto, ...\n"
	    "      --capacity AH    nominal capacity in Ah\n"
	    "      --cells N        cells in series\n"
	    "      --bms-type S     daly, foxbms, libresolar, ...\n"
	    "      --protocol S     daly, daly-modbus, ...\n"
	    "      --device S       device path, tcp://host:port or BLE address\n"
	    "      --baud N         line speed\n"
	    "      --timeout MS     reply timeout\n"
	    "      --notes S        free text\n"
	    "      --purge          remove a battery's stored records as well\n",
	    "", battery_opts }, battery_opt, run_batteries },
	{ "users", 1, (const char *const[]){ "add", "passwd", "disable", "enable", "list", NULL },
	  { SYN_USERS,
	    "      --role ROLE      viewer, operator or admin\n"
	    "The password of add and passwd is the first line of standard input.\n",
	    "", user_opts }, user_opt, run_users },
	{ "superadmins", 0,
	  (const char *const[]){ "add", "passwd", "disable", "enable", "list", NULL },
	  { SYN_SUPERADMINS,
	    "The password of add and passwd is the first line of standard input.\n",
	    "", no_opts }, NULL, run_superadmins },
	{ "query", 1, NULL,
	  { SYN_QUERY,
	    "      --type WHAT      readings (default), aggregates, alerts, status,\n"
	    "                       health or anomalies\n"
	    "                       (reading, aggregate, alert and anomaly too)\n"
	    "      --battery ID     only this battery (default: every one)\n"
	    "      --since TIME     from TIME on (default: 24 hours before --until)\n"
	    "      --until TIME     up to TIME, not included (default: now)\n"
	    "      --tier TIER      readings from auto (default), raw, minute or hour\n"
	    "      --csv            CSV with a header line instead of NDJSON\n"
	    "TIME is RFC 3339, YYYY-MM-DD, now, or back from now: -90s, -30m, -24h, -7d.\n",
	    "", query_opts }, query_opt, run_query },
	{ "ack", 1, NULL,
	  { SYN_ACK,
	    "      --by USER        who acknowledges (default: the login name)\n"
	    "      --note TEXT      a note for the audit log\n"
	    "ID is the \"id\" of the alert in query --type alerts.\n",
	    "", ack_opts }, ack_opt, run_ack },
	{ "compact", 1, NULL, { SYN_COMPACT, "", "", no_opts }, NULL, run_compact },
	{ "backup", 0, NULL, { SYN_BACKUP, "", "", no_opts }, NULL, run_backup },
	{ "check", 0, NULL, { SYN_CHECK, "", "", no_opts }, NULL, run_check },
};

/* Run subcommand s: argv[0] is its word.  Its options are parsed first,
 * then the usage every form shares is checked, then its action word. */
static int run_sub(struct global *g, const struct sub *s, int argc, char **argv)
{
	struct args a = {
		.keep = { -1, -1, -1 }, .role = -1,
		.q = { .what = BMS_Q_READINGS, .tier = BMS_TIER_AUTO },
	};
	int c, verb = -1;

	bms_store_battery_clear(&a.b);
	optind = 0;
	while ((c = bms_opt_next(argc, argv, &s->cmd)) != -1)
		if (s->opt)
			s->opt(&a, &s->cmd, c);
	if (!g->dir)
		bms_opt_usage(&s->cmd, "--db is required");
	if (s->tenant && !g->tenant)
		bms_opt_usage(&s->cmd, "--tenant is required for %s", s->word);
	argc -= optind;
	argv += optind;
	if (s->verbs) {
		verb = bms_opt_action(&s->cmd, s->word, argc ? argv[0] : NULL, s->verbs);
		argc--;
		argv++;
	}
	/* A reader that went away (query | head) is an ordinary end; ^C
	 * still ends a long query. */
	signal(SIGPIPE, SIG_IGN);
	bms_ndjson_out_init(&out, STDOUT_FILENO);
	return s->run(g, &a, s, verb, argc, argv);
}

static void global_opt(struct global *g, int c)
{
	switch (c) {
	case 'd': g->dir = optarg; break;
	case 'T': g->tenant = optarg; break;
	case 'p': g->passthrough = 1; break;
	case 'r': g->rejects = optarg; break;
	case 's': g->strict = 1; break;
	case 'b': g->batch = bms_opt_long(&cmd, "batch", optarg, 1, 10000000); break;
	case 't': g->batch_ms = bms_opt_long(&cmd, "batch-ms", optarg, 1, 86400000); break;
	case OPT_SYNC:
		g->sopts.sync_full = bms_opt_word(&cmd, "sync", optarg,
						  (const char *const[]){ "normal", "full", NULL }) == 1;
		break;
	case OPT_BUSY:
		g->sopts.busy_ms = (int)bms_opt_long(&cmd, "busy-timeout", optarg, 1, 86400000);
		break;
	}
}

int main(int argc, char **argv)
{
	struct global g = { .batch = 10000, .batch_ms = 1000 };
	int c;

	bms_msg_prog(argv[0]);
	/* Global options end at the first operand: the subcommand word or
	 * the first input file. */
	while (optind < argc && !is_operand(argv[optind]) &&
	       (c = bms_opt_next(argc, argv, &cmd)) != -1)
		global_opt(&g, c);
	if (optind < argc)
		for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
			if (strcmp(argv[optind], subs[i].word) == 0)
				return run_sub(&g, &subs[i], argc - optind, argv + optind);
	/* Storing: options may follow the input files too, as in any filter. */
	optind = 0;
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1)
		global_opt(&g, c);
	if (!g.dir)
		bms_opt_usage(&cmd, "--db is required");
	if (!g.tenant)
		bms_opt_usage(&cmd, "--tenant is required to store records");
	return ingest(&g, argv + optind, argc - optind);
}

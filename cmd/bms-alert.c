/* SPDX-License-Identifier: MIT */
/*
 * bms-alert: apply the rules (lib/rules.h) to the stream (lib/alert.h),
 * write an alert record for each transition after the record that caused
 * it, run --exec per event (lib/notify.h), learn acknowledgements from the
 * store; every record passes through byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "chem.h"
#include "config.h"
#include "exitcode.h"
#include "filter.h"
#include "msg.h"
#include "notify.h"
#include "opt.h"
#include "sig.h"
#include "store.h"
#include "ts.h"

#ifndef BMS_DATADIR
#define BMS_DATADIR "/usr/local/share/trackingbms"
#endif

static const struct option longopts[] = {
	{ "rules", required_argument, 0, 'R' },
	{ "rejects", required_argument, 0, 'r' },
	{ "strict", no_argument, 0, 's' },
	{ "chemistry", required_argument, 0, 'C' },
	{ "state", required_argument, 0, 'S' },
	{ "exec", required_argument, 0, 'e' },
	{ "exec-jobs", required_argument, 0, 'j' },
	{ "exec-timeout", required_argument, 0, 't' },
	{ "exec-rate", required_argument, 0, 'L' },
	{ "db", required_argument, 0, 'd' },
	{ "tenant", required_argument, 0, 'T' },
	{ "check", no_argument, 0, 'k' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-alert [-R rules] [-r file] [--strict] [--chemistry chem] [--state file] "
		    "[--exec cmd] [--db dir -T tenant] [file ...]\n"
		    "bms-alert --check [-R rules]",
	.help =
	"Raise, repeat, escalate and clear alerts by the rules, as alert records\n"
	"after the record that caused them; every record passes on.\n\n"
	"  -R, --rules FILE       the rules (default: the installed set of --chemistry);\n"
	"                         SIGHUP reads it again\n"
	"  -r, --rejects FILE     append rejected lines to FILE as reject records\n"
	"      --strict           exit status 3 at the first rejected line\n"
	"      --chemistry CHEM   lfp, nmc or lto, for every battery not configured\n"
	"      --state FILE       keep open alerts and their timers across restarts\n"
	"      --exec CMD         run CMD (sh -c) per event, the record on its stdin\n"
	"      --exec-jobs N      commands running at once (default 4)\n"
	"      --exec-timeout DUR a command's time before it is killed (default 30s)\n"
	"      --exec-rate N/DUR  events per alert a command is run for (default 20/1h)\n"
	"      --db DIR           learn acknowledgements (and chemistries) from the store\n"
	"  -T, --tenant NAME      the tenant of --db\n"
	"      --check            read the rules, say what they hold, and exit\n",
	.shortopts = "R:r:T:",
	.longopts = longopts,
};

#define ACK_POLL_MS 1000	/* the store is looked at at most this often */
#define SAVE_MS 10000		/* the state is saved at most this often */
#define IDLE_TICK_MS 1000	/* the clock moves on while the input is idle */

struct alertd {
	struct bms_alert *a;
	struct bms_filter *f;
	const char *rules_path;
	const char *state;
	int64_t saved_at;		/* ms, monotonic */
	struct bms_notify *n;
	struct bms_store *st;
	const char *db, *tenant;
	int64_t dv;			/* the store's data_version last seen */
	int64_t polled_at;		/* ms, monotonic */
	int64_t ack_after;		/* ms: acknowledgements seen up to */
	int64_t rec_mono;		/* ms, monotonic: the last record read */
	int64_t rec_clock;		/* the stream's clock then */
	struct bms_buf out;
	struct bms_buf pending;		/* events of the line in hand */
};

/* ==== Events and commands ==== */

static void notified(void *ctx, const struct bms_notify_result *r)
{
	struct alertd *d = ctx;
	const char *brace, *ev;

	if (r->ok)
		return;
	bms_warn("--exec for alert '%s': %s", r->key, r->why);
	/* The same record with its state notify_failed and the reason. */
	bms_buf_reset(&d->out);
	brace = strstr(r->rec, ",\"state\":\"");
	if (!brace)
		return;
	bms_buf_add(&d->out, r->rec, (size_t)(brace - r->rec));
	bms_buf_puts(&d->out, ",\"state\":\"notify_failed\",\"event\":");
	ev = brace + 10;
	brace = strchr(ev, '"');
	if (!brace)
		return;
	bms_buf_json_str(&d->out, ev, (size_t)(brace - ev));
	bms_buf_puts(&d->out, ",\"error\":");
	bms_buf_json_str(&d->out, r->why, strlen(r->why));
	bms_buf_puts(&d->out, brace + 1);
	/* Written with the events, after the record in hand. */
	if (!d->out.oom) {
		bms_buf_add(&d->pending, d->out.p, d->out.len);
		bms_buf_putc(&d->pending, '\n');
	}
}

static void event(void *ctx, const struct bms_alert_event *ev)
{
	struct alertd *d = ctx;
	char v[40] = "", t[40] = "";
	char *env[12];
	struct bms_buf e = BMS_BUF_INIT;
	size_t off[12];
	int k = 0;

	/* After the record that caused it (alert_line writes them). */
	bms_buf_add(&d->pending, ev->rec, ev->len);
	bms_buf_putc(&d->pending, '\n');
	if (!d->n)
		return;
	if (ev->has_value)
		snprintf(v, sizeof v, "%.6g", ev->value);
	if (ev->has_threshold)
		snprintf(t, sizeof t, "%.6g", ev->threshold);
	{
		const char *kv[][2] = {
			{ "BMS_ALERT_ID", ev->alert_id }, { "BMS_RULE", ev->rule },
			{ "BMS_STATE", ev->state }, { "BMS_SEVERITY", ev->severity },
			{ "BMS_ID", ev->bms_id }, { "BMS_TIMESTAMP", ev->timestamp },
			{ "BMS_MESSAGE", ev->message }, { "BMS_VALUE", v },
			{ "BMS_THRESHOLD", t }, { "BMS_TENANT", ev->tenant ? ev->tenant : "" },
		};

		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
			off[k++] = e.len;
			bms_buf_printf(&e, "%s=%s", kv[i][0], kv[i][1]);
			bms_buf_putc(&e, '\0');
		}
	}
	if (e.oom) {
		bms_buf_free(&e);
		return;
	}
	for (int i = 0; i < k; i++)
		env[i] = e.p + off[i];
	env[k] = NULL;
	bms_notify_run(d->n, ev->alert_id, ev->rec, ev->len, (const char *const *)env,
		       bms_ts_mono_ms(), notified, d);
	bms_buf_free(&e);
}

/* ==== Acknowledgements from the store ==== */

static int acked(void *ctx, const char *alert_id, int64_t ts_ms, const char *by,
		 int64_t ack_at_ms)
{
	struct alertd *d = ctx;

	if (alert_id && bms_alert_ack(d->a, d->tenant, alert_id, ts_ms))
		bms_warn("alert '%s' acknowledged by %s: no more repeats or escalation",
			 alert_id, by ? by : "someone");
	if (ack_at_ms > d->ack_after)
		d->ack_after = ack_at_ms;
	return 0;
}

static void poll_acks(struct alertd *d, int force)
{
	int64_t v, since;

	if (!d->st || (!force && bms_ts_mono_ms() - d->polled_at < ACK_POLL_MS))
		return;
	d->polled_at = bms_ts_mono_ms();
	if (bms_store_data_version(d->st, &v) < 0) {
		bms_warn("cannot look for acknowledgements: %s", bms_store_error(d->st));
		return;
	}
	if (!force && v == d->dv)
		return;
	d->dv = v;
	since = bms_alert_oldest_open(d->a);
	if (since == INT64_MAX)
		return;
	if (bms_store_alert_acks(d->st, d->ack_after, since, acked, d) < 0)
		bms_warn("cannot look for acknowledgements: %s", bms_store_error(d->st));
}

static int add_battery(void *ctx, const struct bms_battery *b)
{
	if (b->chemistry)
		bms_alert_registry(ctx, b->bms_id, bms_chem_find(b->chemistry, strlen(b->chemistry)));
	return 0;
}

/* ==== The loop ==== */

static void reload(struct alertd *d)
{
	struct bms_rules *rs;
	char err[512];
	int n;

	if (bms_rules_load(d->rules_path, &rs, err, sizeof err) < 0) {
		bms_warn("%s; keeping the rules before", err);
		return;
	}
	n = rs->n;
	if (bms_alert_set_rules(d->a, rs) < 0) {
		bms_warn("out of memory reading '%s'; keeping the rules before", d->rules_path);
		return;
	}
	bms_warn("reloaded '%s': %d %s", d->rules_path, n, n == 1 ? "rule" : "rules");
	if (d->st)
		bms_store_battery_list(d->st, add_battery, d->a);
}

/* The events waiting in d->pending, out. */
static void flush_pending(struct alertd *d)
{
	const char *p = d->pending.p, *end = p + d->pending.len, *nl;

	for (; p && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		bms_filter_emit(d->f, p, (size_t)(nl - p));
	}
	bms_buf_reset(&d->pending);
}

static int alert_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
		      char *why, size_t whysz)
{
	struct alertd *d = ctx;
	int rc;

	d->f = f;
	if (bms_sig_reload())
		reload(d);
	bms_buf_reset(&d->pending);
	rc = bms_alert_line(d->a, line, len, why, whysz);
	/* The record first, then what it caused. */
	if (rc != BMS_ALERT_REJECT)
		bms_filter_emit(f, line, len);
	flush_pending(d);
	if (bms_alert_over_cap(d->a))
		bms_warn("more than %d batteries: the others are not watched",
			 BMS_ALERT_MAX_BATTERIES);
	d->rec_mono = bms_ts_mono_ms();
	d->rec_clock = bms_alert_clock(d->a);
	return rc == BMS_ALERT_REJECT ? BMS_FILTER_REJECT : BMS_FILTER_DONE;
}

static int drained(void *ctx, struct bms_filter *f, char *why, size_t whysz)
{
	struct alertd *d = ctx;
	int64_t now = bms_ts_mono_ms(), next;
	int tick = IDLE_TICK_MS;

	d->f = f;
	if (bms_sig_reload())
		reload(d);
	/* While the input is idle the stream's clock runs on with the wall
	 * clock, for the rules that watch the time since a reading. */
	if (d->rec_clock != INT64_MIN && now - d->rec_mono >= IDLE_TICK_MS) {
		bms_alert_tick(d->a, d->rec_clock + (now - d->rec_mono));
		flush_pending(d);
	}
	if (d->n) {
		bms_notify_poll(d->n, now, notified, d);
		flush_pending(d);
		next = bms_notify_next_ms(d->n, now);
		if (bms_notify_busy(d->n))
			tick = 100;
		if (next >= 0 && next < tick)
			tick = next > 10 ? (int)next : 10;
	}
	poll_acks(d, 0);
	bms_filter_tick(f, tick);
	if (!d->state || !bms_alert_dirty(d->a) || now - d->saved_at < SAVE_MS)
		return 0;
	bms_filter_flush(f);
	d->saved_at = now;
	return bms_alert_state_save(d->a, d->state, why, whysz);
}

static void warn(void *ctx, const char *msg)
{
	bms_warn("%s", msg);
}

/* N/DURATION of --exec-rate. */
static void exec_rate(const char *arg, struct bms_notify_opts *o)
{
	const char *slash = strchr(arg, '/');
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (!slash || end != slash || errno || n < 0 || n > BMS_NOTIFY_MAX_RATE ||
	    bms_config_duration(slash + 1, &o->rate_ms) < 0 || (n > 0 && o->rate_ms <= 0))
		bms_opt_usage(&cmd, "--exec-rate: '%s' is not N/DURATION with N 0..%d, "
			      "such as 20/1h", arg, BMS_NOTIFY_MAX_RATE);
	o->rate_n = (int)n;
}

static void check(const struct bms_rules *rs, const char *path)
{
	printf("%s: %d %s\n", path, rs->n, rs->n == 1 ? "rule" : "rules");
	for (int i = 0; i < rs->n; i++) {
		const struct bms_rule *r = &rs->rules[i];

		printf("%s\t%s\n", r->name, bms_rules_sev_words[r->severity]);
	}
}

int main(int argc, char **argv)
{
	static struct alertd d;
	static struct bms_filter f;
	struct bms_filter_opts fo = { .out_fd = STDOUT_FILENO };
	struct bms_notify_opts no = { .max_jobs = 4, .max_queue = 256, .timeout_ms = 30000,
				      .rate_n = 20, .rate_ms = 3600000 };
	const struct bms_filter_stage stage = {
		.line = alert_line, .drained = drained, .warn = warn, .ctx = &d
	};
	struct bms_rules *rs;
	char err[512], defpath[4096];
	int c, rc, chem = -1, only_check = 0;

	bms_msg_prog(argv[0]);
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'R': d.rules_path = optarg; break;
		case 'r': fo.rejects = optarg; break;
		case 's': fo.strict = 1; break;
		case 'C':
			chem = bms_chem_find(optarg, strlen(optarg));
			if (chem < 0)
				bms_opt_usage(&cmd, "--chemistry: '%s' is not lfp, nmc or lto", optarg);
			break;
		case 'S': d.state = optarg; break;
		case 'e': no.cmd = optarg; break;
		case 'j': no.max_jobs = (int)bms_opt_long(&cmd, "exec-jobs", optarg, 1, 64); break;
		case 't':
			if (bms_config_duration(optarg, &no.timeout_ms) < 0)
				bms_opt_usage(&cmd, "--exec-timeout: '%s' is not a duration "
					      "(such as 10s, 2m; 0: none)", optarg);
			break;
		case 'L': exec_rate(optarg, &no); break;
		case 'd': d.db = optarg; break;
		case 'T': d.tenant = optarg; break;
		case 'k': only_check = 1; break;
		}
	}
	if (!d.db != !d.tenant)
		bms_opt_usage(&cmd, "--db and --tenant go together");
	if (!d.rules_path) {
		snprintf(defpath, sizeof defpath, "%s/rules/%s.rules", BMS_DATADIR,
			 bms_chem_profile(chem >= 0 ? (enum bms_chem)chem : BMS_CHEM_LFP)->name);
		d.rules_path = defpath;
	}
	if (bms_rules_load(d.rules_path, &rs, err, sizeof err) < 0) {
		if (d.rules_path == defpath && access(defpath, F_OK) < 0)
			bms_die(BMS_EXIT_USAGE, "%s (the default rules are installed by "
				"make install; or give --rules FILE)", err);
		bms_die(BMS_EXIT_USAGE, "%s", err);
	}
	if (only_check) {
		check(rs, d.rules_path);
		bms_rules_free(rs);
		return fflush(stdout) == 0 ? BMS_EXIT_OK : BMS_EXIT_FAIL;
	}
	if (!(d.a = bms_alert_new(rs, chem, event, &d)))
		bms_die(BMS_EXIT_FAIL, "out of memory");
	if (d.db) {
		if ((rc = bms_store_open(&d.st, d.db, d.tenant, NULL, err, sizeof err)) < 0)
			bms_die(rc == BMS_STORE_ECONFIG ? BMS_EXIT_USAGE : BMS_EXIT_FAIL, "%s", err);
		if (bms_store_battery_list(d.st, add_battery, d.a) < 0)
			bms_die(BMS_EXIT_FAIL, "%s", bms_store_error(d.st));
		d.dv = INT64_MIN;
	}
	if (no.cmd && !(d.n = bms_notify_new(&no)))
		bms_die(BMS_EXIT_FAIL, "out of memory");
	/* Load the state, and save it once to know that it can be. */
	if (d.state && (bms_alert_state_load(d.a, d.state, err, sizeof err) < 0 ||
			bms_alert_state_save(d.a, d.state, err, sizeof err) < 0))
		bms_die(BMS_EXIT_FAIL, "%s", err);
	d.saved_at = bms_ts_mono_ms();
	d.rec_clock = INT64_MIN;
	poll_acks(&d, 1);
	bms_sig_install();
	bms_sig_hup_reloads();
	fo.prog = bms_msg_name();
	fo.files = argv + optind;
	fo.nfiles = argc - optind;
	if (bms_filter_open(&f, &fo) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	d.f = &f;
	rc = bms_filter_run(&f, &stage);
	if (d.n) {
		/* The commands of the last events get their time; a failure
		 * among them is still written. */
		bms_notify_drain(d.n, no.timeout_ms ? no.timeout_ms : 30000, notified, &d);
		flush_pending(&d);
		bms_filter_flush(&f);
	}
	if (d.state && rc != BMS_FILTER_EFAIL &&
	    bms_alert_state_save(d.a, d.state, err, sizeof err) < 0) {
		bms_filter_close(&f);
		bms_die(BMS_EXIT_FAIL, "%s", err);
	}
	bms_filter_close(&f);
	bms_notify_free(d.n);
	if (d.st)
		bms_store_close(d.st);
	bms_alert_free(d.a);
	bms_buf_free(&d.out);
	bms_buf_free(&d.pending);
	if (rc == BMS_FILTER_EFAIL)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	return bms_filter_exit(rc);
}

/* SPDX-License-Identifier: MIT */
/*
 * bms-validate: judge each reading (lib/validate.h) and pass it on with
 * its verdict, drop the bad ones to the rejects, or stop at the first;
 * every other record passes through byte for byte.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "chem.h"
#include "exitcode.h"
#include "filter.h"
#include "msg.h"
#include "opt.h"
#include "sig.h"
#include "store.h"
#include "ts.h"
#include "validate.h"

static const struct option longopts[] = {
	{ "mode", required_argument, 0, 'm' },
	{ "rejects", required_argument, 0, 'r' },
	{ "config", required_argument, 0, 'c' },
	{ "chemistry", required_argument, 0, 'C' },
	{ "db", required_argument, 0, 'd' },
	{ "tenant", required_argument, 0, 'T' },
	{ "state", required_argument, 0, 'S' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-validate [-m mode] [-r file] [-c file] [--chemistry chem] "
		    "[--db dir -T tenant] [--state file] [file ...]",
	.help =
	"Judge each reading record: schema, physics of its chemistry, and the\n"
	"readings of its battery before it.\n\n"
	"  -m, --mode MODE      annotate (default: add \"quality\" and \"findings\"),\n"
	"                       drop (bad readings to the rejects) or strict\n"
	"                       (exit status 3 at the first bad reading)\n"
	"  -r, --rejects FILE   append rejected lines to FILE as reject records\n"
	"  -c, --config FILE    [battery] facts and [validate] thresholds (SIGHUP\n"
	"                       reloads it)\n"
	"      --chemistry CHEM lfp, nmc or lto, for every battery not configured\n"
	"      --db DIR         read the battery registry of the store at DIR\n"
	"  -T, --tenant NAME    the tenant whose registry --db reads\n"
	"      --state FILE     keep what is known of each battery's stream across\n"
	"                       restarts\n",
	.shortopts = "m:r:c:T:",
	.longopts = longopts,
};

enum { MODE_ANNOTATE, MODE_DROP, MODE_STRICT };
static const char *const modes[] = { "annotate", "drop", "strict", NULL };

struct validate {
	struct bms_validate *v;
	struct bms_config *cfg;
	const char *db, *tenant;
	const char *state;		/* --state, or NULL */
	int64_t saved_at;		/* ms, monotonic: the last save */
	int mode;
	struct bms_validate_result res;
	struct bms_buf out, findings;
};

static int add_battery(void *ctx, const struct bms_battery *b)
{
	bms_validate_registry_add(ctx, b->bms_id, b->chemistry, b->nominal_capacity_ah,
				  b->cell_count);
	return 0;
}

/* The store's registry into the validator; 0, or a BMS_STORE_E* code
 * with the reason in err. */
static int load_registry(struct validate *d, char *err, size_t errsz)
{
	struct bms_store *st;
	int rc = bms_store_open(&st, d->db, d->tenant, NULL, err, errsz);

	if (rc < 0)
		return rc;
	rc = bms_store_battery_list(st, add_battery, d->v);
	if (rc < 0) {
		snprintf(err, errsz, "%s", bms_store_error(st));
		bms_validate_registry_abort(d->v);
	} else {
		bms_validate_registry_commit(d->v);
	}
	bms_store_close(st);
	return rc;
}

static void reload(struct validate *d)
{
	char err[512];

	if (bms_config_path(d->cfg)) {
		if (bms_config_reload(d->cfg, err, sizeof err) < 0)
			bms_warn("%s; keeping the configuration before", err);
		else
			bms_warn("reloaded '%s'", bms_config_path(d->cfg));
	}
	if (d->db) {
		if (load_registry(d, err, sizeof err) < 0)
			bms_warn("%s; keeping the battery registry read before", err);
		else
			bms_warn("reloaded the battery registry of tenant '%s'", d->tenant);
	}
	bms_validate_refresh(d->v);
}

static int validate_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
			 char *why, size_t whysz)
{
	struct validate *d = ctx;
	int rc = bms_validate_line(d->v, line, len, bms_ts_now_ms(), &d->res, &d->out,
				   why, whysz);

	if (bms_validate_over_cap(d->v))
		bms_warn("more than %d batteries: the readings of the others are judged "
			 "one by one", BMS_VALIDATE_MAX_BATTERIES);
	if (d->out.oom) {
		snprintf(why, whysz, "out of memory");
		return BMS_FILTER_FAIL;
	}
	if (rc == BMS_VALIDATE_OTHER)
		return BMS_FILTER_PASS;
	if (rc == BMS_VALIDATE_REJECT)
		return BMS_FILTER_REJECT;
	if (d->res.quality == BMS_QUALITY_BAD && d->mode != MODE_ANNOTATE) {
		bms_validate_reason(&d->res, why, whysz);
		if (d->mode == MODE_STRICT)
			return BMS_FILTER_REJECT;
		bms_buf_reset(&d->findings);
		bms_validate_findings_json(&d->res, &d->findings);
		errno = 0;
		if (bms_reject_findings(&f->rej, bms_filter_file(f), bms_filter_lineno(f), why,
					d->findings.p, d->findings.len, line, len) < 0) {
			snprintf(why, whysz, "cannot write the rejects file: %s",
				 strerror(errno ? errno : EIO));
			return BMS_FILTER_FAIL;
		}
		return BMS_FILTER_DONE;
	}
	bms_filter_emit(f, d->out.p, d->out.len);
	return BMS_FILTER_DONE;
}

/* The state is saved when the input pauses, at most every SAVE_MS. */
#define SAVE_MS 10000

static int drained(void *ctx, struct bms_filter *f, char *why, size_t whysz)
{
	struct validate *d = ctx;

	if (bms_sig_reload())
		reload(d);
	if (!d->state || !bms_validate_dirty(d->v) || bms_ts_mono_ms() - d->saved_at < SAVE_MS)
		return 0;
	/* What the saved state has seen is out first. */
	bms_filter_flush(f);
	d->saved_at = bms_ts_mono_ms();
	return bms_validate_state_save(d->v, d->state, why, whysz);
}

static void warn(void *ctx, const char *msg)
{
	bms_warn("%s", msg);
}

int main(int argc, char **argv)
{
	static struct validate d;
	static struct bms_filter f;
	struct bms_filter_opts fo = { .out_fd = STDOUT_FILENO };
	const struct bms_filter_stage stage = {
		.line = validate_line, .drained = drained, .warn = warn, .ctx = &d
	};
	const char *config = NULL;
	char err[512];
	int c, rc, chem = -1;

	bms_msg_prog(argv[0]);
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'm': d.mode = bms_opt_word(&cmd, "mode", optarg, modes); break;
		case 'r': fo.rejects = optarg; break;
		case 'c': config = optarg; break;
		case 'C':
			chem = bms_chem_find(optarg, strlen(optarg));
			if (chem < 0)
				bms_opt_usage(&cmd, "--chemistry: '%s' is not lfp, nmc or lto", optarg);
			break;
		case 'd': d.db = optarg; break;
		case 'T': d.tenant = optarg; break;
		case 'S': d.state = optarg; break;
		}
	}
	if (!d.db != !d.tenant)
		bms_opt_usage(&cmd, "--db and --tenant go together");
	d.cfg = bms_config_new(bms_validate_keys, bms_validate_nkeys);
	if (!d.cfg || !(d.v = bms_validate_new(d.cfg, chem)))
		bms_die(BMS_EXIT_FAIL, "out of memory");
	if (config && bms_config_load(d.cfg, config, err, sizeof err) < 0)
		bms_die(BMS_EXIT_USAGE, "%s", err);
	if (d.db && (rc = load_registry(&d, err, sizeof err)) < 0)
		bms_die(rc == BMS_STORE_ECONFIG ? BMS_EXIT_USAGE : BMS_EXIT_FAIL, "%s", err);
	bms_validate_refresh(d.v);
	/* Load the state, and save it once to know that it can be. */
	if (d.state && (bms_validate_state_load(d.v, d.state, err, sizeof err) < 0 ||
			bms_validate_state_save(d.v, d.state, err, sizeof err) < 0))
		bms_die(BMS_EXIT_FAIL, "%s", err);
	d.saved_at = bms_ts_mono_ms();
	bms_sig_install();
	if (config || d.db)
		bms_sig_hup_reloads();
	fo.prog = bms_msg_name();
	fo.strict = d.mode == MODE_STRICT;
	fo.files = argv + optind;
	fo.nfiles = argc - optind;
	if (bms_filter_open(&f, &fo) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	rc = bms_filter_run(&f, &stage);
	if (d.state && rc != BMS_FILTER_EFAIL &&
	    bms_validate_state_save(d.v, d.state, err, sizeof err) < 0) {
		bms_filter_close(&f);
		bms_die(BMS_EXIT_FAIL, "%s", err);
	}
	bms_filter_close(&f);
	bms_validate_free(d.v);
	bms_config_free(d.cfg);
	bms_buf_free(&d.out);
	bms_buf_free(&d.findings);
	if (rc == BMS_FILTER_EFAIL)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	return bms_filter_exit(rc);
}

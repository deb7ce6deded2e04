/* SPDX-License-Identifier: MIT */
/*
 * bms-agg: reading records in and out, with aggregate records of
 * tumbling windows per battery and readings of several packs merged into
 * one battery; every other record passes through byte for byte.  The
 * options are parsed here; the stage is lib/aggstage.
 */
#include <string.h>
#include <unistd.h>

#include "aggstage.h"
#include "chem.h"
#include "config.h"
#include "exitcode.h"
#include "filter.h"
#include "msg.h"
#include "opt.h"
#include "sig.h"

enum { OPT_STATE = 256, OPT_MAX_GAP, OPT_MERGE, OPT_PARALLEL, OPT_SERIES, OPT_MERGE_WINDOW,
       OPT_SAVE, OPT_MAX_BAT, OPT_CHEM, OPT_HEALTH };

static const struct option longopts[] = {
	{ "window", required_argument, 0, 'w' },
	{ "max-gap", required_argument, 0, OPT_MAX_GAP },
	{ "merge", required_argument, 0, OPT_MERGE },
	{ "parallel", no_argument, 0, OPT_PARALLEL },
	{ "series", no_argument, 0, OPT_SERIES },
	{ "merge-window", required_argument, 0, OPT_MERGE_WINDOW },
	{ "config", required_argument, 0, 'c' },
	{ "state", required_argument, 0, OPT_STATE },
	{ "save-interval", required_argument, 0, OPT_SAVE },
	{ "max-batteries", required_argument, 0, OPT_MAX_BAT },
	{ "chemistry", required_argument, 0, OPT_CHEM },
	{ "health-interval", required_argument, 0, OPT_HEALTH },
	{ "rejects", required_argument, 0, 'r' },
	{ "strict", no_argument, 0, 's' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-agg [-s] [-w list] [-c file] [-r file] [--state file] [--max-gap dur] "
		    "[--parallel | --series] [--merge name=id,...] [--merge-window dur] "
		    "[--save-interval dur] [--max-batteries n] [--chemistry chem] "
		    "[--health-interval dur] [file ...]",
	.help =
	"Aggregate readings into tumbling windows per battery; merge packs.\n\n"
	"  -w, --window LIST    window lengths, a comma list or repeated (default 1m)\n"
	"      --max-gap DUR    longest interval integrated over (default 1m)\n"
	"      --merge N=ID,... readings of packs ID,... also as battery N (repeatable)\n"
	"      --parallel       the --merge options after it: packs in parallel (default)\n"
	"      --series         the --merge options after it: packs in series\n"
	"      --merge-window DUR  readings of all packs within DUR make one (default 5s)\n"
	"  -c, --config FILE    [battery], [merge \"N\"], [health] and [anomaly]\n"
	"                       sections (bms.conf(5))\n"
	"      --state FILE     keep open windows and pending merges across restarts\n"
	"      --save-interval DUR  save the state at most every DUR (default 10s)\n"
	"      --max-batteries N  batteries tracked at most (default 1024)\n"
	"      --chemistry CHEM  lfp, nmc or lto: full and empty cells of batteries\n"
	"                       without [battery] chemistry (default lfp)\n"
	"      --health-interval DUR  a health record per battery every DUR of its\n"
	"                       readings' time (default 1h; 0: none)\n"
	"  -r, --rejects FILE   append rejected lines to FILE as reject records\n"
	"  -s, --strict         stop with exit status 3 at the first rejected line\n",
	.shortopts = "w:c:r:s",
	.longopts = longopts,
};

static void warn(void *ctx, const char *msg)
{
	bms_warn("%s", msg);
}

static int64_t duration(const char *name, const char *arg, int64_t min)
{
	int64_t ms;

	if (bms_config_duration(arg, &ms) < 0)
		bms_opt_usage(&cmd, "--%s: '%s' is not a duration (such as 500ms, 30s, 5m, 1h)",
			      name, arg);
	if (ms < min)
		bms_die(BMS_EXIT_USAGE, "--%s: %s is too short", name, arg);
	return ms;
}

int main(int argc, char **argv)
{
	static struct bms_aggstage_opts o;
	static struct bms_filter f;
	struct bms_aggstage *a;
	struct bms_filter_opts fo = { .out_fd = STDOUT_FILENO };
	struct bms_filter_stage stage = { .line = bms_aggstage_line,
		.drained = bms_aggstage_drained, .warn = warn };
	int c, rc, mode = BMS_MERGE_PARALLEL;
	char err[512];

	bms_msg_prog(argv[0]);
	bms_aggstage_opts_init(&o);
	o.warn = warn;
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'w':
			if (bms_window_parse_list(&o.wopt, optarg, err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--window: %s", err);
			break;
		case OPT_MAX_GAP: o.wopt.max_gap_ms = duration("max-gap", optarg, 1); break;
		case OPT_MERGE:
			if (o.ncli == BMS_MERGE_MAX)
				bms_die(BMS_EXIT_USAGE, "--merge: more than %d merges", BMS_MERGE_MAX);
			if (bms_merge_parse(&o.cli[o.ncli], optarg, err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--merge: %s", err);
			o.cli[o.ncli++].mode = mode;
			break;
		case OPT_PARALLEL: mode = BMS_MERGE_PARALLEL; break;
		case OPT_SERIES: mode = BMS_MERGE_SERIES; break;
		case OPT_MERGE_WINDOW:
			o.merge_window_ms = duration("merge-window", optarg, 0);
			break;
		case 'c': o.config_path = optarg; break;
		case OPT_STATE: o.state_path = optarg; break;
		case OPT_SAVE: o.save_ms = duration("save-interval", optarg, 0); break;
		case OPT_MAX_BAT:
			o.max_batteries = (int)bms_opt_long(&cmd, "max-batteries", optarg, 1, 1000000);
			break;
		case OPT_CHEM:
			if ((o.chem = bms_chem_find(optarg, strlen(optarg))) < 0)
				bms_opt_usage(&cmd, "--chemistry: '%s' is not lfp, nmc or lto", optarg);
			break;
		case OPT_HEALTH:
			o.health_ms = duration("health-interval", optarg, 0);
			if (o.health_ms > 0 && o.health_ms < 1000)
				bms_die(BMS_EXIT_USAGE, "--health-interval: %s is too short", optarg);
			break;
		case 'r': fo.rejects = optarg; break;
		case 's': fo.strict = 1; break;
		}
	}
	if (!o.wopt.n)
		bms_window_parse_list(&o.wopt, "1m", err, sizeof err);
	if (!(a = bms_aggstage_new(&o)))
		bms_die(BMS_EXIT_FAIL, "out of memory");
	if (bms_aggstage_configure(a, err, sizeof err) < 0)
		bms_die(BMS_EXIT_USAGE, "%s", err);
	bms_sig_install();
	if (o.config_path)
		bms_sig_hup_reloads();
	if (bms_aggstage_load(a, err, sizeof err) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	fo.prog = bms_msg_name();
	fo.files = argv + optind;
	fo.nfiles = argc - optind;
	stage.ctx = a;
	if (bms_filter_open(&f, &fo) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	rc = bms_filter_run(&f, &stage);
	if (rc == BMS_FILTER_EFAIL)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	if (bms_aggstage_finish(a, &f, err, sizeof err) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	bms_filter_close(&f);
	bms_aggstage_free(a);
	return bms_filter_exit(rc);
}

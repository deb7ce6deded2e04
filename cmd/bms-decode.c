/* SPDX-License-Identifier: MIT */
/*
 * bms-decode: frames records in, reading records out; every other record
 * passes through byte for byte.
 */
#include <unistd.h>

#include "exitcode.h"
#include "filter.h"
#include "frames.h"
#include "msg.h"
#include "opt.h"
#include "sig.h"

static const struct option longopts[] = {
	{ "rejects", required_argument, 0, 'r' },
	{ "strict", no_argument, 0, 's' },
	{ "invert-current", no_argument, 0, 'i' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-decode [-is] [-r file] [file ...]",
	.help =
	"Decode frames records from bms-read into reading records.\n\n"
	"  -r, --rejects FILE   append rejected lines to FILE as reject records\n"
	"  -s, --strict         stop with exit status 3 at the first rejected line\n"
	"  -i, --invert-current flip the current sign of a BMS that reports it\n"
	"                       reversed and gives no charge/discharge state\n",
	.shortopts = "r:si",
	.longopts = longopts,
};

struct decode {
	struct bms_frames_opts opts;
	struct bms_frames_ctx ctx;
	struct bms_buf rec;
};

/* A frames record becomes a reading; every other record passes. */
static int decode_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
		       char *why, size_t whysz)
{
	struct decode *d = ctx;

	switch (bms_frames_decode(line, len, &d->opts, &d->ctx, &d->rec, why, whysz)) {
	case BMS_FRAMES_READING:
		bms_filter_emit(f, d->rec.p, d->rec.len);
		return BMS_FILTER_DONE;
	case BMS_FRAMES_OTHER:
		return BMS_FILTER_PASS;
	default:
		return BMS_FILTER_REJECT;
	}
}

static void warn(void *ctx, const char *msg)
{
	bms_warn("%s", msg);
}

int main(int argc, char **argv)
{
	static struct decode d;
	static struct bms_filter f;
	struct bms_filter_opts fo = { .out_fd = STDOUT_FILENO };
	const struct bms_filter_stage stage = { .line = decode_line, .warn = warn, .ctx = &d };
	int c, rc;

	bms_msg_prog(argv[0]);
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'r': fo.rejects = optarg; break;
		case 's': fo.strict = 1; break;
		case 'i': d.opts.invert_current = true; break;
		}
	}
	bms_sig_install();
	fo.prog = bms_msg_name();
	fo.files = argv + optind;
	fo.nfiles = argc - optind;
	if (bms_filter_open(&f, &fo) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	rc = bms_filter_run(&f, &stage);
	bms_filter_close(&f);
	bms_buf_free(&d.rec);
	if (rc == BMS_FILTER_EFAIL)
		bms_die(BMS_EXIT_FAIL, "%s", f.err);
	return bms_filter_exit(rc);
}

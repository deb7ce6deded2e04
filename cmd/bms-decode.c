/* SPDX-License-Identifier: MIT */
/*
 * bms-decode: frames records in, reading records out; every other record
 * passes through byte for byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "frames.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "reject.h"
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

static struct bms_ndjson_out out;
static struct bms_frames_ctx fctx;
static struct bms_reject rej;

/* The input has nothing more waiting: let readers see what we have. */
static void flush_out(void *ctx)
{
	(void)ctx;
	bms_ndjson_flush(&out);
	if (bms_reject_flush(&rej) < 0)
		bms_die(BMS_EXIT_FAIL, "cannot write the rejects file: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct bms_frames_opts fopt = { false };
	struct bms_ndjson_in in;
	struct bms_buf rec = BMS_BUF_INIT;
	const char *rejects = NULL;
	const char *line;
	char err[256];
	size_t len;
	int strict = 0, c, rc, status = BMS_EXIT_OK;

	bms_msg_prog(argv[0]);
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'r': rejects = optarg; break;
		case 's': strict = 1; break;
		case 'i': fopt.invert_current = true; break;
		}
	}
	bms_sig_install();
	if (bms_reject_open(&rej, bms_msg_name(), rejects, err, sizeof err) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	if (bms_ndjson_open(&in, argv + optind, argc - optind) < 0)
		bms_die(BMS_EXIT_FAIL, "out of memory");
	bms_ndjson_out_init(&out, STDOUT_FILENO);
	in.drained = flush_out;

	while (!bms_sig_stopping() && !out.err) {
		rc = bms_ndjson_next(&in, &line, &len);
		if (rc == BMS_NDJSON_END)
			break;
		if (rc == BMS_NDJSON_INTR)
			continue;
		if (rc == BMS_NDJSON_ERR) {
			bms_warn("%s", in.errbuf);
			status = BMS_EXIT_FAIL;
			continue;
		}
		if (rc == BMS_NDJSON_LONG) {
			bms_reject_line(&rej, in.name, in.lineno,
					"line longer than 1 MiB", "", 0);
			if (strict)
				break;
			continue;
		}
		if (len == 0)
			continue;
		switch (bms_frames_decode(line, len, &fopt, &fctx, &rec, err, sizeof err)) {
		case BMS_FRAMES_READING:
			bms_ndjson_put(&out, rec.p, rec.len);
			break;
		case BMS_FRAMES_OTHER:
			bms_ndjson_put(&out, line, len);
			break;
		default:
			if (bms_reject_line(&rej, in.name, in.lineno, err, line, len) < 0)
				bms_die(BMS_EXIT_FAIL, "cannot write the rejects file: %s",
					strerror(errno));
			if (strict)
				goto done;
		}
	}
done:
	bms_ndjson_flush(&out);
	bms_ndjson_close(&in);
	bms_buf_free(&rec);
	if (bms_reject_close(&rej) < 0)
		bms_die(BMS_EXIT_FAIL, "cannot write the rejects file: %s", strerror(errno));
	if (out.err && out.err != EPIPE)
		bms_die(BMS_EXIT_FAIL, "cannot write output: %s", strerror(out.err));
	if (status == BMS_EXIT_OK && strict && rej.count)
		status = BMS_EXIT_REJECT;
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * bms-read: poll Daly BMS boards over a serial port, pty or TCP bridge
 * and write one frames record per cycle, plus status records when the
 * link changes.  See bms-read(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "cycle.h"
#include "proto.h"
#include "reader.h"
#include "serial.h"
#include "sig.h"

enum {
	OPT_ID = 256, OPT_HOST, OPT_TENANT, OPT_BACKOFF, OPT_LIST,
};

static const struct option longopts[] = {
	{ "proto", required_argument, 0, 'p' },
	{ "baud", required_argument, 0, 'b' },
	{ "interval", required_argument, 0, 'i' },
	{ "count", required_argument, 0, 'n' },
	{ "id", required_argument, 0, OPT_ID },
	{ "board", required_argument, 0, 'a' },
	{ "host-address", required_argument, 0, OPT_HOST },
	{ "timeout", required_argument, 0, 't' },
	{ "retries", required_argument, 0, 'r' },
	{ "tenant", required_argument, 0, OPT_TENANT },
	{ "backoff-max", required_argument, 0, OPT_BACKOFF },
	{ "list-ports", no_argument, 0, OPT_LIST },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-read [options] DEVICE\nbms-read --list-ports",
	.help =
	"  -p, --proto PROTO    daly (A5 frames, default) or daly-modbus (D2)\n"
	"  -b, --baud N         line speed (default 9600)\n"
	"  -i, --interval SEC   seconds from one cycle's start to the next (default 1)\n"
	"  -n, --count N        cycles to run, 0 = until stopped (default 0)\n"
	"      --id ID          bms_id of the records (default: from DEVICE)\n"
	"  -a, --board LIST     boards to poll, e.g. 1 or 1,2,3 (default 1)\n"
	"      --host-address A host address of board 1: 0x40 (default) or 0x80\n"
	"  -t, --timeout MS     wait per try for a reply (default 500)\n"
	"  -r, --retries N      tries after the first (default 2)\n"
	"      --tenant NAME    add \"tenant\" to every record\n"
	"      --backoff-max S  longest pause between reopen attempts (default 30)\n"
	"      --list-ports     list the serial ports found and exit\n",
	.shortopts = "p:b:i:n:a:t:r:",
	.longopts = longopts,
};

/* Seconds (>= 0) to whole milliseconds, rounded. */
static int64_t to_ms(double sec)
{
	return (int64_t)(sec * 1000 + 0.5);
}

static int list_ports(void)
{
	struct bms_serial_info *v;
	char err[256];
	int n = bms_serial_list(&v, err, sizeof err);

	if (n < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	for (int i = 0; i < n; i++) {
		char ids[16] = "-";

		if (v[i].vid >= 0)
			snprintf(ids, sizeof ids, "%04x:%04x", v[i].vid, v[i].pid);
		printf("%s\t%s\t%s\t%s\t%s\n", v[i].path, v[i].transport, ids,
		       v[i].manufacturer[0] ? v[i].manufacturer : "-",
		       v[i].product[0] ? v[i].product : "-");
	}
	free(v);
	return fflush(stdout) == 0 ? BMS_EXIT_OK : BMS_EXIT_FAIL;
}

static int emit(void *ctx, const char *line, size_t len)
{
	return bms_ndjson_put(ctx, line, len);
}

static int flush(void *ctx)
{
	return bms_ndjson_flush(ctx);
}

int main(int argc, char **argv)
{
	static struct bms_ndjson_out out;
	struct bms_reader_opts o;
	int list = 0, c;
	char err[300];

	bms_msg_prog(argv[0]);
	bms_reader_defaults(&o);
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'p':
			o.poll.proto = bms_opt_word(&cmd, "proto", optarg, bms_proto_names);
			break;
		case 'b':
			o.baud = (int)bms_opt_long(&cmd, "baud", optarg, 1, 4000000);
			if (!bms_serial_baud_ok(o.baud))
				bms_die(BMS_EXIT_USAGE, "--baud: %d is not a standard rate "
					      "from 1200 to 921600", o.baud);
			break;
		case 'i':
			o.interval_ms = to_ms(bms_opt_double(&cmd, "interval", optarg,
							     0, 86400));
			break;
		case 'n':
			o.count = bms_opt_long(&cmd, "count", optarg, 0, LONG_MAX);
			break;
		case OPT_ID:
			if (!*optarg)
				bms_die(BMS_EXIT_USAGE, "--id: must not be empty");
			o.id = optarg;
			break;
		case 'a':
			o.nboards = bms_reader_parse_boards(optarg, o.boards);
			if (o.nboards < 0)
				bms_die(BMS_EXIT_USAGE, "--board: '%s' is not a list of "
					      "boards 1 to 16 such as 1,2,3", optarg);
			break;
		case OPT_HOST:
			o.poll.host_base = (uint8_t)bms_opt_long(&cmd, "host-address",
								 optarg, 0x20, 0xf0);
			break;
		case 't':
			o.poll.timeout_ms = (int)bms_opt_long(&cmd, "timeout", optarg,
							      1, 60000);
			break;
		case 'r':
			o.poll.retries = (int)bms_opt_long(&cmd, "retries", optarg, 0, 10);
			break;
		case OPT_TENANT:
			o.tenant = optarg;
			break;
		case OPT_BACKOFF:
			o.backoff_max_ms = to_ms(bms_opt_double(&cmd, "backoff-max",
								optarg, 0.01, 86400));
			break;
		case OPT_LIST:
			list = 1;
			break;
		}
	}
	if (list) {
		if (optind < argc)
			bms_opt_usage(&cmd, "--list-ports takes no DEVICE");
		return list_ports();
	}
	if (optind == argc)
		bms_opt_usage(&cmd, "missing DEVICE");
	if (optind + 1 < argc)
		bms_opt_usage(&cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (bms_proto_boards(o.poll.proto) == 1 && (o.nboards > 1 || o.boards[0] != 1))
		bms_opt_usage(&cmd, "--board: %s boards answer at one address; "
			      "poll board 1", bms_proto_name(o.poll.proto));
	o.dev = argv[optind];
	if (bms_serial_check(o.dev, err, sizeof err) < 0 ||
	    bms_reader_check_ids(&o, err, sizeof err) < 0)
		bms_die(BMS_EXIT_USAGE, "%s", err);
	o.emit = emit;
	o.flush = flush;
	o.ctx = &out;
	bms_sig_install();
	bms_ndjson_out_init(&out, STDOUT_FILENO);
	switch (bms_reader_run(&o, err, sizeof err)) {
	case BMS_READER_OK:
		return BMS_EXIT_OK;
	case BMS_READER_HALTED:
		/* A reader that went away ends us quietly. */
		if (out.err == EPIPE)
			return BMS_EXIT_OK;
		bms_die(BMS_EXIT_FAIL, "cannot write to stdout: %s", strerror(out.err));
	default:
		bms_warn("%s", err);
		return BMS_EXIT_FAIL;
	}
}

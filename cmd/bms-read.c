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

#include "buf.h"
#include "exitcode.h"
#include "frames.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "poll.h"
#include "serial.h"
#include "sig.h"
#include "ts.h"

#define BACKOFF_START_MS 250
#define CONNECT_TIMEOUT_MS 3000
#define SLEEP_SLICE_MS 100	/* bounds how late a stop signal is seen */

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

struct board {
	struct bms_poll_meta meta;
	struct bms_poll_health health;
	char id[300];
};

struct reader {
	const char *dev;
	int baud;
	int64_t interval_ms;
	long count;
	int64_t backoff_max_ms;
	struct bms_poll_opts po;
	struct board boards[16];
	int nboards;
	struct bms_serial *port;
	int ever_open;		/* the port opened at least once */
	int any_ok;		/* a cycle was complete */
	char last_problem[300];	/* message of the last failed cycle */
	struct bms_ndjson_out out;
	struct bms_buf line;
	struct bms_poll_cycle cycle;
};

/* Seconds (>= 0) to whole milliseconds, rounded. */
static int64_t to_ms(double sec)
{
	return (int64_t)(sec * 1000 + 0.5);
}

/*
 * The poll's stop check, called after every wait.  A wait that finds
 * bytes ready returns without letting a pending stop signal in, so a
 * BMS that keeps talking would hide it: a zero-time bms_sig_poll lets
 * it in.
 */
static int on_stop(void *ctx)
{
	(void)ctx;
	if (!bms_sig_stopping())
		bms_sig_poll(NULL, 0, 0);
	return bms_sig_stopping();
}

static int parse_boards(const char *s, int *boards)
{
	int n = 0, seen[17] = { 0 };
	char *end;

	for (;;) {
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 1 || a > 16)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b > 16)
				return -1;
		}
		for (long k = a; k <= b; k++) {
			if (seen[k]++)
				return -1;
			boards[n++] = (int)k;
		}
		if (!*end)
			return n;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

/* The bms_id a device gets when --id is not given. */
static void default_id(const char *dev, char *out, size_t outsz)
{
	const char *p;
	size_t n;

	if (strncmp(dev, "tcp://", 6) == 0) {
		snprintf(out, outsz, "%s", dev + 6);
		return;
	}
	n = strlen(dev);
	while (n > 1 && dev[n - 1] == '/')
		n--;
	p = dev + n;
	while (p > dev && p[-1] != '/')
		p--;
	snprintf(out, outsz, "%.*s", (int)(dev + n - p), p);
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

/* Write out what is buffered; a reader that went away ends us quietly. */
static void flush_out(struct reader *r)
{
	if (bms_ndjson_flush(&r->out) == 0)
		return;
	if (r->out.err == EPIPE)
		exit(BMS_EXIT_OK);
	bms_die(BMS_EXIT_FAIL, "cannot write to stdout: %s", strerror(r->out.err));
}

static void put_line(struct reader *r)
{
	if (r->line.oom)
		bms_die(BMS_EXIT_FAIL, "out of memory");
	if (bms_ndjson_put(&r->out, r->line.p, r->line.len) < 0)
		flush_out(r);
	bms_buf_reset(&r->line);
}

/* Account a cycle of board b and report a change of state or reason. */
static void note(struct reader *r, struct board *b, int ok,
		 enum bms_poll_state state, const char *reason, const char *msg)
{
	char ts[BMS_TS_LEN + 1];

	if (!ok)
		snprintf(r->last_problem, sizeof r->last_problem, "%s", msg);
	if (!bms_poll_health_note(&b->health, ok, state, reason))
		return;
	bms_ts_now(ts);
	bms_poll_status_record(&r->line, &b->meta, ts, &b->health, msg);
	put_line(r);
}

static void outcome_message(const struct reader *r, const struct board *b,
			    enum bms_poll_outcome oc, char *msg, size_t msgsz)
{
	int n = b->meta.board;

	switch (oc) {
	case BMS_POLL_OK:
		snprintf(msg, msgsz, "board %d answers on '%s'", n, r->dev);
		break;
	case BMS_POLL_ASLEEP:
		snprintf(msg, msgsz, "board %d on '%s' echoes requests: the BMS is asleep",
			 n, r->dev);
		break;
	case BMS_POLL_GARBLED:
		if (r->cycle.overflow)
			snprintf(msg, msgsz, "board %d on '%s' sends more than one "
				 "poll can hold (%d bytes, %d exchanges): check baud "
				 "rate and wiring", n, r->dev, BMS_FRAMES_MAX_BYTES,
				 BMS_FRAMES_MAX_ELEMS);
		else
			snprintf(msg, msgsz, "board %d on '%s' sends no valid frame: "
				 "check baud rate and wiring", n, r->dev);
		break;
	case BMS_POLL_INCOMPLETE:
		snprintf(msg, msgsz, "board %d on '%s': no complete reply to %s",
			 n, r->dev, r->cycle.missing);
		break;
	case BMS_POLL_NO_REPLY:
		snprintf(msg, msgsz, "board %d on '%s' does not answer within %d ms: "
			 "check wiring, board number and host address", n, r->dev,
			 r->po.timeout_ms);
		break;
	default:
		snprintf(msg, msgsz, "%s", r->cycle.err);
		break;
	}
}

/* Poll every board once; returns 0, or -1 when the port went away. */
static int run_cycle(struct reader *r)
{
	char ts[BMS_TS_LEN + 1], msg[300];

	for (int i = 0; i < r->nboards; i++) {
		struct board *b = &r->boards[i];
		enum bms_poll_outcome oc;

		r->po.board = b->meta.board;
		r->po.cycle = b->health.streak;
		bms_ts_now(ts);
		oc = bms_poll_run(r->port, &r->po, &r->cycle);
		/* Whatever valid came is kept, complete or not. */
		if (r->cycle.nvalid > 0) {
			bms_poll_frames_record(&r->line, &b->meta, ts, &r->cycle);
			put_line(r);
		}
		if (oc == BMS_POLL_OK)
			r->any_ok = 1;
		outcome_message(r, b, oc, msg, sizeof msg);
		note(r, b, oc == BMS_POLL_OK, bms_poll_outcome_state(oc),
		     bms_poll_outcome_name(oc), msg);
		if (oc == BMS_POLL_DEVICE_GONE) {
			/* The port is shared: every board lost it. */
			for (int k = 0; k < r->nboards; k++)
				if (k != i)
					note(r, &r->boards[k], 0, BMS_POLL_DISCONNECTED,
					     "device_gone", msg);
			flush_out(r);
			bms_serial_close(r->port);
			r->port = NULL;
			return -1;
		}
		flush_out(r);
		if (bms_sig_stopping())
			break;
	}
	return 0;
}

/* Try to open the port; on failure report it for every board. */
static int open_port(struct reader *r)
{
	char err[300];
	const char *reason;

	if (bms_serial_open(r->dev, r->baud, CONNECT_TIMEOUT_MS, &r->port, err,
			    sizeof err) == 0) {
		r->ever_open = 1;
		return 0;
	}
	reason = r->ever_open ? "device_gone" : "open_failed";
	for (int i = 0; i < r->nboards; i++)
		note(r, &r->boards[i], 0, BMS_POLL_DISCONNECTED, reason, err);
	flush_out(r);
	return -1;
}

static void wait_until(int64_t t)
{
	int64_t left;

	while (!bms_sig_stopping() && (left = t - bms_ts_mono_ms()) > 0)
		bms_ts_sleep_ms(left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS);
}

static int run(struct reader *r)
{
	int64_t base = bms_ts_mono_ms(), next = base, backoff = BACKOFF_START_MS;
	long slot = 0, k = 0;

	if (backoff > r->backoff_max_ms)
		backoff = r->backoff_max_ms;
	while (!bms_sig_stopping() && (r->count == 0 || slot < r->count)) {
		wait_until(next);
		if (bms_sig_stopping())
			break;
		slot++;
		if ((!r->port && open_port(r) < 0) || run_cycle(r) < 0) {
			/* No port: try again after the backoff, which doubles
			 * up to its maximum; the schedule restarts from there. */
			next = bms_ts_mono_ms() + backoff;
			backoff = backoff * 2 < r->backoff_max_ms ? backoff * 2
								  : r->backoff_max_ms;
			base = next;
			k = 0;
			continue;
		}
		backoff = BACKOFF_START_MS < r->backoff_max_ms ? BACKOFF_START_MS
							       : r->backoff_max_ms;
		/* Cycles start on a fixed grid; an overrun skips to the next
		 * slot rather than drifting or bursting. */
		if (r->interval_ms == 0) {
			next = bms_ts_mono_ms();
		} else {
			int64_t now = bms_ts_mono_ms();

			k++;
			if (base + k * r->interval_ms <= now)
				k = (now - base) / r->interval_ms + 1;
			next = base + k * r->interval_ms;
		}
	}
	flush_out(r);
	bms_serial_close(r->port);
	r->port = NULL;
	if (r->count && !bms_sig_stopping() && !r->any_ok) {
		bms_warn("%s", r->last_problem[0] ? r->last_problem
			 : "no complete poll");
		return BMS_EXIT_FAIL;
	}
	return BMS_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct reader r;
	const char *id = NULL, *tenant = NULL, *proto = "daly";
	int boards[16] = { 1 }, nboards = 1, list = 0, c;
	char idbuf[256];

	bms_msg_prog(argv[0]);
	r.baud = 9600;
	r.interval_ms = 1000;
	r.backoff_max_ms = 30000;
	r.po.proto = BMS_POLL_DALY;
	r.po.host_base = 0x40;
	r.po.timeout_ms = 500;
	r.po.retries = 2;
	r.po.stopping = on_stop;
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'p':
			if (strcmp(optarg, "daly") == 0)
				r.po.proto = BMS_POLL_DALY;
			else if (strcmp(optarg, "daly-modbus") == 0)
				r.po.proto = BMS_POLL_DALY_MODBUS;
			else
				bms_die(BMS_EXIT_USAGE, "--proto: '%s' is not daly or daly-modbus",
					      optarg);
			break;
		case 'b':
			r.baud = (int)bms_opt_long(&cmd, "baud", optarg, 1, 4000000);
			if (!bms_serial_baud_ok(r.baud))
				bms_die(BMS_EXIT_USAGE, "--baud: %d is not a standard rate "
					      "from 1200 to 921600", r.baud);
			break;
		case 'i':
			r.interval_ms = to_ms(bms_opt_double(&cmd, "interval", optarg,
							     0, 86400));
			break;
		case 'n':
			r.count = bms_opt_long(&cmd, "count", optarg, 0, LONG_MAX);
			break;
		case OPT_ID:
			if (!*optarg)
				bms_die(BMS_EXIT_USAGE, "--id: must not be empty");
			id = optarg;
			break;
		case 'a':
			nboards = parse_boards(optarg, boards);
			if (nboards < 0)
				bms_die(BMS_EXIT_USAGE, "--board: '%s' is not a list of "
					      "boards 1 to 16 such as 1,2,3", optarg);
			break;
		case OPT_HOST:
			r.po.host_base = (uint8_t)bms_opt_long(&cmd, "host-address",
							       optarg, 0x20, 0xf0);
			break;
		case 't':
			r.po.timeout_ms = (int)bms_opt_long(&cmd, "timeout", optarg,
							    1, 60000);
			break;
		case 'r':
			r.po.retries = (int)bms_opt_long(&cmd, "retries", optarg, 0, 10);
			break;
		case OPT_TENANT:
			tenant = optarg;
			break;
		case OPT_BACKOFF:
			r.backoff_max_ms = to_ms(bms_opt_double(&cmd, "backoff-max",
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
	if (r.po.proto == BMS_POLL_DALY_MODBUS && (nboards > 1 || boards[0] != 1))
		bms_opt_usage(&cmd, "--board: daly-modbus boards answer at one address; "
			      "poll board 1");
	r.dev = argv[optind];
	if (!id) {
		default_id(r.dev, idbuf, sizeof idbuf);
		id = idbuf;
	}
	proto = bms_poll_proto_name(r.po.proto);
	r.nboards = nboards;
	for (int i = 0; i < nboards; i++) {
		struct board *b = &r.boards[i];

		if (nboards > 1)
			snprintf(b->id, sizeof b->id, "%s-%d", id, boards[i]);
		else
			snprintf(b->id, sizeof b->id, "%s", id);
		b->meta.bms_id = b->id;
		b->meta.tenant = tenant;
		b->meta.proto = proto;
		b->meta.transport = strncmp(r.dev, "tcp://", 6) == 0 ? "tcp" : "uart";
		b->meta.board = boards[i];
	}
	bms_sig_install();
	bms_ndjson_out_init(&r.out, STDOUT_FILENO);
	c = run(&r);
	bms_poll_free(&r.cycle);
	bms_buf_free(&r.line);
	return c;
}

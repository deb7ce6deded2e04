/* SPDX-License-Identifier: MIT */
/*
 * bms-sim: a Daly BMS simulator on a pseudo-terminal, a TCP port or
 * standard I/O.  See bms-sim(1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "hex.h"
#include "msg.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "sig.h"
#include "sim.h"
#include "simio.h"
#include "ts.h"

enum {
	OPT_PTY = 256, OPT_LINK, OPT_TCP, OPT_STDIO, OPT_BOARDS, OPT_CELLS,
	OPT_TEMPS, OPT_CHEM, OPT_CAPACITY, OPT_SOC, OPT_CURRENT, OPT_PROFILE,
	OPT_CYCLES, OPT_SPEED, OPT_SEED, OPT_BAUD, OPT_PACE, OPT_LATENCY,
	OPT_FAULT, OPT_DELAY, OPT_VANISH, OPT_SOH, OPT_WEAK, OPT_DRIFT, OPT_DEAD,
	OPT_FREEZE, OPT_TICK,
};

static const struct option longopts[] = {
	{ "pty", no_argument, 0, OPT_PTY },
	{ "link", required_argument, 0, OPT_LINK },
	{ "tcp", required_argument, 0, OPT_TCP },
	{ "stdio", no_argument, 0, OPT_STDIO },
	{ "proto", required_argument, 0, 'p' },
	{ "boards", required_argument, 0, OPT_BOARDS },
	{ "cells", required_argument, 0, OPT_CELLS },
	{ "temps", required_argument, 0, OPT_TEMPS },
	{ "chemistry", required_argument, 0, OPT_CHEM },
	{ "capacity", required_argument, 0, OPT_CAPACITY },
	{ "soc", required_argument, 0, OPT_SOC },
	{ "current", required_argument, 0, OPT_CURRENT },
	{ "profile", required_argument, 0, OPT_PROFILE },
	{ "cycles", required_argument, 0, OPT_CYCLES },
	{ "soh", required_argument, 0, OPT_SOH },
	{ "weak-cell", required_argument, 0, OPT_WEAK },
	{ "drift-cell", required_argument, 0, OPT_DRIFT },
	{ "dead-probe", required_argument, 0, OPT_DEAD },
	{ "freeze-after", required_argument, 0, OPT_FREEZE },
	{ "speed", required_argument, 0, OPT_SPEED },
	{ "tick", required_argument, 0, OPT_TICK },
	{ "seed", required_argument, 0, OPT_SEED },
	{ "baud", required_argument, 0, OPT_BAUD },
	{ "pace", no_argument, 0, OPT_PACE },
	{ "latency", required_argument, 0, OPT_LATENCY },
	{ "fault", required_argument, 0, OPT_FAULT },
	{ "delay", required_argument, 0, OPT_DELAY },
	{ "vanish-time", required_argument, 0, OPT_VANISH },
	{ "quiet", no_argument, 0, 'q' },
	{ "verbose", no_argument, 0, 'v' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-sim [--pty [--link path] | --tcp [host:]port | --stdio] [options]",
	.help =
	"  --pty                serve a pseudo-terminal, print its path (default)\n"
	"  --link PATH          with --pty: keep PATH a symbolic link to it\n"
	"  --tcp [HOST:]PORT    listen on TCP (host 127.0.0.1; port 0 picks one)\n"
	"  --stdio              requests on stdin, replies on stdout\n"
	"  -p, --proto PROTO    daly (A5, default) or daly-modbus (D2)\n"
	"  --boards N           boards on the RS485 bus, 1..16 (default 1)\n"
	"  --cells N            cells in series, 1..48 (default 16)\n"
	"  --temps N            temperature probes, 1..16 (default 2)\n"
	"  --chemistry CHEM     lfp, nmc or lto (default lfp)\n"
	"  --capacity AH        rated capacity (default 280)\n"
	"  --soc PCT            state of charge at the start (default 78.5)\n"
	"  --current A          constant current, + charging (default 12.5)\n"
	"  --profile A:S,...    repeating current profile instead of --current\n"
	"  --cycles N           cycle count at the start (default 42)\n"
	"  --soh PCT            the cells hold PCT % of --capacity (default 100)\n"
	"  --weak-cell N:PCT    cell N holds PCT % of the others' charge (repeatable)\n"
	"  --drift-cell N:MV_PER_HOUR[@START]\n"
	"                       cell N's voltage departs steadily from model second\n"
	"                       START on (default 0; repeatable)\n"
	"  --dead-probe N[@START]\n"
	"                       probe N reads as a failed sensor from model second\n"
	"                       START on (default 0; repeatable)\n"
	"  --freeze-after S     from model second S on, replay the last answer to\n"
	"                       each request bit for bit\n"
	"  --speed X            model time runs X times real time, 0 freezes (default 1)\n"
	"  --tick S             model time advances S seconds per poll, not with\n"
	"                       the clock\n"
	"  --seed N             seed of the random fault bytes (default 1)\n"
	"  --baud N             line speed for --pace (default 9600)\n"
	"  --pace               answer and send at wire speed\n"
	"  --latency MS         wait before every reply (default 0)\n"
	"  --fault NAME[:EVERY] inject a fault on every EVERY-th event (repeatable)\n"
	"  --delay MS           length of the delay fault (default 800)\n"
	"  --vanish-time MS     length of the vanish fault (default 1500)\n"
	"  -q, --quiet          no warnings\n"
	"  -v, --verbose        log every request and reply on stderr\n",
	.shortopts = "p:qv",
	.longopts = longopts,
};

struct opts {
	struct bms_sim_cfg sim;
	enum bms_simio_kind transport;
	int ntransports;
	const char *link;
	const char *tcp;
	struct bms_net_hostport listen;	/* --tcp, parsed */
	int speed_given;
	int quiet, verbose;
};

static void parse(int argc, char **argv, struct opts *o)
{
	char err[256];
	int c;

	memset(o, 0, sizeof *o);
	bms_sim_defaults(&o->sim);
	o->transport = BMS_SIMIO_PTY;
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case OPT_PTY:
			o->transport = BMS_SIMIO_PTY;
			o->ntransports++;
			break;
		case OPT_LINK:
			o->link = optarg;
			break;
		case OPT_TCP:
			o->transport = BMS_SIMIO_TCP;
			o->tcp = optarg;
			o->ntransports++;
			break;
		case OPT_STDIO:
			o->transport = BMS_SIMIO_STDIO;
			o->ntransports++;
			break;
		case 'p':
			o->sim.proto = bms_opt_word(&cmd, "proto", optarg, bms_proto_names);
			break;
		case OPT_BOARDS:
			o->sim.boards = (int)bms_opt_long(&cmd, "boards", optarg, 1, BMS_SIM_MAX_BOARDS);
			break;
		case OPT_CELLS:
			o->sim.model.cells = (int)bms_opt_long(&cmd, "cells", optarg, 1,
							   BMS_SIMMODEL_MAX_CELLS);
			break;
		case OPT_TEMPS:
			o->sim.model.temps = (int)bms_opt_long(&cmd, "temps", optarg, 1,
							   BMS_SIMMODEL_MAX_TEMPS);
			break;
		case OPT_CHEM:
			if (bms_simmodel_chem_parse(optarg, &o->sim.model.chem) < 0)
				bms_die(BMS_EXIT_USAGE, "--chemistry: '%s' is not lfp, nmc or lto",
					optarg);
			break;
		case OPT_CAPACITY:
			o->sim.model.capacity = bms_opt_double(&cmd, "capacity", optarg, 0.1, 6500);
			break;
		case OPT_SOC:
			o->sim.model.soc = bms_opt_double(&cmd, "soc", optarg, 0, 100);
			break;
		case OPT_CURRENT:
			o->sim.model.current = bms_opt_double(&cmd, "current", optarg, -3000, 3000);
			break;
		case OPT_PROFILE:
			if (bms_simmodel_profile_parse(optarg, &o->sim.model, err,
						       sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--profile: '%s': %s", optarg, err);
			break;
		case OPT_CYCLES:
			o->sim.model.cycles = bms_opt_long(&cmd, "cycles", optarg, 0, 65535);
			break;
		case OPT_SPEED:
			o->sim.speed = bms_opt_double(&cmd, "speed", optarg, 0, 1e6);
			o->speed_given = 1;
			break;
		case OPT_TICK:
			o->sim.tick = bms_opt_double(&cmd, "tick", optarg, 0.001, 1e9);
			break;
		case OPT_SOH:
			o->sim.model.soh = bms_opt_double(&cmd, "soh", optarg, 1, 100);
			break;
		case OPT_WEAK:
			if (bms_simmodel_weak_parse(optarg, &o->sim.model, err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--weak-cell: '%s': %s", optarg, err);
			break;
		case OPT_DRIFT:
			if (bms_simmodel_drift_parse(optarg, &o->sim.model, err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--drift-cell: '%s': %s", optarg, err);
			break;
		case OPT_DEAD:
			if (bms_simmodel_dead_parse(optarg, &o->sim.model, err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--dead-probe: '%s': %s", optarg, err);
			break;
		case OPT_FREEZE:
			if (bms_simmodel_time_parse(optarg, &o->sim.freeze_at) < 0)
				bms_die(BMS_EXIT_USAGE,
					"--freeze-after: '%s' is not model seconds from 0 to 1e9",
					optarg);
			break;
		case OPT_SEED:
			o->sim.seed = (uint64_t)bms_opt_long(&cmd, "seed", optarg, 0, 2147483647);
			break;
		case OPT_BAUD:
			o->sim.baud = (int)bms_opt_long(&cmd, "baud", optarg, 300, 4000000);
			break;
		case OPT_PACE:
			o->sim.pace = true;
			break;
		case OPT_LATENCY:
			o->sim.latency_ms = (int)bms_opt_long(&cmd, "latency", optarg, 0, 600000);
			break;
		case OPT_FAULT:
			if (o->sim.nfaults == BMS_SIM_MAX_FAULTS)
				bms_die(BMS_EXIT_USAGE, "--fault: at most %d faults",
					BMS_SIM_MAX_FAULTS);
			if (bms_sim_fault_parse(optarg, &o->sim.faults[o->sim.nfaults],
						err, sizeof err) < 0)
				bms_die(BMS_EXIT_USAGE, "--fault: %s", err);
			o->sim.nfaults++;
			break;
		case OPT_DELAY:
			o->sim.delay_ms = (int)bms_opt_long(&cmd, "delay", optarg, 0, 600000);
			break;
		case OPT_VANISH:
			o->sim.vanish_ms = (int)bms_opt_long(&cmd, "vanish-time", optarg, 0, 600000);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		}
	}
	if (optind < argc)
		bms_opt_usage(&cmd, "unexpected argument '%s'", argv[optind]);
	if (o->ntransports > 1)
		bms_die(BMS_EXIT_USAGE, "give only one of --pty, --tcp and --stdio");
	if (o->link && o->transport != BMS_SIMIO_PTY)
		bms_die(BMS_EXIT_USAGE, "--link goes with --pty only");
	if (o->sim.boards > bms_proto_boards(o->sim.proto)) {
		if (bms_proto_boards(o->sim.proto) == 1)
			bms_die(BMS_EXIT_USAGE, "--boards: a %s bus has one board",
				bms_proto_name(o->sim.proto));
		bms_die(BMS_EXIT_USAGE, "--boards: a %s bus has at most %d boards",
			bms_proto_name(o->sim.proto), bms_proto_boards(o->sim.proto));
	}
	if (o->speed_given && o->sim.tick > 0)
		bms_die(BMS_EXIT_USAGE, "give only one of --speed and --tick");
	if (bms_simmodel_check(&o->sim.model, err, sizeof err) < 0)
		bms_die(BMS_EXIT_USAGE, "%s", err);
	if (o->tcp && bms_net_parse(o->tcp, BMS_NET_LOOPBACK, 0, &o->listen, err,
				    sizeof err) < 0)
		bms_die(BMS_EXIT_USAGE, "--tcp: %s", err);
}

/* -v: one line per request, "rx HEX tx HEX|none [faults]". */
static void log_step(const struct bms_sim_out *out)
{
	char hex[2 * BMS_SIM_OUT_MAX + 1];
	const char *sep = " [";

	bms_hex_encode(out->req, out->reqlen, hex);
	fprintf(stderr, "%s: rx %s", bms_msg_name(), hex);
	if (out->vanish_ms > 0) {
		fputs(" tx none", stderr);
	} else if (out->len > 0) {
		bms_hex_encode(out->buf, out->len, hex);
		fprintf(stderr, " tx %s", hex);
	} else {
		fputs(" tx none", stderr);
	}
	for (int k = 0; k < BMS_SIM_F_COUNT; k++)
		if (out->faults & 1u << k) {
			fprintf(stderr, "%s%s", sep, bms_sim_fault_name(k));
			sep = ",";
		}
	if (out->replay)
		fprintf(stderr, "%sreplay", sep), sep = ",";
	fputs(*sep == ',' ? "]\n" : "\n", stderr);
}

/*
 * Print where the device is, for the user and for scripts: a
 * BMS_SIMIO_* code.  Written past stdio so that the wait for room is a
 * stop point like any other (simio.h).
 */
static int announce(const struct bms_simio *io, char *err, size_t errsz)
{
	char line[sizeof io->where + 1];
	int n;

	if (!io->where[0])
		return BMS_SIMIO_OK;
	n = snprintf(line, sizeof line, "%s\n", io->where);
	return bms_simio_write_fd(1, line, (size_t)n, "standard output", err, errsz);
}

static int serve(struct bms_sim *sim, struct bms_simio *io, const struct opts *o)
{
	static struct bms_sim_out out;
	uint8_t buf[512];
	char err[256];
	size_t n;
	int rc;

	for (;;) {
		rc = bms_simio_read(io, buf, sizeof buf, &n, 250, err, sizeof err);
		if (rc == BMS_SIMIO_NEW)
			bms_sim_reset(sim);
		if (rc == BMS_SIMIO_END || rc == BMS_SIMIO_STOP)
			return BMS_EXIT_OK;
		if (rc == BMS_SIMIO_ERR)
			break;
		bms_sim_feed(sim, buf, n, bms_ts_mono_ms());
		while (bms_sim_step(sim, bms_ts_mono_ms(), &out)) {
			if (o->verbose)
				log_step(&out);
			if (out.vanish_ms > 0) {
				if (!o->quiet)
					bms_warn("the device vanishes for %d ms", out.vanish_ms);
				rc = bms_simio_vanish(io, out.vanish_ms, err, sizeof err);
				if (rc == BMS_SIMIO_OK && io->kind == BMS_SIMIO_PTY) {
					rc = announce(io, err, sizeof err);
					if (rc == BMS_SIMIO_END || rc == BMS_SIMIO_ERR) {
						/* Only the path is lost: serve on. */
						if (!o->quiet)
							bms_warn("%s", err);
						rc = BMS_SIMIO_OK;
					}
				}
				bms_sim_reset(sim);
			} else {
				rc = bms_simio_send(io, &out, err, sizeof err);
			}
			if (rc == BMS_SIMIO_NEW)
				bms_sim_reset(sim);
			if (rc == BMS_SIMIO_END || rc == BMS_SIMIO_STOP)
				return BMS_EXIT_OK;
			if (rc == BMS_SIMIO_ERR)
				break;
		}
		if (rc == BMS_SIMIO_ERR)
			break;
	}
	bms_warn("%s", err);
	return BMS_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct bms_simio io;
	struct bms_sim *sim;
	struct opts o;
	char err[256];
	int rc;

	bms_msg_prog(argv[0]);
	parse(argc, argv, &o);
	bms_sig_install();
	sim = bms_sim_new(&o.sim);
	if (!sim)
		bms_die(BMS_EXIT_FAIL, "out of memory");
	switch (o.transport) {
	case BMS_SIMIO_TCP:
		rc = bms_simio_open_tcp(&io, &o.listen, err, sizeof err);
		break;
	case BMS_SIMIO_STDIO:
		rc = bms_simio_open_stdio(&io);
		break;
	default:
		rc = bms_simio_open_pty(&io, o.link, err, sizeof err);
		break;
	}
	if (rc != BMS_SIMIO_OK)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	rc = announce(&io, err, sizeof err);
	if (rc == BMS_SIMIO_END || rc == BMS_SIMIO_ERR) {
		bms_simio_close(&io);
		bms_die(BMS_EXIT_FAIL, "%s", err);
	}
	rc = rc == BMS_SIMIO_STOP ? BMS_EXIT_OK : serve(sim, &io, &o);
	bms_simio_close(&io);
	bms_sim_free(sim);
	return rc;
}

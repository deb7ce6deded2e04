/* SPDX-License-Identifier: MIT */
/*
 * bms-serve: the store's API over HTTP (lib/serve.h on lib/http.h),
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exitcode.h"
#include "http.h"
#include "jwt.h"
#include "live.h"
#include "msg.h"
#include "opt.h"
#include "serve.h"
#include "sig.h"

static const struct option longopts[] = {
	{ "db", required_argument, 0, 'd' },
	{ "listen", required_argument, 0, 'l' },
	{ "threads", required_argument, 0, 't' },
	{ "access-log", required_argument, 0, 'a' },
	{ "cors-origin", required_argument, 0, 'o' },
	{ "config", required_argument, 0, 'c' },
	{ "jwt-secret", required_argument, 0, 's' },
	{ "access-ttl", required_argument, 0, 'A' },
	{ "live-max", required_argument, 0, 'L' },
	{ "web", required_argument, 0, 'w' },
	{ "tls-cert", required_argument, 0, 'C' },
	{ "tls-key", required_argument, 0, 'K' },
	{ "live-backlog", required_argument, 0, 'B' },
	BMS_OPT_COMMON
};

static const struct bms_cmd cmd = {
	.synopsis = "bms-serve --db dir [-l host:port ...] [--threads n] [--access-log file] "
		    "[--cors-origin origin] [--jwt-secret file] [--access-ttl dur] [--live-max n] [--live-backlog n] "
		    "[--tls-cert file [--tls-key file]] [--web dir] [-c file]",
	.help =
	"Serve the store's API over HTTP until SIGINT or SIGTERM.\n\n"
	"      --db DIR            the store (bms-store init)\n"
	"  -l, --listen ADDR       HOST:PORT to listen on, again for more (default\n"
	"                          127.0.0.1:8080; port 0 picks one)\n"
	"      --threads N         worker threads (default twice the cores, 4..32)\n"
	"      --access-log FILE   log each request to FILE\n"
	"      --cors-origin URL   the one origin browsers may call the API from\n"
	"      --web DIR           the dashboard's files (default: installed with it;\n"
	"                          --web '' for none)\n"
	"      --tls-cert FILE     serve HTTPS only, with this PEM certificate (chain)\n"
	"      --tls-key FILE      its PEM private key (default: in the --tls-cert file)\n"
	"      --jwt-secret FILE   the key of the access tokens (default DIR/jwt.secret,\n"
	"                          made on first run)\n"
	"      --access-ttl DUR    an access token's life (default 15m)\n"
	"      --live-max N        WebSockets open at once (default 128)\n"
	"      --live-backlog N    messages a live client may fall behind before it is\n"
	"                          dropped (default 1024)\n"
	"  -c, --config FILE       [serve] settings (options win)\n",
	.shortopts = "l:c:",
	.longopts = longopts,
};

/* share/openapi.json, made into a string by make. */
extern const char bms_openapi[];
extern const size_t bms_openapi_len;

static const struct bms_config_key keys[] = {
	{ .section = "serve", .key = "db", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "listen", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "threads", .type = BMS_CONFIG_INTEGER, .min = 1, .max = 256 },
	{ .section = "serve", .key = "access_log", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "cors_origin", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "web", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "tls_cert", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "tls_key", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "jwt_secret", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "live_max", .type = BMS_CONFIG_INTEGER, .min = 1, .max = 4096 },
	{ .section = "serve", .key = "live_backlog", .type = BMS_CONFIG_INTEGER, .min = 1,
	  .max = 65536 },
};

int main(int argc, char **argv)
{
	static const char *listen[BMS_HTTP_MAX_LISTEN];
	static char lbuf[1024];
	struct bms_serve sv = { 0 };
	struct bms_http_opts ho = {
		.listen = listen, .routes = bms_serve_routes, .nroutes = bms_serve_nroutes,
		.ctx = &sv, .thread_init = bms_serve_thread_init,
		.thread_exit = bms_serve_thread_exit,
	};
	struct bms_live_opts lo = { 0 };
	struct bms_http_ws ws;
	struct bms_config *cfg = NULL;
	struct bms_live *live;
	struct bms_http *h;
	const char *config = NULL, *where, *secret = NULL;
	char err[512], defsecret[4096];
	int c, live_max = 0;

	bms_msg_prog(argv[0]);
	sv.openapi = bms_openapi;
	sv.openapi_len = bms_openapi_len;
	while ((c = bms_opt_next(argc, argv, &cmd)) != -1) {
		switch (c) {
		case 'd': sv.db = optarg; break;
		case 'l':
			if (ho.nlisten == BMS_HTTP_MAX_LISTEN)
				bms_opt_usage(&cmd, "--listen: at most %d addresses", BMS_HTTP_MAX_LISTEN);
			listen[ho.nlisten++] = optarg;
			break;
		case 't': ho.threads = (int)bms_opt_long(&cmd, "threads", optarg, 1, 256); break;
		case 'a': ho.access_log = optarg; break;
		case 'o': ho.cors_origin = optarg; break;
		case 'c': config = optarg; break;
		case 'w': ho.web_root = optarg; break;
		case 'C': ho.tls_cert = optarg; break;
		case 'K': ho.tls_key = optarg; break;
		case 's': secret = optarg; break;
		case 'B': lo.backlog = (int)bms_opt_long(&cmd, "live-backlog", optarg, 1, 65536); break;
		case 'L': live_max = (int)bms_opt_long(&cmd, "live-max", optarg, 1, 4096); break;
		case 'A': {
			int64_t ms;

			if (bms_config_duration(optarg, &ms) < 0 || ms < 1000 || ms > 86400000)
				bms_opt_usage(&cmd, "--access-ttl: '%s' is not a duration from 1s to 1d",
					      optarg);
			sv.access_ttl_s = ms / 1000;
			break;
		}
		}
	}
	if (optind < argc)
		bms_opt_usage(&cmd, "unexpected argument '%s'", argv[optind]);
	if (config) {
		const char *s;

		if (!(cfg = bms_config_new(keys, sizeof keys / sizeof keys[0])))
			bms_die(BMS_EXIT_FAIL, "out of memory");
		if (bms_config_load(cfg, config, err, sizeof err) < 0)
			bms_die(BMS_EXIT_USAGE, "%s", err);
		if (!sv.db)
			sv.db = bms_config_str(cfg, "serve", NULL, "db");
		if (!ho.nlisten && (s = bms_config_str(cfg, "serve", NULL, "listen"))) {
			snprintf(lbuf, sizeof lbuf, "%s", s);
			for (char *save = NULL, *t = strtok_r(lbuf, " ,", &save);
			     t && ho.nlisten < BMS_HTTP_MAX_LISTEN; t = strtok_r(NULL, " ,", &save))
				listen[ho.nlisten++] = t;
		}
		if (!ho.threads)
			ho.threads = (int)bms_config_int(cfg, "serve", NULL, "threads");
		if (!ho.access_log)
			ho.access_log = bms_config_str(cfg, "serve", NULL, "access_log");
		if (!ho.cors_origin)
			ho.cors_origin = bms_config_str(cfg, "serve", NULL, "cors_origin");
		if (!ho.web_root)
			ho.web_root = bms_config_str(cfg, "serve", NULL, "web");
		if (!ho.tls_cert)
			ho.tls_cert = bms_config_str(cfg, "serve", NULL, "tls_cert");
		if (!ho.tls_key)
			ho.tls_key = bms_config_str(cfg, "serve", NULL, "tls_key");
		if (!secret)
			secret = bms_config_str(cfg, "serve", NULL, "jwt_secret");
		if (!live_max)
			live_max = (int)bms_config_int(cfg, "serve", NULL, "live_max");
		if (!lo.backlog)
			lo.backlog = (int)bms_config_int(cfg, "serve", NULL, "live_backlog");
	}
	if (!sv.db)
		bms_opt_usage(&cmd, "give the store with --db DIR");
	/* The dashboard installed with the programs, when it is there. */
	if (!ho.web_root && access(BMS_DATADIR "/web/index.html", R_OK) == 0)
		ho.web_root = BMS_DATADIR "/web";
	if (ho.web_root && !ho.web_root[0])
		ho.web_root = NULL;
	if (ho.tls_key && !ho.tls_cert)
		bms_opt_usage(&cmd, "--tls-key wants --tls-cert");
	if (access(sv.db, R_OK | X_OK) < 0)
		bms_die(BMS_EXIT_FAIL, "cannot read the store '%s': %s", sv.db, strerror(errno));
	if (!secret) {
		snprintf(defsecret, sizeof defsecret, "%s/jwt.secret", sv.db);
		secret = defsecret;
	}
	if (bms_jwt_secret_load(secret, sv.secret, sizeof sv.secret, &sv.secret_len, err,
				sizeof err) < 0)
		bms_die(BMS_EXIT_FAIL, "%s", err);
	sv.by_addr = bms_backoff_new(1024);
	sv.by_account = bms_backoff_new(1024);
	if (!sv.by_addr || !sv.by_account)
		bms_die(BMS_EXIT_FAIL, "out of memory");
	lo.warn = bms_warn;
	if (!(live = bms_live_new(&sv, &lo)))
		bms_die(BMS_EXIT_FAIL, "out of memory");
	bms_live_endpoint(live, &ws);
	ws.max = live_max;
	ho.ws = &ws;
	bms_sig_install();
	if (bms_http_start(&h, &ho, err, sizeof err) < 0)
		bms_die(strncmp(err, "--listen", 8) == 0 ? BMS_EXIT_USAGE : BMS_EXIT_FAIL, "%s", err);
	for (int i = 0; (where = bms_http_where(h, i)); i++)
		bms_warn("listening on %s", where);
	while (!bms_sig_stopping())
		bms_sig_poll(NULL, 0, -1);
	bms_live_stop(live);
	bms_http_stop(h);
	bms_live_free(live);
	bms_backoff_free(sv.by_addr);
	bms_backoff_free(sv.by_account);
	bms_config_free(cfg);
	return BMS_EXIT_OK;
}

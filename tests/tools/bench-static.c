/* SPDX-License-Identifier: MIT */
/*
 * bench-static DIR [PORT [THREADS [keep-alive|close]]]: civetweb serving
 * the files of DIR on 127.0.0.1, the peer make bench measures bms-serve
 * against.  PORT 0 (the default) picks a free one; the real port is
 * printed as a line on stdout once it listens.  THREADS is civetweb's
 * worker threads, by default twice the cores from 4 to 32; keep-alive
 * keeps a client's connection open between requests (2 s when idle),
 * close (the default, civetweb's) ends it after each answer.  make bench
 * gives the thread count and the connection handling bms-serve has.
 * Runs until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

static int quiet(const struct mg_connection *c, const char *msg)
{
	return 1;
}

/* A whole number from lo to hi, or -1. */
static long number(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= lo && v <= hi ? v : -1;
}

int main(int argc, char **argv)
{
	struct mg_callbacks cb = { 0 };
	struct mg_server_port port;
	struct mg_context *mg;
	char listen[32], threads[16];
	const char *opts[16];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int k = 0, n, sig;
	sigset_t set;

	if (argc < 2 || argc > 5 || (argc > 2 && number(argv[2], 0, 65535) < 0) ||
	    (argc > 3 && number(argv[3], 1, 1024) < 0) ||
	    (argc > 4 && strcmp(argv[4], "keep-alive") != 0 && strcmp(argv[4], "close") != 0)) {
		fprintf(stderr, "usage: bench-static DIR [PORT [THREADS [keep-alive|close]]]\n");
		return 2;
	}
	n = cores > 0 ? (int)(2 * cores) : 4;
	n = n < 4 ? 4 : n > 32 ? 32 : n;
	if (argc > 3)
		n = (int)number(argv[3], 1, 1024);
	snprintf(listen, sizeof listen, "127.0.0.1:%ld", argc > 2 ? number(argv[2], 0, 65535) : 0);
	snprintf(threads, sizeof threads, "%d", n);
	opts[k++] = "document_root", opts[k++] = argv[1];
	opts[k++] = "listening_ports", opts[k++] = listen;
	opts[k++] = "num_threads", opts[k++] = threads;
	opts[k++] = "enable_directory_listing", opts[k++] = "no";
	opts[k++] = "tcp_nodelay", opts[k++] = "1";	/* as bms-serve */
	if (argc > 4 && strcmp(argv[4], "keep-alive") == 0) {
		opts[k++] = "enable_keep_alive", opts[k++] = "yes";
		opts[k++] = "keep_alive_timeout_ms", opts[k++] = "2000";
	}
	opts[k] = NULL;
	cb.log_message = quiet;
	/* Block the signals before civetweb's threads start, so that they
	 * inherit the mask and only sigwait below takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	mg_init_library(0);
	if (!(mg = mg_start(&cb, NULL, opts))) {
		fprintf(stderr, "bench-static: cannot listen on %s\n", listen);
		return 1;
	}
	if (mg_get_server_ports(mg, 1, &port) < 1) {
		fprintf(stderr, "bench-static: no port\n");
		mg_stop(mg);
		return 1;
	}
	printf("%d\n", port.port);
	fflush(stdout);
	sigwait(&set, &sig);
	mg_stop(mg);
	mg_exit_library();
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/filter.c, the loop every stage runs on, driven
 * directly on real files and pipes: rejects (the exact rejects file),
 * --strict, an over-long line, the flush when the input drains (through a
 * pipe the test writes), a held record, and a reader that went away;
 * and lib/sig's SIGHUP taken as a reload by a program that asks for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcode.h"
#include "filter.h"
#include "sha256.h"
#include "sig.h"
#include "unit.h"
#include "scratch.h"

/* The test stage: "bad..." is rejected, "two" becomes two records,
 * "hold" is held until the next drain, anything else passes. */
struct stage_ctx {
	int drains;
	int fail_drain;
};

static int test_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
		     char *why, size_t whysz)
{
	if (len >= 3 && memcmp(line, "bad", 3) == 0) {
		snprintf(why, whysz, "a \"bad\" line of %zu bytes", len);
		return BMS_FILTER_REJECT;
	}
	if (len == 3 && memcmp(line, "two", 3) == 0) {
		bms_filter_emit(f, "{\"n\":1}", 7);
		bms_filter_emit(f, "{\"n\":2}", 7);
		return BMS_FILTER_DONE;
	}
	if (len == 4 && memcmp(line, "hold", 4) == 0) {
		bms_filter_hold(f, line, len);
		return BMS_FILTER_DONE;
	}
	if (len == 4 && memcmp(line, "fail", 4) == 0) {
		snprintf(why, whysz, "the stage failed");
		return BMS_FILTER_FAIL;
	}
	return BMS_FILTER_PASS;
}

static int test_drained(void *ctx, struct bms_filter *f, char *why, size_t whysz)
{
	struct stage_ctx *c = ctx;

	c->drains++;
	if (c->fail_drain) {
		snprintf(why, whysz, "the drain failed");
		return -1;
	}
	bms_filter_release(f);
	return 0;
}

static int warns;
static char last_warn[256];

static void test_warn(void *ctx, const char *msg)
{
	warns++;
	snprintf(last_warn, sizeof last_warn, "%s", msg);
}

/* Run the loop on files, output to the file "out"; the status. */
static int run(char **files, int nfiles, const char *rejects, int strict,
	       struct stage_ctx *c)
{
	static struct bms_filter f;
	struct bms_filter_opts o = {
		.files = files, .nfiles = nfiles, .rejects = rejects, .strict = strict,
		.prog = "bms-test",
	};
	struct bms_filter_stage s = {
		.line = test_line, .drained = test_drained, .warn = test_warn, .ctx = c,
	};
	int rc;

	o.out_fd = open(scratch_path("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(o.out_fd >= 0);
	if (bms_filter_open(&f, &o) < 0) {
		close(o.out_fd);
		return -1;
	}
	rc = bms_filter_run(&f, &s);
	bms_filter_close(&f);
	close(o.out_fd);
	return rc;
}

static void test_rejects(void)
{
	struct stage_ctx c = { 0 };
	char *files[2] = { scratch_path("in"), scratch_path("nothere") };
	struct stat st;
	mode_t old;

	scratch_put("in", "{\"a\":1}\nbad one\n\ntwo\nbad\xff\nhold\nlast", 35);
	unlink(scratch_path("rej"));
	old = umask(022);
	CHECK_INT(run(files, 2, scratch_path("rej"), 0, &c), BMS_FILTER_EINPUT);
	umask(old);
	CHECK_STR(scratch_slurp("out", NULL), "{\"a\":1}\n{\"n\":1}\n{\"n\":2}\nhold\nlast\n");
	char want[1024];
	snprintf(want, sizeof want,
		 "{\"type\":\"reject\",\"reason\":\"a \\\"bad\\\" line of 7 bytes\",\"file\":\"%s\","
		 "\"lineno\":2,\"line\":\"bad one\"}\n"
		 "{\"type\":\"reject\",\"reason\":\"a \\\"bad\\\" line of 4 bytes\",\"file\":\"%s\","
		 "\"lineno\":5,\"line_hex\":\"626164ff\"}\n", scratch_path("in"), scratch_path("in"));
	CHECK_STR(scratch_slurp("rej", NULL), want);
	/* Created private, whatever the umask. */
	CHECK(stat(scratch_path("rej"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(warns, 1);
	CHECK(strstr(last_warn, "cannot open '") && strstr(last_warn, "nothere"));
	/* The regular file drains at its end, and the loop once more at its own. */
	CHECK_INT(c.drains, 2);
	CHECK_INT(bms_filter_exit(BMS_FILTER_EINPUT), BMS_EXIT_FAIL);
	CHECK_INT(bms_filter_exit(BMS_FILTER_OK), BMS_EXIT_OK);
	CHECK_INT(bms_filter_exit(BMS_FILTER_EFAIL), BMS_EXIT_FAIL);
}

static void test_strict(void)
{
	struct stage_ctx c = { 0 };
	char *files[1] = { scratch_path("in") };

	scratch_put("in", "one\nbad\nthree\n", 14);
	unlink(scratch_path("rej"));
	CHECK_INT(run(files, 1, scratch_path("rej"), 1, &c), BMS_FILTER_EREJECT);
	CHECK_INT(bms_filter_exit(BMS_FILTER_EREJECT), BMS_EXIT_REJECT);
	CHECK_STR(scratch_slurp("out", NULL), "one\n");
	/* Without --strict the same input is read to its end. */
	CHECK_INT(run(files, 1, scratch_path("rej"), 0, &c), BMS_FILTER_OK);
	CHECK_STR(scratch_slurp("out", NULL), "one\nthree\n");
}

static void test_failures(void)
{
	struct stage_ctx c = { 0 };
	char *files[1] = { scratch_path("in") };
	static struct bms_filter f;
	struct bms_filter_opts o = { .rejects = "/nonexistent/dir/rej", .prog = "t" };

	scratch_put("in", "one\nfail\nthree\n", 15);
	CHECK_INT(run(files, 1, NULL, 0, &c), BMS_FILTER_EFAIL);
	CHECK_STR(scratch_slurp("out", NULL), "one\n");
	CHECK_INT(bms_filter_open(&f, &o), -1);
	CHECK_STR(f.err, "cannot open rejects file '/nonexistent/dir/rej': "
		  "No such file or directory");
	/* A rejects file that cannot be written is fatal. */
	if (access("/dev/full", W_OK) == 0) {
		struct bms_filter_stage s = { .line = test_line, .ctx = &c };

		scratch_put("in", "bad\n", 4);
		o.files = files;
		o.nfiles = 1;
		o.rejects = "/dev/full";
		o.out_fd = open("/dev/null", O_WRONLY);
		CHECK_INT(bms_filter_open(&f, &o), 0);
		CHECK_INT(bms_filter_run(&f, &s), BMS_FILTER_EFAIL);
		CHECK_STR(f.err, "cannot write the rejects file: No space left on device");
		bms_filter_close(&f);
		close(o.out_fd);
	}
}

static void test_long_line(void)
{
	struct stage_ctx c = { 0 };
	char *files[1] = { scratch_path("long") };
	size_t big = BMS_NDJSON_MAX_LINE + 5000;
	char *data = malloc(big + 16), want[16384], hex[65];
	uint8_t digest[BMS_SHA256_LEN];
	const char *got;

	/* 4095 bytes of 'x', then a 2-byte character across the head's end. */
	memset(data, 'x', big);
	memcpy(data + 4095, "\xc3\xa9", 2);
	memcpy(data, "{\"type\":\"other\"", 15);
	bms_sha256(data, big, digest);
	for (int i = 0; i < BMS_SHA256_LEN; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
	memcpy(data + big, "\nafter\n", 7);
	scratch_put("long", data, big + 7);
	unlink(scratch_path("rej"));
	CHECK_INT(run(files, 1, scratch_path("rej"), 0, &c), BMS_FILTER_OK);
	CHECK_STR(scratch_slurp("out", NULL), "after\n");
	snprintf(want, sizeof want,
		 "{\"type\":\"reject\",\"reason\":\"line of %zu bytes is over the 1048576-byte "
		 "limit\",\"file\":\"%s\",\"lineno\":1,\"line_head\":\"{\\\"type\\\":\\\"other\\\"%.*s\","
		 "\"line_bytes\":%zu,\"line_sha256\":\"%s\"}\n",
		 big, scratch_path("long"), 4095 - 15, data + 15, big, hex);
	got = scratch_slurp("rej", NULL);
	CHECK_STR(got, want);
	/* Under --strict it stops the loop. */
	CHECK_INT(run(files, 1, scratch_path("rej"), 1, &c), BMS_FILTER_EREJECT);
	CHECK_STR(scratch_slurp("out", NULL), "");
	free(data);
}

/* The drained flush: feed the loop through a pipe and see the first
 * record out before the second is written. */
struct pipe_run {
	int in_fd, out_fd;
	int rc;
	struct stage_ctx c;
};

static void *pipe_thread(void *arg)
{
	struct pipe_run *p = arg;
	static struct bms_filter f;
	struct bms_filter_opts o = { .prog = "t", .out_fd = p->out_fd };
	struct bms_filter_stage s = {
		.line = test_line, .drained = test_drained, .ctx = &p->c,
	};

	/* The loop reads stdin: give it the pipe there. */
	dup2(p->in_fd, 0);
	if (bms_filter_open(&f, &o) < 0) {
		p->rc = -1;
		return NULL;
	}
	p->rc = bms_filter_run(&f, &s);
	bms_filter_close(&f);
	close(p->out_fd);
	return NULL;
}

/* Read one line from fd, waiting at most 10 s; its length, -1 if none. */
static ssize_t read_line(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		r = read(fd, buf + got, 1);
		if (r <= 0)
			return -1;
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static void test_drained_flush(void)
{
	struct pipe_run p = { 0 };
	int in[2], out[2], saved = dup(0);
	pthread_t t;
	char line[256];

	CHECK(pipe(in) == 0 && pipe(out) == 0);
	p.in_fd = in[0];
	p.out_fd = out[1];
	CHECK(pthread_create(&t, NULL, pipe_thread, &p) == 0);
	CHECK(write(in[1], "{\"first\":1}\nhold\n", 17) == 17);
	/* Written when the input drained, before any more input exists. */
	CHECK(read_line(out[0], line, sizeof line) > 0);
	CHECK_STR(line, "{\"first\":1}\n");
	CHECK(read_line(out[0], line, sizeof line) > 0);
	CHECK_STR(line, "hold\n");
	CHECK(write(in[1], "{\"second\":2}\n", 13) == 13);
	CHECK(read_line(out[0], line, sizeof line) > 0);
	CHECK_STR(line, "{\"second\":2}\n");
	close(in[1]);
	CHECK(read_line(out[0], line, sizeof line) < 0);	/* end of output */
	pthread_join(t, NULL);
	CHECK_INT(p.rc, BMS_FILTER_OK);
	CHECK(p.c.drains >= 3);
	close(out[0]);
	close(in[0]);
	dup2(saved, 0);
	close(saved);
}

/* A reader that went away is a quiet end, with status OK. */
static void test_epipe(void)
{
	struct stage_ctx c = { 0 };
	static struct bms_filter f;
	char *files[1] = { scratch_path("many") };
	struct bms_filter_stage s = { .line = test_line, .drained = test_drained, .ctx = &c };
	struct bms_filter_opts o = { .files = files, .nfiles = 1, .prog = "t" };
	size_t n = 0;
	char *data = malloc(1 << 20);
	int fds[2];

	while (n < (1 << 20) - 32)
		n += (size_t)sprintf(data + n, "{\"n\":%zu}\n", n);
	scratch_put("many", data, n);
	free(data);
	CHECK(pipe(fds) == 0);
	close(fds[0]);
	o.out_fd = fds[1];
	CHECK_INT(bms_filter_open(&f, &o), 0);
	CHECK_INT(bms_filter_run(&f, &s), BMS_FILTER_OK);
	CHECK_INT(f.out.err, EPIPE);
	CHECK(f.in.lineno < 20000);	/* it stopped reading */
	bms_filter_close(&f);
	close(fds[1]);
}

/* A program with a configuration takes SIGHUP as a reload, not a stop.
 * (The default, SIGHUP as a stop, is tested on the programs.) */
static void test_hup_reload(void)
{
	bms_sig_install();
	bms_sig_hup_reloads();
	raise(SIGHUP);			/* blocked until the next wait */
	CHECK_INT(bms_sig_poll(NULL, 0, 0), -1);
	CHECK_INT(bms_sig_reload(), 1);
	CHECK_INT(bms_sig_reload(), 0);
	CHECK_INT(bms_sig_stopping(), 0);
	raise(SIGTERM);
	bms_sig_poll(NULL, 0, 0);
	CHECK_INT(bms_sig_stopping(), 1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (scratch_open() < 0)
		return 1;
	test_rejects();
	test_strict();
	test_failures();
	test_long_line();
	test_drained_flush();
	test_epipe();
	test_hup_reload();
	scratch_close();
	return unit_done();
}

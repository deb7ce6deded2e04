/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/ndjson.c (line reader and writer), lib/reject.c and
 * lib/ts.c, on real files and pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ndjson.h"
#include "reject.h"
#include "ts.h"
#include "unit.h"
#include "scratch.h"

static int drained_calls;

static int on_drained(void *ctx)
{
	(void)ctx;
	drained_calls++;
	return 0;
}

static void test_lines(void)
{
	struct bms_ndjson_in in;
	char *files[3];
	const char *line;
	size_t len;

	scratch_put("a", "one\n\ntwo\nlast-no-newline", 24);
	scratch_put("b", "b1\n", 3);
	files[0] = scratch_path("a");
	files[1] = scratch_path("missing");
	files[2] = scratch_path("b");
	CHECK_INT(bms_ndjson_open(&in, files, 3), 0);
	in.drained = on_drained;
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
	CHECK(len == 3 && memcmp(line, "one", 3) == 0 && in.lineno == 1);
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
	CHECK(len == 0 && in.lineno == 2);
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
	CHECK(len == 3 && memcmp(line, "two", 3) == 0);
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
	CHECK(len == 15 && memcmp(line, "last-no-newline", 15) == 0 && in.lineno == 4);
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_ERR);
	CHECK(strstr(in.errbuf, "cannot open '") && strstr(in.errbuf, "No such file"));
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
	CHECK(len == 2 && memcmp(line, "b1", 2) == 0 && in.lineno == 1);
	CHECK_STR(in.name, scratch_path("b"));
	CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_END);
	CHECK_INT(drained_calls, 2);	/* regular files: at the end of each */
	bms_ndjson_close(&in);
}

static void test_long_line(void)
{
	/* Over-long lines stream past: their head, length and digest are
	 * kept, whether the newline comes in the read that overflows the
	 * limit (MAX + 1) or long after it (MAX + 100000, at end of file
	 * without a newline too). */
	static const size_t sizes[] = { BMS_NDJSON_MAX_LINE + 1, BMS_NDJSON_MAX_LINE + 100000 };

	for (int k = 0; k < 3; k++) {
		struct bms_ndjson_in in;
		size_t big = sizes[k % 2], len;
		char *data = malloc(big + 20), *files[1];
		uint8_t digest[BMS_SHA256_LEN];
		const char *line;

		for (size_t i = 0; i < big; i++)
			data[i] = (char)('a' + i % 26);
		bms_sha256(data, big, digest);
		memcpy(data + big, "\nafter\n", 7);
		scratch_put("long", data, k == 2 ? big : big + 7);
		files[0] = scratch_path("long");
		CHECK_INT(bms_ndjson_open(&in, files, 1), 0);
		CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LONG);
		CHECK_INT(in.lineno, 1);
		CHECK_INT(in.longline.bytes, big);
		CHECK_INT(in.longline.head_len, BMS_NDJSON_HEAD);
		CHECK_MEM(in.longline.head, data, BMS_NDJSON_HEAD);
		CHECK_MEM(in.longline.sha256, digest, BMS_SHA256_LEN);
		if (k < 2) {
			CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_LINE);
			CHECK(len == 5 && memcmp(line, "after", 5) == 0 && in.lineno == 2);
		}
		CHECK_INT(bms_ndjson_next(&in, &line, &len), BMS_NDJSON_END);
		bms_ndjson_close(&in);
		free(data);
	}
}

static void test_many_lines(void)
{
	/* Lines crossing read boundaries come back whole and in order. */
	struct bms_ndjson_in in;
	char *files[1], *data = malloc(400000);
	size_t n = 0, len;
	const char *line;
	int k = 0, ok = 1;

	for (int i = 0; i < 30000; i++)
		n += (size_t)sprintf(data + n, "{\"n\":%d}\n", i);
	scratch_put("many", data, n);
	free(data);
	files[0] = scratch_path("many");
	CHECK_INT(bms_ndjson_open(&in, files, 1), 0);
	while (bms_ndjson_next(&in, &line, &len) == BMS_NDJSON_LINE) {
		char want[32];
		int w = sprintf(want, "{\"n\":%d}", k++);

		if ((size_t)w != len || memcmp(line, want, len) != 0)
			ok = 0;
	}
	CHECK(ok);
	CHECK_INT(k, 30000);
	bms_ndjson_close(&in);
}

static void test_out(void)
{
	struct bms_ndjson_out *out = malloc(sizeof *out);
	int fds[2];
	size_t n;
	char *got;
	int fd = open(scratch_path("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	bms_ndjson_out_init(out, fd);
	CHECK_INT(bms_ndjson_put(out, "{\"a\":1}", 7), 0);
	CHECK_INT(bms_ndjson_put(out, "{}", 2), 0);
	CHECK_INT(bms_ndjson_flush(out), 0);
	close(fd);
	got = scratch_slurp("out", &n);
	CHECK_STR(got, "{\"a\":1}\n{}\n");

	/* A reader that went away: EPIPE, reported once, no crash. */
	CHECK(pipe(fds) == 0);
	close(fds[0]);
	bms_ndjson_out_init(out, fds[1]);
	bms_ndjson_put(out, "x", 1);
	CHECK_INT(bms_ndjson_flush(out), -1);
	CHECK_INT(out->err, EPIPE);
	CHECK_INT(bms_ndjson_put(out, "y", 1), -1);
	close(fds[1]);
	free(out);
}

static void test_reject(void)
{
	struct bms_reject r;
	char err[256];
	size_t n;

	CHECK_INT(bms_reject_open(&r, "bms-test", scratch_path("rej"), err, sizeof err), 0);
	CHECK_INT(bms_reject_line(&r, "<stdin>", 3, "no reply to 0x94", "{\"a\":\"\\u00e9\"}", 14), 0);
	CHECK_INT(bms_reject_line(&r, "f.ndjson", 9, "bad", "\xff\x00z", 3), 0);
	CHECK_INT(r.count, 2);
	CHECK_INT(bms_reject_close(&r), 0);
	CHECK_STR(scratch_slurp("rej", &n),
		  "{\"type\":\"reject\",\"reason\":\"no reply to 0x94\",\"file\":\"<stdin>\","
		  "\"lineno\":3,\"line\":\"{\\\"a\\\":\\\"\\\\u00e9\\\"}\"}\n"
		  "{\"type\":\"reject\",\"reason\":\"bad\",\"file\":\"f.ndjson\",\"lineno\":9,"
		  "\"line_hex\":\"ff007a\"}\n");
	CHECK_INT(bms_reject_open(&r, "bms-test", "/nonexistent/dir/rej", err, sizeof err), -1);
	CHECK_STR(err, "cannot open rejects file '/nonexistent/dir/rej': No such file or directory");
}

static void test_ts(void)
{
	struct timespec t = { 1795789751, 123999999 };	/* 2026-11-27T14:29:11.123Z */
	char out[BMS_TS_LEN + 1];
	int64_t a, b;

	bms_ts_format(&t, out);
	CHECK_STR(out, "2026-11-27T14:29:11.123Z");
	t.tv_sec = 0;
	t.tv_nsec = 5000000;
	bms_ts_format(&t, out);
	CHECK_STR(out, "1970-01-01T00:00:00.005Z");
	bms_ts_now(out);
	CHECK(strlen(out) == BMS_TS_LEN && out[10] == 'T' && out[23] == 'Z');
	a = bms_ts_mono_ms();
	bms_ts_sleep_ms(20);
	b = bms_ts_mono_ms();
	CHECK(b - a >= 20);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (scratch_open() < 0)
		return 1;
	test_lines();
	test_long_line();
	test_many_lines();
	test_out();
	test_reject();
	test_ts();
	scratch_close();
	return unit_done();
}

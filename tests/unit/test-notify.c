/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the --exec runner (lib/notify.c) with real commands and
 * real processes: one report per event with the record on stdin and the
 * environment set, what the command's process looks like (signals, fds,
 * process group), its stdout kept off ours, exit statuses and signals,
 * timeouts with SIGTERM and then SIGKILL to the whole group, the limits
 * on concurrency, the queue and the rate per key (and the bounded key
 * table), a start that fails, a record bigger than a pipe, and drains.
 *
 * Nothing waits a fixed time for what it tests: each test polls the
 * runner until it is idle, with a generous upper bound.  The commands
 * run in the test's scratch directory (its working directory) and leave
 * what they saw in files there.  At the end no child and no descriptor
 * of ours is left over.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"
#include "sig.h"
#include "ts.h"
#include "unit.h"
#include "scratch.h"

#define MAX_GOT 1100

/* The reports of one test, in order. */
struct got {
	int n;
	struct {
		char key[32];
		char rec[64];
		size_t len;
		int ok;
		enum bms_notify_end end;
		int64_t ms;
		char why[160];
	} r[MAX_GOT];
};

static struct got got;

static void collect(void *ctx, const struct bms_notify_result *r)
{
	struct got *g = ctx;

	CHECK_INT(r->rec[r->len], '\0');
	CHECK_INT(r->ok, r->end == BMS_NOTIFY_OK);
	if (g->n == MAX_GOT) {
		CHECK(!"too many reports");
		return;
	}
	snprintf(g->r[g->n].key, sizeof g->r[g->n].key, "%s", r->key);
	snprintf(g->r[g->n].rec, sizeof g->r[g->n].rec, "%s", r->rec);
	g->r[g->n].len = r->len;
	g->r[g->n].ok = r->ok;
	g->r[g->n].end = r->end;
	g->r[g->n].ms = r->ms;
	snprintf(g->r[g->n].why, sizeof g->r[g->n].why, "%s", r->why);
	g->n++;
}

/* The report of key, or NULL; a key reported twice is a failed check. */
static int find(const char *key)
{
	int at = -1;

	for (int i = 0; i < got.n; i++)
		if (strcmp(got.r[i].key, key) == 0) {
			CHECK(at < 0);
			at = i;
		}
	return at;
}

static const char *why_of(const char *key)
{
	int i = find(key);

	return i < 0 ? "(not reported)" : got.r[i].why;
}

static struct bms_notify *runner(const char *cmd, int jobs, int queue, int64_t timeout_ms,
				 int rate_n, int64_t rate_ms)
{
	struct bms_notify_opts o = {
		.cmd = cmd, .max_jobs = jobs, .max_queue = queue,
		.timeout_ms = timeout_ms, .rate_n = rate_n, .rate_ms = rate_ms,
	};
	struct bms_notify *n = bms_notify_new(&o);

	memset(&got, 0, sizeof got);
	CHECK(n != NULL);
	if (!n)
		abort();
	return n;
}

static int run(struct bms_notify *n, const char *key, const char *rec,
	       const char *const *env)
{
	return bms_notify_run(n, key, rec, strlen(rec), env, bms_ts_mono_ms(), collect, &got);
}

/* Poll until the runner has at most want events left or max_ms have
 * passed (a failed check); the time it took, ms.  Each sleep is at most
 * 10 ms and never past the runner's next deadline. */
static int64_t wait_busy(struct bms_notify *n, int want, int64_t max_ms)
{
	int64_t t0 = bms_ts_mono_ms(), now = t0, step;

	for (;;) {
		bms_notify_poll(n, now, collect, &got);
		if (bms_notify_busy(n) <= want || now - t0 > max_ms)
			break;
		step = bms_notify_next_ms(n, now);
		if (step < 0 || step > 10)
			step = 10;
		bms_ts_sleep_ms(step);
		now = bms_ts_mono_ms();
	}
	CHECK_INT(bms_notify_busy(n), want);
	return bms_ts_mono_ms() - t0;
}

static int64_t wait_idle(struct bms_notify *n, int64_t max_ms)
{
	return wait_busy(n, 0, max_ms);
}

/* Whether we have no child at all, reaped or not. */
static int no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* Open descriptors of this process. */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int k = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			k++;
	closedir(d);
	return k - 1;	/* the directory's own */
}

/* Processes of process group pg that have not exited (zombies waiting
 * for whoever inherited them do not count). */
static int group_alive(pid_t pg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int k = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], buf[512], *p, state;
		int pgrp;
		ssize_t got_n;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		got_n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (got_n <= 0)
			continue;
		buf[got_n] = '\0';
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == pg && state != 'Z' && state != 'X')
			k++;
	}
	closedir(d);
	return k;
}

/* Whether group pg is gone within max_ms (signals take a moment). */
static int group_gone(pid_t pg, int64_t max_ms)
{
	int64_t t0 = bms_ts_mono_ms();

	while (group_alive(pg) != 0 && bms_ts_mono_ms() - t0 < max_ms)
		bms_ts_sleep_ms(5);
	return group_alive(pg) == 0;
}

/* ==== Tests ==== */

/* One report per event; the command read the record and a newline, and
 * saw the event's variables, one replacing the caller's. */
static void test_each_event(void)
{
	static const char cmd[] =
		"cat > rec.$N; printf '%s|%s' \"$N\" \"$MSG\" > env.$N; "
		"env | grep -c '^HOME=' > home.$N; printf %s \"$HOME\" >> home.$N";
	struct bms_notify *n = runner(cmd, 4, 4, 10000, 0, 0);
	const char *e1[] = { "N=1", "MSG=it's a \"test\" $HOME", "HOME=/nowhere", NULL };
	const char *e2[] = { "N=2", "MSG=", "HOME=/nowhere", NULL };
	const char *e3[] = { "N=3", "MSG=three", "HOME=/nowhere", NULL };
	const char *r1 = "{\"type\":\"alert\",\"bms_id\":\"house\",\"n\":1}";

	CHECK_INT(run(n, "e1", r1, e1), 0);
	CHECK_INT(run(n, "e2", "{}", e2), 0);
	CHECK_INT(run(n, "e3", "{\"n\":3}", e3), 0);
	CHECK_INT(bms_notify_busy(n), 3);
	wait_idle(n, 10000);
	CHECK_INT(got.n, 3);
	for (int i = 0; i < got.n; i++) {
		CHECK_INT(got.r[i].ok, 1);
		CHECK_INT(got.r[i].end, BMS_NOTIFY_OK);
		CHECK_STR(got.r[i].why, "exit status 0");
		CHECK(got.r[i].ms >= 0);
	}
	CHECK_INT(find("e1") >= 0 && find("e2") >= 0 && find("e3") >= 0, 1);
	if (find("e1") >= 0) {
		CHECK_STR(got.r[find("e1")].rec, r1);
		CHECK_INT(got.r[find("e1")].len, strlen(r1));
	}
	CHECK_STR(scratch_slurp("rec.1", NULL),
		  "{\"type\":\"alert\",\"bms_id\":\"house\",\"n\":1}\n");
	CHECK_STR(scratch_slurp("rec.2", NULL), "{}\n");
	CHECK_STR(scratch_slurp("rec.3", NULL), "{\"n\":3}\n");
	CHECK_STR(scratch_slurp("env.1", NULL), "1|it's a \"test\" $HOME");
	CHECK_STR(scratch_slurp("env.2", NULL), "2|");
	CHECK_STR(scratch_slurp("home.3", NULL), "1\n/nowhere");
	bms_notify_free(n);
	CHECK(no_children());
}

/* The command's process: its own group, no blocked or ignored signal
 * (though ours are), the record's pipe on fd 0, our stderr on fd 1 and
 * 2, and no descriptor of ours. */
static void test_process(void)
{
	static const char cmd[] =
		"[ \"$WHAT\" = fds ] && exec ls /proc/self/fd > fds; "
		"read -r a b c d pg rest < /proc/$$/stat; echo \"$$ $pg\" > proc; "
		"readlink /proc/$$/fd/0 | cut -c1-5 >> proc; "
		"[ \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/$$/fd/2)\" ] && echo same >> proc; "
		/* the shell blocks signals while it waits: look as itself */
		"exec grep -E '^Sig(Blk|Ign)' /proc/self/status >> proc";
	struct bms_notify *n = runner(cmd, 1, 1, 10000, 0, 0);
	int extra = open("/dev/null", O_RDONLY);	/* inheritable */
	const char *fds[] = { "WHAT=fds", NULL };
	pid_t pid, pg;
	char *s;

	CHECK(extra > 2);
	CHECK_INT(run(n, "p", "{}", NULL), 0);
	CHECK_INT(run(n, "fds", "{}", fds), 0);
	wait_idle(n, 10000);
	CHECK_STR(why_of("p"), "exit status 0");
	CHECK_STR(why_of("fds"), "exit status 0");
	/* ls's own 3 is the directory it reads. */
	CHECK_STR(scratch_slurp("fds", NULL), "0\n1\n2\n3\n");
	s = scratch_slurp("proc", NULL);
	CHECK_INT(sscanf(s, "%d %d", &pid, &pg), 2);
	CHECK_INT(pg, pid);
	s = strchr(s, '\n');
	CHECK_STR(s, "\npipe:\nsame\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	close(extra);
	bms_notify_free(n);
}

/* A command's stdout goes to our stderr, never to our stdout. */
static void test_stdout(void)
{
	struct bms_notify *n = runner("echo to-stdout; echo to-stderr >&2", 1, 0, 10000, 0, 0);
	int out = dup(1), err = dup(2);
	int fo = open(scratch_path("our.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(scratch_path("our.err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stdout);
	fflush(stderr);
	dup2(fo, 1);
	dup2(fe, 2);
	CHECK_INT(run(n, "o", "{}", NULL), 0);
	wait_idle(n, 10000);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(fo);
	close(fe);
	CHECK_STR(why_of("o"), "exit status 0");
	CHECK_STR(scratch_slurp("our.out", NULL), "");
	CHECK_STR(scratch_slurp("our.err", NULL), "to-stdout\nto-stderr\n");
	bms_notify_free(n);
}

/* A failing command is reported with its exit status or signal. */
static void test_failures(void)
{
	struct bms_notify *n = runner("exit \"$CODE\"", 2, 2, 10000, 0, 0);
	struct bms_notify *k = NULL;
	const char *e3[] = { "CODE=3", NULL };
	const char *e0[] = { "CODE=0", NULL };

	CHECK_INT(run(n, "three", "{}", e3), 0);
	CHECK_INT(run(n, "zero", "{}", e0), 0);
	wait_idle(n, 10000);
	CHECK_INT(got.n, 2);
	CHECK_STR(why_of("three"), "exit status 3");
	if (find("three") >= 0) {
		CHECK_INT(got.r[find("three")].ok, 0);
		CHECK_INT(got.r[find("three")].end, BMS_NOTIFY_FAILED);
	}
	CHECK_STR(why_of("zero"), "exit status 0");
	bms_notify_free(n);

	k = runner("kill -9 $$", 1, 0, 10000, 0, 0);
	CHECK_INT(run(k, "nine", "{}", NULL), 0);
	wait_idle(k, 10000);
	CHECK_INT(got.n, 1);
	CHECK_STR(why_of("nine"), "killed by signal 9");
	if (find("nine") >= 0)
		CHECK_INT(got.r[find("nine")].end, BMS_NOTIFY_FAILED);
	bms_notify_free(k);
	CHECK(no_children());
}

/* A command past its time gets SIGTERM, its whole group (a pipeline)
 * with it; one that ignores SIGTERM gets SIGKILL a second later. */
static void test_timeout(void)
{
	struct bms_notify *n = runner("eval \"$TRAP\"; echo $$ > pid.$N; sleep 30 | sleep 30",
					2, 0, 300, 0, 0);
	const char *e1[] = { "N=1", "TRAP=", NULL };
	const char *e2[] = { "N=2", "TRAP=trap '' TERM", NULL };
	int64_t t0 = bms_ts_mono_ms(), next, took;
	pid_t p1 = 0, p2 = 0;

	CHECK_INT(bms_notify_next_ms(n, t0), -1);
	CHECK_INT(run(n, "term", "{}", e1), 0);
	CHECK_INT(run(n, "kill", "{}", e2), 0);
	next = bms_notify_next_ms(n, bms_ts_mono_ms());
	CHECK(next >= 0 && next <= 300);
	took = wait_idle(n, 10000);
	CHECK_INT(got.n, 2);
	CHECK_STR(why_of("term"), "timed out after 300ms");
	CHECK_STR(why_of("kill"), "timed out after 300ms");
	if (find("term") >= 0 && find("kill") >= 0) {
		CHECK_INT(got.r[find("term")].end, BMS_NOTIFY_TIMEOUT);
		CHECK_INT(got.r[find("term")].ok, 0);
		/* (Lower bounds only: a loaded machine may be late, never early;
		 * wait_idle's own limit says that it ends.) */
		CHECK(got.r[find("term")].ms >= 300 &&
		      got.r[find("term")].ms < got.r[find("kill")].ms);
		CHECK(got.r[find("kill")].ms >= 1300);
		/* SIGTERM answered first, SIGKILL a second later. */
		CHECK_STR(got.r[0].key, "term");
	}
	CHECK(took >= 1300 && took < 10000);
	CHECK_INT(sscanf(scratch_slurp("pid.1", NULL), "%d", &p1), 1);
	CHECK_INT(sscanf(scratch_slurp("pid.2", NULL), "%d", &p2), 1);
	CHECK(p1 > 0 && group_gone(p1, 2000));
	CHECK(p2 > 0 && group_gone(p2, 2000));
	CHECK_INT(bms_notify_next_ms(n, bms_ts_mono_ms()), -1);
	bms_notify_free(n);
	CHECK(no_children());
}

/* With two slots and five events, never more than two run at once, the
 * others start as slots free, and all five complete, each once.  (The
 * order of the "start" lines is the commands' race, not the queue's.) */
static void test_concurrency(void)
{
	static const char cmd[] =
		"echo \"start $N\" >> conc; sleep 0.2; echo \"end $N\" >> conc";
	struct bms_notify *n = runner(cmd, 2, 3, 10000, 0, 0);
	char env[5][8], key[5][8], line[32], *s, *e;
	int live = 0, most = 0, starts[6] = { 0 }, ends[6] = { 0 }, k;

	for (int i = 0; i < 5; i++) {
		const char *ev[] = { env[i], NULL };

		snprintf(env[i], sizeof env[i], "N=%d", i + 1);
		snprintf(key[i], sizeof key[i], "c%d", i + 1);
		CHECK_INT(run(n, key[i], "{}", ev), 0);
	}
	CHECK_INT(bms_notify_busy(n), 5);
	wait_idle(n, 20000);
	CHECK_INT(got.n, 5);
	for (int i = 0; i < 5; i++)
		CHECK_STR(why_of(key[i]), "exit status 0");
	s = scratch_slurp("conc", NULL);
	for (; (e = strchr(s, '\n')); s = e + 1) {
		snprintf(line, sizeof line, "%.*s", (int)(e - s), s);
		if (sscanf(line, "start %d", &k) == 1 && k >= 1 && k <= 5) {
			starts[k]++;
			if (++live > most)
				most = live;
		} else if (sscanf(line, "end %d", &k) == 1 && k >= 1 && k <= 5) {
			ends[k]++;
			live--;
		} else
			CHECK_STR(line, "start N or end N");
	}
	for (k = 1; k <= 5; k++) {
		CHECK_INT(starts[k], 1);
		CHECK_INT(ends[k], 1);
	}
	CHECK_INT(most, 2);
	CHECK_INT(live, 0);
	bms_notify_free(n);
}

/* Beyond the queue an event is refused at once; a drain kills what runs
 * and drops what waits, reporting each. */
static void test_queue_full(void)
{
	struct bms_notify *n = runner("sleep 30", 1, 1, 0, 0, 0);
	int64_t t0;

	CHECK_INT(run(n, "q1", "{\"q\":1}", NULL), 0);
	CHECK_INT(run(n, "q2", "{\"q\":2}", NULL), 0);
	CHECK_INT(got.n, 0);
	CHECK_INT(run(n, "q3", "{\"q\":3}", NULL), -1);
	CHECK_INT(got.n, 1);
	CHECK_STR(got.r[0].key, "q3");
	CHECK_STR(got.r[0].rec, "{\"q\":3}");
	CHECK_STR(got.r[0].why, "queue full");
	CHECK_INT(got.r[0].end, BMS_NOTIFY_REFUSED);
	CHECK_INT(got.r[0].ms, 0);
	CHECK_INT(bms_notify_busy(n), 2);
	CHECK_INT(bms_notify_next_ms(n, bms_ts_mono_ms()), -1);	/* no timeout */

	t0 = bms_ts_mono_ms();
	bms_notify_drain(n, 200, collect, &got);
	/* The grace given, and far less than the commands' 30 s. */
	CHECK(bms_ts_mono_ms() - t0 >= 200 && bms_ts_mono_ms() - t0 < 10000);
	CHECK_INT(bms_notify_busy(n), 0);
	CHECK_INT(got.n, 3);
	CHECK_STR(why_of("q1"), "killed at exit");
	CHECK_STR(why_of("q2"), "not started before exit");
	if (find("q1") >= 0 && find("q2") >= 0) {
		CHECK_INT(got.r[find("q1")].end, BMS_NOTIFY_ABANDONED);
		CHECK_INT(got.r[find("q2")].end, BMS_NOTIFY_ABANDONED);
		CHECK_INT(got.r[find("q2")].ms, 0);
	}
	CHECK(no_children());

	/* The runner takes events again after a drain. */
	CHECK_INT(run(n, "q4", "{}", NULL), 0);
	bms_notify_drain(n, 0, collect, &got);
	CHECK_STR(why_of("q4"), "killed at exit");
	bms_notify_free(n);
	CHECK(no_children());
}

/* A drain with time enough waits for running and queued commands. */
static void test_drain_waits(void)
{
	struct bms_notify *n = runner("sleep 0.1", 1, 2, 0, 0, 0);
	int64_t t0;

	CHECK_INT(run(n, "d1", "{}", NULL), 0);
	CHECK_INT(run(n, "d2", "{}", NULL), 0);
	CHECK_INT(run(n, "d3", "{}", NULL), 0);
	t0 = bms_ts_mono_ms();
	bms_notify_drain(n, 20000, collect, &got);
	CHECK(bms_ts_mono_ms() - t0 < 10000);
	CHECK_INT(got.n, 3);
	CHECK_STR(why_of("d1"), "exit status 0");
	CHECK_STR(why_of("d2"), "exit status 0");
	CHECK_STR(why_of("d3"), "exit status 0");
	bms_notify_free(n);
	CHECK(no_children());
}

/* Three per minute per key: a key's fourth event is refused while
 * another key's command still runs and its events are still taken. */
static void test_rate(void)
{
	struct bms_notify *n = runner("[ \"$SLOW\" = 1 ] && exec sleep 30; exit 0", 4, 4, 0, 3, 60000);
	const char *slow[] = { "SLOW=1", NULL };
	int64_t t0 = bms_ts_mono_ms();

	CHECK_INT(run(n, "b", "{\"b\":1}", slow), 0);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":1}", 7, NULL, t0, collect, &got), 0);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":2}", 7, NULL, t0 + 10, collect, &got), 0);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":3}", 7, NULL, t0 + 20, collect, &got), 0);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":4}", 7, NULL, t0 + 30, collect, &got), -1);
	CHECK_INT(got.n, 1);
	CHECK_STR(got.r[0].rec, "{\"a\":4}");
	CHECK_STR(got.r[0].why, "rate limited (3 per 1m)");
	CHECK_INT(got.r[0].end, BMS_NOTIFY_REFUSED);
	CHECK_INT(bms_notify_run(n, "b", "{\"b\":2}", 7, NULL, t0 + 30, collect, &got), 0);
	/* The window slides: a's first event leaves it a minute after. */
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":5}", 7, NULL, t0 + 59999, collect, &got), -1);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":6}", 7, NULL, t0 + 60000, collect, &got), 0);
	CHECK_INT(bms_notify_run(n, "a", "{\"a\":7}", 7, NULL, t0 + 60005, collect, &got), -1);
	CHECK_INT(got.n, 3);
	CHECK_STR(got.r[1].rec, "{\"a\":5}");
	CHECK_STR(got.r[2].rec, "{\"a\":7}");
	wait_busy(n, 1, 10000);
	bms_notify_drain(n, 0, collect, &got);
	/* 3 refused, 4 of a's ran, b's second ran; b's first was killed. */
	CHECK_INT(got.n, 9);
	for (int i = 3; i < got.n; i++)
		if (strcmp(got.r[i].rec, "{\"b\":1}") == 0)
			CHECK_STR(got.r[i].why, "killed at exit");
		else
			CHECK_STR(got.r[i].why, "exit status 0");
	bms_notify_free(n);

	/* Periods are written as bms.conf(5) reads them. */
	n = runner("true", 1, 0, 0, 1, 90000);
	CHECK_INT(run(n, "x", "{}", NULL), 0);
	CHECK_INT(run(n, "x", "{}", NULL), -1);
	CHECK_STR(why_of("x"), "rate limited (1 per 1m30s)");
	bms_notify_drain(n, 5000, collect, &got);
	bms_notify_free(n);
	CHECK(no_children());
}

/* The rate limit remembers at most BMS_NOTIFY_MAX_KEYS keys: a new key
 * evicts the least recently used one, whose window is forgotten. */
static void test_rate_keys(void)
{
	struct bms_notify *n = runner("sleep 30", 1, BMS_NOTIFY_MAX_KEYS + 8, 0, 1, 3600000);
	char key[16];
	int refused = 0;

	CHECK_INT(run(n, "first", "{}", NULL), 0);
	CHECK_INT(run(n, "k0", "{}", NULL), 0);
	CHECK_INT(run(n, "k0", "{}", NULL), -1);
	CHECK_INT(run(n, "first", "{}", NULL), -1);	/* used after k0 */
	for (int i = 0; i < BMS_NOTIFY_MAX_KEYS - 1; i++) {
		snprintf(key, sizeof key, "x%d", i);
		refused += run(n, key, "{}", NULL) < 0;
	}
	CHECK_INT(refused, 0);
	/* The last new key evicted k0, the least recently used, not "first",
	 * the oldest; k0 is taken again, and the one it evicts, x0, too. */
	CHECK_INT(run(n, "first", "{}", NULL), -1);
	CHECK_INT(run(n, "k0", "{}", NULL), 0);
	CHECK_INT(run(n, "x0", "{}", NULL), 0);
	CHECK_INT(run(n, "x2", "{}", NULL), -1);	/* x0 evicted x1 */
	CHECK_INT(got.n, 4);
	CHECK_INT(bms_notify_busy(n), BMS_NOTIFY_MAX_KEYS + 3);
	bms_notify_drain(n, 0, collect, &got);
	CHECK_INT(got.n, BMS_NOTIFY_MAX_KEYS + 7);
	CHECK_INT(bms_notify_busy(n), 0);
	bms_notify_free(n);
	CHECK(no_children());
}

/* Starting never waits for the command, even one that blocks, nor for
 * a record it does not read. */
static void test_quick(void)
{
	struct bms_notify *n = runner("exec sleep 30", 2, 0, 0, 0, 0);
	static char rec[7 * 1024 + 1];
	int64_t t0, took;

	memset(rec, 'x', sizeof rec - 1);
	t0 = bms_ts_mono_ms();
	CHECK_INT(run(n, "s1", rec, NULL), 0);
	CHECK_INT(run(n, "s2", rec, NULL), 0);
	took = bms_ts_mono_ms() - t0;
	/* Far less than the 30 s the command takes (a loaded machine may
	 * be slow to fork, never that slow). */
	CHECK(took < 10000);
	if (took >= 10000)
		fprintf(stderr, "two starts took %lld ms\n", (long long)took);
	bms_notify_poll(n, bms_ts_mono_ms(), collect, &got);
	CHECK_INT(got.n, 0);
	CHECK_INT(bms_notify_busy(n), 2);
	bms_notify_drain(n, 0, collect, &got);
	CHECK_INT(got.n, 2);
	CHECK_STR(why_of("s1"), "killed at exit");
	bms_notify_free(n);
	CHECK(no_children());
}

/* A record bigger than a pipe holds is written over several polls; one
 * the command does not read is no error, nor a SIGPIPE for us (this
 * test runs with SIGPIPE at its default action). */
static void test_big_record(void)
{
	struct bms_notify *n = runner("if [ \"$READ\" = 1 ]; then wc -c > big; fi; exit 0",
				      2, 0, 10000, 0, 0);
	const char *rd[] = { "READ=1", NULL }, *no[] = { "READ=0", NULL };
	size_t len = 256 * 1024;
	char *rec = malloc(len + 1);

	CHECK(rec != NULL);
	if (!rec)
		return;
	memset(rec, 'y', len);
	rec[len] = '\0';
	CHECK_INT(bms_notify_run(n, "read", rec, len, rd, bms_ts_mono_ms(), collect, &got), 0);
	CHECK_INT(bms_notify_run(n, "skip", rec, len, no, bms_ts_mono_ms(), collect, &got), 0);
	CHECK_INT(bms_notify_next_ms(n, bms_ts_mono_ms()), 10);
	wait_idle(n, 10000);
	CHECK_STR(why_of("read"), "exit status 0");
	CHECK_STR(why_of("skip"), "exit status 0");
	if (find("read") >= 0)
		CHECK_INT(got.r[find("read")].len, len);
	CHECK_INT(atol(scratch_slurp("big", NULL)), len + 1);
	free(rec);
	bms_notify_free(n);
}

/* A start that fails (no descriptor left for the pipe) is reported at
 * once; the event after it starts. */
static void test_cannot_start(void)
{
	struct bms_notify *n = runner("true", 1, 0, 0, 0, 0);
	struct rlimit old, low;
	int fds[64], nfd = 0;

	CHECK_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfd < 64 && (fds[nfd] = open("/dev/null", O_RDONLY)) >= 0)
		nfd++;
	CHECK(nfd < 64);
	CHECK_INT(run(n, "nofd", "{}", NULL), -1);
	while (nfd > 0)
		close(fds[--nfd]);
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &old), 0);
	CHECK_INT(got.n, 1);
	CHECK_STR(got.r[0].why, "cannot start: Too many open files");
	CHECK_INT(got.r[0].end, BMS_NOTIFY_NOSTART);
	CHECK_INT(bms_notify_busy(n), 0);
	CHECK_INT(run(n, "fine", "{}", NULL), 0);
	wait_idle(n, 10000);
	CHECK_STR(why_of("fine"), "exit status 0");
	bms_notify_free(n);
}

int main(void)
{
	int fds;

	if (scratch_open() < 0 || chdir(scratch_dir) < 0)
		return 1;
	fds = fd_count();
	test_big_record();
	/* From here on, signals as every program has them (sig.h). */
	bms_sig_install();
	test_each_event();
	test_process();
	test_stdout();
	test_failures();
	test_timeout();
	test_concurrency();
	test_queue_full();
	test_drain_waits();
	test_rate();
	test_rate_keys();
	test_quick();
	test_cannot_start();
	CHECK_INT(fd_count(), fds);
	CHECK(no_children());
	if (chdir("/") == 0)
		scratch_close();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The --exec runner (see notify.h).  An event becomes a spec, one block
 * holding copies of its key, record and environment strings, owned by a
 * queue slot, then by a job slot, and freed once reported.  Jobs and the
 * queue are arrays of the sizes the options give, made once; the rate
 * table holds at most BMS_NOTIFY_MAX_KEYS entries of rate_n times each,
 * searched linearly (events are alerts: a few a minute, not a stream).
 * Every running job costs one waitid per poll.
 *
 * Commands start with fork and execve, not posix_spawn: glibc's
 * posix_spawn leaves its two internal signals (32 and 33) ignored in the
 * new program, and the command is to start with every signal at its
 * default.  For the same reason the child resets dispositions with the
 * rt_sigaction system call, not sigaction(), which refuses those two: a
 * program itself started by posix_spawn (GNU make 4.4 starts recipes so)
 * has them ignored, and an ignored signal stays ignored across exec.
 * The parent waits for the exec only, not for the command.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "ts.h"

extern char **environ;

#define SHELL "/bin/sh"
#define WRITE_RETRY_MS 10	/* a record not written whole: poll again */
#define DRAIN_STEP_MS 10	/* sleeps of bms_notify_drain */
#define REAP_WAIT_MS 1000	/* waiting for killed processes at drain */

/* An event's copies, in one block. */
struct spec {
	char *key;
	char *rec;		/* rec[len] is NUL; the newline is written apart */
	size_t len;
	char **env;		/* NULL-terminated */
};

struct job {
	pid_t pid;		/* 0: a free slot */
	struct spec *s;
	int wfd;		/* the record's pipe until written whole, else -1 */
	size_t woff;		/* bytes of rec + "\n" written */
	int64_t start;		/* ms */
	int64_t term_at;	/* ms when SIGTERM was sent; -1 not yet */
	int killed;		/* SIGKILL sent */
};

/* The times of a key's last accepted events, oldest at head. */
struct key {
	char *key;
	uint64_t used;		/* the runner's tick at the last lookup */
	int count, head;
	int64_t t[];		/* rate_n of them */
};

struct bms_notify {
	struct bms_notify_opts o;	/* o.cmd points to cmd */
	char *cmd;
	struct job *jobs;	/* max_jobs */
	int running;
	struct spec **queue;	/* a ring of max_queue */
	int qhead, queued;
	struct key **keys;	/* nkeys of BMS_NOTIFY_MAX_KEYS */
	int nkeys;
	uint64_t tick;
	int in_cb;		/* a callback is running: no re-entry */
};

/* ==== Reports ==== */

/* Durations as bms.conf(5) reads them: 300ms, 10s, 1m30s, 2d.  (config.c
 * has a formatter for whole units only; this one writes every unit.) */
static void fmt_span(int64_t ms, char *out, size_t cap)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	size_t o = 0;

	if (ms <= 0) {
		snprintf(out, cap, "0");
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0] && o < cap; i++)
		if (ms >= units[i].ms) {
			o += (size_t)snprintf(out + o, cap - o, "%lld%s",
					      (long long)(ms / units[i].ms), units[i].u);
			ms %= units[i].ms;
		}
}

static void report(struct bms_notify *n, bms_notify_fn fn, void *ctx,
		   const struct spec *s, enum bms_notify_end end, int64_t ms,
		   const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Hand one event's end to fn (none when fn is NULL: bms_notify_free). */
static void report(struct bms_notify *n, bms_notify_fn fn, void *ctx,
		   const struct spec *s, enum bms_notify_end end, int64_t ms,
		   const char *fmt, ...)
{
	struct bms_notify_result r;
	va_list ap;

	if (!fn)
		return;
	r.key = s->key;
	r.rec = s->rec;
	r.len = s->len;
	r.end = end;
	r.ok = end == BMS_NOTIFY_OK;
	r.ms = ms;
	va_start(ap, fmt);
	vsnprintf(r.why, sizeof r.why, fmt, ap);
	va_end(ap);
	n->in_cb = 1;
	fn(ctx, &r);
	n->in_cb = 0;
}

/* ==== Events ==== */

static struct spec *spec_new(const char *key, const char *rec, size_t len,
			     const char *const *env)
{
	size_t nenv = 0, klen = strlen(key), size;
	struct spec *s;
	char *p;

	size = sizeof *s + klen + 1 + len + 1;
	for (; env && env[nenv]; nenv++)
		size += strlen(env[nenv]) + 1;
	size += (nenv + 1) * sizeof(char *);
	s = malloc(size);
	if (!s)
		return NULL;
	s->env = (char **)(s + 1);
	p = (char *)(s->env + nenv + 1);
	for (size_t i = 0; i < nenv; i++) {
		size_t l = strlen(env[i]) + 1;

		s->env[i] = memcpy(p, env[i], l);
		p += l;
	}
	s->env[nenv] = NULL;
	s->key = memcpy(p, key, klen + 1);
	p += klen + 1;
	s->rec = p;
	memcpy(p, rec, len);
	p[len] = '\0';
	s->len = len;
	return s;
}

/* The length of a variable's name: up to '=' or the end. */
static size_t name_len(const char *v)
{
	const char *eq = strchr(v, '=');

	return eq ? (size_t)(eq - v) : strlen(v);
}

/* The caller's environment with the event's strings replacing or added;
 * an array of borrowed strings to free, or NULL. */
static char **make_env(const struct spec *s)
{
	size_t ne = 0, nx = 0, k = 0;
	char **envp;

	while (environ && environ[ne])
		ne++;
	while (s->env[nx])
		nx++;
	envp = malloc((ne + nx + 1) * sizeof *envp);
	if (!envp)
		return NULL;
	for (size_t i = 0; i < ne; i++) {
		size_t l = name_len(environ[i]), j;

		for (j = 0; j < nx; j++)
			if (name_len(s->env[j]) == l && memcmp(s->env[j], environ[i], l) == 0)
				break;
		if (j == nx)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < nx; j++)
		envp[k++] = s->env[j];
	envp[k] = NULL;
	return envp;
}

/* fd moved to 3 or above, close-on-exec (a caller with fd 0, 1 or 2
 * closed must not have the pipe land there); -1 on failure. */
static int high_fd(int fd)
{
	int h;

	if (fd > 2)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return h;
}

/*
 * writev without SIGPIPE: blocked for the call, and one it raised taken
 * back unless one was pending already, so the caller sees EPIPE only.
 */
static ssize_t writev_quiet(int fd, const struct iovec *iov, int cnt)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old, pending;
	int was, e;
	ssize_t r;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was = sigismember(&pending, SIGPIPE);
	r = writev(fd, iov, cnt);
	e = errno;
	if (r < 0 && e == EPIPE && !was)
		sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

/* Write what is left of the record and its newline; the pipe is closed
 * when all is written or the command will not read it. */
static void feed(struct job *j)
{
	struct iovec iov[2];
	size_t total = j->s->len + 1;
	int cnt = 0;
	ssize_t w;

	while (j->wfd >= 0 && j->woff < total) {
		cnt = 0;
		if (j->woff < j->s->len) {
			iov[cnt].iov_base = j->s->rec + j->woff;
			iov[cnt++].iov_len = j->s->len - j->woff;
		}
		iov[cnt].iov_base = "\n";
		iov[cnt++].iov_len = 1;
		w = writev_quiet(j->wfd, iov, cnt);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0)
			break;		/* EPIPE: it exited without reading */
		j->woff += (size_t)w;
	}
	if (j->wfd >= 0) {
		close(j->wfd);
		j->wfd = -1;
	}
}

/*
 * The child between fork and exec: only system calls, on what the parent
 * prepared.  Its own process group; every signal at its default action
 * (exec resets handlers, not an ignored SIGPIPE) and unblocked; the pipe
 * on fd 0, stderr (or /dev/null) on fd 1; every other descriptor closed
 * but efd, close-on-exec, through which a failed exec sends its errno.
 */
static _Noreturn void child(int rfd, int efd, int out_null, int maxfd,
			    char *const argv[], char *const envp[])
{
	/* The kernel's struct sigaction, all zero: SIG_DFL (0), no flags,
	 * no mask, whatever the architecture's layout. */
	static const unsigned long dfl[8];
	sigset_t none;
	int e;

	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)	/* SIGKILL, SIGSTOP: EINVAL */
		syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)(NSIG / 8));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(rfd, STDIN_FILENO) < 0)
		goto fail;
	if (out_null) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			goto fail;
	} else if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		goto fail;
	if ((efd > 3 && close_range(3, (unsigned)efd - 1, 0) < 0) ||
	    close_range((unsigned)efd + 1, ~0U, 0) < 0) {
		for (int fd = 3; fd < maxfd; fd++)	/* a kernel before 5.9 */
			if (fd != efd)
				close(fd);
	}
	execve(SHELL, argv, envp);
fail:
	e = errno;
	while (write(efd, &e, sizeof e) < 0 && errno == EINTR)
		;
	_exit(127);
}

/*
 * Start spec s in the free slot j: fork, and wait only until the child
 * has exec'd the shell (or failed to: its errno comes back through a
 * close-on-exec pipe).  0, or -1 with errno.
 */
static int spawn(struct bms_notify *n, struct job *j, struct spec *s)
{
	char *argv[] = { "sh", "-c", n->cmd, NULL };
	int p[2] = { -1, -1 }, ep[2] = { -1, -1 }, rc = 0, e = 0, out_null, maxfd;
	struct rlimit rl;
	char **envp = NULL;
	ssize_t r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (p[0] = high_fd(p[0])) < 0 ||
	    (p[1] = high_fd(p[1])) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0 || (ep[0] = high_fd(ep[0])) < 0 ||
	    (ep[1] = high_fd(ep[1])) < 0) {
		rc = errno;
		goto out;
	}
	envp = make_env(s);
	if (!envp) {
		rc = ENOMEM;
		goto out;
	}
	out_null = fcntl(STDERR_FILENO, F_GETFD) < 0;
	maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ?
		(int)rl.rlim_cur : 65536;
	pid = fork();
	if (pid < 0) {
		rc = errno;
		goto out;
	}
	if (pid == 0)
		child(p[0], ep[1], out_null, maxfd, argv, envp);
	close(ep[1]);
	ep[1] = -1;
	while ((r = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	if (r > 0) {
		/* It could not exec, and has exited: reap it now. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		rc = r == sizeof e ? e : EIO;
		goto out;
	}
	j->pid = pid;
	j->s = s;
	j->wfd = p[1];
	p[1] = -1;
	j->woff = 0;
	j->term_at = -1;
	j->killed = 0;
	n->running++;
	feed(j);
out:
	free(envp);
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	errno = rc;
	return rc ? -1 : 0;
}

/* Start s in a free slot, or report that it cannot start (and free it).
 * 0 or -1. */
static int start(struct bms_notify *n, struct spec *s, int64_t now,
		 bms_notify_fn fn, void *ctx)
{
	struct job *j = NULL;

	for (int i = 0; i < n->o.max_jobs && !j; i++)
		if (n->jobs[i].pid == 0)
			j = &n->jobs[i];
	assert(j);
	j->start = now;
	if (spawn(n, j, s) == 0)
		return 0;
	report(n, fn, ctx, s, BMS_NOTIFY_NOSTART, 0, "cannot start: %s", strerror(errno));
	free(s);
	return -1;
}

/* Free slot j after its report. */
static void job_done(struct bms_notify *n, struct job *j)
{
	if (j->wfd >= 0)
		close(j->wfd);
	free(j->s);
	memset(j, 0, sizeof *j);
	j->wfd = -1;
	n->running--;
}

/* ==== The rate limit ==== */

static struct key *key_find(struct bms_notify *n, const char *key)
{
	for (int i = 0; i < n->nkeys; i++)
		if (strcmp(n->keys[i]->key, key) == 0) {
			n->keys[i]->used = ++n->tick;
			return n->keys[i];
		}
	return NULL;
}

/* Whether one more event of k may be accepted at now. */
static int key_allows(const struct bms_notify *n, const struct key *k, int64_t now)
{
	return !k || k->count < n->o.rate_n || now - k->t[k->head] >= n->o.rate_ms;
}

/* Count an accepted event of key at now; the key's entry is made when
 * missing, evicting the least recently used one from a full table.  A
 * failed allocation forgets the event (the limit errs on letting it run). */
static void key_count(struct bms_notify *n, struct key *k, const char *key, int64_t now)
{
	int r = n->o.rate_n;

	if (!k) {
		char *copy = strdup(key);
		int at = n->nkeys;

		if (!copy)
			return;
		if (n->nkeys == BMS_NOTIFY_MAX_KEYS) {
			at = 0;
			for (int i = 1; i < n->nkeys; i++)
				if (n->keys[i]->used < n->keys[at]->used)
					at = i;
			k = n->keys[at];
			free(k->key);
		} else {
			k = malloc(sizeof *k + (size_t)r * sizeof k->t[0]);
			if (!k) {
				free(copy);
				return;
			}
			n->keys[n->nkeys++] = k;
		}
		k->key = copy;
		k->used = ++n->tick;
		k->count = k->head = 0;
	}
	if (k->count < r) {
		k->t[(k->head + k->count) % r] = now;
		k->count++;
	} else {
		k->t[k->head] = now;
		k->head = (k->head + 1) % r;
	}
}

/* ==== The runner ==== */

struct bms_notify *bms_notify_new(const struct bms_notify_opts *o)
{
	struct bms_notify *n;

	assert(o->cmd);
	assert(o->max_jobs >= 1 && o->max_queue >= 0 && o->timeout_ms >= 0);
	assert(o->rate_n >= 0 && o->rate_n <= BMS_NOTIFY_MAX_RATE && o->rate_ms >= 0);
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->o = *o;
	n->cmd = strdup(o->cmd);
	n->jobs = calloc((size_t)o->max_jobs, sizeof *n->jobs);
	n->queue = calloc((size_t)o->max_queue + 1, sizeof *n->queue);
	n->keys = o->rate_n && o->rate_ms ?
		calloc(BMS_NOTIFY_MAX_KEYS, sizeof *n->keys) : NULL;
	if (!n->cmd || !n->jobs || !n->queue || (o->rate_n && o->rate_ms && !n->keys)) {
		free(n->cmd);
		free(n->jobs);
		free(n->queue);
		free(n->keys);
		free(n);
		return NULL;
	}
	n->o.cmd = n->cmd;
	for (int i = 0; i < o->max_jobs; i++)
		n->jobs[i].wfd = -1;
	return n;
}

int bms_notify_run(struct bms_notify *n, const char *key, const char *rec, size_t len,
		   const char *const *env, int64_t now_ms, bms_notify_fn fn, void *ctx)
{
	struct spec *s;
	struct key *k = NULL;
	char per[32];

	assert(!n->in_cb && key && (rec || len == 0));
	s = spec_new(key, rec ? rec : "", len, env);
	if (!s) {
		struct spec tmp = { (char *)key, (char *)(rec ? rec : ""), len, NULL };

		report(n, fn, ctx, &tmp, BMS_NOTIFY_NOSTART, 0, "cannot start: %s",
		       strerror(ENOMEM));
		return -1;
	}
	if (n->keys) {
		k = key_find(n, key);
		if (!key_allows(n, k, now_ms)) {
			fmt_span(n->o.rate_ms, per, sizeof per);
			report(n, fn, ctx, s, BMS_NOTIFY_REFUSED, 0, "rate limited (%d per %s)",
			       n->o.rate_n, per);
			free(s);
			return -1;
		}
	}
	if (n->running == n->o.max_jobs || n->queued > 0) {
		if (n->queued == n->o.max_queue) {
			report(n, fn, ctx, s, BMS_NOTIFY_REFUSED, 0, "queue full");
			free(s);
			return -1;
		}
		if (n->keys)
			key_count(n, k, key, now_ms);
		n->queue[(n->qhead + n->queued++) % n->o.max_queue] = s;
		return 0;
	}
	if (n->keys)
		key_count(n, k, key, now_ms);
	return start(n, s, now_ms, fn, ctx);
}

/* The reason a command's wait status gives. */
static enum bms_notify_end status_why(int st, char *why, size_t cap)
{
	if (WIFEXITED(st)) {
		snprintf(why, cap, "exit status %d", WEXITSTATUS(st));
		return WEXITSTATUS(st) == 0 ? BMS_NOTIFY_OK : BMS_NOTIFY_FAILED;
	}
	if (WIFSIGNALED(st))
		snprintf(why, cap, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, cap, "wait status %#x", (unsigned)st);
	return BMS_NOTIFY_FAILED;
}

/* Reap job j if its command has ended: 1 when it was reported, else 0. */
static int reap(struct bms_notify *n, struct job *j, int64_t now,
		bms_notify_fn fn, void *ctx)
{
	char why[128], after[32];
	enum bms_notify_end end;
	siginfo_t si;
	int st = 0;

	si.si_pid = 0;
	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == EINTR)
			return 0;
		/* Reaped behind our back (SIGCHLD ignored): nothing to know. */
		snprintf(why, sizeof why, "cannot wait: %s", strerror(errno));
		report(n, fn, ctx, j->s, BMS_NOTIFY_FAILED, now - j->start, "%s", why);
		job_done(n, j);
		return 1;
	}
	if (si.si_pid == 0)
		return 0;
	/* The shell is a zombie and still holds its group's id: nothing else
	 * can have taken it, so a timed-out group is swept safely. */
	if (j->term_at >= 0)
		kill(-j->pid, SIGKILL);
	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (j->term_at >= 0) {
		fmt_span(n->o.timeout_ms, after, sizeof after);
		report(n, fn, ctx, j->s, BMS_NOTIFY_TIMEOUT, now - j->start,
		       "timed out after %s", after);
	} else {
		end = status_why(st, why, sizeof why);
		report(n, fn, ctx, j->s, end, now - j->start, "%s", why);
	}
	job_done(n, j);
	return 1;
}

void bms_notify_poll(struct bms_notify *n, int64_t now_ms, bms_notify_fn fn, void *ctx)
{
	assert(!n->in_cb);
	for (int i = 0; i < n->o.max_jobs; i++) {
		struct job *j = &n->jobs[i];

		if (j->pid == 0)
			continue;
		if (j->wfd >= 0)
			feed(j);
		if (reap(n, j, now_ms, fn, ctx))
			continue;
		if (n->o.timeout_ms == 0)
			continue;
		if (j->term_at < 0 && now_ms - j->start >= n->o.timeout_ms) {
			kill(-j->pid, SIGTERM);
			j->term_at = now_ms;
		} else if (j->term_at >= 0 && !j->killed &&
			   now_ms - j->term_at >= BMS_NOTIFY_KILL_MS) {
			kill(-j->pid, SIGKILL);
			j->killed = 1;
		}
	}
	while (n->queued > 0 && n->running < n->o.max_jobs) {
		struct spec *s = n->queue[n->qhead];

		n->qhead = (n->qhead + 1) % n->o.max_queue;
		n->queued--;
		start(n, s, now_ms, fn, ctx);
	}
}

int bms_notify_busy(const struct bms_notify *n)
{
	return n->running + n->queued;
}

int64_t bms_notify_next_ms(const struct bms_notify *n, int64_t now_ms)
{
	int64_t next = -1, at;

	for (int i = 0; i < n->o.max_jobs; i++) {
		const struct job *j = &n->jobs[i];

		if (j->pid == 0)
			continue;
		if (n->o.timeout_ms && j->term_at < 0)
			at = j->start + n->o.timeout_ms - now_ms;
		else if (j->term_at >= 0 && !j->killed)
			at = j->term_at + BMS_NOTIFY_KILL_MS - now_ms;
		else if (j->wfd >= 0)
			at = WRITE_RETRY_MS;
		else
			continue;
		if (j->wfd >= 0 && at > WRITE_RETRY_MS)
			at = WRITE_RETRY_MS;
		if (at < 0)
			at = 0;
		if (next < 0 || at < next)
			next = at;
	}
	return next;
}

/* Kill and reap every running command, waiting at most REAP_WAIT_MS for
 * the kernel to end them, and report them and the queued events (to fn
 * when it is not NULL). */
static void abandon(struct bms_notify *n, bms_notify_fn fn, void *ctx)
{
	int64_t now = bms_ts_mono_ms(), until = now + REAP_WAIT_MS;
	struct timespec step = { 0, 5 * 1000000L };
	int st;

	for (int i = 0; i < n->o.max_jobs; i++)
		if (n->jobs[i].pid)
			kill(-n->jobs[i].pid, SIGKILL);
	for (;;) {
		int left = 0;

		for (int i = 0; i < n->o.max_jobs; i++) {
			struct job *j = &n->jobs[i];
			pid_t r;

			if (j->pid == 0)
				continue;
			r = waitpid(j->pid, &st, WNOHANG);
			if (r == 0 && now < until) {
				left++;
				continue;
			}
			report(n, fn, ctx, j->s, BMS_NOTIFY_ABANDONED, now - j->start,
			       "killed at exit");
			job_done(n, j);
		}
		if (!left)
			break;
		nanosleep(&step, NULL);
		now = bms_ts_mono_ms();
	}
	while (n->queued > 0) {
		struct spec *s = n->queue[n->qhead];

		n->qhead = (n->qhead + 1) % n->o.max_queue;
		n->queued--;
		report(n, fn, ctx, s, BMS_NOTIFY_ABANDONED, 0, "not started before exit");
		free(s);
	}
}

void bms_notify_drain(struct bms_notify *n, int64_t max_ms, bms_notify_fn fn, void *ctx)
{
	int64_t now = bms_ts_mono_ms(), end = now + max_ms, step;

	assert(!n->in_cb);
	for (;;) {
		bms_notify_poll(n, now, fn, ctx);
		if (bms_notify_busy(n) == 0 || now >= end)
			break;
		step = bms_notify_next_ms(n, now);
		if (step < 0 || step > DRAIN_STEP_MS)
			step = DRAIN_STEP_MS;
		if (step > end - now)
			step = end - now;
		if (step > 0)
			bms_ts_sleep_ms(step);
		now = bms_ts_mono_ms();
	}
	abandon(n, fn, ctx);
}

void bms_notify_free(struct bms_notify *n)
{
	if (!n)
		return;
	assert(!n->in_cb);
	abandon(n, NULL, NULL);
	for (int i = 0; i < n->nkeys; i++) {
		free(n->keys[i]->key);
		free(n->keys[i]);
	}
	free(n->keys);
	free(n->queue);
	free(n->jobs);
	free(n->cmd);
	free(n);
}

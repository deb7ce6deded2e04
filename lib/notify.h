/* SPDX-License-Identifier: MIT */
/*
 * The runner behind bms-alert --exec CMD: for each event it runs the
 * user's shell command, /bin/sh -c CMD, with the event's record on the
 * command's stdin and the caller's KEY=VALUE strings added to its
 * environment, so that mail, a webhook through curl or ntfy is one line of
 * shell.  The stream is never held up by a command:
 *
 *   - starting is fork and exec, and returns once the shell is exec'd
 *     (a millisecond or so), not when the command ends; the record (one
 *     line plus "\n") is written to the command's stdin pipe without
 *     blocking, the rest of a partial write on later polls.  A command
 *     that exits without reading it is no error.
 *   - nothing waits: the caller calls bms_notify_poll() often (at least
 *     every 100 ms while bms_notify_busy() > 0, sooner when
 *     bms_notify_next_ms() says so), which reaps finished commands with
 *     waitid(WNOHANG) per running command, sends timeout signals and
 *     starts queued events.  There is no SIGCHLD handler and no global
 *     state; the program must leave SIGCHLD at its default action (an
 *     ignored SIGCHLD reaps children behind the runner's back).
 *   - at most max_jobs commands run at once; further events wait, in
 *     order, in a queue of at most max_queue copies (key, record,
 *     environment); an event beyond that is refused, "queue full".
 *   - a command still running timeout_ms after it started gets SIGTERM,
 *     to its whole process group, and SIGKILL one second later if it is
 *     still there.  When a command that timed out is reaped, its group
 *     gets SIGKILL first, so nothing it started outlives it.  A command
 *     that ends on its own is reaped alone: what it put in the background
 *     is its business.
 *   - rate limit per key (bms-alert passes the alert's id): at most
 *     rate_n events of a key are accepted in any rate_ms, a sliding
 *     window over the times of the last rate_n accepted ones (an event is
 *     counted when it is accepted, whether it starts at once or waits in
 *     the queue; a refused event is not counted).  Keys are kept in a
 *     table of at most BMS_NOTIFY_MAX_KEYS; a new key beyond that evicts
 *     the least recently used one, forgetting its window, so that memory
 *     stays the same over months.
 *
 * The command runs in a process group of its own (so a shell pipeline's
 * children are signalled with it, and a Ctrl-C at the terminal does not
 * reach it), with every signal unblocked and at its default action, fd 0
 * the pipe of the record, fd 1 the caller's stderr (the caller's stdout
 * carries records and never receives a command's output; /dev/null if fd
 * 2 is closed), fd 2 the caller's stderr, and no other descriptor.  Its
 * environment is the caller's, with each of the event's KEY=VALUE strings
 * replacing a variable of the same name or added.
 *
 * Every event is reported exactly once through the caller's callback:
 * when it was refused (during bms_notify_run), could not start, finished
 * (successes too), timed out, or was abandoned by bms_notify_drain.
 *
 * Times are milliseconds of the monotonic clock (bms_ts_mono_ms), passed
 * in by the caller; bms_notify_drain reads that clock itself.  Memory is
 * constant: max_jobs running and max_queue queued copies, and the key
 * table of at most BMS_NOTIFY_MAX_KEYS keys of rate_n times each.
 * Single-threaded: the runner briefly blocks SIGPIPE (sigprocmask) around
 * each write to a command, so a command that exits without reading costs
 * no signal even when the program does not ignore SIGPIPE.
 */
#ifndef BMS_NOTIFY_H
#define BMS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define BMS_NOTIFY_MAX_KEYS 1024	/* keys the rate limit remembers */
#define BMS_NOTIFY_MAX_RATE 100		/* largest rate_n */
#define BMS_NOTIFY_KILL_MS 1000		/* from SIGTERM to SIGKILL, ms */

struct bms_notify_opts {
	const char *cmd;	/* the shell command (copied) */
	int max_jobs;		/* commands running at once, >= 1 */
	int max_queue;		/* events waiting for a free slot, >= 0 */
	int64_t timeout_ms;	/* ms a command may run; 0: no limit */
	int rate_n;		/* events accepted per key per rate_ms,
				 * 0..BMS_NOTIFY_MAX_RATE; 0: no limit */
	int64_t rate_ms;	/* ms of the sliding window; 0: no limit */
};

/* How an event ended. */
enum bms_notify_end {
	BMS_NOTIFY_OK = 0,	/* the command exited with status 0 */
	BMS_NOTIFY_FAILED,	/* it exited with another status, or a signal
				 * ended it */
	BMS_NOTIFY_TIMEOUT,	/* it ran past timeout_ms and was killed */
	BMS_NOTIFY_REFUSED,	/* rate limited or queue full: never started */
	BMS_NOTIFY_NOSTART,	/* it could not be started (no pipe, no
				 * process, no memory) */
	BMS_NOTIFY_ABANDONED,	/* killed or dropped by bms_notify_drain */
};

/*
 * One event's end, valid only during the callback.  why is one line:
 *	exit status 0                   exit status 3
 *	killed by signal 9              timed out after 300ms
 *	queue full                      rate limited (3 per 10m)
 *	cannot start: Too many open files
 *	killed at exit                  not started before exit
 * Durations are written as bms.conf(5) reads them: 300ms, 10s, 1m30s.
 */
struct bms_notify_result {
	const char *key;	/* the event's key, NUL-terminated */
	const char *rec;	/* its record, NUL-terminated, without the
				 * newline the command read after it */
	size_t len;		/* bytes of rec */
	int ok;			/* 1 when end is BMS_NOTIFY_OK, else 0 */
	enum bms_notify_end end;
	int64_t ms;		/* how long the command ran, ms; 0 if it
				 * never started */
	char why[160];
};

/*
 * The callback every event is reported through.  It must not call the
 * runner that reports to it (asserted); writing a record about the event
 * is what it is for.
 */
typedef void (*bms_notify_fn)(void *ctx, const struct bms_notify_result *r);

struct bms_notify;

/*
 * A runner for the options o (copied, cmd too); the limits are asserted
 * (a caller checks what a user typed first).  NULL when out of memory.
 */
struct bms_notify *bms_notify_new(const struct bms_notify_opts *o);

/*
 * An event: run the command for key with rec[0..len) (one JSON record,
 * without its newline) on its stdin and env (NULL, or a NULL-terminated
 * array of "KEY=VALUE" strings) added to its environment.  All three are
 * copied.  Returns 0 when the command started or the event was queued
 * (it is reported through fn later, from bms_notify_poll or
 * bms_notify_drain), or -1 when it was refused or could not start: then
 * it has been reported through fn already.  Never waits for the command.
 */
int bms_notify_run(struct bms_notify *n, const char *key, const char *rec, size_t len,
		   const char *const *env, int64_t now_ms, bms_notify_fn fn, void *ctx);

/*
 * Do what is due at now_ms: finish writing records, reap commands that
 * ended and report them, signal those past their time, and start queued
 * events in the freed slots (a start that fails is reported).
 */
void bms_notify_poll(struct bms_notify *n, int64_t now_ms, bms_notify_fn fn, void *ctx);

/* Events not yet reported: commands running plus events queued. */
int bms_notify_busy(const struct bms_notify *n);

/*
 * Milliseconds from now_ms until bms_notify_poll has something timed to
 * do (a timeout, the SIGKILL after it, the rest of a record to write), 0
 * when it is due already, or -1 when nothing is timed.  A caller sleeps
 * no longer than this, nor than 100 ms while bms_notify_busy() > 0.
 */
int64_t bms_notify_next_ms(const struct bms_notify *n, int64_t now_ms);

/*
 * At exit: poll, sleeping in small steps (a stop signal cuts a step short,
 * sig.h), until every running and queued event has been reported or
 * max_ms have passed; then kill the process groups of the commands still
 * running (SIGKILL), reap them (waiting at most another second for
 * processes the kernel is slow to end) and report them and the events
 * still queued as BMS_NOTIFY_ABANDONED.  Afterwards bms_notify_busy() is
 * 0 and the runner may take events again.
 */
void bms_notify_drain(struct bms_notify *n, int64_t max_ms, bms_notify_fn fn, void *ctx);

/*
 * Free the runner (NULL is ignored).  Commands still running are killed
 * and reaped as by bms_notify_drain, but nothing is reported: drain
 * first to hear of them.
 */
void bms_notify_free(struct bms_notify *n);

#endif

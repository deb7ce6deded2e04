/* SPDX-License-Identifier: MIT */
/*
 * Signal flags and signal-safe waiting (see sig.h).  Signals are
 * process-wide, and so is this state.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sig.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;
static volatile sig_atomic_t hup_reloads;	/* SIGHUP is a reload, not a stop */
static sigset_t wait_mask;	/* the mask while waiting: ours unblocked */
static int installed;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	if (hup_reloads)
		hup_flag = 1;
	else
		stop_flag = 1;
}

void bms_sig_install(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGHUP);
	installed = 1;
}

void bms_sig_hup_reloads(void)
{
	hup_reloads = 1;
}

int bms_sig_stopping(void)
{
	return stop_flag;
}

int bms_sig_reload(void)
{
	int r = hup_flag;

	hup_flag = 0;
	return r;
}

/*
 * A ppoll that finds descriptors ready returns without letting a pending
 * signal in (the kernel restores the mask first), so a peer that keeps
 * talking could hide a stop for ever: take such signals here.
 */
static void take_pending(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t ours;
	int sig;

	sigemptyset(&ours);
	sigaddset(&ours, SIGINT);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGHUP);
	while ((sig = sigtimedwait(&ours, NULL, &zero)) > 0) {
		if (sig == SIGHUP)
			on_hup(sig);
		else
			stop_flag = 1;
	}
}

int bms_sig_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts, *tp = NULL;
	int r;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	r = ppoll(fds, n, tp, installed ? &wait_mask : NULL);
	if (r >= 0 && installed)
		take_pending();
	return r;
}

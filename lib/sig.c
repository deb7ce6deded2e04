/* SPDX-License-Identifier: MIT */
/*
 * Signal flags (see sig.h).  Signals are process-wide, so is this state.
 */
#include <signal.h>
#include <string.h>

#include "sig.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	hup_flag = 1;
}

void bms_sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
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

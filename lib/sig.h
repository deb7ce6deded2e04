/* SPDX-License-Identifier: MIT */
/*
 * Signal policy shared by every program: SIGINT and SIGTERM ask for a
 * clean stop (finish the record in hand, flush, exit 0), SIGPIPE is
 * ignored so a closed reader shows up as EPIPE.  SIGHUP is a stop too, as
 * it is by default (a terminal that hangs up ends its programs), unless a
 * program with a configuration to reload asks for it as a reload with
 * bms_sig_hup_reloads().
 *
 * The stop and reload signals are blocked except while a program waits in
 * bms_sig_poll(), which lets them in atomically (ppoll).  So a signal that
 * arrives just before a wait is never lost: the wait returns at once with
 * EINTR, and the caller looks at bms_sig_stopping().  Every blocking wait
 * of a program goes through bms_sig_poll (bms_ts_sleep_ms does).
 */
#ifndef BMS_SIG_H
#define BMS_SIG_H

#include <poll.h>

/* Install the handlers and block the signals; call once from main(). */
void bms_sig_install(void);

/*
 * From now on SIGHUP asks for a reload (bms_sig_reload) instead of a
 * stop: for a program with a configuration it can read again.  Call
 * after bms_sig_install().
 */
void bms_sig_hup_reloads(void);

/* Non-zero once SIGINT, SIGTERM or (unless it reloads) SIGHUP has arrived. */
int bms_sig_stopping(void);

/* Non-zero once if SIGHUP arrived since the last call and
 * bms_sig_hup_reloads() was called; 0 otherwise. */
int bms_sig_reload(void);

/*
 * poll(2) on fds (n may be 0 to just wait) for at most timeout_ms (-1:
 * no limit), with the stop and reload signals let in for the wait only.
 * Returns as poll(2) does: -1 with errno EINTR when a signal arrived.
 */
int bms_sig_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif

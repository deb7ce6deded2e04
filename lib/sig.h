/* SPDX-License-Identifier: MIT */
/*
 * Signal policy shared by every program: SIGINT and SIGTERM ask for a
 * clean stop (finish the record in hand, flush, exit 0), SIGHUP asks for a
 * reload, SIGPIPE is ignored so a closed reader shows up as EPIPE.
 * Handlers are installed without SA_RESTART, so a blocking read or poll
 * returns EINTR and the caller can look at bms_sig_stopping().
 */
#ifndef BMS_SIG_H
#define BMS_SIG_H

/* Install the handlers; call once from main(). */
void bms_sig_install(void);

/* Non-zero once SIGINT or SIGTERM has arrived. */
int bms_sig_stopping(void);

/* Non-zero once if SIGHUP arrived since the last call. */
int bms_sig_reload(void);

#endif

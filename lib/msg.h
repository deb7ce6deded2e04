/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics for cmd/ mains: one line each on stderr, prefixed with the
 * program's name ("bms-read: cannot open '/dev/ttyUSB0': No such file").
 * The library proper never prints; only main() and its helpers use this.
 */
#ifndef BMS_MSG_H
#define BMS_MSG_H

/* Remember the program name (basename of argv0) for every later message. */
void bms_msg_prog(const char *argv0);

/* The name given to bms_msg_prog(), "bms" before it is called. */
const char *bms_msg_name(void);

/* Print "prog: message" on stderr. */
void bms_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "prog: message" on stderr and exit with code (an enum bms_exit). */
void bms_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif

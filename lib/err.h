/* SPDX-License-Identifier: MIT */
/*
 * The library's way of saying why something failed: a one-line reason
 * written into a buffer the caller owns (style: the library never prints).
 */
#ifndef BMS_ERR_H
#define BMS_ERR_H

#include <stddef.h>

/*
 * Format the reason into err[0..errsz) (cut to fit; nothing is written when
 * err is NULL or errsz 0).  Returns -1, so that a failing function can end
 * with "return bms_err_set(err, errsz, ...);".
 */
int bms_err_set(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Turn every control character of s (a message quoting its input, such
 * as a JSON parser's) into a space, so that it stays one line.  Returns s. */
char *bms_err_oneline(char *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * One-line failure reasons in caller-owned buffers (see err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int bms_err_set(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

char *bms_err_oneline(char *s)
{
	for (char *p = s; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

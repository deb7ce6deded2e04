/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test framework for the tests of lib/.  Each CHECK counts one
 * result; a failed check writes "FAIL file:line: ..." to stderr and the
 * test goes on.  A test binary's main() ends with "return unit_done();",
 * which prints exactly one line "N passed, N failed" to stdout (the line
 * tests/run-suites collects) and returns 1 if anything failed.
 *
 * Header-only: include it from exactly one file per test binary.
 */
#ifndef BMS_UNIT_H
#define BMS_UNIT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

static inline bool unit_result(bool ok, const char *file, int line)
{
	if (ok)
		unit_passed++;
	else {
		unit_failed++;
		fprintf(stderr, "FAIL %s:%d: ", file, line);
	}
	return ok;
}

static inline void unit_check(bool ok, const char *file, int line,
			      const char *expr)
{
	if (!unit_result(ok, file, line))
		fprintf(stderr, "%s\n", expr);
}

static inline void unit_check_int(intmax_t got, intmax_t want,
				  const char *file, int line, const char *expr)
{
	if (!unit_result(got == want, file, line))
		fprintf(stderr, "%s is %jd, want %jd\n", expr, got, want);
}

static inline void unit_check_str(const char *got, const char *want,
				  const char *file, int line, const char *expr)
{
	bool ok = got && want ? strcmp(got, want) == 0 : got == want;

	if (!unit_result(ok, file, line))
		fprintf(stderr, "%s\n  got:  %s\n  want: %s\n", expr,
			got ? got : "(null)", want ? want : "(null)");
}

/* Doubles are equal when they print the same with dec decimals. */
static inline void unit_check_num(double got, double want, int dec,
				  const char *file, int line, const char *expr)
{
	char g[64], w[64];

	snprintf(g, sizeof g, "%.*f", dec, got);
	snprintf(w, sizeof w, "%.*f", dec, want);
	if (!unit_result(strcmp(g, w) == 0, file, line))
		fprintf(stderr, "%s is %s, want %s\n", expr, g, w);
}

static inline void unit_check_mem(const void *got, const void *want, size_t n,
				  const char *file, int line, const char *expr)
{
	if (!unit_result(memcmp(got, want, n) == 0, file, line)) {
		fprintf(stderr, "%s\n  got: ", expr);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", ((const unsigned char *)got)[i]);
		fprintf(stderr, "\n  want:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", ((const unsigned char *)want)[i]);
		fputc('\n', stderr);
	}
}

#define CHECK(cond) unit_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_INT(got, want) \
	unit_check_int((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, #got)
#define CHECK_STR(got, want) unit_check_str((got), (want), __FILE__, __LINE__, #got)
#define CHECK_NUM(got, want, dec) \
	unit_check_num((got), (want), (dec), __FILE__, __LINE__, #got)
#define CHECK_MEM(got, want, n) \
	unit_check_mem((got), (want), (n), __FILE__, __LINE__, #got)

/* Print the summary line; the exit status for main(). */
static inline int unit_done(void)
{
	fflush(stderr);
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Timestamps: RFC 3339 UTC with milliseconds for records, and a monotonic
 * millisecond clock for timeouts and intervals.
 */
#ifndef BMS_TS_H
#define BMS_TS_H

#include <stdint.h>
#include <time.h>

#define BMS_TS_LEN 24	/* "2026-11-27T14:29:11.123Z", without the NUL */

/* Write the wall-clock time as "YYYY-MM-DDThh:mm:ss.mmmZ" into out. */
void bms_ts_now(char out[BMS_TS_LEN + 1]);

/* Same for a given time. */
void bms_ts_format(const struct timespec *t, char out[BMS_TS_LEN + 1]);

/* Same for a time in milliseconds since the epoch. */
void bms_ts_format_ms(int64_t ms, char out[BMS_TS_LEN + 1]);

/*
 * Parse an RFC 3339 date-time (fraction of a second optional, "Z" or an
 * offset such as +02:00) of s[0..n) into milliseconds since the epoch;
 * digits past the millisecond are dropped.  Returns 0, or -1 if s is not
 * one, or if the time in UTC falls outside the years 0000-9999 that
 * bms_ts_format_ms writes.
 */
int bms_ts_parse(const char *s, size_t n, int64_t *ms);

/*
 * Parse a time given on a command line: an RFC 3339 date-time, a date
 * (YYYY-MM-DD, midnight UTC), "now", or a span back from now such as
 * "-90s", "-30m", "-24h", "-7d".  Returns 0, or -1.
 */
int bms_ts_parse_arg(const char *s, int64_t now_ms, int64_t *ms);

/* Milliseconds since the epoch of the wall clock. */
int64_t bms_ts_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t bms_ts_mono_ms(void);

/* Sleep for ms milliseconds, returning early (with -1) if a stop or
 * reload signal arrives (see sig.h). */
int bms_ts_sleep_ms(int64_t ms);

#endif

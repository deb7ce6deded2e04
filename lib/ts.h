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

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t bms_ts_mono_ms(void);

/* Sleep for ms milliseconds, returning early (with -1) if a stop or
 * reload signal arrives (see sig.h). */
int bms_ts_sleep_ms(int64_t ms);

#endif

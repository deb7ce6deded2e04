/* SPDX-License-Identifier: MIT */
/*
 * Timestamps (see ts.h).  Formatting is done by hand: this runs once per
 * record, and strftime plus a second snprintf would be the slowest part
 * of a busy reader.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>

#include "sig.h"
#include "ts.h"

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void bms_ts_format(const struct timespec *t, char out[BMS_TS_LEN + 1])
{
	struct tm tm;
	time_t s = t->tv_sec;
	int ms = (int)(t->tv_nsec / 1000000);
	int y;

	gmtime_r(&s, &tm);
	y = tm.tm_year + 1900;
	put2(out, y / 100);
	put2(out + 2, y % 100);
	out[4] = '-';
	put2(out + 5, tm.tm_mon + 1);
	out[7] = '-';
	put2(out + 8, tm.tm_mday);
	out[10] = 'T';
	put2(out + 11, tm.tm_hour);
	out[13] = ':';
	put2(out + 14, tm.tm_min);
	out[16] = ':';
	put2(out + 17, tm.tm_sec);
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	put2(out + 21, ms % 100);
	out[23] = 'Z';
	out[24] = '\0';
}

void bms_ts_now(char out[BMS_TS_LEN + 1])
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	bms_ts_format(&t, out);
}

int64_t bms_ts_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int bms_ts_sleep_ms(int64_t ms)
{
	int64_t end = bms_ts_mono_ms() + ms, left;

	while ((left = end - bms_ts_mono_ms()) > 0) {
		if (bms_sig_poll(NULL, 0, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
		    errno == EINTR)
			return -1;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Timestamps (see ts.h).  Formatting is done by hand: this runs once per
 * record, and strftime plus a second snprintf would be the slowest part
 * of a busy reader.  Conversions between dates and milliseconds use the
 * proleptic Gregorian calendar in plain integer arithmetic (no time zone,
 * no libc state), for the years 0000..9999 that RFC 3339 can write.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "sig.h"
#include "ts.h"

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
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

/* ==== Calendar arithmetic ==== */

#define MS_PER_DAY 86400000LL
/* 0000-01-01 and 10000-01-01 in days since 1970-01-01. */
#define DAY_MIN (-719528LL)
#define DAY_END 2932897LL
/* The times of four-digit years: [MS_MIN, MS_END) ms since the epoch. */
#define MS_MIN (DAY_MIN * MS_PER_DAY)
#define MS_END (DAY_END * MS_PER_DAY)

/* Days since 1970-01-01 of a proleptic Gregorian date (any y, m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day number (inverse of days_from_civil). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const unsigned char dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/*
 * Times before 0000-01-01 or from 10000-01-01 on cannot be written in
 * four year digits: they are clamped to the first and last millisecond
 * of that range.
 */
void bms_ts_format_ms(int64_t ms, char out[BMS_TS_LEN + 1])
{
	int64_t day, rem;
	int y, mo, d, h, mi, s, milli;

	if (ms < MS_MIN)
		ms = MS_MIN;
	else if (ms >= MS_END)
		ms = MS_END - 1;
	day = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		day--;
	}
	civil_from_days(day, &y, &mo, &d);
	milli = (int)(rem % 1000);
	rem /= 1000;
	s = (int)(rem % 60);
	mi = (int)(rem / 60 % 60);
	h = (int)(rem / 3600);
	put2(out, y / 100);
	put2(out + 2, y % 100);
	out[4] = '-';
	put2(out + 5, mo);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, h);
	out[13] = ':';
	put2(out + 14, mi);
	out[16] = ':';
	put2(out + 17, s);
	out[19] = '.';
	out[20] = (char)('0' + milli / 100);
	put2(out + 21, milli % 100);
	out[23] = 'Z';
	out[24] = '\0';
}

/* The same text from a timespec (tv_nsec in 0..999999999), by way of
 * milliseconds; seconds are clamped first, so the product cannot
 * overflow. */
void bms_ts_format(const struct timespec *t, char out[BMS_TS_LEN + 1])
{
	int64_t s = (int64_t)t->tv_sec;

	if (s < MS_MIN / 1000 - 1)
		s = MS_MIN / 1000 - 1;
	else if (s > MS_END / 1000)
		s = MS_END / 1000;
	bms_ts_format_ms(s * 1000 + t->tv_nsec / 1000000, out);
}

/* The n digits at s as a number, or -1 if one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at s (10 bytes) as a day number; -1 if not a valid date. */
static int parse_date(const char *s, int64_t *day)
{
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);

	if (y < 0 || s[4] != '-' || m < 1 || m > 12 || s[7] != '-' ||
	    d < 1 || d > days_in_month(y, m))
		return -1;
	*day = days_from_civil(y, m, d);
	return 0;
}

/*
 * RFC 3339 section 5.6: full-date "T" full-time, with "t" and "z" also
 * taken as the grammar allows.  A leap second (:60) counts as the first
 * second of the next minute.  A fraction may have 1 to 9 digits.  The
 * time in UTC must lie in the four-digit years, as bms_ts_format_ms
 * writes them: an offset or a leap second that moves it out (to before
 * 0000-01-01, or to 10000-01-01 or later) is refused, so every time
 * taken is written back as the same instant.
 */
int bms_ts_parse(const char *s, size_t n, int64_t *ms)
{
	int64_t day, t;
	int h, mi, sec, frac = 0;
	size_t i;

	if (n < 20 || parse_date(s, &day) < 0 || (s[10] != 'T' && s[10] != 't'))
		return -1;
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (h < 0 || h > 23 || s[13] != ':' || mi < 0 || mi > 59 || s[16] != ':' ||
	    sec < 0 || sec > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (i - start < 3)
				frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (i == start || i - start > 9)
			return -1;
		for (size_t k = i - start; k < 3; k++)
			frac *= 10;
	}
	t = day * MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac;
	if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		t -= (s[i] == '+' ? 1 : -1) * ((int64_t)oh * 60 + om) * 60000;
	} else if (i + 1 != n || (s[i] != 'Z' && s[i] != 'z')) {
		return -1;
	}
	if (t < MS_MIN || t >= MS_END)
		return -1;
	*ms = t;
	return 0;
}

int bms_ts_parse_arg(const char *s, int64_t now_ms, int64_t *ms)
{
	size_t n = strlen(s);

	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	if (n >= 3 && s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
		int64_t v = 0, unit;
		size_t i;

		for (i = 1; i < n - 1; i++) {
			/* v * unit must fit for every unit */
			if (s[i] < '0' || s[i] > '9' ||
			    v > (INT64_MAX / MS_PER_DAY - (s[i] - '0')) / 10)
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		switch (s[n - 1]) {
		case 's': unit = 1000; break;
		case 'm': unit = 60000; break;
		case 'h': unit = 3600000; break;
		case 'd': unit = MS_PER_DAY; break;
		default: return -1;
		}
		/* v * unit fits; the difference must too. */
		if (now_ms < INT64_MIN + v * unit)
			return -1;
		*ms = now_ms - v * unit;
		return 0;
	}
	if (n == 10) {
		int64_t day;

		if (parse_date(s, &day) < 0)
			return -1;
		*ms = day * MS_PER_DAY;
		return 0;
	}
	return bms_ts_parse(s, n, ms);
}

int64_t bms_ts_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

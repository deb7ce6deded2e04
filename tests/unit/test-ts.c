/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the timestamp functions (lib/ts.c): formatting and
 * parsing of RFC 3339 times against epochs worked out by hand and
 * against gmtime, and the command-line forms.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ts.h"
#include "unit.h"

static const struct {
	const char *ts;
	int64_t ms;
} known[] = {
	{ "1970-01-01T00:00:00.000Z", 0 },
	{ "1970-01-01T00:00:00.001Z", 1 },
	{ "1969-12-31T23:59:59.999Z", -1 },
	{ "1969-07-20T20:17:40.000Z", -14182940000LL },
	{ "2000-03-01T00:00:00.000Z", 951868800000LL },
	{ "2024-02-29T23:59:59.999Z", 1709251199999LL },
	{ "2026-11-27T14:29:11.123Z", 1795789751123LL },
	{ "1900-03-01T00:00:00.000Z", -2203891200000LL },
	{ "0001-01-01T00:00:00.000Z", -62135596800000LL },
	{ "0000-01-01T00:00:00.000Z", -62167219200000LL },
	{ "9999-12-31T23:59:59.999Z", 253402300799999LL },
	{ "2038-01-19T03:14:08.000Z", 2147483648000LL },
};

static int64_t parse(const char *s)
{
	int64_t ms = 0x7eadbeef;

	if (bms_ts_parse(s, strlen(s), &ms) < 0)
		return -999;
	return ms;
}

static void test_known(void)
{
	char out[BMS_TS_LEN + 1];

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		bms_ts_format_ms(known[i].ms, out);
		CHECK_STR(out, known[i].ts);
		CHECK_INT(parse(known[i].ts), known[i].ms);
	}
	/* Outside the four-digit years: clamped. */
	bms_ts_format_ms(-62167219200001LL, out);
	CHECK_STR(out, "0000-01-01T00:00:00.000Z");
	bms_ts_format_ms(INT64_MIN, out);
	CHECK_STR(out, "0000-01-01T00:00:00.000Z");
	bms_ts_format_ms(253402300800000LL, out);
	CHECK_STR(out, "9999-12-31T23:59:59.999Z");
	bms_ts_format_ms(INT64_MAX, out);
	CHECK_STR(out, "9999-12-31T23:59:59.999Z");
	/* The timespec form, clamped the same way. */
	bms_ts_format(&(struct timespec){ 1795789751, 123999999 }, out);
	CHECK_STR(out, "2026-11-27T14:29:11.123Z");
	bms_ts_format(&(struct timespec){ -1, 999000000 }, out);
	CHECK_STR(out, "1969-12-31T23:59:59.999Z");
	bms_ts_format(&(struct timespec){ -62167219201LL, 0 }, out);
	CHECK_STR(out, "0000-01-01T00:00:00.000Z");
	bms_ts_format(&(struct timespec){ INT64_MIN, 0 }, out);
	CHECK_STR(out, "0000-01-01T00:00:00.000Z");
	bms_ts_format(&(struct timespec){ 253402300800LL, 0 }, out);
	CHECK_STR(out, "9999-12-31T23:59:59.999Z");
	bms_ts_format(&(struct timespec){ INT64_MAX, 999999999 }, out);
	CHECK_STR(out, "9999-12-31T23:59:59.999Z");
}

static void test_forms(void)
{
	const int64_t t = 1795789751123LL;	/* 2026-11-27T14:29:11.123Z */

	/* Offsets. */
	CHECK_INT(parse("2026-11-27T16:29:11.123+02:00"), t);
	CHECK_INT(parse("2026-11-27T08:59:11.123-05:30"), t);
	CHECK_INT(parse("2026-11-27T14:29:11.123+00:00"), t);
	CHECK_INT(parse("2026-11-27T14:29:11.123-00:00"), t);
	CHECK_INT(parse("2026-11-28T00:29:11.123+10:00"), t);
	CHECK_INT(parse("2026-11-26T23:59:11.123-14:30"), t);
	CHECK_INT(parse("1970-01-01T00:59:59.999+01:00"), -1);
	/* Fractions: 1 to 9 digits, cut to the millisecond. */
	CHECK_INT(parse("2026-11-27T14:29:11Z"), t - 123);
	CHECK_INT(parse("2026-11-27T14:29:11.1Z"), t - 23);
	CHECK_INT(parse("2026-11-27T14:29:11.12Z"), t - 3);
	CHECK_INT(parse("2026-11-27T14:29:11.1239Z"), t);
	CHECK_INT(parse("2026-11-27T14:29:11.123999999Z"), t);
	CHECK_INT(parse("1969-12-31T23:59:59.9999Z"), -1);
	/* Lower case letters, as the grammar allows. */
	CHECK_INT(parse("2026-11-27t14:29:11.123z"), t);
	/* A leap second counts as the next minute's first. */
	CHECK_INT(parse("2016-12-31T23:59:60Z"), 1483228800000LL);
	/* Leap days. */
	CHECK_INT(parse("2000-02-29T00:00:00Z"), 951782400000LL);
	CHECK_INT(parse("2024-02-29T12:00:00Z"), 1709208000000LL);
	CHECK_INT(parse("2023-02-29T12:00:00Z"), -999);
	CHECK_INT(parse("1900-02-29T12:00:00Z"), -999);
	CHECK_INT(parse("2100-02-29T12:00:00Z"), -999);
	CHECK_INT(parse("0000-02-29T00:00:00Z"), -62162121600000LL);
	CHECK_INT(parse("2026-04-31T00:00:00Z"), -999);
	CHECK_INT(parse("2026-12-31T00:00:00Z"), 1798675200000LL);
	/* Only times in the four-digit years, where they are written back
	 * as the same instant: an offset or a leap second must not move
	 * them out (review 2026-11-27). */
	CHECK_INT(parse("0000-01-01T00:00:00+00:00"), -62167219200000LL);
	CHECK_INT(parse("0000-01-01T00:59:59.999+01:00"), -999);
	CHECK_INT(parse("0000-01-01T01:00:00+01:00"), -62167219200000LL);
	CHECK_INT(parse("0000-01-01T00:00:00.000+00:01"), -999);
	CHECK_INT(parse("0000-01-01T00:00:00-00:01"), -62167219140000LL);
	CHECK_INT(parse("9999-12-31T23:59:59.999-00:00"), 253402300799999LL);
	CHECK_INT(parse("9999-12-31T23:00:00-01:00"), -999);
	CHECK_INT(parse("9999-12-31T22:59:59.999-01:00"), 253402300799999LL);
	CHECK_INT(parse("9999-12-31T23:59:59.999-23:59"), -999);
	CHECK_INT(parse("9999-12-31T23:59:60Z"), -999);
	CHECK_INT(parse("9999-12-31T23:59:60+00:01"), 253402300740000LL);
	/* Only the given bytes count. */
	{
		int64_t ms;

		CHECK_INT(bms_ts_parse("2026-11-27T14:29:11.123Zjunk", 24, &ms), 0);
		CHECK_INT(ms, t);
		CHECK_INT(bms_ts_parse("2026-11-27T14:29:11.123Z", 23, &ms), -1);
	}
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"", "2026", "2026-11-27", "2026-11-27T14:29Z",
		"2026-11-27T14:29:11", "2026-11-27T14:29:11.123",
		"2026-11-27 14:29:11.123Z", "2026-11-27_14:29:11Z",
		"2026-13-27T14:29:11Z", "2026-00-27T14:29:11Z", "2026-11-00T14:29:11Z",
		"2026-11-32T14:29:11Z", "2026-11-27T24:00:00Z", "2026-11-27T14:60:11Z",
		"2026-11-27T14:29:61Z", "2026-11-27T14:29:11.Z",
		"2026-11-27T14:29:11.1234567891Z", "2026-11-27T14:29:11.123ZZ",
		"2026-11-27T14:29:11.123 ", "2026-11-27T14:29:11+2:00",
		"2026-11-27T14:29:11+02", "2026-11-27T14:29:11+0200",
		"2026-11-27T14:29:11+24:00", "2026-11-27T14:29:11+02:60",
		"2026-11-27T14:29:11+02:00Z", "+2026-11-27T14:29:11Z",
		"2026/11/27T14:29:11Z", "2026-1-27T14:29:11Z", "20261127T142911Z",
		"2026-11-27T14:29:11.-1Z", "2026-11-27T1a:29:11Z", "x026-11-27T14:29:11Z",
		"2026-11-27T14:29:11.123UTC",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t got = parse(bad[i]);

		if (!unit_result(got == -999, __FILE__, __LINE__))
			fprintf(stderr, "'%s' parsed as %jd\n", bad[i], (intmax_t)got);
	}
}

static void test_roundtrip(void)
{
	char out[BMS_TS_LEN + 1], ref[64];
	uint64_t x = 88172645463325252ull;
	int bad = 0;

	for (int i = 0; i < 200000; i++) {
		int64_t ms, back;
		struct timespec t;

		/* xorshift over the whole range of four-digit years */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = (int64_t)(x % (253402300800000ull + 62167219200000ull)) -
		     62167219200000LL;
		bms_ts_format_ms(ms, out);
		if (bms_ts_parse(out, BMS_TS_LEN, &back) < 0 || back != ms) {
			if (bad++ < 3)
				fprintf(stderr, "%jd -> %s\n", (intmax_t)ms, out);
			continue;
		}
		/* The same text as gmtime gives, from 1900 on (where a
		 * 32-bit tm_year is no concern), and from the timespec
		 * form. */
		if (ms >= -2208988800000LL) {
			struct tm tm;

			t.tv_sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
			t.tv_nsec = (long)(ms - (int64_t)t.tv_sec * 1000) * 1000000 + 999999;
			gmtime_r(&t.tv_sec, &tm);
			snprintf(ref, sizeof ref, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, t.tv_nsec / 1000000);
			if (strcmp(out, ref) != 0 && bad++ < 3)
				fprintf(stderr, "%jd: %s but gmtime says %s\n",
					(intmax_t)ms, out, ref);
			bms_ts_format(&t, out);
			if (strcmp(out, ref) != 0 && bad++ < 3)
				fprintf(stderr, "%jd: bms_ts_format gives %s, not %s\n",
					(intmax_t)ms, out, ref);
		}
	}
	CHECK_INT(bad, 0);
}

static void test_arg(void)
{
	const int64_t now = 1795789751123LL;
	int64_t ms;

	CHECK_INT(bms_ts_parse_arg("now", now, &ms), 0);
	CHECK_INT(ms, now);
	CHECK_INT(bms_ts_parse_arg("-90s", now, &ms), 0);
	CHECK_INT(ms, now - 90000);
	CHECK_INT(bms_ts_parse_arg("-30m", now, &ms), 0);
	CHECK_INT(ms, now - 1800000);
	CHECK_INT(bms_ts_parse_arg("-24h", now, &ms), 0);
	CHECK_INT(ms, now - 86400000);
	CHECK_INT(bms_ts_parse_arg("-7d", now, &ms), 0);
	CHECK_INT(ms, now - 7 * 86400000LL);
	CHECK_INT(bms_ts_parse_arg("-0s", now, &ms), 0);
	CHECK_INT(ms, now);
	CHECK_INT(bms_ts_parse_arg("2026-11-27", now, &ms), 0);
	CHECK_INT(ms, 1795737600000LL);
	CHECK_INT(bms_ts_parse_arg("1969-12-31", now, &ms), 0);
	CHECK_INT(ms, -86400000);
	CHECK_INT(bms_ts_parse_arg("2026-11-27T14:29:11.123Z", now, &ms), 0);
	CHECK_INT(ms, now);
	CHECK_INT(bms_ts_parse_arg("2026-11-27T15:29:11+01:00", now, &ms), 0);
	CHECK_INT(ms, now - 123);
	CHECK_INT(bms_ts_parse_arg("-106751991167d", 0, &ms), 0);
	CHECK_INT(ms, -106751991167LL * 86400000);

	ms = 5;
	CHECK_INT(bms_ts_parse_arg("", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("Now", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-s", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-5", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-5x", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-5 s", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("5s", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("+5s", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("--5s", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-1.5h", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-106751991168d", 0, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-99999999999999999999999d", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("-1s", INT64_MIN, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("2026-02-30", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("2026-11-27T", now, &ms), -1);
	CHECK_INT(bms_ts_parse_arg("yesterday", now, &ms), -1);
	CHECK_INT(ms, 5);
}

static void test_now(void)
{
	int64_t a = (int64_t)time(NULL) * 1000, b = bms_ts_now_ms();

	CHECK(b >= a && b < a + 5000);
}

int main(void)
{
	test_known();
	test_forms();
	test_bad();
	test_roundtrip();
	test_arg();
	test_now();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/agg: bucket alignment (before 1970 too), the
 * accumulator (metrics absent from some readings, the last value by
 * time, a tie going to the reading added later, the mean's rounding),
 * the merge of partial buckets, period names, and the record and CSV
 * text, every line compared whole.
 */
#include <string.h>

#include "agg.h"
#include "buf.h"
#include "reading.h"
#include "ts.h"
#include "unit.h"

/* ==== Helpers ==== */

static int64_t ts_of(const char *t)
{
	int64_t ms = 0;

	CHECK_INT(bms_ts_parse(t, strlen(t), &ms), 0);
	return ms;
}

/* The record of b (a static buffer of a ring of four). */
static const char *line(const struct bms_agg_bucket *b, const char *id, const char *tenant)
{
	static struct bms_buf buf[4];
	static int k;

	k = (k + 1) % 4;
	bms_buf_reset(&buf[k]);
	bms_agg_json(b, id, strlen(id), tenant, &buf[k]);
	bms_buf_putc(&buf[k], '\0');
	return buf[k].p;
}

static void rclear(struct bms_reading *r)
{
	bms_reading_clear(r);
}

static void volt(struct bms_reading *r, double v)
{
	r->pack_voltage = v;
	r->have |= BMS_R_VOLTAGE;
}

static void cur(struct bms_reading *r, double v)
{
	r->pack_current = v;
	r->have |= BMS_R_CURRENT;
}

static void power(struct bms_reading *r, double v)
{
	r->pack_power = v;
	r->have |= BMS_R_POWER;
}

static void soc(struct bms_reading *r, double v)
{
	r->soc_percent = v;
	r->have |= BMS_R_SOC;
}

static void cells(struct bms_reading *r, int n, const double *v)
{
	r->ncells = n;
	memcpy(r->cells, v, sizeof *v * (size_t)n);
	r->have |= BMS_R_CELLS;
}

static void temps(struct bms_reading *r, int n, const double *v)
{
	r->ntemps = n;
	memcpy(r->temps, v, sizeof *v * (size_t)n);
	r->have |= BMS_R_TEMPS;
}

/* ==== Alignment ==== */

static void test_align(void)
{
	const int64_t m = BMS_AGG_MINUTE_MS, h = BMS_AGG_HOUR_MS;

	CHECK_INT(bms_agg_align(0, m), 0);
	CHECK_INT(bms_agg_align(59999, m), 0);
	CHECK_INT(bms_agg_align(60000, m), 60000);
	CHECK_INT(bms_agg_align(-1, m), -60000);
	CHECK_INT(bms_agg_align(-60000, m), -60000);
	CHECK_INT(bms_agg_align(-60001, m), -120000);
	CHECK_INT(bms_agg_align(-1, h), -3600000);
	CHECK_INT(bms_agg_align(ts_of("2026-11-27T10:59:59.999Z"), h),
		  ts_of("2026-11-27T10:00:00Z"));
	CHECK_INT(bms_agg_align(ts_of("2026-11-27T10:44:59.999Z"), 15 * m),
		  ts_of("2026-11-27T10:30:00Z"));
	CHECK_INT(bms_agg_align(1001, 250), 1000);
	CHECK_INT(bms_agg_align(-1001, 250), -1250);
}

/* ==== The accumulator ==== */

/* Four readings of one minute: metrics missing from some, times out of
 * order, and two at the same time (10:00:40). */
static const char A_LINE[] =
	"{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":\"2026-11-27T10:00:00.000Z\","
	"\"period\":\"1m\",\"n\":4,"
	"\"pack_voltage\":{\"min\":52,\"max\":54,\"mean\":53,\"last\":52},"
	"\"pack_current\":{\"min\":-2,\"max\":-1,\"mean\":-1.5,\"last\":-1},"
	"\"pack_power\":{\"min\":100,\"max\":100,\"mean\":100,\"last\":100},"
	"\"soc_percent\":{\"min\":50,\"max\":51,\"mean\":50.5,\"last\":51},"
	"\"cell_voltage_min\":{\"min\":3.2,\"max\":3.2,\"mean\":3.2,\"last\":3.2},"
	"\"cell_voltage_max\":{\"min\":3.3,\"max\":3.3,\"mean\":3.3,\"last\":3.3},"
	"\"temperature_min\":{\"min\":20.5,\"max\":20.5,\"mean\":20.5,\"last\":20.5},"
	"\"temperature_max\":{\"min\":25,\"max\":25,\"mean\":25,\"last\":25}}";

static struct bms_reading ra[4];
static int64_t ta[4];

static void make_a(void)
{
	static const double c[] = { 3.3, 3.2, 3.25 }, t[] = { 25, 20.5 };

	for (int i = 0; i < 4; i++)
		rclear(&ra[i]);
	ta[0] = ts_of("2026-11-27T10:00:40Z");
	volt(&ra[0], 52), cur(&ra[0], -1), soc(&ra[0], 50);
	ta[1] = ts_of("2026-11-27T10:00:10Z");
	volt(&ra[1], 53), power(&ra[1], 100), cells(&ra[1], 3, c);
	ta[2] = ts_of("2026-11-27T10:00:40Z");
	soc(&ra[2], 51), temps(&ra[2], 2, t);
	ta[3] = ts_of("2026-11-27T10:00:20Z");
	volt(&ra[3], 54), cur(&ra[3], -2);
}

static void test_accumulate(void)
{
	struct bms_agg_bucket b;

	make_a();
	bms_agg_init(&b, BMS_AGG_MINUTE_MS);
	CHECK_INT(b.n, 0);
	CHECK_INT(bms_agg_outside(&b, 0), 0);	/* empty: anything fits */
	for (int i = 0; i < 4; i++) {
		CHECK_INT(bms_agg_outside(&b, ta[i]), 0);
		bms_agg_add(&b, ta[i], &ra[i]);
	}
	CHECK_STR(line(&b, "k1", NULL), A_LINE);
	CHECK_INT(b.n, 4);
	CHECK_INT(b.start, ts_of("2026-11-27T10:00:00Z"));
	CHECK_INT(b.last_ts, ts_of("2026-11-27T10:00:40Z"));
	CHECK_INT(b.m[BMS_AGG_VOLTAGE].n, 3);
	CHECK_INT(b.m[BMS_AGG_VOLTAGE].last_ts, ts_of("2026-11-27T10:00:40Z"));
	CHECK_INT(b.m[BMS_AGG_POWER].n, 1);
	CHECK_INT(bms_agg_outside(&b, ts_of("2026-11-27T10:00:59.999Z")), 0);
	CHECK_INT(bms_agg_outside(&b, ts_of("2026-11-27T10:01:00Z")), 1);
	CHECK_INT(bms_agg_outside(&b, ts_of("2026-11-27T09:59:59.999Z")), 1);

	/* The same readings through bms_agg_point, as for several periods. */
	{
		struct bms_agg_bucket b2;
		struct bms_agg_point p;

		bms_agg_init(&b2, BMS_AGG_MINUTE_MS);
		for (int i = 0; i < 4; i++) {
			bms_agg_point(&ra[i], &p);
			bms_agg_add_point(&b2, ta[i], &p);
		}
		CHECK_STR(line(&b2, "k1", NULL), A_LINE);
		bms_agg_point(&ra[2], &p);
		CHECK_INT(p.have, 1u << BMS_AGG_SOC | 1u << BMS_AGG_TEMP_MIN |
			  1u << BMS_AGG_TEMP_MAX);
	}
}

/* The mean is sum / n with at most four decimals, like every number. */
static void test_mean(void)
{
	struct bms_agg_bucket b;
	struct bms_reading r;

	bms_agg_init(&b, BMS_AGG_MINUTE_MS);
	rclear(&r);
	volt(&r, 1), cur(&r, 2), soc(&r, 3.14159265);
	bms_agg_add(&b, 0, &r);
	rclear(&r);
	volt(&r, 1), cur(&r, 2);
	bms_agg_add(&b, 1, &r);
	rclear(&r);
	volt(&r, 2), cur(&r, 1);
	bms_agg_add(&b, 2, &r);
	CHECK_STR(line(&b, "k1", NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"1970-01-01T00:00:00.000Z\",\"period\":\"1m\",\"n\":3,"
		  "\"pack_voltage\":{\"min\":1,\"max\":2,\"mean\":1.3333,\"last\":2},"
		  "\"pack_current\":{\"min\":1,\"max\":2,\"mean\":1.6667,\"last\":1},"
		  "\"soc_percent\":{\"min\":3.1416,\"max\":3.1416,\"mean\":3.1416,"
		  "\"last\":3.1416}}");
}

/* Readings without any metric count; an empty list of cells is none. */
static void test_no_metrics(void)
{
	struct bms_agg_bucket b;
	struct bms_reading r;

	bms_agg_init(&b, BMS_AGG_MINUTE_MS);
	rclear(&r);
	bms_agg_add(&b, 30000, &r);
	r.have = BMS_R_CELLS | BMS_R_TEMPS | BMS_R_SOH;	/* no cells, no probes */
	r.soh_percent = 99;
	bms_agg_add(&b, 10000, &r);
	CHECK_STR(line(&b, "k1", NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"1970-01-01T00:00:00.000Z\",\"period\":\"1m\",\"n\":2}");
	CHECK_INT(b.last_ts, 30000);
}

/* Before 1970 a bucket still starts at the multiple below. */
static void test_negative(void)
{
	struct bms_agg_bucket m, h;
	struct bms_reading r;
	struct bms_buf csv = BMS_BUF_INIT;
	const int64_t t[] = { -1, -60000 };
	const double v[] = { 12, 13 };

	bms_agg_init(&m, BMS_AGG_MINUTE_MS);
	bms_agg_init(&h, BMS_AGG_HOUR_MS);
	for (int i = 0; i < 2; i++) {
		rclear(&r);
		volt(&r, v[i]);
		CHECK_INT(bms_agg_outside(&m, t[i]), 0);
		bms_agg_add(&m, t[i], &r);
		bms_agg_add(&h, t[i], &r);
	}
	CHECK_INT(bms_agg_outside(&m, -60001), 1);
	CHECK_INT(bms_agg_outside(&m, 0), 1);
	CHECK_INT(bms_agg_outside(&h, -3600000), 0);
	CHECK_INT(bms_agg_outside(&h, -3600001), 1);
	CHECK_STR(line(&m, "k1", NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"1969-12-31T23:59:00.000Z\",\"period\":\"1m\",\"n\":2,"
		  "\"pack_voltage\":{\"min\":12,\"max\":13,\"mean\":12.5,\"last\":12}}");
	CHECK_STR(line(&h, "k1", NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"1969-12-31T23:00:00.000Z\",\"period\":\"1h\",\"n\":2,"
		  "\"pack_voltage\":{\"min\":12,\"max\":13,\"mean\":12.5,\"last\":12}}");

	/* The same bucket as CSV. */
	bms_agg_csv_tail(&m, &csv);
	bms_buf_putc(&csv, '\0');
	CHECK_STR(csv.p, ",1m,2,12,13,12.5,12"
		  ",,,,"  ",,,,"  ",,,,"  ",,,,"  ",,,,"  ",,,,"  ",,,,");	/* 7 metrics empty */
	bms_buf_reset(&csv);
	bms_agg_csv_header(&csv);
	bms_buf_putc(&csv, '\0');
	CHECK_STR(csv.p, "timestamp,bms_id,period,n,"
		  "pack_voltage_min,pack_voltage_max,pack_voltage_mean,pack_voltage_last,"
		  "pack_current_min,pack_current_max,pack_current_mean,pack_current_last,"
		  "pack_power_min,pack_power_max,pack_power_mean,pack_power_last,"
		  "soc_percent_min,soc_percent_max,soc_percent_mean,soc_percent_last,"
		  "cell_voltage_min_min,cell_voltage_min_max,cell_voltage_min_mean,"
		  "cell_voltage_min_last,"
		  "cell_voltage_max_min,cell_voltage_max_max,cell_voltage_max_mean,"
		  "cell_voltage_max_last,"
		  "temperature_min_min,temperature_min_max,temperature_min_mean,"
		  "temperature_min_last,"
		  "temperature_max_min,temperature_max_max,temperature_max_mean,"
		  "temperature_max_last");
	bms_buf_free(&csv);
}

/* ==== Merge ==== */

static void test_merge(void)
{
	struct bms_agg_bucket p, q, e, x;

	make_a();
	/* p: the first two readings, q: the other two. */
	bms_agg_init(&p, BMS_AGG_MINUTE_MS);
	bms_agg_init(&q, BMS_AGG_MINUTE_MS);
	bms_agg_init(&e, BMS_AGG_MINUTE_MS);
	for (int i = 0; i < 2; i++)
		bms_agg_add(&p, ta[i], &ra[i]);
	for (int i = 2; i < 4; i++)
		bms_agg_add(&q, ta[i], &ra[i]);

	/* p's voltage (10:00:40) stays the last over q's (10:00:20); q's soc
	 * at the same time as p's wins, as it came later; q's probes and
	 * p's power are each on one side only. */
	x = p;
	bms_agg_merge(&x, &q);
	CHECK_STR(line(&x, "k1", NULL), A_LINE);
	CHECK_INT(x.n, 4);
	CHECK_INT(x.last_ts, ts_of("2026-11-27T10:00:40Z"));

	/* The other way round the tie goes to p's soc, 50. */
	x = q;
	bms_agg_merge(&x, &p);
	CHECK_STR(line(&x, "k1", NULL),
		  "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"2026-11-27T10:00:00.000Z\",\"period\":\"1m\",\"n\":4,"
		  "\"pack_voltage\":{\"min\":52,\"max\":54,\"mean\":53,\"last\":52},"
		  "\"pack_current\":{\"min\":-2,\"max\":-1,\"mean\":-1.5,\"last\":-1},"
		  "\"pack_power\":{\"min\":100,\"max\":100,\"mean\":100,\"last\":100},"
		  "\"soc_percent\":{\"min\":50,\"max\":51,\"mean\":50.5,\"last\":50},"
		  "\"cell_voltage_min\":{\"min\":3.2,\"max\":3.2,\"mean\":3.2,\"last\":3.2},"
		  "\"cell_voltage_max\":{\"min\":3.3,\"max\":3.3,\"mean\":3.3,\"last\":3.3},"
		  "\"temperature_min\":{\"min\":20.5,\"max\":20.5,\"mean\":20.5,\"last\":20.5},"
		  "\"temperature_max\":{\"min\":25,\"max\":25,\"mean\":25,\"last\":25}}");

	/* Empty on either side. */
	x = e;
	bms_agg_merge(&x, &p);
	CHECK_STR(line(&x, "k1", NULL), line(&p, "k1", NULL));
	CHECK_INT(x.start, p.start);
	x = p;
	bms_agg_merge(&x, &e);
	CHECK_STR(line(&x, "k1", NULL), line(&p, "k1", NULL));
	CHECK_INT(x.n, 2);

	/* One reading at a time merged in is the same as adding them. */
	bms_agg_init(&x, BMS_AGG_MINUTE_MS);
	for (int i = 0; i < 4; i++) {
		struct bms_agg_bucket one;

		bms_agg_init(&one, BMS_AGG_MINUTE_MS);
		bms_agg_add(&one, ta[i], &ra[i]);
		bms_agg_merge(&x, &one);
	}
	CHECK_STR(line(&x, "k1", NULL), A_LINE);
}

/* ==== The record ==== */

static void test_period_names(void)
{
	char s[BMS_AGG_PERIOD_LEN];

	CHECK_STR(bms_agg_period_name(60000, s), "1m");
	CHECK_STR(bms_agg_period_name(3600000, s), "1h");
	CHECK_STR(bms_agg_period_name(900000, s), "15m");
	CHECK_STR(bms_agg_period_name(86400000, s), "1d");
	CHECK_STR(bms_agg_period_name(2 * 86400000, s), "2d");
	CHECK_STR(bms_agg_period_name(129600000, s), "36h");
	CHECK_STR(bms_agg_period_name(30000, s), "30s");
	CHECK_STR(bms_agg_period_name(90000, s), "90s");
	CHECK_STR(bms_agg_period_name(250, s), "250ms");
	CHECK_STR(bms_agg_period_name(1, s), "1ms");
}

/* A tenant goes after the timestamp; names are escaped as JSON. */
static void test_record(void)
{
	struct bms_agg_bucket b;
	struct bms_reading r;

	bms_agg_init(&b, 15 * BMS_AGG_MINUTE_MS);
	rclear(&r);
	power(&r, -1234.56789);
	bms_agg_add(&b, ts_of("2026-11-27T10:44:59.999Z"), &r);
	CHECK_STR(line(&b, "a\"b\\c", "lab"),
		  "{\"type\":\"aggregate\",\"bms_id\":\"a\\\"b\\\\c\",\"timestamp\":"
		  "\"2026-11-27T10:30:00.000Z\",\"tenant\":\"lab\",\"period\":\"15m\",\"n\":1,"
		  "\"pack_power\":{\"min\":-1234.5679,\"max\":-1234.5679,\"mean\":-1234.5679,"
		  "\"last\":-1234.5679}}");
}

/* ==== What windows add ==== */

/* The standard deviation from shifted sums: exact 0 for a constant, the
 * same after a merge of parts; the lowest and highest cell by number. */
static void test_window_extras(void)
{
	struct bms_agg_bucket b, p, q;
	struct bms_agg_stat c = { 0 };
	struct bms_reading r;
	struct bms_buf out = BMS_BUF_INIT;
	static const double c1[] = { 3.3, 3.2, 3.2, 3.4 }, c2[] = { 3.19, 3.3, 3.4, 3.41 };

	for (int i = 0; i < 100000; i++)
		bms_agg_stat_add(&c, 53.419, i);
	CHECK_NUM(bms_agg_stddev(&c), 0, 12);
	bms_agg_init(&b, BMS_AGG_MINUTE_MS);
	bms_agg_init(&p, BMS_AGG_MINUTE_MS);
	bms_agg_init(&q, BMS_AGG_MINUTE_MS);
	for (int i = 0; i < 4; i++) {
		rclear(&r);
		volt(&r, 50 + i);
		cells(&r, 4, i < 2 ? c1 : c2);
		bms_agg_add(&b, i * 1000, &r);
		bms_agg_add(i < 2 ? &p : &q, i * 1000, &r);
	}
	CHECK_NUM(bms_agg_stddev(&b.m[BMS_AGG_VOLTAGE]), 1.118034, 6);
	bms_agg_merge(&p, &q);
	CHECK_NUM(bms_agg_stddev(&p.m[BMS_AGG_VOLTAGE]), 1.118034, 6);
	CHECK_INT(b.cell_low, 1);	/* 3.19 in the third reading */
	CHECK_INT(b.cell_high, 4);
	CHECK_INT(p.cell_low, 1);
	CHECK_INT(p.cell_high, 4);
	bms_agg_init(&q, BMS_AGG_MINUTE_MS);
	rclear(&r);
	cells(&r, 4, c1);
	bms_agg_add(&q, 0, &r);
	CHECK_INT(q.cell_low, 2);	/* the first of the two at 3.2 */
	CHECK_INT(q.cell_high, 4);
	bms_agg_json_open(&q, "k1", 2, NULL, BMS_AGG_STDDEV, &out);
	bms_buf_putc(&out, '\0');
	CHECK_STR(out.p, "{\"type\":\"aggregate\",\"bms_id\":\"k1\",\"timestamp\":"
		  "\"1970-01-01T00:00:00.000Z\",\"period\":\"1m\",\"n\":1,"
		  "\"cell_voltage_min\":{\"min\":3.2,\"max\":3.2,\"mean\":3.2,\"last\":3.2,\"stddev\":0},"
		  "\"cell_voltage_max\":{\"min\":3.4,\"max\":3.4,\"mean\":3.4,\"last\":3.4,\"stddev\":0}");
	bms_buf_free(&out);
}

int main(void)
{
	test_align();
	test_accumulate();
	test_mean();
	test_no_metrics();
	test_negative();
	test_merge();
	test_period_names();
	test_record();
	test_window_extras();
	return unit_done();
}

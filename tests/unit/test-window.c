/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/window: the list of lengths, windows closed by the
 * readings' times, the integral (constant power, a sign change, a split
 * at a boundary that adds up, a gap), the end of the input, and state
 * records that load back into the same windows.
 */
#include <math.h>
#include <string.h>

#include "buf.h"
#include "reading.h"
#include "window.h"
#include "unit.h"

/* What emit was handed: the records, one per line. */
static struct bms_buf got;
static int nclosed, nopen;
static double wh_out, ah_out;

static void emit(void *ctx, const struct bms_window *w, int complete)
{
	(void)ctx;
	bms_window_json(w, complete, "t", 1, NULL, &got);
	bms_buf_putc(&got, '\n');
	if (complete)
		nclosed++;
	else
		nopen++;
	wh_out += w->flow.energy_out_wh;
	ah_out += w->flow.charge_out_ah;
}

static void reset_got(void)
{
	bms_buf_reset(&got);
	nclosed = nopen = 0;
	wh_out = ah_out = 0;
}

static void reading(struct bms_reading *r, double v, double i, double p)
{
	bms_reading_clear(r);
	r->pack_voltage = v, r->pack_current = i, r->pack_power = p;
	r->have = BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER;
}

static void test_list(void)
{
	struct bms_window_opts o = { 0 };
	char err[256];

	CHECK_INT(bms_window_parse_list(&o, "1h,1m", err, sizeof err), 0);
	CHECK_INT(bms_window_parse_list(&o, "10s,1m,1d", err, sizeof err), 0);
	CHECK_INT(o.n, 4);
	CHECK_INT(o.period_ms[0], 10000);
	CHECK_INT(o.period_ms[1], 60000);
	CHECK_INT(o.period_ms[2], 3600000);
	CHECK_INT(o.period_ms[3], 86400000);
	CHECK_INT(bms_window_parse_list(&o, "7m", err, sizeof err), -1);
	CHECK_STR(err, "'7m' does not divide a day into whole seconds (windows are aligned "
		  "to the clock: 10s, 1m, 15m, 1h, 1d ...)");
	CHECK_INT(bms_window_parse_list(&o, "500ms", err, sizeof err), -1);
	CHECK_INT(bms_window_parse_list(&o, "2d", err, sizeof err), -1);
	CHECK_INT(bms_window_parse_list(&o, "1m,", err, sizeof err), -1);
	CHECK_STR(err, "'' is not a duration");
	CHECK_INT(bms_window_parse_list(&o, "2h,3h,4h,6h,8h", err, sizeof err), -1);
	CHECK_STR(err, "more than 8 windows");
}

/* -1000 W for an hour from 0.25 s past it: 1000 Wh whatever the length. */
static void test_constant(void)
{
	static const int64_t lens[] = { 10000, 60000, 900000, 3600000 };

	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		struct bms_window_opts o = { .n = 1, .period_ms = { lens[k] }, .max_gap_ms = 60000 };
		static struct bms_window_set s;
		struct bms_reading r;

		reset_got();
		bms_window_init(&s, &o);
		reading(&r, 50, -20, -1000);
		for (int i = 0; i <= 3600; i++)
			bms_window_add(&s, &o, 250 + i * INT64_C(1000), &r, emit, NULL);
		bms_window_finish(&s, &o, emit, NULL);
		CHECK(fabs(wh_out - 1000) < 1e-6);
		CHECK(fabs(ah_out - 20) < 1e-9);
		CHECK_INT(nopen, 1);
		CHECK_INT(nclosed, 3600000 / lens[k]);
	}
}

/* A gap of 141 s with 1m windows; the same bridged with a 3m bound. */
static void test_gap(void)
{
	struct bms_window_opts o = { .n = 1, .period_ms = { 60000 }, .max_gap_ms = 60000 };
	static struct bms_window_set s;
	struct bms_reading r;

	reset_got();
	bms_window_init(&s, &o);
	reading(&r, 50, -12, -600);
	for (int i = 0; i < 60; i++)
		bms_window_add(&s, &o, i * INT64_C(1000), &r, emit, NULL);
	for (int i = 200; i < 241; i++)
		bms_window_add(&s, &o, i * INT64_C(1000), &r, emit, NULL);
	CHECK_INT(nclosed, 2);
	CHECK(strstr(got.p, "\"covered_ms\":59000,\"gaps\":1,\"gap_ms\":1000,\"complete\":true}\n") != NULL);
	CHECK(strstr(got.p, "\"timestamp\":\"1970-01-01T00:03:00.000Z\",\"period\":\"1m\",\"n\":40,") != NULL);
	CHECK(strstr(got.p, "\"covered_ms\":40000,\"gaps\":1,\"gap_ms\":20000,\"complete\":true}\n") != NULL);
	CHECK(fabs(wh_out - 600.0 * 99 / 3600) < 1e-9);
}

/* A reading without power integrates V x I; without current, no Ah. */
static void test_vi(void)
{
	struct bms_window_opts o = { .n = 1, .period_ms = { 60000 }, .max_gap_ms = 60000 };
	static struct bms_window_set s;
	struct bms_reading r;

	reset_got();
	bms_window_init(&s, &o);
	bms_reading_clear(&r);
	r.pack_voltage = 50, r.pack_current = -10;
	r.have = BMS_R_VOLTAGE | BMS_R_CURRENT;
	bms_window_add(&s, &o, 0, &r, emit, NULL);
	bms_window_add(&s, &o, 36000, &r, emit, NULL);
	bms_window_finish(&s, &o, emit, NULL);
	CHECK(strstr(got.p, "\"energy_in_wh\":0,\"energy_out_wh\":5,\"charge_in_ah\":0,"
		     "\"charge_out_ah\":0.1,\"covered_ms\":36000") != NULL);
}

/* State records of a set half-way load into a set that goes on as the
 * first one does. */
static void add_head(void *ctx, const char *kind, struct bms_buf *out)
{
	(void)ctx;
	bms_buf_printf(out, "{\"kind\":\"%s\",\"bms_id\":\"t\"", kind);
}

static void test_state(void)
{
	struct bms_window_opts o = { .n = 2, .period_ms = { 10000, 60000 }, .max_gap_ms = 60000 };
	static struct bms_window_set a, b;
	struct bms_buf one = BMS_BUF_INIT, rec = BMS_BUF_INIT;
	struct bms_reading r;
	char err[256];
	int dropped, i;

	bms_window_init(&a, &o);
	bms_window_init(&b, &o);
	reset_got();
	for (i = 0; i < 100; i++) {
		static const double c[] = { 3.3, 3.31 + 0.001 * 7 };

		reading(&r, 50 + i * 0.013, -10 + i * 0.37, -500 + i * 21.1);
		r.ncells = 2;
		memcpy(r.cells, c, sizeof c);
		r.have |= BMS_R_CELLS;
		bms_window_add(&a, &o, 333 + i * INT64_C(1700), &r, emit, NULL);
		if (i == 57) {
			/* b is a restored from its records. */
			for (int k = 0;; k++) {
				bms_buf_reset(&rec);
				if (!bms_window_state_record(&a, &o, k, add_head, NULL, &rec))
					break;
				CHECK_INT(bms_window_state_load(&b, &o, rec.p, rec.len, &dropped,
								err, sizeof err), 0);
				CHECK_INT(dropped, 0);
			}
			bms_buf_add(&one, got.p, got.len);
			reset_got();
		}
	}
	bms_window_finish(&a, &o, emit, NULL);
	bms_buf_putc(&got, '\0');
	{
		struct bms_buf first = got;	/* a's records after the cut */

		got = (struct bms_buf)BMS_BUF_INIT;
		for (i = 58; i < 100; i++) {
			static const double c[] = { 3.3, 3.31 + 0.001 * 7 };

			reading(&r, 50 + i * 0.013, -10 + i * 0.37, -500 + i * 21.1);
			r.ncells = 2;
			memcpy(r.cells, c, sizeof c);
			r.have |= BMS_R_CELLS;
			bms_window_add(&b, &o, 333 + i * INT64_C(1700), &r, emit, NULL);
		}
		bms_window_finish(&b, &o, emit, NULL);
		bms_buf_putc(&got, '\0');
		CHECK_STR(got.p, first.p);
		bms_buf_free(&first);
	}
	/* A length no longer asked for is dropped; junk is refused. */
	{
		struct bms_window_opts o2 = { .n = 1, .period_ms = { 3600000 }, .max_gap_ms = 1 };

		bms_buf_reset(&rec);
		CHECK_INT(bms_window_state_record(&a, &o, 0, add_head, NULL, &rec), 1);
		bms_buf_reset(&rec);
		bms_window_init(&a, &o);
		bms_window_add(&a, &o, 0, &r, emit, NULL);
		CHECK_INT(bms_window_state_record(&a, &o, 1, add_head, NULL, &rec), 1);
		CHECK_INT(bms_window_state_load(&b, &o2, rec.p, rec.len, &dropped, err, sizeof err), 0);
		CHECK_INT(dropped, 1);
		{
			const char *junk = "{\"kind\":\"window\",\"period\":\"1m\"}";

			CHECK_INT(bms_window_state_load(&b, &o, junk, strlen(junk), &dropped, err,
							sizeof err), -1);
		}
		CHECK_STR(err, "window: bad \"start\"");
	}
	bms_buf_free(&one);
	bms_buf_free(&rec);
}

static void test_nums(void)
{
	double v[3];

	CHECK_INT(bms_window_nums("[0.1,0.33333333333333331,0]", 27, v, 3), 3);
	CHECK(v[1] == 1.0 / 3);
	CHECK_INT(bms_window_nums("[1,2]", 5, v, 1), -1);
	CHECK_INT(bms_window_nums("[\"x\"]", 5, v, 1), -1);
}

int main(void)
{
	test_list();
	test_constant();
	test_gap();
	test_vi();
	test_state();
	test_nums();
	bms_buf_free(&got);
	return unit_done();
}

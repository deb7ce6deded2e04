/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/health on generated streams whose answers are known
 * by construction: a constant-power discharge's energy, a gap not
 * bridged, a full-to-empty run's capacity (and one refused for a gap),
 * SOH, the resistance of a known current step, a cell drifting at a
 * known rate and pure noise, a stop and resume through the state that
 * changes nothing, and the record's keys against
 * share/schema/health.schema.json (read with jansson, run from the top
 * of the tree).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "health.h"
#include "reading.h"
#include "unit.h"

#define SCHEMA "share/schema/health.schema.json"
#define T0 INT64_C(1795737600000)	/* 2026-11-27T00:00:00Z */
#define SEC INT64_C(1000)
#define DAY BMS_HEALTH_DAY_MS

static const struct bms_record_head head = {
	"\"p1\"", 4, "\"2026-11-27T00:00:00.000Z\"", 26, NULL, 0
};

static struct bms_health_conf conf;
static struct bms_health h;
static struct bms_reading r;

/* A reading of 16 cells at v volts each, current i (pack voltage their
 * sum). */
static void cells(double v, double i)
{
	bms_reading_clear(&r);
	r.have = BMS_R_CELLS | BMS_R_CURRENT | BMS_R_VOLTAGE;
	r.ncells = 16;
	for (int k = 0; k < 16; k++)
		r.cells[k] = v;
	r.pack_current = i;
	r.pack_voltage = 16 * v;
}

static void resum(void)
{
	r.pack_voltage = 0;
	for (int k = 0; k < r.ncells; k++)
		r.pack_voltage += r.cells[k];
}

static const char *record(void)
{
	static struct bms_buf b;

	bms_buf_reset(&b);
	bms_health_json(&h, &conf, &head, &b);
	bms_buf_putc(&b, '\0');
	return b.p;
}

/* Park-Miller: the same sequence everywhere. */
static unsigned long seed;
static double noise(double amp)
{
	seed = seed * 16807 % 2147483647;
	return ((double)(seed % 20001) / 10000 - 1) * amp;
}

/* ==== Totals ==== */

static void test_energy(void)
{
	int64_t ts = T0;

	/* -1000 W for two hours, readings 1 s and 3 s apart in turn. */
	bms_health_conf_defaults(&conf);
	bms_health_init(&h);
	for (int k = 0; ts <= T0 + 7200 * SEC; k++) {
		bms_reading_clear(&r);
		r.have = BMS_R_POWER | BMS_R_CURRENT | BMS_R_VOLTAGE;
		r.pack_power = -1000;
		r.pack_voltage = 50;
		r.pack_current = -20;
		bms_health_add(&h, &conf, ts, &r);
		ts += k % 2 ? 3 * SEC : SEC;
	}
	CHECK(fabs(h.e_out - 2000) <= 2);	/* 0.1 % */
	CHECK_NUM(h.e_out, 2000, 6);
	CHECK_NUM(h.e_in, 0, 9);
	CHECK_NUM(h.q_out, 40, 6);
	CHECK_INT(h.gaps, 0);
	CHECK_INT(h.observed_ms, 7200 * SEC);

	/* Without pack_power: voltage x current; across zero split. */
	bms_health_init(&h);
	bms_reading_clear(&r);
	r.have = BMS_R_CURRENT | BMS_R_VOLTAGE;
	r.pack_voltage = 50;
	r.pack_current = 10;
	bms_health_add(&h, &conf, T0, &r);
	r.pack_current = -10;
	bms_health_add(&h, &conf, T0 + 36 * SEC, &r);
	/* 500 W to -500 W over 36 s: 18 s each side, 2.5 Wh each. */
	CHECK_NUM(h.e_in, 1.25, 9);
	CHECK_NUM(h.e_out, 1.25, 9);
	CHECK_NUM(h.q_in, 0.025, 9);
	CHECK_NUM(h.q_out, 0.025, 9);
	/* An older reading is ignored, one at the same time adds nothing. */
	bms_health_add(&h, &conf, T0, &r);
	bms_health_add(&h, &conf, T0 + 36 * SEC, &r);
	CHECK_INT(h.n, 3);
	CHECK_NUM(h.e_out, 1.25, 9);
}

static void test_gap(void)
{
	int64_t ts = T0;

	bms_health_conf_defaults(&conf);
	bms_health_init(&h);
	for (int k = 0; k < 100; k++, ts += SEC) {
		cells(3.3, -36);
		bms_health_add(&h, &conf, ts, &r);
	}
	ts += 119 * SEC;	/* 120 s from the last reading: over 60 s */
	for (int k = 0; k < 100; k++, ts += SEC) {
		cells(3.3, -36);
		bms_health_add(&h, &conf, ts, &r);
	}
	CHECK_INT(h.gaps, 1);
	CHECK_INT(h.gap_ms, 120 * SEC);
	CHECK_INT(h.observed_ms, 198 * SEC);
	CHECK_NUM(h.q_out, 36.0 * 198 / 3600, 9);
	CHECK(strstr(record(), "\"observed_s\":198,\"gaps\":1,\"gap_s\":120,"
		     "\"charge_in_ah\":0,\"charge_out_ah\":1.98,") != NULL);
}

/* ==== Capacity ==== */

/*
 * Full (cells at 3.60 V, idle) at T0, then -50 A for T seconds with the
 * cells at 3.30 V, the last reading empty (2.85 V), and a second after
 * it the BMS's cut-off (2.85 V, 0 A); a hole of gap_s seconds in the
 * middle when gap_s > 0.
 */
static void full_to_empty(int64_t t_s, int64_t gap_s)
{
	cells(3.60, 0);
	bms_health_add(&h, &conf, T0, &r);
	for (int64_t s = 1; s < t_s; s++) {
		if (gap_s && s > t_s / 2 && s <= t_s / 2 + gap_s)
			continue;
		cells(3.30, -50);
		bms_health_add(&h, &conf, T0 + s * SEC, &r);
	}
	cells(2.85, -50);
	bms_health_add(&h, &conf, T0 + t_s * SEC, &r);
	cells(2.85, 0);
	bms_health_add(&h, &conf, T0 + (t_s + 1) * SEC, &r);
}

static void test_capacity(void)
{
	const char *rec;

	bms_health_conf_defaults(&conf);
	conf.nominal_ah = 100;
	bms_health_init(&h);
	/* 50 A for 6480 s but half a second at each end (0 to -50 A and
	 * back at the cut-off): 90 Ah. */
	full_to_empty(6480, 0);
	CHECK_INT(h.cap_runs, 1);
	CHECK_INT(h.cap_refused, 0);
	CHECK_NUM(h.cap_ah, 50 * 6480.0 / 3600, 9);
	rec = record();
	CHECK(strstr(rec, "\"capacity_runs\":1,\"capacity_refused\":0,\"capacity_ah\":90,"
		     "\"capacity_kind\":\"discharge\",\"capacity_at\":\"2026-11-27T01:48:01.000Z\","
		     "\"soh_percent\":90,") != NULL);
	CHECK(strstr(rec, "\"equivalent_cycles\":0.9,") != NULL);
	CHECK(!strstr(rec, "round_trip_efficiency"));

	/* The same with a 120 s hole in it: refused, nothing measured. */
	bms_health_init(&h);
	full_to_empty(6480, 120);
	CHECK_INT(h.cap_runs, 0);
	CHECK_INT(h.cap_refused, 1);
	rec = record();
	CHECK(strstr(rec, "\"capacity_runs\":0,\"capacity_refused\":1,"
		     "\"capacity_refused_reason\":\"gap\",") != NULL);
	CHECK(!strstr(rec, "capacity_ah") && !strstr(rec, "soh_percent"));

	/* Too short: full to empty in 10 minutes. */
	bms_health_init(&h);
	full_to_empty(600, 0);
	CHECK_INT(h.cap_refused, 1);
	CHECK_INT(h.cap_why, BMS_HEALTH_REFUSED_SHORT);

	/* Charge flowing back for over a tenth of the run: refused. */
	bms_health_init(&h);
	cells(3.60, 0);
	bms_health_add(&h, &conf, T0, &r);
	for (int64_t s = 1; s < 6480; s++) {
		cells(3.30, s % 100 < 25 ? 30 : -50);	/* 750 A s in for 3750 out */
		bms_health_add(&h, &conf, T0 + s * SEC, &r);
	}
	cells(2.85, -50);
	bms_health_add(&h, &conf, T0 + 6480 * SEC, &r);
	cells(2.85, 0);
	bms_health_add(&h, &conf, T0 + 6481 * SEC, &r);
	CHECK_INT(h.cap_runs, 0);
	CHECK_INT(h.cap_refused, 1);
	CHECK_INT(h.cap_why, BMS_HEALTH_REFUSED_REVERSE);

	/* Under load past the empty mark the run goes on until the
	 * discharge stops: 10 minutes more at 50 A are counted. */
	bms_health_init(&h);
	cells(3.60, 0);
	bms_health_add(&h, &conf, T0, &r);
	for (int64_t s = 1; s <= 7080; s++) {
		cells(s < 6480 ? 3.30 : 2.75, -50);
		bms_health_add(&h, &conf, T0 + s * SEC, &r);
		CHECK(h.cap_runs == 0);
	}
	cells(2.95, 0);		/* cut off, and relaxed above the mark */
	bms_health_add(&h, &conf, T0 + 7081 * SEC, &r);
	CHECK_INT(h.cap_runs, 1);
	CHECK_NUM(h.cap_ah, 50 * 7080.0 / 3600, 9);
	CHECK_INT(h.run, BMS_HEALTH_RUN_FROM_EMPTY);

	/* The BMS's own SOC of 100 and 0 mark full and empty too. */
	bms_health_init(&h);
	bms_reading_clear(&r);
	r.have = BMS_R_CURRENT | BMS_R_SOC;
	r.pack_current = -60;
	for (int64_t s = 0; s <= 6000; s += 10) {	/* 100 Ah at 60 A */
		r.soc_percent = 100 - (double)s / 60;
		bms_health_add(&h, &conf, T0 + s * SEC, &r);
	}
	CHECK_INT(h.cap_runs, 1);
	CHECK_NUM(h.cap_ah, 100, 9);

	/* Without a nominal capacity: measured, but no SOH, no cycles. */
	conf.nominal_ah = 0;
	bms_health_init(&h);
	full_to_empty(6480, 0);
	rec = record();
	CHECK(strstr(rec, "\"capacity_ah\":90,") != NULL);
	CHECK(!strstr(rec, "soh_percent") && !strstr(rec, "equivalent_cycles") &&
	      !strstr(rec, "nominal_ah"));

	/* Then empty to full: charge back 100 Ah at +25 A, the last reading
	 * full at the taper (3.60 V, 4 A); and a round-trip efficiency. */
	conf.nominal_ah = 100;
	bms_health_init(&h);
	full_to_empty(6480, 0);
	for (int64_t s = 6482; s < 6481 + 14400; s++) {
		cells(3.35, 25);
		r.pack_voltage = 53;	/* charging: a higher voltage */
		bms_health_add(&h, &conf, T0 + s * SEC, &r);
	}
	cells(3.60, 4);
	bms_health_add(&h, &conf, T0 + (6481 + 14400) * SEC, &r);
	CHECK_INT(h.cap_runs, 2);
	CHECK_INT(h.cap_kind, BMS_HEALTH_RUN_FROM_EMPTY);
	CHECK_INT(h.eff_cycles, 1);
	/* About 52.8 V x 90 Ah out for 53 V x 100 Ah in: 0.8966. */
	CHECK_NUM(h.eff_out / h.eff_in, 0.8966, 4);
	rec = record();
	CHECK(strstr(rec, "\"capacity_kind\":\"charge\"") != NULL);
	CHECK(strstr(rec, "\"efficiency_cycles\":1,\"round_trip_efficiency\":0.") != NULL);
}

/* ==== Resistance ==== */

static void test_resistance(void)
{
	int64_t ts = T0;

	bms_health_conf_defaults(&conf);
	bms_health_init(&h);
	/* A 20 mOhm pack: a 50 A step moves it 1 V, 62.5 mV per cell. */
	for (int k = 0; k < 12; k++, ts += SEC) {
		double i = k % 2 ? -60 : -10;

		cells(3.3 + 0.020 * i / 16, i);
		bms_health_add(&h, &conf, ts, &r);
	}
	CHECK_INT(h.ir_steps, 11);
	CHECK(strstr(record(), "\"resistance_steps\":11,\"resistance_mohm\":20,") != NULL);

	/* Readings further apart than 5 s, or a step under 10 A: nothing. */
	bms_health_init(&h);
	cells(3.3, -10);
	bms_health_add(&h, &conf, T0, &r);
	cells(3.3 - 0.0625, -60);
	bms_health_add(&h, &conf, T0 + 6 * SEC, &r);
	cells(3.3 - 0.0625 + 0.01, -52);
	bms_health_add(&h, &conf, T0 + 7 * SEC, &r);
	CHECK_INT(h.ir_steps, 0);
	CHECK(!strstr(record(), "resistance_mohm"));
}

/* ==== Drift ==== */

/* Readings every 10 minutes for days days, cell 7 drifting at rate V
 * per day from day start on, noise of amp V on every cell. */
static void drift(int days, int start, double rate, double amp)
{
	bms_health_conf_defaults(&conf);
	bms_health_init(&h);
	seed = 20261127;
	for (int64_t ts = T0; ts < T0 + days * DAY; ts += 600 * SEC) {
		double d = (double)(ts - T0) / (double)DAY;

		cells(3.3, 0);
		for (int k = 0; k < 16; k++)
			r.cells[k] += noise(amp);
		if (d > start)
			r.cells[6] -= rate * (d - start);
		resum();
		bms_health_add(&h, &conf, ts, &r);
	}
}

static void test_drift(void)
{
	struct bms_health_trend t;
	const char *rec;

	/* 2 mV per day from day 10, 1 mV of noise, 70 days. */
	drift(70, 10, 0.002, 0.001);
	bms_health_trend(&h, &t);
	CHECK_INT(t.cells, 16);
	CHECK_INT(t.points, 69);
	CHECK(t.has_trend);
	CHECK_INT(t.weakest, 7);
	CHECK_INT(t.weakest_low, 0);
	if (!unit_result(fabs(t.trend[6] + 2) < 0.02, __FILE__, __LINE__))
		fprintf(stderr, "trend %g, want -2 mV per day\n", t.trend[6]);
	CHECK(t.conf[6] > 0.99);
	/* The last whole day, day 68, is 58.5 days into the drift. */
	if (!unit_result(fabs(t.weakest_mv + 117) < 1, __FILE__, __LINE__))
		fprintf(stderr, "deviation %g, want -117 mV\n", t.weakest_mv);
	for (int k = 0; k < 16; k++)
		if (k != 6 && !unit_result(fabs(t.trend[k]) < 0.05, __FILE__, __LINE__))
			fprintf(stderr, "cell %d trend %g\n", k + 1, t.trend[k]);
	rec = record();
	CHECK(strstr(rec, "\"cell_count\":16,\"weakest_cell\":7,\"weakest_basis\":\"latest_day\","
		     "\"weakest_deviation_mv\":-11") != NULL);
	CHECK(strstr(rec, "\"weakest_trend_confidence\":1,\"drift_points\":69,"
		     "\"cell_deviation_mv\":[") != NULL);

	/* Noise alone: 3 mV on every cell, no trend worth the name. */
	drift(70, 1000, 0, 0.003);
	bms_health_trend(&h, &t);
	CHECK(t.has_trend);
	{
		double sum = 0;

		for (int k = 0; k < 16; k++)
			sum += t.conf[k];
		if (!unit_result(sum / 16 < 0.2, __FILE__, __LINE__))
			fprintf(stderr, "mean confidence %g on noise\n", sum / 16);
		if (t.weakest && !unit_result(t.conf[t.weakest - 1] < 0.5, __FILE__, __LINE__))
			fprintf(stderr, "weakest's confidence %g on noise\n",
				t.conf[t.weakest - 1]);
		for (int k = 0; k < 16; k++)
			CHECK(fabs(t.trend[k]) < 0.05);
	}

	/* Two days: a deviation, no trend yet. */
	drift(2, 0, 0.002, 0);
	rec = record();
	CHECK(strstr(rec, "\"weakest_cell\":7,") != NULL);
	CHECK(!strstr(rec, "trend"));

	/* While discharging at a low SOC the weakest is judged there. */
	bms_health_conf_defaults(&conf);
	bms_health_init(&h);
	for (int k = 0; k < 100; k++) {
		cells(3.1, -20);
		r.cells[2] = 3.05;	/* sags under load at the bottom */
		r.cells[9] = 3.08;
		resum();
		r.have |= BMS_R_SOC;
		r.soc_percent = 20;
		bms_health_add(&h, &conf, T0 + k * 10 * SEC, &r);
	}
	cells(3.3, 0);
	r.cells[9] = 3.2;		/* lowest at rest, later */
	resum();
	bms_health_add(&h, &conf, T0 + 1000 * SEC, &r);
	CHECK(strstr(record(), "\"weakest_cell\":3,\"weakest_basis\":\"low_discharge\","
		     "\"weakest_deviation_mv\":-50,") != NULL);
}

/* ==== State ==== */

/* Reading k of a mixed stream: cycles, steps, gaps, a drifting cell. */
static int64_t mixed(int k)
{
	int64_t ts = T0 + (int64_t)k * 5 * SEC + (k > 5000 ? 600 * SEC : 0);
	double ph = fmod((double)k, 2400) / 2400;	/* a 200-minute cycle */
	double i = ph < 0.5 ? -40 : 44;

	cells(ph < 0.5 ? 3.30 - 0.8 * ph : 3.0 + 1.2 * (ph - 0.5), i + (k % 7 == 0 ? -25 : 0));
	for (int c = 0; c < 16; c++)
		r.cells[c] += noise(0.002);
	r.cells[6] -= 0.0001 * k / 100;
	resum();
	r.have |= BMS_R_TEMPS | BMS_R_SOC;
	r.ntemps = 2;
	r.temps[0] = 20 + 5 * ph;
	r.temps[1] = 21;
	r.soc_percent = ph < 0.5 ? 100 - 200 * ph : 200 * (ph - 0.5);
	return ts;
}

static void test_state(void)
{
	static struct bms_health h2;
	struct bms_buf st = BMS_BUF_INIT, st2 = BMS_BUF_INIT, whole = BMS_BUF_INIT;
	char err[256] = "";
	int n = 20000;

	bms_health_conf_defaults(&conf);
	conf.nominal_ah = 100;
	conf.drift_bin_ms = 3600 * SEC;		/* hourly points: a fit soon */

	bms_health_init(&h);
	seed = 7;
	for (int k = 0; k < n; k++) {
		int64_t ts = mixed(k);

		bms_health_add(&h, &conf, ts, &r);
	}
	bms_buf_puts(&whole, record());

	bms_health_init(&h);
	seed = 7;
	for (int k = 0; k < n / 2; k++) {
		int64_t ts = mixed(k);

		bms_health_add(&h, &conf, ts, &r);
	}
	bms_buf_puts(&st, "{\"bms_id\":\"p1\",\"kind\":\"health\",");
	bms_health_state(&h, &st);
	bms_buf_putc(&st, '}');
	CHECK_INT(bms_health_state_load(&h2, st.p, st.len, err, sizeof err), 0);
	CHECK_STR(err, "");
	bms_buf_puts(&st2, "{\"bms_id\":\"p1\",\"kind\":\"health\",");
	bms_health_state(&h2, &st2);
	bms_buf_putc(&st2, '}');
	CHECK_STR(st2.p, st.p);
	h = h2;
	for (int k = n / 2; k < n; k++) {
		int64_t ts = mixed(k);

		bms_health_add(&h, &conf, ts, &r);
	}
	CHECK_STR(record(), whole.p);
	/* The stream had all of it. */
	CHECK(strstr(whole.p, "\"capacity_ah\":") && strstr(whole.p, "\"gaps\":1,") &&
	      strstr(whole.p, "\"round_trip_efficiency\":") &&
	      strstr(whole.p, "\"resistance_mohm\":") &&
	      strstr(whole.p, "\"weakest_trend_mv_per_day\":"));

	/* Damaged state: refused with the reason, h emptied. */
	CHECK_INT(bms_health_state_load(&h2, "{\"n\":3}", 7, err, sizeof err), -1);
	CHECK_STR(err, "health state: no first_ts");
	CHECK_INT(h2.n, 0);
	bms_buf_reset(&st2);
	bms_buf_puts(&st2, st.p);
	{
		char *p = strstr(st2.p, "\"ncells\":16");

		CHECK(p != NULL);
		if (p)
			memcpy(p, "\"ncells\":99", 11);
	}
	CHECK_INT(bms_health_state_load(&h2, st2.p, st2.len, err, sizeof err), -1);
	CHECK_STR(err, "health state: bin_dev: count out of range");
	CHECK_INT(bms_health_state_load(&h2, "{\"n\":", 5, err, sizeof err), -1);
	CHECK(strncmp(err, "health state: ", 14) == 0);
	bms_buf_free(&st);
	bms_buf_free(&st2);
	bms_buf_free(&whole);
}

/* ==== Schema ==== */

static void test_schema(void)
{
	const char *path = getenv("BMS_HEALTH_SCHEMA") ? getenv("BMS_HEALTH_SCHEMA") : SCHEMA;
	json_error_t jerr;
	json_t *schema = json_load_file(path, 0, &jerr), *props, *req, *rec, *v;
	const char *key;
	size_t i;

	if (!unit_result(schema != NULL, __FILE__, __LINE__)) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return;
	}
	props = json_object_get(schema, "properties");
	req = json_object_get(schema, "required");
	CHECK(json_is_object(props) && json_is_array(req));

	/* A record with every field: the mixed stream. */
	bms_health_conf_defaults(&conf);
	conf.nominal_ah = 100;
	conf.drift_bin_ms = 3600 * SEC;
	bms_health_init(&h);
	seed = 7;
	for (int k = 0; k < 20000; k++) {
		int64_t ts = mixed(k);

		bms_health_add(&h, &conf, ts, &r);
	}
	rec = json_loads(record(), 0, &jerr);
	if (!unit_result(rec != NULL, __FILE__, __LINE__)) {
		fprintf(stderr, "record: %s\n", jerr.text);
		json_decref(schema);
		return;
	}
	CHECK_INT(json_object_size(rec), json_object_size(props) - 1);	/* no tenant */
	json_object_foreach(rec, key, v) {
		json_t *p = json_object_get(props, key);
		const char *type;

		if (!unit_result(p != NULL, __FILE__, __LINE__)) {
			fprintf(stderr, "record key %s is not in the schema\n", key);
			continue;
		}
		type = json_string_value(json_object_get(p, "type"));
		if (type && strcmp(type, "number") == 0)
			CHECK(json_is_number(v));
		else if (type && strcmp(type, "integer") == 0)
			CHECK(json_is_integer(v));
		else if (type && strcmp(type, "array") == 0)
			CHECK(json_is_array(v));
		else if (type && strcmp(type, "string") == 0)
			CHECK(json_is_string(v));
	}
	json_array_foreach(req, i, v)
		if (!unit_result(json_object_get(rec, json_string_value(v)) != NULL,
				 __FILE__, __LINE__))
			fprintf(stderr, "required %s not in the record\n", json_string_value(v));
	CHECK_STR(json_string_value(json_object_get(json_object_get(props, "type"), "const")),
		  "health");
	json_decref(rec);
	json_decref(schema);
}

int main(void)
{
	test_energy();
	test_gap();
	test_capacity();
	test_resistance();
	test_drift();
	test_state();
	test_schema();
	return unit_done();
}

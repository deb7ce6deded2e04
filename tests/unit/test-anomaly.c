/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/anomaly on generated streams: nothing on clean data
 * (noise, a moving current, slowly changing temperatures), then each
 * anomaly made on purpose and its records compared whole, the start of
 * a cell_deviation exactly the sustain time after the departure and not
 * a reading before, a stop and resume through the state that changes
 * nothing, and every record's keys against
 * share/schema/anomaly.schema.json (read with jansson, run from the top
 * of the tree).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "buf.h"
#include "reading.h"
#include "unit.h"

#define SCHEMA "share/schema/anomaly.schema.json"
#define T0 INT64_C(1795737600000)	/* 2026-11-27T00:00:00Z */
#define SEC INT64_C(1000)

static const struct bms_record_head head = {
	"\"p1\"", 4, "\"2026-11-27T00:00:00.000Z\"", 26, NULL, 0
};

static struct bms_anomaly_conf conf;
static struct bms_anomaly a;
static struct bms_reading r;

/* The records made, one per line. */
static struct bms_buf out;
static int nrec;

static void emit(void *ctx, const char *rec, size_t len)
{
	(void)ctx;
	bms_buf_add(&out, rec, len);
	bms_buf_putc(&out, '\n');
	nrec++;
}

static void reset(void)
{
	bms_anomaly_conf_defaults(&conf);
	bms_anomaly_init(&a);
	bms_buf_reset(&out);
	nrec = 0;
}

static const char *got(void)
{
	return out.len ? out.p : "";
}

/* Park-Miller: the same sequence everywhere. */
static unsigned long seed;
static double noise(double amp)
{
	seed = seed * 16807 % 2147483647;
	return ((double)(seed % 20001) / 10000 - 1) * amp;
}

/*
 * Reading k (1 s apart) of a clean 16-cell pack: cells at 3.3 V with up
 * to 2 mV of noise (whole mV), the current moving between -30 and 30 A,
 * two probes drifting slowly (0.1 degC resolution).
 */
static int64_t clean(int64_t k)
{
	bms_reading_clear(&r);
	r.have = BMS_R_CELLS | BMS_R_CURRENT | BMS_R_VOLTAGE | BMS_R_TEMPS;
	r.ncells = 16;
	r.pack_voltage = 0;
	for (int c = 0; c < 16; c++) {
		r.cells[c] = round((3.3 + noise(0.002)) * 1000) / 1000;
		r.pack_voltage += r.cells[c];
	}
	r.pack_current = 30 * sin((double)k / 600);
	r.ntemps = 2;
	r.temps[0] = round((25 + 3 * sin((double)k / 3000)) * 10) / 10;
	r.temps[1] = round((22 + 2 * cos((double)k / 5000)) * 10) / 10;
	return T0 + k * SEC;
}

static int add(int64_t ts)
{
	return bms_anomaly_add(&a, &conf, ts, &r, &head, emit, NULL);
}

static void test_clean(void)
{
	reset();
	seed = 1;
	for (int64_t k = 0; k < 14 * 3600; k++)
		add(clean(k));
	CHECK_INT(nrec, 0);
	CHECK_STR(got(), "");
}

/* ==== cell_deviation ==== */

static void flat(double v, double i)
{
	bms_reading_clear(&r);
	r.have = BMS_R_CELLS | BMS_R_CURRENT;
	r.ncells = 16;
	for (int c = 0; c < 16; c++)
		r.cells[c] = v;
	r.pack_current = i;
}

static void test_deviation(void)
{
	int64_t k;

	reset();
	conf.stuck_cell_ms = INT64_C(1) << 50;	/* flat cells are not stuck here */
	/* 80 mV below from k = 100 to k = 299: z = -0.08 / (1.4826 x 5 mV). */
	for (k = 0; k < 400; k++) {
		int n;

		flat(3.3, 0);
		if (k >= 100 && k < 300)
			r.cells[4] = 3.22;
		n = add(T0 + k * SEC);
		if (k == 159 || k == 359)
			CHECK_INT(nrec, k == 159 ? 0 : 1);	/* not a reading early */
		if (k == 160 || k == 360)
			CHECK_INT(n, 1);
	}
	CHECK_STR(got(),
		  "{\"type\":\"anomaly\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T00:00:00.000Z\","
		  "\"code\":\"cell_deviation\",\"state\":\"start\",\"cell\":5,\"value\":3.22,"
		  "\"deviation_mv\":-80,\"score\":-10.79,\"threshold\":3.5,"
		  "\"since\":\"2026-11-27T00:01:40.000Z\",\"message\":\"cell 5 is 80 mV below the"
		  " median of the pack (robust z -10.8) for 60 s\"}\n"
		  "{\"type\":\"anomaly\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T00:00:00.000Z\","
		  "\"code\":\"cell_deviation\",\"state\":\"end\",\"cell\":5,\"value\":3.3,"
		  "\"deviation_mv\":0,\"score\":0,\"threshold\":3.5,"
		  "\"since\":\"2026-11-27T00:05:00.000Z\",\"message\":\"cell 5 is back with the"
		  " pack (0 mV from the median) for 60 s\"}\n");

	/* A departure that comes back before the sustain time: nothing; one
	 * under the minimum of 50 mV, however large its z: nothing. */
	reset();
	conf.stuck_cell_ms = INT64_C(1) << 50;
	for (k = 0; k < 400; k++) {
		flat(3.3, 0);
		if (k % 100 < 59)
			r.cells[2] = 3.2;
		r.cells[8] = 3.255;	/* 45 mV: z 6, under 50 mV */
		add(T0 + k * SEC);
	}
	CHECK_STR(got(), "");
}

/* ==== Jumps, rise, stuck ==== */

static void test_jumps(void)
{
	reset();
	seed = 2;
	for (int64_t k = 0; k < 600; k++) {
		int64_t ts = clean(k);

		if (k == 300)
			r.cells[2] += 0.4;
		if (k == 400)
			r.temps[0] += 15;	/* a jump, not a rise */
		add(ts);
	}
	CHECK_INT(nrec, 4);
	CHECK(strstr(got(), "\"code\":\"voltage_jump\",\"state\":\"event\",\"cell\":3,") != NULL);
	CHECK(strstr(got(), "\"code\":\"temperature_jump\",\"state\":\"event\",\"probe\":1,") != NULL);
	CHECK(strstr(got(), "\"threshold\":0.3,") && strstr(got(), "\"threshold\":10,"));
	CHECK(!strstr(got(), "cell_deviation"));	/* one reading: not sustained */

	/* Not across a gap of over a minute. */
	reset();
	seed = 2;
	for (int64_t k = 0; k < 200; k++) {
		int64_t ts = clean(k);

		if (k >= 100) {
			ts += 61 * SEC;
			r.pack_voltage += 6;
		}
		add(ts);
	}
	CHECK_STR(got(), "");
	/* The pack alone. */
	reset();
	seed = 2;
	for (int64_t k = 0; k < 200; k++) {
		int64_t ts = clean(k);

		if (k == 100)
			r.pack_voltage += 6;
		add(ts);
	}
	CHECK_INT(nrec, 2);	/* up, then back */
	CHECK(strstr(got(), "\"code\":\"voltage_jump\",\"state\":\"event\",\"value\":") != NULL);
}

static void test_rise(void)
{
	int64_t k, start = -1, end = -1;

	reset();
	seed = 3;
	/* Probe 2 at 22 degC, rising 0.6 degC a minute from k = 1000 to
	 * k = 2000 (+10 degC), then level. */
	for (k = 0; k < 4000; k++) {
		int64_t ts = clean(k);
		int before = nrec;

		r.temps[1] = 22 + (k > 1000 ? 0.01 * (double)((k < 2000 ? k : 2000) - 1000) : 0);
		add(ts);
		if (nrec > before && strstr(got(), "\"state\":\"start\"") && start < 0)
			start = k;
		if (nrec > before && strstr(got(), "\"state\":\"end\"") && end < 0)
			end = k;
	}
	CHECK_INT(nrec, 2);
	CHECK_INT(start, 1500);		/* 5 degC above the lowest, 500 s on */
	CHECK(end > 2000 && end <= 2000 + 660);	/* the span, to a slot */
	CHECK(strstr(got(), "\"code\":\"temperature_rise\",\"state\":\"start\",\"probe\":2,"
		     "\"value\":27,\"score\":5,\"threshold\":5,") != NULL);
}

static void test_stuck(void)
{
	int64_t k, start = -1;

	reset();
	seed = 4;
	/* Cell 9 frozen at 3.301 V from k = 1000 to k = 4000. */
	for (k = 0; k < 5000; k++) {
		int64_t ts = clean(k);
		int before = nrec;

		if (k >= 1000 && k < 4000)
			r.cells[8] = 3.301;
		add(ts);
		if (nrec > before && start < 0)
			start = k;
	}
	CHECK_INT(nrec, 2);
	CHECK_INT(start, 2800);
	CHECK(strstr(got(), "\"code\":\"sensor_stuck\",\"state\":\"start\",\"cell\":9,"
		     "\"value\":3.301,\"score\":1800,\"threshold\":1800,"
		     "\"since\":\"2026-11-27T00:16:40.000Z\",") != NULL);
	CHECK(strstr(got(), "\"code\":\"sensor_stuck\",\"state\":\"end\",\"cell\":9,") != NULL);

	/* Frozen while the current does not move: not stuck, just steady. */
	reset();
	seed = 4;
	for (k = 0; k < 5000; k++) {
		int64_t ts = clean(k);

		r.pack_current = 2;
		if (k >= 1000 && k < 4000)
			r.cells[8] = 3.301;
		add(ts);
	}
	CHECK_STR(got(), "");
}

/* ==== State ==== */

/* Reading k of a stream with every anomaly in it. */
static int64_t mixed(int64_t k)
{
	int64_t ts = clean(k);

	if (k % 1000 == 500)
		r.cells[2] += 0.4;
	if (k >= 1200 && k < 1500)
		r.cells[4] -= 0.1;
	if (k >= 2000 && k < 4500)
		r.cells[10] = 3.305;
	r.temps[1] = 22 + (k > 3000 ? 0.01 * (double)((k < 4000 ? k : 4000) - 3000) : 0);
	if (k == 5000)
		r.temps[0] -= 12;
	return ts;
}

static void test_state(void)
{
	static struct bms_anomaly a2;
	struct bms_buf whole = BMS_BUF_INIT, st = BMS_BUF_INIT, st2 = BMS_BUF_INIT;
	char err[256] = "";
	int64_t n = 6000;

	reset();
	seed = 5;
	for (int64_t k = 0; k < n; k++)
		add(mixed(k));
	bms_buf_add(&whole, got(), out.len);
	bms_buf_putc(&whole, '\0');
	CHECK(strstr(whole.p, "cell_deviation") && strstr(whole.p, "voltage_jump") &&
	      strstr(whole.p, "temperature_jump") && strstr(whole.p, "temperature_rise") &&
	      strstr(whole.p, "sensor_stuck"));

	/* Stopped at every 1000th reading and resumed from the state. */
	reset();
	seed = 5;
	for (int64_t k = 0; k < n; k++) {
		if (k % 1000 == 999) {
			bms_buf_reset(&st);
			bms_buf_puts(&st, "{\"bms_id\":\"p1\",\"kind\":\"anomaly\",");
			bms_anomaly_state(&a, &st);
			bms_buf_putc(&st, '}');
			CHECK_INT(bms_anomaly_state_load(&a2, st.p, st.len, err, sizeof err), 0);
			CHECK_STR(err, "");
			bms_buf_reset(&st2);
			bms_buf_puts(&st2, "{\"bms_id\":\"p1\",\"kind\":\"anomaly\",");
			bms_anomaly_state(&a2, &st2);
			bms_buf_putc(&st2, '}');
			CHECK_STR(st2.p, st.p);
			a = a2;
		}
		add(mixed(k));
	}
	bms_buf_putc(&out, '\0');
	CHECK_STR(out.p, whole.p);

	CHECK_INT(bms_anomaly_state_load(&a2, "{\"n\":1}", 7, err, sizeof err), -1);
	CHECK_STR(err, "anomaly state: no last_ts");
	bms_buf_free(&whole);
	bms_buf_free(&st);
	bms_buf_free(&st2);
}

/* ==== Schema ==== */

static void test_schema(void)
{
	const char *path = getenv("BMS_ANOMALY_SCHEMA") ? getenv("BMS_ANOMALY_SCHEMA") : SCHEMA;
	json_error_t jerr;
	json_t *schema = json_load_file(path, 0, &jerr), *props, *req, *codes;
	char *line, *save = NULL;
	int lines = 0;

	if (!unit_result(schema != NULL, __FILE__, __LINE__)) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return;
	}
	props = json_object_get(schema, "properties");
	req = json_object_get(schema, "required");
	codes = json_object_get(json_object_get(props, "code"), "enum");
	CHECK(json_is_object(props) && json_is_array(req) && json_array_size(codes) == 5);
	CHECK_STR(json_string_value(json_object_get(json_object_get(props, "type"), "const")),
		  "anomaly");

	reset();
	seed = 5;
	for (int64_t k = 0; k < 6000; k++)
		add(mixed(k));
	bms_buf_putc(&out, '\0');
	for (line = strtok_r(out.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *rec = json_loads(line, 0, &jerr), *v;
		const char *key;
		size_t i;
		int known = 0;

		lines++;
		if (!unit_result(rec != NULL, __FILE__, __LINE__)) {
			fprintf(stderr, "record: %s\n  %s\n", jerr.text, line);
			continue;
		}
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
			else if (type && strcmp(type, "string") == 0)
				CHECK(json_is_string(v));
		}
		json_array_foreach(req, i, v)
			if (!unit_result(json_object_get(rec, json_string_value(v)) != NULL,
					 __FILE__, __LINE__))
				fprintf(stderr, "required %s not in %s\n", json_string_value(v), line);
		json_array_foreach(codes, i, v)
			known |= json_equal(v, json_object_get(rec, "code"));
		CHECK(known);
		json_decref(rec);
	}
	CHECK(lines >= 8);
	json_decref(schema);
}

int main(void)
{
	test_clean();
	test_deviation();
	test_jumps();
	test_rise();
	test_stuck();
	test_state();
	test_schema();
	bms_buf_free(&out);
	return unit_done();
}

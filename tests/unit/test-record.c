/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the record envelope (lib/record.c) and the status record
 * (lib/status.c): the limits of bms(7), duplicate keys, the writers, the
 * link-health accounting and the status parser.
 */
#include <stdlib.h>

#include "record.h"
#include "status.h"
#include "unit.h"

#define TS "\"timestamp\":\"2026-11-27T14:29:11.123Z\""

static struct bms_record env;

/* Parse line; check the return code and, if reason is not NULL, the reason. */
static void env_at(const char *line, int want, const char *reason, const char *file,
		   int lineno)
{
	char err[256] = "";
	int rc = bms_record_parse(line, strlen(line), &env, err, sizeof err);

	if (!unit_result(rc == want && (!reason || strcmp(err, reason) == 0), file, lineno))
		fprintf(stderr, "gave %d (%s), want %d (%s)\n  line: %s\n", rc, err, want,
			reason ? reason : "", line);
}

#define ENV(line, want, reason) env_at((line), (want), (reason), __FILE__, __LINE__)

static char *repeat(char c, size_t n)
{
	static char buf[512];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_envelope(void)
{
	char line[1024];

	ENV("{\"type\":\"status\",\"bms_id\":\"p1\"," TS ",\"tenant\":\"acme\"}",
	    BMS_RECORD_OK, NULL);
	CHECK_STR(env.bms_id, "p1");
	CHECK_INT(env.ts_ms, 1795789751123LL);
	CHECK_INT(env.has_tenant, 1);
	CHECK_STR(env.tenant, "acme");
	CHECK(bms_record_is(&env, "status"));
	CHECK(!bms_record_is(&env, "reading"));
	CHECK_INT(env.id_json_len, 4);
	CHECK(memcmp(env.id_json, "\"p1\"", 4) == 0);

	ENV("{\"type\":\"x\",\"bms_id\":\"p\\u0031\"," TS "}", BMS_RECORD_OK, NULL);
	CHECK_STR(env.bms_id, "p1");
	CHECK_INT(env.has_tenant, 0);
	CHECK_STR(env.tenant, "");

	ENV("not json", BMS_RECORD_EJSON, "not a JSON object: expected an object at byte 1");
	ENV("{\"bms_id\":\"p1\"," TS "}", BMS_RECORD_ENOTYPE, "no type");
	ENV("{\"type\":1,\"bms_id\":\"p1\"," TS "}", BMS_RECORD_ENOTYPE, "no type");
	ENV("{\"type\":\"x\"," TS "}", BMS_RECORD_ENOID, "no bms_id");
	ENV("{\"type\":\"x\",\"bms_id\":7," TS "}", BMS_RECORD_ENOID, "bms_id: not a string");
	ENV("{\"type\":\"x\",\"bms_id\":\"\"," TS "}", BMS_RECORD_ENOID, "bms_id: empty");
	ENV("{\"type\":\"x\",\"bms_id\":\"a\\u0000\"," TS "}", BMS_RECORD_EID,
	    "bms_id: NUL in it");
	ENV("{\"type\":\"x\",\"bms_id\":\"p1\"}", BMS_RECORD_ENOTS, "no timestamp");

	/* The limits: 127 bytes of bms_id, 63 of tenant, as they decode. */
	snprintf(line, sizeof line, "{\"type\":\"x\",\"bms_id\":\"%s\"," TS "}", repeat('i', 127));
	ENV(line, BMS_RECORD_OK, NULL);
	CHECK_INT(strlen(env.bms_id), 127);
	snprintf(line, sizeof line, "{\"type\":\"x\",\"bms_id\":\"%s\"," TS "}", repeat('i', 128));
	ENV(line, BMS_RECORD_EID, "bms_id: longer than 127 bytes");
	snprintf(line, sizeof line, "{\"type\":\"x\",\"bms_id\":\"%s\\u00e9\"," TS "}",
		 repeat('i', 126));
	ENV(line, BMS_RECORD_EID, "bms_id: longer than 127 bytes");
	snprintf(line, sizeof line, "{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":\"%s\"}",
		 repeat('t', 63));
	ENV(line, BMS_RECORD_OK, NULL);
	snprintf(line, sizeof line, "{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":\"%s\"}",
		 repeat('t', 64));
	ENV(line, BMS_RECORD_ETENANT, "tenant: longer than 63 bytes");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":[]}", BMS_RECORD_ETENANT,
	    "tenant: not a string");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":\"\\u0000\"}", BMS_RECORD_ETENANT,
	    "tenant: NUL in it");

	/* issue 7: an envelope key twice is refused, however it is written. */
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":\"lab2\",\"tenant\":\"lab\"}",
	    BMS_RECORD_EDUP, "tenant: more than once");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"tenant\":\"lab2\",\"t\\u0065nant\":\"lab\"}",
	    BMS_RECORD_EDUP, "tenant: more than once");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"bms_id\":\"q\"," TS "}", BMS_RECORD_EDUP,
	    "bms_id: more than once");
	ENV("{\"type\":\"x\",\"type\":\"y\",\"bms_id\":\"p\"," TS "}", BMS_RECORD_EDUP,
	    "type: more than once");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS "," TS "}", BMS_RECORD_EDUP,
	    "timestamp: more than once");
	/* The same key inside a value is no duplicate. */
	ENV("{\"type\":\"x\",\"bms_id\":\"p\"," TS ",\"y\":{\"tenant\":1,\"type\":2}}",
	    BMS_RECORD_OK, NULL);

	/* issue 7: an impossible time is refused, and reported last. */
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":\"2026-13-01T00:00:00.000Z\"}",
	    BMS_RECORD_ETIME, "bad timestamp");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":\"99999-01-01T00:00:00.000Z\"}",
	    BMS_RECORD_ETIME, "bad timestamp");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":\"2026-02-30T00:00:00Z\"}",
	    BMS_RECORD_ETIME, "bad timestamp");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":1}", BMS_RECORD_ETIME,
	    "bad timestamp");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":\"t\",\"tenant\":\"ok\"}",
	    BMS_RECORD_ETIME, "bad timestamp");
	CHECK_STR(env.tenant, "ok");
	ENV("{\"type\":\"x\",\"bms_id\":\"p\",\"timestamp\":\"2026-11-27T16:29:11+02:00\"}",
	    BMS_RECORD_OK, NULL);
	CHECK_INT(env.ts_ms, 1795789751000LL);
}

static void name_at(const char *s, size_t max, const char *want, const char *file, int lineno)
{
	char err[128] = "";
	int rc = bms_record_name_check(s, max, err, sizeof err);

	if (!unit_result(want ? rc == -1 && strcmp(err, want) == 0 : rc == 0, file, lineno))
		fprintf(stderr, "gave %d (%s), want %s\n", rc, err, want ? want : "0");
}

#define NAME(s, max, want) name_at((s), (max), (want), __FILE__, __LINE__)

static void test_names(void)
{
	NAME("ttyUSB0", 127, NULL);
	NAME("shed pack \xe2\x82\xac", 127, NULL);
	NAME("[::1]:4001", 127, NULL);
	NAME("", 127, "empty");
	NAME(repeat('x', 128), 127, "longer than 127 bytes");
	NAME(repeat('x', 64), 63, "longer than 63 bytes");
	NAME("caf\xe9", 127, "not UTF-8");
	NAME("a\x01", 127, "control character at byte 2");
	NAME("a\nb", 127, "control character at byte 2");
	NAME("\x7f", 127, "control character at byte 1");
	NAME("x\xc2\x85", 127, "control character at byte 2");
	NAME("x\xc2\xa0", 127, NULL);
}

static void test_writers(void)
{
	struct bms_buf b = BMS_BUF_INIT;
	struct bms_record_head h = { "\"p\\u0031\"", 9, "\"t\"", 3, NULL, 0 };

	bms_record_head_raw(&b, "reading", &h);
	CHECK_STR(b.p, "{\"type\":\"reading\",\"bms_id\":\"p\\u0031\",\"timestamp\":\"t\"");
	bms_buf_reset(&b);
	h.tenant = "\"a\"";
	h.tenant_len = 3;
	bms_record_head_raw(&b, "x", &h);
	CHECK_STR(b.p, "{\"type\":\"x\",\"bms_id\":\"p\\u0031\",\"timestamp\":\"t\",\"tenant\":\"a\"");
	bms_buf_reset(&b);
	bms_record_head(&b, "frames", "a\"b\n", "2026-11-27T14:29:11.123Z", NULL);
	CHECK_STR(b.p, "{\"type\":\"frames\",\"bms_id\":\"a\\\"b\\n\","
		  "\"timestamp\":\"2026-11-27T14:29:11.123Z\"");
	bms_buf_reset(&b);
	bms_record_head(&b, "status", "p1", "2026-11-27T14:29:11.123Z", "acme");
	CHECK_STR(b.p, "{\"type\":\"status\",\"bms_id\":\"p1\","
		  "\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"tenant\":\"acme\"");
	bms_buf_free(&b);
}

static void test_health(void)
{
	struct bms_status_health h = { 0 };

	CHECK_INT(bms_status_health_quality(&h), 0);
	CHECK_INT(bms_status_health_note(&h, 1, BMS_STATUS_CONNECTED, "ok"), 1);
	CHECK_INT(bms_status_health_note(&h, 1, BMS_STATUS_CONNECTED, "ok"), 0);
	CHECK_INT(h.streak, 2);
	CHECK_INT(bms_status_health_quality(&h), 100);
	CHECK_INT(bms_status_health_note(&h, 0, BMS_STATUS_ERROR, "no_reply"), 1);
	CHECK_INT(h.streak, 0);
	CHECK_INT(bms_status_health_quality(&h), 67);
	CHECK_INT(bms_status_health_note(&h, 0, BMS_STATUS_ERROR, "garbled"), 1);
	for (int i = 0; i < 30; i++)
		bms_status_health_note(&h, 1, BMS_STATUS_CONNECTED, "ok");
	CHECK_INT(h.ncycles, BMS_STATUS_WINDOW);
	CHECK_INT(bms_status_health_quality(&h), 100);
}

static struct bms_status st;

static void status_at(const char *line, const char *reason, const char *file, int lineno)
{
	char err[256] = "";
	int rc = bms_status_parse(line, strlen(line), &st, err, sizeof err);

	if (!unit_result(reason ? rc == -1 && strcmp(err, reason) == 0 : rc == 0, file, lineno))
		fprintf(stderr, "gave %d (%s), want %s\n  line: %s\n", rc, err,
			reason ? reason : "0", line);
}

#define STATUS(line, reason) status_at((line), (reason), __FILE__, __LINE__)
#define SHEAD "{\"type\":\"status\",\"bms_id\":\"p1\"," TS

static void test_status(void)
{
	struct bms_status_health h = { 0 };
	struct bms_buf b = BMS_BUF_INIT;

	/* What the writer writes, the parser reads back. */
	bms_status_health_note(&h, 1, BMS_STATUS_CONNECTED, "ok");
	bms_status_health_note(&h, 0, BMS_STATUS_ERROR, "asleep");
	bms_status_write(&b, "p1", "2026-11-27T14:29:11.123Z", "acme", &h,
			 "board 1 on '/dev/x' echoes \"requests\"");
	CHECK_STR(b.p, "{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":"
		  "\"2026-11-27T14:29:11.123Z\",\"tenant\":\"acme\",\"state\":\"error\","
		  "\"reason\":\"asleep\",\"quality\":50,\"message\":\"board 1 on '/dev/x' "
		  "echoes \\\"requests\\\"\"}");
	STATUS(b.p, NULL);
	CHECK_INT(st.state, BMS_STATUS_ERROR);
	CHECK_STR(st.reason, "asleep");
	CHECK_INT(st.quality, 50);
	CHECK_INT(st.has_message, 1);
	CHECK_STR(st.message, "board 1 on '/dev/x' echoes \"requests\"");
	CHECK_STR(st.env.tenant, "acme");
	bms_buf_free(&b);

	STATUS(SHEAD ",\"state\":\"testing\",\"reason\":\"ok\",\"quality\":0}", NULL);
	CHECK_INT(st.state, BMS_STATUS_TESTING);
	CHECK_INT(st.has_message, 0);
	STATUS(SHEAD ",\"state\":\"disconnected\",\"reason\":\"open_failed\",\"quality\":100,"
	       "\"message\":\"\"}", NULL);
	CHECK_INT(st.state, BMS_STATUS_DISCONNECTED);

	STATUS("{\"type\":\"reading\",\"bms_id\":\"p1\"," TS "}", "not a status record");
	STATUS(SHEAD ",\"reason\":\"ok\",\"quality\":1}",
	       "state: not one of connected, disconnected, error, testing");
	STATUS(SHEAD ",\"state\":\"up\",\"reason\":\"ok\",\"quality\":1}",
	       "state: not one of connected, disconnected, error, testing");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"gremlins\",\"quality\":1}",
	       "reason: unknown");
	STATUS(SHEAD ",\"state\":\"error\",\"quality\":1}", "reason: unknown");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\"}",
	       "quality: not a whole number 0..100");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":101}",
	       "quality: not a whole number 0..100");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":-1}",
	       "quality: not a whole number 0..100");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":5.5}",
	       "quality: not a whole number 0..100");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":007}",
	       "not a JSON object: expected ',' or '}' at byte 112");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":\"5\"}",
	       "quality: not a whole number 0..100");
	STATUS(SHEAD ",\"state\":\"error\",\"reason\":\"ok\",\"quality\":5,\"message\":5}",
	       "message: not a string");
	STATUS("{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":\"2026-13-01T00:00:00Z\","
	       "\"state\":\"error\",\"reason\":\"ok\",\"quality\":5}", "bad timestamp");
	STATUS(SHEAD ",\"tenant\":\"a\",\"tenant\":\"b\",\"state\":\"error\",\"reason\":\"ok\","
	       "\"quality\":5}", "tenant: more than once");

	CHECK_STR(bms_status_state_name(BMS_STATUS_CONNECTED), "connected");
	CHECK(bms_status_state_name(BMS_STATUS_NONE) == NULL);
	CHECK_INT(bms_status_state_parse("testing"), BMS_STATUS_TESTING);
	CHECK_INT(bms_status_state_parse("none"), BMS_STATUS_NONE);
	CHECK(bms_status_reason_known("device_gone") && !bms_status_reason_known("ok "));
}

int main(void)
{
	test_envelope();
	test_names();
	test_writers();
	test_health();
	test_status();
	return unit_done();
}

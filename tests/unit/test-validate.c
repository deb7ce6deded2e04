/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of reading validation (lib/validate.c): the findings table
 * against the manual (read from the top of the tree), the verdict cut
 * out of lines of every layout, the registry under the configuration,
 * the clock given by the caller, the cap on batteries, and annotated
 * lines that the reading parser and the store's packer read alike.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "chem.h"
#include "config.h"
#include "readpack.h"
#include "validate.h"
#include "unit.h"

#define MAN "share/man/man1/bms-validate.1"
#define NOW 1795789751123LL	/* 2026-11-27T14:29:11.123Z */
#define HEAD "{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:11.123Z\""
#define HEAD2 "{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:12.000Z\""
#define HEAD4 "{\"type\":\"reading\",\"bms_id\":\"p4\",\"timestamp\":\"2026-11-27T14:29:11.123Z\""

static struct bms_validate_result res;
static struct bms_buf out;
static char why[512];

static struct bms_config *config(const char *text)
{
	struct bms_config *c = bms_config_new(bms_validate_keys, bms_validate_nkeys);
	char err[256];

	if (!unit_result(c != NULL && bms_config_parse(c, "t.conf", text, strlen(text), err,
						       sizeof err) == 0, __FILE__, __LINE__))
		fprintf(stderr, "config: %s\n", err);
	return c;
}

static int judge(struct bms_validate *v, const char *line)
{
	why[0] = '\0';
	return bms_validate_line(v, line, strlen(line), NOW, &res, &out, why, sizeof why);
}

/* Every code snake_case, once, in the manual with its severity. */
static void test_table(void)
{
	static char man[65536];
	FILE *f = fopen(MAN, "r");
	size_t n = f ? fread(man, 1, sizeof man - 1, f) : 0;

	if (f)
		fclose(f);
	CHECK(n > 0);
	man[n] = '\0';
	for (int i = 0; i < BMS_V_COUNT; i++) {
		const struct bms_validate_def *d = &bms_validate_defs[i];
		char item[128];

		CHECK(d->code && d->what);
		for (const char *p = d->code; *p; p++)
			CHECK(islower((unsigned char)*p) || *p == '_');
		for (int k = 0; k < i; k++)
			CHECK(strcmp(d->code, bms_validate_defs[k].code) != 0);
		snprintf(item, sizeof item, ".It Sy %s Pq %s\n", d->code,
			 bms_reading_severity_words[d->severity]);
		if (!unit_result(strstr(man, item) != NULL, __FILE__, __LINE__))
			fprintf(stderr, "%s: no '%.*s' in the manual\n", MAN,
				(int)strlen(item) - 1, item);
	}
	/* Every threshold has its default in the manual. */
	for (size_t k = 0; k < bms_validate_nkeys; k++) {
		char item[128];

		if (strcmp(bms_validate_keys[k].section, "validate") != 0)
			continue;
		snprintf(item, sizeof item, ".It Cm %s No = Ar", bms_validate_keys[k].key);
		CHECK(strstr(man, item) != NULL);
		snprintf(item, sizeof item, "Pq default %s\n", bms_validate_keys[k].def);
		CHECK(strstr(man, item) != NULL);
	}
}

/* The old verdict is cut out of any layout, and the line judged again. */
static void test_strip(void)
{
	struct bms_config *c = config("");
	struct bms_validate *v = bms_validate_new(c, -1);
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ HEAD ",\"quality\":\"bad\"}", HEAD ",\"quality\":\"good\"}" },
		{ HEAD2 " , \"quality\" : \"bad\" , \"soc_percent\":5 }",
		  HEAD2 "  , \"soc_percent\":5 ,\"quality\":\"good\"}" },
		{ "{\"quality\":\"bad\",\"type\":\"reading\",\"bms_id\":\"p2\","
		  "\"timestamp\":\"2026-11-27T14:29:11.123Z\"}",
		  "{\"type\":\"reading\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T14:29:11.123Z\","
		  "\"quality\":\"good\"}" },
		{ "{ \"qu\\u0061lity\" :\"suspect\", \"findings\":[{\"code\":\"a\\\"b\",\"severity\":"
		  "\"info\",\"message\":\"}\"}],\"type\":\"reading\",\"bms_id\":\"p3\","
		  "\"timestamp\":\"2026-11-27T14:29:11.123Z\"}\r",
		  "{ \"type\":\"reading\",\"bms_id\":\"p3\",\"timestamp\":\"2026-11-27T14:29:11.123Z\""
		  ",\"quality\":\"good\"}\r" },
		{ HEAD4 ",\"findings\":[],\"x\\\\\":1,\"quality\":\"good\"}",
		  HEAD4 ",\"x\\\\\":1,\"quality\":\"good\"}" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = judge(v, cases[i].in);

		CHECK_INT(rc, BMS_VALIDATE_JUDGED);
		bms_buf_putc(&out, '\0');
		if (!unit_result(strcmp(out.p, cases[i].out) == 0, __FILE__, __LINE__))
			fprintf(stderr, "  in:   %s\n  got:  %s\n  want: %s\n", cases[i].in,
				out.p, cases[i].out);
	}
	bms_validate_free(v);
	bms_config_free(c);
}

static void test_judge(void)
{
	struct bms_config *c = config("[battery \"p1\"]\nchemistry = lfp\ncells = 2\n"
				      "[validate]\nfuture_tolerance = 1s\n");
	struct bms_validate *v = bms_validate_new(c, BMS_CHEM_NMC);

	/* Not a reading, and lines the parser refuses. */
	CHECK_INT(judge(v, "{\"type\":\"status\"}"), BMS_VALIDATE_OTHER);
	CHECK_INT(judge(v, "{\"type\":\"reading\"}"), BMS_VALIDATE_REJECT);
	CHECK_STR(why, "schema_violation: no bms_id");
	CHECK_INT(judge(v, "[]"), BMS_VALIDATE_REJECT);
	CHECK_STR(why, "invalid_json: not a JSON object: expected an object at byte 1");

	/* The clock is the caller's: one second of tolerance. */
	CHECK_INT(judge(v, "{\"type\":\"reading\",\"bms_id\":\"f\","
			   "\"timestamp\":\"2026-11-27T14:29:12.123Z\"}"), BMS_VALIDATE_JUDGED);
	CHECK_INT(res.n, 0);
	CHECK_INT(judge(v, "{\"type\":\"reading\",\"bms_id\":\"f\","
			   "\"timestamp\":\"2026-11-27T14:29:12.124Z\"}"), BMS_VALIDATE_JUDGED);
	CHECK_INT(res.n, 1);
	CHECK_INT(res.f[0].code, BMS_V_TS_FUTURE);
	CHECK_INT(res.quality, BMS_QUALITY_BAD);

	/* The configuration over --chemistry; the registry under it. */
	CHECK_INT(judge(v, HEAD ",\"cell_voltages\":[3.9,3.3],\"pack_voltage\":7.2}"),
		  BMS_VALIDATE_JUDGED);
	CHECK_INT(res.n, 1);
	CHECK_STR(res.f[0].msg, "cell 1 at 3.900 V is above the LiFePO4 limit of 3.80 V");
	bms_validate_reason(&res, why, sizeof why);
	CHECK_STR(why, "cell_over_limit: cell 1 at 3.900 V is above the LiFePO4 limit of 3.80 V");
	CHECK_INT(bms_validate_registry_add(v, "p9", "LTO", 100, 3), 0);
	CHECK_INT(bms_validate_registry_add(v, "p1", "lto", 100, 3), 0);
	bms_validate_registry_commit(v);
	CHECK_INT(bms_validate_registry_add(v, "p9", "lfp", 100, 2), 0);
	bms_validate_registry_abort(v);	/* a store that failed: p9 stays lto, 3 cells */
	bms_validate_refresh(v);
	CHECK_INT(judge(v, "{\"type\":\"reading\",\"bms_id\":\"p9\",\"timestamp\":"
			   "\"2026-11-27T14:29:11.123Z\",\"cell_voltages\":[2.4,2.4]}"),
		  BMS_VALIDATE_JUDGED);
	CHECK_INT(res.n, 1);
	CHECK_STR(res.f[0].msg, "2 cell voltages, the battery has 3 cells");
	CHECK_INT(judge(v, HEAD2 ",\"cell_voltages\":[3.5,3.3]}"), BMS_VALIDATE_JUDGED);
	CHECK_INT(res.quality, BMS_QUALITY_GOOD);	/* still lfp, 2 cells */
	CHECK_INT(bms_validate_tracked(v), 3);

	/* The findings as JSON. */
	res.n = 1;
	res.f[0].code = BMS_V_CELL_SUM;
	strcpy(res.f[0].msg, "a \"quoted\" word");
	bms_buf_reset(&out);
	bms_validate_findings_json(&res, &out);
	bms_buf_putc(&out, '\0');
	CHECK_STR(out.p, "[{\"code\":\"cell_sum_mismatch\",\"severity\":\"warning\","
			 "\"message\":\"a \\\"quoted\\\" word\"}]");
	bms_validate_free(v);
	bms_config_free(c);
}

/* An annotated line is a reading both parsers take alike. */
static void test_parsers_agree(void)
{
	static struct bms_readpack rp;
	static struct bms_reading_doc d;
	struct bms_config *c = config("");
	struct bms_validate *v = bms_validate_new(c, -1);
	const char *line = HEAD ",\"proto\":\"daly\",\"pack_voltage\":14,\"pack_current\":1,"
			   "\"pack_power\":14,\"cell_voltages\":[3.3,3.3,3.3,3.3],\"cell_count\":4}";

	CHECK_INT(judge(v, line), BMS_VALIDATE_JUDGED);
	CHECK_INT(res.quality, BMS_QUALITY_SUSPECT);
	CHECK_INT(bms_reading_parse(out.p, out.len, &d, why, sizeof why), 0);
	CHECK_INT(bms_readpack_parse(out.p, out.len, &rp, why, sizeof why), 0);
	CHECK_INT(d.r.have, rp.r.have);
	CHECK(d.r.have & BMS_R_QUALITY && d.r.have & BMS_R_FINDINGS);
	CHECK_INT(d.r.quality, BMS_QUALITY_SUSPECT);
	CHECK_INT(d.r.nfindings, 1);
	bms_validate_free(v);
	bms_config_free(c);
}

static void test_cap(void)
{
	struct bms_config *c = config("");
	struct bms_validate *v = bms_validate_new(c, -1);
	char line[256];

	for (int i = 0; i <= BMS_VALIDATE_MAX_BATTERIES; i++) {
		snprintf(line, sizeof line, "{\"type\":\"reading\",\"bms_id\":\"b%d\","
			 "\"timestamp\":\"2026-11-27T14:29:11.123Z\"}", i);
		CHECK_INT(judge(v, line), BMS_VALIDATE_JUDGED);
		CHECK_INT(bms_validate_over_cap(v), i == BMS_VALIDATE_MAX_BATTERIES);
	}
	/* The one past the cap twice at one time: no history, no finding. */
	CHECK_INT(judge(v, line), BMS_VALIDATE_JUDGED);
	CHECK_INT(res.n, 0);
	CHECK_INT(bms_validate_over_cap(v), 0);
	CHECK_INT(bms_validate_tracked(v), BMS_VALIDATE_MAX_BATTERIES);
	bms_validate_free(v);
	bms_config_free(c);
}

int main(void)
{
	test_table();
	test_strip();
	test_judge();
	test_parsers_agree();
	test_cap();
	bms_buf_free(&out);
	return unit_done();
}

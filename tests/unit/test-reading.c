/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the reading parser (lib/reading.c): its rule table
 * against share/schema/reading.schema.json, property by property (read
 * with jansson, run from the top of the tree), and the parser's verdicts
 * on lines of every kind.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "reading.h"
#include "unit.h"

#define SCHEMA "share/schema/reading.schema.json"

static const char *jtype_name(enum bms_reading_jtype t)
{
	switch (t) {
	case BMS_RJ_STRING: return "string";
	case BMS_RJ_NUMBER: return "number";
	case BMS_RJ_INTEGER: return "integer";
	case BMS_RJ_BOOLEAN: return "boolean";
	case BMS_RJ_ARRAY: return "array";
	case BMS_RJ_OBJECT: return "object";
	default: return "none";
	}
}

/* A bound of the schema (minimum, maximum, minLength) against a rule's. */
static void check_bound(json_t *schema, const char *key, int has, double v,
			const char *name)
{
	json_t *b = json_object_get(schema, key);

	if (!unit_result((b != NULL) == (has != 0), __FILE__, __LINE__)) {
		fprintf(stderr, "%s: %s %s in the schema, %s in the table\n", name, key,
			b ? "given" : "not given", has ? "given" : "not given");
		return;
	}
	if (b && !unit_result(json_number_value(b) == v, __FILE__, __LINE__))
		fprintf(stderr, "%s: %s %g in the schema, %g in the table\n", name, key,
			json_number_value(b), v);
}

/* The JSON type the schema gives property p ("const" is a string). */
static const char *schema_type(json_t *p)
{
	json_t *t = json_object_get(p, "type");

	if (t)
		return json_string_value(t);
	if (json_is_string(json_object_get(p, "const")))
		return "string";
	return "?";
}

static int in_required(json_t *required, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(required, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

static void check_rules(json_t *obj, const struct bms_reading_rule *rules, int n,
			const char *where);

/* The schema's "enum" of a string against the rule's words. */
static void check_words(json_t *p, const char *const *words, const char *name)
{
	json_t *e = json_object_get(p, "enum");
	size_t i, n = 0;

	while (words && words[n])
		n++;
	if (!unit_result((e != NULL) == (words != NULL), __FILE__, __LINE__)) {
		fprintf(stderr, "%s: enum %s in the schema, %s in the table\n", name,
			e ? "given" : "not given", words ? "given" : "not given");
		return;
	}
	if (!e)
		return;
	CHECK_INT(json_array_size(e), n);
	for (i = 0; i < n && i < json_array_size(e); i++)
		CHECK_STR(json_string_value(json_array_get(e, i)), words[i]);
}

/* One property of the schema against its rule. */
static void check_rule(json_t *p, int required, const struct bms_reading_rule *ru)
{
	const char *name = ru->name;
	json_t *items, *v;

	CHECK_STR(jtype_name(ru->type), schema_type(p));
	if (!unit_result(ru->required == required, __FILE__, __LINE__))
		fprintf(stderr, "%s: required %d in the schema, %d in the table\n", name,
			required, ru->required);
	switch (ru->type) {
	case BMS_RJ_STRING:
		v = json_object_get(p, "const");
		CHECK_STR(ru->value, v ? json_string_value(v) : NULL);
		v = json_object_get(p, "format");
		CHECK_STR(ru->format, v ? json_string_value(v) : NULL);
		check_bound(p, "minLength", ru->has_min, ru->min, name);
		check_words(p, ru->words, name);
		CHECK(!json_object_get(p, "pattern"));
		break;
	case BMS_RJ_NUMBER:
	case BMS_RJ_INTEGER:
		check_bound(p, "minimum", ru->has_min, ru->min, name);
		check_bound(p, "maximum", ru->has_max, ru->max, name);
		break;
	case BMS_RJ_ARRAY:
		items = json_object_get(p, "items");
		CHECK(items != NULL);
		CHECK_STR(jtype_name(ru->item), schema_type(items));
		check_bound(items, "minimum", ru->has_min, ru->min, name);
		check_bound(items, "maximum", ru->has_max, ru->max, name);
		check_bound(p, "maxItems", ru->max_items != 0, ru->max_items, name);
		CHECK(!json_object_get(items, "pattern"));
		if (ru->item == BMS_RJ_OBJECT)
			check_rules(items, ru->props, ru->nprops, name);
		else
			CHECK(!json_object_get(items, "properties"));
		break;
	case BMS_RJ_OBJECT:
		check_rules(p, ru->props, ru->nprops, name);
		break;
	default:
		break;
	}
	if (ru->type != BMS_RJ_ARRAY && ru->type != BMS_RJ_STRING)
		CHECK(!json_object_get(p, "maxItems") && !json_object_get(p, "minLength"));
}

/* Every property of obj has its rule, and every rule its property. */
static void check_rules(json_t *obj, const struct bms_reading_rule *rules, int n,
			const char *where)
{
	json_t *props = json_object_get(obj, "properties");
	json_t *required = json_object_get(obj, "required");
	const char *key;
	json_t *p;

	if (!unit_result(json_is_object(props), __FILE__, __LINE__)) {
		fprintf(stderr, "%s: no properties in the schema\n", where);
		return;
	}
	CHECK_INT(json_object_size(props), n);
	json_object_foreach(props, key, p) {
		int k;

		for (k = 0; k < n && strcmp(rules[k].name, key) != 0; k++)
			;
		if (!unit_result(k < n, __FILE__, __LINE__)) {
			fprintf(stderr, "%s: property %s has no rule\n", where, key);
			continue;
		}
		check_rule(p, in_required(required, key), &rules[k]);
	}
	for (int k = 0; k < n; k++)
		if (!unit_result(json_object_get(props, rules[k].name) != NULL,
				 __FILE__, __LINE__))
			fprintf(stderr, "%s: rule %s is not in the schema\n", where,
				rules[k].name);
}

static void test_schema(void)
{
	const char *path = getenv("BMS_READING_SCHEMA") ? getenv("BMS_READING_SCHEMA")
							: SCHEMA;
	json_error_t jerr;
	json_t *schema = json_load_file(path, 0, &jerr);

	if (!unit_result(schema != NULL, __FILE__, __LINE__)) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return;
	}
	CHECK_STR(json_string_value(json_object_get(schema, "type")), "object");
	check_rules(schema, bms_reading_rules, bms_reading_nrules, "reading");
	json_decref(schema);
}

#define HEAD "{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":\"2026-11-27T14:29:11.123Z\""

static struct bms_reading_doc d;

static void parses_at(const char *line, const char *file, int lineno)
{
	char err[256] = "";

	if (!unit_result(bms_reading_parse(line, strlen(line), &d, err, sizeof err) == 0,
			 file, lineno))
		fprintf(stderr, "refused: %s\n  %s\n", err, line);
}

static void refuses_at(const char *line, const char *reason, const char *file, int lineno)
{
	char err[256] = "";
	int rc = bms_reading_parse(line, strlen(line), &d, err, sizeof err);

	if (!unit_result(rc == -1 && strcmp(err, reason) == 0, file, lineno))
		fprintf(stderr, "gave %d\n  got:  %s\n  want: %s\n  line: %s\n", rc, err,
			reason, line);
}

#define PARSES(line) parses_at((line), __FILE__, __LINE__)
#define REFUSES(line, reason) refuses_at((line), (reason), __FILE__, __LINE__)

static void test_parse(void)
{
	PARSES(HEAD ",\"tenant\":\"acme\",\"proto\":\"daly\",\"pack_voltage\":53.2,"
	       "\"pack_current\":-12.5,\"soc_percent\":87.5,\"temperatures\":[21,22.5],"
	       "\"cell_voltages\":[3.325,3.326],\"balancing_status\":{\"active\":true,"
	       "\"cells_balancing\":[2]},\"protection_status\":{\"overvoltage\":true},"
	       "\"fault_codes\":[\"cell_overvoltage\"],\"warning_codes\":[],\"cycles\":12,"
	       "\"remaining_capacity_ah\":0,\"charge_mos\":true,\"discharge_mos\":false,"
	       "\"cell_count\":2,\"temp_count\":2,\"extra\":{\"kept\":1}}");
	CHECK_STR(d.env.bms_id, "p1");
	CHECK_INT(d.env.ts_ms, 1795789751123LL);
	CHECK_INT(d.env.has_tenant, 1);
	CHECK_STR(d.env.tenant, "acme");
	CHECK_INT(d.has_proto, 1);
	CHECK_STR(d.proto, "daly");
	CHECK_INT(d.r.have, BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC | BMS_R_TEMPS |
		  BMS_R_CELLS | BMS_R_BALANCE | BMS_R_PROTECT | BMS_R_CODES |
		  BMS_R_CYCLES | BMS_R_REMAIN | BMS_R_MOS);
	CHECK_NUM(d.r.pack_current, -12.5, 3);
	CHECK_INT(d.r.ntemps, 2);
	CHECK_NUM(d.r.temps[1], 22.5, 2);
	CHECK_INT(d.r.ncells, 2);
	CHECK_INT(d.r.balancing_mask, 2);
	CHECK(d.r.balancing_active && d.r.prot.overvoltage && !d.r.prot.undervoltage);
	CHECK_INT(d.r.nfaults, 1);
	CHECK_STR(d.r.faults[0], "cell_overvoltage");
	CHECK(d.r.faults[0] >= d.text && d.r.faults[0] < d.text + sizeof d.text);
	CHECK_INT(d.r.cycles, 12);
	CHECK(d.r.charge_mos && !d.r.discharge_mos);

	/* The schema's ranges (issue 7: the minimum 0 of cycles and the
	 * capacities too). */
	REFUSES(HEAD ",\"cycles\":-1}", "cycles: negative");
	REFUSES(HEAD ",\"remaining_capacity_ah\":-0.5}", "remaining_capacity_ah: negative");
	REFUSES(HEAD ",\"nominal_capacity_ah\":-280}", "nominal_capacity_ah: negative");
	REFUSES(HEAD ",\"pack_voltage\":-1}", "pack_voltage: negative");
	REFUSES(HEAD ",\"soc_percent\":101}", "soc_percent: not in 0..100");
	REFUSES(HEAD ",\"cell_voltages\":[3.3,-0.1]}", "cell_voltages: cell 2 negative");
	REFUSES(HEAD ",\"cycles\":1.5}", "cycles: not an integer");
	REFUSES(HEAD ",\"cell_count\":-1}", "cell_count: not a count");
	REFUSES(HEAD ",\"cell_voltages\":[3.3],\"cell_count\":2}",
		"cell_count: 2 but 1 cell_voltages");
	REFUSES(HEAD ",\"balancing_status\":{\"cells_balancing\":[0]}}",
		"balancing_status: cells_balancing not cell numbers 1..64");
	REFUSES(HEAD ",\"balancing_status\":{\"cells_balancing\":[65]}}",
		"balancing_status: cells_balancing not cell numbers 1..64");
	REFUSES(HEAD ",\"protection_status\":{\"overvoltage\":1}}",
		"protection_status: overvoltage not true or false");
	REFUSES(HEAD ",\"protection_status\":[]}", "protection_status: not an object");
	REFUSES(HEAD ",\"fault_codes\":[1]}", "fault_codes: not an array of strings");
	REFUSES(HEAD ",\"temperatures\":[1e11]}", "temperatures: probe 1 out of range");
	REFUSES(HEAD ",\"charge_mos\":0}", "charge_mos: not true or false");
	PARSES(HEAD ",\"cycles\":0,\"remaining_capacity_ah\":0,\"nominal_capacity_ah\":0}");

	/* The verdict of bms-validate. */
	PARSES(HEAD ",\"quality\":\"good\"}");
	CHECK_INT(d.r.have, BMS_R_QUALITY);
	CHECK_INT(d.r.quality, BMS_QUALITY_GOOD);
	PARSES(HEAD ",\"quality\":\"bad\",\"findings\":[{\"code\":\"cell_over_limit\","
	       "\"severity\":\"error\",\"message\":\"x\"},{\"message\":\"\",\"severity\":"
	       "\"info\",\"code\":\"stale_gap\",\"more\":1}]}");
	CHECK_INT(d.r.have, BMS_R_QUALITY | BMS_R_FINDINGS);
	CHECK_INT(d.r.quality, BMS_QUALITY_BAD);
	CHECK_INT(d.r.nfindings, 2);
	PARSES(HEAD ",\"quality\":\"sus\\u0070ect\",\"findings\":[]}");
	CHECK_INT(d.r.quality, BMS_QUALITY_SUSPECT);
	CHECK_INT(d.r.nfindings, 0);
	REFUSES(HEAD ",\"quality\":\"fine\"}", "quality: not good, suspect or bad");
	REFUSES(HEAD ",\"quality\":1}", "quality: not a string");
	REFUSES(HEAD ",\"quality\":\"good\",\"quality\":\"bad\"}", "quality: more than once");
	REFUSES(HEAD ",\"findings\":[],\"findings\":[]}", "findings: more than once");
	REFUSES(HEAD ",\"findings\":{}}", "findings: not an array of objects");
	REFUSES(HEAD ",\"findings\":[1]}", "findings: finding 1 not an object");
	REFUSES(HEAD ",\"findings\":[{\"code\":\"a\",\"severity\":\"info\",\"message\":\"\"},"
		"{\"severity\":\"info\",\"message\":\"m\"}]}", "findings: finding 2 has no code");
	REFUSES(HEAD ",\"findings\":[{\"code\":\"\",\"severity\":\"info\",\"message\":\"m\"}]}",
		"findings: finding 1: code empty");
	REFUSES(HEAD ",\"findings\":[{\"code\":\"a\",\"severity\":\"fatal\",\"message\":\"m\"}]}",
		"findings: finding 1: severity not info, warning or error");
	REFUSES(HEAD ",\"findings\":[{\"code\":\"a\",\"severity\":\"info\",\"message\":2}]}",
		"findings: finding 1: message not a string");

	/* The envelope is record.h's. */
	REFUSES("{\"bms_id\":\"p1\"}", "no type");
	REFUSES("{\"type\":\"frames\",\"bms_id\":\"p1\"}", "not a reading");
	REFUSES("{\"type\":\"reading\",\"timestamp\":\"2026-11-27T14:29:11.123Z\"}", "no bms_id");
	REFUSES("{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":\"2026-13-01T00:00:00Z\"}",
		"bad timestamp");
	REFUSES("{\"type\":\"reading\",\"bms_id\":\"p1\",\"timestamp\":\"99999-01-01T00:00:00Z\"}",
		"bad timestamp");
	REFUSES(HEAD ",\"tenant\":\"lab2\",\"tenant\":\"lab\"}", "tenant: more than once");
	REFUSES(HEAD ",\"proto\":7}", "proto: not a string");
	REFUSES("[1]", "not a JSON object: expected an object at byte 1");
}

int main(void)
{
	test_schema();
	test_parse();
	return unit_done();
}

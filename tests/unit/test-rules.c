/* SPDX-License-Identifier: MIT */
/*
 * lib/rules: what a rules file compiles to (the shared variable table,
 * the template pieces, the defaults of [rule]), the errors and their
 * columns through escapes of quoted values, which batteries a rule
 * applies to, and the message rendering of every kind of value.
 */
#include <math.h>
#include <string.h>

#include "chem.h"
#include "rules.h"
#include "unit.h"

static struct bms_rules *parse(const char *text, char *err, size_t errsz)
{
	struct bms_rules *rs = NULL;

	err[0] = '\0';
	if (bms_rules_parse("r.rules", text, strlen(text), &rs, err, errsz) < 0)
		return NULL;
	return rs;
}

static const char *error_of(const char *text)
{
	static char err[512];
	struct bms_rules *rs = parse(text, err, sizeof err);

	bms_rules_free(rs);
	return rs ? "(loaded)" : err;
}

/* Values for rendering: variable i of the set by its source. */
static void get(void *ctx, int id, struct bms_expr_val *v)
{
	const struct bms_rules *rs = ctx;
	const struct bms_rules_var *var = &rs->vars[id];

	memset(v, 0, sizeof *v);
	if (var->src == BMS_RV_READING && var->field == BMS_RF_CELL_MAX) {
		v->type = BMS_EXPR_NUM;
		v->num = 3.71249;
	} else if (var->src == BMS_RV_READING && var->field == BMS_RF_BMS_ID) {
		v->type = BMS_EXPR_STR;
		v->str = "house";
		v->len = 5;
	} else if (var->src == BMS_RV_READING && var->field == BMS_RF_CHARGING) {
		v->type = BMS_EXPR_BOOL;
		v->num = 1;
	} else if (var->src == BMS_RV_ALERT && var->field == BMS_RA_RULE) {
		v->type = BMS_EXPR_STR;
		v->str = "hot";
		v->len = 3;
	}
}

static void test_compiles(void)
{
	char err[512];
	struct bms_rules *rs = parse(
		"[rule]\n"
		"delay = 10s\n"
		"repeat = 1h\n"
		"[rule \"hot\"]\n"
		"condition = \"cell_max > 3.65 and charging\"\n"
		"message = \"{rule}: cell_max {cell_max:2} / {cell_max} on {bms_id} {{ok}} {charging} {value}\"\n"
		"[rule \"cold\"]\n"
		"condition = \"temp_min < 0 and rate(temp_min, 10m) < -1\"\n"
		"severity = critical\n"
		"delay = 0\n"
		"chemistry = \"lfp, NMC\"\n"
		"batteries = \"a b\"\n"
		"[rule \"off\"]\n"
		"condition = \"cell_max > 4\"\n"
		"enabled = no\n"
		"[rule \"doc\"]\n"
		"condition = \"health.soh_percent < 80 or anomaly('cell_deviation') or known(soh_percent)\"\n"
		"escalate_after = 1d\n", err, sizeof err);

	CHECK(rs != NULL);
	if (!rs) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(rs->n, 3);
	CHECK_STR(rs->rules[0].name, "hot");
	CHECK_INT(rs->rules[0].delay_ms, 10000);
	CHECK_INT(rs->rules[0].repeat_ms, 3600000);
	CHECK_INT(rs->rules[0].escalate_delay_ms, 10000);
	CHECK_INT(rs->rules[0].severity, BMS_SEV_WARNING);
	CHECK_INT(rs->rules[1].delay_ms, 0);
	CHECK_INT(rs->rules[1].severity, BMS_SEV_CRITICAL);
	CHECK_INT(rs->rules[1].chems, (1u << BMS_CHEM_LFP) | (1u << BMS_CHEM_NMC));
	CHECK_STR(rs->rules[2].name, "doc");
	CHECK_INT(rs->rules[2].escalate_after_ms, 86400000);
	/* cell_max is one variable however often it is named. */
	{
		int n = 0;

		for (int i = 0; i < rs->nvars; i++)
			n += rs->vars[i].src == BMS_RV_READING &&
			     rs->vars[i].field == BMS_RF_CELL_MAX;
		CHECK_INT(n, 1);
	}
	CHECK_INT(rs->nrates, 1);
	CHECK_INT(rs->ndocs, 1);
	CHECK_INT(rs->uses_clock, 0);
	/* Rendering: decimals, the shortest form, strings, booleans, braces,
	 * a missing value. */
	{
		struct bms_buf b = BMS_BUF_INIT;

		bms_rules_render(rs, &rs->rules[0], 0, get, rs, &b);
		CHECK_STR(b.p, "hot: cell_max 3.71 / 3.712 on house {ok} true ?");
		bms_buf_free(&b);
	}
	/* Which batteries. */
	CHECK(bms_rules_applies(&rs->rules[1], "a", BMS_CHEM_NMC));
	CHECK(bms_rules_applies(&rs->rules[1], "b", BMS_CHEM_LFP));
	CHECK(!bms_rules_applies(&rs->rules[1], "ab", BMS_CHEM_LFP));
	CHECK(!bms_rules_applies(&rs->rules[1], "a", BMS_CHEM_LTO));
	CHECK(!bms_rules_applies(&rs->rules[1], "a", -1));
	CHECK(bms_rules_applies(&rs->rules[0], "anything", -1));
	CHECK_INT(bms_rules_find(rs, "cold"), 1);
	CHECK_INT(bms_rules_find(rs, "off"), -1);
	bms_rules_free(rs);
}

static void test_errors(void)
{
	/* Columns count the bytes as written: an escape is two. */
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"cell_max > \\\"\"\n"),
		  "r.rules:2:25: condition: unexpected character '\"'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = cell_max>\n"),
		  "r.rules:2:22: condition: expected a value after '>'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"on\"\nmessage = \"{x\"\n"),
		  "r.rules:2:14: condition: unknown name 'on'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nmessage = \"a {b\"\n"),
		  "r.rules:3:14: message: expected '}' to close '{'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nmessage = \"a } b\"\n"),
		  "r.rules:3:14: message: a '}' is written '}}'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nmessage = \"{cell_max:x}\"\n"),
		  "r.rules:3:21: message: expected decimals 0 to 9 after ':', such as {cell_max:3}");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"value > 1\"\n"),
		  "r.rules:2:14: condition: 'value' is known in messages only");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"fault(1) \"\n"),
		  "r.rules:2:14: condition: fault() takes one code, such as fault('cell_overvoltage')");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"rate(quality, 1m) > 1\"\n"),
		  "r.rules:2:14: condition: rate(): 'quality' is not a number of a reading");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nchemistry = \"lfp lead\"\n"),
		  "r.rules:3:18: chemistry: 'lead' is not lfp, nmc or lto");
	CHECK_STR(error_of("[rule]\ncondition = \"charging\"\n[rule \"x\"]\ncondition = \"charging\"\n"),
		  "r.rules:2:13: rule '': set it in a named [rule \"...\"]: the plain [rule] holds what every rule shares");
	CHECK_STR(error_of("[rule \"a b\"]\ncondition = \"charging\"\n"),
		  "r.rules:2:13: rule 'a b': a name is 1 to 63 letters, digits, '_' and '-'");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nclear = \"not charging\"\nhysteresis = 1\n"),
		  "r.rules:4:14: rule 'x': give a clear condition or a hysteresis, not both");
	CHECK_STR(error_of("[rule \"x\"]\ncondition = \"charging\"\nseverity = critical\nescalate_after = 1h\n"),
		  "r.rules:4:18: rule 'x': a critical rule has nothing to escalate to");
	CHECK_STR(error_of("[battery]\nchemistry = lfp\n"), "r.rules: no [rule \"...\"] in it");
	CHECK_STR(error_of("[rule \"x\"]\nseverity = loud\n"),
		  "r.rules:2:12: severity: 'loud' is not info, warning or critical");
}

int main(void)
{
	test_compiles();
	test_errors();
	return unit_done();
}

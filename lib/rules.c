/* SPDX-License-Identifier: MIT */
/*
 * Rules files (see rules.h and bms-alert.rules(5)).  The file is read by
 * config.h with a key table whose string keys carry checks: a condition
 * is compiled, a template parsed, as the file is read, so that their
 * errors point at the byte in the file.  Building the rule set then
 * compiles each rule again against a table that collects the variables
 * the rules use; what can only be checked across keys (a hysteresis needs
 * a comparison, a condition belongs to a named rule) is checked there,
 * with the line of the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batconf.h"
#include "chem.h"
#include "err.h"
#include "rules.h"

const char *const bms_rules_sev_words[] = { "info", "warning", "critical", NULL };

/* ==== Names ==== */

static const struct {
	const char *name;
	enum bms_expr_type type;
} fields[BMS_RF_COUNT] = {
	[BMS_RF_PACK_VOLTAGE] = { "pack_voltage", BMS_EXPR_NUM },
	[BMS_RF_PACK_CURRENT] = { "pack_current", BMS_EXPR_NUM },
	[BMS_RF_PACK_POWER] = { "pack_power", BMS_EXPR_NUM },
	[BMS_RF_SOC] = { "soc_percent", BMS_EXPR_NUM },
	[BMS_RF_SOH] = { "soh_percent", BMS_EXPR_NUM },
	[BMS_RF_CYCLES] = { "cycles", BMS_EXPR_NUM },
	[BMS_RF_REMAINING] = { "remaining_capacity_ah", BMS_EXPR_NUM },
	[BMS_RF_NOMINAL] = { "nominal_capacity_ah", BMS_EXPR_NUM },
	[BMS_RF_CELL_COUNT] = { "cell_count", BMS_EXPR_NUM },
	[BMS_RF_TEMP_COUNT] = { "temp_count", BMS_EXPR_NUM },
	[BMS_RF_CELL_MAX] = { "cell_max", BMS_EXPR_NUM },
	[BMS_RF_CELL_MIN] = { "cell_min", BMS_EXPR_NUM },
	[BMS_RF_CELL_MAX_INDEX] = { "cell_max_index", BMS_EXPR_NUM },
	[BMS_RF_CELL_MIN_INDEX] = { "cell_min_index", BMS_EXPR_NUM },
	[BMS_RF_CELL_SPREAD] = { "cell_spread", BMS_EXPR_NUM },
	[BMS_RF_CELL_SPREAD_MV] = { "cell_spread_mv", BMS_EXPR_NUM },
	[BMS_RF_CELL_AVG] = { "cell_avg", BMS_EXPR_NUM },
	[BMS_RF_TEMP_MAX] = { "temp_max", BMS_EXPR_NUM },
	[BMS_RF_TEMP_MIN] = { "temp_min", BMS_EXPR_NUM },
	[BMS_RF_TEMP_MAX_INDEX] = { "temp_max_index", BMS_EXPR_NUM },
	[BMS_RF_TEMP_MIN_INDEX] = { "temp_min_index", BMS_EXPR_NUM },
	[BMS_RF_BALANCING_COUNT] = { "balancing_count", BMS_EXPR_NUM },
	[BMS_RF_FAULT_COUNT] = { "fault_count", BMS_EXPR_NUM },
	[BMS_RF_WARNING_COUNT] = { "warning_count", BMS_EXPR_NUM },
	[BMS_RF_FINDING_COUNT] = { "finding_count", BMS_EXPR_NUM },
	[BMS_RF_CHARGING] = { "charging", BMS_EXPR_BOOL },
	[BMS_RF_DISCHARGING] = { "discharging", BMS_EXPR_BOOL },
	[BMS_RF_BALANCING] = { "balancing", BMS_EXPR_BOOL },
	[BMS_RF_CHARGE_MOS] = { "charge_mos", BMS_EXPR_BOOL },
	[BMS_RF_DISCHARGE_MOS] = { "discharge_mos", BMS_EXPR_BOOL },
	[BMS_RF_PROTECTION] = { "protection", BMS_EXPR_BOOL },
	[BMS_RF_PROT_OV] = { "protection.overvoltage", BMS_EXPR_BOOL },
	[BMS_RF_PROT_UV] = { "protection.undervoltage", BMS_EXPR_BOOL },
	[BMS_RF_PROT_OCC] = { "protection.overcurrent_charge", BMS_EXPR_BOOL },
	[BMS_RF_PROT_OCD] = { "protection.overcurrent_discharge", BMS_EXPR_BOOL },
	[BMS_RF_PROT_OT] = { "protection.overtemperature", BMS_EXPR_BOOL },
	[BMS_RF_PROT_UT] = { "protection.undertemperature", BMS_EXPR_BOOL },
	[BMS_RF_QUALITY] = { "quality", BMS_EXPR_STR },
	[BMS_RF_STATUS_STATE] = { "status_state", BMS_EXPR_STR },
	[BMS_RF_STATUS_REASON] = { "status_reason", BMS_EXPR_STR },
	[BMS_RF_STATUS_QUALITY] = { "status_quality", BMS_EXPR_NUM },
	[BMS_RF_ASLEEP] = { "asleep", BMS_EXPR_BOOL },
	[BMS_RF_SINCE_READING] = { "since_reading", BMS_EXPR_NUM },
	[BMS_RF_SINCE_STATUS] = { "since_status", BMS_EXPR_NUM },
	[BMS_RF_INTERVAL] = { "interval", BMS_EXPR_NUM },
	[BMS_RF_BMS_ID] = { "bms_id", BMS_EXPR_STR },
	[BMS_RF_CHEMISTRY] = { "chemistry", BMS_EXPR_STR },
};

static const struct {
	const char *name;
	enum bms_expr_type type;
} alertvars[] = {
	[BMS_RA_VALUE] = { "value", BMS_EXPR_NUM },
	[BMS_RA_THRESHOLD] = { "threshold", BMS_EXPR_NUM },
	[BMS_RA_RULE] = { "rule", BMS_EXPR_STR },
	[BMS_RA_SEVERITY] = { "severity", BMS_EXPR_STR },
};

static int name_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A health.X or aggregate.X[.Y] path: the record's fields are words. */
static int doc_path(const char *s, size_t n, struct bms_rules_var *v)
{
	static const char *const docs[] = { "health.", "aggregate." };

	for (int d = 0; d < 2; d++) {
		size_t pl = strlen(docs[d]);
		int dots = 0;

		if (n <= pl || memcmp(s, docs[d], pl) != 0)
			continue;
		if (n - pl > BMS_RULES_PATH_MAX)
			return -1;
		for (size_t i = pl; i < n; i++)
			dots += s[i] == '.';
		if (dots > 1)
			return -1;
		v->src = BMS_RV_DOC;
		v->field = d;
		memcpy(v->path, s + pl, n - pl);
		v->path[n - pl] = '\0';
		return 0;
	}
	return -1;
}

/*
 * What a name means: fills *v and *type.  templates: the alert's own
 * names (value, threshold, rule, severity) are allowed.  Returns 0, or
 * -1 with the reason in why.
 */
static int resolve_name(const char *s, size_t n, int templates, struct bms_rules_var *v,
			enum bms_expr_type *type, char *why, size_t whysz)
{
	memset(v, 0, sizeof *v);
	for (int i = 0; i < BMS_RF_COUNT; i++)
		if (name_is(s, n, fields[i].name)) {
			v->src = BMS_RV_READING;
			v->field = i;
			*type = fields[i].type;
			return 0;
		}
	for (int i = 0; i < (int)(sizeof alertvars / sizeof alertvars[0]); i++)
		if (name_is(s, n, alertvars[i].name)) {
			if (!templates)
				return bms_err_set(why, whysz,
						   "'%s' is known in messages only", alertvars[i].name);
			v->src = BMS_RV_ALERT;
			v->field = i;
			*type = alertvars[i].type;
			return 0;
		}
	if (doc_path(s, n, v) == 0) {
		*type = BMS_EXPR_ANY;
		return 0;
	}
	{
		char b[80];

		return bms_err_set(why, whysz, "unknown name '%s'",
				   bms_config_shown(s, n, b, sizeof b));
	}
}

/* The variable table a rule set collects while it compiles. */
struct table {
	struct bms_rules *rs;	/* NULL: only check */
	int templates;
	int clock;		/* a clock variable was used */
	int oom;
};

static int add_var(struct table *t, const struct bms_rules_var *v, char *why, size_t whysz)
{
	struct bms_rules *rs = t->rs;
	struct bms_rules_var *nv;

	if (v->src == BMS_RV_READING &&
	    (v->field == BMS_RF_SINCE_READING || v->field == BMS_RF_SINCE_STATUS))
		t->clock = 1;
	if (!rs)
		return 0;
	for (int i = 0; i < rs->nvars; i++) {
		const struct bms_rules_var *o = &rs->vars[i];

		if (o->src == v->src && o->field == v->field && o->period_ms == v->period_ms &&
		    strcmp(o->code, v->code) == 0 && strcmp(o->path, v->path) == 0)
			return i;
	}
	nv = realloc(rs->vars, (size_t)(rs->nvars + 1) * sizeof *nv);
	if (!nv) {
		t->oom = 1;
		return bms_err_set(why, whysz, "out of memory");
	}
	rs->vars = nv;
	nv[rs->nvars] = *v;
	if (v->src == BMS_RV_RATE)
		nv[rs->nvars].slot = rs->nrates++;
	else if (v->src == BMS_RV_DOC)
		nv[rs->nvars].slot = rs->ndocs++;
	if (v->src == BMS_RV_FINDING ||
	    (v->src == BMS_RV_READING && v->field == BMS_RF_FINDING_COUNT))
		rs->need_findings = 1;
	return rs->nvars++;
}

static int env_name(void *ctx, const char *name, size_t len, enum bms_expr_type *type,
		    char *why, size_t whysz)
{
	struct table *t = ctx;
	struct bms_rules_var v;

	if (resolve_name(name, len, t->templates, &v, type, why, whysz) < 0)
		return -1;
	return add_var(t, &v, why, whysz);
}

static int env_call(void *ctx, const char *fname, size_t flen, const struct bms_expr_arg *args,
		    int nargs, enum bms_expr_type *type, char *why, size_t whysz)
{
	static const struct { const char *name; enum bms_rules_src src; } codes[] = {
		{ "fault", BMS_RV_FAULT }, { "warning", BMS_RV_WARNING },
		{ "finding", BMS_RV_FINDING }, { "anomaly", BMS_RV_ANOMALY },
	};
	struct table *t = ctx;
	struct bms_rules_var v = { 0 };
	enum bms_expr_type inner;

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (!name_is(fname, flen, codes[i].name))
			continue;
		if (nargs != 1 || args[0].kind == BMS_EXPR_ARG_NUM)
			return bms_err_set(why, whysz, "%s() takes one code, such as %s('%s')",
					   codes[i].name, codes[i].name,
					   codes[i].src == BMS_RV_ANOMALY ? "cell_deviation" :
					   "cell_overvoltage");
		if (args[0].len == 0 || args[0].len > BMS_RULES_CODE_MAX)
			return bms_err_set(why, whysz, "%s(): a code of 1 to %d bytes",
					   codes[i].name, BMS_RULES_CODE_MAX);
		v.src = codes[i].src;
		memcpy(v.code, args[0].s, args[0].len);
		*type = BMS_EXPR_BOOL;
		return add_var(t, &v, why, whysz);
	}
	if (name_is(fname, flen, "rate")) {
		if (nargs != 2 || args[0].kind != BMS_EXPR_ARG_WORD || !args[1].is_duration ||
		    args[1].num <= 0)
			return bms_err_set(why, whysz,
					   "rate() takes a reading's number and a period, "
					   "such as rate(temp_max, 10m)");
		if (resolve_name(args[0].s, args[0].len, 0, &v, &inner, why, whysz) < 0)
			return -1;
		if (v.src != BMS_RV_READING || v.field >= BMS_RF_NUMBERS)
			return bms_err_set(why, whysz, "rate(): '%.*s' is not a number of a reading",
					   (int)args[0].len, args[0].s);
		v.src = BMS_RV_RATE;
		v.period_ms = (int64_t)(args[1].num * 1000 + 0.5);
		*type = BMS_EXPR_NUM;
		return add_var(t, &v, why, whysz);
	}
	if (name_is(fname, flen, "known")) {
		int id;

		if (nargs != 1 || args[0].kind != BMS_EXPR_ARG_WORD)
			return bms_err_set(why, whysz, "known() takes a name, such as known(temp_max)");
		if ((id = env_name(t, args[0].s, args[0].len, &inner, why, whysz)) < 0)
			return -1;
		v.src = BMS_RV_KNOWN;
		v.field = id;
		*type = BMS_EXPR_BOOL;
		return add_var(t, &v, why, whysz);
	}
	return bms_err_set(why, whysz, "unknown function '%.*s'", (int)(flen > 32 ? 32 : flen),
			   fname);
}

static int compile(struct table *t, const char *text, size_t len, struct bms_expr **out,
		   size_t *at, char *why, size_t whysz)
{
	const struct bms_expr_env env = { env_name, env_call, t };
	struct bms_expr *e;

	if (bms_expr_compile(text, len, &env, &e, at, why, whysz) < 0)
		return -1;
	if (out)
		*out = e;
	else
		bms_expr_free(e);
	return 0;
}

/* ==== Templates ==== */

/*
 * Parse template s[0..n): {name} and {name:N} (N decimals, 0-9) stand for
 * values, {{ and }} for braces.  pieces may be NULL (a check).  Returns
 * the count of pieces, or -1 with *at and why.
 */
static int tmpl_parse(struct table *t, const char *s, size_t n,
		      struct bms_rules_piece *pieces, size_t *at, char *why, size_t whysz)
{
	size_t i = 0, lit = 0;
	int np = 0;

	while (i < n) {
		size_t ns, ne;
		enum bms_expr_type type;
		int var, dec = -1;

		if (s[i] == '}') {
			if (i + 1 < n && s[i + 1] == '}') {
				i += 2;
				continue;
			}
			*at = i;
			return bms_err_set(why, whysz, "a '}' is written '}}'");
		}
		if (s[i] != '{' || (i + 1 < n && s[i + 1] == '{')) {
			i += s[i] == '{' ? 2 : 1;
			continue;
		}
		ns = ++i;
		while (i < n && s[i] != '}' && s[i] != ':' && s[i] != '{')
			i++;
		ne = i;
		if (i < n && s[i] == ':') {
			if (i + 2 < n && s[i + 1] >= '0' && s[i + 1] <= '9' && s[i + 2] == '}') {
				dec = s[i + 1] - '0';
				i += 2;
			} else {
				*at = i;
				return bms_err_set(why, whysz,
						   "expected decimals 0 to 9 after ':', such as {cell_max:3}");
			}
		}
		if (i >= n || s[i] != '}') {
			*at = ns - 1;
			return bms_err_set(why, whysz, "expected '}' to close '{'");
		}
		if ((var = env_name(t, s + ns, ne - ns, &type, why, whysz)) < 0) {
			*at = ns;
			return -1;
		}
		if (pieces) {
			pieces[np].text = s + lit;
			pieces[np].len = ns - 1 - lit;
			pieces[np].var = var;
			pieces[np].dec = dec;
		}
		np++;
		lit = ++i;
	}
	if (pieces) {
		pieces[np].text = s + lit;
		pieces[np].len = n - lit;
		pieces[np].var = -1;
		pieces[np].dec = -1;
	}
	return np + 1;
}

static void lit_put(struct bms_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bms_buf_putc(out, s[i]);
		if ((s[i] == '{' || s[i] == '}') && i + 1 < n && s[i + 1] == s[i])
			i++;
	}
}

void bms_rules_render(const struct bms_rules *rs, const struct bms_rule *r, int cleared,
		      bms_expr_get_fn get, void *ctx, struct bms_buf *out)
{
	const struct bms_rules_piece *pieces = cleared && r->ctmpl ? r->cpieces : r->pieces;
	int n = cleared && r->ctmpl ? r->ncpieces : r->npieces;

	for (int i = 0; i < n; i++) {
		const struct bms_rules_piece *p = &pieces[i];
		struct bms_expr_val v;

		lit_put(out, p->text, p->len);
		if (p->var < 0)
			continue;
		get(ctx, p->var, &v);
		switch (v.type) {
		case BMS_EXPR_NUM:
			if (p->dec >= 0)
				bms_buf_printf(out, "%.*f", p->dec, v.num);
			else
				bms_buf_num(out, v.num, 3);
			break;
		case BMS_EXPR_BOOL:
			bms_buf_puts(out, v.num != 0 ? "true" : "false");
			break;
		case BMS_EXPR_STR:
			bms_buf_add(out, v.str, v.len);
			break;
		default:
			bms_buf_putc(out, '?');
			break;
		}
	}
}

/* ==== The keys of a rules file ==== */

static int check_cond(const char *val, size_t len, size_t *at, char *why, size_t whysz)
{
	struct table t = { 0 };

	return compile(&t, val, len, NULL, at, why, whysz);
}

static int check_tmpl(const char *val, size_t len, size_t *at, char *why, size_t whysz)
{
	struct table t = { .templates = 1 };

	return tmpl_parse(&t, val, len, NULL, at, why, whysz) < 0 ? -1 : 0;
}

/* A list of chemistries, separated by spaces or commas; 0 or -1. */
static int chem_list(const char *val, size_t len, unsigned *bits, size_t *at,
		     char *why, size_t whysz)
{
	size_t i = 0;

	*bits = 0;
	while (i < len) {
		size_t s;
		int c;

		while (i < len && (val[i] == ' ' || val[i] == ','))
			i++;
		s = i;
		while (i < len && val[i] != ' ' && val[i] != ',')
			i++;
		if (i == s)
			break;
		if ((c = bms_chem_find(val + s, i - s)) < 0) {
			char b[48];

			*at = s;
			return bms_err_set(why, whysz, "'%s' is not lfp, nmc or lto",
					   bms_config_shown(val + s, i - s, b, sizeof b));
		}
		*bits |= 1u << c;
	}
	return 0;
}

static int check_chems(const char *val, size_t len, size_t *at, char *why, size_t whysz)
{
	unsigned bits;

	return chem_list(val, len, &bits, at, why, whysz);
}

#define RULE_KEY(k, t, ...) \
	{ .section = "rule", .key = k, .type = t, .flags = BMS_CONFIG_NAMED, __VA_ARGS__ }

static const struct bms_config_key keys[] = {
	RULE_KEY("condition", BMS_CONFIG_STRING, .check = check_cond),
	RULE_KEY("clear", BMS_CONFIG_STRING, .check = check_cond),
	RULE_KEY("hysteresis", BMS_CONFIG_NUMBER, .min = 0, .max = 1e9),
	RULE_KEY("severity", BMS_CONFIG_ENUM, .words = bms_rules_sev_words, .def = "warning"),
	RULE_KEY("escalate", BMS_CONFIG_STRING, .check = check_cond),
	RULE_KEY("escalate_delay", BMS_CONFIG_DURATION, .min = 0, .max = 365 * 86400000.0),
	RULE_KEY("escalate_after", BMS_CONFIG_DURATION, .min = 0, .max = 365 * 86400000.0),
	RULE_KEY("delay", BMS_CONFIG_DURATION, .min = 0, .max = 365 * 86400000.0),
	RULE_KEY("clear_delay", BMS_CONFIG_DURATION, .min = 0, .max = 365 * 86400000.0),
	RULE_KEY("repeat", BMS_CONFIG_DURATION, .min = 0, .max = 365 * 86400000.0),
	RULE_KEY("message", BMS_CONFIG_STRING, .check = check_tmpl),
	RULE_KEY("clear_message", BMS_CONFIG_STRING, .check = check_tmpl),
	RULE_KEY("batteries", BMS_CONFIG_STRING),
	RULE_KEY("chemistry", BMS_CONFIG_STRING, .check = check_chems),
	RULE_KEY("enabled", BMS_CONFIG_BOOLEAN, .def = "true"),
	BMS_BATCONF_KEYS,
};

/* ==== Building a rule set ==== */

static int rule_err(const struct bms_config *cfg, const char *name, const char *key,
		    char *err, size_t errsz, const char *what)
{
	unsigned line, col;
	char b[96];

	bms_config_shown(name ? name : "", name ? strlen(name) : 0, b, sizeof b);
	if (bms_config_where(cfg, "rule", name, key, &line, &col))
		return bms_err_set(err, errsz, "%s:%u:%u: rule '%s': %s", bms_config_file(cfg),
				   line, col, b, what);
	return bms_err_set(err, errsz, "%s: rule '%s': %s", bms_config_file(cfg), b, what);
}

int bms_rules_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BMS_RULES_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* A template of the rule: its own copy of text s and its pieces. */
static int template(struct table *t, const char *s, char **text,
		    struct bms_rules_piece **pieces, int *n, char *why, size_t whysz)
{
	size_t at;
	int np;

	if (!(*text = strdup(s)))
		return bms_err_set(why, whysz, "out of memory");
	np = tmpl_parse(t, *text, strlen(*text), NULL, &at, why, whysz);
	if (np < 0)
		return -1;
	if (!(*pieces = calloc((size_t)np, sizeof **pieces)))
		return bms_err_set(why, whysz, "out of memory");
	*n = tmpl_parse(t, *text, strlen(*text), *pieces, &at, why, whysz);
	return 0;
}

static int build_rule(struct bms_rules *rs, struct bms_rule *r, const char *name,
		      char *err, size_t errsz)
{
	const struct bms_config *cfg = rs->cfg;
	struct table t = { .rs = rs };
	const char *s;
	char why[256];
	size_t at;

	if (!bms_rules_name_valid(name))
		return rule_err(cfg, name, "condition", err, errsz,
				"a name is 1 to 63 letters, digits, '_' and '-'");
	snprintf(r->name, sizeof r->name, "%s", name);
	if (bms_config_isset(cfg, "rule", name, "condition") != 2)
		return rule_err(cfg, name, "condition", err, errsz, "no condition");
	/* The file's own checks compiled these already: only memory fails. */
	s = bms_config_str(cfg, "rule", name, "condition");
	if (compile(&t, s, strlen(s), &r->cond, &at, why, sizeof why) < 0)
		return rule_err(cfg, name, "condition", err, errsz, why);
	if ((s = bms_config_str(cfg, "rule", name, "clear")) &&
	    compile(&t, s, strlen(s), &r->clear, &at, why, sizeof why) < 0)
		return rule_err(cfg, name, "clear", err, errsz, why);
	if ((s = bms_config_str(cfg, "rule", name, "escalate")) &&
	    compile(&t, s, strlen(s), &r->escalate, &at, why, sizeof why) < 0)
		return rule_err(cfg, name, "escalate", err, errsz, why);
	r->has_hysteresis = bms_config_isset(cfg, "rule", name, "hysteresis") != 0;
	r->hysteresis = bms_config_num(cfg, "rule", name, "hysteresis");
	if (r->has_hysteresis && r->clear)
		return rule_err(cfg, name, "hysteresis", err, errsz,
				"give a clear condition or a hysteresis, not both");
	if (r->has_hysteresis && !bms_expr_cmp_op(r->cond))
		return rule_err(cfg, name, "hysteresis", err, errsz,
				"a hysteresis needs a condition that is one comparison "
				"(<, <=, > or >=)");
	r->severity = bms_config_enum(cfg, "rule", name, "severity");
	r->delay_ms = bms_config_ms(cfg, "rule", name, "delay");
	r->clear_delay_ms = bms_config_ms(cfg, "rule", name, "clear_delay");
	r->repeat_ms = bms_config_ms(cfg, "rule", name, "repeat");
	r->escalate_after_ms = bms_config_ms(cfg, "rule", name, "escalate_after");
	r->escalate_delay_ms = bms_config_isset(cfg, "rule", name, "escalate_delay") ?
		bms_config_ms(cfg, "rule", name, "escalate_delay") : r->delay_ms;
	if (bms_config_isset(cfg, "rule", name, "escalate_delay") == 2 && !r->escalate)
		return rule_err(cfg, name, "escalate_delay", err, errsz,
				"an escalate_delay without an escalate condition");
	if ((r->escalate || r->escalate_after_ms) && r->severity == BMS_SEV_CRITICAL)
		return rule_err(cfg, name, r->escalate ? "escalate" : "escalate_after", err, errsz,
				"a critical rule has nothing to escalate to");
	if ((s = bms_config_str(cfg, "rule", name, "batteries")) && s[strspn(s, " ,")]) {
		if (!(r->batteries = strdup(s)))
			return bms_err_set(err, errsz, "out of memory");
	}
	if ((s = bms_config_str(cfg, "rule", name, "chemistry")) &&
	    chem_list(s, strlen(s), &r->chems, &at, why, sizeof why) < 0)
		return rule_err(cfg, name, "chemistry", err, errsz, why);
	s = bms_config_str(cfg, "rule", name, "message");
	if (!s)
		s = "{rule} on {bms_id}";
	t.templates = 1;
	if (template(&t, s, &r->tmpl, &r->pieces, &r->npieces, why, sizeof why) < 0)
		return rule_err(cfg, name, "message", err, errsz, why);
	if ((s = bms_config_str(cfg, "rule", name, "clear_message")) &&
	    template(&t, s, &r->ctmpl, &r->cpieces, &r->ncpieces, why, sizeof why) < 0)
		return rule_err(cfg, name, "clear_message", err, errsz, why);
	r->uses_clock = t.clock;
	rs->uses_clock |= t.clock;
	if (t.oom)
		return bms_err_set(err, errsz, "out of memory");
	return 0;
}

static void rule_free(struct bms_rule *r)
{
	bms_expr_free(r->cond);
	bms_expr_free(r->clear);
	bms_expr_free(r->escalate);
	free(r->batteries);
	free(r->tmpl);
	free(r->pieces);
	free(r->ctmpl);
	free(r->cpieces);
}

void bms_rules_free(struct bms_rules *rs)
{
	if (!rs)
		return;
	for (int i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	free(rs->vars);
	bms_config_free(rs->cfg);
	free(rs);
}

/* The configuration read: build the rules.  0, or -1 with err. */
static int build(struct bms_rules *rs, char *err, size_t errsz)
{
	const struct bms_config *cfg = rs->cfg;
	static const char *const named_only[] = { "condition", "clear", "escalate", "hysteresis" };
	size_t count = 0;
	const char *name;

	for (size_t i = 0; i < sizeof named_only / sizeof named_only[0]; i++)
		if (bms_config_isset(cfg, "rule", NULL, named_only[i]))
			return rule_err(cfg, NULL, named_only[i], err, errsz,
					"set it in a named [rule \"...\"]: the plain [rule] "
					"holds what every rule shares");
	while (bms_config_name(cfg, "rule", count))
		count++;
	if (count == 0)
		return bms_err_set(err, errsz, "%s: no [rule \"...\"] in it", bms_config_file(cfg));
	if (count > BMS_RULES_MAX)
		return bms_err_set(err, errsz, "%s: more than %d rules", bms_config_file(cfg),
				   BMS_RULES_MAX);
	if (!(rs->rules = calloc(count, sizeof *rs->rules)))
		return bms_err_set(err, errsz, "out of memory");
	for (size_t i = 0; (name = bms_config_name(cfg, "rule", i)); i++) {
		if (!bms_config_bool(cfg, "rule", name, "enabled"))
			continue;
		if (build_rule(rs, &rs->rules[rs->n], name, err, errsz) < 0) {
			rule_free(&rs->rules[rs->n]);
			return -1;
		}
		rs->n++;
	}
	return 0;
}

int bms_rules_parse(const char *name, const char *text, size_t len,
		    struct bms_rules **out, char *err, size_t errsz)
{
	struct bms_rules *rs = calloc(1, sizeof *rs);

	if (!rs || !(rs->cfg = bms_config_new(keys, sizeof keys / sizeof keys[0]))) {
		free(rs);
		return bms_err_set(err, errsz, "out of memory");
	}
	if (bms_config_parse(rs->cfg, name, text, len, err, errsz) < 0 ||
	    build(rs, err, errsz) < 0) {
		bms_rules_free(rs);
		return -1;
	}
	*out = rs;
	return 0;
}

int bms_rules_load(const char *path, struct bms_rules **out, char *err, size_t errsz)
{
	struct bms_rules *rs = calloc(1, sizeof *rs);

	if (!rs || !(rs->cfg = bms_config_new(keys, sizeof keys / sizeof keys[0]))) {
		free(rs);
		return bms_err_set(err, errsz, "out of memory");
	}
	if (bms_config_load(rs->cfg, path, err, errsz) < 0 || build(rs, err, errsz) < 0) {
		bms_rules_free(rs);
		return -1;
	}
	*out = rs;
	return 0;
}

int bms_rules_applies(const struct bms_rule *r, const char *bms_id, int chem)
{
	if (r->chems && (chem < 0 || !(r->chems & (1u << chem))))
		return 0;
	if (r->batteries) {
		size_t n = strlen(bms_id);

		for (const char *p = r->batteries; *p;) {
			size_t w;

			p += strspn(p, " ,");
			w = strcspn(p, " ,");
			if (w == n && memcmp(p, bms_id, n) == 0)
				return 1;
			p += w;
		}
		return 0;
	}
	return 1;
}

int bms_rules_find(const struct bms_rules *rs, const char *name)
{
	for (int i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return i;
	return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * bms-alert's rules: a rules file (bms-alert.rules(5)) read with the
 * project's configuration format (config.h), every condition compiled
 * with expr.h against the names this module defines, every message
 * template checked, so that a file either loads whole or is refused with
 * file, line and column.
 *
 *	[rule]				# defaults for every rule below
 *	clear_delay = 30s
 *
 *	[rule "cell_overvoltage"]
 *	condition = "cell_max > 3.65"
 *	hysteresis = 0.1
 *	severity = warning
 *	delay = 10s
 *	message = "cell {cell_max_index} at {cell_max:3} V"
 *
 *	[battery "house"]		# the facts batconf.h reads
 *	chemistry = lfp
 *
 * The names a condition or a template may use are the variables of
 * enum bms_rules_src below; the manual lists them.  Each name or call a
 * rules file uses becomes one entry of the rule set's variable table
 * (struct bms_rules_var), shared by every rule that uses it; expr.h's
 * variable ids index that table, and the alert engine (alert.h) answers
 * them from what it knows of a battery.
 *
 * A rule set is immutable once loaded: a reload builds a new one and the
 * caller swaps it in only when it loaded whole.
 */
#ifndef BMS_RULES_H
#define BMS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "expr.h"

#define BMS_RULES_MAX 256		/* rules in one file */
#define BMS_RULES_NAME_MAX 63		/* bytes of a rule's name */
#define BMS_RULES_CODE_MAX 47		/* bytes of a code named in a call */
#define BMS_RULES_PATH_MAX 63		/* bytes of a health.X / aggregate.X.Y path */
#define BMS_RULES_RATE_SLOTS 16		/* samples a rate() keeps over its period */

enum bms_rules_sev { BMS_SEV_INFO, BMS_SEV_WARNING, BMS_SEV_CRITICAL };
extern const char *const bms_rules_sev_words[];	/* info, warning, critical */

/* Where a variable's value comes from. */
enum bms_rules_src {
	BMS_RV_READING,		/* field: enum bms_rules_field of the latest reading */
	BMS_RV_FAULT,		/* fault('code'): the latest reading has that fault code */
	BMS_RV_WARNING,		/* warning('code'): ... that warning code */
	BMS_RV_FINDING,		/* finding('code'): ... a finding of bms-validate */
	BMS_RV_ANOMALY,		/* anomaly('code'): bms-agg's anomaly open, or an event
				 * in the battery's latest record */
	BMS_RV_RATE,		/* rate(field, period): change of a reading field over
				 * the period (arg: the field; period_ms) */
	BMS_RV_KNOWN,		/* known(name): the variable arg has a value */
	BMS_RV_DOC,		/* health.X, aggregate.X, aggregate.X.Y: the latest such
				 * record of the battery (doc: 0 health, 1 aggregate) */
	BMS_RV_ALERT,		/* in templates only: field is enum bms_rules_alertvar */
};

/* Reading fields and what is derived from a battery's records. */
enum bms_rules_field {
	BMS_RF_PACK_VOLTAGE, BMS_RF_PACK_CURRENT, BMS_RF_PACK_POWER, BMS_RF_SOC,
	BMS_RF_SOH, BMS_RF_CYCLES, BMS_RF_REMAINING, BMS_RF_NOMINAL,
	BMS_RF_CELL_COUNT, BMS_RF_TEMP_COUNT,
	BMS_RF_CELL_MAX, BMS_RF_CELL_MIN, BMS_RF_CELL_MAX_INDEX, BMS_RF_CELL_MIN_INDEX,
	BMS_RF_CELL_SPREAD, BMS_RF_CELL_SPREAD_MV, BMS_RF_CELL_AVG,
	BMS_RF_TEMP_MAX, BMS_RF_TEMP_MIN, BMS_RF_TEMP_MAX_INDEX, BMS_RF_TEMP_MIN_INDEX,
	BMS_RF_BALANCING_COUNT, BMS_RF_FAULT_COUNT, BMS_RF_WARNING_COUNT,
	BMS_RF_FINDING_COUNT,
	BMS_RF_NUMBERS,		/* the numbers end here; rate() takes them */
	BMS_RF_CHARGING = BMS_RF_NUMBERS, BMS_RF_DISCHARGING, BMS_RF_BALANCING,
	BMS_RF_CHARGE_MOS, BMS_RF_DISCHARGE_MOS, BMS_RF_PROTECTION,
	BMS_RF_PROT_OV, BMS_RF_PROT_UV, BMS_RF_PROT_OCC, BMS_RF_PROT_OCD,
	BMS_RF_PROT_OT, BMS_RF_PROT_UT,
	BMS_RF_QUALITY,		/* string: bms-validate's verdict */
	BMS_RF_STATUS_STATE, BMS_RF_STATUS_REASON,	/* strings, of the latest status */
	BMS_RF_STATUS_QUALITY,	/* number */
	BMS_RF_ASLEEP,		/* bool: the latest status says the BMS sleeps */
	BMS_RF_SINCE_READING, BMS_RF_SINCE_STATUS,	/* s, by the stream's clock */
	BMS_RF_INTERVAL,	/* s: configured, else learned from the readings */
	BMS_RF_BMS_ID, BMS_RF_CHEMISTRY,	/* strings */
	BMS_RF_COUNT
};

enum bms_rules_alertvar { BMS_RA_VALUE, BMS_RA_THRESHOLD, BMS_RA_RULE, BMS_RA_SEVERITY };

struct bms_rules_var {
	enum bms_rules_src src;
	int field;		/* READING, RATE: enum bms_rules_field; ALERT: its enum;
				 * DOC: 0 health, 1 aggregate; KNOWN: the var id */
	char code[BMS_RULES_CODE_MAX + 1];	/* FAULT, WARNING, FINDING, ANOMALY */
	char path[BMS_RULES_PATH_MAX + 1];	/* DOC: "soh_percent" or "pack_voltage.max" */
	int64_t period_ms;	/* RATE */
	int slot;		/* RATE and DOC: index among the set's rates or docs */
};

/* A piece of a message template: literal text, then a variable or not. */
struct bms_rules_piece {
	const char *text;	/* literal, into the template's own copy */
	size_t len;
	int var;		/* variable id, -1 none */
	int dec;		/* decimals for a number; -1: as bms_buf_num(v, 3) */
};

struct bms_rule {
	char name[BMS_RULES_NAME_MAX + 1];
	char *batteries;	/* bms_ids it applies to, space-separated; NULL: all */
	unsigned chems;		/* bit 1 << enum bms_chem per chemistry; 0: all */
	struct bms_expr *cond;
	struct bms_expr *clear;		/* NULL: the condition's end (or hysteresis) */
	struct bms_expr *escalate;	/* NULL: none */
	int has_hysteresis;
	double hysteresis;	/* in the units of the condition's comparison */
	int severity;		/* enum bms_rules_sev */
	int64_t delay_ms, clear_delay_ms, repeat_ms, escalate_after_ms;
	int64_t escalate_delay_ms;	/* escalate holds this long; default delay */
	char *tmpl;		/* the template text, owned */
	struct bms_rules_piece *pieces;
	int npieces;
	char *ctmpl;		/* clear_message's text, NULL: the message's */
	struct bms_rules_piece *cpieces;
	int ncpieces;
	int uses_clock;		/* reads since_reading or since_status */
};

struct bms_rules {
	struct bms_config *cfg;		/* the file's values, [battery] facts too */
	struct bms_rule *rules;
	int n;
	struct bms_rules_var *vars;
	int nvars;
	int nrates, ndocs;	/* slots a battery keeps for rate() and docs */
	int need_findings;	/* some rule reads findings */
	int uses_clock;		/* some rule reads since_reading or since_status */
};

/*
 * Load the rules file at path.  Returns 0 with *out (free it with
 * bms_rules_free), or -1 with a one-line reason in err naming the file,
 * and line and column where the problem has one:
 *	rules.conf:12:25: condition: expected a value after '>'
 *	rules.conf:14:11: message: unknown name 'cel_max'
 *	rules.conf:3: rule 'low soc': a name is letters, digits, '_' and '-'
 */
int bms_rules_load(const char *path, struct bms_rules **out, char *err, size_t errsz);

/* The same for text[0..len), reported under name (tests, fuzzing). */
int bms_rules_parse(const char *name, const char *text, size_t len,
		    struct bms_rules **out, char *err, size_t errsz);

void bms_rules_free(struct bms_rules *rs);

/* Does rule r apply to battery bms_id of chemistry chem (-1 unknown)? */
int bms_rules_applies(const struct bms_rule *r, const char *bms_id, int chem);

/* True if s is a rule's name: 1 to BMS_RULES_NAME_MAX letters, digits,
 * '_' and '-'. */
int bms_rules_name_valid(const char *s);

/* The index of the rule named name, or -1. */
int bms_rules_find(const struct bms_rules *rs, const char *name);

/*
 * Append rule r's message (cleared: its clear_message, when it has one)
 * with the values get gives (as expr.h's get) to out: numbers with the
 * template's decimals, strings as they are, booleans as true or false, a
 * missing value as '?'.
 */
void bms_rules_render(const struct bms_rules *rs, const struct bms_rule *r, int cleared,
		      bms_expr_get_fn get, void *ctx, struct bms_buf *out);

#endif

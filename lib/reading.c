/* SPDX-License-Identifier: MIT */
/*
 * Reading records (see reading.h).  The field order is fixed, so equal
 * readings are equal lines and tests can diff them.
 *
 * The parser is the general one: any layout, one validating scan
 * (json.h) for every key of the rule table, then each present field
 * converted and checked as its rule says.  The store's fast path for
 * the writer's own layout is in readpack.c and agrees with this one on
 * every line it takes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "reading.h"
#include "record.h"

void bms_reading_clear(struct bms_reading *r)
{
	memset(r, 0, sizeof *r);
}

void bms_reading_fault(struct bms_reading *r, const char *code)
{
	r->have |= BMS_R_CODES;
	if (r->nfaults < BMS_MAX_CODES)
		r->faults[r->nfaults++] = code;
}

void bms_reading_warning(struct bms_reading *r, const char *code)
{
	r->have |= BMS_R_CODES;
	if (r->nwarnings < BMS_MAX_CODES)
		r->warnings[r->nwarnings++] = code;
}

static void key(struct bms_buf *b, const char *k)
{
	bms_buf_putc(b, ',');
	bms_buf_putc(b, '"');
	bms_buf_puts(b, k);
	bms_buf_puts(b, "\":");
}

static void num(struct bms_buf *b, const char *k, double v, int dec)
{
	key(b, k);
	bms_buf_num(b, v, dec);
}

static void boolean(struct bms_buf *b, const char *k, bool v, int first)
{
	if (!first)
		bms_buf_putc(b, ',');
	bms_buf_putc(b, '"');
	bms_buf_puts(b, k);
	bms_buf_puts(b, v ? "\":true" : "\":false");
}

static void whole(struct bms_buf *b, const char *k, long v)
{
	key(b, k);
	bms_buf_num(b, (double)v, 0);
}

static void codes(struct bms_buf *b, const char *k, const char *const *c, int n)
{
	key(b, k);
	bms_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			bms_buf_putc(b, ',');
		bms_buf_json_str(b, c[i], strlen(c[i]));
	}
	bms_buf_putc(b, ']');
}

void bms_reading_json(const struct bms_reading *r, const struct bms_record_head *h,
		      const char *proto, struct bms_buf *b)
{
	bms_record_head_raw(b, "reading", h);
	if (proto) {
		key(b, "proto");
		bms_buf_json_str(b, proto, strlen(proto));
	}
	if (r->have & BMS_R_VOLTAGE)
		num(b, "pack_voltage", r->pack_voltage, 3);
	if (r->have & BMS_R_CURRENT)
		num(b, "pack_current", r->pack_current, 3);
	if (r->have & BMS_R_POWER)
		num(b, "pack_power", r->pack_power, 2);
	if (r->have & BMS_R_SOC)
		num(b, "soc_percent", r->soc_percent, 2);
	if (r->have & BMS_R_SOH)
		num(b, "soh_percent", r->soh_percent, 2);
	if (r->have & BMS_R_TEMPS) {
		key(b, "temperatures");
		bms_buf_putc(b, '[');
		for (int i = 0; i < r->ntemps; i++) {
			if (i)
				bms_buf_putc(b, ',');
			bms_buf_num(b, r->temps[i], 2);
		}
		bms_buf_putc(b, ']');
	}
	if (r->have & BMS_R_CELLS) {
		key(b, "cell_voltages");
		bms_buf_putc(b, '[');
		for (int i = 0; i < r->ncells; i++) {
			if (i)
				bms_buf_putc(b, ',');
			bms_buf_num(b, r->cells[i], 4);
		}
		bms_buf_putc(b, ']');
	}
	if (r->have & BMS_R_BALANCE) {
		int first = 1;

		key(b, "balancing_status");
		bms_buf_putc(b, '{');
		boolean(b, "active", r->balancing_active, 1);
		bms_buf_puts(b, ",\"cells_balancing\":[");
		for (int i = 0; i < 64; i++) {
			if (!(r->balancing_mask >> i & 1))
				continue;
			if (!first)
				bms_buf_putc(b, ',');
			bms_buf_num(b, i + 1, 0);
			first = 0;
		}
		bms_buf_puts(b, "]}");
	}
	if (r->have & BMS_R_PROTECT) {
		key(b, "protection_status");
		bms_buf_putc(b, '{');
		boolean(b, "overvoltage", r->prot.overvoltage, 1);
		boolean(b, "undervoltage", r->prot.undervoltage, 0);
		boolean(b, "overcurrent_charge", r->prot.overcurrent_charge, 0);
		boolean(b, "overcurrent_discharge", r->prot.overcurrent_discharge, 0);
		boolean(b, "overtemperature", r->prot.overtemperature, 0);
		boolean(b, "undertemperature", r->prot.undertemperature, 0);
		bms_buf_putc(b, '}');
	}
	if (r->have & BMS_R_CODES) {
		codes(b, "fault_codes", r->faults, r->nfaults);
		codes(b, "warning_codes", r->warnings, r->nwarnings);
	}
	if (r->have & BMS_R_CYCLES)
		whole(b, "cycles", r->cycles);
	if (r->have & BMS_R_REMAIN)
		num(b, "remaining_capacity_ah", r->remaining_capacity_ah, 3);
	if (r->have & BMS_R_NOMINAL)
		num(b, "nominal_capacity_ah", r->nominal_capacity_ah, 3);
	if (r->have & BMS_R_MOS) {
		bms_buf_putc(b, ',');
		boolean(b, "charge_mos", r->charge_mos, 1);
		boolean(b, "discharge_mos", r->discharge_mos, 0);
	}
	if (r->have & BMS_R_CELLS)
		whole(b, "cell_count", r->ncells);
	if (r->have & BMS_R_TEMPS)
		whole(b, "temp_count", r->ntemps);
	bms_buf_putc(b, '}');
}

/* ==== Parsing ==== */

#define R(field) offsetof(struct bms_reading, field)

const char *const bms_reading_quality_words[] = { "good", "suspect", "bad", NULL };
const char *const bms_reading_severity_words[] = { "info", "warning", "error", NULL };

/* One finding of bms-validate(1): what it found, how bad, in words. */
static const struct bms_reading_rule finding_props[] = {
	{ .name = "code", .type = BMS_RJ_STRING, .required = 1, .has_min = 1, .min = 1 },
	{ .name = "severity", .type = BMS_RJ_STRING, .required = 1,
	  .words = bms_reading_severity_words },
	{ .name = "message", .type = BMS_RJ_STRING, .required = 1 },
};

static const struct bms_reading_rule balancing_props[] = {
	{ .name = "active", .type = BMS_RJ_BOOLEAN, .off = R(balancing_active) },
	{ .name = "cells_balancing", .type = BMS_RJ_ARRAY, .item = BMS_RJ_INTEGER,
	  .has_min = 1, .min = 1, .has_max = 1, .max = 64, .noun = "cell number",
	  .off = R(balancing_mask) },
};

static const struct bms_reading_rule protection_props[] = {
	{ .name = "overvoltage", .type = BMS_RJ_BOOLEAN, .off = R(prot.overvoltage) },
	{ .name = "undervoltage", .type = BMS_RJ_BOOLEAN, .off = R(prot.undervoltage) },
	{ .name = "overcurrent_charge", .type = BMS_RJ_BOOLEAN,
	  .off = R(prot.overcurrent_charge) },
	{ .name = "overcurrent_discharge", .type = BMS_RJ_BOOLEAN,
	  .off = R(prot.overcurrent_discharge) },
	{ .name = "overtemperature", .type = BMS_RJ_BOOLEAN, .off = R(prot.overtemperature) },
	{ .name = "undertemperature", .type = BMS_RJ_BOOLEAN,
	  .off = R(prot.undertemperature) },
};

/* In the order the fields are checked (so the first fault of a line is
 * the one reported); the envelope and proto first. */
const struct bms_reading_rule bms_reading_rules[] = {
	{ .name = "type", .type = BMS_RJ_STRING, .required = 1, .value = "reading" },
	{ .name = "bms_id", .type = BMS_RJ_STRING, .required = 1, .has_min = 1, .min = 1 },
	{ .name = "timestamp", .type = BMS_RJ_STRING, .required = 1, .format = "date-time" },
	{ .name = "tenant", .type = BMS_RJ_STRING },
	{ .name = "proto", .type = BMS_RJ_STRING },
	{ .name = "pack_voltage", .type = BMS_RJ_NUMBER, .has_min = 1, .min = 0,
	  .bit = BMS_R_VOLTAGE, .off = R(pack_voltage) },
	{ .name = "pack_current", .type = BMS_RJ_NUMBER, .bit = BMS_R_CURRENT,
	  .off = R(pack_current) },
	{ .name = "pack_power", .type = BMS_RJ_NUMBER, .bit = BMS_R_POWER,
	  .off = R(pack_power) },
	{ .name = "soc_percent", .type = BMS_RJ_NUMBER, .has_min = 1, .min = 0,
	  .has_max = 1, .max = 100, .bit = BMS_R_SOC, .off = R(soc_percent) },
	{ .name = "soh_percent", .type = BMS_RJ_NUMBER, .has_min = 1, .min = 0,
	  .has_max = 1, .max = 100, .bit = BMS_R_SOH, .off = R(soh_percent) },
	{ .name = "remaining_capacity_ah", .type = BMS_RJ_NUMBER, .has_min = 1, .min = 0,
	  .bit = BMS_R_REMAIN, .off = R(remaining_capacity_ah) },
	{ .name = "nominal_capacity_ah", .type = BMS_RJ_NUMBER, .has_min = 1, .min = 0,
	  .bit = BMS_R_NOMINAL, .off = R(nominal_capacity_ah) },
	{ .name = "temperatures", .type = BMS_RJ_ARRAY, .item = BMS_RJ_NUMBER,
	  .max_items = BMS_MAX_TEMPS, .noun = "probe", .bit = BMS_R_TEMPS,
	  .off = R(temps), .count_off = R(ntemps) },
	{ .name = "cell_voltages", .type = BMS_RJ_ARRAY, .item = BMS_RJ_NUMBER,
	  .has_min = 1, .min = 0, .max_items = BMS_MAX_CELLS, .noun = "cell",
	  .bit = BMS_R_CELLS, .off = R(cells), .count_off = R(ncells) },
	{ .name = "balancing_status", .type = BMS_RJ_OBJECT, .bit = BMS_R_BALANCE,
	  .props = balancing_props, .nprops = 2 },
	{ .name = "protection_status", .type = BMS_RJ_OBJECT, .bit = BMS_R_PROTECT,
	  .props = protection_props, .nprops = 6 },
	{ .name = "fault_codes", .type = BMS_RJ_ARRAY, .item = BMS_RJ_STRING,
	  .max_items = BMS_MAX_CODES, .noun = "code", .bit = BMS_R_CODES,
	  .off = R(faults), .count_off = R(nfaults) },
	{ .name = "warning_codes", .type = BMS_RJ_ARRAY, .item = BMS_RJ_STRING,
	  .max_items = BMS_MAX_CODES, .noun = "code", .bit = BMS_R_CODES,
	  .off = R(warnings), .count_off = R(nwarnings) },
	{ .name = "cycles", .type = BMS_RJ_INTEGER, .has_min = 1, .min = 0,
	  .bit = BMS_R_CYCLES, .off = R(cycles) },
	{ .name = "charge_mos", .type = BMS_RJ_BOOLEAN, .bit = BMS_R_MOS, .off = R(charge_mos) },
	{ .name = "discharge_mos", .type = BMS_RJ_BOOLEAN, .bit = BMS_R_MOS,
	  .off = R(discharge_mos) },
	{ .name = "cell_count", .type = BMS_RJ_INTEGER, .has_min = 1, .min = 0,
	  .counts = BMS_R_CELLS, .counted = "cell_voltages", .count_off = R(ncells) },
	{ .name = "temp_count", .type = BMS_RJ_INTEGER, .has_min = 1, .min = 0,
	  .counts = BMS_R_TEMPS, .counted = "temperatures", .count_off = R(ntemps) },
	/* The verdict bms-validate(1) adds. */
	{ .name = "quality", .type = BMS_RJ_STRING, .words = bms_reading_quality_words,
	  .unique = 1, .bit = BMS_R_QUALITY, .off = R(quality) },
	{ .name = "findings", .type = BMS_RJ_ARRAY, .item = BMS_RJ_OBJECT,
	  .max_items = BMS_MAX_FINDINGS, .noun = "finding", .unique = 1,
	  .props = finding_props, .nprops = 3, .bit = BMS_R_FINDINGS,
	  .count_off = R(nfindings) },
};

const int bms_reading_nrules = (int)(sizeof bms_reading_rules / sizeof bms_reading_rules[0]);

enum { K_TYPE, K_ID, K_TS, K_TENANT, K_PROTO, K_DATA };

#define LIM (1LL << 53)	/* whole numbers: at most 2^53 in magnitude */

static const double p10[16] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15,
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * The JSON number at p (already validated, so a delimiter follows it
 * inside the line) into *v.  Returns the end of the number, or NULL if p
 * is not a number.  Up to 15 significant digits without an exponent, the
 * value is the integer of the digits divided by a power of ten: both are
 * exact doubles, so the quotient is the correctly rounded value, as
 * strtod would give it, at a fraction of the cost.  (The C locale is
 * assumed for strtod.)
 */
static const char *num_at(const char *p, const char *end, double *v)
{
	const char *q = p;
	uint64_t m = 0;
	int nd = 0, fd = 0, neg = 0;

	if (q < end && *q == '-') {
		neg = 1;
		q++;
	}
	if (q >= end || *q < '0' || *q > '9')
		return NULL;
	while (q < end && *q >= '0' && *q <= '9') {
		m = m * 10 + (uint64_t)(*q++ - '0');
		nd++;
	}
	if (q < end && *q == '.') {
		q++;
		while (q < end && *q >= '0' && *q <= '9') {
			m = m * 10 + (uint64_t)(*q++ - '0');
			nd++;
			fd++;
		}
	}
	if (nd > 15 || (q < end && (*q == 'e' || *q == 'E'))) {
		char *e;

		*v = strtod(p, &e);
		return e > end ? NULL : e;
	}
	*v = (double)m / p10[fd];
	if (neg)
		*v = -*v;
	return q;
}

static int get_num(const struct bms_json_field *f, double *v)
{
	return num_at(f->val, f->val + f->len, v) == f->val + f->len ? 0 : -1;
}

/* True if v is a value a reading can carry: finite, |v| < NUM_MAX. */
static int in_range(double v)
{
	return v > -BMS_READING_NUM_MAX && v < BMS_READING_NUM_MAX;
}

/* A whole number of at most 2^53 in magnitude. */
static int get_int(const struct bms_json_field *f, int64_t *i)
{
	double v;

	if (get_num(f, &v) < 0 || !(v >= -(double)LIM && v <= (double)LIM) ||
	    v != (double)(int64_t)v)
		return -1;
	*i = (int64_t)v;
	return 0;
}

static int get_bool(const char *val, size_t len, bool *b)
{
	if (len == 4 && memcmp(val, "true", 4) == 0)
		*b = true;
	else if (len == 5 && memcmp(val, "false", 5) == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/*
 * Numbers of an array into out[0..max).  Returns the count, -1 if the
 * value is not an array of numbers, -2 if it has more than max.
 */
static int num_array(const char *val, size_t len, double *out, int max)
{
	const char *p = val, *end = val + len;
	int n = 0;

	if (len < 2 || *p != '[')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return 0;
	for (;;) {
		if (n == max)
			return -2;
		p = num_at(p, end, &out[n++]);
		if (!p)
			return -1;
		p = skip_ws(p, end);
		if (p >= end)
			return -1;
		if (*p == ']')
			return n;
		p = skip_ws(p + 1, end);	/* the ',' */
	}
}

/* The value of a field as rule ru, into r (d for the codes' text). */
struct ctx {
	struct bms_reading_doc *d;
	size_t used;		/* of d->text */
	char *err;
	size_t errsz;
};

static int number(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		  struct ctx *c)
{
	double *v = (double *)((char *)&c->d->r + ru->off);

	if (get_num(f, v) < 0)
		return bms_err_set(c->err, c->errsz, "%s: not a number", ru->name);
	if (!in_range(*v))
		return bms_err_set(c->err, c->errsz, "%s: out of range", ru->name);
	if (ru->has_max && !(*v >= ru->min && *v <= ru->max))
		return bms_err_set(c->err, c->errsz, "%s: not in %g..%g", ru->name,
				   ru->min, ru->max);
	if (ru->has_min && *v < ru->min)
		return bms_err_set(c->err, c->errsz, "%s: negative", ru->name);
	return 0;
}

static int integer(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		   struct ctx *c)
{
	struct bms_reading *r = &c->d->r;
	int64_t i;
	double v;

	if (ru->counts) {
		int n = *(int *)((char *)r + ru->count_off);

		if (get_int(f, &i) < 0 || i < 0)
			return bms_err_set(c->err, c->errsz, "%s: not a count", ru->name);
		if ((r->have & ru->counts) && i != n)
			return bms_err_set(c->err, c->errsz, "%s: %lld but %d %s", ru->name,
					   (long long)i, n, ru->counted);
		return 0;
	}
	if (get_num(f, &v) == 0 && !in_range(v))
		return bms_err_set(c->err, c->errsz, "%s: out of range", ru->name);
	if (get_int(f, &i) < 0)
		return bms_err_set(c->err, c->errsz, "%s: not an integer", ru->name);
	if (ru->has_min && i < ru->min)
		return bms_err_set(c->err, c->errsz, "%s: negative", ru->name);
	*(long *)((char *)r + ru->off) = (long)i;
	return 0;
}

static int boolean_of(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		      struct ctx *c)
{
	if (get_bool(f->val, f->len, (bool *)((char *)&c->d->r + ru->off)) < 0)
		return bms_err_set(c->err, c->errsz, "%s: not true or false", ru->name);
	return 0;
}

static int numbers(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		   struct ctx *c)
{
	double *v = (double *)((char *)&c->d->r + ru->off);
	int *n = (int *)((char *)&c->d->r + ru->count_off);

	*n = num_array(f->val, f->len, v, ru->max_items);
	if (*n == -1)
		return bms_err_set(c->err, c->errsz, "%s: not an array of numbers", ru->name);
	if (*n == -2)
		return bms_err_set(c->err, c->errsz, "%s: more than %d %ss", ru->name,
				   ru->max_items, ru->noun);
	for (int k = 0; k < *n; k++) {
		if (!in_range(v[k]))
			return bms_err_set(c->err, c->errsz, "%s: %s %d out of range",
					   ru->name, ru->noun, k + 1);
		if (ru->has_min && v[k] < ru->min)
			return bms_err_set(c->err, c->errsz, "%s: %s %d negative",
					   ru->name, ru->noun, k + 1);
	}
	return 0;
}

static int strings(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		   struct ctx *c)
{
	const char **codes = (const char **)((char *)&c->d->r + ru->off);
	int *ncodes = (int *)((char *)&c->d->r + ru->count_off);
	const char *pos = NULL, *el;
	char *text = c->d->text;
	size_t elen;
	int rc, n = 0;

	while ((rc = bms_json_array_next(f->val, f->len, &pos, &el, &elen)) == 1) {
		long got;

		if (n == ru->max_items)
			return bms_err_set(c->err, c->errsz, "%s: more than %d %ss", ru->name,
					   ru->max_items, ru->noun);
		got = bms_json_str_copy(el, elen, text + c->used, sizeof c->d->text - c->used);
		if (got == -1)
			return bms_err_set(c->err, c->errsz, "%s: not an array of strings",
					   ru->name);
		if (got == -2)
			return bms_err_set(c->err, c->errsz, "%s: %ss too long", ru->name,
					   ru->noun);
		if (got == -3)
			return bms_err_set(c->err, c->errsz, "%s: NUL in a %s", ru->name,
					   ru->noun);
		codes[n++] = text + c->used;
		c->used += (size_t)got + 1;
	}
	if (rc < 0)
		return bms_err_set(c->err, c->errsz, "%s: not an array of strings", ru->name);
	*ncodes = n;
	return 0;
}

/* "a, b or c" of a word list, into out. */
static const char *word_list(const char *const *w, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; w[i] && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s",
					 i == 0 ? "" : w[i + 1] ? ", " : " or ", w[i]);
	return out;
}

/*
 * A string value val[0..len) against rule ru: 0, with the index of its
 * word in *idx when ru has words; -1 not a string, -2 shorter than the
 * rule's minLength (only 1 is used: not empty), -3 not one of the words.
 */
static int string_check(const struct bms_reading_rule *ru, const char *val, size_t len,
			int *idx)
{
	if (len < 2 || val[0] != '"')
		return -1;
	if (ru->has_min && len == 2)	/* "": any escape decodes to a character */
		return -2;
	if (!ru->words)
		return 0;
	for (int i = 0; ru->words[i]; i++)
		if (bms_json_str_eq(val, len, ru->words[i])) {
			*idx = i;
			return 0;
		}
	return -3;
}

static int string_of(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		     struct ctx *c)
{
	char words[96];
	int idx = 0;

	switch (string_check(ru, f->val, f->len, &idx)) {
	case -1:
		return bms_err_set(c->err, c->errsz, "%s: not a string", ru->name);
	case -2:
		return bms_err_set(c->err, c->errsz, "%s: empty", ru->name);
	case -3:
		return bms_err_set(c->err, c->errsz, "%s: not %s", ru->name,
				   word_list(ru->words, words, sizeof words));
	}
	if (ru->words)
		*(int *)((char *)&c->d->r + ru->off) = idx;
	return 0;
}

/* An array of objects whose properties are strings (the findings): each
 * checked, only their number kept. */
static int objects(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		   struct ctx *c)
{
	const char *pos = NULL, *el;
	struct bms_json_field g[8];
	char words[96];
	size_t elen;
	int rc, n = 0, idx;

	while ((rc = bms_json_array_next(f->val, f->len, &pos, &el, &elen)) == 1) {
		if (n == ru->max_items)
			return bms_err_set(c->err, c->errsz, "%s: more than %d %ss", ru->name,
					   ru->max_items, ru->noun);
		n++;
		for (int i = 0; i < ru->nprops; i++)
			g[i].key = ru->props[i].name;
		if (el[0] != '{' || bms_json_scan(el, elen, g, (size_t)ru->nprops, NULL) < 0)
			return bms_err_set(c->err, c->errsz, "%s: %s %d not an object",
					   ru->name, ru->noun, n);
		for (int i = 0; i < ru->nprops; i++) {
			const struct bms_reading_rule *p = &ru->props[i];

			if (!g[i].val) {
				if (p->required)
					return bms_err_set(c->err, c->errsz, "%s: %s %d has no %s",
							   ru->name, ru->noun, n, p->name);
				continue;
			}
			switch (string_check(p, g[i].val, g[i].len, &idx)) {
			case -1:
				return bms_err_set(c->err, c->errsz, "%s: %s %d: %s not a string",
						   ru->name, ru->noun, n, p->name);
			case -2:
				return bms_err_set(c->err, c->errsz, "%s: %s %d: %s empty",
						   ru->name, ru->noun, n, p->name);
			case -3:
				return bms_err_set(c->err, c->errsz, "%s: %s %d: %s not %s",
						   ru->name, ru->noun, n, p->name,
						   word_list(p->words, words, sizeof words));
			}
		}
	}
	if (rc < 0)
		return bms_err_set(c->err, c->errsz, "%s: not an array of objects", ru->name);
	*(int *)((char *)&c->d->r + ru->count_off) = n;
	return 0;
}

/* An object of boolean properties and at most one array of whole
 * numbers, kept as a mask (bit k-1 for k). */
static int object(const struct bms_reading_rule *ru, const struct bms_json_field *f,
		  struct ctx *c)
{
	struct bms_json_field g[8];
	char *base = (char *)&c->d->r;

	for (int i = 0; i < ru->nprops; i++)
		g[i].key = ru->props[i].name;
	if (f->val[0] != '{' || bms_json_scan(f->val, f->len, g, (size_t)ru->nprops, NULL) < 0)
		return bms_err_set(c->err, c->errsz, "%s: not an object", ru->name);
	for (int i = 0; i < ru->nprops; i++) {
		const struct bms_reading_rule *p = &ru->props[i];
		double items[64];
		uint64_t mask = 0;
		int n;

		if (!g[i].val)
			continue;
		if (p->type == BMS_RJ_BOOLEAN) {
			if (get_bool(g[i].val, g[i].len, (bool *)(base + p->off)) < 0)
				return bms_err_set(c->err, c->errsz, "%s: %s not true or false",
						   ru->name, p->name);
			continue;
		}
		n = num_array(g[i].val, g[i].len, items, 64);
		for (int k = 0; k < n; k++) {
			if (!(items[k] >= p->min && items[k] <= p->max) ||
			    items[k] != (int)items[k]) {
				n = -1;
				break;
			}
			mask |= 1ull << ((int)items[k] - 1);
		}
		if (n < 0)
			return bms_err_set(c->err, c->errsz, "%s: %s not %ss %g..%g", ru->name,
					   p->name, p->noun, p->min, p->max);
		*(uint64_t *)(base + p->off) |= mask;
	}
	return 0;
}

int bms_reading_parse(const char *s, size_t n, struct bms_reading_doc *d,
		      char *err, size_t errsz)
{
	struct bms_json_field f[sizeof bms_reading_rules / sizeof bms_reading_rules[0]];
	struct ctx c = { d, 0, err, errsz };
	long got;
	int k;

	for (k = 0; k < bms_reading_nrules; k++)
		f[k].key = bms_reading_rules[k].name;
	if (bms_record_scan(s, n, f, (size_t)bms_reading_nrules, err, errsz) < 0)
		return -1;
	if (!f[K_TYPE].val)
		return bms_err_set(err, errsz, "no type");
	if (!bms_json_str_eq(f[K_TYPE].val, f[K_TYPE].len, "reading"))
		return bms_err_set(err, errsz, "not a reading");
	if (bms_record_get(f, &d->env, err, errsz) < 0)
		return -1;
	/* A proto that does not fit stays in the line only. */
	d->has_proto = 0;
	d->proto[0] = '\0';
	if (f[K_PROTO].val) {
		got = bms_json_str_copy(f[K_PROTO].val, f[K_PROTO].len, d->proto, sizeof d->proto);
		if (got == -1)
			return bms_err_set(err, errsz, "proto: not a string");
		d->has_proto = got >= 0;
		if (got < 0)
			d->proto[0] = '\0';
	}

	bms_reading_clear(&d->r);
	for (k = K_DATA; k < bms_reading_nrules; k++) {
		const struct bms_reading_rule *ru = &bms_reading_rules[k];
		int rc;

		if (!f[k].val)
			continue;
		if (ru->unique && f[k].dup)
			return bms_err_set(err, errsz, "%s: more than once", ru->name);
		switch (ru->type) {
		case BMS_RJ_STRING:
			rc = string_of(ru, &f[k], &c);
			break;
		case BMS_RJ_NUMBER:
			rc = number(ru, &f[k], &c);
			break;
		case BMS_RJ_INTEGER:
			rc = integer(ru, &f[k], &c);
			break;
		case BMS_RJ_BOOLEAN:
			rc = boolean_of(ru, &f[k], &c);
			break;
		case BMS_RJ_ARRAY:
			rc = ru->item == BMS_RJ_STRING ? strings(ru, &f[k], &c)
			     : ru->item == BMS_RJ_OBJECT ? objects(ru, &f[k], &c)
							 : numbers(ru, &f[k], &c);
			break;
		default:
			rc = object(ru, &f[k], &c);
			break;
		}
		if (rc < 0)
			return -1;
		d->r.have |= ru->bit;
	}
	return 0;
}

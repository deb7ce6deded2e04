/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: bms-alert's rules files (lib/rules.c, over lib/config
 * and lib/expr) parsed from arbitrary bytes.  A text either fails with
 * one non-empty line that names the text and leaves nothing behind, or
 * loads a rule set whose every part is in bounds: each rule named as a
 * rules file allows and found by that name, its variables ids of the
 * set's table, its templates' pieces covering them.  Every loaded rule's
 * conditions are then evaluated and its messages (raised and cleared)
 * rendered with values taken from the input's own bytes (numbers, huge
 * and not finite ones too, strings, booleans, missing, and values of
 * another type than the name's), and the set is freed.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	const uint8_t *data;
	size_t size;
	unsigned n;		/* bytes taken so far, wrapping */
	int nvars;
};

static uint8_t take(struct run *r)
{
	return r->size ? r->data[r->n++ % r->size] : 0;
}

static void get(void *ctx, int id, struct bms_expr_val *v)
{
	static const double odd[] = {
		0.0, -0.0, 1e308, -1e308, 5e-324, 3.14159, 0.0005, 12345678.9, 1e22,
		INFINITY, -INFINITY, NAN,
	};
	struct run *r = ctx;
	uint8_t k = take(r), x = take(r);

	if (id < 0 || id >= r->nvars)
		abort();
	v->type = (enum bms_expr_type)(k % 5);	/* ANY too: taken as missing */
	v->num = k & 0x80 ? odd[x % (sizeof odd / sizeof odd[0])] : (double)(int8_t)x / 8;
	v->str = NULL;
	v->len = 0;
	if (v->type == BMS_EXPR_BOOL)
		v->num = x & 1;
	if (v->type == BMS_EXPR_STR) {
		/* A piece of the input itself, possibly empty, NULs and all. */
		size_t at = r->size ? x % r->size : 0;

		v->str = (const char *)r->data + at;
		v->len = r->size ? take(r) % (r->size - at + 1) : 0;
	}
}

/* A template's pieces cover its text in order, each variable one of the
 * set's, the last one literal only. */
static void check_pieces(const struct bms_rules *rs, const char *tmpl,
			 const struct bms_rules_piece *pieces, int n)
{
	size_t len = strlen(tmpl), covered = 0;

	if (n < 1 || !pieces)
		abort();
	for (int p = 0; p < n; p++) {
		const struct bms_rules_piece *pc = &pieces[p];

		if (pc->var < -1 || pc->var >= rs->nvars || pc->dec < -1 || pc->dec > 9 ||
		    pc->text < tmpl || pc->text + pc->len > tmpl + len ||
		    (p == n - 1) != (pc->var < 0))
			abort();
		covered += pc->len;
	}
	if (covered > len)
		abort();
}

static void check_set(const struct bms_rules *rs)
{
	int rates = 0, docs = 0;

	if (rs->n < 0 || rs->n > BMS_RULES_MAX || (rs->n && !rs->rules) || rs->nvars < 0 ||
	    rs->nrates < 0 || rs->ndocs < 0 || !rs->cfg)
		abort();
	for (int i = 0; i < rs->nvars; i++) {
		const struct bms_rules_var *v = &rs->vars[i];

		if (v->src == BMS_RV_RATE) {
			if (v->slot != rates++ || v->field < 0 || v->field >= BMS_RF_NUMBERS ||
			    v->period_ms <= 0)
				abort();
		} else if (v->src == BMS_RV_DOC) {
			if (v->slot != docs++ || (v->field != 0 && v->field != 1) || !v->path[0])
				abort();
		} else if (v->src == BMS_RV_KNOWN) {
			if (v->field < 0 || v->field >= i)
				abort();
		} else if (v->src == BMS_RV_READING) {
			if (v->field < 0 || v->field >= BMS_RF_COUNT)
				abort();
		}
		if (memchr(v->code, '\0', sizeof v->code) == NULL ||
		    memchr(v->path, '\0', sizeof v->path) == NULL)
			abort();
	}
	if (rates != rs->nrates || docs != rs->ndocs)
		abort();
	for (int i = 0; i < rs->n; i++) {
		const struct bms_rule *r = &rs->rules[i];
		int k;

		if (!bms_rules_name_valid(r->name) || !r->cond || r->severity < BMS_SEV_INFO ||
		    r->severity > BMS_SEV_CRITICAL || r->delay_ms < 0 || r->clear_delay_ms < 0 ||
		    r->repeat_ms < 0 || r->escalate_after_ms < 0 || r->escalate_delay_ms < 0 ||
		    (r->has_hysteresis && r->clear))
			abort();
		k = bms_rules_find(rs, r->name);
		if (k < 0 || k > i || strcmp(rs->rules[k].name, r->name) != 0)
			abort();
		if (!r->tmpl)
			abort();
		check_pieces(rs, r->tmpl, r->pieces, r->npieces);
		if (r->ctmpl)
			check_pieces(rs, r->ctmpl, r->cpieces, r->ncpieces);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_rules *rs = NULL;
	struct bms_buf out = BMS_BUF_INIT;
	struct run run = { data, size, 0, 0 };
	char err[512];
	int rc;

	err[0] = '\0';
	rc = bms_rules_parse("fuzz.rules", (const char *)data, size, &rs, err, sizeof err);
	if (rc < 0) {
		if (rc != -1 || rs || !err[0] || strchr(err, '\n') ||
		    strncmp(err, "fuzz.rules", 10) != 0)
			abort();
		return 0;
	}
	if (rc != 0 || !rs)
		abort();
	check_set(rs);
	run.nvars = rs->nvars;
	for (int i = 0; i < rs->n; i++) {
		const struct bms_rule *r = &rs->rules[i];
		struct bms_expr_val l, rv;
		int t;

		t = bms_expr_test(r->cond, get, &run);
		if (t < -1 || t > 1)
			abort();
		if (r->clear && (t = bms_expr_test(r->clear, get, &run)) < -1)
			abort();
		if (r->escalate && (t = bms_expr_test(r->escalate, get, &run)) < -1)
			abort();
		if (bms_expr_sides(r->cond, get, &run, &l, &rv) != bms_expr_cmp_op(r->cond))
			abort();
		for (int c = -1; c < 3; c++)
			(void)bms_rules_applies(r, c & 1 ? "house" : "rack-1", c);
		for (int cleared = 0; cleared < 2; cleared++) {
			bms_buf_reset(&out);
			bms_rules_render(rs, r, cleared, get, &run, &out);
			if (out.oom || (out.len && strlen(out.p) > out.len))
				abort();
		}
	}
	bms_buf_free(&out);
	bms_rules_free(rs);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: lib/expr compiling arbitrary bytes against a resolver
 * of a few names of each type and one function.  A text either compiles,
 * and then evaluates (with values taken from the input's own bytes, some
 * missing) to true, false or missing with sides() and vars() agreeing, or
 * fails with a non-empty reason at an offset within the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "a", "b", "on", "s", "x", "p.q" };
static const enum bms_expr_type types[] = {
	BMS_EXPR_NUM, BMS_EXPR_NUM, BMS_EXPR_BOOL, BMS_EXPR_STR, BMS_EXPR_ANY, BMS_EXPR_NUM,
};
#define NNAMES 6

static int name(void *ctx, const char *n, size_t len, enum bms_expr_type *type,
		char *why, size_t whysz)
{
	for (int i = 0; i < NNAMES; i++)
		if (strlen(names[i]) == len && memcmp(names[i], n, len) == 0) {
			*type = types[i];
			return i;
		}
	return -1;
}

static int call(void *ctx, const char *f, size_t flen, const struct bms_expr_arg *args,
		int nargs, enum bms_expr_type *type, char *why, size_t whysz)
{
	if (flen == 4 && memcmp(f, "rate", 4) == 0 && nargs == 2) {
		*type = BMS_EXPR_NUM;
		return NNAMES;
	}
	if (flen == 5 && memcmp(f, "field", 5) == 0 && nargs == 1 &&
	    args[0].kind == BMS_EXPR_ARG_STR) {
		*type = BMS_EXPR_ANY;
		return NNAMES + 1;
	}
	return -1;
}

struct run { const uint8_t *data; size_t size; unsigned n; };

static void get(void *ctx, int id, struct bms_expr_val *v)
{
	struct run *r = ctx;
	uint8_t k = r->size ? r->data[r->n++ % r->size] : 0;

	v->type = (enum bms_expr_type)(k % 5);	/* ANY too: taken as missing */
	v->num = (double)(int8_t)k / 4;
	v->str = v->type == BMS_EXPR_STR ? "asleep" : NULL;
	v->len = v->type == BMS_EXPR_STR ? (k & 8 ? 6 : 0) : 0;
}

static void seen(void *ctx, int id)
{
	if (id < 0 || id > NNAMES + 1)
		abort();
	(*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bms_expr_env env = { name, call, NULL };
	struct bms_expr *e;
	struct bms_expr_val v, l, r;
	struct run run = { data, size, 0 };
	char err[128];
	size_t at = (size_t)-1;
	int t, nvars = 0;

	if (bms_expr_compile((const char *)data, size, &env, &e, &at, err, sizeof err) < 0) {
		if (!err[0] || at > size || e)
			abort();
		return 0;
	}
	t = bms_expr_test(e, get, &run);
	if (t < -1 || t > 1)
		abort();
	bms_expr_eval(e, get, &run, &v);
	if (bms_expr_sides(e, get, &run, &l, &r) != bms_expr_cmp_op(e))
		abort();
	bms_expr_vars(e, seen, &nvars);
	bms_expr_free(e);
	return 0;
}

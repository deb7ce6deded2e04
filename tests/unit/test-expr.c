/* SPDX-License-Identifier: MIT */
/*
 * lib/expr: operators, three-valued logic, short-circuit, durations,
 * strings, compile errors with their offsets, sides() and vars().
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "expr.h"
#include "unit.h"

/* Names: a b c (numbers), on (a condition), s (a string), x (any). */
static const struct { const char *n; enum bms_expr_type t; } names[] = {
	{ "a", BMS_EXPR_NUM }, { "b", BMS_EXPR_NUM }, { "c", BMS_EXPR_NUM },
	{ "on", BMS_EXPR_BOOL }, { "s", BMS_EXPR_STR }, { "x", BMS_EXPR_ANY },
	{ "p.q", BMS_EXPR_NUM },
};
#define NNAMES (int)(sizeof names / sizeof names[0])

static int name(void *ctx, const char *n, size_t len, enum bms_expr_type *type,
		char *why, size_t whysz)
{
	for (int i = 0; i < NNAMES; i++)
		if (strlen(names[i].n) == len && memcmp(names[i].n, n, len) == 0) {
			*type = names[i].t;
			return i;
		}
	return -1;
}

/* rate(NAME, DURATION) is variable 100. */
static int call(void *ctx, const char *f, size_t flen, const struct bms_expr_arg *args,
		int nargs, enum bms_expr_type *type, char *why, size_t whysz)
{
	if (flen == 4 && memcmp(f, "rate", 4) == 0 && nargs == 2 &&
	    args[0].kind == BMS_EXPR_ARG_WORD && args[1].is_duration && args[1].num == 600) {
		*type = BMS_EXPR_NUM;
		return 100;
	}
	snprintf(why, whysz, "bad call of '%.*s'", (int)flen, f);
	return -1;
}

static const struct bms_expr_env env = { name, call, NULL };

struct vals { struct bms_expr_val v[NNAMES + 1]; int asked[128]; };

static void get(void *ctx, int id, struct bms_expr_val *val)
{
	struct vals *vs = ctx;

	vs->asked[id]++;
	*val = vs->v[id == 100 ? NNAMES : id];
}

static struct vals V;

static void set(int id, enum bms_expr_type t, double n)
{
	V.v[id].type = t;
	V.v[id].num = n;
}

static int test(const char *text)
{
	struct bms_expr *e;
	size_t at;
	char err[200];
	int r;

	if (bms_expr_compile(text, strlen(text), &env, &e, &at, err, sizeof err) < 0) {
		fprintf(stderr, "compile '%s': %zu: %s\n", text, at, err);
		return -9;
	}
	r = bms_expr_test(e, get, &V);
	bms_expr_free(e);
	return r;
}

static double num(const char *text)
{
	struct bms_expr *e;
	struct bms_expr_val v;
	size_t at;
	char err[200];

	if (bms_expr_compile_value(text, strlen(text), &env, &e, &at, err, sizeof err) < 0)
		return -999;
	bms_expr_eval(e, get, &V, &v);
	bms_expr_free(e);
	return v.type == BMS_EXPR_NUM ? v.num : -777;
}

static void bad(const char *text, size_t want_at, const char *want, int line)
{
	struct bms_expr *e = NULL;
	size_t at = 9999;
	char err[200] = "";
	int rc = bms_expr_compile(text, strlen(text), &env, &e, &at, err, sizeof err);

	if (!unit_result(rc == -1 && at == want_at && strcmp(err, want) == 0, __FILE__, line))
		fprintf(stderr, "'%s': rc %d at %zu '%s', want at %zu '%s'\n", text, rc, at, err,
			want_at, want);
	bms_expr_free(e);
}
#define BAD(t, a, w) bad((t), (a), (w), __LINE__)

static void reset(void)
{
	memset(&V, 0, sizeof V);
	set(0, BMS_EXPR_NUM, 3.7);
	set(1, BMS_EXPR_NUM, 2);
	set(2, BMS_EXPR_NUM, 0);
	set(3, BMS_EXPR_BOOL, 1);
	V.v[4].type = BMS_EXPR_STR;
	V.v[4].str = "asleep";
	V.v[4].len = 6;
	set(5, BMS_EXPR_NUM, 1);
	set(6, BMS_EXPR_NUM, 4);
	set(NNAMES, BMS_EXPR_NUM, 6);
}

static void count_var(void *ctx, int id)
{
	char *s = ctx;

	sprintf(s + strlen(s), "%d ", id);
}

static void t_ops(void)
{
	reset();
	CHECK_NUM(num("1 + 2 * 3"), 7, 6);
	CHECK_NUM(num("(1 + 2) * 3"), 9, 6);
	CHECK_NUM(num("10 - 4 - 3"), 3, 6);
	CHECK_NUM(num("12 / 3 / 2"), 2, 6);
	CHECK_NUM(num("-a + 1"), -2.7, 6);
	CHECK_NUM(num("- -b"), 2, 6);
	CHECK_NUM(num("abs(-a)"), 3.7, 6);
	CHECK_NUM(num("min(a, b, 5)"), 2, 6);
	CHECK_NUM(num("max(a, b * 3, 5)"), 6, 6);
	CHECK_NUM(num("1e-3 + .5 + 5."), 5.501, 6);
	CHECK_NUM(num("10m"), 600, 6);
	CHECK_NUM(num("1h30m + 500ms"), 5400.5, 6);
	CHECK_NUM(num("p.q"), 4, 6);
	CHECK_NUM(num("rate(a, 10m)"), 6, 6);
	CHECK_NUM(num("a / c"), -777, 6);	/* division by zero: missing */
	CHECK_INT(test("a >= 3.65"), 1);
	CHECK_INT(test("a > 3.7"), 0);
	CHECK_INT(test("a < 4 && b <= 2"), 1);
	CHECK_INT(test("a == 3.7 and b != 2"), 0);
	CHECK_INT(test("b > 3 || on"), 1);
	CHECK_INT(test("not on"), 0);
	CHECK_INT(test("!on or false"), 0);
	CHECK_INT(test("not a > 4"), 1);
	CHECK_INT(test("s == 'asleep'"), 1);
	CHECK_INT(test("s != 'as\\'leep'"), 1);
	CHECK_INT(test("true == on"), 1);
	CHECK_INT(test("x == 1"), 1);
	CHECK_INT(test("x == 'one'"), -1);	/* ANY of another type: missing */
	CHECK_INT(test("rate(a, 10m) > 5"), 1);
	CHECK_INT(test("b * 1000 >= 80 and 1 + 1 == b"), 1);
}

static void t_missing(void)
{
	/* and/or with t f m: on is the left, x (any) the right. */
	static const struct { int l, r, and, or; } tab[] = {
		{ 1, 1, 1, 1 }, { 1, 0, 0, 1 }, { 1, -1, -1, 1 },
		{ 0, 1, 0, 1 }, { 0, 0, 0, 0 }, { 0, -1, 0, -1 },
		{ -1, 1, -1, 1 }, { -1, 0, 0, -1 }, { -1, -1, -1, -1 },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		reset();
		if (tab[i].l < 0)
			V.v[3].type = BMS_EXPR_MISSING;
		else
			set(3, BMS_EXPR_BOOL, tab[i].l);
		if (tab[i].r < 0)
			V.v[5].type = BMS_EXPR_MISSING;
		else
			set(5, BMS_EXPR_BOOL, tab[i].r);
		CHECK_INT(test("on and x"), tab[i].and);
		CHECK_INT(test("on or x"), tab[i].or);
		CHECK_INT(test("not on"), tab[i].l < 0 ? -1 : !tab[i].l);
	}
	reset();
	V.v[0].type = BMS_EXPR_MISSING;
	CHECK_INT(test("a > 1"), -1);
	CHECK_INT(test("a + 1 > 1"), -1);
	CHECK_INT(test("min(a, 1) > 0"), -1);
	CHECK_INT(test("a == 1"), -1);
	CHECK_INT(test("b / c > 0"), -1);
	set(0, BMS_EXPR_BOOL, 1);	/* a number variable gives a boolean: missing */
	CHECK_INT(test("a > 1"), -1);
}

static void t_short(void)
{
	reset();
	set(3, BMS_EXPR_BOOL, 0);
	CHECK_INT(test("on and a > 1"), 0);
	CHECK_INT(V.asked[0], 0);
	set(3, BMS_EXPR_BOOL, 1);
	CHECK_INT(test("on or a > 1"), 1);
	CHECK_INT(V.asked[0], 0);
	CHECK_INT(test("on and a > 1"), 1);
	CHECK_INT(V.asked[0], 1);
}

static void t_errors(void)
{
	char big[BMS_EXPR_MAXLEN + 2];
	char deep[300];

	BAD("", 0, "expected a value");
	BAD("a >", 3, "expected a value after '>'");
	BAD("a > )", 4, "expected a value after '>'");
	BAD("(a > 1", 6, "expected ')' to close '(' at 0");
	BAD("a > 1)", 5, "')' closes no '('");
	BAD("a > 1 2", 6, "expected an operator after '1'");
	BAD("a < b < c", 6, "'<' cannot follow a comparison");
	BAD("a = 1", 2, "'=' is not an operator (use '==')");
	BAD("on & on", 3, "'&' is not an operator (use '&&')");
	BAD("a # 1", 2, "unexpected character '#'");
	BAD("a > 10x", 4, "'10x' is not a duration (such as 500ms, 30s, 10m, 1h30m, 7d)");
	BAD("a > 1.5h", 4, "'1.5h' is not a number (a unit follows only a whole number)");
	BAD("s == 'abc", 5, "unterminated string");
	BAD("s == 'a\\nb'", 7, "unknown escape in a string (only \\' and \\\\)");
	BAD("p. > 1", 2, "expected a name after '.'");
	BAD("cel_max > 1", 0, "unknown name 'cel_max'");
	BAD("foo(a) > 1", 0, "bad call of 'foo'");
	BAD("rate(a + 1, 10m) > 1", 7, "expected ',' or ')' to close '(' at 4");
	BAD("rate((a), 10m) > 1", 5,
	    "expected a name, a string, a number or a duration as argument of 'rate'");
	BAD("abs(a, b) > 1", 0, "'abs' takes one argument");
	BAD("min() > 1", 0, "'min' takes at least one argument");
	BAD("a", 0, "expected a condition, 'a' is a number");
	BAD("a * 1000", 0, "expected a condition, 'a * 1000' is a number");
	BAD("on and b + 1", 7, "expected a condition, 'b + 1' is a number");
	BAD("not s", 4, "expected a condition, 's' is a string");
	BAD("on + 1 > 0", 0, "expected a number, 'on' is a condition");
	BAD("s > 'a'", 0, "'s' is a string: it compares only with == and !=");
	BAD("s == 1", 2, "cannot compare 's' (a string) with '1' (a number)");
	BAD("abs(on) > 1", 4, "expected a number, 'on' is a condition");
	memset(big, ' ', sizeof big);
	memcpy(big, "on", 2);
	big[sizeof big - 1] = 0;
	BAD(big, BMS_EXPR_MAXLEN, "longer than 4096 bytes");
	memset(deep, '(', 65);
	strcpy(deep + 65, "on");
	for (int i = 0; i < 65; i++)
		strcat(deep, ")");
	BAD(deep, 64, "nested more than 64 deep");
	deep[0] = ' ';
	deep[strlen(deep) - 1] = 0;
	CHECK_INT(test(deep), 1);
	{
		char many[1200] = "a";

		for (int i = 0; i < 128; i++)
			strcat(many, "+a");
		strcat(many, " > 0");
		BAD(many, 255, "more than 256 operations");	/* the 128th + */
	}
	{
		struct bms_expr *e;
		size_t at;
		char err[80];

		CHECK_INT(bms_expr_compile("1 > 0", 5, NULL, &e, &at, err, sizeof err), 0);
		CHECK_INT(bms_expr_test(e, get, &V), 1);
		bms_expr_free(e);
		CHECK_INT(bms_expr_compile("a > 0", 5, NULL, &e, &at, err, sizeof err), -1);
		CHECK_STR(err, "unknown name 'a'");
		CHECK_INT(bms_expr_compile("f() > 0", 7, NULL, &e, &at, err, sizeof err), -1);
		CHECK_STR(err, "unknown function 'f'");
	}
}

static void t_sides(void)
{
	static const struct { const char *t; int op; } tab[] = {
		{ "a < b + 1", BMS_EXPR_LT }, { "a <= b + 1", BMS_EXPR_LE },
		{ "(a > b + 1)", BMS_EXPR_GT }, { "a >= b + 1", BMS_EXPR_GE },
		{ "a == b + 1", 0 }, { "a > 1 and on", 0 }, { "not a > b + 1", 0 },
	};
	reset();
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		struct bms_expr *e;
		struct bms_expr_val l = { 0 }, r = { 0 };
		size_t at;
		char err[80];

		CHECK_INT(bms_expr_compile(tab[i].t, strlen(tab[i].t), &env, &e, &at, err,
					   sizeof err), 0);
		CHECK_INT(bms_expr_cmp_op(e), tab[i].op);
		CHECK_INT(bms_expr_sides(e, get, &V, &l, &r), tab[i].op);
		if (tab[i].op) {
			CHECK_NUM(l.num, 3.7, 6);
			CHECK_NUM(r.num, 3, 6);
		}
		bms_expr_free(e);
	}
}

static void t_vars_speed(void)
{
	const char *t = "pack_current > 0.5 and temp_min < 0";
	const char *u = "b > 0.5 and a < 4 or on and rate(a, 10m) > 1 and b > 1";
	struct bms_expr *e;
	size_t at;
	char err[80], seen[64] = "";
	struct timespec t0, t1;
	int n = 2000000, hits = 0;

	(void)t;
	reset();
	CHECK_INT(bms_expr_compile(u, strlen(u), &env, &e, &at, err, sizeof err), 0);
	bms_expr_vars(e, count_var, seen);
	CHECK_STR(seen, "1 0 3 100 ");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		V.v[1].num = i & 1;
		hits += bms_expr_test(e, get, &V) == 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(hits > 0);
	fprintf(stderr, "expr: %.1f ns per test of '%s'\n",
		((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n, u);
	bms_expr_free(e);
}

int main(void)
{
	t_ops();
	t_missing();
	t_short();
	t_errors();
	t_sides();
	t_vars_speed();
	return unit_done();
}

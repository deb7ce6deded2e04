/* SPDX-License-Identifier: MIT */
/*
 * The condition language of bms-alert's rules: a text such as
 *
 *     pack_current > 0.5 and temp_min < 0
 *     rate(temp_max, 10m) > 5 or status_reason != 'asleep'
 *
 * compiled once into a flat postfix program and evaluated many times.
 *
 * The language.  Numbers are decimal (3.65, 1e-3, .5 and 5. are numbers;
 * no sign: -1 is unary minus on 1; no hex, inf or nan).  A duration is a
 * whole number with a unit, as bms.conf(5) writes them: 500ms, 30s, 10m,
 * 1h30m, 7d; its value is in seconds (10m is 600, 500ms is 0.5).  Strings
 * are in single quotes, with \' and \\ as the only escapes.  true and
 * false are the booleans.  A name is [A-Za-z_][A-Za-z0-9_]* or several
 * of them joined by '.' (protection.overvoltage); and, or, not, true and
 * false are words of the language, not names.  NAME(arg, ...) calls a
 * function: abs(x), min(a, ...), max(a, ...) are built in, take any number
 * expressions and give a number; any other function is resolved by the
 * caller, at compile time, with arguments that are literals (a bare word,
 * a string, a number, possibly negative, or a duration).
 * Operators, lowest precedence first: or ||; and &&; not !; the
 * comparisons == != < <= > >= (a < b < c is an error); + -; * /; unary -;
 * then parentheses, literals, names and calls.
 *
 * Names and functions are the caller's (struct bms_expr_env): each
 * resolves to a variable id and its static type; BMS_EXPR_ANY means the
 * type is known only at run time.  Types are checked at compile time as
 * far as they are known: and, or, not want conditions; arithmetic and
 * the ordering comparisons want numbers; == and != want both sides of one
 * type (a string compares only with == and != and only with a string).
 * The whole of a condition is a condition (bms_expr_compile_value takes a
 * number-valued text too).
 *
 * Any value may be missing at run time.  A comparison or arithmetic with
 * a missing operand is missing, and so is division by zero, a result
 * that is not finite, and a variable whose value at run time has another
 * type than its static type (or than the operation wants, for ANY).
 * and: false if either side is false, else missing if either is missing,
 * else true; or the dual; not missing is missing.  The right side of and
 * (or) is not evaluated, and its variables not fetched, when the left is
 * false (true).
 *
 * Limits: a text of at most BMS_EXPR_MAXLEN bytes, nesting (parentheses,
 * call arguments, unary operators) at most BMS_EXPR_MAXDEPTH deep, at
 * most BMS_EXPR_MAXCODE operations (each literal, name, call, operator
 * and each jump of and/or is one), at most BMS_EXPR_MAXARGS arguments to
 * a resolved function; past any of them compiling fails with a reason.
 *
 * Pure: no global state, no I/O.  A compiled expression is immutable (any
 * number of threads may evaluate it at once); evaluation allocates
 * nothing and does not recurse.
 */
#ifndef BMS_EXPR_H
#define BMS_EXPR_H

#include <stddef.h>

#define BMS_EXPR_MAXLEN 4096
#define BMS_EXPR_MAXDEPTH 64
#define BMS_EXPR_MAXCODE 256
#define BMS_EXPR_MAXARGS 8

enum bms_expr_type { BMS_EXPR_MISSING, BMS_EXPR_NUM, BMS_EXPR_BOOL, BMS_EXPR_STR, BMS_EXPR_ANY };

struct bms_expr_val {
	enum bms_expr_type type;
	double num;		/* NUM, and BOOL as 0 or 1 */
	const char *str;	/* STR: not owned, len bytes */
	size_t len;
};

/* One argument of a resolved function call. */
struct bms_expr_arg {
	enum { BMS_EXPR_ARG_WORD, BMS_EXPR_ARG_STR, BMS_EXPR_ARG_NUM } kind;
	const char *s;		/* WORD (as written) and STR (decoded) */
	size_t len;
	double num;		/* NUM, and durations in seconds */
	int is_duration;
	size_t at;		/* byte offset in the text */
};

struct bms_expr_env {
	/*
	 * A name: returns a variable id >= 0 and sets *type; or -1 with a
	 * reason in why (such as "unknown name 'cel_max'"), which the
	 * compiler reports at the name's offset.  NULL: every name unknown.
	 */
	int (*name)(void *ctx, const char *name, size_t len, enum bms_expr_type *type,
		    char *why, size_t whysz);
	/* A call of a function that is not built in; the same contract. */
	int (*call)(void *ctx, const char *fname, size_t flen,
		    const struct bms_expr_arg *args, int nargs, enum bms_expr_type *type,
		    char *why, size_t whysz);
	void *ctx;
};

struct bms_expr;	/* compiled, immutable; opaque */

/* The ordering comparisons bms_expr_sides and bms_expr_cmp_op return. */
enum { BMS_EXPR_LT = 1, BMS_EXPR_LE, BMS_EXPR_GT, BMS_EXPR_GE };

/*
 * Compile the condition text[0..len).  Returns 0 with *out (free it with
 * bms_expr_free), or -1 with *at, the byte offset of the problem in text,
 * and a one-line reason in err that says what was expected ("expected a
 * value after '>'", "expected ')' to close '(' at 5", "unknown function
 * 'foo'", "'<' cannot follow a comparison", "expected a condition,
 * 'cell_max' is a number", ...).  env may be NULL (no names at all).
 */
int bms_expr_compile(const char *text, size_t len, const struct bms_expr_env *env,
		     struct bms_expr **out, size_t *at, char *err, size_t errsz);
/* The same for an expression of any type (an alert's value, say). */
int bms_expr_compile_value(const char *text, size_t len, const struct bms_expr_env *env,
			   struct bms_expr **out, size_t *at, char *err, size_t errsz);
void bms_expr_free(struct bms_expr *e);

/* The static type of the whole expression (ANY if known only at run time). */
enum bms_expr_type bms_expr_type(const struct bms_expr *e);

/*
 * Variables at run time: get(ctx, id, &val) fills val, type MISSING if
 * the value is absent.  Called only for the variables the evaluation
 * reaches, in the order it reaches them; a variable used twice is asked
 * for twice.
 */
typedef void (*bms_expr_get_fn)(void *ctx, int id, struct bms_expr_val *val);

/* Evaluate a condition: 1 true, 0 false, -1 missing (or not a condition). */
int bms_expr_test(const struct bms_expr *e, bms_expr_get_fn get, void *ctx);
/* Evaluate to a value of any type (MISSING when unknown). */
void bms_expr_eval(const struct bms_expr *e, bms_expr_get_fn get, void *ctx,
		   struct bms_expr_val *out);

/*
 * If the whole of e is an ordering comparison L op R (<, <=, >, >=, also
 * when in parentheses), evaluate both sides into *l and *r (NUM or
 * MISSING) and return op: BMS_EXPR_LT, LE, GT or GE; else return 0 and
 * leave *l and *r alone.  bms_expr_cmp_op returns the same op (or 0)
 * without evaluating anything.
 */
int bms_expr_sides(const struct bms_expr *e, bms_expr_get_fn get, void *ctx,
		   struct bms_expr_val *l, struct bms_expr_val *r);
int bms_expr_cmp_op(const struct bms_expr *e);

/* Call fn once for each distinct variable id e uses, in order of first use. */
void bms_expr_vars(const struct bms_expr *e, void (*fn)(void *ctx, int id), void *ctx);

#endif

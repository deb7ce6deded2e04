/* SPDX-License-Identifier: MIT */
/*
 * The condition language (expr.h): a lexer, a recursive-descent parser
 * (its depth bounded by BMS_EXPR_MAXDEPTH) that type-checks and emits
 * postfix code as it goes, and a loop that runs the code on a value stack.
 * and/or compile to "left; jump if false (true); right; combine", so that
 * a short-circuited right side is skipped with its variables.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "expr.h"

enum op {
	OP_CONST, OP_VAR, OP_NEG, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_ABS, OP_MIN, OP_MAX,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_NOT, OP_JFALSE, OP_JTRUE, OP_AND, OP_OR,
};

struct ins {
	uint8_t op;
	uint8_t type;		/* CONST and VAR: the value's type */
	uint16_t n;		/* MIN, MAX: the number of operands */
	int32_t arg;		/* VAR: the id; jumps: the target; STR CONST: pool offset */
	double num;
	const char *str;
	size_t len;
};

struct bms_expr {
	int ncode;
	int split;		/* the first of R's code if the whole is L op R, else -1 */
	enum bms_expr_type type;
	struct ins code[];	/* then the strings' bytes */
};

/* ---- lexer ---- */

enum tok {
	T_END, T_NUM, T_DUR, T_STR, T_NAME, T_TRUE, T_FALSE, T_AND, T_OR, T_NOT,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS, T_STAR, T_SLASH,
	T_LPAREN, T_RPAREN, T_COMMA,
};

struct token {
	enum tok kind;
	size_t at, len;		/* its text */
	double num;
	size_t soff, slen;	/* T_STR: decoded in the pool */
};

struct parser {
	const char *text;
	size_t len, pos;
	const struct bms_expr_env *env;
	struct token tok, prev;	/* prev.len 0: none yet */
	int depth, failed;
	size_t *at;
	char *err;
	size_t errsz;
	struct ins code[BMS_EXPR_MAXCODE];
	int ncode;
	int last_cmp, last_split;
	char pool[BMS_EXPR_MAXLEN];
	size_t npool;
};

/* What an operand's code gave: its static type and its text. */
struct operand {
	enum bms_expr_type type;
	size_t at, end;
};

static int fail(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = 1;
	*p->at = at;
	if (p->err && p->errsz) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Text [at, end) for a message: quoted by the caller, cut past 40 bytes. */
#define QUOTE_MAX 40
#define QFMT "'%.*s%s'"
#define QARG(p, a, e) (int)((e) - (a) > QUOTE_MAX ? QUOTE_MAX : (e) - (a)), (p)->text + (a), \
	((e) - (a) > QUOTE_MAX ? "..." : "")

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_word(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int lex_number(struct parser *p, struct token *t)
{
	const char *s = p->text;
	size_t i = p->pos, n = p->len;
	char b[80];

	while (i < n && is_digit(s[i]))
		i++;
	if (i < n && is_alpha(s[i]) && !((s[i] == 'e' || s[i] == 'E') &&
	    i + 1 < n && (is_digit(s[i + 1]) || ((s[i + 1] == '+' || s[i + 1] == '-') &&
	    i + 2 < n && is_digit(s[i + 2]))))) {
		int64_t ms;

		/* A duration: whole numbers, each with a unit. */
		while (i < n && is_word(s[i]))
			i++;
		t->kind = T_DUR;
		t->len = i - t->at;
		if (t->len >= sizeof b)
			return fail(p, t->at, "'%.*s...' is not a duration", QUOTE_MAX, s + t->at);
		memcpy(b, s + t->at, t->len);
		b[t->len] = 0;
		if (bms_config_duration(b, &ms) < 0)
			return fail(p, t->at,
				    "'%s' is not a duration (such as 500ms, 30s, 10m, 1h30m, 7d)", b);
		t->num = (double)ms / 1000;
		return 0;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;

		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < n && is_digit(s[j])) {
			i = j;
			while (i < n && is_digit(s[i]))
				i++;
		}
	}
	t->kind = T_NUM;
	t->len = i - t->at;
	if (i < n && (is_word(s[i]) || s[i] == '.'))
		return fail(p, t->at, "'%.*s' is not a number (a unit follows only a whole number)",
			    (int)(i - t->at + 1), s + t->at);
	if (t->len >= sizeof b)
		return fail(p, t->at, "'%.*s...' is too long for a number", QUOTE_MAX, s + t->at);
	memcpy(b, s + t->at, t->len);
	b[t->len] = 0;
	t->num = strtod(b, NULL);
	if (!isfinite(t->num))
		return fail(p, t->at, "'%s' is too large a number", b);
	return 0;
}

static int lex_string(struct parser *p, struct token *t)
{
	const char *s = p->text;
	size_t i = p->pos + 1;

	t->kind = T_STR;
	t->soff = p->npool;
	for (;;) {
		if (i >= p->len)
			return fail(p, t->at, "unterminated string");
		if (s[i] == '\'')
			break;
		if (s[i] == '\\') {
			if (i + 1 < p->len && (s[i + 1] == '\'' || s[i + 1] == '\\'))
				i++;
			else
				return fail(p, i, "unknown escape in a string (only \\' and \\\\)");
		}
		p->pool[p->npool++] = s[i++];	/* fewer bytes than the text */
	}
	t->slen = p->npool - t->soff;
	t->len = i + 1 - t->at;
	return 0;
}

static int lex_name(struct parser *p, struct token *t)
{
	static const struct { const char *w; enum tok k; } words[] = {
		{ "and", T_AND }, { "or", T_OR }, { "not", T_NOT },
		{ "true", T_TRUE }, { "false", T_FALSE },
	};
	const char *s = p->text;
	size_t i = p->pos;
	int dotted = 0;

	for (;;) {
		while (i < p->len && is_word(s[i]))
			i++;
		if (i >= p->len || s[i] != '.')
			break;
		if (i + 1 >= p->len || !is_alpha(s[i + 1]))
			return fail(p, i + 1, "expected a name after '.'");
		dotted = 1;
		i++;
	}
	t->kind = T_NAME;
	t->len = i - t->at;
	if (!dotted)
		for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
			if (word_is(s + t->at, t->len, words[k].w))
				t->kind = words[k].k;
	return 0;
}

/* Read the next token into p->tok (the current one becomes p->prev). */
static int next(struct parser *p)
{
	const char *s = p->text;
	struct token *t = &p->tok;
	int c, c1;

	p->prev = *t;
	while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' ||
				   s[p->pos] == '\n' || s[p->pos] == '\r'))
		p->pos++;
	memset(t, 0, sizeof *t);
	t->at = p->pos;
	if (p->pos >= p->len) {
		t->kind = T_END;
		return 0;
	}
	c = (unsigned char)s[p->pos];
	c1 = p->pos + 1 < p->len ? (unsigned char)s[p->pos + 1] : 0;
	if (is_digit(c) || (c == '.' && is_digit(c1)))
		return lex_number(p, t) < 0 ? -1 : (p->pos += t->len, 0);
	if (c == '\'')
		return lex_string(p, t) < 0 ? -1 : (p->pos += t->len, 0);
	if (is_alpha(c))
		return lex_name(p, t) < 0 ? -1 : (p->pos += t->len, 0);
	t->len = 1;
	switch (c) {
	case '(': t->kind = T_LPAREN; break;
	case ')': t->kind = T_RPAREN; break;
	case ',': t->kind = T_COMMA; break;
	case '+': t->kind = T_PLUS; break;
	case '-': t->kind = T_MINUS; break;
	case '*': t->kind = T_STAR; break;
	case '/': t->kind = T_SLASH; break;
	case '<': t->kind = c1 == '=' ? (t->len = 2, T_LE) : T_LT; break;
	case '>': t->kind = c1 == '=' ? (t->len = 2, T_GE) : T_GT; break;
	case '!': t->kind = c1 == '=' ? (t->len = 2, T_NE) : T_NOT; break;
	case '=':
		if (c1 != '=')
			return fail(p, t->at, "'=' is not an operator (use '==')");
		t->kind = T_EQ;
		t->len = 2;
		break;
	case '&':
	case '|':
		if (c1 != c)
			return fail(p, t->at, "'%c' is not an operator (use '%c%c')", c, c, c);
		t->kind = c == '&' ? T_AND : T_OR;
		t->len = 2;
		break;
	default:
		if (c > ' ' && c < 0x7f)
			return fail(p, t->at, "unexpected character '%c'", c);
		return fail(p, t->at, "unexpected byte 0x%02x", (unsigned)c);
	}
	p->pos += t->len;
	return 0;
}

/* ---- code ---- */

static struct ins *emit(struct parser *p, enum op op, size_t at)
{
	struct ins *in;

	if (p->ncode >= BMS_EXPR_MAXCODE) {
		fail(p, at, "more than %d operations", BMS_EXPR_MAXCODE);
		return NULL;
	}
	in = &p->code[p->ncode++];
	memset(in, 0, sizeof *in);
	in->op = (uint8_t)op;
	return in;
}

static const char *type_name(enum bms_expr_type t)
{
	switch (t) {
	case BMS_EXPR_NUM: return "a number";
	case BMS_EXPR_BOOL: return "a condition";
	case BMS_EXPR_STR: return "a string";
	default: return "a value";
	}
}

static int want_bool(struct parser *p, const struct operand *o)
{
	if (o->type == BMS_EXPR_BOOL || o->type == BMS_EXPR_ANY)
		return 0;
	return fail(p, o->at, "expected a condition, " QFMT " is %s",
		    QARG(p, o->at, o->end), type_name(o->type));
}

static int want_num(struct parser *p, const struct operand *o)
{
	if (o->type == BMS_EXPR_NUM || o->type == BMS_EXPR_ANY)
		return 0;
	return fail(p, o->at, "expected a number, " QFMT " is %s",
		    QARG(p, o->at, o->end), type_name(o->type));
}

/* Enter one level of nesting at the current token. */
static int deeper(struct parser *p)
{
	if (++p->depth > BMS_EXPR_MAXDEPTH)
		return fail(p, p->tok.at, "nested more than %d deep", BMS_EXPR_MAXDEPTH);
	return 0;
}

static int parse_or(struct parser *p, struct operand *o);

/* Expected a value at the current token. */
static int no_value(struct parser *p)
{
	if (p->prev.len)
		return fail(p, p->tok.at, "expected a value after '%.*s'",
			    (int)(p->prev.len > QUOTE_MAX ? QUOTE_MAX : p->prev.len),
			    p->text + p->prev.at);
	return fail(p, p->tok.at, "expected a value");
}

static int resolved(struct parser *p, int id, enum bms_expr_type type, const char *why,
		    size_t at, size_t end, struct operand *o)
{
	struct ins *in;

	if (id < 0)
		return fail(p, at, "%s", why);
	if (type != BMS_EXPR_NUM && type != BMS_EXPR_BOOL && type != BMS_EXPR_STR)
		type = BMS_EXPR_ANY;
	if (!(in = emit(p, OP_VAR, at)))
		return -1;
	in->arg = id;
	in->type = (uint8_t)type;
	o->type = type;
	o->at = at;
	o->end = end;
	return 0;
}

/* A resolved function's arguments: literals only. */
static int call_args(struct parser *p, const struct token *name, struct bms_expr_arg *args,
		     int *nargs, size_t lparen)
{
	*nargs = 0;
	if (next(p) < 0)
		return -1;
	if (p->tok.kind == T_RPAREN)
		return next(p);
	for (;;) {
		struct bms_expr_arg *a = &args[*nargs];
		int neg = 0;

		if (*nargs == BMS_EXPR_MAXARGS)
			return fail(p, p->tok.at, "more than %d arguments to '%.*s'",
				    BMS_EXPR_MAXARGS, (int)name->len, p->text + name->at);
		memset(a, 0, sizeof *a);
		a->at = p->tok.at;
		if (p->tok.kind == T_MINUS) {
			neg = 1;
			if (next(p) < 0)
				return -1;
		}
		switch (neg ? (p->tok.kind == T_NUM || p->tok.kind == T_DUR ? p->tok.kind : T_END)
			    : p->tok.kind) {
		case T_NAME:
		case T_TRUE:
		case T_FALSE:
		case T_AND:
		case T_OR:
		case T_NOT:
			a->kind = BMS_EXPR_ARG_WORD;
			a->s = p->text + p->tok.at;
			a->len = p->tok.len;
			break;
		case T_STR:
			a->kind = BMS_EXPR_ARG_STR;
			a->s = p->pool + p->tok.soff;
			a->len = p->tok.slen;
			break;
		case T_NUM:
		case T_DUR:
			a->kind = BMS_EXPR_ARG_NUM;
			a->num = neg ? -p->tok.num : p->tok.num;
			a->is_duration = p->tok.kind == T_DUR;
			break;
		default:
			return fail(p, p->tok.at,
				    "expected a name, a string, a number or a duration"
				    " as argument of '%.*s'", (int)name->len, p->text + name->at);
		}
		(*nargs)++;
		if (next(p) < 0)
			return -1;
		if (p->tok.kind == T_RPAREN)
			return next(p);
		if (p->tok.kind != T_COMMA)
			return fail(p, p->tok.at, "expected ',' or ')' to close '(' at %zu", lparen);
		if (next(p) < 0)
			return -1;
	}
}

static int parse_builtin(struct parser *p, const struct token *name, enum op op,
			 struct operand *o)
{
	size_t lparen = p->tok.at;
	struct ins *in;
	int n = 0;

	if (next(p) < 0)
		return -1;
	if (p->tok.kind != T_RPAREN)
		for (;;) {
			struct operand a;

			if (deeper(p) < 0 || parse_or(p, &a) < 0 || want_num(p, &a) < 0)
				return -1;
			p->depth--;
			n++;
			if (p->tok.kind == T_RPAREN)
				break;
			if (p->tok.kind != T_COMMA)
				return fail(p, p->tok.at, "expected ',' or ')' to close '(' at %zu",
					    lparen);
			if (next(p) < 0)
				return -1;
		}
	if (op == OP_ABS && n != 1)
		return fail(p, name->at, "'abs' takes one argument");
	if (n == 0)
		return fail(p, name->at, "'%.*s' takes at least one argument",
			    (int)name->len, p->text + name->at);
	o->type = BMS_EXPR_NUM;
	o->at = name->at;
	o->end = p->tok.at + p->tok.len;
	if (!(in = emit(p, op, name->at)))
		return -1;
	in->n = (uint16_t)n;
	return next(p);
}

static int parse_primary(struct parser *p, struct operand *o)
{
	struct token t = p->tok;
	struct ins *in;
	char why[256];

	o->at = t.at;
	o->end = t.at + t.len;
	switch (t.kind) {
	case T_NUM:
	case T_DUR:
	case T_TRUE:
	case T_FALSE:
	case T_STR:
		if (!(in = emit(p, OP_CONST, t.at)))
			return -1;
		if (t.kind == T_STR) {
			in->type = BMS_EXPR_STR;
			in->arg = (int32_t)t.soff;
			in->len = t.slen;
		} else if (t.kind == T_TRUE || t.kind == T_FALSE) {
			in->type = BMS_EXPR_BOOL;
			in->num = t.kind == T_TRUE;
		} else {
			in->type = BMS_EXPR_NUM;
			in->num = t.num;
		}
		o->type = in->type;
		return next(p);
	case T_LPAREN:
		if (deeper(p) < 0 || next(p) < 0 || parse_or(p, o) < 0)
			return -1;
		p->depth--;
		if (p->tok.kind != T_RPAREN)
			return fail(p, p->tok.at, "expected ')' to close '(' at %zu", t.at);
		o->at = t.at;
		o->end = p->tok.at + 1;
		return next(p);
	case T_NAME:
		break;
	default:
		return no_value(p);
	}
	if (next(p) < 0)
		return -1;
	why[0] = 0;
	if (p->tok.kind != T_LPAREN) {
		enum bms_expr_type type = BMS_EXPR_ANY;
		int id = -1;

		if (p->env && p->env->name)
			id = p->env->name(p->env->ctx, p->text + t.at, t.len, &type, why, sizeof why);
		if (id < 0 && !why[0])
			snprintf(why, sizeof why, "unknown name '%.*s'", (int)t.len, p->text + t.at);
		return resolved(p, id, type, why, t.at, t.at + t.len, o);
	}
	if (word_is(p->text + t.at, t.len, "abs"))
		return parse_builtin(p, &t, OP_ABS, o);
	if (word_is(p->text + t.at, t.len, "min"))
		return parse_builtin(p, &t, OP_MIN, o);
	if (word_is(p->text + t.at, t.len, "max"))
		return parse_builtin(p, &t, OP_MAX, o);
	{
		struct bms_expr_arg args[BMS_EXPR_MAXARGS];
		enum bms_expr_type type = BMS_EXPR_ANY;
		size_t lparen = p->tok.at, end;
		int nargs, id = -1;

		if (call_args(p, &t, args, &nargs, lparen) < 0)
			return -1;
		end = p->prev.at + p->prev.len;
		if (p->env && p->env->call)
			id = p->env->call(p->env->ctx, p->text + t.at, t.len, args, nargs, &type,
					  why, sizeof why);
		if (id < 0 && !why[0])
			snprintf(why, sizeof why, "unknown function '%.*s'", (int)t.len,
				 p->text + t.at);
		return resolved(p, id, type, why, t.at, end, o);
	}
}

static int parse_unary(struct parser *p, struct operand *o)
{
	struct token t = p->tok;
	struct ins *last;

	if (t.kind != T_MINUS)
		return parse_primary(p, o);
	if (deeper(p) < 0 || next(p) < 0 || parse_unary(p, o) < 0 || want_num(p, o) < 0)
		return -1;
	p->depth--;
	o->at = t.at;
	last = &p->code[p->ncode - 1];
	if (last->op == OP_CONST) {	/* -5: a negative constant */
		last->num = -last->num;
		return 0;
	}
	return emit(p, OP_NEG, t.at) ? 0 : -1;
}

static int parse_binary(struct parser *p, struct operand *o, int level);

/* Arithmetic: level 1 is + -, level 2 is * /. */
static int parse_binary(struct parser *p, struct operand *o, int level)
{
	if ((level == 1 ? parse_binary(p, o, 2) : parse_unary(p, o)) < 0)
		return -1;
	for (;;) {
		enum tok k = p->tok.kind;
		size_t at = p->tok.at;
		struct operand r;
		enum op op;

		if (level == 1 && (k == T_PLUS || k == T_MINUS))
			op = k == T_PLUS ? OP_ADD : OP_SUB;
		else if (level == 2 && (k == T_STAR || k == T_SLASH))
			op = k == T_STAR ? OP_MUL : OP_DIV;
		else
			return 0;
		if (want_num(p, o) < 0 || next(p) < 0)
			return -1;
		if ((level == 1 ? parse_binary(p, &r, 2) : parse_unary(p, &r)) < 0 ||
		    want_num(p, &r) < 0 || !emit(p, op, at))
			return -1;
		o->type = BMS_EXPR_NUM;
		o->end = r.end;
	}
}

static int is_cmp(enum tok k)
{
	return k >= T_EQ && k <= T_GE;
}

static int parse_cmp(struct parser *p, struct operand *o)
{
	struct token t;
	struct operand r;
	int split;
	enum op op;

	if (parse_binary(p, o, 1) < 0)
		return -1;
	if (!is_cmp(p->tok.kind))
		return 0;
	t = p->tok;
	op = (enum op)(OP_EQ + (t.kind - T_EQ));
	if (next(p) < 0)
		return -1;
	split = p->ncode;
	if (parse_binary(p, &r, 1) < 0)
		return -1;
	if (is_cmp(p->tok.kind))
		return fail(p, p->tok.at, "'%.*s' cannot follow a comparison", (int)p->tok.len,
			    p->text + p->tok.at);
	if (op == OP_EQ || op == OP_NE) {
		if (o->type != BMS_EXPR_ANY && r.type != BMS_EXPR_ANY && o->type != r.type)
			return fail(p, t.at, "cannot compare " QFMT " (%s) with " QFMT " (%s)",
				    QARG(p, o->at, o->end), type_name(o->type),
				    QARG(p, r.at, r.end), type_name(r.type));
	} else {
		const struct operand *s = o->type == BMS_EXPR_STR ? o
					  : r.type == BMS_EXPR_STR ? &r : NULL;

		if (s)
			return fail(p, s->at, QFMT " is a string: it compares only with == and !=",
				    QARG(p, s->at, s->end));
		if (want_num(p, o) < 0 || want_num(p, &r) < 0)
			return -1;
	}
	if (!emit(p, op, t.at))
		return -1;
	p->last_cmp = p->ncode - 1;
	p->last_split = split;
	o->type = BMS_EXPR_BOOL;
	o->end = r.end;
	return 0;
}

static int parse_not(struct parser *p, struct operand *o)
{
	struct token t = p->tok;

	if (t.kind != T_NOT)
		return parse_cmp(p, o);
	if (deeper(p) < 0 || next(p) < 0 || parse_not(p, o) < 0 || want_bool(p, o) < 0)
		return -1;
	p->depth--;
	o->at = t.at;
	o->type = BMS_EXPR_BOOL;
	return emit(p, OP_NOT, t.at) ? 0 : -1;
}

/* and (level 1) and or (level 0): left; jump; right; combine. */
static int parse_logic(struct parser *p, struct operand *o, int level)
{
	enum tok k = level ? T_AND : T_OR;

	if ((level ? parse_not(p, o) : parse_logic(p, o, 1)) < 0)
		return -1;
	while (p->tok.kind == k) {
		size_t at = p->tok.at;
		struct operand r;
		struct ins *in;
		int jump;

		if (want_bool(p, o) < 0 || next(p) < 0)
			return -1;
		if (!(in = emit(p, level ? OP_JFALSE : OP_JTRUE, at)))
			return -1;
		jump = p->ncode - 1;
		if ((level ? parse_not(p, &r) : parse_logic(p, &r, 1)) < 0 ||
		    want_bool(p, &r) < 0 || !emit(p, level ? OP_AND : OP_OR, at))
			return -1;
		p->code[jump].arg = p->ncode;
		o->type = BMS_EXPR_BOOL;
		o->end = r.end;
	}
	return 0;
}

static int parse_or(struct parser *p, struct operand *o)
{
	return parse_logic(p, o, 0);
}

static int compile(const char *text, size_t len, const struct bms_expr_env *env, int cond,
		   struct bms_expr **out, size_t *at, char *err, size_t errsz)
{
	struct parser *p;
	struct operand o;
	struct bms_expr *e;
	size_t sz;
	int rc = -1;

	*out = NULL;
	if (len > BMS_EXPR_MAXLEN) {
		*at = BMS_EXPR_MAXLEN;
		return bms_err_set(err, errsz, "longer than %d bytes", BMS_EXPR_MAXLEN);
	}
	if (!(p = calloc(1, sizeof *p))) {
		*at = 0;
		return bms_err_set(err, errsz, "out of memory");
	}
	p->text = text;
	p->len = len;
	p->env = env;
	p->at = at;
	p->err = err;
	p->errsz = errsz;
	p->last_cmp = -1;
	if (next(p) < 0 || parse_or(p, &o) < 0)
		goto out;
	if (p->tok.kind != T_END) {
		if (p->tok.kind == T_RPAREN)
			fail(p, p->tok.at, "')' closes no '('");
		else
			fail(p, p->tok.at, "expected an operator after '%.*s'",
			     (int)(p->prev.len > QUOTE_MAX ? QUOTE_MAX : p->prev.len),
			     text + p->prev.at);
		goto out;
	}
	if (cond && want_bool(p, &o) < 0)
		goto out;
	sz = sizeof *e + (size_t)p->ncode * sizeof e->code[0];
	if (!(e = malloc(sz + p->npool + 1))) {
		fail(p, 0, "out of memory");
		goto out;
	}
	e->ncode = p->ncode;
	e->type = o.type;
	e->split = -1;
	if (p->last_cmp == p->ncode - 1 && p->code[p->last_cmp].op >= OP_LT)
		e->split = p->last_split;
	memcpy(e->code, p->code, (size_t)p->ncode * sizeof e->code[0]);
	memcpy((char *)e + sz, p->pool, p->npool);
	for (int i = 0; i < e->ncode; i++)
		if (e->code[i].op == OP_CONST && e->code[i].type == BMS_EXPR_STR)
			e->code[i].str = (char *)e + sz + e->code[i].arg;
	*out = e;
	rc = 0;
out:
	free(p);
	return rc;
}

int bms_expr_compile(const char *text, size_t len, const struct bms_expr_env *env,
		     struct bms_expr **out, size_t *at, char *err, size_t errsz)
{
	return compile(text, len, env, 1, out, at, err, errsz);
}

int bms_expr_compile_value(const char *text, size_t len, const struct bms_expr_env *env,
			   struct bms_expr **out, size_t *at, char *err, size_t errsz)
{
	return compile(text, len, env, 0, out, at, err, errsz);
}

void bms_expr_free(struct bms_expr *e)
{
	free(e);
}

enum bms_expr_type bms_expr_type(const struct bms_expr *e)
{
	return e->type;
}

/* ---- evaluation ---- */

static void set_num(struct bms_expr_val *v, double x)
{
	if (isfinite(x)) {
		v->type = BMS_EXPR_NUM;
		v->num = x;
	} else
		v->type = BMS_EXPR_MISSING;
}

static void set_bool(struct bms_expr_val *v, int b)
{
	v->type = BMS_EXPR_BOOL;
	v->num = b;
}

/* -1 missing, 0 false, 1 true */
static int truth(const struct bms_expr_val *v)
{
	return v->type == BMS_EXPR_BOOL ? v->num != 0 : -1;
}

static int equal(const struct bms_expr_val *a, const struct bms_expr_val *b)
{
	if (a->type == BMS_EXPR_STR)
		return a->len == b->len && (a->len == 0 || memcmp(a->str, b->str, a->len) == 0);
	return a->num == b->num;
}

static void run(const struct bms_expr *e, int from, int to, bms_expr_get_fn get, void *ctx,
		struct bms_expr_val *out)
{
	struct bms_expr_val st[BMS_EXPR_MAXCODE], *sp = st;	/* sp: the next free */

	for (int pc = from; pc < to; pc++) {
		const struct ins *in = &e->code[pc];
		struct bms_expr_val *a, *b;

		/* the top two (b the top): valid where an operation has them */
		a = in->op >= OP_ADD && in->op != OP_ABS && in->op != OP_MIN && in->op != OP_MAX &&
		    in->op != OP_NOT && in->op != OP_JFALSE && in->op != OP_JTRUE ? sp - 2 : NULL;
		b = in->op >= OP_NEG ? sp - 1 : NULL;

		switch ((enum op)in->op) {
		case OP_CONST:
			sp->type = (enum bms_expr_type)in->type;
			sp->num = in->num;
			sp->str = in->str;
			sp->len = in->len;
			sp++;
			break;
		case OP_VAR:
			sp->type = BMS_EXPR_MISSING;
			sp->num = 0;
			sp->str = NULL;
			sp->len = 0;
			get(ctx, in->arg, sp);
			if (sp->type != BMS_EXPR_NUM && sp->type != BMS_EXPR_BOOL &&
			    sp->type != BMS_EXPR_STR)
				sp->type = BMS_EXPR_MISSING;
			else if (in->type != BMS_EXPR_ANY && sp->type != in->type)
				sp->type = BMS_EXPR_MISSING;
			else if (sp->type == BMS_EXPR_NUM && !isfinite(sp->num))
				sp->type = BMS_EXPR_MISSING;
			else if (sp->type == BMS_EXPR_STR && !sp->str && sp->len)
				sp->type = BMS_EXPR_MISSING;
			sp++;
			break;
		case OP_NEG:
			if (b->type == BMS_EXPR_NUM)
				b->num = -b->num;
			else
				b->type = BMS_EXPR_MISSING;
			break;
		case OP_ABS:
			if (b->type == BMS_EXPR_NUM)
				b->num = fabs(b->num);
			else
				b->type = BMS_EXPR_MISSING;
			break;
		case OP_ADD:
		case OP_SUB:
		case OP_MUL:
		case OP_DIV:
			sp--;
			if (a->type != BMS_EXPR_NUM || b->type != BMS_EXPR_NUM ||
			    (in->op == OP_DIV && b->num == 0))
				a->type = BMS_EXPR_MISSING;
			else
				set_num(a, in->op == OP_ADD ? a->num + b->num
					   : in->op == OP_SUB ? a->num - b->num
					   : in->op == OP_MUL ? a->num * b->num : a->num / b->num);
			break;
		case OP_MIN:
		case OP_MAX: {
			struct bms_expr_val *v = sp - in->n;

			for (struct bms_expr_val *w = v + 1; w < sp && v->type == BMS_EXPR_NUM; w++)
				if (w->type != BMS_EXPR_NUM)
					v->type = BMS_EXPR_MISSING;
				else if (in->op == OP_MIN ? w->num < v->num : w->num > v->num)
					v->num = w->num;
			if (v->type != BMS_EXPR_NUM)
				v->type = BMS_EXPR_MISSING;
			sp = v + 1;
			break;
		}
		case OP_EQ:
		case OP_NE:
			sp--;
			if (a->type == BMS_EXPR_MISSING || a->type != b->type)
				a->type = BMS_EXPR_MISSING;
			else
				set_bool(a, equal(a, b) == (in->op == OP_EQ));
			break;
		case OP_LT:
		case OP_LE:
		case OP_GT:
		case OP_GE:
			sp--;
			if (a->type != BMS_EXPR_NUM || b->type != BMS_EXPR_NUM)
				a->type = BMS_EXPR_MISSING;
			else
				set_bool(a, in->op == OP_LT ? a->num < b->num
					 : in->op == OP_LE ? a->num <= b->num
					 : in->op == OP_GT ? a->num > b->num : a->num >= b->num);
			break;
		case OP_NOT:
			if (b->type == BMS_EXPR_BOOL)
				b->num = !b->num;
			else
				b->type = BMS_EXPR_MISSING;
			break;
		case OP_JFALSE:
			if (truth(b) == 0)
				pc = in->arg - 1;
			break;
		case OP_JTRUE:
			if (truth(b) == 1)
				pc = in->arg - 1;
			break;
		case OP_AND:
		case OP_OR: {
			int x = truth(a), y = truth(b), stop = in->op == OP_OR;

			sp--;
			if (x == stop || y == stop)
				set_bool(a, stop);
			else if (x < 0 || y < 0)
				a->type = BMS_EXPR_MISSING;
			else
				set_bool(a, !stop);
			break;
		}
		}
	}
	*out = st[0];
	if (out->type != BMS_EXPR_STR) {
		out->str = NULL;
		out->len = 0;
	}
	if (out->type == BMS_EXPR_MISSING)
		out->num = 0;
}

void bms_expr_eval(const struct bms_expr *e, bms_expr_get_fn get, void *ctx,
		   struct bms_expr_val *out)
{
	run(e, 0, e->ncode, get, ctx, out);
}

int bms_expr_test(const struct bms_expr *e, bms_expr_get_fn get, void *ctx)
{
	struct bms_expr_val v;

	run(e, 0, e->ncode, get, ctx, &v);
	return truth(&v);
}

int bms_expr_cmp_op(const struct bms_expr *e)
{
	if (e->split < 0)
		return 0;
	return BMS_EXPR_LT + (e->code[e->ncode - 1].op - OP_LT);
}

int bms_expr_sides(const struct bms_expr *e, bms_expr_get_fn get, void *ctx,
		   struct bms_expr_val *l, struct bms_expr_val *r)
{
	if (e->split < 0)
		return 0;
	run(e, 0, e->split, get, ctx, l);
	run(e, e->split, e->ncode - 1, get, ctx, r);
	if (l->type != BMS_EXPR_NUM)
		l->type = BMS_EXPR_MISSING;
	if (r->type != BMS_EXPR_NUM)
		r->type = BMS_EXPR_MISSING;
	return bms_expr_cmp_op(e);
}

void bms_expr_vars(const struct bms_expr *e, void (*fn)(void *ctx, int id), void *ctx)
{
	for (int i = 0; i < e->ncode; i++) {
		int seen = 0;

		if (e->code[i].op != OP_VAR)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = e->code[j].op == OP_VAR && e->code[j].arg == e->code[i].arg;
		if (!seen)
			fn(ctx, e->code[i].arg);
	}
}

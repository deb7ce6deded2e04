/* SPDX-License-Identifier: MIT */
/*
 * Validating JSON scanner (see json.h).  A recursive descent over the
 * bytes with a depth bound; strings are checked for legal escapes (a
 * surrogate only in a pair) and well-formed UTF-8, numbers against the
 * RFC 8259 grammar.  Linear in the line length, no allocation.  Keys are
 * compared with the ones looked for as raw bytes when they hold no
 * backslash, the case of every record our own tools write; a key with
 * an escape is decoded first, on the stack.
 */
#include <assert.h>
#include <string.h>

#include "json.h"

struct scan {
	const char *s;
	size_t n, i;
	struct bms_json_err *err;
	const size_t *klen;	/* lengths of the keys looked for */
	size_t next;		/* the field to try first for the next key */
	int esc;		/* set by string() when it met a backslash */
};

static int fail(struct scan *sc, const char *what)
{
	if (sc->err) {
		sc->err->what = what;
		sc->err->at = sc->i;
	}
	return -1;
}

static void ws(struct scan *sc)
{
	while (sc->i < sc->n) {
		char c = sc->s[sc->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->i++;
	}
}

/* Bytes that stand for themselves inside a string: printable ASCII but
 * the quote and the backslash. */
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	/* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The value of the hex digit c, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The UTF-16 code unit of the \uXXXX escape at p[0..avail), or -1 if p
 * does not start with one. */
static long u_escape(const char *p, size_t avail)
{
	long cp = 0;

	if (avail < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int k = 2; k < 6; k++) {
		int h = hexval(p[k]);

		if (h < 0)
			return -1;
		cp = cp << 4 | h;
	}
	return cp;
}

static int is_high(long cp)
{
	return cp >= 0xd800 && cp <= 0xdbff;
}

static int is_low(long cp)
{
	return cp >= 0xdc00 && cp <= 0xdfff;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if malformed. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t len;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int string(struct scan *sc)
{
	sc->i++;	/* opening quote */
	while (sc->i < sc->n) {
		unsigned char c = (unsigned char)sc->s[sc->i];
		size_t len;

		/* Plain printable ASCII is most of every record. */
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			const unsigned char *p = (const unsigned char *)sc->s + sc->i;
			const unsigned char *end = (const unsigned char *)sc->s + sc->n;

			while (p < end && plain[*p])
				p++;
			sc->i = (size_t)(p - (const unsigned char *)sc->s);
			continue;
		}

		if (c == '"') {
			sc->i++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "control character in string");
		if (c == '\\') {
			sc->esc = 1;
			if (sc->i + 1 >= sc->n)
				break;
			c = (unsigned char)sc->s[sc->i + 1];
			if (c == 'u') {
				long cp;

				if (sc->i + 6 > sc->n)
					break;
				cp = u_escape(sc->s + sc->i, sc->n - sc->i);
				if (cp < 0)
					return fail(sc, "bad \\u escape");
				/* A surrogate only as a high one, then a low. */
				if (is_high(cp) &&
				    is_low(u_escape(sc->s + sc->i + 6, sc->n - sc->i - 6))) {
					sc->i += 12;
					continue;
				}
				if (is_high(cp) || is_low(cp))
					return fail(sc, "lone surrogate in \\u escape");
				sc->i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == 0)
				return fail(sc, "bad escape in string");
			sc->i += 2;
			continue;
		}
		len = utf8_len((const unsigned char *)sc->s + sc->i, sc->n - sc->i);
		if (!len)
			return fail(sc, "invalid UTF-8 in string");
		sc->i += len;
	}
	return fail(sc, "unterminated string");
}

static int digits(struct scan *sc)
{
	size_t start = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i > start ? 0 : -1;
}

static int number(struct scan *sc)
{
	if (sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i < sc->n && sc->s[sc->i] == '0')
		sc->i++;
	else if (digits(sc) < 0)
		return fail(sc, "bad number");
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		if (digits(sc) < 0)
			return fail(sc, "bad number");
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		if (digits(sc) < 0)
			return fail(sc, "bad number");
	}
	return 0;
}

static int literal(struct scan *sc, const char *word)
{
	size_t len = strlen(word);

	if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
		return fail(sc, "unexpected character");
	sc->i += len;
	return 0;
}

static int value(struct scan *sc, int depth, struct bms_json_field *f, size_t nf);

static int object(struct scan *sc, int depth, struct bms_json_field *f, size_t nf)
{
	sc->i++;	/* '{' */
	ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		size_t kstart, klen, vstart;
		struct bms_json_field *hit = NULL;
		const char *key;
		char dec[BMS_JSON_MAX_KEY + 1];	/* an escaped key, decoded */

		ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"')
			return fail(sc, "expected a key");
		kstart = sc->i + 1;
		sc->esc = 0;
		if (string(sc) < 0)
			return -1;
		key = sc->s + kstart;
		klen = sc->i - 1 - kstart;
		/* A key with an escape is compared as it decodes; one that
		 * does not fit dec is longer than any key looked for. */
		if (sc->esc && nf) {
			long got = bms_json_str_get(sc->s + kstart - 1, klen + 2,
						    dec, sizeof dec);

			key = dec;
			klen = got < 0 ? sizeof dec : (size_t)got;
		}
		/* Records mostly list their keys in the order they are asked
		 * for: try the field after the last one found first. */
		for (size_t j = 0; j < nf; j++) {
			size_t k = sc->next + j < nf ? sc->next + j : sc->next + j - nf;

			if (sc->klen[k] == klen && f[k].key[0] == key[0] &&
			    memcmp(f[k].key, key, klen) == 0) {
				hit = &f[k];
				sc->next = k + 1 < nf ? k + 1 : 0;
				break;
			}
		}
		ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != ':')
			return fail(sc, "expected ':'");
		sc->i++;
		ws(sc);
		vstart = sc->i;
		if (value(sc, depth + 1, NULL, 0) < 0)
			return -1;
		if (hit) {
			hit->dup |= hit->val != NULL;
			hit->val = sc->s + vstart;
			hit->len = sc->i - vstart;
		}
		ws(sc);
		if (sc->i >= sc->n)
			return fail(sc, "unterminated object");
		if (sc->s[sc->i] == '}') {
			sc->i++;
			return 0;
		}
		if (sc->s[sc->i] != ',')
			return fail(sc, "expected ',' or '}'");
		sc->i++;
	}
}

static int array(struct scan *sc, int depth)
{
	sc->i++;	/* '[' */
	ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == ']') {
		sc->i++;
		return 0;
	}
	for (;;) {
		ws(sc);
		if (value(sc, depth + 1, NULL, 0) < 0)
			return -1;
		ws(sc);
		if (sc->i >= sc->n)
			return fail(sc, "unterminated array");
		if (sc->s[sc->i] == ']') {
			sc->i++;
			return 0;
		}
		if (sc->s[sc->i] != ',')
			return fail(sc, "expected ',' or ']'");
		sc->i++;
	}
}

static int value(struct scan *sc, int depth, struct bms_json_field *f, size_t nf)
{
	char c;

	if (depth > BMS_JSON_MAX_DEPTH)
		return fail(sc, "nested too deeply");
	if (sc->i >= sc->n)
		return fail(sc, "expected a value");
	c = sc->s[sc->i];
	switch (c) {
	case '{': return object(sc, depth, f, nf);
	case '[': return array(sc, depth);
	case '"': return string(sc);
	case 't': return literal(sc, "true");
	case 'f': return literal(sc, "false");
	case 'n': return literal(sc, "null");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(sc);
		return fail(sc, "unexpected character");
	}
}

int bms_json_scan(const char *s, size_t n, struct bms_json_field *fields,
		  size_t nfields, struct bms_json_err *err)
{
	size_t klen[BMS_JSON_MAX_FIELDS];
	struct scan sc = { s, n, 0, err, klen, 0, 0 };

	assert(nfields <= BMS_JSON_MAX_FIELDS);
	for (size_t k = 0; k < nfields; k++) {
		fields[k].val = NULL;
		fields[k].len = 0;
		fields[k].dup = 0;
		klen[k] = strlen(fields[k].key);
		assert(klen[k] >= 1 && klen[k] <= BMS_JSON_MAX_KEY);
	}
	ws(&sc);
	if (sc.i >= n || s[sc.i] != '{')
		return fail(&sc, "expected an object");
	if (object(&sc, 1, fields, nfields) < 0)
		return -1;
	ws(&sc);
	if (sc.i != n)
		return fail(&sc, "trailing characters after the object");
	return 0;
}

int bms_json_utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len((const unsigned char *)s + i, n - i);

		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

/* The UTF-8 of the code point cp (not a surrogate, at most 0x10ffff) at p;
 * returns its length. */
static size_t put_utf8(char *p, unsigned long cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

long bms_json_str_get(const char *val, size_t len, char *out, size_t cap)
{
	size_t o = 0, end;

	if (!val || len < 2 || val[0] != '"' || val[len - 1] != '"')
		return -1;
	end = len - 1;		/* the closing quote */
	for (size_t i = 1; i < end;) {
		unsigned char c = (unsigned char)val[i];
		char seq[4];
		size_t n = 1;

		if (c < 0x80 && c != '\\') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c == '\\') {
			long cp, lo;

			if (i + 1 >= end)
				return -1;
			switch (val[i + 1]) {
			case '"': case '\\': case '/': seq[0] = val[i + 1]; break;
			case 'b': seq[0] = '\b'; break;
			case 'f': seq[0] = '\f'; break;
			case 'n': seq[0] = '\n'; break;
			case 'r': seq[0] = '\r'; break;
			case 't': seq[0] = '\t'; break;
			case 'u':
				cp = u_escape(val + i, end - i);
				if (cp < 0 || is_low(cp))
					return -1;
				if (is_high(cp)) {
					lo = u_escape(val + i + 6, end - i - 6);
					if (!is_low(lo))
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
				n = put_utf8(seq, (unsigned long)cp);
				i += 4;
				break;
			default:
				return -1;
			}
			i += 2;
		} else {
			n = utf8_len((const unsigned char *)val + i, end - i);
			if (!n)
				return -1;
			memcpy(seq, val + i, n);
			i += n;
		}
		if (cap - o <= n)	/* room for the NUL too */
			return -1;
		memcpy(out + o, seq, n);
		o += n;
	}
	if (o >= cap)
		return -1;
	out[o] = '\0';
	return (long)o;
}

int bms_json_str_eq(const char *val, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	char tmp[64];
	long got;

	if (!val || len < 2 || val[0] != '"')
		return 0;
	if (len == n + 2 && memcmp(val + 1, lit, n) == 0)
		return 1;
	if (!memchr(val, '\\', len) || n >= sizeof tmp)
		return 0;
	got = bms_json_str_get(val, len, tmp, sizeof tmp);
	return got == (long)n && memcmp(tmp, lit, n) == 0;
}

int bms_json_array_next(const char *arr, size_t len, const char **pos,
			const char **elem, size_t *elen)
{
	struct scan sc = { arr, len, 0, NULL, NULL, 0, 0 };

	if (!arr || len < 2 || arr[0] != '[')
		return -1;
	sc.i = *pos ? (size_t)(*pos - arr) : 1;
	ws(&sc);
	if (sc.i < len && sc.s[sc.i] == ',') {
		sc.i++;
		ws(&sc);
	}
	if (sc.i >= len || sc.s[sc.i] == ']')
		return 0;
	*elem = arr + sc.i;
	if (sc.s[sc.i] == '"') {
		/* Already valid: only the closing quote needs finding. */
		const char *q = arr + sc.i + 1, *end = arr + len;

		while ((q = memchr(q, '"', (size_t)(end - q))) != NULL) {
			const char *bs = q;

			while (bs > *elem + 1 && bs[-1] == '\\')
				bs--;
			if ((q - bs) % 2 == 0)
				break;
			q++;
		}
		if (!q)
			return -1;
		sc.i = (size_t)(q + 1 - arr);
	} else if (value(&sc, 1, NULL, 0) < 0) {
		return -1;
	}
	*elen = sc.i - (size_t)(*elem - arr);
	*pos = arr + sc.i;
	return 1;
}

long bms_json_str_copy(const char *val, size_t len, char *out, size_t cap)
{
	long n;

	if (len < 2 || val[0] != '"')
		return -1;
	if (!memchr(val, '\\', len)) {
		if (len - 2 >= cap)
			return -2;
		memcpy(out, val + 1, len - 2);
		out[len - 2] = '\0';
		return (long)(len - 2);
	}
	n = bms_json_str_get(val, len, out, cap);
	if (n < 0)
		return -2;
	if (memchr(out, '\0', (size_t)n))
		return -3;
	return n;
}

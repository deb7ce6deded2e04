/* SPDX-License-Identifier: MIT */
/*
 * Validating JSON scanner (see json.h).  A recursive descent over the
 * bytes with a depth bound; strings are checked for legal escapes and
 * well-formed UTF-8, numbers against the RFC 8259 grammar.  Linear in the
 * line length, no allocation.
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

static int hexdig(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
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
			if (sc->i + 1 >= sc->n)
				break;
			c = (unsigned char)sc->s[sc->i + 1];
			if (c == 'u') {
				if (sc->i + 6 > sc->n)
					break;
				for (int k = 2; k < 6; k++)
					if (!hexdig(sc->s[sc->i + k]))
						return fail(sc, "bad \\u escape");
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

		ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"')
			return fail(sc, "expected a key");
		kstart = sc->i + 1;
		if (string(sc) < 0)
			return -1;
		klen = sc->i - 1 - kstart;
		/* Records mostly list their keys in the order they are asked
		 * for: try the field after the last one found first. */
		for (size_t j = 0; j < nf; j++) {
			size_t k = sc->next + j < nf ? sc->next + j : sc->next + j - nf;

			if (sc->klen[k] == klen && f[k].key[0] == sc->s[kstart] &&
			    memcmp(f[k].key, sc->s + kstart, klen) == 0) {
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
	struct scan sc = { s, n, 0, err, klen, 0 };

	assert(nfields <= BMS_JSON_MAX_FIELDS);
	for (size_t k = 0; k < nfields; k++) {
		fields[k].val = NULL;
		fields[k].len = 0;
		klen[k] = strlen(fields[k].key);
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

long bms_json_str_get(const char *val, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	if (!val || len < 2 || val[0] != '"' || val[len - 1] != '"')
		return -1;
	for (size_t i = 1; i + 1 < len; i++) {
		char c = val[i];

		if (c == '\\') {
			char e = val[++i];
			unsigned cp = 0;

			switch (e) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				for (int k = 1; k <= 4; k++) {
					char h = val[i + k];

					cp = cp << 4 | (unsigned)(h <= '9' ? h - '0' :
						(h | 0x20) - 'a' + 10);
				}
				i += 4;
				/* Field values we read are ASCII; anything
				 * else is kept as UTF-8 of the code unit. */
				if (cp < 0x80) {
					c = (char)cp;
					break;
				}
				if (o + 3 > cap)
					return -1;
				if (cp < 0x800) {
					out[o++] = (char)(0xc0 | cp >> 6);
				} else {
					out[o++] = (char)(0xe0 | cp >> 12);
					out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
				}
				c = (char)(0x80 | (cp & 0x3f));
				break;
			default: c = e; break;
			}
		}
		if (o >= cap)
			return -1;
		out[o++] = c;
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
	struct scan sc = { arr, len, 0, NULL, NULL, 0 };

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

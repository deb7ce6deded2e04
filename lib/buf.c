/* SPDX-License-Identifier: MIT */
/*
 * Growable buffer (see buf.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int grow(struct bms_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void bms_buf_reset(struct bms_buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p)
		b->p[0] = '\0';
}

void bms_buf_free(struct bms_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void bms_buf_add_grow(struct bms_buf *b, const void *p, size_t n)
{
	if (grow(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void bms_buf_printf(struct bms_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void bms_buf_json_str(struct bms_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	bms_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		bms_buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': bms_buf_add(b, "\\\"", 2); break;
		case '\\': bms_buf_add(b, "\\\\", 2); break;
		case '\n': bms_buf_add(b, "\\n", 2); break;
		case '\r': bms_buf_add(b, "\\r", 2); break;
		case '\t': bms_buf_add(b, "\\t", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			bms_buf_add(b, esc, 6);
		}
	}
	bms_buf_add(b, s + run, n - run);
	bms_buf_putc(b, '"');
}

void bms_buf_num(struct bms_buf *b, double v, int maxdec)
{
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
	char tmp[64];
	int n;

	/* Fast path for the values readings carry: fixed point in an
	 * integer, the same digits printf would give but for exact ties. */
	if (maxdec >= 0 && maxdec <= 6 && v > -1e12 && v < 1e12) {
		double scaled = v * pow10[maxdec];
		long long q = (long long)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
		unsigned long long a = (unsigned long long)(q < 0 ? -q : q);
		char *p = tmp + sizeof tmp;
		int dec = maxdec;

		while (dec > 0 && a % 10 == 0) {	/* drop trailing zeros */
			a /= 10;
			dec--;
		}
		for (int i = 0; i < dec; i++) {
			*--p = (char)('0' + a % 10);
			a /= 10;
		}
		if (dec > 0)
			*--p = '.';
		do {
			*--p = (char)('0' + a % 10);
			a /= 10;
		} while (a);
		if (q < 0)
			*--p = '-';
		bms_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
		return;
	}
	n = snprintf(tmp, sizeof tmp, "%.*f", maxdec, v);
	if (n <= 0 || (size_t)n >= sizeof tmp) {
		bms_buf_puts(b, "0");
		return;
	}
	if (maxdec > 0) {
		while (tmp[n - 1] == '0')
			n--;
		if (tmp[n - 1] == '.')
			n--;
	}
	tmp[n] = '\0';
	if (strcmp(tmp, "-0") == 0)
		bms_buf_puts(b, "0");
	else
		bms_buf_add(b, tmp, (size_t)n);
}

void bms_buf_exact(struct bms_buf *b, double v)
{
	char tmp[32];

	if (v == 0 || !isfinite(v)) {	/* also -0 */
		bms_buf_putc(b, '0');
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	bms_buf_puts(b, tmp);
}

/* SPDX-License-Identifier: MIT */
/*
 * Growable buffer (see buf.h).
 */
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

void bms_buf_add(struct bms_buf *b, const void *p, size_t n)
{
	if (grow(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void bms_buf_puts(struct bms_buf *b, const char *s)
{
	bms_buf_add(b, s, strlen(s));
}

void bms_buf_putc(struct bms_buf *b, char c)
{
	bms_buf_add(b, &c, 1);
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
	char tmp[64];
	int n;

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

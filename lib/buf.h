/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer for building output lines.  The memory belongs to
 * the buffer; reuse one buffer per program (bms_buf_reset) so that the
 * steady state allocates nothing.
 */
#ifndef BMS_BUF_H
#define BMS_BUF_H

#include <stddef.h>
#include <string.h>

struct bms_buf {
	char *p;	/* bytes, always NUL-terminated when len > 0 */
	size_t len;	/* bytes in use, without the NUL */
	size_t cap;	/* bytes allocated */
	int oom;	/* set when an allocation failed; later appends do nothing */
};

#define BMS_BUF_INIT { 0, 0, 0, 0 }

void bms_buf_reset(struct bms_buf *b);
void bms_buf_free(struct bms_buf *b);

/* Append n bytes (the slow path grows the buffer). */
void bms_buf_add_grow(struct bms_buf *b, const void *p, size_t n);

/* Appends are inline while the buffer has room: every record writer
 * makes a few dozen of them a line. */
static inline void bms_buf_add(struct bms_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 <= b->cap && !b->oom) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
		b->p[b->len] = '\0';
	} else {
		bms_buf_add_grow(b, p, n);
	}
}

static inline void bms_buf_puts(struct bms_buf *b, const char *s)
{
	bms_buf_add(b, s, strlen(s));
}

static inline void bms_buf_putc(struct bms_buf *b, char c)
{
	if (b->len + 2 <= b->cap && !b->oom) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	} else {
		bms_buf_add_grow(b, &c, 1);
	}
}

void bms_buf_printf(struct bms_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append s[0..n) as a JSON string, quotes included, escaped per RFC 8259. */
void bms_buf_json_str(struct bms_buf *b, const char *s, size_t n);

/*
 * Append a JSON number with at most maxdec decimals and no trailing zeros
 * (3.3380 -> 3.338, 53.400 -> 53.4, 27.0 -> 27); -0 is written as 0.
 */
void bms_buf_num(struct bms_buf *b, double v, int maxdec);

/*
 * Append v exactly: the shortest of 15, 16 or 17 significant digits
 * (printf's %g) that strtod reads back to the same double (0.1 -> 0.1,
 * 1.0/3 -> 0.3333333333333333).  -0 is written as 0, and so is a value
 * that is not finite, which JSON cannot hold.  For state, not records.
 */
void bms_buf_exact(struct bms_buf *b, double v);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the codec tests: hex text into bytes, and the exchanges of
 * one poll built up as a frames record holds them.  Header-only, like
 * unit.h: include it from one file per test binary.
 */
#ifndef BMS_POLLTEST_H
#define BMS_POLLTEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reading.h"

/* Hex digits (spaces ignored) into out; a malformed string is a bug in
 * the test itself, so it aborts. */
static inline size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\n')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			abort();
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			abort();
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		abort();
	return n;
}

#define MAX_ELEMS 24
#define ELEM_CAP 1024

/* The exchanges of one poll, as a frames record holds them.  Bytes are
 * appended to element cur: the newest one, or one chosen by poll_redo. */
struct poll {
	size_t n, cur;
	uint8_t buf[MAX_ELEMS][ELEM_CAP];
	size_t len[MAX_ELEMS];
	const uint8_t *p[MAX_ELEMS];
};

static inline void poll_init(struct poll *pl)
{
	memset(pl, 0, sizeof *pl);
	for (int i = 0; i < MAX_ELEMS; i++)
		pl->p[i] = pl->buf[i];
}

/* Append hex bytes to the current element. */
static inline void poll_cat(struct poll *pl, const char *hex)
{
	size_t e = pl->cur;

	pl->len[e] += hx(hex, pl->buf[e] + pl->len[e], ELEM_CAP - pl->len[e]);
}

/* Append raw bytes to the current element. */
static inline void poll_raw(struct poll *pl, const uint8_t *b, size_t n)
{
	size_t e = pl->cur;

	if (pl->len[e] + n > ELEM_CAP)
		abort();
	memcpy(pl->buf[e] + pl->len[e], b, n);
	pl->len[e] += n;
}

/* Start a new element with hex bytes. */
static inline void poll_add(struct poll *pl, const char *hex)
{
	if (pl->n == MAX_ELEMS)
		abort();
	pl->cur = pl->n++;
	poll_cat(pl, hex);
}

/* Empty element e and make it the current one. */
static inline void poll_redo(struct poll *pl, size_t e)
{
	pl->len[e] = 0;
	pl->cur = e;
}

/* The reading as JSON, with the bms_id and timestamp every codec test
 * uses; valid until the next call. */
static inline const char *json(const struct bms_reading *r)
{
	static struct bms_buf out = BMS_BUF_INIT;
	static const char id[] = "\"p1\"", ts[] = "\"2026-11-27T14:29:11.123Z\"";
	struct bms_record_head h = {
		.bms_id = id, .bms_id_len = sizeof id - 1,
		.timestamp = ts, .timestamp_len = sizeof ts - 1,
	};

	bms_buf_reset(&out);
	bms_reading_json(r, &h, "daly", &out);
	return out.p;
}

#endif

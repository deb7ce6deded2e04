/* SPDX-License-Identifier: MIT */
/*
 * Backoff per key (see backoff.h): a small table searched in full; a
 * server keeps a few hundred keys at most, and a search costs less than
 * the password hash a login computes anyway.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"

struct entry {
	char key[BMS_BACKOFF_KEY_MAX + 1];
	int failures;
	int64_t until;		/* ms: no try before */
	int64_t last;		/* ms: the latest failure */
};

struct bms_backoff {
	pthread_mutex_t mu;
	int cap, n;
	struct entry *e;
};

struct bms_backoff *bms_backoff_new(int cap)
{
	struct bms_backoff *b = calloc(1, sizeof *b);

	if (!b || !(b->e = calloc((size_t)cap, sizeof *b->e))) {
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	b->cap = cap;
	return b;
}

void bms_backoff_free(struct bms_backoff *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->e);
	free(b);
}

static struct entry *find(struct bms_backoff *b, const char *key)
{
	for (int i = 0; i < b->n; i++)
		if (strncmp(b->e[i].key, key, BMS_BACKOFF_KEY_MAX) == 0)
			return &b->e[i];
	return NULL;
}

int64_t bms_backoff_wait(struct bms_backoff *b, const char *key, int64_t now_ms)
{
	struct entry *e;
	int64_t w = 0;

	pthread_mutex_lock(&b->mu);
	if ((e = find(b, key)) && e->until > now_ms)
		w = e->until - now_ms;
	pthread_mutex_unlock(&b->mu);
	return w;
}

void bms_backoff_fail(struct bms_backoff *b, const char *key, int64_t now_ms)
{
	struct entry *e;

	pthread_mutex_lock(&b->mu);
	if (!(e = find(b, key))) {
		if (b->n < b->cap) {
			e = &b->e[b->n++];
		} else {
			e = &b->e[0];
			for (int i = 1; i < b->n; i++)
				if (b->e[i].last < e->last)
					e = &b->e[i];
		}
		memset(e, 0, sizeof *e);
		strncpy(e->key, key, BMS_BACKOFF_KEY_MAX);
	}
	e->failures++;
	e->last = now_ms;
	if (e->failures > BMS_BACKOFF_FREE) {
		int k = e->failures - BMS_BACKOFF_FREE - 1;
		int64_t d = k >= 20 ? BMS_BACKOFF_MAX_MS : (int64_t)1000 << k;

		e->until = now_ms + (d > BMS_BACKOFF_MAX_MS ? BMS_BACKOFF_MAX_MS : d);
	}
	pthread_mutex_unlock(&b->mu);
}

void bms_backoff_ok(struct bms_backoff *b, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&b->mu);
	if ((e = find(b, key)))
		*e = b->e[--b->n];
	pthread_mutex_unlock(&b->mu);
}

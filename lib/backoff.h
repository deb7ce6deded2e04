/* SPDX-License-Identifier: MIT */
/*
 * Backoff after failures, per key (a client's address, an account): the
 * first BMS_BACKOFF_FREE failures cost nothing, each one after doubles
 * the wait before the key may try again, from 1 s up to
 * BMS_BACKOFF_MAX_MS; a success forgets the key.  bms-serve keeps one for
 * logins by address and one by account, so a guesser meets 429 with
 * Retry-After while everyone else goes on.
 *
 * Memory is fixed: at most cap keys; a new key beyond that takes the
 * place of the one least recently failed.  Safe to call from several
 * threads (one mutex).
 */
#ifndef BMS_BACKOFF_H
#define BMS_BACKOFF_H

#include <stdint.h>

#define BMS_BACKOFF_FREE 5		/* failures before any wait */
#define BMS_BACKOFF_MAX_MS 900000	/* the longest wait: 15 minutes */
#define BMS_BACKOFF_KEY_MAX 191		/* bytes of a key kept */

struct bms_backoff;

/* A table of at most cap keys; NULL when out of memory. */
struct bms_backoff *bms_backoff_new(int cap);
void bms_backoff_free(struct bms_backoff *b);

/* Milliseconds key must still wait at now_ms (0: it may try now). */
int64_t bms_backoff_wait(struct bms_backoff *b, const char *key, int64_t now_ms);

/* A failure of key at now_ms. */
void bms_backoff_fail(struct bms_backoff *b, const char *key, int64_t now_ms);

/* A success: key starts over. */
void bms_backoff_ok(struct bms_backoff *b, const char *key);

#endif

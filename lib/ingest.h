/* SPDX-License-Identifier: MIT */
/*
 * The store's ingest policy, as a stage of the filter loop (filter.h):
 * every line goes into the tenant's open batch (store.h), and a batch is
 * committed when it holds batch_max records, when batch_ms have passed
 * since it began, when the records held for --passthrough reach 1 MiB,
 * when the input drains, and at the end (after a stop signal too).
 * With passthrough every record is held and written on only once its
 * batch is committed, so a record downstream is a stored record.
 * Retention runs at the start and then once an hour (bms_store_expire).
 * A busy database (another writer) is waited for again and again, each
 * wait reported through the warn callback ("...; retrying"): nothing is
 * lost.  A record of a kind the store does not keep passes (with
 * passthrough), a malformed one is rejected with the store's reason, and
 * a database failure ends the loop with a reason naming the input
 * position where the failed batch began.
 *
 * No diagnostics of its own: reasons go into caller buffers, warnings to
 * the caller's warn callback, the too-old note into bms_ingest_note.
 */
#ifndef BMS_INGEST_H
#define BMS_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "store.h"

#define BMS_INGEST_HELD_MAX (1u << 20)	/* bytes of passthrough output held back */
#define BMS_INGEST_EXPIRE_MS (3600 * 1000)	/* ms between two expiries */

struct bms_ingest_opts {
	const char *dir;		/* the store directory, for the note */
	int passthrough;		/* hold each record, write it on once committed */
	unsigned long batch_max;	/* records per commit at most */
	int64_t batch_ms;		/* ms from a batch's start to its commit at most */
	void (*warn)(void *ctx, const char *msg);	/* a busy retry */
	void *ctx;
};

struct bms_ingest {
	struct bms_store *st;		/* a tenant handle, borrowed */
	struct bms_ingest_opts o;
	unsigned long n;		/* records put in the open batch */
	int64_t began;			/* monotonic ms the open batch began; -1: none */
	const char *first_file;		/* where the open batch's first record is */
	unsigned long first_line;
	int64_t next_expire;		/* monotonic ms */
};

/*
 * Start ingesting into st (a tenant handle): expire what is past the
 * retention first.  Returns 0, or -1 with the reason in err.
 */
int bms_ingest_begin(struct bms_ingest *g, struct bms_store *st,
		     const struct bms_ingest_opts *o, char *err, size_t errsz);

/* Fill in the stage's line and drained callbacks and context (the
 * caller adds its warn for the inputs). */
void bms_ingest_stage(struct bms_ingest *g, struct bms_filter_stage *stage);

/*
 * After the run: the note to give the user when records were too old to
 * be stored (with the command that keeps them).  Returns 1 with the note
 * in note, 0 when there is nothing to say.
 */
int bms_ingest_note(const struct bms_ingest *g, char *note, size_t notesz);

#endif

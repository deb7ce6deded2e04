/* SPDX-License-Identifier: MIT */
/*
 * The stage bms-agg runs (bms-agg(1)): reading records in and out, with
 * the records of the analyses of each battery added, every other record
 * passed through byte for byte.
 *
 * Each battery (a pack or a merged battery, told apart by bms_id and
 * tenant) has one slot, made when it is first seen, at most max_batteries
 * of them.  Each of its readings reaches the per-battery analyses in time
 * order in one place (analyse() in aggstage.c): tumbling windows
 * (lib/window), lifetime analytics (lib/health) and anomaly detection
 * (lib/anomaly).  For each reading analysed the stage writes the windows
 * it closed, the health record of the health_ms boundary it crossed
 * (timestamped with the boundary, holding the readings before it), the
 * reading itself, then the anomalies it shows.  A reading not after the
 * battery's latest is passed on and only counted.  Readings of the packs
 * of a merge (lib/merge) also make merged readings, written after the
 * pack reading that completed them and analysed like any battery's.
 *
 * The settings of a battery's analytics: the configuration's [health]
 * and [anomaly] keys (per battery in [health "ID"], [anomaly "ID"]) over
 * the modules' defaults; the full and empty cell of its chemistry
 * ([battery "ID"] chemistry, else opts chem); its nominal capacity from
 * [battery "ID"] capacity_ah, else its latest reading's
 * nominal_capacity_ah; max_gap_ms that of the windows.
 *
 * The caller (the cmd) parses the options into struct bms_aggstage_opts,
 * then: bms_aggstage_new, bms_aggstage_configure (the --config file and
 * the merges; a failure is a usage error), bms_aggstage_load (the --state
 * file, loaded and saved once to know it can be; a failure is a runtime
 * one), runs the filter loop with bms_aggstage_line and
 * bms_aggstage_drained as the stage's callbacks and the stage as their
 * ctx, then bms_aggstage_finish and bms_aggstage_free.
 *
 * The state file holds records tagged with a "kind" (bms-agg(1), State);
 * the loader dispatches on it.  SIGHUP (sig.h) reloads the configuration
 * between lines: a file that does not read is warned about and the old
 * one kept.  Like every lib/ module it never prints: warnings go to the
 * caller's warn callback, one line each, without the program's name.
 * Memory is bounded per battery and by max_batteries.
 */
#ifndef BMS_AGGSTAGE_H
#define BMS_AGGSTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "merge.h"
#include "window.h"

#define BMS_AGGSTAGE_MAX_BATTERIES 1024	/* default of --max-batteries */

struct bms_aggstage_opts {
	struct bms_window_opts wopt;	/* window lengths and max_gap_ms */
	struct bms_merge_def cli[BMS_MERGE_MAX];	/* --merge, parsed, with mode */
	int ncli;
	int64_t merge_window_ms;	/* ms: the window of the --merge ones */
	const char *config_path;	/* NULL: none */
	const char *state_path;		/* NULL: none */
	int64_t save_ms;		/* ms: save the state at most this often */
	int max_batteries;		/* > 0 */
	int chem;			/* enum bms_chem of batteries the file
					 * gives none */
	int64_t health_ms;		/* ms: health records every; 0 none */
	void (*warn)(void *ctx, const char *msg);	/* a diagnostic line */
	void *warn_ctx;
};

/* The defaults of the options: 1m gaps, 5s merge window, 10s saves,
 * BMS_AGGSTAGE_MAX_BATTERIES, no window lengths (the caller adds them). */
void bms_aggstage_opts_init(struct bms_aggstage_opts *o);

struct bms_aggstage;

/* A stage of the options o (copied); NULL when out of memory. */
struct bms_aggstage *bms_aggstage_new(const struct bms_aggstage_opts *o);

/* Read the configuration and set the merges.  0, or -1 with the reason
 * (file:line:col: ..., a merge that makes no sense) in err. */
int bms_aggstage_configure(struct bms_aggstage *s, char *err, size_t errsz);

/* With a state file: load it (a missing one is empty) and save it once.
 * 0, or -1 with the reason in err.  Without one: 0. */
int bms_aggstage_load(struct bms_aggstage *s, char *err, size_t errsz);

/* The stage's callbacks (filter.h); ctx is the struct bms_aggstage. */
int bms_aggstage_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
		      char *why, size_t whysz);
int bms_aggstage_drained(void *ctx, struct bms_filter *f, char *why, size_t whysz);

/*
 * The end of the input: with a state file it is saved; without one the
 * windows still open are written (incomplete) and the output flushed.
 * Then the readings not aggregated are warned about.  0, or -1 with the
 * reason in err (the state cannot be saved, the output cannot be
 * written).
 */
int bms_aggstage_finish(struct bms_aggstage *s, struct bms_filter *f, char *err, size_t errsz);

void bms_aggstage_free(struct bms_aggstage *s);

#endif

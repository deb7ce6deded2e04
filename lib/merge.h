/* SPDX-License-Identifier: MIT */
/*
 * Several packs as one battery (bms-agg --merge NAME=ID,ID,...): the
 * readings of the packs, matched in time, made into one reading of
 * bms_id NAME, written as any reading is (bms_reading_json).
 *
 * Alignment: each pack has one slot holding its latest reading not yet
 * used; a newer reading of the pack replaces it (the old one is dropped
 * and counted).  A slot more than the merge window older than the newest
 * slot is dropped (it can never be matched).  When every pack's slot is
 * full, all within the window of each other, they make one merged
 * reading timestamped with the latest of them, and the slots empty: each
 * pack reading is used once.  While a pack is silent no merged reading
 * is made: never one of fewer packs than listed.
 *
 * The merged reading has a field only when every pack's reading has it:
 *   parallel  pack_voltage the mean, pack_current and pack_power the
 *             sum, soc_percent and soh_percent weighted by capacity
 *             (each pack's nominal_capacity_ah, else capacity_ah of its
 *             [battery "ID"] section, else, when one pack has neither,
 *             equal weights for all), remaining_capacity_ah and
 *             nominal_capacity_ah the sum;
 *   series    pack_voltage and pack_power the sum, pack_current the
 *             mean, soc_percent, soh_percent, remaining_capacity_ah and
 *             nominal_capacity_ah the lowest pack's (a string is as
 *             empty as its emptiest pack);
 *   both      cell_voltages and temperatures concatenated in the order
 *             of the list (left out when they would exceed a reading's
 *             48 cells or 16 probes), balancing (cell numbers shifted
 *             to the concatenation) and protection flags OR-ed, fault
 *             and warning codes united, charge_mos and discharge_mos
 *             on only when on in every pack; no cycles, no proto.
 * The tenant is that of the reading whose time the merged one takes.
 */
#ifndef BMS_MERGE_H
#define BMS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reading.h"
#include "record.h"

#define BMS_MERGE_MAX 64		/* merges at once */
#define BMS_MERGE_PACKS 16		/* packs in one merge, at least 2 */
#define BMS_MERGE_WINDOW_MS 5000	/* default alignment window, ms */

enum bms_merge_mode { BMS_MERGE_PARALLEL, BMS_MERGE_SERIES };

struct bms_merge_def {
	char name[BMS_RECORD_ID_MAX + 1];	/* the merged battery's bms_id */
	int mode;				/* enum bms_merge_mode */
	int64_t window_ms;			/* ms, the alignment window */
	int npacks;
	char pack[BMS_MERGE_PACKS][BMS_RECORD_ID_MAX + 1];	/* bms_ids, in order */
	double capacity_ah[BMS_MERGE_PACKS];	/* Ah from the configuration, 0 unknown */
};

/*
 * Parse "NAME=ID,ID,..." into d (mode and window left as they are).
 * Returns 0, or -1 with the reason in err: "'x' is not NAME=ID,ID,...",
 * "NAME: at least 2 packs", "NAME: more than 16 packs", "NAME: pack 'a'
 * twice", "NAME: a pack cannot be the merged battery".
 */
int bms_merge_parse(struct bms_merge_def *d, const char *arg, char *err, size_t errsz);

/*
 * Check merges defs[0..n) together: no name twice, no merged battery a
 * pack of another, no pack in two.  0, or -1 with the reason in err:
 * "merge 'a' is defined twice", "merge 'a' is a pack of merge 'b'",
 * "pack 'p2' is in merges 'a' and 'b'".
 */
int bms_merge_check(const struct bms_merge_def *defs, int n, char *err, size_t errsz);

/* The packs' pending readings and what became of them. */
struct bms_merge {
	struct bms_merge_def def;
	int full[BMS_MERGE_PACKS];
	struct bms_reading_doc slot[BMS_MERGE_PACKS];	/* envelope spans unused */
	unsigned long made;		/* merged readings */
	unsigned long dropped;		/* pack readings never used */
	unsigned cut;			/* BMS_MERGE_CUT_* seen: fields left out */
};

#define BMS_MERGE_CUT_CELLS 1u	/* more than 48 cells */
#define BMS_MERGE_CUT_TEMPS 2u	/* more than 16 probes */

/* Set m up for the merge d, with nothing pending. */
void bms_merge_init(struct bms_merge *m, const struct bms_merge_def *d);

/* The index of bms_id among m's packs, or -1. */
int bms_merge_pack(const struct bms_merge *m, const char *bms_id);

/*
 * Offer pack p's reading d (later than the pack's readings before).
 * Returns 1 when it completes a merged reading: *out holds it (its codes
 * point into m, valid until the next offer), *ts its time and *tenant
 * its tenant (NULL for none); else 0.  *cut gets the BMS_MERGE_CUT_* of
 * this reading.
 */
int bms_merge_offer(struct bms_merge *m, int p, const struct bms_reading_doc *d,
		    struct bms_reading *out, int64_t *ts, const char **tenant, unsigned *cut);

/* The merged reading r at ts as a reading line (no newline) into out. */
void bms_merge_json(const struct bms_merge *m, const struct bms_reading *r, int64_t ts,
		    const char *tenant, struct bms_buf *out);

/* ==== State ==== */

/*
 * The i-th pending reading of m as a state record {"kind":"pending",
 * "merge":NAME,"pack":ID,"reading":{...}} (the reading with every number
 * exact) appended to out: 1, or 0 past the last.
 */
int bms_merge_state_record(const struct bms_merge *m, int i, struct bms_buf *out);

/*
 * Load a "pending" record into the merge of its name among ms[0..n).
 * A merge or pack no longer defined is dropped (*dropped 1).  Returns 0,
 * or -1 with the reason in err.
 */
int bms_merge_state_load(struct bms_merge **ms, int n, const char *rec, size_t len,
			 int *dropped, char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Tumbling windows of one battery's readings (bms-agg(1)): for each
 * period asked for, the readings of [start, start + period) summed up in
 * a bucket of lib/agg, with the energy and charge that flowed in that
 * time, and one aggregate record when the window closes.
 *
 * Windows are aligned to the clock (start a multiple of the period from
 * the epoch, a period dividing a day, so 1d windows start at 00:00 UTC)
 * and close by the readings' own timestamps: a window is done when a
 * reading of a later window arrives.  So a replay of a capture gives the
 * records the live run gave, whatever the pace of the input.
 *
 * Energy and charge are the trapezoidal integral of pack_power (or
 * pack_voltage x pack_current when the reading has no power) and of
 * pack_current between consecutive readings, over their real
 * timestamps; positive (charging) and negative parts are kept apart,
 * the value taken as linear between two readings, so an interval where
 * the sign changes is split at the zero.  An interval longer than
 * max_gap_ms is not bridged: it is a gap, counted with its time in each
 * window it overlaps.  An interval that straddles window boundaries is
 * split at them, so the windows of a period add up to the whole; a
 * window no reading falls in but that a bridged interval crosses is
 * still a window (n 0, with its energy), while one wholly inside a gap
 * is not.
 *
 * Readings must come in time order, each later than the one before:
 * the caller drops the others (bms-agg counts them).  Everything here is
 * computation on caller-owned structs; the emit callback gets each
 * closed window.  State records (bms-agg's --state, lib/state) carry an
 * open window and the integration's last point exactly (numbers written
 * with buf.h's bms_buf_exact), so a run stopped and resumed gives what
 * one run gives.
 */
#ifndef BMS_WINDOW_H
#define BMS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "buf.h"
#include "reading.h"

#define BMS_WINDOW_MAX 8			/* periods at once */
#define BMS_WINDOW_MIN_MS INT64_C(1000)		/* shortest period */
#define BMS_WINDOW_DAY_MS INT64_C(86400000)	/* longest; every period divides it */

struct bms_window_opts {
	int n;					/* periods, 1..BMS_WINDOW_MAX */
	int64_t period_ms[BMS_WINDOW_MAX];	/* ms, ascending, distinct */
	int64_t max_gap_ms;			/* ms, longest interval bridged */
};

/*
 * Add the periods of arg, a comma list of durations (bms_config_duration:
 * "10s,1m", "1h"), to o, kept ascending without repeats.  Returns 0, or
 * -1 with the reason in err: "'7m' does not divide a day", "'x' is not a
 * duration", "more than 8 windows".
 */
int bms_window_parse_list(struct bms_window_opts *o, const char *arg, char *err, size_t errsz);

/* What flowed in one window. */
struct bms_window_flow {
	double energy_in_wh, energy_out_wh;	/* Wh, charged and discharged (>= 0) */
	double charge_in_ah, charge_out_ah;	/* Ah, the same of the current */
	int64_t covered_ms;	/* ms of the window bridged by integration */
	int64_t gap_ms;		/* ms of the window inside gaps */
	long gaps;		/* gaps that overlap the window */
};

/* One window of one period. */
struct bms_window {
	int open;		/* has readings or bridged time */
	int64_t start;		/* ms since the epoch, when open */
	struct bms_agg_bucket b;	/* its readings (b.n may be 0) */
	struct bms_agg_stat spread;	/* highest minus lowest cell of a reading, V */
	struct bms_window_flow flow;
};

/* The integration's last point: the latest reading added. */
struct bms_window_point {
	int64_t ts;		/* ms */
	int has_p, has_i;
	double p;		/* W */
	double i;		/* A */
};

/* The windows of one battery. */
struct bms_window_set {
	int has_prev;
	struct bms_window_point prev;
	struct bms_window w[BMS_WINDOW_MAX];	/* one per period of the opts */
};

/* A closed window (complete 1), or an open one at the end (complete 0). */
typedef void (*bms_window_emit_fn)(void *ctx, const struct bms_window *w, int complete);

/* Empty s for the periods of o. */
void bms_window_init(struct bms_window_set *s, const struct bms_window_opts *o);

/*
 * Add reading r taken at ts (ms), later than every reading added before:
 * first the windows it closes go to emit (for each period in turn, in
 * time order), then it joins the windows of its time.
 */
void bms_window_add(struct bms_window_set *s, const struct bms_window_opts *o, int64_t ts,
		    const struct bms_reading *r, bms_window_emit_fn emit, void *ctx);

/* Hand every open window to emit as incomplete (the end of the input
 * without --state), and empty them. */
void bms_window_finish(struct bms_window_set *s, const struct bms_window_opts *o,
		       bms_window_emit_fn emit, void *ctx);

/*
 * Append the aggregate record of w for battery bms_id (id_len bytes),
 * tenant NULL for none, without a newline: bms_agg_json's fields with
 * "stddev" in each metric, then cell_low, cell_high, cell_spread,
 * energy_in_wh, energy_out_wh, charge_in_ah, charge_out_ah, covered_ms,
 * gaps, gap_ms, complete (bms-agg(1) lists them).
 */
void bms_window_json(const struct bms_window *w, int complete, const char *bms_id,
		     size_t id_len, const char *tenant, struct bms_buf *out);

/* ==== State ==== */

/*
 * The state records of s, one at a time: i from 0 on, each call appends
 * record i (no newline) to out after the head text (the caller's
 * {"kind":..,"bms_id":..,... fields are written by head(), called with
 * the kind) and returns 1, or returns 0 past the last.  Kinds: "point"
 * (the integration's last point) and "window" (one open window).
 */
int bms_window_state_record(const struct bms_window_set *s, const struct bms_window_opts *o,
			    int i, void (*head)(void *ctx, const char *kind, struct bms_buf *out),
			    void *ctx, struct bms_buf *out);

/*
 * Load one state record of kind "point" or "window" (rec[0..len), a JSON
 * object, NUL-terminated) into s.  A window of a period o does not ask
 * for is left out (*dropped set to 1).  Returns 0, or -1 with the reason
 * in err.
 */
int bms_window_state_load(struct bms_window_set *s, const struct bms_window_opts *o,
			  const char *rec, size_t len, int *dropped, char *err, size_t errsz);

/* ==== Numbers of state records (written with buf.h's bms_buf_exact) ==== */

/* The numbers of a JSON array span into v[0..max): their count, or -1
 * when it is not an array of numbers or holds more. */
int bms_window_nums(const char *val, size_t len, double *v, int max);

#endif

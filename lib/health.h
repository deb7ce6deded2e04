/* SPDX-License-Identifier: MIT */
/*
 * Lifetime analytics of one battery, and the health record
 * (bms(7), share/schema/health.schema.json) that reports them.
 *
 * The caller feeds one battery's readings in time order
 * (bms_health_add); a reading older than the latest one is ignored, one
 * at the same time adds nothing to the integrals.  From them the module
 * keeps, in a fixed-size struct (constant memory whatever the length of
 * the stream):
 *
 *   totals      energy (Wh) and charge (Ah) in and out, by trapezoidal
 *               integration over the readings' own timestamps (pack_power
 *               when the reading has it, else pack_voltage x pack_current;
 *               a segment that crosses zero is split where the straight
 *               line crosses it); a gap longer than max_gap_ms is not
 *               bridged but counted (gaps, gap time)
 *   cycles      equivalent full cycles: charge out / nominal_ah
 *   efficiency  round trip: energy out / energy in summed over completed
 *               full-to-full cycles, which begin and end with the same
 *               stored energy, so that the ratio is the battery's and not
 *               a change of its state of charge
 *   capacity    measured from full-to-empty runs (net Ah out) and
 *               empty-to-full runs (net Ah in), each checked before it
 *               counts; SOH = the last measurement / nominal_ah x 100
 *   resistance  R = dV/dI of the pack (mOhm; current positive while
 *               charging, so this is -dV/dI of the discharge current)
 *               over pairs of consecutive readings close in time whose
 *               current steps by at least a bound; the median of the
 *               last BMS_HEALTH_IR_K
 *   drift       each cell's deviation from the median of the pack's
 *               cells, averaged per day, and a least-squares trend of
 *               those daily means (mV per day) weighted by age (a
 *               half-life), with a confidence from the fit's t
 *               statistic; the weakest cell: the lowest relative to the
 *               pack while discharging at a low state of charge, else
 *               the lowest over the last day
 *
 * How "full" and "empty" are recognised, when a measurement is refused,
 * and every threshold with its default and the reason for it are in
 * bms-agg(1), LIFETIME ANALYTICS.
 *
 * Everything here is computation on caller-owned structs: no allocation
 * except in the caller's bms_buf, no I/O.  The state a --state file keeps
 * (bms_health_state, with state.h's bms_state_keys) holds every number
 * exactly, so that a stage restarted on it goes on as if it had never stopped.
 */
#ifndef BMS_HEALTH_H
#define BMS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reading.h"
#include "record.h"

#define BMS_HEALTH_IR_K 9		/* resistance steps the median is of */
#define BMS_HEALTH_DAY_MS INT64_C(86400000)

/* The settings; every one > 0 but nominal_ah and full_taper_a (the
 * caller checks what a user gives). */
struct bms_health_conf {
	double nominal_ah;		/* Ah; <= 0 unknown: no cycles, no SOH */
	double full_cell_v;		/* V: highest cell at or above: full ... */
	double empty_cell_v;		/* V: lowest cell at or below: empty ... */
	int64_t max_gap_ms;		/* ms: a longer gap is not integrated */
	double idle_a;			/* A: |current| at most this is idle */
	double full_taper_a;		/* A: ... while charging at most this;
					 * <= 0: 0.05 C of nominal_ah, or not
					 * checked when that is unknown */
	int64_t run_min_ms;		/* ms: a shorter capacity run is refused */
	double run_min_share;		/* of nominal_ah: a smaller one is refused */
	double run_reverse_share;	/* of the run's charge: more flowing the
					 * wrong way refuses it */
	double cycle_min_share;		/* of the reference capacity: a smaller
					 * full-to-full cycle is not counted */
	int64_t ir_max_dt_ms;		/* ms: readings further apart give no R */
	double ir_min_step_a;		/* A: a smaller current step gives no R */
	int64_t drift_bin_ms;		/* ms: the period of one drift point */
	long drift_bin_min;		/* readings a drift point needs */
	double drift_half_life_days;	/* days: weight of a drift point halves */
	double weak_soc_percent;	/* %: at most this is a low SOC ... */
	double weak_cell_v;		/* V: ... or, without SOC, the median
					 * cell at most this */
};

/* The defaults for LiFePO4, nominal capacity unknown (bms-agg(1)). */
void bms_health_conf_defaults(struct bms_health_conf *c);

/* Where a capacity run is. */
enum { BMS_HEALTH_RUN_NONE, BMS_HEALTH_RUN_FROM_FULL, BMS_HEALTH_RUN_FROM_EMPTY };

/* Why the last refused capacity run was refused. */
enum { BMS_HEALTH_REFUSED_NONE, BMS_HEALTH_REFUSED_GAP, BMS_HEALTH_REFUSED_SHORT,
       BMS_HEALTH_REFUSED_REVERSE, BMS_HEALTH_REFUSED_SMALL };

struct bms_health {
	int64_t n;			/* readings taken */
	int64_t first_ts, last_ts;	/* ms; set when n > 0 */
	/* The previous reading: */
	int prev_has_i, prev_has_p, prev_vsrc;	/* vsrc: 0 none, 1 cells, 2 pack */
	double prev_i, prev_p, prev_v;	/* A, W, V */
	/* Totals: */
	int has_q, has_e;		/* a segment was integrated */
	double q_in, q_out;		/* Ah */
	double e_in, e_out;		/* Wh */
	int64_t observed_ms;		/* ms integrated (bridged) */
	int64_t gaps, gap_ms;		/* gaps not bridged, their ms */
	/* The capacity run in progress: */
	int run;			/* BMS_HEALTH_RUN_* */
	int run_gap;			/* a gap fell in it */
	int run_low;			/* a full-to-empty run reached empty
					 * while still discharging: it ends
					 * where the discharge stops */
	int64_t run_ts;			/* ms: its start */
	double run_in, run_out;		/* Ah */
	/* Capacity measured: */
	int64_t cap_runs, cap_refused;
	int cap_why;			/* BMS_HEALTH_REFUSED_* of the last refusal */
	int cap_kind;			/* the last: RUN_FROM_FULL (discharge)
					 * or RUN_FROM_EMPTY (charge) */
	double cap_ah;			/* Ah; set when cap_runs > 0 */
	int64_t cap_ts;			/* ms: when it was measured */
	/* The full-to-full cycle in progress, and those completed: */
	int cyc_open, cyc_gap;
	double cyc_e_in, cyc_e_out, cyc_q_out;	/* Wh, Wh, Ah */
	int64_t eff_cycles;
	double eff_in, eff_out;		/* Wh over the completed cycles */
	/* Resistance: */
	int64_t ir_steps;		/* steps used, ever */
	int ir_n, ir_pos;		/* values in ir[], the next slot */
	double ir[BMS_HEALTH_IR_K];	/* mOhm, the latest steps */
	/* Cells: */
	int ncells;			/* the pack's cells; 0: none seen */
	int64_t origin_ms;		/* ms: day 0 of the drift points */
	int64_t bin;			/* the current bin's index */
	int64_t bin_n;			/* readings in it */
	double bin_x;			/* sum of their times, days from origin */
	double bin_dev[BMS_MAX_CELLS];	/* sum of each cell's deviation, V */
	int has_last_bin;
	double last_bin[BMS_MAX_CELLS];	/* mean deviation of the last bin, V */
	/* The age-weighted fit of the drift points (x in days, y in V): */
	int64_t fit_points;
	double fit_x;			/* x of the latest point */
	double fw, fx, fxx;		/* sum w, w x, w x^2 */
	double fv, fvx, fvxx;		/* sum w^2, w^2 x, w^2 x^2 */
	double fy[BMS_MAX_CELLS], fyy[BMS_MAX_CELLS], fxy[BMS_MAX_CELLS];
	/* Deviations while discharging at a low SOC, age-weighted: */
	int64_t weak_n;			/* readings */
	int64_t weak_ts;		/* ms: the latest */
	double weak_w;			/* sum of weights */
	double weak_dev[BMS_MAX_CELLS];	/* sum of weight x deviation, V */
};

/* An empty history. */
void bms_health_init(struct bms_health *h);

/* One reading of this battery, in time order (a reading older than the
 * last one is ignored). */
void bms_health_add(struct bms_health *h, const struct bms_health_conf *c,
		    int64_t ts_ms, const struct bms_reading *r);

/* What the analytics say now, as the record writes it: what cannot be
 * computed yet is flagged (cells 0, has_trend 0, weakest 0, resistance
 * NAN) and left out of the record. */
struct bms_health_trend {
	int cells;			/* cells in the arrays below; 0: none */
	int points;			/* drift points in the fit */
	int has_trend;			/* trend[] and conf[] computed */
	double dev_mv[BMS_MAX_CELLS];	/* mV: the latest bin's mean deviation */
	double trend[BMS_MAX_CELLS];	/* mV per day */
	double conf[BMS_MAX_CELLS];	/* 0..1 */
	int weakest;			/* 1-based; 0: none */
	int weakest_low;		/* 1: judged while discharging at a low SOC */
	double weakest_mv;		/* its deviation on that basis, mV */
	double resistance_mohm;		/* NAN: no step yet */
};
void bms_health_trend(const struct bms_health *h, struct bms_health_trend *t);

/*
 * Append one "health" record (no newline) to out: the envelope from
 * head (record.h, bms_record_head_raw), then the analytics, numbers with
 * bms_buf_num and the decimals bms-agg(1) states.
 */
void bms_health_json(const struct bms_health *h, const struct bms_health_conf *c,
		     const struct bms_record_head *head, struct bms_buf *out);

/*
 * State for --state: the JSON members ("k":v,... without braces or
 * newline) that let bms_health_state_load resume exactly.  Load takes a
 * whole JSON object line rec[0..len) holding them (and whatever else:
 * keys it does not know are ignored; the caller adds "bms_id" and
 * "kind"), and returns 0, or -1 with a one-line reason in err
 * ("health state: no q_in", "health state: ir: not an array of 9
 * numbers"), h then emptied.  The keys are this module's own (anomaly.h
 * has some of the same names): one record per module and battery.
 */
void bms_health_state(const struct bms_health *h, struct bms_buf *out);
int bms_health_state_load(struct bms_health *h, const char *rec, size_t len,
			  char *err, size_t errsz);

/* ==== Shared with anomaly.h ==== */

/* The median of v[0..n), n > 0 (n <= BMS_MAX_CELLS); v is not changed. */
double bms_health_median(const double *v, int n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Aggregation of readings over time buckets, and the aggregate record
 * (bms(7), share/schema/aggregate.schema.json) that summarises one.
 *
 * A bucket covers [start, start + period_ms) of one battery's readings,
 * start a multiple of period_ms counted from the epoch (times before 1970
 * included).  For each metric (pack voltage, current, power, SOC, the
 * lowest and highest cell, the coldest and warmest probe) it keeps how
 * many readings had it, their minimum, maximum and sum, and the value
 * and time of the latest of them; a reading without a metric adds to
 * the bucket's count only.  Two partial buckets of the same period and
 * start merge into the bucket of all their readings: counts and sums
 * add, extremes are kept, each metric's last value is the one with the
 * later time (on equal times the one merged in, as a reading added later
 * wins over an earlier one at the same time).
 *
 * The writer prints a bucket exactly as bms-store answers a tier query
 * and as bms-agg emits a window: the same bucket gives the same line.
 * A window (bms-agg, lib/window.h) says more than a tier does, with the
 * same fields first: each metric's standard deviation (BMS_AGG_STDDEV),
 * kept here as sums of the values shifted by the metric's first value
 * (so that a constant metric has exactly 0 and a long window loses no
 * digits to the mean), and the numbers of the lowest and the highest
 * cell.  The store's tiers keep neither: a bucket read back from a tier
 * row has them zero, and nothing the store prints uses them.
 *
 * Everything here is plain computation on caller-owned structs: no
 * allocation except in the caller's bms_buf, no I/O, no SQLite.
 */
#ifndef BMS_AGG_H
#define BMS_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reading.h"

#define BMS_AGG_MINUTE_MS INT64_C(60000)	/* ms */
#define BMS_AGG_HOUR_MS INT64_C(3600000)	/* ms */
#define BMS_AGG_DEC 4		/* decimals of the record's numbers, at most */

/* The metrics, in the order the record and the store's tiers list them. */
enum bms_agg_metric {
	BMS_AGG_VOLTAGE, BMS_AGG_CURRENT, BMS_AGG_POWER, BMS_AGG_SOC,
	BMS_AGG_CELL_MIN, BMS_AGG_CELL_MAX, BMS_AGG_TEMP_MIN, BMS_AGG_TEMP_MAX,
	BMS_AGG_NMETRICS
};

/* The record's name of each metric: "pack_voltage", ... */
extern const char *const bms_agg_metric_name[BMS_AGG_NMETRICS];

/* One metric of a bucket; n == 0: no reading had it (the rest unset). */
struct bms_agg_stat {
	long n;			/* readings that had the metric */
	double min, max, sum;	/* the metric's unit (V, A, W, %, degC) */
	double last;		/* the value of the latest of them */
	int64_t last_ts;	/* its time, ms since the epoch */
	double ref;		/* the first value: the shift of dsum and dsq */
	double dsum, dsq;	/* sum of (v - ref) and of (v - ref)^2 */
};

/* One bucket; n == 0: empty (start and the stats unset). */
struct bms_agg_bucket {
	int64_t period_ms;	/* ms, > 0 */
	int64_t start;		/* ms since the epoch, a multiple of period_ms */
	long n;			/* readings in it */
	int64_t last_ts;	/* the latest reading's time, ms */
	struct bms_agg_stat m[BMS_AGG_NMETRICS];
	int cell_low;		/* 1-based number of the cell at m[CELL_MIN].min */
	int cell_high;		/* and of the one at m[CELL_MAX].max; 0 unknown */
};

/* The metrics of one reading: bit i of have set when v[i] is there. */
struct bms_agg_point {
	unsigned have;
	double v[BMS_AGG_NMETRICS];
	int cell_lo, cell_hi;	/* 1-based numbers of the lowest and the highest
				 * cell (the first of equal ones); 0 no cells */
};

/* The start of the bucket of period_ms (> 0) holding ms: ms rounded down
 * to a multiple of period_ms, also before 1970 (-1 ms -> -period_ms). */
int64_t bms_agg_align(int64_t ms, int64_t period_ms);

/* The metrics of reading r into p: a field the reading lacks (or an
 * empty list of cells or probes) leaves its metrics out. */
void bms_agg_point(const struct bms_reading *r, struct bms_agg_point *p);

/* Empty b, for buckets of period_ms (> 0). */
void bms_agg_init(struct bms_agg_bucket *b, int64_t period_ms);

/*
 * Does a reading at ts fall outside b, which holds readings?  Then b is
 * complete for a stream in time order: the caller writes it out and
 * empties it (bms_agg_init) before adding the reading.  0 for an empty b.
 */
int bms_agg_outside(const struct bms_agg_bucket *b, int64_t ts);

/*
 * Add the reading r taken at ts (ms) to b, which is empty (it then starts
 * at the bucket of ts) or holds ts (bms_agg_outside is 0).  A reading at
 * the same time as the latest one so far becomes the latest.  The _point
 * form adds metrics already taken with bms_agg_point, for a reading that
 * feeds buckets of several periods.
 */
void bms_agg_add(struct bms_agg_bucket *b, int64_t ts, const struct bms_reading *r);
void bms_agg_add_point(struct bms_agg_bucket *b, int64_t ts, const struct bms_agg_point *p);

/*
 * Merge bucket from into into: both of the same period and, when both
 * hold readings, of the same start.  An empty from leaves into as it is;
 * an empty into becomes a copy of from.
 */
void bms_agg_merge(struct bms_agg_bucket *into, const struct bms_agg_bucket *from);

/*
 * One value v at ts into the metric x, as bms_agg_add_point adds each
 * metric of a point (for a statistic of a window that is no metric of
 * the tiers, such as the cell spread); and x merged with y, as
 * bms_agg_merge merges each metric.
 */
void bms_agg_stat_add(struct bms_agg_stat *x, double v, int64_t ts);
void bms_agg_stat_merge(struct bms_agg_stat *x, const struct bms_agg_stat *y);

/* The population standard deviation of x's values (n > 0); 0 for one. */
double bms_agg_stddev(const struct bms_agg_stat *x);

/*
 * The name of a period in the record: "1m", "1h", "15m", "1d", "36h",
 * "30s", "250ms" (the largest of d, h, m, s, ms that divides it).  out
 * holds at least BMS_AGG_PERIOD_LEN bytes; returns out.
 */
#define BMS_AGG_PERIOD_LEN 24
const char *bms_agg_period_name(int64_t period_ms, char *out);

/*
 * Append the aggregate record of b (holding readings) for battery bms_id
 * (id_len bytes, escaped as JSON) to out, without a newline:
 * type, bms_id, timestamp (the start), tenant when not NULL, period, n,
 * then for each metric a reading had {"min","max","mean","last"}, numbers
 * with at most BMS_AGG_DEC decimals (bms_buf_num), mean = sum / n.
 */
void bms_agg_json(const struct bms_agg_bucket *b, const char *bms_id, size_t id_len,
		  const char *tenant, struct bms_buf *out);

/*
 * The same record left open (no closing brace) for a writer that adds
 * fields after it (lib/window): flags BMS_AGG_STDDEV adds "stddev" after
 * "last" in each metric's object.  With flags 0 and a '}' appended it is
 * bms_agg_json's line.
 */
#define BMS_AGG_STDDEV 1u
void bms_agg_json_open(const struct bms_agg_bucket *b, const char *bms_id, size_t id_len,
		       const char *tenant, unsigned flags, struct bms_buf *out);

/* ,"name":{"min":..,"max":..,"mean":..,"last":..[,"stddev":..]} of x
 * (n > 0), the form of each metric in the record. */
void bms_agg_stat_json(const char *name, const struct bms_agg_stat *x, unsigned flags,
		       struct bms_buf *out);

/*
 * The same bucket as a row of bms-store's CSV (bms-store(1)): the header
 * names every column (timestamp, bms_id, period, n, then per metric its
 * min, max, mean and last); bms_agg_csv_tail appends the columns after
 * timestamp and bms_id, each after a comma, a metric no reading had as
 * empty fields.  The caller writes the first two (the battery quoted as
 * CSV needs).  No newline.
 */
void bms_agg_csv_header(struct bms_buf *out);
void bms_agg_csv_tail(const struct bms_agg_bucket *b, struct bms_buf *out);

#endif

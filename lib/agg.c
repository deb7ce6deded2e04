/* SPDX-License-Identifier: MIT */
/*
 * Buckets of readings and the aggregate record (see agg.h).  The store's
 * tiers (lib/storeput.c, lib/storeq.c) and bms-agg's windows both go
 * through here, so the numbers and the text of a record cannot drift
 * between them.  Workload: one bms_agg_add_point per reading and period,
 * a handful of comparisons and additions; a writer call per bucket.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "ts.h"

const char *const bms_agg_metric_name[BMS_AGG_NMETRICS] = {
	"pack_voltage", "pack_current", "pack_power", "soc_percent",
	"cell_voltage_min", "cell_voltage_max", "temperature_min", "temperature_max",
};

/* ==== Buckets ==== */

int64_t bms_agg_align(int64_t ms, int64_t period_ms)
{
	int64_t q;

	assert(period_ms > 0);
	q = ms / period_ms;
	if (ms % period_ms < 0)
		q--;
	return q * period_ms;
}

/* The lowest and highest of v[0..n), n > 0, and their indexes (the
 * first of equal ones). */
static void extremes(const double *v, int n, double *lo, double *hi, int *ilo, int *ihi)
{
	*lo = *hi = v[0];
	*ilo = *ihi = 0;
	for (int i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i], *ilo = i;
		if (v[i] > *hi)
			*hi = v[i], *ihi = i;
	}
}

void bms_agg_point(const struct bms_reading *r, struct bms_agg_point *p)
{
	unsigned have = 0;
	int lo = -1, hi = -1, tlo, thi;

	if (r->have & BMS_R_VOLTAGE)
		p->v[BMS_AGG_VOLTAGE] = r->pack_voltage, have |= 1u << BMS_AGG_VOLTAGE;
	if (r->have & BMS_R_CURRENT)
		p->v[BMS_AGG_CURRENT] = r->pack_current, have |= 1u << BMS_AGG_CURRENT;
	if (r->have & BMS_R_POWER)
		p->v[BMS_AGG_POWER] = r->pack_power, have |= 1u << BMS_AGG_POWER;
	if (r->have & BMS_R_SOC)
		p->v[BMS_AGG_SOC] = r->soc_percent, have |= 1u << BMS_AGG_SOC;
	if ((r->have & BMS_R_CELLS) && r->ncells > 0) {
		extremes(r->cells, r->ncells, &p->v[BMS_AGG_CELL_MIN], &p->v[BMS_AGG_CELL_MAX],
			 &lo, &hi);
		have |= 1u << BMS_AGG_CELL_MIN | 1u << BMS_AGG_CELL_MAX;
	}
	if ((r->have & BMS_R_TEMPS) && r->ntemps > 0) {
		extremes(r->temps, r->ntemps, &p->v[BMS_AGG_TEMP_MIN], &p->v[BMS_AGG_TEMP_MAX],
			 &tlo, &thi);
		have |= 1u << BMS_AGG_TEMP_MIN | 1u << BMS_AGG_TEMP_MAX;
	}
	p->have = have;
	p->cell_lo = lo + 1;
	p->cell_hi = hi + 1;
}

void bms_agg_init(struct bms_agg_bucket *b, int64_t period_ms)
{
	assert(period_ms > 0);
	memset(b, 0, sizeof *b);
	b->period_ms = period_ms;
}

int bms_agg_outside(const struct bms_agg_bucket *b, int64_t ts)
{
	return b->n > 0 && bms_agg_align(ts, b->period_ms) != b->start;
}

void bms_agg_stat_add(struct bms_agg_stat *x, double v, int64_t ts)
{
	double d;

	if (!x->n) {
		x->min = x->max = x->last = v;
		x->last_ts = ts;
		x->ref = v;
		x->sum = x->dsum = x->dsq = 0;
	} else {
		x->min = v < x->min ? v : x->min;
		x->max = v > x->max ? v : x->max;
		if (ts >= x->last_ts) {
			x->last = v;
			x->last_ts = ts;
		}
	}
	x->n++;
	x->sum += v;
	d = v - x->ref;
	x->dsum += d;
	x->dsq += d * d;
}

void bms_agg_stat_merge(struct bms_agg_stat *x, const struct bms_agg_stat *y)
{
	double delta;

	if (!y->n)
		return;
	if (!x->n) {
		*x = *y;
		return;
	}
	/* y's sums shifted from its first value to x's. */
	delta = y->ref - x->ref;
	x->dsq += y->dsq + 2 * delta * y->dsum + (double)y->n * delta * delta;
	x->dsum += y->dsum + (double)y->n * delta;
	x->n += y->n;
	x->min = y->min < x->min ? y->min : x->min;
	x->max = y->max > x->max ? y->max : x->max;
	x->sum += y->sum;
	if (y->last_ts >= x->last_ts) {
		x->last = y->last;
		x->last_ts = y->last_ts;
	}
}

double bms_agg_stddev(const struct bms_agg_stat *x)
{
	double n = (double)x->n, var;

	if (x->n <= 1)
		return 0;
	var = (x->dsq - x->dsum * x->dsum / n) / n;
	return var > 0 ? sqrt(var) : 0;
}

void bms_agg_add_point(struct bms_agg_bucket *b, int64_t ts, const struct bms_agg_point *p)
{
	assert(!bms_agg_outside(b, ts));
	if (!b->n) {
		int64_t period = b->period_ms;

		bms_agg_init(b, period);
		b->start = bms_agg_align(ts, period);
		b->last_ts = ts;
	}
	b->n++;
	if (ts > b->last_ts)
		b->last_ts = ts;
	if (p->have >> BMS_AGG_CELL_MIN & 1) {
		/* The first reading of the lowest (highest) value names its cell. */
		const struct bms_agg_stat *lo = &b->m[BMS_AGG_CELL_MIN], *hi = &b->m[BMS_AGG_CELL_MAX];

		if (!lo->n || p->v[BMS_AGG_CELL_MIN] < lo->min)
			b->cell_low = p->cell_lo;
		if (!hi->n || p->v[BMS_AGG_CELL_MAX] > hi->max)
			b->cell_high = p->cell_hi;
	}
	for (int m = 0; m < BMS_AGG_NMETRICS; m++)
		if (p->have >> m & 1)
			bms_agg_stat_add(&b->m[m], p->v[m], ts);
}

void bms_agg_add(struct bms_agg_bucket *b, int64_t ts, const struct bms_reading *r)
{
	struct bms_agg_point p;

	bms_agg_point(r, &p);
	bms_agg_add_point(b, ts, &p);
}

void bms_agg_merge(struct bms_agg_bucket *into, const struct bms_agg_bucket *from)
{
	assert(into->period_ms == from->period_ms);
	if (!from->n)
		return;
	if (!into->n) {
		*into = *from;
		return;
	}
	assert(into->start == from->start);
	into->n += from->n;
	if (from->last_ts > into->last_ts)
		into->last_ts = from->last_ts;
	{
		const struct bms_agg_stat *xl = &into->m[BMS_AGG_CELL_MIN], *yl = &from->m[BMS_AGG_CELL_MIN];
		const struct bms_agg_stat *xh = &into->m[BMS_AGG_CELL_MAX], *yh = &from->m[BMS_AGG_CELL_MAX];

		if (yl->n && (!xl->n || yl->min < xl->min))
			into->cell_low = from->cell_low;
		if (yh->n && (!xh->n || yh->max > xh->max))
			into->cell_high = from->cell_high;
	}
	for (int m = 0; m < BMS_AGG_NMETRICS; m++)
		bms_agg_stat_merge(&into->m[m], &from->m[m]);
}

/* ==== The record ==== */

const char *bms_agg_period_name(int64_t period_ms, char *out)
{
	static const struct { int64_t ms; const char *unit; } units[] = {
		{ 24 * BMS_AGG_HOUR_MS, "d" }, { BMS_AGG_HOUR_MS, "h" }, { BMS_AGG_MINUTE_MS, "m" }, { 1000, "s" }, { 1, "ms" },
	};
	size_t i = 0;

	assert(period_ms > 0);
	while (period_ms % units[i].ms != 0)
		i++;
	snprintf(out, BMS_AGG_PERIOD_LEN, "%" PRId64 "%s", period_ms / units[i].ms,
		 units[i].unit);
	return out;
}

static double mean(const struct bms_agg_stat *x)
{
	return x->n > 0 ? x->sum / (double)x->n : 0;
}

void bms_agg_stat_json(const char *name, const struct bms_agg_stat *x, unsigned flags,
		       struct bms_buf *out)
{
	bms_buf_printf(out, ",\"%s\":{\"min\":", name);
	bms_buf_num(out, x->min, BMS_AGG_DEC);
	bms_buf_puts(out, ",\"max\":");
	bms_buf_num(out, x->max, BMS_AGG_DEC);
	bms_buf_puts(out, ",\"mean\":");
	bms_buf_num(out, mean(x), BMS_AGG_DEC);
	bms_buf_puts(out, ",\"last\":");
	bms_buf_num(out, x->last, BMS_AGG_DEC);
	if (flags & BMS_AGG_STDDEV) {
		bms_buf_puts(out, ",\"stddev\":");
		bms_buf_num(out, bms_agg_stddev(x), BMS_AGG_DEC);
	}
	bms_buf_putc(out, '}');
}

void bms_agg_json_open(const struct bms_agg_bucket *b, const char *bms_id, size_t id_len,
		       const char *tenant, unsigned flags, struct bms_buf *out)
{
	char t[BMS_TS_LEN + 1], period[BMS_AGG_PERIOD_LEN];

	bms_ts_format_ms(b->start, t);
	bms_buf_puts(out, "{\"type\":\"aggregate\",\"bms_id\":");
	bms_buf_json_str(out, bms_id, id_len);
	bms_buf_puts(out, ",\"timestamp\":\"");
	bms_buf_add(out, t, BMS_TS_LEN);
	bms_buf_putc(out, '"');
	if (tenant) {
		bms_buf_puts(out, ",\"tenant\":");
		bms_buf_json_str(out, tenant, strlen(tenant));
	}
	bms_buf_printf(out, ",\"period\":\"%s\",\"n\":%ld",
		       bms_agg_period_name(b->period_ms, period), b->n);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++)
		if (b->m[m].n > 0)
			bms_agg_stat_json(bms_agg_metric_name[m], &b->m[m], flags, out);
}

void bms_agg_json(const struct bms_agg_bucket *b, const char *bms_id, size_t id_len,
		  const char *tenant, struct bms_buf *out)
{
	bms_agg_json_open(b, bms_id, id_len, tenant, 0, out);
	bms_buf_putc(out, '}');
}

void bms_agg_csv_header(struct bms_buf *out)
{
	bms_buf_puts(out, "timestamp,bms_id,period,n");
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		const char *k = bms_agg_metric_name[m];

		bms_buf_printf(out, ",%s_min,%s_max,%s_mean,%s_last", k, k, k, k);
	}
}

void bms_agg_csv_tail(const struct bms_agg_bucket *b, struct bms_buf *out)
{
	char period[BMS_AGG_PERIOD_LEN];

	bms_buf_printf(out, ",%s,%ld", bms_agg_period_name(b->period_ms, period), b->n);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		const struct bms_agg_stat *x = &b->m[m];
		double v[4] = { x->min, x->max, mean(x), x->last };

		for (int i = 0; i < 4; i++) {
			bms_buf_putc(out, ',');
			if (x->n > 0)
				bms_buf_num(out, v[i], BMS_AGG_DEC);
		}
	}
}

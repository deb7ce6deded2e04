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

/* The lowest and highest of v[0..n), n > 0. */
static void extremes(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

void bms_agg_point(const struct bms_reading *r, struct bms_agg_point *p)
{
	unsigned have = 0;

	if (r->have & BMS_R_VOLTAGE)
		p->v[BMS_AGG_VOLTAGE] = r->pack_voltage, have |= 1u << BMS_AGG_VOLTAGE;
	if (r->have & BMS_R_CURRENT)
		p->v[BMS_AGG_CURRENT] = r->pack_current, have |= 1u << BMS_AGG_CURRENT;
	if (r->have & BMS_R_POWER)
		p->v[BMS_AGG_POWER] = r->pack_power, have |= 1u << BMS_AGG_POWER;
	if (r->have & BMS_R_SOC)
		p->v[BMS_AGG_SOC] = r->soc_percent, have |= 1u << BMS_AGG_SOC;
	if ((r->have & BMS_R_CELLS) && r->ncells > 0) {
		extremes(r->cells, r->ncells, &p->v[BMS_AGG_CELL_MIN], &p->v[BMS_AGG_CELL_MAX]);
		have |= 1u << BMS_AGG_CELL_MIN | 1u << BMS_AGG_CELL_MAX;
	}
	if ((r->have & BMS_R_TEMPS) && r->ntemps > 0) {
		extremes(r->temps, r->ntemps, &p->v[BMS_AGG_TEMP_MIN], &p->v[BMS_AGG_TEMP_MAX]);
		have |= 1u << BMS_AGG_TEMP_MIN | 1u << BMS_AGG_TEMP_MAX;
	}
	p->have = have;
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
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		struct bms_agg_stat *x = &b->m[m];
		double v = p->v[m];

		if (!(p->have >> m & 1))
			continue;
		if (!x->n) {
			x->min = x->max = x->last = v;
			x->last_ts = ts;
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
	}
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
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		struct bms_agg_stat *x = &into->m[m];
		const struct bms_agg_stat *y = &from->m[m];

		if (!y->n)
			continue;
		if (!x->n) {
			*x = *y;
			continue;
		}
		x->n += y->n;
		x->min = y->min < x->min ? y->min : x->min;
		x->max = y->max > x->max ? y->max : x->max;
		x->sum += y->sum;
		if (y->last_ts >= x->last_ts) {
			x->last = y->last;
			x->last_ts = y->last_ts;
		}
	}
}

/* ==== The record ==== */

const char *bms_agg_period_name(int64_t period_ms, char *out)
{
	static const struct { int64_t ms; const char *unit; } units[] = {
		{ BMS_AGG_HOUR_MS, "h" }, { BMS_AGG_MINUTE_MS, "m" }, { 1000, "s" }, { 1, "ms" },
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

void bms_agg_json(const struct bms_agg_bucket *b, const char *bms_id, size_t id_len,
		  const char *tenant, struct bms_buf *out)
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
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		const struct bms_agg_stat *x = &b->m[m];

		if (x->n <= 0)
			continue;
		bms_buf_printf(out, ",\"%s\":{\"min\":", bms_agg_metric_name[m]);
		bms_buf_num(out, x->min, BMS_AGG_DEC);
		bms_buf_puts(out, ",\"max\":");
		bms_buf_num(out, x->max, BMS_AGG_DEC);
		bms_buf_puts(out, ",\"mean\":");
		bms_buf_num(out, mean(x), BMS_AGG_DEC);
		bms_buf_puts(out, ",\"last\":");
		bms_buf_num(out, x->last, BMS_AGG_DEC);
		bms_buf_putc(out, '}');
	}
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

/* SPDX-License-Identifier: MIT */
/*
 * Tumbling windows (see window.h).  Per reading and period: a walk over
 * the windows the interval from the last reading crosses (one, unless
 * the readings are farther apart than the period), a few multiplications
 * for the integral, and one bms_agg_add_point.  A set is a fixed struct:
 * memory grows with the batteries, never with the input.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "json.h"
#include "ts.h"
#include "window.h"

#define MS_PER_H 3.6e6

/* ==== Options ==== */

int bms_window_parse_list(struct bms_window_opts *o, const char *arg, char *err, size_t errsz)
{
	const char *s = arg;

	for (;;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char word[32];
		int64_t ms;
		int i;

		if (n == 0 || n >= sizeof word)
			return bms_err_set(err, errsz, "'%.*s' is not a duration", (int)(n < 31 ? n : 31), s);
		memcpy(word, s, n);
		word[n] = '\0';
		if (bms_config_duration(word, &ms) < 0)
			return bms_err_set(err, errsz, "'%s' is not a duration (such as 10s, 1m, 15m, 1h, 1d)",
					   word);
		if (ms < BMS_WINDOW_MIN_MS || ms > BMS_WINDOW_DAY_MS || BMS_WINDOW_DAY_MS % ms != 0)
			return bms_err_set(err, errsz, "'%s' does not divide a day into whole seconds "
					   "(windows are aligned to the clock: 10s, 1m, 15m, 1h, 1d ...)",
					   word);
		for (i = 0; i < o->n && o->period_ms[i] < ms; i++)
			;
		if (i == o->n || o->period_ms[i] != ms) {
			if (o->n == BMS_WINDOW_MAX)
				return bms_err_set(err, errsz, "more than %d windows", BMS_WINDOW_MAX);
			memmove(&o->period_ms[i + 1], &o->period_ms[i],
				sizeof o->period_ms[0] * (size_t)(o->n - i));
			o->period_ms[i] = ms;
			o->n++;
		}
		if (!e)
			return 0;
		s = e + 1;
	}
}

/* ==== Windows ==== */

static void reset(struct bms_window *w, int64_t period)
{
	memset(w, 0, sizeof *w);
	bms_agg_init(&w->b, period);
}

void bms_window_init(struct bms_window_set *s, const struct bms_window_opts *o)
{
	memset(s, 0, sizeof *s);
	for (int k = 0; k < o->n; k++)
		reset(&s->w[k], o->period_ms[k]);
}

static void open_at(struct bms_window *w, int64_t start)
{
	if (!w->open) {
		w->open = 1;
		w->start = start;
		w->b.start = start;
	}
}

/* Close w if it is open at another start than start. */
static void close_other(struct bms_window *w, int64_t start, bms_window_emit_fn emit, void *ctx)
{
	if (w->open && w->start != start) {
		emit(ctx, w, 1);
		reset(w, w->b.period_ms);
	}
}

/* The positive and negative areas (both >= 0) under a line from a to b
 * over dt. */
static void areas(double a, double b, double dt, double *pos, double *neg)
{
	if (a >= 0 && b >= 0) {
		*pos = (a + b) / 2 * dt;
		*neg = 0;
	} else if (a <= 0 && b <= 0) {
		*pos = 0;
		*neg = -(a + b) / 2 * dt;
	} else {
		double f = a / (a - b);		/* where the line crosses zero */

		if (a > 0) {
			*pos = a * f * dt / 2;
			*neg = -b * (1 - f) * dt / 2;
		} else {
			*neg = -a * f * dt / 2;
			*pos = b * (1 - f) * dt / 2;
		}
	}
}

/* The value at t of the line through (t0, v0) and (t1, v1). */
static double interp(int64_t t0, double v0, int64_t t1, double v1, int64_t t)
{
	if (t == t0)
		return v0;
	if (t == t1)
		return v1;
	return v0 + (v1 - v0) * (double)(t - t0) / (double)(t1 - t0);
}

/*
 * The interval from the last point a to b (at ts) through the windows of
 * period k: bridged (its integral split at the boundaries) or a gap.
 */
static void walk(struct bms_window_set *s, int k, const struct bms_window_point *a,
		 const struct bms_window_point *b, int gap, bms_window_emit_fn emit, void *ctx)
{
	struct bms_window *w = &s->w[k];
	int64_t period = w->b.period_ms, last = bms_agg_align(b->ts, period);

	for (int64_t t = a->ts; t < b->ts;) {
		int64_t ws = bms_agg_align(t, period);
		int64_t e = ws + period < b->ts ? ws + period : b->ts;
		struct bms_window_flow *f = &w->flow;
		double pos, neg;

		close_other(w, ws, emit, ctx);
		if (gap && !w->open && ws != last) {
			/* Windows wholly inside the gap are not written: on to
			 * the window of b at once, however long the gap. */
			t = last;
			continue;
		}
		if (gap) {
			open_at(w, ws);
			f->gap_ms += e - t;
			f->gaps++;
		} else {
			open_at(w, ws);
			f->covered_ms += e - t;
			if (a->has_p && b->has_p) {
				areas(interp(a->ts, a->p, b->ts, b->p, t),
				      interp(a->ts, a->p, b->ts, b->p, e), (double)(e - t), &pos, &neg);
				f->energy_in_wh += pos / MS_PER_H;
				f->energy_out_wh += neg / MS_PER_H;
			}
			if (a->has_i && b->has_i) {
				areas(interp(a->ts, a->i, b->ts, b->i, t),
				      interp(a->ts, a->i, b->ts, b->i, e), (double)(e - t), &pos, &neg);
				f->charge_in_ah += pos / MS_PER_H;
				f->charge_out_ah += neg / MS_PER_H;
			}
		}
		t = e;
	}
}

void bms_window_add(struct bms_window_set *s, const struct bms_window_opts *o, int64_t ts,
		    const struct bms_reading *r, bms_window_emit_fn emit, void *ctx)
{
	struct bms_window_point pt = { .ts = ts };
	struct bms_agg_point ap;

	if (r->have & BMS_R_POWER)
		pt.has_p = 1, pt.p = r->pack_power;
	else if ((r->have & BMS_R_VOLTAGE) && (r->have & BMS_R_CURRENT))
		pt.has_p = 1, pt.p = r->pack_voltage * r->pack_current;
	if (r->have & BMS_R_CURRENT)
		pt.has_i = 1, pt.i = r->pack_current;
	bms_agg_point(r, &ap);
	for (int k = 0; k < o->n; k++) {
		struct bms_window *w = &s->w[k];
		int64_t start = bms_agg_align(ts, o->period_ms[k]);

		if (s->has_prev)
			walk(s, k, &s->prev, &pt, ts - s->prev.ts > o->max_gap_ms, emit, ctx);
		close_other(w, start, emit, ctx);
		open_at(w, start);
		bms_agg_add_point(&w->b, ts, &ap);
		if (ap.have >> BMS_AGG_CELL_MIN & 1)
			bms_agg_stat_add(&w->spread, ap.v[BMS_AGG_CELL_MAX] - ap.v[BMS_AGG_CELL_MIN], ts);
	}
	s->prev = pt;
	s->has_prev = 1;
}

void bms_window_finish(struct bms_window_set *s, const struct bms_window_opts *o,
		       bms_window_emit_fn emit, void *ctx)
{
	for (int k = 0; k < o->n; k++)
		if (s->w[k].open) {
			emit(ctx, &s->w[k], 0);
			reset(&s->w[k], o->period_ms[k]);
		}
}

/* ==== The record ==== */

static void cell(struct bms_buf *out, const char *name, double v, int num)
{
	bms_buf_printf(out, ",\"%s\":{\"voltage\":", name);
	bms_buf_num(out, v, BMS_AGG_DEC);
	bms_buf_printf(out, ",\"cell\":%d}", num);
}

void bms_window_json(const struct bms_window *w, int complete, const char *bms_id,
		     size_t id_len, const char *tenant, struct bms_buf *out)
{
	const struct bms_agg_bucket *b = &w->b;
	const struct bms_window_flow *f = &w->flow;

	bms_agg_json_open(b, bms_id, id_len, tenant, BMS_AGG_STDDEV, out);
	if (b->m[BMS_AGG_CELL_MIN].n > 0) {
		cell(out, "cell_low", b->m[BMS_AGG_CELL_MIN].min, b->cell_low);
		cell(out, "cell_high", b->m[BMS_AGG_CELL_MAX].max, b->cell_high);
	}
	if (w->spread.n > 0)
		bms_agg_stat_json("cell_spread", &w->spread, BMS_AGG_STDDEV, out);
	bms_buf_puts(out, ",\"energy_in_wh\":");
	bms_buf_num(out, f->energy_in_wh, BMS_AGG_DEC);
	bms_buf_puts(out, ",\"energy_out_wh\":");
	bms_buf_num(out, f->energy_out_wh, BMS_AGG_DEC);
	bms_buf_puts(out, ",\"charge_in_ah\":");
	bms_buf_num(out, f->charge_in_ah, BMS_AGG_DEC);
	bms_buf_puts(out, ",\"charge_out_ah\":");
	bms_buf_num(out, f->charge_out_ah, BMS_AGG_DEC);
	bms_buf_printf(out, ",\"covered_ms\":%lld,\"gaps\":%ld,\"gap_ms\":%lld,\"complete\":%s}",
		       (long long)f->covered_ms, f->gaps, (long long)f->gap_ms,
		       complete ? "true" : "false");
}

/* ==== State ==== */

int bms_window_nums(const char *val, size_t len, double *v, int max)
{
	const char *pos = NULL, *el;
	size_t elen;
	int n = 0, rc;

	while ((rc = bms_json_array_next(val, len, &pos, &el, &elen)) == 1) {
		char tmp[64], *end;

		if (n == max || elen == 0 || elen >= sizeof tmp)
			return -1;
		memcpy(tmp, el, elen);
		tmp[elen] = '\0';
		errno = 0;
		v[n] = strtod(tmp, &end);
		if (*end || errno == ERANGE || !isfinite(v[n]) || !strchr("-0123456789", tmp[0]))
			return -1;
		n++;
	}
	return rc < 0 ? -1 : n;
}

static void stat_arr(struct bms_buf *out, const struct bms_agg_stat *x)
{
	const double v[] = { x->min, x->max, x->sum, x->last, (double)x->last_ts,
			     x->ref, x->dsum, x->dsq };

	bms_buf_printf(out, "[%ld", x->n);
	if (x->n > 0)
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			bms_buf_putc(out, ',');
			bms_buf_exact(out, v[i]);
		}
	bms_buf_putc(out, ']');
}

int bms_window_state_record(const struct bms_window_set *s, const struct bms_window_opts *o,
			    int i, void (*head)(void *ctx, const char *kind, struct bms_buf *out),
			    void *ctx, struct bms_buf *out)
{
	char period[BMS_AGG_PERIOD_LEN];
	const struct bms_window *w = NULL;
	int k;

	if (i == 0) {
		if (!s->has_prev)
			return 0;
		head(ctx, "point", out);
		bms_buf_printf(out, ",\"ts\":%lld,\"p\":", (long long)s->prev.ts);
		if (s->prev.has_p)
			bms_buf_exact(out, s->prev.p);
		else
			bms_buf_puts(out, "null");
		bms_buf_puts(out, ",\"i\":");
		if (s->prev.has_i)
			bms_buf_exact(out, s->prev.i);
		else
			bms_buf_puts(out, "null");
		bms_buf_putc(out, '}');
		return 1;
	}
	/* Record i >= 1: the i-th open window. */
	for (k = 0; k < o->n; k++)
		if (s->w[k].open && --i == 0) {
			w = &s->w[k];
			break;
		}
	if (!w)
		return 0;
	head(ctx, "window", out);
	bms_buf_printf(out, ",\"period\":\"%s\",\"start\":%lld,\"n\":%ld,\"last_ts\":%lld,"
		       "\"cells\":[%d,%d],\"m\":[",
		       bms_agg_period_name(w->b.period_ms, period), (long long)w->start, w->b.n,
		       (long long)w->b.last_ts, w->b.cell_low, w->b.cell_high);
	for (int m = 0; m < BMS_AGG_NMETRICS; m++) {
		if (m)
			bms_buf_putc(out, ',');
		stat_arr(out, &w->b.m[m]);
	}
	bms_buf_puts(out, "],\"spread\":");
	stat_arr(out, &w->spread);
	bms_buf_puts(out, ",\"flow\":[");
	bms_buf_exact(out, w->flow.energy_in_wh);
	bms_buf_putc(out, ',');
	bms_buf_exact(out, w->flow.energy_out_wh);
	bms_buf_putc(out, ',');
	bms_buf_exact(out, w->flow.charge_in_ah);
	bms_buf_putc(out, ',');
	bms_buf_exact(out, w->flow.charge_out_ah);
	bms_buf_printf(out, ",%lld,%lld,%ld]}", (long long)w->flow.covered_ms,
		       (long long)w->flow.gap_ms, w->flow.gaps);
	return 1;
}

/* A whole number of at most 2^53 in magnitude from a number span. */
static int whole(const struct bms_json_field *f, int64_t *v)
{
	double d;
	char tmp[40], *end;

	if (!f->val || f->len == 0 || f->len >= sizeof tmp)
		return -1;
	memcpy(tmp, f->val, f->len);
	tmp[f->len] = '\0';
	errno = 0;
	d = strtod(tmp, &end);
	if (*end || errno || d != floor(d) || fabs(d) > 9007199254740992.0)
		return -1;
	*v = (int64_t)d;
	return 0;
}

static int load_stat(const char *val, size_t len, struct bms_agg_stat *x)
{
	double v[9];
	int n = bms_window_nums(val, len, v, 9);

	memset(x, 0, sizeof *x);
	if (n == 1 && v[0] == 0)
		return 0;
	if (n != 9 || v[0] < 1 || v[0] != floor(v[0]) || v[0] > 1e15)
		return -1;
	x->n = (long)v[0];
	x->min = v[1], x->max = v[2], x->sum = v[3], x->last = v[4];
	x->last_ts = (int64_t)v[5];
	x->ref = v[6], x->dsum = v[7], x->dsq = v[8];
	return 0;
}

enum { L_KIND, L_TS, L_P, L_I, L_PERIOD, L_START, L_N, L_LAST, L_CELLS, L_M, L_SPREAD,
       L_FLOW, L_COUNT };

/* A number span, or null: 1 a number in *v, 0 null or absent, -1 bad. */
static int num_or_null(const struct bms_json_field *f, double *v)
{
	char tmp[48], *end;

	if (!f->val || (f->len == 4 && !memcmp(f->val, "null", 4)))
		return 0;
	if (f->len == 0 || f->len >= sizeof tmp)
		return -1;
	memcpy(tmp, f->val, f->len);
	tmp[f->len] = '\0';
	errno = 0;
	*v = strtod(tmp, &end);
	return *end || errno || !isfinite(*v) ? -1 : 1;
}

static int load_point(struct bms_window_set *s, struct bms_json_field *f, char *err, size_t errsz)
{
	int p, i;

	memset(&s->prev, 0, sizeof s->prev);
	if (whole(&f[L_TS], &s->prev.ts) < 0)
		return bms_err_set(err, errsz, "point: bad \"ts\"");
	if ((p = num_or_null(&f[L_P], &s->prev.p)) < 0 || (i = num_or_null(&f[L_I], &s->prev.i)) < 0)
		return bms_err_set(err, errsz, "point: bad \"p\" or \"i\"");
	s->prev.has_p = p;
	s->prev.has_i = i;
	s->has_prev = 1;
	return 0;
}

static int load_win(struct bms_window_set *s, const struct bms_window_opts *o,
		    struct bms_json_field *f, int *dropped, char *err, size_t errsz)
{
	struct bms_window w;
	char period[32];
	int64_t ms, n, last;
	double cells[2], flow[7];
	const char *pos = NULL, *el;
	size_t elen;
	int k, m = 0, rc;

	if (!f[L_PERIOD].val || bms_json_str_copy(f[L_PERIOD].val, f[L_PERIOD].len, period,
						    sizeof period) < 0 ||
	    bms_config_duration(period, &ms) < 0 || ms <= 0)
		return bms_err_set(err, errsz, "window: bad \"period\"");
	for (k = 0; k < o->n && o->period_ms[k] != ms; k++)
		;
	if (k == o->n) {
		*dropped = 1;
		return 0;
	}
	reset(&w, ms);
	if (whole(&f[L_START], &w.start) < 0 || bms_agg_align(w.start, ms) != w.start)
		return bms_err_set(err, errsz, "window: bad \"start\"");
	if (whole(&f[L_N], &n) < 0 || n < 0 || whole(&f[L_LAST], &last) < 0)
		return bms_err_set(err, errsz, "window: bad \"n\" or \"last_ts\"");
	w.open = 1;
	w.b.start = w.start;
	w.b.n = (long)n;
	w.b.last_ts = last;
	if (!f[L_CELLS].val || bms_window_nums(f[L_CELLS].val, f[L_CELLS].len, cells, 2) != 2)
		return bms_err_set(err, errsz, "window: bad \"cells\"");
	w.b.cell_low = (int)cells[0];
	w.b.cell_high = (int)cells[1];
	if (!f[L_M].val)
		return bms_err_set(err, errsz, "window: no \"m\"");
	while ((rc = bms_json_array_next(f[L_M].val, f[L_M].len, &pos, &el, &elen)) == 1) {
		if (m == BMS_AGG_NMETRICS || load_stat(el, elen, &w.b.m[m]) < 0)
			return bms_err_set(err, errsz, "window: bad metric %d", m + 1);
		m++;
	}
	if (rc < 0 || m != BMS_AGG_NMETRICS)
		return bms_err_set(err, errsz, "window: bad \"m\"");
	if (!f[L_SPREAD].val || load_stat(f[L_SPREAD].val, f[L_SPREAD].len, &w.spread) < 0)
		return bms_err_set(err, errsz, "window: bad \"spread\"");
	if (!f[L_FLOW].val || bms_window_nums(f[L_FLOW].val, f[L_FLOW].len, flow, 7) != 7)
		return bms_err_set(err, errsz, "window: bad \"flow\"");
	w.flow.energy_in_wh = flow[0];
	w.flow.energy_out_wh = flow[1];
	w.flow.charge_in_ah = flow[2];
	w.flow.charge_out_ah = flow[3];
	w.flow.covered_ms = (int64_t)flow[4];
	w.flow.gap_ms = (int64_t)flow[5];
	w.flow.gaps = (long)flow[6];
	s->w[k] = w;
	return 0;
}

int bms_window_state_load(struct bms_window_set *s, const struct bms_window_opts *o,
			  const char *rec, size_t len, int *dropped, char *err, size_t errsz)
{
	struct bms_json_field f[L_COUNT] = {
		[L_KIND] = { .key = "kind" }, [L_TS] = { .key = "ts" }, [L_P] = { .key = "p" },
		[L_I] = { .key = "i" }, [L_PERIOD] = { .key = "period" },
		[L_START] = { .key = "start" }, [L_N] = { .key = "n" },
		[L_LAST] = { .key = "last_ts" }, [L_CELLS] = { .key = "cells" },
		[L_M] = { .key = "m" }, [L_SPREAD] = { .key = "spread" },
		[L_FLOW] = { .key = "flow" },
	};
	struct bms_json_err je;

	*dropped = 0;
	if (bms_json_scan(rec, len, f, L_COUNT, &je) < 0)
		return bms_err_set(err, errsz, "%s at byte %zu", je.what, je.at + 1);
	if (f[L_KIND].val && bms_json_str_eq(f[L_KIND].val, f[L_KIND].len, "point"))
		return load_point(s, f, err, errsz);
	if (f[L_KIND].val && bms_json_str_eq(f[L_KIND].val, f[L_KIND].len, "window"))
		return load_win(s, o, f, dropped, err, errsz);
	return bms_err_set(err, errsz, "not a point or window record");
}

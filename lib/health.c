/* SPDX-License-Identifier: MIT */
/*
 * Lifetime analytics of one battery (see health.h; the definitions are
 * bms-agg(1), LIFETIME ANALYTICS).  Workload: one bms_health_add per
 * reading, a few dozen operations plus a sort of the cells for their
 * median; one bms_health_json per record written, which also fits the
 * drift trends (a few operations per cell).  Memory: the struct, fixed.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "err.h"
#include "health.h"
#include "state.h"
#include "ts.h"

void bms_health_conf_defaults(struct bms_health_conf *c)
{
	memset(c, 0, sizeof *c);
	c->nominal_ah = 0;
	c->full_cell_v = 3.55;
	c->empty_cell_v = 2.90;
	c->max_gap_ms = 60000;
	c->idle_a = 1.0;
	c->full_taper_a = 0;
	c->run_min_ms = 30 * 60000;
	c->run_min_share = 0.5;
	c->run_reverse_share = 0.1;
	c->cycle_min_share = 0.5;
	c->ir_max_dt_ms = 5000;
	c->ir_min_step_a = 10;
	c->drift_bin_ms = BMS_HEALTH_DAY_MS;
	c->drift_bin_min = 10;
	c->drift_half_life_days = 7;
	c->weak_soc_percent = 30;
	c->weak_cell_v = 3.20;
}

void bms_health_init(struct bms_health *h)
{
	memset(h, 0, sizeof *h);
}

/* ==== Helpers ==== */

double bms_health_median(const double *v, int n)
{
	double s[BMS_MAX_CELLS];

	assert(n > 0 && n <= BMS_MAX_CELLS);
	for (int i = 0; i < n; i++) {		/* insertion sort: n <= 48 */
		double x = v[i];
		int j = i;

		for (; j > 0 && s[j - 1] > x; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/*
 * The area under the straight line from a to b over dt, split into the
 * part above zero (*pos) and the magnitude of the part below (*neg).
 */
static void trapezoid(double a, double b, double dt, double *pos, double *neg)
{
	*pos = *neg = 0;
	if (a >= 0 && b >= 0)
		*pos = (a + b) / 2 * dt;
	else if (a <= 0 && b <= 0)
		*neg = -(a + b) / 2 * dt;
	else {
		double tc = a / (a - b) * dt;	/* where the line crosses zero */

		if (a > 0) {
			*pos = a * tc / 2;
			*neg = -b * (dt - tc) / 2;
		} else {
			*neg = -a * tc / 2;
			*pos = b * (dt - tc) / 2;
		}
	}
}

static int has_cells(const struct bms_reading *r)
{
	return (r->have & BMS_R_CELLS) && r->ncells > 0 && r->ncells <= BMS_MAX_CELLS;
}

static void cell_range(const struct bms_reading *r, double *lo, double *hi, double *sum)
{
	*lo = *hi = *sum = r->cells[0];
	for (int i = 1; i < r->ncells; i++) {
		*lo = r->cells[i] < *lo ? r->cells[i] : *lo;
		*hi = r->cells[i] > *hi ? r->cells[i] : *hi;
		*sum += r->cells[i];
	}
}

/* The current at or below which a charge counts as tapered; 0: none. */
static double taper_a(const struct bms_health_conf *c)
{
	if (c->full_taper_a > 0)
		return c->full_taper_a;
	return c->nominal_ah > 0 ? 0.05 * c->nominal_ah : 0;
}

static int is_full(const struct bms_health_conf *c, const struct bms_reading *r)
{
	double lo, hi, sum, tap = taper_a(c);

	if ((r->have & BMS_R_SOC) && r->soc_percent >= 100)
		return 1;
	if (!has_cells(r) || !(r->have & BMS_R_CURRENT))
		return 0;
	cell_range(r, &lo, &hi, &sum);
	return hi >= c->full_cell_v && r->pack_current >= -c->idle_a &&
	       (tap <= 0 || r->pack_current <= tap);
}

static int is_empty(const struct bms_health_conf *c, const struct bms_reading *r)
{
	double lo, hi, sum;

	if ((r->have & BMS_R_SOC) && r->soc_percent <= 0)
		return 1;
	if (!has_cells(r) || !(r->have & BMS_R_CURRENT))
		return 0;
	cell_range(r, &lo, &hi, &sum);
	return lo <= c->empty_cell_v && r->pack_current <= c->idle_a;
}

/* ==== Capacity runs and cycles ==== */

static void run_start(struct bms_health *h, int kind, int64_t ts)
{
	h->run = kind;
	h->run_gap = 0;
	h->run_low = 0;
	h->run_ts = ts;
	h->run_in = h->run_out = 0;
}

static void run_finish(struct bms_health *h, const struct bms_health_conf *c, int64_t ts)
{
	int discharge = h->run == BMS_HEALTH_RUN_FROM_FULL;
	double with = discharge ? h->run_out : h->run_in;
	double against = discharge ? h->run_in : h->run_out;
	double net = with - against;
	int why = BMS_HEALTH_REFUSED_NONE;

	if (h->run_gap)
		why = BMS_HEALTH_REFUSED_GAP;
	else if (ts - h->run_ts < c->run_min_ms)
		why = BMS_HEALTH_REFUSED_SHORT;
	else if (against > c->run_reverse_share * with)
		why = BMS_HEALTH_REFUSED_REVERSE;
	else if (net <= 0 || (c->nominal_ah > 0 && net < c->run_min_share * c->nominal_ah))
		why = BMS_HEALTH_REFUSED_SMALL;
	if (why != BMS_HEALTH_REFUSED_NONE) {
		h->cap_refused++;
		h->cap_why = why;
		return;
	}
	h->cap_runs++;
	h->cap_kind = h->run;
	h->cap_ah = net;
	h->cap_ts = ts;
}

/* The capacity full-to-full cycles are judged against: nominal, else the
 * last measured one; 0: none known. */
static double ref_capacity(const struct bms_health *h, const struct bms_health_conf *c)
{
	if (c->nominal_ah > 0)
		return c->nominal_ah;
	return h->cap_runs > 0 ? h->cap_ah : 0;
}

static void cycle_full(struct bms_health *h, const struct bms_health_conf *c)
{
	double ref = ref_capacity(h, c);

	if (h->cyc_open && !h->cyc_gap && ref > 0 && h->cyc_e_in > 0 &&
	    h->cyc_q_out >= c->cycle_min_share * ref) {
		h->eff_cycles++;
		h->eff_in += h->cyc_e_in;
		h->eff_out += h->cyc_e_out;
	}
	h->cyc_open = 1;
	h->cyc_gap = 0;
	h->cyc_e_in = h->cyc_e_out = h->cyc_q_out = 0;
}

/* ==== Cells ==== */

static void cells_reset(struct bms_health *h, int ncells, int64_t ts,
			const struct bms_health_conf *c)
{
	int64_t bin = c->drift_bin_ms > 0 ? c->drift_bin_ms : BMS_HEALTH_DAY_MS;

	h->ncells = ncells;
	h->origin_ms = bms_agg_align(ts, bin);
	h->bin = 0;
	h->bin_n = 0;
	h->bin_x = 0;
	h->has_last_bin = 0;
	h->fit_points = 0;
	h->fit_x = 0;
	h->fw = h->fx = h->fxx = h->fv = h->fvx = h->fvxx = 0;
	h->weak_n = 0;
	h->weak_ts = 0;
	h->weak_w = 0;
	memset(h->bin_dev, 0, sizeof h->bin_dev);
	memset(h->last_bin, 0, sizeof h->last_bin);
	memset(h->fy, 0, sizeof h->fy);
	memset(h->fyy, 0, sizeof h->fyy);
	memset(h->fxy, 0, sizeof h->fxy);
	memset(h->weak_dev, 0, sizeof h->weak_dev);
}

/* The bin in hand becomes a drift point (when it has readings enough). */
static void bin_close(struct bms_health *h, const struct bms_health_conf *c)
{
	double x, f;

	if (h->bin_n > 0 && h->bin_n >= (int64_t)c->drift_bin_min) {
		x = h->bin_x / (double)h->bin_n;
		if (h->fit_points > 0) {
			f = exp2(-(x - h->fit_x) / c->drift_half_life_days);
			h->fw *= f;
			h->fx *= f;
			h->fxx *= f;
			h->fv *= f * f;
			h->fvx *= f * f;
			h->fvxx *= f * f;
			for (int k = 0; k < h->ncells; k++) {
				h->fy[k] *= f;
				h->fyy[k] *= f;
				h->fxy[k] *= f;
			}
		}
		h->fit_points++;
		h->fit_x = x;
		h->fw += 1;
		h->fx += x;
		h->fxx += x * x;
		h->fv += 1;
		h->fvx += x;
		h->fvxx += x * x;
		for (int k = 0; k < h->ncells; k++) {
			double y = h->bin_dev[k] / (double)h->bin_n;

			h->last_bin[k] = y;
			h->fy[k] += y;
			h->fyy[k] += y * y;
			h->fxy[k] += x * y;
		}
		h->has_last_bin = 1;
	}
	h->bin_n = 0;
	h->bin_x = 0;
	memset(h->bin_dev, 0, sizeof h->bin_dev);
}

static void cells_add(struct bms_health *h, const struct bms_health_conf *c,
		      int64_t ts, const struct bms_reading *r)
{
	int64_t binms = c->drift_bin_ms > 0 ? c->drift_bin_ms : BMS_HEALTH_DAY_MS;
	int64_t bin;
	double med;
	int low;

	if (!has_cells(r) || r->ncells < 3)
		return;
	if (r->ncells != h->ncells)
		cells_reset(h, r->ncells, ts, c);
	bin = (bms_agg_align(ts, binms) - h->origin_ms) / binms;
	if (h->bin_n > 0 && bin != h->bin)
		bin_close(h, c);
	h->bin = bin;
	med = bms_health_median(r->cells, r->ncells);
	h->bin_n++;
	h->bin_x += (double)(ts - h->origin_ms) / (double)BMS_HEALTH_DAY_MS;
	for (int k = 0; k < r->ncells; k++)
		h->bin_dev[k] += r->cells[k] - med;

	/* Discharging at a low state of charge: where a weak cell shows. */
	if (!(r->have & BMS_R_CURRENT) || r->pack_current >= -c->idle_a)
		return;
	low = (r->have & BMS_R_SOC) ? r->soc_percent <= c->weak_soc_percent
				    : med <= c->weak_cell_v;
	if (!low)
		return;
	if (h->weak_n > 0) {
		double f = exp2(-(double)(ts - h->weak_ts) /
				(c->drift_half_life_days * (double)BMS_HEALTH_DAY_MS));

		h->weak_w *= f;
		for (int k = 0; k < h->ncells; k++)
			h->weak_dev[k] *= f;
	}
	h->weak_n++;
	h->weak_ts = ts;
	h->weak_w += 1;
	for (int k = 0; k < h->ncells; k++)
		h->weak_dev[k] += r->cells[k] - med;
}

/* ==== Adding a reading ==== */

void bms_health_add(struct bms_health *h, const struct bms_health_conf *c,
		    int64_t ts, const struct bms_reading *r)
{
	int has_i = (r->have & BMS_R_CURRENT) != 0;
	int has_p = (r->have & BMS_R_POWER) || (has_i && (r->have & BMS_R_VOLTAGE));
	double p = (r->have & BMS_R_POWER) ? r->pack_power : r->pack_voltage * r->pack_current;
	double v = 0, lo, hi;
	int vsrc = 0, full, empty;

	if (h->n > 0 && ts < h->last_ts)
		return;
	if (has_cells(r)) {
		cell_range(r, &lo, &hi, &v);
		vsrc = 1;
	} else if (r->have & BMS_R_VOLTAGE) {
		v = r->pack_voltage;
		vsrc = 2;
	}

	if (h->n == 0)
		h->first_ts = ts;
	else if (ts > h->last_ts) {
		int64_t dt = ts - h->last_ts;

		if (dt > c->max_gap_ms) {
			h->gaps++;
			h->gap_ms += dt;
			h->run_gap |= h->run != BMS_HEALTH_RUN_NONE;
			h->cyc_gap |= h->cyc_open;
		} else {
			double pos, neg, hours = (double)dt / 3600000.0;

			h->observed_ms += dt;
			if (has_i && h->prev_has_i) {
				trapezoid(h->prev_i, r->pack_current, hours, &pos, &neg);
				h->q_in += pos;
				h->q_out += neg;
				h->run_in += pos;
				h->run_out += neg;
				h->cyc_q_out += neg;
				h->has_q = 1;
			}
			if (has_p && h->prev_has_p) {
				trapezoid(h->prev_p, p, hours, &pos, &neg);
				h->e_in += pos;
				h->e_out += neg;
				h->cyc_e_in += pos;
				h->cyc_e_out += neg;
				h->has_e = 1;
			}
			/* A current step between readings close in time. */
			if (has_i && h->prev_has_i && vsrc && vsrc == h->prev_vsrc &&
			    dt <= c->ir_max_dt_ms &&
			    fabs(r->pack_current - h->prev_i) >= c->ir_min_step_a) {
				double mohm = (v - h->prev_v) / (r->pack_current - h->prev_i) * 1000;

				if (mohm > 0 && isfinite(mohm)) {
					h->ir[h->ir_pos] = mohm;
					h->ir_pos = (h->ir_pos + 1) % BMS_HEALTH_IR_K;
					if (h->ir_n < BMS_HEALTH_IR_K)
						h->ir_n++;
					h->ir_steps++;
				}
			}
		}
	}
	h->n++;
	h->last_ts = ts;
	h->prev_has_i = has_i;
	h->prev_i = has_i ? r->pack_current : 0;
	h->prev_has_p = has_p;
	h->prev_p = has_p ? p : 0;
	h->prev_vsrc = vsrc;
	h->prev_v = v;

	full = is_full(c, r);
	empty = is_empty(c, r);
	if (full && !empty) {
		if (h->run == BMS_HEALTH_RUN_FROM_EMPTY)
			run_finish(h, c, ts);
		run_start(h, BMS_HEALTH_RUN_FROM_FULL, ts);
		cycle_full(h, c);
	} else if (empty && !full && h->run == BMS_HEALTH_RUN_FROM_FULL && has_i &&
		   r->pack_current < -c->idle_a &&
		   !((r->have & BMS_R_SOC) && r->soc_percent <= 0)) {
		/* Empty, and the load still draws: the pack gives what it
		 * has until the BMS (or the owner) stops the discharge. */
		h->run_low = 1;
	} else if ((empty && !full) || (h->run_low && !(has_i && r->pack_current < -c->idle_a))) {
		if (h->run == BMS_HEALTH_RUN_FROM_FULL)
			run_finish(h, c, ts);
		run_start(h, BMS_HEALTH_RUN_FROM_EMPTY, ts);
	}
	cells_add(h, c, ts, r);
}

/* ==== What the analytics say ==== */

/* Confidence 0..1 of a slope with statistic t and df degrees of
 * freedom: 1 - 20 p, p its two-sided p-value (Student's t through a
 * normal approximation), so 0 unless p < 0.05. */
static double confidence(double t, double df)
{
	double z = fabs(t) * (1 - 1 / (4 * df)) / sqrt(1 + t * t / (2 * df));
	double p = erfc(z / sqrt(2.0));
	double conf = 1 - 20 * p;

	return conf > 0 ? conf : 0;
}

void bms_health_trend(const struct bms_health *h, struct bms_health_trend *t)
{
	const double *dev = NULL;
	double scale = 1000;	/* V -> mV */
	double best = 0;

	memset(t, 0, sizeof *t);
	t->resistance_mohm = h->ir_n > 0 ? bms_health_median(h->ir, h->ir_n) : NAN;
	if (h->ncells == 0)
		return;
	if (h->has_last_bin)
		dev = h->last_bin;
	else if (h->bin_n > 0)
		dev = h->bin_dev, scale /= (double)h->bin_n;
	if (!dev)
		return;
	t->cells = h->ncells;
	t->points = (int)(h->fit_points < 1000000 ? h->fit_points : 1000000);
	for (int k = 0; k < h->ncells; k++)
		t->dev_mv[k] = dev[k] * scale;

	if (h->fit_points >= 3 && h->fv > 0) {
		double w = h->fw, xm = h->fx / w;
		double sxx = h->fxx - h->fx * h->fx / w;
		double neff = w * w / h->fv;
		double vxx = h->fvxx - 2 * xm * h->fvx + xm * xm * h->fv;

		if (sxx > 0 && neff >= 3 && vxx > 0) {
			t->has_trend = 1;
			for (int k = 0; k < h->ncells; k++) {
				double sxy = h->fxy[k] - h->fx * h->fy[k] / w;
				double b = sxy / sxx;
				double rss = h->fyy[k] - h->fy[k] * h->fy[k] / w - b * sxy;
				double s2, se;

				rss = rss > 0 ? rss : 0;
				s2 = rss / w * neff / (neff - 2);
				se = sqrt(s2 * vxx) / sxx;
				t->trend[k] = b * 1000;
				if (se > 0)
					t->conf[k] = confidence(b / se, neff - 2);
				else
					t->conf[k] = b != 0 ? 1 : 0;
			}
		}
	}

	/* The weakest cell: lowest while discharging at a low SOC, else
	 * lowest on the latest bin; none when no cell is below the pack. */
	if (h->weak_n > 0 && h->weak_w > 0) {
		t->weakest_low = 1;
		for (int k = 0; k < h->ncells; k++)
			if (h->weak_dev[k] / h->weak_w * 1000 < best) {
				best = h->weak_dev[k] / h->weak_w * 1000;
				t->weakest = k + 1;
			}
	} else {
		for (int k = 0; k < h->ncells; k++)
			if (t->dev_mv[k] < best) {
				best = t->dev_mv[k];
				t->weakest = k + 1;
			}
	}
	t->weakest_mv = best;
}

static const char *refused_name(int why)
{
	switch (why) {
	case BMS_HEALTH_REFUSED_GAP: return "gap";
	case BMS_HEALTH_REFUSED_SHORT: return "too_short";
	case BMS_HEALTH_REFUSED_REVERSE: return "reverse_flow";
	case BMS_HEALTH_REFUSED_SMALL: return "too_small";
	default: return NULL;
	}
}

static void key(struct bms_buf *b, const char *k)
{
	bms_buf_puts(b, ",\"");
	bms_buf_puts(b, k);
	bms_buf_puts(b, "\":");
}

static void num(struct bms_buf *b, const char *k, double v, int dec)
{
	key(b, k);
	bms_buf_num(b, v, dec);
}

static void integer(struct bms_buf *b, const char *k, int64_t v)
{
	key(b, k);
	bms_buf_printf(b, "%" PRId64, v);
}

static void timestamp(struct bms_buf *b, const char *k, int64_t ms)
{
	char ts[BMS_TS_LEN + 1];

	bms_ts_format_ms(ms, ts);
	key(b, k);
	bms_buf_putc(b, '"');
	bms_buf_puts(b, ts);
	bms_buf_putc(b, '"');
}

static void array(struct bms_buf *b, const char *k, const double *v, int n, int dec)
{
	key(b, k);
	bms_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			bms_buf_putc(b, ',');
		bms_buf_num(b, v[i], dec);
	}
	bms_buf_putc(b, ']');
}

void bms_health_json(const struct bms_health *h, const struct bms_health_conf *c,
		     const struct bms_record_head *head, struct bms_buf *out)
{
	struct bms_health_trend t;
	const char *why;

	bms_record_head_raw(out, "health", head);
	bms_health_trend(h, &t);
	integer(out, "readings", h->n);
	if (h->n > 0)
		timestamp(out, "since", h->first_ts);
	num(out, "observed_s", (double)h->observed_ms / 1000, 3);
	integer(out, "gaps", h->gaps);
	num(out, "gap_s", (double)h->gap_ms / 1000, 3);
	if (h->has_q) {
		num(out, "charge_in_ah", h->q_in, 3);
		num(out, "charge_out_ah", h->q_out, 3);
	}
	if (h->has_e) {
		num(out, "energy_in_wh", h->e_in, 3);
		num(out, "energy_out_wh", h->e_out, 3);
	}
	if (c->nominal_ah > 0) {
		num(out, "nominal_ah", c->nominal_ah, 3);
		if (h->has_q)
			num(out, "equivalent_cycles", h->q_out / c->nominal_ah, 3);
	}
	integer(out, "efficiency_cycles", h->eff_cycles);
	if (h->eff_cycles > 0 && h->eff_in > 0)
		num(out, "round_trip_efficiency", h->eff_out / h->eff_in, 4);
	integer(out, "capacity_runs", h->cap_runs);
	integer(out, "capacity_refused", h->cap_refused);
	if ((why = refused_name(h->cap_why)) != NULL) {
		key(out, "capacity_refused_reason");
		bms_buf_printf(out, "\"%s\"", why);
	}
	if (h->cap_runs > 0) {
		num(out, "capacity_ah", h->cap_ah, 3);
		key(out, "capacity_kind");
		bms_buf_puts(out, h->cap_kind == BMS_HEALTH_RUN_FROM_FULL ? "\"discharge\""
									 : "\"charge\"");
		timestamp(out, "capacity_at", h->cap_ts);
		if (c->nominal_ah > 0)
			num(out, "soh_percent", h->cap_ah / c->nominal_ah * 100, 1);
	}
	integer(out, "resistance_steps", h->ir_steps);
	if (h->ir_n > 0)
		num(out, "resistance_mohm", t.resistance_mohm, 2);
	if (t.cells > 0) {
		integer(out, "cell_count", t.cells);
		if (t.weakest > 0) {
			integer(out, "weakest_cell", t.weakest);
			key(out, "weakest_basis");
			bms_buf_puts(out, t.weakest_low ? "\"low_discharge\"" : "\"latest_day\"");
			num(out, "weakest_deviation_mv", t.weakest_mv, 1);
			if (t.has_trend) {
				num(out, "weakest_trend_mv_per_day", t.trend[t.weakest - 1], 3);
				num(out, "weakest_trend_confidence", t.conf[t.weakest - 1], 2);
			}
		}
		integer(out, "drift_points", t.points);
		array(out, "cell_deviation_mv", t.dev_mv, t.cells, 1);
		if (t.has_trend) {
			array(out, "cell_trend_mv_per_day", t.trend, t.cells, 3);
			array(out, "cell_trend_confidence", t.conf, t.cells, 2);
		}
	}
	bms_buf_putc(out, '}');
}

/* ==== State records ==== */

static const char *const health_what = "health state";

#define HEALTH_NKEYS 72
#define K(name, t, field) { name, t, (void *)&(h)->field, 1, NULL }
#define KA(name, field, max, cnt) { name, 'a', (void *)(h)->field, max, cnt }

/* The members of h's state, in the order they load. */
static int health_keys(struct bms_health *h, struct bms_state_key *k)
{
	const struct bms_state_key keys[] = {
		K("n", 'l', n), K("first_ts", 'l', first_ts), K("last_ts", 'l', last_ts),
		K("prev_has_i", 'i', prev_has_i), K("prev_has_p", 'i', prev_has_p),
		K("prev_vsrc", 'i', prev_vsrc), K("prev_i", 'd', prev_i),
		K("prev_p", 'd', prev_p), K("prev_v", 'd', prev_v),
		K("has_q", 'i', has_q), K("has_e", 'i', has_e),
		K("q_in", 'd', q_in), K("q_out", 'd', q_out),
		K("e_in", 'd', e_in), K("e_out", 'd', e_out),
		K("observed_ms", 'l', observed_ms), K("gaps", 'l', gaps),
		K("gap_ms", 'l', gap_ms),
		K("run", 'i', run), K("run_gap", 'i', run_gap), K("run_low", 'i', run_low),
		K("run_ts", 'l', run_ts),
		K("run_in", 'd', run_in), K("run_out", 'd', run_out),
		K("cap_runs", 'l', cap_runs), K("cap_refused", 'l', cap_refused),
		K("cap_why", 'i', cap_why), K("cap_kind", 'i', cap_kind),
		K("cap_ah", 'd', cap_ah), K("cap_ts", 'l', cap_ts),
		K("cyc_open", 'i', cyc_open), K("cyc_gap", 'i', cyc_gap),
		K("cyc_e_in", 'd', cyc_e_in), K("cyc_e_out", 'd', cyc_e_out),
		K("cyc_q_out", 'd', cyc_q_out), K("eff_cycles", 'l', eff_cycles),
		K("eff_in", 'd', eff_in), K("eff_out", 'd', eff_out),
		K("ir_steps", 'l', ir_steps), K("ir_n", 'i', ir_n), K("ir_pos", 'i', ir_pos),
		KA("ir", ir, BMS_HEALTH_IR_K, &h->ir_n),
		K("ncells", 'i', ncells), K("origin_ms", 'l', origin_ms), K("bin", 'l', bin),
		K("bin_n", 'l', bin_n), K("bin_x", 'd', bin_x),
		KA("bin_dev", bin_dev, BMS_MAX_CELLS, &h->ncells),
		K("has_last_bin", 'i', has_last_bin),
		KA("last_bin", last_bin, BMS_MAX_CELLS, &h->ncells),
		K("fit_points", 'l', fit_points), K("fit_x", 'd', fit_x),
		K("fw", 'd', fw), K("fx", 'd', fx), K("fxx", 'd', fxx),
		K("fv", 'd', fv), K("fvx", 'd', fvx), K("fvxx", 'd', fvxx),
		KA("fy", fy, BMS_MAX_CELLS, &h->ncells),
		KA("fyy", fyy, BMS_MAX_CELLS, &h->ncells),
		KA("fxy", fxy, BMS_MAX_CELLS, &h->ncells),
		K("weak_n", 'l', weak_n), K("weak_ts", 'l', weak_ts), K("weak_w", 'd', weak_w),
		KA("weak_dev", weak_dev, BMS_MAX_CELLS, &h->ncells),
	};
	int n = (int)(sizeof keys / sizeof keys[0]);

	_Static_assert(sizeof keys / sizeof keys[0] <= HEALTH_NKEYS, "HEALTH_NKEYS");

	memcpy(k, keys, sizeof keys);
	return n;
}

#undef K
#undef KA

void bms_health_state(const struct bms_health *h, struct bms_buf *out)
{
	struct bms_state_key k[HEALTH_NKEYS];
	int n = health_keys((struct bms_health *)h, k);

	bms_state_keys_write(k, n, out);
}

int bms_health_state_load(struct bms_health *h, const char *rec, size_t len,
			  char *err, size_t errsz)
{
	struct bms_state_key k[HEALTH_NKEYS];
	int n;

	bms_health_init(h);
	n = health_keys(h, k);
	if (bms_state_keys_read(k, n, rec, len, health_what, err, errsz) < 0)
		goto bad;
	if (h->ir_n < 0 || h->ir_n > BMS_HEALTH_IR_K || h->ir_pos < 0 ||
	    h->ir_pos >= BMS_HEALTH_IR_K || h->ncells < 0 || h->ncells > BMS_MAX_CELLS ||
	    h->run < BMS_HEALTH_RUN_NONE || h->run > BMS_HEALTH_RUN_FROM_EMPTY ||
	    h->n < 0 || h->bin_n < 0) {
		bms_err_set(err, errsz, "%s: a count out of range", health_what);
		goto bad;
	}
	return 0;
bad:
	bms_health_init(h);
	return -1;
}

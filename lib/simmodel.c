/* SPDX-License-Identifier: MIT */
/*
 * Battery model of bms-sim (see simmodel.h).
 *
 * Cell i (0-based) reads
 *
 *	mV = OCV(chem, SOC) + I * R + spread[i mod 16]
 *
 * with OCV a piecewise-linear curve per chemistry, R = 56 mOhm*Ah divided
 * by the capacity (0.2 mOhm at 280 Ah) and a fixed spread that stands for
 * the capacity mismatch of real cells.  The spread is chosen so that the
 * defaults give the worked example exactly: OCV(LFP, 78.5 %) = 3328.5 mV,
 * plus 12.5 A * 0.2 mOhm = 2.5 mV, is a base of 3331 mV, and the spread is
 * the example's cells minus 3331.  Packs of more than 16 cells repeat the
 * pattern.
 *
 * Each cell holds capacity * soh / 100 Ah when full, a weak cell pct % of
 * that.  The same current flows through every cell, so each cell's SOC
 * moves by the same Ah, as a share of its own charge: a weak cell's
 * faster.  Every cell starts at the same SOC (and a host write sets them
 * all), so the cell that holds least (cell ref) is always the first to
 * be full and the first to be empty: its SOC is the pack's, and
 * remaining capacity is that SOC of its charge.  The current stops
 * (reads 0) when the pack is full and charging, empty and discharging,
 * when the host switched the MOSFET of that direction off, or when a
 * cell's open-circuit voltage (with its drift) passed its level-2 limit
 * in that direction.  A step of the model ends where the pack becomes
 * full or empty, and a SOC within 1e-9 % of 0 or 100 is taken as 0 or
 * 100, so a run at a constant current empties the pack at the moment
 * the Ah say.
 * Probes sit at 25 degC plus a fixed offset (27, 25, 26, 24, ...) and all
 * warm by 0.08 degC per ampere with a 30-minute lag, starting from 0.
 * A cycle is counted for every full pack's charge discharged.  The
 * workload is tiny: a few thousand floating-point operations per request.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chem.h"
#include "simmodel.h"

/* ==== Constants of the model ==== */

struct ocv_point {
	double soc;	/* % */
	double mv;	/* open-circuit cell voltage */
};

/* Open-circuit voltage against SOC, rising, from 0 to 100 %. */
static const struct ocv_point ocv_lfp[] = {
	{ 0, 2500 }, { 5, 2900 }, { 10, 3150 }, { 20, 3230 }, { 30, 3260 },
	{ 40, 3280 }, { 50, 3295 }, { 60, 3305 }, { 70, 3320 }, { 80, 3330 },
	{ 90, 3340 }, { 95, 3350 }, { 100, 3450 },
};
static const struct ocv_point ocv_nmc[] = {
	{ 0, 3000 }, { 5, 3300 }, { 10, 3450 }, { 20, 3550 }, { 30, 3620 },
	{ 40, 3680 }, { 50, 3740 }, { 60, 3820 }, { 70, 3900 }, { 80, 3980 },
	{ 90, 4070 }, { 100, 4180 },
};
static const struct ocv_point ocv_lto[] = {
	{ 0, 1800 }, { 5, 2050 }, { 10, 2150 }, { 20, 2220 }, { 30, 2260 },
	{ 40, 2290 }, { 50, 2320 }, { 60, 2350 }, { 70, 2390 }, { 80, 2440 },
	{ 90, 2500 }, { 100, 2650 },
};

/* mV each cell sits above the pack's base voltage (see the top). */
static const int cell_spread[16] = {
	7, 10, 5, 12, 4, 9, 11, 13, 6, 10, 8, 21, 2, 9, 11, 10,
};

/* degC each probe sits above the 25 degC ambient. */
static const int probe_offset[8] = { 2, 0, 1, -1, 3, 1, 0, 2 };

#define AMBIENT_C 25.0
#define R_MOHM_AH 56.0		/* cell resistance times capacity */
#define HEAT_C_PER_A 0.08	/* steady warming per ampere */
#define HEAT_TAU_S 1800.0	/* thermal lag */
#define MAX_STEP_S 60.0		/* longest integration step */
#define DIO_DEFAULT 0x02	/* DI2 set, as on most captured boards */
#define LIFE_START 0x5a		/* "BMS life" byte at time 0 */

/* ==== Configuration ==== */

void bms_simmodel_defaults(struct bms_simmodel_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->cells = 16;
	cfg->temps = 2;
	cfg->chem = BMS_SIMMODEL_LFP;
	cfg->capacity = 280.0;
	cfg->soc = 78.5;
	cfg->current = 12.5;
	cfg->cycles = 42;
	cfg->soh = 100.0;
}

static void limits_for(const struct bms_simmodel_cfg *cfg,
		       struct bms_simmodel_limits *l)
{
	static const struct {
		int high[2], low[2], nominal, balance;
	} chem[] = {
		[BMS_SIMMODEL_LFP] = { { 3550, 3650 }, { 2800, 2500 }, 3200, 3300 },
		[BMS_SIMMODEL_NMC] = { { 4150, 4200 }, { 3200, 3000 }, 3700, 3900 },
		[BMS_SIMMODEL_LTO] = { { 2750, 2850 }, { 1900, 1750 }, 2400, 2350 },
	};
	int c = cfg->chem;

	memset(l, 0, sizeof *l);
	for (int k = 0; k < 2; k++) {
		l->cell_high[k] = chem[c].high[k];
		l->cell_low[k] = chem[c].low[k];
		l->pack_high[k] = chem[c].high[k] * cfg->cells / 100;
		l->pack_low[k] = chem[c].low[k] * cfg->cells / 100;
	}
	l->chg_cur[0] = 0.50 * cfg->capacity;
	l->chg_cur[1] = 0.65 * cfg->capacity;
	l->dis_cur[0] = 0.60 * cfg->capacity;
	l->dis_cur[1] = 0.75 * cfg->capacity;
	l->chg_temp_high[0] = 55, l->chg_temp_high[1] = 60;
	l->chg_temp_low[0] = 0, l->chg_temp_low[1] = -5;
	l->dis_temp_high[0] = 60, l->dis_temp_high[1] = 65;
	l->dis_temp_low[0] = -20, l->dis_temp_low[1] = -25;
	l->cell_diff[0] = 300, l->cell_diff[1] = 500;
	l->temp_diff[0] = 10, l->temp_diff[1] = 15;
	l->soc_low[0] = 100, l->soc_low[1] = 50;
	l->balance_start = chem[c].balance;
	l->balance_diff = 15;
	l->nominal_mv = chem[c].nominal;
	l->sleep_s = 3600;
	l->mos_temp = 85;
}

void bms_simmodel_init(struct bms_simmodel *m, const struct bms_simmodel_cfg *cfg)
{
	const double full = cfg->capacity * (cfg->soh / 100.0);

	assert(cfg->cells >= 1 && cfg->cells <= BMS_SIMMODEL_MAX_CELLS);
	assert(cfg->temps >= 1 && cfg->temps <= BMS_SIMMODEL_MAX_TEMPS);
	assert(cfg->capacity > 0);
	assert(cfg->soh > 0 && cfg->soh <= 100);
	memset(m, 0, sizeof *m);
	m->cfg = *cfg;
	limits_for(cfg, &m->lim);
	for (int k = 0; k < cfg->cells; k++)
		m->cell_ah[k] = full;
	for (int w = 0; w < cfg->nweak; w++) {
		assert(cfg->weak[w].cell >= 1 && cfg->weak[w].cell <= cfg->cells);
		m->cell_ah[cfg->weak[w].cell - 1] = full * (cfg->weak[w].pct / 100.0);
	}
	for (int k = 1; k < cfg->cells; k++)
		if (m->cell_ah[k] < m->cell_ah[m->ref])
			m->ref = k;
	bms_simmodel_set_soc(m, cfg->soc);
	m->cycles = cfg->cycles;
	m->chg_mos = true;
	m->dis_mos = true;
}

void bms_simmodel_set_soc(struct bms_simmodel *m, double soc)
{
	m->soc = fmin(fmax(soc, 0.0), 100.0);
	for (int k = 0; k < m->cfg.cells; k++)
		m->cell_soc[k] = m->soc;
}

/* ==== Physics ==== */

static double ocv(enum bms_simmodel_chem chem, double soc)
{
	const struct ocv_point *p;
	size_t n;

	switch (chem) {
	case BMS_SIMMODEL_NMC:
		p = ocv_nmc, n = sizeof ocv_nmc / sizeof *ocv_nmc;
		break;
	case BMS_SIMMODEL_LTO:
		p = ocv_lto, n = sizeof ocv_lto / sizeof *ocv_lto;
		break;
	default:
		p = ocv_lfp, n = sizeof ocv_lfp / sizeof *ocv_lfp;
		break;
	}
	if (soc <= p[0].soc)
		return p[0].mv;
	for (size_t i = 1; i < n; i++)
		if (soc <= p[i].soc)
			return p[i - 1].mv + (soc - p[i - 1].soc) *
			       (p[i].mv - p[i - 1].mv) / (p[i].soc - p[i - 1].soc);
	return p[n - 1].mv;
}

/*
 * The current the profile (or the constant setting) asks for at model
 * time t; *left is how long it stays so (HUGE_VAL for a constant).
 */
static double current_set(const struct bms_simmodel_cfg *cfg, double t,
			  double *left)
{
	double total = 0, pos;

	if (cfg->nsteps == 0) {
		*left = HUGE_VAL;
		return cfg->current;
	}
	for (int i = 0; i < cfg->nsteps; i++)
		total += cfg->steps[i].seconds;
	pos = fmod(t, total);
	for (int i = 0;; i = (i + 1) % cfg->nsteps) {
		if (pos < cfg->steps[i].seconds - 1e-9) {
			*left = cfg->steps[i].seconds - pos;
			return cfg->steps[i].current;
		}
		pos -= cfg->steps[i].seconds;
		if (pos < 0)
			pos = 0;
	}
}

/* mV the drift of cell k (0-based) adds at model time t. */
static double drift_mv(const struct bms_simmodel_cfg *cfg, int k, double t)
{
	for (int d = 0; d < cfg->ndrift; d++)
		if (cfg->drift[d].cell == k + 1)
			return t > cfg->drift[d].start ?
			       cfg->drift[d].mv_per_h * (t - cfg->drift[d].start) / 3600.0 : 0.0;
	return 0.0;
}

/* The current that actually flows: the set one unless a limit stops it. */
static double current_flowing(const struct bms_simmodel *m, double set)
{
	double hi = 0, lo = 0;

	if (set == 0)
		return 0;
	/* Extremes of the open-circuit cells (no IR term: no feedback loop). */
	for (int k = 0; k < m->cfg.cells; k++) {
		double v = ocv(m->cfg.chem, m->cell_soc[k]) + cell_spread[k % 16] +
			   drift_mv(&m->cfg, k, m->t);

		if (k == 0 || v > hi)
			hi = v;
		if (k == 0 || v < lo)
			lo = v;
	}
	if (set > 0 && (m->soc >= 100.0 || !m->chg_mos || hi >= m->lim.cell_high[1]))
		return 0;
	if (set < 0 && (m->soc <= 0.0 || !m->dis_mos || lo <= m->lim.cell_low[1]))
		return 0;
	return set;
}

#define SOC_EPS 1e-9	/* % from 0 or 100 taken as empty or full */

void bms_simmodel_advance(struct bms_simmodel *m, double dt)
{
	const double end = m->t + dt;
	const double pack_ah = m->cell_ah[m->ref];

	if (!(dt > 0))
		return;
	while (dt > 1e-12) {
		double left, set = current_set(&m->cfg, m->t, &left);
		double i = current_flowing(m, set);
		double h = fmin(fmin(dt, left), MAX_STEP_S);
		double rate = i / 3600.0 / pack_ah * 100.0;	/* %/s of the pack */
		double target;

		/* End the step where the pack becomes full or empty. */
		if (rate > 0 && (100.0 - m->soc) / rate < h)
			h = (100.0 - m->soc) / rate;
		else if (rate < 0 && m->soc / -rate < h)
			h = m->soc / -rate;
		if (h < 1e-9)
			h = fmin(dt, 1e-9);
		for (int k = 0; k < m->cfg.cells; k++) {
			double v = m->cell_soc[k] + i / 3600.0 / m->cell_ah[k] * 100.0 * h;

			m->cell_soc[k] = fmin(fmax(v, 0.0), 100.0);
		}
		if (m->cell_soc[m->ref] < SOC_EPS)
			m->cell_soc[m->ref] = 0.0;
		else if (m->cell_soc[m->ref] > 100.0 - SOC_EPS)
			m->cell_soc[m->ref] = 100.0;
		m->soc = m->cell_soc[m->ref];
		if (i < 0) {
			m->dis_ah += -i * h / 3600.0;
			/* A full discharge from 100 to 0 % is one cycle, rounding aside. */
			while (m->dis_ah >= pack_ah * (1 - 1e-9)) {
				m->dis_ah = fmax(m->dis_ah - pack_ah, 0.0);
				m->cycles++;
			}
		}
		target = HEAT_C_PER_A * fabs(i);
		m->rise = target + (m->rise - target) * exp(-h / HEAT_TAU_S);
		m->t += h;
		dt -= h;
	}
	/* The steps' sum may be off by a rounding error: time is what was asked. */
	m->t = end;
}

/* ==== Snapshot ==== */

static void set_failures(const struct bms_simmodel *m,
			 struct bms_simmodel_snap *s)
{
	const struct bms_simmodel_limits *l = &m->lim;
	uint8_t *f = s->failure;
	long pack = s->pack_mv / 100;	/* 0.1 V */
	int soc = (int)lround(s->soc * 10);

	memset(f, 0, 8);
	for (int k = 0; k < 2; k++) {
		if (s->max_mv >= l->cell_high[k])
			f[0] |= (uint8_t)(0x01 << k);
		if (s->min_mv <= l->cell_low[k])
			f[0] |= (uint8_t)(0x04 << k);
		if (pack >= l->pack_high[k])
			f[0] |= (uint8_t)(0x10 << k);
		if (pack <= l->pack_low[k])
			f[0] |= (uint8_t)(0x40 << k);
		if (s->nlive > 0 && s->state == 1 && s->max_t >= l->chg_temp_high[k])
			f[1] |= (uint8_t)(0x01 << k);
		if (s->nlive > 0 && s->state == 1 && s->min_t <= l->chg_temp_low[k])
			f[1] |= (uint8_t)(0x04 << k);
		if (s->nlive > 0 && s->state == 2 && s->max_t >= l->dis_temp_high[k])
			f[1] |= (uint8_t)(0x10 << k);
		if (s->nlive > 0 && s->state == 2 && s->min_t <= l->dis_temp_low[k])
			f[1] |= (uint8_t)(0x40 << k);
		if (s->current >= l->chg_cur[k])
			f[2] |= (uint8_t)(0x01 << k);
		if (-s->current >= l->dis_cur[k])
			f[2] |= (uint8_t)(0x04 << k);
		if (soc <= l->soc_low[k])
			f[2] |= (uint8_t)(0x40 << k);
		if (s->max_mv - s->min_mv >= l->cell_diff[k])
			f[3] |= (uint8_t)(0x01 << k);
		if (s->nlive > 0 && s->max_t - s->min_t >= l->temp_diff[k])
			f[3] |= (uint8_t)(0x04 << k);
	}
}

static bool probe_dead(const struct bms_simmodel_cfg *cfg, int k, double t)
{
	for (int d = 0; d < cfg->ndead; d++)
		if (cfg->dead[d].probe == k + 1)
			return t >= cfg->dead[d].start;
	return false;
}

void bms_simmodel_snap(const struct bms_simmodel *m, struct bms_simmodel_snap *s)
{
	const struct bms_simmodel_cfg *c = &m->cfg;
	double left, set = current_set(c, m->t, &left);
	double i = current_flowing(m, set);
	double ir = i * (R_MOHM_AH / c->capacity);

	memset(s, 0, sizeof *s);
	s->ncells = c->cells;
	s->ntemps = c->temps;
	s->current = i;
	s->state = i >= 0.05 ? 1 : i <= -0.05 ? 2 : 0;
	s->soc = m->soc;
	s->remaining_ah = m->soc / 100.0 * m->cell_ah[m->ref];
	for (int k = 0; k < c->cells; k++) {
		double v = ocv(c->chem, m->cell_soc[k]) + ir + cell_spread[k % 16] +
			   drift_mv(c, k, m->t);
		int mv = v > 0 ? (int)lround(fmin(v, 65535.0)) : 0;

		s->cell_mv[k] = mv;
		s->pack_mv += mv;
		if (k == 0 || mv > s->max_mv)
			s->max_mv = mv, s->max_cell = k + 1;
		if (k == 0 || mv < s->min_mv)
			s->min_mv = mv, s->min_cell = k + 1;
	}
	for (int k = 0; k < c->temps; k++) {
		int t = (int)lround(AMBIENT_C + probe_offset[k % 8] + m->rise);

		s->temp_c[k] = t;
		if (probe_dead(c, k, m->t)) {
			s->dead |= UINT32_C(1) << k;
			continue;
		}
		if (s->nlive == 0 || t > s->max_t)
			s->max_t = t, s->max_t_id = k + 1;
		if (s->nlive == 0 || t < s->min_t)
			s->min_t = t, s->min_t_id = k + 1;
		s->nlive++;
	}
	if (s->state == 1)
		for (int k = 0; k < c->cells; k++)
			if (s->cell_mv[k] >= m->lim.balance_start &&
			    s->cell_mv[k] - s->min_mv > m->lim.balance_diff)
				s->balance |= (uint64_t)1 << k;
	s->cycles = m->cycles;
	s->chg_mos = m->chg_mos;
	s->dis_mos = m->dis_mos;
	s->charger = set > 0;
	s->load = set < 0;
	s->dio = DIO_DEFAULT;
	s->life = (uint8_t)((LIFE_START + (long)floor(m->t)) & 0xff);
	set_failures(m, s);
}

/* ==== Parsing ==== */

int bms_simmodel_chem_parse(const char *s, enum bms_simmodel_chem *chem)
{
	/* The names every stage takes (chem.h), on the model's curves. */
	switch (bms_chem_find(s, strlen(s))) {
	case BMS_CHEM_LFP: *chem = BMS_SIMMODEL_LFP; return 0;
	case BMS_CHEM_NMC: *chem = BMS_SIMMODEL_NMC; return 0;
	case BMS_CHEM_LTO: *chem = BMS_SIMMODEL_LTO; return 0;
	default: return -1;
	}
}

int bms_simmodel_profile_parse(const char *s, struct bms_simmodel_cfg *cfg,
			       char *err, size_t errsz)
{
	const char *p = s;
	int n = 0;

	for (;;) {
		char *end;
		double a, sec;

		if (n == BMS_SIMMODEL_MAX_STEPS) {
			snprintf(err, errsz, "more than %d steps",
				 BMS_SIMMODEL_MAX_STEPS);
			return -1;
		}
		a = strtod(p, &end);
		if (end == p || *end != ':' || !isfinite(a) || fabs(a) > 10000) {
			snprintf(err, errsz, "step %d: expected AMPS:SECONDS", n + 1);
			return -1;
		}
		p = end + 1;
		sec = strtod(p, &end);
		if (end == p || (*end != ',' && *end) || !isfinite(sec) ||
		    sec < 0.001 || sec > 1e9) {
			snprintf(err, errsz, "step %d: expected a duration of at least 0.001 s",
				 n + 1);
			return -1;
		}
		cfg->steps[n].current = a;
		cfg->steps[n].seconds = sec;
		n++;
		if (!*end)
			break;
		p = end + 1;
	}
	cfg->nsteps = n;
	return 0;
}

int bms_simmodel_time_parse(const char *s, double *t)
{
	char *end;

	/* Decimal seconds only: no hex, inf or nan. */
	if (!*s || strspn(s, "0123456789.eE+") != strlen(s))
		return -1;
	*t = strtod(s, &end);
	if (end == s || *end || !isfinite(*t) || *t < 0 || *t > 1e9)
		return -1;
	return 0;
}

/*
 * The 1-based number at the head of s, from 1 to 64, into *n; *rest
 * past it.  Returns 0, or -1 if there is none.
 */
static int parse_index(const char *s, int *n, const char **rest)
{
	long v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && p - s < 3)
		v = v * 10 + (*p++ - '0');
	if (p == s || v < 1 || v > 64 || (*p >= '0' && *p <= '9'))
		return -1;
	*n = (int)v;
	*rest = p;
	return 0;
}

/* A finite decimal number filling s[0..n) into *v: 0, or -1. */
static int parse_number(const char *s, size_t n, double *v)
{
	char b[64], *end;

	if (n == 0 || n >= sizeof b)
		return -1;
	memcpy(b, s, n);
	b[n] = '\0';
	if (strspn(b, "0123456789.eE+-") != n)
		return -1;
	*v = strtod(b, &end);
	return end == b || *end || !isfinite(*v) ? -1 : 0;
}

int bms_simmodel_weak_parse(const char *s, struct bms_simmodel_cfg *cfg,
			    char *err, size_t errsz)
{
	const char *p;
	double pct;
	int n, w;

	if (parse_index(s, &n, &p) < 0 || *p != ':' ||
	    parse_number(p + 1, strlen(p + 1), &pct) < 0) {
		snprintf(err, errsz, "expected CELL:PCT");
		return -1;
	}
	if (pct < 1 || pct > 100) {
		snprintf(err, errsz, "PCT must be a number from 1 to 100");
		return -1;
	}
	for (w = 0; w < cfg->nweak && cfg->weak[w].cell != n; w++)
		;
	if (w == BMS_SIMMODEL_MAX_CELLS) {
		snprintf(err, errsz, "more than %d cells", BMS_SIMMODEL_MAX_CELLS);
		return -1;
	}
	cfg->weak[w].cell = n;
	cfg->weak[w].pct = pct;
	if (w == cfg->nweak)
		cfg->nweak++;
	return 0;
}

/* "@START" or "" at s into *start (0 when absent): 0, or -1. */
static int parse_start(const char *s, double *start)
{
	*start = 0;
	if (!*s)
		return 0;
	return *s == '@' ? bms_simmodel_time_parse(s + 1, start) : -1;
}

int bms_simmodel_drift_parse(const char *s, struct bms_simmodel_cfg *cfg,
			     char *err, size_t errsz)
{
	const char *p, *at;
	double rate, start;
	int n, d;

	if (parse_index(s, &n, &p) < 0 || *p != ':') {
		snprintf(err, errsz, "expected CELL:MV_PER_HOUR[@START]");
		return -1;
	}
	p++;
	at = strchr(p, '@');
	if (parse_number(p, at ? (size_t)(at - p) : strlen(p), &rate) < 0 ||
	    fabs(rate) > 1e6) {
		snprintf(err, errsz, "MV_PER_HOUR must be a number from -1000000 to 1000000");
		return -1;
	}
	if (parse_start(at ? at : "", &start) < 0) {
		snprintf(err, errsz, "START must be model seconds from 0 to 1e9");
		return -1;
	}
	for (d = 0; d < cfg->ndrift && cfg->drift[d].cell != n; d++)
		;
	if (d == BMS_SIMMODEL_MAX_CELLS) {
		snprintf(err, errsz, "more than %d cells", BMS_SIMMODEL_MAX_CELLS);
		return -1;
	}
	cfg->drift[d].cell = n;
	cfg->drift[d].mv_per_h = rate;
	cfg->drift[d].start = start;
	if (d == cfg->ndrift)
		cfg->ndrift++;
	return 0;
}

int bms_simmodel_dead_parse(const char *s, struct bms_simmodel_cfg *cfg,
			    char *err, size_t errsz)
{
	const char *p;
	double start;
	int n, d;

	if (parse_index(s, &n, &p) < 0 || (*p && *p != '@')) {
		snprintf(err, errsz, "expected PROBE[@START]");
		return -1;
	}
	if (parse_start(p, &start) < 0) {
		snprintf(err, errsz, "START must be model seconds from 0 to 1e9");
		return -1;
	}
	for (d = 0; d < cfg->ndead && cfg->dead[d].probe != n; d++)
		;
	if (d == BMS_SIMMODEL_MAX_TEMPS) {
		snprintf(err, errsz, "more than %d probes", BMS_SIMMODEL_MAX_TEMPS);
		return -1;
	}
	cfg->dead[d].probe = n;
	cfg->dead[d].start = start;
	if (d == cfg->ndead)
		cfg->ndead++;
	return 0;
}

int bms_simmodel_check(const struct bms_simmodel_cfg *cfg, char *err, size_t errsz)
{
	for (int w = 0; w < cfg->nweak; w++)
		if (cfg->weak[w].cell > cfg->cells) {
			snprintf(err, errsz, "--weak-cell: cell %d of %d", cfg->weak[w].cell,
				 cfg->cells);
			return -1;
		}
	for (int d = 0; d < cfg->ndrift; d++)
		if (cfg->drift[d].cell > cfg->cells) {
			snprintf(err, errsz, "--drift-cell: cell %d of %d",
				 cfg->drift[d].cell, cfg->cells);
			return -1;
		}
	for (int d = 0; d < cfg->ndead; d++)
		if (cfg->dead[d].probe > cfg->temps) {
			snprintf(err, errsz, "--dead-probe: probe %d of %d",
				 cfg->dead[d].probe, cfg->temps);
			return -1;
		}
	return 0;
}

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
 * SOC integrates the current over model time and is clamped to 0..100 %;
 * the current stops (reads 0) when the pack is full and charging, empty
 * and discharging, when the host switched the MOSFET of that direction
 * off, or when a cell passed its level-2 limit in that direction.
 * Probes sit at 25 degC plus a fixed offset (27, 25, 26, 24, ...) and all
 * warm by 0.08 degC per ampere with a 30-minute lag, starting from 0.
 * A cycle is counted for every rated capacity discharged.  The workload is
 * tiny: a few hundred floating-point operations per request.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	assert(cfg->cells >= 1 && cfg->cells <= BMS_SIMMODEL_MAX_CELLS);
	assert(cfg->temps >= 1 && cfg->temps <= BMS_SIMMODEL_MAX_TEMPS);
	assert(cfg->capacity > 0);
	memset(m, 0, sizeof *m);
	m->cfg = *cfg;
	limits_for(cfg, &m->lim);
	m->soc = fmin(fmax(cfg->soc, 0.0), 100.0);
	m->cycles = cfg->cycles;
	m->chg_mos = true;
	m->dis_mos = true;
}

void bms_simmodel_set_soc(struct bms_simmodel *m, double soc)
{
	m->soc = fmin(fmax(soc, 0.0), 100.0);
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

/* The current that actually flows: the set one unless a limit stops it. */
static double current_flowing(const struct bms_simmodel *m, double set)
{
	double base = ocv(m->cfg.chem, m->soc);
	int hi = 0, lo = 0;

	/* Extremes of the open-circuit cells (no IR term: no feedback loop). */
	for (int i = 0; i < m->cfg.cells && i < 16; i++) {
		if (i == 0 || cell_spread[i] > hi)
			hi = cell_spread[i];
		if (i == 0 || cell_spread[i] < lo)
			lo = cell_spread[i];
	}
	if (set > 0 && (m->soc >= 100.0 || !m->chg_mos ||
			base + hi >= m->lim.cell_high[1]))
		return 0;
	if (set < 0 && (m->soc <= 0.0 || !m->dis_mos ||
			base + lo <= m->lim.cell_low[1]))
		return 0;
	return set;
}

void bms_simmodel_advance(struct bms_simmodel *m, double dt)
{
	const double cap = m->cfg.capacity;

	while (dt > 1e-12) {
		double left, set = current_set(&m->cfg, m->t, &left);
		double i = current_flowing(m, set);
		double h = fmin(fmin(dt, left), MAX_STEP_S);
		double rate = i / 3600.0 / cap * 100.0;	/* %/s */
		double target;

		/* End the step where the pack becomes full or empty. */
		if (rate > 0 && (100.0 - m->soc) / rate < h)
			h = (100.0 - m->soc) / rate;
		else if (rate < 0 && m->soc / -rate < h)
			h = m->soc / -rate;
		if (h < 1e-9)
			h = fmin(dt, 1e-9);
		m->soc = fmin(fmax(m->soc + rate * h, 0.0), 100.0);
		if (i < 0) {
			m->dis_ah += -i * h / 3600.0;
			/* A full discharge from 100 to 0 % is one cycle, rounding aside. */
			while (m->dis_ah >= cap * (1 - 1e-9)) {
				m->dis_ah = fmax(m->dis_ah - cap, 0.0);
				m->cycles++;
			}
		}
		target = HEAT_C_PER_A * fabs(i);
		m->rise = target + (m->rise - target) * exp(-h / HEAT_TAU_S);
		m->t += h;
		dt -= h;
	}
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
		if (s->state == 1 && s->max_t >= l->chg_temp_high[k])
			f[1] |= (uint8_t)(0x01 << k);
		if (s->state == 1 && s->min_t <= l->chg_temp_low[k])
			f[1] |= (uint8_t)(0x04 << k);
		if (s->state == 2 && s->max_t >= l->dis_temp_high[k])
			f[1] |= (uint8_t)(0x10 << k);
		if (s->state == 2 && s->min_t <= l->dis_temp_low[k])
			f[1] |= (uint8_t)(0x40 << k);
		if (s->current >= l->chg_cur[k])
			f[2] |= (uint8_t)(0x01 << k);
		if (-s->current >= l->dis_cur[k])
			f[2] |= (uint8_t)(0x04 << k);
		if (soc <= l->soc_low[k])
			f[2] |= (uint8_t)(0x40 << k);
		if (s->max_mv - s->min_mv >= l->cell_diff[k])
			f[3] |= (uint8_t)(0x01 << k);
		if (s->max_t - s->min_t >= l->temp_diff[k])
			f[3] |= (uint8_t)(0x04 << k);
	}
}

void bms_simmodel_snap(const struct bms_simmodel *m, struct bms_simmodel_snap *s)
{
	const struct bms_simmodel_cfg *c = &m->cfg;
	double left, set = current_set(c, m->t, &left);
	double i = current_flowing(m, set);
	double base = ocv(c->chem, m->soc) + i * (R_MOHM_AH / c->capacity);

	memset(s, 0, sizeof *s);
	s->ncells = c->cells;
	s->ntemps = c->temps;
	s->current = i;
	s->state = i >= 0.05 ? 1 : i <= -0.05 ? 2 : 0;
	s->soc = m->soc;
	s->remaining_ah = m->soc / 100.0 * c->capacity;
	for (int k = 0; k < c->cells; k++) {
		int mv = (int)lround(base + cell_spread[k % 16]);

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
		if (k == 0 || t > s->max_t)
			s->max_t = t, s->max_t_id = k + 1;
		if (k == 0 || t < s->min_t)
			s->min_t = t, s->min_t_id = k + 1;
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
	if (strcmp(s, "lfp") == 0)
		*chem = BMS_SIMMODEL_LFP;
	else if (strcmp(s, "nmc") == 0)
		*chem = BMS_SIMMODEL_NMC;
	else if (strcmp(s, "lto") == 0)
		*chem = BMS_SIMMODEL_LTO;
	else
		return -1;
	return 0;
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

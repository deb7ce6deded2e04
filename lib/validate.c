/* SPDX-License-Identifier: MIT */
/*
 * Reading validation (see validate.h).  The workload is a stream of
 * readings, mostly good: one parse per line, a few comparisons per
 * field, a hash of the line's bytes, and an append to the line's own
 * bytes.  Batteries live in an open-addressing table of pointers keyed
 * by tenant and bms_id; each is one fixed struct.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chem.h"
#include "err.h"
#include "json.h"
#include "state.h"
#include "validate.h"

/* ==== The findings and the thresholds ==== */

const struct bms_validate_def bms_validate_defs[BMS_V_COUNT] = {
	[BMS_V_INVALID_JSON] = { "invalid_json", BMS_SEVERITY_ERROR,
		"the line is not one JSON object (rejected)" },
	[BMS_V_SCHEMA] = { "schema_violation", BMS_SEVERITY_ERROR,
		"the reading schema refuses a field (rejected)" },
	[BMS_V_CELL_HIGH] = { "cell_over_limit", BMS_SEVERITY_ERROR,
		"a cell above the chemistry's hard limit" },
	[BMS_V_CELL_LOW] = { "cell_under_limit", BMS_SEVERITY_ERROR,
		"a cell below the chemistry's hard limit" },
	[BMS_V_PACK_RANGE] = { "pack_voltage_out_of_range", BMS_SEVERITY_ERROR,
		"no cell voltages, and the pack voltage per cell outside the limits" },
	[BMS_V_CELL_SUM] = { "cell_sum_mismatch", BMS_SEVERITY_WARNING,
		"the cells do not add up to the pack voltage" },
	[BMS_V_POWER] = { "power_mismatch", BMS_SEVERITY_WARNING,
		"pack power is not voltage times current" },
	[BMS_V_TEMP_RANGE] = { "temperature_out_of_range", BMS_SEVERITY_ERROR,
		"a temperature outside the sensor's range" },
	[BMS_V_CURRENT] = { "current_over_rating", BMS_SEVERITY_WARNING,
		"the current beyond the pack's rating" },
	[BMS_V_CELL_COUNT] = { "cell_count_mismatch", BMS_SEVERITY_ERROR,
		"not the number of cells the battery has" },
	[BMS_V_TEMP_COUNT] = { "temp_count_mismatch", BMS_SEVERITY_WARNING,
		"not the number of probes the battery has" },
	[BMS_V_TS_FUTURE] = { "timestamp_in_future", BMS_SEVERITY_ERROR,
		"dated later than now" },
	[BMS_V_TS_BACKWARDS] = { "timestamp_backwards", BMS_SEVERITY_ERROR,
		"older than the battery's reading before" },
	[BMS_V_DUPLICATE] = { "duplicate_reading", BMS_SEVERITY_ERROR,
		"the same time as the battery's reading before" },
	[BMS_V_STALE] = { "stale_gap", BMS_SEVERITY_INFO,
		"the first reading after a gap longer than expected" },
	[BMS_V_FROZEN] = { "frozen_reading", BMS_SEVERITY_WARNING,
		"the same values, bit for bit, for too long" },
	[BMS_V_SOC_JUMP] = { "soc_jump", BMS_SEVERITY_WARNING,
		"the state of charge moved more than a pack can" },
	[BMS_V_CELL_JUMP] = { "cell_jump", BMS_SEVERITY_ERROR,
		"a cell voltage moved more than a cell can" },
	[BMS_V_TEMP_JUMP] = { "temperature_jump", BMS_SEVERITY_WARNING,
		"a temperature moved more than a pack's can" },
};

#define V(k, t, lo, hi, d) \
	{ .section = "validate", .key = k, .type = BMS_CONFIG_##t, \
	  .flags = BMS_CONFIG_NAMED, .min = lo, .max = hi, .def = d }

/* The defaults and their reasons are in bms-validate(1). */
const struct bms_config_key bms_validate_keys[] = {
	BMS_BATCONF_KEYS,
	V("future_tolerance", DURATION, 0, 31536000000.0, "5m"),
	V("gap_factor", NUMBER, 1.01, 1e6, "3"),
	V("frozen_after", DURATION, 1, 31536000000.0, "5m"),
	V("cell_sum_percent", NUMBER, 0, 100, "3"),
	V("cell_sum_min_v", NUMBER, 0, 1e4, "0.5"),
	V("power_percent", NUMBER, 0, 1000, "5"),
	V("power_min_w", NUMBER, 0, 1e9, "20"),
	V("temp_min_c", NUMBER, -273.15, 1e4, "-40"),
	V("temp_max_c", NUMBER, -273.15, 1e4, "125"),
	V("current_margin_percent", NUMBER, 0, 1e4, "10"),
	V("jump_window", DURATION, 1, 86400000.0, "60s"),
	V("soc_jump", NUMBER, 0, 100, "10"),
	V("cell_jump_v", NUMBER, 0, 100, "0.3"),
	V("temp_jump_c", NUMBER, 0, 1e4, "10"),
};

const size_t bms_validate_nkeys = sizeof bms_validate_keys / sizeof bms_validate_keys[0];

/* One battery's thresholds, as the configuration gives them. */
struct limits {
	int64_t future_ms;		/* ms */
	double gap_factor;
	int64_t frozen_ms;		/* ms */
	double cell_sum_pct, cell_sum_min_v;	/* %, V */
	double power_pct, power_min_w;	/* %, W */
	double temp_min_c, temp_max_c;	/* degC */
	double current_margin_pct;	/* % */
	int64_t jump_ms;		/* ms */
	double soc_jump;		/* points of % */
	double cell_jump_v;		/* V */
	double temp_jump_c;		/* degC */
};

/* ==== Batteries ==== */

#define SLOTS (2 * BMS_VALIDATE_MAX_BATTERIES)	/* a power of two */

struct regent {
	char bms_id[BMS_RECORD_ID_MAX + 1];
	int chem;			/* -1 unknown */
	double capacity_ah;		/* 0 unknown */
	int cells;			/* 0 unknown */
};

/* What the jump checks compare: a reading's time, SOC, cells and probes. */
struct snap {
	int ok;				/* 0: none */
	int64_t ts;			/* ms */
	unsigned have;			/* BMS_R_* */
	double soc;			/* % */
	int ncells, ntemps;
	double cells[BMS_MAX_CELLS];	/* V */
	double temps[BMS_MAX_TEMPS];	/* degC */
};

struct battery {
	uint64_t key;			/* hash of tenant and bms_id */
	char bms_id[BMS_RECORD_ID_MAX + 1];
	char tenant[BMS_RECORD_TENANT_MAX + 1];
	int has_tenant;
	struct bms_batconf facts;
	struct limits lim;
	double cell_min_v, cell_max_v;	/* V: hard limits of the chemistry */
	const char *chem_title;		/* "LiFePO4", or NULL: unknown */
	/* The stream: */
	int64_t last_ts;		/* ms of the latest ordered reading; */
	int seen;			/* 0 before the first */
	double interval_est;		/* ms between readings, 0 none yet */
	uint64_t hash;			/* of the last reading, time left out */
	int64_t same_since;		/* ms: the first reading with that hash */
	int last_ncells, last_ntemps;	/* -1: the reading before had none */
	/* For the jumps: the last reading without an error, and the last
	 * ordered reading, which confirms a step when the next agrees. */
	struct snap ref, prev;
};

struct bms_validate {
	const struct bms_config *cfg;
	int chem;			/* for every battery, -1 none */
	struct battery *slot[SLOTS];
	size_t nbat;
	int cap_state;			/* 0 fine, 1 over the cap to say, 2 said */
	struct regent *reg;		/* in use, sorted by bms_id */
	size_t nreg;
	struct regent *next;		/* gathered for the next commit */
	size_t nnext;
	struct battery lone;		/* a battery past the cap, judged alone */
	int dirty;			/* a reading changed a battery since the
					 * last save */
	struct bms_reading_doc doc;
	struct bms_buf tmp;		/* a line without its old verdict */
};

struct bms_validate *bms_validate_new(const struct bms_config *cfg, int chem)
{
	struct bms_validate *v = calloc(1, sizeof *v);

	if (!v)
		return NULL;
	v->cfg = cfg;
	v->chem = chem;
	return v;
}

void bms_validate_free(struct bms_validate *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		free(v->slot[i]);
	free(v->reg);
	free(v->next);
	bms_buf_free(&v->tmp);
	free(v);
}

void bms_validate_registry_abort(struct bms_validate *v)
{
	free(v->next);
	v->next = NULL;
	v->nnext = 0;
}

int bms_validate_registry_add(struct bms_validate *v, const char *bms_id,
			      const char *chemistry, double capacity_ah, long cells)
{
	struct regent *e;

	if (v->nnext == BMS_VALIDATE_MAX_BATTERIES || strlen(bms_id) > BMS_RECORD_ID_MAX)
		return -1;
	if (v->nnext % 64 == 0) {
		struct regent *n = realloc(v->next, (v->nnext + 64) * sizeof *n);

		if (!n)
			return -1;
		v->next = n;
	}
	e = &v->next[v->nnext++];
	strcpy(e->bms_id, bms_id);
	e->chem = chemistry ? bms_chem_find(chemistry, strlen(chemistry)) : -1;
	e->capacity_ah = capacity_ah > 0 ? capacity_ah : 0;
	e->cells = cells > 0 && cells <= BMS_MAX_CELLS ? (int)cells : 0;
	return 0;
}

static int regent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct regent *)a)->bms_id, ((const struct regent *)b)->bms_id);
}

void bms_validate_registry_commit(struct bms_validate *v)
{
	free(v->reg);
	v->reg = v->next;
	v->nreg = v->nnext;
	v->next = NULL;
	v->nnext = 0;
	if (v->nreg)
		qsort(v->reg, v->nreg, sizeof *v->reg, regent_cmp);
}

static const struct regent *registry_find(const struct bms_validate *v, const char *bms_id)
{
	struct regent key;

	if (!v->nreg)
		return NULL;
	strcpy(key.bms_id, bms_id);
	return bsearch(&key, v->reg, v->nreg, sizeof *v->reg, regent_cmp);
}

/* Facts and thresholds of b: --chemistry, then the registry, then the
 * configuration file over both. */
static void resolve(struct bms_validate *v, struct battery *b)
{
	const struct bms_config *c = v->cfg;
	const char *s = "validate", *id = b->bms_id;
	const struct regent *e = registry_find(v, id);
	struct limits *l = &b->lim;

	bms_batconf_clear(&b->facts);
	b->facts.chem = v->chem;
	if (e) {
		if (e->chem >= 0)
			b->facts.chem = e->chem;
		if (e->capacity_ah > 0)
			b->facts.capacity_ah = e->capacity_ah;
		if (e->cells > 0)
			b->facts.cells = e->cells;
	}
	bms_batconf_get(c, id, &b->facts);
	if (b->facts.chem >= 0) {
		const struct bms_chem_profile *p = bms_chem_profile((enum bms_chem)b->facts.chem);

		b->cell_min_v = p->cell_min_v;
		b->cell_max_v = p->cell_max_v;
		b->chem_title = p->title;
	} else {
		b->cell_min_v = bms_chem_profiles[0].cell_min_v;
		b->cell_max_v = bms_chem_profiles[0].cell_max_v;
		for (int i = 1; i < BMS_CHEM_COUNT; i++) {
			b->cell_min_v = fmin(b->cell_min_v, bms_chem_profiles[i].cell_min_v);
			b->cell_max_v = fmax(b->cell_max_v, bms_chem_profiles[i].cell_max_v);
		}
		b->chem_title = NULL;
	}
	l->future_ms = bms_config_ms(c, s, id, "future_tolerance");
	l->gap_factor = bms_config_num(c, s, id, "gap_factor");
	l->frozen_ms = bms_config_ms(c, s, id, "frozen_after");
	l->cell_sum_pct = bms_config_num(c, s, id, "cell_sum_percent");
	l->cell_sum_min_v = bms_config_num(c, s, id, "cell_sum_min_v");
	l->power_pct = bms_config_num(c, s, id, "power_percent");
	l->power_min_w = bms_config_num(c, s, id, "power_min_w");
	l->temp_min_c = bms_config_num(c, s, id, "temp_min_c");
	l->temp_max_c = bms_config_num(c, s, id, "temp_max_c");
	l->current_margin_pct = bms_config_num(c, s, id, "current_margin_percent");
	l->jump_ms = bms_config_ms(c, s, id, "jump_window");
	l->soc_jump = bms_config_num(c, s, id, "soc_jump");
	l->cell_jump_v = bms_config_num(c, s, id, "cell_jump_v");
	l->temp_jump_c = bms_config_num(c, s, id, "temp_jump_c");
}

void bms_validate_refresh(struct bms_validate *v)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (v->slot[i])
			resolve(v, v->slot[i]);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The battery of an envelope, made when first seen; NULL past the cap
 * or out of memory. */
static struct battery *battery_of(struct bms_validate *v, const struct bms_record *env)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;
	struct battery *b;

	h = fnv(h, env->tenant, strlen(env->tenant) + 1);
	h = fnv(h, env->bms_id, strlen(env->bms_id));
	h ^= (uint64_t)env->has_tenant << 63;
	for (i = h & (SLOTS - 1); v->slot[i]; i = (i + 1) & (SLOTS - 1)) {
		b = v->slot[i];
		if (b->key == h && b->has_tenant == env->has_tenant &&
		    strcmp(b->bms_id, env->bms_id) == 0 && strcmp(b->tenant, env->tenant) == 0)
			return b;
	}
	if (v->nbat == BMS_VALIDATE_MAX_BATTERIES) {
		if (!v->cap_state)
			v->cap_state = 1;
		return NULL;
	}
	b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->key = h;
	strcpy(b->bms_id, env->bms_id);
	strcpy(b->tenant, env->tenant);
	b->has_tenant = env->has_tenant;
	b->last_ncells = b->last_ntemps = -1;
	resolve(v, b);
	v->slot[i] = b;
	v->nbat++;
	return b;
}

int bms_validate_over_cap(struct bms_validate *v)
{
	if (v->cap_state == 1) {
		v->cap_state = 2;
		return 1;
	}
	return 0;
}

size_t bms_validate_tracked(const struct bms_validate *v)
{
	return v->nbat;
}

/* ==== Checks ==== */

static void add(struct bms_validate_result *res, enum bms_validate_code code,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(struct bms_validate_result *res, enum bms_validate_code code,
		const char *fmt, ...)
{
	va_list ap;

	res->f[res->n].code = code;
	va_start(ap, fmt);
	vsnprintf(res->f[res->n].msg, sizeof res->f[res->n].msg, fmt, ap);
	va_end(ap);
	res->n++;
}

/* A 64-bit hash of s[0..n), eight bytes at a time: equal lines give
 * equal hashes (a frozen link), nothing more is asked of it. */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w ^ n) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* "the LiFePO4 limit of 3.80 V", or "4.35 V, the limit of every
 * chemistry" when the chemistry is not known. */
static const char *limit_text(const struct battery *b, double v, char *out, size_t cap)
{
	if (b->chem_title)
		snprintf(out, cap, "the %s limit of %.2f V", b->chem_title, v);
	else
		snprintf(out, cap, "%.2f V, the limit of every chemistry", v);
	return out;
}

/* The checks of one reading on its own. */
static void check_reading(const struct battery *b, const struct limits *l,
			  const struct bms_reading *r, struct bms_validate_result *res)
{
	char lim[64];

	if (r->have & BMS_R_CELLS) {
		int hi = -1, lo = -1, nhi = 0, nlo = 0;
		double sum = 0;

		for (int i = 0; i < r->ncells; i++) {
			sum += r->cells[i];
			if (r->cells[i] > b->cell_max_v) {
				if (hi < 0 || r->cells[i] > r->cells[hi])
					hi = i;
				nhi++;
			}
			if (r->cells[i] < b->cell_min_v) {
				if (lo < 0 || r->cells[i] < r->cells[lo])
					lo = i;
				nlo++;
			}
		}
		if (hi >= 0)
			add(res, BMS_V_CELL_HIGH, "cell %d at %.3f V is above %s%s", hi + 1,
			    r->cells[hi], limit_text(b, b->cell_max_v, lim, sizeof lim),
			    nhi > 1 ? " (and more cells)" : "");
		if (lo >= 0)
			add(res, BMS_V_CELL_LOW, "cell %d at %.3f V is below %s%s", lo + 1,
			    r->cells[lo], limit_text(b, b->cell_min_v, lim, sizeof lim),
			    nlo > 1 ? " (and more cells)" : "");
		if ((r->have & BMS_R_VOLTAGE) && r->ncells > 0) {
			double tol = fmax(l->cell_sum_min_v, r->pack_voltage * l->cell_sum_pct / 100);

			if (fabs(sum - r->pack_voltage) > tol)
				add(res, BMS_V_CELL_SUM, "cells add up to %.2f V, pack reports %.2f V",
				    sum, r->pack_voltage);
		}
	} else if ((r->have & BMS_R_VOLTAGE) && b->facts.cells > 0) {
		double per = r->pack_voltage / b->facts.cells;

		if (per > b->cell_max_v || per < b->cell_min_v)
			add(res, BMS_V_PACK_RANGE,
			    "pack at %.2f V is %.3f V a cell for %d cells, %s %s", r->pack_voltage,
			    per, b->facts.cells, per > b->cell_max_v ? "above" : "below",
			    limit_text(b, per > b->cell_max_v ? b->cell_max_v : b->cell_min_v,
				       lim, sizeof lim));
	}
	if ((r->have & (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER)) ==
	    (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER)) {
		double vi = r->pack_voltage * r->pack_current;

		if (fabs(r->pack_power - vi) > fmax(l->power_min_w, fabs(vi) * l->power_pct / 100))
			add(res, BMS_V_POWER, "pack power %.1f W, voltage times current %.1f W",
			    r->pack_power, vi);
	}
	if (r->have & BMS_R_TEMPS) {
		for (int i = 0; i < r->ntemps; i++)
			if (r->temps[i] < l->temp_min_c || r->temps[i] > l->temp_max_c) {
				add(res, BMS_V_TEMP_RANGE,
				    "probe %d at %.1f degC is outside the sensor's %.0f..%.0f degC",
				    i + 1, r->temps[i], l->temp_min_c, l->temp_max_c);
				break;
			}
	}
	if (r->have & BMS_R_CURRENT) {
		double m = 1 + l->current_margin_pct / 100;

		if (b->facts.max_charge_a > 0 && r->pack_current > b->facts.max_charge_a * m)
			add(res, BMS_V_CURRENT, "charging at %.1f A, the pack is rated %.1f A",
			    r->pack_current, b->facts.max_charge_a);
		else if (b->facts.max_discharge_a > 0 &&
			 -r->pack_current > b->facts.max_discharge_a * m)
			add(res, BMS_V_CURRENT, "discharging at %.1f A, the pack is rated %.1f A",
			    -r->pack_current, b->facts.max_discharge_a);
	}
	if (r->have & BMS_R_CELLS) {
		if (b->facts.cells > 0 && r->ncells != b->facts.cells)
			add(res, BMS_V_CELL_COUNT, "%d cell voltages, the battery has %d cells",
			    r->ncells, b->facts.cells);
		else if (b->facts.cells == 0 && b->last_ncells >= 0 && r->ncells != b->last_ncells)
			add(res, BMS_V_CELL_COUNT, "%d cell voltages, %d in the reading before",
			    r->ncells, b->last_ncells);
	}
	if (r->have & BMS_R_TEMPS) {
		if (b->facts.temps > 0 && r->ntemps != b->facts.temps)
			add(res, BMS_V_TEMP_COUNT, "%d temperatures, the battery has %d probes",
			    r->ntemps, b->facts.temps);
		else if (b->facts.temps == 0 && b->last_ntemps >= 0 && r->ntemps != b->last_ntemps)
			add(res, BMS_V_TEMP_COUNT, "%d temperatures, %d in the reading before",
			    r->ntemps, b->last_ntemps);
	}
}

static double secs(int64_t ms)
{
	return (double)ms / 1000;
}


static void snap_take(struct snap *s, int64_t ts, const struct bms_reading *r)
{
	s->ok = 1;
	s->ts = ts;
	s->have = r->have;
	s->soc = r->soc_percent;
	s->ncells = r->have & BMS_R_CELLS ? r->ncells : 0;
	s->ntemps = r->have & BMS_R_TEMPS ? r->ntemps : 0;
	memcpy(s->cells, r->cells, (size_t)s->ncells * sizeof r->cells[0]);
	memcpy(s->temps, r->temps, (size_t)s->ntemps * sizeof r->temps[0]);
}

/* Does r's SOC jump from s's? */
static int soc_jumps(const struct snap *s, const struct bms_reading *r, const struct limits *l)
{
	return (r->have & s->have & BMS_R_SOC) && fabs(r->soc_percent - s->soc) > l->soc_jump;
}

/* The cell of r that jumps most from s, past the bound; -1 if none. */
static int cell_jumps(const struct snap *s, const struct bms_reading *r, const struct limits *l)
{
	int w = -1;
	double d = l->cell_jump_v;

	if (!(r->have & s->have & BMS_R_CELLS) || r->ncells != s->ncells)
		return -1;
	for (int i = 0; i < r->ncells; i++)
		if (fabs(r->cells[i] - s->cells[i]) > d) {
			d = fabs(r->cells[i] - s->cells[i]);
			w = i;
		}
	return w;
}

/* The first probe of r that jumps from s; -1 if none. */
static int temp_jumps(const struct snap *s, const struct bms_reading *r, const struct limits *l)
{
	if (!(r->have & s->have & BMS_R_TEMPS) || r->ntemps != s->ntemps)
		return -1;
	for (int i = 0; i < r->ntemps; i++)
		if (fabs(r->temps[i] - s->temps[i]) > l->temp_jump_c)
			return i;
	return -1;
}

/* The checks against the battery's readings before; *ordered is set
 * when the reading comes after the last one in time. */
static void check_stream(struct battery *b, const struct limits *l, int64_t ts, int64_t now,
			 uint64_t hash, const struct bms_reading *r,
			 struct bms_validate_result *res, int *ordered)
{
	int64_t gap = ts - b->last_ts;

	*ordered = 0;
	if (ts > now + l->future_ms) {
		add(res, BMS_V_TS_FUTURE, "dated more than %.0f s ahead of the clock",
		    secs(l->future_ms));
		return;
	}
	if (!b->seen) {
		*ordered = 1;
		return;
	}
	if (gap < 0) {
		add(res, BMS_V_TS_BACKWARDS, "%.3f s older than the reading before", secs(-gap));
		return;
	}
	if (gap == 0) {
		add(res, BMS_V_DUPLICATE, "a second reading at the time of the one before");
		return;
	}
	*ordered = 1;
	{
		double expect = b->facts.interval_ms > 0 ? (double)b->facts.interval_ms
							 : b->interval_est;

		if (expect > 0 && (double)gap > l->gap_factor * expect)
			add(res, BMS_V_STALE, "%.1f s since the reading before, %.1f s expected",
			    secs(gap), expect / 1000);
	}
	if (hash == b->hash && ts - b->same_since >= l->frozen_ms)
		add(res, BMS_V_FROZEN, "the same values for %.0f s", secs(ts - b->same_since));
	if (b->ref.ok && ts - b->ref.ts <= l->jump_ms) {
		const struct snap *p = b->prev.ok && b->prev.ts > b->ref.ts &&
				       ts - b->prev.ts <= l->jump_ms ? &b->prev : NULL;
		double dt = secs(ts - b->ref.ts);
		int w;

		/* A jump from the reference that the reading before made too,
		 * and that this one keeps, is a real step: flagged once. */
		if (soc_jumps(&b->ref, r, l) && (!p || soc_jumps(p, r, l)))
			add(res, BMS_V_SOC_JUMP, "state of charge from %.1f %% to %.1f %% in %.1f s",
			    b->ref.soc, r->soc_percent, dt);
		if ((w = cell_jumps(&b->ref, r, l)) >= 0 && (!p || cell_jumps(p, r, l) >= 0))
			add(res, BMS_V_CELL_JUMP, "cell %d from %.3f V to %.3f V in %.1f s",
			    w + 1, b->ref.cells[w], r->cells[w], dt);
		if ((w = temp_jumps(&b->ref, r, l)) >= 0 && (!p || temp_jumps(p, r, l) >= 0))
			add(res, BMS_V_TEMP_JUMP, "probe %d from %.1f degC to %.1f degC in %.1f s",
			    w + 1, b->ref.temps[w], r->temps[w], dt);
	}
}

/* Remember the reading in b: the time and interval when ordered, the
 * values for the jumps when it holds no error. */
static void remember(struct battery *b, int64_t ts, uint64_t hash,
		     const struct bms_reading *r, int ordered, int bad)
{
	if (ordered) {
		if (b->seen) {
			double gap = (double)(ts - b->last_ts);

			/* The estimate follows the gaps, a long one counted at
			 * most as twice the estimate: an outage barely moves
			 * it, a slower poll rate is learnt in a few readings. */
			if (b->interval_est <= 0)
				b->interval_est = gap;
			else
				b->interval_est += (fmin(gap, 2 * b->interval_est) - b->interval_est) / 4;
		}
		if (!b->seen || hash != b->hash) {
			b->hash = hash;
			b->same_since = ts;
		}
		b->seen = 1;
		b->last_ts = ts;
	}
	b->last_ncells = r->have & BMS_R_CELLS ? r->ncells : -1;
	b->last_ntemps = r->have & BMS_R_TEMPS ? r->ntemps : -1;
	if (ordered)
		snap_take(&b->prev, ts, r);
	if (ordered && !bad)
		b->ref = b->prev;
}

/* ==== The line ==== */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Cut the member whose value is b->p[at..at+len) out of the object in
 * b (a valid JSON object): its key, the colon, the value and one comma
 * beside it.
 */
static void cut_member(struct bms_buf *b, size_t at, size_t len)
{
	char *s = b->p;
	size_t p = at, from, to = at + len;

	while (p > 0 && is_ws(s[p - 1]))
		p--;
	p--;				/* the ':' */
	while (p > 0 && is_ws(s[p - 1]))
		p--;
	p--;				/* the key's closing quote */
	for (;;) {			/* its opening quote: not escaped */
		size_t bs = 0;

		p--;
		while (p >= bs + 1 && s[p - bs - 1] == '\\')
			bs++;
		if (s[p] == '"' && bs % 2 == 0)
			break;
	}
	from = p;
	while (p > 0 && is_ws(s[p - 1]))
		p--;
	if (s[p - 1] == ',') {
		from = p - 1;
	} else {			/* the first member: the comma after it */
		while (to < b->len && is_ws(s[to]))
			to++;
		if (to < b->len && s[to] == ',')
			to++;
	}
	memmove(s + from, s + to, b->len - to);
	b->len -= to - from;
}

/* Copy s[0..n) into v->tmp without its "quality" and "findings". */
static int strip_verdict(struct bms_validate *v, const char *s, size_t n)
{
	struct bms_json_field f[2] = { { .key = "quality" }, { .key = "findings" } };
	size_t a, b;

	bms_buf_reset(&v->tmp);
	bms_buf_add(&v->tmp, s, n);
	if (v->tmp.oom || bms_json_scan(s, n, f, 2, NULL) < 0)
		return -1;
	/* The later one first, so that the other's place holds. */
	a = f[0].val ? (size_t)(f[0].val - s) : 0;
	b = f[1].val ? (size_t)(f[1].val - s) : 0;
	if (f[0].val && f[1].val && b > a) {
		cut_member(&v->tmp, b, f[1].len);
		cut_member(&v->tmp, a, f[0].len);
	} else {
		if (f[0].val)
			cut_member(&v->tmp, a, f[0].len);
		if (f[1].val)
			cut_member(&v->tmp, b, f[1].len);
	}
	return 0;
}

void bms_validate_findings_json(const struct bms_validate_result *res, struct bms_buf *b)
{
	bms_buf_putc(b, '[');
	for (int i = 0; i < res->n; i++) {
		const struct bms_validate_def *d = &bms_validate_defs[res->f[i].code];

		if (i)
			bms_buf_putc(b, ',');
		bms_buf_puts(b, "{\"code\":\"");
		bms_buf_puts(b, d->code);
		bms_buf_puts(b, "\",\"severity\":\"");
		bms_buf_puts(b, bms_reading_severity_words[d->severity]);
		bms_buf_puts(b, "\",\"message\":");
		bms_buf_json_str(b, res->f[i].msg, strlen(res->f[i].msg));
		bms_buf_putc(b, '}');
	}
	bms_buf_putc(b, ']');
}

void bms_validate_reason(const struct bms_validate_result *res, char *why, size_t whysz)
{
	int k = 0;

	for (int i = 0; i < res->n; i++)
		if (bms_validate_defs[res->f[i].code].severity == BMS_SEVERITY_ERROR) {
			k = i;
			break;
		}
	if (res->n == 0) {
		bms_err_set(why, whysz, "no finding");
		return;
	}
	if (res->n > 1)
		bms_err_set(why, whysz, "%s: %s (and %d more)",
			    bms_validate_defs[res->f[k].code].code, res->f[k].msg, res->n - 1);
	else
		bms_err_set(why, whysz, "%s: %s", bms_validate_defs[res->f[k].code].code,
			    res->f[k].msg);
}

int bms_validate_line(struct bms_validate *v, const char *s, size_t n, int64_t now_ms,
		      struct bms_validate_result *res, struct bms_buf *out,
		      char *why, size_t whysz)
{
	struct bms_reading_doc *d = &v->doc;
	struct battery *b;
	const struct limits *l;
	char err[256];
	uint64_t hash;
	size_t end;
	int ordered = 0, worst = BMS_SEVERITY_INFO;

	if (bms_reading_parse(s, n, d, err, sizeof err) < 0) {
		if (strcmp(err, "not a reading") == 0)
			return BMS_VALIDATE_OTHER;
		bms_err_set(why, whysz, "%s: %s",
			    strncmp(err, "not a JSON object", 17) == 0 ? "invalid_json"
								       : "schema_violation", err);
		return BMS_VALIDATE_REJECT;
	}
	if (d->r.have & (BMS_R_QUALITY | BMS_R_FINDINGS)) {
		/* Judged before: judge the line as it was without it. */
		if (strip_verdict(v, s, n) < 0 ||
		    bms_reading_parse(v->tmp.p, v->tmp.len, d, err, sizeof err) < 0) {
			bms_err_set(why, whysz, "schema_violation: %s", err);
			return BMS_VALIDATE_REJECT;
		}
		s = v->tmp.p;
		n = v->tmp.len;
	}
	res->n = 0;
	b = battery_of(v, &d->env);
	if (b) {
		l = &b->lim;
	} else {
		/* Untracked (the cap): a battery of its own, judged alone. */
		struct battery *lone = &v->lone;

		memset(lone, 0, sizeof *lone);
		strcpy(lone->bms_id, d->env.bms_id);
		lone->last_ncells = lone->last_ntemps = -1;
		resolve(v, lone);
		l = &lone->lim;
		check_reading(lone, l, &d->r, res);
	}
	{
		/* The hash leaves the time out: the bytes before and after it. */
		size_t ts_at = (size_t)(d->env.ts_json - s);

		hash = hash_bytes(0x51ed270b27d3e3c5ull, s, ts_at);
		hash = hash_bytes(hash, d->env.ts_json + d->env.ts_json_len,
				  n - ts_at - d->env.ts_json_len);
	}
	if (b) {
		check_reading(b, l, &d->r, res);
		check_stream(b, l, d->env.ts_ms, now_ms, hash, &d->r, res, &ordered);
	}
	for (int i = 0; i < res->n; i++)
		if ((int)bms_validate_defs[res->f[i].code].severity > worst)
			worst = bms_validate_defs[res->f[i].code].severity;
	res->quality = worst == BMS_SEVERITY_ERROR ? BMS_QUALITY_BAD
		     : worst == BMS_SEVERITY_WARNING ? BMS_QUALITY_SUSPECT : BMS_QUALITY_GOOD;
	if (b) {
		remember(b, d->env.ts_ms, hash, &d->r, ordered,
			 res->quality == BMS_QUALITY_BAD);
		v->dirty |= b != &v->lone;
	}

	/* The line's bytes, the verdict before the closing brace. */
	end = n;
	while (end > 0 && s[end - 1] != '}')
		end--;
	end--;
	bms_buf_reset(out);
	bms_buf_add(out, s, end);
	bms_buf_puts(out, ",\"quality\":\"");
	bms_buf_puts(out, bms_reading_quality_words[res->quality]);
	bms_buf_putc(out, '"');
	if (res->n) {
		bms_buf_puts(out, ",\"findings\":");
		bms_validate_findings_json(res, out);
	}
	bms_buf_add(out, s + end, n - end);
	return BMS_VALIDATE_JUDGED;
}

/* ==== State ==== */

#define STATE_VERSION 1
#define STATE_NKEYS 23

/* The members of b's state record after its bms_id and tenant, in the
 * order they load (a count before its array). */
static int state_keys(struct battery *b, struct bms_state_key *k)
{
#define K(name, t, field) { name, t, (void *)&b->field, 1, NULL }
#define KA(name, field, max, cnt) { name, 'a', (void *)b->field, max, &b->cnt }
	const struct bms_state_key keys[] = {
		K("seen", 'i', seen), K("last_ts", 'l', last_ts),
		K("interval_est", 'd', interval_est), K("hash", 'l', hash),
		K("same_since", 'l', same_since),
		K("last_ncells", 'i', last_ncells), K("last_ntemps", 'i', last_ntemps),
		K("ref_ok", 'i', ref.ok), K("ref_ts", 'l', ref.ts), K("ref_have", 'i', ref.have),
		K("ref_soc", 'd', ref.soc), K("ref_ncells", 'i', ref.ncells),
		K("ref_ntemps", 'i', ref.ntemps),
		KA("ref_cells", ref.cells, BMS_MAX_CELLS, ref.ncells),
		KA("ref_temps", ref.temps, BMS_MAX_TEMPS, ref.ntemps),
		K("prev_ok", 'i', prev.ok), K("prev_ts", 'l', prev.ts), K("prev_have", 'i', prev.have),
		K("prev_soc", 'd', prev.soc), K("prev_ncells", 'i', prev.ncells),
		K("prev_ntemps", 'i', prev.ntemps),
		KA("prev_cells", prev.cells, BMS_MAX_CELLS, prev.ncells),
		KA("prev_temps", prev.temps, BMS_MAX_TEMPS, prev.ntemps),
	};
#undef K
#undef KA
	_Static_assert(sizeof keys / sizeof keys[0] == STATE_NKEYS, "STATE_NKEYS");
	memcpy(k, keys, sizeof keys);
	return STATE_NKEYS;
}

int bms_validate_state_save(struct bms_validate *v, const char *path,
			    char *err, size_t errsz)
{
	struct bms_state_key k[STATE_NKEYS];
	struct bms_state_save s;
	struct bms_buf *o = &v->tmp;

	if (bms_state_save_begin(&s, path, "bms-validate", STATE_VERSION, err, errsz) < 0)
		return -1;
	for (size_t i = 0; i < SLOTS; i++) {
		struct battery *b = v->slot[i];

		if (!b)
			continue;
		bms_buf_reset(o);
		bms_buf_puts(o, "{\"bms_id\":");
		bms_buf_json_str(o, b->bms_id, strlen(b->bms_id));
		if (b->has_tenant) {
			bms_buf_puts(o, ",\"tenant\":");
			bms_buf_json_str(o, b->tenant, strlen(b->tenant));
		}
		bms_buf_putc(o, ',');
		bms_state_keys_write(k, state_keys(b, k), o);
		bms_buf_putc(o, '}');
		if (o->oom) {
			bms_state_save_abort(&s);
			return bms_err_set(err, errsz, "cannot save '%s': out of memory", path);
		}
		bms_state_save_add(&s, o->p, o->len);
	}
	if (bms_state_save_commit(&s, err, errsz) < 0)
		return -1;
	v->dirty = 0;
	return 0;
}

static int load_one(void *ctx, const struct bms_state_info *info, const char *rec,
		    size_t len, char *err, size_t errsz)
{
	struct bms_validate *v = ctx;
	struct bms_json_field f[2] = { { .key = "bms_id" }, { .key = "tenant" } };
	struct bms_state_key k[STATE_NKEYS];
	struct bms_record env = { 0 };
	struct battery *b;
	long n;

	if (bms_json_scan(rec, len, f, 2, NULL) < 0 || !f[0].val ||
	    (n = bms_json_str_copy(f[0].val, f[0].len, env.bms_id, sizeof env.bms_id)) <= 0 ||
	    (f[1].val && bms_json_str_copy(f[1].val, f[1].len, env.tenant, sizeof env.tenant) < 0))
		return bms_err_set(err, errsz, "no good \"bms_id\" or \"tenant\"");
	env.has_tenant = f[1].val != NULL;
	if (!(b = battery_of(v, &env)))
		return bms_err_set(err, errsz, "more batteries than bms-validate tracks (%d)",
				   BMS_VALIDATE_MAX_BATTERIES);
	if (bms_state_keys_read(k, state_keys(b, k), rec, len, "battery", err, errsz) < 0)
		return -1;
	if (b->last_ncells < -1 || b->last_ncells > BMS_MAX_CELLS ||
	    b->last_ntemps < -1 || b->last_ntemps > BMS_MAX_TEMPS)
		return bms_err_set(err, errsz, "battery: counts out of range");
	return 0;
}

int bms_validate_state_load(struct bms_validate *v, const char *path,
			    char *err, size_t errsz)
{
	int rc = bms_state_load(path, "bms-validate", STATE_VERSION, load_one, v, NULL,
				err, errsz);

	v->cap_state = 0;
	v->dirty = 0;
	return rc;
}

int bms_validate_dirty(const struct bms_validate *v)
{
	return v->dirty;
}

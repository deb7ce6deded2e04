/* SPDX-License-Identifier: MIT */
/*
 * bms-agg's stage (aggstage.h): the batteries, the one in-order entry
 * point of their analyses (analyse), the merges, the configuration, the
 * state file, the filter callbacks and the end of the input.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "aggstage.h"
#include "anomaly.h"
#include "batconf.h"
#include "chem.h"
#include "config.h"
#include "err.h"
#include "health.h"
#include "json.h"
#include "reading.h"
#include "sig.h"
#include "state.h"
#include "ts.h"

#define STATE_VERSION 1
#define HASH_SIZE 4096			/* power of two */
#define FUTURE_MS (5 * 60000)		/* readings later than now + this: a wrong clock */

/* ==== Batteries ==== */

struct battery {
	char bms_id[BMS_RECORD_ID_MAX + 1];
	int has_tenant;
	char tenant[BMS_RECORD_TENANT_MAX + 1];
	int next;			/* hash chain, -1 at its end */
	int has_latest;
	int64_t latest;			/* ms, the latest reading analysed */
	unsigned long late;		/* readings not after it: not analysed */
	unsigned long ahead;		/* readings in the future: not analysed */
	unsigned mgen;			/* the merges' generation merge, pack are of */
	int merge, pack;		/* the merge it is a pack of, or -1 */
	/* The settings of its analytics, made again when the configuration
	 * changed (cgen): */
	unsigned cgen;
	double cap_ah;			/* [battery "ID"] capacity_ah, 0 none */
	struct bms_health_conf hconf;
	struct bms_anomaly_conf aconf;
	int has_rnom;
	double rnom;			/* Ah: nominal_capacity_ah, latest reading's */
	int has_hb;
	int64_t hb;			/* ms: the latest health boundary passed */
	/* The per-battery analyses: */
	struct bms_window_set win;
	struct bms_health health;
	struct bms_anomaly anom;
};

struct bms_aggstage {
	struct bms_aggstage_opts o;
	struct bms_filter *f;
	/* Batteries, in the order they were first seen. */
	struct battery **bat;
	int nbat, capwarned;
	int head[HASH_SIZE];
	/* Merges: from the command line, then the configuration's. */
	struct bms_merge *merge[BMS_MERGE_MAX];
	int nmerge;
	unsigned mgen;
	unsigned cutwarned[BMS_MERGE_MAX];
	/* Configuration, and its generation. */
	struct bms_config *cfg;
	unsigned cgen;
	/* State. */
	int64_t saved_at;
	int dirty;
	unsigned long ahead;
	unsigned long late;
	/* Scratch. */
	struct bms_reading_doc doc, mdoc;
	struct bms_reading mr;
	struct bms_buf out, line, names;
};

/* A diagnostic line to the caller's warn. */
__attribute__((format(printf, 2, 3)))
static void say(struct bms_aggstage *a, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!a->o.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	a->o.warn(a->o.warn_ctx, msg);
}

void bms_aggstage_opts_init(struct bms_aggstage_opts *o)
{
	memset(o, 0, sizeof *o);
	o->wopt.max_gap_ms = 60000;
	o->merge_window_ms = BMS_MERGE_WINDOW_MS;
	o->save_ms = 10000;
	o->max_batteries = BMS_AGGSTAGE_MAX_BATTERIES;
	o->chem = BMS_CHEM_LFP;
	o->health_ms = BMS_AGG_HOUR_MS;
}

struct bms_aggstage *bms_aggstage_new(const struct bms_aggstage_opts *o)
{
	struct bms_aggstage *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->o = *o;
	for (int i = 0; i < a->o.ncli; i++)
		a->o.cli[i].window_ms = a->o.merge_window_ms;
	memset(a->head, -1, sizeof a->head);
	return a;
}

static unsigned hash_key(const char *id, const char *tenant)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; tenant && *tenant; tenant++)
		h = (h ^ (unsigned char)*tenant) * 16777619u;
	return h & (HASH_SIZE - 1);
}

static int same_tenant(const struct battery *b, const char *tenant)
{
	return tenant ? b->has_tenant && strcmp(b->tenant, tenant) == 0 : !b->has_tenant;
}

/* The battery bms_id of tenant (NULL: none), made when new; NULL past
 * the cap (warned once). */
static struct battery *battery(struct bms_aggstage *a, const char *id, const char *tenant)
{
	unsigned h = hash_key(id, tenant);
	struct battery *b;

	for (int i = a->head[h]; i >= 0; i = a->bat[i]->next)
		if (strcmp(a->bat[i]->bms_id, id) == 0 && same_tenant(a->bat[i], tenant))
			return a->bat[i];
	if (a->nbat == a->o.max_batteries || !(b = calloc(1, sizeof *b))) {
		if (!a->capwarned)
			say(a, "more than %d batteries: '%s' and any other new battery pass "
				 "without being aggregated (see --max-batteries)", a->nbat, id);
		a->capwarned = 1;
		return NULL;
	}
	snprintf(b->bms_id, sizeof b->bms_id, "%s", id);
	if (tenant) {
		b->has_tenant = 1;
		snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
	}
	b->mgen = a->mgen - 1;
	b->cgen = a->cgen - 1;
	bms_window_init(&b->win, &a->o.wopt);
	bms_health_init(&b->health);
	bms_anomaly_init(&b->anom);
	if (a->nbat % 64 == 0) {
		struct battery **nb = realloc(a->bat, sizeof *nb * (size_t)(a->nbat + 64));

		if (!nb) {
			free(b);
			return NULL;
		}
		a->bat = nb;
	}
	b->next = a->head[h];
	a->head[h] = a->nbat;
	a->bat[a->nbat++] = b;
	return b;
}

/* ==== Windows ==== */

struct emit_ctx {
	struct bms_aggstage *a;
	const struct battery *b;
};

static void emit_window(void *ctx, const struct bms_window *w, int complete)
{
	struct emit_ctx *e = ctx;
	struct bms_aggstage *a = e->a;

	bms_buf_reset(&a->out);
	bms_window_json(w, complete, e->b->bms_id, strlen(e->b->bms_id),
			e->b->has_tenant ? e->b->tenant : NULL, &a->out);
	bms_filter_emit(a->f, a->out.p, a->out.len);
}

/* ==== Lifetime analytics and anomalies ==== */

/* The envelope of a record of b at ms; t holds the timestamp, and the
 * head is valid while b and t are. */
static void head_of(const struct battery *b, int64_t ms, char *t, size_t tsz,
		    struct bms_record_head *h, struct bms_buf *names)
{
	char ts[BMS_TS_LEN + 1];

	bms_ts_format_ms(ms, ts);
	snprintf(t, tsz, "\"%s\"", ts);
	/* bms_id and tenant as JSON strings, one after the other in names. */
	bms_buf_reset(names);
	bms_buf_json_str(names, b->bms_id, strlen(b->bms_id));
	h->bms_id_len = names->len;
	if (b->has_tenant)
		bms_buf_json_str(names, b->tenant, strlen(b->tenant));
	h->bms_id = names->p;
	h->timestamp = t;
	h->timestamp_len = strlen(t);
	h->tenant = b->has_tenant ? names->p + h->bms_id_len : NULL;
	h->tenant_len = b->has_tenant ? names->len - h->bms_id_len : 0;
}

/* The health record of b, timestamped ms. */
static void emit_health(struct bms_aggstage *a, const struct battery *b, int64_t ms)
{
	struct bms_record_head h;
	char t[BMS_TS_LEN + 3];

	head_of(b, ms, t, sizeof t, &h, &a->names);
	bms_buf_reset(&a->out);
	bms_health_json(&b->health, &b->hconf, &h, &a->out);
	bms_filter_emit(a->f, a->out.p, a->out.len);
}

static void emit_anomaly(void *ctx, const char *rec, size_t len)
{
	struct bms_aggstage *a = ctx;

	bms_filter_emit(a->f, rec, len);
}

/* The settings of b's analytics: the file's [health], [anomaly] (and per
 * battery) keys over the defaults, the chemistry's full and empty cell,
 * the nominal capacity of the file or else of the readings. */
static void confs(struct bms_aggstage *a, struct battery *b);

/*
 * The one place where each reading of a battery, a pack's or a merged
 * one, is handed to the per-battery analyses, in time order, and where
 * the reading's line (line[0..len)) is written.  A reading not after the
 * battery's latest is counted, written and goes nowhere.  The order of
 * what is written: the windows the reading closed, the health record of
 * the boundary it crossed, the reading, the anomalies it shows.  Returns
 * 1 when the reading was analysed.
 */
static int analyse(struct bms_aggstage *a, struct battery *b, int64_t ts,
		   const struct bms_reading *r, const char *line, size_t len)
{
	struct emit_ctx e = { a, b };
	char t0[BMS_TS_LEN + 1], t1[BMS_TS_LEN + 1];
	struct bms_record_head h;
	char t[BMS_TS_LEN + 3];

	/* A clock gone wrong must not stop the battery's analyses: a
	 * reading from further ahead than FUTURE_MS would make every real
	 * one after it late. */
	if (ts > bms_ts_now_ms() + FUTURE_MS) {
		if (!b->ahead++) {
			bms_ts_format_ms(ts, t0);
			say(a, "'%s': a reading at %s is in the future: passed on, not "
			    "aggregated (later ones are only counted)", b->bms_id, t0);
		}
		a->ahead++;
		bms_filter_emit(a->f, line, len);
		return 0;
	}
	if (b->has_latest && ts <= b->latest) {
		if (!b->late++) {
			bms_ts_format_ms(ts, t0);
			bms_ts_format_ms(b->latest, t1);
			say(a, "'%s': a reading at %s is not after the latest one (%s): "
			    "passed on, not aggregated (later ones are only counted)",
			    b->bms_id, t0, t1);
		}
		a->late++;
		bms_filter_emit(a->f, line, len);
		return 0;
	}
	b->has_latest = 1;
	b->latest = ts;
	a->dirty = 1;
	confs(a, b);
	bms_window_add(&b->win, &a->o.wopt, ts, r, emit_window, &e);
	if (a->o.health_ms > 0) {
		int64_t hb = bms_agg_align(ts, a->o.health_ms);

		if (b->has_hb && hb > b->hb)
			emit_health(a, b, hb);
		if (!b->has_hb || hb > b->hb) {
			b->has_hb = 1;
			b->hb = hb;
		}
	}
	/* The nominal capacity the readings give counts from this one on. */
	if ((r->have & BMS_R_NOMINAL) && r->nominal_capacity_ah > 0 &&
	    (!b->has_rnom || b->rnom != r->nominal_capacity_ah)) {
		b->has_rnom = 1;
		b->rnom = r->nominal_capacity_ah;
		if (b->cap_ah <= 0)
			b->hconf.nominal_ah = b->rnom;
	}
	bms_health_add(&b->health, &b->hconf, ts, r);
	bms_filter_emit(a->f, line, len);
	head_of(b, ts, t, sizeof t, &h, &a->names);
	bms_anomaly_add(&b->anom, &b->aconf, ts, r, &h, emit_anomaly, a);
	return 1;
}

/* ==== Merges ==== */

/* The merge and pack index of b, found again when the merges changed. */
static void pack_of(struct bms_aggstage *a, struct battery *b)
{
	if (b->mgen == a->mgen)
		return;
	b->mgen = a->mgen;
	b->merge = b->pack = -1;
	for (int i = 0; i < a->nmerge; i++) {
		int p = bms_merge_pack(a->merge[i], b->bms_id);

		if (p >= 0) {
			b->merge = i;
			b->pack = p;
			return;
		}
	}
}

/* The merge definitions of the command line and of cfg (may be NULL)
 * into defs; their number, or -1 with the reason in err. */
static int merge_defs(struct bms_aggstage *a, const struct bms_config *cfg,
		      struct bms_merge_def *defs, char *err, size_t errsz)
{
	int n = 0;

	for (int i = 0; i < a->o.ncli; i++)
		defs[n++] = a->o.cli[i];
	for (size_t i = 0; cfg && bms_config_name(cfg, "merge", i); i++) {
		const char *name = bms_config_name(cfg, "merge", i);
		const char *packs = bms_config_str(cfg, "merge", name, "packs");
		char arg[BMS_RECORD_ID_MAX * (BMS_MERGE_PACKS + 1) + 64];

		if (n == BMS_MERGE_MAX)
			return bms_err_set(err, errsz, "more than %d merges", BMS_MERGE_MAX);
		if (bms_config_isset(cfg, "merge", name, "packs") != 2)
			return bms_err_set(err, errsz, "%s: [merge \"%s\"] has no packs",
					   bms_config_path(cfg), name);
		if (strlen(name) + strlen(packs) + 2 > sizeof arg)
			return bms_err_set(err, errsz, "%s: [merge \"%s\"]: packs too long",
					   bms_config_path(cfg), name);
		memcpy(arg, name, strlen(name));
		arg[strlen(name)] = '=';
		memcpy(arg + strlen(name) + 1, packs, strlen(packs) + 1);
		if (bms_merge_parse(&defs[n], arg, err, errsz) < 0)
			return -1;
		defs[n].mode = bms_config_enum(cfg, "merge", name, "mode");
		defs[n].window_ms = bms_config_isset(cfg, "merge", name, "window") ?
			bms_config_ms(cfg, "merge", name, "window") : a->o.merge_window_ms;
		n++;
	}
	for (int i = 0; i < n; i++) {
		struct bms_batconf bc;

		for (int p = 0; p < defs[i].npacks; p++) {
			bms_batconf_clear(&bc);
			if (cfg)
				bms_batconf_get(cfg, defs[i].pack[p], &bc);
			defs[i].capacity_ah[p] = bc.capacity_ah;
		}
	}
	if (bms_merge_check(defs, n, err, errsz) < 0)
		return -1;
	return n;
}

/* Put the merges defs[0..n) in place, keeping what a merge of the same
 * name and packs has pending.  0, or -1 when out of memory. */
static int merges_set(struct bms_aggstage *a, const struct bms_merge_def *defs, int n)
{
	struct bms_merge *nm[BMS_MERGE_MAX] = { 0 };

	for (int i = 0; i < n; i++) {
		for (int j = 0; j < a->nmerge && !nm[i]; j++) {
			struct bms_merge *o = a->merge[j];

			if (o && strcmp(o->def.name, defs[i].name) == 0 &&
			    o->def.npacks == defs[i].npacks &&
			    !memcmp(o->def.pack, defs[i].pack, sizeof o->def.pack[0] * (size_t)o->def.npacks)) {
				nm[i] = o;
				a->merge[j] = NULL;
				o->def = defs[i];
			}
		}
		if (!nm[i]) {
			if (!(nm[i] = malloc(sizeof *nm[i]))) {
				for (int k = 0; k < i; k++)
					free(nm[k]);
				return -1;
			}
			bms_merge_init(nm[i], &defs[i]);
		}
	}
	for (int j = 0; j < a->nmerge; j++)
		free(a->merge[j]);
	memcpy(a->merge, nm, sizeof nm);
	memset(a->cutwarned, 0, sizeof a->cutwarned);
	a->nmerge = n;
	a->mgen++;
	return 0;
}

/* Pack reading d of b: offer it to b's merge, and pass the merged
 * reading it completes on (its closed windows first). */
static void merge_offer(struct bms_aggstage *a, struct battery *b, const struct bms_reading_doc *d)
{
	struct bms_merge *m;
	struct battery *mb;
	const char *tenant;
	int64_t ts;
	unsigned cut;
	char why[256];

	pack_of(a, b);
	if (b->merge < 0)
		return;
	m = a->merge[b->merge];
	a->dirty = 1;
	if (!bms_merge_offer(m, b->pack, d, &a->mr, &ts, &tenant, &cut))
		return;
	if (cut & ~a->cutwarned[b->merge]) {
		a->cutwarned[b->merge] |= cut;
		say(a, "merge '%s': the packs' %s exceed a reading's %d: the merged reading has "
			 "no %s", m->def.name, cut & BMS_MERGE_CUT_CELLS ? "cells" : "probes",
			 cut & BMS_MERGE_CUT_CELLS ? BMS_MAX_CELLS : BMS_MAX_TEMPS,
			 cut & BMS_MERGE_CUT_CELLS ? "cell_voltages" : "temperatures");
	}
	bms_buf_reset(&a->line);
	bms_merge_json(m, &a->mr, ts, tenant, &a->line);
	/* The windows see the merged reading as it is written. */
	if (bms_reading_parse(a->line.p, a->line.len, &a->mdoc, why, sizeof why) < 0) {
		say(a, "merge '%s': %s", m->def.name, why);
		return;
	}
	if ((mb = battery(a, m->def.name, tenant)))
		analyse(a, mb, ts, &a->mdoc.r, a->line.p, a->line.len);
	else
		bms_filter_emit(a->f, a->line.p, a->line.len);
}

/* ==== Configuration ==== */

static const char *const mode_words[] = { "parallel", "series", NULL };

static const struct bms_config_key base_keys[] = {
	BMS_BATCONF_KEYS,
	{ .section = "merge", .key = "packs", .type = BMS_CONFIG_STRING, .flags = BMS_CONFIG_NAMED },
	{ .section = "merge", .key = "mode", .type = BMS_CONFIG_ENUM, .flags = BMS_CONFIG_NAMED,
	  .words = mode_words, .def = "parallel" },
	{ .section = "merge", .key = "window", .type = BMS_CONFIG_DURATION,
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 86400000.0 },
};

/*
 * The settings of lib/health and lib/anomaly a file may give, in
 * [health], [anomaly] and per battery in [health "ID"], [anomaly "ID"]:
 * each key is its struct field's name (a duration without its "_ms"),
 * its default the module's own (bms_*_conf_defaults: a key not set
 * leaves it).  The ranges keep every one positive, as the modules ask
 * (full_taper_a may be 0: 0.05 C).
 */
#define NUM 'd'			/* double, BMS_CONFIG_NUMBER */
#define DUR 'm'			/* int64_t ms, BMS_CONFIG_DURATION */
#define INT 'l'			/* long, BMS_CONFIG_INTEGER */
#define DAYS (365 * 86400000.0)

struct conf_key {
	const char *section, *key;
	char type;
	size_t off;
	double min, max;
};

#define H(k, t, f, lo, hi) { "health", k, t, offsetof(struct bms_health_conf, f), lo, hi }
#define A(k, t, f, lo, hi) { "anomaly", k, t, offsetof(struct bms_anomaly_conf, f), lo, hi }
static const struct conf_key conf_keys[] = {
	H("idle_a", NUM, idle_a, 0.001, 1e6),
	H("full_taper_a", NUM, full_taper_a, 0, 1e6),
	H("run_min", DUR, run_min_ms, 1, DAYS),
	H("run_min_share", NUM, run_min_share, 0.001, 1),
	H("run_reverse_share", NUM, run_reverse_share, 0.001, 1),
	H("cycle_min_share", NUM, cycle_min_share, 0.001, 1),
	H("ir_max_dt", DUR, ir_max_dt_ms, 1, DAYS),
	H("ir_min_step_a", NUM, ir_min_step_a, 0.001, 1e6),
	H("drift_bin", DUR, drift_bin_ms, 1000, DAYS),
	H("drift_bin_min", INT, drift_bin_min, 1, 1e9),
	H("drift_half_life_days", NUM, drift_half_life_days, 0.001, 1e4),
	H("weak_soc_percent", NUM, weak_soc_percent, 0.001, 100),
	H("weak_cell_v", NUM, weak_cell_v, 0.001, 10),
	A("dev_z", NUM, dev_z, 0.001, 1e6),
	A("dev_mad_floor_mv", NUM, dev_mad_floor_mv, 0.001, 1e4),
	A("dev_min_mv", NUM, dev_min_mv, 0.001, 1e4),
	A("dev_sustain", DUR, dev_sustain_ms, 1, DAYS),
	A("dev_clear", DUR, dev_clear_ms, 1, DAYS),
	A("pack_jump_v", NUM, pack_jump_v, 0.001, 1e4),
	A("cell_jump_v", NUM, cell_jump_v, 0.001, 10),
	A("temp_jump_c", NUM, temp_jump_c, 0.001, 1e3),
	A("jump_max_dt", DUR, jump_max_dt_ms, 1, DAYS),
	A("rise_c_per_min", NUM, rise_c_per_min, 0.001, 1e3),
	A("rise_span", DUR, rise_span_ms, BMS_ANOMALY_RISE_SLOTS, DAYS),
	A("stuck_cell", DUR, stuck_cell_ms, 1, DAYS),
	A("stuck_probe", DUR, stuck_probe_ms, 1, DAYS),
	A("stuck_current_a", NUM, stuck_current_a, 0.001, 1e6),
};
#undef H
#undef A

#define NBASE (sizeof base_keys / sizeof base_keys[0])
#define NCONF (sizeof conf_keys / sizeof conf_keys[0])

/* The table of every key: the base ones, then conf_keys'. */
static const struct bms_config_key *keys(void)
{
	static struct bms_config_key k[NBASE + NCONF];

	if (!k[0].section) {
		memcpy(k, base_keys, sizeof base_keys);
		for (size_t i = 0; i < NCONF; i++)
			k[NBASE + i] = (struct bms_config_key){
				.section = conf_keys[i].section, .key = conf_keys[i].key,
				.type = conf_keys[i].type == NUM ? BMS_CONFIG_NUMBER :
					conf_keys[i].type == DUR ? BMS_CONFIG_DURATION :
					BMS_CONFIG_INTEGER,
				.flags = BMS_CONFIG_NAMED,
				.min = conf_keys[i].min, .max = conf_keys[i].max,
			};
	}
	return k;
}

/* The keys of cfg that are set for battery id over hc and ac. */
static void conf_apply(const struct bms_config *cfg, const char *id,
		       struct bms_health_conf *hc, struct bms_anomaly_conf *ac)
{
	for (size_t i = 0; cfg && i < NCONF; i++) {
		const struct conf_key *k = &conf_keys[i];
		char *p = (char *)(k->section[0] == 'h' ? (void *)hc : (void *)ac) + k->off;

		if (!bms_config_isset(cfg, k->section, id, k->key))
			continue;
		if (k->type == NUM)
			*(double *)p = bms_config_num(cfg, k->section, id, k->key);
		else if (k->type == DUR)
			*(int64_t *)p = bms_config_ms(cfg, k->section, id, k->key);
		else
			*(long *)p = (long)bms_config_int(cfg, k->section, id, k->key);
	}
}

static void confs(struct bms_aggstage *a, struct battery *b)
{
	struct bms_batconf bc;
	const struct bms_chem_profile *cp;

	if (b->cgen == a->cgen)
		return;
	b->cgen = a->cgen;
	bms_batconf_clear(&bc);
	if (a->cfg)
		bms_batconf_get(a->cfg, b->bms_id, &bc);
	cp = bms_chem_profile(bc.chem >= 0 ? bc.chem : a->o.chem);
	bms_health_conf_defaults(&b->hconf);
	bms_anomaly_conf_defaults(&b->aconf);
	conf_apply(a->cfg, b->bms_id, &b->hconf, &b->aconf);
	b->hconf.full_cell_v = cp->full_v;
	b->hconf.empty_cell_v = cp->empty_v;
	b->hconf.max_gap_ms = a->o.wopt.max_gap_ms;
	b->cap_ah = bc.capacity_ah;
	b->hconf.nominal_ah = bc.capacity_ah > 0 ? bc.capacity_ah : b->has_rnom ? b->rnom : 0;
}

/* Read the configuration (again, on SIGHUP): the old one stays in place
 * unless the new file reads and its merges make sense.  0 or -1. */
int bms_aggstage_configure(struct bms_aggstage *a, char *err, size_t errsz)
{
	struct bms_config *cfg = NULL;
	struct bms_merge_def defs[BMS_MERGE_MAX] = { 0 };
	int n;

	if (a->o.config_path) {
		if (!(cfg = bms_config_new(keys(), NBASE + NCONF)))
			return bms_err_set(err, errsz, "out of memory");
		if (bms_config_load(cfg, a->o.config_path, err, errsz) < 0) {
			bms_config_free(cfg);
			return -1;
		}
	}
	if ((n = merge_defs(a, cfg, defs, err, errsz)) < 0 || merges_set(a, defs, n) < 0) {
		if (n >= 0)
			bms_err_set(err, errsz, "out of memory");
		bms_config_free(cfg);
		return -1;
	}
	bms_config_free(a->cfg);
	a->cfg = cfg;
	a->cgen++;
	return 0;
}

static void reload(struct bms_aggstage *a)
{
	char err[512];

	if (bms_aggstage_configure(a, err, sizeof err) < 0)
		say(a, "%s; keeping the configuration in use", err);
}

/* ==== State ==== */

static void head_json(struct bms_buf *out, const char *kind, const struct battery *b)
{
	bms_buf_printf(out, "{\"kind\":\"%s\",\"bms_id\":", kind);
	bms_buf_json_str(out, b->bms_id, strlen(b->bms_id));
	if (b->has_tenant) {
		bms_buf_puts(out, ",\"tenant\":");
		bms_buf_json_str(out, b->tenant, strlen(b->tenant));
	}
}

static void head_cb(void *ctx, const char *kind, struct bms_buf *out)
{
	head_json(out, kind, ctx);
}

static int save(struct bms_aggstage *a, char *err, size_t errsz)
{
	struct bms_state_save s;
	struct bms_buf *o = &a->out;

	if (bms_state_save_begin(&s, a->o.state_path, "bms-agg", STATE_VERSION, err, errsz) < 0)
		return -1;
	for (int i = 0; i < a->nbat; i++) {
		struct battery *b = a->bat[i];

		bms_buf_reset(o);
		head_json(o, "battery", b);
		if (b->has_latest)
			bms_buf_printf(o, ",\"latest\":%lld", (long long)b->latest);
		bms_buf_printf(o, ",\"late\":%lu", b->late);
		if (b->has_hb)
			bms_buf_printf(o, ",\"health_at\":%lld", (long long)b->hb);
		if (b->has_rnom) {
			bms_buf_puts(o, ",\"nominal_ah\":");
			bms_buf_exact(o, b->rnom);
		}
		bms_buf_putc(o, '}');
		bms_state_save_add(&s, o->p, o->len);
		for (int k = 0;; k++) {
			bms_buf_reset(o);
			if (!bms_window_state_record(&b->win, &a->o.wopt, k, head_cb, b, o))
				break;
			bms_state_save_add(&s, o->p, o->len);
		}
		bms_buf_reset(o);
		head_json(o, "health", b);
		bms_buf_putc(o, ',');
		bms_health_state(&b->health, o);
		bms_buf_putc(o, '}');
		bms_state_save_add(&s, o->p, o->len);
		bms_buf_reset(o);
		head_json(o, "anomaly", b);
		bms_buf_putc(o, ',');
		bms_anomaly_state(&b->anom, o);
		bms_buf_putc(o, '}');
		bms_state_save_add(&s, o->p, o->len);
	}
	for (int i = 0; i < a->nmerge; i++)
		for (int k = 0;; k++) {
			bms_buf_reset(o);
			if (!bms_merge_state_record(a->merge[i], k, o))
				break;
			bms_state_save_add(&s, o->p, o->len);
		}
	if (o->oom) {
		bms_state_save_abort(&s);
		return bms_err_set(err, errsz, "cannot save '%s': out of memory", a->o.state_path);
	}
	if (bms_state_save_commit(&s, err, errsz) < 0)
		return -1;
	a->dirty = 0;
	a->saved_at = bms_ts_mono_ms();
	return 0;
}

enum { K_KIND, K_ID, K_TENANT, K_LATEST, K_LATE, K_HB, K_RNOM, K_COUNT };

/* A number member of a state record, the whole span, finite. */
static int state_num(const struct bms_json_field *f, double *v)
{
	char tmp[64], *end;

	if (f->len == 0 || f->len >= sizeof tmp)
		return -1;
	memcpy(tmp, f->val, f->len);
	tmp[f->len] = '\0';
	*v = strtod(tmp, &end);
	return *end == '\0' && isfinite(*v) ? 0 : -1;
}

/* A time member, ms within the years 0000..9999 that records hold. */
static int state_time(const struct bms_json_field *f, int64_t *ms)
{
	double v;

	if (state_num(f, &v) < 0 || v != (double)(int64_t)v ||
	    v < -62167219200000.0 || v > 253402300799999.0)
		return -1;
	*ms = (int64_t)v;
	return 0;
}

/* One record of the state file, by its kind. */
static int load_record(void *ctx, const struct bms_state_info *info, const char *rec,
		       size_t len, char *err, size_t errsz)
{
	struct bms_aggstage *a = ctx;
	struct bms_json_field f[K_COUNT] = {
		[K_KIND] = { .key = "kind" }, [K_ID] = { .key = "bms_id" },
		[K_TENANT] = { .key = "tenant" }, [K_LATEST] = { .key = "latest" },
		[K_LATE] = { .key = "late" }, [K_HB] = { .key = "health_at" },
		[K_RNOM] = { .key = "nominal_ah" },
	};
	char kind[16], id[BMS_RECORD_ID_MAX + 1], tenant[BMS_RECORD_TENANT_MAX + 1];
	struct bms_json_err je;
	struct battery *b;
	int dropped;

	if (bms_json_scan(rec, len, f, K_COUNT, &je) < 0)
		return bms_err_set(err, errsz, "%s at byte %zu", je.what, je.at + 1);
	if (!f[K_KIND].val || bms_json_str_copy(f[K_KIND].val, f[K_KIND].len, kind, sizeof kind) < 0)
		return bms_err_set(err, errsz, "no \"kind\"");
	if (strcmp(kind, "pending") == 0)
		return bms_merge_state_load(a->merge, a->nmerge, rec, len, &dropped, err, errsz);
	if (!f[K_ID].val || bms_json_str_copy(f[K_ID].val, f[K_ID].len, id, sizeof id) <= 0 ||
	    (f[K_TENANT].val &&
	     bms_json_str_copy(f[K_TENANT].val, f[K_TENANT].len, tenant, sizeof tenant) < 0))
		return bms_err_set(err, errsz, "no good \"bms_id\" or \"tenant\"");
	if (!(b = battery(a, id, f[K_TENANT].val ? tenant : NULL)))
		return bms_err_set(err, errsz, "more batteries than --max-batteries");
	if (strcmp(kind, "battery") == 0) {
		double late = 0;

		if ((f[K_LATEST].val && state_time(&f[K_LATEST], &b->latest) < 0) ||
		    (f[K_HB].val && state_time(&f[K_HB], &b->hb) < 0) ||
		    (f[K_LATE].val && (state_num(&f[K_LATE], &late) < 0 || late < 0 ||
				       late > 1e18 || late != floor(late))) ||
		    (f[K_RNOM].val && (state_num(&f[K_RNOM], &b->rnom) < 0 || b->rnom < 0)))
			return bms_err_set(err, errsz, "battery: a time, count or capacity out of range");
		b->has_latest = f[K_LATEST].val != NULL;
		b->has_hb = f[K_HB].val != NULL;
		b->has_rnom = f[K_RNOM].val != NULL;
		b->late = (unsigned long)late;
		return 0;
	}
	if (strcmp(kind, "point") == 0 || strcmp(kind, "window") == 0)
		return bms_window_state_load(&b->win, &a->o.wopt, rec, len, &dropped, err, errsz);
	if (strcmp(kind, "health") == 0)
		return bms_health_state_load(&b->health, rec, len, err, errsz);
	if (strcmp(kind, "anomaly") == 0)
		return bms_anomaly_state_load(&b->anom, rec, len, err, errsz);
	return bms_err_set(err, errsz, "unknown kind '%s'", kind);
}
/* ==== The filter ==== */

#define READING_START "{\"type\":\"reading\","

int bms_aggstage_line(void *ctx, struct bms_filter *f, const char *line, size_t len,
		    char *why, size_t whysz)
{
	struct bms_aggstage *a = ctx;
	struct bms_json_field type = { .key = "type" };
	struct bms_json_err je;
	struct battery *b;

	a->f = f;
	if (bms_sig_reload())
		reload(a);
	/* A line that starts as the writer's readings do is one (the parse
	 * checks the rest); any other is scanned for its type first. */
	if (len < sizeof READING_START - 1 || memcmp(line, READING_START, sizeof READING_START - 1)) {
		if (bms_json_scan(line, len, &type, 1, &je) < 0) {
			snprintf(why, whysz, "not a JSON object: %s at byte %zu", je.what, je.at + 1);
			return BMS_FILTER_REJECT;
		}
		/* What the type says decides what the line is: it must say it once. */
		if (type.dup) {
			snprintf(why, whysz, "type: more than once");
			return BMS_FILTER_REJECT;
		}
		if (!type.val || !bms_json_str_eq(type.val, type.len, "reading"))
			return BMS_FILTER_PASS;
	}
	if (bms_reading_parse(line, len, &a->doc, why, whysz) < 0)
		return BMS_FILTER_REJECT;
	/* What bms-validate judged bad is not believed: on, untouched. */
	if ((a->doc.r.have & BMS_R_QUALITY) && a->doc.r.quality == BMS_QUALITY_BAD)
		return BMS_FILTER_PASS;
	b = battery(a, a->doc.env.bms_id, a->doc.env.has_tenant ? a->doc.env.tenant : NULL);
	if (!b)
		bms_filter_emit(f, line, len);
	else if (analyse(a, b, a->doc.env.ts_ms, &a->doc.r, line, len))
		merge_offer(a, b, &a->doc);
	return BMS_FILTER_DONE;
}

int bms_aggstage_drained(void *ctx, struct bms_filter *f, char *why, size_t whysz)
{
	struct bms_aggstage *a = ctx;

	a->f = f;
	if (bms_sig_reload())
		reload(a);
	if (!a->o.state_path || !a->dirty || bms_ts_mono_ms() - a->saved_at < a->o.save_ms)
		return 0;
	/* What the saved state counts as emitted is out first. */
	bms_filter_flush(f);
	return save(a, why, whysz);
}

int bms_aggstage_load(struct bms_aggstage *a, char *err, size_t errsz)
{
	if (!a->o.state_path)
		return 0;
	if (bms_state_load(a->o.state_path, "bms-agg", STATE_VERSION, load_record, a, NULL,
			   err, errsz) < 0)
		return -1;
	/* Know now that the state can be saved. */
	return save(a, err, errsz);
}

int bms_aggstage_finish(struct bms_aggstage *a, struct bms_filter *f, char *err, size_t errsz)
{
	a->f = f;
	if (a->o.state_path) {
		if (save(a, err, errsz) < 0)
			return -1;
	} else {
		/* The end without --state: what is open is out, incomplete. */
		for (int i = 0; i < a->nbat; i++) {
			struct emit_ctx e = { a, a->bat[i] };

			bms_window_finish(&a->bat[i]->win, &a->o.wopt, emit_window, &e);
			/* Its analytics as they stand at its latest reading. */
			if (a->o.health_ms > 0 && a->bat[i]->has_latest && a->bat[i]->health.n > 0)
				emit_health(a, a->bat[i], a->bat[i]->latest);
		}
		bms_filter_flush(f);
		if (f->out.err && f->out.err != EPIPE)
			return bms_err_set(err, errsz, "cannot write output: %s", strerror(f->out.err));
	}
	if (a->ahead)
		say(a, "%lu reading%s in the future passed on without being aggregated",
		    a->ahead, a->ahead == 1 ? "" : "s");
	if (a->late)
		say(a, "%lu reading%s not after %s battery's latest passed on without being "
		    "aggregated", a->late, a->late == 1 ? "" : "s", a->late == 1 ? "its" : "their");
	return 0;
}

void bms_aggstage_free(struct bms_aggstage *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nbat; i++)
		free(a->bat[i]);
	free(a->bat);
	for (int i = 0; i < a->nmerge; i++)
		free(a->merge[i]);
	bms_config_free(a->cfg);
	bms_buf_free(&a->out);
	bms_buf_free(&a->line);
	bms_buf_free(&a->names);
	free(a);
}

/* SPDX-License-Identifier: MIT */
/*
 * The alert engine (see alert.h).  Each battery keeps what its records
 * last said (the reading, its derived values, the link's status, the
 * open anomalies, the fields of health and aggregate records the rules
 * read, the samples of each rate()) and one slot per rule, a small state
 * machine:
 *
 *   IDLE --cond--> PENDING --held delay--> RAISED --clear--> CLEARING
 *     ^              |  not cond               ^   not clear   |
 *     +--------------+                         +---------------+
 *     +<------------------- held clear_delay ------------------+
 *
 * A battery's rules are evaluated at each record of that battery, at its
 * timestamp; the rules that watch the time since a record are evaluated
 * for every battery whenever the stream's clock has moved a second on.
 * A missing value (a field the BMS does not report) neither raises nor
 * clears: a condition that is neither true nor false leaves a slot where
 * it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "batconf.h"
#include "chem.h"
#include "err.h"
#include "json.h"
#include "reading.h"
#include "record.h"
#include "state.h"
#include "status.h"
#include "ts.h"

#define NONE INT64_MIN
#define MAX_FINDINGS 16
#define MAX_ANOMALIES 64
#define DOC_STR_MAX 63
#define CLOCK_STEP_MS 1000	/* clock rules run at most once a stream second */
#define CLOCK_WALK 3600		/* steps of a gap walked a second apart */
#define STATE_VERSION 1

enum phase { IDLE, PENDING, RAISED, CLEARING };

struct slot {
	int phase;		/* enum phase */
	int severity;		/* now, enum bms_rules_sev */
	int acked;
	int count;		/* events of this raise */
	int64_t t_true;		/* ms: PENDING since */
	int64_t t_clr;		/* ms: CLEARING since */
	int64_t since;		/* ms: raised at */
	int64_t last_event;	/* ms: the last record written */
	int64_t sev_at;		/* ms: the severity last changed */
	int64_t esc_true;	/* ms: escalate has held since, or NONE */
	int has_value, has_threshold;
	double value, threshold;	/* the condition's sides, last known */
};

struct rate {
	int n, head;		/* samples, oldest at head */
	int64_t t[BMS_RULES_RATE_SLOTS + 1];	/* ms */
	double v[BMS_RULES_RATE_SLOTS + 1];
};

struct docval {
	enum bms_expr_type type;
	double num;
	char str[DOC_STR_MAX + 1];
	size_t len;
};

struct battery {
	char id[BMS_RECORD_ID_MAX + 1];
	char tenant[BMS_RECORD_TENANT_MAX + 1];
	int has_tenant;
	int reg_chem;		/* from the store's registry, -1 none */
	int have_reading;
	struct bms_reading r;	/* the latest believed reading (codes copied) */
	char codes[2048];	/* r's fault and warning codes point here */
	int64_t reading_ms;	/* NONE before any */
	double gap_ms;		/* learned reading interval, 0 unknown */
	int has_quality;
	int quality;		/* enum bms_quality */
	int nfind;
	char find[MAX_FINDINGS][BMS_RULES_CODE_MAX + 1];
	int have_status;
	char st_state[16], st_reason[BMS_STATUS_REASON_MAX + 1];
	double st_quality;
	int64_t status_ms;
	int nanom;
	struct {
		char code[BMS_RULES_CODE_MAX + 1];
		int cell, probe;	/* the channel, 0 none */
	} anom[MAX_ANOMALIES];	/* open anomalies */
	char anom_event[BMS_RULES_CODE_MAX + 1];	/* of the record in hand */
	struct rate *rates;	/* rs->nrates */
	struct docval *docs;	/* rs->ndocs */
	struct slot *slots;	/* rs->n */
	int64_t last_ms;	/* the latest record's time */
	int64_t eval_ms;	/* the latest time its rules ran at */
	unsigned conf_gen;	/* the facts below are of this generation */
	int chem;		/* enum bms_chem, -1 unknown */
	int64_t interval_ms;	/* configured reading interval, 0 unknown */
};

struct bms_alert {
	struct bms_rules *rs;
	int def_chem;
	bms_alert_event_fn fn;
	void *ctx;
	struct battery **bats;
	int nbats;
	int *index;		/* open addressing: bats index + 1, 0 empty */
	size_t index_cap;	/* a power of two, at least twice nbats */
	int over_cap, cap_told;
	int64_t clock;		/* ms, NONE before any record */
	int64_t clock_eval;	/* ms: the clock rules last ran */
	unsigned conf_gen;	/* counts changes of the rules and the registry */
	int dirty;
	struct bms_reading_doc doc;
	struct bms_status st;
	struct bms_buf out, msg;
	/* registry chemistries: bms_id -> chem */
	struct { char id[BMS_RECORD_ID_MAX + 1]; int chem; } *reg;
	int nreg;
};

/* ==== Batteries ==== */

static void bat_free(struct battery *b)
{
	if (!b)
		return;
	free(b->rates);
	free(b->docs);
	free(b->slots);
	free(b);
}

static void slot_reset(struct slot *s)
{
	memset(s, 0, sizeof *s);
	s->phase = IDLE;
	s->t_true = s->t_clr = s->since = s->last_event = s->sev_at = s->esc_true = NONE;
}

/* (Re)size a battery's per-rule memory for rs; 0 or -1 (no memory). */
static int bat_fit(struct battery *b, const struct bms_rules *rs)
{
	struct rate *r = calloc((size_t)rs->nrates + 1, sizeof *r);
	struct docval *d = calloc((size_t)rs->ndocs + 1, sizeof *d);
	struct slot *s = calloc((size_t)rs->n + 1, sizeof *s);

	if (!r || !d || !s) {
		free(r), free(d), free(s);
		return -1;
	}
	for (int i = 0; i < rs->n; i++)
		slot_reset(&s[i]);
	free(b->rates), free(b->docs), free(b->slots);
	b->rates = r, b->docs = d, b->slots = s;
	return 0;
}

static int reg_chem(const struct bms_alert *a, const char *id)
{
	for (int i = 0; i < a->nreg; i++)
		if (strcmp(a->reg[i].id, id) == 0)
			return a->reg[i].chem;
	return -1;
}

static size_t bat_hash(const char *id, const char *tenant)
{
	uint64_t h = 1469598103934665603u;

	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h = (h ^ 0xff) * 1099511628211u;
	for (const char *p = tenant ? tenant : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return (size_t)h;
}

static int bat_is(const struct battery *b, const char *id, const char *tenant)
{
	return strcmp(b->id, id) == 0 &&
	       (tenant ? b->has_tenant && strcmp(b->tenant, tenant) == 0 : !b->has_tenant);
}

/* Put battery i in the index (which has room). */
static void index_put(struct bms_alert *a, int i)
{
	const struct battery *b = a->bats[i];
	size_t k = bat_hash(b->id, b->has_tenant ? b->tenant : NULL) & (a->index_cap - 1);

	while (a->index[k])
		k = (k + 1) & (a->index_cap - 1);
	a->index[k] = i + 1;
}

/* The battery of id and tenant (NULL: none), added when new; NULL over
 * the cap or out of memory. */
static struct battery *bat_find(struct bms_alert *a, const char *id, const char *tenant)
{
	struct battery *b, **nb;
	size_t k;

	if (a->index_cap) {
		for (k = bat_hash(id, tenant) & (a->index_cap - 1); a->index[k];
		     k = (k + 1) & (a->index_cap - 1))
			if (bat_is(a->bats[a->index[k] - 1], id, tenant))
				return a->bats[a->index[k] - 1];
	}
	if (a->nbats >= BMS_ALERT_MAX_BATTERIES) {
		a->over_cap = 1;
		return NULL;
	}
	if ((size_t)(a->nbats + 1) * 2 > a->index_cap) {
		size_t cap = a->index_cap ? 2 * a->index_cap : 16;
		int *ni = calloc(cap, sizeof *ni);

		if (!ni)
			return NULL;
		free(a->index);
		a->index = ni;
		a->index_cap = cap;
		for (int i = 0; i < a->nbats; i++)
			index_put(a, i);
	}
	if (!(b = calloc(1, sizeof *b)) || bat_fit(b, a->rs) < 0 ||
	    !(nb = realloc(a->bats, (size_t)(a->nbats + 1) * sizeof *nb))) {
		bat_free(b);
		return NULL;
	}
	snprintf(b->id, sizeof b->id, "%s", id);
	if (tenant) {
		b->has_tenant = 1;
		snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
	}
	b->reading_ms = b->status_ms = b->last_ms = b->eval_ms = NONE;
	b->reg_chem = reg_chem(a, id);
	b->conf_gen = a->conf_gen - 1;	/* looked up at first use */
	a->bats = nb;
	a->bats[a->nbats++] = b;
	index_put(a, a->nbats - 1);
	return b;
}

/* What the rules file's [battery] sections and the registry say of b,
 * looked up once per change of either. */
static void bat_conf(const struct bms_alert *a, struct battery *b)
{
	struct bms_batconf c;

	if (b->conf_gen == a->conf_gen)
		return;
	bms_batconf_clear(&c);
	c.chem = b->reg_chem >= 0 ? b->reg_chem : a->def_chem;
	bms_batconf_get(a->rs->cfg, b->id, &c);
	b->chem = c.chem;
	b->interval_ms = c.interval_ms;
	b->conf_gen = a->conf_gen;
}

/* ==== Values ==== */

struct eval {
	struct bms_alert *a;
	struct battery *b;
	int64_t now;
	const struct bms_rule *rule;
	const struct slot *slot;
};

static void num(struct bms_expr_val *v, double x)
{
	v->type = BMS_EXPR_NUM;
	v->num = x;
}

static void boolean(struct bms_expr_val *v, int x)
{
	v->type = BMS_EXPR_BOOL;
	v->num = x != 0;
}

static void str(struct bms_expr_val *v, const char *s)
{
	v->type = BMS_EXPR_STR;
	v->str = s;
	v->len = strlen(s);
}

/* Highest (dir 1) or lowest (-1) of xs[0..n): value and 1-based index. */
static int extreme(const double *xs, int n, int dir, double *val)
{
	int k = 0;

	for (int i = 1; i < n; i++)
		if (dir > 0 ? xs[i] > xs[k] : xs[i] < xs[k])
			k = i;
	*val = xs[k];
	return k + 1;
}

static void field(const struct eval *e, int f, struct bms_expr_val *v)
{
	const struct battery *b = e->b;
	const struct bms_reading *r = &b->r;
	unsigned have = b->have_reading ? r->have : 0;
	int cells = (have & BMS_R_CELLS) && r->ncells > 0;
	int temps = (have & BMS_R_TEMPS) && r->ntemps > 0;
	double x, y;
	int k;

	v->type = BMS_EXPR_MISSING;
	switch (f) {
	case BMS_RF_PACK_VOLTAGE: if (have & BMS_R_VOLTAGE) num(v, r->pack_voltage); break;
	case BMS_RF_PACK_CURRENT: if (have & BMS_R_CURRENT) num(v, r->pack_current); break;
	case BMS_RF_PACK_POWER: if (have & BMS_R_POWER) num(v, r->pack_power); break;
	case BMS_RF_SOC: if (have & BMS_R_SOC) num(v, r->soc_percent); break;
	case BMS_RF_SOH: if (have & BMS_R_SOH) num(v, r->soh_percent); break;
	case BMS_RF_CYCLES: if (have & BMS_R_CYCLES) num(v, (double)r->cycles); break;
	case BMS_RF_REMAINING: if (have & BMS_R_REMAIN) num(v, r->remaining_capacity_ah); break;
	case BMS_RF_NOMINAL: if (have & BMS_R_NOMINAL) num(v, r->nominal_capacity_ah); break;
	case BMS_RF_CELL_COUNT: if (have & BMS_R_CELLS) num(v, r->ncells); break;
	case BMS_RF_TEMP_COUNT: if (have & BMS_R_TEMPS) num(v, r->ntemps); break;
	case BMS_RF_CELL_MAX:
	case BMS_RF_CELL_MAX_INDEX:
		if (cells) {
			k = extreme(r->cells, r->ncells, 1, &x);
			num(v, f == BMS_RF_CELL_MAX ? x : k);
		}
		break;
	case BMS_RF_CELL_MIN:
	case BMS_RF_CELL_MIN_INDEX:
		if (cells) {
			k = extreme(r->cells, r->ncells, -1, &x);
			num(v, f == BMS_RF_CELL_MIN ? x : k);
		}
		break;
	case BMS_RF_CELL_SPREAD:
	case BMS_RF_CELL_SPREAD_MV:
		if (cells) {
			extreme(r->cells, r->ncells, 1, &x);
			extreme(r->cells, r->ncells, -1, &y);
			num(v, f == BMS_RF_CELL_SPREAD ? x - y : (x - y) * 1000);
		}
		break;
	case BMS_RF_CELL_AVG:
		if (cells) {
			x = 0;
			for (int i = 0; i < r->ncells; i++)
				x += r->cells[i];
			num(v, x / r->ncells);
		}
		break;
	case BMS_RF_TEMP_MAX:
	case BMS_RF_TEMP_MAX_INDEX:
		if (temps) {
			k = extreme(r->temps, r->ntemps, 1, &x);
			num(v, f == BMS_RF_TEMP_MAX ? x : k);
		}
		break;
	case BMS_RF_TEMP_MIN:
	case BMS_RF_TEMP_MIN_INDEX:
		if (temps) {
			k = extreme(r->temps, r->ntemps, -1, &x);
			num(v, f == BMS_RF_TEMP_MIN ? x : k);
		}
		break;
	case BMS_RF_BALANCING_COUNT:
		if (have & BMS_R_BALANCE)
			num(v, __builtin_popcountll(r->balancing_mask));
		break;
	case BMS_RF_FAULT_COUNT: if (have & BMS_R_CODES) num(v, r->nfaults); break;
	case BMS_RF_WARNING_COUNT: if (have & BMS_R_CODES) num(v, r->nwarnings); break;
	case BMS_RF_FINDING_COUNT: if (b->has_quality) num(v, b->nfind); break;
	case BMS_RF_CHARGING: if (have & BMS_R_CURRENT) boolean(v, r->pack_current > 0); break;
	case BMS_RF_DISCHARGING: if (have & BMS_R_CURRENT) boolean(v, r->pack_current < 0); break;
	case BMS_RF_BALANCING: if (have & BMS_R_BALANCE) boolean(v, r->balancing_active); break;
	case BMS_RF_CHARGE_MOS: if (have & BMS_R_MOS) boolean(v, r->charge_mos); break;
	case BMS_RF_DISCHARGE_MOS: if (have & BMS_R_MOS) boolean(v, r->discharge_mos); break;
	case BMS_RF_PROTECTION:
		if (have & BMS_R_PROTECT)
			boolean(v, r->prot.overvoltage || r->prot.undervoltage ||
				r->prot.overcurrent_charge || r->prot.overcurrent_discharge ||
				r->prot.overtemperature || r->prot.undertemperature);
		break;
	case BMS_RF_PROT_OV: if (have & BMS_R_PROTECT) boolean(v, r->prot.overvoltage); break;
	case BMS_RF_PROT_UV: if (have & BMS_R_PROTECT) boolean(v, r->prot.undervoltage); break;
	case BMS_RF_PROT_OCC:
		if (have & BMS_R_PROTECT) boolean(v, r->prot.overcurrent_charge);
		break;
	case BMS_RF_PROT_OCD:
		if (have & BMS_R_PROTECT) boolean(v, r->prot.overcurrent_discharge);
		break;
	case BMS_RF_PROT_OT: if (have & BMS_R_PROTECT) boolean(v, r->prot.overtemperature); break;
	case BMS_RF_PROT_UT: if (have & BMS_R_PROTECT) boolean(v, r->prot.undertemperature); break;
	case BMS_RF_QUALITY:
		if (b->has_quality)
			str(v, bms_reading_quality_words[b->quality]);
		break;
	case BMS_RF_STATUS_STATE: if (b->have_status) str(v, b->st_state); break;
	case BMS_RF_STATUS_REASON: if (b->have_status) str(v, b->st_reason); break;
	case BMS_RF_STATUS_QUALITY: if (b->have_status) num(v, b->st_quality); break;
	case BMS_RF_ASLEEP:
		boolean(v, b->have_status && strcmp(b->st_reason, "asleep") == 0);
		break;
	case BMS_RF_SINCE_READING:
		if (b->reading_ms != NONE && e->now >= b->reading_ms)
			num(v, (double)(e->now - b->reading_ms) / 1000);
		break;
	case BMS_RF_SINCE_STATUS:
		if (b->status_ms != NONE && e->now >= b->status_ms)
			num(v, (double)(e->now - b->status_ms) / 1000);
		break;
	case BMS_RF_INTERVAL:
		if (b->interval_ms > 0)
			num(v, (double)b->interval_ms / 1000);
		else if (b->gap_ms > 0)
			num(v, b->gap_ms / 1000);
		break;
	case BMS_RF_BMS_ID: str(v, b->id); break;
	case BMS_RF_CHEMISTRY:
		if (b->chem >= 0)
			str(v, bms_chem_profile((enum bms_chem)b->chem)->name);
		break;
	}
}

static int has_code(const char *const *codes, int n, const char *code)
{
	for (int i = 0; i < n; i++)
		if (strcmp(codes[i], code) == 0)
			return 1;
	return 0;
}

static void rate_value(const struct eval *e, const struct bms_rules_var *var,
		       struct bms_expr_val *v)
{
	const struct rate *rt = &e->b->rates[var->slot];
	struct bms_expr_val now;

	v->type = BMS_EXPR_MISSING;
	field(e, var->field, &now);
	if (now.type != BMS_EXPR_NUM || e->b->reading_ms == NONE)
		return;
	for (int i = 0; i < rt->n; i++) {
		int k = (rt->head + i) % (BMS_RULES_RATE_SLOTS + 1);
		int64_t dt = e->b->reading_ms - rt->t[k];

		if (dt > var->period_ms)
			continue;
		if (2 * dt >= var->period_ms)
			num(v, (now.num - rt->v[k]) * (double)var->period_ms / (double)dt);
		return;
	}
}

static void get(void *ctx, int id, struct bms_expr_val *v)
{
	const struct eval *e = ctx;
	const struct battery *b = e->b;
	const struct bms_rules_var *var = &e->a->rs->vars[id];

	v->type = BMS_EXPR_MISSING;
	switch (var->src) {
	case BMS_RV_READING:
		field(e, var->field, v);
		break;
	case BMS_RV_FAULT:
	case BMS_RV_WARNING:
		if (b->have_reading && (b->r.have & BMS_R_CODES))
			boolean(v, var->src == BMS_RV_FAULT ?
				has_code(b->r.faults, b->r.nfaults, var->code) :
				has_code(b->r.warnings, b->r.nwarnings, var->code));
		break;
	case BMS_RV_FINDING: {
		int found = 0;

		if (!b->has_quality)
			break;
		for (int i = 0; i < b->nfind; i++)
			found |= strcmp(b->find[i], var->code) == 0;
		boolean(v, found);
		break;
	}
	case BMS_RV_ANOMALY: {
		int found = strcmp(b->anom_event, var->code) == 0;

		for (int i = 0; i < b->nanom; i++)
			found |= strcmp(b->anom[i].code, var->code) == 0;
		boolean(v, found);
		break;
	}
	case BMS_RV_RATE:
		rate_value(e, var, v);
		break;
	case BMS_RV_KNOWN: {
		struct bms_expr_val in;

		get(ctx, var->field, &in);
		boolean(v, in.type != BMS_EXPR_MISSING);
		break;
	}
	case BMS_RV_DOC: {
		const struct docval *d = &b->docs[var->slot];

		v->type = d->type;
		v->num = d->num;
		v->str = d->str;
		v->len = d->len;
		break;
	}
	case BMS_RV_ALERT:
		if (!e->slot)
			break;
		switch (var->field) {
		case BMS_RA_VALUE: if (e->slot->has_value) num(v, e->slot->value); break;
		case BMS_RA_THRESHOLD:
			if (e->slot->has_threshold) num(v, e->slot->threshold);
			break;
		case BMS_RA_RULE: str(v, e->rule->name); break;
		case BMS_RA_SEVERITY: str(v, bms_rules_sev_words[e->slot->severity]); break;
		}
		break;
	}
}

/* ==== Transitions ==== */

static const char *const events[] = { "raised", "escalated", "repeated", "cleared" };
enum { EV_RAISED, EV_ESCALATED, EV_REPEATED, EV_CLEARED };

/* The condition's sides into the slot, when it is one comparison. */
static void sides(struct eval *e, struct slot *s)
{
	struct bms_expr_val l, r;

	if (!bms_expr_sides(e->rule->cond, get, e, &l, &r))
		return;
	if (l.type == BMS_EXPR_NUM) {
		s->has_value = 1;
		s->value = l.num;
	}
	if (r.type == BMS_EXPR_NUM) {
		s->has_threshold = 1;
		s->threshold = r.num;
	}
}

static void emit(struct eval *e, struct slot *s, int ev)
{
	struct bms_alert *a = e->a;
	struct battery *b = e->b;
	struct bms_buf *o = &a->out;
	char ts[BMS_TS_LEN + 1], since[BMS_TS_LEN + 1], aid[BMS_ALERT_ID_MAX + 1];
	struct bms_alert_event x;

	e->slot = s;
	s->count++;
	s->last_event = e->now;
	a->dirty = 1;
	snprintf(aid, sizeof aid, "%s/%s", b->id, e->rule->name);
	bms_ts_format_ms(e->now, ts);
	bms_ts_format_ms(s->since, since);
	bms_buf_reset(&a->msg);
	bms_rules_render(a->rs, e->rule, ev == EV_CLEARED, get, e, &a->msg);
	bms_buf_reset(o);
	bms_record_head(o, "alert", b->id, ts, b->has_tenant ? b->tenant : NULL);
	bms_buf_puts(o, ",\"alert_id\":");
	bms_buf_json_str(o, aid, strlen(aid));
	bms_buf_printf(o, ",\"rule\":\"%s\",\"state\":\"%s\",\"severity\":\"%s\",\"since\":\"%s\","
		       "\"count\":%d", e->rule->name, events[ev], bms_rules_sev_words[s->severity],
		       since, s->count);
	if (s->has_value) {
		bms_buf_puts(o, ",\"value\":");
		bms_buf_num(o, s->value, 6);
	}
	if (s->has_threshold) {
		bms_buf_puts(o, ",\"threshold\":");
		bms_buf_num(o, s->threshold, 6);
	}
	if (s->acked)
		bms_buf_puts(o, ",\"acknowledged\":true");
	bms_buf_puts(o, ",\"message\":");
	bms_buf_json_str(o, a->msg.p ? a->msg.p : "", a->msg.len);
	bms_buf_putc(o, '}');
	if (o->oom)
		return;
	x = (struct bms_alert_event){
		.rec = o->p, .len = o->len, .alert_id = aid, .rule = e->rule->name,
		.state = events[ev], .severity = bms_rules_sev_words[s->severity],
		.bms_id = b->id, .timestamp = ts, .message = a->msg.p ? a->msg.p : "",
		.tenant = b->has_tenant ? b->tenant : NULL,
		.has_value = s->has_value, .has_threshold = s->has_threshold,
		.value = s->value, .threshold = s->threshold,
	};
	a->fn(a->ctx, &x);
}

/* Should a raised alert clear?  1, 0, or -1 unknown. */
static int clear_test(struct eval *e, int c)
{
	const struct bms_rule *r = e->rule;
	struct bms_expr_val l, rv;
	int op;

	if (r->clear)
		return bms_expr_test(r->clear, get, e);
	if (!r->has_hysteresis)
		return c < 0 ? -1 : !c;
	op = bms_expr_sides(r->cond, get, e, &l, &rv);
	if (l.type != BMS_EXPR_NUM || rv.type != BMS_EXPR_NUM)
		return -1;
	if (op == BMS_EXPR_GT || op == BMS_EXPR_GE)
		return l.num < rv.num - r->hysteresis;
	return l.num > rv.num + r->hysteresis;
}

static void step(struct eval *e, struct slot *s)
{
	const struct bms_rule *r = e->rule;
	int64_t t = e->now;
	int c = bms_expr_test(r->cond, get, e), cl, esc = 0;

	e->slot = s;
	if (s->phase == IDLE || s->phase == PENDING) {
		if (s->phase == IDLE && c == 1) {
			s->phase = PENDING;
			s->t_true = t;
			e->a->dirty = 1;
		} else if (s->phase == PENDING && c == 0) {
			s->phase = IDLE;
			e->a->dirty = 1;
		}
		if (s->phase == PENDING && c == 1 && t - s->t_true >= r->delay_ms) {
			s->phase = RAISED;
			s->since = s->sev_at = t;
			s->severity = r->severity;
			s->count = 0;
			s->acked = 0;
			s->esc_true = NONE;
			s->has_value = s->has_threshold = 0;
			sides(e, s);
			emit(e, s, EV_RAISED);
		}
		return;
	}
	/* RAISED or CLEARING */
	cl = clear_test(e, c);
	if (cl == 1) {
		if (s->phase == RAISED) {
			s->phase = CLEARING;
			s->t_clr = t;
			e->a->dirty = 1;
		}
		if (t - s->t_clr >= r->clear_delay_ms) {
			sides(e, s);
			emit(e, s, EV_CLEARED);
			slot_reset(s);
		}
		return;
	}
	if (cl == 0 && s->phase == CLEARING) {
		s->phase = RAISED;
		e->a->dirty = 1;
	}
	if (s->acked || s->phase != RAISED)
		return;
	if (s->severity < BMS_SEV_CRITICAL) {
		if (r->escalate) {
			int x = bms_expr_test(r->escalate, get, e);

			if (x == 1 && s->esc_true == NONE)
				s->esc_true = t;
			else if (x == 0)
				s->esc_true = NONE;
			esc = x == 1 && t - s->esc_true >= r->escalate_delay_ms;
		}
		if (r->escalate_after_ms > 0 && t - s->sev_at >= r->escalate_after_ms)
			esc = 1;
		if (esc) {
			s->severity++;
			s->sev_at = t;
			s->esc_true = NONE;
			sides(e, s);
			emit(e, s, EV_ESCALATED);
			return;
		}
	}
	if (r->repeat_ms > 0 && t - s->last_event >= r->repeat_ms) {
		sides(e, s);
		emit(e, s, EV_REPEATED);
	}
}

/* Evaluate battery b's rules at time now (clock_only: those that watch
 * the time). */
static void evaluate(struct bms_alert *a, struct battery *b, int64_t now, int clock_only)
{
	struct eval e = { a, b, now, NULL, NULL };

	/* A battery's time never runs back: a record a little older than
	 * the clock its rules last ran at is judged at that time. */
	if (b->eval_ms != NONE && now < b->eval_ms)
		e.now = now = b->eval_ms;
	b->eval_ms = now;
	bat_conf(a, b);
	for (int i = 0; i < a->rs->n; i++) {
		const struct bms_rule *r = &a->rs->rules[i];

		if (clock_only && !r->uses_clock)
			continue;
		if (!bms_rules_applies(r, b->id, b->chem))
			continue;
		e.rule = r;
		step(&e, &b->slots[i]);
	}
}

/*
 * The rules that watch the time, for every battery, up to the stream's
 * clock.  A gap in the stream (a replay of a battery that went silent,
 * or a record after a long pause) is walked through as a live run would
 * have lived it: once a second for an hour (CLOCK_WALK steps), then at
 * gaps that double, so that a silence is seen when it began to count, not only
 * when the next record ends it.
 */
static void clock_rules(struct bms_alert *a, int64_t upto)
{
	int64_t t, step = CLOCK_STEP_MS;
	int n = 0;

	if (!a->rs->uses_clock || upto == NONE)
		return;
	if (a->clock_eval == NONE) {
		a->clock_eval = upto;
		return;
	}
	/* Whole seconds of the stream's clock. */
	t = a->clock_eval - a->clock_eval % step + step;
	if (a->clock_eval < 0 && a->clock_eval % step)
		t -= step;
	for (; t <= upto; t += step) {
		for (int i = 0; i < a->nbats; i++)
			evaluate(a, a->bats[i], t, 1);
		a->clock_eval = t;
		if (++n >= CLOCK_WALK && step < INT64_MAX / 4)
			step *= 2;
	}
}

/* ==== Records ==== */

static void rates_note(struct bms_alert *a, struct battery *b)
{
	struct eval e = { a, b, b->reading_ms, NULL, NULL };

	for (int i = 0; i < a->rs->nvars; i++) {
		const struct bms_rules_var *var = &a->rs->vars[i];
		struct rate *rt;
		struct bms_expr_val v;
		int last, k;

		if (var->src != BMS_RV_RATE)
			continue;
		rt = &b->rates[var->slot];
		field(&e, var->field, &v);
		if (v.type != BMS_EXPR_NUM)
			continue;
		last = (rt->head + rt->n - 1) % (BMS_RULES_RATE_SLOTS + 1);
		if (rt->n > 0 && (b->reading_ms < rt->t[last] ||
				  (b->reading_ms - rt->t[last]) * BMS_RULES_RATE_SLOTS < var->period_ms))
			continue;
		if (rt->n == BMS_RULES_RATE_SLOTS + 1) {
			rt->head = (rt->head + 1) % (BMS_RULES_RATE_SLOTS + 1);
			rt->n--;
		}
		k = (rt->head + rt->n) % (BMS_RULES_RATE_SLOTS + 1);
		rt->t[k] = b->reading_ms;
		rt->v[k] = v.num;
		rt->n++;
	}
}

/* The codes of the findings array of a reading line. */
static void findings(struct battery *b, const char *line, size_t len)
{
	struct bms_json_field f = { .key = "findings" };
	const char *pos = NULL, *el;
	size_t elen;

	b->nfind = 0;
	if (bms_json_scan(line, len, &f, 1, NULL) < 0 || !f.val)
		return;
	while (b->nfind < MAX_FINDINGS && bms_json_array_next(f.val, f.len, &pos, &el, &elen) == 1) {
		struct bms_json_field c = { .key = "code" };

		if (bms_json_scan(el, elen, &c, 1, NULL) == 0 && c.val &&
		    bms_json_str_copy(c.val, c.len, b->find[b->nfind], sizeof b->find[0]) > 0)
			b->nfind++;
	}
}

/* Copy a reading, its static or line-borne code strings into b. */
static void keep_reading(struct battery *b, const struct bms_reading *r)
{
	size_t o = 0;

	b->r = *r;
	for (int k = 0; k < 2; k++) {
		const char **codes = k ? b->r.warnings : b->r.faults;
		int n = k ? b->r.nwarnings : b->r.nfaults;

		for (int i = 0; i < n; i++) {
			size_t l = strlen(codes[i]) + 1;

			if (o + l > sizeof b->codes) {
				if (k)
					b->r.nwarnings = i;
				else
					b->r.nfaults = i;
				break;
			}
			memcpy(b->codes + o, codes[i], l);
			codes[i] = b->codes + o;
			o += l;
		}
	}
}

static void on_reading(struct bms_alert *a, struct battery *b, const struct bms_reading_doc *d,
		       const char *line, size_t len)
{
	int64_t t = d->env.ts_ms;

	if (b->reading_ms != NONE && t > b->reading_ms) {
		double gap = (double)(t - b->reading_ms);

		/* An outage is not the interval: a gap more than three times
		 * the usual one teaches nothing. */
		if (b->gap_ms <= 0)
			b->gap_ms = gap;
		else if (gap <= 3 * b->gap_ms)
			b->gap_ms = 0.8 * b->gap_ms + 0.2 * gap;
	}
	/* A reading older than the latest says nothing of now. */
	if (b->reading_ms != NONE && t < b->reading_ms)
		return;
	b->reading_ms = t;
	b->has_quality = (d->r.have & BMS_R_QUALITY) != 0;
	b->quality = d->r.quality;
	b->nfind = 0;
	if (a->rs->need_findings && (d->r.have & BMS_R_FINDINGS))
		findings(b, line, len);
	/* What bms-validate judged bad is not believed: its verdict counts,
	 * its values do not. */
	if (!b->has_quality || b->quality != BMS_QUALITY_BAD) {
		keep_reading(b, &d->r);
		b->have_reading = 1;
		rates_note(a, b);
	}
}

static void doc_fill(struct bms_alert *a, struct battery *b, int which, const char *line,
		     size_t len)
{
	for (int i = 0; i < a->rs->nvars; i++) {
		const struct bms_rules_var *var = &a->rs->vars[i];
		struct docval *d;
		struct bms_json_field f = { 0 }, g = { 0 };
		char key[BMS_RULES_PATH_MAX + 1];
		const char *dot;
		const char *val;
		size_t vlen;

		if (var->src != BMS_RV_DOC || var->field != which)
			continue;
		d = &b->docs[var->slot];
		d->type = BMS_EXPR_MISSING;
		snprintf(key, sizeof key, "%s", var->path);
		dot = strchr(var->path, '.');
		if (dot)
			key[dot - var->path] = '\0';
		f.key = key;
		if (bms_json_scan(line, len, &f, 1, NULL) < 0 || !f.val)
			continue;
		val = f.val, vlen = f.len;
		if (dot) {
			g.key = dot + 1;
			if (*val != '{' || bms_json_scan(val, vlen, &g, 1, NULL) < 0 || !g.val)
				continue;
			val = g.val, vlen = g.len;
		}
		if (*val == '"') {
			long n = bms_json_str_copy(val, vlen, d->str, sizeof d->str);

			if (n >= 0) {
				d->type = BMS_EXPR_STR;
				d->len = (size_t)n;
			}
		} else if (*val == 't' || *val == 'f') {
			d->type = BMS_EXPR_BOOL;
			d->num = *val == 't';
		} else if (*val == '-' || (*val >= '0' && *val <= '9')) {
			d->type = BMS_EXPR_NUM;
			d->num = strtod(val, NULL);
		}
	}
}

/* An integer member of an anomaly record (cell, probe), 0 if none. */
static int channel(const struct bms_json_field *f)
{
	return f->val && *f->val >= '1' && *f->val <= '9' ? atoi(f->val) : 0;
}

/* Open anomalies are kept per code and channel: one cell's end leaves
 * another's of the same code open. */
static int on_anomaly(struct battery *b, const char *line, size_t len, char *why, size_t whysz)
{
	struct bms_json_field f[4] = { { .key = "code" }, { .key = "state" }, { .key = "cell" },
				       { .key = "probe" } };
	char code[BMS_RULES_CODE_MAX + 1];
	int i, cell, probe;

	if (bms_json_scan(line, len, f, 4, NULL) < 0 || !f[0].val || !f[1].val ||
	    bms_json_str_copy(f[0].val, f[0].len, code, sizeof code) <= 0)
		return bms_err_set(why, whysz, "anomaly: no code or state");
	cell = channel(&f[2]);
	probe = channel(&f[3]);
	for (i = 0; i < b->nanom; i++)
		if (strcmp(b->anom[i].code, code) == 0 && b->anom[i].cell == cell &&
		    b->anom[i].probe == probe)
			break;
	if (bms_json_str_eq(f[1].val, f[1].len, "start")) {
		if (i == b->nanom && b->nanom < MAX_ANOMALIES) {
			memcpy(b->anom[i].code, code, sizeof code);
			b->anom[i].cell = cell;
			b->anom[i].probe = probe;
			b->nanom++;
		}
	} else if (bms_json_str_eq(f[1].val, f[1].len, "end")) {
		if (i < b->nanom) {
			memmove(&b->anom[i], &b->anom[i + 1],
				(size_t)(b->nanom - i - 1) * sizeof b->anom[0]);
			b->nanom--;
		}
	} else {
		memcpy(b->anom_event, code, sizeof code);
	}
	return 0;
}

enum { K_READING, K_STATUS, K_HEALTH, K_AGGREGATE, K_ANOMALY };

int bms_alert_line(struct bms_alert *a, const char *line, size_t len, char *why, size_t whysz)
{
	static const char start[] = "{\"type\":\"reading\",";
	static const char *const types[] = { "reading", "status", "health", "aggregate", "anomaly" };
	struct bms_json_field f[BMS_RECORD_NKEYS];
	struct bms_record env;
	const struct bms_record *ep = &env;
	struct battery *b;
	int kind = K_READING;

	if (len < sizeof start - 1 || memcmp(line, start, sizeof start - 1) != 0) {
		bms_record_keys(f);
		if (bms_record_scan_typed(line, len, f, BMS_RECORD_NKEYS, why, whysz) < 0)
			return BMS_ALERT_REJECT;
		for (kind = 0; kind < 5; kind++)
			if (bms_json_str_eq(f[0].val, f[0].len, types[kind]))
				break;
		if (kind == 5)
			return BMS_ALERT_OTHER;
	}
	switch (kind) {
	case K_READING:
		if (bms_reading_parse(line, len, &a->doc, why, whysz) < 0)
			return BMS_ALERT_REJECT;
		ep = &a->doc.env;
		break;
	case K_STATUS:
		if (bms_status_parse(line, len, &a->st, why, whysz) < 0)
			return BMS_ALERT_REJECT;
		ep = &a->st.env;
		break;
	default:
		if (bms_record_get(f, &env, why, whysz) < 0)
			return BMS_ALERT_REJECT;
		break;
	}
	/* The time up to the record first, then the record. */
	if (a->clock == NONE || ep->ts_ms > a->clock) {
		clock_rules(a, ep->ts_ms - 1);
		a->clock = ep->ts_ms;
	}
	if (!(b = bat_find(a, ep->bms_id, ep->has_tenant ? ep->tenant : NULL)))
		return BMS_ALERT_READ;	/* over the cap or out of memory: not watched */
	switch (kind) {
	case K_READING:
		on_reading(a, b, &a->doc, line, len);
		break;
	case K_STATUS:
		/* A status older than the latest says nothing of now. */
		if (b->status_ms != NONE && ep->ts_ms < b->status_ms)
			break;
		b->have_status = 1;
		snprintf(b->st_state, sizeof b->st_state, "%s", bms_status_state_name(a->st.state));
		snprintf(b->st_reason, sizeof b->st_reason, "%s", a->st.reason);
		b->st_quality = a->st.quality;
		b->status_ms = ep->ts_ms;
		a->dirty = 1;
		break;
	case K_ANOMALY:
		if (on_anomaly(b, line, len, why, whysz) < 0)
			return BMS_ALERT_REJECT;
		break;
	default:
		doc_fill(a, b, kind == K_HEALTH ? 0 : 1, line, len);
		break;
	}
	/* A record older than the battery's latest is known, not judged. */
	if (b->last_ms == NONE || ep->ts_ms >= b->last_ms) {
		b->last_ms = ep->ts_ms;
		evaluate(a, b, ep->ts_ms, 0);
	}
	b->anom_event[0] = '\0';
	return BMS_ALERT_READ;
}

void bms_alert_tick(struct bms_alert *a, int64_t now_ms)
{
	if (a->clock == NONE || now_ms <= a->clock)
		return;
	a->clock = now_ms;
	clock_rules(a, now_ms);
}

int64_t bms_alert_clock(const struct bms_alert *a)
{
	return a->clock;
}

/* ==== Acknowledgements ==== */

int bms_alert_ack(struct bms_alert *a, const char *tenant, const char *alert_id, int64_t ts_ms)
{
	const char *slash = strrchr(alert_id, '/');
	size_t idlen;
	int ri;

	if (!slash || (ri = bms_rules_find(a->rs, slash + 1)) < 0)
		return 0;
	idlen = (size_t)(slash - alert_id);
	for (int i = 0; i < a->nbats; i++) {
		struct battery *b = a->bats[i];
		struct slot *s = &b->slots[ri];

		if (strlen(b->id) != idlen || memcmp(b->id, alert_id, idlen) != 0 ||
		    (tenant && b->has_tenant && strcmp(b->tenant, tenant) != 0))
			continue;
		if ((s->phase == RAISED || s->phase == CLEARING) && !s->acked && s->since <= ts_ms) {
			s->acked = 1;
			a->dirty = 1;
			return 1;
		}
	}
	return 0;
}

int64_t bms_alert_oldest_open(const struct bms_alert *a)
{
	int64_t m = INT64_MAX;

	for (int i = 0; i < a->nbats; i++)
		for (int r = 0; r < a->rs->n; r++) {
			const struct slot *s = &a->bats[i]->slots[r];

			if ((s->phase == RAISED || s->phase == CLEARING) && s->since < m)
				m = s->since;
		}
	return m;
}

int bms_alert_open_count(const struct bms_alert *a)
{
	int n = 0;

	for (int i = 0; i < a->nbats; i++)
		for (int r = 0; r < a->rs->n; r++)
			n += a->bats[i]->slots[r].phase >= RAISED;
	return n;
}

int bms_alert_over_cap(struct bms_alert *a)
{
	if (!a->over_cap || a->cap_told)
		return 0;
	a->cap_told = 1;
	return 1;
}

/* ==== Life ==== */

struct bms_alert *bms_alert_new(struct bms_rules *rs, int def_chem, bms_alert_event_fn fn,
				void *ctx)
{
	struct bms_alert *a = calloc(1, sizeof *a);

	if (!a) {
		bms_rules_free(rs);
		return NULL;
	}
	a->rs = rs;
	a->def_chem = def_chem;
	a->fn = fn;
	a->ctx = ctx;
	a->clock = a->clock_eval = NONE;
	return a;
}

void bms_alert_free(struct bms_alert *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nbats; i++)
		bat_free(a->bats[i]);
	free(a->bats);
	free(a->index);
	free(a->reg);
	bms_rules_free(a->rs);
	bms_buf_free(&a->out);
	bms_buf_free(&a->msg);
	free(a);
}

int bms_alert_set_rules(struct bms_alert *a, struct bms_rules *rs)
{
	struct bms_rules *old = a->rs;
	struct battery **fresh = calloc((size_t)a->nbats + 1, sizeof *fresh);
	int i;

	/* Every battery's new memory first: a failure changes nothing. */
	for (i = 0; fresh && i < a->nbats; i++)
		if (!(fresh[i] = calloc(1, sizeof **fresh)) || bat_fit(fresh[i], rs) < 0)
			break;
	if (!fresh || i < a->nbats) {
		for (int k = 0; fresh && k <= i && k < a->nbats; k++)
			bat_free(fresh[k]);
		free(fresh);
		bms_rules_free(rs);
		return -1;
	}
	for (i = 0; i < a->nbats; i++) {
		struct battery *b = a->bats[i];

		for (int r = 0; r < old->n; r++) {
			int k = bms_rules_find(rs, old->rules[r].name);

			if (k >= 0)
				fresh[i]->slots[k] = b->slots[r];
		}
		free(b->rates), free(b->docs), free(b->slots);
		b->rates = fresh[i]->rates;
		b->docs = fresh[i]->docs;
		b->slots = fresh[i]->slots;
		free(fresh[i]);
	}
	free(fresh);
	a->rs = rs;
	a->conf_gen++;
	a->dirty = 1;
	bms_rules_free(old);
	return 0;
}

void bms_alert_registry(struct bms_alert *a, const char *bms_id, int chem)
{
	int i;

	for (i = 0; i < a->nreg; i++)
		if (strcmp(a->reg[i].id, bms_id) == 0)
			break;
	if (i == a->nreg) {
		void *n = realloc(a->reg, (size_t)(a->nreg + 1) * sizeof *a->reg);

		if (!n)
			return;
		a->reg = n;
		snprintf(a->reg[a->nreg++].id, sizeof a->reg[0].id, "%s", bms_id);
	}
	a->reg[i].chem = chem;
	a->conf_gen++;
	for (int k = 0; k < a->nbats; k++)
		if (strcmp(a->bats[k]->id, bms_id) == 0)
			a->bats[k]->reg_chem = chem;
}

/* ==== State ==== */

int bms_alert_dirty(const struct bms_alert *a)
{
	return a->dirty;
}

static void slot_keys(struct slot *s, struct bms_state_key *k)
{
	const struct bms_state_key keys[] = {
		{ "phase", 'i', &s->phase, 1, NULL }, { "severity", 'i', &s->severity, 1, NULL },
		{ "acked", 'i', &s->acked, 1, NULL }, { "count", 'i', &s->count, 1, NULL },
		{ "t_true", 'l', &s->t_true, 1, NULL }, { "t_clr", 'l', &s->t_clr, 1, NULL },
		{ "since", 'l', &s->since, 1, NULL }, { "last_event", 'l', &s->last_event, 1, NULL },
		{ "sev_at", 'l', &s->sev_at, 1, NULL }, { "esc_true", 'l', &s->esc_true, 1, NULL },
		{ "has_value", 'i', &s->has_value, 1, NULL }, { "value", 'd', &s->value, 1, NULL },
		{ "has_threshold", 'i', &s->has_threshold, 1, NULL },
		{ "threshold", 'd', &s->threshold, 1, NULL },
	};

	memcpy(k, keys, sizeof keys);
}
#define SLOT_NKEYS 14

static void bat_keys(struct battery *b, struct bms_state_key *k)
{
	const struct bms_state_key keys[] = {
		{ "reading", 'l', &b->reading_ms, 1, NULL }, { "status", 'l', &b->status_ms, 1, NULL },
		{ "last", 'l', &b->last_ms, 1, NULL }, { "gap", 'd', &b->gap_ms, 1, NULL },
		{ "have_status", 'i', &b->have_status, 1, NULL },
		{ "status_quality", 'd', &b->st_quality, 1, NULL },
	};

	memcpy(k, keys, sizeof keys);
}
#define BAT_NKEYS 6

static void put_names(struct bms_buf *o, const struct battery *b)
{
	bms_buf_puts(o, "{\"bms_id\":");
	bms_buf_json_str(o, b->id, strlen(b->id));
	if (b->has_tenant) {
		bms_buf_puts(o, ",\"tenant\":");
		bms_buf_json_str(o, b->tenant, strlen(b->tenant));
	}
}

int bms_alert_state_save(struct bms_alert *a, const char *path, char *err, size_t errsz)
{
	struct bms_state_save sv;
	struct bms_state_key k[SLOT_NKEYS];
	struct bms_buf *o = &a->out;

	if (bms_state_save_begin(&sv, path, "bms-alert", STATE_VERSION, err, errsz) < 0)
		return -1;
	bms_buf_reset(o);
	bms_buf_printf(o, "{\"kind\":\"clock\",\"clock\":%lld,\"clock_eval\":%lld}",
		       (long long)a->clock, (long long)a->clock_eval);
	bms_state_save_add(&sv, o->p, o->len);
	for (int i = 0; i < a->nbats; i++) {
		struct battery *b = a->bats[i];

		bms_buf_reset(o);
		put_names(o, b);
		bms_buf_puts(o, ",\"kind\":\"battery\",\"status_state\":");
		bms_buf_json_str(o, b->st_state, strlen(b->st_state));
		bms_buf_puts(o, ",\"status_reason\":");
		bms_buf_json_str(o, b->st_reason, strlen(b->st_reason));
		bms_buf_puts(o, ",\"anomalies\":[");
		for (int n = 0; n < b->nanom; n++) {
			bms_buf_puts(o, n ? ",[" : "[");
			bms_buf_json_str(o, b->anom[n].code, strlen(b->anom[n].code));
			bms_buf_printf(o, ",%d,%d]", b->anom[n].cell, b->anom[n].probe);
		}
		bms_buf_puts(o, "],");
		bat_keys(b, k);
		bms_state_keys_write(k, BAT_NKEYS, o);
		bms_buf_putc(o, '}');
		bms_state_save_add(&sv, o->p, o->len);
		for (int r = 0; r < a->rs->n; r++) {
			struct slot *s = &b->slots[r];

			if (s->phase == IDLE)
				continue;
			bms_buf_reset(o);
			put_names(o, b);
			bms_buf_printf(o, ",\"kind\":\"alert\",\"rule\":\"%s\",", a->rs->rules[r].name);
			slot_keys(s, k);
			bms_state_keys_write(k, SLOT_NKEYS, o);
			bms_buf_putc(o, '}');
			bms_state_save_add(&sv, o->p, o->len);
		}
	}
	if (o->oom) {
		bms_state_save_abort(&sv);
		return bms_err_set(err, errsz, "out of memory");
	}
	if (bms_state_save_commit(&sv, err, errsz) < 0)
		return -1;
	a->dirty = 0;
	return 0;
}

/* The open anomalies of a battery record: [["code",cell,probe],...]. */
static int load_anomalies(struct battery *b, const char *rec, size_t len)
{
	struct bms_json_field f = { .key = "anomalies" };
	const char *pos = NULL, *el;
	size_t elen;

	b->nanom = 0;
	if (bms_json_scan(rec, len, &f, 1, NULL) < 0 || !f.val || *f.val != '[')
		return -1;
	while (bms_json_array_next(f.val, f.len, &pos, &el, &elen) == 1) {
		const char *p2 = NULL, *x[3];
		size_t xl[3];
		int n = 0;

		if (b->nanom == MAX_ANOMALIES || *el != '[')
			return -1;
		while (n < 3 && bms_json_array_next(el, elen, &p2, &x[n], &xl[n]) == 1)
			n++;
		if (n != 3 || bms_json_str_copy(x[0], xl[0], b->anom[b->nanom].code,
						 sizeof b->anom[0].code) <= 0)
			return -1;
		b->anom[b->nanom].cell = atoi(x[1]);
		b->anom[b->nanom].probe = atoi(x[2]);
		b->nanom++;
	}
	return 0;
}

static int load_rec(void *ctx, const struct bms_state_info *info, const char *rec, size_t len,
		    char *err, size_t errsz)
{
	struct bms_alert *a = ctx;
	struct bms_json_field f[6] = { { .key = "kind" }, { .key = "bms_id" }, { .key = "tenant" },
				       { .key = "rule" }, { .key = "status_state" },
				       { .key = "status_reason" } };
	struct bms_state_key k[SLOT_NKEYS];
	char id[BMS_RECORD_ID_MAX + 1], tenant[BMS_RECORD_TENANT_MAX + 1];
	char rule[BMS_RULES_NAME_MAX + 1];
	struct battery *b;
	int ri;

	if (bms_json_scan(rec, len, f, 6, NULL) < 0 || !f[0].val)
		return bms_err_set(err, errsz, "alert state: no kind");
	if (bms_json_str_eq(f[0].val, f[0].len, "clock")) {
		const struct bms_state_key ck[] = { { "clock", 'l', &a->clock, 1, NULL },
						    { "clock_eval", 'l', &a->clock_eval, 1, NULL } };

		return bms_state_keys_read(ck, 2, rec, len, "alert state", err, errsz);
	}
	if (!f[1].val || bms_json_str_copy(f[1].val, f[1].len, id, sizeof id) <= 0 ||
	    (f[2].val && bms_json_str_copy(f[2].val, f[2].len, tenant, sizeof tenant) <= 0))
		return bms_err_set(err, errsz, "alert state: bad bms_id or tenant");
	if (!(b = bat_find(a, id, f[2].val ? tenant : NULL)))
		return bms_err_set(err, errsz, "alert state: too many batteries or no memory");
	if (bms_json_str_eq(f[0].val, f[0].len, "battery")) {
		if (!f[4].val || !f[5].val ||
		    bms_json_str_copy(f[4].val, f[4].len, b->st_state, sizeof b->st_state) < 0 ||
		    bms_json_str_copy(f[5].val, f[5].len, b->st_reason, sizeof b->st_reason) < 0)
			return bms_err_set(err, errsz, "alert state: bad status of '%s'", id);
		if (load_anomalies(b, rec, len) < 0)
			return bms_err_set(err, errsz, "alert state: bad anomalies of '%s'", id);
		bat_keys(b, k);
		return bms_state_keys_read(k, BAT_NKEYS, rec, len, "alert state", err, errsz);
	}
	if (!bms_json_str_eq(f[0].val, f[0].len, "alert") || !f[3].val ||
	    bms_json_str_copy(f[3].val, f[3].len, rule, sizeof rule) <= 0)
		return bms_err_set(err, errsz, "alert state: unknown kind of record");
	if ((ri = bms_rules_find(a->rs, rule)) < 0)
		return 0;	/* the rule is gone from the file */
	slot_keys(&b->slots[ri], k);
	if (bms_state_keys_read(k, SLOT_NKEYS, rec, len, "alert state", err, errsz) < 0)
		return -1;
	if (b->slots[ri].phase < IDLE || b->slots[ri].phase > CLEARING ||
	    b->slots[ri].severity < 0 || b->slots[ri].severity > BMS_SEV_CRITICAL)
		return bms_err_set(err, errsz, "alert state: bad phase or severity");
	(void)info;
	return 0;
}

int bms_alert_state_load(struct bms_alert *a, const char *path, char *err, size_t errsz)
{
	int rc = bms_state_load(path, "bms-alert", STATE_VERSION, load_rec, a, NULL, err, errsz);

	a->dirty = 0;
	return rc < 0 ? -1 : 0;
}

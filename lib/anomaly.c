/* SPDX-License-Identifier: MIT */
/*
 * Anomaly detection on one battery's readings (see anomaly.h; the
 * definitions are bms-agg(1), ANOMALIES).  Workload: per reading a sort
 * of the cells for their median and MAD, and a few comparisons per cell
 * and probe; a record is formatted only when something starts or ends.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "anomaly.h"
#include "health.h"
#include "state.h"
#include "ts.h"

void bms_anomaly_conf_defaults(struct bms_anomaly_conf *c)
{
	memset(c, 0, sizeof *c);
	c->dev_z = 3.5;
	c->dev_mad_floor_mv = 5;
	c->dev_min_mv = 50;
	c->dev_sustain_ms = 60000;
	c->dev_clear_ms = 60000;
	c->pack_jump_v = 5;
	c->cell_jump_v = 0.3;
	c->temp_jump_c = 10;
	c->jump_max_dt_ms = 60000;
	c->rise_c_per_min = 0.5;
	c->rise_span_ms = 600000;
	c->stuck_cell_ms = 30 * 60000;
	c->stuck_probe_ms = 12 * 3600000;
	c->stuck_current_a = 10;
}

void bms_anomaly_init(struct bms_anomaly *a)
{
	memset(a, 0, sizeof *a);
	for (int k = 0; k < BMS_MAX_CELLS; k++)
		a->dev_since[k] = BMS_ANOMALY_NONE;
	for (int p = 0; p < BMS_MAX_TEMPS; p++)
		for (int j = 0; j < BMS_ANOMALY_SLOTS; j++)
			a->slot[p][j] = BMS_ANOMALY_NONE;
}

/* ==== Records ==== */

/* Where records go while one reading is handled. */
struct out {
	struct bms_anomaly *a;
	const struct bms_record_head *head;
	void (*emit)(void *ctx, const char *rec, size_t len);
	void *ctx;
	int made;
};

/* One anomaly record's fields. */
struct arec {
	const char *code, *state;
	int cell, probe;		/* 1-based; 0: none */
	double value;			/* V or degC */
	int has_prev;
	double prev;			/* jumps: the previous reading's value */
	int has_dev;
	double dev_mv;			/* cell_deviation: v - median, mV */
	double score, threshold;
	int sdec;			/* decimals of score and threshold */
	int64_t since;			/* ms, or BMS_ANOMALY_NONE */
	char msg[256];
};

static void msg(struct arec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct arec *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
}

static void put(struct out *o, const struct arec *r)
{
	char mem[BMS_ANOMALY_REC_MAX];
	struct bms_buf b = { mem, 0, sizeof mem, 0 };
	const struct bms_record_head *h = o->head;
	int vdec = r->probe ? 1 : 3;

	/* The envelope as record.h bounds it takes well under half of mem,
	 * and the rest under 1 KiB: the buffer never grows (it cannot). */
	if (h->bms_id_len + h->timestamp_len + (h->tenant ? h->tenant_len : 0) >
	    BMS_ANOMALY_REC_MAX / 2) {
		o->a->dropped++;
		return;
	}
	mem[0] = '\0';
	bms_record_head_raw(&b, "anomaly", h);
	bms_buf_printf(&b, ",\"code\":\"%s\",\"state\":\"%s\"", r->code, r->state);
	if (r->cell)
		bms_buf_printf(&b, ",\"cell\":%d", r->cell);
	if (r->probe)
		bms_buf_printf(&b, ",\"probe\":%d", r->probe);
	bms_buf_puts(&b, ",\"value\":");
	bms_buf_num(&b, r->value, vdec);
	if (r->has_prev) {
		bms_buf_puts(&b, ",\"previous\":");
		bms_buf_num(&b, r->prev, vdec);
	}
	if (r->has_dev) {
		bms_buf_puts(&b, ",\"deviation_mv\":");
		bms_buf_num(&b, r->dev_mv, 1);
	}
	bms_buf_puts(&b, ",\"score\":");
	bms_buf_num(&b, r->score, r->sdec);
	bms_buf_puts(&b, ",\"threshold\":");
	bms_buf_num(&b, r->threshold, r->sdec);
	if (r->since != BMS_ANOMALY_NONE) {
		char ts[BMS_TS_LEN + 1];

		bms_ts_format_ms(r->since, ts);
		bms_buf_printf(&b, ",\"since\":\"%s\"", ts);
	}
	bms_buf_puts(&b, ",\"message\":");
	bms_buf_json_str(&b, r->msg, strlen(r->msg));
	bms_buf_putc(&b, '}');
	o->emit(o->ctx, b.p, b.len);
	o->made++;
}

/* put() r with the message fmt formats from ap. */
static void vput(struct out *o, struct arec *r, const char *fmt, va_list ap)
{
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	put(o, r);
}

static struct arec rec(const char *code, const char *state)
{
	struct arec r;

	memset(&r, 0, sizeof r);
	r.code = code;
	r.state = state;
	r.since = BMS_ANOMALY_NONE;
	r.sdec = 3;
	return r;
}

/* ==== cell_deviation ==== */

/* Cell k's cell_deviation record in state ("start" or "end"): value v,
 * d V from the median, robust z against threshold, since, the message. */
static void dev_put(struct out *o, const char *state, int k, double v, double d, double z,
		    double threshold, int64_t since, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));
static void dev_put(struct out *o, const char *state, int k, double v, double d, double z,
		    double threshold, int64_t since, const char *fmt, ...)
{
	struct arec r = rec("cell_deviation", state);
	va_list ap;

	r.cell = k + 1;
	r.value = v;
	r.has_dev = 1;
	r.dev_mv = d * 1000;
	r.score = z;
	r.threshold = threshold;
	r.sdec = 2;
	r.since = since;
	va_start(ap, fmt);
	vput(o, &r, fmt, ap);
	va_end(ap);
}

static void deviation(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts,
		      const struct bms_reading *r, struct out *o)
{
	double absd[BMS_MAX_CELLS], med, mad, scale;
	int n = r->ncells;

	if (n != a->ncells) {
		for (int k = 0; k < a->ncells; k++)
			if (a->dev_active[k])
				dev_put(o, "end", k, k < n ? r->cells[k] : 0, 0, 0, 0, ts,
					"cell %d is no longer watched: the number of cells changed",
					k + 1);
		for (int k = 0; k < BMS_MAX_CELLS; k++) {
			a->dev_active[k] = 0;
			a->dev_since[k] = BMS_ANOMALY_NONE;
		}
		a->ncells = n;
	}
	if (n < 3)
		return;
	med = bms_health_median(r->cells, n);
	for (int k = 0; k < n; k++)
		absd[k] = fabs(r->cells[k] - med);
	mad = bms_health_median(absd, n);
	if (mad < c->dev_mad_floor_mv / 1000)
		mad = c->dev_mad_floor_mv / 1000;
	scale = 1.4826 * mad;
	for (int k = 0; k < n; k++) {
		double d = r->cells[k] - med, z = scale > 0 ? d / scale : 0;
		int departs = fabs(z) >= c->dev_z && fabs(d) * 1000 >= c->dev_min_mv;
		int64_t secs;

		/* A departure starts the record, a return ends it, each once it lasts. */
		if (departs == (a->dev_active[k] != 0)) {
			a->dev_since[k] = BMS_ANOMALY_NONE;
			continue;
		}
		if (a->dev_since[k] == BMS_ANOMALY_NONE)
			a->dev_since[k] = ts;
		secs = (ts - a->dev_since[k]) / 1000;
		if (ts - a->dev_since[k] < (a->dev_active[k] ? c->dev_clear_ms : c->dev_sustain_ms))
			continue;
		if (!a->dev_active[k])
			dev_put(o, "start", k, r->cells[k], d, z, c->dev_z, a->dev_since[k],
				"cell %d is %.0f mV %s the median of the pack (robust z %.1f)"
				" for %" PRId64 " s", k + 1, fabs(d) * 1000,
				d < 0 ? "below" : "above", z, secs);
		else
			dev_put(o, "end", k, r->cells[k], d, z, c->dev_z, a->dev_since[k],
				"cell %d is back with the pack (%.0f mV from the median)"
				" for %" PRId64 " s", k + 1, fabs(d) * 1000, secs);
		a->dev_active[k] = !a->dev_active[k];
		a->dev_since[k] = BMS_ANOMALY_NONE;
	}
}

/* ==== Jumps ==== */

static void jumps(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t dt,
		  const struct bms_reading *r, int ncells, int ntemps, int *tjump,
		  struct out *o)
{
	double secs = (double)dt / 1000;

	if ((r->have & BMS_R_VOLTAGE) && a->prev_has_v &&
	    fabs(r->pack_voltage - a->prev_v) >= c->pack_jump_v) {
		struct arec e = rec("voltage_jump", "event");

		e.value = r->pack_voltage;
		e.has_prev = 1;
		e.prev = a->prev_v;
		e.score = r->pack_voltage - a->prev_v;
		e.threshold = c->pack_jump_v;
		msg(&e, "pack voltage jumped from %.3f V to %.3f V in %.3f s", a->prev_v,
		    r->pack_voltage, secs);
		put(o, &e);
	}
	if (ncells > 0 && ncells == a->prev_ncells)
		for (int k = 0; k < ncells; k++) {
			double d = r->cells[k] - a->prev_cells[k];
			struct arec e;

			if (fabs(d) < c->cell_jump_v)
				continue;
			e = rec("voltage_jump", "event");
			e.cell = k + 1;
			e.value = r->cells[k];
			e.has_prev = 1;
			e.prev = a->prev_cells[k];
			e.score = d;
			e.threshold = c->cell_jump_v;
			msg(&e, "cell %d jumped from %.3f V to %.3f V in %.3f s", k + 1,
			    a->prev_cells[k], r->cells[k], secs);
			put(o, &e);
		}
	if (ntemps > 0 && ntemps == a->prev_ntemps)
		for (int p = 0; p < ntemps; p++) {
			double d = r->temps[p] - a->prev_temps[p];
			struct arec e;

			if (fabs(d) < c->temp_jump_c)
				continue;
			tjump[p] = 1;
			e = rec("temperature_jump", "event");
			e.probe = p + 1;
			e.value = r->temps[p];
			e.has_prev = 1;
			e.prev = a->prev_temps[p];
			e.score = d;
			e.threshold = c->temp_jump_c;
			e.sdec = 1;
			msg(&e, "probe %d jumped from %.1f to %.1f degC in %.3f s", p + 1,
			    a->prev_temps[p], r->temps[p], secs);
			put(o, &e);
		}
}

/* ==== temperature_rise ==== */

static void rise(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts,
		 const struct bms_reading *r, int ntemps, const int *tjump, struct out *o)
{
	int64_t slot_ms = c->rise_span_ms / BMS_ANOMALY_RISE_SLOTS;
	double thr = c->rise_c_per_min * (double)c->rise_span_ms / 60000;
	int64_t idx;
	int pos;

	if (slot_ms < 1)
		slot_ms = 1;
	idx = bms_agg_align(ts, slot_ms) / slot_ms;
	pos = (int)(((idx % BMS_ANOMALY_SLOTS) + BMS_ANOMALY_SLOTS) % BMS_ANOMALY_SLOTS);
	if (ntemps != a->ntemps) {
		for (int p = 0; p < a->ntemps; p++)
			if (a->rise_active[p]) {
				struct arec e = rec("temperature_rise", "end");

				e.probe = p + 1;
				e.value = p < ntemps ? r->temps[p] : 0;
				e.threshold = thr;
				e.sdec = 1;
				e.since = ts;
				msg(&e, "probe %d is no longer watched: the number of probes changed",
				    p + 1);
				put(o, &e);
			}
		for (int p = 0; p < BMS_MAX_TEMPS; p++) {
			a->rise_active[p] = 0;
			for (int j = 0; j < BMS_ANOMALY_SLOTS; j++)
				a->slot[p][j] = BMS_ANOMALY_NONE;
		}
		a->ntemps = ntemps;
	}
	for (int p = 0; p < ntemps; p++) {
		double v = r->temps[p], lo = v;
		int holds;

		/* A jump is the jump's record, not a rise: the probe's span
		 * starts again from it. */
		if (tjump[p])
			for (int j = 0; j < BMS_ANOMALY_SLOTS; j++)
				a->slot[p][j] = BMS_ANOMALY_NONE;
		if (a->slot[p][pos] != idx) {
			a->slot[p][pos] = idx;
			a->slot_min[p][pos] = v;
		} else if (v < a->slot_min[p][pos])
			a->slot_min[p][pos] = v;
		for (int j = 0; j < BMS_ANOMALY_SLOTS; j++)
			if (a->slot[p][j] != BMS_ANOMALY_NONE &&
			    a->slot[p][j] >= idx - BMS_ANOMALY_RISE_SLOTS &&
			    a->slot[p][j] <= idx && a->slot_min[p][j] < lo)
				lo = a->slot_min[p][j];
		holds = thr > 0 && v - lo >= thr;
		if (holds != a->rise_active[p]) {
			struct arec e = rec("temperature_rise", holds ? "start" : "end");

			e.probe = p + 1;
			e.value = v;
			e.score = v - lo;
			e.threshold = thr;
			e.sdec = 1;
			e.since = ts;
			if (holds)
				msg(&e, "probe %d rose %.1f degC within %" PRId64 " s, faster than"
				    " %.2f degC per minute", p + 1, v - lo,
				    c->rise_span_ms / 1000, c->rise_c_per_min);
			else
				msg(&e, "probe %d no longer rises faster than %.2f degC per minute",
				    p + 1, c->rise_c_per_min);
			put(o, &e);
			a->rise_active[p] = holds;
		}
	}
}

/* ==== sensor_stuck ==== */

/* Channel ch's sensor_stuck record in state ("start" or "end"): value v,
 * held_ms at one value against need, since, the message. */
static void stuck_put(struct out *o, const char *state, int ch, double v, int64_t held_ms,
		      int64_t need, int64_t since, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
static void stuck_put(struct out *o, const char *state, int ch, double v, int64_t held_ms,
		      int64_t need, int64_t since, const char *fmt, ...)
{
	struct arec r = rec("sensor_stuck", state);
	va_list ap;

	if (ch >= BMS_MAX_CELLS)
		r.probe = ch - BMS_MAX_CELLS + 1;
	else
		r.cell = ch + 1;
	r.value = v;
	r.score = (double)held_ms / 1000;
	r.threshold = (double)need / 1000;
	r.sdec = 0;
	r.since = since;
	va_start(ap, fmt);
	vput(o, &r, fmt, ap);
	va_end(ap);
}

static void stuck_one(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts,
		      const struct bms_reading *r, int ch, double v, struct out *o)
{
	int probe = ch >= BMS_MAX_CELLS;
	int num = probe ? ch - BMS_MAX_CELLS + 1 : ch + 1;
	int64_t need = probe ? c->stuck_probe_ms : c->stuck_cell_ms;
	int has_i = (r->have & BMS_R_CURRENT) != 0;
	const char *noun = probe ? "probe" : "cell";
	const char *unit = probe ? "degC" : "V";

	if (!a->ch_valid[ch] || v != a->ch_val[ch]) {
		if (a->ch_active[ch])
			stuck_put(o, "end", ch, v, ts - a->ch_since[ch], need, ts,
				  "%s %d changes again, after %" PRId64 " s at %.*f %s", noun,
				  num, (ts - a->ch_since[ch]) / 1000, probe ? 1 : 3,
				  a->ch_val[ch], unit);
		a->ch_valid[ch] = 1;
		a->ch_active[ch] = 0;
		a->ch_val[ch] = v;
		a->ch_since[ch] = ts;
		a->ch_has_i[ch] = has_i;
		a->ch_imin[ch] = a->ch_imax[ch] = has_i ? r->pack_current : 0;
		return;
	}
	if (has_i) {
		if (!a->ch_has_i[ch]) {
			a->ch_has_i[ch] = 1;
			a->ch_imin[ch] = a->ch_imax[ch] = r->pack_current;
		} else if (r->pack_current < a->ch_imin[ch])
			a->ch_imin[ch] = r->pack_current;
		else if (r->pack_current > a->ch_imax[ch])
			a->ch_imax[ch] = r->pack_current;
	}
	if (!a->ch_active[ch] && ts - a->ch_since[ch] >= need && a->ch_has_i[ch] &&
	    a->ch_imax[ch] - a->ch_imin[ch] >= c->stuck_current_a) {
		stuck_put(o, "start", ch, v, ts - a->ch_since[ch], need, a->ch_since[ch],
			  "%s %d has read %.*f %s for %" PRId64 " s while the current moved"
			  " over %.1f A", noun, num, probe ? 1 : 3, v, unit,
			  (ts - a->ch_since[ch]) / 1000, a->ch_imax[ch] - a->ch_imin[ch]);
		a->ch_active[ch] = 1;
	}
}

/* A channel no longer reported: ended if stuck, and forgotten. */
static void stuck_forget(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts,
			 int ch, struct out *o)
{
	if (a->ch_active[ch]) {
		int probe = ch >= BMS_MAX_CELLS;

		stuck_put(o, "end", ch, a->ch_val[ch], ts - a->ch_since[ch],
			  probe ? c->stuck_probe_ms : c->stuck_cell_ms, ts,
			  "%s %d is no longer reported", probe ? "probe" : "cell",
			  probe ? ch - BMS_MAX_CELLS + 1 : ch + 1);
	}
	a->ch_valid[ch] = 0;
	a->ch_active[ch] = 0;
}

/* ==== Adding a reading ==== */

int bms_anomaly_add(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts,
		    const struct bms_reading *r, const struct bms_record_head *head,
		    void (*emit)(void *ctx, const char *rec, size_t len), void *ctx)
{
	struct out o = { a, head, emit, ctx, 0 };
	int tjump[BMS_MAX_TEMPS] = { 0 };
	int ncells = (r->have & BMS_R_CELLS) && r->ncells > 0 && r->ncells <= BMS_MAX_CELLS
			     ? r->ncells : 0;
	int ntemps = (r->have & BMS_R_TEMPS) && r->ntemps > 0 && r->ntemps <= BMS_MAX_TEMPS
			     ? r->ntemps : 0;

	if (a->n > 0 && ts < a->last_ts)
		return 0;
	if (a->n > 0 && ts - a->last_ts <= c->jump_max_dt_ms)
		jumps(a, c, ts - a->last_ts, r, ncells, ntemps, tjump, &o);
	if (ncells)
		deviation(a, c, ts, r, &o);
	if (ntemps)
		rise(a, c, ts, r, ntemps, tjump, &o);
	for (int k = 0; k < BMS_MAX_CELLS; k++)
		if (k < ncells)
			stuck_one(a, c, ts, r, k, r->cells[k], &o);
		else if (ncells && a->ch_valid[k])
			stuck_forget(a, c, ts, k, &o);
	for (int p = 0; p < BMS_MAX_TEMPS; p++)
		if (p < ntemps)
			stuck_one(a, c, ts, r, BMS_MAX_CELLS + p, r->temps[p], &o);
		else if (ntemps && a->ch_valid[BMS_MAX_CELLS + p])
			stuck_forget(a, c, ts, BMS_MAX_CELLS + p, &o);

	/* What the next reading's jumps compare with: a reading without a
	 * value keeps the last one that had it. */
	a->n++;
	a->last_ts = ts;
	if (r->have & BMS_R_VOLTAGE) {
		a->prev_has_v = 1;
		a->prev_v = r->pack_voltage;
	}
	if (ncells) {
		a->prev_ncells = ncells;
		memcpy(a->prev_cells, r->cells, sizeof r->cells[0] * (size_t)ncells);
	}
	if (ntemps) {
		a->prev_ntemps = ntemps;
		memcpy(a->prev_temps, r->temps, sizeof r->temps[0] * (size_t)ntemps);
	}
	return o.made;
}

/* ==== State records ==== */

#define ANOMALY_NKEYS 32
#define K(name, t, field) { name, t, (void *)&(a)->field, 1, NULL }
#define KA(name, t, field, max, cnt) { name, t, (void *)(a)->field, max, cnt }

static int anomaly_keys(struct bms_anomaly *a, struct bms_state_key *k)
{
	const struct bms_state_key keys[] = {
		K("n", 'l', n), K("last_ts", 'l', last_ts), K("dropped", 'l', dropped),
		K("prev_has_v", 'i', prev_has_v), K("prev_v", 'd', prev_v),
		K("prev_ncells", 'i', prev_ncells), K("prev_ntemps", 'i', prev_ntemps),
		KA("prev_cells", 'a', prev_cells, BMS_MAX_CELLS, &a->prev_ncells),
		KA("prev_temps", 'a', prev_temps, BMS_MAX_TEMPS, &a->prev_ntemps),
		K("ncells", 'i', ncells),
		KA("dev_active", 'I', dev_active, BMS_MAX_CELLS, &a->ncells),
		KA("dev_since", 'L', dev_since, BMS_MAX_CELLS, &a->ncells),
		K("ntemps", 'i', ntemps),
		KA("rise_active", 'I', rise_active, BMS_MAX_TEMPS, &a->ntemps),
		KA("slot", 'L', slot, BMS_MAX_TEMPS * BMS_ANOMALY_SLOTS, NULL),
		KA("slot_min", 'a', slot_min, BMS_MAX_TEMPS * BMS_ANOMALY_SLOTS, NULL),
		KA("ch_valid", 'I', ch_valid, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_active", 'I', ch_active, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_val", 'a', ch_val, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_since", 'L', ch_since, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_has_i", 'I', ch_has_i, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_imin", 'a', ch_imin, BMS_ANOMALY_CHANNELS, NULL),
		KA("ch_imax", 'a', ch_imax, BMS_ANOMALY_CHANNELS, NULL),
	};
	int n = (int)(sizeof keys / sizeof keys[0]);

	_Static_assert(sizeof keys / sizeof keys[0] <= ANOMALY_NKEYS, "ANOMALY_NKEYS");
	memcpy(k, keys, sizeof keys);
	return n;
}

#undef K
#undef KA

void bms_anomaly_state(const struct bms_anomaly *a, struct bms_buf *out)
{
	struct bms_state_key k[ANOMALY_NKEYS];
	int n = anomaly_keys((struct bms_anomaly *)a, k);

	bms_state_keys_write(k, n, out);
}

int bms_anomaly_state_load(struct bms_anomaly *a, const char *rec, size_t len,
			   char *err, size_t errsz)
{
	struct bms_state_key k[ANOMALY_NKEYS];
	int n;

	bms_anomaly_init(a);
	n = anomaly_keys(a, k);
	if (bms_state_keys_read(k, n, rec, len, "anomaly state", err, errsz) < 0) {
		bms_anomaly_init(a);
		return -1;
	}
	return 0;
}

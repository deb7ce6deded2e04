/* SPDX-License-Identifier: MIT */
/*
 * Merged batteries (see merge.h).  A merge is a fixed struct of one
 * parsed reading per pack (a few KiB each); an offer copies the reading
 * into its slot and, once all are there, combines them in one pass.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "merge.h"
#include "ts.h"

/* ==== Definitions ==== */

int bms_merge_parse(struct bms_merge_def *d, const char *arg, char *err, size_t errsz)
{
	const char *eq = strchr(arg, '='), *s;
	size_t n;

	if (!eq || eq == arg || !eq[1])
		return bms_err_set(err, errsz, "'%s' is not NAME=ID,ID,...", arg);
	n = (size_t)(eq - arg);
	if (n > BMS_RECORD_ID_MAX)
		return bms_err_set(err, errsz, "'%.*s...': a name of at most %d bytes", 20, arg,
				   BMS_RECORD_ID_MAX);
	memcpy(d->name, arg, n);
	d->name[n] = '\0';
	d->npacks = 0;
	for (s = eq + 1;;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len == 0)
			return bms_err_set(err, errsz, "%s: an empty pack name", d->name);
		if (len > BMS_RECORD_ID_MAX)
			return bms_err_set(err, errsz, "%s: a pack name of more than %d bytes",
					   d->name, BMS_RECORD_ID_MAX);
		if (d->npacks == BMS_MERGE_PACKS)
			return bms_err_set(err, errsz, "%s: more than %d packs", d->name,
					   BMS_MERGE_PACKS);
		memcpy(d->pack[d->npacks], s, len);
		d->pack[d->npacks][len] = '\0';
		if (strcmp(d->pack[d->npacks], d->name) == 0)
			return bms_err_set(err, errsz, "%s: a pack cannot be the merged battery",
					   d->name);
		for (int i = 0; i < d->npacks; i++)
			if (strcmp(d->pack[i], d->pack[d->npacks]) == 0)
				return bms_err_set(err, errsz, "%s: pack '%s' twice", d->name,
						   d->pack[i]);
		d->capacity_ah[d->npacks] = 0;
		d->npacks++;
		if (!e)
			break;
		s = e + 1;
	}
	if (d->npacks < 2)
		return bms_err_set(err, errsz, "%s: at least 2 packs", d->name);
	return 0;
}

int bms_merge_check(const struct bms_merge_def *defs, int n, char *err, size_t errsz)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if (j != i && strcmp(defs[i].name, defs[j].name) == 0)
				return bms_err_set(err, errsz, "merge '%s' is defined twice",
						   defs[i].name);
			for (int p = 0; p < defs[j].npacks; p++) {
				if (strcmp(defs[j].pack[p], defs[i].name) == 0)
					return bms_err_set(err, errsz, "merge '%s' is a pack of merge '%s'",
							   defs[i].name, defs[j].name);
				for (int q = 0; j > i && q < defs[i].npacks; q++)
					if (strcmp(defs[j].pack[p], defs[i].pack[q]) == 0)
						return bms_err_set(err, errsz,
								   "pack '%s' is in merges '%s' and '%s'",
								   defs[i].pack[q], defs[i].name,
								   defs[j].name);
			}
		}
	return 0;
}

void bms_merge_init(struct bms_merge *m, const struct bms_merge_def *d)
{
	memset(m, 0, sizeof *m);
	m->def = *d;
}

int bms_merge_pack(const struct bms_merge *m, const char *bms_id)
{
	for (int i = 0; i < m->def.npacks; i++)
		if (strcmp(m->def.pack[i], bms_id) == 0)
			return i;
	return -1;
}

/* ==== Combining ==== */

/* Copy doc d into slot s: the codes point into s's own text. */
static void copy_doc(struct bms_reading_doc *s, const struct bms_reading_doc *d)
{
	*s = *d;
	for (int i = 0; i < s->r.nfaults; i++)
		if (d->r.faults[i] >= d->text && d->r.faults[i] < d->text + sizeof d->text)
			s->r.faults[i] = s->text + (d->r.faults[i] - d->text);
	for (int i = 0; i < s->r.nwarnings; i++)
		if (d->r.warnings[i] >= d->text && d->r.warnings[i] < d->text + sizeof d->text)
			s->r.warnings[i] = s->text + (d->r.warnings[i] - d->text);
}

static void add_code(const char **list, int *n, const char *c)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(list[i], c) == 0)
			return;
	if (*n < BMS_MAX_CODES)
		list[(*n)++] = c;
}

/* Combine the full slots of m into out. */
static unsigned combine(const struct bms_merge *m, struct bms_reading *out)
{
	const int np = m->def.npacks, par = m->def.mode == BMS_MERGE_PARALLEL;
	unsigned all = ~0u, cut = 0;
	double w[BMS_MERGE_PACKS], wsum = 0;
	int equal = 0, nc = 0, nt = 0;

	bms_reading_clear(out);
	for (int p = 0; p < np; p++)
		all &= m->slot[p].r.have;
	/* Weights: each pack's capacity, or equal ones. */
	for (int p = 0; p < np; p++) {
		const struct bms_reading *r = &m->slot[p].r;

		w[p] = (r->have & BMS_R_NOMINAL) && r->nominal_capacity_ah > 0 ?
			r->nominal_capacity_ah : m->def.capacity_ah[p];
		if (w[p] <= 0)
			equal = 1;
	}
	for (int p = 0; p < np; p++) {
		if (equal)
			w[p] = 1;
		wsum += w[p];
	}
	for (int p = 0; p < np; p++) {
		const struct bms_reading *r = &m->slot[p].r;
		int first = p == 0;

		out->pack_voltage += r->pack_voltage;
		out->pack_current += r->pack_current;
		out->pack_power += r->pack_power;
		if (par)
			out->remaining_capacity_ah += r->remaining_capacity_ah;
		else if (first || r->remaining_capacity_ah < out->remaining_capacity_ah)
			out->remaining_capacity_ah = r->remaining_capacity_ah;
		if (par) {
			out->soc_percent += r->soc_percent * w[p] / wsum;
			out->soh_percent += r->soh_percent * w[p] / wsum;
			out->nominal_capacity_ah += r->nominal_capacity_ah;
		} else if (first) {
			out->soc_percent = r->soc_percent;
			out->soh_percent = r->soh_percent;
			out->nominal_capacity_ah = r->nominal_capacity_ah;
		} else {
			out->soc_percent = r->soc_percent < out->soc_percent ? r->soc_percent : out->soc_percent;
			out->soh_percent = r->soh_percent < out->soh_percent ? r->soh_percent : out->soh_percent;
			out->nominal_capacity_ah = r->nominal_capacity_ah < out->nominal_capacity_ah ?
				r->nominal_capacity_ah : out->nominal_capacity_ah;
		}
		nc += r->ncells;
		nt += r->ntemps;
	}
	if (par)
		out->pack_voltage /= np;
	else
		out->pack_current /= np;
	out->have = all & (BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER | BMS_R_SOC | BMS_R_SOH |
			   BMS_R_REMAIN | BMS_R_NOMINAL);
	if ((all & BMS_R_CELLS) && nc > BMS_MAX_CELLS)
		cut |= BMS_MERGE_CUT_CELLS;
	else if (all & BMS_R_CELLS) {
		out->have |= BMS_R_CELLS;
		if (all & BMS_R_BALANCE)
			out->have |= BMS_R_BALANCE;
		for (int p = 0, at = 0; p < np; p++) {
			const struct bms_reading *r = &m->slot[p].r;

			memcpy(out->cells + at, r->cells, sizeof r->cells[0] * (size_t)r->ncells);
			out->balancing_active |= r->balancing_active;
			out->balancing_mask |= (r->balancing_mask &
						(r->ncells >= 64 ? ~0ull : (1ull << r->ncells) - 1)) << at;
			at += r->ncells;
		}
		out->ncells = nc;
	}
	if ((all & BMS_R_TEMPS) && nt > BMS_MAX_TEMPS)
		cut |= BMS_MERGE_CUT_TEMPS;
	else if (all & BMS_R_TEMPS) {
		out->have |= BMS_R_TEMPS;
		for (int p = 0, at = 0; p < np; p++) {
			const struct bms_reading *r = &m->slot[p].r;

			memcpy(out->temps + at, r->temps, sizeof r->temps[0] * (size_t)r->ntemps);
			at += r->ntemps;
		}
		out->ntemps = nt;
	}
	if (all & BMS_R_PROTECT) {
		out->have |= BMS_R_PROTECT;
		for (int p = 0; p < np; p++) {
			const struct bms_protection *x = &m->slot[p].r.prot;

			out->prot.overvoltage |= x->overvoltage;
			out->prot.undervoltage |= x->undervoltage;
			out->prot.overcurrent_charge |= x->overcurrent_charge;
			out->prot.overcurrent_discharge |= x->overcurrent_discharge;
			out->prot.overtemperature |= x->overtemperature;
			out->prot.undertemperature |= x->undertemperature;
		}
	}
	if (all & BMS_R_CODES) {
		out->have |= BMS_R_CODES;
		for (int p = 0; p < np; p++) {
			const struct bms_reading *r = &m->slot[p].r;

			for (int i = 0; i < r->nfaults; i++)
				add_code(out->faults, &out->nfaults, r->faults[i]);
			for (int i = 0; i < r->nwarnings; i++)
				add_code(out->warnings, &out->nwarnings, r->warnings[i]);
		}
	}
	if (all & BMS_R_MOS) {
		out->have |= BMS_R_MOS;
		out->charge_mos = out->discharge_mos = true;
		for (int p = 0; p < np; p++) {
			out->charge_mos &= m->slot[p].r.charge_mos;
			out->discharge_mos &= m->slot[p].r.discharge_mos;
		}
	}
	return cut;
}

int bms_merge_offer(struct bms_merge *m, int p, const struct bms_reading_doc *d,
		    struct bms_reading *out, int64_t *ts, const char **tenant, unsigned *cut)
{
	const int np = m->def.npacks;
	int64_t newest = d->env.ts_ms;
	int latest = p, q;

	*cut = 0;
	if (m->full[p])
		m->dropped++;
	copy_doc(&m->slot[p], d);
	m->full[p] = 1;
	for (q = 0; q < np; q++)
		if (m->full[q] && m->slot[q].env.ts_ms > newest)
			newest = m->slot[q].env.ts_ms, latest = q;
	for (q = 0; q < np; q++)
		if (m->full[q] && newest - m->slot[q].env.ts_ms > m->def.window_ms) {
			m->full[q] = 0;
			m->dropped++;
		}
	for (q = 0; q < np && m->full[q]; q++)
		;
	if (q < np)
		return 0;
	/* The latest of equal times is the first in the list's order. */
	for (q = 0; q < np; q++)
		if (m->slot[q].env.ts_ms == newest) {
			latest = q;
			break;
		}
	*cut = combine(m, out);
	m->cut |= *cut;
	*ts = newest;
	*tenant = m->slot[latest].env.has_tenant ? m->slot[latest].env.tenant : NULL;
	memset(m->full, 0, sizeof m->full);
	m->made++;
	return 1;
}

void bms_merge_json(const struct bms_merge *m, const struct bms_reading *r, int64_t ts,
		    const char *tenant, struct bms_buf *out)
{
	char id[2 * BMS_RECORD_ID_MAX + 16], tn[2 * BMS_RECORD_TENANT_MAX + 16];
	char t[BMS_TS_LEN + 3];
	struct bms_buf b = BMS_BUF_INIT;
	struct bms_record_head h = { 0 };

	/* The head's JSON texts: short, escaped into a scratch buffer. */
	bms_buf_json_str(&b, m->def.name, strlen(m->def.name));
	snprintf(id, sizeof id, "%s", b.p ? b.p : "\"\"");
	bms_buf_reset(&b);
	if (tenant) {
		bms_buf_json_str(&b, tenant, strlen(tenant));
		snprintf(tn, sizeof tn, "%s", b.p ? b.p : "\"\"");
		h.tenant = tn;
		h.tenant_len = strlen(tn);
	}
	bms_buf_free(&b);
	t[0] = '"';
	bms_ts_format_ms(ts, t + 1);
	t[BMS_TS_LEN + 1] = '"';
	t[BMS_TS_LEN + 2] = '\0';
	h.bms_id = id;
	h.bms_id_len = strlen(id);
	h.timestamp = t;
	h.timestamp_len = BMS_TS_LEN + 2;
	bms_reading_json(r, &h, NULL, out);
}

/* ==== State ==== */

/* ,"k":[v,...] with every number exact. */
static void exact_list(struct bms_buf *out, const char *k, const double *v, int n)
{
	bms_buf_printf(out, ",\"%s\":[", k);
	for (int i = 0; i < n; i++) {
		if (i)
			bms_buf_putc(out, ',');
		bms_buf_exact(out, v[i]);
	}
	bms_buf_putc(out, ']');
}

static void exact_num(struct bms_buf *out, const char *k, double v)
{
	bms_buf_printf(out, ",\"%s\":", k);
	bms_buf_exact(out, v);
}

static void codes(struct bms_buf *out, const char *k, const char *const *c, int n)
{
	bms_buf_printf(out, ",\"%s\":[", k);
	for (int i = 0; i < n; i++) {
		if (i)
			bms_buf_putc(out, ',');
		bms_buf_json_str(out, c[i], strlen(c[i]));
	}
	bms_buf_putc(out, ']');
}

/* A pending reading as a reading record that reads back the same. */
static void exact_reading(const struct bms_reading_doc *d, struct bms_buf *out)
{
	const struct bms_reading *r = &d->r;
	char t[BMS_TS_LEN + 1];

	bms_ts_format_ms(d->env.ts_ms, t);
	bms_record_head(out, "reading", d->env.bms_id, t, d->env.has_tenant ? d->env.tenant : NULL);
	if (r->have & BMS_R_VOLTAGE)
		exact_num(out, "pack_voltage", r->pack_voltage);
	if (r->have & BMS_R_CURRENT)
		exact_num(out, "pack_current", r->pack_current);
	if (r->have & BMS_R_POWER)
		exact_num(out, "pack_power", r->pack_power);
	if (r->have & BMS_R_SOC)
		exact_num(out, "soc_percent", r->soc_percent);
	if (r->have & BMS_R_SOH)
		exact_num(out, "soh_percent", r->soh_percent);
	if (r->have & BMS_R_TEMPS)
		exact_list(out, "temperatures", r->temps, r->ntemps);
	if (r->have & BMS_R_CELLS)
		exact_list(out, "cell_voltages", r->cells, r->ncells);
	if (r->have & BMS_R_BALANCE) {
		bms_buf_printf(out, ",\"balancing_status\":{\"active\":%s,\"cells_balancing\":[",
			       r->balancing_active ? "true" : "false");
		for (int i = 0, first = 1; i < 64; i++)
			if (r->balancing_mask >> i & 1) {
				bms_buf_printf(out, "%s%d", first ? "" : ",", i + 1);
				first = 0;
			}
		bms_buf_puts(out, "]}");
	}
	if (r->have & BMS_R_PROTECT) {
		const struct bms_protection *p = &r->prot;

		bms_buf_printf(out, ",\"protection_status\":{\"overvoltage\":%s,\"undervoltage\":%s,"
			       "\"overcurrent_charge\":%s,\"overcurrent_discharge\":%s,"
			       "\"overtemperature\":%s,\"undertemperature\":%s}",
			       p->overvoltage ? "true" : "false", p->undervoltage ? "true" : "false",
			       p->overcurrent_charge ? "true" : "false",
			       p->overcurrent_discharge ? "true" : "false",
			       p->overtemperature ? "true" : "false",
			       p->undertemperature ? "true" : "false");
	}
	if (r->have & BMS_R_CODES) {
		codes(out, "fault_codes", r->faults, r->nfaults);
		codes(out, "warning_codes", r->warnings, r->nwarnings);
	}
	if (r->have & BMS_R_CYCLES)
		bms_buf_printf(out, ",\"cycles\":%ld", r->cycles);
	if (r->have & BMS_R_REMAIN)
		exact_num(out, "remaining_capacity_ah", r->remaining_capacity_ah);
	if (r->have & BMS_R_NOMINAL)
		exact_num(out, "nominal_capacity_ah", r->nominal_capacity_ah);
	if (r->have & BMS_R_MOS)
		bms_buf_printf(out, ",\"charge_mos\":%s,\"discharge_mos\":%s",
			       r->charge_mos ? "true" : "false", r->discharge_mos ? "true" : "false");
	bms_buf_putc(out, '}');
}

int bms_merge_state_record(const struct bms_merge *m, int i, struct bms_buf *out)
{
	for (int p = 0; p < m->def.npacks; p++)
		if (m->full[p] && i-- == 0) {
			bms_buf_puts(out, "{\"kind\":\"pending\",\"merge\":");
			bms_buf_json_str(out, m->def.name, strlen(m->def.name));
			bms_buf_puts(out, ",\"pack\":");
			bms_buf_json_str(out, m->def.pack[p], strlen(m->def.pack[p]));
			bms_buf_puts(out, ",\"reading\":");
			exact_reading(&m->slot[p], out);
			bms_buf_putc(out, '}');
			return 1;
		}
	return 0;
}

int bms_merge_state_load(struct bms_merge **ms, int n, const char *rec, size_t len,
			 int *dropped, char *err, size_t errsz)
{
	struct bms_json_field f[] = { { .key = "merge" }, { .key = "pack" }, { .key = "reading" } };
	char name[BMS_RECORD_ID_MAX + 1], pack[BMS_RECORD_ID_MAX + 1], why[256];
	struct bms_json_err je;
	struct bms_merge *m = NULL;
	int p;

	*dropped = 0;
	if (bms_json_scan(rec, len, f, 3, &je) < 0)
		return bms_err_set(err, errsz, "%s at byte %zu", je.what, je.at + 1);
	if (!f[0].val || bms_json_str_copy(f[0].val, f[0].len, name, sizeof name) < 0 ||
	    !f[1].val || bms_json_str_copy(f[1].val, f[1].len, pack, sizeof pack) < 0 ||
	    !f[2].val)
		return bms_err_set(err, errsz, "pending: needs \"merge\", \"pack\" and \"reading\"");
	for (int i = 0; i < n && !m; i++)
		if (strcmp(ms[i]->def.name, name) == 0)
			m = ms[i];
	if (!m || (p = bms_merge_pack(m, pack)) < 0) {
		*dropped = 1;
		return 0;
	}
	if (bms_reading_parse(f[2].val, f[2].len, &m->slot[p], why, sizeof why) < 0)
		return bms_err_set(err, errsz, "pending: %s", why);
	m->full[p] = 1;
	return 0;
}

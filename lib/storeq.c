/* SPDX-License-Identifier: MIT */
/*
 * Store queries (see store.h, bms_store_query): readings at the raw,
 * per-minute or per-hour tier, and the status, alert, aggregate, health
 * and anomaly records, as NDJSON or CSV; and the latest status and
 * reading of batteries, for the web dashboard.
 *
 * Invariants.  One statement walks the rows in (bms_id, time) order along
 * the primary key or the (battery, ts) indexes (a CROSS JOIN keeps the
 * batteries as the outer loop), so nothing is sorted and nothing is
 * collected: each row becomes one line in the handle's one
 * output buffer and goes to the caller's callback at once.  Memory is
 * constant in the size of the result.  Raw readings come back byte for
 * byte as they were stored (lib/readpack), tier points as the aggregate
 * records lib/agg writes, the other records as their stored text; an
 * alert's with its row's id and acknowledgement added (alert_line).
 *
 * CSV follows RFC 4180: a field holding a comma, a quote or a line break
 * is quoted, with its quotes doubled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store-int.h"
#include "ts.h"

/* ==== Output helpers ==== */

static int emit(struct bms_store *st, int (*fn)(void *ctx, const char *line, size_t len),
		void *ctx)
{
	if (st->out.oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	return fn(ctx, st->out.p ? st->out.p : "", st->out.len);
}

/* One CSV field, quoted when it must be. */
static void csv_str(struct bms_buf *b, const char *s, size_t n)
{
	size_t run = 0, i;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		bms_buf_add(b, s, n);
		return;
	}
	bms_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		bms_buf_add(b, s + run, i + 1 - run);	/* through the quote */
		bms_buf_putc(b, '"');
		run = i + 1;
	}
	bms_buf_add(b, s + run, n - run);
	bms_buf_putc(b, '"');
}

static void csv_cstr(struct bms_buf *b, const char *s)
{
	if (s)
		csv_str(b, s, strlen(s));
}

static void put_time(struct bms_buf *b, int64_t ms)
{
	char t[BMS_TS_LEN + 1];

	bms_ts_format_ms(ms, t);
	bms_buf_add(b, t, BMS_TS_LEN);
}

/*
 * A value of a stored record as a CSV field: a string decoded, a number
 * or true/false as written, null or absent as an empty field.
 */
static void csv_json(struct bms_store *st, struct bms_buf *b, const struct bms_json_field *f)
{
	long n;

	if (!f->val || (f->len == 4 && memcmp(f->val, "null", 4) == 0))
		return;
	if (f->val[0] != '"') {
		csv_str(b, f->val, f->len);
		return;
	}
	bms_buf_reset(&st->sbuf);
	bms_buf_add(&st->sbuf, f->val, f->len);	/* room: decoding only shrinks */
	if (st->sbuf.oom)
		return;
	n = bms_json_str_get(f->val, f->len, st->sbuf.p, f->len);
	if (n > 0)
		csv_str(b, st->sbuf.p, (size_t)n);
}

/* ==== Tier choice ==== */

/* Does retention of days (0: forever) still cover since? */
static int covers(long days, int64_t since, int64_t now)
{
	return since >= bms_store_cutoff(now, days);
}

static int choose_tier(struct bms_store *st, const struct bms_store_query *q,
		       enum bms_store_tier *tier)
{
	struct bms_retention k;
	int64_t span = q->until_ms - q->since_ms, now;	/* both clamped */
	int rc;

	if (q->tier != BMS_TIER_AUTO) {
		*tier = q->tier;
		return 0;
	}
	if ((rc = bms_store_keep(st, &k)) < 0)
		return rc;
	now = bms_ts_now_ms();
	if (span <= 48 * STORE_HOUR_MS && covers(k.raw_days, q->since_ms, now))
		*tier = BMS_TIER_RAW;
	else if (span <= 60 * STORE_DAY_MS && covers(k.minute_days, q->since_ms, now))
		*tier = BMS_TIER_MINUTE;
	else
		*tier = BMS_TIER_HOUR;
	return 0;
}

/* ==== Raw readings ==== */

static const char raw_header[] =
	"timestamp,bms_id,pack_voltage,pack_current,pack_power,soc_percent,"
	"soh_percent,cell_voltages,temperatures,cycles,remaining_capacity_ah,"
	"fault_codes,warning_codes";

static void csv_num(struct bms_buf *b, int present, double v, int dec)
{
	bms_buf_putc(b, ',');
	if (present)
		bms_buf_num(b, v, dec);
}

static void csv_list(struct bms_buf *b, int present, const double *v, int n, int dec)
{
	bms_buf_putc(b, ',');
	for (int i = 0; present && i < n; i++) {
		if (i)
			bms_buf_putc(b, ' ');
		bms_buf_num(b, v[i], dec);
	}
}

/* Codes separated by a space, in one field. */
static void csv_codes(struct bms_store *st, struct bms_buf *b, int present,
		      const char *const *c, int n)
{
	bms_buf_putc(b, ',');
	bms_buf_reset(&st->sbuf);
	for (int i = 0; present && i < n; i++) {
		if (i)
			bms_buf_putc(&st->sbuf, ' ');
		bms_buf_puts(&st->sbuf, c[i]);
	}
	if (st->sbuf.len)
		csv_str(b, st->sbuf.p, st->sbuf.len);
}

static void raw_csv(struct bms_store *st, struct bms_buf *b, const char *bms_id,
		    int64_t ts, const struct bms_reading *r)
{
	unsigned h = r->have;

	put_time(b, ts);
	bms_buf_putc(b, ',');
	csv_cstr(b, bms_id);
	csv_num(b, h & BMS_R_VOLTAGE, r->pack_voltage, 3);
	csv_num(b, h & BMS_R_CURRENT, r->pack_current, 3);
	csv_num(b, h & BMS_R_POWER, r->pack_power, 2);
	csv_num(b, h & BMS_R_SOC, r->soc_percent, 2);
	csv_num(b, h & BMS_R_SOH, r->soh_percent, 2);
	csv_list(b, h & BMS_R_CELLS, r->cells, r->ncells, 4);
	csv_list(b, h & BMS_R_TEMPS, r->temps, r->ntemps, 2);
	csv_num(b, h & BMS_R_CYCLES, (double)r->cycles, 0);
	csv_num(b, h & BMS_R_REMAIN, r->remaining_capacity_ah, 3);
	csv_codes(st, b, h & BMS_R_CODES, r->faults, r->nfaults);
	csv_codes(st, b, h & BMS_R_CODES, r->warnings, r->nwarnings);
}

/*
 * The line of raw reading row s (bms_id, ts, body) in st->out: the
 * reading exactly as it was stored, or as CSV.  0, or EFAIL for a blob
 * that is damaged.
 */
static int raw_line(struct bms_store *st, sqlite3_stmt *s, int csv)
{
	struct bms_buf *b = &st->out;
	const char *id = (const char *)sqlite3_column_text(s, 0);
	int64_t ts = sqlite3_column_int64(s, 1);
	const void *blob = sqlite3_column_blob(s, 2);
	size_t n = (size_t)sqlite3_column_bytes(s, 2);
	char e[140];
	int bad;

	bms_buf_reset(b);
	if (csv) {
		bad = bms_readpack_unpack(blob, n, st->rp);
		if (!bad)
			raw_csv(st, b, id, ts, &st->rp->r);
	} else {
		bad = bms_readpack_json(blob, n, id, ts, st->tenant, b);
	}
	if (!bad)
		return 0;
	return bms_store_fail(st, BMS_STORE_EFAIL, "damaged reading of '%s' at %lld ms ('%s')",
			      bms_store_esc(e, sizeof e, id ? id : ""), (long long)ts,
			      st->db_path);
}

static int query_raw(struct bms_store *st, const struct bms_store_query *q,
		     int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = bms_store_prep(st, "SELECT b.bms_id, r.ts, r.body FROM batteries b"
			   " CROSS JOIN readings r ON r.battery = b.id"
			   " WHERE (?1 IS NULL OR b.bms_id = ?1) AND r.ts >= ?2 AND r.ts < ?3"
			   " ORDER BY b.bms_id, r.ts");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, q->bms_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->since_ms);
	sqlite3_bind_int64(s, 3, q->until_ms);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
		if (!(stop = raw_line(st, s, q->csv)))
			stop = emit(st, fn, ctx);
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_reading_latest(struct bms_store *st, const char *bms_id,
			     int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	sqlite3_stmt *s;
	char e[140];
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	/* One probe: the last row of the battery's stretch of the primary key. */
	s = bms_store_prep(st, "SELECT b.bms_id, r.ts, r.body FROM batteries b"
			   " CROSS JOIN readings r ON r.battery = b.id"
			   " WHERE b.bms_id = ?1 ORDER BY r.ts DESC LIMIT 1");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, bms_id ? bms_id : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if ((rc = raw_line(st, s, 0)) == 0)
			rc = emit(st, fn, ctx);
	} else if (rc == SQLITE_DONE) {
		rc = bms_store_fail(st, BMS_STORE_ECONFIG, "no reading of battery '%s'",
				    bms_store_esc(e, sizeof e, bms_id ? bms_id : ""));
	} else {
		rc = bms_store_tdberr(st);
	}
	bms_store_finish(st, s);
	return rc;
}

/* ==== Tier points ==== */

static int query_tier(struct bms_store *st, const struct bms_store_query *q, int hour,
		      int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	struct bms_buf *b = &st->out;
	int64_t period = hour ? STORE_HOUR_MS : STORE_MINUTE_MS;
	struct bms_agg_bucket pt;
	sqlite3_stmt *s;
	int rc, stop = 0;

	bms_buf_reset(b);
	bms_buf_puts(b, "SELECT b.bms_id, t.start");
	bms_store_tier_cols(b, "t.");
	bms_buf_puts(b, " FROM batteries b CROSS JOIN tiers t ON t.battery = b.id"
		     " WHERE (?1 IS NULL OR b.bms_id = ?1) AND t.period = ?4"
		     " AND t.start >= ?2 AND t.start < ?3 ORDER BY b.bms_id, t.start");
	if (b->oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	if (!(s = bms_store_prep(st, b->p)))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, q->bms_id, -1, SQLITE_STATIC);
	/* Every bucket that overlaps [since, until). */
	sqlite3_bind_int64(s, 2, bms_agg_align(q->since_ms, period));
	sqlite3_bind_int64(s, 3, q->until_ms);
	sqlite3_bind_int64(s, 4, period / 1000);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);

		bms_agg_init(&pt, period);
		pt.start = sqlite3_column_int64(s, 1);
		bms_store_tier_row(s, 2, &pt);
		bms_buf_reset(b);
		if (q->csv) {
			put_time(b, pt.start);
			bms_buf_putc(b, ',');
			csv_cstr(b, id);
			bms_agg_csv_tail(&pt, b);
		} else {
			bms_agg_json(&pt, id, strlen(id), NULL, b);
		}
		stop = emit(st, fn, ctx);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

static int tier_header(struct bms_store *st,
		       int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	bms_buf_reset(&st->out);
	bms_agg_csv_header(&st->out);
	return emit(st, fn, ctx);
}

/* ==== Status, alerts, aggregates, health, anomalies ==== */

static const char *const doc_table[] = {
	[BMS_Q_STATUS] = "status", [BMS_Q_ALERTS] = "alerts",
	[BMS_Q_AGGREGATES] = "aggregates", [BMS_Q_HEALTH] = "health",
	[BMS_Q_ANOMALIES] = "anomalies",
};

static const char *const doc_header[] = {
	[BMS_Q_STATUS] = "timestamp,bms_id,state,reason,quality,message",
	[BMS_Q_ALERTS] = "id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,"
		"ack_at",
	[BMS_Q_AGGREGATES] = "timestamp,bms_id,doc",
	[BMS_Q_HEALTH] = "timestamp,bms_id,doc",
	[BMS_Q_ANOMALIES] = "timestamp,bms_id,code,state,message",
};

/* The CSV columns of a status or anomaly record after its time and
 * battery: its fields read back from the text (the header's names). */
static void fields_csv(struct bms_store *st, struct bms_buf *b, enum bms_store_what what,
		       const char *doc, size_t n)
{
	struct bms_json_field f[4] = { { .key = "state" }, { .key = "reason" },
				       { .key = "quality" }, { .key = "message" } };
	size_t nf = 4;

	if (what == BMS_Q_ANOMALIES) {
		f[0].key = "code", f[1].key = "state", f[2].key = "message";
		nf = 3;
	}
	if (bms_json_scan(doc, n, f, nf, NULL) < 0)
		memset(f, 0, sizeof f);
	for (size_t i = 0; i < nf; i++) {
		bms_buf_putc(b, ',');
		csv_json(st, b, &f[i]);
	}
}

/* ==== Alerts as NDJSON ==== */

/* The members an alert query adds to a stored alert line. */
static const char *const added_key[] = { "id", "ack_by", "ack_at" };
#define N_ADDED ((int)(sizeof added_key / sizeof added_key[0]))

/* The walk below runs on a line bms_json_scan accepted (so well-formed),
 * and stays inside s[0..n) whatever it is given. */
static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* The end of the string that starts at s[i] (a quote): past its closing quote. */
static size_t skip_str(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

/* The end of the value that starts at s[i]. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	int depth = 0;

	if (i < n && s[i] == '"')
		return skip_str(s, n, i);
	if (i < n && s[i] != '{' && s[i] != '[') {	/* a number, true, false, null */
		while (i < n && !memchr(",}] \t\r\n", s[i], 7))
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = skip_str(s, n, i);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* Is the key string s[0..n) (as written, quotes included) one of added_key? */
static int is_added(const char *s, size_t n)
{
	char key[8];
	long k = bms_json_str_get(s, n, key, sizeof key);

	for (int j = 0; k > 0 && j < N_ADDED; j++)
		if ((size_t)k == strlen(added_key[j]) && memcmp(key, added_key[j], (size_t)k) == 0)
			return 1;
	return 0;
}

/*
 * Append the members of the object s[0..close) (its text up to the
 * closing brace at s[close]) to b, leaving out those added_key names, the
 * rest byte for byte: a member left out goes with the comma before it,
 * or, when no member before it stays, with the comma after it.  Returns
 * whether a member stays.
 */
static int strip_added(struct bms_buf *b, const char *s, size_t close)
{
	size_t i = skip_ws(s, close, 0) + 1, from = 0, last = 0;
	int kept = 0;

	for (;;) {
		size_t ks, ke, ve;
		int out;

		i = skip_ws(s, close, i);
		if (i >= close || s[i] != '"')
			break;
		ks = i;
		ke = skip_str(s, close, ks);
		i = skip_ws(s, close, ke) + 1;		/* past the colon */
		ve = skip_value(s, close, skip_ws(s, close, i));
		out = is_added(s + ks, ke - ks);
		i = skip_ws(s, close, ve);
		if (out && kept) {		/* from the end of the member before */
			bms_buf_add(b, s + from, last - from);
			from = ve;
		} else if (out) {		/* through the comma after it */
			bms_buf_add(b, s + from, ks - from);
			from = i < close && s[i] == ',' ? skip_ws(s, close, i + 1) : ve;
		} else {
			kept = 1;
		}
		last = ve;
		if (i >= close || s[i] != ',')
			break;
		i++;
	}
	bms_buf_add(b, s + from, close - from);
	return kept;
}

/*
 * A stored alert line as a query prints it: the line with the row's
 * "id" added before its closing brace, and, once the alert is
 * acknowledged, "ack_by" and "ack_at" (RFC 3339); each of them once,
 * whatever the line held under those keys (a line of an earlier query,
 * stored again, holds them), the rest byte for byte.  Row s of
 * query_docs; a line that is not a JSON object (only a hand-edited
 * database holds one) comes back as it is.
 */
static void alert_line(struct bms_buf *b, sqlite3_stmt *s, const char *doc, size_t n)
{
	struct bms_json_field f[N_ADDED];
	size_t close = n;
	int kept, has = 0;

	for (int j = 0; j < N_ADDED; j++)
		f[j] = (struct bms_json_field){ .key = added_key[j] };
	while (close > 0 && doc[close - 1] != '}')
		close--;
	if (close == 0 || bms_json_scan(doc, n, f, N_ADDED, NULL) < 0) {
		bms_buf_add(b, doc, n);
		return;
	}
	close--;			/* the closing brace */
	for (int j = 0; j < N_ADDED; j++)
		has |= f[j].val != NULL;
	if (has) {
		kept = strip_added(b, doc, close);
	} else {
		kept = skip_ws(doc, close, skip_ws(doc, close, 0) + 1) < close;
		bms_buf_add(b, doc, close);
	}
	bms_buf_printf(b, "%s\"id\":%lld", kept ? "," : "",
		       (long long)sqlite3_column_int64(s, 3));
	if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
		const char *by = (const char *)sqlite3_column_text(s, 8);

		bms_buf_puts(b, ",\"ack_by\":");
		if (by)
			bms_buf_json_str(b, by, (size_t)sqlite3_column_bytes(s, 8));
		else
			bms_buf_puts(b, "null");
		bms_buf_puts(b, ",\"ack_at\":\"");
		put_time(b, sqlite3_column_int64(s, 9));
		bms_buf_putc(b, '"');
	}
	bms_buf_add(b, doc + close, n - close);
}

static int query_docs(struct bms_store *st, const struct bms_store_query *q,
		      int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	struct bms_buf *b = &st->out;
	sqlite3_stmt *s;
	int rc, stop = 0;

	bms_buf_reset(b);
	bms_buf_printf(b, "SELECT b.bms_id, x.ts, x.doc%s FROM batteries b"
		       " CROSS JOIN %s x ON x.battery = b.id"
		       " WHERE (?1 IS NULL OR b.bms_id = ?1) AND x.ts >= ?2 AND x.ts < ?3"
		       " ORDER BY b.bms_id, x.ts, x.id",
		       q->what == BMS_Q_ALERTS ? ", x.id, x.severity, x.code, x.state,"
		       " x.message, x.ack_by, x.ack_at, x.alert_id" : "",
		       doc_table[q->what]);
	if (b->oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	if (!(s = bms_store_prep(st, b->p)))
		return BMS_STORE_EFAIL;
	sqlite3_bind_text(s, 1, q->bms_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->since_ms);
	sqlite3_bind_int64(s, 3, q->until_ms);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		int64_t ts = sqlite3_column_int64(s, 1);
		const char *doc = (const char *)sqlite3_column_text(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);

		bms_buf_reset(b);
		if (!q->csv && q->what == BMS_Q_ALERTS) {
			alert_line(b, s, doc, n);
		} else if (!q->csv) {
			bms_buf_add(b, doc, n);
		} else if (q->what == BMS_Q_ALERTS) {
			bms_buf_printf(b, "%lld,", (long long)sqlite3_column_int64(s, 3));
			put_time(b, ts);
			bms_buf_putc(b, ',');
			csv_cstr(b, id);
			bms_buf_putc(b, ',');
			csv_cstr(b, (const char *)sqlite3_column_text(s, 10));
			for (int c = 4; c <= 8; c++) {
				bms_buf_putc(b, ',');
				csv_cstr(b, (const char *)sqlite3_column_text(s, c));
			}
			bms_buf_putc(b, ',');
			if (sqlite3_column_type(s, 9) != SQLITE_NULL)
				put_time(b, sqlite3_column_int64(s, 9));
		} else {
			put_time(b, ts);
			bms_buf_putc(b, ',');
			csv_cstr(b, id);
			if (q->what == BMS_Q_STATUS || q->what == BMS_Q_ANOMALIES) {
				fields_csv(st, b, q->what, doc, n);
			} else {
				bms_buf_putc(b, ',');
				csv_str(b, doc, n);
			}
		}
		stop = emit(st, fn, ctx);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_status_latest(struct bms_store *st,
			    int (*fn)(void *ctx, const char *bms_id, int64_t ts_ms,
				      const char *state, const char *reason, double quality),
			    void *ctx)
{
	sqlite3_stmt *s;
	int rc, stop = 0;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	/* One probe of the (battery, ts) index per battery. */
	if (!(s = bms_store_prep(st,
			"SELECT b.bms_id, x.ts, x.state, x.reason, x.quality FROM batteries b"
			" CROSS JOIN status x ON x.id = (SELECT y.id FROM status y"
			" WHERE y.battery = b.id ORDER BY y.ts DESC, y.id DESC LIMIT 1)"
			" ORDER BY b.bms_id")))
		return BMS_STORE_EFAIL;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
		stop = fn(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			  (const char *)sqlite3_column_text(s, 2),
			  (const char *)sqlite3_column_text(s, 3),
			  sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 :
			  sqlite3_column_double(s, 4));
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

/* ==== The query ==== */

/* Times beyond any record, kept where differences and buckets of them
 * cannot overflow. */
static int64_t clamp(int64_t ms)
{
	const int64_t lim = INT64_C(1) << 60;

	return ms < -lim ? -lim : ms > lim ? lim : ms;
}

int bms_store_query(struct bms_store *st, const struct bms_store_query *query,
		    int (*fn)(void *ctx, const char *line, size_t len), void *ctx,
		    enum bms_store_tier *tier_used)
{
	enum bms_store_tier tier = BMS_TIER_RAW;
	struct bms_store_query qc = *query;
	const struct bms_store_query *q = &qc;
	int rc;

	qc.since_ms = clamp(qc.since_ms);
	qc.until_ms = clamp(qc.until_ms);
	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	/* what indexes the tables above; each tier has its own query. */
	if ((unsigned)q->what > BMS_Q_ANOMALIES)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "bad query: no record type %d",
				      (int)q->what);
	if ((unsigned)q->tier > BMS_TIER_HOUR)
		return bms_store_fail(st, BMS_STORE_ECONFIG, "bad query: no tier %d",
				      (int)q->tier);
	if (q->what == BMS_Q_READINGS && (rc = choose_tier(st, q, &tier)) < 0)
		return rc;
	if (tier_used)
		*tier_used = tier;
	if (q->csv) {
		if (q->what != BMS_Q_READINGS) {
			bms_buf_reset(&st->out);
			bms_buf_puts(&st->out, doc_header[q->what]);
			rc = emit(st, fn, ctx);
		} else if (tier == BMS_TIER_RAW) {
			bms_buf_reset(&st->out);
			bms_buf_puts(&st->out, raw_header);
			rc = emit(st, fn, ctx);
		} else {
			rc = tier_header(st, fn, ctx);
		}
		if (rc != 0)
			return rc;
	}
	if (q->what != BMS_Q_READINGS)
		return query_docs(st, q, fn, ctx);
	if (tier == BMS_TIER_RAW)
		return query_raw(st, q, fn, ctx);
	return query_tier(st, q, tier == BMS_TIER_HOUR, fn, ctx);
}

/* ==== Following the store as it is written ==== */

/*
 * A follower's cursors: per battery (by its row id) the time of the
 * latest reading given, and the latest status and alert row given, and
 * the latest acknowledgement (time, row).  Batteries are few, so they
 * are a small array searched in order.
 */
struct bms_store_follow {
	struct { int64_t id, ts; } *bat;
	size_t nbat, cap;
	int64_t status_id, alert_id, ack_at, ack_id;
	int started;
};

/* At most this many of a battery's newest readings, and of the newest
 * status and alert rows, are given by one call: a bulk import is history,
 * not news. */
#define FOLLOW_MAX 100

struct bms_store_follow *bms_store_follow_new(void)
{
	return calloc(1, sizeof(struct bms_store_follow));
}

void bms_store_follow_free(struct bms_store_follow *f)
{
	if (f)
		free(f->bat);
	free(f);
}

/* The cursor of battery id, added at -1 (not seen yet) when new; NULL
 * when out of memory. */
static int64_t *follow_bat(struct bms_store_follow *f, int64_t id)
{
	for (size_t i = 0; i < f->nbat; i++)
		if (f->bat[i].id == id)
			return &f->bat[i].ts;
	if (f->nbat == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		void *p = realloc(f->bat, cap * sizeof *f->bat);

		if (!p)
			return NULL;
		f->bat = p;
		f->cap = cap;
	}
	f->bat[f->nbat].id = id;
	f->bat[f->nbat].ts = -1;
	return &f->bat[f->nbat++].ts;
}

typedef int follow_fn(void *ctx, enum bms_store_what what, const char *bms_id,
		      const char *line, size_t len);

/* Row s's line in st->out to fn, its bms_id in column 0. */
static int emit_follow(struct bms_store *st, enum bms_store_what what, sqlite3_stmt *s,
		       follow_fn *fn, void *ctx)
{
	const char *id = (const char *)sqlite3_column_text(s, 0);

	if (st->out.oom)
		return bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
	return fn(ctx, what, id ? id : "", st->out.p ? st->out.p : "", st->out.len);
}

static int follow_readings(struct bms_store *st, struct bms_store_follow *f, follow_fn *fn,
			   void *ctx)
{
	sqlite3_stmt *bs, *s;
	int rc, stop = 0;

	if (!(bs = bms_store_prep(st, "SELECT id FROM batteries ORDER BY id")))
		return BMS_STORE_EFAIL;
	/* The battery's readings after its cursor, no more than the newest
	 * FOLLOW_MAX; of a battery not seen before only the newest one, and
	 * at the start none (the cursor is set to its newest). */
	s = bms_store_prep(st, "SELECT b.bms_id, r.ts, r.body FROM batteries b"
			   " CROSS JOIN readings r ON r.battery = b.id"
			   " WHERE b.id = ?1 AND r.ts > ?2 AND r.ts >= coalesce((SELECT y.ts"
			   " FROM readings y WHERE y.battery = ?1 ORDER BY y.ts DESC"
			   " LIMIT 1 OFFSET ?3), ?2) ORDER BY r.ts");
	if (!s) {
		bms_store_finish(st, bs);
		return BMS_STORE_EFAIL;
	}
	while (!stop && (rc = sqlite3_step(bs)) == SQLITE_ROW) {
		int64_t *cur = follow_bat(f, sqlite3_column_int64(bs, 0));
		int fresh;

		if (!cur) {
			stop = bms_store_fail(st, BMS_STORE_EFAIL, "out of memory");
			break;
		}
		fresh = *cur < 0;
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, sqlite3_column_int64(bs, 0));
		sqlite3_bind_int64(s, 2, *cur);
		sqlite3_bind_int(s, 3, fresh ? 0 : FOLLOW_MAX - 1);
		while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			*cur = sqlite3_column_int64(s, 1);
			if (fresh && !f->started)
				continue;
			if (!(stop = raw_line(st, s, 0)))
				stop = emit_follow(st, BMS_Q_READINGS, s, fn, ctx);
		}
		if (!stop && rc != SQLITE_DONE)
			stop = bms_store_tdberr(st);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	bms_store_finish(st, bs);
	return stop;
}

/*
 * The status or alert rows after *last (at the start none: *last is set
 * to the newest), no more than the newest FOLLOW_MAX; with ack, the
 * alerts acknowledged after (ack_at, ack_id) instead.
 */
static int follow_docs(struct bms_store *st, struct bms_store_follow *f,
		       enum bms_store_what what, int ack, follow_fn *fn, void *ctx)
{
	int64_t *last = what == BMS_Q_STATUS ? &f->status_id : &f->alert_id;
	sqlite3_stmt *s;
	int rc, stop = 0;

	if (!f->started) {
		s = bms_store_prep(st, ack ? "SELECT ack_at, id FROM alerts WHERE ack_at IS NOT NULL"
					     " ORDER BY ack_at DESC, id DESC LIMIT 1" :
				   what == BMS_Q_STATUS ? "SELECT max(id) FROM status" :
				   "SELECT max(id) FROM alerts");
		if (!s)
			return BMS_STORE_EFAIL;
		if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (ack) {
				f->ack_at = sqlite3_column_int64(s, 0);
				f->ack_id = sqlite3_column_int64(s, 1);
			} else {
				*last = sqlite3_column_int64(s, 0);
			}
		} else if (rc != SQLITE_DONE) {
			stop = bms_store_tdberr(st);
		}
		bms_store_finish(st, s);
		return stop;
	}
	if (ack)
		s = bms_store_prep(st, "SELECT * FROM (SELECT b.bms_id, x.ts, x.doc, x.id,"
				   " x.severity, x.code, x.state, x.message, x.ack_by, x.ack_at"
				   " FROM batteries b CROSS JOIN alerts x ON x.battery = b.id"
				   " WHERE x.ack_at >= ?1 AND (x.ack_at > ?1 OR x.id > ?2)"
				   " ORDER BY x.ack_at DESC, x.id DESC LIMIT ?3)"
				   " ORDER BY ack_at, id");
	else if (what == BMS_Q_STATUS)
		s = bms_store_prep(st, "SELECT b.bms_id, x.ts, x.doc, x.id FROM batteries b"
				   " CROSS JOIN status x ON x.battery = b.id"
				   " WHERE x.id > ?1 AND x.id > (SELECT max(id) FROM status) - ?3"
				   " ORDER BY x.id");
	else
		s = bms_store_prep(st, "SELECT b.bms_id, x.ts, x.doc, x.id, x.severity, x.code,"
				   " x.state, x.message, x.ack_by, x.ack_at FROM batteries b"
				   " CROSS JOIN alerts x ON x.battery = b.id"
				   " WHERE x.id > ?1 AND x.id > (SELECT max(id) FROM alerts) - ?3"
				   " ORDER BY x.id");
	if (!s)
		return BMS_STORE_EFAIL;
	sqlite3_bind_int64(s, 1, ack ? f->ack_at : *last);
	sqlite3_bind_int64(s, 2, f->ack_id);
	sqlite3_bind_int(s, 3, FOLLOW_MAX);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);

		if (ack) {
			f->ack_at = sqlite3_column_int64(s, 9);
			f->ack_id = sqlite3_column_int64(s, 3);
		} else {
			*last = sqlite3_column_int64(s, 3);
		}
		bms_buf_reset(&st->out);
		if (what == BMS_Q_ALERTS)
			alert_line(&st->out, s, doc ? doc : "", n);
		else
			bms_buf_add(&st->out, doc ? doc : "", n);
		stop = emit_follow(st, what, s, fn, ctx);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = bms_store_tdberr(st);
	bms_store_finish(st, s);
	return stop;
}

int bms_store_follow_next(struct bms_store *st, struct bms_store_follow *f,
			  int (*fn)(void *ctx, enum bms_store_what what, const char *bms_id,
				    const char *line, size_t len),
			  void *ctx)
{
	int rc;

	if ((rc = bms_store_need_tenant(st)) < 0)
		return rc;
	/* One read transaction: the four look at the same commit. */
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return bms_store_tdberr(st);
	if (!(rc = follow_readings(st, f, fn, ctx)) &&
	    !(rc = follow_docs(st, f, BMS_Q_STATUS, 0, fn, ctx)) &&
	    !(rc = follow_docs(st, f, BMS_Q_ALERTS, 0, fn, ctx)))
		rc = follow_docs(st, f, BMS_Q_ALERTS, 1, fn, ctx);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	/* A first look that failed part way is made again in full: a
	 * cursor it did not set would otherwise give history as news. */
	if (rc == 0)
		f->started = 1;
	return rc;
}

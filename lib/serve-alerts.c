/* SPDX-License-Identifier: MIT */
/*
 * bms-serve's alerts (serve.h): the alert records the store keeps,
 * filtered, and their acknowledgement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "serve-int.h"
#include "ts.h"

struct alerts {
	struct bms_buf *o;
	const char *severity;	/* NULL: any */
	const char *state;	/* NULL: any */
	int open;		/* -1 any; 1 only alerts not cleared; 0 only cleared */
	int pass;		/* 0: learning which alerts are open; 1: writing */
	int n, limit;
	/* alert ids whose latest record is not "cleared", in pass 0 */
	char (*ids)[200];
	int nids, capids;
};

static int alert_open(const struct alerts *a, const char *id, size_t n)
{
	for (int i = 0; i < a->nids; i++)
		if (strlen(a->ids[i]) == n && memcmp(a->ids[i], id, n) == 0)
			return 1;
	return 0;
}

static int alert_each(void *ctx, const char *line, size_t len)
{
	struct alerts *a = ctx;
	struct bms_json_field f[3] = { { .key = "alert_id" }, { .key = "state" },
				       { .key = "severity" } };
	char id[200];
	long n;

	if (bms_json_scan(line, len, f, 3, NULL) < 0)
		return 0;
	n = f[0].val ? bms_json_str_copy(f[0].val, f[0].len, id, sizeof id) : -1;
	if (a->pass == 0) {
		int cleared = f[1].val && bms_json_str_eq(f[1].val, f[1].len, "cleared");
		int notify = f[1].val && bms_json_str_eq(f[1].val, f[1].len, "notify_failed");

		if (n <= 0 || notify)
			return 0;
		if (cleared) {
			for (int i = 0; i < a->nids; i++)
				if (strcmp(a->ids[i], id) == 0) {
					memcpy(a->ids[i], a->ids[--a->nids], sizeof a->ids[0]);
					break;
				}
		} else if (!alert_open(a, id, (size_t)n)) {
			if (a->nids == a->capids) {
				int cap = a->capids ? 2 * a->capids : 16;
				void *p = realloc(a->ids, (size_t)cap * sizeof *a->ids);

				if (!p)
					return 1;
				a->ids = p;
				a->capids = cap;
			}
			memcpy(a->ids[a->nids++], id, (size_t)n + 1);
		}
		return 0;
	}
	if (a->severity && !(f[2].val && bms_json_str_eq(f[2].val, f[2].len, a->severity)))
		return 0;
	if (a->state && !(f[1].val && bms_json_str_eq(f[1].val, f[1].len, a->state)))
		return 0;
	if (a->open >= 0 && (n <= 0 || alert_open(a, id, (size_t)n) != a->open))
		return 0;
	if (a->n == a->limit)
		return 1;
	bms_buf_puts(a->o, a->n++ ? "," : "");
	bms_buf_add(a->o, line, len);
	return 0;
}

/* s if it is one of words, else NULL. */
static const char *word(const char *s, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], s) == 0)
			return s;
	return NULL;
}

/* GET /api/v1/alerts?bms_id=&severity=&state=&open=&since=&until=&limit= */
void bms_serve_alerts(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	static const char *const sevs[] = { "info", "warning", "critical", NULL };
	static const char *const states[] = { "raised", "escalated", "repeated", "cleared",
					      "notify_failed", NULL };
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_VIEWER, &c);
	struct bms_store_query q = { .what = BMS_Q_ALERTS };
	struct alerts a = { &rs->body, NULL, NULL, -1, 0, 0, 1000, NULL, 0, 0 };
	char id[128], sev[16], state[16], open[8], lim[16];
	int rc;

	if (!st)
		return;
	q.since_ms = bms_ts_now_ms() - 30LL * 86400000;
	q.until_ms = INT64_MAX / 2;
	if ((rc = bms_serve_param(rq, rs, "bms_id", id, sizeof id)) < 0)
		return;
	if (rc)
		q.bms_id = id;
	if (bms_serve_time_param(rq, rs, "since", &q.since_ms) < 0 ||
	    bms_serve_time_param(rq, rs, "until", &q.until_ms) < 0)
		return;
	if ((rc = bms_serve_param(rq, rs, "severity", sev, sizeof sev)) < 0)
		return;
	if (rc && !(a.severity = word(sev, sevs))) {
		bms_http_error(rs, 400, "bad_request", "severity: not info, warning or critical",
			       "{\"field\":\"severity\"}");
		return;
	}
	if ((rc = bms_serve_param(rq, rs, "state", state, sizeof state)) < 0)
		return;
	if (rc && !(a.state = word(state, states))) {
		bms_http_error(rs, 400, "bad_request", "state: not raised, escalated, repeated, "
			       "cleared or notify_failed", "{\"field\":\"state\"}");
		return;
	}
	if ((rc = bms_serve_param(rq, rs, "open", open, sizeof open)) < 0)
		return;
	if (rc) {
		if (strcmp(open, "true") && strcmp(open, "false")) {
			bms_http_error(rs, 400, "bad_request", "open: not true or false",
				       "{\"field\":\"open\"}");
			return;
		}
		a.open = strcmp(open, "true") == 0;
	}
	if ((rc = bms_serve_param(rq, rs, "limit", lim, sizeof lim)) < 0)
		return;
	if (rc) {
		char *end;
		long v = strtol(lim, &end, 10);

		if (*end || end == lim || v < 1 || v > 10000) {
			bms_http_error(rs, 400, "bad_request", "limit: not a whole number from 1 to 10000",
				       "{\"field\":\"limit\"}");
			return;
		}
		a.limit = (int)v;
	}
	bms_buf_putc(&rs->body, '[');
	rc = a.open >= 0 ? bms_store_query(st, &q, alert_each, &a, NULL) : 0;
	a.pass = 1;
	if (rc >= 0)
		rc = bms_store_query(st, &q, alert_each, &a, NULL);
	free(a.ids);
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* POST /api/v1/alerts/{id}/ack {"note":"..."}: operator and up. */
void bms_serve_alert_ack(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_OPERATOR, &c);
	struct bms_alert_ack first;
	const char *note = NULL;
	char at[BMS_TS_LEN + 1], *end;
	json_t *o = NULL, *v;
	int64_t now = bms_ts_now_ms();
	long long id;
	int rc;

	if (!st)
		return;
	id = strtoll(rq->params[0], &end, 10);
	if (*end || id <= 0) {
		bms_http_error(rs, 404, "not_found", "no such alert", NULL);
		return;
	}
	if (rq->body_len) {
		if (!(o = bms_serve_body(rq, rs)))
			return;
		if ((v = json_object_get(o, "note")) &&
		    !(note = bms_serve_want_str(o, "note", 1000, rs)))
			goto out;
	}
	rc = bms_store_alert_ack(st, id, c.user, now, note, &first);
	if (rc == BMS_STORE_ECONFIG && note && strstr(bms_store_error(st), "note")) {
		bms_http_error(rs, 400, "bad_request", "note: not text of one line", "{\"field\":\"note\"}");
	} else if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such alert", NULL);
	} else if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
	} else {
		if (rc == 1)
			rs->status = 409;
		bms_ts_format_ms(rc == 1 ? first.at_ms : now, at);
		bms_buf_printf(&rs->body, "{\"id\":%lld,\"ack_by\":", id);
		bms_buf_json_str(&rs->body, rc == 1 ? first.by : c.user,
				 strlen(rc == 1 ? first.by : c.user));
		bms_buf_printf(&rs->body, ",\"ack_at\":\"%s\"%s}", at,
			       rc == 1 ? ",\"error\":\"conflict\",\"message\":\"acknowledged already\"" : "");
	}
out:
	json_decref(o);
}

/* SPDX-License-Identifier: MIT */
/*
 * The record envelope (see record.h).  Workload: every record a stage
 * handles goes through bms_record_get once, after the one scan of its
 * line; a plain bms_id and tenant (no backslash) are copied, not
 * decoded, and the timestamp is parsed in place.
 */
#include <string.h>

#include "err.h"
#include "record.h"
#include "ts.h"

static const char *const names[BMS_RECORD_NKEYS] = {
	"type", "bms_id", "timestamp", "tenant",
};

void bms_record_keys(struct bms_json_field *f)
{
	for (int k = 0; k < BMS_RECORD_NKEYS; k++)
		f[k].key = names[k];
}

int bms_record_scan(const char *s, size_t n, struct bms_json_field *f, size_t nf,
		    char *err, size_t errsz)
{
	struct bms_json_err jerr;

	if (bms_json_scan(s, n, f, nf, &jerr) < 0) {
		bms_err_set(err, errsz, "not a JSON object: %s at byte %zu",
			    jerr.what, jerr.at + 1);
		return BMS_RECORD_EJSON;
	}
	return 0;
}

int bms_record_scan_typed(const char *s, size_t n, struct bms_json_field *f, size_t nf,
			  char *err, size_t errsz)
{
	int rc = bms_record_scan(s, n, f, nf, err, errsz);

	if (rc < 0)
		return rc;
	if (!f[BMS_RECORD_TYPE].val) {
		bms_err_set(err, errsz, "no type");
		return BMS_RECORD_ENOTYPE;
	}
	if (f[BMS_RECORD_TYPE].dup) {
		bms_err_set(err, errsz, "type: more than once");
		return BMS_RECORD_EDUP;
	}
	return 0;
}

/* A string field of the envelope into out; 0, or the code with err set. */
static int get_name(const struct bms_json_field *f, char *out, size_t cap,
		    int code, char *err, size_t errsz)
{
	long n = bms_json_str_copy(f->val, f->len, out, cap);

	if (n >= 0)
		return 0;
	out[0] = '\0';
	if (n == -1)
		bms_err_set(err, errsz, "%s: not a string", f->key);
	else if (n == -2)
		bms_err_set(err, errsz, "%s: longer than %zu bytes", f->key, cap - 1);
	else
		bms_err_set(err, errsz, "%s: NUL in it", f->key);
	return code;
}

int bms_record_get(const struct bms_json_field *f, struct bms_record *r,
		   char *err, size_t errsz)
{
	char ts[BMS_RECORD_TS_MAX + 1];
	long n;
	int rc;

	r->type = f[BMS_RECORD_TYPE].val;
	r->type_len = f[BMS_RECORD_TYPE].len;
	r->id_json = f[BMS_RECORD_ID].val;
	r->id_json_len = f[BMS_RECORD_ID].len;
	r->ts_json = f[BMS_RECORD_TS].val;
	r->ts_json_len = f[BMS_RECORD_TS].len;
	r->tenant_json = f[BMS_RECORD_TENANT].val;
	r->tenant_json_len = f[BMS_RECORD_TENANT].len;
	r->bms_id[0] = '\0';
	r->tenant[0] = '\0';
	r->has_tenant = 0;
	r->ts_ms = 0;

	if (!r->type || r->type[0] != '"') {
		bms_err_set(err, errsz, "no type");
		return BMS_RECORD_ENOTYPE;
	}
	if (!r->id_json) {
		bms_err_set(err, errsz, "no bms_id");
		return BMS_RECORD_ENOID;
	}
	rc = get_name(&f[BMS_RECORD_ID], r->bms_id, sizeof r->bms_id,
		      BMS_RECORD_EID, err, errsz);
	if (rc == BMS_RECORD_EID && r->id_json[0] != '"')
		rc = BMS_RECORD_ENOID;
	if (rc < 0)
		return rc;
	if (!r->bms_id[0]) {
		bms_err_set(err, errsz, "bms_id: empty");
		return BMS_RECORD_ENOID;
	}
	if (!r->ts_json) {
		bms_err_set(err, errsz, "no timestamp");
		return BMS_RECORD_ENOTS;
	}
	if (r->tenant_json) {
		rc = get_name(&f[BMS_RECORD_TENANT], r->tenant, sizeof r->tenant,
			      BMS_RECORD_ETENANT, err, errsz);
		if (rc < 0)
			return rc;
		r->has_tenant = 1;
	}
	for (int k = 0; k < BMS_RECORD_NKEYS; k++) {
		if (f[k].dup) {
			bms_err_set(err, errsz, "%s: more than once", names[k]);
			return BMS_RECORD_EDUP;
		}
	}
	n = bms_json_str_copy(r->ts_json, r->ts_json_len, ts, sizeof ts);
	if (n < 0 || bms_ts_parse(ts, (size_t)n, &r->ts_ms) < 0) {
		bms_err_set(err, errsz, "bad timestamp");
		return BMS_RECORD_ETIME;
	}
	return BMS_RECORD_OK;
}

int bms_record_parse(const char *s, size_t n, struct bms_record *r,
		     char *err, size_t errsz)
{
	struct bms_json_field f[BMS_RECORD_NKEYS];
	int rc;

	bms_record_keys(f);
	if ((rc = bms_record_scan(s, n, f, BMS_RECORD_NKEYS, err, errsz)) < 0)
		return rc;
	return bms_record_get(f, r, err, errsz);
}

int bms_record_name_check(const char *s, size_t max, char *err, size_t errsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n == 0)
		return bms_err_set(err, errsz, "empty");
	if (n > max)
		return bms_err_set(err, errsz, "longer than %zu bytes", max);
	if (!bms_json_utf8_valid(s, n))
		return bms_err_set(err, errsz, "not UTF-8");
	for (size_t i = 0; i < n; i++) {
		/* C0 and DEL; C1 (U+0080..U+009F) is 0xc2 0x80..0x9f. */
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0))
			return bms_err_set(err, errsz, "control character at byte %zu",
					   i + 1);
	}
	return 0;
}

/* ==== Writing ==== */

void bms_record_head_raw(struct bms_buf *b, const char *type,
			 const struct bms_record_head *h)
{
	bms_buf_puts(b, "{\"type\":\"");
	bms_buf_puts(b, type);
	bms_buf_puts(b, "\",\"bms_id\":");
	bms_buf_add(b, h->bms_id, h->bms_id_len);
	bms_buf_puts(b, ",\"timestamp\":");
	bms_buf_add(b, h->timestamp, h->timestamp_len);
	if (h->tenant) {
		bms_buf_puts(b, ",\"tenant\":");
		bms_buf_add(b, h->tenant, h->tenant_len);
	}
}

void bms_record_head(struct bms_buf *b, const char *type, const char *bms_id,
		     const char *ts, const char *tenant)
{
	bms_buf_puts(b, "{\"type\":\"");
	bms_buf_puts(b, type);
	bms_buf_puts(b, "\",\"bms_id\":");
	bms_buf_json_str(b, bms_id, strlen(bms_id));
	bms_buf_puts(b, ",\"timestamp\":\"");
	bms_buf_puts(b, ts);
	bms_buf_putc(b, '"');
	if (tenant) {
		bms_buf_puts(b, ",\"tenant\":");
		bms_buf_json_str(b, tenant, strlen(tenant));
	}
}

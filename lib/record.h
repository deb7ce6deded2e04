/* SPDX-License-Identifier: MIT */
/*
 * The record envelope: the four fields every record carries (type,
 * bms_id, timestamp, tenant), read and written here once for every
 * stage, with one set of limits (bms(7), "The envelope and its limits"):
 *
 *   type       a string
 *   bms_id     a string of 1..BMS_RECORD_ID_MAX bytes (as it decodes),
 *              without NUL
 *   timestamp  an RFC 3339 date-time (bms_ts_parse: a real date and
 *              time of the years 0000-9999)
 *   tenant     optional: a string of at most BMS_RECORD_TENANT_MAX
 *              bytes, without NUL
 *
 * and none of the four keys more than once in the line (a JSON reader
 * would take the last, a line scanned by eye the first).  A record that
 * breaks one of these is refused by whichever stage reads its envelope.
 * What a stage writes it holds to the stricter rule of
 * bms_record_name_check (printable UTF-8), so that its records can be
 * shown, logged and stored anywhere.
 *
 * The parser works on the spans bms_json_scan found (json.h), so that a
 * stage looks up the envelope and its own fields in one pass over the
 * line: it puts the envelope's keys first in its field array
 * (bms_record_keys), scans, and hands the first BMS_RECORD_NKEYS fields
 * to bms_record_get.  Nothing is allocated; the raw spans point into
 * the caller's line.
 */
#ifndef BMS_RECORD_H
#define BMS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

#define BMS_RECORD_ID_MAX 127		/* bytes of a bms_id */
#define BMS_RECORD_TENANT_MAX 63	/* bytes of a tenant */
#define BMS_RECORD_TS_MAX 64		/* bytes of a timestamp string */

/* The envelope's keys, in this order at the start of a field array. */
enum { BMS_RECORD_TYPE, BMS_RECORD_ID, BMS_RECORD_TS, BMS_RECORD_TENANT,
       BMS_RECORD_NKEYS };

/* Why an envelope is refused; err says it in words either way. */
enum bms_record_rc {
	BMS_RECORD_OK = 0,
	BMS_RECORD_EJSON = -1,		/* not one JSON object */
	BMS_RECORD_ENOTYPE = -2,	/* no "type", or not a string */
	BMS_RECORD_ENOID = -3,		/* no "bms_id", not a string, or empty */
	BMS_RECORD_EID = -4,		/* bms_id too long, or a NUL in it */
	BMS_RECORD_ENOTS = -5,		/* no "timestamp" */
	BMS_RECORD_ETENANT = -6,	/* tenant not a string, too long, NUL */
	BMS_RECORD_EDUP = -7,		/* an envelope key more than once */
	BMS_RECORD_ETIME = -8,		/* the timestamp is no real time: checked
					 * last, everything else is sound */
};

/* An envelope as read from a line. */
struct bms_record {
	const char *type;		/* raw JSON value spans in the line,    */
	size_t type_len;		/* quotes included; tenant NULL when    */
	const char *id_json;		/* the record has none                  */
	size_t id_json_len;
	const char *ts_json;
	size_t ts_json_len;
	const char *tenant_json;
	size_t tenant_json_len;
	char bms_id[BMS_RECORD_ID_MAX + 1];	/* decoded, NUL-terminated */
	int64_t ts_ms;			/* ms since the epoch, UTC */
	int has_tenant;
	char tenant[BMS_RECORD_TENANT_MAX + 1];	/* decoded; "" without one */
};

/* Set the keys of f[0..BMS_RECORD_NKEYS) to the envelope's. */
void bms_record_keys(struct bms_json_field *f);

/*
 * Scan s[0..n) with bms_json_scan for the nf fields of f (the envelope's
 * first, from bms_record_keys).  Returns 0, or BMS_RECORD_EJSON with
 * err saying "not a JSON object: WHAT at byte N".
 */
int bms_record_scan(const char *s, size_t n, struct bms_json_field *f, size_t nf,
		    char *err, size_t errsz);

/*
 * bms_record_scan, and the type there, once: what the type says decides
 * what a line is, so a stage that dispatches on it reads it first.
 * Returns 0, BMS_RECORD_EJSON, BMS_RECORD_ENOTYPE ("no type") or
 * BMS_RECORD_EDUP ("type: more than once") with the reason in err.
 */
int bms_record_scan_typed(const char *s, size_t n, struct bms_json_field *f, size_t nf,
			  char *err, size_t errsz);

/*
 * The envelope of a scanned line (f as bms_record_scan left it) into
 * *r.  The type is only required to be a string (what it must be is the
 * caller's); bms_id, tenant and duplicate keys are checked in that
 * order, the timestamp last, so that BMS_RECORD_ETIME leaves every other
 * field of *r filled and a caller may report it after its own checks.
 * Returns BMS_RECORD_OK or an error with a one-line reason in err:
 * "no type", "no bms_id", "bms_id: not a string", "bms_id: empty",
 * "bms_id: longer than 127 bytes", "bms_id: NUL in it", "no timestamp",
 * "bad timestamp", "tenant: not a string", "tenant: longer than 63
 * bytes", "tenant: NUL in it", "tenant: more than once" (so for each key).
 */
int bms_record_get(const struct bms_json_field *f, struct bms_record *r,
		   char *err, size_t errsz);

/* bms_record_scan and bms_record_get of a line holding nothing else of
 * interest. */
int bms_record_parse(const char *s, size_t n, struct bms_record *r,
		     char *err, size_t errsz);

/* True if the string span is the JSON string lit (see json.h). */
static inline int bms_record_is(const struct bms_record *r, const char *lit)
{
	return bms_json_str_eq(r->type, r->type_len, lit);
}

/*
 * Check a bms_id or tenant a stage is about to write, of at most max
 * bytes: not empty, well-formed UTF-8, no control character (U+0000 to
 * U+001F, U+007F to U+009F).  Returns 0, or -1 with the reason in err
 * ("empty", "longer than 127 bytes", "not UTF-8", "control character
 * at byte 3").
 */
int bms_record_name_check(const char *s, size_t max, char *err, size_t errsz);

/* ==== Writing ==== */

/* The envelope as JSON text to write: each value's JSON text, quotes
 * included (tenant NULL: none). */
struct bms_record_head {
	const char *bms_id;
	size_t bms_id_len;
	const char *timestamp;
	size_t timestamp_len;
	const char *tenant;
	size_t tenant_len;
};

/*
 * Append {"type":"TYPE","bms_id":..,"timestamp":..[,"tenant":..] to b,
 * the object left open for the record's own fields.  type is plain
 * ASCII without quotes or backslashes.
 */
void bms_record_head_raw(struct bms_buf *b, const char *type,
			 const struct bms_record_head *h);

/* The same from plain strings: bms_id and tenant (NULL: none) are
 * escaped as JSON strings, ts is a bms_ts_format timestamp. */
void bms_record_head(struct bms_buf *b, const char *type, const char *bms_id,
		     const char *ts, const char *tenant);

#endif

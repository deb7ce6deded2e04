/* SPDX-License-Identifier: MIT */
/*
 * A validating JSON scanner for the hot path of the filters.
 *
 * A filter that forwards most records, or reads only a few fields of
 * them, must not build a tree and serialise it again.  bms_json_scan()
 * checks in one pass that a line is exactly one well-formed JSON object
 * (RFC 8259, UTF-8) and records where the values of the top-level keys it
 * is asked about lie.  Nothing is copied or allocated: every span points
 * into the caller's line and lives as long as it.
 *
 * Strings are held to what jansson, and any reader that decodes them,
 * can take: well-formed UTF-8, and a \u escape of a UTF-16 surrogate only
 * as a high surrogate followed at once by an escaped low one (a lone
 * surrogate stands for no character and is refused, though RFC 8259's
 * grammar would let it pass).  So a string that scans decodes to
 * well-formed UTF-8.
 */
#ifndef BMS_JSON_H
#define BMS_JSON_H

#include <stddef.h>

#define BMS_JSON_MAX_DEPTH 64	/* deeper nesting is rejected */
#define BMS_JSON_MAX_FIELDS 32	/* keys one scan can look for */
#define BMS_JSON_MAX_KEY 64	/* bytes of a key one scan can look for */

/* One top-level key to look for, and where its raw value was found. */
struct bms_json_field {
	const char *key;	/* in: the key, plain ASCII, 1..BMS_JSON_MAX_KEY
				 * bytes */
	const char *val;	/* out: first byte of the value, NULL if absent */
	size_t len;		/* out: length of the raw value text */
	int dup;		/* out: the key occurs more than once */
};

/* Why a line is not a JSON object. */
struct bms_json_err {
	const char *what;	/* static text, e.g. "unterminated string" */
	size_t at;		/* byte offset in the line */
};

/*
 * Validate s[0..n) as one JSON object (surrounding white space allowed)
 * and fill in the fields asked for (at most BMS_JSON_MAX_FIELDS, each key
 * once).  Keys are compared as they decode, as a JSON reader sees them:
 * "typ\u0065" in the line is the key "type" (a record cannot hide a
 * field from the scan by escaping its name).  When a key occurs twice in
 * the line the last one wins, as in jansson and most JSON readers, however
 * either is written, and its dup is set: a caller for whom the key
 * decides what the record means (the envelope of record.h) refuses it.  Looking for many keys costs little when the line
 * has them in the order of fields; a key written with an escape costs a
 * decoding into a small buffer on the stack.  Returns 0, or -1 with *err
 * filled in.
 */
int bms_json_scan(const char *s, size_t n, struct bms_json_field *fields,
		  size_t nfields, struct bms_json_err *err);

/* True if s[0..n) is well-formed UTF-8. */
int bms_json_utf8_valid(const char *s, size_t n);

/* True if the span is a JSON string whose decoded text equals lit. */
int bms_json_str_eq(const char *val, size_t len, const char *lit);

/*
 * Decode the JSON string span (one bms_json_scan accepted) into out: at
 * most cap bytes with the NUL that ends it.  A surrogate pair written as
 * two \u escapes becomes the one 4-byte UTF-8 sequence of its character,
 * so "\ud83d\udd0b" decodes to the same bytes as the raw character.
 * \u0000 decodes to a NUL byte, which the length counts.  Returns the
 * decoded length, or -1 if the span is not a string, does not fit, or
 * would not decode to well-formed UTF-8 (a lone surrogate, malformed
 * bytes): out never receives ill-formed UTF-8.
 */
long bms_json_str_get(const char *val, size_t len, char *out, size_t cap);

/*
 * Copy the JSON string span val (one bms_json_scan accepted) into out, cap
 * bytes with the NUL, decoding escapes only when it holds any.  Returns
 * the length, -1 if the span is not a string, -2 if it does not fit, -3
 * if it holds a NUL (written as \u0000): for names and codes, which are
 * C strings.
 */
long bms_json_str_copy(const char *val, size_t len, char *out, size_t cap);

/*
 * Walk the elements of an array span found by bms_json_scan (so already
 * valid): start with *pos = NULL; each call stores the next element's
 * span and returns 1, or returns 0 after the last.  Returns -1 if the
 * span is not an array.
 */
int bms_json_array_next(const char *arr, size_t len, const char **pos,
			const char **elem, size_t *elen);

#endif

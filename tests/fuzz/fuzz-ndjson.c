/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the NDJSON line reader and the validating JSON
 * scanner on arbitrary bytes.  The input is read back through a memfd,
 * as a file would be, and every line is scanned; the spans the scanner
 * reports must lie inside the line, and arrays must walk to their end.
 * jansson judges each line too: the scanner must accept exactly the
 * objects jansson accepts, but for the limits the two set differently
 * (nesting depth, numbers too large for jansson, NUL in keys).  Where
 * both accept a line, the fields the scanner found must be jansson's
 * members of the same keys, decoded keys and the last of duplicates
 * included: present in both or in neither, of the same kind, and a
 * string decoding to jansson's bytes exactly.  A line is never longer
 * than the limit; an over-long one is reported with its head and length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "json.h"
#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scanner's span v (NULL if absent) against jansson's member jv. */
static void same_member(const char *v, size_t vlen, json_t *jv)
{
	char *tmp;
	long n;

	if (!v != !jv)
		__builtin_trap();
	if (!v)
		return;
	switch (v[0]) {
	case '"':
		if (!json_is_string(jv))
			__builtin_trap();
		/* Decoded, a string is shorter than its span. */
		tmp = malloc(vlen);
		if (!tmp)
			abort();
		n = bms_json_str_get(v, vlen, tmp, vlen);
		if (n < 0 || (size_t)n != json_string_length(jv) ||
		    memcmp(tmp, json_string_value(jv), (size_t)n) != 0 ||
		    !bms_json_utf8_valid(tmp, (size_t)n))
			__builtin_trap();
		free(tmp);
		break;
	case '{': if (!json_is_object(jv)) __builtin_trap(); break;
	case '[': if (!json_is_array(jv)) __builtin_trap(); break;
	case 't': if (!json_is_true(jv)) __builtin_trap(); break;
	case 'f': if (!json_is_false(jv)) __builtin_trap(); break;
	case 'n': if (!json_is_null(jv)) __builtin_trap(); break;
	default: if (!json_is_number(jv)) __builtin_trap(); break;
	}
}

static void check_line(const char *line, size_t len)
{
	struct bms_json_field f[] = {
		{ .key = "type" }, { .key = "frames" }, { .key = "bms_id" },
	};
	struct bms_json_err err;
	const char *pos = NULL, *el;
	size_t elen;
	char tmp[64];
	int r;

	json_error_t jerr;
	json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	int jansson_ok = j && json_is_object(j);
	/* jansson's lexer takes a raw NUL byte for the end of the text and may
	 * accept what follows; RFC 8259 allows none outside strings, so only
	 * lines without one can be compared. */
	int comparable = memchr(line, 0, len) == NULL;

	if (bms_json_scan(line, len, f, 3, &err) < 0) {
		if (err.at > len)
			__builtin_trap();
		if (comparable && jansson_ok && strcmp(err.what, "nested too deeply") != 0)
			__builtin_trap();
		json_decref(j);
		return;
	}
	if (comparable && !jansson_ok && json_error_code(&jerr) != json_error_numeric_overflow &&
	    json_error_code(&jerr) != json_error_null_byte_in_key)
		__builtin_trap();
	for (int k = 0; k < 3; k++) {
		if (f[k].val && (f[k].val < line || f[k].val + f[k].len > line + len))
			__builtin_trap();
		if (comparable && jansson_ok)
			same_member(f[k].val, f[k].len, json_object_get(j, f[k].key));
	}
	json_decref(j);
	if (f[0].val) {
		bms_json_str_eq(f[0].val, f[0].len, "frames");
		bms_json_str_get(f[0].val, f[0].len, tmp, sizeof tmp);
	}
	if (f[1].val) {
		while ((r = bms_json_array_next(f[1].val, f[1].len, &pos, &el, &elen)) == 1)
			if (el + elen > f[1].val + f[1].len)
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_ndjson_in in;
	const char *line;
	char name[64], *files[1] = { name };
	size_t len;
	int fd = memfd_create("fuzz", 0), rc;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	if (bms_ndjson_open(&in, files, 1) < 0)
		abort();
	while ((rc = bms_ndjson_next(&in, &line, &len)) != BMS_NDJSON_END) {
		if (rc == BMS_NDJSON_ERR)
			abort();
		if (rc == BMS_NDJSON_LINE) {
			if (memchr(line, '\n', len) || len > BMS_NDJSON_MAX_LINE)
				__builtin_trap();
			check_line(line, len);
		}
		/* An over-long line is described, never returned. */
		if (rc == BMS_NDJSON_LONG &&
		    (in.longline.bytes <= BMS_NDJSON_MAX_LINE ||
		     in.longline.head_len != BMS_NDJSON_HEAD))
			__builtin_trap();
	}
	bms_ndjson_close(&in);
	close(fd);
	return 0;
}

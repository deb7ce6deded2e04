/* SPDX-License-Identifier: MIT */
/*
 * Rejected-line reporting (see reject.h).
 */
#include <errno.h>
#include <string.h>

#include "hex.h"
#include "json.h"
#include "reject.h"

int bms_reject_open(struct bms_reject *r, const char *prog, const char *path,
		    char *err, size_t errsz)
{
	memset(r, 0, sizeof *r);
	r->prog = prog;
	if (!path)
		return 0;
	r->f = fopen(path, "ae");
	if (!r->f) {
		snprintf(err, errsz, "cannot open rejects file '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int bms_reject_line(struct bms_reject *r, const char *file, unsigned long lineno,
		    const char *reason, const char *line, size_t len)
{
	struct bms_buf *b = &r->buf;

	r->count++;
	if (!r->f) {
		fprintf(stderr, "%s: %s:%lu: %s\n", r->prog, file, lineno, reason);
		return 0;
	}
	bms_buf_reset(b);
	bms_buf_puts(b, "{\"type\":\"reject\",\"reason\":");
	bms_buf_json_str(b, reason, strlen(reason));
	bms_buf_puts(b, ",\"file\":");
	bms_buf_json_str(b, file, strlen(file));
	bms_buf_printf(b, ",\"lineno\":%lu,", lineno);
	if (bms_json_utf8_valid(line, len)) {
		bms_buf_puts(b, "\"line\":");
		bms_buf_json_str(b, line, len);
	} else {
		size_t at;

		bms_buf_puts(b, "\"line_hex\":\"");
		at = b->len;
		for (size_t i = 0; i < len; i++)
			bms_buf_puts(b, "00");
		if (!b->oom)
			bms_hex_encode((const unsigned char *)line, len, b->p + at);
		bms_buf_putc(b, '"');
	}
	bms_buf_puts(b, "}\n");
	if (b->oom || fwrite(b->p, 1, b->len, r->f) != b->len)
		return -1;
	return 0;
}

int bms_reject_flush(struct bms_reject *r)
{
	if (r->f && (fflush(r->f) != 0 || ferror(r->f)))
		return -1;
	return 0;
}

int bms_reject_close(struct bms_reject *r)
{
	int rc = 0;

	if (r->f) {
		if (fflush(r->f) != 0 || ferror(r->f))
			rc = -1;
		if (fclose(r->f) != 0)
			rc = -1;
		r->f = NULL;
	}
	bms_buf_free(&r->buf);
	return rc;
}

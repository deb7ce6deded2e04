/* SPDX-License-Identifier: MIT */
/*
 * Rejected-line reporting (see reject.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hex.h"
#include "json.h"
#include "reject.h"

int bms_reject_open(struct bms_reject *r, const char *prog, const char *path,
		    char *err, size_t errsz)
{
	int fd;

	memset(r, 0, sizeof *r);
	r->prog = prog;
	if (!path)
		return 0;
	/* Rejected lines are users' data: private whatever the umask. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && !(r->f = fdopen(fd, "a"))) {
		int e = errno;

		close(fd);
		errno = e;
	}
	if (!r->f)
		return bms_err_set(err, errsz, "cannot open rejects file '%s': %s", path,
				   strerror(errno));
	return 0;
}

/* Append s[0..n) as a JSON string of lowercase hex. */
static void put_hex(struct bms_buf *b, const char *s, size_t n)
{
	size_t at;

	bms_buf_putc(b, '"');
	at = b->len;
	for (size_t i = 0; i < n; i++)
		bms_buf_puts(b, "00");
	if (!b->oom)
		bms_hex_encode((const unsigned char *)s, n, b->p + at);
	bms_buf_putc(b, '"');
}

/* The record's opening: type, reason, file, lineno. */
static void put_head(struct bms_buf *b, const char *file, unsigned long lineno,
		     const char *reason)
{
	bms_buf_reset(b);
	bms_buf_puts(b, "{\"type\":\"reject\",\"reason\":");
	bms_buf_json_str(b, reason, strlen(reason));
	bms_buf_puts(b, ",\"file\":");
	bms_buf_json_str(b, file, strlen(file));
	bms_buf_printf(b, ",\"lineno\":%lu,", lineno);
}

static int put_end(struct bms_reject *r)
{
	struct bms_buf *b = &r->buf;

	bms_buf_puts(b, "}\n");
	if (b->oom || fwrite(b->p, 1, b->len, r->f) != b->len)
		return -1;
	return 0;
}

/* One line's record, with the raw JSON findings (or NULL) before it. */
static int put_line(struct bms_reject *r, const char *file, unsigned long lineno,
		    const char *reason, const char *findings, size_t flen,
		    const char *line, size_t len)
{
	struct bms_buf *b = &r->buf;

	r->count++;
	if (!r->f) {
		fprintf(stderr, "%s: %s:%lu: %s\n", r->prog, file, lineno, reason);
		return 0;
	}
	put_head(b, file, lineno, reason);
	if (findings) {
		bms_buf_puts(b, "\"findings\":");
		bms_buf_add(b, findings, flen);
		bms_buf_putc(b, ',');
	}
	if (bms_json_utf8_valid(line, len)) {
		bms_buf_puts(b, "\"line\":");
		bms_buf_json_str(b, line, len);
	} else {
		bms_buf_puts(b, "\"line_hex\":");
		put_hex(b, line, len);
	}
	return put_end(r);
}

int bms_reject_line(struct bms_reject *r, const char *file, unsigned long lineno,
		    const char *reason, const char *line, size_t len)
{
	return put_line(r, file, lineno, reason, NULL, 0, line, len);
}

int bms_reject_findings(struct bms_reject *r, const char *file, unsigned long lineno,
			const char *reason, const char *findings, size_t flen,
			const char *line, size_t len)
{
	return put_line(r, file, lineno, reason, findings, flen, line, len);
}

/* The length of head[0..n) without a character cut off at its end. */
static size_t whole_chars(const char *head, size_t n)
{
	size_t i = n;

	while (i > 0 && n - i < 4 && ((unsigned char)head[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0) {
		unsigned char c = (unsigned char)head[i - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (i - 1 + need > n)
			return i - 1;
	}
	return n;
}

int bms_reject_long(struct bms_reject *r, const char *file, unsigned long lineno,
		    const struct bms_ndjson_long *l)
{
	struct bms_buf *b = &r->buf;
	char reason[128], digest[2 * BMS_SHA256_LEN + 1];
	size_t head = l->head_len;

	snprintf(reason, sizeof reason, "line of %llu bytes is over the %u-byte limit",
		 (unsigned long long)l->bytes, BMS_NDJSON_MAX_LINE);
	r->count++;
	if (!r->f) {
		fprintf(stderr, "%s: %s:%lu: %s\n", r->prog, file, lineno, reason);
		return 0;
	}
	put_head(b, file, lineno, reason);
	if (head < l->bytes)
		head = whole_chars(l->head, head);
	if (bms_json_utf8_valid(l->head, head)) {
		bms_buf_puts(b, "\"line_head\":");
		bms_buf_json_str(b, l->head, head);
	} else {
		bms_buf_puts(b, "\"line_head_hex\":");
		put_hex(b, l->head, l->head_len);
	}
	bms_hex_encode(l->sha256, BMS_SHA256_LEN, digest);
	digest[2 * BMS_SHA256_LEN] = '\0';
	bms_buf_printf(b, ",\"line_bytes\":%llu,\"line_sha256\":\"%s\"",
		       (unsigned long long)l->bytes, digest);
	return put_end(r);
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

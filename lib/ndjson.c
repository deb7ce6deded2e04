/* SPDX-License-Identifier: MIT */
/*
 * NDJSON line reader and writer (see ndjson.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"
#include "sig.h"

#define READ_CHUNK (1u << 16)
#define BUF_SIZE (BMS_NDJSON_MAX_LINE + READ_CHUNK + 1)

int bms_ndjson_open(struct bms_ndjson_in *in, char **files, int nfiles)
{
	memset(in, 0, sizeof *in);
	in->files = files;
	in->nfiles = nfiles;
	in->fd = -1;
	in->buf = malloc(BUF_SIZE);
	return in->buf ? 0 : -1;
}

void bms_ndjson_close(struct bms_ndjson_in *in)
{
	if (in->fd > 0)
		close(in->fd);
	in->fd = -1;
	free(in->buf);
	in->buf = NULL;
}

/* Open the next input; 1 opened, 0 none left, -1 error (errbuf set). */
static int open_next(struct bms_ndjson_in *in)
{
	const char *name;

	if (in->next >= (in->nfiles ? in->nfiles : 1))
		return 0;
	name = in->nfiles ? in->files[in->next] : "-";
	in->next++;
	in->lineno = 0;
	in->eof = 0;
	in->skipping = 0;
	in->start = in->end = 0;
	if (strcmp(name, "-") == 0) {
		in->fd = 0;
		in->name = "<stdin>";
		return 1;
	}
	in->name = name;
	in->fd = open(name, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) {
		snprintf(in->errbuf, sizeof in->errbuf, "cannot open '%s': %s",
			 name, strerror(errno));
		return -1;
	}
	return 1;
}

/* Read more bytes into the buffer; 1 got some, 0 end of file, -1 error,
 * -2 interrupted by a signal. */
static int fill(struct bms_ndjson_in *in)
{
	ssize_t n;

	/* Only a partial line is left when we get here: move it to the
	 * front, so the buffer in use stays one line plus one chunk. */
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	if (in->drained)
		in->drained(in->ctx);
	/* Wait where a stop signal can reach us (sig.h), then read. */
	if (bms_sig_poll(&(struct pollfd){ .fd = in->fd, .events = POLLIN }, 1, -1) < 0 &&
	    errno == EINTR)
		return -2;
	n = read(in->fd, in->buf + in->end, READ_CHUNK);
	if (n < 0 && errno == EINTR)
		return -2;
	if (n < 0) {
		snprintf(in->errbuf, sizeof in->errbuf, "cannot read '%s': %s",
			 in->name, strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	in->end += (size_t)n;
	return 1;
}

static void end_file(struct bms_ndjson_in *in)
{
	if (in->fd > 0)
		close(in->fd);
	in->fd = -1;
	in->start = in->end = 0;
}

int bms_ndjson_next(struct bms_ndjson_in *in, const char **line, size_t *len)
{
	for (;;) {
		char *p, *nl;
		size_t avail;
		int r;

		if (in->fd < 0) {
			r = open_next(in);
			if (r <= 0)
				return r == 0 ? BMS_NDJSON_END : BMS_NDJSON_ERR;
		}
		p = in->buf + in->start;
		avail = in->end - in->start;
		nl = avail ? memchr(p, '\n', avail) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - p);

			in->start += n + 1;
			if (in->skipping) {
				in->skipping = 0;
				return BMS_NDJSON_LONG;
			}
			in->lineno++;
			if (n > BMS_NDJSON_MAX_LINE)
				return BMS_NDJSON_LONG;
			*line = p;
			*len = n;
			return BMS_NDJSON_LINE;
		}
		if (avail > BMS_NDJSON_MAX_LINE) {
			/* Drop what we have of an over-long line; the rest
			 * up to its newline is dropped as it arrives. */
			if (!in->skipping)
				in->lineno++;
			in->skipping = 1;
			in->start = in->end = 0;
			continue;
		}
		if (in->eof) {
			int skipping = in->skipping;

			end_file(in);
			if (skipping)
				return BMS_NDJSON_LONG;
			if (avail) {
				/* Last line without a newline: it stays in
				 * the buffer until the next call. */
				in->lineno++;
				*line = p;
				*len = avail;
				return BMS_NDJSON_LINE;
			}
			continue;
		}
		r = fill(in);
		if (r == -2)
			return BMS_NDJSON_INTR;
		if (r < 0) {
			end_file(in);
			return BMS_NDJSON_ERR;
		}
		if (r == 0)
			in->eof = 1;
	}
}

void bms_ndjson_out_init(struct bms_ndjson_out *out, int fd)
{
	out->fd = fd;
	out->len = 0;
	out->err = 0;
}

int bms_ndjson_flush(struct bms_ndjson_out *out)
{
	size_t off = 0;

	while (off < out->len && !out->err) {
		ssize_t n = write(out->fd, out->buf + off, out->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			out->err = errno;
		else
			off += (size_t)n;
	}
	out->len = 0;
	return out->err ? -1 : 0;
}

int bms_ndjson_put(struct bms_ndjson_out *out, const char *line, size_t len)
{
	if (out->err)
		return -1;
	if (out->len + len + 1 > sizeof out->buf) {
		if (bms_ndjson_flush(out) < 0)
			return -1;
		if (len + 1 > sizeof out->buf) {
			/* A line larger than the buffer goes out directly. */
			while (len && !out->err) {
				ssize_t n = write(out->fd, line, len);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					out->err = errno;
				else {
					line += n;
					len -= (size_t)n;
				}
			}
			out->buf[out->len++] = '\n';
			return out->err ? -1 : 0;
		}
	}
	memcpy(out->buf + out->len, line, len);
	out->len += len;
	out->buf[out->len++] = '\n';
	return 0;
}

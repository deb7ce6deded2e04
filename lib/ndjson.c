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
	} else {
		in->name = name;
		in->fd = open(name, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			snprintf(in->errbuf, sizeof in->errbuf, "cannot open '%s': %s",
				 name, strerror(errno));
			return -1;
		}
	}
	return 1;
}

/* Read more bytes into the buffer; 1 got some, 0 end of file, -1 error,
 * -2 interrupted by a signal, -3 the drained hook asked to stop. */
static int fill(struct bms_ndjson_in *in)
{
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	ssize_t n;
	int r;

	/* Only a partial line is left when we get here: move it to the
	 * front, so the buffer in use stays one line plus one chunk. */
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	/* A look that does not wait: it lets a pending stop signal in
	 * (sig.h), and says whether a read would block.  A regular file is
	 * always ready. */
	r = bms_sig_poll(&p, 1, 0);
	if (r < 0 && errno == EINTR)
		return -2;
	if (r == 0) {
		/* Nothing is waiting: flush, then wait where a stop signal
		 * can reach us. */
		do {
			if (in->drained && in->drained(in->ctx))
				return -3;
			/* The hook may have let a stop signal in (a wait of
			 * its own). */
			if (bms_sig_stopping())
				return -2;
			r = bms_sig_poll(&p, 1, in->tick_ms > 0 ? in->tick_ms : -1);
			if (r < 0 && errno == EINTR)
				return -2;
		} while (r == 0);
	}
	n = read(in->fd, in->buf + in->end, READ_CHUNK);
	if (n < 0 && errno == EINTR)
		return -2;
	if (n < 0) {
		snprintf(in->errbuf, sizeof in->errbuf, "cannot read '%s': %s",
			 in->name, strerror(errno));
		return -1;
	}
	if (n == 0)
		/* The end of an input: nothing more is waiting there. */
		return in->drained && in->drained(in->ctx) ? -3 : 0;
	in->end += (size_t)n;
	return 1;
}

/* An over-long line streams past: keep its head, count and hash it. */
static void long_begin(struct bms_ndjson_in *in, const char *p, size_t n)
{
	struct bms_ndjson_long *l = &in->longline;

	l->head_len = n < BMS_NDJSON_HEAD ? n : BMS_NDJSON_HEAD;
	memcpy(l->head, p, l->head_len);
	l->bytes = 0;
	bms_sha256_init(&l->hash);
}

static void long_add(struct bms_ndjson_in *in, const char *p, size_t n)
{
	bms_sha256_update(&in->longline.hash, p, n);
	in->longline.bytes += n;
}

static int long_end(struct bms_ndjson_in *in)
{
	bms_sha256_final(&in->longline.hash, in->longline.sha256);
	in->skipping = 0;
	return BMS_NDJSON_LONG;
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
				long_add(in, p, n);
				return long_end(in);
			}
			in->lineno++;
			if (n > BMS_NDJSON_MAX_LINE) {
				long_begin(in, p, n);
				long_add(in, p, n);
				return long_end(in);
			}
			*line = p;
			*len = n;
			return BMS_NDJSON_LINE;
		}
		if (avail && (in->skipping || avail > BMS_NDJSON_MAX_LINE)) {
			/* Too long already: what we have of it goes into its
			 * digest, and so does the rest up to its newline as
			 * it arrives. */
			if (!in->skipping) {
				in->lineno++;
				in->skipping = 1;
				long_begin(in, p, avail);
			}
			long_add(in, p, avail);
			in->start = in->end = 0;
			avail = 0;
		}
		if (in->eof) {
			end_file(in);
			if (in->skipping)
				return long_end(in);
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
		if (r == -3)
			return BMS_NDJSON_STOP;
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

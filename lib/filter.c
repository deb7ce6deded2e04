/* SPDX-License-Identifier: MIT */
/*
 * The filter loop (see filter.h): ndjson.h reads and writes, reject.h
 * reports, sig.h stops; this module decides the order of things and the
 * status, once for every stage.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "exitcode.h"
#include "filter.h"
#include "sig.h"

int bms_filter_open(struct bms_filter *f, const struct bms_filter_opts *opts)
{
	memset(f, 0, sizeof *f);
	f->opts = *opts;
	if (bms_reject_open(&f->rej, opts->prog, opts->rejects, f->err, sizeof f->err) < 0)
		return -1;
	if (bms_ndjson_open(&f->in, opts->files, opts->nfiles) < 0) {
		bms_reject_close(&f->rej);
		return bms_err_set(f->err, sizeof f->err, "out of memory");
	}
	bms_ndjson_out_init(&f->out, opts->out_fd);
	return 0;
}

void bms_filter_close(struct bms_filter *f)
{
	bms_ndjson_close(&f->in);
	bms_reject_close(&f->rej);
	bms_buf_free(&f->held);
}

void bms_filter_emit(struct bms_filter *f, const char *rec, size_t len)
{
	bms_ndjson_put(&f->out, rec, len);
}

void bms_filter_hold(struct bms_filter *f, const char *rec, size_t len)
{
	bms_buf_add(&f->held, rec, len);
	bms_buf_putc(&f->held, '\n');
}

size_t bms_filter_held(const struct bms_filter *f)
{
	return f->held.len;
}

void bms_filter_release(struct bms_filter *f)
{
	const char *p = f->held.p, *end = f->held.p + f->held.len, *nl;

	for (; p && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		bms_ndjson_put(&f->out, p, (size_t)(nl - p));
	}
	bms_buf_reset(&f->held);
}

void bms_filter_tick(struct bms_filter *f, int ms)
{
	f->in.tick_ms = ms;
}

void bms_filter_flush(struct bms_filter *f)
{
	bms_ndjson_flush(&f->out);
}

const char *bms_filter_file(const struct bms_filter *f)
{
	return f->in.name;
}

unsigned long bms_filter_lineno(const struct bms_filter *f)
{
	return f->in.lineno;
}

int bms_filter_exit(int status)
{
	switch (status) {
	case BMS_FILTER_OK: return BMS_EXIT_OK;
	case BMS_FILTER_EREJECT: return BMS_EXIT_REJECT;
	default: return BMS_EXIT_FAIL;
	}
}

static int rejects_failed(struct bms_filter *f)
{
	f->failed = 1;
	return bms_err_set(f->err, sizeof f->err, "cannot write the rejects file: %s",
			   strerror(errno ? errno : EIO));
}

/* Nothing more is waiting: the stage's hook, then out with what we have.
 * Non-zero stops the reader (a failure, or nobody left to read). */
static int drained(void *ctx)
{
	struct bms_filter *f = ctx;
	const struct bms_filter_stage *s = f->stage;

	if (s->drained && s->drained(s->ctx, f, f->err, sizeof f->err) < 0) {
		f->failed = 1;
		return -1;
	}
	bms_ndjson_flush(&f->out);
	errno = 0;
	if (bms_reject_flush(&f->rej) < 0)
		return rejects_failed(f);
	return f->out.err ? -1 : 0;
}

/* One line through the stage; 0 go on, 1 stop (strict), -1 failed. */
static int one_line(struct bms_filter *f, const char *line, size_t len)
{
	const struct bms_filter_stage *s = f->stage;
	char why[512];
	int act;

	why[0] = '\0';
	act = s->line(s->ctx, f, line, len, why, sizeof why);
	if (f->held.oom) {
		f->failed = 1;
		return bms_err_set(f->err, sizeof f->err, "out of memory");
	}
	switch (act) {
	case BMS_FILTER_PASS:
		bms_ndjson_put(&f->out, line, len);
		return 0;
	case BMS_FILTER_DONE:
		return 0;
	case BMS_FILTER_REJECT:
		errno = 0;
		if (bms_reject_line(&f->rej, f->in.name, f->in.lineno, why, line, len) < 0)
			return rejects_failed(f);
		return f->opts.strict;
	default:
		f->failed = 1;
		return bms_err_set(f->err, sizeof f->err, "%s", why);
	}
}

/* Read every line through the stage; the status, before the last drain. */
static int loop(struct bms_filter *f)
{
	const char *line;
	size_t len;
	int rc, r, status = BMS_FILTER_OK;

	while (!bms_sig_stopping() && !f->out.err) {
		rc = bms_ndjson_next(&f->in, &line, &len);
		switch (rc) {
		case BMS_NDJSON_END:
		case BMS_NDJSON_STOP:
			return status;
		case BMS_NDJSON_INTR:
			continue;
		case BMS_NDJSON_ERR:
			if (f->stage->warn)
				f->stage->warn(f->stage->ctx, f->in.errbuf);
			status = BMS_FILTER_EINPUT;
			continue;
		case BMS_NDJSON_LONG:
			errno = 0;
			if (bms_reject_long(&f->rej, f->in.name, f->in.lineno,
					    &f->in.longline) < 0)
				return rejects_failed(f);
			if (f->opts.strict)
				return status;
			continue;
		}
		if (len == 0)
			continue;
		r = one_line(f, line, len);
		if (r)
			return status;
	}
	return status;
}

int bms_filter_run(struct bms_filter *f, const struct bms_filter_stage *stage)
{
	int status;

	f->stage = stage;
	f->in.drained = drained;
	f->in.ctx = f;
	status = loop(f);
	/* The last drain commits what was read, also after a stop, a
	 * rejected line under --strict or a reader that went away; not after
	 * a failure. */
	if (!f->failed)
		drained(f);
	else
		bms_ndjson_flush(&f->out);
	errno = 0;
	if (bms_reject_close(&f->rej) < 0 && !f->failed)
		rejects_failed(f);
	if (!f->failed && f->out.err && f->out.err != EPIPE) {
		f->failed = 1;
		bms_err_set(f->err, sizeof f->err, "cannot write output: %s",
			    strerror(f->out.err));
	}
	if (f->failed)
		return BMS_FILTER_EFAIL;
	if (status == BMS_FILTER_OK && f->opts.strict && f->rej.count)
		return BMS_FILTER_EREJECT;
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * --state files (see state.h): a header, the stage's records, a trailer,
 * one JSON object a line, replaced by write-temp, fsync, rename, fsync
 * the directory.  Loading holds two lines at a time (the trailer is known
 * only at the end of the file, so each record is handed on when the next
 * line has been read); saving holds none.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "state.h"
#include "ts.h"

/* ==== Loading ==== */

/*
 * Read one line into b (newline removed).  Returns 1 with a line, 0 at
 * the end of the file, -1 on a read error (errno), -2 when the line is
 * over the limit, -3 when the file ends inside a line.  A NUL byte is
 * kept: the JSON scan refuses it.
 */
static int read_line(FILE *f, struct bms_buf *b)
{
	char chunk[4096];
	size_t n = 0;
	int c;

	bms_buf_reset(b);
	for (;;) {
		c = getc_unlocked(f);
		if (c == EOF || c == '\n' || n == sizeof chunk) {
			bms_buf_add(b, chunk, n);
			n = 0;
			if (b->oom) {
				errno = ENOMEM;
				return -1;
			}
			if (b->len > BMS_STATE_MAX_LINE)
				return -2;
		}
		if (c == '\n')
			return 1;
		if (c == EOF) {
			if (ferror(f))
				return -1;
			return b->len ? -3 : 0;
		}
		chunk[n++] = (char)c;
	}
}

static int damaged(char *err, size_t errsz, const char *path,
		   unsigned long lineno, const char *why)
{
	return bms_err_set(err, errsz, "'%s': damaged at line %lu: %s",
			   path, lineno, why);
}

static int scan_error(char *err, size_t errsz, const char *path,
		      unsigned long lineno, const struct bms_json_err *je)
{
	char why[128];

	snprintf(why, sizeof why, "%s at column %zu", je->what, je->at + 1);
	return damaged(err, errsz, path, lineno, why);
}

/* A JSON integer span into *out; -1 if it is not one or out of range. */
static int span_int(const char *v, size_t len, int64_t *out)
{
	char tmp[24];
	char *end;
	long long x;

	if (!v || len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (tmp[0] != '-' && (tmp[0] < '0' || tmp[0] > '9'))
		return -1;
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno || *end)
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int check_header(const char *path, const char *program, int max_version,
			const char *line, size_t len, struct bms_state_info *info,
			char *err, size_t errsz)
{
	struct bms_json_field f[] = {
		{ .key = "type" }, { .key = "format" }, { .key = "program" },
		{ .key = "version" }, { .key = "saved" },
	};
	struct bms_json_err je;
	char ts[64];
	int64_t format, version;
	long n;

	if (bms_json_scan(line, len, f, 5, &je) < 0)
		return scan_error(err, errsz, path, 1, &je);
	if (!f[0].val || !bms_json_str_eq(f[0].val, f[0].len, "state"))
		return damaged(err, errsz, path, 1, "not a state file (no state header)");
	if (span_int(f[1].val, f[1].len, &format) < 0 || format < 1)
		return damaged(err, errsz, path, 1, "the header has no valid \"format\"");
	if (format > BMS_STATE_FORMAT)
		return bms_err_set(err, errsz,
				   "'%s' was written by state format %" PRId64 "; this program reads up to %d",
				   path, format, BMS_STATE_FORMAT);
	if (!f[2].val || (n = bms_json_str_get(f[2].val, f[2].len, info->program,
					       sizeof info->program)) < 1 ||
	    strlen(info->program) != (size_t)n)
		return damaged(err, errsz, path, 1, "the header has no valid \"program\"");
	if (strcmp(info->program, program) != 0)
		return bms_err_set(err, errsz, "'%s' is the state of %s, not of %s",
				   path, info->program, program);
	if (span_int(f[3].val, f[3].len, &version) < 0 || version < 1)
		return damaged(err, errsz, path, 1, "the header has no valid \"version\"");
	if (version > max_version)
		return bms_err_set(err, errsz,
				   "'%s' was written by %s state version %" PRId64
				   "; this program reads up to %d", path, program, version, max_version);
	if (!f[4].val || (n = bms_json_str_get(f[4].val, f[4].len, ts, sizeof ts)) < 0 ||
	    bms_ts_parse(ts, (size_t)n, &info->saved_ms) < 0)
		return damaged(err, errsz, path, 1, "the header has no valid \"saved\" time");
	info->format = (int)format;
	info->version = (int)version;
	info->records = 0;
	return 0;
}

/* The trailer of a file whose records were all handed on; 0 if it is one. */
static int check_trailer(const char *path, unsigned long lineno,
			 const struct bms_buf *line, unsigned long records,
			 char *err, size_t errsz)
{
	struct bms_json_field f[] = { { .key = "type" }, { .key = "records" } };
	char why[128];
	int64_t n;

	if (bms_json_scan(line->p, line->len, f, 2, NULL) < 0 ||
	    !f[0].val || !bms_json_str_eq(f[0].val, f[0].len, "end") ||
	    span_int(f[1].val, f[1].len, &n) < 0)
		return damaged(err, errsz, path, lineno,
			       "the file ends without its trailer (cut short?)");
	if (n < 0 || (unsigned long)n != records) {
		snprintf(why, sizeof why, "the trailer counts %" PRId64 " records, the file holds %lu",
			 n, records);
		return damaged(err, errsz, path, lineno, why);
	}
	return 0;
}

int bms_state_load(const char *path, const char *program, int max_version,
		   bms_state_record_fn fn, void *ctx,
		   struct bms_state_info *info, char *err, size_t errsz)
{
	struct bms_state_info mine;
	struct bms_buf a = BMS_BUF_INIT, b = BMS_BUF_INIT;
	struct bms_buf *cur = &a, *pending = &b, *t;
	struct bms_json_err je;
	unsigned long lineno = 0;
	char why[256];
	int rc = -1, r;
	FILE *f;

	if (!info)
		info = &mine;
	memset(info, 0, sizeof *info);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return bms_err_set(err, errsz, "cannot open '%s': %s", path, strerror(errno));
	}
	pending->len = 0;
	for (;;) {
		r = read_line(f, cur);
		lineno += r != 0;
		if (r == -1) {
			bms_err_set(err, errsz, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (r == -2) {
			damaged(err, errsz, path, lineno, "longer than 1 MiB");
			goto out;
		}
		if (r == -3) {
			damaged(err, errsz, path, lineno, "the line is cut short (no newline)");
			goto out;
		}
		if (r == 0)
			break;
		if (lineno == 1) {
			if (check_header(path, program, max_version, cur->p, cur->len,
					 info, err, errsz) < 0)
				goto out;
			continue;
		}
		if (lineno > 2) {
			/* The line before this one is a record: hand it on. */
			why[0] = '\0';
			if (fn && fn(ctx, info, pending->p, pending->len, why, sizeof why) < 0) {
				damaged(err, errsz, path, lineno - 1,
					why[0] ? why : "refused by the program");
				goto out;
			}
			info->records++;
		}
		if (bms_json_scan(cur->p, cur->len, NULL, 0, &je) < 0) {
			scan_error(err, errsz, path, lineno, &je);
			goto out;
		}
		t = pending, pending = cur, cur = t;
	}
	if (lineno == 0) {
		bms_err_set(err, errsz, "'%s': damaged: the file is empty", path);
		goto out;
	}
	if (lineno == 1) {
		damaged(err, errsz, path, 1, "the file ends without its trailer (cut short?)");
		goto out;
	}
	if (check_trailer(path, lineno, pending, info->records, err, errsz) < 0)
		goto out;
	rc = 1;
out:
	fclose(f);
	bms_buf_free(&a);
	bms_buf_free(&b);
	return rc;
}

/* ==== Saving ==== */

static void save_free(struct bms_state_save *s)
{
	free(s->path);
	free(s->tmp);
	s->path = s->tmp = NULL;
	s->f = NULL;
}

/* The directory holding path, for its fsync: "." for a bare name. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	d = strndup(path, (size_t)(slash - path));
	return d;
}

int bms_state_save_begin(struct bms_state_save *s, const char *path,
			 const char *program, int version,
			 char *err, size_t errsz)
{
	struct bms_buf hdr = BMS_BUF_INIT;
	char ts[BMS_TS_LEN + 1];
	int fd, e;

	memset(s, 0, sizeof *s);
	if (!program || strlen(program) == 0 || strlen(program) >= BMS_STATE_MAX_PROGRAM ||
	    version < 1)
		return bms_err_set(err, errsz, "cannot save '%s': bad program name or version",
				   path);
	s->path = strdup(path);
	if (s->path && asprintf(&s->tmp, "%s.XXXXXX", path) < 0)
		s->tmp = NULL;
	if (!s->path || !s->tmp) {
		save_free(s);
		return bms_err_set(err, errsz, "cannot save '%s': out of memory", path);
	}
	fd = mkostemp(s->tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		save_free(s);
		return bms_err_set(err, errsz, "cannot create a temporary file next to '%s': %s",
				   path, strerror(e));
	}
	/* mkostemp makes it 0600 already; say so whatever the umask did. */
	if (fchmod(fd, 0600) < 0 || !(s->f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		unlink(s->tmp);
		save_free(s);
		return bms_err_set(err, errsz, "cannot create a temporary file next to '%s': %s",
				   path, strerror(e));
	}
	bms_ts_now(ts);
	bms_buf_printf(&hdr, "{\"type\":\"state\",\"format\":%d,\"program\":", BMS_STATE_FORMAT);
	bms_buf_json_str(&hdr, program, strlen(program));
	bms_buf_printf(&hdr, ",\"version\":%d,\"saved\":\"%s\"}\n", version, ts);
	if (hdr.oom)
		snprintf(s->why, sizeof s->why, "out of memory");
	else if (fwrite(hdr.p, 1, hdr.len, s->f) != hdr.len)
		snprintf(s->why, sizeof s->why, "%s", strerror(errno));
	bms_buf_free(&hdr);
	return 0;
}

int bms_state_save_add(struct bms_state_save *s, const char *rec, size_t len)
{
	struct bms_json_err je;

	if (s->why[0])
		return -1;
	if (len > BMS_STATE_MAX_LINE || memchr(rec, '\n', len)) {
		snprintf(s->why, sizeof s->why, "record %lu is not one line of at most 1 MiB",
			 s->records + 1);
		return -1;
	}
	if (bms_json_scan(rec, len, NULL, 0, &je) < 0) {
		snprintf(s->why, sizeof s->why, "record %lu is not a JSON object: %s",
			 s->records + 1, je.what);
		return -1;
	}
	if (fwrite(rec, 1, len, s->f) != len || putc('\n', s->f) == EOF) {
		snprintf(s->why, sizeof s->why, "%s", strerror(errno));
		return -1;
	}
	s->records++;
	return 0;
}

void bms_state_save_abort(struct bms_state_save *s)
{
	if (s->f)
		fclose(s->f);
	if (s->tmp)
		unlink(s->tmp);
	save_free(s);
}

int bms_state_save_commit(struct bms_state_save *s, char *err, size_t errsz)
{
	char *dir;
	int dfd, e;

	if (!s->why[0] && fprintf(s->f, "{\"type\":\"end\",\"records\":%lu}\n", s->records) < 0)
		snprintf(s->why, sizeof s->why, "%s", strerror(errno));
	if (!s->why[0] && (fflush(s->f) != 0 || fsync(fileno(s->f)) < 0))
		snprintf(s->why, sizeof s->why, "%s", strerror(errno));
	if (fclose(s->f) != 0 && !s->why[0])
		snprintf(s->why, sizeof s->why, "%s", strerror(errno));
	s->f = NULL;
	if (s->why[0]) {
		bms_err_set(err, errsz, "cannot write '%s': %s", s->path, s->why);
		bms_state_save_abort(s);
		return -1;
	}
	if (rename(s->tmp, s->path) < 0) {
		bms_err_set(err, errsz, "cannot replace '%s': %s", s->path, strerror(errno));
		bms_state_save_abort(s);
		return -1;
	}
	/* The rename is made durable by the directory's fsync.  The new state
	 * is in place by now, so a failure here says so. */
	dir = dir_of(s->path);
	dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	e = dfd < 0 || fsync(dfd) < 0 ? (dir ? errno : ENOMEM) : 0;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	if (e) {
		bms_err_set(err, errsz, "'%s' was replaced, but its directory cannot be synced: %s",
			    s->path, strerror(e));
		save_free(s);
		return -1;
	}
	save_free(s);
	return 0;
}

/* ==== Records of struct members ==== */

/* Element j of a member of type t at p. */
static void put_value(struct bms_buf *out, char t, const void *p, int j)
{
	switch (t) {
	case 'd':
	case 'a':
		bms_buf_exact(out, ((const double *)p)[j]);
		break;
	case 'l':
	case 'L':
		bms_buf_printf(out, "%" PRId64, ((const int64_t *)p)[j]);
		break;
	case 'i':
	case 'I':
		bms_buf_printf(out, "%d", ((const int *)p)[j]);
		break;
	default:
		assert(!"state key type");
	}
}

void bms_state_keys_write(const struct bms_state_key *k, int nk, struct bms_buf *out)
{
	for (int i = 0; i < nk; i++) {
		int n = k[i].count ? *k[i].count : k[i].n;

		if (i)
			bms_buf_putc(out, ',');
		bms_buf_putc(out, '"');
		bms_buf_puts(out, k[i].key);
		bms_buf_puts(out, "\":");
		if (strchr("dli", k[i].type)) {
			put_value(out, k[i].type, k[i].p, 0);
			continue;
		}
		bms_buf_putc(out, '[');
		for (int j = 0; j < n && j < k[i].n; j++) {
			if (j)
				bms_buf_putc(out, ',');
			put_value(out, k[i].type, k[i].p, j);
		}
		bms_buf_putc(out, ']');
	}
}

/* The number span v[0..len) into element j of a member of type t at p:
 * 0, or -1 when it is not a finite number or an integer of the type. */
static int get_value(const char *v, size_t len, char t, void *p, int j)
{
	char tmp[64], *end;
	int64_t x;

	switch (t) {
	case 'd':
	case 'a':
		if (len == 0 || len >= sizeof tmp)
			return -1;
		memcpy(tmp, v, len);
		tmp[len] = '\0';
		((double *)p)[j] = strtod(tmp, &end);
		return *end == '\0' && isfinite(((double *)p)[j]) ? 0 : -1;
	case 'l':
	case 'L':
		return span_int(v, len, &((int64_t *)p)[j]);
	default:
		if (span_int(v, len, &x) < 0 || x < -2147483647 || x > 2147483647)
			return -1;
		((int *)p)[j] = (int)x;
		return 0;
	}
}

static int read_one(const struct bms_state_key *k, const struct bms_json_field *f,
		    const char *what, char *err, size_t errsz)
{
	int want = k->count ? *k->count : k->n, got = 0, rc;
	const char *pos = NULL, *e;
	size_t elen;

	if (!f->val)
		return bms_err_set(err, errsz, "%s: no %s", what, k->key);
	if (!k->type || !strchr("dliaLI", k->type))
		return bms_err_set(err, errsz, "%s: %s: bad key type", what, k->key);
	if (strchr("dli", k->type)) {
		if (get_value(f->val, f->len, k->type, k->p, 0) < 0)
			return bms_err_set(err, errsz, "%s: %s: not %s", what, k->key,
					   k->type == 'd' ? "a number" : "an integer");
		return 0;
	}
	if (want < 0 || want > k->n)
		return bms_err_set(err, errsz, "%s: %s: count out of range", what, k->key);
	while ((rc = bms_json_array_next(f->val, f->len, &pos, &e, &elen)) == 1) {
		if (got >= want || get_value(e, elen, k->type, k->p, got) < 0)
			break;
		got++;
	}
	if (rc != 0 || got != want)
		return bms_err_set(err, errsz, "%s: %s: not an array of %d %s", what, k->key,
				   want, k->type == 'a' ? "numbers" : "integers");
	return 0;
}

int bms_state_keys_read(const struct bms_state_key *k, int nk, const char *rec,
			size_t len, const char *what, char *err, size_t errsz)
{
	struct bms_json_field f[BMS_JSON_MAX_FIELDS];
	struct bms_json_err jerr;

	for (int i = 0; i < nk; i += BMS_JSON_MAX_FIELDS) {
		int m = nk - i < BMS_JSON_MAX_FIELDS ? nk - i : BMS_JSON_MAX_FIELDS;

		memset(f, 0, sizeof f);
		for (int j = 0; j < m; j++)
			f[j].key = k[i + j].key;
		if (bms_json_scan(rec, len, f, (size_t)m, &jerr) < 0)
			return bms_err_set(err, errsz, "%s: %s at byte %zu", what, jerr.what,
					   jerr.at);
		/* In order: an array's count comes before it. */
		for (int j = 0; j < m; j++)
			if (read_one(&k[i + j], &f[j], what, err, errsz) < 0)
				return -1;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Configuration files (see config.h and bms.conf(5)).  A file is parsed
 * line by line into a fresh set of values; only a set that parsed and
 * checked completely replaces the configuration's current one.  Lookups
 * walk the set's entries: a configuration holds tens of settings, and a
 * program that looks values up per record resolves them once per load.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "json.h"

/* ==== Values ==== */

struct conf_val {
	int64_t i;	/* integer, boolean, enum index, duration (ms) */
	double d;	/* number (and integer, as a double) */
	char *s;	/* string, owned */
};

struct conf_ent {
	size_t key;		/* row of the table */
	const char *name;	/* NULL for [section]; else owned by names */
	unsigned line;		/* where it was set */
	unsigned col;		/* column of the value's first byte */
	struct conf_val v;
};

struct conf_name {
	const char *section;	/* the table's text */
	char *name;		/* owned */
};

struct conf_set {
	struct conf_ent *ent;
	size_t n, cap;
	struct conf_name *names;
	size_t nnames, capnames;
	char *file;		/* the name positions are reported under */
};

struct bms_config {
	const struct bms_config_key *keys;
	size_t nkeys;
	struct conf_val *defs;	/* one per key */
	struct conf_set *cur;
	char *path;
};

static void set_free(struct conf_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->ent[i].v.s);
	for (size_t i = 0; i < set->nnames; i++)
		free(set->names[i].name);
	free(set->ent);
	free(set->names);
	free(set->file);
	free(set);
}

/* ==== Parsing ==== */

struct parser {
	const struct bms_config *cfg;
	const char *file;	/* name for messages */
	char *err;
	size_t errsz;
	unsigned line;
	const char *lp;		/* first byte of the line */
	const char *section;	/* the table's text of the current section */
	const char *name;	/* current [section "name"], or NULL */
	struct conf_set *set;
	struct bms_buf tmp;	/* a decoded string */
};

static int perr(struct parser *p, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "file:line:col: text" with the column of at in the current line. */
static int perr(struct parser *p, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bms_err_set(p->err, p->errsz, "%s:%u:%zu: %s", p->file, p->line,
			   (size_t)(at - p->lp) + 1, msg);
}

const char *bms_config_shown(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 12 >= cap) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '\'' || c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
		else if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, cap - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_word(char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && is_ws(*s))
		s++;
	return s;
}

/* The line holds no NUL, control character (but tab) or bad UTF-8. */
static int check_bytes(struct parser *p, const char *s, const char *end)
{
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return perr(p, s, "control character 0x%02x", c);
		} else if (n > (size_t)(end - s) || !bms_json_utf8_valid(s, n)) {
			return perr(p, s, "invalid UTF-8");
		}
		s += n;
	}
	return 0;
}

/*
 * A quoted string from *s (at its opening quote) into p->tmp; *s is left
 * after the closing quote.
 */
static int quoted(struct parser *p, const char **s, const char *end)
{
	const char *q = *s + 1;

	bms_buf_reset(&p->tmp);
	bms_buf_add(&p->tmp, "", 0);
	while (q < end && *q != '"') {
		if (*q == '\\') {
			if (q + 1 >= end)
				break;
			switch (q[1]) {
			case '\\': bms_buf_putc(&p->tmp, '\\'); break;
			case '"': bms_buf_putc(&p->tmp, '"'); break;
			case 'n': bms_buf_putc(&p->tmp, '\n'); break;
			case 't': bms_buf_putc(&p->tmp, '\t'); break;
			default:
				if ((unsigned char)q[1] > 0x20 && (unsigned char)q[1] < 0x7f &&
				    q[1] != '\'')
					return perr(p, q, "unknown escape '\\%c' (use \\\\, \\\", \\n or \\t)",
						    q[1]);
				return perr(p, q, "unknown escape (use \\\\, \\\", \\n or \\t)");
			}
			q += 2;
			continue;
		}
		bms_buf_putc(&p->tmp, *q++);
	}
	if (q >= end)
		return perr(p, *s, "unterminated string");
	if (p->tmp.oom)
		return perr(p, *s, "out of memory");
	*s = q + 1;
	return 0;
}

/* Nothing but white space and a comment from s on. */
static int line_end(struct parser *p, const char *s, const char *end, const char *after)
{
	s = skip_ws(s, end);
	if (s < end && *s != '#')
		return perr(p, s, "unexpected text after %s", after);
	return 0;
}

static int section_known(const struct bms_config *cfg, const char *sec, size_t n,
			 const char **text, int *named)
{
	int found = 0;

	*named = 0;
	for (size_t i = 0; i < cfg->nkeys; i++) {
		const char *ks = cfg->keys[i].section;

		if (strlen(ks) == n && memcmp(ks, sec, n) == 0 && n > 0) {
			*text = ks;
			found = 1;
			if (cfg->keys[i].flags & BMS_CONFIG_NAMED)
				*named = 1;
		}
	}
	return found;
}

static int header(struct parser *p, const char *s, const char *end)
{
	const char *ns, *ne;
	const char *text = NULL;
	char b[80];
	int named;

	s = skip_ws(s + 1, end);
	ns = s;
	if (s >= end || !is_word_start(*s))
		return perr(p, s, "expected a section name after '['");
	while (s < end && is_word(*s))
		s++;
	ne = s;
	if (!section_known(p->cfg, ns, (size_t)(ne - ns), &text, &named))
		return perr(p, ns, "unknown section '%s'",
			    bms_config_shown(ns, (size_t)(ne - ns), b, sizeof b));
	p->section = text;
	p->name = NULL;
	s = skip_ws(s, end);
	if (s < end && *s == '"') {
		const char *qs = s;
		size_t i;

		if (quoted(p, &s, end) < 0)
			return -1;
		if (!named)
			return perr(p, qs, "section '%s' takes no name", text);
		if (p->tmp.len == 0)
			return perr(p, qs, "empty name in [%s \"\"]", text);
		for (i = 0; i < p->set->nnames; i++)
			if (p->set->names[i].section == text &&
			    strcmp(p->set->names[i].name, p->tmp.p) == 0)
				break;
		if (i == p->set->nnames) {
			struct conf_name *nn = p->set->names;
			char *copy;

			if (p->set->nnames == p->set->capnames) {
				size_t cap = p->set->capnames ? 2 * p->set->capnames : 8;

				nn = realloc(p->set->names, cap * sizeof *nn);
				if (!nn)
					return perr(p, qs, "out of memory");
				p->set->names = nn;
				p->set->capnames = cap;
			}
			copy = strdup(p->tmp.p);
			if (!copy)
				return perr(p, qs, "out of memory");
			nn[i].section = text;
			nn[i].name = copy;
			p->set->nnames++;
		}
		p->name = p->set->names[i].name;
		s = skip_ws(s, end);
	}
	if (s >= end || *s != ']')
		return perr(p, s, p->name ? "expected ']' after the name"
			    : "expected ']' or a quoted name after the section name");
	return line_end(p, s + 1, end, "']'");
}

/* ---- Typed values ---- */

static void fmt_ms(int64_t ms, char *out, size_t cap)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, cap, "%lld%s", (long long)(ms / units[i].ms), units[i].u);
			return;
		}
	snprintf(out, cap, ms == 0 ? "0" : "%lldms", (long long)ms);
}

static int parse_int(const char *s, int64_t *v)
{
	const char *d = s + (*s == '-' || *s == '+');
	char *end;
	long long x;

	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

static int parse_num(const char *s, double *v)
{
	char *end;

	/* Decimal only: no hex, inf or nan. */
	if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	if (*end || end == s || !isfinite(*v) || errno == ERANGE)
		return -1;
	return 0;
}

int bms_config_duration(const char *s, int64_t *v)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	int64_t total = 0;

	if (strcmp(s, "0") == 0) {
		*v = 0;
		return 0;
	}
	if (!*s)
		return -1;
	while (*s) {
		int64_t n = 0;
		size_t i, ul;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			ul = strlen(units[i].u);
			if (strncmp(s, units[i].u, ul) == 0 &&
			    !(ul == 1 && units[i].u[0] == 'm' && s[1] == 's'))
				break;
		}
		if (i == sizeof units / sizeof units[0])
			return -1;
		if (n > (INT64_MAX - total) / units[i].ms)
			return -1;
		total += n * units[i].ms;
		s += ul;
	}
	*v = total;
	return 0;
}

/*
 * Convert text s (NUL-terminated, n bytes) for key k into *v.  Returns 0,
 * or -1 with the reason (without position) in why.
 */
static int convert(const struct bms_config_key *k, const char *s, size_t n,
		   struct conf_val *v, char *why, size_t whysz)
{
	char b[80], lo[32], hi[32];
	int ranged = k->min != 0 || k->max != 0;

	memset(v, 0, sizeof *v);
	bms_config_shown(s, n, b, sizeof b);
	switch (k->type) {
	case BMS_CONFIG_STRING:
		v->s = strndup(s, n);
		if (!v->s)
			return bms_err_set(why, whysz, "out of memory");
		return 0;
	case BMS_CONFIG_INTEGER:
		if (strlen(s) != n || parse_int(s, &v->i) < 0)
			return bms_err_set(why, whysz, "%s: '%s' is not an integer", k->key, b);
		v->d = (double)v->i;
		if (ranged && (v->d < k->min || v->d > k->max))
			return bms_err_set(why, whysz, "%s: %s is out of range (%.0f to %.0f)",
					   k->key, b, k->min, k->max);
		return 0;
	case BMS_CONFIG_NUMBER:
		if (strlen(s) != n || parse_num(s, &v->d) < 0)
			return bms_err_set(why, whysz, "%s: '%s' is not a number", k->key, b);
		if (ranged && (v->d < k->min || v->d > k->max))
			return bms_err_set(why, whysz, "%s: %s is out of range (%g to %g)",
					   k->key, b, k->min, k->max);
		return 0;
	case BMS_CONFIG_BOOLEAN:
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
			v->i = 1;
		else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
			v->i = 0;
		else
			return bms_err_set(why, whysz, "%s: '%s' is not true or false", k->key, b);
		return 0;
	case BMS_CONFIG_ENUM: {
		struct bms_buf list = BMS_BUF_INIT;

		for (size_t i = 0; k->words[i]; i++)
			if (strlen(k->words[i]) == n && strcmp(k->words[i], s) == 0) {
				v->i = (int64_t)i;
				return 0;
			}
		for (size_t i = 0; k->words[i]; i++) {
			if (i)
				bms_buf_puts(&list, k->words[i + 1] ? ", " : " or ");
			bms_buf_puts(&list, k->words[i]);
		}
		bms_err_set(why, whysz, "%s: '%s' is not %s", k->key, b,
			    list.p ? list.p : "a known word");
		bms_buf_free(&list);
		return -1;
	}
	case BMS_CONFIG_DURATION:
		if (strlen(s) != n || bms_config_duration(s, &v->i) < 0)
			return bms_err_set(why, whysz,
					   "%s: '%s' is not a duration (such as 500ms, 30s, 5m, 1h30m, 7d)",
					   k->key, b);
		v->d = (double)v->i;
		if (ranged && (v->d < k->min || v->d > k->max)) {
			fmt_ms((int64_t)k->min, lo, sizeof lo);
			fmt_ms((int64_t)k->max, hi, sizeof hi);
			return bms_err_set(why, whysz, "%s: %s is out of range (%s to %s)",
					   k->key, b, lo, hi);
		}
		return 0;
	}
	return bms_err_set(why, whysz, "%s: unknown type", k->key);
}

/* The byte of a value as written (vs, at its first byte or opening
 * quote) that holds byte at of the value as decoded. */
static const char *raw_at(const char *vs, size_t at)
{
	if (*vs != '"')
		return vs + at;
	for (vs++; at > 0; at--)
		vs += *vs == '\\' ? 2 : 1;
	return vs;
}

static int setting(struct parser *p, const char *s, const char *end)
{
	const struct bms_config *cfg = p->cfg;
	const char *ks = s, *ke, *vs, *ve;
	size_t ki, klen;
	char b[80], why[256];
	const char *val;
	size_t vlen;
	struct conf_val v;

	while (s < end && is_word(*s))
		s++;
	ke = s;
	klen = (size_t)(ke - ks);
	s = skip_ws(s, end);
	if (s >= end || *s != '=')
		return perr(p, s, "expected '=' after key '%s'", bms_config_shown(ks, klen, b, sizeof b));
	for (ki = 0; ki < cfg->nkeys; ki++)
		if (cfg->keys[ki].section == p->section ||
		    strcmp(cfg->keys[ki].section, p->section) == 0)
			if (strlen(cfg->keys[ki].key) == klen &&
			    memcmp(cfg->keys[ki].key, ks, klen) == 0)
				break;
	if (ki == cfg->nkeys) {
		if (p->section[0])
			return perr(p, ks, "unknown key '%s' in [%s]",
				    bms_config_shown(ks, klen, b, sizeof b), p->section);
		return perr(p, ks, "unknown key '%s'", bms_config_shown(ks, klen, b, sizeof b));
	}
	if (p->name && !(cfg->keys[ki].flags & BMS_CONFIG_NAMED))
		return perr(p, ks, "key '%s' belongs in [%s], not in a named [%s \"...\"]",
			    cfg->keys[ki].key, p->section, p->section);
	for (size_t i = 0; i < p->set->n; i++)
		if (p->set->ent[i].key == ki && p->set->ent[i].name == p->name)
			return perr(p, ks, "'%s' is already set at line %u",
				    cfg->keys[ki].key, p->set->ent[i].line);
	vs = s = skip_ws(s + 1, end);
	if (s >= end || *s == '#')
		return perr(p, s, "expected a value after '='");
	if (*s == '"') {
		if (quoted(p, &s, end) < 0)
			return -1;
		val = p->tmp.p;
		vlen = p->tmp.len;
	} else {
		while (s < end && !is_ws(*s) && *s != '#' && *s != '"')
			s++;
		ve = s;
		bms_buf_reset(&p->tmp);
		bms_buf_add(&p->tmp, vs, (size_t)(ve - vs));
		if (p->tmp.oom)
			return perr(p, vs, "out of memory");
		val = p->tmp.p;
		vlen = p->tmp.len;
		if (s < end && *s == '"')
			return perr(p, s, "unexpected '\"' in a value (quote the whole value)");
	}
	if (line_end(p, s, end, "the value") < 0)
		return -1;
	if (convert(&cfg->keys[ki], val, vlen, &v, why, sizeof why) < 0)
		return perr(p, vs, "%s", why);
	if (cfg->keys[ki].check) {
		size_t at = 0;

		if (cfg->keys[ki].check(val, vlen, &at, why, sizeof why) < 0) {
			free(v.s);
			return perr(p, raw_at(vs, at), "%s: %s", cfg->keys[ki].key, why);
		}
	}
	if (p->set->n == p->set->cap) {
		size_t cap = p->set->cap ? 2 * p->set->cap : 16;
		struct conf_ent *ne = realloc(p->set->ent, cap * sizeof *ne);

		if (!ne) {
			free(v.s);
			return perr(p, vs, "out of memory");
		}
		p->set->ent = ne;
		p->set->cap = cap;
	}
	p->set->ent[p->set->n++] = (struct conf_ent){ ki, p->name, p->line,
						      (unsigned)(vs - p->lp) + 1, v };
	return 0;
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	const char *s = text, *end = text + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *c;

		p->line++;
		p->lp = s;
		if (le > s && le[-1] == '\r')
			le--;
		if (check_bytes(p, s, le) < 0)
			return -1;
		c = skip_ws(s, le);
		if (c < le && *c != '#') {
			if (*c == '[') {
				if (header(p, c, le) < 0)
					return -1;
			} else if (is_word_start(*c)) {
				if (setting(p, c, le) < 0)
					return -1;
			} else {
				return perr(p, c, "expected a key or a [section]");
			}
		}
		s = nl ? nl + 1 : end;
	}
	/* Keys the program cannot do without. */
	for (size_t i = 0; i < p->cfg->nkeys; i++) {
		const struct bms_config_key *k = &p->cfg->keys[i];
		size_t j;

		if (!(k->flags & BMS_CONFIG_REQUIRED))
			continue;
		for (j = 0; j < p->set->n; j++)
			if (p->set->ent[j].key == i && !p->set->ent[j].name)
				break;
		if (j == p->set->n) {
			if (k->section[0])
				return bms_err_set(p->err, p->errsz, "%s: missing '%s' in [%s]",
						   p->file, k->key, k->section);
			return bms_err_set(p->err, p->errsz, "%s: missing '%s'", p->file, k->key);
		}
	}
	return 0;
}

/* ==== The configuration ==== */

struct bms_config *bms_config_new(const struct bms_config_key *keys, size_t nkeys)
{
	struct bms_config *cfg = calloc(1, sizeof *cfg);
	char why[256];

	if (!cfg)
		return NULL;
	cfg->keys = keys;
	cfg->nkeys = nkeys;
	cfg->defs = calloc(nkeys ? nkeys : 1, sizeof *cfg->defs);
	cfg->cur = calloc(1, sizeof *cfg->cur);
	if (!cfg->defs || !cfg->cur) {
		bms_config_free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < nkeys; i++) {
		int rc;

		assert(keys[i].section && keys[i].key);
		assert(keys[i].type != BMS_CONFIG_ENUM || keys[i].words);
		if (!keys[i].def)
			continue;
		rc = convert(&keys[i], keys[i].def, strlen(keys[i].def), &cfg->defs[i],
			     why, sizeof why);
		assert(rc == 0 || strcmp(why, "out of memory") == 0);
		if (rc < 0) {
			bms_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

void bms_config_free(struct bms_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->defs)
		for (size_t i = 0; i < cfg->nkeys; i++)
			free(cfg->defs[i].s);
	free(cfg->defs);
	set_free(cfg->cur);
	free(cfg->path);
	free(cfg);
}

int bms_config_parse(struct bms_config *cfg, const char *name,
		     const char *text, size_t len, char *err, size_t errsz)
{
	struct parser p = { cfg, name, err, errsz, 0, text, "", NULL, NULL, BMS_BUF_INIT };
	int rc;

	if (len > BMS_CONFIG_MAX_SIZE)
		return bms_err_set(err, errsz, "%s: larger than 1 MiB", name);
	p.set = calloc(1, sizeof *p.set);
	if (!p.set || !(p.set->file = strdup(name))) {
		free(p.set);
		return bms_err_set(err, errsz, "%s: out of memory", name);
	}
	rc = parse_text(&p, text, len);
	bms_buf_free(&p.tmp);
	if (rc < 0) {
		set_free(p.set);
		return -1;
	}
	set_free(cfg->cur);
	cfg->cur = p.set;
	return 0;
}

int bms_config_load(struct bms_config *cfg, const char *path, char *err, size_t errsz)
{
	struct bms_buf text = BMS_BUF_INIT;
	char chunk[65536];
	char *copy = NULL;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bms_err_set(err, errsz, "cannot read '%s': %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = bms_err_set(err, errsz, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (text.len + (size_t)n > BMS_CONFIG_MAX_SIZE) {
			rc = bms_err_set(err, errsz, "%s: larger than 1 MiB", path);
			goto out;
		}
		bms_buf_add(&text, chunk, (size_t)n);
	}
	if (text.oom || (cfg->path != path && !(copy = strdup(path)))) {
		rc = bms_err_set(err, errsz, "cannot read '%s': out of memory", path);
		goto out;
	}
	rc = bms_config_parse(cfg, path, text.p ? text.p : "", text.len, err, errsz);
	if (rc == 0 && copy) {
		free(cfg->path);
		cfg->path = copy;
		copy = NULL;
	}
out:
	free(copy);
	close(fd);
	bms_buf_free(&text);
	return rc;
}

int bms_config_reload(struct bms_config *cfg, char *err, size_t errsz)
{
	if (!cfg->path)
		return bms_err_set(err, errsz, "no configuration file was loaded");
	return bms_config_load(cfg, cfg->path, err, errsz);
}

const char *bms_config_path(const struct bms_config *cfg)
{
	return cfg->path;
}

/* ==== Lookups ==== */

static size_t key_index(const struct bms_config *cfg, const char *section, const char *key)
{
	for (size_t i = 0; i < cfg->nkeys; i++)
		if (strcmp(cfg->keys[i].section, section) == 0 &&
		    strcmp(cfg->keys[i].key, key) == 0)
			return i;
	assert(!"key not in the configuration's table");
	return 0;
}

/* The value of a lookup, and where it came from (see bms_config_isset). */
static const struct conf_val *lookup(const struct bms_config *cfg, const char *section,
				     const char *name, const char *key,
				     enum bms_config_type type, int *from)
{
	size_t ki = key_index(cfg, section, key);
	const struct conf_val *plain = NULL;
	const struct conf_set *set = cfg->cur;

	assert(type == (enum bms_config_type)-1 || cfg->keys[ki].type == type);
	if (!(cfg->keys[ki].flags & BMS_CONFIG_NAMED))
		name = NULL;
	for (size_t i = 0; i < set->n; i++) {
		const struct conf_ent *e = &set->ent[i];

		if (e->key != ki)
			continue;
		if (!e->name)
			plain = &e->v;
		else if (name && strcmp(e->name, name) == 0) {
			*from = 2;
			return &e->v;
		}
	}
	*from = plain ? 1 : 0;
	return plain ? plain : &cfg->defs[ki];
}

const char *bms_config_str(const struct bms_config *cfg, const char *section,
			   const char *name, const char *key)
{
	int from;

	return lookup(cfg, section, name, key, BMS_CONFIG_STRING, &from)->s;
}

int64_t bms_config_int(const struct bms_config *cfg, const char *section,
		       const char *name, const char *key)
{
	int from;

	return lookup(cfg, section, name, key, BMS_CONFIG_INTEGER, &from)->i;
}

double bms_config_num(const struct bms_config *cfg, const char *section,
		      const char *name, const char *key)
{
	int from;

	return lookup(cfg, section, name, key, BMS_CONFIG_NUMBER, &from)->d;
}

int bms_config_bool(const struct bms_config *cfg, const char *section,
		    const char *name, const char *key)
{
	int from;

	return (int)lookup(cfg, section, name, key, BMS_CONFIG_BOOLEAN, &from)->i;
}

int bms_config_enum(const struct bms_config *cfg, const char *section,
		    const char *name, const char *key)
{
	int from;

	return (int)lookup(cfg, section, name, key, BMS_CONFIG_ENUM, &from)->i;
}

int64_t bms_config_ms(const struct bms_config *cfg, const char *section,
		      const char *name, const char *key)
{
	int from;

	return lookup(cfg, section, name, key, BMS_CONFIG_DURATION, &from)->i;
}

int bms_config_where(const struct bms_config *cfg, const char *section,
		     const char *name, const char *key, unsigned *line, unsigned *col)
{
	size_t ki = key_index(cfg, section, key);
	const struct conf_ent *plain = NULL, *e;

	if (!(cfg->keys[ki].flags & BMS_CONFIG_NAMED))
		name = NULL;
	for (size_t i = 0; i < cfg->cur->n; i++) {
		e = &cfg->cur->ent[i];
		if (e->key != ki)
			continue;
		if (!e->name)
			plain = e;
		else if (name && strcmp(e->name, name) == 0) {
			plain = e;
			break;
		}
	}
	if (!plain)
		return 0;
	*line = plain->line;
	*col = plain->col;
	return 1;
}

const char *bms_config_file(const struct bms_config *cfg)
{
	return cfg->cur->file ? cfg->cur->file : "";
}

int bms_config_isset(const struct bms_config *cfg, const char *section,
		     const char *name, const char *key)
{
	int from;

	lookup(cfg, section, name, key, (enum bms_config_type)-1, &from);
	return from;
}

const char *bms_config_name(const struct bms_config *cfg, const char *section, size_t i)
{
	const struct conf_set *set = cfg->cur;

	for (size_t j = 0; j < set->nnames; j++)
		if (strcmp(set->names[j].section, section) == 0 && i-- == 0)
			return set->names[j].name;
	return NULL;
}

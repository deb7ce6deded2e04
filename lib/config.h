/* SPDX-License-Identifier: MIT */
/*
 * The project's configuration format (bms.conf(5)): plain text, one
 * setting a line, in sections, every value checked against the table of
 * keys the program declares.
 *
 *	# limits for every battery
 *	[battery]
 *	max_cell_v = 3.65
 *	interval = 30s
 *
 *	[battery "house"]	# overrides [battery] for bms_id "house"
 *	max_cell_v = 3.55
 *
 * Keys before the first section header belong to the section "".  A key
 * declared with BMS_CONFIG_NAMED may also be set in [section "name"]; a
 * lookup for that name finds it there first, then in [section], then the
 * table's default.  An unknown section or key, a key set twice in one
 * section, a value of the wrong type or out of range: each is an error
 * naming file, line and column (columns count bytes from 1):
 *
 *	bms.conf:4:14: max_cell_v: '5x' is not a number
 *
 * A configuration is replaced only whole: bms_config_reload() (for
 * SIGHUP, see sig.h) keeps the old values when the new file does not
 * parse and check completely.  Memory grows with the size of the file
 * (at most BMS_CONFIG_MAX_SIZE bytes), never with time.
 */
#ifndef BMS_CONFIG_H
#define BMS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define BMS_CONFIG_MAX_SIZE (1u << 20)	/* bytes of a configuration file */

enum bms_config_type {
	BMS_CONFIG_STRING,	/* any text */
	BMS_CONFIG_INTEGER,	/* decimal integer, int64 */
	BMS_CONFIG_NUMBER,	/* decimal number, such as 3.65 or 1e-3 */
	BMS_CONFIG_BOOLEAN,	/* true, false, yes, no, on, off */
	BMS_CONFIG_ENUM,		/* one of the key's words */
	BMS_CONFIG_DURATION,	/* 500ms, 30s, 5m, 1h30m, 7d, 0: held in ms */
};

#define BMS_CONFIG_NAMED 1u	/* may be set per name, in [section "name"] */
#define BMS_CONFIG_REQUIRED 2u	/* must be set in [section] */

/*
 * One key a program knows.  A table of them (static, outliving the
 * configuration) is all a program declares; write it with designated
 * initialisers.  The default is written as it would be in a file and
 * must pass the key's own checks (asserted by bms_config_new).
 */
struct bms_config_key {
	const char *section;	/* "" for keys before any section header */
	const char *key;
	enum bms_config_type type;
	unsigned flags;		/* BMS_CONFIG_NAMED, BMS_CONFIG_REQUIRED */
	double min, max;	/* inclusive range of an integer, number or
				 * duration (ms); no range when both are 0 */
	const char *const *words;	/* an enum's words, NULL-terminated */
	const char *def;	/* the default; NULL: none (0, false, NULL) */
	/*
	 * Optional, for strings: a further check of the value as decoded
	 * (NUL-terminated, len bytes), such as compiling it.  Returns 0, or
	 * -1 with *at, the byte offset of the problem in the value, and a
	 * reason in why; the error names the file, line and the column of
	 * that byte as written (escapes of a quoted value counted).  Not
	 * applied to the default.
	 */
	int (*check)(const char *val, size_t len, size_t *at, char *why, size_t whysz);
};

struct bms_config;

/*
 * A configuration of the keys keys[0..nkeys), holding the defaults until
 * something is loaded.  Returns NULL when out of memory.
 */
struct bms_config *bms_config_new(const struct bms_config_key *keys, size_t nkeys);

void bms_config_free(struct bms_config *cfg);

/*
 * Read and check the file at path; when it is good, its values replace
 * the configuration's and path is remembered for bms_config_reload.
 * Returns 0, or -1 with the reason in err, the configuration unchanged.
 */
int bms_config_load(struct bms_config *cfg, const char *path, char *err, size_t errsz);

/*
 * The same for text[0..len), whose positions are reported under name
 * (for tests and the fuzz target; nothing is remembered for reload).
 */
int bms_config_parse(struct bms_config *cfg, const char *name,
		     const char *text, size_t len, char *err, size_t errsz);

/*
 * Load again the file last loaded (on SIGHUP).  Returns 0 with the new
 * values in place, or -1 with the reason in err and the old values kept.
 * Strings returned before a successful reload are freed by it.
 */
int bms_config_reload(struct bms_config *cfg, char *err, size_t errsz);

/* The path bms_config_load last loaded, NULL if none. */
const char *bms_config_path(const struct bms_config *cfg);

/*
 * Typed values.  section and key must be a row of the table, of the
 * getter's type (asserted).  name is NULL for the plain [section], or a
 * name: the value set in [section "name"] when the key is
 * BMS_CONFIG_NAMED and it is set there, else the one in [section], else
 * the default.  A string belongs to the configuration (see reload).
 */
const char *bms_config_str(const struct bms_config *cfg, const char *section,
			   const char *name, const char *key);
int64_t bms_config_int(const struct bms_config *cfg, const char *section,
		       const char *name, const char *key);
double bms_config_num(const struct bms_config *cfg, const char *section,
		      const char *name, const char *key);
int bms_config_bool(const struct bms_config *cfg, const char *section,
		    const char *name, const char *key);
/* The index of the value among the key's words. */
int bms_config_enum(const struct bms_config *cfg, const char *section,
		    const char *name, const char *key);
/* A duration in milliseconds. */
int64_t bms_config_ms(const struct bms_config *cfg, const char *section,
		      const char *name, const char *key);

/*
 * Where the value of a lookup comes from: 2 set in [section "name"],
 * 1 set in [section], 0 the default (or none).
 */
int bms_config_isset(const struct bms_config *cfg, const char *section,
		     const char *name, const char *key);

/*
 * Where the value a lookup finds was set: returns 1 with *line and *col
 * (of the value's first byte, from 1) when it was set in the file, 0 when
 * it is the default.
 */
int bms_config_where(const struct bms_config *cfg, const char *section,
		     const char *name, const char *key, unsigned *line, unsigned *col);

/*
 * Text s[0..n) from a file for a one-line message, to be quoted with '':
 * quotes, backslashes and control characters escaped, cut short with
 * "..." to fit cap bytes.  Returns out.
 */
const char *bms_config_shown(const char *s, size_t n, char *out, size_t cap);

/* The file name positions are reported under ("" before any load). */
const char *bms_config_file(const struct bms_config *cfg);

/*
 * Parse a duration as a DURATION value of a file is read (500ms, 30s,
 * 5m, 1h30m, 7d, 0), for a program that takes one on its command line
 * too: s is NUL-terminated.  Returns 0 with *ms, or -1 if s is not one.
 */
int bms_config_duration(const char *s, int64_t *ms);

/*
 * The names of the [section "name"] headers of the file, in the order
 * they first appear: the i-th one, or NULL past the last.
 */
const char *bms_config_name(const struct bms_config *cfg, const char *section, size_t i);

#endif

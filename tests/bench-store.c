/* SPDX-License-Identifier: MIT */
/*
 * bench-store: the peer of bms-store in make bench.  SQLite's own bulk
 * insert of the very rows bms-store stored, into the very same schema.
 *
 *     bench-store SRC.db DST.db BATCH
 *
 * SRC is a tenant database bms-store wrote.  DST (which must not exist)
 * gets every CREATE statement of SRC, the PRAGMAs bms-store uses (WAL,
 * synchronous=NORMAL, foreign_keys=ON) and the batteries rows; then the
 * readings rows and the tier rows of SRC, held in memory beforehand, are
 * inserted with one prepared statement per table, BATCH rows per
 * transaction.  Only those inserts are timed.  Prints one line:
 *     <readings rows> <tier rows> <seconds>
 * Anything that goes wrong ends it with a message and exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One value of a row: integers and reals in place, text and blobs in the
 * table's arena. */
struct cell {
	int type;		/* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB, _NULL */
	int len;		/* bytes of text or blob */
	union {
		sqlite3_int64 i;
		double d;
		size_t off;	/* into arena */
	} v;
};

struct table {
	const char *name;
	int ncol;
	size_t nrows;
	struct cell *cells;	/* nrows * ncol */
	char *arena;
	size_t arena_len, arena_cap;
};

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "bench-store: out of memory\n");
		exit(1);
	}
	return p;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench-store: %s: %s\n", sql, err ? err : "failed");
		exit(1);
	}
}

/* Read every row of table t->name of src into memory. */
static void load(sqlite3 *src, struct table *t)
{
	char sql[256];
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t->name);
	if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK)
		die(src, sql);
	t->ncol = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (t->nrows == cap) {
			cap = cap ? cap * 2 : 4096;
			t->cells = xrealloc(t->cells, cap * (size_t)t->ncol * sizeof *t->cells);
		}
		for (int i = 0; i < t->ncol; i++) {
			struct cell *c = &t->cells[t->nrows * (size_t)t->ncol + (size_t)i];
			const void *p;

			c->type = sqlite3_column_type(st, i);
			switch (c->type) {
			case SQLITE_INTEGER:
				c->v.i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				c->v.d = sqlite3_column_double(st, i);
				break;
			case SQLITE_TEXT:
			case SQLITE_BLOB:
				p = c->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i)
							   : sqlite3_column_blob(st, i);
				c->len = sqlite3_column_bytes(st, i);
				if (t->arena_len + (size_t)c->len > t->arena_cap) {
					t->arena_cap = (t->arena_cap + (size_t)c->len) * 2;
					t->arena = xrealloc(t->arena, t->arena_cap);
				}
				if (c->len)
					memcpy(t->arena + t->arena_len, p, (size_t)c->len);
				c->v.off = t->arena_len;
				t->arena_len += (size_t)c->len;
				break;
			}
		}
		t->nrows++;
	}
	if (rc != SQLITE_DONE)
		die(src, sql);
	sqlite3_finalize(st);
}

/* Insert rows [from, to) of t with the prepared statement ins. */
static void insert(sqlite3 *db, sqlite3_stmt *ins, const struct table *t,
		   size_t from, size_t to)
{
	for (size_t r = from; r < to; r++) {
		for (int i = 0; i < t->ncol; i++) {
			const struct cell *c = &t->cells[r * (size_t)t->ncol + (size_t)i];

			switch (c->type) {
			case SQLITE_INTEGER:
				sqlite3_bind_int64(ins, i + 1, c->v.i);
				break;
			case SQLITE_FLOAT:
				sqlite3_bind_double(ins, i + 1, c->v.d);
				break;
			case SQLITE_TEXT:
				sqlite3_bind_text(ins, i + 1, t->arena + c->v.off, c->len, SQLITE_STATIC);
				break;
			case SQLITE_BLOB:
				sqlite3_bind_blob(ins, i + 1, t->arena + c->v.off, c->len, SQLITE_STATIC);
				break;
			default:
				sqlite3_bind_null(ins, i + 1);
			}
		}
		if (sqlite3_step(ins) != SQLITE_DONE)
			die(db, "insert");
		sqlite3_reset(ins);
	}
}

static sqlite3_stmt *prepare_insert(sqlite3 *db, const struct table *t)
{
	char sql[4096];
	sqlite3_stmt *st;
	int n = snprintf(sql, sizeof sql, "INSERT INTO \"%s\" VALUES (", t->name);

	for (int i = 0; i < t->ncol && n < (int)sizeof sql - 8; i++)
		n += snprintf(sql + n, sizeof sql - (size_t)n, i ? ",?" : "?");
	snprintf(sql + n, sizeof sql - (size_t)n, ")");
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		die(db, sql);
	return st;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct table bat = { .name = "batteries" }, rd = { .name = "readings" },
		     tier = { .name = "tiers" };
	struct table *timed[] = { &rd, &tier };
	sqlite3 *src, *dst;
	sqlite3_stmt *st;
	long batch;
	double t0, t1;

	if (argc != 4 || (batch = strtol(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: bench-store SRC.db DST.db BATCH\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(src, argv[1]);
	if (sqlite3_open_v2(argv[2], &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_EXCLUSIVE, NULL) != SQLITE_OK)
		die(dst, argv[2]);
	exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");

	/* The same schema: tables first, then indexes and the rest. */
	exec(dst, "BEGIN");
	if (sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
			       "AND name NOT LIKE 'sqlite_%' ORDER BY type != 'table', rowid",
			       -1, &st, NULL) != SQLITE_OK)
		die(src, "sqlite_master");
	while (sqlite3_step(st) == SQLITE_ROW)
		exec(dst, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	exec(dst, "COMMIT");

	load(src, &bat);
	load(src, &rd);
	load(src, &tier);
	sqlite3_close(src);

	/* The batteries the readings refer to: not timed. */
	st = prepare_insert(dst, &bat);
	exec(dst, "BEGIN");
	insert(dst, st, &bat, 0, bat.nrows);
	exec(dst, "COMMIT");
	sqlite3_finalize(st);

	t0 = now();
	for (size_t k = 0; k < sizeof timed / sizeof *timed; k++) {
		struct table *t = timed[k];

		st = prepare_insert(dst, t);
		for (size_t r = 0; r < t->nrows; r += (size_t)batch) {
			size_t end = r + (size_t)batch < t->nrows ? r + (size_t)batch : t->nrows;

			exec(dst, "BEGIN");
			insert(dst, st, t, r, end);
			exec(dst, "COMMIT");
		}
		sqlite3_finalize(st);
	}
	t1 = now();
	if (sqlite3_close(dst) != SQLITE_OK)
		die(dst, "close");
	printf("%zu %zu %.6f\n", rd.nrows, tier.nrows, t1 - t0);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of --state files (lib/state.c): a round trip, a missing file
 * as an empty state, mode 0600 whatever the umask, the exact errors for
 * damaged, newer and foreign files, and an atomic replace that leaves the
 * old file whole (and no temporary file) when the new one cannot be made;
 * and the table of struct members a record is written and read with.
 * The tests run in a temporary directory of their own.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "unit.h"
#include "scratch.h"


/* What a load handed to the stage, one record a line. */
struct got {
	char text[1024];
	unsigned long n;
	int version;
	const char *refuse;	/* a record to refuse, with the reason "bad window" */
};

static int collect(void *ctx, const struct bms_state_info *info,
		   const char *rec, size_t len, char *err, size_t errsz)
{
	struct got *g = ctx;

	CHECK_INT(rec[len], '\0');
	CHECK_INT(info->records, g->n);
	if (g->refuse && strcmp(rec, g->refuse) == 0) {
		snprintf(err, errsz, "bad window");
		return -1;
	}
	g->version = info->version;
	g->n++;
	strncat(g->text, rec, sizeof g->text - strlen(g->text) - 2);
	strcat(g->text, "\n");
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries of directory d but "." and "..": the temporary files left. */
static int entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

static int save(const char *path, const char *program, int version,
		const char *const *recs, char *err, size_t errsz)
{
	struct bms_state_save s;

	err[0] = '\0';
	if (bms_state_save_begin(&s, path, program, version, err, errsz) < 0)
		return -1;
	for (size_t i = 0; recs[i]; i++)
		bms_state_save_add(&s, recs[i], strlen(recs[i]));
	return bms_state_save_commit(&s, err, errsz);
}

static int load(const char *path, struct got *g, char *err, size_t errsz)
{
	memset(g->text, 0, sizeof g->text);
	g->n = 0;
	err[0] = '\0';
	return bms_state_load(path, "bms-agg", 2, collect, g, NULL, err, errsz);
}

static const char *const recs[] = {
	"{\"bms_id\":\"house\",\"window\":\"1m\",\"n\":3}",
	"{\"bms_id\":\"shed\",\"alerts\":[{\"rule\":\"cell_high\",\"since\":\"2026-11-27T14:29:11.123Z\"}]}",
	"{ \"type\" : \"end\" , \"records\" : 2 }",
	NULL,
};

static void test_round_trip(void)
{
	struct bms_state_info info;
	struct got g = { .refuse = NULL };
	char err[256], line[128];
	struct stat st1, st2;
	char *text;

	CHECK_INT(save("agg.state", "bms-agg", 2, recs, err, sizeof err), 0);
	CHECK_STR(err, "");
	CHECK_INT(entries("."), 1);
	text = slurp("agg.state");
	CHECK(text != NULL);
	if (text) {
		/* The header, then the records as given, then the trailer. */
		CHECK(strncmp(text, "{\"type\":\"state\",\"format\":1,\"program\":\"bms-agg\","
			      "\"version\":2,\"saved\":\"", 68) == 0);
		CHECK_INT(strlen(text), 95 + strlen(recs[0]) + strlen(recs[1]) +
			  strlen(recs[2]) + 3 + 27);
		snprintf(line, sizeof line, "\n%s\n", recs[0]);
		CHECK(strstr(text, line) != NULL);
		CHECK(strstr(text, "\"}\n{\"bms_id\":\"house\"") != NULL);
		CHECK_STR(text + strlen(text) - 27, "{\"type\":\"end\",\"records\":3}\n");
	}
	memset(&info, 0x55, sizeof info);
	memset(g.text, 0, sizeof g.text);
	CHECK_INT(bms_state_load("agg.state", "bms-agg", 2, collect, &g, &info, err, sizeof err), 1);
	CHECK_STR(err, "");
	CHECK_INT(g.n, 3);
	CHECK_INT(g.version, 2);
	snprintf(line, sizeof line, "%s\n", recs[0]);
	CHECK(strncmp(g.text, line, strlen(line)) == 0);
	CHECK(strstr(g.text, recs[1]) != NULL);
	CHECK(strstr(g.text, recs[2]) != NULL);
	CHECK_INT(info.format, 1);
	CHECK_INT(info.version, 2);
	CHECK_STR(info.program, "bms-agg");
	CHECK_INT(info.records, 3);
	CHECK(info.saved_ms > 1700000000000LL);

	/* Saved again with the same content: the same size, whatever the
	 * time (a file grows with what the stage keeps, never with time). */
	CHECK_INT(stat("agg.state", &st1), 0);
	CHECK_INT(save("agg.state", "bms-agg", 2, recs, err, sizeof err), 0);
	CHECK_INT(stat("agg.state", &st2), 0);
	CHECK_INT(st2.st_size, st1.st_size);
	CHECK(st2.st_ino != st1.st_ino);	/* replaced, not rewritten */
	CHECK_INT(entries("."), 1);

	/* No records at all. */
	CHECK_INT(save("agg.state", "bms-agg", 1, (const char *const[]){ NULL }, err, sizeof err), 0);
	CHECK_INT(load("agg.state", &g, err, sizeof err), 1);
	CHECK_INT(g.n, 0);
	/* Loaded without a callback: checked and skipped. */
	CHECK_INT(bms_state_load("agg.state", "bms-agg", 1, NULL, NULL, NULL, err, sizeof err), 1);
	unlink("agg.state");
}

static void test_missing(void)
{
	struct bms_state_info info;
	struct got g = { .refuse = NULL };
	char err[256];

	memset(&info, 0x55, sizeof info);
	strcpy(err, "untouched");
	CHECK_INT(bms_state_load("none.state", "bms-agg", 1, collect, &g, &info, err, sizeof err), 0);
	CHECK_STR(err, "untouched");
	CHECK_INT(g.n, 0);
	CHECK_INT(info.records, 0);
	CHECK_INT(info.format, 0);
	CHECK_INT(bms_state_load("nodir/none.state", "bms-agg", 1, collect, &g, NULL,
				 err, sizeof err), 0);
	/* A directory where the file should be is an error, not a state. */
	CHECK_INT(mkdir("d.state", 0700), 0);
	CHECK_INT(load("d.state", &g, err, sizeof err), -1);
	CHECK_STR(err, "cannot read 'd.state': Is a directory");
	rmdir("d.state");
}

static void test_mode(void)
{
	static const mode_t masks[] = { 0, 022, 077, 0277 };
	char err[256];
	struct stat st;
	mode_t old;

	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		old = umask(masks[i]);
		/* A new file, and one replacing a file of a wider mode. */
		CHECK_INT(save("m.state", "bms-agg", 1, recs, err, sizeof err), 0);
		CHECK_INT(stat("m.state", &st), 0);
		CHECK_INT(st.st_mode & 07777, 0600);
		CHECK_INT(chmod("m.state", 0666), 0);
		CHECK_INT(save("m.state", "bms-agg", 1, recs, err, sizeof err), 0);
		CHECK_INT(stat("m.state", &st), 0);
		CHECK_INT(st.st_mode & 07777, 0600);
		umask(old);
		unlink("m.state");
	}
}

#define HDR "{\"type\":\"state\",\"format\":1,\"program\":\"bms-agg\",\"version\":1," \
	"\"saved\":\"2026-11-27T14:29:11.123Z\"}\n"

static const struct {
	const char *text, *err;
} bad[] = {
	{ "{\"type\":\"state\",\"format\":3,\"program\":\"bms-agg\",\"version\":9}\n",
	  "'agg.state' was written by state format 3; this program reads up to 1" },
	{ "{\"type\":\"state\",\"format\":2,\"layout\":\"new\"}\n",
	  "'agg.state' was written by state format 2; this program reads up to 1" },
	{ "{\"type\":\"state\",\"format\":1,\"program\":\"bms-agg\",\"version\":3,"
	  "\"saved\":\"2026-11-27T14:29:11.123Z\"}\n{\"type\":\"end\",\"records\":0}\n",
	  "'agg.state' was written by bms-agg state version 3; this program reads up to 2" },
	{ "{\"type\":\"state\",\"format\":1,\"program\":\"bms-alert\",\"version\":1,"
	  "\"saved\":\"2026-11-27T14:29:11.123Z\"}\n{\"type\":\"end\",\"records\":0}\n",
	  "'agg.state' is the state of bms-alert, not of bms-agg" },
	{ "",
	  "'agg.state': damaged: the file is empty" },
	{ "{\"type\":\"reading\",\"bms_id\":\"x\"}\n",
	  "'agg.state': damaged at line 1: not a state file (no state header)" },
	{ "SQLite format 3\n",
	  "'agg.state': damaged at line 1: expected an object at column 1" },
	{ "{\"type\":\"state\",\"format\":\"1\"}\n",
	  "'agg.state': damaged at line 1: the header has no valid \"format\"" },
	{ "{\"type\":\"state\",\"format\":1,\"version\":1}\n",
	  "'agg.state': damaged at line 1: the header has no valid \"program\"" },
	{ "{\"type\":\"state\",\"format\":1,\"program\":\"bms-agg\",\"version\":0}\n",
	  "'agg.state': damaged at line 1: the header has no valid \"version\"" },
	{ "{\"type\":\"state\",\"format\":1,\"program\":\"bms-agg\",\"version\":1,"
	  "\"saved\":\"yesterday\"}\n",
	  "'agg.state': damaged at line 1: the header has no valid \"saved\" time" },
	{ HDR,
	  "'agg.state': damaged at line 1: the file ends without its trailer (cut short?)" },
	{ HDR "{\"n\":1}\n{\"n\":2,\"x\":tru}\n{\"type\":\"end\",\"records\":2}\n",
	  "'agg.state': damaged at line 3: unexpected character at column 12" },
	{ HDR "{\"n\":1}\n\n{\"type\":\"end\",\"records\":2}\n",
	  "'agg.state': damaged at line 3: expected an object at column 1" },
	{ HDR "{\"n\":1}\n{\"n\":2}\n",
	  "'agg.state': damaged at line 3: the file ends without its trailer (cut short?)" },
	{ HDR "{\"n\":1}\n{\"n\":2}\n{\"type\":\"end\",\"records\":2}",
	  "'agg.state': damaged at line 4: the line is cut short (no newline)" },
	{ HDR "{\"n\":1}\n{\"n\":2}\n{\"type\":\"en",
	  "'agg.state': damaged at line 4: the line is cut short (no newline)" },
	{ HDR "{\"n\":1}\n{\"type\":\"end\",\"records\":2}\n",
	  "'agg.state': damaged at line 3: the trailer counts 2 records, the file holds 1" },
	{ HDR "{\"n\":1}\n{\"n\":\"refused\"}\n{\"n\":3}\n{\"type\":\"end\",\"records\":3}\n",
	  "'agg.state': damaged at line 3: bad window" },
};

static void test_damaged(void)
{
	struct got g = { .refuse = "{\"n\":\"refused\"}" };
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put("agg.state", bad[i].text);
		CHECK_INT(load("agg.state", &g, err, sizeof err), -1);
		CHECK_STR(err, bad[i].err);
	}
	/* A NUL byte inside a record. */
	{
		static const char nul[] = HDR "{\"n\":\"a\0b\"}\n{\"type\":\"end\",\"records\":1}\n";
		FILE *f = fopen("agg.state", "w");

		fwrite(nul, 1, sizeof nul - 1, f);
		fclose(f);
		CHECK_INT(load("agg.state", &g, err, sizeof err), -1);
		CHECK_STR(err, "'agg.state': damaged at line 2: control character in string at column 8");
	}
	/* A line over the limit, without holding it whole. */
	{
		FILE *f = fopen("agg.state", "w");

		fputs(HDR "{\"n\":\"", f);
		for (unsigned i = 0; i < BMS_STATE_MAX_LINE / 64 + 1; i++)
			fputs("0123456789012345678901234567890123456789012345678901234567890123", f);
		fputs("\"}\n{\"type\":\"end\",\"records\":1}\n", f);
		fclose(f);
		CHECK_INT(load("agg.state", &g, err, sizeof err), -1);
		CHECK_STR(err, "'agg.state': damaged at line 2: longer than 1 MiB");
	}
	unlink("agg.state");
}

/* The old file whole and alone in its directory after a failed save. */
static void check_intact(const char *d, const char *path, const char *old)
{
	char *now = slurp(path);

	CHECK(now != NULL);
	if (now)
		CHECK_STR(now, old);
	CHECK_INT(entries(d), 1);
}

static void test_atomic(void)
{
	static const char *const more[] = { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", NULL };
	static const char *const badrec[] = { "{\"n\":1}", "{\"n\":\n2}", NULL };
	static const char *const notobj[] = { "{\"n\":1}", "[1,2]", NULL };
	char old[4096], err[256];
	struct bms_state_save s;
	struct rlimit rl, small;
	pid_t pid;
	int status;

	CHECK_INT(mkdir("a", 0700), 0);
	CHECK_INT(save("a/agg.state", "bms-agg", 1, recs, err, sizeof err), 0);
	strcpy(old, slurp("a/agg.state"));

	/* The temporary file cannot be written: a file size limit. */
	signal(SIGXFSZ, SIG_IGN);
	CHECK_INT(getrlimit(RLIMIT_FSIZE, &rl), 0);
	small = rl;
	small.rlim_cur = 64;
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
	CHECK_INT(save("a/agg.state", "bms-agg", 1, more, err, sizeof err), -1);
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_STR(err, "cannot write 'a/agg.state': File too large");
	check_intact("a", "a/agg.state", old);

	/* A record that is not one line, or not an object. */
	CHECK_INT(save("a/agg.state", "bms-agg", 1, badrec, err, sizeof err), -1);
	CHECK_STR(err, "cannot write 'a/agg.state': record 2 is not one line of at most 1 MiB");
	check_intact("a", "a/agg.state", old);
	CHECK_INT(save("a/agg.state", "bms-agg", 1, notobj, err, sizeof err), -1);
	CHECK_STR(err, "cannot write 'a/agg.state': record 2 is not a JSON object: expected an object");
	check_intact("a", "a/agg.state", old);

	/* Given up half way. */
	CHECK_INT(bms_state_save_begin(&s, "a/agg.state", "bms-agg", 1, err, sizeof err), 0);
	CHECK_INT(bms_state_save_add(&s, "{}", 2), 0);
	CHECK_INT(entries("a"), 2);
	bms_state_save_abort(&s);
	check_intact("a", "a/agg.state", old);

	/* The rename fails: a directory holds the name. */
	CHECK_INT(mkdir("a/dir.state", 0700), 0);
	CHECK_INT(mkdir("a/dir.state/x", 0700), 0);
	CHECK_INT(save("a/dir.state", "bms-agg", 1, more, err, sizeof err), -1);
	CHECK_STR(err, "cannot replace 'a/dir.state': Is a directory");
	CHECK_INT(entries("a"), 2);
	rmdir("a/dir.state/x");
	rmdir("a/dir.state");

	/* No directory to write in. */
	CHECK_INT(save("nodir/agg.state", "bms-agg", 1, more, err, sizeof err), -1);
	CHECK_STR(err, "cannot create a temporary file next to 'nodir/agg.state': "
		  "No such file or directory");

	/* A read-only directory.  Root writes in any directory, so as root
	 * the save runs as nobody in a directory nobody owns. */
	CHECK_INT(chmod(".", 0711), 0);
	CHECK_INT(chmod("a", 0500), 0);
	if (geteuid() == 0)
		CHECK_INT(chown("a", 65534, 65534), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		if (save("a/agg.state", "bms-agg", 1, more, err, sizeof err) != -1)
			_exit(1);
		_exit(strcmp(err, "cannot create a temporary file next to 'a/agg.state': "
			     "Permission denied") == 0 ? 0 : 2);
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
	CHECK_INT(chmod("a", 0700), 0);
	check_intact("a", "a/agg.state", old);
	unlink("a/agg.state");
	rmdir("a");
}

static void test_args(void)
{
	char err[256], name[80];
	struct bms_state_save s;

	CHECK_INT(bms_state_save_begin(&s, "x.state", "", 1, err, sizeof err), -1);
	CHECK_STR(err, "cannot save 'x.state': bad program name or version");
	CHECK_INT(bms_state_save_begin(&s, "x.state", "bms-agg", 0, err, sizeof err), -1);
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	CHECK_INT(bms_state_save_begin(&s, "x.state", name, 1, err, sizeof err), -1);
	CHECK_INT(entries("."), 0);
}

/* A struct the table describes, as a stage's state would be. */
struct keyed {
	int64_t n;
	int k;
	double x;
	int ncells;
	double cells[4];
	int64_t ts[2];
	int on[3];
};

static int keyed_keys(struct keyed *v, struct bms_state_key *k)
{
	const struct bms_state_key keys[] = {
		{ "n", 'l', &v->n, 1, NULL }, { "k", 'i', &v->k, 1, NULL },
		{ "x", 'd', &v->x, 1, NULL }, { "ncells", 'i', &v->ncells, 1, NULL },
		{ "cells", 'a', v->cells, 4, &v->ncells }, { "ts", 'L', v->ts, 2, NULL },
		{ "on", 'I', v->on, 3, NULL },
	};

	memcpy(k, keys, sizeof keys);
	return (int)(sizeof keys / sizeof keys[0]);
}

/* Load rec into a fresh struct: 0, or -1 with the reason in err. */
static int keyed_read(const char *rec, struct keyed *v, char *err, size_t errsz)
{
	struct bms_state_key k[8];
	int n;

	memset(v, 0, sizeof *v);
	n = keyed_keys(v, k);
	return bms_state_keys_read(k, n, rec, strlen(rec), "test state", err, errsz);
}

static void test_keys(void)
{
	struct keyed a = { -7, 42, 1.0 / 3, 2, { 3.338, -0.0, 9, 9 }, { 1795737600250, -1 },
			   { 1, 0, -2 } }, b;
	struct bms_state_key k[8];
	struct bms_buf out = BMS_BUF_INIT;
	char err[256];
	int n = keyed_keys(&a, k);

	bms_buf_putc(&out, '{');
	bms_state_keys_write(k, n, &out);
	bms_buf_putc(&out, '}');
	CHECK_STR(out.p, "{\"n\":-7,\"k\":42,\"x\":0.3333333333333333,\"ncells\":2,"
		  "\"cells\":[3.338,0],\"ts\":[1795737600250,-1],\"on\":[1,0,-2]}");
	CHECK_INT(keyed_read(out.p, &b, err, sizeof err), 0);
	CHECK(b.n == -7 && b.k == 42 && b.x == 1.0 / 3 && b.ncells == 2);
	CHECK(b.cells[0] == 3.338 && b.cells[1] == 0 && b.cells[2] == 0);
	CHECK(b.ts[0] == 1795737600250 && b.ts[1] == -1);
	CHECK(b.on[0] == 1 && b.on[1] == 0 && b.on[2] == -2);
	/* 17 digits as written before read back the same; other keys are ignored. */
	CHECK_INT(keyed_read("{\"z\":1,\"n\":1,\"k\":1,\"x\":0.33333333333333331,\"ncells\":0,"
			     "\"cells\":[],\"ts\":[1,2],\"on\":[0,0,0]}", &b, err, sizeof err), 0);
	CHECK(b.x == 1.0 / 3);
	/* The exact reasons. */
	CHECK_INT(keyed_read("{\"n\":1}", &b, err, sizeof err), -1);
	CHECK_STR(err, "test state: no k");
	CHECK_INT(keyed_read("{\"n\":1.5}", &b, err, sizeof err), -1);
	CHECK_STR(err, "test state: n: not an integer");
	CHECK_INT(keyed_read("{\"n\":1,\"k\":2147483648}", &b, err, sizeof err), -1);
	CHECK_STR(err, "test state: k: not an integer");
	CHECK_INT(keyed_read("{\"n\":1,\"k\":1,\"x\":\"a\"}", &b, err, sizeof err), -1);
	CHECK_STR(err, "test state: x: not a number");
	CHECK_INT(keyed_read("{\"n\":1,\"k\":1,\"x\":1,\"ncells\":5,\"cells\":[]}", &b, err,
			     sizeof err), -1);
	CHECK_STR(err, "test state: cells: count out of range");
	CHECK_INT(keyed_read("{\"n\":1,\"k\":1,\"x\":1,\"ncells\":1,\"cells\":[1,2]}", &b, err,
			     sizeof err), -1);
	CHECK_STR(err, "test state: cells: not an array of 1 numbers");
	CHECK_INT(keyed_read("{\"n\":1,\"k\":1,\"x\":1,\"ncells\":0,\"cells\":[],\"ts\":[1]}",
			     &b, err, sizeof err), -1);
	CHECK_STR(err, "test state: ts: not an array of 2 integers");
	CHECK_INT(keyed_read("{\"n\":1,", &b, err, sizeof err), -1);
	CHECK(strncmp(err, "test state: ", 12) == 0);
	bms_buf_free(&out);
}

int main(void)
{
	if (scratch_open() < 0 || chdir(scratch_dir) < 0)
		return 1;
	test_round_trip();
	test_missing();
	test_mode();
	test_damaged();
	test_atomic();
	test_args();
	test_keys();
	if (chdir("/") == 0)
		scratch_close();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration format (lib/config.c): typed values
 * and defaults, per-name sections over the plain one, the exact text and
 * position of every error, and a reload that keeps the old values when
 * the new file is broken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"
#include "scratch.h"

static const char *const modes[] = { "strict", "warn", "off", NULL };

static const struct bms_config_key keys[] = {
	{ .section = "", .key = "name", .type = BMS_CONFIG_STRING, .def = "bms" },
	{ .section = "", .key = "note", .type = BMS_CONFIG_STRING },
	{ .section = "battery", .key = "max_cell_v", .type = BMS_CONFIG_NUMBER,
	  .flags = BMS_CONFIG_NAMED, .min = 0, .max = 5, .def = "3.65" },
	{ .section = "battery", .key = "min_cell_v", .type = BMS_CONFIG_NUMBER,
	  .flags = BMS_CONFIG_NAMED, .min = 0, .max = 5, .def = "2.5" },
	{ .section = "battery", .key = "cells", .type = BMS_CONFIG_INTEGER,
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 32, .def = "16" },
	{ .section = "battery", .key = "interval", .type = BMS_CONFIG_DURATION,
	  .min = 1000, .max = 86400000, .def = "30s" },
	{ .section = "battery", .key = "mode", .type = BMS_CONFIG_ENUM,
	  .flags = BMS_CONFIG_NAMED, .words = modes, .def = "warn" },
	{ .section = "battery", .key = "alarm", .type = BMS_CONFIG_BOOLEAN,
	  .flags = BMS_CONFIG_NAMED, .def = "true" },
	{ .section = "serve", .key = "listen", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "workers", .type = BMS_CONFIG_INTEGER },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static int parse(struct bms_config *cfg, const char *text, char *err, size_t errsz)
{
	err[0] = '\0';
	return bms_config_parse(cfg, "bms.conf", text, strlen(text), err, errsz);
}

static void test_defaults(void)
{
	struct bms_config *cfg = bms_config_new(keys, NKEYS);

	CHECK(cfg != NULL);
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "bms");
	CHECK_STR(bms_config_str(cfg, "", NULL, "note"), NULL);
	CHECK_NUM(bms_config_num(cfg, "battery", NULL, "max_cell_v"), 3.65, 3);
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.65, 3);
	CHECK_INT(bms_config_int(cfg, "battery", NULL, "cells"), 16);
	CHECK_INT(bms_config_ms(cfg, "battery", NULL, "interval"), 30000);
	CHECK_INT(bms_config_enum(cfg, "battery", NULL, "mode"), 1);
	CHECK_INT(bms_config_bool(cfg, "battery", NULL, "alarm"), 1);
	CHECK_INT(bms_config_int(cfg, "serve", NULL, "workers"), 0);
	CHECK_INT(bms_config_isset(cfg, "battery", NULL, "cells"), 0);
	CHECK_STR(bms_config_name(cfg, "battery", 0), NULL);
	CHECK_STR(bms_config_path(cfg), NULL);
	bms_config_free(cfg);
}

static void test_values(void)
{
	struct bms_config *cfg = bms_config_new(keys, NKEYS);
	char err[256];
	const char *text =
		"# the whole installation\n"
		"name = \"solar \\\"shed\\\"\\tone\\\\two\\n\"   # a comment\n"
		"note=plain/word:with=signs\n"
		"\n"
		"[battery]\t# every battery\n"
		"  max_cell_v = 3.6\n"
		"min_cell_v = 2.8e0\r\n"
		"cells = +8\n"
		"interval = 1h30m\n"
		"mode = strict\n"
		"alarm = off\n"
		"[battery \"house\"]\n"
		"max_cell_v = 3.55\n"
		"cells = 4\n"
		"alarm = yes\n"
		"[ battery \"shed \\\"2\\\"\" ]\n"
		"mode = off\n"
		"[serve]\n"
		"listen = \"[::1]:8080\"\n"
		"workers = -3\n"
		"[battery \"house\"]\n"
		"mode = warn\n";

	CHECK_INT(parse(cfg, text, err, sizeof err), 0);
	CHECK_STR(err, "");
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "solar \"shed\"\tone\\two\n");
	CHECK_STR(bms_config_str(cfg, "", NULL, "note"), "plain/word:with=signs");
	CHECK_NUM(bms_config_num(cfg, "battery", NULL, "max_cell_v"), 3.6, 3);
	CHECK_NUM(bms_config_num(cfg, "battery", NULL, "min_cell_v"), 2.8, 3);
	CHECK_INT(bms_config_int(cfg, "battery", NULL, "cells"), 8);
	CHECK_INT(bms_config_ms(cfg, "battery", NULL, "interval"), 5400000);
	CHECK_INT(bms_config_enum(cfg, "battery", NULL, "mode"), 0);
	CHECK_INT(bms_config_bool(cfg, "battery", NULL, "alarm"), 0);
	/* Per battery: set there, else [battery], else the default. */
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.55, 3);
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "min_cell_v"), 2.8, 3);
	CHECK_INT(bms_config_int(cfg, "battery", "house", "cells"), 4);
	CHECK_INT(bms_config_bool(cfg, "battery", "house", "alarm"), 1);
	CHECK_INT(bms_config_enum(cfg, "battery", "house", "mode"), 1);
	CHECK_INT(bms_config_enum(cfg, "battery", "shed \"2\"", "mode"), 2);
	CHECK_NUM(bms_config_num(cfg, "battery", "shed \"2\"", "max_cell_v"), 3.6, 3);
	CHECK_NUM(bms_config_num(cfg, "battery", "garage", "max_cell_v"), 3.6, 3);
	CHECK_INT(bms_config_ms(cfg, "battery", "house", "interval"), 5400000);
	CHECK_INT(bms_config_isset(cfg, "battery", "house", "max_cell_v"), 2);
	CHECK_INT(bms_config_isset(cfg, "battery", "garage", "max_cell_v"), 1);
	CHECK_INT(bms_config_isset(cfg, "serve", NULL, "listen"), 1);
	CHECK_STR(bms_config_str(cfg, "serve", NULL, "listen"), "[::1]:8080");
	CHECK_INT(bms_config_int(cfg, "serve", NULL, "workers"), -3);
	CHECK_STR(bms_config_name(cfg, "battery", 0), "house");
	CHECK_STR(bms_config_name(cfg, "battery", 1), "shed \"2\"");
	CHECK_STR(bms_config_name(cfg, "battery", 2), NULL);
	CHECK_STR(bms_config_name(cfg, "serve", 0), NULL);

	/* An empty text is every default again. */
	CHECK_INT(parse(cfg, "", err, sizeof err), 0);
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.65, 3);
	CHECK_STR(bms_config_name(cfg, "battery", 0), NULL);

	/* Durations. */
	CHECK_INT(parse(cfg, "[battery]\ninterval = 1500ms\n", err, sizeof err), 0);
	CHECK_INT(bms_config_ms(cfg, "battery", NULL, "interval"), 1500);
	CHECK_INT(parse(cfg, "[battery]\ninterval = 1h2m3s4ms\n", err, sizeof err), 0);
	CHECK_INT(bms_config_ms(cfg, "battery", NULL, "interval"), 3723004);
	CHECK_STR(err, "");
	CHECK_INT(parse(cfg, "[battery]\ninterval = 1m1s\n", err, sizeof err), 0);
	CHECK_INT(bms_config_ms(cfg, "battery", NULL, "interval"), 61000);
	bms_config_free(cfg);
}

/* Each broken text with its one error line. */
static const struct {
	const char *text, *err;
} broken[] = {
	{ "[battery]\nmax_cell_v 3.6\n",
	  "bms.conf:2:12: expected '=' after key 'max_cell_v'" },
	{ "[battery]\nmax_cell_v: 3.6\n",
	  "bms.conf:2:11: expected '=' after key 'max_cell_v'" },
	{ "[battery]\n\n# x\nmax_cell_v = 5x\n",
	  "bms.conf:4:14: max_cell_v: '5x' is not a number" },
	{ "[battery]\nmax_cell_v = 0x10\n",
	  "bms.conf:2:14: max_cell_v: '0x10' is not a number" },
	{ "[battery]\nmax_cell_v = nan\n",
	  "bms.conf:2:14: max_cell_v: 'nan' is not a number" },
	{ "[battery]\nmax_cell_v = 1e999\n",
	  "bms.conf:2:14: max_cell_v: '1e999' is not a number" },
	{ "[battery]\nmax_cell_v = 9\n",
	  "bms.conf:2:14: max_cell_v: 9 is out of range (0 to 5)" },
	{ "[battery]\nmax_cell_v = -0.1\n",
	  "bms.conf:2:14: max_cell_v: -0.1 is out of range (0 to 5)" },
	{ "[batery]\n",
	  "bms.conf:1:2: unknown section 'batery'" },
	{ "[battery]\nmax_cel_v = 3\n",
	  "bms.conf:2:1: unknown key 'max_cel_v' in [battery]" },
	{ "colour = red\n",
	  "bms.conf:1:1: unknown key 'colour'" },
	{ "[serve \"x\"]\n",
	  "bms.conf:1:8: section 'serve' takes no name" },
	{ "[battery \"house\"]\ninterval = 5s\n",
	  "bms.conf:2:1: key 'interval' belongs in [battery], not in a named [battery \"...\"]" },
	{ "[battery]\ncells = 4\n[serve]\n[battery]\ncells = 5\n",
	  "bms.conf:5:1: 'cells' is already set at line 2" },
	{ "[battery \"a\"]\ncells = 4\n[battery \"b\"]\ncells = 4\n[battery \"a\"]\ncells = 5\n",
	  "bms.conf:6:1: 'cells' is already set at line 2" },
	{ "[battery]\ncells = 3.5\n",
	  "bms.conf:2:9: cells: '3.5' is not an integer" },
	{ "[battery]\ncells = 99999999999999999999\n",
	  "bms.conf:2:9: cells: '99999999999999999999' is not an integer" },
	{ "[battery]\ncells = 40\n",
	  "bms.conf:2:9: cells: 40 is out of range (1 to 32)" },
	{ "\tcells = x\n",
	  "bms.conf:1:2: unknown key 'cells'" },
	{ "[battery]\n\tcells = x\n",
	  "bms.conf:2:10: cells: 'x' is not an integer" },
	{ "[battery]\ninterval = 5\n",
	  "bms.conf:2:12: interval: '5' is not a duration (such as 500ms, 30s, 5m, 1h30m, 7d)" },
	{ "[battery]\ninterval = 5x\n",
	  "bms.conf:2:12: interval: '5x' is not a duration (such as 500ms, 30s, 5m, 1h30m, 7d)" },
	{ "[battery]\ninterval = 2d\n",
	  "bms.conf:2:12: interval: 2d is out of range (1s to 1d)" },
	{ "[battery]\ninterval = 0\n",
	  "bms.conf:2:12: interval: 0 is out of range (1s to 1d)" },
	{ "[battery]\nmode = loud\n",
	  "bms.conf:2:8: mode: 'loud' is not strict, warn or off" },
	{ "[battery]\nmode = \"it's\"\n",
	  "bms.conf:2:8: mode: 'it\\'s' is not strict, warn or off" },
	{ "[battery]\nalarm = maybe\n",
	  "bms.conf:2:9: alarm: 'maybe' is not true or false" },
	{ "name = \"abc\n",
	  "bms.conf:1:8: unterminated string" },
	{ "name = \"abc\\\"\n",
	  "bms.conf:1:8: unterminated string" },
	{ "name = \"a\\qb\"\n",
	  "bms.conf:1:10: unknown escape '\\q' (use \\\\, \\\", \\n or \\t)" },
	{ "name = a b\n",
	  "bms.conf:1:10: unexpected text after the value" },
	{ "name = \"a\" b\n",
	  "bms.conf:1:12: unexpected text after the value" },
	{ "name = a\"b\"\n",
	  "bms.conf:1:9: unexpected '\"' in a value (quote the whole value)" },
	{ "name =\n",
	  "bms.conf:1:7: expected a value after '='" },
	{ "name =   # none\n",
	  "bms.conf:1:10: expected a value after '='" },
	{ "[battery\n",
	  "bms.conf:1:9: expected ']' or a quoted name after the section name" },
	{ "[battery \"h\"\n",
	  "bms.conf:1:13: expected ']' after the name" },
	{ "[]\n",
	  "bms.conf:1:2: expected a section name after '['" },
	{ "[\"x\"]\n",
	  "bms.conf:1:2: expected a section name after '['" },
	{ "[battery \"\"]\n",
	  "bms.conf:1:10: empty name in [battery \"\"]" },
	{ "[battery] x\n",
	  "bms.conf:1:11: unexpected text after ']'" },
	{ "= 5\n",
	  "bms.conf:1:1: expected a key or a [section]" },
	{ "name = x\n9 = 5\n",
	  "bms.conf:2:1: expected a key or a [section]" },
	{ "name = \001\n",
	  "bms.conf:1:8: control character 0x01" },
	{ "name = \"a\rb\"\n",
	  "bms.conf:1:10: control character 0x0d" },
	{ "name = \"\xff\"\n",
	  "bms.conf:1:9: invalid UTF-8" },
	{ "name = \"\xc3\"\n",
	  "bms.conf:1:9: invalid UTF-8" },
	{ "# \xed\xa0\x80 a surrogate\n",
	  "bms.conf:1:3: invalid UTF-8" },
	{ "name = x\nnote = y\nname = z\n",
	  "bms.conf:3:1: 'name' is already set at line 1" },
};

static void test_errors(void)
{
	struct bms_config *cfg = bms_config_new(keys, NKEYS);
	char err[256];

	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		CHECK_INT(parse(cfg, broken[i].text, err, sizeof err), -1);
		CHECK_STR(err, broken[i].err);
	}
	/* A NUL byte, which a C string cannot show. */
	CHECK_INT(bms_config_parse(cfg, "bms.conf", "name = a\0b\n", 11, err, sizeof err), -1);
	CHECK_STR(err, "bms.conf:1:9: control character 0x00");
	/* Good UTF-8 in values and comments is fine. */
	CHECK_INT(parse(cfg, "name = \"Gr\xc3\xbc\xc3\x9f \xf0\x9f\x94\x8b\"  # \xe2\x9c\x93\n",
			err, sizeof err), 0);
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "Gr\xc3\xbc\xc3\x9f \xf0\x9f\x94\x8b");
	bms_config_free(cfg);
}

static void test_required(void)
{
	static const struct bms_config_key req[] = {
		{ .section = "serve", .key = "listen", .type = BMS_CONFIG_STRING,
		  .flags = BMS_CONFIG_REQUIRED },
		{ .section = "", .key = "tenant", .type = BMS_CONFIG_STRING,
		  .flags = BMS_CONFIG_REQUIRED },
	};
	struct bms_config *cfg = bms_config_new(req, 2);
	char err[256];

	CHECK_INT(parse(cfg, "tenant = home\n", err, sizeof err), -1);
	CHECK_STR(err, "bms.conf: missing 'listen' in [serve]");
	CHECK_INT(parse(cfg, "[serve]\nlisten = :80\n", err, sizeof err), -1);
	CHECK_STR(err, "bms.conf: missing 'tenant'");
	CHECK_INT(parse(cfg, "tenant = home\n[serve]\nlisten = :80\n", err, sizeof err), 0);
	CHECK_STR(bms_config_str(cfg, "serve", NULL, "listen"), ":80");
	bms_config_free(cfg);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_reload(void)
{
	char path[sizeof scratch_dir + 16], err[256];
	struct bms_config *cfg = bms_config_new(keys, NKEYS);

	snprintf(path, sizeof path, "%s/bms.conf", scratch_dir);

	CHECK_INT(bms_config_reload(cfg, err, sizeof err), -1);
	CHECK_STR(err, "no configuration file was loaded");
	CHECK_INT(bms_config_load(cfg, path, err, sizeof err), -1);
	{
		char want[sizeof path + 64];

		snprintf(want, sizeof want, "cannot read '%s': No such file or directory", path);
		CHECK_STR(err, want);
	}
	CHECK_STR(bms_config_path(cfg), NULL);

	write_file(path, "name = first\n[battery \"house\"]\nmax_cell_v = 3.5\n");
	CHECK_INT(bms_config_load(cfg, path, err, sizeof err), 0);
	CHECK_STR(bms_config_path(cfg), path);
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "first");
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.5, 3);

	/* Broken: the error names the file's position, the old values stay. */
	write_file(path, "name = second\n[battery \"house\"]\nmax_cell_v = 3.5V\n");
	CHECK_INT(bms_config_reload(cfg, err, sizeof err), -1);
	{
		char want[sizeof path + 64];

		snprintf(want, sizeof want, "%s:3:14: max_cell_v: '3.5V' is not a number", path);
		CHECK_STR(err, want);
	}
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "first");
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.5, 3);
	CHECK_STR(bms_config_name(cfg, "battery", 0), "house");

	/* Gone: the same. */
	unlink(path);
	CHECK_INT(bms_config_reload(cfg, err, sizeof err), -1);
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "first");
	CHECK_STR(bms_config_path(cfg), path);

	/* Mended: the new values replace the old ones whole. */
	write_file(path, "name = third\n");
	CHECK_INT(bms_config_reload(cfg, err, sizeof err), 0);
	CHECK_STR(bms_config_str(cfg, "", NULL, "name"), "third");
	CHECK_NUM(bms_config_num(cfg, "battery", "house", "max_cell_v"), 3.65, 3);
	CHECK_STR(bms_config_name(cfg, "battery", 0), NULL);

	/* A failed load of another file keeps the path of the good one. */
	CHECK_INT(bms_config_load(cfg, "/nonexistent/bms.conf", err, sizeof err), -1);
	CHECK_STR(err, "cannot read '/nonexistent/bms.conf': No such file or directory");
	CHECK_STR(bms_config_path(cfg), path);

	unlink(path);
	bms_config_free(cfg);
}

int main(void)
{
	if (scratch_open() < 0)
		return 1;
	test_defaults();
	test_values();
	test_errors();
	test_required();
	test_reload();
	scratch_close();
	return unit_done();
}

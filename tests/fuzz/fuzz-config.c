/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the configuration parser (lib/config.c) on arbitrary
 * bytes, against a table of every type.  A text either parses, and then
 * every key answers a lookup for each name the text declared, or fails
 * with one non-empty line that names the text; a failed parse leaves the
 * values of the last good one in place.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const modes[] = { "strict", "warn", "off", NULL };

static const struct bms_config_key keys[] = {
	{ .section = "", .key = "name", .type = BMS_CONFIG_STRING, .def = "bms" },
	{ .section = "", .key = "debug", .type = BMS_CONFIG_BOOLEAN },
	{ .section = "battery", .key = "max_cell_v", .type = BMS_CONFIG_NUMBER,
	  .flags = BMS_CONFIG_NAMED, .min = 0, .max = 5, .def = "3.65" },
	{ .section = "battery", .key = "cells", .type = BMS_CONFIG_INTEGER,
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 32 },
	{ .section = "battery", .key = "label", .type = BMS_CONFIG_STRING,
	  .flags = BMS_CONFIG_NAMED },
	{ .section = "battery", .key = "interval", .type = BMS_CONFIG_DURATION,
	  .min = 1000, .max = 86400000, .def = "30s" },
	{ .section = "battery", .key = "mode", .type = BMS_CONFIG_ENUM,
	  .flags = BMS_CONFIG_NAMED, .words = modes, .def = "warn" },
	{ .section = "serve", .key = "listen", .type = BMS_CONFIG_STRING },
	{ .section = "serve", .key = "workers", .type = BMS_CONFIG_INTEGER },
	{ .section = "serve", .key = "timeout", .type = BMS_CONFIG_DURATION },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static void lookups(const struct bms_config *cfg, const char *name)
{
	volatile double sink = 0;

	sink += bms_config_str(cfg, "", NULL, "name") ? 1 : 0;
	sink += bms_config_bool(cfg, "", NULL, "debug");
	sink += bms_config_num(cfg, "battery", name, "max_cell_v");
	sink += (double)bms_config_int(cfg, "battery", name, "cells");
	sink += bms_config_str(cfg, "battery", name, "label") ? 1 : 0;
	sink += (double)bms_config_ms(cfg, "battery", name, "interval");
	sink += bms_config_enum(cfg, "battery", name, "mode");
	sink += bms_config_str(cfg, "serve", NULL, "listen") ? 1 : 0;
	sink += (double)bms_config_int(cfg, "serve", NULL, "workers");
	sink += (double)bms_config_ms(cfg, "serve", NULL, "timeout");
	sink += bms_config_isset(cfg, "battery", name, "cells");
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_config *cfg = bms_config_new(keys, NKEYS);
	static const char good[] = "[battery \"a\"]\ncells = 4\n";
	char err[256];
	const char *n;
	int rc;

	if (!cfg)
		return 0;
	if (bms_config_parse(cfg, "good.conf", good, sizeof good - 1, err, sizeof err) < 0)
		__builtin_trap();
	err[0] = '\0';
	rc = bms_config_parse(cfg, "fuzz.conf", (const char *)data, size, err, sizeof err);
	if (rc == 0) {
		lookups(cfg, NULL);
		for (size_t i = 0; (n = bms_config_name(cfg, "battery", i)); i++) {
			if (!*n)
				__builtin_trap();
			lookups(cfg, n);
		}
	} else {
		if (rc != -1 || !err[0] || strchr(err, '\n') ||
		    strncmp(err, "fuzz.conf:", 10) != 0)
			__builtin_trap();
		/* The good values stay. */
		if (bms_config_int(cfg, "battery", "a", "cells") != 4 ||
		    strcmp(bms_config_name(cfg, "battery", 0), "a") != 0)
			__builtin_trap();
	}
	lookups(cfg, "a");
	bms_config_free(cfg);
	return 0;
}

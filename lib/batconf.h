/* SPDX-License-Identifier: MIT */
/*
 * What a stage knows of a battery beyond its readings: the [battery] and
 * [battery "ID"] sections of a program's configuration file (bms.conf(5)),
 * declared once here for every program that reads them.
 *
 *	[battery]		# every battery
 *	chemistry = lfp
 *	[battery "house"]	# only bms_id "house"
 *	capacity_ah = 280
 *	cells = 16
 *
 * A program puts BMS_BATCONF_KEYS in its own key table, then asks for a
 * battery's facts with bms_batconf_get.  Nothing here is required: a fact
 * not set is unknown, and a stage does without it (or learns it from the
 * readings, or from the store's battery registry).
 */
#ifndef BMS_BATCONF_H
#define BMS_BATCONF_H

#include <stdint.h>

#include "config.h"

extern const char *const bms_batconf_chem_words[];

/* The keys, as initialisers of a struct bms_config_key table. */
#define BMS_BATCONF_KEYS \
	{ .section = "battery", .key = "chemistry", .type = BMS_CONFIG_ENUM, \
	  .flags = BMS_CONFIG_NAMED, .words = bms_batconf_chem_words }, \
	{ .section = "battery", .key = "capacity_ah", .type = BMS_CONFIG_NUMBER, \
	  .flags = BMS_CONFIG_NAMED, .min = 0.001, .max = 1e6 }, \
	{ .section = "battery", .key = "cells", .type = BMS_CONFIG_INTEGER, \
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 48 }, \
	{ .section = "battery", .key = "temps", .type = BMS_CONFIG_INTEGER, \
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 16 }, \
	{ .section = "battery", .key = "max_charge_a", .type = BMS_CONFIG_NUMBER, \
	  .flags = BMS_CONFIG_NAMED, .min = 0.001, .max = 1e6 }, \
	{ .section = "battery", .key = "max_discharge_a", .type = BMS_CONFIG_NUMBER, \
	  .flags = BMS_CONFIG_NAMED, .min = 0.001, .max = 1e6 }, \
	{ .section = "battery", .key = "interval", .type = BMS_CONFIG_DURATION, \
	  .flags = BMS_CONFIG_NAMED, .min = 1, .max = 86400000.0 }

/* One battery's facts; each is unknown unless set. */
struct bms_batconf {
	int chem;		/* enum bms_chem (chem.h), -1 unknown */
	double capacity_ah;	/* Ah, rated; 0 unknown */
	int cells;		/* cells in series; 0 unknown */
	int temps;		/* temperature probes; 0 unknown */
	double max_charge_a;	/* A, the pack's charge rating; 0 unknown */
	double max_discharge_a;	/* A, its discharge rating (positive); 0 unknown */
	int64_t interval_ms;	/* ms between readings expected; 0 unknown */
};

/* Every fact unknown. */
void bms_batconf_clear(struct bms_batconf *b);

/*
 * The facts the configuration gives for battery bms_id ([battery "ID"]
 * first, then [battery]); cfg holds BMS_BATCONF_KEYS.  Facts it does not
 * set are left as they are in *b, so that a caller may fill *b from
 * elsewhere first (the store's registry) and let the file override.
 */
void bms_batconf_get(const struct bms_config *cfg, const char *bms_id,
		     struct bms_batconf *b);

#endif

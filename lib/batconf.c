/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "batconf.h"
#include "chem.h"

/* bms_chem_find takes each of these (and a few more spellings). */
const char *const bms_batconf_chem_words[] = {
	"lfp", "lifepo4", "nmc", "li-ion", "lto", NULL
};

void bms_batconf_clear(struct bms_batconf *b)
{
	memset(b, 0, sizeof *b);
	b->chem = -1;
}

void bms_batconf_get(const struct bms_config *cfg, const char *bms_id,
		     struct bms_batconf *b)
{
	const char *s = "battery";

	if (bms_config_isset(cfg, s, bms_id, "chemistry")) {
		const char *w = bms_batconf_chem_words[bms_config_enum(cfg, s, bms_id, "chemistry")];

		b->chem = bms_chem_find(w, strlen(w));
	}
	if (bms_config_isset(cfg, s, bms_id, "capacity_ah"))
		b->capacity_ah = bms_config_num(cfg, s, bms_id, "capacity_ah");
	if (bms_config_isset(cfg, s, bms_id, "cells"))
		b->cells = (int)bms_config_int(cfg, s, bms_id, "cells");
	if (bms_config_isset(cfg, s, bms_id, "temps"))
		b->temps = (int)bms_config_int(cfg, s, bms_id, "temps");
	if (bms_config_isset(cfg, s, bms_id, "max_charge_a"))
		b->max_charge_a = bms_config_num(cfg, s, bms_id, "max_charge_a");
	if (bms_config_isset(cfg, s, bms_id, "max_discharge_a"))
		b->max_discharge_a = bms_config_num(cfg, s, bms_id, "max_discharge_a");
	if (bms_config_isset(cfg, s, bms_id, "interval"))
		b->interval_ms = bms_config_ms(cfg, s, bms_id, "interval");
}

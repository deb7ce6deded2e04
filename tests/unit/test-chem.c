/* SPDX-License-Identifier: MIT */
/* Chemistry profiles (lib/chem.c) and the [battery] sections (lib/batconf.c). */
#include <string.h>

#include "batconf.h"
#include "chem.h"
#include "unit.h"

static void test_find(void)
{
	CHECK(bms_chem_find("lfp", 3) == BMS_CHEM_LFP);
	CHECK(bms_chem_find("LiFePO4", 7) == BMS_CHEM_LFP);
	CHECK(bms_chem_find("Li-ion", 6) == BMS_CHEM_NMC);
	CHECK(bms_chem_find("nca", 3) == BMS_CHEM_NMC);
	CHECK(bms_chem_find("lto", 3) == BMS_CHEM_LTO);
	CHECK(bms_chem_find("lt", 2) == -1);
	CHECK(bms_chem_find("lead", 4) == -1);
	/* Every word the configuration takes names a chemistry. */
	for (int i = 0; bms_batconf_chem_words[i]; i++)
		CHECK(bms_chem_find(bms_batconf_chem_words[i], strlen(bms_batconf_chem_words[i])) >= 0);
}

static void test_profiles(void)
{
	for (int c = 0; c < BMS_CHEM_COUNT; c++) {
		const struct bms_chem_profile *p = bms_chem_profile(c);

		CHECK(bms_chem_find(p->name, strlen(p->name)) == c);
		CHECK(p->cell_min_v < p->empty_v && p->empty_v < p->nominal_v);
		CHECK(p->nominal_v < p->full_v && p->full_v < p->cell_max_v);
		CHECK(p->charge_min_c < p->charge_max_c);
		CHECK(p->discharge_min_c < p->discharge_max_c);
	}
}

static const struct bms_config_key keys[] = { BMS_BATCONF_KEYS };

static void test_batconf(void)
{
	static const char text[] =
		"[battery]\nchemistry = nmc\ninterval = 2s\n"
		"[battery \"house\"]\nchemistry = lifepo4\ncapacity_ah = 280\ncells = 16\n"
		"max_discharge_a = 150\n";
	static const char bad[] = "[battery]\nchemistry = lead\n";
	struct bms_config *cfg = bms_config_new(keys, sizeof keys / sizeof *keys);
	struct bms_batconf b;
	char err[256];

	CHECK(cfg != NULL);
	bms_batconf_clear(&b);
	bms_batconf_get(cfg, "house", &b);
	CHECK(b.chem == -1 && b.capacity_ah == 0 && b.cells == 0 && b.interval_ms == 0);
	CHECK(bms_config_parse(cfg, "t.conf", text, sizeof text - 1, err, sizeof err) == 0);
	bms_batconf_get(cfg, "house", &b);
	CHECK(b.chem == BMS_CHEM_LFP);
	CHECK_NUM(b.capacity_ah, 280, 3);
	CHECK(b.cells == 16 && b.temps == 0 && b.interval_ms == 2000);
	CHECK_NUM(b.max_discharge_a, 150, 3);
	CHECK(b.max_charge_a == 0);
	bms_batconf_clear(&b);
	bms_batconf_get(cfg, "boat", &b);
	CHECK(b.chem == BMS_CHEM_NMC && b.capacity_ah == 0 && b.interval_ms == 2000);
	/* A fact the file does not set stays as the caller had it. */
	b.capacity_ah = 100;
	bms_batconf_get(cfg, "boat", &b);
	CHECK_NUM(b.capacity_ah, 100, 3);
	CHECK(bms_config_parse(cfg, "t.conf", bad, sizeof bad - 1, err, sizeof err) < 0);
	CHECK_STR(err, "t.conf:2:13: chemistry: 'lead' is not lfp, lifepo4, nmc, li-ion or lto");
	bms_config_free(cfg);
}

int main(void)
{
	test_find();
	test_profiles();
	test_batconf();
	return unit_done();
}

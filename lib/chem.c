/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <strings.h>

#include "chem.h"

const struct bms_chem_profile bms_chem_profiles[BMS_CHEM_COUNT] = {
	[BMS_CHEM_LFP] = {
		.name = "lfp", .title = "LiFePO4",
		.cell_min_v = 2.0, .cell_max_v = 3.8, .nominal_v = 3.2,
		.full_v = 3.45, .empty_v = 2.8,
		.charge_min_c = 0, .charge_max_c = 45,
		.discharge_min_c = -20, .discharge_max_c = 60,
	},
	[BMS_CHEM_NMC] = {
		.name = "nmc", .title = "NMC/Li-ion",
		.cell_min_v = 2.5, .cell_max_v = 4.35, .nominal_v = 3.65,
		.full_v = 4.15, .empty_v = 3.2,
		.charge_min_c = 0, .charge_max_c = 45,
		.discharge_min_c = -20, .discharge_max_c = 60,
	},
	[BMS_CHEM_LTO] = {
		.name = "lto", .title = "LTO",
		.cell_min_v = 1.5, .cell_max_v = 2.9, .nominal_v = 2.3,
		.full_v = 2.6, .empty_v = 1.95,
		.charge_min_c = -30, .charge_max_c = 55,
		.discharge_min_c = -40, .discharge_max_c = 65,
	},
};

static const struct {
	const char *name;
	enum bms_chem chem;
} spellings[] = {
	{ "lfp", BMS_CHEM_LFP }, { "lifepo4", BMS_CHEM_LFP }, { "lfp4", BMS_CHEM_LFP },
	{ "lifepo", BMS_CHEM_LFP },
	{ "nmc", BMS_CHEM_NMC }, { "ncm", BMS_CHEM_NMC }, { "nca", BMS_CHEM_NMC },
	{ "li-ion", BMS_CHEM_NMC }, { "liion", BMS_CHEM_NMC }, { "lion", BMS_CHEM_NMC },
	{ "lto", BMS_CHEM_LTO },
};

int bms_chem_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++)
		if (strlen(spellings[i].name) == n && strncasecmp(spellings[i].name, name, n) == 0)
			return (int)spellings[i].chem;
	return -1;
}

const struct bms_chem_profile *bms_chem_profile(enum bms_chem c)
{
	return &bms_chem_profiles[c];
}

/* SPDX-License-Identifier: MIT */
/*
 * Cell chemistries and what physics allows each: the limits a reading is
 * held to (bms-validate), the voltages that mark a full and an empty cell
 * (bms-agg's capacity runs), the temperatures a cell may be charged and
 * discharged at (bms-alert's default rules).  One table, so that every
 * stage means the same thing by "full" or "impossible".
 *
 * The figures are per cell, for the common cells of each family:
 *
 *   lfp  LiFePO4: 3.2 V nominal, charged to 3.45-3.65 V, empty at
 *        2.5-2.8 V.  Below 2.0 V or above 3.8 V a cell is damaged or the
 *        reading is wrong: no working LiFePO4 cell sits there.
 *   nmc  NMC/NCA "Li-ion": 3.6-3.7 V nominal, full at 4.1-4.2 V, empty
 *        at 3.0-3.2 V; outside 2.5-4.35 V it is damaged or misread.
 *   lto  lithium titanate: 2.3-2.4 V nominal, full at 2.6-2.8 V, empty
 *        near 1.8-2.0 V; outside 1.5-2.9 V it is damaged or misread.
 *
 * full_v is the highest cell voltage reached at the end of a charge (at
 * or above it the pack counts as full), empty_v the lowest cell voltage
 * at the end of a discharge.  Both sit a little inside the usual charger
 * and protection settings, so that a pack charged or discharged by a BMS
 * with its factory limits gets there.
 */
#ifndef BMS_CHEM_H
#define BMS_CHEM_H

#include <stddef.h>

enum bms_chem { BMS_CHEM_LFP, BMS_CHEM_NMC, BMS_CHEM_LTO, BMS_CHEM_COUNT };

struct bms_chem_profile {
	const char *name;	/* "lfp", "nmc", "lto": the name in options and files */
	const char *title;	/* "LiFePO4", "NMC/Li-ion", "LTO" */
	double cell_min_v;	/* V: hard limits; outside them no working cell */
	double cell_max_v;
	double nominal_v;	/* V: nominal cell voltage */
	double full_v;		/* V: a cell at or above it is full */
	double empty_v;		/* V: a cell at or below it is empty */
	double charge_min_c;	/* degC: charging allowed from ... */
	double charge_max_c;	/* ... up to */
	double discharge_min_c;	/* degC: discharging allowed from ... */
	double discharge_max_c;	/* ... up to */
};

extern const struct bms_chem_profile bms_chem_profiles[BMS_CHEM_COUNT];

/*
 * The chemistry a name means, or -1: the profile names and the usual
 * spellings, any case: "lfp", "lifepo4", "lfp4" and "lifepo"; "nmc",
 * "ncm", "nca", "li-ion", "liion" and "lion"; "lto".  n is the name's
 * length in bytes.
 */
int bms_chem_find(const char *name, size_t n);

/* The profile of a chemistry (0 <= c < BMS_CHEM_COUNT). */
const struct bms_chem_profile *bms_chem_profile(enum bms_chem c);

#endif

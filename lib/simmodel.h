/* SPDX-License-Identifier: MIT */
/*
 * The battery behind bms-sim: one pack of series cells with an
 * open-circuit-voltage curve per chemistry, a fixed per-cell spread, an
 * internal-resistance term, coulomb counting, a slow thermal lag, cycle
 * counting, passive balancing and the alarm thresholds of a Daly board.
 *
 * The model knows nothing of wire protocols: it advances in model time
 * (bms_simmodel_advance) and reports a snapshot in the units a BMS
 * reports (bms_simmodel_snap).  With the defaults (bms_simmodel_defaults)
 * the snapshot at time 0 is the pack of the worked example of the Daly
 * protocol notes (section 4.1): 16S LiFePO4 280 Ah at 78.5 %, charging at
 * 12.5 A, cells 3338 3341 3336 ... 3341 mV, probes 27 and 25 degC.
 *
 * Cells may be made unlike the rest: a weak cell holds less charge, so
 * its state of charge runs ahead of the others'; a drifting cell's
 * voltage departs steadily from the model's from a given model time; a
 * dead probe reads as a failed sensor from a given model time.  The pack
 * may have aged: --soh makes the charge it holds a share of the rated
 * capacity.  All of it depends on model time alone.
 *
 * Pure computation on caller-owned structs: no I/O, no allocation, no
 * global state.
 */
#ifndef BMS_SIMMODEL_H
#define BMS_SIMMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BMS_SIMMODEL_MAX_CELLS 48
#define BMS_SIMMODEL_MAX_TEMPS 16
#define BMS_SIMMODEL_MAX_STEPS 64	/* segments of a current profile */

enum bms_simmodel_chem {
	BMS_SIMMODEL_LFP = 0,	/* LiFePO4; Daly battery type 0 */
	BMS_SIMMODEL_NMC = 1,	/* ternary Li-ion; type 1 */
	BMS_SIMMODEL_LTO = 2,	/* lithium titanate; type 2 */
};

/* A weak cell: it holds pct % of the charge of the others. */
struct bms_simmodel_weak {
	int cell;		/* 1-based */
	double pct;		/* 1..100 */
};

/* A drifting cell: from model time start its voltage departs from the
 * model's by mv_per_h times the model hours since start. */
struct bms_simmodel_drift {
	int cell;		/* 1-based */
	double mv_per_h;	/* mV per model hour, negative: downwards */
	double start;		/* model seconds, >= 0 */
};

/* A probe that reads as a failed sensor from model time start on. */
struct bms_simmodel_dead {
	int probe;		/* 1-based */
	double start;		/* model seconds, >= 0 */
};

/* One segment of a repeating current profile. */
struct bms_simmodel_step {
	double current;		/* A, + charging */
	double seconds;		/* model seconds, >= 0.001 */
};

struct bms_simmodel_cfg {
	int cells;			/* 1..48 */
	int temps;			/* 1..16 */
	enum bms_simmodel_chem chem;
	double capacity;		/* Ah, rated */
	double soc;			/* % at model time 0 */
	double current;			/* A, + charging; used when nsteps == 0 */
	struct bms_simmodel_step steps[BMS_SIMMODEL_MAX_STEPS];
	int nsteps;			/* > 0: repeat steps[] instead of current */
	long cycles;			/* cycle count at model time 0 */
	double soh;			/* % of capacity the cells hold, 1..100 */
	struct bms_simmodel_weak weak[BMS_SIMMODEL_MAX_CELLS];
	int nweak;			/* one entry per cell at most */
	struct bms_simmodel_drift drift[BMS_SIMMODEL_MAX_CELLS];
	int ndrift;
	struct bms_simmodel_dead dead[BMS_SIMMODEL_MAX_TEMPS];
	int ndead;
};

/*
 * Alarm and protection thresholds, the settings a Daly board reports
 * (A5 0x98 bits are raised from them; D2 reports them at 0x80..).
 * Index 0 is level 1 (warning), index 1 level 2 (protection).
 */
struct bms_simmodel_limits {
	int cell_high[2], cell_low[2];		/* mV */
	int pack_high[2], pack_low[2];		/* 0.1 V */
	double chg_cur[2], dis_cur[2];		/* A, both positive */
	int chg_temp_high[2], chg_temp_low[2];	/* degC */
	int dis_temp_high[2], dis_temp_low[2];	/* degC */
	int cell_diff[2];			/* mV */
	int temp_diff[2];			/* degC */
	int soc_low[2];				/* 0.1 % */
	int balance_start;			/* mV: no balancing below */
	int balance_diff;			/* mV above the lowest cell */
	int nominal_mv;				/* nominal cell voltage, mV */
	int sleep_s;				/* sleep wait time, s */
	int mos_temp;				/* MOS over-temperature, degC */
};

struct bms_simmodel {
	struct bms_simmodel_cfg cfg;
	struct bms_simmodel_limits lim;
	double t;		/* model seconds since the start */
	double soc;		/* % of the pack: the SOC of cell ref */
	double cell_soc[BMS_SIMMODEL_MAX_CELLS];	/* % of each cell */
	double cell_ah[BMS_SIMMODEL_MAX_CELLS];	/* Ah each cell holds when full */
	int ref;		/* 0-based: the first cell that holds least */
	double rise;		/* degC every probe is above its base */
	double dis_ah;		/* Ah discharged since the last cycle count */
	long cycles;
	bool chg_mos, dis_mos;	/* MOSFETs as switched by the host */
};

/* Everything a BMS reports at one moment, in wire units. */
struct bms_simmodel_snap {
	int ncells, ntemps;
	int cell_mv[BMS_SIMMODEL_MAX_CELLS];	/* mV */
	int temp_c[BMS_SIMMODEL_MAX_TEMPS];	/* degC */
	long pack_mv;			/* sum of the cells, mV */
	double current;			/* A actually flowing, + charging */
	int state;			/* 0 idle, 1 charging, 2 discharging */
	double soc;			/* % */
	double remaining_ah;		/* Ah */
	int max_mv, max_cell;		/* highest cell, 1-based number */
	int min_mv, min_cell;		/* lowest cell */
	int max_t, max_t_id;		/* highest probe, degC and 1-based number */
	int min_t, min_t_id;	/* both 0 when every probe is dead */
	int nlive;		/* probes that give a value */
	uint32_t dead;		/* bit n-1 set: probe n reads as failed */
	uint64_t balance;		/* bit n-1 set: cell n balancing */
	uint8_t failure[8];		/* A5 0x98 payload */
	long cycles;
	bool chg_mos, dis_mos;
	bool charger, load;		/* a charger / a load is connected */
	uint8_t dio;			/* DI1..4 in bits 0..3, DO1..4 in 4..7 */
	uint8_t life;			/* rolling "BMS life" counter */
};

/* Fill cfg with the worked-example pack (16S LFP 280 Ah, 78.5 %, +12.5 A). */
void bms_simmodel_defaults(struct bms_simmodel_cfg *cfg);

/* Start a model at time 0 from cfg (copied). */
void bms_simmodel_init(struct bms_simmodel *m, const struct bms_simmodel_cfg *cfg);

/* Run the model forward by dt model seconds (dt <= 0 does nothing). */
void bms_simmodel_advance(struct bms_simmodel *m, double dt);

/* What the BMS reports now. */
void bms_simmodel_snap(const struct bms_simmodel *m, struct bms_simmodel_snap *s);

/* Set the state of charge of every cell (%, clamped to 0..100), as a
 * host write does. */
void bms_simmodel_set_soc(struct bms_simmodel *m, double soc);

/*
 * Parse a chemistry name (any spelling bms_chem_find takes: "lfp",
 * "lifepo4", "nmc", "li-ion", "lto").  Returns 0, or -1 if the
 * name is unknown.
 */
int bms_simmodel_chem_parse(const char *s, enum bms_simmodel_chem *chem);

/*
 * Parse a profile "A:SECONDS,A:SECONDS,..." into cfg->steps.  Returns 0,
 * or -1 with a one-line reason in err.
 */
int bms_simmodel_profile_parse(const char *s, struct bms_simmodel_cfg *cfg,
			       char *err, size_t errsz);

/*
 * Parse "N:PCT" (a weak cell), "N:MV_PER_HOUR[@START]" (a drifting cell)
 * or "N[@START]" (a dead probe) into cfg's lists; START is model seconds
 * (default 0).  A cell or probe given again replaces its earlier entry.
 * The number is checked against the counts by bms_simmodel_check, as
 * those may be given later.  Return 0, or -1 with a one-line reason in
 * err.
 */
int bms_simmodel_weak_parse(const char *s, struct bms_simmodel_cfg *cfg,
			    char *err, size_t errsz);
int bms_simmodel_drift_parse(const char *s, struct bms_simmodel_cfg *cfg,
			     char *err, size_t errsz);
int bms_simmodel_dead_parse(const char *s, struct bms_simmodel_cfg *cfg,
			    char *err, size_t errsz);

/*
 * Check that every weak and drifting cell is one of cfg->cells and every
 * dead probe one of cfg->temps.  Returns 0, or -1 with a one-line reason
 * in err ("--weak-cell: cell 17 of 16").
 */
int bms_simmodel_check(const struct bms_simmodel_cfg *cfg, char *err, size_t errsz);

/*
 * Parse a model time in seconds: a decimal number from 0 to 1e9.
 * Returns 0, or -1 if s is not one.
 */
int bms_simmodel_time_parse(const char *s, double *t);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Anomaly detection on one battery's readings, and the anomaly record
 * (bms(7), share/schema/anomaly.schema.json) that reports each.
 *
 * The caller feeds one battery's readings in time order; a reading older
 * than the latest one is ignored.  Each anomaly has a stable code:
 *
 *   cell_deviation    a cell departing from the others: robust z-score
 *                     (v - median) / (1.4826 MAD), MAD floored, beyond a
 *                     bound AND at least a minimum departure in mV,
 *                     sustained for a set time; over once back for a
 *                     set time
 *   voltage_jump      the pack voltage or a cell jumping between two
 *                     consecutive readings
 *   temperature_jump  a probe jumping between two consecutive readings
 *   temperature_rise  a probe rising faster than a set rate over a set
 *                     span; over once it no longer does
 *   sensor_stuck      a cell or probe value identical for a set time
 *                     while the pack current moved; over when it changes
 *
 * Lasting conditions make a record with "state":"start" when they begin
 * and one with "state":"end" when they are over; jumps, which have no
 * duration, make one record with "state":"event".  The definitions,
 * fields and every threshold with its default and the reason for it are
 * in bms-agg(1), ANOMALIES.
 *
 * Computation on caller-owned structs only: no allocation (a record is
 * built in a buffer on the stack and handed to the caller's emit before
 * bms_anomaly_add returns), no I/O.
 */
#ifndef BMS_ANOMALY_H
#define BMS_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reading.h"
#include "record.h"

#define BMS_ANOMALY_RISE_SLOTS 10	/* the rise span is kept in this many */
#define BMS_ANOMALY_SLOTS (BMS_ANOMALY_RISE_SLOTS + 1)	/* and the current one */
#define BMS_ANOMALY_CHANNELS (BMS_MAX_CELLS + BMS_MAX_TEMPS)	/* cells, then probes */
#define BMS_ANOMALY_REC_MAX 4096	/* bytes of one record, at most */
#define BMS_ANOMALY_NONE INT64_MIN	/* a time or slot that is not set */

/* The settings; every one > 0 (the caller checks what a user gives). */
struct bms_anomaly_conf {
	double dev_z;			/* |robust z| at least this ... */
	double dev_mad_floor_mv;	/* mV: MAD taken as at least this */
	double dev_min_mv;		/* mV: ... and |v - median| at least this */
	int64_t dev_sustain_ms;		/* ms: for this long before start */
	int64_t dev_clear_ms;		/* ms: back for this long before end */
	double pack_jump_v;		/* V: pack voltage change between readings */
	double cell_jump_v;		/* V: cell voltage change between readings */
	double temp_jump_c;		/* degC: probe change between readings */
	int64_t jump_max_dt_ms;		/* ms: readings further apart: no jump */
	double rise_c_per_min;		/* degC per minute ... */
	int64_t rise_span_ms;		/* ms: ... over this span */
	int64_t stuck_cell_ms;		/* ms: a cell unchanged this long ... */
	int64_t stuck_probe_ms;		/* ms: a probe unchanged this long ... */
	double stuck_current_a;		/* A: ... while the current moved this much */
};

/* The defaults (bms-agg(1), ANOMALIES). */
void bms_anomaly_conf_defaults(struct bms_anomaly_conf *c);

/*
 * Parallel arrays per cell, probe or channel, so that the state is plain
 * lists of numbers.  A cell_deviation is active (started, not ended), and
 * dev_since is when the departure began (not active) or when the cell
 * came back (active); BMS_ANOMALY_NONE: neither.
 */
struct bms_anomaly {
	int64_t n;			/* readings taken */
	int64_t last_ts;		/* ms; set when n > 0 */
	int64_t dropped;		/* records that did not fit (never: the
					 * envelope's limits keep them small) */
	/* The previous reading, for jumps: */
	int prev_has_v;
	double prev_v;			/* V */
	int prev_ncells, prev_ntemps;
	double prev_cells[BMS_MAX_CELLS];	/* V */
	double prev_temps[BMS_MAX_TEMPS];	/* degC */
	/* cell_deviation: */
	int ncells;
	int dev_active[BMS_MAX_CELLS];
	int64_t dev_since[BMS_MAX_CELLS];	/* ms, or BMS_ANOMALY_NONE */
	/* temperature_rise: per probe, the lowest value of each slot of
	 * rise_span_ms / BMS_ANOMALY_RISE_SLOTS, ring-indexed by slot: */
	int ntemps;
	int rise_active[BMS_MAX_TEMPS];		/* temperature_rise started */
	int64_t slot[BMS_MAX_TEMPS][BMS_ANOMALY_SLOTS];	/* slot index, or NONE */
	double slot_min[BMS_MAX_TEMPS][BMS_ANOMALY_SLOTS];	/* degC */
	/* sensor_stuck, channel k: cell k+1, or probe k+1-BMS_MAX_CELLS: */
	int ch_valid[BMS_ANOMALY_CHANNELS];	/* ch_val is the latest value */
	int ch_active[BMS_ANOMALY_CHANNELS];	/* sensor_stuck started */
	double ch_val[BMS_ANOMALY_CHANNELS];	/* V or degC */
	int64_t ch_since[BMS_ANOMALY_CHANNELS];	/* ms: unchanged since */
	int ch_has_i[BMS_ANOMALY_CHANNELS];	/* imin, imax hold a range */
	double ch_imin[BMS_ANOMALY_CHANNELS];	/* A: the current's range */
	double ch_imax[BMS_ANOMALY_CHANNELS];	/* since then */
};

/* No history, nothing active. */
void bms_anomaly_init(struct bms_anomaly *a);

/*
 * Feed one reading taken at ts_ms; each anomaly record made (no newline,
 * the envelope from head) is handed to emit, rec valid only during the
 * call.  Returns how many were made.
 */
int bms_anomaly_add(struct bms_anomaly *a, const struct bms_anomaly_conf *c, int64_t ts_ms,
		    const struct bms_reading *r, const struct bms_record_head *head,
		    void (*emit)(void *ctx, const char *rec, size_t len), void *ctx);

/* State for --state, as bms_health_state (health.h): members without
 * braces; load takes the whole object line and ignores unknown keys;
 * reasons start "anomaly state: ". */
void bms_anomaly_state(const struct bms_anomaly *a, struct bms_buf *out);
int bms_anomaly_state_load(struct bms_anomaly *a, const char *rec, size_t len,
			   char *err, size_t errsz);

#endif

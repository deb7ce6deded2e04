/* SPDX-License-Identifier: MIT */
/*
 * The reading record: what a decoder makes of one poll of a BMS, in the
 * names and units of the BMSRealtimeData contract (bms-record in bms(7)).
 * A decoder fills the struct and sets a BMS_R_* bit for each field the
 * BMS reported; fields without their bit are left out of the JSON, never
 * written as a made-up zero.
 */
#ifndef BMS_READING_H
#define BMS_READING_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define BMS_MAX_CELLS 48
#define BMS_MAX_TEMPS 16
#define BMS_MAX_CODES 48

enum {
	BMS_R_VOLTAGE = 1u << 0,	/* pack_voltage */
	BMS_R_CURRENT = 1u << 1,	/* pack_current */
	BMS_R_POWER = 1u << 2,		/* pack_power */
	BMS_R_SOC = 1u << 3,		/* soc_percent */
	BMS_R_SOH = 1u << 4,		/* soh_percent */
	BMS_R_TEMPS = 1u << 5,		/* temperatures, temp_count */
	BMS_R_CELLS = 1u << 6,		/* cell_voltages, cell_count */
	BMS_R_BALANCE = 1u << 7,	/* balancing_status */
	BMS_R_PROTECT = 1u << 8,	/* protection_status */
	BMS_R_CODES = 1u << 9,		/* fault_codes, warning_codes */
	BMS_R_CYCLES = 1u << 10,	/* cycles */
	BMS_R_REMAIN = 1u << 11,	/* remaining_capacity_ah */
	BMS_R_NOMINAL = 1u << 12,	/* nominal_capacity_ah */
	BMS_R_MOS = 1u << 13,		/* charge_mos, discharge_mos */
};

struct bms_protection {
	bool overvoltage, undervoltage;
	bool overcurrent_charge, overcurrent_discharge;
	bool overtemperature, undertemperature;
};

struct bms_reading {
	unsigned have;			/* BMS_R_* bits */
	double pack_voltage;		/* V */
	double pack_current;		/* A, + while charging */
	double pack_power;		/* W, + while charging */
	double soc_percent;		/* % */
	double soh_percent;		/* % */
	int ntemps;
	double temps[BMS_MAX_TEMPS];	/* degC, probe 1 first */
	int ncells;
	double cells[BMS_MAX_CELLS];	/* V, cell 1 first */
	bool balancing_active;
	uint64_t balancing_mask;	/* bit n-1 set: cell n balancing */
	struct bms_protection prot;
	int nfaults, nwarnings;
	const char *faults[BMS_MAX_CODES];	/* static snake_case names */
	const char *warnings[BMS_MAX_CODES];
	long cycles;
	double remaining_capacity_ah;	/* Ah */
	double nominal_capacity_ah;	/* Ah */
	bool charge_mos, discharge_mos;	/* true: MOSFET on */
};

/* Clear every field and presence bit. */
void bms_reading_clear(struct bms_reading *r);

/* Add a fault or warning code (static string); extra codes are dropped. */
void bms_reading_fault(struct bms_reading *r, const char *code);
void bms_reading_warning(struct bms_reading *r, const char *code);

/*
 * The identity of the record the reading came from: raw JSON values
 * (quotes included) copied from the input record, so that bms_id,
 * timestamp and tenant pass through byte for byte.  tenant may be NULL.
 */
struct bms_reading_head {
	const char *bms_id;
	size_t bms_id_len;
	const char *timestamp;
	size_t timestamp_len;
	const char *tenant;
	size_t tenant_len;
	const char *proto;		/* plain text, e.g. "daly" */
};

/* Append the reading as one JSON object (no newline) to b. */
void bms_reading_json(const struct bms_reading *r,
		      const struct bms_reading_head *h, struct bms_buf *b);

#endif

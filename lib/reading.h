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
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

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
	BMS_R_QUALITY = 1u << 14,	/* quality (bms-validate's verdict) */
	BMS_R_FINDINGS = 1u << 15,	/* findings (bms-validate's reasons) */
};

/* A verdict of bms-validate(1): the words of "quality", in this order. */
enum bms_quality { BMS_QUALITY_GOOD, BMS_QUALITY_SUSPECT, BMS_QUALITY_BAD };
extern const char *const bms_reading_quality_words[];	/* NULL-terminated */
/* The severities of a finding, likewise. */
enum bms_severity { BMS_SEVERITY_INFO, BMS_SEVERITY_WARNING, BMS_SEVERITY_ERROR };
extern const char *const bms_reading_severity_words[];

#define BMS_MAX_FINDINGS 64	/* findings one reading may carry */

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
	int quality;			/* BMS_R_QUALITY: an enum bms_quality */
	int nfindings;			/* BMS_R_FINDINGS: how many (the findings
					 * themselves stay in the line) */
};

/* Clear every field and presence bit. */
void bms_reading_clear(struct bms_reading *r);

/* Add a fault or warning code (static string); extra codes are dropped. */
void bms_reading_fault(struct bms_reading *r, const char *code);
void bms_reading_warning(struct bms_reading *r, const char *code);

/*
 * Append the reading as one JSON object (no newline) to b.  h is the
 * envelope as JSON text (record.h), copied from the record the reading
 * came from so that bms_id, timestamp and tenant pass through byte for
 * byte; proto is plain text ("daly"), or NULL for none.
 */
void bms_reading_json(const struct bms_reading *r, const struct bms_record_head *h,
		      const char *proto, struct bms_buf *b);

/* ==== Parsing ==== */

/*
 * The rules a reading line is held to, one per field of
 * share/schema/reading.schema.json and in the same words (a unit test
 * compares the two property by property).  Besides them, every number
 * a reading carries must be finite and below BMS_READING_NUM_MAX in
 * magnitude, so that it is exact at the precision the store keeps (see
 * readpack.c), and the arrays hold at most max_items.
 */
#define BMS_READING_NUM_MAX 1e11

enum bms_reading_jtype {
	BMS_RJ_NONE,		/* (array items of no array) */
	BMS_RJ_STRING,
	BMS_RJ_NUMBER,
	BMS_RJ_INTEGER,
	BMS_RJ_BOOLEAN,
	BMS_RJ_ARRAY,
	BMS_RJ_OBJECT,
};

struct bms_reading_rule {
	const char *name;		/* the JSON key */
	enum bms_reading_jtype type;
	int required;			/* the record (or object) must have it */
	int has_min, has_max;		/* numbers and integers, or array items: */
	double min, max;		/* the schema's minimum, maximum; strings:
					 * min is the schema's minLength */
	const char *value;		/* strings: the "const", or NULL */
	const char *const *words;	/* strings: the "enum" (NULL-terminated),
					 * or NULL; the index goes to the int at off */
	int unique;			/* refused when the key is in the line twice
					 * (the verdict: a reader must not choose) */
	const char *format;		/* strings: the "format", or NULL */
	unsigned bit;			/* BMS_R_* set when present; 0: none */
	/* Arrays: */
	enum bms_reading_jtype item;	/* the items' type; objects have props */
	int max_items;			/* the schema's maxItems */
	const char *noun;		/* one item in a reason: "cell", "probe" */
	/* Objects: their properties. */
	const struct bms_reading_rule *props;
	int nprops;
	/* Where the value goes in struct bms_reading (not the envelope's
	 * and proto, which go to struct bms_reading_doc): */
	size_t off;			/* the double, long, bool, const char *[]
					 * or (cells_balancing) uint64_t mask */
	size_t count_off;		/* arrays: the int count */
	unsigned counts;		/* cell_count, temp_count: the BMS_R_* bit
					 * of the array whose length it must be */
	const char *counted;		/* and that array's name */
};

extern const struct bms_reading_rule bms_reading_rules[];
extern const int bms_reading_nrules;

/* A reading line parsed: its envelope (record.h) and its fields. */
struct bms_reading_doc {
	struct bms_record env;
	struct bms_reading r;		/* fault/warning codes point into text[] */
	int has_proto;			/* a "proto" string that fits proto[] */
	char proto[32];
	char text[2048];		/* the codes, NUL-terminated back to back */
};

/*
 * Parse a reading line s[0..n) into *d: the envelope (type "reading",
 * the rest as record.h checks it), then every field of the rule table
 * of the right type and range; keys the table does not know are
 * allowed.  Returns 0, or -1 with a one-line reason in err naming the
 * field ("no bms_id", "bad timestamp", "soc_percent: not in 0..100",
 * "cycles: negative", "cell_voltages: more than 48 cells",
 * "pack_current: out of range", "quality: not good, suspect or bad",
 * "quality: more than once", "findings: finding 2 has no code"); err
 * may be NULL.
 */
int bms_reading_parse(const char *s, size_t n, struct bms_reading_doc *d,
		      char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Daly A5 and D2 codec (see daly.h and the protocol notes it follows).
 *
 * Invariants: a frame is only decoded after its checksum (A5) or CRC (D2)
 * has been checked; bytes a BMS marks as unused are never read (they hold
 * stale data of earlier answers); padding slots of the last 0x95 frame
 * are cut off with the cell count from 0x94; a value no working pack can
 * have (SOC above 100 %, 300 V, 6 V cells) rejects the whole poll, so a
 * bad frame never becomes a reading.  The one exception is the marker of
 * a failed temperature probe: that probe has no value, and the rest of
 * the reading stands.
 *
 * Workload: one call per poll record, a few hundred bytes; everything
 * lives on the stack, nothing is allocated.
 */
#include <stdio.h>
#include <string.h>

#include "daly.h"
#include "err.h"
#include "modbus.h"

/* ==== A5 framing ==== */

uint8_t bms_daly_checksum(const uint8_t *p)
{
	unsigned sum = 0;

	for (int i = 0; i < 12; i++)
		sum += p[i];
	return (uint8_t)sum;
}

void bms_daly_encode(uint8_t out[BMS_DALY_LEN], uint8_t addr, uint8_t id,
		     const uint8_t data[8])
{
	out[0] = BMS_DALY_START;
	out[1] = addr;
	out[2] = id;
	out[3] = 8;
	if (data)
		memcpy(out + 4, data, 8);
	else
		memset(out + 4, 0, 8);
	out[12] = bms_daly_checksum(out);
}

int bms_daly_next(const uint8_t *buf, size_t len, size_t *pos,
		  struct bms_daly_frame *f)
{
	size_t i = *pos;

	for (; i < len; i++) {
		const uint8_t *p = buf + i;

		if (p[0] != BMS_DALY_START)
			continue;
		if (len - i < BMS_DALY_LEN) {
			/* Might be the head of a frame still arriving,
			 * unless what we have already rules it out. */
			if (len - i >= 4 && p[3] != 8)
				continue;
			break;
		}
		if (p[3] != 8 || bms_daly_checksum(p) != p[12])
			continue;
		f->addr = p[1];
		f->id = p[2];
		memcpy(f->data, p + 4, 8);
		*pos = i + BMS_DALY_LEN;
		return 1;
	}
	*pos = i;
	return 0;
}

bool bms_daly_is_request(const struct bms_daly_frame *f)
{
	return f->addr >= 0x20;
}

uint8_t bms_daly_host_addr(uint8_t base, int board)
{
	return (uint8_t)(base + board - 1);
}

int bms_daly_frames_expected(uint8_t id, int cells, int temps)
{
	switch (id) {
	case BMS_DALY_CELLS:
		return cells > 0 ? (cells + 2) / 3 : 1;
	case BMS_DALY_TEMPS:
		return temps > 0 ? (temps + 6) / 7 : 1;
	case BMS_DALY_SW_VERSION:
	case BMS_DALY_HW_VERSION:
		return 2;
	default:
		return 1;
	}
}

/* ==== Diagnostics ==== */

/* ==== Plausibility limits ==== */

/*
 * Values outside these limits cannot come from a working pack; a poll
 * holding one is rejected rather than turned into a reading.
 */
#define MAX_PACK_DV 2500	/* 0.1 V: 250 V, above 48 cells of 5 V */
#define MAX_CELL_MV 5000	/* mV, the top of Daly's cell range */
#define MAX_TEMP_C 150		/* degC */
#define MAX_CURRENT_DA 10000	/* 0.1 A: 1000 A either way */
#define MAX_SOC_PM 1000		/* 0.1 %: 100 % */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Signed current in 0.1 A, + while charging, from the raw u16 (offset
 * 30000) and the BMS's own state (1 charging, 2 discharging, anything
 * else: no direction known).  Without a state, plus is taken to mean
 * raw_sign (+1 or -1 times raw - 30000), flipped once more by invert.
 */
static long signed_current(unsigned raw, int state, int raw_sign, bool invert)
{
	long d = (long)raw - 30000;
	long mag = d < 0 ? -d : d;

	if (state == 1)
		return mag;
	if (state == 2)
		return -mag;
	d *= raw_sign;
	return invert ? -d : d;
}

/* The checks and fields both decoders share, over values already in
 * physical units of the wire (0.1 V, 0.1 A, 0.1 %). */
static int set_core(struct bms_reading *r, unsigned dv, long da, unsigned soc_pm,
		    char *err, size_t errsz)
{
	if (dv > MAX_PACK_DV)
		return bms_err_set(err, errsz, "pack voltage %.1f V out of range", dv / 10.0);
	if (da > MAX_CURRENT_DA || da < -MAX_CURRENT_DA)
		return bms_err_set(err, errsz, "current %.1f A out of range", da / 10.0);
	if (soc_pm > MAX_SOC_PM)
		return bms_err_set(err, errsz, "soc %.1f%% out of range", soc_pm / 10.0);
	r->pack_voltage = dv / 10.0;
	r->pack_current = da / 10.0;
	r->soc_percent = soc_pm / 10.0;
	r->have |= BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_SOC;
	return 0;
}

static int set_cell(struct bms_reading *r, int i, unsigned mv,
		    char *err, size_t errsz)
{
	if (mv > MAX_CELL_MV)
		return bms_err_set(err, errsz, "cell %d voltage %.3f V out of range",
			    i + 1, mv / 1000.0);
	r->cells[i] = mv / 1000.0;
	return 0;
}

/* The warning of a probe that reports no value (see set_temp). */
static const char *const probe_fault_names[BMS_MAX_TEMPS] = {
	"temperature_sensor_1_fault", "temperature_sensor_2_fault",
	"temperature_sensor_3_fault", "temperature_sensor_4_fault",
	"temperature_sensor_5_fault", "temperature_sensor_6_fault",
	"temperature_sensor_7_fault", "temperature_sensor_8_fault",
	"temperature_sensor_9_fault", "temperature_sensor_10_fault",
	"temperature_sensor_11_fault", "temperature_sensor_12_fault",
	"temperature_sensor_13_fault", "temperature_sensor_14_fault",
	"temperature_sensor_15_fault", "temperature_sensor_16_fault",
};

/*
 * Probe i (0-based) read raw (degC + 40).  A probe whose raw value is the
 * failed-sensor marker (dead is true: A5 0xFF, D2 0x00FF or 0xFFFF) has
 * no value: it is left out of temperatures, its bit set in *dead; any
 * other value above MAX_TEMP_C rejects the poll.  The values that remain
 * are kept in probe order.
 */
static int set_temp(struct bms_reading *r, int i, unsigned raw, bool dead,
		    uint32_t *deadmask, char *err, size_t errsz)
{
	int c = (int)raw - 40;

	if (dead) {
		*deadmask |= UINT32_C(1) << i;
		return 0;
	}
	if (c > MAX_TEMP_C)
		return bms_err_set(err, errsz, "temperature %d at %d degC out of range",
			    i + 1, c);
	r->temps[r->ntemps++] = c;
	return 0;
}

/* After the failure map: a warning for each probe without a value, and
 * the temperatures, when any probe gave one. */
static void end_temps(struct bms_reading *r, uint32_t deadmask)
{
	for (int i = 0; i < BMS_MAX_TEMPS; i++)
		if (deadmask >> i & 1) {
			bms_reading_warning(r, probe_fault_names[i]);
			r->have |= BMS_R_CODES;
		}
	if (r->ntemps > 0)
		r->have |= BMS_R_TEMPS;
}

/* Bits of cells 1..ncells only. */
static uint64_t cell_mask(uint64_t m, int ncells)
{
	return ncells >= 64 ? m : m & ((UINT64_C(1) << ncells) - 1);
}

/* ==== Failure map ==== */

/*
 * One bit of the 0x98 map: level 1 alarms are warnings, level 2 alarms
 * and the hardware errors of bytes 4..6 are faults.  Reserved bits
 * (3.4-3.7, 6.4-6.7) have no entry and are ignored.  This table is
 * tests/fixtures/daly-codes.txt; test-daly checks the two agree.
 */
struct failure_bit {
	uint8_t byte, mask;
	bool fault;
	const char *code;
};

static const struct failure_bit failure_bits[] = {
	{ 0, 0x01, false, "cell_voltage_high" },
	{ 0, 0x02, true, "cell_voltage_high" },
	{ 0, 0x04, false, "cell_voltage_low" },
	{ 0, 0x08, true, "cell_voltage_low" },
	{ 0, 0x10, false, "pack_voltage_high" },
	{ 0, 0x20, true, "pack_voltage_high" },
	{ 0, 0x40, false, "pack_voltage_low" },
	{ 0, 0x80, true, "pack_voltage_low" },
	{ 1, 0x01, false, "charge_temp_high" },
	{ 1, 0x02, true, "charge_temp_high" },
	{ 1, 0x04, false, "charge_temp_low" },
	{ 1, 0x08, true, "charge_temp_low" },
	{ 1, 0x10, false, "discharge_temp_high" },
	{ 1, 0x20, true, "discharge_temp_high" },
	{ 1, 0x40, false, "discharge_temp_low" },
	{ 1, 0x80, true, "discharge_temp_low" },
	{ 2, 0x01, false, "charge_overcurrent" },
	{ 2, 0x02, true, "charge_overcurrent" },
	{ 2, 0x04, false, "discharge_overcurrent" },
	{ 2, 0x08, true, "discharge_overcurrent" },
	{ 2, 0x10, false, "soc_high" },
	{ 2, 0x20, true, "soc_high" },
	{ 2, 0x40, false, "soc_low" },
	{ 2, 0x80, true, "soc_low" },
	{ 3, 0x01, false, "cell_voltage_diff" },
	{ 3, 0x02, true, "cell_voltage_diff" },
	{ 3, 0x04, false, "temp_diff" },
	{ 3, 0x08, true, "temp_diff" },
	{ 4, 0x01, true, "charge_mos_overtemp" },
	{ 4, 0x02, true, "discharge_mos_overtemp" },
	{ 4, 0x04, true, "charge_mos_temp_sensor" },
	{ 4, 0x08, true, "discharge_mos_temp_sensor" },
	{ 4, 0x10, true, "charge_mos_stuck" },
	{ 4, 0x20, true, "discharge_mos_stuck" },
	{ 4, 0x40, true, "charge_mos_open" },
	{ 4, 0x80, true, "discharge_mos_open" },
	{ 5, 0x01, true, "afe_error" },
	{ 5, 0x02, true, "cell_sense_lost" },
	{ 5, 0x04, true, "temp_sensor_error" },
	{ 5, 0x08, true, "eeprom_error" },
	{ 5, 0x10, true, "rtc_error" },
	{ 5, 0x20, true, "precharge_failed" },
	{ 5, 0x40, true, "comm_error" },
	{ 5, 0x80, true, "internal_comm_error" },
	{ 6, 0x01, true, "current_sensor_error" },
	{ 6, 0x02, true, "pack_voltage_sense_error" },
	{ 6, 0x04, true, "short_circuit" },
	{ 6, 0x08, true, "low_voltage_no_charge" },
};

/* Byte 7: a fault number shown as "fault code N" by Daly's tools. */
static const char *const fault_code_names[256] = {
	NULL, "fault_code_1", "fault_code_2", "fault_code_3", "fault_code_4",
	"fault_code_5", "fault_code_6", "fault_code_7", "fault_code_8",
	"fault_code_9", "fault_code_10", "fault_code_11", "fault_code_12",
	"fault_code_13", "fault_code_14", "fault_code_15", "fault_code_16",
	"fault_code_17", "fault_code_18", "fault_code_19", "fault_code_20",
	"fault_code_21", "fault_code_22", "fault_code_23", "fault_code_24",
	"fault_code_25", "fault_code_26", "fault_code_27", "fault_code_28",
	"fault_code_29", "fault_code_30", "fault_code_31", "fault_code_32",
	"fault_code_33", "fault_code_34", "fault_code_35", "fault_code_36",
	"fault_code_37", "fault_code_38", "fault_code_39", "fault_code_40",
	"fault_code_41", "fault_code_42", "fault_code_43", "fault_code_44",
	"fault_code_45", "fault_code_46", "fault_code_47", "fault_code_48",
	"fault_code_49", "fault_code_50", "fault_code_51", "fault_code_52",
	"fault_code_53", "fault_code_54", "fault_code_55", "fault_code_56",
	"fault_code_57", "fault_code_58", "fault_code_59", "fault_code_60",
	"fault_code_61", "fault_code_62", "fault_code_63", "fault_code_64",
	"fault_code_65", "fault_code_66", "fault_code_67", "fault_code_68",
	"fault_code_69", "fault_code_70", "fault_code_71", "fault_code_72",
	"fault_code_73", "fault_code_74", "fault_code_75", "fault_code_76",
	"fault_code_77", "fault_code_78", "fault_code_79", "fault_code_80",
	"fault_code_81", "fault_code_82", "fault_code_83", "fault_code_84",
	"fault_code_85", "fault_code_86", "fault_code_87", "fault_code_88",
	"fault_code_89", "fault_code_90", "fault_code_91", "fault_code_92",
	"fault_code_93", "fault_code_94", "fault_code_95", "fault_code_96",
	"fault_code_97", "fault_code_98", "fault_code_99", "fault_code_100",
	"fault_code_101", "fault_code_102", "fault_code_103",
	"fault_code_104", "fault_code_105", "fault_code_106",
	"fault_code_107", "fault_code_108", "fault_code_109",
	"fault_code_110", "fault_code_111", "fault_code_112",
	"fault_code_113", "fault_code_114", "fault_code_115",
	"fault_code_116", "fault_code_117", "fault_code_118",
	"fault_code_119", "fault_code_120", "fault_code_121",
	"fault_code_122", "fault_code_123", "fault_code_124",
	"fault_code_125", "fault_code_126", "fault_code_127",
	"fault_code_128", "fault_code_129", "fault_code_130",
	"fault_code_131", "fault_code_132", "fault_code_133",
	"fault_code_134", "fault_code_135", "fault_code_136",
	"fault_code_137", "fault_code_138", "fault_code_139",
	"fault_code_140", "fault_code_141", "fault_code_142",
	"fault_code_143", "fault_code_144", "fault_code_145",
	"fault_code_146", "fault_code_147", "fault_code_148",
	"fault_code_149", "fault_code_150", "fault_code_151",
	"fault_code_152", "fault_code_153", "fault_code_154",
	"fault_code_155", "fault_code_156", "fault_code_157",
	"fault_code_158", "fault_code_159", "fault_code_160",
	"fault_code_161", "fault_code_162", "fault_code_163",
	"fault_code_164", "fault_code_165", "fault_code_166",
	"fault_code_167", "fault_code_168", "fault_code_169",
	"fault_code_170", "fault_code_171", "fault_code_172",
	"fault_code_173", "fault_code_174", "fault_code_175",
	"fault_code_176", "fault_code_177", "fault_code_178",
	"fault_code_179", "fault_code_180", "fault_code_181",
	"fault_code_182", "fault_code_183", "fault_code_184",
	"fault_code_185", "fault_code_186", "fault_code_187",
	"fault_code_188", "fault_code_189", "fault_code_190",
	"fault_code_191", "fault_code_192", "fault_code_193",
	"fault_code_194", "fault_code_195", "fault_code_196",
	"fault_code_197", "fault_code_198", "fault_code_199",
	"fault_code_200", "fault_code_201", "fault_code_202",
	"fault_code_203", "fault_code_204", "fault_code_205",
	"fault_code_206", "fault_code_207", "fault_code_208",
	"fault_code_209", "fault_code_210", "fault_code_211",
	"fault_code_212", "fault_code_213", "fault_code_214",
	"fault_code_215", "fault_code_216", "fault_code_217",
	"fault_code_218", "fault_code_219", "fault_code_220",
	"fault_code_221", "fault_code_222", "fault_code_223",
	"fault_code_224", "fault_code_225", "fault_code_226",
	"fault_code_227", "fault_code_228", "fault_code_229",
	"fault_code_230", "fault_code_231", "fault_code_232",
	"fault_code_233", "fault_code_234", "fault_code_235",
	"fault_code_236", "fault_code_237", "fault_code_238",
	"fault_code_239", "fault_code_240", "fault_code_241",
	"fault_code_242", "fault_code_243", "fault_code_244",
	"fault_code_245", "fault_code_246", "fault_code_247",
	"fault_code_248", "fault_code_249", "fault_code_250",
	"fault_code_251", "fault_code_252", "fault_code_253",
	"fault_code_254", "fault_code_255"

};

void bms_daly_failure_codes(const uint8_t map[8], struct bms_reading *r)
{
	struct bms_protection *p = &r->prot;

	for (size_t i = 0; i < sizeof failure_bits / sizeof failure_bits[0]; i++) {
		const struct failure_bit *b = &failure_bits[i];

		if (!(map[b->byte] & b->mask))
			continue;
		if (b->fault)
			bms_reading_fault(r, b->code);
		else
			bms_reading_warning(r, b->code);
	}
	if (map[7])
		bms_reading_fault(r, fault_code_names[map[7]]);

	p->overvoltage = map[0] & 0x22;			/* cell, pack high L2 */
	p->undervoltage = map[0] & 0x88;		/* cell, pack low L2 */
	p->overcurrent_charge = map[2] & 0x02;
	p->overcurrent_discharge = (map[2] & 0x08) || (map[6] & 0x04);
	p->overtemperature = (map[1] & 0x22) || (map[4] & 0x03);
	p->undertemperature = map[1] & 0x88;
	r->have |= BMS_R_PROTECT | BMS_R_CODES;
}

/* ==== A5 poll ==== */

#define MULTI_FRAMES 16		/* 0x95/0x96 frame numbers kept: 1..16 */

struct a5_slot {
	bool have;
	uint8_t d[8];
};

/* The last valid copy of every reply a decode uses. */
struct a5_poll {
	struct a5_slot soc, mos, status, balance, failure, rated;
	struct a5_slot cells[MULTI_FRAMES], temps[MULTI_FRAMES];
};

static void a5_keep(struct a5_slot *s, const uint8_t d[8])
{
	s->have = true;
	memcpy(s->d, d, 8);
}

static void a5_take(struct a5_poll *p, const struct bms_daly_frame *f)
{
	switch (f->id) {
	case BMS_DALY_SOC: a5_keep(&p->soc, f->data); break;
	case BMS_DALY_MOS: a5_keep(&p->mos, f->data); break;
	case BMS_DALY_STATUS: a5_keep(&p->status, f->data); break;
	case BMS_DALY_BALANCE: a5_keep(&p->balance, f->data); break;
	case BMS_DALY_FAILURE: a5_keep(&p->failure, f->data); break;
	case BMS_DALY_RATED: a5_keep(&p->rated, f->data); break;
	case BMS_DALY_CELLS:
		/* Frame numbers are 1-based on every unit seen; 0 is a
		 * document artefact and above 16 cannot exist. */
		if (f->data[0] >= 1 && f->data[0] <= MULTI_FRAMES)
			a5_keep(&p->cells[f->data[0] - 1], f->data);
		break;
	case BMS_DALY_TEMPS:
		if (f->data[0] >= 1 && f->data[0] <= MULTI_FRAMES)
			a5_keep(&p->temps[f->data[0] - 1], f->data);
		break;
	default:
		break;
	}
}

/* Frames per_frame values each, count values wanted: the first missing
 * frame number, or 0 when all are there. */
static int a5_missing(const struct a5_slot *s, int count, int per_frame)
{
	int n = (count + per_frame - 1) / per_frame;

	for (int k = 0; k < n; k++)
		if (!s[k].have)
			return k + 1;
	return 0;
}

int bms_daly_decode(const uint8_t *const *elems, const size_t *lens,
		    size_t nelems, const struct bms_daly_opts *opt,
		    struct bms_reading *r, char *err, size_t errsz)
{
	struct a5_poll p;
	struct bms_daly_frame f;
	int board = opt ? opt->board : 1;
	bool invert = opt && opt->invert_current;
	int ncells, ntemps, state = -1, k;
	uint32_t dead = 0;
	unsigned dv;
	long da;

	memset(&p, 0, sizeof p);
	bms_reading_clear(r);
	for (size_t e = 0; e < nelems; e++) {
		size_t pos = 0;

		while (bms_daly_next(elems[e], lens[e], &pos, &f))
			if (!bms_daly_is_request(&f) && f.addr == board)
				a5_take(&p, &f);
	}

	if (!p.status.have)
		return bms_err_set(err, errsz, "no reply to 0x94");
	if (!p.soc.have)
		return bms_err_set(err, errsz, "no reply to 0x90");
	ncells = p.status.d[0];
	ntemps = p.status.d[1];
	if (ncells > BMS_MAX_CELLS)
		return bms_err_set(err, errsz, "cell count %d out of range", ncells);
	if (ntemps > BMS_MAX_TEMPS)
		return bms_err_set(err, errsz, "temperature count %d out of range", ntemps);
	if ((k = a5_missing(p.cells, ncells, 3)))
		return bms_err_set(err, errsz, "0x95 frame %d of %d missing", k,
			    (ncells + 2) / 3);
	if ((k = a5_missing(p.temps, ntemps, 7)))
		return bms_err_set(err, errsz, "0x96 frame %d of %d missing", k,
			    (ntemps + 6) / 7);

	if (p.mos.have) {
		state = p.mos.d[0];
		if (state > 2)
			return bms_err_set(err, errsz, "charge state %d out of range", state);
	}
	/* Real A5 units report raw above 30000 while discharging. */
	dv = be16(p.soc.d);
	da = signed_current(be16(p.soc.d + 4), state, -1, invert);
	if (set_core(r, dv, da, be16(p.soc.d + 6), err, errsz) < 0)
		goto bad;
	r->pack_power = (double)dv * (double)da / 100.0;
	r->have |= BMS_R_POWER;

	for (int i = 0; i < ncells; i++)
		if (set_cell(r, i, be16(p.cells[i / 3].d + 1 + 2 * (i % 3)),
			     err, errsz) < 0)
			goto bad;
	r->ncells = ncells;
	if (ncells > 0)
		r->have |= BMS_R_CELLS;
	for (int i = 0; i < ntemps; i++) {
		unsigned raw = p.temps[i / 7].d[1 + i % 7];

		if (set_temp(r, i, raw, raw == 0xff, &dead, err, errsz) < 0)
			goto bad;
	}

	r->cycles = be16(p.status.d + 5);
	r->have |= BMS_R_CYCLES;
	if (p.mos.have) {
		r->charge_mos = p.mos.d[1] != 0;
		r->discharge_mos = p.mos.d[2] != 0;
		r->remaining_capacity_ah = be32(p.mos.d + 4) / 1000.0;
		r->have |= BMS_R_MOS | BMS_R_REMAIN;
	}
	if (p.balance.have) {
		uint64_t m = 0;

		for (int i = 0; i < 6; i++)
			m |= (uint64_t)p.balance.d[i] << (8 * i);
		r->balancing_mask = cell_mask(m, ncells);
		r->balancing_active = r->balancing_mask != 0;
		r->have |= BMS_R_BALANCE;
	}
	if (p.failure.have)
		bms_daly_failure_codes(p.failure.d, r);
	if (p.rated.have) {
		r->nominal_capacity_ah = be32(p.rated.d) / 1000.0;
		r->have |= BMS_R_NOMINAL;
	}
	end_temps(r, dead);
	return 0;
bad:
	bms_reading_clear(r);
	return -1;
}

/* ==== D2 Modbus poll ==== */

/* D2 live registers (daly.md §2.3). */
enum {
	REG_CELLS = 0x00,	/* 32 cells, mV */
	REG_TEMPS = 0x20,	/* 8 probes, degC + 40 */
	REG_VOLTAGE = 0x28,	/* 0.1 V */
	REG_CURRENT = 0x29,	/* 0.1 A, offset 30000 */
	REG_SOC = 0x2a,		/* 0.1 % */
	REG_STATE = 0x2f,	/* 0 idle, 1 charging, 2 discharging */
	REG_REMAIN = 0x30,	/* 0.1 Ah */
	REG_NCELLS = 0x31,
	REG_NTEMPS = 0x32,
	REG_CYCLES = 0x33,
	REG_BALANCING = 0x34,	/* 0 off, 1 on */
	REG_CHARGE_MOS = 0x35,
	REG_DISCHARGE_MOS = 0x36,
	REG_POWER = 0x39,	/* W, unsigned */
	REG_FAULTS = 0x3a,	/* 0x3a..0x3d: the 0x98 map, low byte first */
	REG_BALANCE_MAP = 0x3e,	/* 0x3e, 0x3f: cells 1-16, 17-32 (80-register read) */
};

#define DALYMB_MAX_CELLS 32
#define DALYMB_MAX_TEMPS 8

int bms_dalymb_decode(const uint8_t *const *elems, const size_t *lens,
		      size_t nelems, const struct bms_daly_opts *opt,
		      struct bms_reading *r, char *err, size_t errsz)
{
	struct bms_modbus_reply rep, live;
	bool found = false, invert = opt && opt->invert_current;
	const uint16_t *g;
	int ncells, ntemps, state;
	uint32_t dead = 0;
	uint8_t map[8];
	long da;

	bms_reading_clear(r);
	for (size_t e = 0; e < nelems; e++) {
		size_t pos = 0;

		while (pos < lens[e]) {
			if (!bms_modbus_next(elems[e], lens[e], &pos,
					     BMS_DALYMB_ADDR, &rep)) {
				pos++;
				continue;
			}
			if (rep.func == 0x03 && rep.nregs >= BMS_DALYMB_LIVE_COUNT) {
				live = rep;
				found = true;
			}
		}
	}
	if (!found)
		return bms_err_set(err, errsz, "no reply to the live-data read");
	g = live.regs;

	ncells = g[REG_NCELLS];
	ntemps = g[REG_NTEMPS];
	if (ncells > DALYMB_MAX_CELLS)
		return bms_err_set(err, errsz, "cell count %d out of range", ncells);
	if (ntemps > DALYMB_MAX_TEMPS)
		return bms_err_set(err, errsz, "temperature count %d out of range", ntemps);
	state = g[REG_STATE];
	if (state > 2)
		return bms_err_set(err, errsz, "charge state %d out of range", state);
	/* Live D2 captures show raw below 30000 while discharging. */
	da = signed_current(g[REG_CURRENT], state, 1, invert);
	if (set_core(r, g[REG_VOLTAGE], da, g[REG_SOC], err, errsz) < 0)
		goto bad;
	r->pack_power = da < 0 ? -(double)g[REG_POWER] : g[REG_POWER];
	r->have |= BMS_R_POWER;

	for (int i = 0; i < ncells; i++)
		if (set_cell(r, i, g[REG_CELLS + i], err, errsz) < 0)
			goto bad;
	r->ncells = ncells;
	if (ncells > 0)
		r->have |= BMS_R_CELLS;
	for (int i = 0; i < ntemps; i++) {
		unsigned raw = g[REG_TEMPS + i];

		if (set_temp(r, i, raw, raw == 0x00ff || raw == 0xffff, &dead,
			     err, errsz) < 0)
			goto bad;
	}

	r->cycles = g[REG_CYCLES];
	r->remaining_capacity_ah = g[REG_REMAIN] / 10.0;
	r->charge_mos = g[REG_CHARGE_MOS] != 0;
	r->discharge_mos = g[REG_DISCHARGE_MOS] != 0;
	r->have |= BMS_R_CYCLES | BMS_R_REMAIN | BMS_R_MOS;

	if (live.nregs > REG_BALANCE_MAP + 1)
		r->balancing_mask = cell_mask((uint64_t)g[REG_BALANCE_MAP] |
					      (uint64_t)g[REG_BALANCE_MAP + 1] << 16,
					      ncells);
	r->balancing_active = g[REG_BALANCING] != 0 || r->balancing_mask != 0;
	r->have |= BMS_R_BALANCE;

	for (int i = 0; i < 4; i++) {
		map[2 * i] = (uint8_t)(g[REG_FAULTS + i] & 0xff);
		map[2 * i + 1] = (uint8_t)(g[REG_FAULTS + i] >> 8);
	}
	map[7] = 0;	/* A5 byte 7 is a fault number; 0x3d's high byte is reserved */
	bms_daly_failure_codes(map, r);
	end_temps(r, dead);
	return 0;
bad:
	bms_reading_clear(r);
	return -1;
}

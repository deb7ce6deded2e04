/* SPDX-License-Identifier: MIT */
/*
 * Daly BMS codec: the A5 protocol of the classic boards (UART, RS485,
 * legacy BLE dongle) and the D2 Modbus protocol of the newer H/K/M/S
 * boards.  Both decode into the same struct bms_reading.
 *
 * A5 frames are always 13 bytes: A5, address, data ID, 08, 8 payload
 * bytes, and the low byte of the sum of the first 12.  Requests carry the
 * host address (0x40 + board - 1 on RS485, 0x80 for the Bluetooth
 * dongle), replies the board number (1..16).  D2 frames are Modbus-RTU
 * with slave address D2 and CRC-16/MODBUS (modbus.h).
 *
 * Pure functions over caller-owned buffers; no I/O, no allocation.
 */
#ifndef BMS_DALY_H
#define BMS_DALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define BMS_DALY_LEN 13			/* bytes in every A5 frame */
#define BMS_DALY_START 0xa5
#define BMS_DALY_HOST_PC 0x40		/* RS485/UART host, board 1 */
#define BMS_DALY_HOST_BT 0x80		/* legacy Bluetooth dongle host */
#define BMS_DALY_MAX_BOARDS 16

enum bms_daly_id {
	BMS_DALY_RATED = 0x50,		/* rated capacity, nominal cell voltage */
	BMS_DALY_SOC = 0x90,		/* pack voltage, current, SOC */
	BMS_DALY_CELL_RANGE = 0x91,	/* highest/lowest cell */
	BMS_DALY_TEMP_RANGE = 0x92,	/* highest/lowest temperature */
	BMS_DALY_MOS = 0x93,		/* state, MOSFETs, remaining capacity */
	BMS_DALY_STATUS = 0x94,		/* cell and sensor counts, cycles */
	BMS_DALY_CELLS = 0x95,		/* cell voltages, 3 per frame */
	BMS_DALY_TEMPS = 0x96,		/* temperatures, 7 per frame */
	BMS_DALY_BALANCE = 0x97,	/* balancing bitmap */
	BMS_DALY_FAILURE = 0x98,	/* failure bitmap */
	BMS_DALY_SW_VERSION = 0x62,	/* 2 frames of ASCII */
	BMS_DALY_HW_VERSION = 0x63,	/* 2 frames of ASCII */
};

/* One A5 frame, as found on the wire. */
struct bms_daly_frame {
	uint8_t addr;		/* byte 1: board number in replies, host in requests */
	uint8_t id;		/* byte 2: data ID */
	uint8_t data[8];	/* bytes 4..11 */
};

/* Low byte of the sum of p[0..12). */
uint8_t bms_daly_checksum(const uint8_t *p);

/* Build a 13-byte frame; data NULL means eight zero bytes. */
void bms_daly_encode(uint8_t out[BMS_DALY_LEN], uint8_t addr, uint8_t id,
		     const uint8_t data[8]);

/*
 * Find the next valid frame in buf[*pos..len).  A candidate must have the
 * start flag, length 0x08 and a correct checksum; otherwise the search
 * moves on by one byte (0xA5 also occurs inside payloads).  Returns 1 with
 * *f filled and *pos just past the frame, or 0 with *pos at the first byte
 * that could still begin a frame once more bytes arrive.  A caller that
 * holds all the bytes there will be (a decoder) stops when 0 is returned.
 */
int bms_daly_next(const uint8_t *buf, size_t len, size_t *pos,
		  struct bms_daly_frame *f);

/* True if the frame is a host request (an echo on a half-duplex line or
 * from a sleeping BMS): requests carry an address of 0x20 or more. */
bool bms_daly_is_request(const struct bms_daly_frame *f);

/* The host address that talks to board (1..16) given the base 0x40/0x80. */
uint8_t bms_daly_host_addr(uint8_t base, int board);

/*
 * Number of reply frames to expect for a data ID, given the counts from
 * 0x94 (cells, temps): ceil(cells/3) for 0x95, ceil(temps/7) for 0x96
 * (at least 1), 2 for the version IDs, 1 otherwise.  Units may send more
 * (two 0x96 frames for one probe, all 16 frames of 0x95 over BLE); the
 * decoder ignores the surplus wherever it lands.
 */
int bms_daly_frames_expected(uint8_t id, int cells, int temps);

/* Decoding options shared by the Daly decoders. */
struct bms_daly_opts {
	int board;		/* replies are taken from this board (1..16) */
	bool invert_current;	/* flip the sign where no state byte says it */
};

/*
 * Decode one A5 poll: the byte strings of its exchanges (elems[i] of
 * lens[i] bytes, as a frames record holds them) into *r, which is cleared
 * first.  Frames are cut out of the bytes wherever they lie; echoes of
 * requests, other boards' replies, garbage and the stale padding and
 * reserved bytes of a reply are ignored; a later valid copy of a frame
 * replaces an earlier one (retries, stale frames of an earlier burst).
 *
 * 0x94 and 0x90 are mandatory, and so are the 0x95 and 0x96 frames that
 * the counts of 0x94 call for (surplus frames are ignored); 0x93, 0x97,
 * 0x98 and 0x50 are optional and their fields are left out when absent.
 * The current is signed from the 0x93 state (1 charging: +, 2
 * discharging: -); with no state or state 0, raw above 30000 is taken as
 * discharge (the real A5 units) and opt->invert_current flips that.
 * Values no working pack can have (SOC above 100 %, pack above 250 V,
 * cell above 5 V, |current| above 1000 A, probe above 150 degC, more than
 * 48 cells or 16 probes, state above 2) reject the poll.
 *
 * A probe reading 0xFF (215 degC: the marker of a failed sensor) has no
 * value: it is left out of temperatures, so r->ntemps (temperatures and
 * temp_count) counts the probes that gave a value, in probe order, and
 * the warning "temperature_sensor_<n>_fault" (n the probe's 1-based
 * number, a static string) follows the codes of the failure map, with
 * BMS_R_CODES set.  With every probe failed, temperatures is left out.
 *
 * opt may be NULL (board 1, no inversion).  Returns 0, or -1 with *r
 * cleared and a one-line lowercase reason in err (truncated to errsz;
 * err may be NULL), e.g. "no reply to 0x94", "0x95 frame 3 of 6
 * missing", "soc 150.2% out of range".
 */
int bms_daly_decode(const uint8_t *const *elems, const size_t *lens,
		    size_t nelems, const struct bms_daly_opts *opt,
		    struct bms_reading *r, char *err, size_t errsz);

/* ==== D2 Modbus ==== */

#define BMS_DALYMB_ADDR 0xd2		/* slave address of D2 boards */
#define BMS_DALYMB_LIVE_START 0x0000	/* first live register */
#define BMS_DALYMB_LIVE_COUNT 62	/* 0x00..0x3d */

/*
 * Decode one D2 poll: the exchanges hold the reply to a read of the live
 * block (62 registers from 0x0000; a longer block is accepted too, and
 * from 64 registers on 0x3E/0x3F give the per-cell balancing map) among
 * whatever else arrived; the last such reply is used.  The current is
 * signed from register 0x2F (1 charging: +, 2 discharging: -); otherwise
 * raw below 30000 is taken as discharge (live D2 captures), flipped by
 * opt->invert_current.  Power is register 0x39 with the current's sign.
 * At most 32 cells and 8 probes; otherwise the same limits, return value
 * and err contract as bms_daly_decode ("no reply to the live-data read").
 * A probe register reading 0x00FF or 0xFFFF is a failed sensor, treated
 * as A5's 0xFF.
 */
int bms_dalymb_decode(const uint8_t *const *elems, const size_t *lens,
		      size_t nelems, const struct bms_daly_opts *opt,
		      struct bms_reading *r, char *err, size_t errsz);

/*
 * Add the codes and protection flags of a 64-bit failure map (A5 0x98
 * payload; D2 registers 0x3A..0x3D, low byte first) to *r and set
 * BMS_R_PROTECT and BMS_R_CODES.  Bytes 0..3: level 1 bits are warnings,
 * level 2 bits faults of the same name (cell_voltage_high, soc_low, ...);
 * bytes 4..6 are faults; byte 7, when not 0, is the fault
 * "fault_code_<n>" (decimal).  Reserved bits are ignored.  The names are
 * static strings, listed in tests/fixtures/daly-codes.txt and
 * bms-decode(1).  protection_status: overvoltage = cell or pack voltage
 * high level 2; undervoltage = cell or pack low level 2; overcurrent
 * charge = 2.1; overcurrent discharge = 2.3 or short circuit (6.2);
 * overtemperature = charge/discharge temperature high level 2 or a MOS
 * over-temperature (4.0, 4.1); undertemperature = charge/discharge
 * temperature low level 2.
 */
void bms_daly_failure_codes(const uint8_t map[8], struct bms_reading *r);

#endif

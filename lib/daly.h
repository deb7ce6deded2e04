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
 * (at least 1), 2 for the version IDs, 1 otherwise.
 */
int bms_daly_frames_expected(uint8_t id, int cells, int temps);

/* Decoding options shared by the Daly decoders. */
struct bms_daly_opts {
	int board;		/* replies are taken from this board (1..16) */
	bool invert_current;	/* flip the sign where no state byte says it */
};

/*
 * Decode one poll: the byte strings of its exchanges (elems[i] of
 * lens[i] bytes, as a frames record holds them) into *r.  Frames are cut
 * out of the bytes wherever they lie; echoes, other boards' replies,
 * garbage and stale padding are ignored; a later valid copy of a frame
 * replaces an earlier one.  The responses 0x90 and 0x94 are mandatory
 * (and 0x95 when 0x94 announces cells).  Returns 0, or -1 with a one-line
 * reason in err (e.g. "no reply to 0x94", "0x95 frame 3 of 6 missing").
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
 * block (62 registers from 0x0000; a longer block is accepted too) among
 * whatever else arrived.  Same contract as bms_daly_decode.
 */
int bms_dalymb_decode(const uint8_t *const *elems, const size_t *lens,
		      size_t nelems, const struct bms_daly_opts *opt,
		      struct bms_reading *r, char *err, size_t errsz);

/*
 * Fault and warning names for the 64-bit failure map (A5 0x98 payload,
 * byte 0 in bits 0..7; D2 registers 0x3A..0x3D low byte first): the stable
 * snake_case codes documented in bms-decode(1).
 */
void bms_daly_failure_codes(const uint8_t map[8], struct bms_reading *r);

#endif

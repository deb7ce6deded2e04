/* SPDX-License-Identifier: MIT */
/*
 * Modbus-RTU framing as Daly's D2 boards (and later Modbus devices) speak
 * it: CRC-16/MODBUS (reflected 0xA001, init 0xFFFF, sent low byte first),
 * the requests a master sends (read 0x03, write one register 0x06, write
 * several 0x10) and the replies a slave sends back; both ends, so that
 * bms-read and bms-sim frame the same way.
 *
 * Daly's write-multiple request has no byte-count field, unlike standard
 * Modbus function 16: slave 10 start(2) N(2) data(2N) CRC.
 *
 * Pure functions over caller-owned buffers; no I/O, no allocation.
 */
#ifndef BMS_MODBUS_H
#define BMS_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#define BMS_MODBUS_MAX_REGS 125		/* registers in one read reply */
#define BMS_MODBUS_MAX_WRITE 123	/* registers in one 0x10 request */
/* Bytes of the longest frame either way: a read reply of 125 registers. */
#define BMS_MODBUS_MAX_FRAME (5 + 2 * BMS_MODBUS_MAX_REGS)

/* CRC-16/MODBUS of p[0..n). */
uint16_t bms_modbus_crc(const uint8_t *p, size_t n);

/* Write the CRC of p[0..n) to p[n] and p[n + 1] (low byte first);
 * returns n + 2, the length of the frame. */
size_t bms_modbus_put_crc(uint8_t *p, size_t n);

/* True (1) if p[n] and p[n + 1] hold the CRC of p[0..n), else 0. */
int bms_modbus_crc_ok(const uint8_t *p, size_t n);

/* Build an 8-byte read request (function 0x03). */
void bms_modbus_read_request(uint8_t out[8], uint8_t slave, uint16_t start,
			     uint16_t count);

/*
 * Find the next valid request to slave in buf[*pos..len): a read (0x03)
 * or a write of one register (0x06), 8 bytes each, or a write of 1 to
 * BMS_MODBUS_MAX_WRITE registers (0x10), each with a correct CRC.  Bytes
 * that do not start one are skipped one at a time.  Returns 1 with *pos
 * past the request and *reqlen its length (it begins at *pos - *reqlen),
 * or 0 with *pos at the first byte that could still begin a request once
 * more bytes arrive (len when none can).
 */
int bms_modbus_next_request(const uint8_t *buf, size_t len, size_t *pos,
			    uint8_t slave, size_t *reqlen);

/*
 * Build the reply of slave to a read: slave 03 2n regs[0..n) CRC, into
 * out (room for 5 + 2n bytes; n is 1..BMS_MODBUS_MAX_REGS).  Returns its
 * length, 5 + 2n.
 */
size_t bms_modbus_read_reply(uint8_t *out, uint8_t slave, const uint16_t *regs,
			     size_t n);

/* A reply found on the wire. */
struct bms_modbus_reply {
	uint8_t slave;
	uint8_t func;		/* 0x03, 0x06, 0x10, or func|0x80 for an exception */
	uint16_t nregs;		/* registers in regs (0x03 only) */
	uint16_t regs[BMS_MODBUS_MAX_REGS];
	uint8_t exception;	/* exception code (func & 0x80) */
	size_t len;		/* bytes the frame took on the wire */
};

/*
 * Find the next valid reply from slave in buf[*pos..len): a read reply
 * (slave 03 count data CRC), a write echo (06 or 10) or an exception
 * (func|0x80 code CRC), each with a correct CRC.  Bytes that do not start
 * a valid frame are skipped one at a time.  A request echo (slave 03 start
 * count CRC, 8 bytes) is skipped as well.  Returns 1 with *rep filled and
 * *pos past the frame, or 0 with *pos at the first byte that could still
 * begin a frame once more bytes arrive.  A caller that holds all the
 * bytes there will be (a decoder) moves *pos on by one and calls again
 * while *pos < len: a false start may hide a real frame behind it.
 */
int bms_modbus_next(const uint8_t *buf, size_t len, size_t *pos,
		    uint8_t slave, struct bms_modbus_reply *rep);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Modbus-RTU framing as Daly's D2 boards (and later Modbus devices) speak
 * it: CRC-16/MODBUS (reflected 0xA001, init 0xFFFF, sent low byte first),
 * read requests (function 0x03) and their replies.
 */
#ifndef BMS_MODBUS_H
#define BMS_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#define BMS_MODBUS_MAX_REGS 125		/* registers in one read reply */

/* CRC-16/MODBUS of p[0..n). */
uint16_t bms_modbus_crc(const uint8_t *p, size_t n);

/* Build an 8-byte read request (function 0x03). */
void bms_modbus_read_request(uint8_t out[8], uint8_t slave, uint16_t start,
			     uint16_t count);

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

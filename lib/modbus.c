/* SPDX-License-Identifier: MIT */
/*
 * Modbus-RTU framing (see modbus.h).  The finders resynchronise the way
 * a listener on a shared line must: a byte that cannot start a frame is
 * skipped, and a frame is taken only when its CRC is right.
 */
#include <assert.h>
#include <string.h>

#include "modbus.h"

uint16_t bms_modbus_crc(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)(crc >> 1 ^ 0xa001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

size_t bms_modbus_put_crc(uint8_t *p, size_t n)
{
	uint16_t crc = bms_modbus_crc(p, n);

	p[n] = (uint8_t)(crc & 0xff);
	p[n + 1] = (uint8_t)(crc >> 8);
	return n + 2;
}

int bms_modbus_crc_ok(const uint8_t *p, size_t n)
{
	uint16_t crc = bms_modbus_crc(p, n);

	return p[n] == (crc & 0xff) && p[n + 1] == crc >> 8;
}

void bms_modbus_read_request(uint8_t out[8], uint8_t slave, uint16_t start,
			     uint16_t count)
{
	out[0] = slave;
	out[1] = 0x03;
	out[2] = (uint8_t)(start >> 8);
	out[3] = (uint8_t)start;
	out[4] = (uint8_t)(count >> 8);
	out[5] = (uint8_t)count;
	bms_modbus_put_crc(out, 6);
}

int bms_modbus_next_request(const uint8_t *buf, size_t len, size_t *pos,
			    uint8_t slave, size_t *reqlen)
{
	size_t i = *pos;

	for (; i < len; i++) {
		const uint8_t *p = buf + i;
		size_t avail = len - i, need;

		if (p[0] != slave)
			continue;
		if (avail < 2)
			break;
		if (p[1] == 0x03 || p[1] == 0x06) {
			need = 8;
		} else if (p[1] == 0x10) {
			unsigned nregs;

			if (avail < 6)
				break;
			nregs = (unsigned)p[4] << 8 | p[5];
			if (nregs == 0 || nregs > BMS_MODBUS_MAX_WRITE)
				continue;
			need = 8 + 2 * (size_t)nregs;
		} else {
			continue;
		}
		if (avail < need)
			break;
		if (!bms_modbus_crc_ok(p, need - 2))
			continue;
		*pos = i + need;
		*reqlen = need;
		return 1;
	}
	*pos = i;
	return 0;
}

size_t bms_modbus_read_reply(uint8_t *out, uint8_t slave, const uint16_t *regs,
			     size_t n)
{
	assert(n >= 1 && n <= BMS_MODBUS_MAX_REGS);
	out[0] = slave;
	out[1] = 0x03;
	out[2] = (uint8_t)(2 * n);
	for (size_t i = 0; i < n; i++) {
		out[3 + 2 * i] = (uint8_t)(regs[i] >> 8);
		out[4 + 2 * i] = (uint8_t)regs[i];
	}
	return bms_modbus_put_crc(out, 3 + 2 * n);
}

int bms_modbus_next(const uint8_t *buf, size_t len, size_t *pos,
		    uint8_t slave, struct bms_modbus_reply *rep)
{
	size_t i = *pos;

	for (; i < len; i++) {
		const uint8_t *p = buf + i;
		size_t avail = len - i, need;

		if (p[0] != slave)
			continue;
		if (avail < 2)
			break;
		if (p[1] == 0x03) {
			int count_ok;

			if (avail < 3)
				break;
			need = 3 + (size_t)p[2] + 2;
			count_ok = p[2] % 2 == 0 && p[2] > 0 &&
				   p[2] / 2 <= BMS_MODBUS_MAX_REGS;
			if (count_ok) {
				if (avail >= need && bms_modbus_crc_ok(p, need - 2)) {
					rep->slave = slave;
					rep->func = 0x03;
					rep->nregs = p[2] / 2;
					for (unsigned k = 0; k < rep->nregs; k++)
						rep->regs[k] = (uint16_t)(p[3 + 2 * k] << 8 |
									  p[4 + 2 * k]);
					rep->exception = 0;
					rep->len = need;
					*pos = i + need;
					return 1;
				}
			}
			/* A request echo: skip it whole. */
			if (avail >= 8 && bms_modbus_crc_ok(p, 6)) {
				i += 7;
				continue;
			}
			/* Wait for more bytes only if they could still make a
			 * reply (a valid byte count) or a request echo. */
			if ((count_ok && avail < need) || avail < 8)
				break;
			continue;
		}
		if (p[1] == 0x06 || p[1] == 0x10) {
			if (avail < 8)
				break;
			if (!bms_modbus_crc_ok(p, 6))
				continue;
			rep->slave = slave;
			rep->func = p[1];
			rep->nregs = 0;
			rep->exception = 0;
			rep->len = 8;
			*pos = i + 8;
			return 1;
		}
		if (p[1] & 0x80) {
			if (avail < 5)
				break;
			if (!bms_modbus_crc_ok(p, 3))
				continue;
			rep->slave = slave;
			rep->func = p[1];
			rep->nregs = 0;
			rep->exception = p[2];
			rep->len = 5;
			*pos = i + 5;
			return 1;
		}
	}
	*pos = i;
	return 0;
}

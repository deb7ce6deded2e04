/* SPDX-License-Identifier: MIT */
/*
 * Modbus-RTU framing (see modbus.h).
 */
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

static void put_crc(uint8_t *p, size_t n)
{
	uint16_t crc = bms_modbus_crc(p, n);

	p[n] = (uint8_t)(crc & 0xff);
	p[n + 1] = (uint8_t)(crc >> 8);
}

static int crc_ok(const uint8_t *p, size_t n)
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
	put_crc(out, 6);
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
				if (avail >= need && crc_ok(p, need - 2)) {
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
			if (avail >= 8 && crc_ok(p, 6)) {
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
			if (!crc_ok(p, 6))
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
			if (!crc_ok(p, 3))
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

/* SPDX-License-Identifier: MIT */
/*
 * Daly A5 and D2 codec (see daly.h and the protocol notes it follows).
 *
 * Invariants: a frame is only decoded after its checksum (A5) or CRC (D2)
 * has been checked; bytes a BMS marks as unused are never read (they hold
 * stale data of earlier answers); padding slots of the last 0x95 frame
 * are cut off with the cell count from 0x94.
 */
#include <string.h>

#include "daly.h"

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

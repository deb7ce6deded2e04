/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Modbus framing of both ends (lib/modbus.c: requests as
 * bms-sim finds them, replies as bms-read finds them) and the Daly D2 decoder
 * (bms_dalymb_decode in lib/daly.c) against the frames of the protocol
 * notes (daly.md §2.2, §2.5, §2.7 and §4.2).  Expected values are written
 * out by hand from the notes.
 */
#include <stdlib.h>

#include "daly.h"
#include "modbus.h"
#include "polltest.h"
#include "unit.h"

/* ==== Helpers ==== */


/* §4.2: the 62-register reply of the §4.1 pack (129 bytes). */
static const char REPLY42[] =
	"D2 03 7C 0D 0A 0D 0D 0D 08 0D 0F 0D 07 0D 0C 0D"
	"0E 0D 10 0D 09 0D 0D 0D 0B 0D 18 0D 05 0D 0C 0D"
	"0E 0D 0D 00 00 00 00 00 00 00 00 00 00 00 00 00"
	"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	"00 00 00 00 43 00 41 00 00 00 00 00 00 00 00 00"
	"00 00 00 02 16 75 AD 03 11 0D 18 0D 05 00 43 00"
	"41 00 01 08 96 00 10 00 02 00 2A 00 01 00 01 00"
	"01 0D 0C 00 13 02 9C 00 00 00 00 00 00 00 00 23"
	"18";

static const char REQ_LIVE[] = "D2 03 00 00 00 3E D7 B9";

/* The reading of §4.2: that of §4.1 with the power of register 0x39. */
static const char JSON42[] =
	"{\"type\":\"reading\",\"bms_id\":\"p1\","
	"\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"proto\":\"daly\","
	"\"pack_voltage\":53.4,\"pack_current\":12.5,\"pack_power\":668,"
	"\"soc_percent\":78.5,\"temperatures\":[27,25],"
	"\"cell_voltages\":[3.338,3.341,3.336,3.343,3.335,3.34,3.342,3.344,"
	"3.337,3.341,3.339,3.352,3.333,3.34,3.342,3.341],"
	"\"balancing_status\":{\"active\":true,\"cells_balancing\":[]},"
	"\"protection_status\":{\"overvoltage\":false,\"undervoltage\":false,"
	"\"overcurrent_charge\":false,\"overcurrent_discharge\":false,"
	"\"overtemperature\":false,\"undertemperature\":false},"
	"\"fault_codes\":[],\"warning_codes\":[],\"cycles\":42,"
	"\"remaining_capacity_ah\":219.8,\"charge_mos\":true,"
	"\"discharge_mos\":true,\"cell_count\":16,\"temp_count\":2}";

static const uint16_t CELLS_MV[16] = {
	3338, 3341, 3336, 3343, 3335, 3340, 3342, 3344,
	3337, 3341, 3339, 3352, 3333, 3340, 3342, 3341,
};

/* The registers of §4.2 (0x00..0x3D), written out from the notes. */
static void regs_42(uint16_t g[BMS_MODBUS_MAX_REGS])
{
	memset(g, 0, BMS_MODBUS_MAX_REGS * sizeof g[0]);
	memcpy(g, CELLS_MV, sizeof CELLS_MV);
	g[0x20] = 67;
	g[0x21] = 65;
	g[0x28] = 534;
	g[0x29] = 30125;
	g[0x2A] = 785;
	g[0x2B] = 3352;
	g[0x2C] = 3333;
	g[0x2D] = 67;
	g[0x2E] = 65;
	g[0x2F] = 1;
	g[0x30] = 2198;
	g[0x31] = 16;
	g[0x32] = 2;
	g[0x33] = 42;
	g[0x34] = 1;
	g[0x35] = 1;
	g[0x36] = 1;
	g[0x37] = 3340;
	g[0x38] = 19;
	g[0x39] = 668;
}


/* Append a read reply of n registers from slave to the last element. */
static void poll_reply(struct poll *pl, uint8_t slave, const uint16_t *g, int n)
{
	size_t e = pl->n - 1;

	if (pl->len[e] + 5 + 2 * (size_t)n > ELEM_CAP)
		abort();
	pl->len[e] += bms_modbus_read_reply(pl->buf[e] + pl->len[e], slave, g, n);
}

static char err[128];

static int decode(const struct poll *pl, bool invert, struct bms_reading *r)
{
	struct bms_daly_opts o = { .board = 1, .invert_current = invert };

	err[0] = '\0';
	return bms_dalymb_decode(pl->p, pl->len, pl->n, &o, r, err, sizeof err);
}


/* One poll: the live-data request echo and the given registers. */
static void poll_regs(struct poll *pl, const uint16_t *g, int n)
{
	poll_init(pl);
	poll_add(pl, REQ_LIVE);
	poll_reply(pl, BMS_DALYMB_ADDR, g, n);
}

/* ==== CRC and framing ==== */

/* §2.2: the eight known D2 frames, and the requests of the tables. */
static void test_crc(void)
{
	static const struct {
		const char *hex;
		uint16_t crc;
	} t[] = {
		{ "D2 03 00 0C 00 01 57 AA", 0xAA57 },
		{ "D2 03 02 00 01 FC 56", 0x56FC },
		{ "D2 06 00 0C 00 01 9B AA", 0xAA9B },
		{ "D2 10 00 0C 00 02 00 01 00 02 7D 65", 0x657D },
		{ "D2 10 00 0C 00 02 92 68", 0x6892 },
		{ "D2 03 00 80 00 29 96 5F", 0x5F96 },
		{ "D2 03 00 00 00 3E D7 B9", 0xB9D7 },
		{ "D2 03 00 A9 00 20 87 91", 0x9187 },
		/* other requests of §2.2 and §2.7 */
		{ "D2 03 00 00 00 50 56 55", 0x5556 },
		{ "D2 03 00 3E 00 09 F7 A3", 0xA3F7 },
		{ "D2 03 00 CF 00 01 A7 96", 0x96A7 },
		{ "D2 03 00 C9 00 03 C6 56", 0x56C6 },
		{ "D2 06 00 A5 00 01 4B 8A", 0x8A4B },
		{ "D2 06 00 A5 00 00 8A 4A", 0x4A8A },
		{ "D2 06 00 A6 00 01 BB 8A", 0x8ABB },
		{ "D2 06 00 A6 00 00 7A 4A", 0x4A7A },
		{ "81 03 00 00 00 40 5B FA", 0xFA5B },
		{ "81 03 00 41 00 3E 8B CE", 0xCE8B },
		{ "81 03 00 A4 00 0A 9B EE", 0xEE9B },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint8_t b[16];
		size_t n = hx(t[i].hex, b, sizeof b);

		CHECK_INT(bms_modbus_crc(b, n - 2), t[i].crc);
		/* The CRC over the whole frame, CRC included, is 0. */
		CHECK_INT(bms_modbus_crc(b, n), 0);
	}
	/* The check value of CRC-16/MODBUS. */
	CHECK_INT(bms_modbus_crc((const uint8_t *)"123456789", 9), 0x4B37);
	CHECK_INT(bms_modbus_crc(NULL, 0), 0xFFFF);
}

static void test_read_request(void)
{
	static const struct {
		uint8_t slave;
		uint16_t start, count;
		const char *hex;
	} t[] = {
		{ 0xD2, 0x0000, 62, "D2 03 00 00 00 3E D7 B9" },
		{ 0xD2, 0x0000, 80, "D2 03 00 00 00 50 56 55" },
		{ 0xD2, 0x000C, 1, "D2 03 00 0C 00 01 57 AA" },
		{ 0xD2, 0x0080, 41, "D2 03 00 80 00 29 96 5F" },
		{ 0xD2, 0x00A9, 32, "D2 03 00 A9 00 20 87 91" },
		{ 0x81, 0x0000, 64, "81 03 00 00 00 40 5B FA" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint8_t got[8], want[8];

		hx(t[i].hex, want, sizeof want);
		bms_modbus_read_request(got, t[i].slave, t[i].start, t[i].count);
		CHECK_MEM(got, want, 8);
	}
}

/* §4.2: the reply, register by register. */
static void test_reply_42(void)
{
	uint8_t b[256], built[256];
	uint16_t g[BMS_MODBUS_MAX_REGS];
	struct bms_modbus_reply rep;
	size_t n, pos = 0;

	n = hx(REPLY42, b, sizeof b);
	CHECK_INT(n, 129);
	CHECK_INT(bms_modbus_crc(b, 127), 0x1823);
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(pos, 129);
	CHECK_INT(rep.len, 129);
	CHECK_INT(rep.slave, 0xD2);
	CHECK_INT(rep.func, 0x03);
	CHECK_INT(rep.nregs, 62);
	regs_42(g);
	for (int i = 0; i < 62; i++)
		CHECK_INT(rep.regs[i], g[i]);
	CHECK_INT(rep.regs[0x29], 0x75AD);
	CHECK_INT(rep.regs[0x39], 668);

	/* The reply builder makes the same bytes. */
	CHECK_INT(bms_modbus_read_reply(built, 0xD2, g, 62), 129);
	CHECK_MEM(built, b, 129);

	/* Other slaves do not match. */
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0x51, &rep), 0);
	CHECK_INT(pos, n);
}

/* §2.2: the small replies, echoes and exceptions. */
static void test_next(void)
{
	uint8_t b[600];
	struct bms_modbus_reply rep;
	size_t n, pos;

	n = hx("D2 03 02 00 01 FC 56", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.func, 0x03);
	CHECK_INT(rep.nregs, 1);
	CHECK_INT(rep.regs[0], 1);
	CHECK_INT(rep.len, 7);

	/* A write echo (06) and a write-multiple reply (10). */
	n = hx("D2 06 00 A5 00 01 4B 8A D2 10 00 0C 00 02 92 68", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.func, 0x06);
	CHECK_INT(rep.len, 8);
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.func, 0x10);
	CHECK_INT(pos, 16);
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 0);
	CHECK_INT(pos, 16);

	/* An exception: D2 83 02 + CRC. */
	b[0] = 0xD2;
	b[1] = 0x83;
	b[2] = 0x02;
	b[3] = (uint8_t)bms_modbus_crc(b, 3);
	b[4] = (uint8_t)(bms_modbus_crc(b, 3) >> 8);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, 5, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.func, 0x83);
	CHECK_INT(rep.exception, 2);
	CHECK_INT(rep.len, 5);

	/* A request echo is skipped whole; the reply behind it is found. */
	n = hx(REQ_LIVE, b, sizeof b);
	n += hx(REPLY42, b + n, sizeof b - n);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.nregs, 62);
	CHECK_INT(pos, 8 + 129);

	/* A reply still arriving: 0, pos at its start. */
	n = hx("00 00", b, sizeof b);
	n += hx(REPLY42, b + n, sizeof b - n) - 20;
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 0);
	CHECK_INT(pos, 2);

	/* An odd byte count cannot start a reply: the scan does not wait
	 * for 260 bytes behind it but finds the write echo. */
	n = hx("D2 03 FF 11 22 33 44 55 D2 06 00 A5 00 01 4B 8A", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
	CHECK_INT(rep.func, 0x06);
	CHECK_INT(pos, n);

	/* A bad CRC: not a frame. */
	n = hx("D2 03 02 00 01 FC 57", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 0);

	/* The largest reply, 125 registers. */
	{
		uint16_t g[BMS_MODBUS_MAX_REGS];

		for (int i = 0; i < BMS_MODBUS_MAX_REGS; i++)
			g[i] = (uint16_t)(i * 257);
		n = bms_modbus_read_reply(b, 0xD2, g, BMS_MODBUS_MAX_REGS);
		CHECK_INT(n, 255);
		pos = 0;
		CHECK_INT(bms_modbus_next(b, n, &pos, 0xD2, &rep), 1);
		CHECK_INT(rep.nregs, 125);
		CHECK_INT(rep.regs[124], 124 * 257);
	}
}

/* The CRC written into a frame and checked there. */
static void test_crc_put_check(void)
{
	uint8_t b[16];
	size_t n = hx("D2 03 00 00 00 3E", b, sizeof b);

	CHECK_INT(bms_modbus_put_crc(b, n), 8);
	CHECK_MEM(b + 6, "\xD7\xB9", 2);
	CHECK_INT(bms_modbus_crc_ok(b, 6), 1);
	b[7] ^= 0x01;
	CHECK_INT(bms_modbus_crc_ok(b, 6), 0);
	b[7] ^= 0x01;
	b[0] = 0xD3;
	CHECK_INT(bms_modbus_crc_ok(b, 6), 0);
	/* An empty frame's CRC is FFFF. */
	CHECK_INT(bms_modbus_put_crc(b, 0), 2);
	CHECK_MEM(b, "\xFF\xFF", 2);
	CHECK_INT(bms_modbus_crc_ok(b, 0), 1);
}

/* §2.2: the requests a D2 board takes, as bms-sim finds them. */
static void test_next_request(void)
{
	uint8_t b[600];
	size_t n, pos, len;

	/* Each kind alone: read, write one, write several (no byte count). */
	static const char *const one[] = {
		"D2 03 00 00 00 3E D7 B9",
		"D2 06 00 A5 00 01 4B 8A",
		"D2 10 00 0C 00 02 00 01 00 02 7D 65",
	};
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		n = hx(one[i], b, sizeof b);
		pos = 0;
		len = 0;
		CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 1);
		CHECK_INT(len, n);
		CHECK_INT(pos, n);
		/* Every shorter prefix is still arriving: 0, pos at its start. */
		for (size_t k = 0; k < n; k++) {
			pos = 0;
			CHECK_INT(bms_modbus_next_request(b, k, &pos, 0xD2, &len), 0);
			CHECK_INT(pos, 0);
		}
		/* Another slave's request is not ours. */
		pos = 0;
		CHECK_INT(bms_modbus_next_request(b, n, &pos, 0x81, &len), 0);
		CHECK_INT(pos, n);
	}

	/* Garbage, a bad CRC and a reply before two requests back to back. */
	n = hx("00 FF D2 03 00 00 00 3E D7 B8 "
	       "D2 03 02 00 01 FC 56 "
	       "D2 03 00 0C 00 01 57 AA D2 06 00 A6 00 00 7A 4A", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 1);
	CHECK_INT(len, 8);
	CHECK_INT(pos, 25);
	CHECK_MEM(b + pos - len, "\xD2\x03\x00\x0C", 4);
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 1);
	CHECK_INT(pos, 33);
	CHECK_MEM(b + pos - len, "\xD2\x06\x00\xA6", 4);
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 0);
	CHECK_INT(pos, 33);

	/* A write of 0 or of more than 123 registers is no request. */
	n = hx("D2 10 00 0C 00 00 D2 10 00 0C 00 7C", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 0);
	CHECK_INT(pos, n);
	/* 123 registers: 254 bytes. */
	memset(b, 0, sizeof b);
	hx("D2 10 00 00 00 7B", b, sizeof b);
	n = bms_modbus_put_crc(b, 6 + 2 * BMS_MODBUS_MAX_WRITE);
	CHECK_INT(n, 254);
	pos = 0;
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 1);
	CHECK_INT(len, 254);
	/* A function D2 boards do not take (0x04) is skipped. */
	n = hx("D2 04 00 00 00 01", b, sizeof b);
	n = bms_modbus_put_crc(b, n);
	pos = 0;
	CHECK_INT(bms_modbus_next_request(b, n, &pos, 0xD2, &len), 0);
	CHECK_INT(pos, n);
}

/* ==== The D2 decoder ==== */

static void test_decode_42(void)
{
	struct poll pl;
	struct bms_reading r;

	poll_init(&pl);
	poll_add(&pl, REPLY42);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_STR(err, "");
	CHECK_NUM(r.pack_voltage, 53.4, 6);
	CHECK_NUM(r.pack_current, 12.5, 6);
	CHECK_NUM(r.pack_power, 668, 6);
	CHECK_NUM(r.soc_percent, 78.5, 6);
	CHECK_INT(r.ncells, 16);
	for (int i = 0; i < 16; i++)
		CHECK_NUM(r.cells[i], CELLS_MV[i] / 1000.0, 6);
	CHECK_INT(r.ntemps, 2);
	CHECK_NUM(r.temps[0], 27, 6);
	CHECK_NUM(r.temps[1], 25, 6);
	CHECK_INT(r.cycles, 42);
	CHECK_NUM(r.remaining_capacity_ah, 219.8, 6);
	CHECK(r.charge_mos && r.discharge_mos);
	CHECK(r.balancing_active);
	CHECK_INT(r.balancing_mask, 0);
	CHECK_INT(r.nfaults + r.nwarnings, 0);
	CHECK_STR(json(&r), JSON42);

	/* With the request echo in front and stray bytes around. */
	poll_init(&pl);
	poll_add(&pl, "00 D2 ");
	poll_cat(&pl, REQ_LIVE);
	poll_cat(&pl, "D2 03");
	poll_cat(&pl, REPLY42);
	poll_cat(&pl, "D2 03 7C 0D");
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_STR(json(&r), JSON42);

	/* Among the other reads of the app's status tab (0x00A9 x 32) and
	 * a write echo, in separate exchanges. */
	{
		uint16_t v[32] = { 0 };

		poll_init(&pl);
		poll_add(&pl, "D2 06 00 A5 00 01 4B 8A");
		poll_add(&pl, REQ_LIVE);
		poll_cat(&pl, REPLY42);
		poll_add(&pl, "D2 03 00 A9 00 20 87 91");
		poll_reply(&pl, 0xD2, v, 32);
		CHECK_INT(decode(&pl, false, &r), 0);
		CHECK_STR(json(&r), JSON42);
	}
}

static void test_decode_missing(void)
{
	struct poll pl;
	struct bms_reading r;

	/* Nothing, an echo only, a corrupted CRC, a short read. */
	poll_init(&pl);
	CHECK_INT(decode(&pl, false, &r), -1);
	CHECK_STR(err, "no reply to the live-data read");
	poll_add(&pl, REQ_LIVE);
	CHECK_INT(decode(&pl, false, &r), -1);
	CHECK_STR(err, "no reply to the live-data read");
	poll_cat(&pl, REPLY42);
	pl.buf[0][8 + 60] ^= 0x01;
	CHECK_INT(decode(&pl, false, &r), -1);
	CHECK_STR(err, "no reply to the live-data read");
	CHECK_INT(r.have, 0);
	{
		uint16_t g[BMS_MODBUS_MAX_REGS];

		regs_42(g);
		poll_regs(&pl, g, 61);
		CHECK_INT(decode(&pl, false, &r), -1);
		CHECK_STR(err, "no reply to the live-data read");
		/* Another slave's reply (P81 answers as 0x51). */
		poll_init(&pl);
		poll_add(&pl, "");
		poll_reply(&pl, 0x51, g, 62);
		CHECK_INT(decode(&pl, false, &r), -1);
		CHECK_STR(err, "no reply to the live-data read");
	}

	/* A retry: the later reply wins. */
	{
		uint16_t g[BMS_MODBUS_MAX_REGS];

		regs_42(g);
		g[0x2A] = 786;
		poll_init(&pl);
		poll_add(&pl, REPLY42);
		poll_add(&pl, "");
		poll_reply(&pl, 0xD2, g, 62);
		CHECK_INT(decode(&pl, false, &r), 0);
		CHECK_NUM(r.soc_percent, 78.6, 6);
	}
}

/* §2.3: the sign from register 0x2F, else raw below 30000 = discharge. */
static void test_current_sign(void)
{
	static const struct {
		uint16_t raw, state, watts;
		bool invert;
		double amps, power;
	} t[] = {
		{ 30125, 1, 668, false, 12.5, 668 },
		{ 30125, 1, 668, true, 12.5, 668 },
		{ 29875, 1, 668, false, 12.5, 668 },
		{ 30125, 2, 668, false, -12.5, -668 },
		{ 29875, 2, 668, true, -12.5, -668 },
		{ 30125, 0, 668, false, 12.5, 668 },
		{ 30125, 0, 668, true, -12.5, -668 },
		{ 29875, 0, 668, false, -12.5, -668 },
		{ 29875, 0, 668, true, 12.5, 668 },
		/* the syssi "blue series" capture: 0x7517, state 2, 131 W */
		{ 0x7517, 2, 131, false, -2.5, -131 },
		{ 30000, 0, 0, false, 0, 0 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint16_t g[BMS_MODBUS_MAX_REGS];
		struct poll pl;
		struct bms_reading r;

		regs_42(g);
		g[0x29] = t[i].raw;
		g[0x2F] = t[i].state;
		g[0x39] = t[i].watts;
		poll_regs(&pl, g, 62);
		CHECK_INT(decode(&pl, t[i].invert, &r), 0);
		CHECK_NUM(r.pack_current, t[i].amps, 6);
		CHECK_NUM(r.pack_power, t[i].power, 6);
	}
}

/* §2.5: registers 0x3A..0x3D are the 0x98 map, low byte first. */
static void test_faults(void)
{
	static const struct {
		uint16_t r3a, r3b, r3c, r3d;
		const char *codes;
	} t[] = {
		/* rabdo-alter-ego: 0x3B = 0x0080 with "SOC too low" */
		{ 0, 0x0080, 0, 0,
		  "\"fault_codes\":[\"soc_low\"],\"warning_codes\":[]" },
		{ 0x0201, 0, 0, 0,
		  "\"fault_codes\":[\"charge_temp_high\"],"
		  "\"warning_codes\":[\"cell_voltage_high\"]" },
		{ 0, 0x0100, 0x0140, 0,
		  "\"fault_codes\":[\"charge_mos_open\",\"afe_error\"],"
		  "\"warning_codes\":[\"cell_voltage_diff\"]" },
		/* 0x3D low byte = byte 6; its high byte (reserved) is ignored,
		 * and so are bits 4-7 of the low byte */
		{ 0, 0, 0, 0xFF34,
		  "\"fault_codes\":[\"short_circuit\"],\"warning_codes\":[]" },
		{ 0, 0, 0, 0x0008,
		  "\"fault_codes\":[\"low_voltage_no_charge\"],\"warning_codes\":[]" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint16_t g[BMS_MODBUS_MAX_REGS];
		struct poll pl;
		struct bms_reading r;

		regs_42(g);
		g[0x3A] = t[i].r3a;
		g[0x3B] = t[i].r3b;
		g[0x3C] = t[i].r3c;
		g[0x3D] = t[i].r3d;
		poll_regs(&pl, g, 62);
		CHECK_INT(decode(&pl, false, &r), 0);
		CHECK(strstr(json(&r), t[i].codes) != NULL);
		if (!strstr(json(&r), t[i].codes))
			fprintf(stderr, "  %s\n", json(&r));
		if (i == 1)
			CHECK(r.prot.overtemperature && !r.prot.overvoltage);
		if (i == 3)
			CHECK(r.prot.overcurrent_discharge);
	}
}

/* The 80-register read: 0x3E/0x3F are the per-cell balancing map. */
static void test_balance_map(void)
{
	uint16_t g[BMS_MODBUS_MAX_REGS];
	struct poll pl;
	struct bms_reading r;

	regs_42(g);
	g[0x3E] = 0x0800;	/* cell 12 */
	g[0x3F] = 0x0001;	/* cell 17: beyond the 16 cells */
	poll_regs(&pl, g, 80);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_INT(r.balancing_mask, UINT64_C(1) << 11);
	CHECK(strstr(json(&r), "\"balancing_status\":{\"active\":true,"
		      "\"cells_balancing\":[12]}") != NULL);

	/* 64 registers are enough; 63 are not. */
	poll_regs(&pl, g, 64);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_INT(r.balancing_mask, UINT64_C(1) << 11);
	poll_regs(&pl, g, 63);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_INT(r.balancing_mask, 0);

	/* 32 cells: 0x3F bit 15 is cell 32. */
	for (int i = 16; i < 32; i++)
		g[i] = 3300;
	g[0x31] = 32;
	g[0x3E] = 0x0001;
	g[0x3F] = 0x8000;
	g[0x34] = 0;
	poll_regs(&pl, g, 80);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_INT(r.ncells, 32);
	CHECK_INT(r.balancing_mask, UINT64_C(1) | UINT64_C(1) << 31);
	CHECK(r.balancing_active);

	/* Balancing off and no map. */
	regs_42(g);
	g[0x34] = 0;
	poll_regs(&pl, g, 62);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK(strstr(json(&r), "\"balancing_status\":{\"active\":false,"
		      "\"cells_balancing\":[]}") != NULL);
}

/* Counts come from 0x31/0x32; unused slots are never read. */
static void test_counts(void)
{
	uint16_t g[BMS_MODBUS_MAX_REGS];
	struct poll pl;
	struct bms_reading r;

	regs_42(g);
	g[0x10] = 0xFFFF;	/* cell 17 slot */
	g[0x22] = 0x00FF;	/* temperature 3 slot, "unused" marker */
	poll_regs(&pl, g, 62);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK_STR(json(&r), JSON42);

	regs_42(g);
	g[0x31] = 0;
	g[0x32] = 0;
	poll_regs(&pl, g, 62);
	CHECK_INT(decode(&pl, false, &r), 0);
	CHECK(!(r.have & (BMS_R_CELLS | BMS_R_TEMPS)));
	CHECK(strstr(json(&r), "\"cell_voltages\"") == NULL);
	CHECK(strstr(json(&r), "\"temperatures\"") == NULL);
	CHECK(strstr(json(&r), "_count") == NULL);
}

/* Values no pack can have reject the poll. */
static void test_impossible_values(void)
{
	static const struct {
		uint8_t reg;
		uint16_t v;
		const char *err;
	} t[] = {
		{ 0x2A, 1502, "soc 150.2% out of range" },
		{ 0x28, 2501, "pack voltage 250.1 V out of range" },
		{ 0x29, 0, "current 3000.0 A out of range" },
		{ 0x31, 33, "cell count 33 out of range" },
		{ 0x32, 9, "temperature count 9 out of range" },
		{ 0x2F, 3, "charge state 3 out of range" },
		{ 0x05, 5001, "cell 6 voltage 5.001 V out of range" },
		{ 0x21, 191, "temperature 2 at 151 degC out of range" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint16_t g[BMS_MODBUS_MAX_REGS];
		struct poll pl;
		struct bms_reading r;

		regs_42(g);
		g[t[i].reg] = t[i].v;
		poll_regs(&pl, g, 62);
		CHECK_INT(decode(&pl, false, &r), -1);
		CHECK_STR(err, t[i].err);
		CHECK_INT(r.have, 0);
	}
}

int main(void)
{
	test_crc();
	test_read_request();
	test_reply_42();
	test_next();
	test_crc_put_check();
	test_next_request();
	test_decode_42();
	test_decode_missing();
	test_current_sign();
	test_faults();
	test_balance_map();
	test_counts();
	test_impossible_values();
	return unit_done();
}

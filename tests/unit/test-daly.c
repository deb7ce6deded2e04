/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Daly A5 codec (lib/daly.c) against the worked frames
 * and captures of the protocol notes (daly.md §1.4, §1.5, §1.9, §1.10,
 * §1.13 and §4.1).  Every expected value here is written out by hand from
 * the notes, never computed by the code under test.
 */
#include <stdlib.h>

#include "daly.h"
#include "polltest.h"
#include "unit.h"

/* ==== Helpers ==== */


/* Make element e the current one, keeping its bytes. */
static void poll_at(struct poll *pl, size_t e)
{
	pl->cur = e;
}

/* Append an encoded frame from addr to the current element. */
static void poll_frame(struct poll *pl, uint8_t addr, uint8_t id,
		       const uint8_t data[8])
{
	uint8_t f[BMS_DALY_LEN];

	bms_daly_encode(f, addr, id, data);
	poll_raw(pl, f, sizeof f);
}

/* §4.1: the reply frames of the 16S pack. */
static const char F90[] = "A5 01 90 08 02 16 00 00 74 B3 03 11 91";
static const char F91[] = "A5 01 91 08 0D 18 0C 0D 05 0D 00 00 8F";
static const char F92[] = "A5 01 92 08 43 01 41 02 00 00 00 00 C7";
static const char F93[] = "A5 01 93 08 01 01 01 5A 00 03 5A 98 93";
static const char F94[] = "A5 01 94 08 10 02 01 00 02 00 2A 00 81";
static const char *const F95[6] = {
	"A5 01 95 08 01 0D 0A 0D 0D 0D 08 00 8A",
	"A5 01 95 08 02 0D 0F 0D 07 0D 0C 00 8E",
	"A5 01 95 08 03 0D 0E 0D 10 0D 09 00 94",
	"A5 01 95 08 04 0D 0D 0D 0B 0D 18 00 9E",
	"A5 01 95 08 05 0D 05 0D 0C 0D 0E 00 8E",
	"A5 01 95 08 06 0D 0D 00 00 00 00 00 63",
};
static const char F96[] = "A5 01 96 08 01 43 41 00 00 00 00 00 C9";
static const char F97[] = "A5 01 97 08 00 08 00 00 00 00 00 00 4D";
static const char F98[] = "A5 01 98 08 00 00 00 00 00 00 00 00 46";
static const char F50[] = "A5 01 50 08 00 04 45 C0 00 00 0C 80 93";
/* §1.7: the second, all-zero 0x96 frame real units add. */
static const char F96_2[] = "A5 01 96 08 02 00 00 00 00 00 00 00 46";

/* Host 0x40 requests of the same poll (§1.5). */
static const char R94[] = "A5 40 94 08 00 00 00 00 00 00 00 00 81";

static const double CELLS[16] = {
	3.338, 3.341, 3.336, 3.343, 3.335, 3.340, 3.342, 3.344,
	3.337, 3.341, 3.339, 3.352, 3.333, 3.340, 3.342, 3.341,
};

/* The reading of §4.1, written out by hand. */
static const char JSON41[] =
	"{\"type\":\"reading\",\"bms_id\":\"p1\","
	"\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"proto\":\"daly\","
	"\"pack_voltage\":53.4,\"pack_current\":12.5,\"pack_power\":667.5,"
	"\"soc_percent\":78.5,\"temperatures\":[27,25],"
	"\"cell_voltages\":[3.338,3.341,3.336,3.343,3.335,3.34,3.342,3.344,"
	"3.337,3.341,3.339,3.352,3.333,3.34,3.342,3.341],"
	"\"balancing_status\":{\"active\":true,\"cells_balancing\":[12]},"
	"\"protection_status\":{\"overvoltage\":false,\"undervoltage\":false,"
	"\"overcurrent_charge\":false,\"overcurrent_discharge\":false,"
	"\"overtemperature\":false,\"undertemperature\":false},"
	"\"fault_codes\":[],\"warning_codes\":[],\"cycles\":42,"
	"\"remaining_capacity_ah\":219.8,\"charge_mos\":true,"
	"\"discharge_mos\":true,\"cell_count\":16,\"temp_count\":2}";

/* The full §4.1 poll: one element per request, the 0x95 burst in one.
 * Elements: 0 0x94, 1 0x90, 2 0x91, 3 0x92, 4 0x93, 5 0x95, 6 0x96,
 * 7 0x97, 8 0x98. */
static void poll_41(struct poll *pl)
{
	poll_init(pl);
	poll_add(pl, F94);
	poll_add(pl, F90);
	poll_add(pl, F91);
	poll_add(pl, F92);
	poll_add(pl, F93);
	poll_add(pl, F95[0]);
	for (int i = 1; i < 6; i++)
		poll_cat(pl, F95[i]);
	poll_add(pl, F96);
	poll_add(pl, F97);
	poll_add(pl, F98);
}

static char err[128];

static int decode(const struct poll *pl, int board, bool invert,
		  struct bms_reading *r)
{
	struct bms_daly_opts o = { .board = board, .invert_current = invert };

	err[0] = '\0';
	return bms_daly_decode(pl->p, pl->len, pl->n, &o, r, err, sizeof err);
}


/* Decode pl on board 1 and compare the JSON to want. */
static void check_json(const struct poll *pl, const char *want, int line)
{
	struct bms_reading r;
	int rc = decode(pl, 1, false, &r);

	unit_check_int(rc, 0, __FILE__, line, "decode");
	if (rc == 0)
		unit_check_str(json(&r), want, __FILE__, line, "json");
	else
		fprintf(stderr, "  error: %s\n", err);
}

/* Decode pl on board 1 and expect the error want. */
static void check_err(const struct poll *pl, const char *want, int line)
{
	struct bms_reading r;
	int rc = decode(pl, 1, false, &r);

	unit_check_int(rc, -1, __FILE__, line, "decode");
	unit_check_str(err, want, __FILE__, line, "error");
	unit_check_int(r.have, 0, __FILE__, line, "r.have after error");
}

/* ==== Framing ==== */

/* §1.5: every read request, both host addresses. */
static void test_request_checksums(void)
{
	static const struct {
		uint8_t id, cs40, cs80;
	} t[] = {
		{ 0x90, 0x7D, 0xBD }, { 0x91, 0x7E, 0xBE }, { 0x92, 0x7F, 0xBF },
		{ 0x93, 0x80, 0xC0 }, { 0x94, 0x81, 0xC1 }, { 0x95, 0x82, 0xC2 },
		{ 0x96, 0x83, 0xC3 }, { 0x97, 0x84, 0xC4 }, { 0x98, 0x85, 0xC5 },
		{ 0x50, 0x3D, 0x7D }, { 0x51, 0x3E, 0x7E }, { 0x52, 0x3F, 0x7F },
		{ 0x53, 0x40, 0x80 }, { 0x54, 0x41, 0x81 }, { 0x57, 0x44, 0x84 },
		{ 0x59, 0x46, 0x86 }, { 0x5A, 0x47, 0x87 }, { 0x5B, 0x48, 0x88 },
		{ 0x5C, 0x49, 0x89 }, { 0x5D, 0x4A, 0x8A }, { 0x5E, 0x4B, 0x8B },
		{ 0x5F, 0x4C, 0x8C }, { 0x60, 0x4D, 0x8D }, { 0x61, 0x4E, 0x8E },
		{ 0x62, 0x4F, 0x8F }, { 0x63, 0x50, 0x90 }, { 0xD8, 0xC5, 0x05 },
	};
	uint8_t f[BMS_DALY_LEN], want[BMS_DALY_LEN];

	CHECK_INT(sizeof t / sizeof t[0], 27);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		bms_daly_encode(f, BMS_DALY_HOST_PC, t[i].id, NULL);
		CHECK_INT(f[12], t[i].cs40);
		CHECK_INT(bms_daly_checksum(f), t[i].cs40);
		bms_daly_encode(f, BMS_DALY_HOST_BT, t[i].id, NULL);
		CHECK_INT(f[12], t[i].cs80);
	}

	/* The two full examples of §1.5. */
	bms_daly_encode(f, 0x40, 0x90, NULL);
	hx("A5 40 90 08 00 00 00 00 00 00 00 00 7D", want, sizeof want);
	CHECK_MEM(f, want, BMS_DALY_LEN);
	bms_daly_encode(f, 0x80, 0x90, NULL);
	hx("A5 80 90 08 00 00 00 00 00 00 00 00 BD", want, sizeof want);
	CHECK_MEM(f, want, BMS_DALY_LEN);

	/* serialbattery's 0xAA fill: checksum 0xD1. */
	{
		static const uint8_t aa[8] = { 0xAA, 0xAA, 0xAA, 0xAA,
					       0xAA, 0xAA, 0xAA, 0xAA };

		bms_daly_encode(f, 0x40, 0x94, aa);
		CHECK_INT(f[12], 0xD1);
	}

	/* §1.11 write requests and §4.1's 0x21 request. */
	{
		static const struct {
			uint8_t id;
			const char *payload, *frame;
		} w[] = {
			{ 0xD9, "00 00 00 00 00 00 00 00",
			  "A5 40 D9 08 00 00 00 00 00 00 00 00 C6" },
			{ 0xD9, "01 00 00 00 00 00 00 00",
			  "A5 40 D9 08 01 00 00 00 00 00 00 00 C7" },
			{ 0xDA, "00 00 00 00 00 00 00 00",
			  "A5 40 DA 08 00 00 00 00 00 00 00 00 C7" },
			{ 0xDA, "01 00 00 00 00 00 00 00",
			  "A5 40 DA 08 01 00 00 00 00 00 00 00 C8" },
			{ 0x00, "00 00 00 00 00 00 00 00",
			  "A5 40 00 08 00 00 00 00 00 00 00 00 ED" },
			{ 0x21, "16 0C 0D 15 1D 27 01 2C",
			  "A5 40 21 08 16 0C 0D 15 1D 27 01 2C C3" },
			{ 0x21, "18 06 0F 0C 1E 2D 03 11",
			  "A5 40 21 08 18 06 0F 0C 1E 2D 03 11 A6" },
		};

		for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
			uint8_t d[8];

			hx(w[i].payload, d, sizeof d);
			hx(w[i].frame, want, sizeof want);
			bms_daly_encode(f, 0x40, w[i].id, d);
			CHECK_MEM(f, want, BMS_DALY_LEN);
		}
	}

	/* §1.4: board N is addressed as 0x40 + N - 1. */
	CHECK_INT(bms_daly_host_addr(BMS_DALY_HOST_PC, 1), 0x40);
	CHECK_INT(bms_daly_host_addr(BMS_DALY_HOST_PC, 2), 0x41);
	CHECK_INT(bms_daly_host_addr(BMS_DALY_HOST_PC, 16), 0x4F);
	CHECK_INT(bms_daly_host_addr(BMS_DALY_HOST_BT, 1), 0x80);
	bms_daly_encode(f, bms_daly_host_addr(BMS_DALY_HOST_PC, 2), 0x90, NULL);
	hx("A5 41 90 08 00 00 00 00 00 00 00 00 7E", want, sizeof want);
	CHECK_MEM(f, want, BMS_DALY_LEN);
}

/* §4.1: the 14 reply frames (plus 0x50) frame and checksum as listed. */
static void test_reply_frames(void)
{
	static const struct {
		const char *hex;
		uint8_t id;
		unsigned sum;
	} t[] = {
		{ F90, 0x90, 657 }, { F91, 0x91, 399 }, { F92, 0x92, 455 },
		{ F93, 0x93, 659 }, { F94, 0x94, 385 },
		{ NULL, 0x95, 394 }, { NULL, 0x95, 398 }, { NULL, 0x95, 404 },
		{ NULL, 0x95, 414 }, { NULL, 0x95, 398 }, { NULL, 0x95, 355 },
		{ F96, 0x96, 457 }, { F97, 0x97, 333 }, { F98, 0x98, 326 },
		{ F50, 0x50, 0x293 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *hex = t[i].hex ? t[i].hex : F95[i - 5];
		uint8_t b[BMS_DALY_LEN], copy[BMS_DALY_LEN];
		struct bms_daly_frame f;
		unsigned sum = 0;
		size_t pos = 0;

		CHECK_INT(hx(hex, b, sizeof b), BMS_DALY_LEN);
		for (int k = 0; k < 12; k++)
			sum += b[k];
		CHECK_INT(sum, t[i].sum);
		CHECK_INT(bms_daly_checksum(b), t[i].sum & 0xff);
		CHECK_INT(b[12], t[i].sum & 0xff);
		CHECK_INT(bms_daly_next(b, sizeof b, &pos, &f), 1);
		CHECK_INT(pos, BMS_DALY_LEN);
		CHECK_INT(f.addr, 1);
		CHECK_INT(f.id, t[i].id);
		CHECK_MEM(f.data, b + 4, 8);
		CHECK(!bms_daly_is_request(&f));
		bms_daly_encode(copy, 1, t[i].id, b + 4);
		CHECK_MEM(copy, b, BMS_DALY_LEN);
		if (t[i].id == 0x95)
			CHECK_INT(f.data[0], i - 4);	/* frames 1..6 */
	}

	/* §1.3's real reply (maland16): sum 781, checksum 0x0D. */
	{
		uint8_t b[BMS_DALY_LEN];

		hx("A5 01 90 08 02 3A 00 00 75 30 01 ED 0D", b, sizeof b);
		CHECK_INT(bms_daly_checksum(b), 0x0D);
	}
}

/* bms_daly_next over partial and garbled input. */
static void test_next(void)
{
	uint8_t b[64];
	struct bms_daly_frame f;
	size_t n, pos;

	/* A frame still arriving: 0, pos at its start flag. */
	n = hx("00 11 A5 01 90 08 02 16", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 0);
	CHECK_INT(pos, 2);

	/* A head that cannot be a frame (length byte not 08) is skipped. */
	n = hx("00 A5 01 90 07 02 16", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 0);
	CHECK_INT(pos, n);

	/* §1.13 Q5: a frame cut to 9 bytes and the next one right behind. */
	hx(F95[2], b, sizeof b);
	n = 9;
	n += hx(F95[3], b + n, sizeof b - n);
	pos = 0;
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 1);
	CHECK_INT(pos, 22);
	CHECK_INT(f.id, 0x95);
	CHECK_INT(f.data[0], 4);
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 0);
	CHECK_INT(pos, n);

	/* A bad checksum: not a frame. */
	n = hx("A5 01 90 08 02 16 00 00 74 B3 03 11 92", b, sizeof b);
	pos = 0;
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 0);

	/* An echo is a frame, and a request. */
	n = hx(R94, b, sizeof b);
	pos = 0;
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 1);
	CHECK(bms_daly_is_request(&f));
	CHECK_INT(f.addr, 0x40);

	/* Expected frame counts. */
	CHECK_INT(bms_daly_frames_expected(0x95, 16, 2), 6);
	CHECK_INT(bms_daly_frames_expected(0x95, 14, 2), 5);
	CHECK_INT(bms_daly_frames_expected(0x95, 12, 2), 4);
	CHECK_INT(bms_daly_frames_expected(0x95, 48, 2), 16);
	CHECK_INT(bms_daly_frames_expected(0x96, 16, 2), 1);
	CHECK_INT(bms_daly_frames_expected(0x96, 16, 16), 3);
	CHECK_INT(bms_daly_frames_expected(0x63, 16, 2), 2);
	CHECK_INT(bms_daly_frames_expected(0x90, 16, 2), 1);
}

/* ==== The §4.1 poll ==== */

static void test_poll_41(void)
{
	struct poll pl;
	struct bms_reading r;

	poll_41(&pl);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_STR(err, "");
	CHECK_NUM(r.pack_voltage, 53.4, 6);
	CHECK_NUM(r.pack_current, 12.5, 6);
	CHECK_NUM(r.pack_power, 667.5, 6);
	CHECK_NUM(r.soc_percent, 78.5, 6);
	CHECK_INT(r.ncells, 16);
	for (int i = 0; i < 16; i++)
		CHECK_NUM(r.cells[i], CELLS[i], 6);
	/* 0x91: highest 3.352 V cell 12, lowest 3.333 V cell 13; the cell
	 * array carries them. */
	CHECK_NUM(r.cells[11], 3.352, 6);
	CHECK_NUM(r.cells[12], 3.333, 6);
	/* 0x92: 27 degC sensor 1, 25 degC sensor 2. */
	CHECK_INT(r.ntemps, 2);
	CHECK_NUM(r.temps[0], 27, 6);
	CHECK_NUM(r.temps[1], 25, 6);
	CHECK_INT(r.cycles, 42);
	CHECK_NUM(r.remaining_capacity_ah, 219.8, 6);
	CHECK(r.charge_mos);
	CHECK(r.discharge_mos);
	CHECK(r.balancing_active);
	CHECK_INT(r.balancing_mask, UINT64_C(1) << 11);
	CHECK_INT(r.nfaults, 0);
	CHECK_INT(r.nwarnings, 0);
	CHECK(!r.prot.overvoltage && !r.prot.undervoltage &&
	      !r.prot.overcurrent_charge && !r.prot.overcurrent_discharge &&
	      !r.prot.overtemperature && !r.prot.undertemperature);
	CHECK_INT(r.have, BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER |
		  BMS_R_SOC | BMS_R_TEMPS | BMS_R_CELLS | BMS_R_BALANCE |
		  BMS_R_PROTECT | BMS_R_CODES | BMS_R_CYCLES | BMS_R_REMAIN |
		  BMS_R_MOS);
	CHECK_STR(json(&r), JSON41);

	/* The 0x91/0x92 extremes as the notes decode them. */
	{
		uint8_t b[BMS_DALY_LEN];

		hx(F91, b, sizeof b);
		CHECK_INT(b[4] << 8 | b[5], 3352);
		CHECK_INT(b[6], 12);
		CHECK_INT(b[7] << 8 | b[8], 3333);
		CHECK_INT(b[9], 13);
		hx(F92, b, sizeof b);
		CHECK_INT(b[4] - 40, 27);
		CHECK_INT(b[5], 1);
		CHECK_INT(b[6] - 40, 25);
		CHECK_INT(b[7], 2);
	}

	/* The optional 0x50 reply: 280 Ah. */
	poll_add(&pl, F50);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_NUM(r.nominal_capacity_ah, 280, 6);
	CHECK(strstr(json(&r), ",\"nominal_capacity_ah\":280,\"charge_mos\"") != NULL);

	/* Order of the exchanges does not matter. */
	poll_init(&pl);
	poll_add(&pl, F98);
	poll_add(&pl, F97);
	poll_add(&pl, F96);
	poll_add(&pl, F95[5]);
	for (int i = 4; i >= 0; i--)
		poll_cat(&pl, F95[i]);
	poll_add(&pl, F93);
	poll_add(&pl, F90);
	poll_add(&pl, F94);
	check_json(&pl, JSON41, __LINE__);
}

/* Only the mandatory replies: optional fields are left out. */
static void test_minimal_poll(void)
{
	struct poll pl;

	poll_init(&pl);
	poll_add(&pl, F94);
	poll_add(&pl, F90);
	poll_add(&pl, F95[0]);
	for (int i = 1; i < 6; i++)
		poll_cat(&pl, F95[i]);
	poll_add(&pl, F96);
	/* No 0x93: the raw-above-30000-is-discharge rule gives +12.5 A. */
	check_json(&pl,
		   "{\"type\":\"reading\",\"bms_id\":\"p1\","
		   "\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"proto\":\"daly\","
		   "\"pack_voltage\":53.4,\"pack_current\":12.5,\"pack_power\":667.5,"
		   "\"soc_percent\":78.5,\"temperatures\":[27,25],"
		   "\"cell_voltages\":[3.338,3.341,3.336,3.343,3.335,3.34,3.342,3.344,"
		   "3.337,3.341,3.339,3.352,3.333,3.34,3.342,3.341],"
		   "\"cycles\":42,\"cell_count\":16,\"temp_count\":2}", __LINE__);

	/* A pack that reports no cells and no probes needs neither 0x95
	 * nor 0x96. */
	{
		static const uint8_t s[8] = { 0, 0, 0, 0, 0, 0, 5, 0 };

		poll_init(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x94, s);
		poll_add(&pl, F90);
		check_json(&pl,
			   "{\"type\":\"reading\",\"bms_id\":\"p1\","
			   "\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"proto\":\"daly\","
			   "\"pack_voltage\":53.4,\"pack_current\":12.5,"
			   "\"pack_power\":667.5,\"soc_percent\":78.5,\"cycles\":5}",
			   __LINE__);
	}
}

/* ==== Captures ==== */

/* §1.9: the real 0x98 capture with byte 2 = 0x80, SOC low level 2. */
static void test_soc_low_capture(void)
{
	struct poll pl;
	struct bms_reading r;

	poll_41(&pl);
	poll_add(&pl, "A5 01 98 08 00 00 80 00 00 00 00 00 C6");
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_INT(r.nfaults, 1);
	CHECK_STR(r.faults[0], "soc_low");
	CHECK_INT(r.nwarnings, 0);
	CHECK(!r.prot.overvoltage && !r.prot.undervoltage &&
	      !r.prot.overcurrent_charge && !r.prot.overcurrent_discharge &&
	      !r.prot.overtemperature && !r.prot.undertemperature);
	CHECK(strstr(json(&r), "\"fault_codes\":[\"soc_low\"],\"warning_codes\":[]")
	      != NULL);
}

/* §1.10: the 0x63 hardware version capture, two frames "DL-BMS-R32-01E". */
static void test_hw_version_capture(void)
{
	uint8_t b[32];
	struct bms_daly_frame f;
	size_t n, pos = 0;
	struct poll pl;

	n = hx("A5 01 63 08 01 44 4C 2D 42 4D 53 2D DE"
	       "A5 01 63 08 02 52 33 32 2D 30 31 45 9D", b, sizeof b);
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 1);
	CHECK_INT(f.id, BMS_DALY_HW_VERSION);
	CHECK_INT(f.addr, 1);
	CHECK_INT(f.data[0], 1);
	CHECK_MEM(f.data + 1, "DL-BMS-", 7);
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 1);
	CHECK_INT(f.data[0], 2);
	CHECK_MEM(f.data + 1, "R32-01E", 7);
	CHECK_INT(pos, 26);
	CHECK_INT(bms_daly_next(b, n, &pos, &f), 0);

	/* Replies the decoder does not use change nothing. */
	poll_41(&pl);
	poll_add(&pl, "A5 01 63 08 01 44 4C 2D 42 4D 53 2D DE"
		 "A5 01 63 08 02 52 33 32 2D 30 31 45 9D");
	poll_add(&pl, "A5 01 D8 08 00 00 00 00 00 00 00 00 86");
	check_json(&pl, JSON41, __LINE__);
}

/* §1.4: the RS485 capture of board 2 (esphome#12445). */
static void test_board2_capture(void)
{
	static const uint8_t s94[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	struct poll pl;
	struct bms_reading r;
	uint8_t b[BMS_DALY_LEN];
	struct bms_daly_frame f;
	size_t pos = 0;

	hx("A5 02 90 08 00 82 00 00 75 30 01 F4 5B", b, sizeof b);
	CHECK_INT(bms_daly_next(b, sizeof b, &pos, &f), 1);
	CHECK_INT(f.addr, 2);
	CHECK(!bms_daly_is_request(&f));

	/* Each exchange: the echo of the request to 0x41, then the reply. */
	poll_init(&pl);
	poll_add(&pl, "A5 41 94 08 00 00 00 00 00 00 00 00 82");
	poll_frame(&pl, 2, 0x94, s94);
	poll_add(&pl, "A5 41 90 08 00 00 00 00 00 00 00 00 7E");
	poll_cat(&pl, "A5 02 90 08 00 82 00 00 75 30 01 F4 5B");
	CHECK_INT(decode(&pl, 2, false, &r), 0);
	CHECK_NUM(r.pack_voltage, 13.0, 6);
	CHECK_NUM(r.pack_current, 0, 6);
	CHECK_NUM(r.soc_percent, 50.0, 6);
	CHECK_INT(r.ncells, 0);

	/* Board 1 sees none of it. */
	CHECK_INT(decode(&pl, 1, false, &r), -1);
	CHECK_STR(err, "no reply to 0x94");

	/* Board 2 ignores board 1's frames, wherever they lie. */
	poll_41(&pl);
	poll_cat(&pl, "A5 02 90 08 00 82 00 00 75 30 01 F4 5B");
	poll_frame(&pl, 2, 0x94, s94);
	CHECK_INT(decode(&pl, 2, false, &r), 0);
	CHECK_NUM(r.pack_voltage, 13.0, 6);
	CHECK_INT(r.have, BMS_R_VOLTAGE | BMS_R_CURRENT | BMS_R_POWER |
		  BMS_R_SOC | BMS_R_CYCLES);
}

/* ==== Quirks (§1.13) ==== */

/* Q3: stale bytes in reserved bytes and padding slots change nothing. */
static void test_stale_bytes(void)
{
	static const uint8_t d90[8] = { 0x02, 0x16, 0x02, 0x3A, 0x74, 0xB3, 0x03, 0x11 };
	static const uint8_t d91[8] = { 0x0D, 0x18, 0x0C, 0x0D, 0x05, 0x0D, 0x03, 0x11 };
	static const uint8_t d92[8] = { 0x43, 0x01, 0x41, 0x02, 0x05, 0x0D, 0x03, 0x11 };
	static const uint8_t d93[8] = { 0x01, 0x01, 0x01, 0xC3, 0x00, 0x03, 0x5A, 0x98 };
	static const uint8_t d94[8] = { 0x10, 0x02, 0x00, 0x01, 0xFF, 0x00, 0x2A, 0x98 };
	static const uint8_t d96[8] = { 0x01, 0x43, 0x41, 0x44, 0x45, 0x46, 0x47, 0x48 };
	/* Cell 12, plus stale bits for cells 17..64. */
	static const uint8_t d97[8] = { 0x00, 0x08, 0x01, 0x80, 0xFF, 0xFF, 0xFF, 0xFF };
	/* Reserved bits 3.4-3.7 and 6.4-6.7 only. */
	static const uint8_t d98[8] = { 0x00, 0x00, 0x00, 0xF0, 0x00, 0x00, 0xF0, 0x00 };
	static const uint16_t mv[18] = {
		3338, 3341, 3336, 3343, 3335, 3340, 3342, 3344, 3337,
		3341, 3339, 3352, 3333, 3340, 3342, 3341, 0x0CCC, 0x0CD0,
	};
	struct poll pl;

	poll_init(&pl);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x94, d94);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x90, d90);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x91, d91);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x92, d92);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x93, d93);
	poll_add(&pl, "");
	for (int k = 0; k < 6; k++) {
		uint8_t d[8] = { (uint8_t)(k + 1) };

		for (int s = 0; s < 3; s++) {
			d[1 + 2 * s] = (uint8_t)(mv[3 * k + s] >> 8);
			d[2 + 2 * s] = (uint8_t)mv[3 * k + s];
		}
		d[7] = 0x98;	/* the stale byte 7 of every 0x95 frame */
		poll_frame(&pl, 1, 0x95, d);
	}
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x96, d96);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x97, d97);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x98, d98);
	check_json(&pl, JSON41, __LINE__);
}

/* Q4: all 16 frames of 0x95 for 16 cells (surplus frames zero or not). */
static void test_sixteen_cell_frames(void)
{
	struct poll pl;

	poll_41(&pl);
	poll_redo(&pl, 5);
	for (int k = 1; k <= 16; k++) {
		uint8_t d[8] = { (uint8_t)k };

		if (k <= 6) {
			uint8_t b[BMS_DALY_LEN];

			hx(F95[k - 1], b, sizeof b);
			memcpy(d, b + 4, 8);
		} else if (k == 7) {
			d[1] = 0x0D;	/* a non-zero surplus frame, too */
			d[2] = 0xFF;
		}
		poll_frame(&pl, 1, 0x95, d);
	}
	CHECK_INT(pl.len[5], 16 * BMS_DALY_LEN);
	check_json(&pl, JSON41, __LINE__);

	/* Frame numbers 0 and 17 are ignored, not taken for frames 1 or 16. */
	poll_41(&pl);
	{
		static const uint8_t z0[8] = { 0x00, 0x0F, 0xFF, 0x0F, 0xFF, 0x0F, 0xFF, 0 };
		static const uint8_t z17[8] = { 0x11, 0x0F, 0xFF, 0x0F, 0xFF, 0x0F, 0xFF, 0 };

		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x95, z0);
		poll_frame(&pl, 1, 0x95, z17);
		poll_frame(&pl, 1, 0x96, z0);
		poll_frame(&pl, 1, 0x96, z17);
	}
	check_json(&pl, JSON41, __LINE__);

	/* A 48-cell pack: frames 1..16, the most there are; balance byte 5
	 * bit 7 is cell 48. */
	{
		static const uint8_t s94[8] = { 48, 0, 0, 0, 0, 0, 1, 0 };
		static const uint8_t b97[8] = { 0x01, 0, 0, 0, 0, 0x80, 0xFF, 0xFF };
		struct bms_reading r;

		poll_init(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x94, s94);
		poll_add(&pl, F90);
		poll_add(&pl, "");
		for (int k = 1; k <= 16; k++) {
			uint8_t d[8] = { (uint8_t)k };

			for (int s = 0; s < 3; s++) {
				unsigned v = 3000 + (unsigned)(3 * (k - 1) + s);

				d[1 + 2 * s] = (uint8_t)(v >> 8);
				d[2 + 2 * s] = (uint8_t)v;
			}
			poll_frame(&pl, 1, 0x95, d);
		}
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x97, b97);
		CHECK_INT(decode(&pl, 1, false, &r), 0);
		CHECK_INT(r.ncells, 48);
		CHECK_NUM(r.cells[0], 3.000, 6);
		CHECK_NUM(r.cells[47], 3.047, 6);
		CHECK_INT(r.balancing_mask, UINT64_C(1) | UINT64_C(1) << 47);
		CHECK(!(r.have & BMS_R_TEMPS));
	}
}

/* Q4: two 0x96 frames for one probe; the second one is ignored. */
static void test_two_temp_frames(void)
{
	static const uint8_t s94[8] = { 0x10, 0x01, 0x01, 0x00, 0x02, 0x00, 0x2A, 0x00 };
	struct poll pl;
	struct bms_reading r;

	poll_41(&pl);
	poll_redo(&pl, 0);
	poll_frame(&pl, 1, 0x94, s94);
	poll_at(&pl, 6);
	poll_cat(&pl, F96_2);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_INT(r.ntemps, 1);
	CHECK_NUM(r.temps[0], 27, 6);
	CHECK(strstr(json(&r), "\"temperatures\":[27],") != NULL);
	CHECK(strstr(json(&r), "\"temp_count\":1}") != NULL);

	/* With two probes the all-zero frame 2 is surplus as well. */
	poll_41(&pl);
	poll_add(&pl, F96_2);
	check_json(&pl, JSON41, __LINE__);
}

/* Q2: the echo of each request in front of its reply. */
static void test_echo(void)
{
	static const char *const req[9] = {
		"A5 40 94 08 00 00 00 00 00 00 00 00 81",
		"A5 40 90 08 00 00 00 00 00 00 00 00 7D",
		"A5 40 91 08 00 00 00 00 00 00 00 00 7E",
		"A5 40 92 08 00 00 00 00 00 00 00 00 7F",
		"A5 40 93 08 00 00 00 00 00 00 00 00 80",
		"A5 40 95 08 00 00 00 00 00 00 00 00 82",
		"A5 40 96 08 00 00 00 00 00 00 00 00 83",
		"A5 40 97 08 00 00 00 00 00 00 00 00 84",
		"A5 40 98 08 00 00 00 00 00 00 00 00 85",
	};
	struct poll pl, echoed;

	poll_41(&pl);
	poll_init(&echoed);
	for (int e = 0; e < 9; e++) {
		poll_add(&echoed, req[e]);
		poll_raw(&echoed, pl.buf[e], pl.len[e]);
	}
	check_json(&echoed, JSON41, __LINE__);

	/* A sleeping BMS: echoes only. */
	poll_init(&echoed);
	for (int e = 0; e < 9; e++)
		poll_add(&echoed, req[e]);
	check_err(&echoed, "no reply to 0x94", __LINE__);

	/* Echoes of the Bluetooth host 0x80, and nothing at all. */
	poll_init(&echoed);
	poll_add(&echoed, "A5 80 94 08 00 00 00 00 00 00 00 00 C1");
	poll_add(&echoed, "");
	check_err(&echoed, "no reply to 0x94", __LINE__);
	CHECK_INT(bms_daly_decode(NULL, NULL, 0, NULL, &(struct bms_reading){ 0 },
				  err, sizeof err), -1);
	CHECK_STR(err, "no reply to 0x94");
}

/* Q5: a 0x95 frame truncated to 9 bytes, the next frame right behind. */
static void test_truncated_frame(void)
{
	uint8_t b[BMS_DALY_LEN];
	struct poll pl;

	/* The retry of frame 3 follows the truncated copy: decodes. */
	poll_41(&pl);
	poll_redo(&pl, 5);
	poll_cat(&pl, F95[0]);
	poll_cat(&pl, F95[1]);
	hx(F95[2], b, sizeof b);
	poll_raw(&pl, b, 9);
	for (int i = 2; i < 6; i++)
		poll_cat(&pl, F95[i]);
	check_json(&pl, JSON41, __LINE__);

	/* Without the retry frame 3 is missing. */
	poll_41(&pl);
	poll_redo(&pl, 5);
	poll_cat(&pl, F95[0]);
	poll_cat(&pl, F95[1]);
	poll_raw(&pl, b, 9);
	for (int i = 3; i < 6; i++)
		poll_cat(&pl, F95[i]);
	check_err(&pl, "0x95 frame 3 of 6 missing", __LINE__);

	/* A frame cut short at the end of an element. */
	poll_41(&pl);
	pl.len[1] = 12;
	check_err(&pl, "no reply to 0x90", __LINE__);
}

/* Q4b: several replies in one element, and garbage around them. */
static void test_concatenated(void)
{
	struct poll pl;

	poll_init(&pl);
	poll_add(&pl, "00 FF");
	poll_cat(&pl, F94);
	poll_cat(&pl, F90);
	poll_cat(&pl, "A5 A5 01");
	poll_cat(&pl, F91);
	poll_cat(&pl, F92);
	poll_add(&pl, F93);
	poll_cat(&pl, F95[0]);
	for (int i = 1; i < 6; i++)
		poll_cat(&pl, F95[i]);
	poll_cat(&pl, "A5");
	poll_add(&pl, F96);
	poll_cat(&pl, F97);
	poll_cat(&pl, F98);
	poll_cat(&pl, "A5 01 98 08");
	check_json(&pl, JSON41, __LINE__);

	/* Everything in one element. */
	poll_init(&pl);
	poll_add(&pl, F94);
	poll_cat(&pl, F90);
	poll_cat(&pl, F93);
	for (int i = 0; i < 6; i++)
		poll_cat(&pl, F95[i]);
	poll_cat(&pl, F96);
	poll_cat(&pl, F97);
	poll_cat(&pl, F98);
	check_json(&pl, JSON41, __LINE__);
}

/* Q5: 0xA5 inside a payload (cell voltage 0x0CA5) and false starts. */
static void test_a5_in_payload(void)
{
	static const uint8_t d[8] = { 0x01, 0x0C, 0xA5, 0x0D, 0x0D, 0x0D, 0x08, 0xA5 };
	/* Checksum 0xA5: 0xA5 + 0x01 + 0x95 + 0x08 + 0x01 + 0x0D + 0x54 = 0x1A5. */
	static const uint8_t c[8] = { 0x01, 0x0D, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00 };
	struct poll pl;
	struct bms_reading r;

	poll_41(&pl);
	poll_redo(&pl, 5);
	poll_cat(&pl, "A5 A5 01 95");
	poll_frame(&pl, 1, 0x95, d);
	for (int i = 1; i < 6; i++)
		poll_cat(&pl, F95[i]);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_NUM(r.cells[0], 3.237, 6);
	CHECK_NUM(r.cells[1], 3.341, 6);
	CHECK_NUM(r.cells[15], 3.341, 6);

	/* A frame ending in 0xA5 right before the next: the trailing 0xA5
	 * does not start a frame that swallows the real one. */
	poll_41(&pl);
	poll_redo(&pl, 5);
	poll_frame(&pl, 1, 0x95, c);
	CHECK_INT(pl.buf[5][12], 0xA5);
	for (int i = 0; i < 6; i++)
		poll_cat(&pl, F95[i]);
	check_json(&pl, JSON41, __LINE__);
}

/* Q4: a stale frame of an earlier burst before the new 0x95 burst; the
 * later valid copy wins. */
static void test_stale_frame_before_burst(void)
{
	static const uint8_t old6[8] = { 0x06, 0x0C, 0xE4, 0x0C, 0xCC, 0x0C, 0xD0, 0x20 };
	static const uint8_t old3[8] = { 0x03, 0x0C, 0xE4, 0x0C, 0xE4, 0x0C, 0xE4, 0x20 };
	struct poll pl;
	struct bms_reading r;

	poll_41(&pl);
	poll_redo(&pl, 5);
	poll_frame(&pl, 1, 0x95, old6);
	for (int i = 0; i < 6; i++)
		poll_cat(&pl, F95[i]);
	check_json(&pl, JSON41, __LINE__);

	/* The stale copy alone would have been taken: it is a valid frame. */
	poll_41(&pl);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x95, old3);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_NUM(r.cells[6], 3.300, 6);
	CHECK_NUM(r.cells[8], 3.300, 6);
	CHECK_NUM(r.cells[9], 3.341, 6);

	/* A retried 0x90 in a later exchange replaces the first. */
	poll_41(&pl);
	poll_add(&pl, "A5 01 90 08 02 17 00 00 74 B3 03 12 93");
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_NUM(r.pack_voltage, 53.5, 6);
	CHECK_NUM(r.soc_percent, 78.6, 6);
}

/* A corrupted checksum: that frame is ignored. */
static void test_bad_checksum(void)
{
	struct poll pl;
	struct bms_reading r;

	/* Optional 0x97 corrupted: balancing left out. */
	poll_41(&pl);
	pl.buf[7][12] ^= 0x01;
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK(!(r.have & BMS_R_BALANCE));
	CHECK(strstr(json(&r), "balancing") == NULL);

	/* The only 0x90 corrupted. */
	poll_41(&pl);
	pl.buf[1][12] ^= 0x01;
	check_err(&pl, "no reply to 0x90", __LINE__);

	/* A corrupted payload byte, not the checksum. */
	poll_41(&pl);
	pl.buf[0][6] ^= 0x40;
	check_err(&pl, "no reply to 0x94", __LINE__);

	/* 0x95 frame 4 corrupted, retried in a later exchange. */
	poll_41(&pl);
	pl.buf[5][3 * BMS_DALY_LEN + 7] ^= 0x10;
	check_err(&pl, "0x95 frame 4 of 6 missing", __LINE__);
	poll_add(&pl, F95[3]);
	check_json(&pl, JSON41, __LINE__);
}

/* Extra and missing 0x95/0x96 frames. */
static void test_extra_missing_frames(void)
{
	static const uint8_t x7[8] = { 0x07, 0x0D, 0x00, 0x0D, 0x01, 0x0D, 0x02, 0x00 };
	struct poll pl;

	poll_41(&pl);
	poll_add(&pl, "");
	poll_frame(&pl, 1, 0x95, x7);
	check_json(&pl, JSON41, __LINE__);

	poll_41(&pl);
	poll_redo(&pl, 5);
	for (int i = 0; i < 6; i++)
		if (i != 4)
			poll_cat(&pl, F95[i]);
	check_err(&pl, "0x95 frame 5 of 6 missing", __LINE__);

	poll_41(&pl);
	pl.len[5] = 0;
	check_err(&pl, "0x95 frame 1 of 6 missing", __LINE__);

	poll_41(&pl);
	pl.len[5] = 5 * BMS_DALY_LEN;
	check_err(&pl, "0x95 frame 6 of 6 missing", __LINE__);

	poll_41(&pl);
	pl.len[6] = 0;
	check_err(&pl, "0x96 frame 1 of 1 missing", __LINE__);

	/* Only the surplus 0x96 frame 2 arrived. */
	poll_41(&pl);
	poll_redo(&pl, 6);
	poll_cat(&pl, F96_2);
	check_err(&pl, "0x96 frame 1 of 1 missing", __LINE__);

	/* 0x94 is needed to know the counts. */
	poll_41(&pl);
	pl.len[0] = 0;
	check_err(&pl, "no reply to 0x94", __LINE__);
}

/* §1.14: the current sign from the 0x93 state, and invert_current. */
static void test_current_sign(void)
{
	static const struct {
		unsigned raw;		/* 0x90 bytes 4-5 */
		int state;		/* 0x93 byte 0, -1: no 0x93 */
		bool invert;
		double amps, watts;	/* at 53.4 V */
	} t[] = {
		/* 29875: x = -12.5 */
		{ 29875, 1, false, 12.5, 667.5 },
		{ 29875, 1, true, 12.5, 667.5 },
		{ 29875, 2, false, -12.5, -667.5 },
		{ 29875, 2, true, -12.5, -667.5 },
		{ 29875, 0, false, 12.5, 667.5 },
		{ 29875, 0, true, -12.5, -667.5 },
		{ 29875, -1, false, 12.5, 667.5 },
		{ 29875, -1, true, -12.5, -667.5 },
		/* 30125: x = +12.5 */
		{ 30125, 1, false, 12.5, 667.5 },
		{ 30125, 1, true, 12.5, 667.5 },
		{ 30125, 2, false, -12.5, -667.5 },
		{ 30125, 2, true, -12.5, -667.5 },
		{ 30125, 0, false, -12.5, -667.5 },
		{ 30125, 0, true, 12.5, 667.5 },
		{ 30125, -1, false, -12.5, -667.5 },
		{ 30125, -1, true, 12.5, 667.5 },
		/* 30000: no current, either way */
		{ 30000, 2, false, 0, 0 },
		{ 30000, -1, true, 0, 0 },
		/* 27000 while discharging: -300 A */
		{ 27000, 2, false, -300, -16020 },
		{ 30001, 1, false, 0.1, 5.34 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct poll pl;
		struct bms_reading r;
		uint8_t d93[8];
		uint8_t b[BMS_DALY_LEN];

		hx(F93, b, sizeof b);
		memcpy(d93, b + 4, 8);
		uint8_t d90[8] = { 0x02, 0x16, 0x00, 0x00, 0, 0, 0x03, 0x11 };

		d90[4] = (uint8_t)(t[i].raw >> 8);
		d90[5] = (uint8_t)t[i].raw;
		poll_init(&pl);
		poll_add(&pl, F94);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x90, d90);
		if (t[i].state >= 0) {
			d93[0] = (uint8_t)t[i].state;
			poll_frame(&pl, 1, 0x93, d93);
		}
		for (int k = 0; k < 6; k++)
			poll_cat(&pl, F95[k]);
		poll_add(&pl, F96);
		CHECK_INT(decode(&pl, 1, t[i].invert, &r), 0);
		CHECK_NUM(r.pack_current, t[i].amps, 6);
		CHECK_NUM(r.pack_power, t[i].watts, 6);
		CHECK_INT(!!(r.have & BMS_R_MOS), t[i].state >= 0);
	}
}

/* Values no pack can have reject the poll; nothing becomes a reading. */
static void test_impossible_values(void)
{
	static const struct {
		uint8_t id;
		uint8_t d[8];
		const char *err;
	} t[] = {
		{ 0x90, { 0x02, 0x16, 0, 0, 0x74, 0xB3, 0x05, 0xDE }, "soc 150.2% out of range" },
		{ 0x90, { 0x02, 0x16, 0, 0, 0x74, 0xB3, 0x03, 0xE9 }, "soc 100.1% out of range" },
		{ 0x90, { 0xFF, 0xFF, 0, 0, 0x74, 0xB3, 0x03, 0x11 }, "pack voltage 6553.5 V out of range" },
		{ 0x90, { 0x09, 0xC5, 0, 0, 0x74, 0xB3, 0x03, 0x11 }, "pack voltage 250.1 V out of range" },
		/* raw 0: the -3000 A Daly2MQTT filters; state 1 says charging */
		{ 0x90, { 0x02, 0x16, 0, 0, 0x00, 0x00, 0x03, 0x11 }, "current 3000.0 A out of range" },
		{ 0x90, { 0x02, 0x16, 0, 0, 0x9C, 0x41, 0x03, 0x11 }, "current 1000.1 A out of range" },
		{ 0x94, { 49, 2, 0, 0, 0, 0, 0x2A, 0 }, "cell count 49 out of range" },
		{ 0x94, { 16, 17, 0, 0, 0, 0, 0x2A, 0 }, "temperature count 17 out of range" },
		{ 0x93, { 3, 1, 1, 0, 0, 3, 0x5A, 0x98 }, "charge state 3 out of range" },
		{ 0x95, { 2, 0x0D, 0x0F, 0x13, 0x89, 0x0D, 0x0C, 0 }, "cell 5 voltage 5.001 V out of range" },
		{ 0x95, { 6, 0x0D, 0x0D, 0xFF, 0xFF, 0x00, 0x00, 0 }, "cell 17 voltage 65.535 V out of range" },
		/* 0xFF is a failed probe (test_dead_probe); 0xFE is a value */
		{ 0x96, { 1, 0x43, 0xFE, 0, 0, 0, 0, 0 }, "temperature 2 at 214 degC out of range" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct poll pl;

		poll_41(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, t[i].id, t[i].d);
		if (i == 10) {
			/* Cell 17 is padding: no error until there are 17 cells. */
			static const uint8_t s17[8] = { 17, 2, 1, 0, 2, 0, 0x2A, 0 };

			check_json(&pl, JSON41, __LINE__);
			poll_frame(&pl, 1, 0x94, s17);
		}
		check_err(&pl, t[i].err, __LINE__);
	}

	/* The limits themselves are fine: 100.0 %, 250.0 V, 5.000 V, 150 degC,
	 * 1000 A. */
	{
		static const uint8_t d90[8] = { 0x09, 0xC4, 0, 0, 0x4E, 0x20, 0x03, 0xE8 };
		static const uint8_t d95[8] = { 1, 0x13, 0x88, 0x0D, 0x0D, 0x0D, 0x08, 0 };
		static const uint8_t d96[8] = { 1, 190, 0, 0, 0, 0, 0, 0 };
		struct poll pl;
		struct bms_reading r;

		poll_41(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x90, d90);
		poll_frame(&pl, 1, 0x95, d95);
		poll_frame(&pl, 1, 0x96, d96);
		CHECK_INT(decode(&pl, 1, false, &r), 0);
		CHECK_NUM(r.soc_percent, 100, 6);
		CHECK_NUM(r.pack_voltage, 250, 6);
		CHECK_NUM(r.pack_current, 1000, 6);	/* raw 20000, state 1 */
		CHECK_NUM(r.cells[0], 5, 6);
		CHECK_NUM(r.temps[0], 150, 6);
		CHECK_NUM(r.temps[1], -40, 6);
	}
}

/* The error text is truncated to the room given, or not written. */
static void test_err_buffer(void)
{
	struct poll pl;
	struct bms_reading r;
	char small[8];
	struct bms_daly_opts o = { .board = 1 };

	poll_41(&pl);
	poll_redo(&pl, 5);
	CHECK_INT(bms_daly_decode(pl.p, pl.len, pl.n, &o, &r, small, sizeof small), -1);
	CHECK_STR(small, "0x95 fr");
	CHECK_INT(bms_daly_decode(pl.p, pl.len, pl.n, &o, &r, NULL, 0), -1);
	poll_41(&pl);
	CHECK_INT(bms_daly_decode(pl.p, pl.len, pl.n, NULL, &r, NULL, 0), 0);
	CHECK_STR(json(&r), JSON41);
}

/* ==== Failure codes ==== */

/* Each line of tests/fixtures/daly-codes.txt, one bit at a time, gives
 * exactly that code in exactly that list. */
static void test_codes_table(void)
{
	char path[512], line[256];
	const char *slash = strrchr(__FILE__, '/');
	int lines = 0, named = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%.*s/../fixtures/daly-codes.txt",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	fp = fopen(path, "r");
	CHECK(fp != NULL);
	if (!fp) {
		fprintf(stderr, "  cannot open %s\n", path);
		return;
	}
	while (fgets(line, sizeof line, fp)) {
		char pos[16], kind[16], code[48];
		unsigned mask, byte;
		struct bms_reading r;
		uint8_t map[8] = { 0 };
		int n = 0;

		if (sscanf(line, "%15s %x %15s %47s %n", pos, &mask, kind, code, &n) != 4 ||
		    n == 0 || line[n] == '\n') {
			CHECK(!"malformed line in daly-codes.txt");
			fprintf(stderr, "  %s", line);
			continue;
		}
		lines++;
		byte = (unsigned)(pos[0] - '0');
		CHECK(byte <= 7);
		if (byte > 7)
			continue;
		if (byte == 7) {
			CHECK_STR(kind, "fault");
			CHECK_STR(code, "fault_code_N");
			continue;
		}
		map[byte] = (uint8_t)mask;
		bms_reading_clear(&r);
		bms_daly_failure_codes(map, &r);
		CHECK_INT(r.have, BMS_R_PROTECT | BMS_R_CODES);
		if (strcmp(kind, "reserved") == 0) {
			CHECK_INT(r.nfaults + r.nwarnings, 0);
			continue;
		}
		named++;
		/* byte.bit agrees with the mask */
		CHECK_INT(1u << (pos[2] - '0'), mask);
		if (strcmp(kind, "fault") == 0) {
			CHECK_INT(r.nfaults, 1);
			CHECK_INT(r.nwarnings, 0);
			if (r.nfaults == 1)
				CHECK_STR(r.faults[0], code);
		} else {
			CHECK_STR(kind, "warning");
			CHECK_INT(r.nwarnings, 1);
			CHECK_INT(r.nfaults, 0);
			if (r.nwarnings == 1)
				CHECK_STR(r.warnings[0], code);
		}
		/* Level 1 in bytes 0..3 is a warning, level 2 a fault. */
		if (byte <= 3)
			CHECK_STR(kind, mask & 0xAA ? "fault" : "warning");
		else
			CHECK_STR(kind, "fault");
	}
	fclose(fp);
	CHECK_INT(lines, 51);
	CHECK_INT(named, 48);
}

static bool prot_is(const struct bms_protection *p, bool ov, bool uv, bool occ,
		    bool ocd, bool ot, bool ut)
{
	return p->overvoltage == ov && p->undervoltage == uv &&
	       p->overcurrent_charge == occ && p->overcurrent_discharge == ocd &&
	       p->overtemperature == ot && p->undertemperature == ut;
}

static void test_failure_codes(void)
{
	static const struct {
		uint8_t byte, mask;
		bool ov, uv, occ, ocd, ot, ut;
	} p[] = {
		{ 0, 0x01, 0, 0, 0, 0, 0, 0 }, { 0, 0x02, 1, 0, 0, 0, 0, 0 },
		{ 0, 0x04, 0, 0, 0, 0, 0, 0 }, { 0, 0x08, 0, 1, 0, 0, 0, 0 },
		{ 0, 0x10, 0, 0, 0, 0, 0, 0 }, { 0, 0x20, 1, 0, 0, 0, 0, 0 },
		{ 0, 0x40, 0, 0, 0, 0, 0, 0 }, { 0, 0x80, 0, 1, 0, 0, 0, 0 },
		{ 1, 0x01, 0, 0, 0, 0, 0, 0 }, { 1, 0x02, 0, 0, 0, 0, 1, 0 },
		{ 1, 0x04, 0, 0, 0, 0, 0, 0 }, { 1, 0x08, 0, 0, 0, 0, 0, 1 },
		{ 1, 0x10, 0, 0, 0, 0, 0, 0 }, { 1, 0x20, 0, 0, 0, 0, 1, 0 },
		{ 1, 0x40, 0, 0, 0, 0, 0, 0 }, { 1, 0x80, 0, 0, 0, 0, 0, 1 },
		{ 2, 0x01, 0, 0, 0, 0, 0, 0 }, { 2, 0x02, 0, 0, 1, 0, 0, 0 },
		{ 2, 0x04, 0, 0, 0, 0, 0, 0 }, { 2, 0x08, 0, 0, 0, 1, 0, 0 },
		{ 2, 0xF0, 0, 0, 0, 0, 0, 0 }, { 3, 0xFF, 0, 0, 0, 0, 0, 0 },
		{ 4, 0x01, 0, 0, 0, 0, 1, 0 }, { 4, 0x02, 0, 0, 0, 0, 1, 0 },
		{ 4, 0xFC, 0, 0, 0, 0, 0, 0 }, { 5, 0xFF, 0, 0, 0, 0, 0, 0 },
		{ 6, 0x04, 0, 0, 0, 1, 0, 0 }, { 6, 0xFB, 0, 0, 0, 0, 0, 0 },
		{ 7, 0xFF, 0, 0, 0, 0, 0, 0 },
	};
	struct bms_reading r;
	uint8_t map[8];

	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
		memset(map, 0, sizeof map);
		map[p[i].byte] = p[i].mask;
		bms_reading_clear(&r);
		bms_daly_failure_codes(map, &r);
		CHECK(prot_is(&r.prot, p[i].ov, p[i].uv, p[i].occ, p[i].ocd,
			      p[i].ot, p[i].ut));
	}

	/* No alarm: empty lists, all protections off. */
	memset(map, 0, sizeof map);
	bms_reading_clear(&r);
	bms_daly_failure_codes(map, &r);
	CHECK_INT(r.have, BMS_R_PROTECT | BMS_R_CODES);
	CHECK_INT(r.nfaults + r.nwarnings, 0);
	CHECK(prot_is(&r.prot, 0, 0, 0, 0, 0, 0));

	/* Byte 7: "fault code N". */
	map[7] = 3;
	bms_reading_clear(&r);
	bms_daly_failure_codes(map, &r);
	CHECK_INT(r.nfaults, 1);
	CHECK_STR(r.faults[0], "fault_code_3");
	map[7] = 255;
	bms_reading_clear(&r);
	bms_daly_failure_codes(map, &r);
	CHECK_STR(r.faults[0], "fault_code_255");
	map[7] = 100;
	bms_reading_clear(&r);
	bms_daly_failure_codes(map, &r);
	CHECK_STR(r.faults[0], "fault_code_100");

	/* Both levels of one alarm, several alarms: in bit order. */
	{
		static const uint8_t m[8] = { 0x03, 0x00, 0xC0, 0x00, 0x00, 0x01, 0x04, 0x07 };

		bms_reading_clear(&r);
		bms_daly_failure_codes(m, &r);
		CHECK_INT(r.nwarnings, 2);
		CHECK_STR(r.warnings[0], "cell_voltage_high");
		CHECK_STR(r.warnings[1], "soc_low");
		CHECK_INT(r.nfaults, 5);
		CHECK_STR(r.faults[0], "cell_voltage_high");
		CHECK_STR(r.faults[1], "soc_low");
		CHECK_STR(r.faults[2], "afe_error");
		CHECK_STR(r.faults[3], "short_circuit");
		CHECK_STR(r.faults[4], "fault_code_7");
		CHECK(prot_is(&r.prot, 1, 0, 0, 1, 0, 0));
		CHECK(strstr(json(&r),
			      "\"protection_status\":{\"overvoltage\":true,"
			      "\"undervoltage\":false,\"overcurrent_charge\":false,"
			      "\"overcurrent_discharge\":true,\"overtemperature\":false,"
			      "\"undertemperature\":false},\"fault_codes\":"
			      "[\"cell_voltage_high\",\"soc_low\",\"afe_error\","
			      "\"short_circuit\",\"fault_code_7\"],\"warning_codes\":"
			      "[\"cell_voltage_high\",\"soc_low\"]}") != NULL);
	}

	/* Every bit at once: 48 named codes plus the fault number. */
	{
		static const uint8_t all[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };

		bms_reading_clear(&r);
		bms_daly_failure_codes(all, &r);
		CHECK_INT(r.nwarnings, 14);
		CHECK_INT(r.nfaults, 14 + 8 + 8 + 4 + 1);
		CHECK(prot_is(&r.prot, 1, 1, 1, 1, 1, 1));
	}
}

/* The 0x97 bit order: byte k bit j is cell 8k + j + 1. */
static void test_balance_bits(void)
{
	static const struct {
		uint8_t d[8];
		uint64_t mask;
	} t[] = {
		{ { 0x01, 0, 0, 0, 0, 0, 0, 0 }, UINT64_C(1) << 0 },
		{ { 0x80, 0, 0, 0, 0, 0, 0, 0 }, UINT64_C(1) << 7 },
		{ { 0, 0x01, 0, 0, 0, 0, 0, 0 }, UINT64_C(1) << 8 },
		{ { 0, 0x80, 0, 0, 0, 0, 0, 0 }, UINT64_C(1) << 15 },
		{ { 0x05, 0x40, 0, 0, 0, 0, 0, 0 }, UINT64_C(0x4005) },
		{ { 0, 0, 0x01, 0, 0, 0, 0xFF, 0xFF }, 0 },	/* cell 17 of 16 */
		{ { 0, 0, 0, 0, 0, 0, 0, 0 }, 0 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct poll pl;
		struct bms_reading r;

		poll_41(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x97, t[i].d);
		CHECK_INT(decode(&pl, 1, false, &r), 0);
		CHECK_INT(r.balancing_mask, t[i].mask);
		CHECK_INT(r.balancing_active, t[i].mask != 0);
		CHECK(r.have & BMS_R_BALANCE);
	}
	{
		struct poll pl;
		struct bms_reading r;
		static const uint8_t d[8] = { 0x01, 0x80, 0, 0, 0, 0, 0, 0 };

		poll_41(&pl);
		poll_add(&pl, "");
		poll_frame(&pl, 1, 0x97, d);
		CHECK_INT(decode(&pl, 1, false, &r), 0);
		CHECK(strstr(json(&r), "\"balancing_status\":{\"active\":true,"
			      "\"cells_balancing\":[1,16]}") != NULL);
		memset((uint8_t *)pl.buf[9] + 4, 0, 8);
		pl.buf[9][12] = 0x45;	/* the all-zero capture of §1.8 */
		CHECK_INT(decode(&pl, 1, false, &r), 0);
		CHECK(strstr(json(&r), "\"balancing_status\":{\"active\":false,"
			      "\"cells_balancing\":[]}") != NULL);
	}
}

/* issue 7: a failed probe (raw 0xFF, 215 degC) leaves the rest of the
 * reading standing: the probe is left out of temperatures and temp_count
 * and named by a warning after the failure map's codes. */
static void test_dead_probe(void)
{
	/* §4.1 with three probes, probe 2 dead: 0x94 sensors 3, sum 0x182;
	 * 0x96 27 degC, 0xFF, 25 degC, sum 0x2C8. */
	static const char F94_3[] = "A5 01 94 08 10 03 01 00 02 00 2A 00 82";
	static const char F96_3[] = "A5 01 96 08 01 43 FF 41 00 00 00 00 C8";
	static const char WANT[] =
		"{\"type\":\"reading\",\"bms_id\":\"p1\","
		"\"timestamp\":\"2026-11-27T14:29:11.123Z\",\"proto\":\"daly\","
		"\"pack_voltage\":53.4,\"pack_current\":12.5,\"pack_power\":667.5,"
		"\"soc_percent\":78.5,\"temperatures\":[27,25],"
		"\"cell_voltages\":[3.338,3.341,3.336,3.343,3.335,3.34,3.342,3.344,"
		"3.337,3.341,3.339,3.352,3.333,3.34,3.342,3.341],"
		"\"balancing_status\":{\"active\":true,\"cells_balancing\":[12]},"
		"\"protection_status\":{\"overvoltage\":false,\"undervoltage\":false,"
		"\"overcurrent_charge\":false,\"overcurrent_discharge\":false,"
		"\"overtemperature\":false,\"undertemperature\":false},"
		"\"fault_codes\":[],\"warning_codes\":[\"temperature_sensor_2_fault\"],"
		"\"cycles\":42,\"remaining_capacity_ah\":219.8,\"charge_mos\":true,"
		"\"discharge_mos\":true,\"cell_count\":16,\"temp_count\":2}";
	/* The same pack as a D2 reply: registers 0x20-0x22 0x0043, 0x00FF,
	 * 0x0041 and 0x32 = 3, CRC 0x8D6F. */
	static const char D2[] =
		"d2037c0d0a0d0d0d080d0f0d070d0c0d0e0d100d090d0d0d0b0d180d050d0c0d0e"
		"0d0d00000000000000000000000000000000000000000000000000000000000000"
		"00004300ff004100000000000000000000021675ad03110d180d05004300410001"
		"089600100003002a0001000100010d0c0013029c00000000000000006f8d";
	struct poll pl;
	struct bms_reading r;
	static const uint8_t all_dead[8] = { 1, 0xFF, 0xFF, 0, 0, 0, 0, 0 };
	static const uint8_t cell_low[8] = { 0x04, 0, 0, 0, 0, 0, 0, 0 };

	poll_41(&pl);
	poll_redo(&pl, 0);
	poll_cat(&pl, F94_3);
	poll_redo(&pl, 6);
	poll_cat(&pl, F96_3);
	check_json(&pl, WANT, __LINE__);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_INT(r.ntemps, 2);
	CHECK_NUM(r.temps[0], 27, 6);
	CHECK_NUM(r.temps[1], 25, 6);

	/* The failure map's codes come first. */
	poll_redo(&pl, 8);
	poll_frame(&pl, 1, 0x98, cell_low);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_INT(r.nwarnings, 2);
	CHECK_STR(r.warnings[0], "cell_voltage_low");
	CHECK_STR(r.warnings[1], "temperature_sensor_2_fault");

	/* Without 0x98 the warning is there all the same. */
	poll_redo(&pl, 8);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK(strstr(json(&r), "\"fault_codes\":[],\"warning_codes\":"
		     "[\"temperature_sensor_2_fault\"],\"cycles\":42,") != NULL);

	/* Every probe dead: no temperatures at all, a warning for each. */
	poll_41(&pl);
	poll_redo(&pl, 6);
	poll_frame(&pl, 1, 0x96, all_dead);
	CHECK_INT(decode(&pl, 1, false, &r), 0);
	CHECK_INT(r.have & BMS_R_TEMPS, 0);
	CHECK(strstr(json(&r), "\"temperatures\"") == NULL);
	CHECK(strstr(json(&r), "\"temp_count\"") == NULL);
	CHECK(strstr(json(&r), "\"warning_codes\":[\"temperature_sensor_1_fault\","
		     "\"temperature_sensor_2_fault\"]") != NULL);

	/* D2: 0x00FF is the same marker. */
	{
		struct bms_daly_opts o = { .board = 1 };
		uint8_t b[129];
		const uint8_t *e = b;
		size_t n = hx(D2, b, sizeof b);

		CHECK_INT(n, 129);
		CHECK_INT(bms_dalymb_decode(&e, &n, 1, &o, &r, err, sizeof err), 0);
		CHECK_INT(r.ntemps, 2);
		CHECK_NUM(r.temps[0], 27, 6);
		CHECK_NUM(r.temps[1], 25, 6);
		CHECK_INT(r.nwarnings, 1);
		CHECK_STR(r.warnings[0], "temperature_sensor_2_fault");
		/* 0xFFFF too (CRC 0x7C7A). */
		b[69] = 0xFF;
		b[127] = 0x7A;
		b[128] = 0x7C;
		CHECK_INT(bms_dalymb_decode(&e, &n, 1, &o, &r, err, sizeof err), 0);
		CHECK_INT(r.ntemps, 2);
		CHECK_STR(r.warnings[0], "temperature_sensor_2_fault");
	}
}

int main(void)
{
	test_request_checksums();
	test_reply_frames();
	test_next();
	test_poll_41();
	test_minimal_poll();
	test_soc_low_capture();
	test_hw_version_capture();
	test_board2_capture();
	test_stale_bytes();
	test_sixteen_cell_frames();
	test_two_temp_frames();
	test_echo();
	test_truncated_frame();
	test_concatenated();
	test_a5_in_payload();
	test_stale_frame_before_burst();
	test_bad_checksum();
	test_extra_missing_frames();
	test_current_sign();
	test_impossible_values();
	test_err_buffer();
	test_codes_table();
	test_failure_codes();
	test_balance_bits();
	test_dead_probe();
	return unit_done();
}

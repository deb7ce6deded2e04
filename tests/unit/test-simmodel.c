/* SPDX-License-Identifier: MIT */
/* Unit tests of lib/simmodel.c: the battery model of bms-sim. */
#include <math.h>

#include "simmodel.h"
#include "unit.h"

/* The worked example's cells (Daly notes 4.1). */
static const int example_mv[16] = {
	3338, 3341, 3336, 3343, 3335, 3340, 3342, 3344,
	3337, 3341, 3339, 3352, 3333, 3340, 3342, 3341,
};

static void test_defaults(void)
{
	struct bms_simmodel_cfg c;
	struct bms_simmodel m;
	struct bms_simmodel_snap s;

	bms_simmodel_defaults(&c);
	CHECK_NUM(c.soh, 100, 0);
	CHECK_INT(c.nweak + c.ndrift + c.ndead, 0);
	bms_simmodel_init(&m, &c);
	bms_simmodel_snap(&m, &s);
	for (int k = 0; k < 16; k++)
		CHECK_INT(s.cell_mv[k], example_mv[k]);
	CHECK_NUM(s.remaining_ah, 219.8, 3);
	CHECK_INT(s.nlive, 2);
	CHECK_INT(s.dead, 0);
	CHECK_INT(s.balance, 1u << 11);
}

/* A full discharge empties the pack when its Ah are spent, however the
 * time is cut into steps. */
static void test_soh_discharge(void)
{
	static const double chunks[] = { 7200, 360, 0.7, 3599.9 };

	for (size_t n = 0; n < sizeof chunks / sizeof *chunks; n++) {
		struct bms_simmodel_cfg c;
		struct bms_simmodel m;
		struct bms_simmodel_snap s;

		bms_simmodel_defaults(&c);
		c.capacity = 100;
		c.soh = 80;
		c.soc = 100;
		c.current = -40;
		bms_simmodel_init(&m, &c);
		bms_simmodel_snap(&m, &s);
		CHECK_NUM(s.remaining_ah, 80, 6);
		/* 80 Ah at 40 A: 7200 s.  Just before, still flowing. */
		while (m.t < 7199.0 - 1e-6)
			bms_simmodel_advance(&m, fmin(chunks[n], 7199.0 - m.t));
		bms_simmodel_snap(&m, &s);
		CHECK_NUM(s.current, -40, 3);
		bms_simmodel_advance(&m, 1.0);
		bms_simmodel_snap(&m, &s);
		CHECK_NUM(s.soc, 0, 9);
		CHECK_NUM(s.current, 0, 3);
		CHECK_INT(s.cycles, 43);
		CHECK_INT(s.min_mv, 2502);	/* the bottom knee + the least spread */
		CHECK_NUM(m.t, 7200, 6);
	}
}

static void test_weak_cell(void)
{
	struct bms_simmodel_cfg c;
	struct bms_simmodel m;
	struct bms_simmodel_snap s;
	char err[128];

	bms_simmodel_defaults(&c);
	c.capacity = 100;
	c.soc = 50;
	c.current = 25;
	CHECK_INT(bms_simmodel_weak_parse("3:80", &c, err, sizeof err), 0);
	CHECK_INT(bms_simmodel_weak_parse("3:50", &c, err, sizeof err), 0);	/* replaces */
	CHECK_INT(c.nweak, 1);
	bms_simmodel_init(&m, &c);
	CHECK_INT(m.ref, 2);
	bms_simmodel_advance(&m, 720);	/* 5 Ah */
	CHECK_NUM(m.cell_soc[0], 55, 9);
	CHECK_NUM(m.cell_soc[2], 60, 9);
	CHECK_NUM(m.soc, 60, 9);
	bms_simmodel_advance(&m, 3 * 3600);	/* full long before */
	bms_simmodel_snap(&m, &s);
	CHECK_NUM(s.soc, 100, 9);
	CHECK_NUM(s.current, 0, 3);
	CHECK_NUM(m.cell_soc[0], 75, 9);
	CHECK_INT(s.max_cell, 3);
	CHECK_INT(s.cell_mv[2], 3455);
	CHECK_NUM(s.remaining_ah, 50, 6);
}

static void test_drift_and_dead(void)
{
	struct bms_simmodel_cfg c;
	struct bms_simmodel m;
	struct bms_simmodel_snap s;
	char err[128];

	bms_simmodel_defaults(&c);
	c.current = 0;
	CHECK_INT(bms_simmodel_drift_parse("2:-60@7200", &c, err, sizeof err), 0);
	CHECK_INT(bms_simmodel_dead_parse("1@100.5", &c, err, sizeof err), 0);
	CHECK_INT(bms_simmodel_check(&c, err, sizeof err), 0);
	bms_simmodel_init(&m, &c);
	bms_simmodel_advance(&m, 100);
	bms_simmodel_snap(&m, &s);
	CHECK_INT(s.dead, 0);
	CHECK_INT(s.cell_mv[1], 3339);
	bms_simmodel_advance(&m, 0.5);
	bms_simmodel_snap(&m, &s);
	CHECK_INT(s.dead, 1);
	CHECK_INT(s.nlive, 1);
	CHECK_INT(s.max_t_id, 2);
	CHECK_INT(s.min_t_id, 2);
	bms_simmodel_advance(&m, 7200 + 1800 - 100.5);	/* half an hour past START */
	bms_simmodel_snap(&m, &s);
	CHECK_INT(s.cell_mv[1], 3339 - 30);
	CHECK_INT(s.cell_mv[0], 3336);
}

static void test_parse(void)
{
	struct bms_simmodel_cfg c;
	char err[128];
	double t;

	bms_simmodel_defaults(&c);
	CHECK_INT(bms_simmodel_weak_parse("0:50", &c, err, sizeof err), -1);
	CHECK_STR(err, "expected CELL:PCT");
	CHECK_INT(bms_simmodel_weak_parse("2:101", &c, err, sizeof err), -1);
	CHECK_STR(err, "PCT must be a number from 1 to 100");
	CHECK_INT(bms_simmodel_drift_parse("2:5@", &c, err, sizeof err), -1);
	CHECK_STR(err, "START must be model seconds from 0 to 1e9");
	CHECK_INT(bms_simmodel_drift_parse("2:5x", &c, err, sizeof err), -1);
	CHECK_INT(bms_simmodel_dead_parse("3x", &c, err, sizeof err), -1);
	CHECK_STR(err, "expected PROBE[@START]");
	CHECK_INT(bms_simmodel_dead_parse("3", &c, err, sizeof err), 0);
	CHECK_INT(bms_simmodel_check(&c, err, sizeof err), -1);
	CHECK_STR(err, "--dead-probe: probe 3 of 2");
	CHECK_INT(bms_simmodel_time_parse("1800", &t), 0);
	CHECK_NUM(t, 1800, 0);
	CHECK_INT(bms_simmodel_time_parse("-1", &t), -1);
	CHECK_INT(bms_simmodel_time_parse("0x10", &t), -1);
	CHECK_INT(bms_simmodel_time_parse("inf", &t), -1);
	CHECK_INT(bms_simmodel_time_parse("", &t), -1);
}

int main(void)
{
	test_defaults();
	test_soh_discharge();
	test_weak_cell();
	test_drift_and_dead();
	test_parse();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/proto.c: the names and facts of the protocol table,
 * which --proto, the frames record's "proto" and every role's table
 * share.
 */
#include "proto.h"
#include "unit.h"

static void test_names(void)
{
	int n = 0;

	CHECK_STR(bms_proto_name(BMS_PROTO_DALY), "daly");
	CHECK_STR(bms_proto_name(BMS_PROTO_DALY_MODBUS), "daly-modbus");
	/* The word list of bms_opt_word: every id in order, then NULL. */
	while (bms_proto_names[n])
		n++;
	CHECK_INT(n, BMS_PROTO_COUNT);
	for (int p = 0; p < BMS_PROTO_COUNT; p++) {
		CHECK_STR(bms_proto_names[p], bms_proto_name(p));
		CHECK_INT(bms_proto_find(bms_proto_name(p)), p);
	}
	/* The default is the first. */
	CHECK_INT(BMS_PROTO_DALY, 0);
}

static void test_find(void)
{
	CHECK_INT(bms_proto_find("daly"), BMS_PROTO_DALY);
	CHECK_INT(bms_proto_find("daly-modbus"), BMS_PROTO_DALY_MODBUS);
	CHECK_INT(bms_proto_find(""), -1);
	CHECK_INT(bms_proto_find("Daly"), -1);
	CHECK_INT(bms_proto_find("daly-"), -1);
	CHECK_INT(bms_proto_find("dal"), -1);
	CHECK_INT(bms_proto_find("foxbms"), -1);
}

static void test_boards(void)
{
	CHECK_INT(bms_proto_boards(BMS_PROTO_DALY), 16);
	CHECK_INT(bms_proto_boards(BMS_PROTO_DALY_MODBUS), 1);
	for (int p = 0; p < BMS_PROTO_COUNT; p++)
		CHECK(bms_proto_boards(p) >= 1 && bms_proto_boards(p) <= 16);
}

int main(void)
{
	test_names();
	test_find();
	test_boards();
	return unit_done();
}

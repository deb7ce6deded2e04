/* SPDX-License-Identifier: MIT */
/*
 * The protocol table (see proto.h).  Both tables are indexed by enum
 * bms_proto and sized by their entries, so that one left out fails the
 * build.
 */
#include <assert.h>
#include <string.h>

#include "proto.h"

const char *const bms_proto_names[] = {
	[BMS_PROTO_DALY] = "daly",
	[BMS_PROTO_DALY_MODBUS] = "daly-modbus",
	NULL
};
_Static_assert(sizeof bms_proto_names / sizeof bms_proto_names[0] ==
	       BMS_PROTO_COUNT + 1, "a protocol without a name");

static const int boards[] = {
	[BMS_PROTO_DALY] = 16,
	[BMS_PROTO_DALY_MODBUS] = 1,
};
_Static_assert(sizeof boards / sizeof boards[0] == BMS_PROTO_COUNT,
	       "a protocol without its board count");

const char *bms_proto_name(enum bms_proto p)
{
	assert((unsigned)p < BMS_PROTO_COUNT);
	return bms_proto_names[p];
}

int bms_proto_find(const char *name)
{
	for (int p = 0; p < BMS_PROTO_COUNT; p++)
		if (strcmp(name, bms_proto_names[p]) == 0)
			return p;
	return -1;
}

int bms_proto_boards(enum bms_proto p)
{
	assert((unsigned)p < BMS_PROTO_COUNT);
	return boards[p];
}

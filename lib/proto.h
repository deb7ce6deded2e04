/* SPDX-License-Identifier: MIT */
/*
 * The protocols TrackingBMS speaks: one id, one name and the static facts
 * of each, for every program and module that names a protocol.  The name
 * is what --proto takes and what a frames record's "proto" holds.
 *
 * Each role a protocol plays lives in its own module, in a table indexed
 * by enum bms_proto, so that a program links only the roles it uses
 * (bms-decode never pulls in the simulator, bms-sim never the decoder):
 *
 *   decoder          lib/frames.c   frames of one poll into a reading
 *   poll requests    lib/cycle.c    what bms-read asks, how it knows a reply
 *   simulator        lib/sim.c      how bms-sim finds requests and answers
 *
 * Each such table is declared without a size and followed by a static
 * assertion that it has BMS_PROTO_COUNT entries.  The rule for adding a
 * protocol: append its id just before BMS_PROTO_COUNT, its name and facts
 * to the tables of proto.c, and one entry to each role's table.  A
 * missing entry makes that table one short, and the build fails there.
 * (A protocol that cannot play a role yet, such as one without a
 * simulator, still gets an entry there, one that says so.)
 *
 * Pure data; nothing here allocates, prints or fails.
 */
#ifndef BMS_PROTO_H
#define BMS_PROTO_H

enum bms_proto {
	BMS_PROTO_DALY,		/* Daly A5 frames ("daly"), the default */
	BMS_PROTO_DALY_MODBUS,	/* Daly D2 Modbus-RTU ("daly-modbus") */
	BMS_PROTO_COUNT		/* new protocols go just before this */
};

/*
 * Every name in id order, then NULL: the word list bms_opt_word takes
 * (opt.h), so that a bad --proto names them all.
 */
extern const char *const bms_proto_names[];

/* The name of p ("daly", "daly-modbus"); p must be a valid id. */
const char *bms_proto_name(enum bms_proto p);

/* The id named exactly name (a C string), or -1 when none is. */
int bms_proto_find(const char *name);

/*
 * Boards one bus of protocol p can address, 1..16: 16 for A5 (host
 * address 0x40 + board - 1), 1 for D2 (every board answers at 0xD2).
 */
int bms_proto_boards(enum bms_proto p);

#endif

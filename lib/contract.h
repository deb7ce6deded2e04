/* SPDX-License-Identifier: MIT */
/*
 * The shapes of the project's API contract that bms-serve reads and
 * writes, checked and built here once:
 *
 *   BMSConnectionRequest   what POST /api/v1/bms/connect takes:
 *     {"bms_id":"house",                      optional, 1..127 bytes;
 *                                             default: from the device
 *      "name":"House bank",                   optional
 *      "bms_type":"daly_bms",                 daly_bms, foxbms, libre_solar,
 *                                             green_bms
 *      "connection_config":{
 *        "protocol":"uart",                   uart, bluetooth, can, modbus
 *        "device_path":"/dev/ttyUSB0",        uart, can, modbus: required
 *        "mac_address":"AA:BB:CC:DD:EE:FF",   bluetooth: required
 *        "baud_rate":9600,                    9600, 19200, 38400, 57600, 115200
 *        "timeout":1.0}}                      s, 0.1 to 10
 *
 *   BMSRealtimeData        a stored reading as GET /api/v1/bms/data/{id}
 *                          answers it: the reading's fields, without the
 *                          record's "type" and "tenant".
 *
 * Errors name the field, as a 400 answer does:
 *   "connection_config.baud_rate: not one of 9600, 19200, 38400, 57600, 115200"
 */
#ifndef BMS_CONTRACT_H
#define BMS_CONTRACT_H

#include <stddef.h>

#include "buf.h"

struct bms_contract_conn {
	char bms_id[128];
	char name[128];			/* "" when not given */
	char bms_type[16];
	char protocol[16];
	char device_path[256];		/* "" when not given */
	char mac_address[18];		/* "" when not given */
	long baud_rate;			/* 0 when not given */
	double timeout;			/* s; 0 when not given */
};

/*
 * Check a BMSConnectionRequest, body[0..len), into *c.  Returns 0, or -1
 * with field (the field at fault, "" for the body as a whole) and why
 * (a sentence) filled.
 */
int bms_contract_conn_parse(const char *body, size_t len, struct bms_contract_conn *c,
			    char *field, size_t fieldsz, char *why, size_t whysz);

/* The registry's device text of c: its device_path, or its MAC address. */
const char *bms_contract_conn_device(const struct bms_contract_conn *c);

/*
 * Append a reading line (as stored) in the BMSRealtimeData shape to out:
 * its members but "type" and "tenant", in their order.  Returns 0, or -1
 * if the line is not a JSON object.
 */
int bms_contract_realtime(const char *line, size_t len, struct bms_buf *out);

#endif

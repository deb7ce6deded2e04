/* SPDX-License-Identifier: MIT */
/*
 * lib/contract: a BMSConnectionRequest checked field by field, with the
 * field each error names; a stored reading in the BMSRealtimeData shape.
 */
#include <string.h>

#include "contract.h"
#include "unit.h"

static char field[64], why[256];

static int parse(const char *body, struct bms_contract_conn *c)
{
	return bms_contract_conn_parse(body, strlen(body), c, field, sizeof field, why, sizeof why);
}

/* The field and reason a body is refused with, "field: why". */
static const char *refused(const char *body)
{
	static char out[400];
	struct bms_contract_conn c;

	if (parse(body, &c) == 0)
		return "(accepted)";
	snprintf(out, sizeof out, "%s: %s", field, why);
	return out;
}

static void test_accepted(void)
{
	struct bms_contract_conn c;

	CHECK_INT(parse("{\"bms_type\":\"daly_bms\",\"connection_config\":{\"protocol\":\"uart\","
			"\"device_path\":\"/dev/ttyUSB0\",\"baud_rate\":9600,\"timeout\":1.5}}", &c), 0);
	CHECK_STR(c.bms_id, "ttyUSB0");
	CHECK_STR(c.bms_type, "daly_bms");
	CHECK_STR(c.protocol, "uart");
	CHECK_STR(bms_contract_conn_device(&c), "/dev/ttyUSB0");
	CHECK_INT(c.baud_rate, 9600);
	CHECK_NUM(c.timeout, 1.5, 3);
	CHECK_INT(parse("{\"bms_id\":\"van\",\"name\":\"Van\",\"bms_type\":\"green_bms\","
			"\"connection_config\":{\"protocol\":\"bluetooth\","
			"\"mac_address\":\"a4:C1:38:00:11:22\"}}", &c), 0);
	CHECK_STR(c.bms_id, "van");
	CHECK_STR(c.name, "Van");
	CHECK_STR(bms_contract_conn_device(&c), "a4:C1:38:00:11:22");
	CHECK_INT(c.baud_rate, 0);
}

static void test_refused(void)
{
	CHECK_STR(refused("[1]"), ": not a JSON object");
	CHECK_STR(refused("{\"bms_type\":\"daly_bms\",\"bms_type\":\"foxbms\"}"),
		  ": not JSON: duplicate object key near '\"bms_type\"'");
	CHECK_STR(refused("{"), ": not JSON: string or '}' expected near end of file");
	CHECK_STR(refused("{}"), "bms_type: required");
	CHECK_STR(refused("{\"bms_type\":\"jbd\"}"),
		  "bms_type: not one of daly_bms, foxbms, libre_solar, green_bms");
	CHECK_STR(refused("{\"bms_type\":7}"), "bms_type: not a string");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\"}"), "connection_config: required");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":[]}"),
		  "connection_config: not an object");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":{\"protocol\":\"usb\"}}"),
		  "connection_config.protocol: not one of uart, bluetooth, can, modbus");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":{\"protocol\":\"can\"}}"),
		  "connection_config.device_path: required for this protocol");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":{\"protocol\":\"bluetooth\"}}"),
		  "connection_config.mac_address: required for bluetooth");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":{\"protocol\":\"bluetooth\","
			  "\"mac_address\":\"AA:BB:CC:DD:EE:GG\"}}"),
		  "connection_config.mac_address: not a MAC address such as AA:BB:CC:DD:EE:FF");
	CHECK_STR(refused("{\"bms_type\":\"foxbms\",\"connection_config\":{\"protocol\":\"bluetooth\","
			  "\"mac_address\":\"AA:BB:CC:DD:EE:FF:00\"}}"),
		  "connection_config.mac_address: a string of 1 to 17 bytes");
	CHECK_STR(refused("{\"bms_type\":\"daly_bms\",\"connection_config\":{\"protocol\":\"uart\","
			  "\"device_path\":\"/dev/x\",\"baud_rate\":4800}}"),
		  "connection_config.baud_rate: not one of 9600, 19200, 38400, 57600, 115200");
	CHECK_STR(refused("{\"bms_type\":\"daly_bms\",\"connection_config\":{\"protocol\":\"uart\","
			  "\"device_path\":\"/dev/x\",\"baud_rate\":\"9600\"}}"),
		  "connection_config.baud_rate: not an integer");
	CHECK_STR(refused("{\"bms_type\":\"daly_bms\",\"connection_config\":{\"protocol\":\"uart\","
			  "\"device_path\":\"/dev/x\",\"timeout\":0.05}}"),
		  "connection_config.timeout: not from 0.1 to 10 (seconds)");
	CHECK_STR(refused("{\"bms_type\":\"daly_bms\",\"connection_config\":{\"protocol\":\"uart\","
			  "\"device_path\":\"/dev/x\",\"timeout\":true}}"),
		  "connection_config.timeout: not a number");
	CHECK_STR(refused("{\"bms_id\":\"a\\u0001b\",\"bms_type\":\"daly_bms\"}"),
		  "bms_id: control character at byte 2");
	CHECK_STR(refused("{\"bms_id\":\"\",\"bms_type\":\"daly_bms\"}"),
		  "bms_id: a string of 1 to 127 bytes");
}

static void test_realtime(void)
{
	struct bms_buf b = BMS_BUF_INIT;

	const char *l1 = "{\"type\":\"reading\",\"bms_id\":\"h\",\"timestamp\":\"T\","
			 "\"tenant\":\"home\",\"pack_voltage\":53.419}";
	const char *l2 = "{\"bms_id\":\"h\", \"type\" : \"reading\"}";

	CHECK_INT(bms_contract_realtime(l1, strlen(l1), &b), 0);
	CHECK_STR(b.p, "{\"bms_id\":\"h\",\"timestamp\":\"T\",\"pack_voltage\":53.419}");
	bms_buf_reset(&b);
	CHECK_INT(bms_contract_realtime(l2, strlen(l2), &b), 0);
	CHECK_STR(b.p, "{\"bms_id\":\"h\"}");
	bms_buf_reset(&b);
	CHECK_INT(bms_contract_realtime("{\"type\":\"reading\"}", 18, &b), 0);
	CHECK_STR(b.p, "{}");
	/* Side by side, last, or the only ones. */
	{
		static const char *const cases[][2] = {
			{ "{\"a\":1,\"type\":\"x\",\"tenant\":\"t\"}", "{\"a\":1}" },
			{ "{\"type\":\"x\",\"tenant\":\"t\",\"a\":1}", "{\"a\":1}" },
			{ "{\"tenant\":\"t\", \"a\":[1,2], \"type\":\"x\"}", "{ \"a\":[1,2]}" },
			{ "{\"type\":\"x\",\"tenant\":\"t\"}", "{}" },
			{ "{\"a\":\"type\",\"b\":{\"type\":1}}", "{\"a\":\"type\",\"b\":{\"type\":1}}" },
		};

		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			bms_buf_reset(&b);
			CHECK_INT(bms_contract_realtime(cases[i][0], strlen(cases[i][0]), &b), 0);
			CHECK_STR(b.p, cases[i][1]);
		}
	}
	CHECK_INT(bms_contract_realtime("{\"type\":", 8, &b), -1);
	bms_buf_free(&b);
}

int main(void)
{
	test_accepted();
	test_refused();
	test_realtime();
	return unit_done();
}

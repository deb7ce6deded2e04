/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the API contract's connection request and realtime
 * shape (lib/contract.c) on arbitrary bytes.  A request is accepted
 * with every field within its bounds, or refused naming a field and a
 * reason of one line; a JSON object cut to the realtime shape is still
 * one JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_contract_conn c;
	struct bms_buf b = BMS_BUF_INIT;
	char field[64], why[256];

	if (bms_contract_conn_parse((const char *)data, size, &c, field, sizeof field, why,
				    sizeof why) == 0) {
		if (!c.bms_id[0] || !c.bms_type[0] || !c.protocol[0] ||
		    !bms_contract_conn_device(&c)[0] ||
		    (c.timeout != 0 && (c.timeout < 0.1 || c.timeout > 10)))
			abort();
	} else if (!why[0] || strchr(why, '\n') || strchr(field, '\n')) {
		abort();
	}
	if (bms_json_scan((const char *)data, size, NULL, 0, NULL) == 0) {
		if (bms_contract_realtime((const char *)data, size, &b) < 0 ||
		    bms_json_scan(b.p ? b.p : "", b.len, NULL, 0, NULL) < 0)
			abort();
	}
	bms_buf_free(&b);
	return 0;
}

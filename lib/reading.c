/* SPDX-License-Identifier: MIT */
/*
 * Reading records (see reading.h).  The field order is fixed, so equal
 * readings are equal lines and tests can diff them.
 */
#include <string.h>

#include "reading.h"

void bms_reading_clear(struct bms_reading *r)
{
	memset(r, 0, sizeof *r);
}

void bms_reading_fault(struct bms_reading *r, const char *code)
{
	r->have |= BMS_R_CODES;
	if (r->nfaults < BMS_MAX_CODES)
		r->faults[r->nfaults++] = code;
}

void bms_reading_warning(struct bms_reading *r, const char *code)
{
	r->have |= BMS_R_CODES;
	if (r->nwarnings < BMS_MAX_CODES)
		r->warnings[r->nwarnings++] = code;
}

static void key(struct bms_buf *b, const char *k)
{
	bms_buf_putc(b, ',');
	bms_buf_putc(b, '"');
	bms_buf_puts(b, k);
	bms_buf_puts(b, "\":");
}

static void num(struct bms_buf *b, const char *k, double v, int dec)
{
	key(b, k);
	bms_buf_num(b, v, dec);
}

static void boolean(struct bms_buf *b, const char *k, bool v, int first)
{
	if (!first)
		bms_buf_putc(b, ',');
	bms_buf_putc(b, '"');
	bms_buf_puts(b, k);
	bms_buf_puts(b, v ? "\":true" : "\":false");
}

static void whole(struct bms_buf *b, const char *k, long v)
{
	key(b, k);
	bms_buf_num(b, (double)v, 0);
}

static void codes(struct bms_buf *b, const char *k, const char *const *c, int n)
{
	key(b, k);
	bms_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			bms_buf_putc(b, ',');
		bms_buf_json_str(b, c[i], strlen(c[i]));
	}
	bms_buf_putc(b, ']');
}

void bms_reading_json(const struct bms_reading *r,
		      const struct bms_reading_head *h, struct bms_buf *b)
{
	bms_buf_puts(b, "{\"type\":\"reading\",\"bms_id\":");
	bms_buf_add(b, h->bms_id, h->bms_id_len);
	bms_buf_puts(b, ",\"timestamp\":");
	bms_buf_add(b, h->timestamp, h->timestamp_len);
	if (h->tenant) {
		bms_buf_puts(b, ",\"tenant\":");
		bms_buf_add(b, h->tenant, h->tenant_len);
	}
	if (h->proto) {
		key(b, "proto");
		bms_buf_json_str(b, h->proto, strlen(h->proto));
	}
	if (r->have & BMS_R_VOLTAGE)
		num(b, "pack_voltage", r->pack_voltage, 3);
	if (r->have & BMS_R_CURRENT)
		num(b, "pack_current", r->pack_current, 3);
	if (r->have & BMS_R_POWER)
		num(b, "pack_power", r->pack_power, 2);
	if (r->have & BMS_R_SOC)
		num(b, "soc_percent", r->soc_percent, 2);
	if (r->have & BMS_R_SOH)
		num(b, "soh_percent", r->soh_percent, 2);
	if (r->have & BMS_R_TEMPS) {
		key(b, "temperatures");
		bms_buf_putc(b, '[');
		for (int i = 0; i < r->ntemps; i++) {
			if (i)
				bms_buf_putc(b, ',');
			bms_buf_num(b, r->temps[i], 2);
		}
		bms_buf_putc(b, ']');
	}
	if (r->have & BMS_R_CELLS) {
		key(b, "cell_voltages");
		bms_buf_putc(b, '[');
		for (int i = 0; i < r->ncells; i++) {
			if (i)
				bms_buf_putc(b, ',');
			bms_buf_num(b, r->cells[i], 4);
		}
		bms_buf_putc(b, ']');
	}
	if (r->have & BMS_R_BALANCE) {
		int first = 1;

		key(b, "balancing_status");
		bms_buf_putc(b, '{');
		boolean(b, "active", r->balancing_active, 1);
		bms_buf_puts(b, ",\"cells_balancing\":[");
		for (int i = 0; i < 64; i++) {
			if (!(r->balancing_mask >> i & 1))
				continue;
			if (!first)
				bms_buf_putc(b, ',');
			bms_buf_num(b, i + 1, 0);
			first = 0;
		}
		bms_buf_puts(b, "]}");
	}
	if (r->have & BMS_R_PROTECT) {
		key(b, "protection_status");
		bms_buf_putc(b, '{');
		boolean(b, "overvoltage", r->prot.overvoltage, 1);
		boolean(b, "undervoltage", r->prot.undervoltage, 0);
		boolean(b, "overcurrent_charge", r->prot.overcurrent_charge, 0);
		boolean(b, "overcurrent_discharge", r->prot.overcurrent_discharge, 0);
		boolean(b, "overtemperature", r->prot.overtemperature, 0);
		boolean(b, "undertemperature", r->prot.undertemperature, 0);
		bms_buf_putc(b, '}');
	}
	if (r->have & BMS_R_CODES) {
		codes(b, "fault_codes", r->faults, r->nfaults);
		codes(b, "warning_codes", r->warnings, r->nwarnings);
	}
	if (r->have & BMS_R_CYCLES)
		whole(b, "cycles", r->cycles);
	if (r->have & BMS_R_REMAIN)
		num(b, "remaining_capacity_ah", r->remaining_capacity_ah, 3);
	if (r->have & BMS_R_NOMINAL)
		num(b, "nominal_capacity_ah", r->nominal_capacity_ah, 3);
	if (r->have & BMS_R_MOS) {
		bms_buf_putc(b, ',');
		boolean(b, "charge_mos", r->charge_mos, 1);
		boolean(b, "discharge_mos", r->discharge_mos, 0);
	}
	if (r->have & BMS_R_CELLS)
		whole(b, "cell_count", r->ncells);
	if (r->have & BMS_R_TEMPS)
		whole(b, "temp_count", r->ntemps);
	bms_buf_putc(b, '}');
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/merge: definitions, the alignment of the packs'
 * readings (each used once, stale ones dropped, never fewer packs than
 * listed), parallel and series values computed by hand, what does not
 * fit a reading, and pending readings through a state record.
 */
#include <string.h>

#include "buf.h"
#include "merge.h"
#include "reading.h"
#include "unit.h"

static struct bms_reading_doc doc;

/* Parse a reading line into doc (a failure is a failed check). */
static const struct bms_reading_doc *rd(const char *line)
{
	char why[256];

	CHECK_INT(bms_reading_parse(line, strlen(line), &doc, why, sizeof why), 0);
	return &doc;
}

static void test_parse(void)
{
	struct bms_merge_def d;
	char err[256];

	CHECK_INT(bms_merge_parse(&d, "bank=a,b,c", err, sizeof err), 0);
	CHECK_STR(d.name, "bank");
	CHECK_INT(d.npacks, 3);
	CHECK_STR(d.pack[2], "c");
	CHECK_INT(bms_merge_parse(&d, "bank", err, sizeof err), -1);
	CHECK_STR(err, "'bank' is not NAME=ID,ID,...");
	CHECK_INT(bms_merge_parse(&d, "bank=a", err, sizeof err), -1);
	CHECK_STR(err, "bank: at least 2 packs");
	CHECK_INT(bms_merge_parse(&d, "bank=a,a", err, sizeof err), -1);
	CHECK_STR(err, "bank: pack 'a' twice");
	CHECK_INT(bms_merge_parse(&d, "bank=a,bank", err, sizeof err), -1);
	CHECK_STR(err, "bank: a pack cannot be the merged battery");
	CHECK_INT(bms_merge_parse(&d, "bank=a,,b", err, sizeof err), -1);
	CHECK_STR(err, "bank: an empty pack name");
	CHECK_INT(bms_merge_parse(&d, "b=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", err, sizeof err), -1);
	CHECK_STR(err, "b: more than 16 packs");
	{
		struct bms_merge_def ds[2];

		CHECK_INT(bms_merge_parse(&ds[0], "a=p1,p2", err, sizeof err), 0);
		CHECK_INT(bms_merge_parse(&ds[1], "b=p3,a", err, sizeof err), 0);
		CHECK_INT(bms_merge_check(ds, 2, err, sizeof err), -1);
		CHECK_STR(err, "merge 'a' is a pack of merge 'b'");
		CHECK_INT(bms_merge_parse(&ds[1], "b=p3,p2", err, sizeof err), 0);
		CHECK_INT(bms_merge_check(ds, 2, err, sizeof err), -1);
		CHECK_STR(err, "pack 'p2' is in merges 'a' and 'b'");
		CHECK_INT(bms_merge_parse(&ds[1], "a=p3,p4", err, sizeof err), 0);
		CHECK_INT(bms_merge_check(ds, 2, err, sizeof err), -1);
		CHECK_STR(err, "merge 'a' is defined twice");
		CHECK_INT(bms_merge_parse(&ds[1], "b=p3,p4", err, sizeof err), 0);
		CHECK_INT(bms_merge_check(ds, 2, err, sizeof err), 0);
	}
}

#define R(id, t, rest) "{\"type\":\"reading\",\"bms_id\":\"" id "\",\"timestamp\":\"2026-11-27T00:00:" t "Z\"," rest "}"

static struct bms_merge m;

static void setup(int mode, int64_t window)
{
	struct bms_merge_def d;
	char err[256];

	CHECK_INT(bms_merge_parse(&d, "bank=p1,p2,p3", err, sizeof err), 0);
	d.mode = mode;
	d.window_ms = window;
	bms_merge_init(&m, &d);
}

static void test_values(void)
{
	struct bms_reading out;
	struct bms_buf b = BMS_BUF_INIT;
	const char *tenant;
	int64_t ts;
	unsigned cut;

	/* Three packs in parallel, capacities 100, 200 and unknown: equal
	 * weights, as one pack has none. */
	setup(BMS_MERGE_PARALLEL, 5000);
	CHECK_INT(bms_merge_pack(&m, "p2"), 1);
	CHECK_INT(bms_merge_pack(&m, "p9"), -1);
	CHECK_INT(bms_merge_offer(&m, 0, rd(R("p1", "01.000", "\"pack_voltage\":53,\"pack_current\":10,\"soc_percent\":40,\"nominal_capacity_ah\":100")),
				  &out, &ts, &tenant, &cut), 0);
	CHECK_INT(bms_merge_offer(&m, 1, rd(R("p2", "01.100", "\"pack_voltage\":53.3,\"pack_current\":20,\"soc_percent\":70,\"nominal_capacity_ah\":200")),
				  &out, &ts, &tenant, &cut), 0);
	CHECK_INT(bms_merge_offer(&m, 2, rd(R("p3", "00.900", "\"tenant\":\"lab\",\"pack_voltage\":53.6,\"pack_current\":-6,\"soc_percent\":100")),
				  &out, &ts, &tenant, &cut), 1);
	CHECK_INT(cut, 0);
	CHECK_INT(m.made, 1);
	bms_merge_json(&m, &out, ts, tenant, &b);
	bms_buf_putc(&b, '\0');
	CHECK_STR(b.p, "{\"type\":\"reading\",\"bms_id\":\"bank\",\"timestamp\":\"2026-11-27T00:00:01.100Z\","
		  "\"pack_voltage\":53.3,\"pack_current\":24,\"soc_percent\":70}");
	/* The same, series, with the third pack's capacity configured:
	 * SOC the lowest (weights play no part), current the mean. */
	setup(BMS_MERGE_SERIES, 5000);
	m.def.capacity_ah[2] = 300;
	bms_merge_offer(&m, 0, rd(R("p1", "01.000", "\"pack_voltage\":13,\"pack_current\":10,\"soc_percent\":40")),
			&out, &ts, &tenant, &cut);
	bms_merge_offer(&m, 1, rd(R("p2", "01.100", "\"pack_voltage\":13.5,\"pack_current\":11,\"soc_percent\":70")),
			&out, &ts, &tenant, &cut);
	CHECK_INT(bms_merge_offer(&m, 2, rd(R("p3", "01.100", "\"tenant\":\"lab\",\"pack_voltage\":13.25,\"pack_current\":12,\"soc_percent\":35")),
				  &out, &ts, &tenant, &cut), 1);
	/* Equal times: the first in the list gives the tenant (none). */
	CHECK(tenant == NULL);
	bms_buf_reset(&b);
	bms_merge_json(&m, &out, ts, tenant, &b);
	bms_buf_putc(&b, '\0');
	CHECK_STR(b.p, "{\"type\":\"reading\",\"bms_id\":\"bank\",\"timestamp\":\"2026-11-27T00:00:01.100Z\","
		  "\"pack_voltage\":39.75,\"pack_current\":11,\"soc_percent\":35}");
	/* Parallel with every capacity: (40 x 100 + 70 x 200 + 100 x 300) / 600. */
	setup(BMS_MERGE_PARALLEL, 5000);
	m.def.capacity_ah[2] = 300;
	bms_merge_offer(&m, 0, rd(R("p1", "01.000", "\"soc_percent\":40,\"nominal_capacity_ah\":100")),
			&out, &ts, &tenant, &cut);
	bms_merge_offer(&m, 1, rd(R("p2", "01.000", "\"soc_percent\":70,\"nominal_capacity_ah\":200")),
			&out, &ts, &tenant, &cut);
	bms_merge_offer(&m, 2, rd(R("p3", "01.000", "\"soc_percent\":100")), &out, &ts, &tenant, &cut);
	CHECK_NUM(out.soc_percent, 80, 9);
	/* nominal_capacity_ah is in the merged reading only if every pack has it. */
	CHECK_INT(out.have, BMS_R_SOC);
	bms_buf_free(&b);
}

static void test_alignment(void)
{
	struct bms_reading out;
	const char *tenant;
	int64_t ts;
	unsigned cut;

	setup(BMS_MERGE_PARALLEL, 2000);
	/* p1 at 0 s is too old for p2 at 3 s: dropped. */
	bms_merge_offer(&m, 0, rd(R("p1", "00.000", "\"pack_current\":1")), &out, &ts, &tenant, &cut);
	bms_merge_offer(&m, 1, rd(R("p2", "03.000", "\"pack_current\":2")), &out, &ts, &tenant, &cut);
	CHECK_INT(m.dropped, 1);
	CHECK_INT(m.full[0], 0);
	/* p1 at 4 s is replaced by p1 at 5 s. */
	bms_merge_offer(&m, 0, rd(R("p1", "04.000", "\"pack_current\":3")), &out, &ts, &tenant, &cut);
	bms_merge_offer(&m, 0, rd(R("p1", "05.000", "\"pack_current\":4")), &out, &ts, &tenant, &cut);
	CHECK_INT(m.dropped, 2);
	CHECK_INT(bms_merge_offer(&m, 2, rd(R("p3", "04.500", "\"pack_current\":5")), &out, &ts, &tenant, &cut), 1);
	CHECK_NUM(out.pack_current, 11, 9);
	CHECK_INT(ts, 1795737605000);
	/* Used once: the next needs all three again. */
	CHECK_INT(bms_merge_offer(&m, 0, rd(R("p1", "06.000", "\"pack_current\":1")), &out, &ts, &tenant, &cut), 0);
	CHECK_INT(bms_merge_offer(&m, 2, rd(R("p3", "06.000", "\"pack_current\":1")), &out, &ts, &tenant, &cut), 0);
}

static void test_cut(void)
{
	struct bms_reading out;
	const char *tenant;
	int64_t ts;
	unsigned cut;
	char line[4096], cells[1024] = "";

	for (int i = 0; i < 17; i++)
		strcat(cells, i ? ",3.3" : "3.3");
	setup(BMS_MERGE_SERIES, 5000);
	for (int p = 0; p < 3; p++) {
		snprintf(line, sizeof line, "{\"type\":\"reading\",\"bms_id\":\"p%d\",\"timestamp\":"
			 "\"2026-11-27T00:00:00Z\",\"temperatures\":[20],\"cell_voltages\":[%s]}",
			 p + 1, cells);
		bms_merge_offer(&m, p, rd(line), &out, &ts, &tenant, &cut);
	}
	CHECK_INT(cut, BMS_MERGE_CUT_CELLS);
	CHECK_INT(out.have, BMS_R_TEMPS);
	CHECK_INT(out.ntemps, 3);
}

static void test_state(void)
{
	struct bms_merge *ms[1] = { &m };
	struct bms_buf b = BMS_BUF_INIT;
	struct bms_reading out;
	const char *tenant;
	int64_t ts;
	unsigned cut;
	char err[256];
	int dropped;

	setup(BMS_MERGE_PARALLEL, 5000);
	bms_merge_offer(&m, 1, rd(R("p2", "01.000", "\"tenant\":\"lab\",\"pack_voltage\":53.123456789,\"fault_codes\":[\"short_circuit\"],\"warning_codes\":[]")),
			&out, &ts, &tenant, &cut);
	CHECK_INT(bms_merge_state_record(&m, 0, &b), 1);
	bms_buf_putc(&b, '\0');
	CHECK_STR(b.p, "{\"kind\":\"pending\",\"merge\":\"bank\",\"pack\":\"p2\",\"reading\":"
		  "{\"type\":\"reading\",\"bms_id\":\"p2\",\"timestamp\":\"2026-11-27T00:00:01.000Z\","
		  "\"tenant\":\"lab\",\"pack_voltage\":53.123456789,\"fault_codes\":[\"short_circuit\"],"
		  "\"warning_codes\":[]}}");
	CHECK_INT(bms_merge_state_record(&m, 1, &b), 0);
	setup(BMS_MERGE_PARALLEL, 5000);
	CHECK_INT(bms_merge_state_load(ms, 1, b.p, strlen(b.p), &dropped, err, sizeof err), 0);
	CHECK_INT(dropped, 0);
	CHECK_INT(m.full[1], 1);
	CHECK_STR(m.slot[1].r.faults[0], "short_circuit");
	CHECK_STR(m.slot[1].env.tenant, "lab");
	CHECK(m.slot[1].r.pack_voltage == 53.123456789);
	/* A merge no longer defined: dropped. */
	strcpy(m.def.name, "other");
	CHECK_INT(bms_merge_state_load(ms, 1, b.p, strlen(b.p), &dropped, err, sizeof err), 0);
	CHECK_INT(dropped, 1);
	bms_buf_free(&b);
}

int main(void)
{
	test_parse();
	test_values();
	test_alignment();
	test_cut();
	test_state();
	return unit_done();
}

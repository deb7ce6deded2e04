/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: bms-alert's engine (lib/alert.c) fed arbitrary lines.
 * The input is split at newlines; each line (copied to a buffer of its
 * own length, no NUL after it, as the filter loop hands lines over) goes
 * to bms_alert_line, except lines that start with '!', which drive the
 * engine as bms-alert does between records:
 *
 *	!t<ms>		bms_alert_tick at the stream's clock plus ms
 *	!a<alert id>	bms_alert_ack of that alert at the stream's clock
 *	!A<tenant> <alert id>	the same in the store of that tenant
 *	!r<c><bms_id>	bms_alert_registry, chemistry c ('0' lfp .. '2' lto,
 *			else unknown)
 *	!u		bms_alert_set_rules: the other of two rule sets
 *	!s		--state round trip: save, load into a new engine over
 *			the same rules, save that one; both files must hold
 *			the same records, and the new engine goes on (twice
 *			an input at most: each save is fsynced)
 *
 * The rules are a fixed text like share/rules/lfp.rules with short
 * timers, and every kind of variable (rate, known, codes, findings,
 * anomalies, health and aggregate fields, the clock).  Every event must
 * be one alert record on one line, and a rejected line must say why.
 * The state files are scratch files in $TMPDIR (default /tmp), named
 * after the process, removed after each round trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "json.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules_a[] =
	"[rule]\n"
	"delay = 1s\n"
	"clear_delay = 2s\n"
	"repeat = 5s\n"
	"\n"
	"[rule \"cell_overvoltage\"]\n"
	"condition = \"cell_max > 3.65\"\n"
	"hysteresis = 0.1\n"
	"escalate = \"cell_max > 3.75\"\n"
	"delay = 0\n"
	"message = \"cell {cell_max_index} at {cell_max:3} V, above {threshold} V ({value:6})\"\n"
	"\n"
	"[rule \"cell_undervoltage\"]\n"
	"condition = \"cell_min < 2.8\"\n"
	"hysteresis = 0.2\n"
	"escalate = \"cell_min < 2.5\"\n"
	"message = \"cell {cell_min_index} at {cell_min:3} V, below {threshold} V\"\n"
	"\n"
	"[rule \"pack_overvoltage\"]\n"
	"condition = \"pack_voltage > cell_count * 3.65\"\n"
	"hysteresis = 0.5\n"
	"message = \"pack at {pack_voltage:2} V, above {threshold:2} V for {cell_count} cells\"\n"
	"\n"
	"[rule \"charging_below_freezing\"]\n"
	"condition = \"pack_current > 0.5 and temp_min < 0\"\n"
	"clear = \"pack_current <= 0.5 or temp_min > 2\"\n"
	"severity = critical\n"
	"delay = 0\n"
	"message = \"charging at {pack_current:1} A, probe {temp_min_index} at {temp_min:1} degC\"\n"
	"\n"
	"[rule \"charge_overtemperature\"]\n"
	"condition = \"charging and temp_max > 45\"\n"
	"clear = \"not charging or temp_max < 42\"\n"
	"escalate = \"temp_max > 55\"\n"
	"chemistry = \"lfp nmc\"\n"
	"message = \"charging at {pack_current:1} A, probe {temp_max_index} at {temp_max:1} degC\"\n"
	"\n"
	"[rule \"cell_imbalance\"]\n"
	"condition = \"cell_spread_mv > 100\"\n"
	"hysteresis = 30\n"
	"delay = 3s\n"
	"clear_delay = 3s\n"
	"message = \"cells {cell_max_index} and {cell_min_index} {cell_spread_mv:0} mV apart, "
	"mean {cell_avg:4}, spread {cell_spread}\"\n"
	"\n"
	"[rule \"low_soc\"]\n"
	"condition = \"soc_percent < 15\"\n"
	"hysteresis = 5\n"
	"escalate = \"soc_percent < 5\"\n"
	"escalate_after = 10s\n"
	"message = \"state of charge {soc_percent:0} %, {remaining_capacity_ah:2} of "
	"{nominal_capacity_ah} Ah, SOH {soh_percent}, {cycles} cycles\"\n"
	"\n"
	"[rule \"bms_protection\"]\n"
	"condition = \"protection\"\n"
	"severity = critical\n"
	"delay = 0\n"
	"message = \"{protection.overvoltage} {protection.undervoltage} "
	"{protection.overcurrent_charge} {protection.overcurrent_discharge} "
	"{protection.overtemperature} {protection.undertemperature}\"\n"
	"\n"
	"[rule \"bms_fault\"]\n"
	"condition = \"fault_count > 0 or fault('cell_overvoltage') or warning('low_soc')\"\n"
	"delay = 0\n"
	"message = \"{fault_count} faults, {warning_count} warnings, {pack_power} W\"\n"
	"\n"
	"[rule \"bms_asleep\"]\n"
	"condition = \"asleep\"\n"
	"severity = info\n"
	"delay = 0\n"
	"clear_delay = 0\n"
	"repeat = 0\n"
	"message = \"asleep for {since_status:0} s ({status_state}, {status_quality})\"\n"
	"\n"
	"[rule \"communication_lost\"]\n"
	"condition = \"since_reading > 5 * interval and not asleep\"\n"
	"delay = 0\n"
	"clear_delay = 0\n"
	"escalate_after = 1h\n"
	"message = \"no reading for {since_reading:0} s (one every {interval:0} s)\"\n"
	"\n"
	"[rule \"bms_gone\"]\n"
	"condition = \"status_reason == 'device_gone' or status_reason == 'open_failed'\"\n"
	"severity = critical\n"
	"delay = 0\n"
	"clear_delay = 0\n"
	"message = \"the BMS's port is gone: {status_reason}\"\n"
	"\n"
	"[rule \"reading_bad\"]\n"
	"condition = \"quality == 'bad' or finding('cell_over_limit')\"\n"
	"delay = 0\n"
	"message = \"{quality} ({finding_count} findings)\"\n"
	"\n"
	"[rule \"anomalies\"]\n"
	"condition = \"anomaly('cell_deviation') or anomaly('temperature_rise')\"\n"
	"delay = 0\n"
	"clear_delay = 0\n"
	"message = \"an anomaly; {temp_max:1} degC, {temp_count} probes\"\n"
	"\n"
	"[rule \"heating_fast\"]\n"
	"condition = \"rate(temp_max, 10s) > 2 and known(temp_max)\"\n"
	"clear = \"rate(temp_max, 10s) < 0.5\"\n"
	"delay = 0\n"
	"message = \"{rule} {severity}: {value} degC in 10 s, {temp_min} to {temp_max}\"\n"
	"\n"
	"[rule \"worn\"]\n"
	"condition = \"health.soh_percent < 80 or aggregate.pack_voltage.max - "
	"aggregate.pack_voltage.min > 2 or health.capacity_kind == 'measured'\"\n"
	"batteries = \"g1 house\"\n"
	"delay = 0\n"
	"message = \"SOH {health.soh_percent:1}, {aggregate.pack_voltage.max:3} V, "
	"{health.capacity_kind}\"\n"
	"\n"
	"[rule \"house_only\"]\n"
	"condition = \"balancing and balancing_count >= 2 or not charge_mos or "
	"discharge_mos == false or discharging and since_status > 3\"\n"
	"batteries = \"house\"\n"
	"chemistry = lto\n"
	"message = \"{bms_id} ({chemistry}): {balancing_count} balancing, {{ok}}\"\n"
	"\n"
	"[battery \"house\"]\n"
	"chemistry = lto\n"
	"interval = 2s\n";

/* What a reload swaps in: rules kept, one gone, one renamed, one new. */
static const char rules_b[] =
	"[rule]\n"
	"delay = 0\n"
	"repeat = 3s\n"
	"\n"
	"[rule \"cell_overvoltage\"]\n"
	"condition = \"cell_max >= 3.6\"\n"
	"hysteresis = 0.05\n"
	"message = \"cell {cell_max_index} at {cell_max:3} V\"\n"
	"\n"
	"[rule \"soc_low\"]\n"
	"condition = \"soc_percent <= 20\"\n"
	"clear = \"soc_percent > 30\"\n"
	"escalate_after = 2s\n"
	"message = \"{soc_percent:0} %\"\n"
	"\n"
	"[rule \"communication_lost\"]\n"
	"condition = \"since_reading > 3 * interval\"\n"
	"severity = critical\n"
	"message = \"no reading for {since_reading:0} s\"\n"
	"\n"
	"[rule \"bms_asleep\"]\n"
	"condition = \"asleep or status_state == 'disconnected'\"\n"
	"message = \"{status_state} {status_reason}\"\n"
	"\n"
	"[rule \"worn\"]\n"
	"condition = \"aggregate.n > 10 and health.soh_percent < 90\"\n"
	"message = \"{aggregate.n} {health.soh_percent}\"\n";

struct fz {
	struct bms_alert *a;
	int which;		/* rules_a (0) or rules_b (1) */
	int def_chem;
	int trips;		/* round trips made */
	char path[2][4096];
};

static struct bms_rules *rules(int which)
{
	const char *t = which ? rules_b : rules_a;
	size_t n = which ? sizeof rules_b - 1 : sizeof rules_a - 1;
	struct bms_rules *rs;
	char err[256];

	if (bms_rules_parse(which ? "b.rules" : "a.rules", t, n, &rs, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz-alert: %s\n", err);
		abort();
	}
	return rs;
}

static void event(void *ctx, const struct bms_alert_event *ev)
{
	static const char head[] = "{\"type\":\"alert\",";
	struct bms_json_field f[3] = { { .key = "alert_id" }, { .key = "state" },
				       { .key = "message" } };

	(void)ctx;
	if (!ev->rec || ev->len < sizeof head || memcmp(ev->rec, head, sizeof head - 1) != 0 ||
	    ev->rec[ev->len - 1] != '}' || memchr(ev->rec, '\n', ev->len) ||
	    memchr(ev->rec, '\0', ev->len))
		abort();
	if (bms_json_scan(ev->rec, ev->len, f, 3, NULL) < 0 || !f[0].val || !f[1].val ||
	    !f[2].val || f[0].dup || f[1].dup)
		abort();
	if (!ev->alert_id || strlen(ev->alert_id) > BMS_ALERT_ID_MAX || !ev->rule ||
	    !ev->state || !ev->severity || !ev->bms_id || !ev->timestamp || !ev->message)
		abort();
	if (strcmp(ev->state, "raised") && strcmp(ev->state, "escalated") &&
	    strcmp(ev->state, "repeated") && strcmp(ev->state, "cleared"))
		abort();
	if (!bms_json_str_eq(f[1].val, f[1].len, ev->state))
		abort();
}

/* A file's bytes after its first line (the header, which holds the time
 * of the save); NULL if unreadable. */
static char *body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL, *nl;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n) {
		p[n] = '\0';
		nl = memchr(p, '\n', (size_t)n);
		*len = nl ? (size_t)(p + n - nl - 1) : 0;
		memmove(p, nl ? nl + 1 : p + n, *len);
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static void round_trip(struct fz *z)
{
	struct bms_alert *b;
	char err[256];
	char *x, *y;
	size_t xl = 0, yl = 0;

	if (bms_alert_state_save(z->a, z->path[0], err, sizeof err) < 0) {
		fprintf(stderr, "fuzz-alert: save: %s\n", err);
		abort();
	}
	if (bms_alert_dirty(z->a))
		abort();
	if (!(b = bms_alert_new(rules(z->which), z->def_chem, event, z)))
		abort();
	if (bms_alert_state_load(b, z->path[0], err, sizeof err) < 0) {
		fprintf(stderr, "fuzz-alert: load: %s\n", err);
		abort();
	}
	if (bms_alert_clock(b) != bms_alert_clock(z->a) ||
	    bms_alert_open_count(b) != bms_alert_open_count(z->a) ||
	    bms_alert_oldest_open(b) != bms_alert_oldest_open(z->a))
		abort();
	if (bms_alert_state_save(b, z->path[1], err, sizeof err) < 0) {
		fprintf(stderr, "fuzz-alert: save again: %s\n", err);
		abort();
	}
	x = body(z->path[0], &xl);
	y = body(z->path[1], &yl);
	if (!x || !y || xl != yl || memcmp(x, y, xl) != 0)
		abort();
	free(x);
	free(y);
	unlink(z->path[0]);
	unlink(z->path[1]);
	bms_alert_free(z->a);
	z->a = b;
}

/* A whole number of at most 12 digits at s[0..n), 0 if none. */
static int64_t digits(const char *s, size_t n)
{
	int64_t v = 0;

	for (size_t i = 0; i < n && i < 12 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static void command(struct fz *z, const char *s, size_t n)
{
	char id[256], *sp;
	int64_t clock = bms_alert_clock(z->a), d;
	size_t k;

	switch (s[1]) {
	case 't':
		d = digits(s + 2, n - 2);
		if (clock != INT64_MIN && clock <= INT64_MAX - d)
			bms_alert_tick(z->a, clock + d);
		break;
	case 'a':
	case 'A':
		k = n - 2 < sizeof id - 1 ? n - 2 : sizeof id - 1;
		memcpy(id, s + 2, k);
		id[k] = '\0';
		sp = s[1] == 'A' ? strchr(id, ' ') : NULL;
		if (sp)
			*sp = '\0';
		(void)bms_alert_ack(z->a, sp ? id : NULL, sp ? sp + 1 : id, clock);
		break;
	case 'r':
		if (n < 3)
			break;
		k = n - 3 < sizeof id - 1 ? n - 3 : sizeof id - 1;
		memcpy(id, s + 3, k);
		id[k] = '\0';
		bms_alert_registry(z->a, id, s[2] >= '0' && s[2] <= '2' ? s[2] - '0' : -1);
		break;
	case 'u':
		/* -1: out of memory, the old rules kept. */
		if (bms_alert_set_rules(z->a, rules(!z->which)) == 0)
			z->which = !z->which;
		break;
	case 's':
		if (z->trips++ < 2)
			round_trip(z);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { .def_chem = size ? (data[0] & 3) - 1 : -1 };
	const char *p = (const char *)data, *end = p + size;
	const char *tmp = getenv("TMPDIR");
	char why[256];

	if (!tmp || !*tmp || strlen(tmp) > 4000)
		tmp = "/tmp";
	snprintf(z.path[0], sizeof z.path[0], "%s/fuzz-alert-%ld.state", tmp, (long)getpid());
	snprintf(z.path[1], sizeof z.path[1], "%s/fuzz-alert-%ld-2.state", tmp, (long)getpid());
	if (!(z.a = bms_alert_new(rules(0), z.def_chem, event, &z)))
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line;
		int rc;

		if (n >= 2 && p[0] == '!') {
			command(&z, p, n);
		} else if ((line = malloc(n ? n : 1))) {
			memcpy(line, p, n);
			why[0] = '\0';
			rc = bms_alert_line(z.a, line, n, why, sizeof why);
			if (rc != BMS_ALERT_OTHER && rc != BMS_ALERT_READ && rc != BMS_ALERT_REJECT)
				abort();
			if (rc == BMS_ALERT_REJECT && (!why[0] || strchr(why, '\n')))
				abort();
			free(line);
		}
		if (bms_alert_open_count(z.a) < 0 ||
		    (bms_alert_open_count(z.a) == 0) != (bms_alert_oldest_open(z.a) == INT64_MAX))
			abort();
		(void)bms_alert_over_cap(z.a);
		p += n + 1;
	}
	bms_alert_free(z.a);
	return 0;
}

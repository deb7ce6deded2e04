/* SPDX-License-Identifier: MIT */
/*
 * bms-alert's engine: the rules of rules.h applied to the stream, one
 * alert per rule and battery, and an alert record (bms(7),
 * share/schema/alert.schema.json) for each of its transitions:
 *
 *   raised      the condition held for the rule's delay
 *   escalated   its severity went one step up (escalate held, or
 *               escalate_after passed), unless acknowledged
 *   repeated    still raised after each repeat interval, unless
 *               acknowledged
 *   cleared     the clear condition (or the condition's end beyond the
 *               hysteresis) held for the clear delay
 *
 * Every timer runs on the records' timestamps, never the wall clock, so
 * that a replay raises what the live run raised.  The stream's clock is
 * the latest timestamp seen; bms_alert_tick moves it on while the input
 * is idle, for the rules that watch the time since a battery's last
 * reading.
 *
 * An alert's id is "BMS_ID/RULE": a raise and its clear share it.  A
 * record is written for a transition only; every record the engine reads
 * (reading, status, health, aggregate, anomaly) and every other record
 * passes on untouched (the caller writes it).
 *
 * Memory: per battery tracked (at most BMS_ALERT_MAX_BATTERIES), its
 * latest values and one alert slot per rule; nothing grows with the
 * stream.  No I/O but the --state file.
 */
#ifndef BMS_ALERT_H
#define BMS_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define BMS_ALERT_MAX_BATTERIES 4096
#define BMS_ALERT_ID_MAX (127 + 1 + BMS_RULES_NAME_MAX)	/* bytes of an alert id */

/* One transition, handed to the caller's event callback. */
struct bms_alert_event {
	const char *rec;		/* the alert record, one line without newline */
	size_t len;
	const char *alert_id, *rule, *state, *severity, *bms_id, *timestamp, *message;
	const char *tenant;		/* NULL: none */
	int has_value, has_threshold;
	double value, threshold;
};

typedef void (*bms_alert_event_fn)(void *ctx, const struct bms_alert_event *ev);

struct bms_alert;

/*
 * An engine over rules rs (it takes them: bms_alert_free frees them);
 * def_chem is the chemistry of a battery that nothing else names (enum
 * bms_chem, -1 unknown).  fn receives each event as it happens.  NULL
 * when out of memory (rs freed).
 */
struct bms_alert *bms_alert_new(struct bms_rules *rs, int def_chem, bms_alert_event_fn fn,
				void *ctx);
void bms_alert_free(struct bms_alert *a);

/*
 * Replace the rules (on SIGHUP): alerts of rules kept under the same name
 * keep their state; those of rules gone are dropped without a record;
 * what rate() and the health and aggregate names remembered starts over.
 * Takes rs.  Returns 0, or -1 when out of memory: then the old rules
 * stay, whole, and rs is freed.
 */
int bms_alert_set_rules(struct bms_alert *a, struct bms_rules *rs);

/* A battery's chemistry from the store's registry (before the file's
 * [battery] sections, which win); chem -1 forgets it. */
void bms_alert_registry(struct bms_alert *a, const char *bms_id, int chem);

enum { BMS_ALERT_OTHER = 0, BMS_ALERT_READ = 1, BMS_ALERT_REJECT = -1 };

/*
 * One line of the stream.  Returns BMS_ALERT_OTHER (not a record the
 * engine reads), BMS_ALERT_READ (read; events, if any, went to fn), or
 * BMS_ALERT_REJECT with the reason in why (a reading, status or other
 * record it reads that is malformed).
 */
int bms_alert_line(struct bms_alert *a, const char *line, size_t len, char *why, size_t whysz);

/* Move the stream's clock to at least now_ms (ms since the epoch) and
 * evaluate the rules that watch the time. */
void bms_alert_tick(struct bms_alert *a, int64_t now_ms);

/* The stream's clock: the latest timestamp seen (INT64_MIN before any). */
int64_t bms_alert_clock(const struct bms_alert *a);

/*
 * An acknowledgement of a record of alert alert_id written at ts_ms, in
 * the store of tenant (NULL: any): if that alert, of a battery of that
 * tenant or of none, is raised and was raised at or before ts_ms, it
 * repeats and escalates no more until it clears.  Returns 1 if it took,
 * else 0.
 */
int bms_alert_ack(struct bms_alert *a, const char *tenant, const char *alert_id,
		  int64_t ts_ms);

/* The earliest raise time of an open alert, INT64_MAX when none is. */
int64_t bms_alert_oldest_open(const struct bms_alert *a);

/* Open alerts now. */
int bms_alert_open_count(const struct bms_alert *a);

/* Batteries beyond BMS_ALERT_MAX_BATTERIES were seen (once: then 0). */
int bms_alert_over_cap(struct bms_alert *a);

/*
 * The --state file: open alerts with their timers and acknowledgement,
 * what each battery last said of its link, the stream's clock.  load
 * returns 0 (also for a missing file) or -1 with err; alerts of rules no
 * longer in the file are dropped.  dirty: something changed since the
 * last save.
 */
int bms_alert_state_load(struct bms_alert *a, const char *path, char *err, size_t errsz);
int bms_alert_state_save(struct bms_alert *a, const char *path, char *err, size_t errsz);
int bms_alert_dirty(const struct bms_alert *a);

#endif

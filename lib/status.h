/* SPDX-License-Identifier: MIT */
/*
 * The status record: the state of the link to one BMS, its vocabulary,
 * the link-health accounting a poller keeps to write it, the writer and
 * the parser (for stages that read status records: bms-alert,
 * bms-serve).
 *
 *   {"type":"status","bms_id":..,"timestamp":..,["tenant":..,]
 *    "state":"connected","reason":"ok","quality":100,"message":".."}
 *
 * state is one of connected, disconnected, error, testing; reason one
 * of the names bms_status_reason_known takes (share/schema/
 * status.schema.json lists the same); quality a whole number 0..100
 * (the share of successful polls over the last BMS_STATUS_WINDOW);
 * message, optional, one line of text for a person.  The envelope is
 * record.h's.
 */
#ifndef BMS_STATUS_H
#define BMS_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

enum bms_status_state {
	BMS_STATUS_NONE,		/* nothing reported yet */
	BMS_STATUS_CONNECTED,
	BMS_STATUS_DISCONNECTED,
	BMS_STATUS_ERROR,
	BMS_STATUS_TESTING,
};

#define BMS_STATUS_WINDOW 20		/* cycles the quality figure looks back on */
#define BMS_STATUS_REASON_MAX 31	/* bytes of a reason */
#define BMS_STATUS_MESSAGE_MAX 1023	/* bytes of a message the parser keeps */

/* "connected", "disconnected", "error", "testing"; NULL for NONE. */
const char *bms_status_state_name(enum bms_status_state s);

/* The state named s, or BMS_STATUS_NONE if none is. */
enum bms_status_state bms_status_state_parse(const char *s);

/* True if s is a reason of the vocabulary: ok, asleep, no_reply,
 * garbled, incomplete, device_gone, open_failed. */
int bms_status_reason_known(const char *s);

/* ==== Link health ==== */

/* A board's link health: what was last reported, and the recent cycles. */
struct bms_status_health {
	enum bms_status_state state;	/* last reported */
	const char *reason;		/* last reported, static text */
	uint32_t window;		/* bit i: cycle i ago succeeded */
	int ncycles;			/* cycles in the window, up to 20 */
	unsigned long streak;		/* successful cycles in a row, up to now */
};

/*
 * Account one cycle (ok or not) for h and set its new state and reason
 * (a static string of the vocabulary); a cycle that is not ok sets the
 * streak back to 0.  Returns 1 when state or reason differ from what was
 * last reported, i.e. a status record is due, else 0.
 */
int bms_status_health_note(struct bms_status_health *h, int ok,
			   enum bms_status_state state, const char *reason);

/* Share of successful cycles in the window, 0..100 (0 before any). */
int bms_status_health_quality(const struct bms_status_health *h);

/* ==== Writing and reading ==== */

/*
 * Append a status record (no newline) to b with h's state, reason and
 * quality: bms_id, ts and tenant (NULL: none) as bms_record_head takes
 * them, message plain text.
 */
void bms_status_write(struct bms_buf *b, const char *bms_id, const char *ts,
		      const char *tenant, const struct bms_status_health *h,
		      const char *message);

/* A parsed status record. */
struct bms_status {
	struct bms_record env;
	enum bms_status_state state;
	char reason[BMS_STATUS_REASON_MAX + 1];
	int quality;			/* 0..100 */
	int has_message;
	char message[BMS_STATUS_MESSAGE_MAX + 1];	/* "" without one */
};

/*
 * Parse a status record s[0..n) into *st: the envelope (record.h),
 * type "status", state, reason and quality present and of the
 * vocabulary above, message a string if present.  Returns 0, or -1 with
 * a one-line reason in err ("not a status record", "state: not one of
 * connected, disconnected, error, testing", "reason: unknown",
 * "quality: not a whole number 0..100", "message: not a string",
 * "message: longer than 1023 bytes", or the envelope's).
 */
int bms_status_parse(const char *s, size_t n, struct bms_status *st,
		     char *err, size_t errsz);

#endif

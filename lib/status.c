/* SPDX-License-Identifier: MIT */
/*
 * Status records (see status.h).  The vocabulary lives in the two tables
 * below and nowhere else; the schema's enums list the same words.
 */
#include <string.h>

#include "err.h"
#include "status.h"

static const char *const state_names[] = {
	[BMS_STATUS_CONNECTED] = "connected",
	[BMS_STATUS_DISCONNECTED] = "disconnected",
	[BMS_STATUS_ERROR] = "error",
	[BMS_STATUS_TESTING] = "testing",
};

#define NSTATES (sizeof state_names / sizeof state_names[0])

static const char *const reasons[] = {
	"ok", "asleep", "no_reply", "garbled", "incomplete", "device_gone",
	"open_failed",
};

const char *bms_status_state_name(enum bms_status_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : NULL;
}

enum bms_status_state bms_status_state_parse(const char *s)
{
	for (unsigned i = 1; i < NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum bms_status_state)i;
	return BMS_STATUS_NONE;
}

int bms_status_reason_known(const char *s)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(s, reasons[i]) == 0)
			return 1;
	return 0;
}

/* ==== Link health ==== */

int bms_status_health_note(struct bms_status_health *h, int ok,
			   enum bms_status_state state, const char *reason)
{
	int changed = state != h->state || !h->reason || strcmp(reason, h->reason);

	h->window = h->window << 1 | (ok ? 1u : 0u);
	h->streak = ok ? h->streak + 1 : 0;
	if (h->ncycles < BMS_STATUS_WINDOW)
		h->ncycles++;
	h->state = state;
	h->reason = reason;
	return changed;
}

int bms_status_health_quality(const struct bms_status_health *h)
{
	uint32_t bits;
	int ok = 0;

	if (h->ncycles == 0)
		return 0;
	bits = h->window & ((1u << h->ncycles) - 1);
	for (; bits; bits &= bits - 1)
		ok++;
	return (ok * 100 + h->ncycles / 2) / h->ncycles;
}

/* ==== Writing and reading ==== */

void bms_status_write(struct bms_buf *b, const char *bms_id, const char *ts,
		      const char *tenant, const struct bms_status_health *h,
		      const char *message)
{
	const char *state = bms_status_state_name(h->state);

	bms_record_head(b, "status", bms_id, ts, tenant);
	bms_buf_printf(b, ",\"state\":\"%s\",\"reason\":\"%s\",\"quality\":%d,"
		       "\"message\":", state ? state : "error",
		       h->reason ? h->reason : "ok", bms_status_health_quality(h));
	bms_buf_json_str(b, message, strlen(message));
	bms_buf_putc(b, '}');
}

enum { F_STATE = BMS_RECORD_NKEYS, F_REASON, F_QUALITY, F_MESSAGE, F_COUNT };

/* Decode the string span of f into out (cap bytes with the NUL); -1 if
 * it is not a string or does not fit. */
static long str_of(const struct bms_json_field *f, char *out, size_t cap)
{
	if (!f->val || f->val[0] != '"')
		return -1;
	return bms_json_str_get(f->val, f->len, out, cap);
}

int bms_status_parse(const char *s, size_t n, struct bms_status *st,
		     char *err, size_t errsz)
{
	struct bms_json_field f[F_COUNT];
	char word[32];
	const char *q;
	long len;
	int v = 0;

	bms_record_keys(f);
	f[F_STATE].key = "state";
	f[F_REASON].key = "reason";
	f[F_QUALITY].key = "quality";
	f[F_MESSAGE].key = "message";
	if (bms_record_scan(s, n, f, F_COUNT, err, errsz) < 0 ||
	    bms_record_get(f, &st->env, err, errsz) < 0)
		return -1;
	if (!bms_record_is(&st->env, "status"))
		return bms_err_set(err, errsz, "not a status record");
	if (str_of(&f[F_STATE], word, sizeof word) < 0 ||
	    (st->state = bms_status_state_parse(word)) == BMS_STATUS_NONE)
		return bms_err_set(err, errsz, "state: not one of connected, "
				   "disconnected, error, testing");
	if (str_of(&f[F_REASON], st->reason, sizeof st->reason) < 0 ||
	    !bms_status_reason_known(st->reason))
		return bms_err_set(err, errsz, "reason: unknown");
	/* A whole number as JSON writes it: no sign, fraction or exponent. */
	q = f[F_QUALITY].val;
	len = q ? (long)f[F_QUALITY].len : 0;
	if (len < 1 || len > 3 || (len > 1 && q[0] == '0'))
		return bms_err_set(err, errsz, "quality: not a whole number 0..100");
	for (long i = 0; i < len; i++) {
		if (q[i] < '0' || q[i] > '9')
			return bms_err_set(err, errsz,
					   "quality: not a whole number 0..100");
		v = v * 10 + (q[i] - '0');
	}
	if (v > 100)
		return bms_err_set(err, errsz, "quality: not a whole number 0..100");
	st->quality = v;
	st->has_message = 0;
	st->message[0] = '\0';
	if (f[F_MESSAGE].val) {
		if (f[F_MESSAGE].val[0] != '"')
			return bms_err_set(err, errsz, "message: not a string");
		if (str_of(&f[F_MESSAGE], st->message, sizeof st->message) < 0)
			return bms_err_set(err, errsz, "message: longer than %d bytes",
					   BMS_STATUS_MESSAGE_MAX);
		st->has_message = 1;
	}
	return 0;
}

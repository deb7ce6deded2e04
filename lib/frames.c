/* SPDX-License-Identifier: MIT */
/*
 * Frames record decoding (see frames.h).  Only the top-level fields are
 * looked at, with the validating scanner of json.h: a record of another
 * type is recognised without building anything (a line scan, and a
 * "type" said once), and a frames record has its envelope checked by
 * record.h and is decoded from its hex strings directly.
 */
#include <stdio.h>
#include <string.h>

#include "daly.h"
#include "frames.h"
#include "hex.h"
#include "json.h"
#include "proto.h"
#include "reading.h"
#include "record.h"

enum {
	F_TYPE = BMS_RECORD_TYPE, F_ID = BMS_RECORD_ID, F_TS = BMS_RECORD_TS,
	F_TENANT = BMS_RECORD_TENANT, F_PROTO = BMS_RECORD_NKEYS, F_BOARD, F_FRAMES, F_COUNT
};

/* The decoder of each protocol (proto.h: one entry per protocol). */
static int (*const decoders[])(const uint8_t *const *elems, const size_t *lens,
			       size_t nelems, const struct bms_daly_opts *opt,
			       struct bms_reading *r, char *err, size_t errsz) = {
	[BMS_PROTO_DALY] = bms_daly_decode,
	[BMS_PROTO_DALY_MODBUS] = bms_dalymb_decode,
};
_Static_assert(sizeof decoders / sizeof decoders[0] == BMS_PROTO_COUNT,
	       "a protocol without a decoder");

static int is_str(const struct bms_json_field *f)
{
	return f->val && f->val[0] == '"';
}

/* Hex strings of the "frames" array into ctx; returns elements or -1. */
static long unhex_elems(const struct bms_json_field *f, struct bms_frames_ctx *ctx,
			char *err, size_t errsz)
{
	const char *pos = NULL, *el;
	size_t elen, used = 0;
	long n = 0;
	int r;

	while ((r = bms_json_array_next(f->val, f->len, &pos, &el, &elen)) == 1) {
		long got;

		if (n == BMS_FRAMES_MAX_ELEMS) {
			snprintf(err, errsz, "more than %d elements in \"frames\"",
				 BMS_FRAMES_MAX_ELEMS);
			return -1;
		}
		if (elen < 2 || el[0] != '"') {
			snprintf(err, errsz, "\"frames\" element %ld is not a string", n + 1);
			return -1;
		}
		got = bms_hex_decode(el + 1, elen - 2, ctx->bytes + used,
				     sizeof ctx->bytes - used);
		if (got < 0) {
			snprintf(err, errsz, "\"frames\" element %ld is not hex%s", n + 1,
				 (elen - 2) / 2 > sizeof ctx->bytes - used ? " or too long" : "");
			return -1;
		}
		ctx->elems[n] = ctx->bytes + used;
		ctx->lens[n] = (size_t)got;
		used += (size_t)got;
		n++;
	}
	if (r < 0) {
		snprintf(err, errsz, "\"frames\" is not an array");
		return -1;
	}
	return n;
}

int bms_frames_decode(const char *s, size_t n, const struct bms_frames_opts *opt,
		      struct bms_frames_ctx *ctx, struct bms_buf *out,
		      char *err, size_t errsz)
{
	struct bms_json_field f[F_COUNT];
	struct bms_daly_opts dopt = { 1, opt->invert_current };
	struct bms_record_head head;
	struct bms_record env;
	struct bms_reading r;
	char proto[32], ts_err[64];
	long nel;
	int rc, pid, env_rc;

	bms_buf_reset(out);
	bms_record_keys(f);
	f[F_PROTO].key = "proto";
	f[F_BOARD].key = "board";
	f[F_FRAMES].key = "frames";
	if (bms_record_scan(s, n, f, F_COUNT, err, errsz) < 0)
		return BMS_FRAMES_REJECT;
	if (!is_str(&f[F_TYPE])) {
		snprintf(err, errsz, "no \"type\" string");
		return BMS_FRAMES_REJECT;
	}
	/* What the type says decides what the line is: it must say it once. */
	if (f[F_TYPE].dup) {
		snprintf(err, errsz, "type: more than once");
		return BMS_FRAMES_REJECT;
	}
	if (!bms_json_str_eq(f[F_TYPE].val, f[F_TYPE].len, "frames"))
		return BMS_FRAMES_OTHER;
	/* The envelope (record.h); a bad time is reported once the bytes
	 * decode, so that a capture's own faults are named first. */
	env_rc = bms_record_get(f, &env, err, errsz);
	switch (env_rc) {
	case BMS_RECORD_OK:
		break;
	case BMS_RECORD_ETIME:
		snprintf(ts_err, sizeof ts_err, "%s", err);
		break;
	case BMS_RECORD_ENOID:
		snprintf(err, errsz, "frames record without a \"bms_id\" string");
		return BMS_FRAMES_REJECT;
	case BMS_RECORD_ENOTS:
		snprintf(err, errsz, "frames record without a \"timestamp\" string");
		return BMS_FRAMES_REJECT;
	default:
		return BMS_FRAMES_REJECT;
	}
	if (!is_str(&f[F_TS])) {
		snprintf(err, errsz, "frames record without a \"timestamp\" string");
		return BMS_FRAMES_REJECT;
	}
	if (!is_str(&f[F_PROTO])) {
		snprintf(err, errsz, "frames record without a \"proto\" string");
		return BMS_FRAMES_REJECT;
	}
	if (bms_json_str_get(f[F_PROTO].val, f[F_PROTO].len, proto, sizeof proto) < 0)
		proto[0] = '\0';
	if (f[F_BOARD].val) {
		char num[8];

		if (f[F_BOARD].len >= sizeof num)
			goto bad_board;
		memcpy(num, f[F_BOARD].val, f[F_BOARD].len);
		num[f[F_BOARD].len] = '\0';
		if (sscanf(num, "%d", &dopt.board) != 1 || dopt.board < 1 ||
		    dopt.board > BMS_DALY_MAX_BOARDS || strspn(num, "0123456789") != f[F_BOARD].len)
			goto bad_board;
	}
	if (!f[F_FRAMES].val) {
		snprintf(err, errsz, "frames record without \"frames\"");
		return BMS_FRAMES_REJECT;
	}
	nel = unhex_elems(&f[F_FRAMES], ctx, err, errsz);
	if (nel < 0)
		return BMS_FRAMES_REJECT;

	bms_reading_clear(&r);
	pid = bms_proto_find(proto);
	if (pid < 0) {
		/* The raw JSON text of the name: one line whatever it holds. */
		snprintf(err, errsz, "unknown proto %.*s%s",
			 (int)(f[F_PROTO].len > 40 ? 40 : f[F_PROTO].len), f[F_PROTO].val,
			 f[F_PROTO].len > 40 ? "..." : "");
		return BMS_FRAMES_REJECT;
	}
	rc = decoders[pid](ctx->elems, ctx->lens, (size_t)nel, &dopt, &r, err, errsz);
	if (rc < 0)
		return BMS_FRAMES_REJECT;
	if (env_rc == BMS_RECORD_ETIME) {
		snprintf(err, errsz, "%s", ts_err);
		return BMS_FRAMES_REJECT;
	}

	head.bms_id = f[F_ID].val;
	head.bms_id_len = f[F_ID].len;
	head.timestamp = f[F_TS].val;
	head.timestamp_len = f[F_TS].len;
	head.tenant = f[F_TENANT].val;
	head.tenant_len = f[F_TENANT].len;
	bms_reading_json(&r, &head, bms_proto_name(pid), out);
	if (out->oom) {
		snprintf(err, errsz, "out of memory");
		return BMS_FRAMES_REJECT;
	}
	return BMS_FRAMES_READING;

bad_board:
	snprintf(err, errsz, "\"board\" is not a number from 1 to %d",
		 BMS_DALY_MAX_BOARDS);
	return BMS_FRAMES_REJECT;
}

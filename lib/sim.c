/* SPDX-License-Identifier: MIT */
/*
 * Daly BMS responder of bms-sim (see sim.h).
 *
 * Invariants: a reply is built from one model snapshot taken after the
 * model has advanced to the step's time, so the frames of one answer
 * agree with each other; every board keeps the payload of the last frame
 * it sent (its transmit buffer), which the stale fault reuses as real
 * boards do; fault counters only ever grow, so a run with the same
 * options and the same requests sends the same bytes.  With a tick, model
 * time depends on the requests alone, so the same requests also meet the
 * same model states.  The frozen link keeps the last answer to each
 * distinct request (up to FROZEN_MAX of them, the least recently used
 * giving way) once the options ask for a freeze.
 *
 * Workload: one request per call, a few hundred bytes; nothing here
 * allocates after bms_sim_new.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daly.h"
#include "modbus.h"
#include "sim.h"
#include "version.h"

#define IN_MAX 512		/* bytes of input kept */
#define SPLIT_CHUNK 5		/* bytes per piece, split fault */
#define SPLIT_GAP_MS 5		/* ms between pieces, split fault */
#define DROP_BYTES 4		/* bytes cut off a frame, drop fault */
#define GARBAGE_MAX 8		/* most random bytes, garbage fault */
#define POLL_KEYS 32		/* distinct requests one poll may hold */
#define FROZEN_MAX 256		/* distinct requests the frozen link keeps */
#define FROZEN_REQ 16		/* longest request it keeps (A5 13, D2 8) */

/* D2 registers a read may cover: the live block and the settings block. */
#define D2_LIVE_END 0x4f	/* last live register (80 registers) */
#define D2_SET_START 0x80
#define D2_SET_END 0xcf		/* last settings register (balancer switch) */

/* What a failed temperature sensor reads: A5 0xFF, D2 0x00FF. */
#define DEAD_PROBE 0xff

static const char *const fault_names[BMS_SIM_F_COUNT] = {
	[BMS_SIM_F_CHECKSUM] = "checksum",
	[BMS_SIM_F_DROP] = "drop",
	[BMS_SIM_F_GARBAGE] = "garbage",
	[BMS_SIM_F_SPLIT] = "split",
	[BMS_SIM_F_CONCAT] = "concat",
	[BMS_SIM_F_DELAY] = "delay",
	[BMS_SIM_F_SLEEP] = "sleep",
	[BMS_SIM_F_EXTRA_TEMPS] = "extra-temps",
	[BMS_SIM_F_CELLS_16] = "cells-16",
	[BMS_SIM_F_STALE] = "stale",
	[BMS_SIM_F_VANISH] = "vanish",
};

struct board {
	struct bms_simmodel model;
	uint8_t txbuf[8];	/* payload of the last frame sent */
	uint32_t keys[POLL_KEYS];	/* requests of the current poll (tick) */
	int nkeys;
};

/* A reply under construction. */
struct reply {
	uint8_t b[BMS_SIM_OUT_MAX / 2 - GARBAGE_MAX];
	size_t len;
};

/* The last answer to one request, for the frozen link. */
struct frozen {
	uint8_t req[FROZEN_REQ];
	size_t reqlen;
	struct reply r;
	uint64_t used;		/* when last stored or replayed */
};

struct bms_sim {
	struct bms_sim_cfg cfg;		/* faults[] carry the live counters */
	struct board board[BMS_SIM_MAX_BOARDS];
	bool started;			/* a request was taken: model time runs */
	int64_t last_ms;		/* real time the models were advanced to */
	uint64_t rng;			/* splitmix64 state */
	uint8_t in[IN_MAX];		/* bytes not yet used */
	int64_t in_at[IN_MAX];		/* ms each of them arrived */
	size_t inlen;
	uint8_t held[BMS_SIM_OUT_MAX / 2];	/* reply held back by concat */
	size_t heldlen;
	bool holding;
	struct frozen *frozen;		/* FROZEN_MAX entries, NULL without a freeze */
	int nfrozen;
	uint64_t uses;			/* clock of frozen[].used */
};

/* ==== Configuration ==== */

void bms_sim_defaults(struct bms_sim_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->proto = BMS_PROTO_DALY;
	cfg->boards = 1;
	bms_simmodel_defaults(&cfg->model);
	cfg->speed = 1.0;
	cfg->seed = 1;
	cfg->baud = 9600;
	cfg->delay_ms = 800;
	cfg->vanish_ms = 1500;
	cfg->freeze_at = -1;
}

const char *bms_sim_fault_name(enum bms_sim_fault_kind kind)
{
	assert(kind < BMS_SIM_F_COUNT);
	return fault_names[kind];
}

int bms_sim_fault_parse(const char *s, struct bms_sim_fault *f, char *err,
			size_t errsz)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long every = 1;

	if (colon) {
		char *end;

		every = strtoul(colon + 1, &end, 10);
		if (end == colon + 1 || *end || every < 1 || every > 1000000000ul ||
		    colon[1] == '-' || colon[1] == '+') {
			snprintf(err, errsz, "'%s': EVERY must be a whole number from 1 to 1000000000",
				 s);
			return -1;
		}
	}
	for (int k = 0; k < BMS_SIM_F_COUNT; k++)
		if (strlen(fault_names[k]) == n && strncmp(s, fault_names[k], n) == 0) {
			f->kind = (enum bms_sim_fault_kind)k;
			f->every = every;
			f->count = 0;
			return 0;
		}
	snprintf(err, errsz, "'%.*s' is not a fault (checksum, drop, garbage, split, "
		 "concat, delay, sleep, extra-temps, cells-16, stale, vanish)",
		 (int)(n > 40 ? 40 : n), s);
	return -1;
}

struct bms_sim *bms_sim_new(const struct bms_sim_cfg *cfg)
{
	struct bms_sim *s;

	assert((unsigned)cfg->proto < BMS_PROTO_COUNT);
	assert(cfg->boards >= 1 && cfg->boards <= bms_proto_boards(cfg->proto) &&
	       cfg->boards <= BMS_SIM_MAX_BOARDS);
	assert(cfg->nfaults >= 0 && cfg->nfaults <= BMS_SIM_MAX_FAULTS);
	assert(cfg->baud > 0);
	assert(cfg->tick >= 0);
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (cfg->freeze_at >= 0 && !(s->frozen = calloc(FROZEN_MAX, sizeof *s->frozen))) {
		free(s);
		return NULL;
	}
	s->cfg = *cfg;
	for (int k = 0; k < cfg->boards; k++) {
		struct bms_simmodel_cfg mc = cfg->model;

		mc.soc = fmax(mc.soc - k, 0.0);
		bms_simmodel_init(&s->board[k].model, &mc);
	}
	s->rng = cfg->seed;
	return s;
}

void bms_sim_free(struct bms_sim *s)
{
	if (s)
		free(s->frozen);
	free(s);
}

/* ==== Input ==== */

void bms_sim_feed(struct bms_sim *s, const uint8_t *p, size_t n, int64_t now_ms)
{
	while (n > 0) {
		size_t room, take;

		if (s->inlen == IN_MAX) {
			/* Nothing in here made a request: keep the newest half. */
			memmove(s->in, s->in + IN_MAX / 2, IN_MAX / 2);
			memmove(s->in_at, s->in_at + IN_MAX / 2,
				IN_MAX / 2 * sizeof *s->in_at);
			s->inlen = IN_MAX / 2;
		}
		room = IN_MAX - s->inlen;
		take = n < room ? n : room;
		memcpy(s->in + s->inlen, p, take);
		for (size_t i = 0; i < take; i++)
			s->in_at[s->inlen + i] = now_ms;
		s->inlen += take;
		p += take;
		n -= take;
	}
}

void bms_sim_reset(struct bms_sim *s)
{
	s->inlen = 0;
	s->heldlen = 0;
	s->holding = false;
}

static void consume(struct bms_sim *s, size_t upto)
{
	assert(upto <= s->inlen);
	memmove(s->in, s->in + upto, s->inlen - upto);
	memmove(s->in_at, s->in_at + upto, (s->inlen - upto) * sizeof *s->in_at);
	s->inlen -= upto;
}

/* How the boards of a protocol hear requests and answer them. */
struct personality {
	/* Find the next request in buf[*pos..len): 1 with *pos past it and
	 * *reqlen its length, or 0 with *pos at the first byte that could
	 * still begin one. */
	int (*next)(const uint8_t *buf, size_t len, size_t *pos, size_t *reqlen);
	/* Build the answer to out->req into r (nothing for no answer) and
	 * return the board that answers, 0 for none. */
	int (*answer)(struct bms_sim *s, struct bms_sim_out *out, struct reply *r);
	/* The board a request req[0..len) is for, 0 for none, and the key
	 * that tells its requests apart within a poll. */
	int (*who)(const struct bms_sim *s, const uint8_t *req, size_t len,
		   uint32_t *key);
};

static const struct personality *personality(const struct bms_sim *s);

/*
 * Cut the next request out of the input into out->req.  Returns 1, or 0
 * (dropping bytes that can no longer start one) when none is complete.
 */
static int next_request(struct bms_sim *s, struct bms_sim_out *out,
			int64_t *rx_ms)
{
	size_t pos = 0, start, len;

	if (!personality(s)->next(s->in, s->inlen, &pos, &len)) {
		consume(s, pos);
		return 0;
	}
	start = pos - len;
	out->reqlen = len < BMS_SIM_REQ_MAX ? len : BMS_SIM_REQ_MAX;
	memcpy(out->req, s->in + start, out->reqlen);
	*rx_ms = s->in_at[start];
	consume(s, pos);
	return 1;
}

/* ==== Faults ==== */

/* Count one event for every fault of this kind; true if any fires. */
static bool fires(struct bms_sim *s, enum bms_sim_fault_kind kind,
		  struct bms_sim_out *out)
{
	bool hit = false;

	for (int i = 0; i < s->cfg.nfaults; i++) {
		struct bms_sim_fault *f = &s->cfg.faults[i];

		if (f->kind != kind)
			continue;
		if (++f->count % f->every == 0)
			hit = true;
	}
	if (hit)
		out->faults |= 1u << kind;
	return hit;
}

static uint64_t rng_next(struct bms_sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Append one finished frame to the reply, through the frame faults. */
static void add_frame(struct bms_sim *s, struct reply *r, const uint8_t *p,
		      size_t n, size_t crc_at, struct bms_sim_out *out)
{
	uint8_t f[BMS_SIM_OUT_MAX / 2];

	assert(n <= sizeof f && crc_at < n);
	memcpy(f, p, n);
	if (fires(s, BMS_SIM_F_CHECKSUM, out))
		f[crc_at] = (uint8_t)~f[crc_at];
	if (fires(s, BMS_SIM_F_DROP, out))
		n = n > DROP_BYTES ? n - DROP_BYTES : 0;
	if (r->len + n > sizeof r->b)
		return;
	memcpy(r->b + r->len, f, n);
	r->len += n;
}

/*
 * Build and add an A5 frame of board b.  Payload bytes whose bit is set in
 * mask are data; the others are unused: zero, or with the stale fault
 * what the board's transmit buffer still holds.
 */
static void a5_frame(struct bms_sim *s, struct reply *r, int b, uint8_t id,
		     const uint8_t data[8], unsigned mask, struct bms_sim_out *out)
{
	struct board *bd = &s->board[b - 1];
	uint8_t payload[8], frame[BMS_DALY_LEN];

	if (!fires(s, BMS_SIM_F_STALE, out))
		memset(bd->txbuf, 0, sizeof bd->txbuf);
	memcpy(payload, bd->txbuf, 8);
	for (int i = 0; i < 8; i++)
		if (mask & 1u << i)
			payload[i] = data[i];
	memcpy(bd->txbuf, payload, 8);
	bms_daly_encode(frame, (uint8_t)b, id, payload);
	add_frame(s, r, frame, BMS_DALY_LEN, 12, out);
}

/* ==== A5 replies ==== */

/* A register value: v clamped to 0..0xffff. */
static uint16_t u16(long v)
{
	return (uint16_t)(v < 0 ? 0 : v > 0xffff ? 0xffff : v);
}

static void put16(uint8_t *p, long v)
{
	uint16_t u = u16(v);

	p[0] = (uint8_t)(u >> 8);
	p[1] = (uint8_t)u;
}

static void put32(uint8_t *p, long long v)
{
	if (v < 0)
		v = 0;
	if (v > 0xffffffffll)
		v = 0xffffffffll;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A probe's raw value (degC + 40); a live one never reads DEAD_PROBE. */
static uint8_t temp_raw(int c)
{
	return (uint8_t)(c + 40 < 0 ? 0 : c + 40 > 254 ? 254 : c + 40);
}

static void version_text(uint8_t id, char out[17])
{
	memset(out, 0, 17);
	if (id == BMS_DALY_SW_VERSION)
		snprintf(out, 17, "bms-sim %s", BMS_VERSION);
	else
		snprintf(out, 17, "DL-BMS-SIM");
}

/* The answer of board b to data ID id (request payload req). */
static void a5_reply(struct bms_sim *s, int b, uint8_t id, const uint8_t req[8],
		     struct reply *r, struct bms_sim_out *out)
{
	struct bms_simmodel *m = &s->board[b - 1].model;
	struct bms_simmodel_snap sn;
	uint8_t d[8] = { 0 };
	int n;

	bms_simmodel_snap(m, &sn);
	switch (id) {
	case BMS_DALY_SOC:
		put16(d, lround(sn.pack_mv / 100.0));
		/* A5 units count charging current below the 30000 offset. */
		put16(d + 4, 30000 - lround(sn.current * 10));
		put16(d + 6, lround(sn.soc * 10));
		a5_frame(s, r, b, id, d, 0xff, out);
		break;
	case BMS_DALY_CELL_RANGE:
		put16(d, sn.max_mv);
		d[2] = (uint8_t)sn.max_cell;
		put16(d + 3, sn.min_mv);
		d[5] = (uint8_t)sn.min_cell;
		a5_frame(s, r, b, id, d, 0x3f, out);
		break;
	case BMS_DALY_TEMP_RANGE:
		/* The extremes of the probes that give a value. */
		d[0] = sn.nlive ? temp_raw(sn.max_t) : DEAD_PROBE;
		d[1] = (uint8_t)sn.max_t_id;
		d[2] = sn.nlive ? temp_raw(sn.min_t) : DEAD_PROBE;
		d[3] = (uint8_t)sn.min_t_id;
		a5_frame(s, r, b, id, d, 0x0f, out);
		break;
	case BMS_DALY_MOS:
		d[0] = (uint8_t)sn.state;
		d[1] = sn.chg_mos;
		d[2] = sn.dis_mos;
		d[3] = sn.life;
		put32(d + 4, llround(sn.remaining_ah * 1000));
		a5_frame(s, r, b, id, d, 0xff, out);
		break;
	case BMS_DALY_STATUS:
		d[0] = (uint8_t)sn.ncells;
		d[1] = (uint8_t)sn.ntemps;
		d[2] = sn.charger;
		d[3] = sn.load;
		d[4] = sn.dio;
		put16(d + 5, sn.cycles);
		a5_frame(s, r, b, id, d, 0x7f, out);
		break;
	case BMS_DALY_CELLS:
		n = (sn.ncells + 2) / 3;
		if (fires(s, BMS_SIM_F_CELLS_16, out))
			n = 16;
		for (int k = 1; k <= n; k++) {
			unsigned mask = 0x01;

			memset(d, 0, 8);
			d[0] = (uint8_t)k;
			for (int j = 0; j < 3; j++) {
				int c = 3 * (k - 1) + j;

				if (c < sn.ncells) {
					put16(d + 1 + 2 * j, sn.cell_mv[c]);
					mask |= 3u << (1 + 2 * j);
				}
			}
			/* Surplus frames are all zero, not stale. */
			a5_frame(s, r, b, id, d, mask == 0x01 ? 0xff : mask, out);
		}
		break;
	case BMS_DALY_TEMPS:
		n = (sn.ntemps + 6) / 7;
		for (int k = 1; k <= n; k++) {
			unsigned mask = 0x01;

			memset(d, 0, 8);
			d[0] = (uint8_t)k;
			for (int j = 0; j < 7; j++) {
				int t = 7 * (k - 1) + j;

				if (t < sn.ntemps) {
					d[1 + j] = sn.dead >> t & 1 ? DEAD_PROBE :
						   temp_raw(sn.temp_c[t]);
					mask |= 1u << (1 + j);
				}
			}
			a5_frame(s, r, b, id, d, mask, out);
		}
		if (fires(s, BMS_SIM_F_EXTRA_TEMPS, out)) {
			memset(d, 0, 8);
			d[0] = (uint8_t)(n + 1);
			a5_frame(s, r, b, id, d, 0xff, out);
		}
		break;
	case BMS_DALY_BALANCE:
		for (int k = 0; k < 6; k++)
			d[k] = (uint8_t)(sn.balance >> (8 * k));
		a5_frame(s, r, b, id, d, 0x3f, out);
		break;
	case BMS_DALY_FAILURE:
		memcpy(d, sn.failure, 8);
		a5_frame(s, r, b, id, d, 0xff, out);
		break;
	case BMS_DALY_RATED:
		put32(d, llround(m->cfg.capacity * 1000));
		put32(d + 4, m->lim.nominal_mv);
		a5_frame(s, r, b, id, d, 0xff, out);
		break;
	case BMS_DALY_SW_VERSION:
	case BMS_DALY_HW_VERSION: {
		char text[17];

		version_text(id, text);
		for (int k = 0; k < 2; k++) {
			d[0] = (uint8_t)(k + 1);
			memcpy(d + 1, text + 7 * k, 7);
			a5_frame(s, r, b, id, d, 0xff, out);
		}
		break;
	}
	case 0xd8:	/* sent by Daly's PC software; real boards answer zeros */
		a5_frame(s, r, b, id, d, 0xff, out);
		break;
	case 0xd9:	/* discharge MOSFET: 1 on, 0 off */
	case 0xda:	/* charge MOSFET */
		if (req[0] > 1)
			break;
		if (id == 0xd9)
			m->dis_mos = req[0];
		else
			m->chg_mos = req[0];
		d[0] = req[0];
		a5_frame(s, r, b, id, d, 0x01, out);
		break;
	case 0x21:	/* set RTC and SOC; bytes 6-7 SOC in 0.1 % */
		if (((unsigned)req[6] << 8 | req[7]) > 1000)
			break;
		bms_simmodel_set_soc(m, ((unsigned)req[6] << 8 | req[7]) / 10.0);
		d[0] = 1;
		a5_frame(s, r, b, id, d, 0x01, out);
		break;
	default:
		break;	/* unknown IDs get no answer, as on a real board */
	}
}

/* The board (1..boards) a host address speaks to, 0 for none. */
static int a5_board(const struct bms_sim *s, uint8_t addr)
{
	if (addr == BMS_DALY_HOST_BT)
		return 1;
	if (addr >= BMS_DALY_HOST_PC && addr < BMS_DALY_HOST_PC + s->cfg.boards)
		return addr - BMS_DALY_HOST_PC + 1;
	return 0;
}

/* ==== D2 replies ==== */

static long d2_live(const struct bms_simmodel_snap *sn, unsigned reg)
{
	if (reg < 0x20)
		return (int)reg < sn->ncells ? sn->cell_mv[reg] : 0;
	if (reg < 0x28) {
		unsigned t = reg - 0x20;

		if ((int)t >= sn->ntemps)
			return 0;
		return sn->dead >> t & 1 ? DEAD_PROBE : temp_raw(sn->temp_c[t]);
	}
	switch (reg) {
	case 0x28: return lround(sn->pack_mv / 100.0);
	/* D2 hardware counts charging current above the offset. */
	case 0x29: return 30000 + lround(sn->current * 10);
	case 0x2a: return lround(sn->soc * 10);
	case 0x2b: return sn->max_mv;
	case 0x2c: return sn->min_mv;
	case 0x2d: return sn->nlive ? temp_raw(sn->max_t) : DEAD_PROBE;
	case 0x2e: return sn->nlive ? temp_raw(sn->min_t) : DEAD_PROBE;
	case 0x2f: return sn->state;
	case 0x30: return lround(sn->remaining_ah * 10);
	case 0x31: return sn->ncells;
	case 0x32: return sn->ntemps;
	case 0x33: return sn->cycles;
	case 0x34: return sn->balance != 0;
	case 0x35: return sn->chg_mos;
	case 0x36: return sn->dis_mos;
	case 0x37: return lround((double)sn->pack_mv / sn->ncells);
	case 0x38: return sn->max_mv - sn->min_mv;
	case 0x39: return lround(fabs(sn->pack_mv * sn->current) / 1000.0);
	case 0x3a: return sn->failure[0] | sn->failure[1] << 8;
	case 0x3b: return sn->failure[2] | sn->failure[3] << 8;
	case 0x3c: return sn->failure[4] | sn->failure[5] << 8;
	case 0x3d: return sn->failure[6] & 0x0f;
	case 0x3e: return (long)(sn->balance & 0xffff);
	case 0x3f: return (long)(sn->balance >> 16 & 0xffff);
	default: return 0;
	}
}

static long d2_setting(const struct bms_simmodel *m, unsigned reg)
{
	const struct bms_simmodel_limits *l = &m->lim;
	/* Level pairs start at odd registers: L1 there, L2 at the next. */
	int k = (reg & 1) == 0;

	if (reg >= 0xa9 && reg <= 0xb8) {
		char text[17];
		unsigned off = reg < 0xb1 ? reg - 0xa9 : reg - 0xb1;

		version_text(reg < 0xb1 ? BMS_DALY_SW_VERSION : BMS_DALY_HW_VERSION,
			     text);
		return (uint8_t)text[2 * off] << 8 | (uint8_t)text[2 * off + 1];
	}
	switch (reg) {
	case 0x80: return lround(m->cfg.capacity * 10);
	case 0x81: return l->nominal_mv;
	case 0x82: return 1;
	case 0x83: return m->cfg.cells;
	case 0x86: return m->cfg.temps;
	case 0x89: return m->cfg.chem;
	case 0x8a: return l->sleep_s;
	case 0x8b: case 0x8c: return l->cell_high[k];
	case 0x8d: case 0x8e: return l->cell_low[k];
	case 0x8f: case 0x90: return l->pack_high[k];
	case 0x91: case 0x92: return l->pack_low[k];
	/* Thresholds follow Daly's sheet: charge current below the offset. */
	case 0x93: case 0x94: return 30000 - lround(l->chg_cur[k] * 10);
	case 0x95: case 0x96: return 30000 + lround(l->dis_cur[k] * 10);
	case 0x97: case 0x98: return temp_raw(l->chg_temp_high[k]);
	case 0x99: case 0x9a: return temp_raw(l->chg_temp_low[k]);
	case 0x9b: case 0x9c: return temp_raw(l->dis_temp_high[k]);
	case 0x9d: case 0x9e: return temp_raw(l->dis_temp_low[k]);
	case 0x9f: case 0xa0: return l->cell_diff[k];
	case 0xa1: case 0xa2: return l->temp_diff[k];
	case 0xa3: return l->balance_start;
	case 0xa4: return l->balance_diff;
	case 0xa5: return m->chg_mos;
	case 0xa6: return m->dis_mos;
	case 0xa7: return lround(m->soc * 10);
	case 0xa8: return temp_raw(l->mos_temp);
	case 0xc9: return '1' << 8 | '2';	/* parameter password "123456" */
	case 0xca: return '3' << 8 | '4';
	case 0xcb: return '5' << 8 | '6';
	case 0xcf: return 1;			/* balancer switch on */
	default: return 0;		/* machine code, date, IP: blank */
	}
}

static void d2_reply(struct bms_sim *s, const uint8_t *req, size_t len,
		     struct reply *r, struct bms_sim_out *out)
{
	struct bms_simmodel *m = &s->board[0].model;
	unsigned start = (unsigned)req[2] << 8 | req[3];
	unsigned val = (unsigned)req[4] << 8 | req[5];
	uint16_t regs[BMS_MODBUS_MAX_REGS];
	uint8_t f[BMS_MODBUS_MAX_FRAME];
	struct bms_simmodel_snap sn;
	size_t n;

	if (req[1] == 0x06) {
		if (start == 0xa5 && val <= 1)
			m->chg_mos = val;
		else if (start == 0xa6 && val <= 1)
			m->dis_mos = val;
		else if (start == 0xa7 && val <= 1000)
			bms_simmodel_set_soc(m, val / 10.0);
		else
			return;	/* a write elsewhere gets no reply */
		add_frame(s, r, req, len, len - 2, out);
		return;
	}
	if (req[1] != 0x03 || val == 0 || val > BMS_MODBUS_MAX_REGS)
		return;
	if (!(start + val - 1 <= D2_LIVE_END ||
	      (start >= D2_SET_START && start + val - 1 <= D2_SET_END)))
		return;
	bms_simmodel_snap(m, &sn);
	for (unsigned i = 0; i < val; i++) {
		unsigned reg = start + i;

		regs[i] = u16(reg <= D2_LIVE_END ? d2_live(&sn, reg) : d2_setting(m, reg));
	}
	n = bms_modbus_read_reply(f, BMS_DALYMB_ADDR, regs, val);
	add_frame(s, r, f, n, n - 2, out);
}

/* ==== Personalities ==== */

/* A5: the next request frame; other boards' replies on the bus are not
 * for us. */
static int a5_next(const uint8_t *buf, size_t len, size_t *pos, size_t *reqlen)
{
	struct bms_daly_frame f;

	while (bms_daly_next(buf, len, pos, &f))
		if (bms_daly_is_request(&f)) {
			*reqlen = BMS_DALY_LEN;
			return 1;
		}
	return 0;
}

static int a5_answer(struct bms_sim *s, struct bms_sim_out *out, struct reply *r)
{
	int b = a5_board(s, out->req[1]);

	if (b)
		a5_reply(s, b, out->req[2], out->req + 4, r, out);
	return b;
}

static int a5_who(const struct bms_sim *s, const uint8_t *req, size_t len,
		  uint32_t *key)
{
	*key = req[2];	/* the data ID */
	return a5_board(s, req[1]);
}

static int d2_next(const uint8_t *buf, size_t len, size_t *pos, size_t *reqlen)
{
	return bms_modbus_next_request(buf, len, pos, BMS_DALYMB_ADDR, reqlen);
}

static int d2_answer(struct bms_sim *s, struct bms_sim_out *out, struct reply *r)
{
	d2_reply(s, out->req, out->reqlen, r, out);
	return 1;
}

static int d2_who(const struct bms_sim *s, const uint8_t *req, size_t len,
		  uint32_t *key)
{
	/* The function and the first register. */
	*key = (uint32_t)req[1] << 16 | (uint32_t)req[2] << 8 | req[3];
	return 1;
}

/* Each protocol's personality (proto.h: one entry per protocol). */
static const struct personality personalities[] = {
	[BMS_PROTO_DALY] = { a5_next, a5_answer, a5_who },
	[BMS_PROTO_DALY_MODBUS] = { d2_next, d2_answer, d2_who },
};
_Static_assert(sizeof personalities / sizeof personalities[0] == BMS_PROTO_COUNT,
	       "a protocol without a simulator");

static const struct personality *personality(const struct bms_sim *s)
{
	return &personalities[s->cfg.proto];
}

/* ==== Model time by polls ==== */

/* Request key of board b arrives: a key the poll holds begins the next
 * poll, a tick later. */
static void poll_step(struct bms_sim *s, int b, uint32_t key)
{
	struct board *bd = &s->board[b - 1];
	bool again = bd->nkeys == POLL_KEYS;

	for (int i = 0; i < bd->nkeys && !again; i++)
		again = bd->keys[i] == key;
	if (again) {
		bms_simmodel_advance(&bd->model, s->cfg.tick);
		bd->nkeys = 0;
	}
	bd->keys[bd->nkeys++] = key;
}

/* ==== The frozen link ==== */

static struct frozen *frozen_find(struct bms_sim *s, const uint8_t *req, size_t len)
{
	for (int i = 0; i < s->nfrozen; i++)
		if (s->frozen[i].reqlen == len && memcmp(s->frozen[i].req, req, len) == 0)
			return &s->frozen[i];
	return NULL;
}

/* Keep r as the last answer to req[0..len). */
static void frozen_store(struct bms_sim *s, const uint8_t *req, size_t len,
			 const struct reply *r)
{
	struct frozen *e;

	if (len > FROZEN_REQ)
		return;
	e = frozen_find(s, req, len);
	if (!e && s->nfrozen < FROZEN_MAX) {
		e = &s->frozen[s->nfrozen++];
	} else if (!e) {
		e = &s->frozen[0];
		for (int i = 1; i < s->nfrozen; i++)
			if (s->frozen[i].used < e->used)
				e = &s->frozen[i];
	}
	memcpy(e->req, req, len);
	e->reqlen = len;
	e->r = *r;
	e->used = ++s->uses;
}

/* ==== Stepping ==== */

int bms_sim_step(struct bms_sim *s, int64_t now_ms, struct bms_sim_out *out)
{
	struct frozen *replay;
	struct reply r;
	int64_t rx_ms;
	uint32_t key;
	size_t g = 0;
	int b;

	memset(out, 0, offsetof(struct bms_sim_out, buf));
	out->len = 0;
	out->not_before_ms = 0;
	out->delay_ms = 0;
	out->byte_ns = 0;
	out->chunk = 0;
	out->gap_ms = 0;
	out->vanish_ms = 0;
	out->faults = 0;
	out->replay = false;
	if (s->started && now_ms > s->last_ms && s->cfg.tick == 0) {
		double dt = (double)(now_ms - s->last_ms) / 1000.0 * s->cfg.speed;

		if (s->cfg.speed > 0)
			for (int k = 0; k < s->cfg.boards; k++)
				bms_simmodel_advance(&s->board[k].model, dt);
		s->last_ms = now_ms;
	}
	if (!next_request(s, out, &rx_ms))
		return 0;
	if (!s->started) {
		/* Model time 0 is now: the first request sees the start state. */
		s->started = true;
		s->last_ms = now_ms;
	}
	if (s->cfg.pace) {
		/* The request is complete once its last byte is on the wire. */
		out->not_before_ms = rx_ms +
			((int64_t)out->reqlen * 10000 + s->cfg.baud - 1) / s->cfg.baud;
		out->byte_ns = 10000000000L / s->cfg.baud;
	}

	b = personality(s)->who(s, out->req, out->reqlen, &key);
	if (b && s->cfg.tick > 0)
		poll_step(s, b, key);

	/* Request faults. */
	{
		bool vanish = fires(s, BMS_SIM_F_VANISH, out);
		bool sleep = fires(s, BMS_SIM_F_SLEEP, out);

		if (vanish) {
			out->faults &= 1u << BMS_SIM_F_VANISH;
			out->vanish_ms = s->cfg.vanish_ms;
			bms_sim_reset(s);
			return 1;
		}
		if (sleep) {
			memcpy(out->buf, out->req, out->reqlen);
			out->len = out->reqlen;
			return 1;
		}
	}

	r.len = 0;
	replay = NULL;
	if (b && s->frozen && s->board[b - 1].model.t >= s->cfg.freeze_at)
		replay = frozen_find(s, out->req, out->reqlen);
	if (replay) {
		r = replay->r;
		replay->used = ++s->uses;
		out->board = b;
		out->replay = true;
	} else {
		out->board = personality(s)->answer(s, out, &r);
		if (r.len > 0 && s->frozen)
			frozen_store(s, out->req, out->reqlen, &r);
	}
	if (r.len == 0) {
		out->board = 0;
		return 1;
	}

	/* Reply faults. */
	if (fires(s, BMS_SIM_F_DELAY, out))
		out->delay_ms += s->cfg.delay_ms;
	if (fires(s, BMS_SIM_F_GARBAGE, out)) {
		uint8_t junk[GARBAGE_MAX];

		g = 1 + rng_next(s) % GARBAGE_MAX;
		if (r.len + g > sizeof r.b)
			g = sizeof r.b - r.len;
		for (size_t i = 0; i < g; i++)
			junk[i] = (uint8_t)rng_next(s);
		memmove(r.b + g, r.b, r.len);
		memcpy(r.b, junk, g);
		r.len += g;
	}
	if (s->holding) {
		memcpy(out->buf, s->held, s->heldlen);
		out->len = s->heldlen;
		s->holding = false;
		s->heldlen = 0;
	} else if (fires(s, BMS_SIM_F_CONCAT, out)) {
		memcpy(s->held, r.b, r.len);
		s->heldlen = r.len;
		s->holding = true;
		return 1;
	}
	memcpy(out->buf + out->len, r.b, r.len);
	out->len += r.len;
	if (fires(s, BMS_SIM_F_SPLIT, out)) {
		out->chunk = SPLIT_CHUNK;
		out->gap_ms = SPLIT_GAP_MS;
	}
	out->delay_ms += s->cfg.latency_ms;
	return 1;
}

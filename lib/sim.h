/* SPDX-License-Identifier: MIT */
/*
 * The Daly BMS of bms-sim: up to 16 boards on one bus, each with its own
 * battery (simmodel.h), answering A5 requests (or D2 Modbus requests) the
 * way real boards do, with faults injected on demand.
 *
 * The responder does no I/O.  The caller feeds it the bytes that arrived
 * (bms_sim_feed) and then asks for one request at a time
 * (bms_sim_step): each step finds the next complete request in the bytes
 * (resynchronising over garbage, split and concatenated requests; a
 * request with a bad checksum or CRC is skipped unanswered) and returns
 * a plan: the bytes to send and when and how to send them (simio.h
 * carries it out).  Model time starts at 0 with the first request taken
 * (so its answer shows the configured start state however long the
 * simulator waited for it), then advances with the real time passed to
 * each step, times the configured speed; or, with cfg.tick, by exactly
 * tick model seconds at every poll of a board (see bms_sim_cfg), which
 * makes the model time of every answer known in advance.
 *
 * A frozen link (cfg.freeze_at): from that model time on, a request
 * answered before is answered with exactly the frames sent for it the
 * last time, bit for bit, and does not reach the model; a request never
 * answered before is answered live, and replayed from then on.
 *
 * Faults are counted per fault, deterministically: "checksum:3" corrupts
 * every third reply frame.  What a fault counts:
 *   requests      sleep, vanish (every valid request frame on the bus)
 *   reply frames  checksum, drop, stale (every 13-byte A5 frame or D2 reply)
 *   replies       garbage, split, concat, delay (all frames of one answer)
 *   0x95 / 0x96   cells-16 / extra-temps (answers to that data ID)
 * Random bytes (garbage) come from a generator seeded with cfg.seed.
 */
#ifndef BMS_SIM_H
#define BMS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "simmodel.h"

#define BMS_SIM_MAX_BOARDS 16
#define BMS_SIM_MAX_FAULTS 32
#define BMS_SIM_OUT_MAX 1024	/* bytes one step may send */
#define BMS_SIM_REQ_MAX 256	/* longest request kept for the log */

enum bms_sim_fault_kind {
	BMS_SIM_F_CHECKSUM,	/* invert the checksum / first CRC byte */
	BMS_SIM_F_DROP,		/* cut the last 4 bytes off a frame */
	BMS_SIM_F_GARBAGE,	/* 1..8 random bytes before a reply */
	BMS_SIM_F_SPLIT,	/* write a reply in 5-byte pieces, 5 ms apart */
	BMS_SIM_F_CONCAT,	/* hold a reply, send it with the next one */
	BMS_SIM_F_DELAY,	/* wait cfg.delay_ms before a reply */
	BMS_SIM_F_SLEEP,	/* echo the request, answer nothing */
	BMS_SIM_F_EXTRA_TEMPS,	/* an extra all-zero 0x96 frame */
	BMS_SIM_F_CELLS_16,	/* 16 frames of 0x95, surplus ones zero */
	BMS_SIM_F_STALE,	/* unused bytes keep the previous frame's */
	BMS_SIM_F_VANISH,	/* the device disappears for cfg.vanish_ms */
	BMS_SIM_F_COUNT
};

struct bms_sim_fault {
	enum bms_sim_fault_kind kind;
	unsigned long every;	/* fire on every every-th event, >= 1 */
	unsigned long count;	/* events seen so far */
};

struct bms_sim_cfg {
	enum bms_proto proto;		/* the boards' protocol (proto.h) */
	int boards;			/* 1..bms_proto_boards(proto); board
					 * k's SOC is soc - (k-1) % */
	struct bms_simmodel_cfg model;	/* the battery of board 1 */
	double speed;			/* model seconds per real second; 0 freezes */
	/*
	 * > 0: model time ignores the clock and advances by tick seconds
	 * at every poll.  A board's poll is a run of requests to it that
	 * asks no data ID (A5) or function and first register (D2) twice:
	 * the request that repeats one begins the next poll, and the
	 * board's model advances by tick before answering it.
	 */
	double tick;
	double freeze_at;		/* model seconds; < 0: never frozen */
	uint64_t seed;			/* of the garbage bytes */
	int baud;			/* for pace */
	bool pace;			/* answer and send at wire speed */
	int latency_ms;			/* before every reply */
	int delay_ms;			/* length of the delay fault */
	int vanish_ms;			/* length of the vanish fault */
	struct bms_sim_fault faults[BMS_SIM_MAX_FAULTS];
	int nfaults;
};

/*
 * What to do for one request.  Send buf[0..len) no earlier than
 * not_before_ms (CLOCK_MONOTONIC, bms_ts_mono_ms), and delay_ms after
 * that; with byte_ns > 0 one byte every byte_ns; with chunk > 0 in pieces
 * of chunk bytes, gap_ms apart.  vanish_ms > 0: send nothing, the device
 * disappears for that long.  len 0 and vanish_ms 0: no answer.
 */
struct bms_sim_out {
	uint8_t req[BMS_SIM_REQ_MAX];	/* the request handled (for logs) */
	size_t reqlen;
	int board;			/* board that answered, 0 if none */
	uint8_t buf[BMS_SIM_OUT_MAX];
	size_t len;
	int64_t not_before_ms;		/* ms, monotonic clock */
	int delay_ms;
	long byte_ns;
	int chunk;
	int gap_ms;
	int vanish_ms;
	unsigned faults;		/* 1u << kind of every fault that fired */
	bool replay;			/* the frozen link replayed the answer */
};

struct bms_sim;

/* cfg with every default: one A5 board with the default battery. */
void bms_sim_defaults(struct bms_sim_cfg *cfg);

/*
 * Parse "NAME[:EVERY]" into *f.  Returns 0, or -1 with a one-line reason
 * in err.
 */
int bms_sim_fault_parse(const char *s, struct bms_sim_fault *f, char *err,
			size_t errsz);

/* The option name of a fault kind ("checksum", "extra-temps", ...). */
const char *bms_sim_fault_name(enum bms_sim_fault_kind kind);

/*
 * A new simulator from cfg (copied); its model time stays 0 until the
 * first request is taken (bms_sim_step).  Returns NULL when out of
 * memory.  Free with bms_sim_free.
 */
struct bms_sim *bms_sim_new(const struct bms_sim_cfg *cfg);
void bms_sim_free(struct bms_sim *s);

/* Bytes that arrived at now_ms.  When more than 512 bytes wait without
 * holding a request, the oldest are dropped. */
void bms_sim_feed(struct bms_sim *s, const uint8_t *p, size_t n, int64_t now_ms);

/* Forget bytes that wait and a held (concat) reply: the line was cut.
 * Model time runs on. */
void bms_sim_reset(struct bms_sim *s);

/*
 * Advance the model to now_ms (ms, monotonic) and handle the next
 * complete request among the bytes fed: returns 1 with *out filled, or 0
 * when no complete request waits.  The first request taken sets model
 * time 0 at now_ms.
 */
int bms_sim_step(struct bms_sim *s, int64_t now_ms, struct bms_sim_out *out);

#endif

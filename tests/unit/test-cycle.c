/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the poll cycle (lib/cycle.c) over a real loopback TCP
 * connection, the transport of a serial bridge: the test is the board's
 * side of the line.  Bytes the board sends before the cycle starts are
 * written, and seen to have left the test's socket, before the cycle
 * runs, so what the cycle finds waiting does not depend on timing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <arpa/inet.h>

#include "cycle.h"
#include "daly.h"
#include "serial.h"
#include "unit.h"

/* §4.1 of the Daly notes: board 1's reply to 0x94 (16 cells, 2 probes). */
static const uint8_t f94[BMS_DALY_LEN] = {
	0xa5, 0x01, 0x94, 0x08, 0x10, 0x02, 0x01, 0x00, 0x02, 0x00, 0x2a, 0x00, 0x81
};

/* One line: the cycle's port and the board's socket. */
struct line {
	struct bms_serial *port;
	int board;
};

static int line_open(struct line *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	char dev[64], err[256];
	int lfd, sndbuf = 1 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("listen");
		return -1;
	}
	snprintf(dev, sizeof dev, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	if (bms_serial_open(dev, 9600, 3000, &l->port, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	l->board = accept(lfd, NULL, NULL);
	close(lfd);
	if (l->board < 0)
		return -1;
	setsockopt(l->board, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	return 0;
}

static void line_close(struct line *l)
{
	bms_serial_close(l->port);
	close(l->board);
}

/*
 * The board sends n bytes before the cycle: written, and waited for
 * (at most 10 s) until none is left unsent, so over loopback all of them
 * wait at the cycle's end of the line.
 */
static int board_sends(struct line *l, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t k = write(l->board, p + off, n - off);

		if (k < 0)
			return -1;
		off += (size_t)k;
	}
	for (int i = 0; i < 10000; i++) {
		int unsent = 0;
		struct timespec ms = { 0, 1000000 };

		if (ioctl(l->board, SIOCOUTQNSD, &unsent) < 0)
			return -1;
		if (unsent == 0)
			return 0;
		nanosleep(&ms, NULL);
	}
	return -1;
}

static struct bms_cycle_opts opts(void)
{
	struct bms_cycle_opts o = {
		.proto = BMS_PROTO_DALY,
		.board = 1,
		.host_base = BMS_DALY_HOST_PC,
		.timeout_ms = 50,
		.retries = 0,
		.cycle = 1,
	};

	return o;
}

/* issue 7: a board that floods the line fills a cycle before its first
 * request; the frames in it are counted, so bms-read writes them. */
static void test_full_before_first_request(void)
{
	struct line l;
	struct bms_cycle_cycle c = { 0 };
	struct bms_cycle_opts o = opts();
	size_t nframes = 6000, n = nframes * BMS_DALY_LEN;
	uint8_t *flood = malloc(n);

	CHECK(flood != NULL);
	if (!flood || line_open(&l) < 0) {
		CHECK(!"line");
		free(flood);
		return;
	}
	for (size_t i = 0; i < nframes; i++)
		memcpy(flood + i * BMS_DALY_LEN, f94, BMS_DALY_LEN);
	CHECK_INT(board_sends(&l, flood, n), 0);
	CHECK_INT(bms_cycle_run(l.port, &o, &c), BMS_CYCLE_GARBLED);
	CHECK_INT(c.overflow, 1);
	CHECK_INT(c.cut, 0);
	/* One element, full: 65536 bytes are 5041 whole frames and 3 bytes. */
	CHECK_INT(c.nelems, 1);
	CHECK_INT(c.len, 65536);
	CHECK_INT(c.nvalid, 5041);
	CHECK_MEM(c.buf, f94, BMS_DALY_LEN);
	bms_cycle_free(&c);
	line_close(&l);
	free(flood);
}

/* issue 7: a frame waiting at the start counts as valid, though the
 * board then falls silent: the cycle is incomplete, not unanswered. */
static void test_frame_waiting_then_silence(void)
{
	struct line l;
	struct bms_cycle_cycle c = { 0 };
	struct bms_cycle_opts o = opts();
	uint8_t req[BMS_DALY_LEN], got[2 * BMS_DALY_LEN];

	if (line_open(&l) < 0) {
		CHECK(!"line");
		return;
	}
	CHECK_INT(board_sends(&l, f94, sizeof f94), 0);
	CHECK_INT(bms_cycle_run(l.port, &o, &c), BMS_CYCLE_INCOMPLETE);
	CHECK_INT(c.nvalid, 1);
	CHECK_STR(c.missing, "0x94, 0x90, 0x95, 0x96");
	/* The frame stays in the first element, which then timed out. */
	CHECK_INT(c.nelems, 1);
	CHECK_INT(c.len, BMS_DALY_LEN);
	CHECK_MEM(c.buf, f94, BMS_DALY_LEN);
	/* Only 0x94 was asked: the cycle ended at its silence. */
	bms_daly_encode(req, 0x40, BMS_DALY_STATUS, NULL);
	CHECK_INT(read(l.board, got, sizeof got), BMS_DALY_LEN);
	CHECK_MEM(got, req, BMS_DALY_LEN);
	bms_cycle_free(&c);
	line_close(&l);
}

/* A frame of another board waiting at the start is not this board's. */
static void test_other_board_waiting(void)
{
	struct line l;
	struct bms_cycle_cycle c = { 0 };
	struct bms_cycle_opts o = opts();

	o.board = 2;
	if (line_open(&l) < 0) {
		CHECK(!"line");
		return;
	}
	CHECK_INT(board_sends(&l, f94, sizeof f94), 0);
	CHECK_INT(bms_cycle_run(l.port, &o, &c), BMS_CYCLE_NO_REPLY);
	CHECK_INT(c.nvalid, 0);
	CHECK_INT(c.len, BMS_DALY_LEN);
	bms_cycle_free(&c);
	line_close(&l);
}

int main(void)
{
	test_full_before_first_request();
	test_frame_waiting_then_silence();
	test_other_board_waiting();
	return unit_done();
}

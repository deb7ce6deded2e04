/* SPDX-License-Identifier: MIT */
/*
 * Transports and the reply writer of bms-sim (see simio.h).
 *
 * One peer at a time: a TCP client is served until it closes, and further
 * clients wait in the listen backlog.  Waits use absolute deadlines on
 * CLOCK_MONOTONIC, so pacing at wire speed keeps its average rate however
 * late the scheduler wakes us, and a signal cuts a wait short only when it
 * asks to stop.
 *
 * Every wait, for input, for room to write or for time to pass, is a
 * bms_sig_poll (the stop signals are blocked anywhere else).  So the
 * descriptors we own (pty master, listener, TCP client) are non-blocking,
 * and the shared standard input and output, which must stay blocking for
 * whoever else holds them, are read or written only after poll said so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sig.h"
#include "simio.h"
#include "ts.h"

static void io_init(struct bms_simio *io, enum bms_simio_kind kind)
{
	memset(io, 0, sizeof *io);
	io->kind = kind;
	bms_pty_init(&io->pty);
	io->tcp.fd = -1;
	io->cfd = -1;
}

/* ==== Waiting ==== */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep until the monotonic time t (ns); false if asked to stop. */
static bool sleep_until_ns(int64_t t)
{
	int64_t left;

	/* Whole milliseconds through bms_sig_poll, so a stop signal ends the
	 * wait at once; the last fraction of a millisecond by the clock. */
	while (!bms_sig_stopping() && (left = t - now_ns()) > 1000000)
		bms_sig_poll(NULL, 0, (int)(left / 1000000));
	if (!bms_sig_stopping() && t > now_ns()) {
		struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	return !bms_sig_stopping();
}


/* ==== Pseudo-terminal ==== */

/*
 * Open the pty with a non-blocking master: replies nobody reads fill the
 * slave's queue, and then a write must wait in poll, not in write(2).
 */
static int pty_open(struct bms_simio *io, char *err, size_t errsz)
{
	int fl;

	if (bms_pty_open(&io->pty, io->link, err, errsz) < 0)
		return BMS_SIMIO_ERR;
	fl = fcntl(io->pty.master, F_GETFL);
	if (fl < 0 || fcntl(io->pty.master, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errsz, "cannot set up '%s': %s", io->pty.path,
			 strerror(errno));
		bms_pty_close(&io->pty);
		return BMS_SIMIO_ERR;
	}
	snprintf(io->where, sizeof io->where, "%s", io->pty.path);
	return BMS_SIMIO_OK;
}

int bms_simio_open_pty(struct bms_simio *io, const char *link, char *err,
		       size_t errsz)
{
	io_init(io, BMS_SIMIO_PTY);
	io->link = link;
	return pty_open(io, err, errsz);
}

/* ==== TCP ==== */

int bms_simio_open_tcp(struct bms_simio *io, const struct bms_net_hostport *hp,
		       char *err, size_t errsz)
{
	io_init(io, BMS_SIMIO_TCP);
	if (bms_net_listen(&io->tcp, hp, err, errsz) < 0)
		return BMS_SIMIO_ERR;
	snprintf(io->where, sizeof io->where, "tcp://%s", io->tcp.where);
	return BMS_SIMIO_OK;
}

/* ==== stdio ==== */

int bms_simio_open_stdio(struct bms_simio *io)
{
	io_init(io, BMS_SIMIO_STDIO);
	return BMS_SIMIO_OK;
}

/* ==== Reading ==== */

static int rfd(const struct bms_simio *io)
{
	switch (io->kind) {
	case BMS_SIMIO_PTY:
		return io->pty.master;
	case BMS_SIMIO_TCP:
		return io->cfd >= 0 ? io->cfd : io->tcp.fd;
	default:
		return 0;
	}
}

static int wfd(const struct bms_simio *io)
{
	switch (io->kind) {
	case BMS_SIMIO_PTY:
		return io->pty.master;
	case BMS_SIMIO_TCP:
		return io->cfd;
	default:
		return 1;
	}
}

static void drop_client(struct bms_simio *io)
{
	if (io->cfd >= 0)
		close(io->cfd);
	io->cfd = -1;
}

int bms_simio_read(struct bms_simio *io, void *buf, size_t cap, size_t *n,
		   int timeout_ms, char *err, size_t errsz)
{
	struct pollfd pfd = { rfd(io), POLLIN, 0 };
	ssize_t r;
	int rc;

	*n = 0;
	if (bms_sig_stopping())
		return BMS_SIMIO_STOP;
	if (pfd.fd < 0)
		return BMS_SIMIO_OK;
	rc = bms_sig_poll(&pfd, 1, timeout_ms);
	if (bms_sig_stopping())
		return BMS_SIMIO_STOP;
	if (rc < 0) {
		if (errno == EINTR)
			return BMS_SIMIO_OK;
		snprintf(err, errsz, "cannot wait for input: %s", strerror(errno));
		return BMS_SIMIO_ERR;
	}
	if (rc == 0)
		return BMS_SIMIO_OK;
	if (io->kind == BMS_SIMIO_TCP && io->cfd < 0) {
		int fd = bms_net_accept(&io->tcp, err, errsz);

		if (fd == -2)
			return BMS_SIMIO_ERR;
		io->cfd = fd;
		return fd >= 0 ? BMS_SIMIO_NEW : BMS_SIMIO_OK;
	}
	r = read(pfd.fd, buf, cap);
	if (r > 0) {
		*n = (size_t)r;
		return BMS_SIMIO_OK;
	}
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return BMS_SIMIO_OK;
	switch (io->kind) {
	case BMS_SIMIO_TCP:
		drop_client(io);
		return BMS_SIMIO_NEW;
	case BMS_SIMIO_STDIO:
		if (r == 0)
			return BMS_SIMIO_END;
		break;
	case BMS_SIMIO_PTY:
		break;
	}
	snprintf(err, errsz, "cannot read from %s: %s",
		 io->where[0] ? io->where : "standard input",
		 r == 0 ? "end of file" : strerror(errno));
	return BMS_SIMIO_ERR;
}

/* ==== Writing ==== */

/*
 * Most bytes one write(2) is given.  After poll reported room, a write of
 * up to PIPE_BUF bytes to a pipe does not block (Linux has a free page
 * then), nor to a socket or a file; that is what keeps a blocking
 * standard output from holding up a stop.
 */
#define WRITE_MAX PIPE_BUF

/*
 * Write all of p[0..n) to fd, waiting for room in bms_sig_poll; a
 * BMS_SIMIO_* code (ERR with errno set for the caller to name).  tcp: use
 * send(2), so a closed peer is EPIPE, not SIGPIPE.
 */
static int put(int fd, bool tcp, const uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		size_t k = n < WRITE_MAX ? n : WRITE_MAX;
		ssize_t w;

		if (bms_sig_stopping())
			return BMS_SIMIO_STOP;
		if (bms_sig_poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return BMS_SIMIO_ERR;
		}
		w = tcp ? send(fd, p, k, MSG_NOSIGNAL | MSG_DONTWAIT) : write(fd, p, k);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return errno == EPIPE ? BMS_SIMIO_END : BMS_SIMIO_ERR;
		}
		p += w;
		n -= (size_t)w;
	}
	return BMS_SIMIO_OK;
}

int bms_simio_write_fd(int fd, const void *p, size_t n, const char *name,
		       char *err, size_t errsz)
{
	int rc = put(fd, false, p, n);

	if (rc == BMS_SIMIO_ERR)
		snprintf(err, errsz, "cannot write to %s: %s", name, strerror(errno));
	return rc;
}

/* Write all of p[0..n) to the peer; a BMS_SIMIO_* code. */
static int write_all(struct bms_simio *io, const uint8_t *p, size_t n,
		     char *err, size_t errsz)
{
	int fd = wfd(io), rc;

	if (fd < 0)
		return BMS_SIMIO_NEW;
	rc = put(fd, io->kind == BMS_SIMIO_TCP, p, n);
	if (io->kind == BMS_SIMIO_TCP && (rc == BMS_SIMIO_ERR || rc == BMS_SIMIO_END)) {
		/* The client went away: serve the next one. */
		drop_client(io);
		return BMS_SIMIO_NEW;
	}
	if (rc == BMS_SIMIO_END && io->kind != BMS_SIMIO_STDIO)
		rc = BMS_SIMIO_ERR;
	if (rc == BMS_SIMIO_ERR)
		snprintf(err, errsz, "cannot write to %s: %s",
			 io->where[0] ? io->where : "standard output", strerror(errno));
	return rc;
}

int bms_simio_send(struct bms_simio *io, const struct bms_sim_out *out,
		   char *err, size_t errsz)
{
	int64_t t = now_ns();
	size_t i = 0;
	int rc;

	if (out->len == 0)
		return BMS_SIMIO_OK;
	if (out->not_before_ms * 1000000 > t)
		t = out->not_before_ms * 1000000;
	t += (int64_t)out->delay_ms * 1000000;
	if (!sleep_until_ns(t))
		return BMS_SIMIO_STOP;
	while (i < out->len) {
		size_t piece = out->chunk > 0 ? (size_t)out->chunk : out->len;

		if (piece > out->len - i)
			piece = out->len - i;
		if (out->byte_ns > 0) {
			/* One byte per byte time, on an absolute schedule. */
			for (size_t k = 0; k < piece; k++) {
				rc = write_all(io, out->buf + i + k, 1, err, errsz);
				if (rc != BMS_SIMIO_OK)
					return rc;
				t += out->byte_ns;
				if (!sleep_until_ns(t))
					return BMS_SIMIO_STOP;
			}
		} else {
			rc = write_all(io, out->buf + i, piece, err, errsz);
			if (rc != BMS_SIMIO_OK)
				return rc;
		}
		i += piece;
		if (i < out->len && out->gap_ms > 0) {
			t = now_ns() + (int64_t)out->gap_ms * 1000000;
			if (!sleep_until_ns(t))
				return BMS_SIMIO_STOP;
		}
	}
	return BMS_SIMIO_OK;
}

/* ==== Vanishing ==== */

int bms_simio_vanish(struct bms_simio *io, int ms, char *err, size_t errsz)
{
	int64_t until = now_ns() + (int64_t)ms * 1000000;

	switch (io->kind) {
	case BMS_SIMIO_PTY:
		bms_pty_close(&io->pty);
		if (!sleep_until_ns(until))
			return BMS_SIMIO_STOP;
		return pty_open(io, err, errsz);
	case BMS_SIMIO_TCP:
		drop_client(io);
		bms_net_unlisten(&io->tcp);
		if (!sleep_until_ns(until))
			return BMS_SIMIO_STOP;
		return bms_net_relisten(&io->tcp, err, errsz) < 0 ? BMS_SIMIO_ERR
								  : BMS_SIMIO_OK;
	default:
		return sleep_until_ns(until) ? BMS_SIMIO_OK : BMS_SIMIO_STOP;
	}
}

void bms_simio_close(struct bms_simio *io)
{
	bms_pty_close(&io->pty);
	drop_client(io);
	bms_net_unlisten(&io->tcp);
}

/* SPDX-License-Identifier: MIT */
/*
 * The simulator's end of the wire: a pseudo-terminal (pty.h), a TCP
 * listener serving one client at a time, or stdin/stdout; and the writer
 * that carries out a reply plan of sim.h with its pacing, delays and
 * pieces.
 *
 * Every wait (for a client, for input, for room to write, a delay or a
 * vanish) is made in bms_sig_poll and returns BMS_SIMIO_STOP as soon as
 * SIGINT or SIGTERM asks to stop (sig.h), also when a reader leaves the
 * replies unread.  Nothing is printed here; every failure comes back as
 * BMS_SIMIO_ERR with a one-line reason in err.
 */
#ifndef BMS_SIMIO_H
#define BMS_SIMIO_H

#include <stddef.h>

#include "net.h"
#include "pty.h"
#include "sim.h"

enum bms_simio_kind {
	BMS_SIMIO_PTY,
	BMS_SIMIO_TCP,
	BMS_SIMIO_STDIO,
};

enum bms_simio_rc {
	BMS_SIMIO_ERR = -1,	/* failure: err says what */
	BMS_SIMIO_OK = 0,
	BMS_SIMIO_NEW = 1,	/* the peer changed (a client came or went): drop
				 * what the simulator holds of the old one */
	BMS_SIMIO_END = 2,	/* stdin ended or stdout was closed */
	BMS_SIMIO_STOP = 3,	/* SIGINT or SIGTERM arrived */
};

struct bms_simio {
	enum bms_simio_kind kind;
	struct bms_pty pty;
	const char *link;		/* pty link path, borrowed */
	struct bms_net_listener tcp;	/* TCP: the listener, fd -1 if none */
	int cfd;			/* TCP client, -1 if none */
	char where[336];		/* "/dev/pts/3", "tcp://127.0.0.1:4001", "" */
};

/* Serve a new pseudo-terminal (link: see bms_pty_open). */
int bms_simio_open_pty(struct bms_simio *io, const char *link, char *err,
		       size_t errsz);

/*
 * Listen on hp (from bms_net_parse, net.h: a listener takes port 0 and
 * defaults to BMS_NET_LOOPBACK); io->where then names the address bound,
 * with the real port: "tcp://127.0.0.1:40113", "tcp://[::1]:4001".
 */
int bms_simio_open_tcp(struct bms_simio *io, const struct bms_net_hostport *hp,
		       char *err, size_t errsz);

/* Requests on stdin, replies on stdout. */
int bms_simio_open_stdio(struct bms_simio *io);

/*
 * Wait up to timeout_ms for bytes and read what is there into buf: *n
 * bytes (0 on a timeout).  Returns BMS_SIMIO_OK, NEW, END, STOP or ERR.
 */
int bms_simio_read(struct bms_simio *io, void *buf, size_t cap, size_t *n,
		   int timeout_ms, char *err, size_t errsz);

/*
 * Carry out a reply plan (its vanish_ms excepted).  Returns OK, NEW (the
 * TCP client went away meanwhile), END (stdout closed), STOP or ERR.
 */
int bms_simio_send(struct bms_simio *io, const struct bms_sim_out *out,
		   char *err, size_t errsz);

/*
 * Make the device disappear for ms milliseconds: a pty is closed (its
 * link removed) and made anew, a TCP listener and its client are closed
 * and the port is listened on again; stdio just goes quiet.  Returns OK,
 * STOP or ERR.
 */
int bms_simio_vanish(struct bms_simio *io, int ms, char *err, size_t errsz);

/*
 * Write all of p[0..n) to fd, a descriptor that may be blocking and shared
 * (standard output), waiting for room in bms_sig_poll: it is written only
 * once poll reports room, at most PIPE_BUF bytes at a time (a terminal
 * stopped by flow control may still hold a write up).  name is for err.
 * Returns OK, END (the reader went away: EPIPE), STOP or ERR.
 */
int bms_simio_write_fd(int fd, const void *p, size_t n, const char *name,
		       char *err, size_t errsz);

/* Close everything and remove the pty link. */
void bms_simio_close(struct bms_simio *io);

#endif

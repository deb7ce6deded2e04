/* SPDX-License-Identifier: MIT */
/*
 * wsclient: a small WebSocket client (RFC 6455), for the suites and
 * make bench to talk to bms-serve's WebSocket endpoint.
 *
 * usage: wsclient [-p PROTO]... [-H HEADER]... [-s TEXT]... [-i] [-n COUNT]
 *                 [-t SECONDS] [-c CONNS] [-T] [--no-read] [--rcvbuf BYTES]
 *                 ws://HOST:PORT/PATH
 *
 *   -p PROTO   offer a subprotocol (repeatable); the one the server
 *              chooses is told on stderr: "wsclient: protocol NAME"
 *   -H HEADER  add "Name: value" to the upgrade request (repeatable)
 *   -s TEXT    send TEXT as a text message after the handshake
 *              (repeatable, in order)
 *   -i         also send each line of stdin as a text message
 *   -n COUNT   end (0) after COUNT text messages, over all connections
 *   -t SECONDS end (3) when the run has not ended by then
 *   -c CONNS   open CONNS connections (default 1); with more than one,
 *              lines and diagnostics carry the connection's number 0..
 *   -T         put the receive time (epoch seconds.microseconds) first
 *   --no-read  never read the sockets after the handshake (a stalled
 *              client); runs until -t or a signal
 *   --rcvbuf BYTES  SO_RCVBUF of each socket, set before connecting
 *
 * Each connection does the handshake, then sends the -s messages; once
 * all have, "wsclient: ready CONNS" goes to stderr.  Every text message
 * received is one line on stdout, flushed at once; a binary one is told
 * on stderr as "wsclient: binary N bytes".  Pings are answered.  A close
 * from the server is told ("wsclient: closed CODE REASON") and answered,
 * and the run ends when every connection has ended.  On -n, -t,
 * SIGTERM and SIGINT a close 1000 goes to each connection, and its
 * answer is awaited for up to a second.  A refused handshake prints
 * "wsclient: refused: STATUS-LINE" and the answer's body on stdout.
 * Messages are taken as they come: text is not checked to be UTF-8.
 *
 * Exit: 0 closed by the server, -n reached or a signal; 1 refused or an
 * error (protocol errors included); 2 usage; 3 -t timeout; 4 connection
 * lost without a close frame.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rand.h"

#define MAX_MSG (16u << 20)	/* largest message taken, bytes */
#define MAX_HEAD 16384		/* largest handshake answer head, bytes */
#define MAX_BODY (1u << 20)	/* largest refusal body read, bytes */
#define KEEP_BUF 65536		/* buffers larger than this freed when empty */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { ST_OK, ST_ERR, ST_USAGE, ST_TIMEOUT, ST_LOST };
enum { OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE = 8, OP_PING, OP_PONG };
enum { DONE, OPEN, CLOSING };	/* CLOSING: our close sent */

struct conn {
	int fd;
	int state;
	int lost;		/* ended without a close frame */
	int mop;		/* opcode of the fragmented message, or 0 */
	unsigned char *in;	/* received, not yet parsed */
	size_t len, cap;
	unsigned char *msg;	/* the fragmented message so far */
	size_t mlen, mcap;
};

static const char usage_line[] =
	"wsclient [-p PROTO]... [-H HEADER]... [-s TEXT]... [-i] [-n COUNT] "
	"[-t SECONDS] [-c CONNS] [-T] [--no-read] [--rcvbuf BYTES] "
	"ws://HOST:PORT/PATH";

static struct conn *conns;
static int nconn;
static struct pollfd *pfd;	/* nconn + 1, for the waits */
static struct conn **pconn;	/* the connection of each pfd, or NULL */
static long long deadline = -1;	/* -t, CLOCK_MONOTONIC ms, or -1 */
static unsigned long nrecv;	/* text messages received */
static unsigned long want;	/* -n, or 0 */
static int stamp, no_read;
static sigset_t waitmask;	/* the mask while waiting: signals let in */
static volatile sig_atomic_t got_sig;

/* ==== Diagnostics and exit ==== */

static void say(const struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void finish(int code, int wait) __attribute__((noreturn));
static void bye(int code) __attribute__((noreturn));

/* One line on stderr, naming the connection when there are several. */
static void say(const struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (c && nconn > 1)
		fprintf(stderr, "wsclient: %d: %s\n", (int)(c - conns), line);
	else
		fprintf(stderr, "wsclient: %s\n", line);
}

static void die(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "wsclient: %s\n", line);
	exit(code);
}

static void usage(void)
{
	die(ST_USAGE, "usage: %s", usage_line);
}

/* Exit, with stdout's last lines out; a reader gone is no failure. */
static void bye(int code)
{
	if (fflush(stdout) == EOF && errno != EPIPE)
		die(ST_ERR, "stdout: %s", strerror(errno));
	exit(code);
}

/* ==== Time and waiting ==== */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ppoll with SIGTERM and SIGINT let in, until the CLOCK_MONOTONIC ms
 * until (-1: no limit).  Returns as ppoll; 0 also when until is past. */
static int wait_fds(struct pollfd *fds, nfds_t n, long long until)
{
	struct timespec ts, *tp = NULL;
	long long left;

	if (until >= 0) {
		left = until - now_ms();
		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		tp = &ts;
	}
	return ppoll(fds, n, tp, &waitmask);
}

static int wait_fd(int fd, short events, long long until)
{
	struct pollfd p = { .fd = fd, .events = events };

	return wait_fds(&p, 1, until);
}

/* ==== SHA-1 and base64, for the handshake's key ==== */

static uint32_t rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const unsigned char *b)
{
	uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
	uint32_t f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (i = 0; i < 80; i++) {
		if (i < 20)
			f = (bb & c) | (~bb & d), k = 0x5a827999;
		else if (i < 40)
			f = bb ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (bb & c) | (bb & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = bb ^ c ^ d, k = 0xca62c1d6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(bb, 30), bb = a, a = t;
	}
	h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e;
}

/* The SHA-1 digest of p[0..n) (FIPS 180-4) into out. */
static void sha1(const void *p, size_t n, unsigned char out[20])
{
	const unsigned char *s = p;
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
			  0xc3d2e1f0 };
	uint64_t bits = (uint64_t)n * 8;
	unsigned char b[64];
	size_t nb = (n + 8) / 64 + 1, i, j, k;

	for (i = 0; i < nb; i++) {
		for (j = 0; j < 64; j++) {
			k = i * 64 + j;
			b[j] = k < n ? s[k] : k == n ? 0x80 : 0;
		}
		if (i == nb - 1)
			for (j = 0; j < 8; j++)
				b[63 - j] = (unsigned char)(bits >> (8 * j));
		sha1_block(h, b);
	}
	for (i = 0; i < 20; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* p[0..n) in base64 with padding into out, which holds 4*((n+2)/3)+1. */
static void base64(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*out++ = abc[v >> 18 & 63];
		*out++ = abc[v >> 12 & 63];
		*out++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*out = '\0';
}

/* ==== Buffers ==== */

/* Append p[0..n) to *buf (holding *len of *cap).  Dies out of memory. */
static void append(unsigned char **buf, size_t *len, size_t *cap,
		   const void *p, size_t n)
{
	size_t want_cap = *cap ? *cap : 1024;

	while (want_cap < *len + n)
		want_cap *= 2;
	if (want_cap != *cap) {
		unsigned char *nbuf = realloc(*buf, want_cap);

		if (!nbuf)
			die(ST_ERR, "memory: %s", strerror(errno));
		*buf = nbuf;
		*cap = want_cap;
	}
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
}

/* ==== Sending ==== */

/* Send all of p[0..n) on the non-blocking socket fd, waiting for room
 * until the ms until (-1: no limit).  Returns 0, or -1 with errno set
 * (ETIMEDOUT when until passed). */
static int send_all(int fd, const void *p, size_t n, long long until)
{
	const char *b = p;
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(fd, b, n, MSG_NOSIGNAL);
		if (w >= 0) {
			b += w;
			n -= (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			r = wait_fd(fd, POLLOUT, until);
			if (r == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (r < 0 && errno != EINTR)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* Send one whole frame of opcode op with payload p[0..n), masked with
 * a fresh random key.  Returns as send_all. */
static int send_frame(struct conn *c, int op, const void *p, size_t n,
		      long long until)
{
	unsigned char h[14], key[4], chunk[16384];
	const unsigned char *s = p;
	size_t hl = 2, i, m;

	if (bms_rand_bytes(key, sizeof key) < 0)
		die(ST_ERR, "getrandom: %s", strerror(errno));
	h[0] = (unsigned char)(0x80 | op);
	if (n < 126) {
		h[1] = (unsigned char)(0x80 | n);
	} else if (n <= 0xffff) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[9 - i] = (unsigned char)((uint64_t)n >> (8 * i));
		hl = 10;
	}
	memcpy(h + hl, key, 4);
	if (send_all(c->fd, h, hl + 4, until) < 0)
		return -1;
	for (m = 0; m < n; m += i) {
		for (i = 0; i < sizeof chunk && m + i < n; i++)
			chunk[i] = s[m + i] ^ key[(m + i) & 3];
		if (send_all(c->fd, chunk, i, until) < 0)
			return -1;
	}
	return 0;
}

static void conn_end(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = DONE;
}

static void timeout(void) __attribute__((noreturn));

static void timeout(void)
{
	say(NULL, "timeout after %lu messages", nrecv);
	finish(ST_TIMEOUT, 1);
}

/* A frame to c that could not be sent: past -t, the timeout; else c
 * is lost. */
static void send_failed(struct conn *c)
{
	int e = errno;

	conn_end(c);
	if (e == ETIMEDOUT)
		timeout();
	c->lost = 1;
	say(c, "connection lost");
}

static void send_text(struct conn *c, const void *p, size_t n)
{
	if (send_frame(c, OP_TEXT, p, n, deadline) < 0)
		send_failed(c);
}

/* ==== Receiving ==== */

/* A protocol error on c: told, a close with code sent, c ended. */
static int proto_error(struct conn *c, unsigned code, const char *what)
{
	unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };

	say(c, "protocol error: %s", what);
	if (c->state == OPEN)
		send_frame(c, OP_CLOSE, p, 2, now_ms() + 1000);
	conn_end(c);
	return -1;
}

/* A whole message.  Returns 1 when it was the -n'th text one, else 0. */
static int deliver(struct conn *c, int op, const unsigned char *p, size_t n)
{
	struct timespec ts;

	if (c->state != OPEN)
		return 0;
	if (op == OP_BIN) {
		say(c, "binary %zu bytes", n);
		return 0;
	}
	if (stamp) {
		clock_gettime(CLOCK_REALTIME, &ts);
		printf("%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	}
	if (nconn > 1)
		printf("%d ", (int)(c - conns));
	fwrite(p, 1, n, stdout);
	putchar('\n');
	if (fflush(stdout) == EOF) {
		if (errno != EPIPE)
			die(ST_ERR, "stdout: %s", strerror(errno));
		finish(ST_OK, 1);
	}
	nrecv++;
	return want && nrecv >= want;
}

/* One frame.  Returns 1 when -n is reached, -1 on a protocol error, else
 * 0. */
static int frame(struct conn *c, int fin, int op, const unsigned char *p,
		 size_t n)
{
	unsigned code;
	int r;

	if (op & 8 && (!fin || n > 125))
		return proto_error(c, 1002, "bad control frame");
	switch (op) {
	case OP_CONT:
		if (!c->mop)
			return proto_error(c, 1002, "continuation without a message");
		if (c->mlen + n > MAX_MSG)
			return proto_error(c, 1009, "message too big");
		append(&c->msg, &c->mlen, &c->mcap, p, n);
		if (!fin)
			return 0;
		r = deliver(c, c->mop, c->msg, c->mlen);
		c->mop = 0;
		c->mlen = 0;
		if (c->mcap > KEEP_BUF) {
			free(c->msg);
			c->msg = NULL;
			c->mcap = 0;
		}
		return r;
	case OP_TEXT:
	case OP_BIN:
		if (c->mop)
			return proto_error(c, 1002, "new message inside a fragmented one");
		if (fin)
			return deliver(c, op, p, n);
		c->mop = op;
		append(&c->msg, &c->mlen, &c->mcap, p, n);
		return 0;
	case OP_CLOSE:
		if (n == 1)
			return proto_error(c, 1002, "close frame of one byte");
		if (c->state == OPEN) {
			if (n >= 2) {
				code = (unsigned)p[0] << 8 | p[1];
				say(c, "closed %u%s%.*s", code, n > 2 ? " " : "",
				    (int)(n - 2), (const char *)p + 2);
			} else {
				say(c, "closed");
			}
			send_frame(c, OP_CLOSE, p, n >= 2 ? 2 : 0, now_ms() + 1000);
		}
		conn_end(c);
		return 0;
	case OP_PING:
		if (c->state == OPEN && send_frame(c, OP_PONG, p, n, deadline) < 0)
			send_failed(c);
		return 0;
	case OP_PONG:
		return 0;
	default:
		return proto_error(c, 1002, "unknown opcode");
	}
}

/* Parse the whole frames in c->in.  Returns as frame. */
static int frames(struct conn *c)
{
	size_t off = 0, avail, hl, i;
	unsigned char *h;
	uint64_t n;
	int r = 0;

	while (c->state != DONE && r == 0) {
		h = c->in + off;
		avail = c->len - off;
		if (avail < 2)
			break;
		if (h[0] & 0x70)
			return proto_error(c, 1002, "reserved bits set");
		if (h[1] & 0x80)
			return proto_error(c, 1002, "masked frame from the server");
		n = h[1] & 0x7f;
		hl = n == 126 ? 4 : n == 127 ? 10 : 2;
		if (avail < hl)
			break;
		if (n == 126)
			n = (uint64_t)h[2] << 8 | h[3];
		else if (n == 127)
			for (n = 0, i = 2; i < 10; i++)
				n = n << 8 | h[i];
		if (n > MAX_MSG)
			return proto_error(c, 1009, "frame too big");
		if (avail - hl < n)
			break;
		off += hl + (size_t)n;
		r = frame(c, h[0] & 0x80, h[0] & 0x0f, h + hl, (size_t)n);
	}
	if (c->state == DONE) {
		free(c->in);
		free(c->msg);
		c->in = c->msg = NULL;
		c->len = c->cap = c->mlen = c->mcap = 0;
		return r;
	}
	memmove(c->in, c->in + off, c->len - off);
	c->len -= off;
	if (c->len == 0 && c->cap > KEEP_BUF) {
		free(c->in);
		c->in = NULL;
		c->cap = 0;
	}
	return r;
}

/* Read what c has and parse it.  Returns as frame. */
static int conn_read(struct conn *c)
{
	static unsigned char buf[65536];
	ssize_t r = read(c->fd, buf, sizeof buf);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (r <= 0) {
		if (c->state == OPEN) {
			c->lost = 1;
			say(c, "connection lost");
		}
		conn_end(c);
		return 0;
	}
	append(&c->in, &c->len, &c->cap, buf, (size_t)r);
	return frames(c);
}

/* ==== Ending ==== */

/* A close 1000 to each open connection, its answer awaited up to a
 * second when wait, then exit with code. */
static void finish(int code, int wait)
{
	static const unsigned char normal[2] = { 0x03, 0xe8 };
	long long until = now_ms() + 1000;
	int i, n;

	for (i = 0; i < nconn; i++) {
		if (conns[i].state != OPEN)
			continue;
		if (send_frame(&conns[i], OP_CLOSE, normal, 2, until) < 0)
			conn_end(&conns[i]);
		else
			conns[i].state = CLOSING;
	}
	while (wait && !no_read) {
		for (i = n = 0; i < nconn; i++) {
			if (conns[i].state != CLOSING)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN;
			pconn[n++] = &conns[i];
		}
		if (n == 0 || wait_fds(pfd, (nfds_t)n, until) <= 0)
			break;
		for (i = 0; i < n; i++)
			if (pfd[i].revents)
				conn_read(pconn[i]);
	}
	for (i = 0; i < nconn; i++)
		conn_end(&conns[i]);
	bye(code);
}

/* ==== Connecting ==== */

struct url {
	char *host;		/* without brackets */
	char *port;		/* "80" when not given */
	char *authority;	/* HOST:PORT as written, for Host */
	const char *path;	/* from the first '/' or '?', or "/" */
};

static int parse_url(char *s, struct url *u)
{
	char *a, *end, *colon;
	size_t alen;

	if (strncasecmp(s, "ws://", 5) != 0)
		return -1;
	a = s + 5;
	alen = strcspn(a, "/?");
	u->path = a[alen] == '/' ? a + alen : a[alen] ? NULL : "/";
	u->authority = strndup(a, alen);
	u->host = strndup(a, alen);
	if (!u->authority || !u->host)
		die(ST_ERR, "memory: %s", strerror(errno));
	if (!u->path) {		/* "ws://h:1?q": the path is "/?q" */
		char *p = malloc(strlen(a + alen) + 2);

		if (!p)
			die(ST_ERR, "memory: %s", strerror(errno));
		p[0] = '/';
		strcpy(p + 1, a + alen);
		u->path = p;
	}
	u->port = "80";
	if (u->host[0] == '[') {
		end = strchr(u->host, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -1;
		*end = '\0';
		if (end[1] == ':')
			u->port = end + 2;
		u->host++;
	} else if ((colon = strrchr(u->host, ':'))) {
		*colon = '\0';
		u->port = colon + 1;
	}
	if (!*u->host || !*u->port)
		return -1;
	return 0;
}

/* A non-blocking TCP connection to u, or exit. */
static int dial(const struct url *u, int rcvbuf)
{
	static struct addrinfo *res;	/* static: reachable at an exit */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd = -1, e, one = 1, err = 0;
	socklen_t len;

	e = getaddrinfo(u->host, u->port, &hints, &res);
	if (e)
		die(ST_ERR, "%s: %s", u->authority,
		    e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					 sizeof rcvbuf) < 0)
			die(ST_ERR, "SO_RCVBUF: %s", strerror(errno));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			while (!got_sig && (e = wait_fd(fd, POLLOUT, deadline)) < 0 &&
			       errno == EINTR)
				;
			if (got_sig)
				finish(ST_OK, 1);
			if (e == 0)
				timeout();
			len = sizeof err;
			if (e < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		die(ST_ERR, "connect %s: %s", u->authority, strerror(err));
	return fd;
}

/* Read more of the handshake's answer into c->in, or exit on -t or a
 * signal.  Returns the bytes read, 0 at end of stream. */
static size_t read_more(struct conn *c, size_t limit)
{
	unsigned char buf[4096];
	size_t room = limit - c->len;
	ssize_t r;
	int w;

	for (;;) {
		r = read(c->fd, buf, room < sizeof buf ? room : sizeof buf);
		if (r >= 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			die(ST_ERR, "read: %s", strerror(errno));
		w = got_sig ? -1 : wait_fd(c->fd, POLLIN, deadline);
		if (got_sig)
			finish(ST_OK, 1);
		if (w == 0)
			timeout();
	}
	append(&c->in, &c->len, &c->cap, buf, (size_t)r);
	return (size_t)r;
}

/* The value of header name in the answer's head, trimmed, into
 * out[0..size) (cut to fit).  Returns 0, or -1 when there is none. */
static int header(const char *head, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), n;
	const char *l, *v, *e;

	for (l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nl) != 0 || l[nl] != ':')
			continue;
		v = l + nl + 1;
		v += strspn(v, " \t");
		e = strstr(v, "\r\n");
		if (!e)
			e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		n = (size_t)(e - v) < size ? (size_t)(e - v) : size - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* The answer refused: its status line on stderr, its body (from
 * c->in[off]) on stdout. */
static void refused(struct conn *c, char *head, size_t off)
{
	char cl[32], conn[64];
	size_t body = 0;
	unsigned long v;

	if (header(head, "Content-Length", cl, sizeof cl) == 0) {
		v = strtoul(cl, NULL, 10);
		body = v < MAX_BODY ? v : MAX_BODY;
	} else if (header(head, "Connection", conn, sizeof conn) == 0 &&
		   strcasecmp(conn, "close") == 0) {
		body = MAX_BODY;	/* up to the end of the stream */
	}
	head[strcspn(head, "\r\n")] = '\0';
	say(NULL, "refused: %s", head);
	while (c->len - off < body && read_more(c, off + body) > 0)
		;
	if (body > c->len - off)
		body = c->len - off;
	if (body) {
		fwrite(c->in + off, 1, body, stdout);
		if (c->in[off + body - 1] != '\n')
			putchar('\n');
	}
	conn_end(c);
	finish(ST_ERR, 0);
}

/* Open c to u and do the upgrade, offering protos and adding the
 * headers hdrs; the server's chosen subprotocol is told when tell.
 * Exits when refused or wrong. */
static void handshake(struct conn *c, const struct url *u, int rcvbuf,
		      char **protos, int nproto, char **hdrs, int nhdr, int tell)
{
	static char head[MAX_HEAD + 1];
	unsigned char raw[16], digest[20];
	char key[25], accept_want[29], keyguid[sizeof key + sizeof WS_GUID];
	char v[256], *req = NULL, *end, *status;
	size_t reqlen = 0, off;
	FILE *f;
	int i, r;

	c->fd = dial(u, rcvbuf);
	if (bms_rand_bytes(raw, sizeof raw) < 0)
		die(ST_ERR, "getrandom: %s", strerror(errno));
	base64(raw, sizeof raw, key);
	snprintf(keyguid, sizeof keyguid, "%s%s", key, WS_GUID);
	sha1(keyguid, strlen(keyguid), digest);
	base64(digest, sizeof digest, accept_want);

	f = open_memstream(&req, &reqlen);
	if (!f)
		die(ST_ERR, "memory: %s", strerror(errno));
	fprintf(f, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		"Sec-WebSocket-Version: 13\r\n", u->path, u->authority, key);
	for (i = 0; i < nhdr; i++)
		fprintf(f, "%s\r\n", hdrs[i]);
	for (i = 0; i < nproto; i++)
		fprintf(f, "%s%s", i ? ", " : "Sec-WebSocket-Protocol: ", protos[i]);
	fputs(nproto ? "\r\n\r\n" : "\r\n", f);
	if (fclose(f) == EOF)
		die(ST_ERR, "memory: %s", strerror(errno));
	r = send_all(c->fd, req, reqlen, deadline);
	free(req);
	if (r < 0 && errno == ETIMEDOUT)
		timeout();
	if (r < 0)
		die(ST_ERR, "send: %s", strerror(errno));

	end = NULL;
	while (c->len < 4 || !(end = memmem(c->in, c->len, "\r\n\r\n", 4))) {
		if (c->len >= MAX_HEAD)
			die(ST_ERR, "handshake: answer head too long");
		if (read_more(c, MAX_HEAD) == 0)
			die(ST_ERR, "handshake: connection closed by the server");
	}
	off = (size_t)(end - (char *)c->in) + 4;
	if (memchr(c->in, '\0', off))
		die(ST_ERR, "handshake: NUL in the answer");
	memcpy(head, c->in, off - 2);	/* up to the last header's CRLF */
	head[off - 2] = '\0';
	status = strchr(head, ' ');
	if (strncmp(head, "HTTP/", 5) != 0 || !status)
		die(ST_ERR, "handshake: not an HTTP answer");
	if (strncmp(status + 1, "101", 3) != 0 || (status[4] != ' ' &&
	    status[4] != '\r'))
		refused(c, head, off);

	if (header(head, "Upgrade", v, sizeof v) < 0 ||
	    strcasecmp(v, "websocket") != 0)
		die(ST_ERR, "handshake: no Upgrade: websocket");
	if (header(head, "Connection", v, sizeof v) < 0 ||
	    !strcasestr(v, "upgrade"))
		die(ST_ERR, "handshake: no Connection: Upgrade");
	if (header(head, "Sec-WebSocket-Accept", v, sizeof v) < 0 ||
	    strcmp(v, accept_want) != 0)
		die(ST_ERR, "handshake: wrong Sec-WebSocket-Accept");
	if (header(head, "Sec-WebSocket-Protocol", v, sizeof v) == 0) {
		for (i = 0; i < nproto && strcmp(v, protos[i]) != 0; i++)
			;
		if (i == nproto)
			die(ST_ERR, "handshake: protocol %s not offered", v);
		if (tell)
			say(NULL, "protocol %s", v);
	}

	memmove(c->in, c->in + off, c->len - off);
	c->len -= off;
	c->state = OPEN;
}

/* ==== Main ==== */

static void on_signal(int sig)
{
	got_sig = 1;
}

static unsigned long number(const char *s, unsigned long min,
			    unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage();
	return v;
}

/* Send stdin's complete lines (all that is left at eof) to each open
 * connection.  Returns 0 at end of input. */
static int read_stdin(void)
{
	static unsigned char *line;
	static size_t len, cap;
	unsigned char buf[65536], *nl;
	size_t start = 0, n;
	ssize_t r;
	int i, more = 1;

	r = read(0, buf, sizeof buf);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (r < 0)
		die(ST_ERR, "stdin: %s", strerror(errno));
	append(&line, &len, &cap, buf, (size_t)r);
	while (start < len) {
		nl = memchr(line + start, '\n', len - start);
		if (!nl && r > 0)
			break;
		/* at eof, a last line without newline is sent as it is */
		n = nl ? (size_t)(nl - (line + start)) : len - start;
		for (i = 0; i < nconn; i++)
			if (conns[i].state == OPEN)
				send_text(&conns[i], line + start, n);
		start += nl ? n + 1 : n;
	}
	memmove(line, line + start, len - start);
	len -= start;
	if (len > MAX_MSG)
		die(ST_ERR, "stdin: line too long");
	if (r == 0) {
		more = 0;
		free(line);
		line = NULL;
		len = cap = 0;
	}
	return more;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-read", no_argument, 0, 'R' },
		{ "rcvbuf", required_argument, 0, 'B' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	/* static: still reachable at exit, for LeakSanitizer */
	static char **protos, **hdrs, **texts;
	static struct url u;
	int nproto = 0, nhdr = 0, ntext = 0, interactive = 0, rcvbuf = 0, opt, i, n;
	int in_open, lost;
	double secs = 0;
	char *end;
	struct sigaction sa;
	sigset_t block;
	struct rlimit rl;

	protos = calloc((size_t)argc, sizeof *protos);
	hdrs = calloc((size_t)argc, sizeof *hdrs);
	texts = calloc((size_t)argc, sizeof *texts);
	if (!protos || !hdrs || !texts)
		die(ST_ERR, "memory: %s", strerror(errno));
	nconn = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:H:s:in:t:c:Th", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			protos[nproto++] = optarg;
			break;
		case 'H':
			if (!strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
				usage();
			hdrs[nhdr++] = optarg;
			break;
		case 's':
			texts[ntext++] = optarg;
			break;
		case 'i':
			interactive = 1;
			break;
		case 'n':
			want = number(optarg, 1, ULONG_MAX);
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(secs > 0 && secs < 1e9))
				usage();
			break;
		case 'c':
			nconn = (int)number(optarg, 1, 100000);
			break;
		case 'T':
			stamp = 1;
			break;
		case 'R':
			no_read = 1;
			break;
		case 'B':
			rcvbuf = (int)number(optarg, 1, INT_MAX);
			break;
		case 'h':
			printf("usage: %s\n", usage_line);
			bye(ST_OK);
		default:
			usage();
		}
	}
	if (optind != argc - 1 || parse_url(argv[optind], &u) < 0)
		usage();
	if (secs > 0)
		deadline = now_ms() + (long long)(secs * 1000 + 0.5);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconn + 16) {
		rl.rlim_cur = (rlim_t)nconn + 16;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	conns = calloc((size_t)nconn, sizeof *conns);
	pfd = calloc((size_t)nconn + 1, sizeof *pfd);
	pconn = calloc((size_t)nconn + 1, sizeof *pconn);
	if (!conns || !pfd || !pconn)
		die(ST_ERR, "memory: %s", strerror(errno));
	for (i = 0; i < nconn; i++)
		conns[i].fd = -1;
	for (i = 0; i < nconn; i++) {
		handshake(&conns[i], &u, rcvbuf, protos, nproto, hdrs, nhdr, i == 0);
		for (n = 0; n < ntext && conns[i].state == OPEN; n++)
			send_text(&conns[i], texts[n], strlen(texts[n]));
	}
	say(NULL, "ready %d", nconn);

	/* What came with the handshakes' answers is parsed before waiting. */
	for (i = 0; i < nconn && !no_read; i++)
		if (conns[i].state == OPEN && conns[i].len) {
			n = frames(&conns[i]);
			if (n > 0)
				finish(ST_OK, 1);
			if (n < 0)
				finish(ST_ERR, 0);
		}

	in_open = interactive;
	for (;;) {
		if (got_sig)
			finish(ST_OK, 1);
		if (deadline >= 0 && now_ms() >= deadline)
			timeout();
		lost = 0;
		for (i = n = 0; i < nconn; i++) {
			lost |= conns[i].lost;
			if (conns[i].state != OPEN || no_read)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN;
			pconn[n++] = &conns[i];
		}
		for (i = 0; i < nconn && conns[i].state == DONE; i++)
			;
		if (i == nconn)
			bye(lost ? ST_LOST : ST_OK);
		if (in_open) {
			pfd[n].fd = 0;
			pfd[n].events = POLLIN;
			pconn[n++] = NULL;
		}
		if (wait_fds(pfd, (nfds_t)n, deadline) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (!pconn[i]) {
				in_open = read_stdin();
				continue;
			}
			if (pconn[i]->state != OPEN)
				continue;
			opt = conn_read(pconn[i]);
			if (opt > 0)
				finish(ST_OK, 1);
			if (opt < 0)
				finish(ST_ERR, 0);
		}
	}
}

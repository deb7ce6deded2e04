/* SPDX-License-Identifier: MIT */
/*
 * TCP endpoints (see net.h).
 *
 * Every socket made here is non-blocking and close-on-exec: the callers
 * wait in bms_sig_poll, never in a system call, so a stop signal is seen
 * at once.  Workload: a connection or a listener per program run, and a
 * new one after each loss; nothing here is on a hot path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "sig.h"

#define BACKLOG 4		/* clients that may wait for the one served */

/* ==== HOST:PORT ==== */

/* Is h[0..n) an IPv6 address, with an optional %zone? */
static int is_ipv6(const char *h, size_t n)
{
	char a[INET6_ADDRSTRLEN + 1];
	struct in6_addr in6;
	const char *pct = memchr(h, '%', n);
	size_t an = pct ? (size_t)(pct - h) : n;

	if (an == 0 || an >= sizeof a || (pct && pct + 1 == h + n))
		return 0;
	memcpy(a, h, an);
	a[an] = '\0';
	return inet_pton(AF_INET6, a, &in6) == 1;
}

/* The port p (a C string) as a number, or -1 when it is not min..65535. */
static long parse_port(const char *p, int min_port)
{
	long v = 0;

	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -1;
	}
	return v >= min_port ? v : -1;
}

int bms_net_parse(const char *s, const char *default_host, int min_port,
		  struct bms_net_hostport *hp, char *err, size_t errsz)
{
	const char *form = default_host ? "[HOST:]PORT" : "HOST:PORT";
	const char *h, *port;
	size_t hn;
	long num;

	if (s[0] == '[') {
		const char *close_br = strchr(s, ']');

		if (!close_br || close_br[1] != ':')
			return bms_err_set(err, errsz, "'%s' is not %s", s, form);
		h = s + 1;
		hn = (size_t)(close_br - h);
		port = close_br + 2;
		if (!is_ipv6(h, hn))
			return bms_err_set(err, errsz, "'%s': only an IPv6 address "
					   "goes in brackets", s);
	} else {
		const char *colon = strchr(s, ':');

		if (!colon) {
			if (!default_host)
				return bms_err_set(err, errsz, "'%s' is not %s", s, form);
			h = default_host;
			hn = strlen(h);
			port = s;
		} else {
			if (strchr(colon + 1, ':'))
				return bms_err_set(err, errsz, "'%s': an IPv6 address goes "
						   "in brackets, as in [::1]:4001", s);
			h = s;
			hn = (size_t)(colon - s);
			port = colon + 1;
			if (hn == 0 || memchr(h, '[', hn) || memchr(h, ']', hn))
				return bms_err_set(err, errsz, "'%s' is not %s", s, form);
		}
	}
	num = parse_port(port, min_port);
	if (num < 0)
		return bms_err_set(err, errsz, "'%s' is not %s with a port from %d to 65535",
				   s, form, min_port);
	if (hn >= sizeof hp->host)
		return bms_err_set(err, errsz, "'%s': host name too long", s);
	memcpy(hp->host, h, hn);
	hp->host[hn] = '\0';
	snprintf(hp->port, sizeof hp->port, "%ld", num);
	return 0;
}

void bms_net_format(const struct bms_net_hostport *hp, char *out, size_t outsz)
{
	snprintf(out, outsz, strchr(hp->host, ':') ? "[%s]:%s" : "%s:%s",
		 hp->host, hp->port);
}

/* ==== Connecting ==== */

/* Connect fd to ai within timeout_ms; returns 0 or -1 with errno. */
static int connect_within(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int soerr = 0, r;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	r = bms_sig_poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int bms_net_connect(const struct bms_net_hostport *hp, const char *name,
		    int timeout_ms, char *err, size_t errsz)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, e = 0, one = 1, gai;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(hp->host, hp->port, &hints, &res);
	if (gai) {
		e = gai == EAI_SYSTEM ? errno : ENOENT;
		bms_err_set(err, errsz, "cannot resolve '%s': %s", name,
			    gai == EAI_SYSTEM ? strerror(e) : gai_strerror(gai));
		errno = e;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect_within(fd, ai, timeout_ms) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		if (e == EINTR)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		bms_err_set(err, errsz, "cannot connect to '%s': %s", name, strerror(e));
		errno = e;
		return -1;
	}
	/* Requests are tiny and latency is everything. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* ==== Listening ==== */

int bms_net_relisten(struct bms_net_listener *l, char *err, size_t errsz)
{
	int one = 1;

	/* Non-blocking: a client gone between poll and accept4 is no wait. */
	l->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return bms_err_set(err, errsz, "cannot create a socket: %s",
				   strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) < 0 ||
	    listen(l->fd, BACKLOG) < 0) {
		int e = errno;

		close(l->fd);
		l->fd = -1;
		return bms_err_set(err, errsz, "cannot listen on %s: %s", l->where,
				   strerror(e));
	}
	/* Port 0 picked a port: keep it for listening again. */
	l->addrlen = sizeof l->addr;
	getsockname(l->fd, (struct sockaddr *)&l->addr, &l->addrlen);
	return 0;
}

int bms_net_listen(struct bms_net_listener *l, const struct bms_net_hostport *hp,
		   char *err, size_t errsz)
{
	char num[NI_MAXHOST], serv[NI_MAXSERV];
	struct addrinfo hints, *res;
	int rc;

	memset(l, 0, sizeof *l);
	l->fd = -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hp->host, hp->port, &hints, &res);
	if (rc != 0)
		return bms_err_set(err, errsz, "cannot resolve '%s': %s", hp->host,
				   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
	l->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	bms_net_format(hp, l->where, sizeof l->where);
	if (bms_net_relisten(l, err, errsz) < 0)
		return -1;
	if (getnameinfo((struct sockaddr *)&l->addr, l->addrlen, num, sizeof num,
			serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(l->where, sizeof l->where,
			 l->addr.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", num, serv);
	return 0;
}

void bms_net_unlisten(struct bms_net_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int bms_net_accept(struct bms_net_listener *l, char *err, size_t errsz)
{
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd >= 0)
		return fd;
	if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN ||
	    errno == EWOULDBLOCK)
		return -1;
	bms_err_set(err, errsz, "cannot accept a client: %s", strerror(errno));
	return -2;
}

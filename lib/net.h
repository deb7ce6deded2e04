/* SPDX-License-Identifier: MIT */
/*
 * TCP endpoints: the one way a host and port are written on a command
 * line, a client connection (bms-read's tcp:// bridges) and a listening
 * socket (bms-sim --tcp; a server's --listen).
 *
 * The rule, HOST:PORT:
 *   - HOST is a host name or an IPv4 address (no ':' in it), or an IPv6
 *     address in brackets, with an optional zone: [::1], [fe80::1%eth0].
 *     A bare IPv6 address such as ::1:4001 is refused, never guessed at.
 *   - PORT is a decimal number from 1 to 65535; a listener also takes 0,
 *     which picks a free port.
 *   - Where the caller has a default host (a listener: 127.0.0.1, so
 *     that nothing is reachable from the network unless asked for),
 *     PORT alone means that host: "4001".
 *
 * Every wait is a bms_sig_poll (sig.h), so a stop signal ends it at once.
 * Nothing here prints or exits; failures come back as -1 with a one-line
 * reason in the caller's err buffer.
 */
#ifndef BMS_NET_H
#define BMS_NET_H

#include <stddef.h>
#include <sys/socket.h>

#define BMS_NET_LOOPBACK "127.0.0.1"	/* the default host of a listener */

/* A parsed HOST:PORT. */
struct bms_net_hostport {
	char host[256];		/* name or address, without brackets */
	char port[8];		/* decimal, without leading zeros: "4001" */
};

/*
 * Parse s by the rule above into *hp.  default_host: the host of a bare
 * PORT, or NULL when a host is required.  min_port: 0 where port 0 is
 * allowed (a listener), else 1.  Returns 0, or -1 with err saying what
 * is wrong, the text quoted:
 *   "'x' is not HOST:PORT"   ("[HOST:]PORT" where a default host is)
 *   "'h:x' is not HOST:PORT with a port from 1 to 65535"
 *   "'::1:4001': an IPv6 address goes in brackets, as in [::1]:4001"
 *   "'[h]:1': only an IPv6 address goes in brackets"
 *   "'...': host name too long"
 */
int bms_net_parse(const char *s, const char *default_host, int min_port,
		  struct bms_net_hostport *hp, char *err, size_t errsz);

/* Write hp back by the rule, "[::1]:4001" or "host:4001", into out. */
void bms_net_format(const struct bms_net_hostport *hp, char *out, size_t outsz);

/*
 * Connect to hp within timeout_ms (ms), trying each address it resolves
 * to in turn.  name is how messages call the endpoint (the text the user
 * gave).  Returns a connected, non-blocking, close-on-exec socket with
 * TCP_NODELAY set; or -1 with err filled ("cannot resolve 'NAME': ...",
 * "cannot connect to 'NAME': ...") and errno left at the cause: ENOENT
 * when the name does not resolve, ETIMEDOUT, EINTR when a signal cut the
 * wait short.
 */
int bms_net_connect(const struct bms_net_hostport *hp, const char *name,
		    int timeout_ms, char *err, size_t errsz);

/* A listening socket and the address it is bound to. */
struct bms_net_listener {
	int fd;				/* non-blocking; -1 when not listening */
	struct sockaddr_storage addr;	/* bound address (the real port after 0) */
	socklen_t addrlen;
	char where[320];		/* addr by the rule, numeric: "127.0.0.1:4001" */
};

/*
 * Resolve hp (the first address it names) and listen there, with
 * SO_REUSEADDR and a small backlog.  Returns 0 with l filled, or -1 with
 * err filled and l->fd -1.
 */
int bms_net_listen(struct bms_net_listener *l, const struct bms_net_hostport *hp,
		   char *err, size_t errsz);

/* Stop listening (l->fd becomes -1); the address is kept. */
void bms_net_unlisten(struct bms_net_listener *l);

/* Listen again on the address bound before, the same port.  0 or -1. */
int bms_net_relisten(struct bms_net_listener *l, char *err, size_t errsz);

/*
 * Take the next client that waits: returns its socket (non-blocking,
 * close-on-exec), -1 when none waits (or it left again), or -2 with err
 * filled when accepting failed.
 */
int bms_net_accept(struct bms_net_listener *l, char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/net.c: the HOST:PORT rule with its exact error texts,
 * its writing back, and a listener with a client connecting to it over
 * the loopback interface.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "unit.h"

static char err[512];
static struct bms_net_hostport hp;

/* Parse s; returns 0 or -1 as bms_net_parse, err "" on success. */
static int parse(const char *s, const char *def, int min_port)
{
	memset(&hp, 0x55, sizeof hp);
	err[0] = '\0';
	return bms_net_parse(s, def, min_port, &hp, err, sizeof err);
}

/* ==== Accepted ==== */

static void test_parse_ok(void)
{
	static const struct {
		const char *in, *def;
		int min_port;
		const char *host, *port, *back;
	} t[] = {
		{ "localhost:4001", NULL, 1, "localhost", "4001", "localhost:4001" },
		{ "192.0.2.7:4001", NULL, 1, "192.0.2.7", "4001", "192.0.2.7:4001" },
		{ "bms-bridge.example.org:23", NULL, 1, "bms-bridge.example.org", "23",
		  "bms-bridge.example.org:23" },
		{ "[::1]:4001", NULL, 1, "::1", "4001", "[::1]:4001" },
		{ "[2001:db8::7]:65535", NULL, 1, "2001:db8::7", "65535",
		  "[2001:db8::7]:65535" },
		{ "[fe80::1%eth0]:4001", NULL, 1, "fe80::1%eth0", "4001",
		  "[fe80::1%eth0]:4001" },
		{ "[::ffff:192.0.2.7]:1", NULL, 1, "::ffff:192.0.2.7", "1",
		  "[::ffff:192.0.2.7]:1" },
		/* Leading zeros are only written out. */
		{ "h:004001", NULL, 1, "h", "4001", "h:4001" },
		/* A listener: the default host, and port 0. */
		{ "4001", BMS_NET_LOOPBACK, 0, "127.0.0.1", "4001", "127.0.0.1:4001" },
		{ "0", BMS_NET_LOOPBACK, 0, "127.0.0.1", "0", "127.0.0.1:0" },
		{ "0.0.0.0:0", BMS_NET_LOOPBACK, 0, "0.0.0.0", "0", "0.0.0.0:0" },
		{ "[::]:4001", BMS_NET_LOOPBACK, 0, "::", "4001", "[::]:4001" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char back[400];

		CHECK_INT(parse(t[i].in, t[i].def, t[i].min_port), 0);
		CHECK_STR(err, "");
		CHECK_STR(hp.host, t[i].host);
		CHECK_STR(hp.port, t[i].port);
		bms_net_format(&hp, back, sizeof back);
		CHECK_STR(back, t[i].back);
	}
}

/* ==== Refused, with the reason ==== */

static void test_parse_errors(void)
{
	static const struct {
		const char *in, *def;
		int min_port;
		const char *err;
	} t[] = {
		/* A host is required where there is no default. */
		{ "4001", NULL, 1, "'4001' is not HOST:PORT" },
		{ "", NULL, 1, "'' is not HOST:PORT" },
		{ ":4001", NULL, 1, "':4001' is not HOST:PORT" },
		{ ":4001", BMS_NET_LOOPBACK, 0, "':4001' is not [HOST:]PORT" },
		{ "a[b:1", NULL, 1, "'a[b:1' is not HOST:PORT" },
		{ "a]:1", NULL, 1, "'a]:1' is not HOST:PORT" },
		{ "[::1]", NULL, 1, "'[::1]' is not HOST:PORT" },
		{ "[::1]4001", NULL, 1, "'[::1]4001' is not HOST:PORT" },
		{ "[::1", BMS_NET_LOOPBACK, 0, "'[::1' is not [HOST:]PORT" },
		/* The port. */
		{ "h:", NULL, 1, "'h:' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:0", NULL, 1, "'h:0' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:65536", NULL, 1, "'h:65536' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:99999999999999999999", NULL, 1,
		  "'h:99999999999999999999' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:+1", NULL, 1, "'h:+1' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:-1", NULL, 1, "'h:-1' is not HOST:PORT with a port from 1 to 65535" },
		{ "h: 1", NULL, 1, "'h: 1' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:telnet", NULL, 1, "'h:telnet' is not HOST:PORT with a port from 1 to 65535" },
		{ "h:4001/", NULL, 1, "'h:4001/' is not HOST:PORT with a port from 1 to 65535" },
		{ "[::1]:", NULL, 1, "'[::1]:' is not HOST:PORT with a port from 1 to 65535" },
		{ "70000", BMS_NET_LOOPBACK, 0,
		  "'70000' is not [HOST:]PORT with a port from 0 to 65535" },
		{ "", BMS_NET_LOOPBACK, 0, "'' is not [HOST:]PORT with a port from 0 to 65535" },
		{ "x", BMS_NET_LOOPBACK, 0, "'x' is not [HOST:]PORT with a port from 0 to 65535" },
		/* IPv6 goes in brackets, and only IPv6. */
		{ "::1:4001", NULL, 1,
		  "'::1:4001': an IPv6 address goes in brackets, as in [::1]:4001" },
		{ "2001:db8::7:4001", BMS_NET_LOOPBACK, 0,
		  "'2001:db8::7:4001': an IPv6 address goes in brackets, as in [::1]:4001" },
		{ "h:1:2", NULL, 1,
		  "'h:1:2': an IPv6 address goes in brackets, as in [::1]:4001" },
		{ "[localhost]:4001", NULL, 1,
		  "'[localhost]:4001': only an IPv6 address goes in brackets" },
		{ "[192.0.2.7]:4001", NULL, 1,
		  "'[192.0.2.7]:4001': only an IPv6 address goes in brackets" },
		{ "[]:4001", NULL, 1, "'[]:4001': only an IPv6 address goes in brackets" },
		{ "[::1%]:4001", NULL, 1, "'[::1%]:4001': only an IPv6 address goes in brackets" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		CHECK_INT(parse(t[i].in, t[i].def, t[i].min_port), -1);
		CHECK_STR(err, t[i].err);
	}

	/* A host longer than any name. */
	{
		char s[300];

		memset(s, 'a', 256);
		strcpy(s + 256, ":1");
		CHECK_INT(parse(s, NULL, 1), -1);
		CHECK(strstr(err, "': host name too long") != NULL);
		s[255] = ':';
		s[256] = '\0';
		strcat(s, "1");
		CHECK_INT(parse(s, NULL, 1), 0);
		CHECK_INT(strlen(hp.host), 255);
	}
	/* err may be NULL. */
	CHECK_INT(bms_net_parse("x", NULL, 1, &hp, NULL, 0), -1);
}

/* ==== A listener and a client ==== */

static void test_listen_connect(void)
{
	struct bms_net_listener l;
	struct bms_net_hostport to;
	char back[400];
	int c, a;

	CHECK_INT(parse("0", BMS_NET_LOOPBACK, 0), 0);
	CHECK_INT(bms_net_listen(&l, &hp, err, sizeof err), 0);
	CHECK(l.fd >= 0);
	CHECK(strncmp(l.where, "127.0.0.1:", 10) == 0 && strcmp(l.where, "127.0.0.1:0") != 0);
	/* Nobody waits yet. */
	CHECK_INT(bms_net_accept(&l, err, sizeof err), -1);

	/* The address it names is one a client reaches. */
	CHECK_INT(bms_net_parse(l.where, NULL, 1, &to, err, sizeof err), 0);
	bms_net_format(&to, back, sizeof back);
	CHECK_STR(back, l.where);
	c = bms_net_connect(&to, l.where, 2000, err, sizeof err);
	CHECK(c >= 0);
	{
		struct pollfd pfd = { l.fd, POLLIN, 0 };

		CHECK_INT(poll(&pfd, 1, 2000), 1);
	}
	a = bms_net_accept(&l, err, sizeof err);
	CHECK(a >= 0);
	if (a >= 0 && c >= 0) {
		char buf[4] = { 0 };
		struct pollfd pfd = { a, POLLIN, 0 };

		CHECK_INT(write(c, "abc", 3), 3);
		CHECK_INT(poll(&pfd, 1, 2000), 1);
		CHECK_INT(read(a, buf, sizeof buf), 3);
		CHECK_STR(buf, "abc");
	}
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);

	/* Listening again keeps the port. */
	strcpy(back, l.where);
	bms_net_unlisten(&l);
	CHECK_INT(l.fd, -1);
	CHECK_INT(bms_net_relisten(&l, err, sizeof err), 0);
	CHECK_STR(l.where, back);
	bms_net_unlisten(&l);

	/* Nobody listens there now: refused, errno kept. */
	c = bms_net_connect(&to, "the bridge", 2000, err, sizeof err);
	CHECK_INT(c, -1);
	CHECK_INT(errno, ECONNREFUSED);
	CHECK_STR(err, "cannot connect to 'the bridge': Connection refused");

	/* A port taken: the listener says where. */
	CHECK_INT(bms_net_listen(&l, &hp, err, sizeof err), 0);
	{
		struct bms_net_listener l2;

		CHECK_INT(bms_net_parse(l.where, NULL, 1, &to, err, sizeof err), 0);
		CHECK_INT(bms_net_listen(&l2, &to, err, sizeof err), -1);
		CHECK_INT(l2.fd, -1);
		snprintf(back, sizeof back, "cannot listen on %s: Address already in use",
			 l.where);
		CHECK_STR(err, back);
	}
	bms_net_unlisten(&l);
}

int main(void)
{
	test_parse_ok();
	test_parse_errors();
	test_listen_connect();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Ports: serial ports through libserialport, ptys through termios, TCP
 * serial bridges through a socket (see serial.h).
 *
 * Invariant: every open port has one file descriptor in non-blocking
 * mode, and every wait is a poll(2) on it, so the three kinds share the
 * read path and wake as soon as a byte arrives.  Only the calls that move
 * bytes differ (sp_nonblocking_read/sp_blocking_write for libserialport,
 * read/write for a pty, recv/send for TCP).  There are no sleeps.
 *
 * Workload: a handful of small exchanges per second; the port's state is
 * its fd, its kind and the name the user gave (for messages).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/serial.h>
#endif

#include <libserialport.h>

#include "err.h"
#include "net.h"
#include "serial.h"
#include "sig.h"

#define WRITE_TIMEOUT_MS 1000	/* a 13-byte request needs 14 ms at 9600 */

struct bms_serial {
	enum bms_serial_kind kind;
	int fd;			/* the descriptor every wait polls */
	struct sp_port *sp;	/* BMS_SERIAL_PORT only */
	char name[256];		/* the device as the user named it */
};

/* ==== Set-up of ptys and other plain ttys ==== */

static speed_t baud_const(int baud)
{
	static const struct { int baud; speed_t c; } rates[] = {
		{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 },
		{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
		{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
#ifdef B460800
		{ 460800, B460800 }, { 921600, B921600 },
#endif
	};

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
		if (rates[i].baud == baud)
			return rates[i].c;
	return B0;
}

int bms_serial_baud_ok(int baud)
{
	return baud_const(baud) != B0;
}

/* Raw 8N1 at baud, no flow control, reads return what is there. */
static int tty_setup(int fd, int baud)
{
	struct termios t;
	speed_t sp = baud_const(baud);

	if (sp == B0) {
		errno = EINVAL;
		return -1;
	}
	if (tcgetattr(fd, &t) < 0)
		return -1;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS);
	t.c_cflag |= CLOCAL | CREAD | CS8;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, sp);
	cfsetospeed(&t, sp);
	return tcsetattr(fd, TCSANOW, &t);
}

static int open_tty(struct bms_serial *s, const char *path, int baud,
		    char *err, size_t errsz)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	int e;

	if (fd < 0) {
		e = errno;
		bms_err_set(err, errsz, "cannot open '%s': %s", s->name, strerror(e));
		errno = e;
		return -1;
	}
	if (!isatty(fd)) {
		close(fd);
		bms_err_set(err, errsz, "cannot open '%s': not a terminal device", s->name);
		errno = ENOTTY;
		return -1;
	}
	if (tty_setup(fd, baud) < 0) {
		e = errno;
		close(fd);
		if (e == EINVAL)
			bms_err_set(err, errsz, "cannot set '%s' to %d baud 8N1: %s",
			       s->name, baud, strerror(e));
		else
			bms_err_set(err, errsz, "cannot set up '%s': %s", s->name, strerror(e));
		errno = e;
		return -1;
	}
	s->kind = BMS_SERIAL_PTY;
	s->fd = fd;
	return 0;
}

/* ==== Serial ports through libserialport ==== */

/* The OS error behind the last libserialport failure. */
static const char *sp_reason(enum sp_return rc)
{
	switch (rc) {
	case SP_ERR_FAIL:
		return strerror(sp_last_error_code());
	case SP_ERR_MEM:
		return "out of memory";
	case SP_ERR_SUPP:
		return "not supported by this port";
	default:
		return "invalid argument";
	}
}

/*
 * Ask USB-serial drivers to hand each byte over at once instead of
 * batching for their latency timer (16 ms on FTDI chips).  Best effort.
 */
static void low_latency(int fd)
{
#if defined(__linux__) && defined(TIOCGSERIAL) && defined(ASYNC_LOW_LATENCY)
	struct serial_struct ss;

	if (ioctl(fd, TIOCGSERIAL, &ss) == 0 && !(ss.flags & ASYNC_LOW_LATENCY)) {
		ss.flags |= ASYNC_LOW_LATENCY;
		(void)ioctl(fd, TIOCSSERIAL, &ss);
	}
#else
	(void)fd;
#endif
}

/*
 * Returns 0 when open, 1 when libserialport does not handle this device
 * (the caller falls back to a plain tty), -1 on a real failure.
 */
static int open_sp(struct bms_serial *s, const char *path, int baud,
		   char *err, size_t errsz)
{
	struct sp_port *port = NULL;
	enum sp_return rc;
	int fd = -1, e;

	if (sp_get_port_by_name(path, &port) != SP_OK)
		return 1;
	rc = sp_open(port, SP_MODE_READ_WRITE);
	if (rc != SP_OK) {
		e = rc == SP_ERR_FAIL ? sp_last_error_code() : EINVAL;
		sp_free_port(port);
		/* EACCES, EBUSY, ENOENT...: a plain open would fail alike,
		 * and says so in the same words. */
		if (rc == SP_ERR_FAIL && e != ENOTTY && e != EINVAL) {
			bms_err_set(err, errsz, "cannot open '%s': %s", s->name, strerror(e));
			errno = e;
			return -1;
		}
		return 1;
	}
	if ((rc = sp_set_baudrate(port, baud)) != SP_OK ||
	    (rc = sp_set_bits(port, 8)) != SP_OK ||
	    (rc = sp_set_parity(port, SP_PARITY_NONE)) != SP_OK ||
	    (rc = sp_set_stopbits(port, 1)) != SP_OK ||
	    (rc = sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE)) != SP_OK ||
	    (rc = sp_get_port_handle(port, &fd)) != SP_OK) {
		bms_err_set(err, errsz, "cannot set '%s' to %d baud 8N1: %s",
		       s->name, baud, sp_reason(rc));
		e = rc == SP_ERR_FAIL ? sp_last_error_code() : EINVAL;
		sp_close(port);
		sp_free_port(port);
		errno = e;
		return -1;
	}
	/* libserialport opens non-blocking; make sure, poll relies on it. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	low_latency(fd);
	s->kind = BMS_SERIAL_PORT;
	s->sp = port;
	s->fd = fd;
	return 0;
}

/* UNIX98 pty slaves live on majors 136..143 (Linux devices.txt). */
static int is_pty(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);

	return S_ISCHR(st->st_mode) && maj >= 136 && maj <= 143;
}

static int open_device(struct bms_serial *s, const char *dev, int baud,
		       char *err, size_t errsz)
{
	char path[PATH_MAX];
	struct stat st;
	int rc, e;

	/* Follow symlinks (/dev/serial/by-id/...): libserialport looks the
	 * port up by its real name. */
	if (!realpath(dev, path) || stat(path, &st) < 0) {
		e = errno;
		bms_err_set(err, errsz, "cannot open '%s': %s", s->name, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISCHR(st.st_mode)) {
		bms_err_set(err, errsz, "cannot open '%s': not a serial device", s->name);
		errno = ENOTTY;
		return -1;
	}
	if (is_pty(&st))
		return open_tty(s, path, baud, err, errsz);
	rc = open_sp(s, path, baud, err, errsz);
	if (rc <= 0)
		return rc;
	return open_tty(s, path, baud, err, errsz);
}

/* ==== TCP serial bridges ==== */

static int open_tcp(struct bms_serial *s, const char *hostport, int timeout_ms,
		    char *err, size_t errsz)
{
	struct bms_net_hostport hp;
	char why[300];
	int fd;

	if (bms_net_parse(hostport, NULL, 1, &hp, why, sizeof why) < 0) {
		bms_err_set(err, errsz, "cannot open '%s': %s", s->name, why);
		errno = EINVAL;
		return -1;
	}
	fd = bms_net_connect(&hp, hostport, timeout_ms, err, errsz);
	if (fd < 0)
		return -1;
	s->kind = BMS_SERIAL_TCP;
	s->fd = fd;
	return 0;
}

int bms_serial_check(const char *dev, char *err, size_t errsz)
{
	struct bms_net_hostport hp;

	if (strncmp(dev, "tcp://", 6) != 0)
		return 0;
	return bms_net_parse(dev + 6, NULL, 1, &hp, err, errsz);
}

/* ==== The port ==== */

int bms_serial_open(const char *dev, int baud, int timeout_ms,
		    struct bms_serial **out, char *err, size_t errsz)
{
	struct bms_serial *s;
	int rc, e;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		bms_err_set(err, errsz, "cannot open '%s': out of memory", dev);
		errno = ENOMEM;
		return -1;
	}
	s->fd = -1;
	snprintf(s->name, sizeof s->name, "%s", dev);
	if (strncmp(dev, "tcp://", 6) == 0)
		rc = open_tcp(s, dev + 6, timeout_ms, err, errsz);
	else
		rc = open_device(s, dev, baud, err, errsz);
	if (rc < 0) {
		e = errno;
		free(s);
		errno = e;
		return -1;
	}
	*out = s;
	return 0;
}

void bms_serial_close(struct bms_serial *s)
{
	if (!s)
		return;
	if (s->sp) {
		sp_close(s->sp);
		sp_free_port(s->sp);
	} else if (s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

/* Move bytes that poll said are waiting: > 0, 0 for none, -1 with errno. */
static ssize_t take(struct bms_serial *s, void *buf, size_t cap)
{
	ssize_t n;

	switch (s->kind) {
	case BMS_SERIAL_PORT: {
		enum sp_return rc = sp_nonblocking_read(s->sp, buf, cap);

		if (rc >= 0)
			return rc;
		errno = rc == SP_ERR_FAIL ? sp_last_error_code() : EIO;
		return -1;
	}
	case BMS_SERIAL_TCP:
		n = recv(s->fd, buf, cap, 0);
		break;
	default:
		n = read(s->fd, buf, cap);
		break;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == 0) {
		/* poll said readable and nothing came: end of stream. */
		errno = 0;
		return -1;
	}
	return n;
}

static ssize_t gone(struct bms_serial *s, int e, char *err, size_t errsz)
{
	if (e)
		bms_err_set(err, errsz, "lost '%s': %s", s->name, strerror(e));
	else if (s->kind == BMS_SERIAL_TCP)
		bms_err_set(err, errsz, "lost '%s': connection closed by the bridge", s->name);
	else
		bms_err_set(err, errsz, "lost '%s': device hung up", s->name);
	return BMS_SERIAL_GONE;
}

ssize_t bms_serial_read(struct bms_serial *s, void *buf, size_t cap,
			int timeout_ms, char *err, size_t errsz)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = bms_sig_poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (r < 0) {
		if (errno == EINTR)
			return BMS_SERIAL_INTR;
		return gone(s, errno, err, errsz);
	}
	if (r == 0)
		return BMS_SERIAL_TIMEOUT;
	if (pfd.revents & POLLIN) {
		n = take(s, buf, cap);
		if (n > 0)
			return n;
		if (n < 0)
			return gone(s, errno, err, errsz);
		/* Spurious wake-up; a hang-up still counts. */
	}
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
		return gone(s, pfd.revents & POLLNVAL ? EBADF : 0, err, errsz);
	return BMS_SERIAL_TIMEOUT;
}

ssize_t bms_serial_drain(struct bms_serial *s, void *buf, size_t cap,
			 char *err, size_t errsz)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = bms_serial_read(s, (uint8_t *)buf + got, cap - got, 0, err, errsz);
		if (n == BMS_SERIAL_GONE)
			return got ? (ssize_t)got : BMS_SERIAL_GONE;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int bms_serial_write(struct bms_serial *s, const void *p, size_t n,
		     char *err, size_t errsz)
{
	const uint8_t *b = p;
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	ssize_t w;

	if (s->kind == BMS_SERIAL_PORT) {
		enum sp_return rc = sp_blocking_write(s->sp, p, n, WRITE_TIMEOUT_MS);

		if (rc == (enum sp_return)n)
			return 0;
		if (rc >= 0)
			bms_err_set(err, errsz, "cannot write to '%s': timed out", s->name);
		else
			bms_err_set(err, errsz, "cannot write to '%s': %s", s->name,
			       sp_reason(rc));
		return -1;
	}
	while (n) {
		if (s->kind == BMS_SERIAL_TCP)
			w = send(s->fd, b, n, MSG_NOSIGNAL);
		else
			w = write(s->fd, b, n);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = bms_sig_poll(&pfd, 1, WRITE_TIMEOUT_MS);

			if (r > 0 && !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
				continue;
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				bms_err_set(err, errsz, "cannot write to '%s': timed out", s->name);
				return -1;
			}
			gone(s, r < 0 ? errno : 0, err, errsz);
			return -1;
		}
		bms_err_set(err, errsz, "cannot write to '%s': %s", s->name,
		       strerror(w < 0 ? errno : EIO));
		return -1;
	}
	return 0;
}

/* ==== Listing ==== */

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src ? src : "");
}

int bms_serial_list(struct bms_serial_info **out, char *err, size_t errsz)
{
	struct sp_port **ports = NULL;
	struct bms_serial_info *v;
	enum sp_return rc;
	int n = 0;

	*out = NULL;
	rc = sp_list_ports(&ports);
	if (rc != SP_OK) {
		bms_err_set(err, errsz, "cannot list serial ports: %s", sp_reason(rc));
		return -1;
	}
	while (ports[n])
		n++;
	if (n == 0) {
		sp_free_port_list(ports);
		return 0;
	}
	v = calloc((size_t)n, sizeof *v);
	if (!v) {
		sp_free_port_list(ports);
		bms_err_set(err, errsz, "cannot list serial ports: out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct sp_port *p = ports[i];
		struct bms_serial_info *o = &v[i];
		int vid = -1, pid = -1;

		copy_str(o->path, sizeof o->path, sp_get_port_name(p));
		o->vid = o->pid = -1;
		switch (sp_get_port_transport(p)) {
		case SP_TRANSPORT_USB:
			copy_str(o->transport, sizeof o->transport, "usb");
			if (sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK) {
				o->vid = vid;
				o->pid = pid;
			}
			copy_str(o->manufacturer, sizeof o->manufacturer,
				 sp_get_port_usb_manufacturer(p));
			copy_str(o->product, sizeof o->product, sp_get_port_usb_product(p));
			copy_str(o->serial, sizeof o->serial, sp_get_port_usb_serial(p));
			break;
		case SP_TRANSPORT_BLUETOOTH:
			copy_str(o->transport, sizeof o->transport, "bluetooth");
			break;
		case SP_TRANSPORT_NATIVE:
			copy_str(o->transport, sizeof o->transport, "native");
			break;
		default:
			copy_str(o->transport, sizeof o->transport, "unknown");
			break;
		}
		if (!o->product[0])
			copy_str(o->product, sizeof o->product, sp_get_port_description(p));
	}
	sp_free_port_list(ports);
	*out = v;
	return n;
}

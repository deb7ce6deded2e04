/* SPDX-License-Identifier: MIT */
/*
 * The transport under a BMS poll: a "port" that opens, reads with a
 * timeout, writes whole requests and closes, whatever is behind it.
 *
 *   - a serial port (USB-UART, RS485 adapter, ttyS): opened and set up
 *     through libserialport, 8N1 without flow control;
 *   - a pseudo-terminal (the simulator, socat): libserialport refuses
 *     ptys, so these get plain termios (raw, same baud) and fd I/O;
 *   - "tcp://HOST:PORT": a serial-to-network bridge such as ser2net in raw
 *     mode, reached with a plain TCP socket; HOST:PORT as net.h writes
 *     it (an IPv6 address in brackets, a port from 1 to 65535).
 *
 * Every kind is read through poll(2) on one file descriptor, so a read
 * returns the moment bytes arrive and a signal (handlers installed
 * without SA_RESTART) ends a wait at once.  Symlinks are followed, so a
 * /dev/serial/by-id/... name works.
 *
 * Functions return a status and write a one-line reason into the
 * caller's err buffer ("cannot open '/dev/ttyUSB0': No such file or
 * directory"); nothing here prints or exits.  A port holds no state but
 * its own: several may be open at once.
 */
#ifndef BMS_SERIAL_H
#define BMS_SERIAL_H

#include <stddef.h>
#include <sys/types.h>

struct bms_serial;		/* opaque: one open port */

enum bms_serial_kind {
	BMS_SERIAL_PORT,	/* a serial port, through libserialport */
	BMS_SERIAL_PTY,		/* a pseudo-terminal (or other tty libserialport refused) */
	BMS_SERIAL_TCP,		/* tcp://host:port */
};

/* Results of bms_serial_read() and bms_serial_drain() besides a count. */
enum bms_serial_rc {
	BMS_SERIAL_TIMEOUT = 0,		/* nothing arrived in time */
	BMS_SERIAL_GONE = -1,		/* I/O error, EOF or hang-up: err says which */
	BMS_SERIAL_INTR = -2,		/* a signal arrived while waiting */
};

/*
 * Check dev's form without opening it: a "tcp://" device must follow the
 * HOST:PORT rule of net.h (a path is left to the open).  Returns 0, or -1
 * with err saying what is wrong, as bms_net_parse does of the text after
 * "tcp://" ("'x' is not HOST:PORT").
 */
int bms_serial_check(const char *dev, char *err, size_t errsz);

/*
 * Open dev: "tcp://HOST:PORT" (net.h) or a device path.
 * baud applies to serial ports and ptys; a TCP bridge keeps its own.
 * timeout_ms bounds a TCP connect.  Returns 0 with *out set (free it with
 * bms_serial_close), or -1 with err filled.  errno is left set to the
 * cause (ENOENT when the device does not exist, EINTR when a signal
 * interrupted a connect).
 */
int bms_serial_open(const char *dev, int baud, int timeout_ms,
		    struct bms_serial **out, char *err, size_t errsz);

/* True if baud is a rate ports can be set to (1200..921600, standard). */
int bms_serial_baud_ok(int baud);

/* Close the port and free it; NULL is allowed. */
void bms_serial_close(struct bms_serial *s);

/*
 * Read up to cap bytes, waiting at most timeout_ms (0 = do not wait) for
 * the first of them.  Returns the number of bytes read (> 0), or an enum
 * bms_serial_rc: TIMEOUT, GONE (with err filled), INTR.
 */
ssize_t bms_serial_read(struct bms_serial *s, void *buf, size_t cap,
			int timeout_ms, char *err, size_t errsz);

/*
 * Read whatever is already waiting, up to cap bytes, without blocking.
 * Returns the count (0 if nothing waits) or BMS_SERIAL_GONE.
 */
ssize_t bms_serial_drain(struct bms_serial *s, void *buf, size_t cap,
			 char *err, size_t errsz);

/*
 * Write all n bytes (a request is short: the wait is bounded by the
 * kernel's output buffer).  Returns 0, or -1 with err filled (the device
 * is gone or refuses the write).
 */
int bms_serial_write(struct bms_serial *s, const void *p, size_t n,
		     char *err, size_t errsz);

/* One serial port the system knows of. */
struct bms_serial_info {
	char path[128];		/* "/dev/ttyUSB0" */
	char transport[12];	/* "usb", "native", "bluetooth" or "unknown" */
	int vid, pid;		/* USB ids, -1 when not a USB port */
	char manufacturer[64];	/* empty when unknown */
	char product[96];	/* USB product or port description */
	char serial[64];	/* USB serial number, empty when unknown */
};

/*
 * List the serial ports libserialport finds (ptys are never listed).
 * Returns the number of ports with *out set to a malloc'd array the
 * caller frees (NULL when there are none), or -1 with err filled.
 */
int bms_serial_list(struct bms_serial_info **out, char *err, size_t errsz);

#endif

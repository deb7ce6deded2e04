/* SPDX-License-Identifier: MIT */
/*
 * A pseudo-terminal for a device simulator: the master side is served,
 * the slave side is where a reader (bms-read, minicom, ...) connects, as
 * it would to a USB serial adapter.  Optionally a symbolic link names the
 * slave, so that tests and users find it at a fixed path.
 *
 * The slave is kept open by the owner as well, in raw mode: the master
 * never sees a hang-up while readers come and go, and the line settings
 * survive between them.
 */
#ifndef BMS_PTY_H
#define BMS_PTY_H

#include <stddef.h>

struct bms_pty {
	int master;		/* -1 when closed */
	int slave;		/* held open by the owner, -1 when closed */
	char path[128];		/* the slave's path, e.g. "/dev/pts/3" */
	const char *link;	/* symlink kept pointing at path, or NULL (borrowed) */
};

/* A closed pty (both descriptors -1); call before bms_pty_open. */
void bms_pty_init(struct bms_pty *p);

/*
 * Create a pseudo-terminal in raw mode and, when link is not NULL, make
 * link a symbolic link to its slave, atomically replacing a symbolic link
 * already there (anything else at that path is an error).  link is
 * borrowed and must outlive the pty.  Returns 0, or -1 with a one-line
 * reason in err and nothing left open.
 */
int bms_pty_open(struct bms_pty *p, const char *link, char *err, size_t errsz);

/*
 * Close both sides (a reader on the slave sees the device go away) and
 * remove the link if it still points at this pty.  Safe on a closed pty.
 */
void bms_pty_close(struct bms_pty *p);

#endif

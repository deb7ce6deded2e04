/* SPDX-License-Identifier: MIT */
/*
 * Pseudo-terminal creation (see pty.h).  POSIX ptys (posix_openpt); the
 * link is replaced by rename(2), so a reader never finds it missing while
 * it is re-pointed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "pty.h"

void bms_pty_init(struct bms_pty *p)
{
	p->master = -1;
	p->slave = -1;
	p->path[0] = '\0';
	p->link = NULL;
}

static int make_link(const char *target, const char *link, char *err,
		     size_t errsz)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
		snprintf(err, errsz, "cannot link '%s': it exists and is not a symbolic link",
			 link);
		return -1;
	}
	if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", link, (long)getpid()) >=
	    (int)sizeof tmp) {
		snprintf(err, errsz, "cannot link '%s': path too long", link);
		return -1;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		snprintf(err, errsz, "cannot link '%s': %s", link, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int bms_pty_open(struct bms_pty *p, const char *link, char *err, size_t errsz)
{
	struct termios tio;

	bms_pty_init(p);
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
	    ptsname_r(p->master, p->path, sizeof p->path) != 0) {
		snprintf(err, errsz, "cannot create a pseudo-terminal: %s",
			 strerror(errno));
		goto fail;
	}
	p->slave = open(p->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0) {
		snprintf(err, errsz, "cannot open '%s': %s", p->path, strerror(errno));
		goto fail;
	}
	if (tcgetattr(p->slave, &tio) < 0) {
		snprintf(err, errsz, "cannot read the settings of '%s': %s", p->path,
			 strerror(errno));
		goto fail;
	}
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(p->slave, TCSANOW, &tio) < 0) {
		snprintf(err, errsz, "cannot set '%s' to raw mode: %s", p->path,
			 strerror(errno));
		goto fail;
	}
	if (link && make_link(p->path, link, err, errsz) < 0)
		goto fail;
	p->link = link;
	return 0;
fail:
	bms_pty_close(p);
	return -1;
}

void bms_pty_close(struct bms_pty *p)
{
	if (p->link) {
		char target[sizeof p->path];
		ssize_t n = readlink(p->link, target, sizeof target - 1);

		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, p->path) == 0)
				unlink(p->link);
		}
		p->link = NULL;
	}
	if (p->slave >= 0)
		close(p->slave);
	if (p->master >= 0)
		close(p->master);
	p->slave = -1;
	p->master = -1;
}

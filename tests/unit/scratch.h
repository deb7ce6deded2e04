/* SPDX-License-Identifier: MIT */
/*
 * A scratch directory for one test binary, made fresh under $TMPDIR (or
 * /tmp), and small files in it.  Header-only, like unit.h: include it,
 * after unit.h, from the one file of a test binary.
 */
#ifndef BMS_SCRATCH_H
#define BMS_SCRATCH_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

static char scratch_dir[256];

/* Make the directory; 0, or -1 after saying why on stderr. */
static inline int scratch_open(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(scratch_dir, sizeof scratch_dir, "%s/bms-unit-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* The path of name in the directory; the last 64 paths stay valid. */
static inline char *scratch_path(const char *name)
{
	static char p[64][sizeof scratch_dir + 64];
	static int k;

	k = (k + 1) % 64;
	snprintf(p[k], sizeof p[k], "%s/%s", scratch_dir, name);
	return p[k];
}

/* Write a file of n bytes (a failure is a failed check). */
static inline void scratch_put(const char *name, const void *data, size_t n)
{
	int fd = open(scratch_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, data, n) == (ssize_t)n);
	if (fd >= 0)
		close(fd);
}

/* The first 16 KiB of a file, NUL-terminated ("" when it cannot be read),
 * valid until the next call; *n its length if n is not NULL. */
static inline char *scratch_slurp(const char *name, size_t *n)
{
	static char buf[16384];
	int fd = open(scratch_path(name), O_RDONLY);
	ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[got > 0 ? got : 0] = '\0';
	if (n)
		*n = got > 0 ? (size_t)got : 0;
	return buf;
}

static inline int scratch_rm1(const char *p, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* Remove the directory and all it holds. */
static inline void scratch_close(void)
{
	nftw(scratch_dir, scratch_rm1, 16, FTW_DEPTH | FTW_PHYS);
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Random bytes (see rand.h): getrandom, again after a signal or a short
 * read.
 */
#include <errno.h>
#include <sys/random.h>

#include "rand.h"

int bms_rand_bytes(void *p, size_t n)
{
	unsigned char *b = p;
	ssize_t got;

	while (n > 0) {
		got = getrandom(b, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

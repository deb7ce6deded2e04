/* SPDX-License-Identifier: MIT */
/*
 * Random bytes from the kernel (getrandom), for what must not be
 * guessed: secrets, tokens, token families, UUIDs.
 */
#ifndef BMS_RAND_H
#define BMS_RAND_H

#include <stddef.h>

/* Fill p[0..n) with random bytes.  Returns 0, or -1 with errno set. */
int bms_rand_bytes(void *p, size_t n);

#endif

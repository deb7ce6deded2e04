/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), small and portable: the store keeps refresh
 * tokens only as their digest.  Not meant for bulk hashing speed.
 */
#ifndef BMS_SHA256_H
#define BMS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define BMS_SHA256_LEN 32	/* bytes in a digest */

/* An incremental hash; fill with bms_sha256_init before use. */
struct bms_sha256 {
	uint32_t h[8];		/* chaining state */
	uint64_t bytes;		/* message bytes so far */
	uint8_t block[64];	/* pending partial block */
	size_t used;		/* bytes in block */
};

void bms_sha256_init(struct bms_sha256 *c);

/* Hash n more bytes of the message. */
void bms_sha256_update(struct bms_sha256 *c, const void *p, size_t n);

/* Finish: write the digest to out.  c must be initialised again before
 * it is reused. */
void bms_sha256_final(struct bms_sha256 *c, uint8_t out[BMS_SHA256_LEN]);

/* The digest of p[0..n) in one call. */
void bms_sha256(const void *p, size_t n, uint8_t out[BMS_SHA256_LEN]);

#endif

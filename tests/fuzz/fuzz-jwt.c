/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: access-token verification (lib/jwt.c) on arbitrary
 * bytes, under a fixed key.  Whatever the input, verify answers one of
 * its codes with a one-line reason; only a token it signed itself is
 * good, and a good token's claims sign back to the same token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bms_jwt_claims c;
	char *tok = malloc(size + 1), err[256], again[BMS_JWT_MAX + 1];
	int rc;

	if (!tok)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	err[0] = '\0';
	rc = bms_jwt_verify(key, sizeof key, tok, 1800000000, &c, err, sizeof err);
	if (rc < BMS_JWT_ECLAIMS || rc > BMS_JWT_OK || strchr(err, '\n') ||
	    (rc != BMS_JWT_OK && !err[0]))
		abort();
	if (rc == BMS_JWT_OK &&
	    (bms_jwt_sign(key, sizeof key, &c, again, sizeof again, err, sizeof err) < 0 ||
	     bms_jwt_verify(key, sizeof key, again, 1800000000, &c, err, sizeof err) != BMS_JWT_OK))
		abort();
	free(tok);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The access tokens of bms-serve: JSON Web Tokens (RFC 7519) signed with
 * HS256 (HMAC-SHA-256) under one secret the server keeps in a file,
 * short-lived, and carrying who the bearer is: user, tenant and role.
 *
 * A token is three base64url segments, header.payload.signature.  The
 * header is exactly {"alg":"HS256","typ":"JWT"}; the payload holds the
 * claims "sub" (the user), "tenant" ("" for an account of no tenant, a
 * super-admin's), "role", "iat" and "exp" (integer
 * seconds since the epoch) and "jti" (32 lowercase hex digits: 16 random
 * bytes naming this token).  Verifying trusts nothing in a token before
 * its header says HS256: "none" and every other algorithm are refused
 * before the signature is even looked at, so a token cannot choose how
 * it is checked.
 *
 * Nothing here keeps state: the secret is passed to each call.  The
 * module knows neither the web server nor the store.
 */
#ifndef BMS_JWT_H
#define BMS_JWT_H

#include <stddef.h>
#include <stdint.h>

#define BMS_JWT_SECRET_LEN 32	/* bytes of a secret, at least */
#define BMS_JWT_SECRET_MAX 256	/* bytes of a secret file's secret, at most */
#define BMS_JWT_TTL 900		/* s, the default lifetime of a token */
#define BMS_JWT_SKEW 60		/* s, how far ahead of now an iat may be */
#define BMS_JWT_MAX 4096	/* bytes of a token, at most */

/*
 * Read the secret file at path, or create it when there is none.
 *
 * A new file is made with O_EXCL, mode 0600 whatever the umask, holding
 * BMS_JWT_SECRET_LEN random bytes (getrandom) as lowercase hex and a
 * newline, and fsync'ed with its directory.  An existing file must be a
 * regular file neither readable nor writable by group or others, holding
 * hex digits (white space between them ignored) for BMS_JWT_SECRET_LEN to
 * BMS_JWT_SECRET_MAX bytes of secret, and no more than cap.
 *
 * Returns 0 with secret[0..*len) filled, or -1 with one line in err
 * saying why and what to do, e.g. "'PATH' is readable by others: chmod
 * 600 it".  The secret never appears in err.
 */
int bms_jwt_secret_load(const char *path, unsigned char *secret, size_t cap,
			size_t *len, char *err, size_t errsz);

/* What a token says about its bearer.  Strings are NUL-terminated UTF-8
 * without control characters, and not empty but the tenant. */
struct bms_jwt_claims {
	char user[128];		/* "sub" */
	char tenant[64];	/* "tenant"; "" for an account of no tenant */
	char role[16];		/* "role" */
	int64_t iat;		/* s since the epoch: issued at */
	int64_t exp;		/* s since the epoch: expires at; after iat */
	char jti[33];		/* 32 lowercase hex digits naming the token */
};

/*
 * Fill jti with a fresh token id: 32 lowercase hex digits of 16 random
 * bytes (getrandom) and a NUL.  Returns 0, or -1 with err.
 */
int bms_jwt_new_jti(char jti[33], char *err, size_t errsz);

/*
 * Sign c into an HS256 token with secret[0..len) (BMS_JWT_SECRET_LEN to
 * BMS_JWT_SECRET_MAX bytes).  The caller sets every claim: iat and exp (0 <=
 * iat < exp; exp is usually iat + BMS_JWT_TTL) and jti (bms_jwt_new_jti).
 * The token, NUL-terminated, goes into out of cap bytes; the same claims
 * always give the same token.  Returns 0, or -1 with err for claims
 * bms_jwt_verify would refuse, a token that does not fit, or a failure of
 * libjwt (no memory).
 */
int bms_jwt_sign(const unsigned char *secret, size_t len, const struct bms_jwt_claims *c,
		 char *out, size_t cap, char *err, size_t errsz);

/* Why bms_jwt_verify refused a token. */
enum bms_jwt_rc {
	BMS_JWT_OK = 0,
	BMS_JWT_EFORMAT = -1,	/* not three base64url segments of JSON
				 * objects, over BMS_JWT_MAX bytes, a typ
				 * other than "JWT", a "crit" header, or
				 * refused by libjwt */
	BMS_JWT_EALG = -2,	/* alg missing, twice, or not "HS256"
				 * ("none" included) */
	BMS_JWT_ESIG = -3,	/* the signature does not match */
	BMS_JWT_EEXPIRED = -4,	/* exp <= now, or iat more than
				 * BMS_JWT_SKEW ahead of now */
	BMS_JWT_ECLAIMS = -5,	/* a claim missing, twice, of the wrong type
				 * or too long */
};

/*
 * Verify the NUL-terminated token tok (at most BMS_JWT_MAX bytes) at
 * now_s (seconds since the epoch) against secret[0..len) (BMS_JWT_SECRET_LEN
 * to BMS_JWT_SECRET_MAX bytes), in this order: its form; the header's alg;
 * the signature, compared in constant time; exp > now_s and iat <= now_s +
 * BMS_JWT_SKEW; the claims: sub, tenant and role strings that fit c,
 * integers iat < exp, and jti; last, libjwt's own decoding must accept
 * it.  Claims other than these are ignored.
 *
 * Returns BMS_JWT_OK with *c filled, or a negative enum bms_jwt_rc with
 * *c zeroed and one line in err for a log.  err never holds the token,
 * its signature or a claim's value; of the header's alg only a short
 * plain name ("none", "RS256").
 */
int bms_jwt_verify(const unsigned char *secret, size_t len, const char *tok, int64_t now_s,
		   struct bms_jwt_claims *c, char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * HS256 access tokens (see jwt.h): the secret file, signing with libjwt,
 * and a verification that reads the header before it trusts anything.
 *
 * Invariants.  A token is judged in a fixed order: its form, then the
 * header's alg (only "HS256" goes on: libjwt would otherwise take a
 * header's word for how to check it, "none" included), then the
 * signature, then the times, then the claims.  The signature is
 * HMAC-SHA-256 of "header.payload" computed here (sha256.h) and compared
 * in constant time, since libjwt 1.10 compares with strcmp; when all
 * else holds, libjwt's own jwt_decode must accept the token too, so both
 * agree on every token let through.  The header and payload are read
 * with the project's JSON scanner: a key given twice is refused, not
 * resolved, so no reader can see a different alg or sub than this one
 * did.  Secrets are wiped from the stack after use.
 *
 * Workload: one verification per request of the web server, a signing
 * per login or refresh; nothing is allocated but what libjwt allocates.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libjwt's header: lib/ is searched for quoted names only (-iquote), so
 * this is not the module's own "jwt.h" below. */
#include <jwt.h>

#include "err.h"
#include "hex.h"
#include "json.h"
#include "jwt.h"
#include "rand.h"
#include "sha256.h"

#define SIG_B64 43		/* base64url characters of a 32-byte signature */
#define SEG_MAX (BMS_JWT_MAX / 4 * 3)	/* bytes a segment decodes to, at most */

/* ==== Helpers ==== */

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Why s[0..n) cannot be a name claim, or NULL when it can: UTF-8, not
 * empty, no NUL and no control character (C0, DEL or C1). */
static const char *name_bad(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return "is empty";
	if (!bms_json_utf8_valid(s, n))
		return "is not UTF-8";
	for (size_t i = 0; i < n; i++)
		if (u[i] < 0x20 || u[i] == 0x7f ||
		    (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f))
			return "holds a control character";
	return NULL;
}

/* ==== base64url and HMAC ==== */

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

/* True if s[0..n) is a possible unpadded base64url text (the alphabet,
 * and a length that is not 1 more than a multiple of 4). */
static int b64_ok(const char *s, size_t n)
{
	if (n % 4 == 1)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (b64_val((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

/*
 * Decode unpadded base64url s[0..n) into out, at most cap bytes.  Returns
 * the length, or -1 for a text b64_ok refuses, unused bits that are not
 * zero (every value has one text only) or too little room.
 */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, v;

	if (!b64_ok(s, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		v = b64_val((unsigned char)s[i]);
		acc = (acc << 6 | (uint32_t)v) & 0x3fff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)o;
}

/* Encode p[0..n) as unpadded base64url into out (4 * n / 3 + 4 bytes);
 * returns its length, the NUL not counted. */
static size_t b64_encode(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | p[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = abc[acc >> bits & 63];
		}
	}
	if (bits > 0)
		out[o++] = abc[acc << (6 - bits) & 63];
	out[o] = '\0';
	return o;
}

/* HMAC-SHA-256 (RFC 2104) of msg[0..n) under key[0..klen). */
static void hmac_sha256(const unsigned char *key, size_t klen, const void *msg, size_t n,
			uint8_t out[BMS_SHA256_LEN])
{
	uint8_t k[64] = { 0 }, pad[64], inner[BMS_SHA256_LEN];
	struct bms_sha256 c;

	if (klen > sizeof k)
		bms_sha256(key, klen, k);
	else
		memcpy(k, key, klen);
	for (size_t i = 0; i < sizeof k; i++)
		pad[i] = k[i] ^ 0x36;
	bms_sha256_init(&c);
	bms_sha256_update(&c, pad, sizeof pad);
	bms_sha256_update(&c, msg, n);
	bms_sha256_final(&c, inner);
	for (size_t i = 0; i < sizeof k; i++)
		pad[i] = k[i] ^ 0x5c;
	bms_sha256_init(&c);
	bms_sha256_update(&c, pad, sizeof pad);
	bms_sha256_update(&c, inner, sizeof inner);
	bms_sha256_final(&c, out);
	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
	explicit_bzero(inner, sizeof inner);
	explicit_bzero(&c, sizeof c);
}

/* True if a[0..n) equals b[0..n), in a time that does not depend on
 * where they differ. */
static int same_ct(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* ==== The secret file ==== */

/*
 * Read the secret file at path.  Returns 0 with the secret, 1 if there is
 * no file, or -1 with err.
 */
static int secret_read(const char *path, unsigned char *secret, size_t cap, size_t *len,
		       char *err, size_t errsz)
{
	char text[4 * BMS_JWT_SECRET_MAX + 2];
	size_t max = cap < BMS_JWT_SECRET_MAX ? cap : BMS_JWT_SECRET_MAX;
	size_t n = 0, digits = 0;
	struct stat sb;
	ssize_t got;
	int fd, rc = -1;
	unsigned char ch;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return bms_err_set(err, errsz, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0) {
		bms_err_set(err, errsz, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		bms_err_set(err, errsz, "'%s' is not a regular file", path);
		goto out;
	}
	if (sb.st_mode & 044) {
		bms_err_set(err, errsz, "'%s' is readable by others: chmod 600 it", path);
		goto out;
	}
	if (sb.st_mode & 022) {
		bms_err_set(err, errsz, "'%s' is writable by others: chmod 600 it", path);
		goto out;
	}
	while (n < sizeof text) {
		got = read(fd, text + n, sizeof text - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			bms_err_set(err, errsz, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	/* Hex digits, with white space anywhere ignored, gathered in place. */
	for (size_t i = 0; i < n && digits <= 2 * max; i++) {
		ch = (unsigned char)text[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			continue;
		if (!((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f'))) {
			bms_err_set(err, errsz,
				    "'%s' is not a secret: it must hold hex digits only", path);
			goto out;
		}
		text[digits++] = (char)ch;
	}
	if (n == sizeof text || digits > 2 * max) {
		bms_err_set(err, errsz, "'%s' holds more than %zu bytes of secret", path, max);
		goto out;
	}
	if (digits % 2) {
		bms_err_set(err, errsz, "'%s' is not a secret: it holds an odd number of hex"
			    " digits", path);
		goto out;
	}
	if (digits / 2 < BMS_JWT_SECRET_LEN) {
		bms_err_set(err, errsz, "'%s' holds %zu bytes of secret, fewer than %d:"
			    " remove it to have a new one made", path, digits / 2,
			    BMS_JWT_SECRET_LEN);
		goto out;
	}
	/* Fits: digits / 2 <= max <= cap. */
	bms_hex_decode(text, digits, secret, cap);
	*len = digits / 2;
	rc = 0;
out:
	explicit_bzero(text, sizeof text);
	close(fd);
	return rc;
}

/*
 * Make the secret file at path: a temporary file beside it (0600 whatever
 * the umask), written and synced, then linked to path, which fails if
 * path exists: so the file appears whole or not at all, and two servers
 * starting at once end up with the same secret.  Returns 0 with the
 * secret, 1 if path appeared meanwhile, or -1 with err.
 */
static int secret_make(const char *path, unsigned char *secret, size_t *len,
		       char *err, size_t errsz)
{
	char tmp[PATH_MAX], dir[PATH_MAX], text[2 * BMS_JWT_SECRET_LEN + 2];
	const char *slash = strrchr(path, '/'), *what = "";
	int fd, dfd, rc = -1, e = 0;
	ssize_t put;
	size_t n;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp)
		return bms_err_set(err, errsz, "cannot create '%s': %s", path,
				   strerror(ENAMETOOLONG));
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return bms_err_set(err, errsz, "cannot create '%s': %s", path, strerror(errno));
	if (fchmod(fd, 0600) < 0) {
		e = errno;
		goto out;
	}
	if (bms_rand_bytes(secret, BMS_JWT_SECRET_LEN) < 0) {
		e = errno;
		what = "no random bytes: ";
		goto out;
	}
	bms_hex_encode(secret, BMS_JWT_SECRET_LEN, text);
	strcat(text, "\n");
	n = strlen(text);
	put = write(fd, text, n);
	if (put != (ssize_t)n) {
		e = put < 0 ? errno : ENOSPC;
		goto out;
	}
	if (fsync(fd) < 0) {
		e = errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		e = errno;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) < 0) {
		e = errno;
		rc = e == EEXIST ? 1 : -1;
		goto out;
	}
	/* The new name is made durable by the directory's fsync. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		e = errno;
		what = "its directory cannot be synced: ";
	} else {
		rc = 0;
		*len = BMS_JWT_SECRET_LEN;
	}
	if (dfd >= 0)
		close(dfd);
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	explicit_bzero(text, sizeof text);
	if (rc != 0)
		explicit_bzero(secret, BMS_JWT_SECRET_LEN);
	if (rc < 0)
		bms_err_set(err, errsz, "cannot create '%s': %s%s", path, what, strerror(e));
	return rc;
}

int bms_jwt_secret_load(const char *path, unsigned char *secret, size_t cap,
			size_t *len, char *err, size_t errsz)
{
	int rc;

	assert(path && secret && len && cap >= BMS_JWT_SECRET_LEN);
	*len = 0;
	/* Twice: a file made by another process between our read and our
	 * link is read the second time. */
	for (int i = 0; i < 2; i++) {
		rc = secret_read(path, secret, cap, len, err, errsz);
		if (rc <= 0)
			return rc;
		rc = secret_make(path, secret, len, err, errsz);
		if (rc <= 0)
			return rc;
	}
	/* Made and gone again, or a symbolic link to nowhere. */
	return bms_err_set(err, errsz, "cannot open '%s': %s", path, strerror(ENOENT));
}

/* ==== Signing ==== */

int bms_jwt_new_jti(char jti[33], char *err, size_t errsz)
{
	uint8_t id[16];

	if (bms_rand_bytes(id, sizeof id) < 0)
		return bms_err_set(err, errsz, "no random bytes: %s", strerror(errno));
	bms_hex_encode(id, sizeof id, jti);
	return 0;
}

/* A name claim of c for signing: NUL-terminated within cap, and a name
 * (or empty, when empty_ok). */
static int sign_name(const char *s, size_t cap, const char *claim, int empty_ok, char *err,
		     size_t errsz)
{
	size_t n = strnlen(s, cap);
	const char *why = n == cap ? "is not NUL-terminated" :
		n == 0 && empty_ok ? NULL : name_bad(s, n);

	if (why)
		return bms_err_set(err, errsz, "claim '%s' %s", claim, why);
	return 0;
}

int bms_jwt_sign(const unsigned char *secret, size_t len, const struct bms_jwt_claims *c,
		 char *out, size_t cap, char *err, size_t errsz)
{
	char times[64];
	jwt_t *j = NULL;
	char *tok = NULL;
	size_t n;
	int rc = -1, e;

	assert(secret && c && out && len >= BMS_JWT_SECRET_LEN && len <= BMS_JWT_SECRET_MAX);
	if (cap > 0)
		out[0] = '\0';
	if (sign_name(c->user, sizeof c->user, "sub", 0, err, errsz) < 0 ||
	    sign_name(c->tenant, sizeof c->tenant, "tenant", 1, err, errsz) < 0 ||
	    sign_name(c->role, sizeof c->role, "role", 0, err, errsz) < 0)
		return -1;
	if (strnlen(c->jti, sizeof c->jti) != 32 || !is_lower_hex(c->jti, 32))
		return bms_err_set(err, errsz, "claim 'jti' is not 32 lowercase hex digits");
	if (c->iat < 0 || c->exp <= c->iat)
		return bms_err_set(err, errsz, "claims 'iat' and 'exp' are not 0 <= iat < exp");
	/* The times as JSON, not through jwt_add_grant_int: a long has 32
	 * bits on some of the machines this runs on. */
	snprintf(times, sizeof times, "{\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", c->iat,
		 c->exp);
	if ((e = jwt_new(&j)) != 0 ||
	    (e = jwt_set_alg(j, JWT_ALG_HS256, secret, (int)len)) != 0 ||
	    (e = jwt_add_grant(j, "sub", c->user)) != 0 ||
	    (e = jwt_add_grant(j, "tenant", c->tenant)) != 0 ||
	    (e = jwt_add_grant(j, "role", c->role)) != 0 ||
	    (e = jwt_add_grant(j, "jti", c->jti)) != 0 ||
	    (e = jwt_add_grants_json(j, times)) != 0) {
		bms_err_set(err, errsz, "cannot make a token: %s", strerror(e));
		goto out;
	}
	errno = 0;
	if (!(tok = jwt_encode_str(j))) {
		bms_err_set(err, errsz, "cannot make a token: %s",
			    strerror(errno ? errno : ENOMEM));
		goto out;
	}
	n = strlen(tok);
	if (n > BMS_JWT_MAX || n >= cap) {
		bms_err_set(err, errsz, "a token of %zu bytes does not fit in %zu", n,
			    cap < BMS_JWT_MAX + 1 ? cap : BMS_JWT_MAX + 1);
		goto out;
	}
	memcpy(out, tok, n + 1);
	rc = 0;
out:
	free(tok);
	jwt_free(j);
	return rc;
}

/* ==== Verifying ==== */

/* Set err and return rc, an enum bms_jwt_rc. */
__attribute__((format(printf, 4, 5)))
static int fail(int rc, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The refusal of a header whose alg is not HS256 (f: the "alg" field). */
static int alg_refused(const struct bms_json_field *f, char *err, size_t errsz)
{
	char a[17];
	long n;

	if (!f->val)
		return fail(BMS_JWT_EALG, err, errsz, "token header names no algorithm");
	if (f->dup)
		return fail(BMS_JWT_EALG, err, errsz, "token header names its algorithm twice");
	/* The name is quoted only when it is a short plain word. */
	n = bms_json_str_copy(f->val, f->len, a, sizeof a);
	for (long i = 0; i < n; i++)
		if (!((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z') ||
		      (a[i] >= '0' && a[i] <= '9')))
			n = -1;
	if (n > 0)
		return fail(BMS_JWT_EALG, err, errsz,
			    "token algorithm '%s' refused: only HS256 is accepted", a);
	return fail(BMS_JWT_EALG, err, errsz, "token algorithm refused: only HS256 is accepted");
}

/* A JSON integer span of 1 to 18 digits into *out; -1 otherwise. */
static int span_time(const char *v, size_t len, int64_t *out)
{
	int64_t x = 0;

	if (!v || len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* A name claim from the payload field f into out of cap bytes; the
 * empty string too when empty_ok. */
static int claim_name(const struct bms_json_field *f, char *out, size_t cap, int empty_ok,
		      char *err, size_t errsz)
{
	const char *why;
	long n;

	if (!f->val)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' missing", f->key);
	n = bms_json_str_copy(f->val, f->len, out, cap);
	if (n == -1)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' is not a string", f->key);
	if (n == -2)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' is longer than %zu bytes",
			    f->key, cap - 1);
	why = n < 0 ? "holds a control character" :
		n == 0 && empty_ok ? NULL : name_bad(out, (size_t)n);
	if (why)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' %s", f->key, why);
	return 0;
}

enum { P_SUB, P_TENANT, P_ROLE, P_IAT, P_EXP, P_JTI, P_N };

/* The claims of the payload's fields p into c, the times first; BMS_JWT_OK
 * or why not. */
static int claims_get(const struct bms_json_field *p, int64_t now_s,
		      struct bms_jwt_claims *c, char *err, size_t errsz)
{
	int rc;

	for (int i = 0; i < P_N; i++)
		if (p[i].dup)
			return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' given twice",
				    p[i].key);
	for (int i = P_IAT; i <= P_EXP; i++) {
		if (!p[i].val)
			return fail(BMS_JWT_ECLAIMS, err, errsz, "claim '%s' missing", p[i].key);
		if (span_time(p[i].val, p[i].len, i == P_IAT ? &c->iat : &c->exp) < 0)
			return fail(BMS_JWT_ECLAIMS, err, errsz,
				    "claim '%s' is not a whole number of seconds", p[i].key);
	}
	if (c->exp <= now_s)
		return fail(BMS_JWT_EEXPIRED, err, errsz, "token expired");
	if (now_s <= INT64_MAX - BMS_JWT_SKEW && c->iat > now_s + BMS_JWT_SKEW)
		return fail(BMS_JWT_EEXPIRED, err, errsz,
			    "token issued more than %d s in the future", BMS_JWT_SKEW);
	if ((rc = claim_name(&p[P_SUB], c->user, sizeof c->user, 0, err, errsz)) < 0 ||
	    (rc = claim_name(&p[P_TENANT], c->tenant, sizeof c->tenant, 1, err, errsz)) < 0 ||
	    (rc = claim_name(&p[P_ROLE], c->role, sizeof c->role, 0, err, errsz)) < 0)
		return rc;
	if (c->exp <= c->iat)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim 'exp' is not after 'iat'");
	if (!p[P_JTI].val)
		return fail(BMS_JWT_ECLAIMS, err, errsz, "claim 'jti' missing");
	if (bms_json_str_copy(p[P_JTI].val, p[P_JTI].len, c->jti, sizeof c->jti) != 32 ||
	    !is_lower_hex(c->jti, 32))
		return fail(BMS_JWT_ECLAIMS, err, errsz,
			    "claim 'jti' is not 32 lowercase hex digits");
	return BMS_JWT_OK;
}

/* Everything of bms_jwt_verify but clearing c. */
static int verify(const unsigned char *secret, size_t len, const char *tok, int64_t now_s,
		  struct bms_jwt_claims *c, char *err, size_t errsz)
{
	struct bms_json_field h[] = { { .key = "alg" }, { .key = "typ" }, { .key = "crit" } };
	struct bms_json_field p[P_N] = {
		[P_SUB] = { .key = "sub" }, [P_TENANT] = { .key = "tenant" },
		[P_ROLE] = { .key = "role" }, [P_IAT] = { .key = "iat" },
		[P_EXP] = { .key = "exp" }, [P_JTI] = { .key = "jti" },
	};
	unsigned char seg[SEG_MAX];
	uint8_t mac[BMS_SHA256_LEN];
	char want[SIG_B64 + 2];
	struct bms_json_err je;
	const char *pay, *sig;
	size_t n, hn, pn, sn;
	jwt_t *j = NULL;
	long dn;
	int e, rc, same;

	/* Form: three base64url segments, the first a JSON object. */
	if (!tok)
		return fail(BMS_JWT_EFORMAT, err, errsz, "no token");
	n = strnlen(tok, BMS_JWT_MAX + 1);
	if (n > BMS_JWT_MAX)
		return fail(BMS_JWT_EFORMAT, err, errsz, "token longer than %d bytes",
			    BMS_JWT_MAX);
	pay = memchr(tok, '.', n);
	sig = pay ? memchr(pay + 1, '.', n - (size_t)(pay + 1 - tok)) : NULL;
	if (!sig || memchr(sig + 1, '.', n - (size_t)(sig + 1 - tok)))
		return fail(BMS_JWT_EFORMAT, err, errsz, "token is not three segments");
	hn = (size_t)(pay - tok);
	pay++;
	pn = (size_t)(sig - pay);
	sig++;
	sn = n - (size_t)(sig - tok);
	if (!hn || !pn || !b64_ok(tok, hn) || !b64_ok(pay, pn) || !b64_ok(sig, sn))
		return fail(BMS_JWT_EFORMAT, err, errsz,
			    "token is not three base64url segments");
	dn = b64_decode(tok, hn, seg, sizeof seg);
	if (dn < 0 || bms_json_scan((const char *)seg, (size_t)dn, h, 3, &je) < 0)
		return fail(BMS_JWT_EFORMAT, err, errsz, "token header is not a JSON object");

	/* The algorithm, before anything else of the token is believed. */
	if (!h[0].val || h[0].dup || !bms_json_str_eq(h[0].val, h[0].len, "HS256"))
		return alg_refused(&h[0], err, errsz);
	if (h[1].val && (h[1].dup || !bms_json_str_eq(h[1].val, h[1].len, "JWT")))
		return fail(BMS_JWT_EFORMAT, err, errsz, "token header's typ is not JWT");
	if (h[2].val)
		return fail(BMS_JWT_EFORMAT, err, errsz, "token header has critical extensions");

	/* The signature, of "header.payload". */
	hmac_sha256(secret, len, tok, hn + 1 + pn, mac);
	b64_encode(mac, sizeof mac, want);
	same = sn == SIG_B64 && same_ct(sig, want, SIG_B64);
	explicit_bzero(mac, sizeof mac);
	explicit_bzero(want, sizeof want);
	if (!same)
		return fail(BMS_JWT_ESIG, err, errsz, "token signature does not match");

	/* What it says. */
	dn = b64_decode(pay, pn, seg, sizeof seg);
	if (dn < 0 || bms_json_scan((const char *)seg, (size_t)dn, p, P_N, &je) < 0)
		return fail(BMS_JWT_EFORMAT, err, errsz, "token payload is not a JSON object");
	if ((rc = claims_get(p, now_s, c, err, errsz)) != BMS_JWT_OK)
		return rc;

	/* libjwt, which made it, must find it signed too. */
	e = jwt_decode(&j, tok, secret, (int)len);
	if (e == 0 && jwt_get_alg(j) != JWT_ALG_HS256)
		e = EINVAL;
	jwt_free(j);
	if (e)
		return fail(BMS_JWT_EFORMAT, err, errsz, "libjwt cannot decode the token: %s",
			    strerror(e));
	return BMS_JWT_OK;
}

/*
 * The tokens a thread verified last, by the SHA-256 of secret and token
 * (compared in constant time): a client sends the same token with every
 * request for its whole life, and the second verification of it, libjwt
 * parsing it again, would cost more than the request.  Its time is
 * checked again at every use.
 */
#define SEEN 4
static _Thread_local struct seen {
	uint8_t key[BMS_SHA256_LEN];
	struct bms_jwt_claims c;
	int used;
} seen[SEEN];
static _Thread_local unsigned seen_next;

static void seen_key(const unsigned char *secret, size_t len, const char *tok,
		     uint8_t key[BMS_SHA256_LEN])
{
	struct bms_sha256 h;

	bms_sha256_init(&h);
	bms_sha256_update(&h, secret, len);
	bms_sha256_update(&h, tok, strlen(tok));
	bms_sha256_final(&h, key);
}

int bms_jwt_verify(const unsigned char *secret, size_t len, const char *tok, int64_t now_s,
		   struct bms_jwt_claims *c, char *err, size_t errsz)
{
	uint8_t key[BMS_SHA256_LEN];
	int rc;

	assert(secret && c && len >= BMS_JWT_SECRET_LEN && len <= BMS_JWT_SECRET_MAX);
	memset(c, 0, sizeof *c);
	if (tok && strnlen(tok, BMS_JWT_MAX + 1) <= BMS_JWT_MAX) {
		seen_key(secret, len, tok, key);
		for (int i = 0; i < SEEN; i++) {
			if (!seen[i].used || !same_ct((const char *)seen[i].key, (const char *)key,
						      sizeof key))
				continue;
			if (seen[i].c.exp <= now_s ||
			    (now_s <= INT64_MAX - BMS_JWT_SKEW && seen[i].c.iat > now_s + BMS_JWT_SKEW)) {
				seen[i].used = 0;
				break;	/* verified in full below, which says why */
			}
			*c = seen[i].c;
			return BMS_JWT_OK;
		}
	}
	rc = verify(secret, len, tok, now_s, c, err, errsz);
	if (rc != BMS_JWT_OK) {
		memset(c, 0, sizeof *c);
		return rc;
	}
	memcpy(seen[seen_next].key, key, sizeof key);
	seen[seen_next].c = *c;
	seen[seen_next].used = 1;
	seen_next = (seen_next + 1) % SEEN;
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the access tokens (lib/jwt.c): a token signed here against
 * one made by hand from RFC 7515's steps, round trips, every way a token
 * is refused with its exact reason (an alg of "none", HS512 or RS256
 * before its signature is looked at; a changed claim, another key, a
 * signature written differently; expiry and the clock's skew; claims
 * missing, twice, of the wrong type or too long; what is not a token),
 * signing refused for claims that would not verify, and the secret file:
 * made 0600 whatever the umask, read back the same, refused when others
 * may read it or when it is short.  Times are fixed, not the clock's.
 */
#include <dirent.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt.h"
#include "sha256.h"
#include "unit.h"
#include "scratch.h"

#define T0 1800000000		/* the tokens' iat */

/* The secret of the known-answer token: the bytes 0 to 31. */
static unsigned char key[BMS_JWT_SECRET_LEN];
static char err[256];

static const char hdr_hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* The claims of the known-answer token. */
static struct bms_jwt_claims alice(void)
{
	struct bms_jwt_claims c = { .iat = T0, .exp = T0 + BMS_JWT_TTL };

	strcpy(c.user, "alice");
	strcpy(c.tenant, "home");
	strcpy(c.role, "admin");
	strcpy(c.jti, "0123456789abcdef0123456789abcdef");
	return c;
}

/* ==== Making tokens by hand ==== */

static void b64(const void *p, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *u = p;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = abc[u[i] >> 2];
		out[o++] = abc[(u[i] & 3) << 4 | u[i + 1] >> 4];
		out[o++] = abc[(u[i + 1] & 15) << 2 | u[i + 2] >> 6];
		out[o++] = abc[u[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = abc[u[i] >> 2];
		out[o++] = abc[(u[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = abc[u[i] >> 2];
		out[o++] = abc[(u[i] & 3) << 4 | u[i + 1] >> 4];
		out[o++] = abc[(u[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* HMAC-SHA-256 as RFC 2104 writes it, for keys of at most 64 bytes. */
static void hmac(const unsigned char *k, size_t kn, const char *msg, uint8_t out[32])
{
	unsigned char ipad[64] = { 0 }, opad[64] = { 0 };
	uint8_t inner[32];
	struct bms_sha256 c;

	memcpy(ipad, k, kn);
	memcpy(opad, k, kn);
	for (int i = 0; i < 64; i++) {
		ipad[i] ^= 0x36;
		opad[i] ^= 0x5c;
	}
	bms_sha256_init(&c);
	bms_sha256_update(&c, ipad, 64);
	bms_sha256_update(&c, msg, strlen(msg));
	bms_sha256_final(&c, inner);
	bms_sha256_init(&c);
	bms_sha256_update(&c, opad, 64);
	bms_sha256_update(&c, inner, 32);
	bms_sha256_final(&c, out);
}

/* A token of header and payload (JSON texts) signed with HS256 under k,
 * or with the signature segment sig when it is not NULL; valid until
 * the next call. */
static char *token(const char *header, const char *payload, const unsigned char *k,
		   const char *sig)
{
	static char t[8192];
	uint8_t mac[32];
	size_t n;

	b64(header, strlen(header), t);
	n = strlen(t);
	t[n++] = '.';
	b64(payload, strlen(payload), t + n);
	if (sig) {
		strcat(t, ".");
		strcat(t, sig);
		return t;
	}
	hmac(k, BMS_JWT_SECRET_LEN, t, mac);
	n = strlen(t);
	t[n++] = '.';
	b64(mac, sizeof mac, t + n);
	return t;
}

/* A payload with every claim, replacing the one named (a JSON member
 * text such as "\"role\":1", or "" to leave it out). */
static char *payload_with(const char *claim, const char *member)
{
	static const char *const claims[][2] = {
		{ "sub", "\"sub\":\"alice\"" }, { "tenant", "\"tenant\":\"home\"" },
		{ "role", "\"role\":\"admin\"" }, { "iat", "\"iat\":1800000000" },
		{ "exp", "\"exp\":1800000900" },
		{ "jti", "\"jti\":\"0123456789abcdef0123456789abcdef\"" },
	};
	static char p[2048];
	const char *m;

	strcpy(p, "{");
	for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
		m = strcmp(claims[i][0], claim) == 0 ? member : claims[i][1];
		if (!*m)
			continue;
		if (p[1])
			strcat(p, ",");
		strcat(p, m);
	}
	strcat(p, "}");
	return p;
}

/* Verify tok at T0 + 100 with key. */
static int verify(const char *tok, struct bms_jwt_claims *c)
{
	err[0] = '\0';
	return bms_jwt_verify(key, sizeof key, tok, T0 + 100, c, err, sizeof err);
}

/* The claim's refusal with the payload member given. */
static void claim_refused(const char *claim, const char *member, const char *why)
{
	struct bms_jwt_claims c;

	CHECK_INT(verify(token(hdr_hs256, payload_with(claim, member), key, NULL), &c),
		  BMS_JWT_ECLAIMS);
	CHECK_STR(err, why);
	CHECK_STR(c.user, "");
}

/* ==== Tokens ==== */

static void test_known_answer(void)
{
	struct bms_jwt_claims c = alice(), got;
	/* Made with an HMAC-SHA-256 outside this project, from the header
	 * and the claims as libjwt writes them (sorted, compact). */
	static const char want[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		"eyJleHAiOjE4MDAwMDA5MDAsImlhdCI6MTgwMDAwMDAwMCwianRpIjoiMDEyMzQ1Njc4"
		"OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJyb2xlIjoiYWRtaW4iLCJzdWIiOiJhbGlj"
		"ZSIsInRlbmFudCI6ImhvbWUifQ.9oo8NXIBTpgF4fJW5X0ePiZcDKmQUjZx094xMzL5HNo";
	char tok[BMS_JWT_MAX + 1];

	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), 0);
	CHECK_STR(tok, want);
	CHECK_INT(verify(want, &got), BMS_JWT_OK);
	CHECK_STR(got.user, "alice");
	CHECK_STR(got.tenant, "home");
	CHECK_STR(got.role, "admin");
	CHECK_INT(got.iat, T0);
	CHECK_INT(got.exp, T0 + 900);
	CHECK_STR(got.jti, "0123456789abcdef0123456789abcdef");
	/* The test's own signing agrees. */
	CHECK_STR(token(hdr_hs256, payload_with("", ""), key, NULL),
		  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		  "eyJzdWIiOiJhbGljZSIsInRlbmFudCI6ImhvbWUiLCJyb2xlIjoiYWRtaW4iLCJpYXQi"
		  "OjE4MDAwMDAwMDAsImV4cCI6MTgwMDAwMDkwMCwianRpIjoiMDEyMzQ1Njc4OWFiY2Rl"
		  "ZjAxMjM0NTY3ODlhYmNkZWYifQ.ctVTrphHzILFnA00kYHJocCJiS1brDih2MNsHea2XSk");
	CHECK_INT(verify(token(hdr_hs256, payload_with("", ""), key, NULL), &got), BMS_JWT_OK);
	/* No typ is fine; claims the module does not know are ignored. */
	CHECK_INT(verify(token("{\"alg\":\"HS256\"}",
			       payload_with("sub", "\"sub\":\"alice\",\"aud\":[1,{}]"), key,
			       NULL), &got), BMS_JWT_OK);
}

static void test_round_trip(void)
{
	unsigned char big[100];
	struct bms_jwt_claims c = alice(), got;
	char tok[BMS_JWT_MAX + 1], jti2[33];

	/* A secret longer than SHA-256's block is hashed first. */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	strcpy(c.user, "Zo\xc3\xab \"o'brien\" \\ \xf0\x9f\x94\x8b");
	memset(c.tenant, 'a', sizeof c.tenant - 1);
	strcpy(c.role, "viewer");
	CHECK_INT(bms_jwt_new_jti(c.jti, err, sizeof err), 0);
	CHECK_INT(strlen(c.jti), 32);
	CHECK_INT(strspn(c.jti, "0123456789abcdef"), 32);
	c.iat = 1;
	c.exp = 999999999999999999;
	CHECK_INT(bms_jwt_sign(big, sizeof big, &c, tok, sizeof tok, err, sizeof err), 0);
	CHECK_INT(bms_jwt_verify(big, sizeof big, tok, T0, &got, err, sizeof err), BMS_JWT_OK);
	CHECK_STR(got.user, c.user);
	CHECK_STR(got.tenant, c.tenant);
	CHECK_STR(got.role, "viewer");
	CHECK_INT(got.iat, 1);
	CHECK_INT(got.exp, 999999999999999999);
	CHECK_STR(got.jti, c.jti);
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, T0, &got, err, sizeof err), BMS_JWT_ESIG);
	CHECK_STR(err, "token signature does not match");
	/* Two ids are not the same. */
	CHECK_INT(bms_jwt_new_jti(jti2, err, sizeof err), 0);
	CHECK(strcmp(jti2, c.jti) != 0);
	/* An account of no tenant (a super-admin): the tenant is empty. */
	c = alice();
	c.tenant[0] = '\0';
	strcpy(c.role, "super-admin");
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), 0);
	CHECK_INT(verify(tok, &got), BMS_JWT_OK);
	CHECK_STR(got.user, "alice");
	CHECK_STR(got.tenant, "");
	CHECK_STR(got.role, "super-admin");
}

static void test_alg(void)
{
	struct bms_jwt_claims c;
	jwt_t *j = NULL;
	char *t;

	/* alg none, as RFC 7519 writes an unsecured token: no signature.
	 * libjwt 1.10 takes it when given no key. */
	t = token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload_with("", ""), NULL, "");
	CHECK_INT(jwt_decode(&j, t, NULL, 0), 0);
	jwt_free(j);
	CHECK_INT(verify(t, &c), BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm 'none' refused: only HS256 is accepted");
	CHECK_STR(c.user, "");
	/* ... and with a signature that would match, in any case. */
	CHECK_INT(verify(token("{\"alg\":\"None\"}", payload_with("", ""), key, NULL), &c),
		  BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm 'None' refused: only HS256 is accepted");

	/* HS512 under the same secret, signed by libjwt, which would take it. */
	CHECK_INT(jwt_new(&j), 0);
	CHECK_INT(jwt_set_alg(j, JWT_ALG_HS512, key, sizeof key), 0);
	CHECK_INT(jwt_add_grants_json(j, payload_with("", "")), 0);
	t = jwt_encode_str(j);
	jwt_free(j);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(jwt_decode(&j, t, key, sizeof key), 0);
		jwt_free(j);
		CHECK_INT(verify(t, &c), BMS_JWT_EALG);
		CHECK_STR(err, "token algorithm 'HS512' refused: only HS256 is accepted");
		free(t);
	}
	/* RS256 with the secret as an HMAC key: the confusion of key types. */
	CHECK_INT(verify(token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload_with("", ""), key,
			       NULL), &c), BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm 'RS256' refused: only HS256 is accepted");
	/* Other ways of not saying HS256. */
	CHECK_INT(verify(token("{\"typ\":\"JWT\"}", payload_with("", ""), key, NULL), &c),
		  BMS_JWT_EALG);
	CHECK_STR(err, "token header names no algorithm");
	CHECK_INT(verify(token("{\"alg\":\"HS256\",\"alg\":\"none\"}", payload_with("", ""), key,
			       NULL), &c), BMS_JWT_EALG);
	CHECK_STR(err, "token header names its algorithm twice");
	CHECK_INT(verify(token("{\"alg\":\"none\",\"al\\u0067\":\"HS256\"}", payload_with("", ""),
			       key, NULL), &c), BMS_JWT_EALG);
	CHECK_STR(err, "token header names its algorithm twice");
	CHECK_INT(verify(token("{\"alg\":\"hs256\"}", payload_with("", ""), key, NULL), &c),
		  BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm 'hs256' refused: only HS256 is accepted");
	CHECK_INT(verify(token("{\"alg\":256}", payload_with("", ""), key, NULL), &c),
		  BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm refused: only HS256 is accepted");
	/* A name that is not a plain word is not repeated into a log. */
	CHECK_INT(verify(token("{\"alg\":\"HS256\\n\"}", payload_with("", ""), key, NULL), &c),
		  BMS_JWT_EALG);
	CHECK_STR(err, "token algorithm refused: only HS256 is accepted");
	/* The header is judged before the signature: a wrong one does not
	 * change the answer. */
	CHECK_INT(verify(token("{\"alg\":\"RS256\"}", payload_with("", ""), NULL, "AAAA"), &c),
		  BMS_JWT_EALG);

	/* typ, when given, is JWT; crit is not understood. */
	CHECK_INT(verify(token("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", payload_with("", ""), key,
			       NULL), &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token header's typ is not JWT");
	CHECK_INT(verify(token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload_with("", ""),
			       key, NULL), &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token header has critical extensions");
}

static void test_signature(void)
{
	struct bms_jwt_claims c = alice(), got;
	char tok[BMS_JWT_MAX + 1], forged[BMS_JWT_MAX + 1], seg[512];
	unsigned char other[BMS_JWT_SECRET_LEN];
	const char *sig, *text;
	size_t n;

	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), 0);
	sig = strrchr(tok, '.');

	/* One claim changed, the signature kept. */
	strcpy(c.role, "owner");
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, forged, sizeof forged, err, sizeof err), 0);
	strcpy(strrchr(forged, '.'), sig);
	CHECK_INT(verify(forged, &got), BMS_JWT_ESIG);
	CHECK_STR(err, "token signature does not match");
	CHECK_STR(got.role, "");
	CHECK(!strstr(err, sig + 1));
	/* The same by hand, the payload's text changed in place. */
	text = "{\"exp\":1800000900,\"iat\":1800000000,"
		"\"jti\":\"0123456789abcdef0123456789abcdef\","
		"\"role\":\"admin\",\"sub\":\"mallory\",\"tenant\":\"home\"}";
	b64(text, strlen(text), seg);
	n = strlen("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.");
	snprintf(forged, sizeof forged, "%.*s%s%s", (int)n, tok, seg, sig);
	CHECK_INT(verify(forged, &got), BMS_JWT_ESIG);

	/* Another key. */
	memcpy(other, key, sizeof other);
	other[31] ^= 1;
	CHECK_INT(bms_jwt_verify(other, sizeof other, tok, T0, &got, err, sizeof err),
		  BMS_JWT_ESIG);
	/* The signature cut short, empty, or written with the unused low
	 * bits of its last character set (the same bytes, another text). */
	snprintf(forged, sizeof forged, "%.*s", (int)strlen(tok) - 1, tok);
	CHECK_INT(verify(forged, &got), BMS_JWT_ESIG);
	snprintf(forged, sizeof forged, "%.*s", (int)(sig + 1 - tok), tok);
	CHECK_INT(verify(forged, &got), BMS_JWT_ESIG);
	strcpy(forged, tok);
	n = strlen(forged);
	CHECK_INT(forged[n - 1], 'o');
	forged[n - 1] = 'p';
	CHECK_INT(verify(forged, &got), BMS_JWT_ESIG);
	CHECK_INT(verify(tok, &got), BMS_JWT_OK);
}

static void test_times(void)
{
	struct bms_jwt_claims c = alice(), got;
	char tok[BMS_JWT_MAX + 1];

	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), 0);
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, T0 + 899, &got, err, sizeof err),
		  BMS_JWT_OK);
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, T0 + 900, &got, err, sizeof err),
		  BMS_JWT_EEXPIRED);
	CHECK_STR(err, "token expired");
	CHECK_STR(got.user, "");
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, INT64_MAX, &got, err, sizeof err),
		  BMS_JWT_EEXPIRED);
	/* Issued up to a minute ahead of this clock. */
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, T0 - 60, &got, err, sizeof err),
		  BMS_JWT_OK);
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, T0 - 61, &got, err, sizeof err),
		  BMS_JWT_EEXPIRED);
	CHECK_STR(err, "token issued more than 60 s in the future");
	CHECK_INT(bms_jwt_verify(key, sizeof key, tok, INT64_MIN, &got, err, sizeof err),
		  BMS_JWT_EEXPIRED);
}

static void test_claims(void)
{
	struct bms_jwt_claims c;
	char long_tenant[128];

	claim_refused("tenant", "", "claim 'tenant' missing");
	claim_refused("sub", "", "claim 'sub' missing");
	claim_refused("role", "", "claim 'role' missing");
	claim_refused("jti", "", "claim 'jti' missing");
	claim_refused("iat", "", "claim 'iat' missing");
	claim_refused("exp", "", "claim 'exp' missing");
	claim_refused("tenant", "\"tenant\":7", "claim 'tenant' is not a string");
	claim_refused("sub", "\"sub\":null", "claim 'sub' is not a string");
	claim_refused("role", "\"role\":[\"admin\"]", "claim 'role' is not a string");
	claim_refused("sub", "\"sub\":\"\"", "claim 'sub' is empty");
	claim_refused("role", "\"role\":\"\"", "claim 'role' is empty");
	claim_refused("tenant", "\"tenant\":null", "claim 'tenant' is not a string");
	claim_refused("tenant", "\"tenant\":\"\\u0000\"", "claim 'tenant' holds a control character");
	claim_refused("sub", "\"sub\":\"al\\u0000ice\"", "claim 'sub' holds a control character");
	claim_refused("sub", "\"sub\":\"al\\nice\"", "claim 'sub' holds a control character");
	claim_refused("sub", "\"sub\":\"al\\u0085ice\"", "claim 'sub' holds a control character");
	claim_refused("role", "\"role\":\"administrator123\"",
		      "claim 'role' is longer than 15 bytes");
	snprintf(long_tenant, sizeof long_tenant, "\"tenant\":\"%064d\"", 0);
	claim_refused("tenant", long_tenant, "claim 'tenant' is longer than 63 bytes");
	claim_refused("iat", "\"iat\":1800000000.0",
		      "claim 'iat' is not a whole number of seconds");
	claim_refused("iat", "\"iat\":-1", "claim 'iat' is not a whole number of seconds");
	claim_refused("exp", "\"exp\":1.8e9", "claim 'exp' is not a whole number of seconds");
	claim_refused("exp", "\"exp\":\"1800000900\"",
		      "claim 'exp' is not a whole number of seconds");
	claim_refused("exp", "\"exp\":99999999999999999999",
		      "claim 'exp' is not a whole number of seconds");
	claim_refused("jti", "\"jti\":\"0123\"", "claim 'jti' is not 32 lowercase hex digits");
	claim_refused("jti", "\"jti\":\"0123456789ABCDEF0123456789abcdef\"",
		      "claim 'jti' is not 32 lowercase hex digits");
	claim_refused("jti", "\"jti\":\"0123456789abcdef0123456789abcdef0\"",
		      "claim 'jti' is not 32 lowercase hex digits");
	claim_refused("sub", "\"sub\":\"alice\",\"sub\":\"root\"", "claim 'sub' given twice");
	claim_refused("tenant", "\"tenant\":\"home\",\"t\\u0065nant\":\"other\"",
		      "claim 'tenant' given twice");
	/* Issued after it expires, both around now. */
	claim_refused("iat", "\"iat\":1800000150,\"exp\":1800000120,\"aud\":1",
		      "claim 'exp' given twice");
	CHECK_INT(verify(token(hdr_hs256, "{\"sub\":\"alice\",\"tenant\":\"home\","
			       "\"role\":\"admin\",\"iat\":1800000150,\"exp\":1800000120,"
			       "\"jti\":\"0123456789abcdef0123456789abcdef\"}", key, NULL), &c),
		  BMS_JWT_ECLAIMS);
	CHECK_STR(err, "claim 'exp' is not after 'iat'");
}

static void test_format(void)
{
	struct bms_jwt_claims c;
	char big[5001];

	CHECK_INT(verify("garbage", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three segments");
	CHECK_INT(verify("", &c), BMS_JWT_EFORMAT);
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.e30", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three segments");
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.e30.AAAA.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three segments");
	CHECK_INT(verify(NULL, &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "no token");
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[100] = big[200] = '.';
	CHECK_INT(verify(big, &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token longer than 4096 bytes");
	CHECK_INT(verify(".e30.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three base64url segments");
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9..AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three base64url segments");
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three base64url segments");
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.e30.AA+A", &c), BMS_JWT_EFORMAT);
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.e30A0.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token is not three base64url segments");
	/* The header is no JSON object: "abc", an array, an unused bit set. */
	CHECK_INT(verify("YWJj.e30.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token header is not a JSON object");
	CHECK_INT(verify("W10.e30.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token header is not a JSON object");
	CHECK_INT(verify("e31.e30.AAAA", &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token header is not a JSON object");
	/* A payload that is not a JSON object, however well signed. */
	CHECK_INT(verify(token(hdr_hs256, "[1]", key, NULL), &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token payload is not a JSON object");
	CHECK_INT(verify(token(hdr_hs256, "{\"sub\":\"\xff\"}", key, NULL), &c), BMS_JWT_EFORMAT);
	CHECK_STR(err, "token payload is not a JSON object");
}

static void test_sign_refused(void)
{
	struct bms_jwt_claims c = alice();
	char tok[BMS_JWT_MAX + 1];

	c.user[0] = '\0';
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'sub' is empty");
	CHECK_STR(tok, "");
	c = alice();
	c.role[0] = '\0';
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'role' is empty");
	c = alice();
	memset(c.tenant, 'a', sizeof c.tenant);
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'tenant' is not NUL-terminated");
	c = alice();
	strcpy(c.role, "ad\tmin");
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'role' holds a control character");
	c = alice();
	strcpy(c.user, "\xc3");
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'sub' is not UTF-8");
	c = alice();
	c.jti[0] = '\0';
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claim 'jti' is not 32 lowercase hex digits");
	c = alice();
	c.exp = c.iat;
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, sizeof tok, err, sizeof err), -1);
	CHECK_STR(err, "claims 'iat' and 'exp' are not 0 <= iat < exp");
	c = alice();
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, 100, err, sizeof err), -1);
	CHECK_STR(err, "a token of 243 bytes does not fit in 100");
	CHECK_STR(tok, "");
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, 243, err, sizeof err), -1);
	CHECK_INT(bms_jwt_sign(key, sizeof key, &c, tok, 244, err, sizeof err), 0);
}

/* ==== The secret file ==== */

static int load(const char *name, unsigned char *s, size_t *len)
{
	err[0] = '\0';
	return bms_jwt_secret_load(scratch_path(name), s, BMS_JWT_SECRET_MAX, len, err,
				   sizeof err);
}

static mode_t mode_of(const char *name)
{
	struct stat sb;

	return stat(scratch_path(name), &sb) == 0 ? sb.st_mode & 07777 : 0;
}

/* A file of text, mode 0600. */
static void put600(const char *name, const char *text)
{
	scratch_put(name, text, strlen(text));
	CHECK_INT(chmod(scratch_path(name), 0600), 0);
}

/* Files in the scratch directory. */
static int files(void)
{
	DIR *d = opendir(scratch_dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_secret_file(void)
{
	unsigned char s[BMS_JWT_SECRET_MAX], again[BMS_JWT_SECRET_MAX];
	char hex[2 * BMS_JWT_SECRET_LEN + 1], want[512];
	size_t len = 99, len2;
	const char *text;
	size_t n;

	/* Made when absent, private under umask 0, as hex and a newline. */
	umask(0);
	CHECK_INT(load("secret", s, &len), 0);
	CHECK_INT(len, BMS_JWT_SECRET_LEN);
	CHECK_INT(mode_of("secret"), 0600);
	CHECK_INT(files(), 1);
	text = scratch_slurp("secret", &n);
	CHECK_INT(n, 65);
	CHECK_INT(strspn(text, "0123456789abcdef"), 64);
	CHECK_INT(text[64], '\n');
	for (int i = 0; i < BMS_JWT_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", s[i]);
	CHECK(strncmp(text, hex, 64) == 0);
	/* Loaded back the same, and not made again. */
	CHECK_INT(load("secret", again, &len2), 0);
	CHECK_INT(len2, len);
	CHECK_MEM(again, s, len);
	/* Another one is another secret; under umask 0277 it is 0600 too. */
	umask(0277);
	CHECK_INT(load("secret2", again, &len2), 0);
	CHECK_INT(mode_of("secret2"), 0600);
	CHECK(memcmp(again, s, len) != 0);
	umask(0);

	/* Others may read it, or write it. */
	chmod(scratch_path("secret"), 0644);
	CHECK_INT(load("secret", s, &len), -1);
	snprintf(want, sizeof want, "'%s' is readable by others: chmod 600 it",
		 scratch_path("secret"));
	CHECK_STR(err, want);
	chmod(scratch_path("secret"), 0640);
	CHECK_INT(load("secret", s, &len), -1);
	CHECK_STR(err, want);
	chmod(scratch_path("secret"), 0620);
	CHECK_INT(load("secret", s, &len), -1);
	snprintf(want, sizeof want, "'%s' is writable by others: chmod 600 it",
		 scratch_path("secret"));
	CHECK_STR(err, want);
	chmod(scratch_path("secret"), 0400);
	CHECK_INT(load("secret", again, &len2), 0);

	/* Short: 31 bytes. */
	put600("short", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n");
	CHECK_INT(load("short", s, &len), -1);
	snprintf(want, sizeof want, "'%s' holds 31 bytes of secret, fewer than 32:"
		 " remove it to have a new one made", scratch_path("short"));
	CHECK_STR(err, want);
	put600("empty", "");
	CHECK_INT(load("empty", s, &len), -1);
	snprintf(want, sizeof want, "'%s' holds 0 bytes of secret, fewer than 32:"
		 " remove it to have a new one made", scratch_path("empty"));
	CHECK_STR(err, want);
	/* Not hex, or an odd number of digits. */
	put600("text", "correct horse battery staple correct horse battery staple\n");
	CHECK_INT(load("text", s, &len), -1);
	snprintf(want, sizeof want, "'%s' is not a secret: it must hold hex digits only",
		 scratch_path("text"));
	CHECK_STR(err, want);
	put600("odd", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0");
	CHECK_INT(load("odd", s, &len), -1);
	snprintf(want, sizeof want, "'%s' is not a secret: it holds an odd number of hex digits",
		 scratch_path("odd"));
	CHECK_STR(err, want);
	/* Hex written in lines and either case (xxd -p, openssl rand -hex). */
	put600("lines", "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d\n"
		    "1e1f2021\n");
	CHECK_INT(load("lines", s, &len), 0);
	CHECK_INT(len, 34);
	CHECK_INT(s[0], 0);
	CHECK_INT(s[10], 10);
	CHECK_INT(s[33], 0x21);
	/* More than the caller has room for. */
	CHECK_INT(bms_jwt_secret_load(scratch_path("lines"), s, 33, &len, err, sizeof err), -1);
	snprintf(want, sizeof want, "'%s' holds more than 33 bytes of secret",
		 scratch_path("lines"));
	CHECK_STR(err, want);
	/* No directory to make it in; a directory in its place. */
	CHECK_INT(load("none/secret", s, &len), -1);
	snprintf(want, sizeof want, "cannot create '%s': No such file or directory",
		 scratch_path("none/secret"));
	CHECK_STR(err, want);
	CHECK_INT(mkdir(scratch_path("dir"), 0700), 0);
	CHECK_INT(load("dir", s, &len), -1);
	snprintf(want, sizeof want, "'%s' is not a regular file", scratch_path("dir"));
	CHECK_STR(err, want);
	/* A symbolic link to nowhere is not made a file through. */
	CHECK_INT(symlink(scratch_path("elsewhere"), scratch_path("link")), 0);
	CHECK_INT(load("link", s, &len), -1);
	snprintf(want, sizeof want, "cannot open '%s': No such file or directory",
		 scratch_path("link"));
	CHECK_STR(err, want);
	CHECK_INT(mode_of("elsewhere"), 0);
}

int main(void)
{
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (unsigned char)i;
	if (scratch_open() < 0)
		return 1;
	test_known_answer();
	test_round_trip();
	test_alg();
	test_signature();
	test_times();
	test_claims();
	test_format();
	test_sign_refused();
	test_secret_file();
	scratch_close();
	return unit_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/sha256.c: the FIPS 180-2 example messages (one
 * block, two blocks, a million "a"), the empty message, and messages of
 * 55, 56, 63, 64 and 119 bytes around the padding edges (digests from an
 * independent implementation), each also hashed in uneven pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "unit.h"

static const char *hex(const uint8_t d[BMS_SHA256_LEN])
{
	static char s[2 * BMS_SHA256_LEN + 1];

	for (int i = 0; i < BMS_SHA256_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", d[i]);
	return s;
}

/* The digest of msg in one call, and again fed in pieces of step bytes. */
static void check_msg(const char *msg, size_t n, const char *want, int line)
{
	uint8_t d[BMS_SHA256_LEN];
	struct bms_sha256 c;

	bms_sha256(msg, n, d);
	unit_check_str(hex(d), want, __FILE__, line, "bms_sha256 in one call");
	for (size_t step = 1; step <= 65; step += 16) {
		bms_sha256_init(&c);
		for (size_t i = 0; i < n; i += step)
			bms_sha256_update(&c, msg + i, n - i < step ? n - i : step);
		bms_sha256_final(&c, d);
		unit_check_str(hex(d), want, __FILE__, line, "bms_sha256 in pieces");
	}
}

static void test_fips(void)
{
	static const char two[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char four[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	check_msg("abc", 3,
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  __LINE__);
	check_msg("", 0,
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  __LINE__);
	check_msg(two, strlen(two),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  __LINE__);
	check_msg(four, strlen(four),
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
		  __LINE__);
}

static void test_million(void)
{
	size_t n = 1000000;
	char *a = malloc(n);

	CHECK(a != NULL);
	if (!a)
		return;
	memset(a, 'a', n);
	check_msg(a, n,
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		  __LINE__);
	free(a);
}

/* Lengths where the padding needs one block or spills into a second. */
static void test_edges(void)
{
	static const struct {
		size_t n;
		const char *want;
	} t[] = {
		{ 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
		{ 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
		{ 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
		{ 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
		{ 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
	};
	char x[128];

	memset(x, 'x', sizeof x);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		check_msg(x, t[i].n, t[i].want, __LINE__);
}

int main(void)
{
	test_fips();
	test_million();
	test_edges();
	return unit_done();
}

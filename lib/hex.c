/* SPDX-License-Identifier: MIT */
/*
 * Hex encoding and decoding (see hex.h).
 */
#include "hex.h"

static const char digits[] = "0123456789abcdef";

void bms_hex_encode(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Value of each hex digit (0 for other bytes, which is_hex rejects). */
static const unsigned char nibble[256] = {
	['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4,
	['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
	['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
	['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

long bms_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned char hi = (unsigned char)s[2 * i], lo = (unsigned char)s[2 * i + 1];

		if (!is_hex(hi) || !is_hex(lo))
			return -1;
		out[i] = (uint8_t)(nibble[hi] << 4 | nibble[lo]);
	}
	return (long)(len / 2);
}

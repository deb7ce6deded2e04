/* SPDX-License-Identifier: MIT */
/*
 * Lowercase hex, the form raw bytes take inside frames records.
 */
#ifndef BMS_HEX_H
#define BMS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write 2*n lowercase hex digits and a NUL to out (2*n+1 bytes). */
void bms_hex_encode(const uint8_t *p, size_t n, char *out);

/*
 * Decode len hex digits (either case) into out, at most cap bytes.
 * Returns the number of bytes, or -1 for an odd length, a non-hex digit or
 * too little room.
 */
long bms_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap);

#endif

/* SPDX-License-Identifier: MIT */
/* libcrypto.so as civetweb looks it up: the real one, by the name only
 * its -dev package gives it (see libssl.c). */
int bms_tls_libcrypto;

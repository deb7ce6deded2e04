/* SPDX-License-Identifier: MIT */
/*
 * libssl.so as civetweb looks it up, for bms-serve's TLS.
 *
 * Debian's civetweb 1.15 loads OpenSSL at run time by the names
 * "libssl.so" and "libcrypto.so" (which only the -dev packages provide)
 * and looks up SSL_get_peer_certificate, which OpenSSL 3 no longer
 * exports (it is a macro for SSL_get1_peer_certificate now): civetweb
 * then calls a null pointer on every HTTPS connection.  bms-serve finds
 * this library first (its run path), which depends on the real libssl
 * (so that every other function is found through it) and supplies the
 * one function that is missing.  libcrypto.so is the same, empty.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}

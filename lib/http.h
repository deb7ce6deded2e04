/* SPDX-License-Identifier: MIT */
/*
 * The web server under bms-serve: civetweb listening where it is told
 * (loopback unless told otherwise), a table of routes with {name}
 * segments, JSON bodies and errors, and the rules every response keeps:
 *
 *   - every response carries the security headers (a Content-Security-
 *     Policy of 'self' with frame-ancestors 'none', nosniff, no
 *     referrer, no caching of the API; Strict-Transport-Security under
 *     TLS) and, with --cors-origin, that one origin;
 *   - an error is JSON {"error":WORD,"message":TEXT,"details":{...}}
 *     with its status, written by the handler or by this module (404 no
 *     such route, 405 a method the route does not take, 413 a body over
 *     the limit); it never holds a path, an SQL message or a trace;
 *   - a request body is read whole before the handler runs, up to
 *     max_body bytes; headers are limited by max_header.
 *
 * Each worker thread may keep data of its own (a read handle on the
 * store): thread_init runs once in each worker as it starts, and what it
 * returns is handed to every request the worker serves; thread_exit runs
 * as it ends.
 *
 * civetweb's types stay in http.c: a handler sees struct bms_http_req.
 */
#ifndef BMS_HTTP_H
#define BMS_HTTP_H

#include <stddef.h>

#include "buf.h"

#define BMS_HTTP_MAX_LISTEN 8		/* --listen addresses */
#define BMS_HTTP_MAX_PARAMS 4		/* {name} segments of a route */

struct bms_http_req {
	const char *method;		/* "GET", ... */
	const char *path;		/* decoded, without the query */
	const char *query;		/* after '?', or NULL */
	const char *remote;		/* the client's address */
	const char *params[BMS_HTTP_MAX_PARAMS];	/* the route's {name} segments */
	int nparams;
	const char *body;		/* the body, NUL-terminated; "" without one */
	size_t body_len;
	void *thread;			/* the worker's own data (thread_init) */
	const void *conn;		/* for bms_http_header */
};

struct bms_http_resp {
	int status;			/* 200 unless set */
	struct bms_buf body;		/* JSON, empty for none */
	char headers[512];		/* further header lines, each ending "\r\n" */
};

/* A route: the method and a pattern of segments, "{...}" for any one. */
struct bms_http_route {
	const char *method;
	const char *pattern;		/* "/api/v1/bms/data/{bms_id}" */
	void (*fn)(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs);
};

/* A WebSocket the server holds open (see struct bms_http_ws). */
struct bms_ws;

/*
 * The one WebSocket endpoint: path, and the subprotocol the server
 * speaks (chosen when the client offers it).  open runs as a client asks
 * to upgrade: 0 accepts, an HTTP status (with rs filled) refuses it;
 * ready runs once the handshake is sent, when messages may be.
 * message gets each whole text message (fragments joined; one over
 * max_body bytes, or a binary one, closes the connection with 1009 or
 * 1003); closed runs once when an accepted connection has ended, after
 * which ws is gone.  Pings go out after ping_ms without a word from the
 * client, and a client that answers none of five is dropped.  At most
 * max connections at once (0: 128); past that, 503.
 */
struct bms_http_ws {
	void *ctx;			/* for the functions below; NULL: the opts' */
	const char *path;
	const char *protocol;
	int max;
	int ping_ms;			/* 0: 30000 */
	int (*open)(void *ctx, struct bms_ws *ws, const struct bms_http_req *rq,
		    struct bms_http_resp *rs);
	void (*ready)(void *ctx, struct bms_ws *ws);	/* after the handshake */
	void (*message)(void *ctx, struct bms_ws *ws, const char *text, size_t len);
	void (*closed)(void *ctx, struct bms_ws *ws);
};

struct bms_http_opts {
	const char *const *listen;	/* HOST:PORT (net.h), nlisten of them */
	int nlisten;			/* 0: 127.0.0.1:8080 */
	int threads;			/* workers; 0: twice the cores, 4..32 */
	const char *access_log;		/* a file, or NULL */
	const char *cors_origin;	/* the one origin allowed, or NULL */
	const char *tls_cert;		/* PEM certificate (and chain): every
					 * address serves HTTPS only, with HSTS */
	const char *tls_key;		/* its PEM private key; NULL: in tls_cert */
	const char *web_root;		/* files served for GET and HEAD outside
					 * /api/ (an application's: a path that
					 * names no file and has no extension
					 * gets index.html), or NULL */
	size_t max_body;		/* bytes; 0: 65536 */
	size_t max_header;		/* bytes; 0: 16384 */
	const struct bms_http_route *routes;
	int nroutes;
	void *ctx;
	void *(*thread_init)(void *ctx);
	void (*thread_exit)(void *ctx, void *thread);
	const struct bms_http_ws *ws;	/* or NULL */
};

struct bms_http;

/*
 * Start serving.  Returns 0 with *out, or -1 with a one-line reason in
 * err ("--listen: 'x' is not HOST:PORT", "cannot listen on
 * 127.0.0.1:8080: ...").
 */
int bms_http_start(struct bms_http **out, const struct bms_http_opts *o, char *err,
		   size_t errsz);

/* The i-th address served, "http://127.0.0.1:8080" (the real port after
 * port 0), or NULL past the last. */
const char *bms_http_where(const struct bms_http *h, int i);

/* Stop: no new request is taken, those in hand finish, workers end. */
void bms_http_stop(struct bms_http *h);

/*
 * The query parameter name, URL-decoded, into out (outsz bytes, NUL
 * included).  Returns its length, -1 when absent, -2 when it does not fit.
 */
int bms_http_query(const struct bms_http_req *rq, const char *name, char *out, size_t outsz);

/* A request header, or NULL. */
const char *bms_http_header(const struct bms_http_req *rq, const char *name);

/* Set rs to the error status with {"error":..,"message":..[,"details":..]}:
 * details is a JSON object's text, or NULL. */
void bms_http_error(struct bms_http_resp *rs, int status, const char *error,
		    const char *message, const char *details);

/* The caller's data of a WebSocket, and the worker's (thread_init) of
 * the thread serving it. */
void bms_ws_set(struct bms_ws *ws, void *data);
void *bms_ws_get(const struct bms_ws *ws);
void *bms_ws_thread(const struct bms_ws *ws);

/*
 * Send a text message; any thread may, one at a time per connection.
 * Blocks until it is written or, toward a client that does not read,
 * until the server's write timeout.  0, or -1 when it could not be.
 */
int bms_ws_send(struct bms_ws *ws, const char *text, size_t len);

/* Send a close frame with code and reason; the connection ends when the
 * client answers it (or stops answering pings).  0 or -1. */
int bms_ws_close(struct bms_ws *ws, int code, const char *reason);

#endif

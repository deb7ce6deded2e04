/* SPDX-License-Identifier: MIT */
/*
 * Live updates of bms-serve over its WebSocket, /api/v1/live: what the
 * store commits, pushed to the clients that asked for it.
 *
 * A client signs in with an access token: in the subprotocol list
 * ("bms-live.v1", "bearer.TOKEN"), in an Authorization header, or in
 * its first message, {"type":"auth","token":"..."}, within auth_ms.  It
 * is then told {"type":"hello","user","tenant","role","expires_at"} and
 * may send
 *
 *   {"type":"subscribe","batteries":["house","shed"]}   some (bms_id or UUID)
 *   {"type":"subscribe"}                                 all, new ones too
 *   {"type":"unsubscribe","batteries":[...]}             (none given: all)
 *   {"type":"auth","token":"..."}                        a fresh token, same user
 *   {"type":"ping"}                                      answered {"type":"pong"}
 *
 * answered {"type":"subscribed","all":BOOL,"batteries":[...]}, and
 * receives, as bms-store commits them, for the batteries it follows:
 *
 *   {"type":"reading","bms_id":"house","data":{BMSRealtimeData}}
 *   {"type":"status","bms_id":"house","data":{the status record}}
 *   {"type":"alert","bms_id":"house","data":{the alert, as GET /alerts}}
 *
 * (data: the record without "type" and "tenant"; an alert comes again
 * when it is acknowledged).  A request it cannot follow is answered
 * {"type":"error","error","message","details"} and the connection stays.
 *
 * Close codes: 4401 not signed in in time, a token not valid or expired
 * (send a fresh one with "auth" before expires_at); 4403 a user gone or
 * disabled; 1008 a client more than backlog messages behind (it is
 * dropped, never waited for: every client has its own sender); 1001 the
 * server stopping.
 *
 * The store is watched by one thread: each tenant that has clients is
 * looked at every poll_ms, at the cost of one PRAGMA data_version while
 * nothing was committed (bms_store_follow when something was).
 */
#ifndef BMS_LIVE_H
#define BMS_LIVE_H

#include "http.h"
#include "serve.h"

#define BMS_LIVE_PROTOCOL "bms-live.v1"

struct bms_live_opts {
	int backlog;		/* messages waiting toward one client; 0: 1024 */
	int poll_ms;		/* 0: 50 */
	int auth_ms;		/* 0: 10000 */
	/* Told of a client dropped for falling behind (one line, no
	 * newline), or NULL. */
	void (*warn)(const char *fmt, ...);
};

struct bms_live;

/* A hub serving sv's store; NULL when out of memory.  Its thread starts
 * with it. */
struct bms_live *bms_live_new(struct bms_serve *sv, const struct bms_live_opts *o);

/* The WebSocket endpoint of the hub, for bms_http_opts.ws. */
void bms_live_endpoint(struct bms_live *l, struct bms_http_ws *ws);

/* Close every connection with 1001 and wait (up to two seconds) for
 * the clients to answer; no connection is taken after. */
void bms_live_stop(struct bms_live *l);

/* After bms_http_stop. */
void bms_live_free(struct bms_live *l);

#endif

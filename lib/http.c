/* SPDX-License-Identifier: MIT */
/*
 * The web server (see http.h): civetweb's options built from ours, one
 * civetweb handler for every URI that finds the route, reads the body and
 * writes the response with the headers every response carries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "http.h"
#include "net.h"

/* What every response says besides its own headers (civetweb adds them
 * to the responses it writes itself, such as a 400 for a request it
 * cannot read; respond adds them to ours). */
#define SECURITY_HEADERS \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Frame-Options: DENY\r\n" \
	"Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'"
#define HSTS "Strict-Transport-Security: max-age=31536000"

struct bms_http {
	struct mg_context *mg;
	struct bms_http_opts o;
	struct bms_http_ws ws;		/* o.ws, defaults filled */
	struct mg_websocket_subprotocols sub;
	atomic_int nws;			/* WebSockets open */
	int nwhere;
	char where[BMS_HTTP_MAX_LISTEN][288];
	char tls_err[256];		/* why the certificate or key would not do */
	char web[4096];			/* web_root, resolved; "" for none */
};

struct bms_ws {
	struct mg_connection *c;
	struct bms_http *h;
	void *data, *thread;
	struct bms_buf msg;		/* a message's fragments so far */
	int in_msg;			/* inside a fragmented text message */
	atomic_int close_sent;
};

/* ==== Responses ==== */

void bms_http_error(struct bms_http_resp *rs, int status, const char *error,
		    const char *message, const char *details)
{
	rs->status = status;
	bms_buf_reset(&rs->body);
	bms_buf_puts(&rs->body, "{\"error\":");
	bms_buf_json_str(&rs->body, error, strlen(error));
	bms_buf_puts(&rs->body, ",\"message\":");
	bms_buf_json_str(&rs->body, message, strlen(message));
	if (details) {
		bms_buf_puts(&rs->body, ",\"details\":");
		bms_buf_puts(&rs->body, details);
	}
	bms_buf_putc(&rs->body, '}');
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

/* The response, headers and body written at once: one segment for a
 * small answer. */
static void respond(struct mg_connection *c, const struct bms_http *h,
		    const struct bms_http_resp *rs)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_buf_printf(&b, "HTTP/1.1 %d %s\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\n"
		       "Cache-Control: no-store\r\n"
		       SECURITY_HEADERS "\r\n%s",
		       rs->status, reason(rs->status), rs->body.len,
		       h->o.tls_cert ? HSTS "\r\n" : "");
	if (h->o.cors_origin)
		bms_buf_printf(&b, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
			       h->o.cors_origin);
	bms_buf_printf(&b, "%s\r\n", rs->headers);
	if (rs->body.len)
		bms_buf_add(&b, rs->body.p, rs->body.len);
	if (!b.oom)
		mg_write(c, b.p, b.len);
	bms_buf_free(&b);
}

/* ==== Routes ==== */

/* Does path match pattern?  Fills rq's params with pointers into seg
 * (path split at '/', NUL-terminated pieces). */
static int match(const char *pattern, char *const *seg, int nseg, struct bms_http_req *rq)
{
	int i = 0;
	const char *p = pattern;

	rq->nparams = 0;
	while (*p == '/') {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);

		if (i >= nseg)
			return 0;
		if (n >= 2 && p[1] == '{' && p[n] == '}') {
			if (!seg[i][0] || rq->nparams == BMS_HTTP_MAX_PARAMS)
				return 0;
			rq->params[rq->nparams++] = seg[i];
		} else if (strlen(seg[i]) != n || memcmp(seg[i], p + 1, n) != 0) {
			return 0;
		}
		i++;
		p += n + 1;
	}
	return i == nseg;
}

#define MAX_SEGS 16

/*
 * The file of the web root that path names, into out: the file itself,
 * or index.html for a path of the application (no file there and no
 * extension).  0, or -1 for none: a segment that begins with a dot (".."
 * and hidden files alike), a file that resolves outside the root, an
 * asset that is not there.
 */
static int web_file(const struct bms_http *h, const char *path, char *out, size_t outsz)
{
	const char *last = strrchr(path, '/');
	char full[4096], real[PATH_MAX];
	struct stat sb;

	if (strstr(path, "/.") || strchr(path, '\\') || path[0] != '/')
		return -1;
	if ((size_t)snprintf(full, sizeof full, "%s%s", h->web, path) >= sizeof full)
		return -1;
	if (stat(full, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if ((last && strchr(last, '.')) ||
		    (size_t)snprintf(full, sizeof full, "%s/index.html", h->web) >= sizeof full)
			return -1;
	}
	if (!realpath(full, real) || strncmp(real, h->web, strlen(h->web)) != 0 ||
	    real[strlen(h->web)] != '/' || stat(real, &sb) < 0 || !S_ISREG(sb.st_mode))
		return -1;
	return (size_t)snprintf(out, outsz, "%s", real) < outsz ? 0 : -1;
}

/* The request of c, without a body yet. */
static void request(const struct mg_connection *c, struct bms_http_req *rq)
{
	const struct mg_request_info *ri = mg_get_request_info(c);

	rq->method = ri->request_method;
	rq->query = ri->query_string;
	rq->remote = ri->remote_addr;
	rq->conn = c;
	rq->thread = mg_get_thread_pointer(c);
	rq->body = "";
	rq->path = ri->local_uri ? ri->local_uri : "/";
}

static int handle(struct mg_connection *c, void *data)
{
	struct bms_http *h = data;
	const struct mg_request_info *ri = mg_get_request_info(c);
	struct bms_http_req rq = { 0 };
	struct bms_http_resp rs = { .status = 200, .body = BMS_BUF_INIT };
	char path[2048], *seg[MAX_SEGS], *body = NULL, file[PATH_MAX];
	int nseg = 0, found = -1, path_ok = 0;

	request(c, &rq);
	/* Segments: "/a//b/" is "/a/b". */
	snprintf(path, sizeof path, "%s", rq.path);
	for (char *save = NULL, *t = strtok_r(path, "/", &save); t && nseg < MAX_SEGS;
	     t = strtok_r(NULL, "/", &save))
		seg[nseg++] = t;
	for (int i = 0; i < h->o.nroutes && found < 0; i++) {
		if (!match(h->o.routes[i].pattern, seg, nseg, &rq))
			continue;
		path_ok = 1;
		if (strcmp(h->o.routes[i].method, rq.method) == 0)
			found = i;
	}
	if (found < 0 && !path_ok && h->web[0] && strncmp(rq.path, "/api/", 5) != 0 &&
	    (strcmp(rq.method, "GET") == 0 || strcmp(rq.method, "HEAD") == 0) &&
	    web_file(h, rq.path, file, sizeof file) == 0) {
		mg_send_file(c, file);
		return 200;
	}
	if (found < 0) {
		if (path_ok)
			bms_http_error(&rs, 405, "method_not_allowed",
				       "this method is not allowed here", NULL);
		else
			bms_http_error(&rs, 404, "not_found", "no such resource", NULL);
		goto out;
	}
	if (ri->content_length > (long long)h->o.max_body) {
		bms_http_error(&rs, 413, "payload_too_large", "the request body is too large",
			       NULL);
		goto out;
	}
	if (ri->content_length > 0 || mg_get_header(c, "Transfer-Encoding")) {
		size_t cap = h->o.max_body + 1, n = 0;
		int r;

		body = malloc(cap + 1);
		if (!body) {
			bms_http_error(&rs, 503, "unavailable", "out of memory", NULL);
			goto out;
		}
		while (n < cap && (r = mg_read(c, body + n, cap - n)) > 0)
			n += (size_t)r;
		if (n > h->o.max_body) {
			bms_http_error(&rs, 413, "payload_too_large",
				       "the request body is too large", NULL);
			goto out;
		}
		body[n] = '\0';
		rq.body = body;
		rq.body_len = n;
	}
	h->o.routes[found].fn(h->o.ctx, &rq, &rs);
	if (rs.body.oom)
		bms_http_error(&rs, 503, "unavailable", "out of memory", NULL);
out:
	respond(c, h, &rs);
	free(body);
	bms_buf_free(&rs.body);
	return rs.status;
}

int bms_http_query(const struct bms_http_req *rq, const char *name, char *out, size_t outsz)
{
	int n;

	if (!rq->query)
		return -1;
	n = mg_get_var(rq->query, strlen(rq->query), name, out, outsz);
	return n >= 0 ? n : n == -1 ? -1 : -2;
}

const char *bms_http_header(const struct bms_http_req *rq, const char *name)
{
	return mg_get_header((const struct mg_connection *)rq->conn, name);
}

/* ==== WebSockets ==== */

static int ws_connect(const struct mg_connection *cc, void *data)
{
	struct bms_http *h = data;
	struct mg_connection *c = (struct mg_connection *)cc;
	struct bms_http_req rq = { 0 };
	struct bms_http_resp rs = { .status = 200, .body = BMS_BUF_INIT };
	struct bms_ws *ws = calloc(1, sizeof *ws);
	int status;

	request(cc, &rq);
	if (!ws) {
		bms_http_error(&rs, 503, "unavailable", "out of memory", NULL);
		status = 503;
	} else if (atomic_fetch_add(&h->nws, 1) >= h->ws.max) {
		atomic_fetch_sub(&h->nws, 1);
		bms_http_error(&rs, 503, "unavailable", "too many live connections: try again later",
			       NULL);
		status = 503;
	} else {
		ws->c = c;
		ws->h = h;
		ws->thread = rq.thread;
		ws->msg = (struct bms_buf)BMS_BUF_INIT;
		if (!(status = h->ws.open(h->ws.ctx, ws, &rq, &rs))) {
			mg_set_user_connection_data(c, ws);
			bms_buf_free(&rs.body);
			return 0;
		}
		atomic_fetch_sub(&h->nws, 1);
	}
	/* Refused: an answer like any other, before the upgrade. */
	if (!rs.body.len)
		bms_http_error(&rs, status, "refused", "the upgrade was refused", NULL);
	respond(c, h, &rs);
	bms_buf_free(&rs.body);
	free(ws);
	return 1;
}

static void ws_ready(struct mg_connection *c, void *data)
{
	struct bms_http *h = data;
	struct bms_ws *ws = mg_get_user_connection_data(c);

	if (ws && h->ws.ready)
		h->ws.ready(h->ws.ctx, ws);
}

/* A frame from the client: text messages joined from their fragments;
 * a close answered (unless it answers ours); 0 ends the connection. */
static int ws_data(struct mg_connection *c, int bits, char *p, size_t n, void *data)
{
	struct bms_http *h = data;
	struct bms_ws *ws = mg_get_user_connection_data(c);
	int op = bits & 0x0f, fin = bits & 0x80;

	if (!ws)
		return 0;
	switch (op) {
	case MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE:
		if (!atomic_exchange(&ws->close_sent, 1))
			mg_websocket_write(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, p, n >= 2 ? 2 : 0);
		return 0;
	case MG_WEBSOCKET_OPCODE_TEXT:
		if (ws->in_msg)
			return bms_ws_close(ws, 1002, "a new message inside a fragmented one"), 0;
		bms_buf_reset(&ws->msg);
		break;
	case MG_WEBSOCKET_OPCODE_CONTINUATION:
		if (!ws->in_msg)
			return bms_ws_close(ws, 1002, "a continuation without a message"), 0;
		break;
	case MG_WEBSOCKET_OPCODE_PING:
	case MG_WEBSOCKET_OPCODE_PONG:
		return 1;
	default:
		return bms_ws_close(ws, 1003, "text messages only"), 0;
	}
	if (ws->msg.len + n > h->o.max_body)
		return bms_ws_close(ws, 1009, "the message is too large"), 0;
	bms_buf_add(&ws->msg, p, n);
	if (ws->msg.oom)
		return bms_ws_close(ws, 1011, "out of memory"), 0;
	ws->in_msg = !fin;
	if (fin)
		h->ws.message(h->ws.ctx, ws, ws->msg.p ? ws->msg.p : "", ws->msg.len);
	return 1;
}

static void ws_close(const struct mg_connection *c, void *data)
{
	struct bms_http *h = data;
	struct bms_ws *ws = mg_get_user_connection_data(c);

	if (!ws)
		return;
	h->ws.closed(h->ws.ctx, ws);
	mg_set_user_connection_data(c, NULL);
	bms_buf_free(&ws->msg);
	free(ws);
	atomic_fetch_sub(&h->nws, 1);
}

void bms_ws_set(struct bms_ws *ws, void *data)
{
	ws->data = data;
}

void *bms_ws_get(const struct bms_ws *ws)
{
	return ws->data;
}

void *bms_ws_thread(const struct bms_ws *ws)
{
	return ws->thread;
}

int bms_ws_send(struct bms_ws *ws, const char *text, size_t len)
{
	if (atomic_load(&ws->close_sent))
		return -1;
	return mg_websocket_write(ws->c, MG_WEBSOCKET_OPCODE_TEXT, text, len) > 0 ? 0 : -1;
}

int bms_ws_close(struct bms_ws *ws, int code, const char *reason)
{
	char frame[125];
	size_t n = strlen(reason);

	if (atomic_exchange(&ws->close_sent, 1))
		return 0;
	if (n > sizeof frame - 2)
		n = sizeof frame - 2;
	frame[0] = (char)(code >> 8);
	frame[1] = (char)(code & 0xff);
	memcpy(frame + 2, reason, n);
	return mg_websocket_write(ws->c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, frame,
				  n + 2) > 0 ? 0 : -1;
}

/* ==== The server ==== */

static void *init_thread(const struct mg_context *mg, int type)
{
	struct bms_http *h = mg_get_user_data(mg);

	return type == 1 && h->o.thread_init ? h->o.thread_init(h->o.ctx) : NULL;
}

static void exit_thread(const struct mg_context *mg, int type, void *thread)
{
	struct bms_http *h = mg_get_user_data(mg);

	if (type == 1 && h->o.thread_exit)
		h->o.thread_exit(h->o.ctx, thread);
}

/* The certificate and key into civetweb's TLS context: 1 done, -1 not
 * (tls_err says why). */
static int init_ssl(void *ctx, void *data)
{
	struct bms_http *h = data;
	SSL_CTX *c = ctx;
	const char *cert = h->o.tls_cert, *key = h->o.tls_key ? h->o.tls_key : cert;
	const char *kopt = h->o.tls_key ? "--tls-key" : "--tls-cert";

	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
		snprintf(h->tls_err, sizeof h->tls_err, "--tls-cert: '%s' holds no PEM certificate",
			 cert);
	else if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
		snprintf(h->tls_err, sizeof h->tls_err, "%s: '%s' holds no PEM private key of the certificate%s",
			 kopt, key, h->o.tls_key ? "" : " (give it with --tls-key)");
	else if (SSL_CTX_check_private_key(c) != 1)
		snprintf(h->tls_err, sizeof h->tls_err,
			 "%s: the key in '%s' is not the certificate's", kopt, key);
	else if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1)
		snprintf(h->tls_err, sizeof h->tls_err, "TLS 1.2 cannot be set up");
	else
		return 1;
	ERR_clear_error();
	return -1;
}

/* civetweb logs its own errors through this; they stay out of stderr
 * unless they matter to the operator (a port taken), which start says. */
static int log_message(const struct mg_connection *c, const char *msg)
{
	return 1;
}

int bms_http_start(struct bms_http **out, const struct bms_http_opts *o, char *err,
		   size_t errsz)
{
	static const char *const def_listen[] = { "127.0.0.1:8080" };
	struct bms_http *h = calloc(1, sizeof *h);
	struct mg_callbacks cb = { 0 };
	struct mg_init_data init = { 0 };
	struct mg_error_data ed = { 0 };
	struct mg_server_port ports[BMS_HTTP_MAX_LISTEN];
	char listen[BMS_HTTP_MAX_LISTEN * 72] = "", threads[16], maxhdr[24], mgerr[256] = "";
	char ping[16], headers[512];
	const char *opts[32];
	int k = 0, n;

	if (!h)
		return bms_err_set(err, errsz, "out of memory");
	h->o = *o;
	if (!h->o.nlisten) {
		h->o.listen = def_listen;
		h->o.nlisten = 1;
	}
	for (int i = 0; i < 2; i++) {
		const char *f = i ? o->tls_key : o->tls_cert;

		if (f && access(f, R_OK) < 0) {
			bms_err_set(err, errsz, "--tls-%s: cannot read '%s': %s", i ? "key" : "cert", f,
				    strerror(errno));
			free(h);
			return -1;
		}
	}
	if (o->web_root && !realpath(o->web_root, h->web)) {
		bms_err_set(err, errsz, "--web: cannot use '%s': %s", o->web_root, strerror(errno));
		free(h);
		return -1;
	}
	if (h->o.nlisten > BMS_HTTP_MAX_LISTEN) {
		free(h);
		return bms_err_set(err, errsz, "--listen: at most %d addresses", BMS_HTTP_MAX_LISTEN);
	}
	if (!h->o.max_body)
		h->o.max_body = 65536;
	if (!h->o.max_header)
		h->o.max_header = 16384;
	if (h->o.threads <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		h->o.threads = cores > 0 ? (int)(2 * cores) : 4;
		h->o.threads = h->o.threads < 4 ? 4 : h->o.threads > 32 ? 32 : h->o.threads;
	}
	for (int i = 0; i < h->o.nlisten; i++) {
		struct bms_net_hostport hp;
		struct in_addr a;
		char why[256];

		if (bms_net_parse(h->o.listen[i], BMS_NET_LOOPBACK, 0, &hp, why, sizeof why) < 0) {
			free(h);
			return bms_err_set(err, errsz, "--listen: %s", why);
		}
		if (strcmp(hp.host, "localhost") == 0)
			snprintf(hp.host, sizeof hp.host, "127.0.0.1");
		if (inet_pton(AF_INET, hp.host, &a) != 1) {
			bms_err_set(err, errsz, "--listen: '%s': give an IPv4 address "
				    "(127.0.0.1, 0.0.0.0 for every interface)", h->o.listen[i]);
			free(h);
			return -1;
		}
		snprintf(listen + strlen(listen), sizeof listen - strlen(listen), "%s%s:%s%s",
			 i ? "," : "", hp.host, hp.port, o->tls_cert ? "s" : "");
	}
	/* civetweb gives each WebSocket a worker of its own for its life. */
	if (o->ws) {
		h->ws = *o->ws;
		if (!h->ws.ctx)
			h->ws.ctx = h->o.ctx;
		if (h->ws.max <= 0)
			h->ws.max = 128;
		if (h->ws.ping_ms <= 0)
			h->ws.ping_ms = 30000;
	}
	snprintf(threads, sizeof threads, "%d", h->o.threads + (o->ws ? h->ws.max : 0));
	snprintf(ping, sizeof ping, "%d", h->ws.ping_ms);
	snprintf(maxhdr, sizeof maxhdr, "%zu", h->o.max_header);
	opts[k++] = "listening_ports", opts[k++] = listen;
	opts[k++] = "num_threads", opts[k++] = threads;
	opts[k++] = "max_request_size", opts[k++] = maxhdr;
	opts[k++] = "request_timeout_ms", opts[k++] = "10000";
	snprintf(headers, sizeof headers, "%s%s", SECURITY_HEADERS,
		 o->tls_cert ? "\r\n" HSTS : "");
	opts[k++] = "additional_header", opts[k++] = headers;
	opts[k++] = "tcp_nodelay", opts[k++] = "1";
	opts[k++] = "static_file_max_age", opts[k++] = "0";
	/* Keep-alive spares a client a connection per request; an idle one
	 * holds a worker, so not for long. */
	opts[k++] = "enable_keep_alive", opts[k++] = "yes";
	opts[k++] = "keep_alive_timeout_ms", opts[k++] = "2000";
	if (o->ws) {
		opts[k++] = "enable_websocket_ping_pong", opts[k++] = "yes";
		opts[k++] = "websocket_timeout_ms", opts[k++] = ping;
	}
	if (h->o.access_log)
		opts[k++] = "access_log_file", opts[k++] = h->o.access_log;
	opts[k] = NULL;
	cb.init_thread = init_thread;
	cb.exit_thread = exit_thread;
	cb.log_message = log_message;
	if (o->tls_cert)
		cb.init_ssl = init_ssl;
	init.callbacks = &cb;
	init.user_data = h;
	init.configuration_options = opts;
	ed.text = mgerr;
	ed.text_buffer_size = sizeof mgerr;
	mg_init_library(o->tls_cert ? MG_FEATURES_TLS : 0);
	if (!(h->mg = mg_start2(&init, &ed))) {
		if (h->tls_err[0])
			bms_err_set(err, errsz, "%s", h->tls_err);
		else
			bms_err_set(err, errsz, "cannot listen on %s: %s", listen,
				    mgerr[0] ? mgerr : "civetweb did not start");
		free(h);
		mg_exit_library();
		return -1;
	}
	mg_set_request_handler(h->mg, "/", handle, h);
	if (o->ws) {
		h->sub.nb_subprotocols = 1;
		h->sub.subprotocols = &h->ws.protocol;
		mg_set_websocket_handler_with_subprotocols(h->mg, h->ws.path, &h->sub, ws_connect,
							   ws_ready, ws_data, ws_close, h);
	}
	n = mg_get_server_ports(h->mg, BMS_HTTP_MAX_LISTEN, ports);
	for (int i = 0; i < n; i++) {
		char host[sizeof ((struct bms_net_hostport *)0)->host] = "127.0.0.1";
		struct bms_net_hostport hp;
		char why[256];

		if (i < h->o.nlisten &&
		    bms_net_parse(h->o.listen[i], BMS_NET_LOOPBACK, 0, &hp, why, sizeof why) == 0 &&
		    strcmp(hp.host, "localhost") != 0)
			snprintf(host, sizeof host, "%s", hp.host);
		snprintf(h->where[h->nwhere++], sizeof h->where[0], "http%s://%s:%d",
			 ports[i].is_ssl ? "s" : "", host, ports[i].port);
	}
	*out = h;
	return 0;
}

const char *bms_http_where(const struct bms_http *h, int i)
{
	return i >= 0 && i < h->nwhere ? h->where[i] : NULL;
}

void bms_http_stop(struct bms_http *h)
{
	if (!h)
		return;
	mg_stop(h->mg);
	mg_exit_library();
	free(h);
}

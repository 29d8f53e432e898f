/*
 * http — a small HTTP/1.1 endpoint on libevent's evhttp for a daemon's operational pages
 * (the coordinator's /metrics and AdminServer; the broker's later): listen on host:port, serve
 * the registered paths with their callbacks, 404 for the rest. GET and HEAD only; requests are
 * bounded (HTTP_MAX_HEADERS bytes of headers, no body) and idle connections time out, so a
 * client cannot make it hold memory. Handlers run on the loop thread and must not block: they
 * render what they serve from memory into the reply buffer.
 */
#ifndef SAMSA_HTTP_H
#define SAMSA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct http_server;

#define HTTP_MAX_HEADERS 8192 /* bytes of request line and headers */
#define HTTP_MAX_ROUTES 8
#define HTTP_IDLE_TIMEOUT_S 30

/* What a handler answers: status (200, 404, ...), content type (a static string) and the body
 * it appended to `body`. path is the request's path (no query), decoded as sent. */
struct http_reply {
	int status;
	const char *content_type;
	struct evbuffer *body;
};
typedef void (*http_handler)(const char *path, struct http_reply *reply, void *arg);

/*
 * Listens on host:port (port 0: ephemeral; host "0.0.0.0", "::" or an address). what names the
 * endpoint in logs and errors ("metricsProvider.httpPort"). Returns 0 with *out set, or ERR_IO
 * (the port is taken, the address not local, ...) / ERR_NOMEM with text naming what, host and
 * port in errbuf. Free with http_server_free.
 */
int http_server_new(struct event_base *base, const char *what, const char *host, int port,
		    struct http_server **out, char *errbuf, size_t errlen);
/* Serves path (exactly, or every path under it, "path/..." too, when prefix) with fn.
 * The first matching route wins. 0, or ERR_FULL past HTTP_MAX_ROUTES routes. */
int http_server_route(struct http_server *hs, const char *path, bool prefix, http_handler fn, void *arg);
/* Closes connections idle for seconds (default HTTP_IDLE_TIMEOUT_S). */
void http_server_set_idle_timeout(struct http_server *hs, int seconds);
/* The bound port (useful with port 0). */
int http_server_port(const struct http_server *hs);
/* Closes the listener and every connection. NULL is fine. */
void http_server_free(struct http_server *hs);

#endif

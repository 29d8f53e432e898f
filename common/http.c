/*
 * http — the operational HTTP endpoint (see http.h). evhttp parses the requests (bounded by
 * evhttp_set_max_headers_size / max_body_size); this module only matches the path against
 * its routes and sends what the handler rendered. Loop thread only.
 */
#include "http.h"

#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const HTTP_MOD = "http";

struct http_route {
	char path[128];
	bool prefix;
	http_handler fn;
	void *arg;
};

struct http_server {
	struct evhttp *http;
	char what[64];
	int port;
	struct http_route routes[HTTP_MAX_ROUTES];
	size_t n_routes;
};

static const struct http_route *http_server_match(const struct http_server *hs, const char *path)
{
	for (size_t i = 0; i < hs->n_routes; i++) {
		const struct http_route *r = &hs->routes[i];
		size_t n = strlen(r->path);
		if (!strcmp(path, r->path))
			return r;
		if (r->prefix && !strncmp(path, r->path, n) && path[n] == '/')
			return r;
	}
	return NULL;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	default: return "Status";
	}
}

/* evhttp's callback for every complete request. */
static void http_server_request(struct evhttp_request *req, void *arg)
{
	struct http_server *hs = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	char *path = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
	struct http_reply reply = { .status = 404, .content_type = "text/plain; charset=utf-8",
				    .body = evbuffer_new() };
	if (!reply.body) {
		free(path);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	const struct http_route *r = path ? http_server_match(hs, path) : NULL;
	if (!path) {
		reply.status = 400;
		evbuffer_add_printf(reply.body, "bad request path\n");
	} else if (r) {
		reply.status = 200;
		r->fn(path, &reply, r->arg);
	} else {
		evbuffer_add_printf(reply.body, "no such page: %s\n", path);
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", reply.content_type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply(req, reply.status, http_reason(reply.status), reply.body);
	evbuffer_free(reply.body);
	free(path);
}

int http_server_new(struct event_base *base, const char *what, const char *host, int port,
		    struct http_server **out, char *errbuf, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];
	const char *h = (host && *host) ? host : "0.0.0.0";
	*out = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	int g = getaddrinfo(h, portstr, &hints, &ai);
	if (g != 0 || !ai)
		return err_set(errbuf, errlen, ERR_IO, "%s: cannot resolve %s:%d: %s", what, h, port, gai_strerror(g));
	struct http_server *hs = calloc(1, sizeof(*hs));
	struct evhttp *http = hs ? evhttp_new(base) : NULL;
	if (!http) {
		freeaddrinfo(ai);
		free(hs);
		return err_set(errbuf, errlen, ERR_NOMEM, "%s: out of memory", what);
	}
	hs->http = http;
	snprintf(hs->what, sizeof(hs->what), "%s", what);
	struct evconnlistener *evl =
		evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					64, ai->ai_addr, (int)ai->ai_addrlen);
	int e = errno;
	freeaddrinfo(ai);
	if (!evl) {
		http_server_free(hs);
		return err_set(errbuf, errlen, ERR_IO, "%s: cannot listen on %s:%d: %s", what, h, port, strerror(e));
	}
	if (!evhttp_bind_listener(http, evl)) { /* on failure the listener is still ours */
		evconnlistener_free(evl);
		http_server_free(hs);
		return err_set(errbuf, errlen, ERR_NOMEM, "%s: out of memory", what);
	}
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, HTTP_IDLE_TIMEOUT_S);
	evhttp_set_gencb(http, http_server_request, hs);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	hs->port = port;
	if (getsockname(evconnlistener_get_fd(evl), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			hs->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			hs->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	log_info(HTTP_MOD, "%s: serving HTTP on %s:%d", what, h, hs->port);
	*out = hs;
	return 0;
}

int http_server_route(struct http_server *hs, const char *path, bool prefix, http_handler fn, void *arg)
{
	if (hs->n_routes >= HTTP_MAX_ROUTES || strlen(path) >= sizeof(hs->routes[0].path))
		return ERR_FULL;
	struct http_route *r = &hs->routes[hs->n_routes++];
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->prefix = prefix;
	r->fn = fn;
	r->arg = arg;
	return 0;
}

void http_server_set_idle_timeout(struct http_server *hs, int seconds)
{
	evhttp_set_timeout(hs->http, seconds > 0 ? seconds : HTTP_IDLE_TIMEOUT_S);
}

int http_server_port(const struct http_server *hs)
{
	return hs ? hs->port : -1;
}

void http_server_free(struct http_server *hs)
{
	if (!hs)
		return;
	if (hs->http)
		evhttp_free(hs->http);
	free(hs);
}

/*
 * kb_zktls — the broker's TLS bridge to the coordinator (see kb_zktls.h).
 *
 * A pair is one connection of the ZooKeeper client (local, plain, on loopback) and its TLS
 * connection to the coordinator (remote). Bytes read on one side are appended to the other's
 * output; past KZT_HIGH bytes waiting there, reading stops on the first side until that output
 * drains (the write callback resumes it). When either side ends (EOF or error), reading stops on
 * both, what the other side still has to send is flushed, and the pair is freed by the reaper
 * event, never inside its own bufferevent callback.
 */
#include "kb_zktls.h"

#include "err.h"
#include "log.h"
#include "tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const KZT_MOD = "zk-tls";

enum {
	KZT_MAX_HOSTS = 64,
	KZT_HIGH = 1 << 20, /* bytes waiting on one side before the other stops being read */
};

struct kb_zktls;

struct kb_zktls_ep {
	struct kb_zktls *zt;
	char host[256]; /* as written in zookeeper.connect (the name checked in the certificate) */
	int port;
	struct sockaddr_storage addr; /* resolved at start */
	socklen_t alen;
	struct evconnlistener *lis;
	int lport; /* the loopback port the client is given */
};

struct kb_zktls_pair {
	struct kb_zktls_ep *ep;
	struct bufferevent *local;  /* the ZooKeeper client's connection, plain */
	struct bufferevent *remote; /* to the coordinator, TLS */
	bool connected;		    /* the handshake with the coordinator completed */
	bool closing;		    /* one side ended: flushing the other, then reaped */
	LIST_ENTRY(kb_zktls_pair) link;
};

struct kb_zktls {
	struct event_base *base;
	struct tls_ctx *tls;
	bool verify_host;
	kb_zktls_reject_fn reject;
	void *arg;
	int n;
	struct kb_zktls_ep ep[KZT_MAX_HOSTS];
	char *connect;
	struct event *reaper;
	LIST_HEAD(, kb_zktls_pair) pairs;
};

bool kb_zktls_peer_is_self(int fd)
{
	struct sockaddr_in peer, self;
	socklen_t pl = sizeof(peer), sl = sizeof(self);
	if (getpeername(fd, (struct sockaddr *)&peer, &pl) || getsockname(fd, (struct sockaddr *)&self, &sl) ||
	    peer.sin_family != AF_INET || self.sin_family != AF_INET)
		return false;
	/* /proc/net/tcp writes an address as the 32-bit word in memory order, the port in host
	 * order: the connecting socket's entry has the peer as its local address, fd's as remote */
	char want_local[32], want_remote[32];
	snprintf(want_local, sizeof(want_local), "%08X:%04X", (unsigned)peer.sin_addr.s_addr, ntohs(peer.sin_port));
	snprintf(want_remote, sizeof(want_remote), "%08X:%04X", (unsigned)self.sin_addr.s_addr, ntohs(self.sin_port));
	FILE *f = fopen("/proc/net/tcp", "r");
	if (!f)
		return false;
	char line[512];
	unsigned long inode = 0;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned long ino;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %63s %63s %*s %*s %*s %*s %*s %*s %lu", local, remote, &ino) != 3)
			continue;
		if (!strcmp(local, want_local) && !strcmp(remote, want_remote)) {
			inode = ino;
			found = true;
		}
	}
	fclose(f);
	if (!found || inode == 0)
		return false;
	char want[64];
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return false;
	bool mine = false;
	struct dirent *de;
	while (!mine && (de = readdir(d))) {
		char path[300], link[64];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		ssize_t k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		mine = !strcmp(link, want);
	}
	closedir(d);
	return mine;
}

static void kb_zktls_schedule_reap(struct kb_zktls *zt)
{
	event_active(zt->reaper, EV_TIMEOUT, 0);
}

static void kb_zktls_pair_free(struct kb_zktls_pair *p)
{
	LIST_REMOVE(p, link);
	if (p->local)
		bufferevent_free(p->local);
	if (p->remote)
		bufferevent_free(p->remote);
	free(p);
}

static void kb_zktls_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_zktls *zt = arg;
	(void)fd;
	(void)what;
	struct kb_zktls_pair *p = LIST_FIRST(&zt->pairs), *next;
	for (; p; p = next) {
		next = LIST_NEXT(p, link);
		if (p->closing && (!p->local || !evbuffer_get_length(bufferevent_get_output(p->local))) &&
		    (!p->remote || !evbuffer_get_length(bufferevent_get_output(p->remote))))
			kb_zktls_pair_free(p);
	}
}

/* One side ended: stop reading both, let the other side's output flush (its write callback
 * reaps the pair once empty), or reap now when nothing waits. */
static void kb_zktls_pair_close(struct kb_zktls_pair *p)
{
	p->closing = true;
	bufferevent_disable(p->local, EV_READ);
	bufferevent_disable(p->remote, EV_READ);
	kb_zktls_schedule_reap(p->ep->zt);
}

static void kb_zktls_read_cb(struct bufferevent *bev, void *arg)
{
	struct kb_zktls_pair *p = arg;
	struct bufferevent *other = bev == p->local ? p->remote : p->local;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (p->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	struct evbuffer *out = bufferevent_get_output(other);
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= KZT_HIGH)
		bufferevent_disable(bev, EV_READ); /* resumed by other's write callback */
}

/* other's output drained (low watermark 0): resume reading the side that fills it, or reap. */
static void kb_zktls_write_cb(struct bufferevent *bev, void *arg)
{
	struct kb_zktls_pair *p = arg;
	if (p->closing) {
		kb_zktls_schedule_reap(p->ep->zt);
		return;
	}
	bufferevent_enable(bev == p->local ? p->remote : p->local, EV_READ);
}

static void kb_zktls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct kb_zktls_pair *p = arg;
	struct kb_zktls_ep *ep = p->ep;
	if (what & BEV_EVENT_CONNECTED) {
		p->connected = true;
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		char subject[512] = "";
		if (ssl)
			tls_peer_subject(ssl, subject, sizeof(subject));
		log_debug(KZT_MOD, "TLS to the coordinator %s:%d (%s, %s)", ep->host, ep->port,
			  ssl ? SSL_get_version(ssl) : "?", subject);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	/* what waits for this side cannot be written any more */
	evbuffer_drain(bufferevent_get_output(bev), evbuffer_get_length(bufferevent_get_output(bev)));
	if (bev == p->remote && !p->connected) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		char why[768];
		if (v != X509_V_OK) {
			snprintf(why, sizeof(why), "the coordinator %s:%d's certificate was refused: %s", ep->host, ep->port,
				 X509_verify_cert_error_string(v));
			log_error(KZT_MOD, "%s", why);
			if (ep->zt->reject)
				ep->zt->reject(why, ep->zt->arg);
		} else {
			unsigned long e = bufferevent_get_openssl_error(bev);
			int se = EVUTIL_SOCKET_ERROR();
			if (e) {
				char es[256];
				ERR_error_string_n(e, es, sizeof(es));
				log_warn(KZT_MOD, "TLS handshake with the coordinator %s:%d failed: %s", ep->host, ep->port, es);
			} else {
				log_warn(KZT_MOD, "cannot reach the coordinator %s:%d: %s", ep->host, ep->port,
					 se ? evutil_socket_error_to_string(se) : "connection closed");
			}
		}
	}
	kb_zktls_pair_close(p);
}

static void kb_zktls_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
			       void *arg)
{
	struct kb_zktls_ep *ep = arg;
	struct kb_zktls *zt = ep->zt;
	(void)lis;
	(void)salen;
	/* reading /proc blocks the loop for a moment; the client connects once per session
	 * connection, so that is rare */
	if (!kb_zktls_peer_is_self(fd)) {
		char who[64] = "?";
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
			snprintf(who, sizeof(who), "%s:%d", a, ntohs(in->sin_port));
		}
		log_warn(KZT_MOD, "refused a connection to the coordinator bridge (port %d) from %s: not this process's",
			 ep->lport, who);
		evutil_closesocket(fd);
		return;
	}
	/* rewritten key or trust files take effect for this connection (tls: at most once a second) */
	struct timeval now;
	char why[512];
	event_base_gettimeofday_cached(zt->base, &now);
	if (tls_ctx_maybe_reload(zt->tls, (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000, why, sizeof(why)))
		log_error(KZT_MOD, "reloading the zookeeper.ssl.* material failed, keeping the old: %s", why);
	struct kb_zktls_pair *p = calloc(1, sizeof(*p));
	SSL *ssl = p ? tls_ctx_ssl(zt->tls, zt->verify_host ? ep->host : NULL) : NULL;
	if (!ssl) {
		log_error(KZT_MOD, "cannot bridge to the coordinator %s:%d: out of memory", ep->host, ep->port);
		free(p);
		evutil_closesocket(fd);
		return;
	}
	p->ep = ep;
	LIST_INSERT_HEAD(&zt->pairs, p, link);
	p->local = bufferevent_socket_new(zt->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!p->local)
		evutil_closesocket(fd);
	p->remote = bufferevent_openssl_socket_new(zt->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!p->remote)
		SSL_free(ssl);
	if (!p->local || !p->remote) {
		log_error(KZT_MOD, "cannot bridge to the coordinator %s:%d: out of memory", ep->host, ep->port);
		kb_zktls_pair_free(p);
		return;
	}
	/* a coordinator that closes without close_notify ends the stream; not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(p->remote, 1);
	bufferevent_setcb(p->local, kb_zktls_read_cb, kb_zktls_write_cb, kb_zktls_event_cb, p);
	bufferevent_setcb(p->remote, kb_zktls_read_cb, kb_zktls_write_cb, kb_zktls_event_cb, p);
	bufferevent_enable(p->local, EV_READ | EV_WRITE);
	bufferevent_enable(p->remote, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(p->remote, (struct sockaddr *)&ep->addr, (int)ep->alen)) {
		log_warn(KZT_MOD, "cannot reach the coordinator %s:%d: %s", ep->host, ep->port, strerror(errno));
		bufferevent_disable(p->local, EV_READ);
		p->closing = true;
		kb_zktls_schedule_reap(zt);
	}
}

/* "host:port" or "[v6]:port" into ep; resolves it. */
static int kb_zktls_ep_parse(struct kb_zktls_ep *ep, const char *s, size_t len, char *eb, size_t el)
{
	char buf[300];
	if (len == 0 || len >= sizeof(buf))
		return err_set(eb, el, ERR_CONFIG, "invalid host:port '%.*s' in zookeeper.connect", (int)len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *colon = strrchr(buf, ':');
	char *host = buf;
	if (!colon || colon == buf)
		return err_set(eb, el, ERR_CONFIG, "invalid host:port '%s' in zookeeper.connect", buf);
	*colon = '\0';
	if (host[0] == '[') {
		size_t hl = strlen(host);
		if (hl < 3 || host[hl - 1] != ']')
			return err_set(eb, el, ERR_CONFIG, "invalid host '%s' in zookeeper.connect", host);
		host[hl - 1] = '\0';
		host++;
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 || strlen(host) >= sizeof(ep->host))
		return err_set(eb, el, ERR_CONFIG, "invalid host:port '%.*s' in zookeeper.connect", (int)len, s);
	memcpy(ep->host, host, strlen(host) + 1); /* its length checked above */
	ep->port = (int)port;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", ep->port);
	int g = getaddrinfo(host, ps, &hints, &ai);
	if (g || !ai)
		return err_set(eb, el, ERR_CONFIG, "cannot resolve the coordinator '%s' of zookeeper.connect: %s", host,
			       gai_strerror(g));
	memcpy(&ep->addr, ai->ai_addr, ai->ai_addrlen);
	ep->alen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

struct kb_zktls *kb_zktls_new(struct event_base *base, const char *hosts, struct tls_ctx *tls, bool verify_host,
			      kb_zktls_reject_fn reject, void *arg, char *eb, size_t el)
{
	struct kb_zktls *zt = calloc(1, sizeof(*zt));
	if (!zt) {
		tls_ctx_free(tls);
		err_set(eb, el, ERR_NOMEM, "out of memory");
		return NULL;
	}
	zt->base = base;
	zt->tls = tls;
	zt->verify_host = verify_host;
	zt->reject = reject;
	zt->arg = arg;
	LIST_INIT(&zt->pairs);
	zt->reaper = event_new(base, -1, 0, kb_zktls_reap_cb, zt);
	size_t cap = (size_t)KZT_MAX_HOSTS * 24;
	zt->connect = calloc(1, cap);
	if (!zt->reaper || !zt->connect) {
		err_set(eb, el, ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (const char *s = hosts; *s;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (zt->n == KZT_MAX_HOSTS) {
			err_set(eb, el, ERR_CONFIG, "zookeeper.connect names more than %d hosts", KZT_MAX_HOSTS);
			goto fail;
		}
		struct kb_zktls_ep *ep = &zt->ep[zt->n];
		ep->zt = zt;
		if (kb_zktls_ep_parse(ep, s, len, eb, el))
			goto fail;
		struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		ep->lis = evconnlistener_new_bind(base, kb_zktls_accept_cb, ep, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
						  16, (struct sockaddr *)&lo, sizeof(lo));
		if (!ep->lis) {
			err_set(eb, el, ERR_IO, "cannot listen on 127.0.0.1 for the coordinator bridge: %s", strerror(errno));
			goto fail;
		}
		zt->n++;
		struct sockaddr_in got;
		socklen_t gl = sizeof(got);
		if (getsockname(evconnlistener_get_fd(ep->lis), (struct sockaddr *)&got, &gl)) {
			err_set(eb, el, ERR_IO, "getsockname: %s", strerror(errno));
			goto fail;
		}
		ep->lport = ntohs(got.sin_port);
		size_t at = strlen(zt->connect);
		snprintf(zt->connect + at, cap - at, "%s127.0.0.1:%d", at ? "," : "", ep->lport);
		log_info(KZT_MOD, "coordinator %s:%d over TLS through 127.0.0.1:%d%s", ep->host, ep->port, ep->lport,
			 verify_host ? "" : " (host name not checked)");
		if (!comma)
			break;
		s = comma + 1;
	}
	if (zt->n == 0) {
		err_set(eb, el, ERR_CONFIG, "zookeeper.connect names no host");
		goto fail;
	}
	return zt;
fail:
	kb_zktls_free(zt);
	return NULL;
}

static void kb_zktls_flush_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

void kb_zktls_flush(struct kb_zktls *zt, int timeout_ms)
{
	if (!zt || LIST_EMPTY(&zt->pairs))
		return;
	bool late = false;
	struct event *t = evtimer_new(zt->base, kb_zktls_flush_timeout, &late);
	if (!t)
		return;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	evtimer_add(t, &tv);
	while (!late && !LIST_EMPTY(&zt->pairs))
		event_base_loop(zt->base, EVLOOP_ONCE);
	event_free(t);
}

const char *kb_zktls_connect(const struct kb_zktls *zt)
{
	return zt->connect;
}

void kb_zktls_free(struct kb_zktls *zt)
{
	if (!zt)
		return;
	while (!LIST_EMPTY(&zt->pairs))
		kb_zktls_pair_free(LIST_FIRST(&zt->pairs));
	for (int i = 0; i < zt->n; i++)
		evconnlistener_free(zt->ep[i].lis);
	if (zt->reaper)
		event_free(zt->reaper);
	tls_ctx_free(zt->tls);
	free(zt->connect);
	free(zt);
}

/*
 * kb_zk — the ZooKeeper C client on the broker's event loop (see kb_zk.h).
 */
#include "kb_zk.h"
#include "kb_zktls.h"

#include "err.h"
#include "log.h"
#include "tls.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KZ_MOD = "zk-client";

struct kb_zk {
	struct event_base *base;
	zhandle_t *zh;
	char *hosts;
	char *chroot; /* "" or "/cluster-a" */
	int timeout_ms;
	struct kb_zk_cbs cbs;
	void *arg;
	struct event *ev;
	int ev_fd;
	short ev_what;
	struct event *restart; /* a new handle after expiry, from a safe point */
	bool connected;
	bool had_session;
	bool ever_connected; /* a session was established once (refusals before it are fatal) */
	struct kb_zktls *bridge; /* over TLS: the client connects to its loopback ports */
	int64_t session;
	int chroot_pending;
};

static void kb_zk_start(struct kb_zk *z);

static void kb_zk_io(evutil_socket_t fd, short what, void *arg)
{
	struct kb_zk *z = arg;
	int events = 0;
	(void)fd;
	if (what & EV_READ)
		events |= ZOOKEEPER_READ;
	if (what & EV_WRITE)
		events |= ZOOKEEPER_WRITE;
	if (z->zh)
		zookeeper_process(z->zh, events);
	kb_zk_pump(z);
}

void kb_zk_pump(struct kb_zk *z)
{
	int fd = -1, interest = 0;
	struct timeval tv = { 1, 0 };
	if (!z->zh)
		return;
	int rc = zookeeper_interest(z->zh, &fd, &interest, &tv);
	if (rc != ZOK && rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT && rc != ZNOTHING) {
		log_debug(KZ_MOD, "zookeeper_interest: %s", zerror(rc));
	}
	short what = 0;
	if (fd >= 0) {
		if (interest & ZOOKEEPER_READ)
			what |= EV_READ;
		if (interest & ZOOKEEPER_WRITE)
			what |= EV_WRITE;
	}
	if (tv.tv_sec < 0 || tv.tv_usec < 0) {
		tv.tv_sec = 0;
		tv.tv_usec = 0;
	}
	if (z->ev && (z->ev_fd != fd || z->ev_what != what)) {
		event_free(z->ev);
		z->ev = NULL;
	}
	if (!z->ev) {
		z->ev = event_new(z->base, what ? fd : -1, what, kb_zk_io, z);
		z->ev_fd = fd;
		z->ev_what = what;
	}
	if (z->ev)
		event_add(z->ev, &tv);
}

static void kb_zk_chroot_done(int rc, const char *value, const void *data)
{
	struct kb_zk *z = (struct kb_zk *)(uintptr_t)data;
	(void)value;
	if (rc != ZOK && rc != ZNODEEXISTS)
		log_warn(KZ_MOD, "cannot create the chroot %s: %s", z->chroot, zerror(rc));
	if (--z->chroot_pending == 0 && z->cbs.state)
		z->cbs.state(z, KB_ZK_SESSION_NEW, z->arg);
}

/* A new session: create each component of the chroot (Kafka does), then tell the owner. */
static void kb_zk_new_session(struct kb_zk *z)
{
	if (!z->chroot[0]) {
		if (z->cbs.state)
			z->cbs.state(z, KB_ZK_SESSION_NEW, z->arg);
		return;
	}
	char path[1024];
	z->chroot_pending = 0;
	for (const char *p = z->chroot + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - z->chroot);
			memcpy(path, z->chroot, n);
			path[n] = '\0';
			z->chroot_pending++;
			if (zoo_acreate(z->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_chroot_done,
					(const void *)(uintptr_t)z) != ZOK)
				z->chroot_pending--;
			if (*p == '\0')
				break;
		}
	}
	if (z->chroot_pending == 0 && z->cbs.state)
		z->cbs.state(z, KB_ZK_SESSION_NEW, z->arg);
}

static void kb_zk_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_zk *z = arg;
	(void)fd;
	(void)what;
	if (z->ev) {
		event_free(z->ev);
		z->ev = NULL;
	}
	if (z->zh)
		zookeeper_close(z->zh);
	z->zh = NULL;
	kb_zk_start(z);
}

static void kb_zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct kb_zk *z = ctx;
	(void)zh;
	if (type == ZOO_SESSION_EVENT) {
		if (state == ZOO_CONNECTED_STATE) {
			const clientid_t *id = zoo_client_id(z->zh);
			bool same = z->had_session && id->client_id == z->session;
			z->connected = true;
			z->ever_connected = true;
			z->session = id->client_id;
			z->had_session = true;
			log_info(KZ_MOD, "connected to the coordinator, session 0x%llx%s",
				 (unsigned long long)z->session, same ? " (resumed)" : "");
			if (same) {
				if (z->cbs.state)
					z->cbs.state(z, KB_ZK_RECONNECTED, z->arg);
			} else {
				kb_zk_new_session(z);
			}
		} else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
			log_warn(KZ_MOD, "coordinator session 0x%llx %s; starting a new one",
				 (unsigned long long)z->session,
				 state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
			z->connected = false;
			z->had_session = false;
			if (z->cbs.state)
				z->cbs.state(z, KB_ZK_DISCONNECTED, z->arg);
			event_active(z->restart, EV_TIMEOUT, 0);
		} else if (z->connected) {
			z->connected = false;
			log_warn(KZ_MOD, "lost the coordinator connection; reconnecting");
			if (z->cbs.state)
				z->cbs.state(z, KB_ZK_DISCONNECTED, z->arg);
		}
		return;
	}
	const char *rel = path ? kb_zk_rel(z, path) : NULL;
	if (rel && z->cbs.watch)
		z->cbs.watch(z, type, rel, z->arg);
}

static void kb_zk_refused(const char *why, void *arg)
{
	struct kb_zk *z = arg;
	if (!z->ever_connected && z->cbs.refused)
		z->cbs.refused(z, why, z->arg);
}

static void kb_zk_start(struct kb_zk *z)
{
	z->zh = zookeeper_init(z->hosts, kb_zk_watcher, z->timeout_ms, NULL, z, 0);
	if (!z->zh) {
		log_error(KZ_MOD, "zookeeper_init(%s) failed; retrying", z->hosts);
		struct timeval tv = { 1, 0 };
		event_add(z->restart, &tv);
		return;
	}
	kb_zk_pump(z);
}

struct kb_zk *kb_zk_new(struct event_base *base, const char *connect, int session_timeout_ms, struct tls_ctx *tls,
			bool verify_host, const struct kb_zk_cbs *cbs, void *arg, char *eb, size_t el)
{
	if (!connect || !connect[0]) {
		tls_ctx_free(tls);
		err_set(eb, el, ERR_CONFIG, "empty zookeeper.connect");
		return NULL;
	}
	struct kb_zk *z = calloc(1, sizeof(*z));
	if (!z) {
		tls_ctx_free(tls);
		return NULL;
	}
	z->base = base;
	z->cbs = *cbs;
	z->arg = arg;
	z->timeout_ms = session_timeout_ms;
	z->ev_fd = -1;
	const char *slash = strchr(connect, '/');
	z->hosts = slash ? strndup(connect, (size_t)(slash - connect)) : strdup(connect);
	z->chroot = strdup(slash ? slash : "");
	if (z->chroot && z->chroot[0]) { /* "/a/b/" -> "/a/b"; "/" -> "" */
		size_t n = strlen(z->chroot);
		while (n > 0 && z->chroot[n - 1] == '/')
			z->chroot[--n] = '\0';
		if (strstr(z->chroot, "//") || strlen(z->chroot) > 512) {
			err_set(eb, el, ERR_CONFIG, "invalid chroot in zookeeper.connect '%s'", connect);
			tls_ctx_free(tls);
			kb_zk_free(z);
			return NULL;
		}
	}
	z->restart = event_new(base, -1, 0, kb_zk_restart_cb, z);
	if (!z->hosts || !z->chroot || !z->restart || !z->hosts[0]) {
		err_set(eb, el, ERR_CONFIG, "invalid zookeeper.connect '%s'", connect);
		tls_ctx_free(tls);
		kb_zk_free(z);
		return NULL;
	}
	if (tls) {
		z->bridge = kb_zktls_new(base, z->hosts, tls, verify_host, kb_zk_refused, z, eb, el);
		char *lo = z->bridge ? strdup(kb_zktls_connect(z->bridge)) : NULL;
		if (!lo) {
			kb_zk_free(z);
			return NULL;
		}
		free(z->hosts);
		z->hosts = lo;
	}
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	kb_zk_start(z);
	return z;
}

void kb_zk_free(struct kb_zk *z)
{
	if (!z)
		return;
	if (z->ev)
		event_free(z->ev);
	if (z->restart)
		event_free(z->restart);
	if (z->zh)
		zookeeper_close(z->zh);
	/* the close-session request sits in the loopback socket: let the bridge forward it, so
	 * the session's ephemerals go at once here too */
	kb_zktls_flush(z->bridge, 1000);
	kb_zktls_free(z->bridge);
	free(z->hosts);
	free(z->chroot);
	free(z);
}

zhandle_t *kb_zk_handle(struct kb_zk *z)
{
	return z->zh;
}

const char *kb_zk_path(const struct kb_zk *z, const char *rel, char *buf, size_t n)
{
	int w = snprintf(buf, n, "%s%s", z->chroot, strcmp(rel, "/") || !z->chroot[0] ? rel : "");
	if (w < 0 || (size_t)w >= n)
		buf[0] = '\0';
	return buf;
}

const char *kb_zk_rel(const struct kb_zk *z, const char *full)
{
	size_t n = strlen(z->chroot);
	if (strncmp(full, z->chroot, n))
		return NULL;
	if (full[n] == '\0')
		return "/";
	return full[n] == '/' ? full + n : NULL;
}

int kb_zk_connected(const struct kb_zk *z)
{
	return z && z->connected;
}

int64_t kb_zk_session_id(const struct kb_zk *z)
{
	return z->session;
}

void kb_zk_ignore_string(int rc, const char *value, const void *data)
{
	(void)rc;
	(void)value;
	(void)data;
}

void kb_zk_ignore_stat(int rc, const struct Stat *st, const void *data)
{
	(void)rc;
	(void)st;
	(void)data;
}

void kb_zk_ignore_void(int rc, const void *data)
{
	(void)rc;
	(void)data;
}

/*
 * kb_zk — the broker's coordinator session: Debian's ZooKeeper C client (libzookeeper_st)
 * driven by the broker's libevent loop through zookeeper_interest / zookeeper_process, with
 * the chroot of zookeeper.connect handled here (created when missing, as Kafka does) and a new
 * session started whenever the old one expires.
 *
 * Callers use the client's async API (zoo_acreate, zoo_aget, ...) on kb_zk_handle() with paths
 * made by kb_zk_path(), then call kb_zk_pump() so the request is sent.
 *
 * With a TLS context (zookeeper.ssl.client.enable) the client connects through kb_zktls, the
 * in-process bridge that speaks TLS to the coordinator for it.
 *
 * It lives in broker/zk/ (library samsa_broker_zk) and depends only on common/ and the client
 * library: Kafka's znode layout and JSON are kb_cluster's (and meta/'s), not this module's.
 */
#ifndef SAMSA_KB_ZK_H
#define SAMSA_KB_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <zookeeper/zookeeper.h>

struct event_base;
struct kb_zk;

enum kb_zk_state {
	KB_ZK_SESSION_NEW,  /* a new session (first, or after expiry): ephemerals and watches are gone */
	KB_ZK_RECONNECTED,  /* the same session on a new connection: everything kept */
	KB_ZK_DISCONNECTED, /* connection lost; the client retries on its own */
};

struct kb_zk_cbs {
	void (*state)(struct kb_zk *z, enum kb_zk_state st, void *arg);
	/* A watch fired: type is ZOO_CREATED_EVENT, ..., path relative to the chroot. */
	void (*watch)(struct kb_zk *z, int type, const char *path, void *arg);
	/* Over TLS, before any session was ever established: the coordinator's certificate was
	 * refused (why names it). A later refusal is only logged (the client keeps retrying).
	 * May be NULL. */
	void (*refused)(struct kb_zk *z, const char *why, void *arg);
};

struct tls_ctx;
/* connect: "host:port[,host:port...][/chroot]". tls: NULL (plaintext), or a client context the
 * session owns from now on (also on failure), used through kb_zktls; verify_host: the
 * coordinator's certificate must name the host of connect. Returns NULL with text in eb on a
 * bad string or when the bridge cannot start. */
struct kb_zk *kb_zk_new(struct event_base *base, const char *connect, int session_timeout_ms, struct tls_ctx *tls,
			bool verify_host, const struct kb_zk_cbs *cbs, void *arg, char *eb, size_t el);
void kb_zk_free(struct kb_zk *z); /* closes the session (ephemerals go at once); NULL ok */
zhandle_t *kb_zk_handle(struct kb_zk *z);
/* chroot + rel into buf; returns buf ("" if it does not fit). */
const char *kb_zk_path(const struct kb_zk *z, const char *rel, char *buf, size_t n);
/* Strips the chroot from a full path (returns rel or NULL if outside the chroot). */
const char *kb_zk_rel(const struct kb_zk *z, const char *full);
/* Re-arms the socket event after requests were queued. */
void kb_zk_pump(struct kb_zk *z);
int kb_zk_connected(const struct kb_zk *z);
int64_t kb_zk_session_id(const struct kb_zk *z);
/* Completions for calls whose answer nobody needs (creating a path that may exist, deleting a
 * notification): they do nothing. */
void kb_zk_ignore_string(int rc, const char *value, const void *data);
void kb_zk_ignore_stat(int rc, const struct Stat *st, const void *data);
void kb_zk_ignore_void(int rc, const void *data);

#endif

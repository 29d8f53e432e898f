/*
 * kb_zktls — the broker's TLS bridge to the coordinator (Kafka's zookeeper.ssl.client.enable,
 * KIP-515). Debian's ZooKeeper C client is built without OpenSSL, so it cannot speak TLS: for
 * each host:port of zookeeper.connect this module listens on 127.0.0.1 on an ephemeral port,
 * gives the client a connect string of those loopback ports, and forwards every accepted
 * connection's bytes to the real coordinator address over TLS (bufferevent_openssl, the client
 * context of common/tls: the broker's certificate for the x509 scheme, the coordinator's
 * certificate verified against the truststore and, unless endpoint identification is off,
 * against the host name of zookeeper.connect).
 *
 * It owns the loopback listeners, the coordinator addresses (resolved once, at start) and the
 * pairs of connections it forwards between. The loopback leg must not lend the broker's TLS
 * identity to another local process: a connection is accepted only when its peer socket is
 * one of this process's own (kb_zktls_peer_is_self), others are closed and logged.
 *
 * Thread: the broker's loop thread, the one that drives the ZooKeeper client (kb_zk uses
 * libzookeeper_st through zookeeper_interest/zookeeper_process on that loop, and its connect
 * is non-blocking, so the bridge's accept and the client's connect interleave on one loop).
 */
#ifndef SAMSA_KB_ZKTLS_H
#define SAMSA_KB_ZKTLS_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct tls_ctx;
struct kb_zktls;

/* A handshake failed on the coordinator's certificate (not trusted, or not naming the host):
 * why is a whole sentence naming the address and OpenSSL's reason. Called on the loop thread,
 * from a bufferevent callback (the bridge stays usable: do not free it from here). */
typedef void (*kb_zktls_reject_fn)(const char *why, void *arg);

/* hosts: "host:port[,host:port...]" (no chroot; "[v6]:port" accepted). tls: a client context
 * (tls_ctx_new(.., false, ..)), owned by the bridge from now on, also on failure.
 * verify_host: the coordinator's certificate must name the host as written in hosts
 * (zookeeper.ssl.endpoint.identification.algorithm=HTTPS). Resolves each host (blocking, once:
 * it runs at start) and listens. Returns the bridge, or NULL with the reason in eb.
 * Ownership: kb_zktls_free. */
struct kb_zktls *kb_zktls_new(struct event_base *base, const char *hosts, struct tls_ctx *tls, bool verify_host,
			      kb_zktls_reject_fn reject, void *arg, char *eb, size_t el);
/* "127.0.0.1:p1,127.0.0.1:p2" in the order of hosts; owned by the bridge. */
const char *kb_zktls_connect(const struct kb_zktls *zt);
/* At shutdown, after the client was closed (its close-session request written to the
 * loopback): runs the loop (nested; only from the shutdown path) until every pair has
 * forwarded what it holds and ended, at most timeout_ms. */
void kb_zktls_flush(struct kb_zktls *zt, int timeout_ms);
/* Closes the listeners and every forwarded connection; NULL ok. */
void kb_zktls_free(struct kb_zktls *zt);

/* Whether the peer of the connected TCP socket fd (accepted on a loopback listener) is a
 * socket of this very process: the peer's address:port is looked up as the local address of
 * an entry of /proc/net/tcp (IPv4: the bridge listens on 127.0.0.1) whose remote address is fd's own, and that entry's inode
 * must be one of /proc/self/fd's socket:[inode] links. False when anything is missing. */
bool kb_zktls_peer_is_self(int fd);

#endif

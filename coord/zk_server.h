/*
 * zk_server — the coordinator server: ZooKeeper's client port (jute over TCP), the request
 * pipeline (check, log, apply, reply), sessions and their expiry, watches, ACLs, four-letter
 * words, group commit, snapshots and purging.
 *
 * Durable, then acknowledged: every reply and watch event is tagged with the zxid of the state it
 * shows and leaves only once the log is on disk up to that zxid (replies queue per connection,
 * in request order). So no client ever sees a write that a crash could take back.
 *
 * Loop thread only; the log's fsync runs on zk_txnlog's worker, snapshots in a fork()ed child.
 * In an ensemble (server.N lines) Raft orders the txns instead of the txn log. The
 * implementation is split into modules sharing coord/zk_server_int.h (see zk_server.c).
 */
#ifndef SAMSA_ZK_SERVER_H
#define SAMSA_ZK_SERVER_H

#include <stddef.h>

struct event_base;
struct zk_config;
struct zk_server;

/*
 * Recovers the state from cfg's dataDir/dataLogDir, opens the log and listens on the client
 * port. cfg must outlive the server. Returns 0 with *out set, or an error with text in errbuf.
 */
int zk_server_new(struct event_base *base, const struct zk_config *cfg, struct zk_server **out,
		  char *errbuf, size_t errlen);
/* The bound client port (useful with clientPort=0). */
int zk_server_port(const struct zk_server *srv);
/* Stops accepting, closes connections, flushes and closes the log. NULL is fine. */
void zk_server_free(struct zk_server *srv);

#endif

/*
 * kfetcher — the follower fetchers of a broker (Kafka's ReplicaFetcherManager and its
 * ReplicaFetcherThreads): one connection per source (leader) broker over every partition this
 * broker follows there. Each round on a connection is one request: an OffsetForLeaderEpoch for
 * the partitions whose krepl is TRUNCATING, or a Fetch (carrying this broker's id as replica
 * id) for those FOLLOWING; the answers go up per partition through kfetcher_ops, and the
 * replica manager feeds them to krepl and carries out its actions. The requests are built from
 * krepl_epoch_request() / krepl_fetch_request() at the start of each round, so a partition's
 * state is always read afresh; kfetcher never changes a krepl.
 *
 * Kafka's settings and defaults: replica.fetch.wait.max.ms 500, replica.fetch.min.bytes 1,
 * replica.fetch.response.max.bytes 10 MiB, replica.fetch.max.bytes 1 MiB per partition,
 * replica.fetch.backoff.ms 1000 (after a broken or refused connection, and for a partition
 * whose answer was an error), replica.socket.timeout.ms 30000 (an answer that does not come
 * closes the connection: a paused leader does not hold its followers forever).
 *
 * Loop thread only (the broker's); nothing blocks but the resolution of a leader's host name
 * (getaddrinfo, as the coordinator's peer links: hosts are IP addresses or local names in
 * practice). It lives in broker/replica/ (library samsa_broker_replica).
 */
#ifndef SAMSA_KFETCHER_H
#define SAMSA_KFETCHER_H

#include "ksasl.h"
#include "krepl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kfetcher;

struct kfetcher_ops {
	/* An OffsetForLeaderEpoch answer for a partition being truncated (its current_leader_epoch
	 * and requested_epoch are those of the request it answers): the manager calls
	 * krepl_epoch_response and carries out the actions. */
	void (*epoch_answer)(void *arg, const char *topic, int32_t part, const struct krepl_epoch_resp *resp);
	/* A Fetch answer (leader_epoch and fetch_offset those of its request): resp->batches
	 * describe the whole batches in records[0..len) (contiguous from the fetch offset, a cut
	 * last batch already dropped); the manager calls krepl_fetch_response, then carries out
	 * the actions, appending the bytes of APPEND actions. records is valid during the call. */
	void (*fetch_answer)(void *arg, const char *topic, int32_t part, const struct krepl_fetch_resp *resp,
			     const uint8_t *records, size_t len);
};
/* Both run from the loop, never inside a kfetcher_* call; they may call kfetcher_add and
 * kfetcher_remove (for any partition), but not kfetcher_free. */

/* Kafka's replica fetcher settings (see above); kfetcher_new starts with the defaults. */
struct kfetcher_opts {
	int32_t max_wait_ms;	     /* replica.fetch.wait.max.ms */
	int32_t min_bytes;	     /* replica.fetch.min.bytes */
	int32_t max_bytes;	     /* replica.fetch.response.max.bytes */
	int32_t partition_max_bytes; /* replica.fetch.max.bytes */
	int32_t backoff_ms;	     /* replica.fetch.backoff.ms */
	int32_t socket_timeout_ms;   /* replica.socket.timeout.ms: connect and answer time limit */
};
void kfetcher_opts_default(struct kfetcher_opts *o);

/* A fetcher manager for broker my_broker_id on base. ops and arg stay the caller's (they must
 * outlive it). NULL when out of memory. */
struct kfetcher *kfetcher_new(struct event_base *base, int32_t my_broker_id, const struct kfetcher_ops *ops,
			      void *arg);
/* Closes every connection (no callback follows); NULL ok. */
void kfetcher_free(struct kfetcher *f);
/* Connect to the leaders with TLS (the inter-broker listener is SSL): tls is a client context
 * (tls_ctx_new with server false: this broker's key and chain as its client certificate, its
 * trusted certificates to verify the leader), reloaded here when its files change; with
 * check_host, the leader's certificate must name the host it is reached at (Kafka's
 * ssl.endpoint.identification.algorithm=https). Ownership: tls stays the caller's and must
 * outlive f (or a later call); NULL goes back to plaintext. Connections made from now on use it. */
struct tls_ctx;
void kfetcher_set_tls(struct kfetcher *f, struct tls_ctx *tls, bool check_host);
/* Authenticate every connection to a leader with SASL (the inter-broker listener is SASL_PLAINTEXT
 * or SASL_SSL): SaslHandshake + SaslAuthenticate under mech as user / pass (copied) before the
 * first Fetch (ksaslc). A refusal is logged with the leader's reason and retried after the
 * backoff, so the follower stays out of the ISR. Connections made from now on. 0, or ERR_INVAL
 * (a name or password too long). */
int kfetcher_set_sasl(struct kfetcher *f, enum ksasl_mech mech, const char *user, const char *pass);
/* Applies to the rounds that start from now on. Values <= 0 keep their current setting. */
void kfetcher_set_opts(struct kfetcher *f, const struct kfetcher_opts *o);

/*
 * Follow topic-part from leader_id at host:port, asking k (which stays the manager's; it must
 * stay valid until kfetcher_remove or another kfetcher_add of this partition) what to send.
 * Replaces an earlier add of the same partition: with another leader it moves to that leader's
 * connection (an answer still on its way from the old one is not handed up); a new address for
 * a leader reconnects to it. The first round runs from the loop, not inside this call.
 * 0; ERR_INVAL (a leader id < 0 or equal to ours, no host, a port out of range, an empty or
 * over-long topic): nothing changes; ERR_NOMEM: the partition is then not followed at all (as
 * after kfetcher_remove).
 */
int kfetcher_add(struct kfetcher *f, const char *topic, int32_t part, int32_t leader_id, const char *host, int port,
		 struct krepl *k);
/* Stops following topic-part (called before its krepl is freed): nothing more is handed up for
 * it, even from an answer already on its way. A connection left without partitions closes.
 * Unknown partitions are ignored. */
void kfetcher_remove(struct kfetcher *f, const char *topic, int32_t part);

/* Introspection (logs, tests): the partitions followed, the leader connections open or being
 * opened, and whether one is to leader_id and connected. */
size_t kfetcher_partitions(const struct kfetcher *f);
size_t kfetcher_connections(const struct kfetcher *f);
bool kfetcher_connected(const struct kfetcher *f, int32_t leader_id);

#endif

/*
 * zk_peer — the ensemble's peer transport on the peer port (server.N=host:peerPort:...).
 *
 * Every server listens on its peer port and keeps one OUTBOUND connection to every other server
 * of the ensemble; a message to server X is written on the outbound connection to X, and
 * messages are received on INBOUND connections. The first frame of a connection is a HELLO
 * naming the sender (its id and protocol version); a receiver refuses another protocol version
 * (answering with its own HELLO, so both sides log why) and drops messages whose `from` is not
 * the HELLO's id. Outbound links reconnect with backoff (50 ms doubling to 1 s) while down.
 *
 * Wire format of a frame:
 *   u32 big-endian length (of what follows) | u8 kind | body
 *   kind 0 HELLO: u64 id, u32 protocol version (ZK_PEER_PROTO_VERSION), both big-endian
 *   kind 1 RAFT:  a samsa.quorum.RaftMessage (proto/quorum.proto), version 1
 *   kind 2..6:    the coordinator's own messages (enum zk_peer_kind): a samsa.quorum Forward,
 *                 Touch, Sync (SYNC and SYNC_RESP) or Nack, encoded and decoded here
 *                 (zk_peer_encode_app / zk_peer_decode_app) with every count and length capped;
 *                 the transport itself carries them as opaque bytes (zk_peer_send_app, cbs.app)
 * A frame is at most ZK_PEER_MAX_FRAME bytes (kind + body; snapshots travel inside a
 * SNAPSHOT_REQ's snap_data). A malformed frame closes that connection with a log line.
 *
 * Bounds: the output queued to one peer is bounded (ZK_PEER_OUT_BOUND): a send finding it over
 * the bound drops the message (ERR_FULL), and a link that stays over it for the stall time
 * (ZK_PEER_STALL_MS) is closed and reconnected: a peer that stops reading costs bounded memory.
 *
 * Loop thread only. Callbacks run from the event loop and may call zk_peer_send_*() and
 * zk_peer_set_peers(), never zk_peer_free(). Connections are closed at the loop's next turn
 * (common/net.h): after zk_peer_free() run the loop once more (event_base_loop with
 * EVLOOP_NONBLOCK) before freeing the base, or their memory is not released.
 */
#ifndef SAMSA_ZK_PEER_H
#define SAMSA_ZK_PEER_H

#include "raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct wbuf;

#define ZK_PEER_PROTO_VERSION 1u	    /* HELLO version */
#define ZK_PEER_RAFT_VERSION 1u		    /* RaftMessage.version */
#define ZK_PEER_MAX_FRAME (256u << 20)	    /* kind + body */
#define ZK_PEER_MAX_ENTRIES 65536u	    /* per RaftMessage; more is ERR_CORRUPT */
#define ZK_PEER_OUT_BOUND ((size_t)64 << 20) /* queued output per peer */
#define ZK_PEER_STALL_MS 30000u		    /* over the bound this long: close the link */

/* Caps of the application messages (zk_peer_decode_app refuses more, zk_peer_encode_app too) */
#define ZK_PEER_PASSWD_LEN 16u		    /* a Forward's session password: 0 or 16 bytes */
#define ZK_PEER_MAX_IDS 16u		    /* identities of a Forward */
#define ZK_PEER_MAX_ID_LEN (1u << 20)	    /* bytes of one identity's scheme or id: a digest id from
						       the largest default request (jute.maxbuffer) fits */
#define ZK_PEER_MAX_TOUCH 65536u	    /* sessions of one Touch (senders split larger sets) */
#define ZK_PEER_MAX_FIELDS 64u		    /* non-repeated fields of one message (protobuf-c keeps each) */

struct zk_peer_addr {
	uint64_t id;
	char host[256];
	int port;
}; /* server.N host and peerPort */

enum zk_peer_kind {
	ZK_PEER_RAFT = 1,
	ZK_PEER_FORWARD = 2,
	ZK_PEER_TOUCH = 3,
	ZK_PEER_SYNC = 4,
	ZK_PEER_SYNC_RESP = 5,
	ZK_PEER_FORWARD_NACK = 6
};

/* An application message other than RAFT: opaque bytes the coordinator encodes itself. */
struct zk_peer_cbs {
	/* A RAFT message whose from matches the sender's HELLO; m is valid during the call only. */
	void (*raft)(const struct raft_msg *m, void *arg);
	/* An application message; p is valid during the call only. */
	void (*app)(uint64_t from, enum zk_peer_kind kind, const uint8_t *p, size_t len, void *arg);
	/* Optional: the outbound link to id came up (TCP connected, HELLO queued) or went down.
	 * Not called for links closed by zk_peer_set_peers() or zk_peer_free(). */
	void (*up)(uint64_t id, bool connected, void *arg);
};

struct zk_peer;

/*
 * Listens on listen_host:listen_port (the own server.N line's peerPort; host "" or "0.0.0.0":
 * every address; port 0: ephemeral, see zk_peer_listen_port) and starts connecting to every
 * server in addrs other than self (addrs may hold the own line; it is skipped). cbs and addrs
 * are copied; arg is passed to every callback. 0 with *out set, or an ERR_* with text in eb
 * (ERR_IO: cannot listen; ERR_INVAL: self 0 or a bad addrs entry; ERR_NOMEM).
 */
int zk_peer_new(struct event_base *base, uint64_t self, const char *listen_host, int listen_port,
		const struct zk_peer_addr *addrs, size_t n, const struct zk_peer_cbs *cbs, void *arg,
		struct zk_peer **out, char *eb, size_t el);
/* Closes the listener and every connection (see the top comment). NULL ok. */
void zk_peer_free(struct zk_peer *p);
/* sslQuorum: from now on inbound links are TLS with server (which must require a trusted client
 * certificate), outbound links TLS with client (which shows this server's certificate and
 * verifies the peer's); with verify_host a peer's certificate must also name the host of its
 * server.N line, both ways. Both contexts are owned by p from now on. Call it right after
 * zk_peer_new, before the loop runs (no link is up before then). */
struct tls_ctx;
void zk_peer_set_tls(struct zk_peer *p, struct tls_ctx *server, struct tls_ctx *client, bool verify_host);

/* Replaces the peer list (membership change): new peers get connections, removed ones are
 * closed, a peer whose host or port changed is reconnected, the others are kept as they are.
 * 0, ERR_INVAL (id 0, duplicate id, empty host, bad port: nothing changed) or ERR_NOMEM. */
int zk_peer_set_peers(struct zk_peer *p, const struct zk_peer_addr *addrs, size_t n);

/*
 * Encodes m as a samsa.quorum.RaftMessage (version 1) and queues it to m->to. m stays the
 * caller's. Returns 0, or ERR_CLOSED if that peer is not connected right now (the message is
 * dropped: Raft retries), ERR_NOTFOUND for an unknown id, ERR_FULL when the output to that
 * peer is over its bound (also dropped), ERR_TOOBIG over ZK_PEER_MAX_FRAME, ERR_NOMEM.
 */
int zk_peer_send_raft(struct zk_peer *p, const struct raft_msg *m);
/* The same for an application message (kind != ZK_PEER_RAFT: ERR_INVAL); data is copied. */
int zk_peer_send_app(struct zk_peer *p, uint64_t to, enum zk_peer_kind kind, const void *data, size_t len);
/* Whether the outbound link to id is up. */
bool zk_peer_connected(const struct zk_peer *p, uint64_t id);
int zk_peer_listen_port(const struct zk_peer *p);

/* Test knobs (hidden): the per-peer output bound and the stall time before a link over it is
 * closed; 0 keeps a value. Applies to later sends. */
void zk_peer_set_limits(struct zk_peer *p, size_t out_bound, uint32_t stall_ms);

/* Pure conversions, also used by tests and the fuzz harness. */
/* Appends the protobuf bytes of m as a RaftMessage to out. 0, or out's error (ERR_NOMEM,
 * ERR_TOOBIG), or ERR_INVAL for a message type out of range or over ZK_PEER_MAX_ENTRIES. */
int zk_peer_encode_raft(const struct raft_msg *m, struct wbuf *out);
/* Decodes into m (overwritten; the caller's previous contents are not freed). On success m
 * owns its entries, their data and snap_data: free with raft_msg_clear(). On failure m is
 * zeroed: ERR_CORRUPT on bad bytes (malformed protobuf, a type or entry type out of range,
 * too many entries or servers), ERR_VERSION on version != 1, ERR_NOMEM. */
int zk_peer_decode_raft(const uint8_t *p, size_t len, struct raft_msg *m);

/* What a Forward asks the leader to do (Forward.kind). */
enum zk_peer_fwd_kind { ZK_PEER_FWD_WRITE = 1, ZK_PEER_FWD_CREATE = 2, ZK_PEER_FWD_CLOSE = 3 };

/* One identity of a forwarding follower's client connection, for the leader's ACL checks. */
struct zk_peer_auth_id {
	const char *scheme;
	const char *id;
};

/*
 * An application message, decoded (value type; what its pointers point to is the decoder's,
 * or the caller's when encoding). Which fields count depends on kind:
 *   ZK_PEER_FORWARD       session, fwd_kind, timeout, passwd/passwd_len, ids/n_ids, request
 *   ZK_PEER_TOUCH         sessions/n_sessions
 *   ZK_PEER_SYNC          session, xid (a follower asks the leader for a sync)
 *   ZK_PEER_SYNC_RESP     session, xid, zxid (the leader's last zxid at the sync)
 *   ZK_PEER_FORWARD_NACK  session (the leader cannot take that session's request now)
 */
struct zk_peer_app {
	enum zk_peer_kind kind;
	int64_t session;
	int32_t xid;
	int64_t zxid;
	enum zk_peer_fwd_kind fwd_kind;
	int32_t timeout; /* FWD_CREATE: the negotiated session timeout, ms */
	uint8_t passwd[ZK_PEER_PASSWD_LEN];
	size_t passwd_len; /* 0 or ZK_PEER_PASSWD_LEN; FWD_CREATE needs ZK_PEER_PASSWD_LEN */
	struct zk_peer_auth_id ids[ZK_PEER_MAX_IDS];
	size_t n_ids;
	const uint8_t *request; /* FWD_WRITE, FWD_CLOSE: the client's jute request (xid, type, body) */
	size_t request_len;
	const int64_t *sessions;
	size_t n_sessions;
	void *priv; /* decoder's storage; NULL when encoding */
};

/* Appends the protobuf bytes of a (its kind's message) to out. 0, out's error (ERR_NOMEM,
 * ERR_TOOBIG), or ERR_INVAL for a kind that is not an application message or a field over its
 * cap (ids, id lengths, sessions, a passwd length other than 0/16, a forward kind out of range,
 * FWD_CREATE without a password). a stays the caller's. */
int zk_peer_encode_app(const struct zk_peer_app *a, struct wbuf *out);
/* Decodes len bytes of an application message of this kind into *a (overwritten). On success
 * a's strings, request and sessions point into storage a owns: release with
 * zk_peer_app_clear(). On failure a is cleared: ERR_CORRUPT for bad bytes (malformed protobuf,
 * a cap exceeded: checked before anything is allocated for it, a value out of range, as for
 * encoding), ERR_INVAL for a kind that is not an application message, ERR_NOMEM. */
int zk_peer_decode_app(enum zk_peer_kind kind, const uint8_t *p, size_t len, struct zk_peer_app *a);
/* Releases what zk_peer_decode_app gave a and zeroes it. NULL and cleared structs are fine. */
void zk_peer_app_clear(struct zk_peer_app *a);
/* Encodes a and queues it to peer `to` (zk_peer_send_app's returns, ERR_INVAL as encoding). */
int zk_peer_send_msg(struct zk_peer *p, uint64_t to, const struct zk_peer_app *a);

#endif

/*
 * zk_peer — the peer transport of the ensemble (see zk_peer.h): the RaftMessage codec, the
 * codec of the coordinator's own messages (Forward, Touch, Sync, Nack), the HELLO handshake,
 * outbound links with reconnect and backoff, inbound connections. Every byte a peer sends is
 * decoded here, nowhere else.
 *
 * Outbound link states (one link per other server of the peer list):
 *
 *   DOWN --retry timer--> CONNECTING --connected--> UP
 *     ^                        |                     |
 *     +----- failed / timeout -+----- closed --------+
 *
 *   DOWN:       no socket; the retry timer is armed (backoff_ms, 50 ms doubling to 1 s).
 *   CONNECTING: fd is a non-blocking socket with connect() in progress, conn_ev waits for it.
 *   UP:         c is the net_conn; our HELLO is its first frame; backoff_ms is back at 50.
 * A link leaves the list (zk_peer_set_peers, zk_peer_free) by being detached: its net_conn
 * gets a NULL arg (its closed callback then does nothing) and is closed; the link is freed.
 *
 * Inbound connections: the first frame must be a HELLO (else the connection is closed); after
 * it every frame is a RAFT or application message from that id. A HELLO with another protocol
 * version is answered with our HELLO and the connection closed after the flush.
 */
#include "zk_peer.h"

#include "buf.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "quorum.pb-c.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const ZK_PEER_MOD = "zk_peer";

#define ZK_PEER_KIND_HELLO 0
#define ZK_PEER_HELLO_LEN 13 /* kind + u64 id + u32 version */
#define ZK_PEER_BACKOFF_MIN_MS 50u
#define ZK_PEER_BACKOFF_MAX_MS 1000u
#define ZK_PEER_CONNECT_TIMEOUT_MS 3000u
#define ZK_PEER_SCRATCH_KEEP (1u << 20) /* scratch buffer kept between sends up to this */

enum zk_peer_link_state { ZK_PEER_DOWN, ZK_PEER_CONNECTING, ZK_PEER_UP, ZK_PEER_LINK_STATE_COUNT };

static const char *const zk_peer_link_state_names[ZK_PEER_LINK_STATE_COUNT] = {
	[ZK_PEER_DOWN] = "down",
	[ZK_PEER_CONNECTING] = "connecting",
	[ZK_PEER_UP] = "up",
};

struct zk_peer_link {
	struct zk_peer *p;
	struct zk_peer_addr addr;
	enum zk_peer_link_state state;
	struct net_conn *c;	     /* UP only */
	evutil_socket_t fd;	     /* CONNECTING only, else -1 */
	struct event *conn_ev;	     /* CONNECTING only */
	struct net_timer *retry;     /* armed while DOWN */
	uint32_t backoff_ms;	     /* the next retry delay */
	uint32_t failures;	     /* connect failures since the last UP (log the first only) */
	bool full;		     /* output seen over the bound since full_since_ms */
	uint64_t full_since_ms;
	struct zk_peer_link *next;
};

struct zk_peer_in {
	struct zk_peer *p;
	struct net_conn *c;
	uint64_t id; /* once hello */
	bool hello;
	struct zk_peer_in *prev, *next;
};

struct zk_peer {
	struct event_base *base;
	uint64_t self;
	struct zk_peer_cbs cbs;
	void *arg;
	struct net_listener *listener;
	struct zk_peer_link *links;
	struct zk_peer_in *ins;
	size_t out_bound;
	uint32_t stall_ms;
	struct wbuf scratch; /* frame being encoded */
	/* sslQuorum (zk_peer_set_tls): inbound links accept TLS requiring a trusted certificate,
	 * outbound links connect over TLS showing ours; NULL: plaintext */
	struct tls_ctx *tls_server, *tls_client;
	bool tls_verify_host; /* a peer's certificate must name its server.N host */
};

/* ---- RaftMessage codec ------------------------------------------------------------------ */

/*
 * Bounds the decoders' memory before protobuf-c allocates anything: protobuf-c keeps a record of
 * every field it scans and an allocation per sub-message and unknown field, so a frame of tiny
 * fields would cost many times its size. This walks the wire format of a message and its
 * nested messages and caps the non-repeated fields per message (ZK_PEER_MAX_FIELDS), the
 * entries (ZK_PEER_MAX_ENTRIES), the servers of the snapshot's configuration
 * (RAFT_MAX_SERVERS, over all merged occurrences), a Forward's identities (ZK_PEER_MAX_IDS) and
 * their strings (ZK_PEER_MAX_ID_LEN), and a Touch's sessions (ZK_PEER_MAX_TOUCH, packed or not).
 */
enum zk_peer_pb {
	ZK_PEER_PB_RAFT,
	ZK_PEER_PB_ENTRY,
	ZK_PEER_PB_SNAP,
	ZK_PEER_PB_CONFIG,
	ZK_PEER_PB_SERVER,
	ZK_PEER_PB_FORWARD,
	ZK_PEER_PB_AUTHID,
	ZK_PEER_PB_TOUCH,
	ZK_PEER_PB_SYNC,
	ZK_PEER_PB_NACK
};

struct zk_peer_scan {
	size_t entries;
	size_t servers;
	size_t ids;
	size_t sessions;
};

static int zk_peer_pb_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (*pos >= len)
			return ERR_CORRUPT;
		uint8_t b = p[(*pos)++];
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return ERR_CORRUPT;
}

static int zk_peer_pb_child(enum zk_peer_pb msg, uint64_t field)
{
	if (msg == ZK_PEER_PB_RAFT && field == 12)
		return ZK_PEER_PB_ENTRY;
	if (msg == ZK_PEER_PB_RAFT && field == 19)
		return ZK_PEER_PB_SNAP;
	if (msg == ZK_PEER_PB_SNAP && field == 3)
		return ZK_PEER_PB_CONFIG;
	if (msg == ZK_PEER_PB_CONFIG && field == 1)
		return ZK_PEER_PB_SERVER;
	if (msg == ZK_PEER_PB_FORWARD && field == 5)
		return ZK_PEER_PB_AUTHID;
	return -1;
}

/* A Touch's packed sessions: count the varints (each one session). */
static int zk_peer_prescan_packed(const uint8_t *p, size_t len, struct zk_peer_scan *s)
{
	size_t pos = 0;
	while (pos < len) {
		uint64_t v;
		if (zk_peer_pb_varint(p, len, &pos, &v) || ++s->sessions > ZK_PEER_MAX_TOUCH)
			return ERR_CORRUPT;
	}
	return 0;
}

static int zk_peer_prescan(const uint8_t *p, size_t len, enum zk_peer_pb msg, struct zk_peer_scan *s)
{
	size_t pos = 0, nfields = 0;
	while (pos < len) {
		uint64_t key, v;
		if (zk_peer_pb_varint(p, len, &pos, &key))
			return ERR_CORRUPT;
		uint64_t field = key >> 3;
		/* the repeated fields (entries, servers, ids, sessions) have their own caps */
		bool repeated = ((key & 7) == 2 && ((msg == ZK_PEER_PB_RAFT && field == 12) ||
						    (msg == ZK_PEER_PB_CONFIG && field == 1) ||
						    (msg == ZK_PEER_PB_FORWARD && field == 5))) ||
				(msg == ZK_PEER_PB_TOUCH && field == 1);
		if (field == 0 || (!repeated && ++nfields > ZK_PEER_MAX_FIELDS))
			return ERR_CORRUPT;
		switch (key & 7) {
		case 0:
			if (zk_peer_pb_varint(p, len, &pos, &v))
				return ERR_CORRUPT;
			if (msg == ZK_PEER_PB_TOUCH && field == 1 && ++s->sessions > ZK_PEER_MAX_TOUCH)
				return ERR_CORRUPT;
			break;
		case 1:
			if (len - pos < 8)
				return ERR_CORRUPT;
			pos += 8;
			break;
		case 5:
			if (len - pos < 4)
				return ERR_CORRUPT;
			pos += 4;
			break;
		case 2: {
			if (zk_peer_pb_varint(p, len, &pos, &v) || v > len - pos)
				return ERR_CORRUPT;
			int child = zk_peer_pb_child(msg, field);
			if (child == ZK_PEER_PB_ENTRY && ++s->entries > ZK_PEER_MAX_ENTRIES)
				return ERR_CORRUPT;
			if (child == ZK_PEER_PB_SERVER && ++s->servers > RAFT_MAX_SERVERS)
				return ERR_CORRUPT;
			if (child == ZK_PEER_PB_AUTHID && ++s->ids > ZK_PEER_MAX_IDS)
				return ERR_CORRUPT;
			if (msg == ZK_PEER_PB_AUTHID && v > ZK_PEER_MAX_ID_LEN)
				return ERR_CORRUPT;
			if (msg == ZK_PEER_PB_TOUCH && field == 1 && zk_peer_prescan_packed(p + pos, (size_t)v, s))
				return ERR_CORRUPT;
			if (child >= 0 && zk_peer_prescan(p + pos, (size_t)v, (enum zk_peer_pb)child, s))
				return ERR_CORRUPT;
			pos += (size_t)v;
			break;
		}
		default: /* groups (3, 4) are not proto3; 6, 7 do not exist */
			return ERR_CORRUPT;
		}
	}
	return 0;
}

int zk_peer_encode_raft(const struct raft_msg *m, struct wbuf *out)
{
	Samsa__Quorum__RaftMessage pb = SAMSA__QUORUM__RAFT_MESSAGE__INIT;
	Samsa__Quorum__SnapshotMeta snap = SAMSA__QUORUM__SNAPSHOT_META__INIT;
	Samsa__Quorum__Config cfg = SAMSA__QUORUM__CONFIG__INIT;
	Samsa__Quorum__Server servers[RAFT_MAX_SERVERS];
	Samsa__Quorum__Server *server_ptrs[RAFT_MAX_SERVERS];
	Samsa__Quorum__Entry *ents = NULL;
	Samsa__Quorum__Entry **ent_ptrs = NULL;
	int rc = 0;

	if ((unsigned)m->type >= RAFT_MSG_TYPE_COUNT || m->n_entries > ZK_PEER_MAX_ENTRIES ||
	    m->snap.config.n > RAFT_MAX_SERVERS)
		return ERR_INVAL;
	pb.version = ZK_PEER_RAFT_VERSION;
	pb.type = (Samsa__Quorum__MessageType)m->type;
	pb.from = m->from;
	pb.to = m->to;
	pb.term = m->term;
	pb.last_index = m->last_index;
	pb.last_term = m->last_term;
	pb.granted = m->granted;
	pb.prev_index = m->prev_index;
	pb.prev_term = m->prev_term;
	pb.commit = m->commit;
	pb.reject = m->reject;
	pb.index = m->index;
	pb.durable = m->durable;
	pb.reject_index = m->reject_index;
	pb.hint_index = m->hint_index;
	pb.hint_term = m->hint_term;
	if (m->n_entries) {
		ents = calloc(m->n_entries, sizeof(*ents));
		ent_ptrs = calloc(m->n_entries, sizeof(*ent_ptrs));
		if (!ents || !ent_ptrs) {
			rc = ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];
			samsa__quorum__entry__init(&ents[i]);
			ents[i].index = e->index;
			ents[i].term = e->term;
			ents[i].type = (Samsa__Quorum__EntryType)e->type;
			ents[i].data.data = e->len ? e->data : NULL;
			ents[i].data.len = e->len;
			ent_ptrs[i] = &ents[i];
		}
		pb.n_entries = m->n_entries;
		pb.entries = ent_ptrs;
	}
	if (m->snap.index || m->snap.term || m->snap.config.n) {
		snap.index = m->snap.index;
		snap.term = m->snap.term;
		for (uint32_t i = 0; i < m->snap.config.n; i++) {
			samsa__quorum__server__init(&servers[i]);
			servers[i].id = m->snap.config.servers[i].id;
			servers[i].voter = m->snap.config.servers[i].voter;
			server_ptrs[i] = &servers[i];
		}
		cfg.n_servers = m->snap.config.n;
		cfg.servers = server_ptrs;
		snap.config = &cfg;
		pb.snap = &snap;
	}
	pb.snap_data.data = m->snap_len ? m->snap_data : NULL;
	pb.snap_data.len = m->snap_len;

	size_t need = samsa__quorum__raft_message__get_packed_size(&pb);
	uint8_t *dst = wbuf_reserve(out, need);
	if (!dst) {
		rc = out->err ? out->err : ERR_NOMEM;
		goto out;
	}
	samsa__quorum__raft_message__pack(&pb, dst);
	out->len += need;
out:
	free(ents);
	free(ent_ptrs);
	return rc;
}

static uint8_t *zk_peer_dup(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	if (d && len)
		memcpy(d, p, len);
	return d;
}

int zk_peer_decode_raft(const uint8_t *p, size_t len, struct raft_msg *m)
{
	struct zk_peer_scan scan = { 0, 0, 0, 0 };
	Samsa__Quorum__RaftMessage *pb;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (zk_peer_prescan(p, len, ZK_PEER_PB_RAFT, &scan))
		return ERR_CORRUPT;
	pb = samsa__quorum__raft_message__unpack(NULL, len, p);
	if (!pb)
		return ERR_CORRUPT;
	if (pb->version != ZK_PEER_RAFT_VERSION) {
		rc = ERR_VERSION;
		goto out;
	}
	if ((unsigned)pb->type >= RAFT_MSG_TYPE_COUNT || pb->n_entries > ZK_PEER_MAX_ENTRIES) {
		rc = ERR_CORRUPT;
		goto out;
	}
	m->type = (enum raft_msg_type)pb->type;
	m->from = pb->from;
	m->to = pb->to;
	m->term = pb->term;
	m->last_index = pb->last_index;
	m->last_term = pb->last_term;
	m->granted = pb->granted;
	m->prev_index = pb->prev_index;
	m->prev_term = pb->prev_term;
	m->commit = pb->commit;
	m->reject = pb->reject;
	m->index = pb->index;
	m->durable = pb->durable;
	m->reject_index = pb->reject_index;
	m->hint_index = pb->hint_index;
	m->hint_term = pb->hint_term;
	if (pb->n_entries) {
		m->entries = calloc(pb->n_entries, sizeof(*m->entries));
		if (!m->entries) {
			rc = ERR_NOMEM;
			goto out;
		}
		m->n_entries = pb->n_entries;
		for (size_t i = 0; i < pb->n_entries; i++) {
			const Samsa__Quorum__Entry *e = pb->entries[i];
			if (!e || (unsigned)e->type > RAFT_ENTRY_NOOP) {
				rc = ERR_CORRUPT;
				goto out;
			}
			m->entries[i].index = e->index;
			m->entries[i].term = e->term;
			m->entries[i].type = (enum raft_entry_type)e->type;
			if (e->data.len) {
				m->entries[i].data = zk_peer_dup(e->data.data, e->data.len);
				if (!m->entries[i].data) {
					rc = ERR_NOMEM;
					goto out;
				}
				m->entries[i].len = e->data.len;
			}
		}
	}
	if (pb->snap) {
		m->snap.index = pb->snap->index;
		m->snap.term = pb->snap->term;
		const Samsa__Quorum__Config *cfg = pb->snap->config;
		if (cfg) {
			if (cfg->n_servers > RAFT_MAX_SERVERS) {
				rc = ERR_CORRUPT;
				goto out;
			}
			for (size_t i = 0; i < cfg->n_servers; i++) {
				if (!cfg->servers[i]) {
					rc = ERR_CORRUPT;
					goto out;
				}
				m->snap.config.servers[i].id = cfg->servers[i]->id;
				m->snap.config.servers[i].voter = cfg->servers[i]->voter;
			}
			m->snap.config.n = (uint32_t)cfg->n_servers;
		}
	}
	if (pb->snap_data.len) {
		m->snap_data = zk_peer_dup(pb->snap_data.data, pb->snap_data.len);
		if (!m->snap_data) {
			rc = ERR_NOMEM;
			goto out;
		}
		m->snap_len = pb->snap_data.len;
	}
out:
	samsa__quorum__raft_message__free_unpacked(pb, NULL);
	if (rc)
		raft_msg_clear(m);
	return rc;
}

/* ---- application messages: Forward, Touch, Sync, Nack ---------------------------------- */

/* The caps and ranges of an application message, the same for encoding and decoding. */
static bool zk_peer_app_valid(const struct zk_peer_app *a)
{
	switch (a->kind) {
	case ZK_PEER_FORWARD:
		if (a->fwd_kind < ZK_PEER_FWD_WRITE || a->fwd_kind > ZK_PEER_FWD_CLOSE || a->n_ids > ZK_PEER_MAX_IDS ||
		    (a->passwd_len != 0 && a->passwd_len != ZK_PEER_PASSWD_LEN) ||
		    (a->fwd_kind == ZK_PEER_FWD_CREATE && a->passwd_len != ZK_PEER_PASSWD_LEN) ||
		    (a->request_len && !a->request))
			return false;
		for (size_t i = 0; i < a->n_ids; i++)
			if (!a->ids[i].scheme || !a->ids[i].id || strlen(a->ids[i].scheme) > ZK_PEER_MAX_ID_LEN ||
			    strlen(a->ids[i].id) > ZK_PEER_MAX_ID_LEN)
				return false;
		return true;
	case ZK_PEER_TOUCH:
		return a->n_sessions <= ZK_PEER_MAX_TOUCH && (!a->n_sessions || a->sessions);
	case ZK_PEER_SYNC:
	case ZK_PEER_SYNC_RESP:
	case ZK_PEER_FORWARD_NACK:
		return true;
	default:
		return false;
	}
}

static int zk_peer_pack(const ProtobufCMessage *m, struct wbuf *out)
{
	size_t need = protobuf_c_message_get_packed_size(m);
	if (!need)
		return 0;
	uint8_t *dst = wbuf_reserve(out, need);
	if (!dst)
		return out->err ? out->err : ERR_NOMEM;
	protobuf_c_message_pack(m, dst);
	out->len += need;
	return 0;
}

int zk_peer_encode_app(const struct zk_peer_app *a, struct wbuf *out)
{
	if (!zk_peer_app_valid(a))
		return ERR_INVAL;
	switch (a->kind) {
	case ZK_PEER_FORWARD: {
		Samsa__Quorum__Forward m = SAMSA__QUORUM__FORWARD__INIT;
		Samsa__Quorum__AuthId ids[ZK_PEER_MAX_IDS], *idp[ZK_PEER_MAX_IDS];
		m.kind = (uint32_t)a->fwd_kind;
		m.session = a->session;
		m.timeout = a->timeout;
		m.passwd.data = a->passwd_len ? (uint8_t *)a->passwd : NULL;
		m.passwd.len = a->passwd_len;
		for (size_t i = 0; i < a->n_ids; i++) {
			samsa__quorum__auth_id__init(&ids[i]);
			ids[i].scheme = (char *)a->ids[i].scheme;
			ids[i].id = (char *)a->ids[i].id;
			idp[i] = &ids[i];
		}
		m.n_ids = a->n_ids;
		m.ids = a->n_ids ? idp : NULL;
		m.request.data = a->request_len ? (uint8_t *)a->request : NULL;
		m.request.len = a->request_len;
		return zk_peer_pack(&m.base, out);
	}
	case ZK_PEER_TOUCH: {
		Samsa__Quorum__Touch m = SAMSA__QUORUM__TOUCH__INIT;
		m.sessions = (int64_t *)a->sessions;
		m.n_sessions = a->n_sessions;
		return zk_peer_pack(&m.base, out);
	}
	case ZK_PEER_SYNC:
	case ZK_PEER_SYNC_RESP: {
		Samsa__Quorum__Sync m = SAMSA__QUORUM__SYNC__INIT;
		m.session = a->session;
		m.xid = a->xid;
		m.zxid = a->zxid;
		return zk_peer_pack(&m.base, out);
	}
	default: { /* ZK_PEER_FORWARD_NACK (zk_peer_app_valid refused the rest) */
		Samsa__Quorum__Nack m = SAMSA__QUORUM__NACK__INIT;
		m.session = a->session;
		return zk_peer_pack(&m.base, out);
	}
	}
}

int zk_peer_decode_app(enum zk_peer_kind kind, const uint8_t *p, size_t len, struct zk_peer_app *a)
{
	struct zk_peer_scan scan = { 0, 0, 0, 0 };
	enum zk_peer_pb msg;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	switch (kind) {
	case ZK_PEER_FORWARD:
		msg = ZK_PEER_PB_FORWARD;
		break;
	case ZK_PEER_TOUCH:
		msg = ZK_PEER_PB_TOUCH;
		break;
	case ZK_PEER_SYNC:
	case ZK_PEER_SYNC_RESP:
		msg = ZK_PEER_PB_SYNC;
		break;
	case ZK_PEER_FORWARD_NACK:
		msg = ZK_PEER_PB_NACK;
		break;
	default:
		return ERR_INVAL;
	}
	if (zk_peer_prescan(p, len, msg, &scan))
		return ERR_CORRUPT;
	a->kind = kind;
	switch (kind) {
	case ZK_PEER_FORWARD: {
		Samsa__Quorum__Forward *m = samsa__quorum__forward__unpack(NULL, len, p);
		if (!m)
			return ERR_CORRUPT;
		a->priv = m;
		if (m->kind < ZK_PEER_FWD_WRITE || m->kind > ZK_PEER_FWD_CLOSE || m->n_ids > ZK_PEER_MAX_IDS ||
		    m->passwd.len > ZK_PEER_PASSWD_LEN) {
			rc = ERR_CORRUPT;
			break;
		}
		a->fwd_kind = (enum zk_peer_fwd_kind)m->kind;
		a->session = m->session;
		a->timeout = m->timeout;
		a->passwd_len = m->passwd.len;
		if (m->passwd.len)
			memcpy(a->passwd, m->passwd.data, m->passwd.len);
		for (size_t i = 0; i < m->n_ids; i++) {
			if (!m->ids[i]) {
				rc = ERR_CORRUPT;
				break;
			}
			a->ids[i].scheme = m->ids[i]->scheme ? m->ids[i]->scheme : "";
			a->ids[i].id = m->ids[i]->id ? m->ids[i]->id : "";
		}
		a->n_ids = m->n_ids;
		a->request = m->request.len ? m->request.data : NULL;
		a->request_len = m->request.len;
		break;
	}
	case ZK_PEER_TOUCH: {
		Samsa__Quorum__Touch *m = samsa__quorum__touch__unpack(NULL, len, p);
		if (!m)
			return ERR_CORRUPT;
		a->priv = m;
		a->sessions = m->n_sessions ? m->sessions : NULL;
		a->n_sessions = m->n_sessions;
		break;
	}
	case ZK_PEER_SYNC:
	case ZK_PEER_SYNC_RESP: {
		Samsa__Quorum__Sync *m = samsa__quorum__sync__unpack(NULL, len, p);
		if (!m)
			return ERR_CORRUPT;
		a->session = m->session;
		a->xid = m->xid;
		a->zxid = m->zxid;
		samsa__quorum__sync__free_unpacked(m, NULL);
		break;
	}
	default: {
		Samsa__Quorum__Nack *m = samsa__quorum__nack__unpack(NULL, len, p);
		if (!m)
			return ERR_CORRUPT;
		a->session = m->session;
		samsa__quorum__nack__free_unpacked(m, NULL);
		break;
	}
	}
	if (!rc && !zk_peer_app_valid(a))
		rc = ERR_CORRUPT;
	if (rc)
		zk_peer_app_clear(a);
	return rc;
}

void zk_peer_app_clear(struct zk_peer_app *a)
{
	if (!a)
		return;
	if (a->priv && a->kind == ZK_PEER_FORWARD)
		samsa__quorum__forward__free_unpacked(a->priv, NULL);
	else if (a->priv && a->kind == ZK_PEER_TOUCH)
		samsa__quorum__touch__free_unpacked(a->priv, NULL);
	memset(a, 0, sizeof(*a));
}

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t zk_peer_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void zk_peer_put64(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static uint64_t zk_peer_get64(const uint8_t *p)
{
	return ((uint64_t)be32_get(p) << 32) | be32_get(p + 4);
}

/* Queues our HELLO as a whole frame. */
static int zk_peer_send_hello(struct zk_peer *p, struct net_conn *c)
{
	uint8_t f[4 + ZK_PEER_HELLO_LEN];
	be32_put(f, ZK_PEER_HELLO_LEN);
	f[4] = ZK_PEER_KIND_HELLO;
	zk_peer_put64(f + 5, p->self);
	be32_put(f + 13, ZK_PEER_PROTO_VERSION);
	return net_conn_send(c, f, sizeof(f));
}

static struct zk_peer_link *zk_peer_find(const struct zk_peer *p, uint64_t id)
{
	for (struct zk_peer_link *l = p->links; l; l = l->next)
		if (l->addr.id == id)
			return l;
	return NULL;
}

/* ---- outbound links ---------------------------------------------------------------------- */

static void zk_peer_link_set_state(struct zk_peer_link *l, enum zk_peer_link_state to, const char *why)
{
	enum zk_peer_link_state from = l->state;
	l->state = to;
	if (from == to)
		return;
	/* up and down from up are worth an INFO line; the retries of a down peer are not */
	if (to == ZK_PEER_UP || from == ZK_PEER_UP || l->failures == 1)
		log_info(ZK_PEER_MOD, "link to peer %" PRIu64 " (%s:%d): %s -> %s (%s)", l->addr.id, l->addr.host,
			 l->addr.port, zk_peer_link_state_names[from], zk_peer_link_state_names[to], why);
	else
		log_debug(ZK_PEER_MOD, "link to peer %" PRIu64 " (%s:%d): %s -> %s (%s)", l->addr.id,
			  l->addr.host, l->addr.port, zk_peer_link_state_names[from], zk_peer_link_state_names[to],
			  why);
}

/* Back to DOWN with the retry timer armed at the current backoff, which then doubles. */
static void zk_peer_link_retry(struct zk_peer_link *l, const char *why)
{
	if (l->conn_ev) {
		event_free(l->conn_ev);
		l->conn_ev = NULL;
	}
	if (l->fd >= 0) {
		evutil_closesocket(l->fd);
		l->fd = -1;
	}
	l->c = NULL;
	l->full = false;
	zk_peer_link_set_state(l, ZK_PEER_DOWN, why);
	net_timer_reset(l->retry, l->backoff_ms);
	l->backoff_ms = l->backoff_ms * 2 > ZK_PEER_BACKOFF_MAX_MS ? ZK_PEER_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static int zk_peer_link_frame(struct net_conn *c, uint8_t *f, size_t len, void *arg);
static void zk_peer_link_closed(struct net_conn *c, int err, void *arg);

/* The TCP connection is up: wrap it, say HELLO. Calls `up` last: it may free l. */
static void zk_peer_link_established(struct zk_peer_link *l)
{
	struct zk_peer *p = l->p;
	struct net_conn_opts opts = {
		.max_frame = ZK_PEER_HELLO_LEN, /* the only frame a peer sends back: its refusal */
		.out_high = p->out_bound,
		/* a backstop only: zk_peer_link_ready keeps output under out_bound + one frame */
		.out_hard = p->out_bound + ZK_PEER_MAX_FRAME + 64,
	};
	struct net_conn_cbs cbs = { .frame = zk_peer_link_frame, .closed = zk_peer_link_closed };
	evutil_socket_t fd = l->fd;

	l->fd = -1;
	if (p->tls_client) {
		/* the server must show a trusted certificate naming the host of its server.N line */
		struct ssl_st *ssl = tls_ctx_ssl(p->tls_client, p->tls_verify_host ? l->addr.host : NULL);
		if (!ssl) {
			evutil_closesocket(fd);
			l->failures++;
			zk_peer_link_retry(l, "cannot set up TLS");
			return;
		}
		l->c = net_conn_new_tls(p->base, fd, ssl, false, &opts, &cbs, l); /* owns fd and ssl */
	} else {
		l->c = net_conn_new(p->base, fd, &opts, &cbs, l); /* owns fd, also on failure */
	}
	if (!l->c) {
		l->failures++;
		zk_peer_link_retry(l, "out of memory");
		return;
	}
	if (zk_peer_send_hello(p, l->c)) {
		net_conn_close(l->c, ERR_NOMEM); /* closed callback retries */
		return;
	}
	l->failures = 0;
	l->backoff_ms = ZK_PEER_BACKOFF_MIN_MS;
	zk_peer_link_set_state(l, ZK_PEER_UP, "connected");
	if (p->cbs.up)
		p->cbs.up(l->addr.id, true, p->arg);
}

static void zk_peer_link_connected(evutil_socket_t fd, short what, void *arg)
{
	struct zk_peer_link *l = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char why[160];

	if (what & EV_TIMEOUT) {
		l->failures++;
		zk_peer_link_retry(l, "connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		soerr = errno;
	if (soerr) {
		l->failures++;
		snprintf(why, sizeof(why), "connect failed: %s", strerror(soerr));
		zk_peer_link_retry(l, why);
		return;
	}
	event_free(l->conn_ev);
	l->conn_ev = NULL;
	zk_peer_link_established(l);
}

/*
 * Starts a non-blocking connect. The name is resolved here, on the loop: peer hosts are IP
 * addresses or names in /etc/hosts in practice, and a re-resolve on every attempt follows a
 * server that moved; a slow resolver would stall the loop for that long.
 */
static void zk_peer_link_connect(struct zk_peer_link *l)
{
	struct zk_peer *p = l->p;
	struct addrinfo hints, *ai = NULL;
	char port[16], why[320];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", l->addr.port);
	zk_peer_link_set_state(l, ZK_PEER_CONNECTING, "retry timer");
	int g = getaddrinfo(l->addr.host, port, &hints, &ai);
	if (g != 0 || !ai) {
		l->failures++;
		snprintf(why, sizeof(why), "cannot resolve %s: %s", l->addr.host, gai_strerror(g));
		zk_peer_link_retry(l, why);
		return;
	}
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		freeaddrinfo(ai);
		l->failures++;
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		zk_peer_link_retry(l, why);
		return;
	}
	int r = connect(l->fd, ai->ai_addr, ai->ai_addrlen);
	int e = errno;
	freeaddrinfo(ai);
	if (r == 0) {
		zk_peer_link_established(l);
		return;
	}
	if (e != EINPROGRESS) {
		l->failures++;
		snprintf(why, sizeof(why), "connect failed: %s", strerror(e));
		zk_peer_link_retry(l, why);
		return;
	}
	struct timeval tv = { ZK_PEER_CONNECT_TIMEOUT_MS / 1000, (ZK_PEER_CONNECT_TIMEOUT_MS % 1000) * 1000 };
	l->conn_ev = event_new(p->base, l->fd, EV_WRITE, zk_peer_link_connected, l);
	if (!l->conn_ev || event_add(l->conn_ev, &tv)) {
		l->failures++;
		zk_peer_link_retry(l, "out of memory");
	}
}

static void zk_peer_link_timer(void *arg)
{
	struct zk_peer_link *l = arg;
	if (l->state == ZK_PEER_DOWN)
		zk_peer_link_connect(l);
}

/* The only frame expected on an outbound link: the HELLO of a peer refusing ours. */
static int zk_peer_link_frame(struct net_conn *c, uint8_t *f, size_t len, void *arg)
{
	struct zk_peer_link *l = arg;
	(void)c;
	if (!l)
		return 0;
	if (len == ZK_PEER_HELLO_LEN && f[0] == ZK_PEER_KIND_HELLO) {
		uint64_t id = zk_peer_get64(f + 1);
		uint32_t ver = be32_get(f + 9);
		if (ver != ZK_PEER_PROTO_VERSION)
			log_error(ZK_PEER_MOD,
				  "peer %" PRIu64 " (%s:%d, says id %" PRIu64 ") refused our HELLO: it speaks peer "
				  "protocol version %u, we speak %u",
				  l->addr.id, l->addr.host, l->addr.port, id, ver, ZK_PEER_PROTO_VERSION);
		else
			log_error(ZK_PEER_MOD,
				  "peer %" PRIu64 " (%s:%d, says id %" PRIu64 ") refused our HELLO as server %" PRIu64
				  " (duplicate server id?)",
				  l->addr.id, l->addr.host, l->addr.port, id, l->p->self);
		return 0; /* it closes after the flush */
	}
	log_warn(ZK_PEER_MOD, "unexpected frame (%zu bytes) from peer %" PRIu64 " (%s:%d) on our link; closing",
		 len, l->addr.id, l->addr.host, l->addr.port);
	return ERR_PROTO;
}

/* Calls `up` last: it may free l. */
static void zk_peer_link_closed(struct net_conn *c, int err, void *arg)
{
	struct zk_peer_link *l = arg;
	char why[96];
	(void)c;
	if (!l)
		return; /* detached: the link is gone */
	struct zk_peer *p = l->p;
	uint64_t id = l->addr.id;
	snprintf(why, sizeof(why), "connection closed: %s", err_str(err));
	l->failures = 1; /* the first retry after an UP is logged */
	zk_peer_link_retry(l, why);
	if (p->cbs.up)
		p->cbs.up(id, false, p->arg);
}

static struct zk_peer_link *zk_peer_link_new(struct zk_peer *p, const struct zk_peer_addr *a)
{
	struct zk_peer_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->p = p;
	l->addr = *a;
	l->fd = -1;
	l->state = ZK_PEER_DOWN;
	l->backoff_ms = ZK_PEER_BACKOFF_MIN_MS;
	/* the first attempt runs from the loop, never inside zk_peer_new/set_peers */
	l->retry = net_timer_new(p->base, 0, false, zk_peer_link_timer, l);
	if (!l->retry) {
		free(l);
		return NULL;
	}
	return l;
}

/* Frees l and everything it holds; its net_conn (if any) is detached and closed. */
static void zk_peer_link_free(struct zk_peer_link *l)
{
	if (!l)
		return;
	if (l->c) {
		net_conn_set_arg(l->c, NULL);
		net_conn_close(l->c, ERR_CLOSED);
	}
	if (l->conn_ev)
		event_free(l->conn_ev);
	if (l->fd >= 0)
		evutil_closesocket(l->fd);
	net_timer_free(l->retry);
	free(l);
}

/* ---- inbound connections ----------------------------------------------------------------- */

static void zk_peer_in_unlink(struct zk_peer_in *in)
{
	struct zk_peer *p = in->p;
	if (in->prev)
		in->prev->next = in->next;
	else
		p->ins = in->next;
	if (in->next)
		in->next->prev = in->prev;
	in->prev = in->next = NULL;
}

static int zk_peer_in_hello(struct zk_peer_in *in, const uint8_t *f, size_t len)
{
	struct zk_peer *p = in->p;
	const char *who = net_conn_peer(in->c);
	if (len != ZK_PEER_HELLO_LEN || f[0] != ZK_PEER_KIND_HELLO) {
		log_warn(ZK_PEER_MOD, "inbound peer connection from %s: first frame is not a HELLO (kind %u, %zu bytes); "
				      "closing", who, len ? f[0] : 0u, len);
		return ERR_PROTO;
	}
	uint64_t id = zk_peer_get64(f + 1);
	uint32_t ver = be32_get(f + 9);
	if (ver != ZK_PEER_PROTO_VERSION || id == 0 || id == p->self) {
		if (ver != ZK_PEER_PROTO_VERSION)
			log_error(ZK_PEER_MOD,
				  "refusing peer %" PRIu64 " from %s: it speaks peer protocol version %u, we speak %u",
				  id, who, ver, ZK_PEER_PROTO_VERSION);
		else
			log_error(ZK_PEER_MOD, "refusing peer from %s: it says it is server %" PRIu64
					       ", which is %s", who, id, id ? "our own id" : "not a valid id");
		/* tell it why (it logs our version), then close */
		zk_peer_send_hello(p, in->c);
		net_conn_close_after_flush(in->c);
		return 0;
	}
	for (struct zk_peer_in *o = p->ins; o; o = o->next) {
		if (o != in && o->hello && o->id == id && !net_conn_closing(o->c)) {
			/* a peer has one outbound link to us: an older one is stale (half-open) */
			log_info(ZK_PEER_MOD, "peer %" PRIu64 " reconnected from %s; closing its older connection from %s",
				 id, who, net_conn_peer(o->c));
			net_conn_close(o->c, ERR_CLOSED);
		}
	}
	if (p->tls_server && p->tls_verify_host && zk_peer_find(p, id)) {
		/* a trusted certificate is not enough: it must be server `id`'s (ZooKeeper's
		 * ssl.quorum.hostnameVerification), or any trusted host could pose as any server */
		const char *host = zk_peer_find(p, id)->addr.host;
		if (!tls_peer_names(net_conn_ssl(in->c), host)) {
			log_error(ZK_PEER_MOD, "refusing peer %" PRIu64 " from %s: its certificate does not name %s, the host of "
					       "server.%" PRIu64,
				  id, who, host, id);
			return ERR_PROTO;
		}
	}
	in->hello = true;
	in->id = id;
	if (!zk_peer_find(p, id))
		log_info(ZK_PEER_MOD, "inbound link from peer %" PRIu64 " (%s), not in our peer list", id, who);
	else
		log_debug(ZK_PEER_MOD, "inbound link from peer %" PRIu64 " (%s)", id, who);
	return 0;
}

static int zk_peer_in_frame(struct net_conn *c, uint8_t *f, size_t len, void *arg)
{
	struct zk_peer_in *in = arg;
	(void)c;
	if (!in)
		return 0;
	struct zk_peer *p = in->p;
	if (!in->hello)
		return zk_peer_in_hello(in, f, len);
	if (len < 1 || f[0] == ZK_PEER_KIND_HELLO || f[0] > ZK_PEER_FORWARD_NACK) {
		log_warn(ZK_PEER_MOD, "malformed frame from peer %" PRIu64 " (%s): kind %u, %zu bytes; closing",
			 in->id, net_conn_peer(in->c), len ? f[0] : 0u, len);
		return ERR_PROTO;
	}
	if (f[0] != ZK_PEER_RAFT) {
		if (p->cbs.app)
			p->cbs.app(in->id, (enum zk_peer_kind)f[0], f + 1, len - 1, p->arg);
		return 0;
	}
	struct raft_msg m;
	int rc = zk_peer_decode_raft(f + 1, len - 1, &m);
	if (rc) {
		log_warn(ZK_PEER_MOD, "bad RaftMessage (%zu bytes) from peer %" PRIu64 " (%s): %s; closing", len - 1,
			 in->id, net_conn_peer(in->c), err_str(rc));
		return rc;
	}
	if (m.from != in->id || m.to != p->self)
		log_warn(ZK_PEER_MOD, "dropping %s from peer %" PRIu64 " (%s) that says from %" PRIu64 " to %" PRIu64,
			 raft_msg_type_name(m.type), in->id, net_conn_peer(in->c), m.from, m.to);
	else if (p->cbs.raft)
		p->cbs.raft(&m, p->arg);
	raft_msg_clear(&m);
	return 0;
}

static void zk_peer_in_closed(struct net_conn *c, int err, void *arg)
{
	struct zk_peer_in *in = arg;
	(void)c;
	if (!in)
		return;
	if (in->hello)
		log_debug(ZK_PEER_MOD, "inbound link from peer %" PRIu64 " closed: %s", in->id, err_str(err));
	zk_peer_in_unlink(in);
	free(in);
}

static void zk_peer_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct zk_peer *p = arg;
	struct net_conn_opts opts = { .max_frame = ZK_PEER_MAX_FRAME, .out_high = 0, .out_hard = 0 };
	struct net_conn_cbs cbs = { .frame = zk_peer_in_frame, .closed = zk_peer_in_closed };
	(void)sa;
	(void)salen;
	struct zk_peer_in *in = calloc(1, sizeof(*in));
	if (!in) {
		evutil_closesocket(fd);
		return;
	}
	in->p = p;
	if (p->tls_server) {
		char why[512];
		if (tls_ctx_maybe_reload(p->tls_server, zk_peer_now_ms(), why, sizeof(why)) ||
		    tls_ctx_maybe_reload(p->tls_client, zk_peer_now_ms(), why, sizeof(why)))
			log_error(ZK_PEER_MOD, "reloading the quorum TLS material failed, keeping the old: %s", why);
		struct ssl_st *ssl = tls_ctx_ssl(p->tls_server, NULL);
		in->c = ssl ? net_conn_new_tls(p->base, fd, ssl, true, &opts, &cbs, in) : NULL;
		if (!ssl)
			evutil_closesocket(fd);
	} else {
		in->c = net_conn_new(p->base, fd, &opts, &cbs, in);
	}
	if (!in->c) {
		free(in);
		return;
	}
	in->next = p->ins;
	if (p->ins)
		p->ins->prev = in;
	p->ins = in;
}

/* ---- API --------------------------------------------------------------------------------- */

void zk_peer_set_tls(struct zk_peer *p, struct tls_ctx *server, struct tls_ctx *client, bool verify_host)
{
	p->tls_server = server;
	p->tls_client = client;
	p->tls_verify_host = verify_host;
}

static int zk_peer_check_addrs(const struct zk_peer_addr *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].id == 0 || addrs[i].port <= 0 || addrs[i].port > 65535 || !addrs[i].host[0] ||
		    !memchr(addrs[i].host, 0, sizeof(addrs[i].host)))
			return ERR_INVAL;
		for (size_t j = 0; j < i; j++)
			if (addrs[j].id == addrs[i].id)
				return ERR_INVAL;
	}
	return 0;
}

int zk_peer_set_peers(struct zk_peer *p, const struct zk_peer_addr *addrs, size_t n)
{
	if (zk_peer_check_addrs(addrs, n))
		return ERR_INVAL;
	/* drop the links that are gone or moved */
	struct zk_peer_link **pl = &p->links;
	while (*pl) {
		struct zk_peer_link *l = *pl;
		const struct zk_peer_addr *a = NULL;
		for (size_t i = 0; i < n; i++)
			if (addrs[i].id == l->addr.id)
				a = &addrs[i];
		if (a && a->port == l->addr.port && strcmp(a->host, l->addr.host) == 0) {
			pl = &l->next;
			continue;
		}
		log_info(ZK_PEER_MOD, "peer %" PRIu64 " (%s:%d) %s", l->addr.id, l->addr.host, l->addr.port,
			 a ? "moved: reconnecting" : "left the peer list: closing its link");
		*pl = l->next;
		zk_peer_link_free(l);
	}
	/* add the new ones */
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].id == p->self || zk_peer_find(p, addrs[i].id))
			continue;
		struct zk_peer_link *l = zk_peer_link_new(p, &addrs[i]);
		if (!l) {
			rc = ERR_NOMEM;
			continue;
		}
		l->next = p->links;
		p->links = l;
	}
	return rc;
}

int zk_peer_new(struct event_base *base, uint64_t self, const char *listen_host, int listen_port,
		const struct zk_peer_addr *addrs, size_t n, const struct zk_peer_cbs *cbs, void *arg,
		struct zk_peer **out, char *eb, size_t el)
{
	*out = NULL;
	if (self == 0)
		return err_set(eb, el, ERR_INVAL, "peer transport: server id 0");
	if (zk_peer_check_addrs(addrs, n))
		return err_set(eb, el, ERR_INVAL, "peer transport: bad peer list (id 0, duplicate id, empty host or "
						  "bad port)");
	struct zk_peer *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(eb, el, ERR_NOMEM, "peer transport: out of memory");
	p->base = base;
	p->self = self;
	p->cbs = *cbs;
	p->arg = arg;
	p->out_bound = ZK_PEER_OUT_BOUND;
	p->stall_ms = ZK_PEER_STALL_MS;
	wbuf_init(&p->scratch, (size_t)ZK_PEER_MAX_FRAME + 4);
	int rc = net_listen(base, listen_host, listen_port, 64, zk_peer_accept, p, &p->listener, eb, el);
	if (rc) {
		err_wrap(eb, el, "peer port: ");
		zk_peer_free(p);
		return rc;
	}
	rc = zk_peer_set_peers(p, addrs, n);
	if (rc) {
		zk_peer_free(p);
		return err_set(eb, el, rc, "peer transport: %s", err_str(rc));
	}
	log_info(ZK_PEER_MOD, "server %" PRIu64 " listening for peers on %s:%d", self,
		 listen_host && *listen_host ? listen_host : "0.0.0.0", net_listener_port(p->listener));
	*out = p;
	return 0;
}

void zk_peer_free(struct zk_peer *p)
{
	if (!p)
		return;
	net_listener_free(p->listener);
	while (p->links) {
		struct zk_peer_link *l = p->links;
		p->links = l->next;
		zk_peer_link_free(l);
	}
	while (p->ins) {
		struct zk_peer_in *in = p->ins;
		zk_peer_in_unlink(in);
		net_conn_set_arg(in->c, NULL);
		net_conn_close(in->c, ERR_CLOSED);
		free(in);
	}
	wbuf_free(&p->scratch);
	tls_ctx_free(p->tls_server);
	tls_ctx_free(p->tls_client);
	free(p);
}

void zk_peer_set_limits(struct zk_peer *p, size_t out_bound, uint32_t stall_ms)
{
	if (out_bound)
		p->out_bound = out_bound;
	if (stall_ms)
		p->stall_ms = stall_ms;
}

/*
 * The link a message to id goes on, if it may take one now. Over the output bound the message
 * is dropped (ERR_FULL); a link that stays over it for stall_ms belongs to a peer that stopped
 * reading and is closed (it reconnects, the queued output is freed).
 */
static int zk_peer_link_ready(struct zk_peer *p, uint64_t id, struct zk_peer_link **out)
{
	struct zk_peer_link *l = zk_peer_find(p, id);
	*out = NULL;
	if (!l)
		return ERR_NOTFOUND;
	if (l->state != ZK_PEER_UP || !l->c || net_conn_closing(l->c))
		return ERR_CLOSED;
	size_t queued = net_conn_output_len(l->c);
	if (queued <= p->out_bound) {
		l->full = false;
		*out = l;
		return 0;
	}
	uint64_t now = zk_peer_now_ms();
	if (!l->full) {
		l->full = true;
		l->full_since_ms = now;
	} else if (now - l->full_since_ms >= p->stall_ms) {
		log_warn(ZK_PEER_MOD, "output to peer %" PRIu64 " (%s:%d) is %zu bytes, over the bound of %zu for %" PRIu64
				      " ms: closing the link",
			 id, l->addr.host, l->addr.port, queued, p->out_bound, now - l->full_since_ms);
		net_conn_close(l->c, ERR_FULL);
	}
	return ERR_FULL;
}

/* Sends the frame in p->scratch (length prefix at 0 still to fill) on l. */
static int zk_peer_flush_scratch(struct zk_peer *p, struct zk_peer_link *l)
{
	int rc = p->scratch.err;
	if (!rc) {
		wbuf_put_i32_at(&p->scratch, 0, (int32_t)(p->scratch.len - 4));
		rc = net_conn_send(l->c, p->scratch.p, p->scratch.len);
	} else if (rc == ERR_TOOBIG) {
		log_warn(ZK_PEER_MOD, "message to peer %" PRIu64 " is over the frame maximum of %u bytes; dropped",
			 l->addr.id, ZK_PEER_MAX_FRAME);
	}
	if (p->scratch.cap > ZK_PEER_SCRATCH_KEEP)
		wbuf_free(&p->scratch);
	wbuf_reset(&p->scratch);
	return rc;
}

int zk_peer_send_raft(struct zk_peer *p, const struct raft_msg *m)
{
	struct zk_peer_link *l;
	int rc = zk_peer_link_ready(p, m->to, &l);
	if (rc)
		return rc;
	wbuf_reset(&p->scratch);
	wbuf_u32(&p->scratch, 0);
	wbuf_u8(&p->scratch, ZK_PEER_RAFT);
	rc = zk_peer_encode_raft(m, &p->scratch);
	if (rc && !p->scratch.err) {
		wbuf_reset(&p->scratch);
		return rc;
	}
	return zk_peer_flush_scratch(p, l);
}

int zk_peer_send_app(struct zk_peer *p, uint64_t to, enum zk_peer_kind kind, const void *data, size_t len)
{
	struct zk_peer_link *l;
	if (kind < ZK_PEER_FORWARD || kind > ZK_PEER_FORWARD_NACK || (len && !data))
		return ERR_INVAL;
	int rc = zk_peer_link_ready(p, to, &l);
	if (rc)
		return rc;
	wbuf_reset(&p->scratch);
	wbuf_u32(&p->scratch, 0);
	wbuf_u8(&p->scratch, (uint8_t)kind);
	if (len)
		wbuf_raw(&p->scratch, data, len);
	return zk_peer_flush_scratch(p, l);
}

int zk_peer_send_msg(struct zk_peer *p, uint64_t to, const struct zk_peer_app *a)
{
	struct zk_peer_link *l;
	if (!zk_peer_app_valid(a))
		return ERR_INVAL;
	int rc = zk_peer_link_ready(p, to, &l);
	if (rc)
		return rc;
	wbuf_reset(&p->scratch);
	wbuf_u32(&p->scratch, 0);
	wbuf_u8(&p->scratch, (uint8_t)a->kind);
	rc = zk_peer_encode_app(a, &p->scratch);
	if (rc && !p->scratch.err) {
		wbuf_reset(&p->scratch);
		return rc;
	}
	return zk_peer_flush_scratch(p, l);
}

bool zk_peer_connected(const struct zk_peer *p, uint64_t id)
{
	const struct zk_peer_link *l = zk_peer_find(p, id);
	return l && l->state == ZK_PEER_UP && l->c && !net_conn_closing(l->c);
}

int zk_peer_listen_port(const struct zk_peer *p)
{
	return net_listener_port(p->listener);
}

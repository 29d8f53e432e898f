/*
 * Unit tests for coord/zk_peer: the RaftMessage codec (round trip of every message type,
 * garbage, truncation, huge lengths, the caps on entries and servers, versions), the codec of
 * the application messages (Forward, Touch, Sync, Nack: round trip, every cap), and the
 * transport over real 127.0.0.1 sockets on one event_base: three peers exchanging every
 * message type and application messages, a peer that goes away and comes back, HELLO with
 * another protocol version, malformed frames and a `from` that does not match the HELLO, and
 * a peer that stops reading (bounded output, link closed after the stall time).
 *
 * With ZK_PEER_CORPUS_DIR set, the round-trip test writes its encodings there as the seed
 * corpus of tests/fuzz/fuzz_peer.c (tests/fuzz/corpus/peer/).
 */
#include "buf.h"
#include "err.h"
#include "log.h"
#include "raft.h"
#include "zk_peer.h"

#include "check_main.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- loop helpers ---- */

#include "loop_helpers.h"

/* ---- sample messages ---- */

static uint8_t big_snap[4u << 20];
static uint8_t normal_data[] = "create /a";
static uint8_t config_data[256];
static struct raft_entry sample_entries[3];

static void fill_big_snap(void)
{
	for (size_t i = 0; i < sizeof(big_snap); i++)
		big_snap[i] = (uint8_t)(i * 31u + (i >> 12));
}

/* A message of type t with every field of that type set to something recognizable. The
 * entries and snapshot data point at static buffers: never raft_msg_clear() a sample. */
static struct raft_msg sample(enum raft_msg_type t, uint64_t from, uint64_t to, size_t snap_len)
{
	struct raft_msg m;
	memset(&m, 0, sizeof(m));
	m.type = t;
	m.from = from;
	m.to = to;
	m.term = 7 + (uint64_t)t;
	switch (t) {
	case RAFT_MSG_PREVOTE_REQ:
	case RAFT_MSG_VOTE_REQ:
		m.last_index = 1000 + from;
		m.last_term = 6;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		m.granted = t == RAFT_MSG_VOTE_RESP;
		break;
	case RAFT_MSG_APPEND_REQ: {
		struct raft_config cfg = { .n = 3 };
		for (uint32_t i = 0; i < 3; i++)
			cfg.servers[i] = (struct raft_server){ .id = i + 1, .voter = i != 2 };
		size_t clen = raft_config_encode(&cfg, config_data, sizeof(config_data));
		ck_assert_uint_le(clen, sizeof(config_data));
		sample_entries[0] = (struct raft_entry){ 41, 7, RAFT_ENTRY_NORMAL, normal_data, sizeof(normal_data) };
		sample_entries[1] = (struct raft_entry){ 42, 7, RAFT_ENTRY_CONFIG, config_data, clen };
		sample_entries[2] = (struct raft_entry){ 43, 11, RAFT_ENTRY_NOOP, NULL, 0 };
		m.prev_index = 40;
		m.prev_term = 6;
		m.commit = 39;
		m.entries = sample_entries;
		m.n_entries = 3;
		break;
	}
	case RAFT_MSG_APPEND_RESP:
		m.reject = true;
		m.index = 0;
		m.reject_index = 40;
		m.hint_index = 33;
		m.hint_term = 5;
		break;
	case RAFT_MSG_SNAPSHOT_REQ:
		m.commit = 5000;
		m.snap.index = 4999;
		m.snap.term = 9;
		m.snap.config.n = 4;
		for (uint32_t i = 0; i < 4; i++)
			m.snap.config.servers[i] = (struct raft_server){ .id = 10 + i, .voter = i < 3 };
		m.snap_data = big_snap;
		m.snap_len = snap_len;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m.index = 4999;
		m.durable = 4999;
		break;
	default:
		break;
	}
	return m;
}

static void assert_msg_eq(const struct raft_msg *a, const struct raft_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	ck_assert_uint_eq(a->from, b->from);
	ck_assert_uint_eq(a->to, b->to);
	ck_assert_uint_eq(a->term, b->term);
	ck_assert_uint_eq(a->last_index, b->last_index);
	ck_assert_uint_eq(a->last_term, b->last_term);
	ck_assert_int_eq(a->granted, b->granted);
	ck_assert_uint_eq(a->prev_index, b->prev_index);
	ck_assert_uint_eq(a->prev_term, b->prev_term);
	ck_assert_uint_eq(a->commit, b->commit);
	ck_assert_int_eq(a->reject, b->reject);
	ck_assert_uint_eq(a->index, b->index);
	ck_assert_uint_eq(a->durable, b->durable);
	ck_assert_uint_eq(a->reject_index, b->reject_index);
	ck_assert_uint_eq(a->hint_index, b->hint_index);
	ck_assert_uint_eq(a->hint_term, b->hint_term);
	ck_assert_uint_eq(a->n_entries, b->n_entries);
	for (size_t i = 0; i < a->n_entries; i++) {
		ck_assert_uint_eq(a->entries[i].index, b->entries[i].index);
		ck_assert_uint_eq(a->entries[i].term, b->entries[i].term);
		ck_assert_int_eq(a->entries[i].type, b->entries[i].type);
		ck_assert_uint_eq(a->entries[i].len, b->entries[i].len);
		if (a->entries[i].len)
			ck_assert_int_eq(memcmp(a->entries[i].data, b->entries[i].data, a->entries[i].len), 0);
	}
	ck_assert_uint_eq(a->snap.index, b->snap.index);
	ck_assert_uint_eq(a->snap.term, b->snap.term);
	ck_assert_uint_eq(a->snap.config.n, b->snap.config.n);
	for (uint32_t i = 0; i < a->snap.config.n; i++) {
		ck_assert_uint_eq(a->snap.config.servers[i].id, b->snap.config.servers[i].id);
		ck_assert_int_eq(a->snap.config.servers[i].voter, b->snap.config.servers[i].voter);
	}
	ck_assert_uint_eq(a->snap_len, b->snap_len);
	if (a->snap_len)
		ck_assert_int_eq(memcmp(a->snap_data, b->snap_data, a->snap_len), 0);
}

static void write_corpus(const char *name, const void *p, size_t len)
{
	const char *dir = getenv("ZK_PEER_CORPUS_DIR");
	char path[512];
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	fclose(f);
}

/* ---- codec ---- */

START_TEST(test_roundtrip_every_type)
{
	fill_big_snap();
	for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
		struct raft_msg m = sample((enum raft_msg_type)t, 1, 2, 300), d;
		struct wbuf w;
		char name[64];
		wbuf_init(&w, 1u << 20);
		ck_assert_int_eq(zk_peer_encode_raft(&m, &w), 0);
		ck_assert_int_eq(zk_peer_decode_raft(w.p, w.len, &d), 0);
		assert_msg_eq(&m, &d);
		snprintf(name, sizeof(name), "msg_%s", raft_msg_type_name((enum raft_msg_type)t));
		write_corpus(name, w.p, w.len);
		raft_msg_clear(&d);
		wbuf_free(&w);
	}
	/* all zero but the type and version: proto3 omits every field */
	struct raft_msg z, d;
	struct wbuf w;
	memset(&z, 0, sizeof(z));
	z.type = RAFT_MSG_VOTE_RESP;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(zk_peer_encode_raft(&z, &w), 0);
	ck_assert_int_eq(zk_peer_decode_raft(w.p, w.len, &d), 0);
	assert_msg_eq(&z, &d);
	raft_msg_clear(&d);
	/* extreme values */
	z.type = RAFT_MSG_APPEND_REQ;
	z.from = z.to = z.term = z.commit = UINT64_MAX;
	wbuf_reset(&w);
	ck_assert_int_eq(zk_peer_encode_raft(&z, &w), 0);
	ck_assert_int_eq(zk_peer_decode_raft(w.p, w.len, &d), 0);
	assert_msg_eq(&z, &d);
	write_corpus("msg_extreme", w.p, w.len);
	raft_msg_clear(&d);
	/* bad inputs to the encoder */
	z.type = RAFT_MSG_TYPE_COUNT;
	ck_assert_int_eq(zk_peer_encode_raft(&z, &w), ERR_INVAL);
	z.type = RAFT_MSG_SNAPSHOT_REQ;
	z.snap.config.n = RAFT_MAX_SERVERS + 1;
	ck_assert_int_eq(zk_peer_encode_raft(&z, &w), ERR_INVAL);
	/* a bound too small for the message */
	struct raft_msg s = sample(RAFT_MSG_SNAPSHOT_REQ, 1, 2, 4096);
	struct wbuf small;
	wbuf_init(&small, 100);
	ck_assert_int_eq(zk_peer_encode_raft(&s, &small), ERR_TOOBIG);
	wbuf_free(&small);
	wbuf_free(&w);
}
END_TEST

static int decode_rc(const uint8_t *p, size_t len)
{
	struct raft_msg m;
	int rc = zk_peer_decode_raft(p, len, &m);
	if (rc == 0)
		raft_msg_clear(&m);
	else
		ck_assert_uint_eq(m.n_entries, 0); /* zeroed on failure */
	return rc;
}

START_TEST(test_decode_bad)
{
	/* versions */
	static const uint8_t v2[] = { 0x08, 0x02 };
	ck_assert_int_eq(decode_rc(v2, sizeof(v2)), ERR_VERSION);
	ck_assert_int_eq(decode_rc(NULL, 0), ERR_VERSION); /* version 0 */
	/* an unknown field (a newer peer's addition) is skipped */
	static const uint8_t unknown[] = { 0x08, 0x01, 0xf8, 0x07, 0x2a, 0x18, 0x05 };
	struct raft_msg u;
	ck_assert_int_eq(zk_peer_decode_raft(unknown, sizeof(unknown), &u), 0);
	ck_assert_uint_eq(u.from, 5);
	raft_msg_clear(&u);
	/* type out of range */
	static const uint8_t t9[] = { 0x08, 0x01, 0x10, 0x09 };
	ck_assert_int_eq(decode_rc(t9, sizeof(t9)), ERR_CORRUPT);
	/* huge length of an entry, of snap_data */
	static const uint8_t huge[] = { 0x08, 0x01, 0x62, 0xff, 0xff, 0xff, 0xff, 0x0f };
	ck_assert_int_eq(decode_rc(huge, sizeof(huge)), ERR_CORRUPT);
	static const uint8_t huge2[] = { 0x08, 0x01, 0xa2, 0x01, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	ck_assert_int_eq(decode_rc(huge2, sizeof(huge2)), ERR_CORRUPT);
	/* a varint of 11 bytes */
	static const uint8_t longv[] = { 0x08, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01 };
	ck_assert_int_eq(decode_rc(longv, sizeof(longv)), ERR_CORRUPT);
	/* a group wire type */
	static const uint8_t grp[] = { 0x08, 0x01, 0x0b };
	ck_assert_int_eq(decode_rc(grp, sizeof(grp)), ERR_CORRUPT);
	/* an entry type out of range */
	static const uint8_t et[] = { 0x08, 0x01, 0x62, 0x02, 0x18, 0x05 };
	ck_assert_int_eq(decode_rc(et, sizeof(et)), ERR_CORRUPT);
	/* entries: exactly the cap decodes, one more does not */
	size_t n = ZK_PEER_MAX_ENTRIES + 1;
	uint8_t *many = malloc(2 + 2 * n);
	ck_assert_ptr_nonnull(many);
	many[0] = 0x08;
	many[1] = 0x01;
	for (size_t i = 0; i < n; i++) {
		many[2 + 2 * i] = 0x62;
		many[3 + 2 * i] = 0x00;
	}
	struct raft_msg m;
	ck_assert_int_eq(zk_peer_decode_raft(many, 2 + 2 * (n - 1), &m), 0);
	ck_assert_uint_eq(m.n_entries, ZK_PEER_MAX_ENTRIES);
	raft_msg_clear(&m);
	ck_assert_int_eq(decode_rc(many, 2 + 2 * n), ERR_CORRUPT);
	/* many tiny scalar fields: capped too */
	for (size_t i = 0; i < n; i++) {
		many[2 + 2 * i] = 0x18; /* from */
		many[3 + 2 * i] = 0x05;
	}
	ck_assert_int_eq(decode_rc(many, 2 + 2 * n), ERR_CORRUPT);
	free(many);
	/* servers of the snapshot's configuration: 16 decode, 17 do not (also split over two
	 * occurrences of snap, which protobuf merges) */
	uint8_t cfg[2 + 2 + 2 + 2 + 17 * 4];
	size_t k = 0;
	cfg[k++] = 0x08;
	cfg[k++] = 0x01;
	cfg[k++] = 0x9a; /* field 19, length-delimited */
	cfg[k++] = 0x01;
	cfg[k++] = (uint8_t)(2 + 17 * 4);
	cfg[k++] = 0x1a; /* SnapshotMeta.config */
	cfg[k++] = (uint8_t)(17 * 4);
	for (int i = 0; i < 17; i++) {
		cfg[k++] = 0x0a; /* Config.servers */
		cfg[k++] = 0x02;
		cfg[k++] = 0x08; /* Server.id */
		cfg[k++] = (uint8_t)(i + 1);
	}
	ck_assert_int_eq(decode_rc(cfg, k), ERR_CORRUPT);
	cfg[4] = (uint8_t)(2 + 16 * 4);
	cfg[6] = (uint8_t)(16 * 4);
	ck_assert_int_eq(zk_peer_decode_raft(cfg, k - 4, &m), 0);
	ck_assert_uint_eq(m.snap.config.n, 16);
	ck_assert_uint_eq(m.snap.config.servers[15].id, 16);
	raft_msg_clear(&m);
	uint8_t twice[2 * (3 + 2 + 9 * 4) + 2];
	k = 0;
	twice[k++] = 0x08;
	twice[k++] = 0x01;
	for (int o = 0; o < 2; o++) {
		twice[k++] = 0x9a;
		twice[k++] = 0x01;
		twice[k++] = (uint8_t)(2 + 9 * 4);
		twice[k++] = 0x1a;
		twice[k++] = (uint8_t)(9 * 4);
		for (int i = 0; i < 9; i++) {
			twice[k++] = 0x0a;
			twice[k++] = 0x02;
			twice[k++] = 0x08;
			twice[k++] = (uint8_t)(o * 9 + i + 1);
		}
	}
	ck_assert_uint_eq(k, sizeof(twice));
	ck_assert_int_eq(decode_rc(twice, k), ERR_CORRUPT);

	/* every truncation of real messages, and pseudo-random garbage: errors, never a crash */
	fill_big_snap();
	for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
		struct raft_msg s = sample((enum raft_msg_type)t, 3, 1, 200);
		struct wbuf w;
		wbuf_init(&w, 1u << 20);
		ck_assert_int_eq(zk_peer_encode_raft(&s, &w), 0);
		for (size_t len = 0; len < w.len; len++) {
			uint8_t *cut = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
			ck_assert_ptr_nonnull(cut);
			memcpy(cut, w.p, len);
			decode_rc(cut, len);
			free(cut);
		}
		/* every single-byte corruption */
		for (size_t i = 0; i < w.len && i < 200; i++) {
			uint8_t save = w.p[i];
			w.p[i] = (uint8_t)(save ^ 0xa5);
			decode_rc(w.p, w.len);
			w.p[i] = 0xff;
			decode_rc(w.p, w.len);
			w.p[i] = save;
		}
		wbuf_free(&w);
	}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t junk[300];
	for (int i = 0; i < 20000; i++) {
		size_t len = 0;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % sizeof(junk));
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			junk[j] = (uint8_t)x;
		}
		if (len >= 2 && (i & 1)) {
			junk[0] = 0x08; /* a valid version first: go deeper */
			junk[1] = 0x01;
		}
		decode_rc(junk, len);
	}
}
END_TEST

/* ---- transport fixtures ---- */

#define MAX_NODES 4
#define MAX_GOT 64

struct got_app {
	uint64_t from;
	enum zk_peer_kind kind;
	uint8_t *p;
	size_t len;
};

struct node {
	struct zk_peer *p;
	uint64_t id;
	int port;
	struct raft_msg raft[MAX_GOT];
	int n_raft;
	struct got_app app[MAX_GOT];
	int n_app;
	int ups[16];   /* up(id, true) count per id */
	int downs[16]; /* up(id, false) count per id */
};

static void node_raft(const struct raft_msg *m, void *arg)
{
	struct node *nd = arg;
	ck_assert_uint_eq(m->to, nd->id);
	ck_assert_int_lt(nd->n_raft, MAX_GOT);
	ck_assert_int_eq(raft_msg_copy(&nd->raft[nd->n_raft++], m), 0);
}

static void node_app(uint64_t from, enum zk_peer_kind kind, const uint8_t *p, size_t len, void *arg)
{
	struct node *nd = arg;
	ck_assert_int_lt(nd->n_app, MAX_GOT);
	struct got_app *a = &nd->app[nd->n_app++];
	a->from = from;
	a->kind = kind;
	a->len = len;
	a->p = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(a->p);
	if (len)
		memcpy(a->p, p, len);
}

static void node_up(uint64_t id, bool connected, void *arg)
{
	struct node *nd = arg;
	ck_assert_uint_lt(id, 16);
	if (connected)
		nd->ups[id]++;
	else
		nd->downs[id]++;
}

static const struct zk_peer_cbs node_cbs = { node_raft, node_app, node_up };

static void node_start(struct event_base *base, struct node *nd, uint64_t id, int port)
{
	char eb[256];
	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	int rc = zk_peer_new(base, id, "127.0.0.1", port, NULL, 0, &node_cbs, nd, &nd->p, eb, sizeof(eb));
	ck_assert_msg(rc == 0, "zk_peer_new: %s", eb);
	nd->port = zk_peer_listen_port(nd->p);
	ck_assert_int_gt(nd->port, 0);
}

static void node_forget(struct node *nd)
{
	for (int i = 0; i < nd->n_raft; i++)
		raft_msg_clear(&nd->raft[i]);
	for (int i = 0; i < nd->n_app; i++)
		free(nd->app[i].p);
	nd->n_raft = nd->n_app = 0;
}

static void node_stop(struct event_base *base, struct node *nd)
{
	zk_peer_free(nd->p);
	nd->p = NULL;
	event_base_loop(base, EVLOOP_NONBLOCK); /* reap the closed connections */
	node_forget(nd);
}

static void set_all_peers(struct node *nodes, int n)
{
	struct zk_peer_addr addrs[MAX_NODES];
	memset(addrs, 0, sizeof(addrs));
	for (int i = 0; i < n; i++) {
		addrs[i].id = nodes[i].id;
		snprintf(addrs[i].host, sizeof(addrs[i].host), "127.0.0.1");
		addrs[i].port = nodes[i].port;
	}
	for (int i = 0; i < n; i++)
		if (nodes[i].p)
			ck_assert_int_eq(zk_peer_set_peers(nodes[i].p, addrs, (size_t)n), 0);
}

struct mesh {
	struct node *nodes;
	int n;
	int want_raft;
	int want_app;
};

static bool mesh_connected(void *arg)
{
	struct mesh *ms = arg;
	for (int i = 0; i < ms->n; i++)
		for (int j = 0; j < ms->n; j++)
			if (i != j && ms->nodes[i].p && ms->nodes[j].p &&
			    !zk_peer_connected(ms->nodes[i].p, ms->nodes[j].id))
				return false;
	return true;
}

static bool mesh_received(void *arg)
{
	struct mesh *ms = arg;
	for (int i = 0; i < ms->n; i++)
		if (ms->nodes[i].p && (ms->nodes[i].n_raft < ms->want_raft || ms->nodes[i].n_app < ms->want_app))
			return false;
	return true;
}

static const struct raft_msg *find_raft(const struct node *nd, uint64_t from, enum raft_msg_type t)
{
	for (int i = 0; i < nd->n_raft; i++)
		if (nd->raft[i].from == from && nd->raft[i].type == t)
			return &nd->raft[i];
	return NULL;
}

/* ---- transport tests ---- */

START_TEST(test_three_peers_exchange)
{
	struct event_base *base = event_base_new();
	struct node nodes[3];
	fill_big_snap();
	for (int i = 0; i < 3; i++)
		node_start(base, &nodes[i], (uint64_t)i + 1, 0);
	set_all_peers(nodes, 3);
	struct mesh ms = { nodes, 3, 0, 0 };
	ck_assert(run_until(base, mesh_connected, &ms, 5000));
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				ck_assert_int_eq(nodes[i].ups[nodes[j].id], 1);

	/* every type from everyone to everyone, a 4 MiB snapshot from 1 to 2 */
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++) {
			if (i == j)
				continue;
			for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
				size_t snap = (i == 0 && j == 1) ? sizeof(big_snap) : 1000;
				struct raft_msg m = sample((enum raft_msg_type)t, nodes[i].id, nodes[j].id, snap);
				ck_assert_int_eq(zk_peer_send_raft(nodes[i].p, &m), 0);
			}
			for (int k = ZK_PEER_FORWARD; k <= ZK_PEER_FORWARD_NACK; k++) {
				char buf[64];
				int len = snprintf(buf, sizeof(buf), "app %d from %d to %d", k, i, j);
				ck_assert_int_eq(zk_peer_send_app(nodes[i].p, nodes[j].id, (enum zk_peer_kind)k, buf,
								  (size_t)len),
						 0);
			}
			/* an empty application message */
			ck_assert_int_eq(zk_peer_send_app(nodes[i].p, nodes[j].id, ZK_PEER_TOUCH, NULL, 0), 0);
		}
	}
	ms.want_raft = 2 * RAFT_MSG_TYPE_COUNT;
	ms.want_app = 2 * 6;
	ck_assert(run_until(base, mesh_received, &ms, 10000));
	for (int j = 0; j < 3; j++) {
		ck_assert_int_eq(nodes[j].n_raft, 2 * RAFT_MSG_TYPE_COUNT);
		for (int i = 0; i < 3; i++) {
			if (i == j)
				continue;
			for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
				size_t snap = (i == 0 && j == 1) ? sizeof(big_snap) : 1000;
				struct raft_msg m = sample((enum raft_msg_type)t, nodes[i].id, nodes[j].id, snap);
				const struct raft_msg *g = find_raft(&nodes[j], nodes[i].id, (enum raft_msg_type)t);
				ck_assert_ptr_nonnull(g);
				assert_msg_eq(&m, g);
			}
			/* application messages from i arrive in order */
			int k = ZK_PEER_FORWARD;
			for (int a = 0; a < nodes[j].n_app; a++) {
				const struct got_app *ga = &nodes[j].app[a];
				if (ga->from != nodes[i].id)
					continue;
				char buf[64];
				if (k <= ZK_PEER_FORWARD_NACK) {
					int len = snprintf(buf, sizeof(buf), "app %d from %d to %d", k, i, j);
					ck_assert_int_eq(ga->kind, k);
					ck_assert_uint_eq(ga->len, (size_t)len);
					ck_assert_int_eq(memcmp(ga->p, buf, (size_t)len), 0);
				} else {
					ck_assert_int_eq(ga->kind, ZK_PEER_TOUCH);
					ck_assert_uint_eq(ga->len, 0);
				}
				k++;
			}
			ck_assert_int_eq(k, ZK_PEER_FORWARD_NACK + 2);
		}
	}

	/* errors */
	struct raft_msg m = sample(RAFT_MSG_VOTE_REQ, 1, 99, 0);
	ck_assert_int_eq(zk_peer_send_raft(nodes[0].p, &m), ERR_NOTFOUND);
	ck_assert_int_eq(zk_peer_send_app(nodes[0].p, 99, ZK_PEER_SYNC, "x", 1), ERR_NOTFOUND);
	ck_assert_int_eq(zk_peer_send_app(nodes[0].p, 2, ZK_PEER_RAFT, "x", 1), ERR_INVAL);
	ck_assert_int_eq(zk_peer_send_app(nodes[0].p, 2, (enum zk_peer_kind)7, "x", 1), ERR_INVAL);
	ck_assert(!zk_peer_connected(nodes[0].p, 99));
	ck_assert(!zk_peer_connected(nodes[0].p, 1)); /* self has no link */

	/* membership change: 3 leaves the list of 1; 1's link to 3 goes, the others stay */
	struct zk_peer_addr two[2];
	memset(two, 0, sizeof(two));
	for (int i = 0; i < 2; i++) {
		two[i].id = nodes[i].id;
		snprintf(two[i].host, sizeof(two[i].host), "127.0.0.1");
		two[i].port = nodes[i].port;
	}
	ck_assert_int_eq(zk_peer_set_peers(nodes[0].p, two, 2), 0);
	ck_assert(!zk_peer_connected(nodes[0].p, 3));
	ck_assert(zk_peer_connected(nodes[0].p, 2));
	ck_assert_int_eq(zk_peer_send_app(nodes[0].p, 3, ZK_PEER_SYNC, "x", 1), ERR_NOTFOUND);
	two[1].id = 2;
	two[0].id = 2; /* duplicate */
	ck_assert_int_eq(zk_peer_set_peers(nodes[0].p, two, 2), ERR_INVAL);
	ck_assert(zk_peer_connected(nodes[0].p, 2));

	for (int i = 0; i < 3; i++)
		node_stop(base, &nodes[i]);
	event_base_free(base);
}
END_TEST

struct one_link {
	struct node *a;
	uint64_t to;
	bool want;
};

static bool link_is(void *arg)
{
	struct one_link *ol = arg;
	return zk_peer_connected(ol->a->p, ol->to) == ol->want;
}

static bool got_raft(void *arg)
{
	return ((struct node *)arg)->n_raft > 0;
}

START_TEST(test_reconnect)
{
	struct event_base *base = event_base_new();
	struct node nodes[2];
	node_start(base, &nodes[0], 1, 0);
	node_start(base, &nodes[1], 2, 0);
	set_all_peers(nodes, 2);
	struct mesh ms = { nodes, 2, 0, 0 };
	ck_assert(run_until(base, mesh_connected, &ms, 5000));

	/* 2 goes away */
	int port2 = nodes[1].port;
	node_stop(base, &nodes[1]);
	struct one_link down = { &nodes[0], 2, false };
	ck_assert(run_until(base, link_is, &down, 5000));
	ck_assert_int_eq(nodes[0].downs[2], 1);
	struct raft_msg m = sample(RAFT_MSG_APPEND_RESP, 1, 2, 0);
	ck_assert_int_eq(zk_peer_send_raft(nodes[0].p, &m), ERR_CLOSED);
	run_for(base, 300); /* a few refused attempts with backoff */
	ck_assert_int_eq(nodes[0].ups[2], 1);

	/* and comes back on the same port */
	node_start(base, &nodes[1], 2, port2);
	nodes[1].port = port2;
	set_all_peers(nodes, 2);
	struct one_link up = { &nodes[0], 2, true };
	ck_assert(run_until(base, link_is, &up, 5000));
	ck_assert(run_until(base, mesh_connected, &ms, 5000));
	ck_assert_int_eq(nodes[0].ups[2], 2);
	ck_assert_int_eq(zk_peer_send_raft(nodes[0].p, &m), 0);
	ck_assert(run_until(base, got_raft, &nodes[1], 5000));
	assert_msg_eq(&m, &nodes[1].raft[0]);
	struct raft_msg back = sample(RAFT_MSG_VOTE_REQ, 2, 1, 0);
	ck_assert_int_eq(zk_peer_send_raft(nodes[1].p, &back), 0);
	ck_assert(run_until(base, got_raft, &nodes[0], 5000));
	assert_msg_eq(&back, &nodes[0].raft[0]);

	node_stop(base, &nodes[0]);
	node_stop(base, &nodes[1]);
	event_base_free(base);
}
END_TEST

/* ---- a raw peer: the test speaks the wire format itself ---- */

struct raw {
	int fd;
	uint8_t in[4096];
	size_t n;
	bool eof;
};

static void raw_connect(struct raw *r, int port)
{
	struct sockaddr_in sa;
	memset(r, 0, sizeof(*r));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(r->fd, 0);
	ck_assert_int_eq(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fcntl(r->fd, F_SETFL, O_NONBLOCK), 0);
}

static void raw_frame(struct raw *r, uint8_t kind, const void *body, size_t len)
{
	uint8_t hdr[5];
	be32_put(hdr, (uint32_t)(len + 1));
	hdr[4] = kind;
	ck_assert_int_eq(write(r->fd, hdr, 5), 5);
	if (len)
		ck_assert_int_eq(write(r->fd, body, len), (ssize_t)len);
}

static void raw_hello(struct raw *r, uint64_t id, uint32_t version)
{
	uint8_t b[12];
	be32_put(b, (uint32_t)(id >> 32));
	be32_put(b + 4, (uint32_t)id);
	be32_put(b + 8, version);
	raw_frame(r, 0, b, sizeof(b));
}

static void raw_raft(struct raw *r, const struct raft_msg *m)
{
	struct wbuf w;
	wbuf_init(&w, 1u << 20);
	ck_assert_int_eq(zk_peer_encode_raft(m, &w), 0);
	raw_frame(r, ZK_PEER_RAFT, w.p, w.len);
	wbuf_free(&w);
}

/* Reads what has arrived; done at EOF. */
static bool raw_eof(void *arg)
{
	struct raw *r = arg;
	for (;;) {
		ssize_t k = read(r->fd, r->in + r->n, sizeof(r->in) - r->n);
		if (k > 0) {
			r->n += (size_t)k;
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			r->eof = true;
		return r->eof;
	}
}

START_TEST(test_hello_wrong_version)
{
	struct event_base *base = event_base_new();
	struct node nd;
	log_capture();
	node_start(base, &nd, 1, 0);
	struct raw r;
	raw_connect(&r, nd.port);
	raw_hello(&r, 5, 2);
	struct raft_msg m = sample(RAFT_MSG_VOTE_REQ, 5, 1, 0);
	raw_raft(&r, &m);
	ck_assert(run_until(base, raw_eof, &r, 5000));
	/* refused with our HELLO (id 1, version 1), then closed; nothing delivered */
	ck_assert_uint_eq(r.n, 17);
	ck_assert_uint_eq(be32_get(r.in), 13);
	ck_assert_uint_eq(r.in[4], 0);
	ck_assert_uint_eq(be32_get(r.in + 5), 0);
	ck_assert_uint_eq(be32_get(r.in + 9), 1);
	ck_assert_uint_eq(be32_get(r.in + 13), ZK_PEER_PROTO_VERSION);
	ck_assert_int_eq(nd.n_raft, 0);
	ck_assert(log_has("refusing peer 5", "protocol version 2"));
	close(r.fd);

	/* our own id is refused too */
	raw_connect(&r, nd.port);
	raw_hello(&r, 1, ZK_PEER_PROTO_VERSION);
	ck_assert(run_until(base, raw_eof, &r, 5000));
	ck_assert(log_has("refusing peer", "our own id"));
	close(r.fd);

	/* the refused side logs why: zk_peer's own link against a listener that refuses it */
	struct node other;
	node_start(base, &other, 1, 0); /* the same id as nd: nd refuses it */
	struct zk_peer_addr a;
	memset(&a, 0, sizeof(a));
	a.id = 7;
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	a.port = nd.port;
	ck_assert_int_eq(zk_peer_set_peers(other.p, &a, 1), 0);
	run_for(base, 300);
	ck_assert(log_has("refused our HELLO", "duplicate server id"));

	node_stop(base, &other);
	node_stop(base, &nd);
	event_base_free(base);
	log_release();
}
END_TEST

START_TEST(test_malformed_frames)
{
	struct event_base *base = event_base_new();
	struct node nd;
	struct raw r;
	log_capture();
	node_start(base, &nd, 1, 0);

	/* a from that does not match the HELLO is dropped; a matching one is delivered; then a
	 * garbage RaftMessage closes the connection */
	raw_connect(&r, nd.port);
	raw_hello(&r, 5, ZK_PEER_PROTO_VERSION);
	struct raft_msg liar = sample(RAFT_MSG_VOTE_REQ, 6, 1, 0);
	raw_raft(&r, &liar);
	struct raft_msg wrong_to = sample(RAFT_MSG_VOTE_REQ, 5, 3, 0);
	raw_raft(&r, &wrong_to);
	struct raft_msg ok = sample(RAFT_MSG_VOTE_REQ, 5, 1, 0);
	raw_raft(&r, &ok);
	raw_frame(&r, ZK_PEER_SYNC, "abc", 3);
	static const uint8_t garbage[] = { 0x08, 0x01, 0x62, 0xff, 0xff, 0xff, 0x0f };
	raw_frame(&r, ZK_PEER_RAFT, garbage, sizeof(garbage));
	raw_frame(&r, ZK_PEER_SYNC, "def", 3); /* never delivered */
	ck_assert(run_until(base, raw_eof, &r, 5000));
	ck_assert_int_eq(nd.n_raft, 1);
	assert_msg_eq(&ok, &nd.raft[0]);
	ck_assert_int_eq(nd.n_app, 1);
	ck_assert_uint_eq(nd.app[0].from, 5);
	ck_assert_int_eq(nd.app[0].kind, ZK_PEER_SYNC);
	ck_assert(log_has("dropping", "says from 6"));
	ck_assert(log_has("bad RaftMessage", "peer 5"));
	close(r.fd);

	/* a first frame that is not a HELLO */
	raw_connect(&r, nd.port);
	raw_raft(&r, &ok);
	ck_assert(run_until(base, raw_eof, &r, 5000));
	ck_assert(log_has("not a HELLO", "127.0.0.1"));
	close(r.fd);

	/* an unknown kind, an empty frame, a second HELLO */
	static const uint8_t kinds[] = { 7, 0xff, 0 };
	for (int i = 0; i < 3; i++) {
		raw_connect(&r, nd.port);
		raw_hello(&r, 5, ZK_PEER_PROTO_VERSION);
		if (kinds[i] == 0)
			raw_hello(&r, 5, ZK_PEER_PROTO_VERSION);
		else
			raw_frame(&r, kinds[i], "x", 1);
		ck_assert(run_until(base, raw_eof, &r, 5000));
		close(r.fd);
	}
	raw_connect(&r, nd.port);
	raw_hello(&r, 5, ZK_PEER_PROTO_VERSION);
	ck_assert_int_eq(write(r.fd, "\0\0\0\0", 4), 4);
	ck_assert(run_until(base, raw_eof, &r, 5000));
	close(r.fd);

	/* a length over the maximum closes before any allocation */
	raw_connect(&r, nd.port);
	raw_hello(&r, 5, ZK_PEER_PROTO_VERSION);
	uint8_t hdr[5];
	be32_put(hdr, ZK_PEER_MAX_FRAME + 1);
	hdr[4] = ZK_PEER_RAFT;
	ck_assert_int_eq(write(r.fd, hdr, 5), 5);
	ck_assert(run_until(base, raw_eof, &r, 5000));
	close(r.fd);

	ck_assert_int_eq(nd.n_raft, 1);
	ck_assert_int_eq(nd.n_app, 1);
	node_stop(base, &nd);
	event_base_free(base);
	log_release();
}
END_TEST

struct down_wait {
	struct node *nd;
	uint64_t id;
};

static bool saw_down(void *arg)
{
	struct down_wait *dw = arg;
	return dw->nd->downs[dw->id] > 0;
}

START_TEST(test_peer_that_does_not_read)
{
	struct event_base *base = event_base_new();
	struct node nd;
	log_capture();
	node_start(base, &nd, 1, 0);
	zk_peer_set_limits(nd.p, 256u << 10, 100);

	/* a listener that never accepts: the kernel completes connections, nobody reads */
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);

	struct zk_peer_addr a;
	memset(&a, 0, sizeof(a));
	a.id = 9;
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	a.port = ntohs(sa.sin_port);
	ck_assert_int_eq(zk_peer_set_peers(nd.p, &a, 1), 0);
	struct one_link up = { &nd, 9, true };
	ck_assert(run_until(base, link_is, &up, 5000));

	/* keep sending until the kernel's buffers are full, the output reaches the bound, stays
	 * over it for the stall time and the link is closed */
	static uint8_t chunk[64u << 10];
	struct down_wait dw = { &nd, 9 };
	int sent = 0, full = 0;
	for (int i = 0; i < 100000 && !saw_down(&dw); i++) {
		int rc = zk_peer_send_app(nd.p, 9, ZK_PEER_FORWARD, chunk, sizeof(chunk));
		if (rc == 0)
			sent++;
		else if (rc == ERR_FULL)
			full++;
		else
			ck_assert_int_eq(rc, ERR_CLOSED); /* closed, not yet reaped */
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (rc == ERR_FULL)
			usleep(1000);
	}
	ck_assert(saw_down(&dw));
	ck_assert_int_gt(sent, 4);
	ck_assert_int_gt(full, 0);
	ck_assert(log_has("over the bound", "peer 9"));

	close(lfd);
	node_stop(base, &nd);
	event_base_free(base);
	log_release();
}
END_TEST

/* Encodes a, decodes it as its kind; returns the decoder's result (out cleared on failure). */
static int app_roundtrip(const struct zk_peer_app *a, struct zk_peer_app *out)
{
	struct wbuf w;
	wbuf_init(&w, 1u << 24);
	int rc = zk_peer_encode_app(a, &w);
	ck_assert_int_eq(rc, 0);
	rc = zk_peer_decode_app(a->kind, w.p, w.len, out);
	wbuf_free(&w);
	return rc;
}

START_TEST(test_app_roundtrip)
{
	static const uint8_t req[] = { 0, 0, 0, 7, 0, 0, 0, 1, 0xde, 0xad };
	struct zk_peer_app a, d;
	memset(&a, 0, sizeof(a));
	a.kind = ZK_PEER_FORWARD;
	a.fwd_kind = ZK_PEER_FWD_WRITE;
	a.session = 0x100000001;
	a.timeout = 30000;
	for (unsigned i = 0; i < ZK_PEER_PASSWD_LEN; i++)
		a.passwd[i] = (uint8_t)(i * 7);
	a.passwd_len = ZK_PEER_PASSWD_LEN;
	a.ids[0].scheme = "ip";
	a.ids[0].id = "127.0.0.1";
	a.ids[1].scheme = "digest";
	a.ids[1].id = "bob:hash=";
	a.n_ids = 2;
	a.request = req;
	a.request_len = sizeof(req);
	ck_assert_int_eq(app_roundtrip(&a, &d), 0);
	ck_assert_int_eq(d.kind, ZK_PEER_FORWARD);
	ck_assert_int_eq(d.fwd_kind, ZK_PEER_FWD_WRITE);
	ck_assert(d.session == a.session);
	ck_assert_int_eq(d.timeout, 30000);
	ck_assert_uint_eq(d.passwd_len, ZK_PEER_PASSWD_LEN);
	ck_assert_int_eq(memcmp(d.passwd, a.passwd, ZK_PEER_PASSWD_LEN), 0);
	ck_assert_uint_eq(d.n_ids, 2);
	ck_assert_str_eq(d.ids[1].scheme, "digest");
	ck_assert_str_eq(d.ids[1].id, "bob:hash=");
	ck_assert_uint_eq(d.request_len, sizeof(req));
	ck_assert_int_eq(memcmp(d.request, req, sizeof(req)), 0);
	zk_peer_app_clear(&d);
	ck_assert_ptr_null(d.priv);

	int64_t sessions[] = { 1, -1, INT64_MAX, INT64_MIN };
	struct zk_peer_app touch = { .kind = ZK_PEER_TOUCH, .sessions = sessions, .n_sessions = 4 };
	ck_assert_int_eq(app_roundtrip(&touch, &d), 0);
	ck_assert_uint_eq(d.n_sessions, 4);
	for (int i = 0; i < 4; i++)
		ck_assert(d.sessions[i] == sessions[i]);
	zk_peer_app_clear(&d);

	struct zk_peer_app sync = { .kind = ZK_PEER_SYNC_RESP, .session = 9, .xid = -3, .zxid = 0x20000000a };
	ck_assert_int_eq(app_roundtrip(&sync, &d), 0);
	ck_assert(d.session == 9 && d.xid == -3 && d.zxid == 0x20000000a);
	zk_peer_app_clear(&d);

	struct zk_peer_app nack = { .kind = ZK_PEER_FORWARD_NACK, .session = 0 };
	ck_assert_int_eq(app_roundtrip(&nack, &d), 0); /* the empty message */
	ck_assert(d.session == 0);
	zk_peer_app_clear(&d);
	zk_peer_app_clear(NULL);
}
END_TEST

START_TEST(test_app_caps)
{
	struct zk_peer_app a, d;
	struct wbuf w;
	/* encoding refuses what decoding would refuse */
	memset(&a, 0, sizeof(a));
	a.kind = ZK_PEER_RAFT;
	wbuf_init(&w, 1u << 24);
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL);
	a.kind = ZK_PEER_FORWARD;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL); /* forward kind 0 */
	a.fwd_kind = ZK_PEER_FWD_CREATE;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL); /* a new session needs a password */
	a.passwd_len = 3;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL);
	a.passwd_len = ZK_PEER_PASSWD_LEN;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), 0);
	static char long_id[ZK_PEER_MAX_ID_LEN + 2];
	memset(long_id, 'x', sizeof(long_id) - 1);
	a.ids[0].scheme = "digest";
	a.ids[0].id = long_id;
	a.n_ids = 1;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL);
	long_id[ZK_PEER_MAX_ID_LEN] = '\0';
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), 0);
	a.n_ids = ZK_PEER_MAX_IDS + 1;
	ck_assert_int_eq(zk_peer_encode_app(&a, &w), ERR_INVAL);
	struct zk_peer_app touch = { .kind = ZK_PEER_TOUCH, .n_sessions = ZK_PEER_MAX_TOUCH + 1 };
	touch.sessions = calloc(ZK_PEER_MAX_TOUCH + 1, sizeof(int64_t));
	ck_assert_ptr_nonnull(touch.sessions);
	ck_assert_int_eq(zk_peer_encode_app(&touch, &w), ERR_INVAL);
	touch.n_sessions = ZK_PEER_MAX_TOUCH;
	wbuf_reset(&w);
	ck_assert_int_eq(zk_peer_encode_app(&touch, &w), 0);
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_TOUCH, w.p, w.len, &d), 0);
	ck_assert_uint_eq(d.n_sessions, ZK_PEER_MAX_TOUCH);
	zk_peer_app_clear(&d);
	/* one more session, appended unpacked (field 1, varint 1): refused before unpacking */
	wbuf_u8(&w, 0x08);
	wbuf_u8(&w, 0x01);
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_TOUCH, w.p, w.len, &d), ERR_CORRUPT);
	ck_assert_ptr_null(d.priv);
	free((void *)touch.sessions);

	/* decoding: 17 identities, an identity over ZK_PEER_MAX_ID_LEN bytes, a forward kind out of range, a
	 * 5-byte password, too many scalar fields, garbage, a kind that is not an application's */
	uint8_t b[4096];
	size_t k = 0;
	b[k++] = 0x08; /* kind 1 */
	b[k++] = 0x01;
	for (unsigned i = 0; i < ZK_PEER_MAX_IDS + 1; i++) {
		b[k++] = 0x2a; /* ids, 4 bytes: scheme "ip" */
		b[k++] = 0x04;
		b[k++] = 0x0a;
		b[k++] = 0x02;
		b[k++] = 'i';
		b[k++] = 'p';
	}
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD, b, k, &d), ERR_CORRUPT);
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD, b, k - 6, &d), 0);
	ck_assert_uint_eq(d.n_ids, ZK_PEER_MAX_IDS);
	ck_assert_str_eq(d.ids[15].scheme, "ip");
	ck_assert_str_eq(d.ids[15].id, "");
	zk_peer_app_clear(&d);
	/* an identity of ZK_PEER_MAX_ID_LEN bytes is taken, one byte more is not */
	for (size_t n = ZK_PEER_MAX_ID_LEN; n <= ZK_PEER_MAX_ID_LEN + 1; n++) {
		uint8_t *big = malloc(n + 32);
		ck_assert_ptr_nonnull(big);
		size_t j = 0;
		big[j++] = 0x08; /* kind 1 */
		big[j++] = 0x01;
		big[j++] = 0x2a; /* ids: 1 + 3 + n bytes */
		for (uint64_t v = 4 + n; ; v >>= 7) {
			big[j++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			if (v <= 0x7f)
				break;
		}
		big[j++] = 0x12; /* id: n bytes */
		for (uint64_t v = n; ; v >>= 7) {
			big[j++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			if (v <= 0x7f)
				break;
		}
		memset(big + j, 'y', n);
		j += n;
		int want = n == ZK_PEER_MAX_ID_LEN ? 0 : ERR_CORRUPT;
		ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD, big, j, &d), want);
		if (!want)
			ck_assert_uint_eq(strlen(d.ids[0].id), n);
		zk_peer_app_clear(&d);
		free(big);
	}
	static const uint8_t kind4[] = { 0x08, 0x04 };
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD, kind4, sizeof(kind4), &d), ERR_CORRUPT);
	static const uint8_t pw5[] = { 0x08, 0x01, 0x22, 0x05, 1, 2, 3, 4, 5 };
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD, pw5, sizeof(pw5), &d), ERR_CORRUPT);
	k = 0;
	for (unsigned i = 0; i < ZK_PEER_MAX_FIELDS + 1; i++) {
		b[k++] = 0x08; /* Sync.session, again and again */
		b[k++] = 0x01;
	}
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_SYNC, b, k, &d), ERR_CORRUPT);
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_SYNC, b, k - 2, &d), 0);
	static const uint8_t garbage[] = { 0x0a, 0xff, 0xff };
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_FORWARD_NACK, garbage, sizeof(garbage), &d), ERR_CORRUPT);
	ck_assert_int_eq(zk_peer_decode_app(ZK_PEER_RAFT, NULL, 0, &d), ERR_INVAL);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct event_base *base = event_base_new();
	struct zk_peer *p = NULL;
	char eb[256];
	struct zk_peer_addr a[2];
	memset(a, 0, sizeof(a));
	ck_assert_int_eq(zk_peer_new(base, 0, "127.0.0.1", 0, NULL, 0, &node_cbs, NULL, &p, eb, sizeof(eb)),
			 ERR_INVAL);
	a[0].id = 2;
	a[0].port = 1;
	ck_assert_int_eq(zk_peer_new(base, 1, "127.0.0.1", 0, a, 1, &node_cbs, NULL, &p, eb, sizeof(eb)),
			 ERR_INVAL); /* empty host */
	snprintf(a[0].host, sizeof(a[0].host), "127.0.0.1");
	a[1] = a[0];
	ck_assert_int_eq(zk_peer_new(base, 1, "127.0.0.1", 0, a, 2, &node_cbs, NULL, &p, eb, sizeof(eb)),
			 ERR_INVAL); /* duplicate */
	/* a port taken */
	struct node nd;
	node_start(base, &nd, 1, 0);
	ck_assert_int_eq(zk_peer_new(base, 2, "127.0.0.1", nd.port, a, 1, &node_cbs, NULL, &p, eb, sizeof(eb)),
			 ERR_IO);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(eb, "peer port"));
	zk_peer_free(NULL);
	node_stop(base, &nd);
	event_base_free(base);
}
END_TEST

static Suite *zk_peer_suite(void)
{
	Suite *s = suite_create("zk_peer");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_roundtrip_every_type);
	tcase_add_test(tc, test_decode_bad);
	tcase_add_test(tc, test_app_roundtrip);
	tcase_add_test(tc, test_app_caps);
	suite_add_tcase(s, tc);
	tc = tcase_create("transport");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_three_peers_exchange);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_hello_wrong_version);
	tcase_add_test(tc, test_malformed_frames);
	tcase_add_test(tc, test_peer_that_does_not_read);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(zk_peer_suite());
}

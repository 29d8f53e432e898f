/*
 * Fuzz harness: the peer transport's decoders — the RaftMessage decoder (protobuf -> struct
 * raft_msg) and the application messages' (Forward, Touch, Sync, Nack -> struct zk_peer_app),
 * every input tried as each of them. What a decoder accepts must be within the caps, encode
 * again and decode to the same message.
 */
#include "buf.h"
#include "err.h"
#include "raft.h"
#include "zk_peer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_peer_same(const struct raft_msg *a, const struct raft_msg *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term ||
	    a->last_index != b->last_index || a->last_term != b->last_term || a->granted != b->granted ||
	    a->prev_index != b->prev_index || a->prev_term != b->prev_term || a->commit != b->commit ||
	    a->reject != b->reject || a->index != b->index || a->durable != b->durable ||
	    a->reject_index != b->reject_index || a->hint_index != b->hint_index || a->hint_term != b->hint_term ||
	    a->n_entries != b->n_entries || a->snap_len != b->snap_len || a->snap.index != b->snap.index ||
	    a->snap.term != b->snap.term || a->snap.config.n != b->snap.config.n)
		return 0;
	for (size_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];
		if (x->index != y->index || x->term != y->term || x->type != y->type || x->len != y->len ||
		    (x->len && memcmp(x->data, y->data, x->len)))
			return 0;
	}
	for (uint32_t i = 0; i < a->snap.config.n; i++)
		if (a->snap.config.servers[i].id != b->snap.config.servers[i].id ||
		    a->snap.config.servers[i].voter != b->snap.config.servers[i].voter)
			return 0;
	return !a->snap_len || memcmp(a->snap_data, b->snap_data, a->snap_len) == 0;
}

static int fuzz_peer_app_same(const struct zk_peer_app *a, const struct zk_peer_app *b)
{
	if (a->kind != b->kind || a->session != b->session || a->n_sessions != b->n_sessions)
		return 0;
	for (size_t i = 0; i < a->n_sessions; i++)
		if (a->sessions[i] != b->sessions[i])
			return 0;
	if (a->kind == ZK_PEER_SYNC || a->kind == ZK_PEER_SYNC_RESP)
		return a->xid == b->xid && a->zxid == b->zxid;
	if (a->kind != ZK_PEER_FORWARD)
		return 1;
	if (a->fwd_kind != b->fwd_kind || a->timeout != b->timeout || a->passwd_len != b->passwd_len ||
	    memcmp(a->passwd, b->passwd, a->passwd_len) || a->n_ids != b->n_ids ||
	    a->request_len != b->request_len || (a->request_len && memcmp(a->request, b->request, a->request_len)))
		return 0;
	for (size_t i = 0; i < a->n_ids; i++)
		if (strcmp(a->ids[i].scheme, b->ids[i].scheme) || strcmp(a->ids[i].id, b->ids[i].id))
			return 0;
	return 1;
}

static void fuzz_peer_app(enum zk_peer_kind kind, const uint8_t *data, size_t size)
{
	struct zk_peer_app a, again;
	struct wbuf w;
	if (zk_peer_decode_app(kind, data, size, &a) != 0)
		return;
	if (a.kind != kind || a.n_ids > ZK_PEER_MAX_IDS || a.n_sessions > ZK_PEER_MAX_TOUCH ||
	    (a.passwd_len && a.passwd_len != ZK_PEER_PASSWD_LEN))
		abort();
	for (size_t i = 0; i < a.n_ids; i++)
		if (strlen(a.ids[i].scheme) > ZK_PEER_MAX_ID_LEN || strlen(a.ids[i].id) > ZK_PEER_MAX_ID_LEN)
			abort();
	wbuf_init(&w, (size_t)ZK_PEER_MAX_FRAME);
	if (zk_peer_encode_app(&a, &w) != 0 || zk_peer_decode_app(kind, w.p, w.len, &again) != 0 ||
	    !fuzz_peer_app_same(&a, &again))
		abort();
	zk_peer_app_clear(&again);
	wbuf_free(&w);
	zk_peer_app_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int k = ZK_PEER_FORWARD; k <= ZK_PEER_FORWARD_NACK; k++)
		fuzz_peer_app((enum zk_peer_kind)k, data, size);

	struct raft_msg m, again;
	struct wbuf w;
	if (zk_peer_decode_raft(data, size, &m) != 0)
		return 0;
	wbuf_init(&w, (size_t)ZK_PEER_MAX_FRAME);
	if (zk_peer_encode_raft(&m, &w) == 0) {
		if (zk_peer_decode_raft(w.p, w.len, &again) != 0 || !fuzz_peer_same(&m, &again))
			abort();
		raft_msg_clear(&again);
	}
	wbuf_free(&w);
	raft_msg_clear(&m);
	return 0;
}

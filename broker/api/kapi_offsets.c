/*
 * kapi_offsets — the ListOffsets and OffsetForLeaderEpoch handlers (see kapi_offsets.h).
 */
#include "kapi_offsets.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kout.h"
#include "kwire.h"
#include "kwoffs.h"
#include "log.h"
#include "klog.h"
#include "kreplica.h"

#include <stdlib.h>

/* ---- ListOffsets ---- */

/* The request and response bytes are kwoffs'; this answers each partition from the replica
 * manager. */
int kapi_offsets_list(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kwoffs_req lq;
	int rc = kwoffs_req_decode(&q->r, q->ver, &lq);
	if (rc) {
		kwoffs_req_free(&lq);
		return rc;
	}
	size_t np = 0;
	for (int32_t ti = 0; ti < lq.n; ti++)
		np += (size_t)lq.topics[ti].n;
	struct kwoffs_tresp *tr = calloc((size_t)(lq.n ? lq.n : 1), sizeof(*tr));
	struct kwoffs_presp *pr = calloc(np ? np : 1, sizeof(*pr));
	if (!tr || !pr) {
		free(tr);
		free(pr);
		kwoffs_req_free(&lq);
		return ERR_NOMEM;
	}
	struct kwoffs_presp *out = pr;
	for (int32_t ti = 0; ti < lq.n; ti++) {
		const struct kwoffs_topic *lt = &lq.topics[ti];
		tr[ti].name = lt->name;
		tr[ti].n = lt->n;
		tr[ti].parts = out;
		bool allowed = kapi_acl_ok(b, q, KACL_RT_TOPIC, lt->name, KACL_OP_DESCRIBE);
		for (int32_t pi = 0; pi < lt->n; pi++, out++) {
			const struct kwoffs_part *lp = &lt->parts[pi];
			int32_t idx = lp->index;
			int64_t ts = lp->timestamp;
			struct kb_topic *t = NULL;
			struct kb_part *p = lt->bad ? NULL : kb_part_find(b, lt->name, idx, &t);
			int16_t err = KE_NONE;
			int64_t off = -1, rts = -1;
			int64_t hw = -1, start = -1;
			int32_t lepoch = -1;
			struct klog *l = NULL;
			if (!allowed)
				err = KE_TOPIC_AUTHORIZATION_FAILED;
			else if (!p || t->deleting)
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			else if (!krm_hosted(b->rm, lt->name, idx))
				err = KE_NOT_LEADER_OR_FOLLOWER;
			else if ((err = krm_leader(b->rm, lt->name, idx, lp->current_leader_epoch, &hw, &start, &lepoch,
						   &l)) == KE_NONE) {
				if (ts == -1) {
					off = hw; /* latest: what consumers can read */
				} else if (ts == -2) {
					off = start;
				} else {
					/* the first record at or after ts, with its own timestamp */
					off = klog_offset_for_time(l, ts, &rts);
					if (off < 0 || off >= hw) {
						off = -1;
						rts = -1;
					}
				}
			}
			out->index = idx;
			out->error = err;
			out->timestamp = rts;
			out->offset = off;
			out->leader_epoch = err ? -1 : lepoch;
			out->v0_none = lp->max_num_offsets <= 0;
		}
	}
	struct kwoffs_resp m = { .throttle_ms = 0, .n = lq.n, .topics = tr };
	kwoffs_resp_encode(&o->w, q->ver, &m);
	free(tr);
	free(pr);
	kwoffs_req_free(&lq);
	return 0;
}

/* ---- OffsetForLeaderEpoch (API 23, KIP-101/KIP-279/KIP-320) ----
 * Request v0-1: [topic [partition leader_epoch]]; v2 adds current_leader_epoch before
 * leader_epoch; v3 starts with replica_id. Response v0: [topic [error partition end_offset]];
 * v1 adds leader_epoch before end_offset; v2+ start with throttle_time_ms. Schemas:
 * OffsetForLeaderEpochRequest.json / Response.json (versions 0-3 are not flexible). */
int kapi_offsets_for_epoch(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t replica = -1;
	if (q->ver >= 3)
		rbuf_i32(r, &replica);
	int32_t nt = kwire_count_read(r, 6);
	if (r->err || nt < 0)
		return ERR_PROTO;
	if (q->ver >= 2)
		wbuf_i32(w, 0); /* throttle_time_ms */
	wbuf_i32(w, nt);
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = kwire_str_read(r, name, sizeof(name), NULL);
		int32_t np = kwire_count_read(r, q->ver >= 2 ? 12 : 8);
		if (r->err || np < 0)
			return ERR_PROTO;
		bool allowed = kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_DESCRIBE);
		wbuf_str_i16(w, name);
		wbuf_i32(w, np);
		for (int32_t pi = 0; pi < np; pi++) {
			int32_t idx, cur_epoch = -1, asked;
			rbuf_i32(r, &idx);
			if (q->ver >= 2)
				rbuf_i32(r, &cur_epoch);
			rbuf_i32(r, &asked);
			if (r->err)
				return ERR_PROTO;
			struct kb_topic *t = NULL;
			struct kb_part *p = bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err;
			int32_t epoch = -1;
			int64_t end = -1;
			if (!allowed)
				err = KE_TOPIC_AUTHORIZATION_FAILED;
			else if (!p || t->deleting)
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			else if (!krm_hosted(b->rm, name, idx))
				err = KE_NOT_LEADER_OR_FOLLOWER;
			else
				err = krm_offset_for_epoch(b->rm, name, idx, cur_epoch, asked, &epoch, &end);
			wbuf_i16(w, err);
			wbuf_i32(w, idx);
			if (q->ver >= 1)
				wbuf_i32(w, err ? -1 : epoch);
			wbuf_i64(w, err ? -1 : end);
		}
	}
	return 0;
}

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
#include "kwepoch.h"
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
					/* latest: what consumers can read; the LSO for read_committed (KIP-98) */
					off = lq.isolation_level == 1 ? krm_last_stable_offset(b->rm, lt->name, idx) : hw;
				} else if (ts == -2) {
					off = start;
				} else {
					/* the first record at or after ts, with its own timestamp */
					off = klog_offset_for_time(l, ts, &rts);
					int64_t lim = lq.isolation_level == 1 ? krm_last_stable_offset(b->rm, lt->name, idx) : hw;
					if (off < 0 || off >= lim) {
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
 * The request and response bytes are kwepoch's (v0-3); this answers each partition from the
 * replica manager, after DESCRIBE on its topic. */
int kapi_offsets_for_epoch(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kwepoch_req eq;
	int rc = kwepoch_req_decode(&q->r, q->ver, &eq);
	if (rc) {
		kwepoch_req_free(&eq);
		return rc;
	}
	struct kwepoch_tresp *tr = calloc((size_t)(eq.n ? eq.n : 1), sizeof(*tr));
	rc = tr ? 0 : ERR_NOMEM;
	for (int32_t ti = 0; ti < eq.n && !rc; ti++) {
		const struct kwepoch_topic *et = &eq.topics[ti];
		struct kwepoch_presp *pr = calloc((size_t)(et->n ? et->n : 1), sizeof(*pr));
		if (!pr) {
			rc = ERR_NOMEM;
			break;
		}
		tr[ti].name = et->name;
		tr[ti].n = et->n;
		tr[ti].parts = pr;
		bool allowed = kapi_acl_ok(b, q, KACL_RT_TOPIC, et->name, KACL_OP_DESCRIBE);
		for (int32_t pi = 0; pi < et->n; pi++) {
			const struct kwepoch_part *ep = &et->parts[pi];
			struct kb_topic *t = NULL;
			struct kb_part *p = et->bad ? NULL : kb_part_find(b, et->name, ep->index, &t);
			int16_t err;
			int32_t epoch = -1;
			int64_t end = -1;
			if (!allowed)
				err = KE_TOPIC_AUTHORIZATION_FAILED;
			else if (!p || t->deleting)
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			else if (!krm_hosted(b->rm, et->name, ep->index))
				err = KE_NOT_LEADER_OR_FOLLOWER;
			else
				err = krm_offset_for_epoch(b->rm, et->name, ep->index, ep->current_leader_epoch,
							   ep->leader_epoch, &epoch, &end);
			pr[pi].error = err;
			pr[pi].index = ep->index;
			pr[pi].leader_epoch = err ? -1 : epoch;
			pr[pi].end_offset = err ? -1 : end;
		}
	}
	if (!rc) {
		struct kwepoch_resp m = { .throttle_ms = 0, .n = eq.n, .topics = tr };
		kwepoch_resp_encode(&o->w, q->ver, &m);
	}
	for (int32_t ti = 0; tr && ti < eq.n; ti++)
		free((void *)tr[ti].parts);
	free(tr);
	kwepoch_req_free(&eq);
	return rc;
}

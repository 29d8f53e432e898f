/*
 * kapi_mark — WriteTxnMarkers on a partition leader (see kapi_mark.h). Kafka's
 * KafkaApis.handleWriteTxnMarkersRequest: per marker, its partitions' control batches appended
 * with requiredAcks -1 and the request's answer sent when all are acknowledged; the slots are
 * one krm_produce (a slot per partition, in request order) whose completion wakes the kwait.
 */
#include "kapi_mark.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_groups.h"
#include "kerr.h"
#include "kout.h"
#include "kreplica.h"
#include "kwait.h"
#include "kwmark.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const MARK_MOD = "kafka-api";

/* How long a marker waits for its ISR before the purgatory answers REQUEST_TIMED_OUT (Kafka
 * uses request.timeout.ms, 30 s by default, for the coordinator's requests). */
#define KAPI_MARK_TIMEOUT_MS 30000

/* A WriteTxnMarkers request between its passes (the kwait's priv). */
struct kapi_mark {
	struct broker *b;
	struct kwait *w;
	struct kwmark_req req;
	struct krm_produce *pr; /* a slot per partition of every marker, in request order */
	int16_t *pre;		/* per slot: the error found before the replica manager, or NONE */
	size_t nslots;
	bool held; /* counted in w->pending until pr's last slot is answered */
};

static void kapi_mark_free(void *arg)
{
	struct kapi_mark *m = arg;
	if (!m)
		return;
	krm_produce_free(m->pr);
	kwmark_req_free(&m->req);
	free(m->pre);
	free(m);
}

/* The purgatory answered the last waiting marker: the request can be answered. */
static void kapi_mark_completed(void *arg, struct krm_produce *pr)
{
	struct kapi_mark *m = arg;
	(void)pr; /* m->pr, freed with m */
	if (m->held) {
		m->held = false;
		m->w->pending--;
	}
	kb_wake(m->b);
}

/* First pass: decode, authorize, append every marker. 0, ERR_PROTO or ERR_NOMEM. */
static int kapi_mark_begin(struct broker *b, struct kreq *q, struct kwait *w)
{
	struct kapi_mark *m = calloc(1, sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	m->b = b;
	m->w = w;
	w->priv = m;
	w->priv_free = kapi_mark_free;
	if (kwmark_req_decode(&q->r, q->ver, &m->req))
		return ERR_PROTO;
	for (int32_t i = 0; i < m->req.n; i++)
		for (int32_t t = 0; t < m->req.markers[i].n; t++)
			m->nslots += (size_t)m->req.markers[i].topics[t].n;
	m->pre = calloc(m->nslots ? m->nslots : 1, sizeof(*m->pre));
	m->pr = b->rm ? krm_produce_new(b->rm, m->nslots, kapi_mark_completed, m) : NULL;
	if (!m->pre || !m->pr)
		return ERR_NOMEM;
	bool allowed = kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CLUSTER_ACTION);
	int64_t now = kb_now_ms();
	size_t slot = 0;
	for (int32_t i = 0; i < m->req.n; i++) {
		const struct kwmark_marker *mk = &m->req.markers[i];
		for (int32_t t = 0; t < mk->n; t++) {
			const struct kwmark_topic *mt = &mk->topics[t];
			for (int32_t k = 0; k < mt->n; k++, slot++) {
				int32_t idx = mt->parts[k];
				struct kb_topic *kt = NULL;
				struct kb_part *kp = mt->bad ? NULL : kb_part_find(b, mt->name, idx, &kt);
				if (!allowed)
					m->pre[slot] = KE_CLUSTER_AUTHORIZATION_FAILED;
				else if (!kp || kt->deleting)
					m->pre[slot] = KE_UNKNOWN_TOPIC_OR_PARTITION;
				else if (!krm_hosted(b->rm, mt->name, idx))
					m->pre[slot] = KE_NOT_LEADER_OR_FOLLOWER;
				else {
					int16_t e = krm_append_marker(b->rm, m->pr, slot, mt->name, idx, mk->producer_id,
								      mk->producer_epoch, mk->coordinator_epoch, mk->commit,
								      now + KAPI_MARK_TIMEOUT_MS, now);
					if (e != KE_NONE)
						log_warn(MARK_MOD,
							 "%s marker for producer %lld epoch %d on %s-%d refused (error %d)",
							 mk->commit ? "commit" : "abort", (long long)mk->producer_id,
							 mk->producer_epoch, mt->name, idx, e);
				}
			}
		}
	}
	if (!krm_produce_submit(b->rm, m->pr)) {
		m->held = true; /* kapi_mark_completed releases it */
		w->pending++;
	}
	return 0;
}

int kapi_mark_write(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final; /* every held marker is answered by the purgatory at its own deadline */
	if (first) {
		int rc = kapi_mark_begin(b, q, w);
		return rc ? rc : 1; /* answered on a later pass */
	}
	struct kapi_mark *m = w->priv;
	if (w->pending || !m)
		return 1;
	struct kwmark_resp resp = { .n = m->req.n, .markers = NULL };
	resp.markers = calloc(m->req.n ? (size_t)m->req.n : 1, sizeof(*resp.markers));
	size_t ntopics = 0;
	for (int32_t i = 0; i < m->req.n; i++)
		ntopics += (size_t)m->req.markers[i].n;
	struct kwmark_tresult *tr = calloc(ntopics ? ntopics : 1, sizeof(*tr));
	struct kwmark_presult *pres = calloc(m->nslots ? m->nslots : 1, sizeof(*pres));
	if (!resp.markers || !tr || !pres) {
		free(resp.markers);
		free(tr);
		free(pres);
		return ERR_NOMEM;
	}
	size_t slot = 0, ti = 0;
	for (int32_t i = 0; i < m->req.n; i++) {
		const struct kwmark_marker *mk = &m->req.markers[i];
		resp.markers[i] = (struct kwmark_mresult){ .producer_id = mk->producer_id, .n = mk->n, .topics = &tr[ti] };
		for (int32_t t = 0; t < mk->n; t++, ti++) {
			const struct kwmark_topic *mt = &mk->topics[t];
			memcpy(tr[ti].name, mt->name, sizeof(tr[ti].name));
			tr[ti].n = mt->n;
			tr[ti].parts = &pres[slot];
			for (int32_t k = 0; k < mt->n; k++, slot++) {
				int16_t e = m->pre[slot] ? m->pre[slot] : krm_produce_result(m->pr, slot)->error;
				pres[slot] = (struct kwmark_presult){ .index = mt->parts[k], .error = e };
				/* the group coordinator's transactional offsets end with their marker */
				if (e == KE_NONE && !strcmp(mt->name, KB_OFFSETS_TOPIC))
					kb_groups_txn_marker(b, mt->parts[k], mk->producer_id, mk->producer_epoch, mk->commit);
			}
		}
	}
	if (q->ver >= KWMARK_FIRST_FLEXIBLE)
		wbuf_uvarint(&o->w, 0); /* response header v1: no tagged fields */
	int rc = kwmark_resp_encode(&o->w, q->ver, &resp);
	free(resp.markers);
	free(tr);
	free(pres);
	return rc == ERR_PROTO ? rc : 0;
}

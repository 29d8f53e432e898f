/*
 * kapi_pid — InitProducerId (see kapi_pid.h). Kafka's KafkaApis.handleInitProducerIdRequest
 * and TransactionCoordinator.handleInitProducerId for a null transactional id: authorized by
 * IDEMPOTENT_WRITE on the cluster (Kafka 2.x), then a fresh id from the producer id manager,
 * epoch 0 — also for v3+ requests that name the id and epoch they hold (Kafka answers a null
 * transactional id "blindly" with a new id). The first pass decodes the request (kwpid) and
 * checks it, its outcome going into the kwait's result; a later pass reads only that (no request
 * bytes are kept: nothing else of the request is needed) and takes an id, or when the broker's
 * block is used up starts a claim (kb_pid_claim, counted as the kwait's pending write) and takes
 * the id on the pass after it. A transactional id goes to the transaction coordinator (kapi_txn).
 */
#include "kapi_pid.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kapi_txn.h"
#include "kb_pid.h"
#include "kerr.h"
#include "kout.h"
#include "kwhdr.h"
#include "kwait.h"
#include "kwpid.h"

/* Starts a block claim for w's item 0 unless one of its own is running. */
static void kapi_pid_claim(struct broker *b, struct kwait *w)
{
	void *ctx;
	kb_admin_cb cb = kwait_slot(w, 0, &ctx);
	if (!cb) {
		kwait_set(w, 0, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	kb_pid_claim(b, cb, ctx);
}

int kapi_pid_init(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	int64_t id = -1;
	if (first) {
		struct kwpid_req rq;
		if (kwpid_req_decode(&q->r, q->ver, &rq))
			return ERR_PROTO;
		if (rq.txn_id) /* a transactional producer: the transaction coordinator's */
			return kapi_txn_init_pid(b, q, o, w, &rq);
		if (kwait_results(w, 1))
			return ERR_NOMEM;
		if (!kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_IDEMPOTENT_WRITE))
			kwait_set(w, 0, KE_CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
		return 1; /* answered on a later pass (the first pass's output is not sent) */
	}
	if (w->priv) /* only a transactional InitProducerId keeps state between passes */
		return kapi_txn_init_pid(b, q, o, w, NULL);
	if (w->pending)
		return 1;
	struct kwpid_resp resp = { .throttle_ms = 0, .error = w->errs[0], .producer_id = -1, .producer_epoch = -1 };
	if (resp.error == KE_NONE) {
		if (kb_pid_take(b, &id) == 0) {
			resp.producer_id = id;
			resp.producer_epoch = 0;
		} else {
			kapi_pid_claim(b, w); /* no block yet, or it ran out: claim one */
			if (w->pending)
				return 1;
			resp.error = w->errs[0] ? w->errs[0] : KE_COORDINATOR_NOT_AVAILABLE;
		}
	}
	if (q->ver >= KWPID_FIRST_FLEXIBLE)
		kwhdr_resp_tags(&o->w);
	kwpid_resp_encode(&o->w, q->ver, &resp);
	return 0;
}

/*
 * kapi_txn — InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn and
 * EndTxn (see kapi_txn.h).
 */
#include "kapi_txn.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_groups.h"
#include "kb_pid.h"
#include "kb_txns.h"
#include "kerr.h"
#include "kgplace.h"
#include "kgroup.h"
#include "kout.h"
#include "ktxn.h"
#include "kwait.h"
#include "kwpid.h"
#include "kwtxn.h"

#include <stdlib.h>
#include <string.h>

/* A request's state between its passes (the kwait's priv). */
struct kapi_txn_call {
	kb_admin_cb cb; /* the kwait slot the core's answer fills (NULL once answered) */
	void *ctx;
	bool handed; /* given to the core */
	struct ktxn_answer a;
	struct kwtxn_req rq; /* AddPartitionsToTxn, AddOffsetsToTxn, EndTxn */
	int16_t *perr;	     /* AddPartitionsToTxn refused before the core: per partition, in order */
	char *txn_id;	     /* InitProducerId */
	int32_t timeout_ms;
	int64_t pid;
	int16_t epoch;
};

static void kapi_txn_call_free(void *p)
{
	struct kapi_txn_call *c = p;
	kwtxn_req_free(&c->rq);
	free(c->perr);
	free(c->txn_id);
	free(c);
}

static struct kapi_txn_call *kapi_txn_call_new(struct kwait *w)
{
	struct kapi_txn_call *c = calloc(1, sizeof(*c));
	if (!c || kwait_results(w, 1)) {
		free(c);
		return NULL;
	}
	c->a.error = KE_NONE;
	c->a.producer_id = -1;
	c->a.producer_epoch = -1;
	w->priv = c;
	w->priv_free = kapi_txn_call_free;
	return c;
}

void kapi_txn_reply(struct broker *b, void *token, const struct ktxn_answer *a)
{
	struct kapi_txn_call *c = token;
	c->a = *a;
	kb_admin_cb cb = c->cb;
	c->cb = NULL;
	if (cb)
		cb(b, c->ctx, KE_NONE, NULL); /* the kwait's pending write is done: its next pass answers */
}

/* Gives c to the core: takes the kwait slot first (the core may answer at once). false when
 * there is no memory or no coordinator (c->a.error then says it). */
static bool kapi_txn_hand(struct kwait *w, struct kapi_txn_call *c)
{
	c->cb = kwait_slot(w, 0, &c->ctx);
	if (!c->cb) {
		c->a.error = KE_UNKNOWN_SERVER_ERROR;
		return false;
	}
	c->handed = true;
	return true;
}

/* PRODUCER_FENCED as the version knows it. */
static int16_t kapi_txn_fenced(int16_t err, bool old)
{
	return err == KE_PRODUCER_FENCED && old ? KE_INVALID_PRODUCER_EPOCH : err;
}

/* ---- InitProducerId ---- */

int kapi_txn_init_pid(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, const struct kwpid_req *rq)
{
	struct kapi_txn_call *c = w->priv;
	if (rq) { /* the first pass */
		if (!(c = kapi_txn_call_new(w)))
			return ERR_NOMEM;
		c->txn_id = malloc((size_t)rq->txn_id_len + 1);
		if (!c->txn_id)
			return ERR_NOMEM;
		memcpy(c->txn_id, rq->txn_id, (size_t)rq->txn_id_len);
		c->txn_id[rq->txn_id_len] = '\0';
		c->timeout_ms = rq->txn_timeout_ms;
		c->pid = rq->producer_id;
		c->epoch = rq->producer_epoch;
		if (!kapi_acl_ok(b, q, KACL_RT_TRANSACTIONAL_ID, c->txn_id, KACL_OP_WRITE)) {
			kwait_set(w, 0, KE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "Transactional Id authorization failed.");
		} else if (!kb_pid_available(b)) {
			/* the core takes a new producer id at once when it needs one: a block first */
			void *ctx;
			kb_admin_cb cb = kwait_slot(w, 0, &ctx);
			if (!cb)
				return ERR_NOMEM;
			kb_pid_claim(b, cb, ctx);
		}
		return 1;
	}
	if (w->pending)
		return 1;
	if (!c->handed && !w->errs[0]) {
		struct ktxns *ts = kb_txns_core(b);
		if (!ts)
			c->a.error = KE_COORDINATOR_NOT_AVAILABLE;
		else if (kapi_txn_hand(w, c))
			ktxns_init_pid(ts, c, (const uint8_t *)c->txn_id, strlen(c->txn_id), c->timeout_ms, c->pid, c->epoch,
				       q->ver, kb_now_ms());
		if (w->pending)
			return 1;
	}
	struct kwpid_resp resp = { .throttle_ms = 0, .error = w->errs[0] ? w->errs[0] : c->a.error,
				   .producer_id = -1, .producer_epoch = -1 };
	if (resp.error == KE_NONE) {
		resp.producer_id = c->a.producer_id;
		resp.producer_epoch = c->a.producer_epoch;
	}
	resp.error = kapi_txn_fenced(resp.error, q->ver < 4);
	if (q->ver >= KWPID_FIRST_FLEXIBLE)
		wbuf_uvarint(&o->w, 0); /* response header v1: no tagged fields */
	kwpid_resp_encode(&o->w, q->ver, &resp);
	return 0;
}

/* ---- AddPartitionsToTxn, AddOffsetsToTxn, EndTxn ---- */

/* AddPartitionsToTxn's checks before the core (KafkaApis.handleAddPartitionToTransactionRequest):
 * true when a partition was refused (c->perr filled: the refused ones' errors, the others
 * OPERATION_NOT_ATTEMPTED). */
static bool kapi_txn_refuse_parts(struct broker *b, const struct kreq *q, struct kapi_txn_call *c)
{
	int32_t n = 0;
	for (int32_t i = 0; i < c->rq.ntopics; i++)
		n += c->rq.topics[i].n;
	c->perr = calloc(n > 0 ? (size_t)n : 1, sizeof(*c->perr));
	if (!c->perr)
		return false;
	bool refused = false;
	int32_t k = 0;
	for (int32_t i = 0; i < c->rq.ntopics; i++) {
		const struct kwtxn_topic *t = &c->rq.topics[i];
		bool allowed = !t->bad && kapi_acl_ok(b, q, KACL_RT_TOPIC, t->name, KACL_OP_WRITE);
		for (int32_t j = 0; j < t->n; j++, k++) {
			struct kb_topic *tp = NULL;
			if (!allowed)
				c->perr[k] = KE_TOPIC_AUTHORIZATION_FAILED;
			else if (!kb_part_find(b, t->name, t->parts[j], &tp) || tp->deleting)
				c->perr[k] = KE_UNKNOWN_TOPIC_OR_PARTITION;
			refused |= c->perr[k] != KE_NONE;
		}
	}
	for (int32_t i = 0; refused && i < n; i++)
		if (c->perr[i] == KE_NONE)
			c->perr[i] = KE_OPERATION_NOT_ATTEMPTED;
	if (!refused) {
		free(c->perr);
		c->perr = NULL;
	}
	return refused;
}

/* The first pass: decode, check, hand to the core. */
static int kapi_txn_first(struct broker *b, struct kreq *q, struct kwait *w)
{
	struct kapi_txn_call *c = kapi_txn_call_new(w);
	if (!c)
		return ERR_NOMEM;
	int rc = kwtxn_req_decode(&q->r, q->key, q->ver, &c->rq);
	if (rc)
		return rc == ERR_NOMEM ? ERR_NOMEM : ERR_PROTO;
	const struct kwtxn_req *r = &c->rq;
	struct ktxns *ts = kb_txns_core(b);
	if (!kapi_acl_ok(b, q, KACL_RT_TRANSACTIONAL_ID, r->txn_id, KACL_OP_WRITE)) {
		c->a.error = KE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		return 1;
	}
	if (!ts) {
		c->a.error = KE_COORDINATOR_NOT_AVAILABLE;
		return 1;
	}
	const uint8_t *id = (const uint8_t *)r->txn_id;
	size_t idlen = strlen(r->txn_id);
	int64_t now = kb_now_ms();
	switch (q->key) {
	case KWTXN_API_ADD_PARTITIONS: {
		if (kapi_txn_refuse_parts(b, q, c))
			return 1;
		int32_t n = 0;
		for (int32_t i = 0; i < r->ntopics; i++)
			n += r->topics[i].n;
		struct ktxn_tp *tps = calloc(n > 0 ? (size_t)n : 1, sizeof(*tps));
		if (!tps)
			return ERR_NOMEM;
		n = 0;
		for (int32_t i = 0; i < r->ntopics; i++)
			for (int32_t j = 0; j < r->topics[i].n; j++)
				tps[n++] = (struct ktxn_tp){ r->topics[i].name, r->topics[i].parts[j] };
		if (kapi_txn_hand(w, c))
			ktxns_add_partitions(ts, c, id, idlen, r->producer_id, r->producer_epoch, tps, n, now);
		free(tps);
		return 1;
	}
	case KWTXN_API_ADD_OFFSETS: {
		if (!kapi_acl_ok(b, q, KACL_RT_GROUP, r->group_id, KACL_OP_READ)) {
			c->a.error = KE_GROUP_AUTHORIZATION_FAILED;
			return 1;
		}
		int32_t np = 0;
		int16_t e = kb_groups_offsets_topic(b, &np);
		if (e) {
			c->a.error = e;
			return 1;
		}
		/* the group's offsets partition joins the transaction (its commit marker makes the
		 * transaction's offsets visible) */
		struct ktxn_tp tp = { KB_OFFSETS_TOPIC,
				      kgplace_partition((const uint8_t *)r->group_id, strlen(r->group_id), np) };
		if (kapi_txn_hand(w, c))
			ktxns_add_partitions(ts, c, id, idlen, r->producer_id, r->producer_epoch, &tp, 1, now);
		return 1;
	}
	default: /* EndTxn */
		if (kapi_txn_hand(w, c))
			ktxns_end(ts, c, id, idlen, r->producer_id, r->producer_epoch, r->commit, now);
		return 1;
	}
}

int kapi_txn_request(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	if (first)
		return kapi_txn_first(b, q, w);
	if (w->pending)
		return 1;
	struct kapi_txn_call *c = w->priv;
	int16_t err = kapi_txn_fenced(c->a.error, q->ver < 2);
	struct kwtxn_resp resp = { .throttle_ms = 0, .error = err };
	if (q->key != KWTXN_API_ADD_PARTITIONS)
		return kwtxn_resp_encode(&o->w, q->key, q->ver, &resp) ? ERR_NOMEM : 0;
	/* per partition: the checks' errors, or the coordinator's one error for all */
	int32_t n = 0;
	for (int32_t i = 0; i < c->rq.ntopics; i++)
		n += c->rq.topics[i].n;
	size_t ntr = c->rq.ntopics > 0 ? (size_t)c->rq.ntopics : 1, npr = n > 0 ? (size_t)n : 1;
	struct kwtxn_tresult *tr = calloc(ntr, sizeof(*tr));
	struct kwtxn_presult *pr = calloc(npr, sizeof(*pr));
	if (!tr || !pr) {
		free(tr);
		free(pr);
		return ERR_NOMEM;
	}
	int32_t k = 0;
	for (int32_t i = 0; i < c->rq.ntopics; i++) {
		tr[i].name = c->rq.topics[i].name;
		tr[i].n = c->rq.topics[i].n;
		tr[i].parts = &pr[k];
		for (int32_t j = 0; j < c->rq.topics[i].n; j++, k++) {
			pr[k].index = c->rq.topics[i].parts[j];
			pr[k].error = c->perr ? c->perr[k] : err;
		}
	}
	resp.ntopics = c->rq.ntopics;
	resp.topics = tr;
	int rc = kwtxn_resp_encode(&o->w, q->key, q->ver, &resp);
	free(tr);
	free(pr);
	return rc ? ERR_NOMEM : 0;
}

/* ---- TxnOffsetCommit ---- */

/* A TxnOffsetCommit between its passes (the kwait's priv). */
struct kapi_txo_call {
	struct broker *b;
	kb_admin_cb cb; /* the kwait slot the core's outcome fills (NULL once told) */
	void *ctx;
	struct kwtxn_req rq;
	int16_t *errs; /* per partition, in request order */
	int32_t n;
};

static void kapi_txo_call_free(void *p)
{
	struct kapi_txo_call *c = p;
	kwtxn_req_free(&c->rq);
	free(c->errs);
	free(c);
}

/* the group coordinator stored the offsets (err KE_NONE) or failed: the next pass answers */
static void kapi_txo_done(void *arg, int16_t err)
{
	struct kapi_txo_call *c = arg;
	for (int32_t i = 0; i < c->n; i++)
		if (c->errs[i] == KE_NONE)
			c->errs[i] = err;
	kb_admin_cb cb = c->cb;
	c->cb = NULL;
	if (cb)
		cb(c->b, c->ctx, KE_NONE, NULL);
}

/* The first pass: decode, check, hand the offsets to the group coordinator, which appends them
 * as the producer's transactional batch. */
static int kapi_txo_first(struct broker *b, struct kreq *q, struct kwait *w)
{
	struct kapi_txo_call *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->b = b;
	w->priv = c;
	w->priv_free = kapi_txo_call_free;
	int rc = kwtxn_req_decode(&q->r, q->key, q->ver, &c->rq);
	if (rc)
		return rc == ERR_NOMEM ? ERR_NOMEM : ERR_PROTO;
	const struct kwtxn_req *rq = &c->rq;
	int32_t n = 0;
	for (int32_t i = 0; i < rq->ntopics; i++)
		n += rq->topics[i].n;
	size_t sz = n > 0 ? (size_t)n : 1;
	c->n = n;
	c->errs = calloc(sz, sizeof(*c->errs));
	struct kgroup_txoff *offs = calloc(sz, sizeof(*offs));
	if (!c->errs || !offs) {
		free(offs);
		return ERR_NOMEM;
	}
	int16_t *errs = c->errs;
	/* KafkaApis.handleTxnOffsetCommitRequest: WRITE on the transactional id, READ on the group,
	 * READ on each topic */
	int16_t all = KE_NONE;
	if (!kapi_acl_ok(b, q, KACL_RT_TRANSACTIONAL_ID, rq->txn_id, KACL_OP_WRITE))
		all = KE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	else if (!kapi_acl_ok(b, q, KACL_RT_GROUP, rq->group_id, KACL_OP_READ))
		all = KE_GROUP_AUTHORIZATION_FAILED;
	int32_t k = 0;
	for (int32_t i = 0; i < rq->ntopics; i++) {
		const struct kwtxn_topic *t = &rq->topics[i];
		bool readable = !t->bad && kapi_acl_ok(b, q, KACL_RT_TOPIC, t->name, KACL_OP_READ);
		for (int32_t j = 0; j < t->n; j++, k++) {
			struct kb_topic *tp = NULL;
			if (all)
				errs[k] = all;
			else if (!readable)
				errs[k] = t->bad ? KE_UNKNOWN_TOPIC_OR_PARTITION : KE_TOPIC_AUTHORIZATION_FAILED;
			else if (!kb_part_find(b, t->name, t->parts[j], &tp) || tp->deleting)
				errs[k] = KE_UNKNOWN_TOPIC_OR_PARTITION;
			offs[k] = (struct kgroup_txoff){ .topic = { (const uint8_t *)t->name, (int32_t)strlen(t->name) },
							 .part = t->parts[j], .offset = t->offs[j].offset,
							 .leader_epoch = t->offs[j].leader_epoch,
							 .metadata = { t->offs[j].meta, t->offs[j].meta_len } };
		}
	}
	if (!all) {
		struct kgroups *gs = kb_groups_core(b);
		struct kgw_str g = { (const uint8_t *)rq->group_id, (int32_t)strlen(rq->group_id) };
		bool waiting = false;
		int16_t e = KE_COORDINATOR_NOT_AVAILABLE;
		/* the slot first: the core calls kapi_txo_done only later, but it must be counted */
		if (gs && !(c->cb = kwait_slot(w, 0, &c->ctx)))
			e = KE_UNKNOWN_SERVER_ERROR;
		else if (gs) {
			/* v3 (KIP-447): the consumer's generation, checked against the group */
			struct kgroup_txn_member who = {
				.member_id = { (const uint8_t *)rq->member_id,
					       rq->member_id ? (int32_t)strlen(rq->member_id) : 0 },
				.instance = { (const uint8_t *)rq->group_instance_id,
					      rq->group_instance_id ? (int32_t)strlen(rq->group_instance_id) : -1 },
				.generation = rq->generation_id
			};
			e = kgroups_txn_offsets(gs, g, rq->producer_id, rq->producer_epoch, &who, offs, n, errs,
						kapi_txo_done, c, &waiting, kb_now_ms());
		}
		if (!waiting && c->cb) { /* nothing under way: the slot is given back */
			kb_admin_cb cb = c->cb;
			c->cb = NULL;
			cb(b, c->ctx, KE_NONE, NULL);
		}
		if (e == KE_INVALID_PRODUCER_EPOCH && q->ver >= 2)
			e = KE_PRODUCER_FENCED;
		for (int32_t i = 0; e && i < n; i++)
			if (!errs[i])
				errs[i] = e;
	}
	free(offs);
	return 1;
}

int kapi_txn_offset_commit(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	if (first)
		return kwait_results(w, 1) ? ERR_NOMEM : kapi_txo_first(b, q, w);
	if (w->pending)
		return 1;
	struct kapi_txo_call *c = w->priv;
	const struct kwtxn_req *rq = &c->rq;
	struct kwtxn_tresult *tr = calloc(rq->ntopics > 0 ? (size_t)rq->ntopics : 1, sizeof(*tr));
	struct kwtxn_presult *pr = calloc(c->n > 0 ? (size_t)c->n : 1, sizeof(*pr));
	int rc = ERR_NOMEM;
	if (tr && pr) {
		int32_t k = 0;
		for (int32_t i = 0; i < rq->ntopics; i++) {
			tr[i].name = rq->topics[i].name;
			tr[i].n = rq->topics[i].n;
			tr[i].parts = &pr[k];
			for (int32_t j = 0; j < rq->topics[i].n; j++, k++) {
				int16_t e = c->errs[k];
				if (e == KE_INVALID_PRODUCER_EPOCH && q->ver >= 2)
					e = KE_PRODUCER_FENCED;
				pr[k] = (struct kwtxn_presult){ rq->topics[i].parts[j], e };
			}
		}
		struct kwtxn_resp resp = { .throttle_ms = 0, .ntopics = rq->ntopics, .topics = tr };
		if (q->ver >= KWTXN_TOC_FIRST_FLEXIBLE)
			wbuf_uvarint(&o->w, 0); /* response header v1: no tagged fields */
		rc = kwtxn_resp_encode(&o->w, q->key, q->ver, &resp) ? ERR_NOMEM : 0;
	}
	free(tr);
	free(pr);
	return rc;
}

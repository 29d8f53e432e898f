/*
 * kapi_produce — the Produce handler and its held responses (see kapi_produce.h).
 */
#include "kapi_produce.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_groups.h"
#include "kbatch.h"
#include "kconn.h"
#include "kout.h"
#include "kwprod.h"
#include "kreplica.h"
#include "log.h"
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

/* A Produce response held until the log's fsync that covers its append is done (STYLE rule 7:
 * durable, then acknowledged; log.flush.interval.messages). */
struct kflushwait {
	LIST_ENTRY(kflushwait) link; /* b->flush_waits */
	struct kresp *resp;
	const struct klog *log;
	int64_t upto; /* released once the log reports an fsync up to here */
};

/* An acks=all Produce held in the replica manager's purgatory: what its response is written
 * from (the per-partition results are in pr). */
struct kprodwait {
	LIST_ENTRY(kprodwait) link; /* b->prod_waits */
	struct broker *b;
	struct kresp *resp;
	struct krm_produce *pr;
	int16_t ver;
	int32_t corr;
	/* the decoded request: its topic names and partition indexes; its records slices are the
	 * request frame's and not used after kapi_produce_request returns */
	struct kwprod_req req;
	struct kwprod_tresp *tr; /* [req.n]: the response's topics */
	/* [req.nparts], one per krm_produce slot in request order: index, the error found before
	 * the replica manager (validation), log_append_time; the rest is filled at encoding */
	struct kwprod_presp *ps;
	char **msgs; /* error message per slot, NULL */
};

/* ---- Produce ---- */

struct produce_check {
	const struct kb_topic *t;
	int16_t err;
	int32_t nrecords;
	int32_t nbatches;
	bool idempotent;		  /* a batch carries a producer id */
	struct krm_producer prod; /* the first batch's producer fields (KIP-98) */
	char msg[320];
};

static int produce_check_batch(const uint8_t *p, size_t len, void *arg)
{
	struct produce_check *pc = arg;
	struct kbatch_hdr h;
	char eb[128];
	if (kbatch_validate(p, len, &h, eb, sizeof(eb))) {
		if (len >= 17 && p[16] != 2) {
			pc->err = KE_UNSUPPORTED_FOR_MESSAGE_FORMAT;
			snprintf(pc->msg, sizeof(pc->msg), "record batch magic %d: only format v2 is accepted", p[16]);
		} else {
			pc->err = KE_CORRUPT_MESSAGE;
			snprintf(pc->msg, sizeof(pc->msg), "%s", eb);
		}
		return -1;
	}
	if (pc->t->max_message_bytes > 0 && len > (size_t)pc->t->max_message_bytes) {
		pc->err = KE_MESSAGE_TOO_LARGE;
		snprintf(pc->msg, sizeof(pc->msg), "record batch of %zu bytes is over max.message.bytes %d", len,
			 pc->t->max_message_bytes);
		return -1;
	}
	if (h.attributes & KBATCH_CONTROL) { /* Kafka's LogValidator: markers come from coordinators only */
		pc->err = KE_INVALID_RECORD;
		snprintf(pc->msg, sizeof(pc->msg), "control batches are written by transaction coordinators only");
		return -1;
	}
	/* a transactional batch (KIP-98) is taken as Kafka 2.x/3.x before KIP-890 does: the leader
	 * does not ask the coordinator whether the partition was added to the transaction */
	if ((h.attributes & KBATCH_TRANSACTIONAL) && h.producer_id < 0) {
		pc->err = KE_INVALID_RECORD;
		snprintf(pc->msg, sizeof(pc->msg), "a transactional batch needs a producer id");
		return -1;
	}
	if (pc->nbatches++ == 0)
		pc->prod = (struct krm_producer){ h.producer_id, h.producer_epoch, h.base_sequence, h.records_count,
						  (h.attributes & KBATCH_TRANSACTIONAL) != 0 };
	pc->idempotent |= h.producer_id >= 0;
	pc->nrecords += h.records_count;
	return 0;
}

/* The append at first offset base started a flush-policy fsync still in flight: its response
 * waits for it. Without memory for the wait, the fsync is done here on the loop instead. */
static void produce_hold(struct broker *b, struct kresp *resp, struct klog *l, int64_t base)
{
	int64_t upto = klog_flush_pending(l);
	if (upto <= base)
		return;
	struct kflushwait *fw = calloc(1, sizeof(*fw));
	if (!fw) {
		char eb[128];
		klog_flush(l, eb, sizeof(eb));
		return;
	}
	fw->resp = resp;
	fw->log = l;
	fw->upto = upto;
	resp->holds++;
	LIST_INSERT_HEAD(&b->flush_waits, fw, link);
}

void kapi_produce_flushed(struct klog *l, int64_t offset, void *arg)
{
	struct broker *b = arg;
	if (b->rm)
		krm_flushed(b->rm, l, offset);
	kb_groups_flushed(b, l, offset); /* offset commits waiting for their fsync */
	struct kflushwait *fw, *next;
	for (fw = LIST_FIRST(&b->flush_waits); fw; fw = next) {
		next = LIST_NEXT(fw, link);
		if (fw->log != l || fw->upto > offset)
			continue;
		LIST_REMOVE(fw, link);
		struct kresp *resp = fw->resp;
		free(fw);
		if (--resp->holds == 0 && resp->buf) {
			resp->done = true;
			kconn_flush(resp->conn);
		}
	}
}

static void kprod_free(struct kprodwait *pw)
{
	if (!pw)
		return;
	krm_produce_free(pw->pr);
	for (size_t i = 0; pw->msgs && i < pw->req.nparts; i++)
		free(pw->msgs[i]);
	free(pw->msgs);
	free(pw->ps);
	free(pw->tr);
	kwprod_req_free(&pw->req);
	free(pw);
}

/* The Produce response from the per-partition results (krm_produce slots, in request order);
 * called once per request. */
static void produce_encode(struct wbuf *w, struct kprodwait *pw)
{
	for (size_t slot = 0; slot < pw->req.nparts; slot++) {
		const struct krm_pres *res = krm_produce_result(pw->pr, slot);
		struct kwprod_presp *p = &pw->ps[slot];
		int16_t err = p->error ? p->error : res->error;
		p->error = err;
		p->base_offset = err ? -1 : res->base_offset;
		p->log_append_time = err ? -1 : p->log_append_time;
		p->log_start = res->log_start;
		p->msg = err ? pw->msgs[slot] : NULL;
	}
	struct kwprod_resp m = { .n = pw->req.n, .topics = pw->tr, .throttle_ms = 0 };
	kwprod_resp_encode(w, pw->ver, &m);
}

/* The purgatory answered the last waiting partition of a held acks=all Produce. */
static void produce_completed(void *arg, struct krm_produce *pr)
{
	struct kprodwait *pw = arg;
	struct kout o;
	(void)pr;
	LIST_REMOVE(pw, link);
	struct kresp *resp = pw->resp;
	kout_init(&o, pw->corr);
	produce_encode(&o.w, pw);
	kprod_free(pw);
	if (!o.eb || kout_finish(&o, resp)) {
		/* no memory for the answer: the client times out and retries, as on a lost response */
		net_conn_close(resp->conn->nc, ERR_NOMEM);
		return;
	}
	if (resp->holds)
		resp->done = false; /* the fsync it also waits for sends it (kapi_produce_flushed) */
	kconn_flush(resp->conn);
}

/* Returns 0 (answered in o), 1 (acks=0: no response), 2 (held in the purgatory: the response
 * is written when the ISR has every acks=all partition), 3 (acks=0 with a partition refused:
 * the connection is to be closed), or < 0 (malformed). The request
 * bytes are kwprod's. */
int kapi_produce_request(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp)
{
	int64_t now = kb_now_ms();
	struct kprodwait *pw = calloc(1, sizeof(*pw));
	if (!pw)
		return ERR_NOMEM;
	int rc = kwprod_req_decode(&q->r, q->ver, &pw->req);
	if (rc) {
		kprod_free(pw);
		return rc;
	}
	const struct kwprod_req *pq = &pw->req;
	int16_t acks = pq->acks;
	int32_t timeout = pq->timeout_ms;
	size_t nslots = pq->nparts;
	size_t ns = nslots ? nslots : 1;
	pw->b = b;
	pw->resp = resp;
	pw->ver = q->ver;
	pw->corr = q->corr;
	pw->tr = calloc((size_t)(pq->n ? pq->n : 1), sizeof(*pw->tr));
	pw->ps = calloc(ns, sizeof(*pw->ps));
	pw->msgs = calloc(ns, sizeof(char *));
	pw->pr = b->rm ? krm_produce_new(b->rm, nslots, produce_completed, pw) : NULL;
	if (!pw->tr || !pw->ps || !pw->msgs || !pw->pr) {
		kprod_free(pw);
		return ERR_NOMEM;
	}
	size_t slot = 0;
	for (int32_t ti = 0; ti < pq->n; ti++) {
		const struct kwprod_topic *pt = &pq->topics[ti];
		const char *name = pt->name;
		pw->tr[ti].name = name;
		pw->tr[ti].n = pt->n;
		pw->tr[ti].parts = &pw->ps[slot];
		bool allowed = kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_WRITE);
		for (int32_t pi = 0; pi < pt->n; pi++, slot++) {
			int32_t idx = pt->parts[pi].index;
			const uint8_t *rec = pt->parts[pi].records;
			int32_t rlen = pt->parts[pi].len;
			struct kb_topic *t = NULL;
			struct kb_part *p = pt->bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			struct produce_check pc = { .t = t, .prod = { -1, -1, -1, 0, false } };
			pw->ps[slot].index = idx;
			pw->ps[slot].log_append_time = -1;
			if (acks != 0 && acks != 1 && acks != -1) {
				err = KE_INVALID_REQUIRED_ACKS;
			} else if (!allowed) {
				err = KE_TOPIC_AUTHORIZATION_FAILED;
			} else if (!strcmp(name, KB_OFFSETS_TOPIC) && p) {
				/* Kafka's ReplicaManager: only the group coordinator appends there */
				err = KE_INVALID_TOPIC_EXCEPTION;
				snprintf(pc.msg, sizeof(pc.msg), "Cannot append to internal topic %s", name);
			} else if (!p || t->deleting) {
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (!krm_hosted(b->rm, name, idx)) {
				err = KE_NOT_LEADER_OR_FOLLOWER;
			} else if (rlen <= 0) {
				err = KE_INVALID_RECORD;
				snprintf(pc.msg, sizeof(pc.msg), "no records");
			} else {
				char eb[256];
				/* the records live inside the request frame, which we may modify */
				uint8_t *mrec = q->p + (rec - q->p);
				if (kbatch_foreach(mrec, (size_t)rlen, produce_check_batch, &pc, eb, sizeof(eb))) {
					if (!pc.err) {
						pc.err = KE_CORRUPT_MESSAGE;
						snprintf(pc.msg, sizeof(pc.msg), "%s", eb);
					}
					err = pc.err;
				} else if (pc.idempotent && pc.nbatches > 1) {
					/* Kafka's LogValidator: an idempotent producer's sequence covers one batch */
					err = KE_INVALID_RECORD;
					snprintf(pc.msg, sizeof(pc.msg),
						 "One record batch per partition is expected with a producer id, but the request had %d",
						 pc.nbatches);
				} else {
					struct klog *l = NULL;
					int16_t e = krm_append(b->rm, pw->pr, slot, name, idx, mrec, (size_t)rlen, pc.nrecords,
							       &pc.prod, acks, now + (timeout > 0 ? timeout : 0), t->log_append_time,
							       now, &l);
					if (l) { /* appended */
						if (t->log_append_time)
							pw->ps[slot].log_append_time = now;
						if (acks != 0)
							produce_hold(b, resp, l, krm_produce_result(pw->pr, slot)->base_offset);
						b->appends++;
						t->m_msgs_in += (uint64_t)pc.nrecords;
						t->m_bytes_in += (uint64_t)rlen;
					} else if (e == KE_KAFKA_STORAGE_ERROR) {
						log_error(API_MOD, "append to %s-%d failed", name, idx);
					}
				}
				if (err)
					log_warn(API_MOD, "produce to %s-%d from %s refused (error %d): %s", name, idx,
						 q->key == API_PRODUCE ? "client" : "?", err, pc.msg);
			}
			pw->ps[slot].error = err;
			if (pc.msg[0] && err)
				pw->msgs[slot] = strdup(pc.msg);
		}
	}
	for (int32_t ti = 0; ti < pw->req.n; ti++) /* the frame is the caller's: no slice outlives this call */
		for (int32_t pi = 0; pi < pw->req.topics[ti].n; pi++)
			pw->req.topics[ti].parts[pi].records = NULL;
	if (acks == 0) {
		/* no response at all; acks=0 never waits in the purgatory. A partition refused: Kafka
		 * closes the connection, the only way such a producer learns that something failed
		 * (its next send reconnects and refreshes its metadata) */
		int refused = 0;
		for (size_t i = 0; i < nslots && !refused; i++)
			refused = pw->ps[i].error != KE_NONE;
		kprod_free(pw);
		return refused ? 3 : 1;
	}
	if (!krm_produce_submit(b->rm, pw->pr)) {
		LIST_INSERT_HEAD(&b->prod_waits, pw, link);
		return 2;
	}
	produce_encode(&o->w, pw);
	kprod_free(pw);
	return 0;
}

void kapi_produce_conn_gone(struct kconn *c)
{
	struct broker *b = c->b;
	/* Produce responses waiting for an fsync: nobody to send them to (the fsync still runs) */
	struct kflushwait *fw, *fnext;
	for (fw = LIST_FIRST(&b->flush_waits); fw; fw = fnext) {
		fnext = LIST_NEXT(fw, link);
		if (fw->resp->conn == c) {
			LIST_REMOVE(fw, link);
			free(fw);
		}
	}
	/* acks=all produces of this connection held in the purgatory: forgotten (their records
	 * stay appended and replicate; only the answer has nobody to go to) */
	struct kprodwait *pw, *pnext;
	for (pw = LIST_FIRST(&b->prod_waits); pw; pw = pnext) {
		pnext = LIST_NEXT(pw, link);
		if (pw->resp->conn == c) {
			LIST_REMOVE(pw, link);
			kprod_free(pw);
		}
	}
}

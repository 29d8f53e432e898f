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
#include "kwire.h"
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
	int32_t nt;	/* topics, in request order */
	char **names;	/* [nt] */
	int32_t *np;	/* partitions per topic */
	int32_t *idx;	/* partition ids, all topics back to back (krm_produce slots) */
	int64_t *lat;	/* log_append_time per slot, -1 */
	char **msgs;	/* error message per slot, NULL */
	int16_t *errs;	/* errors found before the replica manager (validation), per slot */
};

/* ---- Produce ---- */

struct produce_check {
	const struct kb_topic *t;
	int16_t err;
	int32_t nrecords;
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
	if (h.attributes & 0x10) { /* transactional: no transaction coordinator here */
		pc->err = KE_INVALID_RECORD;
		snprintf(pc->msg, sizeof(pc->msg), "transactional batches are not supported");
		return -1;
	}
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
	size_t n = pw->pr ? krm_produce_count(pw->pr) : 0;
	krm_produce_free(pw->pr);
	for (int32_t i = 0; pw->names && i < pw->nt; i++)
		free(pw->names[i]);
	for (size_t i = 0; pw->msgs && i < n; i++)
		free(pw->msgs[i]);
	free(pw->names);
	free(pw->np);
	free(pw->idx);
	free(pw->lat);
	free(pw->msgs);
	free(pw->errs);
	free(pw);
}

/* The Produce response from the per-partition results (krm_produce slots, in request order). */
static void produce_encode(struct wbuf *w, const struct kprodwait *pw)
{
	size_t slot = 0;
	wbuf_i32(w, pw->nt);
	for (int32_t ti = 0; ti < pw->nt; ti++) {
		wbuf_str_i16(w, pw->names[ti]);
		wbuf_i32(w, pw->np[ti]);
		for (int32_t pi = 0; pi < pw->np[ti]; pi++, slot++) {
			const struct krm_pres *res = krm_produce_result(pw->pr, slot);
			int16_t err = pw->errs[slot] ? pw->errs[slot] : res->error;
			wbuf_i32(w, pw->idx[slot]);
			wbuf_i16(w, err);
			wbuf_i64(w, err ? -1 : res->base_offset);
			wbuf_i64(w, err ? -1 : pw->lat[slot]);
			if (pw->ver >= 5)
				wbuf_i64(w, res->log_start);
			if (pw->ver >= 8) {
				wbuf_i32(w, 0); /* record_errors */
				wbuf_str_i16(w, err && pw->msgs[slot] ? pw->msgs[slot] : NULL);
			}
		}
	}
	wbuf_i32(w, 0); /* throttle_time_ms */
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

/* Counts the partitions of a Produce body (the first pass sizes the result slots). */
static int produce_count(struct rbuf r, int32_t nt, size_t *n)
{
	*n = 0;
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		kwire_str_read(&r, name, sizeof(name), NULL);
		int32_t np = kwire_count_read(&r, 8);
		if (r.err || np < 0)
			return ERR_PROTO;
		for (int32_t pi = 0; pi < np; pi++) {
			int32_t idx, rlen;
			const uint8_t *rec;
			rbuf_i32(&r, &idx);
			rbuf_bytes_i32(&r, r.len, &rec, &rlen);
			if (r.err)
				return ERR_PROTO;
		}
		*n += (size_t)np;
	}
	return 0;
}

/* Returns 0 (answered in o), 1 (acks=0: no response), 2 (held in the purgatory: the response
 * is written when the ISR has every acks=all partition), or < 0 (malformed). */
int kapi_produce_request(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp)
{
	struct rbuf *r = &q->r;
	char txn[256];
	int16_t acks;
	int32_t timeout;
	bool txn_null = true;
	kwire_str_read(r, txn, sizeof(txn), &txn_null);
	rbuf_i16(r, &acks);
	rbuf_i32(r, &timeout);
	int32_t nt = kwire_count_read(r, 6);
	size_t nslots = 0;
	if (r->err || nt < 0 || produce_count(*r, nt, &nslots))
		return ERR_PROTO;
	int64_t now = kb_now_ms();
	struct kprodwait *pw = calloc(1, sizeof(*pw));
	size_t ns = nslots ? nslots : 1;
	if (pw) {
		pw->b = b;
		pw->resp = resp;
		pw->ver = q->ver;
		pw->corr = q->corr;
		pw->nt = nt;
		pw->names = calloc((size_t)(nt ? nt : 1), sizeof(char *));
		pw->np = calloc((size_t)(nt ? nt : 1), sizeof(int32_t));
		pw->idx = calloc(ns, sizeof(int32_t));
		pw->lat = calloc(ns, sizeof(int64_t));
		pw->msgs = calloc(ns, sizeof(char *));
		pw->errs = calloc(ns, sizeof(int16_t));
		pw->pr = b->rm ? krm_produce_new(b->rm, nslots, produce_completed, pw) : NULL;
	}
	if (!pw || !pw->names || !pw->np || !pw->idx || !pw->lat || !pw->msgs || !pw->errs || !pw->pr) {
		kprod_free(pw);
		return ERR_NOMEM;
	}
	size_t slot = 0;
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = kwire_str_read(r, name, sizeof(name), NULL);
		int32_t np = kwire_count_read(r, 8);
		bool allowed = kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_WRITE);
		pw->names[ti] = strdup(name);
		pw->np[ti] = np;
		if (!pw->names[ti]) {
			kprod_free(pw);
			return ERR_NOMEM;
		}
		for (int32_t pi = 0; pi < np; pi++, slot++) {
			int32_t idx;
			const uint8_t *rec;
			int32_t rlen;
			rbuf_i32(r, &idx);
			rbuf_bytes_i32(r, r->len, &rec, &rlen);
			struct kb_topic *t = NULL;
			struct kb_part *p = bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			struct produce_check pc = { t, 0, 0, "" };
			pw->idx[slot] = idx;
			pw->lat[slot] = -1;
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
				} else {
					struct klog *l = NULL;
					int16_t e = krm_append(b->rm, pw->pr, slot, name, idx, mrec, (size_t)rlen, pc.nrecords,
							       acks, now + (timeout > 0 ? timeout : 0), t->log_append_time,
							       now, &l);
					if (l) { /* appended */
						if (t->log_append_time)
							pw->lat[slot] = now;
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
			pw->errs[slot] = err;
			if (pc.msg[0] && err)
				pw->msgs[slot] = strdup(pc.msg);
		}
	}
	if (acks == 0) {
		kprod_free(pw); /* no response at all; acks=0 never waits in the purgatory */
		return 1;
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

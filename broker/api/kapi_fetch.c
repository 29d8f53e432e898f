/*
 * kapi_fetch — the Fetch handler (see kapi_fetch.h): the request and response bytes are
 * kwfetch's; this answers each partition from the replica manager.
 */
#include "kapi_fetch.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kconn.h"
#include "kfpurg.h"
#include "kout.h"
#include "kwfetch.h"
#include "log.h"
#include "kreplica.h"
#include "ktxnidx.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- Fetch ---- */

int64_t kapi_fetch_answer(struct broker *b, int16_t ver, const struct kwfetch_req *fq, const int16_t *terr,
			  struct kout *o, bool *now)
{
	/* Kafka's ReplicaManager.fetchMessages answers at once, without waiting for min_bytes, when
	 * no partition was authorized or one of those read has an error (not the leader, unknown,
	 * fenced epoch, out of range): waiting would not change the answer */
	int32_t read = 0;
	bool failed = false;
	struct wbuf *w = &o->w;
	int32_t replica = fq->replica_id;
	int32_t max_bytes = fq->max_bytes;
	if (max_bytes <= 0)
		max_bytes = 1;
	/* no fetch session: every fetch is a full one (session 0) */
	kwfetch_resp_head(w, ver, 0, KE_NONE, 0, fq->n);
	int64_t total = 0;
	for (int32_t ti = 0; ti < fq->n; ti++) {
		const struct kwfetch_topic *ft = &fq->topics[ti];
		const char *name = ft->name;
		int16_t refused = terr ? terr[ti] : KE_NONE;
		kwfetch_resp_topic(w, ver, name, ft->n);
		for (int32_t pi = 0; pi < ft->n; pi++) {
			const struct kwfetch_part *fp = &ft->parts[pi];
			int32_t idx = fp->partition;
			struct kb_topic *t = NULL;
			struct kb_part *p = ft->bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			struct klog_slice sl = { -1, 0, 0 };
			int64_t hw = -1, start = -1;
			struct krm_fetch_txn tx = { .read_committed = false, .lso = -1, .aborted = NULL, .n_aborted = 0 };
			if (refused != KE_NONE) {
				err = refused;
			} else if (!p || t->deleting) {
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (!krm_hosted(b->rm, name, idx)) {
				err = KE_NOT_LEADER_OR_FOLLOWER;
			} else {
				size_t room = total >= max_bytes ? 0 : (size_t)(max_bytes - total);
				size_t want = fp->max_bytes > 0 ? (size_t)fp->max_bytes : 0;
				if (want > room)
					want = room;
				/* KIP-74: the first non-empty partition returns at least one batch */
				if (total == 0 && want == 0)
					want = 1;
				/* a follower (replica >= 0) moves its LEO, the ISR and the HW here; a consumer
				 * reads up to the HW, or the LSO with read_committed (KIP-320 fencing by
				 * cur_epoch, fetch v9+) */
				tx.read_committed = replica < 0 && fq->isolation_level == 1;
				err = krm_fetch_txn(b->rm, name, idx, replica < 0 ? -1 : replica, fp->current_leader_epoch,
						    fp->fetch_offset, want, kb_now_ms(), &tx, &sl, &hw, &start);
			}
			/* KIP-98: read_committed gets the aborted transactions (an empty list, not null) */
			struct kwfetch_aborted *ab = NULL;
			if (tx.n_aborted) {
				ab = calloc(tx.n_aborted, sizeof(*ab));
				for (size_t k = 0; ab && k < tx.n_aborted; k++)
					ab[k] = (struct kwfetch_aborted){ tx.aborted[k].producer_id, tx.aborted[k].first_offset };
				if (!ab) { /* records without their aborted list would show aborted ones */
					if (sl.fd >= 0)
						close(sl.fd);
					sl = (struct klog_slice){ -1, 0, 0 };
					err = KE_UNKNOWN_SERVER_ERROR;
				}
			}
			if (refused == KE_NONE) {
				read++;
				failed = failed || err != KE_NONE;
			}
			bool send = sl.len > 0 && sl.fd >= 0;
			struct kwfetch_presp pr = { .partition = idx,
						    .error = err,
						    .high_watermark = hw,
						    .last_stable_offset = err == KE_NONE && tx.lso >= 0 ? tx.lso : hw,
						    .log_start = start,
						    .has_aborted = replica < 0 && fq->isolation_level == 1 && err == KE_NONE,
						    .n_aborted = ab ? (int32_t)tx.n_aborted : 0,
						    .aborted = ab,
						    .records_len = send ? (int32_t)sl.len : 0 };
			kwfetch_resp_part(w, ver, &pr);
			free(ab);
			free(tx.aborted);
			if (send) {
				kout_file(o, sl.fd, sl.pos, sl.len);
				total += (int64_t)sl.len;
				if (replica < 0)
					kout_tally(o, t, sl.len);
			} else if (sl.fd >= 0) {
				close(sl.fd);
			}
		}
	}
	if (now)
		*now = read == 0 || failed;
	return total;
}

/* The authorizer's decision for each topic of fq (KE_NONE: allowed, else the error each of its
 * partitions is answered with): a new array the caller frees, or NULL without memory. Kafka's
 * KafkaApis.handleFetchRequest: a consumer needs READ on the topic, a follower (replica_id >= 0)
 * CLUSTER_ACTION on the cluster. Made once, when the request arrives (its connection's
 * principal); a fetch held in the purgatory keeps it to the end, as Kafka's DelayedFetch
 * completes only the partitions authorized when the request was handled. */
static int16_t *kapi_fetch_authorize(struct broker *b, const struct kreq *q, const struct kwfetch_req *fq)
{
	int16_t *terr = calloc(fq->n > 0 ? (size_t)fq->n : 1, sizeof(*terr));
	if (!terr)
		return NULL;
	for (int32_t ti = 0; ti < fq->n; ti++) {
		if (fq->replica_id >= 0)
			terr[ti] = kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CLUSTER_ACTION)
					   ? KE_NONE
					   : KE_CLUSTER_AUTHORIZATION_FAILED;
		else
			terr[ti] = kapi_acl_ok(b, q, KACL_RT_TOPIC, fq->topics[ti].name, KACL_OP_READ)
					   ? KE_NONE
					   : KE_TOPIC_AUTHORIZATION_FAILED;
	}
	return terr;
}

/* A fetch in the purgatory: where and how its answer goes, and what was refused. */
struct kapi_fwait {
	struct kresp *resp; /* its slot in the connection's queue */
	int16_t ver;
	int32_t corr;
	int16_t *terr; /* owned: kapi_fetch_authorize's decision, per topic of the request */
};

static void kapi_fwait_free(struct kapi_fwait *fw)
{
	if (!fw)
		return;
	free(fw->terr);
	free(fw); /* the slot is the connection's (or already freed with it) */
}

static void kapi_fetch_drop(void *arg)
{
	kapi_fwait_free(arg);
}

int kapi_fetch_request(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp)
{
	struct kwfetch_req fq;
	int rc = kwfetch_req_decode(&q->r, q->ver, &fq);
	if (rc) {
		kwfetch_req_free(&fq);
		return rc;
	}
	int16_t *terr = kapi_fetch_authorize(b, q, &fq);
	if (!terr) {
		kwfetch_req_free(&fq);
		return ERR_NOMEM;
	}
	bool now = false;
	int64_t got = kapi_fetch_answer(b, q->ver, &fq, terr, o, &now);
	if (now || got >= fq.min_bytes || fq.max_wait_ms <= 0) {
		free(terr);
		kwfetch_req_free(&fq);
		return 0;
	}
	/* not enough yet: wait in the purgatory for its partitions or its deadline, with the
	 * authorizer's decision (a retry has no request header to decide again from) */
	if (!b->fpurg)
		b->fpurg = kfpurg_new();
	struct kapi_fwait *fw = malloc(sizeof(*fw));
	if (fw)
		*fw = (struct kapi_fwait){ .resp = resp, .ver = q->ver, .corr = q->corr, .terr = terr };
	if (!b->fpurg || !fw || !kfpurg_add(b->fpurg, &fq, kb_now_ms() + fq.max_wait_ms, fw)) {
		if (fw)
			kapi_fwait_free(fw);
		else
			free(terr);
		kwfetch_req_free(&fq);
		return ERR_NOMEM;
	}
	return 2;
}

void kapi_fetch_touch(struct broker *b, const char *topic, int32_t part)
{
	if (b->fpurg)
		kfpurg_touch(b->fpurg, topic, part);
}

void kapi_fetch_retry(struct broker *b)
{
	kapi_fetch_retry_at(b, kb_now_ms());
}

void kapi_fetch_retry_at(struct broker *b, int64_t now)
{
	if (!b->fpurg)
		return;
	kfpurg_due(b->fpurg, now);
	kfpurg_begin(b->fpurg);
	struct kfpurg_wait *w;
	while ((w = kfpurg_pop(b->fpurg))) {
		struct kapi_fwait *fw = kfpurg_arg(w);
		const struct kwfetch_req *fq = kfpurg_req(w);
		struct kconn *c = fw->resp->conn;
		struct kout o;
		kout_init(&o, fw->corr);
		if (kconn_tls(c))
			kout_no_sendfile(&o); /* TLS: the records are copied through the connection */
		bool at_once = false;
		int64_t got = kapi_fetch_answer(b, fw->ver, fq, fw->terr, &o, &at_once);
		if (!at_once && got < fq->min_bytes && now < kfpurg_deadline(w)) {
			kout_abort(&o);
			kfpurg_rewait(b->fpurg, w);
			continue;
		}
		/* enough bytes, an error (say, no longer the leader), or its deadline: answered with
		 * what there is */
		kout_finish(&o, fw->resp); /* the connection's queue owns the slot */
		kfpurg_remove(b->fpurg, w);
		kapi_fwait_free(fw);
		kconn_flush(c);
	}
}

void kapi_fetch_conn_gone(struct kconn *c)
{
	struct broker *b = c->b;
	if (!b->fpurg)
		return;
	struct kfpurg_wait *w, *next;
	for (w = kfpurg_first(b->fpurg); w; w = next) {
		next = kfpurg_next(w);
		struct kapi_fwait *fw = kfpurg_arg(w);
		if (fw->resp->conn != c)
			continue;
		kfpurg_remove(b->fpurg, w); /* its slot goes with the connection's queue */
		kapi_fwait_free(fw);
	}
}

void kapi_fetch_free_all(struct broker *b)
{
	kfpurg_free(b->fpurg, kapi_fetch_drop);
	b->fpurg = NULL;
}

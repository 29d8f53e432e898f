/*
 * kb_txns — the transaction coordinator's core wired to the broker: the state topic, its
 * partitions' leadership, loading, acks=all appends, marker rounds and the clock (see
 * kb_txns.h).
 */
#include "kb_txns.h"

#include "buf.h"
#include "err.h"
#include "kb_broker.h"
#include "kb_clog.h"
#include "kb_cluster.h"
#include "kb_kcall.h"
#include "kb_pid.h"
#include "kerr.h"
#include "krepl.h"
#include "kreplica.h"
#include "ktxn.h"
#include "kwmark.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

static const char *const TXN_MOD = "transaction-coordinator";

#define KB_TXNS_SYNC_MS 100	     /* the leadership backstop check on the tick */
#define KB_TXNS_APPEND_MS 30000	     /* a state write waits this long for its replicas */
#define KB_TXNS_MARK_RETRY_MS 200    /* partitions whose marker was not acknowledged: again */
#define KB_TXNS_MARK_TIMEOUT_MS 30000 /* one WriteTxnMarkers call's answer */
#define KB_TXNS_MARK_ANSWER_MAX (16u << 20)

struct kb_mround;

/* One WriteTxnMarkers call to a leader: the round's partitions it carries (indexes). */
struct kb_mcall {
	LIST_ENTRY(kb_mcall) link; /* r->calls */
	struct kb_mround *r;
	struct kb_kcall *k;
	int32_t leader;
	int32_t n;
	int32_t *idx;
};

struct kb_mpart {
	char topic[KWIRE_TOPIC_BUF];
	int32_t part;
	bool done;
	bool sent; /* in a call under way */
};

/* The markers of one transaction, until every partition's leader acknowledged them. */
struct kb_mround {
	LIST_ENTRY(kb_mround) link; /* t->rounds */
	struct kb_txns *t;
	uint64_t id;
	int64_t pid;
	int16_t epoch;
	bool commit;
	int32_t coord_epoch;
	int32_t n, left;
	struct kb_mpart *parts;
	LIST_HEAD(, kb_mcall) calls;
	int64_t next_try;
	int64_t logged; /* the last time a refusal was logged */
};

struct kb_txns {
	struct broker *b;
	struct ktxns *ts;
	kb_txns_reply_fn reply;
	struct kb_clog *clog;
	int32_t core_nparts;
	bool *owned; /* [nowned] */
	int32_t nowned;
	int64_t last_sync_ms;
	LIST_HEAD(, kb_mround) rounds;
	struct event *kick; /* sends new rounds from the loop */
};

/* ---- marker rounds ---- */

static void kb_mround_free(struct kb_mround *r)
{
	struct kb_mcall *c;
	while ((c = LIST_FIRST(&r->calls))) {
		LIST_REMOVE(c, link);
		kb_kcall_cancel(c->k);
		free(c->idx);
		free(c);
	}
	LIST_REMOVE(r, link);
	free(r->parts);
	free(r);
}

static void kb_mcall_answer(void *arg, int err, const uint8_t *body, size_t len, const char *why)
{
	struct kb_mcall *c = arg;
	struct kb_mround *r = c->r;
	struct kb_txns *t = r->t;
	int64_t now = kb_now_ms();
	LIST_REMOVE(c, link);
	for (int32_t i = 0; i < c->n; i++)
		r->parts[c->idx[i]].sent = false;
	int16_t refused = KE_NONE;
	if (err) {
		if (now - r->logged >= 5000) {
			r->logged = now;
			log_warn(TXN_MOD, "markers of producer %lld to broker %d: %s; retrying", (long long)r->pid, c->leader,
				 why);
		}
	} else {
		struct rbuf rb = rbuf_make(body, len);
		struct kwmark_resp resp;
		if (kwmark_resp_decode(&rb, 0, &resp) == 0) {
			for (int32_t m = 0; m < resp.n; m++)
				for (int32_t ti = 0; ti < resp.markers[m].n; ti++) {
					const struct kwmark_tresult *tr = &resp.markers[m].topics[ti];
					for (int32_t pi = 0; pi < tr->n; pi++) {
						for (int32_t i = 0; i < c->n; i++) {
							struct kb_mpart *mp = &r->parts[c->idx[i]];
							if (mp->done || mp->part != tr->parts[pi].index ||
							    strcmp(mp->topic, tr->name))
								continue;
							if (tr->parts[pi].error == KE_NONE) {
								mp->done = true;
								r->left--;
							} else {
								refused = tr->parts[pi].error;
							}
						}
					}
				}
		} else {
			refused = KE_UNKNOWN_SERVER_ERROR;
		}
		kwmark_resp_free(&resp);
		if (refused && now - r->logged >= 5000) {
			r->logged = now;
			log_warn(TXN_MOD, "markers of producer %lld: broker %d answered error %d; retrying", (long long)r->pid,
				 c->leader, refused);
		}
	}
	free(c->idx);
	free(c);
	if (r->left == 0 && LIST_EMPTY(&r->calls)) {
		uint64_t id = r->id;
		log_info(TXN_MOD, "%s markers of producer %lld epoch %d written to %d partition(s)",
			 r->commit ? "commit" : "abort", (long long)r->pid, r->epoch, r->n);
		kb_mround_free(r);
		if (t->ts)
			ktxns_markers_done(t->ts, id, now);
		return;
	}
	if (!err && !refused)
		r->next_try = now; /* another leader's partitions may still be waiting */
}

/* Sends the not-yet-acknowledged partitions of r that no call carries, one call per leader. */
static void kb_mround_send(struct kb_mround *r, int64_t now)
{
	struct kb_txns *t = r->t;
	struct broker *b = t->b;
	r->next_try = now + KB_TXNS_MARK_RETRY_MS;
	for (int32_t i = 0; i < r->n; i++) { /* partitions of deleted topics: done (as Kafka drops them) */
		struct kb_mpart *mp = &r->parts[i];
		struct kb_topic *tp = NULL;
		if (!mp->done && !mp->sent && !kb_part_find(b, mp->topic, mp->part, &tp) && !kb_topic_find(b, mp->topic)) {
			mp->done = true;
			r->left--;
		}
	}
	for (int32_t i = 0; i < r->n; i++) {
		struct kb_mpart *first = &r->parts[i];
		struct kb_topic *tp = NULL;
		if (first->done || first->sent)
			continue;
		struct kb_part *pp = kb_part_find(b, first->topic, first->part, &tp);
		if (!pp || pp->leader < 0)
			continue;
		int32_t leader = pp->leader;
		const struct kb_node *nd = NULL;
		for (int32_t k = 0; k < b->nnodes; k++)
			if (b->nodes[k].id == leader)
				nd = &b->nodes[k];
		if (!nd)
			continue;
		/* every partition of the round led by this leader: one marker, topics grouped */
		struct kb_mcall *c = calloc(1, sizeof(*c));
		int32_t *idx = calloc((size_t)r->n, sizeof(*idx));
		struct kwmark_topic *kt = calloc((size_t)r->n, sizeof(*kt));
		int32_t *kparts = calloc((size_t)r->n, sizeof(*kparts));
		if (!c || !idx || !kt || !kparts) {
			free(c);
			free(idx);
			free(kt);
			free(kparts);
			return;
		}
		int32_t n = 0, nt = 0;
		for (int32_t j = i; j < r->n; j++) {
			struct kb_mpart *mp = &r->parts[j];
			struct kb_part *q = mp->done || mp->sent ? NULL : kb_part_find(b, mp->topic, mp->part, &tp);
			if (!q || q->leader != leader)
				continue;
			idx[n++] = j;
		}
		/* topics in order of first appearance, their partitions contiguous in kparts */
		int32_t np = 0;
		for (int32_t a = 0; a < n; a++) {
			const char *name = r->parts[idx[a]].topic;
			bool seen = false;
			for (int32_t x = 0; x < nt && !seen; x++)
				seen = !strcmp(kt[x].name, name);
			if (seen)
				continue;
			struct kwmark_topic *w = &kt[nt++];
			snprintf(w->name, sizeof(w->name), "%s", name);
			w->parts = &kparts[np];
			for (int32_t z = a; z < n; z++)
				if (!strcmp(r->parts[idx[z]].topic, name))
					kparts[np++] = r->parts[idx[z]].part, w->n++;
		}
		struct kwmark_marker mk = { .producer_id = r->pid, .producer_epoch = r->epoch, .commit = r->commit,
					    .n = nt, .topics = kt, .coordinator_epoch = r->coord_epoch };
		struct kwmark_req req = { 1, &mk };
		struct wbuf w;
		wbuf_init(&w, 64u << 20);
		int rc = kwmark_req_encode(&w, 0, &req);
		free(kt);
		free(kparts);
		c->r = r;
		c->leader = leader;
		c->n = n;
		c->idx = idx;
		c->k = rc ? NULL
			  : kb_kcall_start(b, nd, KWMARK_API, 0, w.p, w.len, KB_TXNS_MARK_TIMEOUT_MS,
					   KB_TXNS_MARK_ANSWER_MAX, kb_mcall_answer, c);
		wbuf_free(&w);
		if (!c->k) {
			free(idx);
			free(c);
			return;
		}
		for (int32_t a = 0; a < n; a++)
			r->parts[idx[a]].sent = true;
		LIST_INSERT_HEAD(&r->calls, c, link);
	}
}

/* Rounds due (new ones at once, the others every KB_TXNS_MARK_RETRY_MS); rounds the core no
 * longer waits for are dropped, finished ones reported. */
static void kb_txns_rounds(struct kb_txns *t, int64_t now)
{
	struct kb_mround *r, *next;
	for (r = LIST_FIRST(&t->rounds); r; r = next) {
		next = LIST_NEXT(r, link);
		if (!t->ts || !ktxns_markers_wanted(t->ts, r->id)) {
			kb_mround_free(r);
			continue;
		}
		if (now >= r->next_try)
			kb_mround_send(r, now);
		if (r->left == 0 && LIST_EMPTY(&r->calls)) { /* every partition gone */
			uint64_t id = r->id;
			kb_mround_free(r);
			ktxns_markers_done(t->ts, id, now);
			/* the core may have started another round: the list is read again from the start */
			next = LIST_FIRST(&t->rounds);
		}
	}
}

static void kb_txns_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kb_txns_rounds(arg, kb_now_ms());
}

/* ---- the core's ops ---- */

static void kb_txns_markers(void *arg, uint64_t id, const struct ktxn_markers *m)
{
	struct kb_txns *t = arg;
	int32_t n = 0;
	for (int32_t i = 0; i < m->ntopics; i++)
		n += m->topics[i].n;
	struct kb_mround *r = calloc(1, sizeof(*r));
	if (r)
		r->parts = calloc((size_t)(n ? n : 1), sizeof(*r->parts));
	if (!r || !r->parts) {
		free(r);
		log_error(TXN_MOD, "out of memory for the markers of producer %lld", (long long)m->producer_id);
		return; /* the core waits; the transaction completes after a reload */
	}
	r->t = t;
	r->id = id;
	r->pid = m->producer_id;
	r->epoch = m->producer_epoch;
	r->commit = m->commit;
	r->coord_epoch = m->coordinator_epoch;
	r->logged = -10000;
	LIST_INIT(&r->calls);
	for (int32_t i = 0; i < m->ntopics; i++)
		for (int32_t j = 0; j < m->topics[i].n; j++) {
			snprintf(r->parts[r->n].topic, sizeof(r->parts[r->n].topic), "%s", m->topics[i].name);
			r->parts[r->n++].part = m->topics[i].parts[j];
		}
	r->left = r->n;
	LIST_INSERT_HEAD(&t->rounds, r, link);
	event_active(t->kick, EV_TIMEOUT, 0); /* sent from the loop, not inside the core's call */
}

static void kb_txns_append_done(void *arg, uint64_t id, int16_t err)
{
	struct kb_txns *t = arg;
	if (t->ts)
		ktxns_append_done(t->ts, id, err, kb_now_ms());
}

static int16_t kb_txns_append(void *arg, int32_t partition, const uint8_t *key, size_t klen, const uint8_t *value,
			      size_t vlen, uint64_t id)
{
	struct kb_txns *t = arg;
	struct kb_clog_rec r = { key, klen, value, vlen, -1, -1 };
	return kb_clog_append(t->clog, partition, &r, 1, KB_TXNS_APPEND_MS, id);
}

static int16_t kb_txns_new_pid(void *arg, int64_t *pid)
{
	struct kb_txns *t = arg;
	/* kapi_txn claims a block before it hands an InitProducerId to the core */
	return kb_pid_take(t->b, pid) ? KE_COORDINATOR_NOT_AVAILABLE : KE_NONE;
}

static void kb_txns_log(void *arg, const char *line)
{
	(void)arg;
	log_info(TXN_MOD, "%s", line);
}

static void kb_txns_reply(void *arg, void *token, const struct ktxn_answer *a)
{
	struct kb_txns *t = arg;
	t->reply(t->b, token, a);
}

static const struct ktxns_ops kb_txns_ops = {
	.reply = kb_txns_reply,
	.append = kb_txns_append,
	.new_pid = kb_txns_new_pid,
	.markers = kb_txns_markers,
	.log = kb_txns_log,
};

static int kb_txns_core_new(struct kb_txns *t, int32_t nparts)
{
	const struct kb_config *c = t->b->cfg;
	struct ktxns_conf conf = {
		.state_partitions = nparts,
		.max_timeout_ms = c->transaction_max_timeout_ms,
		.abort_check_ms = c->transaction_abort_timed_out_transaction_cleanup_interval_ms,
		.id_expiration_ms = c->transactional_id_expiration_ms,
		.expire_check_ms = c->transaction_remove_expired_transaction_cleanup_interval_ms,
	};
	struct ktxns *ts = ktxns_new(&conf, &kb_txns_ops, t);
	if (!ts)
		return ERR_NOMEM;
	ktxns_free(t->ts);
	t->ts = ts;
	t->core_nparts = nparts;
	return 0;
}

int kb_txns_start(struct broker *b, kb_txns_reply_fn reply)
{
	struct kb_txns *t = calloc(1, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	t->b = b;
	t->reply = reply;
	LIST_INIT(&t->rounds);
	t->clog = kb_clog_new(b, KB_TXN_STATE_TOPIC, kb_txns_append_done, t);
	t->kick = event_new(b->base, -1, 0, kb_txns_kick_cb, t);
	if (!t->clog || !t->kick || kb_txns_core_new(t, b->cfg->transaction_state_log_num_partitions)) {
		kb_clog_free(t->clog);
		if (t->kick)
			event_free(t->kick);
		free(t);
		return ERR_NOMEM;
	}
	b->txns = t;
	return 0;
}

void kb_txns_stop(struct broker *b)
{
	struct kb_txns *t = b->txns;
	if (!t)
		return;
	ktxns_free(t->ts); /* answers its waiting requests while the connections are there */
	t->ts = NULL;
	while (!LIST_EMPTY(&t->rounds))
		kb_mround_free(LIST_FIRST(&t->rounds));
	kb_clog_free(t->clog);
	event_free(t->kick);
	free(t->owned);
	free(t);
	b->txns = NULL;
}

struct ktxns *kb_txns_core(struct broker *b)
{
	return b->txns ? b->txns->ts : NULL;
}

void kb_txns_flushed(struct broker *b, const struct klog *l, int64_t offset)
{
	if (b->txns)
		kb_clog_flushed(b->txns->clog, l, offset);
}

/* ---- the state topic ---- */

static void kb_txns_created(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	(void)ctx;
	kb_clog_topic_created(b->txns ? b->txns->clog : NULL, err, msg);
}

int16_t kb_txns_state_topic(struct broker *b, int32_t *nparts)
{
	struct kb_txns *t = b->txns;
	if (!t)
		return KE_COORDINATOR_NOT_AVAILABLE;
	const struct kb_config *c = b->cfg;
	char seg[24], isr[24];
	snprintf(seg, sizeof(seg), "%d", c->transaction_state_log_segment_bytes);
	snprintf(isr, sizeof(isr), "%d", c->transaction_state_log_min_isr);
	const struct kb_tconf confs[] = {
		{ "cleanup.policy", "compact" },
		/* Kafka writes "uncompressed"; samsa's brokers keep what the producer sent (the only
		 * value they take), and the coordinator writes its records uncompressed: the same */
		{ "compression.type", "producer" },
		{ "min.insync.replicas", isr },
		{ "segment.bytes", seg },
		{ "unclean.leader.election.enable", "false" },
	};
	const struct kb_clog_topic_spec spec = { c->transaction_state_log_num_partitions,
						  c->transaction_state_log_replication_factor,
						  "transaction.state.log.replication.factor",
						  "transactions state topic",
						  confs,
						  (int32_t)(sizeof(confs) / sizeof(confs[0])) };
	return kb_clog_topic(t->clog, &spec, kb_txns_created, nparts);
}

/* ---- loading and unloading ---- */

struct kb_txns_load {
	struct kb_txns *t;
	int32_t p;
	int64_t logged;
};

static int kb_txns_load_rec(void *arg, const struct kb_clog_rec *r, int64_t offset)
{
	struct kb_txns_load *ld = arg;
	char eb[256];
	if (ktxns_load_record(ld->t->ts, ld->p, r->key, r->klen, r->value, r->vlen, eb, sizeof(eb))) {
		if (ld->logged++ < 10)
			log_warn(TXN_MOD, "%s-%d offset %lld: record skipped: %s", KB_TXN_STATE_TOPIC, ld->p,
				 (long long)offset, eb);
		return 1;
	}
	return 0;
}

static void kb_txns_load(struct kb_txns *t, const struct kb_topic *tp, int32_t p)
{
	struct broker *b = t->b;
	if (tp->nparts != t->core_nparts) {
		bool any = false;
		for (int32_t i = 0; i < t->nowned; i++)
			any |= t->owned[i];
		if (any) {
			log_error(TXN_MOD, "%s has %d partitions, the coordinator was started with %d: not loading %d",
				  KB_TXN_STATE_TOPIC, tp->nparts, t->core_nparts, p);
			return;
		}
		while (!LIST_EMPTY(&t->rounds))
			kb_mround_free(LIST_FIRST(&t->rounds));
		if (kb_txns_core_new(t, tp->nparts)) {
			log_error(TXN_MOD, "out of memory making the transaction coordinator");
			return;
		}
	}
	if (p >= t->nowned) {
		bool *no = realloc(t->owned, (size_t)tp->nparts * sizeof(*no));
		if (!no)
			return;
		memset(no + t->nowned, 0, (size_t)(tp->nparts - t->nowned) * sizeof(*no));
		t->owned = no;
		t->nowned = tp->nparts;
	}
	struct klog *l = NULL;
	int64_t hw = -1, start = -1;
	int32_t epoch = -1;
	if (krm_leader(b->rm, KB_TXN_STATE_TOPIC, p, -1, &hw, &start, &epoch, &l) || !l)
		return;
	int64_t t0 = kb_now_ms();
	ktxns_load_begin(t->ts, p, epoch);
	t->owned[p] = true;
	struct kb_txns_load ld = { t, p, 0 };
	struct kb_clog_load out;
	kb_clog_load(b, KB_TXN_STATE_TOPIC, p, kb_txns_load_rec, &ld, &out);
	int64_t now = kb_now_ms();
	ktxns_load_end(t->ts, p, now);
	log_info(TXN_MOD, "loaded %s-%d (leader epoch %d): %lld records up to offset %lld in %lld ms%s",
		 KB_TXN_STATE_TOPIC, p, epoch, (long long)out.records, (long long)out.end, (long long)(now - t0),
		 out.skipped ? " (some skipped)" : "");
}

void kb_txns_part_changed(struct broker *b, int32_t p)
{
	struct kb_txns *t = b->txns;
	if (!t || !t->ts || p < 0)
		return;
	struct kb_topic *tp = kb_topic_find(b, KB_TXN_STATE_TOPIC);
	bool lead = false;
	if (tp && !tp->deleting && p < tp->nparts && b->rm) {
		const struct krepl *k = krm_krepl(b->rm, KB_TXN_STATE_TOPIC, p);
		lead = k && krepl_role(k) == KREPL_LEADER;
	}
	bool owned = p < t->nowned && t->owned[p];
	if (lead && !owned) {
		kb_txns_load(t, tp, p);
	} else if (!lead && owned) {
		t->owned[p] = false;
		ktxns_unload(t->ts, p);
		log_info(TXN_MOD, "unloaded %s-%d: no longer its leader", KB_TXN_STATE_TOPIC, p);
	}
}

void kb_txns_tick(struct broker *b, int64_t now)
{
	struct kb_txns *t = b->txns;
	if (!t || !t->ts)
		return;
	if (now - t->last_sync_ms >= KB_TXNS_SYNC_MS) {
		t->last_sync_ms = now;
		struct kb_topic *tp = kb_topic_find(b, KB_TXN_STATE_TOPIC);
		int32_t n = tp ? tp->nparts : 0;
		if (t->nowned > n)
			n = t->nowned;
		for (int32_t p = 0; p < n; p++)
			kb_txns_part_changed(b, p);
	}
	ktxns_tick(t->ts, now);
	kb_txns_rounds(t, now);
}

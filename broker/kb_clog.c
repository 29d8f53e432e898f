/*
 * kb_clog — a coordinator's appends to and loading of its internal topic (see kb_clog.h).
 */
#include "kb_clog.h"

#include "buf.h"
#include "err.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kbatch.h"
#include "kerr.h"
#include "klog.h"
#include "krepl.h"
#include "kreplica.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

static const char *const CLOG_MOD = "coordinator-log";

#define KB_CLOG_READ_CHUNK (1u << 20) /* bytes read from a partition at a time */
#define KB_CLOG_BATCH_MAX (64u << 20) /* one append's batch */

/* An append: in the replica manager's purgatory (pr set) and, under a flush policy, waiting for
 * the fsync its append started (log set, until kb_clog_flushed reports flush_upto), then done
 * (err final) and queued for the deferred report. */
struct kb_cappend {
	TAILQ_ENTRY(kb_cappend) link; /* c->pending, then c->done */
	struct kb_clog *c;
	uint64_t id;
	struct krm_produce *pr;
	const struct klog *log;
	int64_t flush_upto;
	bool replicated;
	int16_t err;
};
TAILQ_HEAD(kb_cappend_q, kb_cappend);

#define KB_CLOG_WARN_MS 10000 /* at most one "too few brokers" line per this */

struct kb_clog {
	struct broker *b;
	char *topic;
	bool creating;	      /* a creation of the topic is under way */
	int64_t last_warn_ms; /* the last "too few brokers" line */
	kb_clog_done_fn done_fn;
	void *arg;
	struct kb_cappend_q pending;
	struct kb_cappend_q done;
	struct event *deferred;
};

static void kb_clog_check(struct kb_cappend *a)
{
	struct kb_clog *c = a->c;
	if (!a->replicated || (a->log && !a->err))
		return;
	TAILQ_REMOVE(&c->pending, a, link);
	TAILQ_INSERT_TAIL(&c->done, a, link);
	event_active(c->deferred, EV_TIMEOUT, 0);
}

static void kb_clog_completed(void *arg, struct krm_produce *pr)
{
	struct kb_cappend *a = arg;
	a->err = krm_produce_result(pr, 0)->error;
	krm_produce_free(pr);
	a->pr = NULL;
	a->replicated = true;
	kb_clog_check(a);
}

void kb_clog_flushed(struct kb_clog *c, const struct klog *l, int64_t offset)
{
	if (!c)
		return;
	struct kb_cappend *a, *next;
	for (a = TAILQ_FIRST(&c->pending); a; a = next) {
		next = TAILQ_NEXT(a, link);
		if (a->log == l && a->flush_upto <= offset) {
			a->log = NULL;
			kb_clog_check(a);
		}
	}
}

static void kb_clog_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_clog *c = arg;
	struct kb_cappend *a;
	(void)fd;
	(void)what;
	while ((a = TAILQ_FIRST(&c->done))) {
		TAILQ_REMOVE(&c->done, a, link);
		uint64_t id = a->id;
		int16_t err = a->err;
		free(a);
		c->done_fn(c->arg, id, err);
	}
}

/* ---- the topic ---- */

void kb_clog_topic_created(struct kb_clog *c, int16_t err, const char *msg)
{
	if (!c)
		return;
	c->creating = false;
	if (err && err != KE_TOPIC_ALREADY_EXISTS)
		log_warn(CLOG_MOD, "creating %s failed: %s", c->topic, msg ? msg : "error");
	else if (!err)
		log_info(CLOG_MOD, "created %s", c->topic);
}

int16_t kb_clog_topic(struct kb_clog *c, const struct kb_clog_topic_spec *spec,
		      void (*created)(struct broker *b, void *ctx, int16_t err, const char *msg), int32_t *nparts)
{
	struct broker *b = c->b;
	struct kb_topic *t = kb_topic_find(b, c->topic);
	if (t) {
		if (t->deleting)
			return KE_COORDINATOR_NOT_AVAILABLE;
		*nparts = t->nparts;
		return KE_NONE;
	}
	if (c->creating)
		return KE_COORDINATOR_NOT_AVAILABLE;
	if (b->nnodes < spec->rf) {
		int64_t now = kb_now_ms();
		if (now - c->last_warn_ms >= KB_CLOG_WARN_MS) {
			c->last_warn_ms = now;
			log_warn(CLOG_MOD,
				 "Number of alive brokers '%d' does not meet the required replication factor '%d' for "
				 "the %s (configured via '%s'). This error can be ignored if the cluster is starting up "
				 "and not all brokers are up yet.",
				 b->nnodes, spec->rf, spec->what, spec->rf_key);
		}
		return KE_COORDINATOR_NOT_AVAILABLE;
	}
	c->creating = true;
	log_info(CLOG_MOD, "creating %s (%d partitions, replication factor %d)", c->topic, spec->nparts, spec->rf);
	kb_cluster_create_topic(b, c->topic, spec->nparts, spec->rf, NULL, spec->confs, spec->nconfs, created, NULL);
	return KE_COORDINATOR_NOT_AVAILABLE;
}

struct kb_clog *kb_clog_new(struct broker *b, const char *topic, kb_clog_done_fn done, void *arg)
{
	struct kb_clog *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->b = b;
	c->last_warn_ms = -KB_CLOG_WARN_MS;
	c->done_fn = done;
	c->arg = arg;
	TAILQ_INIT(&c->pending);
	TAILQ_INIT(&c->done);
	c->topic = strdup(topic);
	c->deferred = event_new(b->base, -1, 0, kb_clog_deferred_cb, c);
	if (!c->topic || !c->deferred) {
		kb_clog_free(c);
		return NULL;
	}
	return c;
}

void kb_clog_free(struct kb_clog *c)
{
	if (!c)
		return;
	struct kb_cappend *a;
	while ((a = TAILQ_FIRST(&c->pending))) {
		TAILQ_REMOVE(&c->pending, a, link);
		krm_produce_free(a->pr); /* leaves the purgatory unanswered (NULL when only flushing) */
		free(a);
	}
	while ((a = TAILQ_FIRST(&c->done))) {
		TAILQ_REMOVE(&c->done, a, link);
		free(a);
	}
	if (c->deferred)
		event_free(c->deferred);
	free(c->topic);
	free(c);
}

int16_t kb_clog_append(struct kb_clog *c, int32_t part, const struct kb_clog_rec *recs, int32_t n, int32_t timeout_ms,
		       uint64_t id)
{
	return kb_clog_append_txn(c, part, recs, n, timeout_ms, id, -1, -1);
}

int16_t kb_clog_append_txn(struct kb_clog *c, int32_t part, const struct kb_clog_rec *recs, int32_t n,
			   int32_t timeout_ms, uint64_t id, int64_t pid, int16_t epoch)
{
	struct broker *b = c->b;
	if (!b->rm || n < 1)
		return KE_NOT_COORDINATOR;
	int64_t now = kb_now_ms();
	struct kbatch_rec *br = calloc((size_t)n, sizeof(*br));
	struct kb_cappend *a = calloc(1, sizeof(*a));
	struct wbuf w;
	wbuf_init(&w, KB_CLOG_BATCH_MAX);
	if (!br || !a) {
		free(br);
		free(a);
		return KE_UNKNOWN_SERVER_ERROR;
	}
	for (int32_t i = 0; i < n; i++) {
		br[i].key = recs[i].key;
		br[i].key_len = (int32_t)recs[i].klen;
		br[i].value = recs[i].value;
		br[i].value_len = recs[i].value ? (int32_t)recs[i].vlen : -1;
	}
	/* a transactional batch goes in as the coordinator's (no producer fields given to the
	 * replica manager: no sequence check, as Kafka's AppendOrigin.Coordinator); the producer
	 * state still reads its header and opens the producer's transaction */
	size_t len = pid >= 0 ? kbatch_build_txn(&w, 0, now, br, n, pid, epoch) : kbatch_build(&w, 0, now, br, n);
	free(br);
	if (!len) {
		wbuf_free(&w);
		free(a);
		return KE_MESSAGE_TOO_LARGE;
	}
	a->c = c;
	a->id = id;
	a->pr = krm_produce_new(b->rm, 1, kb_clog_completed, a);
	if (!a->pr) {
		wbuf_free(&w);
		free(a);
		return KE_UNKNOWN_SERVER_ERROR;
	}
	struct klog *l = NULL;
	int16_t e = krm_append(b->rm, a->pr, 0, c->topic, part, w.p, len, n, NULL, -1, now + timeout_ms, false, now, &l);
	wbuf_free(&w);
	if (!l) { /* nothing appended: failed at once */
		krm_produce_free(a->pr);
		free(a);
		return e ? e : KE_UNKNOWN_SERVER_ERROR;
	}
	/* durable, then acknowledged: a flush-policy fsync this append started is waited for too
	 * (log.flush.interval.messages / flush.messages, as a Produce's response waits for it) */
	int64_t upto = klog_flush_pending(l);
	if (upto > krm_produce_result(a->pr, 0)->base_offset) {
		a->log = l;
		a->flush_upto = upto;
	}
	TAILQ_INSERT_TAIL(&c->pending, a, link);
	if (krm_produce_submit(b->rm, a->pr)) { /* final already (an ISR of one): reported later */
		a->err = krm_produce_result(a->pr, 0)->error;
		krm_produce_free(a->pr);
		a->pr = NULL;
		a->replicated = true;
		kb_clog_check(a);
	}
	return KE_NONE;
}

/* ---- loading ---- */

struct kb_clog_reader {
	const char *topic;
	int32_t p;
	int64_t next; /* the offset after the last batch walked */
	int (*rec)(void *arg, const struct kb_clog_rec *r, int64_t offset);
	kb_clog_marker_fn marker;
	void *arg;
	struct kb_clog_load *out;
	int64_t pid; /* the batch walked: its producer when transactional, else -1 */
	int16_t epoch;
};

static int kb_clog_load_rec(const struct kbatch_record *r, void *arg)
{
	struct kb_clog_reader *rd = arg;
	struct kb_clog_rec cr = { r->key, r->key ? (size_t)r->key_len : 0, r->value,
				  r->value ? (size_t)r->value_len : 0, rd->pid, rd->epoch };
	if (!r->key || rd->rec(rd->arg, &cr, r->offset)) /* a coordinator's record always has a key */
		rd->out->skipped++;
	else
		rd->out->records++;
	return 0;
}

static int kb_clog_load_batch(const uint8_t *p, size_t len, void *arg)
{
	struct kb_clog_reader *rd = arg;
	struct kbatch_hdr h;
	char eb[256];
	if (kbatch_parse_hdr(p, len, &h))
		return ERR_CORRUPT;
	rd->next = h.base_offset + h.last_offset_delta + 1;
	if (h.attributes & KBATCH_CONTROL) { /* a transaction marker (TxnOffsetCommit's, in __consumer_offsets) */
		int16_t type;
		int32_t ce;
		if (rd->marker && kbatch_control_marker(p, len, &type, &ce) == 0 &&
		    (type == KBATCH_MARKER_COMMIT || type == KBATCH_MARKER_ABORT))
			rd->marker(rd->arg, h.producer_id, h.producer_epoch, type == KBATCH_MARKER_COMMIT, h.base_offset);
		return 0;
	}
	bool txn = (h.attributes & KBATCH_TRANSACTIONAL) && h.producer_id >= 0;
	rd->pid = txn ? h.producer_id : -1;
	rd->epoch = txn ? h.producer_epoch : -1;
	if (h.attributes & KBATCH_COMPRESSION_MASK) {
		rd->out->skipped += h.records_count;
		log_warn(CLOG_MOD, "%s-%d offset %lld: a compressed batch is not decoded; its %d records are skipped",
			 rd->topic, rd->p, (long long)h.base_offset, h.records_count);
		return 0;
	}
	if (kbatch_records(p, len, kb_clog_load_rec, rd, eb, sizeof(eb)))
		log_warn(CLOG_MOD, "%s-%d offset %lld: bad batch: %s", rd->topic, rd->p, (long long)h.base_offset, eb);
	return 0;
}

/* Reads [sl.pos, sl.pos + sl.len) of sl.fd into *buf (grown as needed). 0 or ERR_IO. */
static int kb_clog_read_slice(const struct klog_slice *sl, uint8_t **buf, size_t *cap)
{
	if (sl->len > *cap) {
		uint8_t *nb = realloc(*buf, sl->len);
		if (!nb)
			return ERR_NOMEM;
		*buf = nb;
		*cap = sl->len;
	}
	size_t got = 0;
	while (got < sl->len) {
		ssize_t k = pread(sl->fd, *buf + got, sl->len - got, sl->pos + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		got += (size_t)k;
	}
	return 0;
}

int kb_clog_load(struct broker *b, const char *topic, int32_t p,
		 int (*rec)(void *arg, const struct kb_clog_rec *r, int64_t offset), void *arg,
		 struct kb_clog_load *out)
{
	return kb_clog_load_ex(b, topic, p, rec, NULL, arg, out);
}

int kb_clog_load_ex(struct broker *b, const char *topic, int32_t p,
		    int (*rec)(void *arg, const struct kb_clog_rec *r, int64_t offset), kb_clog_marker_fn marker,
		    void *arg, struct kb_clog_load *out)
{
	memset(out, 0, sizeof(*out));
	struct klog *l = NULL;
	int64_t hw = -1, start = -1;
	out->epoch = -1;
	if (!b->rm || krm_leader(b->rm, topic, p, -1, &hw, &start, &out->epoch, &l) || !l)
		return ERR_INVAL;
	struct kb_clog_reader rd = { topic, p, klog_start_offset(l), rec, marker, arg, out, -1, -1 };
	int64_t end = klog_end_offset(l);
	out->end = end;
	uint8_t *buf = NULL;
	size_t cap = 0;
	char eb[256];
	while (rd.next < end) {
		struct klog_slice sl = { -1, 0, 0 };
		int rc = klog_read(l, rd.next, KB_CLOG_READ_CHUNK, end, &sl, eb, sizeof(eb));
		if (rc || sl.len == 0) {
			if (sl.fd >= 0)
				close(sl.fd);
			if (rc)
				log_error(CLOG_MOD, "loading %s-%d at offset %lld: %s", topic, p, (long long)rd.next, eb);
			break;
		}
		rc = kb_clog_read_slice(&sl, &buf, &cap);
		close(sl.fd);
		int64_t before = rd.next;
		if (!rc)
			rc = kbatch_foreach_ex(buf, sl.len, KBATCH_ALLOW_PARTIAL, kb_clog_load_batch, &rd, NULL, eb,
					       sizeof(eb));
		if (rc || rd.next <= before) {
			log_error(CLOG_MOD, "loading %s-%d at offset %lld: %s", topic, p, (long long)before,
				  rc ? err_str(rc) : "no progress");
			break;
		}
	}
	free(buf);
	return 0;
}

/*
 * kb_api — the Kafka protocol on the broker's listener: request header, ApiVersions,
 * Metadata, Produce, Fetch (long-polling, records sent from the segment files by sendfile),
 * ListOffsets, OffsetForLeaderEpoch, CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
 * AlterConfigs and IncrementalAlterConfigs, and on the controller ControlledShutdown and
 * ElectLeaders, in the non-flexible versions listed in kb_apis[]. Schemas: apache/kafka's
 * clients/src/main/resources/common/message/ (the JSON files).
 *
 * Every request gets a response slot in its connection's queue when it arrives; slots leave
 * in request order whether they are filled at once or later (kb_conn_flush). A request that
 * cannot be parsed, an unknown API or an unsupported version closes the connection, as Kafka
 * does — except ApiVersions, which answers a too-new version with UNSUPPORTED_VERSION and
 * the supported ranges in a v0 body so that a client can retry lower.
 */
#include "kb_broker.h"

#include "buf.h"
#include "err.h"
#include "kb_cluster.h"
#include "kb_dynconf.h"
#include "kbatch.h"
#include "kctrl.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const API_MOD = "kafka-api";

enum {
	API_PRODUCE = 0,
	API_FETCH = 1,
	API_LIST_OFFSETS = 2,
	API_METADATA = 3,
	API_CONTROLLED_SHUTDOWN = 7,
	API_API_VERSIONS = 18,
	API_OFFSET_FOR_LEADER_EPOCH = 23,
	API_CREATE_TOPICS = 19,
	API_DELETE_TOPICS = 20,
	API_DESCRIBE_CONFIGS = 32,
	API_ALTER_CONFIGS = 33,
	API_CREATE_PARTITIONS = 37,
	API_ELECT_LEADERS = 43,
	API_INCREMENTAL_ALTER_CONFIGS = 44,
};

/* Bounds on request arrays, far above what any client sends. */
#define KB_MAX_ITEMS 100000
#define KB_MAX_STR 32767

struct kreq {
	int16_t key, ver;
	int32_t corr;
	struct rbuf r; /* positioned at the body */
	uint8_t *p;    /* the whole request, mutable */
	size_t len;
};

/* Response output: fixed fields are written into w; file ranges go straight into eb. */
struct kout {
	struct evbuffer *eb;
	struct wbuf w;
	size_t total;
};

static void kout_init(struct kout *o, int32_t corr)
{
	o->eb = evbuffer_new();
	/* file ranges then stay file chains, which the socket's output sends with sendfile */
	if (o->eb)
		evbuffer_set_flags(o->eb, EVBUFFER_FLAG_DRAINS_TO_FD);
	wbuf_init(&o->w, 1u << 30);
	o->total = 0;
	wbuf_i32(&o->w, 0); /* length, set at the end */
	wbuf_i32(&o->w, corr);
}

static void kout_flush(struct kout *o)
{
	if (o->w.len) {
		evbuffer_add(o->eb, o->w.p, o->w.len);
		o->total += o->w.len;
		wbuf_reset(&o->w);
	}
}

/* Appends a file range (fd is owned from now on). */
static void kout_file(struct kout *o, int fd, int64_t pos, size_t len)
{
	kout_flush(o);
	if (evbuffer_add_file(o->eb, fd, pos, (ev_off_t)len) == 0)
		o->total += len;
	else
		close(fd);
}

/* Finishes the frame into resp (or discards it when resp is NULL). */
static int kout_finish(struct kout *o, struct kresp *resp)
{
	int err = o->w.err;
	if (o->total == 0 && o->w.len >= 4) { /* all in w: patch the length in place */
		wbuf_put_i32_at(&o->w, 0, (int32_t)(o->w.len - 4));
		kout_flush(o);
	} else {
		kout_flush(o);
		uint8_t len4[4];
		be32_put(len4, (uint32_t)(o->total - 4));
		/* the first 4 bytes in eb are the placeholder */
		evbuffer_drain(o->eb, 4);
		evbuffer_prepend(o->eb, len4, 4);
	}
	wbuf_free(&o->w);
	if (err || !resp) {
		evbuffer_free(o->eb);
		return err ? err : 0;
	}
	resp->buf = o->eb;
	resp->done = true;
	return 0;
}

static void kout_abort(struct kout *o)
{
	wbuf_free(&o->w);
	evbuffer_free(o->eb);
}

/* ---- connections and ordered responses ---- */

void kb_conn_flush(struct kconn *c)
{
	struct kresp *r;
	while ((r = TAILQ_FIRST(&c->q)) && r->done) {
		TAILQ_REMOVE(&c->q, r, link);
		if (r->buf) {
			net_conn_send_buffer(c->nc, r->buf);
			evbuffer_free(r->buf);
		}
		free(r);
	}
}

static struct kresp *kresp_new(struct kconn *c)
{
	struct kresp *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->q, r, link);
	return r;
}

void kwait_free(struct kwait *w)
{
	LIST_REMOVE(w, link);
	if (w->resp && !w->resp->conn) { /* orphaned by a closed connection: ours to free */
		if (w->resp->buf)
			evbuffer_free(w->resp->buf);
		free(w->resp);
	}
	for (int32_t i = 0; i < w->n; i++)
		free(w->msgs ? w->msgs[i] : NULL);
	free(w->msgs);
	free(w->errs);
	free(w->req);
	free(w);
}

static struct kwait *kwait_new(struct broker *b, struct kresp *resp, const struct kreq *q, int kind,
			       int32_t timeout_ms)
{
	struct kwait *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->req = malloc(q->len ? q->len : 1);
	if (!w->req) {
		free(w);
		return NULL;
	}
	memcpy(w->req, q->p, q->len);
	w->req_len = q->len;
	w->resp = resp;
	w->kind = kind;
	w->deadline_ms = kb_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	LIST_INSERT_HEAD(&b->waits, w, link);
	return w;
}

/* ---- shared encoders ---- */

static void w_str(struct wbuf *w, const char *s)
{
	wbuf_str_i16(w, s);
}

/* Reads a Kafka STRING into a NUL-terminated buffer; longer than n-1 is an error. */
static int r_str(struct rbuf *r, char *out, size_t n, bool *null)
{
	const uint8_t *p;
	int32_t len;
	if (rbuf_bytes_i16(r, KB_MAX_STR, &p, &len))
		return r->err;
	if (null)
		*null = len < 0;
	if (len < 0)
		len = 0;
	if ((size_t)len >= n) {
		/* keep the parse going; the caller sees the name as invalid */
		memcpy(out, p, n - 1);
		out[n - 1] = '\0';
		return 1;
	}
	if (len > 0)
		memcpy(out, p, (size_t)len);
	out[len] = '\0';
	if (memchr(out, '\0', (size_t)len))
		return 1;
	return 0;
}

static int32_t r_count(struct rbuf *r, size_t min_elem)
{
	int32_t n = 0;
	if (rbuf_count_i32(r, KB_MAX_ITEMS, min_elem, &n))
		return -2;
	return n;
}

/* ---- Metadata ---- */

static int16_t part_error(struct broker *b, const struct kb_part *p)
{
	if (p->leader < 0 || !kb_cluster_node_live(b, p->leader))
		return KE_LEADER_NOT_AVAILABLE;
	return KE_NONE;
}

static void meta_topic(struct broker *b, struct wbuf *w, int16_t ver, const struct kb_topic *t)
{
	wbuf_i16(w, KE_NONE);
	w_str(w, t->name);
	if (ver >= 1)
		wbuf_bool(w, t->name[0] == '_' && !strcmp(t->name, "__consumer_offsets"));
	wbuf_i32(w, t->nparts);
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kb_part *p = &t->parts[i];
		int16_t e = part_error(b, p);
		wbuf_i16(w, e);
		wbuf_i32(w, p->id);
		wbuf_i32(w, e ? -1 : p->leader);
		if (ver >= 7)
			wbuf_i32(w, p->leader_epoch);
		wbuf_i32(w, p->nrep);
		for (int32_t k = 0; k < p->nrep; k++)
			wbuf_i32(w, p->replicas[k]);
		wbuf_i32(w, p->nisr);
		for (int32_t k = 0; k < p->nisr; k++)
			wbuf_i32(w, p->isr[k]);
		if (ver >= 5) {
			int32_t off = 0;
			for (int32_t k = 0; k < p->nrep; k++)
				off += !kb_cluster_node_live(b, p->replicas[k]);
			wbuf_i32(w, off);
			for (int32_t k = 0; k < p->nrep; k++)
				if (!kb_cluster_node_live(b, p->replicas[k]))
					wbuf_i32(w, p->replicas[k]);
		}
	}
	if (ver >= 8)
		wbuf_i32(w, INT32_MIN); /* topic_authorized_operations: not asked */
}

static void meta_missing(struct wbuf *w, int16_t ver, const char *name, int16_t err)
{
	wbuf_i16(w, err);
	w_str(w, name);
	if (ver >= 1)
		wbuf_bool(w, false);
	wbuf_i32(w, 0);
	if (ver >= 8)
		wbuf_i32(w, INT32_MIN);
}

static void auto_create_done(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	char *name = ctx;
	(void)b;
	if (err && err != KE_TOPIC_ALREADY_EXISTS)
		log_warn(API_MOD, "auto-creating topic '%s' failed: %s", name, msg ? msg : "error");
	else if (!err)
		log_info(API_MOD, "auto-created topic '%s'", name);
	free(name);
}

static int api_metadata(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t n = r_count(r, 2);
	if (n == -2)
		return ERR_PROTO;
	/* topics: v0 empty = all; v1+ null = all */
	bool all = n < 0 || (q->ver == 0 && n == 0);
	char (*names)[KB_TOPIC_MAX + 2] = NULL;
	bool *bad = NULL;
	if (n > 0) {
		names = calloc((size_t)n, sizeof(*names));
		bad = calloc((size_t)n, sizeof(*bad));
		if (!names || !bad) {
			free(names);
			free(bad);
			return ERR_NOMEM;
		}
		for (int32_t i = 0; i < n; i++)
			bad[i] = r_str(r, names[i], sizeof(names[i]), NULL) != 0;
	}
	bool allow_auto = true;
	if (q->ver >= 4)
		rbuf_bool(r, &allow_auto);
	if (q->ver >= 8) {
		bool x;
		rbuf_bool(r, &x);
		rbuf_bool(r, &x);
	}
	if (r->err) {
		free(names);
		free(bad);
		return ERR_PROTO;
	}
	if (q->ver >= 3)
		wbuf_i32(w, 0);
	/* brokers */
	int32_t nn = b->nnodes;
	bool self_listed = false;
	for (int32_t i = 0; i < nn; i++)
		self_listed |= b->nodes[i].id == b->cfg->broker_id;
	wbuf_i32(w, nn + !self_listed);
	if (!self_listed) {
		wbuf_i32(w, b->cfg->broker_id);
		w_str(w, b->adv_host);
		wbuf_i32(w, b->adv_port);
		if (q->ver >= 1)
			w_str(w, NULL);
	}
	for (int32_t i = 0; i < nn; i++) {
		wbuf_i32(w, b->nodes[i].id);
		w_str(w, b->nodes[i].host);
		wbuf_i32(w, b->nodes[i].port);
		if (q->ver >= 1)
			w_str(w, b->nodes[i].rack);
	}
	if (q->ver >= 2)
		w_str(w, b->cluster_id[0] ? b->cluster_id : NULL);
	if (q->ver >= 1)
		wbuf_i32(w, b->controller_id);
	if (all) {
		int32_t cnt = 0;
		struct kb_topic *t;
		LIST_FOREACH(t, &b->topics, link)
			cnt += !t->deleting;
		wbuf_i32(w, cnt);
		LIST_FOREACH(t, &b->topics, link)
			if (!t->deleting)
				meta_topic(b, w, q->ver, t);
	} else {
		wbuf_i32(w, n);
		for (int32_t i = 0; i < n; i++) {
			char why[128];
			struct kb_topic *t = bad[i] ? NULL : kb_topic_find(b, names[i]);
			if (t && !t->deleting) {
				meta_topic(b, w, q->ver, t);
			} else if (bad[i] || !kname_topic_valid(names[i], strlen(names[i]), why, sizeof(why))) {
				meta_missing(w, q->ver, names[i], KE_INVALID_TOPIC_EXCEPTION);
			} else if (!t && allow_auto && b->cfg->auto_create_topics_enable &&
				   kb_topic_collisions(b, names[i], why, sizeof(why))) {
				meta_missing(w, q->ver, names[i], KE_INVALID_TOPIC_EXCEPTION);
			} else if (!t && allow_auto && b->cfg->auto_create_topics_enable) {
				char *ctx = strdup(names[i]);
				if (ctx)
					kb_cluster_create_topic(b, names[i], b->cfg->num_partitions,
								b->cfg->default_replication_factor, NULL, NULL, 0,
								auto_create_done, ctx);
				meta_missing(w, q->ver, names[i], KE_LEADER_NOT_AVAILABLE);
			} else {
				meta_missing(w, q->ver, names[i], KE_UNKNOWN_TOPIC_OR_PARTITION);
			}
		}
	}
	if (q->ver >= 8)
		wbuf_i32(w, INT32_MIN);
	free(names);
	free(bad);
	return 0;
}

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

void kb_log_flushed(struct klog *l, int64_t offset, void *arg)
{
	struct broker *b = arg;
	if (b->rm)
		krm_flushed(b->rm, l, offset);
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
			kb_conn_flush(resp->conn);
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
		w_str(w, pw->names[ti]);
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
				w_str(w, err && pw->msgs[slot] ? pw->msgs[slot] : NULL);
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
		resp->done = false; /* the fsync it also waits for sends it (kb_log_flushed) */
	kb_conn_flush(resp->conn);
}

/* Counts the partitions of a Produce body (the first pass sizes the result slots). */
static int produce_count(struct rbuf r, int32_t nt, size_t *n)
{
	*n = 0;
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		r_str(&r, name, sizeof(name), NULL);
		int32_t np = r_count(&r, 8);
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
static int api_produce(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp)
{
	struct rbuf *r = &q->r;
	char txn[256];
	int16_t acks;
	int32_t timeout;
	bool txn_null = true;
	r_str(r, txn, sizeof(txn), &txn_null);
	rbuf_i16(r, &acks);
	rbuf_i32(r, &timeout);
	int32_t nt = r_count(r, 6);
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
		int bad = r_str(r, name, sizeof(name), NULL);
		int32_t np = r_count(r, 8);
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

/* ---- Fetch ---- */

/*
 * Builds the Fetch response into o. Returns the number of record bytes it holds, or < 0 on a
 * malformed request. When wait is set (nothing read yet and the request may wait), it only
 * measures.
 */
static int64_t fetch_build(struct broker *b, struct kreq *q, struct kout *o, int32_t *max_wait, int32_t *min_bytes)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t replica, max_bytes = INT32_MAX, session = 0, epoch = -1;
	int8_t iso = 0;
	rbuf_i32(r, &replica);
	rbuf_i32(r, max_wait);
	rbuf_i32(r, min_bytes);
	rbuf_i32(r, &max_bytes);
	rbuf_u8(r, (uint8_t *)&iso);
	if (q->ver >= 7) {
		rbuf_i32(r, &session);
		rbuf_i32(r, &epoch);
	}
	int32_t nt = r_count(r, 6);
	if (r->err || nt < 0)
		return -1;
	if (max_bytes <= 0)
		max_bytes = 1;
	wbuf_i32(w, 0); /* throttle */
	if (q->ver >= 7) {
		wbuf_i16(w, KE_NONE);
		wbuf_i32(w, 0); /* no fetch session: every fetch is a full one */
	}
	wbuf_i32(w, nt);
	int64_t total = 0;
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = r_str(r, name, sizeof(name), NULL);
		int32_t np = r_count(r, 16);
		if (r->err || np < 0)
			return -1;
		w_str(w, name);
		wbuf_i32(w, np);
		for (int32_t pi = 0; pi < np; pi++) {
			int32_t idx, cur_epoch = -1, pmax;
			int64_t off, lso_in = -1;
			rbuf_i32(r, &idx);
			if (q->ver >= 9)
				rbuf_i32(r, &cur_epoch);
			rbuf_i64(r, &off);
			if (q->ver >= 5)
				rbuf_i64(r, &lso_in);
			rbuf_i32(r, &pmax);
			if (r->err)
				return -1;
			struct kb_topic *t = NULL;
			struct kb_part *p = bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			struct klog_slice sl = { -1, 0, 0 };
			int64_t hw = -1, start = -1;
			if (!p || t->deleting) {
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (!krm_hosted(b->rm, name, idx)) {
				err = KE_NOT_LEADER_OR_FOLLOWER;
			} else {
				size_t room = total >= max_bytes ? 0 : (size_t)(max_bytes - total);
				size_t want = pmax > 0 ? (size_t)pmax : 0;
				if (want > room)
					want = room;
				/* KIP-74: the first non-empty partition returns at least one batch */
				if (total == 0 && want == 0)
					want = 1;
				/* a follower (replica >= 0) moves its LEO, the ISR and the HW here; a consumer
				 * reads up to the HW (KIP-320 fencing by cur_epoch, fetch v9+) */
				err = krm_fetch(b->rm, name, idx, replica < 0 ? -1 : replica, cur_epoch, off, want, kb_now_ms(),
						&sl, &hw, &start);
			}
			wbuf_i32(w, idx);
			wbuf_i16(w, err);
			wbuf_i64(w, hw);
			wbuf_i64(w, hw); /* last_stable_offset: no transactions */
			if (q->ver >= 5)
				wbuf_i64(w, start);
			wbuf_i32(w, -1); /* aborted_transactions: null */
			if (q->ver >= 11)
				wbuf_i32(w, -1); /* preferred_read_replica */
			if (sl.len > 0 && sl.fd >= 0) {
				wbuf_i32(w, (int32_t)sl.len);
				kout_file(o, sl.fd, sl.pos, sl.len);
				total += (int64_t)sl.len;
			} else {
				if (sl.fd >= 0)
					close(sl.fd);
				wbuf_i32(w, 0);
			}
		}
	}
	if (q->ver >= 7) { /* forgotten_topics_data */
		int32_t nf = r_count(r, 6);
		for (int32_t i = 0; i < nf && !r->err; i++) {
			char name[KB_TOPIC_MAX + 2];
			r_str(r, name, sizeof(name), NULL);
			int32_t k = r_count(r, 4);
			for (int32_t j = 0; j < k && !r->err; j++) {
				int32_t x;
				rbuf_i32(r, &x);
			}
		}
	}
	if (q->ver >= 11) {
		char rack[256];
		r_str(r, rack, sizeof(rack), NULL);
	}
	return r->err ? -1 : total;
}

/* ---- ListOffsets ---- */

static int api_list_offsets(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t replica;
	int8_t iso = 0;
	rbuf_i32(r, &replica);
	if (q->ver >= 2)
		rbuf_u8(r, (uint8_t *)&iso);
	int32_t nt = r_count(r, 6);
	if (r->err || nt < 0)
		return ERR_PROTO;
	if (q->ver >= 2)
		wbuf_i32(w, 0);
	wbuf_i32(w, nt);
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = r_str(r, name, sizeof(name), NULL);
		int32_t np = r_count(r, 12);
		if (r->err || np < 0)
			return ERR_PROTO;
		w_str(w, name);
		wbuf_i32(w, np);
		for (int32_t pi = 0; pi < np; pi++) {
			int32_t idx, cur_epoch = -1, maxn = 1;
			int64_t ts;
			rbuf_i32(r, &idx);
			if (q->ver >= 4)
				rbuf_i32(r, &cur_epoch);
			rbuf_i64(r, &ts);
			if (q->ver == 0)
				rbuf_i32(r, &maxn);
			if (r->err)
				return ERR_PROTO;
			struct kb_topic *t = NULL;
			struct kb_part *p = bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			int64_t off = -1, rts = -1;
			int64_t hw = -1, start = -1;
			int32_t lepoch = -1;
			struct klog *l = NULL;
			if (!p || t->deleting)
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			else if (!krm_hosted(b->rm, name, idx))
				err = KE_NOT_LEADER_OR_FOLLOWER;
			else if ((err = krm_leader(b->rm, name, idx, cur_epoch, &hw, &start, &lepoch, &l)) == KE_NONE) {
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
			wbuf_i32(w, idx);
			wbuf_i16(w, err);
			if (q->ver == 0) {
				if (err || off < 0 || maxn <= 0) {
					wbuf_i32(w, 0);
				} else {
					wbuf_i32(w, 1);
					wbuf_i64(w, off);
				}
			} else {
				wbuf_i64(w, rts);
				wbuf_i64(w, off);
				if (q->ver >= 4)
					wbuf_i32(w, err ? -1 : lepoch);
			}
		}
	}
	return 0;
}

/* ---- OffsetForLeaderEpoch (API 23, KIP-101/KIP-279/KIP-320) ----
 * Request v0-1: [topic [partition leader_epoch]]; v2 adds current_leader_epoch before
 * leader_epoch; v3 starts with replica_id. Response v0: [topic [error partition end_offset]];
 * v1 adds leader_epoch before end_offset; v2+ start with throttle_time_ms. Schemas:
 * OffsetForLeaderEpochRequest.json / Response.json (versions 0-3 are not flexible). */
static int api_offset_for_leader_epoch(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t replica = -1;
	if (q->ver >= 3)
		rbuf_i32(r, &replica);
	int32_t nt = r_count(r, 6);
	if (r->err || nt < 0)
		return ERR_PROTO;
	if (q->ver >= 2)
		wbuf_i32(w, 0); /* throttle_time_ms */
	wbuf_i32(w, nt);
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = r_str(r, name, sizeof(name), NULL);
		int32_t np = r_count(r, q->ver >= 2 ? 12 : 8);
		if (r->err || np < 0)
			return ERR_PROTO;
		w_str(w, name);
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
			if (!p || t->deleting)
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

/* ---- admin requests: CreateTopics, DeleteTopics, CreatePartitions ---- */

static void admin_done(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	struct kwait *w = ctx; /* the topic index rides in the low bits of pending bookkeeping */
	(void)b;
	(void)err;
	(void)msg;
	w->pending--;
	kb_wake(b);
}

struct admin_slot {
	struct kwait *w;
	int32_t i;
};

static void admin_slot_done(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	struct admin_slot *s = ctx;
	struct kwait *w = s->w;
	if (w->errs[s->i] == KE_NONE && err) {
		w->errs[s->i] = err;
		free(w->msgs[s->i]);
		w->msgs[s->i] = msg ? strdup(msg) : NULL;
	}
	free(s);
	admin_done(b, w, err, msg);
}

static kb_admin_cb admin_slot(struct kwait *w, int32_t i, void **ctx)
{
	struct admin_slot *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->w = w;
	s->i = i;
	w->pending++;
	*ctx = s;
	return admin_slot_done;
}

static int kwait_alloc_results(struct kwait *w, int32_t n)
{
	w->n = n;
	w->errs = calloc((size_t)(n ? n : 1), sizeof(*w->errs));
	w->msgs = calloc((size_t)(n ? n : 1), sizeof(*w->msgs));
	return w->errs && w->msgs ? 0 : ERR_NOMEM;
}

static void set_result(struct kwait *w, int32_t i, int16_t err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_result(struct kwait *w, int32_t i, int16_t err, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	w->errs[i] = err;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m, sizeof(m), fmt, ap);
		va_end(ap);
		free(w->msgs[i]);
		w->msgs[i] = strdup(m);
	}
}

/* A topic is ready when every partition has a live leader. */
static bool topic_ready(struct broker *b, const char *name, int32_t nparts)
{
	struct kb_topic *t = kb_topic_find(b, name);
	if (!t || t->deleting || t->nparts < nparts)
		return false;
	for (int32_t i = 0; i < t->nparts; i++)
		if (part_error(b, &t->parts[i]))
			return false;
	return true;
}

/*
 * The admin requests are parsed twice: once on arrival (validating and issuing the writes,
 * first = true) and again from the saved copy when answering (first = false), so that the
 * answer can say which topics are ready.
 */
/* The start every admin request shares: the topic count, the per-topic results on the first
 * pass, and "not yet" while its coordinator writes are out. 0 with *nt, 1 to wait, or < 0. */
static int admin_begin(struct kreq *q, struct kwait *w, bool first, size_t min_elem, int32_t *nt)
{
	struct rbuf *r = &q->r;
	*nt = r_count(r, min_elem);
	if (r->err || *nt < 0)
		return ERR_PROTO;
	if (first && kwait_alloc_results(w, *nt))
		return ERR_NOMEM;
	if (!first && w->pending)
		return 1;
	return 0;
}

static int admin_create_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = admin_begin(q, w, first, 12, &nt);
	if (brc)
		return brc;
	bool ready = true;
	struct kb_tconf *confs = NULL;
	int32_t *assign = NULL;
	int rc = 0;
	char (*names)[KB_TOPIC_MAX + 2] = calloc((size_t)(nt ? nt : 1), sizeof(*names));
	if (!names)
		return ERR_NOMEM;
	/* the trailer (timeout, validate_only) follows the topics: find it first */
	struct rbuf scan = *r;
	for (int32_t i = 0; i < nt && !scan.err; i++) {
		char nm[KB_TOPIC_MAX + 2];
		int32_t x;
		int16_t y;
		r_str(&scan, nm, sizeof(nm), NULL);
		rbuf_i32(&scan, &x);
		rbuf_i16(&scan, &y);
		int32_t na = r_count(&scan, 8);
		for (int32_t k = 0; k < na && !scan.err; k++) {
			rbuf_i32(&scan, &x);
			int32_t nb = r_count(&scan, 4);
			rbuf_skip(&scan, (size_t)(nb > 0 ? nb : 0) * 4);
		}
		int32_t nc = r_count(&scan, 4);
		for (int32_t k = 0; k < nc && !scan.err; k++) {
			const uint8_t *pp;
			int32_t l;
			rbuf_bytes_i16(&scan, KB_MAX_STR, &pp, &l);
			rbuf_bytes_i16(&scan, KB_MAX_STR, &pp, &l);
		}
	}
	int32_t timeout = 0;
	bool validate_only = false;
	rbuf_i32(&scan, &timeout);
	if (q->ver >= 1)
		rbuf_bool(&scan, &validate_only);
	if (scan.err) {
		free(names);
		return ERR_PROTO;
	}
	if (first)
		w->deadline_ms = kb_now_ms() + (timeout > 0 ? timeout : 0);
	for (int32_t i = 0; i < nt; i++) {
		int bad = r_str(r, names[i], sizeof(names[i]), NULL);
		int32_t nparts;
		int16_t rf;
		rbuf_i32(r, &nparts);
		rbuf_i16(r, &rf);
		int32_t na = r_count(r, 8);
		if (r->err || na < -1) {
			rc = ERR_PROTO;
			break;
		}
		free(assign);
		assign = NULL;
		int32_t arf = -1;
		bool assign_bad = false;
		if (na > 0) {
			assign = calloc((size_t)na * 64, sizeof(int32_t));
			if (!assign) {
				rc = ERR_NOMEM;
				break;
			}
		}
		for (int32_t k = 0; k < na; k++) {
			int32_t pidx;
			rbuf_i32(r, &pidx);
			int32_t nb = r_count(r, 4);
			if (r->err || nb < 0) {
				rc = ERR_PROTO;
				break;
			}
			if (arf < 0)
				arf = nb;
			if (nb != arf || pidx != k || nb > 64 || nb == 0)
				assign_bad = true;
			for (int32_t j = 0; j < nb; j++) {
				int32_t id;
				rbuf_i32(r, &id);
				if (j < 64 && nb <= 64) {
					assign[k * (arf > 0 ? arf : 1) + (j < arf ? j : 0)] = id;
					if (!kb_cluster_node_live(b, id))
						assign_bad = true;
					for (int32_t m = 0; m < j && m < arf; m++)
						if (assign[k * arf + m] == id)
							assign_bad = true;
				}
			}
		}
		if (rc)
			break;
		int32_t nc = r_count(r, 4);
		if (r->err || nc < -1) {
			rc = ERR_PROTO;
			break;
		}
		free(confs);
		confs = calloc((size_t)(nc > 0 ? nc : 1), sizeof(*confs));
		char cbuf[2][KB_MAX_STR + 1];
		(void)cbuf;
		int32_t ncv = 0;
		for (int32_t k = 0; k < nc; k++) {
			const uint8_t *kp, *vp;
			int32_t kl, vl;
			rbuf_bytes_i16(r, KB_MAX_STR, &kp, &kl);
			rbuf_bytes_i16(r, KB_MAX_STR, &vp, &vl);
			if (r->err || kl < 0)
				continue;
			if (vl >= 0 && confs) {
				confs[ncv].name = strndup((const char *)kp, (size_t)kl);
				confs[ncv].value = strndup((const char *)vp, (size_t)vl);
				ncv++;
			}
		}
		if (r->err) {
			rc = ERR_PROTO;
			break;
		}
		if (!first) {
			if (w->errs[i] == KE_NONE && !validate_only && timeout > 0 &&
			    !topic_ready(b, names[i], nparts > 0 ? nparts : 1))
				ready = false;
		} else {
			char why[256];
			/* -1: the broker's defaults, in every version (Kafka 2.4's AdminManager does not
			 * look at the version; kafkajs 2.x sends -1 in v3) */
			char coll[512];
			if (nparts == -1 && na <= 0)
				nparts = b->cfg->num_partitions;
			if (rf == -1 && na <= 0)
				rf = (int16_t)b->cfg->default_replication_factor;
			if (!b->is_controller) { /* Kafka 2.x: clients send it to the controller */
				set_result(w, i, KE_NOT_CONTROLLER, NULL);
			} else if (bad || !kname_topic_valid(names[i], strlen(names[i]), why, sizeof(why))) {
				set_result(w, i, KE_INVALID_TOPIC_EXCEPTION, "%s", bad ? "Topic name is invalid" : why);
			} else if (kb_topic_find(b, names[i])) {
				set_result(w, i, KE_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", names[i]);
			} else if (kb_topic_collisions(b, names[i], coll, sizeof(coll))) {
				set_result(w, i, KE_INVALID_TOPIC_EXCEPTION, "Topic '%s' collides with existing topics: %s",
					   names[i], coll);
			} else if (na > 0 && (nparts != -1 || rf != -1)) {
				set_result(w, i, KE_INVALID_REQUEST,
					   "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
			} else if (na > 0 && assign_bad) {
				set_result(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s",
					   names[i]);
			} else if (na <= 0 && nparts <= 0) {
				set_result(w, i, KE_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
			} else if (na <= 0 && nparts > KB_MAX_PARTITIONS) {
				set_result(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.",
					   nparts, KB_MAX_PARTITIONS);
			} else if (na <= 0 && rf <= 0) {
				set_result(w, i, KE_INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
			} else if (na <= 0 && rf > kb_cluster_live_count(b)) { /* before any allocation */
				set_result(w, i, KE_INVALID_REPLICATION_FACTOR,
					   "Replication factor: %d larger than available brokers: %d.", rf,
					   kb_cluster_live_count(b));
			} else {
				int32_t np = na > 0 ? na : nparts, r2 = na > 0 ? arf : rf;
				int32_t *ids = na > 0 ? assign : calloc((size_t)np * (size_t)r2, sizeof(int32_t));
				int16_t e = ids ? KE_NONE : KE_UNKNOWN_SERVER_ERROR;
				if (!e && na <= 0)
					e = kb_cluster_assign(b, 0, np, r2, -1, ids, why, sizeof(why));
				if (e) {
					set_result(w, i, e, "%s", why);
				} else {
					struct kb_topic tmp;
					memset(&tmp, 0, sizeof(tmp));
					tmp.name = names[i];
					tmp.conf = confs;
					tmp.nconf = ncv;
					int16_t ce = (int16_t)kb_topic_apply_conf(b, &tmp, why, sizeof(why));
					if (ce) {
						set_result(w, i, ce, "%s", why);
					} else if (!validate_only) {
						void *ctx;
						kb_admin_cb cb = admin_slot(w, i, &ctx);
						if (cb)
							kb_cluster_create_topic(b, names[i], np, r2, ids, confs, ncv, cb, ctx);
					}
				}
				if (ids != assign)
					free(ids);
			}
		}
		for (int32_t k = 0; confs && k < ncv; k++) {
			free(confs[k].name);
			free(confs[k].value);
		}
	}
	free(confs);
	free(assign);
	if (rc || first) {
		free(names);
		return rc ? rc : 1;
	}
	if (!ready && !final) {
		free(names);
		return 1;
	}
	struct wbuf *wb = &o->w;
	if (q->ver >= 2)
		wbuf_i32(wb, 0);
	wbuf_i32(wb, nt);
	for (int32_t i = 0; i < nt; i++) {
		int16_t e = w->errs[i];
		const char *m = w->msgs[i];
		if (!e && !validate_only && timeout > 0 && !topic_ready(b, names[i], 1)) {
			e = KE_REQUEST_TIMED_OUT;
			m = "Operation timed out";
		}
		w_str(wb, names[i]);
		wbuf_i16(wb, e);
		if (q->ver >= 1)
			w_str(wb, e ? m : NULL);
	}
	free(names);
	return 0;
}

static int admin_delete_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = admin_begin(q, w, first, 2, &nt);
	if (brc)
		return brc;
	char (*names)[KB_TOPIC_MAX + 2] = calloc((size_t)(nt ? nt : 1), sizeof(*names));
	if (!names)
		return ERR_NOMEM;
	bool done = true;
	for (int32_t i = 0; i < nt; i++) {
		int bad = r_str(r, names[i], sizeof(names[i]), NULL);
		if (r->err)
			break;
		struct kb_topic *t = bad ? NULL : kb_topic_find(b, names[i]);
		if (first) {
			if (!b->is_controller) { /* Kafka 2.x: clients send it to the controller */
				set_result(w, i, KE_NOT_CONTROLLER, NULL);
			} else if (!t) {
				set_result(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, NULL);
			} else if (!b->cfg->delete_topic_enable) {
				set_result(w, i, KE_TOPIC_DELETION_DISABLED, NULL);
			} else {
				void *ctx;
				kb_admin_cb cb = admin_slot(w, i, &ctx);
				if (cb)
					kb_cluster_delete_topic(b, names[i], cb, ctx);
			}
		} else if (!w->errs[i] && t) {
			done = false;
		}
	}
	int32_t timeout = 0;
	rbuf_i32(r, &timeout);
	if (r->err) {
		free(names);
		return ERR_PROTO;
	}
	if (first)
		w->deadline_ms = kb_now_ms() + (timeout > 0 ? timeout : 0);
	if (first || (!done && !final)) {
		free(names);
		return 1;
	}
	struct wbuf *wb = &o->w;
	if (q->ver >= 1)
		wbuf_i32(wb, 0);
	wbuf_i32(wb, nt);
	for (int32_t i = 0; i < nt; i++) {
		int16_t e = w->errs[i];
		if (!e && kb_topic_find(b, names[i]))
			e = KE_REQUEST_TIMED_OUT;
		w_str(wb, names[i]);
		wbuf_i16(wb, e);
	}
	free(names);
	return 0;
}

static int admin_create_partitions(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w,
				   bool first, bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = admin_begin(q, w, first, 10, &nt);
	if (brc)
		return brc;
	char (*names)[KB_TOPIC_MAX + 2] = calloc((size_t)(nt ? nt : 1), sizeof(*names));
	int32_t *counts = calloc((size_t)(nt ? nt : 1), sizeof(int32_t));
	if (!names || !counts) {
		free(names);
		free(counts);
		return ERR_NOMEM;
	}
	/* find validate_only after the topics */
	struct rbuf scan = *r;
	for (int32_t i = 0; i < nt && !scan.err; i++) {
		char nm[KB_TOPIC_MAX + 2];
		int32_t x;
		r_str(&scan, nm, sizeof(nm), NULL);
		rbuf_i32(&scan, &x);
		int32_t na = r_count(&scan, 4);
		for (int32_t k = 0; k < na && !scan.err; k++) {
			int32_t nb = r_count(&scan, 4);
			rbuf_skip(&scan, (size_t)(nb > 0 ? nb : 0) * 4);
		}
	}
	int32_t timeout = 0;
	bool validate_only = false;
	rbuf_i32(&scan, &timeout);
	rbuf_bool(&scan, &validate_only);
	bool ready = true;
	int rc = scan.err ? ERR_PROTO : 0;
	if (first)
		w->deadline_ms = kb_now_ms() + (timeout > 0 ? timeout : 0);
	for (int32_t i = 0; i < nt && !rc; i++) {
		int bad = r_str(r, names[i], sizeof(names[i]), NULL);
		rbuf_i32(r, &counts[i]);
		int32_t na = r_count(r, 4);
		if (r->err || na < -1) {
			rc = ERR_PROTO;
			break;
		}
		struct kb_topic *t = bad ? NULL : kb_topic_find(b, names[i]);
		int32_t rf = t && t->nparts ? t->parts[0].nrep : 1;
		int32_t *ids = NULL;
		bool assign_bad = false;
		if (na > 0)
			ids = calloc((size_t)na * (size_t)rf, sizeof(int32_t));
		for (int32_t k = 0; k < na; k++) {
			int32_t nb = r_count(r, 4);
			if (r->err || nb < 0) {
				rc = ERR_PROTO;
				break;
			}
			if (nb != rf)
				assign_bad = true;
			for (int32_t j = 0; j < nb; j++) {
				int32_t id;
				rbuf_i32(r, &id);
				if (j < rf && ids)
					ids[k * rf + j] = id;
				if (!kb_cluster_node_live(b, id))
					assign_bad = true;
			}
		}
		if (rc) {
			free(ids);
			break;
		}
		if (!first) {
			if (!w->errs[i] && !validate_only && timeout > 0 && !topic_ready(b, names[i], counts[i]))
				ready = false;
		} else if (!b->is_controller) { /* Kafka 2.x: clients send it to the controller */
			set_result(w, i, KE_NOT_CONTROLLER, NULL);
		} else if (!t || t->deleting) {
			set_result(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", names[i]);
		} else if (counts[i] > KB_MAX_PARTITIONS) {
			set_result(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.",
				   counts[i], KB_MAX_PARTITIONS);
		} else if (counts[i] <= t->nparts) {
			set_result(w, i, KE_INVALID_PARTITIONS,
				   "Topic currently has %d partitions, which is higher than the requested %d.", t->nparts,
				   counts[i]);
		} else if (na > 0 && (na != counts[i] - t->nparts || assign_bad)) {
			set_result(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s",
				   names[i]);
		} else if (!validate_only) {
			void *ctx;
			kb_admin_cb cb = admin_slot(w, i, &ctx);
			if (cb)
				kb_cluster_add_partitions(b, t, counts[i], na > 0 ? ids : NULL, cb, ctx);
		}
		free(ids);
	}
	if (rc || first || (!ready && !final)) {
		free(names);
		free(counts);
		return rc ? rc : 1;
	}
	struct wbuf *wb = &o->w;
	wbuf_i32(wb, 0);
	wbuf_i32(wb, nt);
	for (int32_t i = 0; i < nt; i++) {
		int16_t e = w->errs[i];
		const char *m = w->msgs[i];
		if (!e && !validate_only && timeout > 0 && !topic_ready(b, names[i], counts[i])) {
			e = KE_REQUEST_TIMED_OUT;
			m = "Operation timed out";
		}
		w_str(wb, names[i]);
		wbuf_i16(wb, e);
		w_str(wb, e ? m : NULL);
	}
	free(names);
	free(counts);
	return 0;
}

/* ---- AlterConfigs, IncrementalAlterConfigs ---- */

enum { KB_OP_SET = 0, KB_OP_DELETE = 1, KB_OP_APPEND = 2, KB_OP_SUBTRACT = 3 };

/* One resource of an AlterConfigs / IncrementalAlterConfigs request, decoded. */
struct alter_res {
	uint8_t type;
	char name[KB_TOPIC_MAX + 2];
	bool bad_name;
	int32_t n;
	struct kb_tconf *conf; /* n entries; value NULL = null on the wire */
	int8_t *ops;	       /* incremental: per entry */
	bool bad_entry;	       /* a name or value that did not fit, or an unknown operation */
};

static void alter_res_clear(struct alter_res *a)
{
	for (int32_t i = 0; a->conf && i < a->n; i++) {
		free(a->conf[i].name);
		free(a->conf[i].value);
	}
	free(a->conf);
	free(a->ops);
	memset(a, 0, sizeof(*a));
}

/* Decodes one resource; 0, or ERR_PROTO / ERR_NOMEM. */
static int alter_res_read(struct rbuf *r, bool incremental, struct alter_res *a)
{
	memset(a, 0, sizeof(*a));
	rbuf_u8(r, &a->type);
	a->bad_name = r_str(r, a->name, sizeof(a->name), NULL) != 0;
	int32_t n = r_count(r, incremental ? 5 : 4);
	if (r->err || n < 0)
		return ERR_PROTO;
	a->conf = calloc((size_t)(n ? n : 1), sizeof(*a->conf));
	a->ops = calloc((size_t)(n ? n : 1), sizeof(*a->ops));
	if (!a->conf || !a->ops)
		return ERR_NOMEM;
	for (int32_t i = 0; i < n; i++) {
		const uint8_t *kp, *vp;
		int32_t kl, vl;
		rbuf_bytes_i16(r, KB_MAX_STR, &kp, &kl);
		if (incremental)
			rbuf_u8(r, (uint8_t *)&a->ops[i]);
		rbuf_bytes_i16(r, KB_MAX_STR, &vp, &vl);
		if (r->err)
			return ERR_PROTO;
		a->n = i + 1;
		if (kl <= 0 || memchr(kp, '\0', (size_t)kl) || (vl > 0 && memchr(vp, '\0', (size_t)vl)) ||
		    a->ops[i] < KB_OP_SET || a->ops[i] > KB_OP_SUBTRACT) {
			a->bad_entry = true;
			continue;
		}
		a->conf[i].name = strndup((const char *)kp, (size_t)kl);
		a->conf[i].value = vl >= 0 ? strndup((const char *)vp, (size_t)vl) : NULL;
		if (!a->conf[i].name || (vl >= 0 && !a->conf[i].value))
			return ERR_NOMEM;
	}
	return 0;
}

/* Kafka's list configs (APPEND/SUBTRACT) among the ones samsa knows: cleanup.policy only. */
static bool alter_is_list(const char *key)
{
	return !strcmp(key, "cleanup.policy");
}

/* The new complete set of an entity: AlterConfigs replaces it with the given entries (null
 * values dropped); IncrementalAlterConfigs edits the current one. On an error returns it with
 * the message in why; on success *out (caller frees) holds *nout entries. */
static int16_t alter_new_set(const struct alter_res *a, bool incremental, const struct kb_tconf *cur, int32_t ncur,
			     struct kb_tconf **out, int32_t *nout, char *why, size_t wn)
{
	struct kb_tconf *v = calloc((size_t)(ncur + a->n + 1), sizeof(*v));
	int32_t n = 0;
	if (!v)
		return KE_UNKNOWN_SERVER_ERROR;
	if (incremental)
		for (int32_t i = 0; i < ncur; i++) {
			v[n].name = strdup(cur[i].name);
			v[n++].value = strdup(cur[i].value);
		}
	for (int32_t i = 0; i < a->n; i++) {
		const char *k = a->conf[i].name, *val = a->conf[i].value;
		int32_t at = -1;
		for (int32_t j = 0; j < n; j++)
			if (!strcmp(v[j].name, k))
				at = j;
		for (int32_t j = 0; j < i; j++)
			if (!strcmp(a->conf[j].name, k)) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "Error due to duplicate config keys");
				return KE_INVALID_REQUEST;
			}
		int8_t op = incremental ? a->ops[i] : KB_OP_SET;
		if (op == KB_OP_DELETE) {
			if (at >= 0) {
				free(v[at].name);
				free(v[at].value);
				v[at] = v[--n];
			}
			continue;
		}
		if (!val) {
			if (incremental) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "Null value not supported for : %s", k);
				return KE_INVALID_REQUEST;
			}
			continue; /* AlterConfigs: a null value is no entry */
		}
		if ((op == KB_OP_APPEND || op == KB_OP_SUBTRACT) && !alter_is_list(k)) {
			kb_dynconf_free(v, n);
			snprintf(why, wn, "Config value append is not allowed for config key: %s", k);
			return KE_INVALID_REQUEST;
		}
		/* the lists samsa has hold one value: APPEND of it or SUBTRACT of another keeps it */
		if (op == KB_OP_SUBTRACT) {
			if (at >= 0 && !strcmp(v[at].value, val)) {
				free(v[at].name);
				free(v[at].value);
				v[at] = v[--n];
			}
			continue;
		}
		char *dv = strdup(val);
		if (at >= 0) {
			free(v[at].value);
			v[at].value = dv;
		} else {
			v[n].name = strdup(k);
			v[n++].value = dv;
		}
	}
	*out = v;
	*nout = n;
	return KE_NONE;
}

/* Validates resource a and, unless validate_only, starts its write (result slot i of w). */
static void alter_resource(struct broker *b, struct kwait *w, int32_t i, const struct alter_res *a, bool incremental,
			   bool validate_only)
{
	char why[512], bid[16];
	snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
	struct kb_topic *t = NULL;
	if (a->bad_name || a->bad_entry) {
		set_result(w, i, KE_INVALID_REQUEST, "Invalid config name, value or operation");
		return;
	}
	if (a->type == KB_RES_TOPIC) {
		t = kb_topic_find(b, a->name);
		if (!t || t->deleting) {
			set_result(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, "Topic %s does not exist", a->name);
			return;
		}
	} else if (a->type == KB_RES_BROKER) {
		if (a->name[0] && strcmp(a->name, bid)) {
			set_result(w, i, KE_INVALID_REQUEST, "Unexpected broker id, expected %s or empty string, but received %s",
				   bid, a->name);
			return;
		}
	} else {
		set_result(w, i, KE_INVALID_REQUEST, "Unsupported resource type %d", a->type);
		return;
	}
	const struct kb_tconf *cur = t ? t->conf : a->name[0] ? b->dyn_mine : b->dyn_default;
	int32_t ncur = t ? t->nconf : a->name[0] ? b->ndyn_mine : b->ndyn_default;
	struct kb_tconf *nv = NULL;
	int32_t nn = 0;
	int16_t e = alter_new_set(a, incremental, cur, ncur, &nv, &nn, why, sizeof(why));
	if (e) {
		set_result(w, i, e, "%s", why);
		return;
	}
	if (a->type == KB_RES_TOPIC) {
		struct kb_topic tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.name = t->name;
		tmp.conf = nv;
		tmp.nconf = nn;
		e = (int16_t)kb_topic_apply_conf(b, &tmp, why, sizeof(why));
	} else {
		e = (int16_t)kb_dynconf_broker_validate(nv, nn, why, sizeof(why));
	}
	if (e) {
		set_result(w, i, e, "%s", why);
	} else if (!validate_only) {
		void *ctx;
		kb_admin_cb cb = admin_slot(w, i, &ctx);
		if (cb)
			kb_cluster_alter_configs(b, a->type, a->name, nv, nn, cb, ctx);
	}
	kb_dynconf_free(nv, nn);
}

static int admin_alter_configs(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first)
{
	struct rbuf *r = &q->r;
	bool incremental = q->key == API_INCREMENTAL_ALTER_CONFIGS;
	int32_t nr;
	int brc = admin_begin(q, w, first, 7, &nr);
	if (brc)
		return brc;
	struct alter_res *res = calloc((size_t)(nr ? nr : 1), sizeof(*res));
	if (!res)
		return ERR_NOMEM;
	int rc = 0;
	for (int32_t i = 0; i < nr && !rc; i++)
		rc = alter_res_read(r, incremental, &res[i]);
	bool validate_only = false;
	if (!rc) {
		rbuf_bool(r, &validate_only);
		if (r->err)
			rc = ERR_PROTO;
	}
	if (!rc && first) {
		w->deadline_ms = kb_now_ms() + 30000; /* the coordinator's answer; no timeout field */
		for (int32_t i = 0; i < nr; i++)
			alter_resource(b, w, i, &res[i], incremental, validate_only);
	} else if (!rc) {
		struct wbuf *wb = &o->w;
		wbuf_i32(wb, 0); /* throttle_time_ms */
		wbuf_i32(wb, nr);
		for (int32_t i = 0; i < nr; i++) {
			wbuf_i16(wb, w->errs[i]);
			w_str(wb, w->errs[i] ? w->msgs[i] : NULL);
			wbuf_u8(wb, res[i].type);
			w_str(wb, res[i].name);
		}
	}
	for (int32_t i = 0; i < nr; i++)
		alter_res_clear(&res[i]);
	free(res);
	if (rc)
		return rc;
	return first ? 1 : 0;
}

/* ---- DescribeConfigs ---- */

static const char *const kb_topic_config_names[] = {
	"cleanup.policy",     "compression.type",    "max.message.bytes", "message.timestamp.type",
	"min.insync.replicas", "retention.bytes",    "retention.ms",	  "segment.bytes",
	"segment.ms",	       "flush.messages",     "flush.ms",	  "segment.index.bytes",
	"index.interval.bytes",
};

static void topic_default(struct broker *b, const char *name, char *out, size_t n)
{
	const struct klog_opts *d = &b->default_opts;
	const struct kb_config *c = b->cfg;
	if (!strcmp(name, "cleanup.policy"))
		snprintf(out, n, "delete");
	else if (!strcmp(name, "compression.type"))
		snprintf(out, n, "producer");
	else if (!strcmp(name, "max.message.bytes"))
		snprintf(out, n, "%d", c->message_max_bytes);
	else if (!strcmp(name, "message.timestamp.type"))
		snprintf(out, n, "%s", c->log_message_timestamp_type);
	else if (!strcmp(name, "min.insync.replicas"))
		snprintf(out, n, "%d", c->min_insync_replicas);
	else if (!strcmp(name, "retention.bytes"))
		snprintf(out, n, "%lld", (long long)d->retention_bytes);
	else if (!strcmp(name, "retention.ms"))
		snprintf(out, n, "%lld", (long long)d->retention_ms);
	else if (!strcmp(name, "segment.bytes"))
		snprintf(out, n, "%lld", (long long)d->segment_bytes);
	else if (!strcmp(name, "segment.ms"))
		snprintf(out, n, "%lld", (long long)d->roll_ms);
	else if (!strcmp(name, "flush.messages"))
		snprintf(out, n, "%lld", (long long)d->flush_messages);
	else if (!strcmp(name, "flush.ms"))
		snprintf(out, n, "%lld", (long long)d->flush_ms);
	else if (!strcmp(name, "segment.index.bytes"))
		snprintf(out, n, "%d", d->max_index_bytes);
	else if (!strcmp(name, "index.interval.bytes"))
		snprintf(out, n, "%d", d->index_interval_bytes);
	else
		out[0] = '\0';
}

/* One DescribeConfigs entry: its own source, and with synonyms the chain of where its value
 * comes from (the broker-level synonym's dynamic and static values). */
struct dc_syn {
	const char *name;
	const char *value;
	int source;
};

static void describe_entry(struct wbuf *w, int16_t ver, bool synonyms, const char *name, const char *value,
			   bool read_only, int source, const struct dc_syn *syn, int nsyn)
{
	w_str(w, name);
	w_str(w, value);
	wbuf_bool(w, read_only);
	if (ver == 0)
		wbuf_bool(w, source == KB_SRC_DEFAULT);
	else
		wbuf_u8(w, (uint8_t)source);
	wbuf_bool(w, false); /* is_sensitive */
	if (ver >= 1) {
		wbuf_i32(w, synonyms ? nsyn : 0);
		for (int i = 0; synonyms && i < nsyn; i++) {
			w_str(w, syn[i].name);
			w_str(w, syn[i].value);
			wbuf_u8(w, (uint8_t)syn[i].source);
		}
	}
}

static bool describe_wanted(const char *name, char (*keys)[256], int32_t nk)
{
	if (nk <= 0)
		return true;
	for (int32_t j = 0; j < nk; j++)
		if (!strcmp(keys[j], name))
			return true;
	return false;
}

/* The broker-level synonyms of a key that may be dynamic: this broker's, <default>'s, then the
 * static value. Returns how many went into syn (at most 3). */
static int broker_synonyms(struct broker *b, const char *key, char vals[3][64], struct dc_syn *syn)
{
	int n = 0;
	for (int32_t i = 0; i < b->ndyn_mine; i++)
		if (!strcmp(b->dyn_mine[i].name, key))
			syn[n++] = (struct dc_syn){ key, b->dyn_mine[i].value, KB_SRC_DYNAMIC_BROKER };
	for (int32_t i = 0; i < b->ndyn_default; i++)
		if (!strcmp(b->dyn_default[i].name, key))
			syn[n++] = (struct dc_syn){ key, b->dyn_default[i].value, KB_SRC_DYNAMIC_DEFAULT_BROKER };
	/* the static value: as if nothing dynamic were set */
	struct broker st = *b;
	st.ndyn_mine = st.ndyn_default = 0;
	int src = kb_dynconf_broker_value(&st, key, vals[n], sizeof(vals[n]));
	if (vals[n][0])
		syn[n] = (struct dc_syn){ key, vals[n], src }, n++;
	return n;
}

static int32_t describe_topic(struct broker *b, struct kb_topic *t, struct wbuf *w, int16_t ver, bool synonyms,
			      char (*keys)[256], int32_t nk)
{
	int32_t cnt = 0;
	size_t nnames = sizeof(kb_topic_config_names) / sizeof(kb_topic_config_names[0]);
	for (size_t k = 0; k < nnames; k++) {
		const char *cn = kb_topic_config_names[k];
		if (!describe_wanted(cn, keys, nk))
			continue;
		char def[64], vals[3][64];
		topic_default(b, cn, def, sizeof(def));
		const char *val = def;
		int source = KB_SRC_DEFAULT;
		struct dc_syn syn[4];
		int nsyn = 0;
		for (int32_t j = 0; t && j < t->nconf; j++)
			if (!strcmp(t->conf[j].name, cn)) {
				val = t->conf[j].value;
				source = KB_SRC_TOPIC;
				syn[nsyn++] = (struct dc_syn){ cn, val, KB_SRC_TOPIC };
			}
		const char *bk = kb_dynconf_synonym(cn);
		if (bk && kb_dynconf_broker_value(b, bk, vals[0], sizeof(vals[0])) && vals[0][0]) {
			int nb = broker_synonyms(b, bk, vals, syn + nsyn);
			if (source != KB_SRC_TOPIC && nb > 0)
				source = syn[nsyn].source; /* where the broker's value comes from */
			nsyn += nb;
		} else if (source != KB_SRC_TOPIC) {
			syn[nsyn++] = (struct dc_syn){ cn, val, KB_SRC_DEFAULT };
		}
		describe_entry(w, ver, synonyms, cn, val, false, source, syn, nsyn);
		cnt++;
	}
	return cnt;
}

static int32_t describe_broker(struct broker *b, struct wbuf *w, int16_t ver, bool synonyms, char (*keys)[256],
			       int32_t nk)
{
	int32_t cnt = 0;
	for (size_t k = 0; kb_dynconf_broker_keys[k]; k++) {
		const char *key = kb_dynconf_broker_keys[k];
		if (!describe_wanted(key, keys, nk))
			continue;
		char val[64], vals[3][64];
		struct dc_syn syn[3];
		int source = kb_dynconf_broker_value(b, key, val, sizeof(val));
		int nsyn = broker_synonyms(b, key, vals, syn);
		describe_entry(w, ver, synonyms, key, val, false, source, syn, nsyn);
		cnt++;
	}
	/* a few static ones, read-only here */
	const struct kb_config *c = b->cfg;
	char v[7][64];
	const char *names[7] = { "broker.id", "num.partitions", "default.replication.factor", "message.max.bytes",
				 "min.insync.replicas", "log.message.timestamp.type", "zookeeper.connect" };
	snprintf(v[0], sizeof(v[0]), "%d", c->broker_id);
	snprintf(v[1], sizeof(v[1]), "%d", c->num_partitions);
	snprintf(v[2], sizeof(v[2]), "%d", c->default_replication_factor);
	snprintf(v[3], sizeof(v[3]), "%d", c->message_max_bytes);
	snprintf(v[4], sizeof(v[4]), "%d", c->min_insync_replicas);
	snprintf(v[5], sizeof(v[5]), "%s", c->log_message_timestamp_type ? c->log_message_timestamp_type : "");
	const char *zc = c->zookeeper_connect ? c->zookeeper_connect : "";
	for (int k = 0; k < 7; k++) {
		if (!describe_wanted(names[k], keys, nk))
			continue;
		const char *val = k == 6 ? zc : v[k];
		struct dc_syn syn = { names[k], val, KB_SRC_STATIC_BROKER };
		describe_entry(w, ver, synonyms, names[k], val, true, KB_SRC_STATIC_BROKER, &syn, 1);
		cnt++;
	}
	return cnt;
}

static int api_describe_configs(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t nr = r_count(r, 7);
	if (r->err || nr < 0)
		return ERR_PROTO;
	struct rbuf scan = *r;
	for (int32_t i = 0; i < nr && !scan.err; i++) {
		uint8_t ty;
		char nm[512];
		rbuf_u8(&scan, &ty);
		r_str(&scan, nm, sizeof(nm), NULL);
		int32_t nk = r_count(&scan, 2);
		for (int32_t k = 0; k < nk && !scan.err; k++)
			r_str(&scan, nm, sizeof(nm), NULL);
	}
	bool synonyms = false;
	if (q->ver >= 1)
		rbuf_bool(&scan, &synonyms);
	if (scan.err)
		return ERR_PROTO;
	wbuf_i32(w, 0);
	wbuf_i32(w, nr);
	for (int32_t i = 0; i < nr; i++) {
		uint8_t ty;
		char name[512];
		rbuf_u8(r, &ty);
		r_str(r, name, sizeof(name), NULL);
		int32_t nk = r_count(r, 2);
		char (*keys)[256] = nk > 0 ? calloc((size_t)nk, sizeof(*keys)) : NULL;
		for (int32_t k = 0; k < nk && !r->err; k++)
			r_str(r, keys ? keys[k] : name, keys ? sizeof(keys[k]) : sizeof(name), NULL);
		if (r->err) {
			free(keys);
			return ERR_PROTO;
		}
		struct kb_topic *t = ty == 2 ? kb_topic_find(b, name) : NULL;
		char bid[16];
		snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
		int16_t err = KE_NONE;
		const char *msg = NULL;
		if (ty == 2 && !t) {
			err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			msg = "Topic does not exist";
		} else if (ty == 4 && name[0] && strcmp(name, bid)) {
			err = KE_INVALID_REQUEST;
			msg = "Unexpected broker id";
		} else if (ty != 2 && ty != 4) {
			err = KE_INVALID_REQUEST;
			msg = "Unsupported resource type";
		}
		wbuf_i16(w, err);
		w_str(w, msg);
		wbuf_u8(w, ty);
		w_str(w, name);
		if (err) {
			wbuf_i32(w, 0);
			free(keys);
			continue;
		}
		size_t cnt_pos = w->len;
		int32_t cnt = 0;
		wbuf_i32(w, 0);
		if (ty == KB_RES_TOPIC)
			cnt = describe_topic(b, t, w, q->ver, synonyms, keys, nk);
		else
			cnt = describe_broker(b, w, q->ver, synonyms, keys, nk);
		wbuf_put_i32_at(w, cnt_pos, cnt);
		free(keys);
	}
	return 0;
}

/* ---- the controller's requests: ControlledShutdown (API 7), ElectLeaders (API 43) ---- */

#define KB_CTRL_WAIT_MS 30000 /* controller.socket.timeout.ms: the longest a controlled shutdown waits */

/* ControlledShutdown v1-2 (v0 has a request header without client_id). The controller moves
 * the leaderships of broker_id away (kctrl) and answers once those writes are done, listing
 * the partitions it still leads (no other live ISR member); the broker asks again until none
 * remain. The broker epoch (v2) is not checked yet. */
static int admin_controlled_shutdown(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
				     bool final)
{
	struct rbuf *r = &q->r;
	int32_t id = -1;
	int64_t broker_epoch = -1;
	rbuf_i32(r, &id);
	if (q->ver >= 2)
		rbuf_i64(r, &broker_epoch);
	if (r->err)
		return ERR_PROTO;
	int16_t err = KE_NONE;
	size_t moving = 0;
	if (!b->ctrl) {
		err = KE_NOT_CONTROLLER;
	} else if (kctrl_rstate(b->ctrl, id) == KCTRL_R_OFFLINE) {
		err = KE_BROKER_NOT_AVAILABLE;
	} else {
		moving = kctrl_broker_shutting(b->ctrl, id);
		kb_cluster_ctrl_run(b);
	}
	if (first) {
		if (err == KE_NONE)
			log_info(API_MOD, "controlled shutdown of broker %d: %zu leadership(s) moving", id, moving);
		w->deadline_ms = kb_now_ms() + KB_CTRL_WAIT_MS;
		return 1;
	}
	if (moving && !final)
		return 1;
	struct wbuf *wb = &o->w;
	size_t n = err == KE_NONE ? kctrl_leading(b->ctrl, id, NULL, 0) : 0;
	struct kctrl_tp *tp = n ? calloc(n, sizeof(*tp)) : NULL;
	if (n && !tp)
		return ERR_NOMEM;
	if (n)
		kctrl_leading(b->ctrl, id, tp, n);
	wbuf_i16(wb, err);
	wbuf_i32(wb, (int32_t)n);
	for (size_t i = 0; i < n; i++) {
		w_str(wb, tp[i].topic);
		wbuf_i32(wb, tp[i].partition);
	}
	free(tp);
	return 0;
}

/* ElectLeaders v0-1 (KIP-183, KIP-460): preferred (type 0) or unclean (type 1) elections on the
 * controller, answered once their writes are done (or at timeout_ms: REQUEST_TIMED_OUT); a null
 * list means every partition. Per partition: ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, NOT_CONTROLLER. */
#define KB_ELECT_PENDING (-100) /* w->errs: an election this request started, not written yet */

struct elect_tp {
	char topic[KB_TOPIC_MAX + 2];
	int bad;
	int32_t part;
};

/* The partitions an ElectLeaders request names (all of them for a null list), in order. */
static int elect_parse(struct broker *b, struct rbuf *r, struct elect_tp **out, int32_t *n)
{
	*out = NULL;
	*n = 0;
	int32_t nt;
	if (rbuf_i32(r, &nt))
		return ERR_PROTO;
	if (nt < 0) { /* null: every partition of every topic */
		int32_t total = 0;
		struct kb_topic *t;
		LIST_FOREACH(t, &b->topics, link)
			total += t->deleting ? 0 : t->nparts;
		struct elect_tp *tp = calloc((size_t)(total ? total : 1), sizeof(*tp));
		if (!tp)
			return ERR_NOMEM;
		int32_t k = 0;
		LIST_FOREACH(t, &b->topics, link)
			for (int32_t i = 0; i < t->nparts && !t->deleting && k < total; i++) {
				snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", t->name);
				tp[k++].part = i;
			}
		*out = tp;
		*n = k;
		return 0;
	}
	if (nt > KB_MAX_ITEMS || (size_t)nt * 6 > rbuf_left(r))
		return ERR_PROTO;
	struct elect_tp *tp = NULL;
	int32_t k = 0, cap = 0;
	for (int32_t i = 0; i < nt; i++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = r_str(r, name, sizeof(name), NULL);
		int32_t np = r_count(r, 4);
		if (r->err || np < 0 || k + np > KB_MAX_ITEMS)
			goto bad;
		if (k + np > cap) {
			cap = k + np;
			struct elect_tp *ntp = realloc(tp, (size_t)(cap ? cap : 1) * sizeof(*tp));
			if (!ntp) {
				free(tp);
				return ERR_NOMEM;
			}
			tp = ntp;
		}
		for (int32_t j = 0; j < np; j++) {
			snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", name);
			tp[k].bad = bad;
			rbuf_i32(r, &tp[k].part);
			k++;
		}
		if (r->err)
			goto bad;
	}
	*out = tp;
	*n = k;
	return 0;
bad:
	free(tp);
	return ERR_PROTO;
}

static int16_t elect_error(enum kctrl_elect e, bool unclean)
{
	switch (e) {
	case KCTRL_ELECT_NOT_NEEDED:
		return KE_ELECTION_NOT_NEEDED;
	case KCTRL_ELECT_NOT_AVAILABLE:
		return unclean ? KE_ELIGIBLE_LEADERS_NOT_AVAILABLE : KE_PREFERRED_LEADER_NOT_AVAILABLE;
	case KCTRL_ELECT_UNKNOWN:
		return KE_UNKNOWN_TOPIC_OR_PARTITION;
	case KCTRL_ELECT_STARTED:
	case KCTRL_ELECT_BUSY:
		break;
	}
	return KB_ELECT_PENDING;
}

static int admin_elect_leaders(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int8_t type = 0;
	if (q->ver >= 1 && rbuf_u8(r, (uint8_t *)&type))
		return ERR_PROTO;
	struct elect_tp *tp;
	int32_t n;
	int rc = elect_parse(b, r, &tp, &n);
	if (rc)
		return rc;
	int32_t timeout = 0;
	if (rbuf_i32(r, &timeout) || (type != 0 && type != 1)) {
		free(tp);
		return ERR_PROTO;
	}
	bool unclean = type == 1;
	if (first && kwait_alloc_results(w, n)) {
		free(tp);
		return ERR_NOMEM;
	}
	bool done = true;
	for (int32_t i = 0; i < n; i++) {
		int16_t *e = &w->errs[i];
		if (!first && *e != KB_ELECT_PENDING)
			continue;
		if (!b->ctrl) {
			*e = KE_NOT_CONTROLLER;
		} else if (tp[i].bad) {
			*e = KE_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (first) {
			*e = elect_error(kctrl_elect(b->ctrl, tp[i].topic, tp[i].part, unclean), unclean);
		} else if (!kctrl_busy(b->ctrl, tp[i].topic, tp[i].part)) {
			/* its write is done (or failed and was decided again): where does it stand now */
			enum kctrl_elect x = kctrl_elect(b->ctrl, tp[i].topic, tp[i].part, unclean);
			*e = x == KCTRL_ELECT_NOT_NEEDED ? KE_NONE : elect_error(x, unclean);
		}
		done &= *e != KB_ELECT_PENDING;
	}
	if (b->ctrl)
		kb_cluster_ctrl_run(b);
	if (first) {
		w->deadline_ms = kb_now_ms() + (timeout > 0 ? timeout : 0);
		free(tp);
		return 1;
	}
	if (!done && !final) {
		free(tp);
		return 1;
	}
	struct wbuf *wb = &o->w;
	wbuf_i32(wb, 0); /* throttle */
	if (q->ver >= 1)
		wbuf_i16(wb, KE_NONE);
	/* one entry per topic, its partitions in request order */
	int32_t ntopics = 0;
	for (int32_t i = 0; i < n; i++)
		ntopics += i == 0 || strcmp(tp[i].topic, tp[i - 1].topic) != 0;
	wbuf_i32(wb, ntopics);
	for (int32_t i = 0; i < n;) {
		int32_t j = i;
		while (j < n && strcmp(tp[j].topic, tp[i].topic) == 0)
			j++;
		w_str(wb, tp[i].topic);
		wbuf_i32(wb, j - i);
		for (; i < j; i++) {
			int16_t e = w->errs[i] == KB_ELECT_PENDING ? KE_REQUEST_TIMED_OUT : w->errs[i];
			wbuf_i32(wb, tp[i].part);
			wbuf_i16(wb, e);
			if (e == KE_NONE) {
				wbuf_i16(wb, -1);
			} else {
				char msg[KB_TOPIC_MAX + 128];
				snprintf(msg, sizeof(msg), "%s election of %s-%d: %s", unclean ? "unclean" : "preferred",
					 tp[i].topic, tp[i].part,
					 e == KE_ELECTION_NOT_NEEDED		  ? "not needed"
					 : e == KE_PREFERRED_LEADER_NOT_AVAILABLE ? "the preferred replica is not live or not in the ISR"
					 : e == KE_ELIGIBLE_LEADERS_NOT_AVAILABLE ? "no live replica"
					 : e == KE_NOT_CONTROLLER		  ? "this broker is not the controller"
					 : e == KE_REQUEST_TIMED_OUT		  ? "not done within the timeout"
										  : "no such partition");
				w_str(wb, msg);
			}
		}
	}
	free(tp);
	return 0;
}

/* ---- dispatch ---- */

static int admin_alter_configs_run(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
				   bool final)
{
	(void)final;
	return admin_alter_configs(b, q, o, w, first);
}

/* How a request is answered. */
enum api_kind {
	API_KIND_VERSIONS, /* ApiVersions: a too-new version still gets an answer (UNSUPPORTED_VERSION) */
	API_KIND_NOW,	   /* answered at once */
	API_KIND_PRODUCE,  /* answered at once, after the flush it promises, or not at all (acks=0) */
	API_KIND_FETCH,	   /* answered at once or held until min_bytes arrive or max_wait passes */
	API_KIND_ADMIN,	   /* coordinator writes: a first pass on arrival, then kb_api_retry until done */
};

/* The one table of what this broker serves: ApiVersions is written from it and every request
 * is dispatched through it, so a key that is not here (or a version outside its range) can
 * only close the connection, never reach another handler. The maxima are those of an Apache
 * Kafka 2.4 broker for these APIs, which is what kafka-python infers from them. */
static const struct api_def {
	int16_t key, min, max;
	enum api_kind kind;
	int (*now)(struct broker *b, struct kreq *q, struct kout *o);
	int (*produce)(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp);
	int64_t (*fetch)(struct broker *b, struct kreq *q, struct kout *o, int32_t *max_wait, int32_t *min_bytes);
	int (*admin)(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
} kb_apis[] = {
	{ .key = API_PRODUCE, .min = 3, .max = 8, .kind = API_KIND_PRODUCE, .produce = api_produce },
	{ .key = API_FETCH, .min = 4, .max = 11, .kind = API_KIND_FETCH, .fetch = fetch_build },
	{ .key = API_LIST_OFFSETS, .min = 0, .max = 5, .kind = API_KIND_NOW, .now = api_list_offsets },
	{ .key = API_METADATA, .min = 0, .max = 8, .kind = API_KIND_NOW, .now = api_metadata },
	{ .key = API_API_VERSIONS, .min = 0, .max = 2, .kind = API_KIND_VERSIONS },
	{ .key = API_OFFSET_FOR_LEADER_EPOCH, .min = 0, .max = 3, .kind = API_KIND_NOW, .now = api_offset_for_leader_epoch },
	{ .key = API_CREATE_TOPICS, .min = 0, .max = 4, .kind = API_KIND_ADMIN, .admin = admin_create_topics },
	{ .key = API_DELETE_TOPICS, .min = 0, .max = 3, .kind = API_KIND_ADMIN, .admin = admin_delete_topics },
	{ .key = API_DESCRIBE_CONFIGS, .min = 0, .max = 2, .kind = API_KIND_NOW, .now = api_describe_configs },
	{ .key = API_CREATE_PARTITIONS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = admin_create_partitions },
	{ .key = API_ALTER_CONFIGS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = admin_alter_configs_run },
	{ .key = API_CONTROLLED_SHUTDOWN, .min = 1, .max = 2, .kind = API_KIND_ADMIN, .admin = admin_controlled_shutdown },
	{ .key = API_ELECT_LEADERS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = admin_elect_leaders }, /* v2 is flexible */
	{ .key = API_INCREMENTAL_ALTER_CONFIGS, .min = 0, .max = 0, .kind = API_KIND_ADMIN, .admin = admin_alter_configs_run }, /* v1 is flexible */
};
#define KB_NAPIS (sizeof(kb_apis) / sizeof(kb_apis[0]))

static const struct api_def *api_def(int16_t key)
{
	for (size_t i = 0; i < KB_NAPIS; i++)
		if (kb_apis[i].key == key)
			return &kb_apis[i];
	return NULL;
}

size_t kb_api_count(void)
{
	return KB_NAPIS;
}

void kb_api_range_at(size_t i, int16_t *key, int16_t *min, int16_t *max)
{
	*key = kb_apis[i].key;
	*min = kb_apis[i].min;
	*max = kb_apis[i].max;
}

bool kb_api_supported(int16_t key, int16_t ver)
{
	const struct api_def *d = api_def(key);
	return d && ver >= d->min && ver <= d->max;
}

void kb_api_versions_body(struct wbuf *w, int16_t ver, int16_t err)
{
	wbuf_i16(w, err);
	wbuf_i32(w, (int32_t)KB_NAPIS);
	for (size_t i = 0; i < KB_NAPIS; i++) {
		wbuf_i16(w, kb_apis[i].key);
		wbuf_i16(w, kb_apis[i].min);
		wbuf_i16(w, kb_apis[i].max);
	}
	if (ver >= 1)
		wbuf_i32(w, 0); /* throttle_time_ms */
}

static int kreq_parse(uint8_t *p, size_t len, struct kreq *q)
{
	q->p = p;
	q->len = len;
	q->r = rbuf_make(p, len);
	rbuf_i16(&q->r, &q->key);
	rbuf_i16(&q->r, &q->ver);
	rbuf_i32(&q->r, &q->corr);
	const uint8_t *cid;
	int32_t cl;
	rbuf_bytes_i16(&q->r, KB_MAX_STR, &cid, &cl);
	return q->r.err;
}

/* Runs an admin request: first pass on arrival, then again from kb_api_retry. A key without an
 * admin handler (which no waiting admin request can have) is a protocol error. */
static int admin_run(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	const struct api_def *d = api_def(q->key);
	if (!d || d->kind != API_KIND_ADMIN)
		return ERR_PROTO;
	return d->admin(b, q, o, w, first, final);
}

bool kb_api_retry(struct broker *b, struct kwait *w, bool final)
{
	struct kreq q;
	struct kout o;
	if (kreq_parse(w->req, w->req_len, &q))
		return true;
	if (!w->resp->conn) { /* the client went away: finish the writes, then forget it */
		return w->kind != KWAIT_ADMIN || w->pending == 0;
	}
	kout_init(&o, q.corr);
	if (w->kind == KWAIT_FETCH) {
		int32_t max_wait = 0, min_bytes = 0;
		int64_t got = fetch_build(b, &q, &o, &max_wait, &min_bytes);
		if (got < 0 || got >= min_bytes || final) {
			struct kconn *c = w->resp->conn;
			kout_finish(&o, w->resp);
			w->resp = NULL; /* the connection's queue owns it now */
			kb_conn_flush(c);
			return true;
		}
		kout_abort(&o);
		return false;
	}
	int rc = admin_run(b, &q, &o, w, false, final);
	if (rc == 1 && !final) {
		kout_abort(&o);
		return false;
	}
	if (rc == 1 && final && w->pending) { /* writes still outstanding at the deadline: wait on */
		kout_abort(&o);
		return false;
	}
	if (rc < 0) {
		kout_abort(&o);
		net_conn_close(w->resp->conn->nc, ERR_PROTO);
		return true;
	}
	struct kconn *c = w->resp->conn;
	kout_finish(&o, w->resp);
	w->resp = NULL; /* the connection's queue owns it now */
	kb_conn_flush(c);
	return true;
}

void kb_conn_gone(struct kconn *c)
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
	/* waiting requests of this connection: forget fetches; admin writes finish on their own */
	struct kwait *w, *next;
	for (w = LIST_FIRST(&b->waits); w; w = next) {
		next = LIST_NEXT(w, link);
		if (w->resp->conn != c)
			continue;
		TAILQ_REMOVE(&c->q, w->resp, link);
		w->resp->conn = NULL;
		if (w->kind == KWAIT_FETCH || w->pending == 0)
			kwait_free(w);
	}
	struct kresp *r;
	while ((r = TAILQ_FIRST(&c->q))) {
		TAILQ_REMOVE(&c->q, r, link);
		if (r->buf)
			evbuffer_free(r->buf);
		free(r);
	}
}

void kb_retry_waits(struct broker *b, bool deadlines)
{
	int64_t now = kb_now_ms();
	struct kwait *w, *next;
	for (w = LIST_FIRST(&b->waits); w; w = next) {
		next = LIST_NEXT(w, link);
		bool final = now >= w->deadline_ms;
		if (deadlines && !final)
			continue;
		if (kb_api_retry(b, w, final))
			kwait_free(w);
	}
}

int kb_api_request(struct kconn *c, uint8_t *p, size_t len)
{
	struct broker *b = c->b;
	struct kreq q;
	if (kreq_parse(p, len, &q)) {
		log_warn(API_MOD, "malformed request header from %s; closing", net_conn_peer(c->nc));
		return ERR_PROTO;
	}
	const struct api_def *d = api_def(q.key);
	if (!d) {
		log_warn(API_MOD, "unknown api_key %d (version %d) from %s; closing", q.key, q.ver, net_conn_peer(c->nc));
		return ERR_PROTO;
	}
	struct kout o;
	if (d->kind == API_KIND_VERSIONS) {
		kout_init(&o, q.corr);
		if (q.ver > d->max || q.ver < 0)
			kb_api_versions_body(&o.w, 0, KE_UNSUPPORTED_VERSION);
		else
			kb_api_versions_body(&o.w, q.ver, KE_NONE);
		struct kresp *resp = kresp_new(c);
		if (!resp) {
			kout_abort(&o);
			return ERR_NOMEM;
		}
		kout_finish(&o, resp);
		kb_conn_flush(c);
		return 0;
	}
	if (q.ver < d->min || q.ver > d->max) {
		log_warn(API_MOD, "api_key %d version %d from %s is not supported (%d-%d); closing", q.key, q.ver,
			 net_conn_peer(c->nc), d->min, d->max);
		return ERR_VERSION;
	}
	struct kresp *resp = kresp_new(c);
	if (!resp)
		return ERR_NOMEM;
	kout_init(&o, q.corr);
	int rc = 0;
	switch (d->kind) {
	case API_KIND_NOW:
		rc = d->now(b, &q, &o);
		break;
	case API_KIND_PRODUCE:
		rc = d->produce(b, &q, &o, resp);
		if (rc == 1) { /* acks=0 */
			kout_abort(&o);
			TAILQ_REMOVE(&c->q, resp, link);
			free(resp);
			kb_conn_flush(c);
			return 0;
		}
		if (rc == 2) { /* acks=all held in the purgatory: produce_completed answers it */
			kout_abort(&o);
			return 0;
		}
		break;
	case API_KIND_FETCH: {
		int32_t max_wait = 0, min_bytes = 0;
		struct rbuf start = q.r;
		int64_t got = d->fetch(b, &q, &o, &max_wait, &min_bytes);
		if (got < 0) {
			rc = ERR_PROTO;
		} else if (got < min_bytes && max_wait > 0) {
			kout_abort(&o);
			q.r = start;
			if (!kwait_new(b, resp, &q, KWAIT_FETCH, max_wait))
				return ERR_NOMEM;
			return 0;
		}
		break;
	}
	case API_KIND_ADMIN: {
		struct kwait *w = kwait_new(b, resp, &q, KWAIT_ADMIN, 0);
		if (!w)
			return ERR_NOMEM;
		rc = admin_run(b, &q, &o, w, true, false);
		kout_abort(&o);
		if (rc < 0) {
			kwait_free(w);
			log_warn(API_MOD, "malformed api_key %d v%d request from %s; closing", q.key, q.ver,
				 net_conn_peer(c->nc));
			return rc;
		}
		kb_wake(b);
		return 0;
	}
	case API_KIND_VERSIONS:
		break; /* answered above */
	}
	if (rc < 0) {
		kout_abort(&o);
		log_warn(API_MOD, "malformed api_key %d v%d request from %s; closing", q.key, q.ver, net_conn_peer(c->nc));
		return rc;
	}
	kout_finish(&o, resp);
	if (resp->holds)
		resp->done = false; /* a Produce waiting for its fsync: kb_log_flushed sends it */
	kb_conn_flush(c);
	return 0;
}

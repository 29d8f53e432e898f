/*
 * kapi — the dispatch table (the request header and ApiVersions' body are read and written by
 * wire/kwhdr, from the table), and the retry of waiting requests (see kapi.h).
 *
 * Every request gets a response slot in its connection's queue when it arrives; slots leave
 * in request order whether they are filled at once or later (kconn_flush). A request that
 * cannot be parsed, an unknown API or an unsupported version closes the connection, as Kafka
 * does — except ApiVersions, which answers a too-new version with UNSUPPORTED_VERSION and
 * the supported ranges in a v0 body so that a client can retry lower.
 */
#include "kapi.h"

#include "err.h"
#include "kapi_admin.h"
#include "kapi_config.h"
#include "kapi_acl.h"
#include "kapi_ctrl.h"
#include "kapi_fetch.h"
#include "kapi_group.h"
#include "kapi_mark.h"
#include "kapi_meta.h"
#include "kapi_offsets.h"
#include "kapi_pid.h"
#include "kapi_produce.h"
#include "kapi_txn.h"
#include "kwtxn.h"
#include "kb_broker.h"
#include "kgw.h"
#include "kwhdr.h"
#include "kwpid.h"
#include "kwmark.h"
#include "kconn.h"
#include "kout.h"
#include "ksauth.h"
#include "kwait.h"
#include "log.h"
#include "net.h"

#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

/* How a request is answered. */
enum api_kind {
	API_KIND_VERSIONS, /* ApiVersions: a too-new version still gets an answer (UNSUPPORTED_VERSION) */
	API_KIND_NOW,	   /* answered at once */
	API_KIND_PRODUCE,  /* answered at once, after the flush it promises, or not at all (acks=0) */
	API_KIND_FETCH,	   /* answered at once or held (kapi_fetch's purgatory) until min_bytes or max_wait */
	API_KIND_ADMIN,	   /* coordinator writes: a first pass on arrival (the request decoded into its kwait), then kapi_retry until done */
	API_KIND_GROUP,	   /* given to the group coordinator, which answers at once or later */
};

/* The one table of what this broker serves: ApiVersions is written from it and every request
 * is dispatched through it, so a key that is not here (or a version outside its range) can
 * only close the connection, never reach another handler. The maxima are those of an Apache
 * Kafka 2.4 broker for these APIs, which is what kafka-python infers from them. */
static const struct api_def {
	int16_t key, min, max;
	/* the first flexible version served (KIP-482: its request header is v2, with tagged fields
	 * after the client id; the handler writes response header v1); 0: none */
	int16_t flex;
	enum api_kind kind;
	int (*now)(struct broker *b, struct kreq *q, struct kout *o);
	int (*produce)(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp);
	int (*fetch)(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp);
	int (*admin)(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
	int (*group)(struct broker *b, struct kreq *q, struct kresp *resp);
} kb_apis[] = {
	{ .key = API_PRODUCE, .min = 3, .max = 8, .kind = API_KIND_PRODUCE, .produce = kapi_produce_request },
	{ .key = API_FETCH, .min = 4, .max = 11, .kind = API_KIND_FETCH, .fetch = kapi_fetch_request },
	{ .key = API_LIST_OFFSETS, .min = 0, .max = 5, .kind = API_KIND_NOW, .now = kapi_offsets_list },
	{ .key = API_METADATA, .min = 0, .max = 8, .kind = API_KIND_NOW, .now = kapi_meta_metadata },
	{ .key = API_API_VERSIONS, .min = 0, .max = 2, .kind = API_KIND_VERSIONS },
	{ .key = API_OFFSET_FOR_LEADER_EPOCH, .min = 0, .max = 3, .kind = API_KIND_NOW, .now = kapi_offsets_for_epoch },
	{ .key = API_CREATE_TOPICS, .min = 0, .max = 4, .kind = API_KIND_ADMIN, .admin = kapi_admin_create_topics },
	{ .key = API_DELETE_TOPICS, .min = 0, .max = 3, .kind = API_KIND_ADMIN, .admin = kapi_admin_delete_topics },
	{ .key = API_DESCRIBE_CONFIGS, .min = 0, .max = 2, .kind = API_KIND_NOW, .now = kapi_config_describe },
	{ .key = API_CREATE_PARTITIONS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = kapi_admin_create_partitions },
	{ .key = API_ALTER_CONFIGS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = kapi_config_alter },
	{ .key = API_CONTROLLED_SHUTDOWN, .min = 1, .max = 2, .kind = API_KIND_ADMIN, .admin = kapi_ctrl_shutdown },
	{ .key = API_ELECT_LEADERS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = kapi_ctrl_elect }, /* v2 is flexible */
	{ .key = API_DESCRIBE_ACLS, .min = 0, .max = 1, .kind = API_KIND_NOW, .now = kapi_acl_describe }, /* v2 is flexible */
	{ .key = API_CREATE_ACLS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = kapi_acl_create },
	{ .key = API_DELETE_ACLS, .min = 0, .max = 1, .kind = API_KIND_ADMIN, .admin = kapi_acl_delete },
	{ .key = API_INCREMENTAL_ALTER_CONFIGS, .min = 0, .max = 0, .kind = API_KIND_ADMIN, .admin = kapi_config_alter }, /* v1 is flexible */
	/* consumer groups: what kgw implements (kgw_max_version): the last non-flexible version of
	 * each (Kafka 2.4 serves one more, flexible, version of each but OffsetDelete), and the
	 * flexible OffsetCommit v8 and OffsetFetch v6-7 (Kafka 2.5's; librdkafka 2.0 asks v7) */
	{ .key = KGW_API_FIND_COORDINATOR, .min = 0, .max = 2, .kind = API_KIND_NOW, .now = kapi_group_find_coordinator },
	{ .key = KGW_API_JOIN_GROUP, .min = 0, .max = 5, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_SYNC_GROUP, .min = 0, .max = 3, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_HEARTBEAT, .min = 0, .max = 3, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_LEAVE_GROUP, .min = 0, .max = 3, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_OFFSET_COMMIT, .min = 0, .max = 8, .flex = 8, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_OFFSET_FETCH, .min = 0, .max = 7, .flex = 6, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_LIST_GROUPS, .min = 0, .max = 2, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_DESCRIBE_GROUPS, .min = 0, .max = 4, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_DELETE_GROUPS, .min = 0, .max = 1, .kind = API_KIND_GROUP, .group = kapi_group_request },
	{ .key = KGW_API_OFFSET_DELETE, .min = 0, .max = 0, .kind = API_KIND_GROUP, .group = kapi_group_request },
	/* the producer id (librdkafka 2.0 asks v4, kafkajs 2.2 v1), idempotent or transactional */
	{ .key = KWPID_API, .min = 0, .max = KWPID_MAX_VERSION, .flex = KWPID_FIRST_FLEXIBLE, .kind = API_KIND_ADMIN, .admin = kapi_pid_init },
	/* the partition side of transactions: coordinators' markers (kapi_mark) */
	{ .key = KWMARK_API, .min = 0, .max = KWMARK_MAX_VERSION, .flex = KWMARK_FIRST_FLEXIBLE, .kind = API_KIND_ADMIN, .admin = kapi_mark_write },
	/* the transaction coordinator (kapi_txn): v0-2, the non-flexible versions (librdkafka 2.x
	 * asks v0, kafkajs 2.x v1); TxnOffsetCommit v0-3, v3 flexible (KIP-447's generation check,
	 * Kafka 2.5's) */
	{ .key = KWTXN_API_ADD_PARTITIONS, .min = 0, .max = KWTXN_MAX_VERSION, .kind = API_KIND_ADMIN, .admin = kapi_txn_request },
	{ .key = KWTXN_API_ADD_OFFSETS, .min = 0, .max = KWTXN_MAX_VERSION, .kind = API_KIND_ADMIN, .admin = kapi_txn_request },
	{ .key = KWTXN_API_END, .min = 0, .max = KWTXN_MAX_VERSION, .kind = API_KIND_ADMIN, .admin = kapi_txn_request },
	{ .key = KWTXN_API_TXN_OFFSET_COMMIT, .min = 0, .max = KWTXN_TOC_MAX_VERSION, .flex = KWTXN_TOC_FIRST_FLEXIBLE, .kind = API_KIND_ADMIN, .admin = kapi_txn_offset_commit },
	/* served by ksauth during an authentication; here only outside one (ILLEGAL_SASL_STATE) */
	{ .key = API_SASL_HANDSHAKE, .min = 0, .max = 1, .kind = API_KIND_NOW, .now = ksauth_api_handshake },
	{ .key = API_SASL_AUTHENTICATE, .min = 0, .max = 1, .kind = API_KIND_NOW, .now = ksauth_api_authenticate }, /* v2 is flexible */
};
#define KB_NAPIS (sizeof(kb_apis) / sizeof(kb_apis[0]))

static const struct api_def *kapi_def(int16_t key)
{
	for (size_t i = 0; i < KB_NAPIS; i++)
		if (kb_apis[i].key == key)
			return &kb_apis[i];
	return NULL;
}

size_t kapi_count(void)
{
	return KB_NAPIS;
}

void kapi_range_at(size_t i, int16_t *key, int16_t *min, int16_t *max)
{
	*key = kb_apis[i].key;
	*min = kb_apis[i].min;
	*max = kb_apis[i].max;
}

bool kapi_supported(int16_t key, int16_t ver)
{
	const struct api_def *d = kapi_def(key);
	return d && ver >= d->min && ver <= d->max;
}

void kapi_versions_body(struct wbuf *w, int16_t ver, int16_t err)
{
	kwhdr_versions_encode(w, ver, err, KB_NAPIS, kapi_range_at);
}

int kapi_header_read(uint8_t *p, size_t len, struct kreq *q)
{
	struct kwhdr h;
	q->listener = -1;
	q->conn = NULL;
	q->p = p;
	q->len = len;
	q->r = rbuf_make(p, len);
	if (kwhdr_read(&q->r, &h))
		return q->r.err;
	q->key = h.key;
	q->ver = h.ver;
	q->corr = h.corr;
	q->client_id = h.client_id;
	q->client_id_len = h.client_id_len;
	const struct api_def *d = kapi_def(q->key);
	if (d && d->flex && q->ver >= d->flex) /* request header v2 */
		return kwhdr_tags_read(&q->r);
	return 0;
}

/* Runs an admin request: first pass on arrival, then again from kapi_retry. A key without an
 * admin handler (which no waiting admin request can have) is a protocol error. */
static int kapi_admin_run(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	const struct api_def *d = kapi_def(q->key);
	if (!d || d->kind != API_KIND_ADMIN)
		return ERR_PROTO;
	return d->admin(b, q, o, w, first, final);
}

bool kapi_retry(struct broker *b, struct kwait *w, bool final)
{
	struct kreq q;
	struct kout o;
	/* kept decoded by its handler (priv): only the header is needed, no request bytes */
	memset(&q, 0, sizeof(q));
	q.key = w->key;
	q.ver = w->ver;
	q.corr = w->corr;
	q.r = rbuf_make(NULL, 0);
	if (!w->resp->conn) { /* the client went away: finish the writes, then forget it */
		return w->kind != KWAIT_ADMIN || w->pending == 0;
	}
	q.listener = w->resp->conn->listener;
	q.conn = w->resp->conn;
	kout_init(&o, q.corr);
	if (kconn_tls(w->resp->conn))
		kout_no_sendfile(&o);
	int rc = kapi_admin_run(b, &q, &o, w, false, final);
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
	kconn_flush(c);
	return true;
}

int kapi_request(struct kconn *c, uint8_t *p, size_t len)
{
	struct broker *b = c->b;
	struct kreq q;
	if (kapi_header_read(p, len, &q)) {
		log_warn(API_MOD, "malformed request header from %s; closing", net_conn_peer(c->nc));
		return ERR_PROTO;
	}
	q.listener = c->listener;
	q.conn = c;
	const struct api_def *d = kapi_def(q.key);
	if (!d) {
		log_warn(API_MOD, "unknown api_key %d (version %d) from %s; closing", q.key, q.ver, net_conn_peer(c->nc));
		return ERR_PROTO;
	}
	struct kout o;
	if (d->kind == API_KIND_VERSIONS) {
		kout_init(&o, q.corr);
		if (q.ver > d->max || q.ver < 0)
			kapi_versions_body(&o.w, 0, KE_UNSUPPORTED_VERSION);
		else
			kapi_versions_body(&o.w, q.ver, KE_NONE);
		struct kresp *resp = kconn_resp_new(c);
		if (!resp) {
			kout_abort(&o);
			return ERR_NOMEM;
		}
		resp->key = q.key;
		kout_finish(&o, resp);
		kconn_flush(c);
		return 0;
	}
	if (q.ver < d->min || q.ver > d->max) {
		log_warn(API_MOD, "api_key %d version %d from %s is not supported (%d-%d); closing", q.key, q.ver,
			 net_conn_peer(c->nc), d->min, d->max);
		return ERR_VERSION;
	}
	struct kresp *resp = kconn_resp_new(c);
	if (!resp)
		return ERR_NOMEM;
	resp->key = q.key;
	resp->corr = q.corr;
	if (d->kind == API_KIND_GROUP) { /* answered through kapi_group_reply, now or later */
		int grc = d->group(b, &q, resp);
		if (grc < 0)
			return grc;
		return 0;
	}
	kout_init(&o, q.corr);
	if (kconn_tls(c))
		kout_no_sendfile(&o); /* TLS encrypts in user space: record ranges are read, not sendfile'd */
	int rc = 0;
	switch (d->kind) {
	case API_KIND_NOW:
		rc = d->now(b, &q, &o);
		break;
	case API_KIND_PRODUCE:
		rc = d->produce(b, &q, &o, resp);
		if (rc == 1 || rc == 3) { /* acks=0 */
			kout_abort(&o);
			TAILQ_REMOVE(&c->q, resp, link);
			free(resp);
			kconn_flush(c);
			if (rc == 1)
				return 0;
			/* refused (logged per partition): closed, as Kafka closes it */
			log_info(API_MOD, "acks=0 produce from %s refused; closing the connection", net_conn_peer(c->nc));
			return ERR_CLOSED;
		}
		if (rc == 2) { /* acks=all held in the purgatory: produce_completed answers it */
			kout_abort(&o);
			return 0;
		}
		break;
	case API_KIND_FETCH:
		rc = d->fetch(b, &q, &o, resp);
		if (rc == 2) { /* held in the fetch purgatory: kapi_fetch_retry answers it */
			kout_abort(&o);
			return 0;
		}
		break;
	case API_KIND_ADMIN: {
		struct kwait *w = kwait_new(b, resp, &q, KWAIT_ADMIN, 0);
		if (!w)
			return ERR_NOMEM;
		rc = kapi_admin_run(b, &q, &o, w, true, false);
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
	case API_KIND_GROUP:
		break; /* answered above */
	}
	if (rc < 0) {
		kout_abort(&o);
		log_warn(API_MOD, "malformed api_key %d v%d request from %s; closing", q.key, q.ver, net_conn_peer(c->nc));
		return rc;
	}
	kout_finish(&o, resp);
	if (resp->holds)
		resp->done = false; /* a Produce waiting for its fsync: kapi_produce_flushed sends it */
	kconn_flush(c);
	return 0;
}

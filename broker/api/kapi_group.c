/*
 * kapi_group — FindCoordinator, and the group APIs handed to the coordinator's core (see
 * kapi_group.h).
 */
#include "kapi_group.h"

#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kapi_meta.h"
#include "kb_acl.h"
#include "kb_broker.h"
#include "kb_groups.h"
#include "kb_txns.h"
#include "kconn.h"
#include "kgplace.h"
#include "kgroup.h"
#include "kgw.h"
#include "klisten.h"
#include "kout.h"
#include "kwhdr.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

/* The body of request q (after its header). */
static const uint8_t *kapi_group_body(const struct kreq *q, size_t *len)
{
	*len = q->r.len - q->r.pos;
	return q->r.p + q->r.pos;
}

/* ---- FindCoordinator ---- */

/* Kafka's Errors.message() of the codes FindCoordinator answers (NONE's is its name). */
static bool kapi_group_allowed(struct broker *b, const struct kreq *q, struct kgw_str g, int op);

static const char *kapi_group_find_message(int16_t err)
{
	switch (err) {
	case KE_NONE:
		return "NONE";
	case KE_GROUP_AUTHORIZATION_FAILED:
		return "Group authorization failed.";
	case KE_COORDINATOR_NOT_AVAILABLE:
		return "The coordinator is not available.";
	case KE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
		return "Transactional Id authorization failed.";
	case KE_INVALID_REQUEST:
		return "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.";
	default:
		return "The request attempted to perform an operation on an invalid topic.";
	}
}

int kapi_group_find_coordinator(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kgw_find_req fq;
	struct kgw_arena a = { 0 };
	char eb[256];
	size_t len;
	const uint8_t *body = kapi_group_body(q, &len);
	int rc = kgw_find_req_decode(body, len, q->ver, &fq, &a, eb, sizeof(eb));
	if (rc) {
		kgw_arena_free(&a);
		log_warn(API_MOD, "FindCoordinator v%d: %s", q->ver, eb);
		return ERR_PROTO;
	}
	struct kgw_find_resp r = { .error = KE_NONE, .node_id = -1, .host = kgw_s(""), .port = -1 };
	const char *topic = NULL;
	int32_t np = 0;
	if (fq.key_type == KGW_COORD_TXN) {
		/* the transaction coordinator: the leader of the id's __transaction_state partition
		 * (Kafka: DESCRIBE on the transactional id) */
		char *id = strndup(fq.key.p ? (const char *)fq.key.p : "", fq.key.p && fq.key.len > 0 ? (size_t)fq.key.len : 0);
		if (!id)
			r.error = KE_COORDINATOR_NOT_AVAILABLE;
		else if (!kapi_acl_ok(b, q, KACL_RT_TRANSACTIONAL_ID, id, KACL_OP_DESCRIBE))
			r.error = KE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		else if (fq.key.len <= 0)
			r.error = KE_INVALID_REQUEST;
		else if (!(r.error = kb_txns_state_topic(b, &np)))
			topic = KB_TXN_STATE_TOPIC;
		free(id);
	} else if (fq.key_type != KGW_COORD_GROUP) {
		r.error = KE_INVALID_REQUEST;
	} else if (!kapi_group_allowed(b, q, fq.key, KACL_OP_DESCRIBE)) {
		r.error = KE_GROUP_AUTHORIZATION_FAILED; /* Kafka: DESCRIBE on the group */
	} else if (!(r.error = kb_groups_offsets_topic(b, &np))) {
		topic = KB_OFFSETS_TOPIC;
	}
	if (topic) {
		/* both place their keys by Java's String.hashCode */
		struct kb_topic *t = kb_topic_find(b, topic);
		int32_t p = kgplace_partition(fq.key.p, (size_t)fq.key.len, np);
		const struct kb_part *part = &t->parts[p];
		r.error = KE_COORDINATOR_NOT_AVAILABLE;
		/* the leader's endpoint of the listener this client came in on, as Metadata's */
		const char *host;
		int32_t port;
		for (int32_t i = 0; !kapi_meta_part_error(b, part) && i < b->nnodes; i++)
			if (b->nodes[i].id == part->leader &&
			    klisten_node_endpoint(b, q->listener, &b->nodes[i], &host, &port)) {
				r.node_id = part->leader;
				r.host = kgw_s(host);
				r.port = port;
				r.error = KE_NONE;
			}
	}
	r.error_message = kgw_s(kapi_group_find_message(r.error));
	if (r.error) {
		r.node_id = -1;
		r.host = kgw_s("");
		r.port = -1;
	}
	rc = kgw_find_resp_encode(&o->w, q->ver, &r);
	kgw_arena_free(&a);
	return rc ? ERR_PROTO : 0;
}

/* ---- authorization ---- */

/* Whether q may do op on the resource of type rtype named g (a copy NUL-terminated for the
 * check; the cluster: rtype KACL_RT_CLUSTER, g unused). */
static bool kapi_group_allowed_rt(struct broker *b, const struct kreq *q, int rtype, struct kgw_str g, int op)
{
	if (!kb_acl_on(b))
		return true;
	if (rtype == KACL_RT_CLUSTER)
		return kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, op);
	char *name = strndup(g.p ? (const char *)g.p : "", g.p && g.len > 0 ? (size_t)g.len : 0);
	bool ok = name && kapi_acl_ok(b, q, rtype, name, op);
	free(name);
	return ok;
}

/* Whether q may do op on the group named g. */
static bool kapi_group_allowed(struct broker *b, const struct kreq *q, struct kgw_str g, int op)
{
	return kapi_group_allowed_rt(b, q, KACL_RT_GROUP, g, op);
}

/* The checks the core asks during one call (kgroup_allowed_fn): arg is this. */
struct kapi_group_auth {
	struct broker *b;
	const struct kreq *q;
};

static bool kapi_group_check(void *arg, enum kgroup_check check, struct kgw_str name)
{
	const struct kapi_group_auth *ga = arg;
	switch (check) {
	case KGROUP_CHECK_CLUSTER_DESCRIBE:
		return kapi_group_allowed_rt(ga->b, ga->q, KACL_RT_CLUSTER, name, KACL_OP_DESCRIBE);
	case KGROUP_CHECK_GROUP_DESCRIBE:
		return kapi_group_allowed_rt(ga->b, ga->q, KACL_RT_GROUP, name, KACL_OP_DESCRIBE);
	case KGROUP_CHECK_GROUP_DELETE:
		return kapi_group_allowed_rt(ga->b, ga->q, KACL_RT_GROUP, name, KACL_OP_DELETE);
	case KGROUP_CHECK_TOPIC_READ:
		return kapi_group_allowed_rt(ga->b, ga->q, KACL_RT_TOPIC, name, KACL_OP_READ);
	case KGROUP_CHECK_TOPIC_DESCRIBE:
		return kapi_group_allowed_rt(ga->b, ga->q, KACL_RT_TOPIC, name, KACL_OP_DESCRIBE);
	}
	return false;
}

/* Kafka's checks of the group APIs (KafkaApis) that come before the coordinator: READ on the
 * group for JoinGroup, SyncGroup, Heartbeat, LeaveGroup and OffsetCommit, DESCRIBE on it for
 * OffsetFetch (Kafka 2.1 on; READ implies it); refused requests are answered here with
 * GROUP_AUTHORIZATION_FAILED (OffsetCommit: on every partition) and never reach the core. The
 * others (per group, per topic) the core asks through kapi_group_check. Returns true when it
 * answered. */
static bool kapi_group_refused(struct broker *b, const struct kreq *q, struct kresp *resp, const void *req)
{
	struct kgw_str g;
	switch (q->key) {
	case KGW_API_JOIN_GROUP:
		g = ((const struct kgw_join_req *)req)->group_id;
		break;
	case KGW_API_SYNC_GROUP:
		g = ((const struct kgw_sync_req *)req)->group_id;
		break;
	case KGW_API_HEARTBEAT:
		g = ((const struct kgw_heartbeat_req *)req)->group_id;
		break;
	case KGW_API_LEAVE_GROUP:
		g = ((const struct kgw_leave_req *)req)->group_id;
		break;
	case KGW_API_OFFSET_COMMIT:
		g = ((const struct kgw_commit_req *)req)->group_id;
		break;
	case KGW_API_OFFSET_FETCH:
		g = ((const struct kgw_ofetch_req *)req)->group_id;
		break;
	default:
		return false;
	}
	if (kapi_group_allowed(b, q, g, q->key == KGW_API_OFFSET_FETCH ? KACL_OP_DESCRIBE : KACL_OP_READ))
		return false;
	const int16_t e = KE_GROUP_AUTHORIZATION_FAILED;
	switch (q->key) {
	case KGW_API_JOIN_GROUP: {
		struct kgw_join_resp r = { .error = e, .generation_id = -1, .protocol_name = kgw_s(""),
					   .leader = kgw_s(""), .member_id = kgw_s("") };
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		break;
	}
	case KGW_API_SYNC_GROUP: {
		struct kgw_sync_resp r = { .error = e, .assignment = kgw_s("") };
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		break;
	}
	case KGW_API_HEARTBEAT: {
		struct kgw_heartbeat_resp r = { .error = e };
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		break;
	}
	case KGW_API_LEAVE_GROUP: {
		struct kgw_leave_resp r = { .error = e };
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		break;
	}
	case KGW_API_OFFSET_COMMIT: {
		const struct kgw_commit_req *c = req;
		int32_t np = 0;
		for (int32_t i = 0; i < c->n_topics; i++)
			np += c->topics[i].n_parts;
		struct kgw_topic_errors *te = calloc((size_t)c->n_topics + 1, sizeof(*te));
		struct kgw_part_error *pe = calloc((size_t)np + 1, sizeof(*pe));
		struct kgw_commit_resp r = { 0 };
		if (te && pe) {
			r.n_topics = c->n_topics;
			r.topics = te;
			for (int32_t i = 0, k = 0; i < c->n_topics; i++) {
				te[i] = (struct kgw_topic_errors){ c->topics[i].name, c->topics[i].n_parts, pe + k };
				for (int32_t j = 0; j < c->topics[i].n_parts; j++, k++)
					pe[k] = (struct kgw_part_error){ c->topics[i].parts[j].partition, e };
			}
		}
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		free(te);
		free(pe);
		break;
	}
	default: { /* OffsetFetch: the group's error (v2+) and no offsets */
		struct kgw_ofetch_resp r = { .error = e };
		kapi_group_reply(NULL, resp, q->key, q->ver, &r);
		break;
	}
	}
	return true;
}

/* ---- the APIs of the core ---- */

/* Kafka's client host: the peer's address as InetAddress.toString prints it ("/127.0.0.1"). */
static void kapi_group_host(const char *peer, char *out, size_t n)
{
	const char *s = peer;
	size_t l = strlen(s);
	const char *colon = strrchr(s, ':');
	if (colon && s[0] != '[')
		l = (size_t)(colon - s);
	else if (s[0] == '[' && (colon = strchr(s, ']'))) {
		s++;
		l = (size_t)(colon - s);
	}
	snprintf(out, n, "/%.*s", (int)l, s);
}

int kapi_group_request(struct broker *b, struct kreq *q, struct kresp *resp)
{
	struct kgroups *gs = kb_groups_core(b);
	struct kconn *c = resp->conn;
	if (!gs) { /* a broker without a coordinator (not the daemon): nothing can answer */
		log_warn(API_MOD, "api_key %d from %s: no group coordinator here; closing", q->key, net_conn_peer(c->nc));
		return ERR_PROTO;
	}
	union {
		struct kgw_join_req join;
		struct kgw_sync_req sync;
		struct kgw_heartbeat_req hb;
		struct kgw_leave_req leave;
		struct kgw_commit_req commit;
		struct kgw_ofetch_req ofetch;
		struct kgw_describe_req describe;
		struct kgw_delete_req del;
		struct kgw_odelete_req odel;
	} u;
	struct kgw_arena a = { 0 };
	char eb[256] = "";
	size_t len;
	const uint8_t *body = kapi_group_body(q, &len);
	int16_t v = q->ver;
	int rc;
	switch (q->key) {
	case KGW_API_JOIN_GROUP:
		rc = kgw_join_req_decode(body, len, v, &u.join, &a, eb, sizeof(eb));
		break;
	case KGW_API_SYNC_GROUP:
		rc = kgw_sync_req_decode(body, len, v, &u.sync, &a, eb, sizeof(eb));
		break;
	case KGW_API_HEARTBEAT:
		rc = kgw_heartbeat_req_decode(body, len, v, &u.hb, &a, eb, sizeof(eb));
		break;
	case KGW_API_LEAVE_GROUP:
		rc = kgw_leave_req_decode(body, len, v, &u.leave, &a, eb, sizeof(eb));
		break;
	case KGW_API_OFFSET_COMMIT:
		rc = kgw_commit_req_decode(body, len, v, &u.commit, &a, eb, sizeof(eb));
		break;
	case KGW_API_OFFSET_FETCH:
		rc = kgw_ofetch_req_decode(body, len, v, &u.ofetch, &a, eb, sizeof(eb));
		break;
	case KGW_API_DESCRIBE_GROUPS:
		rc = kgw_describe_req_decode(body, len, v, &u.describe, &a, eb, sizeof(eb));
		break;
	case KGW_API_DELETE_GROUPS:
		rc = kgw_delete_req_decode(body, len, v, &u.del, &a, eb, sizeof(eb));
		break;
	case KGW_API_OFFSET_DELETE:
		rc = kgw_odelete_req_decode(body, len, v, &u.odel, &a, eb, sizeof(eb));
		break;
	case KGW_API_LIST_GROUPS: /* no fields in v0-2 */
		rc = len ? ERR_PROTO : 0;
		if (rc)
			snprintf(eb, sizeof(eb), "%zu bytes in an empty body", len);
		break;
	default:
		rc = ERR_PROTO;
		snprintf(eb, sizeof(eb), "not a group API");
		break;
	}
	if (rc) {
		kgw_arena_free(&a);
		log_warn(API_MOD, "malformed api_key %d v%d request from %s: %s; closing", q->key, v, net_conn_peer(c->nc),
			 eb);
		return rc < 0 ? rc : ERR_PROTO;
	}
	if (kapi_group_refused(b, q, resp, &u)) {
		kgw_arena_free(&a);
		return 0;
	}
	/* the identity DescribeGroups shows: the header's client id, the peer's address */
	char host[80];
	kapi_group_host(net_conn_peer(c->nc), host, sizeof(host));
	char *cid = strndup(q->client_id ? (const char *)q->client_id : "", q->client_id ? (size_t)q->client_id_len : 0);
	if (!cid) {
		kgw_arena_free(&a);
		return ERR_NOMEM;
	}
	struct kapi_group_auth ga = { b, q };
	struct kgroup_ctx x = { .token = resp, .ver = v, .client_id = cid, .client_host = host,
				.allowed = kb_acl_on(b) ? kapi_group_check : NULL, .allowed_arg = &ga };
	int64_t now = kb_now_ms();
	resp->parked = true; /* the core's from now on: a closing connection orphans it */
	switch (q->key) {
	case KGW_API_JOIN_GROUP:
		kgroups_join(gs, &x, &u.join, now);
		break;
	case KGW_API_SYNC_GROUP:
		kgroups_sync(gs, &x, &u.sync, now);
		break;
	case KGW_API_HEARTBEAT:
		kgroups_heartbeat(gs, &x, &u.hb, now);
		break;
	case KGW_API_LEAVE_GROUP:
		kgroups_leave(gs, &x, &u.leave, now);
		break;
	case KGW_API_OFFSET_COMMIT:
		kgroups_commit(gs, &x, &u.commit, now);
		break;
	case KGW_API_OFFSET_FETCH:
		kgroups_offset_fetch(gs, &x, &u.ofetch, now);
		break;
	case KGW_API_DESCRIBE_GROUPS:
		kgroups_describe(gs, &x, &u.describe, now);
		break;
	case KGW_API_DELETE_GROUPS:
		kgroups_delete(gs, &x, &u.del, now);
		break;
	case KGW_API_OFFSET_DELETE:
		kgroups_offset_delete(gs, &x, &u.odel, now);
		break;
	default: /* KGW_API_LIST_GROUPS: the others were refused above */
		kgroups_list(gs, &x, now);
		break;
	}
	free(cid);
	kgw_arena_free(&a);
	return 0;
}

/* Encodes body, the response of api in version ver, into w. */
static int kapi_group_encode(struct wbuf *w, int16_t api, int16_t ver, const void *body)
{
	switch (api) {
	case KGW_API_JOIN_GROUP:
		return kgw_join_resp_encode(w, ver, body);
	case KGW_API_SYNC_GROUP:
		return kgw_sync_resp_encode(w, ver, body);
	case KGW_API_HEARTBEAT:
		return kgw_heartbeat_resp_encode(w, ver, body);
	case KGW_API_LEAVE_GROUP:
		return kgw_leave_resp_encode(w, ver, body);
	case KGW_API_OFFSET_COMMIT:
		return kgw_commit_resp_encode(w, ver, body);
	case KGW_API_OFFSET_FETCH:
		return kgw_ofetch_resp_encode(w, ver, body);
	case KGW_API_DESCRIBE_GROUPS:
		return kgw_describe_resp_encode(w, ver, body);
	case KGW_API_LIST_GROUPS:
		return kgw_list_resp_encode(w, ver, body);
	case KGW_API_DELETE_GROUPS:
		return kgw_delete_resp_encode(w, ver, body);
	case KGW_API_OFFSET_DELETE:
		return kgw_odelete_resp_encode(w, ver, body);
	default:
		return ERR_INVAL;
	}
}

void kapi_group_reply(void *arg, void *token, int16_t api, int16_t ver, const void *resp_body)
{
	struct kresp *resp = token;
	struct kconn *c = resp->conn;
	(void)arg;
	resp->parked = false;
	if (!c) { /* orphaned: its connection closed while the core had it */
		if (resp->buf)
			evbuffer_free(resp->buf);
		free(resp);
		return;
	}
	struct kout o;
	kout_init(&o, resp->corr);
	if (kgw_flexible(api, ver))
		kwhdr_resp_tags(&o.w);
	int rc;
	if (!o.eb) {
		wbuf_free(&o.w);
		rc = ERR_NOMEM;
	} else if ((rc = kapi_group_encode(&o.w, api, ver, resp_body))) {
		kout_abort(&o);
	} else {
		rc = kout_finish(&o, resp);
	}
	if (rc) {
		/* an answer that cannot be written (no memory, or a core bug): the client's request
		 * times out and it reconnects, as after a lost response */
		log_error(API_MOD, "api_key %d v%d response to %s cannot be encoded: %s; closing", api, ver,
			  net_conn_peer(c->nc), err_str(rc));
		net_conn_close(c->nc, ERR_PROTO);
		return;
	}
	kconn_flush(c);
}

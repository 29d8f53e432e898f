/*
 * kb_cluster — the broker's coordinator session and the writes any broker makes (see
 * kb_cluster.h). Everything here is a chain of the ZooKeeper client's async calls; each step's
 * context is a small heap struct freed by the step's completion, which the client calls exactly
 * once (with ZCLOSING when the session is closed at shutdown). What the watches bring is routed
 * to its owner: the metadata cache (kb_zkmeta), the controller role (kcontroller, a library
 * that sees no struct broker: kb_cluster_start makes it and answers its host interface with the
 * cache's brokers and topics), the dynamic configs (here, applied by kb_dynconf).
 */
#include "kb_cluster.h"

#include "err.h"
#include "kassign.h"
#include "kb_acl.h"
#include "kb_acl.h"
#include "kb_dynconf.h"
#include "kb_zk.h"
#include "kb_zkmeta.h"
#include "kcontroller.h"
#include "kctl_chan.h"
#include "kznode.h"
#include "log.h"
#include "tls.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CL_MOD = "cluster";

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))

struct kb_cluster_ctx {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	int32_t part;
	void *p;
	kb_admin_cb cb;
	void *cb_ctx;
};

static struct kb_cluster_ctx *kb_cluster_ctx(struct broker *b, const char *name, int32_t part)
{
	struct kb_cluster_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->b = b;
	if (name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	c->part = part;
	return c;
}

static int16_t kb_cluster_kafka_err(int zrc)
{
	switch (zrc) {
	case ZOK:
		return KE_NONE;
	case ZNODEEXISTS:
		return KE_TOPIC_ALREADY_EXISTS;
	case ZNONODE:
		return KE_UNKNOWN_TOPIC_OR_PARTITION;
	case ZCONNECTIONLOSS:
	case ZOPERATIONTIMEOUT:
	case ZSESSIONEXPIRED:
	case ZCLOSING:
		return KE_REQUEST_TIMED_OUT;
	default:
		return KE_UNKNOWN_SERVER_ERROR;
	}
}

/* Admin writes need a client handle, not a live connection: while the client reconnects (the
 * coordinator's leader died, say) it queues them and sends them once connected, and fails them
 * with a connection loss if that does not happen. */
static bool kb_cluster_have_session(struct broker *b)
{
	return b->zk && kb_zk_handle(b->zk);
}

int16_t kb_cluster_assign(struct broker *b, int32_t first, int32_t n, int32_t rf, int32_t leader0, int32_t *out,
			  char *why, size_t wn)
{
	int32_t ids[1024];
	int32_t nl = 0;
	bool self = false;
	for (int32_t i = 0; i < b->nnodes && nl < 1024; i++) {
		ids[nl++] = b->nodes[i].id;
		self |= b->nodes[i].id == b->cfg->broker_id;
	}
	if (!self && nl < 1024)
		ids[nl++] = b->cfg->broker_id;
	/* Kafka places over the brokers sorted by id */
	kassign_sort(ids, nl);
	if (rf > nl) {
		snprintf(why, wn, "Replication factor: %d larger than available brokers: %d.", rf, nl);
		return KE_INVALID_REPLICATION_FACTOR;
	}
	/* a new topic: start index and shift drawn independently, as AdminUtils does; a growing
	 * topic: both from its partition 0's first replica (AdminZkClient) */
	int32_t start, shift;
	if (leader0 < 0) {
		uint32_t r[2] = { 0, 0 };
		if (RAND_bytes((unsigned char *)r, sizeof(r)) != 1) {
			r[0] = (uint32_t)kb_now_ms();
			r[1] = r[0] / 7u;
		}
		start = (int32_t)(r[0] % (uint32_t)nl);
		shift = (int32_t)(r[1] % (uint32_t)nl);
	} else {
		start = kassign_growth_start(ids, nl, leader0);
		shift = start;
	}
	if (kassign_replicas(ids, nl, n, rf, start, shift, first, out) != 0) {
		snprintf(why, wn, "Replication factor: %d larger than available brokers: %d.", rf, nl);
		return KE_INVALID_REPLICATION_FACTOR;
	}
	return KE_NONE;
}

/* ---- admin writes ---- */

struct kb_cluster_create {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	char *conf_json;
	char *assign_json;
	kb_admin_cb cb;
	void *ctx;
};

static void kb_cluster_create_free(struct kb_cluster_create *c)
{
	free(c->conf_json);
	free(c->assign_json);
	free(c);
}

static void kb_cluster_create_topic_done(int rc, const char *v, const void *data)
{
	struct kb_cluster_create *c = (struct kb_cluster_create *)(uintptr_t)data;
	(void)v;
	if (rc == ZOK)
		log_info(CL_MOD, "created topic %s", c->name);
	c->cb(c->b, c->ctx, kb_cluster_kafka_err(rc),
	      rc == ZNODEEXISTS ? "Topic already exists." : rc == ZOK ? NULL : zerror(rc));
	if (rc == ZOK && !c->b->stopping)
		kb_zkmeta_refresh_topic(c->b, c->name);
	kb_cluster_create_free(c);
}

static void kb_cluster_create_write_topic(struct kb_cluster_create *c)
{
	struct broker *b = c->b;
	char rel[512], full[1024];
	if (b->stopping) {
		c->cb(b, c->ctx, KE_REQUEST_TIMED_OUT, "the broker is stopping");
		kb_cluster_create_free(c);
		return;
	}
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", c->name);
	int rc = zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), c->assign_json, (int)strlen(c->assign_json),
			     &ZOO_OPEN_ACL_UNSAFE, 0, kb_cluster_create_topic_done, c);
	if (rc != ZOK) {
		c->cb(b, c->ctx, kb_cluster_kafka_err(rc), zerror(rc));
		kb_cluster_create_free(c);
	}
	kb_zk_pump(b->zk);
}

static void kb_cluster_create_config_set(int rc, const struct Stat *st, const void *data)
{
	struct kb_cluster_create *c = (struct kb_cluster_create *)(uintptr_t)data;
	(void)st;
	if (rc != ZOK) {
		c->cb(c->b, c->ctx, kb_cluster_kafka_err(rc), zerror(rc));
		kb_cluster_create_free(c);
		return;
	}
	kb_cluster_create_write_topic(c);
}

static void kb_cluster_create_config_done(int rc, const char *v, const void *data)
{
	struct kb_cluster_create *c = (struct kb_cluster_create *)(uintptr_t)data;
	struct broker *b = c->b;
	(void)v;
	if (rc == ZNODEEXISTS && !b->stopping) { /* left by an earlier topic of that name */
		char rel[512], full[1024];
		snprintf(rel, sizeof(rel), "/config/topics/%s", c->name);
		if (zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), c->conf_json, (int)strlen(c->conf_json), -1,
			     kb_cluster_create_config_set, c) == ZOK) {
			kb_zk_pump(b->zk);
			return;
		}
	}
	if (rc != ZOK) {
		c->cb(b, c->ctx, kb_cluster_kafka_err(rc == ZNODEEXISTS ? ZCLOSING : rc), zerror(rc));
		kb_cluster_create_free(c);
		return;
	}
	kb_cluster_create_write_topic(c);
}

void kb_cluster_create_topic(struct broker *b, const char *name, int32_t nparts, int32_t rf, const int32_t *replicas,
			     const struct kb_tconf *confs, int32_t nconf, kb_admin_cb cb, void *ctx)
{
	char why[256];
	int32_t *ids = NULL;
	if (!replicas) {
		ids = calloc((size_t)nparts * (size_t)rf, sizeof(int32_t));
		int16_t e = ids ? kb_cluster_assign(b, 0, nparts, rf, -1, ids, why, sizeof(why)) : KE_UNKNOWN_SERVER_ERROR;
		if (e) {
			free(ids);
			cb(b, ctx, e, why);
			return;
		}
		replicas = ids;
	}
	struct kb_cluster_create *c = calloc(1, sizeof(*c));
	if (c) {
		c->b = b;
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->cb = cb;
		c->ctx = ctx;
		c->conf_json = kb_dynconf_json(confs, nconf);
		if (kznode_assignment_encode(nparts, rf, replicas, &c->assign_json))
			c->assign_json = NULL;
	}
	free(ids);
	if (!c || !c->conf_json || !c->assign_json) {
		if (c)
			kb_cluster_create_free(c);
		cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	if (!kb_cluster_have_session(b)) {
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		kb_cluster_create_free(c);
		return;
	}
	char rel[512], full[1024];
	snprintf(rel, sizeof(rel), "/config/topics/%s", name);
	int rc = zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), c->conf_json, (int)strlen(c->conf_json),
			     &ZOO_OPEN_ACL_UNSAFE, 0, kb_cluster_create_config_done, c);
	if (rc != ZOK) {
		cb(b, ctx, kb_cluster_kafka_err(rc), zerror(rc));
		kb_cluster_create_free(c);
	}
	kb_zk_pump(b->zk);
}

static void kb_cluster_admin_string_done(int rc, const char *v, const void *data)
{
	struct kb_cluster_ctx *c = (struct kb_cluster_ctx *)(uintptr_t)data;
	(void)v;
	c->cb(c->b, c->cb_ctx, rc == ZNODEEXISTS ? KE_NONE : kb_cluster_kafka_err(rc), rc == ZOK || rc == ZNODEEXISTS ? NULL : zerror(rc));
	free(c);
}

void kb_cluster_delete_topic(struct broker *b, const char *name, kb_admin_cb cb, void *ctx)
{
	char rel[512], full[1024];
	struct kb_cluster_ctx *c = kb_cluster_ctx(b, name, -1);
	if (!c || !kb_cluster_have_session(b)) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		return;
	}
	c->cb = cb;
	c->cb_ctx = ctx;
	snprintf(rel, sizeof(rel), "/admin/delete_topics/%s", name);
	if (zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_cluster_admin_string_done,
			c) != ZOK) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
	}
	kb_zk_pump(b->zk);
}

static void kb_cluster_admin_stat_done(int rc, const struct Stat *st, const void *data)
{
	struct kb_cluster_ctx *c = (struct kb_cluster_ctx *)(uintptr_t)data;
	(void)st;
	c->cb(c->b, c->cb_ctx, kb_cluster_kafka_err(rc), rc == ZOK ? NULL : zerror(rc));
	if (rc == ZOK && !c->b->stopping)
		kb_zkmeta_refresh_topic(c->b, c->name);
	free(c);
}

void kb_cluster_add_partitions(struct broker *b, struct kb_topic *t, int32_t count, const int32_t *replicas,
			       kb_admin_cb cb, void *ctx)
{
	char why[256];
	int32_t rf = t->nparts ? t->parts[0].nrep : 1;
	int32_t *ids = calloc((size_t)count * (size_t)rf, sizeof(int32_t));
	if (!ids) {
		cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	for (int32_t p = 0; p < t->nparts; p++)
		for (int32_t r = 0; r < rf; r++)
			ids[p * rf + r] = r < t->parts[p].nrep ? t->parts[p].replicas[r] : t->parts[p].replicas[0];
	int16_t e = KE_NONE;
	if (replicas)
		memcpy(ids + (size_t)t->nparts * (size_t)rf, replicas, (size_t)(count - t->nparts) * (size_t)rf * sizeof(int32_t));
	else
		e = kb_cluster_assign(b, t->nparts, count - t->nparts, rf, t->nparts && t->parts[0].nrep ? t->parts[0].replicas[0] : -1,
				      ids + (size_t)t->nparts * (size_t)rf, why, sizeof(why));
	char *js = NULL;
	if (!e && kznode_assignment_encode(count, rf, ids, &js)) {
		e = KE_UNKNOWN_SERVER_ERROR;
		snprintf(why, sizeof(why), "out of memory");
	}
	free(ids);
	struct kb_cluster_ctx *c = js ? kb_cluster_ctx(b, t->name, -1) : NULL;
	if (!c || !kb_cluster_have_session(b)) {
		cb(b, ctx, e ? e : KE_REQUEST_TIMED_OUT, e ? why : "the coordinator is not reachable");
		free(js);
		free(c);
		return;
	}
	c->cb = cb;
	c->cb_ctx = ctx;
	char rel[512], full[1024];
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", t->name);
	if (zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), -1, kb_cluster_admin_stat_done, c) != ZOK) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
	}
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- ISR changes written by a partition's leader ---- */

struct kb_cluster_isr {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	int32_t part;
	int32_t leader, leader_epoch;
	uint32_t n_isr;
	int32_t isr[KREPL_MAX_REPLICAS];
};

static void kb_cluster_isr_done(struct kb_cluster_isr *w, bool ok, int32_t version)
{
	struct broker *b = w->b;
	if (ok && !b->stopping) { /* Kafka writes the notification once the state is written */
		char *js = NULL, full[1024];
		if (!kznode_isr_change_encode(w->name, w->part, &js)) {
			zoo_acreate(kb_zk_handle(b->zk), ZP("/isr_change_notification/isr_change_", full), js,
				    (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, kb_zk_ignore_string, NULL);
			kb_zk_pump(b->zk);
		}
		free(js);
	}
	if (!b->stopping && b->rm)
		krm_isr_result(b->rm, w->name, w->part, w->leader_epoch, ok, version, kb_now_ms());
	free(w);
}

/* After ZBADVERSION: Kafka's checkLeaderAndIsrZkData — when the znode already holds exactly
 * what we wrote (our own write whose answer was lost to a connection loss, retried with the old
 * version), the write counts as done at the znode's version; else it was refused. */
static void kb_cluster_isr_check(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_cluster_isr *w = (struct kb_cluster_isr *)(uintptr_t)data;
	struct kznode_state ks;
	char eb[160];
	bool same = rc == ZOK && v && st && !kznode_state_decode(v, (size_t)(vl > 0 ? vl : 0), &ks, eb, sizeof(eb)) &&
		    ks.leader == w->leader && ks.leader_epoch == w->leader_epoch && ks.n_isr == w->n_isr &&
		    !memcmp(ks.isr, w->isr, w->n_isr * sizeof(int32_t));
	kb_cluster_isr_done(w, same, same ? st->version : -1);
}

static void kb_cluster_isr_written(int rc, const struct Stat *st, const void *data)
{
	struct kb_cluster_isr *w = (struct kb_cluster_isr *)(uintptr_t)data;
	struct broker *b = w->b;
	if (rc == ZBADVERSION && !b->stopping) {
		char rel[512], full[1024];
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", w->name, w->part);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_cluster_isr_check, w) == ZOK) {
			kb_zk_pump(b->zk);
			return;
		}
	}
	if (rc != ZOK && rc != ZBADVERSION && rc != ZCLOSING)
		log_warn(CL_MOD, "writing the ISR of %s-%d: %s", w->name, w->part, zerror(rc));
	kb_cluster_isr_done(w, rc == ZOK && st, rc == ZOK && st ? st->version : -1);
}

/* Kafka 2.x's ReplicaManager: the new ISR goes into the state znode conditionally on its
 * version (a controller's write in between makes it fail: ZBADVERSION), and a sequential
 * /isr_change_notification/isr_change_ znode tells the controller which partitions changed
 * (the parent is made with the other top-level paths at each new session). */
void kb_cluster_isr_write(struct broker *b, const char *topic, int32_t part, const struct krepl_state *st,
			  int32_t controller_epoch)
{
	char *js = NULL, rel[512], full[1024];
	struct kznode_state ks = { .leader = st->leader,
				   .leader_epoch = st->leader_epoch,
				   .controller_epoch = controller_epoch,
				   .n_isr = st->n_isr };
	struct kb_cluster_isr *w = calloc(1, sizeof(*w));
	if (!w || !b->zk || !kb_cluster_have_session(b) || st->n_isr > KREPL_MAX_REPLICAS) {
		free(w);
		if (b->rm) /* not written: krepl waits for the next LeaderAndIsr or retries */
			krm_isr_result(b->rm, topic, part, st->leader_epoch, false, -1, kb_now_ms());
		return;
	}
	w->b = b;
	snprintf(w->name, sizeof(w->name), "%s", topic);
	w->part = part;
	w->leader = st->leader;
	w->leader_epoch = st->leader_epoch;
	w->n_isr = st->n_isr;
	memcpy(w->isr, st->isr, st->n_isr * sizeof(int32_t));
	memcpy(ks.isr, st->isr, st->n_isr * sizeof(int32_t));
	snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", topic, part);
	if (kznode_state_encode(&ks, &js) ||
	    zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), st->zk_version, kb_cluster_isr_written, w) != ZOK) {
		free(js);
		free(w);
		if (b->rm)
			krm_isr_result(b->rm, topic, part, st->leader_epoch, false, -1, kb_now_ms());
		return;
	}
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- dynamic configs: /config/brokers, /config/changes ---- */

struct kb_cluster_bconf {
	struct broker *b;
	bool is_default;
};

static void kb_cluster_broker_config(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_cluster_bconf *g = (struct kb_cluster_bconf *)(uintptr_t)data;
	struct broker *b = g->b;
	(void)st;
	if (!b->stopping && (rc == ZOK || rc == ZNONODE)) {
		struct kb_tconf *c = NULL;
		int32_t n = 0;
		if (rc == ZOK && v && vl > 0 && kb_dynconf_parse(v, (size_t)vl, &c, &n) == ERR_CORRUPT)
			log_warn(CL_MOD, "/config/brokers/%s is not valid JSON; ignored", g->is_default ? "<default>" : "<id>");
		kb_dynconf_broker_set(b, g->is_default, c, n);
	}
	free(g);
}

/* Reads /config/brokers/<default> and /config/brokers/<id> and applies them. */
static void kb_cluster_load_broker_configs(struct broker *b)
{
	for (int k = 0; k < 2; k++) {
		char rel[64], full[1024];
		struct kb_cluster_bconf *g = malloc(sizeof(*g));
		if (!g)
			continue;
		g->b = b;
		g->is_default = k == 0;
		if (k == 0)
			snprintf(rel, sizeof(rel), "/config/brokers/<default>");
		else
			snprintf(rel, sizeof(rel), "/config/brokers/%d", b->cfg->broker_id);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_cluster_broker_config, g) != ZOK)
			free(g);
	}
	kb_zk_pump(b->zk);
}

/* Kafka deletes change notifications older than this (ZkNodeChangeNotificationListener). */
#define CL_CHANGE_EXPIRY_MS (15 * 60 * 1000)

struct kb_cluster_change {
	struct broker *b;
	char node[64];
};

/* {"version":2,"entity_path":"topics/<t>"} or "brokers/<id>" / "brokers/<default>" */
static void kb_cluster_change_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_cluster_change *c = (struct kb_cluster_change *)(uintptr_t)data;
	struct broker *b = c->b;
	if (rc == ZOK && !b->stopping) {
		char path[KB_TOPIC_MAX + 64], eb[160];
		const char *ep = NULL;
		if (!kznode_config_change_decode(v, (size_t)(vl > 0 ? vl : 0), path, sizeof(path), eb, sizeof(eb)))
			ep = path;
		if (ep && !strncmp(ep, "topics/", 7)) {
			if (kb_topic_find(b, ep + 7)) {
				log_info(CL_MOD, "config change %s: topic %s", c->node, ep + 7);
				kb_zkmeta_refresh_topic(b, ep + 7);
			}
		} else if (ep && !strncmp(ep, "brokers/", 8)) {
			log_info(CL_MOD, "config change %s: %s", c->node, ep);
			kb_cluster_load_broker_configs(b);
		} else if (ep) {
			log_debug(CL_MOD, "config change %s: %s (not applicable here)", c->node, ep);
		} else {
			log_warn(CL_MOD, "config change %s ignored: %s", c->node, eb);
		}
		if (st && kb_now_ms() - st->ctime > CL_CHANGE_EXPIRY_MS) {
			char rel[128], full[1024];
			snprintf(rel, sizeof(rel), "/config/changes/%s", c->node);
			zoo_adelete(kb_zk_handle(b->zk), ZP(rel, full), -1, kb_zk_ignore_void, NULL);
			kb_zk_pump(b->zk);
		}
	}
	free(c);
}

static void kb_cluster_changes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping)
		return;
	/* in sequence order: the children come in no particular order */
	int64_t newest = b->config_change_seq;
	for (;;) {
		int64_t best = -1;
		int32_t bi = -1;
		for (int32_t i = 0; i < sv->count; i++) {
			const char *nm = sv->data[i];
			char *end;
			if (strncmp(nm, "config_change_", 14))
				continue;
			long long seq = strtoll(nm + 14, &end, 10);
			if (*end || seq <= newest || seq < 0)
				continue;
			if (bi < 0 || seq < best) {
				best = seq;
				bi = i;
			}
		}
		if (bi < 0)
			break;
		newest = best;
		struct kb_cluster_change *c = calloc(1, sizeof(*c));
		if (!c)
			break;
		char rel[128], full[1024];
		c->b = b;
		snprintf(c->node, sizeof(c->node), "%s", sv->data[bi]);
		snprintf(rel, sizeof(rel), "/config/changes/%s", c->node);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_cluster_change_data, c) != ZOK)
			free(c);
	}
	b->config_change_seq = newest;
	kb_zk_pump(b->zk);
}

static void kb_cluster_config_changes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/config/changes", full), 1, kb_cluster_changes_children, b);
	kb_zk_pump(b->zk);
}

/* AlterConfigs' write: the entity's config znode, then the change notification every broker
 * watches, then the new set applied here at once. IncrementalAlterConfigs' (an edit) first
 * reads the znode, makes the set from what it holds and writes it conditionally on the version
 * read, reading again when someone else wrote in between. */
struct kb_cluster_alter {
	struct broker *b;
	int type;
	char entity[KB_TOPIC_MAX + 16];
	char rel[KB_TOPIC_MAX + 64];
	char *json; /* the set being written (NULL before, and for validate_only) */
	struct kb_tconf *conf;
	int32_t nconf;
	kb_admin_cb cb;
	void *ctx;
	kb_config_edit edit; /* NULL: AlterConfigs' unconditional write of conf */
	void *arg;
	bool validate_only;
	int reads;	 /* of the znode, by an edit */
	int32_t version; /* of the znode as last read; -1: there was none */
};

/* Reads an edit makes before it gives up: each but the first follows a write by someone else
 * between its read and its own write. */
#define CL_EDIT_READS 5

/* Answers a with kafka_err and msg, or when kafka_err is KE_NONE with the coordinator's zrc,
 * and frees it. A set written (zrc ZOK) is applied here first. */
static void kb_cluster_alter_answer(struct kb_cluster_alter *a, int zrc, int16_t kafka_err, const char *msg)
{
	struct broker *b = a->b;
	if (zrc == ZOK && !kafka_err && a->json && !b->stopping) {
		if (a->type == KB_RES_TOPIC) {
			struct kb_topic *t = kb_topic_find(b, a->entity);
			if (t) {
				kb_dynconf_topic_set(b, t, a->conf, a->nconf);
				a->conf = NULL;
			}
		} else {
			kb_dynconf_broker_set(b, a->entity[0] == '\0', a->conf, a->nconf);
			a->conf = NULL;
		}
		log_info(CL_MOD, "updated %s", a->rel);
	}
	if (!kafka_err && zrc != ZOK) {
		kafka_err = kb_cluster_kafka_err(zrc == ZNONODE ? ZCLOSING : zrc);
		msg = zerror(zrc);
	}
	a->cb(b, a->ctx, kafka_err, msg);
	kb_dynconf_free(a->conf, a->nconf);
	free(a->json);
	free(a);
}

static void kb_cluster_alter_finish(struct kb_cluster_alter *a, int zrc)
{
	kb_cluster_alter_answer(a, zrc, KE_NONE, NULL);
}

static void kb_cluster_alter_notified(int rc, const char *v, const void *data)
{
	(void)v;
	kb_cluster_alter_finish((struct kb_cluster_alter *)(uintptr_t)data, rc);
}

static void kb_cluster_alter_notify(struct kb_cluster_alter *a)
{
	struct broker *b = a->b;
	char *js = NULL, full[1024];
	int rc = b->stopping					       ? ZCLOSING
		 : kznode_config_change_encode(a->rel + strlen("/config/"), &js) ? ZSYSTEMERROR
		 : zoo_acreate(kb_zk_handle(b->zk), ZP("/config/changes/config_change_", full), js,
			       (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, kb_cluster_alter_notified, a);
	free(js);
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

static void kb_cluster_alter_created(int rc, const char *v, const void *data)
{
	struct kb_cluster_alter *a = (struct kb_cluster_alter *)(uintptr_t)data;
	(void)v;
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	else
		kb_cluster_alter_notify(a);
}

static void kb_cluster_alter_set(int rc, const struct Stat *st, const void *data)
{
	struct kb_cluster_alter *a = (struct kb_cluster_alter *)(uintptr_t)data;
	struct broker *b = a->b;
	char full[1024];
	(void)st;
	if (rc == ZNONODE && !b->stopping) { /* first dynamic config of this entity */
		rc = zoo_acreate(kb_zk_handle(b->zk), ZP(a->rel, full), a->json, (int)strlen(a->json),
				 &ZOO_OPEN_ACL_UNSAFE, 0, kb_cluster_alter_created, a);
		if (rc != ZOK)
			kb_cluster_alter_finish(a, rc);
		kb_zk_pump(b->zk);
		return;
	}
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	else
		kb_cluster_alter_notify(a);
}

/* A write of entity (see kb_cluster_alter_configs) for cb, or NULL without memory. */
static struct kb_cluster_alter *kb_cluster_alter_new(struct broker *b, int type, const char *entity, kb_admin_cb cb,
						     void *ctx)
{
	struct kb_cluster_alter *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->b = b;
	a->type = type;
	a->cb = cb;
	a->ctx = ctx;
	a->version = -1;
	snprintf(a->entity, sizeof(a->entity), "%s", entity);
	if (type == KB_RES_TOPIC)
		snprintf(a->rel, sizeof(a->rel), "/config/topics/%s", entity);
	else
		snprintf(a->rel, sizeof(a->rel), "/config/brokers/%s", entity[0] ? entity : "<default>");
	return a;
}

void kb_cluster_alter_configs(struct broker *b, int type, const char *entity, const struct kb_tconf *confs,
			      int32_t nconf, kb_admin_cb cb, void *ctx)
{
	struct kb_cluster_alter *a = kb_cluster_alter_new(b, type, entity, cb, ctx);
	if (a) {
		a->json = kb_dynconf_json(confs, nconf);
		a->conf = kb_dynconf_dup(confs, nconf);
		a->nconf = nconf;
	}
	if (!a || !a->json || !a->conf) {
		if (a) {
			kb_dynconf_free(a->conf, a->nconf);
			free(a->json);
			free(a);
		}
		cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	if (!kb_cluster_have_session(b)) {
		kb_cluster_alter_answer(a, ZOK, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		return;
	}
	char full[1024];
	int rc = zoo_aset(kb_zk_handle(b->zk), ZP(a->rel, full), a->json, (int)strlen(a->json), -1, kb_cluster_alter_set, a);
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

static void kb_cluster_edit_read(struct kb_cluster_alter *a);

/* An edit's write found the znode changed (zrc: BADVERSION, NODEEXISTS or NONODE): its set
 * is dropped and the znode read again, up to CL_EDIT_READS reads. */
static void kb_cluster_edit_again(struct kb_cluster_alter *a, int zrc)
{
	kb_dynconf_free(a->conf, a->nconf);
	a->conf = NULL;
	a->nconf = 0;
	free(a->json);
	a->json = NULL;
	if (a->b->stopping) {
		kb_cluster_alter_finish(a, ZCLOSING);
	} else if (a->reads >= CL_EDIT_READS) {
		char m[KB_TOPIC_MAX + 160];
		snprintf(m, sizeof(m), "%s changed under each of %d edits; try again", a->rel, a->reads);
		log_warn(CL_MOD, "%s", m);
		kb_cluster_alter_answer(a, ZOK, KE_UNKNOWN_SERVER_ERROR, m);
	} else {
		log_info(CL_MOD, "%s changed while being edited (%s): reading it again", a->rel, zerror(zrc));
		kb_cluster_edit_read(a);
	}
}

static void kb_cluster_edit_written(int rc, const struct Stat *st, const void *data)
{
	struct kb_cluster_alter *a = (struct kb_cluster_alter *)(uintptr_t)data;
	(void)st;
	if (rc == ZBADVERSION || rc == ZNONODE)
		kb_cluster_edit_again(a, rc);
	else if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	else
		kb_cluster_alter_notify(a);
}

static void kb_cluster_edit_created(int rc, const char *v, const void *data)
{
	struct kb_cluster_alter *a = (struct kb_cluster_alter *)(uintptr_t)data;
	(void)v;
	if (rc == ZNODEEXISTS)
		kb_cluster_edit_again(a, rc);
	else if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	else
		kb_cluster_alter_notify(a);
}

/* The znode as it is now: the edit's new set from it, then the conditional write (setData at
 * the version read, or create when there was none). */
static void kb_cluster_edit_got(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_cluster_alter *a = (struct kb_cluster_alter *)(uintptr_t)data;
	struct broker *b = a->b;
	if (b->stopping)
		rc = ZCLOSING;
	if (rc != ZOK && rc != ZNONODE) {
		kb_cluster_alter_finish(a, rc);
		return;
	}
	struct kb_tconf *cur = NULL, *nv = NULL;
	int32_t ncur = 0, nn = 0;
	a->version = rc == ZOK && st ? st->version : -1;
	if (rc == ZOK && v && vl > 0) {
		int prc = kb_dynconf_parse(v, (size_t)vl, &cur, &ncur);
		if (prc == ERR_NOMEM) {
			kb_cluster_alter_answer(a, ZOK, KE_UNKNOWN_SERVER_ERROR, "out of memory");
			return;
		}
		if (prc) /* as the brokers' view takes it: no overrides, which the write replaces */
			log_warn(CL_MOD, "%s is not valid JSON; edited as if empty", a->rel);
	}
	char why[512] = "";
	int16_t e = a->edit(b, a->arg, cur, ncur, &nv, &nn, why, sizeof(why));
	kb_dynconf_free(cur, ncur);
	if (e) {
		kb_cluster_alter_answer(a, ZOK, e, why);
		return;
	}
	if (a->validate_only) {
		kb_dynconf_free(nv, nn);
		kb_cluster_alter_answer(a, ZOK, KE_NONE, NULL);
		return;
	}
	a->conf = nv;
	a->nconf = nn;
	if (!(a->json = kb_dynconf_json(nv, nn))) {
		kb_cluster_alter_answer(a, ZOK, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	char full[1024];
	zhandle_t *zh = kb_zk_handle(b->zk);
	int len = (int)strlen(a->json);
	rc = a->version >= 0 ? zoo_aset(zh, ZP(a->rel, full), a->json, len, a->version, kb_cluster_edit_written, a)
			     : zoo_acreate(zh, ZP(a->rel, full), a->json, len, &ZOO_OPEN_ACL_UNSAFE, 0,
					   kb_cluster_edit_created, a);
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

static void kb_cluster_edit_read(struct kb_cluster_alter *a)
{
	struct broker *b = a->b;
	char full[1024];
	a->reads++;
	int rc = zoo_aget(kb_zk_handle(b->zk), ZP(a->rel, full), 0, kb_cluster_edit_got, a);
	if (rc != ZOK)
		kb_cluster_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

void kb_cluster_edit_configs(struct broker *b, int type, const char *entity, kb_config_edit edit, void *arg,
			     bool validate_only, kb_admin_cb cb, void *ctx)
{
	struct kb_cluster_alter *a = kb_cluster_alter_new(b, type, entity, cb, ctx);
	if (!a) {
		cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	a->edit = edit;
	a->arg = arg;
	a->validate_only = validate_only;
	if (!kb_cluster_have_session(b))
		kb_cluster_alter_answer(a, ZOK, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
	else
		kb_cluster_edit_read(a);
}

/* ---- session ---- */

static void kb_cluster_session_new(struct broker *b)
{
	static const char *const paths[] = {
		"/consumers", "/brokers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config", "/config/topics",
		"/config/changes", "/config/brokers", "/config/clients", "/config/users", "/admin",
		"/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
		"/log_dir_event_notification", "/cluster",
	};
	char full[1024];
	zhandle_t *zh = kb_zk_handle(b->zk);
	b->registered = false;
	kcontroller_resign(b->kc, "a new coordinator session");
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		zoo_acreate(zh, ZP(paths[i], full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string, NULL);
	kb_zkmeta_cluster_id(b);
	kb_zkmeta_register(b);
	kb_cluster_load_broker_configs(b);
	kb_cluster_config_changes(b);
	kb_acl_session(b);
	kb_zkmeta_refresh_nodes(b);
	kb_zkmeta_refresh_topics(b);
	/* the topics known from an earlier session: their watches went with it (a pause past the
	 * session timeout), and their states may have changed meanwhile — read them again */
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		kb_zkmeta_refresh_topic(b, t->name);
	kcontroller_elect(b->kc);
}

static void kb_cluster_state(struct kb_zk *z, enum kb_zk_state st, void *arg)
{
	struct broker *b = arg;
	(void)z;
	if (st == KB_ZK_SESSION_NEW) {
		kb_cluster_session_new(b);
	} else if (st == KB_ZK_RECONNECTED) {
		/* watches and ephemerals survived; re-read what may have changed meanwhile */
		kb_zkmeta_refresh_nodes(b);
		kb_zkmeta_refresh_topics(b);
		kb_cluster_config_changes(b);
		kb_acl_session(b);
	}
}

static void kb_cluster_watch(struct kb_zk *z, int type, const char *path, void *arg)
{
	struct broker *b = arg;
	(void)z;
	if (b->stopping)
		return;
	if (!strcmp(path, "/brokers/ids")) {
		kb_zkmeta_refresh_nodes(b);
	} else if (!strcmp(path, "/brokers/topics")) {
		kb_zkmeta_refresh_topics(b);
	} else if (!strcmp(path, "/controller")) {
		kcontroller_watch(b->kc, type);
	} else if (!strcmp(path, "/config/changes")) {
		kb_cluster_config_changes(b);
	} else if (kb_acl_watch(b, path)) {
	} else if (!strcmp(path, "/admin/delete_topics")) {
		kcontroller_process_deletes(b->kc); /* the controller's only */
	} else if (!strcmp(path, "/isr_change_notification")) {
		kcontroller_process_isr_changes(b->kc); /* the controller's only */
	} else if (!strncmp(path, "/brokers/topics/", 16)) {
		char name[KB_TOPIC_MAX + 1];
		const char *s = path + 16, *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n > 0 && n < sizeof(name) && type != ZOO_DELETED_EVENT) {
			memcpy(name, s, n);
			name[n] = '\0';
			kb_zkmeta_refresh_topic(b, name);
		}
	}
}

/* ---- the broker end of the control plane ---- */

/* LeaderAndIsr / StopReplica from the controller: the partitions' states are read again now
 * (they are in the coordinator already), one refresh per topic named. */
static void kb_cluster_ctl_refresh(struct broker *b, const struct kctl_part *parts, size_t n, const struct kctl_tp *stops,
			   size_t ns)
{
	const char *last = NULL;
	for (size_t i = 0; i < n + ns; i++) {
		const char *t = i < n ? parts[i].topic : stops[i - n].topic;
		if (!last || strcmp(last, t) != 0)
			kb_zkmeta_refresh_topic(b, t);
		last = t;
	}
}

static int32_t kb_cluster_on_leader_and_isr(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	struct broker *b = arg;
	(void)errors;
	kcontroller_epoch_seen(b->kc, m->controller_epoch);
	kb_cluster_ctl_refresh(b, m->parts, m->n_parts, NULL, 0);
	return 0;
}

static int32_t kb_cluster_on_update_metadata(const struct kctl_msg *m, void *arg)
{
	(void)m;
	kb_zkmeta_refresh_nodes(arg);
	return 0;
}

static int32_t kb_cluster_on_stop_replica(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	(void)errors;
	kb_cluster_ctl_refresh(arg, NULL, 0, m->stops, m->n_stops);
	return 0;
}

/*
 * A dead controller is replaced at once, not when its coordinator session expires (18 s by
 * default, Kafka 2.x's wait): its connection to us broke and nothing listens on its control-plane
 * port any more, so /controller, still naming it, is deleted (conditionally on its version:
 * never a newer controller's). Every broker's watch then fires and one wins the election. A
 * controller that only paused keeps its connections and is not touched; one that lost its
 * znode this way and resumes is fenced by the new controller epoch.
 */
static void kb_cluster_controller_delete(struct broker *b, int rc, const char *v, int vl, const struct Stat *st,
					 int32_t expect_id, int64_t expect_czxid, const char *why)
{
	if (b->stopping || rc != ZOK || !st)
		return;
	char eb[128], full[1024];
	int32_t id = -1;
	if (kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)) || id != expect_id)
		return;
	if (expect_czxid && st->czxid != expect_czxid) {
		/* the same broker, restarted and elected again meanwhile: a new term, not the one
		 * whose connection broke (deleting it would cost an election for nothing) */
		log_info(CL_MOD, "controller %d is controller again since (a new /controller): it stays", id);
		return;
	}
	log_warn(CL_MOD, "controller %d %s: deleting /controller so that a new controller is elected now, not when "
		 "its session expires", id, why);
	zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), st->version, kb_zk_ignore_void, NULL);
	kb_zk_pump(b->zk);
}

static void kb_cluster_controller_gone_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	kb_cluster_controller_delete(b, rc, v, vl, st, b->ctl_probe_id, b->ctl_probe_czxid,
				     "is gone (its control-plane connection broke and nothing listens on its port)");
}

static void kb_cluster_controller_silent_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	kb_cluster_controller_delete(b, rc, v, vl, st, b->ctl_silent_id, b->ctl_silent_czxid,
				     "is silent (its control-plane connection is open but brought no heartbeat: paused "
				     "or cut off)");
}

static void kb_cluster_controller_probed(bool up, void *arg)
{
	struct broker *b = arg;
	kctl_probe_free(b->ctl_probe);
	b->ctl_probe = NULL;
	if (b->stopping || kcontroller_id(b->kc) != b->ctl_probe_id)
		return;
	if (up) {
		log_info(CL_MOD, "controller %d still listens on its control-plane port: it stays", b->ctl_probe_id);
		return;
	}
	char full[1024];
	zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 0, kb_cluster_controller_gone_data, b);
	kb_zk_pump(b->zk);
}

static void kb_cluster_on_controller_lost(int32_t id, int32_t epoch, void *arg)
{
	struct broker *b = arg;
	(void)epoch;
	if (b->stopping || b->ctl_probe || id != kcontroller_id(b->kc) || id == b->cfg->broker_id)
		return;
	for (int32_t i = 0; i < b->nnodes; i++) {
		const struct kb_node *n = &b->nodes[i];
		if (n->id != id || n->control_port <= 0)
			continue;
		log_info(CL_MOD, "the connection of controller %d broke; checking that it is still there", id);
		b->ctl_probe_id = id;
		b->ctl_probe_czxid = kcontroller_czxid(b->kc);
		if (kctl_probe_new(b->base, n->host, n->control_port, 1000, kb_cluster_controller_probed, b, &b->ctl_probe))
			b->ctl_probe = NULL;
		return;
	}
}

/*
 * A controller that is paused (SIGSTOP, a stall) or cut off keeps its connections open and
 * answers nothing; Kafka 2.x waits for its coordinator session to expire (18 s by default).
 * Here a broker that hears no heartbeat from it for KB_CONTROLLER_SILENCE_MS deletes
 * /controller, conditionally on its version and only while it still names that controller, as
 * the EOF path does. That is safe even when the controller is in fact alive (only our link to it
 * is broken): the new controller has a higher controller epoch, brokers refuse the old one's
 * requests once they see it, and every write a controller makes to the coordinator carries a
 * check of /controller_epoch's version, so the old one's writes fail and it steps down
 * (kcontroller); the worst case is a needless election.
 */
#define KB_CONTROLLER_SILENCE_MS 3000

static void kb_cluster_on_controller_silent(int32_t id, int32_t epoch, void *arg)
{
	struct broker *b = arg;
	(void)epoch;
	if (b->stopping || id != kcontroller_id(b->kc) || id == b->cfg->broker_id || !b->zk)
		return;
	char full[1024];
	b->ctl_silent_id = id;
	b->ctl_silent_czxid = kcontroller_czxid(b->kc);
	zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 0, kb_cluster_controller_silent_data, b);
	kb_zk_pump(b->zk);
}

/* The coordinator's certificate was refused before this broker ever had a session: a broker
 * that cannot trust its coordinator stops at start with the reason, rather than retrying
 * forever unregistered (later refusals, e.g. a rotated certificate, are retried by kb_zk). */
static void kb_cluster_refused(struct kb_zk *z, const char *why, void *arg)
{
	struct broker *b = arg;
	(void)z;
	log_fatal(CL_MOD, "%s; check zookeeper.ssl.truststore.location and "
			  "zookeeper.ssl.endpoint.identification.algorithm",
		  why);
	fprintf(stderr, "samsa-broker: %s\n", why);
	b->exit_code = 1;
	event_base_loopexit(b->base, NULL);
}

/* ---- what the controller role (kcontroller) asks of the broker ---- */

static bool kb_cluster_kc_stopping(void *arg)
{
	return ((struct broker *)arg)->stopping;
}

static const struct kb_node *kb_cluster_kc_nodes(void *arg, int32_t *n)
{
	struct broker *b = arg;
	*n = b->nnodes;
	return b->nodes;
}

static void kb_cluster_kc_topics(void *arg)
{
	struct broker *b = arg;
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		kcontroller_topic(b->kc, t->name, t->parts, t->nparts, kb_topic_unclean(t));
}

static void kb_cluster_kc_topic_deleting(void *arg, const char *topic)
{
	struct kb_topic *t = kb_topic_find(arg, topic);
	if (t)
		t->deleting = true;
}

static void kb_cluster_kc_refresh_topic(void *arg, const char *topic)
{
	kb_zkmeta_refresh_topic(arg, topic);
}

static void kb_cluster_kc_refresh_topics(void *arg)
{
	kb_zkmeta_refresh_topics(arg);
}

int kb_cluster_start(struct broker *b, char *eb, size_t el)
{
	static const struct kb_zk_cbs cbs = { kb_cluster_state, kb_cluster_watch, kb_cluster_refused };
	static const struct kctl_srv_cbs srv_cbs = { kb_cluster_on_leader_and_isr, kb_cluster_on_update_metadata,
						     kb_cluster_on_stop_replica, kb_cluster_on_controller_lost,
						     kb_cluster_on_controller_silent };
	const struct kb_listener *l = &b->cfg->listener[0];
	int port = b->cfg->control_plane_listener_port >= 0 ? b->cfg->control_plane_listener_port
							    : kctl_default_port(l->port);
	if (port < 0) {
		snprintf(eb, el, "the control-plane port (listener port + 1000) is over 65535: set control.plane.listener.port");
		return ERR_CONFIG;
	}
	int rc = kctl_srv_new(b->base, l->host, port, b->cfg->broker_id, &srv_cbs, b, &b->ctl_srv, eb, el);
	if (rc)
		return rc;
	if (b->ib_tls) {
		/* the inter-broker listener is SSL: so is the control plane, both ways mutual, with
		 * the SSL listeners' material (b->tls) asking every controller for a certificate its
		 * truststore vouches for, and the controller connecting with the fetchers' (b->ib_tls) */
		if (!b->tls || !tls_ctx_has_trust(b->tls))
			return err_set(eb, el, ERR_CONFIG,
				       "the control plane over TLS (the inter-broker listener is SSL) needs "
				       "ssl.truststore.location or ssl.truststore.certificates to verify the controllers");
		kctl_srv_set_tls(b->ctl_srv, b->tls);
	}
	if (kctl_srv_watch_silence(b->ctl_srv, KB_CONTROLLER_SILENCE_MS))
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	if (kb_zkmeta_start(b))
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	struct tls_ctx *zk_tls = NULL;
	bool verify_host = true;
	if (b->cfg->zookeeper_ssl_client_enable) {
		struct tls_conf tc;
		char why[512];
		kb_config_zk_tls(b->cfg, &tc, &verify_host);
		if (tls_ctx_new(&tc, false, &zk_tls, why, sizeof(why)))
			return err_set(eb, el, ERR_CONFIG, "zookeeper.ssl.*: %s", why);
	}
	b->zk = kb_zk_new(b->base, b->cfg->zookeeper_connect, b->cfg->zookeeper_session_timeout_ms, zk_tls, verify_host,
			  &cbs, b, eb, el);
	if (!b->zk)
		return ERR_CONFIG;
	/* the controller role, on this session (its events come from the loop, after this) */
	static const struct kcontroller_host kc_host = { kb_cluster_kc_stopping, kb_cluster_kc_nodes, kb_cluster_kc_topics,
							 kb_cluster_kc_topic_deleting, kb_cluster_kc_refresh_topic,
							 kb_cluster_kc_refresh_topics };
	const struct kcontroller_conf kc_conf = {
		.broker_id = b->cfg->broker_id,
		.unclean_default = b->cfg->unclean_leader_election_enable,
		.auto_rebalance = b->cfg->auto_leader_rebalance_enable,
		.rebalance_interval_s = b->cfg->leader_imbalance_check_interval_seconds,
		.imbalance_pct = b->cfg->leader_imbalance_per_broker_percentage,
		.tls = b->ib_tls,
		.tls_check_host = b->ib_tls_check_host,
	};
	if (!(b->kc = kcontroller_new(b->base, b->zk, &kc_conf, &kc_host, b)))
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	return 0;
}

void kb_cluster_stop(struct broker *b)
{
	b->stopping = true;
	kcontroller_resign(b->kc, "the broker stops");
	kctl_srv_free(b->ctl_srv);
	b->ctl_srv = NULL;
	kctl_probe_free(b->ctl_probe);
	b->ctl_probe = NULL;
	kb_zk_free(b->zk); /* answers the calls still pending: before the role that made some */
	b->zk = NULL;
	kcontroller_free(b->kc);
	b->kc = NULL;
	kb_zkmeta_stop(b);
}


/*
 * kb_cluster — the broker's side of the coordinator (see kb_cluster.h). Everything here is a
 * chain of the ZooKeeper client's async calls; each step's context is a small heap struct
 * freed by the step's completion, which the client calls exactly once (with ZCLOSING when the
 * session is closed at shutdown).
 */
#include "kb_cluster.h"

#include "err.h"
#include "kb_dynconf.h"
#include "kassign.h"
#include "kctl_chan.h"
#include "kctrl.h"
#include "kznode.h"
#include "kb_zk.h"
#include "log.h"

#include <event2/event.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CL_MOD = "cluster";

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))

static void cl_refresh_nodes(struct broker *b);
static void cl_refresh_topics(struct broker *b);
static void cl_refresh_topic(struct broker *b, const char *name);
static void cl_elect(struct broker *b);
static void cl_register(struct broker *b);
static void cl_process_deletes(struct broker *b);
static void cl_ctrl_topic(struct broker *b, struct kb_topic *t);
static void cl_ctrl_brokers(struct broker *b);
static void cl_resign(struct broker *b, const char *why);

struct cl_ctx {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	int32_t part;
	void *p;
	kb_admin_cb cb;
	void *cb_ctx;
};

static struct cl_ctx *cl_ctx(struct broker *b, const char *name, int32_t part)
{
	struct cl_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->b = b;
	if (name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	c->part = part;
	return c;
}

static void cl_ignore_string(int rc, const char *v, const void *data)
{
	(void)rc;
	(void)v;
	(void)data;
}

static void cl_ignore_stat(int rc, const struct Stat *st, const void *data)
{
	(void)rc;
	(void)st;
	(void)data;
}

static void cl_ignore_void(int rc, const void *data)
{
	(void)rc;
	(void)data;
}

static int16_t cl_kafka_err(int zrc)
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

int32_t kb_cluster_live_count(struct broker *b)
{
	int32_t n = b->nnodes;
	bool self = false;
	for (int32_t i = 0; i < b->nnodes; i++)
		self |= b->nodes[i].id == b->cfg->broker_id;
	return n + !self;
}

/* Admin writes need a client handle, not a live connection: while the client reconnects (the
 * coordinator's leader died, say) it queues them and sends them once connected, and fails them
 * with a connection loss if that does not happen. */
static bool cl_have_session(struct broker *b)
{
	return b->zk && kb_zk_handle(b->zk);
}

bool kb_cluster_node_live(struct broker *b, int32_t id)
{
	if (id == b->cfg->broker_id)
		return true;
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == id)
			return true;
	return false;
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

/* ---- the broker list ---- */

struct cl_nodes {
	struct broker *b;
	int32_t pending;
	int32_t n;
	struct kb_node *nodes;
};

static void cl_ctl_nodes(struct broker *b, const struct kb_node *nodes, int32_t n);

static void cl_node_done(struct cl_nodes *ns)
{
	struct broker *b = ns->b;
	if (--ns->pending > 0)
		return;
	if (!b->stopping) {
		if (b->ctl)
			cl_ctl_nodes(b, ns->nodes, ns->n);
		free(b->nodes);
		b->nodes = ns->nodes;
		b->nnodes = ns->n;
		ns->nodes = NULL;
		log_debug(CL_MOD, "%d live broker(s)", b->nnodes);
		if (b->ctrl)
			cl_ctrl_brokers(b);
		if (b->rm) /* followers reach their leaders at the addresses registered now */
			krm_refollow(b->rm);
		kb_wake(b);
	}
	free(ns->nodes);
	free(ns);
}

struct cl_node_get {
	struct cl_nodes *ns;
	int32_t id;
};

/* /brokers/ids/<id> (kznode_broker_decode): a registration that is not Kafka's is skipped. */
static void cl_node_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_node_get *g = (struct cl_node_get *)(uintptr_t)data;
	struct cl_nodes *ns = g->ns;
	if (rc == ZOK && v && vl > 0) {
		struct kznode_broker reg;
		char eb[160];
		if (!kznode_broker_decode(v, (size_t)vl, &reg, eb, sizeof(eb))) {
			struct kb_node *nd = &ns->nodes[ns->n];
			memset(nd, 0, sizeof(*nd));
			nd->id = g->id;
			nd->epoch = st ? st->czxid : -1;
			nd->control_port = reg.control_port;
			snprintf(nd->host, sizeof(nd->host), "%s", reg.host);
			nd->port = reg.port;
			nd->rack = reg.has_rack ? strdup(reg.rack) : NULL;
			if (!reg.has_rack || nd->rack)
				ns->n++;
		} else {
			log_warn(CL_MOD, "/brokers/ids/%d: %s", g->id, eb);
		}
	}
	free(g);
	cl_node_done(ns);
}

static void cl_nodes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping)
		return;
	struct cl_nodes *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return;
	ns->b = b;
	ns->nodes = calloc((size_t)sv->count + 1, sizeof(*ns->nodes));
	ns->pending = 1;
	for (int32_t i = 0; i < sv->count && ns->nodes; i++) {
		char rel[64], full[1024];
		char *end;
		long id = strtol(sv->data[i], &end, 10);
		if (*end || id < 0 || id > INT32_MAX)
			continue;
		struct cl_node_get *g = malloc(sizeof(*g));
		if (!g)
			continue;
		g->ns = ns;
		g->id = (int32_t)id;
		snprintf(rel, sizeof(rel), "/brokers/ids/%ld", id);
		ns->pending++;
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_node_data, g) != ZOK) {
			ns->pending--;
			free(g);
		}
	}
	kb_zk_pump(b->zk);
	cl_node_done(ns);
}

static void cl_refresh_nodes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/brokers/ids", full), 1, cl_nodes_children, b);
	kb_zk_pump(b->zk);
}

/* ---- topics ---- */

struct cl_topic_load {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	int32_t pending;
	bool failed;
	bool gone;
	int32_t nparts;
	int32_t rf; /* replicas per partition, from the assignment (may vary: kept per partition) */
	struct kb_part *parts;
	struct kb_tconf *conf;
	int32_t nconf;
};

struct cl_state_get {
	struct cl_topic_load *tl;
	int32_t part;
};

static void cl_topic_load_free(struct cl_topic_load *tl)
{
	for (int32_t i = 0; tl->parts && i < tl->nparts; i++) {
		free(tl->parts[i].replicas);
		free(tl->parts[i].isr);
	}
	for (int32_t i = 0; i < tl->nconf; i++) {
		free(tl->conf[i].name);
		free(tl->conf[i].value);
	}
	free(tl->conf);
	free(tl->parts);
	free(tl);
}

/* Installs a loaded topic in the cache: a new one, or an update that keeps open logs. */
static void cl_topic_apply(struct cl_topic_load *tl)
{
	struct broker *b = tl->b;
	struct kb_topic *t = kb_topic_find(b, tl->name);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->name = strdup(tl->name);
		LIST_INSERT_HEAD(&b->topics, t, link);
		b->ntopics++;
		log_info(CL_MOD, "topic %s: %d partition(s)", tl->name, tl->nparts);
	}
	/* configs: derived again and pushed to the open logs (a change applies without a restart) */
	kb_dynconf_topic_set(b, t, tl->conf, tl->nconf);
	tl->conf = NULL;
	tl->nconf = 0;
	/* partitions: grow, never shrink (Kafka cannot either) */
	if (tl->nparts > t->nparts) {
		struct kb_part *np = realloc(t->parts, (size_t)tl->nparts * sizeof(*np));
		if (!np)
			return;
		memset(np + t->nparts, 0, (size_t)(tl->nparts - t->nparts) * sizeof(*np));
		t->parts = np;
		t->nparts = tl->nparts;
	}
	for (int32_t i = 0; i < tl->nparts; i++) {
		struct kb_part *p = &t->parts[i], *src = &tl->parts[i];
		free(p->replicas);
		free(p->isr);
		*p = *src;
		src->replicas = NULL;
		src->isr = NULL;
		/* for now the state znode is the LeaderAndIsr: the replica manager takes it (a stale
		 * or repeated epoch changes nothing) */
		kb_part_apply_state(b, t, p);
	}
	if (b->ctrl)
		cl_ctrl_topic(b, t);
	kb_wake(b);
}

static void cl_topic_step_done(struct cl_topic_load *tl)
{
	if (--tl->pending > 0)
		return;
	struct broker *b = tl->b;
	if (!b->stopping && !tl->failed && !tl->gone)
		cl_topic_apply(tl);
	cl_topic_load_free(tl);
}

static void cl_state_appeared(int rc, const struct Stat *st, const void *data)
{
	struct cl_ctx *c = (struct cl_ctx *)(uintptr_t)data;
	(void)st;
	if (rc == ZOK && !c->b->stopping)
		cl_refresh_topic(c->b, c->name);
	free(c);
}

/* .../partitions/<p>/state (kznode_state_decode); one that is not Kafka's counts as absent. */
static void cl_state_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_state_get *g = (struct cl_state_get *)(uintptr_t)data;
	struct cl_topic_load *tl = g->tl;
	struct kb_part *p = &tl->parts[g->part];
	if (rc == ZOK && v) {
		struct kznode_state ks;
		char eb[160];
		int32_t *isr;
		if (kznode_state_decode(v, (size_t)(vl > 0 ? vl : 0), &ks, eb, sizeof(eb))) {
			log_warn(CL_MOD, "state of %s-%d: %s", tl->name, g->part, eb);
		} else if (!(isr = malloc((ks.n_isr ? ks.n_isr : 1) * sizeof(*isr)))) {
			tl->failed = true;
		} else {
			p->leader = ks.leader;
			p->leader_epoch = ks.leader_epoch;
			p->ctrl_epoch = ks.controller_epoch;
			memcpy(isr, ks.isr, ks.n_isr * sizeof(*isr));
			free(p->isr);
			p->isr = isr;
			p->nisr = (int32_t)ks.n_isr;
			p->state_version = st ? st->version : 0;
		}
	} else if (rc == ZNONODE && !tl->b->stopping) {
		/* no state yet: the controller writes it; watch for its creation (and when it was
		 * created in between, the watch will not fire: read the topic again) */
		char rel[512], full[1024];
		struct broker *b = tl->b;
		struct cl_ctx *c = cl_ctx(b, tl->name, g->part);
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", tl->name, g->part);
		if (c && zoo_aexists(kb_zk_handle(b->zk), ZP(rel, full), 1, cl_state_appeared, c) != ZOK)
			free(c);
	} else if (rc != ZNONODE) {
		tl->failed = true;
	}
	free(g);
	cl_topic_step_done(tl);
}

/* /config/topics/<t>: {"version":1,"config":{"retention.ms":"1000"}} */
static void cl_topic_config(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_topic_load *tl = (struct cl_topic_load *)(uintptr_t)data;
	(void)st;
	if (rc == ZOK && v && vl > 0) {
		if (kb_dynconf_parse(v, (size_t)vl, &tl->conf, &tl->nconf) == ERR_CORRUPT)
			log_warn(CL_MOD, "/config/topics/%s is not valid JSON; no overrides for it", tl->name);
	} else if (rc != ZOK && rc != ZNONODE) {
		tl->failed = true;
	}
	cl_topic_step_done(tl);
}

static void cl_topic_assignment(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_topic_load *tl = (struct cl_topic_load *)(uintptr_t)data;
	struct broker *b = tl->b;
	(void)st;
	if (rc == ZNONODE) {
		tl->gone = true;
	} else if (rc != ZOK || b->stopping) {
		tl->failed = true;
	} else {
		struct kznode_assignment a;
		char eb[160];
		if (kznode_assignment_decode(v, (size_t)(vl > 0 ? vl : 0), &a, eb, sizeof(eb))) {
			log_warn(CL_MOD, "/brokers/topics/%s: %s", tl->name, eb);
			tl->failed = true;
		} else {
			tl->parts = calloc((size_t)(a.n_parts ? a.n_parts : 1), sizeof(*tl->parts));
			for (int32_t i = 0; tl->parts && i < a.n_parts; i++) {
				struct kb_part *p = &tl->parts[i];
				int32_t nr;
				const int32_t *r = kznode_assignment_replicas(&a, i, &nr);
				p->id = i;
				p->leader = -1;
				p->state_version = -1;
				p->replicas = malloc((size_t)(nr ? nr : 1) * sizeof(int32_t));
				if (!p->replicas) {
					tl->failed = true;
					continue;
				}
				memcpy(p->replicas, r, (size_t)nr * sizeof(int32_t));
				p->nrep = nr;
			}
			tl->nparts = tl->parts ? a.n_parts : 0;
			tl->failed |= !tl->parts;
			kznode_assignment_free(&a);
			for (int32_t i = 0; i < tl->nparts && !tl->failed; i++) {
				char rel[512], full[1024];
				struct cl_state_get *g = malloc(sizeof(*g));
				if (!g)
					continue;
				g->tl = tl;
				g->part = i;
				snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", tl->name, i);
				tl->pending++;
				if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 1, cl_state_data, g) != ZOK) {
					tl->pending--;
					free(g);
				}
			}
			kb_zk_pump(b->zk);
		}
	}
	cl_topic_step_done(tl);
}

static void cl_refresh_topic(struct broker *b, const char *name)
{
	char rel[512], full[1024];
	struct cl_topic_load *tl = calloc(1, sizeof(*tl));
	if (!tl)
		return;
	tl->b = b;
	snprintf(tl->name, sizeof(tl->name), "%s", name);
	tl->pending = 2;
	snprintf(rel, sizeof(rel), "/config/topics/%s", name);
	if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_topic_config, tl) != ZOK)
		tl->pending--;
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", name);
	if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 1, cl_topic_assignment, tl) != ZOK)
		tl->pending--;
	if (tl->pending == 0)
		free(tl);
	kb_zk_pump(b->zk);
}

static void cl_topics_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping)
		return;
	/* topics gone from the coordinator are deleted: drop them and their logs */
	struct kb_topic *t, *next;
	for (t = LIST_FIRST(&b->topics); t; t = next) {
		next = LIST_NEXT(t, link);
		bool present = false;
		for (int32_t i = 0; i < sv->count && !present; i++)
			present = !strcmp(sv->data[i], t->name);
		if (!present) {
			log_info(CL_MOD, "topic %s was deleted; removing its local logs", t->name);
			if (b->ctrl)
				kctrl_topic_gone(b->ctrl, t->name);
			LIST_REMOVE(t, link);
			b->ntopics--;
			kb_topic_free(b, t, true);
		}
	}
	for (int32_t i = 0; i < sv->count; i++) {
		char why[256];
		if (!kname_topic_valid(sv->data[i], strlen(sv->data[i]), why, sizeof(why)))
			continue;
		if (!kb_topic_find(b, sv->data[i]))
			cl_refresh_topic(b, sv->data[i]);
	}
	kb_wake(b);
}

static void cl_refresh_topics(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/brokers/topics", full), 1, cl_topics_children, b);
	kb_zk_pump(b->zk);
}

/* ---- admin writes ---- */

struct cl_create {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	char *conf_json;
	char *assign_json;
	kb_admin_cb cb;
	void *ctx;
};

static void cl_create_free(struct cl_create *c)
{
	free(c->conf_json);
	free(c->assign_json);
	free(c);
}

static void cl_create_topic_done(int rc, const char *v, const void *data)
{
	struct cl_create *c = (struct cl_create *)(uintptr_t)data;
	(void)v;
	if (rc == ZOK)
		log_info(CL_MOD, "created topic %s", c->name);
	c->cb(c->b, c->ctx, cl_kafka_err(rc),
	      rc == ZNODEEXISTS ? "Topic already exists." : rc == ZOK ? NULL : zerror(rc));
	if (rc == ZOK && !c->b->stopping)
		cl_refresh_topic(c->b, c->name);
	cl_create_free(c);
}

static void cl_create_write_topic(struct cl_create *c)
{
	struct broker *b = c->b;
	char rel[512], full[1024];
	if (b->stopping) {
		c->cb(b, c->ctx, KE_REQUEST_TIMED_OUT, "the broker is stopping");
		cl_create_free(c);
		return;
	}
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", c->name);
	int rc = zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), c->assign_json, (int)strlen(c->assign_json),
			     &ZOO_OPEN_ACL_UNSAFE, 0, cl_create_topic_done, c);
	if (rc != ZOK) {
		c->cb(b, c->ctx, cl_kafka_err(rc), zerror(rc));
		cl_create_free(c);
	}
	kb_zk_pump(b->zk);
}

static void cl_create_config_set(int rc, const struct Stat *st, const void *data)
{
	struct cl_create *c = (struct cl_create *)(uintptr_t)data;
	(void)st;
	if (rc != ZOK) {
		c->cb(c->b, c->ctx, cl_kafka_err(rc), zerror(rc));
		cl_create_free(c);
		return;
	}
	cl_create_write_topic(c);
}

static void cl_create_config_done(int rc, const char *v, const void *data)
{
	struct cl_create *c = (struct cl_create *)(uintptr_t)data;
	struct broker *b = c->b;
	(void)v;
	if (rc == ZNODEEXISTS && !b->stopping) { /* left by an earlier topic of that name */
		char rel[512], full[1024];
		snprintf(rel, sizeof(rel), "/config/topics/%s", c->name);
		if (zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), c->conf_json, (int)strlen(c->conf_json), -1,
			     cl_create_config_set, c) == ZOK) {
			kb_zk_pump(b->zk);
			return;
		}
	}
	if (rc != ZOK) {
		c->cb(b, c->ctx, cl_kafka_err(rc == ZNODEEXISTS ? ZCLOSING : rc), zerror(rc));
		cl_create_free(c);
		return;
	}
	cl_create_write_topic(c);
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
	struct cl_create *c = calloc(1, sizeof(*c));
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
			cl_create_free(c);
		cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	if (!cl_have_session(b)) {
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		cl_create_free(c);
		return;
	}
	char rel[512], full[1024];
	snprintf(rel, sizeof(rel), "/config/topics/%s", name);
	int rc = zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), c->conf_json, (int)strlen(c->conf_json),
			     &ZOO_OPEN_ACL_UNSAFE, 0, cl_create_config_done, c);
	if (rc != ZOK) {
		cb(b, ctx, cl_kafka_err(rc), zerror(rc));
		cl_create_free(c);
	}
	kb_zk_pump(b->zk);
}

static void cl_admin_string_done(int rc, const char *v, const void *data)
{
	struct cl_ctx *c = (struct cl_ctx *)(uintptr_t)data;
	(void)v;
	c->cb(c->b, c->cb_ctx, rc == ZNODEEXISTS ? KE_NONE : cl_kafka_err(rc), rc == ZOK || rc == ZNODEEXISTS ? NULL : zerror(rc));
	free(c);
}

void kb_cluster_delete_topic(struct broker *b, const char *name, kb_admin_cb cb, void *ctx)
{
	char rel[512], full[1024];
	struct cl_ctx *c = cl_ctx(b, name, -1);
	if (!c || !cl_have_session(b)) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		return;
	}
	c->cb = cb;
	c->cb_ctx = ctx;
	snprintf(rel, sizeof(rel), "/admin/delete_topics/%s", name);
	if (zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, cl_admin_string_done,
			c) != ZOK) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
	}
	kb_zk_pump(b->zk);
}

static void cl_admin_stat_done(int rc, const struct Stat *st, const void *data)
{
	struct cl_ctx *c = (struct cl_ctx *)(uintptr_t)data;
	(void)st;
	c->cb(c->b, c->cb_ctx, cl_kafka_err(rc), rc == ZOK ? NULL : zerror(rc));
	if (rc == ZOK && !c->b->stopping)
		cl_refresh_topic(c->b, c->name);
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
	struct cl_ctx *c = js ? cl_ctx(b, t->name, -1) : NULL;
	if (!c || !cl_have_session(b)) {
		cb(b, ctx, e ? e : KE_REQUEST_TIMED_OUT, e ? why : "the coordinator is not reachable");
		free(js);
		free(c);
		return;
	}
	c->cb = cb;
	c->cb_ctx = ctx;
	char rel[512], full[1024];
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", t->name);
	if (zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), -1, cl_admin_stat_done, c) != ZOK) {
		free(c);
		cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
	}
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- ISR changes written by a partition's leader ---- */

struct cl_isr {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
	int32_t part;
	int32_t leader, leader_epoch;
	uint32_t n_isr;
	int32_t isr[KREPL_MAX_REPLICAS];
};

static void cl_isr_done(struct cl_isr *w, bool ok, int32_t version)
{
	struct broker *b = w->b;
	if (ok && !b->stopping) { /* Kafka writes the notification once the state is written */
		char *js = NULL, full[1024];
		if (!kznode_isr_change_encode(w->name, w->part, &js)) {
			zoo_acreate(kb_zk_handle(b->zk), ZP("/isr_change_notification/isr_change_", full), js,
				    (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, cl_ignore_string, NULL);
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
static void cl_isr_check(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_isr *w = (struct cl_isr *)(uintptr_t)data;
	struct kznode_state ks;
	char eb[160];
	bool same = rc == ZOK && v && st && !kznode_state_decode(v, (size_t)(vl > 0 ? vl : 0), &ks, eb, sizeof(eb)) &&
		    ks.leader == w->leader && ks.leader_epoch == w->leader_epoch && ks.n_isr == w->n_isr &&
		    !memcmp(ks.isr, w->isr, w->n_isr * sizeof(int32_t));
	cl_isr_done(w, same, same ? st->version : -1);
}

static void cl_isr_written(int rc, const struct Stat *st, const void *data)
{
	struct cl_isr *w = (struct cl_isr *)(uintptr_t)data;
	struct broker *b = w->b;
	if (rc == ZBADVERSION && !b->stopping) {
		char rel[512], full[1024];
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", w->name, w->part);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_isr_check, w) == ZOK) {
			kb_zk_pump(b->zk);
			return;
		}
	}
	if (rc != ZOK && rc != ZBADVERSION && rc != ZCLOSING)
		log_warn(CL_MOD, "writing the ISR of %s-%d: %s", w->name, w->part, zerror(rc));
	cl_isr_done(w, rc == ZOK && st, rc == ZOK && st ? st->version : -1);
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
	struct cl_isr *w = calloc(1, sizeof(*w));
	if (!w || !b->zk || !cl_have_session(b) || st->n_isr > KREPL_MAX_REPLICAS) {
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
	    zoo_aset(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), st->zk_version, cl_isr_written, w) != ZOK) {
		free(js);
		free(w);
		if (b->rm)
			krm_isr_result(b->rm, topic, part, st->leader_epoch, false, -1, kb_now_ms());
		return;
	}
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- controller: kctrl decides, this carries its actions out on the coordinator ---- */

struct cl_write {
	struct broker *b;
	struct kctrl *ctrl; /* the controller term that asked; the answer is dropped if it ended */
	char name[KB_TOPIC_MAX + 1];
	int32_t part;
};

static void cl_ctrl_run(struct broker *b);

static void cl_ctrl_written(int rc, int version, const void *data)
{
	struct cl_write *c = (struct cl_write *)(uintptr_t)data;
	struct broker *b = c->b;
	if (!b->stopping && b->ctrl == c->ctrl) {
		if (rc != ZOK)
			log_info(CL_MOD, "controller: writing the state of %s-%d: %s; reading it again", c->name, c->part,
				 zerror(rc));
		kctrl_write_result(b->ctrl, c->name, c->part, rc == ZOK, version);
		cl_ctrl_run(b);
		if (rc != ZOK)
			cl_refresh_topic(b, c->name); /* kctrl decides again from what it reads */
	}
	free(c);
}

static void cl_ctrl_created(int rc, const char *v, const void *data)
{
	(void)v;
	cl_ctrl_written(rc, 0, data);
}

static void cl_ctrl_set(int rc, const struct Stat *st, const void *data)
{
	cl_ctrl_written(rc, st ? st->version : -1, data);
}

static void cl_ctl_done(int32_t broker_id, int err, const struct kctl_msg *resp, void *arg)
{
	(void)arg;
	if (err == 0 && resp && resp->error_code)
		log_warn(CL_MOD, "controller: broker %d refused a %s: error %d", broker_id, kctl_type_name(resp->type - 1),
			 resp->error_code);
}

/* LeaderAndIsr of one partition to one broker on the control plane (the state is also in its
 * znode, which every broker watches: the channel makes it known at once). */
static void cl_ctl_leader_and_isr(struct broker *b, const struct kctrl_action *a)
{
	struct kctl_part part = {
		.topic = a->topic,
		.partition = a->partition,
		.controller_epoch = a->state.controller_epoch,
		.leader = a->state.leader,
		.leader_epoch = a->state.leader_epoch,
		.zk_version = a->state.zk_version,
		.isr = a->state.isr,
		.n_isr = a->state.n_isr,
		.replicas = a->replicas,
		.n_replicas = a->n_replicas,
	};
	struct kctl_endpoint ep = { .id = -1, .host = "", .port = 0 };
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == a->state.leader) {
			ep.id = b->nodes[i].id;
			ep.host = b->nodes[i].host;
			ep.port = b->nodes[i].port;
		}
	struct kctl_msg m = {
		.type = KCTL_LEADER_AND_ISR,
		.parts = &part,
		.n_parts = 1,
		.leaders = ep.id >= 0 ? &ep : NULL,
		.n_leaders = ep.id >= 0 ? 1 : 0,
	};
	int rc = kctl_ctrl_send(b->ctl, a->broker, &m, cl_ctl_done, NULL);
	if (rc && rc != ERR_CLOSED && rc != ERR_NOTFOUND)
		log_warn(CL_MOD, "controller: LeaderAndIsr of %s-%d to broker %d: %s", a->topic, a->partition, a->broker,
			 err_str(rc));
}

/* Carries out kctrl's actions in order. */
static void cl_ctrl_run(struct broker *b)
{
	size_t n;
	const struct kctrl_action *a = kctrl_actions(b->ctrl, &n);
	zhandle_t *zh = kb_zk_handle(b->zk);
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == KCTRL_ACT_LEADER_AND_ISR) {
			if (b->ctl)
				cl_ctl_leader_and_isr(b, &a[i]);
			continue;
		}
		char *js = NULL, rel[512], full[1024];
		const struct kctrl_lisr *st = &a[i].state;
		struct kznode_state ks = { .leader = st->leader,
					   .leader_epoch = st->leader_epoch,
					   .controller_epoch = st->controller_epoch,
					   .n_isr = st->n_isr };
		memcpy(ks.isr, st->isr, st->n_isr * sizeof(int32_t));
		struct cl_write *c = calloc(1, sizeof(*c));
		if (!c || kznode_state_encode(&ks, &js)) { /* as a failed write: decided again once read */
			free(c);
			kctrl_write_result(b->ctrl, a[i].topic, a[i].partition, false, -1);
			continue;
		}
		c->b = b;
		c->ctrl = b->ctrl;
		snprintf(c->name, sizeof(c->name), "%s", a[i].topic);
		c->part = a[i].partition;
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", a[i].topic, a[i].partition);
		if (a[i].expect_version < 0) {
			char prel[512], pfull[1024];
			snprintf(prel, sizeof(prel), "/brokers/topics/%s/partitions", a[i].topic);
			zoo_acreate(zh, ZP(prel, pfull), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, cl_ignore_string, NULL);
			snprintf(prel, sizeof(prel), "/brokers/topics/%s/partitions/%d", a[i].topic, a[i].partition);
			zoo_acreate(zh, ZP(prel, pfull), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, cl_ignore_string, NULL);
			zoo_acreate(zh, ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, cl_ctrl_created, c);
		} else {
			zoo_aset(zh, ZP(rel, full), js, (int)strlen(js), a[i].expect_version, cl_ctrl_set, c);
		}
		free(js);
	}
	kctrl_actions_clear(b->ctrl);
	kb_zk_pump(b->zk);
}

void kb_cluster_ctrl_run(struct broker *b)
{
	if (b->ctrl)
		cl_ctrl_run(b);
}

static void cl_ctrl_log(void *arg, const char *line)
{
	(void)arg;
	log_info(CL_MOD, "controller: %s", line);
}

/* The channel's fast failure detection: a broker whose connection broke and could not be
 * re-established (kill -9), or that answers no heartbeat (paused, cut off), is dead for the
 * controller before its coordinator session expires. */
static void cl_ctl_dead(int32_t id, void *arg)
{
	struct broker *b = arg;
	if (!b->ctrl)
		return;
	log_info(CL_MOD, "controller: broker %d is unreachable on the control plane: treating it as dead", id);
	kctrl_broker_dead(b->ctrl, id);
	cl_ctrl_run(b);
}

static void cl_ctl_alive(int32_t id, void *arg)
{
	struct broker *b = arg;
	if (!b->ctrl)
		return;
	log_info(CL_MOD, "controller: broker %d answers on the control plane again", id);
	kctrl_broker_back(b->ctrl, id);
	cl_ctrl_run(b);
}

/* Keeps the channel's brokers those registered: new ones added, gone ones removed. */
static void cl_ctl_nodes(struct broker *b, const struct kb_node *nodes, int32_t n)
{
	for (int32_t i = 0; i < b->nnodes; i++) {
		bool still = false;
		for (int32_t k = 0; k < n && !still; k++)
			still = nodes[k].id == b->nodes[i].id;
		if (!still)
			kctl_ctrl_remove_broker(b->ctl, b->nodes[i].id);
	}
	for (int32_t k = 0; k < n; k++)
		if (nodes[k].control_port > 0)
			kctl_ctrl_add_broker(b->ctl, nodes[k].id, nodes[k].host, nodes[k].control_port, nodes[k].epoch);
}

static void cl_ctrl_brokers(struct broker *b)
{
	int32_t *ids = calloc((size_t)b->nnodes + 1, sizeof(*ids));
	if (!ids)
		return;
	for (int32_t i = 0; i < b->nnodes; i++)
		ids[i] = b->nodes[i].id;
	kctrl_brokers(b->ctrl, ids, (size_t)b->nnodes);
	free(ids);
	cl_ctrl_run(b);
}

/* unclean.leader.election.enable of a topic: 1, 0, or -1 (the broker's default) */
static int cl_topic_unclean(const struct kb_topic *t)
{
	for (int32_t i = 0; i < t->nconf; i++)
		if (!strcmp(t->conf[i].name, "unclean.leader.election.enable"))
			return !strcmp(t->conf[i].value, "true");
	return -1;
}

/* Hands kctrl a topic's partitions as the coordinator holds them (assignment and state). */
static void cl_ctrl_topic(struct broker *b, struct kb_topic *t)
{
	int unclean = cl_topic_unclean(t);
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kb_part *p = &t->parts[i];
		struct kctrl_lisr st;
		memset(&st, 0, sizeof(st));
		if (p->state_version >= 0) {
			st.leader = p->leader;
			st.leader_epoch = p->leader_epoch;
			st.controller_epoch = p->ctrl_epoch;
			st.zk_version = p->state_version;
			for (int32_t k = 0; k < p->nisr && st.n_isr < KCTRL_MAX_REPLICAS; k++)
				st.isr[st.n_isr++] = p->isr[k];
		}
		if (p->nrep > 0 && kctrl_partition(b->ctrl, t->name, p->id, p->replicas, (size_t)p->nrep,
						   p->state_version >= 0 ? &st : NULL, unclean))
			log_warn(CL_MOD, "controller: the assignment of %s-%d is not one it can manage", t->name, p->id);
	}
	cl_ctrl_run(b);
}

/* auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds the controller
 * gives leadership back to preferred replicas of brokers whose imbalance is over
 * leader.imbalance.per.broker.percentage (kctrl_rebalance). */
static void cl_rebalance(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	if (!b->ctrl || b->stopping)
		return;
	size_t n = kctrl_rebalance(b->ctrl, b->cfg->leader_imbalance_per_broker_percentage);
	if (n)
		log_info(CL_MOD, "controller: %zu preferred-replica election(s) to rebalance leadership", n);
	cl_ctrl_run(b);
}

/* This broker stops being the controller: its term's decisions in flight are dropped. */
static void cl_resign(struct broker *b, const char *why)
{
	if (b->is_controller)
		log_info(CL_MOD, "no longer the controller: %s", why);
	b->is_controller = false;
	kctrl_free(b->ctrl);
	b->ctrl = NULL;
	kctl_ctrl_free(b->ctl);
	b->ctl = NULL;
	if (b->rebalance)
		event_free(b->rebalance);
	b->rebalance = NULL;
}

/* Recursive delete of path and everything under it, children first. */
struct cl_rdel {
	struct broker *b;
	char path[1024];
	struct cl_rdel *parent;
	int32_t pending;
	void (*done)(struct broker *b, void *arg);
	void *arg;
};

static void cl_rdel_start(struct broker *b, const char *full, struct cl_rdel *parent,
			  void (*done)(struct broker *b, void *arg), void *arg);
static void cl_rdel_self(struct cl_rdel *d);

static void cl_rdel_finish(struct cl_rdel *d)
{
	struct cl_rdel *parent = d->parent;
	if (!parent && d->done)
		d->done(d->b, d->arg);
	free(d);
	if (parent && --parent->pending == 0) {
		cl_rdel_self(parent); /* all children gone: delete the parent itself */
	}
}

static void cl_rdel_deleted(int rc, const void *data)
{
	struct cl_rdel *d = (struct cl_rdel *)(uintptr_t)data;
	if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING)
		log_warn(CL_MOD, "deleting %s: %s", d->path, zerror(rc));
	cl_rdel_finish(d);
}

static void cl_rdel_self(struct cl_rdel *d)
{
	if (d->b->stopping || zoo_adelete(kb_zk_handle(d->b->zk), d->path, -1, cl_rdel_deleted, d) != ZOK)
		cl_rdel_finish(d);
	kb_zk_pump(d->b->zk);
}

static void cl_rdel_children(int rc, const struct String_vector *sv, const void *data)
{
	struct cl_rdel *d = (struct cl_rdel *)(uintptr_t)data;
	if (rc != ZOK || d->b->stopping) {
		cl_rdel_finish(d);
		return;
	}
	if (sv->count == 0) {
		cl_rdel_self(d);
		return;
	}
	d->pending = sv->count;
	for (int32_t i = 0; i < sv->count; i++) {
		char child[2048];
		int n = snprintf(child, sizeof(child), "%s/%s", d->path, sv->data[i]);
		if (n < 0 || (size_t)n >= sizeof(d->path)) {
			d->pending--;
			continue;
		}
		cl_rdel_start(d->b, child, d, NULL, NULL);
	}
}

static void cl_rdel_start(struct broker *b, const char *full, struct cl_rdel *parent,
			  void (*done)(struct broker *b, void *arg), void *arg)
{
	struct cl_rdel *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->b = b;
	snprintf(d->path, sizeof(d->path), "%s", full);
	d->parent = parent;
	d->done = done;
	d->arg = arg;
	if (b->stopping || zoo_aget_children(kb_zk_handle(b->zk), d->path, 0, cl_rdel_children, d) != ZOK)
		cl_rdel_finish(d);
	kb_zk_pump(b->zk);
}

static void cl_delete_step(struct broker *b, void *arg)
{
	char *name = arg; /* "<step>\0<topic>": 0 topic, 1 config, 2 the admin request */
	char rel[600], full[1024];
	const char *t = name + 2;
	if (!b->stopping) {
		if (name[0] == '0') {
			name[0] = '1';
			snprintf(rel, sizeof(rel), "/config/topics/%s", t);
			cl_rdel_start(b, ZP(rel, full), NULL, cl_delete_step, name);
			return;
		}
		if (name[0] == '1') {
			name[0] = '2';
			snprintf(rel, sizeof(rel), "/admin/delete_topics/%s", t);
			cl_rdel_start(b, ZP(rel, full), NULL, cl_delete_step, name);
			log_info(CL_MOD, "controller: deleted topic %s", t);
			return;
		}
	}
	free(name);
}

static void cl_deletes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping || !b->is_controller)
		return;
	for (int32_t i = 0; i < sv->count; i++) {
		char rel[600], full[1024];
		size_t n = strlen(sv->data[i]);
		char *step = malloc(n + 3);
		if (!step)
			continue;
		step[0] = '0';
		step[1] = '\0';
		memcpy(step + 2, sv->data[i], n + 1);
		struct kb_topic *t = kb_topic_find(b, sv->data[i]);
		if (t)
			t->deleting = true;
		log_info(CL_MOD, "controller: deleting topic %s", sv->data[i]);
		snprintf(rel, sizeof(rel), "/brokers/topics/%s", sv->data[i]);
		cl_rdel_start(b, ZP(rel, full), NULL, cl_delete_step, step);
	}
}

static void cl_process_deletes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/admin/delete_topics", full), 1, cl_deletes_children, b);
	kb_zk_pump(b->zk);
}

/* Kafka 2.x's controller handles /isr_change_notification/isr_change_* (a leader changed an
 * ISR) by reading those partitions' states and deleting the notifications. Here every broker
 * already watches the state znodes (kctrl reads them through the same watch), so the
 * controller only deletes them, so that they do not pile up. */
static void cl_isr_changes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping || !b->is_controller)
		return;
	for (int32_t i = 0; i < sv->count; i++) {
		char rel[512], full[1024];
		if (strncmp(sv->data[i], "isr_change_", 11) != 0)
			continue;
		snprintf(rel, sizeof(rel), "/isr_change_notification/%s", sv->data[i]);
		zoo_adelete(kb_zk_handle(b->zk), ZP(rel, full), -1, cl_ignore_void, NULL);
	}
	kb_zk_pump(b->zk);
}

static void cl_process_isr_changes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/isr_change_notification", full), 1, cl_isr_changes_children, b);
	kb_zk_pump(b->zk);
}

static void cl_become_controller(struct broker *b)
{
	struct kctrl_opts o = { .controller_epoch = b->controller_epoch,
				.unclean_default = b->cfg->unclean_leader_election_enable,
				.log = cl_ctrl_log,
				.log_arg = b };
	kctrl_free(b->ctrl);
	b->ctrl = kctrl_new(&o);
	kctl_ctrl_free(b->ctl);
	b->ctl = NULL;
	static const struct kctl_ctrl_cbs ctl_cbs = { cl_ctl_dead, cl_ctl_alive };
	char eb[256];
	if (b->ctrl && kctl_ctrl_new(b->base, b->cfg->broker_id, b->controller_epoch, NULL, &ctl_cbs, b, &b->ctl, eb,
				     sizeof(eb)))
		log_warn(CL_MOD, "controller: no control-plane channel (%s); brokers learn from the coordinator only", eb);
	if (b->ctl)
		cl_ctl_nodes(b, b->nodes, b->nnodes);
	if (!b->ctrl) {
		log_error(CL_MOD, "out of memory taking the controller role; giving it up");
		char full[1024];
		zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), -1, cl_ignore_void, NULL);
		kb_zk_pump(b->zk);
		return;
	}
	b->is_controller = true;
	b->controller_id = b->cfg->broker_id;
	log_info(CL_MOD, "this broker (%d) is now the controller, epoch %d", b->cfg->broker_id, b->controller_epoch);
	if (b->cfg->auto_leader_rebalance_enable && !b->rebalance) {
		int64_t s = b->cfg->leader_imbalance_check_interval_seconds;
		struct timeval tv = { (time_t)s, 0 };
		b->rebalance = event_new(b->base, -1, EV_PERSIST, cl_rebalance, b);
		if (b->rebalance)
			event_add(b->rebalance, &tv);
	}
	cl_ctrl_brokers(b);
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		cl_ctrl_topic(b, t);
	cl_process_deletes(b);
	cl_process_isr_changes(b);
	cl_refresh_topics(b);
}

static void cl_epoch_written(int rc, const void *data, int version)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (b->stopping)
		return;
	if (rc != ZOK) {
		log_warn(CL_MOD, "cannot write /controller_epoch (%s); giving up the controller role", zerror(rc));
		char full[1024];
		zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), -1, cl_ignore_void, NULL);
		kb_zk_pump(b->zk);
		return;
	}
	b->controller_epoch_version = version;
	cl_become_controller(b);
}

static void cl_epoch_created(int rc, const char *v, const void *data)
{
	(void)v;
	cl_epoch_written(rc, data, 0);
}

static void cl_epoch_set(int rc, const struct Stat *st, const void *data)
{
	cl_epoch_written(rc, data, st ? st->version : 0);
}

static void cl_epoch_read(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char *js = NULL, eb[160], full[1024];
	int32_t epoch = 0;
	if (b->stopping)
		return;
	if (rc == ZOK && kznode_epoch_decode(v, (size_t)(vl > 0 ? vl : 0), &epoch, eb, sizeof(eb)))
		log_warn(CL_MOD, "%s; counting from 0", eb);
	if ((rc != ZOK && rc != ZNONODE) || kznode_epoch_encode(epoch + 1, &js)) {
		cl_epoch_written(rc == ZOK || rc == ZNONODE ? ZSYSTEMERROR : rc, data, 0);
		return;
	}
	zhandle_t *zh = kb_zk_handle(b->zk);
	b->controller_epoch = epoch + 1;
	if (rc == ZNONODE)
		zoo_acreate(zh, ZP("/controller_epoch", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0,
			    cl_epoch_created, b);
	else
		zoo_aset(zh, ZP("/controller_epoch", full), js, (int)strlen(js), st->version, cl_epoch_set, b);
	free(js);
	kb_zk_pump(b->zk);
}

static void cl_controller_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (b->stopping)
		return;
	if (rc == ZNONODE) {
		cl_elect(b);
		return;
	}
	if (rc != ZOK)
		return;
	char eb[160];
	int32_t id = -1;
	if (kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)))
		log_warn(CL_MOD, "%s", eb);
	b->controller_id = id;
	if (id != b->cfg->broker_id && b->is_controller) {
		log_info(CL_MOD, "broker %d is the controller now", id);
		cl_resign(b, "another broker holds /controller");
	}
}

static void cl_controller_created(int rc, const char *v, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char full[1024];
	(void)v;
	if (b->stopping)
		return;
	zhandle_t *zh = kb_zk_handle(b->zk);
	if (rc == ZOK) {
		zoo_aget(zh, ZP("/controller_epoch", full), 0, cl_epoch_read, b);
		zoo_aexists(zh, ZP("/controller", full), 1, cl_ignore_stat, NULL);
	} else if (rc == ZNODEEXISTS) {
		zoo_aget(zh, ZP("/controller", full), 1, cl_controller_data, b);
	}
	kb_zk_pump(b->zk);
}

static void cl_elect(struct broker *b)
{
	char *js = NULL, full[1024];
	if (kznode_controller_encode(b->cfg->broker_id, kb_now_ms(), &js)) {
		log_error(CL_MOD, "out of memory standing for controller");
		return;
	}
	zoo_acreate(kb_zk_handle(b->zk), ZP("/controller", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE,
		    ZOO_EPHEMERAL, cl_controller_created, b);
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- dynamic configs: /config/brokers, /config/changes ---- */

struct cl_bconf {
	struct broker *b;
	bool is_default;
};

static void cl_broker_config(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_bconf *g = (struct cl_bconf *)(uintptr_t)data;
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
static void cl_load_broker_configs(struct broker *b)
{
	for (int k = 0; k < 2; k++) {
		char rel[64], full[1024];
		struct cl_bconf *g = malloc(sizeof(*g));
		if (!g)
			continue;
		g->b = b;
		g->is_default = k == 0;
		if (k == 0)
			snprintf(rel, sizeof(rel), "/config/brokers/<default>");
		else
			snprintf(rel, sizeof(rel), "/config/brokers/%d", b->cfg->broker_id);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_broker_config, g) != ZOK)
			free(g);
	}
	kb_zk_pump(b->zk);
}

/* Kafka deletes change notifications older than this (ZkNodeChangeNotificationListener). */
#define CL_CHANGE_EXPIRY_MS (15 * 60 * 1000)

struct cl_change {
	struct broker *b;
	char node[64];
};

/* {"version":2,"entity_path":"topics/<t>"} or "brokers/<id>" / "brokers/<default>" */
static void cl_change_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct cl_change *c = (struct cl_change *)(uintptr_t)data;
	struct broker *b = c->b;
	if (rc == ZOK && !b->stopping) {
		char path[KB_TOPIC_MAX + 64], eb[160];
		const char *ep = NULL;
		if (!kznode_config_change_decode(v, (size_t)(vl > 0 ? vl : 0), path, sizeof(path), eb, sizeof(eb)))
			ep = path;
		if (ep && !strncmp(ep, "topics/", 7)) {
			if (kb_topic_find(b, ep + 7)) {
				log_info(CL_MOD, "config change %s: topic %s", c->node, ep + 7);
				cl_refresh_topic(b, ep + 7);
			}
		} else if (ep && !strncmp(ep, "brokers/", 8)) {
			log_info(CL_MOD, "config change %s: %s", c->node, ep);
			cl_load_broker_configs(b);
		} else if (ep) {
			log_debug(CL_MOD, "config change %s: %s (not applicable here)", c->node, ep);
		} else {
			log_warn(CL_MOD, "config change %s ignored: %s", c->node, eb);
		}
		if (st && kb_now_ms() - st->ctime > CL_CHANGE_EXPIRY_MS) {
			char rel[128], full[1024];
			snprintf(rel, sizeof(rel), "/config/changes/%s", c->node);
			zoo_adelete(kb_zk_handle(b->zk), ZP(rel, full), -1, cl_ignore_void, NULL);
			kb_zk_pump(b->zk);
		}
	}
	free(c);
}

static void cl_changes_children(int rc, const struct String_vector *sv, const void *data)
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
		struct cl_change *c = calloc(1, sizeof(*c));
		if (!c)
			break;
		char rel[128], full[1024];
		c->b = b;
		snprintf(c->node, sizeof(c->node), "%s", sv->data[bi]);
		snprintf(rel, sizeof(rel), "/config/changes/%s", c->node);
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_change_data, c) != ZOK)
			free(c);
	}
	b->config_change_seq = newest;
	kb_zk_pump(b->zk);
}

static void cl_config_changes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/config/changes", full), 1, cl_changes_children, b);
	kb_zk_pump(b->zk);
}

/* AlterConfigs' write: the entity's config znode, then the change notification every broker
 * watches, then the new set applied here at once. */
struct cl_alter {
	struct broker *b;
	int type;
	char entity[KB_TOPIC_MAX + 16];
	char rel[KB_TOPIC_MAX + 64];
	char *json;
	struct kb_tconf *conf;
	int32_t nconf;
	kb_admin_cb cb;
	void *ctx;
};

static void cl_alter_finish(struct cl_alter *a, int zrc)
{
	struct broker *b = a->b;
	if (zrc == ZOK && !b->stopping) {
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
	a->cb(b, a->ctx, zrc == ZOK ? KE_NONE : cl_kafka_err(zrc == ZNONODE ? ZCLOSING : zrc),
	      zrc == ZOK ? NULL : zerror(zrc));
	kb_dynconf_free(a->conf, a->nconf);
	free(a->json);
	free(a);
}

static void cl_alter_notified(int rc, const char *v, const void *data)
{
	(void)v;
	cl_alter_finish((struct cl_alter *)(uintptr_t)data, rc);
}

static void cl_alter_notify(struct cl_alter *a)
{
	struct broker *b = a->b;
	char *js = NULL, full[1024];
	int rc = b->stopping					       ? ZCLOSING
		 : kznode_config_change_encode(a->rel + strlen("/config/"), &js) ? ZSYSTEMERROR
		 : zoo_acreate(kb_zk_handle(b->zk), ZP("/config/changes/config_change_", full), js,
			       (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, cl_alter_notified, a);
	free(js);
	if (rc != ZOK)
		cl_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

static void cl_alter_created(int rc, const char *v, const void *data)
{
	struct cl_alter *a = (struct cl_alter *)(uintptr_t)data;
	(void)v;
	if (rc != ZOK)
		cl_alter_finish(a, rc);
	else
		cl_alter_notify(a);
}

static void cl_alter_set(int rc, const struct Stat *st, const void *data)
{
	struct cl_alter *a = (struct cl_alter *)(uintptr_t)data;
	struct broker *b = a->b;
	char full[1024];
	(void)st;
	if (rc == ZNONODE && !b->stopping) { /* first dynamic config of this entity */
		rc = zoo_acreate(kb_zk_handle(b->zk), ZP(a->rel, full), a->json, (int)strlen(a->json),
				 &ZOO_OPEN_ACL_UNSAFE, 0, cl_alter_created, a);
		if (rc != ZOK)
			cl_alter_finish(a, rc);
		kb_zk_pump(b->zk);
		return;
	}
	if (rc != ZOK)
		cl_alter_finish(a, rc);
	else
		cl_alter_notify(a);
}

void kb_cluster_alter_configs(struct broker *b, int type, const char *entity, const struct kb_tconf *confs,
			      int32_t nconf, kb_admin_cb cb, void *ctx)
{
	struct cl_alter *a = calloc(1, sizeof(*a));
	if (a) {
		a->b = b;
		a->type = type;
		a->cb = cb;
		a->ctx = ctx;
		snprintf(a->entity, sizeof(a->entity), "%s", entity);
		if (type == KB_RES_TOPIC)
			snprintf(a->rel, sizeof(a->rel), "/config/topics/%s", entity);
		else
			snprintf(a->rel, sizeof(a->rel), "/config/brokers/%s", entity[0] ? entity : "<default>");
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
	if (!cl_have_session(b)) {
		a->cb(b, ctx, KE_REQUEST_TIMED_OUT, "the coordinator is not reachable");
		kb_dynconf_free(a->conf, a->nconf);
		free(a->json);
		free(a);
		return;
	}
	char full[1024];
	int rc = zoo_aset(kb_zk_handle(b->zk), ZP(a->rel, full), a->json, (int)strlen(a->json), -1, cl_alter_set, a);
	if (rc != ZOK)
		cl_alter_finish(a, rc);
	kb_zk_pump(b->zk);
}

/* ---- registration ---- */

static struct event *cl_retry_ev;

static void cl_retry_register(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cl_register(arg);
}

static void cl_registered_check(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)v;
	(void)vl;
	if (b->stopping)
		return;
	if (rc == ZOK && st && st->ephemeralOwner == kb_zk_session_id(b->zk)) {
		b->registered = true;
		kctl_srv_set_broker_epoch(b->ctl_srv, st->czxid); /* KIP-380 */
		return;
	}
	if (rc == ZOK)
		log_warn(CL_MOD, "/brokers/ids/%d is held by another session (0x%llx): a broker with this id is running, or "
				 "this broker's previous session has not expired yet; retrying",
			 b->cfg->broker_id, (unsigned long long)(st ? st->ephemeralOwner : 0));
	struct timeval tv = { 1, 0 };
	event_add(cl_retry_ev, &tv);
}

static void cl_registered(int rc, const char *v, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char rel[64], full[1024];
	(void)v;
	if (b->stopping)
		return;
	snprintf(rel, sizeof(rel), "/brokers/ids/%d", b->cfg->broker_id);
	if (rc == ZOK) {
		b->registered = true;
		log_info(CL_MOD, "registered as broker %d at %s:%d (control plane port %d)", b->cfg->broker_id,
			 b->adv_host, b->adv_port, kctl_srv_port(b->ctl_srv));
	}
	if (rc == ZOK || rc == ZNODEEXISTS) { /* ours (its czxid is our broker epoch), or whose */
		zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, cl_registered_check, b);
		kb_zk_pump(b->zk);
		return;
	}
	log_warn(CL_MOD, "registering %s: %s; retrying", rel, zerror(rc));
	struct timeval tv = { 1, 0 };
	event_add(cl_retry_ev, &tv);
}

static void cl_register(struct broker *b)
{
	char *js = NULL, rel[64], full[1024];
	struct kznode_broker_reg reg = { .listener = b->cfg->listener[0].name,
					 .host = b->adv_host,
					 .port = b->adv_port,
					 .control_port = kctl_srv_port(b->ctl_srv),
					 .timestamp_ms = kb_now_ms() };
	if (kznode_broker_encode(&reg, &js)) {
		struct timeval tv = { 1, 0 };
		log_warn(CL_MOD, "out of memory registering; retrying");
		event_add(cl_retry_ev, &tv);
		return;
	}
	snprintf(rel, sizeof(rel), "/brokers/ids/%d", b->cfg->broker_id);
	zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
		    cl_registered, b);
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- session ---- */

static void cl_cluster_id(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (rc != ZOK || b->stopping)
		return;
	char id[KZNODE_MAX_ID + 1], eb[160];
	if (kznode_cluster_id_decode(v, (size_t)(vl > 0 ? vl : 0), id, eb, sizeof(eb)))
		log_warn(CL_MOD, "%s", eb);
	else
		snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", id);
	log_info(CL_MOD, "cluster id %s", b->cluster_id);
}

static void cl_session_new(struct broker *b)
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
	cl_resign(b, "a new coordinator session");
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		zoo_acreate(zh, ZP(paths[i], full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, cl_ignore_string, NULL);
	/* a new cluster id, base64url of 16 random bytes as Kafka makes it; the first writer wins */
	unsigned char raw[16];
	char id[32], *js = NULL;
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 7, sizeof(raw));
	size_t k = 0;
	for (size_t i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < 16 ? (uint32_t)raw[i + 1] << 8 : 0) |
			     (i + 2 < 16 ? raw[i + 2] : 0);
		id[k++] = b64[(v >> 18) & 63];
		id[k++] = b64[(v >> 12) & 63];
		if (i + 1 < 16)
			id[k++] = b64[(v >> 6) & 63];
		if (i + 2 < 16)
			id[k++] = b64[v & 63];
	}
	id[k] = '\0';
	if (!kznode_cluster_id_encode(id, &js))
		zoo_acreate(zh, ZP("/cluster/id", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, cl_ignore_string,
			    NULL);
	free(js);
	zoo_aget(zh, ZP("/cluster/id", full), 0, cl_cluster_id, b);
	cl_register(b);
	cl_load_broker_configs(b);
	cl_config_changes(b);
	cl_refresh_nodes(b);
	cl_refresh_topics(b);
	/* the topics known from an earlier session: their watches went with it (a pause past the
	 * session timeout), and their states may have changed meanwhile — read them again */
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		cl_refresh_topic(b, t->name);
	cl_elect(b);
}

static void cl_state(struct kb_zk *z, enum kb_zk_state st, void *arg)
{
	struct broker *b = arg;
	(void)z;
	if (st == KB_ZK_SESSION_NEW) {
		cl_session_new(b);
	} else if (st == KB_ZK_RECONNECTED) {
		/* watches and ephemerals survived; re-read what may have changed meanwhile */
		cl_refresh_nodes(b);
		cl_refresh_topics(b);
		cl_config_changes(b);
	}
}

static void cl_watch(struct kb_zk *z, int type, const char *path, void *arg)
{
	struct broker *b = arg;
	(void)z;
	if (b->stopping)
		return;
	if (!strcmp(path, "/brokers/ids")) {
		cl_refresh_nodes(b);
	} else if (!strcmp(path, "/brokers/topics")) {
		cl_refresh_topics(b);
	} else if (!strcmp(path, "/controller")) {
		if (type == ZOO_DELETED_EVENT) {
			cl_resign(b, "/controller was deleted; re-electing");
			b->controller_id = -1;
			cl_elect(b);
		} else {
			char full[1024];
			zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 1, cl_controller_data, b);
			kb_zk_pump(b->zk);
		}
	} else if (!strcmp(path, "/config/changes")) {
		cl_config_changes(b);
	} else if (!strcmp(path, "/admin/delete_topics")) {
		if (b->is_controller)
			cl_process_deletes(b);
	} else if (!strcmp(path, "/isr_change_notification")) {
		if (b->is_controller)
			cl_process_isr_changes(b);
	} else if (!strncmp(path, "/brokers/topics/", 16)) {
		char name[KB_TOPIC_MAX + 1];
		const char *s = path + 16, *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n > 0 && n < sizeof(name) && type != ZOO_DELETED_EVENT) {
			memcpy(name, s, n);
			name[n] = '\0';
			cl_refresh_topic(b, name);
		}
	}
}

/* ---- the broker end of the control plane ---- */

/* LeaderAndIsr / StopReplica from the controller: the partitions' states are read again now
 * (they are in the coordinator already), one refresh per topic named. */
static void cl_ctl_refresh(struct broker *b, const struct kctl_part *parts, size_t n, const struct kctl_tp *stops,
			   size_t ns)
{
	const char *last = NULL;
	for (size_t i = 0; i < n + ns; i++) {
		const char *t = i < n ? parts[i].topic : stops[i - n].topic;
		if (!last || strcmp(last, t) != 0)
			cl_refresh_topic(b, t);
		last = t;
	}
}

static int32_t cl_on_leader_and_isr(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	struct broker *b = arg;
	(void)errors;
	if (m->controller_epoch > b->controller_epoch && !b->is_controller)
		b->controller_epoch = m->controller_epoch;
	cl_ctl_refresh(b, m->parts, m->n_parts, NULL, 0);
	return 0;
}

static int32_t cl_on_update_metadata(const struct kctl_msg *m, void *arg)
{
	(void)m;
	cl_refresh_nodes(arg);
	return 0;
}

static int32_t cl_on_stop_replica(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	(void)errors;
	cl_ctl_refresh(arg, NULL, 0, m->stops, m->n_stops);
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
static void cl_controller_gone_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (b->stopping || rc != ZOK || !st)
		return;
	char eb[128], full[1024];
	int32_t id = -1;
	if (kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)) || id != b->ctl_probe_id)
		return;
	log_warn(CL_MOD, "controller %d is gone (its control-plane connection broke and nothing listens on its "
		 "port): deleting /controller so that a new controller is elected now, not when its session expires",
		 id);
	zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), st->version, cl_ignore_void, NULL);
	kb_zk_pump(b->zk);
}

static void cl_controller_probed(bool up, void *arg)
{
	struct broker *b = arg;
	kctl_probe_free(b->ctl_probe);
	b->ctl_probe = NULL;
	if (b->stopping || b->controller_id != b->ctl_probe_id)
		return;
	if (up) {
		log_info(CL_MOD, "controller %d still listens on its control-plane port: it stays", b->ctl_probe_id);
		return;
	}
	char full[1024];
	zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 0, cl_controller_gone_data, b);
	kb_zk_pump(b->zk);
}

static void cl_on_controller_lost(int32_t id, int32_t epoch, void *arg)
{
	struct broker *b = arg;
	(void)epoch;
	if (b->stopping || b->ctl_probe || id != b->controller_id || id == b->cfg->broker_id)
		return;
	for (int32_t i = 0; i < b->nnodes; i++) {
		const struct kb_node *n = &b->nodes[i];
		if (n->id != id || n->control_port <= 0)
			continue;
		log_info(CL_MOD, "the connection of controller %d broke; checking that it is still there", id);
		b->ctl_probe_id = id;
		if (kctl_probe_new(b->base, n->host, n->control_port, 1000, cl_controller_probed, b, &b->ctl_probe))
			b->ctl_probe = NULL;
		return;
	}
}

int kb_cluster_start(struct broker *b, char *eb, size_t el)
{
	static const struct kb_zk_cbs cbs = { cl_state, cl_watch };
	static const struct kctl_srv_cbs srv_cbs = { cl_on_leader_and_isr, cl_on_update_metadata, cl_on_stop_replica,
						     cl_on_controller_lost };
	b->controller_id = -1;
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
	cl_retry_ev = event_new(b->base, -1, 0, cl_retry_register, b);
	b->zk = kb_zk_new(b->base, b->cfg->zookeeper_connect, b->cfg->zookeeper_session_timeout_ms, &cbs, b, eb, el);
	return b->zk && cl_retry_ev ? 0 : ERR_CONFIG;
}

void kb_cluster_stop(struct broker *b)
{
	b->stopping = true;
	cl_resign(b, "the broker stops");
	kctl_srv_free(b->ctl_srv);
	b->ctl_srv = NULL;
	kctl_probe_free(b->ctl_probe);
	b->ctl_probe = NULL;
	kb_zk_free(b->zk);
	b->zk = NULL;
	if (cl_retry_ev)
		event_free(cl_retry_ev);
	cl_retry_ev = NULL;
}

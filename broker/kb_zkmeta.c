/*
 * kb_zkmeta — the broker's view of the cluster in the coordinator (see kb_zkmeta.h): its own
 * registration, and the watches on /brokers/ids and /brokers/topics (with each topic's partition
 * states and configs) turned into the metadata cache (b->nodes, b->topics). Every step is one of
 * the ZooKeeper client's async calls whose small heap context the completion frees (the client
 * calls it exactly once, with ZCLOSING at shutdown). The znodes' JSON is broker/meta's kznode.
 */
#include "kb_zkmeta.h"

#include "err.h"
#include "kb_dynconf.h"
#include "kb_events.h"
#include "kb_groups.h"
#include "kb_txns.h"
#include "kb_zk.h"
#include "kcontroller.h"
#include "kctl_chan.h"
#include "kname.h"
#include "kznode.h"
#include "log.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ZM_MOD = "cluster";

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))

int32_t kb_zkmeta_live_count(struct broker *b)
{
	int32_t n = b->nnodes;
	bool self = false;
	for (int32_t i = 0; i < b->nnodes; i++)
		self |= b->nodes[i].id == b->cfg->broker_id;
	return n + !self;
}

bool kb_zkmeta_node_live(struct broker *b, int32_t id)
{
	if (id == b->cfg->broker_id)
		return true;
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == id)
			return true;
	return false;
}

/* ---- the broker list ---- */

struct kb_zkmeta_nodes {
	struct broker *b;
	int32_t pending;
	int32_t n;
	struct kb_node *nodes;
};

static void kb_zkmeta_node_done(struct kb_zkmeta_nodes *ns)
{
	struct broker *b = ns->b;
	if (--ns->pending > 0)
		return;
	if (!b->stopping) {
		kcontroller_nodes(b->kc, ns->nodes, ns->n);
		kb_events_nodes(b->events, b->nodes, b->nnodes, ns->nodes, ns->n);
		free(b->nodes);
		b->nodes = ns->nodes;
		b->nnodes = ns->n;
		ns->nodes = NULL;
		log_debug(ZM_MOD, "%d live broker(s)", b->nnodes);
		kcontroller_brokers(b->kc);
		if (b->rm) /* followers reach their leaders at the addresses registered now */
			krm_refollow(b->rm);
		kb_wake(b);
	}
	free(ns->nodes);
	free(ns);
}

struct kb_zkmeta_node_get {
	struct kb_zkmeta_nodes *ns;
	int32_t id;
};

/* /brokers/ids/<id> (kznode_broker_decode): a registration that is not Kafka's is skipped. */
static void kb_zkmeta_node_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_zkmeta_node_get *g = (struct kb_zkmeta_node_get *)(uintptr_t)data;
	struct kb_zkmeta_nodes *ns = g->ns;
	if (rc == ZOK && v && vl > 0) {
		struct kznode_broker reg;
		char eb[160];
		if (!kznode_broker_decode(v, (size_t)vl, &reg, eb, sizeof(eb))) {
			struct kb_node *nd = &ns->nodes[ns->n];
			memset(nd, 0, sizeof(*nd));
			nd->id = g->id;
			nd->epoch = st ? st->czxid : -1;
			nd->control_port = reg.control_port;
			/* brokers reach it on the inter-broker listener's name; clients on theirs */
			const struct kznode_endpoint *ib = kznode_broker_endpoint(
				&reg, ns->b->cfg->listener[ns->b->cfg->inter_broker_listener].name);
			snprintf(nd->host, sizeof(nd->host), "%s", ib ? ib->host : reg.host);
			nd->port = ib ? ib->port : reg.port;
			nd->n_eps = reg.n_endpoints;
			memcpy(nd->eps, reg.endpoints, sizeof(nd->eps));
			nd->rack = reg.has_rack ? strdup(reg.rack) : NULL;
			if (!reg.has_rack || nd->rack)
				ns->n++;
		} else {
			log_warn(ZM_MOD, "/brokers/ids/%d: %s", g->id, eb);
		}
	}
	free(g);
	kb_zkmeta_node_done(ns);
}

static void kb_zkmeta_nodes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping)
		return;
	struct kb_zkmeta_nodes *ns = calloc(1, sizeof(*ns));
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
		struct kb_zkmeta_node_get *g = malloc(sizeof(*g));
		if (!g)
			continue;
		g->ns = ns;
		g->id = (int32_t)id;
		snprintf(rel, sizeof(rel), "/brokers/ids/%ld", id);
		ns->pending++;
		if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_zkmeta_node_data, g) != ZOK) {
			ns->pending--;
			free(g);
		}
	}
	kb_zk_pump(b->zk);
	kb_zkmeta_node_done(ns);
}

void kb_zkmeta_refresh_nodes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/brokers/ids", full), 1, kb_zkmeta_nodes_children, b);
	kb_zk_pump(b->zk);
}

/* ---- topics ---- */

struct kb_zkmeta_topic_load {
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

struct kb_zkmeta_state_get {
	struct kb_zkmeta_topic_load *tl;
	int32_t part;
};

static void kb_zkmeta_topic_load_free(struct kb_zkmeta_topic_load *tl)
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
static void kb_zkmeta_topic_apply(struct kb_zkmeta_topic_load *tl)
{
	struct broker *b = tl->b;
	struct kb_topic *t = kb_topic_find(b, tl->name);
	int32_t had = t ? t->nparts : 0; /* partitions seen before: their changes are events */
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->name = strdup(tl->name);
		LIST_INSERT_HEAD(&b->topics, t, link);
		b->ntopics++;
		log_info(ZM_MOD, "topic %s: %d partition(s)", tl->name, tl->nparts);
		kb_events_add(b->events, KB_EV_TOPIC_CREATED, tl->name, -1, -1, "topic %s: %d partition(s)", tl->name,
			      tl->nparts);
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
		kb_events_part(b->events, t->name, i < had ? p : NULL, src);
		free(p->replicas);
		free(p->isr);
		*p = *src;
		src->replicas = NULL;
		src->isr = NULL;
		/* for now the state znode is the LeaderAndIsr: the replica manager takes it (a stale
		 * or repeated epoch changes nothing) */
		kb_part_apply_state(b, t, p);
	}
	kcontroller_topic(b->kc, t->name, t->parts, t->nparts, kb_topic_unclean(t));
	kb_wake(b);
}

/*
 * One read of a topic at a time. Every LeaderAndIsr and every watch of one of its partitions'
 * state asks for the topic to be read again, whole; a controller moving 50 leaderships (a broker
 * of a 3-broker cluster stopping, __consumer_offsets) asked 50 times, each read being 52
 * coordinator reads queued behind the others, and other topics' LeaderAndIsr waited seconds
 * behind them (seen in deploy/drill: a new leader that learned of its leadership 2-5 s late). A
 * request while the topic is being read marks it to be read once more when that read ends,
 * which sees every change made before the mark.
 */
struct kb_zkmeta_refresh {
	struct kb_zkmeta_refresh *next;
	bool again;
	char name[KB_TOPIC_MAX + 1];
};

static void kb_zkmeta_topic_load_start(struct broker *b, const char *name);

static void kb_zkmeta_refresh_done(struct broker *b, const char *name)
{
	struct kb_zkmeta_refresh **pp = &b->refreshing;
	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->next;
	struct kb_zkmeta_refresh *r = *pp;
	if (!r)
		return;
	if (r->again && !b->stopping) {
		r->again = false;
		kb_zkmeta_topic_load_start(b, r->name);
		return;
	}
	*pp = r->next;
	free(r);
}

static void kb_zkmeta_topic_step_done(struct kb_zkmeta_topic_load *tl)
{
	if (--tl->pending > 0)
		return;
	struct broker *b = tl->b;
	char name[KB_TOPIC_MAX + 1];
	snprintf(name, sizeof(name), "%s", tl->name);
	if (!b->stopping && !tl->failed && !tl->gone)
		kb_zkmeta_topic_apply(tl);
	kb_zkmeta_topic_load_free(tl);
	kb_zkmeta_refresh_done(b, name);
}

/* A watch for the creation of a partition's state znode: the topic is read again then. */
struct kb_zkmeta_wait {
	struct broker *b;
	char name[KB_TOPIC_MAX + 1];
};

static void kb_zkmeta_state_appeared(int rc, const struct Stat *st, const void *data)
{
	struct kb_zkmeta_wait *c = (struct kb_zkmeta_wait *)(uintptr_t)data;
	(void)st;
	if (rc == ZOK && !c->b->stopping)
		kb_zkmeta_refresh_topic(c->b, c->name);
	free(c);
}

/* .../partitions/<p>/state (kznode_state_decode); one that is not Kafka's counts as absent. */
static void kb_zkmeta_state_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_zkmeta_state_get *g = (struct kb_zkmeta_state_get *)(uintptr_t)data;
	struct kb_zkmeta_topic_load *tl = g->tl;
	struct kb_part *p = &tl->parts[g->part];
	if (rc == ZOK && v) {
		struct kznode_state ks;
		char eb[160];
		int32_t *isr;
		if (kznode_state_decode(v, (size_t)(vl > 0 ? vl : 0), &ks, eb, sizeof(eb))) {
			log_warn(ZM_MOD, "state of %s-%d: %s", tl->name, g->part, eb);
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
		struct kb_zkmeta_wait *c = calloc(1, sizeof(*c));
		if (c) {
			c->b = b;
			snprintf(c->name, sizeof(c->name), "%s", tl->name);
		}
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", tl->name, g->part);
		if (c && zoo_aexists(kb_zk_handle(b->zk), ZP(rel, full), 1, kb_zkmeta_state_appeared, c) != ZOK)
			free(c);
	} else if (rc != ZNONODE) {
		tl->failed = true;
	}
	free(g);
	kb_zkmeta_topic_step_done(tl);
}

/* /config/topics/<t>: {"version":1,"config":{"retention.ms":"1000"}} */
static void kb_zkmeta_topic_config(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_zkmeta_topic_load *tl = (struct kb_zkmeta_topic_load *)(uintptr_t)data;
	(void)st;
	if (rc == ZOK && v && vl > 0) {
		if (kb_dynconf_parse(v, (size_t)vl, &tl->conf, &tl->nconf) == ERR_CORRUPT)
			log_warn(ZM_MOD, "/config/topics/%s is not valid JSON; no overrides for it", tl->name);
	} else if (rc != ZOK && rc != ZNONODE) {
		tl->failed = true;
	}
	kb_zkmeta_topic_step_done(tl);
}

static void kb_zkmeta_topic_assignment(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_zkmeta_topic_load *tl = (struct kb_zkmeta_topic_load *)(uintptr_t)data;
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
			log_warn(ZM_MOD, "/brokers/topics/%s: %s", tl->name, eb);
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
				struct kb_zkmeta_state_get *g = malloc(sizeof(*g));
				if (!g)
					continue;
				g->tl = tl;
				g->part = i;
				snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", tl->name, i);
				tl->pending++;
				if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 1, kb_zkmeta_state_data, g) != ZOK) {
					tl->pending--;
					free(g);
				}
			}
			kb_zk_pump(b->zk);
		}
	}
	kb_zkmeta_topic_step_done(tl);
}

static void kb_zkmeta_topic_load_start(struct broker *b, const char *name)
{
	char rel[512], full[1024];
	struct kb_zkmeta_topic_load *tl = calloc(1, sizeof(*tl));
	if (!tl) {
		kb_zkmeta_refresh_done(b, name); /* forgets it: the next request reads it */
		return;
	}
	tl->b = b;
	snprintf(tl->name, sizeof(tl->name), "%s", name);
	tl->pending = 2;
	snprintf(rel, sizeof(rel), "/config/topics/%s", name);
	if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_zkmeta_topic_config, tl) != ZOK)
		tl->pending--;
	snprintf(rel, sizeof(rel), "/brokers/topics/%s", name);
	if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 1, kb_zkmeta_topic_assignment, tl) != ZOK)
		tl->pending--;
	if (tl->pending == 0) { /* the session is gone: a new one reads every topic */
		free(tl);
		struct kb_zkmeta_refresh **pp = &b->refreshing;
		while (*pp && strcmp((*pp)->name, name))
			pp = &(*pp)->next;
		if (*pp) {
			struct kb_zkmeta_refresh *r = *pp;
			*pp = r->next;
			free(r);
		}
	}
	kb_zk_pump(b->zk);
}

void kb_zkmeta_refresh_topic(struct broker *b, const char *name)
{
	for (struct kb_zkmeta_refresh *r = b->refreshing; r; r = r->next)
		if (!strcmp(r->name, name)) {
			r->again = true;
			return;
		}
	struct kb_zkmeta_refresh *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->next = b->refreshing;
	b->refreshing = r;
	kb_zkmeta_topic_load_start(b, name);
}

static void kb_zkmeta_topics_children(int rc, const struct String_vector *sv, const void *data)
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
			log_info(ZM_MOD, "topic %s was deleted; removing its local logs", t->name);
			kb_events_add(b->events, KB_EV_TOPIC_DELETED, t->name, -1, -1, "topic %s deleted", t->name);
			kcontroller_topic_gone(b->kc, t->name);
			LIST_REMOVE(t, link);
			b->ntopics--;
			/* the replica manager stops the replicas and deletes their logs */
			for (int32_t i = 0; b->rm && i < t->nparts; i++)
				krm_remove(b->rm, t->name, t->parts[i].id, true);
			bool offsets = !strcmp(t->name, KB_OFFSETS_TOPIC);
			bool txnstate = !strcmp(t->name, KB_TXN_STATE_TOPIC);
			int32_t np = t->nparts;
			kb_topic_free(t);
			for (int32_t i = 0; offsets && i < np; i++)
				kb_groups_part_changed(b, i); /* its groups are unloaded */
			for (int32_t i = 0; txnstate && i < np; i++)
				kb_txns_part_changed(b, i); /* its transactional ids are unloaded */
		}
	}
	for (int32_t i = 0; i < sv->count; i++) {
		char why[256];
		if (!kname_topic_valid(sv->data[i], strlen(sv->data[i]), why, sizeof(why)))
			continue;
		if (!kb_topic_find(b, sv->data[i]))
			kb_zkmeta_refresh_topic(b, sv->data[i]);
	}
	kb_wake(b);
}

void kb_zkmeta_refresh_topics(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/brokers/topics", full), 1, kb_zkmeta_topics_children, b);
	kb_zk_pump(b->zk);
}

/* ---- registration ---- */

static void kb_zkmeta_retry_register(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kb_zkmeta_register(arg);
}

static void kb_zkmeta_registered_check(int rc, const char *v, int vl, const struct Stat *st, const void *data)
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
		log_warn(ZM_MOD, "/brokers/ids/%d is held by another session (0x%llx): a broker with this id is running, or "
				 "this broker's previous session has not expired yet; retrying",
			 b->cfg->broker_id, (unsigned long long)(st ? st->ephemeralOwner : 0));
	struct timeval tv = { 1, 0 };
	event_add(b->register_retry, &tv);
}

static void kb_zkmeta_registered(int rc, const char *v, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char rel[64], full[1024];
	(void)v;
	if (b->stopping)
		return;
	snprintf(rel, sizeof(rel), "/brokers/ids/%d", b->cfg->broker_id);
	if (rc == ZOK) {
		b->registered = true;
		log_info(ZM_MOD, "registered as broker %d at %s:%d (control plane port %d)", b->cfg->broker_id,
			 b->adv_host, b->adv_port, kctl_srv_port(b->ctl_srv));
	}
	if (rc == ZOK || rc == ZNODEEXISTS) { /* ours (its czxid is our broker epoch), or whose */
		zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_zkmeta_registered_check, b);
		kb_zk_pump(b->zk);
		return;
	}
	log_warn(ZM_MOD, "registering %s: %s; retrying", rel, zerror(rc));
	struct timeval tv = { 1, 0 };
	event_add(b->register_retry, &tv);
}

void kb_zkmeta_register(struct broker *b)
{
	char *js = NULL, rel[64], full[1024];
	struct kznode_reg_endpoint eps[KB_MAX_LISTENERS];
	for (int i = 0; i < b->n_listen; i++)
		eps[i] = (struct kznode_reg_endpoint){ b->listen[i].l->name, b->listen[i].adv_host, b->listen[i].adv_port,
						       kb_security_name(b->listen[i].l->security) };
	struct kznode_broker_reg reg = { .n_endpoints = b->n_listen,
					 .endpoints = eps,
					 .control_host = b->adv_host,
					 .control_port = kctl_srv_port(b->ctl_srv),
					 .timestamp_ms = kb_now_ms() };
	if (kznode_broker_encode(&reg, &js)) {
		struct timeval tv = { 1, 0 };
		log_warn(ZM_MOD, "out of memory registering; retrying");
		event_add(b->register_retry, &tv);
		return;
	}
	snprintf(rel, sizeof(rel), "/brokers/ids/%d", b->cfg->broker_id);
	zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
		    kb_zkmeta_registered, b);
	free(js);
	kb_zk_pump(b->zk);
}

/* ---- /cluster/id ---- */

static void kb_zkmeta_cluster_id_read(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (rc != ZOK || b->stopping)
		return;
	char id[KZNODE_MAX_ID + 1], eb[160];
	if (kznode_cluster_id_decode(v, (size_t)(vl > 0 ? vl : 0), id, eb, sizeof(eb)))
		log_warn(ZM_MOD, "%s", eb);
	else
		snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", id);
	log_info(ZM_MOD, "cluster id %s", b->cluster_id);
}


void kb_zkmeta_cluster_id(struct broker *b)
{
	/* a new cluster id, base64url of 16 random bytes as Kafka makes it; the first writer wins */
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[16];
	char id[32], *js = NULL, full[1024];
	zhandle_t *zh = kb_zk_handle(b->zk);
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
		zoo_acreate(zh, ZP("/cluster/id", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string,
			    NULL);
	free(js);
	zoo_aget(zh, ZP("/cluster/id", full), 0, kb_zkmeta_cluster_id_read, b);
	kb_zk_pump(b->zk);
}

int kb_zkmeta_start(struct broker *b)
{
	b->register_retry = event_new(b->base, -1, 0, kb_zkmeta_retry_register, b);
	return b->register_retry ? 0 : ERR_NOMEM;
}

void kb_zkmeta_stop(struct broker *b)
{
	if (b->register_retry)
		event_free(b->register_retry);
	b->register_retry = NULL;
	while (b->refreshing) {
		struct kb_zkmeta_refresh *r = b->refreshing;
		b->refreshing = r->next;
		free(r);
	}
}

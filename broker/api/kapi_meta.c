/*
 * kapi_meta — the Metadata handler (see kapi_meta.h): the request and response bytes are
 * kwmeta's; this fills the response from the metadata cache.
 */
#include "kapi_meta.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "klisten.h"
#include "kb_cluster.h"
#include "kb_zkmeta.h"
#include "kname.h"
#include "kout.h"
#include "kwmeta.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

int16_t kapi_meta_part_error(struct broker *b, const struct kb_part *p)
{
	if (p->leader < 0 || !kb_zkmeta_node_live(b, p->leader))
		return KE_LEADER_NOT_AVAILABLE;
	return KE_NONE;
}

/* Fills *mt from topic t: its partitions go to parts, their offline replicas to offline (both
 * with room for all of t's). */
static void kapi_meta_topic(struct broker *b, const struct kb_topic *t, struct kwmeta_topic *mt,
			    struct kwmeta_part *parts, int32_t *offline)
{
	mt->error = KE_NONE;
	mt->name = t->name;
	mt->internal = t->name[0] == '_' && !strcmp(t->name, "__consumer_offsets");
	mt->nparts = t->nparts;
	mt->parts = parts;
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kb_part *p = &t->parts[i];
		struct kwmeta_part *mp = &parts[i];
		mp->error = kapi_meta_part_error(b, p);
		mp->id = p->id;
		mp->leader = mp->error ? -1 : p->leader;
		mp->leader_epoch = p->leader_epoch;
		mp->nrep = p->nrep;
		mp->replicas = p->replicas;
		mp->nisr = p->nisr;
		mp->isr = p->isr;
		mp->offline = offline;
		mp->noff = 0;
		for (int32_t k = 0; k < p->nrep; k++)
			if (!kb_zkmeta_node_live(b, p->replicas[k]))
				offline[mp->noff++] = p->replicas[k];
		offline += p->nrep;
	}
}

static void kapi_meta_missing(struct kwmeta_topic *mt, const char *name, int16_t err)
{
	memset(mt, 0, sizeof(*mt));
	mt->error = err;
	mt->name = name;
}

static void kapi_meta_auto_created(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	char *name = ctx;
	(void)b;
	if (err && err != KE_TOPIC_ALREADY_EXISTS)
		log_warn(API_MOD, "auto-creating topic '%s' failed: %s", name, msg ? msg : "error");
	else if (!err)
		log_info(API_MOD, "auto-created topic '%s'", name);
	free(name);
}

/* The answer for a named topic that is not served: invalid, auto-created (its partitions have
 * no leader yet), or unknown. */
static void kapi_meta_unserved(struct broker *b, const struct kreq *q, const struct kwmeta_req *mq,
			       const struct kwmeta_req_topic *rt, const struct kb_topic *t, struct kwmeta_topic *mt)
{
	char why[128];
	bool autoc = !t && mq->allow_auto && b->cfg->auto_create_topics_enable;
	if (rt->bad || !kname_topic_valid(rt->name, strlen(rt->name), why, sizeof(why))) {
		kapi_meta_missing(mt, rt->name, KE_INVALID_TOPIC_EXCEPTION);
	} else if (!kapi_acl_ok(b, q, KACL_RT_TOPIC, rt->name, KACL_OP_DESCRIBE) ||
		   (autoc && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CREATE) &&
		    !kapi_acl_ok(b, q, KACL_RT_TOPIC, rt->name, KACL_OP_CREATE))) {
		/* Kafka: DESCRIBE to learn of it, CREATE on the cluster or the topic to auto-create it */
		kapi_meta_missing(mt, rt->name, KE_TOPIC_AUTHORIZATION_FAILED);
	} else if (autoc && kb_topic_collisions(b, rt->name, why, sizeof(why))) {
		kapi_meta_missing(mt, rt->name, KE_INVALID_TOPIC_EXCEPTION);
	} else if (autoc) {
		char *ctx = strdup(rt->name);
		if (ctx)
			kb_cluster_create_topic(b, rt->name, b->cfg->num_partitions, b->cfg->default_replication_factor,
						NULL, NULL, 0, kapi_meta_auto_created, ctx);
		kapi_meta_missing(mt, rt->name, KE_LEADER_NOT_AVAILABLE);
	} else {
		kapi_meta_missing(mt, rt->name, KE_UNKNOWN_TOPIC_OR_PARTITION);
	}
}

/* The topic a request names, when it is served. */
static struct kb_topic *kapi_meta_served(struct broker *b, const struct kwmeta_req_topic *rt)
{
	struct kb_topic *t = rt->bad ? NULL : kb_topic_find(b, rt->name);
	return t && !t->deleting ? t : NULL;
}

int kapi_meta_metadata(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kwmeta_req mq;
	struct kwmeta_resp m;
	struct kwmeta_broker *brokers = NULL;
	struct kwmeta_topic *topics = NULL;
	struct kwmeta_part *parts = NULL;
	int32_t *offline = NULL;
	memset(&m, 0, sizeof(m));
	int rc = kwmeta_req_decode(&q->r, q->ver, &mq);
	if (rc)
		goto out;
	/* the sizes first: topics, and the partitions and replicas of those served */
	int32_t ntopics = 0;
	size_t nparts = 0, nreps = 0;
	struct kb_topic *t;
	if (mq.all) {
		LIST_FOREACH(t, &b->topics, link) {
			if (t->deleting)
				continue;
			ntopics++;
			nparts += (size_t)t->nparts;
			for (int32_t i = 0; i < t->nparts; i++)
				nreps += (size_t)t->parts[i].nrep;
		}
	} else {
		ntopics = mq.n;
		for (int32_t k = 0; k < mq.n; k++)
			if ((t = kapi_meta_served(b, &mq.topics[k]))) {
				nparts += (size_t)t->nparts;
				for (int32_t i = 0; i < t->nparts; i++)
					nreps += (size_t)t->parts[i].nrep;
			}
	}
	brokers = calloc((size_t)b->nnodes + 1, sizeof(*brokers));
	topics = calloc((size_t)ntopics + 1, sizeof(*topics));
	parts = calloc(nparts + 1, sizeof(*parts));
	offline = calloc(nreps + 1, sizeof(*offline));
	if (!brokers || !topics || !parts || !offline) {
		rc = ERR_NOMEM;
		goto out;
	}
	/* brokers: this one first when it is not registered (yet) */
	bool self_listed = false;
	for (int32_t i = 0; i < b->nnodes; i++)
		self_listed |= b->nodes[i].id == b->cfg->broker_id;
	if (!self_listed) {
		const struct klisten_ep *le = q->listener >= 0 && q->listener < b->n_listen ? &b->listen[q->listener] : NULL;
		brokers[m.nbrokers++] = (struct kwmeta_broker){ b->cfg->broker_id, le ? le->adv_host : b->adv_host,
								le ? le->adv_port : b->adv_port, NULL };
	}
	/* each broker's endpoint of the listener this client came in on (Kafka leaves out a broker
	 * that has no listener of that name) */
	for (int32_t i = 0; i < b->nnodes; i++) {
		const char *host;
		int32_t port;
		if (klisten_node_endpoint(b, q->listener, &b->nodes[i], &host, &port))
			brokers[m.nbrokers++] = (struct kwmeta_broker){ b->nodes[i].id, host, port, b->nodes[i].rack };
	}
	m.brokers = brokers;
	m.cluster_id = b->cluster_id[0] ? b->cluster_id : NULL;
	m.controller_id = kcontroller_id(b->kc);
	m.topics = topics;
	m.ntopics = ntopics;
	struct kwmeta_part *pn = parts;
	int32_t *on = offline;
	int32_t k = 0;
	if (mq.all) {
		LIST_FOREACH(t, &b->topics, link) {
			/* the topics this principal may not DESCRIBE are left out */
			if (t->deleting || !kapi_acl_ok(b, q, KACL_RT_TOPIC, t->name, KACL_OP_DESCRIBE))
				continue;
			kapi_meta_topic(b, t, &topics[k++], pn, on);
			pn += t->nparts;
			for (int32_t i = 0; i < t->nparts; i++)
				on += t->parts[i].nrep;
		}
	} else {
		for (; k < mq.n; k++) {
			const struct kwmeta_req_topic *rt = &mq.topics[k];
			if ((t = kapi_meta_served(b, rt)) && !kapi_acl_ok(b, q, KACL_RT_TOPIC, rt->name, KACL_OP_DESCRIBE)) {
				kapi_meta_missing(&topics[k], rt->name, KE_TOPIC_AUTHORIZATION_FAILED);
			} else if (t) {
				kapi_meta_topic(b, t, &topics[k], pn, on);
				pn += t->nparts;
				for (int32_t i = 0; i < t->nparts; i++)
					on += t->parts[i].nrep;
			} else {
				kapi_meta_unserved(b, q, &mq, rt, rt->bad ? NULL : kb_topic_find(b, rt->name), &topics[k]);
			}
		}
	}
	m.ntopics = k; /* less when topics were left out */
	kwmeta_resp_encode(&o->w, q->ver, &m);
out:
	kwmeta_req_free(&mq);
	free(brokers);
	free(topics);
	free(parts);
	free(offline);
	return rc;
}

/*
 * kapi_admin — CreateTopics, DeleteTopics, CreatePartitions (see kapi_admin.h).
 *
 * Each request is decoded once, on arrival (kwadmin), into a struct its kwait keeps (w->priv)
 * until it is answered: the first pass validates every topic and starts the writes, the later
 * passes (kapi_retry) read only the decoded request, the results the writes filled in and the
 * broker's metadata.
 */
#include "kapi_admin.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "kb_cluster.h"
#include "kb_zkmeta.h"
#include "kout.h"
#include "kwadmin.h"
#include "kwire.h"
#include "kwait.h"
#include "log.h"
#include "kapi_meta.h"
#include "kname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's bound on a partition's replicas in an explicit assignment (as before: more is an
 * invalid assignment). */
#define KAPI_ADMIN_MAX_RF 64

/* A topic is ready when every partition has a live leader. */
static bool kapi_admin_topic_ready(struct broker *b, const char *name, int32_t nparts)
{
	struct kb_topic *t = kb_topic_find(b, name);
	if (!t || t->deleting || t->nparts < nparts)
		return false;
	for (int32_t i = 0; i < t->nparts; i++)
		if (kapi_meta_part_error(b, &t->parts[i]))
			return false;
	return true;
}

/* The first pass's start shared by the three: the decoded request (already in w->priv) gets
 * its per-topic results and w its deadline. 0 or ERR_NOMEM. */
static int kapi_admin_start(struct kwait *w, int32_t n, int32_t timeout_ms)
{
	if (kwait_results(w, n))
		return ERR_NOMEM;
	w->deadline_ms = kb_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	return 0;
}

/* Room for the answer's n per-topic outcomes (caller frees); NULL without memory. */
static struct kwadmin_tresp *kapi_admin_outcomes(int32_t n)
{
	return calloc((size_t)(n ? n : 1), sizeof(struct kwadmin_tresp));
}

/* ---- CreateTopics ---- */

static void kapi_admin_ct_free(void *p)
{
	kwadmin_ct_req_free(p);
	free(p);
}

/* Whether an explicit assignment is invalid (Kafka's AdminManager): partitions not 0..n-1 in
 * order, replica counts differing or 0 or over KAPI_ADMIN_MAX_RF, a broker not alive, a broker
 * twice in a partition. */
static bool kapi_admin_ct_assign_bad(struct broker *b, const struct kwadmin_ct_topic *t)
{
	int32_t arf = t->nassign > 0 ? t->assign[0].n : 0;
	for (int32_t k = 0; k < t->nassign; k++) {
		const struct kwadmin_assign *a = &t->assign[k];
		if (a->n != arf || a->index != k || a->n > KAPI_ADMIN_MAX_RF || a->n == 0)
			return true;
		for (int32_t j = 0; j < a->n; j++) {
			if (!kb_zkmeta_node_live(b, a->ids[j]))
				return true;
			for (int32_t m = 0; m < j; m++)
				if (a->ids[m] == a->ids[j])
					return true;
		}
	}
	return false;
}

/* Validates topic i of a CreateTopics request as Kafka's AdminManager does and, unless
 * validate_only, starts its coordinator writes; the outcome goes into w's result i. */
static void kapi_admin_ct_topic(struct broker *b, struct kreq *q, struct kwait *w, const struct kwadmin_ct_req *m,
				int32_t i)
{
	const struct kwadmin_ct_topic *t = &m->topics[i];
	const char *name = t->name.name;
	bool bad = t->name.bad;
	int32_t nparts = t->nparts, na = t->nassign;
	int16_t rf = t->rf;
	char why[256];
	char coll[512];
	/* -1: the broker's defaults, in every version (Kafka 2.4's AdminManager does not look at
	 * the version; kafkajs 2.x sends -1 in v3) */
	if (nparts == -1 && na <= 0)
		nparts = b->cfg->num_partitions;
	if (rf == -1 && na <= 0)
		rf = (int16_t)b->cfg->default_replication_factor;
	if (!kcontroller_active(b->kc)) { /* Kafka 2.x: clients send it to the controller */
		kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
	} else if (!bad && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CREATE) &&
		   !kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_CREATE)) {
		kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
	} else if (bad || !kname_topic_valid(name, strlen(name), why, sizeof(why))) {
		kwait_set(w, i, KE_INVALID_TOPIC_EXCEPTION, "%s", bad ? "Topic name is invalid" : why);
	} else if (kb_topic_find(b, name)) {
		kwait_set(w, i, KE_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", name);
	} else if (kb_topic_collisions(b, name, coll, sizeof(coll))) {
		kwait_set(w, i, KE_INVALID_TOPIC_EXCEPTION, "Topic '%s' collides with existing topics: %s", name, coll);
	} else if (na > 0 && (nparts != -1 || rf != -1)) {
		kwait_set(w, i, KE_INVALID_REQUEST,
			  "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
	} else if (na > 0 && kapi_admin_ct_assign_bad(b, t)) {
		kwait_set(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s", name);
	} else if (na <= 0 && nparts <= 0) {
		kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
	} else if (na <= 0 && nparts > KB_MAX_PARTITIONS) {
		kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.", nparts,
			  KB_MAX_PARTITIONS);
	} else if (na <= 0 && rf <= 0) {
		kwait_set(w, i, KE_INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
	} else if (na <= 0 && rf > kb_zkmeta_live_count(b)) { /* before any allocation */
		kwait_set(w, i, KE_INVALID_REPLICATION_FACTOR, "Replication factor: %d larger than available brokers: %d.",
			  rf, kb_zkmeta_live_count(b));
	} else {
		int32_t np = na > 0 ? na : nparts, r2 = na > 0 ? t->assign[0].n : rf;
		int32_t *ids = calloc((size_t)np * (size_t)r2, sizeof(int32_t));
		struct kb_tconf *confs = calloc((size_t)(t->nconf > 0 ? t->nconf : 1), sizeof(*confs));
		int32_t ncv = 0;
		int16_t e = KE_NONE;
		if (!ids || !confs) {
			e = KE_UNKNOWN_SERVER_ERROR;
			snprintf(why, sizeof(why), "Out of memory.");
		} else if (na > 0) {
			for (int32_t k = 0; k < na; k++)
				memcpy(ids + (size_t)k * (size_t)r2, t->assign[k].ids, (size_t)r2 * sizeof(int32_t));
		} else {
			e = kb_cluster_assign(b, 0, np, r2, -1, ids, why, sizeof(why));
		}
		/* entries with a null name or value are left out, as before */
		for (int32_t k = 0; !e && k < t->nconf; k++) {
			if (t->confs[k].name && t->confs[k].value) {
				confs[ncv].name = t->confs[k].name;
				confs[ncv].value = t->confs[k].value;
				ncv++;
			}
		}
		if (e) {
			kwait_set(w, i, e, "%s", why);
		} else {
			struct kb_topic tmp;
			memset(&tmp, 0, sizeof(tmp));
			tmp.name = (char *)name;
			tmp.conf = confs;
			tmp.nconf = ncv;
			int16_t ce = (int16_t)kb_topic_apply_conf(b, &tmp, why, sizeof(why));
			if (ce) {
				kwait_set(w, i, ce, "%s", why);
			} else if (!m->validate_only) {
				void *ctx;
				kb_admin_cb cb = kwait_slot(w, i, &ctx);
				if (cb)
					kb_cluster_create_topic(b, name, np, r2, ids, confs, ncv, cb, ctx);
			}
		}
		free(confs);
		free(ids);
	}
}

int kapi_admin_create_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			     bool final)
{
	struct kwadmin_ct_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = kapi_admin_ct_free;
		int rc = kwadmin_ct_req_decode(&q->r, q->ver, m);
		if (!rc)
			rc = kapi_admin_start(w, m->n, m->timeout_ms);
		if (rc)
			return rc;
		for (int32_t i = 0; i < m->n; i++)
			kapi_admin_ct_topic(b, q, w, m, i);
		return 1;
	}
	if (w->pending)
		return 1;
	bool wait = !m->validate_only && m->timeout_ms > 0;
	if (!final && wait) {
		for (int32_t i = 0; i < m->n; i++) {
			const struct kwadmin_ct_topic *t = &m->topics[i];
			if (w->errs[i] == KE_NONE && !kapi_admin_topic_ready(b, t->name.name, t->nparts > 0 ? t->nparts : 1))
				return 1;
		}
	}
	struct kwadmin_tresp *tr = kapi_admin_outcomes(m->n);
	if (!tr)
		return ERR_NOMEM;
	for (int32_t i = 0; i < m->n; i++) {
		tr[i].name = m->topics[i].name.name;
		tr[i].error = w->errs[i];
		tr[i].message = w->msgs[i];
		if (!tr[i].error && wait && !kapi_admin_topic_ready(b, tr[i].name, 1)) {
			tr[i].error = KE_REQUEST_TIMED_OUT;
			tr[i].message = "Operation timed out";
		}
		if (!tr[i].error)
			tr[i].message = NULL;
	}
	struct kwadmin_resp resp = { .throttle_ms = 0, .n = m->n, .topics = tr };
	kwadmin_ct_resp_encode(&o->w, q->ver, &resp);
	free(tr);
	return 0;
}

/* ---- DeleteTopics ---- */

static void kapi_admin_dt_free(void *p)
{
	kwadmin_dt_req_free(p);
	free(p);
}

int kapi_admin_delete_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			     bool final)
{
	struct kwadmin_dt_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = kapi_admin_dt_free;
		int rc = kwadmin_dt_req_decode(&q->r, q->ver, m);
		if (!rc)
			rc = kapi_admin_start(w, m->n, m->timeout_ms);
		if (rc)
			return rc;
		for (int32_t i = 0; i < m->n; i++) {
			const char *name = m->topics[i].name;
			bool bad = m->topics[i].bad;
			struct kb_topic *t = bad ? NULL : kb_topic_find(b, name);
			if (!kcontroller_active(b->kc)) { /* Kafka 2.x: clients send it to the controller */
				kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
			} else if (!bad && !kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_DELETE)) {
				kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
			} else if (!t) {
				kwait_set(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, NULL);
			} else if (!b->cfg->delete_topic_enable) {
				kwait_set(w, i, KE_TOPIC_DELETION_DISABLED, NULL);
			} else {
				void *ctx;
				kb_admin_cb cb = kwait_slot(w, i, &ctx);
				if (cb)
					kb_cluster_delete_topic(b, name, cb, ctx);
			}
		}
		return 1;
	}
	if (w->pending)
		return 1;
	if (!final) {
		for (int32_t i = 0; i < m->n; i++)
			if (!w->errs[i] && !m->topics[i].bad && kb_topic_find(b, m->topics[i].name))
				return 1; /* not gone yet */
	}
	struct kwadmin_tresp *tr = kapi_admin_outcomes(m->n);
	if (!tr)
		return ERR_NOMEM;
	for (int32_t i = 0; i < m->n; i++) {
		tr[i].name = m->topics[i].name;
		tr[i].error = w->errs[i];
		if (!tr[i].error && kb_topic_find(b, tr[i].name))
			tr[i].error = KE_REQUEST_TIMED_OUT;
	}
	struct kwadmin_resp resp = { .throttle_ms = 0, .n = m->n, .topics = tr };
	kwadmin_dt_resp_encode(&o->w, q->ver, &resp);
	free(tr);
	return 0;
}

/* ---- CreatePartitions ---- */

static void kapi_admin_cp_free(void *p)
{
	kwadmin_cp_req_free(p);
	free(p);
}

/* Validates topic i of a CreatePartitions request and, unless validate_only, starts its
 * coordinator writes; the outcome goes into w's result i. */
static void kapi_admin_cp_topic(struct broker *b, struct kwait *w, const struct kwadmin_cp_req *m, int32_t i)
{
	const struct kwadmin_cp_topic *ct = &m->topics[i];
	const char *name = ct->name.name;
	int32_t count = ct->count, na = ct->nassign;
	struct kb_topic *t = ct->name.bad ? NULL : kb_topic_find(b, name);
	int32_t rf = t && t->nparts ? t->parts[0].nrep : 1;
	bool assign_bad = false;
	for (int32_t k = 0; k < na; k++) {
		if (ct->assign[k].n != rf)
			assign_bad = true;
		for (int32_t j = 0; j < ct->assign[k].n; j++)
			if (!kb_zkmeta_node_live(b, ct->assign[k].ids[j]))
				assign_bad = true;
	}
	if (!kcontroller_active(b->kc)) { /* Kafka 2.x: clients send it to the controller */
		kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
	} else if (!t || t->deleting) {
		kwait_set(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", name);
	} else if (count > KB_MAX_PARTITIONS) {
		kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.", count,
			  KB_MAX_PARTITIONS);
	} else if (count <= t->nparts) {
		kwait_set(w, i, KE_INVALID_PARTITIONS,
			  "Topic currently has %d partitions, which is higher than the requested %d.", t->nparts, count);
	} else if (na > 0 && (na != count - t->nparts || assign_bad)) {
		kwait_set(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s", name);
	} else if (!m->validate_only) {
		int32_t *ids = NULL;
		if (na > 0) {
			ids = calloc((size_t)na * (size_t)rf, sizeof(int32_t));
			if (!ids) {
				kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "Out of memory.");
				return;
			}
			for (int32_t k = 0; k < na; k++)
				memcpy(ids + (size_t)k * (size_t)rf, ct->assign[k].ids, (size_t)rf * sizeof(int32_t));
		}
		void *ctx;
		kb_admin_cb cb = kwait_slot(w, i, &ctx);
		if (cb)
			kb_cluster_add_partitions(b, t, count, ids, cb, ctx);
		free(ids);
	}
}

int kapi_admin_create_partitions(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
				 bool final)
{
	struct kwadmin_cp_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = kapi_admin_cp_free;
		int rc = kwadmin_cp_req_decode(&q->r, q->ver, m);
		if (!rc)
			rc = kapi_admin_start(w, m->n, m->timeout_ms);
		if (rc)
			return rc;
		for (int32_t i = 0; i < m->n; i++)
			kapi_admin_cp_topic(b, w, m, i);
		return 1;
	}
	if (w->pending)
		return 1;
	bool wait = !m->validate_only && m->timeout_ms > 0;
	if (!final && wait) {
		for (int32_t i = 0; i < m->n; i++)
			if (!w->errs[i] && !kapi_admin_topic_ready(b, m->topics[i].name.name, m->topics[i].count))
				return 1;
	}
	struct kwadmin_tresp *tr = kapi_admin_outcomes(m->n);
	if (!tr)
		return ERR_NOMEM;
	for (int32_t i = 0; i < m->n; i++) {
		tr[i].name = m->topics[i].name.name;
		tr[i].error = w->errs[i];
		tr[i].message = w->msgs[i];
		if (!tr[i].error && wait && !kapi_admin_topic_ready(b, tr[i].name, m->topics[i].count)) {
			tr[i].error = KE_REQUEST_TIMED_OUT;
			tr[i].message = "Operation timed out";
		}
		if (!tr[i].error)
			tr[i].message = NULL;
	}
	struct kwadmin_resp resp = { .throttle_ms = 0, .n = m->n, .topics = tr };
	kwadmin_cp_resp_encode(&o->w, q->ver, &resp);
	free(tr);
	return 0;
}

/*
 * kapi_admin — CreateTopics, DeleteTopics, CreatePartitions (see kapi_admin.h).
 */
#include "kapi_admin.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kb_zkmeta.h"
#include "kout.h"
#include "kwire.h"
#include "kwait.h"
#include "log.h"
#include "kapi_meta.h"
#include "kname.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * The admin requests are parsed twice: once on arrival (validating and issuing the writes,
 * first = true) and again from the saved copy when answering (first = false), so that the
 * answer can say which topics are ready.
 */
/* The start every admin request shares: the topic count, the per-topic results on the first
 * pass, and "not yet" while its coordinator writes are out. 0 with *nt, 1 to wait, or < 0. */
int kapi_admin_begin(struct kreq *q, struct kwait *w, bool first, size_t min_elem, int32_t *nt)
{
	struct rbuf *r = &q->r;
	*nt = kwire_count_read(r, min_elem);
	if (r->err || *nt < 0)
		return ERR_PROTO;
	if (first && kwait_results(w, *nt))
		return ERR_NOMEM;
	if (!first && w->pending)
		return 1;
	return 0;
}

int kapi_admin_create_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = kapi_admin_begin(q, w, first, 12, &nt);
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
		kwire_str_read(&scan, nm, sizeof(nm), NULL);
		rbuf_i32(&scan, &x);
		rbuf_i16(&scan, &y);
		int32_t na = kwire_count_read(&scan, 8);
		for (int32_t k = 0; k < na && !scan.err; k++) {
			rbuf_i32(&scan, &x);
			int32_t nb = kwire_count_read(&scan, 4);
			rbuf_skip(&scan, (size_t)(nb > 0 ? nb : 0) * 4);
		}
		int32_t nc = kwire_count_read(&scan, 4);
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
		int bad = kwire_str_read(r, names[i], sizeof(names[i]), NULL);
		int32_t nparts;
		int16_t rf;
		rbuf_i32(r, &nparts);
		rbuf_i16(r, &rf);
		int32_t na = kwire_count_read(r, 8);
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
			int32_t nb = kwire_count_read(r, 4);
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
					if (!kb_zkmeta_node_live(b, id))
						assign_bad = true;
					for (int32_t m = 0; m < j && m < arf; m++)
						if (assign[k * arf + m] == id)
							assign_bad = true;
				}
			}
		}
		if (rc)
			break;
		int32_t nc = kwire_count_read(r, 4);
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
			    !kapi_admin_topic_ready(b, names[i], nparts > 0 ? nparts : 1))
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
				kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
			} else if (!bad && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CREATE) &&
				   !kapi_acl_ok(b, q, KACL_RT_TOPIC, names[i], KACL_OP_CREATE)) {
				kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
			} else if (bad || !kname_topic_valid(names[i], strlen(names[i]), why, sizeof(why))) {
				kwait_set(w, i, KE_INVALID_TOPIC_EXCEPTION, "%s", bad ? "Topic name is invalid" : why);
			} else if (kb_topic_find(b, names[i])) {
				kwait_set(w, i, KE_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", names[i]);
			} else if (kb_topic_collisions(b, names[i], coll, sizeof(coll))) {
				kwait_set(w, i, KE_INVALID_TOPIC_EXCEPTION, "Topic '%s' collides with existing topics: %s",
					   names[i], coll);
			} else if (na > 0 && (nparts != -1 || rf != -1)) {
				kwait_set(w, i, KE_INVALID_REQUEST,
					   "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
			} else if (na > 0 && assign_bad) {
				kwait_set(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s",
					   names[i]);
			} else if (na <= 0 && nparts <= 0) {
				kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
			} else if (na <= 0 && nparts > KB_MAX_PARTITIONS) {
				kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.",
					   nparts, KB_MAX_PARTITIONS);
			} else if (na <= 0 && rf <= 0) {
				kwait_set(w, i, KE_INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
			} else if (na <= 0 && rf > kb_zkmeta_live_count(b)) { /* before any allocation */
				kwait_set(w, i, KE_INVALID_REPLICATION_FACTOR,
					   "Replication factor: %d larger than available brokers: %d.", rf,
					   kb_zkmeta_live_count(b));
			} else {
				int32_t np = na > 0 ? na : nparts, r2 = na > 0 ? arf : rf;
				int32_t *ids = na > 0 ? assign : calloc((size_t)np * (size_t)r2, sizeof(int32_t));
				int16_t e = ids ? KE_NONE : KE_UNKNOWN_SERVER_ERROR;
				if (!e && na <= 0)
					e = kb_cluster_assign(b, 0, np, r2, -1, ids, why, sizeof(why));
				if (e) {
					kwait_set(w, i, e, "%s", why);
				} else {
					struct kb_topic tmp;
					memset(&tmp, 0, sizeof(tmp));
					tmp.name = names[i];
					tmp.conf = confs;
					tmp.nconf = ncv;
					int16_t ce = (int16_t)kb_topic_apply_conf(b, &tmp, why, sizeof(why));
					if (ce) {
						kwait_set(w, i, ce, "%s", why);
					} else if (!validate_only) {
						void *ctx;
						kb_admin_cb cb = kwait_slot(w, i, &ctx);
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
		if (!e && !validate_only && timeout > 0 && !kapi_admin_topic_ready(b, names[i], 1)) {
			e = KE_REQUEST_TIMED_OUT;
			m = "Operation timed out";
		}
		wbuf_str_i16(wb, names[i]);
		wbuf_i16(wb, e);
		if (q->ver >= 1)
			wbuf_str_i16(wb, e ? m : NULL);
	}
	free(names);
	return 0;
}

int kapi_admin_delete_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = kapi_admin_begin(q, w, first, 2, &nt);
	if (brc)
		return brc;
	char (*names)[KB_TOPIC_MAX + 2] = calloc((size_t)(nt ? nt : 1), sizeof(*names));
	if (!names)
		return ERR_NOMEM;
	bool done = true;
	for (int32_t i = 0; i < nt; i++) {
		int bad = kwire_str_read(r, names[i], sizeof(names[i]), NULL);
		if (r->err)
			break;
		struct kb_topic *t = bad ? NULL : kb_topic_find(b, names[i]);
		if (first) {
			if (!b->is_controller) { /* Kafka 2.x: clients send it to the controller */
				kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
			} else if (!bad && !kapi_acl_ok(b, q, KACL_RT_TOPIC, names[i], KACL_OP_DELETE)) {
				kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
			} else if (!t) {
				kwait_set(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, NULL);
			} else if (!b->cfg->delete_topic_enable) {
				kwait_set(w, i, KE_TOPIC_DELETION_DISABLED, NULL);
			} else {
				void *ctx;
				kb_admin_cb cb = kwait_slot(w, i, &ctx);
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
		wbuf_str_i16(wb, names[i]);
		wbuf_i16(wb, e);
	}
	free(names);
	return 0;
}

int kapi_admin_create_partitions(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w,
				   bool first, bool final)
{
	struct rbuf *r = &q->r;
	int32_t nt;
	int brc = kapi_admin_begin(q, w, first, 10, &nt);
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
		kwire_str_read(&scan, nm, sizeof(nm), NULL);
		rbuf_i32(&scan, &x);
		int32_t na = kwire_count_read(&scan, 4);
		for (int32_t k = 0; k < na && !scan.err; k++) {
			int32_t nb = kwire_count_read(&scan, 4);
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
		int bad = kwire_str_read(r, names[i], sizeof(names[i]), NULL);
		rbuf_i32(r, &counts[i]);
		int32_t na = kwire_count_read(r, 4);
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
			int32_t nb = kwire_count_read(r, 4);
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
				if (!kb_zkmeta_node_live(b, id))
					assign_bad = true;
			}
		}
		if (rc) {
			free(ids);
			break;
		}
		if (!first) {
			if (!w->errs[i] && !validate_only && timeout > 0 && !kapi_admin_topic_ready(b, names[i], counts[i]))
				ready = false;
		} else if (!b->is_controller) { /* Kafka 2.x: clients send it to the controller */
			kwait_set(w, i, KE_NOT_CONTROLLER, NULL);
		} else if (!t || t->deleting) {
			kwait_set(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", names[i]);
		} else if (counts[i] > KB_MAX_PARTITIONS) {
			kwait_set(w, i, KE_INVALID_PARTITIONS, "Number of partitions %d is over the limit of %d.",
				   counts[i], KB_MAX_PARTITIONS);
		} else if (counts[i] <= t->nparts) {
			kwait_set(w, i, KE_INVALID_PARTITIONS,
				   "Topic currently has %d partitions, which is higher than the requested %d.", t->nparts,
				   counts[i]);
		} else if (na > 0 && (na != counts[i] - t->nparts || assign_bad)) {
			kwait_set(w, i, KE_INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment for topic %s",
				   names[i]);
		} else if (!validate_only) {
			void *ctx;
			kb_admin_cb cb = kwait_slot(w, i, &ctx);
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
		if (!e && !validate_only && timeout > 0 && !kapi_admin_topic_ready(b, names[i], counts[i])) {
			e = KE_REQUEST_TIMED_OUT;
			m = "Operation timed out";
		}
		wbuf_str_i16(wb, names[i]);
		wbuf_i16(wb, e);
		wbuf_str_i16(wb, e ? m : NULL);
	}
	free(names);
	free(counts);
	return 0;
}

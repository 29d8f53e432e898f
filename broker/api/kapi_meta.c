/*
 * kapi_meta — the Metadata handler (see kapi_meta.h).
 */
#include "kapi_meta.h"

#include "buf.h"
#include "err.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kb_zkmeta.h"
#include "kout.h"
#include "log.h"
#include "kname.h"

#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

/* ---- Metadata ---- */

int16_t kapi_meta_part_error(struct broker *b, const struct kb_part *p)
{
	if (p->leader < 0 || !kb_zkmeta_node_live(b, p->leader))
		return KE_LEADER_NOT_AVAILABLE;
	return KE_NONE;
}

static void meta_topic(struct broker *b, struct wbuf *w, int16_t ver, const struct kb_topic *t)
{
	wbuf_i16(w, KE_NONE);
	wbuf_str_i16(w, t->name);
	if (ver >= 1)
		wbuf_bool(w, t->name[0] == '_' && !strcmp(t->name, "__consumer_offsets"));
	wbuf_i32(w, t->nparts);
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kb_part *p = &t->parts[i];
		int16_t e = kapi_meta_part_error(b, p);
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
				off += !kb_zkmeta_node_live(b, p->replicas[k]);
			wbuf_i32(w, off);
			for (int32_t k = 0; k < p->nrep; k++)
				if (!kb_zkmeta_node_live(b, p->replicas[k]))
					wbuf_i32(w, p->replicas[k]);
		}
	}
	if (ver >= 8)
		wbuf_i32(w, INT32_MIN); /* topic_authorized_operations: not asked */
}

static void meta_missing(struct wbuf *w, int16_t ver, const char *name, int16_t err)
{
	wbuf_i16(w, err);
	wbuf_str_i16(w, name);
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

int kapi_meta_metadata(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t n = kapi_count_read(r, 2);
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
			bad[i] = kapi_str_read(r, names[i], sizeof(names[i]), NULL) != 0;
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
		wbuf_str_i16(w, b->adv_host);
		wbuf_i32(w, b->adv_port);
		if (q->ver >= 1)
			wbuf_str_i16(w, NULL);
	}
	for (int32_t i = 0; i < nn; i++) {
		wbuf_i32(w, b->nodes[i].id);
		wbuf_str_i16(w, b->nodes[i].host);
		wbuf_i32(w, b->nodes[i].port);
		if (q->ver >= 1)
			wbuf_str_i16(w, b->nodes[i].rack);
	}
	if (q->ver >= 2)
		wbuf_str_i16(w, b->cluster_id[0] ? b->cluster_id : NULL);
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

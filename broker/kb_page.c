/*
 * kb_page — the live cluster page and its JSON (see kb_page.h). The JSON is written from the
 * metadata cache as it stands (b->nodes, b->topics), the controller as last read from the
 * coordinator, the ensemble prober's last results and the event ring; nothing waits.
 */
#include "kb_page.h"

#include "err.h"
#include "http.h"
#include "jsonw.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "kb_ens.h"
#include "kb_events.h"
#include "kb_groups.h"
#include "kb_zk.h"
#include "kb_zkmeta.h"
#include "kgroup.h"
#include "kznode.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* kb_page.html, made into a C array at build time (kb_page_embed.py) */
extern const char kb_page_html[];
extern const size_t kb_page_html_len;

struct kb_page {
	struct broker *b;
	struct kb_ens *ens;
	struct event *timer;
	int64_t last_view_ms; /* monotonic: the page or its JSON was last asked for */
	int32_t ctrl_id;      /* /controller as last read; -1 none */
	int32_t ctrl_epoch;   /* /controller_epoch as last read; -1 unknown */
};

static int64_t kb_page_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t kb_page_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the controller, read from the coordinator each round ---- */

static void kb_page_ctrl_epoch(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (rc != ZOK || b->stopping || !b->page)
		return;
	char eb[160];
	int32_t epoch;
	if (kznode_epoch_decode(v, (size_t)(vl > 0 ? vl : 0), &epoch, eb, sizeof(eb)))
		return;
	b->page->ctrl_epoch = epoch;
	/* /controller was answered before (the client answers in order): its holder won epoch */
	kb_events_controller(b->events, b->page->ctrl_id, epoch);
}

static void kb_page_ctrl_id(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (b->stopping || !b->page)
		return;
	char eb[160];
	int32_t id = -1;
	if (rc != ZOK || kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)))
		id = -1;
	b->page->ctrl_id = id;
}

static void kb_page_round(evutil_socket_t fd, short what, void *arg)
{
	struct kb_page *pg = arg;
	struct broker *b = pg->b;
	(void)fd;
	(void)what;
	if (b->stopping)
		return;
	kb_ens_poll(pg->ens);
	if (b->zk && kb_zk_connected(b->zk)) {
		char full[1024];
		zhandle_t *zh = kb_zk_handle(b->zk);
		zoo_aget(zh, kb_zk_path(b->zk, "/controller", full, sizeof(full)), 0, kb_page_ctrl_id, b);
		zoo_aget(zh, kb_zk_path(b->zk, "/controller_epoch", full, sizeof(full)), 0, kb_page_ctrl_epoch, b);
		kb_zk_pump(b->zk);
	}
	int64_t ms = kb_page_mono_ms() - pg->last_view_ms < KB_PAGE_ACTIVE_MS ? 1000 : KB_PAGE_IDLE_MS;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(pg->timer, &tv);
}

/* ---- /api/cluster ---- */

static void kb_page_ints(struct jsonw *w, const int32_t *v, int32_t n)
{
	jsonw_arr_begin(w);
	for (int32_t i = 0; i < n; i++)
		jsonw_int(w, v[i]);
	jsonw_arr_end(w);
}

static int kb_page_cmp_int(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int kb_page_cmp_topic(const void *a, const void *b)
{
	const struct kb_topic *x = *(const struct kb_topic *const *)a, *y = *(const struct kb_topic *const *)b;
	return strcmp(x->name, y->name);
}

/* Adds id to ids[0..*n) (capacity cap) unless there. */
static void kb_page_add_id(int32_t *ids, size_t *n, size_t cap, int32_t id)
{
	if (id < 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	if (*n < cap)
		ids[(*n)++] = id;
}

static void kb_page_brokers(struct broker *b, struct jsonw *w)
{
	size_t cap = (size_t)b->nnodes + kb_events_brokers_count(b->events) + 1 + 64, n = 0;
	int32_t *ids = malloc(cap * sizeof(*ids));
	jsonw_arr_begin(w);
	if (!ids) {
		jsonw_arr_end(w);
		return;
	}
	kb_page_add_id(ids, &n, cap, b->cfg->broker_id);
	for (int32_t i = 0; i < b->nnodes; i++)
		kb_page_add_id(ids, &n, cap, b->nodes[i].id);
	for (uint32_t i = 0; i < kb_events_brokers_count(b->events); i++)
		kb_page_add_id(ids, &n, cap, kb_events_broker_get(b->events, i)->id);
	struct kb_topic *t; /* replicas assigned to brokers never seen (64 of them at most) */
	LIST_FOREACH(t, &b->topics, link)
		for (int32_t i = 0; i < t->nparts; i++)
			for (int32_t r = 0; r < t->parts[i].nrep; r++)
				kb_page_add_id(ids, &n, cap, t->parts[i].replicas[r]);
	qsort(ids, n, sizeof(*ids), kb_page_cmp_int);
	for (size_t i = 0; i < n; i++) {
		const struct kb_node *nd = NULL;
		for (int32_t k = 0; k < b->nnodes && !nd; k++)
			if (b->nodes[k].id == ids[i])
				nd = &b->nodes[k];
		const struct kb_events_broker *seen = NULL;
		for (uint32_t k = 0; !nd && k < kb_events_brokers_count(b->events) && !seen; k++)
			if (kb_events_broker_get(b->events, k)->id == ids[i])
				seen = kb_events_broker_get(b->events, k);
		bool self = ids[i] == b->cfg->broker_id;
		jsonw_obj_begin(w);
		jsonw_key(w, "id");
		jsonw_int(w, ids[i]);
		jsonw_key(w, "host");
		jsonw_str(w, nd ? nd->host : seen ? seen->host : self ? b->adv_host : NULL);
		jsonw_key(w, "port");
		jsonw_int(w, nd ? nd->port : seen ? seen->port : self ? b->adv_port : -1);
		jsonw_key(w, "rack");
		jsonw_str(w, nd ? nd->rack : NULL);
		jsonw_key(w, "alive");
		jsonw_bool(w, nd != NULL || (self && b->registered));
		jsonw_key(w, "controller");
		jsonw_bool(w, ids[i] == kcontroller_id(b->kc));
		jsonw_key(w, "this");
		jsonw_bool(w, self);
		jsonw_obj_end(w);
	}
	free(ids);
	jsonw_arr_end(w);
}

static void kb_page_topics(struct broker *b, struct jsonw *w)
{
	struct kb_topic **ts = malloc(((size_t)b->ntopics + 1) * sizeof(*ts)), *t;
	size_t n = 0;
	jsonw_arr_begin(w);
	if (!ts) {
		jsonw_arr_end(w);
		return;
	}
	LIST_FOREACH(t, &b->topics, link)
		if (n < (size_t)b->ntopics + 1)
			ts[n++] = t;
	qsort(ts, n, sizeof(*ts), kb_page_cmp_topic);
	for (size_t k = 0; k < n; k++) {
		t = ts[k];
		jsonw_obj_begin(w);
		jsonw_key(w, "name");
		jsonw_str(w, t->name);
		jsonw_key(w, "internal"); /* Kafka's internal topics */
		jsonw_bool(w, !strcmp(t->name, KB_OFFSETS_TOPIC) || !strcmp(t->name, "__transaction_state"));
		jsonw_key(w, "deleting");
		jsonw_bool(w, t->deleting);
		jsonw_key(w, "partitions");
		jsonw_arr_begin(w);
		for (int32_t i = 0; i < t->nparts; i++) {
			const struct kb_part *p = &t->parts[i];
			jsonw_obj_begin(w);
			jsonw_key(w, "partition");
			jsonw_int(w, p->id);
			jsonw_key(w, "leader");
			jsonw_int(w, p->leader);
			jsonw_key(w, "leader_epoch");
			jsonw_int(w, p->state_version >= 0 ? p->leader_epoch : -1);
			jsonw_key(w, "replicas");
			kb_page_ints(w, p->replicas, p->nrep);
			jsonw_key(w, "isr");
			kb_page_ints(w, p->isr, p->nisr);
			jsonw_key(w, "under_replicated");
			jsonw_bool(w, p->nisr < p->nrep);
			jsonw_key(w, "offline");
			jsonw_bool(w, p->leader < 0 || !kb_zkmeta_node_live(b, p->leader));
			jsonw_obj_end(w);
		}
		jsonw_arr_end(w);
		jsonw_obj_end(w);
	}
	free(ts);
	jsonw_arr_end(w);
}

/* ---- consumer groups: those this broker coordinates ---- */

struct kb_page_group_walk {
	struct broker *b;
	struct jsonw *w;
	int64_t lag;
	int32_t parts, unknown;
};

/* One committed offset: its lag against the high watermark of the local replica, when this
 * broker hosts the partition (else the lag of that partition is not known here). */
static void kb_page_group_offset(void *arg, const char *topic, int32_t part, int64_t offset)
{
	struct kb_page_group_walk *gw = arg;
	int64_t hw = gw->b->rm ? krm_high_watermark(gw->b->rm, topic, part) : -1;
	gw->parts++;
	if (hw < 0 || offset < 0)
		gw->unknown++;
	else if (hw > offset)
		gw->lag += hw - offset;
}

static void kb_page_group(void *arg, const struct kgroup_info *gi)
{
	struct kb_page_group_walk *gw = arg;
	struct jsonw *w = gw->w;
	gw->lag = 0;
	gw->parts = gw->unknown = 0;
	kgroups_offsets(kb_groups_core(gw->b), gi->group, kb_page_group_offset, gw);
	jsonw_obj_begin(w);
	jsonw_key(w, "group");
	jsonw_str(w, gi->group);
	jsonw_key(w, "state");
	jsonw_str(w, gi->state);
	jsonw_key(w, "protocol_type");
	jsonw_str(w, gi->protocol_type);
	jsonw_key(w, "generation");
	jsonw_int(w, gi->generation);
	jsonw_key(w, "members");
	jsonw_int(w, gi->members);
	jsonw_key(w, "coordinator");
	jsonw_int(w, gw->b->cfg->broker_id);
	jsonw_key(w, "partitions");
	jsonw_int(w, gw->parts);
	jsonw_key(w, "lag");
	jsonw_int(w, gw->lag);
	jsonw_key(w, "lag_unknown_partitions");
	jsonw_int(w, gw->unknown);
	jsonw_obj_end(w);
}

static void kb_page_groups(struct broker *b, struct jsonw *w)
{
	struct kb_page_group_walk gw = { .b = b, .w = w };
	jsonw_arr_begin(w);
	if (kb_groups_core(b))
		kgroups_each(kb_groups_core(b), kb_page_group, &gw);
	jsonw_arr_end(w);
}

void kb_page_json(struct broker *b, struct evbuffer *out)
{
	struct kb_page *pg = b->page;
	struct jsonw jw, *w = &jw;
	jsonw_init(w, out);
	jsonw_obj_begin(w);
	jsonw_key(w, "broker");
	jsonw_int(w, b->cfg->broker_id);
	jsonw_key(w, "cluster_id");
	jsonw_str(w, b->cluster_id[0] ? b->cluster_id : NULL);
	jsonw_key(w, "generated_ms");
	jsonw_int(w, kb_page_wall_ms());
	jsonw_key(w, "coordinator_session");
	jsonw_str(w, b->zk && kb_zk_connected(b->zk) ? "connected" : "disconnected");
	jsonw_key(w, "ensemble");
	kb_ens_json(pg ? pg->ens : NULL, w);
	jsonw_key(w, "controller");
	jsonw_obj_begin(w);
	jsonw_key(w, "id");
	jsonw_int(w, kcontroller_id(b->kc));
	jsonw_key(w, "epoch");
	jsonw_int(w, pg && pg->ctrl_epoch >= 0 ? pg->ctrl_epoch : kcontroller_epoch(b->kc));
	jsonw_obj_end(w);
	jsonw_key(w, "brokers");
	kb_page_brokers(b, w);
	jsonw_key(w, "topics");
	kb_page_topics(b, w);
	jsonw_key(w, "groups");
	kb_page_groups(b, w);
	jsonw_key(w, "groups_available");
	jsonw_bool(w, kb_groups_core(b) != NULL);
	jsonw_key(w, "events");
	kb_events_json(b->events, w);
	jsonw_obj_end(w);
	if (jsonw_finish(w))
		log_warn("page", "out of memory writing /api/cluster");
}

static void kb_page_viewed(struct kb_page *pg)
{
	bool idle = kb_page_mono_ms() - pg->last_view_ms >= KB_PAGE_ACTIVE_MS;
	pg->last_view_ms = kb_page_mono_ms();
	if (idle) { /* someone started watching: the next round at once, then every second */
		struct timeval tv = { 0, 0 };
		evtimer_add(pg->timer, &tv);
	}
}

static void kb_page_serve_json(const char *path, struct http_reply *reply, void *arg)
{
	struct broker *b = arg;
	(void)path;
	if (b->page)
		kb_page_viewed(b->page);
	kb_page_json(b, reply->body);
	reply->status = 200;
	reply->content_type = "application/json";
}

static void kb_page_serve_html(const char *path, struct http_reply *reply, void *arg)
{
	struct broker *b = arg;
	(void)path;
	if (b->page)
		kb_page_viewed(b->page);
	evbuffer_add_reference(reply->body, kb_page_html, kb_page_html_len, NULL, NULL);
	reply->status = 200;
	reply->content_type = "text/html; charset=utf-8";
}

int kb_page_start(struct broker *b, struct http_server *hs, char *eb, size_t el)
{
	if (!hs)
		return 0;
	struct kb_page *pg = calloc(1, sizeof(*pg));
	if (!pg)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	pg->b = b;
	pg->ctrl_id = -1;
	pg->ctrl_epoch = -1;
	pg->last_view_ms = kb_page_mono_ms() - KB_PAGE_ACTIVE_MS;
	b->page = pg;
	b->events = kb_events_new();
	pg->timer = evtimer_new(b->base, kb_page_round, pg);
	if (!b->events || !pg->timer) {
		kb_page_stop(b);
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	}
	char why[256];
	pg->ens = kb_ens_new(b->base, b->cfg->zookeeper_connect, b->events, why, sizeof(why));
	if (!pg->ens) {
		kb_page_stop(b);
		return err_set(eb, el, ERR_CONFIG, "%s", why);
	}
	if (http_server_route(hs, "/", false, kb_page_serve_html, b) ||
	    http_server_route(hs, "/api/cluster", false, kb_page_serve_json, b)) {
		kb_page_stop(b);
		return err_set(eb, el, ERR_NOMEM, "cannot route / and /api/cluster");
	}
	struct timeval tv = { 0, 0 };
	evtimer_add(pg->timer, &tv);
	return 0;
}

void kb_page_stop(struct broker *b)
{
	struct kb_page *pg = b->page;
	if (pg) {
		if (pg->timer)
			event_free(pg->timer);
		kb_ens_free(pg->ens);
		free(pg);
	}
	b->page = NULL;
	kb_events_free(b->events);
	b->events = NULL;
}

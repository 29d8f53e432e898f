/*
 * fuzz_kafka_req — the broker's Kafka request decoder and handlers (broker/api) under arbitrary
 * request frames. A broker with one topic "t" of two partitions it leads (hosted by the replica
 * manager: real klog directories in a
 * temporary folder, no coordinator: admin writes fail as "coordinator unreachable") gets the
 * input as one request frame on a connection over a bufferevent pair; waiting requests are
 * then answered at their deadline, and the connection is closed. The first two bytes of the
 * input pick the API key and version from the supported ranges so that most inputs reach the
 * body decoders; the rest is the request after its header. The broker also leads the one
 * partition of __consumer_offsets with its group coordinator started (kb_groups), so that the
 * group APIs reach the coordinator's core; what the core holds when the connection closes is
 * orphaned, ticked, and answered when the coordinator stops at exit.
 */
#include "err.h"
#include "kapi_group.h"
#include "kapi_fetch.h"
#include "kb_broker.h"
#include "kb_groups.h"
#include "kconn.h"
#include "kgroup.h"
#include "kwait.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct broker fz_b;
static struct kb_config fz_cfg;
static struct kb_topic *fz_t;
static struct bufferevent *fz_pair[2];

static const int16_t fz_apis[][3] = {
	{ 0, 3, 8 }, { 1, 4, 11 }, { 2, 0, 5 }, { 3, 0, 8 }, { 18, 0, 3 }, { 19, 0, 4 }, { 20, 0, 3 }, { 32, 0, 2 }, { 37, 0, 1 },
	{ 33, 0, 1 }, { 44, 0, 0 }, { 23, 0, 3 },
	/* consumer groups */
	{ 8, 0, 7 }, { 9, 0, 5 }, { 10, 0, 2 }, { 11, 0, 5 }, { 12, 0, 3 }, { 13, 0, 3 }, { 14, 0, 3 }, { 15, 0, 4 },
	{ 16, 0, 2 }, { 42, 0, 1 }, { 47, 0, 0 },
	/* InitProducerId's non-flexible versions (the frame's header is v1; no coordinator: the
	 * block claim fails at once) */
	{ 22, 0, 1 },
};

static char fz_dir[] = "/tmp/samsa-fuzz-kreq-XXXXXX";

static int fz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fz_cleanup(void)
{
	kb_groups_stop(&fz_b); /* answers (frees) the orphaned slots the core still holds */
	nftw(fz_dir, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void fz_setup(void)
{
	char *dir = fz_dir;
	if (!mkdtemp(dir))
		abort();
	atexit(fz_cleanup);
	log_set_level(LOG_FATAL);
	memset(&fz_cfg, 0, sizeof(fz_cfg));
	fz_cfg.broker_id = 0;
	fz_cfg.socket_request_max_bytes = 1 << 24;
	fz_cfg.message_max_bytes = 1 << 20;
	fz_cfg.min_insync_replicas = 1;
	fz_cfg.num_partitions = 1;
	fz_cfg.default_replication_factor = 1;
	fz_cfg.auto_create_topics_enable = true;
	fz_cfg.delete_topic_enable = true;
	fz_cfg.log_message_timestamp_type = (char *)"CreateTime";
	fz_cfg.offsets_topic_num_partitions = 1;
	fz_cfg.offsets_topic_replication_factor = 1;
	fz_cfg.offsets_commit_timeout_ms = 5000;
	fz_cfg.offsets_retention_minutes = 10080;
	fz_cfg.offsets_retention_check_interval_ms = 600000;
	fz_cfg.offset_metadata_max_bytes = 4096;
	fz_cfg.group_min_session_timeout_ms = 6000;
	fz_cfg.group_max_session_timeout_ms = 1800000;
	fz_cfg.group_max_size = 1000;
	fz_b.cfg = &fz_cfg;
	fz_b.base = event_base_new();
	fz_b.log_dir = dir;
	snprintf(fz_b.adv_host, sizeof(fz_b.adv_host), "127.0.0.1");
	fz_b.adv_port = 9092;
	LIST_INIT(&fz_b.topics);
	LIST_INIT(&fz_b.conns);
	LIST_INIT(&fz_b.waits);
	LIST_INIT(&fz_b.flush_waits);
	LIST_INIT(&fz_b.prod_waits);
	klog_opts_default(&fz_b.default_opts);
	fz_b.default_opts.flush_messages = INT64_MAX; /* no fsync per append */
	fz_b.default_opts.flush_ms = -1;
	fz_b.static_opts = fz_b.default_opts;
	fz_b.config_change_seq = -1;
	fz_t = calloc(1, sizeof(*fz_t));
	fz_t->name = strdup("t");
	fz_t->nparts = 2;
	fz_t->parts = calloc(2, sizeof(struct kb_part));
	char why[128];
	kb_topic_apply_conf(&fz_b, fz_t, why, sizeof(why));
	for (int i = 0; i < 2; i++) {
		struct kb_part *p = &fz_t->parts[i];
		p->id = i;
		p->leader = 0;
		p->nrep = p->nisr = 1;
		p->replicas = calloc(1, sizeof(int32_t));
		p->isr = calloc(1, sizeof(int32_t));
		p->state_version = 0; /* leader epoch 0, ISR [0]: the replica manager leads it */
	}
	static const struct krm_ops ops = { 0 };
	struct krm_opts ro = { .broker_id = 0, .log_dir = dir, .lag_time_max_ms = 10000, .ops = &ops };
	char eb[256];
	fz_b.rm = krm_new(&ro, eb, sizeof(eb));
	if (!fz_b.rm)
		abort();
	for (int i = 0; i < 2; i++) {
		kb_part_apply_state(&fz_b, fz_t, &fz_t->parts[i]);
		if (!krm_hosted(fz_b.rm, "t", i))
			abort();
	}
	LIST_INSERT_HEAD(&fz_b.topics, fz_t, link);
	/* __consumer_offsets of one partition led here: the coordinator loads it */
	if (kb_groups_start(&fz_b, kapi_group_reply))
		abort();
	struct kb_topic *ot = calloc(1, sizeof(*ot));
	ot->name = strdup(KB_OFFSETS_TOPIC);
	ot->nparts = 1;
	ot->parts = calloc(1, sizeof(struct kb_part));
	kb_topic_apply_conf(&fz_b, ot, why, sizeof(why));
	ot->parts[0].replicas = calloc(1, sizeof(int32_t));
	ot->parts[0].isr = calloc(1, sizeof(int32_t));
	ot->parts[0].nrep = ot->parts[0].nisr = 1;
	LIST_INSERT_HEAD(&fz_b.topics, ot, link);
	kb_part_apply_state(&fz_b, ot, &ot->parts[0]);
	if (kgroups_owns(kb_groups_core(&fz_b), (const uint8_t *)"g", 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz_b.base)
		fz_setup();
	if (size < 2)
		return 0;
	const int16_t *api = fz_apis[data[0] % (sizeof(fz_apis) / sizeof(fz_apis[0]))];
	int16_t ver = (int16_t)(api[1] + data[1] % (api[2] - api[1] + 2)); /* one past the max too */
	size_t len = 10 + (size - 2);
	uint8_t *req = malloc(len);
	if (!req)
		return 0;
	req[0] = (uint8_t)(api[0] >> 8);
	req[1] = (uint8_t)api[0];
	req[2] = (uint8_t)(ver >> 8);
	req[3] = (uint8_t)ver;
	memset(req + 4, 0, 4); /* correlation id */
	req[8] = 0;
	req[9] = 0; /* client id "" */
	memcpy(req + 10, data + 2, size - 2);

	if (bufferevent_pair_new(fz_b.base, 0, fz_pair))
		abort();
	if (kconn_accept_bev(&fz_b, fz_pair[0], -1))
		abort();
	uint8_t len4[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	bufferevent_write(fz_pair[1], len4, 4);
	bufferevent_write(fz_pair[1], req, len);
	free(req);
	event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
	event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
	/* every waiting request answered as at its deadline */
	struct kwait *w;
	while ((w = LIST_FIRST(&fz_b.waits))) {
		w->deadline_ms = 0;
		kwait_retry_all(&fz_b, true);
		if (LIST_FIRST(&fz_b.waits) == w) /* admin writes never completing: drop */
			kwait_free(w);
	}
	kb_groups_tick(&fz_b, kb_now_ms()); /* joins completing, appends reported */
	kapi_fetch_retry_at(&fz_b, INT64_MAX); /* and every fetch in the purgatory */
	event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
	struct evbuffer *out = bufferevent_get_input(fz_pair[1]);
	evbuffer_drain(out, evbuffer_get_length(out));
	kconn_close_all(&fz_b);
	event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
	event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
	bufferevent_free(fz_pair[1]);
	/* a topic auto-created by Metadata never appears (no coordinator) */
	return 0;
}

/*
 * kb_groups — the group coordinator's core wired to the broker: the offsets topic, its
 * partitions' leadership, loading, acks=all appends and the clock (see kb_groups.h).
 */
#include "kb_groups.h"

#include "buf.h"
#include "err.h"
#include "kb_broker.h"
#include "kb_clog.h"
#include "kb_cluster.h"
#include "kb_txns.h"
#include "kbatch.h"
#include "kgroup.h"
#include "krepl.h"
#include "kreplica.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

static const char *const GROUPS_MOD = "group-coordinator";

#define KB_GROUPS_SYNC_MS 100		/* the leadership backstop check on the tick */

struct kb_groups {
	struct broker *b;
	struct kgroups *gs;
	kb_groups_reply_fn reply;
	struct kb_clog *clog;	   /* the appends to __consumer_offsets */
	int32_t core_nparts;	   /* the offsets partition count the core was made with */
	bool *owned;		   /* [nowned]: partition p is loaded in the core */
	int32_t nowned;
	int64_t last_sync_ms;
};

/* ---- the core's ops ---- */

void kb_groups_flushed(struct broker *b, const struct klog *l, int64_t offset)
{
	if (b->groups)
		kb_clog_flushed(b->groups->clog, l, offset);
	kb_txns_flushed(b, l, offset); /* the transaction coordinator's appends too */
}

/* an append completed (from kb_clog's deferred event): reported to the core */
static void kb_groups_append_done(void *arg, uint64_t id, int16_t err)
{
	struct kb_groups *g = arg;
	if (g->gs)
		kgroups_append_done(g->gs, id, err, kb_now_ms());
}

static int16_t kb_groups_append_txn(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id,
				    int64_t pid, int16_t epoch)
{
	struct kb_groups *g = arg;
	if (n < 1)
		return KE_NOT_COORDINATOR;
	struct kb_clog_rec *cr = calloc((size_t)n, sizeof(*cr));
	if (!cr)
		return KE_UNKNOWN_SERVER_ERROR;
	for (int32_t i = 0; i < n; i++)
		cr[i] = (struct kb_clog_rec){ recs[i].key, recs[i].klen, recs[i].value, recs[i].vlen, -1, -1 };
	/* Kafka's coordinator maps a record too large (MESSAGE_TOO_LARGE here) to
	 * INVALID_COMMIT_OFFSET_SIZE for commits */
	int16_t e = kb_clog_append_txn(g->clog, partition, cr, n, g->b->cfg->offsets_commit_timeout_ms, id, pid, epoch);
	free(cr);
	return e;
}

static int16_t kb_groups_append(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id)
{
	return kb_groups_append_txn(arg, partition, recs, n, id, -1, -1);
}

static bool kb_groups_part_exists(void *arg, const uint8_t *topic, size_t tlen, int32_t part)
{
	struct kb_groups *g = arg;
	char name[KB_TOPIC_MAX + 1];
	if (tlen == 0 || tlen > KB_TOPIC_MAX)
		return false;
	memcpy(name, topic, tlen);
	name[tlen] = '\0';
	struct kb_topic *t = NULL;
	return kb_part_find(g->b, name, part, &t) && !t->deleting;
}

static void kb_groups_log(void *arg, const char *line)
{
	(void)arg;
	log_info(GROUPS_MOD, "%s", line);
}

static void kb_groups_reply(void *arg, void *token, int16_t api, int16_t ver, const void *resp)
{
	struct kb_groups *g = arg;
	g->reply(g->b, token, api, ver, resp);
}

static const struct kgroups_ops kb_groups_ops = {
	.reply = kb_groups_reply,
	.append = kb_groups_append,
	.append_txn = kb_groups_append_txn,
	.part_exists = kb_groups_part_exists,
	.log = kb_groups_log,
};

/* A core for nparts offsets partitions, replacing the one there (which owns nothing). */
static int kb_groups_core_new(struct kb_groups *g, int32_t nparts)
{
	const struct kb_config *c = g->b->cfg;
	struct kgroups_conf conf = {
		.offsets_partitions = nparts,
		.min_session_timeout_ms = c->group_min_session_timeout_ms,
		.max_session_timeout_ms = c->group_max_session_timeout_ms,
		.initial_rebalance_delay_ms = c->group_initial_rebalance_delay_ms,
		.max_size = c->group_max_size,
		.offset_metadata_max_bytes = c->offset_metadata_max_bytes,
		.offsets_retention_ms = (int64_t)c->offsets_retention_minutes * 60000,
		.retention_check_interval_ms = c->offsets_retention_check_interval_ms,
		.seed = (uint64_t)kb_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)c->broker_id,
	};
	struct kgroups *gs = kgroups_new(&conf, &kb_groups_ops, g);
	if (!gs)
		return ERR_NOMEM;
	kgroups_free(g->gs);
	g->gs = gs;
	g->core_nparts = nparts;
	return 0;
}

int kb_groups_start(struct broker *b, kb_groups_reply_fn reply)
{
	struct kb_groups *g = calloc(1, sizeof(*g));
	if (!g)
		return ERR_NOMEM;
	g->b = b;
	g->reply = reply;
	g->clog = kb_clog_new(b, KB_OFFSETS_TOPIC, kb_groups_append_done, g);
	/* the count of an existing topic replaces this one when its first partition loads */
	if (!g->clog || kb_groups_core_new(g, b->cfg->offsets_topic_num_partitions)) {
		kb_clog_free(g->clog);
		free(g);
		return ERR_NOMEM;
	}
	b->groups = g;
	return 0;
}

void kb_groups_stop(struct broker *b)
{
	struct kb_groups *g = b->groups;
	if (!g)
		return;
	/* the core first: it answers its parked requests (the connections are still there) */
	kgroups_free(g->gs);
	g->gs = NULL;
	kb_clog_free(g->clog); /* appends under way leave the purgatory unanswered */
	free(g->owned);
	free(g);
	b->groups = NULL;
}

struct kgroups *kb_groups_core(struct broker *b)
{
	return b->groups ? b->groups->gs : NULL;
}

/* ---- the offsets topic ---- */

static void kb_groups_created(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	(void)ctx;
	kb_clog_topic_created(b->groups ? b->groups->clog : NULL, err, msg);
}

int16_t kb_groups_offsets_topic(struct broker *b, int32_t *nparts)
{
	struct kb_groups *g = b->groups;
	if (!g)
		return KE_COORDINATOR_NOT_AVAILABLE;
	const struct kb_config *c = b->cfg;
	char seg[24];
	snprintf(seg, sizeof(seg), "%d", c->offsets_topic_segment_bytes);
	const struct kb_tconf confs[] = {
		{ "cleanup.policy", "compact" },
		{ "compression.type", "producer" },
		{ "segment.bytes", seg },
	};
	const struct kb_clog_topic_spec spec = { c->offsets_topic_num_partitions,
						  c->offsets_topic_replication_factor,
						  "offsets.topic.replication.factor",
						  "offsets topic",
						  confs,
						  (int32_t)(sizeof(confs) / sizeof(confs[0])) };
	return kb_clog_topic(g->clog, &spec, kb_groups_created, nparts);
}

/* ---- loading and unloading ---- */

struct kb_groups_load {
	struct kb_groups *g;
	int32_t p;
	int64_t logged; /* skipped records logged */
};

static int kb_groups_load_rec(void *arg, const struct kb_clog_rec *r, int64_t offset)
{
	struct kb_groups_load *ld = arg;
	char eb[256];
	int rc = r->producer_id >= 0 ? kgroups_load_txn_record(ld->g->gs, ld->p, r->producer_id, r->producer_epoch, r->key,
							       r->klen, r->value, r->vlen, eb, sizeof(eb))
				     : kgroups_load_record(ld->g->gs, ld->p, r->key, r->klen, r->value, r->vlen, eb, sizeof(eb));
	if (rc) {
		if (ld->logged++ < 10)
			log_warn(GROUPS_MOD, "%s-%d offset %lld: record skipped: %s", KB_OFFSETS_TOPIC, ld->p,
				 (long long)offset, eb);
		return 1;
	}
	return 0;
}

/* a transaction marker in the partition: the producer's pending offsets are resolved */
static void kb_groups_load_marker(void *arg, int64_t pid, int16_t epoch, bool commit, int64_t offset)
{
	struct kb_groups_load *ld = arg;
	(void)offset;
	kgroups_load_marker(ld->g->gs, ld->p, pid, epoch, commit);
}

/* This broker became the leader of offsets partition p: the core loads it from the log. */
static void kb_groups_load(struct kb_groups *g, const struct kb_topic *t, int32_t p)
{
	struct broker *b = g->b;
	if (t->nparts != g->core_nparts) {
		bool any = false;
		for (int32_t i = 0; i < g->nowned; i++)
			any |= g->owned[i];
		if (any) { /* the topic was recreated with another count while we lead some */
			log_error(GROUPS_MOD, "%s has %d partitions, the coordinator was started with %d: not loading %d",
				  KB_OFFSETS_TOPIC, t->nparts, g->core_nparts, p);
			return;
		}
		log_info(GROUPS_MOD, "%s has %d partitions: the coordinator places groups among them",
			 KB_OFFSETS_TOPIC, t->nparts);
		if (kb_groups_core_new(g, t->nparts)) {
			log_error(GROUPS_MOD, "out of memory making the group coordinator");
			return;
		}
	}
	if (p >= g->nowned) {
		bool *no = realloc(g->owned, (size_t)t->nparts * sizeof(*no));
		if (!no)
			return;
		memset(no + g->nowned, 0, (size_t)(t->nparts - g->nowned) * sizeof(*no));
		g->owned = no;
		g->nowned = t->nparts;
	}
	struct klog *l = NULL;
	int64_t hw = -1, start = -1;
	int32_t epoch = -1;
	if (krm_leader(b->rm, KB_OFFSETS_TOPIC, p, -1, &hw, &start, &epoch, &l) || !l)
		return;
	int64_t t0 = kb_now_ms();
	kgroups_load_begin(g->gs, p);
	g->owned[p] = true;
	struct kb_groups_load ld = { g, p, 0 };
	struct kb_clog_load out;
	kb_clog_load_ex(b, KB_OFFSETS_TOPIC, p, kb_groups_load_rec, kb_groups_load_marker, &ld, &out);
	int64_t now = kb_now_ms();
	kgroups_load_end(g->gs, p, now);
	log_info(GROUPS_MOD, "loaded %s-%d (leader epoch %d): %lld records up to offset %lld in %lld ms%s",
		 KB_OFFSETS_TOPIC, p, out.epoch, (long long)out.records, (long long)out.end, (long long)(now - t0),
		 out.skipped ? " (some skipped)" : "");
}

void kb_groups_part_changed(struct broker *b, int32_t p)
{
	struct kb_groups *g = b->groups;
	if (!g || !g->gs || p < 0)
		return;
	struct kb_topic *t = kb_topic_find(b, KB_OFFSETS_TOPIC);
	bool lead = false;
	if (t && !t->deleting && p < t->nparts && b->rm) {
		const struct krepl *k = krm_krepl(b->rm, KB_OFFSETS_TOPIC, p);
		lead = k && krepl_role(k) == KREPL_LEADER;
	}
	bool owned = p < g->nowned && g->owned[p];
	if (lead && !owned) {
		kb_groups_load(g, t, p);
	} else if (!lead && owned) {
		g->owned[p] = false;
		kgroups_unload(g->gs, p);
		log_info(GROUPS_MOD, "unloaded %s-%d: no longer its leader", KB_OFFSETS_TOPIC, p);
	}
}

void kb_groups_txn_marker(struct broker *b, int32_t p, int64_t pid, int16_t epoch, bool commit)
{
	struct kb_groups *g = b->groups;
	if (g && g->gs && p >= 0 && p < g->nowned && g->owned[p])
		kgroups_txn_end(g->gs, p, pid, epoch, commit, kb_now_ms());
}

void kb_groups_tick(struct broker *b, int64_t now)
{
	struct kb_groups *g = b->groups;
	if (!g || !g->gs)
		return;
	if (now - g->last_sync_ms >= KB_GROUPS_SYNC_MS) {
		g->last_sync_ms = now;
		struct kb_topic *t = kb_topic_find(b, KB_OFFSETS_TOPIC);
		int32_t n = t ? t->nparts : 0;
		if (g->nowned > n)
			n = g->nowned;
		for (int32_t p = 0; p < n; p++)
			kb_groups_part_changed(b, p);
	}
	kgroups_tick(g->gs, now);
}

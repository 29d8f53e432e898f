/*
 * kb_groups — the group coordinator's core wired to the broker: the offsets topic, its
 * partitions' leadership, loading, acks=all appends and the clock (see kb_groups.h).
 */
#include "kb_groups.h"

#include "buf.h"
#include "err.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kbatch.h"
#include "kgroup.h"
#include "krepl.h"
#include "kreplica.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

static const char *const GROUPS_MOD = "group-coordinator";

#define KB_GROUPS_READ_CHUNK (1u << 20) /* bytes read from an offsets partition at a time */
#define KB_GROUPS_SYNC_MS 100		/* the leadership backstop check on the tick */
#define KB_GROUPS_WARN_MS 10000		/* at most one "too few brokers" line per this */
#define KB_GROUPS_BATCH_MAX (64u << 20) /* one append's batch */

/* An append the core asked for: in the replica manager's purgatory (pr set) and, under a flush
 * policy, waiting for the fsync its append started (log set, until kb_groups_flushed reports
 * flush_upto), then done (err final) and queued for the deferred report to the core. */
struct kb_gappend {
	TAILQ_ENTRY(kb_gappend) link; /* g->pending, then g->done */
	struct kb_groups *g;
	uint64_t id;
	int32_t part;
	struct krm_produce *pr;
	const struct klog *log; /* the fsync waited for: of this log, */
	int64_t flush_upto;	/* up to here (log NULL: none) */
	bool replicated;	/* the purgatory answered (err set) */
	int16_t err;
};
TAILQ_HEAD(kb_gappend_q, kb_gappend);

struct kb_groups {
	struct broker *b;
	struct kgroups *gs;
	kb_groups_reply_fn reply;
	int32_t core_nparts;	   /* the offsets partition count the core was made with */
	bool *owned;		   /* [nowned]: partition p is loaded in the core */
	int32_t nowned;
	bool creating;		   /* a creation of __consumer_offsets is under way */
	int64_t last_sync_ms;
	int64_t last_warn_ms;
	struct kb_gappend_q pending; /* waiting in the purgatory */
	struct kb_gappend_q done;    /* completed, to report to the core */
	struct event *deferred;	     /* reports done appends */
};

/* ---- the core's ops ---- */

static void kb_groups_defer(struct kb_groups *g)
{
	if (g->deferred)
		event_active(g->deferred, EV_TIMEOUT, 0);
}

/* a (in g->pending) is done once replicated and, unless it failed, flushed as the policy says */
static void kb_groups_append_check(struct kb_gappend *a)
{
	struct kb_groups *g = a->g;
	if (!a->replicated || (a->log && !a->err))
		return;
	TAILQ_REMOVE(&g->pending, a, link);
	TAILQ_INSERT_TAIL(&g->done, a, link);
	kb_groups_defer(g);
}

static void kb_groups_append_completed(void *arg, struct krm_produce *pr)
{
	struct kb_gappend *a = arg;
	a->err = krm_produce_result(pr, 0)->error;
	krm_produce_free(pr);
	a->pr = NULL;
	a->replicated = true;
	kb_groups_append_check(a);
}

void kb_groups_flushed(struct broker *b, const struct klog *l, int64_t offset)
{
	struct kb_groups *g = b->groups;
	if (!g)
		return;
	struct kb_gappend *a, *next;
	for (a = TAILQ_FIRST(&g->pending); a; a = next) {
		next = TAILQ_NEXT(a, link);
		if (a->log == l && a->flush_upto <= offset) {
			a->log = NULL;
			kb_groups_append_check(a);
		}
	}
}

static int16_t kb_groups_append(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id)
{
	struct kb_groups *g = arg;
	struct broker *b = g->b;
	if (!b->rm || n < 1)
		return KE_NOT_COORDINATOR;
	int64_t now = kb_now_ms();
	struct kbatch_rec *br = calloc((size_t)n, sizeof(*br));
	struct kb_gappend *a = calloc(1, sizeof(*a));
	struct wbuf w;
	wbuf_init(&w, KB_GROUPS_BATCH_MAX);
	if (!br || !a) {
		free(br);
		free(a);
		return KE_UNKNOWN_SERVER_ERROR;
	}
	for (int32_t i = 0; i < n; i++) {
		br[i].key = recs[i].key;
		br[i].key_len = (int32_t)recs[i].klen;
		br[i].value = recs[i].value;
		br[i].value_len = recs[i].value ? (int32_t)recs[i].vlen : -1;
	}
	size_t len = kbatch_build(&w, 0, now, br, n);
	free(br);
	if (!len) {
		wbuf_free(&w);
		free(a);
		/* Kafka's coordinator maps a record too large to INVALID_COMMIT_OFFSET_SIZE for commits */
		return KE_MESSAGE_TOO_LARGE;
	}
	a->g = g;
	a->id = id;
	a->part = partition;
	a->pr = krm_produce_new(b->rm, 1, kb_groups_append_completed, a);
	if (!a->pr) {
		wbuf_free(&w);
		free(a);
		return KE_UNKNOWN_SERVER_ERROR;
	}
	struct klog *l = NULL;
	int16_t e = krm_append(b->rm, a->pr, 0, KB_OFFSETS_TOPIC, partition, w.p, len, n, NULL, -1,
			       now + b->cfg->offsets_commit_timeout_ms, false, now, &l);
	wbuf_free(&w);
	if (!l) { /* nothing appended: failed at once */
		krm_produce_free(a->pr);
		free(a);
		return e ? e : KE_UNKNOWN_SERVER_ERROR;
	}
	/* durable, then acknowledged: a flush-policy fsync this append started is waited for too
	 * (log.flush.interval.messages / flush.messages, as a Produce's response waits for it) */
	int64_t upto = klog_flush_pending(l);
	if (upto > krm_produce_result(a->pr, 0)->base_offset) {
		a->log = l;
		a->flush_upto = upto;
	}
	TAILQ_INSERT_TAIL(&g->pending, a, link);
	if (krm_produce_submit(b->rm, a->pr)) { /* final already (an ISR of one): reported later */
		a->err = krm_produce_result(a->pr, 0)->error;
		krm_produce_free(a->pr);
		a->pr = NULL;
		a->replicated = true;
		kb_groups_append_check(a);
	}
	return KE_NONE;
}

/* Deferred: reports the completed appends to the core, in completion order. */
static void kb_groups_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_groups *g = arg;
	struct kb_gappend *a;
	(void)fd;
	(void)what;
	while ((a = TAILQ_FIRST(&g->done))) {
		TAILQ_REMOVE(&g->done, a, link);
		uint64_t id = a->id;
		int16_t err = a->err;
		free(a);
		if (g->gs)
			kgroups_append_done(g->gs, id, err, kb_now_ms());
	}
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
	TAILQ_INIT(&g->pending);
	TAILQ_INIT(&g->done);
	g->last_warn_ms = -KB_GROUPS_WARN_MS;
	g->deferred = event_new(b->base, -1, 0, kb_groups_deferred_cb, g);
	/* the count of an existing topic replaces this one when its first partition loads */
	if (!g->deferred || kb_groups_core_new(g, b->cfg->offsets_topic_num_partitions)) {
		if (g->deferred)
			event_free(g->deferred);
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
	struct kb_gappend *a;
	while ((a = TAILQ_FIRST(&g->pending))) {
		TAILQ_REMOVE(&g->pending, a, link);
		krm_produce_free(a->pr); /* leaves the purgatory unanswered (NULL when only flushing) */
		free(a);
	}
	while ((a = TAILQ_FIRST(&g->done))) {
		TAILQ_REMOVE(&g->done, a, link);
		free(a);
	}
	if (g->deferred)
		event_free(g->deferred);
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
	if (b->groups)
		b->groups->creating = false;
	if (err && err != KE_TOPIC_ALREADY_EXISTS)
		log_warn(GROUPS_MOD, "creating %s failed: %s", KB_OFFSETS_TOPIC, msg ? msg : "error");
	else if (!err)
		log_info(GROUPS_MOD, "created %s", KB_OFFSETS_TOPIC);
}

int16_t kb_groups_offsets_topic(struct broker *b, int32_t *nparts)
{
	struct kb_groups *g = b->groups;
	struct kb_topic *t = kb_topic_find(b, KB_OFFSETS_TOPIC);
	if (t) {
		if (t->deleting)
			return KE_COORDINATOR_NOT_AVAILABLE;
		*nparts = t->nparts;
		return KE_NONE;
	}
	if (!g || g->creating)
		return KE_COORDINATOR_NOT_AVAILABLE;
	const struct kb_config *c = b->cfg;
	int32_t rf = c->offsets_topic_replication_factor;
	if (b->nnodes < rf) {
		/* Kafka's answer too: never a smaller replication factor than configured */
		int64_t now = kb_now_ms();
		if (now - g->last_warn_ms >= KB_GROUPS_WARN_MS) {
			g->last_warn_ms = now;
			log_warn(GROUPS_MOD,
				 "Number of alive brokers '%d' does not meet the required replication factor '%d' for "
				 "the offsets topic (configured via 'offsets.topic.replication.factor'). This error can "
				 "be ignored if the cluster is starting up and not all brokers are up yet.",
				 b->nnodes, rf);
		}
		return KE_COORDINATOR_NOT_AVAILABLE;
	}
	char seg[24];
	snprintf(seg, sizeof(seg), "%d", c->offsets_topic_segment_bytes);
	const struct kb_tconf confs[] = {
		{ "cleanup.policy", "compact" },
		{ "compression.type", "producer" },
		{ "segment.bytes", seg },
	};
	g->creating = true;
	log_info(GROUPS_MOD, "creating %s (%d partitions, replication factor %d)", KB_OFFSETS_TOPIC,
		 c->offsets_topic_num_partitions, rf);
	kb_cluster_create_topic(b, KB_OFFSETS_TOPIC, c->offsets_topic_num_partitions, rf, NULL, confs,
				(int32_t)(sizeof(confs) / sizeof(confs[0])), kb_groups_created, NULL);
	return KE_COORDINATOR_NOT_AVAILABLE;
}

/* ---- loading and unloading ---- */

struct kb_groups_load {
	struct kb_groups *g;
	int32_t p;
	int64_t next;	  /* the offset after the last batch walked */
	int64_t records;  /* passed to the core */
	int64_t skipped;  /* refused by the core, or in batches not decoded */
};

static int kb_groups_load_rec(const struct kbatch_record *r, void *arg)
{
	struct kb_groups_load *ld = arg;
	char eb[256];
	if (!r->key) { /* an offsets record always has a key: not one of ours */
		ld->skipped++;
		return 0;
	}
	if (kgroups_load_record(ld->g->gs, ld->p, r->key, (size_t)r->key_len, r->value,
				r->value ? (size_t)r->value_len : 0, eb, sizeof(eb))) {
		if (ld->skipped++ < 10)
			log_warn(GROUPS_MOD, "%s-%d offset %lld: record skipped: %s", KB_OFFSETS_TOPIC, ld->p,
				 (long long)r->offset, eb);
		return 0;
	}
	ld->records++;
	return 0;
}

static int kb_groups_load_batch(const uint8_t *p, size_t len, void *arg)
{
	struct kb_groups_load *ld = arg;
	struct kbatch_hdr h;
	char eb[256];
	if (kbatch_parse_hdr(p, len, &h))
		return ERR_CORRUPT;
	ld->next = h.base_offset + h.last_offset_delta + 1;
	if (h.attributes & KBATCH_CONTROL)
		return 0; /* transaction markers: none are written here */
	if (h.attributes & KBATCH_COMPRESSION_MASK) {
		ld->skipped += h.records_count;
		log_warn(GROUPS_MOD, "%s-%d offset %lld: a compressed batch is not decoded; its %d records are skipped",
			 KB_OFFSETS_TOPIC, ld->p, (long long)h.base_offset, h.records_count);
		return 0;
	}
	if (kbatch_records(p, len, kb_groups_load_rec, ld, eb, sizeof(eb)))
		log_warn(GROUPS_MOD, "%s-%d offset %lld: bad batch: %s", KB_OFFSETS_TOPIC, ld->p,
			 (long long)h.base_offset, eb);
	return 0;
}

/* Reads [sl.pos, sl.pos + sl.len) of sl.fd into *buf (grown as needed). 0 or ERR_IO. */
static int kb_groups_read_slice(const struct klog_slice *sl, uint8_t **buf, size_t *cap)
{
	if (sl->len > *cap) {
		uint8_t *nb = realloc(*buf, sl->len);
		if (!nb)
			return ERR_NOMEM;
		*buf = nb;
		*cap = sl->len;
	}
	size_t got = 0;
	while (got < sl->len) {
		ssize_t k = pread(sl->fd, *buf + got, sl->len - got, sl->pos + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		got += (size_t)k;
	}
	return 0;
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
	struct kb_groups_load ld = { g, p, klog_start_offset(l), 0, 0 };
	int64_t end = klog_end_offset(l);
	uint8_t *buf = NULL;
	size_t cap = 0;
	char eb[256];
	while (ld.next < end) {
		struct klog_slice sl = { -1, 0, 0 };
		int rc = klog_read(l, ld.next, KB_GROUPS_READ_CHUNK, end, &sl, eb, sizeof(eb));
		if (rc || sl.len == 0) {
			if (sl.fd >= 0)
				close(sl.fd);
			if (rc)
				log_error(GROUPS_MOD, "loading %s-%d at offset %lld: %s", KB_OFFSETS_TOPIC, p,
					  (long long)ld.next, eb);
			break;
		}
		rc = kb_groups_read_slice(&sl, &buf, &cap);
		close(sl.fd);
		int64_t before = ld.next;
		if (!rc)
			rc = kbatch_foreach_ex(buf, sl.len, KBATCH_ALLOW_PARTIAL, kb_groups_load_batch, &ld, NULL, eb,
					       sizeof(eb));
		if (rc || ld.next <= before) {
			log_error(GROUPS_MOD, "loading %s-%d at offset %lld: %s", KB_OFFSETS_TOPIC, p, (long long)before,
				  rc ? err_str(rc) : "no progress");
			break;
		}
	}
	free(buf);
	int64_t now = kb_now_ms();
	kgroups_load_end(g->gs, p, now);
	log_info(GROUPS_MOD, "loaded %s-%d (leader epoch %d): %lld records up to offset %lld in %lld ms%s",
		 KB_OFFSETS_TOPIC, p, epoch, (long long)ld.records, (long long)end, (long long)(now - t0),
		 ld.skipped ? " (some skipped)" : "");
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

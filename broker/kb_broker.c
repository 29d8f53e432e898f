/*
 * kb_broker — the metadata cache's helpers (see kb_broker.h): lookups, topic-name rules,
 * per-topic log options from /config/topics overrides, and handing a partition's state to the
 * replica manager (which alone opens and removes local logs).
 */
#include "kb_broker.h"

#include "err.h"
#include "kb_groups.h"
#include "kb_txns.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const KB_MOD = "broker";

int64_t kb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kb_topic_unclean(const struct kb_topic *t)
{
	for (int32_t i = 0; i < t->nconf; i++)
		if (!strcmp(t->conf[i].name, "unclean.leader.election.enable"))
			return !strcmp(t->conf[i].value, "true");
	return -1;
}

struct kb_topic *kb_topic_find(struct broker *b, const char *name)
{
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

struct kb_part *kb_part_find(struct broker *b, const char *topic, int32_t part, struct kb_topic **t_out)
{
	struct kb_topic *t = kb_topic_find(b, topic);
	if (t_out)
		*t_out = t;
	if (!t || part < 0 || part >= t->nparts)
		return NULL;
	return &t->parts[part];
}

int kb_topic_collisions(struct broker *b, const char *name, char *out, size_t n)
{
	int cnt = 0;
	size_t w = 0;
	if (n)
		out[0] = '\0';
	if (!kname_topic_may_collide(name))
		return 0;
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link) {
		if (!kname_topic_collide(t->name, name))
			continue;
		if (w < n) {
			int k = snprintf(out + w, n - w, "%s%s", cnt ? ", " : "", t->name);
			w += k > 0 ? (size_t)k : 0;
		}
		cnt++;
	}
	return cnt;
}

static int kb_parse_long(const char *v, int64_t lo, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < lo)
		return -1;
	*out = x;
	return 0;
}

int kb_topic_apply_conf(struct broker *b, struct kb_topic *t, char *why, size_t wn)
{
	t->opts = b->default_opts;
	t->log_append_time = !strcmp(b->cfg->log_message_timestamp_type, "LogAppendTime");
	t->max_message_bytes = b->cfg->message_max_bytes;
	t->min_isr = b->cfg->min_insync_replicas;
	for (int32_t i = 0; i < t->nconf; i++) {
		const char *k = t->conf[i].name, *v = t->conf[i].value;
		int64_t x = 0;
		int bad = 0;
		if (!strcmp(k, "retention.ms"))
			bad = kb_parse_long(v, -1, &t->opts.retention_ms);
		else if (!strcmp(k, "retention.bytes"))
			bad = kb_parse_long(v, -1, &t->opts.retention_bytes);
		else if (!strcmp(k, "segment.bytes"))
			bad = kb_parse_long(v, 14, &t->opts.segment_bytes) || t->opts.segment_bytes > INT32_MAX;
		else if (!strcmp(k, "segment.ms"))
			bad = kb_parse_long(v, 1, &t->opts.roll_ms);
		else if (!strcmp(k, "flush.messages"))
			bad = kb_parse_long(v, 0, &t->opts.flush_messages);
		else if (!strcmp(k, "flush.ms"))
			bad = kb_parse_long(v, 0, &t->opts.flush_ms);
		else if (!strcmp(k, "index.interval.bytes"))
			bad = kb_parse_long(v, 0, &x) || x > INT32_MAX || ((t->opts.index_interval_bytes = (int32_t)x), 0);
		else if (!strcmp(k, "segment.index.bytes"))
			bad = kb_parse_long(v, 4, &x) || x > INT32_MAX || ((t->opts.max_index_bytes = (int32_t)x), 0);
		else if (!strcmp(k, "max.message.bytes"))
			bad = kb_parse_long(v, 0, &x) || x > INT32_MAX || ((t->max_message_bytes = (int32_t)x), 0);
		else if (!strcmp(k, "min.insync.replicas"))
			bad = kb_parse_long(v, 1, &x) || x > 1000 || ((t->min_isr = (int32_t)x), 0);
		else if (!strcmp(k, "message.timestamp.type")) {
			bad = strcmp(v, "CreateTime") && strcmp(v, "LogAppendTime");
			t->log_append_time = !strcmp(v, "LogAppendTime");
		} else if (!strcmp(k, "cleanup.policy"))
			bad = kb_parse_cleanup_policy(v, &t->opts.compact, &t->opts.no_delete);
		else if (!strcmp(k, "delete.retention.ms"))
			bad = kb_parse_long(v, 0, &t->opts.delete_retention_ms);
		else if (!strcmp(k, "min.compaction.lag.ms"))
			bad = kb_parse_long(v, 0, &t->opts.min_compaction_lag_ms);
		else if (!strcmp(k, "max.compaction.lag.ms"))
			bad = kb_parse_long(v, 1, &x); /* accepted; the dirty ratio alone starts a cleaning */
		else if (!strcmp(k, "min.cleanable.dirty.ratio"))
			bad = kb_parse_ratio(v, &t->opts.min_cleanable_ratio);
		else if (!strcmp(k, "compression.type"))
			bad = strcmp(v, "producer") != 0;
		else if (!strcmp(k, "unclean.leader.election.enable")) /* read by kb_topic_unclean */
			bad = strcmp(v, "true") && strcmp(v, "false");
		else {
			snprintf(why, wn, "Unknown topic config name: %s", k);
			return KE_INVALID_CONFIG;
		}
		if (bad) {
			snprintf(why, wn, "Invalid value %s for configuration %s", v, k);
			return KE_INVALID_CONFIG;
		}
	}
	return KE_NONE;
}

void kb_topic_krm_conf(const struct kb_topic *t, struct krm_conf *c)
{
	c->log = t->opts;
	c->min_insync = t->min_isr > 0 ? t->min_isr : 1;
}

void kb_part_apply_state(struct broker *b, struct kb_topic *t, struct kb_part *p)
{
	if (!b->rm)
		return;
	int32_t me = b->cfg->broker_id;
	bool hosted = false;
	for (int32_t k = 0; k < p->nrep; k++)
		hosted |= p->replicas[k] == me;
	bool offsets = !strcmp(t->name, KB_OFFSETS_TOPIC);
	bool txnstate = !strcmp(t->name, KB_TXN_STATE_TOPIC);
	if (!hosted) {
		krm_remove(b->rm, t->name, p->id, true);
		if (offsets)
			kb_groups_part_changed(b, p->id);
		if (txnstate)
			kb_txns_part_changed(b, p->id);
		return;
	}
	if (p->state_version < 0)
		return; /* no state yet: the controller writes it, the watch brings it */
	if (p->nrep > KREPL_MAX_REPLICAS || p->nisr > KREPL_MAX_REPLICAS) {
		log_error(KB_MOD, "%s-%d: %d replicas: more than the %d samsa replicates", t->name, p->id, p->nrep,
			  KREPL_MAX_REPLICAS);
		return;
	}
	if (b->shut && p->leader != me) {
		/* in a controlled shutdown, a partition whose ISR this broker left is not followed at
		 * its new leader epoch: the old one's fetches stay fenced, so that the leader does not
		 * take it back (which the controller would undo with yet another epoch, over and over,
		 * until it stops); Kafka's controller sends it StopReplica */
		bool in_isr = false;
		for (int32_t k = 0; k < p->nisr; k++)
			in_isr |= p->isr[k] == me;
		if (!in_isr)
			return;
	}
	struct krepl_state st = { .leader = p->leader, .leader_epoch = p->leader_epoch, .zk_version = p->state_version };
	st.n_replicas = (uint32_t)p->nrep;
	if (p->nrep > 0)
		memcpy(st.replicas, p->replicas, (size_t)p->nrep * sizeof(int32_t));
	st.n_isr = (uint32_t)p->nisr;
	if (p->nisr > 0)
		memcpy(st.isr, p->isr, (size_t)p->nisr * sizeof(int32_t));
	struct krm_conf c;
	kb_topic_krm_conf(t, &c);
	krm_become(b->rm, t->name, p->id, &st, p->ctrl_epoch, &c, kb_now_ms());
	if (offsets)
		kb_groups_part_changed(b, p->id); /* the group coordinator loads or unloads it */
	if (txnstate)
		kb_txns_part_changed(b, p->id); /* the transaction coordinator too */
}

void kb_topic_free(struct kb_topic *t)
{
	if (!t)
		return;
	for (int32_t i = 0; i < t->nparts; i++) {
		struct kb_part *p = &t->parts[i];
		free(p->replicas);
		free(p->isr);
	}
	for (int32_t i = 0; i < t->nconf; i++) {
		free(t->conf[i].name);
		free(t->conf[i].value);
	}
	free(t->conf);
	free(t->parts);
	free(t->name);
	free(t);
}

void kb_wake(struct broker *b)
{
	if (b->wake)
		event_active(b->wake, EV_TIMEOUT, 0);
}

/*
 * kb_broker — the metadata cache's helpers (see kb_broker.h): lookups, topic-name rules,
 * per-topic log options from /config/topics overrides, and opening a partition's local log.
 */
#include "kb_broker.h"

#include "err.h"
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
			bad = strcmp(v, "delete") != 0; /* compaction is not implemented: refuse it */
		else if (!strcmp(k, "compression.type"))
			bad = strcmp(v, "producer") != 0;
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

int kb_part_open_log(struct broker *b, struct kb_topic *t, struct kb_part *p)
{
	char dir[4096], eb[512];
	if (p->log)
		return 0;
	snprintf(dir, sizeof(dir), "%s/%s-%d", b->log_dir, t->name, p->id);
	int rc = klog_open(dir, &t->opts, kb_now_ms(), &p->log, eb, sizeof(eb));
	if (rc) {
		log_error(KB_MOD, "cannot open the log of %s-%d: %s", t->name, p->id, eb);
		p->log = NULL;
		return rc;
	}
	if (b->fsq)
		klog_set_fsyncq(p->log, b->fsq, kb_log_flushed, b);
	p->hw = klog_end_offset(p->log);
	return 0;
}

void kb_topic_free(struct kb_topic *t, bool remove_logs)
{
	if (!t)
		return;
	for (int32_t i = 0; i < t->nparts; i++) {
		struct kb_part *p = &t->parts[i];
		if (p->log) {
			char eb[256];
			if (remove_logs) {
				if (klog_remove(p->log, eb, sizeof(eb)))
					log_error(KB_MOD, "removing the log of %s-%d: %s", t->name, p->id, eb);
			} else {
				klog_close(p->log);
			}
		}
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

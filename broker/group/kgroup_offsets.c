/*
 * kgroup_offsets — the group coordinator's committed offsets (part of kgroup, see kgroup.c):
 * a group's offset table, OffsetCommit (checked against the group's member and generation,
 * then appended and applied once replicated), OffsetFetch (KIP-447's require_stable against
 * transactional offsets still pending), OffsetDelete, and the expiry of offsets and of
 * groups left Empty without offsets (KIP-211).
 * Everything runs on the broker's loop thread; time comes from the callers.
 */
#include "kgroup_int.h"

#include "err.h"
#include "kerr.h"

#include <stdlib.h>
#include <string.h>

/* ---- offsets ---- */

int32_t kg_offset_idx(const struct kg_group *g, struct kgw_str topic, int32_t part)
{
	for (int32_t i = 0; i < g->n_offs; i++)
		if (g->offs[i].part == part && kg_eq(g->offs[i].topic, topic))
			return i;
	return -1;
}

/* Sets (moving the strings of o into the group) or replaces an offset. */
int kg_offset_put(struct kg_group *g, struct kg_offset *o)
{
	int32_t i = kg_offset_idx(g, kg_w(o->topic), o->part);
	if (i >= 0) {
		kg_offset_clear(&g->offs[i]);
	} else {
		if (kg_grow((void **)&g->offs, &g->cap_offs, g->n_offs + 1, sizeof(*g->offs)))
			return ERR_NOMEM;
		i = g->n_offs++;
	}
	g->offs[i] = *o;
	o->topic.p = o->meta.p = NULL;
	o->topic.len = o->meta.len = -1;
	return 0;
}

void kg_offset_del(struct kg_group *g, int32_t i)
{
	kg_offset_clear(&g->offs[i]);
	g->offs[i] = g->offs[--g->n_offs];
}

/* ---- OffsetCommit ---- */

/* An op answering a response of per-partition errors for n_topics topics. */
static struct kg_op *kg_topic_errors_new(enum kg_opk kind, int32_t n_topics)
{
	struct kg_op *op = kg_op_new(kind, NULL);
	if (!op)
		return NULL;
	op->tnames = calloc(n_topics > 0 ? (size_t)n_topics : 1, sizeof(*op->tnames));
	op->terrs = calloc(n_topics > 0 ? (size_t)n_topics : 1, sizeof(*op->terrs));
	if (!op->tnames || !op->terrs) {
		kg_op_free(op);
		return NULL;
	}
	return op;
}

/* Adds topic name with n parts to op's response (errors KG_AWAIT); 0 or ERR_NOMEM. */
static int kg_resp_topic(struct kg_op *op, struct kgw_str name, int32_t n)
{
	int32_t t = op->n_topics;
	op->tnames[t].len = -1;
	op->terrs[t].parts = calloc(n > 0 ? (size_t)n : 1, sizeof(*op->terrs[t].parts));
	op->n_topics++;
	if (!op->terrs[t].parts || kg_s_set(&op->tnames[t], name))
		return ERR_NOMEM;
	op->terrs[t].n_parts = n;
	return 0;
}

static bool kg_resp_pending(const struct kg_op *op)
{
	for (int32_t t = 0; t < op->n_topics; t++)
		for (int32_t i = 0; i < op->terrs[t].n_parts; i++)
			if (op->terrs[t].parts[i].error == KG_AWAIT)
				return true;
	return false;
}

static void kg_commit_reply_err(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_commit_req *q, int16_t err)
{
	struct kgw_commit_resp r = { 0 };
	struct kgw_topic_errors *ts = calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*ts));
	if (ts) {
		for (int32_t t = 0; t < q->n_topics; t++) {
			ts[t].name = q->topics[t].name;
			ts[t].parts = calloc(q->topics[t].n_parts > 0 ? (size_t)q->topics[t].n_parts : 1, sizeof(*ts[t].parts));
			if (!ts[t].parts)
				continue;
			ts[t].n_parts = q->topics[t].n_parts;
			for (int32_t i = 0; i < q->topics[t].n_parts; i++) {
				ts[t].parts[i].partition = q->topics[t].parts[i].partition;
				ts[t].parts[i].error = err;
			}
		}
		r.n_topics = q->n_topics;
		r.topics = ts;
	}
	kg_reply(gs, x->token, KGW_API_OFFSET_COMMIT, x->ver, &r);
	for (int32_t t = 0; ts && t < q->n_topics; t++)
		free(ts[t].parts);
	free(ts);
}

void kgroups_commit(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_commit_req *q, int64_t now)
{
	struct kg_op *op = kg_topic_errors_new(KG_OP_COMMIT, q->n_topics);
	if (!op) {
		kg_commit_reply_err(gs, x, q, KE_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	op->token = x->token;
	op->ver = x->ver;
	/* the topic's partitions first (KafkaApis), then the group */
	int32_t valid = 0;
	for (int32_t t = 0; t < q->n_topics; t++) {
		const struct kgw_commit_topic *ct = &q->topics[t];
		if (kg_resp_topic(op, ct->name, ct->n_parts))
			goto nomem;
		bool readable = kg_allowed(x, KGROUP_CHECK_TOPIC_READ, ct->name); /* Kafka: READ on the topic */
		for (int32_t i = 0; i < ct->n_parts; i++) {
			struct kgw_part_error *pe = &op->terrs[t].parts[i];
			pe->partition = ct->parts[i].partition;
			bool exists = readable && ct->name.len > 0 && gs->ops.part_exists &&
				      gs->ops.part_exists(gs->arg, ct->name.p, (size_t)ct->name.len, ct->parts[i].partition);
			pe->error = exists ? KG_AWAIT : readable ? KE_UNKNOWN_TOPIC_OR_PARTITION : KE_TOPIC_AUTHORIZATION_FAILED;
			valid += exists;
		}
	}
	if (!valid) {
		kg_commit_resp_send(gs, op);
		kg_op_free(op);
		return;
	}
	int16_t err = kg_status(gs, q->group_id, true);
	struct kg_group *g = NULL;
	if (!err) {
		g = kg_find(gs, q->group_id);
		struct kg_member *m = g ? kg_member_find(g, q->member_id) : NULL;
		if (!g) {
			if (q->generation_id < 0) { /* a simple consumer: Kafka only stores its offsets */
				g = kg_group_add(gs, q->group_id, kg_partition_of(gs, q->group_id), now);
				if (!g)
					err = KE_COORDINATOR_NOT_AVAILABLE;
			} else {
				err = KE_ILLEGAL_GENERATION;
			}
		} else if (kg_fenced(g, q->member_id, q->group_instance_id)) {
			err = KE_FENCED_INSTANCE_ID;
		} else if (q->generation_id < 0 && g->state == KGSTATE_EMPTY) {
			/* the group only stores offsets here */
		} else if (!m) {
			err = KE_UNKNOWN_MEMBER_ID;
		} else if (q->generation_id != g->generation) {
			err = KE_ILLEGAL_GENERATION;
		} else if (g->state == KGSTATE_COMPLETING_REBALANCE) {
			err = KE_REBALANCE_IN_PROGRESS;
		} else {
			/* Stable, or PreparingRebalance (the heartbeat tells it to rejoin) */
			m->last_hb = now;
		}
	}
	if (err) {
		kg_commit_resp_fill(op, err);
		kg_commit_resp_send(gs, op);
		kg_op_free(op);
		return;
	}
	/* the offsets to store: metadata over the bound is refused per partition */
	int32_t n = 0;
	op->offs = calloc((size_t)valid, sizeof(*op->offs));
	if (!op->offs)
		goto nomem;
	for (int32_t t = 0; t < q->n_topics; t++) {
		const struct kgw_commit_topic *ct = &q->topics[t];
		for (int32_t i = 0; i < ct->n_parts; i++) {
			struct kgw_part_error *pe = &op->terrs[t].parts[i];
			const struct kgw_commit_part *cp = &ct->parts[i];
			if (pe->error != KG_AWAIT)
				continue;
			if (cp->metadata.len > gs->conf.offset_metadata_max_bytes) {
				pe->error = KE_OFFSET_METADATA_TOO_LARGE;
				continue;
			}
			struct kg_offset *o = &op->offs[n++];
			op->n_offs = n;
			o->topic.len = o->meta.len = -1;
			o->part = cp->partition;
			o->offset = cp->offset;
			o->epoch = cp->leader_epoch;
			o->commit_ts = cp->commit_timestamp >= 0 ? cp->commit_timestamp : now;
			o->expire_ts = q->retention_time_ms >= 0 ? now + q->retention_time_ms : -1;
			if (kg_s_set(&o->topic, ct->name) || kg_s_set(&o->meta, cp->metadata.len >= 0 ? cp->metadata : kgw_s("")))
				goto nomem;
		}
	}
	if (!n) {
		kg_commit_resp_send(gs, op);
		kg_op_free(op);
		return;
	}
	struct kg_recs rs = { 0 };
	for (int32_t i = 0; i < n; i++)
		kg_recs_offset(&rs, g, &op->offs[i]);
	op->g = g;
	op->partition = g->partition;
	g->pending_commits++;
	kg_append_recs(gs, op, &rs, now);
	return;
nomem:
	kg_commit_resp_fill(op, KE_COORDINATOR_NOT_AVAILABLE);
	kg_commit_resp_send(gs, op);
	kg_op_free(op);
}

/* ---- OffsetFetch ---- */

static int kg_ofetch_cmp(const void *a, const void *b)
{
	const struct kg_offset *x = *(const struct kg_offset *const *)a, *y = *(const struct kg_offset *const *)b;
	int32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
	int c = n > 0 ? memcmp(x->topic.p, y->topic.p, (size_t)n) : 0;
	if (c)
		return c;
	if (x->topic.len != y->topic.len)
		return x->topic.len < y->topic.len ? -1 : 1;
	return x->part < y->part ? -1 : x->part > y->part;
}

static void kg_ofetch_part(struct kgw_ofetch_part *p, int32_t part, const struct kg_offset *o, int16_t err)
{
	p->partition = part;
	p->offset = o ? o->offset : -1;
	p->leader_epoch = o ? o->epoch : -1;
	p->metadata = o ? kg_wn(o->meta) : kgw_s("");
	p->error = err;
}

/* Whether a transaction holds an offset of topic-part for g (KIP-447's "pending"). */
static bool kg_txoff_pending(const struct kg_group *g, struct kgw_str topic, int32_t part)
{
	for (int32_t i = 0; g && i < g->n_txoffs; i++)
		if (g->txoffs[i].o.part == part && kg_eq(g->txoffs[i].o.topic, topic))
			return true;
	return false;
}

void kgroups_offset_fetch(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_ofetch_req *q, int64_t now)
{
	(void)now;
	struct kgw_ofetch_resp r = { 0 };
	struct kgw_ofetch_topic *ts = NULL;
	const struct kg_offset **sorted = NULL;
	int16_t err = kg_status(gs, q->group_id, true);
	struct kg_group *g = err ? NULL : kg_find(gs, q->group_id);
	if (err && x->ver >= 2) {
		r.error = err;
		goto send;
	}
	if (q->n_topics >= 0) {
		ts = calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*ts));
		if (!ts)
			goto nomem;
		r.topics = ts;
		for (int32_t t = 0; t < q->n_topics; t++) {
			const struct kgw_fetch_topic *ft = &q->topics[t];
			ts[t].name = ft->name;
			ts[t].parts = calloc(ft->n_parts > 0 ? (size_t)ft->n_parts : 1, sizeof(*ts[t].parts));
			r.n_topics = t + 1;
			if (!ts[t].parts)
				goto nomem;
			ts[t].n_parts = ft->n_parts;
			/* Kafka: DESCRIBE on the topic, else no offset and TOPIC_AUTHORIZATION_FAILED */
			bool visible = kg_allowed(x, KGROUP_CHECK_TOPIC_DESCRIBE, ft->name);
			for (int32_t i = 0; i < ft->n_parts; i++) {
				int32_t k = g && visible ? kg_offset_idx(g, ft->name, ft->parts[i]) : -1;
				/* require_stable (v7, KIP-447): an offset a transaction still holds is
				 * UNSTABLE_OFFSET_COMMIT, so that the consumer retries once it ended */
				if (visible && !err && q->require_stable && kg_txoff_pending(g, ft->name, ft->parts[i]))
					kg_ofetch_part(&ts[t].parts[i], ft->parts[i], NULL, KE_UNSTABLE_OFFSET_COMMIT);
				else
					kg_ofetch_part(&ts[t].parts[i], ft->parts[i], k >= 0 ? &g->offs[k] : NULL,
						       visible ? err : KE_TOPIC_AUTHORIZATION_FAILED);
			}
		}
		goto send;
	}
	/* every committed offset of the group, grouped by topic */
	int32_t n = g ? g->n_offs : 0;
	if (n) {
		sorted = calloc((size_t)n, sizeof(*sorted));
		ts = calloc((size_t)n, sizeof(*ts));
		if (!sorted || !ts)
			goto nomem;
		for (int32_t i = 0; i < n; i++)
			sorted[i] = &g->offs[i];
		qsort(sorted, (size_t)n, sizeof(*sorted), kg_ofetch_cmp);
		r.topics = ts;
		for (int32_t i = 0; i < n;) {
			int32_t j = i;
			while (j < n && kg_ss_eq(sorted[j]->topic, sorted[i]->topic))
				j++;
			if (!kg_allowed(x, KGROUP_CHECK_TOPIC_DESCRIBE, kg_wn(sorted[i]->topic))) {
				i = j; /* Kafka leaves out the topics the caller may not DESCRIBE */
				continue;
			}
			struct kgw_ofetch_topic *t = &ts[r.n_topics++];
			t->name = kg_wn(sorted[i]->topic);
			t->parts = calloc((size_t)(j - i), sizeof(*t->parts));
			if (!t->parts)
				goto nomem;
			t->n_parts = j - i;
			for (int32_t k = i; k < j; k++) {
				bool pending = q->require_stable && kg_txoff_pending(g, t->name, sorted[k]->part);
				kg_ofetch_part(&t->parts[k - i], sorted[k]->part, pending ? NULL : sorted[k],
					       pending ? KE_UNSTABLE_OFFSET_COMMIT : KE_NONE);
			}
			i = j;
		}
	}
	goto send;
nomem:
	for (int32_t t = 0; ts && t < r.n_topics; t++)
		free(ts[t].parts);
	memset(&r, 0, sizeof(r));
	r.error = KE_COORDINATOR_NOT_AVAILABLE;
	r.n_topics = 0;
	r.topics = NULL;
send:
	kg_reply(gs, x->token, KGW_API_OFFSET_FETCH, x->ver, &r);
	for (int32_t t = 0; ts && t < r.n_topics; t++)
		free(ts[t].parts);
	free(ts);
	free(sorted);
}

/* ---- OffsetDelete ---- */

/* Kafka's isSubscribedToTopic: a consumer group's members' subscriptions to the selected
 * protocol (unknown, e.g. undecodable: subscribed). */
static bool kg_subscribed(const struct kg_group *g, struct kgw_str topic)
{
	for (int32_t i = 0; i < g->n_members; i++) {
		struct kgw_str meta = kg_member_meta(g->members[i], g->protocol);
		struct kgw_subscription s;
		struct kgw_arena a = { 0 };
		char eb[128];
		if (kgw_subscription_decode(meta.p, (size_t)meta.len, 0, &s, &a, eb, sizeof(eb))) {
			kgw_arena_free(&a);
			return true;
		}
		bool hit = false;
		for (int32_t k = 0; k < s.n_topics && !hit; k++)
			hit = s.topics[k].len == topic.len && (topic.len == 0 || memcmp(s.topics[k].p, topic.p, (size_t)topic.len) == 0);
		kgw_arena_free(&a);
		if (hit)
			return true;
	}
	return false;
}

void kgroups_offset_delete(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_odelete_req *q, int64_t now)
{
	struct kg_op *op = kg_topic_errors_new(KG_OP_ODELETE, q->n_topics);
	struct kgw_odelete_resp r = { 0 };
	if (!op) {
		r.error = KE_COORDINATOR_NOT_AVAILABLE;
		kg_reply(gs, x->token, KGW_API_OFFSET_DELETE, x->ver, &r);
		return;
	}
	op->token = x->token;
	op->ver = x->ver;
	/* Kafka: DELETE on the group (the whole request), then READ on each topic */
	int16_t err = kg_allowed(x, KGROUP_CHECK_GROUP_DELETE, q->group_id) ? kg_status(gs, q->group_id, false)
									    : KE_GROUP_AUTHORIZATION_FAILED;
	struct kg_group *g = err ? NULL : kg_find(gs, q->group_id);
	if (!err && !g)
		err = KE_GROUP_ID_NOT_FOUND;
	bool consumer = g && kg_eq(g->protocol_type, kgw_s("consumer"));
	if (!err && g->state != KGSTATE_EMPTY && !consumer)
		err = KE_NON_EMPTY_GROUP;
	if (err) {
		r.error = err;
		kg_reply(gs, x->token, KGW_API_OFFSET_DELETE, x->ver, &r);
		kg_op_free(op);
		return;
	}
	struct kg_recs rs = { 0 };
	for (int32_t t = 0; t < q->n_topics; t++) {
		const struct kgw_odelete_topic *ot = &q->topics[t];
		if (kg_resp_topic(op, ot->name, ot->n_parts)) {
			rs.err = ERR_NOMEM;
			break;
		}
		bool subscribed = g->state != KGSTATE_EMPTY && kg_subscribed(g, ot->name);
		bool readable = kg_allowed(x, KGROUP_CHECK_TOPIC_READ, ot->name);
		for (int32_t i = 0; i < ot->n_parts; i++) {
			struct kgw_part_error *pe = &op->terrs[t].parts[i];
			pe->partition = ot->parts[i];
			bool exists = ot->name.len > 0 && gs->ops.part_exists &&
				      gs->ops.part_exists(gs->arg, ot->name.p, (size_t)ot->name.len, ot->parts[i]);
			if (!readable) {
				pe->error = KE_TOPIC_AUTHORIZATION_FAILED;
			} else if (!exists) {
				pe->error = KE_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (subscribed) {
				pe->error = KE_GROUP_SUBSCRIBED_TO_TOPIC;
			} else {
				pe->error = KG_AWAIT;
				int32_t k = kg_offset_idx(g, ot->name, ot->parts[i]);
				if (k >= 0) {
					kg_recs_offset_tomb(&rs, g, g->offs[k].topic, g->offs[k].part);
					kg_offset_del(g, k);
				}
			}
		}
	}
	if (rs.err) {
		kg_recs_free(&rs);
		kg_commit_resp_fill(op, KE_COORDINATOR_NOT_AVAILABLE);
		kg_commit_resp_send(gs, op);
		kg_op_free(op);
		return;
	}
	op->g = g;
	op->partition = g->partition;
	if (!rs.n || !kg_resp_pending(op)) {
		kg_recs_free(&rs);
		kg_op_done(gs, op, KE_NONE, now);
		return;
	}
	kg_append_recs(gs, op, &rs, now);
}

/* ---- expiry ---- */

static bool kg_protocol_type_none(const struct kg_group *g)
{
	return g->protocol_type.len <= 0;
}

/* Kafka's cleanupGroupMetadata for g: expired offsets (KIP-211), and g itself once it is
 * Empty without offsets; tombstones appended. */
void kg_expire_group(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	if (g->pending_commits > 0)
		return;
	bool by_commit = kg_protocol_type_none(g);
	if (!by_commit && g->state != KGSTATE_EMPTY)
		return;
	struct kg_recs rs = { 0 };
	int32_t expired = 0;
	for (int32_t i = 0; i < g->n_offs;) {
		const struct kg_offset *o = &g->offs[i];
		int64_t base = (!by_commit && g->state_ts >= 0) ? g->state_ts : o->commit_ts;
		bool gone = o->expire_ts >= 0 ? now >= o->expire_ts : now - base >= gs->conf.offsets_retention_ms;
		if (!gone) {
			i++;
			continue;
		}
		kg_recs_offset_tomb(&rs, g, o->topic, o->part);
		kg_offset_del(g, i);
		expired++;
	}
	bool dead = g->state == KGSTATE_EMPTY && !g->n_offs;
	if (dead && g->generation > 0)
		kg_recs_group_tomb(&rs, g);
	if (expired)
		kg_log(gs, "group %s: %d offsets expired", kg_c(g->id), expired);
	int32_t p = g->partition;
	if (dead)
		kg_group_remove(gs, g, "empty without offsets", KE_COORDINATOR_NOT_AVAILABLE, false, now);
	if (!rs.n && !rs.err) {
		kg_recs_free(&rs);
		return;
	}
	struct kg_op *op = kg_op_new(KG_OP_TOMBS, NULL);
	if (!op) {
		kg_recs_free(&rs);
		return;
	}
	op->partition = p;
	kg_append_recs(gs, op, &rs, now);
}

/* ---- reading ---- */

bool kgroups_offsets(const struct kgroups *gs, const char *gid,
		     void (*fn)(void *arg, const char *topic, int32_t part, int64_t offset), void *arg)
{
	const struct kg_group *g = kg_find(gs, kgw_s(gid));
	if (!g || g->loading)
		return false;
	for (int32_t i = 0; i < g->n_offs; i++)
		fn(arg, kg_c(g->offs[i].topic), g->offs[i].part, g->offs[i].offset);
	return true;
}

/*
 * kgroup_append — the group coordinator's appends (part of kgroup, see kgroup.c): the group
 * metadata and offset records the core encodes (struct kg_recs), handing them to the broker
 * (struct kg_op, one per append under way, in gs->op_head), and what happens when the broker
 * reports one replicated or failed (kg_op_done: offsets applied, the assignment made Stable,
 * a static member's new id answered or reverted, DeleteGroups and OffsetCommit/OffsetDelete
 * answered, a TxnOffsetCommit's offsets made pending). Every append completes exactly once,
 * at once when the broker refuses it.
 * Everything runs on the broker's loop thread; time comes from the callers.
 */
#include "kgroup_int.h"

#include "buf.h"
#include "err.h"
#include "kerr.h"

#include <stdlib.h>
#include <string.h>

/* The biggest group metadata record this core encodes. */
#define KG_MAX_RECORD (64u << 20)

/* ---- appends ---- */

void kg_op_free(struct kg_op *op)
{
	if (!op)
		return;
	for (int32_t i = 0; i < op->n_topics; i++) {
		kg_s_free(&op->tnames[i]);
		free(op->terrs[i].parts);
	}
	free(op->tnames);
	free(op->terrs);
	for (int32_t i = 0; i < op->n_offs; i++)
		kg_offset_clear(&op->offs[i]);
	free(op->offs);
	for (int32_t i = 0; i < op->n_assign; i++) {
		kg_s_free(&op->assign_ids[i]);
		kg_s_free(&op->assign[i]);
	}
	free(op->assign_ids);
	free(op->assign);
	kg_s_free(&op->new_id);
	kg_s_free(&op->old_id);
	kg_s_free(&op->old_leader);
	kg_protos_free(op->old_protos, op->n_old_protos);
	free(op);
}

struct kg_op *kg_op_new(enum kg_opk kind, struct kg_group *g)
{
	struct kg_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->kind = kind;
	op->g = g;
	op->partition = g ? g->partition : -1;
	op->generation = g ? g->generation : -1;
	op->new_id.len = op->old_id.len = op->old_leader.len = -1;
	return op;
}

/* Kafka's mapping of an append error to what a group request answers
 * (GroupMetadataManager.storeGroup / storeOffsets). */
static int16_t kg_map_err(int16_t err, bool commit)
{
	switch (err) {
	case KE_NONE:
		return KE_NONE;
	case KE_UNKNOWN_TOPIC_OR_PARTITION:
	case KE_NOT_ENOUGH_REPLICAS:
	case KE_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case KE_REQUEST_TIMED_OUT:
	case KE_COORDINATOR_NOT_AVAILABLE:
		return KE_COORDINATOR_NOT_AVAILABLE;
	case KE_NOT_LEADER_OR_FOLLOWER:
	case KE_KAFKA_STORAGE_ERROR:
	case KE_NOT_COORDINATOR:
		return KE_NOT_COORDINATOR;
	case KE_MESSAGE_TOO_LARGE:
	case KE_RECORD_LIST_TOO_LARGE:
		return commit ? KE_INVALID_COMMIT_OFFSET_SIZE : KE_UNKNOWN_SERVER_ERROR;
	default:
		return KE_UNKNOWN_SERVER_ERROR;
	}
}

/* Hands recs to the broker for op; an append refused at once completes op at once. */
static void kg_append(struct kgroups *gs, struct kg_op *op, const struct kgroup_rec *recs, int32_t n, int64_t now)
{
	op->id = ++gs->next_op;
	op->next = gs->op_head;
	gs->op_head = op;
	int16_t rc = op->kind == KG_OP_TXN ? gs->ops.append_txn(gs->arg, op->partition, recs, n, op->id, op->pid, op->pepoch)
					   : gs->ops.append(gs->arg, op->partition, recs, n, op->id);
	if (rc != KE_NONE) {
		for (struct kg_op **pp = &gs->op_head; *pp; pp = &(*pp)->next)
			if (*pp == op) {
				*pp = op->next;
				break;
			}
		kg_op_done(gs, op, rc, now);
	}
}

void kg_recs_free(struct kg_recs *rs)
{
	for (int32_t i = 0; i < rs->n; i++)
		wbuf_free(&rs->v[i].w);
	free(rs->v);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* Adds a record: key, and the offset or group value (both NULL: a tombstone). */
static void kg_recs_add(struct kg_recs *rs, const struct kgw_key *key, const struct kgw_offset_value *ov,
			const struct kgw_group_value *gv)
{
	if (rs->err)
		return;
	if (kg_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v))) {
		rs->err = ERR_NOMEM;
		return;
	}
	struct kg_rec1 *e = &rs->v[rs->n];
	wbuf_init(&e->w, KG_MAX_RECORD);
	int rc = kgw_key_encode(&e->w, 0, key);
	e->klen = e->w.len;
	e->tomb = !ov && !gv;
	if (!rc && ov)
		rc = kgw_offset_value_encode(&e->w, 0, ov);
	if (!rc && gv)
		rc = kgw_group_value_encode(&e->w, 0, gv);
	if (rc) {
		wbuf_free(&e->w);
		rs->err = rc;
		return;
	}
	rs->n++;
}

/* The records as the append callback takes them (pointers into rs). */
static int kg_recs_fix(struct kg_recs *rs)
{
	rs->r = calloc(rs->n ? (size_t)rs->n : 1, sizeof(*rs->r));
	if (!rs->r)
		return ERR_NOMEM;
	for (int32_t i = 0; i < rs->n; i++) {
		struct kg_rec1 *e = &rs->v[i];
		rs->r[i].key = e->w.p;
		rs->r[i].klen = e->klen;
		rs->r[i].value = e->tomb ? NULL : e->w.p + e->klen;
		rs->r[i].vlen = e->tomb ? 0 : e->w.len - e->klen;
	}
	return 0;
}

static void kg_offset_key(struct kgw_key *k, const struct kg_group *g, struct kg_s topic, int32_t part)
{
	memset(k, 0, sizeof(*k));
	k->version = 1;
	k->group = kg_w(g->id);
	k->topic = kg_wn(topic);
	k->partition = part;
}

static void kg_group_key(struct kgw_key *k, const struct kg_group *g)
{
	memset(k, 0, sizeof(*k));
	k->version = KGW_KEY_GROUP;
	k->group = kg_w(g->id);
	k->topic = kgw_s(NULL);
	k->partition = -1;
}

/* The group metadata record (value v3) with assignment assign[i] for member i (NULL: each
 * member's own). */
void kg_recs_group(struct kg_recs *rs, const struct kg_group *g, const struct kgw_str *assign, int64_t now)
{
	struct kgw_key k;
	kg_group_key(&k, g);
	struct kgw_group_value v = { 0 };
	v.version = 3;
	v.protocol_type = kg_wn(g->protocol_type);
	v.generation = g->generation;
	v.protocol = kg_w(g->protocol);
	v.leader = kg_w(g->leader);
	v.current_state_timestamp = g->state_ts >= 0 ? g->state_ts : now;
	struct kgw_group_member *ms = NULL;
	if (g->n_members) {
		ms = calloc((size_t)g->n_members, sizeof(*ms));
		if (!ms) {
			rs->err = ERR_NOMEM;
			return;
		}
		for (int32_t i = 0; i < g->n_members; i++) {
			const struct kg_member *m = g->members[i];
			ms[i].member_id = kg_wn(m->id);
			ms[i].group_instance_id = kg_w(m->instance);
			ms[i].client_id = kg_wn(m->client_id);
			ms[i].client_host = kg_wn(m->client_host);
			ms[i].rebalance_timeout_ms = m->rebalance_ms;
			ms[i].session_timeout_ms = m->session_ms;
			ms[i].subscription = kg_member_meta(m, g->protocol);
			ms[i].assignment = assign ? assign[i] : kg_wn(m->assign);
		}
	}
	v.n_members = g->n_members;
	v.members = ms;
	kg_recs_add(rs, &k, NULL, &v);
	free(ms);
}

void kg_recs_offset(struct kg_recs *rs, const struct kg_group *g, const struct kg_offset *o)
{
	struct kgw_key k;
	kg_offset_key(&k, g, o->topic, o->part);
	struct kgw_offset_value v = { 0 };
	/* Kafka 2.1+: v3 (leader epoch), v1 when the commit carried a retention time */
	v.version = o->expire_ts >= 0 ? 1 : 3;
	v.offset = o->offset;
	v.leader_epoch = o->epoch;
	v.metadata = kg_wn(o->meta);
	v.commit_timestamp = o->commit_ts;
	v.expire_timestamp = o->expire_ts;
	kg_recs_add(rs, &k, &v, NULL);
}

void kg_recs_offset_tomb(struct kg_recs *rs, const struct kg_group *g, struct kg_s topic, int32_t part)
{
	struct kgw_key k;
	kg_offset_key(&k, g, topic, part);
	kg_recs_add(rs, &k, NULL, NULL);
}

void kg_recs_group_tomb(struct kg_recs *rs, const struct kg_group *g)
{
	struct kgw_key k;
	kg_group_key(&k, g);
	kg_recs_add(rs, &k, NULL, NULL);
}

/* Sends rs for op (op freed here when rs could not be built: done with UNKNOWN_SERVER_ERROR). */
void kg_append_recs(struct kgroups *gs, struct kg_op *op, struct kg_recs *rs, int64_t now)
{
	if (!rs->err)
		rs->err = kg_recs_fix(rs);
	if (rs->err) {
		kg_log(gs, "group %s: cannot encode its records: %s", op->g ? kg_c(op->g->id) : "?", err_str(rs->err));
		kg_recs_free(rs);
		kg_op_done(gs, op, KE_UNKNOWN_SERVER_ERROR, now);
		return;
	}
	kg_append(gs, op, rs->r, rs->n, now);
	kg_recs_free(rs);
}

/* Stores g's metadata with nobody waiting (Kafka's storeGroup with a logging callback). */
void kg_store_quiet(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	struct kg_op *op = kg_op_new(KG_OP_STORE, g);
	if (!op) {
		kg_log(gs, "group %s: no memory to store its metadata", kg_c(g->id));
		return;
	}
	struct kg_recs rs = { 0 };
	kg_recs_group(&rs, g, NULL, now);
	kg_append_recs(gs, op, &rs, now);
}

/* ---- the appends' completion ---- */

void kg_commit_resp_fill(struct kg_op *op, int16_t err)
{
	for (int32_t t = 0; t < op->n_topics; t++)
		for (int32_t i = 0; i < op->terrs[t].n_parts; i++)
			if (op->terrs[t].parts[i].error == KG_AWAIT)
				op->terrs[t].parts[i].error = err;
}

void kg_commit_resp_send(struct kgroups *gs, struct kg_op *op)
{
	for (int32_t t = 0; t < op->n_topics; t++)
		op->terrs[t].name = kg_wn(op->tnames[t]);
	if (op->kind == KG_OP_COMMIT) {
		struct kgw_commit_resp r = { 0 };
		r.n_topics = op->n_topics;
		r.topics = op->terrs;
		kg_reply(gs, op->token, KGW_API_OFFSET_COMMIT, op->ver, &r);
	} else {
		struct kgw_odelete_resp r = { 0 };
		r.n_topics = op->n_topics;
		r.topics = op->terrs;
		kg_reply(gs, op->token, KGW_API_OFFSET_DELETE, op->ver, &r);
	}
}

/* One part of a DeleteGroups is done (idx < 0: the request's own hold); answered when all are. */
void kg_multi_done(struct kgroups *gs, struct kg_multi *mu, int32_t idx, int16_t err)
{
	if (idx >= 0)
		mu->errs[idx] = err;
	if (--mu->outstanding > 0)
		return;
	struct kgw_delete_result *rs = calloc(mu->n ? (size_t)mu->n : 1, sizeof(*rs));
	struct kgw_delete_resp r = { 0 };
	if (rs) {
		for (int32_t i = 0; i < mu->n; i++) {
			rs[i].group_id = kg_wn(mu->ids[i]);
			rs[i].error = mu->errs[i];
		}
		r.n_results = mu->n;
		r.results = rs;
	}
	kg_reply(gs, mu->token, KGW_API_DELETE_GROUPS, mu->ver, &r);
	free(rs);
	for (int32_t i = 0; i < mu->n; i++)
		kg_s_free(&mu->ids[i]);
	free(mu->ids);
	free(mu->errs);
	free(mu);
}

/* The static member's new id could not be stored: back to the old id and protocols. */
static void kg_static_revert(struct kgroups *gs, struct kg_group *g, struct kg_op *op, int16_t err)
{
	struct kg_member *m = kg_member_find(g, kg_w(op->new_id));
	if (!m || !m->join_parked || g->state != KGSTATE_STABLE || g->generation != op->generation)
		return;
	m->join_parked = false;
	kg_join_reply_err(gs, m->join_token, m->join_ver, kg_w(op->new_id), err);
	if (kg_ss_eq(g->leader, m->id))
		kg_s_cstr(&g->leader, op->old_id.p);
	struct kg_s t = m->id;
	m->id = op->old_id;
	op->old_id = t;
	kg_protos_free(m->protos, m->n_protos);
	m->protos = op->old_protos;
	m->n_protos = op->n_old_protos;
	op->old_protos = NULL;
	op->n_old_protos = 0;
	kg_log(gs, "group %s: static member %s's new id could not be stored (error %d); it stays %s", kg_c(g->id),
	       kg_c(m->instance), err, kg_c(m->id));
}

void kg_op_done(struct kgroups *gs, struct kg_op *op, int16_t err, int64_t now)
{
	struct kg_group *g = op->g;
	if (op->gone)
		err = KE_NOT_COORDINATOR;
	switch (op->kind) {
	case KG_OP_COMMIT: {
		int16_t e = op->gone ? KE_NOT_COORDINATOR : kg_map_err(err, true);
		if (g) {
			g->pending_commits--;
			if (err == KE_NONE)
				for (int32_t i = 0; i < op->n_offs; i++)
					if (kg_offset_put(g, &op->offs[i]))
						kg_log(gs, "group %s: no memory for a committed offset", kg_c(g->id));
		}
		kg_commit_resp_fill(op, e);
		kg_commit_resp_send(gs, op);
		break;
	}
	case KG_OP_ODELETE:
		kg_commit_resp_fill(op, op->gone ? KE_NOT_COORDINATOR : kg_map_err(err, false));
		kg_commit_resp_send(gs, op);
		break;
	case KG_OP_SYNC:
		if (g && g->state == KGSTATE_COMPLETING_REBALANCE && g->generation == op->generation && g->storing) {
			g->storing = false;
			if (err != KE_NONE) {
				kg_log(gs, "group %s: storing generation %d's assignment failed (error %d)", kg_c(g->id),
				       g->generation, err);
				kg_reset_assignment(gs, g, kg_map_err(err, false), now);
				kg_maybe_prepare(gs, g, "the leader's assignment could not be stored", now);
			} else {
				for (int32_t i = 0; i < g->n_members; i++) {
					struct kg_member *m = g->members[i];
					for (int32_t k = 0; k < op->n_assign; k++)
						if (kg_ss_eq(op->assign_ids[k], m->id)) {
							kg_s_free(&m->assign);
							m->assign = op->assign[k];
							op->assign[k].p = NULL;
							op->assign[k].len = -1;
							break;
						}
				}
				kg_set_state(gs, g, KGSTATE_STABLE, "the leader's assignment is stored", now);
				for (int32_t i = 0; i < g->n_members; i++) {
					struct kg_member *m = g->members[i];
					if (m->sync_parked) {
						m->sync_parked = false;
						kg_sync_reply(gs, m->sync_token, m->sync_ver, KE_NONE, kg_wn(m->assign));
						m->last_hb = now;
					}
				}
			}
		}
		break;
	case KG_OP_STATIC_JOIN:
		if (g) {
			if (err != KE_NONE) {
				kg_static_revert(gs, g, op, kg_map_err(err, false));
			} else {
				struct kg_member *m = kg_member_find(g, kg_w(op->new_id));
				if (m && m->join_parked && g->state == KGSTATE_STABLE) {
					m->join_parked = false;
					kg_join_reply_ok(gs, g, m, m->join_token, m->join_ver, false, op->old_leader);
				}
			}
		}
		break;
	case KG_OP_DELETE:
		kg_multi_done(gs, op->multi, op->idx, op->gone ? KE_NOT_COORDINATOR : kg_map_err(err, false));
		break;
	case KG_OP_TXN: {
		int16_t e = op->gone ? KE_NOT_COORDINATOR : kg_map_err(err, true);
		for (int32_t i = 0; g && e == KE_NONE && i < op->n_offs; i++)
			if (kg_txoff_put(g, op->pid, op->pepoch, &op->offs[i]))
				e = KE_COORDINATOR_NOT_AVAILABLE;
		op->done(op->done_arg, e);
		break;
	}
	case KG_OP_STORE:
	case KG_OP_TOMBS:
		if (err != KE_NONE)
			kg_log(gs, "offsets partition %d: storing group records failed (error %d)", op->partition, err);
		break;
	}
	kg_op_free(op);
}

void kgroups_append_done(struct kgroups *gs, uint64_t id, int16_t err, int64_t now)
{
	for (struct kg_op **pp = &gs->op_head; *pp; pp = &(*pp)->next) {
		struct kg_op *op = *pp;
		if (op->id == id) {
			*pp = op->next;
			kg_op_done(gs, op, err, now);
			return;
		}
	}
	kg_log(gs, "append %llu completed but is unknown (already answered)", (unsigned long long)id);
}

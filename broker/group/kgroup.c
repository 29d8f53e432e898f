/*
 * kgroup — the group coordinator's core (see kgroup.h for the rules it implements). It owns
 * the groups of the offsets partitions this broker leads (a hash table by group id), each
 * with its members, pending member ids (KIP-394), committed offsets and the timers of its
 * rebalance; and the appends under way (struct kg_op), each remembering what to do, and whom
 * to answer, when the broker reports it replicated or failed.
 *
 * Invariants (Kafka 2.x's GroupMetadata and GroupCoordinator):
 *  - a group in the table is never Dead: a group moved to Dead (deleted, expired, unloaded) is
 *    removed at once, its parked requests answered, and the appends that referred to it
 *    forget it (op->g = NULL);
 *  - a member's parked JoinGroup (join_parked) is answered exactly once: when the rebalance
 *    completes, when the member is removed (UNKNOWN_MEMBER_ID), fenced (FENCED_INSTANCE_ID),
 *    replaced by a newer JoinGroup of the same member (REBALANCE_IN_PROGRESS) or its group is
 *    unloaded (NOT_COORDINATOR); a parked SyncGroup likewise when the leader's assignment is
 *    stored or fails, when a rebalance starts (REBALANCE_IN_PROGRESS), or as above;
 *  - only CompletingRebalance has parked SyncGroups; PreparingRebalance has a join deadline
 *    (join_deadline) and, when entered from Empty, the initial delay (Kafka's
 *    InitialDelayedJoin: delay_ms, extended while new members arrive, by remaining_ms at most);
 *  - a member's session runs from last_hb; while its JoinGroup or SyncGroup is parked it does
 *    not expire (Kafka's shouldKeepAlive), except a new member's JoinGroup after 5 minutes;
 *  - committed offsets change only when their append has been replicated (or when loaded).
 * Everything runs on the broker's loop thread; time comes from the callers.
 *
 * The core is one module in several files that share kgroup_int.h (the structs' layouts and
 * the kg_ functions one file defines and another calls): kgroup.c the group table, a group's
 * lifetime, ownership of the offsets partitions, DescribeGroups, ListGroups, DeleteGroups;
 * kgroup_rebalance.c members and rebalances (JoinGroup, SyncGroup, Heartbeat, LeaveGroup);
 * kgroup_append.c the records appended and their completion; kgroup_offsets.c committed
 * offsets (OffsetCommit, OffsetFetch, OffsetDelete, expiry); kgroup_txn.c transactional
 * offsets; kgroup_load.c loading and unloading an offsets partition.
 */
#include "kgroup_int.h"

#include "err.h"
#include "kerr.h"
#include "kgplace.h"
#include "kgstate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DescribeGroups' authorized operations without an authorizer: READ, DELETE, DESCRIBE. */
#define KG_GROUP_OPS ((1 << 3) | (1 << 6) | (1 << 8))

/* ---- small helpers ---- */

void kg_log(struct kgroups *gs, const char *fmt, ...)
{
	if (!gs->ops.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	gs->ops.log(gs->arg, line);
}

static void kg_state_log(void *arg, const char *line)
{
	struct kgroups *gs = arg;
	if (gs->ops.log)
		gs->ops.log(gs->arg, line);
}

int kg_s_set(struct kg_s *s, struct kgw_str k)
{
	struct kg_s n = { NULL, -1 };
	if (k.len >= 0) {
		n.p = malloc((size_t)k.len + 1);
		if (!n.p)
			return ERR_NOMEM;
		if (k.len)
			memcpy(n.p, k.p, (size_t)k.len);
		n.p[k.len] = 0;
		n.len = k.len;
	}
	free(s->p);
	*s = n;
	return 0;
}

int kg_s_cstr(struct kg_s *s, const char *c)
{
	return kg_s_set(s, kgw_s(c));
}

void kg_s_free(struct kg_s *s)
{
	free(s->p);
	s->p = NULL;
	s->len = -1;
}

int kg_grow(void **p, int32_t *cap, int32_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	int32_t n = *cap ? *cap : 4;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * sz);
	if (!q)
		return ERR_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}

void kg_protos_free(struct kg_proto *ps, int32_t n)
{
	for (int32_t i = 0; i < n; i++) {
		kg_s_free(&ps[i].name);
		kg_s_free(&ps[i].meta);
	}
	free(ps);
}

int kg_protos_copy(const struct kgw_join_proto *in, int32_t n, struct kg_proto **out)
{
	struct kg_proto *ps = calloc(n > 0 ? (size_t)n : 1, sizeof(*ps));
	if (!ps)
		return ERR_NOMEM;
	for (int32_t i = 0; i < n; i++) {
		ps[i].name.len = ps[i].meta.len = -1;
		if (kg_s_set(&ps[i].name, in[i].name) || kg_s_set(&ps[i].meta, in[i].metadata)) {
			kg_protos_free(ps, i + 1);
			return ERR_NOMEM;
		}
	}
	*out = ps;
	return 0;
}

int kg_offset_from(struct kg_offset *o, const struct kgw_key *k, const struct kgw_offset_value *v)
{
	*o = (struct kg_offset){ .topic = { NULL, -1 }, .meta = { NULL, -1 } };
	o->part = k->partition;
	o->offset = v->offset;
	o->epoch = v->leader_epoch;
	o->commit_ts = v->commit_timestamp;
	o->expire_ts = v->expire_timestamp;
	if (kg_s_set(&o->topic, k->topic) || kg_s_set(&o->meta, v->metadata)) {
		kg_offset_clear(o);
		return ERR_NOMEM;
	}
	return 0;
}

void kg_offset_clear(struct kg_offset *o)
{
	kg_s_free(&o->topic);
	kg_s_free(&o->meta);
}

/* Java's UUID.randomUUID().toString() shape from the core's PRNG (splitmix64). */
uint64_t kg_rand(struct kgroups *gs)
{
	uint64_t z = (gs->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void kg_reply(struct kgroups *gs, void *token, int16_t api, int16_t ver, const void *resp)
{
	gs->ops.reply(gs->arg, token, api, ver, resp);
}

/* ---- the group table ---- */

static uint64_t kg_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

struct kg_group *kg_find(const struct kgroups *gs, struct kgw_str id)
{
	if (!gs->nb || id.len < 0)
		return NULL;
	size_t b = kg_hash(id.p, (size_t)id.len) & (gs->nb - 1);
	for (struct kg_group *g = gs->buckets[b]; g; g = g->hnext)
		if (kg_eq(g->id, id))
			return g;
	return NULL;
}

static int kg_table_grow(struct kgroups *gs)
{
	if (gs->ng < gs->nb * 2 && gs->nb)
		return 0;
	size_t nb = gs->nb ? gs->nb * 4 : 64;
	struct kg_group **bs = calloc(nb, sizeof(*bs));
	if (!bs)
		return gs->nb ? 0 : ERR_NOMEM; /* a longer chain still works */
	for (size_t i = 0; i < gs->nb; i++) {
		struct kg_group *g = gs->buckets[i];
		while (g) {
			struct kg_group *n = g->hnext;
			size_t b = kg_hash((const uint8_t *)g->id.p, (size_t)g->id.len) & (nb - 1);
			g->hnext = bs[b];
			bs[b] = g;
			g = n;
		}
	}
	free(gs->buckets);
	gs->buckets = bs;
	gs->nb = nb;
	return 0;
}

struct kg_group *kg_group_add(struct kgroups *gs, struct kgw_str id, int32_t partition, int64_t now)
{
	if (kg_table_grow(gs))
		return NULL;
	struct kg_group *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->id.len = g->protocol_type.len = g->protocol.len = g->leader.len = -1;
	if (kg_s_set(&g->id, id)) {
		free(g);
		return NULL;
	}
	g->partition = partition;
	g->state = KGSTATE_EMPTY;
	g->state_ts = now;
	size_t b = kg_hash(id.p, (size_t)id.len) & (gs->nb - 1);
	g->hnext = gs->buckets[b];
	gs->buckets[b] = g;
	gs->ng++;
	return g;
}

void kg_set_state(struct kgroups *gs, struct kg_group *g, enum kgstate to, const char *why, int64_t now)
{
	kgstate_set(&g->state, to, kg_c(g->id), why, kg_state_log, gs);
	g->state_ts = now;
}

/* ---- group lifetime ---- */

static void kg_group_unlink(struct kgroups *gs, struct kg_group *g)
{
	size_t b = kg_hash((const uint8_t *)g->id.p, (size_t)g->id.len) & (gs->nb - 1);
	for (struct kg_group **pp = &gs->buckets[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == g) {
			*pp = g->hnext;
			gs->ng--;
			return;
		}
}

static void kg_offsets_free(struct kg_group *g)
{
	for (int32_t i = 0; i < g->n_offs; i++)
		kg_offset_clear(&g->offs[i]);
	free(g->offs);
	g->offs = NULL;
	g->n_offs = g->cap_offs = 0;
}

/* Frees g (not unlinked here); its parked requests answered with err. */
void kg_group_free(struct kgroups *gs, struct kg_group *g, int16_t err, bool unloaded)
{
	for (struct kg_op *op = gs->op_head; op; op = op->next)
		if (op->g == g) {
			op->g = NULL;
			op->gone = op->gone || unloaded;
		}
	for (int32_t i = 0; i < g->n_members; i++) {
		kg_member_answer_join(gs, g->members[i], err);
		kg_member_answer_sync(gs, g->members[i], err);
		kg_member_free(g->members[i]);
	}
	free(g->members);
	for (int32_t i = 0; i < g->n_pend; i++)
		kg_s_free(&g->pend[i].id);
	free(g->pend);
	kg_offsets_free(g);
	for (int32_t i = 0; i < g->n_txoffs; i++)
		kg_offset_clear(&g->txoffs[i].o);
	free(g->txoffs);
	kg_s_free(&g->id);
	kg_s_free(&g->protocol_type);
	kg_s_free(&g->protocol);
	kg_s_free(&g->leader);
	free(g->meta_raw);
	free(g);
}

/* g goes Dead and leaves the table. */
void kg_group_remove(struct kgroups *gs, struct kg_group *g, const char *why, int16_t err, bool unloaded,
		     int64_t now)
{
	if (!g->loading)
		kg_set_state(gs, g, KGSTATE_DEAD, why, now);
	kg_group_unlink(gs, g);
	kg_group_free(gs, g, err, unloaded);
}

/* ---- creation, ownership ---- */

struct kgroups *kgroups_new(const struct kgroups_conf *conf, const struct kgroups_ops *ops, void *arg)
{
	if (!conf || !ops || conf->offsets_partitions <= 0)
		return NULL;
	struct kgroups *gs = calloc(1, sizeof(*gs));
	if (!gs)
		return NULL;
	gs->conf = *conf;
	gs->ops = *ops;
	gs->arg = arg;
	gs->rng = conf->seed;
	/* append ids start at a random 2^32 boundary, so that a completion meant for an earlier
	 * core (the broker replaced it with its appends under way) cannot match one of this one */
	gs->next_op = kg_rand(gs) & 0x7fffffff00000000ULL;
	gs->next_retention = -1;
	gs->pstate = calloc((size_t)conf->offsets_partitions, 1);
	if (!gs->pstate || kg_table_grow(gs)) {
		free(gs->pstate);
		free(gs->buckets);
		free(gs);
		return NULL;
	}
	return gs;
}

void kgroups_free(struct kgroups *gs)
{
	if (!gs)
		return;
	while (gs->op_head) {
		struct kg_op *op = gs->op_head;
		gs->op_head = op->next;
		op->gone = true;
		op->g = NULL;
		kg_op_done(gs, op, KE_NOT_COORDINATOR, 0);
	}
	for (size_t b = 0; b < gs->nb; b++) {
		while (gs->buckets[b]) {
			struct kg_group *g = gs->buckets[b];
			gs->buckets[b] = g->hnext;
			kg_group_free(gs, g, KE_NOT_COORDINATOR, true);
		}
	}
	free(gs->buckets);
	free(gs->pstate);
	free(gs);
}

bool kg_p_ok(const struct kgroups *gs, int32_t p)
{
	return p >= 0 && p < gs->conf.offsets_partitions;
}

/* Kafka's validateGroupStatus; empty_ok: the APIs that accept the empty group id. */
int16_t kg_status(const struct kgroups *gs, struct kgw_str g, bool empty_ok)
{
	if (g.len < 0 || (g.len == 0 && !empty_ok))
		return KE_INVALID_GROUP_ID;
	int32_t p = kgplace_partition(g.p, (size_t)g.len, gs->conf.offsets_partitions);
	switch (gs->pstate[p]) {
	case KG_P_OWNED:
		return KE_NONE;
	case KG_P_LOADING:
		return KE_COORDINATOR_LOAD_IN_PROGRESS;
	default:
		return KE_NOT_COORDINATOR;
	}
}

int16_t kgroups_owns(const struct kgroups *gs, const uint8_t *g, size_t len)
{
	struct kgw_str s = { g, (int32_t)len };
	return kg_status(gs, s, false);
}

int32_t kg_partition_of(const struct kgroups *gs, struct kgw_str g)
{
	return kgplace_partition(g.p, (size_t)g.len, gs->conf.offsets_partitions);
}

/* Whether x may do check on name (Kafka's authorizer, through the caller). */
bool kg_allowed(const struct kgroup_ctx *x, enum kgroup_check check, struct kgw_str name)
{
	return !x->allowed || x->allowed(x->allowed_arg, check, name);
}

/* ---- DescribeGroups, ListGroups ---- */

void kgroups_describe(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_describe_req *q, int64_t now)
{
	(void)now;
	struct kgw_describe_resp r = { 0 };
	int32_t n = q->n_groups > 0 ? q->n_groups : 0;
	struct kgw_described_group *ds = calloc(n ? (size_t)n : 1, sizeof(*ds));
	if (!ds) {
		kg_reply(gs, x->token, KGW_API_DESCRIBE_GROUPS, x->ver, &r);
		return;
	}
	for (int32_t i = 0; i < n; i++) {
		struct kgw_described_group *d = &ds[i];
		d->group_id = q->groups[i];
		d->state = kgw_s("");
		d->protocol_type = kgw_s("");
		d->protocol_data = kgw_s("");
		d->authorized_operations = q->include_authorized_operations ? KG_GROUP_OPS : INT32_MIN;
		if (!kg_allowed(x, KGROUP_CHECK_GROUP_DESCRIBE, q->groups[i])) { /* Kafka: DESCRIBE on it */
			d->error = KE_GROUP_AUTHORIZATION_FAILED;
			continue;
		}
		d->error = kg_status(gs, q->groups[i], true);
		if (d->error)
			continue;
		const struct kg_group *g = kg_find(gs, q->groups[i]);
		if (!g) {
			d->state = kgw_s(kgstate_name(KGSTATE_DEAD));
			continue;
		}
		bool stable = g->state == KGSTATE_STABLE;
		d->state = kgw_s(kgstate_name(g->state));
		d->protocol_type = kg_wn(g->protocol_type);
		d->protocol_data = stable ? kg_wn(g->protocol) : kgw_s("");
		if (!g->n_members)
			continue;
		d->members = calloc((size_t)g->n_members, sizeof(*d->members));
		if (!d->members) {
			d->error = KE_COORDINATOR_NOT_AVAILABLE;
			continue;
		}
		d->n_members = g->n_members;
		for (int32_t k = 0; k < g->n_members; k++) {
			const struct kg_member *m = g->members[k];
			struct kgw_described_member *dm = &d->members[k];
			dm->member_id = kg_wn(m->id);
			dm->group_instance_id = kg_w(m->instance);
			dm->client_id = kg_wn(m->client_id);
			dm->client_host = kg_wn(m->client_host);
			dm->metadata = stable ? kg_member_meta(m, g->protocol) : kgw_s("");
			dm->assignment = stable ? kg_wn(m->assign) : kgw_s("");
		}
	}
	r.n_groups = n;
	r.groups = ds;
	kg_reply(gs, x->token, KGW_API_DESCRIBE_GROUPS, x->ver, &r);
	for (int32_t i = 0; i < n; i++)
		free(ds[i].members);
	free(ds);
}

void kgroups_list(struct kgroups *gs, const struct kgroup_ctx *x, int64_t now)
{
	(void)now;
	struct kgw_list_resp r = { 0 };
	for (int32_t p = 0; p < gs->conf.offsets_partitions; p++)
		if (gs->pstate[p] == KG_P_LOADING)
			r.error = KE_COORDINATOR_LOAD_IN_PROGRESS;
	struct kgw_listed_group *ls = calloc(gs->ng ? gs->ng : 1, sizeof(*ls));
	/* Kafka: every group with DESCRIBE on the cluster, else those the caller may DESCRIBE */
	bool all = kg_allowed(x, KGROUP_CHECK_CLUSTER_DESCRIBE, kgw_s(NULL));
	if (!ls) {
		r.error = KE_COORDINATOR_NOT_AVAILABLE;
	} else {
		for (size_t b = 0; b < gs->nb; b++)
			for (const struct kg_group *g = gs->buckets[b]; g; g = g->hnext) {
				if (g->loading || (!all && !kg_allowed(x, KGROUP_CHECK_GROUP_DESCRIBE, kg_w(g->id))))
					continue;
				ls[r.n_groups].group_id = kg_w(g->id);
				ls[r.n_groups].protocol_type = kg_wn(g->protocol_type);
				r.n_groups++;
			}
		r.groups = ls;
	}
	kg_reply(gs, x->token, KGW_API_LIST_GROUPS, x->ver, &r);
	free(ls);
}

/* ---- DeleteGroups ---- */

void kgroups_delete(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_delete_req *q, int64_t now)
{
	int32_t n = q->n_groups > 0 ? q->n_groups : 0;
	struct kg_multi *mu = calloc(1, sizeof(*mu));
	if (mu) {
		mu->ids = calloc(n ? (size_t)n : 1, sizeof(*mu->ids));
		mu->errs = calloc(n ? (size_t)n : 1, sizeof(*mu->errs));
	}
	if (!mu || !mu->ids || !mu->errs) {
		struct kgw_delete_resp r = { 0 };
		kg_reply(gs, x->token, KGW_API_DELETE_GROUPS, x->ver, &r);
		if (mu) {
			free(mu->ids);
			free(mu->errs);
			free(mu);
		}
		return;
	}
	mu->token = x->token;
	mu->ver = x->ver;
	mu->n = n;
	mu->outstanding = n + 1; /* one for this call, so that it is answered once, at the end */
	for (int32_t i = 0; i < n; i++) {
		mu->ids[i].len = -1;
		if (kg_s_set(&mu->ids[i], q->groups[i])) {
			kg_multi_done(gs, mu, i, KE_COORDINATOR_NOT_AVAILABLE);
			continue;
		}
		/* Kafka: DELETE on the group, before the coordinator sees it */
		int16_t err = kg_allowed(x, KGROUP_CHECK_GROUP_DELETE, q->groups[i]) ? kg_status(gs, q->groups[i], true)
										      : KE_GROUP_AUTHORIZATION_FAILED;
		struct kg_group *g = err ? NULL : kg_find(gs, q->groups[i]);
		if (!err && !g)
			err = KE_GROUP_ID_NOT_FOUND;
		else if (!err && g->state != KGSTATE_EMPTY)
			err = KE_NON_EMPTY_GROUP;
		struct kg_op *op = err ? NULL : kg_op_new(KG_OP_DELETE, g);
		if (!err && !op)
			err = KE_COORDINATOR_NOT_AVAILABLE;
		if (err) {
			kg_multi_done(gs, mu, i, err);
			continue;
		}
		op->multi = mu;
		op->idx = i;
		struct kg_recs rs = { 0 };
		for (int32_t k = 0; k < g->n_offs; k++)
			kg_recs_offset_tomb(&rs, g, g->offs[k].topic, g->offs[k].part);
		if (g->generation > 0) /* Kafka writes none for a group that only stored offsets */
			kg_recs_group_tomb(&rs, g);
		kg_log(gs, "group %s: deleted (%d offsets)", kg_c(g->id), g->n_offs);
		int32_t p = g->partition;
		kg_group_remove(gs, g, "deleted", KE_NOT_COORDINATOR, false, now);
		op->g = NULL;
		op->partition = p;
		if (!rs.n && !rs.err) {
			kg_recs_free(&rs);
			kg_op_done(gs, op, KE_NONE, now);
			continue;
		}
		kg_append_recs(gs, op, &rs, now);
	}
	kg_multi_done(gs, mu, -1, KE_NONE); /* the request's own hold */
}

/* ---- time ---- */

void kgroups_tick(struct kgroups *gs, int64_t now)
{
	bool retention = false;
	if (gs->next_retention < 0) {
		gs->next_retention = now + gs->conf.retention_check_interval_ms;
	} else if (now >= gs->next_retention) {
		retention = true;
		gs->next_retention = now + gs->conf.retention_check_interval_ms;
	}
	/* a group may leave the table only by kg_expire_group, on its own turn: the walk keeps
	 * the next one first */
	for (size_t b = 0; b < gs->nb; b++) {
		struct kg_group *next;
		for (struct kg_group *g = gs->buckets[b]; g; g = next) {
			next = g->hnext;
			if (g->loading)
				continue;
			kg_tick_group(gs, g, now);
			if (retention)
				kg_expire_group(gs, g, now); /* may free g */
		}
	}
}

/* ---- reading ---- */

void kgroups_each(const struct kgroups *gs, void (*fn)(void *arg, const struct kgroup_info *gi), void *arg)
{
	for (size_t b = 0; b < gs->nb; b++)
		for (const struct kg_group *g = gs->buckets[b]; g; g = g->hnext) {
			if (g->loading)
				continue;
			struct kgroup_info gi = { kg_c(g->id), kgstate_name(g->state), kg_c(g->protocol_type), g->generation,
						  g->n_members };
			fn(arg, &gi);
		}
}

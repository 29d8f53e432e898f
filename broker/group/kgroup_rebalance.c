/*
 * kgroup_rebalance — the group coordinator's members and rebalances (part of kgroup, see
 * kgroup.c): JoinGroup (new, known, pending (KIP-394) and static (KIP-345) members), the
 * rebalance itself (PreparingRebalance with its initial delay and join deadline, the new
 * generation and its protocol, the parked JoinGroups answered), SyncGroup (the leader's
 * assignment handed to the append path, followers parked), Heartbeat, LeaveGroup, and the
 * timers of a group's members (sessions, pending member ids, the join deadline).
 * Everything runs on the broker's loop thread; time comes from the callers.
 */
#include "kgroup_int.h"

#include "err.h"
#include "kerr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs. */
#define KG_NEW_MEMBER_JOIN_TIMEOUT_MS 300000

/* ---- replies ---- */

void kg_join_reply_err(struct kgroups *gs, void *token, int16_t ver, struct kgw_str member_id, int16_t err)
{
	struct kgw_join_resp r = { 0 };
	r.error = err;
	r.generation_id = -1;
	r.protocol_name = kgw_s("");
	r.leader = kgw_s("");
	r.member_id = member_id.len >= 0 ? member_id : kgw_s("");
	kg_reply(gs, token, KGW_API_JOIN_GROUP, ver, &r);
}

void kg_sync_reply(struct kgroups *gs, void *token, int16_t ver, int16_t err, struct kgw_str assign)
{
	struct kgw_sync_resp r = { 0 };
	r.error = err;
	r.assignment = assign.len >= 0 ? assign : kgw_s("");
	kg_reply(gs, token, KGW_API_SYNC_GROUP, ver, &r);
}

static void kg_hb_reply(struct kgroups *gs, void *token, int16_t ver, int16_t err)
{
	struct kgw_heartbeat_resp r = { 0 };
	r.error = err;
	kg_reply(gs, token, KGW_API_HEARTBEAT, ver, &r);
}

struct kgw_str kg_member_meta(const struct kg_member *m, struct kg_s protocol)
{
	for (int32_t i = 0; i < m->n_protos; i++)
		if (kg_ss_eq(m->protos[i].name, protocol))
			return kg_wn(m->protos[i].meta);
	return kgw_s("");
}

/* The JoinGroup answer of the current generation to member m (the leader gets the members). */
void kg_join_reply_ok(struct kgroups *gs, struct kg_group *g, const struct kg_member *m, void *token,
		      int16_t ver, bool with_members, struct kg_s leader)
{
	struct kgw_join_resp r = { 0 };
	r.generation_id = g->generation;
	r.protocol_name = kg_wn(g->protocol);
	r.leader = kg_wn(leader);
	r.member_id = kg_wn(m->id);
	struct kgw_join_member *ms = NULL;
	if (with_members && g->n_members) {
		ms = calloc((size_t)g->n_members, sizeof(*ms));
		if (!ms) {
			kg_join_reply_err(gs, token, ver, kg_w(m->id), KE_COORDINATOR_NOT_AVAILABLE);
			return;
		}
		for (int32_t i = 0; i < g->n_members; i++) {
			ms[i].member_id = kg_wn(g->members[i]->id);
			ms[i].group_instance_id = kg_w(g->members[i]->instance);
			ms[i].metadata = kg_member_meta(g->members[i], g->protocol);
		}
		r.n_members = g->n_members;
		r.members = ms;
	}
	kg_reply(gs, token, KGW_API_JOIN_GROUP, ver, &r);
	free(ms);
}

void kg_member_answer_join(struct kgroups *gs, struct kg_member *m, int16_t err)
{
	if (!m->join_parked)
		return;
	m->join_parked = false;
	kg_join_reply_err(gs, m->join_token, m->join_ver, kg_w(m->id), err);
}

void kg_member_answer_sync(struct kgroups *gs, struct kg_member *m, int16_t err)
{
	if (!m->sync_parked)
		return;
	m->sync_parked = false;
	kg_sync_reply(gs, m->sync_token, m->sync_ver, err, kgw_s(""));
}

/* ---- members ---- */

/* prefix + "-" + a UUID (KIP-394's member id; KIP-345's uses the instance id as prefix). */
static int kg_member_id(struct kgroups *gs, struct kgw_str prefix, struct kg_s *out)
{
	uint64_t hi = kg_rand(gs), lo = kg_rand(gs);
	hi = (hi & ~0xf000ULL) | 0x4000ULL;				 /* version 4 */
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* IETF variant */
	char uuid[40];
	snprintf(uuid, sizeof(uuid), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32), (unsigned)((hi >> 16) & 0xffff),
		 (unsigned)(hi & 0xffff), (unsigned)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
	size_t plen = prefix.len > 0 ? (size_t)prefix.len : 0;
	char *p = malloc(plen + 1 + strlen(uuid) + 1);
	if (!p)
		return ERR_NOMEM;
	if (plen)
		memcpy(p, prefix.p, plen);
	p[plen] = '-';
	strcpy(p + plen + 1, uuid);
	free(out->p);
	out->p = p;
	out->len = (int32_t)strlen(p); /* shorter than written when the client id has a NUL */
	return 0;
}

void kg_member_free(struct kg_member *m)
{
	if (!m)
		return;
	kg_s_free(&m->id);
	kg_s_free(&m->instance);
	kg_s_free(&m->client_id);
	kg_s_free(&m->client_host);
	kg_s_free(&m->assign);
	kg_protos_free(m->protos, m->n_protos);
	free(m);
}

static int32_t kg_member_idx(const struct kg_group *g, struct kgw_str id)
{
	for (int32_t i = 0; i < g->n_members; i++)
		if (kg_eq(g->members[i]->id, id))
			return i;
	return -1;
}

struct kg_member *kg_member_find(const struct kg_group *g, struct kgw_str id)
{
	int32_t i = kg_member_idx(g, id);
	return i < 0 ? NULL : g->members[i];
}

struct kg_member *kg_static_find(const struct kg_group *g, struct kgw_str instance)
{
	if (instance.len < 0)
		return NULL;
	for (int32_t i = 0; i < g->n_members; i++)
		if (g->members[i]->instance.p && kg_eq(g->members[i]->instance, instance))
			return g->members[i];
	return NULL;
}

/* Kafka's isStaticMemberFenced: the instance is known under another member id. */
bool kg_fenced(const struct kg_group *g, struct kgw_str member_id, struct kgw_str instance)
{
	const struct kg_member *m = kg_static_find(g, instance);
	return m && !kg_eq(m->id, member_id);
}

static int32_t kg_pending_idx(const struct kg_group *g, struct kgw_str id)
{
	for (int32_t i = 0; i < g->n_pend; i++)
		if (kg_eq(g->pend[i].id, id))
			return i;
	return -1;
}

static void kg_pending_remove(struct kg_group *g, int32_t i)
{
	kg_s_free(&g->pend[i].id);
	g->pend[i] = g->pend[--g->n_pend];
}

/* Removes member i from the array (its parked requests answered with err), fixing the leader. */
static void kg_member_drop(struct kgroups *gs, struct kg_group *g, int32_t i, int16_t err)
{
	struct kg_member *m = g->members[i];
	kg_member_answer_join(gs, m, err);
	kg_member_answer_sync(gs, m, err);
	memmove(&g->members[i], &g->members[i + 1], (size_t)(g->n_members - i - 1) * sizeof(*g->members));
	g->n_members--;
	if (kg_ss_eq(g->leader, m->id)) {
		if (g->n_members) {
			kg_s_cstr(&g->leader, g->members[0]->id.p);
		} else {
			kg_s_free(&g->leader);
		}
	}
	kg_member_free(m);
}

static int32_t kg_rebalance_timeout(const struct kg_group *g)
{
	int32_t t = 0;
	for (int32_t i = 0; i < g->n_members; i++)
		if (g->members[i]->rebalance_ms > t)
			t = g->members[i]->rebalance_ms;
	return t;
}

static bool kg_member_supports(const struct kg_member *m, struct kgw_str name)
{
	for (int32_t i = 0; i < m->n_protos; i++)
		if (kg_eq(m->protos[i].name, name))
			return true;
	return false;
}

static bool kg_all_support(const struct kg_group *g, struct kgw_str name)
{
	for (int32_t i = 0; i < g->n_members; i++)
		if (!kg_member_supports(g->members[i], name))
			return false;
	return true;
}

/* Kafka's supportsProtocols. */
static bool kg_supports(const struct kg_group *g, const struct kgw_join_req *q)
{
	if (g->n_members == 0)
		return q->protocol_type.len > 0 && q->n_protocols > 0;
	if (!kg_eq(g->protocol_type, q->protocol_type))
		return false;
	for (int32_t i = 0; i < q->n_protocols; i++)
		if (kg_all_support(g, q->protocols[i].name))
			return true;
	return false;
}

/* Kafka's selectProtocol: among the protocols every member supports, the one most members
 * prefer (their first such); a tie goes to the one the first member prefers. */
static struct kg_s kg_select_protocol(const struct kg_group *g)
{
	struct kg_s none = { NULL, -1 };
	if (!g->n_members)
		return none;
	const struct kg_member *first = g->members[0];
	int32_t best = -1, best_votes = -1;
	for (int32_t c = 0; c < first->n_protos; c++) {
		struct kgw_str name = kg_w(first->protos[c].name);
		if (!kg_all_support(g, name))
			continue;
		int32_t votes = 0;
		for (int32_t i = 0; i < g->n_members; i++) {
			const struct kg_member *m = g->members[i];
			for (int32_t k = 0; k < m->n_protos; k++) {
				if (kg_all_support(g, kg_w(m->protos[k].name))) {
					votes += kg_eq(m->protos[k].name, name);
					break;
				}
			}
		}
		if (votes > best_votes) {
			best = c;
			best_votes = votes;
		}
	}
	if (best < 0) /* no common protocol (cannot pass kg_supports): the first member's */
		best = first->n_protos ? 0 : -1;
	return best < 0 ? none : first->protos[best].name;
}

static bool kg_member_matches(const struct kg_member *m, const struct kgw_join_req *q)
{
	if (m->n_protos != q->n_protocols)
		return false;
	for (int32_t i = 0; i < q->n_protocols; i++)
		if (!kg_eq(m->protos[i].name, q->protocols[i].name) || !kg_eq(m->protos[i].meta, q->protocols[i].metadata))
			return false;
	return true;
}

/* ---- rebalances ---- */

static void kg_try_complete_join(struct kgroups *gs, struct kg_group *g, int64_t now);

/* The membership checks SyncGroup and Heartbeat share (see kgroup_int.h). */
int16_t kg_member_check(const struct kg_group *g, struct kgw_str member_id, struct kgw_str instance,
			int32_t generation, struct kg_member **out)
{
	struct kg_member *m = g ? kg_member_find(g, member_id) : NULL;
	*out = NULL;
	if (!g)
		return KE_UNKNOWN_MEMBER_ID;
	if (kg_fenced(g, member_id, instance))
		return KE_FENCED_INSTANCE_ID;
	if (!m)
		return KE_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return KE_ILLEGAL_GENERATION;
	if (g->state == KGSTATE_EMPTY)
		return KE_UNKNOWN_MEMBER_ID;
	*out = m;
	return KE_NONE;
}

/* Kafka's resetAndPropagateAssignmentError: every parked SyncGroup gets err. */
void kg_reset_assignment(struct kgroups *gs, struct kg_group *g, int16_t err, int64_t now)
{
	for (int32_t i = 0; i < g->n_members; i++) {
		struct kg_member *m = g->members[i];
		kg_s_free(&m->assign);
		if (m->sync_parked) {
			kg_member_answer_sync(gs, m, err);
			m->last_hb = now;
		}
	}
}

static void kg_prepare_rebalance(struct kgroups *gs, struct kg_group *g, const char *why, int64_t now)
{
	if (g->state == KGSTATE_COMPLETING_REBALANCE)
		kg_reset_assignment(gs, g, KE_REBALANCE_IN_PROGRESS, now);
	g->storing = false;
	if (g->state == KGSTATE_EMPTY) {
		int32_t rt = kg_rebalance_timeout(g), d = gs->conf.initial_rebalance_delay_ms;
		g->initial_delay = true;
		g->new_member_added = false;
		g->delay_ms = d;
		g->remaining_ms = rt - d > 0 ? rt - d : 0;
		g->join_deadline = now + d;
	} else {
		g->initial_delay = false;
		g->join_deadline = now + kg_rebalance_timeout(g);
	}
	kg_set_state(gs, g, KGSTATE_PREPARING_REBALANCE, why, now);
	kg_try_complete_join(gs, g, now);
}

void kg_maybe_prepare(struct kgroups *gs, struct kg_group *g, const char *why, int64_t now)
{
	if (g->state == KGSTATE_STABLE || g->state == KGSTATE_COMPLETING_REBALANCE || g->state == KGSTATE_EMPTY)
		kg_prepare_rebalance(gs, g, why, now);
}

/* Kafka's maybeElectNewJoinedLeader. */
static bool kg_elect_joined_leader(struct kg_group *g)
{
	if (!g->leader.p)
		return false;
	struct kg_member *l = kg_member_find(g, kg_w(g->leader));
	if (l && l->join_parked)
		return true;
	for (int32_t i = 0; i < g->n_members; i++)
		if (g->members[i]->join_parked)
			return kg_s_cstr(&g->leader, g->members[i]->id.p) == 0;
	return false;
}

/* Kafka's onCompleteJoin. */
static void kg_complete_join(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	/* dynamic members that did not rejoin in time are removed */
	for (int32_t i = 0; i < g->n_members;) {
		struct kg_member *m = g->members[i];
		if (!m->join_parked && !m->instance.p) {
			kg_log(gs, "group %s: member %s removed: it did not rejoin within the rebalance timeout", kg_c(g->id),
			       kg_c(m->id));
			kg_member_drop(gs, g, i, KE_UNKNOWN_MEMBER_ID);
		} else {
			i++;
		}
	}
	if (!kg_elect_joined_leader(g) && g->n_members) {
		kg_log(gs, "group %s: no member rejoined; waiting another rebalance timeout", kg_c(g->id));
		g->initial_delay = false;
		g->join_deadline = now + kg_rebalance_timeout(g);
		return;
	}
	g->generation++;
	g->initial_delay = false;
	if (!g->n_members) {
		kg_s_free(&g->protocol);
		kg_s_free(&g->leader);
		kg_set_state(gs, g, KGSTATE_EMPTY, "no member left", now);
		kg_log(gs, "group %s: generation %d is empty", kg_c(g->id), g->generation);
		kg_store_quiet(gs, g, now);
		return;
	}
	struct kg_s p = kg_select_protocol(g);
	if (kg_s_cstr(&g->protocol, p.p)) {
		kg_s_free(&g->protocol);
	}
	kg_set_state(gs, g, KGSTATE_COMPLETING_REBALANCE, "every member rejoined or the rebalance timeout passed", now);
	kg_log(gs, "group %s: generation %d with %d members, protocol %s, leader %s", kg_c(g->id), g->generation,
	       g->n_members, kg_c(g->protocol), kg_c(g->leader));
	for (int32_t i = 0; i < g->n_members; i++) {
		struct kg_member *m = g->members[i];
		if (m->join_parked) {
			m->join_parked = false;
			kg_join_reply_ok(gs, g, m, m->join_token, m->join_ver, kg_ss_eq(g->leader, m->id), g->leader);
		}
		m->last_hb = now;
		m->is_new = false;
	}
}

static bool kg_all_joined(const struct kg_group *g)
{
	if (g->n_pend)
		return false;
	for (int32_t i = 0; i < g->n_members; i++)
		if (!g->members[i]->join_parked)
			return false;
	return true;
}

/* Kafka's DelayedJoin.tryComplete (the initial delay never completes early). */
static void kg_try_complete_join(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	if (g->state == KGSTATE_PREPARING_REBALANCE && !g->initial_delay && kg_all_joined(g))
		kg_complete_join(gs, g, now);
}

/* The join deadline passed (DelayedJoin / InitialDelayedJoin expired). */
static void kg_join_expired(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	if (g->initial_delay && g->new_member_added && g->remaining_ms != 0) {
		int32_t d = gs->conf.initial_rebalance_delay_ms;
		int32_t delay = d < g->remaining_ms ? d : g->remaining_ms;
		int32_t rem = g->remaining_ms - g->delay_ms;
		g->new_member_added = false;
		g->delay_ms = delay;
		g->remaining_ms = rem > 0 ? rem : 0;
		g->join_deadline = now + delay;
		return;
	}
	kg_complete_join(gs, g, now);
}

/* Kafka's removeMemberAndUpdateGroup. */
static void kg_remove_member(struct kgroups *gs, struct kg_group *g, int32_t i, const char *why, int64_t now)
{
	kg_member_drop(gs, g, i, KE_UNKNOWN_MEMBER_ID);
	switch (g->state) {
	case KGSTATE_STABLE:
	case KGSTATE_COMPLETING_REBALANCE:
		kg_maybe_prepare(gs, g, why, now);
		break;
	case KGSTATE_PREPARING_REBALANCE:
		kg_try_complete_join(gs, g, now);
		break;
	default:
		break;
	}
}

/* ---- JoinGroup ---- */

/* Kafka's addMemberAndRebalance. Takes *id (left null). */
static void kg_add_member(struct kgroups *gs, struct kg_group *g, const struct kgroup_ctx *x,
			  const struct kgw_join_req *q, struct kg_s *id, int64_t now)
{
	struct kg_member *m = calloc(1, sizeof(*m));
	if (!m) {
		kg_s_free(id);
		goto nomem;
	}
	m->id = *id;
	id->p = NULL;
	id->len = -1;
	m->instance.len = m->client_id.len = m->client_host.len = m->assign.len = -1;
	if (kg_grow((void **)&g->members, &g->cap_members, g->n_members + 1, sizeof(*g->members)) ||
	    kg_s_set(&m->instance, q->group_instance_id) || kg_s_cstr(&m->client_id, x->client_id ? x->client_id : "") ||
	    kg_s_cstr(&m->client_host, x->client_host ? x->client_host : "") ||
	    kg_protos_copy(q->protocols, q->n_protocols, &m->protos))
		goto nomem;
	m->n_protos = q->n_protocols;
	if (!g->n_members && kg_s_set(&g->protocol_type, q->protocol_type))
		goto nomem;
	m->session_ms = q->session_timeout_ms;
	m->rebalance_ms = q->rebalance_timeout_ms >= 0 ? q->rebalance_timeout_ms : q->session_timeout_ms;
	m->is_new = true;
	m->last_hb = now;
	m->join_parked = true;
	m->join_token = x->token;
	m->join_ver = x->ver;
	if (g->state == KGSTATE_PREPARING_REBALANCE && g->generation == 0)
		g->new_member_added = true;
	g->members[g->n_members++] = m;
	if (!g->leader.p)
		kg_s_cstr(&g->leader, m->id.p);
	int32_t pi = kg_pending_idx(g, kg_w(m->id));
	if (pi >= 0)
		kg_pending_remove(g, pi);
	kg_log(gs, "group %s: member %s joins (client %s, host %s%s%s)", kg_c(g->id), kg_c(m->id), kg_c(m->client_id),
	       kg_c(m->client_host), m->instance.p ? ", instance " : "", m->instance.p ? m->instance.p : "");
	char why[300];
	snprintf(why, sizeof(why), "adding new member %s", kg_c(m->id));
	kg_maybe_prepare(gs, g, why, now);
	return;
nomem:
	kg_member_free(m);
	kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
}

/* Kafka's updateMemberAndRebalance. */
static void kg_update_member(struct kgroups *gs, struct kg_group *g, struct kg_member *m, const struct kgroup_ctx *x,
			     const struct kgw_join_req *q, int64_t now)
{
	struct kg_proto *ps;
	if (kg_protos_copy(q->protocols, q->n_protocols, &ps)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	kg_protos_free(m->protos, m->n_protos);
	m->protos = ps;
	m->n_protos = q->n_protocols;
	m->session_ms = q->session_timeout_ms;
	m->rebalance_ms = q->rebalance_timeout_ms >= 0 ? q->rebalance_timeout_ms : q->session_timeout_ms;
	/* a newer JoinGroup of the same member replaces the parked one, which still gets an answer */
	kg_member_answer_join(gs, m, KE_REBALANCE_IN_PROGRESS);
	m->join_parked = true;
	m->join_token = x->token;
	m->join_ver = x->ver;
	char why[300];
	snprintf(why, sizeof(why), "member %s rejoins", kg_c(m->id));
	kg_maybe_prepare(gs, g, why, now);
}

/* Kafka's updateStaticMemberAndRebalance: instance q->group_instance_id, known as m, joins
 * with an unknown member id: m takes new_id and the old id is fenced. */
static void kg_static_rejoin(struct kgroups *gs, struct kg_group *g, struct kg_member *m, const struct kgroup_ctx *x,
			     const struct kgw_join_req *q, struct kg_s *new_id, int64_t now)
{
	struct kg_op *op = kg_op_new(KG_OP_STATIC_JOIN, g);
	struct kg_proto *ps = NULL;
	if (!op || kg_protos_copy(q->protocols, q->n_protocols, &ps) || kg_s_set(&op->new_id, kg_w(*new_id)) ||
	    kg_s_set(&op->old_leader, kg_w(g->leader))) {
		kg_protos_free(ps, ps ? q->n_protocols : 0);
		kg_op_free(op);
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	kg_log(gs, "group %s: static member %s rejoins as %s; %s is fenced", kg_c(g->id), kg_c(m->instance), kg_c(*new_id),
	       kg_c(m->id));
	/* the old id's parked requests are fenced (Kafka 2.5+) */
	kg_member_answer_join(gs, m, KE_FENCED_INSTANCE_ID);
	kg_member_answer_sync(gs, m, KE_FENCED_INSTANCE_ID);
	if (kg_ss_eq(g->leader, m->id))
		kg_s_cstr(&g->leader, new_id->p);
	op->old_id = m->id;
	m->id = *new_id;
	new_id->p = NULL;
	new_id->len = -1;
	m->last_hb = now;
	op->old_protos = m->protos;
	op->n_old_protos = m->n_protos;
	m->protos = ps;
	m->n_protos = q->n_protocols;
	m->join_parked = true;
	m->join_token = x->token;
	m->join_ver = x->ver;
	switch (g->state) {
	case KGSTATE_STABLE: {
		struct kg_s next = kg_select_protocol(g);
		if (kg_ss_eq(g->protocol, next)) {
			/* nothing changes for the others: store the new id and answer once stored */
			struct kg_recs rs = { 0 };
			kg_recs_group(&rs, g, NULL, now);
			kg_append_recs(gs, op, &rs, now);
			return;
		}
		kg_maybe_prepare(gs, g, "a static member rejoins with other protocols", now);
		break;
	}
	case KGSTATE_COMPLETING_REBALANCE:
		kg_prepare_rebalance(gs, g, "a static member rejoins while the assignment is pending", now);
		break;
	default: /* PreparingRebalance: it is part of the rebalance under way */
		break;
	}
	kg_op_free(op);
}

static void kg_join_unknown(struct kgroups *gs, struct kg_group *g, const struct kgroup_ctx *x,
			    const struct kgw_join_req *q, int64_t now)
{
	if (!kg_supports(g, q)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	bool is_static = q->group_instance_id.len >= 0;
	struct kg_s id = { NULL, -1 };
	if (kg_member_id(gs, is_static ? q->group_instance_id : kgw_s(x->client_id ? x->client_id : ""), &id)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	struct kg_member *sm = kg_static_find(g, q->group_instance_id);
	if (sm) {
		kg_static_rejoin(gs, g, sm, x, q, &id, now);
	} else if (x->ver >= 4 && !is_static) {
		/* KIP-394: the member must come back with this id */
		if (kg_grow((void **)&g->pend, &g->cap_pend, g->n_pend + 1, sizeof(*g->pend))) {
			kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
		} else {
			g->pend[g->n_pend].id = id;
			g->pend[g->n_pend].deadline = now + q->session_timeout_ms;
			g->n_pend++;
			kg_join_reply_err(gs, x->token, x->ver, kg_w(id), KE_MEMBER_ID_REQUIRED);
			id.p = NULL;
		}
	} else {
		kg_add_member(gs, g, x, q, &id, now);
	}
	kg_s_free(&id);
}

static void kg_join_known(struct kgroups *gs, struct kg_group *g, const struct kgroup_ctx *x,
			  const struct kgw_join_req *q, int64_t now)
{
	if (!kg_supports(g, q)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	int32_t pi = kg_pending_idx(g, q->member_id);
	if (pi >= 0) {
		if (q->group_instance_id.len >= 0) { /* a pending id is never a static member's */
			kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_UNKNOWN_MEMBER_ID);
			return;
		}
		struct kg_s id = { NULL, -1 };
		if (kg_s_set(&id, q->member_id)) {
			kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
			return;
		}
		kg_add_member(gs, g, x, q, &id, now);
		return;
	}
	if (kg_fenced(g, q->member_id, q->group_instance_id)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_FENCED_INSTANCE_ID);
		return;
	}
	struct kg_member *m = kg_member_find(g, q->member_id);
	if (!m || (q->group_instance_id.len >= 0 && !kg_static_find(g, q->group_instance_id))) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_UNKNOWN_MEMBER_ID);
		return;
	}
	switch (g->state) {
	case KGSTATE_PREPARING_REBALANCE:
		kg_update_member(gs, g, m, x, q, now);
		break;
	case KGSTATE_COMPLETING_REBALANCE:
		if (kg_member_matches(m, q))
			kg_join_reply_ok(gs, g, m, x->token, x->ver, kg_ss_eq(g->leader, m->id), g->leader);
		else
			kg_update_member(gs, g, m, x, q, now);
		break;
	case KGSTATE_STABLE:
		if (kg_ss_eq(g->leader, m->id) || !kg_member_matches(m, q))
			kg_update_member(gs, g, m, x, q, now);
		else
			kg_join_reply_ok(gs, g, m, x->token, x->ver, false, g->leader);
		break;
	default:
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_UNKNOWN_MEMBER_ID);
		break;
	}
}

void kgroups_join(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_join_req *q, int64_t now)
{
	int16_t err = kg_status(gs, q->group_id, false);
	if (err) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, err);
		return;
	}
	if (q->session_timeout_ms < gs->conf.min_session_timeout_ms || q->session_timeout_ms > gs->conf.max_session_timeout_ms) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_INVALID_SESSION_TIMEOUT);
		return;
	}
	bool unknown = q->member_id.len <= 0;
	struct kg_group *g = kg_find(gs, q->group_id);
	if (!g) {
		if (!unknown) {
			kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_UNKNOWN_MEMBER_ID);
			return;
		}
		g = kg_group_add(gs, q->group_id, kg_partition_of(gs, q->group_id), now);
		if (!g) {
			kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_COORDINATOR_NOT_AVAILABLE);
			return;
		}
	}
	if (unknown && g->n_members >= gs->conf.max_size && !kg_static_find(g, q->group_instance_id)) {
		kg_join_reply_err(gs, x->token, x->ver, q->member_id, KE_GROUP_MAX_SIZE_REACHED);
		return;
	}
	if (unknown)
		kg_join_unknown(gs, g, x, q, now);
	else
		kg_join_known(gs, g, x, q, now);
	/* g is still in the table: a join never removes a group */
	kg_try_complete_join(gs, g, now);
	if (g->state == KGSTATE_PREPARING_REBALANCE && g->join_deadline <= now) /* a zero initial delay */
		kg_join_expired(gs, g, now);
}

/* ---- SyncGroup ---- */

static void kg_sync_store(struct kgroups *gs, struct kg_group *g, const struct kgw_sync_req *q, int64_t now)
{
	struct kg_op *op = kg_op_new(KG_OP_SYNC, g);
	struct kgw_str *as = calloc(g->n_members ? (size_t)g->n_members : 1, sizeof(*as));
	if (!op || !as)
		goto nomem;
	op->assign_ids = calloc(g->n_members ? (size_t)g->n_members : 1, sizeof(*op->assign_ids));
	op->assign = calloc(g->n_members ? (size_t)g->n_members : 1, sizeof(*op->assign));
	if (!op->assign_ids || !op->assign)
		goto nomem;
	for (int32_t i = 0; i < g->n_members; i++) {
		struct kg_member *m = g->members[i];
		as[i] = kgw_s("");
		for (int32_t k = 0; k < q->n_assignments; k++)
			if (kg_eq(m->id, q->assignments[k].member_id)) {
				as[i] = q->assignments[k].assignment.len >= 0 ? q->assignments[k].assignment : kgw_s("");
				/* the last one for a member wins, as in Kafka's map */
			}
		op->assign_ids[i].len = op->assign[i].len = -1;
		op->n_assign = i + 1;
		if (kg_s_set(&op->assign_ids[i], kg_w(m->id)) || kg_s_set(&op->assign[i], as[i]))
			goto nomem;
	}
	g->storing = true;
	kg_log(gs, "group %s: assignment of generation %d received from leader %s", kg_c(g->id), g->generation,
	       kg_c(g->leader));
	struct kg_recs rs = { 0 };
	kg_recs_group(&rs, g, as, now);
	free(as);
	kg_append_recs(gs, op, &rs, now);
	return;
nomem:
	free(as);
	kg_op_free(op);
	kg_reset_assignment(gs, g, KE_COORDINATOR_NOT_AVAILABLE, now);
	kg_maybe_prepare(gs, g, "no memory to store the assignment", now);
}

void kgroups_sync(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_sync_req *q, int64_t now)
{
	int16_t err = kg_status(gs, q->group_id, false);
	if (err) {
		/* a loading group will be rebalanced once loaded */
		kg_sync_reply(gs, x->token, x->ver, err == KE_COORDINATOR_LOAD_IN_PROGRESS ? KE_REBALANCE_IN_PROGRESS : err,
			      kgw_s(""));
		return;
	}
	struct kg_group *g = kg_find(gs, q->group_id);
	struct kg_member *m = NULL;
	err = kg_member_check(g, q->member_id, q->group_instance_id, q->generation_id, &m);
	if (!err && g->state == KGSTATE_PREPARING_REBALANCE)
		err = KE_REBALANCE_IN_PROGRESS;
	if (err) {
		kg_sync_reply(gs, x->token, x->ver, err, kgw_s(""));
		return;
	}
	if (g->state == KGSTATE_STABLE) {
		m->last_hb = now;
		kg_sync_reply(gs, x->token, x->ver, KE_NONE, kg_wn(m->assign));
		return;
	}
	/* CompletingRebalance: parked until the leader's assignment is stored */
	kg_member_answer_sync(gs, m, KE_REBALANCE_IN_PROGRESS);
	m->sync_parked = true;
	m->sync_token = x->token;
	m->sync_ver = x->ver;
	if (kg_ss_eq(g->leader, m->id) && !g->storing)
		kg_sync_store(gs, g, q, now);
}

/* ---- Heartbeat ---- */

void kgroups_heartbeat(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_heartbeat_req *q, int64_t now)
{
	int16_t err = kg_status(gs, q->group_id, false);
	if (err) {
		/* Kafka answers a loading group's heartbeats blindly */
		kg_hb_reply(gs, x->token, x->ver, err == KE_COORDINATOR_LOAD_IN_PROGRESS ? KE_NONE : err);
		return;
	}
	struct kg_group *g = kg_find(gs, q->group_id);
	struct kg_member *m = NULL;
	err = kg_member_check(g, q->member_id, q->group_instance_id, q->generation_id, &m);
	if (!err) {
		m->last_hb = now;
		/* CompletingRebalance: a member may heartbeat once it has its JoinGroup answer */
		err = g->state == KGSTATE_PREPARING_REBALANCE ? KE_REBALANCE_IN_PROGRESS : KE_NONE;
	}
	kg_hb_reply(gs, x->token, x->ver, err);
}

/* ---- LeaveGroup ---- */

static int16_t kg_leave_one(struct kgroups *gs, struct kg_group *g, struct kgw_str member_id, struct kgw_str instance,
			    int64_t now)
{
	if (member_id.len > 0 && kg_fenced(g, member_id, instance))
		return KE_FENCED_INSTANCE_ID;
	int32_t pi = kg_pending_idx(g, member_id);
	if (pi >= 0) {
		if (instance.len >= 0)
			return KE_UNKNOWN_MEMBER_ID;
		kg_log(gs, "group %s: pending member %.*s leaves", kg_c(g->id), (int)member_id.len, (const char *)member_id.p);
		kg_pending_remove(g, pi);
		kg_try_complete_join(gs, g, now);
		return KE_NONE;
	}
	struct kg_member *m = kg_static_find(g, instance);
	if (!m)
		m = kg_member_find(g, member_id);
	if (!m)
		return KE_UNKNOWN_MEMBER_ID;
	int32_t i = kg_member_idx(g, kg_w(m->id));
	char why[300];
	snprintf(why, sizeof(why), "member %s left", kg_c(m->id));
	kg_log(gs, "group %s: member %s leaves", kg_c(g->id), kg_c(m->id));
	kg_remove_member(gs, g, i, why, now);
	return KE_NONE;
}

void kgroups_leave(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_leave_req *q, int64_t now)
{
	struct kgw_leave_resp r = { 0 };
	struct kgw_leave_member one = { q->member_id, { NULL, -1 } };
	const struct kgw_leave_member *ms = x->ver >= 3 ? q->members : &one;
	int32_t n = x->ver >= 3 ? q->n_members : 1;
	struct kgw_leave_member_resp *mr = NULL;
	if (n > 0) {
		mr = calloc((size_t)n, sizeof(*mr));
		if (!mr) {
			r.error = KE_COORDINATOR_NOT_AVAILABLE;
			kg_reply(gs, x->token, KGW_API_LEAVE_GROUP, x->ver, &r);
			return;
		}
	}
	r.error = kg_status(gs, q->group_id, false);
	struct kg_group *g = r.error ? NULL : kg_find(gs, q->group_id);
	if (!r.error) {
		for (int32_t i = 0; i < n; i++) {
			mr[i].member_id = ms[i].member_id.len >= 0 ? ms[i].member_id : kgw_s("");
			mr[i].group_instance_id = ms[i].group_instance_id;
			/* g stays in the table: leaving never removes a group */
			mr[i].error = g ? kg_leave_one(gs, g, ms[i].member_id, ms[i].group_instance_id, now) : KE_UNKNOWN_MEMBER_ID;
		}
		if (x->ver >= 3) {
			r.n_members = n;
			r.members = mr;
		} else if (n == 1) {
			r.error = mr[0].error;
		}
	}
	kg_reply(gs, x->token, KGW_API_LEAVE_GROUP, x->ver, &r);
	free(mr);
}

/* ---- the members' timers ---- */

void kg_tick_group(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	for (int32_t i = 0; i < g->n_pend;) {
		if (g->pend[i].deadline <= now) {
			kg_log(gs, "group %s: pending member %s expired", kg_c(g->id), kg_c(g->pend[i].id));
			kg_pending_remove(g, i);
			kg_try_complete_join(gs, g, now);
		} else {
			i++;
		}
	}
	for (int32_t i = 0; i < g->n_members;) {
		struct kg_member *m = g->members[i];
		bool expired;
		if (m->join_parked)
			expired = m->is_new && m->last_hb + KG_NEW_MEMBER_JOIN_TIMEOUT_MS <= now;
		else if (m->sync_parked)
			expired = false;
		else
			expired = m->last_hb + m->session_ms <= now;
		if (!expired) {
			i++;
			continue;
		}
		kg_log(gs, "group %s: member %s expired (session timeout %d ms)", kg_c(g->id), kg_c(m->id), m->session_ms);
		char why[300];
		snprintf(why, sizeof(why), "member %s's session expired", kg_c(m->id));
		kg_remove_member(gs, g, i, why, now);
		i = 0; /* the array changed; members already checked are not expired */
	}
	if (g->state == KGSTATE_PREPARING_REBALANCE && g->join_deadline <= now)
		kg_join_expired(gs, g, now);
}

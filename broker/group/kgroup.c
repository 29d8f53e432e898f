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
 */
#include "kgroup.h"

#include "buf.h"
#include "err.h"
#include "kerr.h"
#include "kgplace.h"
#include "kgstate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs. */
#define KG_NEW_MEMBER_JOIN_TIMEOUT_MS 300000
/* The biggest group metadata record this core encodes. */
#define KG_MAX_RECORD (64u << 20)
/* DescribeGroups' authorized operations without an authorizer: READ, DELETE, DESCRIBE. */
#define KG_GROUP_OPS ((1 << 3) | (1 << 6) | (1 << 8))
/* A commit partition error still waiting for its append. */
#define KG_AWAIT INT16_MIN

enum kg_pstate { KG_P_NONE, KG_P_LOADING, KG_P_OWNED };

/* An owned copy of a Kafka string or bytes: p NUL-terminated, NULL (len -1) for null. */
struct kg_s {
	char *p;
	int32_t len;
};

struct kg_proto {
	struct kg_s name;
	struct kg_s meta;
};

struct kg_member {
	struct kg_s id;
	struct kg_s instance; /* group.instance.id (KIP-345), null for a dynamic member */
	struct kg_s client_id;
	struct kg_s client_host;
	int32_t session_ms;
	int32_t rebalance_ms;
	int32_t n_protos;
	struct kg_proto *protos;
	struct kg_s assign;
	int64_t last_hb;
	bool is_new; /* joined in the rebalance under way */
	bool join_parked;
	void *join_token;
	int16_t join_ver;
	bool sync_parked;
	void *sync_token;
	int16_t sync_ver;
};

struct kg_pending {
	struct kg_s id;
	int64_t deadline;
};

struct kg_offset {
	struct kg_s topic;
	int32_t part;
	int64_t offset;
	int32_t epoch;
	struct kg_s meta;
	int64_t commit_ts;
	int64_t expire_ts; /* -1: by retention */
};

/* An offset committed inside a transaction (TxnOffsetCommit): visible once the commit marker
 * of its producer is written to the group's offsets partition, dropped at the abort marker. */
struct kg_txoff {
	int64_t pid;
	int16_t epoch;
	struct kg_offset o;
};

struct kg_group {
	struct kg_group *hnext;
	struct kg_s id;
	int32_t partition;
	bool loading; /* being built from its partition's records */
	enum kgstate state;
	int64_t state_ts; /* Kafka's currentStateTimestamp; -1 unknown */
	struct kg_s protocol_type; /* null or empty: none */
	struct kg_s protocol;	   /* the generation's protocol, null when none */
	int32_t generation;
	struct kg_s leader; /* null when no member */
	struct kg_member **members;
	int32_t n_members, cap_members;
	struct kg_pending *pend;
	int32_t n_pend, cap_pend;
	struct kg_offset *offs;
	int32_t n_offs, cap_offs;
	int32_t pending_commits; /* commit appends under way */
	struct kg_txoff *txoffs; /* TxnOffsetCommit's offsets, until their transaction ends */
	int32_t n_txoffs, cap_txoffs;
	/* PreparingRebalance */
	int64_t join_deadline;
	bool initial_delay;
	bool new_member_added;
	int32_t delay_ms, remaining_ms;
	/* CompletingRebalance: the leader's assignment is being stored */
	bool storing;
	/* loading: the last group metadata record (a copy), or none */
	uint8_t *meta_raw;
	size_t meta_len;
};

enum kg_opk {
	KG_OP_COMMIT,	   /* answers an OffsetCommit; applies its offsets on success */
	KG_OP_SYNC,	   /* the leader's assignment: Stable on success */
	KG_OP_STATIC_JOIN, /* a static member's new id stored in Stable (KIP-345) */
	KG_OP_STORE,	   /* group metadata, nobody waiting (group became Empty) */
	KG_OP_DELETE,	   /* tombstones of one group of a DeleteGroups */
	KG_OP_ODELETE,	   /* tombstones of an OffsetDelete */
	KG_OP_TOMBS,	   /* tombstones of expired offsets and groups, nobody waiting */
	KG_OP_TXN,	   /* a TxnOffsetCommit's transactional batch: its offsets pending on success */
};

/* A DeleteGroups request answered once every group's tombstones are stored. */
struct kg_multi {
	void *token;
	int16_t ver;
	int32_t n;
	struct kg_s *ids;
	int16_t *errs;
	int32_t outstanding;
};

struct kg_op {
	struct kg_op *next;
	uint64_t id;
	int32_t partition;
	enum kg_opk kind;
	struct kg_group *g; /* NULL once the group is gone */
	bool gone;	    /* the partition was unloaded: answer NOT_COORDINATOR */
	int32_t generation;
	/* COMMIT / ODELETE: the reply */
	void *token;
	int16_t ver;
	int32_t n_topics;
	struct kg_s *tnames;
	struct kgw_topic_errors *terrs;
	/* COMMIT: the offsets to apply; ODELETE: the ones to remove */
	struct kg_offset *offs;
	int32_t n_offs;
	/* SYNC: the assignment per member id */
	int32_t n_assign;
	struct kg_s *assign_ids;
	struct kg_s *assign;
	/* STATIC_JOIN: to answer, or to revert on failure */
	struct kg_s new_id, old_id, old_leader;
	struct kg_proto *old_protos;
	int32_t n_old_protos;
	/* DELETE */
	struct kg_multi *multi;
	int32_t idx;
	/* TXN: the producer, and who is told of the outcome */
	int64_t pid;
	int16_t pepoch;
	kgroup_done_fn done;
	void *done_arg;
};

struct kgroups {
	struct kgroups_conf conf;
	struct kgroups_ops ops;
	void *arg;
	uint64_t rng;
	uint8_t *pstate; /* enum kg_pstate per offsets partition */
	struct kg_group **buckets;
	size_t nb, ng;
	struct kg_op *op_head;
	uint64_t next_op;
	int64_t next_retention; /* -1: not scheduled yet */
};

/* ---- small helpers ---- */

static void kg_log(struct kgroups *gs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kg_log(struct kgroups *gs, const char *fmt, ...)
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

static int kg_s_set(struct kg_s *s, struct kgw_str k)
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

static int kg_s_cstr(struct kg_s *s, const char *c)
{
	return kg_s_set(s, kgw_s(c));
}

static void kg_s_free(struct kg_s *s)
{
	free(s->p);
	s->p = NULL;
	s->len = -1;
}

static struct kgw_str kg_w(struct kg_s s)
{
	struct kgw_str k = { (const uint8_t *)s.p, s.p ? s.len : -1 };
	return k;
}

/* s as a non-null string ("" for null), for the schema's non-nullable fields */
static struct kgw_str kg_wn(struct kg_s s)
{
	return s.p ? kg_w(s) : kgw_s("");
}

static bool kg_eq(struct kg_s s, struct kgw_str k)
{
	if (!s.p || k.len < 0)
		return !s.p && k.len < 0;
	return s.len == k.len && (k.len == 0 || memcmp(s.p, k.p, (size_t)k.len) == 0);
}

static bool kg_ss_eq(struct kg_s a, struct kg_s b)
{
	return kg_eq(a, kg_w(b));
}

static const char *kg_c(struct kg_s s)
{
	return s.p ? s.p : "";
}

static int kg_grow(void **p, int32_t *cap, int32_t need, size_t sz)
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

static void kg_protos_free(struct kg_proto *ps, int32_t n)
{
	for (int32_t i = 0; i < n; i++) {
		kg_s_free(&ps[i].name);
		kg_s_free(&ps[i].meta);
	}
	free(ps);
}

static int kg_protos_copy(const struct kgw_join_proto *in, int32_t n, struct kg_proto **out)
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

static void kg_offset_clear(struct kg_offset *o)
{
	kg_s_free(&o->topic);
	kg_s_free(&o->meta);
}

static bool kg_protocol_type_none(const struct kg_group *g)
{
	return g->protocol_type.len <= 0;
}

/* Java's UUID.randomUUID().toString() shape from the core's PRNG (splitmix64). */
static uint64_t kg_rand(struct kgroups *gs)
{
	uint64_t z = (gs->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

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

/* ---- the group table ---- */

static uint64_t kg_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static struct kg_group *kg_find(const struct kgroups *gs, struct kgw_str id)
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

static struct kg_group *kg_group_add(struct kgroups *gs, struct kgw_str id, int32_t partition, int64_t now)
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

static void kg_set_state(struct kgroups *gs, struct kg_group *g, enum kgstate to, const char *why, int64_t now)
{
	kgstate_set(&g->state, to, kg_c(g->id), why, kg_state_log, gs);
	g->state_ts = now;
}

/* ---- replies ---- */

static void kg_reply(struct kgroups *gs, void *token, int16_t api, int16_t ver, const void *resp)
{
	gs->ops.reply(gs->arg, token, api, ver, resp);
}

static void kg_join_reply_err(struct kgroups *gs, void *token, int16_t ver, struct kgw_str member_id, int16_t err)
{
	struct kgw_join_resp r = { 0 };
	r.error = err;
	r.generation_id = -1;
	r.protocol_name = kgw_s("");
	r.leader = kgw_s("");
	r.member_id = member_id.len >= 0 ? member_id : kgw_s("");
	kg_reply(gs, token, KGW_API_JOIN_GROUP, ver, &r);
}

static void kg_sync_reply(struct kgroups *gs, void *token, int16_t ver, int16_t err, struct kgw_str assign)
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

static struct kgw_str kg_member_meta(const struct kg_member *m, struct kg_s protocol)
{
	for (int32_t i = 0; i < m->n_protos; i++)
		if (kg_ss_eq(m->protos[i].name, protocol))
			return kg_wn(m->protos[i].meta);
	return kgw_s("");
}

/* The JoinGroup answer of the current generation to member m (the leader gets the members). */
static void kg_join_reply_ok(struct kgroups *gs, struct kg_group *g, const struct kg_member *m, void *token,
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

static void kg_member_answer_join(struct kgroups *gs, struct kg_member *m, int16_t err)
{
	if (!m->join_parked)
		return;
	m->join_parked = false;
	kg_join_reply_err(gs, m->join_token, m->join_ver, kg_w(m->id), err);
}

static void kg_member_answer_sync(struct kgroups *gs, struct kg_member *m, int16_t err)
{
	if (!m->sync_parked)
		return;
	m->sync_parked = false;
	kg_sync_reply(gs, m->sync_token, m->sync_ver, err, kgw_s(""));
}

/* ---- members ---- */

static void kg_member_free(struct kg_member *m)
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

static struct kg_member *kg_member_find(const struct kg_group *g, struct kgw_str id)
{
	int32_t i = kg_member_idx(g, id);
	return i < 0 ? NULL : g->members[i];
}

static struct kg_member *kg_static_find(const struct kg_group *g, struct kgw_str instance)
{
	if (instance.len < 0)
		return NULL;
	for (int32_t i = 0; i < g->n_members; i++)
		if (g->members[i]->instance.p && kg_eq(g->members[i]->instance, instance))
			return g->members[i];
	return NULL;
}

/* Kafka's isStaticMemberFenced: the instance is known under another member id. */
static bool kg_fenced(const struct kg_group *g, struct kgw_str member_id, struct kgw_str instance)
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

/* ---- appends ---- */

static void kg_op_free(struct kg_op *op)
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

static struct kg_op *kg_op_new(enum kg_opk kind, struct kg_group *g)
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

static void kg_op_done(struct kgroups *gs, struct kg_op *op, int16_t err, int64_t now);

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

/* A growing list of records whose bytes the list owns (key and value in one buffer each). */
struct kg_rec1 {
	struct wbuf w;
	size_t klen;
	bool tomb;
};
struct kg_recs {
	struct kg_rec1 *v;
	struct kgroup_rec *r;
	int32_t n, cap;
	int err;
};

static void kg_recs_free(struct kg_recs *rs)
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
static void kg_recs_group(struct kg_recs *rs, const struct kg_group *g, const struct kgw_str *assign, int64_t now)
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

static void kg_recs_offset(struct kg_recs *rs, const struct kg_group *g, const struct kg_offset *o)
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

static void kg_recs_offset_tomb(struct kg_recs *rs, const struct kg_group *g, struct kg_s topic, int32_t part)
{
	struct kgw_key k;
	kg_offset_key(&k, g, topic, part);
	kg_recs_add(rs, &k, NULL, NULL);
}

static void kg_recs_group_tomb(struct kg_recs *rs, const struct kg_group *g)
{
	struct kgw_key k;
	kg_group_key(&k, g);
	kg_recs_add(rs, &k, NULL, NULL);
}

/* Sends rs for op (op freed here when rs could not be built: done with UNKNOWN_SERVER_ERROR). */
static void kg_append_recs(struct kgroups *gs, struct kg_op *op, struct kg_recs *rs, int64_t now)
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
static void kg_store_quiet(struct kgroups *gs, struct kg_group *g, int64_t now)
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

/* ---- rebalances ---- */

static void kg_try_complete_join(struct kgroups *gs, struct kg_group *g, int64_t now);

/* Kafka's resetAndPropagateAssignmentError: every parked SyncGroup gets err. */
static void kg_reset_assignment(struct kgroups *gs, struct kg_group *g, int16_t err, int64_t now)
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

static void kg_maybe_prepare(struct kgroups *gs, struct kg_group *g, const char *why, int64_t now)
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
static void kg_group_free(struct kgroups *gs, struct kg_group *g, int16_t err, bool unloaded)
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
static void kg_group_remove(struct kgroups *gs, struct kg_group *g, const char *why, int16_t err, bool unloaded,
			    int64_t now)
{
	if (!g->loading)
		kg_set_state(gs, g, KGSTATE_DEAD, why, now);
	kg_group_unlink(gs, g);
	kg_group_free(gs, g, err, unloaded);
}

/* ---- offsets ---- */

static int32_t kg_offset_idx(const struct kg_group *g, struct kgw_str topic, int32_t part)
{
	for (int32_t i = 0; i < g->n_offs; i++)
		if (g->offs[i].part == part && kg_eq(g->offs[i].topic, topic))
			return i;
	return -1;
}

/* Sets (moving the strings of o into the group) or replaces an offset. */
static int kg_offset_put(struct kg_group *g, struct kg_offset *o)
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

static void kg_offset_del(struct kg_group *g, int32_t i)
{
	kg_offset_clear(&g->offs[i]);
	g->offs[i] = g->offs[--g->n_offs];
}

/* Producer pid's transactional offset o (its strings moved into the group) is pending in g:
 * it replaces the producer's earlier one of the same partition; what an older epoch of pid
 * left is dropped (that transaction was aborted by the fencing). 0 or ERR_NOMEM (o kept). */
static int kg_txoff_put(struct kg_group *g, int64_t pid, int16_t epoch, struct kg_offset *o)
{
	int32_t kept = 0;
	for (int32_t k = 0; k < g->n_txoffs; k++) {
		struct kg_txoff *x = &g->txoffs[k];
		if (x->pid == pid && x->epoch < epoch)
			kg_offset_clear(&x->o);
		else
			g->txoffs[kept++] = *x;
	}
	g->n_txoffs = kept;
	struct kg_txoff *x = NULL;
	for (int32_t k = 0; k < g->n_txoffs && !x; k++)
		if (g->txoffs[k].pid == pid && g->txoffs[k].o.part == o->part && kg_ss_eq(g->txoffs[k].o.topic, o->topic))
			x = &g->txoffs[k];
	if (x) {
		kg_offset_clear(&x->o);
	} else {
		if (kg_grow((void **)&g->txoffs, &g->cap_txoffs, g->n_txoffs + 1, sizeof(*g->txoffs)))
			return ERR_NOMEM;
		x = &g->txoffs[g->n_txoffs++];
	}
	x->pid = pid;
	x->epoch = epoch;
	x->o = *o;
	o->topic.p = o->meta.p = NULL;
	o->topic.len = o->meta.len = -1;
	return 0;
}

/* ---- the appends' completion ---- */

static void kg_commit_resp_fill(struct kg_op *op, int16_t err)
{
	for (int32_t t = 0; t < op->n_topics; t++)
		for (int32_t i = 0; i < op->terrs[t].n_parts; i++)
			if (op->terrs[t].parts[i].error == KG_AWAIT)
				op->terrs[t].parts[i].error = err;
}

static void kg_commit_resp_send(struct kgroups *gs, struct kg_op *op)
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
static void kg_multi_done(struct kgroups *gs, struct kg_multi *mu, int32_t idx, int16_t err)
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

static void kg_op_done(struct kgroups *gs, struct kg_op *op, int16_t err, int64_t now)
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

static bool kg_p_ok(const struct kgroups *gs, int32_t p)
{
	return p >= 0 && p < gs->conf.offsets_partitions;
}

/* Drops every group of partition p (answering their parked requests NOT_COORDINATOR) and marks
 * the appends under way for p as answered NOT_COORDINATOR when they complete. */
static void kg_drop_partition(struct kgroups *gs, int32_t p, int64_t now)
{
	for (struct kg_op *op = gs->op_head; op; op = op->next)
		if (op->partition == p)
			op->gone = true;
	for (size_t b = 0; b < gs->nb; b++) {
		struct kg_group **pp = &gs->buckets[b];
		while (*pp) {
			struct kg_group *g = *pp;
			if (g->partition != p) {
				pp = &g->hnext;
				continue;
			}
			*pp = g->hnext;
			gs->ng--;
			if (!g->loading)
				kg_set_state(gs, g, KGSTATE_DEAD, "its offsets partition was unloaded", now);
			kg_group_free(gs, g, KE_NOT_COORDINATOR, true);
		}
	}
}

void kgroups_load_begin(struct kgroups *gs, int32_t p)
{
	if (!kg_p_ok(gs, p))
		return;
	kg_drop_partition(gs, p, 0);
	gs->pstate[p] = KG_P_LOADING;
	kg_log(gs, "offsets partition %d: loading", p);
}

int kgroups_load_record(struct kgroups *gs, int32_t p, const uint8_t *key, size_t klen, const uint8_t *value,
			size_t vlen, char *eb, size_t el)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return err_set(eb, el, ERR_INVAL, "offsets partition %d is not loading", p);
	struct kgw_arena a = { 0 };
	struct kgw_key k;
	int rc = kgw_key_decode(key, klen, 0, &k, &a, eb, el);
	if (rc)
		goto out;
	if (kgplace_partition(k.group.p, (size_t)k.group.len, gs->conf.offsets_partitions) != p) {
		rc = err_set(eb, el, ERR_CORRUPT, "group %.*s does not belong to offsets partition %d", (int)k.group.len,
			     (const char *)k.group.p, p);
		goto out;
	}
	struct kgw_offset_value ov;
	struct kgw_group_value gv;
	if (value) {
		if (k.version <= 1)
			rc = kgw_offset_value_decode(value, vlen, 0, &ov, &a, eb, el);
		else
			rc = kgw_group_value_decode(value, vlen, 0, &gv, &a, eb, el);
		if (rc)
			goto out;
	}
	struct kg_group *g = kg_find(gs, k.group);
	if (!g) {
		if (!value) /* a tombstone of what is not there */
			goto out;
		g = kg_group_add(gs, k.group, p, 0);
		if (!g) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group");
			goto out;
		}
		g->loading = true;
	}
	if (!g->loading) { /* cannot happen: the partition's groups were dropped at load_begin */
		rc = err_set(eb, el, ERR_EXISTS, "group already loaded");
		goto out;
	}
	if (k.version <= 1) {
		int32_t i = kg_offset_idx(g, k.topic, k.partition);
		if (!value) {
			if (i >= 0)
				kg_offset_del(g, i);
			goto out;
		}
		struct kg_offset o = { .topic = { NULL, -1 }, .meta = { NULL, -1 } };
		o.part = k.partition;
		o.offset = ov.offset;
		o.epoch = ov.leader_epoch;
		o.commit_ts = ov.commit_timestamp;
		o.expire_ts = ov.expire_timestamp;
		if (kg_s_set(&o.topic, k.topic) || kg_s_set(&o.meta, ov.metadata) || kg_offset_put(g, &o)) {
			kg_offset_clear(&o);
			rc = err_set(eb, el, ERR_NOMEM, "no memory for an offset");
		}
		goto out;
	}
	free(g->meta_raw);
	g->meta_raw = NULL;
	g->meta_len = 0;
	if (value) {
		g->meta_raw = malloc(vlen ? vlen : 1);
		if (!g->meta_raw) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group metadata");
			goto out;
		}
		memcpy(g->meta_raw, value, vlen);
		g->meta_len = vlen;
	}
out:
	kgw_arena_free(&a);
	return rc;
}

/* Builds a loaded group from its last metadata record (Kafka's GroupMetadata.loadGroup and
 * onGroupLoaded: members get new session deadlines). */
static int kg_group_restore(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	struct kgw_arena a = { 0 };
	struct kgw_group_value v;
	char eb[256];
	int rc = kgw_group_value_decode(g->meta_raw, g->meta_len, 0, &v, &a, eb, sizeof(eb));
	if (rc)
		goto out;
	rc = ERR_NOMEM;
	g->generation = v.generation;
	if (v.protocol_type.len > 0 && kg_s_set(&g->protocol_type, v.protocol_type))
		goto out;
	g->state_ts = v.current_state_timestamp;
	bool members = v.n_members > 0 && v.protocol.len > 0;
	if (v.n_members > 0 && !members)
		kg_log(gs, "group %s: metadata with members but no protocol; loaded Empty", kg_c(g->id));
	for (int32_t i = 0; members && i < v.n_members; i++) {
		const struct kgw_group_member *gm = &v.members[i];
		if (kg_member_find(g, gm->member_id) || (gm->group_instance_id.len >= 0 && kg_static_find(g, gm->group_instance_id)))
			continue; /* a duplicate: the first wins */
		if (kg_grow((void **)&g->members, &g->cap_members, g->n_members + 1, sizeof(*g->members)))
			goto out;
		struct kg_member *m = calloc(1, sizeof(*m));
		if (!m)
			goto out;
		m->id.len = m->instance.len = m->client_id.len = m->client_host.len = m->assign.len = -1;
		g->members[g->n_members++] = m;
		m->protos = calloc(1, sizeof(*m->protos));
		if (!m->protos)
			goto out;
		m->protos[0].name.len = m->protos[0].meta.len = -1;
		m->n_protos = 1;
		if (kg_s_set(&m->id, gm->member_id) || kg_s_set(&m->instance, gm->group_instance_id) ||
		    kg_s_set(&m->client_id, gm->client_id) || kg_s_set(&m->client_host, gm->client_host) ||
		    kg_s_set(&m->assign, gm->assignment) || kg_s_set(&m->protos[0].name, v.protocol) ||
		    kg_s_set(&m->protos[0].meta, gm->subscription))
			goto out;
		m->session_ms = gm->session_timeout_ms;
		m->rebalance_ms = gm->rebalance_timeout_ms;
		m->last_hb = now;
	}
	if (g->n_members) {
		if (kg_s_set(&g->protocol, v.protocol))
			goto out;
		if (v.leader.len >= 0 && kg_member_find(g, v.leader))
			rc = kg_s_set(&g->leader, v.leader);
		else
			rc = kg_s_cstr(&g->leader, g->members[0]->id.p);
		if (rc)
			goto out;
		g->state = KGSTATE_STABLE; /* loaded as Kafka loads it, not a transition */
	}
	rc = 0;
out:
	kgw_arena_free(&a);
	return rc;
}

void kgroups_load_end(struct kgroups *gs, int32_t p, int64_t now)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return;
	int32_t n = 0;
	for (size_t b = 0; b < gs->nb; b++) {
		struct kg_group **pp = &gs->buckets[b];
		while (*pp) {
			struct kg_group *g = *pp;
			if (g->partition != p || !g->loading) {
				pp = &g->hnext;
				continue;
			}
			g->loading = false;
			g->state_ts = now;
			int rc = 0;
			if (g->meta_raw) {
				rc = kg_group_restore(gs, g, now);
				free(g->meta_raw);
				g->meta_raw = NULL;
			}
			if (rc || (!g->meta_len && !g->n_offs && !g->n_txoffs)) {
				if (rc)
					kg_log(gs, "group %s: cannot restore its metadata: %s", kg_c(g->id), err_str(rc));
				*pp = g->hnext;
				gs->ng--;
				kg_group_free(gs, g, KE_NOT_COORDINATOR, true);
				continue;
			}
			kg_log(gs, "group %s: loaded (%s, generation %d, %d members, %d offsets)", kg_c(g->id),
			       kgstate_name(g->state), g->generation, g->n_members, g->n_offs);
			n++;
			pp = &g->hnext;
		}
	}
	gs->pstate[p] = KG_P_OWNED;
	kg_log(gs, "offsets partition %d: loaded %d groups", p, n);
}

void kgroups_unload(struct kgroups *gs, int32_t p)
{
	if (!kg_p_ok(gs, p))
		return;
	kg_drop_partition(gs, p, 0);
	gs->pstate[p] = KG_P_NONE;
	kg_log(gs, "offsets partition %d: unloaded", p);
}

/* Kafka's validateGroupStatus; empty_ok: the APIs that accept the empty group id. */
static int16_t kg_status(const struct kgroups *gs, struct kgw_str g, bool empty_ok)
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

static int32_t kg_partition_of(const struct kgroups *gs, struct kgw_str g)
{
	return kgplace_partition(g.p, (size_t)g.len, gs->conf.offsets_partitions);
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
	struct kg_member *m = g ? kg_member_find(g, q->member_id) : NULL;
	if (!g)
		err = KE_UNKNOWN_MEMBER_ID;
	else if (kg_fenced(g, q->member_id, q->group_instance_id))
		err = KE_FENCED_INSTANCE_ID;
	else if (!m)
		err = KE_UNKNOWN_MEMBER_ID;
	else if (q->generation_id != g->generation)
		err = KE_ILLEGAL_GENERATION;
	else if (g->state == KGSTATE_EMPTY)
		err = KE_UNKNOWN_MEMBER_ID;
	else if (g->state == KGSTATE_PREPARING_REBALANCE)
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
	struct kg_member *m = g ? kg_member_find(g, q->member_id) : NULL;
	if (!g)
		err = KE_UNKNOWN_MEMBER_ID;
	else if (kg_fenced(g, q->member_id, q->group_instance_id))
		err = KE_FENCED_INSTANCE_ID;
	else if (!m)
		err = KE_UNKNOWN_MEMBER_ID;
	else if (q->generation_id != g->generation)
		err = KE_ILLEGAL_GENERATION;
	else if (g->state == KGSTATE_EMPTY)
		err = KE_UNKNOWN_MEMBER_ID;
	else {
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

/* Whether x may do check on name (Kafka's authorizer, through the caller). */
static bool kg_allowed(const struct kgroup_ctx *x, enum kgroup_check check, struct kgw_str name)
{
	return !x->allowed || x->allowed(x->allowed_arg, check, name);
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

/* ---- DeleteGroups, OffsetDelete ---- */

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

/* ---- time ---- */

/* Kafka's cleanupGroupMetadata for g: expired offsets (KIP-211), and g itself once it is
 * Empty without offsets; tombstones appended. */
static void kg_expire_group(struct kgroups *gs, struct kg_group *g, int64_t now)
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

static void kg_tick_group(struct kgroups *gs, struct kg_group *g, int64_t now)
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

/* ---- transactional offsets (TxnOffsetCommit, KIP-98) ---- */

int16_t kgroups_txn_offsets(struct kgroups *gs, const struct kgw_str group, int64_t pid, int16_t epoch,
			    const struct kgroup_txoff *offs, int32_t n, int16_t *errs, kgroup_done_fn done, void *done_arg,
			    bool *waiting, int64_t now)
{
	*waiting = false;
	int16_t err = kg_status(gs, group, true);
	if (err)
		return err;
	struct kg_group *g = kg_find(gs, group);
	if (!g && !(g = kg_group_add(gs, group, kg_partition_of(gs, group), now)))
		return KE_COORDINATOR_NOT_AVAILABLE;
	/* the producer's epoch: an older one than held is a zombie's (a newer one drops what an
	 * older epoch left, once its batch is stored: kg_txoff_put) */
	for (int32_t k = 0; k < g->n_txoffs; k++) {
		struct kg_txoff *x = &g->txoffs[k];
		if (x->pid == pid && x->epoch > epoch)
			return KE_INVALID_PRODUCER_EPOCH;
	}
	struct kg_op *op = kg_op_new(KG_OP_TXN, g);
	if (!op || !(op->offs = calloc(n > 0 ? (size_t)n : 1, sizeof(*op->offs)))) {
		kg_op_free(op);
		return KE_COORDINATOR_NOT_AVAILABLE;
	}
	op->pid = pid;
	op->pepoch = epoch;
	op->done = done;
	op->done_arg = done_arg;
	for (int32_t i = 0; i < n; i++) {
		const struct kgroup_txoff *t = &offs[i];
		if (errs[i] != KE_NONE)
			continue;
		if (t->metadata.len > gs->conf.offset_metadata_max_bytes) {
			errs[i] = KE_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		struct kg_offset *o = &op->offs[op->n_offs++];
		o->topic.len = o->meta.len = -1;
		o->part = t->part;
		o->offset = t->offset;
		o->epoch = t->leader_epoch;
		o->commit_ts = now;
		o->expire_ts = -1;
		if (kg_s_set(&o->topic, t->topic) ||
		    kg_s_set(&o->meta, t->metadata.len >= 0 ? t->metadata : kgw_s(""))) {
			kg_op_free(op);
			return KE_COORDINATOR_NOT_AVAILABLE;
		}
	}
	if (!op->n_offs) {
		kg_op_free(op);
		return KE_NONE;
	}
	/* Kafka's storeOffsets with a producer id: one transactional batch of the producer; the
	 * offsets are pending once it is replicated, until the producer's marker */
	struct kg_recs rs = { 0 };
	for (int32_t i = 0; i < op->n_offs; i++)
		kg_recs_offset(&rs, g, &op->offs[i]);
	*waiting = true;
	kg_append_recs(gs, op, &rs, now);
	return KE_NONE;
}

/* Producer pid's marker (epoch, commit or abort) resolves its pending offsets in g: on commit
 * those of that epoch become committed (added to rs when not NULL); those of older epochs (a
 * zombie's) are dropped either way. Returns how many were committed. */
static int32_t kg_txn_resolve(struct kg_group *g, int64_t pid, int16_t epoch, bool commit, struct kg_recs *rs)
{
	int32_t kept = 0, n = 0;
	for (int32_t i = 0; i < g->n_txoffs; i++) {
		struct kg_txoff *x = &g->txoffs[i];
		if (x->pid != pid || x->epoch > epoch) { /* another producer's, or a later epoch's */
			g->txoffs[kept++] = *x;
			continue;
		}
		if (commit && x->epoch == epoch) {
			if (rs)
				kg_recs_offset(rs, g, &x->o);
			if (kg_offset_put(g, &x->o) == 0)
				n++;
		}
		kg_offset_clear(&x->o);
	}
	g->n_txoffs = kept;
	return n;
}

int kgroups_load_txn_record(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, const uint8_t *key,
			    size_t klen, const uint8_t *value, size_t vlen, char *eb, size_t el)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return err_set(eb, el, ERR_INVAL, "offsets partition %d is not loading", p);
	struct kgw_arena a = { 0 };
	struct kgw_key k;
	struct kgw_offset_value ov;
	int rc = kgw_key_decode(key, klen, 0, &k, &a, eb, el);
	if (!rc && (k.version > 1 || !value)) { /* not an offset commit: as any record */
		kgw_arena_free(&a);
		return kgroups_load_record(gs, p, key, klen, value, vlen, eb, el);
	}
	if (rc || (rc = kgw_offset_value_decode(value, vlen, 0, &ov, &a, eb, el)))
		goto out;
	if (kgplace_partition(k.group.p, (size_t)k.group.len, gs->conf.offsets_partitions) != p) {
		rc = err_set(eb, el, ERR_CORRUPT, "group %.*s does not belong to offsets partition %d", (int)k.group.len,
			     (const char *)k.group.p, p);
		goto out;
	}
	struct kg_group *g = kg_find(gs, k.group);
	if (!g) {
		if (!(g = kg_group_add(gs, k.group, p, 0))) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group");
			goto out;
		}
		g->loading = true;
	}
	struct kg_offset o = { .topic = { NULL, -1 }, .meta = { NULL, -1 } };
	o.part = k.partition;
	o.offset = ov.offset;
	o.epoch = ov.leader_epoch;
	o.commit_ts = ov.commit_timestamp;
	o.expire_ts = ov.expire_timestamp;
	if (kg_s_set(&o.topic, k.topic) || kg_s_set(&o.meta, ov.metadata) || kg_txoff_put(g, pid, epoch, &o)) {
		kg_offset_clear(&o);
		rc = err_set(eb, el, ERR_NOMEM, "no memory for an offset");
	}
out:
	kgw_arena_free(&a);
	return rc;
}

void kgroups_load_marker(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return;
	for (size_t b = 0; b < gs->nb; b++)
		for (struct kg_group *g = gs->buckets[b]; g; g = g->hnext)
			if (g->partition == p && g->loading && g->n_txoffs)
				kg_txn_resolve(g, pid, epoch, commit, NULL);
}

void kgroups_txn_end(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit, int64_t now)
{
	if (!kg_p_ok(gs, p))
		return;
	for (size_t b = 0; b < gs->nb; b++)
		for (struct kg_group *g = gs->buckets[b]; g; g = g->hnext) {
			if (g->partition != p || !g->n_txoffs)
				continue;
			struct kg_recs rs = { 0 };
			int32_t n = kg_txn_resolve(g, pid, epoch, commit, &rs);
			if (!n) {
				kg_recs_free(&rs);
				continue;
			}
			/* visible now (the marker is written); stored as plain offset records too, so
			 * that a reload finds them even once the log cleaner has removed the marker */
			kg_log(gs, "group %s: %d offset(s) of producer %lld committed with its transaction", kg_c(g->id), n,
			       (long long)pid);
			struct kg_op *op = kg_op_new(KG_OP_TOMBS, g);
			if (!op) {
				kg_recs_free(&rs);
				continue;
			}
			kg_append_recs(gs, op, &rs, now);
		}
}

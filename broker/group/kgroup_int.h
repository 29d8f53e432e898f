/*
 * kgroup_int.h — private to broker/group's kgroup files (kgroup.c, kgroup_rebalance.c,
 * kgroup_append.c, kgroup_offsets.c, kgroup_txn.c, kgroup_load.c), which together are the
 * group coordinator's core that kgroup.h declares: the layouts of its groups, members,
 * offsets and appends under way (their invariants are at the top of kgroup.c), and the kg_
 * functions one of those files defines and another calls. Nothing outside broker/group/
 * includes it.
 */
#ifndef SAMSA_KGROUP_INT_H
#define SAMSA_KGROUP_INT_H

#include "kgroup.h"

#include "buf.h"
#include "kgstate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

/* The small accessors of struct kg_s, inline as they were when the core was one file. */

static inline struct kgw_str kg_w(struct kg_s s)
{
	struct kgw_str k = { (const uint8_t *)s.p, s.p ? s.len : -1 };
	return k;
}

/* s as a non-null string ("" for null), for the schema's non-nullable fields */
static inline struct kgw_str kg_wn(struct kg_s s)
{
	return s.p ? kg_w(s) : kgw_s("");
}

static inline bool kg_eq(struct kg_s s, struct kgw_str k)
{
	if (!s.p || k.len < 0)
		return !s.p && k.len < 0;
	return s.len == k.len && (k.len == 0 || memcmp(s.p, k.p, (size_t)k.len) == 0);
}

static inline bool kg_ss_eq(struct kg_s a, struct kg_s b)
{
	return kg_eq(a, kg_w(b));
}

static inline const char *kg_c(struct kg_s s)
{
	return s.p ? s.p : "";
}

/* kgroup.c: helpers, the group table, a group's lifetime, ownership */

void kg_log(struct kgroups *gs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kg_s_set(struct kg_s *s, struct kgw_str k);
int kg_s_cstr(struct kg_s *s, const char *c);
void kg_s_free(struct kg_s *s);
int kg_grow(void **p, int32_t *cap, int32_t need, size_t sz);
void kg_protos_free(struct kg_proto *ps, int32_t n);
int kg_protos_copy(const struct kgw_join_proto *in, int32_t n, struct kg_proto **out);
void kg_offset_clear(struct kg_offset *o);
/* *o from a decoded offset commit record (key k, value v): 0, or ERR_NOMEM with *o cleared. */
int kg_offset_from(struct kg_offset *o, const struct kgw_key *k, const struct kgw_offset_value *v);
uint64_t kg_rand(struct kgroups *gs);
void kg_reply(struct kgroups *gs, void *token, int16_t api, int16_t ver, const void *resp);
struct kg_group *kg_find(const struct kgroups *gs, struct kgw_str id);
struct kg_group *kg_group_add(struct kgroups *gs, struct kgw_str id, int32_t partition, int64_t now);
void kg_set_state(struct kgroups *gs, struct kg_group *g, enum kgstate to, const char *why, int64_t now);
void kg_group_free(struct kgroups *gs, struct kg_group *g, int16_t err, bool unloaded);
void kg_group_remove(struct kgroups *gs, struct kg_group *g, const char *why, int16_t err, bool unloaded,
		     int64_t now);
bool kg_p_ok(const struct kgroups *gs, int32_t p);
int16_t kg_status(const struct kgroups *gs, struct kgw_str g, bool empty_ok);
int32_t kg_partition_of(const struct kgroups *gs, struct kgw_str g);
bool kg_allowed(const struct kgroup_ctx *x, enum kgroup_check check, struct kgw_str name);

/* kgroup_rebalance.c: replies, members, rebalances */

void kg_join_reply_err(struct kgroups *gs, void *token, int16_t ver, struct kgw_str member_id, int16_t err);
void kg_sync_reply(struct kgroups *gs, void *token, int16_t ver, int16_t err, struct kgw_str assign);
struct kgw_str kg_member_meta(const struct kg_member *m, struct kg_s protocol);
void kg_join_reply_ok(struct kgroups *gs, struct kg_group *g, const struct kg_member *m, void *token,
		      int16_t ver, bool with_members, struct kg_s leader);
void kg_member_answer_join(struct kgroups *gs, struct kg_member *m, int16_t err);
void kg_member_answer_sync(struct kgroups *gs, struct kg_member *m, int16_t err);
void kg_member_free(struct kg_member *m);
struct kg_member *kg_member_find(const struct kg_group *g, struct kgw_str id);
struct kg_member *kg_static_find(const struct kg_group *g, struct kgw_str instance);
bool kg_fenced(const struct kg_group *g, struct kgw_str member_id, struct kgw_str instance);
/* The membership checks SyncGroup and Heartbeat share, in Kafka's order: KE_NONE with *m the
 * member; else UNKNOWN_MEMBER_ID (no group, no such member, or an empty group),
 * FENCED_INSTANCE_ID (another member holds the instance id) or ILLEGAL_GENERATION. */
int16_t kg_member_check(const struct kg_group *g, struct kgw_str member_id, struct kgw_str instance,
			int32_t generation, struct kg_member **m);
void kg_reset_assignment(struct kgroups *gs, struct kg_group *g, int16_t err, int64_t now);
void kg_maybe_prepare(struct kgroups *gs, struct kg_group *g, const char *why, int64_t now);
void kg_tick_group(struct kgroups *gs, struct kg_group *g, int64_t now);

/* kgroup_append.c: appends and their completion */

void kg_op_free(struct kg_op *op);
struct kg_op *kg_op_new(enum kg_opk kind, struct kg_group *g);
void kg_recs_free(struct kg_recs *rs);
void kg_recs_group(struct kg_recs *rs, const struct kg_group *g, const struct kgw_str *assign, int64_t now);
void kg_recs_offset(struct kg_recs *rs, const struct kg_group *g, const struct kg_offset *o);
void kg_recs_offset_tomb(struct kg_recs *rs, const struct kg_group *g, struct kg_s topic, int32_t part);
void kg_recs_group_tomb(struct kg_recs *rs, const struct kg_group *g);
void kg_append_recs(struct kgroups *gs, struct kg_op *op, struct kg_recs *rs, int64_t now);
void kg_store_quiet(struct kgroups *gs, struct kg_group *g, int64_t now);
void kg_commit_resp_fill(struct kg_op *op, int16_t err);
void kg_commit_resp_send(struct kgroups *gs, struct kg_op *op);
void kg_multi_done(struct kgroups *gs, struct kg_multi *mu, int32_t idx, int16_t err);
void kg_op_done(struct kgroups *gs, struct kg_op *op, int16_t err, int64_t now);

/* kgroup_offsets.c: committed offsets, their expiry */

int32_t kg_offset_idx(const struct kg_group *g, struct kgw_str topic, int32_t part);
int kg_offset_put(struct kg_group *g, struct kg_offset *o);
void kg_offset_del(struct kg_group *g, int32_t i);
void kg_expire_group(struct kgroups *gs, struct kg_group *g, int64_t now);

/* kgroup_txn.c: transactional offsets */

int kg_txoff_put(struct kg_group *g, int64_t pid, int16_t epoch, struct kg_offset *o);

#endif

/*
 * Unit tests for kgroup, the group coordinator's core, driven without a broker: a fake ops
 * records every reply (encoded with kgw at its version, so that a response the wire could not
 * carry fails here too, and decoded again for the assertions) and every append (completed on
 * demand, or refused at once), and a fake clock. Every request must be answered exactly once:
 * each test ends by checking that every token it issued got one reply, none twice.
 * Covered: a two-member rebalance (one generation, the leader gets the members), SyncGroup,
 * Heartbeat, session expiry, LeaveGroup, KIP-394's MEMBER_ID_REQUIRED, KIP-345's fencing, the
 * initial rebalance delay, the rebalance timeout, commits and fetches (a failed append is not
 * visible), the member/generation errors, DeleteGroups, OffsetDelete, retention, loading from
 * records (tombstones, malformed records) and unloading, kgroups_free, and the authorization
 * checks the core asks (a fake policy denying named resources).
 */
#include "buf.h"
#include "err.h"
#include "kerr.h"
#include "kgplace.h"
#include "kgroup.h"
#include "kgw.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP 4 /* offsets partitions */
#define MAXTOK 512

struct rep {
	int16_t api, ver;
	uint8_t *body;
	size_t len;
};

struct app {
	int32_t partition;
	uint64_t id;
	int32_t n;
	uint8_t *key[64], *val[64];
	size_t klen[64], vlen[64];
	bool done;
	int64_t pid; /* a transactional batch's producer, else -1 */
	int16_t pepoch;
};

static struct {
	struct kgroups *gs;
	struct rep reps[MAXTOK];
	int replied[MAXTOK];
	int issued[MAXTOK];
	int next_tok;
	struct app apps[256];
	int napps;
	int16_t append_rc;
	int64_t now;
	struct kgw_arena arena;
	char lastlog[512];
	bool quiet_topic; /* part_exists denies topic "nope" */
	const char *deny[KGROUP_CHECK_TOPIC_DESCRIBE + 1]; /* the resource each check denies */
	bool deny_cluster;				      /* KGROUP_CHECK_CLUSTER_DESCRIBE */
	int checks;					      /* checks asked */
} F;

static int in_fake; /* inside the fake or the test's own decoding: allocations never fail */
static int in_core; /* inside a call to the core: an allocation may be made to fail */
static bool lenient; /* allocations fail: the helpers do not check what the answers hold */
#define CORE(call)            \
	do {                  \
		in_core++;    \
		call;         \
		in_core--;    \
	} while (0)

static void f_reply(void *arg, void *token, int16_t api, int16_t ver, const void *resp)
{
	(void)arg;
	in_fake++;
	int t = (int)(uintptr_t)token;
	ck_assert_msg(t > 0 && t < MAXTOK, "token %d", t);
	ck_assert_msg(F.replied[t] == 0, "token %d answered twice (api %d)", t, api);
	F.replied[t]++;
	struct wbuf w;
	wbuf_init(&w, 1 << 24);
	int rc;
	switch (api) {
	case KGW_API_JOIN_GROUP:
		rc = kgw_join_resp_encode(&w, ver, resp);
		break;
	case KGW_API_SYNC_GROUP:
		rc = kgw_sync_resp_encode(&w, ver, resp);
		break;
	case KGW_API_HEARTBEAT:
		rc = kgw_heartbeat_resp_encode(&w, ver, resp);
		break;
	case KGW_API_LEAVE_GROUP:
		rc = kgw_leave_resp_encode(&w, ver, resp);
		break;
	case KGW_API_OFFSET_COMMIT:
		rc = kgw_commit_resp_encode(&w, ver, resp);
		break;
	case KGW_API_OFFSET_FETCH:
		rc = kgw_ofetch_resp_encode(&w, ver, resp);
		break;
	case KGW_API_DESCRIBE_GROUPS:
		rc = kgw_describe_resp_encode(&w, ver, resp);
		break;
	case KGW_API_LIST_GROUPS:
		rc = kgw_list_resp_encode(&w, ver, resp);
		break;
	case KGW_API_DELETE_GROUPS:
		rc = kgw_delete_resp_encode(&w, ver, resp);
		break;
	case KGW_API_OFFSET_DELETE:
		rc = kgw_odelete_resp_encode(&w, ver, resp);
		break;
	default:
		rc = ERR_INVAL;
	}
	ck_assert_msg(rc == 0, "api %d v%d response does not encode: %s", api, ver, err_str(rc));
	F.reps[t].api = api;
	F.reps[t].ver = ver;
	F.reps[t].body = w.p;
	F.reps[t].len = w.len;
	in_fake--;
}

static int16_t f_append(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id)
{
	(void)arg;
	in_fake++;
	ck_assert(F.napps < 256 && n <= 64 && n > 0);
	if (F.append_rc) {
		in_fake--;
		return F.append_rc;
	}
	struct app *a = &F.apps[F.napps++];
	a->partition = partition;
	a->id = id;
	a->n = n;
	a->done = false;
	a->pid = -1;
	a->pepoch = -1;
	for (int32_t i = 0; i < n; i++) {
		a->key[i] = malloc(recs[i].klen);
		memcpy(a->key[i], recs[i].key, recs[i].klen);
		a->klen[i] = recs[i].klen;
		a->val[i] = NULL;
		a->vlen[i] = 0;
		if (recs[i].value) {
			a->val[i] = malloc(recs[i].vlen + 1);
			memcpy(a->val[i], recs[i].value, recs[i].vlen);
			a->vlen[i] = recs[i].vlen;
		}
	}
	in_fake--;
	return KE_NONE;
}

static int16_t f_append_txn(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id,
			    int64_t pid, int16_t epoch)
{
	int16_t e = f_append(arg, partition, recs, n, id);
	if (e == KE_NONE) {
		F.apps[F.napps - 1].pid = pid;
		F.apps[F.napps - 1].pepoch = epoch;
	}
	return e;
}

static bool f_part_exists(void *arg, const uint8_t *topic, size_t tlen, int32_t part)
{
	(void)arg;
	return !(tlen == 4 && memcmp(topic, "nope", 4) == 0) && part >= 0 && part < 8;
}

static void f_log(void *arg, const char *line)
{
	(void)arg;
	snprintf(F.lastlog, sizeof(F.lastlog), "%s", line);
}

static const struct kgroups_ops f_ops = { f_reply, f_append, f_append_txn, f_part_exists, f_log };

static struct kgroups_conf f_conf(void)
{
	struct kgroups_conf c = { 0 };
	c.offsets_partitions = NP;
	c.min_session_timeout_ms = 6000;
	c.max_session_timeout_ms = 1800000;
	c.initial_rebalance_delay_ms = 3000;
	c.max_size = 1000;
	c.offset_metadata_max_bytes = 16;
	c.offsets_retention_ms = 7LL * 24 * 3600 * 1000;
	c.retention_check_interval_ms = 600000;
	c.seed = 42;
	return c;
}

static void own_all(struct kgroups *gs)
{
	for (int p = 0; p < NP; p++) {
		kgroups_load_begin(gs, p);
		kgroups_load_end(gs, p, F.now);
	}
}

static void setup_with(struct kgroups_conf c)
{
	memset(&F, 0, sizeof(F));
	F.next_tok = 1;
	F.now = 1000000;
	F.gs = kgroups_new(&c, &f_ops, NULL);
	ck_assert_ptr_nonnull(F.gs);
	own_all(F.gs);
}

static void setup(void)
{
	setup_with(f_conf());
}

static void check_answered(void)
{
	for (int t = 1; t < F.next_tok; t++)
		ck_assert_msg(F.replied[t] == 1, "token %d answered %d times", t, F.replied[t]);
}

static void teardown(void)
{
	kgroups_free(F.gs);
	F.gs = NULL;
	check_answered();
	for (int t = 0; t < MAXTOK; t++)
		free(F.reps[t].body);
	for (int i = 0; i < F.napps; i++)
		for (int k = 0; k < F.apps[i].n; k++) {
			free(F.apps[i].key[k]);
			free(F.apps[i].val[k]);
		}
	kgw_arena_free(&F.arena);
}

/* The fake authorization: F.deny[check] names the resource it refuses. */
static bool f_allowed(void *arg, enum kgroup_check check, struct kgw_str name)
{
	(void)arg; /* no assertion here: check's own messages allocate, which may be made to fail */
	F.checks++;
	if (check == KGROUP_CHECK_CLUSTER_DESCRIBE)
		return !F.deny_cluster;
	return !(F.deny[check] && kgw_eq(name, F.deny[check]));
}

static struct kgroup_ctx ctx(int16_t ver, const char *client)
{
	struct kgroup_ctx x = { (void *)(uintptr_t)F.next_tok++, ver, client, "/127.0.0.1", f_allowed, NULL };
	ck_assert(F.next_tok < MAXTOK);
	return x;
}

static int tok(const struct kgroup_ctx *x)
{
	return (int)(uintptr_t)x->token;
}

static bool answered(int t)
{
	return F.replied[t] > 0;
}

/* ---- requests ---- */

/* A consumer subscription to topic "t" (ConsumerProtocolSubscription v0), encoded once. */
static struct kgw_str subscription_t(void)
{
	static uint8_t b[64];
	static size_t n;
	if (!n) {
		struct wbuf w;
		wbuf_init(&w, sizeof(b));
		struct kgw_str t = kgw_s("t");
		struct kgw_subscription s = { 0, 1, &t };
		ck_assert_int_eq(kgw_subscription_encode(&w, 0, &s), 0);
		memcpy(b, w.p, w.len);
		n = w.len;
		wbuf_free(&w);
	}
	struct kgw_str r = { b, (int32_t)n };
	return r;
}

static struct kgw_join_proto protos_range[1];

/* JoinGroup v ver; member "" for none; instance NULL for none. Returns the token. */
static int join(int16_t ver, const char *group, const char *client, const char *member, const char *instance,
		int32_t session, int32_t rebalance)
{
	struct kgroup_ctx x = ctx(ver, client);
	protos_range[0].name = kgw_s("range");
	protos_range[0].metadata = subscription_t();
	struct kgw_join_req q = { 0 };
	q.group_id = kgw_s(group);
	q.session_timeout_ms = session;
	q.rebalance_timeout_ms = rebalance;
	q.member_id = kgw_s(member);
	q.group_instance_id = kgw_s(instance);
	q.protocol_type = kgw_s("consumer");
	q.n_protocols = 1;
	q.protocols = protos_range;
	CORE(kgroups_join(F.gs, &x, &q, F.now));
	return tok(&x);
}

static struct kgw_join_resp join_resp(int t)
{
	ck_assert_msg(answered(t), "join %d not answered", t);
	struct kgw_join_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_join_resp_decode(F.reps[t].body, F.reps[t].len, F.reps[t].ver, &r, &F.arena, eb, sizeof(eb)), 0);
	return r;
}

static char *str(struct kgw_str s)
{
	static char b[8][256];
	static int i;
	char *p = b[i++ % 8];
	snprintf(p, 256, "%.*s", s.len < 0 ? 0 : (int)s.len, s.p ? (const char *)s.p : "");
	return p;
}

static int sync_(int16_t ver, const char *group, const char *member, int32_t gen, int n_assign, const char **ids,
		 const char **assigns)
{
	struct kgroup_ctx x = ctx(ver, "c");
	struct kgw_sync_assignment as[8];
	for (int i = 0; i < n_assign; i++) {
		as[i].member_id = kgw_s(ids[i]);
		as[i].assignment = kgw_s(assigns[i]);
	}
	struct kgw_sync_req q = { kgw_s(group), gen, kgw_s(member), kgw_s(NULL), n_assign, as };
	CORE(kgroups_sync(F.gs, &x, &q, F.now));
	return tok(&x);
}

static struct kgw_sync_resp sync_resp(int t)
{
	ck_assert_msg(answered(t), "sync %d not answered", t);
	struct kgw_sync_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_sync_resp_decode(F.reps[t].body, F.reps[t].len, F.reps[t].ver, &r, &F.arena, eb, sizeof(eb)), 0);
	return r;
}

static int16_t heartbeat_i(const char *group, const char *member, const char *instance, int32_t gen)
{
	struct kgroup_ctx x = ctx(3, "c");
	struct kgw_heartbeat_req q = { kgw_s(group), gen, kgw_s(member), kgw_s(instance) };
	CORE(kgroups_heartbeat(F.gs, &x, &q, F.now));
	int t = tok(&x);
	ck_assert(answered(t));
	struct kgw_heartbeat_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_heartbeat_resp_decode(F.reps[t].body, F.reps[t].len, 3, &r, &F.arena, eb, sizeof(eb)), 0);
	return r.error;
}

static int16_t heartbeat(const char *group, const char *member, int32_t gen)
{
	return heartbeat_i(group, member, NULL, gen);
}

static int16_t leave0(const char *group, const char *member)
{
	struct kgroup_ctx x = ctx(0, "c");
	struct kgw_leave_req q = { 0 };
	q.group_id = kgw_s(group);
	q.member_id = kgw_s(member);
	CORE(kgroups_leave(F.gs, &x, &q, F.now));
	int t = tok(&x);
	ck_assert(answered(t));
	struct kgw_leave_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_leave_resp_decode(F.reps[t].body, F.reps[t].len, 0, &r, &F.arena, eb, sizeof(eb)), 0);
	return r.error;
}

/* OffsetCommit v ver of topic/partition offset (metadata md). Returns the token. */
static int commit(int16_t ver, const char *group, const char *member, int32_t gen, const char *topic, int32_t part,
		  int64_t offset, const char *md)
{
	struct kgroup_ctx x = ctx(ver, "c");
	static struct kgw_commit_part cp;
	static struct kgw_commit_topic ct;
	cp = (struct kgw_commit_part){ part, offset, -1, -1, kgw_s(md) };
	ct = (struct kgw_commit_topic){ kgw_s(topic), 1, &cp };
	struct kgw_commit_req q = { 0 };
	q.group_id = kgw_s(group);
	q.generation_id = gen;
	q.member_id = kgw_s(member);
	q.group_instance_id = kgw_s(NULL);
	q.retention_time_ms = -1;
	q.n_topics = 1;
	q.topics = &ct;
	CORE(kgroups_commit(F.gs, &x, &q, F.now));
	return tok(&x);
}

static int16_t commit_err(int t)
{
	ck_assert_msg(answered(t), "commit %d not answered", t);
	struct kgw_commit_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_commit_resp_decode(F.reps[t].body, F.reps[t].len, F.reps[t].ver, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.n_topics, 1);
	ck_assert_int_eq(r.topics[0].n_parts, 1);
	return r.topics[0].parts[0].error;
}

/* The committed offset of group/topic/part by OffsetFetch v ver (-1: none); *err its error. */
static int64_t fetch(int16_t ver, const char *group, const char *topic, int32_t part, int16_t *err)
{
	struct kgroup_ctx x = ctx(ver, "c");
	int32_t parts[1] = { part };
	struct kgw_fetch_topic ft = { kgw_s(topic), 1, parts };
	struct kgw_ofetch_req q = { kgw_s(group), 1, &ft, false };
	CORE(kgroups_offset_fetch(F.gs, &x, &q, F.now));
	int t = tok(&x);
	ck_assert(answered(t));
	struct kgw_ofetch_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_ofetch_resp_decode(F.reps[t].body, F.reps[t].len, ver, &r, &F.arena, eb, sizeof(eb)), 0);
	if (ver >= 2 && r.error) {
		*err = r.error;
		return -1;
	}
	if (lenient && (r.n_topics != 1 || r.topics[0].n_parts != 1)) {
		*err = r.error;
		return -1;
	}
	ck_assert_int_eq(r.n_topics, 1);
	*err = r.topics[0].parts[0].error;
	return r.topics[0].parts[0].offset;
}

static struct kgw_described_group describe(const char *group)
{
	struct kgroup_ctx x = ctx(4, "c");
	struct kgw_str g = kgw_s(group);
	struct kgw_describe_req q = { 1, &g, false };
	CORE(kgroups_describe(F.gs, &x, &q, F.now));
	int t = tok(&x);
	ck_assert(answered(t));
	struct kgw_describe_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_describe_resp_decode(F.reps[t].body, F.reps[t].len, 4, &r, &F.arena, eb, sizeof(eb)), 0);
	if (lenient && r.n_groups != 1) {
		struct kgw_described_group none = { 0 };
		return none;
	}
	ck_assert_int_eq(r.n_groups, 1);
	return r.groups[0];
}

static struct kgw_list_resp list(void)
{
	struct kgroup_ctx x = ctx(2, "c");
	CORE(kgroups_list(F.gs, &x, F.now));
	int t = tok(&x);
	ck_assert(answered(t));
	struct kgw_list_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_list_resp_decode(F.reps[t].body, F.reps[t].len, 2, &r, &F.arena, eb, sizeof(eb)), 0);
	return r;
}

static void tick_to(int64_t t)
{
	while (F.now < t) {
		F.now += 100;
		if (F.now > t)
			F.now = t;
		CORE(kgroups_tick(F.gs, F.now));
	}
}

static void complete(int i, int16_t err)
{
	ck_assert(i < F.napps && !F.apps[i].done);
	F.apps[i].done = true;
	CORE(kgroups_append_done(F.gs, F.apps[i].id, err, F.now));
}

/* A stable two-member group "g" (members' ids in m1, m2, generation 1). */
static void stable_pair(char *m1, char *m2, int32_t session, int32_t rebalance)
{
	int j1 = join(3, "g", "c1", "", NULL, session, rebalance);
	F.now += 100;
	int j2 = join(3, "g", "c2", "", NULL, session, rebalance);
	ck_assert(!answered(j1) && !answered(j2));
	tick_to(F.now + 10000);
	struct kgw_join_resp r1 = join_resp(j1), r2 = join_resp(j2);
	ck_assert_int_eq(r1.error, 0);
	ck_assert_int_eq(r1.generation_id, 1);
	strcpy(m1, str(r1.member_id));
	strcpy(m2, str(r2.member_id));
	const char *ids[2] = { m1, m2 }, *as[2] = { "A1", "A2" };
	int s2 = sync_(1, "g", m2, 1, 0, NULL, NULL);
	int s1 = sync_(1, "g", m1, 1, 2, ids, as);
	ck_assert(!answered(s1) && !answered(s2));
	complete(F.napps - 1, KE_NONE);
	ck_assert_str_eq(str(sync_resp(s1).assignment), "A1");
	ck_assert_str_eq(str(sync_resp(s2).assignment), "A2");
}

/* ---- the tests ---- */

START_TEST(test_two_members_one_generation)
{
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	F.now += 100;
	int j2 = join(3, "g", "c2", "", NULL, 10000, 10000);
	/* the initial delay (3 s) is extended once by the second join: nothing before 6 s */
	tick_to(F.now + 5800);
	ck_assert(!answered(j1) && !answered(j2));
	ck_assert_str_eq(str(describe("g").state), "PreparingRebalance");
	tick_to(F.now + 200);
	struct kgw_join_resp r1 = join_resp(j1), r2 = join_resp(j2);
	ck_assert_int_eq(r1.error, 0);
	ck_assert_int_eq(r2.error, 0);
	ck_assert_int_eq(r1.generation_id, 1);
	ck_assert_int_eq(r2.generation_id, 1);
	ck_assert_str_eq(str(r1.protocol_name), "range");
	ck_assert(strncmp(str(r1.member_id), "c1-", 3) == 0);
	ck_assert_int_eq(r1.member_id.len, 3 + 36);
	ck_assert_str_eq(str(r1.leader), str(r1.member_id));
	ck_assert_str_eq(str(r2.leader), str(r1.member_id));
	ck_assert_int_eq(r1.n_members, 2); /* the leader gets the members and their metadata */
	ck_assert_int_eq(r2.n_members, 0);
	ck_assert_str_eq(str(r1.members[1].member_id), str(r2.member_id));
	struct kgw_subscription s;
	char eb[128];
	ck_assert_int_eq(kgw_subscription_decode(r1.members[1].metadata.p, (size_t)r1.members[1].metadata.len, 0, &s,
						 &F.arena, eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(s.n_topics, 1);
	ck_assert_str_eq(str(describe("g").state), "CompletingRebalance");
	/* the same seed gives the same member ids */
	char a[64];
	strcpy(a, str(r1.member_id));
	teardown();
	setup();
	j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	tick_to(F.now + 3000);
	ck_assert_str_eq(str(join_resp(j1).member_id), a);
}
END_TEST

START_TEST(test_sync_heartbeat_describe)
{
	char m1[128], m2[128];
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	F.now += 100;
	int j2 = join(3, "g", "c2", "", NULL, 10000, 10000);
	tick_to(F.now + 10000);
	strcpy(m1, str(join_resp(j1).member_id));
	strcpy(m2, str(join_resp(j2).member_id));
	/* heartbeats while the leader computes the assignment are fine */
	ck_assert_int_eq(heartbeat("g", m2, 1), KE_NONE);
	ck_assert_int_eq(commit_err(commit(2, "g", m2, 1, "t", 0, 5, "")), KE_REBALANCE_IN_PROGRESS);
	/* the follower syncs first and waits; the leader's assignment is stored, then both answered */
	int s2 = sync_(3, "g", m2, 1, 0, NULL, NULL);
	const char *ids[2] = { m1, m2 }, *as[2] = { "A1", "A2" };
	int n0 = F.napps;
	int s1 = sync_(3, "g", m1, 1, 2, ids, as);
	ck_assert(!answered(s1) && !answered(s2));
	ck_assert_int_eq(F.napps, n0 + 1);
	struct app *a = &F.apps[n0];
	ck_assert_int_eq(a->partition, kgplace_partition((const uint8_t *)"g", 1, NP));
	ck_assert_int_eq(a->n, 1);
	struct kgw_key k;
	struct kgw_group_value v;
	char eb[256];
	ck_assert_int_eq(kgw_key_decode(a->key[0], a->klen[0], 0, &k, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(k.version, 2);
	ck_assert_int_eq(kgw_group_value_decode(a->val[0], a->vlen[0], 0, &v, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(v.version, 3);
	ck_assert_int_eq(v.generation, 1);
	ck_assert_str_eq(str(v.protocol), "range");
	ck_assert_str_eq(str(v.leader), m1);
	ck_assert_int_eq(v.n_members, 2);
	ck_assert_str_eq(str(v.members[1].assignment), "A2");
	ck_assert_str_eq(str(v.members[1].client_id), "c2");
	ck_assert_int_eq(v.members[1].session_timeout_ms, 10000);
	complete(n0, KE_NONE);
	ck_assert_int_eq(sync_resp(s1).error, 0);
	ck_assert_str_eq(str(sync_resp(s1).assignment), "A1");
	ck_assert_str_eq(str(sync_resp(s2).assignment), "A2");
	ck_assert_int_eq(heartbeat("g", m1, 1), KE_NONE);
	ck_assert_int_eq(heartbeat("g", m1, 2), KE_ILLEGAL_GENERATION);
	ck_assert_int_eq(heartbeat("g", "nobody", 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(heartbeat("h", m1, 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(heartbeat("", m1, 1), KE_INVALID_GROUP_ID);
	/* a sync in Stable gets the member's assignment at once */
	ck_assert_str_eq(str(sync_resp(sync_(3, "g", m2, 1, 0, NULL, NULL)).assignment), "A2");
	ck_assert_int_eq(sync_resp(sync_(3, "g", m2, 7, 0, NULL, NULL)).error, KE_ILLEGAL_GENERATION);
	struct kgw_described_group d = describe("g");
	ck_assert_int_eq(d.error, 0);
	ck_assert_str_eq(str(d.state), "Stable");
	ck_assert_str_eq(str(d.protocol_type), "consumer");
	ck_assert_str_eq(str(d.protocol_data), "range");
	ck_assert_int_eq(d.n_members, 2);
	ck_assert_str_eq(str(d.members[0].client_id), "c1");
	ck_assert_str_eq(str(d.members[0].client_host), "/127.0.0.1");
	ck_assert_str_eq(str(d.members[1].assignment), "A2");
	ck_assert_str_eq(str(describe("nothere").state), "Dead");
	struct kgw_list_resp l = list();
	ck_assert_int_eq(l.error, 0);
	ck_assert_int_eq(l.n_groups, 1);
	ck_assert_str_eq(str(l.groups[0].group_id), "g");
}
END_TEST

START_TEST(test_failed_sync_store)
{
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	tick_to(F.now + 3000);
	char m1[128];
	strcpy(m1, str(join_resp(j1).member_id));
	const char *ids[1] = { m1 }, *as[1] = { "A1" };
	int s1 = sync_(3, "g", m1, 1, 1, ids, as);
	complete(F.napps - 1, KE_NOT_LEADER_OR_FOLLOWER);
	ck_assert_int_eq(sync_resp(s1).error, KE_NOT_COORDINATOR);
	ck_assert_str_eq(str(describe("g").state), "PreparingRebalance");
	/* refused at once: too large maps to UNKNOWN_SERVER_ERROR for a sync */
	j1 = join(3, "g", "c1", m1, NULL, 10000, 10000);
	ck_assert_int_eq(join_resp(j1).generation_id, 2);
	F.append_rc = KE_MESSAGE_TOO_LARGE;
	s1 = sync_(3, "g", m1, 2, 1, ids, as);
	ck_assert_int_eq(sync_resp(s1).error, KE_UNKNOWN_SERVER_ERROR);
	F.append_rc = KE_NONE;
}
END_TEST

START_TEST(test_session_expiry_rebalances)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	/* m1 keeps heartbeating, m2 stops */
	for (int i = 0; i < 9; i++) {
		tick_to(F.now + 1000);
		ck_assert_int_eq(heartbeat("g", m1, 1), KE_NONE);
	}
	tick_to(F.now + 1100);
	ck_assert_str_eq(str(describe("g").state), "PreparingRebalance");
	ck_assert_int_eq(heartbeat("g", m1, 1), KE_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(heartbeat("g", m2, 1), KE_UNKNOWN_MEMBER_ID);
	/* m1 rejoins: it is every member, so the rebalance completes at once */
	int j = join(3, "g", "c1", m1, NULL, 10000, 10000);
	struct kgw_join_resp r = join_resp(j);
	ck_assert_int_eq(r.generation_id, 2);
	ck_assert_int_eq(r.n_members, 1);
}
END_TEST

START_TEST(test_leave_rebalances)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	ck_assert_int_eq(leave0("g", m2), KE_NONE);
	ck_assert_int_eq(leave0("g", m2), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(heartbeat("g", m1, 1), KE_REBALANCE_IN_PROGRESS);
	int j = join(3, "g", "c1", m1, NULL, 10000, 10000);
	ck_assert_int_eq(join_resp(j).generation_id, 2);
	/* v3: a batch, by member id and by instance id */
	struct kgroup_ctx x = ctx(3, "c");
	struct kgw_leave_member lm[2] = { { kgw_s(m1), kgw_s(NULL) }, { kgw_s("ghost"), kgw_s(NULL) } };
	struct kgw_leave_req q = { kgw_s("g"), kgw_s(NULL), 2, lm };
	CORE(kgroups_leave(F.gs, &x, &q, F.now));
	struct kgw_leave_resp r;
	char eb[256];
	int t = tok(&x);
	ck_assert_int_eq(kgw_leave_resp_decode(F.reps[t].body, F.reps[t].len, 3, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.error, 0);
	ck_assert_int_eq(r.n_members, 2);
	ck_assert_int_eq(r.members[0].error, KE_NONE);
	ck_assert_int_eq(r.members[1].error, KE_UNKNOWN_MEMBER_ID);
	/* the last member left: Empty, generation 3, its metadata stored */
	struct kgw_described_group d = describe("g");
	ck_assert_str_eq(str(d.state), "Empty");
	ck_assert_int_eq(d.n_members, 0);
	struct app *a = &F.apps[F.napps - 1];
	struct kgw_group_value v;
	ck_assert_int_eq(kgw_group_value_decode(a->val[0], a->vlen[0], 0, &v, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(v.generation, 3);
	ck_assert_int_eq(v.n_members, 0);
	ck_assert_int_eq(v.protocol.len, -1);
	complete(F.napps - 1, KE_NONE);
}
END_TEST

START_TEST(test_member_id_required)
{
	int j = join(4, "g", "cx", "", NULL, 10000, 10000);
	struct kgw_join_resp r = join_resp(j);
	ck_assert_int_eq(r.error, KE_MEMBER_ID_REQUIRED);
	ck_assert(strncmp(str(r.member_id), "cx-", 3) == 0);
	char id[128];
	strcpy(id, str(r.member_id));
	ck_assert_int_eq(r.generation_id, -1);
	/* an id nobody was given is refused */
	ck_assert_int_eq(join_resp(join(4, "g", "cx", "cx-made-up", NULL, 10000, 10000)).error, KE_UNKNOWN_MEMBER_ID);
	j = join(4, "g", "cx", id, NULL, 10000, 10000);
	tick_to(F.now + 3000);
	r = join_resp(j);
	ck_assert_int_eq(r.error, 0);
	ck_assert_str_eq(str(r.member_id), id);
	ck_assert_int_eq(r.generation_id, 1);
	/* a protocol the member does not support */
	struct kgroup_ctx x = ctx(3, "cz");
	struct kgw_join_proto p = { kgw_s("other"), kgw_s("") };
	struct kgw_join_req q = { kgw_s("g"), 10000, 10000, kgw_s(""), kgw_s(NULL), kgw_s("consumer"), 1, &p };
	CORE(kgroups_join(F.gs, &x, &q, F.now));
	ck_assert_int_eq(join_resp(tok(&x)).error, KE_INCONSISTENT_GROUP_PROTOCOL);
	/* a pending id that never comes back expires after its session timeout */
	j = join(4, "g", "cy", "", NULL, 10000, 10000);
	char id2[128];
	strcpy(id2, str(join_resp(j).member_id));
	tick_to(F.now + 10100);
	ck_assert_int_eq(join_resp(join(4, "g", "cy", id2, NULL, 10000, 10000)).error, KE_UNKNOWN_MEMBER_ID);
	/* bad session timeouts, protocol types, group ids */
	ck_assert_int_eq(join_resp(join(4, "g", "cz", "", NULL, 10, 10000)).error, KE_INVALID_SESSION_TIMEOUT);
	ck_assert_int_eq(join_resp(join(4, "", "cz", "", NULL, 10000, 10000)).error, KE_INVALID_GROUP_ID);
}
END_TEST

START_TEST(test_static_member_fencing)
{
	int j = join(5, "g", "c1", "", "inst-1", 10000, 10000);
	tick_to(F.now + 3000);
	struct kgw_join_resp r = join_resp(j);
	ck_assert_int_eq(r.error, 0);
	char old[128];
	strcpy(old, str(r.member_id));
	ck_assert(strncmp(old, "inst-1-", 7) == 0);
	const char *ids[1] = { old }, *as[1] = { "A" };
	int s = sync_(3, "g", old, 1, 1, ids, as);
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(sync_resp(s).error, 0);
	/* the instance restarts: an unknown member id with its instance id takes over, no rebalance */
	int n0 = F.napps;
	j = join(5, "g", "c1", "", "inst-1", 10000, 10000);
	ck_assert(!answered(j));
	ck_assert_int_eq(F.napps, n0 + 1); /* the new id is stored first */
	complete(n0, KE_NONE);
	r = join_resp(j);
	ck_assert_int_eq(r.error, 0);
	ck_assert_int_eq(r.generation_id, 1);
	ck_assert_str_eq(str(r.leader), old); /* so that it does not act as the leader */
	char neu[128];
	strcpy(neu, str(r.member_id));
	ck_assert_str_ne(neu, old);
	ck_assert_str_eq(str(describe("g").state), "Stable");
	ck_assert_int_eq(heartbeat_i("g", old, "inst-1", 1), KE_FENCED_INSTANCE_ID);
	ck_assert_int_eq(heartbeat_i("g", neu, "inst-1", 1), KE_NONE);
	ck_assert_str_eq(str(sync_resp(sync_(3, "g", neu, 1, 0, NULL, NULL)).assignment), "A");
	/* a failed store gives the old id back */
	n0 = F.napps;
	j = join(5, "g", "c1", "", "inst-1", 10000, 10000);
	complete(n0, KE_NOT_ENOUGH_REPLICAS);
	ck_assert_int_eq(join_resp(j).error, KE_COORDINATOR_NOT_AVAILABLE);
	ck_assert_int_eq(heartbeat_i("g", neu, "inst-1", 1), KE_NONE);
	/* a static member's session still expires */
	tick_to(F.now + 10100);
	ck_assert_str_eq(str(describe("g").state), "Empty");
}
END_TEST

START_TEST(test_initial_delay)
{
	int j1 = join(3, "g", "c1", "", NULL, 10000, 20000);
	tick_to(F.now + 2900);
	ck_assert(!answered(j1));
	int j2 = join(3, "g", "c2", "", NULL, 10000, 20000);
	/* a new member extends the delay by another 3 s (the rebalance timeout caps the total) */
	tick_to(F.now + 100);
	ck_assert(!answered(j1));
	tick_to(F.now + 2900);
	ck_assert(!answered(j1));
	tick_to(F.now + 100);
	ck_assert_int_eq(join_resp(j1).generation_id, 1);
	ck_assert_int_eq(join_resp(j2).generation_id, 1);
	/* the cap: members joining every second keep extending up to the rebalance timeout only */
	teardown();
	setup();
	int64_t t0 = F.now;
	int first = join(3, "g", "c", "", NULL, 10000, 8000);
	while (!answered(first)) {
		tick_to(F.now + 1000);
		if (!answered(first))
			join(3, "g", "c", "", NULL, 10000, 8000);
		ck_assert(F.now - t0 <= 9000);
	}
	ck_assert_int_ge(F.now - t0, 8000);
}
END_TEST

START_TEST(test_rebalance_timeout_removes)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 30000, 10000);
	/* the leader rejoins (a rebalance); m2 never does */
	int j = join(3, "g", "c1", m1, NULL, 30000, 10000);
	ck_assert(!answered(j));
	tick_to(F.now + 9900);
	ck_assert(!answered(j));
	tick_to(F.now + 100);
	struct kgw_join_resp r = join_resp(j);
	ck_assert_int_eq(r.generation_id, 2);
	ck_assert_int_eq(r.n_members, 1);
	ck_assert_int_eq(heartbeat("g", m2, 1), KE_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(test_commit_fetch)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	int16_t err;
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), -1);
	int n0 = F.napps;
	int c = commit(7, "g", m1, 1, "t", 0, 42, "md");
	ck_assert(!answered(c));
	/* not visible before it is replicated */
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), -1);
	struct app *a = &F.apps[n0];
	struct kgw_key k;
	struct kgw_offset_value v;
	char eb[256];
	ck_assert_int_eq(kgw_key_decode(a->key[0], a->klen[0], 0, &k, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(k.version, 1);
	ck_assert_str_eq(str(k.topic), "t");
	ck_assert_int_eq(kgw_offset_value_decode(a->val[0], a->vlen[0], 0, &v, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(v.version, 3);
	ck_assert_int_eq(v.offset, 42);
	ck_assert_int_eq(v.commit_timestamp, F.now);
	complete(n0, KE_NONE);
	ck_assert_int_eq(commit_err(c), KE_NONE);
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 42);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(fetch(1, "g", "t", 0, &err), 42);
	/* a failed append is not visible */
	c = commit(7, "g", m1, 1, "t", 0, 50, "");
	complete(F.napps - 1, KE_NOT_ENOUGH_REPLICAS);
	ck_assert_int_eq(commit_err(c), KE_COORDINATOR_NOT_AVAILABLE);
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 42);
	F.append_rc = KE_NOT_LEADER_OR_FOLLOWER;
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 1, "t", 0, 51, "")), KE_NOT_COORDINATOR);
	F.append_rc = KE_RECORD_LIST_TOO_LARGE;
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 1, "t", 0, 51, "")), KE_INVALID_COMMIT_OFFSET_SIZE);
	F.append_rc = KE_NONE;
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 42);
	/* v2+ null topics: every committed offset */
	c = commit(7, "g", m2, 1, "u", 3, 7, NULL);
	complete(F.napps - 1, KE_NONE);
	struct kgroup_ctx x = ctx(5, "c");
	struct kgw_ofetch_req q = { kgw_s("g"), -1, NULL, false };
	CORE(kgroups_offset_fetch(F.gs, &x, &q, F.now));
	struct kgw_ofetch_resp r;
	int t = tok(&x);
	ck_assert_int_eq(kgw_ofetch_resp_decode(F.reps[t].body, F.reps[t].len, 5, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.n_topics, 2);
	ck_assert_str_eq(str(r.topics[0].name), "t");
	ck_assert_str_eq(str(r.topics[0].parts[0].metadata), "md");
	ck_assert_str_eq(str(r.topics[1].name), "u");
	ck_assert_int_eq(r.topics[1].parts[0].partition, 3);
	ck_assert_int_eq(r.topics[1].parts[0].offset, 7);
	/* a simple consumer (generation -1, no member) commits to a group nobody joined */
	c = commit(2, "simple", "", -1, "t", 1, 9, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), 0);
	ck_assert_int_eq(fetch(3, "simple", "t", 1, &err), 9);
	ck_assert_int_eq(fetch(3, "nobody", "t", 1, &err), -1);
	ck_assert_int_eq(err, 0);
}
END_TEST

static int offsets_seen;
static void count_offset(void *arg, const char *topic, int32_t part, int64_t offset)
{
	(void)arg;
	(void)topic;
	(void)part;
	(void)offset;
	offsets_seen++;
}

/* TxnOffsetCommit's outcome (kgroup_done_fn): -1 until told. */
static int txo_done_n;
static int16_t txo_err;
static void txo_done(void *arg, int16_t err)
{
	(void)arg;
	txo_done_n++;
	txo_err = err;
}

/* kgroups_txn_offsets of consumer who (NULL: none, as v0-2), its append completed with err;
 * returns the call's error (or the outcome's when it appended). */
static int16_t txo_who(const char *g, int64_t pid, int16_t epoch, const struct kgroup_txn_member *who,
		       struct kgroup_txoff *o, int16_t *err, int16_t app_err)
{
	bool waiting = false;
	int16_t e;
	int before = txo_done_n;
	CORE(e = kgroups_txn_offsets(F.gs, kgw_s(g), pid, epoch, who, o, 1, err, txo_done, NULL, &waiting, F.now));
	if (!waiting)
		return e;
	ck_assert_int_eq(e, KE_NONE);
	ck_assert_int_eq(txo_done_n, before); /* never from inside the call */
	ck_assert_int_eq(F.apps[F.napps - 1].pid, pid); /* one transactional batch of the producer */
	ck_assert_int_eq(F.apps[F.napps - 1].pepoch, epoch);
	complete(F.napps - 1, app_err);
	ck_assert_int_eq(txo_done_n, before + 1);
	return txo_err;
}

static int16_t txo(const char *g, int64_t pid, int16_t epoch, struct kgroup_txoff *o, int16_t *err, int16_t app_err)
{
	return txo_who(g, pid, epoch, NULL, o, err, app_err);
}

/* TxnOffsetCommit v3 of member (instance NULL: none) at generation gen into group g: the call's
 * error, or KE_NONE once its batch is stored (then aborted, so that nothing stays pending);
 * asserts that a refusal appended nothing. */
static int16_t txo_gen(const char *g, const char *member, const char *instance, int32_t gen)
{
	struct kgroup_txoff o = { kgw_s("t"), 0, 77, -1, { NULL, -1 } };
	struct kgroup_txn_member who = { kgw_s(member), kgw_s(instance), gen };
	int16_t err = KE_NONE;
	int apps = F.napps;
	int16_t e = txo_who(g, 9, 0, &who, &o, &err, KE_NONE);
	if (e != KE_NONE)
		ck_assert_int_eq(F.napps, apps);
	else
		CORE(kgroups_txn_end(F.gs, kgplace_partition((const uint8_t *)g, strlen(g), NP), 9, 0, false, F.now));
	return e;
}

/* TxnOffsetCommit's offsets: appended as the producer's transactional batch, pending once it
 * is stored until the marker (commit: visible and appended; abort: dropped); an older epoch
 * refused, a newer one drops what the older left; only the marker's epoch commits. */
START_TEST(test_txn_offsets)
{
	struct kgroup_txoff o = { kgw_s("t"), 0, 42, -1, { NULL, -1 } };
	int16_t err = KE_NONE;
	int32_t p = kgplace_partition((const uint8_t *)"tg", 2, NP);
	ck_assert_int_eq(txo("tg", 7, 1, &o, &err, KE_NONE), KE_NONE);
	ck_assert_int_eq(err, KE_NONE);
	int16_t e2;
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), -1); /* not before the marker */
	/* OffsetFetch v7 with require_stable: UNSTABLE_OFFSET_COMMIT while a transaction holds it */
	struct kgroup_ctx x7 = ctx(7, "c");
	int32_t parts0[1] = { 0 };
	struct kgw_fetch_topic ft = { kgw_s("t"), 1, parts0 };
	struct kgw_ofetch_req q7 = { kgw_s("tg"), 1, &ft, true };
	CORE(kgroups_offset_fetch(F.gs, &x7, &q7, F.now));
	int t7 = tok(&x7);
	ck_assert(answered(t7));
	struct kgw_ofetch_resp r7;
	char eb[256];
	ck_assert_int_eq(kgw_ofetch_resp_decode(F.reps[t7].body, F.reps[t7].len, 7, &r7, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r7.topics[0].parts[0].error, KE_UNSTABLE_OFFSET_COMMIT);
	int apps = F.napps;
	CORE(kgroups_txn_end(F.gs, p, 7, 1, true, F.now));
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), 42);
	ck_assert_int_eq(F.napps, apps + 1); /* stored too */
	complete(apps, KE_NONE);
	/* an aborted one is dropped */
	o.offset = 50;
	err = KE_NONE;
	ck_assert_int_eq(txo("tg", 7, 1, &o, &err, KE_NONE), KE_NONE);
	CORE(kgroups_txn_end(F.gs, p, 7, 1, false, F.now));
	CORE(kgroups_txn_end(F.gs, p, 7, 1, true, F.now));
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), 42);
	/* a failed append: the error answered, nothing pending */
	o.offset = 55;
	err = KE_NONE;
	ck_assert_int_eq(txo("tg", 7, 1, &o, &err, KE_NOT_ENOUGH_REPLICAS), KE_COORDINATOR_NOT_AVAILABLE);
	CORE(kgroups_txn_end(F.gs, p, 7, 1, true, F.now));
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), 42);
	/* epochs: a zombie's older epoch refused; the marker's epoch only commits */
	o.offset = 60;
	err = KE_NONE;
	ck_assert_int_eq(txo("tg", 7, 3, &o, &err, KE_NONE), KE_NONE);
	err = KE_NONE;
	ck_assert_int_eq(txo("tg", 7, 2, &o, &err, KE_NONE), KE_INVALID_PRODUCER_EPOCH);
	CORE(kgroups_txn_end(F.gs, p, 7, 2, true, F.now));
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), 42);
	CORE(kgroups_txn_end(F.gs, p, 7, 3, true, F.now));
	ck_assert_int_eq(fetch(1, "tg", "t", 0, &e2), 60);
	complete(F.napps - 1, KE_NONE);
	/* metadata over the bound (nothing appended), and a partition not coordinated here */
	char big[5000];
	memset(big, 'm', sizeof(big));
	struct kgroup_txoff ob = { kgw_s("t"), 1, 1, -1, { (const uint8_t *)big, (int32_t)sizeof(big) } };
	err = KE_NONE;
	apps = F.napps;
	ck_assert_int_eq(txo("tg", 8, 0, &ob, &err, KE_NONE), KE_NONE);
	ck_assert_int_eq(err, KE_OFFSET_METADATA_TOO_LARGE);
	ck_assert_int_eq(F.napps, apps);
	kgroups_unload(F.gs, p);
	err = KE_NONE;
	ck_assert_int_eq(txo("tg", 7, 3, &o, &err, KE_NONE), KE_NOT_COORDINATOR);
}
END_TEST

/* KIP-447: a TxnOffsetCommit naming a consumer (v3) is checked against the group as Kafka's
 * validateOffsetCommit checks a transactional one: an unknown member, an instance known under
 * another member id, another generation are refused (nothing appended); generation -1 with
 * member "" (v0-2's defaults) is not checked, nor generation -1 on an Empty group. */
START_TEST(test_txn_offsets_generation)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	ck_assert_int_eq(txo_gen("g", m1, NULL, 1), KE_NONE);
	ck_assert_int_eq(txo_gen("g", m1, NULL, 0), KE_ILLEGAL_GENERATION);
	ck_assert_int_eq(txo_gen("g", "who", NULL, 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("g", "", NULL, 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("g", "who", NULL, -1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("g", "", NULL, -1), KE_NONE); /* a producer bound to no generation */
	/* the generation moves on (m2 leaves, m1 rejoins): m1's metadata of generation 1 is stale */
	ck_assert_int_eq(leave0("g", m2), KE_NONE);
	int j = join(3, "g", "c1", m1, NULL, 10000, 10000);
	tick_to(F.now + 100);
	ck_assert_int_eq(join_resp(j).generation_id, 2);
	ck_assert_int_eq(txo_gen("g", m1, NULL, 1), KE_ILLEGAL_GENERATION);
	ck_assert_int_eq(txo_gen("g", m2, NULL, 2), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("g", m1, NULL, 2), KE_NONE);
	/* a static member: its instance id under another member id is fenced */
	j = join(5, "s", "c1", "", "inst-1", 10000, 10000);
	tick_to(F.now + 3000);
	struct kgw_join_resp r = join_resp(j);
	ck_assert_int_eq(r.error, 0);
	char sm[128];
	strcpy(sm, str(r.member_id));
	ck_assert_int_eq(txo_gen("s", sm, "inst-1", 1), KE_NONE);
	ck_assert_int_eq(txo_gen("s", "inst-1-old", "inst-1", 1), KE_FENCED_INSTANCE_ID);
	ck_assert_int_eq(txo_gen("s", sm, "inst-2", 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("s", sm, "inst-1", 2), KE_ILLEGAL_GENERATION);
	/* an Empty group (or one not known) takes generation -1 from anyone; a generation names a
	 * member it does not have */
	tick_to(F.now + 10100);
	ck_assert_str_eq(str(describe("s").state), "Empty");
	ck_assert_int_eq(txo_gen("s", sm, "inst-1", -1), KE_NONE);
	ck_assert_int_eq(txo_gen("s", sm, NULL, 1), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(txo_gen("new", "m", NULL, -1), KE_NONE);
	ck_assert_int_eq(txo_gen("new2", "m", NULL, 0), KE_UNKNOWN_MEMBER_ID);
	ck_assert_str_eq(str(describe("new2").state), "Dead"); /* not created by a refusal */
}
END_TEST

START_TEST(test_commit_errors)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 2, "t", 0, 1, "")), KE_ILLEGAL_GENERATION);
	ck_assert_int_eq(commit_err(commit(7, "g", "who", 1, "t", 0, 1, "")), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(commit_err(commit(7, "g", "", -1, "t", 0, 1, "")), KE_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 1, "t", 0, 1, "metadata-far-too-long")), KE_OFFSET_METADATA_TOO_LARGE);
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 1, "nope", 0, 1, "")), KE_UNKNOWN_TOPIC_OR_PARTITION);
	ck_assert_int_eq(commit_err(commit(7, "unknown", "m", 3, "t", 0, 1, "")), KE_ILLEGAL_GENERATION);
	/* during PreparingRebalance a commit is still taken (Kafka 2.x) */
	ck_assert_int_eq(leave0("g", m2), KE_NONE);
	int c = commit(7, "g", m1, 1, "t", 0, 3, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), KE_NONE);
	/* and in CompletingRebalance refused */
	int j = join(3, "g", "c1", m1, NULL, 10000, 10000);
	ck_assert_int_eq(join_resp(j).generation_id, 2);
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 2, "t", 0, 4, "")), KE_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(sync_resp(sync_(3, "g", m1, 1, 0, NULL, NULL)).error, KE_ILLEGAL_GENERATION);
	/* a partition not owned: NOT_COORDINATOR */
	CORE(kgroups_unload(F.gs, kgplace_partition((const uint8_t *)"g", 1, NP)));
	ck_assert_int_eq(commit_err(commit(7, "g", m1, 2, "t", 0, 4, "")), KE_NOT_COORDINATOR);
	ck_assert_int_eq(kgroups_owns(F.gs, (const uint8_t *)"g", 1), KE_NOT_COORDINATOR);
	ck_assert(!kgroups_offsets(F.gs, "g", count_offset, NULL));
}
END_TEST

START_TEST(test_delete_groups)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	int c = commit(2, "e", "", -1, "t", 0, 5, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), 0);
	struct kgroup_ctx x = ctx(1, "c");
	struct kgw_str gl[3] = { kgw_s("g"), kgw_s("e"), kgw_s("none") };
	struct kgw_delete_req q = { 3, gl };
	int n0 = F.napps;
	CORE(kgroups_delete(F.gs, &x, &q, F.now));
	ck_assert(!answered(tok(&x)));
	ck_assert_int_eq(F.napps, n0 + 1);
	ck_assert_int_eq(F.apps[n0].n, 1); /* the offset's tombstone; no group record (generation 0) */
	ck_assert_ptr_null(F.apps[n0].val[0]);
	complete(n0, KE_NONE);
	int t = tok(&x);
	struct kgw_delete_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_delete_resp_decode(F.reps[t].body, F.reps[t].len, 1, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.n_results, 3);
	ck_assert_int_eq(r.results[0].error, KE_NON_EMPTY_GROUP);
	ck_assert_int_eq(r.results[1].error, KE_NONE);
	ck_assert_int_eq(r.results[2].error, KE_GROUP_ID_NOT_FOUND);
	int16_t err;
	ck_assert_int_eq(fetch(5, "e", "t", 0, &err), -1);
	ck_assert_str_eq(str(describe("e").state), "Dead");
	/* a group that had members: its group tombstone too */
	ck_assert_int_eq(leave0("g", m1), 0);
	ck_assert_int_eq(leave0("g", m2), 0);
	ck_assert_str_eq(str(describe("g").state), "Empty");
	complete(F.napps - 1, KE_NONE); /* the Empty group's metadata */
	x = ctx(0, "c");
	struct kgw_delete_req q2 = { 1, gl };
	n0 = F.napps;
	CORE(kgroups_delete(F.gs, &x, &q2, F.now));
	ck_assert_int_eq(F.apps[n0].n, 1);
	struct kgw_key k;
	ck_assert_int_eq(kgw_key_decode(F.apps[n0].key[0], F.apps[n0].klen[0], 0, &k, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(k.version, 2);
	complete(n0, KE_NONE);
	ck_assert(answered(tok(&x)));
}
END_TEST

START_TEST(test_offset_delete_subscribed)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	int c = commit(7, "g", m1, 1, "t", 0, 5, "");
	complete(F.napps - 1, KE_NONE);
	commit_err(c);
	c = commit(7, "g", m1, 1, "u", 0, 6, "");
	complete(F.napps - 1, KE_NONE);
	commit_err(c);
	struct kgroup_ctx x = ctx(0, "c");
	int32_t p0[1] = { 0 };
	struct kgw_odelete_topic ot[2] = { { kgw_s("t"), 1, p0 }, { kgw_s("u"), 1, p0 } };
	struct kgw_odelete_req q = { kgw_s("g"), 2, ot };
	CORE(kgroups_offset_delete(F.gs, &x, &q, F.now));
	complete(F.napps - 1, KE_NONE);
	int t = tok(&x);
	struct kgw_odelete_resp r;
	char eb[256];
	ck_assert_int_eq(kgw_odelete_resp_decode(F.reps[t].body, F.reps[t].len, 0, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.error, 0);
	ck_assert_int_eq(r.topics[0].parts[0].error, KE_GROUP_SUBSCRIBED_TO_TOPIC); /* the members subscribe to t */
	ck_assert_int_eq(r.topics[1].parts[0].error, KE_NONE);
	int16_t err;
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 5);
	ck_assert_int_eq(fetch(5, "g", "u", 0, &err), -1);
	x = ctx(0, "c");
	struct kgw_odelete_req q2 = { kgw_s("none"), 1, ot };
	CORE(kgroups_offset_delete(F.gs, &x, &q2, F.now));
	t = tok(&x);
	ck_assert_int_eq(kgw_odelete_resp_decode(F.reps[t].body, F.reps[t].len, 0, &r, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.error, KE_GROUP_ID_NOT_FOUND);
}
END_TEST

/* Kafka's checks inside the coordinator: READ on each committed topic, DESCRIBE on each fetched
 * topic (left out of an OffsetFetch of every topic), DESCRIBE on each described group, the
 * cluster or else each group for ListGroups, DELETE on each deleted group, DELETE on the group
 * and READ on each topic for OffsetDelete. A refused resource is never looked at, written or
 * shown. */
START_TEST(test_authorization)
{
	int16_t err;
	int c = commit(2, "a", "", -1, "t", 0, 5, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), 0);
	c = commit(2, "a", "", -1, "secret", 0, 6, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), 0);
	c = commit(2, "b", "", -1, "t", 0, 7, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(c), 0);
	/* OffsetCommit: READ on the topic, else TOPIC_AUTHORIZATION_FAILED and nothing written */
	F.deny[KGROUP_CHECK_TOPIC_READ] = "secret";
	int n0 = F.napps;
	ck_assert_int_eq(commit_err(commit(7, "a", "", -1, "secret", 0, 60, "")), KE_TOPIC_AUTHORIZATION_FAILED);
	ck_assert_int_eq(F.napps, n0);
	/* OffsetFetch: DESCRIBE on the topic, else no offset and TOPIC_AUTHORIZATION_FAILED */
	ck_assert_int_eq(fetch(7, "a", "secret", 0, &err), 6); /* READ is not what it asks */
	F.deny[KGROUP_CHECK_TOPIC_DESCRIBE] = "secret";
	ck_assert_int_eq(fetch(7, "a", "secret", 0, &err), -1);
	ck_assert_int_eq(err, KE_TOPIC_AUTHORIZATION_FAILED);
	ck_assert_int_eq(fetch(7, "a", "t", 0, &err), 5);
	ck_assert_int_eq(err, 0);
	/* ... and every topic of the group leaves out those it may not DESCRIBE */
	struct kgroup_ctx x = ctx(6, "c");
	struct kgw_ofetch_req all = { kgw_s("a"), -1, NULL, false };
	CORE(kgroups_offset_fetch(F.gs, &x, &all, F.now));
	struct kgw_ofetch_resp fr;
	char eb[256];
	int t = tok(&x);
	ck_assert_int_eq(kgw_ofetch_resp_decode(F.reps[t].body, F.reps[t].len, 6, &fr, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(fr.n_topics, 1);
	ck_assert_str_eq(str(fr.topics[0].name), "t");
	/* DescribeGroups: DESCRIBE on each group */
	F.deny[KGROUP_CHECK_GROUP_DESCRIBE] = "a";
	struct kgw_described_group d = describe("a");
	ck_assert_int_eq(d.error, KE_GROUP_AUTHORIZATION_FAILED);
	ck_assert_str_eq(str(d.state), "");
	ck_assert_int_eq(describe("b").error, 0);
	ck_assert_str_eq(str(describe("b").state), "Empty");
	/* ListGroups: every group with DESCRIBE on the cluster, else those it may DESCRIBE */
	struct kgw_list_resp l = list();
	ck_assert_int_eq(l.n_groups, 2);
	F.deny_cluster = true;
	l = list();
	ck_assert_int_eq(l.error, 0);
	ck_assert_int_eq(l.n_groups, 1);
	ck_assert_str_eq(str(l.groups[0].group_id), "b");
	/* OffsetDelete: DELETE on the group (the whole request), then READ on each topic */
	F.deny[KGROUP_CHECK_GROUP_DELETE] = "a";
	int32_t p0[1] = { 0 };
	struct kgw_odelete_topic ot[2] = { { kgw_s("t"), 1, p0 }, { kgw_s("secret"), 1, p0 } };
	struct kgw_odelete_req oq = { kgw_s("a"), 2, ot };
	struct kgw_odelete_resp orr;
	x = ctx(0, "c");
	n0 = F.napps;
	CORE(kgroups_offset_delete(F.gs, &x, &oq, F.now));
	t = tok(&x);
	ck_assert_int_eq(kgw_odelete_resp_decode(F.reps[t].body, F.reps[t].len, 0, &orr, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(orr.error, KE_GROUP_AUTHORIZATION_FAILED);
	ck_assert_int_eq(F.napps, n0);
	F.deny[KGROUP_CHECK_GROUP_DELETE] = "b";
	x = ctx(0, "c");
	CORE(kgroups_offset_delete(F.gs, &x, &oq, F.now));
	complete(F.napps - 1, KE_NONE);
	t = tok(&x);
	ck_assert_int_eq(kgw_odelete_resp_decode(F.reps[t].body, F.reps[t].len, 0, &orr, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(orr.error, 0);
	ck_assert_int_eq(orr.topics[0].parts[0].error, 0);
	ck_assert_int_eq(orr.topics[1].parts[0].error, KE_TOPIC_AUTHORIZATION_FAILED);
	F.deny[KGROUP_CHECK_TOPIC_DESCRIBE] = NULL;
	ck_assert_int_eq(fetch(7, "a", "t", 0, &err), -1);     /* deleted */
	ck_assert_int_eq(fetch(7, "a", "secret", 0, &err), 6); /* kept */
	/* DeleteGroups: DELETE on each group */
	struct kgw_str gl[2] = { kgw_s("a"), kgw_s("b") };
	struct kgw_delete_req dq = { 2, gl };
	x = ctx(1, "c");
	CORE(kgroups_delete(F.gs, &x, &dq, F.now));
	complete(F.napps - 1, KE_NONE);
	t = tok(&x);
	struct kgw_delete_resp dr;
	ck_assert_int_eq(kgw_delete_resp_decode(F.reps[t].body, F.reps[t].len, 1, &dr, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(dr.results[0].error, KE_NONE);
	ck_assert_int_eq(dr.results[1].error, KE_GROUP_AUTHORIZATION_FAILED);
	ck_assert_int_eq(fetch(7, "b", "t", 0, &err), 7);
	ck_assert_int_eq(fetch(7, "a", "secret", 0, &err), -1);
	ck_assert_int_gt(F.checks, 0);
}
END_TEST

START_TEST(test_retention)
{
	struct kgroups_conf c = f_conf();
	c.offsets_retention_ms = 60000;
	c.retention_check_interval_ms = 1000;
	teardown();
	setup_with(c);
	CORE(kgroups_tick(F.gs, F.now));
	int t = commit(2, "s", "", -1, "t", 0, 5, "");
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(commit_err(t), 0);
	/* an Empty consumer group: retention counts from when it became Empty */
	int j = join(3, "g", "c1", "", NULL, 10000, 10000);
	tick_to(F.now + 3000);
	char m[128];
	strcpy(m, str(join_resp(j).member_id));
	const char *ids[1] = { m }, *as[1] = { "A" };
	int s = sync_(3, "g", m, 1, 1, ids, as);
	complete(F.napps - 1, KE_NONE);
	sync_resp(s);
	t = commit(7, "g", m, 1, "t", 0, 8, "");
	complete(F.napps - 1, KE_NONE);
	tick_to(F.now + 5000);
	ck_assert_int_eq(leave0("g", m), 0);
	complete(F.napps - 1, KE_NONE);
	int64_t left = F.now;
	int16_t err;
	tick_to(F.now + 52000); /* "s" committed 60 s ago: expired, and removed */
	ck_assert_int_eq(fetch(5, "s", "t", 0, &err), -1);
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 8);
	struct app *a = &F.apps[F.napps - 1];
	ck_assert_int_eq(a->n, 1);
	ck_assert_ptr_null(a->val[0]);
	complete(F.napps - 1, KE_NONE);
	ck_assert_str_eq(str(describe("s").state), "Dead");
	tick_to(left + 61000);
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), -1);
	a = &F.apps[F.napps - 1];
	ck_assert_int_eq(a->n, 2); /* the offset and the group */
	complete(F.napps - 1, KE_NONE);
	ck_assert_int_eq(list().n_groups, 0);
}
END_TEST

/* ---- loading ---- */

static struct wbuf recs_w[32];
static int n_recs_w;

static void rec_offset(const char *g, const char *topic, int32_t part, int64_t off, bool tomb, struct kgw_str *k,
		       struct kgw_str *v)
{
	struct wbuf *kw = &recs_w[n_recs_w++], *vw = &recs_w[n_recs_w++];
	wbuf_init(kw, 1 << 16);
	wbuf_init(vw, 1 << 16);
	struct kgw_key key = { 1, kgw_s(g), kgw_s(topic), part };
	ck_assert_int_eq(kgw_key_encode(kw, 0, &key), 0);
	struct kgw_offset_value ov = { 3, off, -1, kgw_s(""), 1000, -1 };
	ck_assert_int_eq(kgw_offset_value_encode(vw, 0, &ov), 0);
	*k = (struct kgw_str){ kw->p, (int32_t)kw->len };
	*v = tomb ? kgw_s(NULL) : (struct kgw_str){ vw->p, (int32_t)vw->len };
}

static int load(int32_t p, struct kgw_str k, struct kgw_str v)
{
	char eb[256];
	return kgroups_load_record(F.gs, p, k.p, (size_t)k.len, v.p, v.len < 0 ? 0 : (size_t)v.len, eb, sizeof(eb));
}

static int load_txn(int32_t p, int64_t pid, int16_t epoch, struct kgw_str k, struct kgw_str v)
{
	char eb[256];
	return kgroups_load_txn_record(F.gs, p, pid, epoch, k.p, (size_t)k.len, v.p, v.len < 0 ? 0 : (size_t)v.len, eb,
				       sizeof(eb));
}

/* Loading transactional offset records (TxnOffsetCommit's batches): pending per producer until
 * its marker in the log (commit applies, abort drops, an older epoch's dropped); those without a
 * marker by the log end stay pending (UNSTABLE_OFFSET_COMMIT) until a live marker. */
START_TEST(test_load_txn_offsets)
{
	int32_t pg = kgplace_partition((const uint8_t *)"g", 1, NP);
	struct kgw_str k, v;
	CORE(kgroups_load_begin(F.gs, pg));
	rec_offset("g", "t", 0, 5, false, &k, &v); /* a plain commit */
	ck_assert_int_eq(load(pg, k, v), 0);
	rec_offset("g", "t", 0, 10, false, &k, &v); /* producer 7: committed below */
	ck_assert_int_eq(load_txn(pg, 7, 1, k, v), 0);
	rec_offset("g", "t", 1, 11, false, &k, &v); /* producer 8: aborted below */
	ck_assert_int_eq(load_txn(pg, 8, 1, k, v), 0);
	rec_offset("g", "t", 2, 12, false, &k, &v); /* producer 9: no marker by the end */
	ck_assert_int_eq(load_txn(pg, 9, 4, k, v), 0);
	rec_offset("g", "t", 3, 13, false, &k, &v); /* producer 10 epoch 1, fenced by epoch 2 */
	ck_assert_int_eq(load_txn(pg, 10, 1, k, v), 0);
	char eb[256];
	static const uint8_t junk[] = { 0, 1, 0, 1, 'g' };
	ck_assert_int_ne(kgroups_load_txn_record(F.gs, pg, 7, 1, k.p, (size_t)k.len, junk, sizeof(junk), eb, sizeof(eb)),
			 0);
	CORE(kgroups_load_marker(F.gs, pg, 8, 1, false));
	CORE(kgroups_load_marker(F.gs, pg, 10, 2, true)); /* commits epoch 2's: none; epoch 1's dropped */
	int16_t err;
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), -1); /* loading: nothing answered yet */
	ck_assert_int_eq(err, KE_COORDINATOR_LOAD_IN_PROGRESS);
	CORE(kgroups_load_marker(F.gs, pg, 7, 1, true));
	CORE(kgroups_load_end(F.gs, pg, F.now));
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 10);
	ck_assert_int_eq(fetch(5, "g", "t", 1, &err), -1);
	ck_assert_int_eq(fetch(5, "g", "t", 2, &err), -1);
	ck_assert_int_eq(fetch(5, "g", "t", 3, &err), -1);
	/* producer 9's is still pending: require_stable says so, a live marker commits it */
	struct kgroup_ctx x7 = ctx(7, "c");
	int32_t parts[2] = { 2, 3 };
	struct kgw_fetch_topic ft = { kgw_s("t"), 2, parts };
	struct kgw_ofetch_req q7 = { kgw_s("g"), 1, &ft, true };
	CORE(kgroups_offset_fetch(F.gs, &x7, &q7, F.now));
	int t7 = tok(&x7);
	ck_assert(answered(t7));
	struct kgw_ofetch_resp r7;
	ck_assert_int_eq(kgw_ofetch_resp_decode(F.reps[t7].body, F.reps[t7].len, 7, &r7, &F.arena, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r7.topics[0].parts[0].error, KE_UNSTABLE_OFFSET_COMMIT);
	ck_assert_int_eq(r7.topics[0].parts[1].error, KE_NONE);
	CORE(kgroups_txn_end(F.gs, pg, 9, 4, true, F.now));
	ck_assert_int_eq(fetch(5, "g", "t", 2, &err), 12);
	complete(F.napps - 1, KE_NONE);
}
END_TEST

START_TEST(test_load_records)
{
	/* a live coordinator's records, loaded into a fresh one, give back its groups and offsets */
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	int c = commit(7, "g", m1, 1, "t", 0, 11, "x");
	complete(F.napps - 1, KE_NONE);
	commit_err(c);
	c = commit(7, "g", m1, 1, "t", 0, 12, "y");
	complete(F.napps - 1, KE_NONE);
	commit_err(c);
	struct app saved[16];
	int nsaved = F.napps;
	ck_assert(nsaved <= 16);
	memcpy(saved, F.apps, sizeof(struct app) * (size_t)nsaved);
	F.napps = 0; /* the records now belong to saved */
	kgroups_free(F.gs);
	check_answered();
	struct kgroups_conf conf = f_conf();
	F.gs = kgroups_new(&conf, &f_ops, NULL);
	int32_t pg = kgplace_partition((const uint8_t *)"g", 1, NP);
	CORE(kgroups_load_begin(F.gs, pg));
	ck_assert_int_eq(kgroups_owns(F.gs, (const uint8_t *)"g", 1), KE_COORDINATOR_LOAD_IN_PROGRESS);
	/* while loading: joins wait, heartbeats pass, ListGroups says so */
	ck_assert_int_eq(join_resp(join(3, "g", "c", "", NULL, 10000, 10000)).error, KE_COORDINATOR_LOAD_IN_PROGRESS);
	ck_assert_int_eq(heartbeat("g", m1, 1), KE_NONE);
	ck_assert_int_eq(list().error, KE_COORDINATOR_LOAD_IN_PROGRESS);
	for (int i = 0; i < nsaved; i++)
		for (int k = 0; k < saved[i].n; k++) {
			char eb[256];
			ck_assert_int_eq(kgroups_load_record(F.gs, pg, saved[i].key[k], saved[i].klen[k], saved[i].val[k],
							     saved[i].vlen[k], eb, sizeof(eb)),
					 0);
		}
	/* malformed records are skipped, with a reason */
	char eb[256];
	static const uint8_t junk[] = { 0, 9, 0, 1, 'g' };
	ck_assert_int_ne(kgroups_load_record(F.gs, pg, junk, sizeof(junk), junk, sizeof(junk), eb, sizeof(eb)), 0);
	struct kgw_str k, v;
	rec_offset("g", "t", 1, 100, false, &k, &v);
	ck_assert_int_ne(kgroups_load_record(F.gs, pg, k.p, (size_t)k.len, junk, sizeof(junk), eb, sizeof(eb)), 0);
	/* a group of another partition is not this one's */
	const char *other = "a";
	for (char ch = 'a'; kgplace_partition((const uint8_t *)other, 1, NP) == pg; ch++) {
		static char o[2];
		o[0] = ch;
		other = o;
	}
	rec_offset(other, "t", 1, 100, false, &k, &v);
	ck_assert_int_ne(load(pg, k, v), 0);
	/* an offset, its tombstone; another kept */
	rec_offset("g", "t", 2, 20, false, &k, &v);
	ck_assert_int_eq(load(pg, k, v), 0);
	rec_offset("g", "t", 2, 0, true, &k, &v);
	ck_assert_int_eq(load(pg, k, v), 0);
	rec_offset("g", "t", 3, 30, false, &k, &v);
	ck_assert_int_eq(load(pg, k, v), 0);
	CORE(kgroups_load_end(F.gs, pg, F.now));
	ck_assert_int_eq(kgroups_owns(F.gs, (const uint8_t *)"g", 1), KE_NONE);
	int16_t err;
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 12);
	ck_assert_int_eq(fetch(5, "g", "t", 1, &err), -1);
	ck_assert_int_eq(fetch(5, "g", "t", 2, &err), -1);
	ck_assert_int_eq(fetch(5, "g", "t", 3, &err), 30);
	struct kgw_described_group d = describe("g");
	ck_assert_str_eq(str(d.state), "Stable");
	ck_assert_int_eq(d.n_members, 2);
	ck_assert_str_eq(str(d.members[1].assignment), "A2");
	/* the members carry on in generation 1 with new session deadlines */
	ck_assert_int_eq(heartbeat("g", m1, 1), KE_NONE);
	ck_assert_str_eq(str(sync_resp(sync_(3, "g", m2, 1, 0, NULL, NULL)).assignment), "A2");
	offsets_seen = 0;
	ck_assert(kgroups_offsets(F.gs, "g", count_offset, NULL));
	ck_assert_int_eq(offsets_seen, 2);
	/* a group tombstone: offsets only, then the group is gone from a reload */
	CORE(kgroups_load_begin(F.gs, pg));
	for (int i = 0; i < nsaved; i++)
		for (int kk = 0; kk < saved[i].n; kk++)
			kgroups_load_record(F.gs, pg, saved[i].key[kk], saved[i].klen[kk], saved[i].val[kk], saved[i].vlen[kk],
					    eb, sizeof(eb));
	struct wbuf gk;
	wbuf_init(&gk, 1024);
	struct kgw_key key = { 2, kgw_s("g"), kgw_s(NULL), -1 };
	ck_assert_int_eq(kgw_key_encode(&gk, 0, &key), 0);
	ck_assert_int_eq(kgroups_load_record(F.gs, pg, gk.p, gk.len, NULL, 0, eb, sizeof(eb)), 0);
	CORE(kgroups_load_end(F.gs, pg, F.now));
	d = describe("g");
	ck_assert_str_eq(str(d.state), "Empty");
	ck_assert_int_eq(fetch(5, "g", "t", 0, &err), 12);
	wbuf_free(&gk);
	for (int i = 0; i < nsaved; i++)
		for (int kk = 0; kk < saved[i].n; kk++) {
			free(saved[i].key[kk]);
			free(saved[i].val[kk]);
		}
	for (int i = 0; i < n_recs_w; i++)
		wbuf_free(&recs_w[i]);
}
END_TEST

START_TEST(test_unload_answers_parked)
{
	char m1[128], m2[128];
	stable_pair(m1, m2, 10000, 10000);
	int c = commit(7, "g", m1, 1, "t", 0, 5, "");
	int ca = F.napps - 1;
	int j = join(3, "g", "c1", m1, NULL, 10000, 10000); /* parked: m2 has not rejoined */
	ck_assert(!answered(j) && !answered(c));
	int32_t pg = kgplace_partition((const uint8_t *)"g", 1, NP);
	CORE(kgroups_unload(F.gs, pg));
	ck_assert_int_eq(join_resp(j).error, KE_NOT_COORDINATOR);
	ck_assert(!answered(c));
	complete(ca, KE_NONE); /* the commit's append completes after the unload */
	ck_assert_int_eq(commit_err(c), KE_NOT_COORDINATOR);
	ck_assert_int_eq(join_resp(join(3, "g", "c1", m1, NULL, 10000, 10000)).error, KE_NOT_COORDINATOR);
	ck_assert_int_eq(describe("g").error, KE_NOT_COORDINATOR);
	/* a sync parked in CompletingRebalance, and one more commit under way */
	CORE(kgroups_load_begin(F.gs, pg));
	CORE(kgroups_load_end(F.gs, pg, F.now));
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	tick_to(F.now + 3000);
	char m[128];
	strcpy(m, str(join_resp(j1).member_id));
	int s = sync_(3, "g", m, 1, 0, NULL, NULL);
	(void)s;
	/* kgroups_free (in teardown) answers the parked sync and the append under way */
}
END_TEST

START_TEST(test_free_answers_parked)
{
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	int c = commit(2, "s", "", -1, "t", 0, 1, "");
	kgroups_free(F.gs);
	F.gs = NULL;
	ck_assert_int_eq(join_resp(j1).error, KE_NOT_COORDINATOR);
	ck_assert_int_eq(commit_err(c), KE_NOT_COORDINATOR);
}
END_TEST

static int groups_seen, members_seen;
static void count_group(void *arg, const struct kgroup_info *gi)
{
	(void)arg;
	groups_seen++;
	members_seen += gi->members;
	ck_assert_str_ne(gi->state, "Dead");
}

START_TEST(test_many_groups)
{
	/* enough groups to grow the table several times; every one found again */
	char g[32];
	for (int i = 0; i < 300; i++) {
		snprintf(g, sizeof(g), "group-%d", i);
		int c = commit(2, g, "", -1, "t", i % 8, i, "");
		complete(F.napps - 1, KE_NONE);
		ck_assert_int_eq(commit_err(c), 0);
		if (F.next_tok > MAXTOK - 20 || F.napps > 200) { /* keep within the fake's tables */
			check_answered();
			for (int a = 0; a < F.napps; a++)
				for (int k = 0; k < F.apps[a].n; k++) {
					free(F.apps[a].key[k]);
					free(F.apps[a].val[k]);
				}
			F.napps = 0;
			for (int t = 0; t < MAXTOK; t++) {
				free(F.reps[t].body);
				F.reps[t].body = NULL;
			}
			memset(F.replied, 0, sizeof(F.replied));
			F.next_tok = 1;
		}
	}
	int16_t err;
	for (int i = 0; i < 300; i += 37) {
		snprintf(g, sizeof(g), "group-%d", i);
		ck_assert_int_eq(fetch(5, g, "t", i % 8, &err), i);
	}
	int j = join(3, "group-5", "c", "", NULL, 10000, 10000);
	groups_seen = members_seen = 0;
	kgroups_each(F.gs, count_group, NULL);
	ck_assert_int_eq(groups_seen, 300);
	ck_assert_int_eq(members_seen, 1);
	ck_assert_int_eq(list().n_groups, 300);
	tick_to(F.now + 3000);
	ck_assert_int_eq(join_resp(j).error, 0);
}
END_TEST

START_TEST(test_static_rejoin_other_protocols)
{
	int j = join(5, "g", "c1", "", "inst-1", 10000, 10000);
	tick_to(F.now + 3000);
	char old[128];
	strcpy(old, str(join_resp(j).member_id));
	const char *ids[1] = { old }, *as[1] = { "A" };
	int s = sync_(3, "g", old, 1, 1, ids, as);
	complete(F.napps - 1, KE_NONE);
	sync_resp(s);
	/* the same instance comes back with a protocol the group does not support: refused */
	struct kgroup_ctx x = ctx(5, "c1");
	struct kgw_join_proto p[2] = { { kgw_s("roundrobin"), kgw_s("") }, { kgw_s("range"), kgw_s("") } };
	struct kgw_join_req q = { kgw_s("g"), 10000, 10000, kgw_s(""), kgw_s("inst-1"), kgw_s("consumer"), 1, p };
	CORE(kgroups_join(F.gs, &x, &q, F.now));
	struct kgw_join_resp r = join_resp(tok(&x));
	ck_assert_int_eq(r.error, KE_INCONSISTENT_GROUP_PROTOCOL);
	/* preferring roundrobin, range still supported: the selected protocol changes, so a
	 * rebalance (not just a stored id) */
	q.n_protocols = 2;
	x = ctx(5, "c1");
	CORE(kgroups_join(F.gs, &x, &q, F.now));
	r = join_resp(tok(&x)); /* the only member: the rebalance completes at once */
	ck_assert_int_eq(r.error, 0);
	ck_assert_int_eq(r.generation_id, 2);
	ck_assert_str_eq(str(r.protocol_name), "roundrobin");
	ck_assert_str_eq(str(r.leader), str(r.member_id));
	ck_assert_int_eq(heartbeat_i("g", old, "inst-1", 2), KE_FENCED_INSTANCE_ID);
	/* a second member preferring range: one vote each, the first member's preference wins */
	struct kgw_join_proto p2[2] = { { kgw_s("range"), kgw_s("") }, { kgw_s("roundrobin"), kgw_s("") } };
	struct kgw_join_req q2 = { kgw_s("g"), 10000, 10000, kgw_s(""), kgw_s(NULL), kgw_s("consumer"), 2, p2 };
	struct kgroup_ctx x2 = ctx(3, "c2");
	CORE(kgroups_join(F.gs, &x2, &q2, F.now));
	char me[128];
	strcpy(me, str(r.member_id));
	q.member_id = kgw_s(me);
	x = ctx(5, "c1");
	CORE(kgroups_join(F.gs, &x, &q, F.now));
	r = join_resp(tok(&x));
	ck_assert_int_eq(r.generation_id, 3);
	ck_assert_str_eq(str(r.protocol_name), "roundrobin");
	ck_assert_str_eq(str(join_resp(tok(&x2)).protocol_name), "roundrobin");
	ck_assert_int_eq(join_resp(tok(&x2)).n_members, 0);
	ck_assert_int_eq(r.n_members, 2);
}
END_TEST

START_TEST(test_load_odd_metadata)
{
	int32_t pg = kgplace_partition((const uint8_t *)"g", 1, NP);
	CORE(kgroups_load_begin(F.gs, pg));
	char eb[256];
	/* members twice under one id and one instance, a leader that is not a member */
	struct kgw_group_member ms[3] = {
		{ kgw_s("m-1"), kgw_s("i"), kgw_s("c"), kgw_s("/h"), 10000, 10000, kgw_s("S"), kgw_s("A") },
		{ kgw_s("m-1"), kgw_s(NULL), kgw_s("c"), kgw_s("/h"), 10000, 10000, kgw_s("S"), kgw_s("B") },
		{ kgw_s("m-2"), kgw_s("i"), kgw_s("c"), kgw_s("/h"), 10000, 10000, kgw_s("S"), kgw_s("C") },
	};
	struct kgw_group_value v = { 3, kgw_s("consumer"), 5, kgw_s("range"), kgw_s("m-9"), 1000, 3, ms };
	struct wbuf kw, vw;
	wbuf_init(&kw, 1024);
	wbuf_init(&vw, 1024);
	struct kgw_key key = { 2, kgw_s("g"), kgw_s(NULL), -1 };
	ck_assert_int_eq(kgw_key_encode(&kw, 0, &key), 0);
	ck_assert_int_eq(kgw_group_value_encode(&vw, 0, &v), 0);
	ck_assert_int_eq(kgroups_load_record(F.gs, pg, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	CORE(kgroups_load_end(F.gs, pg, F.now));
	struct kgw_described_group d = describe("g");
	ck_assert_str_eq(str(d.state), "Stable");
	ck_assert_int_eq(d.n_members, 1);
	ck_assert_str_eq(str(d.members[0].assignment), "A");
	ck_assert_int_eq(heartbeat_i("g", "m-1", "i", 5), KE_NONE);
	/* members without a protocol: loaded Empty */
	v.protocol = kgw_s(NULL);
	wbuf_reset(&vw);
	ck_assert_int_eq(kgw_group_value_encode(&vw, 0, &v), 0);
	CORE(kgroups_load_begin(F.gs, pg));
	ck_assert_int_eq(kgroups_load_record(F.gs, pg, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	CORE(kgroups_load_end(F.gs, pg, F.now));
	d = describe("g");
	ck_assert_str_eq(str(d.state), "Empty");
	ck_assert_int_eq(d.n_members, 0);
	/* a record for a partition that is not loading is refused */
	ck_assert_int_ne(kgroups_load_record(F.gs, pg, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	wbuf_free(&kw);
	wbuf_free(&vw);
}
END_TEST

/* ---- allocation failures: test_kgroup is linked with -Wl,--wrap for malloc, calloc and
 * realloc, so that the Nth allocation of the core (and of the codecs it calls) fails ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);

static long oom_countdown = -1; /* allocations until the one that fails; -1: none fails */
static bool oom_hit;

static bool oom_fail(void)
{
	if (!in_core || in_fake || oom_countdown < 0)
		return false;
	if (oom_countdown-- > 0)
		return false;
	oom_hit = true;
	return true;
}

void *__wrap_malloc(size_t n)
{
	return oom_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t sz)
{
	return oom_fail() ? NULL : __real_calloc(n, sz);
}

void *__wrap_realloc(void *p, size_t n)
{
	return oom_fail() ? NULL : __real_realloc(p, n);
}

/* The member id a JoinGroup was answered with ("" if none). */
static const char *oom_member(int t, char *buf)
{
	buf[0] = 0;
	in_fake++;
	struct kgw_join_resp r;
	char eb[64];
	if (answered(t) && kgw_join_resp_decode(F.reps[t].body, F.reps[t].len, F.reps[t].ver, &r, &F.arena, eb, sizeof(eb)) == 0)
		snprintf(buf, 128, "%s", str(r.member_id));
	in_fake--;
	return buf;
}

static void oom_complete_all(int16_t err)
{
	for (int i = 0; i < F.napps; i++)
		if (!F.apps[i].done)
			complete(i, err);
}

/* Every kind of request and event, with no assertion on the answers (any may be an error
 * now); teardown checks each was answered exactly once, the sanitizers that nothing leaked. */
static void oom_scenario(void)
{
	char m1[128], m2[128], m3[128], m4[128];
	int j1 = join(3, "g", "c1", "", NULL, 10000, 10000);
	int j2 = join(3, "g", "c2", "", NULL, 10000, 10000);
	int j3 = join(4, "g", "c3", "", NULL, 10000, 10000);
	oom_member(j3, m3);
	j3 = join(4, "g", "c3", m3, NULL, 10000, 10000);
	int j4 = join(5, "g", "c4", "", "inst", 10000, 10000);
	tick_to(F.now + 7000);
	oom_member(j1, m1);
	oom_member(j2, m2);
	oom_member(j4, m4);
	const char *ids[3] = { m1, m2, m4 }, *as[3] = { "A1", "A2", "A4" };
	sync_(3, "g", m2, 1, 0, NULL, NULL);
	sync_(3, "g", m1, 1, 3, ids, as);
	oom_complete_all(KE_NONE);
	heartbeat("g", m1, 1);
	commit(7, "g", m1, 1, "t", 0, 42, "md");
	commit(2, "s", "", -1, "t", 1, 7, NULL);
	commit(7, "g", m2, 1, "nope", 0, 1, "");
	oom_complete_all(KE_NONE);
	commit(7, "g", m1, 1, "t", 1, 43, "");
	oom_complete_all(KE_NOT_ENOUGH_REPLICAS);
	int16_t err;
	fetch(5, "g", "t", 0, &err);
	struct kgroup_ctx x = ctx(5, "c");
	struct kgw_ofetch_req fq = { kgw_s("g"), -1, NULL, false };
	CORE(kgroups_offset_fetch(F.gs, &x, &fq, F.now));
	describe("g");
	list();
	int j5 = join(5, "g", "c4", "", "inst", 10000, 10000); /* the static member again */
	oom_complete_all(KE_NONE);
	oom_member(j5, m4);
	x = ctx(3, "c");
	struct kgw_leave_member lm[2] = { { kgw_s(m2), kgw_s(NULL) }, { kgw_s(""), kgw_s("inst") } };
	struct kgw_leave_req lq = { kgw_s("g"), kgw_s(NULL), 2, lm };
	CORE(kgroups_leave(F.gs, &x, &lq, F.now));
	join(3, "g", "c1", m1, NULL, 10000, 10000);
	join(3, "g", "c3", m3, NULL, 10000, 10000);
	oom_complete_all(KE_NONE);
	x = ctx(0, "c");
	int32_t p0[1] = { 0 };
	struct kgw_odelete_topic ot[1] = { { kgw_s("t"), 1, p0 } };
	struct kgw_odelete_req oq = { kgw_s("g"), 1, ot };
	CORE(kgroups_offset_delete(F.gs, &x, &oq, F.now));
	oom_complete_all(KE_NONE);
	x = ctx(1, "c");
	struct kgw_str gl[2] = { kgw_s("s"), kgw_s("g") };
	struct kgw_delete_req dq = { 2, gl };
	CORE(kgroups_delete(F.gs, &x, &dq, F.now));
	oom_complete_all(KE_NONE);
	/* reload g's partition from what was appended */
	int32_t pg = kgplace_partition((const uint8_t *)"g", 1, NP);
	CORE(kgroups_load_begin(F.gs, pg));
	char eb[128];
	for (int i = 0; i < F.napps; i++)
		for (int k = 0; k < F.apps[i].n; k++)
			if (F.apps[i].partition == pg)
				CORE(kgroups_load_record(F.gs, pg, F.apps[i].key[k], F.apps[i].klen[k], F.apps[i].val[k],
							 F.apps[i].vlen[k], eb, sizeof(eb)));
	CORE(kgroups_load_end(F.gs, pg, F.now));
	describe("g");
	commit(7, "g", m1, 2, "t", 0, 50, "");
	join(3, "g", "c9", "", NULL, 10000, 10000);
	tick_to(F.now + 700000); /* sessions expire, retention runs */
	commit(2, "s2", "", -1, "t", 2, 1, "");
	CORE(kgroups_unload(F.gs, pg));
	/* the commit under way is answered by kgroups_free in teardown */
}

START_TEST(test_allocation_failures)
{
	subscription_t(); /* the test's own, before any failure */
	long n;
	for (n = 0; n < 100000; n++) {
		oom_countdown = n;
		oom_hit = false;
		lenient = true;
		oom_scenario();
		lenient = false;
		bool hit = oom_hit;
		oom_countdown = -1;
		teardown(); /* every request answered exactly once */
		setup();
		if (!hit)
			break;
		if (getenv("KGROUP_OOM_TRACE"))
			fprintf(stderr, "allocation %ld failed\n", n);
	}
	ck_assert_int_gt(n, 100); /* the scenario allocates: failures were injected at every one */
}
END_TEST

static Suite *kgroup_suite(void)
{
	Suite *s = suite_create("kgroup");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_members_one_generation);
	tcase_add_test(tc, test_sync_heartbeat_describe);
	tcase_add_test(tc, test_failed_sync_store);
	tcase_add_test(tc, test_session_expiry_rebalances);
	tcase_add_test(tc, test_leave_rebalances);
	tcase_add_test(tc, test_member_id_required);
	tcase_add_test(tc, test_static_member_fencing);
	tcase_add_test(tc, test_initial_delay);
	tcase_add_test(tc, test_rebalance_timeout_removes);
	tcase_add_test(tc, test_commit_fetch);
	tcase_add_test(tc, test_txn_offsets);
	tcase_add_test(tc, test_txn_offsets_generation);
	tcase_add_test(tc, test_commit_errors);
	tcase_add_test(tc, test_delete_groups);
	tcase_add_test(tc, test_offset_delete_subscribed);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_authorization);
	tcase_add_test(tc, test_load_records);
	tcase_add_test(tc, test_load_txn_offsets);
	tcase_add_test(tc, test_unload_answers_parked);
	tcase_add_test(tc, test_free_answers_parked);
	tcase_add_test(tc, test_many_groups);
	tcase_add_test(tc, test_static_rejoin_other_protocols);
	tcase_add_test(tc, test_load_odd_metadata);
	tcase_add_test(tc, test_allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kgroup_suite());
}

/*
 * Fuzz harness: kgroup, the group coordinator's core. The input is a program: each step takes
 * an opcode byte and its operands from the bytes that follow — load an offsets partition (from
 * raw record bytes of the input, from records built from a few operand bytes, and from the
 * records this core itself appended earlier, as the broker reads them back), end or drop a
 * load, JoinGroup / SyncGroup / Heartbeat / LeaveGroup / OffsetCommit / OffsetFetch /
 * DescribeGroups / ListGroups / DeleteGroups / OffsetDelete with member ids, generations and
 * versions drawn from what the core answered before, time passing, appends completing with an
 * error or not, appends refused at once. Besides no crash, leak or undefined behaviour, it
 * checks the core's promise: every request is answered exactly once (by kgroups_free at the
 * latest), every answer encodes at its version, and no append is completed twice. A fixed
 * policy (fk_allowed) refuses some groups and topics.
 * Seeds: tests/fuzz/make_corpus_kgroup.py.
 */
#include "buf.h"
#include "err.h"
#include "kerr.h"
#include "kgroup.h"
#include "kgw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FK_NP 3
#define FK_MAXTOK 4096
#define FK_MAXAPP 512
#define FK_LOG 256 /* records kept per partition for reloading */

struct fk_rec {
	uint8_t *k, *v;
	size_t kl, vl;
	bool tomb;
};

struct fk_app {
	uint64_t id;
	int32_t partition;
	int32_t n;
	struct fk_rec *recs;
	bool done;
};

static struct {
	const uint8_t *p;
	size_t n, pos;
	struct kgroups *gs;
	int64_t now;
	uint8_t answered[FK_MAXTOK];
	int ntok;
	struct fk_app apps[FK_MAXAPP];
	int napps;
	struct fk_rec log[FK_NP][FK_LOG];
	int nlog[FK_NP];
	int16_t append_rc;
	char ids[16][160]; /* member ids the core handed out */
	int nids;
	char scratch[8][160]; /* copies given to requests (a reply may overwrite ids) */
	int nscratch;
	int32_t gens[4];
	bool verbose; /* FUZZ_KGROUP_LOG set: the steps and the core's log lines on stderr */
} S;

static uint8_t fk_u8(void)
{
	return S.pos < S.n ? S.p[S.pos++] : 0;
}

static uint16_t fk_u16(void)
{
	uint16_t hi = fk_u8();
	return (uint16_t)(hi << 8 | fk_u8());
}

static void fk_reply(void *arg, void *token, int16_t api, int16_t ver, const void *resp)
{
	(void)arg;
	int t = (int)(uintptr_t)token;
	if (t <= 0 || t >= S.ntok || S.answered[t])
		abort(); /* a request answered twice, or a token never issued */
	S.answered[t] = 1;
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	int rc;
	switch (api) {
	case KGW_API_JOIN_GROUP: {
		const struct kgw_join_resp *r = resp;
		rc = kgw_join_resp_encode(&w, ver, r);
		if (r->member_id.len > 0 && r->member_id.len < 150) {
			memcpy(S.ids[S.nids % 16], r->member_id.p, (size_t)r->member_id.len);
			S.ids[S.nids % 16][r->member_id.len] = 0;
			S.nids++;
		}
		if (r->generation_id >= 0)
			S.gens[r->generation_id % 4] = r->generation_id;
		break;
	}
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
	wbuf_free(&w);
	if (rc)
		abort(); /* an answer the wire cannot carry */
}

static int16_t fk_append(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id);
/* the transactional batches (TxnOffsetCommit's) as any other */
static int16_t fk_append_txn(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id,
			     int64_t pid, int16_t epoch)
{
	(void)pid;
	(void)epoch;
	return fk_append(arg, partition, recs, n, id);
}

static int16_t fk_append(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id)
{
	(void)arg;
	if (partition < 0 || partition >= FK_NP || n <= 0)
		abort();
	if (S.append_rc)
		return S.append_rc;
	if (S.napps == FK_MAXAPP)
		return KE_REQUEST_TIMED_OUT;
	struct fk_app *a = &S.apps[S.napps++];
	a->id = id;
	a->partition = partition;
	a->n = n;
	a->done = false;
	a->recs = calloc((size_t)n, sizeof(*a->recs));
	if (!a->recs)
		abort();
	for (int32_t i = 0; i < n; i++) {
		struct fk_rec *r = &a->recs[i];
		r->kl = recs[i].klen;
		r->k = malloc(r->kl ? r->kl : 1);
		memcpy(r->k, recs[i].key, r->kl);
		r->tomb = recs[i].value == NULL;
		if (!r->tomb) {
			r->vl = recs[i].vlen;
			r->v = malloc(r->vl ? r->vl : 1);
			memcpy(r->v, recs[i].value, r->vl);
		}
	}
	return KE_NONE;
}

static bool fk_part_exists(void *arg, const uint8_t *topic, size_t tlen, int32_t part)
{
	(void)arg;
	return !(tlen == 4 && memcmp(topic, "nope", 4) == 0) && part >= 0 && part < 4;
}

/* FUZZ_KGROUP_LOG=1 prints the core's log lines (to see what a seed does). */
static void fk_log(void *arg, const char *line)
{
	(void)arg;
	if (S.verbose)
		fprintf(stderr, "%s\n", line);
}

static void *fk_tok(void)
{
	if (S.ntok >= FK_MAXTOK - 1)
		return NULL;
	return (void *)(uintptr_t)S.ntok++;
}

static const char *const fk_groups[] = { "g0", "g1", "g2", "g3", "" };
static const char *const fk_topics[] = { "t0", "t1", "nope" };
static const char *const fk_instances[] = { "i0", "i1" };

static struct kgw_str fk_group(void)
{
	return kgw_s(fk_groups[fk_u8() % 5]);
}

static struct kgw_str fk_member(void)
{
	uint8_t b = fk_u8();
	if (b % 4 == 0 || !S.nids)
		return kgw_s(b % 8 == 0 ? "x-unknown" : "");
	char *c = S.scratch[S.nscratch++ % 8];
	strcpy(c, S.ids[(b / 4) % (S.nids < 16 ? S.nids : 16)]);
	return kgw_s(c);
}

static struct kgw_str fk_instance(void)
{
	uint8_t b = fk_u8();
	return b % 3 == 2 ? kgw_s(fk_instances[b / 3 % 2]) : kgw_s(NULL);
}

static int32_t fk_gen(void)
{
	uint8_t b = fk_u8();
	return b % 5 == 4 ? -1 : S.gens[b % 4];
}

/* A fixed authorization policy, so that the refusals run too: the resources whose names end in
 * '1' (group g1, topic t1, whose offsets still come from loaded records) are denied every
 * check, and the cluster DESCRIBE (ListGroups filters). */
static bool fk_allowed(void *arg, enum kgroup_check check, struct kgw_str name)
{
	(void)arg;
	if (check == KGROUP_CHECK_CLUSTER_DESCRIBE)
		return false;
	return !(name.len > 0 && name.p[name.len - 1] == '1');
}

static struct kgroup_ctx fk_ctx(int16_t maxver)
{
	struct kgroup_ctx x = { fk_tok(), (int16_t)(fk_u8() % (maxver + 1)), "client", "/127.0.0.1", fk_allowed, NULL };
	return x;
}

/* The records' bytes: a subscription of the topics (a valid one or raw bytes). */
static uint8_t fk_subs[2][32];
static size_t fk_subs_len[2];

static void fk_make_subs(void)
{
	for (int i = 0; i < 2; i++) {
		struct wbuf w;
		wbuf_init(&w, sizeof(fk_subs[i]));
		struct kgw_str t = kgw_s(fk_topics[i]);
		struct kgw_subscription s = { 0, 1, &t };
		if (kgw_subscription_encode(&w, 0, &s))
			abort();
		memcpy(fk_subs[i], w.p, w.len);
		fk_subs_len[i] = w.len;
		wbuf_free(&w);
	}
}

static void fk_join(void)
{
	struct kgroup_ctx x = fk_ctx(5);
	if (!x.token)
		return;
	struct kgw_join_proto ps[2];
	uint8_t b = fk_u8();
	int np = b % 3;
	for (int i = 0; i < np; i++) {
		ps[i].name = kgw_s((b >> (2 + i)) & 1 ? "rr" : "range");
		struct kgw_str m = { fk_subs[(b >> 4) & 1], (int32_t)fk_subs_len[(b >> 4) & 1] };
		ps[i].metadata = (b & 0x40) ? kgw_s("junk") : m;
	}
	struct kgw_join_req q = { 0 };
	q.group_id = fk_group();
	q.session_timeout_ms = (int32_t)fk_u16() * 4;
	q.rebalance_timeout_ms = (int32_t)fk_u16() * 4 - 4;
	q.member_id = fk_member();
	q.group_instance_id = x.ver >= 5 ? fk_instance() : kgw_s(NULL);
	q.protocol_type = kgw_s(b & 0x80 ? "other" : "consumer");
	q.n_protocols = np;
	q.protocols = ps;
	kgroups_join(S.gs, &x, &q, S.now);
}

static void fk_sync(void)
{
	struct kgroup_ctx x = fk_ctx(3);
	if (!x.token)
		return;
	struct kgw_sync_assignment as[3];
	int n = fk_u8() % 4;
	for (int i = 0; i < n; i++) {
		as[i].member_id = fk_member();
		as[i].assignment = kgw_s(i % 2 ? "a1" : "a0");
	}
	struct kgw_sync_req q = { 0 };
	q.group_id = fk_group();
	q.generation_id = fk_gen();
	q.member_id = fk_member();
	q.group_instance_id = fk_instance();
	q.n_assignments = n;
	q.assignments = as;
	kgroups_sync(S.gs, &x, &q, S.now);
}

static void fk_heartbeat(void)
{
	struct kgroup_ctx x = fk_ctx(3);
	if (!x.token)
		return;
	struct kgw_heartbeat_req q = { 0 };
	q.group_id = fk_group();
	q.generation_id = fk_gen();
	q.member_id = fk_member();
	q.group_instance_id = fk_instance();
	kgroups_heartbeat(S.gs, &x, &q, S.now);
}

static void fk_leave(void)
{
	struct kgroup_ctx x = fk_ctx(3);
	if (!x.token)
		return;
	struct kgw_leave_member ms[3];
	int n = fk_u8() % 4;
	for (int i = 0; i < n; i++) {
		ms[i].member_id = fk_member();
		ms[i].group_instance_id = fk_instance();
	}
	struct kgw_leave_req q = { 0 };
	q.group_id = fk_group();
	q.member_id = fk_member();
	q.n_members = n;
	q.members = ms;
	kgroups_leave(S.gs, &x, &q, S.now);
}

static void fk_commit(void)
{
	struct kgroup_ctx x = fk_ctx(7);
	if (!x.token)
		return;
	struct kgw_commit_part ps[2][3];
	struct kgw_commit_topic ts[2];
	int nt = fk_u8() % 3;
	for (int t = 0; t < nt; t++) {
		int np = fk_u8() % 4;
		for (int i = 0; i < np; i++) {
			uint8_t b = fk_u8();
			ps[t][i] = (struct kgw_commit_part){ b % 5, (int64_t)fk_u16(), -1, -1,
							     b & 0x80 ? kgw_s("metadata-longer-than-the-bound") : kgw_s(b & 0x40 ? NULL : "m") };
		}
		ts[t] = (struct kgw_commit_topic){ kgw_s(fk_topics[fk_u8() % 3]), np, ps[t] };
	}
	struct kgw_commit_req q = { 0 };
	q.group_id = fk_group();
	q.generation_id = fk_gen();
	q.member_id = fk_member();
	q.group_instance_id = fk_instance();
	q.retention_time_ms = fk_u8() % 4 == 0 ? (int64_t)fk_u16() * 10 : -1;
	q.n_topics = nt;
	q.topics = ts;
	kgroups_commit(S.gs, &x, &q, S.now);
}

static void fk_fetch(void)
{
	struct kgroup_ctx x = fk_ctx(5);
	if (!x.token)
		return;
	int32_t parts[3] = { 0, 1, 2 };
	struct kgw_fetch_topic ts[2] = { { kgw_s("t0"), 3, parts }, { kgw_s("t1"), 2, parts } };
	uint8_t b = fk_u8();
	struct kgw_ofetch_req q = { fk_group(), x.ver >= 2 && b % 3 == 0 ? -1 : (int32_t)(b % 3), ts, false };
	kgroups_offset_fetch(S.gs, &x, &q, S.now);
}

static void fk_describe(void)
{
	struct kgroup_ctx x = fk_ctx(4);
	if (!x.token)
		return;
	struct kgw_str gl[3];
	for (int i = 0; i < 3; i++)
		gl[i] = fk_group();
	struct kgw_describe_req q = { fk_u8() % 4, gl, true };
	kgroups_describe(S.gs, &x, &q, S.now);
}

static void fk_list(void)
{
	struct kgroup_ctx x = fk_ctx(2);
	if (x.token)
		kgroups_list(S.gs, &x, S.now);
}

static void fk_delete(void)
{
	struct kgroup_ctx x = fk_ctx(1);
	if (!x.token)
		return;
	struct kgw_str gl[3];
	for (int i = 0; i < 3; i++)
		gl[i] = fk_group();
	struct kgw_delete_req q = { fk_u8() % 4, gl };
	kgroups_delete(S.gs, &x, &q, S.now);
}

static void fk_odelete(void)
{
	struct kgroup_ctx x = fk_ctx(0);
	if (!x.token)
		return;
	int32_t parts[3] = { 0, 1, 7 };
	struct kgw_odelete_topic ts[3] = { { kgw_s("t0"), 3, parts }, { kgw_s("t1"), 1, parts }, { kgw_s("nope"), 1, parts } };
	struct kgw_odelete_req q = { 0 };
	q.group_id = fk_group();
	q.n_topics = fk_u8() % 4;
	q.topics = ts;
	kgroups_offset_delete(S.gs, &x, &q, S.now);
}

static void fk_complete(void)
{
	static const int16_t errs[] = { KE_NONE, KE_NONE, KE_NONE, KE_NOT_LEADER_OR_FOLLOWER, KE_NOT_ENOUGH_REPLICAS,
					KE_REQUEST_TIMED_OUT, KE_MESSAGE_TOO_LARGE, KE_KAFKA_STORAGE_ERROR };
	uint8_t b = fk_u8();
	int16_t err = errs[fk_u8() % 8];
	int open = 0;
	for (int i = 0; i < S.napps; i++)
		open += !S.apps[i].done;
	if (!open)
		return;
	int k = b % open;
	for (int i = 0; i < S.napps; i++) {
		if (S.apps[i].done || k--)
			continue;
		struct fk_app *a = &S.apps[i];
		a->done = true;
		/* what is replicated is what a reload reads back (while the log has room) */
		for (int32_t r = 0; r < a->n; r++) {
			if (!err && S.nlog[a->partition] < FK_LOG) {
				S.log[a->partition][S.nlog[a->partition]++] = a->recs[r];
			} else {
				free(a->recs[r].k);
				free(a->recs[r].v);
			}
		}
		free(a->recs);
		a->recs = NULL;
		kgroups_append_done(S.gs, a->id, err, S.now);
		return;
	}
}

/* Loads partition p: the core's own records read back, and some raw or built ones. */
static void fk_load(void)
{
	int32_t p = fk_u8() % FK_NP;
	kgroups_load_begin(S.gs, p);
	char eb[256];
	for (int i = 0; i < S.nlog[p]; i++) {
		struct fk_rec *r = &S.log[p][i];
		if (kgroups_load_record(S.gs, p, r->k, r->kl, r->tomb ? NULL : r->v, r->vl, eb, sizeof(eb)) != 0) {
			/* the core's own records from the same partition always load */
			fprintf(stderr, "own record refused: %s\n", eb);
			abort();
		}
	}
	int n = fk_u8() % 8;
	for (int i = 0; i < n; i++) {
		size_t kl = fk_u8() % 32, vl = fk_u8();
		if (S.pos + kl + vl > S.n)
			break;
		const uint8_t *k = S.p + S.pos;
		const uint8_t *v = S.p + S.pos + kl;
		S.pos += kl + vl;
		/* some as a producer's transactional records (TxnOffsetCommit's), and its markers */
		if (kl % 4 == 1)
			kgroups_load_txn_record(S.gs, p, (int64_t)(vl % 3), (int16_t)(kl % 2), k, kl,
						vl % 7 == 3 ? NULL : v, vl, eb, sizeof(eb));
		else
			kgroups_load_record(S.gs, p, k, kl, vl % 7 == 3 ? NULL : v, vl, eb, sizeof(eb));
		if (vl % 11 == 5)
			kgroups_load_marker(S.gs, p, (int64_t)(vl % 3), (int16_t)(kl % 2), kl % 3 != 0);
	}
	if (fk_u8() % 4)
		kgroups_load_end(S.gs, p, S.now);
}

static void fk_free_log(void)
{
	for (int p = 0; p < FK_NP; p++) {
		for (int i = 0; i < S.nlog[p]; i++) {
			free(S.log[p][i].k);
			free(S.log[p][i].v);
		}
		S.nlog[p] = 0;
	}
	for (int i = 0; i < S.napps; i++) {
		if (!S.apps[i].recs)
			continue;
		for (int32_t r = 0; r < S.apps[i].n; r++) {
			free(S.apps[i].recs[r].k);
			free(S.apps[i].recs[r].v);
		}
		free(S.apps[i].recs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&S, 0, sizeof(S));
	S.p = data;
	S.n = size;
	S.ntok = 1;
	S.now = 1000000;
	S.verbose = getenv("FUZZ_KGROUP_LOG") != NULL;
	fk_make_subs();
	struct kgroups_conf c = { 0 };
	c.offsets_partitions = FK_NP;
	c.min_session_timeout_ms = 100;
	c.max_session_timeout_ms = 200000;
	c.initial_rebalance_delay_ms = fk_u8() * 20;
	c.max_size = 1 + fk_u8() % 8;
	c.offset_metadata_max_bytes = 8;
	c.offsets_retention_ms = 1000 + fk_u16() * 10;
	c.retention_check_interval_ms = 1 + fk_u16();
	c.seed = fk_u8();
	struct kgroups_ops ops = { fk_reply, fk_append, fk_append_txn, fk_part_exists, fk_log };
	S.gs = kgroups_new(&c, &ops, NULL);
	if (!S.gs)
		abort();
	for (int p = 0; p < FK_NP; p++) {
		kgroups_load_begin(S.gs, p);
		kgroups_load_end(S.gs, p, S.now);
	}
	for (int steps = 0; S.pos < S.n && steps < 2000; steps++) {
		uint8_t op = fk_u8();
		if (S.verbose)
			fprintf(stderr, "step %d at byte %zu: op %d\n", steps, S.pos - 1, op % 18);
		switch (op % 18) {
		case 0:
			fk_load();
			break;
		case 1:
			kgroups_load_end(S.gs, fk_u8() % FK_NP, S.now);
			break;
		case 2:
			kgroups_unload(S.gs, fk_u8() % FK_NP);
			break;
		case 3:
		case 4:
			fk_join();
			break;
		case 5:
			fk_sync();
			break;
		case 6:
			fk_heartbeat();
			break;
		case 7:
			fk_leave();
			break;
		case 8:
			fk_commit();
			break;
		case 9:
			fk_fetch();
			break;
		case 10:
			fk_describe();
			break;
		case 11:
			fk_list();
			break;
		case 12:
			fk_delete();
			break;
		case 13:
			fk_odelete();
			break;
		case 14: { /* time passes, ticked every 100 ms as the broker does */
			int64_t to = S.now + (int64_t)fk_u16() * 4;
			while (S.now < to) {
				S.now = S.now + 100 < to ? S.now + 100 : to;
				kgroups_tick(S.gs, S.now);
			}
			break;
		}
		case 15:
		case 16:
			fk_complete();
			break;
		default:
			S.append_rc = S.append_rc ? KE_NONE : KE_NOT_ENOUGH_REPLICAS;
			break;
		}
	}
	/* some appends complete after the last step, the rest are forgotten by kgroups_free */
	for (int i = 0; i < S.napps / 2; i++)
		fk_complete();
	kgroups_tick(S.gs, S.now + 600000);
	kgroups_free(S.gs);
	for (int t = 1; t < S.ntok; t++)
		if (!S.answered[t])
			abort(); /* a request never answered */
	fk_free_log();
	return 0;
}

/*
 * Unit tests for kgw, the consumer-group codecs: every message round-trips at every version
 * it has (encode, decode, encode again gives the same bytes, and the fields a version carries
 * come back while those it lacks take their schema defaults); chosen messages encode byte for
 * byte as apache/kafka's message schemas lay them out, written here field by field; every
 * truncation, trailing bytes, lying counts, nulls where the schema has none and unknown record
 * versions are refused.
 */
#include "buf.h"
#include "err.h"
#include "kgw.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A writer of expected bytes, independent of wbuf. */
struct exp {
	uint8_t b[1024];
	size_t n;
};

static void e_i8(struct exp *e, int v)
{
	e->b[e->n++] = (uint8_t)v;
}
static void e_i16(struct exp *e, int v)
{
	e_i8(e, (v >> 8) & 0xff);
	e_i8(e, v & 0xff);
}
static void e_i32(struct exp *e, int32_t v)
{
	uint32_t u = (uint32_t)v;
	for (int s = 24; s >= 0; s -= 8)
		e_i8(e, (int)((u >> s) & 0xff));
}
static void e_i64(struct exp *e, int64_t v)
{
	e_i32(e, (int32_t)((uint64_t)v >> 32));
	e_i32(e, (int32_t)(uint32_t)v);
}
static void e_str(struct exp *e, const char *s)
{
	if (!s) {
		e_i16(e, -1);
		return;
	}
	e_i16(e, (int)strlen(s));
	memcpy(e->b + e->n, s, strlen(s));
	e->n += strlen(s);
}
static void e_bytes(struct exp *e, const char *s)
{
	if (!s) {
		e_i32(e, -1);
		return;
	}
	e_i32(e, (int32_t)strlen(s));
	memcpy(e->b + e->n, s, strlen(s));
	e->n += strlen(s);
}

#define S(x) kgw_s(x)

/* A copy of p[0..n) that lives as long as the arena (decoded strings point into it). */
static uint8_t *keep(struct kgw_arena *a, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	ck_assert(c != NULL);
	memcpy(c, p, n);
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->blocks = realloc(a->blocks, a->cap * sizeof(void *));
		ck_assert(a->blocks != NULL);
	}
	a->blocks[a->n++] = c;
	return c;
}

/*
 * Round trip of message M (a filled struct kgw_M `in`) at version ver: encodes it, decodes
 * it into `out` (an arena `ar` the caller frees), encodes `out` again and compares; then every
 * proper prefix and one trailing byte must fail to decode.
 */
#define ROUND_TRIP(M, in, out, ar, ver)                                                                      \
	do {                                                                                             \
		struct wbuf w1_, w2_;                                                                    \
		char eb_[256];                                                                           \
		wbuf_init(&w1_, 1 << 20);                                                                \
		wbuf_init(&w2_, 1 << 20);                                                                \
		ck_assert_int_eq(kgw_##M##_encode(&w1_, (ver), &(in)), 0);                               \
		uint8_t *keep_ = keep(&(ar), w1_.p, w1_.len);                                            \
		ck_assert_msg(kgw_##M##_decode(keep_, w1_.len, (ver), &(out), &(ar), eb_, sizeof(eb_)) == 0, \
			      "%s v%d: %s", #M, (ver), eb_);                                             \
		ck_assert_int_eq(kgw_##M##_encode(&w2_, (ver), &(out)), 0);                              \
		ck_assert_uint_eq(w1_.len, w2_.len);                                                     \
		ck_assert(memcmp(keep_, w2_.p, w1_.len) == 0);                                           \
		for (size_t cut_ = 0; cut_ < w1_.len; cut_++) {                                          \
			__typeof__(out) t_;                                                                 \
			struct kgw_arena ta_ = { 0 };                                                    \
			uint8_t *copy_ = malloc(cut_ ? cut_ : 1);                                        \
			memcpy(copy_, w1_.p, cut_);                                                      \
			ck_assert_msg(kgw_##M##_decode(copy_, cut_, (ver), &t_, &ta_, eb_, sizeof(eb_)) != 0, \
				      "%s v%d: a prefix of %zu bytes decoded", #M, (ver), cut_);         \
			kgw_arena_free(&ta_);                                                            \
			free(copy_);                                                                     \
		}                                                                                        \
		wbuf_u8(&w1_, 0);                                                                        \
		{                                                                                        \
			__typeof__(out) t_;                                                                 \
			struct kgw_arena ta_ = { 0 };                                                    \
			ck_assert_int_eq(kgw_##M##_decode(w1_.p, w1_.len, (ver), &t_, &ta_, eb_, sizeof(eb_)), \
					 ERR_CORRUPT);                                                   \
			kgw_arena_free(&ta_);                                                            \
		}                                                                                        \
		wbuf_free(&w1_);                                                                         \
		wbuf_free(&w2_);                                                                         \
	} while (0)

START_TEST(test_find_coordinator)
{
	struct kgw_find_req rq = { S("g1"), KGW_COORD_TXN };
	for (int16_t v = 0; v <= 2; v++) {
		struct kgw_find_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(find_req, rq, o, a, v);
		ck_assert(kgw_eq(o.key, "g1"));
		ck_assert_int_eq(o.key_type, v >= 1 ? KGW_COORD_TXN : KGW_COORD_GROUP);
		kgw_arena_free(&a);
	}
	struct kgw_find_resp rs = { 7, 15, S("no coordinator"), 3, S("host-a"), 9092 };
	for (int16_t v = 0; v <= 2; v++) {
		struct kgw_find_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(find_resp, rs, o, a, v);
		ck_assert_int_eq(o.throttle_ms, v >= 1 ? 7 : 0);
		ck_assert_int_eq(o.error, 15);
		ck_assert(v >= 1 ? kgw_eq(o.error_message, "no coordinator") : o.error_message.len == -1);
		ck_assert_int_eq(o.node_id, 3);
		ck_assert(kgw_eq(o.host, "host-a"));
		ck_assert_int_eq(o.port, 9092);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_join_group)
{
	struct kgw_join_proto protos[2] = { { S("range"), S("\x00\x01meta") }, { S("roundrobin"), S("") } };
	struct kgw_join_req rq = { S("grp"), 10000, 30000, S(""), S("inst-1"), S("consumer"), 2, protos };
	for (int16_t v = 0; v <= 5; v++) {
		struct kgw_join_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(join_req, rq, o, a, v);
		ck_assert(kgw_eq(o.group_id, "grp"));
		ck_assert_int_eq(o.session_timeout_ms, 10000);
		ck_assert_int_eq(o.rebalance_timeout_ms, v >= 1 ? 30000 : -1);
		ck_assert(v >= 5 ? kgw_eq(o.group_instance_id, "inst-1") : o.group_instance_id.len == -1);
		ck_assert_int_eq(o.n_protocols, 2);
		ck_assert(kgw_eq(o.protocols[1].name, "roundrobin"));
		ck_assert_int_eq(o.protocols[1].metadata.len, 0);
		kgw_arena_free(&a);
	}
	struct kgw_join_member ms[2] = { { S("m-1"), S("i-1"), S("sub1") }, { S("m-2"), S(NULL), S("sub2") } };
	struct kgw_join_resp rs = { 5, 0, 4, S("range"), S("m-1"), S("m-2"), 2, ms };
	for (int16_t v = 0; v <= 5; v++) {
		struct kgw_join_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(join_resp, rs, o, a, v);
		ck_assert_int_eq(o.throttle_ms, v >= 2 ? 5 : 0);
		ck_assert_int_eq(o.generation_id, 4);
		ck_assert(kgw_eq(o.leader, "m-1") && kgw_eq(o.member_id, "m-2"));
		ck_assert_int_eq(o.n_members, 2);
		ck_assert(v >= 5 ? kgw_eq(o.members[0].group_instance_id, "i-1") : o.members[0].group_instance_id.len == -1);
		ck_assert(kgw_eq(o.members[1].metadata, "sub2"));
		kgw_arena_free(&a);
	}
}
END_TEST

/* JoinGroup v5 request and response as JoinGroup{Request,Response}.json lay them out. */
START_TEST(test_join_group_bytes)
{
	struct exp x = { .n = 0 };
	e_str(&x, "grp");
	e_i32(&x, 10000);
	e_i32(&x, 30000);
	e_str(&x, "");
	e_str(&x, NULL);
	e_str(&x, "consumer");
	e_i32(&x, 1);
	e_str(&x, "range");
	e_bytes(&x, "md");
	struct kgw_join_proto p = { S("range"), S("md") };
	struct kgw_join_req rq = { S("grp"), 10000, 30000, S(""), S(NULL), S("consumer"), 1, &p };
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_join_req_encode(&w, 5, &rq), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert(memcmp(w.p, x.b, x.n) == 0);
	wbuf_free(&w);

	struct exp y = { .n = 0 };
	e_i32(&y, 0);
	e_i16(&y, 79); /* MEMBER_ID_REQUIRED */
	e_i32(&y, -1);
	e_str(&y, "");
	e_str(&y, "");
	e_str(&y, "rdkafka-1");
	e_i32(&y, 0);
	struct kgw_join_resp o;
	struct kgw_arena a = { 0 };
	char eb[128];
	ck_assert_int_eq(kgw_join_resp_decode(y.b, y.n, 5, &o, &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(o.error, 79);
	ck_assert_int_eq(o.generation_id, -1);
	ck_assert(kgw_eq(o.member_id, "rdkafka-1"));
	ck_assert_int_eq(o.n_members, 0);
	kgw_arena_free(&a);
}
END_TEST

START_TEST(test_sync_heartbeat)
{
	struct kgw_sync_assignment as[2] = { { S("m-1"), S("a1") }, { S("m-2"), S("") } };
	struct kgw_sync_req rq = { S("grp"), 3, S("m-1"), S("i"), 2, as };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_sync_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(sync_req, rq, o, a, v);
		ck_assert_int_eq(o.generation_id, 3);
		ck_assert(v >= 3 ? kgw_eq(o.group_instance_id, "i") : o.group_instance_id.len == -1);
		ck_assert(kgw_eq(o.assignments[0].assignment, "a1"));
		kgw_arena_free(&a);
	}
	struct kgw_sync_resp rs = { 1, 27, S("assign") };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_sync_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(sync_resp, rs, o, a, v);
		ck_assert_int_eq(o.error, 27);
		ck_assert(kgw_eq(o.assignment, "assign"));
		kgw_arena_free(&a);
	}
	struct kgw_heartbeat_req hq = { S("grp"), 9, S("m-9"), S("i-9") };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_heartbeat_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(heartbeat_req, hq, o, a, v);
		ck_assert_int_eq(o.generation_id, 9);
		ck_assert(kgw_eq(o.member_id, "m-9"));
		ck_assert(v >= 3 ? kgw_eq(o.group_instance_id, "i-9") : o.group_instance_id.len == -1);
		kgw_arena_free(&a);
	}
	struct kgw_heartbeat_resp hs = { 2, 22 };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_heartbeat_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(heartbeat_resp, hs, o, a, v);
		ck_assert_int_eq(o.error, 22);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_leave_group)
{
	struct kgw_leave_member lm[2] = { { S("m-1"), S(NULL) }, { S(""), S("inst") } };
	struct kgw_leave_req rq = { S("grp"), S("m-0"), 2, lm };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_leave_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(leave_req, rq, o, a, v);
		if (v <= 2) {
			ck_assert(kgw_eq(o.member_id, "m-0"));
			ck_assert_int_eq(o.n_members, 0);
		} else {
			ck_assert_int_eq(o.n_members, 2);
			ck_assert(kgw_eq(o.members[1].group_instance_id, "inst"));
		}
		kgw_arena_free(&a);
	}
	/* v3 bytes: group, then the members array */
	struct exp x = { .n = 0 };
	e_str(&x, "grp");
	e_i32(&x, 2);
	e_str(&x, "m-1");
	e_str(&x, NULL);
	e_str(&x, "");
	e_str(&x, "inst");
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_leave_req_encode(&w, 3, &rq), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert(memcmp(w.p, x.b, x.n) == 0);
	wbuf_free(&w);
	struct kgw_leave_member_resp mr[1] = { { S("m-1"), S("inst"), 82 } };
	struct kgw_leave_resp rs = { 0, 0, 1, mr };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_leave_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(leave_resp, rs, o, a, v);
		ck_assert_int_eq(o.n_members, v >= 3 ? 1 : 0);
		if (v >= 3)
			ck_assert_int_eq(o.members[0].error, 82);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_offset_commit)
{
	struct kgw_commit_part ps[2] = { { 0, 42, 5, 1000, S("meta") }, { 3, 7, 6, 2000, S(NULL) } };
	struct kgw_commit_topic ts[1] = { { S("t"), 2, ps } };
	struct kgw_commit_req rq = { S("grp"), 4, S("m-1"), S("i"), 86400000, 1, ts };
	for (int16_t v = 0; v <= 8; v++) {
		struct kgw_commit_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(commit_req, rq, o, a, v);
		ck_assert_int_eq(o.generation_id, v >= 1 ? 4 : -1);
		ck_assert(kgw_eq(o.member_id, v >= 1 ? "m-1" : ""));
		ck_assert_int_eq(o.retention_time_ms, v >= 2 && v <= 4 ? 86400000 : -1);
		ck_assert_int_eq(o.topics[0].parts[0].offset, 42);
		ck_assert_int_eq(o.topics[0].parts[0].leader_epoch, v >= 6 ? 5 : -1);
		ck_assert_int_eq(o.topics[0].parts[0].commit_timestamp, v == 1 ? 1000 : -1);
		ck_assert(o.topics[0].parts[1].metadata.len == -1);
		kgw_arena_free(&a);
	}
	/* v2 bytes: retention time, no commit timestamp, no leader epoch */
	struct exp x = { .n = 0 };
	e_str(&x, "grp");
	e_i32(&x, 4);
	e_str(&x, "m-1");
	e_i64(&x, 86400000);
	e_i32(&x, 1);
	e_str(&x, "t");
	e_i32(&x, 2);
	e_i32(&x, 0);
	e_i64(&x, 42);
	e_str(&x, "meta");
	e_i32(&x, 3);
	e_i64(&x, 7);
	e_str(&x, NULL);
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_commit_req_encode(&w, 2, &rq), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert(memcmp(w.p, x.b, x.n) == 0);
	wbuf_free(&w);

	struct kgw_part_error pe[2] = { { 0, 0 }, { 3, 25 } };
	struct kgw_topic_errors te[1] = { { S("t"), 2, pe } };
	struct kgw_commit_resp rs = { 9, 1, te };
	for (int16_t v = 0; v <= 8; v++) {
		struct kgw_commit_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(commit_resp, rs, o, a, v);
		ck_assert_int_eq(o.throttle_ms, v >= 3 ? 9 : 0);
		ck_assert_int_eq(o.topics[0].parts[1].error, 25);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_offset_fetch)
{
	int32_t parts[3] = { 0, 1, 2 };
	struct kgw_fetch_topic ft[1] = { { S("t"), 3, parts } };
	struct kgw_ofetch_req rq = { S("grp"), 1, ft, true };
	for (int16_t v = 0; v <= 7; v++) {
		struct kgw_ofetch_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(ofetch_req, rq, o, a, v);
		ck_assert_int_eq(o.n_topics, 1);
		ck_assert_int_eq(o.topics[0].parts[2], 2);
		ck_assert(o.require_stable == (v >= 7));
		kgw_arena_free(&a);
	}
	/* a null topic list (every offset) only from v2 */
	struct kgw_ofetch_req all = { S("grp"), -1, NULL, false };
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_ofetch_req_encode(&w, 1, &all), ERR_INVAL);
	wbuf_reset(&w);
	ck_assert_int_eq(kgw_ofetch_req_encode(&w, 2, &all), 0);
	{
		struct kgw_ofetch_req o;
		struct kgw_arena a = { 0 };
		char eb[128];
		ck_assert_int_eq(kgw_ofetch_req_decode(w.p, w.len, 2, &o, &a, eb, sizeof(eb)), 0);
		ck_assert_int_eq(o.n_topics, -1);
		ck_assert_int_eq(kgw_ofetch_req_decode(w.p, w.len, 1, &o, &a, eb, sizeof(eb)), ERR_PROTO);
		kgw_arena_free(&a);
	}
	wbuf_free(&w);
	struct kgw_ofetch_part op[2] = { { 0, 42, 5, S("m"), 0 }, { 1, -1, -1, S(""), 0 } };
	struct kgw_ofetch_topic ot[1] = { { S("t"), 2, op } };
	struct kgw_ofetch_resp rs = { 3, 1, ot, 14 };
	for (int16_t v = 0; v <= 7; v++) {
		struct kgw_ofetch_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(ofetch_resp, rs, o, a, v);
		ck_assert_int_eq(o.topics[0].parts[0].offset, 42);
		ck_assert_int_eq(o.topics[0].parts[0].leader_epoch, v >= 5 ? 5 : -1);
		ck_assert_int_eq(o.error, v >= 2 ? 14 : 0);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_list_describe_delete)
{
	struct kgw_listed_group lg[2] = { { S("a"), S("consumer") }, { S("b"), S("") } };
	struct kgw_list_resp ls = { 1, 0, 2, lg };
	for (int16_t v = 0; v <= 2; v++) {
		struct kgw_list_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(list_resp, ls, o, a, v);
		ck_assert_int_eq(o.n_groups, 2);
		ck_assert(kgw_eq(o.groups[0].protocol_type, "consumer"));
		kgw_arena_free(&a);
	}
	struct kgw_str names[2] = { S("a"), S("b") };
	struct kgw_describe_req dq = { 2, names, true };
	for (int16_t v = 0; v <= 4; v++) {
		struct kgw_describe_req o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(describe_req, dq, o, a, v);
		ck_assert(kgw_eq(o.groups[1], "b"));
		ck_assert(o.include_authorized_operations == (v >= 3));
		kgw_arena_free(&a);
	}
	struct kgw_described_member dm[1] = { { S("m-1"), S("i-1"), S("cli"), S("/127.0.0.1"), S("md"), S("as") } };
	struct kgw_described_group dg[1] = { { 0, S("a"), S("Stable"), S("consumer"), S("range"), 1, dm, 8 } };
	struct kgw_describe_resp ds = { 0, 1, dg };
	for (int16_t v = 0; v <= 4; v++) {
		struct kgw_describe_resp o;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(describe_resp, ds, o, a, v);
		ck_assert(kgw_eq(o.groups[0].state, "Stable"));
		ck_assert(kgw_eq(o.groups[0].members[0].client_host, "/127.0.0.1"));
		ck_assert(v >= 4 ? kgw_eq(o.groups[0].members[0].group_instance_id, "i-1")
				 : o.groups[0].members[0].group_instance_id.len == -1);
		ck_assert_int_eq(o.groups[0].authorized_operations, v >= 3 ? 8 : INT32_MIN);
		kgw_arena_free(&a);
	}
	struct kgw_delete_req xq = { 2, names };
	struct kgw_delete_result dr[2] = { { S("a"), 0 }, { S("b"), 68 } };
	struct kgw_delete_resp xs = { 0, 2, dr };
	for (int16_t v = 0; v <= 1; v++) {
		struct kgw_delete_req o;
		struct kgw_delete_resp os;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(delete_req, xq, o, a, v);
		ROUND_TRIP(delete_resp, xs, os, a, v);
		ck_assert_int_eq(os.results[1].error, 68);
		kgw_arena_free(&a);
	}
	int32_t parts[2] = { 0, 4 };
	struct kgw_odelete_topic ot[1] = { { S("t"), 2, parts } };
	struct kgw_odelete_req oq = { S("grp"), 1, ot };
	struct kgw_part_error pe[2] = { { 0, 0 }, { 4, 86 } };
	struct kgw_topic_errors te[1] = { { S("t"), 2, pe } };
	struct kgw_odelete_resp os = { 0, 0, 1, te };
	{
		struct kgw_odelete_req o;
		struct kgw_odelete_resp r;
		struct kgw_arena a = { 0 };
		ROUND_TRIP(odelete_req, oq, o, a, 0);
		ck_assert_int_eq(o.topics[0].parts[1], 4);
		ROUND_TRIP(odelete_resp, os, r, a, 0);
		ck_assert_int_eq(r.topics[0].parts[1].error, 86);
		kgw_arena_free(&a);
	}
}
END_TEST

START_TEST(test_records)
{
	struct kgw_key ok = { 1, S("grp"), S("t"), 3 };
	struct kgw_key gk = { 2, S("grp"), S(""), 0 };
	struct kgw_key o;
	struct kgw_arena a = { 0 };
	ROUND_TRIP(key, ok, o, a, 0);
	ck_assert(o.version == 1 && kgw_eq(o.topic, "t") && o.partition == 3);
	ROUND_TRIP(key, gk, o, a, 0);
	ck_assert(o.version == 2 && kgw_eq(o.group, "grp") && o.partition == -1);
	/* group metadata key v2 bytes */
	struct exp x = { .n = 0 };
	e_i16(&x, 2);
	e_str(&x, "grp");
	char eb[128];
	ck_assert_int_eq(kgw_key_decode(x.b, x.n, 0, &o, &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(o.version, 2);
	x.b[1] = 3; /* no such key version */
	ck_assert_int_eq(kgw_key_decode(x.b, x.n, 0, &o, &a, eb, sizeof(eb)), ERR_VERSION);

	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_offset_value ov = { v, 42, 7, S("m"), 1000, 5000 };
		struct kgw_offset_value oo;
		ROUND_TRIP(offset_value, ov, oo, a, 0);
		ck_assert_int_eq(oo.offset, 42);
		ck_assert_int_eq(oo.leader_epoch, v >= 3 ? 7 : -1);
		ck_assert_int_eq(oo.expire_timestamp, v == 1 ? 5000 : -1);
	}
	/* offset commit value v3 bytes */
	struct exp y = { .n = 0 };
	e_i16(&y, 3);
	e_i64(&y, 42);
	e_i32(&y, 7);
	e_str(&y, "m");
	e_i64(&y, 1000);
	struct kgw_offset_value v3 = { 3, 42, 7, S("m"), 1000, -1 };
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_offset_value_encode(&w, 0, &v3), 0);
	ck_assert_uint_eq(w.len, y.n);
	ck_assert(memcmp(w.p, y.b, y.n) == 0);
	wbuf_free(&w);

	struct kgw_group_member gm[2] = { { S("m-1"), S("i-1"), S("c"), S("/h"), 60000, 10000, S("sub"), S("asg") },
					  { S("m-2"), S(NULL), S("c"), S("/h"), 60000, 10000, S(""), S("") } };
	for (int16_t v = 0; v <= 3; v++) {
		struct kgw_group_value gv = { v, S("consumer"), 5, S("range"), S("m-1"), 123456, 2, gm };
		struct kgw_group_value go;
		ROUND_TRIP(group_value, gv, go, a, 0);
		ck_assert_int_eq(go.generation, 5);
		ck_assert_int_eq(go.current_state_timestamp, v >= 2 ? 123456 : -1);
		ck_assert(v >= 3 ? kgw_eq(go.members[0].group_instance_id, "i-1") : go.members[0].group_instance_id.len == -1);
		ck_assert_int_eq(go.members[0].rebalance_timeout_ms, v >= 1 ? 60000 : 10000);
		ck_assert(kgw_eq(go.members[0].assignment, "asg"));
	}
	/* an empty group's value (v3): null protocol and leader, no members */
	struct exp z = { .n = 0 };
	e_i16(&z, 3);
	e_str(&z, "consumer");
	e_i32(&z, 6);
	e_str(&z, NULL);
	e_str(&z, NULL);
	e_i64(&z, 99);
	e_i32(&z, 0);
	struct kgw_group_value ge;
	ck_assert_int_eq(kgw_group_value_decode(z.b, z.n, 0, &ge, &a, eb, sizeof(eb)), 0);
	ck_assert(ge.protocol.len == -1 && ge.leader.len == -1 && ge.n_members == 0 && ge.generation == 6);
	kgw_arena_free(&a);
}
END_TEST

START_TEST(test_subscription)
{
	/* ConsumerProtocolSubscription v1 as a client sends it: version, topics, user data, owned partitions */
	struct exp x = { .n = 0 };
	e_i16(&x, 1);
	e_i32(&x, 2);
	e_str(&x, "t1");
	e_str(&x, "t2");
	e_bytes(&x, NULL);
	e_i32(&x, 1);
	e_str(&x, "t1");
	e_i32(&x, 1);
	e_i32(&x, 0);
	struct kgw_subscription s;
	struct kgw_arena a = { 0 };
	char eb[128];
	ck_assert_int_eq(kgw_subscription_decode(x.b, x.n, 0, &s, &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n_topics, 2);
	ck_assert(kgw_eq(s.topics[1], "t2"));
	x.n = 5; /* topics cut short */
	ck_assert(kgw_subscription_decode(x.b, x.n, 0, &s, &a, eb, sizeof(eb)) != 0);
	kgw_arena_free(&a);
}
END_TEST

/* The flexible versions (KIP-482), byte for byte: OffsetFetch v7 as librdkafka 2.0 asks for a
 * group's offsets (compact strings and arrays, a tagged-field section after every structure,
 * require_stable), its v6 response, OffsetCommit v8; unknown tagged fields are skipped;
 * compact lengths that lie are refused. */
static void e_uv(struct exp *e, uint32_t v)
{
	while (v >= 0x80) {
		e_i8(e, (int)((v & 0x7f) | 0x80));
		v >>= 7;
	}
	e_i8(e, (int)v);
}
static void e_cstr(struct exp *e, const char *s)
{
	if (!s) {
		e_uv(e, 0);
		return;
	}
	e_uv(e, (uint32_t)strlen(s) + 1);
	memcpy(e->b + e->n, s, strlen(s));
	e->n += strlen(s);
}

START_TEST(test_flexible)
{
	char eb[256];
	ck_assert(!kgw_flexible(KGW_API_OFFSET_FETCH, 5));
	ck_assert(kgw_flexible(KGW_API_OFFSET_FETCH, 6));
	ck_assert(!kgw_flexible(KGW_API_OFFSET_COMMIT, 7));
	ck_assert(kgw_flexible(KGW_API_OFFSET_COMMIT, 8));
	ck_assert(!kgw_flexible(KGW_API_JOIN_GROUP, 5));

	/* OffsetFetch v7 request: group, [topic [partition] tags], require_stable, tags */
	struct exp x = { .n = 0 };
	e_cstr(&x, "grp");
	e_uv(&x, 2); /* one topic */
	e_cstr(&x, "t");
	e_uv(&x, 3); /* two partitions */
	e_i32(&x, 0);
	e_i32(&x, 1);
	e_uv(&x, 0); /* the topic's tags */
	e_i8(&x, 1); /* require_stable */
	e_uv(&x, 0);
	int32_t parts[2] = { 0, 1 };
	struct kgw_fetch_topic ft[1] = { { S("t"), 2, parts } };
	struct kgw_ofetch_req rq = { S("grp"), 1, ft, true };
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kgw_ofetch_req_encode(&w, 7, &rq), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert(memcmp(w.p, x.b, x.n) == 0);
	struct kgw_ofetch_req o;
	struct kgw_arena a = { 0 };
	ck_assert_int_eq(kgw_ofetch_req_decode(x.b, x.n, 7, &o, &a, eb, sizeof(eb)), 0);
	ck_assert(o.require_stable);
	ck_assert_int_eq(o.topics[0].parts[1], 1);
	ck_assert_uint_eq(a.tags_skipped, 0);
	kgw_arena_free(&a);
	/* v6 with a null topic list (every offset): a compact null is 0 */
	struct exp y = { .n = 0 };
	e_cstr(&y, "grp");
	e_uv(&y, 0);
	e_uv(&y, 0);
	ck_assert_int_eq(kgw_ofetch_req_decode(y.b, y.n, 6, &o, &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(o.n_topics, -1);
	kgw_arena_free(&a);

	/* unknown tagged fields, in the topic and at the end, are skipped and counted */
	struct exp t = { .n = 0 };
	e_cstr(&t, "grp");
	e_uv(&t, 2);
	e_cstr(&t, "t");
	e_uv(&t, 2);
	e_i32(&t, 4);
	e_uv(&t, 1); /* one tagged field: tag 7, 2 bytes */
	e_uv(&t, 7);
	e_uv(&t, 2);
	e_i16(&t, 0x4142);
	e_i8(&t, 0);
	e_uv(&t, 2); /* two: tag 0 empty, tag 300 (two-byte varint) one byte */
	e_uv(&t, 0);
	e_uv(&t, 0);
	e_uv(&t, 300);
	e_uv(&t, 1);
	e_i8(&t, 9);
	ck_assert_int_eq(kgw_ofetch_req_decode(t.b, t.n, 7, &o, &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(o.topics[0].parts[0], 4);
	ck_assert(!o.require_stable);
	ck_assert_uint_eq(a.tags_skipped, 3);
	kgw_arena_free(&a);
	/* a tagged field longer than the bytes left, a tag count over them */
	t.b[t.n - 2] = 5;
	ck_assert_int_eq(kgw_ofetch_req_decode(t.b, t.n, 7, &o, &a, eb, sizeof(eb)), ERR_TRUNC);
	kgw_arena_free(&a);
	struct exp u = { .n = 0 };
	e_cstr(&u, "grp");
	e_uv(&u, 0);
	e_uv(&u, 100);
	e_i16(&u, 0);
	ck_assert_int_eq(kgw_ofetch_req_decode(u.b, u.n, 6, &o, &a, eb, sizeof(eb)), ERR_TRUNC);
	kgw_arena_free(&a);
	/* a compact null group id (not nullable), an array count over the bytes left */
	struct exp v = { .n = 0 };
	e_uv(&v, 0);
	e_uv(&v, 0);
	e_uv(&v, 0);
	ck_assert_int_eq(kgw_ofetch_req_decode(v.b, v.n, 6, &o, &a, eb, sizeof(eb)), ERR_PROTO);
	kgw_arena_free(&a);
	struct exp c = { .n = 0 };
	e_cstr(&c, "grp");
	e_uv(&c, 1000);
	e_uv(&c, 0);
	ck_assert_int_eq(kgw_ofetch_req_decode(c.b, c.n, 6, &o, &a, eb, sizeof(eb)), ERR_TRUNC);
	kgw_arena_free(&a);
	/* the same bytes are no non-flexible version */
	ck_assert(kgw_ofetch_req_decode(x.b, x.n, 5, &o, &a, eb, sizeof(eb)) != 0);
	kgw_arena_free(&a);

	/* OffsetFetch v6 response: throttle, [topic [partition offset epoch metadata error tags]
	 * tags], error, tags */
	struct exp r = { .n = 0 };
	e_i32(&r, 0);
	e_uv(&r, 2);
	e_cstr(&r, "t");
	e_uv(&r, 2);
	e_i32(&r, 0);
	e_i64(&r, 42);
	e_i32(&r, -1);
	e_cstr(&r, NULL);
	e_i16(&r, 0);
	e_uv(&r, 0);
	e_uv(&r, 0);
	e_i16(&r, 0);
	e_uv(&r, 0);
	struct kgw_ofetch_part op[1] = { { 0, 42, -1, S(NULL), 0 } };
	struct kgw_ofetch_topic ot[1] = { { S("t"), 1, op } };
	struct kgw_ofetch_resp rs = { 0, 1, ot, 0 };
	wbuf_reset(&w);
	ck_assert_int_eq(kgw_ofetch_resp_encode(&w, 6, &rs), 0);
	ck_assert_uint_eq(w.len, r.n);
	ck_assert(memcmp(w.p, r.b, r.n) == 0);

	/* OffsetCommit v8 request: group, generation, member, instance (compact nullable), [topic
	 * [partition offset epoch metadata tags] tags], tags */
	struct exp m = { .n = 0 };
	e_cstr(&m, "grp");
	e_i32(&m, 3);
	e_cstr(&m, "m-1");
	e_cstr(&m, NULL);
	e_uv(&m, 2);
	e_cstr(&m, "t");
	e_uv(&m, 2);
	e_i32(&m, 1);
	e_i64(&m, 10);
	e_i32(&m, -1);
	e_cstr(&m, "");
	e_uv(&m, 0);
	e_uv(&m, 0);
	e_uv(&m, 0);
	struct kgw_commit_part cp[1] = { { 1, 10, -1, -1, S("") } };
	struct kgw_commit_topic ct[1] = { { S("t"), 1, cp } };
	struct kgw_commit_req cq = { S("grp"), 3, S("m-1"), S(NULL), -1, 1, ct };
	wbuf_reset(&w);
	ck_assert_int_eq(kgw_commit_req_encode(&w, 8, &cq), 0);
	ck_assert_uint_eq(w.len, m.n);
	ck_assert(memcmp(w.p, m.b, m.n) == 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_bad_input)
{
	char eb[256];
	struct kgw_arena a = { 0 };
	struct kgw_join_req o;
	/* a count bigger than the bytes left: refused before allocating */
	struct exp x = { .n = 0 };
	e_str(&x, "g");
	e_i32(&x, 1);
	e_str(&x, "");
	e_str(&x, "consumer");
	e_i32(&x, 1000000);
	ck_assert_int_eq(kgw_join_req_decode(x.b, x.n, 0, &o, &a, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert(strstr(eb, "JoinGroup request") != NULL);
	/* a count over the cap, a negative count */
	x.n -= 4;
	e_i32(&x, KGW_MAX_COUNT + 1);
	ck_assert_int_eq(kgw_join_req_decode(x.b, x.n, 0, &o, &a, eb, sizeof(eb)), ERR_TOOBIG);
	x.n -= 4;
	e_i32(&x, -2);
	ck_assert_int_eq(kgw_join_req_decode(x.b, x.n, 0, &o, &a, eb, sizeof(eb)), ERR_CORRUPT);
	/* a null group id, and a null protocol list */
	struct exp y = { .n = 0 };
	e_str(&y, NULL);
	e_i32(&y, 1);
	e_str(&y, "");
	e_str(&y, "consumer");
	e_i32(&y, 0);
	ck_assert_int_eq(kgw_join_req_decode(y.b, y.n, 0, &o, &a, eb, sizeof(eb)), ERR_PROTO);
	struct exp z = { .n = 0 };
	e_str(&z, "g");
	e_i32(&z, 1);
	e_str(&z, "");
	e_str(&z, "consumer");
	e_i32(&z, -1);
	ck_assert_int_eq(kgw_join_req_decode(z.b, z.n, 0, &o, &a, eb, sizeof(eb)), ERR_PROTO);
	/* versions outside what is implemented */
	ck_assert_int_eq(kgw_join_req_decode(z.b, z.n, 6, &o, &a, eb, sizeof(eb)), ERR_VERSION);
	ck_assert_int_eq(kgw_join_req_decode(z.b, z.n, -1, &o, &a, eb, sizeof(eb)), ERR_VERSION);
	struct wbuf w;
	wbuf_init(&w, 4096);
	struct kgw_heartbeat_req hq = { S("g"), 1, S("m"), S(NULL) };
	ck_assert_int_eq(kgw_heartbeat_req_encode(&w, 4, &hq), ERR_VERSION);
	/* the encoder refuses a null where the schema has none */
	struct kgw_heartbeat_req bad = { S(NULL), 1, S("m"), S(NULL) };
	ck_assert_int_eq(kgw_heartbeat_req_encode(&w, 0, &bad), ERR_INVAL);
	wbuf_free(&w);
	ck_assert_int_eq(kgw_max_version(KGW_API_JOIN_GROUP), 5);
	ck_assert_int_eq(kgw_max_version(KGW_API_OFFSET_FETCH), 7);
	ck_assert_int_eq(kgw_max_version(KGW_API_OFFSET_COMMIT), 8);
	ck_assert_int_eq(kgw_max_version(KGW_API_LIST_GROUPS), 2);
	ck_assert_int_eq(kgw_max_version(0), -1);
	kgw_arena_free(&a);
}
END_TEST

static Suite *kgw_suite(void)
{
	Suite *s = suite_create("kgw");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_find_coordinator);
	tcase_add_test(tc, test_join_group);
	tcase_add_test(tc, test_join_group_bytes);
	tcase_add_test(tc, test_sync_heartbeat);
	tcase_add_test(tc, test_leave_group);
	tcase_add_test(tc, test_offset_commit);
	tcase_add_test(tc, test_offset_fetch);
	tcase_add_test(tc, test_list_describe_delete);
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_subscription);
	tcase_add_test(tc, test_flexible);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kgw_suite());
}

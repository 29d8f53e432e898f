/*
 * Unit tests for kwtxn (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn v0-2, TxnOffsetCommit v0-3):
 * the exact bytes of each request from the schemas, round trips in every version, every
 * truncation refused, a lying count refused before allocation, null or NUL-holding ids refused,
 * bad topic names flagged, and the responses' bytes; TxnOffsetCommit v3's flexible encoding
 * (compact strings and arrays, tagged fields skipped) with KIP-447's generation, member id and
 * group instance id.
 */
#include "kwtxn.h"

#include "buf.h"
#include "check_main.h"
#include "err.h"

#include <check.h>
#include <string.h>

/* AddPartitionsToTxn: "tx", pid 7, epoch 2, topic "t" [0, 3] */
static const uint8_t add_parts[] = { 0, 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0, 0, 1,
				     0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3 };
/* AddOffsetsToTxn: "tx", pid 7, epoch 2, group "g" */
static const uint8_t add_offs[] = { 0, 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 1, 'g' };
/* EndTxn: "tx", pid 7, epoch 2, commit */
static const uint8_t end_txn[] = { 0, 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 1 };

static void round_trip(int16_t api, const uint8_t *b, size_t len)
{
	for (int16_t ver = 0; ver <= KWTXN_MAX_VERSION; ver++) {
		struct rbuf r = rbuf_make(b, len);
		struct kwtxn_req q;
		ck_assert_int_eq(kwtxn_req_decode(&r, api, ver, &q), 0);
		ck_assert_uint_eq(rbuf_left(&r), 0);
		ck_assert_str_eq(q.txn_id, "tx");
		ck_assert_int_eq(q.producer_id, 7);
		ck_assert_int_eq(q.producer_epoch, 2);
		struct wbuf w;
		wbuf_init(&w, 4096);
		ck_assert_int_eq(kwtxn_req_encode(&w, api, ver, &q), 0);
		ck_assert_uint_eq(w.len, len);
		ck_assert(!memcmp(w.p, b, len));
		wbuf_free(&w);
		kwtxn_req_free(&q);
		for (size_t k = 0; k < len; k++) {
			struct rbuf rk = rbuf_make(b, k);
			ck_assert_int_eq(kwtxn_req_decode(&rk, api, ver, &q), ERR_PROTO);
			kwtxn_req_free(&q);
		}
	}
	struct rbuf r = rbuf_make(b, len);
	struct kwtxn_req q;
	ck_assert_int_eq(kwtxn_req_decode(&r, api, 3, &q), ERR_PROTO); /* v3 is flexible: not served */
	kwtxn_req_free(&q);
}

START_TEST(test_add_partitions)
{
	round_trip(KWTXN_API_ADD_PARTITIONS, add_parts, sizeof(add_parts));
	struct rbuf r = rbuf_make(add_parts, sizeof(add_parts));
	struct kwtxn_req q;
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_PARTITIONS, 0, &q), 0);
	ck_assert_int_eq(q.ntopics, 1);
	ck_assert_str_eq(q.topics[0].name, "t");
	ck_assert(!q.topics[0].bad);
	ck_assert_int_eq(q.topics[0].n, 2);
	ck_assert_int_eq(q.topics[0].parts[1], 3);
	kwtxn_req_free(&q);
	uint8_t b[sizeof(add_parts)];
	memcpy(b, add_parts, sizeof(b));
	b[14] = 0x7f; /* a topic count far past the bytes left */
	r = rbuf_make(b, sizeof(b));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_PARTITIONS, 1, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	memcpy(b, add_parts, sizeof(b));
	b[20] = 0; /* topic "\0" */
	r = rbuf_make(b, sizeof(b));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_PARTITIONS, 1, &q), 0);
	ck_assert(q.topics[0].bad);
	kwtxn_req_free(&q);
	memcpy(b, add_parts, sizeof(b));
	b[3] = 0; /* transactional id "t\0" */
	r = rbuf_make(b, sizeof(b));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_PARTITIONS, 2, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	static const uint8_t null_id[] = { 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0, 0, 0 };
	r = rbuf_make(null_id, sizeof(null_id));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_PARTITIONS, 0, &q), ERR_PROTO);
	kwtxn_req_free(&q);
}
END_TEST

START_TEST(test_add_offsets_and_end)
{
	round_trip(KWTXN_API_ADD_OFFSETS, add_offs, sizeof(add_offs));
	round_trip(KWTXN_API_END, end_txn, sizeof(end_txn));
	struct rbuf r = rbuf_make(add_offs, sizeof(add_offs));
	struct kwtxn_req q;
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_ADD_OFFSETS, 0, &q), 0);
	ck_assert_str_eq(q.group_id, "g");
	kwtxn_req_free(&q);
	r = rbuf_make(end_txn, sizeof(end_txn));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_END, 0, &q), 0);
	ck_assert(q.commit);
	kwtxn_req_free(&q);
	r = rbuf_make(end_txn, sizeof(end_txn));
	ck_assert_int_eq(kwtxn_req_decode(&r, 27, 0, &q), ERR_PROTO);
	kwtxn_req_free(&q);
}
END_TEST

START_TEST(test_responses)
{
	struct wbuf w;
	wbuf_init(&w, 4096);
	struct kwtxn_resp p = { .throttle_ms = 0, .error = 51 };
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_END, 1, &p), 0);
	static const uint8_t want_end[] = { 0, 0, 0, 0, 0, 51 };
	ck_assert_uint_eq(w.len, sizeof(want_end));
	ck_assert(!memcmp(w.p, want_end, w.len));
	wbuf_reset(&w);
	struct kwtxn_presult pr[] = { { 0, 0 }, { 3, 90 } };
	struct kwtxn_tresult tr[] = { { "t", 2, pr } };
	struct kwtxn_resp ap = { .throttle_ms = 5, .ntopics = 1, .topics = tr };
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_ADD_PARTITIONS, 2, &ap), 0);
	static const uint8_t want_add[] = { 0, 0, 0, 5, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2,
					    0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 90 };
	ck_assert_uint_eq(w.len, sizeof(want_add));
	ck_assert(!memcmp(w.p, want_add, w.len));
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwtxn_resp d;
	ck_assert_int_eq(kwtxn_resp_decode(&r, KWTXN_API_ADD_PARTITIONS, 2, &d), 0);
	ck_assert_int_eq(d.throttle_ms, 5);
	ck_assert_int_eq(d.ntopics, 1);
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_ADD_PARTITIONS, 3, &ap), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

/* TxnOffsetCommit v2: "tx", group "g", pid 7, epoch 2, topic "t" [0 at 42, epoch 5, "m"; 1 at 9,
 * epoch -1, null] */
static const uint8_t txn_offs[] = { 0, 2, 't', 'x', 0, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0, 0, 1,
				    0, 1, 't', 0, 0, 0, 2,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 5, 0, 1, 'm',
				    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

START_TEST(test_txn_offset_commit)
{
	struct rbuf r = rbuf_make(txn_offs, sizeof(txn_offs));
	struct kwtxn_req q;
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q), 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	ck_assert_str_eq(q.txn_id, "tx");
	ck_assert_str_eq(q.group_id, "g");
	ck_assert_int_eq(q.producer_id, 7);
	ck_assert_int_eq(q.producer_epoch, 2);
	ck_assert_int_eq(q.ntopics, 1);
	ck_assert_int_eq(q.topics[0].n, 2);
	ck_assert_int_eq(q.topics[0].offs[0].offset, 42);
	ck_assert_int_eq(q.topics[0].offs[0].leader_epoch, 5);
	ck_assert_int_eq(q.topics[0].offs[0].meta_len, 1);
	ck_assert_int_eq(q.topics[0].offs[1].offset, 9);
	ck_assert_int_eq(q.topics[0].offs[1].meta_len, -1);
	ck_assert_ptr_null(q.topics[0].offs[1].meta);
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q), 0);
	ck_assert_uint_eq(w.len, sizeof(txn_offs));
	ck_assert(!memcmp(w.p, txn_offs, w.len));
	/* v0-1 have no leader epoch: 4 bytes fewer per partition */
	wbuf_reset(&w);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 1, &q), 0);
	ck_assert_uint_eq(w.len, sizeof(txn_offs) - 8);
	struct kwtxn_req q1;
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 1, &q1), 0);
	ck_assert_int_eq(q1.topics[0].offs[0].leader_epoch, -1);
	ck_assert_int_eq(q1.topics[0].offs[0].offset, 42);
	kwtxn_req_free(&q1);
	wbuf_free(&w);
	kwtxn_req_free(&q);
	for (size_t k = 0; k < sizeof(txn_offs); k++) {
		r = rbuf_make(txn_offs, k);
		ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q), ERR_PROTO);
		kwtxn_req_free(&q);
	}
	uint8_t b[sizeof(txn_offs)];
	memcpy(b, txn_offs, sizeof(b));
	b[24] = 0x7f; /* a partition count far past the bytes left */
	r = rbuf_make(b, sizeof(b));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q), ERR_PROTO);
	kwtxn_req_free(&q);
}
END_TEST

/* TxnOffsetCommit v3 (flexible): "tx", group "g", pid 7, epoch 2, generation 4, member "m-1",
 * instance null, topic "t" [0 at 42, epoch 5, "m"; 1 at 9, epoch -1, null], no tagged fields */
static const uint8_t txn_offs3[] = { 3, 't', 'x', 2, 'g', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0, 0, 4,
				     4, 'm', '-', '1', 0, 2, 2, 't', 3,
				     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 5, 2, 'm', 0,
				     0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0, 0,
				     0, 0 };

START_TEST(test_txn_offset_commit_v3)
{
	struct rbuf r = rbuf_make(txn_offs3, sizeof(txn_offs3));
	struct kwtxn_req q;
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	ck_assert_str_eq(q.txn_id, "tx");
	ck_assert_str_eq(q.group_id, "g");
	ck_assert_int_eq(q.producer_id, 7);
	ck_assert_int_eq(q.producer_epoch, 2);
	ck_assert_int_eq(q.generation_id, 4);
	ck_assert_str_eq(q.member_id, "m-1");
	ck_assert_ptr_null(q.group_instance_id);
	ck_assert_int_eq(q.ntopics, 1);
	ck_assert_str_eq(q.topics[0].name, "t");
	ck_assert_int_eq(q.topics[0].n, 2);
	ck_assert_int_eq(q.topics[0].parts[1], 1);
	ck_assert_int_eq(q.topics[0].offs[0].offset, 42);
	ck_assert_int_eq(q.topics[0].offs[0].leader_epoch, 5);
	ck_assert_int_eq(q.topics[0].offs[0].meta_len, 1);
	ck_assert_int_eq(q.topics[0].offs[0].meta[0], 'm');
	ck_assert_int_eq(q.topics[0].offs[1].leader_epoch, -1);
	ck_assert_int_eq(q.topics[0].offs[1].meta_len, -1);
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), 0);
	ck_assert_uint_eq(w.len, sizeof(txn_offs3));
	ck_assert(!memcmp(w.p, txn_offs3, w.len));
	/* the same request as v2: the KIP-447 fields dropped, and back to their defaults */
	wbuf_reset(&w);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q), 0);
	ck_assert_uint_eq(w.len, sizeof(txn_offs));
	ck_assert(!memcmp(w.p, txn_offs, w.len));
	struct kwtxn_req q2;
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 2, &q2), 0);
	ck_assert_int_eq(q2.generation_id, -1);
	ck_assert_ptr_null(q2.member_id);
	ck_assert_ptr_null(q2.group_instance_id);
	/* and a v2 request written as v3: generation -1, member "", instance null */
	wbuf_reset(&w);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q2), 0);
	kwtxn_req_free(&q2);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q2), 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(q2.generation_id, -1);
	ck_assert_str_eq(q2.member_id, "");
	ck_assert_ptr_null(q2.group_instance_id);
	ck_assert_int_eq(q2.topics[0].offs[0].offset, 42);
	kwtxn_req_free(&q2);
	/* an instance id round-trips */
	q.group_instance_id = strdup("inst-1");
	wbuf_reset(&w);
	ck_assert_int_eq(kwtxn_req_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), 0);
	ck_assert_uint_eq(w.len, sizeof(txn_offs3) + 6);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q2), 0);
	ck_assert_str_eq(q2.group_instance_id, "inst-1");
	ck_assert_str_eq(q2.member_id, "m-1");
	kwtxn_req_free(&q2);
	kwtxn_req_free(&q);
	wbuf_free(&w);
	for (size_t k = 0; k < sizeof(txn_offs3); k++) {
		r = rbuf_make(txn_offs3, k);
		ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), ERR_PROTO);
		kwtxn_req_free(&q);
	}
	/* unknown tagged fields are skipped: on a partition (tag 1, "ab"), on the request (tag 9,
	 * ""); one running past the bytes is refused */
	uint8_t b[sizeof(txn_offs3) + 8];
	size_t n = 0;
	memcpy(b, txn_offs3, 46);
	n = 46;
	static const uint8_t ptag[] = { 1, 1, 2, 'a', 'b' };
	memcpy(b + n, ptag, sizeof(ptag));
	n += sizeof(ptag);
	memcpy(b + n, txn_offs3 + 47, sizeof(txn_offs3) - 48);
	n += sizeof(txn_offs3) - 48;
	static const uint8_t rtag[] = { 1, 9, 0 };
	memcpy(b + n, rtag, sizeof(rtag));
	n += sizeof(rtag);
	r = rbuf_make(b, n);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(q.topics[0].offs[1].offset, 9);
	kwtxn_req_free(&q);
	b[n - 1] = 40;
	r = rbuf_make(b, n);
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	/* a compact count far past the bytes left; a null group id; a null member id */
	memcpy(b, txn_offs3, sizeof(txn_offs3));
	b[27] = 0x7f;
	r = rbuf_make(b, sizeof(txn_offs3));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	static const uint8_t null_group[] = { 3, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0xff, 0xff, 0xff, 0xff,
					      1, 0, 1, 0 };
	r = rbuf_make(null_group, sizeof(null_group));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	static const uint8_t null_member[] = { 3, 't', 'x', 2, 'g', 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0xff, 0xff, 0xff, 0xff,
					       0, 0, 1, 0 };
	r = rbuf_make(null_member, sizeof(null_member));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), ERR_PROTO);
	kwtxn_req_free(&q);
	uint8_t ok_member[sizeof(null_member)];
	memcpy(ok_member, null_member, sizeof(ok_member));
	ok_member[19] = 1; /* "" */
	r = rbuf_make(ok_member, sizeof(ok_member));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &q), 0);
	ck_assert_int_eq(q.ntopics, 0);
	kwtxn_req_free(&q);
	/* v4 is not served */
	r = rbuf_make(txn_offs3, sizeof(txn_offs3));
	ck_assert_int_eq(kwtxn_req_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 4, &q), ERR_PROTO);
	kwtxn_req_free(&q);
}
END_TEST

/* TxnOffsetCommit v3's response: compact, each structure ending in (empty) tagged fields. */
START_TEST(test_txn_offset_commit_v3_response)
{
	struct wbuf w;
	wbuf_init(&w, 4096);
	struct kwtxn_presult pr[] = { { 0, 0 }, { 3, 22 } };
	struct kwtxn_tresult tr[] = { { "t", 2, pr } };
	struct kwtxn_resp ap = { .throttle_ms = 5, .ntopics = 1, .topics = tr };
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 3, &ap), 0);
	static const uint8_t want[] = { 0, 0, 0, 5, 2, 2, 't', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 22, 0, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert(!memcmp(w.p, want, w.len));
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwtxn_resp d;
	ck_assert_int_eq(kwtxn_resp_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &d), 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(d.throttle_ms, 5);
	ck_assert_int_eq(d.ntopics, 1);
	for (size_t k = 0; k < sizeof(want); k++) {
		r = rbuf_make(want, k);
		ck_assert_int_eq(kwtxn_resp_decode(&r, KWTXN_API_TXN_OFFSET_COMMIT, 3, &d), ERR_PROTO);
	}
	/* v2's is not compact: throttle, topic count (4), name (2 + 1), partition count (4), two
	 * partitions of 6 bytes, no tags */
	wbuf_reset(&w);
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 2, &ap), 0);
	ck_assert_uint_eq(w.len, 4 + 4 + 3 + 4 + 12);
	ck_assert_int_eq(kwtxn_resp_encode(&w, KWTXN_API_TXN_OFFSET_COMMIT, 4, &ap), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

static Suite *kwtxn_suite(void)
{
	Suite *s = suite_create("kwtxn");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_add_partitions);
	tcase_add_test(tc, test_add_offsets_and_end);
	tcase_add_test(tc, test_responses);
	tcase_add_test(tc, test_txn_offset_commit);
	tcase_add_test(tc, test_txn_offset_commit_v3);
	tcase_add_test(tc, test_txn_offset_commit_v3_response);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwtxn_suite());
}

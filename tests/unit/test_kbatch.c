/*
 * Unit tests for kbatch: byte vectors from an independent implementation (kafka-python 2.0's
 * DefaultRecordBatchBuilder, uncompressed and gzip), build/parse round trips, CRC mismatch,
 * truncation at every length, wrong magic, inconsistent counts and offset deltas, a Produce
 * buffer of three batches (with trailing garbage and a partial last batch), and the in-place
 * rewrites the log does (base offset, leader epoch, LogAppendTime).
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kafka-python: 3 records, ts 1700000000000 (+0, +5, +3), keys "k1"/null/"", values
 * "hello"/"world"/null, headers [("h","v")], [], [("a", null)]. Leader epoch 0. */
static const char VEC_PLAIN[] =
	"0000000000000000000000590000000002b8a249b20000000000020000018bcfe568000000018bcfe56805ffffffffff"
	"ffffffffffffffffff0000000322000000046b310a68656c6c6f020268027616000a02010a776f726c64001200060400"
	"0102026101";
/* kafka-python, gzip: 5 records of 50 x 'x'. */
static const char VEC_GZIP[] =
	"000000000000000000000062000000000299d0c5030001000000040000018bcfe568000000018bcfe56804ffffffffff"
	"ffffffffffffffffff000000051f8b0800d4e30b6b02ff2b606060604ca92019301430303191a99185854c8d6c6c646a"
	"e4e0204b2300c5633e8a1d010000";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

struct collect {
	int n;
	struct kbatch_record r[8];
};

static int collect_cb(const struct kbatch_record *r, void *arg)
{
	struct collect *c = arg;
	if (c->n < 8)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

START_TEST(test_vector_plain)
{
	uint8_t b[256];
	size_t n = unhex(VEC_PLAIN, b);
	struct kbatch_hdr h;
	char eb[256] = "";
	ck_assert_uint_eq(n, 101);
	ck_assert_int_eq(kbatch_validate(b, n, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.records_count, 3);
	ck_assert_int_eq(h.last_offset_delta, 2);
	ck_assert_int_eq(h.batch_length, 89);
	ck_assert(h.base_timestamp == 1700000000000LL);
	ck_assert(h.max_timestamp == 1700000000005LL);
	ck_assert(h.producer_id == -1 && h.producer_epoch == -1 && h.base_sequence == -1);
	ck_assert_int_eq(h.attributes, 0);

	struct collect c = { 0 };
	ck_assert_int_eq(kbatch_records(b, n, collect_cb, &c, eb, sizeof(eb)), 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert(c.r[0].offset == 0 && c.r[1].offset == 1 && c.r[2].offset == 2);
	ck_assert(c.r[1].timestamp == 1700000000005LL && c.r[2].timestamp == 1700000000003LL);
	ck_assert_int_eq(c.r[0].key_len, 2);
	ck_assert_mem_eq(c.r[0].key, "k1", 2);
	ck_assert_mem_eq(c.r[0].value, "hello", 5);
	ck_assert_int_eq(c.r[1].key_len, -1);
	ck_assert_ptr_null(c.r[1].key);
	ck_assert_int_eq(c.r[2].key_len, 0);
	ck_assert_int_eq(c.r[2].value_len, -1);
	ck_assert_int_eq(c.r[0].headers_count, 1);

	size_t pos = 0;
	struct kbatch_kv kv;
	ck_assert_int_eq(kbatch_header_next(&c.r[0], &pos, &kv), 1);
	ck_assert_int_eq(kv.key_len, 1);
	ck_assert_mem_eq(kv.key, "h", 1);
	ck_assert_int_eq(kv.value_len, 1);
	ck_assert_mem_eq(kv.value, "v", 1);
	ck_assert_int_eq(kbatch_header_next(&c.r[0], &pos, &kv), 0);
	pos = 0;
	ck_assert_int_eq(kbatch_header_next(&c.r[2], &pos, &kv), 1);
	ck_assert_int_eq(kv.value_len, -1);
	ck_assert_ptr_null(kv.value);
}
END_TEST

START_TEST(test_vector_gzip)
{
	uint8_t b[256];
	size_t n = unhex(VEC_GZIP, b);
	struct kbatch_hdr h;
	char eb[256] = "";
	ck_assert_int_eq(kbatch_validate(b, n, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.attributes & KBATCH_COMPRESSION_MASK, 1);
	ck_assert_int_eq(h.records_count, 5);
	ck_assert_int_eq(kbatch_records(b, n, collect_cb, &(struct collect){ 0 }, eb, sizeof(eb)), ERR_VERSION);
	/* CRC still covers the compressed bytes */
	b[n - 3] ^= 1;
	ck_assert_int_eq(kbatch_validate(b, n, &h, eb, sizeof(eb)), ERR_CORRUPT);
}
END_TEST

/* Our builder produces the same bytes as kafka-python (apart from the leader epoch). */
START_TEST(test_build_matches_vector)
{
	uint8_t v[256];
	size_t n = unhex(VEC_PLAIN, v);
	struct kbatch_kv h0 = { "h", 1, "v", 1 };
	struct kbatch_kv h2 = { "a", 1, NULL, -1 };
	struct kbatch_rec recs[3] = {
		{ "k1", 2, "hello", 5, 0, &h0, 1 },
		{ NULL, -1, "world", 5, 5, NULL, 0 },
		{ "", 0, NULL, -1, 3, &h2, 1 },
	};
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_uint_eq(kbatch_build(&w, 0, 1700000000000LL, recs, 3), n);
	kbatch_set_leader_epoch(w.p, 0);
	ck_assert_mem_eq(w.p, v, n);
	wbuf_free(&w);
}
END_TEST

/* a coordinator's transactional batch (TxnOffsetCommit): attributes 0x10, the producer's id
 * and epoch, base sequence -1, a valid CRC */
START_TEST(test_build_txn)
{
	struct kbatch_rec r = { "k", 1, "v", 1, 0, NULL, 0 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_u8(&w, 9); /* after other bytes in the buffer */
	size_t n = kbatch_build_txn(&w, 0, 5, &r, 1, 0x123456789aLL, 300);
	ck_assert_uint_gt(n, 0);
	struct kbatch_hdr h;
	char eb[256];
	ck_assert_int_eq(kbatch_validate(w.p + 1, n, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.attributes, KBATCH_TRANSACTIONAL);
	ck_assert_int_eq(h.producer_id, 0x123456789aLL);
	ck_assert_int_eq(h.producer_epoch, 300);
	ck_assert_int_eq(h.base_sequence, -1);
	ck_assert_int_eq(h.records_count, 1);
	wbuf_free(&w);
}
END_TEST

static size_t build_simple(struct wbuf *w, int64_t base, int nrec, int64_t ts)
{
	struct kbatch_rec recs[64];
	static const char val[] = "value-0123456789";
	ck_assert_int_le(nrec, 64);
	for (int i = 0; i < nrec; i++)
		recs[i] = (struct kbatch_rec){ NULL, -1, val, (int32_t)strlen(val), i, NULL, 0 };
	return kbatch_build(w, base, ts, recs, nrec);
}

START_TEST(test_crc_mismatch)
{
	struct wbuf w;
	char eb[256] = "";
	wbuf_init(&w, 1 << 20);
	size_t n = build_simple(&w, 0, 4, 1000);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), 0);
	/* every byte from attributes on is covered */
	for (size_t i = KBATCH_OFF_ATTRIBUTES; i < n; i++) {
		w.p[i] ^= 0x10;
		ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_CORRUPT);
		w.p[i] ^= 0x10;
	}
	ck_assert_ptr_nonnull(strstr(eb, "CRC"));
	/* baseOffset and leader epoch are not */
	w.p[3] ^= 0xff;
	w.p[13] ^= 0xff;
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncated)
{
	struct wbuf w;
	char eb[256] = "";
	wbuf_init(&w, 1 << 20);
	size_t n = build_simple(&w, 0, 3, 1000);
	for (size_t len = 0; len < n; len++) {
		int rc = kbatch_validate(w.p, len, NULL, eb, sizeof(eb));
		ck_assert_msg(rc == ERR_CORRUPT, "len %zu: %d", len, rc);
		size_t consumed = 99;
		ck_assert_int_eq(kbatch_foreach_ex(w.p, len, 0, NULL, NULL, &consumed, eb, sizeof(eb)),
				 len == 0 ? 0 : ERR_TRUNC);
		ck_assert_uint_eq(consumed, 0);
		ck_assert_int_eq(kbatch_foreach_ex(w.p, len, KBATCH_ALLOW_PARTIAL, NULL, NULL, &consumed, eb,
						   sizeof(eb)),
				 0);
		ck_assert_uint_eq(consumed, 0);
	}
	/* a batchLength that claims more than there is */
	be32_put(w.p + KBATCH_OFF_LENGTH, (uint32_t)n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_CORRUPT);
	be32_put(w.p + KBATCH_OFF_LENGTH, 0x7fffffff);
	ck_assert_int_eq(kbatch_foreach(w.p, n, NULL, NULL, eb, sizeof(eb)), ERR_TRUNC);
	be32_put(w.p + KBATCH_OFF_LENGTH, 0x80000000u);
	ck_assert_int_eq(kbatch_foreach(w.p, n, NULL, NULL, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_CORRUPT);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_magic_and_counts)
{
	struct wbuf w;
	char eb[256] = "";
	struct kbatch_hdr h;
	wbuf_init(&w, 1 << 20);
	size_t n = build_simple(&w, 0, 2, 1000);
	w.p[KBATCH_OFF_MAGIC] = 1;
	ck_assert_int_eq(kbatch_parse_hdr(w.p, n, &h), ERR_VERSION);
	ck_assert_int_eq(kbatch_parse_hdr(w.p, 20, &h), ERR_VERSION);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_VERSION);
	w.p[KBATCH_OFF_MAGIC] = 2;
	ck_assert_int_eq(kbatch_parse_hdr(w.p, 20, &h), ERR_TRUNC);

	/* recordsCount 3 with 2 records (CRC fixed up): content error */
	be32_put(w.p + KBATCH_OFF_RECORDS_COUNT, 3);
	be32_put(w.p + KBATCH_OFF_LAST_OFFSET_DELTA, 2);
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	/* lastOffsetDelta not recordsCount - 1 */
	be32_put(w.p + KBATCH_OFF_RECORDS_COUNT, 2);
	be32_put(w.p + KBATCH_OFF_LAST_OFFSET_DELTA, 5);
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	be32_put(w.p + KBATCH_OFF_LAST_OFFSET_DELTA, 1);
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), 0);

	/* second record's offsetDelta equal to the first's: records are
	 * [len attr ts od keylen vallen "value-0123456789"(16) hc] so od is at +3 */
	size_t rec1 = KBATCH_HDR_SIZE + 1 + (size_t)(w.p[KBATCH_HDR_SIZE] >> 1);
	ck_assert_int_eq(w.p[rec1 + 3], 2); /* zig-zag 1 */
	w.p[rec1 + 3] = 0;
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "offsetDelta"));
	/* offsetDelta beyond lastOffsetDelta */
	w.p[rec1 + 3] = 4;
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	/* a key length that overruns the record */
	w.p[rec1 + 3] = 2;
	w.p[rec1 + 4] = 0x7e;
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_validate(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	/* kbatch_check (a follower's check) reads the header and the CRC only: such a batch
	 * passes, a flipped bit or disagreeing header fields do not */
	ck_assert_int_eq(kbatch_check(w.p, n, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.records_count, 2);
	w.p[n - 1] ^= 1;
	ck_assert_int_eq(kbatch_check(w.p, n, NULL, eb, sizeof(eb)), ERR_CORRUPT);
	w.p[n - 1] ^= 1;
	be32_put(w.p + KBATCH_OFF_LAST_OFFSET_DELTA, 5);
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_check(w.p, n, NULL, eb, sizeof(eb)), ERR_PROTO);
	/* the shape the log cleaner leaves (fewer records than offsets) is a log's, not a producer's */
	ck_assert_int_eq(kbatch_check_ex(w.p, n, KBATCH_COMPACTED, NULL, eb, sizeof(eb)), 0);
	be32_put(w.p + KBATCH_OFF_LAST_OFFSET_DELTA, 0);
	kbatch_update_crc(w.p, n);
	ck_assert_int_eq(kbatch_check_ex(w.p, n, KBATCH_COMPACTED, NULL, eb, sizeof(eb)), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

struct seen {
	int n;
	size_t sizes[8];
};

static int seen_cb(const uint8_t *b, size_t blen, void *arg)
{
	struct seen *s = arg;
	char eb[128];
	ck_assert_int_eq(kbatch_validate(b, blen, NULL, eb, sizeof(eb)), 0);
	s->sizes[s->n++] = blen;
	return 0;
}

static int stop_cb(const uint8_t *b, size_t blen, void *arg)
{
	(void)b;
	(void)blen;
	(void)arg;
	return 42;
}

START_TEST(test_three_batches)
{
	struct wbuf w;
	char eb[256] = "";
	wbuf_init(&w, 1 << 20);
	size_t a = build_simple(&w, 0, 1, 1000);
	size_t b = build_simple(&w, 0, 7, 1001);
	size_t c = build_simple(&w, 0, 3, 1002);
	struct seen s = { 0 };
	ck_assert_int_eq(kbatch_foreach(w.p, w.len, seen_cb, &s, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert(s.sizes[0] == a && s.sizes[1] == b && s.sizes[2] == c);

	/* trailing garbage: an error (a Produce request), or ignored as a partial batch */
	size_t whole = w.len;
	wbuf_raw(&w, "\0\0\0\0\0", 5);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(kbatch_foreach(w.p, w.len, seen_cb, &s, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert_int_eq(s.n, 3);
	size_t consumed;
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(kbatch_foreach_ex(w.p, w.len, KBATCH_ALLOW_PARTIAL, seen_cb, &s, &consumed, eb,
					   sizeof(eb)),
			 0);
	ck_assert_uint_eq(consumed, whole);

	/* a fetch response cut inside the third batch */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(kbatch_foreach_ex(w.p, a + b + 20, KBATCH_ALLOW_PARTIAL, seen_cb, &s, &consumed,
					   eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(consumed, a + b);

	/* the callback's non-zero return stops the walk */
	ck_assert_int_eq(kbatch_foreach(w.p, whole, stop_cb, &s, eb, sizeof(eb)), 42);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_rewrites)
{
	struct wbuf w;
	char eb[256] = "";
	struct kbatch_hdr h;
	wbuf_init(&w, 1 << 20);
	size_t n = build_simple(&w, 0, 5, 1000);
	kbatch_set_base_offset(w.p, 123456789012LL);
	kbatch_set_leader_epoch(w.p, 7);
	ck_assert_int_eq(kbatch_validate(w.p, n, &h, eb, sizeof(eb)), 0);
	ck_assert(h.base_offset == 123456789012LL);
	ck_assert_int_eq(h.leader_epoch, 7);
	ck_assert(h.max_timestamp == 1004);

	kbatch_set_log_append_time(w.p, n, 99999);
	ck_assert_int_eq(kbatch_validate(w.p, n, &h, eb, sizeof(eb)), 0);
	ck_assert(h.attributes & KBATCH_LOG_APPEND_TIME);
	ck_assert(h.max_timestamp == 99999);
	struct collect c = { 0 };
	ck_assert_int_eq(kbatch_records(w.p, n, collect_cb, &c, eb, sizeof(eb)), 0);
	ck_assert_int_eq(c.n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert(c.r[i].timestamp == 99999);
		ck_assert(c.r[i].offset == 123456789012LL + i);
	}
	wbuf_free(&w);
}
END_TEST


START_TEST(test_marker)
{
	/* Kafka's EndTransactionMarker in a control batch, built and read back */
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	size_t n = kbatch_build_marker(&w, 1000, 3, 7, true, 55);
	ck_assert_uint_gt(n, 0);
	struct kbatch_hdr h;
	char eb[256];
	ck_assert_int_eq(kbatch_validate(w.p, n, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.attributes, KBATCH_TRANSACTIONAL | KBATCH_CONTROL);
	ck_assert_int_eq(h.producer_id, 1000);
	ck_assert_int_eq(h.producer_epoch, 3);
	ck_assert_int_eq(h.base_sequence, -1);
	ck_assert_int_eq(h.records_count, 1);
	int16_t type;
	int32_t coord;
	ck_assert_int_eq(kbatch_control_marker(w.p, n, &type, &coord), 0);
	ck_assert_int_eq(type, KBATCH_MARKER_COMMIT);
	ck_assert_int_eq(coord, 7);
	/* the record: key 00 00 00 01, value 00 00 00 00 00 07 */
	static const uint8_t key[] = { 8, 0, 0, 0, 1, 12, 0, 0, 0, 0, 0, 7 };
	ck_assert_mem_eq(w.p + n - sizeof(key) - 1, key, sizeof(key));
	size_t m = kbatch_build_marker(&w, 1000, 3, 8, false, 55);
	ck_assert_int_eq(kbatch_control_marker(w.p + n, m, &type, &coord), 0);
	ck_assert_int_eq(type, KBATCH_MARKER_ABORT);
	ck_assert_int_eq(coord, 8);
	/* not a control batch; every truncation */
	struct kbatch_rec r = { .key = NULL, .key_len = -1, .value = "v", .value_len = 1 };
	size_t d = kbatch_build(&w, 0, 1, &r, 1);
	ck_assert_int_eq(kbatch_control_marker(w.p + n + m, d, &type, &coord), ERR_PROTO);
	ck_assert_int_eq(type, -1);
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(kbatch_control_marker(w.p, len, &type, &coord), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

static Suite *kbatch_suite(void)
{
	Suite *s = suite_create("kbatch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_marker);
	tcase_add_test(tc, test_vector_plain);
	tcase_add_test(tc, test_vector_gzip);
	tcase_add_test(tc, test_build_matches_vector);
	tcase_add_test(tc, test_build_txn);
	tcase_add_test(tc, test_crc_mismatch);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_magic_and_counts);
	tcase_add_test(tc, test_three_batches);
	tcase_add_test(tc, test_rewrites);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kbatch_suite());
}

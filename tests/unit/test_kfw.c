/*
 * Unit tests for kfw, the follower's side of Fetch v11 and OffsetForLeaderEpoch v3: the
 * requests encode byte for byte as kafka-python 2.0.2 encodes them, and responses kafka-python
 * encoded (with record batches from its own builder) decode to the right partitions, offsets,
 * epochs and batches; a leader's cut last batch is dropped, a batch failing its CRC ends the
 * partition's records, every truncation of a frame and every lying count is refused.
 * The vectors come from tests/unit/kfw_vectors.py.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kfw.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ---- kafka-python 2.0.2 vectors (tests/unit/kfw_vectors.py) ---- */

/* Fetch v11, corr 41, client "broker-2-fetcher": replica 2, wait 500, min 1, max 10 MiB;
 * cities/0 (epoch 4, offset 17), cities/3 (epoch 4, offset 0), t2/1 (epoch 7, offset
 * 123456789012), log start -1 and 1 MiB each. */
static const uint8_t fetch_req_v11[169] = {
	0x00, 0x00, 0x00, 0xa5, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x29, 0x00, 0x10, 0x62, 0x72,
	0x6f, 0x6b, 0x65, 0x72, 0x2d, 0x32, 0x2d, 0x66, 0x65, 0x74, 0x63, 0x68, 0x65, 0x72, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x00, 0x00, 0x01, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x00, 0x06, 0x63, 0x69, 0x74,
	0x69, 0x65, 0x73, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x02, 0x74, 0x32, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00,
	0x00, 0x00, 0x1c, 0xbe, 0x99, 0x1a, 0x14, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* Fetch v11 response, corr 41: cities/0 (hw 21, log start 2) with batch b1 (offsets 17-18,
 * epoch 3, 78 bytes) and b2 (19, epoch 4, 71 bytes); cities/3 NOT_LEADER_OR_FOLLOWER (6);
 * t2/1 (hw 9, one aborted transaction) with b3 (5-6, epoch 4, 116 bytes) and the first 25
 * bytes of another batch, cut as a leader cuts at its size limit. */
static const uint8_t fetch_resp_v11[470] = {
	0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x06, 0x63, 0x69, 0x74, 0x69, 0x65, 0x73, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
	0x00, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00, 0x03, 0x02, 0x5f, 0x43, 0x1a, 0x0f, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf,
	0xe5, 0x68, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x00, 0x00, 0x00, 0x02, 0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 0x61, 0x00, 0x10, 0x00, 0x02,
	0x02, 0x01, 0x04, 0x62, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00,
	0x00, 0x3b, 0x00, 0x00, 0x00, 0x04, 0x02, 0xc3, 0x28, 0x19, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68,
	0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
	0x00, 0x00, 0x01, 0x12, 0x00, 0x00, 0x00, 0x01, 0x06, 0x63, 0x63, 0x63, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff,
	0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x74, 0x32, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x8d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00, 0x04, 0x02, 0xa3, 0x04, 0x81, 0xdc, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b,
	0xcf, 0xe5, 0x68, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x5c, 0x00, 0x00, 0x00, 0x01, 0x50, 0x78, 0x78, 0x78, 0x78,
	0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
	0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
	0x78, 0x78, 0x78, 0x78, 0x00, 0x0e, 0x00, 0x02, 0x02, 0x01, 0x02, 0x79, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x04, 0x02, 0xff, 0x2c,
	0xc0, 0x64, 0x00, 0x00, 0x00, 0x00,
};
/* OffsetForLeaderEpoch v3, corr 42: replica 2; cities/0 (current 5, epoch 3), cities/3
 * (current 5, epoch -1). */
static const uint8_t epoch_req_v3[74] = {
	0x00, 0x00, 0x00, 0x46, 0x00, 0x17, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x10, 0x62, 0x72,
	0x6f, 0x6b, 0x65, 0x72, 0x2d, 0x32, 0x2d, 0x66, 0x65, 0x74, 0x63, 0x68, 0x65, 0x72, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x63, 0x69, 0x74, 0x69, 0x65, 0x73, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff,
};
/* Its response: cities/0 epoch 3 ends at 19; cities/3 FENCED_LEADER_EPOCH (74), -1/-1. */
static const uint8_t epoch_resp_v3[60] = {
	0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x63, 0x69,
	0x74, 0x69, 0x65, 0x73, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x03,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static bool topic_is(const uint8_t *t, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(t, want, len) == 0;
}

START_TEST(test_fetch_request_bytes)
{
	const struct kfw_fetch_part parts[] = {
		{ "cities", 0, 4, 17, -1, 1 << 20 },
		{ "cities", 3, 4, 0, -1, 1 << 20 },
		{ "t2", 1, 7, 123456789012LL, -1, 1 << 20 },
	};
	struct kfw_fetch_req req = { .replica_id = 2, .max_wait_ms = 500, .min_bytes = 1, .max_bytes = 10 << 20,
				     .isolation_level = 0, .parts = parts, .n_parts = 3 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_raw(&w, "xy", 2); /* appends after what is there */
	ck_assert_int_eq(kfw_fetch_encode(&w, 41, "broker-2-fetcher", &req), 0);
	ck_assert_uint_eq(w.len, 2 + sizeof(fetch_req_v11));
	ck_assert_mem_eq(w.p + 2, fetch_req_v11, sizeof(fetch_req_v11));
	wbuf_free(&w);
}
END_TEST

START_TEST(test_epoch_request_bytes)
{
	const struct kfw_epoch_part parts[] = {
		{ "cities", 0, 5, 3 },
		{ "cities", 3, 5, -1 },
	};
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kfw_epoch_encode(&w, 42, "broker-2-fetcher", 2, parts, 2), 0);
	ck_assert_uint_eq(w.len, sizeof(epoch_req_v3));
	ck_assert_mem_eq(w.p, epoch_req_v3, sizeof(epoch_req_v3));
	wbuf_free(&w);
}
END_TEST

START_TEST(test_encode_refuses)
{
	const struct kfw_fetch_part bad[] = { { NULL, 0, 0, 0, -1, 1 } };
	struct kfw_fetch_req req = { .replica_id = 1, .parts = bad, .n_parts = 1 };
	const struct kfw_epoch_part ebad[] = { { NULL, 0, 0, 0 } };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kfw_fetch_encode(&w, 1, "c", &req), ERR_INVAL);
	ck_assert_int_eq(kfw_epoch_encode(&w, 1, "c", 1, ebad, 1), ERR_INVAL);
	ck_assert_uint_eq(w.len, 0);
	/* a full output buffer is reported, not overrun */
	wbuf_free(&w);
	wbuf_init(&w, 20);
	const struct kfw_fetch_part ok[] = { { "t", 0, 0, 0, -1, 1 } };
	req.parts = ok;
	ck_assert_int_eq(kfw_fetch_encode(&w, 1, "c", &req), ERR_TOOBIG);
	wbuf_free(&w);
}
END_TEST

/* Topics that are not grouped become one topic entry per run, never a partition under the
 * wrong name. */
START_TEST(test_fetch_request_runs)
{
	const struct kfw_fetch_part parts[] = {
		{ "a", 0, 1, 0, -1, 1 },
		{ "b", 0, 1, 0, -1, 1 },
		{ "a", 1, 1, 0, -1, 1 },
	};
	struct kfw_fetch_req req = { .replica_id = 1, .parts = parts, .n_parts = 3 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kfw_fetch_encode(&w, 7, "c", &req), 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	int32_t len, x, nt, np;
	int16_t s;
	const uint8_t *t;
	int32_t tl;
	rbuf_i32(&r, &len);
	ck_assert_int_eq(len, (int32_t)w.len - 4);
	rbuf_skip(&r, 2 + 2 + 4 + 3 + 4 * 4 + 1 + 4 + 4); /* header with client "c", fixed fields */
	rbuf_i32(&r, &nt);
	ck_assert_int_eq(nt, 3);
	const char *names[] = { "a", "b", "a" };
	for (int i = 0; i < 3; i++) {
		rbuf_bytes_i16(&r, 100, &t, &tl);
		ck_assert(topic_is(t, (size_t)tl, names[i]));
		rbuf_i32(&r, &np);
		ck_assert_int_eq(np, 1);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, i == 2 ? 1 : 0);
		rbuf_skip(&r, 4 + 8 + 8 + 4);
	}
	rbuf_i32(&r, &x); /* forgotten topics */
	ck_assert_int_eq(x, 0);
	rbuf_i16(&r, &s); /* rack "" */
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_fetch_response_decode)
{
	struct kfw_fetch_resp fr;
	char eb[256];
	const uint8_t *end = fetch_resp_v11 + sizeof(fetch_resp_v11);
	ck_assert_int_eq(kfw_fetch_decode(fetch_resp_v11, sizeof(fetch_resp_v11), &fr, eb, sizeof(eb)), 0);
	ck_assert_int_eq(fr.corr, 41);
	ck_assert_int_eq(fr.error, 0);
	ck_assert_int_eq(fr.session_id, 0);
	ck_assert_uint_eq(fr.n_parts, 3);
	ck_assert_uint_eq(fr.n_batches, 3);

	const struct kfw_fetch_presp *p = &fr.parts[0];
	ck_assert(topic_is(p->topic, p->topic_len, "cities"));
	ck_assert_int_eq(p->partition, 0);
	ck_assert_int_eq(p->error, 0);
	ck_assert_int_eq(p->high_watermark, 21);
	ck_assert_int_eq(p->log_start, 2);
	ck_assert_int_eq(p->preferred_read_replica, -1);
	ck_assert_uint_eq(p->records_len, 78 + 71);
	ck_assert_uint_eq(p->dropped, 0);
	ck_assert_int_eq(p->bad, 0);
	ck_assert(p->records > fetch_resp_v11 && p->records + p->records_len <= end);
	ck_assert_uint_eq(p->first_batch, 0);
	ck_assert_uint_eq(p->n_batches, 2);
	ck_assert_int_eq(fr.batches[0].base_offset, 17);
	ck_assert_int_eq(fr.batches[0].last_offset, 18);
	ck_assert_int_eq(fr.batches[0].epoch, 3);
	ck_assert_int_eq(fr.batches[1].base_offset, 19);
	ck_assert_int_eq(fr.batches[1].last_offset, 19);
	ck_assert_int_eq(fr.batches[1].epoch, 4);

	p = &fr.parts[1];
	ck_assert(topic_is(p->topic, p->topic_len, "cities"));
	ck_assert_int_eq(p->partition, 3);
	ck_assert_int_eq(p->error, 6);
	ck_assert_int_eq(p->high_watermark, -1);
	ck_assert_uint_eq(p->records_len, 0);
	ck_assert_uint_eq(p->first_batch, 2);
	ck_assert_uint_eq(p->n_batches, 0);

	p = &fr.parts[2];
	ck_assert(topic_is(p->topic, p->topic_len, "t2"));
	ck_assert_int_eq(p->partition, 1);
	ck_assert_int_eq(p->high_watermark, 9);
	ck_assert_int_eq(p->log_start, 0);
	/* the cut tail is not handed on, and is not an error */
	ck_assert_uint_eq(p->records_len, 116);
	ck_assert_uint_eq(p->dropped, 25);
	ck_assert_int_eq(p->bad, 0);
	ck_assert(p->records + p->records_len + p->dropped == end);
	ck_assert_uint_eq(p->first_batch, 2);
	ck_assert_uint_eq(p->n_batches, 1);
	ck_assert_int_eq(fr.batches[2].base_offset, 5);
	ck_assert_int_eq(fr.batches[2].last_offset, 6);
	ck_assert_int_eq(fr.batches[2].epoch, 4);
	kfw_fetch_resp_free(&fr);
	ck_assert_ptr_null(fr.parts);
	kfw_fetch_resp_free(NULL);
}
END_TEST

START_TEST(test_fetch_response_bad_crc)
{
	uint8_t m[sizeof(fetch_resp_v11)];
	struct kfw_fetch_resp fr;
	char eb[256];
	memcpy(m, fetch_resp_v11, sizeof(m));
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), 0);
	size_t b2 = (size_t)(fr.parts[0].records - m) + 78;
	kfw_fetch_resp_free(&fr);
	m[b2 + 70] ^= 0x40; /* the last value byte of b2 */
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.parts[0].n_batches, 1);
	ck_assert_uint_eq(fr.parts[0].records_len, 78);
	ck_assert_uint_eq(fr.parts[0].dropped, 71);
	ck_assert_int_eq(fr.parts[0].bad, ERR_CORRUPT);
	ck_assert_uint_eq(fr.parts[2].first_batch, 1); /* the next partition is unaffected */
	ck_assert_uint_eq(fr.parts[2].n_batches, 1);
	ck_assert_int_eq(fr.batches[1].base_offset, 5);
	kfw_fetch_resp_free(&fr);
	/* a batch that is not magic 2 */
	memcpy(m, fetch_resp_v11, sizeof(m));
	m[b2 - 78 + KBATCH_OFF_MAGIC] = 1;
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.parts[0].n_batches, 0);
	ck_assert_uint_eq(fr.parts[0].records_len, 0);
	ck_assert_uint_eq(fr.parts[0].dropped, 149);
	ck_assert_int_eq(fr.parts[0].bad, ERR_VERSION);
	kfw_fetch_resp_free(&fr);
	/* a batchLength below the header's size is a framing error, not a partial tail */
	memcpy(m, fetch_resp_v11, sizeof(m));
	be32_put(m + b2 + KBATCH_OFF_LENGTH, 10);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.parts[0].n_batches, 1);
	ck_assert_int_eq(fr.parts[0].bad, ERR_CORRUPT);
	kfw_fetch_resp_free(&fr);
}
END_TEST

/* Every proper prefix of a frame fails cleanly; one byte more is refused too. */
START_TEST(test_truncations)
{
	char eb[256];
	for (size_t n = 0; n < sizeof(fetch_resp_v11); n++) {
		struct kfw_fetch_resp fr;
		uint8_t *c = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
		memcpy(c, fetch_resp_v11, n);
		int rc = kfw_fetch_decode(c, n, &fr, eb, sizeof(eb));
		ck_assert_msg(rc < 0, "prefix %zu decoded", n);
		ck_assert_ptr_null(fr.parts);
		ck_assert_ptr_null(fr.batches);
		free(c);
	}
	for (size_t n = 0; n < sizeof(epoch_resp_v3); n++) {
		struct kfw_epoch_resp er;
		uint8_t *c = malloc(n ? n : 1);
		memcpy(c, epoch_resp_v3, n);
		ck_assert_msg(kfw_epoch_decode(c, n, &er, eb, sizeof(eb)) < 0, "prefix %zu decoded", n);
		ck_assert_ptr_null(er.parts);
		free(c);
	}
	uint8_t more[sizeof(fetch_resp_v11) + 1];
	memcpy(more, fetch_resp_v11, sizeof(fetch_resp_v11));
	more[sizeof(fetch_resp_v11)] = 0;
	struct kfw_fetch_resp fr;
	ck_assert_int_eq(kfw_fetch_decode(more, sizeof(more), &fr, eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "after the last field"));
	uint8_t emore[sizeof(epoch_resp_v3) + 1];
	memcpy(emore, epoch_resp_v3, sizeof(epoch_resp_v3));
	emore[sizeof(epoch_resp_v3)] = 0;
	struct kfw_epoch_resp er;
	ck_assert_int_eq(kfw_epoch_decode(emore, sizeof(emore), &er, eb, sizeof(eb)), ERR_PROTO);
}
END_TEST

/* Counts that lie are refused before anything is allocated for them. */
START_TEST(test_lying_counts)
{
	char eb[256];
	struct kfw_fetch_resp fr;
	struct kfw_epoch_resp er;
	uint8_t m[sizeof(fetch_resp_v11)];
	/* topics: corr 4, throttle 4, error 2, session 4 -> count at 14 */
	memcpy(m, fetch_resp_v11, sizeof(m));
	be32_put(m + 14, 0x7fffffff);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_TOOBIG);
	be32_put(m + 14, 50000); /* under the cap, over the bytes */
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_TRUNC);
	be32_put(m + 14, 0xfffffffe);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_CORRUPT);
	be32_put(m + 14, 0xffffffff); /* a null array is not a response */
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_PROTO);
	/* partitions of the first topic: after its name "cities" (2 + 6) */
	memcpy(m, fetch_resp_v11, sizeof(m));
	be32_put(m + 18 + 8, 1000);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert_ptr_nonnull(strstr(eb, "truncated at byte"));
	/* the records length of the first partition: past the frame */
	memcpy(m, fetch_resp_v11, sizeof(m));
	size_t rec = 18 + 8 + 4 + 4 + 2 + 8 + 8 + 8 + 4 + 4;
	ck_assert_int_eq((int32_t)be32_get(m + rec), 149);
	be32_put(m + rec, 150000); /* over the frame: refused before it is looked at */
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_TOOBIG);
	be32_put(m + rec, 0x80000000);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_CORRUPT);
	/* null records (the 149 bytes taken out): no batches, fine */
	be32_put(m + rec, 0xffffffff);
	memmove(m + rec + 4, m + rec + 4 + 149, sizeof(m) - rec - 4 - 149);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m) - 149, &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.n_parts, 3);
	ck_assert_uint_eq(fr.parts[0].records_len, 0);
	ck_assert_ptr_null(fr.parts[0].records);
	ck_assert_uint_eq(fr.parts[0].n_batches, 0);
	ck_assert_uint_eq(fr.parts[2].n_batches, 1);
	kfw_fetch_resp_free(&fr);
	/* an aborted-transactions count over the bytes */
	memcpy(m, fetch_resp_v11, sizeof(m));
	be32_put(m + rec - 8, 100000);
	ck_assert_int_eq(kfw_fetch_decode(m, sizeof(m), &fr, eb, sizeof(eb)), ERR_TRUNC);
	/* OffsetForLeaderEpoch: topics at 8, partitions after "cities" */
	uint8_t e[sizeof(epoch_resp_v3)];
	memcpy(e, epoch_resp_v3, sizeof(e));
	be32_put(e + 8, 0x7fffffff);
	ck_assert_int_eq(kfw_epoch_decode(e, sizeof(e), &er, eb, sizeof(eb)), ERR_TOOBIG);
	memcpy(e, epoch_resp_v3, sizeof(e));
	be32_put(e + 12 + 8, 3);
	ck_assert_int_eq(kfw_epoch_decode(e, sizeof(e), &er, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert_ptr_null(er.parts);
}
END_TEST

START_TEST(test_epoch_response_decode)
{
	struct kfw_epoch_resp er;
	char eb[256];
	ck_assert_int_eq(kfw_epoch_decode(epoch_resp_v3, sizeof(epoch_resp_v3), &er, eb, sizeof(eb)), 0);
	ck_assert_int_eq(er.corr, 42);
	ck_assert_int_eq(er.throttle_ms, 0);
	ck_assert_uint_eq(er.n_parts, 2);
	ck_assert(topic_is(er.parts[0].topic, er.parts[0].topic_len, "cities"));
	ck_assert_int_eq(er.parts[0].error, 0);
	ck_assert_int_eq(er.parts[0].partition, 0);
	ck_assert_int_eq(er.parts[0].leader_epoch, 3);
	ck_assert_int_eq(er.parts[0].end_offset, 19);
	ck_assert(topic_is(er.parts[1].topic, er.parts[1].topic_len, "cities"));
	ck_assert_int_eq(er.parts[1].error, 74);
	ck_assert_int_eq(er.parts[1].partition, 3);
	ck_assert_int_eq(er.parts[1].leader_epoch, -1);
	ck_assert_int_eq(er.parts[1].end_offset, -1);
	kfw_epoch_resp_free(&er);
	ck_assert_ptr_null(er.parts);
	kfw_epoch_resp_free(NULL);
}
END_TEST

/* A records field with only the start of a batch (bigger than the partition's limit): nothing
 * handed on, nothing bad. Built with kbatch_build and a hand-made response frame. */
START_TEST(test_only_partial)
{
	struct wbuf bw, w;
	struct kbatch_rec rec = { NULL, -1, "value", 5, 0, NULL, 0 };
	wbuf_init(&bw, 1 << 20);
	size_t bl = kbatch_build(&bw, 100, 1700000000000LL, &rec, 1);
	ck_assert_uint_gt(bl, 61);
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 9);  /* corr */
	wbuf_i32(&w, 0);  /* throttle */
	wbuf_i16(&w, 0);  /* error */
	wbuf_i32(&w, 0);  /* session */
	wbuf_i32(&w, 1);  /* topics */
	wbuf_str_i16(&w, "t");
	wbuf_i32(&w, 1);  /* partitions */
	wbuf_i32(&w, 0);  /* partition */
	wbuf_i16(&w, 0);
	wbuf_i64(&w, 101);
	wbuf_i64(&w, 101);
	wbuf_i64(&w, 0);
	wbuf_i32(&w, -1); /* aborted: null */
	wbuf_i32(&w, -1); /* preferred replica */
	wbuf_bytes_i32(&w, bw.p, (int32_t)(bl - 1));
	struct kfw_fetch_resp fr;
	char eb[256];
	ck_assert_int_eq(kfw_fetch_decode(w.p, w.len, &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.n_parts, 1);
	ck_assert_uint_eq(fr.parts[0].n_batches, 0);
	ck_assert_uint_eq(fr.parts[0].records_len, 0);
	ck_assert_uint_eq(fr.parts[0].dropped, bl - 1);
	ck_assert_int_eq(fr.parts[0].bad, 0);
	kfw_fetch_resp_free(&fr);
	/* the whole batch: handed on */
	w.len -= bl - 1 + 4;
	wbuf_bytes_i32(&w, bw.p, (int32_t)bl);
	ck_assert_int_eq(kfw_fetch_decode(w.p, w.len, &fr, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(fr.parts[0].n_batches, 1);
	ck_assert_uint_eq(fr.parts[0].records_len, bl);
	ck_assert_int_eq(fr.batches[0].base_offset, 100);
	ck_assert_int_eq(fr.batches[0].last_offset, 100);
	ck_assert_int_eq(fr.batches[0].epoch, -1);
	kfw_fetch_resp_free(&fr);
	wbuf_free(&w);
	wbuf_free(&bw);
}
END_TEST

static Suite *kfw_suite(void)
{
	Suite *s = suite_create("kfw");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_fetch_request_bytes);
	tcase_add_test(tc, test_epoch_request_bytes);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_fetch_request_runs);
	tcase_add_test(tc, test_fetch_response_decode);
	tcase_add_test(tc, test_fetch_response_bad_crc);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_lying_counts);
	tcase_add_test(tc, test_epoch_response_decode);
	tcase_add_test(tc, test_only_partial);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kfw_suite());
}

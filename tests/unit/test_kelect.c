/*
 * Unit tests for kelect, the leader-election tool's Metadata v1 and ElectLeaders v1 codec:
 * the requests encode byte for byte as the schemas (apache/kafka's Metadata/ElectLeaders
 * Request.json) lay them out, written here field by field; responses decode to the right
 * brokers, controller and per-partition results (null messages included); every truncation of
 * a frame, every lying count, trailing bytes and bad frame lengths are refused.
 */
#include "buf.h"
#include "err.h"
#include "kelect.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A small writer of expected bytes, independent of wbuf. */
struct exp {
	uint8_t b[512];
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
	e_i8(e, (int)(u >> 24));
	e_i8(e, (int)((u >> 16) & 0xff));
	e_i8(e, (int)((u >> 8) & 0xff));
	e_i8(e, (int)(u & 0xff));
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

START_TEST(test_metadata_request_bytes)
{
	struct exp x = { .n = 0 };
	e_i32(&x, 0);
	e_i16(&x, 3);
	e_i16(&x, 1);
	e_i32(&x, 3);
	e_str(&x, "adminclient-1");
	e_i32(&x, 0); /* no topics */
	x.b[3] = (uint8_t)(x.n - 4);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kelect_metadata_encode(&w, 3, "adminclient-1"), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert_mem_eq(w.p, x.b, x.n);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_elect_request_bytes)
{
	const struct kelect_tp tps[] = { { "r3", 0 }, { "r3", 2 }, { "other", 1 } };
	struct exp x = { .n = 0 };
	e_i32(&x, 0);
	e_i16(&x, 43);
	e_i16(&x, 1);
	e_i32(&x, 9);
	e_str(&x, "c");
	e_i8(&x, 0); /* preferred */
	e_i32(&x, 2);
	e_str(&x, "r3");
	e_i32(&x, 2);
	e_i32(&x, 0);
	e_i32(&x, 2);
	e_str(&x, "other");
	e_i32(&x, 1);
	e_i32(&x, 1);
	e_i32(&x, 30000);
	x.b[3] = (uint8_t)(x.n - 4);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kelect_encode(&w, 9, "c", KELECT_PREFERRED, false, tps, 3, 30000), 0);
	ck_assert_uint_eq(w.len, x.n);
	ck_assert_mem_eq(w.p, x.b, x.n);

	/* every partition: a null list, unclean */
	struct exp y = { .n = 0 };
	e_i32(&y, 0);
	e_i16(&y, 43);
	e_i16(&y, 1);
	e_i32(&y, 10);
	e_str(&y, "c");
	e_i8(&y, 1);
	e_i32(&y, -1);
	e_i32(&y, 500);
	y.b[3] = (uint8_t)(y.n - 4);
	wbuf_reset(&w);
	ck_assert_int_eq(kelect_encode(&w, 10, "c", KELECT_UNCLEAN, true, NULL, 0, 500), 0);
	ck_assert_uint_eq(w.len, y.n);
	ck_assert_mem_eq(w.p, y.b, y.n);

	/* refused: a bad type, a NULL topic */
	const struct kelect_tp bad[] = { { NULL, 0 } };
	ck_assert_int_eq(kelect_encode(&w, 1, "c", 2, true, NULL, 0, 1), ERR_INVAL);
	ck_assert_int_eq(kelect_encode(&w, 1, "c", 0, false, bad, 1, 1), ERR_INVAL);
	wbuf_free(&w);
}
END_TEST

/* ElectLeaders v1 response: r3/0 ok, r3/1 ELECTION_NOT_NEEDED with a message, nope/0
 * UNKNOWN_TOPIC_OR_PARTITION with a null message. */
static void elect_resp(struct exp *x)
{
	x->n = 0;
	e_i32(x, 77);
	e_i32(x, 5);
	e_i16(x, 0);
	e_i32(x, 2);
	e_str(x, "r3");
	e_i32(x, 2);
	e_i32(x, 0);
	e_i16(x, 0);
	e_str(x, NULL);
	e_i32(x, 1);
	e_i16(x, 84);
	e_str(x, "not needed");
	e_str(x, "nope");
	e_i32(x, 1);
	e_i32(x, 0);
	e_i16(x, 3);
	e_str(x, NULL);
}

static void metadata_resp(struct exp *x)
{
	x->n = 0;
	e_i32(x, 3);
	e_i32(x, 2); /* brokers */
	e_i32(x, 0);
	e_str(x, "127.0.0.1");
	e_i32(x, 9092);
	e_str(x, NULL);
	e_i32(x, 2);
	e_str(x, "localhost");
	e_i32(x, 9094);
	e_str(x, "rack-a");
	e_i32(x, 2); /* controller */
	e_i32(x, 1); /* topics */
	e_i16(x, 0);
	e_str(x, "r3");
	e_i8(x, 0);
	e_i32(x, 1);
	e_i16(x, 0);
	e_i32(x, 0);
	e_i32(x, 2);
	e_i32(x, 2);
	e_i32(x, 2);
	e_i32(x, 0);
	e_i32(x, -1); /* null ISR */
}

START_TEST(test_elect_response_decode)
{
	struct exp x;
	elect_resp(&x);
	struct kelect_resp r;
	char eb[256];
	ck_assert_int_eq(kelect_decode(x.b, x.n, &r, eb, sizeof(eb)), 0);
	ck_assert_int_eq(r.corr, 77);
	ck_assert_int_eq(r.throttle_ms, 5);
	ck_assert_int_eq(r.error, 0);
	ck_assert_uint_eq(r.n_parts, 3);
	ck_assert_uint_eq(r.parts[0].topic_len, 2);
	ck_assert_mem_eq(r.parts[0].topic, "r3", 2);
	ck_assert_int_eq(r.parts[0].partition, 0);
	ck_assert_int_eq(r.parts[0].error, 0);
	ck_assert_ptr_null(r.parts[0].message);
	ck_assert_int_eq(r.parts[1].partition, 1);
	ck_assert_int_eq(r.parts[1].error, 84);
	ck_assert_uint_eq(r.parts[1].message_len, 10);
	ck_assert_mem_eq(r.parts[1].message, "not needed", 10);
	ck_assert_mem_eq(r.parts[2].topic, "nope", 4);
	ck_assert_int_eq(r.parts[2].error, 3);
	ck_assert_ptr_null(r.parts[2].message);
	kelect_resp_free(&r);
	ck_assert_ptr_null(r.parts);
}
END_TEST

START_TEST(test_metadata_response_decode)
{
	struct exp x;
	metadata_resp(&x);
	struct kelect_metadata m;
	char eb[256];
	ck_assert_int_eq(kelect_metadata_decode(x.b, x.n, &m, eb, sizeof(eb)), 0);
	ck_assert_int_eq(m.corr, 3);
	ck_assert_int_eq(m.controller_id, 2);
	ck_assert_uint_eq(m.n_brokers, 2);
	ck_assert_int_eq(m.brokers[1].id, 2);
	ck_assert_uint_eq(m.brokers[1].host_len, 9);
	ck_assert_mem_eq(m.brokers[1].host, "localhost", 9);
	ck_assert_int_eq(m.brokers[1].port, 9094);
	ck_assert_uint_eq(m.n_topics, 1);
	kelect_metadata_free(&m);
}
END_TEST

/* Every proper prefix of a frame, and the frame with a byte more, is refused, leaving nothing. */
START_TEST(test_truncations)
{
	struct exp x;
	char eb[256];
	elect_resp(&x);
	for (size_t n = 0; n <= x.n + 1; n++) {
		struct kelect_resp r;
		int rc = kelect_decode(x.b, n, &r, eb, sizeof(eb));
		ck_assert_int_eq(rc == 0, n == x.n);
		if (rc)
			ck_assert(r.parts == NULL && r.n_parts == 0);
		kelect_resp_free(&r);
	}
	metadata_resp(&x);
	for (size_t n = 0; n <= x.n + 1; n++) {
		struct kelect_metadata m;
		int rc = kelect_metadata_decode(x.b, n, &m, eb, sizeof(eb));
		ck_assert_int_eq(rc == 0, n == x.n);
		if (rc)
			ck_assert(m.brokers == NULL && m.n_brokers == 0);
		kelect_metadata_free(&m);
	}
}
END_TEST

START_TEST(test_lying_counts)
{
	struct exp x;
	char eb[256];
	struct kelect_resp r;
	elect_resp(&x);
	/* the topic count: huge, negative, null (-1 is no array here) */
	const int32_t topics[] = { 0x7fffffff, -2, -1, 3 };
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		struct exp y = x;
		y.n = 10;
		e_i32(&y, topics[i]);
		y.n = x.n;
		ck_assert_int_ne(kelect_decode(y.b, y.n, &r, eb, sizeof(eb)), 0);
		ck_assert_ptr_null(r.parts);
	}
	/* r3's partition count over what is left */
	struct exp y = x;
	y.n = 18;
	e_i32(&y, 1000000);
	y.n = x.n;
	ck_assert_int_eq(kelect_decode(y.b, y.n, &r, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert_ptr_null(r.parts);
	/* a message longer than the frame */
	y = x;
	y.n = 28; /* r3-0's message length */
	e_i16(&y, 0x7fff);
	y.n = x.n;
	ck_assert_int_ne(kelect_decode(y.b, y.n, &r, eb, sizeof(eb)), 0);
	/* the broker count of a Metadata response */
	struct kelect_metadata m;
	metadata_resp(&x);
	y = x;
	y.n = 4;
	e_i32(&y, 50000);
	y.n = x.n;
	ck_assert_int_eq(kelect_metadata_decode(y.b, y.n, &m, eb, sizeof(eb)), ERR_TRUNC);
	ck_assert_ptr_null(m.brokers);
}
END_TEST

START_TEST(test_frame_len)
{
	size_t n;
	char eb[128];
	const uint8_t ok[4] = { 0, 0, 1, 0 }, small[4] = { 0, 0, 0, 3 }, neg[4] = { 0xff, 0xff, 0xff, 0xff },
		      big[4] = { 0x10, 0, 0, 0 };
	ck_assert_int_eq(kelect_frame_len(ok, &n, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(n, 256);
	ck_assert_int_eq(kelect_frame_len(small, &n, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kelect_frame_len(neg, &n, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kelect_frame_len(big, &n, eb, sizeof(eb)), ERR_TOOBIG);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *kelect_suite(void)
{
	Suite *s = suite_create("kelect");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_metadata_request_bytes);
	tcase_add_test(tc, test_elect_request_bytes);
	tcase_add_test(tc, test_elect_response_decode);
	tcase_add_test(tc, test_metadata_response_decode);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_lying_counts);
	tcase_add_test(tc, test_frame_len);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kelect_suite());
}

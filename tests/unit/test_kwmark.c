/*
 * Unit tests for broker/wire/kwmark, WriteTxnMarkers (API 27) v0-1: requests and responses
 * byte for byte as written from Kafka's message schemas (the non-flexible v0, the flexible v1
 * with compact strings and arrays and tagged fields), round trips of both in both versions,
 * every truncation refused, lying counts (huge, more than the bytes left, null) refused before
 * any allocation, and bad topic names kept cut and flagged.
 */
#include "buf.h"
#include "err.h"
#include "kwmark.h"

#include "check_main.h"

#include <check.h>
#include <string.h>

static int req_decode(const uint8_t *p, size_t n, int16_t ver, struct kwmark_req *q)
{
	struct rbuf r = rbuf_make(p, n);
	return kwmark_req_decode(&r, ver, q);
}

static int resp_decode(const uint8_t *p, size_t n, int16_t ver, struct kwmark_resp *m)
{
	struct rbuf r = rbuf_make(p, n);
	return kwmark_resp_decode(&r, ver, m);
}

/* v0: one marker (producer 5, epoch 2, commit), topic "t" partitions 0 and 3, coordinator
 * epoch 7 */
static const uint8_t req_v0[] = { 0, 0, 0, 1,		       /* markers */
				  0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, /* id, epoch, commit */
				  0, 0, 0, 1,			       /* topics */
				  0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 7 };
/* the same in v1, with an unknown tagged field on the marker */
static const uint8_t req_v1[] = { 2,	/* markers + 1 */
				  0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 2, /* topics + 1 */
				  2, 't', 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, /* topic tags */
				  0, 0, 0, 7, 1, 9, 1, 0xaa, /* marker tags: tag 9, 1 byte */
				  0 };

START_TEST(test_request_bytes)
{
	for (int16_t ver = 0; ver <= 1; ver++) {
		struct kwmark_req q;
		const uint8_t *b = ver ? req_v1 : req_v0;
		size_t n = ver ? sizeof(req_v1) : sizeof(req_v0);
		ck_assert_int_eq(req_decode(b, n, ver, &q), 0);
		ck_assert_int_eq(q.n, 1);
		struct kwmark_marker *m = &q.markers[0];
		ck_assert_int_eq(m->producer_id, 5);
		ck_assert_int_eq(m->producer_epoch, 2);
		ck_assert(m->commit);
		ck_assert_int_eq(m->coordinator_epoch, 7);
		ck_assert_int_eq(m->n, 1);
		ck_assert_str_eq(m->topics[0].name, "t");
		ck_assert(!m->topics[0].bad);
		ck_assert_int_eq(m->topics[0].n, 2);
		ck_assert_int_eq(m->topics[0].parts[0], 0);
		ck_assert_int_eq(m->topics[0].parts[1], 3);
		/* re-encoded: the exact bytes (v1 without the unknown tag) */
		struct wbuf w;
		wbuf_init(&w, 1024);
		ck_assert_int_eq(kwmark_req_encode(&w, ver, &q), 0);
		if (ver == 0) {
			ck_assert_uint_eq(w.len, sizeof(req_v0));
			ck_assert_mem_eq(w.p, req_v0, sizeof(req_v0));
		} else {
			ck_assert_uint_eq(w.len, sizeof(req_v1) - 3);
			ck_assert_mem_eq(w.p, req_v1, 29);
		}
		wbuf_free(&w);
		kwmark_req_free(&q);
		ck_assert_int_eq(q.n, 0);
		ck_assert_ptr_null(q.markers);
	}
}
END_TEST

static void req_fill(struct kwmark_req *q, struct kwmark_marker *m, struct kwmark_topic *t, int32_t *parts)
{
	memset(q, 0, sizeof(*q));
	memset(m, 0, 2 * sizeof(*m));
	memset(t, 0, 3 * sizeof(*t));
	parts[0] = 0, parts[1] = 1, parts[2] = 2147483647;
	strcpy(t[0].name, "orders");
	t[0].n = 3, t[0].parts = parts;
	strcpy(t[1].name, "payments");
	t[1].n = 1, t[1].parts = parts + 1;
	strcpy(t[2].name, "empty");
	m[0] = (struct kwmark_marker){ .producer_id = 1000, .producer_epoch = 0, .commit = true, .n = 2,
				       .topics = t, .coordinator_epoch = 3 };
	m[1] = (struct kwmark_marker){ .producer_id = -1, .producer_epoch = 32767, .commit = false, .n = 1,
				       .topics = t + 2, .coordinator_epoch = -1 };
	q->n = 2;
	q->markers = m;
}

START_TEST(test_request_round_trip)
{
	struct kwmark_req in;
	struct kwmark_marker m[2];
	struct kwmark_topic t[3];
	int32_t parts[3];
	req_fill(&in, m, t, parts);
	for (int16_t ver = 0; ver <= KWMARK_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 4096);
		ck_assert_int_eq(kwmark_req_encode(&w, ver, &in), 0);
		struct kwmark_req out;
		ck_assert_int_eq(req_decode(w.p, w.len, ver, &out), 0);
		ck_assert_int_eq(out.n, 2);
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(out.markers[i].producer_id, m[i].producer_id);
			ck_assert_int_eq(out.markers[i].producer_epoch, m[i].producer_epoch);
			ck_assert_int_eq(out.markers[i].commit, m[i].commit);
			ck_assert_int_eq(out.markers[i].coordinator_epoch, m[i].coordinator_epoch);
			ck_assert_int_eq(out.markers[i].n, m[i].n);
			for (int j = 0; j < m[i].n; j++) {
				ck_assert_str_eq(out.markers[i].topics[j].name, m[i].topics[j].name);
				ck_assert_int_eq(out.markers[i].topics[j].n, m[i].topics[j].n);
				for (int k = 0; k < m[i].topics[j].n; k++)
					ck_assert_int_eq(out.markers[i].topics[j].parts[k], m[i].topics[j].parts[k]);
			}
		}
		ck_assert_int_eq(out.markers[1].topics[0].n, 0);
		ck_assert_ptr_null(out.markers[1].topics[0].parts);
		kwmark_req_free(&out);
		/* every truncation is refused, and frees cleanly */
		for (size_t n = 0; n < w.len; n++) {
			ck_assert_int_eq(req_decode(w.p, n, ver, &out), ERR_PROTO);
			kwmark_req_free(&out);
		}
		/* the other version's reading of these bytes does not crash */
		(void)req_decode(w.p, w.len, (int16_t)!ver, &out);
		kwmark_req_free(&out);
		wbuf_free(&w);
	}
	struct wbuf w;
	wbuf_init(&w, 64);
	ck_assert_int_eq(kwmark_req_encode(&w, 2, &in), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_request_refused)
{
	struct kwmark_req q;
	/* a huge marker count: refused before any allocation */
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff };
	ck_assert_int_eq(req_decode(huge, sizeof(huge), 0, &q), ERR_PROTO);
	kwmark_req_free(&q);
	static const uint8_t hugec[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	ck_assert_int_eq(req_decode(hugec, sizeof(hugec), 1, &q), ERR_PROTO);
	kwmark_req_free(&q);
	/* more markers than the bytes could hold */
	static const uint8_t lie[] = { 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 7 };
	ck_assert_int_eq(req_decode(lie, sizeof(lie), 0, &q), ERR_PROTO);
	kwmark_req_free(&q);
	/* a null marker array (v0 -1, v1 0) */
	static const uint8_t null0[] = { 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(req_decode(null0, sizeof(null0), 0, &q), ERR_PROTO);
	static const uint8_t null1[] = { 0, 0 };
	ck_assert_int_eq(req_decode(null1, sizeof(null1), 1, &q), ERR_PROTO);
	/* a huge partition count inside a valid marker */
	static const uint8_t parts[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 0, 0, 0, 1,
					 0, 1, 't', 0x7f, 0, 0, 0, 0, 0, 0, 0 };
	ck_assert_int_eq(req_decode(parts, sizeof(parts), 0, &q), ERR_PROTO);
	kwmark_req_free(&q);
	/* a null topic name */
	static const uint8_t nname[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 0, 0, 0, 1,
					 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 7 };
	ck_assert_int_eq(req_decode(nname, sizeof(nname), 0, &q), ERR_PROTO);
	kwmark_req_free(&q);
	/* a tag count over the bytes left */
	static const uint8_t tags[] = { 1, 0x7f };
	ck_assert_int_eq(req_decode(tags, sizeof(tags), 1, &q), ERR_PROTO);
	/* unknown versions */
	ck_assert_int_eq(req_decode(req_v0, sizeof(req_v0), 2, &q), ERR_PROTO);
	ck_assert_int_eq(req_decode(req_v0, sizeof(req_v0), -1, &q), ERR_PROTO);
	/* an empty marker array is fine */
	static const uint8_t none[] = { 0, 0, 0, 0 };
	ck_assert_int_eq(req_decode(none, sizeof(none), 0, &q), 0);
	ck_assert_int_eq(q.n, 0);
	kwmark_req_free(&q);
}
END_TEST

START_TEST(test_request_bad_names)
{
	/* a name with a NUL, and a 300-character one: decoded, cut, flagged */
	struct wbuf w;
	wbuf_init(&w, 4096);
	wbuf_i32(&w, 1);
	wbuf_i64(&w, 9);
	wbuf_i16(&w, 0);
	wbuf_bool(&w, false);
	wbuf_i32(&w, 2);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 0);
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	wbuf_bytes_i16(&w, longname, sizeof(longname));
	wbuf_i32(&w, 1);
	wbuf_i32(&w, 4);
	wbuf_i32(&w, 11);
	ck_assert_int_eq(w.err, 0);
	struct kwmark_req q;
	ck_assert_int_eq(req_decode(w.p, w.len, 0, &q), 0);
	ck_assert(q.markers[0].topics[0].bad);
	ck_assert(q.markers[0].topics[1].bad);
	ck_assert_uint_eq(strlen(q.markers[0].topics[1].name), KWIRE_TOPIC_BUF - 1);
	ck_assert_int_eq(q.markers[0].topics[1].parts[0], 4);
	ck_assert_int_eq(q.markers[0].coordinator_epoch, 11);
	kwmark_req_free(&q);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_response_bytes)
{
	struct kwmark_presult pr[2] = { { .index = 0, .error = 0 }, { .index = 3, .error = 6 } };
	struct kwmark_tresult tr = { .n = 2, .parts = pr };
	strcpy(tr.name, "t");
	struct kwmark_mresult mr = { .producer_id = 5, .n = 1, .topics = &tr };
	struct kwmark_resp p = { .n = 1, .markers = &mr };
	static const uint8_t v0[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 1, 't',
				      0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 6 };
	static const uint8_t v1[] = { 2, 0, 0, 0, 0, 0, 0, 0, 5, 2, 2, 't', 3, 0, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 3, 0, 6, 0, 0, 0, 0 };
	for (int16_t ver = 0; ver <= 1; ver++) {
		const uint8_t *b = ver ? v1 : v0;
		size_t n = ver ? sizeof(v1) : sizeof(v0);
		struct wbuf w;
		wbuf_init(&w, 1024);
		ck_assert_int_eq(kwmark_resp_encode(&w, ver, &p), 0);
		ck_assert_uint_eq(w.len, n);
		ck_assert_mem_eq(w.p, b, n);
		struct kwmark_resp back;
		ck_assert_int_eq(resp_decode(w.p, w.len, ver, &back), 0);
		ck_assert_int_eq(back.n, 1);
		ck_assert_int_eq(back.markers[0].producer_id, 5);
		ck_assert_int_eq(back.markers[0].n, 1);
		ck_assert_str_eq(back.markers[0].topics[0].name, "t");
		ck_assert_int_eq(back.markers[0].topics[0].n, 2);
		ck_assert_int_eq(back.markers[0].topics[0].parts[1].index, 3);
		ck_assert_int_eq(back.markers[0].topics[0].parts[1].error, 6);
		kwmark_resp_free(&back);
		for (size_t k = 0; k < w.len; k++) {
			ck_assert_int_eq(resp_decode(w.p, k, ver, &back), ERR_PROTO);
			kwmark_resp_free(&back);
		}
		wbuf_free(&w);
	}
	struct kwmark_resp back;
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 0 };
	ck_assert_int_eq(resp_decode(huge, sizeof(huge), 0, &back), ERR_PROTO);
	kwmark_resp_free(&back);
	static const uint8_t hugep[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 1, 't', 0x10, 0, 0, 0 };
	ck_assert_int_eq(resp_decode(hugep, sizeof(hugep), 0, &back), ERR_PROTO);
	kwmark_resp_free(&back);
	ck_assert_int_eq(resp_decode(v0, sizeof(v0), 3, &back), ERR_PROTO);
	kwmark_resp_free(NULL);
	kwmark_req_free(NULL);
}
END_TEST

static Suite *kwmark_suite(void)
{
	Suite *s = suite_create("kwmark");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_request_bytes);
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_request_refused);
	tcase_add_test(tc, test_request_bad_names);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwmark_suite());
}

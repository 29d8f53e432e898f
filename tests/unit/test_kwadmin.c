/*
 * Unit tests of kwadmin (broker/wire): CreateTopics v0-4, DeleteTopics v0-3 and
 * CreatePartitions v0-1 requests round-trip through encode and decode (validate_only from
 * CreateTopics v1, null assignments and configs, null config values kept as NULL); long,
 * NUL-holding and null topic names; every truncation and lying counts (over the cap, over the
 * bytes left, a null where the schema has none) refused before anything is allocated; and the
 * exact response bytes per version (throttle_time_ms from CreateTopics v2 and DeleteTopics v1,
 * error_message from CreateTopics v1, null when absent).
 */
#include "buf.h"
#include "err.h"
#include "kwadmin.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int32_t ids_a[3] = { 1, 2, 3 }, ids_b[3] = { 2, 3, 1 };
static struct kwadmin_assign ct_assign[2] = { { 0, 3, ids_a }, { 1, 3, ids_b } };
static struct kwadmin_conf ct_confs[3] = { { "cleanup.policy", "compact" }, { "retention.ms", NULL },
					    { "segment.bytes", "1048576" } };

/* Two topics: one by count with configs (one value null), one by explicit assignment. */
static void ct_sample(struct kwadmin_ct_req *q, struct kwadmin_ct_topic *t)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	strcpy(t[0].name.name, "cities");
	t[0].nparts = 3;
	t[0].rf = 2;
	t[0].nassign = -1;
	t[0].nconf = 3;
	t[0].confs = ct_confs;
	strcpy(t[1].name.name, "t.x");
	t[1].nparts = -1;
	t[1].rf = -1;
	t[1].nassign = 2;
	t[1].assign = ct_assign;
	t[1].nconf = -1;
	q->n = 2;
	q->topics = t;
	q->timeout_ms = 30000;
	q->validate_only = true;
}

static struct kwadmin_assign cp_assign[2] = { { 0, 3, ids_a }, { 1, 3, ids_b } };

static void cp_sample(struct kwadmin_cp_req *q, struct kwadmin_cp_topic *t)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	strcpy(t[0].name.name, "cities");
	t[0].count = 6;
	t[0].nassign = -1;
	strcpy(t[1].name.name, "t.x");
	t[1].count = 4;
	t[1].nassign = 2;
	t[1].assign = cp_assign;
	q->n = 2;
	q->topics = t;
	q->timeout_ms = 15000;
	q->validate_only = true;
}

static struct kwadmin_name dt_names[3] = { { "cities", false }, { "t.x", false }, { "", false } };

static void dt_sample(struct kwadmin_dt_req *q)
{
	q->n = 3;
	q->topics = dt_names;
	q->timeout_ms = 5000;
}

START_TEST(test_create_topics_round_trip)
{
	for (int16_t ver = 0; ver <= KWADMIN_CT_MAX_VERSION; ver++) {
		struct kwadmin_ct_req q, d;
		struct kwadmin_ct_topic t[2];
		ct_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwadmin_ct_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwadmin_ct_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.n, 2);
		ck_assert_int_eq(d.timeout_ms, 30000);
		ck_assert(d.validate_only == (ver >= 1));
		const struct kwadmin_ct_topic *a = &d.topics[0], *c = &d.topics[1];
		ck_assert_str_eq(a->name.name, "cities");
		ck_assert(!a->name.bad);
		ck_assert_int_eq(a->nparts, 3);
		ck_assert_int_eq(a->rf, 2);
		ck_assert_int_eq(a->nassign, -1);
		ck_assert_ptr_null(a->assign);
		ck_assert_int_eq(a->nconf, 3);
		ck_assert_str_eq(a->confs[0].name, "cleanup.policy");
		ck_assert_str_eq(a->confs[0].value, "compact");
		ck_assert_str_eq(a->confs[1].name, "retention.ms");
		ck_assert_ptr_null(a->confs[1].value);
		ck_assert_str_eq(a->confs[2].value, "1048576");
		ck_assert_str_eq(c->name.name, "t.x");
		ck_assert_int_eq(c->nparts, -1);
		ck_assert_int_eq(c->rf, -1);
		ck_assert_int_eq(c->nassign, 2);
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(c->assign[k].index, k);
			ck_assert_int_eq(c->assign[k].n, 3);
			ck_assert_mem_eq(c->assign[k].ids, k ? ids_b : ids_a, sizeof(ids_a));
		}
		ck_assert_int_eq(c->nconf, -1);
		ck_assert_ptr_null(c->confs);
		kwadmin_ct_req_free(&d);
		ck_assert_ptr_null(d.topics);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_delete_topics_round_trip)
{
	for (int16_t ver = 0; ver <= KWADMIN_DT_MAX_VERSION; ver++) {
		struct kwadmin_dt_req q, d;
		dt_sample(&q);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwadmin_dt_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwadmin_dt_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.n, 3);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		ck_assert_str_eq(d.topics[2].name, "");
		ck_assert_int_eq(d.timeout_ms, 5000);
		kwadmin_dt_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_create_partitions_round_trip)
{
	for (int16_t ver = 0; ver <= KWADMIN_CP_MAX_VERSION; ver++) {
		struct kwadmin_cp_req q, d;
		struct kwadmin_cp_topic t[2];
		cp_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwadmin_cp_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwadmin_cp_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[0].name.name, "cities");
		ck_assert_int_eq(d.topics[0].count, 6);
		ck_assert_int_eq(d.topics[0].nassign, -1);
		ck_assert_str_eq(d.topics[1].name.name, "t.x");
		ck_assert_int_eq(d.topics[1].count, 4);
		ck_assert_int_eq(d.topics[1].nassign, 2);
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(d.topics[1].assign[k].index, k);
			ck_assert_int_eq(d.topics[1].assign[k].n, 3);
			ck_assert_mem_eq(d.topics[1].assign[k].ids, k ? ids_b : ids_a, sizeof(ids_a));
		}
		ck_assert_int_eq(d.timeout_ms, 15000);
		ck_assert(d.validate_only);
		kwadmin_cp_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

/* A long name is kept cut and flagged, a NUL inside flagged, a null name reads as "". */
START_TEST(test_bad_names)
{
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 3);
	wbuf_str_i16(&w, longname);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_str_i16(&w, NULL);
	wbuf_i32(&w, 100);
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwadmin_dt_req d;
	ck_assert_int_eq(kwadmin_dt_req_decode(&r, 3, &d), 0);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	ck_assert(!d.topics[2].bad);
	ck_assert_str_eq(d.topics[2].name, "");
	kwadmin_dt_req_free(&d);
	wbuf_free(&w);

	/* the same in CreateTopics and CreatePartitions, decoding going on after the bad name */
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 2);
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 1);
	wbuf_i16(&w, 1);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 0);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 1);
	wbuf_i16(&w, 1);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 0);
	wbuf_bool(&w, false);
	r = rbuf_make(w.p, w.len);
	struct kwadmin_ct_req c;
	ck_assert_int_eq(kwadmin_ct_req_decode(&r, 4, &c), 0);
	ck_assert(c.topics[0].name.bad && c.topics[1].name.bad);
	ck_assert_str_eq(c.topics[1].name.name, "a");
	kwadmin_ct_req_free(&c);
	wbuf_free(&w);

	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 1);
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 2);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 0);
	wbuf_bool(&w, false);
	r = rbuf_make(w.p, w.len);
	struct kwadmin_cp_req p;
	ck_assert_int_eq(kwadmin_cp_req_decode(&r, 1, &p), 0);
	ck_assert(p.topics[0].name.bad);
	ck_assert_int_eq(p.topics[0].count, 2);
	kwadmin_cp_req_free(&p);
	wbuf_free(&w);
}
END_TEST

/* Every cut of every version's body is refused, and freeing what was decoded so far is safe. */
START_TEST(test_truncations)
{
	for (int16_t ver = 0; ver <= KWADMIN_CT_MAX_VERSION; ver++) {
		struct kwadmin_ct_req q, d;
		struct kwadmin_ct_topic t[2];
		ct_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwadmin_ct_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwadmin_ct_req_decode(&r, ver, &d), ERR_PROTO);
			kwadmin_ct_req_free(&d);
		}
		wbuf_free(&w);
	}
	for (int16_t ver = 0; ver <= KWADMIN_DT_MAX_VERSION; ver++) {
		struct kwadmin_dt_req q, d;
		dt_sample(&q);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwadmin_dt_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwadmin_dt_req_decode(&r, ver, &d), ERR_PROTO);
			kwadmin_dt_req_free(&d);
		}
		wbuf_free(&w);
	}
	for (int16_t ver = 0; ver <= KWADMIN_CP_MAX_VERSION; ver++) {
		struct kwadmin_cp_req q, d;
		struct kwadmin_cp_topic t[2];
		cp_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwadmin_cp_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwadmin_cp_req_decode(&r, ver, &d), ERR_PROTO);
			kwadmin_cp_req_free(&d);
		}
		wbuf_free(&w);
	}
}
END_TEST

/* Counts over the cap, over the bytes left, negative, or null where the schema has no null are
 * refused, and the array they announce is never allocated. */
START_TEST(test_lying_counts)
{
	struct kwadmin_ct_req q, d;
	struct kwadmin_ct_topic t[2];
	ct_sample(&q, t);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	kwadmin_ct_req_encode(&w, 4, &q);
	int32_t lies[] = { KWIRE_MAX_ITEMS + 1, 100000, 5000, -1, -7 };
	for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
		struct rbuf r;
		/* the topics count */
		uint8_t *c = malloc(w.len);
		memcpy(c, w.p, w.len);
		be32_put(c, (uint32_t)lies[k]);
		r = rbuf_make(c, w.len);
		ck_assert_int_eq(kwadmin_ct_req_decode(&r, 4, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics);
		kwadmin_ct_req_free(&d);
		/* topic 0's configs count (after name 2+6, nparts 4, rf 2, assignments -1: 4); null
		 * (-1) is allowed there */
		memcpy(c, w.p, w.len);
		size_t at = 4 + 8 + 4 + 2 + 4;
		ck_assert_int_eq((int)be32_get(c + at), 3);
		if (lies[k] != -1) {
			be32_put(c + at, (uint32_t)lies[k]);
			r = rbuf_make(c, w.len);
			ck_assert_int_eq(kwadmin_ct_req_decode(&r, 4, &d), ERR_PROTO);
			ck_assert_ptr_null(d.topics[0].confs);
			kwadmin_ct_req_free(&d);
		}
		free(c);
	}
	wbuf_free(&w);

	/* a null broker_ids array inside an assignment, and a count over the bytes left */
	struct kwadmin_cp_req cq, cd;
	struct kwadmin_cp_topic ct[2];
	cp_sample(&cq, ct);
	wbuf_init(&w, 1 << 20);
	kwadmin_cp_req_encode(&w, 1, &cq);
	size_t at = 4 + 8 + 4 + 4 + 5 + 4 + 4; /* topic 1's first broker_ids count */
	ck_assert_int_eq((int)be32_get(w.p + at), 3);
	be32_put(w.p + at, (uint32_t)-1);
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwadmin_cp_req_decode(&r, 1, &cd), ERR_PROTO);
	kwadmin_cp_req_free(&cd);
	be32_put(w.p + at, 1000);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwadmin_cp_req_decode(&r, 1, &cd), ERR_PROTO);
	ck_assert_ptr_null(cd.topics[1].assign[0].ids);
	kwadmin_cp_req_free(&cd);
	wbuf_free(&w);

	/* DeleteTopics: a null topics array */
	wbuf_init(&w, 64);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 100);
	r = rbuf_make(w.p, w.len);
	struct kwadmin_dt_req dd;
	ck_assert_int_eq(kwadmin_dt_req_decode(&r, 0, &dd), ERR_PROTO);
	kwadmin_dt_req_free(&dd);
	wbuf_free(&w);
}
END_TEST

static const struct kwadmin_tresp outcomes[2] = {
	{ "ab", 0, NULL },
	{ "c", 36, "Topic 'c' already exists." },
};

static void expect_bytes(const struct wbuf *w, const uint8_t *want, size_t n)
{
	ck_assert_uint_eq(w->len, n);
	ck_assert_mem_eq(w->p, want, n);
}

START_TEST(test_response_bytes)
{
	struct kwadmin_resp m = { .throttle_ms = 7, .n = 2, .topics = outcomes };
	struct wbuf w;
	/* CreateTopics v0: names and errors only */
	static const uint8_t ct0[] = { 0, 0, 0, 2, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c', 0, 36 };
	wbuf_init(&w, 1 << 16);
	ck_assert_int_eq(kwadmin_ct_resp_encode(&w, 0, &m), 0);
	expect_bytes(&w, ct0, sizeof(ct0));
	wbuf_free(&w);
	/* CreateTopics v1: the message, null for the success */
	uint8_t ct1[64], ct2[68];
	size_t n = 0;
	static const uint8_t head[] = { 0, 0, 0, 2, 0, 2, 'a', 'b', 0, 0, 0xff, 0xff, 0, 1, 'c', 0, 36, 0, 25 };
	memcpy(ct1, head, sizeof(head));
	n = sizeof(head);
	memcpy(ct1 + n, "Topic 'c' already exists.", 25);
	n += 25;
	wbuf_init(&w, 1 << 16);
	kwadmin_ct_resp_encode(&w, 1, &m);
	expect_bytes(&w, ct1, n);
	wbuf_free(&w);
	/* CreateTopics v2-4: throttle_time_ms first; CreatePartitions v0-1 is the same */
	memcpy(ct2, (const uint8_t[]){ 0, 0, 0, 7 }, 4);
	memcpy(ct2 + 4, ct1, n);
	for (int16_t ver = 2; ver <= KWADMIN_CT_MAX_VERSION; ver++) {
		wbuf_init(&w, 1 << 16);
		kwadmin_ct_resp_encode(&w, ver, &m);
		expect_bytes(&w, ct2, n + 4);
		wbuf_free(&w);
	}
	for (int16_t ver = 0; ver <= KWADMIN_CP_MAX_VERSION; ver++) {
		wbuf_init(&w, 1 << 16);
		ck_assert_int_eq(kwadmin_cp_resp_encode(&w, ver, &m), 0);
		expect_bytes(&w, ct2, n + 4);
		wbuf_free(&w);
	}
	/* DeleteTopics v0: no throttle, no message; v1-3 throttle first */
	static const uint8_t dt0[] = { 0, 0, 0, 2, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c', 0, 36 };
	static const uint8_t dt1[] = { 0, 0, 0, 7, 0, 0, 0, 2, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c', 0, 36 };
	for (int16_t ver = 0; ver <= KWADMIN_DT_MAX_VERSION; ver++) {
		wbuf_init(&w, 1 << 16);
		ck_assert_int_eq(kwadmin_dt_resp_encode(&w, ver, &m), 0);
		if (ver == 0)
			expect_bytes(&w, dt0, sizeof(dt0));
		else
			expect_bytes(&w, dt1, sizeof(dt1));
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwadmin_suite(void)
{
	Suite *s = suite_create("kwadmin");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_create_topics_round_trip);
	tcase_add_test(tc, test_delete_topics_round_trip);
	tcase_add_test(tc, test_create_partitions_round_trip);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_lying_counts);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwadmin_suite());
}

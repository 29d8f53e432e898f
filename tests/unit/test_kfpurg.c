/*
 * Unit tests of kfpurg (broker/api), the fetch purgatory, driven alone (no broker): a fetch is
 * held decoded and indexed by its partitions; a change of one partition readies only the
 * fetches waiting on it (not those on other partitions, not twice for a request naming it
 * twice); deadlines ready the others; a touch during a fetch's own retry is not lost; removal
 * from any place unindexes it (a later touch finds nothing); the batch survives removals of its
 * members mid-way; free drops what is left.
 */
#include "kfpurg.h"
#include "kwfetch.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A decoded fetch of topic t, partitions parts[0..n) (a bad name when bad). */
static struct kwfetch_req t_req(const char *t, const int32_t *parts, int32_t n, bool bad)
{
	struct kwfetch_req q;
	memset(&q, 0, sizeof(q));
	q.min_bytes = 1;
	q.max_wait_ms = 500;
	q.n = 1;
	q.topics = calloc(1, sizeof(*q.topics));
	ck_assert_ptr_nonnull(q.topics);
	strcpy(q.topics[0].name, t);
	q.topics[0].bad = bad;
	q.topics[0].n = n;
	q.topics[0].parts = calloc((size_t)n, sizeof(*q.topics[0].parts));
	for (int32_t i = 0; i < n; i++)
		q.topics[0].parts[i].partition = parts[i];
	q.nparts = (size_t)n;
	return q;
}

/* Pops the whole batch, returning how many and the args in seen[]. */
static int t_drain(struct kfpurg *pg, void **seen, bool remove)
{
	int n = 0;
	struct kfpurg_wait *w;
	kfpurg_begin(pg);
	while ((w = kfpurg_pop(pg))) {
		seen[n++] = kfpurg_arg(w);
		if (remove)
			kfpurg_remove(pg, w);
		else
			kfpurg_rewait(pg, w);
	}
	return n;
}

START_TEST(test_touch_readies_only_its_partition)
{
	struct kfpurg *pg = kfpurg_new();
	int a, b, c;
	static const int32_t p0[] = { 0 }, p01[] = { 0, 1, 0 };
	struct kwfetch_req qa = t_req("A", p0, 1, false), qb = t_req("B", p0, 1, false), qc = t_req("A", p01, 3, false);
	struct kfpurg_wait *wa = kfpurg_add(pg, &qa, 1000, &a);
	ck_assert_ptr_nonnull(wa);
	ck_assert_ptr_null(qa.topics); /* moved in */
	ck_assert_str_eq(kfpurg_req(wa)->topics[0].name, "A");
	ck_assert_int_eq(kfpurg_deadline(wa), 1000);
	ck_assert_ptr_nonnull(kfpurg_add(pg, &qb, 1000, &b));
	ck_assert_ptr_nonnull(kfpurg_add(pg, &qc, 2000, &c));
	ck_assert_uint_eq(kfpurg_stats(pg).waiting, 3);
	void *seen[8];
	/* nothing touched, nothing due: no retry at all */
	ck_assert_uint_eq(kfpurg_due(pg, 999), 0);
	ck_assert_int_eq(t_drain(pg, seen, false), 0);
	/* an append to B-1: nobody waits on it */
	ck_assert_uint_eq(kfpurg_touch(pg, "B", 1), 0);
	ck_assert_uint_eq(kfpurg_touch(pg, "C", 0), 0);
	/* B-0: only b */
	ck_assert_uint_eq(kfpurg_touch(pg, "B", 0), 1);
	ck_assert_int_eq(t_drain(pg, seen, false), 1);
	ck_assert_ptr_eq(seen[0], &b);
	/* only c; A-0: a and c (c names A-0 twice, readied once) */
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 1), 1);
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 0), 1); /* c is already ready */
	ck_assert_int_eq(t_drain(pg, seen, false), 2);
	ck_assert((seen[0] == &a && seen[1] == &c) || (seen[0] == &c && seen[1] == &a));
	ck_assert_uint_eq(kfpurg_stats(pg).touched, 3);
	/* deadlines: a and b at 1000, c at 2000 */
	ck_assert_uint_eq(kfpurg_due(pg, 1000), 2);
	ck_assert_int_eq(t_drain(pg, seen, true), 2);
	ck_assert_uint_eq(kfpurg_stats(pg).expired, 2);
	ck_assert_uint_eq(kfpurg_stats(pg).waiting, 1);
	/* a and b are gone from the index: B-0 finds nobody, A-0 only c */
	ck_assert_uint_eq(kfpurg_touch(pg, "B", 0), 0);
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 0), 1);
	ck_assert_int_eq(t_drain(pg, seen, true), 1);
	ck_assert_ptr_eq(seen[0], &c);
	ck_assert_ptr_null(kfpurg_first(pg));
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 0), 0);
	kfpurg_free(pg, NULL);
}
END_TEST

START_TEST(test_touch_while_out_is_kept)
{
	struct kfpurg *pg = kfpurg_new();
	int a;
	static const int32_t p0[] = { 0 };
	struct kwfetch_req qa = t_req("A", p0, 1, false);
	struct kfpurg_wait *wa = kfpurg_add(pg, &qa, 1000, &a);
	kfpurg_touch(pg, "A", 0);
	kfpurg_begin(pg);
	ck_assert_ptr_eq(kfpurg_pop(pg), wa);
	/* its own retry (a follower's fetch moving the HW) touches A-0 again */
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 0), 0);
	ck_assert_ptr_null(kfpurg_pop(pg)); /* not in this batch... */
	kfpurg_rewait(pg, wa);
	void *seen[2];
	ck_assert_int_eq(t_drain(pg, seen, false), 1); /* ...but in the next */
	ck_assert_int_eq(t_drain(pg, seen, false), 0);
	kfpurg_free(pg, NULL);
}
END_TEST

static int t_drops;
static void t_drop(void *arg)
{
	(void)arg;
	t_drops++;
}

START_TEST(test_remove_mid_batch_bad_names_and_free)
{
	struct kfpurg *pg = kfpurg_new();
	int x[4];
	static const int32_t p0[] = { 0 };
	struct kfpurg_wait *w[4];
	for (int i = 0; i < 4; i++) {
		struct kwfetch_req q = t_req(i == 3 ? "bad" : "A", p0, 1, i == 3);
		w[i] = kfpurg_add(pg, &q, 100, &x[i]);
	}
	/* the bad name is not indexed: a touch of it finds nobody */
	ck_assert_uint_eq(kfpurg_touch(pg, "bad", 0), 0);
	ck_assert_uint_eq(kfpurg_touch(pg, "A", 0), 3);
	kfpurg_begin(pg);
	struct kfpurg_wait *first = kfpurg_pop(pg);
	ck_assert_ptr_nonnull(first);
	/* answering the first closes a connection whose other fetch is in the batch */
	struct kfpurg_wait *other = first == w[0] ? w[1] : w[0];
	kfpurg_remove(pg, other);
	kfpurg_remove(pg, first);
	struct kfpurg_wait *last = kfpurg_pop(pg);
	ck_assert_ptr_nonnull(last);
	ck_assert(last != first && last != other && last != w[3]);
	kfpurg_rewait(pg, last);
	ck_assert_ptr_null(kfpurg_pop(pg));
	/* walking every wait: the one left of A and the bad one */
	int n = 0;
	for (struct kfpurg_wait *it = kfpurg_first(pg); it; it = kfpurg_next(it))
		n++;
	ck_assert_int_eq(n, 2);
	kfpurg_free(pg, t_drop);
	ck_assert_int_eq(t_drops, 2);
	kfpurg_free(NULL, NULL);
}
END_TEST

START_TEST(test_many_partitions)
{
	/* 1000 fetches over 100 partitions: a touch readies exactly the 10 waiting on one */
	struct kfpurg *pg = kfpurg_new();
	static int args[1000];
	for (int i = 0; i < 1000; i++) {
		int32_t p = i % 100;
		struct kwfetch_req q = t_req("topic", &p, 1, false);
		ck_assert_ptr_nonnull(kfpurg_add(pg, &q, 100, &args[i]));
	}
	ck_assert_uint_eq(kfpurg_touch(pg, "topic", 42), 10);
	void *seen[16];
	ck_assert_int_eq(t_drain(pg, seen, true), 10);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(((int *)seen[i] - args) % 100, 42);
	ck_assert_uint_eq(kfpurg_touch(pg, "topic", 42), 0);
	ck_assert_uint_eq(kfpurg_stats(pg).waiting, 990);
	kfpurg_free(pg, NULL);
}
END_TEST

static Suite *kfpurg_suite(void)
{
	Suite *s = suite_create("kfpurg");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_touch_readies_only_its_partition);
	tcase_add_test(tc, test_touch_while_out_is_kept);
	tcase_add_test(tc, test_remove_mid_batch_bad_names_and_free);
	tcase_add_test(tc, test_many_partitions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kfpurg_suite());
}

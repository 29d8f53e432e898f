/*
 * Unit tests for common/fsyncq: callbacks arrive on the loop in submission order with their
 * tokens and no error, the descriptor may be closed at once (the queue syncs its own dup),
 * a forgotten owner gets no callback while the sync still runs, drain waits for the syncs,
 * a failing fdatasync (a pipe) reports its errno, a bad descriptor is refused, and freeing
 * with requests outstanding leaks nothing (ASan). Files live in a temporary directory removed
 * by each test.
 */
#include "err.h"
#include "fsyncq.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_helpers.h"

#define N_REQ 64

struct got {
	int n;
	uint64_t tokens[N_REQ * 2];
	int errs[N_REQ * 2];
	void *args[N_REQ * 2];
};

static void on_synced(int err, uint64_t token, void *arg)
{
	struct got *g = arg;
	ck_assert_int_lt(g->n, N_REQ * 2);
	g->tokens[g->n] = token;
	g->errs[g->n] = err;
	g->args[g->n] = arg;
	g->n++;
}

struct want {
	struct got *g;
	int n;
};

static bool got_n(void *arg)
{
	struct want *w = arg;
	return w->g->n >= w->n;
}

static char dir[128];

static int tmp_file(const char *name)
{
	char path[sizeof(dir) + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello", 5), 5);
	return fd;
}

static void setup(void)
{
	evthread_use_pthreads();
	ck_assert_ptr_nonnull(check_mkdtemp(dir, sizeof(dir), "samsa-fsyncq"));
}

static void teardown(void)
{
	char path[sizeof(dir) + 8];
	snprintf(path, sizeof(path), "%s/a", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b", dir);
	unlink(path);
	rmdir(dir);
}

START_TEST(test_order_and_tokens)
{
	struct event_base *base = event_base_new();
	struct fsyncq *q = NULL;
	ck_assert_int_eq(fsyncq_new(base, &q), 0);
	int a = tmp_file("a"), b = tmp_file("b");
	struct got g = { 0 };
	for (int i = 0; i < N_REQ; i++)
		ck_assert_int_eq(fsyncq_submit(q, i % 3 ? a : b, (uint64_t)i + 100, on_synced, &g), 0);
	close(a); /* the queue syncs its own descriptors */
	close(b);
	struct want w = { &g, N_REQ };
	ck_assert(run_until(base, got_n, &w, 10000));
	ck_assert_int_eq(g.n, N_REQ);
	for (int i = 0; i < N_REQ; i++) {
		ck_assert_uint_eq(g.tokens[i], (uint64_t)i + 100);
		ck_assert_int_eq(g.errs[i], 0);
	}
	uint64_t reqs, syncs;
	fsyncq_stats(q, &reqs, &syncs);
	ck_assert_uint_eq(reqs, N_REQ);
	ck_assert_uint_ge(syncs, 2); /* two files */
	ck_assert_uint_le(syncs, reqs);
	fsyncq_free(q);
	event_base_free(base);
}
END_TEST

START_TEST(test_forget_and_drain)
{
	struct event_base *base = event_base_new();
	struct fsyncq *q = NULL;
	ck_assert_int_eq(fsyncq_new(base, &q), 0);
	int a = tmp_file("a");
	struct got gone = { 0 }, kept = { 0 };
	ck_assert_int_eq(fsyncq_submit(q, a, 1, on_synced, &gone), 0);
	ck_assert_int_eq(fsyncq_submit(q, a, 2, on_synced, &kept), 0);
	ck_assert_int_eq(fsyncq_submit(q, a, 3, on_synced, &gone), 0);
	fsyncq_forget(q, &gone);
	fsyncq_drain(q);
	uint64_t reqs, syncs;
	fsyncq_stats(q, &reqs, &syncs);
	ck_assert_uint_eq(reqs, 3);
	ck_assert_uint_ge(syncs, 1); /* drained: synced, though no callback has run yet */
	ck_assert_int_eq(kept.n, 0);
	struct want w = { &kept, 1 };
	ck_assert(run_until(base, got_n, &w, 10000));
	run_for(base, 50);
	ck_assert_int_eq(kept.n, 1);
	ck_assert_uint_eq(kept.tokens[0], 2);
	ck_assert_int_eq(gone.n, 0);
	close(a);
	fsyncq_free(q);
	event_base_free(base);
}
END_TEST

START_TEST(test_errors)
{
	struct event_base *base = event_base_new();
	struct fsyncq *q = NULL;
	ck_assert_int_eq(fsyncq_new(base, &q), 0);
	struct got g = { 0 };
	ck_assert_int_eq(fsyncq_submit(q, -1, 1, on_synced, &g), ERR_IO);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fsyncq_submit(q, fds[1], 7, on_synced, &g), 0);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(fsyncq_submit(q, fds[1], 8, on_synced, &g), ERR_IO); /* closed now */
	struct want w = { &g, 1 };
	ck_assert(run_until(base, got_n, &w, 10000));
	ck_assert_uint_eq(g.tokens[0], 7);
	ck_assert_int_eq(g.errs[0], EINVAL); /* a pipe cannot be synced */
	fsyncq_free(q);
	event_base_free(base);
}
END_TEST

START_TEST(test_free_with_outstanding)
{
	struct event_base *base = event_base_new();
	struct fsyncq *q = NULL;
	ck_assert_int_eq(fsyncq_new(base, &q), 0);
	int a = tmp_file("a");
	struct got g = { 0 };
	for (int i = 0; i < N_REQ; i++)
		ck_assert_int_eq(fsyncq_submit(q, a, (uint64_t)i, on_synced, &g), 0);
	close(a);
	fsyncq_free(q); /* the syncs finish, the callbacks never run */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(g.n, 0);
	fsyncq_free(NULL);
	event_base_free(base);
}
END_TEST

static Suite *fsyncq_suite(void)
{
	Suite *s = suite_create("fsyncq");
	TCase *tc = tcase_create("worker");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_and_tokens);
	tcase_add_test(tc, test_forget_and_drain);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_free_with_outstanding);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(fsyncq_suite());
}

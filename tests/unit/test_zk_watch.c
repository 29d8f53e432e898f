/*
 * Unit tests for coord/zk_watch: ZooKeeper's trigger rules per event type, one-shot removal,
 * persistent and recursive watches, dedup per trigger, removal by watcher and by path.
 */
#include "zk_watch.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fired {
	char log[1024];
	int n;
};

static void on_fire(void *watcher, enum zk_event_type type, const char *path, void *arg)
{
	struct fired *f = arg;
	char line[128];
	snprintf(line, sizeof(line), "%s:%d:%s;", (const char *)watcher, (int)type, path);
	strcat(f->log, line);
	f->n++;
}

static char A[] = "A", B[] = "B";

static const char *fire(struct zk_watch *w, const char *path, enum zk_event_type t, struct fired *f)
{
	f->log[0] = '\0';
	f->n = 0;
	zk_watch_trigger(w, path, t, on_fire, f);
	return f->log;
}

START_TEST(test_one_shot_rules)
{
	struct zk_watch *w = zk_watch_new();
	struct fired f;
	zk_watch_add(w, "/a", ZK_WATCH_DATA, A);
	zk_watch_add(w, "/a", ZK_WATCH_DATA, A); /* twice: kept once */
	zk_watch_add(w, "/a", ZK_WATCH_CHILD, B);
	ck_assert_uint_eq(zk_watch_count(w), 2);
	/* a child change does not fire data watches */
	ck_assert_str_eq(fire(w, "/a", ZK_EVENT_CHILDCHANGED, &f), "B:4:/a;");
	ck_assert_str_eq(fire(w, "/a", ZK_EVENT_CHILDCHANGED, &f), ""); /* one-shot */
	ck_assert_str_eq(fire(w, "/a", ZK_EVENT_DATACHANGED, &f), "A:3:/a;");
	ck_assert_str_eq(fire(w, "/a", ZK_EVENT_DATACHANGED, &f), "");
	/* exists on a missing node fires on creation */
	zk_watch_add(w, "/new", ZK_WATCH_EXIST, A);
	ck_assert_str_eq(fire(w, "/new", ZK_EVENT_CREATED, &f), "A:1:/new;");
	/* deletion fires data and child watches, each watcher once */
	zk_watch_add(w, "/d", ZK_WATCH_DATA, A);
	zk_watch_add(w, "/d", ZK_WATCH_CHILD, A);
	zk_watch_add(w, "/d", ZK_WATCH_CHILD, B);
	fire(w, "/d", ZK_EVENT_DELETED, &f);
	ck_assert_int_eq(f.n, 2);
	ck_assert_ptr_nonnull(strstr(f.log, "A:2:/d;"));
	ck_assert_ptr_nonnull(strstr(f.log, "B:2:/d;"));
	ck_assert_uint_eq(zk_watch_count(w), 0);
	ck_assert_uint_eq(zk_watch_path_count(w), 0);
	ck_assert_uint_eq(zk_watch_watcher_count(w), 0);
	zk_watch_free(w);
}
END_TEST

START_TEST(test_persistent_and_recursive)
{
	struct zk_watch *w = zk_watch_new();
	struct fired f;
	zk_watch_add(w, "/p", ZK_WATCH_PERSISTENT, A);
	zk_watch_add(w, "/", ZK_WATCH_PERSISTENT_RECURSIVE, B);
	ck_assert_str_eq(fire(w, "/p", ZK_EVENT_DATACHANGED, &f), "A:3:/p;B:3:/p;");
	ck_assert_str_eq(fire(w, "/p", ZK_EVENT_DATACHANGED, &f), "A:3:/p;B:3:/p;"); /* they stay */
	/* persistent (not recursive) sees child changes; recursive never does */
	ck_assert_str_eq(fire(w, "/p", ZK_EVENT_CHILDCHANGED, &f), "A:4:/p;");
	/* recursive fires for any descendant, persistent only for its own path */
	ck_assert_str_eq(fire(w, "/p/q/r", ZK_EVENT_CREATED, &f), "B:1:/p/q/r;");
	/* a watcher with several matching watches hears once */
	zk_watch_add(w, "/p/q/r", ZK_WATCH_DATA, B);
	zk_watch_add(w, "/p", ZK_WATCH_PERSISTENT_RECURSIVE, B);
	ck_assert_str_eq(fire(w, "/p/q/r", ZK_EVENT_DATACHANGED, &f), "B:3:/p/q/r;");
	ck_assert(zk_watch_has(w, "/p", 1 << ZK_WATCH_PERSISTENT, A));
	ck_assert(zk_watch_remove(w, "/p", 1 << ZK_WATCH_PERSISTENT, A));
	ck_assert(!zk_watch_remove(w, "/p", 1 << ZK_WATCH_PERSISTENT, A));
	ck_assert_str_eq(fire(w, "/p", ZK_EVENT_CHILDCHANGED, &f), "");
	zk_watch_remove_watcher(w, B);
	ck_assert_uint_eq(zk_watch_count(w), 0);
	ck_assert_str_eq(fire(w, "/p/x", ZK_EVENT_CREATED, &f), "");
	zk_watch_free(w);
}
END_TEST

START_TEST(test_many_watches_per_connection)
{
	struct zk_watch *w = zk_watch_new();
	char path[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/n/%d", i);
		ck_assert_int_eq(zk_watch_add(w, path, i % 2 ? ZK_WATCH_DATA : ZK_WATCH_CHILD, i % 3 ? A : B), 0);
	}
	ck_assert_uint_eq(zk_watch_count(w), 20000);
	zk_watch_remove_watcher(w, A);
	ck_assert_uint_eq(zk_watch_watcher_count(w), 1);
	struct fired f;
	ck_assert_str_eq(fire(w, "/n/3", ZK_EVENT_DELETED, &f), "B:2:/n/3;");
	zk_watch_free(w); /* frees B's remaining watches */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zk_watch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_one_shot_rules);
	tcase_add_test(tc, test_persistent_and_recursive);
	tcase_add_test(tc, test_many_watches_per_connection);
	suite_add_tcase(s, tc);
	return check_run(s);
}

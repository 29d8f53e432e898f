/*
 * Unit tests for coord/zk_tree: built-ins, Stat fields exactly as ZooKeeper defines them,
 * null vs empty data, the ephemeral index, containers, atomic groups (rollback restores
 * everything), snapshot walk + load round trip, and a randomized run against a reference model.
 */
#include "err.h"
#include "zk_tree.h"

#include "check_main.h"

#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct zk_acl open_acl[] = { { ZK_PERM_ALL, "world", "anyone" } };

static struct zk_stat stat_of(struct zk_tree *t, const char *path)
{
	struct zk_stat st;
	const struct zk_node *n = zk_tree_get(t, path);
	ck_assert_msg(n != NULL, "%s missing", path);
	zk_node_stat(n, &st);
	return st;
}

START_TEST(test_builtins)
{
	struct zk_tree *t = zk_tree_new();
	struct zk_stat st = stat_of(t, "/");
	ck_assert_int_eq(st.num_children, 1);
	ck_assert_int_eq(st.cversion, -1); /* as ZooKeeper reports it */
	st = stat_of(t, "/zookeeper");
	ck_assert_int_eq(st.num_children, 2);
	ck_assert_int_eq(st.cversion, -2);
	st = stat_of(t, "/zookeeper/config");
	ck_assert_int_eq(st.aversion, -1);
	int32_t n;
	const struct zk_acl *acl = zk_node_acl(zk_tree_get(t, "/zookeeper/config"), &n);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(acl[0].perms, ZK_PERM_READ);
	ck_assert_uint_eq(zk_tree_count(t), 4);
	ck_assert_str_eq(zk_node_name(zk_node_first_child(zk_tree_get(t, "/"))), "zookeeper");
	zk_tree_free(t);
}
END_TEST

START_TEST(test_stats)
{
	struct zk_tree *t = zk_tree_new();
	ck_assert_int_eq(zk_tree_create(t, "/a", (const uint8_t *)"hello", 5, open_acl, 1, 0, 10, 1000), 0);
	ck_assert_int_eq(zk_tree_create(t, "/a", NULL, -1, open_acl, 1, 0, 11, 1000), ERR_EXISTS);
	ck_assert_int_eq(zk_tree_create(t, "/x/y", NULL, -1, open_acl, 1, 0, 11, 1000), ERR_NOTFOUND);
	struct zk_stat st = stat_of(t, "/a");
	ck_assert(st.czxid == 10 && st.mzxid == 10 && st.pzxid == 10);
	ck_assert(st.ctime == 1000 && st.mtime == 1000);
	ck_assert_int_eq(st.data_length, 5);
	ck_assert_int_eq(st.version, 0);
	ck_assert_int_eq(zk_tree_create(t, "/a/b", NULL, -1, open_acl, 1, 0, 12, 1001), 0);
	ck_assert_int_eq(zk_tree_create(t, "/a/c", NULL, -1, open_acl, 1, 0, 13, 1002), 0);
	st = stat_of(t, "/a");
	ck_assert_int_eq(st.num_children, 2);
	ck_assert_int_eq(st.cversion, 2);
	ck_assert(st.pzxid == 13);
	ck_assert_int_eq(zk_tree_delete(t, "/a", 14), ERR_BUSY);
	ck_assert_int_eq(zk_tree_delete(t, "/a/b", 14), 0);
	st = stat_of(t, "/a");
	ck_assert_int_eq(st.num_children, 1);
	ck_assert_int_eq(st.cversion, 3); /* creates + deletes */
	ck_assert_int_eq(zk_node_creates(zk_tree_get(t, "/a")), 2); /* the sequential counter */
	ck_assert(st.pzxid == 14);
	ck_assert_int_eq(zk_tree_set_data(t, "/a", (const uint8_t *)"", 0, 15, 2000), 0);
	st = stat_of(t, "/a");
	ck_assert_int_eq(st.version, 1);
	ck_assert(st.mzxid == 15 && st.mtime == 2000 && st.ctime == 1000);
	int32_t len;
	ck_assert_ptr_nonnull(zk_node_data(zk_tree_get(t, "/a"), &len));
	ck_assert_int_eq(len, 0); /* empty, not null */
	ck_assert_ptr_null(zk_node_data(zk_tree_get(t, "/a/c"), &len));
	ck_assert_int_eq(len, -1); /* null */
	static const struct zk_acl ro[] = { { ZK_PERM_READ, "world", "anyone" } };
	ck_assert_int_eq(zk_tree_set_acl(t, "/a", ro, 1), 0);
	st = stat_of(t, "/a");
	ck_assert_int_eq(st.aversion, 1);
	ck_assert_int_eq(zk_node_acl(zk_tree_get(t, "/a"), &len)[0].perms, ZK_PERM_READ);
	ck_assert_int_eq((int)zk_tree_count_descendants(zk_tree_get(t, "/")), 5);
	ck_assert_int_eq(zk_tree_delete(t, "/", 16), ERR_INVAL);
	zk_tree_free(t);
}
END_TEST

static int collect(const char *path, void *arg)
{
	char *buf = arg;
	strcat(buf, path);
	strcat(buf, ";");
	return 0;
}

START_TEST(test_ephemerals_and_containers)
{
	struct zk_tree *t = zk_tree_new();
	ck_assert_int_eq(zk_tree_create(t, "/e1", NULL, -1, open_acl, 1, 77, 1, 0), 0);
	ck_assert_int_eq(zk_tree_create(t, "/e2", NULL, -1, open_acl, 1, 77, 2, 0), 0);
	ck_assert_int_eq(zk_tree_create(t, "/o", NULL, -1, open_acl, 1, 78, 3, 0), 0);
	ck_assert_int_eq(zk_tree_create(t, "/c", NULL, -1, open_acl, 1, ZK_CONTAINER_OWNER, 4, 0), 0);
	ck_assert_uint_eq(zk_tree_ephemeral_count(t), 3);
	char buf[256] = "";
	zk_tree_ephemerals(t, 77, collect, buf);
	ck_assert(strstr(buf, "/e1;") && strstr(buf, "/e2;") && !strstr(buf, "/o;"));
	ck_assert_int_eq(stat_of(t, "/c").ephemeral_owner, 0); /* containers look persistent */
	buf[0] = '\0';
	zk_tree_reapable(t, 0, false, collect, buf);
	ck_assert_str_eq(buf, ""); /* never had a child */
	ck_assert_int_eq(zk_tree_create(t, "/c/k", NULL, -1, open_acl, 1, 0, 5, 0), 0);
	ck_assert_int_eq(zk_tree_delete(t, "/c/k", 6), 0);
	zk_tree_reapable(t, 0, false, collect, buf);
	ck_assert_str_eq(buf, "/c;");
	ck_assert_int_eq(zk_tree_delete(t, "/e1", 7), 0);
	buf[0] = '\0';
	zk_tree_ephemerals(t, 77, collect, buf);
	ck_assert_str_eq(buf, "/e2;");
	ck_assert_uint_eq(zk_tree_ephemeral_count(t), 2);
	zk_tree_free(t);
}
END_TEST

/* TTL nodes: the owner field encodes the TTL as ZooKeeper's EphemeralType.TTL does; they are no
 * session's ephemerals, look persistent to clients, and are reapable once empty and idle > TTL. */
START_TEST(test_ttl_nodes)
{
	struct zk_tree *t = zk_tree_new();
	int64_t owner = zk_ttl_owner(1000);
	ck_assert(owner == (int64_t)0xff000000000003e8ULL);
	ck_assert(zk_owner_is_ttl(owner) && !zk_owner_is_session(owner));
	ck_assert(zk_owner_ttl(zk_ttl_owner(ZK_TTL_MAX)) == ZK_TTL_MAX);
	ck_assert(!zk_owner_is_ttl(ZK_CONTAINER_OWNER) && !zk_owner_is_ttl(0) && !zk_owner_is_ttl(77));
	ck_assert(!zk_owner_is_ttl((int64_t)0xfe00000000000001ULL)); /* a session of server 254 */
	ck_assert(zk_owner_is_session((int64_t)0xfe00000000000001ULL));
	ck_assert_int_eq(zk_tree_create(t, "/t", NULL, -1, open_acl, 1, owner, 1, 5000), 0);
	ck_assert_int_eq(zk_tree_create(t, "/u", NULL, -1, open_acl, 1, zk_ttl_owner(10), 2, 5000), 0);
	ck_assert_uint_eq(zk_tree_ephemeral_count(t), 0);
	ck_assert_int_eq(stat_of(t, "/t").ephemeral_owner, 0);
	ck_assert(zk_node_owner(zk_tree_get(t, "/t")) == owner); /* raw value, for snapshots */
	char buf[256] = "";
	zk_tree_reapable(t, 5010, true, collect, buf);
	ck_assert_str_eq(buf, ""); /* /u: elapsed 10 is not > 10 */
	zk_tree_reapable(t, 5011, true, collect, buf);
	ck_assert_str_eq(buf, "/u;");
	buf[0] = '\0';
	zk_tree_reapable(t, 6001, false, collect, buf);
	ck_assert_str_eq(buf, ""); /* extendedTypesEnabled off: no TTL reaping */
	ck_assert_int_eq(zk_tree_create(t, "/t/k", NULL, -1, open_acl, 1, 0, 3, 5000), 0);
	zk_tree_reapable(t, 6001, true, collect, buf);
	ck_assert_str_eq(buf, "/u;"); /* /t has a child */
	ck_assert_int_eq(zk_tree_delete(t, "/t/k", 4), 0);
	ck_assert_int_eq(zk_tree_set_data(t, "/t", (const uint8_t *)"x", 1, 5, 5500), 0);
	buf[0] = '\0';
	zk_tree_reapable(t, 6001, true, collect, buf);
	ck_assert_str_eq(buf, "/u;"); /* setData renewed /t's mtime */
	buf[0] = '\0';
	zk_tree_reapable(t, 6501, true, collect, buf);
	ck_assert_str_eq(buf, "/u;/t;"); /* walk order: newest sibling first */
	zk_tree_free(t);
}
END_TEST

/* A text dump of the whole tree, for exact comparisons. */
static int dump_node(const struct zk_node *n, void *arg)
{
	char *buf = arg;
	struct zk_stat st;
	int32_t len, na;
	zk_node_stat(n, &st);
	const uint8_t *d = zk_node_data(n, &len);
	const struct zk_acl *acl = zk_node_acl(n, &na);
	size_t at = strlen(buf);
	snprintf(buf + at, 65536 - at, "%s|%.*s|%d|%lld,%lld,%lld,%lld,%d,%d,%d,%lld,%d,%d,%lld|%d:%s:%s|%lld\n",
		 zk_node_path(n), len > 0 ? len : 0, d ? (const char *)d : "", len, (long long)st.czxid,
		 (long long)st.mzxid, (long long)st.ctime, (long long)st.mtime, st.version, st.cversion, st.aversion,
		 (long long)st.ephemeral_owner, st.data_length, st.num_children, (long long)st.pzxid,
		 na ? acl[0].perms : -1, na ? acl[0].scheme : "", na ? acl[0].id : "",
		 (long long)zk_node_owner(n));
	return 0;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The walk's lines, sorted: sibling order is not part of the state (ZooKeeper's is a hash
 * order), everything else is. */
static char *dump(struct zk_tree *t)
{
	char *buf = calloc(1, 65536), *out = calloc(1, 65536);
	char *lines[512];
	size_t n = 0;
	zk_tree_walk(t, dump_node, buf);
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && n < 512; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(buf);
	return out;
}

START_TEST(test_rollback_restores_everything)
{
	struct zk_tree *t = zk_tree_new();
	ck_assert_int_eq(zk_tree_create(t, "/a", (const uint8_t *)"1", 1, open_acl, 1, 0, 1, 10), 0);
	ck_assert_int_eq(zk_tree_create(t, "/a/b", (const uint8_t *)"2", 1, open_acl, 1, 9, 2, 11), 0);
	ck_assert_int_eq(zk_tree_create(t, "/a/c", NULL, -1, open_acl, 1, 0, 3, 12), 0);
	char *before = dump(t);
	size_t eph = zk_tree_ephemeral_count(t);
	static const struct zk_acl ro[] = { { ZK_PERM_READ, "digest", "u:x" } };
	zk_tree_begin(t);
	ck_assert_int_eq(zk_tree_create(t, "/a/d", (const uint8_t *)"n", 1, open_acl, 1, 9, 4, 20), 0);
	ck_assert_int_eq(zk_tree_delete(t, "/a/b", 4), 0);
	ck_assert_int_eq(zk_tree_set_data(t, "/a", (const uint8_t *)"changed", 7, 4, 21), 0);
	ck_assert_int_eq(zk_tree_set_acl(t, "/a/c", ro, 1), 0);
	ck_assert_int_eq(zk_tree_delete(t, "/a/c", 4), 0);
	ck_assert_int_eq(zk_tree_create(t, "/a/c", NULL, -1, open_acl, 1, 0, 4, 22), 0);
	zk_tree_rollback(t);
	char *after = dump(t);
	ck_assert_str_eq(before, after);
	ck_assert_uint_eq(zk_tree_ephemeral_count(t), eph);
	ck_assert_uint_eq(zk_tree_count(t), 7);
	/* and a committed group stays */
	zk_tree_begin(t);
	ck_assert_int_eq(zk_tree_delete(t, "/a/b", 5), 0);
	ck_assert_int_eq(zk_tree_set_data(t, "/a", (const uint8_t *)"x", 1, 5, 30), 0);
	zk_tree_commit(t);
	ck_assert_ptr_null(zk_tree_get(t, "/a/b"));
	ck_assert_int_eq(stat_of(t, "/a").version, 1);
	free(before);
	free(after);
	zk_tree_free(t);
}
END_TEST

/* Data created with a node lives in the node's own allocation; later values reuse that room
 * only outside a group, so rollback can always restore the old bytes. */
START_TEST(test_inline_data_and_groups)
{
	struct zk_tree *t = zk_tree_new();
	int32_t len;
	ck_assert_int_eq(zk_tree_create(t, "/d", (const uint8_t *)"0123456789", 10, open_acl, 1, 0, 1, 0), 0);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", (const uint8_t *)"abc", 3, 2, 0), 0);
	ck_assert_mem_eq(zk_node_data(zk_tree_get(t, "/d"), &len), "abc", 3);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", (const uint8_t *)"a much longer value", 19, 3, 0), 0);
	ck_assert_mem_eq(zk_node_data(zk_tree_get(t, "/d"), &len), "a much longer value", 19);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", (const uint8_t *)"short", 5, 4, 0), 0);
	zk_tree_begin(t);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", (const uint8_t *)"XY", 2, 5, 0), 0);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", NULL, -1, 5, 0), 0);
	ck_assert_ptr_null(zk_node_data(zk_tree_get(t, "/d"), &len));
	zk_tree_rollback(t);
	ck_assert_mem_eq(zk_node_data(zk_tree_get(t, "/d"), &len), "short", 5);
	ck_assert_int_eq(len, 5);
	zk_tree_begin(t);
	ck_assert_int_eq(zk_tree_set_data(t, "/d", (const uint8_t *)"kept", 4, 6, 0), 0);
	zk_tree_commit(t);
	ck_assert_mem_eq(zk_node_data(zk_tree_get(t, "/d"), &len), "kept", 4);
	ck_assert_int_eq(stat_of(t, "/d").version, 4); /* the rolled-back sets do not count */
	ck_assert_int_eq((int)zk_tree_data_size(t), (int)(strlen("/zookeeper") + strlen("/zookeeper/quota") +
							  strlen("/zookeeper/config") + 1 + 2 + 4));
	zk_tree_free(t);
}
END_TEST

static struct zk_tree *loaded;
static int load_into(const struct zk_node *n, void *arg)
{
	(void)arg;
	struct zk_stat st;
	int32_t len, na;
	zk_node_stat(n, &st);
	st.cversion = zk_node_creates(n);
	st.ephemeral_owner = zk_node_owner(n);
	const uint8_t *d = zk_node_data(n, &len);
	const struct zk_acl *acl = zk_node_acl(n, &na);
	return zk_tree_load_node(loaded, zk_node_path(n), d, len, acl, na, &st);
}

START_TEST(test_walk_load_round_trip)
{
	struct zk_tree *t = zk_tree_new();
	zk_tree_create(t, "/a", (const uint8_t *)"1", 1, open_acl, 1, 0, 1, 10);
	zk_tree_create(t, "/a/b", NULL, -1, open_acl, 1, 42, 2, 11);
	zk_tree_create(t, "/a/c", (const uint8_t *)"", 0, open_acl, 1, ZK_CONTAINER_OWNER, 3, 12);
	zk_tree_create(t, "/a/c/d", (const uint8_t *)"dd", 2, open_acl, 1, 0, 4, 13);
	zk_tree_delete(t, "/a/c/d", 5);
	zk_tree_set_data(t, "/zookeeper/quota", (const uint8_t *)"q", 1, 6, 14);
	loaded = zk_tree_new();
	ck_assert_int_eq(zk_tree_walk(t, load_into, NULL), 0);
	char *a = dump(t), *b = dump(loaded);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(zk_tree_ephemeral_count(loaded), 1);
	ck_assert_int_eq(zk_node_creates(zk_tree_get(loaded, "/a/c")), 1);
	free(a);
	free(b);
	zk_tree_free(t);
	zk_tree_free(loaded);
}
END_TEST

/* A reference model: paths in an array with data lengths; checked against the tree. */
START_TEST(test_randomized_against_model)
{
	struct zk_tree *t = zk_tree_new();
	enum { N = 64 };
	int exists[N] = { 0 }, version[N] = { 0 }, kids[N] = { 0 };
	char paths[N][32];
	for (int i = 0; i < N; i++)
		snprintf(paths[i], sizeof(paths[i]), i < 8 ? "/n%d" : "/n%d/k%d", i % 8, i);
	uint64_t x = 12345;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int i = (int)(x % N), op = (int)((x >> 8) % 3);
		int parent = i < 8 ? -1 : i % 8;
		int64_t zxid = step + 1;
		if (op == 0) {
			int rc = zk_tree_create(t, paths[i], (const uint8_t *)"d", 1, open_acl, 1, 0, zxid, 0);
			int want = exists[i] ? ERR_EXISTS : (parent >= 0 && !exists[parent]) ? ERR_NOTFOUND : 0;
			ck_assert_int_eq(rc, want);
			if (!rc) {
				exists[i] = 1;
				version[i] = 0;
				if (parent >= 0)
					kids[parent]++;
			}
		} else if (op == 1) {
			int rc = zk_tree_delete(t, paths[i], zxid);
			int want = !exists[i] ? ERR_NOTFOUND : kids[i] ? ERR_BUSY : 0;
			ck_assert_int_eq(rc, want);
			if (!rc) {
				exists[i] = 0;
				if (parent >= 0)
					kids[parent]--;
			}
		} else {
			int rc = zk_tree_set_data(t, paths[i], (const uint8_t *)"xy", 2, zxid, 0);
			ck_assert_int_eq(rc, exists[i] ? 0 : ERR_NOTFOUND);
			if (!rc)
				version[i]++;
		}
	}
	size_t count = 4;
	for (int i = 0; i < N; i++) {
		const struct zk_node *n = zk_tree_get(t, paths[i]);
		ck_assert_int_eq(n != NULL, exists[i]);
		if (n) {
			count++;
			struct zk_stat st;
			zk_node_stat(n, &st);
			ck_assert_int_eq(st.version, version[i]);
			ck_assert_int_eq(st.num_children, kids[i]);
		}
	}
	ck_assert_uint_eq(zk_tree_count(t), count);
	zk_tree_free(t);
}
END_TEST

START_TEST(test_memory_per_node_100k)
{
	struct mallinfo2 before = mallinfo2();
	struct zk_tree *t = zk_tree_new();
	uint8_t data[100];
	memset(data, 'v', sizeof(data));
	char path[64];
	zk_tree_create(t, "/bench", NULL, -1, open_acl, 1, 0, 1, 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "/bench/node-%07d", i);
		ck_assert_int_eq(zk_tree_create(t, path, data, sizeof(data), open_acl, 1, 0, i + 2, 0), 0);
	}
	struct mallinfo2 after = mallinfo2();
	printf("zk_tree: 100000 znodes with 100-byte values: %.1f bytes of heap per znode\n",
	       (double)(after.uordblks - before.uordblks) / 100000.0);
	ck_assert_uint_eq(zk_tree_count(t), 100005);
	zk_tree_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zk_tree");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_builtins);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_ephemerals_and_containers);
	tcase_add_test(tc, test_ttl_nodes);
	tcase_add_test(tc, test_rollback_restores_everything);
	tcase_add_test(tc, test_inline_data_and_groups);
	tcase_add_test(tc, test_walk_load_round_trip);
	tcase_add_test(tc, test_randomized_against_model);
	tcase_add_test(tc, test_memory_per_node_100k);
	suite_add_tcase(s, tc);
	return check_run(s);
}

/*
 * Unit tests for broker/auth/kacl: each of Kafka's AclAuthorizer rules on its own (LITERAL,
 * the wildcard resource "*", PREFIXED, principal and host wildcards, DENY winning over ALLOW,
 * the implied operations of DESCRIBE and DESCRIBE_CONFIGS, ALL, super.users,
 * allow.everyone.if.no.acl.found), the filters of DescribeAcls / DeleteAcls, names parsed as
 * Kafka's tools and znodes write them, and the znode JSON of ZkAclStore / ZkAclChangeStore
 * encoded byte for byte, decoded back, and refused where Kafka refuses.
 */
#include "err.h"
#include "kacl.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kacl_entry ent(const char *principal, const char *host, int op, int perm)
{
	struct kacl_entry e;
	memset(&e, 0, sizeof(e));
	strcpy(e.principal, principal);
	strcpy(e.host, host);
	e.op = (int8_t)op;
	e.perm = (int8_t)perm;
	return e;
}

static void add(struct kacl *acl, int rtype, int pattern, const char *name, struct kacl_entry e)
{
	struct kacl_resource r = { (int8_t)rtype, (int8_t)pattern, name };
	size_t n = 0;
	const struct kacl_entry *old = kacl_get(acl, &r, &n);
	struct kacl_entry *all = malloc((n + 1) * sizeof(*all));
	if (n)
		memcpy(all, old, n * sizeof(*all));
	all[n] = e;
	ck_assert_int_eq(kacl_set(acl, &r, all, n + 1), 0);
	free(all);
}

#define TOPIC(acl, p, name, op) kacl_authorize(acl, p, "10.0.0.1", KACL_RT_TOPIC, name, op)

START_TEST(test_literal_allow_and_no_acl)
{
	struct kacl *acl = kacl_new();
	/* nothing bound: refused unless allow.everyone.if.no.acl.found */
	ck_assert(!TOPIC(acl, "User:alice", "t", KACL_OP_READ));
	kacl_set_allow_if_none(acl, true);
	ck_assert(TOPIC(acl, "User:alice", "t", KACL_OP_READ));
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:alice", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	ck_assert(TOPIC(acl, "User:alice", "t", KACL_OP_READ));
	/* the resource has ACLs now: no longer "no acl found" for bob */
	ck_assert(!TOPIC(acl, "User:bob", "t", KACL_OP_READ));
	ck_assert(!TOPIC(acl, "User:alice", "t", KACL_OP_WRITE));
	/* another topic has none: the flag still decides */
	ck_assert(TOPIC(acl, "User:bob", "u", KACL_OP_WRITE));
	kacl_set_allow_if_none(acl, false);
	ck_assert(!TOPIC(acl, "User:alice", "u", KACL_OP_READ));
	/* a type is its own namespace */
	ck_assert(!kacl_authorize(acl, "User:alice", "h", KACL_RT_GROUP, "t", KACL_OP_READ));
	kacl_free(acl);
}
END_TEST

START_TEST(test_wildcards)
{
	struct kacl *acl = kacl_new();
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "*", ent("User:*", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	ck_assert(TOPIC(acl, "User:anyone", "whatever", KACL_OP_READ));
	ck_assert(!TOPIC(acl, "User:anyone", "whatever", KACL_OP_WRITE));
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "w", ent("User:carol", "10.0.0.2", KACL_OP_WRITE, KACL_PERM_ALLOW));
	ck_assert(kacl_authorize(acl, "User:carol", "10.0.0.2", KACL_RT_TOPIC, "w", KACL_OP_WRITE));
	ck_assert(!kacl_authorize(acl, "User:carol", "10.0.0.1", KACL_RT_TOPIC, "w", KACL_OP_WRITE));
	/* "*" is only special as a whole name */
	ck_assert(!TOPIC(acl, "User:x*", "whatever", KACL_OP_WRITE));
	kacl_free(acl);
}
END_TEST

START_TEST(test_prefixed)
{
	struct kacl *acl = kacl_new();
	add(acl, KACL_RT_TOPIC, KACL_PT_PREFIXED, "fin-", ent("User:alice", "*", KACL_OP_WRITE, KACL_PERM_ALLOW));
	ck_assert(TOPIC(acl, "User:alice", "fin-ledger", KACL_OP_WRITE));
	ck_assert(TOPIC(acl, "User:alice", "fin-", KACL_OP_WRITE));
	ck_assert(!TOPIC(acl, "User:alice", "fin", KACL_OP_WRITE));
	ck_assert(!TOPIC(acl, "User:alice", "hr-fin-x", KACL_OP_WRITE));
	/* a LITERAL binding named like the prefix is not a prefix */
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "hr-", ent("User:alice", "*", KACL_OP_WRITE, KACL_PERM_ALLOW));
	ck_assert(!TOPIC(acl, "User:alice", "hr-x", KACL_OP_WRITE));
	kacl_free(acl);
}
END_TEST

START_TEST(test_deny_wins)
{
	struct kacl *acl = kacl_new();
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "*", ent("User:*", "*", KACL_OP_ALL, KACL_PERM_ALLOW));
	add(acl, KACL_RT_TOPIC, KACL_PT_PREFIXED, "s", ent("User:bob", "*", KACL_OP_READ, KACL_PERM_DENY));
	ck_assert(TOPIC(acl, "User:alice", "secret", KACL_OP_READ));
	ck_assert(!TOPIC(acl, "User:bob", "secret", KACL_OP_READ));
	ck_assert(TOPIC(acl, "User:bob", "secret", KACL_OP_WRITE));
	/* a DENY of READ does not deny the DESCRIBE that READ would imply */
	ck_assert(TOPIC(acl, "User:bob", "secret", KACL_OP_DESCRIBE));
	/* DENY on one host only */
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "secret", ent("User:*", "10.0.0.1", KACL_OP_ALL, KACL_PERM_DENY));
	ck_assert(!TOPIC(acl, "User:alice", "secret", KACL_OP_WRITE));
	ck_assert(kacl_authorize(acl, "User:alice", "10.0.0.9", KACL_RT_TOPIC, "secret", KACL_OP_WRITE));
	/* a super user passes even a DENY */
	ck_assert_int_eq(kacl_set_super_users(acl, "User:admin", NULL, 0), 0);
	ck_assert(TOPIC(acl, "User:admin", "secret", KACL_OP_READ));
	kacl_free(acl);
}
END_TEST

START_TEST(test_implied_ops)
{
	static const int implies_describe[] = { KACL_OP_READ, KACL_OP_WRITE, KACL_OP_DELETE, KACL_OP_ALTER };
	for (size_t i = 0; i < 4; i++) {
		struct kacl *acl = kacl_new();
		add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:a", "*", implies_describe[i], KACL_PERM_ALLOW));
		ck_assert(TOPIC(acl, "User:a", "t", KACL_OP_DESCRIBE));
		ck_assert(TOPIC(acl, "User:a", "t", implies_describe[i]));
		ck_assert(!TOPIC(acl, "User:a", "t", KACL_OP_CREATE));
		kacl_free(acl);
	}
	struct kacl *acl = kacl_new();
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:a", "*", KACL_OP_CREATE, KACL_PERM_ALLOW));
	ck_assert(!TOPIC(acl, "User:a", "t", KACL_OP_DESCRIBE));
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:a", "*", KACL_OP_ALTER_CONFIGS, KACL_PERM_ALLOW));
	ck_assert(TOPIC(acl, "User:a", "t", KACL_OP_DESCRIBE_CONFIGS));
	ck_assert(!TOPIC(acl, "User:a", "t", KACL_OP_ALTER));
	/* DESCRIBE does not imply READ */
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "d", ent("User:a", "*", KACL_OP_DESCRIBE, KACL_PERM_ALLOW));
	ck_assert(!TOPIC(acl, "User:a", "d", KACL_OP_READ));
	/* ALL allows every operation */
	add(acl, KACL_RT_CLUSTER, KACL_PT_LITERAL, KACL_CLUSTER_NAME, ent("User:a", "*", KACL_OP_ALL, KACL_PERM_ALLOW));
	for (int op = KACL_OP_READ; op <= KACL_OP_IDEMPOTENT_WRITE; op++)
		ck_assert(kacl_authorize(acl, "User:a", "h", KACL_RT_CLUSTER, KACL_CLUSTER_NAME, op));
	kacl_free(acl);
}
END_TEST

START_TEST(test_super_users)
{
	struct kacl *acl = kacl_new();
	char eb[128];
	ck_assert_int_eq(kacl_set_super_users(acl, " User:admin ;User:CN=broker,O=samsa;; ", eb, sizeof(eb)), 0);
	ck_assert(kacl_is_super(acl, "User:admin"));
	ck_assert(kacl_is_super(acl, "User:CN=broker,O=samsa"));
	ck_assert(!kacl_is_super(acl, "User:bob"));
	ck_assert(kacl_authorize(acl, "User:admin", "h", KACL_RT_CLUSTER, KACL_CLUSTER_NAME, KACL_OP_ALTER));
	ck_assert(!kacl_authorize(acl, "User:bob", "h", KACL_RT_CLUSTER, KACL_CLUSTER_NAME, KACL_OP_ALTER));
	/* a bad list is refused and the old one kept */
	ck_assert_int_eq(kacl_set_super_users(acl, "User:x;nocolon", eb, sizeof(eb)), ERR_INVAL);
	ck_assert(strstr(eb, "nocolon"));
	ck_assert(kacl_is_super(acl, "User:admin") && !kacl_is_super(acl, "User:x"));
	ck_assert_int_eq(kacl_set_super_users(acl, "", eb, sizeof(eb)), 0);
	ck_assert(!kacl_is_super(acl, "User:admin"));
	kacl_free(acl);
}
END_TEST

static int count_fn(void *arg, const struct kacl_resource *r, const struct kacl_entry *e)
{
	(void)r;
	(void)e;
	++*(int *)arg;
	return 0;
}

static int count(const struct kacl *acl, const struct kacl_filter *f)
{
	int n = 0;
	kacl_each(acl, f, count_fn, &n);
	return n;
}

START_TEST(test_filters_and_store)
{
	struct kacl *acl = kacl_new();
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:alice", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "t", ent("User:bob", "*", KACL_OP_WRITE, KACL_PERM_DENY));
	add(acl, KACL_RT_TOPIC, KACL_PT_LITERAL, "*", ent("User:carol", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	add(acl, KACL_RT_TOPIC, KACL_PT_PREFIXED, "t", ent("User:dave", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	add(acl, KACL_RT_GROUP, KACL_PT_LITERAL, "t", ent("User:alice", "*", KACL_OP_READ, KACL_PERM_ALLOW));
	ck_assert_uint_eq(kacl_count(acl), 5);
	struct kacl_filter all = { KACL_RT_ANY, KACL_PT_ANY, NULL, NULL, NULL, KACL_OP_ANY, KACL_PERM_ANY };
	ck_assert_int_eq(count(acl, &all), 5);
	ck_assert_int_eq(count(acl, NULL), 5);
	struct kacl_filter f = all;
	f.rtype = KACL_RT_TOPIC;
	f.name = "t";
	ck_assert_int_eq(count(acl, &f), 3); /* ANY pattern: exact name, either pattern */
	f.pattern = KACL_PT_LITERAL;
	ck_assert_int_eq(count(acl, &f), 2);
	f.pattern = KACL_PT_MATCH;
	f.name = "tx";
	ck_assert_int_eq(count(acl, &f), 2); /* "*" and prefix "t" */
	f.name = "t";
	ck_assert_int_eq(count(acl, &f), 4);
	f.perm = KACL_PERM_DENY;
	ck_assert_int_eq(count(acl, &f), 1);
	f = all;
	f.principal = "User:alice";
	ck_assert_int_eq(count(acl, &f), 2);
	f.op = KACL_OP_WRITE;
	ck_assert_int_eq(count(acl, &f), 0);
	/* replacing and removing a resource */
	struct kacl_resource r = { KACL_RT_TOPIC, KACL_PT_LITERAL, "t" };
	ck_assert_int_eq(kacl_set(acl, &r, NULL, 0), 0);
	ck_assert_uint_eq(kacl_count(acl), 3);
	size_t n;
	ck_assert_ptr_null(kacl_get(acl, &r, &n));
	ck_assert_uint_eq(n, 0);
	struct kacl_resource bad = { KACL_RT_TOPIC, KACL_PT_MATCH, "t" };
	ck_assert_int_eq(kacl_set(acl, &bad, NULL, 0), ERR_INVAL);
	kacl_clear(acl);
	ck_assert_uint_eq(kacl_count(acl), 0);
	kacl_free(acl);
	kacl_free(NULL);
}
END_TEST

START_TEST(test_names_and_valid)
{
	ck_assert_int_eq(kacl_op_parse("Read"), KACL_OP_READ);
	ck_assert_int_eq(kacl_op_parse("describe_configs"), KACL_OP_DESCRIBE_CONFIGS);
	ck_assert_int_eq(kacl_op_parse("DescribeConfigs"), KACL_OP_DESCRIBE_CONFIGS);
	ck_assert_int_eq(kacl_op_parse("IdempotentWrite"), KACL_OP_IDEMPOTENT_WRITE);
	ck_assert_int_eq(kacl_op_parse("nope"), KACL_OP_UNKNOWN);
	ck_assert_int_eq(kacl_rtype_parse("TransactionalId"), KACL_RT_TRANSACTIONAL_ID);
	ck_assert_int_eq(kacl_pattern_parse("prefixed"), KACL_PT_PREFIXED);
	ck_assert_int_eq(kacl_perm_parse("Deny"), KACL_PERM_DENY);
	ck_assert_str_eq(kacl_op_name(KACL_OP_ALTER_CONFIGS), "ALTER_CONFIGS");
	ck_assert_str_eq(kacl_op_name(99), "UNKNOWN");
	ck_assert_str_eq(kacl_rtype_name(KACL_RT_TOPIC), "TOPIC");
	char eb[128];
	struct kacl_resource r = { KACL_RT_TOPIC, KACL_PT_LITERAL, "t" };
	struct kacl_entry e = ent("User:a", "*", KACL_OP_READ, KACL_PERM_ALLOW);
	ck_assert(kacl_valid(&r, &e, eb, sizeof(eb)));
	struct kacl_entry bad = ent("alice", "*", KACL_OP_READ, KACL_PERM_ALLOW);
	ck_assert(!kacl_valid(&r, &bad, eb, sizeof(eb)));
	bad = ent("User:a", "*", KACL_OP_ANY, KACL_PERM_ALLOW);
	ck_assert(!kacl_valid(&r, &bad, eb, sizeof(eb)));
	bad = ent("User:a", "*", KACL_OP_READ, KACL_PERM_ANY);
	ck_assert(!kacl_valid(&r, &bad, eb, sizeof(eb)));
	struct kacl_resource cl = { KACL_RT_CLUSTER, KACL_PT_LITERAL, "c" };
	ck_assert(!kacl_valid(&cl, &e, eb, sizeof(eb)));
	struct kacl_resource m = { KACL_RT_TOPIC, KACL_PT_MATCH, "t" };
	ck_assert(!kacl_valid(&m, &e, eb, sizeof(eb)));
}
END_TEST

START_TEST(test_zk_json)
{
	struct kacl_entry e[2] = { ent("User:alice", "*", KACL_OP_READ, KACL_PERM_ALLOW),
				   ent("User:CN=b\"x", "10.0.0.1", KACL_OP_DESCRIBE_CONFIGS, KACL_PERM_DENY) };
	char *js = NULL, eb[160];
	ck_assert_int_eq(kacl_zk_encode(e, 2, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"acls\":[{\"principal\":\"User:alice\",\"permissionType\":\"Allow\","
			     "\"operation\":\"Read\",\"host\":\"*\"},{\"principal\":\"User:CN=b\\\"x\",\"permissionType\":"
			     "\"Deny\",\"operation\":\"DescribeConfigs\",\"host\":\"10.0.0.1\"}]}");
	struct kacl_entry *d = NULL;
	size_t n = 0;
	ck_assert_int_eq(kacl_zk_decode(js, strlen(js), &d, &n, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(!memcmp(d, e, sizeof(e)));
	free(d);
	free(js);
	/* Kafka's own document, other key order and spacing */
	const char *k = "{ \"acls\" : [ {\"host\":\"*\",\"operation\":\"ALL\",\"principal\":\"User:*\","
			"\"permissionType\":\"ALLOW\"} ], \"version\" : 1 }";
	ck_assert_int_eq(kacl_zk_decode(k, strlen(k), &d, &n, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(d[0].op, KACL_OP_ALL);
	free(d);
	const char *empty = "{\"version\":1,\"acls\":[]}";
	ck_assert_int_eq(kacl_zk_decode(empty, strlen(empty), &d, &n, eb, sizeof(eb)), 0);
	ck_assert(d != NULL && n == 0);
	free(d);
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":2,\"acls\":[]}",
		"{\"version\":1}",
		"{\"version\":1,\"acls\":[{\"principal\":\"alice\",\"permissionType\":\"Allow\",\"operation\":\"Read\",\"host\":\"*\"}]}",
		"{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Maybe\",\"operation\":\"Read\",\"host\":\"*\"}]}",
		"{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Any\",\"host\":\"*\"}]}",
		"{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Read\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eb[0] = '\0';
		ck_assert_int_eq(kacl_zk_decode(bad[i], strlen(bad[i]), &d, &n, eb, sizeof(eb)), ERR_CORRUPT);
		ck_assert(d == NULL && n == 0 && eb[0]);
	}
}
END_TEST

START_TEST(test_zk_paths_and_changes)
{
	char path[256], name[KACL_MAX_NAME + 1], eb[160], *js = NULL;
	struct kacl_resource r = { KACL_RT_TOPIC, KACL_PT_LITERAL, "t1" };
	ck_assert_int_eq(kacl_zk_path(&r, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/kafka-acl/Topic/t1");
	struct kacl_resource p = { KACL_RT_TRANSACTIONAL_ID, KACL_PT_PREFIXED, "tx-" };
	ck_assert_int_eq(kacl_zk_path(&p, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/kafka-acl-extended/prefixed/TransactionalId/tx-");
	ck_assert_int_eq(kacl_zk_path(&r, path, 10), ERR_TOOBIG);
	ck_assert_int_eq(kacl_zk_type("Cluster"), KACL_RT_CLUSTER);
	ck_assert_int_eq(kacl_zk_type("Any"), KACL_RT_UNKNOWN);
	ck_assert_str_eq(kacl_zk_changes(KACL_PT_LITERAL), "/kafka-acl-changes");
	ck_assert_str_eq(kacl_zk_changes(KACL_PT_PREFIXED), "/kafka-acl-extended-changes");

	struct kacl_resource got;
	ck_assert_int_eq(kacl_zk_change_encode(&r, &js), 0);
	ck_assert_str_eq(js, "TOPIC:t1");
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_LITERAL, js, strlen(js), &got, name, sizeof(name), eb, sizeof(eb)), 0);
	ck_assert(got.rtype == KACL_RT_TOPIC && got.pattern == KACL_PT_LITERAL && !strcmp(got.name, "t1"));
	free(js);
	/* the 2.0 form, and a name holding ':' */
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_LITERAL, "Group:g:1", 9, &got, name, sizeof(name), eb, sizeof(eb)), 0);
	ck_assert(got.rtype == KACL_RT_GROUP && !strcmp(got.name, "g:1"));
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_LITERAL, "Nope:x", 6, &got, name, sizeof(name), eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_LITERAL, "Topic:", 6, &got, name, sizeof(name), eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(kacl_zk_change_encode(&p, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"resourceType\":\"TRANSACTIONAL_ID\",\"name\":\"tx-\",\"patternType\":\"PREFIXED\"}");
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_PREFIXED, js, strlen(js), &got, name, sizeof(name), eb, sizeof(eb)), 0);
	ck_assert(got.rtype == KACL_RT_TRANSACTIONAL_ID && got.pattern == KACL_PT_PREFIXED && !strcmp(got.name, "tx-"));
	free(js);
	const char *k = "{\"version\":1,\"resourceType\":\"Topic\",\"name\":\"x\",\"patternType\":\"Any\"}";
	ck_assert_int_eq(kacl_zk_change_decode(KACL_PT_PREFIXED, k, strlen(k), &got, name, sizeof(name), eb, sizeof(eb)),
			 ERR_CORRUPT);
}
END_TEST

static Suite *kacl_suite(void)
{
	Suite *s = suite_create("kacl");
	TCase *tc = tcase_create("kacl");
	tcase_add_test(tc, test_literal_allow_and_no_acl);
	tcase_add_test(tc, test_wildcards);
	tcase_add_test(tc, test_prefixed);
	tcase_add_test(tc, test_deny_wins);
	tcase_add_test(tc, test_implied_ops);
	tcase_add_test(tc, test_super_users);
	tcase_add_test(tc, test_filters_and_store);
	tcase_add_test(tc, test_names_and_valid);
	tcase_add_test(tc, test_zk_json);
	tcase_add_test(tc, test_zk_paths_and_changes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kacl_suite());
}

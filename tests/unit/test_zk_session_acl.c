/*
 * Unit tests for coord/zk_session (ZooKeeper's id scheme, expiry buckets rounded up to a tick,
 * touch, closing, timeout negotiation) and coord/zk_acl (digest ids, ip/CIDR matching, world,
 * super, fix-up of ACLs with auth and invalid entries).
 */
#include "zk_acl.h"
#include "zk_session.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t expired[16];
static int nexpired;

static void on_expire(int64_t id, void *arg)
{
	(void)arg;
	expired[nexpired++] = id;
}

START_TEST(test_session_ids)
{
	struct zk_sessions *s = zk_sessions_new(1, 1000, 2000);
	int64_t a = zk_sessions_next_id(s), b = zk_sessions_next_id(s);
	ck_assert(b == a + 1);
	ck_assert(((uint64_t)a >> 56) == 1); /* server id in the top byte */
	uint8_t pw[16] = { 1 };
	ck_assert_int_eq(zk_sessions_add(s, b + 1, 4000, pw, 0), 0); /* e.g. from a replay */
	ck_assert(zk_sessions_next_id(s) == b + 2);		 /* never an id in use */
	zk_sessions_free(s);
}
END_TEST

START_TEST(test_expiry_buckets)
{
	uint8_t pw[16] = { 0 };
	struct zk_sessions *s = zk_sessions_new(0, 0, 1000);
	zk_sessions_add(s, 10, 4000, pw, 0);  /* expires at 5000 (4000 rounded up to the next tick) */
	zk_sessions_add(s, 11, 4000, pw, 500); /* 4500 -> 5000 */
	zk_sessions_add(s, 12, 10000, pw, 0);  /* 11000 */
	nexpired = 0;
	ck_assert_int_eq(zk_sessions_expire(s, 4999, on_expire, NULL), 0);
	ck_assert_int_eq(zk_sessions_touch(s, 11, 3000), 0); /* 7000 -> 8000 */
	ck_assert_int_eq(zk_sessions_expire(s, 5000, on_expire, NULL), 1);
	ck_assert(expired[0] == 10);
	ck_assert(zk_sessions_is_closing(s, 10));
	ck_assert_int_eq(zk_sessions_expire(s, 6000, on_expire, NULL), 0); /* reported once */
	zk_sessions_remove(s, 10);
	ck_assert(!zk_sessions_exists(s, 10));
	ck_assert_int_eq(zk_sessions_expire(s, 8000, on_expire, NULL), 1);
	ck_assert(expired[1] == 11);
	zk_sessions_set_closing(s, 12); /* closing sessions are not expired again */
	ck_assert_int_eq(zk_sessions_expire(s, 20000, on_expire, NULL), 0);
	ck_assert_uint_eq(zk_sessions_count(s), 2);
	/* a long pause: everything due expires in one call */
	zk_sessions_add(s, 13, 2000, pw, 20000);
	ck_assert_int_eq(zk_sessions_expire(s, 1000000000, on_expire, NULL), 1);
	ck_assert_int_eq(zk_sessions_timeout(s, 12), 10000);
	ck_assert_int_eq(zk_sessions_timeout(s, 99), -1);
	zk_sessions_free(s);
}
END_TEST

START_TEST(test_negotiate)
{
	ck_assert_int_eq(zk_sessions_negotiate(10, 4000, 40000), 4000);
	ck_assert_int_eq(zk_sessions_negotiate(100000, 4000, 40000), 40000);
	ck_assert_int_eq(zk_sessions_negotiate(6000, 4000, 40000), 6000);
}
END_TEST

START_TEST(test_digest)
{
	char *out;
	/* echo -n super:test | openssl dgst -binary -sha1 | base64  ->  D/InIHSb7yEEbrWz8b9l71RjZJU= */
	ck_assert_int_eq(zk_acl_digest((const uint8_t *)"super:test", 10, &out), 0);
	ck_assert_str_eq(out, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
	free(out);
	/* no ':': the whole credential is the user (ZooKeeper 3.8 answers addAuth with this id) */
	ck_assert_int_eq(zk_acl_digest((const uint8_t *)"nocolon", 7, &out), 0);
	ck_assert_str_eq(out, "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=");
	free(out);
	/* only the first ':' ends the user */
	ck_assert_int_eq(zk_acl_digest((const uint8_t *)"a:b:c", 5, &out), 0);
	ck_assert(!strncmp(out, "a:", 2) && !strchr(out + 2, ':'));
	free(out);
}
END_TEST

START_TEST(test_check)
{
	static const struct zk_acl world_read[] = { { ZK_PERM_READ, "world", "anyone" } };
	static const struct zk_acl ip_net[] = { { ZK_PERM_ALL, "ip", "10.1.0.0/16" },
						{ ZK_PERM_READ, "ip", "fe80::/10" } };
	static const struct zk_acl dig[] = { { ZK_PERM_WRITE | ZK_PERM_READ, "digest", "u:h" } };
	struct zk_auth_id local[] = { { "ip", "127.0.0.1" } };
	struct zk_auth_id inside[] = { { "ip", "10.1.200.3" } };
	struct zk_auth_id v6[] = { { "ip", "fe80::1" } };
	struct zk_auth_id user[] = { { "ip", "127.0.0.1" }, { "digest", "u:h" } };
	struct zk_auth_id super[] = { { "super", "" } };
	ck_assert(zk_acl_check(world_read, 1, ZK_PERM_READ, local, 1));
	ck_assert(!zk_acl_check(world_read, 1, ZK_PERM_WRITE, local, 1));
	ck_assert(zk_acl_check(ip_net, 2, ZK_PERM_WRITE, inside, 1));
	ck_assert(!zk_acl_check(ip_net, 2, ZK_PERM_WRITE, local, 1));
	ck_assert(zk_acl_check(ip_net, 2, ZK_PERM_READ, v6, 1));
	ck_assert(!zk_acl_check(ip_net, 2, ZK_PERM_WRITE, v6, 1));
	ck_assert(zk_acl_check(dig, 1, ZK_PERM_WRITE, user, 2));
	ck_assert(!zk_acl_check(dig, 1, ZK_PERM_WRITE, local, 1));
	ck_assert(!zk_acl_check(dig, 1, ZK_PERM_ADMIN, user, 2));
	ck_assert(zk_acl_check(dig, 1, ZK_PERM_ADMIN, super, 1));
	ck_assert(zk_acl_check(dig, 1, ZK_PERM_READ | ZK_PERM_ADMIN, user, 2)); /* any of the perms */
	ck_assert(zk_acl_check(NULL, 0, ZK_PERM_ALL, local, 1));		 /* empty ACL: open */
}
END_TEST

START_TEST(test_fixup)
{
	struct zk_acl *out = NULL;
	int32_t n = 0;
	struct zk_auth_id ids[] = { { "ip", "127.0.0.1" }, { "digest", "a:x" }, { "digest", "b:y" } };
	static const struct zk_acl auth[] = { { ZK_PERM_ALL, "auth", "" }, { ZK_PERM_READ, "world", "anyone" },
					      { ZK_PERM_READ, "world", "anyone" } };
	ck_assert_int_eq(zk_acl_fixup(auth, 3, ids, 3, &out, &n), ZK_OK);
	ck_assert_int_eq(n, 3); /* two digests for auth, the duplicate world entry dropped */
	ck_assert_str_eq(out[0].scheme, "digest");
	ck_assert_str_eq(out[0].id, "a:x");
	ck_assert_str_eq(out[1].id, "b:y");
	ck_assert_str_eq(out[2].scheme, "world");
	zk_acl_list_free(out, n);
	ck_assert_int_eq(zk_acl_fixup(auth, 1, ids, 1, &out, &n), ZK_EINVALIDACL); /* auth, no user */
	static const struct zk_acl bad_world[] = { { ZK_PERM_ALL, "world", "someone" } };
	ck_assert_int_eq(zk_acl_fixup(bad_world, 1, ids, 1, &out, &n), ZK_EINVALIDACL);
	static const struct zk_acl bad_ip[] = { { ZK_PERM_ALL, "ip", "10.0.0.0/33" } };
	ck_assert_int_eq(zk_acl_fixup(bad_ip, 1, ids, 1, &out, &n), ZK_EINVALIDACL);
	static const struct zk_acl bad_digest[] = { { ZK_PERM_ALL, "digest", "nocolon" } };
	ck_assert_int_eq(zk_acl_fixup(bad_digest, 1, ids, 1, &out, &n), ZK_EINVALIDACL);
	static const struct zk_acl unknown[] = { { ZK_PERM_ALL, "kerberos", "x" } };
	ck_assert_int_eq(zk_acl_fixup(unknown, 1, ids, 1, &out, &n), ZK_EINVALIDACL);
	ck_assert_int_eq(zk_acl_fixup(NULL, 0, ids, 1, &out, &n), ZK_EINVALIDACL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zk_session_acl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_session_ids);
	tcase_add_test(tc, test_expiry_buckets);
	tcase_add_test(tc, test_negotiate);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_fixup);
	suite_add_tcase(s, tc);
	return check_run(s);
}

/*
 * Unit tests for coord/jute: request frames built from zookeeper.jute's layouts decode field by
 * field; truncation at every byte gives an error, never a crash; huge counts and lengths are
 * refused before allocation; replies encode as ZooKeeper's records.
 */
#include "buf.h"
#include "err.h"
#include "jute.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void put_str(struct wbuf *w, const char *s)
{
	wbuf_str_i32(w, s);
}

static struct wbuf create_frame(void)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 7);  /* xid */
	wbuf_i32(&w, 15); /* create2 */
	put_str(&w, "/app/node");
	wbuf_bytes_i32(&w, "data", 4);
	wbuf_i32(&w, 2);
	wbuf_i32(&w, ZK_PERM_ALL);
	put_str(&w, "world");
	put_str(&w, "anyone");
	wbuf_i32(&w, ZK_PERM_READ);
	put_str(&w, "digest");
	put_str(&w, "u:h");
	wbuf_i32(&w, 3); /* ephemeral sequential */
	return w;
}

START_TEST(test_create)
{
	struct wbuf w = create_frame();
	struct jute_arena a;
	struct jute_req q;
	jute_arena_init(&a, 1 << 20);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert_int_eq(q.xid, 7);
	ck_assert_int_eq(q.type, 15);
	ck_assert_str_eq(q.path, "/app/node");
	ck_assert_int_eq(q.data_len, 4);
	ck_assert_mem_eq(q.data, "data", 4);
	ck_assert_int_eq(q.n_acl, 2);
	ck_assert_str_eq(q.acl[1].scheme, "digest");
	ck_assert_str_eq(q.acl[1].id, "u:h");
	ck_assert_int_eq(q.acl[1].perms, ZK_PERM_READ);
	ck_assert_int_eq(q.flags, 3);
	ck_assert(!q.bad_string);
	/* every truncation is an error, never a crash */
	for (size_t cut = 0; cut < w.len; cut++) {
		jute_arena_reset(&a);
		ck_assert_int_lt(jute_decode_request(w.p, cut, &a, &q), 0);
	}
	jute_arena_free(&a);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_multi_and_set_watches)
{
	struct wbuf w;
	struct jute_arena a;
	struct jute_req q;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 9);
	wbuf_i32(&w, ZK_OP_MULTI);
	wbuf_i32(&w, ZK_OP_CHECK); wbuf_bool(&w, false); wbuf_i32(&w, -1);
	put_str(&w, "/a"); wbuf_i32(&w, 4);
	wbuf_i32(&w, ZK_OP_DELETE); wbuf_bool(&w, false); wbuf_i32(&w, -1);
	put_str(&w, "/a/b"); wbuf_i32(&w, -1);
	wbuf_i32(&w, ZK_OP_SETDATA); wbuf_bool(&w, false); wbuf_i32(&w, -1);
	put_str(&w, "/a"); wbuf_bytes_i32(&w, NULL, 0); wbuf_i32(&w, 2);
	wbuf_i32(&w, -1); wbuf_bool(&w, true); wbuf_i32(&w, -1);
	jute_arena_init(&a, 1 << 20);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert_int_eq(q.n_ops, 3);
	ck_assert_int_eq(q.ops[0].type, ZK_OP_CHECK);
	ck_assert_int_eq(q.ops[0].version, 4);
	ck_assert_str_eq(q.ops[1].path, "/a/b");
	ck_assert_ptr_null(q.ops[2].data);
	ck_assert_int_eq(q.ops[2].data_len, -1);
	/* an op type that may not appear in a multi */
	wbuf_reset(&w);
	wbuf_i32(&w, 9); wbuf_i32(&w, ZK_OP_MULTI);
	wbuf_i32(&w, ZK_OP_PING); wbuf_bool(&w, false); wbuf_i32(&w, -1);
	jute_arena_reset(&a);
	ck_assert_int_lt(jute_decode_request(w.p, w.len, &a, &q), 0);
	/* setWatches2: five lists */
	wbuf_reset(&w);
	wbuf_i32(&w, -8); wbuf_i32(&w, ZK_OP_SETWATCHES2); wbuf_i64(&w, 42);
	for (int k = 0; k < 5; k++) {
		wbuf_i32(&w, 1);
		put_str(&w, k == 4 ? "/deep" : "/x");
	}
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert(q.relative_zxid == 42);
	ck_assert_int_eq(q.n_watches[4], 1);
	ck_assert_str_eq(q.watches[4][0], "/deep");
	jute_arena_free(&a);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_hostile_lengths)
{
	struct wbuf w;
	struct jute_arena a;
	struct jute_req q;
	wbuf_init(&w, 1 << 20);
	jute_arena_init(&a, 1 << 20);
	/* a path claiming 2 GiB */
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_GETDATA); wbuf_i32(&w, 0x7fffffff); wbuf_raw(&w, "/x", 2);
	ck_assert_int_lt(jute_decode_request(w.p, w.len, &a, &q), 0);
	/* an ACL vector claiming a billion entries */
	wbuf_reset(&w);
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_SETACL); put_str(&w, "/x"); wbuf_i32(&w, 1000000000);
	jute_arena_reset(&a);
	ck_assert_int_lt(jute_decode_request(w.p, w.len, &a, &q), 0);
	/* a NUL inside a path is flagged, not silently cut: the bytes as sent are kept */
	wbuf_reset(&w);
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_GETDATA); wbuf_bytes_i32(&w, "/a\0b", 4); wbuf_bool(&w, false);
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert(q.path_nul);
	ck_assert(!q.bad_string);
	ck_assert_int_eq(q.path_len, 4);
	ck_assert_mem_eq(q.path, "/a\0b", 4);
	/* a null path is told apart from an empty one */
	wbuf_reset(&w);
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_GETDATA); wbuf_i32(&w, -1); wbuf_bool(&w, false);
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert(q.path == NULL && q.path_len == -1 && !q.path_nul);
	wbuf_reset(&w);
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_GETDATA); wbuf_i32(&w, 0); wbuf_bool(&w, false);
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert(q.path && !q.path[0] && q.path_len == 0 && !q.path_nul);
	/* a NUL in any other string (an ACL id) is a bad string */
	wbuf_reset(&w);
	wbuf_i32(&w, 1); wbuf_i32(&w, ZK_OP_SETACL); put_str(&w, "/x"); wbuf_i32(&w, 1);
	wbuf_i32(&w, 31); put_str(&w, "digest"); wbuf_bytes_i32(&w, "u\0:h", 4); wbuf_i32(&w, -1);
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), 0);
	ck_assert(q.bad_string && !q.path_nul);
	/* unknown opcode: xid and type reported */
	wbuf_reset(&w);
	wbuf_i32(&w, 33); wbuf_i32(&w, 999);
	jute_arena_reset(&a);
	ck_assert_int_eq(jute_decode_request(w.p, w.len, &a, &q), ERR_PROTO);
	ck_assert_int_eq(q.xid, 33);
	ck_assert_int_eq(q.type, 999);
	jute_arena_free(&a);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_connect)
{
	struct wbuf w;
	struct jute_connect_req c;
	uint8_t pw[16];
	memset(pw, 7, sizeof(pw));
	wbuf_init(&w, 1024);
	wbuf_i32(&w, 0); wbuf_i64(&w, 0x1234); wbuf_i32(&w, 30000); wbuf_i64(&w, 0x55); wbuf_bytes_i32(&w, pw, 16);
	ck_assert_int_eq(jute_decode_connect(w.p, w.len, &c), 0);
	ck_assert(!c.has_read_only); /* an old client */
	ck_assert(c.last_zxid_seen == 0x1234 && c.session_id == 0x55 && c.timeout == 30000);
	ck_assert_int_eq(c.passwd_len, 16);
	wbuf_bool(&w, true);
	ck_assert_int_eq(jute_decode_connect(w.p, w.len, &c), 0);
	ck_assert(c.has_read_only && c.read_only);
	ck_assert_int_lt(jute_decode_connect(w.p, 20, &c), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_reply_encoding)
{
	struct wbuf w;
	wbuf_init(&w, 4096);
	size_t off = jute_frame_begin(&w);
	jute_put_reply_header(&w, 5, 0x100000002LL, ZK_ENONODE);
	struct zk_stat st;
	memset(&st, 0, sizeof(st)); /* padding too: compared with memcmp below */
	st.czxid = 1, st.mzxid = 2, st.ctime = 3, st.mtime = 4, st.version = 5, st.cversion = 6;
	st.aversion = 7, st.ephemeral_owner = 8, st.data_length = 9, st.num_children = 10, st.pzxid = 11;
	jute_put_stat(&w, &st);
	jute_frame_end(&w, off);
	ck_assert_uint_eq(w.len, 4 + 16 + 68); /* Stat is 68 bytes on the wire */
	ck_assert_uint_eq(be32_get(w.p), 16 + 68);
	struct jute_reply_header h;
	size_t used;
	ck_assert_int_eq(jute_read_reply_header(w.p + 4, w.len - 4, &h, &used), 0);
	ck_assert(h.xid == 5 && h.zxid == 0x100000002LL && h.err == ZK_ENONODE);
	struct zk_stat back;
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(jute_read_stat(w.p + 4 + used, w.len - 4 - used, &back), 0);
	ck_assert_mem_eq(&back, &st, sizeof(st));
	wbuf_free(&w);
}
END_TEST

START_TEST(test_masked_acl)
{
	/* ZooKeeper's getACL without ADMIN: id.replaceAll(":.*", ":x") on digest ids only */
	static const struct zk_acl acl[] = { { 31, "digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" },
					     { 1, "world", "anyone" },
					     { 1, "ip", "10.0.0.0:8" },
					     { 2, "digest", "a:b\nc:d" } };
	struct wbuf w;
	wbuf_init(&w, 4096);
	jute_put_acl_list_masked(&w, acl, 4);
	struct wbuf e;
	wbuf_init(&e, 4096);
	wbuf_i32(&e, 4);
	wbuf_i32(&e, 31), put_str(&e, "digest"), put_str(&e, "alice:x");
	wbuf_i32(&e, 1), put_str(&e, "world"), put_str(&e, "anyone");
	wbuf_i32(&e, 1), put_str(&e, "ip"), put_str(&e, "10.0.0.0:8");
	wbuf_i32(&e, 2), put_str(&e, "digest"), put_str(&e, "a:x\nc:x"); /* '.' stops at a newline */
	ck_assert_uint_eq(w.len, e.len);
	ck_assert_mem_eq(w.p, e.p, e.len);
	wbuf_free(&w);
	wbuf_free(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jute");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_multi_and_set_watches);
	tcase_add_test(tc, test_hostile_lengths);
	tcase_add_test(tc, test_connect);
	tcase_add_test(tc, test_reply_encoding);
	tcase_add_test(tc, test_masked_acl);
	suite_add_tcase(s, tc);
	return check_run(s);
}

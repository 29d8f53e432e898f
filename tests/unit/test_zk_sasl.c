/*
 * Unit tests of zk_sasl (DIGEST-MD5 as ZooKeeper's server) and common/jaas: RFC 2831's own
 * example digest and rspauth, a whole exchange as kazoo and the Java client run it, refusals
 * (wrong password, unknown user, another nonce or digest-uri, tokens after the end), the response
 * parser's refusals, and JAAS sections and entries.
 */
#include "buf.h"
#include "err.h"
#include "jaas.h"
#include "zk_sasl.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (const uint8_t *)(x), strlen(x)
#define T(x) (x), strlen(x)

START_TEST(test_rfc2831_example)
{
	/* RFC 2831 section 4, the IMAP example */
	const char *resp = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
			   "nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\","
			   "response=d388dad90d4bbd760a152321f2143af7,qop=auth";
	struct zk_sasl_resp r;
	char eb[256], hex[33];
	ck_assert_int_eq(zk_sasl_parse_response(S(resp), &r, eb, sizeof(eb)), 0);
	ck_assert_str_eq(r.username, "chris");
	ck_assert_str_eq(r.cnonce, "OA6MHXh6VqTrRk");
	zk_sasl_digest(&r, "secret", false, hex);
	ck_assert_str_eq(hex, "d388dad90d4bbd760a152321f2143af7");
	zk_sasl_digest(&r, "secret", true, hex);
	ck_assert_str_eq(hex, "ea40f60335c427b5527b84dbabcdfffd");
}
END_TEST

static struct zk_sasl_users *users(void)
{
	struct zk_sasl_users *u = calloc(1, sizeof(*u));
	u->names[0] = strdup("bob");
	u->passwords[0] = strdup("bob-secret");
	u->n = 1;
	return u;
}

/* The client's response to challenge ch for user/password, as a client computes it. */
static void client_response(const char *ch, const char *user, const char *pw, const char *uri, char *out, size_t n)
{
	const char *np = strstr(ch, "nonce=\"");
	ck_assert_ptr_nonnull(np);
	char nonce[64];
	snprintf(nonce, sizeof(nonce), "%.*s", (int)strcspn(np + 7, "\""), np + 7);
	struct zk_sasl_resp r = { 0 };
	snprintf(r.username, sizeof(r.username), "%s", user);
	snprintf(r.realm, sizeof(r.realm), "zk-sasl-md5");
	r.has_realm = true;
	snprintf(r.nonce, sizeof(r.nonce), "%s", nonce);
	snprintf(r.cnonce, sizeof(r.cnonce), "c1c2c3");
	snprintf(r.nc, sizeof(r.nc), "00000001");
	snprintf(r.qop, sizeof(r.qop), "auth");
	snprintf(r.digest_uri, sizeof(r.digest_uri), "%s", uri);
	char hex[33];
	zk_sasl_digest(&r, pw, false, hex);
	snprintf(out, n,
		 "username=\"%s\",realm=\"zk-sasl-md5\",nonce=\"%s\",cnonce=\"c1c2c3\",nc=00000001,qop=auth,"
		 "digest-uri=\"%s\",response=%s",
		 user, nonce, uri, hex);
}

static enum zk_sasl_state exchange(struct zk_sasl_users *u, const char *user, const char *pw, const char *uri,
				   struct zk_sasl_conv *c, char *eb)
{
	static const uint8_t nonce[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	ck_assert_int_eq(zk_sasl_step(u, c, NULL, -1, nonce, &w, eb, 256), ZK_SASL_CHALLENGED);
	char ch[512], resp[1024];
	snprintf(ch, sizeof(ch), "%.*s", (int)w.len, (const char *)w.p);
	ck_assert_ptr_nonnull(strstr(ch, "realm=\"zk-sasl-md5\""));
	ck_assert_ptr_nonnull(strstr(ch, "qop=\"auth\""));
	client_response(ch, user, pw, uri, resp, sizeof(resp));
	wbuf_reset(&w);
	enum zk_sasl_state st = zk_sasl_step(u, c, (const uint8_t *)resp, (int32_t)strlen(resp), nonce, &w, eb, 256);
	if (st == ZK_SASL_DONE)
		ck_assert(w.len == 8 + 32 && !memcmp(w.p, "rspauth=", 8));
	else
		ck_assert_int_eq(w.len, 0);
	wbuf_free(&w);
	return st;
}

START_TEST(test_exchange)
{
	struct zk_sasl_users *u = users();
	struct zk_sasl_conv c = { 0 };
	char eb[256];
	ck_assert_int_eq(exchange(u, "bob", "bob-secret", "zookeeper/zk-sasl-md5", &c, eb), ZK_SASL_DONE);
	ck_assert_str_eq(c.user, "bob");
	/* nothing after the end */
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(zk_sasl_step(u, &c, S("x"), NULL, &w, eb, sizeof(eb)), ZK_SASL_FAILED);
	wbuf_free(&w);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(exchange(u, "bob", "wrong", "zookeeper/zk-sasl-md5", &c, eb), ZK_SASL_FAILED);
	ck_assert_ptr_nonnull(strstr(eb, "wrong password"));
	ck_assert_ptr_null(strstr(eb, "bob-secret"));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(exchange(u, "mallory", "bob-secret", "zookeeper/zk-sasl-md5", &c, eb), ZK_SASL_FAILED);
	ck_assert_ptr_nonnull(strstr(eb, "no such user"));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(exchange(u, "bob", "bob-secret", "imap/elsewhere", &c, eb), ZK_SASL_FAILED);
	/* SASL not configured */
	memset(&c, 0, sizeof(c));
	wbuf_init(&w, 1024);
	static const uint8_t n16[16];
	ck_assert_int_eq(zk_sasl_step(NULL, &c, NULL, -1, n16, &w, eb, sizeof(eb)), ZK_SASL_FAILED);
	wbuf_free(&w);
	zk_sasl_users_free(u);
}
END_TEST

START_TEST(test_parse_refusals)
{
	struct zk_sasl_resp r;
	char eb[256];
	static const char *const bad[] = {
		"username=\"a\"",							 /* missing directives */
		"username=\"a\",username=\"b\",nonce=n,cnonce=c,nc=1,digest-uri=u,response=r", /* repeated */
		"username=\"a,nonce=n,cnonce=c,nc=1,digest-uri=u,response=r",		 /* unterminated */
		"username=\"a\"x,nonce=n,cnonce=c,nc=1,digest-uri=u,response=r",	 /* text after a quote */
		"username,nonce=n",							 /* no '=' */
		"username=a,nonce=n,cnonce=c,nc=00000001,digest-uri=u,response=0123456789012345678901234567890123456789",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(zk_sasl_parse_response(S(bad[i]), &r, eb, sizeof(eb)) == ERR_PROTO, "accepted %s", bad[i]);
	/* escapes and unknown directives */
	ck_assert_int_eq(zk_sasl_parse_response(S("username=\"a\\\"b\",nonce=n,cnonce=c,nc=1,digest-uri=u,"
						    "response=r,maxbuf=65536,charset=utf-8"),
						  &r, eb, sizeof(eb)),
			 0);
	ck_assert_str_eq(r.username, "a\"b");
	ck_assert_str_eq(r.qop, "auth");
}
END_TEST

static void count_opt(const char *key, const char *value, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s=%s;", key, value);
}

static void keep_entry(const char *s, size_t n, void *arg)
{
	char *out = arg;
	size_t k = strlen(out);
	snprintf(out + k, 512 - k, "[%.*s]", (int)n, s);
}

START_TEST(test_jaas)
{
	char module[128], opts[256] = "", eb[256], entries[512] = "";
	ck_assert_int_eq(jaas_entry_parse(T("org.example.Plain required username=\"admin\" pw=\"a \\\"q\\\" b\";"),
					  module, sizeof(module), count_opt, opts, eb, sizeof(eb)),
			 0);
	ck_assert_str_eq(module, "org.example.Plain");
	ck_assert_str_eq(opts, "username=admin;pw=a \"q\" b;");
	ck_assert_int_eq(jaas_entry_parse(T("m maybe a=\"b\";"), module, sizeof(module), count_opt, opts, eb, sizeof(eb)),
			 ERR_PROTO);
	ck_assert_int_eq(jaas_entry_parse(T("m required a=\"b\""), module, sizeof(module), count_opt, opts, eb, sizeof(eb)),
			 ERR_PROTO);
	const char *file = "// comment\nClient { c.M required x=\"1\"; };\n/* block */ Server {\n"
			   "  s.A required user_a=\"1\";\n  s.B optional;\n};\n";
	ck_assert_int_eq(jaas_section(file, "Server", keep_entry, entries, eb, sizeof(eb)), 0);
	ck_assert_str_eq(entries, "[s.A required user_a=\"1\";][s.B optional;]");
	ck_assert_int_eq(jaas_section(file, "Nope", keep_entry, entries, eb, sizeof(eb)), ERR_NOTFOUND);
	ck_assert_int_eq(jaas_section("Server { a required x=\"1\" };", "Server", keep_entry, entries, eb, sizeof(eb)),
			 ERR_PROTO);
}
END_TEST

static Suite *zk_sasl_suite(void)
{
	Suite *s = suite_create("zk_sasl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_rfc2831_example);
	tcase_add_test(tc, test_exchange);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_jaas);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zk_sasl_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

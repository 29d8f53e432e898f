/*
 * Unit tests of ksauth (broker/api): a broker with one SASL_PLAINTEXT listener offering PLAIN
 * (users from its JAAS entry) and SCRAM-SHA-256, and no coordinator, serves connections over a
 * bufferevent pair: ApiVersions before authentication; SaslHandshake v1 then SaslAuthenticate
 * with the right password authenticates (User:alice on the connection, then Metadata is
 * served); a wrong password gets SASL_AUTHENTICATION_FAILED with Kafka's message and the close;
 * SaslHandshake v0 then a raw token (kafka-python's exchange); an unsupported mechanism gets
 * UNSUPPORTED_SASL_MECHANISM with the enabled list and the close; a Metadata request before
 * authentication closes at once; SCRAM without a reachable coordinator fails cleanly; the
 * configuration refuses a listener without a mechanism samsa offers.
 */
#include "err.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kb_config.h"
#include "kconn.h"
#include "ksauth.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static struct broker tb;
static struct kb_config tcfg;
static struct kb_kv tkv[1];
static struct bufferevent *tpair[2];

static void setup(void)
{
	log_set_level(LOG_FATAL);
	memset(&tb, 0, sizeof(tb));
	memset(&tcfg, 0, sizeof(tcfg));
	tcfg.socket_request_max_bytes = 1 << 20;
	tcfg.sasl_auth_timeout_ms = 10000;
	tcfg.sasl_enabled_mechanisms = (char *)"PLAIN, SCRAM-SHA-256";
	tcfg.n_listeners = 1;
	snprintf(tcfg.listener[0].name, sizeof(tcfg.listener[0].name), "SASL_PLAINTEXT");
	tcfg.listener[0].security = KB_SEC_SASL_PLAINTEXT;
	tkv[0].key = (char *)"listener.name.sasl_plaintext.plain.sasl.jaas.config";
	tkv[0].value = (char *)"org.apache.kafka.common.security.plain.PlainLoginModule required "
			       "user_alice=\"alice-secret\" user_bob=\"b\";";
	tcfg.lname = tkv;
	tcfg.n_lname = 1;
	tb.cfg = &tcfg;
	tb.base = event_base_new();
	LIST_INIT(&tb.topics);
	LIST_INIT(&tb.conns);
	LIST_INIT(&tb.waits);
	LIST_INIT(&tb.flush_waits);
	LIST_INIT(&tb.prod_waits);
	char eb[512];
	ck_assert_int_eq(ksauth_conf_new(&tcfg, &tb.sasl, eb, sizeof(eb)), 0);
	ck_assert_ptr_nonnull(tb.sasl);
	ck_assert_int_eq(bufferevent_pair_new(tb.base, 0, tpair), 0);
	ck_assert_int_eq(kconn_accept_bev(&tb, tpair[0], 0), 0);
	bufferevent_enable(tpair[1], EV_READ | EV_WRITE);
}

static void teardown(void)
{
	kconn_close_all(&tb);
	event_base_loop(tb.base, EVLOOP_NONBLOCK);
	bufferevent_free(tpair[1]);
	ksauth_conf_free(tb.sasl);
	event_base_free(tb.base);
}

static void pump(void)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(tb.base, EVLOOP_NONBLOCK);
}

static void send_frame(const void *p, size_t n)
{
	uint8_t l[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	bufferevent_write(tpair[1], l, 4);
	bufferevent_write(tpair[1], p, n);
	pump();
}

static void send_req(int16_t key, int16_t ver, const void *body, size_t n)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i16(&w, key);
	wbuf_i16(&w, ver);
	wbuf_i32(&w, 7);
	wbuf_str_i16(&w, "t");
	wbuf_raw(&w, body, n);
	send_frame(w.p, w.len);
	wbuf_free(&w);
}

/* The next response frame (without its length) into out; its length, or -1 when none. */
static int recv_frame(uint8_t *out, size_t cap)
{
	struct evbuffer *in = bufferevent_get_input(tpair[1]);
	uint8_t l[4];
	if (evbuffer_copyout(in, l, 4) != 4)
		return -1;
	size_t n = (size_t)l[0] << 24 | (size_t)l[1] << 16 | (size_t)l[2] << 8 | l[3];
	if (evbuffer_get_length(in) < 4 + n || n > cap)
		return -1;
	evbuffer_drain(in, 4);
	evbuffer_remove(in, out, n);
	return (int)n;
}

static struct kconn *the_conn(void)
{
	return LIST_FIRST(&tb.conns);
}

static void handshake(int16_t ver, const char *mech)
{
	struct wbuf w;
	wbuf_init(&w, 256);
	wbuf_str_i16(&w, mech);
	send_req(API_SASL_HANDSHAKE, ver, w.p, w.len);
	wbuf_free(&w);
}

static void authenticate(const void *tok, size_t n)
{
	struct wbuf w;
	wbuf_init(&w, 1024);
	wbuf_bytes_i32(&w, tok, (int32_t)n);
	send_req(API_SASL_AUTHENTICATE, 1, w.p, w.len);
	wbuf_free(&w);
}

START_TEST(test_plain_v1_right_password)
{
	uint8_t f[4096];
	send_req(API_API_VERSIONS, 0, NULL, 0); /* served before authentication */
	ck_assert_int_gt(recv_frame(f, sizeof(f)), 6);
	ck_assert_int_eq(f[4] << 8 | f[5], 0);
	handshake(1, "PLAIN");
	int n = recv_frame(f, sizeof(f));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(f[4] << 8 | f[5], 0); /* error_code */
	ck_assert(memmem(f, (size_t)n, "SCRAM-SHA-256", 13));
	authenticate("\0alice\0alice-secret", 19);
	n = recv_frame(f, sizeof(f));
	ck_assert_int_eq(n, 4 + 2 + 2 + 4 + 8); /* corr, error, null message, no bytes, lifetime */
	ck_assert_int_eq(f[4] << 8 | f[5], 0);
	ck_assert_ptr_nonnull(the_conn());
	ck_assert(ksauth_done(the_conn()->auth));
	ck_assert_str_eq(the_conn()->principal, "User:alice");
	/* a second SaslHandshake after authentication: ILLEGAL_SASL_STATE */
	handshake(1, "PLAIN");
	n = recv_frame(f, sizeof(f));
	ck_assert_int_gt(n, 6);
	ck_assert_int_eq(f[4] << 8 | f[5], 34);
}
END_TEST

START_TEST(test_plain_v1_wrong_password_closes)
{
	uint8_t f[4096];
	handshake(1, "PLAIN");
	ck_assert_int_gt(recv_frame(f, sizeof(f)), 0);
	authenticate("\0alice\0nope", 11);
	int n = recv_frame(f, sizeof(f));
	ck_assert_int_gt(n, 8);
	ck_assert_int_eq(f[4] << 8 | f[5], 58);
	ck_assert(memmem(f, (size_t)n, "Invalid username or password", 28));
	pump();
	ck_assert_ptr_null(the_conn()); /* closed after the answer */
}
END_TEST

START_TEST(test_plain_v0_raw_tokens)
{
	uint8_t f[4096];
	handshake(0, "PLAIN");
	ck_assert_int_gt(recv_frame(f, sizeof(f)), 0);
	ck_assert_int_eq(f[4] << 8 | f[5], 0);
	send_frame("\0bob\0b", 6); /* a raw token, no request header */
	ck_assert_int_eq(recv_frame(f, sizeof(f)), 0); /* an empty token: success */
	ck_assert(ksauth_done(the_conn()->auth));
	ck_assert_str_eq(the_conn()->principal, "User:bob");
}
END_TEST

START_TEST(test_plain_v0_wrong_password_closes)
{
	uint8_t f[4096];
	handshake(0, "PLAIN");
	ck_assert_int_gt(recv_frame(f, sizeof(f)), 0);
	send_frame("\0bob\0x", 6);
	ck_assert_int_eq(recv_frame(f, sizeof(f)), -1); /* nothing: v0 cannot say it */
	ck_assert_ptr_null(the_conn());
}
END_TEST

START_TEST(test_unsupported_mechanism)
{
	uint8_t f[4096];
	handshake(1, "GSSAPI");
	int n = recv_frame(f, sizeof(f));
	ck_assert_int_gt(n, 10);
	ck_assert_int_eq(f[4] << 8 | f[5], 33);
	ck_assert_int_eq(f[9], 2); /* PLAIN, SCRAM-SHA-256 */
	pump();
	ck_assert_ptr_null(the_conn());
}
END_TEST

START_TEST(test_other_request_before_authentication_closes)
{
	uint8_t f[64];
	uint8_t body[4] = { 0xff, 0xff, 0xff, 0xff };
	send_req(API_METADATA, 1, body, 4);
	ck_assert_int_eq(recv_frame(f, sizeof(f)), -1);
	ck_assert_ptr_null(the_conn());
}
END_TEST

START_TEST(test_scram_without_coordinator_fails_cleanly)
{
	uint8_t f[4096];
	handshake(1, "SCRAM-SHA-256");
	ck_assert_int_gt(recv_frame(f, sizeof(f)), 0);
	const char *first = "n,,n=alice,r=abcdef";
	authenticate(first, strlen(first));
	int n = recv_frame(f, sizeof(f));
	ck_assert_int_gt(n, 8);
	ck_assert_int_eq(f[4] << 8 | f[5], 58);
	ck_assert(memmem(f, (size_t)n, "SCRAM-SHA-256", 13));
	pump();
	ck_assert_ptr_null(the_conn());
}
END_TEST

START_TEST(test_too_many_requests_before_authentication)
{
	uint8_t f[4096];
	for (int i = 0; i < KSAUTH_MAX_FRAMES; i++) {
		send_req(API_API_VERSIONS, 0, NULL, 0);
		ck_assert_int_gt(recv_frame(f, sizeof(f)), 0);
	}
	send_req(API_API_VERSIONS, 0, NULL, 0);
	ck_assert_int_eq(recv_frame(f, sizeof(f)), -1);
	ck_assert_ptr_null(the_conn());
}
END_TEST

START_TEST(test_conf_refuses_gssapi_only)
{
	struct kb_config c = tcfg;
	c.sasl_enabled_mechanisms = (char *)"GSSAPI";
	struct ksauth_conf *sc = NULL;
	char eb[512];
	ck_assert_int_eq(ksauth_conf_new(&c, &sc, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_ptr_null(sc);
	ck_assert(strstr(eb, "GSSAPI"));
	c.sasl_enabled_mechanisms = (char *)"PLAIN";
	c.n_lname = 0;
	ck_assert_int_eq(ksauth_conf_new(&c, &sc, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert(strstr(eb, "plain.sasl.jaas.config"));
}
END_TEST

static Suite *ksauth_suite(void)
{
	Suite *s = suite_create("ksauth");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_plain_v1_right_password);
	tcase_add_test(tc, test_plain_v1_wrong_password_closes);
	tcase_add_test(tc, test_plain_v0_raw_tokens);
	tcase_add_test(tc, test_plain_v0_wrong_password_closes);
	tcase_add_test(tc, test_unsupported_mechanism);
	tcase_add_test(tc, test_other_request_before_authentication_closes);
	tcase_add_test(tc, test_scram_without_coordinator_fails_cleanly);
	tcase_add_test(tc, test_too_many_requests_before_authentication);
	tcase_add_test(tc, test_conf_refuses_gssapi_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ksauth_suite());
}

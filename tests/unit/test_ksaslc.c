/*
 * Unit tests of the SASL client's side (broker/wire ksaslc, and ksasl's client decoders):
 * SaslHandshake and SaslAuthenticate answers decoded from what the server's encoders write, every
 * truncation refused; SCRAM's client messages against RFC 7677's SHA-256 example (the
 * client-final-message and its proof exactly, the server signature checked); a server-first-
 * message whose nonce is not ours, with iterations out of Kafka's bounds or cut anywhere,
 * refused; whole exchanges of ksaslc against the broker's server-side functions for PLAIN and
 * SCRAM-SHA-512, a refusal carrying the server's message, a mechanism the server lacks, a server
 * that does not know the password.
 */
#include "buf.h"
#include "err.h"
#include "ksasl.h"
#include "ksaslc.h"
#include "kwire.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_handshake_resp)
{
	static const char *const mechs[] = { "PLAIN", "SCRAM-SHA-256" };
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(ksasl_handshake_resp_encode(&w, 0, mechs, 2), 0);
	int16_t err = -1;
	bool has = false;
	char offered[64];
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(ksasl_handshake_resp_decode(&r, "SCRAM-SHA-256", &err, &has, offered, sizeof(offered)), 0);
	ck_assert_int_eq(err, 0);
	ck_assert(has);
	ck_assert_str_eq(offered, "PLAIN,SCRAM-SHA-256");
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(ksasl_handshake_resp_decode(&r, "SCRAM-SHA-512", &err, &has, offered, 8), 0);
	ck_assert(!has);
	ck_assert_str_eq(offered, "PLAIN,S"); /* cut to fit */
	for (size_t n = 0; n < w.len; n++) {
		r = rbuf_make(w.p, n);
		ck_assert_int_eq(ksasl_handshake_resp_decode(&r, "PLAIN", &err, &has, offered, sizeof(offered)), ERR_PROTO);
	}
	/* a count far over the bytes left */
	uint8_t huge[] = { 0, 0, 0x7f, 0xff, 0xff, 0xff };
	r = rbuf_make(huge, sizeof(huge));
	ck_assert_int_eq(ksasl_handshake_resp_decode(&r, "PLAIN", &err, &has, offered, sizeof(offered)), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_auth_resp)
{
	for (int16_t ver = 0; ver <= 1; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1024);
		ck_assert_int_eq(ksasl_auth_resp_encode(&w, ver, 58, "bad\npassword", (const uint8_t *)"tok", 3, 0), 0);
		int16_t err = 0;
		char msg[64];
		const uint8_t *tok;
		size_t tl;
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(ksasl_auth_resp_decode(&r, ver, &err, msg, sizeof(msg), &tok, &tl), 0);
		ck_assert_int_eq(err, 58);
		ck_assert_str_eq(msg, "bad?password"); /* control bytes made '?' */
		ck_assert_uint_eq(tl, 3);
		ck_assert(!memcmp(tok, "tok", 3));
		for (size_t n = 0; n < w.len; n++) {
			r = rbuf_make(w.p, n);
			ck_assert_int_eq(ksasl_auth_resp_decode(&r, ver, &err, msg, sizeof(msg), &tok, &tl), ERR_PROTO);
		}
		wbuf_free(&w);
		/* a null message */
		wbuf_init(&w, 1024);
		ksasl_auth_resp_encode(&w, ver, 0, NULL, NULL, 0, 0);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(ksasl_auth_resp_decode(&r, ver, &err, msg, sizeof(msg), &tok, &tl), 0);
		ck_assert_str_eq(msg, "");
		wbuf_free(&w);
	}
}
END_TEST

static const char *const RFC_SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
					    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

/* A SCRAM-SHA-256 client for user "user" / "pencil" with RFC 7677's client nonce. */
static void rfc_client(struct ksasl_scram_client *sc)
{
	char first[256];
	ck_assert_int_gt(ksasl_scram_client_first(sc, KSASL_SCRAM_SHA_256, "user", "pencil", first, sizeof(first)), 0);
	ck_assert(!strncmp(first, "n,,n=user,r=", 12));
	snprintf(sc->nonce, sizeof(sc->nonce), "rOprNGfwEbeRWgbNEkqO");
	snprintf(sc->first_bare, sizeof(sc->first_bare), "n=user,r=rOprNGfwEbeRWgbNEkqO");
}

START_TEST(test_scram_client_rfc7677)
{
	struct ksasl_scram_client sc;
	rfc_client(&sc);
	char final[512];
	int n = ksasl_scram_client_final(&sc, (const uint8_t *)RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), final,
					 sizeof(final));
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(final, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	const char *ok = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
	ck_assert_int_eq(ksasl_scram_client_check(&sc, (const uint8_t *)ok, strlen(ok)), 0);
	const char *bad[] = { "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", "e=invalid-proof", "v=", "",
			      "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ksasl_scram_client_check(&sc, (const uint8_t *)bad[i], strlen(bad[i])), ERR_PROTO);
	/* the user name escaped */
	char first[256];
	ck_assert_int_gt(ksasl_scram_client_first(&sc, KSASL_SCRAM_SHA_512, "a,b=c", "x", first, sizeof(first)), 0);
	ck_assert(!strncmp(first, "n,,n=a=2Cb=3Dc,r=", 17));
	struct ksasl_scram_first f;
	ck_assert_int_eq(ksasl_scram_first_decode((const uint8_t *)first, strlen(first), &f), 0);
	ck_assert_str_eq(f.user, "a,b=c");
	ck_assert_int_eq(ksasl_scram_client_first(&sc, KSASL_PLAIN, "u", "x", first, sizeof(first)), -1);
}
END_TEST

START_TEST(test_scram_client_refusals)
{
	const char *bad[] = {
		"r=someoneelse%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",		/* not our nonce */
		"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",		/* no server part */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",	/* too few */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16385",	/* too many */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", /* overflow */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4x96",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=!!!!,i=4096",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096",
		"r=rOprNGfwEbeRWgbNEkqO%hv,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"m=ext,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	};
	char final[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ksasl_scram_client sc;
		rfc_client(&sc);
		ck_assert_int_eq(ksasl_scram_client_final(&sc, (const uint8_t *)bad[i], strlen(bad[i]), final, sizeof(final)),
				 -1);
	}
	/* every prefix of a good one (a copy of exactly that many bytes: nothing read past it) */
	size_t len = strlen(RFC_SERVER_FIRST);
	for (size_t n = 0; n < len; n++) {
		struct ksasl_scram_client sc;
		rfc_client(&sc);
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, RFC_SERVER_FIRST, n);
		int rc = ksasl_scram_client_final(&sc, cut, n, final, sizeof(final));
		/* "i=409" is a valid message with too few iterations: refused too */
		ck_assert_int_eq(rc, -1);
		free(cut);
	}
	/* the final message does not fit */
	struct ksasl_scram_client sc;
	rfc_client(&sc);
	ck_assert_int_eq(ksasl_scram_client_final(&sc, (const uint8_t *)RFC_SERVER_FIRST, len, final, 20), -1);
}
END_TEST

/* The frame ksaslc wrote: checks the header (api, version 1, correlation id, client id) and
 * returns a reader at the body. */
static struct rbuf frame_body(const struct wbuf *w, int16_t api, int32_t *corr)
{
	struct rbuf r = rbuf_make(w->p, w->len);
	int32_t len;
	int16_t key, ver;
	char client[64];
	bool null;
	ck_assert_int_eq(rbuf_i32(&r, &len), 0);
	ck_assert_uint_eq((size_t)len, w->len - 4);
	rbuf_i16(&r, &key);
	rbuf_i16(&r, &ver);
	rbuf_i32(&r, corr);
	ck_assert_int_eq(kwire_str_read(&r, client, sizeof(client), &null), 0);
	ck_assert_int_eq(key, api);
	ck_assert_int_eq(ver, 1);
	ck_assert_str_eq(client, "samsa-broker-1");
	return r;
}

/* An answer: the correlation id, then body. */
static void answer_start(struct wbuf *a, int32_t corr)
{
	wbuf_reset(a);
	wbuf_i32(a, corr);
}

static void answer_handshake(struct wbuf *a, int32_t corr, int16_t err)
{
	static const char *const mechs[] = { "PLAIN", "SCRAM-SHA-512" };
	answer_start(a, corr);
	ksasl_handshake_resp_encode(a, err, mechs, 2);
}

static void answer_auth(struct wbuf *a, int32_t corr, int16_t err, const char *msg, const char *tok)
{
	answer_start(a, corr);
	ksasl_auth_resp_encode(a, 1, err, msg, (const uint8_t *)tok, tok ? strlen(tok) : 0, 0);
}

/* The token of a SaslAuthenticate v1 frame in w, copied NUL-terminated into out. */
static size_t frame_token(const struct wbuf *w, int32_t *corr, char *out, size_t on)
{
	struct rbuf r = frame_body(w, 36, corr);
	const uint8_t *tok;
	size_t tl;
	ck_assert_int_eq(ksasl_auth_req_decode(&r, 1, &tok, &tl), 0);
	ck_assert_uint_lt(tl, on);
	memcpy(out, tok, tl);
	out[tl] = '\0';
	return tl;
}

START_TEST(test_exchange_plain)
{
	struct ksaslc s;
	struct wbuf w, a;
	char eb[256], tok[512], mech[KSASL_MECH_BUF];
	int32_t corr;
	wbuf_init(&w, 1024);
	wbuf_init(&a, 1024);
	ck_assert_int_eq(ksaslc_start(&s, KSASL_PLAIN, "broker", "s3cret", "samsa-broker-1", 41, &w), 0);
	struct rbuf r = frame_body(&w, 17, &corr);
	ck_assert_int_eq(corr, 42);
	ck_assert_int_eq(ksasl_handshake_req_decode(&r, mech), 0);
	ck_assert_str_eq(mech, "PLAIN");
	answer_handshake(&a, corr, 0);
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), 1);
	size_t tl = frame_token(&w, &corr, tok, sizeof(tok));
	ck_assert_int_eq(corr, 43);
	struct ksasl_plain pl;
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)tok, tl, &pl), 0);
	ck_assert_str_eq(pl.user, "broker");
	ck_assert_str_eq(pl.pass, "s3cret");
	/* an answer of another correlation id is refused */
	struct ksaslc copy = s;
	answer_auth(&a, corr + 1, 0, NULL, NULL);
	ck_assert_int_eq(ksaslc_answer(&copy, a.p, a.len, &w, eb, sizeof(eb)), ERR_PROTO);
	/* the refusal names the server's reason */
	copy = s;
	answer_auth(&a, corr, 58, "Authentication failed: Invalid username or password", NULL);
	ck_assert_int_eq(ksaslc_answer(&copy, a.p, a.len, &w, eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "Invalid username or password"));
	ck_assert_int_eq(copy.step, KSASLC_FAILED);
	/* accepted */
	answer_auth(&a, corr, 0, NULL, NULL);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.step, KSASLC_DONE);
	ck_assert_str_eq(s.pass, ""); /* forgotten */
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), ERR_PROTO);
	/* a server without the mechanism */
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_start(&s, KSASL_SCRAM_SHA_256, "broker", "s3cret", "samsa-broker-1", 0, &w), 0);
	answer_handshake(&a, 1, 33);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "SCRAM-SHA-256 is not enabled there (it offers PLAIN,SCRAM-SHA-512)"));
	wbuf_free(&w);
	wbuf_free(&a);
}
END_TEST

/* A SCRAM-SHA-512 exchange against the broker's server side knowing password server_pw. */
static int scram_exchange(const char *client_pw, const char *server_pw, char *eb, size_t el)
{
	struct ksaslc s;
	struct wbuf w, a;
	char tok[1024], server_first[512], server_final[256];
	static char auth[2 * KSASL_MAX_TOKEN + 600];
	int32_t corr;
	wbuf_init(&w, 1024);
	wbuf_init(&a, 1024);
	ck_assert_int_eq(ksaslc_start(&s, KSASL_SCRAM_SHA_512, "broker", client_pw, "samsa-broker-1", 0, &w), 0);
	frame_body(&w, 17, &corr);
	answer_handshake(&a, corr, 0);
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, el), 1);
	size_t tl = frame_token(&w, &corr, tok, sizeof(tok));
	static struct ksasl_scram_first f;
	ck_assert_int_eq(ksasl_scram_first_decode((const uint8_t *)tok, tl, &f), 0);
	ck_assert_str_eq(f.user, "broker");
	const uint8_t salt[] = "0123456789abcdef";
	struct ksasl_scram_cred cred;
	ck_assert_int_eq(ksasl_scram_cred_make(KSASL_SCRAM_SHA_512, server_pw, salt, 16, 4096, &cred), 0);
	char salt64[32];
	ksasl_b64_encode(salt, 16, salt64);
	snprintf(server_first, sizeof(server_first), "r=%sSRVNONCE,s=%s,i=4096", f.nonce, salt64);
	answer_auth(&a, corr, 0, NULL, server_first);
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, el), 1);
	tl = frame_token(&w, &corr, tok, sizeof(tok));
	static struct ksasl_scram_final g;
	ck_assert_int_eq(ksasl_scram_final_decode((const uint8_t *)tok, tl, &g), 0);
	ck_assert_str_eq(g.cbind, "biws");
	snprintf(auth, sizeof(auth), "%s,%s,%s", f.bare, server_first, g.without_proof);
	uint8_t sig[KSASL_KEY_MAX];
	if (ksasl_scram_verify(KSASL_SCRAM_SHA_512, &cred, auth, g.proof, g.proof_len, sig) == 0) {
		char sig64[100];
		ksasl_b64_encode(sig, cred.key_len, sig64);
		snprintf(server_final, sizeof(server_final), "v=%s", sig64);
		answer_auth(&a, corr, 0, NULL, server_final);
	} else {
		answer_auth(&a, corr, 58, "Authentication failed during authentication due to invalid credentials", NULL);
	}
	int rc = ksaslc_answer(&s, a.p, a.len, &w, eb, el);
	wbuf_free(&w);
	wbuf_free(&a);
	return rc;
}

START_TEST(test_exchange_scram)
{
	char eb[256];
	ck_assert_int_eq(scram_exchange("pw", "pw", eb, sizeof(eb)), 0);
	ck_assert_int_eq(scram_exchange("wrong", "pw", eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "invalid credentials"));
}
END_TEST

/* A server that does not know the password cannot sign: its "v=" is refused. */
START_TEST(test_exchange_scram_fake_server)
{
	struct ksaslc s;
	struct wbuf w, a;
	char eb[256], tok[1024], server_first[512];
	int32_t corr;
	wbuf_init(&w, 1024);
	wbuf_init(&a, 1024);
	ksaslc_start(&s, KSASL_SCRAM_SHA_512, "broker", "pw", "samsa-broker-1", 0, &w);
	frame_body(&w, 17, &corr);
	answer_handshake(&a, corr, 0);
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), 1);
	size_t tl = frame_token(&w, &corr, tok, sizeof(tok));
	static struct ksasl_scram_first f;
	ck_assert_int_eq(ksasl_scram_first_decode((const uint8_t *)tok, tl, &f), 0);
	snprintf(server_first, sizeof(server_first), "r=%sX,s=MDEyMw==,i=4096", f.nonce);
	answer_auth(&a, corr, 0, NULL, server_first);
	wbuf_reset(&w);
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), 1);
	frame_token(&w, &corr, tok, sizeof(tok));
	answer_auth(&a, corr, 0, NULL, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
	ck_assert_int_eq(ksaslc_answer(&s, a.p, a.len, &w, eb, sizeof(eb)), ERR_PROTO);
	ck_assert_ptr_nonnull(strstr(eb, "signature is wrong"));
	wbuf_free(&w);
	wbuf_free(&a);
}
END_TEST

static Suite *ksaslc_suite(void)
{
	Suite *s = suite_create("ksaslc");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_handshake_resp);
	tcase_add_test(tc, test_auth_resp);
	tcase_add_test(tc, test_scram_client_rfc7677);
	tcase_add_test(tc, test_scram_client_refusals);
	tcase_add_test(tc, test_exchange_plain);
	tcase_add_test(tc, test_exchange_scram);
	tcase_add_test(tc, test_exchange_scram_fake_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ksaslc_suite());
}

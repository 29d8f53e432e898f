/*
 * Unit tests of ksasl (broker/wire): SaslHandshake and SaslAuthenticate bodies round-trip and
 * their responses are laid out field by field as the schemas say per version; PLAIN tokens;
 * SCRAM client-first and client-final messages of RFC 7677's SHA-256 example, escapes, channel
 * binding refused; Kafka's credential string; base64 against RFC 4648's vectors; JAAS entries as
 * Kafka's PlainLoginModule is configured, and the broken ones refused.
 */
#include "buf.h"
#include "err.h"
#include "jaas.h"
#include "ksasl.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_handshake)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	ck_assert_int_eq(ksasl_handshake_req_encode(&w, "SCRAM-SHA-512"), 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	char mech[KSASL_MECH_BUF];
	ck_assert_int_eq(ksasl_handshake_req_decode(&r, mech), 0);
	ck_assert_str_eq(mech, "SCRAM-SHA-512");
	/* truncated, null, too long */
	r = rbuf_make(w.p, w.len - 1);
	ck_assert_int_eq(ksasl_handshake_req_decode(&r, mech), ERR_PROTO);
	uint8_t null[2] = { 0xff, 0xff };
	r = rbuf_make(null, 2);
	ck_assert_int_eq(ksasl_handshake_req_decode(&r, mech), ERR_PROTO);
	char longm[100];
	memset(longm, 'X', 99);
	longm[99] = '\0';
	wbuf_reset(&w);
	ksasl_handshake_req_encode(&w, longm);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(ksasl_handshake_req_decode(&r, mech), ERR_PROTO);
	/* response: error, [mechanisms] */
	const char *mechs[] = { "PLAIN", "SCRAM-SHA-256" };
	wbuf_reset(&w);
	ck_assert_int_eq(ksasl_handshake_resp_encode(&w, 33, mechs, 2), 0);
	static const uint8_t want[] = { 0, 33, 0, 0, 0, 2, 0, 5, 'P', 'L', 'A', 'I', 'N', 0, 13, 'S', 'C', 'R', 'A', 'M',
					'-', 'S', 'H', 'A', '-', '2', '5', '6' };
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert(!memcmp(w.p, want, sizeof(want)));
	wbuf_free(&w);
}
END_TEST

START_TEST(test_authenticate)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	for (int16_t ver = 0; ver <= KSASL_AUTH_MAX_VERSION; ver++) {
		wbuf_reset(&w);
		ck_assert_int_eq(ksasl_auth_req_encode(&w, ver, (const uint8_t *)"\0u\0p", 4), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		const uint8_t *tok;
		size_t len;
		ck_assert_int_eq(ksasl_auth_req_decode(&r, ver, &tok, &len), 0);
		ck_assert_uint_eq(len, 4);
		ck_assert(!memcmp(tok, "\0u\0p", 4));
		ck_assert_uint_eq(r.pos, w.len);
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(ksasl_auth_req_decode(&r, ver, &tok, &len), ERR_PROTO);
		}
	}
	/* a token over the bound is refused before it is read */
	uint8_t big[4] = { 0, 0, 0x40, 0x01 };
	struct rbuf r = rbuf_make(big, 4);
	const uint8_t *tok;
	size_t len;
	ck_assert_int_eq(ksasl_auth_req_decode(&r, 0, &tok, &len), ERR_PROTO);
	/* v0 response: error, message (STRING), bytes */
	wbuf_reset(&w);
	ck_assert_int_eq(ksasl_auth_resp_encode(&w, 0, 58, "bad", NULL, 0, 0), 0);
	static const uint8_t v0[] = { 0, 58, 0, 3, 'b', 'a', 'd', 0, 0, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(v0));
	ck_assert(!memcmp(w.p, v0, sizeof(v0)));
	/* v1: + session_lifetime_ms; null message */
	wbuf_reset(&w);
	ksasl_auth_resp_encode(&w, 1, 0, NULL, (const uint8_t *)"v=x", 3, 0);
	static const uint8_t v1[] = { 0, 0, 0xff, 0xff, 0, 0, 0, 3, 'v', '=', 'x', 0, 0, 0, 0, 0, 0, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(v1));
	ck_assert(!memcmp(w.p, v1, sizeof(v1)));
	/* v2: compact fields and tagged fields */
	wbuf_reset(&w);
	ksasl_auth_resp_encode(&w, 2, 0, NULL, (const uint8_t *)"v=x", 3, 0);
	static const uint8_t v2[] = { 0, 0, 0, 4, 'v', '=', 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(v2));
	ck_assert(!memcmp(w.p, v2, sizeof(v2)));
	wbuf_free(&w);
}
END_TEST

START_TEST(test_plain)
{
	struct ksasl_plain pl;
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"\0alice\0secret", 13, &pl), 0);
	ck_assert_str_eq(pl.authzid, "");
	ck_assert_str_eq(pl.user, "alice");
	ck_assert_str_eq(pl.pass, "secret");
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"admin\0alice\0s", 13, &pl), 0);
	ck_assert_str_eq(pl.authzid, "admin");
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"\0alice", 6, &pl), ERR_PROTO);
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"\0\0pw", 4, &pl), ERR_PROTO);
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"\0u\0", 3, &pl), ERR_PROTO);
	ck_assert_int_eq(ksasl_plain_decode((const uint8_t *)"\0u\0p\0q", 6, &pl), ERR_PROTO);
}
END_TEST

static int first(const char *s, struct ksasl_scram_first *f)
{
	return ksasl_scram_first_decode((const uint8_t *)s, strlen(s), f);
}

static int final(const char *s, struct ksasl_scram_final *f)
{
	return ksasl_scram_final_decode((const uint8_t *)s, strlen(s), f);
}

START_TEST(test_scram_messages)
{
	static struct ksasl_scram_first f;
	/* RFC 7677 §3 */
	ck_assert_int_eq(first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &f), 0);
	ck_assert_str_eq(f.gs2, "n,,");
	ck_assert_str_eq(f.user, "user");
	ck_assert_str_eq(f.nonce, "rOprNGfwEbeRWgbNEkqO");
	ck_assert_str_eq(f.bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
	ck_assert_int_eq(first("y,a=adm=2Cin,n=a=3Db=2Cc,r=xyz,tokenauth=true", &f), 0);
	ck_assert_str_eq(f.gs2, "y,a=adm=2Cin,");
	ck_assert_str_eq(f.authzid, "adm,in");
	ck_assert_str_eq(f.user, "a=b,c");
	ck_assert_str_eq(f.bare, "n=a=3Db=2Cc,r=xyz,tokenauth=true");
	ck_assert_int_eq(first("p=tls-unique,,n=user,r=abc", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=us=er,r=abc", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=user=2", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=,r=abc", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=user", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=user,r=", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,m=x,n=user,r=abc", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,r=abc,n=user", &f), ERR_PROTO);
	ck_assert_int_eq(first("n,,n=user,r=a\x01" "b", &f), ERR_PROTO);
	static struct ksasl_scram_final g;
	ck_assert_int_eq(final("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			       "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			       &g),
			 0);
	ck_assert_str_eq(g.cbind, "biws");
	ck_assert_str_eq(g.nonce, "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	ck_assert_str_eq(g.without_proof, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	ck_assert_uint_eq(g.proof_len, 32);
	ck_assert_int_eq(g.proof[0], 0x74);
	ck_assert_int_eq(final("c=biws,r=abc,x=ext,p=AAAA", &g), 0);
	ck_assert_str_eq(g.without_proof, "c=biws,r=abc,x=ext");
	ck_assert_int_eq(final("c=biws,r=abc", &g), ERR_PROTO);
	ck_assert_int_eq(final("c=biws,r=abc,p=AAAA,x=y", &g), ERR_PROTO);
	ck_assert_int_eq(final("c=biws,r=abc,p=AA", &g), ERR_PROTO);
	ck_assert_int_eq(final("r=abc,c=biws,p=AAAA", &g), ERR_PROTO);
	ck_assert_int_eq(final("c=biws,r=abc,p=", &g), ERR_PROTO);
}
END_TEST

START_TEST(test_scram_cred)
{
	struct ksasl_scram_cred c;
	const char *s = "salt=MWx6cjZpZTBpOWlqM3R1b3I0dG9hZGFsZWY=,stored_key=ZXR2cmQ0aGhnZmVkY2JhOTg3NjU0MzIxMGFiY2RlZmc="
			",server_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,iterations=4096";
	ck_assert_int_eq(ksasl_scram_cred_decode(s, strlen(s), &c), 0);
	ck_assert_int_eq(c.iterations, 4096);
	ck_assert_uint_eq(c.key_len, 32);
	ck_assert_uint_eq(c.salt_len, 26);
	ck_assert_int_eq(c.server_key[31], 31);
	char out[512];
	ck_assert_int_eq(ksasl_scram_cred_encode(&c, out, sizeof(out)), 0);
	ck_assert_str_eq(out, s);
	ck_assert_int_eq(ksasl_scram_cred_encode(&c, out, 40), ERR_TOOBIG);
	const char *bad[] = {
		"salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=4096", /* key lengths */
		"salt=AAAA,iterations=4096",
		"salt=AAAA,salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=1",
		"salt=AAAA,stored_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,server_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,iterations=0",
		"salt=AAAA,stored_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,server_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,iterations=99999999999",
		"salt=AAAA,stored_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,server_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,iterations=4096,x=1",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ksasl_scram_cred_decode(bad[i], strlen(bad[i]), &c), ERR_PROTO);
}
END_TEST

/* RFC 7677 §3: user "user", password "pencil" */
START_TEST(test_scram_rfc7677)
{
	uint8_t salt[32];
	size_t sl;
	ck_assert_int_eq(ksasl_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt), &sl), 0);
	struct ksasl_scram_cred c;
	ck_assert_int_eq(ksasl_scram_cred_make(KSASL_SCRAM_SHA_256, "pencil", salt, sl, 4096, &c), 0);
	ck_assert_uint_eq(c.key_len, 32);
	const char *auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
			   "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
			   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	uint8_t proof[32], sig[KSASL_KEY_MAX];
	size_t pl;
	ck_assert_int_eq(ksasl_b64_decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 44, proof, sizeof(proof), &pl), 0);
	ck_assert_int_eq(ksasl_scram_verify(KSASL_SCRAM_SHA_256, &c, auth, proof, pl, sig), 0);
	char enc[64];
	ksasl_b64_encode(sig, 32, enc);
	ck_assert_str_eq(enc, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	proof[0] ^= 1;
	ck_assert_int_eq(ksasl_scram_verify(KSASL_SCRAM_SHA_256, &c, auth, proof, pl, sig), ERR_PROTO);
	ck_assert_int_eq(ksasl_scram_verify(KSASL_SCRAM_SHA_512, &c, auth, proof, pl, sig), ERR_PROTO);
	ck_assert_int_eq(ksasl_scram_cred_make(KSASL_SCRAM_SHA_512, "pencil", salt, sl, 4096, &c), 0);
	ck_assert_uint_eq(c.key_len, 64);
	ck_assert_int_eq(ksasl_scram_cred_make(KSASL_PLAIN, "pencil", salt, sl, 4096, &c), ERR_INVAL);
	/* names */
	enum ksasl_mech m;
	ck_assert_int_eq(ksasl_mech_parse("SCRAM-SHA-512", 13, &m), 0);
	ck_assert_int_eq(m, KSASL_SCRAM_SHA_512);
	ck_assert_int_eq(ksasl_mech_parse("GSSAPI", 6, &m), -1);
	char san[64];
	ck_assert_int_eq(ksasl_sanitize("a b*c/d_e.f-g", san, sizeof(san)), 0);
	ck_assert_str_eq(san, "a%20b%2Ac%2Fd_e.f-g");
	ck_assert_int_eq(ksasl_sanitize("abcdef", san, 4), ERR_TOOBIG);
}
END_TEST

START_TEST(test_base64)
{
	/* RFC 4648 §10 */
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	const char *plain = "foobar";
	for (size_t n = 0; n <= 6; n++) {
		char out[16];
		ck_assert_uint_eq(ksasl_b64_encode((const uint8_t *)plain, n, out), strlen(enc[n]));
		ck_assert_str_eq(out, enc[n]);
		uint8_t dec[8];
		size_t dl;
		ck_assert_int_eq(ksasl_b64_decode(enc[n], strlen(enc[n]), dec, sizeof(dec), &dl), 0);
		ck_assert_uint_eq(dl, n);
		ck_assert(!memcmp(dec, plain, n));
	}
	uint8_t dec[8];
	size_t dl;
	ck_assert_int_eq(ksasl_b64_decode("Zm9", 3, dec, 8, &dl), ERR_PROTO);
	ck_assert_int_eq(ksasl_b64_decode("Z=9v", 4, dec, 8, &dl), ERR_PROTO);
	ck_assert_int_eq(ksasl_b64_decode("Zg==Zm9v", 8, dec, 8, &dl), ERR_PROTO);
	ck_assert_int_eq(ksasl_b64_decode("Zm9*", 4, dec, 8, &dl), ERR_PROTO);
	ck_assert_int_eq(ksasl_b64_decode("Zm9vYmFy", 8, dec, 5, &dl), ERR_PROTO);
}
END_TEST

struct opts {
	char buf[1024];
};

static void collect(const char *k, const char *v, void *arg)
{
	struct opts *o = arg;
	size_t n = strlen(o->buf);
	snprintf(o->buf + n, sizeof(o->buf) - n, "%s=%s|", k, v);
}

START_TEST(test_jaas)
{
	char module[256], eb[256];
	struct opts o = { "" };
	const char *s = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\"\n"
			"   password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"al\\\"ice;= x\" debug=true;";
	ck_assert_int_eq(jaas_entry_parse(s, strlen(s), module, sizeof(module), collect, &o, eb, sizeof(eb)), 0);
	ck_assert_str_eq(module, "org.apache.kafka.common.security.plain.PlainLoginModule");
	ck_assert_str_eq(o.buf, "username=admin|password=admin-secret|user_admin=admin-secret|user_alice=al\"ice;= x|debug=true|");
	const char *bad[] = {
		"",
		"Module;",
		"Module always;",
		"Module required user_a=\"x\"",
		"Module required user_a=\"x;",
		"Module required user_a;",
		"Module required user_a=;",
		"Module required; Other required;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.buf[0] = '\0';
		ck_assert_int_eq(jaas_entry_parse(bad[i], strlen(bad[i]), module, sizeof(module), collect, &o, eb, sizeof(eb)), ERR_PROTO);
		ck_assert(eb[0] != '\0');
	}
}
END_TEST

static Suite *ksasl_suite(void)
{
	Suite *s = suite_create("ksasl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_authenticate);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_scram_messages);
	tcase_add_test(tc, test_scram_cred);
	tcase_add_test(tc, test_scram_rfc7677);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_jaas);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ksasl_suite());
}

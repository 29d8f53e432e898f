/*
 * Fuzz harness: ksasl, the broker's decoders of SASL bytes from clients (SaslHandshake and
 * SaslAuthenticate bodies, PLAIN tokens, SCRAM client-first and client-final messages) and of
 * SCRAM credentials and JAAS entries (coordinator and config text). The first byte picks the
 * decoder (and the SaslAuthenticate version), the rest is its input. Any outcome but a crash, a
 * read out of bounds or a hang is fine; what decodes must hold NUL-terminated fields, and a
 * credential or token must re-encode to what decodes the same. Seeds:
 * tests/fuzz/make_corpus_ksasl.py.
 *
 * A first byte of 0xF0 and above picks the client's side instead (a broker authenticating to
 * another, whose answers come from a peer): by its low 3 bits the SaslHandshake answer, the
 * SaslAuthenticate answer v0 / v1, SCRAM's server-first-message (to a client of RFC 7677's
 * nonce) and server-final-message, and whole ksaslc exchanges fed the input as answer frames
 * (each with a 2-byte length).
 */
#include "buf.h"
#include "err.h"
#include "jaas.h"
#include "ksasl.h"
#include "ksaslc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ksasl_opt(const char *k, const char *v, void *arg)
{
	(void)arg;
	if (strlen(k) == 0 && strlen(v) > 2048)
		abort();
}

static void fuzz_ksasl_rfc_client(struct ksasl_scram_client *sc)
{
	char first[256];
	if (ksasl_scram_client_first(sc, KSASL_SCRAM_SHA_256, "user", "pencil", first, sizeof(first)) < 0)
		abort();
	snprintf(sc->nonce, sizeof(sc->nonce), "rOprNGfwEbeRWgbNEkqO");
	snprintf(sc->first_bare, sizeof(sc->first_bare), "n=user,r=rOprNGfwEbeRWgbNEkqO");
}

static void fuzz_ksasl_client(unsigned pick, const uint8_t *p, size_t n)
{
	static struct ksasl_scram_client sc;
	static char out[2048];
	switch (pick) {
	case 0: {
		struct rbuf r = rbuf_make(p, n);
		int16_t err;
		bool has;
		char offered[64];
		if (ksasl_handshake_resp_decode(&r, "PLAIN", &err, &has, offered, sizeof(offered)) == 0 &&
		    strlen(offered) >= sizeof(offered))
			abort();
		break;
	}
	case 1:
	case 2: {
		struct rbuf r = rbuf_make(p, n);
		int16_t err;
		char msg[64];
		const uint8_t *tok;
		size_t tl;
		if (ksasl_auth_resp_decode(&r, (int16_t)(pick - 1), &err, msg, sizeof(msg), &tok, &tl) == 0 &&
		    (tl > KSASL_MAX_TOKEN || (tl && (tok < p || tok + tl > p + n)) || strlen(msg) >= sizeof(msg)))
			abort();
		break;
	}
	case 3: {
		fuzz_ksasl_rfc_client(&sc);
		int w = ksasl_scram_client_final(&sc, p, n, out, sizeof(out));
		if (w >= 0 && ((size_t)w != strlen(out) || strncmp(out, "c=biws,r=rOprNGfwEbeRWgbNEkqO", 29)))
			abort();
		break;
	}
	case 4: {
		static const char sf[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
		static bool ready;
		if (!ready) {
			fuzz_ksasl_rfc_client(&sc);
			if (ksasl_scram_client_final(&sc, (const uint8_t *)sf, strlen(sf), out, sizeof(out)) < 0)
				abort();
			ready = true;
		}
		ksasl_scram_client_check(&sc, p, n);
		break;
	}
	default: {
		static struct ksaslc s;
		struct wbuf w;
		char eb[256];
		wbuf_init(&w, 1024);
		if (ksaslc_start(&s, (enum ksasl_mech)(n ? p[0] % KSASL_NMECH : 0), "broker", "pw", "fuzz", 0, &w))
			abort();
		size_t pos = n ? 1 : 0;
		while (pos + 2 <= n) {
			size_t fl = (size_t)p[pos] << 8 | p[pos + 1];
			pos += 2;
			if (fl > n - pos)
				fl = n - pos;
			wbuf_reset(&w);
			int rc = ksaslc_answer(&s, p + pos, fl, &w, eb, sizeof(eb));
			pos += fl;
			if (rc != 1)
				break;
		}
		ksaslc_clear(&s);
		wbuf_free(&w);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (data[0] >= 0xF0) {
		fuzz_ksasl_client(data[0] & 7u, p, n);
		return 0;
	}
	switch (data[0] % 8) {
	case 0: {
		struct rbuf r = rbuf_make(p, n);
		char mech[KSASL_MECH_BUF];
		if (ksasl_handshake_req_decode(&r, mech) == 0 && strlen(mech) >= KSASL_MECH_BUF)
			abort();
		break;
	}
	case 1: {
		int16_t ver = (int16_t)((data[0] / 8) % (KSASL_AUTH_MAX_VERSION + 1));
		struct rbuf r = rbuf_make(p, n);
		const uint8_t *tok;
		size_t len;
		if (ksasl_auth_req_decode(&r, ver, &tok, &len) == 0) {
			if (len > KSASL_MAX_TOKEN || tok < p || tok + len > p + n)
				abort();
			struct wbuf w;
			wbuf_init(&w, 1 << 20);
			ksasl_auth_req_encode(&w, ver, tok, len);
			struct rbuf r2 = rbuf_make(w.p, w.len);
			const uint8_t *t2;
			size_t l2;
			if (ksasl_auth_req_decode(&r2, ver, &t2, &l2) || l2 != len || memcmp(t2, tok, len))
				abort();
			wbuf_free(&w);
		}
		break;
	}
	case 2: {
		struct ksasl_plain pl;
		if (ksasl_plain_decode(p, n, &pl) == 0 && (!pl.user[0] || !pl.pass[0]))
			abort();
		break;
	}
	case 3: {
		static struct ksasl_scram_first f;
		if (ksasl_scram_first_decode(p, n, &f) == 0 &&
		    (!f.user[0] || !f.nonce[0] || strlen(f.bare) > n || strchr(f.nonce, ',')))
			abort();
		break;
	}
	case 4: {
		static struct ksasl_scram_final g;
		if (ksasl_scram_final_decode(p, n, &g) == 0 && (g.proof_len == 0 || strlen(g.without_proof) >= n))
			abort();
		break;
	}
	case 5: {
		struct ksasl_scram_cred c, c2;
		if (ksasl_scram_cred_decode((const char *)p, n, &c) == 0) {
			char out[1024];
			if (ksasl_scram_cred_encode(&c, out, sizeof(out)) ||
			    ksasl_scram_cred_decode(out, strlen(out), &c2) || c2.iterations != c.iterations ||
			    c2.key_len != c.key_len || memcmp(c2.stored_key, c.stored_key, c.key_len))
				abort();
		}
		break;
	}
	case 6: {
		uint8_t out[256];
		size_t ol;
		if (ksasl_b64_decode((const char *)p, n, out, sizeof(out), &ol) == 0) {
			char enc[4 * ((sizeof(out) + 2) / 3) + 1];
			if (ksasl_b64_encode(out, ol, enc) != n || memcmp(enc, p, n))
				abort();
		}
		break;
	}
	case 7: {
		char *s = malloc(n + 1);
		if (!s)
			return 0;
		memcpy(s, p, n);
		s[n] = '\0';
		char module[128], eb[256];
		jaas_entry_parse(s, strlen(s), module, sizeof(module), fuzz_ksasl_opt, NULL, eb, sizeof(eb));
		free(s);
		break;
	}
	}
	return 0;
}

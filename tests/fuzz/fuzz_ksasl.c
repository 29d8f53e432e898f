/*
 * Fuzz harness: ksasl, the broker's decoders of SASL bytes from clients (SaslHandshake and
 * SaslAuthenticate bodies, PLAIN tokens, SCRAM client-first and client-final messages) and of
 * SCRAM credentials and JAAS entries (coordinator and config text). The first byte picks the
 * decoder (and the SaslAuthenticate version), the rest is its input. Any outcome but a crash, a
 * read out of bounds or a hang is fine; what decodes must hold NUL-terminated fields, and a
 * credential or token must re-encode to what decodes the same. Seeds:
 * tests/fuzz/make_corpus_ksasl.py.
 */
#include "buf.h"
#include "err.h"
#include "jaas.h"
#include "ksasl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ksasl_opt(const char *k, const char *v, void *arg)
{
	(void)arg;
	if (strlen(k) == 0 && strlen(v) > 2048)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
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

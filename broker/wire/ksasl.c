/*
 * ksasl — SASL handshake and authentication bodies, PLAIN and SCRAM tokens, SCRAM credentials,
 * base64 and JAAS entries (see ksasl.h).
 */
#include "ksasl.h"

#include "buf.h"
#include "err.h"
#include "kwire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- SaslHandshake ---- */

int ksasl_handshake_req_decode(struct rbuf *r, char mech[KSASL_MECH_BUF])
{
	bool null = false;
	int rc = kwire_str_read(r, mech, KSASL_MECH_BUF, &null);
	return rc || null ? ERR_PROTO : 0;
}

int ksasl_handshake_req_encode(struct wbuf *w, const char *mech)
{
	return wbuf_str_i16(w, mech);
}

int ksasl_handshake_resp_encode(struct wbuf *w, int16_t err, const char *const *mechs, int n)
{
	wbuf_i16(w, err);
	wbuf_i32(w, n);
	for (int i = 0; i < n; i++)
		wbuf_str_i16(w, mechs[i]);
	return w->err;
}

/* ---- SaslAuthenticate ---- */

/* Skips a flexible version's tagged fields (KIP-482). */
static int ksasl_tags_skip(struct rbuf *r)
{
	uint32_t n = 0;
	if (rbuf_uvarint(r, &n))
		return r->err;
	if (n > rbuf_left(r))
		return ERR_PROTO;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t tag, size;
		rbuf_uvarint(r, &tag);
		rbuf_uvarint(r, &size);
		rbuf_skip(r, size);
	}
	return r->err;
}

int ksasl_auth_req_decode(struct rbuf *r, int16_t ver, const uint8_t **tok, size_t *len)
{
	int32_t n = -1;
	*tok = NULL;
	*len = 0;
	if (ver >= 2) {
		if (rbuf_bytes_compact(r, KSASL_MAX_TOKEN, tok, &n) || n < 0 || ksasl_tags_skip(r))
			return ERR_PROTO;
	} else if (rbuf_bytes_i32(r, KSASL_MAX_TOKEN, tok, &n) || n < 0) {
		return ERR_PROTO;
	}
	*len = (size_t)n;
	return 0;
}

int ksasl_auth_req_encode(struct wbuf *w, int16_t ver, const uint8_t *tok, size_t len)
{
	if (ver >= 2) {
		wbuf_bytes_compact(w, tok ? tok : (const uint8_t *)"", (int32_t)len);
		return wbuf_uvarint(w, 0);
	}
	return wbuf_bytes_i32(w, tok ? tok : (const uint8_t *)"", (int32_t)len);
}

int ksasl_auth_resp_encode(struct wbuf *w, int16_t ver, int16_t err, const char *msg, const uint8_t *tok,
			   size_t len, int64_t session_lifetime_ms)
{
	const uint8_t *t = tok ? tok : (const uint8_t *)"";
	wbuf_i16(w, err);
	if (ver >= 2) {
		wbuf_bytes_compact(w, msg, msg ? (int32_t)strlen(msg) : -1);
		wbuf_bytes_compact(w, t, (int32_t)len);
	} else {
		wbuf_str_i16(w, msg);
		wbuf_bytes_i32(w, t, (int32_t)len);
	}
	if (ver >= 1)
		wbuf_i64(w, session_lifetime_ms);
	if (ver >= 2)
		wbuf_uvarint(w, 0);
	return w->err;
}

/* ---- PLAIN ---- */

static int ksasl_copy(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	if (n >= cap || memchr(p, '\0', n))
		return ERR_PROTO;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int ksasl_plain_decode(const uint8_t *p, size_t n, struct ksasl_plain *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *z1 = memchr(p, '\0', n);
	if (!z1)
		return ERR_PROTO;
	const uint8_t *u = z1 + 1, *end = p + n;
	const uint8_t *z2 = memchr(u, '\0', (size_t)(end - u));
	if (!z2)
		return ERR_PROTO;
	const uint8_t *pw = z2 + 1;
	if (ksasl_copy(out->authzid, sizeof(out->authzid), p, (size_t)(z1 - p)) ||
	    ksasl_copy(out->user, sizeof(out->user), u, (size_t)(z2 - u)) ||
	    ksasl_copy(out->pass, sizeof(out->pass), pw, (size_t)(end - pw)))
		return ERR_PROTO;
	return out->user[0] && out->pass[0] ? 0 : ERR_PROTO;
}

/* ---- SCRAM ---- */

/* A saslname (RFC 5802 §5.1): ',' and '=' arrive as "=2C" and "=3D"; any other '=' is an
 * error. Copies the unescaped name of p[0..n) into out[cap]. */
static int ksasl_saslname(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (ch == '\0' || ch == ',')
			return ERR_PROTO;
		if (ch == '=') {
			if (i + 2 >= n)
				return ERR_PROTO;
			if (p[i + 1] == '2' && (p[i + 2] == 'C' || p[i + 2] == 'c'))
				ch = ',';
			else if (p[i + 1] == '3' && (p[i + 2] == 'D' || p[i + 2] == 'd'))
				ch = '=';
			else
				return ERR_PROTO;
			i += 2;
		}
		if (o + 1 >= cap)
			return ERR_PROTO;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/* Nonce characters: printable ASCII except ',' (RFC 5802 §7). */
static int ksasl_nonce(const char *p, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap)
		return ERR_PROTO;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return ERR_PROTO;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* The next attribute "x=value" of s[*pos..n) up to ',' or the end: *key, *v and *vn. */
static int ksasl_attr(const char *s, size_t n, size_t *pos, char *key, const char **v, size_t *vn)
{
	size_t i = *pos;
	if (i + 2 > n || s[i + 1] != '=')
		return ERR_PROTO;
	*key = s[i];
	const char *c = memchr(s + i + 2, ',', n - i - 2);
	size_t e = c ? (size_t)(c - s) : n;
	*v = s + i + 2;
	*vn = e - i - 2;
	*pos = c ? e + 1 : n;
	return 0;
}

int ksasl_scram_first_decode(const uint8_t *p, size_t n, struct ksasl_scram_first *out)
{
	memset(out, 0, sizeof(out->gs2) + sizeof(out->authzid) + sizeof(out->user) + sizeof(out->nonce));
	out->bare[0] = '\0';
	const char *s = (const char *)p;
	if (n > KSASL_MAX_TOKEN || n < 3 || memchr(p, '\0', n))
		return ERR_PROTO;
	/* gs2-cbind-flag: "n" or "y" (the client could not or chose not to bind); "p=" is refused */
	if ((s[0] != 'n' && s[0] != 'y') || s[1] != ',')
		return ERR_PROTO;
	size_t pos = 2;
	if (s[pos] == 'a') {
		char k;
		const char *v;
		size_t vn;
		if (ksasl_attr(s, n, &pos, &k, &v, &vn) || ksasl_saslname(v, vn, out->authzid, sizeof(out->authzid)))
			return ERR_PROTO;
	} else if (s[pos] == ',') {
		pos++;
	} else {
		return ERR_PROTO;
	}
	if (pos >= n || s[pos - 1] != ',' || pos >= sizeof(out->gs2))
		return ERR_PROTO;
	memcpy(out->gs2, s, pos);
	out->gs2[pos] = '\0';
	memcpy(out->bare, s + pos, n - pos);
	out->bare[n - pos] = '\0';
	if (s[pos] == 'm') /* reserved-mext: a mandatory extension nobody defines */
		return ERR_PROTO;
	char k;
	const char *v;
	size_t vn;
	if (ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'n' || vn == 0 ||
	    ksasl_saslname(v, vn, out->user, sizeof(out->user)))
		return ERR_PROTO;
	if (pos >= n || ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'r' || ksasl_nonce(v, vn, out->nonce, sizeof(out->nonce)))
		return ERR_PROTO;
	/* extensions (Kafka's tokenauth=true, KIP-48) follow; they are ignored */
	return 0;
}

int ksasl_scram_final_decode(const uint8_t *p, size_t n, struct ksasl_scram_final *out)
{
	out->cbind[0] = out->nonce[0] = out->without_proof[0] = '\0';
	out->proof_len = 0;
	const char *s = (const char *)p;
	if (n > KSASL_MAX_TOKEN || memchr(p, '\0', n))
		return ERR_PROTO;
	size_t pos = 0;
	char k;
	const char *v;
	size_t vn;
	if (ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'c' || vn == 0 || vn >= sizeof(out->cbind))
		return ERR_PROTO;
	memcpy(out->cbind, v, vn);
	out->cbind[vn] = '\0';
	if (pos >= n || ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'r' || ksasl_nonce(v, vn, out->nonce, sizeof(out->nonce)))
		return ERR_PROTO;
	for (;;) {
		if (pos >= n)
			return ERR_PROTO; /* no proof */
		size_t start = pos;
		if (ksasl_attr(s, n, &pos, &k, &v, &vn))
			return ERR_PROTO;
		if (k != 'p')
			continue; /* an extension */
		if (pos != n || start == 0)
			return ERR_PROTO; /* the proof is last */
		memcpy(out->without_proof, s, start - 1);
		out->without_proof[start - 1] = '\0';
		return ksasl_b64_decode(v, vn, out->proof, sizeof(out->proof), &out->proof_len) || out->proof_len == 0
			       ? ERR_PROTO
			       : 0;
	}
}

int ksasl_scram_cred_decode(const char *s, size_t n, struct ksasl_scram_cred *out)
{
	memset(out, 0, sizeof(*out));
	bool seen[4] = { false, false, false, false };
	size_t klen[2] = { 0, 0 };
	for (size_t pos = 0; pos < n;) {
		const char *c = memchr(s + pos, ',', n - pos);
		size_t e = c ? (size_t)(c - s) : n;
		const char *eq = memchr(s + pos, '=', e - pos);
		if (!eq)
			return ERR_PROTO;
		size_t kn = (size_t)(eq - (s + pos));
		const char *v = eq + 1;
		size_t vn = (size_t)(s + e - v);
		const char *k = s + pos;
		int f;
		if (kn == 4 && !memcmp(k, "salt", 4))
			f = 0;
		else if (kn == 10 && !memcmp(k, "stored_key", 10))
			f = 1;
		else if (kn == 10 && !memcmp(k, "server_key", 10))
			f = 2;
		else if (kn == 10 && !memcmp(k, "iterations", 10))
			f = 3;
		else
			return ERR_PROTO;
		if (seen[f])
			return ERR_PROTO;
		seen[f] = true;
		int rc = 0;
		if (f == 0)
			rc = ksasl_b64_decode(v, vn, out->salt, sizeof(out->salt), &out->salt_len);
		else if (f == 1)
			rc = ksasl_b64_decode(v, vn, out->stored_key, sizeof(out->stored_key), &klen[0]);
		else if (f == 2)
			rc = ksasl_b64_decode(v, vn, out->server_key, sizeof(out->server_key), &klen[1]);
		else {
			int64_t it = 0;
			if (vn == 0 || vn > 10)
				return ERR_PROTO;
			for (size_t i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9')
					return ERR_PROTO;
				it = it * 10 + (v[i] - '0');
			}
			if (it < 1 || it > INT32_MAX)
				return ERR_PROTO;
			out->iterations = (int32_t)it;
		}
		if (rc)
			return ERR_PROTO;
		pos = c ? e + 1 : n;
	}
	if (!seen[0] || !seen[1] || !seen[2] || !seen[3] || klen[0] != klen[1] || (klen[0] != 32 && klen[0] != 64) ||
	    out->salt_len == 0)
		return ERR_PROTO;
	out->key_len = klen[0];
	return 0;
}

int ksasl_scram_cred_encode(const struct ksasl_scram_cred *c, char *out, size_t n)
{
	char salt[4 * ((KSASL_SALT_MAX + 2) / 3) + 1], sk[4 * ((KSASL_KEY_MAX + 2) / 3) + 1],
		svk[4 * ((KSASL_KEY_MAX + 2) / 3) + 1];
	if (c->salt_len > KSASL_SALT_MAX || c->key_len > KSASL_KEY_MAX)
		return ERR_INVAL;
	ksasl_b64_encode(c->salt, c->salt_len, salt);
	ksasl_b64_encode(c->stored_key, c->key_len, sk);
	ksasl_b64_encode(c->server_key, c->key_len, svk);
	int w = snprintf(out, n, "salt=%s,stored_key=%s,server_key=%s,iterations=%d", salt, sk, svk, c->iterations);
	return w < 0 || (size_t)w >= n ? ERR_TOOBIG : 0;
}

/* ---- mechanisms and SCRAM's arithmetic ---- */

static const char *const ksasl_mech_names[KSASL_NMECH] = { "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" };

const char *ksasl_mech_name(enum ksasl_mech m)
{
	return (unsigned)m < KSASL_NMECH ? ksasl_mech_names[m] : "?";
}

int ksasl_mech_parse(const char *s, size_t n, enum ksasl_mech *out)
{
	for (int i = 0; i < KSASL_NMECH; i++)
		if (strlen(ksasl_mech_names[i]) == n && !memcmp(s, ksasl_mech_names[i], n)) {
			*out = (enum ksasl_mech)i;
			return 0;
		}
	return -1;
}

static const EVP_MD *ksasl_md(enum ksasl_mech m)
{
	return m == KSASL_SCRAM_SHA_512 ? EVP_sha512() : m == KSASL_SCRAM_SHA_256 ? EVP_sha256() : NULL;
}

static int ksasl_hmac(const EVP_MD *md, const uint8_t *key, size_t kl, const void *d, size_t dl, uint8_t *out)
{
	unsigned int ol = 0;
	return HMAC(md, key, (int)kl, d, dl, out, &ol) ? 0 : ERR_INVAL;
}

int ksasl_scram_cred_make(enum ksasl_mech m, const char *password, const uint8_t *salt, size_t salt_len,
			  int32_t iterations, struct ksasl_scram_cred *out)
{
	const EVP_MD *md = ksasl_md(m);
	memset(out, 0, sizeof(*out));
	if (!md || salt_len == 0 || salt_len > KSASL_SALT_MAX || iterations < 1)
		return ERR_INVAL;
	size_t kl = (size_t)EVP_MD_get_size(md);
	uint8_t salted[KSASL_KEY_MAX], client_key[KSASL_KEY_MAX];
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations, md, (int)kl, salted) ||
	    ksasl_hmac(md, salted, kl, "Client Key", 10, client_key) ||
	    ksasl_hmac(md, salted, kl, "Server Key", 10, out->server_key) ||
	    !EVP_Digest(client_key, kl, out->stored_key, NULL, md, NULL))
		return ERR_INVAL;
	memcpy(out->salt, salt, salt_len);
	out->salt_len = salt_len;
	out->key_len = kl;
	out->iterations = iterations;
	OPENSSL_cleanse(salted, sizeof(salted));
	return 0;
}

int ksasl_scram_verify(enum ksasl_mech m, const struct ksasl_scram_cred *c, const char *auth, const uint8_t *proof,
		       size_t proof_len, uint8_t sig[KSASL_KEY_MAX])
{
	const EVP_MD *md = ksasl_md(m);
	if (!md || c->key_len != (size_t)EVP_MD_get_size(md) || proof_len != c->key_len)
		return ERR_PROTO;
	uint8_t csig[KSASL_KEY_MAX], ckey[KSASL_KEY_MAX], stored[KSASL_KEY_MAX];
	if (ksasl_hmac(md, c->stored_key, c->key_len, auth, strlen(auth), csig))
		return ERR_PROTO;
	for (size_t i = 0; i < c->key_len; i++)
		ckey[i] = proof[i] ^ csig[i];
	if (!EVP_Digest(ckey, c->key_len, stored, NULL, md, NULL) || CRYPTO_memcmp(stored, c->stored_key, c->key_len))
		return ERR_PROTO;
	return ksasl_hmac(md, c->server_key, c->key_len, auth, strlen(auth), sig) ? ERR_PROTO : 0;
}

int ksasl_sanitize(const char *name, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
			    *p == '-' || *p == '_';
		if (o + (keep ? 1 : 3) >= n)
			return ERR_TOOBIG;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= n)
		return ERR_TOOBIG;
	out[o] = '\0';
	return 0;
}

/* ---- base64 ---- */

static const char ksasl_b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int ksasl_b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int ksasl_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	*outlen = 0;
	if (n % 4)
		return ERR_PROTO;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad) /* data after '=' */
				return ERR_PROTO;
			v[k] = ksasl_b64_val(s[i + k]);
			if (v[k] < 0)
				return ERR_PROTO;
		}
		if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
			return ERR_PROTO; /* non-canonical: bits set under the padding */
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		size_t take = 3 - (size_t)pad;
		if (o + take > cap)
			return ERR_PROTO;
		uint8_t b[3] = { (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
		memcpy(out + o, b, take);
		o += take;
	}
	*outlen = o;
	return 0;
}

size_t ksasl_b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			x |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			x |= p[i + 2];
		out[o++] = ksasl_b64_chars[(x >> 18) & 63];
		out[o++] = ksasl_b64_chars[(x >> 12) & 63];
		out[o++] = i + 1 < n ? ksasl_b64_chars[(x >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? ksasl_b64_chars[x & 63] : '=';
	}
	out[o] = '\0';
	return o;
}


/* ---- the client's side ---- */

int ksasl_handshake_resp_decode(struct rbuf *r, const char *mech, int16_t *err, bool *has, char *offered, size_t on)
{
	*has = false;
	if (on)
		offered[0] = '\0';
	if (rbuf_i16(r, err))
		return ERR_PROTO;
	int32_t n = kwire_count_read(r, 2);
	if (n < -1)
		return ERR_PROTO;
	size_t used = 0;
	for (int32_t i = 0; i < n; i++) {
		char m[KSASL_MECH_BUF];
		bool null = false;
		int rc = kwire_str_read(r, m, sizeof(m), &null);
		if (rc < 0 || r->err)
			return ERR_PROTO;
		if (rc == 0 && !null && !strcmp(m, mech))
			*has = true;
		int w = on > used ? snprintf(offered + used, on - used, "%s%s", used ? "," : "", m) : 0;
		if (w > 0)
			used = (size_t)w >= on - used ? on - 1 : used + (size_t)w;
	}
	return 0;
}

int ksasl_auth_resp_decode(struct rbuf *r, int16_t ver, int16_t *err, char *msg, size_t mn, const uint8_t **tok,
			   size_t *len)
{
	const uint8_t *m = NULL;
	int32_t ml = -1, tl = -1;
	*tok = NULL;
	*len = 0;
	if (mn)
		msg[0] = '\0';
	if (ver < 0 || ver > 1 || rbuf_i16(r, err) || rbuf_bytes_i16(r, 32767, &m, &ml) ||
	    rbuf_bytes_i32(r, KSASL_MAX_TOKEN, tok, &tl) || tl < 0)
		return ERR_PROTO;
	if (ver >= 1) {
		int64_t lifetime;
		if (rbuf_i64(r, &lifetime))
			return ERR_PROTO;
	}
	for (int32_t i = 0; m && i < ml && (size_t)i + 1 < mn; i++) {
		msg[i] = m[i] < 0x20 || m[i] == 0x7f ? '?' : (char)m[i];
		msg[i + 1] = '\0';
	}
	*len = (size_t)tl;
	return 0;
}

int ksasl_scram_client_first(struct ksasl_scram_client *sc, enum ksasl_mech m, const char *user, const char *pass,
			     char *out, size_t on)
{
	uint8_t rnd[24];
	char name[2 * KSASL_NAME_BUF];
	size_t o = 0;
	memset(sc, 0, sizeof(*sc));
	if (!ksasl_md(m) || strlen(pass) >= sizeof(sc->pass) || strlen(user) >= KSASL_NAME_BUF ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	/* saslname: ',' and '=' escaped as =2C and =3D (RFC 5802 §5.1) */
	for (const char *u = user; *u; u++) {
		const char *e = *u == ',' ? "=2C" : *u == '=' ? "=3D" : NULL;
		if (e) {
			memcpy(name + o, e, 3);
			o += 3;
		} else {
			name[o++] = *u;
		}
	}
	name[o] = '\0';
	sc->mech = m;
	snprintf(sc->pass, sizeof(sc->pass), "%s", pass);
	ksasl_b64_encode(rnd, sizeof(rnd), sc->nonce); /* 32 characters; '/' and '+' are allowed */
	int w = snprintf(sc->first_bare, sizeof(sc->first_bare), "n=%s,r=%s", name, sc->nonce);
	if (w < 0 || (size_t)w >= sizeof(sc->first_bare))
		return -1;
	w = snprintf(out, on, "n,,%s", sc->first_bare);
	return w < 0 || (size_t)w >= on ? -1 : w;
}

int ksasl_scram_client_final(struct ksasl_scram_client *sc, const uint8_t *p, size_t n, char *out, size_t on)
{
	const EVP_MD *md = ksasl_md(sc->mech);
	const char *s = (const char *)p;
	char nonce[2 * KSASL_NONCE_BUF], num[16];
	uint8_t salt[KSASL_SALT_MAX];
	size_t salt_len = 0, pos = 0, vn;
	const char *v;
	char k;
	if (!md || n == 0 || n > KSASL_MAX_TOKEN || memchr(p, '\0', n))
		return -1;
	if (s[0] == 'm' || ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'r' || ksasl_nonce(v, vn, nonce, sizeof(nonce)) ||
	    strncmp(nonce, sc->nonce, strlen(sc->nonce)) || strlen(nonce) == strlen(sc->nonce))
		return -1;
	if (pos >= n || ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 's' ||
	    ksasl_b64_decode(v, vn, salt, sizeof(salt), &salt_len) || salt_len == 0)
		return -1;
	if (pos >= n || ksasl_attr(s, n, &pos, &k, &v, &vn) || k != 'i' || vn == 0 || vn >= sizeof(num))
		return -1;
	for (size_t i = 0; i < vn; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	memcpy(num, v, vn);
	num[vn] = '\0';
	long iterations = strtol(num, NULL, 10);
	if (iterations < KSASL_SCRAM_MIN_ITERATIONS || iterations > KSASL_SCRAM_MAX_ITERATIONS)
		return -1;
	/* extensions may follow; they are ignored */
	struct ksasl_scram_cred cred;
	if (ksasl_scram_cred_make(sc->mech, sc->pass, salt, salt_len, (int32_t)iterations, &cred))
		return -1;
	/* the ClientKey again (cred keeps only its hash): HMAC(SaltedPassword, "Client Key") */
	size_t kl = cred.key_len;
	uint8_t salted[KSASL_KEY_MAX], ckey[KSASL_KEY_MAX], csig[KSASL_KEY_MAX], proof[KSASL_KEY_MAX];
	char without_proof[2 * KSASL_NONCE_BUF + 16], auth[KSASL_MAX_TOKEN + sizeof(without_proof) + sizeof(sc->first_bare) + 4];
	char proof64[4 * ((KSASL_KEY_MAX + 2) / 3) + 1];
	int w1 = snprintf(without_proof, sizeof(without_proof), "c=biws,r=%s", nonce);
	int w2 = snprintf(auth, sizeof(auth), "%s,%.*s,%s", sc->first_bare, (int)n, s, without_proof);
	int rc = -1;
	if (w1 < 0 || (size_t)w1 >= sizeof(without_proof) || w2 < 0 || (size_t)w2 >= sizeof(auth) ||
	    !PKCS5_PBKDF2_HMAC(sc->pass, (int)strlen(sc->pass), salt, (int)salt_len, (int)iterations, md, (int)kl, salted) ||
	    ksasl_hmac(md, salted, kl, "Client Key", 10, ckey) ||
	    ksasl_hmac(md, cred.stored_key, kl, auth, strlen(auth), csig) ||
	    ksasl_hmac(md, cred.server_key, kl, auth, strlen(auth), sc->server_sig))
		goto out;
	for (size_t i = 0; i < kl; i++)
		proof[i] = ckey[i] ^ csig[i];
	ksasl_b64_encode(proof, kl, proof64);
	sc->key_len = kl;
	int w = snprintf(out, on, "%s,p=%s", without_proof, proof64);
	rc = w < 0 || (size_t)w >= on ? -1 : w;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(&cred, sizeof(cred));
	return rc;
}

int ksasl_scram_client_check(const struct ksasl_scram_client *sc, const uint8_t *p, size_t n)
{
	uint8_t sig[KSASL_KEY_MAX];
	size_t sl = 0, pos = 0, vn;
	const char *v;
	char k;
	if (sc->key_len == 0 || n > KSASL_MAX_TOKEN || memchr(p, '\0', n) ||
	    ksasl_attr((const char *)p, n, &pos, &k, &v, &vn) || k != 'v' ||
	    ksasl_b64_decode(v, vn, sig, sizeof(sig), &sl) || sl != sc->key_len ||
	    CRYPTO_memcmp(sig, sc->server_sig, sl))
		return ERR_PROTO;
	return 0;
}

/*
 * zk_sasl — DIGEST-MD5 as ZooKeeper's server runs it (see zk_sasl.h).
 *
 * RFC 2831, with qop "auth" only and algorithm md5-sess:
 *   A1 = MD5(user ":" realm ":" password) ":" nonce ":" cnonce [":" authzid]
 *   A2 = "AUTHENTICATE:" digest-uri (the client's proof), ":" digest-uri (rspauth)
 *   response = HEX(MD5(HEX(MD5(A1)) ":" nonce ":" nc ":" cnonce ":" qop ":" HEX(MD5(A2))))
 */
#include "zk_sasl.h"

#include "buf.h"
#include "err.h"
#include "jaas.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZK_SASL_DIGEST_MODULE "org.apache.zookeeper.server.auth.DigestLoginModule"

/* ---- the JAAS Server section ---- */

struct zk_sasl_load {
	struct zk_sasl_users *u;
	int entries;
	int rc;
	char eb[256];
};

static void zk_sasl_opt(const char *key, const char *value, void *arg)
{
	struct zk_sasl_load *ld = arg;
	if (strncmp(key, "user_", 5) || !key[5] || ld->rc)
		return;
	if (ld->u->n >= ZK_SASL_MAX_USERS) {
		ld->rc = err_set(ld->eb, sizeof(ld->eb), ERR_CONFIG, "more than %d users", ZK_SASL_MAX_USERS);
		return;
	}
	char *name = strdup(key + 5), *pw = strdup(value);
	if (!name || !pw) {
		free(name);
		free(pw);
		ld->rc = ERR_NOMEM;
		return;
	}
	ld->u->names[ld->u->n] = name;
	ld->u->passwords[ld->u->n++] = pw;
}

static void zk_sasl_entry(const char *s, size_t n, void *arg)
{
	struct zk_sasl_load *ld = arg;
	char module[256];
	if (ld->rc)
		return;
	ld->entries++;
	int rc = jaas_entry_parse(s, n, module, sizeof(module), zk_sasl_opt, ld, ld->eb, sizeof(ld->eb));
	if (!rc && strcmp(module, ZK_SASL_DIGEST_MODULE))
		rc = err_set(ld->eb, sizeof(ld->eb), ERR_CONFIG, "login module %s: samsa-coord offers %s (DIGEST-MD5) only",
			     module, ZK_SASL_DIGEST_MODULE);
	if (rc && !ld->rc)
		ld->rc = rc == ERR_PROTO ? ERR_CONFIG : rc;
}

void zk_sasl_users_free(struct zk_sasl_users *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->n; i++) {
		OPENSSL_cleanse(u->passwords[i], strlen(u->passwords[i]));
		free(u->names[i]);
		free(u->passwords[i]);
	}
	free(u);
}

int zk_sasl_users_load(const char *path, struct zk_sasl_users **out, char *eb, size_t el)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return err_set(eb, el, ERR_IO, "%s: %m", path);
	char *text = malloc(1 << 20);
	size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
	bool big = text && !feof(f);
	fclose(f);
	if (!text)
		return ERR_NOMEM;
	text[n] = '\0';
	if (big) {
		free(text);
		return err_set(eb, el, ERR_CONFIG, "%s: larger than 1 MiB", path);
	}
	struct zk_sasl_load ld = { .u = calloc(1, sizeof(*ld.u)) };
	if (!ld.u) {
		free(text);
		return ERR_NOMEM;
	}
	int rc = jaas_section(text, "Server", zk_sasl_entry, &ld, ld.eb, sizeof(ld.eb));
	OPENSSL_cleanse(text, n);
	free(text);
	if (rc == ERR_NOTFOUND)
		rc = err_set(eb, el, ERR_CONFIG, "%s: no \"Server\" section", path);
	else if (rc || ld.rc)
		rc = err_set(eb, el, rc ? ERR_CONFIG : ld.rc, "%s: %s", path, ld.eb);
	else if (ld.u->n == 0)
		rc = err_set(eb, el, ERR_CONFIG, "%s: the Server section names no user (user_<name>=\"<password>\")", path);
	if (rc) {
		zk_sasl_users_free(ld.u);
		return rc;
	}
	*out = ld.u;
	return 0;
}

/* ---- the response ---- */

/* Copies the value at *p (quoted with backslash escapes, or bare up to ',') into v[n]. */
static int zk_sasl_value(const uint8_t **p, const uint8_t *end, char *v, size_t n)
{
	size_t k = 0;
	const uint8_t *q = *p;
	if (q < end && *q == '"') {
		q++;
		while (q < end && *q != '"') {
			uint8_t c = *q++;
			if (c == '\\') {
				if (q >= end)
					return -1;
				c = *q++;
			}
			if (k + 1 >= n || c == 0)
				return -1;
			v[k++] = (char)c;
		}
		if (q >= end)
			return -1;
		q++;
	} else {
		while (q < end && *q != ',') {
			if (k + 1 >= n || *q == 0)
				return -1;
			v[k++] = (char)*q++;
		}
		while (k && (v[k - 1] == ' ' || v[k - 1] == '\t'))
			k--;
	}
	v[k] = '\0';
	*p = q;
	return 0;
}

int zk_sasl_parse_response(const uint8_t *p, size_t len, struct zk_sasl_resp *out, char *eb, size_t el)
{
	static const struct {
		const char *name;
		size_t off, size;
	} dirs[] = {
#define ZK_SASL_DIR(n, f) { n, offsetof(struct zk_sasl_resp, f), sizeof(((struct zk_sasl_resp *)0)->f) }
		ZK_SASL_DIR("username", username), ZK_SASL_DIR("realm", realm),	    ZK_SASL_DIR("nonce", nonce),
		ZK_SASL_DIR("cnonce", cnonce),	   ZK_SASL_DIR("nc", nc),	    ZK_SASL_DIR("qop", qop),
		ZK_SASL_DIR("digest-uri", digest_uri), ZK_SASL_DIR("response", response),
		ZK_SASL_DIR("authzid", authzid),
#undef ZK_SASL_DIR
	};
	enum { NDIRS = sizeof(dirs) / sizeof(dirs[0]) };
	bool seen[NDIRS] = { false };
	memset(out, 0, sizeof(*out));
	if (len > ZK_SASL_MAX_TOKEN)
		return err_set(eb, el, ERR_PROTO, "a response of %zu bytes (at most %d)", len, ZK_SASL_MAX_TOKEN);
	const uint8_t *q = p, *end = p + len;
	while (q < end) {
		while (q < end && (*q == ' ' || *q == '\t' || *q == ','))
			q++;
		if (q >= end)
			break;
		const uint8_t *k = q;
		while (q < end && *q != '=' && *q != ',')
			q++;
		if (q >= end || *q != '=')
			return err_set(eb, el, ERR_PROTO, "a directive without '='");
		size_t kl = (size_t)(q - k);
		while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
			kl--;
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		char scratch[ZK_SASL_MAX_TOKEN];
		char *dst = scratch;
		size_t dn = sizeof(scratch);
		int idx = -1;
		for (int i = 0; i < NDIRS; i++)
			if (strlen(dirs[i].name) == kl && !memcmp(k, dirs[i].name, kl))
				idx = i;
		if (idx >= 0) {
			if (seen[idx])
				return err_set(eb, el, ERR_PROTO, "directive %s given twice", dirs[idx].name);
			seen[idx] = true;
			dst = (char *)out + dirs[idx].off;
			dn = dirs[idx].size;
		}
		if (zk_sasl_value(&q, end, dst, dn))
			return err_set(eb, el, ERR_PROTO, "directive %.*s: a bad or too long value", (int)(kl > 40 ? 40 : kl),
				       (const char *)k);
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q != ',')
			return err_set(eb, el, ERR_PROTO, "text after a quoted value");
	}
	static const char *const required[] = { "username", "nonce", "cnonce", "nc", "digest-uri", "response" };
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		for (int i = 0; i < NDIRS; i++)
			if (!strcmp(dirs[i].name, required[r]) && !seen[i])
				return err_set(eb, el, ERR_PROTO, "directive %s is missing", required[r]);
	out->has_realm = seen[1];
	out->has_authzid = seen[8];
	if (!seen[5])
		strcpy(out->qop, "auth"); /* RFC 2831: qop defaults to auth */
	return 0;
}

static void zk_sasl_hex(const uint8_t *d, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* MD5 of the concatenation of parts (NULL-terminated list of strings; NUL-free). */
static void zk_sasl_md5(uint8_t out[16], const void *raw, size_t rawlen, const char *const *parts)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned int ol = 0;
	if (!m || EVP_DigestInit_ex(m, EVP_md5(), NULL) != 1) {
		memset(out, 0, 16);
		EVP_MD_CTX_free(m);
		return;
	}
	if (raw)
		EVP_DigestUpdate(m, raw, rawlen);
	for (size_t i = 0; parts[i]; i++)
		EVP_DigestUpdate(m, parts[i], strlen(parts[i]));
	EVP_DigestFinal_ex(m, out, &ol);
	EVP_MD_CTX_free(m);
}

void zk_sasl_digest(const struct zk_sasl_resp *r, const char *password, bool rspauth, char hex[33])
{
	const char *realm = r->has_realm ? r->realm : "";
	uint8_t kh[16], a1[16], a2[16], resp[16];
	char ha1[33], ha2[33];
	zk_sasl_md5(kh, NULL, 0, (const char *const[]){ r->username, ":", realm, ":", password, NULL });
	if (r->has_authzid)
		zk_sasl_md5(a1, kh, 16, (const char *const[]){ ":", r->nonce, ":", r->cnonce, ":", r->authzid, NULL });
	else
		zk_sasl_md5(a1, kh, 16, (const char *const[]){ ":", r->nonce, ":", r->cnonce, NULL });
	zk_sasl_hex(a1, 16, ha1);
	zk_sasl_md5(a2, NULL, 0, (const char *const[]){ rspauth ? ":" : "AUTHENTICATE:", r->digest_uri, NULL });
	zk_sasl_hex(a2, 16, ha2);
	zk_sasl_md5(resp, NULL, 0,
		    (const char *const[]){ ha1, ":", r->nonce, ":", r->nc, ":", r->cnonce, ":", r->qop, ":", ha2, NULL });
	zk_sasl_hex(resp, 16, hex);
	OPENSSL_cleanse(kh, sizeof(kh));
	OPENSSL_cleanse(a1, sizeof(a1));
}

/* ---- the exchange ---- */

static enum zk_sasl_state zk_sasl_fail(struct zk_sasl_conv *c)
{
	c->state = ZK_SASL_FAILED;
	return c->state;
}

enum zk_sasl_state zk_sasl_step(const struct zk_sasl_users *u, struct zk_sasl_conv *c, const uint8_t *tok,
				int32_t len, const uint8_t nonce_src[16], struct wbuf *out, char *eb, size_t el)
{
	if (len < 0)
		len = 0;
	switch (c->state) {
	case ZK_SASL_START: {
		/* DIGEST-MD5 has no initial response: the client starts with an empty token */
		if (!u) {
			err_set(eb, el, ERR_PROTO, "SASL is not configured (no JAAS Server section)");
			return zk_sasl_fail(c);
		}
		zk_sasl_hex(nonce_src, 16, c->nonce);
		char ch[256];
		int n = snprintf(ch, sizeof(ch), "realm=\"%s\",nonce=\"%s\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
				 ZK_SASL_REALM, c->nonce);
		wbuf_raw(out, ch, (size_t)n);
		c->state = ZK_SASL_CHALLENGED;
		return c->state;
	}
	case ZK_SASL_CHALLENGED: {
		struct zk_sasl_resp r;
		if (zk_sasl_parse_response(tok, (size_t)len, &r, eb, el))
			return zk_sasl_fail(c);
		if (strcmp(r.nonce, c->nonce) || strcmp(r.nc, "00000001") || strcmp(r.qop, "auth") ||
		    (r.has_realm && strcmp(r.realm, ZK_SASL_REALM)) || strcmp(r.digest_uri, ZK_SASL_DIGEST_URI)) {
			err_set(eb, el, ERR_PROTO, "user %s: the response does not answer our challenge (nonce, nc, qop, realm "
						   "or digest-uri %s)", r.username, r.digest_uri);
			return zk_sasl_fail(c);
		}
		if (r.has_authzid && strcmp(r.authzid, r.username)) {
			err_set(eb, el, ERR_PROTO, "user %s may not act as %s", r.username, r.authzid);
			return zk_sasl_fail(c);
		}
		const char *pw = NULL;
		for (int i = 0; i < u->n && !pw; i++)
			if (!strcmp(u->names[i], r.username))
				pw = u->passwords[i];
		char want[33], rsp[33];
		zk_sasl_digest(&r, pw ? pw : "", false, want);
		if (!pw || strlen(r.response) != 32 || CRYPTO_memcmp(want, r.response, 32)) {
			err_set(eb, el, ERR_PROTO, "user %s: %s", r.username, pw ? "wrong password" : "no such user");
			return zk_sasl_fail(c);
		}
		zk_sasl_digest(&r, pw, true, rsp);
		wbuf_raw(out, "rspauth=", 8);
		wbuf_raw(out, rsp, 32);
		snprintf(c->user, sizeof(c->user), "%s", r.username);
		c->state = ZK_SASL_DONE;
		return c->state;
	}
	case ZK_SASL_DONE:
	case ZK_SASL_FAILED:
		err_set(eb, el, ERR_PROTO, "a SASL token after the exchange ended");
		return zk_sasl_fail(c);
	}
	return zk_sasl_fail(c);
}

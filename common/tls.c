/*
 * tls — TLS contexts from PEM material, their reload, and peer principals (see tls.h).
 *
 * Files and inline values take one path: a file is read into memory and parsed as the inline
 * PEM would be, so the two cannot behave differently. A context keeps the stat of each file it
 * was built from; a change of size, mtime or inode rebuilds the SSL_CTX, which is reference
 * counted by OpenSSL, so connections made with the old one keep it until they close.
 */
#include "tls.h"

#include "err.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* A PEM file is small; anything larger is not one. */
#define TLS_MAX_PEM (4u << 20)

struct tls_file {
	char *path;
	struct stat st; /* when last read (st_ino 0: could not stat) */
};

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	enum tls_client_auth client_auth;
	char *cert_pem, *key_pem, *key_password, *trust_pem, *protocols, *ciphers;
	struct tls_file key_file, trust_file;
	int64_t last_check_ms;
	uint64_t generation;
	char reloaded[1024]; /* the files the last reload attempt read again, for its log line */
};

void tls_last_error(char *buf, size_t n)
{
	unsigned long e;
	size_t used = 0;
	if (n)
		buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(e, one, sizeof(one));
		if (used + 3 < n) {
			int w = snprintf(buf + used, n - used, "%s%s", used ? "; " : "", one);
			if (w > 0)
				used += (size_t)w < n - used ? (size_t)w : n - used - 1;
		}
	}
	if (n && !buf[0])
		snprintf(buf, n, "no OpenSSL error recorded");
}

int tls_client_auth_parse(const char *s, enum tls_client_auth def, enum tls_client_auth *out)
{
	if (!s || !*s)
		*out = def;
	else if (!strcasecmp(s, "none"))
		*out = TLS_AUTH_NONE;
	else if (!strcasecmp(s, "want") || !strcasecmp(s, "requested"))
		*out = TLS_AUTH_WANT;
	else if (!strcasecmp(s, "need") || !strcasecmp(s, "required"))
		*out = TLS_AUTH_NEED;
	else
		return ERR_CONFIG;
	return 0;
}

static char *tls_dup(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Inline PEM as a properties file gives it: Kafka's documentation writes each line of the
 * PEM continued with " \", so the value arrives as one line with spaces where the newlines
 * were. Rebuilds proper PEM: each "-----BEGIN X-----" ... "-----END X-----" block with its
 * base64 body stripped of blanks and wrapped at 64 columns. NULL for "" or NULL, or without
 * memory; text outside the blocks is dropped. */
static char *tls_pem_normalize(const char *in)
{
	if (!in || !*in)
		return NULL;
	size_t cap = strlen(in) * 2 + 64;
	char *out = malloc(cap), *o = out;
	if (!out)
		return NULL;
	const char *p = in;
	for (;;) {
		const char *b = strstr(p, "-----BEGIN ");
		if (!b)
			break;
		const char *be = strstr(b + 11, "-----");
		if (!be)
			break;
		const char *body = be + 5;
		const char *e = strstr(body, "-----END ");
		if (!e)
			break;
		const char *ee = strstr(e + 9, "-----");
		if (!ee)
			break;
		size_t hl = (size_t)(body - b);
		memcpy(o, b, hl);
		o += hl;
		*o++ = '\n';
		int col = 0;
		for (const char *q = body; q < e; q++) {
			if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
				continue;
			*o++ = *q;
			if (++col == 64) {
				*o++ = '\n';
				col = 0;
			}
		}
		if (col)
			*o++ = '\n';
		size_t fl = (size_t)(ee + 5 - e);
		memcpy(o, e, fl);
		o += fl;
		*o++ = '\n';
		p = ee + 5;
	}
	*o = '\0';
	return out;
}

/* Reads a whole PEM file (bounded) into a NUL-terminated string, recording its stat. */
static int tls_read_file(struct tls_file *f, char **out, char *eb, size_t el)
{
	*out = NULL;
	FILE *fp = fopen(f->path, "rb");
	if (!fp)
		return err_set(eb, el, ERR_IO, "cannot open %s: %m", f->path);
	struct stat st;
	if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > TLS_MAX_PEM) {
		fclose(fp);
		return err_set(eb, el, ERR_CONFIG, "%s: not a PEM file of at most %u bytes", f->path, TLS_MAX_PEM);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(fp);
		return ERR_NOMEM;
	}
	size_t got = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	buf[got] = '\0';
	f->st = st;
	*out = buf;
	return 0;
}

/* Parses every certificate of pem; fn takes each (and its reference). Returns how many were
 * found, or -1 on a malformed one. */
static int tls_each_cert(const char *pem, int (*fn)(X509 *x, void *arg), void *arg)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return -1;
	int n = 0;
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x) {
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error(); /* the end of the certificates */
				break;
			}
			BIO_free(bio);
			return -1;
		}
		if (fn(x, arg) != 0) {
			BIO_free(bio);
			return -1;
		}
		n++;
	}
	BIO_free(bio);
	return n;
}

struct tls_chain {
	SSL_CTX *c;
	int n;
};

static int tls_chain_add(X509 *x, void *arg)
{
	struct tls_chain *ch = arg;
	int ok = ch->n == 0 ? SSL_CTX_use_certificate(ch->c, x) : SSL_CTX_add1_chain_cert(ch->c, x);
	X509_free(x);
	ch->n++;
	return ok == 1 ? 0 : -1;
}

static int tls_trust_add(X509 *x, void *arg)
{
	SSL_CTX *c = arg;
	int ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(c), x);
	if (ok == 1 && SSL_CTX_add_client_CA(c, x) != 1)
		ok = 0;
	X509_free(x);
	return ok == 1 ? 0 : -1;
}

static int tls_passwd_cb(char *buf, int size, int rw, void *u)
{
	(void)rw;
	const char *pw = u;
	if (!pw)
		return 0;
	size_t n = strlen(pw);
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, pw, n);
	return (int)n;
}

static int tls_proto_version(const char *name)
{
	if (!strcasecmp(name, "TLSv1.2"))
		return TLS1_2_VERSION;
	if (!strcasecmp(name, "TLSv1.3"))
		return TLS1_3_VERSION;
	return 0;
}

/* protocols "TLSv1.2,TLSv1.3": the lowest and highest named become the bounds. */
static int tls_set_protocols(SSL_CTX *c, const char *protocols, char *eb, size_t el)
{
	int lo = TLS1_2_VERSION, hi = TLS1_3_VERSION;
	if (protocols) {
		lo = 0;
		hi = 0;
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", protocols);
		for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			int v = tls_proto_version(tok);
			if (!v)
				return err_set(eb, el, ERR_CONFIG, "unsupported TLS protocol '%s' (TLSv1.2, TLSv1.3)", tok);
			if (!lo || v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
		if (!lo)
			return err_set(eb, el, ERR_CONFIG, "no TLS protocol enabled");
	}
	if (SSL_CTX_set_min_proto_version(c, lo) != 1 || SSL_CTX_set_max_proto_version(c, hi) != 1)
		return err_set(eb, el, ERR_CONFIG, "cannot limit the TLS protocol versions");
	return 0;
}

/* The OpenSSL name of TLS 1.2 suite `iana` (its standard name), or NULL. */
static const char *tls_openssl_name(STACK_OF(SSL_CIPHER) * all, const char *iana)
{
	for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *sc = sk_SSL_CIPHER_value(all, i);
		const char *std = SSL_CIPHER_standard_name(sc);
		if (std && !strcmp(std, iana))
			return SSL_CIPHER_get_name(sc);
		if (!strcmp(SSL_CIPHER_get_name(sc), iana))
			return SSL_CIPHER_get_name(sc);
	}
	return NULL;
}

/* ciphers: TLS 1.3 suites (TLS_AES_..., TLS_CHACHA20_...) go to the ciphersuites list, the
 * others (IANA or OpenSSL names) to the TLS 1.2 cipher list. */
static int tls_set_ciphers(SSL_CTX *c, const char *ciphers, char *eb, size_t el)
{
	if (!ciphers)
		return 0;
	char buf[2048], v13[2048] = "", v12[2048] = "";
	snprintf(buf, sizeof(buf), "%s", ciphers);
	SSL_CTX *every = SSL_CTX_new(TLS_method());
	if (!every || SSL_CTX_set_cipher_list(every, "ALL:COMPLEMENTOFALL") != 1) {
		SSL_CTX_free(every);
		return err_set(eb, el, ERR_CONFIG, "cannot list the cipher suites");
	}
	STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(every);
	int rc = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!strncmp(tok, "TLS_AES_", 8) || !strncmp(tok, "TLS_CHACHA20_", 13)) {
			size_t u = strlen(v13);
			snprintf(v13 + u, sizeof(v13) - u, "%s%s", u ? ":" : "", tok);
			continue;
		}
		const char *name = tls_openssl_name(all, tok);
		if (!name) {
			rc = err_set(eb, el, ERR_CONFIG, "unknown cipher suite '%s'", tok);
			break;
		}
		size_t u = strlen(v12);
		snprintf(v12 + u, sizeof(v12) - u, "%s%s", u ? ":" : "", name);
	}
	SSL_CTX_free(every);
	if (rc)
		return rc;
	/* a list naming only one family leaves the other protocol version without suites, as
	 * Java's does: that version is then off */
	if (*v13 && SSL_CTX_set_ciphersuites(c, v13) != 1)
		return err_set(eb, el, ERR_CONFIG, "cipher suites '%s' refused", v13);
	if (*v12 && SSL_CTX_set_cipher_list(c, v12) != 1)
		return err_set(eb, el, ERR_CONFIG, "cipher suites '%s' refused", v12);
	if (!*v13 && SSL_CTX_get_max_proto_version(c) != TLS1_2_VERSION)
		SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
	if (!*v12)
		SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	if (SSL_CTX_get_min_proto_version(c) > SSL_CTX_get_max_proto_version(c))
		return err_set(eb, el, ERR_CONFIG, "the cipher suites '%s' fit none of the enabled TLS protocols", ciphers);
	ERR_clear_error();
	return 0;
}

/* Builds an SSL_CTX from t's settings and files (read afresh). */
static int tls_build(struct tls_ctx *t, SSL_CTX **out, char *eb, size_t el)
{
	char *key_text = NULL, *trust_text = NULL, why[512];
	int rc = 0;
	*out = NULL;
	SSL_CTX *c = SSL_CTX_new(t->server ? TLS_server_method() : TLS_client_method());
	if (!c)
		return ERR_NOMEM;
	rc = tls_set_protocols(c, t->protocols, eb, el);
	if (!rc)
		rc = tls_set_ciphers(c, t->ciphers, eb, el);
	if (rc)
		goto out;
	/* a peer closing without close_notify (Java clients do) ends the stream, not an error */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	/* the key and chain */
	const char *chain = t->cert_pem, *key = t->key_pem, *what = "ssl keystore";
	if (t->key_file.path) {
		rc = tls_read_file(&t->key_file, &key_text, eb, el);
		if (rc)
			goto out;
		chain = key = key_text;
		what = t->key_file.path;
	}
	if (chain && key) {
		struct tls_chain ch = { .c = c };
		if (tls_each_cert(chain, tls_chain_add, &ch) <= 0) {
			tls_last_error(why, sizeof(why));
			rc = err_set(eb, el, ERR_CONFIG, "%s: no valid certificate (%s)", what, why);
			goto out;
		}
		BIO *bio = BIO_new_mem_buf(key, -1);
		EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, tls_passwd_cb, t->key_password) : NULL;
		BIO_free(bio);
		if (!pk || SSL_CTX_use_PrivateKey(c, pk) != 1 || SSL_CTX_check_private_key(c) != 1) {
			EVP_PKEY_free(pk);
			tls_last_error(why, sizeof(why));
			rc = err_set(eb, el, ERR_CONFIG, "%s: no private key matching the certificate, or a wrong password (%s)",
				     what, why);
			goto out;
		}
		EVP_PKEY_free(pk);
	} else if (t->server) {
		rc = err_set(eb, el, ERR_CONFIG, "TLS needs a key and certificate chain (a PEM keystore)");
		goto out;
	}

	/* the trusted certificates */
	const char *trust = t->trust_pem;
	if (t->trust_file.path) {
		rc = tls_read_file(&t->trust_file, &trust_text, eb, el);
		if (rc)
			goto out;
		trust = trust_text;
	}
	if (trust) {
		if (tls_each_cert(trust, tls_trust_add, c) <= 0) {
			tls_last_error(why, sizeof(why));
			rc = err_set(eb, el, ERR_CONFIG, "%s: no valid trusted certificate (%s)",
				     t->trust_file.path ? t->trust_file.path : "ssl truststore", why);
			goto out;
		}
	} else if (!t->server) {
		SSL_CTX_set_default_verify_paths(c);
	}
	if (t->server) {
		int mode = t->client_auth == TLS_AUTH_NONE ? SSL_VERIFY_NONE
			   : t->client_auth == TLS_AUTH_WANT ? SSL_VERIFY_PEER
							     : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		if (mode != SSL_VERIFY_NONE && !trust) {
			rc = err_set(eb, el, ERR_CONFIG, "client authentication needs trusted certificates (a PEM truststore)");
			goto out;
		}
		SSL_CTX_set_verify(c, mode, NULL);
	} else {
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	}
	*out = c;
	c = NULL;
out:
	SSL_CTX_free(c);
	free(key_text);
	free(trust_text);
	ERR_clear_error();
	return rc;
}

int tls_ctx_new(const struct tls_conf *c, bool server, struct tls_ctx **out, char *eb, size_t el)
{
	*out = NULL;
	struct tls_ctx *t = calloc(1, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	t->server = server;
	t->client_auth = c->client_auth;
	t->cert_pem = tls_pem_normalize(c->cert_pem);
	t->key_pem = tls_pem_normalize(c->key_pem);
	t->key_password = tls_dup(c->key_password);
	t->trust_pem = tls_pem_normalize(c->trust_pem);
	t->protocols = tls_dup(c->protocols);
	t->ciphers = tls_dup(c->ciphers);
	t->key_file.path = tls_dup(c->key_location);
	t->trust_file.path = tls_dup(c->trust_location);
	int rc = tls_build(t, &t->ssl_ctx, eb, el);
	if (rc) {
		tls_ctx_free(t);
		return rc;
	}
	t->generation = 1;
	*out = t;
	return 0;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ssl_ctx);
	free(t->cert_pem);
	free(t->key_pem);
	free(t->key_password);
	free(t->trust_pem);
	free(t->protocols);
	free(t->ciphers);
	free(t->key_file.path);
	free(t->trust_file.path);
	free(t);
}

struct ssl_st *tls_ctx_ssl(struct tls_ctx *t, const char *host)
{
	SSL *s = SSL_new(t->ssl_ctx);
	if (!s)
		return NULL;
	if (!t->server && host && *host) {
		/* SNI only for a name, as clients do; the name or address is checked either way */
		bool literal = strspn(host, "0123456789.") == strlen(host) || strchr(host, ':');
		if ((!literal && SSL_set_tlsext_host_name(s, host) != 1) ||
		    (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host) != 1 : SSL_set1_host(s, host) != 1)) {
			SSL_free(s);
			return NULL;
		}
	}
	return s;
}

static bool tls_file_changed(const struct tls_file *f)
{
	if (!f->path)
		return false;
	struct stat st;
	if (stat(f->path, &st) != 0)
		return false; /* gone for a moment (a rename in progress): keep what we have */
	return st.st_size != f->st.st_size || st.st_ino != f->st.st_ino || st.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec;
}

int tls_ctx_maybe_reload(struct tls_ctx *t, int64_t now_ms, char *eb, size_t el)
{
	if (now_ms - t->last_check_ms < 1000 && t->last_check_ms)
		return 0;
	t->last_check_ms = now_ms;
	bool key = tls_file_changed(&t->key_file), trust = tls_file_changed(&t->trust_file);
	if (!key && !trust)
		return 0;
	snprintf(t->reloaded, sizeof(t->reloaded), "%s%s%s", key ? t->key_file.path : "", key && trust ? ", " : "",
		 trust ? t->trust_file.path : "");
	SSL_CTX *fresh = NULL;
	int rc = tls_build(t, &fresh, eb, el);
	if (rc) {
		/* remember the files as they are now, so the error is reported once per change */
		if (t->key_file.path)
			stat(t->key_file.path, &t->key_file.st);
		if (t->trust_file.path)
			stat(t->trust_file.path, &t->trust_file.st);
		return rc;
	}
	SSL_CTX_free(t->ssl_ctx);
	t->ssl_ctx = fresh;
	t->generation++;
	return 0;
}

uint64_t tls_ctx_generation(const struct tls_ctx *t)
{
	return t->generation;
}

struct ssl_st *tls_ctx_ssl_fresh(struct tls_ctx *t, const char *host, const char *mod)
{
	struct timespec ts;
	char why[512];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t gen = t->generation;
	if (tls_ctx_maybe_reload(t, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, why, sizeof(why)))
		log_error(mod, "reloading the TLS material failed, keeping the old: %s", why);
	else if (t->generation != gen)
		log_info(mod, "TLS material reloaded from %s", t->reloaded);
	return tls_ctx_ssl(t, host);
}

void tls_ssl_require_peer(struct ssl_st *ssl)
{
	SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
}

bool tls_ctx_has_trust(const struct tls_ctx *t)
{
	return t->trust_pem || t->trust_file.path;
}

bool tls_peer_subject(struct ssl_st *ssl, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
	X509 *x = SSL_get0_peer_certificate(ssl);
	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return false;
	/* RFC 2253 as X500Principal.getName(): most specific first, "," between, UTF-8 kept */
	X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	char *p;
	long len = BIO_get_mem_data(bio, &p);
	bool ok = len > 0 && (size_t)len < n;
	if (ok) {
		memcpy(buf, p, (size_t)len);
		buf[len] = '\0';
	}
	BIO_free(bio);
	return ok;
}

bool tls_peer_names(struct ssl_st *ssl, const char *host)
{
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	if (!x || !host || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	if (X509_check_ip_asc(x, host, 0) == 1)
		return true;
	return X509_check_host(x, host, strlen(host), 0, NULL) == 1;
}

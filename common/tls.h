/*
 * tls — TLS for both daemons, on OpenSSL 3: a context built from PEM material (a private key
 * with its certificate chain; a bundle of trusted CA certificates), given as files or inline,
 * with the client-certificate policy, the protocol versions and the cipher suites allowed; the
 * context reloads itself when its files change (tls_ctx_maybe_reload), so certificates are
 * rotated without a restart; and the peer certificate's subject as a principal in RFC 2253
 * form, as Java's X500Principal.getName() gives it (ZooKeeper's x509 scheme and Kafka's SSL
 * principal are that string).
 *
 * The keys of both daemons map onto struct tls_conf: ZooKeeper's ssl.keyStore.location (type
 * PEM), ssl.trustStore.location, ssl.clientAuth, ssl.enabledProtocols, ssl.ciphersuites; Kafka's
 * ssl.keystore.location / ssl.keystore.certificate.chain + ssl.keystore.key, ssl.key.password,
 * ssl.truststore.location / ssl.truststore.certificates, ssl.client.auth,
 * ssl.enabled.protocols, ssl.cipher.suites (KIP-651). Connections use the context through
 * net_conn_new_tls (net.h). Loop thread only.
 */
#ifndef SAMSA_TLS_H
#define SAMSA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_ctx;
struct ssl_st;

enum tls_client_auth {
	TLS_AUTH_NONE,	  /* no client certificate asked for */
	TLS_AUTH_WANT,	  /* asked for, verified when given (ZooKeeper "want", Kafka "requested") */
	TLS_AUTH_NEED,	  /* required and verified (ZooKeeper "need", Kafka "required") */
};

/* What a context is built from; strings are copied (NULL or "": not set). */
struct tls_conf {
	const char *key_location;   /* PEM file: the private key and the certificate chain */
	const char *cert_pem;	    /* inline chain (instead of key_location, with key_pem) */
	const char *key_pem;	    /* inline private key */
	const char *key_password;   /* of an encrypted key */
	const char *trust_location; /* PEM file of trusted CA certificates */
	const char *trust_pem;	    /* inline trusted certificates */
	enum tls_client_auth client_auth;
	const char *protocols; /* "TLSv1.2,TLSv1.3" (the default when unset) */
	const char *ciphers;   /* comma-separated cipher suite names, IANA (TLS_AES_128_GCM_SHA256,
				  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL's; unset: OpenSSL's
				  defaults */
};

/* Parses a client-auth setting: "none", "want"/"requested", "need"/"required" (any case; ""
 * or NULL is def). Returns 0, or ERR_CONFIG. */
int tls_client_auth_parse(const char *s, enum tls_client_auth def, enum tls_client_auth *out);

/* A server (accepting) or client (connecting) context from c. A server needs a key and chain
 * (and verifies client certificates against the trusted ones, as client_auth says); a client
 * always verifies the server, against the trusted certificates or, when none are given, the
 * system's (and presents its own key and chain when it has one, for mutual TLS).
 * Returns 0 with *out set, or ERR_CONFIG / ERR_IO with the reason (file, OpenSSL's message)
 * in eb. Ownership: tls_ctx_free(*out). */
int tls_ctx_new(const struct tls_conf *c, bool server, struct tls_ctx **out, char *eb, size_t el);
void tls_ctx_free(struct tls_ctx *t); /* NULL ok */

/* A new SSL object of the context's current material, for one connection; NULL on failure.
 * For a client context, host (non-NULL) is the name the server's certificate must carry and
 * the SNI sent. The caller (net_conn_new_tls) owns it. */
struct ssl_st *tls_ctx_ssl(struct tls_ctx *t, const char *host);

/* Rebuilds the context when one of its files changed (size, mtime or inode) since it was
 * last built, at most once per second of now_ms; connections made afterwards use the new
 * material, established ones keep theirs. A failed rebuild keeps the old material and
 * returns the error (reason in eb) once per change; 0 otherwise (also when nothing changed). */
int tls_ctx_maybe_reload(struct tls_ctx *t, int64_t now_ms, char *eb, size_t el);
/* How many times the material was (re)built successfully, the first build included. */
uint64_t tls_ctx_generation(const struct tls_ctx *t);

/* For one connection about to be accepted or made: tls_ctx_maybe_reload on the monotonic
 * clock, logged under the log module mod ("TLS material reloaded from <the files read again>",
 * or "reloading the TLS material failed, keeping the old: <why, naming the file>"), then
 * tls_ctx_ssl. Every user of a context (the broker's listeners, its fetchers, its controlled
 * shutdown, both ends of the control plane) makes its connections through this, so a rotated
 * certificate reaches them all. NULL on failure. */
struct ssl_st *tls_ctx_ssl_fresh(struct tls_ctx *t, const char *host, const char *mod);

/* Makes a server-side ssl require a client certificate and verify it against the context's
 * trusted certificates, whatever the context's client_auth (the broker's control plane asks
 * every peer for one over the SSL listeners' context). */
void tls_ssl_require_peer(struct ssl_st *ssl);
/* Whether the context was given trusted certificates (a file or inline). */
bool tls_ctx_has_trust(const struct tls_ctx *t);

/* The verified peer certificate's subject of ssl in RFC 2253 form ("CN=alice,O=samsa") into
 * buf. Returns false (buf "") when the peer gave no certificate. */
bool tls_peer_subject(struct ssl_st *ssl, char *buf, size_t n);

/* Whether the verified peer certificate of ssl names host (a DNS name, or an IP address
 * literal matched against the certificate's IP addresses). */
bool tls_peer_names(struct ssl_st *ssl, const char *host);

/* The last OpenSSL errors as one line (for logs), clearing the queue. */
void tls_last_error(char *buf, size_t n);

#endif

/*
 * ksasl — every decoder and encoder of the broker's SASL authentication (KIP-152): the bodies of
 * SaslHandshake (API 17, v0-1) and SaslAuthenticate (API 36, v0-1; v2, flexible, is coded too
 * but not served), the tokens the mechanisms carry — PLAIN's "authzid NUL user NUL password"
 * (RFC 4616) and SCRAM's client-first and client-final messages (RFC 5802 §5.1, §7; RFC 7677) —
 * SCRAM credentials as Kafka stores them in /config/users/<name>
 * ("salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>", ScramCredentialUtils), base64,
 * (the JAAS entries of Kafka's PlainLoginModule are common/jaas's).
 * Schemas: apache/kafka clients/src/main/resources/common/message/Sasl{Handshake,Authenticate}
 * {Request,Response}.json. Every input here comes from a peer or a config file and is
 * distrusted: each string is bounded by the buffers below, a token by KSASL_MAX_TOKEN; nothing
 * is allocated. Pure functions, any thread; fuzzed by tests/fuzz/fuzz_ksasl.c.
 */
#ifndef SAMSA_KSASL_H
#define SAMSA_KSASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KSASL_MAX_TOKEN 16384 /* bytes of one SASL token before authentication */
#define KSASL_NAME_BUF 256    /* a user name, authzid or password, NUL included */
#define KSASL_NONCE_BUF 256
#define KSASL_MECH_BUF 64
#define KSASL_KEY_MAX 64   /* SHA-512 */
#define KSASL_SALT_MAX 128
#define KSASL_MAX_USERS 1024 /* user_<name> entries of one JAAS entry */

/* ---- SaslHandshake (17) ---- */

/* The mechanism of a request body (any version: v0 and v1 are the same) into mech. 0, or
 * ERR_PROTO (truncated, null, longer than KSASL_MECH_BUF - 1 or holding a NUL). */
int ksasl_handshake_req_decode(struct rbuf *r, char mech[KSASL_MECH_BUF]);
int ksasl_handshake_req_encode(struct wbuf *w, const char *mech);
/* error_code and the enabled mechanisms. Returns w's sticky error. */
int ksasl_handshake_resp_encode(struct wbuf *w, int16_t err, const char *const *mechs, int n);

/* ---- SaslAuthenticate (36) ---- */

#define KSASL_AUTH_MAX_VERSION 2
/* auth_bytes of a request body of version ver (0..2; v2 compact with tagged fields): *tok points
 * into r's buffer. 0, or ERR_PROTO (truncated, null, or longer than KSASL_MAX_TOKEN). */
int ksasl_auth_req_decode(struct rbuf *r, int16_t ver, const uint8_t **tok, size_t *len);
int ksasl_auth_req_encode(struct wbuf *w, int16_t ver, const uint8_t *tok, size_t len);
/* error_code, error_message (NULL: null), auth_bytes, and session_lifetime_ms from v1. */
int ksasl_auth_resp_encode(struct wbuf *w, int16_t ver, int16_t err, const char *msg, const uint8_t *tok,
			   size_t len, int64_t session_lifetime_ms);

/* ---- PLAIN (RFC 4616) ---- */

struct ksasl_plain {
	char authzid[KSASL_NAME_BUF]; /* "" when absent */
	char user[KSASL_NAME_BUF];
	char pass[KSASL_NAME_BUF];
};
/* 0, or ERR_PROTO: not three NUL-separated parts, an empty user or password, a part too long. */
int ksasl_plain_decode(const uint8_t *p, size_t n, struct ksasl_plain *out);

/* ---- SCRAM (RFC 5802) ---- */

/* client-first-message = gs2-header client-first-message-bare;
 * gs2-header = ("n" | "y") "," ["a=" authzid] ","; bare = "n=" saslname ",r=" nonce ["," ext] */
struct ksasl_scram_first {
	char gs2[KSASL_NAME_BUF + 8];	/* the gs2-header as sent, for the channel-binding check */
	char authzid[KSASL_NAME_BUF];	/* unescaped, "" when absent */
	char user[KSASL_NAME_BUF];	/* unescaped (=2C ',' and =3D '=') */
	char nonce[KSASL_NONCE_BUF];	/* printable, no ',' */
	char bare[KSASL_MAX_TOKEN + 1]; /* client-first-message-bare (AuthMessage) */
};
/* 0, or ERR_PROTO (channel binding "p=" asked, a bad escape, a missing or long field, a byte
 * outside printable ASCII in the nonce). */
int ksasl_scram_first_decode(const uint8_t *p, size_t n, struct ksasl_scram_first *out);

/* client-final-message = "c=" b64(gs2-header) ",r=" nonce ["," ext] ",p=" b64(proof) */
struct ksasl_scram_final {
	char cbind[2 * KSASL_NAME_BUF];	  /* the c= value, base64 as sent */
	char nonce[2 * KSASL_NONCE_BUF];  /* client + server nonce */
	uint8_t proof[KSASL_KEY_MAX];
	size_t proof_len;
	char without_proof[KSASL_MAX_TOKEN + 1]; /* the message up to ",p=" (AuthMessage) */
};
int ksasl_scram_final_decode(const uint8_t *p, size_t n, struct ksasl_scram_final *out);

/* A credential as Kafka stores it (ScramCredentialUtils.credentialToString). */
struct ksasl_scram_cred {
	uint8_t salt[KSASL_SALT_MAX];
	size_t salt_len;
	uint8_t stored_key[KSASL_KEY_MAX], server_key[KSASL_KEY_MAX];
	size_t key_len; /* both keys: 32 (SHA-256) or 64 (SHA-512) */
	int32_t iterations;
};
/* 0, or ERR_PROTO (a field missing, repeated or unknown, bad base64, keys of different or
 * unexpected lengths, iterations outside 1..2^31-1). */
int ksasl_scram_cred_decode(const char *s, size_t n, struct ksasl_scram_cred *out);
/* Writes the string into out[n]; ERR_TOOBIG when it does not fit. */
int ksasl_scram_cred_encode(const struct ksasl_scram_cred *c, char *out, size_t n);

/* The mechanisms samsa offers. */
enum ksasl_mech { KSASL_PLAIN, KSASL_SCRAM_SHA_256, KSASL_SCRAM_SHA_512, KSASL_NMECH };
const char *ksasl_mech_name(enum ksasl_mech m); /* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" */
/* n bytes of s, Kafka's spelling (upper case): 0 with *out, or -1 for anything else. */
int ksasl_mech_parse(const char *s, size_t n, enum ksasl_mech *out);

/* The SCRAM arithmetic of RFC 5802 §3 on OpenSSL (PBKDF2, HMAC and the hash of mechanism m, a
 * SCRAM one): a credential from a password (what kafka-configs stores), and the check of a
 * client's proof over AuthMessage auth (ClientKey = proof XOR HMAC(StoredKey, auth) must hash
 * to StoredKey), which on success writes the ServerSignature (c->key_len bytes) into sig.
 * ksasl_scram_cred_make: 0 or ERR_INVAL (salt too long, iterations < 1, a crypto failure);
 * ksasl_scram_verify: 0, or ERR_PROTO for a wrong proof. */
int ksasl_scram_cred_make(enum ksasl_mech m, const char *password, const uint8_t *salt, size_t salt_len,
			  int32_t iterations, struct ksasl_scram_cred *out);
int ksasl_scram_verify(enum ksasl_mech m, const struct ksasl_scram_cred *c, const char *auth, const uint8_t *proof,
		       size_t proof_len, uint8_t sig[KSASL_KEY_MAX]);

/* A user name as Kafka writes it into a znode name (Sanitizer.sanitize: URL encoding, with
 * ' ' as %20 and '*' as %2A) into out[n]; ERR_TOOBIG when it does not fit. */
int ksasl_sanitize(const char *name, char *out, size_t n);

/* ---- base64 (RFC 4648 §4, padded) ---- */

/* Decodes s[0..n) into out[cap]: 0 with *outlen, or ERR_PROTO (bad character or padding, or
 * more than cap bytes). */
int ksasl_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* Encodes p[0..n) into out, which holds 4 * ((n + 2) / 3) + 1 bytes; returns the length. */
size_t ksasl_b64_encode(const uint8_t *p, size_t n, char *out);

/* ---- the client's side (a broker authenticating its own connections to another) ---- */

/* A SaslHandshake response body (v0-1): *err, and whether mech is among the mechanisms the
 * server enables (*has), which are listed comma-separated into offered[on] (cut to fit).
 * 0, or ERR_PROTO (truncated, a count over the bytes left). */
int ksasl_handshake_resp_decode(struct rbuf *r, const char *mech, int16_t *err, bool *has, char *offered, size_t on);
/* A SaslAuthenticate response body of version ver (0-1): *err, the error message into msg[mn]
 * ("" when null; cut to fit, NULs and control bytes made '?'), auth_bytes (*tok into r's buffer,
 * at most KSASL_MAX_TOKEN). 0, or ERR_PROTO. */
int ksasl_auth_resp_decode(struct rbuf *r, int16_t ver, int16_t *err, char *msg, size_t mn, const uint8_t **tok,
			   size_t *len);

/* SCRAM's client side (RFC 5802 §3): what the client keeps between its two messages. */
#define KSASL_SCRAM_MIN_ITERATIONS 4096	 /* Kafka's ScramMechanism bounds */
#define KSASL_SCRAM_MAX_ITERATIONS 16384 /* (a hostile server cannot make us hash for long) */
struct ksasl_scram_client {
	enum ksasl_mech mech;
	char pass[KSASL_NAME_BUF];
	char nonce[KSASL_NONCE_BUF];
	char first_bare[2 * KSASL_NAME_BUF + KSASL_NONCE_BUF]; /* for AuthMessage */
	uint8_t server_sig[KSASL_KEY_MAX];		      /* the ServerSignature expected */
	size_t key_len;
};
/* Starts an exchange as user with password pass under m (a SCRAM mechanism): writes the
 * client-first-message ("n,,n=<user>,r=<fresh nonce>", the name escaped) into out[on].
 * Returns its length, or -1 (a name or password too long, no randomness). */
int ksasl_scram_client_first(struct ksasl_scram_client *sc, enum ksasl_mech m, const char *user, const char *pass,
			     char *out, size_t on);
/* Answers the server-first-message p[0..n) ("r=<nonce>,s=<salt>,i=<iterations>"): its nonce
 * must extend ours and its iterations lie within Kafka's bounds. Writes the client-final-message
 * ("c=biws,r=<nonce>,p=<proof>") into out[on] and remembers the ServerSignature to expect.
 * Returns its length, or -1 (malformed, a nonce not ours, iterations out of bounds, too long). */
int ksasl_scram_client_final(struct ksasl_scram_client *sc, const uint8_t *p, size_t n, char *out, size_t on);
/* The server-final-message p[0..n): 0 for "v=<the expected signature>", ERR_PROTO otherwise
 * ("e=<error>", a wrong signature: a server that does not know the password). */
int ksasl_scram_client_check(const struct ksasl_scram_client *sc, const uint8_t *p, size_t n);

/* JAAS entries (PlainLoginModule's user_<name> options) are parsed by common/jaas. */

#endif

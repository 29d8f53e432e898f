/*
 * zk_sasl — the coordinator's SASL authentication (ZooKeeper's SaslServerCallbackHandler with
 * the DigestLoginModule): the DIGEST-MD5 mechanism of RFC 2831 as a server, with the realm
 * "zk-sasl-md5" and the digest-uri "zookeeper/zk-sasl-md5" that ZooKeeper fixes, against the
 * users of the JAAS "Server" section (user_<name>="<password>" options). A client that
 * completes the exchange is authenticated as ("sasl", <name>), as SASLAuthenticationProvider
 * makes it. The exchange (ZooKeeper's opcode 102 requests, kazoo's sasl_options, the Java
 * client's JAAS "Client" section) is two round trips: an empty token answered with the
 * challenge, then the client's digest response answered with rspauth.
 *
 * The parser of the client's response distrusts its input (bounded, every directive checked,
 * duplicates refused) and has a fuzz harness. Pure functions with no I/O but the JAAS file.
 */
#ifndef SAMSA_ZK_SASL_H
#define SAMSA_ZK_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define ZK_SASL_REALM "zk-sasl-md5"
#define ZK_SASL_DIGEST_URI "zookeeper/zk-sasl-md5"
#define ZK_SASL_MAX_TOKEN 4096 /* a client's token longer than this fails the exchange */
#define ZK_SASL_MAX_USERS 1024

/* The users of the JAAS Server section. */
struct zk_sasl_users {
	int n;
	char *names[ZK_SASL_MAX_USERS];
	char *passwords[ZK_SASL_MAX_USERS];
};

/* Reads the "Server" section of the JAAS file at path (ZooKeeper's
 * java.security.auth.login.config): its DigestLoginModule's user_<name>="<password>" options.
 * Returns 0 with *out set (free with zk_sasl_users_free), or ERR_IO / ERR_CONFIG with the reason
 * in eb (no Server section, another login module, a malformed entry). */
int zk_sasl_users_load(const char *path, struct zk_sasl_users **out, char *eb, size_t el);
void zk_sasl_users_free(struct zk_sasl_users *u); /* NULL ok */

enum zk_sasl_state {
	ZK_SASL_START,	   /* waiting for the client's first (empty) token */
	ZK_SASL_CHALLENGED, /* the challenge was sent; waiting for the digest response */
	ZK_SASL_DONE,	   /* authenticated (rspauth sent) */
	ZK_SASL_FAILED,	   /* refused: the connection is closed after the answer */
};

/* One connection's exchange; zero-initialise (ZK_SASL_START), no resources. */
struct zk_sasl_conv {
	enum zk_sasl_state state;
	char nonce[48];
	char user[256]; /* when DONE: the authenticated name */
};

/* One step: the client's token tok[0..len) (len -1: a null token) moves c on and appends the
 * server's token to out. nonce_src (16 random bytes, from the caller) is used for the challenge.
 * Returns c's new state; on ZK_SASL_FAILED the reason is in eb (the password is never named). */
enum zk_sasl_state zk_sasl_step(const struct zk_sasl_users *u, struct zk_sasl_conv *c, const uint8_t *tok,
				int32_t len, const uint8_t nonce_src[16], struct wbuf *out, char *eb, size_t el);

/* ---- exposed for the tests and the fuzz harness ---- */

/* The directives of a DIGEST-MD5 response (RFC 2831 2.1.2), values unquoted. */
struct zk_sasl_resp {
	char username[256], realm[256], nonce[128], cnonce[256], nc[16], qop[16], digest_uri[256], response[40],
		authzid[256];
	bool has_realm, has_authzid;
};
/* Parses a response token. 0, or ERR_PROTO with the reason in eb (a missing or repeated
 * directive, an unterminated quote, a value too long). */
int zk_sasl_parse_response(const uint8_t *p, size_t len, struct zk_sasl_resp *out, char *eb, size_t el);
/* The hex response value (33 bytes with the NUL) for user/password of r, with a2 "AUTHENTICATE:"
 * (the client's proof) or ":" (rspauth) followed by the digest-uri. */
void zk_sasl_digest(const struct zk_sasl_resp *r, const char *password, bool rspauth, char hex[33]);

#endif

/*
 * zk_acl — ACL checks and fix-ups as ZooKeeper does them (ZooKeeperServer.checkACL,
 * PrepRequestProcessor.fixupACL): the schemes world, auth, digest, ip (with CIDR masks) and
 * super; digest ids "user:base64(sha1(user:password))".
 */
#ifndef SAMSA_ZK_ACL_H
#define SAMSA_ZK_ACL_H

#include "zk_types.h"

#include <stddef.h>
#include <stdint.h>

/* One identity of a connection: ("ip", "127.0.0.1"), ("digest", "user:hash"), ... */
struct zk_auth_id {
	const char *scheme;
	const char *id;
};

/* 1 if one of ids may do perm under acl (an empty list allows everything; "super" bypasses). */
int zk_acl_check(const struct zk_acl *acl, int32_t n, int32_t perm, const struct zk_auth_id *ids, int32_t n_ids);
/*
 * The digest id of a credential, as ZooKeeper's DigestAuthenticationProvider makes it:
 * "user:password" -> "user:" + base64(sha1("user:password")); the user is what precedes the
 * first ':', or the whole credential when it has none ("pw" -> "pw:" + base64(sha1("pw"))).
 * *out is malloc'ed (the caller frees it). 0 or ERR_NOMEM.
 */
int zk_acl_digest(const uint8_t *cred, size_t len, char **out);
/*
 * Validates and expands an ACL for create/setACL. ZK_OK with *out (free with
 * zk_acl_list_free) or ZK_EINVALIDACL: empty list; world id not "anyone"; auth with no
 * non-ip identity; digest id not "user:hash"; ip not an address or address/bits; an unknown
 * scheme. "auth" entries become one digest entry per authenticated identity.
 */
int32_t zk_acl_fixup(const struct zk_acl *in, int32_t n, const struct zk_auth_id *ids, int32_t n_ids,
		     struct zk_acl **out, int32_t *n_out);
void zk_acl_list_free(struct zk_acl *acl, int32_t n);

#endif

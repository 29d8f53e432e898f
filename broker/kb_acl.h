/*
 * kb_acl — the broker's authorizer (authorizer.class.name = Kafka's AclAuthorizer or
 * SimpleAclAuthorizer): the ACLs of broker/auth/kacl held in memory, loaded from the
 * coordinator (/kafka-acl, /kafka-acl-extended/prefixed) on every new session and refreshed one
 * resource at a time from Kafka's change notifications (/kafka-acl-changes,
 * /kafka-acl-extended-changes), as Kafka's AclAuthorizer does; and the writes of CreateAcls /
 * DeleteAcls: a resource's znode read, changed and written back conditionally on its version
 * (retried when another writer got there first), then a change notification, then the cache.
 * Until the first load has completed only super users are allowed. Loop thread.
 */
#ifndef SAMSA_KB_ACL_H
#define SAMSA_KB_ACL_H

#include "kb_cluster.h"

#include <stdbool.h>
#include <stddef.h>

struct broker;
struct kacl;
struct kacl_entry;
struct kacl_resource;

/* Makes b->acl when the config switches an authorizer on (NULL otherwise): super.users and
 * allow.everyone.if.no.acl.found applied. 0 or ERR_CONFIG / ERR_NOMEM with text in eb. */
int kb_acl_start(struct broker *b, char *eb, size_t el);
void kb_acl_stop(struct broker *b); /* frees b->acl; fine without one */
/* Whether an authorizer is on. */
bool kb_acl_on(const struct broker *b);
/* A new coordinator session (or the same one reconnected): the paths are made, every ACL
 * loaded again and the change folders watched. */
void kb_acl_session(struct broker *b);
/* A watch fired on path (relative to the chroot): true when it was one of kb_acl's. */
bool kb_acl_watch(struct broker *b, const char *path);
/* The decision (kacl_authorize) for principal from host; true without an authorizer. */
bool kb_acl_authorize(const struct broker *b, const char *principal, const char *host, int rtype, const char *name,
		      int op);
/* The store (read only), NULL without an authorizer. */
const struct kacl *kb_acl_store(const struct broker *b);
/* Changes resource r in the coordinator: removes the entries equal to one of del[0..ndel), adds
 * add[0..nadd) (those not there yet), writes the znode conditionally (deleting it when empty),
 * notifies, and updates the cache; then cb(b, ctx, error, msg) with KE_NONE or a Kafka error.
 * Everything is copied. */
void kb_acl_update(struct broker *b, const struct kacl_resource *r, const struct kacl_entry *add, size_t nadd,
		   const struct kacl_entry *del, size_t ndel, kb_admin_cb cb, void *ctx);

#endif

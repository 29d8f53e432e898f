/*
 * kacl — Kafka's ACLs with no I/O: the bindings a broker holds, the rules of Kafka 2.7's
 * AclAuthorizer that decide a request, the filters of DescribeAcls / DeleteAcls, and the
 * ZooKeeper form Kafka stores them in (kafka.zk.ZkAclStore, ZkAclChangeStore):
 *
 *   /kafka-acl/<Type>/<name>                       LITERAL bindings of one resource
 *   /kafka-acl-extended/prefixed/<Type>/<name>     PREFIXED bindings of one resource
 *       {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow",
 *                             "operation":"Read","host":"*"}]}
 *   /kafka-acl-changes/acl_changes_N               a LITERAL resource changed: "TOPIC:<name>"
 *   /kafka-acl-extended-changes/acl_changes_N      a PREFIXED one: {"version":1,
 *       "resourceType":"TOPIC","name":"<name>","patternType":"PREFIXED"}
 *   (the Java enums' names as Kafka 2.7 writes them; names are read in any case)
 *
 * <Type> is Topic, Group, Cluster, TransactionalId or DelegationToken (the cluster's one resource
 * is named "kafka-cluster").
 *
 * The rules (AclAuthorizer.authorize): a super user (super.users, "User:a;User:b") is always
 * allowed. Otherwise the bindings that apply to a resource are its LITERAL ones, the LITERAL
 * ones of the wildcard name "*" of its type, and the PREFIXED ones whose name starts its name.
 * None at all: allowed iff allow.everyone.if.no.acl.found. A DENY binding matching the
 * principal (or "User:*"), the host (or "*") and the operation (or ALL) refuses, whatever
 * allows. Else an ALLOW binding matching the same way allows, where DESCRIBE is also allowed by
 * READ, WRITE, DELETE and ALTER, and DESCRIBE_CONFIGS by ALTER_CONFIGS. Nothing else allows.
 *
 * Enum values are Kafka's wire codes (AclOperation, AclPermissionType, ResourceType,
 * PatternType), so codecs pass them through. Decoders of znode bytes are bounded by len, cap
 * every count and string (KACL_MAX_*), and give ERR_CORRUPT with text in eb for what Kafka's
 * decoder refuses. One loop thread owns a struct kacl; nothing here blocks.
 */
#ifndef SAMSA_KACL_H
#define SAMSA_KACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KACL_MAX_NAME 1024	/* bytes of a resource name */
#define KACL_MAX_PRINCIPAL 255	/* bytes of a principal ("User:...") */
#define KACL_MAX_HOST 255	/* bytes of a host */
#define KACL_MAX_ENTRIES 10000	/* bindings of one resource */
#define KACL_CLUSTER_NAME "kafka-cluster"
#define KACL_WILDCARD "*"

enum kacl_rtype { /* ResourceType */
	KACL_RT_UNKNOWN = 0,
	KACL_RT_ANY = 1,
	KACL_RT_TOPIC = 2,
	KACL_RT_GROUP = 3,
	KACL_RT_CLUSTER = 4,
	KACL_RT_TRANSACTIONAL_ID = 5,
	KACL_RT_DELEGATION_TOKEN = 6,
};

enum kacl_pattern { /* PatternType */
	KACL_PT_UNKNOWN = 0,
	KACL_PT_ANY = 1,
	KACL_PT_MATCH = 2,
	KACL_PT_LITERAL = 3,
	KACL_PT_PREFIXED = 4,
};

enum kacl_op { /* AclOperation */
	KACL_OP_UNKNOWN = 0,
	KACL_OP_ANY = 1,
	KACL_OP_ALL = 2,
	KACL_OP_READ = 3,
	KACL_OP_WRITE = 4,
	KACL_OP_CREATE = 5,
	KACL_OP_DELETE = 6,
	KACL_OP_ALTER = 7,
	KACL_OP_DESCRIBE = 8,
	KACL_OP_CLUSTER_ACTION = 9,
	KACL_OP_DESCRIBE_CONFIGS = 10,
	KACL_OP_ALTER_CONFIGS = 11,
	KACL_OP_IDEMPOTENT_WRITE = 12,
};

enum kacl_perm { /* AclPermissionType */
	KACL_PERM_UNKNOWN = 0,
	KACL_PERM_ANY = 1,
	KACL_PERM_DENY = 2,
	KACL_PERM_ALLOW = 3,
};

/* One binding's entry (the part below its resource). A value type. */
struct kacl_entry {
	char principal[KACL_MAX_PRINCIPAL + 1];
	char host[KACL_MAX_HOST + 1];
	int8_t op;   /* enum kacl_op, never UNKNOWN or ANY */
	int8_t perm; /* KACL_PERM_ALLOW or KACL_PERM_DENY */
};

/* A resource pattern: type (a concrete one), LITERAL or PREFIXED, and a name. Borrowed strings. */
struct kacl_resource {
	int8_t rtype;
	int8_t pattern;
	const char *name;
};

/* ---- names ---- */

/* Kafka's enum names as its tools print them ("TOPIC", "LITERAL", "READ", "ALLOW"); "UNKNOWN"
 * for anything else. */
const char *kacl_rtype_name(int rtype);
const char *kacl_pattern_name(int pattern);
const char *kacl_op_name(int op);
const char *kacl_perm_name(int perm);
/* Parse a name in any case, with or without underscores ("Read", "DESCRIBE_CONFIGS",
 * "describeconfigs", "TransactionalId"); the UNKNOWN value (0) when it names nothing. */
int kacl_rtype_parse(const char *s);
int kacl_pattern_parse(const char *s);
int kacl_op_parse(const char *s);
int kacl_perm_parse(const char *s);

/* true for an entry Kafka accepts in a CreateAcls: a principal "Type:name" (non-empty both),
 * a host, an operation other than UNKNOWN/ANY, ALLOW or DENY, and a resource of a concrete
 * type with a LITERAL or PREFIXED pattern and a non-empty name (the cluster's named
 * "kafka-cluster"). On false, why in eb. */
bool kacl_valid(const struct kacl_resource *r, const struct kacl_entry *e, char *eb, size_t el);

/* ---- the store and the rules ---- */

struct kacl;

/* An empty store: no super users, allow.everyone.if.no.acl.found false. NULL on no memory. */
struct kacl *kacl_new(void);
void kacl_free(struct kacl *acl); /* NULL is fine */

/* super.users: principals separated by ';' (spaces around each trimmed); replaces the list.
 * 0, ERR_INVAL (a principal without "Type:") or ERR_NOMEM (the list unchanged). */
int kacl_set_super_users(struct kacl *acl, const char *list, char *eb, size_t el);
void kacl_set_allow_if_none(struct kacl *acl, bool allow);

/* Replaces every binding of resource r with the n entries e (copied; n == 0 removes the
 * resource). 0 or ERR_NOMEM (the store unchanged) or ERR_INVAL (r not LITERAL / PREFIXED). */
int kacl_set(struct kacl *acl, const struct kacl_resource *r, const struct kacl_entry *e, size_t n);
/* The entries of resource r exactly (not what applies to it): a pointer into the store, valid
 * until the next change, and the count in *n (0 and NULL when none). */
const struct kacl_entry *kacl_get(const struct kacl *acl, const struct kacl_resource *r, size_t *n);
/* Removes every binding. */
void kacl_clear(struct kacl *acl);
/* Bindings held, over all resources. */
size_t kacl_count(const struct kacl *acl);

/* The decision for principal ("User:alice") from host (an address as text) doing op on the
 * resource of type rtype named name, by the rules above. */
bool kacl_authorize(const struct kacl *acl, const char *principal, const char *host, int rtype, const char *name,
		    int op);
/* true when principal is in super.users. */
bool kacl_is_super(const struct kacl *acl, const char *principal);

/* ---- filters (DescribeAcls, DeleteAcls) ---- */

/* AclBindingFilter: NULL strings and the ANY values match anything; pattern MATCH matches the
 * LITERAL bindings of name and of "*" and the PREFIXED ones whose name starts name. Borrowed. */
struct kacl_filter {
	int8_t rtype;
	int8_t pattern;
	const char *name;
	const char *principal;
	const char *host;
	int8_t op;
	int8_t perm;
};

/* true when the binding (r, e) matches f. */
bool kacl_filter_match(const struct kacl_filter *f, const struct kacl_resource *r, const struct kacl_entry *e);

/* Calls fn for every binding in the store that matches f (NULL: every binding), resources in
 * no particular order; fn must not change the store. Stops at fn's first non-zero return and
 * returns it; 0 otherwise. */
typedef int (*kacl_visit_fn)(void *arg, const struct kacl_resource *r, const struct kacl_entry *e);
int kacl_each(const struct kacl *acl, const struct kacl_filter *f, kacl_visit_fn fn, void *arg);

/* ---- the ZooKeeper form ---- */

/* The znode path of resource r into buf (size n): ERR_TOOBIG if it does not fit, ERR_INVAL for
 * a pattern other than LITERAL / PREFIXED or a type without a name. */
int kacl_zk_path(const struct kacl_resource *r, char *buf, size_t n);
/* The parent folder of LITERAL (/kafka-acl) or PREFIXED (/kafka-acl-extended/prefixed) resources. */
const char *kacl_zk_root(int pattern);
/* The folder and prefix of change notifications ("/kafka-acl-changes" or
 * "/kafka-acl-extended-changes"; children named "acl_changes_" + a sequence number). */
const char *kacl_zk_changes(int pattern);
#define KACL_ZK_CHANGE_PREFIX "acl_changes_"
/* The type named by a folder under a root ("Topic", any case); UNKNOWN when none. */
int kacl_zk_type(const char *folder);
/* Kafka's name of a type in paths ("Topic", "TransactionalId"); NULL for ANY / UNKNOWN. */
const char *kacl_zk_type_name(int rtype);

/* The entries of a resource's znode into a new array *out (caller frees; non-NULL even when n
 * is 0). ERR_CORRUPT (not the document, an entry whose principal, host, operation or
 * permissionType Kafka would refuse, more than KACL_MAX_ENTRIES) or ERR_NOMEM, with *out NULL
 * and *n 0. */
int kacl_zk_decode(const char *buf, size_t len, struct kacl_entry **out, size_t *n, char *eb, size_t el);
/* Version 1 with the n entries in order. 0 with *out (caller frees) or ERR_NOMEM / ERR_INVAL
 * (an entry with an op or perm that has no name). */
int kacl_zk_encode(const struct kacl_entry *e, size_t n, char **out);

/* A change notification of the given pattern: the changed resource into *r, its name copied into
 * name (size n, at least KACL_MAX_NAME + 1). ERR_CORRUPT with text in eb otherwise. */
int kacl_zk_change_decode(int pattern, const char *buf, size_t len, struct kacl_resource *r, char *name, size_t n,
			  char *eb, size_t el);
/* The notification for resource r (its pattern picks the form). 0 with *out (caller frees). */
int kacl_zk_change_encode(const struct kacl_resource *r, char **out);

#endif

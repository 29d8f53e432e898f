/*
 * zk_types — the values the ZooKeeper client protocol and the coordinator's modules share:
 * opcodes, error codes, create flags, watch event types and states, permissions, Stat and ACL,
 * and the transaction (struct zk_txn) that every write becomes before it is logged and applied.
 *
 * Numbers are ZooKeeper's own (zookeeper.jute, ZooDefs.OpCode, KeeperException.Code,
 * Watcher.Event), so they go on the wire unchanged.
 */
#ifndef SAMSA_ZK_TYPES_H
#define SAMSA_ZK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ZooDefs.OpCode */
enum zk_op {
	ZK_OP_NOTIFICATION = 0,
	ZK_OP_CREATE = 1,
	ZK_OP_DELETE = 2,
	ZK_OP_EXISTS = 3,
	ZK_OP_GETDATA = 4,
	ZK_OP_SETDATA = 5,
	ZK_OP_GETACL = 6,
	ZK_OP_SETACL = 7,
	ZK_OP_GETCHILDREN = 8,
	ZK_OP_SYNC = 9,
	ZK_OP_PING = 11,
	ZK_OP_GETCHILDREN2 = 12,
	ZK_OP_CHECK = 13,
	ZK_OP_MULTI = 14,
	ZK_OP_CREATE2 = 15,
	ZK_OP_RECONFIG = 16,
	ZK_OP_CHECKWATCHES = 17,
	ZK_OP_REMOVEWATCHES = 18,
	ZK_OP_CREATECONTAINER = 19,
	ZK_OP_DELETECONTAINER = 20,
	ZK_OP_CREATETTL = 21,
	ZK_OP_MULTIREAD = 22,
	ZK_OP_AUTH = 100,
	ZK_OP_SETWATCHES = 101,
	ZK_OP_SASL = 102,
	ZK_OP_GETEPHEMERALS = 103,
	ZK_OP_GETALLCHILDRENNUMBER = 104,
	ZK_OP_SETWATCHES2 = 105,
	ZK_OP_ADDWATCH = 106,
	ZK_OP_WHOAMI = 107,
	ZK_OP_CREATESESSION = -10,
	ZK_OP_CLOSESESSION = -11,
	ZK_OP_ERROR = -1,
};

/* Special xids (ClientCnxn) */
enum {
	ZK_XID_NOTIFICATION = -1,
	ZK_XID_PING = -2,
	ZK_XID_AUTH = -4,
	ZK_XID_SETWATCHES = -8,
};

/* KeeperException.Code */
enum zk_err {
	ZK_OK = 0,
	ZK_ESYSTEMERROR = -1,
	ZK_ERUNTIMEINCONSISTENCY = -2,
	ZK_EDATAINCONSISTENCY = -3,
	ZK_ECONNECTIONLOSS = -4,
	ZK_EMARSHALLINGERROR = -5,
	ZK_EUNIMPLEMENTED = -6,
	ZK_EOPERATIONTIMEOUT = -7,
	ZK_EBADARGUMENTS = -8,
	ZK_EUNKNOWNSESSION = -12,
	ZK_ENEWCONFIGNOQUORUM = -13,
	ZK_ERECONFIGINPROGRESS = -14,
	ZK_EAPIERROR = -100,
	ZK_ENONODE = -101,
	ZK_ENOAUTH = -102,
	ZK_EBADVERSION = -103,
	ZK_ENOCHILDRENFOREPHEMERALS = -108,
	ZK_ENODEEXISTS = -110,
	ZK_ENOTEMPTY = -111,
	ZK_ESESSIONEXPIRED = -112,
	ZK_EINVALIDCALLBACK = -113,
	ZK_EINVALIDACL = -114,
	ZK_EAUTHFAILED = -115,
	ZK_ESESSIONMOVED = -118,
	ZK_ENOTREADONLY = -119,
	ZK_EEPHEMERALONLOCALSESSION = -120,
	ZK_ENOWATCHER = -121,
	ZK_ERECONFIGDISABLED = -123,
	ZK_ESESSIONCLOSEDREQUIRESASLAUTH = -124,
	ZK_EQUOTAEXCEEDED = -125,
	ZK_ETHROTTLED = -127,
};

/* CreateMode flags as sent in CreateRequest.flags */
enum zk_create_flags {
	ZK_CREATE_PERSISTENT = 0,
	ZK_CREATE_EPHEMERAL = 1,
	ZK_CREATE_SEQUENTIAL = 2, /* bit: with PERSISTENT or EPHEMERAL */
	ZK_CREATE_CONTAINER = 4,
	ZK_CREATE_TTL = 5,
	ZK_CREATE_SEQUENTIAL_TTL = 6,
};

/* Watcher.Event.EventType */
enum zk_event_type {
	ZK_EVENT_NONE = -1,
	ZK_EVENT_CREATED = 1,
	ZK_EVENT_DELETED = 2,
	ZK_EVENT_DATACHANGED = 3,
	ZK_EVENT_CHILDCHANGED = 4,
	ZK_EVENT_DATAWATCHREMOVED = 5,
	ZK_EVENT_CHILDWATCHREMOVED = 6,
	ZK_EVENT_PERSISTENTWATCHREMOVED = 7,
};

/* Watcher.Event.KeeperState */
enum zk_state {
	ZK_STATE_DISCONNECTED = 0,
	ZK_STATE_SYNCCONNECTED = 3,
	ZK_STATE_AUTHFAILED = 4,
	ZK_STATE_CONNECTEDREADONLY = 5,
	ZK_STATE_EXPIRED = -112,
	ZK_STATE_CLOSED = 7,
};

/* AddWatchMode */
enum zk_addwatch_mode {
	ZK_ADDWATCH_PERSISTENT = 0,
	ZK_ADDWATCH_PERSISTENT_RECURSIVE = 1,
};

/* ZooDefs.Perms */
enum zk_perms {
	ZK_PERM_READ = 1,
	ZK_PERM_WRITE = 2,
	ZK_PERM_CREATE = 4,
	ZK_PERM_DELETE = 8,
	ZK_PERM_ADMIN = 16,
	ZK_PERM_ALL = 31,
};

/* The Stat record, field order as on the wire. */
struct zk_stat {
	int64_t czxid;
	int64_t mzxid;
	int64_t ctime; /* ms since the epoch */
	int64_t mtime;
	int32_t version;
	int32_t cversion;
	int32_t aversion;
	int64_t ephemeral_owner; /* session id, 0 if persistent; see ZK_CONTAINER_OWNER, zk_owner_is_ttl */
	int32_t data_length;
	int32_t num_children;
	int64_t pzxid;
};

/* ZooKeeper marks container nodes with this ephemeralOwner (EphemeralType.CONTAINER). */
#define ZK_CONTAINER_OWNER INT64_MIN

/*
 * TTL nodes (extendedTypesEnabled, EphemeralType.TTL) keep their TTL in the ephemeralOwner
 * field: 0xff in the top byte, 16 reserved zero bits (the extended type: 0 = TTL), and the TTL
 * in ms in the low 40 bits, 1..ZK_TTL_MAX. No session id has 0xff in its top byte (that is
 * the server id, at most 254), so the encoding never collides with an ephemeral's owner.
 * The log and snapshots store it as ZooKeeper does; clients see ephemeralOwner 0.
 */
#define ZK_TTL_OWNER_MASK ((int64_t)0xff00000000000000ULL)
#define ZK_TTL_RESERVED_MASK ((int64_t)0x00ffff0000000000LL)
#define ZK_TTL_MAX ((int64_t)0x000000ffffffffffLL)

static inline bool zk_owner_is_ttl(int64_t owner)
{
	return (owner & ZK_TTL_OWNER_MASK) == ZK_TTL_OWNER_MASK && (owner & ZK_TTL_RESERVED_MASK) == 0;
}

/* The TTL (ms) of a TTL node's owner value. */
static inline int64_t zk_owner_ttl(int64_t owner)
{
	return owner & ZK_TTL_MAX;
}

/* The owner value of a TTL node; ttl in 1..ZK_TTL_MAX (checked by the caller). */
static inline int64_t zk_ttl_owner(int64_t ttl)
{
	return ZK_TTL_OWNER_MASK | ttl;
}

/* A session owns the node (an ephemeral): not persistent, not a container, not a TTL node. */
static inline bool zk_owner_is_session(int64_t owner)
{
	return owner != 0 && owner != ZK_CONTAINER_OWNER && (owner & ZK_TTL_OWNER_MASK) != ZK_TTL_OWNER_MASK;
}

/* One ACL entry; strings are NUL-terminated. Owned by whoever owns the array holding it. */
struct zk_acl {
	int32_t perms;
	const char *scheme;
	const char *id;
};

/*
 * A transaction: what a write request becomes after it has been checked ("prepped") against
 * the tree. Applying the same txn to the same tree always gives the same result, so the
 * same struct is applied live, replayed from the log at start-up, and (later) replicated.
 * Pointers are borrowed from whoever built the txn (a decoded request, a decoded log record).
 */
enum zk_txn_type {
	ZK_TXN_CREATE = 1,	   /* path, data, acl, ephemeral_owner (session, or container) */
	ZK_TXN_DELETE = 2,	   /* path */
	ZK_TXN_SETDATA = 3,	   /* path, data, version (the new version) */
	ZK_TXN_SETACL = 4,	   /* path, acl, version (the new aversion) */
	ZK_TXN_CHECK = 5,	   /* path, version: only inside a multi */
	ZK_TXN_ERROR = 6,	   /* err: a write that failed, logged so that zxids stay dense */
	ZK_TXN_CREATESESSION = 7, /* session_id, timeout_ms, passwd */
	ZK_TXN_CLOSESESSION = 8,  /* session_id: also deletes its ephemerals */
	ZK_TXN_MULTI = 9,	   /* ops[n_ops]; if any op is ZK_TXN_ERROR the multi did nothing */
};

struct zk_txn {
	enum zk_txn_type type;
	int64_t zxid;
	int64_t time_ms;    /* leader's clock when prepped: ctime/mtime of what it writes */
	int64_t session_id; /* the session that asked */
	int32_t cxid;       /* the client's xid */
	/* operands, by type */
	const char *path;
	const uint8_t *data;
	int32_t data_len;
	const struct zk_acl *acl;
	int32_t n_acl;
	int64_t ephemeral_owner;
	int32_t version;
	int32_t err;
	int32_t timeout_ms;
	const uint8_t *passwd; /* 16 bytes */
	struct zk_txn *ops;    /* ZK_TXN_MULTI */
	int32_t n_ops;
};

#define ZK_PASSWD_LEN 16

#endif

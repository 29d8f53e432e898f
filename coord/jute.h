/*
 * jute — ZooKeeper's client-protocol records (zookeeper.jute) for the coordinator: decoders for
 * the ConnectRequest and every request a client sends, encoders for the replies.
 *
 * Decoders read one whole frame (its 4-byte length already removed) through struct rbuf: every
 * length and count is checked against the bytes left before anything is allocated, and all
 * memory comes from a per-frame arena (strings are NUL-terminated copies). Trailing bytes after
 * a complete record are ignored, as ZooKeeper's BinaryInputArchive does.
 */
#ifndef SAMSA_JUTE_H
#define SAMSA_JUTE_H

#include "zk_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

/* A bump allocator for one decoded frame: a chain of blocks (allocations never move), at most
 * max bytes in all. */
struct jute_arena_block;
struct jute_arena {
	struct jute_arena_block *head;
	size_t total, max;
};

void jute_arena_init(struct jute_arena *a, size_t max_bytes);
void jute_arena_reset(struct jute_arena *a);
void jute_arena_free(struct jute_arena *a);

struct jute_connect_req {
	int32_t protocol_version;
	int64_t last_zxid_seen;
	int32_t timeout;
	int64_t session_id;
	const uint8_t *passwd; /* points into the frame */
	int32_t passwd_len;
	bool read_only;
	bool has_read_only; /* old clients omit the byte */
};

/* 0, or ERR_TRUNC / ERR_CORRUPT / ERR_TOOBIG. */
int jute_decode_connect(const uint8_t *p, size_t len, struct jute_connect_req *out);

#define JUTE_MAX_OPS 65536	 /* ops in one multi */
#define JUTE_MAX_LIST 1000000	 /* entries in a watch list or ACL list */

struct jute_req {
	int32_t xid;
	int32_t type;
	const char *path;  /* NULL for a null path; cut at a NUL byte (see path_nul) */
	int32_t path_len;  /* bytes of the path as sent (path[0..path_len) ), -1 for null */
	bool path_nul;	   /* the path holds a NUL byte: no znode has it */
	const uint8_t *data; /* NULL for a null buffer */
	int32_t data_len;    /* -1 for null */
	struct zk_acl *acl;
	int32_t n_acl;
	int32_t flags;
	int64_t ttl;
	int32_t version;
	bool watch;
	int32_t mode; /* addWatch mode; removeWatches/checkWatches watcher type */
	int32_t auth_type;
	const char *scheme;
	const uint8_t *auth;
	int32_t auth_len;
	int64_t relative_zxid;
	const char **watches[5]; /* setWatches: data, exist, child; setWatches2: + persistent, recursive */
	int32_t n_watches[5];
	struct jute_req *ops; /* multi / multiRead */
	int32_t n_ops;
	bool bad_string; /* a string other than the path held a NUL byte, or a watch list a null:
			  * answered with ZK_EBADARGUMENTS */
	const char *reconfig[3]; /* reconfig: joining, leaving, new members (NULL if null) */
	int64_t config_id;	 /* reconfig: curConfigId (-1: any) */
};

/*
 * Decodes one request. 0 on success; ERR_TRUNC / ERR_CORRUPT / ERR_TOOBIG / ERR_NOMEM on
 * malformed input; ERR_PROTO for an opcode it does not know (xid and type are filled in so
 * the server can answer).
 */
int jute_decode_request(const uint8_t *p, size_t len, struct jute_arena *a, struct jute_req *out);

/* Frames: jute_frame_begin reserves the 4-byte length, jute_frame_end fills it in. */
size_t jute_frame_begin(struct wbuf *w);
void jute_frame_end(struct wbuf *w, size_t off);

void jute_put_reply_header(struct wbuf *w, int32_t xid, int64_t zxid, int32_t err);
void jute_put_stat(struct wbuf *w, const struct zk_stat *st);
void jute_put_acl_list(struct wbuf *w, const struct zk_acl *acl, int32_t n);
/* The same with each digest id's password hash replaced by "x" (ZooKeeper's getACL answer to a
 * client without ADMIN: the id's ":.*" becomes ":x", a regex's '.' stopping at a newline). */
void jute_put_acl_list_masked(struct wbuf *w, const struct zk_acl *acl, int32_t n);
void jute_put_string_list(struct wbuf *w, const char *const *v, int32_t n);
/* ConnectResponse plus the readOnly byte (drop the last byte for old clients). */
void jute_put_connect_resp(struct wbuf *w, int32_t protocol_version, int32_t timeout, int64_t session_id,
			   const uint8_t passwd[ZK_PASSWD_LEN], bool read_only);
void jute_put_watcher_event(struct wbuf *w, int32_t type, int32_t state, const char *path);
void jute_put_multi_header(struct wbuf *w, int32_t type, bool done, int32_t err);

/* Reply-side decoders (tests, and clients written in C). */
struct jute_reply_header {
	int32_t xid;
	int64_t zxid;
	int32_t err;
};
int jute_read_reply_header(const uint8_t *p, size_t len, struct jute_reply_header *out, size_t *used);
int jute_read_stat(const uint8_t *p, size_t len, struct zk_stat *out);

#endif

/*
 * zk_snap — snapshots of the coordinator's state: <dir>/version-2/snapshot.<zxid hex>, a
 * 16-byte header ("SMSS", u32 version, i64 zxid) then framed records (u32 length +
 * u32 crc32c(payload) + payload, payload a SnapRecord of proto/coordlog.proto): the nodes in
 * pre-order, the sessions, then a trailer with their counts. A snapshot is valid only whole:
 * it is written to a .tmp name, fsynced and renamed; the loader checks every CRC and the
 * trailer before it delivers anything. Plain buffered I/O, no threads: it runs in a forked
 * child while the server keeps serving.
 */
#ifndef SAMSA_ZK_SNAP_H
#define SAMSA_ZK_SNAP_H

#include "zk_types.h"

#include <stddef.h>
#include <stdint.h>

struct zk_snap_writer;

int zk_snap_begin(const char *dir, int64_t zxid, struct zk_snap_writer **out, char *errbuf, size_t errlen);
int zk_snap_add_node(struct zk_snap_writer *w, const char *path, const uint8_t *data, int32_t data_len,
		     const struct zk_stat *st, const struct zk_acl *acl, int32_t n_acl);
int zk_snap_add_session(struct zk_snap_writer *w, int64_t id, int32_t timeout_ms, const uint8_t passwd[16]);
/* Trailer, fsync, rename to the final name, fsync the directory; frees w. */
int zk_snap_finish(struct zk_snap_writer *w);
void zk_snap_abort(struct zk_snap_writer *w); /* removes the .tmp file; frees w; NULL ok */

typedef int (*zk_snap_node_cb)(const char *path, const uint8_t *data, int32_t len, const struct zk_stat *st,
			       const struct zk_acl *acl, int32_t n_acl, void *arg);
typedef int (*zk_snap_session_cb)(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg);

/*
 * Loads the newest valid snapshot: an invalid one is skipped with a warning and the next older
 * tried. None: *zxid = 0 and 0 returned. A callback's non-zero return stops with that error.
 */
int zk_snap_load_latest(const char *dir, zk_snap_node_cb node_cb, zk_snap_session_cb session_cb, void *arg,
			int64_t *zxid, char *errbuf, size_t errlen);
/* Validates and delivers one snapshot file (fuzzing, tools). */
int zk_snap_load_file(const char *path, zk_snap_node_cb node_cb, zk_snap_session_cb session_cb, void *arg,
		      int64_t *zxid, char *errbuf, size_t errlen);
/* Keeps the newest retain_count (at least 3) snapshots; deletes older ones and the log files
 * in log_dir holding only txns older than the oldest snapshot kept. */
int zk_snap_purge(const char *snap_dir, const char *log_dir, int retain_count);

#endif

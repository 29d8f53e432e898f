/*
 * zk_raftlog — the durable storage of the Raft core (coord/raft.h) for the coordinator
 * ensemble: the hard state, the snapshot meta and the log entries above it, in three files of
 * one directory:
 *
 *   raft.state    "SMRS" u32 version, u64 term, u64 vote, u32 crc32c(all before)
 *   raft.snapmeta "SMRM" u32 version, u64 gen, u64 index, u64 term, u32 flags,
 *                 u32 config length, raft_config_encode() bytes, u32 crc32c(all before)
 *   raft.log      "SMRL" u32 version, u64 gen; then one frame per entry:
 *                 [u32 len][u32 crc32c(index..data)][u64 index][u64 term][u8 type][len bytes data]
 *
 * All integers are big-endian. raft.state and raft.snapmeta are replaced whole (temp file,
 * fsync, rename, fsync of the directory), so they are either the old or the new version.
 * raft.log is appended to; it is rewritten whole (same scheme) only by compaction.
 *
 * gen ties the log to the snapshot meta it was written for: a compaction writes the new log to a
 * temp file, then the new snapmeta (gen + 1), then renames the log (gen + 1). A crash between
 * the two renames leaves a log one gen older than the snapmeta, which open() finishes compacting
 * (dropping everything if the snapmeta came from an InstallSnapshot).
 *
 * Invariant (memory and, after open(), disk): the entries are contiguous, their terms never
 * decrease, and the first is the snapshot index + 1. Loop thread only; one handle per directory.
 */
#ifndef SAMSA_ZK_RAFTLOG_H
#define SAMSA_ZK_RAFTLOG_H

#include "raft.h"

#include <stddef.h>
#include <stdint.h>

#define ZK_RAFTLOG_MAX_ENTRY (64u << 20) /* data bytes of one entry */

struct zk_raftlog;

/*
 * Opens or creates the storage in dir (created if missing). Recovery: a torn or corrupt tail of
 * raft.log (short frame, length over the maximum, CRC mismatch, unknown type, an index that does
 * not follow the previous one, a term going backwards) is truncated with a log_warn naming the
 * file, the byte offset and the index; entries at or below the snapshot index are dropped, and
 * so is the whole tail from the snapshot index if the entry there has another term (a stale
 * tail); a log starting past snapshot index + 1 is cut entirely. A missing file is empty. A file
 * with a foreign magic or another version, a hard state or snapmeta failing its CRC, or a log
 * newer than the snapmeta is an error (ERR_CORRUPT / ERR_VERSION) and nothing is changed.
 * 0 and *out (free with zk_raftlog_close), or an error with the reason in eb.
 */
int zk_raftlog_open(const char *dir, struct zk_raftlog **out, char *eb, size_t el);
/* Closes the file (no fsync: call zk_raftlog_sync first for durability) and frees. NULL ok. */
void zk_raftlog_close(struct zk_raftlog *l);

/* Restored state for raft_opts (valid until the next write call on l). */
uint64_t zk_raftlog_term(const struct zk_raftlog *l);
uint64_t zk_raftlog_vote(const struct zk_raftlog *l);
const struct raft_snapshot_meta *zk_raftlog_snapshot(const struct zk_raftlog *l); /* index 0: none */
/* The entries after the snapshot index, contiguous, owned by l; invalidated by the next
 * append, compact or install_snapshot. */
const struct raft_entry *zk_raftlog_entries(const struct zk_raftlog *l, size_t *n);

/* Durably writes term and vote (temp file, fsync, rename, fsync of dir). ERR_INVAL if term is
 * below the stored one; ERR_IO (old hard state kept) on a write failure. */
int zk_raftlog_set_hard_state(struct zk_raftlog *l, uint64_t term, uint64_t vote, char *eb, size_t el);

/*
 * Drops the entries >= truncate_from (0: none; must be above the snapshot index), then appends
 * e[0..n) (copied; e stays the caller's): e[0].index must be last + 1 after the truncation
 * (the snapshot index + 1 when the log is empty), the rest contiguous, terms never decreasing,
 * types known, data at most ZK_RAFTLOG_MAX_ENTRY: otherwise ERR_INVAL and nothing changes.
 * Does not fsync the new frames, with one exception: when the truncation removes bytes from the
 * file, the shorter file is made durable (fdatasync) before new frames are written where the old
 * ones were, so a crash can never splice new frames onto a stale tail.
 * On a write error (ERR_IO, e.g. ENOSPC) the file is cut back to where it was after the
 * truncation and the memory matches it; ERR_NOMEM changes nothing.
 */
int zk_raftlog_append(struct zk_raftlog *l, uint64_t truncate_from, const struct raft_entry *e, size_t n,
		      char *eb, size_t el);
/* fdatasync of raft.log: everything appended so far is durable. */
int zk_raftlog_sync(struct zk_raftlog *l, char *eb, size_t el);
/* The descriptor of raft.log, for an fdatasync on another thread (the caller keeps appends,
 * compactions and installs from replacing it meanwhile: see zk_quorum's sync worker). */
int zk_raftlog_fd(const struct zk_raftlog *l);

/* The entry at index (owned by l, invalidated by the next write call) or NULL. O(1). */
const struct raft_entry *zk_raftlog_get(const struct zk_raftlog *l, uint64_t index);
uint64_t zk_raftlog_last_index(const struct zk_raftlog *l); /* the snapshot index if no entry */

/*
 * A snapshot of the state through meta->index is durable elsewhere: makes meta the durable
 * snapshot meta and drops the entries <= meta->index, keeping the later ones — unless the entry
 * at meta->index has a term other than meta->term, in which case the tail from there is stale
 * and goes too (see raft_snapshot_done). meta->index must not be below the current snapshot
 * index (ERR_INVAL). meta is copied. Everything written is fsynced before return.
 * On ERR_IO/ERR_NOMEM before the new snapmeta is in place, nothing changed; a failure after it
 * (a rename or directory fsync) leaves l unusable for writes (ERR_IO from then on) and a disk
 * state that open() completes.
 */
int zk_raftlog_compact(struct zk_raftlog *l, const struct raft_snapshot_meta *meta, char *eb, size_t el);
/* As compact, but drops every entry (an InstallSnapshot: the state machine is replaced). */
int zk_raftlog_install_snapshot(struct zk_raftlog *l, const struct raft_snapshot_meta *meta, char *eb,
				size_t el);

/* Bytes of raft.log (header included): what compaction bounds. */
size_t zk_raftlog_bytes(const struct zk_raftlog *l);

/* Test only: the nth (1-based) disk write, fsync, rename or truncate from now on fails with
 * ENOSPC (0: none). */
void zk_raftlog_test_fail_io(struct zk_raftlog *l, unsigned nth);

#endif

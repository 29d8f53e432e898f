/*
 * klog_int.h — klog's internals, shared by the files of the module and included by nothing else:
 * klog.c (open/close, the segment list, segments and their indexes in memory, append, read),
 * klog_recover.c (scanning and recovering segments and indexes at open), klog_swap.c (the
 * cleaner's view of the segments and its crash-safe swap) and klog_retain.c (retention,
 * truncation, deletion). The public interface is klog.h.
 *
 * In memory, per segment: base offset, the .log fd and size, the next offset after its last
 * batch, the largest batch timestamp and the offset of the batch that first reached it, and both
 * indexes as arrays (the on-disk files mirror them; only the active segment keeps its index fds
 * open and appends entries to them).
 *
 * Invariants: segs[] is sorted by base and non-empty; segs[i]->next_offset <= segs[i+1]->base;
 * the active segment is segs[nseg - 1]; bytes in a .log beyond seg->size are never served and
 * the next append overwrites them; index entries never point at or past seg->size.
 */
#ifndef SAMSA_KLOG_INT_H
#define SAMSA_KLOG_INT_H

#include "klog.h"

#include "kbatch.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static const char *const KLOG_MOD = "klog";

#define KLOG_NAME_DIGITS 20
#define KLOG_IENT_SIZE 8
#define KLOG_TENT_SIZE 12
#define KLOG_SCAN_BUF 4096

struct klog_ient {
	uint32_t rel;
	uint32_t pos;
};

struct klog_tent {
	int64_t ts;
	uint32_t rel;
};

struct klog_seg {
	int64_t base;
	int fd;	      /* .log, read-write */
	int ifd, tfd; /* .index, .timeindex: open only while the segment is active, else -1 */
	int64_t size; /* bytes of whole batches */
	int64_t next_offset; /* last offset + 1; base when empty */
	int64_t max_ts;	     /* largest batch maxTimestamp, -1 if none */
	int64_t max_ts_off;  /* last offset of the first batch that reached max_ts */
	int64_t roll_ts;     /* roll reference: when the first batch came; -1 empty */
	int64_t mtime_ms;    /* last append (or file mtime): retention when there are no timestamps */
	int64_t bytes_since_idx;
	struct klog_ient *idx;
	size_t nidx, cidx, idx_written;
	struct klog_tent *tidx;
	size_t ntidx, ctidx, tidx_written;
};

struct klog {
	char dir[PATH_MAX];
	struct klog_opts o;
	struct klog_seg **segs;
	int nseg, cseg;
	int64_t total_size;
	int64_t unflushed;     /* records appended since the last fsync */
	int64_t last_flush_ms;
	/* with an fsync worker (klog_set_fsyncq), the flush policy's fsyncs run there:
	 * flush_asked is the end offset of the newest one queued, flushed that of the newest done;
	 * a flush is in flight while flush_asked > flushed */
	struct fsyncq *fq;
	klog_flushed_cb on_flushed;
	void *flush_arg;
	int64_t flush_asked, flushed;
	uint64_t gen; /* bumped whenever an inactive segment is deleted, cut or replaced */
	bool swap_broken; /* a swap failed past its commit point: the next klog_open finishes it */
};

struct klog_scan {
	int fd;
	int64_t size; /* end of the readable range */
	int64_t bpos;
	size_t blen;
	uint8_t buf[KLOG_SCAN_BUF];
};

/* klog.c */
int64_t klog_get64(const uint8_t *p);
void klog_path(const struct klog *l, int64_t base, const char *ext, char *buf, size_t len);
struct klog_seg *klog_active(const struct klog *l);
int klog_pread_all(int fd, void *p, size_t len, int64_t off, size_t *got);
void klog_fsync(const struct klog *l, int fd, const char *what);
void klog_policy_flush(struct klog *l, int fd, int64_t end);
void klog_sync_dir(const struct klog *l);
void klog_seg_free(struct klog_seg *s);
struct klog_seg *klog_seg_new(int64_t base);
void klog_seg_reset_index(struct klog_seg *s);
int klog_idx_push(struct klog_seg *s, int64_t off, int64_t pos);
int klog_tidx_maybe(struct klog_seg *s, int64_t ts, int64_t off);
int klog_seg_account(const struct klog *l, struct klog_seg *s, int64_t pos, size_t size,
		     int64_t last_off, int64_t max_ts);
int klog_seg_open_indexes(const struct klog *l, struct klog_seg *s, bool trunc, char *eb,
			  size_t el);
int klog_seg_write_indexes(const struct klog *l, struct klog_seg *s, char *eb, size_t el);
void klog_seg_close_indexes(struct klog_seg *s);
/* A segment no longer written (recovered, or swapped in by the cleaner): its final time index
 * entry, both indexes written out from memory and fsynced, their fds closed. 0 or an error. */
int klog_seg_seal(struct klog *l, struct klog_seg *s, char *eb, size_t el);
void klog_scan_init(struct klog_scan *sc, const struct klog_seg *s);
int klog_scan_hdr(struct klog_scan *sc, int64_t pos, struct kbatch_hdr *h, size_t *bsz);
int klog_scan_err(const struct klog *l, const struct klog_seg *s, int rc, int64_t pos, char *eb,
		  size_t el);
int klog_seg_find_pos(const struct klog *l, struct klog_seg *s, struct klog_scan *sc,
		      int64_t offset, int64_t *out, char *eb, size_t el);
int klog_seg_create(struct klog *l, int64_t base, int64_t now_ms, char *eb, size_t el);
int klog_roll(struct klog *l, int64_t now_ms, char *eb, size_t el);

/* klog_recover.c */
int klog_seg_scan(const struct klog *l, struct klog_seg *s, bool validate, int64_t *good,
		  char *why, size_t wl);
int klog_seg_open_log(const struct klog *l, struct klog_seg *s, char *eb, size_t el);
int klog_seg_recover_active(struct klog *l, struct klog_seg *s, char *eb, size_t el);
int klog_seg_load_older(struct klog *l, struct klog_seg *s, char *eb, size_t el);
int klog_cmp_i64(const void *a, const void *b);
int klog_list(struct klog *l, int64_t **out, int *n, char *eb, size_t el);

/* klog_swap.c */
int klog_finish_swaps(struct klog *l, char *eb, size_t el);

#endif

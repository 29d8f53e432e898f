/*
 * ktxnidx — a partition's aborted transactions (KIP-98): the entries read_committed fetches
 * are answered with, kept in memory for the whole log, and Kafka's per-segment transaction
 * index files <base>.txnindex beside the segments (the only code that reads or writes them).
 * An entry belongs to the segment that holds its abort marker (last_offset).
 *
 * File format (Kafka's TransactionIndex / AbortedTxn, big-endian), entries of 34 bytes back to
 * back, in marker order:
 *    0 version i16 (0)   2 producerId i64   10 firstOffset i64   18 lastOffset i64
 *   26 lastStableOffset i64
 * (firstOffset: the transaction's first batch; lastOffset: its abort marker; lastStableOffset:
 * the LSO once it ended.) The decoder is strict, the bytes coming from a disk: a length that
 * is not a multiple of 34, a version other than 0, a negative producer id or offset, a first
 * offset above the last, entries not in marker order are ERR_CORRUPT.
 *
 * The in-memory list is sorted by last offset (markers are appended in offset order). Pure
 * functions but the file ones, which block (start-up, truncation: where klog blocks too).
 * Loop thread only.
 */
#ifndef SAMSA_KTXNIDX_H
#define SAMSA_KTXNIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KTXNIDX_VERSION 0
#define KTXNIDX_ENTRY 34
#define KTXNIDX_MAX_BYTES (64u << 20) /* a larger file is refused before it is read */

struct ktxnidx_entry {
	int64_t producer_id;
	int64_t first_offset;
	int64_t last_offset;
	int64_t lso;
};

/* Appends e's 34 bytes to w; w's error. */
int ktxnidx_encode(struct wbuf *w, const struct ktxnidx_entry *e);
/* Decodes a whole file of len bytes into a new array *out (NULL when *n is 0; the caller frees
 * it). 0, ERR_CORRUPT (reason in eb; *out NULL), ERR_TOOBIG, ERR_NOMEM. */
int ktxnidx_decode(const uint8_t *p, size_t len, struct ktxnidx_entry **out, size_t *n, char *eb, size_t el);

struct ktxnidx;
struct ktxnidx *ktxnidx_new(void); /* NULL without memory; free with ktxnidx_free (NULL ok) */
void ktxnidx_free(struct ktxnidx *x);
void ktxnidx_clear(struct ktxnidx *x);
size_t ktxnidx_count(const struct ktxnidx *x);
const struct ktxnidx_entry *ktxnidx_at(const struct ktxnidx *x, size_t i);
/* Adds e in last-offset order (an entry of the same producer and last offset replaces the old
 * one). 0 or ERR_NOMEM. */
int ktxnidx_add(struct ktxnidx *x, const struct ktxnidx_entry *e);
/* Drops the entries whose last offset is >= offset (a truncation) / < offset (the log start
 * moved up). */
void ktxnidx_truncate(struct ktxnidx *x, int64_t offset);
void ktxnidx_trim(struct ktxnidx *x, int64_t offset);
/*
 * The aborted transactions a fetch of [from, upto) must be told of (Kafka's
 * collectAbortedTransactions): those with last offset >= from and first offset < upto, in
 * last-offset order. Returns how many there are; the first max of them go to out (may be NULL).
 */
size_t ktxnidx_collect(const struct ktxnidx *x, int64_t from, int64_t upto, struct ktxnidx_entry *out, size_t max);

/* "<dir>/<20-digit base>.txnindex"; ERR_TOOBIG if it does not fit. */
int ktxnidx_path(char *buf, size_t len, const char *dir, int64_t base);
/* Appends e to the file of the segment based at base (created when missing). 0 or ERR_IO. */
int ktxnidx_file_append(const char *dir, int64_t base, const struct ktxnidx_entry *e, char *eb, size_t el);
/* Reads the file of the segment at base into x (ktxnidx_add each): 0, ERR_NOTFOUND (no file),
 * ERR_IO, ERR_CORRUPT, ERR_TOOBIG, ERR_NOMEM. */
int ktxnidx_file_read(struct ktxnidx *x, const char *dir, int64_t base, char *eb, size_t el);
/*
 * Rewrites the txnindex files of dir from x for the segments based at bases[0..n) (ascending):
 * each gets the entries whose last offset falls in it, and a segment with none has no file (as
 * in Kafka, where the file is made at a segment's first abort); *.txnindex files of no segment
 * are deleted.
 * Written through a .tmp file renamed over the old. 0 or ERR_IO/ERR_NOMEM (in eb).
 */
int ktxnidx_write_all(const struct ktxnidx *x, const char *dir, const int64_t *bases, size_t n, char *eb,
		      size_t el);
/* Deletes the *.txnindex files of dir whose base is not among bases[0..n) (segments gone). */
int ktxnidx_prune(const char *dir, const int64_t *bases, size_t n, char *eb, size_t el);

#endif

/*
 * Unit tests for broker/log/kpstate, the producer state of the idempotent producer: each of the
 * sequence rules (in order, duplicate of each of the last five with its original offset, gap,
 * older epoch, epoch bump, unknown producer, wrap at INT32_MAX), expiry, the snapshot format
 * (Kafka's exact bytes, a round trip, every malformed input refused), the snapshot files
 * (naming, crash-safe write, pruning) and kpstate_load (newest usable snapshot plus the log's
 * batches after it; a corrupt snapshot deleted and the state rebuilt from the log alone), and
 * transactions: the last stable offset's arithmetic, markers ending transactions (Kafka's
 * CompletedTxn and AbortedTxn.lastStableOffset), the marker checks, an open transaction kept
 * by a snapshot and found again by a rebuild from the log.
 */
#include "buf.h"
#include "crc32c.h"
#include "err.h"
#include "kbatch.h"
#include "klog.h"
#include "kpstate.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PID 1000

static char tdir[128];

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-kpstate"));
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

/* Appends (as a leader would after an OK check) a batch of n records at offset off. */
static void put(struct kpstate *s, int64_t pid, int16_t epoch, int32_t seq, int64_t off, int32_t n, int64_t ts)
{
	ck_assert_int_eq(kpstate_update(s, pid, epoch, seq, off, n - 1, ts), 0);
}

START_TEST(test_in_order_and_gaps)
{
	struct kpstate *s = kpstate_new();
	/* a producer the partition never saw: accepted at 0, and at any sequence (KIP-360) */
	ck_assert_int_eq(kpstate_check(s, PID, 0, 0, 5, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 42, 5, NULL), KPSTATE_OK);
	put(s, PID, 0, 0, 0, 5, 100); /* seq 0..4 at offsets 0..4 */
	ck_assert_int_eq(kpstate_check(s, PID, 0, 5, 3, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 6, 3, NULL), KPSTATE_OUT_OF_ORDER);	/* a gap */
	ck_assert_int_eq(kpstate_check(s, PID, 0, 4, 3, NULL), KPSTATE_OUT_OF_ORDER);	/* overlap */
	ck_assert_int_eq(kpstate_check(s, PID, 0, 0, 3, NULL), KPSTATE_OUT_OF_ORDER);	/* not a dup */
	put(s, PID, 0, 5, 10, 3, 101);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 8, 1, NULL), KPSTATE_OK);
	/* another producer is independent */
	ck_assert_int_eq(kpstate_check(s, PID + 1, 3, 0, 1, NULL), KPSTATE_OK);
	put(s, PID + 1, 3, 0, 13, 1, 102);
	ck_assert_int_eq(kpstate_check(s, PID + 1, 3, 2, 1, NULL), KPSTATE_OUT_OF_ORDER);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 8, 1, NULL), KPSTATE_OK);
	ck_assert_uint_eq(kpstate_count(s), 2);
	kpstate_free(s);
}
END_TEST

START_TEST(test_duplicates_of_last_five)
{
	struct kpstate *s = kpstate_new();
	/* seven batches of 2 records: seq 0-1, 2-3, ... 12-13 at offsets 100, 110, ... */
	for (int i = 0; i < 7; i++)
		put(s, PID, 2, 2 * i, 100 + 10 * i, 2, 1000 + i);
	struct kpstate_batch dup;
	for (int i = 2; i < 7; i++) { /* the last five are recognised, with their own offsets */
		memset(&dup, 0, sizeof(dup));
		ck_assert_int_eq(kpstate_check(s, PID, 2, 2 * i, 2, &dup), KPSTATE_DUPLICATE);
		ck_assert_int_eq(dup.first_offset, 100 + 10 * i);
		ck_assert_int_eq(dup.last_offset, 100 + 10 * i + 1);
		ck_assert_int_eq(dup.first_seq, 2 * i);
		ck_assert_int_eq(dup.last_seq, 2 * i + 1);
		ck_assert_int_eq(dup.timestamp, 1000 + i);
	}
	/* the two oldest are gone: a retry of them is out of order */
	ck_assert_int_eq(kpstate_check(s, PID, 2, 0, 2, NULL), KPSTATE_OUT_OF_ORDER);
	ck_assert_int_eq(kpstate_check(s, PID, 2, 2, 2, NULL), KPSTATE_OUT_OF_ORDER);
	/* same first sequence, other length: not a duplicate */
	ck_assert_int_eq(kpstate_check(s, PID, 2, 12, 1, NULL), KPSTATE_OUT_OF_ORDER);
	/* a duplicate only within its epoch: the same sequences under a newer epoch are a gap */
	ck_assert_int_eq(kpstate_check(s, PID, 3, 12, 2, NULL), KPSTATE_OUT_OF_ORDER);
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(s, PID, &e), 0);
	ck_assert_int_eq(e.n_batches, KPSTATE_BATCHES);
	ck_assert_int_eq(e.batches[0].first_seq, 4);
	ck_assert_int_eq(kpstate_get(s, PID + 7, &e), ERR_NOTFOUND);
	kpstate_free(s);
}
END_TEST

START_TEST(test_epochs)
{
	struct kpstate *s = kpstate_new();
	put(s, PID, 5, 0, 0, 3, 1);
	/* an older epoch is fenced, whatever its sequence, even one that looks like a duplicate */
	ck_assert_int_eq(kpstate_check(s, PID, 4, 3, 1, NULL), KPSTATE_INVALID_EPOCH);
	ck_assert_int_eq(kpstate_check(s, PID, 4, 0, 3, NULL), KPSTATE_INVALID_EPOCH);
	/* a bump must start at sequence 0 */
	ck_assert_int_eq(kpstate_check(s, PID, 6, 3, 1, NULL), KPSTATE_OUT_OF_ORDER);
	ck_assert_int_eq(kpstate_check(s, PID, 6, 0, 1, NULL), KPSTATE_OK);
	put(s, PID, 6, 0, 3, 1, 2);
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(s, PID, &e), 0);
	ck_assert_int_eq(e.epoch, 6);
	ck_assert_int_eq(e.n_batches, 1); /* the new epoch dropped the old batches */
	/* the sequence was reset: next is 1, and the old epoch is now fenced */
	ck_assert_int_eq(kpstate_check(s, PID, 6, 1, 1, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, PID, 6, 3, 1, NULL), KPSTATE_OUT_OF_ORDER);
	ck_assert_int_eq(kpstate_check(s, PID, 5, 3, 1, NULL), KPSTATE_INVALID_EPOCH);
	kpstate_free(s);
}
END_TEST

START_TEST(test_sequence_wrap)
{
	ck_assert_int_eq(kpstate_last_seq(0, 1), 0);
	ck_assert_int_eq(kpstate_last_seq(10, 5), 14);
	ck_assert_int_eq(kpstate_last_seq(INT32_MAX, 1), INT32_MAX);
	ck_assert_int_eq(kpstate_last_seq(INT32_MAX, 2), 0);
	ck_assert_int_eq(kpstate_last_seq(INT32_MAX - 1, 5), 2);
	struct kpstate *s = kpstate_new();
	put(s, PID, 0, INT32_MAX - 2, 50, 3, 1); /* ends exactly at INT32_MAX */
	ck_assert_int_eq(kpstate_check(s, PID, 0, 0, 4, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 1, 4, NULL), KPSTATE_OUT_OF_ORDER);
	put(s, PID, 0, INT32_MAX - 1, 53, 4, 2); /* a batch across the wrap: MAX-1, MAX, 0, 1 */
	struct kpstate_batch dup;
	ck_assert_int_eq(kpstate_check(s, PID, 0, INT32_MAX - 1, 4, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.last_seq, 1);
	ck_assert_int_eq(dup.first_offset, 53);
	ck_assert_int_eq(kpstate_check(s, PID, 0, 2, 1, NULL), KPSTATE_OK);
	kpstate_free(s);
}
END_TEST

START_TEST(test_expiry)
{
	struct kpstate *s = kpstate_new();
	put(s, 1, 0, 0, 0, 1, 1000);
	put(s, 2, 0, 0, 1, 1, 5000);
	put(s, 3, 0, 0, 2, 1, 9000);
	ck_assert_uint_eq(kpstate_expire(s, 10000, 5000), 2); /* idle >= 5000 ms: 1 and 2 */
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(s, 1, &e), ERR_NOTFOUND);
	ck_assert_int_eq(kpstate_get(s, 2, &e), ERR_NOTFOUND);
	ck_assert_int_eq(kpstate_get(s, 3, &e), 0);
	/* an expired producer is unknown again: accepted at any sequence */
	ck_assert_int_eq(kpstate_check(s, 1, 0, 7, 1, NULL), KPSTATE_OK);
	ck_assert_uint_eq(kpstate_expire(s, 10000, KPSTATE_EXPIRATION_MS_DEFAULT), 0);
	kpstate_free(s);
}
END_TEST

/* Kafka's bytes for one entry, built by hand from the schema. */
START_TEST(test_snapshot_bytes)
{
	struct kpstate *s = kpstate_new();
	put(s, 7, 3, 10, 200, 4, 123456); /* seq 10..13, offsets 200..203 */
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kpstate_snapshot_encode(s, &w), 0);
	ck_assert_uint_eq(w.len, 10 + 46);
	uint8_t want[56] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t *q = want + 10;
	const uint8_t ent[] = {0, 0, 0, 0, 0, 0, 0, 7,	     /* producer id */
			       0, 3,			     /* epoch */
			       0, 0, 0, 13,		     /* last sequence */
			       0, 0, 0, 0, 0, 0, 0, 203,     /* last offset */
			       0, 0, 0, 3,		     /* offset delta */
			       0, 0, 0, 0, 0, 1, 0xe2, 0x40, /* timestamp 123456 */
			       0xff, 0xff, 0xff, 0xff,	     /* coordinator epoch -1 */
			       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* no transaction */
	memcpy(q, ent, sizeof(ent));
	be32_put(want + 2, crc32c(0, want + 6, sizeof(want) - 6));
	ck_assert_mem_eq(w.p, want, sizeof(want));
	/* and back: the last batch with its first sequence and offset */
	struct kpstate *t = kpstate_new();
	char eb[256];
	ck_assert_int_eq(kpstate_snapshot_decode(t, w.p, w.len, 0, 0, eb, sizeof(eb)), 0);
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(t, 7, &e), 0);
	ck_assert_int_eq(e.epoch, 3);
	ck_assert_int_eq(e.n_batches, 1);
	ck_assert_int_eq(e.batches[0].first_seq, 10);
	ck_assert_int_eq(e.batches[0].first_offset, 200);
	struct kpstate_batch dup;
	ck_assert_int_eq(kpstate_check(t, 7, 3, 10, 4, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.first_offset, 200);
	ck_assert_int_eq(kpstate_check(t, 7, 3, 14, 1, NULL), KPSTATE_OK);
	/* expired entries are left out on load */
	ck_assert_int_eq(kpstate_snapshot_decode(t, w.p, w.len, 123456 + 1000, 1000, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(kpstate_count(t), 0);
	/* an empty map: the header alone */
	kpstate_clear(s);
	wbuf_reset(&w);
	ck_assert_int_eq(kpstate_snapshot_encode(s, &w), 0);
	ck_assert_uint_eq(w.len, 10);
	ck_assert_int_eq(kpstate_snapshot_decode(t, w.p, w.len, 0, 0, eb, sizeof(eb)), 0);
	wbuf_free(&w);
	kpstate_free(s);
	kpstate_free(t);
}
END_TEST

START_TEST(test_snapshot_malformed)
{
	struct kpstate *s = kpstate_new();
	put(s, 7, 3, 10, 200, 4, 1);
	put(s, 9, 0, 0, 204, 1, 2);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kpstate_snapshot_encode(s, &w), 0);
	struct kpstate *t = kpstate_new();
	char eb[256];
	uint8_t b[200];
	ck_assert_uint_le(w.len, sizeof(b));
	/* every truncation */
	for (size_t n = 0; n < w.len; n++)
		ck_assert_int_eq(kpstate_snapshot_decode(t, w.p, n, 0, 0, eb, sizeof(eb)), ERR_CORRUPT);
	/* every single bit flipped is caught (the version, the CRC, the count or the content) */
	for (size_t i = 0; i < w.len * 8; i++) {
		memcpy(b, w.p, w.len);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_eq(kpstate_snapshot_decode(t, b, w.len, 0, 0, eb, sizeof(eb)), ERR_CORRUPT);
		ck_assert_uint_eq(kpstate_count(t), 0);
	}
	/* CRC-valid but wrong: version 2, ids repeated, a negative id, a negative delta */
	struct {
		size_t at;
		uint8_t v;
		const char *why;
	} bad[] = {{1, 2, "version"}, {10 + 7, 9, "not increasing"}, {10, 0x80, "below 0"},
		   {10 + 22, 0x80, "offset delta"}};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memcpy(b, w.p, w.len);
		b[bad[k].at] = bad[k].v;
		be32_put(b + 2, crc32c(0, b + 6, w.len - 6));
		ck_assert_int_eq(kpstate_snapshot_decode(t, b, w.len, 0, 0, eb, sizeof(eb)), ERR_CORRUPT);
		ck_assert_msg(strstr(eb, bad[k].why), "%s: %s", bad[k].why, eb);
	}
	/* a count larger than the bytes */
	memcpy(b, w.p, w.len);
	be32_put(b + 6, 3);
	be32_put(b + 2, crc32c(0, b + 6, w.len - 6));
	ck_assert_int_eq(kpstate_snapshot_decode(t, b, w.len, 0, 0, eb, sizeof(eb)), ERR_CORRUPT);
	wbuf_free(&w);
	kpstate_free(s);
	kpstate_free(t);
}
END_TEST

START_TEST(test_snapshot_files)
{
	struct kpstate *s = kpstate_new();
	put(s, 7, 1, 0, 0, 2, 1);
	char eb[256], path[512];
	ck_assert_int_eq(kpstate_snapshot_path(path, sizeof(path), tdir, 1234), 0);
	ck_assert_ptr_nonnull(strstr(path, "/00000000000000001234.snapshot"));
	ck_assert_int_eq(kpstate_snapshot_write(s, tdir, 1234, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_snapshot_write(s, tdir, 10, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_snapshot_write(s, tdir, 99999, eb, sizeof(eb)), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	/* pruning: above 2000 and below 100 go */
	ck_assert_int_eq(kpstate_snapshot_prune(tdir, 100, 2000, eb, sizeof(eb)), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(kpstate_snapshot_path(path, sizeof(path), tdir, 10), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(kpstate_snapshot_path(path, sizeof(path), tdir, 99999), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* a directory that does not exist: ERR_IO, nothing left */
	char nodir[256];
	snprintf(nodir, sizeof(nodir), "%s/none", tdir);
	ck_assert_int_eq(kpstate_snapshot_write(s, nodir, 1, eb, sizeof(eb)), ERR_IO);
	kpstate_free(s);
}
END_TEST

/* Appends one batch of n records of producer (pid, epoch, seq) to l; returns its base offset. */
static int64_t append(struct klog *l, int64_t pid, int16_t epoch, int32_t seq, int n, int64_t ts)
{
	struct kbatch_rec r[8];
	ck_assert_int_le(n, 8);
	for (int i = 0; i < n; i++)
		r[i] = (struct kbatch_rec){.key = NULL, .key_len = -1, .value = "v", .value_len = 1};
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t len = kbatch_build(&w, 0, ts, r, n);
	ck_assert_uint_gt(len, 0);
	uint8_t *b = w.p;
	for (int i = 0; i < 8; i++)
		b[KBATCH_OFF_PRODUCER_ID + i] = (uint8_t)((uint64_t)pid >> (56 - 8 * i));
	b[51] = (uint8_t)((uint16_t)epoch >> 8);
	b[52] = (uint8_t)epoch;
	be32_put(b + 53, (uint32_t)seq);
	kbatch_update_crc(b, len);
	char eb[256];
	ck_assert_int_eq(kbatch_validate(b, len, NULL, eb, sizeof(eb)), 0);
	int64_t first = -1;
	ck_assert_int_eq(klog_append(l, b, len, 0, false, ts, &first, eb, sizeof(eb)), 0);
	wbuf_free(&w);
	return first;
}

static struct klog *open_log(const char *dir)
{
	struct klog_opts o;
	klog_opts_default(&o);
	o.test_no_fsync = true;
	o.segment_bytes = 300; /* a few batches per segment */
	struct klog *l = NULL;
	char eb[256];
	ck_assert_msg(klog_open(dir, &o, 1000, &l, eb, sizeof(eb)) == 0, "%s", eb);
	return l;
}

START_TEST(test_load_from_snapshot_and_log)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/t-0", tdir);
	struct klog *l = open_log(dir);
	struct kpstate *s = kpstate_new();
	char eb[256];
	int64_t snap = 0;
	/* an empty log, no snapshot */
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(snap, -1);
	ck_assert_uint_eq(kpstate_count(s), 0);
	int64_t o1 = append(l, 5, 0, 0, 3, 1000); /* seq 0-2 */
	append(l, 6, 1, 0, 1, 1000);
	int64_t o2 = append(l, 5, 0, 3, 2, 1000); /* seq 3-4 */
	/* no snapshot: rebuilt from the whole log */
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(snap, -1);
	ck_assert_uint_eq(kpstate_count(s), 2);
	struct kpstate_batch dup;
	ck_assert_int_eq(kpstate_check(s, 5, 0, 0, 3, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.first_offset, o1);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 3, 2, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.first_offset, o2);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 5, 1, NULL), KPSTATE_OK);
	/* a snapshot at the end, then more batches: loaded from it plus the rest of the log */
	int64_t end = klog_end_offset(l);
	ck_assert_int_eq(kpstate_snapshot_write(s, dir, end, eb, sizeof(eb)), 0);
	int64_t o3 = append(l, 5, 0, 5, 1, 1000);
	append(l, 7, 0, 0, 1, 1000);
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(snap, end);
	ck_assert_uint_eq(kpstate_count(s), 3);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 5, 1, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.first_offset, o3);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 6, 1, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, 7, 0, 1, 1, NULL), KPSTATE_OK);
	/* a snapshot beyond the log end (a truncated log) is not used */
	ck_assert_int_eq(kpstate_snapshot_write(s, dir, klog_end_offset(l) + 100, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(snap, end);
	/* a corrupt newest snapshot is deleted and the older one used */
	int64_t end2 = klog_end_offset(l);
	ck_assert_int_eq(kpstate_snapshot_write(s, dir, end2, eb, sizeof(eb)), 0);
	char path[512];
	ck_assert_int_eq(kpstate_snapshot_path(path, sizeof(path), dir, end2), 0);
	FILE *f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 12, SEEK_SET);
	fputc(0x55, f);
	fclose(f);
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(snap, end);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 6, 1, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, 7, 0, 1, 1, NULL), KPSTATE_OK);
	/* producers idle past the expiration are left out */
	ck_assert_int_eq(kpstate_load(s, l, 1000 + 500, 500, &snap, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(kpstate_count(s), 0);
	/* and the state survives a reopen of the log */
	klog_close(l);
	l = open_log(dir);
	ck_assert_int_eq(kpstate_load(s, l, 2000, KPSTATE_EXPIRATION_MS_DEFAULT, &snap, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_check(s, 5, 0, 6, 1, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, 6, 1, 1, 1, NULL), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check(s, 6, 0, 1, 1, NULL), KPSTATE_INVALID_EPOCH);
	klog_close(l);
	kpstate_free(s);
}
END_TEST

START_TEST(test_update_batches)
{
	struct kpstate *s = kpstate_new();
	struct kbatch_rec r = {.key = NULL, .key_len = -1, .value = "v", .value_len = 1};
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t a = kbatch_build(&w, 40, 5, &r, 1);
	size_t b = kbatch_build(&w, 41, 5, &r, 1); /* no producer id: ignored */
	ck_assert_uint_gt(a, 0);
	ck_assert_uint_gt(b, 0);
	uint8_t *p = w.p;
	memset(p + KBATCH_OFF_PRODUCER_ID, 0, 8);
	p[KBATCH_OFF_PRODUCER_ID + 7] = 9;
	p[51] = 0;
	p[52] = 2;
	be32_put(p + 53, 17);
	char eb[256];
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(kpstate_count(s), 1);
	struct kpstate_batch dup;
	ck_assert_int_eq(kpstate_check(s, 9, 2, 17, 1, &dup), KPSTATE_DUPLICATE);
	ck_assert_int_eq(dup.first_offset, 40);
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len - 3, eb, sizeof(eb)), ERR_TRUNC);
	wbuf_free(&w);
	kpstate_free(s);
}
END_TEST


/* ---- transactions (KIP-98) ---- */

/* A transactional batch of n records for pid/epoch at seq, appended to w at offset off. */
static void txn_batch(struct wbuf *w, int64_t pid, int16_t epoch, int32_t seq, int64_t off, int n)
{
	struct kbatch_rec r[4];
	for (int i = 0; i < n; i++)
		r[i] = (struct kbatch_rec){ .key = NULL, .key_len = -1, .value = "t", .value_len = 1 };
	size_t start = w->len;
	ck_assert_uint_gt(kbatch_build(w, off, 7, r, n), 0);
	uint8_t *b = w->p + start;
	b[KBATCH_OFF_ATTRIBUTES + 1] = KBATCH_TRANSACTIONAL;
	for (int i = 0; i < 8; i++)
		b[KBATCH_OFF_PRODUCER_ID + i] = (uint8_t)((uint64_t)pid >> (56 - 8 * i));
	b[51] = (uint8_t)((uint16_t)epoch >> 8);
	b[52] = (uint8_t)epoch;
	be32_put(b + 53, (uint32_t)seq);
	kbatch_update_crc(b, w->len - start);
}

static void marker(struct wbuf *w, int64_t pid, int16_t epoch, int32_t coord, bool commit, int64_t off)
{
	size_t start = w->len;
	ck_assert_uint_gt(kbatch_build_marker(w, pid, epoch, coord, commit, 8), 0);
	kbatch_set_base_offset(w->p + start, off);
}

struct txns {
	int n;
	struct kpstate_txn t[8];
};

static void txn_cb(void *arg, const struct kpstate_txn *t)
{
	struct txns *x = arg;
	ck_assert_int_lt(x->n, 8);
	x->t[x->n++] = *t;
}

START_TEST(test_lso_arithmetic)
{
	struct kpstate *s = kpstate_new();
	struct txns seen = { 0 };
	kpstate_set_txn_cb(s, txn_cb, &seen);
	/* nothing open: the LSO is the HW */
	ck_assert_int_eq(kpstate_first_unstable(s), -1);
	ck_assert_int_eq(kpstate_lso(s, 0), 0);
	ck_assert_int_eq(kpstate_lso(s, 17), 17);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	txn_batch(&w, 5, 0, 0, 10, 2); /* producer 5 opens at 10 */
	txn_batch(&w, 6, 0, 0, 12, 1); /* producer 6 opens at 12 */
	txn_batch(&w, 5, 0, 2, 13, 1); /* 5 goes on: its first offset stays 10 */
	char eb[256];
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_first_unstable(s), 10);
	ck_assert_int_eq(kpstate_lso(s, 14), 10);
	ck_assert_int_eq(kpstate_lso(s, 5), 5);	  /* the HW below the open transaction */
	ck_assert_int_eq(kpstate_lso(s, 10), 10); /* equal */
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(s, 5, &e), 0);
	ck_assert_int_eq(e.txn_first_offset, 10);
	/* 5 aborts at 14: 6's transaction is now the earliest; the aborted one is reported */
	wbuf_free(&w);
	wbuf_init(&w, 1 << 20);
	marker(&w, 5, 0, 3, false, 14);
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert(seen.t[0].aborted);
	ck_assert_int_eq(seen.t[0].producer_id, 5);
	ck_assert_int_eq(seen.t[0].first_offset, 10);
	ck_assert_int_eq(seen.t[0].last_offset, 14);
	ck_assert_int_eq(seen.t[0].lso, 12); /* Kafka's AbortedTxn.lastStableOffset: 6's first */
	ck_assert_int_eq(kpstate_lso(s, 15), 12);
	ck_assert_int_eq(kpstate_get(s, 5, &e), 0);
	ck_assert_int_eq(e.txn_first_offset, -1);
	ck_assert_int_eq(e.coordinator_epoch, 3);
	/* 6 commits at 15: nothing open, LSO = HW; the commit's lso is its marker + 1 */
	wbuf_free(&w);
	wbuf_init(&w, 1 << 20);
	marker(&w, 6, 0, 3, true, 15);
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert(!seen.t[1].aborted);
	ck_assert_int_eq(seen.t[1].first_offset, 12);
	ck_assert_int_eq(seen.t[1].lso, 16);
	ck_assert_int_eq(kpstate_first_unstable(s), -1);
	ck_assert_int_eq(kpstate_lso(s, 16), 16);
	/* a marker with nothing open: the transaction is the marker alone */
	struct kpstate_txn t;
	ck_assert_int_eq(kpstate_end_txn(s, 6, 0, 3, false, 16, 9, &t), 0);
	ck_assert_int_eq(t.first_offset, 16);
	ck_assert_int_eq(t.last_offset, 16);
	ck_assert_int_eq(t.lso, 17);
	/* an open transaction is not expired */
	wbuf_free(&w);
	wbuf_init(&w, 1 << 20);
	txn_batch(&w, 7, 0, 0, 20, 1);
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(kpstate_expire(s, 1000000, 10), 2); /* 5 and 6 go, 7 stays */
	ck_assert_int_eq(kpstate_get(s, 7, &e), 0);
	wbuf_free(&w);
	kpstate_free(s);
}
END_TEST

START_TEST(test_marker_checks)
{
	struct kpstate *s = kpstate_new();
	/* no entry: any marker is taken */
	ck_assert_int_eq(kpstate_check_marker(s, 5, 0, 0), KPSTATE_OK);
	put(s, 5, 2, 0, 0, 1, 1);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 1, 0), KPSTATE_INVALID_EPOCH);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 2, 0), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 3, 0), KPSTATE_OK); /* a bump (the coordinator's abort) */
	ck_assert_int_eq(kpstate_end_txn(s, 5, 3, 4, false, 1, 2, NULL), 0);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 3, 3), KPSTATE_COORDINATOR_FENCED);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 3, 4), KPSTATE_OK);
	ck_assert_int_eq(kpstate_check_marker(s, 5, 2, 5), KPSTATE_INVALID_EPOCH);
	/* the marker's epoch became the producer's, its batches dropped (a new epoch) */
	struct kpstate_entry e;
	ck_assert_int_eq(kpstate_get(s, 5, &e), 0);
	ck_assert_int_eq(e.epoch, 3);
	ck_assert_int_eq(e.n_batches, 0);
	kpstate_free(s);
}
END_TEST

START_TEST(test_txn_snapshot_and_rebuild)
{
	/* an open transaction survives a snapshot (CurrentTxnFirstOffset) and a rebuild from the log */
	struct kpstate *s = kpstate_new(), *t = kpstate_new();
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	txn_batch(&w, 5, 1, 0, 0, 2);
	marker(&w, 5, 1, 0, false, 2);
	txn_batch(&w, 5, 1, 2, 3, 1);
	char eb[256];
	ck_assert_int_eq(kpstate_update_batches(s, w.p, w.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_first_unstable(s), 3);
	struct wbuf sn;
	wbuf_init(&sn, KPSTATE_SNAPSHOT_MAX_BYTES);
	ck_assert_int_eq(kpstate_snapshot_encode(s, &sn), 0);
	ck_assert_int_eq(kpstate_snapshot_decode(t, sn.p, sn.len, 0, 0, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_first_unstable(t), 3);
	wbuf_free(&sn);
	/* through a log: kpstate_rebuild finds the abort (callback) and the open transaction */
	struct klog *l;
	ck_assert_int_eq(klog_open(tdir, NULL, 0, &l, eb, sizeof(eb)), 0);
	int64_t first;
	ck_assert_int_eq(klog_append(l, w.p, w.len, 0, false, 0, &first, eb, sizeof(eb)), 0);
	struct txns seen = { 0 };
	kpstate_set_txn_cb(t, txn_cb, &seen);
	ck_assert_int_eq(kpstate_rebuild(t, l, 0, 0, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kpstate_first_unstable(t), 3);
	ck_assert_int_eq(seen.n, 1);
	ck_assert(seen.t[0].aborted);
	ck_assert_int_eq(seen.t[0].first_offset, 0);
	ck_assert_int_eq(seen.t[0].last_offset, 2);
	klog_close(l);
	wbuf_free(&w);
	kpstate_free(s);
	kpstate_free(t);
}
END_TEST

static Suite *kpstate_suite(void)
{
	Suite *s = suite_create("kpstate");
	TCase *tc = tcase_create("rules");
	tcase_add_test(tc, test_in_order_and_gaps);
	tcase_add_test(tc, test_duplicates_of_last_five);
	tcase_add_test(tc, test_epochs);
	tcase_add_test(tc, test_sequence_wrap);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_update_batches);
	suite_add_tcase(s, tc);
	tc = tcase_create("snapshots");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_snapshot_bytes);
	tcase_add_test(tc, test_snapshot_malformed);
	tcase_add_test(tc, test_snapshot_files);
	tcase_add_test(tc, test_load_from_snapshot_and_log);
	suite_add_tcase(s, tc);
	tc = tcase_create("transactions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lso_arithmetic);
	tcase_add_test(tc, test_marker_checks);
	tcase_add_test(tc, test_txn_snapshot_and_rebuild);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kpstate_suite());
}

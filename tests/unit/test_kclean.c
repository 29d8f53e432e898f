/*
 * Unit tests for kclean, the log cleaner: the last record per key kept with its offset (and
 * every other record of the cleaned part gone), batches keeping baseOffset and lastOffsetDelta,
 * the active segment byte for byte untouched, tombstones kept until delete.retention.ms then
 * removed, min.compaction.lag.ms, min.cleanable.dirty.ratio, a key map too small for the dirty
 * part (the cleaning stops at a segment boundary and the next one continues), reads by every
 * offset finding the next one that exists, cleaned segments merged, compact-only logs never
 * deleted by retention, a log changed meanwhile refusing the swap, the cleaner thread with its
 * cleaner-offset-checkpoint, and crash safety: a child process killed (_exit) at every step of
 * the swap, and with its .cleaned file half written, after which klog_open recovers a log that
 * reads the same last value for every key and holds only records of the original log.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kckpt.h"
#include "kclean.h"
#include "ktxnidx.h"
#include "klog.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <dirent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tdir[128];
static char ldir[192];

#define NOW 1700000000000LL
#define MAXREC 4096

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-kclean"));
	snprintf(ldir, sizeof(ldir), "%s/compacted-0", tdir);
	log_set_quiet_stderr(getenv("KLOG_VERBOSE") ? 0 : 1);
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

static struct klog_opts copts(int64_t segment_bytes)
{
	struct klog_opts o;
	klog_opts_default(&o);
	o.roll_ms = -1;
	o.retention_ms = -1;
	o.segment_bytes = segment_bytes;
	o.index_interval_bytes = 64;
	o.test_no_fsync = true;
	o.compact = true;
	o.no_delete = true;
	o.min_cleanable_ratio = 0.01;
	return o;
}

static struct klog *open_log(const struct klog_opts *o)
{
	struct klog *l = NULL;
	char eb[256] = "";
	ck_assert_msg(klog_open(ldir, o, NOW, &l, eb, sizeof(eb)) == 0, "%s", eb);
	return l;
}

/* Appends one batch of n records: keys "k<keys[i]>" (keys[i] < 0: no key), value "v<tag>-<i>"
 * or a tombstone when tomb[i]; timestamps ts + i. Returns the first offset. */
static int64_t put(struct klog *l, int n, const int *keys, const bool *tomb, int tag, int64_t ts)
{
	struct kbatch_rec recs[64];
	char kb[64][16], vb[64][32];
	ck_assert_int_le(n, 64);
	for (int i = 0; i < n; i++) {
		int kl = snprintf(kb[i], sizeof(kb[i]), "k%d", keys[i]);
		int vl = snprintf(vb[i], sizeof(vb[i]), "v%d-%d", tag, i);
		recs[i] = (struct kbatch_rec){ keys[i] < 0 ? NULL : kb[i], keys[i] < 0 ? -1 : kl,
					       tomb && tomb[i] ? NULL : vb[i], tomb && tomb[i] ? -1 : vl, i, NULL, 0 };
	}
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t sz = kbatch_build(&w, 0, ts, recs, n);
	ck_assert_uint_gt(sz, 0);
	int64_t first = -1;
	char eb[256] = "";
	ck_assert_msg(klog_append(l, w.p, sz, 1, false, ts, &first, eb, sizeof(eb)) == 0, "%s", eb);
	wbuf_free(&w);
	return first;
}

/* One record of the log as read back. */
struct rec {
	int64_t offset;
	int key; /* -1: none */
	bool tomb;
	char value[32];
};

struct recs {
	struct rec r[MAXREC];
	int n;
};

static int collect_cb(const struct kbatch_record *r, void *arg)
{
	struct recs *rs = arg;
	ck_assert_int_lt(rs->n, MAXREC);
	struct rec *x = &rs->r[rs->n++];
	x->offset = r->offset;
	x->key = -1;
	if (r->key) {
		char k[16] = "";
		ck_assert_int_lt(r->key_len, (int)sizeof(k));
		memcpy(k, r->key, (size_t)r->key_len);
		x->key = atoi(k + 1);
	}
	x->tomb = r->value == NULL;
	x->value[0] = 0;
	if (r->value) {
		ck_assert_int_lt(r->value_len, (int)sizeof(x->value));
		memcpy(x->value, r->value, (size_t)r->value_len);
		x->value[r->value_len] = 0;
	}
	return 0;
}

/* Reads the batches of a slice, each valid as the log keeps them, into rs; returns the number of
 * batches and the offset after the last one. */
static int slice_collect(struct klog_slice *s, struct recs *rs, int64_t *next)
{
	int nb = 0;
	uint8_t *b = malloc(s->len);
	ck_assert_int_eq(pread(s->fd, b, s->len, s->pos), (ssize_t)s->len);
	close(s->fd);
	size_t pos = 0;
	while (pos < s->len) {
		struct kbatch_hdr h;
		char eb[256] = "";
		size_t bsz = kbatch_size_of(b + pos);
		ck_assert_uint_le(bsz, s->len - pos);
		ck_assert_msg(kbatch_validate_ex(b + pos, bsz, KBATCH_COMPACTED, &h, eb, sizeof(eb)) == 0, "%s", eb);
		ck_assert_msg(kbatch_records(b + pos, bsz, collect_cb, rs, eb, sizeof(eb)) == 0, "%s", eb);
		*next = h.base_offset + h.last_offset_delta + 1;
		pos += bsz;
		nb++;
	}
	free(b);
	return nb;
}

/* Every record of the log, in order, offsets strictly increasing. */
static void read_all(struct klog *l, struct recs *rs)
{
	rs->n = 0;
	int64_t off = klog_start_offset(l), end = klog_end_offset(l);
	while (off < end) {
		struct klog_slice s;
		char eb[256] = "";
		ck_assert_msg(klog_read(l, off, 1 << 20, end, &s, eb, sizeof(eb)) == 0, "%s", eb);
		ck_assert_msg(s.len > 0, "nothing read at offset %lld of [%lld, %lld)", (long long)off,
			      (long long)klog_start_offset(l), (long long)end);
		int64_t next = off;
		slice_collect(&s, rs, &next);
		ck_assert_int_gt(next, off);
		off = next;
	}
	for (int i = 1; i < rs->n; i++)
		ck_assert_int_lt(rs->r[i - 1].offset, rs->r[i].offset);
}

static const struct rec *find_off(const struct recs *rs, int64_t off)
{
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].offset == off)
			return &rs->r[i];
	return NULL;
}

/* The last record of key among rs's records below upto, or NULL. */
static const struct rec *last_of(const struct recs *rs, int key, int64_t upto)
{
	const struct rec *x = NULL;
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].key == key && rs->r[i].offset < upto)
			x = &rs->r[i];
	return x;
}

/* Plans, runs and installs one cleaning synchronously; returns the task's cleaned_upto, or -1
 * when there was nothing to clean. */
static int64_t clean(struct klog *l, int64_t ckpt, int64_t now, size_t map_bytes, int64_t group_bytes)
{
	struct kclean_task *t = NULL;
	char eb[256] = "";
	ck_assert_msg(kclean_task_plan(l, ckpt, INT64_MAX, now, map_bytes, &t, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	if (!t)
		return -1;
	if (group_bytes > 0)
		t->segment_bytes = group_bytes;
	ck_assert_msg(kclean_task_run(t, NULL) == 0, "%s", t->err);
	ck_assert_msg(kclean_task_install(l, t, NULL, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	int64_t upto = t->cleaned_upto;
	kclean_task_free(t);
	return upto;
}

static int count_files(const char *suffix)
{
	DIR *d = opendir(ldir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	size_t sl = strlen(suffix);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		n += len > sl && !strcmp(e->d_name + len - sl, suffix);
	}
	closedir(d);
	return n;
}

/* rounds batches of 10 records, keys (r * 3 + i) % nkeys, so every key repeats */
static void fill(struct klog *l, int rounds, int nkeys, int64_t ts)
{
	for (int r = 0; r < rounds; r++) {
		int keys[10];
		for (int i = 0; i < 10; i++)
			keys[i] = (r * 3 + i) % nkeys;
		put(l, 10, keys, NULL, r, ts + r);
	}
}

/* The cleaned part [start, upto) of after holds exactly the last record of each key of before
 * below upto, at its offset with its value; the rest of the log is unchanged. */
static void check_cleaned(const struct recs *before, const struct recs *after, int64_t upto, int nkeys)
{
	int expect = 0;
	for (int k = 0; k < nkeys; k++) {
		const struct rec *b = last_of(before, k, upto);
		if (!b)
			continue;
		expect++;
		const struct rec *a = find_off(after, b->offset);
		ck_assert_msg(a, "the last record of key %d (offset %lld) is gone", k, (long long)b->offset);
		ck_assert_int_eq(a->key, k);
		ck_assert_str_eq(a->value, b->value);
	}
	int got = 0;
	for (int i = 0; i < after->n; i++)
		got += after->r[i].offset < upto;
	ck_assert_int_eq(got, expect);
	for (int i = 0; i < before->n; i++) {
		if (before->r[i].offset < upto)
			continue;
		const struct rec *a = find_off(after, before->r[i].offset);
		ck_assert_ptr_nonnull(a);
		ck_assert_str_eq(a->value, before->r[i].value);
	}
}

START_TEST(t_last_per_key)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	static struct recs before, after;
	fill(l, 40, 7, NOW - 100000);
	int nseg = klog_segment_count(l);
	ck_assert_int_gt(nseg, 5);
	int64_t active_base = klog_segment_base(l, nseg - 1);
	int64_t end = klog_end_offset(l);
	size_t size = klog_size_bytes(l);
	read_all(l, &before);
	int64_t upto = clean(l, -1, NOW, 1 << 20, 0);
	ck_assert_int_eq(upto, active_base);
	read_all(l, &after);
	check_cleaned(&before, &after, upto, 7);
	ck_assert_int_eq(klog_end_offset(l), end);
	ck_assert_int_eq(klog_start_offset(l), 0);
	ck_assert_uint_lt(klog_size_bytes(l), size);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	ck_assert_int_eq(count_files(".swap"), 0);
	/* appends go on at the end offset */
	int k1[1] = { 3 };
	ck_assert_int_eq(put(l, 1, k1, NULL, 99, NOW), end);
	klog_close(l);
	/* a reopen reads the same */
	l = open_log(&o);
	static struct recs again;
	read_all(l, &again);
	ck_assert_int_eq(again.n, after.n + 1);
	for (int i = 0; i < after.n; i++) {
		ck_assert_int_eq(again.r[i].offset, after.r[i].offset);
		ck_assert_str_eq(again.r[i].value, after.r[i].value);
	}
	klog_close(l);
}
END_TEST

/* Kafka's filterTo: a batch keeps baseOffset and lastOffsetDelta, records keep offsets. */
START_TEST(t_batches_keep_offsets)
{
	struct klog_opts o = copts(1 << 20);
	struct klog *l = open_log(&o);
	int k1[5] = { 1, 2, 1, 3, 2 };
	put(l, 5, k1, NULL, 0, NOW - 1000); /* offsets 0-4: 2 (k1) and 4 (k2) and 3 (k3) survive */
	int k2[2] = { 9, 9 };
	put(l, 2, k2, NULL, 1, NOW - 1000); /* 5-6: 6 survives */
	klog_close(l);
	o.segment_bytes = 100; /* the next append rolls */
	l = open_log(&o);
	int k3[1] = { 5 };
	put(l, 1, k3, NULL, 2, NOW);
	ck_assert_int_eq(klog_segment_count(l), 2);
	ck_assert_int_eq(clean(l, -1, NOW, 1 << 20, 0), 7);
	struct klog_slice s;
	char eb[256] = "";
	ck_assert_int_eq(klog_read(l, 0, 1 << 20, 7, &s, eb, sizeof(eb)), 0);
	uint8_t buf[4096];
	ck_assert_uint_lt(s.len, sizeof(buf));
	ck_assert_int_eq(pread(s.fd, buf, s.len, s.pos), (ssize_t)s.len);
	close(s.fd);
	struct kbatch_hdr h;
	size_t b1 = kbatch_size_of(buf);
	ck_assert_int_eq(kbatch_validate_ex(buf, b1, KBATCH_COMPACTED, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.base_offset, 0);
	ck_assert_int_eq(h.last_offset_delta, 4);
	ck_assert_int_eq(h.records_count, 3);
	/* a thinned batch is what Produce refuses */
	ck_assert_int_eq(kbatch_validate(buf, b1, NULL, eb, sizeof(eb)), ERR_PROTO);
	static struct recs rs;
	rs.n = 0;
	ck_assert_int_eq(kbatch_records(buf, b1, collect_cb, &rs, eb, sizeof(eb)), 0);
	ck_assert_int_eq(rs.n, 3);
	ck_assert_int_eq(rs.r[0].offset, 2);
	ck_assert_int_eq(rs.r[1].offset, 3);
	ck_assert_int_eq(rs.r[2].offset, 4);
	ck_assert_str_eq(rs.r[2].value, "v0-4");
	ck_assert_int_eq(kbatch_validate_ex(buf + b1, s.len - b1, KBATCH_COMPACTED, &h, eb, sizeof(eb)), 0);
	ck_assert_int_eq(h.base_offset, 5);
	ck_assert_int_eq(h.last_offset_delta, 1);
	ck_assert_int_eq(h.records_count, 1);
	klog_close(l);
}
END_TEST

START_TEST(t_active_untouched)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	/* one segment only: nothing to clean */
	fill(l, 2, 3, NOW);
	ck_assert_int_eq(klog_segment_count(l), 1);
	ck_assert_int_eq(clean(l, -1, NOW, 1 << 20, 0), -1);
	fill(l, 30, 3, NOW);
	int n = klog_segment_count(l);
	int64_t ab = klog_segment_base(l, n - 1);
	char path[300];
	snprintf(path, sizeof(path), "%s/%020lld.log", ldir, (long long)ab);
	struct stat st1, st2;
	ck_assert_int_eq(stat(path, &st1), 0);
	ck_assert_int_gt(st1.st_size, 0);
	static uint8_t b1[8192], b2[8192];
	int fd = open(path, O_RDONLY);
	ck_assert_int_eq(read(fd, b1, sizeof(b1)), st1.st_size);
	close(fd);
	ck_assert_int_eq(clean(l, -1, NOW, 1 << 20, 0), ab);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_int_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(st1.st_size, st2.st_size);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(read(fd, b2, sizeof(b2)), st2.st_size);
	close(fd);
	ck_assert(memcmp(b1, b2, (size_t)st1.st_size) == 0);
	/* its records still carry every key, duplicates included */
	static struct recs rs;
	read_all(l, &rs);
	int in_active = 0;
	for (int i = 0; i < rs.n; i++)
		in_active += rs.r[i].offset >= ab;
	ck_assert_int_eq(in_active, (int)(klog_end_offset(l) - ab));
	klog_close(l);
}
END_TEST

START_TEST(t_tombstones)
{
	struct klog_opts o = copts(600);
	o.delete_retention_ms = 60000;
	struct klog *l = open_log(&o);
	int64_t ts = NOW - 10000;
	fill(l, 10, 5, ts);
	/* key 2 and key 4 deleted */
	int kt[2] = { 2, 4 };
	bool tb[2] = { true, true };
	int64_t toff = put(l, 2, kt, tb, 50, ts + 100);
	fill(l, 6, 1, ts + 200); /* key 0 only: rolls past the tombstones */
	static struct recs rs;
	int64_t upto = clean(l, -1, NOW, 1 << 20, 0);
	ck_assert_int_gt(upto, toff + 1);
	read_all(l, &rs);
	/* younger than delete.retention.ms: the tombstones stay, the values before them are gone */
	const struct rec *t1 = find_off(&rs, toff), *t2 = find_off(&rs, toff + 1);
	ck_assert(t1 && t1->tomb);
	ck_assert(t2 && t2->tomb);
	for (int i = 0; i < rs.n; i++)
		if (rs.r[i].key == 2 || rs.r[i].key == 4)
			ck_assert(rs.r[i].tomb);
	/* a day later: removed, and with them every trace of keys 2 and 4 */
	upto = clean(l, -1, NOW + 86400000LL, 1 << 20, 0);
	ck_assert_int_gt(upto, toff + 1);
	read_all(l, &rs);
	ck_assert_ptr_null(find_off(&rs, toff));
	ck_assert_ptr_null(find_off(&rs, toff + 1));
	for (int i = 0; i < rs.n; i++)
		ck_assert(rs.r[i].key != 2 && rs.r[i].key != 4);
	/* the other keys keep their last value */
	ck_assert_ptr_nonnull(last_of(&rs, 1, INT64_MAX));
	ck_assert_ptr_nonnull(last_of(&rs, 3, INT64_MAX));
	klog_close(l);
}
END_TEST

START_TEST(t_min_lag)
{
	struct klog_opts o = copts(1024);
	o.min_compaction_lag_ms = 3600000;
	struct klog *l = open_log(&o);
	fill(l, 20, 4, NOW - 7200000); /* two hours old: cleanable */
	int old_segs = klog_segment_count(l);
	int64_t young_base = klog_end_offset(l);
	fill(l, 20, 4, NOW - 60000); /* a minute old: not yet */
	ck_assert_int_gt(klog_segment_count(l), old_segs + 1);
	static struct recs before, after;
	read_all(l, &before);
	int64_t upto = clean(l, -1, NOW, 1 << 20, 0);
	/* the cleaning stops at the first segment with a young record */
	ck_assert_int_gt(upto, 0);
	ck_assert_int_le(upto, young_base);
	read_all(l, &after);
	check_cleaned(&before, &after, upto, 4);
	for (int i = 0; i < before.n; i++)
		if (before.r[i].offset >= young_base)
			ck_assert_ptr_nonnull(find_off(&after, before.r[i].offset));
	/* with every segment young, nothing at all */
	klog_close(l);
	teardown();
	setup();
	l = open_log(&o);
	fill(l, 20, 4, NOW - 1000);
	ck_assert_int_eq(clean(l, -1, NOW, 1 << 20, 0), -1);
	klog_close(l);
}
END_TEST

START_TEST(t_dirty_ratio)
{
	struct klog_opts o = copts(1024);
	o.min_cleanable_ratio = 0.5;
	struct klog *l = open_log(&o);
	fill(l, 40, 40, NOW - 100000); /* 40 distinct keys: cleaning keeps nearly everything */
	int64_t upto = clean(l, -1, NOW, 1 << 20, 0);
	ck_assert_int_gt(upto, 0);
	/* from the checkpoint nothing is dirty */
	struct kclean_task *t = NULL;
	double ratio = -1;
	char eb[256];
	ck_assert_int_eq(kclean_task_plan(l, upto, INT64_MAX, NOW, 1 << 20, &t, &ratio, eb, sizeof(eb)), 0);
	ck_assert_ptr_null(t);
	ck_assert(ratio == 0);
	/* a little dirty data: below 0.5 */
	fill(l, 8, 40, NOW - 50000);
	ck_assert_int_eq(kclean_task_plan(l, upto, INT64_MAX, NOW, 1 << 20, &t, &ratio, eb, sizeof(eb)), 0);
	ck_assert_ptr_null(t);
	ck_assert(ratio > 0 && ratio < 0.5);
	/* the same log with a lower min.cleanable.dirty.ratio is cleaned */
	o.min_cleanable_ratio = ratio / 2;
	klog_set_opts(l, &o);
	ck_assert_int_eq(kclean_task_plan(l, upto, INT64_MAX, NOW, 1 << 20, &t, &ratio, eb, sizeof(eb)), 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->first_dirty, upto);
	kclean_task_free(t);
	klog_close(l);
}
END_TEST

/* A map too small for the whole dirty part: the cleaning stops at a segment boundary and the
 * next one, from the checkpoint it left, finishes. */
START_TEST(t_map_full)
{
	struct klog_opts o = copts(300);
	struct klog *l = open_log(&o);
	/* one batch per segment; every batch brings 10 new keys: the 1 KiB map (12 entries) holds one segment's */
	for (int r = 0; r < 12; r++) {
		int keys[10];
		for (int i = 0; i < 10; i++)
			keys[i] = r < 6 ? r * 10 + i : (r - 6) * 10 + i;
		put(l, 10, keys, NULL, r, NOW - 10000 + r);
	}
	static struct recs before, after;
	read_all(l, &before);
	int64_t first_unclean = klog_segment_base(l, klog_segment_count(l) - 1);
	int64_t upto = clean(l, -1, NOW, KCLEAN_MIN_MAP_BYTES, 0);
	ck_assert_int_gt(upto, 0);
	ck_assert_int_lt(upto, first_unclean);
	read_all(l, &after);
	/* nothing dropped that the map did not prove superseded */
	for (int k = 0; k < 60; k++) {
		const struct rec *b = last_of(&before, k, INT64_MAX);
		if (b)
			ck_assert_ptr_nonnull(find_off(&after, b->offset));
	}
	int rounds = 0;
	while (upto >= 0 && upto < first_unclean && rounds++ < 20)
		upto = clean(l, upto, NOW, KCLEAN_MIN_MAP_BYTES, 0);
	ck_assert_int_eq(upto, first_unclean);
	read_all(l, &after);
	for (int k = 0; k < 60; k++) {
		const struct rec *b = last_of(&before, k, INT64_MAX);
		if (b)
			ck_assert_ptr_nonnull(find_off(&after, b->offset));
	}
	/* a map that cannot hold one segment is an error, not a partial cleaning */
	struct kclean_task *t = NULL;
	char eb[256];
	fill(l, 10, 60, NOW - 5000);
	ck_assert_int_eq(kclean_task_plan(l, upto, INT64_MAX, NOW, 16, &t, NULL, eb, sizeof(eb)), 0);
	ck_assert_ptr_nonnull(t);
	t->map_bytes = 16; /* below the minimum: the minimum */
	int rc = kclean_task_run(t, NULL);
	if (rc) {
		ck_assert_int_eq(rc, ERR_FULL);
		ck_assert(strstr(t->err, "log.cleaner.dedupe.buffer.size"));
	}
	kclean_task_free(t);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	klog_close(l);
}
END_TEST

/* A fetch at any offset, removed or not, starts at the first record at or after it. */
START_TEST(t_reads_find_next_offset)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	fill(l, 30, 5, NOW - 100000);
	clean(l, -1, NOW, 1 << 20, 4096);
	static struct recs all, rs;
	read_all(l, &all);
	int64_t end = klog_end_offset(l);
	for (int64_t off = 0; off < end; off++) {
		int64_t want = -1;
		for (int i = 0; i < all.n && want < 0; i++)
			if (all.r[i].offset >= off)
				want = all.r[i].offset;
		struct klog_slice s;
		char eb[256] = "";
		ck_assert_int_eq(klog_read(l, off, 1, end, &s, eb, sizeof(eb)), 0);
		ck_assert_uint_gt(s.len, 0);
		rs.n = 0;
		int64_t next;
		slice_collect(&s, &rs, &next);
		int64_t got = -1;
		for (int i = 0; i < rs.n && got < 0; i++)
			if (rs.r[i].offset >= off)
				got = rs.r[i].offset;
		ck_assert_int_eq(got, want);
	}
	klog_close(l);
}
END_TEST

/* Cleaned segments are merged into groups of at most segment.bytes. */
START_TEST(t_merges_segments)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	fill(l, 60, 3, NOW - 100000);
	int n0 = klog_segment_count(l);
	static struct recs before, after;
	read_all(l, &before);
	int64_t upto = clean(l, -1, NOW, 1 << 20, 0);
	ck_assert_int_eq(klog_segment_count(l), n0); /* full segments: one to one */
	upto = clean(l, -1, NOW, 1 << 20, 0);	   /* now small: merged */
	ck_assert_int_lt(klog_segment_count(l), n0 / 2);
	read_all(l, &after);
	check_cleaned(&before, &after, upto, 3);
	klog_close(l);
	l = open_log(&o);
	read_all(l, &after);
	check_cleaned(&before, &after, upto, 3);
	klog_close(l);
}
END_TEST

START_TEST(t_compact_only_not_deleted)
{
	struct klog_opts o = copts(600);
	o.retention_ms = 1;
	o.retention_bytes = 1;
	struct klog *l = open_log(&o);
	fill(l, 20, 3, NOW - 100000);
	int n = klog_segment_count(l);
	ck_assert_int_gt(n, 2);
	ck_assert_int_eq(klog_housekeep(l, NOW), 0);
	ck_assert_int_eq(klog_segment_count(l), n);
	o.no_delete = false; /* compact,delete */
	klog_set_opts(l, &o);
	ck_assert_int_gt(klog_housekeep(l, NOW), 0);
	ck_assert_int_eq(klog_segment_count(l), 1);
	klog_close(l);
}
END_TEST

/* Retention or truncation between the snapshot and the swap: the swap is refused, nothing lost. */
START_TEST(t_changed_meanwhile)
{
	struct klog_opts o = copts(600);
	struct klog *l = open_log(&o);
	fill(l, 20, 3, NOW - 100000);
	static struct recs before, after;
	read_all(l, &before);
	struct kclean_task *t = NULL;
	char eb[256] = "";
	ck_assert_int_eq(kclean_task_plan(l, -1, INT64_MAX, NOW, 1 << 20, &t, NULL, eb, sizeof(eb)), 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(kclean_task_run(t, NULL), 0);
	ck_assert_int_gt(count_files(".cleaned"), 0);
	int64_t end = klog_end_offset(l);
	ck_assert_int_eq(klog_truncate_to(l, end - 5, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kclean_task_install(l, t, NULL, NULL, eb, sizeof(eb)), ERR_BUSY);
	kclean_task_free(t);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	read_all(l, &after);
	for (int i = 0; i < before.n; i++)
		if (before.r[i].offset < klog_end_offset(l))
			ck_assert_ptr_nonnull(find_off(&after, before.r[i].offset));
	klog_close(l);
}
END_TEST

/* ---- crash safety ---- */

static int crash_at;

static void crash_hook(enum klog_swap_step step, void *arg)
{
	(void)arg;
	if ((int)step == crash_at)
		_exit(0); /* as kill -9: nothing after this point runs, files stay as they are */
}

/* The log's meaning: the last value of every key, and every record being the original's. */
static void check_same_meaning(const struct recs *before, const struct recs *after, int nkeys)
{
	for (int k = 0; k < nkeys; k++) {
		const struct rec *b = last_of(before, k, INT64_MAX);
		const struct rec *a = last_of(after, k, INT64_MAX);
		ck_assert_ptr_nonnull(b);
		ck_assert_msg(a, "key %d lost", k);
		ck_assert_int_eq(a->offset, b->offset);
		ck_assert_str_eq(a->value, b->value);
	}
	for (int i = 0; i < after->n; i++) {
		const struct rec *b = find_off(before, after->r[i].offset);
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(b->key, after->r[i].key);
		ck_assert_str_eq(b->value, after->r[i].value);
	}
}

/* step 0: killed after writing the .cleaned files (before any rename); -1: half-way through
 * writing one; 1..KLOG_SWAP_DONE: at that step of the swap. */
static void crash_run(int step)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	fill(l, 40, 6, NOW - 100000);
	clean(l, -1, NOW, 1 << 20, 0); /* small segments now: the next cleaning merges groups */
	fill(l, 20, 6, NOW - 90000);
	static struct recs before, after;
	read_all(l, &before);
	int64_t end = klog_end_offset(l);
	klog_close(l);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct klog *cl = NULL;
		struct kclean_task *t = NULL;
		char eb[256];
		if (klog_open(ldir, &o, NOW, &cl, eb, sizeof(eb)) ||
		    kclean_task_plan(cl, -1, INT64_MAX, NOW, 1 << 20, &t, NULL, eb, sizeof(eb)) || !t)
			_exit(2);
		t->segment_bytes = 4096;
		if (kclean_task_run(t, NULL))
			_exit(3);
		if (t->ngroups < 1 || t->groups[0].count < 2)
			_exit(4); /* the test needs a group of several segments */
		if (step == -1) {
			char p[400];
			struct stat st;
			snprintf(p, sizeof(p), "%s/%020lld.log.cleaned", ldir, (long long)t->groups[0].base);
			if (stat(p, &st) || truncate(p, st.st_size / 2))
				_exit(5);
		}
		if (step <= 0)
			_exit(0);
		crash_at = step;
		kclean_task_install(cl, t, crash_hook, NULL, eb, sizeof(eb));
		_exit(step == KLOG_SWAP_DONE ? 6 : 7); /* the hook did not stop it */
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child of step %d: status %d", step, status);
	l = open_log(&o);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	ck_assert_int_eq(count_files(".swap"), 0);
	ck_assert_int_eq(klog_end_offset(l), end);
	read_all(l, &after);
	check_same_meaning(&before, &after, 6);
	if (step >= KLOG_SWAP_RENAMED_SWAP)
		ck_assert_int_lt(after.n, before.n); /* committed: the cleaning happened */
	else
		ck_assert_int_eq(after.n, before.n); /* rolled back */
	/* and the log cleans again from there */
	int64_t upto = clean(l, -1, NOW, 1 << 20, 4096);
	ck_assert_int_gt(upto, 0);
	static struct recs again;
	read_all(l, &again);
	check_same_meaning(&before, &again, 6);
	klog_close(l);
}

START_TEST(t_crash_at_each_step)
{
	crash_run(_i);
}
END_TEST

/* A .swap left by a crash with the later segments of its group still there, and a stray
 * .cleaned: recovery deletes what the swap replaced. */
START_TEST(t_recovery_manual_swap)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	fill(l, 30, 4, NOW - 100000);
	static struct recs before, after;
	read_all(l, &before);
	struct kclean_task *t = NULL;
	char eb[256] = "";
	ck_assert_int_eq(kclean_task_plan(l, -1, INT64_MAX, NOW, 1 << 20, &t, NULL, eb, sizeof(eb)), 0);
	t->segment_bytes = 1 << 20;
	ck_assert_int_eq(kclean_task_run(t, NULL), 0);
	ck_assert_int_eq(t->ngroups, 1);
	ck_assert_int_gt(t->groups[0].count, 2);
	char from[400], to[400];
	snprintf(from, sizeof(from), "%s/%020lld.log.cleaned", ldir, (long long)t->groups[0].base);
	snprintf(to, sizeof(to), "%s/%020lld.log.swap", ldir, (long long)t->groups[0].base);
	ck_assert_int_eq(rename(from, to), 0);
	t->groups[0].written = false;
	kclean_task_free(t);
	klog_close(l);
	snprintf(from, sizeof(from), "%s/%020lld.log.cleaned", ldir, 12345LL);
	FILE *f = fopen(from, "w");
	ck_assert_ptr_nonnull(f);
	fputs("half a cleaning", f);
	fclose(f);
	l = open_log(&o);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	ck_assert_int_eq(count_files(".swap"), 0);
	ck_assert_int_eq(klog_segment_count(l), 2);
	read_all(l, &after);
	check_same_meaning(&before, &after, 4);
	klog_close(l);
}
END_TEST

/* ---- the cleaner thread ---- */

START_TEST(t_manager)
{
	struct klog_opts o = copts(1024);
	struct klog *l = open_log(&o);
	fill(l, 40, 5, NOW - 100000);
	static struct recs before, after;
	read_all(l, &before);
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct kclean *c = NULL;
	char eb[256] = "";
	struct kclean_opts co = { .map_bytes = 1 << 20, .test_no_fsync = true };
	ck_assert_msg(kclean_new(base, tdir, &co, &c, eb, sizeof(eb)) == 0, "%s", eb);
	ck_assert_int_eq(kclean_checkpoint(c, "compacted", 0), -1);
	ck_assert_int_eq(kclean_offer(c, l, "compacted", 0, INT64_MAX, NOW), 1);
	ck_assert_int_eq(kclean_offer(c, l, "compacted", 0, INT64_MAX, NOW), ERR_BUSY);
	uint64_t n = 0, in, out;
	for (int i = 0; i < 10000 && n == 0; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		kclean_stats(c, &n, &in, &out);
		if (!n)
			usleep(1000);
	}
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_lt(out, in);
	int64_t active = klog_segment_base(l, klog_segment_count(l) - 1);
	ck_assert_int_eq(kclean_checkpoint(c, "compacted", 0), active);
	read_all(l, &after);
	check_cleaned(&before, &after, active, 5);
	/* nothing dirty now */
	ck_assert_int_eq(kclean_offer(c, l, "compacted", 0, INT64_MAX, NOW), 0);
	/* a cleaning forgotten half-way leaves no file and no checkpoint move */
	fill(l, 40, 5, NOW - 50000);
	ck_assert_int_eq(kclean_offer(c, l, "compacted", 0, INT64_MAX, NOW), 1);
	kclean_forget(c, l, "compacted", 0, false);
	ck_assert_int_eq(count_files(".cleaned"), 0);
	ck_assert_int_eq(kclean_checkpoint(c, "compacted", 0), active);
	event_base_loop(base, EVLOOP_NONBLOCK);
	kclean_free(c);
	/* the checkpoint file, in Kafka's format, read back by a new cleaner */
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", tdir, KCLEAN_CKPT_NAME);
	struct kckpt_offset *ck = NULL;
	size_t nck = 0;
	ck_assert_int_eq(kckpt_offsets_read(path, &ck, &nck, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(nck, 1);
	ck_assert_str_eq(ck[0].topic, "compacted");
	ck_assert_int_eq(ck[0].offset, active);
	free(ck);
	ck_assert_int_eq(kclean_new(base, tdir, &co, &c, eb, sizeof(eb)), 0);
	ck_assert_int_eq(kclean_checkpoint(c, "compacted", 0), active);
	kclean_forget(c, l, "compacted", 0, true); /* topic deleted */
	ck_assert_int_eq(kclean_checkpoint(c, "compacted", 0), -1);
	kclean_free(c);
	event_base_free(base);
	klog_close(l);
}
END_TEST


/* Aborted transactions (KIP-98): a transactional batch inside an aborted transaction is dropped
 * and does not supersede the key's earlier committed value; a committed one does; the markers
 * stay. */
START_TEST(t_aborted_transactions)
{
	struct klog_opts o = copts(400);
	struct klog *l = open_log(&o);
	int64_t ts = NOW - 10000;
	int k1[1] = { 1 }, k2[1] = { 2 };
	int64_t v1 = put(l, 1, k1, NULL, 1, ts);      /* k1 = v1, plain */
	int64_t v2 = put(l, 1, k2, NULL, 2, ts);      /* k2 = v2, plain */
	/* producer 7's transaction writes k1 and is aborted; producer 8's writes k2 and commits */
	struct kbatch_rec r1 = { "k1", 2, "aborted", 7, 0, NULL, 0 }, r2 = { "k2", 2, "committed", 9, 0, NULL, 0 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t a = kbatch_build(&w, 0, ts, &r1, 1);
	size_t b = kbatch_build(&w, 0, ts, &r2, 1);
	for (int i = 0; i < 2; i++) {
		uint8_t *p = w.p + (i ? a : 0);
		p[KBATCH_OFF_ATTRIBUTES + 1] = KBATCH_TRANSACTIONAL;
		memset(p + KBATCH_OFF_PRODUCER_ID, 0, 8);
		p[KBATCH_OFF_PRODUCER_ID + 7] = (uint8_t)(7 + i);
		p[51] = p[52] = 0;
		memset(p + 53, 0, 4);
		kbatch_update_crc(p, i ? b : a);
	}
	size_t m1 = kbatch_build_marker(&w, 7, 0, 0, false, ts);
	size_t m2 = kbatch_build_marker(&w, 8, 0, 0, true, ts);
	int64_t first = -1;
	char eb[256] = "";
	ck_assert_msg(klog_append(l, w.p, a + b + m1 + m2, 1, false, ts, &first, eb, sizeof(eb)) == 0, "%s", eb);
	int64_t tx7 = first, tx8 = first + 1, mk7 = first + 2, mk8 = first + 3;
	wbuf_free(&w);
	fill(l, 8, 1, ts + 100); /* key 0 only: rolls past them */
	/* the cleaner is told of the abort, as the replica manager tells it (the .txnindex's) */
	struct ktxnidx *x = ktxnidx_new();
	struct ktxnidx_entry e = { 7, tx7, mk7, mk7 + 1 };
	ck_assert_int_eq(ktxnidx_add(x, &e), 0);
	struct kclean_task *t = NULL;
	ck_assert_msg(kclean_task_plan(l, -1, INT64_MAX, NOW, 1 << 20, &t, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(kclean_task_set_aborted(t, x), 0);
	ck_assert_msg(kclean_task_run(t, NULL) == 0, "%s", t->err);
	ck_assert_msg(kclean_task_install(l, t, NULL, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	ck_assert_int_gt(t->cleaned_upto, mk8);
	kclean_task_free(t);
	ktxnidx_free(x);
	static struct recs rs;
	read_all(l, &rs);
	ck_assert_ptr_nonnull(find_off(&rs, v1)); /* not superseded by the aborted write */
	ck_assert_ptr_null(find_off(&rs, tx7));	  /* the aborted record is gone */
	ck_assert_ptr_null(find_off(&rs, v2));	  /* superseded by the committed one */
	ck_assert_ptr_nonnull(find_off(&rs, tx8));
	klog_close(l);
}
END_TEST

/* Appends to w one transactional batch of producer pid (epoch 0) holding record "k<key>" =
 * value; returns its size. */
static size_t txn_batch(struct wbuf *w, int key, const char *value, int64_t pid, int64_t ts)
{
	char k[16];
	int kl = snprintf(k, sizeof(k), "k%d", key);
	struct kbatch_rec r = { k, kl, value, (int32_t)strlen(value), 0, NULL, 0 };
	size_t at = w->len;
	size_t sz = kbatch_build(w, 0, ts, &r, 1);
	ck_assert_uint_gt(sz, 0);
	uint8_t *p = w->p + at;
	p[KBATCH_OFF_ATTRIBUTES + 1] = KBATCH_TRANSACTIONAL;
	for (int i = 0; i < 8; i++)
		p[KBATCH_OFF_PRODUCER_ID + i] = (uint8_t)((uint64_t)pid >> (56 - 8 * i));
	p[51] = p[52] = 0;	/* producer epoch 0 */
	memset(p + 53, 0, 4); /* base sequence 0 */
	kbatch_update_crc(p, sz);
	return sz;
}

/* Writes, at timestamp ts: producer 7's transaction (k1, then superseded by a plain write),
 * producer 8's (k2, never superseded), both committed, and producer 9's (k3) aborted, each
 * followed by its marker; then rolls past them with key 0. *mk gets the three markers'
 * offsets, *data the three transactional records'. Returns the .txnindex of the abort. */
static struct ktxnidx *three_transactions(struct klog *l, int64_t ts, int64_t mk[3], int64_t data[3])
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t n = txn_batch(&w, 1, "tx7", 7, ts);
	n += txn_batch(&w, 2, "tx8", 8, ts);
	n += txn_batch(&w, 3, "tx9", 9, ts);
	n += kbatch_build_marker(&w, 7, 0, 0, true, ts);
	n += kbatch_build_marker(&w, 8, 0, 0, true, ts);
	n += kbatch_build_marker(&w, 9, 0, 0, false, ts);
	int64_t first = -1;
	char eb[256] = "";
	ck_assert_msg(klog_append(l, w.p, n, 1, false, ts, &first, eb, sizeof(eb)) == 0, "%s", eb);
	wbuf_free(&w);
	for (int i = 0; i < 3; i++) {
		data[i] = first + i;
		mk[i] = first + 3 + i;
	}
	int k1[1] = { 1 };
	put(l, 1, k1, NULL, 70, ts); /* supersedes producer 7's record */
	fill(l, 8, 1, ts + 100);
	struct ktxnidx *x = ktxnidx_new();
	struct ktxnidx_entry e = { 9, data[2], mk[2], mk[2] + 1 };
	ck_assert_int_eq(ktxnidx_add(x, &e), 0);
	return x;
}

static void clean_with_aborts(struct klog *l, const struct ktxnidx *x, int64_t *markers_dropped)
{
	struct kclean_task *t = NULL;
	char eb[256] = "";
	ck_assert_msg(kclean_task_plan(l, -1, INT64_MAX, NOW, 1 << 20, &t, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(kclean_task_set_aborted(t, x), 0);
	ck_assert_msg(kclean_task_run(t, NULL) == 0, "%s", t->err);
	ck_assert_msg(kclean_task_install(l, t, NULL, NULL, eb, sizeof(eb)) == 0, "%s", eb);
	*markers_dropped = t->markers_dropped;
	kclean_task_free(t);
}

/* Transaction markers (Kafka's CleanedTransactionMetadata): once delete.retention.ms has
 * passed, a marker goes when no record of its transaction is left before it (producer 7's
 * record was superseded, producer 9's aborted one dropped) and stays while one is (producer
 * 8's); within delete.retention.ms every marker stays. */
START_TEST(t_transaction_markers)
{
	struct klog_opts o = copts(400);
	struct klog *l = open_log(&o);
	int64_t mk[3], data[3], dropped = -1;
	struct ktxnidx *x = three_transactions(l, NOW - 2 * o.delete_retention_ms, mk, data);
	clean_with_aborts(l, x, &dropped);
	static struct recs rs;
	read_all(l, &rs);
	ck_assert_ptr_null(find_off(&rs, data[0]));
	ck_assert_ptr_nonnull(find_off(&rs, data[1]));
	ck_assert_ptr_null(find_off(&rs, data[2]));
	ck_assert_ptr_null(find_off(&rs, mk[0]));    /* nothing of producer 7's transaction left */
	ck_assert_ptr_nonnull(find_off(&rs, mk[1])); /* producer 8's record still needs it */
	ck_assert_ptr_null(find_off(&rs, mk[2]));    /* the aborted records are gone */
	ck_assert_int_eq(dropped, 2);
	/* cleaned again: what stays, stays */
	clean_with_aborts(l, x, &dropped);
	read_all(l, &rs);
	ck_assert_ptr_nonnull(find_off(&rs, data[1]));
	ck_assert_ptr_nonnull(find_off(&rs, mk[1]));
	ck_assert_int_eq(dropped, 0);
	ktxnidx_free(x);
	klog_close(l);
}
END_TEST

START_TEST(t_transaction_markers_within_horizon)
{
	struct klog_opts o = copts(400);
	struct klog *l = open_log(&o);
	int64_t mk[3], data[3], dropped = -1;
	struct ktxnidx *x = three_transactions(l, NOW - 10000, mk, data);
	clean_with_aborts(l, x, &dropped);
	static struct recs rs;
	read_all(l, &rs);
	ck_assert_ptr_null(find_off(&rs, data[0]));
	ck_assert_ptr_null(find_off(&rs, data[2]));
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(find_off(&rs, mk[i]));
	ck_assert_int_eq(dropped, 0);
	ktxnidx_free(x);
	klog_close(l);
}
END_TEST

static Suite *kclean_suite(void)
{
	Suite *s = suite_create("kclean");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_aborted_transactions);
	tcase_add_test(tc, t_transaction_markers);
	tcase_add_test(tc, t_transaction_markers_within_horizon);
	tcase_add_test(tc, t_last_per_key);
	tcase_add_test(tc, t_batches_keep_offsets);
	tcase_add_test(tc, t_active_untouched);
	tcase_add_test(tc, t_tombstones);
	tcase_add_test(tc, t_min_lag);
	tcase_add_test(tc, t_dirty_ratio);
	tcase_add_test(tc, t_map_full);
	tcase_add_test(tc, t_reads_find_next_offset);
	tcase_add_test(tc, t_merges_segments);
	tcase_add_test(tc, t_compact_only_not_deleted);
	tcase_add_test(tc, t_changed_meanwhile);
	tcase_add_loop_test(tc, t_crash_at_each_step, -1, KLOG_SWAP_DONE + 1);
	tcase_add_test(tc, t_recovery_manual_swap);
	tcase_add_test(tc, t_manager);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kclean_suite());
}

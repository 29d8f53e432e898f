/*
 * Unit tests for klog: offsets assigned across appends (a Produce buffer of three batches),
 * reads by an offset inside a batch, max_bytes (KIP-74) and the high watermark, roll by size and
 * by age, retention by time and by bytes, reopen after a clean close, crash recovery (garbage,
 * a partial batch, a zero-filled tail, a flipped bit) with appends continuing at the right
 * offset, a corrupt or missing index rebuilt, offset_for_time, truncate_to, replica appends,
 * LogAppendTime, a .log file with a bad name refused without touching anything, and the flush
 * policy's fsyncs on an fsync worker (common/fsyncq): pending until the worker reports them,
 * reported in order, and released by close.
 */
#include "buf.h"
#include "err.h"
#include "fsyncq.h"
#include "kbatch.h"
#include "klog.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[128];
static char ldir[192];

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-klog"));
	snprintf(ldir, sizeof(ldir), "%s/topic-0", tdir);
	log_set_quiet_stderr(getenv("KLOG_VERBOSE") ? 0 : 1);
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

static struct klog_opts test_opts(void)
{
	struct klog_opts o;
	klog_opts_default(&o);
	o.roll_ms = -1;
	o.retention_ms = -1;
	o.test_no_fsync = true;
	return o;
}

/* Appends nb batches of nrec records (value of vsize bytes, timestamps ts + i) to w. */
static size_t build(struct wbuf *w, int nb, int nrec, int vsize, int64_t ts)
{
	static char val[4096];
	struct kbatch_rec recs[256];
	size_t total = 0;
	memset(val, 'v', sizeof(val));
	ck_assert_int_le(nrec, 256);
	for (int b = 0; b < nb; b++) {
		for (int i = 0; i < nrec; i++)
			recs[i] = (struct kbatch_rec){ "key", 3, val, vsize, i, NULL, 0 };
		size_t n = kbatch_build(w, 0, ts, recs, nrec);
		ck_assert_uint_gt(n, 0);
		total += n;
	}
	return total;
}

static int64_t append(struct klog *l, int nb, int nrec, int vsize, int64_t ts, int64_t now)
{
	struct wbuf w;
	char eb[256] = "";
	int64_t first = -1;
	wbuf_init(&w, 64 << 20);
	size_t n = build(&w, nb, nrec, vsize, ts);
	ck_assert_int_eq(klog_append(l, w.p, n, 3, false, now, &first, eb, sizeof(eb)), 0);
	wbuf_free(&w);
	return first;
}

struct slice_info {
	int batches;
	int64_t first_base;
	int64_t last_offset;
	size_t len;
};

/* Reads a slice back, checks it is whole valid batches, closes its fd. */
static struct slice_info slice_check(struct klog_slice *s)
{
	struct slice_info si = { 0, -1, -1, s->len };
	if (s->len == 0) {
		ck_assert_int_eq(s->fd, -1);
		return si;
	}
	ck_assert_int_ge(s->fd, 0);
	uint8_t *b = malloc(s->len);
	ck_assert_int_eq(pread(s->fd, b, s->len, s->pos), (ssize_t)s->len);
	close(s->fd);
	size_t pos = 0;
	while (pos < s->len) {
		struct kbatch_hdr h;
		char eb[256];
		ck_assert_uint_ge(s->len - pos, 12);
		size_t bsz = kbatch_size_of(b + pos);
		ck_assert_uint_le(bsz, s->len - pos);
		ck_assert_msg(kbatch_validate(b + pos, bsz, &h, eb, sizeof(eb)) == 0, "%s", eb);
		if (si.batches == 0)
			si.first_base = h.base_offset;
		ck_assert(si.last_offset < h.base_offset);
		si.last_offset = h.base_offset + h.last_offset_delta;
		si.batches++;
		pos += bsz;
	}
	free(b);
	return si;
}

static struct slice_info rd(struct klog *l, int64_t off, size_t max, int64_t upto)
{
	struct klog_slice s;
	char eb[256] = "";
	ck_assert_msg(klog_read(l, off, max, upto, &s, eb, sizeof(eb)) == 0, "%s", eb);
	return slice_check(&s);
}

static int64_t file_size(const char *name)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", ldir, name);
	if (stat(path, &st))
		return -1;
	return st.st_size;
}

START_TEST(test_offsets_and_read)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	ck_assert_msg(klog_open(ldir, &o, 1000, &l, eb, sizeof(eb)) == 0, "%s", eb);
	ck_assert(klog_start_offset(l) == 0 && klog_end_offset(l) == 0);
	ck_assert_int_eq(file_size("00000000000000000000.log"), 0);

	/* a Produce buffer of 3 batches of 5 records, twice */
	ck_assert(append(l, 3, 5, 100, 1000, 1000) == 0);
	ck_assert(klog_end_offset(l) == 15);
	ck_assert(append(l, 3, 5, 100, 1001, 1001) == 15);
	ck_assert(klog_end_offset(l) == 30);

	/* an offset inside a batch returns that batch first */
	struct slice_info si = rd(l, 7, 1, 30);
	ck_assert_int_eq(si.batches, 1);
	ck_assert(si.first_base == 5 && si.last_offset == 9);
	si = rd(l, 0, 1 << 20, 30);
	ck_assert_int_eq(si.batches, 6);
	ck_assert(si.first_base == 0 && si.last_offset == 29);
	ck_assert_int_eq((int64_t)si.len, file_size("00000000000000000000.log"));
	si = rd(l, 29, 1 << 20, 30);
	ck_assert(si.batches == 1 && si.first_base == 25);

	/* end offset: nothing; beyond: out of range */
	struct klog_slice s;
	ck_assert_int_eq(klog_read(l, 30, 1 << 20, 30, &s, eb, sizeof(eb)), 0);
	ck_assert(s.len == 0 && s.fd == -1);
	ck_assert_int_eq(klog_read(l, 31, 1 << 20, 30, &s, eb, sizeof(eb)), ERR_RANGE);
	ck_assert_int_eq(klog_read(l, -1, 1 << 20, 30, &s, eb, sizeof(eb)), ERR_RANGE);

	/* leader epoch and offsets are in the stored bytes */
	ck_assert_int_eq(klog_read(l, 12, 1, 30, &s, eb, sizeof(eb)), 0);
	uint8_t hdr[KBATCH_HDR_SIZE];
	struct kbatch_hdr h;
	ck_assert_int_eq(pread(s.fd, hdr, sizeof(hdr), s.pos), (ssize_t)sizeof(hdr));
	close(s.fd);
	ck_assert_int_eq(kbatch_parse_hdr(hdr, sizeof(hdr), &h), 0);
	ck_assert(h.base_offset == 10 && h.leader_epoch == 3);
	ck_assert_int_eq(h.attributes & KBATCH_LOG_APPEND_TIME, 0);
	klog_close(l);
}
END_TEST

START_TEST(test_max_bytes_and_upto)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.index_interval_bytes = 1000; /* index entries every few batches */
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	/* 40 batches of 2 records of 200 bytes: each batch ~480 bytes */
	for (int i = 0; i < 40; i++)
		append(l, 1, 2, 200, 1000 + i, 1000 + i);
	ck_assert(klog_end_offset(l) == 80);
	struct slice_info one = rd(l, 0, 1, 80);
	size_t bsz = one.len;
	ck_assert_int_eq(one.batches, 1);

	/* KIP-74: at least one batch even when max_bytes is smaller */
	ck_assert_int_eq(rd(l, 31, 10, 80).batches, 1);
	ck_assert(rd(l, 31, 10, 80).first_base == 30);
	/* max_bytes: whole batches only */
	struct slice_info si = rd(l, 10, bsz * 5 / 2, 80);
	ck_assert_int_eq(si.batches, 2);
	ck_assert(si.first_base == 10 && si.last_offset == 13);
	si = rd(l, 10, bsz * 10, 80);
	ck_assert_int_eq(si.batches, 10);
	/* high watermark: nothing at or beyond it */
	si = rd(l, 10, 1 << 20, 20);
	ck_assert(si.batches == 5 && si.last_offset == 19);
	si = rd(l, 10, 1 << 20, 21); /* mid-batch watermark: the batch 20..21 is not whole below it */
	ck_assert(si.batches == 5 && si.last_offset == 19);
	ck_assert_int_eq(rd(l, 20, 1 << 20, 20).batches, 0);
	ck_assert_int_eq(rd(l, 21, 1 << 20, 21).batches, 0);
	/* every offset finds its batch (index + header scan) */
	for (int64_t off = 0; off < 80; off++) {
		si = rd(l, off, 1, 80);
		ck_assert(si.first_base == off - off % 2);
	}
	klog_close(l);
}
END_TEST

START_TEST(test_roll_by_size)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t bsz = build(&w, 1, 4, 100, 0);
	wbuf_free(&w);
	o.segment_bytes = (int64_t)bsz * 3; /* 3 batches per segment */
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 10; i++)
		ck_assert(append(l, 1, 4, 100, i, i) == 4 * i);
	ck_assert_int_eq(klog_segment_count(l), 4);
	ck_assert(klog_segment_base(l, 1) == 12 && klog_segment_base(l, 3) == 36);
	ck_assert_int_eq(file_size("00000000000000000012.log"), (int64_t)bsz * 3);
	ck_assert_int_eq(file_size("00000000000000000036.log"), (int64_t)bsz);
	ck_assert_int_eq(file_size("00000000000000000024.index"), 0);
	ck_assert_int_ge(file_size("00000000000000000024.timeindex"), 12); /* final entry at roll */
	ck_assert_uint_eq(klog_size_bytes(l), bsz * 10);
	/* a read never spans segments; the next read continues */
	struct slice_info si = rd(l, 4, 1 << 20, 40);
	ck_assert(si.batches == 2 && si.last_offset == 11);
	si = rd(l, 12, 1 << 20, 40);
	ck_assert(si.batches == 3 && si.first_base == 12);
	/* a Produce buffer bigger than the room left goes whole into a new segment */
	ck_assert(append(l, 3, 4, 100, 20, 20) == 40);
	ck_assert_int_eq(klog_segment_count(l), 5);
	ck_assert(klog_segment_base(l, 4) == 40);
	klog_close(l);
}
END_TEST

START_TEST(test_roll_by_age)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.roll_ms = 1000;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	append(l, 1, 2, 10, 0, 0);
	append(l, 1, 2, 10, 500, 500);
	ck_assert_int_eq(klog_segment_count(l), 1);
	append(l, 1, 2, 10, 1500, 1500); /* the first batch is 1500 ms old: roll first */
	ck_assert_int_eq(klog_segment_count(l), 2);
	ck_assert(klog_segment_base(l, 1) == 4);
	/* housekeeping rolls an old active segment without an append */
	ck_assert_int_eq(klog_housekeep(l, 2000), 0);
	ck_assert_int_eq(klog_segment_count(l), 2);
	ck_assert_int_eq(klog_housekeep(l, 2600), 0);
	ck_assert_int_eq(klog_segment_count(l), 3);
	ck_assert(klog_segment_base(l, 2) == 6 && klog_end_offset(l) == 6);
	/* an empty active segment never rolls */
	ck_assert_int_eq(klog_housekeep(l, 99999), 0);
	ck_assert_int_eq(klog_segment_count(l), 3);
	klog_close(l);
}
END_TEST

START_TEST(test_retention_time)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 1; /* every append rolls */
	o.retention_ms = 10000;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 5; i++)
		append(l, 1, 3, 10, 1000 * i, 1000 * i); /* segment i: timestamps 1000i..1000i+2 */
	ck_assert_int_eq(klog_segment_count(l), 5);
	ck_assert_int_eq(klog_housekeep(l, 10002), 0);
	ck_assert_int_eq(klog_housekeep(l, 10003), 1); /* segment 0 newest ts 2: 10001 ms old */
	ck_assert(klog_start_offset(l) == 3);
	ck_assert_int_eq(file_size("00000000000000000000.log"), -1);
	ck_assert_int_eq(file_size("00000000000000000000.index"), -1);
	struct klog_slice s;
	ck_assert_int_eq(klog_read(l, 2, 100, 15, &s, eb, sizeof(eb)), ERR_RANGE);
	ck_assert(rd(l, 3, 100, 15).first_base == 3);
	/* never the active segment */
	ck_assert_int_eq(klog_housekeep(l, 1000000), 3);
	ck_assert_int_eq(klog_segment_count(l), 1);
	ck_assert(klog_start_offset(l) == 12 && klog_end_offset(l) == 15);
	klog_close(l);
}
END_TEST

START_TEST(test_retention_bytes)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t bsz = build(&w, 1, 2, 100, 0);
	wbuf_free(&w);
	o.segment_bytes = (int64_t)bsz * 2;
	o.retention_bytes = (int64_t)bsz * 5;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 9; i++)
		append(l, 1, 2, 100, i, i);
	ck_assert_int_eq(klog_segment_count(l), 5); /* 2+2+2+2+1 batches */
	/* 9 batches > 5: drop whole oldest segments while what stays is >= 5 batches */
	ck_assert_int_eq(klog_housekeep(l, 100), 2);
	ck_assert_uint_eq(klog_size_bytes(l), bsz * 5);
	ck_assert(klog_start_offset(l) == 8);
	ck_assert_int_eq(klog_housekeep(l, 100), 0);
	klog_close(l);
}
END_TEST

static uint8_t *slurp(const char *name, size_t *n)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", ldir, name);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	uint8_t *b = malloc(1 << 22);
	*n = fread(b, 1, 1 << 22, f);
	fclose(f);
	return b;
}

static void spit(const char *name, const void *p, size_t n, const char *mode)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", ldir, name);
	FILE *f = fopen(path, mode);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}


/* Every entry of <base>.index points at a batch whose last offset it names, and every entry of
 * <base>.timeindex names the last offset of a batch with that max timestamp; both ascend. */
static void check_index(int64_t base)
{
	char name[64];
	size_t ln, in, tn;
	snprintf(name, sizeof(name), "%020lld.log", (long long)base);
	uint8_t *log = slurp(name, &ln);
	snprintf(name, sizeof(name), "%020lld.index", (long long)base);
	uint8_t *idx = slurp(name, &in);
	snprintf(name, sizeof(name), "%020lld.timeindex", (long long)base);
	uint8_t *tidx = slurp(name, &tn);
	ck_assert_uint_eq(in % 8, 0);
	ck_assert_uint_eq(tn % 12, 0);
	for (size_t i = 0; i < in; i += 8) {
		uint32_t rel = be32_get(idx + i), pos = be32_get(idx + i + 4);
		struct kbatch_hdr h;
		ck_assert_uint_lt(pos, ln);
		ck_assert_int_eq(kbatch_parse_hdr(log + pos, ln - pos, &h), 0);
		ck_assert(h.base_offset + h.last_offset_delta == base + rel);
		if (i)
			ck_assert_uint_gt(pos, be32_get(idx + i - 4));
	}
	for (size_t i = 0; i < tn; i += 12) {
		int64_t ts = (int64_t)(((uint64_t)be32_get(tidx + i) << 32) | be32_get(tidx + i + 4));
		int64_t off = base + be32_get(tidx + i + 8);
		bool found = false;
		for (size_t pos = 0; pos + 61 <= ln; pos += kbatch_size_of(log + pos)) {
			struct kbatch_hdr h;
			ck_assert_int_eq(kbatch_parse_hdr(log + pos, ln - pos, &h), 0);
			if (h.base_offset + h.last_offset_delta == off) {
				ck_assert(h.max_timestamp == ts);
				found = true;
				break;
			}
		}
		ck_assert(found);
	}
	free(log);
	free(idx);
	free(tidx);
}

START_TEST(test_reopen)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 20000;
	o.index_interval_bytes = 600;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 100; i++)
		append(l, 1 + i % 3, 1 + i % 5, 50 + i, 1000 + i, 1000 + i);
	int nseg = klog_segment_count(l);
	int64_t end = klog_end_offset(l);
	size_t size = klog_size_bytes(l);
	ck_assert_int_ge(nseg, 3);
	size_t in;
	uint8_t *idx0 = slurp("00000000000000000000.index", &in);
	ck_assert_uint_gt(in, 0);
	struct slice_info *before = calloc((size_t)end, sizeof(*before));
	for (int i = 0; i < nseg; i++)
		check_index(klog_segment_base(l, i));
	for (int64_t off = 0; off < end; off++)
		before[off] = rd(l, off, 3000, end);
	klog_close(l);

	ck_assert_int_eq(klog_open(ldir, &o, 5000, &l, eb, sizeof(eb)), 0);
	ck_assert_int_eq(klog_segment_count(l), nseg);
	ck_assert(klog_end_offset(l) == end && klog_start_offset(l) == 0);
	ck_assert_uint_eq(klog_size_bytes(l), size);
	size_t in2;
	uint8_t *idx1 = slurp("00000000000000000000.index", &in2);
	ck_assert_uint_eq(in, in2);
	ck_assert_mem_eq(idx0, idx1, in);
	for (int64_t off = 0; off < end; off++) {
		struct slice_info si = rd(l, off, 3000, end);
		ck_assert(si.first_base == before[off].first_base && si.len == before[off].len);
	}
	ck_assert(append(l, 1, 1, 10, 9000, 9000) == end);
	ck_assert(klog_offset_for_time(l, 1050, NULL) > 0);
	klog_close(l);
	free(before);
	free(idx0);
	free(idx1);
}
END_TEST

/* Crash recovery: each kind of damaged tail is cut off, indexes rebuilt, appends continue. */
START_TEST(test_recovery_tails)
{
	static const char *kinds[] = { "garbage", "partial", "zeros", "flipped", "header-only" };
	for (int k = 0; k < 5; k++) {
		struct klog_opts o = test_opts();
		struct klog *l;
		char eb[256] = "";
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", ldir);
		ck_assert_int_eq(system(cmd), 0);
		o.index_interval_bytes = 300;
		ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
		for (int i = 0; i < 20; i++)
			append(l, 1, 3, 100, i, i);
		int64_t good_size = (int64_t)klog_size_bytes(l);
		klog_close(l);
		size_t idx_len;
		free(slurp("00000000000000000000.index", &idx_len));

		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		size_t bsz = build(&w, 2, 3, 100, 50);
		kbatch_set_base_offset(w.p, 60);
		kbatch_set_base_offset(w.p + bsz / 2, 63);
		int64_t expect_end = 60;
		if (k == 0) {
			spit("00000000000000000000.log", "this is not a batch at all, not at all!!", 40, "ab");
		} else if (k == 1) {
			spit("00000000000000000000.log", w.p, bsz - 7, "ab");
			expect_end = 63; /* first appended batch whole, second partial */
		} else if (k == 2) {
			static const uint8_t z[8192];
			spit("00000000000000000000.log", z, sizeof(z), "ab");
		} else if (k == 3) {
			w.p[bsz / 2 + 100] ^= 4; /* second appended batch fails its CRC */
			spit("00000000000000000000.log", w.p, bsz, "ab");
			expect_end = 63;
		} else {
			spit("00000000000000000000.log", w.p, 61, "ab");
		}
		wbuf_free(&w);
		/* and a stale index claiming more than the log has */
		spit("00000000000000000000.index", "\x00\x00\x00\x50\x00\x01\x00\x00", 8, "ab");

		ck_assert_msg(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)) == 0, "%s: %s", kinds[k], eb);
		ck_assert_msg(klog_end_offset(l) == expect_end, "%s: end %lld", kinds[k], (long long)klog_end_offset(l));
		int64_t want = good_size + (expect_end == 63 ? (int64_t)bsz / 2 : 0);
		ck_assert_int_eq(file_size("00000000000000000000.log"), want);
		size_t idx_len2;
		free(slurp("00000000000000000000.index", &idx_len2));
		ck_assert_uint_ge(idx_len2, idx_len); /* the stale entry is gone, the rest rebuilt */
		ck_assert_uint_le(idx_len2, idx_len + 8);
		check_index(0);
		for (int64_t off = 0; off < expect_end; off++)
			ck_assert(rd(l, off, 1, expect_end).last_offset >= off);
		ck_assert(append(l, 1, 2, 10, 100, 100) == expect_end);
		ck_assert(rd(l, expect_end, 1 << 20, expect_end + 2).first_base == expect_end);
		klog_close(l);
		ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
		ck_assert(klog_end_offset(l) == expect_end + 2);
		klog_close(l);
	}
}
END_TEST

/* Damage inside an older segment's batches is refused (never truncated: later segments hold
 * acknowledged data); damage in its index is rebuilt. */
START_TEST(test_corrupt_index_rebuilt)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 8000;
	o.index_interval_bytes = 500;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 60; i++)
		append(l, 1, 2, 150, 100 + i, 100 + i);
	ck_assert_int_ge(klog_segment_count(l), 3);
	int64_t end = klog_end_offset(l);
	klog_close(l);
	size_t n, tn;
	uint8_t *idx = slurp("00000000000000000000.index", &n);
	uint8_t *tidx = slurp("00000000000000000000.timeindex", &tn);
	ck_assert_uint_ge(n, 16);

	for (int k = 0; k < 4; k++) {
		if (k == 0) {
			spit("00000000000000000000.index", "junk!", 5, "wb"); /* size not a multiple of 8 */
		} else if (k == 1) {
			uint8_t bad[16];
			memcpy(bad, idx + 8, 8);
			memcpy(bad + 8, idx, 8); /* not ascending */
			spit("00000000000000000000.index", bad, 16, "wb");
		} else if (k == 2) {
			char path[300];
			snprintf(path, sizeof(path), "%s/00000000000000000000.index", ldir);
			unlink(path);
			snprintf(path, sizeof(path), "%s/00000000000000000000.timeindex", ldir);
			unlink(path);
		} else {
			uint8_t bad[12];
			memset(bad, 0x7f, sizeof(bad)); /* points past the segment */
			spit("00000000000000000000.timeindex", bad, sizeof(bad), "ab");
		}
		ck_assert_msg(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)) == 0, "%d: %s", k, eb);
		ck_assert(klog_end_offset(l) == end);
		size_t n2, tn2;
		uint8_t *idx2 = slurp("00000000000000000000.index", &n2);
		uint8_t *tidx2 = slurp("00000000000000000000.timeindex", &tn2);
		ck_assert_uint_eq(n2, n);
		ck_assert_mem_eq(idx, idx2, n);
		ck_assert_uint_eq(tn2, tn);
		ck_assert_mem_eq(tidx, tidx2, tn);
		free(idx2);
		free(tidx2);
		for (int64_t off = 0; off < end; off++)
			ck_assert(rd(l, off, 1, end).first_base == off - off % 2);
		ck_assert(klog_offset_for_time(l, 110, NULL) == 19); /* batch 9: timestamps 109, 110 */
		check_index(0);
		klog_close(l);
	}

	/* a bad batch inside an older segment whose index must be rebuilt: refuse to open */
	spit("00000000000000000000.index", "junk!", 5, "wb");
	char path[300];
	snprintf(path, sizeof(path), "%s/00000000000000000000.log", ldir);
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\xff\xff\xff\xff", 4, (off_t)be32_get(idx + 4) + 8), 4); /* a batchLength */
	close(fd);
	int64_t sz = file_size("00000000000000000000.log");
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(eb, "00000000000000000000.log"));
	ck_assert_int_eq(file_size("00000000000000000000.log"), sz);
	free(idx);
	free(tidx);
}
END_TEST

START_TEST(test_bad_file_name)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	append(l, 1, 1, 10, 0, 0);
	klog_close(l);
	spit("123.log", "x", 1, "wb");
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(eb, "123.log"));
	ck_assert_int_eq(file_size("123.log"), 1);
	ck_assert_int_gt(file_size("00000000000000000000.log"), 0);
	/* a parent that does not exist */
	ck_assert_int_eq(klog_open("/nonexistent-samsa/x-0", &o, 0, &l, eb, sizeof(eb)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(eb, "/nonexistent-samsa/x-0"));
}
END_TEST

START_TEST(test_offset_for_time)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 3000;
	o.index_interval_bytes = 200;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	/* batch i: 4 records with timestamps 100*i + 0..3 (so offsets 4i..4i+3) */
	for (int i = 0; i < 30; i++)
		append(l, 1, 4, 100, 100 * i, 100 * i);
	ck_assert_int_gt(klog_segment_count(l), 2);
	ck_assert(klog_offset_for_time(l, 0, NULL) == 0);
	ck_assert(klog_offset_for_time(l, -5, NULL) == 0);
	ck_assert(klog_offset_for_time(l, 1, NULL) == 1);
	ck_assert(klog_offset_for_time(l, 502, NULL) == 22);
	ck_assert(klog_offset_for_time(l, 550, NULL) == 24); /* between batches: the next batch */
	ck_assert(klog_offset_for_time(l, 2903, NULL) == 119);
	ck_assert(klog_offset_for_time(l, 2904, NULL) == -1);
	for (int64_t ts = 0; ts < 2904; ts += 7) {
		int64_t want = ts % 100 < 4 ? (ts / 100) * 4 + ts % 100 : (ts / 100 + 1) * 4;
		int64_t want_ts = ts % 100 < 4 ? ts : (ts / 100 + 1) * 100, got_ts = -2;
		ck_assert_msg(klog_offset_for_time(l, ts, &got_ts) == want, "ts %lld", (long long)ts);
		/* the found record's own timestamp, not the one asked for */
		ck_assert_msg(got_ts == want_ts, "ts %lld: record ts %lld", (long long)ts, (long long)got_ts);
	}
	int64_t none_ts = 0;
	ck_assert(klog_offset_for_time(l, 2904, &none_ts) == -1);
	ck_assert(none_ts == -1);
	/* LogAppendTime batches: the batch's base offset */
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t n = build(&w, 1, 3, 10, 1);
	int64_t first;
	ck_assert_int_eq(klog_append(l, w.p, n, 0, true, 5000, &first, eb, sizeof(eb)), 0);
	ck_assert(first == 120);
	int64_t lat_ts = 0;
	ck_assert(klog_offset_for_time(l, 4000, &lat_ts) == 120);
	ck_assert(lat_ts == 5000); /* every record carries the append time */
	struct klog_slice s;
	ck_assert_int_eq(klog_read(l, 121, 1, 200, &s, eb, sizeof(eb)), 0);
	uint8_t *b = malloc(s.len);
	struct kbatch_hdr h;
	ck_assert_int_eq(pread(s.fd, b, s.len, s.pos), (ssize_t)s.len);
	close(s.fd);
	ck_assert_int_eq(kbatch_validate(b, s.len, &h, eb, sizeof(eb)), 0);
	ck_assert(h.attributes & KBATCH_LOG_APPEND_TIME);
	ck_assert(h.max_timestamp == 5000);
	free(b);
	wbuf_free(&w);
	klog_close(l);
}
END_TEST

START_TEST(test_truncate_to)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 2000;
	o.index_interval_bytes = 300;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 40; i++)
		append(l, 1, 3, 60, i, i); /* batch i: offsets 3i..3i+2 */
	int nseg = klog_segment_count(l);
	ck_assert_int_ge(nseg, 4);
	int64_t b2 = klog_segment_base(l, 2);

	/* mid-batch: the whole batch goes */
	ck_assert_int_eq(klog_truncate_to(l, 100, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == 99);
	ck_assert_int_eq(klog_truncate_to(l, 500, eb, sizeof(eb)), 0); /* no-op */
	ck_assert(klog_end_offset(l) == 99);
	/* into an older segment: later segments deleted, it becomes active again */
	ck_assert_int_eq(klog_truncate_to(l, b2 + 3, eb, sizeof(eb)), 0);
	ck_assert_int_eq(klog_segment_count(l), 3);
	ck_assert(klog_end_offset(l) == b2 + 3);
	ck_assert(rd(l, b2, 1 << 20, 1000).last_offset == b2 + 2);
	ck_assert(append(l, 1, 3, 60, 1000, 1000) == b2 + 3);
	ck_assert(klog_offset_for_time(l, 1000, NULL) == b2 + 3);
	klog_close(l);
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == b2 + 6);
	ck_assert_int_eq(klog_segment_count(l), 3);
	/* to a segment boundary */
	int64_t b1 = klog_segment_base(l, 1);
	ck_assert_int_eq(klog_truncate_to(l, b1, eb, sizeof(eb)), 0);
	ck_assert_int_eq(klog_segment_count(l), 1);
	ck_assert(klog_end_offset(l) == b1);
	/* below the start: the log restarts there */
	ck_assert_int_eq(klog_truncate_to(l, 0, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == 0 && klog_start_offset(l) == 0);
	ck_assert_uint_eq(klog_size_bytes(l), 0);
	ck_assert(append(l, 1, 2, 10, 0, 0) == 0);
	klog_close(l);
}
END_TEST

START_TEST(test_replica_append)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t a = build(&w, 1, 4, 10, 0);
	build(&w, 1, 2, 10, 0);
	kbatch_set_base_offset(w.p, 0);
	kbatch_set_base_offset(w.p + a, 4);
	ck_assert_int_eq(klog_append_replica(l, w.p, w.len, 0, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == 6);
	/* going backwards is refused */
	ck_assert_int_eq(klog_append_replica(l, w.p, w.len, 0, eb, sizeof(eb)), ERR_INVAL);
	ck_assert(klog_end_offset(l) == 6);
	/* not whole batches */
	ck_assert_int_eq(klog_append(l, w.p, a - 1, 0, false, 0, NULL, eb, sizeof(eb)), ERR_INVAL);
	ck_assert_int_eq(klog_append(l, w.p, 0, 0, false, 0, NULL, eb, sizeof(eb)), ERR_INVAL);
	ck_assert(klog_end_offset(l) == 6);
	ck_assert_uint_eq(klog_size_bytes(l), w.len);
	wbuf_free(&w);
	klog_close(l);
}
END_TEST

START_TEST(test_remove)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.segment_bytes = 500;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 5; i++)
		append(l, 1, 3, 100, 0, 0);
	struct klog_slice s;
	ck_assert_int_eq(klog_read(l, 0, 100, 100, &s, eb, sizeof(eb)), 0);
	ck_assert_int_eq(klog_remove(l, eb, sizeof(eb)), 0);
	struct stat st;
	ck_assert_int_ne(stat(ldir, &st), 0);
	/* the reader's fd still serves the bytes */
	uint8_t hdr[12];
	ck_assert_int_eq(pread(s.fd, hdr, 12, s.pos), 12);
	close(s.fd);
}
END_TEST


/* A full offset index rolls the segment (Kafka's offsetIndex.isFull); real fsyncs per append. */
START_TEST(test_index_full_and_flush)
{
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.index_interval_bytes = 1; /* an entry for every batch but a segment's first */
	o.max_index_bytes = 48;	    /* 4 time index entries, 6 offset index entries */
	o.flush_messages = 1;
	o.test_no_fsync = false;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	for (int i = 0; i < 12; i++)
		ck_assert(append(l, 1, 1, 10, i, i) == i);
	/* segment 0 takes batches 0..4 (4 time index entries after the first), then it is full */
	ck_assert_int_ge(klog_segment_count(l), 2);
	ck_assert(klog_segment_base(l, 1) == 5);
	ck_assert_int_le(file_size("00000000000000000000.index"), 48);
	check_index(0);
	check_index(5);
	ck_assert_int_eq(klog_flush(l, eb, sizeof(eb)), 0);
	klog_close(l);
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == 12);
	klog_close(l);
}
END_TEST

struct flushed {
	int n;
	int64_t offsets[16];
	struct klog *l;
};

static void on_flushed(struct klog *l, int64_t offset, void *arg)
{
	struct flushed *f = arg;
	ck_assert_ptr_eq(l, f->l);
	ck_assert_int_lt(f->n, 16);
	f->offsets[f->n++] = offset;
}

static void wait_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the loop until n flushes were reported (10 s at most: a timer keeps the loop waiting
 * for the worker's event_active). */
static void wait_flushed(struct event_base *base, const struct flushed *f, int n)
{
	struct event *t = event_new(base, -1, EV_PERSIST, wait_tick, NULL);
	struct timeval tv = { 0, 10000 };
	ck_assert_ptr_nonnull(t);
	event_add(t, &tv);
	for (int i = 0; i < 1000 && f->n < n; i++)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

START_TEST(test_flush_on_worker)
{
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct fsyncq *fq = NULL;
	ck_assert_int_eq(fsyncq_new(base, &fq), 0);
	struct klog_opts o = test_opts();
	struct klog *l;
	char eb[256] = "";
	o.flush_messages = 3;
	o.test_no_fsync = false;
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	struct flushed f = { 0, { 0 }, l };
	klog_set_fsyncq(l, fq, on_flushed, &f);
	ck_assert(append(l, 1, 2, 10, 0, 0) == 0); /* 2 records: under the policy */
	ck_assert(klog_flush_pending(l) == -1);
	ck_assert(append(l, 1, 2, 10, 0, 0) == 2); /* 4: an fsync up to offset 4 is queued */
	ck_assert(klog_flush_pending(l) == 4);
	ck_assert_int_eq(f.n, 0); /* reported on the loop, not before */
	wait_flushed(base, &f, 1);
	ck_assert_int_eq(f.n, 1);
	ck_assert(f.offsets[0] == 4);
	ck_assert(klog_flush_pending(l) == -1);
	uint64_t reqs, syncs;
	fsyncq_stats(fq, &reqs, &syncs);
	ck_assert_uint_eq(reqs, 1);
	ck_assert_uint_eq(syncs, 1);
	/* two more flushes queued back to back: reported in order */
	ck_assert(append(l, 1, 3, 10, 0, 0) == 4);
	ck_assert(append(l, 1, 3, 10, 0, 0) == 7);
	ck_assert(klog_flush_pending(l) == 10);
	wait_flushed(base, &f, 3);
	ck_assert_int_eq(f.n, 3);
	ck_assert(f.offsets[1] == 7 && f.offsets[2] == 10);
	/* one in flight at close: close syncs and reports it; the worker's report never comes */
	ck_assert(append(l, 1, 3, 10, 0, 0) == 10);
	ck_assert(klog_flush_pending(l) == 13);
	klog_close(l);
	ck_assert_int_eq(f.n, 4);
	ck_assert(f.offsets[3] == 13);
	fsyncq_drain(fq);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(f.n, 4);
	/* reopened: everything is there */
	ck_assert_int_eq(klog_open(ldir, &o, 0, &l, eb, sizeof(eb)), 0);
	ck_assert(klog_end_offset(l) == 13);
	klog_close(l);
	fsyncq_free(fq);
	event_base_free(base);
}
END_TEST

static Suite *klog_suite(void)
{
	Suite *s = suite_create("klog");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_offsets_and_read);
	tcase_add_test(tc, test_max_bytes_and_upto);
	tcase_add_test(tc, test_roll_by_size);
	tcase_add_test(tc, test_roll_by_age);
	tcase_add_test(tc, test_retention_time);
	tcase_add_test(tc, test_retention_bytes);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_recovery_tails);
	tcase_add_test(tc, test_corrupt_index_rebuilt);
	tcase_add_test(tc, test_bad_file_name);
	tcase_add_test(tc, test_offset_for_time);
	tcase_add_test(tc, test_truncate_to);
	tcase_add_test(tc, test_replica_append);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_index_full_and_flush);
	tcase_add_test(tc, test_flush_on_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(klog_suite());
}

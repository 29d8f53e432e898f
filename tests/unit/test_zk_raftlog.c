/*
 * Unit tests for zk_raftlog: append/reopen round trip, truncate_from then append, a torn tail
 * cut at every byte of the last frame, a flipped bit, gaps and terms going backwards in the
 * file, hard state across reopen, compaction (also with a stale tail) and InstallSnapshot, a
 * compaction interrupted between its two renames, foreign files refused untouched, bad appends
 * refused without change, and a disk-write failure injected at every step of a sequence of
 * writes with a reopen that must give a consistent state each time.
 */
#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "raft.h"
#include "zk_raftlog.h"

#include "check_main.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[128];
static char rdir[192];

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-raftlog"));
	snprintf(rdir, sizeof(rdir), "%s/raft", tdir);
	log_set_quiet_stderr(getenv("RAFTLOG_VERBOSE") ? 0 : 1);
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

static struct zk_raftlog *must_open(const char *dir)
{
	struct zk_raftlog *l = NULL;
	char eb[512] = "";
	int rc = zk_raftlog_open(dir, &l, eb, sizeof(eb));
	ck_assert_msg(rc == 0, "open %s: %s", dir, eb);
	return l;
}

/* Entry index with term; its data is a deterministic function of (index, term). */
static uint8_t dbuf[64][300];

static struct raft_entry mk(int slot, uint64_t index, uint64_t term)
{
	size_t len = (size_t)((index * 37 + term * 11) % 300);
	for (size_t i = 0; i < len; i++)
		dbuf[slot][i] = (uint8_t)(index * 7 + term + i);
	struct raft_entry e = { index, term, (enum raft_entry_type)(index % 3 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_NORMAL),
				len ? dbuf[slot] : NULL, len };
	return e;
}

static void check_entry(const struct raft_entry *got, uint64_t index, uint64_t term)
{
	struct raft_entry want = mk(63, index, term);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->index, index);
	ck_assert_uint_eq(got->term, term);
	ck_assert_int_eq(got->type, want.type);
	ck_assert_uint_eq(got->len, want.len);
	if (want.len)
		ck_assert_int_eq(memcmp(got->data, want.data, want.len), 0);
}

/* Appends [from, to] with term, truncating from truncate_from. */
static void app(struct zk_raftlog *l, uint64_t truncate_from, uint64_t from, uint64_t to, uint64_t term)
{
	struct raft_entry es[64];
	char eb[512] = "";
	size_t n = 0;
	for (uint64_t i = from; i <= to; i++, n++)
		es[n] = mk((int)n, i, term);
	int rc = zk_raftlog_append(l, truncate_from, es, n, eb, sizeof(eb));
	ck_assert_msg(rc == 0, "append: %s", eb);
}

static void check_log(const struct zk_raftlog *l, uint64_t first, uint64_t last, const uint64_t *terms)
{
	size_t n;
	const struct raft_entry *es = zk_raftlog_entries(l, &n);
	ck_assert_uint_eq(zk_raftlog_last_index(l), last);
	ck_assert_uint_eq(n, last + 1 - first);
	ck_assert_uint_eq(zk_raftlog_snapshot(l)->index, first - 1);
	for (uint64_t i = first; i <= last; i++) {
		check_entry(&es[i - first], i, terms[i]);
		ck_assert_ptr_eq(zk_raftlog_get(l, i), &es[i - first]);
	}
	ck_assert_ptr_null(zk_raftlog_get(l, first - 1));
	ck_assert_ptr_null(zk_raftlog_get(l, last + 1));
}

static void path_of(char *out, size_t len, const char *dir, const char *name)
{
	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		ck_abort_msg("path too long");
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	uint8_t *b = malloc(1 << 20);
	*n = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	fclose(f);
}

static off_t fsize(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(t_roundtrip)
{
	uint64_t terms[64];
	struct zk_raftlog *l = must_open(rdir);
	char eb[256];
	size_t n;
	ck_assert_uint_eq(zk_raftlog_last_index(l), 0);
	ck_assert_ptr_null(zk_raftlog_entries(l, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(zk_raftlog_term(l), 0);
	ck_assert_uint_eq(zk_raftlog_snapshot(l)->index, 0);
	ck_assert_uint_eq(zk_raftlog_bytes(l), 16);
	app(l, 0, 1, 20, 1);
	app(l, 0, 21, 40, 3);
	ck_assert_int_eq(zk_raftlog_sync(l, eb, sizeof(eb)), 0);
	for (int i = 1; i <= 40; i++)
		terms[i] = i <= 20 ? 1 : 3;
	check_log(l, 1, 40, terms);
	size_t bytes = zk_raftlog_bytes(l);
	char p[256];
	path_of(p, sizeof(p), rdir, "raft.log");
	ck_assert_uint_ge((size_t)fsize(p), bytes); /* zeros are written ahead of the appends */
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 1, 40, terms);
	ck_assert_uint_eq(zk_raftlog_bytes(l), bytes);
	app(l, 0, 41, 41, 3);
	terms[41] = 3;
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 1, 41, terms);
	zk_raftlog_close(l);
	zk_raftlog_close(NULL);
}
END_TEST

START_TEST(t_truncate_append)
{
	uint64_t terms[64];
	struct zk_raftlog *l = must_open(rdir);
	char eb[256];
	app(l, 0, 1, 10, 1);
	app(l, 6, 6, 8, 2);
	for (int i = 1; i <= 10; i++)
		terms[i] = i < 6 ? 1 : 2;
	check_log(l, 1, 8, terms);
	/* truncation alone, and a truncate_from past the end drops nothing */
	ck_assert_int_eq(zk_raftlog_append(l, 8, NULL, 0, eb, sizeof(eb)), 0);
	check_log(l, 1, 7, terms);
	app(l, 100, 8, 9, 2);
	check_log(l, 1, 9, terms);
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 1, 9, terms);
	/* everything */
	app(l, 1, 1, 2, 4);
	terms[1] = terms[2] = 4;
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 1, 2, terms);
	zk_raftlog_close(l);
}
END_TEST

START_TEST(t_bad_append)
{
	uint64_t terms[64];
	struct zk_raftlog *l = must_open(rdir);
	char eb[256];
	app(l, 0, 1, 5, 2);
	for (int i = 1; i <= 5; i++)
		terms[i] = 2;
	size_t bytes = zk_raftlog_bytes(l);
	struct raft_entry e = mk(0, 7, 2); /* a gap */
	ck_assert_int_eq(zk_raftlog_append(l, 0, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	e = mk(0, 5, 2); /* going backwards */
	ck_assert_int_eq(zk_raftlog_append(l, 0, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	e = mk(0, 6, 1); /* a lower term */
	ck_assert_int_eq(zk_raftlog_append(l, 0, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	e = mk(0, 6, 2);
	e.type = (enum raft_entry_type)9;
	ck_assert_int_eq(zk_raftlog_append(l, 0, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	struct raft_entry two[2] = { mk(0, 6, 2), mk(1, 8, 2) }; /* second not contiguous */
	ck_assert_int_eq(zk_raftlog_append(l, 0, two, 2, eb, sizeof(eb)), ERR_INVAL);
	/* a bad append with a truncation truncates nothing */
	e = mk(0, 9, 3);
	ck_assert_int_eq(zk_raftlog_append(l, 3, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	ck_assert_uint_eq(zk_raftlog_bytes(l), bytes);
	check_log(l, 1, 5, terms);
	/* nothing at or below the snapshot can be truncated */
	struct raft_snapshot_meta m = { .index = 3, .term = 2 };
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	e = mk(0, 3, 3);
	ck_assert_int_eq(zk_raftlog_append(l, 3, &e, 1, eb, sizeof(eb)), ERR_INVAL);
	check_log(l, 4, 5, terms);
	zk_raftlog_close(l);
}
END_TEST

START_TEST(t_torn_tail)
{
	uint64_t terms[64];
	char p[256], d2[256], p2[256], eb[256];
	struct zk_raftlog *l = must_open(rdir);
	app(l, 0, 1, 4, 1);
	size_t off4 = zk_raftlog_bytes(l);
	app(l, 0, 5, 5, 1);
	size_t off5 = zk_raftlog_bytes(l);
	zk_raftlog_close(l);
	for (int i = 1; i <= 5; i++)
		terms[i] = 1;
	path_of(p, sizeof(p), rdir, "raft.log");
	size_t n;
	uint8_t *orig = slurp(p, &n);
	ck_assert_uint_ge(n, off5);
	for (size_t cut = off4; cut < off5; cut++) {
		snprintf(d2, sizeof(d2), "%s/cut%zu", tdir, cut);
		ck_assert_int_eq(mkdir(d2, 0755), 0);
		path_of(p2, sizeof(p2), d2, "raft.log");
		spit(p2, orig, cut);
		l = must_open(d2);
		check_log(l, 1, 4, terms);
		/* the log ends at entry 4; a torn frame is cut off, one that is still all zeros
		 * (cut inside its length field) reads as zeros written ahead and stays */
		ck_assert_uint_eq(zk_raftlog_bytes(l), off4);
		ck_assert_uint_le((size_t)fsize(p2), cut);
		app(l, 0, 5, 5, 1);
		ck_assert_int_eq(zk_raftlog_sync(l, eb, sizeof(eb)), 0);
		zk_raftlog_close(l);
		l = must_open(d2);
		check_log(l, 1, 5, terms);
		zk_raftlog_close(l);
	}
	/* a torn header (a prefix of ours) is an empty log */
	snprintf(d2, sizeof(d2), "%s/hdr", tdir);
	ck_assert_int_eq(mkdir(d2, 0755), 0);
	path_of(p2, sizeof(p2), d2, "raft.log");
	spit(p2, orig, 6);
	l = must_open(d2);
	ck_assert_uint_eq(zk_raftlog_last_index(l), 0);
	ck_assert_uint_eq((size_t)fsize(p2), 16);
	zk_raftlog_close(l);
	free(orig);
}
END_TEST

START_TEST(t_bitflip)
{
	uint64_t terms[64];
	char p[256];
	struct zk_raftlog *l = must_open(rdir);
	app(l, 0, 1, 4, 1);
	size_t off4 = zk_raftlog_bytes(l);
	app(l, 0, 5, 10, 1);
	zk_raftlog_close(l);
	for (int i = 1; i <= 10; i++)
		terms[i] = 1;
	path_of(p, sizeof(p), rdir, "raft.log");
	size_t n;
	uint8_t *b = slurp(p, &n);
	b[off4 + 30] ^= 0x10; /* inside entry 5 */
	spit(p, b, n);
	l = must_open(rdir);
	check_log(l, 1, 4, terms);
	ck_assert_uint_eq((size_t)fsize(p), off4);
	zk_raftlog_close(l);
	free(b);
}
END_TEST

/* Builds a frame by hand (the format in zk_raftlog.h). */
static size_t frame(uint8_t *p, uint64_t index, uint64_t term, const char *data)
{
	size_t len = strlen(data);
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	for (int i = 0; i < 8; i++) {
		p[8 + i] = (uint8_t)(index >> (56 - 8 * i));
		p[16 + i] = (uint8_t)(term >> (56 - 8 * i));
	}
	p[24] = 0;
	memcpy(p + 25, data, len);
	uint32_t c = crc32c(0, p + 8, 17 + len);
	p[4] = (uint8_t)(c >> 24);
	p[5] = (uint8_t)(c >> 16);
	p[6] = (uint8_t)(c >> 8);
	p[7] = (uint8_t)c;
	return 25 + len;
}

static void gap_case(const char *name, const uint64_t *idx, const uint64_t *term, int n, uint64_t want_last)
{
	char d2[256], p2[256];
	uint8_t b[1024];
	size_t len = 16, keep = 16;
	memcpy(b, "SMRL\0\0\0\1\0\0\0\0\0\0\0\0", 16);
	for (int i = 0; i < n; i++) {
		len += frame(b + len, idx[i], term[i], "abc");
		if ((uint64_t)i < want_last && idx[0] == 1)
			keep = len; /* the valid prefix: the first want_last frames */
	}
	snprintf(d2, sizeof(d2), "%s/%s", tdir, name);
	ck_assert_int_eq(mkdir(d2, 0755), 0);
	path_of(p2, sizeof(p2), d2, "raft.log");
	spit(p2, b, len);
	struct zk_raftlog *l = must_open(d2);
	ck_assert_uint_eq(zk_raftlog_last_index(l), want_last);
	ck_assert_uint_eq((size_t)fsize(p2), keep);
	zk_raftlog_close(l);
}

START_TEST(t_gaps)
{
	uint64_t i1[] = { 1, 2, 4, 5 }, t1[] = { 1, 1, 1, 1 };
	gap_case("gap", i1, t1, 4, 2);
	uint64_t i2[] = { 1, 2, 3, 2 }, t2[] = { 1, 1, 1, 1 };
	gap_case("back", i2, t2, 4, 3);
	uint64_t i3[] = { 1, 2, 3 }, t3[] = { 2, 3, 1 };
	gap_case("termback", i3, t3, 3, 2);
	uint64_t i4[] = { 3, 4 }, t4[] = { 1, 1 }; /* no snapshot, starts past 1 */
	gap_case("start", i4, t4, 2, 0);
}
END_TEST

START_TEST(t_hard_state)
{
	char eb[256], p[256];
	struct zk_raftlog *l = must_open(rdir);
	ck_assert_int_eq(zk_raftlog_set_hard_state(l, 5, 3, eb, sizeof(eb)), 0);
	ck_assert_int_eq(zk_raftlog_set_hard_state(l, 4, 3, eb, sizeof(eb)), ERR_INVAL);
	ck_assert_uint_eq(zk_raftlog_term(l), 5);
	zk_raftlog_close(l);
	l = must_open(rdir);
	ck_assert_uint_eq(zk_raftlog_term(l), 5);
	ck_assert_uint_eq(zk_raftlog_vote(l), 3);
	ck_assert_int_eq(zk_raftlog_set_hard_state(l, 6, 0, eb, sizeof(eb)), 0);
	zk_raftlog_close(l);
	l = must_open(rdir);
	ck_assert_uint_eq(zk_raftlog_term(l), 6);
	ck_assert_uint_eq(zk_raftlog_vote(l), 0);
	zk_raftlog_close(l);
	/* a damaged hard state is refused, not guessed */
	path_of(p, sizeof(p), rdir, "raft.state");
	size_t n;
	uint8_t *b = slurp(p, &n);
	ck_assert_uint_eq(n, 28);
	b[12] ^= 1;
	spit(p, b, n);
	ck_assert_int_eq(zk_raftlog_open(rdir, &l, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(eb, "raft.state"));
	free(b);
}
END_TEST

START_TEST(t_compact)
{
	uint64_t terms[64];
	char eb[256];
	struct zk_raftlog *l = must_open(rdir);
	app(l, 0, 1, 20, 1);
	app(l, 0, 21, 30, 2);
	for (int i = 1; i <= 40; i++)
		terms[i] = i <= 20 ? 1 : 2;
	size_t before = zk_raftlog_bytes(l);
	struct raft_snapshot_meta m = { .index = 10, .term = 1 };
	m.config.n = 2;
	m.config.servers[0] = (struct raft_server){ 1, true };
	m.config.servers[1] = (struct raft_server){ 7, false };
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	check_log(l, 11, 30, terms);
	ck_assert_uint_lt(zk_raftlog_bytes(l), before);
	app(l, 0, 31, 32, 2);
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 11, 32, terms);
	const struct raft_snapshot_meta *s = zk_raftlog_snapshot(l);
	ck_assert_uint_eq(s->term, 1);
	ck_assert_uint_eq(s->config.n, 2);
	ck_assert_uint_eq(s->config.servers[1].id, 7);
	ck_assert(!s->config.servers[1].voter);
	/* the same index again is fine, an older one is not */
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	m.index = 9;
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), ERR_INVAL);
	/* the entry at the snapshot index has another term: the tail is stale */
	m.index = 25;
	m.term = 5;
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(zk_raftlog_last_index(l), 25);
	size_t n;
	zk_raftlog_entries(l, &n);
	ck_assert_uint_eq(n, 0);
	app(l, 0, 26, 27, 5);
	terms[26] = terms[27] = 5;
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 26, 27, terms);
	/* past the end */
	m.index = 40;
	m.term = 6;
	ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(zk_raftlog_last_index(l), 40);
	zk_raftlog_close(l);
	l = must_open(rdir);
	ck_assert_uint_eq(zk_raftlog_last_index(l), 40);
	ck_assert_uint_eq(zk_raftlog_bytes(l), 16);
	zk_raftlog_close(l);
}
END_TEST

START_TEST(t_install)
{
	uint64_t terms[128];
	char eb[256];
	struct zk_raftlog *l = must_open(rdir);
	app(l, 0, 1, 20, 1);
	struct raft_snapshot_meta m = { .index = 10, .term = 1 };
	ck_assert_int_eq(zk_raftlog_install_snapshot(l, &m, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(zk_raftlog_last_index(l), 10);
	ck_assert_ptr_null(zk_raftlog_get(l, 11));
	m.index = 100;
	m.term = 7;
	ck_assert_int_eq(zk_raftlog_install_snapshot(l, &m, eb, sizeof(eb)), 0);
	app(l, 0, 101, 103, 7);
	for (int i = 101; i <= 103; i++)
		terms[i] = 7;
	zk_raftlog_close(l);
	l = must_open(rdir);
	check_log(l, 101, 103, terms);
	ck_assert_uint_eq(zk_raftlog_snapshot(l)->term, 7);
	zk_raftlog_close(l);
}
END_TEST

/* A crash between the snapmeta rename and the log rename: the old log is back in place. */
static void interrupted(bool install)
{
	uint64_t terms[64];
	char eb[256], p[256];
	struct zk_raftlog *l = must_open(rdir);
	app(l, 0, 1, 20, 1);
	zk_raftlog_close(l);
	path_of(p, sizeof(p), rdir, "raft.log");
	size_t n;
	uint8_t *old = slurp(p, &n);
	l = must_open(rdir);
	struct raft_snapshot_meta m = { .index = 10, .term = 1 };
	if (install)
		ck_assert_int_eq(zk_raftlog_install_snapshot(l, &m, eb, sizeof(eb)), 0);
	else
		ck_assert_int_eq(zk_raftlog_compact(l, &m, eb, sizeof(eb)), 0);
	zk_raftlog_close(l);
	spit(p, old, n);
	free(old);
	for (int i = 1; i <= 20; i++)
		terms[i] = 1;
	l = must_open(rdir);
	if (install)
		ck_assert_uint_eq(zk_raftlog_last_index(l), 10);
	else
		check_log(l, 11, 20, terms);
	zk_raftlog_close(l);
	/* and the repair was written: a second open agrees */
	l = must_open(rdir);
	ck_assert_uint_eq(zk_raftlog_last_index(l), install ? 10 : 20);
	zk_raftlog_close(l);
}

START_TEST(t_interrupted_compact)
{
	interrupted(false);
}
END_TEST

START_TEST(t_interrupted_install)
{
	interrupted(true);
}
END_TEST

START_TEST(t_foreign)
{
	static const char *const names[] = { "raft.log", "raft.state", "raft.snapmeta" };
	char eb[256], p[256];
	for (int i = 0; i < 3; i++) {
		char d2[256];
		snprintf(d2, sizeof(d2), "%s/f%d", tdir, i);
		ck_assert_int_eq(mkdir(d2, 0755), 0);
		path_of(p, sizeof(p), d2, names[i]);
		static const uint8_t junk[] = "ZKLG\0\0\0\2 a ZooKeeper log, not ours";
		spit(p, junk, sizeof(junk));
		struct zk_raftlog *l = NULL;
		ck_assert_int_eq(zk_raftlog_open(d2, &l, eb, sizeof(eb)), ERR_CORRUPT);
		ck_assert_ptr_null(l);
		ck_assert_ptr_nonnull(strstr(eb, names[i]));
		size_t n;
		uint8_t *b = slurp(p, &n);
		ck_assert_uint_eq(n, sizeof(junk));
		ck_assert_int_eq(memcmp(b, junk, n), 0);
		free(b);
		/* nothing else was created */
		char other[256];
		path_of(other, sizeof(other), d2, i ? "raft.log" : "raft.state");
		ck_assert_int_ne(access(other, F_OK), 0);
	}
	/* another version is refused too */
	char d3[256];
	snprintf(d3, sizeof(d3), "%s/v", tdir);
	ck_assert_int_eq(mkdir(d3, 0755), 0);
	path_of(p, sizeof(p), d3, "raft.log");
	spit(p, (const uint8_t *)"SMRL\0\0\0\2\0\0\0\0\0\0\0\0", 16);
	struct zk_raftlog *l = NULL;
	ck_assert_int_eq(zk_raftlog_open(d3, &l, eb, sizeof(eb)), ERR_VERSION);
	/* a log newer than its snapmeta (the snapmeta was lost) */
	snprintf(d3, sizeof(d3), "%s/lost", tdir);
	ck_assert_int_eq(mkdir(d3, 0755), 0);
	path_of(p, sizeof(p), d3, "raft.log");
	spit(p, (const uint8_t *)"SMRL\0\0\0\1\0\0\0\0\0\0\0\3", 16);
	ck_assert_int_eq(zk_raftlog_open(d3, &l, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_uint_eq((size_t)fsize(p), 16);
}
END_TEST

/*
 * A write failure injected at the k-th disk operation of a sequence of writes, for every k:
 * the failing call returns an error, and a reopen gives a state that each earlier step or the
 * failing one could have left: entries either of the first or the second history.
 */
START_TEST(t_fault_every_step)
{
	for (unsigned k = 1;; k++) {
		char d2[256], eb[512];
		snprintf(d2, sizeof(d2), "%s/k%u", tdir, k);
		struct zk_raftlog *l = must_open(d2);
		app(l, 0, 1, 5, 1);
		ck_assert_int_eq(zk_raftlog_sync(l, eb, sizeof(eb)), 0);
		ck_assert_int_eq(zk_raftlog_set_hard_state(l, 1, 1, eb, sizeof(eb)), 0);
		zk_raftlog_test_fail_io(l, k);
		int rc = 0, step = 0;
		struct raft_entry es[3] = { mk(0, 4, 2), mk(1, 5, 2), mk(2, 6, 2) };
		struct raft_snapshot_meta m3 = { .index = 3, .term = 1 }, m20 = { .index = 20, .term = 3 };
		struct raft_entry e7 = mk(3, 7, 2);
		if (!rc && ++step)
			rc = zk_raftlog_append(l, 4, es, 3, eb, sizeof(eb));
		if (!rc && ++step)
			rc = zk_raftlog_sync(l, eb, sizeof(eb));
		if (!rc && ++step)
			rc = zk_raftlog_set_hard_state(l, 2, 2, eb, sizeof(eb));
		if (!rc && ++step)
			rc = zk_raftlog_compact(l, &m3, eb, sizeof(eb));
		if (!rc && ++step)
			rc = zk_raftlog_append(l, 0, &e7, 1, eb, sizeof(eb));
		if (!rc && ++step)
			rc = zk_raftlog_install_snapshot(l, &m20, eb, sizeof(eb));
		if (rc) {
			ck_assert_int_eq(rc, ERR_IO);
			ck_assert_msg(strstr(eb, "No space left"), "step %d: %s", step, eb);
		}
		zk_raftlog_close(l);

		l = must_open(d2);
		uint64_t t = zk_raftlog_term(l);
		ck_assert(t == 1 || t == 2);
		uint64_t s = zk_raftlog_snapshot(l)->index;
		ck_assert(s == 0 || s == 3 || s == 20);
		size_t n;
		const struct raft_entry *got = zk_raftlog_entries(l, &n);
		for (size_t i = 0; i < n; i++) {
			uint64_t idx = s + 1 + i;
			ck_assert_uint_eq(got[i].index, idx);
			ck_assert_uint_le(idx, 7);
			if (idx <= 3 || got[i].term == 1)
				check_entry(&got[i], idx, 1);
			else
				check_entry(&got[i], idx, 2);
		}
		/* second history entries only follow the first history's 1..3 */
		if (n && got[n - 1].term == 2)
			ck_assert_uint_ge(zk_raftlog_last_index(l), 4);
		if (!rc) {
			ck_assert_uint_eq(s, 20);
			ck_assert_uint_eq(n, 0);
			ck_assert_uint_eq(t, 2);
			zk_raftlog_close(l);
			ck_assert_uint_gt(k, 8);
			break;
		}
		/* the handle still writes after a reopen */
		ck_assert_int_eq(zk_raftlog_set_hard_state(l, 3, 0, eb, sizeof(eb)), 0);
		zk_raftlog_close(l);
	}
}
END_TEST

static Suite *raftlog_suite(void)
{
	Suite *s = suite_create("zk_raftlog");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_roundtrip);
	tcase_add_test(tc, t_truncate_append);
	tcase_add_test(tc, t_bad_append);
	tcase_add_test(tc, t_torn_tail);
	tcase_add_test(tc, t_bitflip);
	tcase_add_test(tc, t_gaps);
	tcase_add_test(tc, t_hard_state);
	tcase_add_test(tc, t_compact);
	tcase_add_test(tc, t_install);
	tcase_add_test(tc, t_interrupted_compact);
	tcase_add_test(tc, t_interrupted_install);
	tcase_add_test(tc, t_foreign);
	tcase_add_test(tc, t_fault_every_step);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(raftlog_suite());
}

/*
 * Unit tests for broker/log/ktxnidx, the aborted-transaction index: Kafka's exact 34-byte
 * entry, a round trip, every truncation and malformed file refused, the in-memory list (order,
 * replacement, truncation, trim) and the fetch's collection of [from, upto), and the files
 * (append, read back, rewrite from memory with empty files for segments without aborts,
 * orphans deleted).
 */
#include "buf.h"
#include "err.h"
#include "ktxnidx.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[128];

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-ktxnidx"));
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

START_TEST(test_entry_bytes)
{
	struct ktxnidx_entry e = { 0x0102030405060708LL, 10, 20, 21 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(ktxnidx_encode(&w, &e), 0);
	static const uint8_t want[KTXNIDX_ENTRY] = {
		0, 0,				  /* version 0 */
		1, 2, 3, 4, 5, 6, 7, 8,		  /* producer id */
		0, 0, 0, 0, 0, 0, 0, 10,	  /* first offset */
		0, 0, 0, 0, 0, 0, 0, 20,	  /* last offset */
		0, 0, 0, 0, 0, 0, 0, 21,	  /* last stable offset */
	};
	ck_assert_uint_eq(w.len, KTXNIDX_ENTRY);
	ck_assert_mem_eq(w.p, want, KTXNIDX_ENTRY);
	struct ktxnidx_entry f = { 7, 30, 30, 31 };
	ktxnidx_encode(&w, &f);
	struct ktxnidx_entry *v;
	size_t n;
	char eb[256];
	ck_assert_int_eq(ktxnidx_decode(w.p, w.len, &v, &n, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(&v[0], &e, sizeof(e));
	ck_assert_mem_eq(&v[1], &f, sizeof(f));
	free(v);
	/* empty: no entry */
	ck_assert_int_eq(ktxnidx_decode(w.p, 0, &v, &n, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	/* every truncation that is not a whole number of entries */
	for (size_t len = 1; len < w.len; len++) {
		if (len == KTXNIDX_ENTRY)
			continue;
		ck_assert_int_eq(ktxnidx_decode(w.p, len, &v, &n, eb, sizeof(eb)), ERR_CORRUPT);
		ck_assert_ptr_null(v);
	}
	wbuf_free(&w);
}
END_TEST

/* Decodes one entry built from fields; returns the decoder's result. */
static int decode_one(int16_t ver, int64_t pid, int64_t first, int64_t last, int64_t lso)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 10);
	wbuf_i16(&w, ver);
	wbuf_i64(&w, pid);
	wbuf_i64(&w, first);
	wbuf_i64(&w, last);
	wbuf_i64(&w, lso);
	struct ktxnidx_entry *v;
	size_t n;
	char eb[256] = "";
	int rc = ktxnidx_decode(w.p, w.len, &v, &n, eb, sizeof(eb));
	if (rc)
		ck_assert(eb[0] != '\0');
	free(v);
	wbuf_free(&w);
	return rc;
}

START_TEST(test_malformed)
{
	ck_assert_int_eq(decode_one(0, 1, 2, 3, 4), 0);
	ck_assert_int_eq(decode_one(0, 1, 3, 3, 4), 0);
	ck_assert_int_eq(decode_one(1, 1, 2, 3, 4), ERR_CORRUPT);  /* version */
	ck_assert_int_eq(decode_one(-1, 1, 2, 3, 4), ERR_CORRUPT);
	ck_assert_int_eq(decode_one(0, -1, 2, 3, 4), ERR_CORRUPT); /* producer id */
	ck_assert_int_eq(decode_one(0, 1, -2, 3, 4), ERR_CORRUPT); /* offsets */
	ck_assert_int_eq(decode_one(0, 1, 2, 3, -4), ERR_CORRUPT);
	ck_assert_int_eq(decode_one(0, 1, 4, 3, 5), ERR_CORRUPT);  /* first above last */
	/* markers going backwards */
	struct wbuf w;
	wbuf_init(&w, 1 << 10);
	struct ktxnidx_entry a = { 1, 5, 9, 10 }, b = { 2, 1, 8, 9 };
	ktxnidx_encode(&w, &a);
	ktxnidx_encode(&w, &b);
	struct ktxnidx_entry *v;
	size_t n;
	char eb[256];
	ck_assert_int_eq(ktxnidx_decode(w.p, w.len, &v, &n, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert(strstr(eb, "order") != NULL);
	wbuf_free(&w);
	/* a huge length is refused before anything is read */
	ck_assert_int_eq(ktxnidx_decode(NULL, (size_t)KTXNIDX_MAX_BYTES + KTXNIDX_ENTRY, &v, &n, eb, sizeof(eb)),
			 ERR_TOOBIG);
}
END_TEST

START_TEST(test_list_and_collect)
{
	struct ktxnidx *x = ktxnidx_new();
	struct ktxnidx_entry e1 = { 1, 0, 4, 5 }, e2 = { 2, 2, 9, 10 }, e3 = { 3, 12, 14, 15 };
	ck_assert_int_eq(ktxnidx_add(x, &e2), 0);
	ck_assert_int_eq(ktxnidx_add(x, &e1), 0); /* out of order: placed first */
	ck_assert_int_eq(ktxnidx_add(x, &e3), 0);
	ck_assert_int_eq(ktxnidx_add(x, &e3), 0); /* the same again: replaced */
	ck_assert_uint_eq(ktxnidx_count(x), 3);
	ck_assert_int_eq(ktxnidx_at(x, 0)->producer_id, 1);
	ck_assert_int_eq(ktxnidx_at(x, 2)->producer_id, 3);
	ck_assert_ptr_null(ktxnidx_at(x, 3));
	struct ktxnidx_entry out[4];
	/* [from, upto): markers at or after from, first offsets below upto */
	ck_assert_uint_eq(ktxnidx_collect(x, 0, 100, out, 4), 3);
	ck_assert_uint_eq(ktxnidx_collect(x, 5, 100, out, 4), 2);
	ck_assert_int_eq(out[0].producer_id, 2);
	ck_assert_uint_eq(ktxnidx_collect(x, 3, 12, out, 4), 2); /* e3 begins at 12 */
	ck_assert_uint_eq(ktxnidx_collect(x, 3, 2, out, 4), 1);	 /* only e1 began below 2 */
	ck_assert_int_eq(out[0].producer_id, 1);
	ck_assert_uint_eq(ktxnidx_collect(x, 15, 100, out, 4), 0);
	ck_assert_uint_eq(ktxnidx_collect(x, 0, 100, out, 1), 3); /* counted past max */
	ck_assert_uint_eq(ktxnidx_collect(x, 0, 100, NULL, 0), 3);
	ktxnidx_truncate(x, 9); /* a truncation to 9 drops the marker at 9 and after */
	ck_assert_uint_eq(ktxnidx_count(x), 1);
	ktxnidx_add(x, &e2);
	ktxnidx_add(x, &e3);
	ktxnidx_trim(x, 5); /* the log start moved to 5: e1's marker (4) is gone */
	ck_assert_uint_eq(ktxnidx_count(x), 2);
	ck_assert_int_eq(ktxnidx_at(x, 0)->producer_id, 2);
	ktxnidx_clear(x);
	ck_assert_uint_eq(ktxnidx_count(x), 0);
	ktxnidx_free(x);
	ktxnidx_free(NULL);
}
END_TEST

static off_t file_size(int64_t base)
{
	char path[256];
	ktxnidx_path(path, sizeof(path), tdir, base);
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

START_TEST(test_files)
{
	char eb[512], path[256];
	struct ktxnidx_entry e1 = { 1, 0, 4, 5 }, e2 = { 2, 2, 9, 10 }, e3 = { 3, 12, 14, 15 };
	ck_assert_int_eq(ktxnidx_path(path, sizeof(path), "/d", 12), 0);
	ck_assert_str_eq(path, "/d/00000000000000000012.txnindex");
	ck_assert_int_eq(ktxnidx_path(path, 10, "/d", 12), ERR_TOOBIG);
	struct ktxnidx *x = ktxnidx_new();
	ck_assert_int_eq(ktxnidx_file_read(x, tdir, 0, eb, sizeof(eb)), ERR_NOTFOUND);
	ck_assert_int_eq(ktxnidx_file_append(tdir, 0, &e1, eb, sizeof(eb)), 0);
	ck_assert_int_eq(ktxnidx_file_append(tdir, 0, &e2, eb, sizeof(eb)), 0);
	ck_assert_int_eq(file_size(0), 2 * KTXNIDX_ENTRY);
	ck_assert_int_eq(ktxnidx_file_read(x, tdir, 0, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(ktxnidx_count(x), 2);
	/* rewritten for segments at 0, 10, 20: e1 and e2 in 0, e3 in 10, none in 20 (no file, as
	 * Kafka: a stale one goes); an orphan goes */
	ktxnidx_add(x, &e3);
	ck_assert_int_eq(ktxnidx_file_append(tdir, 20, &e3, eb, sizeof(eb)), 0);
	ck_assert_int_eq(ktxnidx_file_append(tdir, 30, &e3, eb, sizeof(eb)), 0);
	int64_t bases[] = { 0, 10, 20 };
	ck_assert_int_eq(ktxnidx_write_all(x, tdir, bases, 3, eb, sizeof(eb)), 0);
	ck_assert_int_eq(file_size(0), 2 * KTXNIDX_ENTRY);
	ck_assert_int_eq(file_size(10), KTXNIDX_ENTRY);
	ck_assert_int_eq(file_size(20), -1);
	ck_assert_int_eq(file_size(30), -1);
	struct ktxnidx *y = ktxnidx_new();
	ck_assert_int_eq(ktxnidx_file_read(y, tdir, 10, eb, sizeof(eb)), 0);
	ck_assert_uint_eq(ktxnidx_count(y), 1);
	ck_assert_int_eq(ktxnidx_at(y, 0)->producer_id, 3);
	/* prune: the segment at 0 is gone */
	int64_t left[] = { 10, 20 };
	ck_assert_int_eq(ktxnidx_prune(tdir, left, 2, eb, sizeof(eb)), 0);
	ck_assert_int_eq(file_size(0), -1);
	/* a corrupt file is an error naming it */
	ktxnidx_path(path, sizeof(path), tdir, 20);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("garbage", f);
	fclose(f);
	ck_assert_int_eq(ktxnidx_file_read(y, tdir, 20, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert(strstr(eb, ".txnindex") != NULL);
	ktxnidx_free(x);
	ktxnidx_free(y);
}
END_TEST

static Suite *ktxnidx_suite(void)
{
	Suite *s = suite_create("ktxnidx");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, test_entry_bytes);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_list_and_collect);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ktxnidx_suite());
}

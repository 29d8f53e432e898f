/*
 * Unit tests for broker/log: the leader-epoch cache (kepoch: assign, truncation at both ends,
 * Kafka's OffsetForLeaderEpoch answers) and the checkpoint files (kckpt: round trips of both
 * formats, the exact bytes Kafka writes, every malformed input refused with file and line, a
 * crash-safe replace that leaves the old file when the write cannot happen).
 */
#include "err.h"
#include "kckpt.h"
#include "kepoch.h"

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
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-kckpt"));
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

START_TEST(test_epoch_assign_and_truncate)
{
	struct kepoch *c = kepoch_new();
	ck_assert_int_eq(kepoch_latest(c), KEPOCH_UNDEFINED);
	ck_assert_int_eq(kepoch_assign(c, 0, 0), 0);
	ck_assert_int_eq(kepoch_assign(c, 0, 7), 0); /* same epoch: nothing */
	ck_assert_int_eq(kepoch_assign(c, 2, 10), 0);
	ck_assert_int_eq(kepoch_assign(c, 1, 12), ERR_RANGE); /* epochs never go back */
	ck_assert_int_eq(kepoch_assign(c, 3, 9), ERR_RANGE);  /* nor start offsets */
	ck_assert_int_eq(kepoch_assign(c, 4, 10), 0);	      /* an epoch with no records */
	ck_assert_int_eq(kepoch_assign(c, 5, 20), 0);
	size_t n;
	const struct kepoch_entry *e = kepoch_entries(c, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(e[0].epoch, 0);
	ck_assert_int_eq(e[3].start_offset, 20);
	ck_assert_int_eq(kepoch_start_of(c, 4), 10);
	ck_assert_int_eq(kepoch_start_of(c, 3), KEPOCH_UNDEFINED);
	/* a truncation to 15 drops epoch 5 (starts at 20) and keeps 4 */
	ck_assert_int_eq(kepoch_truncate_end(c, 15), 1);
	ck_assert_int_eq(kepoch_latest(c), 4);
	ck_assert_int_eq(kepoch_truncate_end(c, 15), 0);
	/* truncating to exactly an epoch's start drops it (KIP-101: it has no records left) */
	ck_assert_int_eq(kepoch_truncate_end(c, 10), 1);
	ck_assert_int_eq(kepoch_latest(c), 0);
	ck_assert_int_eq(kepoch_assign(c, 6, 10), 0);
	/* retention: the log now starts at 12, inside epoch 6's range */
	ck_assert_int_eq(kepoch_truncate_start(c, 12), 1);
	e = kepoch_entries(c, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0].epoch, 6);
	ck_assert_int_eq(e[0].start_offset, 12);
	ck_assert_int_eq(kepoch_truncate_start(c, 12), 0);
	kepoch_free(c);
	kepoch_free(NULL);
}
END_TEST

START_TEST(test_epoch_end_offset_for)
{
	/* Kafka's LeaderEpochFileCache.endOffsetFor cases */
	struct kepoch *c = kepoch_new();
	const struct kepoch_entry in[] = { { 1, 5 }, { 3, 10 }, { 6, 30 } };
	ck_assert_int_eq(kepoch_load(c, in, 3), 0);
	int32_t ep;
	int64_t end;
	kepoch_end_offset_for(c, 6, 42, &ep, &end); /* the latest: ends at the log end */
	ck_assert_int_eq(ep, 6);
	ck_assert_int_eq(end, 42);
	kepoch_end_offset_for(c, 3, 42, &ep, &end); /* ends where 6 starts */
	ck_assert_int_eq(ep, 3);
	ck_assert_int_eq(end, 30);
	kepoch_end_offset_for(c, 5, 42, &ep, &end); /* unknown 5: the largest below, 3 */
	ck_assert_int_eq(ep, 3);
	ck_assert_int_eq(end, 30);
	kepoch_end_offset_for(c, 2, 42, &ep, &end);
	ck_assert_int_eq(ep, 1);
	ck_assert_int_eq(end, 10);
	kepoch_end_offset_for(c, 0, 42, &ep, &end); /* below all: requested, first start */
	ck_assert_int_eq(ep, 0);
	ck_assert_int_eq(end, 5);
	kepoch_end_offset_for(c, 7, 42, &ep, &end); /* above the latest */
	ck_assert_int_eq(ep, KEPOCH_UNDEFINED);
	ck_assert_int_eq(end, KEPOCH_UNDEFINED);
	kepoch_end_offset_for(c, KEPOCH_UNDEFINED, 42, &ep, &end);
	ck_assert_int_eq(ep, KEPOCH_UNDEFINED);
	/* loading refuses what breaks the invariants and leaves the cache empty */
	const struct kepoch_entry bad[] = { { 3, 5 }, { 3, 10 } };
	ck_assert_int_eq(kepoch_load(c, bad, 2), ERR_CORRUPT);
	ck_assert_int_eq(kepoch_latest(c), KEPOCH_UNDEFINED);
	const struct kepoch_entry back[] = { { 3, 5 }, { 4, 2 } };
	ck_assert_int_eq(kepoch_load(c, back, 2), ERR_CORRUPT);
	kepoch_end_offset_for(c, 3, 42, &ep, &end);
	ck_assert_int_eq(ep, KEPOCH_UNDEFINED);
	kepoch_free(c);
}
END_TEST

START_TEST(test_epoch_file_round_trip)
{
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", tdir);
	struct kepoch_entry *e = NULL;
	size_t n = 9;
	ck_assert_int_eq(kckpt_epochs_read(path, &e, &n, err, sizeof(err)), ERR_NOTFOUND);
	const struct kepoch_entry in[] = { { 0, 0 }, { 2, 120 }, { 5, 4096 } };
	ck_assert_int_eq(kckpt_epochs_write(path, in, 3, err, sizeof(err)), 0);
	ck_assert_str_eq(slurp(path), "0\n3\n0 0\n2 120\n5 4096\n"); /* Kafka's exact bytes */
	ck_assert_int_eq(kckpt_epochs_read(path, &e, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(e[i].epoch, in[i].epoch);
		ck_assert_int_eq(e[i].start_offset, in[i].start_offset);
	}
	free(e);
	/* the temporary file is gone */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	/* an empty cache and an empty file */
	ck_assert_int_eq(kckpt_epochs_write(path, NULL, 0, err, sizeof(err)), 0);
	ck_assert_str_eq(slurp(path), "0\n0\n");
	ck_assert_int_eq(kckpt_epochs_read(path, &e, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	spit(path, "");
	ck_assert_int_eq(kckpt_epochs_read(path, &e, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	/* the writer refuses what the reader would refuse, and writes nothing */
	const struct kepoch_entry bad[] = { { 4, 0 }, { 2, 5 } };
	spit(path, "0\n1\n7 7\n");
	ck_assert_int_eq(kckpt_epochs_write(path, bad, 2, err, sizeof(err)), ERR_INVAL);
	ck_assert_str_eq(slurp(path), "0\n1\n7 7\n");
}
END_TEST

START_TEST(test_epoch_file_malformed)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "1\n0\n", "f:1: unsupported version '1'" },
		{ "0\n", "f:2: missing the entry count line" },
		{ "0\n2\n1 5\n", "f:4: 1 entries, the count line says 2" },
		{ "0\n1\n1 5\n2 9\n", "f:4: more lines than the count 1" },
		{ "0\n1\n1 5\n\n", "f:4: more lines than the count 1" },
		{ "0\n1\n1  5\n", "f:3: empty field" },
		{ "0\n1\n1 5 \n", "f:3: empty field" },
		{ "0\n1\n1\n", "f:3: 1 fields, expected 2" },
		{ "0\n1\n1 5 6\n", "f:3: more than 2 fields" },
		{ "0\n1\n-1 5\n", "f:3: bad leader epoch '-1'" },
		{ "0\n1\n2147483648 5\n", "f:3: bad leader epoch '2147483648'" },
		{ "0\n1\n1 9223372036854775808\n", "f:3: bad start offset" },
		{ "0\n1\n01 5\n", "f:3: bad leader epoch '01'" },
		{ "0\n1\n+1 5\n", "f:3: bad leader epoch '+1'" },
		{ "0\n1\n1 5\r\n", "f:3: byte 0x0d not allowed" },
		{ "0\n2\n3 5\n3 9\n", "f:4: epoch 3 not above the previous 3" },
		{ "0\n2\n3 9\n4 5\n", "f:4: start offset 5 below the previous 9" },
		{ "0\n1000001\n", "f:2: bad entry count '1000001'" },
		{ "0\nx\n", "f:2: bad entry count 'x'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kepoch_entry *e = (struct kepoch_entry *)1;
		size_t n = 7;
		char err[256] = "";
		int rc = kckpt_epochs_parse("f", cases[i].text, strlen(cases[i].text), &e, &n, err, sizeof(err));
		ck_assert_msg(rc == ERR_CORRUPT, "case %zu: rc %d", i, rc);
		ck_assert_ptr_null(e);
		ck_assert_uint_eq(n, 0);
		ck_assert_msg(strncmp(err, cases[i].msg, strlen(cases[i].msg)) == 0, "case %zu: '%s', want '%s'", i,
			      err, cases[i].msg);
	}
	/* a NUL inside the text */
	struct kepoch_entry *e;
	size_t n;
	char err[256];
	ck_assert_int_eq(kckpt_epochs_parse("f", "0\n1\n1\0005\n", 9, &e, &n, err, sizeof(err)), ERR_CORRUPT);
	/* the last line may lack its newline */
	ck_assert_int_eq(kckpt_epochs_parse("f", "0\n1\n1 5", 7, &e, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0].start_offset, 5);
	free(e);
}
END_TEST

START_TEST(test_offsets_file)
{
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", tdir);
	struct kckpt_offset in[3] = { { "cities", 0, 42 }, { "cities", 1, 17 }, { "__consumer_offsets", 49, 1000000000000 } };
	ck_assert_int_eq(kckpt_offsets_write(path, in, 3, err, sizeof(err)), 0);
	ck_assert_str_eq(slurp(path), "0\n3\ncities 0 42\ncities 1 17\n__consumer_offsets 49 1000000000000\n");
	struct kckpt_offset *o;
	size_t n;
	ck_assert_int_eq(kckpt_offsets_read(path, &o, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(o[2].topic, "__consumer_offsets");
	ck_assert_int_eq(o[2].partition, 49);
	ck_assert_int_eq(o[2].offset, 1000000000000);
	free(o);
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "0\n1\nbad/topic 0 1\n", "replication-offset-checkpoint:3: invalid topic name 'bad/topic'" },
		{ "0\n1\n.. 0 1\n", "replication-offset-checkpoint:3: invalid topic name '..'" },
		{ "0\n1\nt -1 1\n", "replication-offset-checkpoint:3: bad partition '-1'" },
		{ "0\n1\nt 0\n", "replication-offset-checkpoint:3: 2 fields, expected 3" },
		{ "0\n2\nt 0 1\nt 0 2\n", "replication-offset-checkpoint:4: partition t-0 listed twice" },
		{ "0\n3\nt 0 1\nt 1 2\n", "replication-offset-checkpoint:5: 2 entries, the count line says 3" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spit(path, cases[i].text);
		err[0] = 0;
		ck_assert_int_eq(kckpt_offsets_read(path, &o, &n, err, sizeof(err)), ERR_CORRUPT);
		/* the message names the file by its path and the line */
		size_t dl = strlen(tdir);
		ck_assert_msg(strncmp(err, tdir, dl) == 0 && err[dl] == '/' &&
				      strncmp(err + dl + 1, cases[i].msg, strlen(cases[i].msg)) == 0,
			      "case %zu: '%s'", i, err);
	}
	/* a topic name of 249 characters is legal, 250 is not (the writer refuses it) */
	struct kckpt_offset big = { .partition = 0, .offset = 1 };
	memset(big.topic, 'a', KCKPT_TOPIC_MAX);
	ck_assert_int_eq(kckpt_offsets_write(path, &big, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(kckpt_offsets_read(path, &o, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(o[0].topic), KCKPT_TOPIC_MAX);
	free(o);
	struct kckpt_offset dot = { ".", 0, 1 };
	ck_assert_int_eq(kckpt_offsets_write(path, &dot, 1, err, sizeof(err)), ERR_INVAL);
}
END_TEST

START_TEST(test_write_failure_keeps_old_file)
{
	char path[256], err[256] = "";
	/* a directory that does not exist: nothing can be created */
	snprintf(path, sizeof(path), "%s/missing/leader-epoch-checkpoint", tdir);
	const struct kepoch_entry in[] = { { 1, 0 } };
	ck_assert_int_eq(kckpt_epochs_write(path, in, 1, err, sizeof(err)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "missing/leader-epoch-checkpoint.tmp: create"));
	/* the target is a directory: the rename fails, the old one stays, no .tmp is left */
	snprintf(path, sizeof(path), "%s/dir", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	char inner[300];
	snprintf(inner, sizeof(inner), "%s/x", path);
	spit(inner, "keep");
	ck_assert_int_eq(kckpt_epochs_write(path, in, 1, err, sizeof(err)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "rename"));
	ck_assert_str_eq(slurp(inner), "keep");
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	/* reading a directory is an I/O error, not a crash */
	struct kepoch_entry *e;
	size_t n;
	ck_assert_int_eq(kckpt_epochs_read(path, &e, &n, err, sizeof(err)), ERR_IO);
}
END_TEST

static Suite *kckpt_suite(void)
{
	Suite *s = suite_create("kckpt");
	TCase *tc = tcase_create("epoch_cache");
	tcase_add_test(tc, test_epoch_assign_and_truncate);
	tcase_add_test(tc, test_epoch_end_offset_for);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_epoch_file_round_trip);
	tcase_add_test(tc, test_epoch_file_malformed);
	tcase_add_test(tc, test_offsets_file);
	tcase_add_test(tc, test_write_failure_keeps_old_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kckpt_suite());
}

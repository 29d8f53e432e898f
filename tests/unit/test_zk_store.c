/*
 * Unit tests for the coordinator's storage: zk_txnrec (every txn type round-trips), zk_txnlog
 * (group commit through a real event loop, replay, a torn tail cut at every byte offset is
 * truncated with a log line, a bad record in an earlier file refuses to start, zxid gaps) and
 * zk_snap (round trip, a corrupt newest snapshot falls back to the older one, purge).
 */
#include "buf.h"
#include "err.h"
#include "log.h"
#include "zk_db.h"
#include "zk_snap.h"
#include "zk_txnlog.h"
#include "zk_txnrec.h"

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
#include <unistd.h>

static char *tmpdir(void)
{
	static char dir[128];
	ck_assert_ptr_nonnull(check_mkdtemp(dir, sizeof(dir), "samsa-store"));
	return dir;
}

static const struct zk_acl acl1[] = { { ZK_PERM_ALL, "world", "anyone" }, { 1, "digest", "u:h" } };

START_TEST(test_txnrec_round_trip)
{
	uint8_t pw[16];
	memset(pw, 9, sizeof(pw));
	struct zk_txn ops[3];
	memset(ops, 0, sizeof(ops));
	ops[0].type = ZK_TXN_CREATE, ops[0].path = "/m/a", ops[0].data = (const uint8_t *)"", ops[0].data_len = 0;
	ops[0].acl = acl1, ops[0].n_acl = 2, ops[0].ephemeral_owner = ZK_CONTAINER_OWNER;
	ops[1].type = ZK_TXN_CHECK, ops[1].path = "/m", ops[1].version = 3, ops[1].data_len = -1;
	ops[2].type = ZK_TXN_ERROR, ops[2].err = ZK_ERUNTIMEINCONSISTENCY, ops[2].data_len = -1;
	struct zk_txn txns[6];
	memset(txns, 0, sizeof(txns));
	txns[0] = (struct zk_txn){ .type = ZK_TXN_CREATE, .zxid = 5, .time_ms = 77, .session_id = 9, .cxid = 2,
				   .path = "/a", .data = (const uint8_t *)"xyz", .data_len = 3, .acl = acl1,
				   .n_acl = 2, .ephemeral_owner = 9 };
	txns[1] = (struct zk_txn){ .type = ZK_TXN_SETDATA, .zxid = 6, .path = "/a", .data = NULL, .data_len = -1,
				   .version = 4 };
	txns[2] = (struct zk_txn){ .type = ZK_TXN_CREATESESSION, .zxid = 7, .session_id = 0x1234, .timeout_ms = 30000,
				   .passwd = pw, .data_len = -1 };
	txns[3] = (struct zk_txn){ .type = ZK_TXN_CLOSESESSION, .zxid = 8, .session_id = 0x1234, .data_len = -1 };
	txns[4] = (struct zk_txn){ .type = ZK_TXN_ERROR, .zxid = 9, .err = ZK_ENONODE, .data_len = -1 };
	txns[5] = (struct zk_txn){ .type = ZK_TXN_MULTI, .zxid = 10, .ops = ops, .n_ops = 3, .data_len = -1 };
	for (int i = 0; i < 6; i++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(zk_txnrec_encode(&txns[i], &w), 0);
		struct zk_txnrec *r = NULL;
		ck_assert_int_eq(zk_txnrec_decode(w.p, w.len, &r), 0);
		const struct zk_txn *t = zk_txnrec_txn(r);
		ck_assert_int_eq(t->type, txns[i].type);
		ck_assert(t->zxid == txns[i].zxid && t->session_id == txns[i].session_id);
		ck_assert_int_eq(t->data_len, txns[i].data_len);
		if (txns[i].data_len > 0)
			ck_assert_mem_eq(t->data, txns[i].data, (size_t)txns[i].data_len);
		if (txns[i].path)
			ck_assert_str_eq(t->path, txns[i].path);
		ck_assert_int_eq(t->n_acl, txns[i].n_acl);
		if (i == 0)
			ck_assert_str_eq(t->acl[1].id, "u:h");
		if (i == 2)
			ck_assert_mem_eq(t->passwd, pw, 16);
		if (i == 5) {
			ck_assert_int_eq(t->n_ops, 3);
			ck_assert(t->ops[0].ephemeral_owner == ZK_CONTAINER_OWNER);
			ck_assert_int_eq(t->ops[0].data_len, 0);
			ck_assert_int_eq(t->ops[1].version, 3);
			ck_assert_int_eq(t->ops[2].err, ZK_ERUNTIMEINCONSISTENCY);
		}
		zk_txnrec_free(r);
		/* every truncation fails cleanly (or decodes a prefix that validates) */
		for (size_t cut = 0; cut < w.len; cut++) {
			r = NULL;
			if (zk_txnrec_decode(w.p, cut, &r) == 0)
				zk_txnrec_free(r);
		}
		wbuf_free(&w);
	}
}
END_TEST

/* ---- log ---- */

struct durable {
	int64_t zxid;
	int calls;
	struct event_base *base;
	int64_t wait_for;
};

static void on_durable(int64_t zxid, void *arg)
{
	struct durable *d = arg;
	d->zxid = zxid;
	d->calls++;
	if (zxid >= d->wait_for)
		event_base_loopbreak(d->base);
}

/* Writes records for zxids [from, to] with one flush per `per_flush` appends. */
static void write_log(const char *dir, int64_t from, int64_t to, int per_flush, uint64_t *syncs)
{
	struct event_base *base = event_base_new();
	struct zk_txnlog *log = NULL;
	struct durable d = { 0, 0, base, to };
	struct zk_txnlog_opts o = { 1 << 16, 1 << 12, true };
	char eb[256];
	ck_assert_int_eq(zk_txnlog_open(dir, from - 1, &o, base, on_durable, &d, &log, eb, sizeof(eb)), 0);
	for (int64_t z = from; z <= to; z++) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "record-%lld", (long long)z);
		ck_assert_int_eq(zk_txnlog_append(log, z, (const uint8_t *)rec, (size_t)n), 0);
		if ((z - from + 1) % per_flush == 0)
			zk_txnlog_flush(log);
	}
	zk_txnlog_flush(log);
	while (d.zxid < to)
		event_base_loop(base, EVLOOP_ONCE);
	uint64_t appends;
	zk_txnlog_stats(log, &appends, syncs);
	ck_assert_uint_eq(appends, (uint64_t)(to - from + 1));
	zk_txnlog_close(log);
	event_base_free(base);
}

struct seen {
	int64_t first, last;
	int n;
};

static int on_record(int64_t zxid, const uint8_t *rec, size_t len, void *arg)
{
	struct seen *s = arg;
	char want[64];
	int n = snprintf(want, sizeof(want), "record-%lld", (long long)zxid);
	ck_assert_uint_eq(len, (size_t)n);
	ck_assert_mem_eq(rec, want, len);
	if (!s->n)
		s->first = zxid;
	s->last = zxid;
	s->n++;
	return 0;
}

static char *only_log_file(const char *dir)
{
	static char path[512];
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/version-2", dir);
	DIR *d = opendir(sub);
	struct dirent *e;
	path[0] = '\0';
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "log.", 4))
			snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
	closedir(d);
	return path;
}

START_TEST(test_log_group_commit_and_replay)
{
	evthread_use_pthreads();
	char *dir = tmpdir();
	uint64_t syncs = 0;
	write_log(dir, 1, 500, 1, &syncs);
	ck_assert_uint_lt(syncs, 500); /* many appends per fsync */
	struct seen s = { 0 };
	int64_t last;
	char eb[256];
	ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n, 500);
	ck_assert(last == 500);
	/* replay after a snapshot point: only later records */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(zk_txnlog_replay(dir, 450, on_record, &s, &last, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n, 50);
	ck_assert(s.first == 451);
	/* a second run starts a new file; replay crosses files */
	write_log(dir, 501, 520, 5, &syncs);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n, 520);
	int64_t *files;
	size_t nf;
	ck_assert_int_eq(zk_txnlog_files(dir, &files, &nf), 0);
	ck_assert_uint_ge(nf, 2); /* rolled at 4 KiB and at the restart */
	free(files);
}
END_TEST

START_TEST(test_torn_tail_every_offset)
{
	evthread_use_pthreads();
	char *dir = tmpdir();
	uint64_t syncs;
	write_log(dir, 1, 10, 10, &syncs);
	char *path = only_log_file(dir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	size_t full = (size_t)st.st_size;
	uint8_t *copy = malloc(full);
	FILE *f = fopen(path, "rb");
	ck_assert_uint_eq(fread(copy, 1, full, f), full);
	fclose(f);
	size_t last_len = 16 + strlen("record-10");
	char logdir[128];
	snprintf(logdir, sizeof(logdir), "%s/logs", dir);
	char eb[256];
	ck_assert_int_eq(log_open(logdir, "server.log", eb, sizeof(eb)), 0);
	log_set_quiet_stderr(1);
	for (size_t cut = full - last_len + 1; cut < full; cut++) {
		f = fopen(path, "wb");
		fwrite(copy, 1, cut, f);
		fclose(f);
		struct seen s = { 0 };
		int64_t last;
		ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), 0);
		ck_assert_int_eq(s.n, 9);
		ck_assert_int_eq(stat(path, &st), 0);
		/* truncated at the torn record (a few zero bytes left, like preallocation, are fine) */
		ck_assert_uint_ge((size_t)st.st_size, full - last_len);
		ck_assert_uint_le((size_t)st.st_size, cut);
		if ((size_t)st.st_size < cut)
			ck_assert_uint_eq((size_t)st.st_size, full - last_len);
	}
	/* a CRC mismatch in the tail record: also a torn tail */
	copy[full - 1] ^= 0xff;
	f = fopen(path, "wb");
	fwrite(copy, 1, full, f);
	fclose(f);
	struct seen s = { 0 };
	int64_t last;
	ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), 0);
	ck_assert_int_eq(s.n, 9);
	log_close();
	char lpath[160], text[8192] = { 0 };
	snprintf(lpath, sizeof(lpath), "%s/server.log", logdir);
	f = fopen(lpath, "r");
	ck_assert_uint_gt(fread(text, 1, sizeof(text) - 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "truncating the torn tail"));
	ck_assert_ptr_nonnull(strstr(text, "CRC mismatch"));
	free(copy);
}
END_TEST

START_TEST(test_corruption_before_the_tail_refuses)
{
	evthread_use_pthreads();
	char *dir = tmpdir();
	uint64_t syncs;
	write_log(dir, 1, 10, 10, &syncs);
	char first[512];
	strcpy(first, only_log_file(dir));
	write_log(dir, 11, 20, 10, &syncs); /* a later file exists now */
	int fd = open(first, O_RDWR);
	uint8_t b;
	ck_assert_int_eq((int)pread(fd, &b, 1, 40), 1);
	b ^= 0x55;
	ck_assert_int_eq((int)pwrite(fd, &b, 1, 40), 1);
	close(fd);
	struct seen s = { 0 };
	int64_t last;
	char eb[256] = "";
	ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(eb, "not the last log file"));
}
END_TEST

/* A real ZooKeeper's files in dataDir (or any foreign header) stop the start and stay intact:
 * never truncated as a "torn tail", never skipped for an empty tree. */
START_TEST(test_foreign_files_refused_untouched)
{
	char *dir = tmpdir();
	char sub[128], path[256], eb[256] = "";
	snprintf(sub, sizeof(sub), "%s/version-2", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/log.1", sub);
	FILE *f = fopen(path, "wb");
	static const uint8_t zk_log[] = { 'Z', 'K', 'L', 'G', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3 };
	fwrite(zk_log, 1, sizeof(zk_log), f);
	fclose(f);
	struct seen s = { 0 };
	int64_t last;
	log_set_quiet_stderr(1);
	ck_assert_int_eq(zk_txnlog_replay(dir, 0, on_record, &s, &last, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(eb, "is not a samsa transaction log"));
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, sizeof(zk_log));
	unlink(path);
	snprintf(path, sizeof(path), "%s/snapshot.5", sub);
	f = fopen(path, "wb");
	fwrite("ZKSN\0\0\0\2\0\0\0\0\0\0\0\5 and more", 1, 26, f);
	fclose(f);
	int64_t zxid;
	ck_assert_int_eq(zk_snap_load_latest(dir, NULL, NULL, NULL, &zxid, eb, sizeof(eb)), ERR_VERSION);
	ck_assert_ptr_nonnull(strstr(eb, "is not a samsa snapshot"));
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* ---- snapshots ---- */

struct loaded {
	char paths[512];
	int sessions;
};

static int snap_node(const char *path, const uint8_t *data, int32_t len, const struct zk_stat *st,
		     const struct zk_acl *acl, int32_t n, void *arg)
{
	struct loaded *l = arg;
	(void)data;
	(void)acl;
	(void)n;
	char line[64];
	snprintf(line, sizeof(line), "%s:%d:%lld;", path, len, (long long)st->mzxid);
	strcat(l->paths, line);
	return 0;
}

static int snap_session(int64_t id, int32_t timeout, const uint8_t *pw, void *arg)
{
	struct loaded *l = arg;
	(void)pw;
	ck_assert(id == 0x77 && timeout == 4000);
	l->sessions++;
	return 0;
}

static void write_snap(const char *dir, int64_t zxid)
{
	struct zk_snap_writer *w;
	char eb[256];
	uint8_t pw[16] = { 0 };
	struct zk_stat st;
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(zk_snap_begin(dir, zxid, &w, eb, sizeof(eb)), 0);
	st.mzxid = zxid;
	ck_assert_int_eq(zk_snap_add_node(w, "/", (const uint8_t *)"", 0, &st, acl1, 1), 0);
	ck_assert_int_eq(zk_snap_add_node(w, "/a", NULL, -1, &st, acl1, 2), 0);
	ck_assert_int_eq(zk_snap_add_session(w, 0x77, 4000, pw), 0);
	ck_assert_int_eq(zk_snap_finish(w), 0);
}

START_TEST(test_snapshot_round_trip_fallback_purge)
{
	char *dir = tmpdir();
	log_set_quiet_stderr(1);
	write_snap(dir, 5);
	write_snap(dir, 9);
	struct loaded l = { "", 0 };
	int64_t zxid;
	char eb[256];
	ck_assert_int_eq(zk_snap_load_latest(dir, snap_node, snap_session, &l, &zxid, eb, sizeof(eb)), 0);
	ck_assert(zxid == 9);
	ck_assert_str_eq(l.paths, "/:0:9;/a:-1:9;");
	ck_assert_int_eq(l.sessions, 1);
	/* the newest one torn: nothing of it delivered, the older one used */
	char path[128];
	snprintf(path, sizeof(path), "%s/version-2/snapshot.9", dir);
	ck_assert_int_eq(truncate(path, 40), 0);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(zk_snap_load_latest(dir, snap_node, snap_session, &l, &zxid, eb, sizeof(eb)), 0);
	ck_assert(zxid == 5);
	ck_assert_str_eq(l.paths, "/:0:5;/a:-1:5;");
	/* purge keeps the newest 3 */
	for (int64_t z = 10; z < 14; z++)
		write_snap(dir, z);
	ck_assert_int_eq(zk_snap_purge(dir, dir, 3), 0);
	snprintf(path, sizeof(path), "%s/version-2/snapshot.5", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/version-2/snapshot.b", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/version-2/snapshot.a", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* no snapshot at all: an empty start */
	char *empty = tmpdir();
	ck_assert_int_eq(zk_snap_load_latest(empty, snap_node, snap_session, &l, &zxid, eb, sizeof(eb)), 0);
	ck_assert(zxid == 0);
}
END_TEST

/* zk_db's events carry the ACL a watcher needs READ in: the node's own (a deleted node's last
 * one), the parent's for CHILDCHANGED, each op of a multi with the ACLs of its moment. */
static char events[1024];

static void on_event(const char *path, enum zk_event_type type, const struct zk_acl *acl, int32_t n, void *arg)
{
	(void)arg;
	size_t len = strlen(events);
	snprintf(events + len, sizeof(events) - len, "%d %s %s;", (int)type, path,
		 n > 0 ? acl[n - 1].id : "-");
}

START_TEST(test_db_events_carry_acls)
{
	static const struct zk_acl open_acl[] = { { ZK_PERM_ALL, "world", "anyone" } };
	static const struct zk_acl secret[] = { { ZK_PERM_ALL, "digest", "u:h" } };
	static const struct zk_acl other[] = { { ZK_PERM_ALL, "digest", "v:h" } };
	struct zk_db db;
	ck_assert_int_eq(zk_db_init(&db, 1, 2000, 0), 0);
	db.on_event = on_event;
	struct zk_txn ops[5];
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct zk_txn){ .type = ZK_TXN_CREATE, .path = "/s", .acl = secret, .n_acl = 1, .data_len = -1 };
	ops[1] = (struct zk_txn){ .type = ZK_TXN_CREATE, .path = "/s/c", .acl = open_acl, .n_acl = 1, .data_len = -1 };
	ops[2] = (struct zk_txn){ .type = ZK_TXN_SETACL, .path = "/s", .acl = other, .n_acl = 1 };
	ops[3] = (struct zk_txn){ .type = ZK_TXN_DELETE, .path = "/s/c" };
	ops[4] = (struct zk_txn){ .type = ZK_TXN_DELETE, .path = "/s" };
	struct zk_txn multi = { .type = ZK_TXN_MULTI, .zxid = 1, .ops = ops, .n_ops = 5 };
	events[0] = '\0';
	ck_assert_int_eq(zk_db_apply(&db, &multi), 0);
	/* 1 created, 2 deleted, 4 children changed */
	ck_assert_str_eq(events, "1 /s u:h;4 / anyone;1 /s/c anyone;4 /s u:h;2 /s/c anyone;4 /s v:h;"
				 "2 /s v:h;4 / anyone;");
	struct zk_txn one = { .type = ZK_TXN_CREATE, .zxid = 2, .path = "/t", .acl = secret, .n_acl = 1, .data_len = -1 };
	ck_assert_int_eq(zk_db_apply(&db, &one), 0);
	struct zk_txn del = { .type = ZK_TXN_DELETE, .zxid = 3, .path = "/t" };
	events[0] = '\0';
	ck_assert_int_eq(zk_db_apply(&db, &del), 0);
	ck_assert_str_eq(events, "2 /t u:h;4 / anyone;");
	zk_db_destroy(&db);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zk_store");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_txnrec_round_trip);
	tcase_add_test(tc, test_log_group_commit_and_replay);
	tcase_add_test(tc, test_torn_tail_every_offset);
	tcase_add_test(tc, test_corruption_before_the_tail_refuses);
	tcase_add_test(tc, test_foreign_files_refused_untouched);
	tcase_add_test(tc, test_snapshot_round_trip_fallback_purge);
	tcase_add_test(tc, test_db_events_carry_acls);
	suite_add_tcase(s, tc);
	return check_run(s);
}

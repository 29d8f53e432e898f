/*
 * Unit tests for broker/replica/kreplica, the replica manager, against real klogs in a
 * temporary directory: a leader's produce with acks=all held in the purgatory until the ISR has
 * it (and answered at its deadline, or on losing the partition), min.insync.replicas, the ISR
 * write asked through ops and its result, the published HW never past krepl's (consumers read
 * only below it), a follower carrying out APPEND / EPOCHS / HW / TRUNCATE / RESET on its log in
 * order, and the checkpoint files written at shutdown and read back at a restart.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kckpt.h"
#include "kreplica.h"
#include "ktxnidx.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[128];

/* what the ops saw */
static struct {
	int isr_writes;
	struct krepl_state isr;
	int32_t isr_ctrl_epoch;
	int follows, unfollows;
	int32_t followed;
	int wakes;
	int completions;
	struct krm_produce *done;
} seen;

static void t_isr_write(void *arg, const char *topic, int32_t part, const struct krepl_state *st, int32_t ce)
{
	(void)arg;
	ck_assert_str_eq(topic, "t");
	ck_assert_int_eq(part, 0);
	seen.isr_writes++;
	seen.isr = *st;
	seen.isr_ctrl_epoch = ce;
}

static void t_follow(void *arg, const char *topic, int32_t part, int32_t leader, struct krepl *k)
{
	(void)arg;
	(void)topic;
	(void)part;
	ck_assert_ptr_nonnull(k);
	seen.follows++;
	seen.followed = leader;
}

static void t_unfollow(void *arg, const char *topic, int32_t part)
{
	(void)arg;
	(void)topic;
	(void)part;
	seen.unfollows++;
}

static void t_wake(void *arg, const char *topic, int32_t part)
{
	(void)arg;
	(void)topic;
	(void)part;
	seen.wakes++;
}

static const struct krm_ops t_ops = { t_isr_write, t_follow, t_unfollow, t_wake };

static int64_t t_clock_now = 1000;
static int64_t t_clock(void)
{
	return t_clock_now;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(check_mkdtemp(tdir, sizeof(tdir), "samsa-kreplica"));
	memset(&seen, 0, sizeof(seen));
	t_clock_now = 1000;
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", tdir);
}

static struct krm *t_krm(int32_t id)
{
	struct krm_opts o = { .broker_id = id, .log_dir = tdir, .lag_time_max_ms = 100, .ops = &t_ops, .clock = t_clock };
	char err[256];
	struct krm *rm = krm_new(&o, err, sizeof(err));
	ck_assert_msg(rm != NULL, "%s", err);
	return rm;
}

static struct krm_conf t_conf(int32_t min_insync)
{
	struct krm_conf c;
	klog_opts_default(&c.log);
	c.log.test_no_fsync = true;
	c.min_insync = min_insync;
	return c;
}

static struct krepl_state t_state(int32_t leader, int32_t epoch, int32_t version, const int32_t *reps, uint32_t nrep,
				  const int32_t *isr, uint32_t nisr)
{
	struct krepl_state st = { .leader = leader, .leader_epoch = epoch, .zk_version = version };
	st.n_replicas = nrep;
	memcpy(st.replicas, reps, nrep * sizeof(int32_t));
	st.n_isr = nisr;
	memcpy(st.isr, isr, nisr * sizeof(int32_t));
	return st;
}

/* One batch of n records at base_offset stamped with epoch, in w. */
static size_t t_batch(struct wbuf *w, int64_t base_offset, int n, int32_t epoch)
{
	struct kbatch_rec r[16];
	for (int i = 0; i < n; i++)
		r[i] = (struct kbatch_rec){ "k", 1, "value", 5, i, NULL, 0 };
	size_t at = w->len;
	size_t sz = kbatch_build(w, base_offset, 1700000000000, r, n);
	ck_assert_uint_gt(sz, 0);
	kbatch_set_leader_epoch(w->p + at, epoch);
	kbatch_update_crc(w->p + at, sz);
	return sz;
}

static void t_done(void *arg, struct krm_produce *pr)
{
	(void)arg;
	seen.completions++;
	seen.done = pr;
}

/* A produce of n records (acks) to t-0; returns the slot's immediate error, *held whether it
 * waits in the purgatory. The caller frees pr when it was answered at once. */
static int16_t t_produce(struct krm *rm, int n, int acks, int64_t deadline, struct krm_produce **prp, bool *held)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_batch(&w, 0, n, -1);
	struct krm_produce *pr = krm_produce_new(rm, 1, t_done, NULL);
	ck_assert_ptr_nonnull(pr);
	int16_t e = krm_append(rm, pr, 0, "t", 0, w.p, w.len, n, NULL, acks, deadline, false, t_clock_now, NULL);
	wbuf_free(&w);
	*held = !krm_produce_submit(rm, pr);
	*prp = pr;
	return e;
}

static char *t_slurp(const char *name)
{
	static char buf[4096];
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* The published HW is never past krepl's. */
static void t_hw_check(struct krm *rm)
{
	struct krepl *k = krm_krepl(rm, "t", 0);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), krepl_high_watermark(k));
}

/* One batch of n records of an idempotent producer (pid, epoch, seq) at base_offset in w. */
static size_t t_idem_batch(struct wbuf *w, int64_t base_offset, int n, int64_t pid, int16_t epoch, int32_t seq,
			   int32_t leader_epoch)
{
	size_t at = w->len;
	size_t sz = t_batch(w, base_offset, n, leader_epoch);
	uint8_t *b = w->p + at;
	for (int i = 0; i < 8; i++)
		b[KBATCH_OFF_PRODUCER_ID + i] = (uint8_t)((uint64_t)pid >> (56 - 8 * i));
	b[51] = (uint8_t)((uint16_t)epoch >> 8);
	b[52] = (uint8_t)epoch;
	for (int i = 0; i < 4; i++)
		b[53 + i] = (uint8_t)((uint32_t)seq >> (24 - 8 * i));
	kbatch_update_crc(b, sz);
	return sz;
}

/* An idempotent produce of n records to t-0 (as t_produce). */
static int16_t t_idem_produce(struct krm *rm, int64_t pid, int16_t epoch, int32_t seq, int n, int acks,
			      struct krm_produce **prp, bool *held)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_idem_batch(&w, 0, n, pid, epoch, seq, -1);
	struct krm_producer prod = { pid, epoch, seq, n, false };
	struct krm_produce *pr = krm_produce_new(rm, 1, t_done, NULL);
	ck_assert_ptr_nonnull(pr);
	int16_t e = krm_append(rm, pr, 0, "t", 0, w.p, w.len, n, &prod, acks, t_clock_now + 1000, false, t_clock_now,
			       NULL);
	wbuf_free(&w);
	*held = !krm_produce_submit(rm, pr);
	*prp = pr;
	return e;
}

/* The answer of an idempotent produce answered at once: its error, *base its base offset. */
static int16_t t_idem_now(struct krm *rm, int64_t pid, int16_t epoch, int32_t seq, int n, int64_t *base)
{
	struct krm_produce *pr;
	bool held;
	int16_t e = t_idem_produce(rm, pid, epoch, seq, n, -1, &pr, &held);
	ck_assert(!held);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, e);
	*base = krm_produce_result(pr, 0)->base_offset;
	krm_produce_free(pr);
	return e;
}

static int t_count_snapshots(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ls %s/t-0 | grep -c '^[0-9]\\{20\\}\\.snapshot$'", tdir);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	int n = -1;
	ck_assert_int_eq(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static const int32_t R1[] = { 0 }, R3[] = { 0, 1, 2 };

START_TEST(test_rf1_leader_acks_all)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	struct krepl_state st = t_state(0, 0, 0, R1, 1, R1, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert(krm_hosted(rm, "t", 0));
	/* becoming leader wrote the epoch cache through kckpt */
	ck_assert_str_eq(t_slurp("t-0/leader-epoch-checkpoint"), "0\n1\n0 0\n");
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 3, -1, t_clock_now + 1000, &pr, &held), 0);
	ck_assert(!held); /* an ISR of one has it at once */
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 0);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, 0);
	krm_produce_free(pr);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	t_hw_check(rm);
	ck_assert_uint_eq(krm_purgatory_size(rm), 0);
	/* a consumer reads them, and nothing past the end */
	struct klog_slice sl;
	int64_t hw, ls;
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, -1, 0, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(hw, 3);
	ck_assert_int_eq(ls, 0);
	ck_assert_uint_gt(sl.len, 0);
	close(sl.fd);
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, -1, 4, 1 << 20, t_clock_now, &sl, &hw, &ls), KREPL_OFFSET_OUT_OF_RANGE);
	/* fencing (KIP-320): an older epoch is fenced, a newer one unknown */
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, 1, 0, 100, t_clock_now, &sl, &hw, &ls), KREPL_UNKNOWN_LEADER_EPOCH);
	int32_t e;
	int64_t end;
	ck_assert_int_eq(krm_offset_for_epoch(rm, "t", 0, 0, 0, &e, &end), 0);
	ck_assert_int_eq(e, 0);
	ck_assert_int_eq(end, 3);
	ck_assert_int_eq(krm_offset_for_epoch(rm, "nope", 0, -1, 0, &e, &end), KRM_E_UNKNOWN_TOPIC_OR_PARTITION);
	krm_free(rm);
}
END_TEST

START_TEST(test_rf3_purgatory_completes_when_isr_has_it)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 0, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 3, -1, t_clock_now + 1000, &pr, &held), 0);
	ck_assert(held);
	ck_assert_uint_eq(krm_purgatory_size(rm), 1);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 0);
	t_hw_check(rm);
	/* the consumer sees nothing yet: the HW is 0 */
	struct klog_slice sl;
	int64_t hw, ls;
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, -1, 0, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_uint_eq(sl.len, 0);
	ck_assert_int_eq(hw, 0);
	/* follower 1 fetches from 0: it gets the records (up to the log end, past the HW) */
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 1, 0, 0, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_uint_gt(sl.len, 0);
	close(sl.fd);
	/* 1 has them; 2 has not: still held */
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 1, 0, 3, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(seen.completions, 0);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 0);
	t_hw_check(rm);
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 2, 0, 3, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(seen.completions, 1);
	ck_assert_ptr_eq(seen.done, pr);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, 0);
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 0);
	ck_assert(!krm_produce_result(pr, 0)->waiting);
	krm_produce_free(pr);
	ck_assert_uint_eq(krm_purgatory_size(rm), 0);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	t_hw_check(rm);
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, -1, 0, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(hw, 3);
	ck_assert_uint_gt(sl.len, 0);
	close(sl.fd);
	ck_assert_int_gt(seen.wakes, 0);
	/* a replica id that is no replica of the partition */
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 7, 0, 3, 100, t_clock_now, &sl, &hw, &ls), KREPL_NOT_LEADER_OR_FOLLOWER);
	krm_free(rm);
}
END_TEST

/* The controller takes a dead follower out of the ISR within the epoch (a newer znode version,
 * the same leader epoch): the leader takes it and the produce the dead one held completes; the
 * same state read again (every refresh of the topic) and an older one change nothing; a follower
 * takes it without being handed to its fetcher again. */
START_TEST(test_same_epoch_isr_change)
{
	static const int32_t R01[] = { 0, 1 };
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 4, 10, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 3, -1, t_clock_now + 10000, &pr, &held), 0);
	ck_assert(held);
	struct klog_slice sl;
	int64_t hw, ls;
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 1, 4, 0, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	close(sl.fd);
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 1, 4, 3, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(seen.completions, 0); /* 2 (dead) holds it */
	struct krepl_state shrunk = t_state(0, 4, 11, R3, 3, R01, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &shrunk, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(seen.completions, 1);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, 0);
	krm_produce_free(pr);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	struct krepl *k = krm_krepl(rm, "t", 0);
	uint32_t n;
	int32_t zkv;
	krepl_isr(k, &n, &zkv);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(zkv, 11);
	ck_assert_int_eq(krepl_role(k), KREPL_LEADER);
	ck_assert_int_eq(krepl_leader_epoch(k), 4);
	ck_assert_int_eq(krm_become(rm, "t", 0, &shrunk, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0); /* older */
	krepl_isr(k, &n, &zkv);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(zkv, 11);
	krm_free(rm);
	/* a follower: handed to its fetcher once, not again for an ISR change */
	memset(&seen, 0, sizeof(seen));
	rm = t_krm(1);
	st = t_state(0, 4, 10, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(seen.follows, 1);
	shrunk = t_state(0, 4, 11, R3, 3, R01, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &shrunk, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(seen.follows, 1);
	ck_assert_int_eq(seen.unfollows, 0);
	krepl_isr(krm_krepl(rm, "t", 0), &n, &zkv);
	ck_assert_int_eq(zkv, 11);
	krm_free(rm);
}
END_TEST

START_TEST(test_purgatory_times_out)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 0, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 2, -1, t_clock_now + 50, &pr, &held), 0);
	ck_assert(held);
	krm_tick(rm, t_clock_now + 49);
	ck_assert_int_eq(seen.completions, 0);
	krm_tick(rm, t_clock_now + 50);
	ck_assert_int_eq(seen.completions, 1);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, KREPL_REQUEST_TIMED_OUT);
	krm_produce_free(pr);
	ck_assert_uint_eq(krm_purgatory_size(rm), 0);
	/* the records stay in the log, above the HW */
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 0);
	ck_assert_int_eq(krepl_log_end(krm_krepl(rm, "t", 0)), 2);
	krm_free(rm);
}
END_TEST

START_TEST(test_purgatory_answered_on_losing_leadership)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 0, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krm_produce *pr, *pr2;
	bool held;
	ck_assert_int_eq(t_produce(rm, 2, -1, t_clock_now + 5000, &pr, &held), 0);
	ck_assert(held);
	/* a produce whose client went away leaves the purgatory unanswered */
	ck_assert_int_eq(t_produce(rm, 1, -1, t_clock_now + 5000, &pr2, &held), 0);
	ck_assert(held);
	krm_produce_free(pr2);
	ck_assert_uint_eq(krm_purgatory_size(rm), 1);
	/* the controller moved leadership to 1 (epoch 1): the waiting produce fails, the log
	 * follows 1 */
	int32_t isr12[] = { 1, 2 };
	st = t_state(1, 1, 1, R3, 3, isr12, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	ck_assert_int_eq(seen.completions, 1);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, KREPL_NOT_LEADER_OR_FOLLOWER);
	krm_produce_free(pr);
	ck_assert_int_eq(seen.follows, 1);
	ck_assert_int_eq(seen.followed, 1);
	/* a stale epoch changes nothing */
	st = t_state(0, 0, 0, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(krepl_role(krm_krepl(rm, "t", 0)), KREPL_TRUNCATING);
	/* not a replica any more: removed with its directory */
	ck_assert_int_eq(krm_remove(rm, "t", 0, true), 0);
	ck_assert(!krm_hosted(rm, "t", 0));
	ck_assert_int_eq(seen.unfollows, 1);
	char path[256];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/t-0", tdir);
	ck_assert_int_ne(stat(path, &sb), 0);
	krm_free(rm);
}
END_TEST

START_TEST(test_min_insync_and_isr_write)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 4, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 7, &c, t_clock_now), 0);
	/* no follower fetches for longer than replica.lag.time.max.ms: the ISR shrinks to [0],
	 * asked as a write conditional on version 4 with the controller epoch of the state */
	krm_tick(rm, t_clock_now + 101);
	ck_assert_int_eq(seen.isr_writes, 1);
	ck_assert_uint_eq(seen.isr.n_isr, 1);
	ck_assert_int_eq(seen.isr.isr[0], 0);
	ck_assert_int_eq(seen.isr.zk_version, 4);
	ck_assert_int_eq(seen.isr.leader_epoch, 0);
	ck_assert_int_eq(seen.isr_ctrl_epoch, 7);
	/* until it is written the larger ISR counts */
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 1, -1, t_clock_now + 5000, &pr, &held), 0);
	ck_assert(held);
	krm_isr_result(rm, "t", 0, 0, true, 5, t_clock_now + 102);
	uint32_t n;
	int32_t ver;
	const int32_t *isr = krepl_isr(krm_krepl(rm, "t", 0), &n, &ver);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(isr[0], 0);
	ck_assert_int_eq(ver, 5);
	/* the held produce: the ISR [0] has it, below min.insync.replicas */
	ck_assert_int_eq(seen.completions, 1);
	ck_assert_int_eq(krm_produce_result(pr, 0)->error, KREPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
	krm_produce_free(pr);
	/* acks=all now refused before appending; acks=1 still taken */
	int64_t end = krepl_log_end(krm_krepl(rm, "t", 0));
	ck_assert_int_eq(t_produce(rm, 1, -1, t_clock_now + 5000, &pr, &held), KREPL_NOT_ENOUGH_REPLICAS);
	ck_assert(!held);
	krm_produce_free(pr);
	ck_assert_int_eq(krepl_log_end(krm_krepl(rm, "t", 0)), end);
	ck_assert_int_eq(t_produce(rm, 1, 1, t_clock_now + 5000, &pr, &held), 0);
	krm_produce_free(pr);
	/* a topic config lowering min.insync.replicas applies at once */
	c.min_insync = 1;
	krm_set_conf(rm, "t", 0, &c);
	ck_assert_int_eq(t_produce(rm, 1, -1, t_clock_now + 5000, &pr, &held), 0);
	ck_assert(!held);
	krm_produce_free(pr);
	krm_free(rm);
}
END_TEST

START_TEST(test_refused_isr_write_backs_off)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 4, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 7, &c, t_clock_now), 0);
	krm_tick(rm, t_clock_now + 101);
	ck_assert_int_eq(seen.isr_writes, 1);
	/* refused (the znode's version moved under us): the shrink is proposed again at the next
	 * ticks, but no write leaves for a second */
	krm_isr_result(rm, "t", 0, 0, false, -1, t_clock_now + 110);
	for (int64_t t = 120; t < 1100; t += 20)
		krm_tick(rm, t_clock_now + t);
	ck_assert_int_eq(seen.isr_writes, 1);
	ck_assert(krepl_isr_pending(krm_krepl(rm, "t", 0))); /* held in flight meanwhile */
	krm_tick(rm, t_clock_now + 1110);
	ck_assert_int_eq(seen.isr_writes, 2);
	ck_assert_uint_eq(seen.isr.n_isr, 1);
	krm_isr_result(rm, "t", 0, 0, true, 5, t_clock_now + 1120);
	uint32_t n;
	int32_t ver;
	krepl_isr(krm_krepl(rm, "t", 0), &n, &ver);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ver, 5);
	krm_free(rm);
}
END_TEST

/* A fetch answer of leader 1 for follower 0: batches [0,2] and [3,4] of epoch 0, HW 3. */
START_TEST(test_follower_actions_in_order)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	int32_t reps[] = { 1, 0 };
	struct krepl_state st = t_state(1, 0, 0, reps, 2, reps, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krepl *k = krm_krepl(rm, "t", 0);
	ck_assert_int_eq(krepl_role(k), KREPL_FOLLOWING); /* an empty log has nothing to compare */
	ck_assert_int_eq(seen.follows, 1);
	ck_assert_int_eq(seen.followed, 1);
	struct krepl_fetch_req fr;
	ck_assert(krepl_fetch_request(k, &fr));
	ck_assert_int_eq(fr.fetch_offset, 0);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_batch(&w, 0, 3, 0);
	t_batch(&w, 3, 2, 0);
	struct krepl_batch bs[] = { { 0, 2, 0 }, { 3, 4, 0 } };
	struct krepl_fetch_resp resp = { .error = KREPL_OK, .leader_epoch = 0, .fetch_offset = 0, .high_watermark = 3,
					 .log_start = 0, .diverging_epoch = -1, .diverging_end_offset = -1,
					 .batches = bs, .n_batches = 2 };
	krm_fetch_answer(rm, "t", 0, &resp, w.p, w.len);
	ck_assert_int_eq(krepl_log_end(k), 5);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	t_hw_check(rm);
	ck_assert_str_eq(t_slurp("t-0/leader-epoch-checkpoint"), "0\n1\n0 0\n");
	/* the follower serves no consumer, but its log holds the leader's bytes */
	struct klog_slice sl;
	int64_t hw, ls;
	ck_assert_int_eq(krm_fetch(rm, "t", 0, -1, -1, 0, 100, t_clock_now, &sl, &hw, &ls), KREPL_NOT_LEADER_OR_FOLLOWER);
	char seg[256];
	struct stat sb;
	snprintf(seg, sizeof(seg), "%s/t-0/00000000000000000000.log", tdir);
	ck_assert_int_eq(stat(seg, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)w.len);
	/* a batch the bytes do not hold is refused: the log stays as it was */
	struct krepl_batch bad[] = { { 5, 6, 0 } };
	resp.fetch_offset = 5;
	resp.batches = bad;
	resp.n_batches = 1;
	krm_fetch_answer(rm, "t", 0, &resp, w.p, w.len); /* bytes of [0,2]: not [5,6] */
	ck_assert(!krm_hosted(rm, "t", 0) || krepl_role(krm_krepl(rm, "t", 0)) == KREPL_OFFLINE);
	wbuf_free(&w);
	krm_free(rm);
}
END_TEST

START_TEST(test_follower_truncates_and_resets)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	int32_t reps[] = { 1, 0, 2 };
	struct krepl_state st = t_state(1, 0, 0, reps, 3, reps, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krepl *k = krm_krepl(rm, "t", 0);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_batch(&w, 0, 3, 0);
	t_batch(&w, 3, 2, 0);
	struct krepl_batch bs[] = { { 0, 2, 0 }, { 3, 4, 0 } };
	struct krepl_fetch_resp resp = { .error = KREPL_OK, .leader_epoch = 0, .fetch_offset = 0, .high_watermark = 3,
					 .log_start = 0, .diverging_epoch = -1, .diverging_end_offset = -1,
					 .batches = bs, .n_batches = 2 };
	krm_fetch_answer(rm, "t", 0, &resp, w.p, w.len);
	wbuf_free(&w);
	ck_assert_int_eq(krepl_log_end(k), 5);
	/* leader 1 dies; 2 leads epoch 1 having only [0,2] of epoch 0 (KIP-101): we truncate */
	int32_t isr[] = { 2, 0 };
	st = t_state(2, 1, 1, reps, 3, isr, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	ck_assert_int_eq(krepl_role(k), KREPL_TRUNCATING);
	ck_assert_int_eq(seen.follows, 2);
	ck_assert_int_eq(seen.followed, 2);
	struct krepl_epoch_req er;
	ck_assert(krepl_epoch_request(k, &er));
	struct krepl_epoch_resp eresp = { KREPL_OK, er.current_leader_epoch, er.leader_epoch, 0, 3 };
	krm_epoch_answer(rm, "t", 0, &eresp);
	ck_assert_int_eq(krepl_role(k), KREPL_FOLLOWING);
	ck_assert_int_eq(krepl_log_end(k), 3);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	char seg[256];
	struct stat sb;
	snprintf(seg, sizeof(seg), "%s/t-0/00000000000000000000.log", tdir);
	ck_assert_int_eq(stat(seg, &sb), 0);
	ck_assert_int_lt(sb.st_size, 200);
	/* the leader's log now starts past our end (retention): the log restarts there */
	struct krepl_fetch_resp oor = { .error = KREPL_OFFSET_OUT_OF_RANGE, .leader_epoch = 1, .fetch_offset = 3,
					.high_watermark = 20, .log_start = 10, .diverging_epoch = -1,
					.diverging_end_offset = -1 };
	krm_fetch_answer(rm, "t", 0, &oor, NULL, 0);
	ck_assert_int_eq(krepl_log_end(k), 10);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 10);
	snprintf(seg, sizeof(seg), "%s/t-0/00000000000000000010.log", tdir);
	ck_assert_int_eq(stat(seg, &sb), 0);
	krm_free(rm);
	/* reopened: the log starts and ends at 10, the HW checkpoint says 10 */
	rm = t_krm(0);
	st = t_state(2, 1, 1, reps, 3, isr, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 10);
	krm_free(rm);
}
END_TEST

START_TEST(test_checkpoints_written_and_read_back)
{
	/* a start-up entry of a partition not hosted here yet is kept in the file */
	char path[256];
	snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", tdir);
	struct kckpt_offset other = { "other", 3, 7 };
	char err[256];
	ck_assert_int_eq(kckpt_offsets_write(path, &other, 1, err, sizeof(err)), 0);
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	struct krepl_state st = t_state(0, 0, 0, R1, 1, R1, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krm_produce *pr;
	bool held;
	ck_assert_int_eq(t_produce(rm, 5, 1, 0, &pr, &held), 0);
	krm_produce_free(pr);
	ck_assert_int_eq(krm_checkpoint(rm, err, sizeof(err)), 0);
	struct kckpt_offset *o;
	size_t n;
	ck_assert_int_eq(kckpt_offsets_read(path, &o, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	bool t0 = false, oth = false;
	for (size_t i = 0; i < n; i++) {
		t0 |= !strcmp(o[i].topic, "t") && o[i].partition == 0 && o[i].offset == 5;
		oth |= !strcmp(o[i].topic, "other") && o[i].partition == 3 && o[i].offset == 7;
	}
	free(o);
	ck_assert(t0 && oth);
	krm_free(rm); /* clean shutdown: both files, the recovery point at the end */
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", tdir);
	ck_assert_int_eq(kckpt_offsets_read(path, &o, &n, err, sizeof(err)), 0);
	bool rp = false;
	for (size_t i = 0; i < n; i++)
		rp |= !strcmp(o[i].topic, "t") && o[i].partition == 0 && o[i].offset == 5;
	free(o);
	ck_assert(rp);
	/* restart: the HW comes back from the file before any follower or produce */
	rm = t_krm(0);
	int32_t reps[] = { 0, 1 }, isr0[] = { 0 };
	st = t_state(0, 1, 1, reps, 2, isr0, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 5);
	t_hw_check(rm);
	ck_assert_str_eq(t_slurp("t-0/leader-epoch-checkpoint"), "0\n2\n0 0\n1 5\n");
	krm_free(rm);
	/* a corrupt checkpoint stops the manager with the file and line */
	snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", tdir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("0\n1\nt x 5\n", f);
	fclose(f);
	struct krm_opts ko = { .broker_id = 0, .log_dir = tdir, .ops = &t_ops };
	ck_assert_ptr_null(krm_new(&ko, err, sizeof(err)));
	ck_assert_msg(strstr(err, "replication-offset-checkpoint:3") != NULL, "%s", err);
}
END_TEST

/* The idempotent producer on the leader (Kafka's ProducerStateManager checks): a retried batch is
 * not appended and is answered with its original's base offset, and under acks=all only once the
 * ISR has the original; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch
 * INVALID_PRODUCER_EPOCH, nothing appended for either; the state survives a clean restart (the
 * close snapshot) and a crash's (the log replayed without snapshots). */
START_TEST(test_idempotent_producer)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(2);
	struct krepl_state st = t_state(0, 0, 0, R3, 3, R3, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krepl *k = krm_krepl(rm, "t", 0);
	struct krm_produce *pr, *dup;
	bool held;
	ck_assert_int_eq(t_idem_produce(rm, 7, 0, 0, 3, -1, &pr, &held), 0);
	ck_assert(held);
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 0);
	/* the retry before the followers have it: nothing appended, held as well */
	ck_assert_int_eq(t_idem_produce(rm, 7, 0, 0, 3, -1, &dup, &held), 0);
	ck_assert(held);
	ck_assert_int_eq(krm_produce_result(dup, 0)->base_offset, 0);
	ck_assert_int_eq(krepl_log_end(k), 3);
	ck_assert_uint_eq(krm_purgatory_size(rm), 2);
	struct klog_slice sl;
	int64_t hw, ls;
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 1, 0, 3, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(seen.completions, 0);
	ck_assert_int_eq(krm_fetch(rm, "t", 0, 2, 0, 3, 1 << 20, t_clock_now, &sl, &hw, &ls), 0);
	ck_assert_int_eq(seen.completions, 2); /* both, once the HW covers offset 2 */
	ck_assert_int_eq(krm_produce_result(dup, 0)->error, 0);
	ck_assert_int_eq(krm_produce_result(dup, 0)->base_offset, 0);
	krm_produce_free(pr);
	krm_produce_free(dup);
	/* committed: a retry now is answered at once (acks=1 too) */
	int64_t base;
	ck_assert_int_eq(t_idem_now(rm, 7, 0, 0, 3, &base), 0);
	ck_assert_int_eq(base, 0);
	ck_assert_int_eq(t_idem_produce(rm, 7, 0, 0, 3, 1, &pr, &held), 0);
	ck_assert(!held);
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 0);
	krm_produce_free(pr);
	/* the next batch, in order; then a gap, an older epoch, a lying count: nothing appended */
	ck_assert_int_eq(t_idem_produce(rm, 7, 0, 3, 2, 1, &pr, &held), 0);
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 3);
	krm_produce_free(pr);
	ck_assert_int_eq(t_idem_now(rm, 7, 0, 10, 1, &base), KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER);
	ck_assert_int_eq(base, -1);
	ck_assert_int_eq(t_idem_produce(rm, 7, 1, 0, 1, 1, &pr, &held), 0); /* an epoch bump from 0 */
	ck_assert_int_eq(krm_produce_result(pr, 0)->base_offset, 5);
	krm_produce_free(pr);
	ck_assert_int_eq(t_idem_now(rm, 7, 0, 5, 1, &base), KRM_E_INVALID_PRODUCER_EPOCH);
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 5, 1, &base), KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_idem_batch(&w, 0, 2, 7, 1, 1, -1);
	struct krm_producer lie = { 7, 1, 1, 3, false };
	pr = krm_produce_new(rm, 1, t_done, NULL);
	ck_assert_int_eq(krm_append(rm, pr, 0, "t", 0, w.p, w.len, 2, &lie, 1, t_clock_now + 1000, false, t_clock_now, NULL),
			 KRM_E_INVALID_RECORD);
	krm_produce_free(pr);
	wbuf_free(&w);
	ck_assert_int_eq(krepl_log_end(k), 6);
	/* another producer is independent; a batch without a producer id is never checked */
	ck_assert_int_eq(t_idem_produce(rm, 8, 0, 40, 1, 1, &pr, &held), 0);
	krm_produce_free(pr);
	ck_assert_int_eq(t_produce(rm, 1, 1, t_clock_now + 1000, &pr, &held), 0);
	krm_produce_free(pr);
	ck_assert_int_eq(krepl_log_end(k), 8);

	/* a clean restart: the close snapshot holds both producers */
	krm_free(rm);
	ck_assert_int_ge(t_count_snapshots(), 1);
	rm = t_krm(0);
	st = t_state(0, 1, 1, R1, 1, R1, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	krm_set_conf(rm, "t", 0, &(struct krm_conf){ c.log, 1 });
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 0, 1, &base), 0); /* the last batch of 7, at 5 */
	ck_assert_int_eq(base, 5);
	ck_assert_int_eq(t_idem_now(rm, 8, 0, 40, 1, &base), 0);
	ck_assert_int_eq(base, 6);
	ck_assert_int_eq(t_idem_now(rm, 7, 0, 0, 1, &base), KRM_E_INVALID_PRODUCER_EPOCH);
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 2, 1, &base), KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER);
	ck_assert_int_eq(krepl_log_end(krm_krepl(rm, "t", 0)), 8);
	/* a crash's restart: no snapshot, the state rebuilt from the log (all five batches of 7) */
	krm_free(rm);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -f %s/t-0/*.snapshot", tdir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(t_count_snapshots(), 0);
	rm = t_krm(0);
	st = t_state(0, 2, 2, R1, 1, R1, 1);
	c.min_insync = 1;
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(t_idem_now(rm, 7, 0, 3, 2, &base), KRM_E_INVALID_PRODUCER_EPOCH); /* epoch 1 now */
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 0, 1, &base), 0);
	ck_assert_int_eq(base, 5);
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 1, 1, &base), 0); /* in order: appended */
	ck_assert_int_eq(base, 8);
	ck_assert_int_eq(t_idem_now(rm, 7, 1, 1, 1, &base), 0);
	ck_assert_int_eq(base, 8);
	ck_assert_int_eq(krepl_log_end(krm_krepl(rm, "t", 0)), 9);
	krm_free(rm);
}
END_TEST

/* A follower's state comes from the batches it fetches, so that as the next leader it knows the
 * retries of what the old leader appended (Kafka's failover case). */
START_TEST(test_idempotent_follower_then_leader)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	int32_t reps[] = { 1, 0 };
	struct krepl_state st = t_state(1, 0, 0, reps, 2, reps, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krepl *k = krm_krepl(rm, "t", 0);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_idem_batch(&w, 0, 3, 9, 0, 0, 0);
	t_idem_batch(&w, 3, 2, 9, 0, 3, 0);
	struct krepl_batch bs[] = { { 0, 2, 0 }, { 3, 4, 0 } };
	struct krepl_fetch_resp resp = { .error = KREPL_OK, .leader_epoch = 0, .fetch_offset = 0, .high_watermark = 3,
					 .log_start = 0, .diverging_epoch = -1, .diverging_end_offset = -1,
					 .batches = bs, .n_batches = 2 };
	krm_fetch_answer(rm, "t", 0, &resp, w.p, w.len);
	wbuf_free(&w);
	ck_assert_int_eq(krepl_log_end(k), 5);
	/* a follower answers NOT_LEADER_OR_FOLLOWER before any sequence check */
	int64_t base;
	ck_assert_int_eq(t_idem_now(rm, 9, 0, 0, 3, &base), KREPL_NOT_LEADER_OR_FOLLOWER);
	/* it becomes the leader (epoch 1): the retries of what it fetched are duplicates */
	int32_t isr0[] = { 0 };
	st = t_state(0, 1, 1, reps, 2, isr0, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(t_idem_now(rm, 9, 0, 0, 3, &base), 0);
	ck_assert_int_eq(base, 0);
	ck_assert_int_eq(t_idem_now(rm, 9, 0, 3, 2, &base), 0);
	ck_assert_int_eq(base, 3);
	ck_assert_int_eq(t_idem_now(rm, 9, 0, 6, 1, &base), KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER);
	ck_assert_int_eq(krepl_log_end(k), 5);
	krm_free(rm);
}
END_TEST


static off_t t_txnindex_size(int64_t base)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/t-0/%020lld.txnindex", tdir, (long long)base);
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Transactions on a replica: a follower derives the open transaction and the aborted one from
 * the batches it fetches (LSO, .txnindex); a truncation below the abort marker takes the entry
 * out of memory and the file and reopens the transaction; as leader it appends markers
 * (epoch and coordinator-epoch checks) and serves read_committed fetches up to the LSO. */
START_TEST(test_transactions_follower_then_leader)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	int32_t reps[] = { 1, 0, 2 };
	struct krepl_state st = t_state(1, 0, 0, reps, 3, reps, 3);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct krepl *k = krm_krepl(rm, "t", 0);
	/* [0,1] producer 9's transaction, 2 its abort, 3 its next transaction, 4 plain */
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	size_t at = w.len;
	t_idem_batch(&w, 0, 2, 9, 0, 0, 0);
	w.p[at + KBATCH_OFF_ATTRIBUTES + 1] |= KBATCH_TRANSACTIONAL;
	kbatch_update_crc(w.p + at, w.len - at);
	at = w.len;
	ck_assert_uint_gt(kbatch_build_marker(&w, 9, 0, 4, false, 1700000000000), 0);
	kbatch_set_base_offset(w.p + at, 2);
	kbatch_set_leader_epoch(w.p + at, 0);
	at = w.len;
	t_idem_batch(&w, 3, 1, 9, 0, 2, 0);
	w.p[at + KBATCH_OFF_ATTRIBUTES + 1] |= KBATCH_TRANSACTIONAL;
	kbatch_update_crc(w.p + at, w.len - at);
	t_batch(&w, 4, 1, 0);
	struct krepl_batch bs[] = { { 0, 1, 0 }, { 2, 2, 0 }, { 3, 3, 0 }, { 4, 4, 0 } };
	struct krepl_fetch_resp resp = { .error = KREPL_OK, .leader_epoch = 0, .fetch_offset = 0, .high_watermark = 5,
					 .log_start = 0, .diverging_epoch = -1, .diverging_end_offset = -1,
					 .batches = bs, .n_batches = 4 };
	krm_fetch_answer(rm, "t", 0, &resp, w.p, w.len);
	wbuf_free(&w);
	ck_assert_int_eq(krepl_log_end(k), 5);
	int64_t hw = krm_high_watermark(rm, "t", 0);
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), hw < 3 ? hw : 3);
	ck_assert_int_eq(t_txnindex_size(0), 34);
	/* leader 1 dies; 2 leads epoch 1 with only [0, 2) (KIP-101): the abort marker goes */
	int32_t isr[] = { 2, 0 };
	st = t_state(2, 1, 1, reps, 3, isr, 2);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	struct krepl_epoch_req er;
	ck_assert(krepl_epoch_request(k, &er));
	struct krepl_epoch_resp eresp = { KREPL_OK, er.current_leader_epoch, er.leader_epoch, 0, 2 };
	krm_epoch_answer(rm, "t", 0, &eresp);
	ck_assert_int_eq(krepl_log_end(k), 2);
	ck_assert_int_eq(t_txnindex_size(0), -1);		 /* no abort left: no file, as Kafka */
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), 0); /* the transaction is open again */
	/* it leads (epoch 2, alone in the ISR): markers are checked, then appended and committed */
	int32_t isr0[] = { 0 };
	st = t_state(0, 2, 2, reps, 3, isr0, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	struct krm_produce *pr = krm_produce_new(rm, 4, t_done, NULL);
	ck_assert_int_eq(krm_append_marker(rm, pr, 0, "t", 0, 9, -1, 0, true, t_clock_now + 1000, t_clock_now),
			 KRM_E_INVALID_PRODUCER_EPOCH);
	ck_assert_int_eq(krm_append_marker(rm, pr, 1, "t", 0, 9, 0, 5, true, t_clock_now + 1000, t_clock_now), 0);
	ck_assert_int_eq(krm_produce_result(pr, 1)->base_offset, 2);
	ck_assert_int_eq(krm_append_marker(rm, pr, 2, "t", 0, 9, 0, 4, true, t_clock_now + 1000, t_clock_now),
			 KRM_E_TRANSACTION_COORDINATOR_FENCED);
	ck_assert_int_eq(krm_append_marker(rm, pr, 3, "u", 0, 9, 0, 5, true, t_clock_now + 1000, t_clock_now),
			 KRM_E_UNKNOWN_TOPIC_OR_PARTITION);
	ck_assert(krm_produce_submit(rm, pr)); /* an ISR of one: nothing waits */
	krm_produce_free(pr);
	ck_assert_int_eq(krepl_log_end(k), 3);
	ck_assert_int_eq(krm_high_watermark(rm, "t", 0), 3);
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), 3);
	/* read_committed from 0: everything below the LSO, no aborted transaction */
	struct krm_fetch_txn tx = { .read_committed = true };
	struct klog_slice sl;
	int64_t log_start;
	ck_assert_int_eq(krm_fetch_txn(rm, "t", 0, -1, -1, 0, 1 << 20, t_clock_now, &tx, &sl, &hw, &log_start), 0);
	ck_assert_int_eq(tx.lso, 3);
	ck_assert_uint_eq(tx.n_aborted, 0);
	ck_assert_uint_gt(sl.len, 0);
	close(sl.fd);
	ck_assert_int_eq(t_txnindex_size(0), -1);
	krm_free(rm);
	/* reopened after a clean close: the same LSO */
	rm = t_krm(0);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 2, &c, t_clock_now), 0);
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), 3);
	krm_free(rm);
}
END_TEST


/* A corrupt .txnindex below the producer-state snapshot: the state and the aborted transactions
 * are rebuilt from the whole log at start-up, and the file written again. */
START_TEST(test_txnindex_corrupt_rebuilt)
{
	struct krm *rm = t_krm(0);
	struct krm_conf c = t_conf(1);
	struct krepl_state st = t_state(0, 0, 0, R1, 1, R1, 1);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	t_idem_batch(&w, 0, 2, 9, 0, 0, -1);
	w.p[KBATCH_OFF_ATTRIBUTES + 1] |= KBATCH_TRANSACTIONAL;
	kbatch_update_crc(w.p, w.len);
	struct krm_producer prod = { 9, 0, 0, 2, true };
	struct krm_produce *pr = krm_produce_new(rm, 2, t_done, NULL);
	ck_assert_int_eq(krm_append(rm, pr, 0, "t", 0, w.p, w.len, 2, &prod, -1, t_clock_now + 1000, false, t_clock_now,
				    NULL), 0);
	wbuf_free(&w);
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), 0); /* the transaction is open */
	ck_assert_int_eq(krm_append_marker(rm, pr, 1, "t", 0, 9, 0, 0, false, t_clock_now + 1000, t_clock_now), 0);
	ck_assert(krm_produce_submit(rm, pr));
	krm_produce_free(pr);
	ck_assert_int_eq(krm_last_stable_offset(rm, "t", 0), 3);
	ck_assert_int_eq(t_txnindex_size(0), 34);
	krm_free(rm); /* a clean close: the snapshot covers the whole log */
	char path[512];
	snprintf(path, sizeof(path), "%s/t-0/%020d.txnindex", tdir, 0);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("not an index", f);
	fclose(f);
	rm = t_krm(0);
	ck_assert_int_eq(krm_become(rm, "t", 0, &st, 1, &c, t_clock_now), 0);
	ck_assert_int_eq(t_txnindex_size(0), 34);
	struct krm_fetch_txn tx = { .read_committed = true };
	struct klog_slice sl;
	int64_t hw, log_start;
	ck_assert_int_eq(krm_fetch_txn(rm, "t", 0, -1, -1, 0, 1 << 20, t_clock_now, &tx, &sl, &hw, &log_start), 0);
	ck_assert_int_eq(tx.lso, 3);
	ck_assert_uint_eq(tx.n_aborted, 1);
	ck_assert_int_eq(tx.aborted[0].producer_id, 9);
	ck_assert_int_eq(tx.aborted[0].first_offset, 0);
	ck_assert_int_eq(tx.aborted[0].last_offset, 2);
	free(tx.aborted);
	close(sl.fd);
	krm_free(rm);
}
END_TEST

static Suite *kreplica_suite(void)
{
	Suite *s = suite_create("kreplica");
	TCase *tc = tcase_create("manager");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rf1_leader_acks_all);
	tcase_add_test(tc, test_idempotent_producer);
	tcase_add_test(tc, test_idempotent_follower_then_leader);
	tcase_add_test(tc, test_transactions_follower_then_leader);
	tcase_add_test(tc, test_txnindex_corrupt_rebuilt);
	tcase_add_test(tc, test_rf3_purgatory_completes_when_isr_has_it);
	tcase_add_test(tc, test_purgatory_times_out);
	tcase_add_test(tc, test_same_epoch_isr_change);
	tcase_add_test(tc, test_purgatory_answered_on_losing_leadership);
	tcase_add_test(tc, test_min_insync_and_isr_write);
	tcase_add_test(tc, test_refused_isr_write_backs_off);
	tcase_add_test(tc, test_follower_actions_in_order);
	tcase_add_test(tc, test_follower_truncates_and_resets);
	tcase_add_test(tc, test_checkpoints_written_and_read_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kreplica_suite());
}

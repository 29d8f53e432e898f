/*
 * Unit tests for ktxn, the transaction coordinator's core, driven without a broker: ownership
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS); InitProducerId of a new id (a new producer
 * id, epoch 0, the Empty record written before the answer), a commit (Ongoing written, the
 * answer, PrepareCommit, the markers asked, CompleteCommit after they are acknowledged); a second
 * producer fencing the first while a transaction is open (CONCURRENT_TRANSACTIONS, the old
 * epoch PRODUCER_FENCED at once, the abort's markers, the next epoch once it completed); a
 * transaction timing out; a failed write changing nothing; a loaded PrepareCommit sending its
 * markers again; the timeout bound; the KIP-360 checks; an idle id expiring (a tombstone, then
 * forgotten).
 */
#include "ktxn.h"

#include "buf.h"
#include "check_main.h"
#include "err.h"
#include "kerr.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NPARTS 50

struct fake {
	int replies;
	struct ktxn_answer last;
	void *last_token;
	int appends;
	uint64_t append_id;
	int32_t append_part;
	uint8_t key[256], value[4096];
	size_t klen, vlen;
	int16_t append_err; /* answered at once */
	bool tombstone; /* the last append was one */
	int markers;
	uint64_t mark_id;
	bool mark_commit;
	int16_t mark_epoch;
	int32_t mark_coord_epoch, mark_parts;
	int64_t next_pid;
};

static void f_reply(void *arg, void *token, const struct ktxn_answer *a)
{
	struct fake *f = arg;
	f->replies++;
	f->last = *a;
	f->last_token = token;
}

static int16_t f_append(void *arg, int32_t part, const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
			uint64_t id)
{
	struct fake *f = arg;
	if (f->append_err)
		return f->append_err;
	f->appends++;
	f->append_id = id;
	f->append_part = part;
	ck_assert(klen <= sizeof(f->key) && vlen <= sizeof(f->value));
	memcpy(f->key, key, klen);
	f->tombstone = !value;
	if (value)
		memcpy(f->value, value, vlen);
	f->klen = klen;
	f->vlen = vlen;
	return KE_NONE;
}

static int16_t f_new_pid(void *arg, int64_t *pid)
{
	struct fake *f = arg;
	*pid = f->next_pid++;
	return KE_NONE;
}

static void f_markers(void *arg, uint64_t id, const struct ktxn_markers *m)
{
	struct fake *f = arg;
	f->markers++;
	f->mark_id = id;
	f->mark_commit = m->commit;
	f->mark_epoch = m->producer_epoch;
	f->mark_coord_epoch = m->coordinator_epoch;
	f->mark_parts = 0;
	for (int32_t i = 0; i < m->ntopics; i++)
		f->mark_parts += m->topics[i].n;
}

static const struct ktxns_ops ops = { f_reply, f_append, f_new_pid, f_markers, NULL };

static struct ktxns *mk(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->next_pid = 1000;
	struct ktxns_conf c = { .state_partitions = NPARTS, .max_timeout_ms = 900000, .abort_check_ms = 100,
				.id_expiration_ms = 100000, .expire_check_ms = 1000 };
	struct ktxns *ts = ktxns_new(&c, &ops, f);
	ck_assert_ptr_nonnull(ts);
	return ts;
}

#define ID(s) (const uint8_t *)(s), strlen(s)

static void own(struct ktxns *ts, const char *id)
{
	int32_t p = ktxns_partition(ts, ID(id));
	ktxns_load_begin(ts, p, 3);
	ktxns_load_end(ts, p, 0);
}

/* the last record written, decoded */
static void last_value(struct fake *f, struct ktxnrec_value *v)
{
	ck_assert_int_eq(ktxnrec_value_decode(f->value, f->vlen, v), 0);
}

static int tok[16];

/* InitProducerId of id answered with its producer id and epoch */
static struct ktxn_answer init_ok(struct ktxns *ts, struct fake *f, const char *id, int64_t now)
{
	int r0 = f->replies;
	ktxns_init_pid(ts, &tok[0], ID(id), 60000, -1, -1, 4, now);
	ck_assert_int_eq(f->replies, r0); /* not before the write */
	ktxns_append_done(ts, f->append_id, KE_NONE, now);
	ck_assert_int_eq(f->replies, r0 + 1);
	ck_assert_int_eq(f->last.error, KE_NONE);
	return f->last;
}

static void add_ok(struct ktxns *ts, struct fake *f, const char *id, struct ktxn_answer a, const char *topic,
		   int32_t part, int64_t now)
{
	struct ktxn_tp tp = { topic, part };
	int r0 = f->replies;
	ktxns_add_partitions(ts, &tok[1], ID(id), a.producer_id, a.producer_epoch, &tp, 1, now);
	ktxns_append_done(ts, f->append_id, KE_NONE, now);
	ck_assert_int_eq(f->replies, r0 + 1);
	ck_assert_int_eq(f->last.error, KE_NONE);
}

START_TEST(test_ownership)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	ktxns_init_pid(ts, &tok[0], ID("t1"), 60000, -1, -1, 4, 0);
	ck_assert_int_eq(f.last.error, KE_NOT_COORDINATOR);
	int32_t p = ktxns_partition(ts, ID("t1"));
	ck_assert_int_eq(p, ktxns_partition(ts, ID("t1")));
	ktxns_load_begin(ts, p, 1);
	ktxns_end(ts, &tok[0], ID("t1"), 1, 0, true, 0);
	ck_assert_int_eq(f.last.error, KE_COORDINATOR_LOAD_IN_PROGRESS);
	ktxns_load_end(ts, p, 0);
	ck_assert_int_eq(ktxns_owns(ts, ID("t1")), KE_NONE);
	ktxns_end(ts, &tok[0], ID("t1"), 1, 0, true, 0);
	ck_assert_int_eq(f.last.error, KE_INVALID_PRODUCER_ID_MAPPING);
	ktxns_init_pid(ts, &tok[0], ID("t1"), 900001, -1, -1, 4, 0);
	ck_assert_int_eq(f.last.error, KE_INVALID_TRANSACTION_TIMEOUT);
	ktxns_unload(ts, p);
	ck_assert_int_eq(ktxns_owns(ts, ID("t1")), KE_NOT_COORDINATOR);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_commit)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	own(ts, "t1");
	struct ktxn_answer a = init_ok(ts, &f, "t1", 10);
	ck_assert_int_eq(a.producer_id, 1000);
	ck_assert_int_eq(a.producer_epoch, 0);
	ck_assert_int_eq(f.append_part, ktxns_partition(ts, ID("t1")));
	struct ktxnrec_value v;
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_EMPTY);
	ck_assert_int_eq(v.ntopics, -1);
	ck_assert_int_eq(v.producer_id, 1000);
	ktxnrec_value_free(&v);
	const uint8_t *kid;
	size_t klen;
	ck_assert_int_eq(ktxnrec_key_decode(f.key, f.klen, &kid, &klen), 0);
	ck_assert(klen == 2 && !memcmp(kid, "t1", 2));

	add_ok(ts, &f, "t1", a, "orders", 0, 20);
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_ONGOING);
	ck_assert_int_eq(v.start_ms, 20);
	ck_assert_int_eq(v.ntopics, 1);
	ktxnrec_value_free(&v);
	/* the same partition again: answered at once, nothing written */
	int n = f.appends;
	struct ktxn_tp tp = { "orders", 0 };
	ktxns_add_partitions(ts, &tok[1], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 21);
	ck_assert_int_eq(f.appends, n);
	ck_assert_int_eq(f.last.error, KE_NONE);
	add_ok(ts, &f, "t1", a, "orders", 1, 22);

	int r0 = f.replies;
	ktxns_end(ts, &tok[2], ID("t1"), a.producer_id, a.producer_epoch, true, 30);
	ck_assert_int_eq(f.replies, r0);
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_PREPARE_COMMIT);
	ktxnrec_value_free(&v);
	/* while it is being written: another request waits its turn */
	ktxns_add_partitions(ts, &tok[3], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 31);
	ck_assert_int_eq(f.last.error, KE_CONCURRENT_TRANSACTIONS);
	ktxns_append_done(ts, f.append_id, KE_NONE, 32);
	ck_assert_ptr_eq(f.last_token, &tok[2]);
	ck_assert_int_eq(f.last.error, KE_NONE);
	ck_assert_int_eq(f.markers, 1);
	ck_assert(f.mark_commit);
	ck_assert_int_eq(f.mark_parts, 2);
	ck_assert_int_eq(f.mark_coord_epoch, 3);
	ck_assert(ktxns_markers_wanted(ts, f.mark_id));
	/* a retried commit while the markers go out */
	ktxns_end(ts, &tok[2], ID("t1"), a.producer_id, a.producer_epoch, true, 33);
	ck_assert_int_eq(f.last.error, KE_CONCURRENT_TRANSACTIONS);
	ktxns_end(ts, &tok[2], ID("t1"), a.producer_id, a.producer_epoch, false, 33);
	ck_assert_int_eq(f.last.error, KE_INVALID_TXN_STATE);
	n = f.appends;
	ktxns_markers_done(ts, f.mark_id, 40);
	ck_assert_int_eq(f.appends, n + 1);
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_COMPLETE_COMMIT);
	ck_assert_int_eq(v.ntopics, 0);
	ktxnrec_value_free(&v);
	ktxns_append_done(ts, f.append_id, KE_NONE, 41);
	struct ktxn_info in;
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_COMPLETE_COMMIT);
	ck_assert_int_eq(in.npartitions, 0);
	/* a retried commit whose answer was lost */
	ktxns_end(ts, &tok[2], ID("t1"), a.producer_id, a.producer_epoch, true, 42);
	ck_assert_int_eq(f.last.error, KE_NONE);
	/* the next transaction starts from CompleteCommit */
	add_ok(ts, &f, "t1", a, "orders", 2, 50);
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_ONGOING);
	ck_assert_int_eq(in.npartitions, 1);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_fencing)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	own(ts, "t1");
	struct ktxn_answer a = init_ok(ts, &f, "t1", 10);
	add_ok(ts, &f, "t1", a, "orders", 0, 20);
	/* a second producer with the same id */
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, -1, -1, 4, 30);
	ck_assert_int_eq(f.last.error, KE_CONCURRENT_TRANSACTIONS);
	struct ktxn_info in;
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_PREPARE_EPOCH_FENCE);
	ck_assert_int_eq(in.producer_epoch, 1);
	/* the first producer is fenced at once */
	struct ktxn_tp tp = { "orders", 1 };
	ktxns_add_partitions(ts, &tok[1], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 31);
	ck_assert_int_eq(f.last.error, KE_PRODUCER_FENCED);
	ktxns_end(ts, &tok[1], ID("t1"), a.producer_id, a.producer_epoch, true, 31);
	ck_assert_int_eq(f.last.error, KE_PRODUCER_FENCED);
	struct ktxnrec_value v;
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_PREPARE_ABORT);
	ck_assert_int_eq(v.producer_epoch, 1);
	ktxnrec_value_free(&v);
	ktxns_append_done(ts, f.append_id, KE_NONE, 32);
	ck_assert_int_eq(f.markers, 1);
	ck_assert(!f.mark_commit);
	ck_assert_int_eq(f.mark_epoch, 1);
	/* the retry still waits for the abort */
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, -1, -1, 4, 33);
	ck_assert_int_eq(f.last.error, KE_CONCURRENT_TRANSACTIONS);
	ktxns_markers_done(ts, f.mark_id, 34);
	ktxns_append_done(ts, f.append_id, KE_NONE, 35);
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_COMPLETE_ABORT);
	struct ktxn_answer b = init_ok(ts, &f, "t1", 36);
	ck_assert_int_eq(b.producer_id, a.producer_id);
	ck_assert_int_eq(b.producer_epoch, 2);
	/* v3 InitProducerId naming the fenced epoch: fenced (v4 PRODUCER_FENCED, v3 the old code) */
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, a.producer_id, 0, 4, 37);
	ck_assert_int_eq(f.last.error, KE_PRODUCER_FENCED);
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, a.producer_id, 0, 3, 37);
	ck_assert_int_eq(f.last.error, KE_INVALID_PRODUCER_EPOCH);
	/* naming the current one bumps it; naming the previous one again answers the same */
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, b.producer_id, b.producer_epoch, 4, 38);
	ktxns_append_done(ts, f.append_id, KE_NONE, 38);
	ck_assert_int_eq(f.last.producer_epoch, 3);
	ktxns_init_pid(ts, &tok[4], ID("t1"), 60000, b.producer_id, b.producer_epoch, 4, 39);
	ck_assert_int_eq(f.last.error, KE_NONE);
	ck_assert_int_eq(f.last.producer_epoch, 3);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_timeout_aborts)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	own(ts, "t1");
	struct ktxn_answer a = init_ok(ts, &f, "t1", 0);
	add_ok(ts, &f, "t1", a, "orders", 0, 1000);
	int n = f.appends;
	ktxns_tick(ts, 1000 + 60000); /* not past it yet */
	ck_assert_int_eq(f.appends, n);
	ktxns_tick(ts, 1000 + 60200);
	ck_assert_int_eq(f.appends, n + 1);
	struct ktxnrec_value v;
	last_value(&f, &v);
	ck_assert_int_eq(v.status, KTXNSTATE_PREPARE_ABORT);
	ck_assert_int_eq(v.producer_epoch, 1);
	ktxnrec_value_free(&v);
	/* the write fails: retried on the tick */
	ktxns_append_done(ts, f.append_id, KE_NOT_ENOUGH_REPLICAS, 61300);
	ktxns_tick(ts, 61400);
	ck_assert_int_eq(f.appends, n + 2);
	ktxns_append_done(ts, f.append_id, KE_NONE, 61500);
	ck_assert_int_eq(f.markers, 1);
	ktxns_end(ts, &tok[0], ID("t1"), a.producer_id, a.producer_epoch, true, 61600);
	ck_assert_int_eq(f.last.error, KE_PRODUCER_FENCED);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_failed_write_changes_nothing)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	own(ts, "t1");
	struct ktxn_answer a = init_ok(ts, &f, "t1", 0);
	struct ktxn_tp tp = { "orders", 0 };
	ktxns_add_partitions(ts, &tok[1], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 1);
	ktxns_append_done(ts, f.append_id, KE_NOT_LEADER_OR_FOLLOWER, 2);
	ck_assert_int_eq(f.last.error, KE_NOT_COORDINATOR);
	struct ktxn_info in;
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_EMPTY);
	f.append_err = KE_NOT_ENOUGH_REPLICAS; /* refused at once */
	ktxns_add_partitions(ts, &tok[1], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 3);
	ck_assert_int_eq(f.last.error, KE_COORDINATOR_NOT_AVAILABLE);
	f.append_err = 0;
	ktxns_add_partitions(ts, &tok[1], ID("t1"), a.producer_id + 1, a.producer_epoch, &tp, 1, 3);
	ck_assert_int_eq(f.last.error, KE_INVALID_PRODUCER_ID_MAPPING);
	/* a waiting request is answered NOT_COORDINATOR when the partition goes */
	ktxns_add_partitions(ts, &tok[5], ID("t1"), a.producer_id, a.producer_epoch, &tp, 1, 4);
	ktxns_unload(ts, ktxns_partition(ts, ID("t1")));
	ck_assert_ptr_eq(f.last_token, &tok[5]);
	ck_assert_int_eq(f.last.error, KE_NOT_COORDINATOR);
	ck_assert_uint_eq(ktxns_count(ts), 0);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_load_resumes_markers)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	int32_t p = ktxns_partition(ts, ID("t1"));
	int32_t parts[] = { 0, 1 };
	struct ktxnrec_topic t = { "orders", 2, parts };
	struct ktxnrec_value v = { .producer_id = 77, .producer_epoch = 5, .timeout_ms = 60000,
				   .status = KTXNSTATE_ONGOING, .ntopics = 1, .topics = &t, .last_update_ms = 1,
				   .start_ms = 1 };
	struct wbuf kw, vw;
	wbuf_init(&kw, 1024);
	wbuf_init(&vw, 1024);
	ktxnrec_key_encode(&kw, ID("t1"));
	ktxnrec_value_encode(&vw, &v);
	char eb[128];
	ktxns_load_begin(ts, p, 9);
	ck_assert_int_eq(ktxns_load_record(ts, p, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	v.status = KTXNSTATE_PREPARE_COMMIT; /* the later record wins */
	wbuf_reset(&vw);
	ktxnrec_value_encode(&vw, &v);
	ck_assert_int_eq(ktxns_load_record(ts, p, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	ck_assert_int_ne(ktxns_load_record(ts, p, kw.p, kw.len, vw.p, 3, eb, sizeof(eb)), 0);
	ck_assert_int_ne(ktxns_load_record(ts, p + 1, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(f.markers, 0);
	ktxns_load_end(ts, p, 2);
	ck_assert_int_eq(f.markers, 1);
	ck_assert(f.mark_commit);
	ck_assert_int_eq(f.mark_parts, 2);
	ck_assert_int_eq(f.mark_coord_epoch, 9);
	ck_assert_int_eq(f.mark_epoch, 5);
	ktxns_markers_done(ts, f.mark_id, 3);
	ktxns_append_done(ts, f.append_id, KE_NONE, 4);
	struct ktxn_info in;
	ck_assert(ktxns_info(ts, "t1", &in));
	ck_assert_int_eq(in.state, KTXNSTATE_COMPLETE_COMMIT);
	/* a tombstone removes it */
	ktxns_load_begin(ts, p, 10);
	ck_assert_int_eq(ktxns_load_record(ts, p, kw.p, kw.len, vw.p, vw.len, eb, sizeof(eb)), 0);
	ck_assert_int_eq(ktxns_load_record(ts, p, kw.p, kw.len, NULL, 0, eb, sizeof(eb)), 0);
	ktxns_load_end(ts, p, 5);
	ck_assert(!ktxns_info(ts, "t1", &in));
	wbuf_free(&kw);
	wbuf_free(&vw);
	ktxns_free(ts);
}
END_TEST

START_TEST(test_expiration)
{
	struct fake f;
	struct ktxns *ts = mk(&f);
	own(ts, "t1");
	struct ktxn_answer a = init_ok(ts, &f, "t1", 0);
	int n = f.appends;
	ktxns_tick(ts, 50000);
	ck_assert_int_eq(f.appends, n); /* not idle for id_expiration_ms yet */
	ktxns_tick(ts, 102000);
	ck_assert_int_eq(f.appends, n + 1);
	ck_assert(f.tombstone);
	/* while the tombstone is written the id is busy */
	ktxns_init_pid(ts, &tok[0], ID("t1"), 60000, -1, -1, 4, 102001);
	ck_assert_int_eq(f.last.error, KE_CONCURRENT_TRANSACTIONS);
	ktxns_append_done(ts, f.append_id, KE_NONE, 102002);
	struct ktxn_info in;
	ck_assert(!ktxns_info(ts, "t1", &in)); /* forgotten */
	/* a new producer of the id starts from scratch: a new producer id */
	struct ktxn_answer b = init_ok(ts, &f, "t1", 102003);
	ck_assert_int_ne(b.producer_id, a.producer_id);
	ck_assert_int_eq(b.producer_epoch, 0);
	ktxns_free(ts);
}
END_TEST

static Suite *ktxn_suite(void)
{
	Suite *s = suite_create("ktxn");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_ownership);
	tcase_add_test(tc, test_commit);
	tcase_add_test(tc, test_fencing);
	tcase_add_test(tc, test_timeout_aborts);
	tcase_add_test(tc, test_failed_write_changes_nothing);
	tcase_add_test(tc, test_load_resumes_markers);
	tcase_add_test(tc, test_expiration);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ktxn_suite());
}

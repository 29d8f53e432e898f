/*
 * Unit tests for broker/replica/krepl, the replication core: the role state machine (legal
 * edges, stale and malformed LeaderAndIsr refused, waiting produces failed on leaving LEADER),
 * ISR and high-watermark arithmetic (acks=all completion, min.insync.replicas, shrink after
 * replica.lag.time.max.ms counted only once written, expansion at the HW and the epoch start,
 * zk version conflicts, deadlines, ISR changes by the controller within an epoch), fencing of a deposed leader, and the leader-epoch truncation
 * cases: the two scenarios that motivated KIP-101 (a committed message lost by HW truncation
 * after a double restart; replicas diverging after both restart with unflushed tails), KIP-279's
 * walk back, and KIP-595's diverging-epoch answer to a fetch.
 *
 * The nodes here are a tiny in-memory harness: a log of (epoch, value) per offset, carried out
 * from the core's actions exactly as the replica manager will.
 */
#include "err.h"
#include "kepoch.h"
#include "krepl.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMAX 256

struct tnode {
	int32_t id;
	struct krepl *k;
	int32_t ep[TMAX];
	int val[TMAX];
	int64_t n;
	uint64_t tok[64];
	enum krepl_error terr[64];
	int ndone;
	int isr_updates;
	struct krepl_state isr_write; /* the last ISR_UPDATE */
	int truncations;
	int64_t last_trunc;
	char log[512];
};

static void t_logf(void *arg, int32_t id, const char *line)
{
	struct tnode *x = arg;
	(void)id;
	size_t l = strlen(x->log);
	if (l + strlen(line) + 2 < sizeof(x->log))
		snprintf(x->log + l, sizeof(x->log) - l, "%s\n", line);
}

static void t_apply(struct tnode *x, const struct tnode *src);

static void t_new(struct tnode *x, int32_t id, int64_t hw)
{
	/* restart with the log x holds: the epoch cache rebuilt from its records */
	struct kepoch_entry e[TMAX];
	size_t ne = 0;
	for (int64_t i = 0; i < x->n; i++)
		if (!ne || e[ne - 1].epoch != x->ep[i])
			e[ne++] = (struct kepoch_entry){ x->ep[i], i };
	krepl_free(x->k);
	x->id = id;
	struct krepl_opts o = { .broker_id = id, .lag_time_max_ms = 100, .min_insync = 2, .log_end = x->n,
				.high_watermark = hw, .epochs = e, .n_epochs = ne, .log = t_logf, .log_arg = x };
	char err[128];
	x->k = krepl_new(&o, err, sizeof(err));
	ck_assert_msg(x->k != NULL, "%s", err);
	t_apply(x, NULL);
}

static void t_free(struct tnode *x)
{
	krepl_free(x->k);
	x->k = NULL;
}

/* Carries out x's actions; appends copy the records from src (the leader that served them). */
static void t_apply(struct tnode *x, const struct tnode *src)
{
	size_t n;
	const struct krepl_action *a = krepl_actions(x->k, &n);
	for (size_t i = 0; i < n; i++) {
		switch (a[i].type) {
		case KREPL_ACT_TRUNCATE:
			ck_assert_int_lt(a[i].offset, x->n);
			x->n = a[i].offset;
			x->truncations++;
			x->last_trunc = a[i].offset;
			break;
		case KREPL_ACT_RESET:
			x->n = a[i].offset;
			break;
		case KREPL_ACT_APPEND:
			ck_assert_ptr_nonnull(src);
			ck_assert_int_eq(a[i].offset, x->n);
			for (int64_t o = a[i].offset; o <= a[i].last_offset; o++) {
				x->ep[o] = src->ep[o];
				x->val[o] = src->val[o];
			}
			x->n = a[i].last_offset + 1;
			break;
		case KREPL_ACT_ISR_UPDATE:
			x->isr_updates++;
			x->isr_write = a[i].state;
			break;
		case KREPL_ACT_COMPLETE:
			ck_assert_int_lt(x->ndone, 64);
			x->tok[x->ndone] = a[i].token;
			x->terr[x->ndone++] = a[i].error;
			break;
		case KREPL_ACT_EPOCHS:
		case KREPL_ACT_HW:
		case KREPL_ACT_TYPE_COUNT:
			break;
		}
	}
	krepl_actions_clear(x->k);
	ck_assert_int_eq(x->n, krepl_log_end(x->k));
}

static struct krepl_state t_state(int32_t leader, int32_t epoch, int32_t zkv, const int32_t *isr, uint32_t n_isr)
{
	struct krepl_state st = { .leader = leader, .leader_epoch = epoch, .zk_version = zkv, .n_isr = n_isr,
				  .n_replicas = 3, .replicas = { 1, 2, 3 } };
	memcpy(st.isr, isr, n_isr * sizeof(int32_t));
	return st;
}

static void t_become(struct tnode *x, const struct krepl_state *st, int64_t now)
{
	ck_assert_int_eq(krepl_become(x->k, st, now), 0);
	t_apply(x, NULL);
}

/* Leader x takes a produce of one record with value v. */
static enum krepl_error t_produce(struct tnode *x, int v, int acks, uint64_t token, int64_t deadline, int64_t now)
{
	int64_t base;
	int32_t ep;
	enum krepl_error e = krepl_append(x->k, 1, acks, token, deadline, now, &base, &ep);
	if (e == KREPL_OK) {
		ck_assert_int_eq(base, x->n);
		x->ep[base] = ep;
		x->val[base] = v;
		x->n = base + 1;
	}
	t_apply(x, NULL);
	return e;
}

/* One fetch round trip from follower f to leader l. */
static void t_fetch(struct tnode *f, struct tnode *l, int64_t now)
{
	struct krepl_fetch_req rq;
	if (!krepl_fetch_request(f->k, &rq))
		return;
	struct krepl_fetch_plan p;
	krepl_fetch(l->k, &rq, now, &p);
	t_apply(l, NULL);
	struct krepl_batch b[TMAX];
	size_t nb = 0;
	for (int64_t o = p.from; o < p.to; o++)
		b[nb++] = (struct krepl_batch){ o, o, l->ep[o] };
	struct krepl_fetch_resp rs = { .error = p.error, .leader_epoch = rq.current_leader_epoch,
				       .fetch_offset = rq.fetch_offset, .high_watermark = p.high_watermark,
				       .log_start = p.log_start, .diverging = p.diverging,
				       .diverging_epoch = p.diverging_epoch,
				       .diverging_end_offset = p.diverging_end_offset, .batches = b, .n_batches = nb };
	ck_assert_int_eq(krepl_fetch_response(f->k, &rs, now), 0);
	t_apply(f, l);
}

/* The truncation rounds of follower f against leader l (KIP-101 / KIP-279). */
static int t_truncate(struct tnode *f, struct tnode *l)
{
	int rounds = 0;
	struct krepl_epoch_req rq;
	while (krepl_epoch_request(f->k, &rq)) {
		struct krepl_epoch_resp rs = { .current_leader_epoch = rq.current_leader_epoch,
					       .requested_epoch = rq.leader_epoch };
		rs.error = krepl_offset_for_epoch(l->k, rq.current_leader_epoch, rq.leader_epoch, &rs.leader_epoch,
						  &rs.end_offset);
		ck_assert_int_eq(krepl_epoch_response(f->k, &rs, 0), 0);
		t_apply(f, NULL);
		ck_assert_int_lt(++rounds, 10);
	}
	return rounds;
}

static void t_zk(struct tnode *l, bool ok, int32_t new_version, int64_t now)
{
	krepl_isr_result(l->k, krepl_leader_epoch(l->k), ok, new_version, now);
	t_apply(l, NULL);
}

/* ---- role state machine ----------------------------------------------------------------- */

START_TEST(test_roles)
{
	struct tnode a = { 0 };
	t_new(&a, 1, 0);
	ck_assert_int_eq(krepl_role(a.k), KREPL_OFFLINE);
	const int32_t isr3[] = { 1, 2, 3 };
	struct krepl_state st = t_state(1, 0, 0, isr3, 3);
	/* malformed states change nothing */
	struct krepl_state bad = st;
	bad.replicas[0] = 7; /* this broker is not a replica */
	ck_assert_int_eq(krepl_become(a.k, &bad, 0), ERR_INVAL);
	bad = st;
	bad.isr[2] = 9; /* ISR outside the replicas */
	ck_assert_int_eq(krepl_become(a.k, &bad, 0), ERR_INVAL);
	bad = st;
	bad.n_isr = 1;
	bad.isr[0] = 2; /* leader outside the ISR */
	ck_assert_int_eq(krepl_become(a.k, &bad, 0), ERR_INVAL);
	bad = st;
	bad.replicas[1] = 1; /* duplicate replica */
	ck_assert_int_eq(krepl_become(a.k, &bad, 0), ERR_INVAL);
	ck_assert_int_eq(krepl_role(a.k), KREPL_OFFLINE);

	t_become(&a, &st, 0);
	ck_assert_int_eq(krepl_role(a.k), KREPL_LEADER);
	ck_assert_int_eq(kepoch_latest(krepl_epochs(a.k)), 0);
	ck_assert_ptr_nonnull(strstr(a.log, "epoch 0: offline -> leader (LeaderAndIsr)"));
	ck_assert_int_eq(t_produce(&a, 10, -1, 77, 1000, 0), KREPL_OK);
	ck_assert_uint_eq(krepl_waiting(a.k), 1);
	/* the same epoch again is stale */
	ck_assert_int_eq(krepl_become(a.k, &st, 0), ERR_RANGE);
	/* LEADER -> LEADER with a new epoch keeps the waiting produce */
	st.leader_epoch = 1;
	t_become(&a, &st, 0);
	ck_assert_uint_eq(krepl_waiting(a.k), 1);
	ck_assert_int_eq(kepoch_start_of(krepl_epochs(a.k), 1), 1);
	/* LEADER -> TRUNCATING answers it with NOT_LEADER_OR_FOLLOWER */
	st = t_state(2, 2, 1, isr3, 3);
	t_become(&a, &st, 0);
	ck_assert_int_eq(krepl_role(a.k), KREPL_TRUNCATING);
	ck_assert_int_eq(a.ndone, 1);
	ck_assert_uint_eq(a.tok[0], 77);
	ck_assert_int_eq(a.terr[0], KREPL_NOT_LEADER_OR_FOLLOWER);
	ck_assert_ptr_nonnull(strstr(a.log, "epoch 2: leader -> truncating (LeaderAndIsr)"));
	int64_t base;
	int32_t ep;
	ck_assert_int_eq(krepl_append(a.k, 1, -1, 1, 0, 0, &base, &ep), KREPL_NOT_LEADER_OR_FOLLOWER);
	struct krepl_fetch_req fr;
	ck_assert(!krepl_fetch_request(a.k, &fr)); /* truncating: no fetch yet */
	struct krepl_epoch_req er;
	ck_assert(krepl_epoch_request(a.k, &er));
	ck_assert_int_eq(er.current_leader_epoch, 2);
	ck_assert_int_eq(er.leader_epoch, 1);
	/* an epoch above the one asked about is refused */
	struct krepl_epoch_resp bogus = { .current_leader_epoch = 2, .requested_epoch = 1, .leader_epoch = 5,
					  .end_offset = 1 };
	ck_assert_int_eq(krepl_epoch_response(a.k, &bogus, 0), ERR_PROTO);
	/* answers to older requests are ignored: another leader epoch, another epoch asked about */
	struct krepl_epoch_resp old = { .current_leader_epoch = 1, .requested_epoch = 1, .leader_epoch = 1,
					.end_offset = 1 };
	ck_assert_int_eq(krepl_epoch_response(a.k, &old, 0), 0);
	struct krepl_epoch_resp late = { .current_leader_epoch = 2, .requested_epoch = 3, .leader_epoch = 0,
					 .end_offset = 0 };
	ck_assert_int_eq(krepl_epoch_response(a.k, &late, 0), 0);
	ck_assert_int_eq(krepl_role(a.k), KREPL_TRUNCATING);
	ck_assert_int_eq(krepl_log_end(a.k), 1);
	struct krepl_epoch_resp ok = { .current_leader_epoch = 2, .requested_epoch = 1, .leader_epoch = 1,
				       .end_offset = 1 };
	ck_assert_int_eq(krepl_epoch_response(a.k, &ok, 0), 0);
	t_apply(&a, NULL);
	ck_assert_int_eq(krepl_role(a.k), KREPL_FOLLOWING);
	ck_assert(krepl_fetch_request(a.k, &fr));
	ck_assert_int_eq(fr.fetch_offset, 1);
	/* epoch 1 (led without a record) starts at the truncation point and is dropped: the last
	 * fetched epoch is that of the last record */
	ck_assert_int_eq(fr.last_fetched_epoch, 0);
	/* FOLLOWING -> LEADER -> OFFLINE */
	st = t_state(1, 3, 2, isr3, 3);
	t_become(&a, &st, 0);
	ck_assert_int_eq(krepl_role(a.k), KREPL_LEADER);
	krepl_stop(a.k);
	t_apply(&a, NULL);
	ck_assert_int_eq(krepl_role(a.k), KREPL_OFFLINE);
	ck_assert_ptr_nonnull(strstr(a.log, "leader -> offline (StopReplica)"));
	t_free(&a);
}
END_TEST

START_TEST(test_restore)
{
	/* epochs past the log end (a crash between truncation and checkpoint) are dropped, the HW
	 * is clamped into the log, bad epochs are refused */
	const struct kepoch_entry e[] = { { 0, 0 }, { 3, 10 }, { 4, 20 } };
	struct krepl_opts o = { .broker_id = 1, .lag_time_max_ms = 10, .min_insync = 1, .log_end = 15,
				.high_watermark = 99, .epochs = e, .n_epochs = 3 };
	char err[128] = "";
	struct krepl *k = krepl_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(kepoch_latest(krepl_epochs(k)), 3);
	ck_assert_int_eq(krepl_high_watermark(k), 15);
	/* and the checkpoint must be rewritten (else a restart after appends of another epoch
	 * loads the stale entry over them: found by the simulator, seed 139743) */
	size_t n;
	const struct krepl_action *a = krepl_actions(k, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(a[0].type, KREPL_ACT_EPOCHS);
	krepl_free(k);
	o.log_end = 25; /* nothing past the end: nothing to rewrite */
	k = krepl_new(&o, err, sizeof(err));
	krepl_actions(k, &n);
	ck_assert_uint_eq(n, 0);
	krepl_free(k);
	o.log_end = 15;
	const struct kepoch_entry bad[] = { { 3, 0 }, { 1, 10 } };
	o.epochs = bad;
	o.n_epochs = 2;
	ck_assert_ptr_null(krepl_new(&o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "leader epochs"));
	o.n_epochs = 0;
	o.min_insync = 0;
	ck_assert_ptr_null(krepl_new(&o, err, sizeof(err)));
	krepl_free(NULL);
}
END_TEST

/* ---- ISR and high watermark ------------------------------------------------------------- */

START_TEST(test_isr_and_high_watermark)
{
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	t_new(&a, 1, 0);
	t_new(&b, 2, 0);
	t_new(&c, 3, 0);
	const int32_t isr3[] = { 1, 2, 3 };
	struct krepl_state st = t_state(1, 0, 5, isr3, 3);
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	t_become(&c, &st, 0);
	ck_assert_int_eq(krepl_role(b.k), KREPL_FOLLOWING); /* empty log: nothing to compare */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(t_produce(&a, 100 + i, -1, (uint64_t)i + 1, 1000, 0), KREPL_OK);
	ck_assert_int_eq(krepl_high_watermark(a.k), 0);
	t_fetch(&b, &a, 1); /* b gets 0..2, a learns b is at 0 */
	t_fetch(&b, &a, 2); /* a learns b is at 3 */
	ck_assert_int_eq(krepl_high_watermark(a.k), 0); /* c unknown: no progress */
	t_fetch(&c, &a, 3);
	ck_assert_int_eq(krepl_high_watermark(a.k), 0);
	ck_assert_int_eq(a.ndone, 0);
	t_fetch(&c, &a, 4);
	ck_assert_int_eq(krepl_high_watermark(a.k), 3); /* min LEO of the ISR */
	ck_assert_int_eq(a.ndone, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(a.terr[i], KREPL_OK);
	t_fetch(&b, &a, 5);
	ck_assert_int_eq(krepl_high_watermark(b.k), 3); /* followers learn it */
	/* consumers see only up to the HW */
	ck_assert_int_eq(t_produce(&a, 103, -1, 4, 1000, 6), KREPL_OK);
	struct krepl_fetch_req cr = { .replica_id = -1, .current_leader_epoch = -1, .fetch_offset = 0,
				      .last_fetched_epoch = -1 };
	struct krepl_fetch_plan p;
	krepl_fetch(a.k, &cr, 6, &p);
	ck_assert_int_eq(p.error, KREPL_OK);
	ck_assert_int_eq(p.to, 3);
	cr.fetch_offset = 4;
	krepl_fetch(a.k, &cr, 6, &p);
	ck_assert_int_eq(p.error, KREPL_OFFSET_OUT_OF_RANGE);

	/* c stops fetching: after replica.lag.time.max.ms (100) it is shrunk out */
	t_fetch(&b, &a, 50);
	t_fetch(&b, &a, 60);
	krepl_tick(a.k, 90);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 0);
	krepl_tick(a.k, 105);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 1);
	ck_assert_uint_eq(a.isr_write.n_isr, 2);
	ck_assert_int_eq(a.isr_write.zk_version, 5); /* conditional on the version it knows */
	ck_assert(krepl_isr_pending(a.k));
	/* until the write is done the HW still waits for c (the larger ISR counts) */
	t_fetch(&b, &a, 106);
	ck_assert_int_eq(krepl_high_watermark(a.k), 3);
	ck_assert_int_eq(a.ndone, 3);
	t_zk(&a, true, 6, 107);
	uint32_t n;
	int32_t zkv;
	krepl_isr(a.k, &n, &zkv);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(zkv, 6);
	ck_assert_int_eq(krepl_high_watermark(a.k), 4);
	ck_assert_int_eq(a.ndone, 4);
	ck_assert_int_eq(a.terr[3], KREPL_OK);

	/* b stops too: the ISR is the leader alone, acks=all is refused */
	krepl_tick(a.k, 300);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 1); /* b is at the leader's end: not out of sync */
	ck_assert_int_eq(t_produce(&a, 104, 1, 0, 0, 301), KREPL_OK); /* acks=1 still works */
	krepl_tick(a.k, 302);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 2);
	ck_assert_uint_eq(a.isr_write.n_isr, 1);
	/* a conflicting write (the controller moved the version) changes nothing */
	t_zk(&a, false, 0, 303);
	krepl_isr(a.k, &n, &zkv);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(zkv, 6);
	krepl_tick(a.k, 304); /* retried */
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 3);
	t_zk(&a, true, 7, 305);
	krepl_isr(a.k, &n, &zkv);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(krepl_high_watermark(a.k), 5);
	ck_assert_int_eq(t_produce(&a, 105, -1, 9, 1000, 306), KREPL_NOT_ENOUGH_REPLICAS);
	ck_assert_int_eq(krepl_log_end(a.k), 5); /* nothing appended */

	/* c comes back: it rejoins only once it reaches the HW */
	t_fetch(&c, &a, 400);
	ck_assert_int_eq(a.isr_updates, 3);
	ck_assert_int_eq(krepl_log_end(c.k), 5);
	t_fetch(&c, &a, 401);
	ck_assert_int_eq(a.isr_updates, 4);
	ck_assert_uint_eq(a.isr_write.n_isr, 2);
	ck_assert_int_eq(a.isr_write.isr[1], 3);
	t_zk(&a, true, 8, 402);
	/* acks=all again; a deadline passes before c fetches it */
	ck_assert_int_eq(t_produce(&a, 106, -1, 10, 450, 403), KREPL_OK);
	krepl_tick(a.k, 449);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 4);
	krepl_tick(a.k, 450);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 5);
	ck_assert_int_eq(a.terr[4], KREPL_REQUEST_TIMED_OUT);
	/* the HW never went back */
	ck_assert_int_eq(krepl_high_watermark(a.k), 5);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

/* krepl_await: a retried idempotent batch already in the log waits for the HW to pass its last
 * offset like the append it repeats (never acknowledged while its original is uncommitted), is
 * answered at once when it already has, and meets the same refusals and deadline. */
START_TEST(test_await_existing_offset)
{
	struct tnode a = { 0 }, b = { 0 };
	t_new(&a, 1, 0);
	t_new(&b, 2, 0);
	const int32_t isr2[] = { 1, 2 };
	struct krepl_state st = t_state(1, 0, 5, isr2, 2);
	st.n_replicas = 2;
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(t_produce(&a, 100 + i, -1, (uint64_t)i + 1, 1000, 0), KREPL_OK);
	/* the retry of offsets 0..2 before b has them: held */
	ck_assert_int_eq(krepl_await(a.k, -1, 50, 2, 1000, 1), KREPL_OK);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 0);
	ck_assert_uint_eq(krepl_waiting(a.k), 4);
	ck_assert_int_eq(krepl_log_end(a.k), 3); /* nothing appended */
	t_fetch(&b, &a, 2);
	t_fetch(&b, &a, 3);
	ck_assert_int_eq(krepl_high_watermark(a.k), 3);
	ck_assert_int_eq(a.ndone, 4);
	bool seen50 = false;
	for (int i = 0; i < a.ndone; i++) {
		ck_assert_int_eq(a.terr[i], KREPL_OK);
		seen50 |= a.tok[i] == 50;
	}
	ck_assert(seen50);
	/* below the HW already: its COMPLETE comes at once */
	ck_assert_int_eq(krepl_await(a.k, -1, 51, 1, 1000, 4), KREPL_OK);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 5);
	ck_assert_uint_eq(a.tok[4], 51);
	ck_assert_int_eq(a.terr[4], KREPL_OK);
	/* acks=1: answered by the caller, nothing held */
	ck_assert_int_eq(krepl_await(a.k, 1, 52, 2, 1000, 5), KREPL_OK);
	t_apply(&a, NULL);
	ck_assert_uint_eq(krepl_waiting(a.k), 0);
	/* an offset the log does not hold */
	ck_assert_int_eq(krepl_await(a.k, -1, 53, 3, 1000, 5), KREPL_OFFSET_OUT_OF_RANGE);
	ck_assert_int_eq(krepl_await(a.k, -1, 53, -1, 1000, 5), KREPL_OFFSET_OUT_OF_RANGE);
	ck_assert_uint_eq(krepl_waiting(a.k), 0);
	/* a new record, then its retry, whose deadline passes before b fetches it */
	ck_assert_int_eq(t_produce(&a, 103, 1, 0, 0, 6), KREPL_OK);
	ck_assert_int_eq(krepl_await(a.k, -1, 54, 3, 60, 7), KREPL_OK);
	krepl_tick(a.k, 59);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 5);
	krepl_tick(a.k, 60);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 6);
	ck_assert_uint_eq(a.tok[5], 54);
	ck_assert_int_eq(a.terr[5], KREPL_REQUEST_TIMED_OUT);
	/* under min.insync.replicas: refused as an append is */
	krepl_set_min_insync(a.k, 3);
	ck_assert_int_eq(krepl_await(a.k, -1, 55, 2, 1000, 61), KREPL_NOT_ENOUGH_REPLICAS);
	ck_assert_int_eq(krepl_await(a.k, 1, 55, 2, 1000, 61), KREPL_OK);
	krepl_set_min_insync(a.k, 1);
	/* a held retry fails when leadership goes */
	ck_assert_int_eq(krepl_await(a.k, -1, 56, 3, 1000, 62), KREPL_OK);
	krepl_stop(a.k);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 7);
	ck_assert_uint_eq(a.tok[6], 56);
	ck_assert_int_eq(a.terr[6], KREPL_NOT_LEADER_OR_FOLLOWER);
	/* a follower refuses */
	ck_assert_int_eq(krepl_await(b.k, -1, 57, 0, 1000, 63), KREPL_NOT_LEADER_OR_FOLLOWER);
	t_free(&a);
	t_free(&b);
}
END_TEST

/* An ISR change by the controller keeps the leader epoch (the leader stays) and moves only the
 * znode version: the leader takes the smaller ISR where it is (its HW and waiting acks=all
 * produces move on, its followers' fetch state stays), a follower takes it without truncating
 * again; an older version, another leader or another epoch with this number is ignored; and a
 * leader's own ISR write in flight is resolved by its result without undoing what was taken. */
START_TEST(test_controller_isr_change_keeps_epoch)
{
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	t_new(&a, 1, 0);
	t_new(&b, 2, 0);
	t_new(&c, 3, 0);
	const int32_t isr3[] = { 1, 2, 3 }, isr12[] = { 1, 2 };
	struct krepl_state st = t_state(1, 4, 5, isr3, 3);
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	t_become(&c, &st, 0);
	ck_assert_int_eq(t_produce(&a, 100, -1, 1, 1000, 0), KREPL_OK);
	t_fetch(&b, &a, 1);
	t_fetch(&b, &a, 2);
	ck_assert_int_eq(krepl_high_watermark(a.k), 0); /* c (dead) holds it */
	ck_assert_int_eq(a.ndone, 0);
	/* the controller takes dead c out: epoch 4 still, version 6 */
	struct krepl_state shrunk = t_state(1, 4, 6, isr12, 2);
	t_become(&a, &shrunk, 3);
	ck_assert_int_eq(krepl_role(a.k), KREPL_LEADER);
	ck_assert_int_eq(krepl_leader_epoch(a.k), 4);
	uint32_t n;
	int32_t zkv;
	krepl_isr(a.k, &n, &zkv);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(zkv, 6);
	ck_assert_int_eq(krepl_high_watermark(a.k), 1); /* b's fetch still counts: no reset */
	ck_assert_int_eq(a.ndone, 1);
	ck_assert_int_eq(a.terr[0], KREPL_OK);
	int64_t leo, caught;
	ck_assert(krepl_peer(a.k, 2, &leo, &caught));
	ck_assert_int_eq(leo, 1);
	/* the follower takes it in FOLLOWING, nothing truncated, its fetches go on in epoch 4 */
	ck_assert_int_eq(krepl_role(b.k), KREPL_FOLLOWING);
	t_become(&b, &shrunk, 3);
	ck_assert_int_eq(krepl_role(b.k), KREPL_FOLLOWING);
	ck_assert_int_eq(b.truncations, 0);
	krepl_isr(b.k, &n, &zkv);
	ck_assert_int_eq(zkv, 6);
	ck_assert_int_eq(t_produce(&a, 101, -1, 2, 1000, 4), KREPL_OK);
	t_fetch(&b, &a, 5);
	t_fetch(&b, &a, 6);
	ck_assert_int_eq(krepl_high_watermark(a.k), 2);
	ck_assert_int_eq(a.ndone, 2);
	/* stale or foreign states with epoch 4 change nothing */
	ck_assert_int_eq(krepl_become(a.k, &st, 7), ERR_RANGE); /* version 5 < 6 */
	struct krepl_state other = t_state(2, 4, 9, isr12, 2);
	ck_assert_int_eq(krepl_become(a.k, &other, 7), ERR_RANGE); /* another leader, same epoch */
	ck_assert_int_eq(krepl_become(c.k, &other, 7), ERR_RANGE);
	krepl_isr(a.k, &n, &zkv);
	ck_assert_int_eq(zkv, 6);
	ck_assert_int_eq(krepl_role(a.k), KREPL_LEADER);
	/* c comes back and catches up: a's expansion is in flight when a state at a newer version
	 * is read (its own write read back before its answer): the answer then changes nothing. It
	 * is taken back only a while after the controller took it out (1 s, or a third of
	 * replica.lag.time.max.ms when shorter: 33 ms here; sooner, the controller,
	 * whose view of that broker lags ours, would only take it out again) */
	t_fetch(&c, &a, 10);
	t_fetch(&c, &a, 11);
	ck_assert_int_eq(a.isr_updates, 0);
	t_fetch(&c, &a, 1010);
	ck_assert_int_eq(a.isr_updates, 1);
	ck_assert_uint_eq(a.isr_write.n_isr, 3);
	ck_assert_int_eq(a.isr_write.zk_version, 6);
	struct krepl_state back = t_state(1, 4, 7, isr3, 3);
	t_become(&a, &back, 1012);
	ck_assert(krepl_isr_pending(a.k)); /* the write's answer is still due */
	struct krepl_state later = t_state(1, 4, 8, isr12, 2); /* and the controller shrank it again */
	t_become(&a, &later, 1013);
	t_zk(&a, true, 7, 1014);
	ck_assert(!krepl_isr_pending(a.k));
	krepl_isr(a.k, &n, &zkv);
	ck_assert_uint_eq(n, 2); /* version 8 stays: not the write's older ISR */
	ck_assert_int_eq(zkv, 8);
	ck_assert_int_eq(krepl_leader_epoch(a.k), 4);
	t_fetch(&c, &a, 1040);
	ck_assert_int_eq(a.isr_updates, 1); /* held off again */
	t_fetch(&c, &a, 1046);
	ck_assert_int_eq(a.isr_updates, 2);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

START_TEST(test_isr_expansion_needs_epoch_start)
{
	/* A new leader whose HW (2) lags its log end (6, where its epoch starts): b at the HW but
	 * below the epoch start has not caught up with this epoch yet and stays out (Kafka's
	 * leaderEpochStartOffset rule); at 6 it joins. */
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	for (int i = 0; i < 6; i++)
		a.ep[i] = 0, a.val[i] = i, b.ep[i] = 0, b.val[i] = i;
	a.n = 6;
	b.n = 2;
	t_new(&a, 1, 2);
	t_new(&b, 2, 2);
	t_new(&c, 3, 0);
	const int32_t isr13[] = { 1, 3 };
	struct krepl_state st = t_state(1, 1, 0, isr13, 2);
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	ck_assert_int_eq(krepl_high_watermark(a.k), 2); /* c has not fetched: no progress */
	ck_assert_int_eq(t_truncate(&b, &a), 1);
	ck_assert_int_eq(b.n, 2);
	t_fetch(&b, &a, 1); /* a sees b at 2 = HW, below the epoch start 6 */
	ck_assert_int_eq(a.isr_updates, 0);
	ck_assert_int_eq(b.n, 6);
	t_fetch(&b, &a, 2); /* at 6 */
	ck_assert_int_eq(a.isr_updates, 1);
	ck_assert_uint_eq(a.isr_write.n_isr, 3);
	ck_assert_int_eq(a.isr_write.isr[2], 2);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

START_TEST(test_joined_replica_is_not_dropped_at_once)
{
	/* b joins the ISR at the HW while the leader's log end is further on (it did not fetch up
	 * to the end): the next tick must not find it lagging for replica.lag.time.max.ms (100 ms
	 * here) since a caught-up time it never had. */
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	for (int i = 0; i < 6; i++)
		a.ep[i] = 0, a.val[i] = i, b.ep[i] = 0, b.val[i] = i, c.ep[i] = 0, c.val[i] = i;
	a.n = b.n = c.n = 6;
	t_new(&a, 1, 6);
	t_new(&b, 2, 6);
	t_new(&c, 3, 6);
	const int32_t isr13[] = { 1, 3 };
	struct krepl_state st = t_state(1, 1, 0, isr13, 2);
	t_become(&a, &st, 50000);
	t_become(&b, &st, 50000);
	t_become(&c, &st, 50000);
	ck_assert_int_eq(t_truncate(&b, &a), 1);
	for (int v = 0; v < 4; v++)
		ck_assert_int_eq(t_produce(&a, 100 + v, 1, 10 + (uint64_t)v, 60000, 50000), KREPL_OK);
	ck_assert_int_eq(krepl_high_watermark(a.k), 6);
	t_fetch(&b, &a, 50010); /* from 6 = the HW, below the log end 10: joins */
	ck_assert_int_eq(a.isr_updates, 1);
	ck_assert_uint_eq(a.isr_write.n_isr, 3);
	t_zk(&a, true, 1, 50011);
	krepl_tick(a.k, 50020);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 1); /* not taken out again */
	uint32_t n;
	int32_t v;
	krepl_isr(a.k, &n, &v);
	ck_assert_uint_eq(n, 3);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

START_TEST(test_deposed_leader_is_fenced)
{
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	t_new(&a, 1, 0);
	t_new(&b, 2, 0);
	t_new(&c, 3, 0);
	const int32_t isr3[] = { 1, 2, 3 };
	struct krepl_state st = t_state(1, 0, 0, isr3, 3);
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	t_become(&c, &st, 0);
	ck_assert_int_eq(t_produce(&a, 1, -1, 1, 1000, 0), KREPL_OK);
	t_fetch(&b, &a, 1);
	t_fetch(&c, &a, 1);
	t_fetch(&b, &a, 2);
	t_fetch(&c, &a, 2);
	ck_assert_int_eq(a.ndone, 1);
	/* a is paused; the controller makes b leader in epoch 1 with ISR {2,3}; a is not told */
	const int32_t isr23[] = { 2, 3 };
	struct krepl_state s1 = t_state(2, 1, 1, isr23, 2);
	t_become(&b, &s1, 10);
	t_become(&c, &s1, 10);
	ck_assert_int_eq(t_truncate(&c, &b), 1);
	/* a resumes and still believes it leads: its acks=all write cannot complete */
	ck_assert_int_eq(t_produce(&a, 666, -1, 2, 300, 200), KREPL_OK);
	/* c's fetch carries epoch 1: a (epoch 0) answers UNKNOWN_LEADER_EPOCH, serves nothing */
	struct krepl_fetch_req rq;
	ck_assert(krepl_fetch_request(c.k, &rq));
	struct krepl_fetch_plan p;
	krepl_fetch(a.k, &rq, 201, &p);
	ck_assert_int_eq(p.error, KREPL_UNKNOWN_LEADER_EPOCH);
	/* and b, the real leader, fences anything from epoch 0 */
	rq.current_leader_epoch = 0;
	krepl_fetch(b.k, &rq, 201, &p);
	ck_assert_int_eq(p.error, KREPL_FENCED_LEADER_EPOCH);
	int32_t e;
	int64_t end;
	ck_assert_int_eq(krepl_offset_for_epoch(b.k, 0, 0, &e, &end), KREPL_FENCED_LEADER_EPOCH);
	/* a's ISR shrink is refused by the zk version; the write times out */
	krepl_tick(a.k, 250);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.isr_updates, 1);
	t_zk(&a, false, 0, 251);
	krepl_tick(a.k, 300);
	t_apply(&a, NULL);
	ck_assert_int_eq(a.ndone, 2);
	ck_assert_int_eq(a.terr[1], KREPL_REQUEST_TIMED_OUT);
	/* told at last, a drops the write that b never had */
	t_become(&a, &s1, 400);
	ck_assert_int_eq(t_truncate(&a, &b), 1);
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(a.last_trunc, 1);
	t_free(&a);
	t_free(&b);
	t_free(&c);
}
END_TEST

/* ---- leader-epoch truncation ------------------------------------------------------------ */

/*
 * KIP-101 scenario 1, "high watermark truncation followed by immediate leader election": A
 * leads, B follows, min.insync.replicas 1. B fetches m2; A's HW moves to 2 and m2 is
 * acknowledged, but B restarts before the fetch that would tell it the HW (its checkpoint says
 * 1). Truncating to its HW, B would drop m2; then A restarts too, B is elected, and the
 * acknowledged m2 is gone. With epochs B asks the leader where epoch 0 ends (2) and keeps m2.
 */
START_TEST(test_kip101_scenario1_hw_truncation_loses_committed)
{
	struct tnode a = { 0 }, b = { 0 };
	t_new(&a, 1, 0);
	t_new(&b, 2, 0);
	const int32_t isr12[] = { 1, 2 };
	struct krepl_state st = t_state(1, 0, 0, isr12, 2);
	st.n_replicas = 2;
	t_become(&a, &st, 0);
	t_become(&b, &st, 0);
	ck_assert_int_eq(t_produce(&a, 1, -1, 1, 1000, 0), KREPL_OK);
	t_fetch(&b, &a, 1);
	t_fetch(&b, &a, 2); /* B at 1, knows HW 1 */
	ck_assert_int_eq(krepl_high_watermark(b.k), 1);
	ck_assert_int_eq(t_produce(&a, 2, -1, 2, 1000, 3), KREPL_OK);
	t_fetch(&b, &a, 4); /* B gets m2; A's HW moves only with B's next fetch */
	struct krepl_fetch_req rq;
	ck_assert(krepl_fetch_request(b.k, &rq));
	ck_assert_int_eq(rq.fetch_offset, 2);
	struct krepl_fetch_plan p;
	krepl_fetch(a.k, &rq, 5, &p); /* the fetch reaches A... */
	t_apply(&a, NULL);
	ck_assert_int_eq(krepl_high_watermark(a.k), 2);
	ck_assert_int_eq(a.ndone, 2); /* m2 acknowledged */
	ck_assert_int_eq(a.terr[1], KREPL_OK);
	/* ...but B restarts before the answer: its HW is still 1 */
	ck_assert_int_eq(krepl_high_watermark(b.k), 1);
	t_new(&b, 2, 1);
	t_become(&b, &st, 6);
	ck_assert_int_eq(krepl_role(b.k), KREPL_TRUNCATING);
	ck_assert_int_eq(t_truncate(&b, &a), 1);
	ck_assert_int_eq(b.truncations, 0); /* HW truncation would have cut it to 1 */
	ck_assert_int_eq(b.n, 2);
	/* A restarts; B is elected and still has the acknowledged m2 */
	const int32_t isr2[] = { 2 };
	struct krepl_state s1 = t_state(2, 1, 1, isr2, 1);
	s1.n_replicas = 2;
	t_become(&b, &s1, 7);
	ck_assert_int_eq(krepl_role(b.k), KREPL_LEADER);
	ck_assert_int_eq(b.val[1], 2);
	ck_assert_int_eq(b.ep[1], 0);
	t_new(&a, 1, 2);
	t_become(&a, &s1, 8);
	ck_assert_int_eq(t_truncate(&a, &b), 1);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(a.truncations, 0);
	t_free(&a);
	t_free(&b);
}
END_TEST

/*
 * KIP-101 scenario 2, "replica divergence on restart after multiple hard failures": A leads
 * with m1 and m2 (HW 2 on A), B has m1 only after both lose power (m2 was not flushed on B).
 * B comes back first, is elected (epoch 1) and writes m3 at offset 1. A comes back with m2 at
 * offset 1 and an HW checkpoint of 2: HW truncation keeps m2 and the two logs differ below
 * the HW forever. With epochs A learns that epoch 0 ends at 1 on B and cuts m2.
 */
START_TEST(test_kip101_scenario2_divergence_after_double_crash)
{
	struct tnode a = { 0 }, b = { 0 };
	a.ep[0] = a.ep[1] = 0;
	a.val[0] = 1;
	a.val[1] = 2;
	a.n = 2;
	b.ep[0] = 0;
	b.val[0] = 1;
	b.n = 1;
	t_new(&b, 2, 1);
	const int32_t isr2[] = { 2 };
	struct krepl_state s1 = t_state(2, 1, 3, isr2, 1);
	s1.n_replicas = 2;
	s1.replicas[0] = 2;
	s1.replicas[1] = 1;
	t_become(&b, &s1, 0);
	ck_assert_int_eq(t_produce(&b, 3, 1, 0, 0, 0), KREPL_OK); /* m3 at offset 1, epoch 1 */
	ck_assert_int_eq(b.ep[1], 1);
	t_new(&a, 1, 2);
	ck_assert_int_eq(krepl_high_watermark(a.k), 2); /* its checkpoint covers m2 */
	t_become(&a, &s1, 1);
	ck_assert_int_eq(t_truncate(&a, &b), 1);
	ck_assert_int_eq(a.truncations, 1);
	ck_assert_int_eq(a.last_trunc, 1);
	ck_assert_int_eq(krepl_high_watermark(a.k), 1); /* the HW follows the cut */
	t_fetch(&a, &b, 2);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(a.val[1], 3);
	ck_assert_int_eq(a.ep[1], 1);
	ck_assert_int_eq(kepoch_start_of(krepl_epochs(a.k), 1), 1);
	t_free(&a);
	t_free(&b);
}
END_TEST

/*
 * KIP-279: the follower has an epoch the leader never saw. F: epochs 0@0, 2@5 (leader of
 * epoch 2 for offsets 5..7, never replicated), log end 8. L: 0@0, 1@3, 3@8. F asks about 2, L
 * answers (1, 8); F has no epoch 1, so it cuts to the end of its epoch 0 (5) and asks about 0;
 * L answers (0, 3): F cuts to 3. KIP-101 alone would stop at min(8, 8) and keep 3..7.
 */
START_TEST(test_kip279_walk_back)
{
	struct tnode f = { 0 }, l = { 0 };
	for (int i = 0; i < 8; i++) {
		f.ep[i] = i < 5 ? 0 : 2;
		f.val[i] = 100 + i;
	}
	f.n = 8;
	for (int i = 0; i < 10; i++) {
		l.ep[i] = i < 3 ? 0 : i < 8 ? 1 : 3;
		l.val[i] = i < 3 ? 100 + i : 200 + i;
	}
	l.n = 10;
	t_new(&f, 2, 3);
	t_new(&l, 1, 3);
	const int32_t isr1[] = { 1 };
	struct krepl_state st = t_state(1, 4, 0, isr1, 1);
	t_become(&l, &st, 0);
	t_become(&f, &st, 0);
	ck_assert_int_eq(t_truncate(&f, &l), 2);
	ck_assert_int_eq(f.truncations, 2);
	ck_assert_int_eq(f.n, 3);
	ck_assert_ptr_nonnull(strstr(f.log, "KIP-279"));
	t_fetch(&f, &l, 1);
	ck_assert_int_eq(f.n, 10);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(f.val[i], l.val[i]);
		ck_assert_int_eq(f.ep[i], l.ep[i]);
	}
	size_t n;
	const struct kepoch_entry *e = kepoch_entries(krepl_epochs(f.k), &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(e[1].epoch, 1);
	ck_assert_int_eq(e[1].start_offset, 3);
	ck_assert_int_eq(e[2].epoch, 3);
	ck_assert_int_eq(e[2].start_offset, 8);
	t_free(&f);
	t_free(&l);
}
END_TEST

START_TEST(test_diverging_fetch_answer)
{
	/* a fetch whose (offset, last fetched epoch) is not in the leader's history is answered
	 * with where that epoch ends there (KIP-595's check), and moves nothing on the leader */
	struct tnode f = { 0 }, l = { 0 };
	for (int i = 0; i < 6; i++) {
		f.ep[i] = i < 4 ? 0 : 1;
		f.val[i] = i;
		l.ep[i] = i < 2 ? 0 : 2;
		l.val[i] = i < 2 ? i : 50 + i;
	}
	f.n = 6;
	l.n = 6;
	t_new(&l, 1, 2);
	t_new(&f, 2, 2);
	const int32_t isr12[] = { 1, 2 };
	struct krepl_state st = t_state(1, 3, 0, isr12, 2);
	t_become(&l, &st, 0);
	struct krepl_fetch_req rq = { .replica_id = 2, .current_leader_epoch = 3, .fetch_offset = 6,
				      .last_fetched_epoch = 1 };
	struct krepl_fetch_plan p;
	krepl_fetch(l.k, &rq, 0, &p);
	ck_assert_int_eq(p.error, KREPL_OK);
	ck_assert(p.diverging);
	ck_assert_int_eq(p.diverging_epoch, 0);
	ck_assert_int_eq(p.diverging_end_offset, 2);
	int64_t leo, lcu;
	ck_assert(krepl_peer(l.k, 2, &leo, &lcu));
	ck_assert_int_eq(leo, -1); /* a diverging fetch moves nothing */
	/* the follower side: become follower, take the diverging answer as its truncation */
	t_become(&f, &st, 0);
	/* asked about 1, l answers its largest epoch below, 0, ending at 2; f knows 0: cut at 2 */
	ck_assert_int_eq(t_truncate(&f, &l), 1);
	ck_assert_int_eq(f.n, 2);
	t_fetch(&f, &l, 1);
	ck_assert_int_eq(f.n, 6);
	ck_assert_int_eq(f.val[5], 55);
	/* the follower side of a diverging answer: back to TRUNCATING, cut, following again */
	struct krepl_fetch_resp dv = { .leader_epoch = 3, .fetch_offset = 6, .high_watermark = 2, .diverging = true,
				       .diverging_epoch = 2, .diverging_end_offset = 4 };
	ck_assert_int_eq(krepl_fetch_response(f.k, &dv, 2), 0);
	t_apply(&f, NULL);
	ck_assert_int_eq(f.last_trunc, 4);
	ck_assert_int_eq(krepl_role(f.k), KREPL_FOLLOWING);
	ck_assert_ptr_nonnull(strstr(f.log, "following -> truncating (diverging epoch in a fetch answer)"));
	t_fetch(&f, &l, 2);
	ck_assert_int_eq(f.n, 6);
	/* a malformed fetch answer is refused and changes nothing */
	struct krepl_batch gap = { 7, 7, 3 };
	struct krepl_fetch_resp bad = { .leader_epoch = 3, .fetch_offset = 6, .high_watermark = 6, .batches = &gap,
					.n_batches = 1 };
	ck_assert_int_eq(krepl_fetch_response(f.k, &bad, 2), ERR_PROTO);
	struct krepl_batch future = { 6, 6, 9 };
	bad.batches = &future;
	ck_assert_int_eq(krepl_fetch_response(f.k, &bad, 2), ERR_PROTO);
	ck_assert_int_eq(krepl_log_end(f.k), 6);
	t_free(&f);
	t_free(&l);
}
END_TEST

START_TEST(test_follower_reset_past_leader_log_start)
{
	/* the leader's log starts at 10 (retention); an empty follower is told OFFSET_OUT_OF_RANGE
	 * with that start and starts over there (Kafka's truncateFullyAndStartAt) */
	struct tnode l = { 0 }, f = { 0 };
	for (int i = 10; i < 12; i++)
		l.ep[i] = 1, l.val[i] = i;
	l.n = 12;
	const struct kepoch_entry e[] = { { 1, 10 } };
	struct krepl_opts o = { .broker_id = 1, .lag_time_max_ms = 100, .min_insync = 1, .log_start = 10,
				.log_end = 12, .high_watermark = 12, .epochs = e, .n_epochs = 1, .log = t_logf,
				.log_arg = &l };
	char err[128];
	l.id = 1;
	l.k = krepl_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(l.k);
	t_new(&f, 2, 0);
	const int32_t isr1[] = { 1 };
	struct krepl_state st = t_state(1, 2, 0, isr1, 1);
	t_become(&l, &st, 0);
	t_become(&f, &st, 0);
	ck_assert_int_eq(krepl_role(f.k), KREPL_FOLLOWING);
	t_fetch(&f, &l, 1);
	ck_assert_int_eq(f.n, 10);
	ck_assert_int_eq(krepl_high_watermark(f.k), 10);
	ck_assert_ptr_nonnull(strstr(f.log, "leader's log starts at 10 past our end 0: resetting"));
	/* a cut below the log start stops at it, and at the log end nothing is truncated (t_apply
	 * asserts every TRUNCATE is below the end; found by fuzz_krepl): f leads epoch 3 without a
	 * record, then follows epoch 4 and hears that epoch 2 ends at 5, below its log start 10 */
	const int32_t isr2[] = { 2 };
	struct krepl_state s3 = t_state(2, 3, 1, isr2, 1);
	t_become(&f, &s3, 1);
	struct krepl_state s4 = t_state(1, 4, 2, isr1, 1);
	t_become(&f, &s4, 1);
	t_become(&l, &s4, 1);
	struct krepl_epoch_resp er = { .current_leader_epoch = 4, .requested_epoch = 3, .leader_epoch = 2,
				       .end_offset = 5 };
	ck_assert_int_eq(krepl_epoch_response(f.k, &er, 1), 0);
	t_apply(&f, NULL);
	ck_assert_int_eq(f.truncations, 0);
	ck_assert_int_eq(krepl_role(f.k), KREPL_FOLLOWING);
	ck_assert_int_eq(kepoch_latest(krepl_epochs(f.k)), KEPOCH_UNDEFINED); /* its empty epoch 3 went */
	/* an answer with no epoch but an offset is no leader's */
	er.leader_epoch = KEPOCH_UNDEFINED;
	struct krepl_fetch_resp dv = { .leader_epoch = 4, .fetch_offset = 10, .high_watermark = 10, .log_start = 10,
				       .diverging = true, .diverging_epoch = KEPOCH_UNDEFINED, .diverging_end_offset = 3 };
	ck_assert_int_eq(krepl_fetch_response(f.k, &dv, 1), ERR_PROTO);
	t_fetch(&f, &l, 2);
	ck_assert_int_eq(f.n, 12);
	ck_assert_int_eq(f.val[11], 11);
	ck_assert_int_eq(kepoch_start_of(krepl_epochs(f.k), 1), 10);
	/* and now it is in sync: the leader's ISR grows */
	t_fetch(&f, &l, 3);
	ck_assert_int_eq(l.isr_updates, 1);
	t_free(&l);
	t_free(&f);
}
END_TEST

static Suite *krepl_suite(void)
{
	Suite *s = suite_create("krepl");
	TCase *tc = tcase_create("roles");
	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_restore);
	suite_add_tcase(s, tc);
	tc = tcase_create("isr_hw");
	tcase_add_test(tc, test_isr_and_high_watermark);
	tcase_add_test(tc, test_await_existing_offset);
	tcase_add_test(tc, test_controller_isr_change_keeps_epoch);
	tcase_add_test(tc, test_isr_expansion_needs_epoch_start);
	tcase_add_test(tc, test_joined_replica_is_not_dropped_at_once);
	tcase_add_test(tc, test_deposed_leader_is_fenced);
	suite_add_tcase(s, tc);
	tc = tcase_create("epochs");
	tcase_add_test(tc, test_kip101_scenario1_hw_truncation_loses_committed);
	tcase_add_test(tc, test_kip101_scenario2_divergence_after_double_crash);
	tcase_add_test(tc, test_kip279_walk_back);
	tcase_add_test(tc, test_diverging_fetch_answer);
	tcase_add_test(tc, test_follower_reset_past_leader_log_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(krepl_suite());
}

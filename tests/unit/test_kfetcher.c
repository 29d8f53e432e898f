/*
 * Unit tests for kfetcher, the follower fetchers, against scripted fake leaders on loopback
 * sockets in the test's own event loop: each fake accepts, decodes every request (the test's
 * own server-side reading of Fetch v11 and OffsetForLeaderEpoch v3), and answers when and how a
 * test says (crafted responses with record batches from kbatch_build, a cut last batch, errors,
 * a wrong correlation id, silence, a closed connection). The partitions are real krepl
 * followers, and the test's "manager" feeds every answer to krepl as the replica manager does,
 * so the tests check what reaches the core: truncation by OffsetForLeaderEpoch, then Fetches
 * from the right offset whose batches are appended; one connection per leader with exactly its
 * partitions; moves between leaders; per-partition errors handed up and backed off; reconnects
 * after a broken, refused or silent connection; removal from inside a callback; a batch failing
 * its CRC; OFFSET_OUT_OF_RANGE.
 * Every wait is a loop run until a condition holds, bounded by a deadline; nothing sleeps.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kfetcher.h"
#include "krepl.h"
#include "log.h"
#include "net.h"

#include "check_main.h"

#include <check.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_helpers.h"

#define T_WAIT 5000 /* ms: the bound of every wait (the answers come within a few ms) */

/* ---- a fake leader ---- */

#define FMAXP 8
#define FMAXREQ 64

struct freq {
	int16_t key, ver;
	int32_t corr;
	char client[64];
	int32_t replica, max_wait, min_bytes, max_bytes, session, session_epoch;
	int8_t iso;
	int n;
	struct {
		char topic[32];
		int32_t part, cur_epoch, leader_epoch, pmax;
		int64_t offset, log_start;
	} p[FMAXP];
	struct net_conn *nc; /* NULL once that connection closed */
	int conn_no;
};

struct fake {
	struct event_base *base;
	struct net_listener *l;
	int port;
	struct freq req[FMAXREQ];
	int n_req;
	int accepted, closed;
	struct net_conn *live[8];
};

/* Server side of the two requests, for checking what the fetcher sends. */
static int fake_decode(struct freq *q, const uint8_t *p, size_t len)
{
	struct rbuf r = rbuf_make(p, len);
	const uint8_t *s;
	int32_t sl, nt, np;
	memset(q, 0, sizeof(*q));
	rbuf_i16(&r, &q->key);
	rbuf_i16(&r, &q->ver);
	rbuf_i32(&r, &q->corr);
	rbuf_bytes_i16(&r, sizeof(q->client) - 1, &s, &sl);
	if (sl > 0)
		memcpy(q->client, s, (size_t)sl);
	rbuf_i32(&r, &q->replica);
	if (q->key == 1) {
		rbuf_i32(&r, &q->max_wait);
		rbuf_i32(&r, &q->min_bytes);
		rbuf_i32(&r, &q->max_bytes);
		rbuf_u8(&r, (uint8_t *)&q->iso);
		rbuf_i32(&r, &q->session);
		rbuf_i32(&r, &q->session_epoch);
	}
	rbuf_i32(&r, &nt);
	for (int32_t t = 0; t < nt && !r.err; t++) {
		rbuf_bytes_i16(&r, 31, &s, &sl);
		rbuf_i32(&r, &np);
		for (int32_t i = 0; i < np && !r.err; i++) {
			if (q->n == FMAXP)
				return -1;
			memcpy(q->p[q->n].topic, s, (size_t)(sl > 0 ? sl : 0));
			q->p[q->n].topic[sl > 0 ? sl : 0] = 0;
			rbuf_i32(&r, &q->p[q->n].part);
			rbuf_i32(&r, &q->p[q->n].cur_epoch);
			if (q->key == 1) {
				rbuf_i64(&r, &q->p[q->n].offset);
				rbuf_i64(&r, &q->p[q->n].log_start);
				rbuf_i32(&r, &q->p[q->n].pmax);
			} else {
				rbuf_i32(&r, &q->p[q->n].leader_epoch);
			}
			q->n++;
		}
	}
	if (q->key == 1) {
		int32_t nf;
		int16_t rack;
		rbuf_i32(&r, &nf);
		rbuf_i16(&r, &rack);
		if (nf != 0 || rack != 0)
			return -1;
	}
	return r.err || rbuf_left(&r) ? -1 : 0;
}

static int fake_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg)
{
	struct fake *fk = arg;
	ck_assert_int_lt(fk->n_req, FMAXREQ);
	struct freq *q = &fk->req[fk->n_req];
	ck_assert_msg(fake_decode(q, p, len) == 0, "the fake leader cannot read a request");
	q->nc = nc;
	for (int i = 0; i < fk->accepted && i < 8; i++)
		if (fk->live[i] == nc)
			q->conn_no = i + 1;
	fk->n_req++;
	return 0;
}

static void fake_closed(struct net_conn *nc, int err, void *arg)
{
	struct fake *fk = arg;
	(void)err;
	fk->closed++;
	for (int i = 0; i < fk->n_req; i++)
		if (fk->req[i].nc == nc)
			fk->req[i].nc = NULL;
	for (int i = 0; i < 8; i++)
		if (fk->live[i] == nc)
			fk->live[i] = NULL;
}

static void fake_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct fake *fk = arg;
	static const struct net_conn_cbs cbs = { NULL, fake_frame, fake_closed };
	struct net_conn_opts o = { .max_frame = 1 << 20 };
	(void)sa;
	(void)salen;
	struct net_conn *nc = net_conn_new(fk->base, fd, &o, &cbs, fk);
	ck_assert_ptr_nonnull(nc);
	if (fk->accepted < 8)
		fk->live[fk->accepted] = nc;
	fk->accepted++;
}

static void fake_start(struct fake *fk, struct event_base *base, int port)
{
	char eb[256];
	memset(fk, 0, sizeof(*fk));
	fk->base = base;
	ck_assert_int_eq(net_listen(base, "127.0.0.1", port, 16, fake_accept, fk, &fk->l, eb, sizeof(eb)), 0);
	fk->port = net_listener_port(fk->l);
}

static void fake_stop(struct fake *fk)
{
	net_listener_free(fk->l);
	fk->l = NULL;
	for (int i = 0; i < 8; i++)
		if (fk->live[i])
			net_conn_close(fk->live[i], 0);
}

struct want_req {
	struct fake *fk;
	int n;
};

static bool has_req(void *arg)
{
	struct want_req *w = arg;
	return w->fk->n_req >= w->n;
}

/* Waits for the fake's n-th request (1-based) and returns it. */
static struct freq *fake_wait(struct event_base *base, struct fake *fk, int n)
{
	struct want_req w = { fk, n };
	ck_assert_msg(run_until(base, has_req, &w, T_WAIT), "no request %d at the fake leader (%d so far)", n,
		      fk->n_req);
	return &fk->req[n - 1];
}

/* Response builders: the fixed parts; the caller adds topics. */
static void resp_fetch_start(struct wbuf *w, int32_t corr, int32_t ntopics)
{
	wbuf_init(w, 1 << 22);
	wbuf_i32(w, corr);
	wbuf_i32(w, 0);	 /* throttle */
	wbuf_i16(w, 0);	 /* error */
	wbuf_i32(w, 0);	 /* session */
	wbuf_i32(w, ntopics);
}

static void resp_fetch_part(struct wbuf *w, int32_t part, int16_t error, int64_t hw, int64_t log_start,
			    const void *rec, size_t len)
{
	wbuf_i32(w, part);
	wbuf_i16(w, error);
	wbuf_i64(w, hw);
	wbuf_i64(w, hw);
	wbuf_i64(w, log_start);
	wbuf_i32(w, -1); /* aborted: null */
	wbuf_i32(w, -1); /* preferred replica */
	wbuf_bytes_i32(w, rec, (int32_t)len);
}

static void fake_send(struct freq *q, struct wbuf *w)
{
	ck_assert_ptr_nonnull(q->nc);
	ck_assert_int_eq(w->err, 0);
	ck_assert_int_eq(net_conn_send_frame(q->nc, w->p, w->len), 0);
	wbuf_free(w);
}

/* An empty answer to a Fetch request: every partition error 0, hw 0, no records. */
static void fake_answer_empty(struct freq *q)
{
	struct wbuf w;
	resp_fetch_start(&w, q->corr, q->n);
	for (int i = 0; i < q->n; i++) {
		wbuf_str_i16(&w, q->p[i].topic);
		wbuf_i32(&w, 1);
		resp_fetch_part(&w, q->p[i].part, 0, 0, 0, NULL, 0);
	}
	fake_send(q, &w);
}

/* Appends one batch of n records with base offset `base`, stamped with epoch, to w. */
static size_t t_batch(struct wbuf *w, int64_t base, int n, int32_t epoch)
{
	struct kbatch_rec recs[8];
	ck_assert_int_le(n, 8);
	for (int i = 0; i < n; i++)
		recs[i] = (struct kbatch_rec){ NULL, -1, "value", 5, i, NULL, 0 };
	size_t at = w->len;
	size_t len = kbatch_build(w, base, 1700000000000LL, recs, n);
	ck_assert_uint_gt(len, 0);
	kbatch_set_leader_epoch(w->p + at, epoch);
	return len;
}

/* ---- the test's replica manager ---- */

#define TMAXP 8

struct tpart {
	char topic[32];
	int32_t part;
	struct krepl *k;
};

struct tmgr {
	struct kfetcher *f;
	struct tpart parts[TMAXP];
	int n_parts;
	/* what came up */
	int n_epoch, n_fetch;
	char last_topic[32];
	int32_t last_part;
	struct krepl_epoch_resp last_epoch;
	struct krepl_fetch_resp last_fetch;
	struct krepl_batch last_batches[16];
	uint8_t last_records[4096];
	size_t last_len;
	int appended;	    /* APPEND actions carried out */
	int truncated_to;   /* the last TRUNCATE action's offset */
	int fetch_errors;   /* answers with an error */
	/* a scripted reaction: remove these partitions inside the next callback */
	const char *remove_topic[2];
	int32_t remove_part[2];
	int n_remove;
};

static struct tpart *tm_find(struct tmgr *tm, const char *topic, int32_t part)
{
	for (int i = 0; i < tm->n_parts; i++)
		if (tm->parts[i].part == part && strcmp(tm->parts[i].topic, topic) == 0)
			return &tm->parts[i];
	return NULL;
}

static void tm_logf(void *arg, int32_t id, const char *line)
{
	(void)arg;
	log_debug("test", "krepl %d: %s", id, line);
}

/* A follower krepl of topic-part for broker 2, with the log given, told leader / epoch. */
static struct krepl *tm_follower(struct tmgr *tm, const char *topic, int32_t part, int64_t log_end, int64_t hw,
				 const struct kepoch_entry *ep, size_t nep, int32_t leader, int32_t epoch)
{
	struct krepl_opts o = { .broker_id = 2, .lag_time_max_ms = 10000, .min_insync = 1, .log_end = log_end,
				.high_watermark = hw, .epochs = ep, .n_epochs = nep, .log = tm_logf };
	char err[128];
	struct krepl *k = krepl_new(&o, err, sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	krepl_actions_clear(k);
	struct krepl_state st = { .leader = leader, .leader_epoch = epoch, .zk_version = 0, .n_isr = 2,
				  .n_replicas = 2 };
	st.isr[0] = st.replicas[0] = leader;
	st.isr[1] = st.replicas[1] = 2;
	ck_assert_int_eq(krepl_become(k, &st, 0), 0);
	krepl_actions_clear(k);
	ck_assert_int_lt(tm->n_parts, TMAXP);
	struct tpart *tp = &tm->parts[tm->n_parts++];
	snprintf(tp->topic, sizeof(tp->topic), "%s", topic);
	tp->part = part;
	tp->k = k;
	return k;
}

/* Tells k of a new leader (the epoch after its current one). */
static void tm_new_leader(struct krepl *k, int32_t leader)
{
	struct krepl_state st = { .leader = leader, .leader_epoch = krepl_leader_epoch(k) + 1, .zk_version = 0,
				  .n_isr = 2, .n_replicas = 3 };
	st.isr[0] = st.replicas[0] = leader;
	st.isr[1] = st.replicas[1] = 2;
	st.replicas[2] = leader == 1 ? 3 : 1;
	ck_assert_int_eq(krepl_become(k, &st, 0), 0);
	krepl_actions_clear(k);
}

static void tm_react(struct tmgr *tm)
{
	for (int i = 0; i < tm->n_remove; i++)
		kfetcher_remove(tm->f, tm->remove_topic[i], tm->remove_part[i]);
	tm->n_remove = 0;
}

static void tm_actions(struct tmgr *tm, struct krepl *k, const uint8_t *records, size_t len)
{
	size_t n, pos = 0;
	int appends = 0;
	const struct krepl_action *a = krepl_actions(k, &n);
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == KREPL_ACT_TRUNCATE)
			tm->truncated_to = (int)a[i].offset;
		if (a[i].type == KREPL_ACT_APPEND) {
			/* the bytes to append are the next batch of records, starting at its offset */
			ck_assert_uint_ge(len - pos, KBATCH_LOG_OVERHEAD);
			size_t sz = kbatch_size_of(records + pos);
			struct kbatch_hdr h;
			ck_assert_int_eq(kbatch_parse_hdr(records + pos, len - pos, &h), 0);
			ck_assert_int_eq(h.base_offset, a[i].offset);
			ck_assert_int_eq(h.base_offset + h.last_offset_delta, a[i].last_offset);
			pos += sz;
			appends++;
		}
	}
	/* every byte handed up was appended, batch by batch */
	if (appends)
		ck_assert_uint_eq(pos, len);
	tm->appended += appends;
	krepl_actions_clear(k);
}

static void tm_epoch_answer(void *arg, const char *topic, int32_t part, const struct krepl_epoch_resp *resp)
{
	struct tmgr *tm = arg;
	struct tpart *tp = tm_find(tm, topic, part);
	ck_assert_msg(tp != NULL, "an answer for %s-%d, which was removed", topic, part);
	tm->n_epoch++;
	snprintf(tm->last_topic, sizeof(tm->last_topic), "%s", topic);
	tm->last_part = part;
	tm->last_epoch = *resp;
	ck_assert_int_eq(krepl_epoch_response(tp->k, resp, 0), 0);
	tm_actions(tm, tp->k, NULL, 0);
	tm_react(tm);
}

static void tm_fetch_answer(void *arg, const char *topic, int32_t part, const struct krepl_fetch_resp *resp,
			    const uint8_t *records, size_t len)
{
	struct tmgr *tm = arg;
	struct tpart *tp = tm_find(tm, topic, part);
	ck_assert_msg(tp != NULL, "an answer for %s-%d, which was removed", topic, part);
	tm->n_fetch++;
	if (resp->error)
		tm->fetch_errors++;
	snprintf(tm->last_topic, sizeof(tm->last_topic), "%s", topic);
	tm->last_part = part;
	tm->last_fetch = *resp;
	ck_assert_uint_le(resp->n_batches, 16);
	if (resp->n_batches)
		memcpy(tm->last_batches, resp->batches, resp->n_batches * sizeof(*resp->batches));
	tm->last_fetch.batches = tm->last_batches;
	ck_assert_uint_le(len, sizeof(tm->last_records));
	ck_assert(len == 0 || records != NULL);
	if (len)
		memcpy(tm->last_records, records, len);
	tm->last_len = len;
	ck_assert_int_eq(krepl_fetch_response(tp->k, resp, 0), 0);
	tm_actions(tm, tp->k, records, len);
	tm_react(tm);
}

static const struct kfetcher_ops tm_ops = { tm_epoch_answer, tm_fetch_answer };

static void tm_remove(struct tmgr *tm, const char *topic, int32_t part)
{
	struct tpart *tp = tm_find(tm, topic, part);
	ck_assert_ptr_nonnull(tp);
	kfetcher_remove(tm->f, topic, part);
	krepl_free(tp->k);
	*tp = tm->parts[--tm->n_parts];
}

static struct event_base *tm_setup(struct tmgr *tm)
{
	struct event_base *base = event_base_new();
	ck_assert_ptr_nonnull(base);
	memset(tm, 0, sizeof(*tm));
	tm->truncated_to = -1;
	tm->f = kfetcher_new(base, 2, &tm_ops, tm);
	ck_assert_ptr_nonnull(tm->f);
	struct kfetcher_opts o;
	kfetcher_opts_default(&o);
	ck_assert_int_eq(o.max_wait_ms, 500);
	ck_assert_int_eq(o.backoff_ms, 1000);
	o.backoff_ms = 100; /* the tests wait out backoffs */
	o.max_wait_ms = 50;
	o.socket_timeout_ms = 3000;
	kfetcher_set_opts(tm->f, &o);
	log_capture();
	return base;
}

static void tm_teardown(struct tmgr *tm, struct event_base *base)
{
	kfetcher_free(tm->f);
	for (int i = 0; i < tm->n_parts; i++)
		krepl_free(tm->parts[i].k);
	run_for(base, 10); /* closes reaped */
	event_base_free(base);
	log_release();
}

struct count_at_least {
	int *v;
	int n;
};

static bool count_reached(void *arg)
{
	struct count_at_least *c = arg;
	return *c->v >= c->n;
}

static void wait_count(struct event_base *base, int *v, int n, const char *what)
{
	struct count_at_least c = { v, n };
	ck_assert_msg(run_until(base, count_reached, &c, T_WAIT), "%s: %d, wanted %d", what, *v, n);
}

/* ---- tests ---- */

/* A follower with a diverging tail: OffsetForLeaderEpoch first (KIP-101), the truncation
 * carried out, then Fetches from the new end whose whole batches reach krepl; the cut tail
 * does not. */
START_TEST(test_truncate_then_fetch)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1;
	fake_start(&l1, base, 0);
	const struct kepoch_entry ep[] = { { 0, 0 }, { 3, 10 } };
	struct krepl *k = tm_follower(&tm, "cities", 0, 15, 10, ep, 2, 1, 5);
	ck_assert_int_eq(krepl_role(k), KREPL_TRUNCATING);
	ck_assert_int_eq(kfetcher_add(tm.f, "cities", 0, 1, "127.0.0.1", l1.port, k), 0);
	ck_assert_int_eq(l1.n_req, 0); /* nothing from inside the call */

	struct freq *q = fake_wait(base, &l1, 1);
	ck_assert_int_eq(q->key, 23);
	ck_assert_int_eq(q->ver, 3);
	ck_assert_str_eq(q->client, "broker-2-fetcher-0");
	ck_assert_int_eq(q->replica, 2);
	ck_assert_int_eq(q->n, 1);
	ck_assert_str_eq(q->p[0].topic, "cities");
	ck_assert_int_eq(q->p[0].part, 0);
	ck_assert_int_eq(q->p[0].cur_epoch, 5);
	ck_assert_int_eq(q->p[0].leader_epoch, 3);
	ck_assert(kfetcher_connected(tm.f, 1));
	ck_assert(log_has("connected to leader 1", "127.0.0.1"));

	/* the leader's epoch 3 ended at 12 */
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	wbuf_i32(&w, q->corr);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, 1);
	wbuf_str_i16(&w, "cities");
	wbuf_i32(&w, 1);
	wbuf_i16(&w, 0);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, 3);
	wbuf_i64(&w, 12);
	fake_send(q, &w);
	wait_count(base, &tm.n_epoch, 1, "epoch answers");
	ck_assert_int_eq(tm.last_epoch.error, 0);
	ck_assert_int_eq(tm.last_epoch.current_leader_epoch, 5);
	ck_assert_int_eq(tm.last_epoch.requested_epoch, 3);
	ck_assert_int_eq(tm.last_epoch.leader_epoch, 3);
	ck_assert_int_eq(tm.last_epoch.end_offset, 12);
	ck_assert_int_eq(tm.truncated_to, 12);
	ck_assert_int_eq(krepl_role(k), KREPL_FOLLOWING);
	ck_assert_int_eq(krepl_log_end(k), 12);

	q = fake_wait(base, &l1, 2);
	ck_assert_int_eq(q->key, 1);
	ck_assert_int_eq(q->ver, 11);
	ck_assert_int_gt(q->corr, l1.req[0].corr);
	ck_assert_int_eq(q->replica, 2);
	ck_assert_int_eq(q->max_wait, 50);
	ck_assert_int_eq(q->min_bytes, 1);
	ck_assert_int_eq(q->max_bytes, 10 << 20);
	ck_assert_int_eq(q->iso, 0);
	ck_assert_int_eq(q->session, 0);
	ck_assert_int_eq(q->session_epoch, -1);
	ck_assert_int_eq(q->n, 1);
	ck_assert_int_eq(q->p[0].cur_epoch, 5);
	ck_assert_int_eq(q->p[0].offset, 12);
	ck_assert_int_eq(q->p[0].log_start, -1);
	ck_assert_int_eq(q->p[0].pmax, 1 << 20);

	/* 12-13 of epoch 3, 14 of epoch 5, and the first 30 bytes of 15 */
	struct wbuf rec;
	wbuf_init(&rec, 1 << 16);
	size_t b1 = t_batch(&rec, 12, 2, 3);
	size_t b2 = t_batch(&rec, 14, 1, 5);
	t_batch(&rec, 15, 1, 5);
	resp_fetch_start(&w, q->corr, 1);
	wbuf_str_i16(&w, "cities");
	wbuf_i32(&w, 1);
	resp_fetch_part(&w, 0, 0, 15, 0, rec.p, b1 + b2 + 30);
	fake_send(q, &w);
	wait_count(base, &tm.n_fetch, 1, "fetch answers");
	ck_assert_str_eq(tm.last_topic, "cities");
	ck_assert_int_eq(tm.last_fetch.error, 0);
	ck_assert_int_eq(tm.last_fetch.leader_epoch, 5);
	ck_assert_int_eq(tm.last_fetch.fetch_offset, 12);
	ck_assert_int_eq(tm.last_fetch.high_watermark, 15);
	ck_assert_uint_eq(tm.last_fetch.n_batches, 2);
	ck_assert_int_eq(tm.last_batches[0].base_offset, 12);
	ck_assert_int_eq(tm.last_batches[0].last_offset, 13);
	ck_assert_int_eq(tm.last_batches[0].epoch, 3);
	ck_assert_int_eq(tm.last_batches[1].base_offset, 14);
	ck_assert_int_eq(tm.last_batches[1].last_offset, 14);
	ck_assert_int_eq(tm.last_batches[1].epoch, 5);
	ck_assert_uint_eq(tm.last_len, b1 + b2);
	ck_assert_mem_eq(tm.last_records, rec.p, b1 + b2);
	ck_assert_int_eq(tm.appended, 2);
	ck_assert_int_eq(krepl_log_end(k), 15);
	ck_assert_int_eq(krepl_high_watermark(k), 15);

	/* and the next Fetch asks from the new end */
	q = fake_wait(base, &l1, 3);
	ck_assert_int_eq(q->key, 1);
	ck_assert_int_eq(q->p[0].offset, 15);
	wbuf_free(&rec);
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

static bool req_has(const struct freq *q, const char *topic, int32_t part)
{
	for (int i = 0; i < q->n; i++)
		if (q->p[i].part == part && strcmp(q->p[i].topic, topic) == 0)
			return true;
	return false;
}

/* One connection per leader with exactly its partitions; a partition moving to another leader
 * is not answered from the old one; a leader left without partitions is disconnected. */
START_TEST(test_leaders_and_moves)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1, l3;
	fake_start(&l1, base, 0);
	fake_start(&l3, base, 0);
	struct krepl *a0 = tm_follower(&tm, "a", 0, 0, 0, NULL, 0, 1, 1);
	struct krepl *a1 = tm_follower(&tm, "a", 1, 0, 0, NULL, 0, 1, 1);
	struct krepl *b0 = tm_follower(&tm, "b", 0, 0, 0, NULL, 0, 3, 1);
	ck_assert_int_eq(krepl_role(a0), KREPL_FOLLOWING); /* an empty log has nothing to compare */
	ck_assert_int_eq(kfetcher_add(tm.f, "b", 0, 3, "127.0.0.1", l3.port, b0), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 1, 1, "127.0.0.1", l1.port, a1), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 1, "127.0.0.1", l1.port, a0), 0);
	ck_assert_uint_eq(kfetcher_partitions(tm.f), 3);
	ck_assert_uint_eq(kfetcher_connections(tm.f), 2);
	/* bad arguments change nothing */
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 2, "127.0.0.1", l1.port, a0), ERR_INVAL); /* ourselves */
	ck_assert_int_eq(kfetcher_add(tm.f, "", 0, 1, "127.0.0.1", l1.port, a0), ERR_INVAL);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 1, "127.0.0.1", 0, a0), ERR_INVAL);
	ck_assert_uint_eq(kfetcher_partitions(tm.f), 3);

	struct freq *q1 = fake_wait(base, &l1, 1);
	struct freq *q3 = fake_wait(base, &l3, 1);
	ck_assert_int_eq(q1->key, 1);
	ck_assert_int_eq(q1->n, 2);
	/* sorted by topic and partition whatever the order of the adds */
	ck_assert_str_eq(q1->p[0].topic, "a");
	ck_assert_int_eq(q1->p[0].part, 0);
	ck_assert_str_eq(q1->p[1].topic, "a");
	ck_assert_int_eq(q1->p[1].part, 1);
	ck_assert_int_eq(q3->n, 1);
	ck_assert(req_has(q3, "b", 0));
	ck_assert_int_eq(l1.accepted, 1);
	ck_assert_int_eq(l3.accepted, 1);

	/* a-1's leader becomes 3 while its Fetch is at 1 */
	tm_new_leader(a1, 3);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 1, 3, "127.0.0.1", l3.port, a1), 0);
	/* leader 1 answers both with a batch each: only a-0's reaches the manager */
	struct wbuf rec, w;
	wbuf_init(&rec, 1 << 16);
	size_t bl = t_batch(&rec, 0, 1, 1);
	resp_fetch_start(&w, q1->corr, 1);
	wbuf_str_i16(&w, "a");
	wbuf_i32(&w, 2);
	resp_fetch_part(&w, 0, 0, 1, 0, rec.p, bl);
	resp_fetch_part(&w, 1, 0, 1, 0, rec.p, bl);
	fake_send(q1, &w);
	wait_count(base, &tm.n_fetch, 1, "fetch answers");
	run_for(base, 30);
	ck_assert_int_eq(tm.n_fetch, 1);
	ck_assert_int_eq(tm.last_part, 0);
	ck_assert_int_eq(krepl_log_end(a0), 1);
	ck_assert_int_eq(krepl_log_end(a1), 0);

	/* leader 3 answers b-0; its next request holds a-1 and b-0 */
	fake_answer_empty(q3);
	q3 = fake_wait(base, &l3, 2);
	ck_assert_int_eq(q3->n, 2);
	ck_assert(req_has(q3, "a", 1));
	ck_assert(req_has(q3, "b", 0));
	ck_assert_int_eq(q3->p[0].cur_epoch, 2); /* a-1 under its new epoch */
	/* and leader 1's holds a-0 alone */
	q1 = fake_wait(base, &l1, 2);
	ck_assert_int_eq(q1->n, 1);
	ck_assert(req_has(q1, "a", 0));
	ck_assert_int_eq(q1->p[0].offset, 1);

	/* a-0 removed: leader 1 has nothing left and is disconnected */
	tm_remove(&tm, "a", 0);
	ck_assert_uint_eq(kfetcher_connections(tm.f), 1);
	ck_assert(!kfetcher_connected(tm.f, 1));
	wait_count(base, &l1.closed, 1, "connections closed at leader 1");
	ck_assert(log_has("no partitions left to follow from leader 1", "closing"));
	/* its late answer goes nowhere */
	ck_assert_ptr_null(l1.req[1].nc);
	ck_assert_int_eq(l3.closed, 0);
	wbuf_free(&rec);
	fake_stop(&l1);
	fake_stop(&l3);
	tm_teardown(&tm, base);
}
END_TEST

/* A broken connection is reconnected after the backoff, the request asked again; a refused
 * one is retried until the leader listens. Both are logged naming the leader. */
START_TEST(test_reconnect)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *k = tm_follower(&tm, "t", 0, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "t", 0, 1, "127.0.0.1", l1.port, k), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	ck_assert_int_eq(q->key, 1);
	net_conn_close(q->nc, 0); /* the leader drops the connection with the Fetch in flight */
	q = fake_wait(base, &l1, 2);
	ck_assert_int_eq(l1.accepted, 2);
	ck_assert_int_eq(q->key, 1);
	ck_assert_int_eq(q->p[0].offset, 0);
	ck_assert(log_has("connection to leader 1 at 127.0.0.1", "broke"));
	ck_assert_int_eq(tm.n_fetch, 0);

	/* leader 4 does not listen yet */
	struct fake l4;
	fake_start(&l4, base, 0);
	int port4 = l4.port;
	net_listener_free(l4.l);
	struct krepl *k4 = tm_follower(&tm, "u", 0, 0, 0, NULL, 0, 4, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "u", 0, 4, "127.0.0.1", port4, k4), 0);
	run_for(base, 250); /* two or three attempts */
	ck_assert(!kfetcher_connected(tm.f, 4));
	ck_assert(log_has("cannot connect to leader 4", "refused"));
	fake_start(&l4, base, port4);
	q = fake_wait(base, &l4, 1);
	ck_assert(req_has(q, "u", 0));
	ck_assert(kfetcher_connected(tm.f, 4));
	fake_stop(&l1);
	fake_stop(&l4);
	tm_teardown(&tm, base);
}
END_TEST

/* Errors per partition go up to the manager and that partition waits out the backoff while
 * the others go on; a fenced OffsetForLeaderEpoch answer goes up too. */
START_TEST(test_partition_errors)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *a0 = tm_follower(&tm, "a", 0, 0, 0, NULL, 0, 1, 1);
	struct krepl *a1 = tm_follower(&tm, "a", 1, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 1, "127.0.0.1", l1.port, a0), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 1, 1, "127.0.0.1", l1.port, a1), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	ck_assert_int_eq(q->n, 2);
	struct wbuf w, rec;
	wbuf_init(&rec, 1 << 16);
	size_t bl = t_batch(&rec, 0, 1, 1);
	resp_fetch_start(&w, q->corr, 1);
	wbuf_str_i16(&w, "a");
	wbuf_i32(&w, 2);
	resp_fetch_part(&w, 0, KREPL_NOT_LEADER_OR_FOLLOWER, -1, -1, rec.p, bl); /* records ignored */
	resp_fetch_part(&w, 1, 0, 0, 0, NULL, 0);
	fake_send(q, &w);
	wait_count(base, &tm.n_fetch, 2, "fetch answers");
	ck_assert_int_eq(tm.fetch_errors, 1);
	ck_assert_int_eq(krepl_log_end(a0), 0);
	ck_assert(log_has("fetch of a-0 from leader 1", "NOT_LEADER_OR_FOLLOWER"));
	/* the next request skips a-0 */
	q = fake_wait(base, &l1, 2);
	ck_assert_int_eq(q->n, 1);
	ck_assert(req_has(q, "a", 1));
	/* until its backoff (100 ms) has passed */
	int i = 2;
	for (;;) {
		/* as a leader with no data does, hold the Fetch for its max wait (KIP-227's long
		 * poll) before the empty answer: a round every 50 ms */
		run_for(base, q->max_wait);
		fake_answer_empty(q);
		q = fake_wait(base, &l1, ++i);
		if (req_has(q, "a", 0))
			break;
		ck_assert_int_lt(i, 60);
	}
	ck_assert_int_eq(q->n, 2);

	/* a-1 gets a new epoch with a history to compare: OffsetForLeaderEpoch, answered fenced */
	const struct kepoch_entry ep[] = { { 0, 0 } };
	tm_remove(&tm, "a", 1);
	struct krepl *c0 = tm_follower(&tm, "c", 0, 5, 5, ep, 1, 1, 3);
	ck_assert_int_eq(kfetcher_add(tm.f, "c", 0, 1, "127.0.0.1", l1.port, c0), 0);
	fake_answer_empty(q); /* a-0's Fetch */
	q = fake_wait(base, &l1, ++i);
	ck_assert_int_eq(q->key, 23);
	ck_assert_int_eq(q->n, 1);
	ck_assert_int_eq(q->p[0].cur_epoch, 3);
	ck_assert_int_eq(q->p[0].leader_epoch, 0);
	wbuf_init(&w, 1 << 16);
	wbuf_i32(&w, q->corr);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, 1);
	wbuf_str_i16(&w, "c");
	wbuf_i32(&w, 1);
	wbuf_i16(&w, KREPL_FENCED_LEADER_EPOCH);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, -1);
	wbuf_i64(&w, -1);
	fake_send(q, &w);
	wait_count(base, &tm.n_epoch, 1, "epoch answers");
	ck_assert_int_eq(tm.last_epoch.error, KREPL_FENCED_LEADER_EPOCH);
	ck_assert_int_eq(tm.last_epoch.current_leader_epoch, 3);
	ck_assert_int_eq(krepl_role(c0), KREPL_TRUNCATING); /* nothing changed */
	/* the next request is a Fetch (a-0) while c-0 backs off */
	q = fake_wait(base, &l1, ++i);
	ck_assert_int_eq(q->key, 1);
	ck_assert(!req_has(q, "c", 0));
	wbuf_free(&rec);
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

/* A leader change's errors (NOT_LEADER_OR_FOLLOWER, FENCED_/UNKNOWN_LEADER_EPOCH: one of the two
 * brokers has not processed its LeaderAndIsr yet) are asked again after a few ms, not after the
 * whole replica.fetch.backoff.ms; other errors wait it out. */
START_TEST(test_leader_change_errors_retry_soon)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct kfetcher_opts o;
	kfetcher_opts_default(&o);
	o.backoff_ms = 60000; /* far beyond this test: a partition asked again did not wait it out */
	o.max_wait_ms = 50;
	o.socket_timeout_ms = 3000;
	kfetcher_set_opts(tm.f, &o);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *a0 = tm_follower(&tm, "a", 0, 0, 0, NULL, 0, 1, 1);
	struct krepl *a1 = tm_follower(&tm, "a", 1, 0, 0, NULL, 0, 1, 1);
	struct krepl *a2 = tm_follower(&tm, "a", 2, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 1, "127.0.0.1", l1.port, a0), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 1, 1, "127.0.0.1", l1.port, a1), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 2, 1, "127.0.0.1", l1.port, a2), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	ck_assert_int_eq(q->n, 3);
	struct wbuf w;
	resp_fetch_start(&w, q->corr, 1);
	wbuf_str_i16(&w, "a");
	wbuf_i32(&w, 3);
	resp_fetch_part(&w, 0, KREPL_UNKNOWN_LEADER_EPOCH, -1, -1, NULL, 0);
	resp_fetch_part(&w, 1, 56, -1, -1, NULL, 0); /* KAFKA_STORAGE_ERROR */
	resp_fetch_part(&w, 2, KREPL_NOT_LEADER_OR_FOLLOWER, -1, -1, NULL, 0);
	fake_send(q, &w);
	wait_count(base, &tm.n_fetch, 3, "fetch answers");
	ck_assert(log_has("fetch of a-0 from leader 1", "backing off 50 ms"));
	ck_assert(log_has("fetch of a-1 from leader 1", "backing off 60000 ms"));
	/* a-0 and a-2 come back within rounds; a-1 never does in this test */
	bool back0 = false, back2 = false;
	for (int i = 2; i < 40 && !(back0 && back2); i++) {
		q = fake_wait(base, &l1, i);
		back0 |= req_has(q, "a", 0);
		back2 |= req_has(q, "a", 2);
		ck_assert(!req_has(q, "a", 1));
		run_for(base, q->max_wait);
		fake_answer_empty(q);
	}
	ck_assert(back0 && back2);
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

/* Answers that are not answers: a wrong correlation id, bytes that do not decode, and
 * silence past replica.socket.timeout.ms each drop the connection; nothing is handed up. */
START_TEST(test_bad_answers)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct kfetcher_opts o = { .socket_timeout_ms = 300 };
	kfetcher_set_opts(tm.f, &o);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *k = tm_follower(&tm, "t", 0, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "t", 0, 1, "127.0.0.1", l1.port, k), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	struct wbuf w;
	resp_fetch_start(&w, q->corr + 7, 1);
	wbuf_str_i16(&w, "t");
	wbuf_i32(&w, 1);
	resp_fetch_part(&w, 0, 0, 0, 0, NULL, 0);
	fake_send(q, &w);
	q = fake_wait(base, &l1, 2);
	ck_assert_int_eq(l1.accepted, 2);
	ck_assert(log_has("leader 1", "correlation id"));

	uint8_t junk[6] = { 0, 0, 0, 0, 0, 1 };
	be32_put(junk, (uint32_t)q->corr);
	ck_assert_int_eq(net_conn_send_frame(q->nc, junk, sizeof(junk)), 0);
	q = fake_wait(base, &l1, 3);
	ck_assert_int_eq(l1.accepted, 3);
	ck_assert(log_has("leader 1", "bad answer"));

	/* silence: the fetcher gives up after the socket timeout (+ max wait) */
	q = fake_wait(base, &l1, 4);
	ck_assert_int_eq(l1.accepted, 4);
	ck_assert(log_has("leader 1", "no answer within"));
	ck_assert_int_eq(tm.n_fetch, 0);
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

/* The manager removes partitions from inside an answer's callback (the one answered and one
 * whose answer comes next in the same response): the rest of the response is not handed up
 * for them, and the emptied connection closes after the callback. */
START_TEST(test_remove_inside_callback)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *a0 = tm_follower(&tm, "a", 0, 0, 0, NULL, 0, 1, 1);
	struct krepl *a1 = tm_follower(&tm, "a", 1, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 0, 1, "127.0.0.1", l1.port, a0), 0);
	ck_assert_int_eq(kfetcher_add(tm.f, "a", 1, 1, "127.0.0.1", l1.port, a1), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	ck_assert_int_eq(q->n, 2);
	tm.remove_topic[0] = "a";
	tm.remove_part[0] = 0;
	tm.remove_topic[1] = "a";
	tm.remove_part[1] = 1;
	tm.n_remove = 2;
	fake_answer_empty(q);
	wait_count(base, &l1.closed, 1, "connections closed at leader 1");
	ck_assert_int_eq(tm.n_fetch, 1); /* a-1's answer was not handed up */
	ck_assert_uint_eq(kfetcher_partitions(tm.f), 0);
	ck_assert_uint_eq(kfetcher_connections(tm.f), 0);
	/* the manager frees its krepls only now (removal said: called before the free) */
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

/* A batch failing its CRC: the whole batches before it go up, it does not, and the next Fetch
 * asks from it again. OFFSET_OUT_OF_RANGE goes up with the leader's log start (krepl resets
 * to it) and is not backed off. */
START_TEST(test_corrupt_batch_and_out_of_range)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake l1;
	fake_start(&l1, base, 0);
	struct krepl *k = tm_follower(&tm, "t", 0, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "t", 0, 1, "127.0.0.1", l1.port, k), 0);
	struct freq *q = fake_wait(base, &l1, 1);
	struct wbuf rec, w;
	wbuf_init(&rec, 1 << 16);
	size_t b1 = t_batch(&rec, 0, 2, 1);
	size_t b2 = t_batch(&rec, 2, 1, 1);
	rec.p[b1 + b2 - 1] ^= 0x20; /* a value byte of the second batch */
	resp_fetch_start(&w, q->corr, 1);
	wbuf_str_i16(&w, "t");
	wbuf_i32(&w, 1);
	resp_fetch_part(&w, 0, 0, 3, 0, rec.p, b1 + b2);
	fake_send(q, &w);
	wait_count(base, &tm.n_fetch, 1, "fetch answers");
	ck_assert_uint_eq(tm.last_fetch.n_batches, 1);
	ck_assert_uint_eq(tm.last_len, b1);
	ck_assert_int_eq(krepl_log_end(k), 2);
	ck_assert(log_has("fetch of t-0 from leader 1", "refused"));
	q = fake_wait(base, &l1, 2);
	ck_assert_int_eq(q->p[0].offset, 2);

	/* the leader's log now starts at 50 */
	resp_fetch_start(&w, q->corr, 1);
	wbuf_str_i16(&w, "t");
	wbuf_i32(&w, 1);
	resp_fetch_part(&w, 0, KREPL_OFFSET_OUT_OF_RANGE, 60, 50, NULL, 0);
	fake_send(q, &w);
	wait_count(base, &tm.n_fetch, 2, "fetch answers");
	ck_assert_int_eq(tm.last_fetch.error, KREPL_OFFSET_OUT_OF_RANGE);
	ck_assert_int_eq(tm.last_fetch.log_start, 50);
	ck_assert_int_eq(krepl_log_end(k), 50);
	q = fake_wait(base, &l1, 3);
	ck_assert_int_eq(q->p[0].offset, 50);
	wbuf_free(&rec);
	fake_stop(&l1);
	tm_teardown(&tm, base);
}
END_TEST

/* A leader at a new address: the connection moves there. */
START_TEST(test_leader_moves_address)
{
	struct tmgr tm;
	struct event_base *base = tm_setup(&tm);
	struct fake old, new;
	fake_start(&old, base, 0);
	fake_start(&new, base, 0);
	struct krepl *k = tm_follower(&tm, "t", 0, 0, 0, NULL, 0, 1, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "t", 0, 1, "127.0.0.1", old.port, k), 0);
	fake_wait(base, &old, 1);
	ck_assert_int_eq(kfetcher_add(tm.f, "t", 0, 1, "127.0.0.1", new.port, k), 0);
	struct freq *q = fake_wait(base, &new, 1);
	ck_assert(req_has(q, "t", 0));
	wait_count(base, &old.closed, 1, "connections closed at the old address");
	ck_assert_uint_eq(kfetcher_connections(tm.f), 1);
	fake_stop(&old);
	fake_stop(&new);
	tm_teardown(&tm, base);
}
END_TEST

static Suite *kfetcher_suite(void)
{
	Suite *s = suite_create("kfetcher");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_truncate_then_fetch);
	tcase_add_test(tc, test_leaders_and_moves);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_partition_errors);
	tcase_add_test(tc, test_leader_change_errors_retry_soon);
	tcase_add_test(tc, test_bad_answers);
	tcase_add_test(tc, test_remove_inside_callback);
	tcase_add_test(tc, test_leader_moves_address);
	tcase_add_test(tc, test_corrupt_batch_and_out_of_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kfetcher_suite());
}

/*
 * kfetcher against an independent Kafka server: librdkafka's mock cluster (rdkafka_mock.h,
 * the same code base as the reference C client), which serves Fetch up to v11 with the record
 * batches a real librdkafka producer sent it. A krepl follower of the mock's partition fetches
 * everything produced, in order, through kfw's encoder and decoder; an error the mock is told
 * to answer with goes up and is retried past; the mock broker going down and up again is
 * reconnected to. (The mock of librdkafka 2.0 has no OffsetForLeaderEpoch: the follower's log
 * starts empty, so krepl follows at once.)
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kfetcher.h"
#include "krepl.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_helpers.h"

#define T_WAIT 20000

struct mgr {
	struct krepl *k;
	struct wbuf log; /* the follower's "log": every appended batch */
	int answers, errors, appends;
};

static void m_epoch_answer(void *arg, const char *topic, int32_t part, const struct krepl_epoch_resp *resp)
{
	(void)arg;
	(void)resp;
	ck_abort_msg("an OffsetForLeaderEpoch answer for %s-%d: none was asked", topic, part);
}

static void m_fetch_answer(void *arg, const char *topic, int32_t part, const struct krepl_fetch_resp *resp,
			   const uint8_t *records, size_t len)
{
	struct mgr *m = arg;
	ck_assert_str_eq(topic, "t");
	ck_assert_int_eq(part, 0);
	m->answers++;
	if (resp->error)
		m->errors++;
	ck_assert_int_eq(krepl_fetch_response(m->k, resp, 0), 0);
	size_t n, pos = 0;
	const struct krepl_action *a = krepl_actions(m->k, &n);
	for (size_t i = 0; i < n; i++) {
		if (a[i].type != KREPL_ACT_APPEND)
			continue;
		size_t sz = kbatch_size_of(records + pos);
		ck_assert_uint_le(pos + sz, len);
		wbuf_raw(&m->log, records + pos, sz);
		pos += sz;
		m->appends++;
	}
	ck_assert_uint_eq(pos, len);
	krepl_actions_clear(m->k);
}

static const struct kfetcher_ops m_ops = { m_epoch_answer, m_fetch_answer };

static void produce(rd_kafka_t *p, int from, int to)
{
	for (int i = from; i < to; i++) {
		char v[32];
		int n = snprintf(v, sizeof(v), "msg-%d", i);
		rd_kafka_resp_err_t e;
		e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0),
				      RD_KAFKA_V_VALUE(v, (size_t)n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_END);
		ck_assert_msg(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
	}
	ck_assert_int_eq(rd_kafka_flush(p, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

struct end_at {
	struct krepl *k;
	int64_t end;
};

static bool reached(void *arg)
{
	struct end_at *e = arg;
	return krepl_log_end(e->k) >= e->end;
}

static void wait_end(struct event_base *base, struct krepl *k, int64_t end)
{
	struct end_at e = { k, end };
	ck_assert_msg(run_until(base, reached, &e, T_WAIT), "log end %lld, wanted %lld", (long long)krepl_log_end(k),
		      (long long)end);
}

struct rec_check {
	int next;
};

static int check_record(const struct kbatch_record *r, void *arg)
{
	struct rec_check *c = arg;
	char want[32];
	int n = snprintf(want, sizeof(want), "msg-%d", c->next);
	ck_assert_int_eq(r->offset, c->next);
	ck_assert_int_eq(r->value_len, n);
	ck_assert_mem_eq(r->value, want, (size_t)n);
	c->next++;
	return 0;
}

static bool log_broke(void *arg)
{
	(void)arg;
	return log_has("connection to leader 1", "broke");
}

START_TEST(test_follow_rdkafka_mock)
{
	char errstr[512], eb[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "batch.num.messages", "40", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	ck_assert_msg(p != NULL, "%s", errstr);
	rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(p);
	ck_assert_ptr_nonnull(mc);
	ck_assert_int_eq(rd_kafka_mock_topic_create(mc, "t", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(rd_kafka_mock_partition_set_leader(mc, "t", 0, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
	const char *colon = strrchr(bs, ':');
	ck_assert_ptr_nonnull(colon);
	int port = atoi(colon + 1);
	produce(p, 0, 300);

	struct event_base *base = event_base_new();
	log_capture();
	struct mgr m;
	memset(&m, 0, sizeof(m));
	wbuf_init(&m.log, 1 << 24);
	struct krepl_opts o = { .broker_id = 2, .lag_time_max_ms = 10000, .min_insync = 1 };
	m.k = krepl_new(&o, eb, sizeof(eb));
	ck_assert_ptr_nonnull(m.k);
	krepl_actions_clear(m.k);
	struct krepl_state st = { .leader = 1, .leader_epoch = 0, .n_isr = 2, .n_replicas = 2,
				  .isr = { 1, 2 }, .replicas = { 1, 2 } };
	ck_assert_int_eq(krepl_become(m.k, &st, 0), 0);
	krepl_actions_clear(m.k);
	ck_assert_int_eq(krepl_role(m.k), KREPL_FOLLOWING);
	struct kfetcher *f = kfetcher_new(base, 2, &m_ops, &m);
	struct kfetcher_opts fo;
	kfetcher_opts_default(&fo);
	fo.backoff_ms = 100;
	fo.max_wait_ms = 100;
	fo.partition_max_bytes = 2048; /* several rounds for what was produced */
	kfetcher_set_opts(f, &fo);
	ck_assert_int_eq(kfetcher_add(f, "t", 0, 1, "127.0.0.1", port, m.k), 0);
	wait_end(base, m.k, 300);
	ck_assert_int_gt(m.answers, 1);
	ck_assert_int_gt(m.appends, 1);
	ck_assert_int_eq(m.errors, 0);
	ck_assert_int_eq(krepl_high_watermark(m.k), 300);

	/* the mock answers the next Fetch with NOT_LEADER_OR_FOLLOWER: up, backed off, then on */
	rd_kafka_mock_push_request_errors(mc, 1 /* Fetch */, 1, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
	produce(p, 300, 400);
	wait_end(base, m.k, 400);
	ck_assert_int_ge(m.errors, 1);
	ck_assert(log_has("fetch of t-0 from leader 1", "NOT_LEADER_OR_FOLLOWER"));

	/* the broker goes down (its connections close) and comes back */
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_msg(run_until(base, log_broke, NULL, T_WAIT), "the fetcher did not notice the broker going down");
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mc, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	produce(p, 400, 450);
	wait_end(base, m.k, 450);
	ck_assert_int_eq(krepl_log_end(m.k), 450);

	/* the follower's log holds every record produced, in order, at its offset */
	struct rec_check rc = { 0 };
	size_t pos = 0;
	while (pos < m.log.len) {
		size_t sz = kbatch_size_of(m.log.p + pos);
		ck_assert_int_eq(kbatch_validate(m.log.p + pos, sz, NULL, eb, sizeof(eb)), 0);
		ck_assert_int_eq(kbatch_records(m.log.p + pos, sz, check_record, &rc, eb, sizeof(eb)), 0);
		pos += sz;
	}
	ck_assert_int_eq(rc.next, 450);

	kfetcher_free(f);
	krepl_free(m.k);
	wbuf_free(&m.log);
	run_for(base, 10);
	event_base_free(base);
	log_release();
	rd_kafka_destroy(p);
}
END_TEST

static Suite *kfetcher_rdkafka_suite(void)
{
	Suite *s = suite_create("kfetcher_rdkafka");
	TCase *tc = tcase_create("mock");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_follow_rdkafka_mock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kfetcher_rdkafka_suite());
}

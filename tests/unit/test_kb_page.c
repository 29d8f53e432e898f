/*
 * Unit tests for the live cluster page's modules: kb_events (events derived from the metadata
 * cache's old and new states — elections, leader changes, going offline, ISR shrinks and
 * expansions, registrations and deaths, controller epochs —, the ring bounded with sequence
 * numbers that keep growing, the JSON), and kb_ens_parse_srvr on ZooKeeper's and samsa's
 * replies.
 */
#include "err.h"
#include "jsonw.h"
#include "kb_broker.h"
#include "kb_ens.h"
#include "kb_events.h"

#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <string.h>

static struct kb_part part(int32_t leader, int32_t epoch, int32_t *isr, int32_t nisr, int32_t version)
{
	static int32_t reps[3] = { 1, 2, 3 };
	return (struct kb_part){ .id = 4, .leader = leader, .leader_epoch = epoch, .state_version = version,
				 .nrep = 3, .replicas = reps, .nisr = nisr, .isr = isr };
}

static const struct kb_event *last(const struct kb_events *ev)
{
	return kb_events_get(ev, kb_events_count(ev) - 1);
}

START_TEST(test_partition_events)
{
	struct kb_events *ev = kb_events_new();
	int32_t all[] = { 1, 2, 3 }, two[] = { 2, 3 };
	struct kb_part none = part(-1, 0, NULL, 0, -1), a = part(1, 0, all, 3, 0);
	kb_events_part(ev, "t", NULL, &a); /* first sight: nothing */
	ck_assert_uint_eq(kb_events_count(ev), 0);
	kb_events_part(ev, "t", &none, &a); /* the state appeared */
	ck_assert_uint_eq(kb_events_count(ev), 1);
	ck_assert_int_eq(last(ev)->kind, KB_EV_LEADER_ELECTED);
	ck_assert_str_eq(last(ev)->text, "t-4: leader 1 elected (epoch 0)");
	kb_events_part(ev, "t", &a, &a); /* unchanged */
	ck_assert_uint_eq(kb_events_count(ev), 1);

	struct kb_part b = part(2, 1, two, 2, 1);
	kb_events_part(ev, "t", &a, &b);
	ck_assert_uint_eq(kb_events_count(ev), 3);
	const struct kb_event *e = kb_events_get(ev, 1);
	ck_assert_int_eq(e->kind, KB_EV_LEADER_CHANGE);
	ck_assert_str_eq(e->text, "t-4: leader 1 -> 2 (epoch 0 -> 1)");
	ck_assert_int_eq(e->broker, 2);
	ck_assert_int_eq(e->partition, 4);
	ck_assert_str_eq(e->topic, "t");
	ck_assert_int_eq(last(ev)->kind, KB_EV_ISR_SHRINK);
	ck_assert_str_eq(last(ev)->text, "t-4: ISR [1,2,3] -> [2,3] (1 left)");
	ck_assert_int_eq(last(ev)->broker, 1);

	struct kb_part c = part(2, 1, all, 3, 2);
	kb_events_part(ev, "t", &b, &c);
	ck_assert_int_eq(last(ev)->kind, KB_EV_ISR_EXPAND);
	ck_assert_str_eq(last(ev)->text, "t-4: ISR [2,3] -> [1,2,3] (1 joined)");

	struct kb_part off = part(-1, 2, two, 2, 3);
	kb_events_part(ev, "t", &c, &off);
	ck_assert_int_eq(kb_events_get(ev, kb_events_count(ev) - 2)->kind, KB_EV_OFFLINE);
	struct kb_part back = part(3, 3, two, 2, 4);
	kb_events_part(ev, "t", &off, &back);
	ck_assert_int_eq(last(ev)->kind, KB_EV_LEADER_ELECTED);
	kb_events_free(ev);
}
END_TEST

START_TEST(test_broker_and_controller_events)
{
	struct kb_events *ev = kb_events_new();
	struct kb_node n[3] = { { .id = 0, .host = "h0", .port = 9092, .epoch = 10 },
				{ .id = 1, .host = "h1", .port = 9093, .epoch = 11 },
				{ .id = 2, .host = "h2", .port = 9094, .epoch = 12 } };
	kb_events_nodes(ev, NULL, 0, n, 3);
	ck_assert_uint_eq(kb_events_count(ev), 3);
	ck_assert_str_eq(kb_events_get(ev, 1)->text, "broker 1 registered at h1:9093");
	kb_events_nodes(ev, n, 3, n, 2); /* broker 2 died */
	ck_assert_int_eq(last(ev)->kind, KB_EV_BROKER_DOWN);
	ck_assert_int_eq(last(ev)->broker, 2);
	ck_assert_uint_eq(kb_events_brokers_count(ev), 3); /* still remembered */
	ck_assert_str_eq(kb_events_broker_get(ev, 2)->host, "h2");
	struct kb_node again = { .id = 1, .host = "h1", .port = 9093, .epoch = 20 }; /* 1 came back fast */
	struct kb_node now[2] = { n[0], again };
	kb_events_nodes(ev, n, 2, now, 2);
	ck_assert_int_eq(last(ev)->kind, KB_EV_BROKER_UP);
	ck_assert_int_eq(last(ev)->broker, 1);

	uint32_t before = kb_events_count(ev);
	kb_events_controller(ev, -1, 5); /* nobody: nothing */
	kb_events_controller(ev, 0, 1);
	ck_assert_str_eq(last(ev)->text, "controller: broker 0 (epoch 1)");
	kb_events_controller(ev, 0, 1); /* the same epoch read again */
	kb_events_controller(ev, 1, 1); /* an old epoch with a new holder (read between): not yet */
	ck_assert_uint_eq(kb_events_count(ev), before + 1);
	kb_events_controller(ev, 1, 2);
	ck_assert_str_eq(last(ev)->text, "controller: broker 0 -> 1 (epoch 1 -> 2)");
	kb_events_free(ev);
}
END_TEST

START_TEST(test_ring_is_bounded)
{
	struct kb_events *ev = kb_events_new();
	for (int i = 0; i < KB_EVENTS_CAP + 10; i++)
		kb_events_add(ev, KB_EV_TOPIC_CREATED, "t", -1, -1, "event %d", i);
	ck_assert_uint_eq(kb_events_count(ev), KB_EVENTS_CAP);
	ck_assert_uint_eq(kb_events_get(ev, 0)->seq, 11);
	ck_assert_str_eq(kb_events_get(ev, 0)->text, "event 10");
	ck_assert_uint_eq(last(ev)->seq, KB_EVENTS_CAP + 10);
	ck_assert_ptr_null(kb_events_get(ev, KB_EVENTS_CAP));
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	kb_events_add(ev, KB_EV_TOPIC_CREATED, big, -1, -1, "%s", big); /* cut, never overrun */
	ck_assert_uint_eq(strlen(last(ev)->text), KB_EVENTS_TEXT - 1);

	struct evbuffer *out = evbuffer_new();
	struct jsonw w;
	jsonw_init(&w, out);
	kb_events_json(ev, &w);
	ck_assert_int_eq(jsonw_finish(&w), 0);
	size_t n = evbuffer_get_length(out);
	char *js = (char *)evbuffer_pullup(out, -1);
	ck_assert(n > 0 && js[0] == '[' && js[n - 1] == ']');
	ck_assert_ptr_nonnull(strstr(js, "{\"seq\":12,\"ts_ms\":"));
	ck_assert_ptr_nonnull(strstr(js, "\"kind\":\"topic_created\",\"topic\":\"t\",\"partition\":-1,\"broker\":-1,\"text\":\"event 11\"}"));
	evbuffer_free(out);
	kb_events_free(ev);
	/* NULL rings do nothing */
	kb_events_add(NULL, KB_EV_COORD_UP, NULL, -1, -1, "x");
	ck_assert_uint_eq(kb_events_count(NULL), 0);
	kb_events_free(NULL);
}
END_TEST

START_TEST(test_parse_srvr)
{
	/* ZooKeeper 3.8's reply */
	const char *zk = "Zookeeper version: 3.8.4-9f2ea5f3, built on 2024-02-12 22:16 UTC\n"
			 "Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\n"
			 "Zxid: 0x100000003\nMode: follower\nNode count: 5\n";
	struct kb_ens_srvr s;
	ck_assert_int_eq(kb_ens_parse_srvr(zk, strlen(zk), &s), 0);
	ck_assert(s.serving);
	ck_assert_str_eq(s.mode, "follower");
	ck_assert_str_eq(s.version, "3.8.4-9f2ea5f3");
	ck_assert_int_eq(s.zxid, 0x100000003LL);
	ck_assert_int_eq(s.node_count, 5);
	ck_assert_int_eq(s.connections, 1);
	ck_assert_int_eq(s.outstanding, 0);
	const char *ns = "This ZooKeeper instance is not currently serving requests\n";
	ck_assert_int_eq(kb_ens_parse_srvr(ns, strlen(ns), &s), 0);
	ck_assert(!s.serving);
	ck_assert_str_eq(s.mode, "not serving");
	const char *wl = "srvr is not executed because it is not in the whitelist.\n";
	ck_assert_int_eq(kb_ens_parse_srvr(wl, strlen(wl), &s), ERR_CORRUPT);
	ck_assert_int_eq(kb_ens_parse_srvr("", 0, &s), ERR_CORRUPT);
	/* a cut reply still reads what it has; a number too big is unknown */
	const char *cut = "Zxid: 0xffffffffffffffffff\r\nMode: leader";
	ck_assert_int_eq(kb_ens_parse_srvr(cut, strlen(cut), &s), 0);
	ck_assert_str_eq(s.mode, "leader");
	ck_assert_int_eq(s.zxid, -1);
}
END_TEST

static Suite *kb_page_suite(void)
{
	Suite *s = suite_create("kb_page");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_partition_events);
	tcase_add_test(tc, test_broker_and_controller_events);
	tcase_add_test(tc, test_ring_is_bounded);
	tcase_add_test(tc, test_parse_srvr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kb_page_suite());
}

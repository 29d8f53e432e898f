/*
 * Unit tests for broker/meta: Kafka's replica placement (kassign) pinned to the assignments
 * Kafka's AdminUtils gives for a fixed start index and shift (the 5-broker table of Kafka's own
 * AdminTest, and 3 brokers RF=3 where partitions 3-5 are (0,2,1), (1,0,2), (2,1,0)), a topic
 * growing from its partition 0's leader (AdminZkClient), the spread over many shapes, refused
 * arguments; and the topic name rules (kname): length 249, legal characters, "." and "..",
 * the '.'/'_' collision; and Kafka's znode JSON (kznode): each document encoded byte for byte as
 * Kafka 2.x's ZkData writes it, decoded back, Kafka's other forms read (version 1, keys in any
 * order, spaces, a reassignment in flight), and what Kafka's decoders refuse refused.
 */
#include "err.h"
#include "kassign.h"
#include "kname.h"
#include "kznode.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_rows(const int32_t *got, const int32_t (*want)[3], int32_t nparts, int32_t rf)
{
	for (int32_t p = 0; p < nparts; p++)
		for (int32_t r = 0; r < rf; r++)
			ck_assert_msg(got[p * rf + r] == want[p][r], "partition %d replica %d: got %d, Kafka has %d", p, r,
				      got[p * rf + r], want[p][r]);
}

START_TEST(test_assign_kafka_admin_test_table)
{
	/* Kafka's AdminTest.testReplicaAssignment: brokers 0-4, 10 partitions, RF 3, fixed start 0 */
	static const int32_t want[10][3] = { { 0, 1, 2 }, { 1, 2, 3 }, { 2, 3, 4 }, { 3, 4, 0 }, { 4, 0, 1 },
					     { 0, 2, 3 }, { 1, 3, 4 }, { 2, 4, 0 }, { 3, 0, 1 }, { 4, 1, 2 } };
	const int32_t brokers[] = { 0, 1, 2, 3, 4 };
	int32_t out[30];
	ck_assert_int_eq(kassign_replicas(brokers, 5, 10, 3, 0, 0, 0, out), 0);
	expect_rows(out, want, 10, 3);
}
END_TEST

START_TEST(test_assign_three_brokers_rf3)
{
	/* the case the broker used to get wrong: partitions 3-5 follow with the shift grown by one */
	static const int32_t want[6][3] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
					    { 0, 2, 1 }, { 1, 0, 2 }, { 2, 1, 0 } };
	const int32_t brokers[] = { 0, 1, 2 };
	int32_t out[18];
	ck_assert_int_eq(kassign_replicas(brokers, 3, 6, 3, 0, 0, 0, out), 0);
	expect_rows(out, want, 6, 3);
}
END_TEST

START_TEST(test_assign_start_and_shift_ids)
{
	/* ids that are not 0..n-1, start 1, shift 2: partition p leads on sorted[(p + 1) % 3];
	 * the follower is 1 + (2 % 2) = 1 step on, then 1 + (3 % 2) = 2 steps from partition 3 */
	static const int32_t want[4][2] = { { 20, 30 }, { 30, 10 }, { 10, 20 }, { 20, 10 } };
	int32_t brokers[] = { 30, 10, 20 };
	kassign_sort(brokers, 3);
	ck_assert_int_eq(brokers[0], 10);
	ck_assert_int_eq(brokers[2], 30);
	int32_t out[8];
	ck_assert_int_eq(kassign_replicas(brokers, 3, 4, 2, 1, 2, 0, out), 0);
	for (int32_t p = 0; p < 4; p++)
		for (int32_t r = 0; r < 2; r++)
			ck_assert_int_eq(out[p * 2 + r], want[p][r]);
}
END_TEST

START_TEST(test_assign_growth)
{
	/* AdminZkClient.createNewPartitionsAssignment: start index and shift are the position of
	 * the first broker whose id >= partition 0's first replica; the partition ids go on from
	 * the existing count and the shift starts afresh at that index */
	const int32_t brokers[] = { 0, 1, 2, 3 };
	ck_assert_int_eq(kassign_growth_start(brokers, 4, 2), 2);
	int32_t out[4];
	ck_assert_int_eq(kassign_replicas(brokers, 4, 2, 2, 2, 2, 3, out), 0);
	/* p3: first (3+2)%4 = 1, follower 1 + (2 % 3) = 3 steps on = 0; p4 (a multiple of 4: shift
	 * 3): first 2, follower 1 + (3 % 3) = 1 step on = 3 */
	ck_assert_int_eq(out[0], 1);
	ck_assert_int_eq(out[1], 0);
	ck_assert_int_eq(out[2], 2);
	ck_assert_int_eq(out[3], 3);
	/* the same partitions placed as part of the whole topic from that start agree on leaders */
	int32_t all[10];
	ck_assert_int_eq(kassign_replicas(brokers, 4, 5, 2, 2, 2, 0, all), 0);
	ck_assert_int_eq(all[6], out[0]);
	ck_assert_int_eq(all[8], out[2]);

	const int32_t gaps[] = { 1, 5, 9 };
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 1), 0);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 6), 2);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 9), 2);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 10), 0); /* a broker gone: Kafka's max(0, -1) */
}
END_TEST

START_TEST(test_assign_spread_and_distinct)
{
	/* every shape up to 8 brokers: replicas of a partition distinct and among the brokers,
	 * each broker leading the same number of partitions */
	int32_t brokers[8], out[32 * 8];
	for (int32_t n = 1; n <= 8; n++) {
		for (int32_t i = 0; i < n; i++)
			brokers[i] = 100 + 3 * i;
		for (int32_t rf = 1; rf <= n; rf++)
			for (int32_t start = 0; start < n; start++)
				for (int32_t shift = 0; shift < n; shift++) {
					int32_t nparts = 4 * n, leads[8] = { 0 };
					const char *bad = NULL;
					ck_assert_int_eq(kassign_replicas(brokers, n, nparts, rf, start, shift, 0, out), 0);
					for (int32_t p = 0; p < nparts && !bad; p++) {
						for (int32_t r = 0; r < rf && !bad; r++) {
							int32_t id = out[p * rf + r];
							if (id < 100 || id >= 100 + 3 * n || (id - 100) % 3)
								bad = "not a broker";
							for (int32_t k = 0; k < r && !bad; k++)
								if (out[p * rf + k] == id)
									bad = "a repeated replica";
						}
						if (!bad)
							leads[(out[p * rf] - 100) / 3]++;
					}
					for (int32_t i = 0; i < n && !bad; i++)
						if (leads[i] != 4) /* each broker leads nparts / n */
							bad = "uneven leaders";
					ck_assert_msg(!bad, "n=%d rf=%d start=%d shift=%d: %s", n, rf, start, shift, bad);
				}
	}
}
END_TEST

START_TEST(test_assign_refused)
{
	const int32_t brokers[] = { 0, 1, 2 };
	int32_t out[16] = { 0 };
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 4, 0, 0, 0, out), ERR_INVAL); /* rf > brokers */
	ck_assert_int_eq(kassign_replicas(brokers, 0, 2, 1, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 0, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, -1, 1, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 3, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 0, -1, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 0, 0, -1, out), ERR_INVAL);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(out[i], 0);
	/* one broker, RF 1: no follower arithmetic (no division by n - 1 = 0) */
	ck_assert_int_eq(kassign_replicas(brokers, 1, 3, 1, 0, 0, 0, out), 0);
	ck_assert_int_eq(out[2], 0);
}
END_TEST

START_TEST(test_name_rules)
{
	char why[512], name[300];
	ck_assert(kname_topic_valid("orders", 6, why, sizeof(why)));
	ck_assert(kname_topic_valid("a.b_c-D9", 8, why, sizeof(why)));
	ck_assert(kname_topic_valid("...", 3, why, sizeof(why)));
	ck_assert(!kname_topic_valid("", 0, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name is illegal, it can't be empty");
	ck_assert(!kname_topic_valid(".", 1, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name cannot be \".\" or \"..\"");
	ck_assert(!kname_topic_valid("..", 2, why, sizeof(why)));
	memset(name, 'x', 249);
	name[249] = '\0';
	ck_assert(kname_topic_valid(name, 249, why, sizeof(why)));
	name[249] = 'x';
	name[250] = '\0';
	ck_assert(!kname_topic_valid(name, 250, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "can't be longer than 249 characters"));
	ck_assert(!kname_topic_valid("a b", 3, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name \"a b\" is illegal, it contains a character other than ASCII alphanumerics, "
			      "'.', '_' and '-'");
	ck_assert(!kname_topic_valid("ab\0c", 4, why, sizeof(why))); /* a NUL inside the length */
	ck_assert(!kname_topic_valid("caf\xc3\xa9", 5, why, sizeof(why)));
	ck_assert(!kname_topic_valid("a/b", 3, why, sizeof(why)));
}
END_TEST

START_TEST(test_name_collisions)
{
	ck_assert(kname_topic_collide("metric.name", "metric_name"));
	ck_assert(kname_topic_collide("a_b.c", "a.b_c"));
	ck_assert(!kname_topic_collide("metric.name", "metric.name")); /* the same topic */
	ck_assert(!kname_topic_collide("a.b", "a.c"));
	ck_assert(!kname_topic_collide("a.b", "a_bc"));
	ck_assert(!kname_topic_collide("ab", "a_b"));
	ck_assert(kname_topic_may_collide("a.b"));
	ck_assert(kname_topic_may_collide("a_b"));
	ck_assert(!kname_topic_may_collide("a-b"));
}
END_TEST

/* ---- kznode: Kafka's znode JSON ---- */

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(test_kz_assignment_roundtrip)
{
	/* what Kafka 2.x's AdminZkClient writes, byte for byte */
	const int32_t ids[] = { 0, 2, 1, 1, 0, 2 };
	char *js = NULL;
	ck_assert_int_eq(kznode_assignment_encode(2, 3, ids, &js), 0);
	ck_assert_str_eq(js, "{\"version\":2,\"partitions\":{\"0\":[0,2,1],\"1\":[1,0,2]},\"adding_replicas\":{},"
			     "\"removing_replicas\":{}}");
	struct kznode_assignment a;
	char eb[256];
	ck_assert_int_eq(kznode_assignment_decode(js, strlen(js), &a, eb, sizeof(eb)), 0);
	ck_assert_int_eq(a.n_parts, 2);
	for (int32_t p = 0; p < 2; p++) {
		int32_t n;
		const int32_t *r = kznode_assignment_replicas(&a, p, &n);
		ck_assert_int_eq(n, 3);
		ck_assert(!memcmp(r, ids + p * 3, 3 * sizeof(int32_t)));
	}
	kznode_assignment_free(&a);
	free(js);
	ck_assert_int_eq(kznode_assignment_encode(0, 1, NULL, &js), 0);
	ck_assert_str_eq(js, "{\"version\":2,\"partitions\":{},\"adding_replicas\":{},\"removing_replicas\":{}}");
	free(js);
	ck_assert_int_eq(kznode_assignment_encode(1, 0, ids, &js), ERR_INVAL);
	ck_assert_ptr_null(js);
}
END_TEST

START_TEST(test_kz_assignment_decode_kafka_forms)
{
	struct kznode_assignment a;
	char eb[256];
	/* version 1 (no adding/removing), keys out of order, a reassignment in flight, spaces */
	ck_assert_int_eq(kznode_assignment_decode(S("{\"version\":1,\"partitions\":{\"2\":[3],\"0\":[1,2],\"1\":[]}}"),
						  &a, eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(a.n_parts, 3);
	int32_t n;
	const int32_t *r = kznode_assignment_replicas(&a, 0, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(r[0], 1);
	ck_assert_int_eq(r[1], 2);
	kznode_assignment_replicas(&a, 1, &n);
	ck_assert_int_eq(n, 0);
	r = kznode_assignment_replicas(&a, 2, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(r[0], 3);
	kznode_assignment_free(&a);
	ck_assert_int_eq(kznode_assignment_decode(S("{ \"version\" : 2 , \"partitions\" : { \"0\" : [ 5 , 6 ] }, "
						    "\"adding_replicas\":{\"0\":[6]},\"removing_replicas\":{} }"),
						  &a, eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(a.n_parts, 1);
	kznode_assignment_free(&a);
}
END_TEST

START_TEST(test_kz_assignment_decode_refused)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":2}",					/* no partitions */
		"{\"partitions\":[]}",				/* not an object */
		"{\"partitions\":{\"1\":[0]}}",			/* a gap: no partition 0 */
		"{\"partitions\":{\"0\":[0],\"0\":[1]}}",		/* partition 0 twice */
		"{\"partitions\":{\"00\":[0],\"1\":[1]}}",		/* not a plain decimal */
		"{\"partitions\":{\"-1\":[0]}}",			/* negative */
		"{\"partitions\":{\"0\":[0.5]}}",			/* not an id */
		"{\"partitions\":{\"0\":[-1]}}",			/* negative id */
		"{\"partitions\":{\"0\":[2147483648]}}",		/* over int32 */
		"{\"partitions\":{\"0\":\"1,2\"}}",			/* not an array */
		"{\"partitions\":{\"0\":[1]}",				/* truncated */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kznode_assignment a;
		char eb[256] = "";
		ck_assert_msg(kznode_assignment_decode(bad[i], strlen(bad[i]), &a, eb, sizeof(eb)) == ERR_CORRUPT,
			      "accepted %s", bad[i]);
		ck_assert_ptr_null(a.ids);
		ck_assert_int_eq(a.n_parts, 0);
		ck_assert_msg(strstr(eb, "topic assignment") != NULL, "message: %s", eb);
	}
	/* a replica list over the cap */
	char big[16 + 8 * (KZNODE_MAX_REPLICAS + 1)];
	size_t w = (size_t)snprintf(big, sizeof(big), "{\"partitions\":{\"0\":[");
	for (int i = 0; i <= KZNODE_MAX_REPLICAS; i++)
		w += (size_t)snprintf(big + w, sizeof(big) - w, "%s%d", i ? "," : "", i);
	w += (size_t)snprintf(big + w, sizeof(big) - w, "]}}");
	struct kznode_assignment a;
	char eb[256];
	ck_assert_int_eq(kznode_assignment_decode(big, w, &a, eb, sizeof(eb)), ERR_CORRUPT);
}
END_TEST

START_TEST(test_kz_state)
{
	struct kznode_state st = { .leader = 2, .leader_epoch = 7, .controller_epoch = 3, .n_isr = 2, .isr = { 2, 0 } };
	char *js = NULL, eb[256];
	ck_assert_int_eq(kznode_state_encode(&st, &js), 0);
	ck_assert_str_eq(js, "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":7,\"isr\":[2,0]}");
	struct kznode_state got;
	ck_assert_int_eq(kznode_state_decode(js, strlen(js), &got, eb, sizeof(eb)), 0);
	ck_assert_int_eq(got.leader, 2);
	ck_assert_int_eq(got.leader_epoch, 7);
	ck_assert_int_eq(got.controller_epoch, 3);
	ck_assert_uint_eq(got.n_isr, 2);
	ck_assert_int_eq(got.isr[0], 2);
	ck_assert_int_eq(got.isr[1], 0);
	free(js);
	/* no leader (-1) and an empty ISR, keys in another order, as Kafka may write them */
	ck_assert_int_eq(kznode_state_decode(S("{\"version\":1,\"isr\":[],\"leader\":-1,\"leader_epoch\":4,"
					       "\"controller_epoch\":1}"),
					     &got, eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(got.leader, -1);
	ck_assert_uint_eq(got.n_isr, 0);
	/* Kafka requires every member */
	static const char *const bad[] = {
		"{\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[0]}",
		"{\"leader\":0,\"controller_epoch\":1,\"isr\":[0]}",
		"{\"leader\":0,\"leader_epoch\":0,\"isr\":[0]}",
		"{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1}",
		"{\"leader\":-2,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[0]}",
		"{\"leader\":0,\"leader_epoch\":-1,\"controller_epoch\":1,\"isr\":[0]}",
		"{\"leader\":\"0\",\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[0]}",
		"{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":{}}",
		"{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[true]}",
		"{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[0]",
		"null",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eb[0] = '\0';
		ck_assert_msg(kznode_state_decode(bad[i], strlen(bad[i]), &got, eb, sizeof(eb)) == ERR_CORRUPT,
			      "accepted %s", bad[i]);
		ck_assert_msg(strstr(eb, "partition state") != NULL, "message: %s", eb);
		ck_assert_uint_eq(got.n_isr, 0);
	}
	st.n_isr = KZNODE_MAX_REPLICAS + 1;
	ck_assert_int_eq(kznode_state_encode(&st, &js), ERR_INVAL);
}
END_TEST

START_TEST(test_kz_broker)
{
	struct kznode_reg_endpoint one = { "PLAINTEXT", "h1", 9092, "PLAINTEXT" };
	struct kznode_broker_reg reg = {
		.n_endpoints = 1, .endpoints = &one, .control_host = "h1", .control_port = 10092, .timestamp_ms = 1234
	};
	char *js = NULL, eb[256];
	ck_assert_int_eq(kznode_broker_encode(&reg, &js), 0);
	ck_assert_str_eq(js, "{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\","
			     "\"CONTROL_PLANE\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://h1:9092\","
			     "\"CONTROL_PLANE://h1:10092\"],\"jmx_port\":-1,\"port\":9092,\"host\":\"h1\","
			     "\"version\":5,\"timestamp\":\"1234\"}");
	struct kznode_broker b;
	ck_assert_int_eq(kznode_broker_decode(js, strlen(js), &b, eb, sizeof(eb)), 0);
	ck_assert_str_eq(b.host, "h1");
	ck_assert_int_eq(b.port, 9092);
	ck_assert_int_eq(b.control_port, 10092);
	ck_assert(!b.has_rack);
	ck_assert_int_eq(b.n_endpoints, 1);
	ck_assert_str_eq(b.endpoints[0].name, "PLAINTEXT");
	free(js);
	/* an SSL client listener first, PLAINTEXT for brokers, an IPv6 one: each endpoint by name */
	struct kznode_reg_endpoint three[] = {
		{ "SSL", "h1", 9093, "SSL" }, { "INTERNAL", "h1", 9092, "PLAINTEXT" }, { "V6", "::1", 9094, "SSL" }
	};
	reg.n_endpoints = 3;
	reg.endpoints = three;
	ck_assert_int_eq(kznode_broker_encode(&reg, &js), 0);
	ck_assert_str_eq(js, "{\"features\":{},\"listener_security_protocol_map\":{\"SSL\":\"SSL\",\"INTERNAL\":"
			     "\"PLAINTEXT\",\"V6\":\"SSL\",\"CONTROL_PLANE\":\"PLAINTEXT\"},\"endpoints\":[\"SSL://h1:9093\","
			     "\"INTERNAL://h1:9092\",\"V6://[::1]:9094\",\"CONTROL_PLANE://h1:10092\"],\"jmx_port\":-1,"
			     "\"port\":9092,\"host\":\"h1\",\"version\":5,\"timestamp\":\"1234\"}");
	ck_assert_int_eq(kznode_broker_decode(js, strlen(js), &b, eb, sizeof(eb)), 0);
	ck_assert_int_eq(b.n_endpoints, 3);
	ck_assert_int_eq(kznode_broker_endpoint(&b, "INTERNAL")->port, 9092);
	ck_assert_str_eq(kznode_broker_endpoint(&b, "V6")->host, "::1");
	ck_assert_ptr_null(kznode_broker_endpoint(&b, "CONTROL_PLANE"));
	ck_assert_int_eq(b.control_port, 10092);
	free(js);
	/* no PLAINTEXT listener: host null and port -1 at the top, as Kafka writes them */
	reg.n_endpoints = 1;
	ck_assert_int_eq(kznode_broker_encode(&reg, &js), 0);
	ck_assert_ptr_nonnull(strstr(js, "\"port\":-1,\"host\":null"));
	free(js);
	/* Kafka 2.x's version 4 with a rack and an IPv6 host; no control plane */
	ck_assert_int_eq(kznode_broker_decode(S("{\"listener_security_protocol_map\":{\"CLIENT\":\"PLAINTEXT\"},"
						"\"endpoints\":[\"CLIENT://[::1]:9093\"],\"rack\":\"dc1\",\"jmx_port\":-1,"
						"\"host\":null,\"timestamp\":\"1\",\"port\":-1,\"version\":4}"),
					      &b, eb, sizeof(eb)),
			 0);
	ck_assert_str_eq(b.host, "::1");
	ck_assert_int_eq(b.port, 9093);
	ck_assert_int_eq(b.control_port, -1);
	ck_assert(b.has_rack);
	ck_assert_str_eq(b.rack, "dc1");
	/* version 1: host and port at the top */
	ck_assert_int_eq(kznode_broker_decode(S("{\"version\":1,\"host\":\"old\",\"port\":9000,\"jmx_port\":-1}"), &b,
					      eb, sizeof(eb)),
			 0);
	ck_assert_str_eq(b.host, "old");
	ck_assert_int_eq(b.port, 9000);
	static const char *const bad[] = {
		"{\"endpoints\":[\"PLAINTEXT://h:0\"]}",
		"{\"endpoints\":[\"PLAINTEXT://h:65536\"]}",
		"{\"endpoints\":[\"PLAINTEXT://h\"]}",
		"{\"endpoints\":[\"h:9092\"]}",
		"{\"endpoints\":[\"PLAINTEXT://:9092\"]}",
		"{\"endpoints\":[\"PLAINTEXT://h:90x\"]}",
		"{\"endpoints\":[9092]}",
		"{\"endpoints\":\"PLAINTEXT://h:9092\"}",
		"{\"version\":1,\"port\":9000}",
		"{\"version\":1,\"host\":\"h\"}",
		"{\"endpoints\":[\"PLAINTEXT://h:1\"],\"rack\":5}",
		"[\"PLAINTEXT://h:1\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(kznode_broker_decode(bad[i], strlen(bad[i]), &b, eb, sizeof(eb)) == ERR_CORRUPT,
			      "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_kz_controller_and_epoch)
{
	char *js = NULL, eb[256];
	int32_t id, epoch;
	ck_assert_int_eq(kznode_controller_encode(3, 1700000000123LL, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"brokerid\":3,\"timestamp\":\"1700000000123\"}");
	ck_assert_int_eq(kznode_controller_decode(js, strlen(js), &id, eb, sizeof(eb)), 0);
	ck_assert_int_eq(id, 3);
	free(js);
	ck_assert_int_eq(kznode_controller_decode(S("{\"version\":1,\"timestamp\":\"1\"}"), &id, eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(id, -1);
	ck_assert_int_eq(kznode_controller_decode(S("{\"brokerid\":\"3\"}"), &id, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kznode_epoch_encode(42, &js), 0);
	ck_assert_str_eq(js, "42");
	ck_assert_int_eq(kznode_epoch_decode(js, strlen(js), &epoch, eb, sizeof(eb)), 0);
	ck_assert_int_eq(epoch, 42);
	free(js);
	ck_assert_int_eq(kznode_epoch_decode(S("0"), &epoch, eb, sizeof(eb)), 0);
	ck_assert_int_eq(epoch, 0);
	ck_assert_int_eq(kznode_epoch_decode(S("2147483646"), &epoch, eb, sizeof(eb)), 0);
	static const char *const bad[] = { "", "-1", "1 ", "0x10", "2147483647", "99999999999", "1.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(kznode_epoch_decode(bad[i], strlen(bad[i]), &epoch, eb, sizeof(eb)) == ERR_CORRUPT,
			      "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(kznode_epoch_decode(NULL, 0, &epoch, eb, sizeof(eb)), ERR_CORRUPT);
}
END_TEST

START_TEST(test_kz_cluster_id_and_notifications)
{
	char *js = NULL, eb[256], id[KZNODE_MAX_ID + 1], path[64];
	ck_assert_int_eq(kznode_cluster_id_encode("q7-Lx_0aBcDeFgHiJkLmNw", &js), 0);
	ck_assert_str_eq(js, "{\"version\":\"1\",\"id\":\"q7-Lx_0aBcDeFgHiJkLmNw\"}");
	ck_assert_int_eq(kznode_cluster_id_decode(js, strlen(js), id, eb, sizeof(eb)), 0);
	ck_assert_str_eq(id, "q7-Lx_0aBcDeFgHiJkLmNw");
	free(js);
	ck_assert_int_eq(kznode_cluster_id_decode(S("{\"version\":\"1\",\"id\":\"\"}"), id, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kznode_cluster_id_decode(S("{\"version\":\"1\",\"id\":\"a\\u0000b\"}"), id, eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(kznode_cluster_id_decode(S("{\"id\":1}"), id, eb, sizeof(eb)), ERR_CORRUPT);

	ck_assert_int_eq(kznode_isr_change_encode("t.1", 4, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"partitions\":[{\"topic\":\"t.1\",\"partition\":4}]}");
	free(js);

	ck_assert_int_eq(kznode_config_change_encode("topics/t\"x", &js), 0);
	ck_assert_str_eq(js, "{\"version\":2,\"entity_path\":\"topics/t\\\"x\"}"); /* escaped */
	ck_assert_int_eq(kznode_config_change_decode(js, strlen(js), path, sizeof(path), eb, sizeof(eb)), 0);
	ck_assert_str_eq(path, "topics/t\"x");
	free(js);
	ck_assert_int_eq(kznode_config_change_decode(S("{\"version\":2,\"entity_path\":\"brokers/<default>\"}"), path,
						     sizeof(path), eb, sizeof(eb)),
			 0);
	ck_assert_str_eq(path, "brokers/<default>");
	ck_assert_int_eq(kznode_config_change_decode(S("{\"version\":1,\"entity_type\":\"topics\"}"), path, sizeof(path),
						     eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(kznode_config_change_decode(S("{\"entity_path\":\"topics/abcdefgh\"}"), path, 8, eb, sizeof(eb)),
			 ERR_TOOBIG);
}
END_TEST

START_TEST(test_kz_config)
{
	struct kznode_conf in[] = { { "retention.ms", "1000" }, { "x\"y", "a\\b\n" } };
	char *js = NULL, eb[256];
	ck_assert_int_eq(kznode_config_encode(in, 2, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"config\":{\"retention.ms\":\"1000\",\"x\\\"y\":\"a\\\\b\\u000a\"}}");
	struct kznode_conf *out = NULL;
	int32_t n = -1;
	ck_assert_int_eq(kznode_config_decode(js, strlen(js), &out, &n, eb, sizeof(eb)), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(out[0].name, "retention.ms");
	ck_assert_str_eq(out[0].value, "1000");
	ck_assert_str_eq(out[1].name, "x\"y");
	ck_assert_str_eq(out[1].value, "a\\b\n");
	kznode_config_free(out, n);
	free(js);
	ck_assert_int_eq(kznode_config_encode(NULL, 0, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"config\":{}}");
	free(js);
	/* values that are not strings are skipped; no "config" gives no pairs */
	ck_assert_int_eq(kznode_config_decode(S("{\"version\":1,\"config\":{\"a\":1,\"b\":\"2\",\"c\":null}}"), &out, &n,
					      eb, sizeof(eb)),
			 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(out[0].name, "b");
	kznode_config_free(out, n);
	ck_assert_int_eq(kznode_config_decode(S("{\"version\":1}"), &out, &n, eb, sizeof(eb)), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_nonnull(out);
	kznode_config_free(out, n);
	ck_assert_int_eq(kznode_config_decode(S("{\"config\":{\"a\":\"1\""), &out, &n, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(n, 0);
	ck_assert(strstr(eb, "entity config") != NULL);
}
END_TEST

/* /latest_producer_id_block as Kafka's ProducerIdManager writes and reads it. */
START_TEST(test_kz_pid_block)
{
	char eb[256], *js = NULL;
	struct kznode_pid_block b, c;
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"version\":1,\"broker\":2,\"block_start\":\"3000\",\"block_end\":\"3999\"}"),
						  &b, eb, sizeof(eb)), 0);
	ck_assert_int_eq(b.broker, 2);
	ck_assert_int_eq(b.start, 3000);
	ck_assert_int_eq(b.end, 3999);
	/* Kafka writes the ends as decimal strings */
	ck_assert_int_eq(kznode_pid_block_encode(&b, &js), 0);
	ck_assert_str_eq(js, "{\"version\":1,\"broker\":2,\"block_start\":\"3000\",\"block_end\":\"3999\"}");
	free(js);
	/* numbers are read too */
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"version\":1,\"broker\":0,\"block_start\":0,\"block_end\":999}"), &b,
						  eb, sizeof(eb)), 0);
	ck_assert_int_eq(b.end, 999);
	/* the empty znode Kafka creates at start-up: no block yet */
	ck_assert_int_eq(kznode_pid_block_decode("", 0, &b, eb, sizeof(eb)), ERR_NOTFOUND);
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"broker\":0,\"block_start\":\"5\",\"block_end\":\"4\"}"), &b, eb,
						  sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"broker\":0,\"block_start\":\"x\",\"block_end\":\"4\"}"), &b, eb,
						  sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"broker\":0,\"block_start\":\"-1\",\"block_end\":\"4\"}"), &b, eb,
						  sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"block_start\":\"0\",\"block_end\":\"4\"}"), &b, eb, sizeof(eb)),
			 ERR_CORRUPT);
	ck_assert_int_eq(kznode_pid_block_decode(S("{\"broker\":0,\"block_start\":\"99999999999999999999\",\"block_end\":\"4\"}"),
						  &b, eb, sizeof(eb)), ERR_CORRUPT);
	/* the next block follows the last one; the first is 0..999 */
	ck_assert_int_eq(kznode_pid_block_next(NULL, 4, &c), 0);
	ck_assert_int_eq(c.broker, 4);
	ck_assert_int_eq(c.start, 0);
	ck_assert_int_eq(c.end, 999);
	b = (struct kznode_pid_block){ .broker = 1, .start = 1000, .end = 1999 };
	ck_assert_int_eq(kznode_pid_block_next(&b, 4, &c), 0);
	ck_assert_int_eq(c.start, 2000);
	ck_assert_int_eq(c.end, 2999);
	b.end = INT64_MAX - 10;
	ck_assert_int_eq(kznode_pid_block_next(&b, 4, &c), ERR_RANGE);
}
END_TEST

static Suite *kmeta_suite(void)
{
	Suite *s = suite_create("kmeta");
	TCase *tc = tcase_create("assign");
	tcase_add_test(tc, test_assign_kafka_admin_test_table);
	tcase_add_test(tc, test_assign_three_brokers_rf3);
	tcase_add_test(tc, test_assign_start_and_shift_ids);
	tcase_add_test(tc, test_assign_growth);
	tcase_add_test(tc, test_assign_spread_and_distinct);
	tcase_add_test(tc, test_assign_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_name_rules);
	tcase_add_test(tc, test_name_collisions);
	suite_add_tcase(s, tc);
	tc = tcase_create("znodes");
	tcase_add_test(tc, test_kz_assignment_roundtrip);
	tcase_add_test(tc, test_kz_assignment_decode_kafka_forms);
	tcase_add_test(tc, test_kz_assignment_decode_refused);
	tcase_add_test(tc, test_kz_state);
	tcase_add_test(tc, test_kz_broker);
	tcase_add_test(tc, test_kz_controller_and_epoch);
	tcase_add_test(tc, test_kz_cluster_id_and_notifications);
	tcase_add_test(tc, test_kz_config);
	tcase_add_test(tc, test_kz_pid_block);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kmeta_suite());
}

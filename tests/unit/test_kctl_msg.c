/*
 * Unit tests for broker/controller/kctl_msg, the codec of the controller's channel: byte vectors
 * worked out by hand from proto/controller.proto (a Heartbeat, a StopReplica) both ways, round
 * trips of every message type, the stream framing (partial input, two frames in a row), and
 * malformed frames: empty, an unknown type, a length of 0 or over the maximum (refused from the
 * first 4 bytes), a truncated body, a missing header or version, a count over its cap, an empty
 * topic, a negative partition, a body of tiny sub-messages over the memory budget; and a large
 * honest message inside it. The encoder refuses what the decoder would.
 */
#include "buf.h"
#include "controller.pb-c.h"
#include "err.h"
#include "kctl_msg.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Heartbeat{header{version 1, correlation 7, controller 1, epoch 3, broker epoch 42}} */
static const uint8_t hb_frame[] = { 0x00, 0x00, 0x00, 0x0d, 0x07, 0x0a, 0x0a, 0x08, 0x01,
				    0x10, 0x07, 0x18, 0x01, 0x20, 0x03, 0x28, 0x2a };

/* StopReplica{header{version 1, correlation 2, controller 0, epoch 1}, delete true, [t-3]} */
static const uint8_t sr_frame[] = { 0x00, 0x00, 0x00, 0x12, 0x05, 0x0a, 0x06, 0x08, 0x01, 0x10, 0x02, 0x20,
				    0x01, 0x10, 0x01, 0x1a, 0x05, 0x0a, 0x01, 0x74, 0x10, 0x03 };

static void encode_ok(const struct kctl_msg *m, struct wbuf *w)
{
	wbuf_init(w, (size_t)KCTL_MAX_FRAME + 64);
	ck_assert_int_eq(kctl_msg_encode(m, w), 0);
}

/* Encodes m, decodes it back into *d (the caller clears it). */
static void round_trip(const struct kctl_msg *m, struct kctl_msg *d)
{
	struct wbuf w;
	char eb[256] = "";
	size_t used = 0;
	encode_ok(m, &w);
	ck_assert_uint_eq(be32_get(w.p), w.len - 4);
	ck_assert_int_eq(w.p[4], m->type);
	int rc = kctl_msg_decode_frame(w.p, w.len, &used, d, eb, sizeof(eb));
	ck_assert_msg(rc == 0, "decode: %s (%s)", err_str(rc), eb);
	ck_assert_uint_eq(used, w.len);
	ck_assert_int_eq(d->type, m->type);
	ck_assert_uint_eq(d->version, m->version);
	ck_assert_int_eq(d->correlation_id, m->correlation_id);
	wbuf_free(&w);
}

START_TEST(test_heartbeat_bytes)
{
	struct kctl_msg m = { .type = KCTL_HEARTBEAT, .version = 1, .correlation_id = 7, .controller_id = 1,
			      .controller_epoch = 3, .broker_epoch = 42 };
	struct wbuf w;
	encode_ok(&m, &w);
	ck_assert_uint_eq(w.len, sizeof(hb_frame));
	ck_assert_mem_eq(w.p, hb_frame, sizeof(hb_frame));
	wbuf_free(&w);

	struct kctl_msg d;
	size_t used;
	ck_assert_int_eq(kctl_msg_decode_frame(hb_frame, sizeof(hb_frame), &used, &d, NULL, 0), 0);
	ck_assert_uint_eq(used, sizeof(hb_frame));
	ck_assert_int_eq(d.type, KCTL_HEARTBEAT);
	ck_assert_uint_eq(d.version, 1);
	ck_assert_int_eq(d.correlation_id, 7);
	ck_assert_int_eq(d.controller_id, 1);
	ck_assert_int_eq(d.controller_epoch, 3);
	ck_assert_int_eq(d.broker_epoch, 42);
	kctl_msg_clear(&d);
	ck_assert_ptr_null(d.priv);
	kctl_msg_clear(&d); /* cleared twice is fine */
	kctl_msg_clear(NULL);
}
END_TEST

START_TEST(test_stop_replica_bytes)
{
	struct kctl_tp tp = { "t", 3 };
	struct kctl_msg m = { .type = KCTL_STOP_REPLICA, .version = 1, .correlation_id = 2, .controller_epoch = 1,
			      .delete_partitions = true, .stops = &tp, .n_stops = 1 };
	struct wbuf w;
	encode_ok(&m, &w);
	ck_assert_uint_eq(w.len, sizeof(sr_frame));
	ck_assert_mem_eq(w.p, sr_frame, sizeof(sr_frame));
	wbuf_free(&w);

	struct kctl_msg d;
	ck_assert_int_eq(kctl_msg_decode(sr_frame + 4, sizeof(sr_frame) - 4, &d, NULL, 0), 0);
	ck_assert_int_eq(d.type, KCTL_STOP_REPLICA);
	ck_assert(d.delete_partitions);
	ck_assert_uint_eq(d.n_stops, 1);
	ck_assert_str_eq(d.stops[0].topic, "t");
	ck_assert_int_eq(d.stops[0].partition, 3);
	ck_assert_int_eq(d.broker_epoch, 0);
	kctl_msg_clear(&d);
}
END_TEST

START_TEST(test_leader_and_isr_round_trip)
{
	static const int32_t isr[] = { 1, 2 }, reps[] = { 1, 2, 0 };
	struct kctl_part parts[2] = {
		{ .topic = "cities", .partition = 0, .controller_epoch = 4, .leader = 1, .leader_epoch = 9,
		  .zk_version = 12, .isr = isr, .n_isr = 2, .replicas = reps, .n_replicas = 3, .is_new = true },
		{ .topic = "cities", .partition = 1, .controller_epoch = 4, .leader = -1, .leader_epoch = 2,
		  .zk_version = 0, .replicas = reps, .n_replicas = 3 },
	};
	struct kctl_endpoint ep = { 1, "broker-1.example", 9093 };
	struct kctl_msg m = { .type = KCTL_LEADER_AND_ISR, .version = 1, .correlation_id = -5, .controller_id = 2,
			      .controller_epoch = 4, .broker_epoch = 0x100000001LL, .parts = parts, .n_parts = 2,
			      .leaders = &ep, .n_leaders = 1 };
	struct kctl_msg d;
	round_trip(&m, &d);
	ck_assert_int_eq(d.controller_id, 2);
	ck_assert_int_eq(d.controller_epoch, 4);
	ck_assert_int_eq(d.broker_epoch, 0x100000001LL);
	ck_assert_uint_eq(d.n_parts, 2);
	ck_assert_str_eq(d.parts[0].topic, "cities");
	ck_assert_int_eq(d.parts[0].leader, 1);
	ck_assert_int_eq(d.parts[0].leader_epoch, 9);
	ck_assert_int_eq(d.parts[0].zk_version, 12);
	ck_assert_int_eq(d.parts[0].controller_epoch, 4);
	ck_assert(d.parts[0].is_new);
	ck_assert_uint_eq(d.parts[0].n_isr, 2);
	ck_assert_int_eq(d.parts[0].isr[1], 2);
	ck_assert_uint_eq(d.parts[0].n_replicas, 3);
	ck_assert_int_eq(d.parts[0].replicas[2], 0);
	ck_assert_int_eq(d.parts[1].partition, 1);
	ck_assert_int_eq(d.parts[1].leader, -1);
	ck_assert(!d.parts[1].is_new);
	ck_assert_uint_eq(d.parts[1].n_isr, 0);
	ck_assert_uint_eq(d.n_leaders, 1);
	ck_assert_int_eq(d.leaders[0].id, 1);
	ck_assert_str_eq(d.leaders[0].host, "broker-1.example");
	ck_assert_int_eq(d.leaders[0].port, 9093);
	kctl_msg_clear(&d);
}
END_TEST

START_TEST(test_update_metadata_and_responses_round_trip)
{
	static const int32_t reps[] = { 0, 1, 2 }, off[] = { 2 };
	struct kctl_part part = { .topic = "x", .partition = 7, .leader = 0, .leader_epoch = 1, .isr = reps,
				  .n_isr = 2, .replicas = reps, .n_replicas = 3, .offline = off, .n_offline = 1 };
	struct kctl_broker brokers[2] = { { 0, "127.0.0.1", 9092, "r1", 10092 }, { 1, "127.0.0.1", 9093, NULL, 10093 } };
	struct kctl_msg m = { .type = KCTL_UPDATE_METADATA, .version = 1, .correlation_id = 1, .controller_epoch = 2,
			      .broker_epoch = -1, .brokers = brokers, .n_brokers = 2, .parts = &part, .n_parts = 1 };
	struct kctl_msg d;
	round_trip(&m, &d);
	ck_assert_int_eq(d.broker_epoch, -1);
	ck_assert_uint_eq(d.n_brokers, 2);
	ck_assert_str_eq(d.brokers[0].rack, "r1");
	ck_assert_str_eq(d.brokers[1].rack, "");
	ck_assert_int_eq(d.brokers[1].port, 9093);
	ck_assert_int_eq(d.brokers[1].control_port, 10093);
	ck_assert_uint_eq(d.n_parts, 1);
	ck_assert_uint_eq(d.parts[0].n_offline, 1);
	ck_assert_int_eq(d.parts[0].offline[0], 2);
	kctl_msg_clear(&d);

	struct kctl_part_err errs[2] = { { "x", 7, 0 }, { "y", 0, KCTL_ERR_STALE_CONTROLLER_EPOCH } };
	int types[] = { KCTL_LEADER_AND_ISR_RESP, KCTL_STOP_REPLICA_RESP };
	for (int i = 0; i < 2; i++) {
		struct kctl_msg r = { .type = (enum kctl_type)types[i], .version = 1, .correlation_id = 99,
				      .error_code = 0, .errors = errs, .n_errors = 2 };
		round_trip(&r, &d);
		ck_assert_uint_eq(d.n_errors, 2);
		ck_assert_str_eq(d.errors[1].topic, "y");
		ck_assert_int_eq(d.errors[1].error_code, 11);
		kctl_msg_clear(&d);
	}
	struct kctl_msg u = { .type = KCTL_UPDATE_METADATA_RESP, .version = 1, .correlation_id = 3,
			      .error_code = KCTL_ERR_STALE_BROKER_EPOCH };
	round_trip(&u, &d);
	ck_assert_int_eq(d.error_code, 77);
	kctl_msg_clear(&d);
	struct kctl_msg h = { .type = KCTL_HEARTBEAT_RESP, .version = 1, .correlation_id = 4, .broker_id = 2,
			      .broker_epoch = 77777, .controller_epoch = 6 };
	round_trip(&h, &d);
	ck_assert_int_eq(d.broker_id, 2);
	ck_assert_int_eq(d.broker_epoch, 77777);
	ck_assert_int_eq(d.controller_epoch, 6);
	kctl_msg_clear(&d);
}
END_TEST

START_TEST(test_stream_framing)
{
	uint8_t two[sizeof(hb_frame) + sizeof(sr_frame)];
	struct kctl_msg d;
	size_t used = 99;
	memcpy(two, hb_frame, sizeof(hb_frame));
	memcpy(two + sizeof(hb_frame), sr_frame, sizeof(sr_frame));
	for (size_t n = 0; n < sizeof(hb_frame); n++) {
		ck_assert_int_eq(kctl_msg_decode_frame(two, n, &used, &d, NULL, 0), ERR_AGAIN);
		ck_assert_uint_eq(used, 0);
	}
	ck_assert_int_eq(kctl_msg_decode_frame(two, sizeof(two), &used, &d, NULL, 0), 0);
	ck_assert_int_eq(d.type, KCTL_HEARTBEAT);
	kctl_msg_clear(&d);
	size_t at = used;
	ck_assert_int_eq(kctl_msg_decode_frame(two + at, sizeof(two) - at, &used, &d, NULL, 0), 0);
	ck_assert_int_eq(d.type, KCTL_STOP_REPLICA);
	ck_assert_uint_eq(at + used, sizeof(two));
	kctl_msg_clear(&d);
}
END_TEST

static void expect_bad(const uint8_t *f, size_t len, int code, const char *text)
{
	struct kctl_msg d;
	char eb[256] = "";
	int rc = kctl_msg_decode(f, len, &d, eb, sizeof(eb));
	ck_assert_msg(rc == code, "expected %s, got %s (%s)", err_str(code), err_str(rc), eb);
	ck_assert_msg(strstr(eb, text), "error text '%s' lacks '%s'", eb, text);
	ck_assert_ptr_null(d.priv);
	ck_assert_int_eq(d.type, 0);
}

START_TEST(test_malformed_frames)
{
	uint8_t f[64] = { 0 };
	struct kctl_msg d;
	size_t used;
	char eb[256] = "";

	expect_bad(f, 0, ERR_CORRUPT, "empty frame");
	f[0] = 0;
	expect_bad(f, 1, ERR_PROTO, "unknown message type 0");
	f[0] = 9;
	expect_bad(f, 1, ERR_PROTO, "unknown message type 9");
	f[0] = 0xff;
	expect_bad(f, 5, ERR_PROTO, "unknown message type 255");
	/* a Heartbeat with no body: no header */
	f[0] = KCTL_HEARTBEAT;
	expect_bad(f, 1, ERR_CORRUPT, "without a header");
	/* a header without a version */
	static const uint8_t nover[] = { KCTL_HEARTBEAT, 0x0a, 0x02, 0x10, 0x07 };
	expect_bad(nover, sizeof(nover), ERR_CORRUPT, "without a version");
	/* truncated: the header claims 10 bytes, 3 follow */
	static const uint8_t trunc[] = { KCTL_HEARTBEAT, 0x0a, 0x0a, 0x08, 0x01, 0x10 };
	expect_bad(trunc, sizeof(trunc), ERR_CORRUPT, "malformed protobuf");
	/* StopReplica of an empty topic, and of a negative partition */
	static const uint8_t notopic[] = { KCTL_STOP_REPLICA, 0x0a, 0x02, 0x08, 0x01, 0x1a, 0x02, 0x10, 0x03 };
	expect_bad(notopic, sizeof(notopic), ERR_CORRUPT, "bad topic or partition");
	uint8_t negpart[] = { KCTL_STOP_REPLICA, 0x0a, 0x02, 0x08, 0x01, 0x1a, 0x0e, 0x0a, 0x01, 0x74, 0x10,
			      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	expect_bad(negpart, sizeof(negpart), ERR_CORRUPT, "bad topic or partition");

	/* lengths refused from the first 4 bytes, nothing else needed */
	static const uint8_t huge[] = { 0x01, 0x00, 0x00, 0x01 }, zero[] = { 0, 0, 0, 0 },
			     neg[] = { 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(kctl_msg_decode_frame(huge, 4, &used, &d, eb, sizeof(eb)), ERR_TOOBIG);
	ck_assert_ptr_nonnull(strstr(eb, "over the maximum"));
	ck_assert_int_eq(kctl_msg_decode_frame(neg, 4, &used, &d, eb, sizeof(eb)), ERR_TOOBIG);
	ck_assert_int_eq(kctl_msg_decode_frame(zero, 4, &used, &d, eb, sizeof(eb)), ERR_CORRUPT);
	ck_assert_int_eq(kctl_msg_decode(f, (size_t)KCTL_MAX_FRAME + 1, &d, eb, sizeof(eb)), ERR_TOOBIG);
}
END_TEST

/* Packs a LeaderAndIsr with one partition whose ISR has n entries, bypassing our encoder. */
static uint8_t *pack_isr(size_t n, size_t *len)
{
	Samsa__Controller__RequestHeader h = SAMSA__CONTROLLER__REQUEST_HEADER__INIT;
	Samsa__Controller__PartitionState ps = SAMSA__CONTROLLER__PARTITION_STATE__INIT, *psp = &ps;
	Samsa__Controller__LeaderAndIsr l = SAMSA__CONTROLLER__LEADER_AND_ISR__INIT;
	int32_t *isr = calloc(n, sizeof(*isr));
	ck_assert_ptr_nonnull(isr);
	h.version = 1;
	ps.topic = (char *)"t";
	ps.n_isr = n;
	ps.isr = isr;
	l.header = &h;
	l.n_partitions = 1;
	l.partitions = &psp;
	size_t body = samsa__controller__leader_and_isr__get_packed_size(&l);
	uint8_t *f = malloc(body + 1);
	ck_assert_ptr_nonnull(f);
	f[0] = KCTL_LEADER_AND_ISR;
	samsa__controller__leader_and_isr__pack(&l, f + 1);
	free(isr);
	*len = body + 1;
	return f;
}

START_TEST(test_caps)
{
	size_t len;
	struct kctl_msg d;
	uint8_t *f = pack_isr(KCTL_MAX_REPLICAS, &len);
	ck_assert_int_eq(kctl_msg_decode(f, len, &d, NULL, 0), 0);
	ck_assert_uint_eq(d.parts[0].n_isr, KCTL_MAX_REPLICAS);
	kctl_msg_clear(&d);
	free(f);
	f = pack_isr(KCTL_MAX_REPLICAS + 1, &len);
	expect_bad(f, len, ERR_CORRUPT, "more than 1024 replicas");
	free(f);

	/* a name one byte over the cap */
	char longname[KCTL_MAX_NAME + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[KCTL_MAX_NAME + 1] = 0;
	struct kctl_tp tp = { longname, 0 };
	struct kctl_msg m = { .type = KCTL_STOP_REPLICA, .version = 1, .stops = &tp, .n_stops = 1 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kctl_msg_encode(&m, &w), ERR_INVAL);
	ck_assert_uint_eq(w.len, 0);
	longname[KCTL_MAX_NAME] = 0; /* exactly the cap */
	ck_assert_int_eq(kctl_msg_encode(&m, &w), 0);
	wbuf_free(&w);

	/* the encoder refuses what the decoder would */
	struct kctl_msg bad[] = {
		{ .type = 0, .version = 1 },
		{ .type = (enum kctl_type)9, .version = 1 },
		{ .type = KCTL_HEARTBEAT, .version = 0 },
		{ .type = KCTL_LEADER_AND_ISR, .version = 1, .n_parts = KCTL_MAX_PARTITIONS + 1 },
		{ .type = KCTL_UPDATE_METADATA, .version = 1, .n_brokers = KCTL_MAX_BROKERS + 1 },
	};
	struct kctl_tp empty = { "", 1 }, negative = { "t", -1 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kctl_msg_encode(&bad[i], &w), ERR_INVAL);
		wbuf_free(&w);
	}
	m.stops = &empty;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kctl_msg_encode(&m, &w), ERR_INVAL);
	m.stops = &negative;
	ck_assert_int_eq(kctl_msg_encode(&m, &w), ERR_INVAL);
	/* the output buffer's own bound */
	wbuf_free(&w);
	wbuf_init(&w, 8);
	ck_assert_int_eq(kctl_msg_encode(&(struct kctl_msg){ .type = KCTL_HEARTBEAT, .version = 1, .controller_id = 1 }, &w),
			 ERR_TOOBIG);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_memory_budget)
{
	/* 150000 empty partition states (2 bytes each on the wire, well over 100 in memory) */
	size_t n = 150000, len = 1 + 4 + 2 * n;
	uint8_t *f = malloc(len);
	ck_assert_ptr_nonnull(f);
	f[0] = KCTL_LEADER_AND_ISR;
	f[1] = 0x0a, f[2] = 0x02, f[3] = 0x08, f[4] = 0x01;
	for (size_t i = 0; i < n; i++)
		f[5 + 2 * i] = 0x12, f[6 + 2 * i] = 0x00;
	expect_bad(f, len, ERR_CORRUPT, "memory budget");
	free(f);

	/* an honest LeaderAndIsr of 20000 partitions, RF 3, fits its budget */
	static const int32_t reps[] = { 0, 1, 2 };
	n = 20000;
	struct kctl_part *parts = calloc(60000, sizeof(*parts));
	char (*names)[32] = calloc(n, 32);
	ck_assert_ptr_nonnull(parts);
	ck_assert_ptr_nonnull(names);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 32, "topic-%zu", i / 8);
		parts[i] = (struct kctl_part){ .topic = names[i], .partition = (int32_t)(i % 8), .leader = 1,
					       .leader_epoch = 3, .isr = reps, .n_isr = 3, .replicas = reps, .n_replicas = 3 };
	}
	struct kctl_msg m = { .type = KCTL_LEADER_AND_ISR, .version = 1, .parts = parts, .n_parts = n }, d;
	round_trip(&m, &d);
	ck_assert_uint_eq(d.n_parts, n);
	ck_assert_str_eq(d.parts[n - 1].topic, names[n - 1]);
	ck_assert_int_eq(d.parts[n - 1].replicas[2], 2);
	kctl_msg_clear(&d);

	/* and so does the smallest honest partition state, 60000 times */
	static const int32_t zero[] = { 0 };
	n = 60000;
	for (size_t i = 0; i < n; i++)
		parts[i] = (struct kctl_part){ .topic = "t", .controller_epoch = 1, .isr = zero, .n_isr = 1,
					       .replicas = zero, .n_replicas = 1 };
	struct kctl_msg u = { .type = KCTL_UPDATE_METADATA, .version = 1, .parts = parts, .n_parts = n };
	round_trip(&u, &d);
	ck_assert_uint_eq(d.n_parts, n);
	kctl_msg_clear(&d);
	free(parts);
	free(names);
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(kctl_type_name(KCTL_LEADER_AND_ISR), "LeaderAndIsr");
	ck_assert_str_eq(kctl_type_name(KCTL_HEARTBEAT_RESP), "HeartbeatResponse");
	ck_assert_str_eq(kctl_type_name(0), "unknown");
	ck_assert_str_eq(kctl_type_name(9), "unknown");
	ck_assert(kctl_type_is_request(KCTL_STOP_REPLICA));
	ck_assert(!kctl_type_is_request(KCTL_STOP_REPLICA_RESP));
	ck_assert(!kctl_type_is_request(9));
}
END_TEST

static Suite *kctl_msg_suite(void)
{
	Suite *s = suite_create("kctl_msg");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_heartbeat_bytes);
	tcase_add_test(tc, test_stop_replica_bytes);
	tcase_add_test(tc, test_leader_and_isr_round_trip);
	tcase_add_test(tc, test_update_metadata_and_responses_round_trip);
	tcase_add_test(tc, test_stream_framing);
	tcase_add_test(tc, test_type_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad_input");
	tcase_add_test(tc, test_malformed_frames);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_memory_budget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kctl_msg_suite());
}

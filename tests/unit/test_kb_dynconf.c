/*
 * Unit tests for kb_dynconf: Kafka's config JSON both ways (escapes, non-string values, bad and
 * truncated documents), the validation of dynamic broker configs, and the precedence of this
 * broker's dynamic configs over the cluster default over the static ones, with each value's
 * source as DescribeConfigs reports it.
 */
#include "err.h"
#include "kb_dynconf.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_json_round_trip)
{
	struct kb_tconf in[3] = {
		{ (char *)"retention.ms", (char *)"1000" },
		{ (char *)"odd\"key\\", (char *)"line\nbreak\x01" },
		{ (char *)"cleanup.policy", (char *)"delete" },
	};
	char *js = kb_dynconf_json(in, 3);
	ck_assert_ptr_nonnull(js);
	ck_assert_str_eq(js, "{\"version\":1,\"config\":{\"retention.ms\":\"1000\",\"odd\\\"key\\\\\":"
			     "\"line\\u000abreak\\u0001\",\"cleanup.policy\":\"delete\"}}");
	struct kb_tconf *out;
	int32_t n;
	ck_assert_int_eq(kb_dynconf_parse(js, strlen(js), &out, &n), 0);
	ck_assert_int_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(out[i].name, in[i].name);
		ck_assert_str_eq(out[i].value, in[i].value);
	}
	kb_dynconf_free(out, n);
	/* an empty set */
	char *e = kb_dynconf_json(NULL, 0);
	ck_assert_str_eq(e, "{\"version\":1,\"config\":{}}");
	ck_assert_int_eq(kb_dynconf_parse(e, strlen(e), &out, &n), 0);
	ck_assert_int_eq(n, 0);
	kb_dynconf_free(out, n);
	/* every prefix of a document is either refused or parsed, never more */
	for (size_t l = 0; l < strlen(js); l++) {
		int rc = kb_dynconf_parse(js, l, &out, &n);
		ck_assert_msg(rc == ERR_CORRUPT, "prefix %zu parsed", l);
	}
	free(js);
	free(e);
}
END_TEST

START_TEST(test_parse_kafka_documents)
{
	struct kb_tconf *out;
	int32_t n;
	/* what Kafka writes, numbers and nulls among the values are skipped */
	const char *doc = "{\"version\":1,\"config\":{\"a\":\"1\",\"b\":2,\"c\":null,\"d\":\"x\"}}";
	ck_assert_int_eq(kb_dynconf_parse(doc, strlen(doc), &out, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(out[0].name, "a");
	ck_assert_str_eq(out[1].name, "d");
	kb_dynconf_free(out, n);
	/* no "config" object at all: no entries */
	const char *none = "{\"version\":1}";
	ck_assert_int_eq(kb_dynconf_parse(none, strlen(none), &out, &n), 0);
	ck_assert_int_eq(n, 0);
	kb_dynconf_free(out, n);
	const char *bad = "{\"version\":1,\"config\":{\"a\":}";
	ck_assert_int_eq(kb_dynconf_parse(bad, strlen(bad), &out, &n), ERR_CORRUPT);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_broker_validate)
{
	char why[512];
	struct kb_tconf ok[] = { { (char *)"log.retention.ms", (char *)"-1" },
				 { (char *)"log.segment.bytes", (char *)"1048576" },
				 { (char *)"log.flush.interval.ms", (char *)"0" } };
	ck_assert_int_eq(kb_dynconf_broker_validate(ok, 3, why, sizeof(why)), KE_NONE);
	struct kb_tconf stat[] = { { (char *)"num.partitions", (char *)"3" } };
	ck_assert_int_eq(kb_dynconf_broker_validate(stat, 1, why, sizeof(why)), KE_INVALID_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "Cannot update these configs dynamically: num.partitions"));
	const char *bad[][2] = { { "log.retention.ms", "-2" },  { "log.retention.ms", "soon" },
				 { "log.segment.bytes", "13" }, { "log.segment.bytes", "4294967296" },
				 { "log.roll.ms", "0" },	 { "log.retention.bytes", "" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kb_tconf c = { (char *)bad[i][0], (char *)bad[i][1] };
		ck_assert_int_eq(kb_dynconf_broker_validate(&c, 1, why, sizeof(why)), KE_INVALID_CONFIG);
		ck_assert_ptr_nonnull(strstr(why, bad[i][0]));
	}
	ck_assert_str_eq(kb_dynconf_synonym("retention.ms"), "log.retention.ms");
	ck_assert_str_eq(kb_dynconf_synonym("segment.ms"), "log.roll.ms");
	ck_assert_ptr_null(kb_dynconf_synonym("no.such"));
}
END_TEST

START_TEST(test_precedence_and_sources)
{
	struct kb_config cfg;
	struct broker b;
	memset(&cfg, 0, sizeof(cfg));
	memset(&b, 0, sizeof(b));
	cfg.broker_id = 3;
	cfg.log_message_timestamp_type = (char *)"CreateTime";
	cfg.message_max_bytes = 1000000;
	cfg.min_insync_replicas = 1;
	b.cfg = &cfg;
	LIST_INIT(&b.topics);
	klog_opts_default(&b.static_opts);
	b.static_opts.retention_bytes = 5000; /* set in server.properties */
	b.default_opts = b.static_opts;
	char v[64];
	ck_assert_int_eq(kb_dynconf_broker_value(&b, "log.retention.ms", v, sizeof(v)), KB_SRC_DEFAULT);
	ck_assert_str_eq(v, "604800000");
	ck_assert_int_eq(kb_dynconf_broker_value(&b, "log.retention.bytes", v, sizeof(v)), KB_SRC_STATIC_BROKER);
	ck_assert_str_eq(v, "5000");

	struct kb_tconf d[] = { { (char *)"log.retention.ms", (char *)"1000" },
				{ (char *)"log.roll.ms", (char *)"2000" } };
	kb_dynconf_broker_set(&b, true, kb_dynconf_dup(d, 2), 2);
	ck_assert(b.default_opts.retention_ms == 1000);
	ck_assert(b.default_opts.roll_ms == 2000);
	ck_assert(b.default_opts.retention_bytes == 5000);
	struct kb_tconf m[] = { { (char *)"log.retention.ms", (char *)"3000" } };
	kb_dynconf_broker_set(&b, false, kb_dynconf_dup(m, 1), 1);
	ck_assert(b.default_opts.retention_ms == 3000); /* this broker's own wins */
	ck_assert(b.default_opts.roll_ms == 2000);
	ck_assert_int_eq(kb_dynconf_broker_value(&b, "log.retention.ms", v, sizeof(v)), KB_SRC_DYNAMIC_BROKER);
	ck_assert_str_eq(v, "3000");
	ck_assert_int_eq(kb_dynconf_broker_value(&b, "log.roll.ms", v, sizeof(v)), KB_SRC_DYNAMIC_DEFAULT_BROKER);
	ck_assert_str_eq(v, "2000");
	/* an invalid set (as a hand-written znode could hold) is ignored as a whole */
	struct kb_tconf bad[] = { { (char *)"log.retention.ms", (char *)"x" } };
	kb_dynconf_broker_set(&b, false, kb_dynconf_dup(bad, 1), 1);
	ck_assert(b.default_opts.retention_ms == 1000);
	/* deleting the default leaves the static values */
	kb_dynconf_broker_set(&b, true, NULL, 0);
	ck_assert(b.default_opts.retention_ms == b.static_opts.retention_ms);
	ck_assert(b.default_opts.roll_ms == b.static_opts.roll_ms);
	kb_dynconf_release(&b);
}
END_TEST

static Suite *dynconf_suite(void)
{
	Suite *s = suite_create("kb_dynconf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_json_round_trip);
	tcase_add_test(tc, test_parse_kafka_documents);
	tcase_add_test(tc, test_broker_validate);
	tcase_add_test(tc, test_precedence_and_sources);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_set_level(LOG_ERROR);
	return check_run(dynconf_suite());
}

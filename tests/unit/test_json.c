/*
 * Unit tests for common/json: Kafka's ZooKeeper documents as the broker writes them, escapes
 * and surrogate pairs, number edge cases, NULL-tolerant lookups, and malformed input (each must
 * be an error naming an offset, never a crash).
 */
#include "json.h"

#include "err.h"

#include "check_main.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct json_doc *parse_ok(const char *text)
{
	struct json_doc *doc = NULL;
	char eb[256] = "";
	int rc = json_parse(text, strlen(text), &doc, eb, sizeof(eb));
	ck_assert_msg(rc == 0, "%s: %s", text, eb);
	return doc;
}

static int parse_err(const char *text, char *eb, size_t eblen)
{
	struct json_doc *doc = (struct json_doc *)1;
	int rc = json_parse(text, strlen(text), &doc, eb, eblen);
	ck_assert_ptr_null(doc);
	return rc;
}

START_TEST(test_topic_assignment)
{
	struct json_doc *doc = parse_ok(
		"{\"version\":2,\"partitions\":{\"0\":[0,1],\"1\":[1,2]},\"adding_replicas\":{},"
		"\"removing_replicas\":{}}");
	const struct json_value *root = json_root(doc);
	int64_t v;
	ck_assert_int_eq(json_type(root), JSON_OBJECT);
	ck_assert_uint_eq(json_len(root), 4);
	ck_assert(json_int64(json_get(root, "version"), &v));
	ck_assert_int_eq(v, 2);
	const struct json_value *parts = json_get(root, "partitions");
	ck_assert_uint_eq(json_len(parts), 2);
	ck_assert_str_eq(json_key_at(parts, 1), "1");
	const struct json_value *r = json_get(parts, "1");
	ck_assert_uint_eq(json_len(r), 2);
	ck_assert(json_int64(json_at(r, 1), &v));
	ck_assert_int_eq(v, 2);
	ck_assert_ptr_null(json_at(r, 2));
	ck_assert_ptr_null(json_get(parts, "7"));
	ck_assert_ptr_null(json_get(json_get(root, "nothing"), "deeper"));
	ck_assert_uint_eq(json_len(json_get(root, "adding_replicas")), 0);
	json_free(doc);
}
END_TEST

START_TEST(test_partition_state)
{
	struct json_doc *doc = parse_ok(" {\"controller_epoch\":1,\"leader\":-1,\"version\":1,"
					"\"leader_epoch\":0,\"isr\":[]}\n");
	int64_t v;
	ck_assert(json_int64(json_get(json_root(doc), "leader"), &v));
	ck_assert_int_eq(v, -1);
	ck_assert_int_eq(json_type(json_get(json_root(doc), "isr")), JSON_ARRAY);
	ck_assert_uint_eq(json_len(json_get(json_root(doc), "isr")), 0);
	json_free(doc);
}
END_TEST

START_TEST(test_strings)
{
	struct json_doc *doc = parse_ok("[\"a\\\"b\\\\c\\/\\n\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\","
					"\"\\ud800x\", \"nul\\u0000in\", \"\"]");
	const struct json_value *a = json_root(doc);
	size_t n;
	ck_assert_str_eq(json_string(json_at(a, 0), NULL), "a\"b\\c/\n");
	ck_assert_str_eq(json_string(json_at(a, 1), NULL), "\xc3\xa9\xe2\x82\xac");
	ck_assert_str_eq(json_string(json_at(a, 2), NULL), "\xf0\x9f\x98\x80");
	ck_assert_str_eq(json_string(json_at(a, 3), NULL), "\xef\xbf\xbdx");
	const char *s = json_string(json_at(a, 4), &n);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(s, "nul\0in", 6);
	ck_assert_str_eq(json_string(json_at(a, 5), &n), "");
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(json_string(json_root(doc), NULL));
	json_free(doc);
}
END_TEST

START_TEST(test_numbers_and_literals)
{
	struct json_doc *doc = parse_ok("{\"a\":9223372036854775807,\"b\":-9223372036854775808,"
					"\"c\":9223372036854775808,\"d\":1.5e3,\"e\":-0,\"f\":true,"
					"\"g\":false,\"h\":null,\"a\":3}");
	const struct json_value *o = json_root(doc);
	int64_t v;
	double d;
	bool b;
	ck_assert(json_int64(json_get(o, "b"), &v));
	ck_assert(v == INT64_MIN);
	ck_assert(!json_int64(json_get(o, "c"), &v)); /* too big for int64: a double only */
	ck_assert(json_double(json_get(o, "c"), &d));
	ck_assert(!json_int64(json_get(o, "d"), &v));
	ck_assert(json_double(json_get(o, "d"), &d));
	ck_assert(d == 1500.0);
	ck_assert(json_int64(json_get(o, "e"), &v) && v == 0);
	ck_assert(json_bool(json_get(o, "f"), &b) && b);
	ck_assert(json_bool(json_get(o, "g"), &b) && !b);
	ck_assert_int_eq(json_type(json_get(o, "h")), JSON_NULL);
	ck_assert(!json_bool(json_get(o, "h"), &b));
	ck_assert(json_int64(json_get(o, "a"), &v) && v == 3); /* a repeated key: the last wins */
	json_free(doc);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *bad[] = {
		"", " ", "{", "[", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "01",
		"1.", "1e", "-", "+1", ".5", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\nb\"",
		"[1]x", "{} {}", "[\"\\", "\"\\u", "NaN", "Infinity",
	};
	char eb[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eb[0] = '\0';
		int rc = parse_err(bad[i], eb, sizeof(eb));
		ck_assert_msg(rc == ERR_CORRUPT, "'%s' gave %d", bad[i], rc);
		ck_assert_msg(strstr(eb, "json: offset ") == eb, "'%s': %s", bad[i], eb);
	}
}
END_TEST

START_TEST(test_caps)
{
	char eb[256];
	size_t n = 2 * JSON_MAX_DEPTH + 2;
	char *deep = malloc(n + 1);
	for (size_t i = 0; i < n / 2; i++) {
		deep[i] = '[';
		deep[n - 1 - i] = ']';
	}
	deep[n] = '\0';
	ck_assert_int_eq(parse_err(deep, eb, sizeof(eb)), ERR_TOOBIG);
	ck_assert_ptr_nonnull(strstr(eb, "nested deeper"));
	/* one level less is fine */
	struct json_doc *doc = NULL;
	ck_assert_int_eq(json_parse(deep + 1, n - 2, &doc, eb, sizeof(eb)), 0);
	json_free(doc);
	free(deep);
	json_free(NULL);
	ck_assert_ptr_null(json_root(NULL));
	ck_assert_uint_eq(json_len(NULL), 0);
	ck_assert_ptr_null(json_key_at(NULL, 0));
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_topic_assignment);
	tcase_add_test(tc, test_partition_state);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_numbers_and_literals);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_caps);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(json_suite());
}

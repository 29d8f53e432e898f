/*
 * Unit tests for common/prom (Prometheus text format: HELP/TYPE lines, label and HELP escaping,
 * value spelling, summaries with quantile labels, the quantile window's ranks, ageing and ring)
 * and common/jsonw (the JSON writer: nesting and commas, string escapes, numbers, and every
 * document read back by common/json's strict parser).
 */
#include "json.h"
#include "jsonw.h"
#include "prom.h"

#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The buffer's bytes as a NUL-terminated string (freed by the caller). */
static char *text_of(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	return s;
}

static void assert_text(struct evbuffer *b, const char *want)
{
	char *got = text_of(b);
	ck_assert_str_eq(got, want);
	free(got);
	evbuffer_drain(b, evbuffer_get_length(b));
}

START_TEST(test_family_and_samples)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert_int_eq(prom_family(b, "znode_count", "znode_count", PROM_GAUGE), 0);
	ck_assert_int_eq(prom_sample(b, "znode_count", NULL, 0, 5), 0);
	assert_text(b, "# HELP znode_count znode_count\n# TYPE znode_count gauge\nznode_count 5\n");
	ck_assert_int_eq(prom_family(b, "c", "a \\ b\nc \"q\"", PROM_COUNTER), 0);
	assert_text(b, "# HELP c a \\\\ b\\nc \"q\"\n# TYPE c counter\n");
	ck_assert_int_eq(prom_family(b, "s", NULL, PROM_SUMMARY), 0);
	assert_text(b, "# HELP s s\n# TYPE s summary\n");
	const char *labels[] = { "key", "a\"b\\c\nd", "quantile", "0.5" };
	ck_assert_int_eq(prom_sample(b, "m", labels, 2, 1.5), 0);
	assert_text(b, "m{key=\"a\\\"b\\\\c\\nd\",quantile=\"0.5\"} 1.5\n");
	evbuffer_free(b);
}
END_TEST

START_TEST(test_values)
{
	struct evbuffer *b = evbuffer_new();
	prom_value(b, 0);
	assert_text(b, "0");
	prom_value(b, -42);
	assert_text(b, "-42");
	prom_value(b, 9007199254740992.0);
	assert_text(b, "9007199254740992");
	prom_value(b, 1e300);
	assert_text(b, "1e+300");
	prom_value(b, 1.0 / 3);
	assert_text(b, "0.33333333333333331");
	prom_value(b, 0.1);
	assert_text(b, "0.1");
	prom_value(b, 1.541);
	assert_text(b, "1.541");
	prom_value(b, NAN);
	assert_text(b, "NaN");
	prom_value(b, INFINITY);
	assert_text(b, "+Inf");
	prom_value(b, -INFINITY);
	assert_text(b, "-Inf");
	evbuffer_free(b);
}
END_TEST

static double scratch[PROM_WINDOW_CAP];

START_TEST(test_window_quantiles)
{
	static struct prom_window w;
	const double qs[] = { 0, 0.5, 0.9, 0.99, 1 };
	double out[5];
	prom_window_init(&w, 1000);
	prom_window_quantiles(&w, 0, qs, 5, out, scratch);
	for (int i = 0; i < 5; i++)
		ck_assert(isnan(out[i]));
	for (int v = 100; v >= 1; v--) /* 1..100, in reverse order */
		prom_window_observe(&w, v, 10);
	prom_window_quantiles(&w, 10, qs, 5, out, scratch);
	ck_assert(out[0] == 1 && out[1] == 50 && out[2] == 90 && out[3] == 99 && out[4] == 100);
	ck_assert_uint_eq(w.count, 100);
	ck_assert(w.sum == 5050);
	/* 1.5 s later they have all aged out of the quantiles, not out of count and sum */
	prom_window_observe(&w, 7, 1500);
	prom_window_quantiles(&w, 1500, qs, 5, out, scratch);
	ck_assert(out[0] == 7 && out[2] == 7 && out[4] == 7);
	ck_assert_uint_eq(w.count, 101);
	ck_assert(w.sum == 5057);
}
END_TEST

START_TEST(test_window_ring)
{
	static struct prom_window w;
	const double qs[] = { 0, 1 };
	double out[2];
	prom_window_init(&w, 1000000);
	for (int i = 0; i < PROM_WINDOW_CAP + 10; i++)
		prom_window_observe(&w, i, 1);
	prom_window_quantiles(&w, 1, qs, 2, out, scratch);
	ck_assert(out[0] == 10); /* the oldest 10 were overwritten */
	ck_assert(out[1] == PROM_WINDOW_CAP + 9);
	ck_assert_uint_eq(w.n, PROM_WINDOW_CAP);
}
END_TEST

START_TEST(test_summary)
{
	static struct prom_window w;
	const double qs[] = { 0.5, 0.9, 0.99 };
	struct evbuffer *b = evbuffer_new();
	prom_window_init(&w, 60000);
	ck_assert_int_eq(prom_summary(b, "readlatency", "readlatency", &w, 0, qs, 3, scratch), 0);
	assert_text(b, "# HELP readlatency readlatency\n# TYPE readlatency summary\n"
		       "readlatency{quantile=\"0.5\"} NaN\nreadlatency{quantile=\"0.9\"} NaN\n"
		       "readlatency{quantile=\"0.99\"} NaN\nreadlatency_count 0\nreadlatency_sum 0\n");
	prom_window_observe(&w, 2, 0);
	prom_window_observe(&w, 4.5, 0);
	ck_assert_int_eq(prom_summary(b, "readlatency", "readlatency", &w, 0, qs, 3, scratch), 0);
	assert_text(b, "# HELP readlatency readlatency\n# TYPE readlatency summary\n"
		       "readlatency{quantile=\"0.5\"} 2\nreadlatency{quantile=\"0.9\"} 4.5\n"
		       "readlatency{quantile=\"0.99\"} 4.5\nreadlatency_count 2\nreadlatency_sum 6.5\n");
	evbuffer_free(b);
}
END_TEST

/* ---- jsonw ---- */

START_TEST(test_jsonw_document)
{
	struct evbuffer *b = evbuffer_new();
	struct jsonw w;
	jsonw_init(&w, b);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "s");
	jsonw_str(&w, "q\"b\\n\n\x01\xc3\xa9");
	jsonw_key(&w, "arr");
	jsonw_arr_begin(&w);
	jsonw_int(&w, -5);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_double(&w, 13.25);
	jsonw_double(&w, 2);
	jsonw_double(&w, NAN);
	jsonw_bool(&w, true);
	jsonw_null(&w);
	jsonw_str(&w, NULL);
	jsonw_obj_begin(&w);
	jsonw_obj_end(&w);
	jsonw_arr_begin(&w);
	jsonw_arr_end(&w);
	jsonw_arr_end(&w);
	jsonw_key(&w, "o");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "x");
	jsonw_bool(&w, false);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	ck_assert_int_eq(jsonw_finish(&w), 0);
	char *text = text_of(b);
	ck_assert_str_eq(text, "{\"s\":\"q\\\"b\\\\n\\u000a\\u0001\xc3\xa9\",\"arr\":[-5,18446744073709551615,13.25,2.0,"
			       "null,true,null,null,{},[]],\"o\":{\"x\":false}}");
	struct json_doc *doc = NULL;
	char eb[200];
	ck_assert_int_eq(json_parse(text, strlen(text), &doc, eb, sizeof(eb)), 0);
	const struct json_value *root = json_root(doc);
	ck_assert_str_eq(json_string(json_get(root, "s"), NULL), "q\"b\\n\n\x01\xc3\xa9");
	ck_assert_uint_eq(json_len(json_get(root, "arr")), 10);
	double d;
	ck_assert(json_double(json_at(json_get(root, "arr"), 2), &d) && d == 13.25);
	bool v = true;
	ck_assert(json_bool(json_get(json_get(root, "o"), "x"), &v) && !v);
	json_free(doc);
	free(text);
	evbuffer_free(b);
}
END_TEST

static Suite *prom_suite(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_family_and_samples);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_window_quantiles);
	tcase_add_test(tc, test_window_ring);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_jsonw_document);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(prom_suite());
}

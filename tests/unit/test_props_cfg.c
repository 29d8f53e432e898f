/*
 * Unit tests for common/props (Java-properties parsing exactly as java.util.Properties reads)
 * and common/cfg (the typed config table: defaults, ranges, errors naming file/line/key/value,
 * unknown keys as warnings).
 */
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "props.h"

#include "check_main.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct props *parse(const char *text)
{
	struct props *p = NULL;
	char eb[256] = "";
	ck_assert_msg(props_parse(text, strlen(text), "t.properties", &p, eb, sizeof(eb)) == 0, "%s", eb);
	return p;
}

START_TEST(test_separators_and_comments)
{
	struct props *p = parse("# comment\n"
				"   ! also a comment\n"
				"\n"
				"a=1\n"
				"b : 2\n"
				"c 3\n"
				"d\t=\t4 \n"
				"  e=five=5\n"
				"f:\n"
				"g\n"
				"h = x:y\n");
	ck_assert_str_eq(props_get(p, "a"), "1");
	ck_assert_str_eq(props_get(p, "b"), "2");
	ck_assert_str_eq(props_get(p, "c"), "3");
	ck_assert_str_eq(props_get(p, "d"), "4 "); /* Java keeps trailing blanks */
	ck_assert_str_eq(props_get(p, "e"), "five=5");
	ck_assert_str_eq(props_get(p, "f"), "");
	ck_assert_str_eq(props_get(p, "g"), "");
	ck_assert_str_eq(props_get(p, "h"), "x:y");
	ck_assert_uint_eq(props_count(p), 8);
	const char *k, *v;
	int line;
	ck_assert_int_eq(props_at(p, 0, &k, &v, &line), 0);
	ck_assert_str_eq(k, "a");
	ck_assert_int_eq(line, 4);
	props_free(p);
}
END_TEST

START_TEST(test_continuation_and_escapes)
{
	struct props *p = parse("list = one, \\\n"
				"       two, \\\n"
				"       three\n"
				"even=ends with two\\\\\n"
				"next=n\n"
				"esc=tab\\there\\nnl\n"
				"a\\=b=c\n"
				"sp\\ ace = v\n"
				"uni=caf\\u00e9 \\u20ac\n"
				"x=\\q\n");
	ck_assert_str_eq(props_get(p, "list"), "one, two, three");
	ck_assert_str_eq(props_get(p, "even"), "ends with two\\");
	ck_assert_str_eq(props_get(p, "next"), "n");
	ck_assert_str_eq(props_get(p, "esc"), "tab\there\nnl");
	ck_assert_str_eq(props_get(p, "a=b"), "c");
	ck_assert_str_eq(props_get(p, "sp ace"), "v");
	ck_assert_str_eq(props_get(p, "uni"), "caf\xc3\xa9 \xe2\x82\xac");
	ck_assert_str_eq(props_get(p, "x"), "q");
	props_free(p);
}
END_TEST

START_TEST(test_crlf_and_duplicates)
{
	struct props *p = parse("a=1\r\nb=2\rc=3\na=4\n");
	ck_assert_str_eq(props_get(p, "a"), "4");
	ck_assert_str_eq(props_get(p, "b"), "2");
	ck_assert_str_eq(props_get(p, "c"), "3");
	ck_assert_uint_eq(props_count(p), 3);
	props_free(p);
}
END_TEST

START_TEST(test_malformed_unicode_escape)
{
	struct props *p = NULL;
	char eb[256] = "";
	const char *text = "ok=1\nbad=\\u12G4\n";
	ck_assert_int_eq(props_parse(text, strlen(text), "zk.properties", &p, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(eb, "zk.properties:2: Malformed \\uxxxx encoding");
	text = "short=\\u12";
	ck_assert_int_eq(props_parse(text, strlen(text), "zk.properties", &p, eb, sizeof(eb)), ERR_CONFIG);
}
END_TEST

START_TEST(test_missing_file)
{
	struct props *p = NULL;
	char eb[256] = "";
	ck_assert_int_eq(props_load_file("/nonexistent/zk.properties", &p, eb, sizeof(eb)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(eb, "/nonexistent/zk.properties"));
}
END_TEST

struct conf {
	int32_t port;
	int64_t big;
	bool flag;
	char *dir;
	char *name;
};

static const struct cfg_def defs[] = {
	{ "clientPort", CFG_INT, 0, 65535, "2181", offsetof(struct conf, port), 0, "port" },
	{ "big", CFG_LONG, -1, INT64_MAX, "-1", offsetof(struct conf, big), 0, "a long" },
	{ "flag", CFG_BOOL, 0, 0, "false", offsetof(struct conf, flag), 0, "a bool" },
	{ "dataDir", CFG_STRING, 0, 0, NULL, offsetof(struct conf, dir), CFG_REQUIRED, "dir" },
	{ "name", CFG_STRING, 0, 0, "dflt", offsetof(struct conf, name), CFG_HIDDEN, "hidden" },
	{ "server.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "members" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static int apply(const char *text, struct conf *c, char *eb, size_t el)
{
	struct props *p = parse(text);
	memset(c, 0, sizeof(*c));
	int rc = cfg_apply(defs, NDEFS, p, c, eb, el);
	props_free(p);
	return rc;
}

START_TEST(test_cfg_defaults_and_values)
{
	struct conf c;
	char eb[256] = "";
	ck_assert_int_eq(apply("dataDir=/tmp/x\nbig=9223372036854775807\nflag=TRUE\nserver.1=a:1:2\n", &c, eb,
			       sizeof(eb)), 0);
	ck_assert_int_eq(c.port, 2181);
	ck_assert(c.big == INT64_MAX);
	ck_assert(c.flag);
	ck_assert_str_eq(c.dir, "/tmp/x");
	ck_assert_str_eq(c.name, "dflt");
	struct wbuf w;
	wbuf_init(&w, 4096);
	ck_assert_int_eq(cfg_format(defs, NDEFS, &c, &w), 0);
	wbuf_u8(&w, 0);
	ck_assert_str_eq((char *)w.p, "clientPort=2181\nbig=9223372036854775807\nflag=true\ndataDir=/tmp/x\n");
	wbuf_free(&w);
	ck_assert_int_eq(cfg_set(defs, NDEFS, &c, "clientPort", "2182", eb, sizeof(eb)), 0);
	ck_assert_int_eq(c.port, 2182);
	ck_assert_int_eq(cfg_set(defs, NDEFS, &c, "nope", "1", eb, sizeof(eb)), ERR_CONFIG);
	cfg_free(defs, NDEFS, &c);
	ck_assert_ptr_null(c.dir);
}
END_TEST

START_TEST(test_cfg_out_of_range)
{
	struct conf c;
	char eb[256] = "";
	ck_assert_int_eq(apply("dataDir=/d\n\nclientPort=70000\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_str_eq(eb, "t.properties:3: invalid value '70000' for 'clientPort': expected an integer in [0, 65535]");
	cfg_free(defs, NDEFS, &c);
}
END_TEST

START_TEST(test_cfg_bad_values)
{
	struct conf c;
	char eb[256] = "";
	ck_assert_int_eq(apply("dataDir=/d\nclientPort=12abc\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(eb, "'12abc' for 'clientPort'"));
	cfg_free(defs, NDEFS, &c);
	ck_assert_int_eq(apply("dataDir=/d\nbig=99999999999999999999\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(eb, "t.properties:2:"));
	cfg_free(defs, NDEFS, &c);
	ck_assert_int_eq(apply("dataDir=/d\nflag=yes\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(eb, "expected true or false"));
	cfg_free(defs, NDEFS, &c);
	ck_assert_int_eq(apply("clientPort=1\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	ck_assert_str_eq(eb, "t.properties: missing required key 'dataDir'");
	cfg_free(defs, NDEFS, &c);
	ck_assert_int_eq(apply("dataDir=/d\nclientPort=\n", &c, eb, sizeof(eb)), ERR_CONFIG);
	cfg_free(defs, NDEFS, &c);
}
END_TEST

START_TEST(test_cfg_unknown_key_warns)
{
	char dir[128];
	ck_assert_ptr_nonnull(check_mkdtemp(dir, sizeof(dir), "samsa-cfgtest"));
	char eb[256];
	ck_assert_int_eq(log_open(dir, "server.log", eb, sizeof(eb)), 0);
	log_set_quiet_stderr(1);
	struct conf c;
	ck_assert_int_eq(apply("dataDir=/d\ntickTim=2000\n", &c, eb, sizeof(eb)), 0);
	cfg_free(defs, NDEFS, &c);
	log_close();
	char path[512], text[2048] = { 0 };
	snprintf(path, sizeof(path), "%s/server.log", dir);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(text, "WARN t.properties:2: unknown key 'tickTim' is ignored"));
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("props_cfg");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_separators_and_comments);
	tcase_add_test(tc, test_continuation_and_escapes);
	tcase_add_test(tc, test_crlf_and_duplicates);
	tcase_add_test(tc, test_malformed_unicode_escape);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_cfg_defaults_and_values);
	tcase_add_test(tc, test_cfg_out_of_range);
	tcase_add_test(tc, test_cfg_bad_values);
	tcase_add_test(tc, test_cfg_unknown_key_warns);
	suite_add_tcase(s, tc);
	return check_run(s);
}

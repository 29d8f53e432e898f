/*
 * Unit tests for common/err (codes, text, wrapping) and common/log (levels, file output).
 */
#include "err.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_err_text)
{
	ck_assert_str_eq(err_str(ERR_OK), "success");
	ck_assert_str_eq(err_str(ERR_TRUNC), "truncated input");
	ck_assert_str_eq(err_str(12345), "unknown error");
	char buf[128];
	ck_assert_int_eq(err_set(buf, sizeof(buf), ERR_CONFIG, "key %s", "x"), ERR_CONFIG);
	ck_assert_str_eq(buf, "key x");
	err_wrap(buf, sizeof(buf), "%s:%d: ", "f.properties", 3);
	ck_assert_str_eq(buf, "f.properties:3: key x");
}
END_TEST

START_TEST(test_log_file)
{
	char dir[128];
	ck_assert_ptr_nonnull(check_mkdtemp(dir, sizeof(dir), "samsa-logtest"));
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/logs", dir);
	char eb[256];
	ck_assert_int_eq(log_open(sub, "server.log", eb, sizeof(eb)), 0);
	log_set_quiet_stderr(1);
	log_set_level(LOG_INFO);
	log_debug("test", "hidden %d", 1);
	log_info("test", "shown %d", 2);
	log_error("test", "bad %s", "thing");
	log_close();
	char path[600];
	snprintf(path, sizeof(path), "%s/server.log", sub);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char text[4096] = { 0 };
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_null(strstr(text, "hidden"));
	ck_assert_ptr_nonnull(strstr(text, "] INFO shown 2 (test)\n"));
	ck_assert_ptr_nonnull(strstr(text, "] ERROR bad thing (test)\n"));
	ck_assert_int_eq(log_level_parse("warn"), LOG_WARN);
	ck_assert_int_eq(log_level_parse("nope"), -1);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

START_TEST(test_log_unwritable_dir)
{
	char eb[256] = "";
	ck_assert_int_eq(log_open("/proc/nonexistent-samsa/logs", "server.log", eb, sizeof(eb)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(eb, "cannot create log directory"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("err_log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_err_text);
	tcase_add_test(tc, test_log_file);
	tcase_add_test(tc, test_log_unwritable_dir);
	suite_add_tcase(s, tc);
	return check_run(s);
}

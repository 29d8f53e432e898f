/*
 * Unit tests for broker/tools/ktool's raw path (ktool_raw_begin, ktool_raw_call), against a
 * listener on a loopback port served by a forked child: the request frame as written (length,
 * header v1, body), an answer handed back after its correlation id, a connection closed before
 * any answer told apart from a malformed answer (the tools fall back to librdkafka on the first
 * only), no listener and a SASL transport (nothing sent).
 */
#include "buf.h"
#include "ktool.h"

#include "check_main.h"

#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum server_mode { ANSWER, CLOSE, WRONG_CORR };

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void read_all(int fd, uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t k = recv(fd, p + off, n - off, 0);
		if (k <= 0)
			_exit(3);
		off += (size_t)k;
	}
}

/* The child: accepts one connection, checks the frame is the one the test sends (api 44 v0,
 * correlation id 1, client id "t", body "xy"), then answers or closes as mode says. */
static pid_t serve(int lfd, enum server_mode mode)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid)
		return pid;
	int c = accept(lfd, NULL, NULL);
	uint8_t hdr[4], req[64];
	read_all(c, hdr, 4);
	uint32_t len = be32_get(hdr);
	static const uint8_t want[] = { 0, 44, 0, 0, 0, 0, 0, 1, 0, 1, 't', 'x', 'y' };
	if (len != sizeof(want))
		_exit(4);
	read_all(c, req, len);
	if (memcmp(req, want, sizeof(want)))
		_exit(5);
	if (mode != CLOSE) {
		uint8_t ans[] = { 0, 0, 0, 6, 0, 0, 0, mode == ANSWER ? 1 : 2, 0xab, 0xcd };
		if (send(c, ans, sizeof(ans), 0) != (ssize_t)sizeof(ans))
			_exit(6);
	}
	close(c);
	_exit(0);
}

static rd_kafka_conf_t *conf_for(int port, const char *protocol)
{
	char boot[64], e[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	snprintf(boot, sizeof(boot), "127.0.0.1:%d,127.0.0.2:1", port);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", boot, e, sizeof(e)), RD_KAFKA_CONF_OK);
	if (protocol)
		ck_assert_int_eq(rd_kafka_conf_set(conf, "security.protocol", protocol, e, sizeof(e)), RD_KAFKA_CONF_OK);
	return conf;
}

static int call(rd_kafka_conf_t *conf, uint8_t **resp, size_t *len)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 10);
	ktool_raw_begin(&w, 44, 0, "t");
	wbuf_raw(&w, "xy", 2);
	int rc = ktool_raw_call(conf, &w, resp, len);
	wbuf_free(&w);
	return rc;
}

static int run(enum server_mode mode, uint8_t **resp, size_t *len)
{
	int port, status;
	int lfd = listen_any(&port);
	pid_t pid = serve(lfd, mode);
	rd_kafka_conf_t *conf = conf_for(port, NULL);
	int rc = call(conf, resp, len);
	rd_kafka_conf_destroy(conf);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0); /* the frame was the one expected */
	close(lfd);
	return rc;
}

START_TEST(test_answer)
{
	uint8_t *resp;
	size_t len;
	ck_assert_int_eq(run(ANSWER, &resp, &len), KTOOL_RAW_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(resp[0], 0xab);
	ck_assert_uint_eq(resp[1], 0xcd);
	free(resp);
}
END_TEST

START_TEST(test_closed_and_malformed)
{
	uint8_t *resp;
	size_t len;
	ck_assert_int_eq(run(CLOSE, &resp, &len), KTOOL_RAW_CLOSED);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(run(WRONG_CORR, &resp, &len), KTOOL_RAW_FAILED);
	ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(test_nothing_sent)
{
	uint8_t *resp;
	size_t len;
	int port;
	int lfd = listen_any(&port);
	close(lfd); /* nobody listens there now */
	rd_kafka_conf_t *conf = conf_for(port, NULL);
	ck_assert(ktool_raw_ok(conf));
	ck_assert_int_eq(call(conf, &resp, &len), KTOOL_RAW_NOCONN);
	ck_assert_ptr_null(resp);
	rd_kafka_conf_destroy(conf);
	conf = conf_for(port, "sasl_plaintext");
	ck_assert(!ktool_raw_ok(conf));
	ck_assert_int_eq(call(conf, &resp, &len), KTOOL_RAW_NOCONN);
	rd_kafka_conf_destroy(conf);
	conf = conf_for(port, "SSL");
	ck_assert(ktool_raw_ok(conf));
	rd_kafka_conf_destroy(conf);
}
END_TEST

static Suite *ktool_raw_suite(void)
{
	Suite *s = suite_create("ktool_raw");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_answer);
	tcase_add_test(tc, test_closed_and_malformed);
	tcase_add_test(tc, test_nothing_sent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ktool_raw_suite());
}

/*
 * Unit tests of kb_zktls's peer-ownership check (broker/zk): a connection to a loopback
 * listener whose other end is a socket of this process is the broker's own (the ZooKeeper
 * client's), one whose other end belongs to another process (a child) is not, and a socket
 * that is not a TCP/IPv4 connection is not either.
 */
#include "kb_zktls.h"

#include "check_main.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A listener on 127.0.0.1, its port in *port. */
static int t_listen(int *port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	socklen_t al = sizeof(a);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return l;
}

static int t_connect(int port)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(c, (struct sockaddr *)&a, sizeof(a))) {
		close(c);
		return -1;
	}
	return c;
}

START_TEST(own_socket_accepted)
{
	int port;
	int l = t_listen(&port);
	int c = t_connect(port);
	ck_assert_int_ge(c, 0);
	int s = accept(l, NULL, NULL);
	ck_assert_int_ge(s, 0);
	ck_assert(kb_zktls_peer_is_self(s));
	/* once the connecting socket is closed, its entry no longer is this process's */
	close(c);
	ck_assert(!kb_zktls_peer_is_self(s));
	close(s);
	close(l);
}
END_TEST

START_TEST(child_socket_refused)
{
	int port;
	int l = t_listen(&port);
	int hold[2];
	ck_assert_int_eq(pipe(hold), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(hold[1]);
		int c = t_connect(port);
		char x;
		/* keep the connection open until the parent has checked it */
		ssize_t r = read(hold[0], &x, 1);
		(void)r;
		_exit(c >= 0 ? 0 : 1);
	}
	close(hold[0]);
	int s = accept(l, NULL, NULL);
	ck_assert_int_ge(s, 0);
	bool mine = kb_zktls_peer_is_self(s);
	close(hold[1]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(!mine);
	close(s);
	close(l);
}
END_TEST

START_TEST(not_a_tcp_connection)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert(!kb_zktls_peer_is_self(sv[0]));
	close(sv[0]);
	close(sv[1]);
	int port;
	int l = t_listen(&port);
	ck_assert(!kb_zktls_peer_is_self(l)); /* a listener has no peer */
	close(l);
}
END_TEST

static Suite *kb_zktls_suite(void)
{
	Suite *s = suite_create("kb_zktls");
	TCase *tc = tcase_create("peer");
	tcase_add_test(tc, own_socket_accepted);
	tcase_add_test(tc, child_socket_refused);
	tcase_add_test(tc, not_a_tcp_connection);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kb_zktls_suite());
}

/*
 * Unit tests for common/crc32c (RFC 3720 B.4 vectors, hardware path == table path) and
 * common/net (framing over bufferevent pairs and real loopback sockets: partial frames, many
 * frames per read, the maximum frame size, the four-letter-word preface, deferred close,
 * backpressure, signals, timers).
 */
#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "net.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(test_crc32c_vectors)
{
	uint8_t buf[48];
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	memset(buf, 0, 32);
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, 32);
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
	static const uint8_t iscsi[48] = { 0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					   0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
					   0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
					   0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	ck_assert_uint_eq(crc32c(0, iscsi, 48), 0xD9963A56u);
	ck_assert_uint_eq(crc32c_sw(0, iscsi, 48), 0xD9963A56u);
}
END_TEST

START_TEST(test_crc32c_incremental_and_paths_agree)
{
	uint8_t data[1000];
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < sizeof(data); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (uint8_t)x;
	}
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off < sizeof(data); len += 37) {
			uint32_t a = crc32c(0, data + off, len);
			ck_assert_uint_eq(a, crc32c_sw(0, data + off, len));
			size_t cut = len / 3;
			ck_assert_uint_eq(a, crc32c(crc32c(0, data + off, cut), data + off + cut, len - cut));
		}
}
END_TEST

/* ---- net over a bufferevent pair ---- */

struct rec {
	int frames;
	size_t total;
	uint8_t last[256];
	size_t last_len;
	int closed;
	int close_err;
	int close_in_frame; /* close when this frame number arrives */
	int preface_taken;
};

static int rec_frame(struct net_conn *c, const uint8_t *p, size_t len, void *arg)
{
	struct rec *r = arg;
	r->frames++;
	r->total += len;
	r->last_len = len < sizeof(r->last) ? len : sizeof(r->last);
	memcpy(r->last, p, r->last_len);
	if (r->close_in_frame && r->frames == r->close_in_frame)
		net_conn_close(c, ERR_PROTO); /* inside the callback: must be deferred */
	return 0;
}

static void rec_closed(struct net_conn *c, int err, void *arg)
{
	struct rec *r = arg;
	(void)c;
	r->closed++;
	r->close_err = err;
}

static int rec_preface(struct net_conn *c, const uint8_t first4[4], void *arg)
{
	struct rec *r = arg;
	if (memcmp(first4, "ruok", 4))
		return 0;
	r->preface_taken = 1;
	net_conn_send(c, "imok", 4);
	net_conn_close_after_flush(c);
	return 1;
}

static const struct net_conn_cbs rec_cbs = { rec_preface, rec_frame, rec_closed };

struct pair {
	struct event_base *base;
	struct bufferevent *ends[2];
	struct net_conn *conn;
	struct rec rec;
};

static void pair_setup(struct pair *pr, size_t max_frame, size_t high, size_t hard)
{
	memset(pr, 0, sizeof(*pr));
	log_set_quiet_stderr(1);
	pr->base = event_base_new();
	ck_assert_int_eq(bufferevent_pair_new(pr->base, 0, pr->ends), 0);
	struct net_conn_opts o = { max_frame, high, hard };
	pr->conn = net_conn_new_bev(pr->ends[0], &o, &rec_cbs, &pr->rec);
	ck_assert_ptr_nonnull(pr->conn);
	bufferevent_enable(pr->ends[1], EV_READ | EV_WRITE);
}

static void pair_run(struct pair *pr)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(pr->base, EVLOOP_NONBLOCK);
}

static void pair_write(struct pair *pr, const void *p, size_t n)
{
	bufferevent_write(pr->ends[1], p, n);
	pair_run(pr);
}

static void pair_free(struct pair *pr)
{
	if (!pr->rec.closed)
		net_conn_close(pr->conn, 0);
	pair_run(pr);
	bufferevent_free(pr->ends[1]);
	event_base_free(pr->base);
}

static const uint8_t two_frames[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 2, 'x', 'y' };

START_TEST(test_frames_byte_by_byte)
{
	struct pair pr;
	pair_setup(&pr, 1024, 1 << 20, 1 << 22);
	for (size_t i = 0; i < sizeof(two_frames); i++)
		pair_write(&pr, two_frames + i, 1);
	ck_assert_int_eq(pr.rec.frames, 3);
	ck_assert_uint_eq(pr.rec.total, 5);
	ck_assert_uint_eq(pr.rec.last_len, 2);
	ck_assert_mem_eq(pr.rec.last, "xy", 2);
	ck_assert_int_eq(pr.rec.closed, 0);
	pair_free(&pr);
}
END_TEST

START_TEST(test_many_frames_one_write)
{
	struct pair pr;
	pair_setup(&pr, 1024, 1 << 20, 1 << 22);
	uint8_t big[sizeof(two_frames) * 100];
	for (int i = 0; i < 100; i++)
		memcpy(big + i * sizeof(two_frames), two_frames, sizeof(two_frames));
	pair_write(&pr, big, sizeof(big));
	ck_assert_int_eq(pr.rec.frames, 300);
	pair_free(&pr);
}
END_TEST

START_TEST(test_frame_over_max_closes)
{
	struct pair pr;
	pair_setup(&pr, 16, 1 << 20, 1 << 22);
	static const uint8_t hdr[] = { 0, 0, 0, 17 };
	pair_write(&pr, hdr, 4); /* the length alone is enough to refuse it */
	ck_assert_int_eq(pr.rec.frames, 0);
	ck_assert_int_eq(pr.rec.closed, 1);
	ck_assert_int_eq(pr.rec.close_err, ERR_TOOBIG);
	bufferevent_free(pr.ends[1]);
	event_base_free(pr.base);
}
END_TEST

START_TEST(test_negative_length_closes)
{
	struct pair pr;
	pair_setup(&pr, 1 << 20, 1 << 20, 1 << 22);
	static const uint8_t hdr[] = { 0xff, 0xff, 0xff, 0xfe };
	pair_write(&pr, hdr, 4);
	ck_assert_int_eq(pr.rec.closed, 1);
	ck_assert_int_eq(pr.rec.close_err, ERR_CORRUPT);
	bufferevent_free(pr.ends[1]);
	event_base_free(pr.base);
}
END_TEST

START_TEST(test_close_inside_frame_callback)
{
	struct pair pr;
	pair_setup(&pr, 1024, 1 << 20, 1 << 22);
	pr.rec.close_in_frame = 1;
	pair_write(&pr, two_frames, sizeof(two_frames));
	ck_assert_int_eq(pr.rec.frames, 1); /* nothing after the close */
	ck_assert_int_eq(pr.rec.closed, 1);
	ck_assert_int_eq(pr.rec.close_err, ERR_PROTO);
	bufferevent_free(pr.ends[1]);
	event_base_free(pr.base);
}
END_TEST

START_TEST(test_preface_four_letter_word)
{
	struct pair pr;
	pair_setup(&pr, 1024, 1 << 20, 1 << 22);
	pair_write(&pr, "ruok", 4);
	ck_assert_int_eq(pr.rec.preface_taken, 1);
	ck_assert_int_eq(pr.rec.frames, 0);
	char out[8] = { 0 };
	size_t n = bufferevent_read(pr.ends[1], out, sizeof(out));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(out, "imok");
	ck_assert_int_eq(pr.rec.closed, 1);
	bufferevent_free(pr.ends[1]);
	event_base_free(pr.base);
}
END_TEST

START_TEST(test_backpressure_and_hard_cap)
{
	struct pair pr;
	pair_setup(&pr, 1024, 1000, 5000);
	bufferevent_disable(pr.ends[1], EV_READ); /* the peer does not read */
	static uint8_t chunk[600];
	ck_assert_int_eq(net_conn_send(pr.conn, chunk, sizeof(chunk)), 0);
	ck_assert_int_eq(net_conn_send(pr.conn, chunk, sizeof(chunk)), 0);
	pair_run(&pr);
	/* over out_high: frames from the peer are not read any more */
	pair_write(&pr, two_frames, sizeof(two_frames));
	ck_assert_int_eq(pr.rec.frames, 0);
	/* the peer drains: reading resumes and the frames arrive */
	bufferevent_enable(pr.ends[1], EV_READ);
	pair_run(&pr);
	char sink[8192];
	while (bufferevent_read(pr.ends[1], sink, sizeof(sink)) > 0)
		pair_run(&pr);
	pair_run(&pr);
	ck_assert_int_eq(pr.rec.frames, 3);
	/* past the hard cap the connection is closed */
	bufferevent_disable(pr.ends[1], EV_READ);
	for (int i = 0; i < 12 && !net_conn_closing(pr.conn); i++)
		net_conn_send(pr.conn, chunk, sizeof(chunk));
	pair_run(&pr);
	ck_assert_int_eq(pr.rec.closed, 1);
	ck_assert_int_eq(pr.rec.close_err, ERR_FULL);
	bufferevent_free(pr.ends[1]);
	event_base_free(pr.base);
}
END_TEST

/* ---- real sockets, signals, timers ---- */

static void tcp_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct pair *pr = arg;
	struct net_conn_opts o = { 1024, 1 << 20, 1 << 22 };
	(void)sa;
	(void)salen;
	pr->conn = net_conn_new(pr->base, fd, &o, &rec_cbs, &pr->rec);
}

static void stop_loop(void *arg)
{
	event_base_loopexit(arg, NULL);
}

START_TEST(test_loopback_listener)
{
	struct pair pr;
	memset(&pr, 0, sizeof(pr));
	log_set_quiet_stderr(1);
	pr.base = event_base_new();
	struct net_listener *l = NULL;
	char eb[256];
	ck_assert_int_eq(net_listen(pr.base, "127.0.0.1", 0, 16, tcp_accept, &pr, &l, eb, sizeof(eb)), 0);
	int port = net_listener_port(l);
	ck_assert_int_gt(port, 0);
	/* a second listener on the same port fails with a clear error */
	struct net_listener *l2 = NULL;
	ck_assert_int_eq(net_listen(pr.base, "127.0.0.1", port, 16, tcp_accept, &pr, &l2, eb, sizeof(eb)), ERR_IO);
	ck_assert_ptr_nonnull(strstr(eb, "cannot listen on 127.0.0.1:"));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(0x7f000001);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq((int)write(fd, two_frames, sizeof(two_frames)), (int)sizeof(two_frames));
	struct net_timer *t = net_timer_new(pr.base, 2000, false, stop_loop, pr.base);
	for (int i = 0; i < 200 && pr.rec.frames < 3; i++)
		event_base_loop(pr.base, EVLOOP_ONCE);
	ck_assert_int_eq(pr.rec.frames, 3);
	ck_assert_ptr_nonnull(strstr(net_conn_peer(pr.conn), "127.0.0.1:"));
	close(fd); /* peer closes: the connection reports it */
	for (int i = 0; i < 200 && !pr.rec.closed; i++)
		event_base_loop(pr.base, EVLOOP_ONCE);
	ck_assert_int_eq(pr.rec.closed, 1);
	ck_assert_int_eq(pr.rec.close_err, ERR_CLOSED);
	net_timer_free(t);
	net_listener_free(l);
	event_base_free(pr.base);
}
END_TEST

static int ticks;
static void count_tick(void *arg)
{
	(void)arg;
	ticks++;
}

static int got_signal;
static void on_sig(int signo, void *arg)
{
	got_signal = signo;
	event_base_loopexit(arg, NULL);
}

START_TEST(test_signals_and_timers)
{
	struct event_base *base = event_base_new();
	struct net_signals *s = net_signals_new(base, on_sig, base);
	ck_assert_ptr_nonnull(s);
	struct net_timer *rep = net_timer_new(base, 5, true, count_tick, NULL);
	raise(SIGTERM); /* delivered to the loop through libevent's signal pipe */
	event_base_dispatch(base);
	ck_assert_int_eq(got_signal, SIGTERM);
	ticks = 0;
	struct net_timer *stop = net_timer_new(base, 60, false, stop_loop, base);
	event_base_dispatch(base);
	ck_assert_int_ge(ticks, 3); /* a 5 ms repeating timer within 60 ms */
	net_timer_free(stop);
	net_timer_free(rep);
	net_signals_free(s);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crc32c_net");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_crc32c_vectors);
	tcase_add_test(tc, test_crc32c_incremental_and_paths_agree);
	tcase_add_test(tc, test_frames_byte_by_byte);
	tcase_add_test(tc, test_many_frames_one_write);
	tcase_add_test(tc, test_frame_over_max_closes);
	tcase_add_test(tc, test_negative_length_closes);
	tcase_add_test(tc, test_close_inside_frame_callback);
	tcase_add_test(tc, test_preface_four_letter_word);
	tcase_add_test(tc, test_backpressure_and_hard_cap);
	tcase_add_test(tc, test_loopback_listener);
	tcase_add_test(tc, test_signals_and_timers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

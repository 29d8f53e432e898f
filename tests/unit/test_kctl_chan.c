/*
 * Unit tests for broker/controller/kctl_chan, both ends of the controller's channel over
 * loopback: a controller end and two broker ends on one event_base (requests delivered in order
 * with one in flight and their per-partition answers; stale controller and broker epochs and
 * another version refused without reaching the callbacks; a malformed frame closes only its
 * connection; a broker end closed -> broker_dead within 2 s and its queued requests failed, then
 * broker_alive when it listens again; one back on its port at once -> not reported, its
 * in-flight request re-sent; a broker end that stops reading -> broker_dead after the
 * heartbeat timeout, not before), and a broker end in a forked child process killed with -9
 * (dead within 2 s) or stopped with SIGSTOP (dead after the timeout, alive after SIGCONT); a
 * broker whose connect is refused is dead at once; the broker end reports its controller's
 * connection lost (never a deposed controller's, nor what it closed itself) or silent past the
 * timeout (once per silence; not while the broker end itself was stopped); the probe of a
 * listener (kept: up; refused, or reset from a closing listener's queue: down).
 * KCTL_LOG=1 shows the channel's DEBUG log of the in-process tests on stderr.
 */
#include "buf.h"
#include "err.h"
#include "kctl_chan.h"
#include "kctl_msg.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop_helpers.h"

/* Test timings: fast heartbeats, a timeout well above them. */
#define T_INTERVAL 100
#define T_TIMEOUT 1500
#define T_CONFIRM 500

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- what the ends saw ---- */

#define MAXREC 64

struct bstate { /* one broker end */
	int32_t id;
	struct kctl_srv *srv;
	int calls;		    /* requests handed to the callbacks */
	int order[MAXREC];	    /* the first partition (or type) of each */
	int types[MAXREC];
	int done_before[MAXREC]; /* responses the controller had received at that moment */
	int64_t last_broker_epoch;
};

struct world {
	struct event_base *base;
	struct kctl_ctrl *ctrl;
	struct bstate b[3];
	int dones;
	int done_broker[MAXREC], done_err[MAXREC], done_code[MAXREC], done_perr[MAXREC][4], done_nerr[MAXREC];
	int done_type[MAXREC];
	int dead[3], alive[3];
	uint64_t dead_at[3], alive_at[3];
	int lost[3];		/* controller_lost reports per broker end */
	int silent[3];		/* controller_silent reports per broker end */
	int32_t lost_ctrl, lost_epoch; /* the last one's controller id and epoch */
};

static struct world W;

static void record_call(struct bstate *b, const struct kctl_msg *m, int first)
{
	ck_assert_int_lt(b->calls, MAXREC);
	b->order[b->calls] = first;
	b->types[b->calls] = (int)m->type;
	b->done_before[b->calls] = W.dones;
	b->last_broker_epoch = m->broker_epoch;
	b->calls++;
}

/* Partition 3 fails with NOT_LEADER_OR_FOLLOWER (6), the rest succeed. */
static int32_t on_lai(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	struct bstate *b = arg;
	record_call(b, m, m->n_parts ? m->parts[0].partition : -1);
	for (size_t i = 0; i < m->n_parts; i++)
		errors[i] = m->parts[i].partition == 3 ? 6 : 0;
	return 0;
}

static int32_t on_um(const struct kctl_msg *m, void *arg)
{
	record_call(arg, m, m->n_parts ? m->parts[0].partition : -1);
	return 0;
}

static int32_t on_sr(const struct kctl_msg *m, int32_t *errors, void *arg)
{
	(void)errors;
	record_call(arg, m, m->n_stops ? m->stops[0].partition : -1);
	return 0;
}

static void on_done(int32_t broker, int err, const struct kctl_msg *resp, void *arg)
{
	(void)arg;
	ck_assert_int_lt(W.dones, MAXREC);
	int i = W.dones++;
	W.done_broker[i] = broker;
	W.done_err[i] = err;
	if (!resp) {
		ck_assert_int_ne(err, 0);
		return;
	}
	ck_assert_int_eq(err, 0);
	W.done_type[i] = (int)resp->type;
	W.done_code[i] = resp->error_code;
	W.done_nerr[i] = (int)resp->n_errors;
	for (size_t k = 0; k < resp->n_errors && k < 4; k++)
		W.done_perr[i][k] = resp->errors[k].error_code;
}

static void on_dead(int32_t id, void *arg)
{
	(void)arg;
	ck_assert(id >= 0 && id < 3);
	W.dead[id]++;
	W.dead_at[id] = now_ms();
}

static void on_alive(int32_t id, void *arg)
{
	(void)arg;
	ck_assert(id >= 0 && id < 3);
	W.alive[id]++;
	W.alive_at[id] = now_ms();
}

static void on_lost(int32_t controller_id, int32_t controller_epoch, void *arg)
{
	struct bstate *b = arg;
	W.lost[b->id]++;
	W.lost_ctrl = controller_id;
	W.lost_epoch = controller_epoch;
}

static void on_silent(int32_t controller_id, int32_t controller_epoch, void *arg)
{
	struct bstate *b = arg;
	W.silent[b->id]++;
	W.lost_ctrl = controller_id;
	W.lost_epoch = controller_epoch;
}

static const struct kctl_srv_cbs srv_cbs = { on_lai, on_um, on_sr, on_lost, on_silent };
static const struct kctl_ctrl_cbs ctrl_cbs = { on_dead, on_alive };

static void start_broker(int id, int port, int64_t epoch)
{
	char eb[256];
	W.b[id].id = id;
	ck_assert_int_eq(kctl_srv_new(W.base, "127.0.0.1", port, id, &srv_cbs, &W.b[id], &W.b[id].srv, eb, sizeof(eb)), 0);
	kctl_srv_set_broker_epoch(W.b[id].srv, epoch);
}

static void start_ctrl(int32_t epoch)
{
	char eb[256];
	struct kctl_ctrl_opts o = { .heartbeat_interval_ms = T_INTERVAL, .heartbeat_timeout_ms = T_TIMEOUT,
				    .confirm_ms = T_CONFIRM, .backoff_min_ms = 20, .backoff_max_ms = 200 };
	ck_assert_int_eq(kctl_ctrl_new(W.base, 0, epoch, &o, &ctrl_cbs, NULL, &W.ctrl, eb, sizeof(eb)), 0);
}

/* Two brokers (ids 1 and 2, epochs 100 and 200) and a controller in epoch 5 that knows them. */
static void world_up(void)
{
	memset(&W, 0, sizeof(W));
	log_set_quiet_stderr(getenv("KCTL_LOG") ? 0 : 1);
	if (getenv("KCTL_LOG")) log_set_level(LOG_DEBUG);
	W.base = event_base_new();
	ck_assert_ptr_nonnull(W.base);
	start_broker(1, 0, 100);
	start_broker(2, 0, 200);
	start_ctrl(5);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", kctl_srv_port(W.b[1].srv), 100), 0);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 2, "127.0.0.1", kctl_srv_port(W.b[2].srv), 200), 0);
}

static void world_down(void)
{
	kctl_ctrl_free(W.ctrl);
	kctl_srv_free(W.b[1].srv);
	kctl_srv_free(W.b[2].srv);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_free(W.base);
}

static int want_dones;
static bool dones_reached(void *arg)
{
	(void)arg;
	return W.dones >= want_dones;
}

static void wait_dones(int n)
{
	want_dones = n;
	ck_assert_msg(run_until(W.base, dones_reached, NULL, 5000), "only %d of %d answers", W.dones, n);
}

static int watch_id;
static bool is_dead(void *arg)
{
	(void)arg;
	return W.dead[watch_id] > 0;
}

static bool is_alive_again(void *arg)
{
	(void)arg;
	return W.alive[watch_id] > 0;
}

static void send_lai(int32_t to, int32_t first_part, int n)
{
	static const int32_t reps[] = { 1, 2 };
	struct kctl_part parts[4];
	ck_assert_int_le(n, 4);
	for (int i = 0; i < n; i++)
		parts[i] = (struct kctl_part){ .topic = "t", .partition = first_part + i, .controller_epoch = 5,
					       .leader = 1, .leader_epoch = 1, .isr = reps, .n_isr = 2,
					       .replicas = reps, .n_replicas = 2 };
	struct kctl_msg m = { .type = KCTL_LEADER_AND_ISR, .parts = parts, .n_parts = (size_t)n };
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, to, &m, on_done, NULL), 0);
}

static void send_um(int32_t to, int32_t part)
{
	struct kctl_part p = { .topic = "t", .partition = part };
	struct kctl_broker br = { 1, "127.0.0.1", 9092, NULL, 10092 };
	struct kctl_msg m = { .type = KCTL_UPDATE_METADATA, .parts = &p, .n_parts = 1, .brokers = &br, .n_brokers = 1 };
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, to, &m, on_done, NULL), 0);
}

static void send_sr(int32_t to, int32_t part)
{
	struct kctl_tp tp = { "t", part };
	struct kctl_msg m = { .type = KCTL_STOP_REPLICA, .delete_partitions = true, .stops = &tp, .n_stops = 1 };
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, to, &m, on_done, NULL), 0);
}

START_TEST(test_requests_in_order)
{
	world_up();
	/* queued before any connection is up: they wait for it */
	send_lai(1, 0, 2);
	send_um(1, 10);
	send_sr(1, 20);
	send_lai(2, 2, 2); /* partitions 2 and 3: 3 fails */
	send_lai(1, 30, 1);
	send_sr(2, 40);
	ck_assert_uint_eq(kctl_ctrl_queued(W.ctrl, 1), 4);
	ck_assert_uint_eq(kctl_ctrl_queued(W.ctrl, 2), 2);
	wait_dones(6);
	ck_assert_uint_eq(kctl_ctrl_queued(W.ctrl, 1), 0);

	/* each broker saw its requests in the order queued, each only after the previous one's
	 * answer had reached the controller (one in flight) */
	const int want1[] = { 0, 10, 20, 30 }, types1[] = { KCTL_LEADER_AND_ISR, KCTL_UPDATE_METADATA,
							     KCTL_STOP_REPLICA, KCTL_LEADER_AND_ISR };
	ck_assert_int_eq(W.b[1].calls, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(W.b[1].order[i], want1[i]);
		ck_assert_int_eq(W.b[1].types[i], types1[i]);
		ck_assert_int_eq(W.b[1].last_broker_epoch, 100);
	}
	for (int i = 1; i < 4; i++)
		ck_assert_int_gt(W.b[1].done_before[i], W.b[1].done_before[i - 1]);
	ck_assert_int_eq(W.b[2].calls, 2);
	ck_assert_int_eq(W.b[2].order[0], 2);
	ck_assert_int_eq(W.b[2].order[1], 40);
	ck_assert_int_eq(W.b[2].last_broker_epoch, 200);

	/* the answers: broker 2's LeaderAndIsr says partition 3 failed */
	int seen2 = 0;
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(W.done_err[i], 0);
		ck_assert_int_eq(W.done_code[i], 0);
		if (W.done_broker[i] == 2 && W.done_type[i] == KCTL_LEADER_AND_ISR_RESP) {
			ck_assert_int_eq(W.done_nerr[i], 2);
			ck_assert_int_eq(W.done_perr[i][0], 0);
			ck_assert_int_eq(W.done_perr[i][1], 6);
			seen2++;
		}
	}
	ck_assert_int_eq(seen2, 1);
	/* heartbeats raised nothing: both alive, nobody reported */
	run_for(W.base, 3 * T_INTERVAL);
	ck_assert(kctl_ctrl_alive(W.ctrl, 1) && kctl_ctrl_alive(W.ctrl, 2));
	ck_assert_int_eq(W.dead[1] + W.dead[2] + W.alive[1] + W.alive[2], 0);
	ck_assert_int_eq(kctl_srv_controller_epoch(W.b[1].srv), 5);
	world_down();
}
END_TEST

START_TEST(test_stale_epochs_refused)
{
	world_up();
	/* broker 1 has seen controller epoch 6: our epoch-5 requests are stale */
	kctl_srv_raise_controller_epoch(W.b[1].srv, 6);
	kctl_srv_raise_controller_epoch(W.b[1].srv, 4); /* never lowered */
	ck_assert_int_eq(kctl_srv_controller_epoch(W.b[1].srv), 6);
	send_lai(1, 0, 2);
	send_sr(1, 1);
	send_um(1, 2);
	wait_dones(3);
	ck_assert_int_eq(W.b[1].calls, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(W.done_code[i], KCTL_ERR_STALE_CONTROLLER_EPOCH);
	ck_assert_int_eq(W.done_nerr[0], 2);
	ck_assert_int_eq(W.done_perr[0][0], KCTL_ERR_STALE_CONTROLLER_EPOCH);
	ck_assert_int_eq(W.done_perr[0][1], KCTL_ERR_STALE_CONTROLLER_EPOCH);

	/* broker 2 re-registered (epoch 201): a request for its earlier life is refused */
	kctl_srv_set_broker_epoch(W.b[2].srv, 201);
	send_lai(2, 0, 1);
	wait_dones(4);
	ck_assert_int_eq(W.done_code[3], KCTL_ERR_STALE_BROKER_EPOCH);
	ck_assert_int_eq(W.b[2].calls, 0);
	/* once the controller knows the new epoch it is accepted */
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 2, "127.0.0.1", kctl_srv_port(W.b[2].srv), 201), 0);
	send_lai(2, 0, 1);
	wait_dones(5);
	ck_assert_int_eq(W.done_code[4], 0);
	ck_assert_int_eq(W.b[2].calls, 1);
	ck_assert_int_eq(W.b[2].last_broker_epoch, 201);

	/* a newer controller (epoch 7) is accepted and fences the old one from then on */
	struct kctl_ctrl *old = W.ctrl;
	start_ctrl(7);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", kctl_srv_port(W.b[1].srv), -1), 0);
	send_lai(1, 5, 1);
	wait_dones(6);
	ck_assert_int_eq(W.done_code[5], 0);
	ck_assert_int_eq(W.b[1].calls, 1);
	ck_assert_int_eq(kctl_srv_controller_epoch(W.b[1].srv), 7);
	kctl_ctrl_free(W.ctrl);
	W.ctrl = old;
	world_down();
}
END_TEST

/* A raw client: writes bytes to a broker end, runs the loop until an answer or EOF arrives. */
static int raw_fd;
static bool raw_readable(void *arg)
{
	(void)arg;
	struct pollfd p = { raw_fd, POLLIN, 0 };
	return poll(&p, 1, 0) == 1;
}

static int raw_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

START_TEST(test_version_and_malformed)
{
	world_up();
	/* a Heartbeat of version 2 is answered UNSUPPORTED_VERSION, with our version */
	static const uint8_t hb2[] = { 0x00, 0x00, 0x00, 0x0b, 0x07, 0x0a, 0x08, 0x08, 0x02,
				       0x10, 0x09, 0x18, 0x01, 0x20, 0x05 };
	raw_fd = raw_connect(kctl_srv_port(W.b[1].srv));
	ck_assert_int_eq(write(raw_fd, hb2, sizeof(hb2)), (ssize_t)sizeof(hb2));
	ck_assert(run_until(W.base, raw_readable, NULL, 3000));
	uint8_t buf[256];
	ssize_t n = read(raw_fd, buf, sizeof(buf));
	struct kctl_msg m;
	size_t used;
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(kctl_msg_decode_frame(buf, (size_t)n, &used, &m, NULL, 0), 0);
	ck_assert_int_eq(m.type, KCTL_HEARTBEAT_RESP);
	ck_assert_int_eq(m.correlation_id, 9);
	ck_assert_uint_eq(m.version, KCTL_VERSION);
	ck_assert_int_eq(m.error_code, KCTL_ERR_UNSUPPORTED_VERSION);
	kctl_msg_clear(&m);

	/* a frame of unknown type closes that connection (EOF), and only that one */
	static const uint8_t bad[] = { 0x00, 0x00, 0x00, 0x01, 0x09 };
	ck_assert_int_eq(write(raw_fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	ck_assert(run_until(W.base, raw_readable, NULL, 3000));
	ck_assert_int_eq(read(raw_fd, buf, sizeof(buf)), 0);
	close(raw_fd);
	send_lai(1, 0, 1);
	wait_dones(1);
	ck_assert_int_eq(W.done_code[0], 0);
	ck_assert_int_eq(W.dead[1], 0);
	world_down();
}
END_TEST

START_TEST(test_closed_broker_reported_dead)
{
	world_up();
	send_lai(2, 0, 1);
	wait_dones(1); /* both connected, broker 2 answered */
	send_lai(1, 0, 1);
	wait_dones(2);
	int port2 = kctl_srv_port(W.b[2].srv);

	/* broker 2's end goes away; something stays queued for it */
	kctl_srv_pause(W.b[2].srv, true);
	send_lai(2, 7, 1);
	send_um(2, 8);
	uint64_t t0 = now_ms();
	kctl_srv_free(W.b[2].srv);
	W.b[2].srv = NULL;
	watch_id = 2;
	ck_assert_msg(run_until(W.base, is_dead, NULL, 5000), "broker_dead(2) not reported");
	uint64_t took = W.dead_at[2] - t0;
	ck_assert_msg(took <= 2000, "broker_dead(2) after %llu ms", (unsigned long long)took);
	/* the fast path (broken connection, reconnect refused), not the heartbeat timeout */
	ck_assert_msg(took < T_TIMEOUT / 2, "broker_dead(2) after %llu ms: not the fast path", (unsigned long long)took);
	ck_assert(!kctl_ctrl_alive(W.ctrl, 2));
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	ck_assert_int_eq(W.dead[1], 0);
	/* the queued requests failed before the report, none is left */
	ck_assert_int_eq(W.dones, 4);
	ck_assert_int_eq(W.done_err[2], ERR_CLOSED);
	ck_assert_int_eq(W.done_err[3], ERR_CLOSED);
	ck_assert_uint_eq(kctl_ctrl_queued(W.ctrl, 2), 0);
	struct kctl_tp tp = { "t", 0 };
	struct kctl_msg sr = { .type = KCTL_STOP_REPLICA, .stops = &tp, .n_stops = 1 };
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, 2, &sr, on_done, NULL), ERR_CLOSED);

	/* it stays dead (one report), and comes back when it listens again */
	run_for(W.base, 300);
	ck_assert_int_eq(W.dead[2], 1);
	start_broker(2, port2, 300);
	ck_assert(run_until(W.base, is_alive_again, NULL, 5000));
	ck_assert(kctl_ctrl_alive(W.ctrl, 2));
	ck_assert_int_eq(W.alive[2], 1);
	ck_assert_int_eq(W.alive[1], 0);
	world_down();
}
END_TEST

START_TEST(test_restarted_at_once_not_dead)
{
	world_up();
	send_lai(1, 0, 1);
	wait_dones(1);
	int port = kctl_srv_port(W.b[1].srv);
	/* a request in flight, unread, when broker 1's end goes away and is back on the same port
	 * before the controller notices: the confirmation reconnects and is answered */
	kctl_srv_pause(W.b[1].srv, true);
	send_lai(1, 5, 1);
	run_for(W.base, 50);
	ck_assert_int_eq(W.b[1].calls, 1);
	kctl_srv_free(W.b[1].srv);
	start_broker(1, port, 100);
	W.b[1].calls = 0;
	wait_dones(2);
	/* re-sent on the new connection and answered; never reported dead */
	ck_assert_int_eq(W.done_err[1], 0);
	ck_assert_int_eq(W.done_code[1], 0);
	ck_assert_int_eq(W.b[1].calls, 1);
	ck_assert_int_eq(W.b[1].order[0], 5);
	run_for(W.base, T_CONFIRM + 2 * T_INTERVAL);
	ck_assert_int_eq(W.dead[1], 0);
	ck_assert_int_eq(W.alive[1], 0);
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	world_down();
}
END_TEST

START_TEST(test_paused_broker_after_timeout)
{
	world_up();
	send_lai(1, 0, 1);
	send_lai(2, 0, 1);
	wait_dones(2);
	run_for(W.base, 2 * T_INTERVAL); /* heartbeats flowing */
	uint64_t t0 = now_ms();
	kctl_srv_pause(W.b[1].srv, true);
	send_lai(1, 1, 1); /* stays unanswered */
	watch_id = 1;
	/* not before the timeout: the last heartbeat answered is at most one interval old */
	ck_assert(!run_until(W.base, is_dead, NULL, T_TIMEOUT - T_INTERVAL - 100));
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	ck_assert(run_until(W.base, is_dead, NULL, 5000));
	uint64_t took = W.dead_at[1] - t0;
	ck_assert_msg(took >= T_TIMEOUT - T_INTERVAL - 100, "dead after only %llu ms", (unsigned long long)took);
	ck_assert_int_eq(W.done_err[2], ERR_CLOSED);
	ck_assert_int_eq(W.dead[2], 0);
	ck_assert(kctl_ctrl_alive(W.ctrl, 2));
	/* resumed: answers again -> alive */
	kctl_srv_pause(W.b[1].srv, false);
	ck_assert(run_until(W.base, is_alive_again, NULL, 5000));
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	send_lai(1, 2, 1);
	wait_dones(4);
	ck_assert_int_eq(W.done_err[3], 0);
	world_down();
}
END_TEST

START_TEST(test_never_answering_broker)
{
	/* added, its port accepts connections (the kernel's backlog) but nothing ever reads: dead
	 * once the heartbeat timeout has passed, not before */
	memset(&W, 0, sizeof(W));
	log_set_quiet_stderr(1);
	W.base = event_base_new();
	start_ctrl(1);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	int port = ntohs(sa.sin_port);
	uint64_t t0 = now_ms();
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", port, 1), 0);
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	watch_id = 1;
	ck_assert(run_until(W.base, is_dead, NULL, 5000));
	ck_assert_uint_ge(W.dead_at[1] - t0, T_TIMEOUT);
	/* removed: no more reports, unknown from now on */
	kctl_ctrl_remove_broker(W.ctrl, 1);
	ck_assert(!kctl_ctrl_alive(W.ctrl, 1));
	struct kctl_tp tp = { "t", 0 };
	struct kctl_msg sr = { .type = KCTL_STOP_REPLICA, .stops = &tp, .n_stops = 1 };
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, 1, &sr, on_done, NULL), ERR_NOTFOUND);
	struct kctl_msg hb = { .type = KCTL_HEARTBEAT };
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 2, "127.0.0.1", port, 1), 0);
	ck_assert_int_eq(kctl_ctrl_send(W.ctrl, 2, &hb, on_done, NULL), ERR_INVAL);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, -1, "127.0.0.1", port, 1), ERR_INVAL);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 3, "", port, 1), ERR_INVAL);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 3, "127.0.0.1", 0, 1), ERR_INVAL);
	kctl_ctrl_free(W.ctrl);
	close(lfd);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_free(W.base);
}
END_TEST

START_TEST(test_refused_broker_dead_at_once)
{
	/* registered but nothing listens at its control-plane port (a broker listens there before
	 * it registers, so its process is gone, its session not yet expired): dead on the refused
	 * connect, without waiting out the heartbeat timeout */
	memset(&W, 0, sizeof(W));
	log_set_quiet_stderr(1);
	W.base = event_base_new();
	start_ctrl(1);
	start_broker(1, 0, 1);
	int port = kctl_srv_port(W.b[1].srv);
	kctl_srv_free(W.b[1].srv);
	W.b[1].srv = NULL;
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", port, 1), 0);
	watch_id = 1;
	ck_assert_msg(run_until(W.base, is_dead, NULL, T_TIMEOUT / 2), "not dead before the heartbeat timeout");
	ck_assert_int_eq(W.dead[1], 1);
	/* it comes back when it listens again */
	start_broker(1, port, 2);
	ck_assert(run_until(W.base, is_alive_again, NULL, 5000));
	kctl_ctrl_free(W.ctrl);
	kctl_srv_free(W.b[1].srv);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_free(W.base);
}
END_TEST

static int probes, probe_up;
static void on_probe(bool up, void *arg)
{
	struct kctl_probe **pp = arg;
	probes++;
	probe_up = up;
	kctl_probe_free(*pp); /* freeing from the callback is allowed */
	*pp = NULL;
}

static bool probed(void *arg)
{
	(void)arg;
	return probes > 0;
}

START_TEST(test_controller_lost_and_probe)
{
	world_up();
	send_lai(1, 0, 1);
	send_lai(2, 0, 1);
	wait_dones(2);
	ck_assert_int_eq(W.lost[1] + W.lost[2], 0);

	/* the probe: a listening port answers, a closed one does not; neither inside the call */
	struct kctl_probe *p = NULL;
	ck_assert_int_eq(kctl_probe_new(W.base, "127.0.0.1", kctl_srv_port(W.b[1].srv), 1000, on_probe, &p, &p), 0);
	ck_assert_int_eq(probes, 0);
	ck_assert(run_until(W.base, probed, NULL, 5000));
	ck_assert_int_eq(probe_up, 1);
	ck_assert_ptr_null(p);
	start_broker(0, 0, 1); /* a port that was listening, then closed */
	int closed_port = kctl_srv_port(W.b[0].srv);
	kctl_srv_free(W.b[0].srv);
	W.b[0].srv = NULL;
	probes = 0;
	ck_assert_int_eq(kctl_probe_new(W.base, "127.0.0.1", closed_port, 1000, on_probe, &p, &p), 0);
	ck_assert(run_until(W.base, probed, NULL, 5000));
	ck_assert_int_eq(probe_up, 0);
	/* accepted into a listener's queue, then the listener closes (a process exiting): reset */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	probes = 0;
	ck_assert_int_eq(kctl_probe_new(W.base, "127.0.0.1", ntohs(sa.sin_port), 3000, on_probe, &p, &p), 0);
	run_for(W.base, 100);
	ck_assert_int_eq(probes, 0);
	close(lfd);
	ck_assert(run_until(W.base, probed, NULL, 5000));
	ck_assert_int_eq(probe_up, 0);
	/* a pending probe freed is never reported */
	probes = 0;
	ck_assert_int_eq(kctl_probe_new(W.base, "127.0.0.1", closed_port, 1000, on_probe, &p, &p), 0);
	kctl_probe_free(p);
	run_for(W.base, 100);
	ck_assert_int_eq(probes, 0);

	/* the controller's end goes away: each broker end reports the controller (id 0, epoch 5)
	 * lost, once */
	kctl_ctrl_free(W.ctrl);
	W.ctrl = NULL;
	run_for(W.base, 300);
	ck_assert_int_eq(W.lost[1], 1);
	ck_assert_int_eq(W.lost[2], 1);
	ck_assert_int_eq(W.lost_ctrl, 0);
	ck_assert_int_eq(W.lost_epoch, 5);

	/* a deposed controller's connection (an epoch below the highest seen) is not reported,
	 * nor are the connections the broker end closes itself */
	start_ctrl(7);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", kctl_srv_port(W.b[1].srv), 100), 0);
	send_lai(1, 0, 1);
	wait_dones(3);
	struct kctl_ctrl *newer = W.ctrl;
	start_ctrl(6);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", kctl_srv_port(W.b[1].srv), 100), 0);
	send_lai(1, 0, 1);
	wait_dones(4);
	ck_assert_int_eq(W.done_code[3], 11); /* STALE_CONTROLLER_EPOCH */
	kctl_ctrl_free(W.ctrl);
	run_for(W.base, 200);
	ck_assert_int_eq(W.lost[1], 1);
	W.ctrl = newer;
	kctl_srv_free(W.b[1].srv);
	W.b[1].srv = NULL;
	run_for(W.base, 200);
	ck_assert_int_eq(W.lost[1], 1);
	world_down();
}
END_TEST

/* A controller that stops sending (paused, cut off) keeps its connection: the broker end,
 * watching for silence, reports it once per silence after the timeout, never before, never a
 * deposed controller's, and not when the broker end itself was the one not running. The
 * "controller" here is a raw socket sending heartbeats by hand. */
static void raw_heartbeat(int fd, int32_t epoch, int32_t corr)
{
	struct kctl_msg m = { .type = KCTL_HEARTBEAT, .version = KCTL_VERSION, .correlation_id = corr,
			      .controller_id = 0, .controller_epoch = epoch, .broker_epoch = -1 };
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	ck_assert_int_eq(kctl_msg_encode(&m, &w), 0);
	ck_assert_int_eq(write(fd, w.p, w.len), (ssize_t)w.len);
	wbuf_free(&w);
}

static bool silent_told(void *arg)
{
	(void)arg;
	return W.silent[1] > 0;
}

START_TEST(test_controller_silent)
{
	memset(&W, 0, sizeof(W));
	log_set_quiet_stderr(getenv("KCTL_LOG") ? 0 : 1);
	W.base = event_base_new();
	start_broker(1, 0, 100);
	ck_assert_int_eq(kctl_srv_watch_silence(W.b[1].srv, 200), 0);
	int fd = raw_connect(kctl_srv_port(W.b[1].srv));
	/* speaking every 100 ms: never silent */
	uint64_t t0 = 0;
	for (int i = 0; i < 5; i++) {
		raw_heartbeat(fd, 5, i);
		t0 = now_ms();
		run_for(W.base, 100);
	}
	ck_assert_int_eq(W.silent[1], 0);
	/* then nothing: reported 200 ms after the last heartbeat, not before, once */
	ck_assert(run_until(W.base, silent_told, NULL, 3000));
	ck_assert_uint_ge(now_ms() - t0, 150);
	ck_assert_int_eq(W.lost_ctrl, 0);
	ck_assert_int_eq(W.lost_epoch, 5);
	run_for(W.base, 400);
	ck_assert_int_eq(W.silent[1], 1);
	/* it speaks again, then falls silent again: a second report */
	raw_heartbeat(fd, 5, 100);
	run_for(W.base, 50);
	ck_assert_int_eq(W.silent[1], 1);
	run_for(W.base, 400);
	ck_assert_int_eq(W.silent[1], 2);
	/* the broker end itself does not run for a while (its process stopped) while the
	 * controller keeps speaking: not silence */
	raw_heartbeat(fd, 5, 101);
	run_for(W.base, 50);
	for (int i = 0; i < 8; i++) {
		usleep(50 * 1000);
		raw_heartbeat(fd, 5, 102 + i);
	}
	run_for(W.base, 80);
	ck_assert_int_eq(W.silent[1], 2);
	/* a newer controller speaks on its own connection: the old one's silence is not told */
	int fd2 = raw_connect(kctl_srv_port(W.b[1].srv));
	for (int i = 0; i < 8; i++) {
		raw_heartbeat(fd2, 6, 200 + i);
		run_for(W.base, 60);
	}
	ck_assert_int_eq(W.silent[1], 2);
	ck_assert_int_eq(W.lost[1], 0);
	close(fd);
	close(fd2);
	kctl_srv_free(W.b[1].srv);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_free(W.base);
}
END_TEST

START_TEST(test_options_and_default_port)
{
	struct event_base *base = event_base_new();
	struct kctl_ctrl *c = NULL;
	char eb[256] = "";
	struct kctl_ctrl_opts o = { .heartbeat_interval_ms = 500, .heartbeat_timeout_ms = 500 };
	ck_assert_int_eq(kctl_ctrl_new(base, 0, 1, &o, NULL, NULL, &c, eb, sizeof(eb)), ERR_INVAL);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(eb, "must exceed the interval"));
	ck_assert_int_eq(kctl_ctrl_new(base, 0, 1, NULL, NULL, NULL, &c, eb, sizeof(eb)), 0);
	kctl_ctrl_free(c);
	kctl_ctrl_free(NULL);
	kctl_srv_free(NULL);
	event_base_free(base);
	ck_assert_int_eq(kctl_default_port(9092), 10092);
	ck_assert_int_eq(kctl_default_port(0), 0);
	ck_assert_int_eq(kctl_default_port(65000), -1);
}
END_TEST

/* ---- a broker end in a child process ---- */

static pid_t child_pid;
static int child_port;

/* Forks a child that serves a broker end (id 1, epoch 100) until killed; it dies with us. */
static void start_child_broker(void)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	child_pid = fork();
	ck_assert_int_ge(child_pid, 0);
	if (child_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		struct event_base *base = event_base_new();
		struct kctl_srv *s = NULL;
		char eb[256];
		if (!base || kctl_srv_new(base, "127.0.0.1", 0, 1, &srv_cbs, &W.b[1], &s, eb, sizeof(eb)))
			_exit(2);
		kctl_srv_set_broker_epoch(s, 100);
		int port = kctl_srv_port(s);
		if (write(p[1], &port, sizeof(port)) != (ssize_t)sizeof(port))
			_exit(3);
		close(p[1]);
		event_base_dispatch(base);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &child_port, sizeof(child_port)), (ssize_t)sizeof(child_port));
	close(p[0]);
}

static void reap_child(void)
{
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
		child_pid = 0;
	}
}

static void child_world_up(void)
{
	memset(&W, 0, sizeof(W));
	log_set_quiet_stderr(1);
	start_child_broker();
	W.base = event_base_new();
	start_ctrl(5);
	ck_assert_int_eq(kctl_ctrl_add_broker(W.ctrl, 1, "127.0.0.1", child_port, 100), 0);
	send_lai(1, 0, 1);
	wait_dones(1);
	ck_assert_int_eq(W.done_code[0], 0);
}

static void child_world_down(void)
{
	reap_child();
	kctl_ctrl_free(W.ctrl);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_free(W.base);
}

START_TEST(test_child_killed_9)
{
	child_world_up();
	run_for(W.base, 2 * T_INTERVAL);
	uint64_t t0 = now_ms();
	kill(child_pid, SIGKILL);
	watch_id = 1;
	ck_assert(run_until(W.base, is_dead, NULL, 5000));
	uint64_t took = W.dead_at[1] - t0;
	ck_assert_msg(took <= 2000, "broker_dead after %llu ms", (unsigned long long)took);
	/* well before the heartbeat timeout: it was the broken connection, confirmed */
	ck_assert_msg(took < T_TIMEOUT / 2, "took %llu ms: not the fast path", (unsigned long long)took);
	waitpid(child_pid, NULL, 0);
	child_pid = 0;
	child_world_down();
}
END_TEST

START_TEST(test_child_stopped)
{
	child_world_up();
	run_for(W.base, 2 * T_INTERVAL);
	uint64_t t0 = now_ms();
	ck_assert_int_eq(kill(child_pid, SIGSTOP), 0);
	watch_id = 1;
	ck_assert(!run_until(W.base, is_dead, NULL, T_TIMEOUT - T_INTERVAL - 100));
	ck_assert(run_until(W.base, is_dead, NULL, 5000));
	ck_assert_uint_ge(W.dead_at[1] - t0, T_TIMEOUT - T_INTERVAL - 100);
	ck_assert_int_eq(kill(child_pid, SIGCONT), 0);
	ck_assert(run_until(W.base, is_alive_again, NULL, 5000));
	ck_assert(kctl_ctrl_alive(W.ctrl, 1));
	child_world_down();
}
END_TEST

static Suite *kctl_chan_suite(void)
{
	Suite *s = suite_create("kctl_chan");
	TCase *tc = tcase_create("loopback");
	tcase_add_test(tc, test_requests_in_order);
	tcase_add_test(tc, test_stale_epochs_refused);
	tcase_add_test(tc, test_version_and_malformed);
	tcase_add_test(tc, test_options_and_default_port);
	suite_add_tcase(s, tc);
	tc = tcase_create("liveness");
	tcase_add_test(tc, test_closed_broker_reported_dead);
	tcase_add_test(tc, test_restarted_at_once_not_dead);
	tcase_add_test(tc, test_paused_broker_after_timeout);
	tcase_add_test(tc, test_never_answering_broker);
	tcase_add_test(tc, test_refused_broker_dead_at_once);
	tcase_add_test(tc, test_controller_lost_and_probe);
	tcase_add_test(tc, test_controller_silent);
	tcase_add_test(tc, test_child_killed_9);
	tcase_add_test(tc, test_child_stopped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kctl_chan_suite());
}

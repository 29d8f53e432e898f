/*
 * kb_shutdown — the broker's controlled shutdown (see kb_shutdown.h).
 *
 * One attempt: find the controller in the metadata cache, connect to its Kafka listener, send
 * ControlledShutdown v2, read its answer. Attempts: at most controlled.shutdown.max.retries + 1,
 * controlled.shutdown.retry.backoff.ms apart; an attempt that gets no answer within
 * KB_SHUTDOWN_ATTEMPT_MS counts as failed. The request goes as one kb_kcall (which connects
 * with the inter-broker listener's TLS and, under SASL_SSL, authenticates first). All on the
 * loop thread.
 */
#include "kb_shutdown.h"

#include "buf.h"
#include "err.h"
#include "kb_kcall.h"
#include "kcontroller.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const SHUT_MOD = "controlled-shutdown";

#define KB_SHUTDOWN_ATTEMPT_MS 35000	   /* the controller waits up to 30 s for its writes */
#define KB_SHUTDOWN_MAX_FRAME (1u << 24) /* a list of partitions; far above any real answer */
#define KB_SHUTDOWN_DRAIN_MS 5000	   /* the controller's own: its requests out, at most this */
#define KB_SHUTDOWN_DRAIN_TICK_MS 20

struct kb_shutdown {
	struct broker *b;
	kb_shutdown_done_fn done;
	struct kb_kcall *call; /* the attempt under way */
	struct event *timer;   /* backoff between attempts; the drain's checks */
	int32_t attempts;
	bool draining;	       /* done moving; the controller's requests still going out */
	int64_t drain_until;   /* monotonic ms */
	bool finished;
};

static void shut_attempt(struct kb_shutdown *s);
static void shut_drain(struct kb_shutdown *s);

static void shut_close(struct kb_shutdown *s)
{
	kb_kcall_cancel(s->call);
	s->call = NULL;
}

static void shut_finish(struct kb_shutdown *s, bool clean)
{
	if (s->finished)
		return;
	s->finished = true;
	shut_close(s);
	event_del(s->timer);
	if (clean)
		log_info(SHUT_MOD, "done: this broker leads no partition that another replica could take");
	else
		log_warn(SHUT_MOD, "giving up after %d attempt(s); proceeding to an unclean shutdown", s->attempts);
	s->done(s->b, clean);
}

/* The attempt failed: another after the backoff, or give up. */
static void shut_retry(struct kb_shutdown *s, const char *why)
{
	shut_close(s);
	const struct kb_config *cfg = s->b->cfg;
	if (s->attempts > cfg->controlled_shutdown_max_retries) {
		log_warn(SHUT_MOD, "attempt %d failed: %s", s->attempts, why);
		shut_finish(s, false);
		return;
	}
	log_info(SHUT_MOD, "attempt %d: %s; again in %lld ms", s->attempts, why,
		 (long long)cfg->controlled_shutdown_retry_backoff_ms);
	int64_t ms = cfg->controlled_shutdown_retry_backoff_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	event_add(s->timer, &tv);
}

/* ControlledShutdownResponse v2 (after its correlation id): error_code, remaining_partitions
 * [topic, partition]; or the call's failure. */
static void shut_answer(void *arg, int cerr, const uint8_t *p, size_t len, const char *cwhy)
{
	struct kb_shutdown *s = arg;
	s->call = NULL; /* kb_kcall frees it after this returns */
	if (cerr) {
		char why[480];
		snprintf(why, sizeof(why), "%s", cwhy ? cwhy : "the call failed");
		shut_retry(s, why);
		return;
	}
	struct rbuf r = rbuf_make(p, len);
	int32_t n = 0;
	int16_t err = -1;
	rbuf_i16(&r, &err);
	if (!r.err)
		rbuf_count_i32(&r, 1000000, 6, &n);
	if (r.err) {
		shut_retry(s, "a malformed answer from the controller");
		return;
	}
	if (err) {
		char why[64];
		snprintf(why, sizeof(why), "the controller answered error %d", err);
		shut_retry(s, why);
		return;
	}
	if (n > 0) {
		const uint8_t *name;
		int32_t nl = 0, part = -1;
		rbuf_bytes_i16(&r, 32767, &name, &nl);
		rbuf_i32(&r, &part);
		char why[400];
		snprintf(why, sizeof(why), "%d partition(s) still led here, e.g. %.*s-%d (no other replica in sync)", n,
			 r.err || nl < 0 ? 0 : (int)nl, r.err || nl < 0 ? "" : (const char *)name, part);
		shut_retry(s, why);
		return;
	}
	shut_drain(s);
}

static int64_t shut_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The leaderships are moved. When this broker is the controller itself, the LeaderAndIsr
 * requests that tell the other brokers so are still in its channel's queues, and stopping now
 * would drop them: the new leaders would not know they lead until the next controller tells
 * them (seen: 11 s of a partition whose new leader still waited for the stopped broker's
 * acks=all share). So it waits, up to KB_SHUTDOWN_DRAIN_MS, until the live brokers answered
 * them, as Kafka's controller has sent its requests before it answers the ControlledShutdown.
 */
static void shut_drain(struct kb_shutdown *s)
{
	size_t left = kcontroller_undelivered(s->b->kc);
	if (!left) {
		shut_finish(s, true);
		return;
	}
	if (!s->draining) {
		s->draining = true;
		s->drain_until = shut_now_ms() + KB_SHUTDOWN_DRAIN_MS;
		log_info(SHUT_MOD, "this broker is the controller: waiting for its %zu request(s) to the other brokers "
			 "to be answered", left);
	} else if (shut_now_ms() >= s->drain_until) {
		log_warn(SHUT_MOD, "%zu controller request(s) still unanswered after %d ms; stopping anyway (the next "
			 "controller tells the brokers the partitions' states)", left, KB_SHUTDOWN_DRAIN_MS);
		shut_finish(s, true);
		return;
	}
	struct timeval tv = { 0, KB_SHUTDOWN_DRAIN_TICK_MS * 1000 };
	event_add(s->timer, &tv);
}

static void shut_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kb_shutdown *s = arg;
	(void)fd;
	(void)what;
	if (s->draining)
		shut_drain(s);
	else
		shut_attempt(s);
}

static void shut_attempt(struct kb_shutdown *s)
{
	struct broker *b = s->b;
	s->attempts++;
	const struct kb_node *ctrl = NULL;
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == kcontroller_id(b->kc))
			ctrl = &b->nodes[i];
	if (!ctrl) {
		shut_retry(s, "no controller known");
		return;
	}
	/* the request: ControlledShutdown v2 {broker_id, broker_epoch -1} */
	struct wbuf w;
	wbuf_init(&w, 64);
	wbuf_i32(&w, b->cfg->broker_id);
	wbuf_i64(&w, -1);
	s->call = w.err ? NULL
			: kb_kcall_start(b, ctrl, 7, 2, w.p, w.len, KB_SHUTDOWN_ATTEMPT_MS, KB_SHUTDOWN_MAX_FRAME,
					 shut_answer, s);
	wbuf_free(&w);
	if (!s->call) {
		shut_retry(s, "out of memory");
		return;
	}
	log_info(SHUT_MOD, "attempt %d: asking the controller (broker %d at %s:%d) to move this broker's leaderships",
		 s->attempts, ctrl->id, ctrl->host, ctrl->port);
}

struct kb_shutdown *kb_shutdown_start(struct broker *b, kb_shutdown_done_fn done)
{
	struct kb_shutdown *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->b = b;
	s->done = done;
	s->timer = event_new(b->base, -1, 0, shut_timer, s);
	if (!s->timer) {
		free(s);
		return NULL;
	}
	log_info(SHUT_MOD, "starting: leaderships move away first (controlled.shutdown.enable)");
	struct timeval now = { 0, 0 };
	event_add(s->timer, &now); /* the first attempt, from the loop */
	return s;
}

void kb_shutdown_free(struct kb_shutdown *s)
{
	if (!s)
		return;
	shut_close(s);
	if (s->timer)
		event_free(s->timer);
	free(s);
}

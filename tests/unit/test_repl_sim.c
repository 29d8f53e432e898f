/*
 * Deterministic simulator for broker/replica/krepl: one partition on 3 brokers (replicas
 * [1,2,3] in assignment order, RF=3, min.insync.replicas=2), acks=all producers, and a model of
 * ZooKeeper plus the controller, all in one process with simulated ticks (1 tick = 1 ms of the
 * cores' clocks).
 *
 * The model (what the real broker will do around the core):
 * - brokers: an in-memory log of (epoch, value) records with a flushed prefix, an HW checkpoint
 *   written now and then, and a leader-epoch-checkpoint rewritten at every change of the
 *   cache; a restart loads the cache from that checkpoint (half the seeds) or rebuilds it from
 *   the records' epochs (the other half); one fetcher per follower with one request outstanding
 *   (OffsetForLeaderEpoch while truncating, Fetch while following), retried after a timeout;
 * - faults: kill -9 (the page cache survives: the log is kept), power loss (the unflushed tail
 *   is lost), pause (SIGSTOP: nothing runs, messages to it wait), cut off (from everything, or
 *   from the other brokers only while its coordinator session lives), restart, resume, heal;
 * - the network between brokers drops, delays (1..3 ticks) and reorders; a cut link drops;
 *   the controller's and ZooKeeper's channels are reliable but wait while a broker is cut off
 *   or paused, and die with the broker's process;
 * - ZooKeeper: a session per broker process that expires after SIM_SESSION ticks without a
 *   heartbeat; a restarted process registers once its old session is gone; the partition state
 *   znode (leader, leader epoch, ISR, version) written conditionally on its version, as Kafka
 *   writes it; the leader's ISR writes go through it;
 * - control requests carry the broker epoch of the registration they were sent to (KIP-380): a
 *   restarted process takes none until it has registered itself;
 * - the controller: on a broker's death it removes it from the ISR (keeping the last member) and,
 *   if it led, elects the first live ISR member in assignment order (none: leader -1), bumping
 *   the leader epoch; on a registration it elects the broker if the partition has no leader and
 *   it is in the ISR; it sends LeaderAndIsr to every live replica after each change and to a
 *   broker that registers; unclean election is off;
 * - producers: acks=all, one record per send, usually to the leader in ZooKeeper, sometimes to
 *   any broker (stale metadata: a deposed leader that still believes it leads gets writes too).
 *
 * Two fault modes (seeds alternate):
 * - "single": any number of kills, pauses and cuts at once, but a power loss only while every
 *   other broker is healthy (up, registered, in the ISR), and no new fault while its victim has
 *   not rejoined the ISR — the one-fault-at-a-time budget under which Kafka's acks=all with
 *   min.insync.replicas=2 promises no loss. Checked: no acknowledged record is ever lost (at
 *   each acknowledgement it is fixed in the committed history; every leader taking office and,
 *   at the end, every replica holds every one), no replica holds at an offset below its HW
 *   anything but the committed record, a leader's HW never goes back within an epoch;
 * - "hard": power losses anywhere at any time (KIP-101's scenario 2: the acknowledged tail may
 *   be gone when all replicas lose it). Checked: a following replica never differs from its
 *   leader below its HW, the HW never goes back within an epoch, and at the end all replicas
 *   converge to identical logs.
 * Both end with liveness: everything healed and restarted, within SIM_LIVE_TICKS a leader with
 * all three in the ISR, HW = log end everywhere, identical logs.
 *
 * REPL_SIM_SEEDS=n seeds per mode (default 2500, 800 under ASan); REPL_SIM_SEED=n replays one seed with a trace
 * on stdout; REPL_SIM_STATS=1 prints totals.
 */
#include "kepoch.h"
#include "krepl.h"

#include "err.h"

#include "check_main.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_N 3
#define SIM_MAXLOG 4096
#define SIM_LAG 30	    /* replica.lag.time.max.ms */
#define SIM_SESSION 40	    /* session timeout */
#define SIM_TIMEOUT 60	    /* produce request.timeout.ms */
#define SIM_FETCH_RETRY 12  /* a fetcher resends after this long without an answer */
#define SIM_MAXFETCH 8	    /* records per fetch answer */
#define SIM_CHAOS_TICKS 500
/* seeds per mode by default: ~2.5 s in the gcc build; the ASan+UBSan debug build is ~25x
 * slower, so it runs fewer (the gcc run covers the rest in the same CI run) */
#if defined(__SANITIZE_ADDRESS__)
#define SIM_DEFAULT_SEEDS 800
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_DEFAULT_SEEDS 800
#endif
#endif
#ifndef SIM_DEFAULT_SEEDS
#define SIM_DEFAULT_SEEDS 2500
#endif
#define SIM_LIVE_TICKS 600

enum sim_mode { SIM_SINGLE, SIM_HARD, SIM_MODES };
static const char *const sim_mode_names[SIM_MODES] = { "single", "hard" };

struct sim_rec {
	int32_t epoch;
	uint32_t value;
};

enum sim_cut { SIM_LINKED, SIM_CUT_ALL, SIM_CUT_BROKERS };

struct sim_broker {
	int32_t id;
	bool up, paused;
	enum sim_cut cut;
	uint32_t inc; /* process incarnation */
	struct krepl *k;
	struct sim_rec log[SIM_MAXLOG];
	int64_t n, flushed, hw_ckpt;
	struct kepoch_entry ckpt[64]; /* leader-epoch-checkpoint, rewritten at every EPOCHS action */
	size_t nckpt;
	/* fetcher */
	bool outstanding;
	int64_t sent_at;
	/* session */
	bool registered;
	uint32_t reg_inc;
	int64_t last_hb;
	/* checks */
	int32_t chk_epoch;
	int64_t chk_hw;
	int64_t ck_committed; /* [0, this) checked against the committed history */
	int32_t ck_leader, ck_epoch;
	int64_t ck_follow; /* [0, this) checked against the leader of ck_epoch */
	int64_t downtime;
};

enum sim_msg_type { M_FETCH_REQ, M_FETCH_RESP, M_EPOCH_REQ, M_EPOCH_RESP, M_LAI, M_ISR_REQ, M_ISR_RESP };

struct sim_msg {
	enum sim_msg_type type;
	int from, to; /* broker index; -1: ZooKeeper / the controller */
	uint32_t from_inc, to_inc;
	int64_t due;
	uint64_t seq;
	struct krepl_fetch_req freq;
	struct krepl_fetch_plan plan;
	struct sim_rec *recs;
	int64_t nrecs;
	struct krepl_epoch_req ereq;
	struct krepl_epoch_resp eresp;
	struct krepl_state st;
	bool ok;
	int32_t zkv;
	uint32_t broker_epoch; /* LAI: the registration it was sent to (KIP-380) */
};

struct sim_stats {
	uint64_t seeds, ticks, produced, acked, timeouts, not_enough, leader_changes, truncations, kills,
		power_losses, pauses, cuts, isr_writes, isr_refused, lost_hard;
};

struct sim {
	uint64_t seed, rng;
	enum sim_mode mode;
	bool trace, chaos, producing;
	int64_t now;
	struct sim_broker b[SIM_N];
	struct sim_msg *net;
	size_t nnet, capnet;
	uint64_t seq;
	struct krepl_state zk; /* the partition state znode; zk_version is its version */
	/* the ledger */
	uint32_t next_value;
	int64_t tok_off[SIM_MAXLOG * 4]; /* by value: the offset it was appended at on its leader */
	int32_t tok_epoch[SIM_MAXLOG * 4];
	int64_t acked_off[SIM_MAXLOG];
	uint32_t acked_val[SIM_MAXLOG];
	size_t nacked;
	uint32_t committed[SIM_MAXLOG]; /* value; 0: not known committed */
	int32_t checked_leader, checked_epoch;
	int impaired; /* index of a power-loss victim not back in the ISR, -1: none */
	char fail[600];
	struct sim_stats st;
};

/* The seed of the run in progress, for the crash handler only (a test harness global). */
static volatile uint64_t sim_current_seed;

static void sim_on_crash(int sig)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf),
			 "repl sim: signal %d in seed %llu; replay: REPL_SIM_SEED=%llu build/tests/unit/test_repl_sim\n",
			 sig, (unsigned long long)sim_current_seed, (unsigned long long)sim_current_seed);
	if (write(2, buf, (size_t)n) < 0) {
		/* nothing more to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

#define SIM_NEED(cond)                                                              \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                    \
		}                                                                   \
	} while (0)

static uint64_t sim_rand(struct sim *s)
{
	uint64_t x = s->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static unsigned sim_below(struct sim *s, unsigned n)
{
	return n ? (unsigned)(sim_rand(s) % n) : 0;
}

static bool sim_chance(struct sim *s, unsigned permille)
{
	return sim_below(s, 1000) < permille;
}

static void sim_failf(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_failf(struct sim *s, const char *fmt, ...)
{
	if (s->fail[0])
		return;
	int k = snprintf(s->fail, sizeof(s->fail), "seed %llu (%s) tick %lld: ", (unsigned long long)s->seed,
			 sim_mode_names[s->mode], (long long)s->now);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->fail + k, sizeof(s->fail) - (size_t)k, fmt, ap);
	va_end(ap);
	if (s->trace)
		printf("FAIL: %s\n", s->fail);
}

static void sim_tracef(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_tracef(struct sim *s, const char *fmt, ...)
{
	if (!s->trace)
		return;
	va_list ap;
	printf("t=%lld ", (long long)s->now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void sim_core_log(void *arg, int32_t id, const char *line)
{
	struct sim *s = arg;
	sim_tracef(s, "b%d: %s", id, line);
	if (strncmp(line, "invariant broken", 16) == 0)
		fprintf(stderr, "repl sim: seed %llu: b%d: %s\n", (unsigned long long)s->seed, id, line);
}

static bool sim_in(const int32_t *set, uint32_t n, int32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

static struct sim_broker *sim_by_id(struct sim *s, int32_t id)
{
	return id >= 1 && id <= SIM_N ? &s->b[id - 1] : NULL;
}

/* ---- network ---------------------------------------------------------------------------- */

static struct sim_msg *sim_send(struct sim *s, enum sim_msg_type type, int from, int to)
{
	if (s->nnet == s->capnet) {
		s->capnet = s->capnet ? s->capnet * 2 : 64;
		s->net = realloc(s->net, s->capnet * sizeof(*s->net));
		SIM_NEED(s->net != NULL);
	}
	struct sim_msg *m = &s->net[s->nnet++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = from;
	m->to = to;
	m->from_inc = from >= 0 ? s->b[from].inc : 0;
	m->to_inc = to >= 0 ? s->b[to].inc : 0;
	m->due = s->now + 1 + sim_below(s, 3);
	m->seq = ++s->seq;
	return m;
}

static void sim_msg_free(struct sim_msg *m)
{
	free(m->recs);
	m->recs = NULL;
}

/* ---- the controller and ZooKeeper ------------------------------------------------------- */

static void sim_zk_trace(struct sim *s, const char *why)
{
	char isr[64];
	int len = 0;
	for (uint32_t i = 0; i < s->zk.n_isr; i++)
		len += snprintf(isr + len, sizeof(isr) - (size_t)len, "%s%d", i ? "," : "", s->zk.isr[i]);
	sim_tracef(s, "zk: leader %d epoch %d isr [%s] version %d (%s)", s->zk.leader, s->zk.leader_epoch, isr,
		   s->zk.zk_version, why);
}

static void sim_lai_to(struct sim *s, int i)
{
	struct sim_msg *m = sim_send(s, M_LAI, -1, i);
	m->st = s->zk;
	m->broker_epoch = s->b[i].reg_inc;
}

static void sim_lai_all(struct sim *s)
{
	for (int i = 0; i < SIM_N; i++)
		if (s->b[i].registered)
			sim_lai_to(s, i);
}

static void sim_isr_remove(struct krepl_state *st, int32_t id)
{
	if (st->n_isr <= 1)
		return; /* Kafka keeps the last member */
	uint32_t w = 0;
	for (uint32_t i = 0; i < st->n_isr; i++)
		if (st->isr[i] != id)
			st->isr[w++] = st->isr[i];
	st->n_isr = w;
}

/* The controller learns that broker i's session is gone. */
static void sim_broker_dead(struct sim *s, int i)
{
	struct sim_broker *b = &s->b[i];
	b->registered = false;
	bool changed = false, leader_changed = false;
	if (s->zk.leader == b->id) {
		leader_changed = true;
		sim_isr_remove(&s->zk, b->id);
		s->zk.leader = -1;
		for (uint32_t r = 0; r < s->zk.n_replicas; r++) {
			struct sim_broker *c = sim_by_id(s, s->zk.replicas[r]);
			if (c && c != b && c->registered && sim_in(s->zk.isr, s->zk.n_isr, c->id)) {
				s->zk.leader = c->id;
				break;
			}
		}
		changed = true;
		s->st.leader_changes++;
	} else if (sim_in(s->zk.isr, s->zk.n_isr, b->id) && s->zk.n_isr > 1) {
		sim_isr_remove(&s->zk, b->id);
		changed = true;
	}
	if (changed) {
		/* an ISR-only change keeps the leader epoch, as kctrl does (KAFKA-15021) */
		if (leader_changed)
			s->zk.leader_epoch++;
		s->zk.zk_version++;
		sim_zk_trace(s, "broker died");
		sim_lai_all(s);
	}
}

static void sim_broker_registers(struct sim *s, int i)
{
	struct sim_broker *b = &s->b[i];
	b->registered = true;
	b->reg_inc = b->inc;
	b->last_hb = s->now;
	sim_tracef(s, "zk: b%d registers (incarnation %u)", b->id, b->inc);
	if (s->zk.leader < 0 && sim_in(s->zk.isr, s->zk.n_isr, b->id)) {
		s->zk.leader = b->id;
		s->zk.leader_epoch++;
		s->zk.zk_version++;
		s->st.leader_changes++;
		sim_zk_trace(s, "leader from the ISR came back");
		sim_lai_all(s);
	} else {
		sim_lai_to(s, i);
	}
}

/* Heartbeats, expiries, registrations. */
static void sim_sessions(struct sim *s)
{
	for (int i = 0; i < SIM_N; i++) {
		struct sim_broker *b = &s->b[i];
		bool alive = b->up && !b->paused && b->cut != SIM_CUT_ALL;
		if (b->registered && alive && b->reg_inc == b->inc)
			b->last_hb = s->now;
		if (b->registered && s->now - b->last_hb > SIM_SESSION) {
			sim_tracef(s, "zk: session of b%d expired", b->id);
			sim_broker_dead(s, i);
		}
		if (!b->registered && alive)
			sim_broker_registers(s, i);
	}
}

/* ---- brokers ---------------------------------------------------------------------------- */

static void sim_check_truncation(struct sim_broker *b, int64_t to)
{
	if (b->ck_committed > to)
		b->ck_committed = to;
	if (b->ck_follow > to)
		b->ck_follow = to;
}

/* Carries out b's actions; appends take the records from recs (a fetch answer, first at base). */
static void sim_apply(struct sim *s, struct sim_broker *b, const struct sim_rec *recs, int64_t base, int64_t nrecs)
{
	size_t n;
	const struct krepl_action *a = krepl_actions(b->k, &n);
	for (size_t i = 0; i < n; i++) {
		switch (a[i].type) {
		case KREPL_ACT_TRUNCATE:
		case KREPL_ACT_RESET:
			SIM_NEED(a[i].offset <= b->n);
			b->n = a[i].offset;
			if (b->flushed > b->n)
				b->flushed = b->n;
			sim_check_truncation(b, b->n);
			s->st.truncations++;
			break;
		case KREPL_ACT_APPEND:
			SIM_NEED(a[i].offset == b->n && a[i].offset >= base && a[i].last_offset < base + nrecs);
			SIM_NEED(a[i].last_offset < SIM_MAXLOG);
			for (int64_t o = a[i].offset; o <= a[i].last_offset; o++) {
				b->log[o] = recs[o - base];
				if (b->log[o].epoch != a[i].epoch)
					sim_failf(s, "b%d: append of offset %lld with epoch %d, action says %d", b->id,
						  (long long)o, b->log[o].epoch, a[i].epoch);
			}
			b->n = a[i].last_offset + 1;
			break;
		case KREPL_ACT_ISR_UPDATE: {
			struct sim_msg *m = sim_send(s, M_ISR_REQ, (int)(b - s->b), -1);
			m->st = a[i].state;
			s->st.isr_writes++;
			break;
		}
		case KREPL_ACT_COMPLETE: {
			uint32_t v = (uint32_t)a[i].token;
			SIM_NEED(v < SIM_MAXLOG * 4);
			if (a[i].error == KREPL_OK) {
				int64_t o = s->tok_off[v];
				if (b->log[o].value != v || o >= b->n)
					sim_failf(s, "b%d acknowledged value %u at %lld, its log has %u there", b->id, v,
						  (long long)o, o < b->n ? b->log[o].value : 0);
				SIM_NEED(s->nacked < SIM_MAXLOG);
				s->acked_off[s->nacked] = o;
				s->acked_val[s->nacked++] = v;
				s->st.acked++;
				if (s->mode == SIM_SINGLE) {
					if (s->committed[o] && s->committed[o] != v)
						sim_failf(s, "acknowledged %u at %lld where %u was committed", v,
							  (long long)o, s->committed[o]);
					s->committed[o] = v;
				}
				sim_tracef(s, "b%d: acked value %u at %lld", b->id, v, (long long)o);
			} else if (a[i].error == KREPL_REQUEST_TIMED_OUT) {
				s->st.timeouts++;
			}
			break;
		}
		case KREPL_ACT_EPOCHS: {
			size_t ne;
			const struct kepoch_entry *e = kepoch_entries(krepl_epochs(b->k), &ne);
			SIM_NEED(ne <= 64);
			memcpy(b->ckpt, e, ne * sizeof(*e));
			b->nckpt = ne;
			break;
		}
		case KREPL_ACT_HW:
		case KREPL_ACT_TYPE_COUNT:
			break;
		}
	}
	krepl_actions_clear(b->k);
	if (b->n != krepl_log_end(b->k))
		sim_failf(s, "b%d: log end %lld, core says %lld", b->id, (long long)b->n,
			  (long long)krepl_log_end(b->k));
}

/* A process start: the core from what the disk has. */
static void sim_boot(struct sim *s, struct sim_broker *b)
{
	struct kepoch_entry e[64];
	size_t ne = 0;
	if (s->seed & 2) {
		/* the leader-epoch-checkpoint as last written (fsynced at each change); entries past
		 * a log end that lost its tail are the core's to drop */
		memcpy(e, b->ckpt, b->nckpt * sizeof(*e));
		ne = b->nckpt;
	} else {
		/* recovery rebuilds the cache from the batches' epochs */
		for (int64_t o = 0; o < b->n; o++) {
			if (!ne || e[ne - 1].epoch != b->log[o].epoch) {
				SIM_NEED(ne < 64);
				e[ne++] = (struct kepoch_entry){ b->log[o].epoch, o };
			}
		}
	}
	struct krepl_opts o = { .broker_id = b->id, .lag_time_max_ms = SIM_LAG, .min_insync = 2, .log_end = b->n,
				.high_watermark = b->hw_ckpt, .epochs = e, .n_epochs = ne, .log = sim_core_log,
				.log_arg = s };
	char err[128];
	krepl_free(b->k);
	b->k = krepl_new(&o, err, sizeof(err));
	SIM_NEED(b->k != NULL);
	sim_apply(s, b, NULL, 0, 0); /* an EPOCHS action if the checkpoint ran past the log */
	b->up = true;
	b->paused = false;
	b->outstanding = false;
	b->chk_epoch = -1;
	b->ck_epoch = -1;
	b->ck_follow = 0;
	if (b->ck_committed > b->n)
		b->ck_committed = b->n;
}

static void sim_crash(struct sim *s, struct sim_broker *b, bool power)
{
	b->up = false;
	b->paused = false;
	b->inc++;
	b->downtime = 0;
	if (power) {
		b->n = b->flushed;
		sim_check_truncation(b, b->n);
		s->st.power_losses++;
	} else {
		s->st.kills++;
	}
	sim_tracef(s, "b%d: %s (log %lld)", b->id, power ? "power loss" : "kill -9", (long long)b->n);
	krepl_free(b->k);
	b->k = NULL;
}

/* ---- message delivery ------------------------------------------------------------------- */

static bool sim_linked(const struct sim *s, int from, int to)
{
	if (from < 0 || to < 0) {
		int i = from < 0 ? to : from;
		return s->b[i].cut != SIM_CUT_ALL;
	}
	return s->b[from].cut == SIM_LINKED && s->b[to].cut == SIM_LINKED;
}

/* 1: delivered or dropped (remove it), 0: wait. */
static int sim_deliver(struct sim *s, struct sim_msg *m)
{
	bool reliable = m->from < 0 || m->to < 0;
	if (m->from >= 0 && reliable && s->b[m->from].inc != m->from_inc)
		return 1; /* the writer's process died before its request left */
	if (m->to < 0) {
		/* ZooKeeper: the leader's conditional ISR write */
		if (!sim_linked(s, m->from, -1))
			return 0;
		struct sim_msg *r = sim_send(s, M_ISR_RESP, -1, m->from);
		r->to_inc = m->from_inc;
		r->st = m->st;
		if (m->st.zk_version == s->zk.zk_version && m->st.leader == s->zk.leader &&
		    m->st.leader_epoch == s->zk.leader_epoch) {
			s->zk.n_isr = m->st.n_isr;
			memcpy(s->zk.isr, m->st.isr, sizeof(s->zk.isr));
			s->zk.zk_version++;
			r->ok = true;
			r->zkv = s->zk.zk_version;
			sim_zk_trace(s, "leader's ISR write");
		} else {
			s->st.isr_refused++;
		}
		return 1;
	}
	struct sim_broker *b = &s->b[m->to];
	if (!b->up || b->inc != m->to_inc)
		return 1;
	if (!reliable && !sim_linked(s, m->from, m->to))
		return 1;
	if (reliable && !sim_linked(s, m->from, m->to))
		return 0;
	if (b->paused)
		return 0;
	switch (m->type) {
	case M_LAI: {
		/* KIP-380: a process takes control requests only for its own registration (a restarted
		 * one waits for its old session to expire before registering) */
		if (!b->registered || b->reg_inc != b->inc || m->broker_epoch != b->inc)
			break;
		int rc = krepl_become(b->k, &m->st, s->now);
		if (rc && rc != ERR_RANGE)
			sim_failf(s, "b%d refused LeaderAndIsr: %s", b->id, err_str(rc));
		sim_apply(s, b, NULL, 0, 0);
		b->outstanding = false;
		break;
	}
	case M_ISR_RESP:
		krepl_isr_result(b->k, m->st.leader_epoch, m->ok, m->zkv, s->now);
		sim_apply(s, b, NULL, 0, 0);
		break;
	case M_EPOCH_REQ: {
		struct sim_msg *r = sim_send(s, M_EPOCH_RESP, m->to, m->from);
		r->to_inc = m->from_inc;
		r->eresp.current_leader_epoch = m->ereq.current_leader_epoch;
		r->eresp.requested_epoch = m->ereq.leader_epoch;
		r->eresp.error = krepl_offset_for_epoch(b->k, m->ereq.current_leader_epoch, m->ereq.leader_epoch,
							&r->eresp.leader_epoch, &r->eresp.end_offset);
		break;
	}
	case M_EPOCH_RESP: {
		int rc = krepl_epoch_response(b->k, &m->eresp, s->now);
		if (rc)
			sim_failf(s, "b%d: epoch answer refused: %s", b->id, err_str(rc));
		sim_apply(s, b, NULL, 0, 0);
		b->outstanding = false;
		break;
	}
	case M_FETCH_REQ: {
		struct krepl_fetch_plan p;
		krepl_fetch(b->k, &m->freq, s->now, &p);
		sim_apply(s, b, NULL, 0, 0);
		struct sim_msg *r = sim_send(s, M_FETCH_RESP, m->to, m->from);
		r->to_inc = m->from_inc;
		r->freq = m->freq;
		r->plan = p;
		if (!p.error && !p.diverging && p.to > p.from) {
			int64_t to = p.to - p.from > SIM_MAXFETCH ? p.from + SIM_MAXFETCH : p.to;
			r->nrecs = to - p.from;
			r->recs = malloc((size_t)r->nrecs * sizeof(*r->recs));
			SIM_NEED(r->recs != NULL);
			memcpy(r->recs, &b->log[p.from], (size_t)r->nrecs * sizeof(*r->recs));
		}
		break;
	}
	case M_FETCH_RESP: {
		struct krepl_batch bt[SIM_MAXFETCH];
		for (int64_t i = 0; i < m->nrecs; i++)
			bt[i] = (struct krepl_batch){ m->plan.from + i, m->plan.from + i, m->recs[i].epoch };
		struct krepl_fetch_resp rs = {
			.error = m->plan.error,
			.leader_epoch = m->freq.current_leader_epoch,
			.fetch_offset = m->freq.fetch_offset,
			.high_watermark = m->plan.high_watermark,
			.log_start = m->plan.log_start,
			.diverging = m->plan.diverging,
			.diverging_epoch = m->plan.diverging_epoch,
			.diverging_end_offset = m->plan.diverging_end_offset,
			.batches = bt,
			.n_batches = (size_t)m->nrecs,
		};
		int rc = krepl_fetch_response(b->k, &rs, s->now);
		if (rc)
			sim_failf(s, "b%d: fetch answer refused: %s", b->id, err_str(rc));
		sim_apply(s, b, m->recs, m->plan.from, m->nrecs);
		b->outstanding = false;
		break;
	}
	case M_ISR_REQ:
		break;
	}
	return 1;
}

static void sim_network(struct sim *s)
{
	/* in order of due time, then of sending; what is sent now is due later */
	for (;;) {
		size_t best = s->nnet;
		for (size_t i = 0; i < s->nnet; i++)
			if (s->net[i].due <= s->now &&
			    (best == s->nnet || s->net[i].due < s->net[best].due ||
			     (s->net[i].due == s->net[best].due && s->net[i].seq < s->net[best].seq)))
				best = i;
		if (best == s->nnet || s->fail[0])
			return;
		struct sim_msg m = s->net[best];
		s->net[best] = s->net[--s->nnet];
		bool lossy = m.from >= 0 && m.to >= 0;
		if (lossy && sim_chance(s, 20)) {
			sim_msg_free(&m);
			continue; /* dropped */
		}
		if (sim_deliver(s, &m)) {
			sim_msg_free(&m);
		} else {
			m.due = s->now + 1;
			struct sim_msg *again = sim_send(s, m.type, m.from, m.to);
			uint64_t seq = again->seq;
			*again = m; /* waits, keeping what it carries */
			again->seq = seq;
		}
	}
}

/* The fetchers, the cores' ticks, flushes, HW checkpoints. */
static void sim_brokers(struct sim *s)
{
	for (int i = 0; i < SIM_N; i++) {
		struct sim_broker *b = &s->b[i];
		if (!b->up || b->paused)
			continue;
		krepl_tick(b->k, s->now);
		sim_apply(s, b, NULL, 0, 0);
		if (b->outstanding && s->now - b->sent_at > SIM_FETCH_RETRY)
			b->outstanding = false;
		struct sim_broker *l = sim_by_id(s, krepl_leader(b->k));
		if (!b->outstanding && l && l != b) {
			struct krepl_epoch_req er;
			struct krepl_fetch_req fr;
			if (krepl_epoch_request(b->k, &er)) {
				struct sim_msg *m = sim_send(s, M_EPOCH_REQ, i, (int)(l - s->b));
				m->ereq = er;
				b->outstanding = true;
			} else if (krepl_fetch_request(b->k, &fr)) {
				struct sim_msg *m = sim_send(s, M_FETCH_REQ, i, (int)(l - s->b));
				m->freq = fr;
				b->outstanding = true;
			}
			b->sent_at = s->now;
		}
		if (sim_chance(s, 100))
			b->flushed = b->n;
		if (sim_chance(s, 100))
			b->hw_ckpt = krepl_high_watermark(b->k);
	}
}

static void sim_produce(struct sim *s)
{
	if (!sim_chance(s, 400) || s->next_value + 1 >= SIM_MAXLOG * 4)
		return;
	struct sim_broker *b = sim_by_id(s, s->zk.leader);
	if (!b || sim_chance(s, 200))
		b = &s->b[sim_below(s, SIM_N)];
	if (!b->up || b->paused || b->cut == SIM_CUT_ALL || b->n + 1 >= SIM_MAXLOG)
		return;
	uint32_t v = ++s->next_value;
	int64_t base;
	int32_t ep;
	enum krepl_error e = krepl_append(b->k, 1, -1, v, s->now + SIM_TIMEOUT, s->now, &base, &ep);
	s->st.produced++;
	if (e == KREPL_OK) {
		SIM_NEED(base == b->n);
		b->log[base] = (struct sim_rec){ ep, v };
		b->n = base + 1;
		s->tok_off[v] = base;
		s->tok_epoch[v] = ep;
	} else if (e == KREPL_NOT_ENOUGH_REPLICAS) {
		s->st.not_enough++;
	}
	sim_apply(s, b, NULL, 0, 0);
}

/* ---- faults ----------------------------------------------------------------------------- */

static bool sim_healthy(const struct sim *s, const struct sim_broker *b)
{
	return b->up && !b->paused && b->cut == SIM_LINKED && b->registered && b->reg_inc == b->inc &&
	       sim_in(s->zk.isr, s->zk.n_isr, b->id);
}

static void sim_faults(struct sim *s)
{
	if (s->impaired >= 0 && sim_healthy(s, &s->b[s->impaired]))
		s->impaired = -1;
	for (int i = 0; i < SIM_N; i++) {
		struct sim_broker *b = &s->b[i];
		if (!b->up) {
			b->downtime++;
			if (b->downtime > 5 && sim_chance(s, 30)) {
				sim_boot(s, b);
				sim_tracef(s, "b%d: restarts with log %lld, HW checkpoint %lld", b->id, (long long)b->n,
					   (long long)b->hw_ckpt);
			}
			continue;
		}
		if (b->paused) {
			if (sim_chance(s, 25)) {
				b->paused = false;
				sim_tracef(s, "b%d: resumed", b->id);
			}
			continue;
		}
		if (b->cut != SIM_LINKED) {
			if (sim_chance(s, 25)) {
				b->cut = SIM_LINKED;
				sim_tracef(s, "b%d: healed", b->id);
			}
			continue;
		}
		if (!sim_chance(s, 12))
			continue;
		/* a new fault on a healthy-looking broker */
		bool others_healthy = true;
		for (int j = 0; j < SIM_N; j++)
			if (j != i && !sim_healthy(s, &s->b[j]))
				others_healthy = false;
		if (s->mode == SIM_SINGLE && s->impaired >= 0 && s->impaired != i)
			continue; /* one fault at a time while a power-loss victim recovers */
		switch (sim_below(s, 5)) {
		case 0:
			sim_crash(s, b, false);
			break;
		case 1:
			if (s->mode == SIM_HARD || (others_healthy && s->impaired < 0)) {
				sim_crash(s, b, true);
				if (s->mode == SIM_SINGLE)
					s->impaired = i;
			} else {
				sim_crash(s, b, false);
			}
			break;
		case 2:
			b->paused = true;
			s->st.pauses++;
			sim_tracef(s, "b%d: paused", b->id);
			break;
		case 3:
			b->cut = SIM_CUT_ALL;
			s->st.cuts++;
			sim_tracef(s, "b%d: cut off from everything", b->id);
			break;
		default:
			b->cut = SIM_CUT_BROKERS;
			s->st.cuts++;
			sim_tracef(s, "b%d: cut off from the other brokers", b->id);
			break;
		}
	}
	if (s->mode == SIM_HARD && sim_chance(s, 2)) {
		/* everyone at once: the power cut of KIP-101's scenario 2 */
		sim_tracef(s, "power cut of the whole cluster");
		for (int i = 0; i < SIM_N; i++)
			if (s->b[i].up)
				sim_crash(s, &s->b[i], true);
	}
}

/* ---- checks ----------------------------------------------------------------------------- */

static void sim_check_acked_on(struct sim *s, const struct sim_broker *b, const char *who)
{
	for (size_t i = 0; i < s->nacked && !s->fail[0]; i++) {
		int64_t o = s->acked_off[i];
		if (o >= b->n || b->log[o].value != s->acked_val[i])
			sim_failf(s, "acknowledged value %u at offset %lld is not on %s b%d (log end %lld, has %u)",
				  s->acked_val[i], (long long)o, who, b->id, (long long)b->n,
				  o < b->n ? b->log[o].value : 0);
	}
}

static void sim_check(struct sim *s)
{
	for (int i = 0; i < SIM_N && !s->fail[0]; i++) {
		struct sim_broker *b = &s->b[i];
		if (!b->up)
			continue;
		int64_t hw = krepl_high_watermark(b->k);
		int32_t ep = krepl_leader_epoch(b->k);
		if (hw > b->n)
			sim_failf(s, "b%d: HW %lld past its log end %lld", b->id, (long long)hw, (long long)b->n);
		/* a leader's HW never goes back within its epoch */
		if (krepl_role(b->k) == KREPL_LEADER) {
			if (b->chk_epoch == ep && hw < b->chk_hw)
				sim_failf(s, "b%d: leader HW went back from %lld to %lld in epoch %d", b->id,
					  (long long)b->chk_hw, (long long)hw, ep);
			b->chk_epoch = ep;
			b->chk_hw = hw;
		} else {
			b->chk_epoch = -1;
		}
		/* single: below its HW a replica holds only the committed history */
		if (s->mode == SIM_SINGLE) {
			for (int64_t o = b->ck_committed; o < hw && !s->fail[0]; o++) {
				if (!s->committed[o])
					s->committed[o] = b->log[o].value;
				else if (s->committed[o] != b->log[o].value)
					sim_failf(s, "b%d: offset %lld below its HW %lld holds %u, committed is %u", b->id,
						  (long long)o, (long long)hw, b->log[o].value, s->committed[o]);
			}
			if (hw > b->ck_committed)
				b->ck_committed = hw;
		}
		/* both: a following replica equals its leader below its HW */
		struct sim_broker *l = sim_by_id(s, krepl_leader(b->k));
		if (krepl_role(b->k) == KREPL_FOLLOWING && l && l->up && krepl_role(l->k) == KREPL_LEADER &&
		    krepl_leader_epoch(l->k) == ep) {
			if (b->ck_leader != l->id || b->ck_epoch != ep) {
				b->ck_leader = l->id;
				b->ck_epoch = ep;
				b->ck_follow = 0;
			}
			for (int64_t o = b->ck_follow; o < hw && !s->fail[0]; o++)
				if (o >= l->n || b->log[o].value != l->log[o].value || b->log[o].epoch != l->log[o].epoch)
					sim_failf(s, "b%d diverges from its leader b%d at offset %lld below its HW %lld",
						  b->id, l->id, (long long)o, (long long)hw);
			if (hw > b->ck_follow)
				b->ck_follow = hw;
		}
	}
	/* single: the leader in office has every acknowledged record */
	struct sim_broker *l = sim_by_id(s, s->zk.leader);
	if (s->mode == SIM_SINGLE && l && l->up && krepl_role(l->k) == KREPL_LEADER &&
	    krepl_leader_epoch(l->k) == s->zk.leader_epoch &&
	    (s->checked_leader != l->id || s->checked_epoch != s->zk.leader_epoch)) {
		s->checked_leader = l->id;
		s->checked_epoch = s->zk.leader_epoch;
		sim_check_acked_on(s, l, "the new leader");
	}
}

/* ---- runs ------------------------------------------------------------------------------- */

static void sim_init(struct sim *s, uint64_t seed, enum sim_mode mode, bool trace)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->rng = seed * 0x9e3779b97f4a7c15ULL + 0x1234567ULL;
	s->mode = mode;
	s->trace = trace;
	s->impaired = -1;
	s->checked_leader = -1;
	s->zk = (struct krepl_state){ .leader = 1, .leader_epoch = 0, .zk_version = 0, .n_isr = 3, .n_replicas = 3,
				      .isr = { 1, 2, 3 }, .replicas = { 1, 2, 3 } };
	for (int i = 0; i < SIM_N; i++) {
		s->b[i].id = i + 1;
		s->b[i].ck_leader = -1;
		sim_boot(s, &s->b[i]);
		/* registered from the start, the initial state already sent */
		s->b[i].registered = true;
		s->b[i].reg_inc = s->b[i].inc;
		ck_assert_int_eq(krepl_become(s->b[i].k, &s->zk, 0), 0);
		sim_apply(s, &s->b[i], NULL, 0, 0);
	}
}

static void sim_destroy(struct sim *s)
{
	for (int i = 0; i < SIM_N; i++)
		krepl_free(s->b[i].k);
	for (size_t i = 0; i < s->nnet; i++)
		sim_msg_free(&s->net[i]);
	free(s->net);
}

static void sim_step(struct sim *s)
{
	s->now++;
	s->st.ticks++;
	if (s->chaos)
		sim_faults(s);
	sim_sessions(s);
	sim_network(s);
	sim_brokers(s);
	if (s->chaos || (s->producing && s->now % 4 == 0))
		sim_produce(s);
	sim_check(s);
}

/* Everything healed and up; then the partition must converge. */
static void sim_liveness(struct sim *s)
{
	s->chaos = false;
	for (int i = 0; i < SIM_N; i++) {
		struct sim_broker *b = &s->b[i];
		b->paused = false;
		b->cut = SIM_LINKED;
		if (!b->up)
			sim_boot(s, b);
	}
	int64_t until = s->now + SIM_LIVE_TICKS;
	s->producing = true;
	while (s->now < until && !s->fail[0]) {
		sim_step(s);
		s->producing = s->now + SIM_LIVE_TICKS / 2 < until;
		if (s->producing)
			continue; /* producers go on for the first half */
		struct sim_broker *l = sim_by_id(s, s->zk.leader);
		if (!l || krepl_role(l->k) != KREPL_LEADER || krepl_leader_epoch(l->k) != s->zk.leader_epoch ||
		    s->zk.n_isr != SIM_N || krepl_high_watermark(l->k) != l->n)
			continue;
		bool done = true;
		for (int i = 0; i < SIM_N; i++)
			if (s->b[i].n != l->n || krepl_high_watermark(s->b[i].k) != l->n)
				done = false;
		if (done)
			break;
	}
	if (s->fail[0])
		return;
	struct sim_broker *l = sim_by_id(s, s->zk.leader);
	if (!l || s->zk.n_isr != SIM_N) {
		sim_failf(s, "no convergence: leader %d, ISR of %u", s->zk.leader, s->zk.n_isr);
		return;
	}
	for (int i = 0; i < SIM_N && !s->fail[0]; i++) {
		struct sim_broker *b = &s->b[i];
		if (b->n != l->n || krepl_high_watermark(b->k) != l->n) {
			sim_failf(s, "no convergence: b%d log end %lld HW %lld, leader b%d log end %lld", b->id,
				  (long long)b->n, (long long)krepl_high_watermark(b->k), l->id, (long long)l->n);
			return;
		}
		for (int64_t o = 0; o < l->n; o++)
			if (b->log[o].value != l->log[o].value || b->log[o].epoch != l->log[o].epoch) {
				sim_failf(s, "b%d differs from the leader b%d at offset %lld", b->id, l->id,
					  (long long)o);
				return;
			}
		if (s->mode == SIM_SINGLE)
			sim_check_acked_on(s, b, "the final replica");
	}
	if (s->mode == SIM_HARD) {
		for (size_t i = 0; i < s->nacked; i++) {
			int64_t o = s->acked_off[i];
			if (o >= l->n || l->log[o].value != s->acked_val[i])
				s->st.lost_hard++;
		}
	}
}

static bool sim_run_seed(uint64_t seed, enum sim_mode mode, bool trace, char *fail, size_t faillen,
			 struct sim_stats *st)
{
	struct sim *s = calloc(1, sizeof(*s));
	SIM_NEED(s != NULL);
	sim_current_seed = seed;
	sim_init(s, seed, mode, trace);
	s->chaos = true;
	for (unsigned t = 0; t < SIM_CHAOS_TICKS && !s->fail[0]; t++)
		sim_step(s);
	if (!s->fail[0])
		sim_liveness(s);
	bool ok = !s->fail[0];
	if (!ok)
		snprintf(fail, faillen, "%s; replay: REPL_SIM_SEED=%llu build/tests/unit/test_repl_sim", s->fail,
			 (unsigned long long)seed);
	if (trace)
		printf("seed %llu (%s): %llu acknowledged, %s\n", (unsigned long long)seed, sim_mode_names[mode],
		       (unsigned long long)s->st.acked, ok ? "ok" : "FAILED");
	st->seeds++;
	uint64_t *dst = &st->ticks, *src = &s->st.ticks;
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t) - 1; i++)
		dst[i] += src[i];
	sim_destroy(s);
	free(s);
	return ok;
}

/* Seeds s with s % SIM_MODES == mode; REPL_SIM_SEED picks one (in its own mode). */
static void sim_run_mode(enum sim_mode mode)
{
	signal(SIGABRT, sim_on_crash);
	signal(SIGSEGV, sim_on_crash);
	char fail[900];
	struct sim_stats st = { 0 };
	const char *one = getenv("REPL_SIM_SEED");
	if (one && *one) {
		uint64_t seed = strtoull(one, NULL, 10);
		if (seed % SIM_MODES != mode)
			return;
		bool ok = sim_run_seed(seed, mode, true, fail, sizeof(fail), &st);
		ck_assert_msg(ok, "%s", fail);
		return;
	}
	const char *n = getenv("REPL_SIM_SEEDS");
	uint64_t seeds = n && *n ? strtoull(n, NULL, 10) : SIM_DEFAULT_SEEDS;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < seeds; i++) {
		uint64_t seed = i * SIM_MODES + mode;
		bool ok = sim_run_seed(seed, mode, false, fail, sizeof(fail), &st);
		ck_assert_msg(ok, "%s", fail);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the bar a run must clear for the checks to mean anything */
	ck_assert_uint_gt(st.acked, seeds * 20);
	ck_assert_uint_gt(st.leader_changes, seeds);
	if (mode == SIM_SINGLE)
		ck_assert_uint_gt(st.power_losses, seeds / 4);
	if (getenv("REPL_SIM_STATS"))
		printf("%-6s seeds %llu in %.2f s: ticks %llu, produced %llu, acknowledged %llu, timed out %llu, "
		       "NOT_ENOUGH_REPLICAS %llu, leader changes %llu, truncations %llu, kills %llu, power losses "
		       "%llu, pauses %llu, cuts %llu, ISR writes %llu (refused %llu), acknowledged then lost to "
		       "power cuts %llu\n",
		       sim_mode_names[mode], (unsigned long long)st.seeds,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		       (unsigned long long)st.ticks, (unsigned long long)st.produced, (unsigned long long)st.acked,
		       (unsigned long long)st.timeouts, (unsigned long long)st.not_enough,
		       (unsigned long long)st.leader_changes, (unsigned long long)st.truncations,
		       (unsigned long long)st.kills, (unsigned long long)st.power_losses,
		       (unsigned long long)st.pauses, (unsigned long long)st.cuts, (unsigned long long)st.isr_writes,
		       (unsigned long long)st.isr_refused, (unsigned long long)st.lost_hard);
}

START_TEST(test_sim_single) { sim_run_mode(SIM_SINGLE); }
END_TEST

START_TEST(test_sim_hard) { sim_run_mode(SIM_HARD); }
END_TEST

static Suite *repl_sim_suite(void)
{
	Suite *su = suite_create("repl_sim");
	TCase *tc = tcase_create("simulator");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_sim_single);
	tcase_add_test(tc, test_sim_hard);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return check_run(repl_sim_suite());
}

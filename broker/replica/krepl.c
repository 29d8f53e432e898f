/*
 * krepl — the replication core of a partition replica (see krepl.h).
 *
 * Roles (krepl_set_role is the only place that changes k->role and checks the edge):
 *
 *                   LeaderAndIsr, leader = me
 *   OFFLINE ---------------------------------------------> LEADER <---+ new epoch (preferred
 *      |                                                    |  ^  ^---+  election, unclean)
 *      | LeaderAndIsr,                       LeaderAndIsr,  |  |
 *      | leader = other                     leader = other  |  | LeaderAndIsr, leader = me
 *      v                                                    v  |
 *   TRUNCATING <-------------------------------------------------+ ----+ another round (KIP-279),
 *      |   ^  diverging fetch answer, new leader/epoch             <---+ new leader/epoch
 *      |   |
 *      v   |  truncation point found
 *   FOLLOWING ---- LeaderAndIsr, leader = me ----> LEADER
 *   (every state) -- StopReplica --> OFFLINE
 *   An ISR change by the controller keeps the leader epoch (a newer zk version only) and every
 *   role: LEADER, TRUNCATING and FOLLOWING take the new ISR where they are (krepl_take_isr).
 *
 * Invariants per state:
 * - always: log_start <= hw <= leo; the epoch cache has no entry starting at or after leo unless
 *   it is the latest (a leader's empty epoch starts at leo); leader_epoch >= every cached epoch
 *   once a LeaderAndIsr was taken;
 * - LEADER: leader == id, leader_epoch is in the cache, self is in the ISR; hw only grows; a
 *   waiting produce has last offset >= hw; peers[] has one entry per other replica, leo -1 until
 *   it fetches in this epoch; isr_inflight: pend_isr is being written, and the HW is the minimum
 *   over isr and pend_isr together (the larger ISR counts until the write is done);
 * - TRUNCATING / FOLLOWING: no waiting produces, no peers; FOLLOWING: the log is a prefix of
 *   the leader's log of this epoch (established by the truncation), so appends are contiguous;
 * - OFFLINE: no waiting produces.
 * Leaving LEADER answers every waiting produce with NOT_LEADER_OR_FOLLOWER.
 */
#include "krepl.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct krepl_peer {
	int32_t id;
	int64_t leo;			/* -1: no fetch in this epoch yet */
	int64_t last_caught_up;		/* ms */
	int64_t last_fetch_leader_leo;	/* our LEO when it last fetched */
	int64_t last_fetch_ms;
	int64_t rejoin_after; /* ms: the controller took it out of the ISR; no expansion before */
};

/*
 * After the controller takes a follower out of the ISR within an epoch (it counts that broker
 * dead or gone: a broken control-plane connection, its registration expired), the leader does
 * not take it back for this long even when it fetches: the controller's view lags the leader's
 * by a registration or a reconnection, and taking it back at once would have the controller
 * take it out again, over and over (one write pair per fetch round trip). Kafka 3.3's leaders
 * ask the broker registrations instead (KIP-841); this bounds the disagreement to one round per
 * interval, until the controller counts the broker online again. A third of
 * replica.lag.time.max.ms when that is shorter (tests, the simulator's scaled clock).
 */
#define KREPL_REJOIN_HOLDOFF_MS 1000

struct krepl_wait {
	uint64_t token;
	int64_t last_offset;
	int64_t deadline;
};

struct krepl {
	int32_t id;
	enum krepl_role role;
	char reason[64];
	int64_t lag_max;
	int32_t min_insync;

	/* the partition state as last taken */
	int32_t leader, leader_epoch, zk_version;
	uint32_t n_isr, n_replicas;
	int32_t isr[KREPL_MAX_REPLICAS];
	int32_t replicas[KREPL_MAX_REPLICAS];

	/* the log */
	int64_t log_start, leo, hw;
	struct kepoch *epochs;

	/* leader */
	int64_t epoch_start; /* leo when this epoch began */
	struct krepl_peer peers[KREPL_MAX_REPLICAS];
	uint32_t n_peers;
	bool isr_inflight;
	uint32_t n_pend;
	int32_t pend_isr[KREPL_MAX_REPLICAS];
	struct krepl_wait *waits;
	size_t n_waits, cap_waits;

	/* queued actions */
	struct krepl_action *acts;
	size_t n_acts, cap_acts;

	krepl_log_fn logf;
	void *log_arg;
};

static const char *const krepl_role_names[KREPL_ROLE_COUNT] = {
	[KREPL_OFFLINE] = "offline",
	[KREPL_LEADER] = "leader",
	[KREPL_TRUNCATING] = "truncating",
	[KREPL_FOLLOWING] = "following",
};

static const char *const krepl_action_names[KREPL_ACT_TYPE_COUNT] = {
	[KREPL_ACT_TRUNCATE] = "truncate", [KREPL_ACT_RESET] = "reset",	   [KREPL_ACT_APPEND] = "append",
	[KREPL_ACT_EPOCHS] = "epochs",	   [KREPL_ACT_ISR_UPDATE] = "isr_update", [KREPL_ACT_COMPLETE] = "complete",
	[KREPL_ACT_HW] = "hw",
};

const char *krepl_role_name(enum krepl_role role)
{
	return (unsigned)role < KREPL_ROLE_COUNT ? krepl_role_names[role] : "?";
}

const char *krepl_action_name(enum krepl_action_type t)
{
	return (unsigned)t < KREPL_ACT_TYPE_COUNT ? krepl_action_names[t] : "?";
}

const char *krepl_error_name(enum krepl_error e)
{
	switch (e) {
	case KREPL_OK: return "NONE";
	case KREPL_OFFSET_OUT_OF_RANGE: return "OFFSET_OUT_OF_RANGE";
	case KREPL_NOT_LEADER_OR_FOLLOWER: return "NOT_LEADER_OR_FOLLOWER";
	case KREPL_REQUEST_TIMED_OUT: return "REQUEST_TIMED_OUT";
	case KREPL_NOT_ENOUGH_REPLICAS: return "NOT_ENOUGH_REPLICAS";
	case KREPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND: return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
	case KREPL_FENCED_LEADER_EPOCH: return "FENCED_LEADER_EPOCH";
	case KREPL_UNKNOWN_LEADER_EPOCH: return "UNKNOWN_LEADER_EPOCH";
	}
	return "?";
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void krepl_logf(const struct krepl *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void krepl_logf(const struct krepl *k, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (!k->logf)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	k->logf(k->log_arg, k->id, line);
}

/* A broken invariant that would corrupt the log or lose acknowledged data: stop loudly, in
 * release builds too. */
#define KREPL_CHECK(k, cond)                                                                        \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			krepl_logf((k), "invariant broken at %s:%d: %s", __FILE__, __LINE__, #cond); \
			abort();                                                                    \
		}                                                                                   \
	} while (0)

static void *krepl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

static struct krepl_action *krepl_act(struct krepl *k, enum krepl_action_type type)
{
	if (k->n_acts == k->cap_acts) {
		k->cap_acts = k->cap_acts ? k->cap_acts * 2 : 16;
		k->acts = krepl_xrealloc(k->acts, k->cap_acts * sizeof(*k->acts));
	}
	struct krepl_action *a = &k->acts[k->n_acts++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

static bool krepl_in(const int32_t *set, uint32_t n, int32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

static struct krepl_peer *krepl_peer_of(struct krepl *k, int32_t id)
{
	for (uint32_t i = 0; i < k->n_peers; i++)
		if (k->peers[i].id == id)
			return &k->peers[i];
	return NULL;
}

static void krepl_set_hw(struct krepl *k, int64_t hw)
{
	if (hw == k->hw)
		return;
	k->hw = hw;
	struct krepl_action *a = krepl_act(k, KREPL_ACT_HW);
	a->offset = hw;
}

/* Is the edge from -> to in the diagram? */
static bool krepl_edge_ok(enum krepl_role from, enum krepl_role to)
{
	switch (to) {
	case KREPL_OFFLINE: return from != KREPL_OFFLINE;
	case KREPL_LEADER: return true;
	case KREPL_TRUNCATING: return true;
	case KREPL_FOLLOWING: return from == KREPL_TRUNCATING;
	case KREPL_ROLE_COUNT: break;
	}
	return false;
}

static void krepl_fail_waits(struct krepl *k, enum krepl_error error)
{
	for (size_t i = 0; i < k->n_waits; i++) {
		struct krepl_action *a = krepl_act(k, KREPL_ACT_COMPLETE);
		a->token = k->waits[i].token;
		a->error = error;
	}
	k->n_waits = 0;
}

static void krepl_set_role(struct krepl *k, enum krepl_role to, const char *reason)
{
	KREPL_CHECK(k, krepl_edge_ok(k->role, to));
	if (k->role != to || strcmp(k->reason, reason) != 0)
		krepl_logf(k, "epoch %d: %s -> %s (%s)", k->leader_epoch, krepl_role_name(k->role), krepl_role_name(to),
			   reason);
	if (k->role == KREPL_LEADER && to != KREPL_LEADER)
		krepl_fail_waits(k, KREPL_NOT_LEADER_OR_FOLLOWER);
	if (to != KREPL_LEADER) {
		k->n_peers = 0;
		k->isr_inflight = false;
	}
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	k->role = to;
}

/* ---- life ------------------------------------------------------------------------------- */

struct krepl *krepl_new(const struct krepl_opts *o, char *err, size_t errlen)
{
	if (o->broker_id < 0 || o->min_insync < 1 || o->lag_time_max_ms < 1 || o->log_start < 0 ||
	    o->log_end < o->log_start) {
		err_set(err, errlen, ERR_INVAL, "krepl: bad options (broker %d, min.insync %d, lag %lld, log [%lld, %lld))",
			o->broker_id, o->min_insync, (long long)o->lag_time_max_ms, (long long)o->log_start,
			(long long)o->log_end);
		return NULL;
	}
	struct krepl *k = calloc(1, sizeof(*k));
	if (!k || !(k->epochs = kepoch_new())) {
		free(k);
		err_set(err, errlen, ERR_NOMEM, "krepl: out of memory");
		return NULL;
	}
	int rc = kepoch_load(k->epochs, o->epochs, o->n_epochs);
	if (rc) {
		err_set(err, errlen, rc, "krepl: leader epochs: %s", err_str(rc));
		krepl_free(k);
		return NULL;
	}
	k->id = o->broker_id;
	k->role = KREPL_OFFLINE;
	snprintf(k->reason, sizeof(k->reason), "start");
	k->lag_max = o->lag_time_max_ms;
	k->min_insync = o->min_insync;
	k->leader = -1;
	k->leader_epoch = -1;
	k->zk_version = -1;
	k->log_start = o->log_start;
	k->leo = o->log_end;
	k->hw = o->high_watermark < o->log_start ? o->log_start
		: o->high_watermark > o->log_end ? o->log_end : o->high_watermark;
	k->logf = o->log;
	k->log_arg = o->log_arg;
	/* a log that lost its tail (a crash before the flush, or between a truncation and the
	 * checkpoint's rewrite) leaves entries past its end: drop them and have the checkpoint
	 * rewritten, or a later restart would load them again over records of another epoch */
	int cut = kepoch_truncate_end(k->epochs, o->log_end);
	if (kepoch_truncate_start(k->epochs, o->log_start) || cut) {
		krepl_logf(k, "leader epochs past the log end %lld dropped", (long long)o->log_end);
		krepl_act(k, KREPL_ACT_EPOCHS);
	}
	return k;
}

void krepl_free(struct krepl *k)
{
	if (!k)
		return;
	kepoch_free(k->epochs);
	free(k->waits);
	free(k->acts);
	free(k);
}

/* ---- truncation (follower) -------------------------------------------------------------- */

/* Cuts the log to end: TRUNCATE (when end < leo), the cache (EPOCHS), HW. At end == leo only
 * the cache can change: epochs we led without writing a record start there, and the leader
 * does not share them (kept, our last epoch would not be the leader's and every fetch would be
 * answered as diverging). */
static void krepl_truncate(struct krepl *k, int64_t end, const char *why)
{
	if (end < k->log_start)
		end = k->log_start; /* what retention deleted is below any HW: never in question */
	if (end >= k->leo) {
		if (kepoch_truncate_end(k->epochs, k->leo))
			krepl_act(k, KREPL_ACT_EPOCHS);
		return;
	}
	krepl_logf(k, "epoch %d: truncating from %lld to %lld (%s)", k->leader_epoch, (long long)k->leo,
		   (long long)end, why);
	struct krepl_action *a = krepl_act(k, KREPL_ACT_TRUNCATE);
	a->offset = end;
	k->leo = end;
	if (kepoch_truncate_end(k->epochs, end))
		krepl_act(k, KREPL_ACT_EPOCHS);
	if (k->hw > end)
		krepl_set_hw(k, end);
}

/*
 * The truncation step of a follower given the leader's (epoch, end offset) for the epoch it
 * asked about (OffsetForLeaderEpoch, or a fetch's diverging epoch). Kafka's
 * AbstractFetcherThread rules: the leader knows no such epoch -> fall back to the HW; we lack
 * the leader's epoch -> cut to the end of our largest epoch below it and ask again (KIP-279);
 * both know it -> cut to the smaller of the two ends (KIP-101). Returns whether it is done.
 */
static bool krepl_truncate_to_leader(struct krepl *k, int32_t l_epoch, int64_t l_end)
{
	if (l_end == KEPOCH_UNDEFINED) {
		krepl_truncate(k, k->hw, "leader has no epoch at or below ours: high watermark");
		return true;
	}
	int32_t f_epoch;
	int64_t f_end;
	kepoch_end_offset_for(k->epochs, l_epoch, k->leo, &f_epoch, &f_end);
	if (f_end == KEPOCH_UNDEFINED) {
		krepl_truncate(k, l_end < k->leo ? l_end : k->leo, "no local epoch at or below the leader's");
		return true;
	}
	if (f_epoch != l_epoch) {
		char why[80];
		snprintf(why, sizeof(why), "KIP-279: leader epoch %d unknown here, end of our epoch %d", l_epoch,
			 f_epoch);
		krepl_truncate(k, f_end < k->leo ? f_end : k->leo, why);
		return false;
	}
	int64_t end = f_end < l_end ? f_end : l_end;
	krepl_truncate(k, end < k->leo ? end : k->leo, "KIP-101: end of the common epoch");
	return true;
}

/* ---- role changes ----------------------------------------------------------------------- */

static int krepl_check_state(const struct krepl *k, const struct krepl_state *st)
{
	if (st->n_isr > KREPL_MAX_REPLICAS || st->n_replicas > KREPL_MAX_REPLICAS || st->leader_epoch < 0 ||
	    !krepl_in(st->replicas, st->n_replicas, k->id))
		return ERR_INVAL;
	for (uint32_t i = 0; i < st->n_replicas; i++)
		if (st->replicas[i] < 0 || krepl_in(st->replicas, i, st->replicas[i]))
			return ERR_INVAL;
	for (uint32_t i = 0; i < st->n_isr; i++)
		if (!krepl_in(st->replicas, st->n_replicas, st->isr[i]) || krepl_in(st->isr, i, st->isr[i]))
			return ERR_INVAL;
	if (st->leader >= 0 && !krepl_in(st->isr, st->n_isr, st->leader))
		return ERR_INVAL;
	return 0;
}

static void krepl_take_state(struct krepl *k, const struct krepl_state *st)
{
	k->leader = st->leader;
	k->leader_epoch = st->leader_epoch;
	k->zk_version = st->zk_version;
	k->n_isr = st->n_isr;
	memcpy(k->isr, st->isr, st->n_isr * sizeof(int32_t));
	k->n_replicas = st->n_replicas;
	memcpy(k->replicas, st->replicas, st->n_replicas * sizeof(int32_t));
}

static void krepl_maybe_advance_hw(struct krepl *k, int64_t now);

/* A state of the current leader epoch at a newer znode version: the controller changed only the
 * ISR (a dead follower left it; the leader epoch moves only with the leader, and the znode
 * version, LeaderAndIsr's zkVersion, versions the rest: Kafka's KAFKA-15021). It is taken
 * by a replica that plays its part in this epoch already, under the same leader and replicas;
 * anything else with this epoch is not from this epoch's history and is ignored. */
static bool krepl_same_epoch_ok(const struct krepl *k, const struct krepl_state *st)
{
	if (k->role == KREPL_OFFLINE || st->leader != k->leader || st->n_replicas != k->n_replicas ||
	    memcmp(st->replicas, k->replicas, st->n_replicas * sizeof(int32_t)) != 0)
		return false;
	return st->leader == k->id ? k->role == KREPL_LEADER : k->role != KREPL_LEADER;
}

/* Takes the ISR and znode version of a same-epoch state (krepl_same_epoch_ok): no role change,
 * no truncation, the followers' fetch state and the epoch cache untouched. A leader's ISR write
 * in flight stays in flight (its pending ISR still counts for the HW, which only makes the HW
 * more careful): it was conditional on an older version, so it either made this version or
 * fails, and krepl_isr_result() tells which without taking an older state over this one. */
static void krepl_take_isr(struct krepl *k, const struct krepl_state *st, int64_t now)
{
	for (uint32_t i = 0; i < k->n_peers; i++)
		if (krepl_in(k->isr, k->n_isr, k->peers[i].id) && !krepl_in(st->isr, st->n_isr, k->peers[i].id))
			k->peers[i].rejoin_after =
				now + (k->lag_max / 3 < KREPL_REJOIN_HOLDOFF_MS ? k->lag_max / 3 : KREPL_REJOIN_HOLDOFF_MS);
	k->zk_version = st->zk_version;
	k->n_isr = st->n_isr;
	memcpy(k->isr, st->isr, st->n_isr * sizeof(int32_t));
	char line[160];
	int len = 0;
	line[0] = '\0';
	for (uint32_t i = 0; i < st->n_isr && len < (int)sizeof(line) - 16; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%d", i ? "," : "", st->isr[i]);
	krepl_logf(k, "epoch %d: ISR -> [%s] (written by the controller), zk version %d", k->leader_epoch, line,
		   k->zk_version);
	krepl_maybe_advance_hw(k, now); /* a leader's ISR may have shrunk */
}

int krepl_become(struct krepl *k, const struct krepl_state *st, int64_t now)
{
	int rc = krepl_check_state(k, st);
	if (rc)
		return rc;
	if (st->leader_epoch == k->leader_epoch && st->zk_version > k->zk_version && krepl_same_epoch_ok(k, st)) {
		krepl_take_isr(k, st, now);
		return 0;
	}
	if (st->leader_epoch <= k->leader_epoch || st->leader_epoch < kepoch_latest(k->epochs)) {
		krepl_logf(k, "epoch %d: ignoring LeaderAndIsr with epoch %d (cache at %d)", k->leader_epoch,
			   st->leader_epoch, kepoch_latest(k->epochs));
		return ERR_RANGE;
	}
	bool was_leader = k->role == KREPL_LEADER;
	krepl_take_state(k, st);
	if (st->leader == k->id) {
		/* KIP-101: the new epoch starts at our log end */
		int32_t before = kepoch_latest(k->epochs);
		rc = kepoch_assign(k->epochs, st->leader_epoch, k->leo);
		KREPL_CHECK(k, rc == 0); /* the epoch is above the cache's latest, checked above */
		if (kepoch_latest(k->epochs) != before)
			krepl_act(k, KREPL_ACT_EPOCHS);
		k->epoch_start = k->leo;
		k->isr_inflight = false;
		k->n_peers = 0;
		for (uint32_t i = 0; i < st->n_replicas; i++) {
			if (st->replicas[i] == k->id)
				continue;
			struct krepl_peer *p = &k->peers[k->n_peers++];
			p->id = st->replicas[i];
			p->leo = -1;
			p->last_caught_up = krepl_in(st->isr, st->n_isr, p->id) ? now : 0;
			p->last_fetch_leader_leo = -1;
			p->last_fetch_ms = 0;
			p->rejoin_after = 0;
		}
		krepl_set_role(k, KREPL_LEADER, was_leader ? "LeaderAndIsr: new epoch" : "LeaderAndIsr");
		krepl_maybe_advance_hw(k, now);
		return 0;
	}
	krepl_set_role(k, KREPL_TRUNCATING, st->leader < 0 ? "LeaderAndIsr: no leader" : "LeaderAndIsr");
	if (kepoch_latest(k->epochs) == KEPOCH_UNDEFINED) {
		/* no epochs to compare (an empty log): the HW is the safe point, Kafka's fallback */
		krepl_truncate(k, k->hw, "no leader epochs: high watermark");
		krepl_set_role(k, KREPL_FOLLOWING, "nothing to compare");
	}
	return 0;
}

void krepl_set_min_insync(struct krepl *k, int32_t n)
{
	k->min_insync = n >= 1 ? n : 1;
}

void krepl_stop(struct krepl *k)
{
	if (k->role != KREPL_OFFLINE)
		krepl_set_role(k, KREPL_OFFLINE, "StopReplica");
	k->leader = -1;
}

/* ---- leader ----------------------------------------------------------------------------- */

/* The HW: the smallest LEO over the ISR (and, while an ISR write is on its way, over the ISR it
 * writes too), never lower than before (Kafka's maybeIncrementLeaderHW). Then waiting produces
 * whose last offset is below it are answered. */
static void krepl_maybe_advance_hw(struct krepl *k, int64_t now)
{
	(void)now;
	if (k->role != KREPL_LEADER)
		return;
	int64_t min = k->leo;
	for (uint32_t i = 0; i < k->n_peers; i++) {
		const struct krepl_peer *p = &k->peers[i];
		bool counts = krepl_in(k->isr, k->n_isr, p->id) ||
			      (k->isr_inflight && krepl_in(k->pend_isr, k->n_pend, p->id));
		if (counts && p->leo < min)
			min = p->leo;
	}
	if (min > k->hw)
		krepl_set_hw(k, min);
	size_t w = 0;
	for (size_t i = 0; i < k->n_waits; i++) {
		struct krepl_wait *q = &k->waits[i];
		if (q->last_offset < k->hw) {
			struct krepl_action *a = krepl_act(k, KREPL_ACT_COMPLETE);
			a->token = q->token;
			a->error = (int32_t)k->n_isr < k->min_insync ? KREPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND : KREPL_OK;
		} else {
			k->waits[w++] = *q;
		}
	}
	k->n_waits = w;
}

static void krepl_propose_isr(struct krepl *k, const int32_t *isr, uint32_t n, const char *why)
{
	KREPL_CHECK(k, !k->isr_inflight && krepl_in(isr, n, k->id));
	k->isr_inflight = true;
	k->n_pend = n;
	memcpy(k->pend_isr, isr, n * sizeof(int32_t));
	struct krepl_action *a = krepl_act(k, KREPL_ACT_ISR_UPDATE);
	a->state.leader = k->id;
	a->state.leader_epoch = k->leader_epoch;
	a->state.zk_version = k->zk_version;
	a->state.n_isr = n;
	memcpy(a->state.isr, isr, n * sizeof(int32_t));
	a->state.n_replicas = k->n_replicas;
	memcpy(a->state.replicas, k->replicas, k->n_replicas * sizeof(int32_t));
	char line[160];
	int len = 0;
	for (uint32_t i = 0; i < n && len < (int)sizeof(line) - 16; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%d", i ? "," : "", isr[i]);
	krepl_logf(k, "epoch %d: ISR -> [%s] (%s), zk version %d", k->leader_epoch, line, why, k->zk_version);
}

/* An acks=all produce waits until the HW passes last_offset (or its deadline, or a role change). */
static void krepl_hold(struct krepl *k, uint64_t token, int64_t last_offset, int64_t deadline)
{
	if (k->n_waits == k->cap_waits) {
		k->cap_waits = k->cap_waits ? k->cap_waits * 2 : 16;
		k->waits = krepl_xrealloc(k->waits, k->cap_waits * sizeof(*k->waits));
	}
	k->waits[k->n_waits++] = (struct krepl_wait){ token, last_offset, deadline };
}

enum krepl_error krepl_append(struct krepl *k, int64_t count, int acks, uint64_t token, int64_t deadline,
			      int64_t now, int64_t *base_offset, int32_t *epoch)
{
	KREPL_CHECK(k, count >= 1);
	if (k->role != KREPL_LEADER)
		return KREPL_NOT_LEADER_OR_FOLLOWER;
	if (acks == -1 && (int32_t)k->n_isr < k->min_insync)
		return KREPL_NOT_ENOUGH_REPLICAS;
	*base_offset = k->leo;
	*epoch = k->leader_epoch;
	k->leo += count;
	if (acks == -1)
		krepl_hold(k, token, k->leo - 1, deadline);
	krepl_maybe_advance_hw(k, now);
	return KREPL_OK;
}

enum krepl_error krepl_await(struct krepl *k, int acks, uint64_t token, int64_t last_offset, int64_t deadline,
			     int64_t now)
{
	if (k->role != KREPL_LEADER)
		return KREPL_NOT_LEADER_OR_FOLLOWER;
	if (acks == -1 && (int32_t)k->n_isr < k->min_insync)
		return KREPL_NOT_ENOUGH_REPLICAS;
	if (last_offset < 0 || last_offset >= k->leo)
		return KREPL_OFFSET_OUT_OF_RANGE; /* not in this log: nothing to wait for */
	if (acks == -1) {
		krepl_hold(k, token, last_offset, deadline);
		krepl_maybe_advance_hw(k, now); /* already below the HW: its COMPLETE is queued now */
	}
	return KREPL_OK;
}

static enum krepl_error krepl_fence(const struct krepl *k, int32_t current_leader_epoch)
{
	if (k->role != KREPL_LEADER)
		return KREPL_NOT_LEADER_OR_FOLLOWER;
	if (current_leader_epoch >= 0 && current_leader_epoch < k->leader_epoch)
		return KREPL_FENCED_LEADER_EPOCH;
	if (current_leader_epoch > k->leader_epoch)
		return KREPL_UNKNOWN_LEADER_EPOCH;
	return KREPL_OK;
}

void krepl_fetch(struct krepl *k, const struct krepl_fetch_req *req, int64_t now, struct krepl_fetch_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->diverging_epoch = KEPOCH_UNDEFINED;
	plan->diverging_end_offset = KEPOCH_UNDEFINED;
	plan->log_start = k->log_start;
	plan->high_watermark = k->hw;
	plan->from = plan->to = req->fetch_offset;
	plan->error = krepl_fence(k, req->current_leader_epoch);
	if (plan->error)
		return;
	struct krepl_peer *p = NULL;
	if (req->replica_id >= 0 && !(p = krepl_peer_of(k, req->replica_id))) {
		plan->error = KREPL_NOT_LEADER_OR_FOLLOWER; /* not a replica of this partition */
		return;
	}
	int64_t limit = p ? k->leo : k->hw; /* consumers read up to the HW only */
	if (req->fetch_offset < k->log_start || req->fetch_offset > limit) {
		plan->error = KREPL_OFFSET_OUT_OF_RANGE;
		return;
	}
	if (p && req->last_fetched_epoch >= 0) {
		/* does the follower's log leave ours before fetch_offset? (the check of KIP-595) */
		int32_t e;
		int64_t end;
		kepoch_end_offset_for(k->epochs, req->last_fetched_epoch, k->leo, &e, &end);
		if (e < req->last_fetched_epoch || end < req->fetch_offset) {
			plan->diverging = true;
			plan->diverging_epoch = e;
			plan->diverging_end_offset = end;
			return;
		}
	}
	if (p) {
		/* Kafka's Replica.updateFetchState: caught up when it asked for our end, or for what
		 * was our end when it fetched last time */
		if (req->fetch_offset >= k->leo)
			p->last_caught_up = now > p->last_caught_up ? now : p->last_caught_up;
		else if (req->fetch_offset >= p->last_fetch_leader_leo && p->last_fetch_leader_leo >= 0)
			p->last_caught_up = p->last_fetch_ms > p->last_caught_up ? p->last_fetch_ms : p->last_caught_up;
		p->leo = req->fetch_offset;
		p->last_fetch_leader_leo = k->leo;
		p->last_fetch_ms = now;
		/* ISR expansion: caught up to the HW and to the start of this epoch */
		if (!k->isr_inflight && !krepl_in(k->isr, k->n_isr, p->id) && p->leo >= k->hw &&
		    p->leo >= k->epoch_start && now >= p->rejoin_after) {
			int32_t isr[KREPL_MAX_REPLICAS];
			memcpy(isr, k->isr, k->n_isr * sizeof(int32_t));
			isr[k->n_isr] = p->id;
			char why[48];
			snprintf(why, sizeof(why), "%d caught up at %lld", p->id, (long long)p->leo);
			/* it is in sync now (at the HW): its lag counts from here, or the next tick,
			 * seeing a last caught-up time from before (0 for a replica outside the ISR at
			 * LeaderAndIsr), would take it out again at once */
			p->last_caught_up = now > p->last_caught_up ? now : p->last_caught_up;
			krepl_propose_isr(k, isr, k->n_isr + 1, why);
		}
		krepl_maybe_advance_hw(k, now);
	}
	plan->from = req->fetch_offset;
	plan->to = p ? k->leo : k->hw;
	plan->high_watermark = k->hw;
}

enum krepl_error krepl_offset_for_epoch(const struct krepl *k, int32_t current_leader_epoch, int32_t requested,
					int32_t *epoch, int64_t *end_offset)
{
	*epoch = KEPOCH_UNDEFINED;
	*end_offset = KEPOCH_UNDEFINED;
	enum krepl_error e = krepl_fence(k, current_leader_epoch);
	if (e)
		return e;
	kepoch_end_offset_for(k->epochs, requested, k->leo, epoch, end_offset);
	return KREPL_OK;
}

void krepl_isr_result(struct krepl *k, int32_t leader_epoch, bool ok, int32_t new_zk_version, int64_t now)
{
	if (k->role != KREPL_LEADER || !k->isr_inflight || leader_epoch != k->leader_epoch)
		return;
	k->isr_inflight = false;
	if (!ok) {
		krepl_logf(k, "epoch %d: ISR write refused: zk version %d is stale, waiting for the controller",
			   k->leader_epoch, k->zk_version);
		return;
	}
	if (new_zk_version <= k->zk_version) {
		/* a state at least as new was taken meanwhile (krepl_take_isr: this write's own result
		 * read back, or a later one): it stays */
		krepl_maybe_advance_hw(k, now);
		return;
	}
	k->n_isr = k->n_pend;
	memcpy(k->isr, k->pend_isr, k->n_pend * sizeof(int32_t));
	k->zk_version = new_zk_version;
	krepl_maybe_advance_hw(k, now);
}

void krepl_tick(struct krepl *k, int64_t now)
{
	if (k->role != KREPL_LEADER)
		return;
	size_t w = 0;
	for (size_t i = 0; i < k->n_waits; i++) {
		if (k->waits[i].deadline <= now) {
			struct krepl_action *a = krepl_act(k, KREPL_ACT_COMPLETE);
			a->token = k->waits[i].token;
			a->error = KREPL_REQUEST_TIMED_OUT;
		} else {
			k->waits[w++] = k->waits[i];
		}
	}
	k->n_waits = w;
	if (k->isr_inflight)
		return;
	/* Kafka's getOutOfSyncReplicas: behind our end and not caught up for lag_max */
	int32_t isr[KREPL_MAX_REPLICAS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < k->n_isr; i++) {
		struct krepl_peer *p = krepl_peer_of(k, k->isr[i]);
		if (p && p->leo != k->leo && now - p->last_caught_up > k->lag_max)
			continue;
		isr[n++] = k->isr[i];
	}
	if (n < k->n_isr)
		krepl_propose_isr(k, isr, n, "lagging past replica.lag.time.max.ms");
}

/* ---- follower --------------------------------------------------------------------------- */

/* Could a leader give (epoch, end) as where our epoch `asked` ends? Both undefined (it knows
 * no such epoch), or an epoch >= 0 not above the one asked about with an offset >= 0. */
static bool krepl_epoch_answer_ok(int32_t epoch, int64_t end, int32_t asked)
{
	if (epoch == KEPOCH_UNDEFINED || end == KEPOCH_UNDEFINED)
		return epoch == KEPOCH_UNDEFINED && end == KEPOCH_UNDEFINED;
	return epoch >= 0 && end >= 0 && epoch <= asked;
}

bool krepl_epoch_request(const struct krepl *k, struct krepl_epoch_req *req)
{
	if (k->role != KREPL_TRUNCATING || k->leader < 0)
		return false;
	req->current_leader_epoch = k->leader_epoch;
	req->leader_epoch = kepoch_latest(k->epochs);
	return true;
}

int krepl_epoch_response(struct krepl *k, const struct krepl_epoch_resp *resp, int64_t now)
{
	(void)now;
	if (k->role != KREPL_TRUNCATING || resp->current_leader_epoch != k->leader_epoch ||
	    resp->requested_epoch != kepoch_latest(k->epochs) || resp->error)
		return 0;
	if (!krepl_epoch_answer_ok(resp->leader_epoch, resp->end_offset, resp->requested_epoch))
		return ERR_PROTO;
	bool done = krepl_truncate_to_leader(k, resp->leader_epoch, resp->end_offset);
	if (done)
		krepl_set_role(k, KREPL_FOLLOWING, "truncated");
	else
		krepl_set_role(k, KREPL_TRUNCATING, "KIP-279: another round");
	return 0;
}

bool krepl_fetch_request(const struct krepl *k, struct krepl_fetch_req *req)
{
	if (k->role != KREPL_FOLLOWING || k->leader < 0)
		return false;
	req->replica_id = k->id;
	req->current_leader_epoch = k->leader_epoch;
	req->fetch_offset = k->leo;
	req->last_fetched_epoch = kepoch_latest(k->epochs);
	return true;
}

int krepl_fetch_response(struct krepl *k, const struct krepl_fetch_resp *resp, int64_t now)
{
	(void)now;
	if (k->role != KREPL_FOLLOWING || resp->leader_epoch != k->leader_epoch || resp->fetch_offset != k->leo)
		return 0; /* an answer to an older request */
	if (resp->error == KREPL_OFFSET_OUT_OF_RANGE) {
		if (resp->log_start > k->leo) {
			/* the leader deleted what we would need next: start over at its log start */
			krepl_logf(k, "epoch %d: leader's log starts at %lld past our end %lld: resetting",
				   k->leader_epoch, (long long)resp->log_start, (long long)k->leo);
			struct krepl_action *a = krepl_act(k, KREPL_ACT_RESET);
			a->offset = resp->log_start;
			k->log_start = k->leo = resp->log_start;
			if (kepoch_truncate_end(k->epochs, 0))
				krepl_act(k, KREPL_ACT_EPOCHS);
			krepl_set_hw(k, resp->log_start);
		} else {
			krepl_set_role(k, KREPL_TRUNCATING, "fetch offset out of range");
		}
		return 0;
	}
	if (resp->error)
		return 0; /* fenced, not leader: wait for LeaderAndIsr */
	if (resp->diverging) {
		if (!krepl_epoch_answer_ok(resp->diverging_epoch, resp->diverging_end_offset,
					   kepoch_latest(k->epochs)))
			return ERR_PROTO;
		krepl_set_role(k, KREPL_TRUNCATING, "diverging epoch in a fetch answer");
		if (krepl_truncate_to_leader(k, resp->diverging_epoch, resp->diverging_end_offset))
			krepl_set_role(k, KREPL_FOLLOWING, "truncated");
		return 0;
	}
	/* check the whole answer before changing anything */
	int64_t next = k->leo;
	int32_t ep = kepoch_latest(k->epochs);
	for (size_t i = 0; i < resp->n_batches; i++) {
		const struct krepl_batch *b = &resp->batches[i];
		if (b->base_offset != next || b->last_offset < b->base_offset || b->epoch < ep ||
		    b->epoch > k->leader_epoch)
			return ERR_PROTO;
		next = b->last_offset + 1;
		ep = b->epoch;
	}
	if (resp->high_watermark < 0)
		return ERR_PROTO;
	for (size_t i = 0; i < resp->n_batches; i++) {
		const struct krepl_batch *b = &resp->batches[i];
		if (b->epoch != kepoch_latest(k->epochs)) {
			KREPL_CHECK(k, kepoch_assign(k->epochs, b->epoch, b->base_offset) == 0);
			krepl_act(k, KREPL_ACT_EPOCHS);
		}
		struct krepl_action *a = krepl_act(k, KREPL_ACT_APPEND);
		a->offset = b->base_offset;
		a->last_offset = b->last_offset;
		a->epoch = b->epoch;
		k->leo = b->last_offset + 1;
	}
	/* Kafka: the follower's HW is the leader's, as far as its own log reaches */
	int64_t hw = resp->high_watermark < k->leo ? resp->high_watermark : k->leo;
	if (hw < k->log_start)
		hw = k->log_start;
	krepl_set_hw(k, hw);
	return 0;
}

/* ---- outputs and state ------------------------------------------------------------------ */

const struct krepl_action *krepl_actions(const struct krepl *k, size_t *n)
{
	*n = k->n_acts;
	return k->acts;
}

void krepl_actions_clear(struct krepl *k)
{
	k->n_acts = 0;
}

enum krepl_role krepl_role(const struct krepl *k) { return k->role; }
int32_t krepl_id(const struct krepl *k) { return k->id; }
int32_t krepl_leader(const struct krepl *k) { return k->leader; }
int32_t krepl_leader_epoch(const struct krepl *k) { return k->leader_epoch; }
int64_t krepl_log_end(const struct krepl *k) { return k->leo; }
int64_t krepl_high_watermark(const struct krepl *k) { return k->hw; }
bool krepl_isr_pending(const struct krepl *k) { return k->isr_inflight; }
const struct kepoch *krepl_epochs(const struct krepl *k) { return k->epochs; }
size_t krepl_waiting(const struct krepl *k) { return k->n_waits; }

const int32_t *krepl_isr(const struct krepl *k, uint32_t *n, int32_t *zk_version)
{
	*n = k->n_isr;
	if (zk_version)
		*zk_version = k->zk_version;
	return k->isr;
}

bool krepl_peer(const struct krepl *k, int32_t id, int64_t *leo, int64_t *last_caught_up)
{
	if (k->role != KREPL_LEADER)
		return false;
	for (uint32_t i = 0; i < k->n_peers; i++) {
		if (k->peers[i].id == id) {
			*leo = k->peers[i].leo;
			*last_caught_up = k->peers[i].last_caught_up;
			return true;
		}
	}
	return false;
}

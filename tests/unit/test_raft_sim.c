/*
 * Deterministic simulator for coord/raft: N in-process servers, simulated ticks, a network that
 * drops, delays, duplicates and reorders messages and is partitioned and healed, disks whose
 * writes complete after a random delay (a crash keeps the hard state, the snapshot and the
 * durable prefix of the log, and loses the writes still on their way), crashes and restarts,
 * snapshots with compaction, observers, and membership changes 3 -> 5 -> 3.
 *
 * Checked after every step (every message, tick, disk completion, proposal):
 * - at most one leader per term (every (term, leader) ever seen is recorded);
 * - every server applies exactly the globally committed sequence: the first server to apply an
 *   index fixes (term, chain hash) for it and every later apply or snapshot install must agree;
 * - a server's commit index never goes back while it runs, and the entry at it is durable (disk
 *   log or snapshot) on a majority of the voters of the configuration in force at that index, or
 *   of the configuration the leader that committed it had in force (recorded at the step its
 *   commit index moved): when a voter is added, Raft (thesis §4.1) commits the entries before the
 *   configuration entry with a majority of the new configuration, which need not be a majority
 *   of the old one;
 * - a new leader's log holds every entry known to be committed in an earlier term;
 * and liveness: after the chaos phase everything is healed and restarted, and within a bound a
 * leader must commit a new entry that every server of its configuration applies.
 *
 * RAFT_SIM_SEEDS=n sets the number of seeds per scenario; RAFT_SIM_SEED=n replays one seed with
 * a trace on stdout.
 */
#include "raft.h"

#include "err.h"

#include "check_main.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_MAXN 8
#define SIM_ELECTION 10
#define SIM_HEARTBEAT 2
#define SIM_CHAOS_TICKS 300
#define SIM_LIVE_TICKS 400

enum sim_scenario {
	SIM_THREE,     /* 3 voters */
	SIM_FIVE,      /* 5 voters */
	SIM_OBSERVERS, /* 3 or 5 voters + 1..2 observers */
	SIM_RECONFIG,  /* 3 voters -> 5 -> 3 (removing two of the first three) */
	SIM_SCENARIOS
};

static const char *const sim_scenario_names[SIM_SCENARIOS] = {
	"three", "five", "observers", "reconfig",
};

struct sim_write {
	uint64_t seq, trunc, due;
	struct raft_entry *e;
	size_t n;
};

struct sim_disk {
	uint64_t term, vote;
	struct raft_snapshot_meta snap;
	uint64_t snap_hash;
	struct raft_entry *log; /* contiguous, all above snap.index */
	size_t n, cap;
	struct sim_write *q;	/* writes on their way, completed in order */
	size_t nq, capq;
};

struct sim_node {
	uint64_t id;
	bool up;
	struct raft *r;
	struct sim_disk disk;
	uint64_t applied, hash, commit_seen;
	uint64_t checked_commit, checked_gen; /* the durability check last passed for these */
	int group; /* partition side */
	unsigned truncations, snap_installs, restarts;
};

struct sim_pkt {
	struct raft_msg m;
	uint64_t due;
};

struct sim_gent {
	uint64_t term, hash, seen_term;
	uint32_t wit; /* 1 + index in sim.wcfgs: the configuration the leader committing it had */
};

struct sim {
	uint64_t seed, rng;
	enum sim_scenario scen;
	uint64_t now;
	bool trace;
	int n;
	struct sim_node nodes[SIM_MAXN];
	struct raft_config initial;
	struct sim_pkt *net;
	size_t nnet, capnet;
	/* what is known to be committed, by index */
	struct sim_gent *g;
	size_t gcap;
	uint64_t gmax;
	struct {
		uint64_t index;
		struct raft_config cfg;
	} gcfg[64];
	size_t ngcfg;
	struct raft_config *wcfgs;
	size_t nwcfgs;
	uint64_t *leaders; /* by term */
	size_t nleaders;
	/* faults */
	bool chaos, clients, snapshots;
	unsigned drop, dup;	    /* per mille */
	unsigned maxdelay, maxdisk; /* ticks */
	unsigned crash, partition;  /* per mille per tick */
	uint64_t next_value;
	struct raft_config plan[8];
	int nplan;
	char fail[512];
	uint64_t commits;
	uint64_t disk_gen; /* bumped at every change of any disk: the durability check depends on it */
	uint64_t probe_index[64]; /* where liveness probe k was committed, 0: not yet */
};

/* Check's ck_assert writes a mark per call: too slow for the simulator's hot paths, which use
 * this (the seed reaches stderr through sim_on_crash). */
#define SIM_NEED(cond)                                                                          \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);             \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* The seed of the run in progress, for the crash handler only (a test harness global). */
static volatile uint64_t sim_current_seed;

static void sim_on_crash(int sig)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf),
			 "raft sim: signal %d in seed %llu; replay: RAFT_SIM_SEED=%llu build/tests/unit/test_raft_sim\n",
			 sig, (unsigned long long)sim_current_seed, (unsigned long long)sim_current_seed);
	if (write(2, buf, (size_t)n) < 0) {
		/* nothing more to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static uint64_t sim_rand(struct sim *s)
{
	/* xorshift64* */
	uint64_t x = s->rng;
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
	int k = snprintf(s->fail, sizeof(s->fail), "seed %llu (%s) tick %llu: ", (unsigned long long)s->seed,
			 sim_scenario_names[s->scen], (unsigned long long)s->now);
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
	printf("t=%llu ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void sim_raft_log(void *arg, uint64_t id, const char *line)
{
	struct sim *s = arg;
	sim_tracef(s, "n%llu: %s", (unsigned long long)id, line);
	if (strncmp(line, "invariant broken", 16) == 0)
		fprintf(stderr, "raft sim: seed %llu: n%llu: %s\n", (unsigned long long)s->seed,
			(unsigned long long)id, line);
}

static struct sim_node *sim_node(struct sim *s, uint64_t id)
{
	return id >= 1 && id <= (uint64_t)s->n ? &s->nodes[id - 1] : NULL;
}

static uint64_t sim_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static uint64_t sim_entry_hash(uint64_t h, const struct raft_entry *e)
{
	h = sim_mix(h, e->index);
	h = sim_mix(h, e->term);
	h = sim_mix(h, (uint64_t)e->type);
	for (size_t i = 0; i < e->len; i++)
		h = sim_mix(h, e->data[i]);
	return h;
}

static uint64_t sim_value_of(const struct raft_entry *e)
{
	uint64_t v = 0;
	if (e->type != RAFT_ENTRY_NORMAL || e->len != 8)
		return 0;
	memcpy(&v, e->data, 8);
	return v;
}

#define SIM_PROBE_BIT (1ULL << 62)

/* ---- the globally committed log ---------------------------------------------------------- */

static struct sim_gent *sim_g(struct sim *s, uint64_t index)
{
	if (index >= s->gcap) {
		size_t ncap = s->gcap ? s->gcap : 256;
		while (ncap <= index)
			ncap *= 2;
		s->g = realloc(s->g, ncap * sizeof(*s->g));
		SIM_NEED(s->g != NULL);
		memset(s->g + s->gcap, 0, (ncap - s->gcap) * sizeof(*s->g));
		s->gcap = ncap;
	}
	return &s->g[index];
}

static const struct raft_config *sim_gcfg_at(const struct sim *s, uint64_t index)
{
	for (size_t i = s->ngcfg; i-- > 0;)
		if (s->gcfg[i].index <= index)
			return &s->gcfg[i].cfg;
	return &s->initial;
}

static void sim_apply(struct sim *s, struct sim_node *nd, const struct raft_entry *e)
{
	if (e->index != nd->applied + 1) {
		sim_failf(s, "n%llu applies %llu after %llu", (unsigned long long)nd->id,
			  (unsigned long long)e->index, (unsigned long long)nd->applied);
		return;
	}
	nd->hash = sim_entry_hash(nd->hash, e);
	nd->applied = e->index;
	struct sim_gent *g = sim_g(s, e->index);
	if (g->term == 0) {
		g->term = e->term;
		g->hash = nd->hash;
		g->seen_term = raft_term(nd->r);
		if (e->index != s->gmax + 1)
			sim_failf(s, "committed index %llu first applied with gmax %llu", (unsigned long long)e->index,
				  (unsigned long long)s->gmax);
		s->gmax = e->index;
		s->commits++;
		if (e->type == RAFT_ENTRY_CONFIG) {
			SIM_NEED(s->ngcfg < 64);
			s->gcfg[s->ngcfg].index = e->index;
			SIM_NEED(raft_config_decode(&s->gcfg[s->ngcfg].cfg, e->data, e->len) == 0);
			s->ngcfg++;
		}
		sim_tracef(s, "n%llu: committed %llu term %llu type %d value %llx", (unsigned long long)nd->id,
			   (unsigned long long)e->index, (unsigned long long)e->term, (int)e->type,
			   (unsigned long long)sim_value_of(e));
	} else if (g->term != e->term || g->hash != nd->hash) {
		sim_failf(s, "n%llu applied %llu term %llu, but term %llu was committed there (or the prefix differs)",
			  (unsigned long long)nd->id, (unsigned long long)e->index, (unsigned long long)e->term,
			  (unsigned long long)g->term);
	}
	uint64_t v = sim_value_of(e);
	if ((v & SIM_PROBE_BIT) && !s->probe_index[v & 63])
		s->probe_index[v & 63] = e->index;
}

/* ---- disk ------------------------------------------------------------------------------- */

static void sim_entries_free(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
	free(e);
}

static void sim_disk_drop_queue(struct sim_disk *d)
{
	for (size_t i = 0; i < d->nq; i++)
		sim_entries_free(d->q[i].e, d->q[i].n);
	d->nq = 0;
}

static void sim_disk_free(struct sim_disk *d)
{
	sim_disk_drop_queue(d);
	free(d->q);
	for (size_t i = 0; i < d->n; i++)
		free(d->log[i].data);
	free(d->log);
	memset(d, 0, sizeof(*d));
}

static uint64_t sim_disk_last(const struct sim_disk *d)
{
	return d->n ? d->log[d->n - 1].index : d->snap.index;
}

/* Drops disk entries >= from. */
static void sim_disk_truncate(struct sim_disk *d, uint64_t from)
{
	while (d->n && d->log[d->n - 1].index >= from)
		free(d->log[--d->n].data);
}

/* Drops disk entries <= upto (a snapshot covers them). */
static void sim_disk_drop_prefix(struct sim_disk *d, uint64_t upto)
{
	size_t k = 0;
	while (k < d->n && d->log[k].index <= upto)
		free(d->log[k++].data);
	if (k && d->n > k)
		memmove(d->log, d->log + k, (d->n - k) * sizeof(*d->log));
	d->n -= k;
}

static void sim_disk_complete(struct sim *s, struct sim_node *nd, struct sim_write *w)
{
	struct sim_disk *d = &nd->disk;
	s->disk_gen++;
	if (w->trunc)
		sim_disk_truncate(d, w->trunc);
	for (size_t i = 0; i < w->n; i++) {
		struct raft_entry *e = &w->e[i];
		if (e->index <= d->snap.index) {
			free(e->data);
			continue;
		}
		if (e->index != sim_disk_last(d) + 1) {
			sim_failf(s, "n%llu disk: entry %llu written after %llu", (unsigned long long)nd->id,
				  (unsigned long long)e->index, (unsigned long long)sim_disk_last(d));
			free(e->data);
			continue;
		}
		if (d->n == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 64;
			d->log = realloc(d->log, d->cap * sizeof(*d->log));
			SIM_NEED(d->log != NULL);
		}
		d->log[d->n++] = *e; /* takes the data */
	}
	free(w->e);
	w->e = NULL;
	w->n = 0;
}

static bool sim_disk_has(const struct sim *s, const struct sim_node *nd, uint64_t index)
{
	const struct sim_disk *d = &nd->disk;
	if (d->snap.index >= index)
		return true;
	if (!d->n || index < d->log[0].index || index > d->log[d->n - 1].index)
		return false;
	return d->log[index - d->log[0].index].term == s->g[index].term;
}

/* ---- network ---------------------------------------------------------------------------- */

static void sim_trace_msg(struct sim *s, const char *what, const struct raft_msg *m)
{
	if (!s->trace)
		return;
	sim_tracef(s, "%s %llu->%llu %s term=%llu li=%llu/%llu g=%d prev=%llu/%llu n=%zu c=%llu rej=%d idx=%llu dur=%llu hint=%llu/%llu snap=%llu",
		   what, (unsigned long long)m->from, (unsigned long long)m->to, raft_msg_type_name(m->type),
		   (unsigned long long)m->term, (unsigned long long)m->last_index, (unsigned long long)m->last_term,
		   m->granted, (unsigned long long)m->prev_index, (unsigned long long)m->prev_term, m->n_entries,
		   (unsigned long long)m->commit, m->reject, (unsigned long long)m->index,
		   (unsigned long long)m->durable, (unsigned long long)m->hint_index,
		   (unsigned long long)m->hint_term, (unsigned long long)m->snap.index);
}

static void sim_net_push(struct sim *s, struct raft_msg *m, uint64_t due)
{
	if (s->nnet == s->capnet) {
		s->capnet = s->capnet ? 2 * s->capnet : 256;
		s->net = realloc(s->net, s->capnet * sizeof(*s->net));
		SIM_NEED(s->net != NULL);
	}
	s->net[s->nnet].m = *m;
	s->net[s->nnet].due = due;
	s->nnet++;
}

/* Takes m (its allocations) into the network. */
static void sim_send(struct sim *s, struct sim_node *from, struct raft_msg *m)
{
	if (m->type == RAFT_MSG_SNAPSHOT_REQ) {
		if (from->disk.snap.index != m->snap.index) {
			sim_failf(s, "n%llu sends snapshot %llu but its disk has %llu", (unsigned long long)from->id,
				  (unsigned long long)m->snap.index, (unsigned long long)from->disk.snap.index);
			raft_msg_clear(m);
			return;
		}
		m->snap_data = malloc(8);
		SIM_NEED(m->snap_data != NULL);
		memcpy(m->snap_data, &from->disk.snap_hash, 8);
		m->snap_len = 8;
	}
	if (s->chaos && sim_chance(s, s->drop)) {
		sim_trace_msg(s, "drop", m);
		raft_msg_clear(m);
		return;
	}
	if (s->chaos && sim_chance(s, s->dup)) {
		struct raft_msg copy;
		SIM_NEED(raft_msg_copy(&copy, m) == 0);
		sim_net_push(s, &copy, s->now + 1 + sim_below(s, s->maxdelay + 2));
	}
	sim_net_push(s, m, s->now + 1 + sim_below(s, s->maxdelay));
	memset(m, 0, sizeof(*m));
}

/* ---- driving one server ----------------------------------------------------------------- */

static void sim_check(struct sim *s);

static void sim_drain(struct sim *s, struct sim_node *nd)
{
	struct raft_ready rd;
	while (!s->fail[0] && nd->up && raft_ready_take(nd->r, &rd)) {
		struct sim_disk *d = &nd->disk;
		if (rd.has_snapshot) {
			/* earlier writes are superseded; the snapshot replaces the log */
			sim_disk_drop_queue(d);
			sim_disk_truncate(d, 0);
			s->disk_gen++;
			d->snap = rd.snapshot;
			if (rd.snap_len != 8) {
				sim_failf(s, "n%llu: snapshot data of %zu bytes", (unsigned long long)nd->id, rd.snap_len);
			} else {
				memcpy(&d->snap_hash, rd.snap_data, 8);
			}
			nd->hash = d->snap_hash;
			nd->applied = rd.snapshot.index;
			nd->snap_installs++;
			struct sim_gent *g = sim_g(s, rd.snapshot.index);
			if (rd.snapshot.index > s->gmax || g->term != rd.snapshot.term || g->hash != nd->hash)
				sim_failf(s, "n%llu installed snapshot %llu/%llu that differs from the committed log",
					  (unsigned long long)nd->id, (unsigned long long)rd.snapshot.index,
					  (unsigned long long)rd.snapshot.term);
			sim_tracef(s, "n%llu: installed snapshot %llu", (unsigned long long)nd->id,
				   (unsigned long long)rd.snapshot.index);
		}
		if (rd.hs_changed) {
			if (rd.term < d->term)
				sim_failf(s, "n%llu: term goes back %llu -> %llu", (unsigned long long)nd->id,
					  (unsigned long long)d->term, (unsigned long long)rd.term);
			d->term = rd.term;
			d->vote = rd.vote;
		}
		if (rd.persist_seq) {
			if (d->nq == d->capq) {
				d->capq = d->capq ? 2 * d->capq : 16;
				d->q = realloc(d->q, d->capq * sizeof(*d->q));
				SIM_NEED(d->q != NULL);
			}
			uint64_t due = s->now + sim_below(s, s->maxdisk + 1);
			if (d->nq && d->q[d->nq - 1].due > due)
				due = d->q[d->nq - 1].due;
			d->q[d->nq++] = (struct sim_write){ .seq = rd.persist_seq, .trunc = rd.truncate_from,
							    .due = due, .e = rd.entries, .n = rd.n_entries };
			if (rd.truncate_from)
				nd->truncations++;
			rd.entries = NULL;
			rd.n_entries = 0;
		}
		for (size_t i = 0; i < rd.n_msgs; i++)
			sim_send(s, nd, &rd.msgs[i]);
		for (size_t i = 0; i < rd.n_committed && !s->fail[0]; i++)
			sim_apply(s, nd, &rd.committed[i]);
		raft_ready_clear(&rd);
	}
	sim_check(s);
}

static void sim_start(struct sim *s, struct sim_node *nd)
{
	struct sim_disk *d = &nd->disk;
	struct raft_opts o = {
		.id = nd->id,
		.config = s->initial,
		.election_ticks = SIM_ELECTION,
		.heartbeat_ticks = SIM_HEARTBEAT,
		.seed = s->seed * 31 + nd->restarts,
		.max_batch = 8,
		.term = d->term,
		.vote = d->vote,
		.snapshot = &d->snap,
		.entries = d->log,
		.n_entries = d->n,
		.log = sim_raft_log,
		.log_arg = s,
	};
	char err[128] = "";
	nd->r = raft_new(&o, err, sizeof(err));
	if (!nd->r)
		fprintf(stderr, "seed %llu: raft_new: %s\n", (unsigned long long)s->seed, err);
	SIM_NEED(nd->r != NULL);
	nd->up = true;
	nd->applied = d->snap.index;
	nd->hash = d->snap_hash;
	nd->commit_seen = raft_commit_index(nd->r);
	sim_tracef(s, "n%llu: start (term %llu, snapshot %llu, log to %llu)", (unsigned long long)nd->id,
		   (unsigned long long)d->term, (unsigned long long)d->snap.index,
		   (unsigned long long)sim_disk_last(d));
}

static void sim_crash(struct sim *s, struct sim_node *nd)
{
	if (!nd->up)
		return;
	sim_tracef(s, "n%llu: crash (disk log to %llu, %zu writes lost)", (unsigned long long)nd->id,
		   (unsigned long long)sim_disk_last(&nd->disk), nd->disk.nq);
	raft_free(nd->r);
	nd->r = NULL;
	nd->up = false;
	sim_disk_drop_queue(&nd->disk);
	/* the transport of the others notices a dead leader's links go down (most of the time) */
	for (int k = 0; k < s->n; k++) {
		struct sim_node *o = &s->nodes[k];
		if (o->up && raft_leader(o->r) == nd->id && sim_chance(s, 800)) {
			raft_leader_unreachable(o->r);
			sim_drain(s, o);
		}
	}
}

static void sim_restart(struct sim *s, struct sim_node *nd)
{
	if (nd->up)
		return;
	nd->restarts++;
	sim_start(s, nd);
	sim_drain(s, nd);
}

static bool sim_connected(const struct sim *s, uint64_t a, uint64_t b)
{
	return s->nodes[a - 1].group == s->nodes[b - 1].group;
}

/* ---- invariants ------------------------------------------------------------------------- */

static void sim_check_leader_log(struct sim *s, struct sim_node *nd, uint64_t term)
{
	uint64_t base = raft_snapshot_index(nd->r);
	for (uint64_t i = 1; i <= s->gmax; i++) {
		if (s->g[i].seen_term >= term || i <= base)
			continue;
		if (raft_last_index(nd->r) < i || (raft_term_at(nd->r, i) != s->g[i].term && raft_term_at(nd->r, i))) {
			sim_failf(s, "n%llu leads term %llu without committed entry %llu (term %llu)",
				  (unsigned long long)nd->id, (unsigned long long)term, (unsigned long long)i,
				  (unsigned long long)s->g[i].term);
			return;
		}
	}
}

static bool sim_cfg_equal(const struct raft_config *a, const struct raft_config *b);

static void sim_durable_on(const struct sim *s, const struct raft_config *cfg, uint64_t c, uint32_t *have,
			   uint32_t *voters)
{
	*have = *voters = 0;
	for (uint32_t i = 0; i < cfg->n; i++) {
		if (!cfg->servers[i].voter)
			continue;
		(*voters)++;
		const struct sim_node *v = cfg->servers[i].id <= (uint64_t)s->n ? &s->nodes[cfg->servers[i].id - 1] : NULL;
		if (v && sim_disk_has(s, v, c))
			(*have)++;
	}
}

static void sim_check(struct sim *s)
{
	for (int k = 0; k < s->n && !s->fail[0]; k++) {
		struct sim_node *nd = &s->nodes[k];
		if (!nd->up)
			continue;
		struct raft *r = nd->r;
		if (raft_role(r) == RAFT_LEADER) {
			uint64_t t = raft_term(r);
			if (t >= s->nleaders) {
				size_t n = s->nleaders ? s->nleaders : 64;
				while (n <= t)
					n *= 2;
				s->leaders = realloc(s->leaders, n * sizeof(*s->leaders));
				SIM_NEED(s->leaders != NULL);
				memset(s->leaders + s->nleaders, 0, (n - s->nleaders) * sizeof(*s->leaders));
				s->nleaders = n;
			}
			if (s->leaders[t] == 0) {
				s->leaders[t] = nd->id;
				sim_check_leader_log(s, nd, t);
			} else if (s->leaders[t] != nd->id) {
				sim_failf(s, "two leaders in term %llu: n%llu and n%llu", (unsigned long long)t,
					  (unsigned long long)s->leaders[t], (unsigned long long)nd->id);
				return;
			}
		}
		uint64_t c = raft_commit_index(r), prev_commit = nd->commit_seen;
		if (c < nd->commit_seen) {
			sim_failf(s, "n%llu commit index goes back %llu -> %llu", (unsigned long long)nd->id,
				  (unsigned long long)nd->commit_seen, (unsigned long long)c);
			return;
		}
		nd->commit_seen = c;
		if (c != nd->applied) {
			sim_failf(s, "n%llu commit %llu but applied %llu", (unsigned long long)nd->id,
				  (unsigned long long)c, (unsigned long long)nd->applied);
			return;
		}
		if (c == 0)
			continue;
		if (c > s->gmax) {
			sim_failf(s, "n%llu commit %llu beyond the committed log %llu", (unsigned long long)nd->id,
				  (unsigned long long)c, (unsigned long long)s->gmax);
			return;
		}
		if (raft_role(r) == RAFT_LEADER && c > prev_commit) {
			/* the leader has just committed (prev_commit, c] with its configuration */
			const struct raft_config *now = raft_config(r, NULL);
			if (!s->nwcfgs || !sim_cfg_equal(&s->wcfgs[s->nwcfgs - 1], now)) {
				s->wcfgs = realloc(s->wcfgs, (s->nwcfgs + 1) * sizeof(*s->wcfgs));
				SIM_NEED(s->wcfgs != NULL);
				s->wcfgs[s->nwcfgs++] = *now;
			}
			for (uint64_t i = prev_commit + 1; i <= c; i++)
				if (!s->g[i].wit)
					s->g[i].wit = (uint32_t)s->nwcfgs;
		}
		if (c == nd->checked_commit && s->disk_gen == nd->checked_gen)
			continue; /* nothing the check depends on changed since it passed */
		uint32_t have, voters, whave = 0, wvoters = 0;
		sim_durable_on(s, sim_gcfg_at(s, c), c, &have, &voters);
		if (s->g[c].wit)
			sim_durable_on(s, &s->wcfgs[s->g[c].wit - 1], c, &whave, &wvoters);
		if (have < voters / 2 + 1 && (!wvoters || whave < wvoters / 2 + 1)) {
			sim_failf(s, "n%llu commit %llu is durable on only %u of %u voters (%u of %u of the committing leader's configuration)",
				  (unsigned long long)nd->id, (unsigned long long)c, have, voters, whave, wvoters);
			return;
		}
		nd->checked_commit = c;
		nd->checked_gen = s->disk_gen;
	}
}

/* ---- one tick --------------------------------------------------------------------------- */

static void sim_deliver(struct sim *s)
{
	/* take the due packets out, then deliver them in a random order */
	size_t ndue = 0;
	struct sim_pkt *due = malloc((s->nnet + 1) * sizeof(*due));
	SIM_NEED(due != NULL);
	for (size_t i = 0; i < s->nnet;) {
		if (s->net[i].due <= s->now) {
			due[ndue++] = s->net[i];
			s->net[i] = s->net[--s->nnet];
		} else {
			i++;
		}
	}
	for (size_t i = ndue; i > 1; i--) {
		size_t j = sim_below(s, (unsigned)i);
		struct sim_pkt t = due[i - 1];
		due[i - 1] = due[j];
		due[j] = t;
	}
	for (size_t i = 0; i < ndue; i++) {
		struct raft_msg *m = &due[i].m;
		struct sim_node *to = sim_node(s, m->to);
		if (!s->fail[0] && to && to->up && sim_connected(s, m->from, m->to)) {
			sim_trace_msg(s, "recv", m);
			int rc = raft_step(to->r, m);
			if (rc)
				sim_failf(s, "n%llu refused a %s from n%llu: %s", (unsigned long long)to->id,
					  raft_msg_type_name(m->type), (unsigned long long)m->from, err_str(rc));
			sim_drain(s, to);
		}
		raft_msg_clear(m);
	}
	free(due);
}

static void sim_disks(struct sim *s)
{
	for (int k = 0; k < s->n && !s->fail[0]; k++) {
		struct sim_node *nd = &s->nodes[k];
		struct sim_disk *d = &nd->disk;
		while (nd->up && d->nq && d->q[0].due <= s->now && !s->fail[0]) {
			struct sim_write w = d->q[0];
			memmove(d->q, d->q + 1, (d->nq - 1) * sizeof(*d->q));
			d->nq--;
			sim_disk_complete(s, nd, &w);
			raft_persisted(nd->r, w.seq);
			sim_drain(s, nd);
		}
	}
}

static void sim_snapshots(struct sim *s)
{
	for (int k = 0; k < s->n && !s->fail[0]; k++) {
		struct sim_node *nd = &s->nodes[k];
		if (!nd->up || nd->applied < nd->disk.snap.index + 16 || !sim_chance(s, 100))
			continue;
		uint64_t at = nd->applied;
		SIM_NEED(raft_snapshot_done(nd->r, at) == 0);
		struct sim_disk *d = &nd->disk;
		d->snap = *raft_snapshot(nd->r);
		d->snap_hash = nd->hash;
		/* a disk entry at the snapshot index with another term means the disk tail is stale
		 * (its truncation is still on its way, and a crash would lose it): it goes */
		if (d->n && d->log[0].index <= at && at <= sim_disk_last(d) &&
		    d->log[at - d->log[0].index].term != d->snap.term)
			sim_disk_truncate(d, 0);
		sim_disk_drop_prefix(d, at);
		s->disk_gen++;
		uint64_t keep = sim_below(s, 8);
		uint64_t upto = at > keep ? at - keep : 0;
		SIM_NEED(raft_compact(nd->r, upto) == 0);
		sim_tracef(s, "n%llu: snapshot at %llu, compacted to %llu", (unsigned long long)nd->id,
			   (unsigned long long)at, (unsigned long long)upto);
		sim_drain(s, nd);
	}
}

static struct sim_node *sim_leader(struct sim *s)
{
	struct sim_node *best = NULL;
	for (int k = 0; k < s->n; k++) {
		struct sim_node *nd = &s->nodes[k];
		if (nd->up && raft_role(nd->r) == RAFT_LEADER && (!best || raft_term(nd->r) > raft_term(best->r)))
			best = nd;
	}
	return best;
}

static void sim_propose(struct sim *s, struct sim_node *nd, uint64_t value)
{
	uint64_t index = 0;
	int rc = raft_propose(nd->r, &value, sizeof(value), &index);
	if (rc == 0)
		sim_tracef(s, "n%llu: proposed %llx at %llu", (unsigned long long)nd->id, (unsigned long long)value,
			   (unsigned long long)index);
	else if (rc != ERR_NOTLEADER)
		sim_failf(s, "propose: %s", err_str(rc));
	sim_drain(s, nd);
}

static bool sim_cfg_equal(const struct raft_config *a, const struct raft_config *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct raft_server *x = &a->servers[i];
		if (!raft_config_has(b, x->id) || raft_config_is_voter(b, x->id) != x->voter)
			return false;
	}
	return true;
}

static void sim_reconfig(struct sim *s)
{
	struct sim_node *l = sim_leader(s);
	if (!l || !sim_chance(s, 50))
		return;
	const struct raft_config *cur = raft_config(l->r, NULL);
	for (int k = 0; k + 1 < s->nplan; k++) {
		if (!sim_cfg_equal(cur, &s->plan[k]))
			continue;
		uint64_t index = 0;
		int rc = raft_propose_config(l->r, &s->plan[k + 1], &index);
		if (rc == 0)
			sim_tracef(s, "n%llu: proposed configuration %d at %llu", (unsigned long long)l->id, k + 1,
				   (unsigned long long)index);
		else if (rc != ERR_BUSY)
			sim_failf(s, "propose_config %d: %s", k + 1, err_str(rc));
		sim_drain(s, l);
		return;
	}
}

static void sim_chaos(struct sim *s)
{
	for (int k = 0; k < s->n; k++) {
		struct sim_node *nd = &s->nodes[k];
		if (nd->up && sim_chance(s, s->crash))
			sim_crash(s, nd);
		else if (!nd->up && sim_chance(s, 40))
			sim_restart(s, nd);
		else if (nd->up && sim_chance(s, 5)) { /* a false alarm: the leader is fine */
			raft_leader_unreachable(nd->r);
			sim_drain(s, nd);
		}
	}
	if (sim_chance(s, s->partition)) {
		if (sim_chance(s, 500)) {
			int lone = (int)sim_below(s, (unsigned)s->n);
			for (int k = 0; k < s->n; k++)
				s->nodes[k].group = k == lone;
		} else {
			for (int k = 0; k < s->n; k++)
				s->nodes[k].group = (int)sim_below(s, 2);
		}
		sim_tracef(s, "partition");
	} else if (sim_chance(s, 30)) {
		for (int k = 0; k < s->n; k++)
			s->nodes[k].group = 0;
		sim_tracef(s, "heal");
	}
}

static void sim_step_tick(struct sim *s)
{
	s->now++;
	if (s->chaos)
		sim_chaos(s);
	sim_deliver(s);
	sim_disks(s);
	for (int k = 0; k < s->n && !s->fail[0]; k++) {
		struct sim_node *nd = &s->nodes[k];
		if (!nd->up)
			continue;
		raft_tick(nd->r);
		sim_drain(s, nd);
	}
	if (s->clients && !s->fail[0]) {
		for (int k = 0; k < s->n && !s->fail[0]; k++) {
			struct sim_node *nd = &s->nodes[k];
			if (nd->up && raft_role(nd->r) == RAFT_LEADER && sim_chance(s, 400))
				sim_propose(s, nd, ++s->next_value);
		}
	}
	if (s->snapshots && !s->fail[0])
		sim_snapshots(s);
	if (s->nplan && s->chaos && !s->fail[0])
		sim_reconfig(s);
}

/* ---- set-up ----------------------------------------------------------------------------- */

static void sim_cfg_add(struct raft_config *c, uint64_t id, bool voter)
{
	c->servers[c->n].id = id;
	c->servers[c->n].voter = voter;
	c->n++;
}

static void sim_init(struct sim *s, uint64_t seed, enum sim_scenario scen, bool trace)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->scen = scen;
	s->trace = trace;
	s->rng = sim_mix(seed, 0x5eed) | 1;
	s->clients = true;
	s->snapshots = true;
	switch (scen) {
	case SIM_THREE:
		s->n = 3;
		break;
	case SIM_FIVE:
		s->n = 5;
		break;
	case SIM_OBSERVERS:
		s->n = (sim_chance(s, 500) ? 3 : 5) + 1 + (int)sim_below(s, 2);
		break;
	case SIM_RECONFIG:
	case SIM_SCENARIOS:
		s->n = 5;
		break;
	}
	int voters = scen == SIM_OBSERVERS ? (s->n >= 6 ? 5 : 3) : scen == SIM_RECONFIG ? 3 : s->n;
	for (int k = 0; k < s->n; k++) {
		s->nodes[k].id = (uint64_t)k + 1;
		if (k < voters || scen == SIM_OBSERVERS)
			sim_cfg_add(&s->initial, (uint64_t)k + 1, k < voters);
	}
	if (scen == SIM_RECONFIG) {
		/* {1,2,3} +4 as observer, 4 votes, +5 as observer, 5 votes, -1, -2 */
		struct raft_config c = s->initial;
		s->plan[s->nplan++] = c;
		sim_cfg_add(&c, 4, false);
		s->plan[s->nplan++] = c;
		c.servers[3].voter = true;
		s->plan[s->nplan++] = c;
		sim_cfg_add(&c, 5, false);
		s->plan[s->nplan++] = c;
		c.servers[4].voter = true;
		s->plan[s->nplan++] = c;
		memmove(&c.servers[0], &c.servers[1], 4 * sizeof(c.servers[0]));
		c.n = 4;
		s->plan[s->nplan++] = c;
		memmove(&c.servers[0], &c.servers[1], 3 * sizeof(c.servers[0]));
		c.n = 3;
		s->plan[s->nplan++] = c;
	}
	s->drop = sim_below(s, 200);
	s->dup = sim_below(s, 50);
	s->maxdelay = 1 + sim_below(s, 3);
	s->maxdisk = sim_below(s, 5);
	s->crash = scen == SIM_RECONFIG ? 3 : 2 + sim_below(s, 8);
	s->partition = 2 + sim_below(s, 15);
	for (int k = 0; k < s->n; k++)
		sim_start(s, &s->nodes[k]);
}

static void sim_destroy(struct sim *s)
{
	for (int k = 0; k < s->n; k++) {
		raft_free(s->nodes[k].r);
		sim_disk_free(&s->nodes[k].disk);
	}
	for (size_t i = 0; i < s->nnet; i++)
		raft_msg_clear(&s->net[i].m);
	free(s->net);
	free(s->g);
	free(s->wcfgs);
	free(s->leaders);
}

static void sim_heal_all(struct sim *s)
{
	for (int k = 0; k < s->n; k++)
		s->nodes[k].group = 0;
	for (int k = 0; k < s->n && !s->fail[0]; k++)
		sim_restart(s, &s->nodes[k]);
}

/* Liveness: with everything healed, a leader commits a new entry that every server of its
 * configuration applies, within SIM_LIVE_TICKS. */
static void sim_liveness(struct sim *s)
{
	s->chaos = false;
	s->clients = false;
	sim_tracef(s, "heal everything");
	sim_heal_all(s);
	int probe = -1;
	struct sim_node *pl = NULL;
	uint64_t pterm = 0;
	for (unsigned t = 0; t < SIM_LIVE_TICKS && !s->fail[0]; t++) {
		sim_step_tick(s);
		struct sim_node *l = sim_leader(s);
		if (!l)
			continue;
		if (pl != l || raft_term(l->r) != pterm || raft_role(l->r) != RAFT_LEADER) {
			if (++probe >= 63) {
				sim_failf(s, "no stable leader after healing (63 leader changes)");
				return;
			}
			pl = l;
			pterm = raft_term(l->r);
			sim_propose(s, l, SIM_PROBE_BIT | (uint64_t)probe);
		}
		/* applied sequences are checked against the committed log, so applied >= the
		 * probe's index means the probe was applied (directly or in a snapshot) */
		const struct raft_config *cfg = raft_config(l->r, NULL);
		uint64_t at = s->probe_index[probe];
		bool all = at != 0;
		for (uint32_t i = 0; i < cfg->n && all; i++) {
			struct sim_node *nd = sim_node(s, cfg->servers[i].id);
			all = nd && nd->up && nd->applied >= at;
		}
		if (all)
			return;
	}
	if (!s->fail[0]) {
		struct sim_node *l = sim_leader(s);
		sim_failf(s, "liveness: no entry committed on every server within %d ticks of healing (leader %llu)",
			  SIM_LIVE_TICKS, l ? (unsigned long long)l->id : 0ULL);
	}
}

/* Totals over a scenario's seeds, printed with RAFT_SIM_STATS set (to see what the seeds cover). */
struct sim_stats {
	uint64_t seeds, commits, terms, snap_installs, truncations, restarts, plan_done;
};

static void sim_stats_add(struct sim_stats *st, const struct sim *s)
{
	st->seeds++;
	st->commits += s->commits;
	for (size_t t = 0; t < s->nleaders; t++)
		st->terms += s->leaders[t] != 0;
	for (int k = 0; k < s->n; k++) {
		st->snap_installs += s->nodes[k].snap_installs;
		st->truncations += s->nodes[k].truncations;
		st->restarts += s->nodes[k].restarts;
	}
	if (s->nplan && s->ngcfg && sim_cfg_equal(&s->gcfg[s->ngcfg - 1].cfg, &s->plan[s->nplan - 1]))
		st->plan_done++;
}

static bool sim_run_seed(uint64_t seed, enum sim_scenario scen, bool trace, char *fail, size_t faillen,
			 struct sim_stats *st)
{
	struct sim s;
	sim_current_seed = seed;
	sim_init(&s, seed, scen, trace);
	s.chaos = true;
	for (unsigned t = 0; t < SIM_CHAOS_TICKS && !s.fail[0]; t++)
		sim_step_tick(&s);
	if (!s.fail[0])
		sim_liveness(&s);
	bool ok = !s.fail[0];
	if (!ok)
		snprintf(fail, faillen, "%s; replay: RAFT_SIM_SEED=%llu build/tests/unit/test_raft_sim", s.fail,
			 (unsigned long long)seed);
	if (trace)
		printf("seed %llu: %llu entries committed, %s\n", (unsigned long long)seed,
		       (unsigned long long)s.commits, ok ? "ok" : "FAILED");
	sim_stats_add(st, &s);
	sim_destroy(&s);
	return ok;
}

/* Seeds s with s % SIM_SCENARIOS == scen; RAFT_SIM_SEED picks one (in its own scenario). */
static void sim_run_scenario(enum sim_scenario scen)
{
	signal(SIGABRT, sim_on_crash);
	signal(SIGSEGV, sim_on_crash);
	char fail[800];
	const char *one = getenv("RAFT_SIM_SEED");
	if (one && *one) {
		uint64_t seed = strtoull(one, NULL, 10);
		if (seed % SIM_SCENARIOS != scen)
			return;
		struct sim_stats st = { 0 };
		bool ok = sim_run_seed(seed, scen, true, fail, sizeof(fail), &st);
		ck_assert_msg(ok, "%s", fail);
		return;
	}
	const char *n = getenv("RAFT_SIM_SEEDS");
	uint64_t seeds = n && *n ? strtoull(n, NULL, 10) : 500;
	struct sim_stats st = { 0 };
	for (uint64_t i = 0; i < seeds; i++) {
		uint64_t seed = i * SIM_SCENARIOS + scen;
		bool ok = sim_run_seed(seed, scen, false, fail, sizeof(fail), &st);
		ck_assert_msg(ok, "%s", fail);
	}
	if (getenv("RAFT_SIM_STATS"))
		printf("%-9s seeds %llu: committed %llu, terms with a leader %llu, snapshots installed %llu, "
		       "truncations %llu, restarts %llu, reconfig plan completed %llu\n",
		       sim_scenario_names[scen], (unsigned long long)st.seeds, (unsigned long long)st.commits,
		       (unsigned long long)st.terms, (unsigned long long)st.snap_installs,
		       (unsigned long long)st.truncations, (unsigned long long)st.restarts,
		       (unsigned long long)st.plan_done);
}

START_TEST(test_sim_three) { sim_run_scenario(SIM_THREE); }
END_TEST

START_TEST(test_sim_five) { sim_run_scenario(SIM_FIVE); }
END_TEST

START_TEST(test_sim_observers) { sim_run_scenario(SIM_OBSERVERS); }
END_TEST

START_TEST(test_sim_reconfig) { sim_run_scenario(SIM_RECONFIG); }
END_TEST

/* ---- directed tests: a quiet network, faults placed by hand ------------------------------ */

static void sim_quiet(struct sim *s, uint64_t seed, int voters)
{
	sim_init(s, seed, voters == 5 ? SIM_FIVE : SIM_THREE, getenv("RAFT_SIM_TRACE") != NULL);
	s->drop = s->dup = 0;
	s->maxdelay = 1;
	s->maxdisk = 1;
	s->chaos = false;
}

static void sim_ticks(struct sim *s, unsigned n)
{
	for (unsigned i = 0; i < n && !s->fail[0]; i++)
		sim_step_tick(s);
	ck_assert_msg(!s->fail[0], "%s", s->fail);
}

static void sim_isolate(struct sim *s, uint64_t id)
{
	for (int k = 0; k < s->n; k++)
		s->nodes[k].group = s->nodes[k].id == id;
}

static void sim_heal(struct sim *s)
{
	for (int k = 0; k < s->n; k++)
		s->nodes[k].group = 0;
}

static struct sim_node *sim_wait_leader(struct sim *s)
{
	for (int i = 0; i < 200 && !sim_leader(s); i++)
		sim_ticks(s, 1);
	struct sim_node *l = sim_leader(s);
	ck_assert_ptr_nonnull(l);
	return l;
}

START_TEST(test_prevote_no_disruption)
{
	struct sim s;
	sim_quiet(&s, 11, 3);
	s.clients = false;
	struct sim_node *l = sim_wait_leader(&s);
	sim_ticks(&s, 20);
	uint64_t term = raft_term(l->r);
	struct sim_node *f = &s.nodes[l->id % 3]; /* a follower */
	sim_isolate(&s, f->id);
	sim_ticks(&s, 10 * SIM_ELECTION);
	/* cut off, it kept asking for pre-votes but never raised its term */
	ck_assert_uint_eq(raft_term(f->r), term);
	ck_assert_int_ne(raft_role(f->r), RAFT_LEADER);
	sim_heal(&s);
	sim_ticks(&s, 5 * SIM_ELECTION);
	ck_assert_int_eq(raft_role(l->r), RAFT_LEADER);
	ck_assert_uint_eq(raft_term(l->r), term);
	ck_assert_uint_eq(raft_term(f->r), term);
	ck_assert_uint_eq(raft_leader(f->r), l->id);
	sim_destroy(&s);
}
END_TEST

START_TEST(test_check_quorum_steps_down)
{
	struct sim s;
	sim_quiet(&s, 12, 5);
	struct sim_node *l = sim_wait_leader(&s);
	sim_ticks(&s, 20);
	uint64_t term = raft_term(l->r);
	sim_isolate(&s, l->id);
	sim_ticks(&s, 2 * SIM_ELECTION + 1);
	ck_assert_int_eq(raft_role(l->r), RAFT_FOLLOWER);
	ck_assert_str_eq(raft_reason(l->r), "check-quorum: lost the majority");
	/* the others elect a new leader in a later term */
	sim_ticks(&s, 5 * SIM_ELECTION);
	struct sim_node *nl = sim_leader(&s);
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_ne(nl->id, l->id);
	ck_assert_uint_gt(raft_term(nl->r), term);
	sim_destroy(&s);
}
END_TEST

START_TEST(test_diverged_tail_truncated)
{
	struct sim s;
	sim_quiet(&s, 13, 3);
	s.clients = false;
	s.snapshots = false;
	struct sim_node *l = sim_wait_leader(&s);
	for (int i = 0; i < 5; i++)
		sim_propose(&s, l, ++s.next_value);
	sim_ticks(&s, 10);
	uint64_t committed = raft_commit_index(l->r);
	ck_assert_uint_ge(committed, 6);
	/* cut the leader off; what it appends now reaches its disk only */
	sim_isolate(&s, l->id);
	for (int i = 0; i < 4; i++)
		sim_propose(&s, l, 1000 + (uint64_t)i);
	sim_ticks(&s, 5);
	ck_assert_uint_eq(sim_disk_last(&l->disk), committed + 4);
	sim_crash(&s, l);
	/* the others elect a leader and commit different entries at those indexes */
	sim_ticks(&s, 4 * SIM_ELECTION);
	struct sim_node *nl = sim_leader(&s);
	ck_assert_ptr_nonnull(nl);
	for (int i = 0; i < 6; i++)
		sim_propose(&s, nl, ++s.next_value);
	sim_ticks(&s, 10);
	ck_assert_uint_ge(raft_commit_index(nl->r), committed + 6);
	/* the old leader comes back with its diverged tail and must drop it */
	sim_heal(&s);
	sim_restart(&s, l);
	ck_assert_uint_eq(raft_last_index(l->r), committed + 4);
	sim_ticks(&s, 3 * SIM_ELECTION);
	ck_assert_uint_ge(l->truncations, 1);
	ck_assert_uint_eq(raft_commit_index(l->r), raft_commit_index(nl->r));
	for (uint64_t i = committed + 1; i <= raft_commit_index(l->r); i++)
		ck_assert_uint_eq(raft_term_at(l->r, i), raft_term_at(nl->r, i));
	ck_assert_uint_eq(l->hash, nl->hash);
	sim_destroy(&s);
}
END_TEST

START_TEST(test_lagging_follower_gets_snapshot)
{
	struct sim s;
	sim_quiet(&s, 14, 3);
	s.clients = false;
	s.snapshots = false;
	struct sim_node *l = sim_wait_leader(&s);
	struct sim_node *f = &s.nodes[l->id % 3];
	sim_crash(&s, f);
	for (int i = 0; i < 40; i++) {
		sim_propose(&s, l, ++s.next_value);
		sim_ticks(&s, 1);
	}
	sim_ticks(&s, 10);
	uint64_t at = raft_commit_index(l->r);
	ck_assert_uint_ge(at, 40);
	/* the leader snapshots and compacts its whole log */
	s.snapshots = true;
	for (int i = 0; i < 100 && raft_snapshot_index(l->r) < at; i++)
		sim_snapshots(&s);
	ck_assert_uint_eq(raft_snapshot_index(l->r), at);
	ck_assert_int_eq(raft_compact(l->r, at), 0);
	s.snapshots = false;
	sim_restart(&s, f);
	sim_ticks(&s, 3 * SIM_ELECTION);
	ck_assert_uint_eq(f->snap_installs, 1);
	ck_assert_uint_eq(raft_snapshot_index(f->r), at);
	ck_assert_uint_eq(raft_commit_index(f->r), raft_commit_index(l->r));
	ck_assert_uint_eq(raft_peer_match(l->r, f->id), raft_last_index(l->r));
	ck_assert_uint_eq(raft_synced_voters(l->r), 3);
	/* and it keeps up with normal appends afterwards */
	sim_propose(&s, l, ++s.next_value);
	sim_ticks(&s, 10);
	ck_assert_uint_eq(raft_commit_index(f->r), raft_commit_index(l->r));
	ck_assert_uint_eq(f->hash, l->hash);
	sim_destroy(&s);
}
END_TEST

START_TEST(test_config_codec_and_rules)
{
	struct raft_config c = { 0 }, d;
	sim_cfg_add(&c, 1, true);
	sim_cfg_add(&c, 0x0102030405060708ULL, false);
	uint8_t buf[64];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(raft_config_decode(&d, buf, n), 0);
	ck_assert(sim_cfg_equal(&c, &d));
	ck_assert_int_eq(raft_config_decode(&d, buf, n - 1), ERR_CORRUPT);
	buf[19] = 2;
	ck_assert_int_eq(raft_config_decode(&d, buf, n), ERR_CORRUPT);
	/* a leader refuses two voter changes at once and a second change while one is pending */
	struct sim s;
	sim_quiet(&s, 15, 3);
	s.clients = false;
	s.nodes[3].id = 4; /* a fourth server, not in the configuration yet */
	s.n = 4;
	sim_start(&s, &s.nodes[3]);
	struct sim_node *l = sim_wait_leader(&s);
	sim_ticks(&s, 10);
	struct raft_config two = s.initial;
	sim_cfg_add(&two, 4, true);
	sim_cfg_add(&two, 5, true);
	uint64_t idx;
	ck_assert_int_eq(raft_propose_config(l->r, &two, &idx), ERR_INVAL);
	struct raft_config one = s.initial;
	sim_cfg_add(&one, 4, false);
	ck_assert_int_eq(raft_propose_config(l->r, &one, &idx), 0);
	ck_assert_int_eq(raft_propose_config(l->r, &one, &idx), ERR_BUSY);
	struct sim_node *f = &s.nodes[l->id % 3];
	ck_assert_int_eq(raft_propose(f->r, "x", 1, &idx), ERR_NOTLEADER);
	ck_assert_uint_eq(raft_leader(f->r), l->id);
	sim_drain(&s, l);
	sim_ticks(&s, 10);
	ck_assert(sim_cfg_equal(raft_config(s.nodes[3].r, NULL), &one));
	sim_destroy(&s);
}
END_TEST

START_TEST(test_malformed_messages_refused)
{
	struct sim s;
	sim_quiet(&s, 16, 3);
	struct raft *r = s.nodes[0].r;
	uint64_t term = raft_term(r);
	struct raft_entry e[2] = { { .index = 1, .term = 1 }, { .index = 3, .term = 1 } };
	struct raft_msg m = { .type = RAFT_MSG_APPEND_REQ, .from = 2, .to = 1, .term = 1, .entries = e,
			      .n_entries = 2 };
	ck_assert_int_eq(raft_step(r, &m), ERR_PROTO); /* a gap */
	e[1].index = 2;
	e[1].type = RAFT_ENTRY_CONFIG; /* no valid config bytes */
	ck_assert_int_eq(raft_step(r, &m), ERR_PROTO);
	m.to = 9;
	e[1].type = RAFT_ENTRY_NORMAL;
	ck_assert_int_eq(raft_step(r, &m), ERR_PROTO);
	m.to = 1;
	m.type = (enum raft_msg_type)77;
	ck_assert_int_eq(raft_step(r, &m), ERR_PROTO);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_uint_eq(raft_last_index(r), 0);
	sim_destroy(&s);
}
END_TEST

static Suite *raft_sim_suite(void)
{
	Suite *su = suite_create("raft_sim");
	TCase *tc = tcase_create("directed");
	tcase_add_test(tc, test_prevote_no_disruption);
	tcase_add_test(tc, test_check_quorum_steps_down);
	tcase_add_test(tc, test_diverged_tail_truncated);
	tcase_add_test(tc, test_lagging_follower_gets_snapshot);
	tcase_add_test(tc, test_config_codec_and_rules);
	tcase_add_test(tc, test_malformed_messages_refused);
	suite_add_tcase(su, tc);
	tc = tcase_create("simulator");
	tcase_add_test(tc, test_sim_three);
	tcase_add_test(tc, test_sim_five);
	tcase_add_test(tc, test_sim_observers);
	tcase_add_test(tc, test_sim_reconfig);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return check_run(raft_sim_suite());
}

/*
 * raft — the consensus core (see raft.h).
 *
 * Roles (raft_set_role is the only place that changes r->role and checks the edge):
 *
 *            timeout (voter)          pre-votes of a majority
 *   FOLLOWER ---------------> PRECANDIDATE ------------------> CANDIDATE --votes of a majority--> LEADER
 *      ^  ^                     |    ^                           |   |                             |
 *      |  +---------------------+    +------ timeout ------------+   |                             |
 *      |   higher term, a leader, majority rejects                  |                             |
 *      +-------------------------------------------------------------+-----------------------------+
 *        higher term, a leader of our term, majority rejects; leader: check-quorum failed,
 *        higher term seen, or removed by a committed configuration
 *
 * Invariants:
 * - log[k] has index base_index + 1 + k; terms never decrease along the log; entries at or
 *   below commit are never truncated (checked in release builds: the process stops);
 * - base_index <= snap.index <= applied <= commit <= last index; the durable index (persisted)
 *   names a prefix of the current in-memory log that the disk has (or that a durable snapshot
 *   covers); it is lowered at every truncation and raised only by raft_persisted for a write
 *   batch whose last entry no later truncation can have removed;
 * - entries >= unstable have not been handed to the caller yet; a truncation below unstable is
 *   handed out as truncate_from;
 * - cfgs[] lists the configuration entries of the log in index order, and cfgs[0] is the one in
 *   force at base_index (from the snapshot or bootstrap); the last one is in force;
 * - term only grows; vote is for the current term; hard-state changes set hs_dirty;
 * - a leader's prs[] has one progress per server of the configuration in force except itself;
 *   match <= next - 1; match counts only durable entries.
 *
 * Out of memory inside the core aborts (raft_xrealloc): a half-applied step could break the
 * invariants above, and rolling every step back is not done yet.
 */
#include "raft.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum raft_pr_state {
	RAFT_PR_PROBE,	   /* one append per heartbeat until a response says where we match */
	RAFT_PR_REPLICATE, /* appends pipelined, next advanced as they are sent */
	RAFT_PR_SNAPSHOT,  /* a snapshot is on its way; resent every election timeout */
};

struct raft_progress {
	uint64_t id;
	bool voter;
	enum raft_pr_state state;
	uint64_t next, match;
	bool paused;  /* PROBE: an append is out, wait for its answer or the next heartbeat */
	bool active;  /* heard from since the last check-quorum round */
	uint64_t snap_index;
	uint32_t snap_elapsed;
};

struct raft_cfg_rec {
	uint64_t index;
	struct raft_config cfg;
};

/* A write batch handed out and not yet reported durable. */
struct raft_batch {
	uint64_t seq;
	uint64_t last_index, last_term;
	uint64_t trunc_from; /* 0: none */
};

struct raft {
	uint64_t id;
	enum raft_role role;
	uint64_t term, vote, leader;
	char reason[96];

	/* log */
	struct raft_entry *log;
	size_t nlog, caplog;
	uint64_t base_index, base_term;
	struct raft_snapshot_meta snap;
	uint64_t commit, applied, persisted, unstable;
	uint64_t pending_trunc; /* 0: none */
	struct raft_batch *batches;
	size_t nbatches, capbatches;
	uint64_t next_seq;

	struct raft_cfg_rec *cfgs;
	size_t ncfgs, capcfgs;

	/* time */
	uint32_t election_ticks, heartbeat_ticks, timeout;
	uint32_t election_elapsed, heartbeat_elapsed;
	uint64_t rng;
	uint32_t max_batch, max_inflight;

	/* elections: who answered our (pre-)vote and how */
	uint64_t answered[RAFT_MAX_SERVERS];
	bool granted[RAFT_MAX_SERVERS];
	size_t nanswered;

	/* leader */
	struct raft_progress prs[RAFT_MAX_SERVERS];
	size_t nprs;
	uint64_t term_start; /* index of this leader's first entry (its noop) */

	/* follower: our log matches the current leader's up to here (reset with the term) */
	uint64_t match_leader, acked_durable;

	/* pending output */
	bool hs_dirty;
	bool snap_pending;
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_msg *msgs;
	size_t nmsgs, capmsgs;

	raft_log_fn logf;
	void *log_arg;
};

static const char *const raft_role_names[RAFT_ROLE_COUNT] = {
	[RAFT_FOLLOWER] = "follower",
	[RAFT_PRECANDIDATE] = "precandidate",
	[RAFT_CANDIDATE] = "candidate",
	[RAFT_LEADER] = "leader",
};

static const char *const raft_msg_names[RAFT_MSG_TYPE_COUNT] = {
	[RAFT_MSG_PREVOTE_REQ] = "prevote_req",	  [RAFT_MSG_PREVOTE_RESP] = "prevote_resp",
	[RAFT_MSG_VOTE_REQ] = "vote_req",	  [RAFT_MSG_VOTE_RESP] = "vote_resp",
	[RAFT_MSG_APPEND_REQ] = "append_req",	  [RAFT_MSG_APPEND_RESP] = "append_resp",
	[RAFT_MSG_SNAPSHOT_REQ] = "snapshot_req", [RAFT_MSG_SNAPSHOT_RESP] = "snapshot_resp",
};

const char *raft_role_name(enum raft_role role)
{
	return (unsigned)role < RAFT_ROLE_COUNT ? raft_role_names[role] : "?";
}

const char *raft_msg_type_name(enum raft_msg_type t)
{
	return (unsigned)t < RAFT_MSG_TYPE_COUNT ? raft_msg_names[t] : "?";
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void raft_logf(const struct raft *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void raft_logf(const struct raft *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (!r->logf)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->logf(r->log_arg, r->id, line);
}

/* A broken invariant that would corrupt durable state: stop loudly, in release builds too. */
#define RAFT_CHECK(r, cond)                                                                     \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			raft_logf((r), "invariant broken at %s:%d: %s", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* Out of memory inside the core stops the process (see the top comment). */
static void *raft_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

static uint8_t *raft_dup(const uint8_t *data, size_t len)
{
	if (!len)
		return NULL;
	uint8_t *p = raft_xrealloc(NULL, len);
	memcpy(p, data, len);
	return p;
}

static uint64_t raft_rand(struct raft *r)
{
	/* splitmix64 */
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void raft_reset_timeout(struct raft *r)
{
	r->election_elapsed = 0;
	r->timeout = r->election_ticks + (uint32_t)(raft_rand(r) % r->election_ticks);
}

/* ---- configuration ---------------------------------------------------------------------- */

static const struct raft_server *raft_cfg_find(const struct raft_config *cfg, uint64_t id)
{
	for (uint32_t i = 0; i < cfg->n; i++)
		if (cfg->servers[i].id == id)
			return &cfg->servers[i];
	return NULL;
}

bool raft_config_has(const struct raft_config *cfg, uint64_t id)
{
	return raft_cfg_find(cfg, id) != NULL;
}

bool raft_config_is_voter(const struct raft_config *cfg, uint64_t id)
{
	const struct raft_server *s = raft_cfg_find(cfg, id);
	return s && s->voter;
}

static uint32_t raft_cfg_voters(const struct raft_config *cfg)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cfg->n; i++)
		n += cfg->servers[i].voter;
	return n;
}

static int raft_cfg_valid(const struct raft_config *cfg)
{
	if (cfg->n > RAFT_MAX_SERVERS)
		return ERR_CORRUPT;
	for (uint32_t i = 0; i < cfg->n; i++) {
		if (cfg->servers[i].id == 0)
			return ERR_CORRUPT;
		for (uint32_t j = 0; j < i; j++)
			if (cfg->servers[j].id == cfg->servers[i].id)
				return ERR_CORRUPT;
	}
	return 0;
}

/* Encoding: u8 version (1), u8 count, count x (u64 id big-endian, u8 flags: bit 0 = voter). */
size_t raft_config_encode(const struct raft_config *cfg, uint8_t *out, size_t cap)
{
	size_t need = 2 + (size_t)cfg->n * 9;
	if (cap < need)
		return need;
	out[0] = 1;
	out[1] = (uint8_t)cfg->n;
	uint8_t *p = out + 2;
	for (uint32_t i = 0; i < cfg->n; i++) {
		for (int b = 0; b < 8; b++)
			*p++ = (uint8_t)(cfg->servers[i].id >> (56 - 8 * b));
		*p++ = cfg->servers[i].voter ? 1 : 0;
	}
	return need;
}

int raft_config_decode(struct raft_config *cfg, const uint8_t *data, size_t len)
{
	memset(cfg, 0, sizeof(*cfg));
	if (len < 2 || data[0] != 1 || data[1] > RAFT_MAX_SERVERS || len != 2 + (size_t)data[1] * 9)
		return ERR_CORRUPT;
	cfg->n = data[1];
	const uint8_t *p = data + 2;
	for (uint32_t i = 0; i < cfg->n; i++) {
		uint64_t id = 0;
		for (int b = 0; b < 8; b++)
			id = id << 8 | *p++;
		if (*p > 1)
			return ERR_CORRUPT;
		cfg->servers[i].id = id;
		cfg->servers[i].voter = *p++ == 1;
	}
	return raft_cfg_valid(cfg);
}

static const struct raft_config *raft_cfg_latest(const struct raft *r)
{
	return &r->cfgs[r->ncfgs - 1].cfg;
}

/* The configuration in force at index (>= base_index). */
static const struct raft_config *raft_cfg_at(const struct raft *r, uint64_t index)
{
	for (size_t i = r->ncfgs; i-- > 1;)
		if (r->cfgs[i].index <= index)
			return &r->cfgs[i].cfg;
	return &r->cfgs[0].cfg;
}

static void raft_cfg_push(struct raft *r, uint64_t index, const struct raft_config *cfg)
{
	if (r->ncfgs == r->capcfgs) {
		r->capcfgs = r->capcfgs ? 2 * r->capcfgs : 4;
		r->cfgs = raft_xrealloc(r->cfgs, r->capcfgs * sizeof(*r->cfgs));
	}
	r->cfgs[r->ncfgs].index = index;
	r->cfgs[r->ncfgs].cfg = *cfg;
	r->ncfgs++;
}

static bool raft_is_voter(const struct raft *r)
{
	return raft_config_is_voter(raft_cfg_latest(r), r->id);
}

/* ---- log -------------------------------------------------------------------------------- */

static uint64_t raft_last(const struct raft *r)
{
	return r->base_index + r->nlog;
}

static struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
	if (index <= r->base_index || index > raft_last(r))
		return NULL;
	return &r->log[index - r->base_index - 1];
}

uint64_t raft_term_at(const struct raft *r, uint64_t index)
{
	if (index == r->base_index)
		return r->base_term;
	const struct raft_entry *e = raft_entry_at(r, index);
	return e ? e->term : 0;
}

static uint64_t raft_last_term(const struct raft *r)
{
	return raft_term_at(r, raft_last(r));
}

static void raft_progress_sync(struct raft *r);

/* Appends a copy of e (index must be last + 1); a configuration entry takes effect now. */
static void raft_log_append(struct raft *r, const struct raft_entry *e)
{
	RAFT_CHECK(r, e->index == raft_last(r) + 1);
	RAFT_CHECK(r, e->term >= raft_last_term(r));
	if (r->nlog == r->caplog) {
		r->caplog = r->caplog ? 2 * r->caplog : 64;
		r->log = raft_xrealloc(r->log, r->caplog * sizeof(*r->log));
	}
	struct raft_entry *n = &r->log[r->nlog++];
	*n = *e;
	n->data = raft_dup(e->data, e->len);
	if (e->type == RAFT_ENTRY_CONFIG) {
		struct raft_config cfg;
		/* validated by raft_step / raft_propose_config / raft_new */
		RAFT_CHECK(r, raft_config_decode(&cfg, e->data, e->len) == 0);
		raft_cfg_push(r, e->index, &cfg);
		if (r->role == RAFT_LEADER)
			raft_progress_sync(r);
	}
}

/* Drops the entries >= from (a conflict with the leader, §5.3). */
static void raft_log_truncate(struct raft *r, uint64_t from)
{
	RAFT_CHECK(r, from > r->commit && from > r->base_index);
	while (raft_last(r) >= from) {
		struct raft_entry *e = &r->log[--r->nlog];
		free(e->data);
	}
	while (r->ncfgs > 1 && r->cfgs[r->ncfgs - 1].index >= from)
		r->ncfgs--;
	if (from < r->unstable) {
		/* part of what the disk has or will have goes */
		if (!r->pending_trunc || from < r->pending_trunc)
			r->pending_trunc = from;
		r->unstable = from;
	}
	if (r->persisted >= from)
		r->persisted = from - 1;
	if (r->match_leader >= from)
		r->match_leader = from - 1;
	if (r->acked_durable >= from)
		r->acked_durable = from - 1;
}

/* ---- output ----------------------------------------------------------------------------- */

static struct raft_msg *raft_send(struct raft *r, enum raft_msg_type type, uint64_t to)
{
	if (r->nmsgs == r->capmsgs) {
		r->capmsgs = r->capmsgs ? 2 * r->capmsgs : 16;
		r->msgs = raft_xrealloc(r->msgs, r->capmsgs * sizeof(*r->msgs));
	}
	struct raft_msg *m = &r->msgs[r->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
	return m;
}

static void raft_entries_free(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
	free(e);
}

void raft_msg_clear(struct raft_msg *m)
{
	if (!m)
		return;
	raft_entries_free(m->entries, m->n_entries);
	free(m->snap_data);
	memset(m, 0, sizeof(*m));
}

int raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src)
{
	*dst = *src;
	dst->entries = NULL;
	dst->snap_data = NULL;
	dst->n_entries = 0;
	dst->snap_len = 0;
	if (src->n_entries) {
		dst->entries = calloc(src->n_entries, sizeof(*dst->entries));
		if (!dst->entries)
			goto nomem;
		dst->n_entries = src->n_entries;
		for (size_t i = 0; i < src->n_entries; i++) {
			dst->entries[i] = src->entries[i];
			dst->entries[i].data = NULL;
			if (src->entries[i].len) {
				dst->entries[i].data = malloc(src->entries[i].len);
				if (!dst->entries[i].data)
					goto nomem;
				memcpy(dst->entries[i].data, src->entries[i].data, src->entries[i].len);
			}
		}
	}
	if (src->snap_len) {
		dst->snap_data = malloc(src->snap_len);
		if (!dst->snap_data)
			goto nomem;
		memcpy(dst->snap_data, src->snap_data, src->snap_len);
		dst->snap_len = src->snap_len;
	}
	return 0;
nomem:
	raft_msg_clear(dst);
	return ERR_NOMEM;
}

static struct raft_entry *raft_copy_range(const struct raft *r, uint64_t from, uint64_t to, size_t *n)
{
	*n = 0;
	if (from > to)
		return NULL;
	RAFT_CHECK(r, from > r->base_index && to <= raft_last(r));
	size_t cnt = (size_t)(to - from + 1);
	struct raft_entry *out = raft_xrealloc(NULL, cnt * sizeof(*out));
	for (size_t i = 0; i < cnt; i++) {
		const struct raft_entry *e = &r->log[from + i - r->base_index - 1];
		out[i] = *e;
		out[i].data = raft_dup(e->data, e->len);
	}
	*n = cnt;
	return out;
}

/* ---- roles ------------------------------------------------------------------------------ */

static bool raft_role_edge_ok(enum raft_role from, enum raft_role to)
{
	switch (from) {
	case RAFT_FOLLOWER:
		return to == RAFT_FOLLOWER || to == RAFT_PRECANDIDATE;
	case RAFT_PRECANDIDATE:
		return to == RAFT_FOLLOWER || to == RAFT_CANDIDATE || to == RAFT_PRECANDIDATE;
	case RAFT_CANDIDATE:
		return to == RAFT_FOLLOWER || to == RAFT_LEADER || to == RAFT_PRECANDIDATE;
	case RAFT_LEADER:
		return to == RAFT_FOLLOWER;
	case RAFT_ROLE_COUNT:
		break;
	}
	return false;
}

/* The one place r->role changes. */
static void raft_set_role(struct raft *r, enum raft_role to, const char *reason)
{
	RAFT_CHECK(r, raft_role_edge_ok(r->role, to));
	if (r->role != to || strcmp(r->reason, reason) != 0) {
		raft_logf(r, "term %llu: %s -> %s (%s)", (unsigned long long)r->term,
			  raft_role_name(r->role), raft_role_name(to), reason);
	}
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->role = to;
}

static void raft_set_term(struct raft *r, uint64_t term)
{
	RAFT_CHECK(r, term >= r->term);
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
		r->hs_dirty = true;
		r->match_leader = 0;
		r->acked_durable = 0;
		r->leader = 0;
	}
}

static void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader, const char *reason)
{
	raft_set_term(r, term);
	r->leader = leader;
	r->nprs = 0;
	raft_reset_timeout(r);
	raft_set_role(r, RAFT_FOLLOWER, reason);
}

static uint32_t raft_majority(const struct raft_config *cfg)
{
	return raft_cfg_voters(cfg) / 2 + 1;
}

/* Records a (pre-)vote answer from a voter of the configuration in force. */
static void raft_record_answer(struct raft *r, uint64_t from, bool granted)
{
	if (!raft_config_is_voter(raft_cfg_latest(r), from))
		return;
	for (size_t i = 0; i < r->nanswered; i++)
		if (r->answered[i] == from)
			return;
	r->answered[r->nanswered] = from;
	r->granted[r->nanswered] = granted;
	r->nanswered++;
}

/* 1: won, -1: lost, 0: undecided. */
static int raft_tally(const struct raft *r)
{
	const struct raft_config *cfg = raft_cfg_latest(r);
	uint32_t yes = 0, no = 0, maj = raft_majority(cfg);
	for (size_t i = 0; i < r->nanswered; i++) {
		if (r->granted[i])
			yes++;
		else
			no++;
	}
	if (yes >= maj)
		return 1;
	if (no >= maj)
		return -1;
	return 0;
}

static void raft_become_leader(struct raft *r);

static void raft_request_votes(struct raft *r, bool pre)
{
	const struct raft_config *cfg = raft_cfg_latest(r);
	for (uint32_t i = 0; i < cfg->n; i++) {
		const struct raft_server *s = &cfg->servers[i];
		if (!s->voter || s->id == r->id)
			continue;
		struct raft_msg *m = raft_send(r, pre ? RAFT_MSG_PREVOTE_REQ : RAFT_MSG_VOTE_REQ, s->id);
		m->term = pre ? r->term + 1 : r->term;
		m->last_index = raft_last(r);
		m->last_term = raft_last_term(r);
	}
}

static void raft_become_candidate(struct raft *r)
{
	raft_set_term(r, r->term + 1);
	r->vote = r->id;
	r->hs_dirty = true;
	r->leader = 0;
	raft_reset_timeout(r);
	raft_set_role(r, RAFT_CANDIDATE, "won the pre-vote");
	r->nanswered = 0;
	raft_record_answer(r, r->id, true);
	if (raft_tally(r) > 0) {
		raft_become_leader(r);
		return;
	}
	raft_request_votes(r, false);
}

static void raft_become_precandidate(struct raft *r, const char *reason)
{
	r->leader = 0;
	r->nprs = 0;
	raft_reset_timeout(r);
	raft_set_role(r, RAFT_PRECANDIDATE, reason);
	r->nanswered = 0;
	raft_record_answer(r, r->id, true);
	if (raft_tally(r) > 0) {
		raft_become_candidate(r);
		return;
	}
	raft_request_votes(r, true);
}

/* ---- leader: progress, replication, commit ----------------------------------------------- */

static struct raft_progress *raft_pr(struct raft *r, uint64_t id)
{
	for (size_t i = 0; i < r->nprs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

/* Makes prs[] match the configuration in force, keeping the progress of known servers. */
static void raft_progress_sync(struct raft *r)
{
	const struct raft_config *cfg = raft_cfg_latest(r);
	struct raft_progress old[RAFT_MAX_SERVERS];
	size_t nold = r->nprs;
	memcpy(old, r->prs, nold * sizeof(*old));
	r->nprs = 0;
	for (uint32_t i = 0; i < cfg->n; i++) {
		const struct raft_server *s = &cfg->servers[i];
		if (s->id == r->id)
			continue;
		struct raft_progress *p = &r->prs[r->nprs++];
		size_t k;
		for (k = 0; k < nold; k++)
			if (old[k].id == s->id)
				break;
		if (k < nold) {
			*p = old[k];
		} else {
			memset(p, 0, sizeof(*p));
			p->id = s->id;
			p->next = raft_last(r) + 1;
			p->state = RAFT_PR_PROBE;
		}
		p->voter = s->voter;
	}
}

static uint64_t raft_match_of(const struct raft *r, uint64_t id)
{
	if (id == r->id)
		return r->persisted;
	for (size_t i = 0; i < r->nprs; i++)
		if (r->prs[i].id == id)
			return r->prs[i].match;
	return 0;
}

static bool raft_quorum_has(const struct raft *r, const struct raft_config *cfg, uint64_t index)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cfg->n; i++)
		if (cfg->servers[i].voter && raft_match_of(r, cfg->servers[i].id) >= index)
			n++;
	return n >= raft_majority(cfg);
}

static void raft_maybe_step_down_removed(struct raft *r)
{
	size_t last = r->ncfgs - 1;
	if (r->role == RAFT_LEADER && r->cfgs[last].index <= r->commit && !raft_is_voter(r))
		raft_become_follower(r, r->term, 0, "removed from the configuration");
}

/*
 * Commits the highest index of the current term (§5.4.2) that a majority of the configuration in
 * force (the latest in the log, committed or not, §4.1) has durable. Single-server changes make
 * any majority of the old configuration overlap any majority of the new one, so this is safe
 * while a change is in flight. (Requiring a majority of the configuration each entry was
 * appended under as well would deadlock: after a full restart a leader's commit index can lag
 * behind configurations whose removed servers are gone for good.)
 */
static void raft_maybe_commit(struct raft *r)
{
	const struct raft_config *now = raft_cfg_latest(r);
	for (uint64_t n = raft_last(r); n > r->commit; n--) {
		if (raft_term_at(r, n) != r->term)
			break;
		if (raft_quorum_has(r, now, n)) {
			r->commit = n;
			raft_maybe_step_down_removed(r);
			return;
		}
	}
}

static void raft_send_snapshot(struct raft *r, struct raft_progress *p)
{
	RAFT_CHECK(r, r->snap.index >= r->base_index);
	struct raft_msg *m = raft_send(r, RAFT_MSG_SNAPSHOT_REQ, p->id);
	m->snap = r->snap;
	m->commit = r->commit;
	p->state = RAFT_PR_SNAPSHOT;
	p->snap_index = r->snap.index;
	p->snap_elapsed = 0;
}

/* Sends p what it lacks from next on (or, for a heartbeat, an empty append at next). */
static void raft_send_append(struct raft *r, struct raft_progress *p, bool heartbeat)
{
	if (p->state == RAFT_PR_SNAPSHOT)
		return;
	if (p->state == RAFT_PR_PROBE && p->paused && !heartbeat)
		return;
	if (p->next <= r->base_index) {
		raft_send_snapshot(r, p);
		return;
	}
	uint64_t last = raft_last(r);
	uint64_t from = p->next, to = last;
	if (to >= from && to - from + 1 > r->max_batch)
		to = from + r->max_batch - 1;
	if (p->state == RAFT_PR_REPLICATE && to >= from && from - 1 - p->match >= r->max_inflight) {
		if (!heartbeat)
			return;
		to = from - 1; /* too much in flight: a bare heartbeat */
	}
	if (!heartbeat && to < from && p->state == RAFT_PR_REPLICATE)
		return;
	struct raft_msg *m = raft_send(r, RAFT_MSG_APPEND_REQ, p->id);
	m->prev_index = from - 1;
	m->prev_term = raft_term_at(r, from - 1);
	m->commit = r->commit;
	m->entries = raft_copy_range(r, from, to, &m->n_entries);
	if (p->state == RAFT_PR_REPLICATE)
		p->next = to + 1;
	else
		p->paused = true;
}

static void raft_broadcast(struct raft *r, bool heartbeat)
{
	for (size_t i = 0; i < r->nprs; i++) {
		struct raft_progress *p = &r->prs[i];
		if (heartbeat && p->state == RAFT_PR_SNAPSHOT) {
			/* the snapshot or its answer may be lost: resend now and then */
			p->snap_elapsed += r->heartbeat_ticks;
			if (p->snap_elapsed >= r->election_ticks)
				raft_send_snapshot(r, p);
			continue;
		}
		if (heartbeat)
			p->paused = false;
		raft_send_append(r, p, heartbeat);
	}
}

static void raft_become_leader(struct raft *r)
{
	raft_set_role(r, RAFT_LEADER, "won the election");
	r->leader = r->id;
	r->nprs = 0;
	raft_progress_sync(r);
	for (size_t i = 0; i < r->nprs; i++)
		r->prs[i].active = false;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	struct raft_entry noop = { .index = raft_last(r) + 1, .term = r->term, .type = RAFT_ENTRY_NOOP };
	r->term_start = noop.index;
	raft_log_append(r, &noop);
	raft_maybe_commit(r); /* a single voter commits on its own disk write only */
	raft_broadcast(r, true);
}

static void raft_leader_append(struct raft *r, enum raft_entry_type type, const void *data, size_t len,
			       uint64_t *index)
{
	struct raft_entry e = {
		.index = raft_last(r) + 1,
		.term = r->term,
		.type = type,
		.data = (uint8_t *)data,
		.len = len,
	};
	raft_log_append(r, &e);
	if (index)
		*index = e.index;
	raft_broadcast(r, false);
}

/* ---- construction ----------------------------------------------------------------------- */

struct raft *raft_new(const struct raft_opts *o, char *err, size_t errlen)
{
	if (o->id == 0) {
		err_set(err, errlen, ERR_INVAL, "raft: server id 0");
		return NULL;
	}
	if (o->election_ticks < 2 || o->heartbeat_ticks == 0 || o->heartbeat_ticks >= o->election_ticks) {
		err_set(err, errlen, ERR_INVAL, "raft: need 0 < heartbeat (%u) < election (%u) ticks",
			o->heartbeat_ticks, o->election_ticks);
		return NULL;
	}
	if (raft_cfg_valid(&o->config) != 0) {
		err_set(err, errlen, ERR_INVAL, "raft: bad bootstrap configuration");
		return NULL;
	}
	if (o->vote && o->term == 0) {
		err_set(err, errlen, ERR_CORRUPT, "raft: vote without a term");
		return NULL;
	}
	const struct raft_snapshot_meta *snap = o->snapshot && o->snapshot->index ? o->snapshot : NULL;
	if (snap && (raft_cfg_valid(&snap->config) != 0 || snap->term == 0 || snap->term > o->term)) {
		err_set(err, errlen, ERR_CORRUPT, "raft: bad snapshot meta (index %llu)",
			(unsigned long long)snap->index);
		return NULL;
	}
	uint64_t prev = snap ? snap->index : 0, prev_term = snap ? snap->term : 0;
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct raft_entry *e = &o->entries[i];
		struct raft_config c;
		if (e->index != prev + 1 || e->term < prev_term || e->term > o->term ||
		    e->type > RAFT_ENTRY_NOOP ||
		    (e->type == RAFT_ENTRY_CONFIG && raft_config_decode(&c, e->data, e->len) != 0)) {
			err_set(err, errlen, ERR_CORRUPT, "raft: bad restored entry %zu (index %llu)", i,
				(unsigned long long)e->index);
			return NULL;
		}
		prev = e->index;
		prev_term = e->term;
	}

	struct raft *r = calloc(1, sizeof(*r));
	if (!r) {
		err_set(err, errlen, ERR_NOMEM, "raft: out of memory");
		return NULL;
	}
	r->id = o->id;
	r->role = RAFT_FOLLOWER;
	snprintf(r->reason, sizeof(r->reason), "start");
	r->term = o->term;
	r->vote = o->vote;
	r->election_ticks = o->election_ticks;
	r->heartbeat_ticks = o->heartbeat_ticks;
	r->max_batch = o->max_batch ? o->max_batch : 64;
	r->max_inflight = o->max_inflight ? o->max_inflight : 1024;
	r->rng = o->seed ^ (o->id * 0xd1b54a32d192ed03ULL);
	r->logf = o->log;
	r->log_arg = o->log_arg;
	if (snap) {
		r->snap = *snap;
		r->base_index = snap->index;
		r->base_term = snap->term;
		raft_cfg_push(r, snap->index, &snap->config);
	} else {
		raft_cfg_push(r, 0, &o->config);
	}
	r->commit = r->applied = r->base_index;
	r->unstable = r->base_index + 1;
	for (size_t i = 0; i < o->n_entries; i++)
		raft_log_append(r, &o->entries[i]);
	r->persisted = raft_last(r);
	r->unstable = raft_last(r) + 1;
	raft_reset_timeout(r);
	return r;
}

void raft_free(struct raft *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlog; i++)
		free(r->log[i].data);
	free(r->log);
	free(r->cfgs);
	free(r->batches);
	for (size_t i = 0; i < r->nmsgs; i++)
		raft_msg_clear(&r->msgs[i]);
	free(r->msgs);
	free(r->snap_data);
	free(r);
}

/* ---- inputs ----------------------------------------------------------------------------- */

/* A follower that heard from a leader within the minimum election timeout, or a leader (whose
 * lease check-quorum renews), ignores (pre-)votes: a server cut off and returning cannot
 * disrupt a healthy leader (§4.2.3). */
static bool raft_in_lease(const struct raft *r)
{
	return r->leader != 0 && r->election_elapsed < r->election_ticks;
}

void raft_tick(struct raft *r)
{
	r->election_elapsed++;
	if (r->role == RAFT_LEADER) {
		if (r->election_elapsed >= r->election_ticks) {
			/* check-quorum: step down unless a majority was heard from this round */
			r->election_elapsed = 0;
			const struct raft_config *cfg = raft_cfg_latest(r);
			uint32_t n = raft_config_is_voter(cfg, r->id) ? 1 : 0;
			for (size_t i = 0; i < r->nprs; i++) {
				if (r->prs[i].voter && r->prs[i].active)
					n++;
				r->prs[i].active = false;
			}
			if (n < raft_majority(cfg)) {
				raft_become_follower(r, r->term, 0, "check-quorum: lost the majority");
				return;
			}
		}
		if (++r->heartbeat_elapsed >= r->heartbeat_ticks) {
			r->heartbeat_elapsed = 0;
			raft_broadcast(r, true);
		}
		return;
	}
	if (r->election_elapsed >= r->timeout) {
		if (!raft_is_voter(r)) {
			raft_reset_timeout(r);
			return;
		}
		raft_become_precandidate(r, "election timeout");
	}
}

void raft_leader_unreachable(struct raft *r)
{
	if (r->role != RAFT_FOLLOWER || r->leader == 0)
		return;
	raft_logf(r, "term %llu: leader %llu is unreachable", (unsigned long long)r->term,
		  (unsigned long long)r->leader);
	r->leader = 0; /* out of its lease: (pre-)votes are granted again */
	r->election_elapsed = 0;
	/* campaign soon, not after a whole election timeout; the spread keeps two followers
	 * from splitting the vote */
	r->timeout = 1 + (uint32_t)(raft_rand(r) % (r->heartbeat_ticks * 2 + 1));
}

static void raft_reply_append(struct raft *r, const struct raft_msg *req, enum raft_msg_type type)
{
	struct raft_msg *m = raft_send(r, type, req->from);
	m->index = r->match_leader;
	m->durable = r->persisted < r->match_leader ? r->persisted : r->match_leader;
	r->acked_durable = m->durable;
}

static void raft_commit_to(struct raft *r, uint64_t leader_commit)
{
	uint64_t c = leader_commit < r->match_leader ? leader_commit : r->match_leader;
	if (c > r->commit)
		r->commit = c;
}

static int raft_handle_append(struct raft *r, const struct raft_msg *m)
{
	r->leader = m->from;
	r->election_elapsed = 0;
	uint64_t prev = m->prev_index, prev_term = m->prev_term;
	const struct raft_entry *ents = m->entries;
	size_t n = m->n_entries;
	if (prev < r->base_index) {
		/* we have this prefix in a snapshot: it is committed, so it matches */
		uint64_t skip = r->base_index - prev;
		if (skip >= n) {
			ents = NULL;
			n = 0;
		} else {
			ents += skip;
			n -= (size_t)skip;
		}
		prev = r->base_index;
		prev_term = r->base_term;
	}
	if (prev > raft_last(r) || raft_term_at(r, prev) != prev_term) {
		struct raft_msg *resp = raft_send(r, RAFT_MSG_APPEND_RESP, m->from);
		resp->reject = true;
		resp->reject_index = m->prev_index;
		if (prev > raft_last(r)) {
			resp->hint_index = raft_last(r) + 1;
		} else {
			uint64_t t = raft_term_at(r, prev), i = prev;
			while (i > r->base_index + 1 && raft_term_at(r, i - 1) == t)
				i--;
			resp->hint_term = t;
			resp->hint_index = i;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		/* a leader never asks to change what we know is committed */
		const struct raft_entry *e = &ents[i];
		if (e->index > raft_last(r))
			break;
		if (raft_term_at(r, e->index) != e->term) {
			if (e->index <= r->commit) {
				raft_logf(r, "term %llu: leader %llu conflicts with committed entry %llu",
					  (unsigned long long)r->term, (unsigned long long)m->from,
					  (unsigned long long)e->index);
				return ERR_PROTO;
			}
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct raft_entry *e = &ents[i];
		if (e->index <= raft_last(r)) {
			if (raft_term_at(r, e->index) == e->term)
				continue;
			raft_log_truncate(r, e->index);
		}
		raft_log_append(r, e);
	}
	uint64_t matched = prev + n;
	if (matched > r->match_leader)
		r->match_leader = matched;
	raft_commit_to(r, m->commit);
	raft_reply_append(r, m, RAFT_MSG_APPEND_RESP);
	return 0;
}

static void raft_handle_snapshot(struct raft *r, const struct raft_msg *m)
{
	r->leader = m->from;
	r->election_elapsed = 0;
	uint64_t si = m->snap.index;
	if (si <= r->commit || raft_term_at(r, si) == m->snap.term) {
		/* nothing to install: what we have up to si is committed or matches */
		uint64_t known = si > r->commit ? si : r->commit;
		if (known > r->match_leader)
			r->match_leader = known;
		raft_commit_to(r, m->commit > si ? si : m->commit);
		if (si > r->commit)
			r->commit = si;
		raft_reply_append(r, m, RAFT_MSG_SNAPSHOT_RESP);
		return;
	}
	raft_logf(r, "term %llu: installing snapshot %llu/%llu from %llu", (unsigned long long)r->term,
		  (unsigned long long)si, (unsigned long long)m->snap.term, (unsigned long long)m->from);
	for (size_t i = 0; i < r->nlog; i++)
		free(r->log[i].data);
	r->nlog = 0;
	r->base_index = si;
	r->base_term = m->snap.term;
	r->snap = m->snap;
	r->ncfgs = 0;
	raft_cfg_push(r, si, &m->snap.config);
	r->commit = r->applied = si;
	r->persisted = si;
	r->unstable = si + 1;
	r->pending_trunc = 0;
	r->nbatches = 0; /* earlier writes are superseded; their reports are ignored */
	r->match_leader = si;
	free(r->snap_data);
	r->snap_data = raft_dup(m->snap_data, m->snap_len);
	r->snap_len = m->snap_len;
	r->snap_pending = true;
	raft_reply_append(r, m, RAFT_MSG_SNAPSHOT_RESP);
}

static void raft_handle_append_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *p = raft_pr(r, m->from);
	if (!p)
		return;
	p->active = true;
	uint64_t last = raft_last(r);
	if (m->reject) {
		if (m->type != RAFT_MSG_APPEND_RESP || p->state == RAFT_PR_SNAPSHOT)
			return;
		if (p->state == RAFT_PR_PROBE && m->reject_index != p->next - 1)
			return; /* stale */
		if (p->state == RAFT_PR_REPLICATE && m->reject_index <= p->match)
			return; /* stale */
		uint64_t next = m->hint_index;
		if (m->hint_term) {
			uint64_t i = m->reject_index < last ? m->reject_index : last;
			while (i > r->base_index && raft_term_at(r, i) > m->hint_term)
				i--;
			if (i > r->base_index && raft_term_at(r, i) == m->hint_term)
				next = i + 1;
		}
		if (next > m->reject_index)
			next = m->reject_index;
		if (next < p->match + 1)
			next = p->match + 1;
		if (next > last + 1)
			next = last + 1;
		p->next = next;
		p->state = RAFT_PR_PROBE;
		p->paused = false;
		raft_send_append(r, p, false);
		return;
	}
	uint64_t idx = m->index > last ? last : m->index;
	uint64_t dur = m->durable > idx ? idx : m->durable;
	if (idx + 1 > p->next)
		p->next = idx + 1;
	if (p->state == RAFT_PR_SNAPSHOT) {
		if (idx < p->snap_index && m->type == RAFT_MSG_APPEND_RESP)
			return; /* an answer from before the snapshot */
		p->next = idx + 1;
	}
	if (p->state != RAFT_PR_REPLICATE) {
		p->state = RAFT_PR_REPLICATE;
		p->next = idx + 1;
	}
	p->paused = false;
	if (dur > p->match) {
		uint64_t before = r->commit;
		p->match = dur;
		raft_maybe_commit(r);
		if (r->role != RAFT_LEADER)
			return;
		if (r->commit > before) {
			/* tell every follower at once (an empty append carries the commit index), so that
			 * they apply and answer their clients without waiting for the next heartbeat */
			for (size_t i = 0; i < r->nprs; i++)
				if (r->prs[i].state == RAFT_PR_REPLICATE)
					raft_send_append(r, &r->prs[i], true);
			return;
		}
	}
	raft_send_append(r, p, false);
}

static void raft_handle_vote_req(struct raft *r, const struct raft_msg *m, bool pre)
{
	bool can = r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
	bool log_ok = m->last_term > raft_last_term(r) ||
		      (m->last_term == raft_last_term(r) && m->last_index >= raft_last(r));
	bool grant = can && log_ok;
	struct raft_msg *resp = raft_send(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
	resp->granted = grant;
	if (pre) {
		if (grant)
			resp->term = m->term;
	} else if (grant) {
		r->vote = m->from;
		r->hs_dirty = true;
		raft_reset_timeout(r);
	}
}

static void raft_handle_vote_resp(struct raft *r, const struct raft_msg *m, bool pre)
{
	if (pre) {
		if (r->role != RAFT_PRECANDIDATE || (m->granted && m->term != r->term + 1))
			return;
	} else if (r->role != RAFT_CANDIDATE || m->term != r->term) {
		return;
	}
	raft_record_answer(r, m->from, m->granted);
	int t = raft_tally(r);
	if (t > 0) {
		if (pre)
			raft_become_candidate(r);
		else
			raft_become_leader(r);
	} else if (t < 0) {
		raft_become_follower(r, r->term, 0, pre ? "pre-vote rejected" : "vote rejected");
	}
}

/* Everything a peer's message must satisfy before it may change anything. */
static int raft_msg_valid(const struct raft *r, const struct raft_msg *m)
{
	if (m->to != r->id || m->from == 0 || m->from == r->id || (unsigned)m->type >= RAFT_MSG_TYPE_COUNT ||
	    m->term == 0)
		return ERR_PROTO;
	if (m->type == RAFT_MSG_APPEND_REQ) {
		if (m->n_entries && !m->entries)
			return ERR_PROTO;
		uint64_t t = m->prev_term;
		if (m->prev_term > m->term || (m->prev_index == 0 && m->prev_term != 0))
			return ERR_PROTO;
		for (size_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];
			struct raft_config c;
			if (e->index != m->prev_index + 1 + i || e->term < t || e->term > m->term ||
			    (unsigned)e->type > RAFT_ENTRY_NOOP || (e->len && !e->data))
				return ERR_PROTO;
			if (e->type == RAFT_ENTRY_CONFIG && raft_config_decode(&c, e->data, e->len) != 0)
				return ERR_PROTO;
			t = e->term;
		}
	}
	if (m->type == RAFT_MSG_SNAPSHOT_REQ &&
	    (m->snap.index == 0 || m->snap.term == 0 || m->snap.term > m->term ||
	     raft_cfg_valid(&m->snap.config) != 0 || (m->snap_len && !m->snap_data)))
		return ERR_PROTO;
	if ((m->type == RAFT_MSG_APPEND_RESP || m->type == RAFT_MSG_SNAPSHOT_RESP) && !m->reject &&
	    m->durable > m->index)
		return ERR_PROTO;
	return 0;
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
	int rc = raft_msg_valid(r, m);
	if (rc)
		return rc;
	bool leader_msg = m->type == RAFT_MSG_APPEND_REQ || m->type == RAFT_MSG_SNAPSHOT_REQ;
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_PREVOTE_REQ || m->type == RAFT_MSG_VOTE_REQ) {
			if (raft_in_lease(r))
				return 0;
			if (m->type == RAFT_MSG_VOTE_REQ)
				raft_become_follower(r, m->term, 0, "vote request of a higher term");
		} else if (m->type == RAFT_MSG_PREVOTE_RESP && m->granted) {
			/* the term we would campaign in: not ours yet */
		} else {
			raft_become_follower(r, m->term, leader_msg ? m->from : 0,
					     leader_msg ? "leader of a higher term" : "higher term seen");
		}
	} else if (m->term < r->term) {
		if (leader_msg) {
			/* a stale leader: our term in the answer makes it step down */
			struct raft_msg *resp = raft_send(r, RAFT_MSG_APPEND_RESP, m->from);
			resp->reject = true;
			resp->reject_index = m->prev_index;
		} else if (m->type == RAFT_MSG_PREVOTE_REQ || m->type == RAFT_MSG_VOTE_REQ) {
			struct raft_msg *resp = raft_send(
				r, m->type == RAFT_MSG_PREVOTE_REQ ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
				m->from);
			resp->granted = false;
		}
		return 0;
	}
	if (leader_msg) {
		if (r->role == RAFT_LEADER) {
			raft_logf(r, "term %llu: a second leader %llu in our term", (unsigned long long)r->term,
				  (unsigned long long)m->from);
			return ERR_PROTO;
		}
		if (r->role != RAFT_FOLLOWER)
			raft_become_follower(r, m->term, m->from, "a leader of our term");
	}
	switch (m->type) {
	case RAFT_MSG_PREVOTE_REQ:
	case RAFT_MSG_VOTE_REQ:
		raft_handle_vote_req(r, m, m->type == RAFT_MSG_PREVOTE_REQ);
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		raft_handle_vote_resp(r, m, m->type == RAFT_MSG_PREVOTE_RESP);
		break;
	case RAFT_MSG_APPEND_REQ:
		return raft_handle_append(r, m);
	case RAFT_MSG_SNAPSHOT_REQ:
		raft_handle_snapshot(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
	case RAFT_MSG_SNAPSHOT_RESP:
		if (r->role == RAFT_LEADER)
			raft_handle_append_resp(r, m);
		break;
	case RAFT_MSG_TYPE_COUNT:
		break;
	}
	return 0;
}

int raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index)
{
	if (r->role != RAFT_LEADER)
		return ERR_NOTLEADER;
	raft_leader_append(r, RAFT_ENTRY_NORMAL, data, len, index);
	return 0;
}

int raft_propose_config(struct raft *r, const struct raft_config *cfg, uint64_t *index)
{
	if (r->role != RAFT_LEADER)
		return ERR_NOTLEADER;
	if (raft_cfg_valid(cfg) != 0 || raft_cfg_voters(cfg) == 0)
		return ERR_INVAL;
	if (r->cfgs[r->ncfgs - 1].index > r->commit || r->commit < r->term_start)
		return ERR_BUSY;
	const struct raft_config *cur = raft_cfg_latest(r);
	uint32_t diff = 0;
	for (uint32_t i = 0; i < cfg->n; i++)
		diff += cfg->servers[i].voter != raft_config_is_voter(cur, cfg->servers[i].id);
	for (uint32_t i = 0; i < cur->n; i++)
		diff += cur->servers[i].voter && !raft_config_has(cfg, cur->servers[i].id);
	if (diff > 1)
		return ERR_INVAL;
	uint8_t buf[2 + RAFT_MAX_SERVERS * 9];
	size_t len = raft_config_encode(cfg, buf, sizeof(buf));
	raft_logf(r, "term %llu: proposing a configuration of %u servers (%u voters)",
		  (unsigned long long)r->term, cfg->n, raft_cfg_voters(cfg));
	raft_leader_append(r, RAFT_ENTRY_CONFIG, buf, len, index);
	return 0;
}

void raft_persisted(struct raft *r, uint64_t seq)
{
	size_t k = 0;
	while (k < r->nbatches && r->batches[k].seq <= seq)
		k++;
	if (k == 0)
		return; /* unknown or superseded by a snapshot */
	struct raft_batch done = r->batches[k - 1];
	memmove(r->batches, r->batches + k, (r->nbatches - k) * sizeof(*r->batches));
	r->nbatches -= k;
	/* The disk now ends at done.last_index. A truncation issued after it (still on its way, or
	 * not handed out yet) may remove part of that, so only the prefix below every such
	 * truncation counts. */
	uint64_t upto = done.last_index;
	for (size_t i = 0; i < r->nbatches; i++)
		if (r->batches[i].trunc_from && r->batches[i].trunc_from - 1 < upto)
			upto = r->batches[i].trunc_from - 1;
	if (r->pending_trunc && r->pending_trunc - 1 < upto)
		upto = r->pending_trunc - 1;
	if (upto == done.last_index && raft_term_at(r, upto) != done.last_term)
		return; /* cannot happen without a truncation (above); be conservative */
	if (upto <= r->persisted)
		return;
	r->persisted = upto;
	if (r->role == RAFT_LEADER) {
		raft_maybe_commit(r);
	} else if (r->leader && r->leader != r->id && r->match_leader) {
		uint64_t dur = r->persisted < r->match_leader ? r->persisted : r->match_leader;
		if (dur > r->acked_durable) {
			struct raft_msg *m = raft_send(r, RAFT_MSG_APPEND_RESP, r->leader);
			m->index = r->match_leader;
			m->durable = dur;
			r->acked_durable = dur;
		}
	}
}

int raft_snapshot_done(struct raft *r, uint64_t index)
{
	if (index > r->applied || index <= r->snap.index || index < r->base_index)
		return ERR_INVAL;
	r->snap.index = index;
	r->snap.term = raft_term_at(r, index);
	r->snap.config = *raft_cfg_at(r, index);
	RAFT_CHECK(r, r->snap.term != 0);
	if (r->persisted < index)
		r->persisted = index; /* committed, so never truncated; durable in the snapshot */
	if (r->unstable <= index)
		r->unstable = index + 1; /* no need to write what the snapshot holds */
	if (r->role == RAFT_LEADER)
		raft_maybe_commit(r);
	return 0;
}

int raft_compact(struct raft *r, uint64_t index)
{
	if (index > r->snap.index)
		return ERR_INVAL;
	if (index <= r->base_index)
		return 0;
	uint64_t term = raft_term_at(r, index);
	size_t drop = (size_t)(index - r->base_index);
	for (size_t i = 0; i < drop; i++)
		free(r->log[i].data);
	memmove(r->log, r->log + drop, (r->nlog - drop) * sizeof(*r->log));
	r->nlog -= drop;
	r->base_index = index;
	r->base_term = term;
	/* keep the configuration in force at the base and every later one */
	size_t keep = 0;
	while (keep + 1 < r->ncfgs && r->cfgs[keep + 1].index <= index)
		keep++;
	if (keep) {
		memmove(r->cfgs, r->cfgs + keep, (r->ncfgs - keep) * sizeof(*r->cfgs));
		r->ncfgs -= keep;
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------------------- */

bool raft_ready_take(struct raft *r, struct raft_ready *rd)
{
	memset(rd, 0, sizeof(*rd));
	bool any = false;
	if (r->hs_dirty) {
		rd->hs_changed = true;
		rd->term = r->term;
		rd->vote = r->vote;
		r->hs_dirty = false;
		any = true;
	}
	if (r->snap_pending) {
		rd->has_snapshot = true;
		rd->snapshot = r->snap;
		rd->snap_data = r->snap_data;
		rd->snap_len = r->snap_len;
		r->snap_data = NULL;
		r->snap_len = 0;
		r->snap_pending = false;
		any = true;
	}
	uint64_t last = raft_last(r);
	if (r->pending_trunc || r->unstable <= last) {
		if (r->nbatches == r->capbatches) {
			r->capbatches = r->capbatches ? 2 * r->capbatches : 8;
			r->batches = raft_xrealloc(r->batches, r->capbatches * sizeof(*r->batches));
		}
		struct raft_batch *b = &r->batches[r->nbatches++];
		b->seq = ++r->next_seq;
		b->last_index = last;
		b->last_term = raft_last_term(r);
		b->trunc_from = r->pending_trunc;
		rd->persist_seq = b->seq;
		rd->truncate_from = r->pending_trunc;
		rd->entries = raft_copy_range(r, r->unstable, last, &rd->n_entries);
		r->unstable = last + 1;
		r->pending_trunc = 0;
		any = true;
	}
	if (r->commit > r->applied) {
		rd->committed = raft_copy_range(r, r->applied + 1, r->commit, &rd->n_committed);
		r->applied = r->commit;
		any = true;
	}
	if (r->nmsgs) {
		rd->msgs = r->msgs;
		rd->n_msgs = r->nmsgs;
		r->msgs = NULL;
		r->nmsgs = r->capmsgs = 0;
		any = true;
	}
	return any;
}

void raft_ready_clear(struct raft_ready *rd)
{
	if (!rd)
		return;
	free(rd->snap_data);
	raft_entries_free(rd->entries, rd->n_entries);
	for (size_t i = 0; i < rd->n_msgs; i++)
		raft_msg_clear(&rd->msgs[i]);
	free(rd->msgs);
	raft_entries_free(rd->committed, rd->n_committed);
	memset(rd, 0, sizeof(*rd));
}

/* ---- state ------------------------------------------------------------------------------ */

uint64_t raft_id(const struct raft *r) { return r->id; }
enum raft_role raft_role(const struct raft *r) { return r->role; }
uint64_t raft_term(const struct raft *r) { return r->term; }
uint64_t raft_vote(const struct raft *r) { return r->vote; }
uint64_t raft_leader(const struct raft *r) { return r->leader; }
uint64_t raft_commit_index(const struct raft *r) { return r->commit; }
uint64_t raft_last_index(const struct raft *r) { return raft_last(r); }
uint64_t raft_durable_index(const struct raft *r) { return r->persisted; }
uint64_t raft_snapshot_index(const struct raft *r) { return r->snap.index; }
const char *raft_reason(const struct raft *r) { return r->reason; }
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r) { return &r->snap; }

const struct raft_config *raft_config(const struct raft *r, uint64_t *index)
{
	if (index)
		*index = r->cfgs[r->ncfgs - 1].index;
	return raft_cfg_latest(r);
}

uint64_t raft_peer_match(const struct raft *r, uint64_t id)
{
	if (r->role != RAFT_LEADER)
		return 0;
	const struct raft_progress *p = NULL;
	for (size_t i = 0; i < r->nprs; i++)
		if (r->prs[i].id == id)
			p = &r->prs[i];
	return p ? p->match : 0;
}

uint32_t raft_synced_voters(const struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return 0;
	const struct raft_config *cfg = raft_cfg_latest(r);
	uint32_t n = 0;
	for (uint32_t i = 0; i < cfg->n; i++)
		if (cfg->servers[i].voter && raft_match_of(r, cfg->servers[i].id) >= r->commit)
			n++;
	return n;
}

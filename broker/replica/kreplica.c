/*
 * kreplica — the replica manager (see kreplica.h): hosted partitions (klog + krepl) in a hash
 * table by topic and partition, the purgatory of acks=all produces, the carrying out of
 * krepl's actions, and the two checkpoint files of the log directory.
 *
 * Invariants: a hosted partition's published HW (p->hw) only ever takes the values of krepl's
 * HW actions (or krepl's HW at creation), so nothing is shown past what krepl says; the klog's
 * end offset equals krepl_log_end() after every carried-out batch of actions, else the
 * partition is failed (it serves nothing more); a purgatory entry exists exactly while its
 * slot waits (waiting == true) and krepl holds its token.
 */
#include "kreplica.h"

#include "err.h"
#include "kbatch.h"
#include "kckpt.h"
#include "kclean.h"
#include "kpstate.h"
#include "ktxnidx.h"
#include "log.h"
#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

static const char *const KRM_MOD = "replica";

#define KRM_BUCKETS 1024
#define KRM_ISR_BACKOFF_MS 1000
#define KRM_E_NONE 0

struct krm_part;

/* A waiting slot of a held produce: in its partition's list, keyed by krepl's token. */
struct krm_pwait {
	LIST_ENTRY(krm_pwait) link;
	struct krm_part *p;
	struct krm_produce *pr;
	size_t slot;
	uint64_t token;
	bool linked;
};

struct krm_produce {
	struct krm *rm;
	krm_produce_cb cb;
	void *arg;
	size_t n, n_waiting;
	bool submitted;
	struct krm_pres *res;
	struct krm_pwait *waits; /* one per slot */
};

struct krm_part {
	struct krm_part *hnext;
	LIST_ENTRY(krm_part) link;
	char topic[KRM_TOPIC_MAX + 1];
	int32_t part;
	char dir[4096];
	struct klog *log;
	struct krepl *k;
	struct kpstate *ps; /* producer state: covers every batch of the log (see krm_pstate_load) */
	struct ktxnidx *ti; /* aborted transactions of the whole log, with their .txnindex files */
	bool ti_loading;    /* krm_pstate_load runs: ended transactions go to ti only, not to files */
	int64_t snap_base;  /* the active segment's base when the last roll snapshot was considered */
	int64_t hw;	  /* published */
	int64_t recovery; /* flushed below here */
	int32_t ctrl_epoch;
	bool failed;
	bool following;
	int running; /* krm_run is carrying out this partition's actions */
	/* ISR writes: after a refused one the next waits KRM_ISR_BACKOFF_MS (held here, krepl
	 * keeps it in flight), so that a stale zk version cannot make every tick write */
	int64_t isr_refused_at; /* -1: the last write was not refused */
	bool isr_deferred;
	struct krepl_state isr_state;
	int32_t followed_leader, followed_epoch;
	LIST_HEAD(, krm_pwait) waits;
};

struct krm {
	int32_t id;
	char log_dir[3800];
	int64_t lag_max;
	int64_t pid_expiration_ms;
	struct fsyncq *fsq;
	struct kclean *cleaner;
	klog_flushed_cb flushed;
	void *flushed_arg;
	const struct krm_ops *ops;
	void *arg;
	int64_t (*clock)(void);
	uint64_t next_token;
	size_t n_waiting;
	struct krm_part *buckets[KRM_BUCKETS];
	LIST_HEAD(, krm_part) parts;
	/* start-up checkpoint entries of partitions not hosted (yet): kept in the files */
	struct kckpt_offset *hw_ckpt, *rp_ckpt;
	size_t n_hw_ckpt, n_rp_ckpt;
};

static int64_t krm_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned krm_hash(const char *topic, int32_t part)
{
	uint32_t h = 2166136261u;
	for (const char *s = topic; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint32_t)part) * 16777619u;
	return h % KRM_BUCKETS;
}

static struct krm_part *krm_find(const struct krm *rm, const char *topic, int32_t part)
{
	for (struct krm_part *p = rm->buckets[krm_hash(topic, part)]; p; p = p->hnext)
		if (p->part == part && !strcmp(p->topic, topic))
			return p;
	return NULL;
}

static int64_t krm_ckpt_lookup(const struct kckpt_offset *o, size_t n, const char *topic, int32_t part, int64_t dflt)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].partition == part && !strcmp(o[i].topic, topic))
			return o[i].offset;
	return dflt;
}

static void krm_ckpt_forget(struct kckpt_offset *o, size_t *n, const char *topic, int32_t part)
{
	for (size_t i = 0; i < *n; i++) {
		if (o[i].partition == part && !strcmp(o[i].topic, topic)) {
			o[i] = o[--*n];
			return;
		}
	}
}

/* ---- life ---- */

struct krm *krm_new(const struct krm_opts *o, char *err, size_t errlen)
{
	struct krm *rm = calloc(1, sizeof(*rm));
	if (!rm) {
		err_set(err, errlen, ERR_NOMEM, "out of memory");
		return NULL;
	}
	rm->id = o->broker_id;
	snprintf(rm->log_dir, sizeof(rm->log_dir), "%s", o->log_dir);
	rm->lag_max = o->lag_time_max_ms > 0 ? o->lag_time_max_ms : 10000;
	rm->pid_expiration_ms = o->pid_expiration_ms > 0 ? o->pid_expiration_ms : KPSTATE_EXPIRATION_MS_DEFAULT;
	rm->fsq = o->fsq;
	rm->cleaner = o->cleaner;
	rm->flushed = o->flushed;
	rm->flushed_arg = o->flushed_arg;
	rm->ops = o->ops;
	rm->arg = o->arg;
	rm->clock = o->clock ? o->clock : krm_wall_ms;
	rm->next_token = 1;
	LIST_INIT(&rm->parts);
	char path[4200];
	snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", rm->log_dir);
	int rc = kckpt_offsets_read(path, &rm->hw_ckpt, &rm->n_hw_ckpt, err, errlen);
	if (rc && rc != ERR_NOTFOUND)
		goto fail;
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", rm->log_dir);
	rc = kckpt_offsets_read(path, &rm->rp_ckpt, &rm->n_rp_ckpt, err, errlen);
	if (rc && rc != ERR_NOTFOUND)
		goto fail;
	if (err && errlen)
		err[0] = '\0';
	return rm;
fail:
	free(rm->hw_ckpt);
	free(rm->rp_ckpt);
	free(rm);
	return NULL;
}

static void krm_part_drop(struct krm *rm, struct krm_part *p, bool delete_log);

void krm_free(struct krm *rm)
{
	if (!rm)
		return;
	struct krm_part *p;
	char eb[512];
	/* the logs are closed (fsynced) below: everything they hold is then the recovery point */
	LIST_FOREACH(p, &rm->parts, link)
		if (p->log && !p->failed && !klog_flush(p->log, eb, sizeof(eb)))
			p->recovery = klog_end_offset(p->log);
	if (krm_checkpoint(rm, eb, sizeof(eb)))
		log_error(KRM_MOD, "at shutdown: %s", eb);
	while ((p = LIST_FIRST(&rm->parts)))
		krm_part_drop(rm, p, false);
	free(rm->hw_ckpt);
	free(rm->rp_ckpt);
	free(rm);
}

/* ---- the purgatory ---- */

static void krm_pwait_unlink(struct krm *rm, struct krm_pwait *w)
{
	if (!w->linked)
		return;
	LIST_REMOVE(w, link);
	w->linked = false;
	rm->n_waiting--;
}

static void krm_complete(struct krm *rm, struct krm_part *p, uint64_t token, int16_t error)
{
	struct krm_pwait *w;
	LIST_FOREACH(w, &p->waits, link)
		if (w->token == token)
			break;
	if (!w)
		return; /* its produce was freed (the client went away) */
	struct krm_produce *pr = w->pr;
	krm_pwait_unlink(rm, w);
	pr->res[w->slot].error = error;
	pr->res[w->slot].waiting = false;
	if (--pr->n_waiting == 0 && pr->submitted)
		pr->cb(pr->arg, pr);
}

struct krm_produce *krm_produce_new(struct krm *rm, size_t n, krm_produce_cb cb, void *arg)
{
	struct krm_produce *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->res = calloc(n ? n : 1, sizeof(*pr->res));
	pr->waits = calloc(n ? n : 1, sizeof(*pr->waits));
	if (!pr->res || !pr->waits) {
		krm_produce_free(pr);
		return NULL;
	}
	pr->rm = rm;
	pr->cb = cb;
	pr->arg = arg;
	pr->n = n;
	for (size_t i = 0; i < n; i++)
		pr->res[i] = (struct krm_pres){ KRM_E_NONE, -1, -1, false };
	return pr;
}

bool krm_produce_submit(struct krm *rm, struct krm_produce *pr)
{
	(void)rm;
	pr->submitted = true;
	return pr->n_waiting == 0;
}

const struct krm_pres *krm_produce_result(const struct krm_produce *pr, size_t i)
{
	return &pr->res[i];
}

size_t krm_produce_count(const struct krm_produce *pr)
{
	return pr->n;
}

void krm_produce_free(struct krm_produce *pr)
{
	if (!pr)
		return;
	for (size_t i = 0; pr->waits && i < pr->n; i++)
		krm_pwait_unlink(pr->rm, &pr->waits[i]);
	free(pr->waits);
	free(pr->res);
	free(pr);
}

size_t krm_purgatory_size(const struct krm *rm)
{
	return rm->n_waiting;
}

/* ---- carrying out krepl's actions ---- */

static void krm_fail(struct krm *rm, struct krm_part *p, const char *what, const char *eb)
{
	log_error(KRM_MOD, "%s-%d: %s: %s; the partition is offline until a restart", p->topic, p->part, what, eb);
	p->failed = true;
	if (p->following && rm->ops && rm->ops->unfollow)
		rm->ops->unfollow(rm->arg, p->topic, p->part);
	p->following = false;
	if (krepl_role(p->k) != KREPL_OFFLINE)
		krepl_stop(p->k); /* answers its held produces (carried out by the caller's loop) */
}

static void krm_write_epochs(struct krm *rm, struct krm_part *p)
{
	char path[4200], eb[512];
	size_t n;
	const struct kepoch_entry *e = kepoch_entries(krepl_epochs(p->k), &n);
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", p->dir);
	if (kckpt_epochs_write(path, e, n, eb, sizeof(eb)))
		krm_fail(rm, p, "writing leader-epoch-checkpoint", eb);
}

/* ---- producer state (the idempotent producer: Kafka's ProducerStateManager inside its Log) ----
 * Invariant: p->ps covers every batch of p->log. It is loaded when the partition is hosted (the
 * newest snapshot plus the log after it), updated after every append (leader and follower, from
 * the batches as stored), and reloaded after a truncation or reset (the snapshots above the new
 * end deleted first: Kafka's truncateAndReload). Snapshots are written when the active segment
 * rolls (named by its base, which the state then covers exactly) and at a clean close (named by
 * the log end), and deleted below the log start once retention moved it. */

/* The base offsets of p's segments, ascending, in a new array (NULL without memory). */
static int64_t *krm_seg_bases(struct krm_part *p, size_t *n)
{
	int cnt = klog_segment_count(p->log);
	int64_t *v = malloc((cnt > 0 ? (size_t)cnt : 1) * sizeof(*v));
	*n = 0;
	if (!v)
		return NULL;
	for (int i = 0; i < cnt; i++)
		v[i] = klog_segment_base(p->log, i);
	*n = (size_t)cnt;
	return v;
}

/* A marker ended a transaction (kpstate's txn callback): an abort joins the partition's aborted
 * transactions, and, unless the state is being loaded, the .txnindex file of the segment that
 * holds the marker (the active one: it was just appended). */
static void krm_txn_done(void *arg, const struct kpstate_txn *t)
{
	struct krm_part *p = arg;
	if (!t->aborted)
		return;
	struct ktxnidx_entry e = { t->producer_id, t->first_offset, t->last_offset, t->lso };
	char eb[512];
	if (ktxnidx_add(p->ti, &e))
		log_warn(KRM_MOD, "%s-%d: aborted transaction at %" PRId64 " not indexed: out of memory", p->topic, p->part,
			 t->last_offset);
	else if (!p->ti_loading &&
		 ktxnidx_file_append(p->dir, klog_segment_base(p->log, klog_segment_count(p->log) - 1), &e, eb, sizeof(eb)))
		log_warn(KRM_MOD, "%s-%d: %s (rebuilt from the log at the next start)", p->topic, p->part, eb);
}

/* The aborted transactions after the producer state was loaded from a snapshot at snap (-1:
 * none) and the log after it: those the replay met are in p->ti already; those below are read
 * from the segments' .txnindex files; a segment without one had no abort (Kafka makes the file
 * at a segment's first abort, and an abort whose entry a crash lost is above the last snapshot,
 * so the replay meets it). A segment below the replay with a bad file has the state rebuilt
 * from the whole log instead, which finds every marker. Then every segment's file is rewritten
 * from memory (files of segments gone or without aborts are deleted). */
static int krm_txn_load(struct krm *rm, struct krm_part *p, int64_t snap, int64_t now, char *eb, size_t el)
{
	int64_t start = klog_start_offset(p->log), end = klog_end_offset(p->log);
	int64_t from = snap >= 0 ? snap : start;
	size_t n;
	int64_t *bases = krm_seg_bases(p, &n);
	if (!bases)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	bool rebuild = false;
	for (size_t i = 0; i < n && bases[i] < from && !rebuild; i++) {
		char why[512];
		int rc = ktxnidx_file_read(p->ti, p->dir, bases[i], why, sizeof(why));
		if (rc == ERR_NOMEM) {
			free(bases);
			return err_set(eb, el, rc, "%s", why);
		}
		if (rc && rc != ERR_NOTFOUND) {
			log_warn(KRM_MOD, "%s-%d: %s; rebuilding the aborted transactions from the log", p->topic, p->part,
				 why);
			rebuild = true;
		}
	}
	int rc = 0;
	if (rebuild) {
		ktxnidx_clear(p->ti);
		rc = kpstate_rebuild(p->ps, p->log, now, rm->pid_expiration_ms, eb, el);
		if (!rc)
			log_info(KRM_MOD, "%s-%d: producer state and aborted transactions rebuilt from the log (%zu aborted)",
				 p->topic, p->part, ktxnidx_count(p->ti));
	}
	ktxnidx_truncate(p->ti, end);
	ktxnidx_trim(p->ti, start);
	char why[512];
	if (!rc && ktxnidx_write_all(p->ti, p->dir, bases, n, why, sizeof(why)))
		log_warn(KRM_MOD, "%s-%d: %s", p->topic, p->part, why);
	free(bases);
	return rc;
}

/* Loads p->ps from the snapshots and the log, and the aborted transactions; 0 or the error (in eb). */
static int krm_pstate_load(struct krm *rm, struct krm_part *p, int64_t now, char *eb, size_t el)
{
	int64_t snap = -1;
	ktxnidx_clear(p->ti);
	p->ti_loading = true;
	int rc = kpstate_load(p->ps, p->log, now, rm->pid_expiration_ms, &snap, eb, el);
	if (!rc)
		rc = krm_txn_load(rm, p, snap, now, eb, el);
	p->ti_loading = false;
	if (rc)
		return rc;
	p->snap_base = klog_segment_base(p->log, klog_segment_count(p->log) - 1);
	if (kpstate_count(p->ps))
		log_info(KRM_MOD, "%s-%d: %zu producer(s) loaded (snapshot %" PRId64 ", log to %" PRId64 ")", p->topic,
			 p->part, kpstate_count(p->ps), snap, klog_end_offset(p->log));
	return 0;
}

/* After a truncation to end (-1: a reset, every snapshot goes): Kafka's truncateAndReload. */
static int krm_pstate_reload(struct krm *rm, struct krm_part *p, int64_t end, int64_t now, char *eb, size_t el)
{
	int rc = kpstate_snapshot_prune(p->dir, 0, end, eb, el);
	if (!rc)
		rc = krm_pstate_load(rm, p, now, eb, el);
	return rc;
}

/* Before the state takes the batches just appended (or after housekeeping): when the active
 * segment rolled since the last look, the state, which then covers the log up to the new
 * segment's base, is written as that base's snapshot (Kafka's Log.roll). A failed write is only
 * logged: a restart rebuilds the state from the log. */
static void krm_pstate_roll(struct krm_part *p)
{
	int64_t base = klog_segment_base(p->log, klog_segment_count(p->log) - 1);
	if (base == p->snap_base)
		return;
	p->snap_base = base;
	char eb[512];
	if (kpstate_snapshot_write(p->ps, p->dir, base, eb, sizeof(eb)))
		log_warn(KRM_MOD, "%s-%d: producer state snapshot at the roll to %" PRId64 ": %s", p->topic, p->part, base,
			 eb);
}

/* The state takes the appended batches (validated, as stored). Only a full map leaves one out. */
static void krm_pstate_update(struct krm_part *p, const uint8_t *batches, size_t len)
{
	char eb[256];
	int rc = kpstate_update_batches(p->ps, batches, len, eb, sizeof(eb));
	if (rc)
		log_warn(KRM_MOD, "%s-%d: producer state not updated: %s", p->topic, p->part,
			 rc == ERR_FULL ? "too many producers" : eb);
}

/* One fetched batch for an APPEND action: the bytes at *pos of records must be the batch
 * [a->offset, a->last_offset]. */
static int krm_append_fetched(struct krm_part *p, const struct krepl_action *a, const uint8_t *records, size_t len,
			      size_t *pos, int64_t now, char *eb, size_t el)
{
	struct kbatch_hdr h;
	if (!records || len - *pos < KBATCH_HDR_SIZE || kbatch_parse_hdr(records + *pos, len - *pos, &h))
		return err_set(eb, el, ERR_PROTO, "fetched batch at %" PRId64 " missing or malformed", a->offset);
	size_t sz = kbatch_size_of(records + *pos);
	if (sz > len - *pos || h.base_offset != a->offset || h.base_offset + h.last_offset_delta != a->last_offset)
		return err_set(eb, el, ERR_PROTO, "fetched bytes do not hold batch [%" PRId64 ", %" PRId64 "]", a->offset,
			       a->last_offset);
	int rc = klog_append_replica(p->log, records + *pos, sz, now, eb, el);
	if (!rc) {
		krm_pstate_roll(p);
		krm_pstate_update(p, records + *pos, sz);
	}
	*pos += sz;
	return rc;
}

/* Carries out and clears the queued actions, in order, until none is left (an action's
 * callback may queue more). records[0..len): the fetched bytes the APPEND actions refer to. */
static void krm_run(struct krm *rm, struct krm_part *p, const uint8_t *records, size_t len, int64_t now)
{
	size_t pos = 0;
	bool wake = false;
	p->running++;
	for (;;) {
		size_t n;
		const struct krepl_action *qa = krepl_actions(p->k, &n);
		if (n == 0)
			break;
		struct krepl_action *acts = malloc(n * sizeof(*acts));
		if (!acts)
			abort(); /* half-carried-out actions would break the log's invariants */
		memcpy(acts, qa, n * sizeof(*acts));
		krepl_actions_clear(p->k);
		for (size_t i = 0; i < n; i++) {
			const struct krepl_action *a = &acts[i];
			char eb[512];
			switch (a->type) {
			case KREPL_ACT_TRUNCATE:
			case KREPL_ACT_RESET:
				if (p->failed)
					break;
				if ((a->type == KREPL_ACT_RESET ? klog_reset(p->log, a->offset, eb, sizeof(eb))
								: klog_truncate_to(p->log, a->offset, eb, sizeof(eb))))
					krm_fail(rm, p, krepl_action_name(a->type), eb);
				else if (klog_end_offset(p->log) != a->offset) {
					snprintf(eb, sizeof(eb), "log ends at %" PRId64 ", not at %" PRId64 " (a batch boundary?)",
						 klog_end_offset(p->log), a->offset);
					krm_fail(rm, p, krepl_action_name(a->type), eb);
				} else if (krm_pstate_reload(rm, p, a->type == KREPL_ACT_RESET ? -1 : a->offset, now, eb,
							     sizeof(eb))) {
					krm_fail(rm, p, "reloading the producer state", eb);
				}
				if (!p->failed && p->recovery > a->offset)
					p->recovery = a->offset;
				break;
			case KREPL_ACT_APPEND:
				if (p->failed)
					break;
				if (krm_append_fetched(p, a, records, len, &pos, now, eb, sizeof(eb)))
					krm_fail(rm, p, "appending fetched records", eb);
				wake = true;
				break;
			case KREPL_ACT_EPOCHS:
				if (!p->failed)
					krm_write_epochs(rm, p);
				break;
			case KREPL_ACT_ISR_UPDATE:
				if (!rm->ops || !rm->ops->isr_write || p->failed) {
					krepl_isr_result(p->k, a->state.leader_epoch, false, a->state.zk_version, now);
				} else if (p->isr_refused_at >= 0 && now - p->isr_refused_at < KRM_ISR_BACKOFF_MS) {
					p->isr_deferred = true; /* krm_tick writes it once the backoff passed */
					p->isr_state = a->state;
				} else {
					rm->ops->isr_write(rm->arg, p->topic, p->part, &a->state, p->ctrl_epoch);
				}
				break;
			case KREPL_ACT_COMPLETE:
				krm_complete(rm, p, a->token, (int16_t)a->error);
				break;
			case KREPL_ACT_HW:
				p->hw = a->offset;
				wake = true;
				break;
			case KREPL_ACT_TYPE_COUNT:
				break;
			}
		}
		free(acts);
	}
	p->running--;
	if (!p->failed && klog_end_offset(p->log) != krepl_log_end(p->k)) {
		char eb[128];
		snprintf(eb, sizeof(eb), "log end %" PRId64 " differs from the replica's %" PRId64, klog_end_offset(p->log),
			 krepl_log_end(p->k));
		krm_fail(rm, p, "after its actions", eb);
		krm_run(rm, p, NULL, 0, now);
	}
	if (wake && rm->ops && rm->ops->wake)
		rm->ops->wake(rm->arg, p->topic, p->part);
}

/* ---- hosting ---- */

static void krm_krepl_log(void *arg, int32_t broker_id, const char *line)
{
	struct krm_part *p = arg;
	log_info(KRM_MOD, "%s-%d (broker %d): %s", p->topic, p->part, broker_id, line);
}

static struct krm_part *krm_host(struct krm *rm, const char *topic, int32_t part, const struct krm_conf *conf,
				 int64_t now, int *rcp)
{
	char eb[512];
	struct krm_part *p = calloc(1, sizeof(*p));
	struct kepoch_entry *ep = NULL;
	size_t nep = 0;
	int rc;
	*rcp = ERR_NOMEM;
	if (!p)
		return NULL;
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	p->part = part;
	LIST_INIT(&p->waits);
	if (snprintf(p->dir, sizeof(p->dir), "%.3800s/%s-%d", rm->log_dir, topic, part) >= (int)sizeof(p->dir)) {
		rc = ERR_INVAL;
		goto fail;
	}
	rc = klog_open(p->dir, &conf->log, now, &p->log, eb, sizeof(eb));
	if (rc) {
		log_error(KRM_MOD, "cannot open the log of %s-%d: %s", topic, part, eb);
		goto fail;
	}
	if (rm->fsq)
		klog_set_fsyncq(p->log, rm->fsq, rm->flushed, rm->flushed_arg);
	p->ps = kpstate_new();
	p->ti = ktxnidx_new();
	if (!p->ps || !p->ti) {
		rc = ERR_NOMEM;
		goto fail;
	}
	kpstate_set_txn_cb(p->ps, krm_txn_done, p);
	rc = krm_pstate_load(rm, p, now, eb, sizeof(eb));
	if (rc) {
		log_error(KRM_MOD, "cannot load the producer state of %s-%d: %s", topic, part, eb);
		goto fail;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", p->dir);
	rc = kckpt_epochs_read(path, &ep, &nep, eb, sizeof(eb));
	if (rc == ERR_CORRUPT) {
		/* Kafka fails the log directory; here the cache restarts empty, which only makes a
		 * follower fall back to its HW (KIP-101's conservative path) */
		log_error(KRM_MOD, "%s; starting %s-%d without leader epochs", eb, topic, part);
	} else if (rc && rc != ERR_NOTFOUND) {
		log_error(KRM_MOD, "cannot read %s: %s", path, eb);
		goto fail;
	}
	struct krepl_opts ko = {
		.broker_id = rm->id,
		.lag_time_max_ms = rm->lag_max,
		.min_insync = conf->min_insync > 0 ? conf->min_insync : 1,
		.log_start = klog_start_offset(p->log),
		.log_end = klog_end_offset(p->log),
		.high_watermark = krm_ckpt_lookup(rm->hw_ckpt, rm->n_hw_ckpt, topic, part, 0),
		.epochs = rc ? NULL : ep,
		.n_epochs = rc ? 0 : nep,
		.log = krm_krepl_log,
		.log_arg = p,
	};
	p->k = krepl_new(&ko, eb, sizeof(eb));
	if (!p->k && nep) {
		log_error(KRM_MOD, "%s-%d: %s; starting without leader epochs", topic, part, eb);
		ko.epochs = NULL;
		ko.n_epochs = 0;
		p->k = krepl_new(&ko, eb, sizeof(eb));
	}
	free(ep);
	ep = NULL;
	if (!p->k) {
		log_error(KRM_MOD, "%s-%d: %s", topic, part, eb);
		rc = ERR_INVAL;
		goto fail;
	}
	p->hw = krepl_high_watermark(p->k);
	p->recovery = krm_ckpt_lookup(rm->rp_ckpt, rm->n_rp_ckpt, topic, part, klog_start_offset(p->log));
	if (p->recovery > klog_end_offset(p->log))
		p->recovery = klog_end_offset(p->log);
	p->followed_leader = -1;
	p->followed_epoch = -1;
	p->isr_refused_at = -1;
	krm_ckpt_forget(rm->hw_ckpt, &rm->n_hw_ckpt, topic, part);
	krm_ckpt_forget(rm->rp_ckpt, &rm->n_rp_ckpt, topic, part);
	unsigned h = krm_hash(topic, part);
	p->hnext = rm->buckets[h];
	rm->buckets[h] = p;
	LIST_INSERT_HEAD(&rm->parts, p, link);
	log_info(KRM_MOD, "%s-%d hosted: log [%" PRId64 ", %" PRId64 "), high watermark %" PRId64, topic, part,
		 klog_start_offset(p->log), klog_end_offset(p->log), p->hw);
	krm_run(rm, p, NULL, 0, now); /* krepl_new may queue an EPOCHS rewrite */
	*rcp = 0;
	return p;
fail:
	free(ep);
	kpstate_free(p->ps);
	ktxnidx_free(p->ti);
	klog_close(p->log);
	free(p);
	*rcp = rc;
	return NULL;
}

/* Unfollows, stops (answering held produces), unlinks and frees p, closing or deleting its log. */
static void krm_part_drop(struct krm *rm, struct krm_part *p, bool delete_log)
{
	bool clean = !p->failed;
	if (p->following && rm->ops && rm->ops->unfollow)
		rm->ops->unfollow(rm->arg, p->topic, p->part);
	p->following = false;
	if (krepl_role(p->k) != KREPL_OFFLINE)
		krepl_stop(p->k);
	p->failed = true; /* no more file work: the actions left are answers */
	krm_run(rm, p, NULL, 0, rm->clock());
	struct krm_pwait *w;
	while ((w = LIST_FIRST(&p->waits))) { /* none should be left: krepl answered them all */
		struct krm_produce *pr = w->pr;
		krm_pwait_unlink(rm, w);
		pr->res[w->slot] = (struct krm_pres){ KREPL_NOT_LEADER_OR_FOLLOWER, -1, -1, false };
		if (--pr->n_waiting == 0 && pr->submitted)
			pr->cb(pr->arg, pr);
	}
	struct krm_part **pp = &rm->buckets[krm_hash(p->topic, p->part)];
	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	LIST_REMOVE(p, link);
	krepl_free(p->k);
	kclean_forget(rm->cleaner, p->log, p->topic, p->part, delete_log);
	if (delete_log) {
		char eb[512];
		log_info(KRM_MOD, "%s-%d is no longer hosted here; removing its log", p->topic, p->part);
		if (klog_remove(p->log, eb, sizeof(eb)))
			log_error(KRM_MOD, "removing the log of %s-%d: %s", p->topic, p->part, eb);
	} else {
		char eb[512];
		/* a clean close: the next start loads this instead of reading the log (Kafka's
		 * Log.close takes the same snapshot) */
		if (clean && kpstate_snapshot_write(p->ps, p->dir, klog_end_offset(p->log), eb, sizeof(eb)))
			log_warn(KRM_MOD, "%s-%d: producer state snapshot at close: %s", p->topic, p->part, eb);
		klog_close(p->log);
	}
	kpstate_free(p->ps);
	ktxnidx_free(p->ti);
	free(p);
}

static bool krm_in(const int32_t *ids, uint32_t n, int32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* After an input: hand the partition to the fetcher, or take it back, as its role says. */
static void krm_sync_follow(struct krm *rm, struct krm_part *p)
{
	enum krepl_role role = krepl_role(p->k);
	bool follower = !p->failed && (role == KREPL_TRUNCATING || role == KREPL_FOLLOWING) && krepl_leader(p->k) >= 0;
	if (!follower) {
		if (p->following && rm->ops && rm->ops->unfollow)
			rm->ops->unfollow(rm->arg, p->topic, p->part);
		p->following = false;
		p->followed_leader = p->followed_epoch = -1;
		return;
	}
	if (p->following && p->followed_leader == krepl_leader(p->k) && p->followed_epoch == krepl_leader_epoch(p->k))
		return;
	p->following = true;
	p->followed_leader = krepl_leader(p->k);
	p->followed_epoch = krepl_leader_epoch(p->k);
	if (rm->ops && rm->ops->follow)
		rm->ops->follow(rm->arg, p->topic, p->part, p->followed_leader, p->k);
}

int krm_become(struct krm *rm, const char *topic, int32_t part, const struct krepl_state *st, int32_t controller_epoch,
	       const struct krm_conf *conf, int64_t now)
{
	if (!krm_in(st->replicas, st->n_replicas, rm->id))
		return ERR_INVAL;
	if (strlen(topic) > KRM_TOPIC_MAX)
		return ERR_INVAL;
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p) {
		int rc;
		p = krm_host(rm, topic, part, conf, now, &rc);
		if (!p)
			return rc;
	}
	if (p->failed)
		return ERR_IO;
	int32_t zkv = -1;
	uint32_t n_isr;
	(void)krepl_isr(p->k, &n_isr, &zkv);
	if (st->leader_epoch == krepl_leader_epoch(p->k) && st->zk_version <= zkv)
		return 0; /* the state read again (every refresh of the topic): already taken */
	bool same_epoch = st->leader_epoch == krepl_leader_epoch(p->k);
	int rc = krepl_become(p->k, st, now);
	if (rc == ERR_RANGE)
		return 0; /* stale, or already taken: nothing changes */
	if (rc) {
		char reps[128] = "", isr[128] = "";
		for (uint32_t i = 0, n = 0; i < st->n_replicas && n < sizeof(reps) - 12; i++)
			n += (uint32_t)snprintf(reps + n, sizeof(reps) - n, "%s%d", i ? "," : "", st->replicas[i]);
		for (uint32_t i = 0, n = 0; i < st->n_isr && n < sizeof(isr) - 12; i++)
			n += (uint32_t)snprintf(isr + n, sizeof(isr) - n, "%s%d", i ? "," : "", st->isr[i]);
		log_warn(KRM_MOD, "%s-%d: LeaderAndIsr refused (%s): leader %d epoch %d isr [%s] replicas [%s]", topic, part,
			 err_str(rc), st->leader, st->leader_epoch, isr, reps);
		return rc;
	}
	p->ctrl_epoch = controller_epoch;
	if (!same_epoch)
		p->isr_deferred = false; /* a new epoch: krepl dropped the ISR write it had in flight */
	/* else an ISR change by the controller: a deferred write stays krepl's write in flight (it
	 * fails on the old zk version, or finds its ISR already there) */
	p->isr_refused_at = -1;
	krm_run(rm, p, NULL, 0, now);
	krm_sync_follow(rm, p);
	if (rm->ops && rm->ops->wake)
		rm->ops->wake(rm->arg, p->topic, p->part);
	return 0;
}

void krm_set_conf(struct krm *rm, const char *topic, int32_t part, const struct krm_conf *conf)
{
	struct krm_part *p = rm ? krm_find(rm, topic, part) : NULL;
	if (!p)
		return;
	klog_set_opts(p->log, &conf->log);
	krepl_set_min_insync(p->k, conf->min_insync > 0 ? conf->min_insync : 1);
}

int krm_remove(struct krm *rm, const char *topic, int32_t part, bool delete_log)
{
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p) {
		krm_ckpt_forget(rm->hw_ckpt, &rm->n_hw_ckpt, topic, part);
		krm_ckpt_forget(rm->rp_ckpt, &rm->n_rp_ckpt, topic, part);
		return 0;
	}
	krm_part_drop(rm, p, delete_log);
	return 0;
}

bool krm_hosted(const struct krm *rm, const char *topic, int32_t part)
{
	return krm_find(rm, topic, part) != NULL;
}

void krm_isr_result(struct krm *rm, const char *topic, int32_t part, int32_t leader_epoch, bool ok,
		    int32_t new_zk_version, int64_t now)
{
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p)
		return;
	p->isr_refused_at = ok ? -1 : now;
	krepl_isr_result(p->k, leader_epoch, ok, new_zk_version, now);
	if (!p->running) /* else (an isr_write that answered at once) the running loop carries them out */
		krm_run(rm, p, NULL, 0, now);
}

void krm_tick(struct krm *rm, int64_t now)
{
	struct krm_part *p;
	LIST_FOREACH(p, &rm->parts, link) {
		if (krepl_role(p->k) != KREPL_LEADER)
			continue;
		if (p->isr_deferred && now - p->isr_refused_at >= KRM_ISR_BACKOFF_MS) {
			p->isr_deferred = false;
			if (p->isr_state.leader_epoch == krepl_leader_epoch(p->k) && !p->failed)
				rm->ops->isr_write(rm->arg, p->topic, p->part, &p->isr_state, p->ctrl_epoch);
		}
		krepl_tick(p->k, now);
		krm_run(rm, p, NULL, 0, now);
	}
}

void krm_housekeep(struct krm *rm, int64_t now)
{
	struct krm_part *p;
	LIST_FOREACH(p, &rm->parts, link) {
		if (p->failed)
			continue;
		char eb[512];
		if (klog_housekeep(p->log, now) > 0) {
			if (kpstate_snapshot_prune(p->dir, klog_start_offset(p->log), INT64_MAX, eb, sizeof(eb)))
				log_warn(KRM_MOD, "%s-%d: %s", p->topic, p->part, eb);
			/* the deleted segments' aborted transactions go with them */
			ktxnidx_trim(p->ti, klog_start_offset(p->log));
			size_t n;
			int64_t *bases = krm_seg_bases(p, &n);
			if (bases && ktxnidx_prune(p->dir, bases, n, eb, sizeof(eb)))
				log_warn(KRM_MOD, "%s-%d: %s", p->topic, p->part, eb);
			free(bases);
		}
		krm_pstate_roll(p); /* roll.ms may have rolled it */
		size_t gone = kpstate_expire(p->ps, now, rm->pid_expiration_ms);
		if (gone)
			log_info(KRM_MOD, "%s-%d: %zu producer id(s) expired (producer.id.expiration.ms %" PRId64 ")",
				 p->topic, p->part, gone, rm->pid_expiration_ms);
	}
}

void krm_clean(struct krm *rm, int64_t now)
{
	struct krm_part *p;
	if (!rm->cleaner)
		return;
	LIST_FOREACH(p, &rm->parts, link) {
		if (p->failed || !klog_get_opts(p->log)->compact)
			continue;
		/* below the last stable offset only (Kafka's firstUncleanableOffset): never into an
		 * open transaction */
		if (kclean_offer_txn(rm->cleaner, p->log, p->topic, p->part, kpstate_lso(p->ps, p->hw), now, p->ti) != 0)
			break; /* started one, or one is in flight */
	}
}

void krm_flushed(struct krm *rm, const struct klog *l, int64_t offset)
{
	struct krm_part *p;
	LIST_FOREACH(p, &rm->parts, link)
		if (p->log == l && offset > p->recovery)
			p->recovery = offset <= klog_end_offset(l) ? offset : klog_end_offset(l);
}

/* ---- checkpoints ---- */

static int krm_write_offsets(struct krm *rm, const char *name, bool hw, char *err, size_t errlen)
{
	size_t extra = hw ? rm->n_hw_ckpt : rm->n_rp_ckpt, n = 0, cnt = extra;
	struct krm_part *p;
	LIST_FOREACH(p, &rm->parts, link)
		cnt++;
	struct kckpt_offset *o = calloc(cnt ? cnt : 1, sizeof(*o));
	if (!o)
		return err_set(err, errlen, ERR_NOMEM, "out of memory");
	LIST_FOREACH(p, &rm->parts, link) {
		snprintf(o[n].topic, sizeof(o[n].topic), "%s", p->topic);
		o[n].partition = p->part;
		o[n++].offset = hw ? p->hw : p->recovery;
	}
	if (extra)
		memcpy(o + n, hw ? rm->hw_ckpt : rm->rp_ckpt, extra * sizeof(*o));
	n += extra;
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", rm->log_dir, name);
	int rc = kckpt_offsets_write(path, o, n, err, errlen);
	free(o);
	return rc;
}

int krm_checkpoint(struct krm *rm, char *err, size_t errlen)
{
	int rc = krm_write_offsets(rm, "replication-offset-checkpoint", true, err, errlen);
	if (!rc)
		rc = krm_write_offsets(rm, "recovery-point-offset-checkpoint", false, err, errlen);
	return rc;
}

/* ---- leader paths ---- */

/* Registers slot i of pr as waiting in p's purgatory under token. */
static void krm_hold(struct krm *rm, struct krm_part *p, struct krm_produce *pr, size_t i, uint64_t token)
{
	struct krm_pwait *w = &pr->waits[i];
	w->p = p;
	w->pr = pr;
	w->slot = i;
	w->token = token;
	w->linked = true;
	LIST_INSERT_HEAD(&p->waits, w, link);
	rm->n_waiting++;
	pr->n_waiting++;
	pr->res[i].waiting = true;
}

/* An idempotent producer's retry of a batch p's log holds (dup): nothing is appended, the answer
 * is the original's base offset, and acks=all waits until the HW covers the original's last
 * offset (krepl_await): a retry must not be acknowledged while its original could still be lost
 * to a failover. */
static int16_t krm_append_dup(struct krm *rm, struct krm_part *p, struct krm_produce *pr, size_t i,
			      const struct kpstate_batch *dup, int acks, int64_t deadline, int64_t now)
{
	struct krm_pres *res = &pr->res[i];
	uint64_t token = rm->next_token++;
	enum krepl_error e = krepl_await(p->k, acks, token, dup->last_offset, deadline, now);
	if (e == KREPL_OFFSET_OUT_OF_RANGE) {
		/* the state names offsets the log no longer holds: the invariant above is broken */
		char eb[160];
		snprintf(eb, sizeof(eb), "producer state names [%" PRId64 ", %" PRId64 "] past the log end %" PRId64,
			 dup->first_offset, dup->last_offset, klog_end_offset(p->log));
		krm_fail(rm, p, "duplicate check", eb);
		krm_run(rm, p, NULL, 0, now);
		return res->error = KRM_E_KAFKA_STORAGE_ERROR;
	}
	if (e)
		return res->error = (int16_t)e;
	if (acks == -1)
		krm_hold(rm, p, pr, i, token); /* before krm_run: its COMPLETE may be queued already */
	res->base_offset = dup->first_offset;
	krm_run(rm, p, NULL, 0, now);
	return res->error;
}

static int16_t krm_append_core(struct krm *rm, struct krm_part *p, struct krm_produce *pr, size_t i,
			       uint8_t *records, size_t len, int64_t nrecords, int acks, int64_t deadline,
			       bool log_append_time, int64_t now, struct klog **log);

int16_t krm_append(struct krm *rm, struct krm_produce *pr, size_t i, const char *topic, int32_t part,
		   uint8_t *records, size_t len, int64_t nrecords, const struct krm_producer *prod, int acks,
		   int64_t deadline, bool log_append_time, int64_t now, struct klog **log)
{
	struct krm_pres *res = &pr->res[i];
	struct krm_part *p = krm_find(rm, topic, part);
	if (log)
		*log = NULL;
	if (!p)
		return res->error = KRM_E_UNKNOWN_TOPIC_OR_PARTITION;
	if (p->failed)
		return res->error = KRM_E_KAFKA_STORAGE_ERROR;
	if (nrecords < 1 || !len)
		return res->error = KRM_E_INVALID_RECORD;
	res->log_start = klog_start_offset(p->log);
	if (prod && prod->producer_id >= 0) {
		/* the leader checks the sequence (Kafka's ProducerAppendInfo), a follower never gets here */
		if (krepl_role(p->k) != KREPL_LEADER)
			return res->error = KREPL_NOT_LEADER_OR_FOLLOWER;
		if (prod->records_count != nrecords)
			return res->error = KRM_E_INVALID_RECORD;
		struct kpstate_entry en;
		if (!prod->transactional && kpstate_get(p->ps, prod->producer_id, &en) == 0 && en.txn_first_offset >= 0 &&
		    prod->epoch == en.epoch)
			return res->error = KRM_E_INVALID_TXN_STATE; /* Kafka: no plain batch inside a transaction */
		struct kpstate_batch dup;
		switch (kpstate_check(p->ps, prod->producer_id, prod->epoch, prod->base_seq, prod->records_count, &dup)) {
		case KPSTATE_OK:
			break;
		case KPSTATE_DUPLICATE: {
			int16_t e = krm_append_dup(rm, p, pr, i, &dup, acks, deadline, now);
			if (log && e == KRM_E_NONE)
				*log = p->log; /* a flush-policy wait covers the original too */
			return e;
		}
		case KPSTATE_OUT_OF_ORDER:
			return res->error = KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER;
		case KPSTATE_INVALID_EPOCH:
		case KPSTATE_COORDINATOR_FENCED:
			return res->error = KRM_E_INVALID_PRODUCER_EPOCH;
		}
	}
	return krm_append_core(rm, p, pr, i, records, len, nrecords, acks, deadline, log_append_time, now, log);
}

int16_t krm_append_marker(struct krm *rm, struct krm_produce *pr, size_t i, const char *topic, int32_t part,
			  int64_t producer_id, int16_t epoch, int32_t coordinator_epoch, bool commit, int64_t deadline,
			  int64_t now)
{
	struct krm_pres *res = &pr->res[i];
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p)
		return res->error = KRM_E_UNKNOWN_TOPIC_OR_PARTITION;
	if (p->failed)
		return res->error = KRM_E_KAFKA_STORAGE_ERROR;
	if (krepl_role(p->k) != KREPL_LEADER)
		return res->error = KREPL_NOT_LEADER_OR_FOLLOWER;
	res->log_start = klog_start_offset(p->log);
	switch (kpstate_check_marker(p->ps, producer_id, epoch, coordinator_epoch)) {
	case KPSTATE_INVALID_EPOCH:
		return res->error = KRM_E_INVALID_PRODUCER_EPOCH;
	case KPSTATE_COORDINATOR_FENCED:
		return res->error = KRM_E_TRANSACTION_COORDINATOR_FENCED;
	default:
		break;
	}
	struct wbuf w;
	wbuf_init(&w, 4096);
	if (!kbatch_build_marker(&w, producer_id, epoch, coordinator_epoch, commit, now)) {
		wbuf_free(&w);
		return res->error = KRM_E_KAFKA_STORAGE_ERROR;
	}
	/* written as acks=all (Kafka's appendRecords of markers with requiredAcks -1) */
	int16_t e = krm_append_core(rm, p, pr, i, w.p, w.len, 1, -1, deadline, false, now, NULL);
	wbuf_free(&w);
	return e;
}

/* The append of validated batches as p's leader, after the producer checks (krm_append). */
static int16_t krm_append_core(struct krm *rm, struct krm_part *p, struct krm_produce *pr, size_t i,
			       uint8_t *records, size_t len, int64_t nrecords, int acks, int64_t deadline,
			       bool log_append_time, int64_t now, struct klog **log)
{
	struct krm_pres *res = &pr->res[i];
	uint64_t token = rm->next_token++;
	int64_t base = -1;
	int32_t epoch = -1;
	enum krepl_error e = krepl_append(p->k, nrecords, acks, token, deadline, now, &base, &epoch);
	if (e)
		return res->error = (int16_t)e;
	/* register the slot first: krepl may already have queued its COMPLETE (an ISR of one) */
	if (acks == -1)
		krm_hold(rm, p, pr, i, token);
	char eb[512];
	int64_t first = -1;
	int rc = klog_append(p->log, records, len, epoch, log_append_time, now, &first, eb, sizeof(eb));
	if (!rc && first != base) {
		snprintf(eb, sizeof(eb), "the log assigned offset %" PRId64 " where the replica expected %" PRId64, first,
			 base);
		rc = ERR_CORRUPT;
	}
	if (rc) {
		krm_fail(rm, p, "append", eb);
	} else {
		krm_pstate_roll(p);
		krm_pstate_update(p, records, len); /* as stored: offsets assigned in place */
	}
	krm_run(rm, p, NULL, 0, now);
	if (rc) {
		if (res->waiting) { /* krepl answered it NOT_LEADER_OR_FOLLOWER on stopping */
			krm_pwait_unlink(rm, &pr->waits[i]);
			res->waiting = false;
			pr->n_waiting--;
		}
		res->base_offset = -1;
		return res->error = KRM_E_KAFKA_STORAGE_ERROR;
	}
	res->base_offset = base;
	if (log)
		*log = p->log;
	if (rm->ops && rm->ops->wake)
		rm->ops->wake(rm->arg, p->topic, p->part);
	return res->error; /* NONE, or already answered (an ISR of one with acks=all) */
}

int16_t krm_fetch(struct krm *rm, const char *topic, int32_t part, int32_t replica_id, int32_t current_leader_epoch,
		  int64_t offset, size_t max_bytes, int64_t now, struct klog_slice *sl, int64_t *hw, int64_t *log_start)
{
	return krm_fetch_txn(rm, topic, part, replica_id, current_leader_epoch, offset, max_bytes, now, NULL, sl, hw,
			     log_start);
}

int16_t krm_fetch_txn(struct krm *rm, const char *topic, int32_t part, int32_t replica_id, int32_t current_leader_epoch,
		      int64_t offset, size_t max_bytes, int64_t now, struct krm_fetch_txn *tx, struct klog_slice *sl,
		      int64_t *hw, int64_t *log_start)
{
	*sl = (struct klog_slice){ -1, 0, 0 };
	*hw = *log_start = -1;
	if (tx) {
		tx->lso = -1;
		tx->n_aborted = 0;
		tx->aborted = NULL;
	}
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p)
		return KRM_E_UNKNOWN_TOPIC_OR_PARTITION;
	if (p->failed)
		return KRM_E_KAFKA_STORAGE_ERROR;
	struct krepl_fetch_req req = { replica_id, current_leader_epoch, offset, -1 };
	struct krepl_fetch_plan plan;
	krepl_fetch(p->k, &req, now, &plan);
	krm_run(rm, p, NULL, 0, now);
	if (p->failed)
		return KRM_E_KAFKA_STORAGE_ERROR;
	if (plan.error == KREPL_OFFSET_OUT_OF_RANGE && replica_id < 0 && offset >= plan.log_start &&
	    offset <= krepl_log_end(p->k)) {
		/* a consumer between the HW and the log end (a new leader's HW catching up): nothing
		 * to read yet, as Kafka answers */
		*hw = p->hw;
		*log_start = klog_start_offset(p->log);
		if (tx)
			tx->lso = kpstate_lso(p->ps, p->hw);
		return KRM_E_NONE;
	}
	if (plan.error)
		return (int16_t)plan.error;
	/* what the consumer sees is the published HW, which is krepl's (p->hw follows every HW
	 * action carried out above) */
	*hw = p->hw;
	*log_start = klog_start_offset(p->log); /* retention may have moved it past krepl's */
	int64_t lso = kpstate_lso(p->ps, p->hw);
	bool committed = replica_id < 0 && tx && tx->read_committed;
	if (tx)
		tx->lso = lso;
	/* a read_committed consumer sees only below the LSO (KIP-98): the first batch of the
	 * earliest open transaction, which is a batch boundary, or the HW */
	int64_t upto = replica_id < 0 ? (committed ? lso : p->hw) : plan.to;
	if (max_bytes == 0 || offset >= upto)
		return KRM_E_NONE;
	char eb[512];
	int rc = klog_read(p->log, offset, max_bytes, upto, sl, eb, sizeof(eb));
	if (rc == ERR_RANGE)
		return KREPL_OFFSET_OUT_OF_RANGE;
	if (rc) {
		log_error(KRM_MOD, "read of %s-%d at %" PRId64 " failed: %s", topic, part, offset, eb);
		return KRM_E_KAFKA_STORAGE_ERROR;
	}
	if (committed && sl->len > 0) {
		/* the aborted transactions the records returned may hold (Kafka's
		 * collectAbortedTransactions, bounded here by the LSO rather than the slice's end) */
		size_t n = ktxnidx_collect(p->ti, offset, upto, NULL, 0);
		if (n) {
			tx->aborted = malloc(n * sizeof(*tx->aborted));
			if (!tx->aborted) {
				close(sl->fd);
				*sl = (struct klog_slice){ -1, 0, 0 };
				return KRM_E_KAFKA_STORAGE_ERROR;
			}
			tx->n_aborted = ktxnidx_collect(p->ti, offset, upto, tx->aborted, n);
		}
	}
	return KRM_E_NONE;
}

int16_t krm_leader(struct krm *rm, const char *topic, int32_t part, int32_t current_leader_epoch, int64_t *hw,
		   int64_t *log_start, int32_t *leader_epoch, struct klog **log)
{
	struct krm_part *p = krm_find(rm, topic, part);
	*hw = *log_start = -1;
	*leader_epoch = -1;
	if (log)
		*log = NULL;
	if (!p)
		return KRM_E_UNKNOWN_TOPIC_OR_PARTITION;
	if (p->failed)
		return KRM_E_KAFKA_STORAGE_ERROR;
	*leader_epoch = krepl_leader_epoch(p->k);
	if (krepl_role(p->k) != KREPL_LEADER)
		return KREPL_NOT_LEADER_OR_FOLLOWER;
	if (current_leader_epoch >= 0 && current_leader_epoch < *leader_epoch)
		return KREPL_FENCED_LEADER_EPOCH;
	if (current_leader_epoch > *leader_epoch)
		return KREPL_UNKNOWN_LEADER_EPOCH;
	*hw = p->hw;
	*log_start = klog_start_offset(p->log);
	if (log)
		*log = p->log;
	return KRM_E_NONE;
}

int64_t krm_last_stable_offset(const struct krm *rm, const char *topic, int32_t part)
{
	const struct krm_part *p = krm_find(rm, topic, part);
	return p ? kpstate_lso(p->ps, p->hw) : -1;
}

int16_t krm_offset_for_epoch(struct krm *rm, const char *topic, int32_t part, int32_t current_leader_epoch,
			     int32_t requested, int32_t *epoch, int64_t *end_offset)
{
	*epoch = KEPOCH_UNDEFINED;
	*end_offset = KEPOCH_UNDEFINED;
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p)
		return KRM_E_UNKNOWN_TOPIC_OR_PARTITION;
	if (p->failed)
		return KRM_E_KAFKA_STORAGE_ERROR;
	return (int16_t)krepl_offset_for_epoch(p->k, current_leader_epoch, requested, epoch, end_offset);
}

int64_t krm_high_watermark(const struct krm *rm, const char *topic, int32_t part)
{
	const struct krm_part *p = krm_find(rm, topic, part);
	return p ? p->hw : -1;
}

struct krepl *krm_krepl(const struct krm *rm, const char *topic, int32_t part)
{
	const struct krm_part *p = krm_find(rm, topic, part);
	return p ? p->k : NULL;
}

/* ---- follower side ---- */

void krm_epoch_answer(void *arg, const char *topic, int32_t part, const struct krepl_epoch_resp *resp)
{
	struct krm *rm = arg;
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p || p->failed)
		return;
	int64_t now = rm->clock();
	if (krepl_epoch_response(p->k, resp, now))
		log_warn(KRM_MOD, "%s-%d: leader %d answered OffsetForLeaderEpoch %d with (%d, %" PRId64 "): ignored", topic,
			 part, krepl_leader(p->k), resp->requested_epoch, resp->leader_epoch, resp->end_offset);
	krm_run(rm, p, NULL, 0, now);
	krm_sync_follow(rm, p);
}

void krm_fetch_answer(void *arg, const char *topic, int32_t part, const struct krepl_fetch_resp *resp,
		      const uint8_t *records, size_t len)
{
	struct krm *rm = arg;
	struct krm_part *p = krm_find(rm, topic, part);
	if (!p || p->failed)
		return;
	int64_t now = rm->clock();
	if (krepl_fetch_response(p->k, resp, now))
		log_warn(KRM_MOD, "%s-%d: a fetch answer from leader %d at %" PRId64 " is inconsistent: ignored", topic, part,
			 krepl_leader(p->k), resp->fetch_offset);
	krm_run(rm, p, records, len, now);
	krm_sync_follow(rm, p);
}

void krm_refollow(struct krm *rm)
{
	struct krm_part *p;
	LIST_FOREACH(p, &rm->parts, link) {
		if (!p->following)
			continue;
		p->following = false;
		krm_sync_follow(rm, p);
	}
}

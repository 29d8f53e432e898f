/*
 * ktxn — the transaction coordinator's core (see ktxn.h). Owns the transactional ids of the
 * state partitions this broker leads (a list: a broker coordinates few ids at a time), each
 * with its metadata (m) and at most one transition under way: a write (the metadata it is to
 * have, `to`, and the request to answer once it is replicated) or a marker round. A write
 * that fails leaves m as it was; what the coordinator itself must finish (a fenced abort's
 * PrepareAbort, a Complete after the markers) is retried on the tick.
 */
#include "ktxn.h"

#include "buf.h"
#include "err.h"
#include "kerr.h"
#include "kgplace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define KTXN_EPOCH_MAX 32766 /* Kafka's Short.MaxValue - 1: past it a new producer id */

/* The metadata of a transactional id (Kafka's TransactionMetadata). topics own their names. */
struct ktxn_meta {
	int64_t pid, last_pid;
	int16_t epoch, last_epoch;
	int32_t timeout_ms;
	enum ktxnstate state;
	int32_t ntopics;
	struct ktxnrec_topic *topics;
	int64_t start_ms, update_ms;
};

/* What a write is for, i.e. what follows once it is replicated. */
enum ktxn_write {
	KTXN_W_INIT,	    /* InitProducerId: answer the producer id and epoch */
	KTXN_W_ADD,	    /* AddPartitions / AddOffsets: answer NONE */
	KTXN_W_PREPARE,	    /* EndTxn: answer NONE, then the markers */
	KTXN_W_FENCE_ABORT, /* the coordinator's own abort (fence, timeout): the markers */
	KTXN_W_COMPLETE,    /* after the markers: nothing */
	KTXN_W_EXPIRE,	    /* the tombstone of an expired id: Dead, then forgotten */
};

struct ktxn {
	LIST_ENTRY(ktxn) link;
	char *id; /* NUL-terminated copy */
	size_t idlen;
	int32_t part;
	struct ktxn_meta m;
	bool writing; /* a write under way: */
	uint64_t write_id;
	enum ktxn_write what;
	struct ktxn_meta to;
	void *token;	   /* to answer once it is done (NULL: none) */
	bool marking;	   /* a marker round under way (write_id unused) */
	uint64_t mark_id;
	bool complete_due; /* the markers are acknowledged: the Complete record still to write */
};
LIST_HEAD(ktxn_list, ktxn);

enum ktxn_pstate { KTXN_P_NONE, KTXN_P_LOADING, KTXN_P_OWNED };

struct ktxns {
	struct ktxns_conf conf;
	struct ktxns_ops ops;
	void *arg;
	struct ktxn_list txns;
	size_t count;
	enum ktxn_pstate *parts; /* [conf.state_partitions] */
	int32_t *coord_epoch;	 /* [conf.state_partitions] */
	uint64_t next_id;
	int64_t last_abort_check;
	int64_t last_expire_check;
};

/* ---- metadata ---- */

static void ktxn_topics_free(struct ktxnrec_topic *t, int32_t n)
{
	for (int32_t i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].parts);
	}
	free(t);
}

static void ktxn_meta_free(struct ktxn_meta *m)
{
	ktxn_topics_free(m->topics, m->ntopics);
	m->topics = NULL;
	m->ntopics = 0;
}

/* A deep copy of src into dst: 0 or ERR_NOMEM (dst then has no topics). */
static int ktxn_meta_copy(struct ktxn_meta *dst, const struct ktxn_meta *src)
{
	*dst = *src;
	dst->topics = NULL;
	dst->ntopics = 0;
	if (src->ntopics == 0)
		return 0;
	dst->topics = calloc((size_t)src->ntopics, sizeof(*dst->topics));
	if (!dst->topics)
		return ERR_NOMEM;
	for (int32_t i = 0; i < src->ntopics; i++, dst->ntopics++) {
		const struct ktxnrec_topic *s = &src->topics[i];
		struct ktxnrec_topic *d = &dst->topics[i];
		d->name = strdup(s->name);
		d->parts = malloc((size_t)(s->n ? s->n : 1) * sizeof(*d->parts));
		if (!d->name || !d->parts) {
			free(d->name);
			free(d->parts);
			ktxn_meta_free(dst);
			return ERR_NOMEM;
		}
		memcpy(d->parts, s->parts, (size_t)s->n * sizeof(*d->parts));
		d->n = s->n;
	}
	return 0;
}

/* Adds topic-part to m's partitions unless it is there: 0 or ERR_NOMEM. */
static int ktxn_meta_add(struct ktxn_meta *m, const char *topic, int32_t part)
{
	struct ktxnrec_topic *t = NULL;
	for (int32_t i = 0; i < m->ntopics && !t; i++)
		if (!strcmp(m->topics[i].name, topic))
			t = &m->topics[i];
	if (!t) {
		struct ktxnrec_topic *nt = realloc(m->topics, (size_t)(m->ntopics + 1) * sizeof(*nt));
		if (!nt)
			return ERR_NOMEM;
		m->topics = nt;
		t = &nt[m->ntopics];
		memset(t, 0, sizeof(*t));
		if (!(t->name = strdup(topic)))
			return ERR_NOMEM;
		m->ntopics++;
	}
	for (int32_t j = 0; j < t->n; j++)
		if (t->parts[j] == part)
			return 0;
	int32_t *np = realloc(t->parts, (size_t)(t->n + 1) * sizeof(*np));
	if (!np)
		return ERR_NOMEM;
	t->parts = np;
	t->parts[t->n++] = part;
	return 0;
}

static bool ktxn_meta_has(const struct ktxn_meta *m, const char *topic, int32_t part)
{
	for (int32_t i = 0; i < m->ntopics; i++)
		if (!strcmp(m->topics[i].name, topic))
			for (int32_t j = 0; j < m->topics[i].n; j++)
				if (m->topics[i].parts[j] == part)
					return true;
	return false;
}

/* ---- the coordinator ---- */

static void ktxns_log(void *arg, const char *line)
{
	struct ktxns *ts = arg;
	if (ts->ops.log)
		ts->ops.log(ts->arg, line);
}

static void ktxns_logf(struct ktxns *ts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ktxns_logf(struct ktxns *ts, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ktxns_log(ts, line);
}

static void ktxns_answer(struct ktxns *ts, void *token, int16_t err, int64_t pid, int16_t epoch)
{
	struct ktxn_answer a = { err, pid, epoch };
	if (token)
		ts->ops.reply(ts->arg, token, &a);
}

struct ktxns *ktxns_new(const struct ktxns_conf *conf, const struct ktxns_ops *ops, void *arg)
{
	if (conf->state_partitions < 1)
		return NULL;
	struct ktxns *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->conf = *conf;
	ts->ops = *ops;
	ts->arg = arg;
	LIST_INIT(&ts->txns);
	ts->parts = calloc((size_t)conf->state_partitions, sizeof(*ts->parts));
	ts->coord_epoch = calloc((size_t)conf->state_partitions, sizeof(*ts->coord_epoch));
	if (!ts->parts || !ts->coord_epoch) {
		free(ts->parts);
		free(ts->coord_epoch);
		free(ts);
		return NULL;
	}
	return ts;
}

/* Removes t, answering its waiting request with err. */
static void ktxn_drop(struct ktxns *ts, struct ktxn *t, int16_t err)
{
	LIST_REMOVE(t, link);
	ts->count--;
	if (t->writing) {
		ktxn_meta_free(&t->to);
		ktxns_answer(ts, t->token, err, -1, -1);
	}
	ktxn_meta_free(&t->m);
	free(t->id);
	free(t);
}

void ktxns_free(struct ktxns *ts)
{
	if (!ts)
		return;
	struct ktxn *t;
	while ((t = LIST_FIRST(&ts->txns)))
		ktxn_drop(ts, t, KE_NOT_COORDINATOR);
	free(ts->parts);
	free(ts->coord_epoch);
	free(ts);
}

int32_t ktxns_partition(const struct ktxns *ts, const uint8_t *id, size_t len)
{
	return kgplace_partition(id, len, ts->conf.state_partitions);
}

int16_t ktxns_owns(const struct ktxns *ts, const uint8_t *id, size_t len)
{
	switch (ts->parts[ktxns_partition(ts, id, len)]) {
	case KTXN_P_OWNED:
		return KE_NONE;
	case KTXN_P_LOADING:
		return KE_COORDINATOR_LOAD_IN_PROGRESS;
	default:
		return KE_NOT_COORDINATOR;
	}
}

static struct ktxn *ktxn_find(const struct ktxns *ts, const uint8_t *id, size_t len)
{
	struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link)
		if (t->idlen == len && !memcmp(t->id, id, len))
			return t;
	return NULL;
}

/* A new id in state Empty with no producer id yet (epoch -1, as Kafka's new metadata). */
static struct ktxn *ktxn_create(struct ktxns *ts, const uint8_t *id, size_t len, int64_t now)
{
	struct ktxn *t = calloc(1, sizeof(*t));
	if (!t || !(t->id = malloc(len + 1))) {
		free(t);
		return NULL;
	}
	memcpy(t->id, id, len);
	t->id[len] = '\0';
	t->idlen = len;
	t->part = ktxns_partition(ts, id, len);
	t->m.pid = t->m.last_pid = -1;
	t->m.epoch = t->m.last_epoch = -1;
	t->m.state = KTXNSTATE_EMPTY;
	t->m.start_ms = -1;
	t->m.update_ms = now;
	LIST_INSERT_HEAD(&ts->txns, t, link);
	ts->count++;
	return t;
}

/* Kafka's mapping of a failed append to what the client is told
 * (TransactionStateManager.appendTransactionToLog). */
static int16_t ktxn_append_error(int16_t err)
{
	switch (err) {
	case KE_UNKNOWN_TOPIC_OR_PARTITION:
	case KE_NOT_ENOUGH_REPLICAS:
	case KE_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case KE_REQUEST_TIMED_OUT:
		return KE_COORDINATOR_NOT_AVAILABLE;
	case KE_NOT_LEADER_OR_FOLLOWER:
	case KE_KAFKA_STORAGE_ERROR:
	case KE_NOT_COORDINATOR:
		return KE_NOT_COORDINATOR;
	case KE_COORDINATOR_NOT_AVAILABLE:
		return err;
	default:
		return KE_UNKNOWN_SERVER_ERROR;
	}
}

/* Starts writing to (taken over: freed on failure) for t, answering token when done. Returns
 * KE_NONE when under way; otherwise the error, token answered with it, to freed. */
static int16_t ktxn_write(struct ktxns *ts, struct ktxn *t, struct ktxn_meta *to, enum ktxn_write what, void *token,
			  int64_t now)
{
	struct wbuf kw, vw;
	wbuf_init(&kw, 1u << 16);
	wbuf_init(&vw, 64u << 20);
	to->update_ms = now;
	struct ktxnrec_value v = { .producer_id = to->pid, .producer_epoch = to->epoch, .timeout_ms = to->timeout_ms,
				   .status = (int8_t)to->state,
				   .ntopics = to->state == KTXNSTATE_EMPTY ? -1 : to->ntopics,
				   .topics = to->topics, .last_update_ms = to->update_ms, .start_ms = to->start_ms };
	int16_t err = KE_NONE;
	bool tomb = what == KTXN_W_EXPIRE;
	ktxnrec_key_encode(&kw, (const uint8_t *)t->id, t->idlen);
	if (!tomb)
		ktxnrec_value_encode(&vw, &v);
	if (kw.err || vw.err) {
		err = KE_UNKNOWN_SERVER_ERROR;
	} else {
		uint64_t id = ++ts->next_id;
		err = ts->ops.append(ts->arg, t->part, kw.p, kw.len, tomb ? NULL : vw.p, tomb ? 0 : vw.len, id);
		if (err == KE_NONE) {
			t->writing = true;
			t->write_id = id;
			t->what = what;
			t->to = *to;
			t->token = token;
		} else {
			err = ktxn_append_error(err);
		}
	}
	wbuf_free(&kw);
	wbuf_free(&vw);
	if (err) {
		ktxn_meta_free(to);
		ktxns_answer(ts, token, err, -1, -1);
	}
	return err;
}

/* t is in PrepareCommit / PrepareAbort: the markers go out (none to send: straight on). */
static void ktxn_complete(struct ktxns *ts, struct ktxn *t, int64_t now);

static void ktxn_markers(struct ktxns *ts, struct ktxn *t, int64_t now)
{
	if (t->m.ntopics == 0) {
		t->complete_due = true;
		ktxn_complete(ts, t, now);
		return;
	}
	t->marking = true;
	t->mark_id = ++ts->next_id;
	struct ktxn_markers mk = { .producer_id = t->m.pid, .producer_epoch = t->m.epoch,
				   .commit = t->m.state == KTXNSTATE_PREPARE_COMMIT,
				   .coordinator_epoch = ts->coord_epoch[t->part], .ntopics = t->m.ntopics,
				   .topics = t->m.topics };
	ts->ops.markers(ts->arg, t->mark_id, &mk);
}

/* The markers are acknowledged: CompleteCommit / CompleteAbort written (retried on the tick
 * when the write cannot start or fails). */
static void ktxn_complete(struct ktxns *ts, struct ktxn *t, int64_t now)
{
	struct ktxn_meta to;
	if (ktxn_meta_copy(&to, &t->m))
		return; /* the tick tries again */
	ktxn_meta_free(&to);
	to.state = t->m.state == KTXNSTATE_PREPARE_COMMIT ? KTXNSTATE_COMPLETE_COMMIT : KTXNSTATE_COMPLETE_ABORT;
	if (ktxn_write(ts, t, &to, KTXN_W_COMPLETE, NULL, now) == KE_NONE)
		t->complete_due = false;
}

/* Fences t's producer (Ongoing -> PrepareEpochFence, the epoch bumped in memory at once) and
 * starts the abort's PrepareAbort write. */
static void ktxn_fence_abort(struct ktxns *ts, struct ktxn *t, const char *why, int64_t now)
{
	if (t->m.state == KTXNSTATE_ONGOING) {
		ktxnstate_set(&t->m.state, KTXNSTATE_PREPARE_EPOCH_FENCE, t->id, why, ktxns_log, ts);
		t->m.last_epoch = t->m.epoch;
		if (t->m.epoch < KTXN_EPOCH_MAX)
			t->m.epoch++;
	}
	struct ktxn_meta to;
	if (ktxn_meta_copy(&to, &t->m))
		return; /* the tick tries again */
	to.state = KTXNSTATE_PREPARE_ABORT;
	ktxn_write(ts, t, &to, KTXN_W_FENCE_ABORT, NULL, now);
}

/* ---- loading ---- */

void ktxns_load_begin(struct ktxns *ts, int32_t p, int32_t coord_epoch)
{
	if (p < 0 || p >= ts->conf.state_partitions)
		return;
	if (ts->parts[p] != KTXN_P_NONE)
		ktxns_unload(ts, p);
	ts->parts[p] = KTXN_P_LOADING;
	ts->coord_epoch[p] = coord_epoch;
}

int ktxns_load_record(struct ktxns *ts, int32_t p, const uint8_t *key, size_t klen, const uint8_t *value,
		      size_t vlen, char *eb, size_t el)
{
	const uint8_t *id;
	size_t len;
	if (p < 0 || p >= ts->conf.state_partitions || ts->parts[p] != KTXN_P_LOADING) {
		snprintf(eb, el, "partition %d is not loading", p);
		return ERR_INVAL;
	}
	if (ktxnrec_key_decode(key, klen, &id, &len)) {
		snprintf(eb, el, "not a transaction key");
		return ERR_PROTO;
	}
	if (ktxns_partition(ts, id, len) != p) {
		snprintf(eb, el, "transactional id of another partition");
		return ERR_PROTO;
	}
	struct ktxn *t = ktxn_find(ts, id, len);
	if (!value) { /* a tombstone: the id expired */
		if (t)
			ktxn_drop(ts, t, KE_NOT_COORDINATOR);
		return 0;
	}
	struct ktxnrec_value v;
	int rc = ktxnrec_value_decode(value, vlen, &v);
	if (rc || v.status == KTXNSTATE_PREPARE_EPOCH_FENCE) {
		ktxnrec_value_free(&v);
		snprintf(eb, el, "%s", rc == ERR_NOMEM ? "out of memory" : "malformed transaction value");
		return rc ? rc : ERR_PROTO;
	}
	if (v.status == KTXNSTATE_DEAD) {
		ktxnrec_value_free(&v);
		if (t)
			ktxn_drop(ts, t, KE_NOT_COORDINATOR);
		return 0;
	}
	if (!t && !(t = ktxn_create(ts, id, len, v.last_update_ms))) {
		ktxnrec_value_free(&v);
		snprintf(eb, el, "out of memory");
		return ERR_NOMEM;
	}
	ktxn_meta_free(&t->m);
	t->m.pid = v.producer_id;
	t->m.epoch = v.producer_epoch;
	t->m.last_pid = -1;
	t->m.last_epoch = -1;
	t->m.timeout_ms = v.timeout_ms;
	t->m.state = (enum ktxnstate)v.status; /* replayed, not a transition */
	t->m.ntopics = v.ntopics > 0 ? v.ntopics : 0;
	t->m.topics = v.ntopics > 0 ? v.topics : NULL;
	if (v.ntopics <= 0)
		ktxnrec_value_free(&v);
	t->m.start_ms = v.start_ms;
	t->m.update_ms = v.last_update_ms;
	return 0;
}

void ktxns_load_end(struct ktxns *ts, int32_t p, int64_t now)
{
	if (p < 0 || p >= ts->conf.state_partitions || ts->parts[p] != KTXN_P_LOADING)
		return;
	ts->parts[p] = KTXN_P_OWNED;
	struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link)
		if (t->part == p && ktxnstate_preparing(t->m.state)) {
			ktxns_logf(ts, "transaction %s: %s loaded, its markers sent again", t->id,
				   ktxnstate_name(t->m.state));
			ktxn_markers(ts, t, now);
		}
}

void ktxns_unload(struct ktxns *ts, int32_t p)
{
	if (p < 0 || p >= ts->conf.state_partitions)
		return;
	struct ktxn *t, *next;
	for (t = LIST_FIRST(&ts->txns); t; t = next) {
		next = LIST_NEXT(t, link);
		if (t->part == p)
			ktxn_drop(ts, t, KE_NOT_COORDINATOR);
	}
	ts->parts[p] = KTXN_P_NONE;
}

/* ---- requests ---- */

/* The checks every request about an id starts with: KE_NONE with *out (NULL when unknown). */
static int16_t ktxn_lookup(struct ktxns *ts, const uint8_t *id, size_t len, struct ktxn **out)
{
	*out = NULL;
	if (len == 0)
		return KE_INVALID_REQUEST;
	int16_t e = ktxns_owns(ts, id, len);
	if (e)
		return e;
	*out = ktxn_find(ts, id, len);
	return KE_NONE;
}

static bool ktxn_busy(const struct ktxn *t)
{
	return t->writing || t->marking || t->complete_due;
}

void ktxns_init_pid(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int32_t timeout_ms, int64_t pid,
		    int16_t epoch, int16_t ver, int64_t now)
{
	struct ktxn *t;
	int16_t e = ktxn_lookup(ts, id, len, &t);
	int16_t fenced = ver >= 4 ? KE_PRODUCER_FENCED : KE_INVALID_PRODUCER_EPOCH;
	if (e) {
		ktxns_answer(ts, token, e, -1, -1);
		return;
	}
	if (timeout_ms <= 0 || timeout_ms > ts->conf.max_timeout_ms) {
		ktxns_answer(ts, token, KE_INVALID_TRANSACTION_TIMEOUT, -1, -1);
		return;
	}
	if (!t && !(t = ktxn_create(ts, id, len, now))) {
		ktxns_answer(ts, token, KE_UNKNOWN_SERVER_ERROR, -1, -1);
		return;
	}
	if (ktxn_busy(t)) {
		ktxns_answer(ts, token, KE_CONCURRENT_TRANSACTIONS, -1, -1);
		return;
	}
	if (pid >= 0) { /* KIP-360: a producer bumping the epoch it holds */
		if (pid == t->m.pid && epoch == t->m.last_epoch && t->m.state == KTXNSTATE_EMPTY && epoch >= 0) {
			/* the answer of this very bump was lost: the same answer again */
			ktxns_answer(ts, token, KE_NONE, t->m.pid, t->m.epoch);
			return;
		}
		if (pid != t->m.pid || epoch != t->m.epoch) {
			ktxns_answer(ts, token, fenced, -1, -1);
			return;
		}
	}
	switch (t->m.state) {
	case KTXNSTATE_ONGOING:
		/* a new producer of this id: the old one is fenced and its transaction aborted; the
		 * client retries until the abort is complete */
		ktxn_fence_abort(ts, t, "InitProducerId of a new producer", now);
		ktxns_answer(ts, token, KE_CONCURRENT_TRANSACTIONS, -1, -1);
		return;
	case KTXNSTATE_EMPTY:
	case KTXNSTATE_COMPLETE_COMMIT:
	case KTXNSTATE_COMPLETE_ABORT:
		break;
	default: /* PrepareCommit, PrepareAbort, PrepareEpochFence, Dead */
		ktxns_answer(ts, token, KE_CONCURRENT_TRANSACTIONS, -1, -1);
		return;
	}
	struct ktxn_meta to;
	if (ktxn_meta_copy(&to, &t->m)) {
		ktxns_answer(ts, token, KE_UNKNOWN_SERVER_ERROR, -1, -1);
		return;
	}
	ktxn_meta_free(&to);
	to.last_pid = t->m.pid;
	to.last_epoch = t->m.epoch;
	if (t->m.pid < 0 || t->m.epoch >= KTXN_EPOCH_MAX) {
		int64_t np = -1;
		e = ts->ops.new_pid(ts->arg, &np);
		if (e) {
			ktxns_answer(ts, token, e, -1, -1);
			return;
		}
		to.pid = np;
		to.epoch = 0;
	} else {
		to.epoch = (int16_t)(t->m.epoch + 1);
	}
	to.timeout_ms = timeout_ms;
	to.state = KTXNSTATE_EMPTY;
	to.start_ms = -1;
	ktxn_write(ts, t, &to, KTXN_W_INIT, token, now);
}

/* The checks of AddPartitions and EndTxn: KE_NONE with *out, else the error. */
static int16_t ktxn_producer_check(struct ktxns *ts, const uint8_t *id, size_t len, int64_t pid, int16_t epoch,
				   struct ktxn **out)
{
	int16_t e = ktxn_lookup(ts, id, len, out);
	if (e)
		return e;
	struct ktxn *t = *out;
	if (!t || t->m.pid < 0 || t->m.pid != pid)
		return KE_INVALID_PRODUCER_ID_MAPPING;
	if (t->m.epoch != epoch)
		return KE_PRODUCER_FENCED;
	if (ktxn_busy(t))
		return KE_CONCURRENT_TRANSACTIONS;
	return KE_NONE;
}

void ktxns_add_partitions(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int64_t pid, int16_t epoch,
			  const struct ktxn_tp *tps, int32_t n, int64_t now)
{
	struct ktxn *t;
	int16_t e = ktxn_producer_check(ts, id, len, pid, epoch, &t);
	if (!e && t->m.state != KTXNSTATE_ONGOING && t->m.state != KTXNSTATE_EMPTY &&
	    t->m.state != KTXNSTATE_COMPLETE_COMMIT && t->m.state != KTXNSTATE_COMPLETE_ABORT)
		e = KE_CONCURRENT_TRANSACTIONS; /* completing (or fenced, or dead) */
	if (e) {
		ktxns_answer(ts, token, e, -1, -1);
		return;
	}
	bool all = t->m.state == KTXNSTATE_ONGOING;
	for (int32_t i = 0; i < n && all; i++)
		all = ktxn_meta_has(&t->m, tps[i].topic, tps[i].part);
	if (all) {
		ktxns_answer(ts, token, KE_NONE, -1, -1);
		return;
	}
	struct ktxn_meta to;
	if (ktxn_meta_copy(&to, &t->m)) {
		ktxns_answer(ts, token, KE_UNKNOWN_SERVER_ERROR, -1, -1);
		return;
	}
	if (t->m.state != KTXNSTATE_ONGOING) {
		ktxn_meta_free(&to); /* a completed transaction's partitions are not the new one's */
		to.start_ms = now;
	}
	for (int32_t i = 0; i < n; i++)
		if (ktxn_meta_add(&to, tps[i].topic, tps[i].part)) {
			ktxn_meta_free(&to);
			ktxns_answer(ts, token, KE_UNKNOWN_SERVER_ERROR, -1, -1);
			return;
		}
	to.state = KTXNSTATE_ONGOING;
	ktxn_write(ts, t, &to, KTXN_W_ADD, token, now);
}

void ktxns_end(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int64_t pid, int16_t epoch, bool commit,
	       int64_t now)
{
	struct ktxn *t;
	int16_t e = ktxn_producer_check(ts, id, len, pid, epoch, &t);
	if (e == KE_CONCURRENT_TRANSACTIONS && t && ktxnstate_preparing(t->m.state) &&
	    (t->m.state == KTXNSTATE_PREPARE_COMMIT) != commit)
		e = KE_INVALID_TXN_STATE; /* the other result than the one completing */
	if (e) {
		ktxns_answer(ts, token, e, -1, -1);
		return;
	}
	switch (t->m.state) {
	case KTXNSTATE_ONGOING: {
		struct ktxn_meta to;
		if (ktxn_meta_copy(&to, &t->m)) {
			ktxns_answer(ts, token, KE_UNKNOWN_SERVER_ERROR, -1, -1);
			return;
		}
		to.state = commit ? KTXNSTATE_PREPARE_COMMIT : KTXNSTATE_PREPARE_ABORT;
		ktxn_write(ts, t, &to, KTXN_W_PREPARE, token, now);
		return;
	}
	case KTXNSTATE_COMPLETE_COMMIT: /* a retry of an EndTxn whose answer was lost */
		ktxns_answer(ts, token, commit ? KE_NONE : KE_INVALID_TXN_STATE, -1, -1);
		return;
	case KTXNSTATE_COMPLETE_ABORT:
		ktxns_answer(ts, token, commit ? KE_INVALID_TXN_STATE : KE_NONE, -1, -1);
		return;
	case KTXNSTATE_PREPARE_COMMIT:
	case KTXNSTATE_PREPARE_ABORT:
		ktxns_answer(ts, token,
			     (t->m.state == KTXNSTATE_PREPARE_COMMIT) == commit ? KE_CONCURRENT_TRANSACTIONS
										 : KE_INVALID_TXN_STATE,
			     -1, -1);
		return;
	case KTXNSTATE_EMPTY:
		ktxns_answer(ts, token, KE_INVALID_TXN_STATE, -1, -1);
		return;
	default: /* Dead, PrepareEpochFence (whose bumped epoch the check above refused) */
		ktxns_answer(ts, token, KE_INVALID_PRODUCER_ID_MAPPING, -1, -1);
		return;
	}
}

/* ---- completions and time ---- */

void ktxns_append_done(struct ktxns *ts, uint64_t id, int16_t err, int64_t now)
{
	struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link)
		if (t->writing && t->write_id == id)
			break;
	if (!t)
		return; /* its partition was unloaded meanwhile */
	t->writing = false;
	void *token = t->token;
	t->token = NULL;
	if (err) {
		ktxns_logf(ts, "transaction %s: writing %s failed (error %d)", t->id, ktxnstate_name(t->to.state), err);
		ktxn_meta_free(&t->to);
		if (t->what == KTXN_W_COMPLETE)
			t->complete_due = true; /* the tick writes it again */
		ktxns_answer(ts, token, ktxn_append_error(err), -1, -1);
		return;
	}
	static const char *const whys[] = {
		[KTXN_W_INIT] = "InitProducerId", [KTXN_W_ADD] = "partitions added",
		[KTXN_W_PREPARE] = "EndTxn",	   [KTXN_W_FENCE_ABORT] = "abort by the coordinator",
		[KTXN_W_COMPLETE] = "markers written",	   [KTXN_W_EXPIRE] = "transactional.id.expiration.ms passed",
	};
	enum ktxnstate s = t->m.state;
	ktxnstate_set(&s, t->to.state, t->id, whys[t->what], ktxns_log, ts);
	ktxn_meta_free(&t->m);
	t->m = t->to;
	memset(&t->to, 0, sizeof(t->to));
	switch (t->what) {
	case KTXN_W_INIT:
		ktxns_answer(ts, token, KE_NONE, t->m.pid, t->m.epoch);
		break;
	case KTXN_W_ADD:
		ktxns_answer(ts, token, KE_NONE, -1, -1);
		break;
	case KTXN_W_PREPARE:
		ktxns_answer(ts, token, KE_NONE, -1, -1);
		ktxn_markers(ts, t, now);
		break;
	case KTXN_W_FENCE_ABORT:
		ktxn_markers(ts, t, now);
		break;
	case KTXN_W_COMPLETE:
		break;
	case KTXN_W_EXPIRE: /* its tombstone is replicated: forgotten */
		ktxn_drop(ts, t, KE_NOT_COORDINATOR);
		break;
	}
}

void ktxns_markers_done(struct ktxns *ts, uint64_t id, int64_t now)
{
	struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link)
		if (t->marking && t->mark_id == id)
			break;
	if (!t)
		return;
	t->marking = false;
	t->complete_due = true;
	ktxn_complete(ts, t, now);
}

bool ktxns_markers_wanted(const struct ktxns *ts, uint64_t id)
{
	const struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link)
		if (t->marking && t->mark_id == id)
			return true;
	return false;
}

void ktxns_tick(struct ktxns *ts, int64_t now)
{
	bool check = now - ts->last_abort_check >= ts->conf.abort_check_ms;
	if (check)
		ts->last_abort_check = now;
	bool expire = ts->conf.id_expiration_ms > 0 && now - ts->last_expire_check >= ts->conf.expire_check_ms;
	if (expire)
		ts->last_expire_check = now;
	struct ktxn *t;
	LIST_FOREACH(t, &ts->txns, link) {
		if (ts->parts[t->part] != KTXN_P_OWNED || t->writing || t->marking)
			continue;
		if (t->complete_due)
			ktxn_complete(ts, t, now); /* a Complete that failed */
		else if (t->m.state == KTXNSTATE_PREPARE_EPOCH_FENCE)
			ktxn_fence_abort(ts, t, "retried", now); /* a PrepareAbort that failed */
		else if (check && t->m.state == KTXNSTATE_ONGOING && t->m.start_ms >= 0 &&
			 now - t->m.start_ms > t->m.timeout_ms)
			ktxn_fence_abort(ts, t, "transaction timed out", now);
		else if (expire && t->m.pid >= 0 &&
			 (t->m.state == KTXNSTATE_EMPTY || t->m.state == KTXNSTATE_COMPLETE_COMMIT ||
			  t->m.state == KTXNSTATE_COMPLETE_ABORT) &&
			 now - t->m.update_ms > ts->conf.id_expiration_ms) {
			struct ktxn_meta to;
			if (ktxn_meta_copy(&to, &t->m) == 0) {
				ktxn_meta_free(&to);
				to.state = KTXNSTATE_DEAD;
				ktxn_write(ts, t, &to, KTXN_W_EXPIRE, NULL, now);
			}
		}
	}
}

bool ktxns_info(const struct ktxns *ts, const char *id, struct ktxn_info *out)
{
	const struct ktxn *t = ktxn_find(ts, (const uint8_t *)id, strlen(id));
	if (!t)
		return false;
	out->id = t->id;
	out->producer_id = t->m.pid;
	out->producer_epoch = t->m.epoch;
	out->state = t->m.state;
	out->npartitions = 0;
	for (int32_t i = 0; i < t->m.ntopics; i++)
		out->npartitions += t->m.topics[i].n;
	return true;
}

size_t ktxns_count(const struct ktxns *ts)
{
	return ts->count;
}

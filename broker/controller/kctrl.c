/*
 * kctrl — the controller's decisions (see kctrl.h).
 *
 * Partition states (kctrl_set_pstate is the only place that changes one and checks the edge;
 * the state is derived from what is known after every input, as Kafka's controller initialises
 * it from the coordinator when it takes over):
 *
 *   NONEXISTENT --assignment--> NEW --state written--> ONLINE <--leader elected-- OFFLINE
 *        ^  |                    |                       |                          ^
 *        |  +--(taking over: the state znode exists)-----+---leader died / none-----+
 *        +---------------------- topic deleted (from every state) -----------------+
 *
 * Invariants: NEW: no state znode known. ONLINE: the leader is a registered broker not
 * confirmed dead. OFFLINE: the leader is -1 or dead. A partition with a write in flight
 * (inflight) decides nothing until its result; its pending state is what is being written.
 *
 * Broker (replica) states, per broker (kctrl_set_rstate): OFFLINE -> ONLINE (registered, its
 * connection works) -> SHUTTING (controlled shutdown) -> OFFLINE (registration gone or
 * confirmed dead); ONLINE -> OFFLINE. A SHUTTING broker is alive (it stays in no ISR it can
 * leave, and leads nothing it can hand over) but is never elected.
 */
#include "kctrl.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KCTRL_CHECK(cond)                                                                             \
	do {                                                                                          \
		if (!(cond)) {                                                                        \
			fprintf(stderr, "kctrl: invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort();                                                                      \
		}                                                                                     \
	} while (0)

struct kctrl_part {
	bool known; /* an assignment was given */
	enum kctrl_pstate st;
	uint32_t n_rep;
	int32_t rep[KCTRL_MAX_REPLICAS];
	int unclean; /* -1: the default */
	bool have_lisr;
	struct kctrl_lisr lisr; /* as last read or written */
	bool inflight;
	struct kctrl_lisr pend; /* being written */
	bool told;		/* its live replicas were sent its state in this term */
};

struct kctrl_topic {
	char *name;
	int32_t n; /* parts[0..n) allocated */
	struct kctrl_part *parts;
};

struct kctrl_broker {
	int32_t id;
	enum kctrl_rstate st;
	bool registered;
	bool dead;     /* confirmed dead by the channel, registration still there */
	bool shutting; /* asked for a controlled shutdown */
};

struct kctrl {
	int32_t epoch;
	bool unclean_default;
	kctrl_log_fn log;
	void *log_arg;
	struct kctrl_topic *topics; /* linear: the controller's work is per event, not per request */
	size_t n_topics;
	struct kctrl_broker *brokers;
	size_t n_brokers;
	struct kctrl_action *acts;
	size_t n_acts, cap_acts;
};

static const char *const kctrl_pstate_names[KCTRL_P_COUNT] = {
	[KCTRL_P_NONEXISTENT] = "nonexistent",
	[KCTRL_P_NEW] = "new",
	[KCTRL_P_ONLINE] = "online",
	[KCTRL_P_OFFLINE] = "offline",
};

static const char *const kctrl_rstate_names[KCTRL_R_COUNT] = {
	[KCTRL_R_OFFLINE] = "offline",
	[KCTRL_R_ONLINE] = "online",
	[KCTRL_R_SHUTTING] = "shutting-down",
};

static const char *const kctrl_action_names[KCTRL_ACT_TYPE_COUNT] = {
	[KCTRL_ACT_WRITE_STATE] = "write_state",
	[KCTRL_ACT_LEADER_AND_ISR] = "leader_and_isr",
};

const char *kctrl_pstate_name(enum kctrl_pstate s)
{
	return (unsigned)s < KCTRL_P_COUNT ? kctrl_pstate_names[s] : "?";
}

const char *kctrl_rstate_name(enum kctrl_rstate s)
{
	return (unsigned)s < KCTRL_R_COUNT ? kctrl_rstate_names[s] : "?";
}

const char *kctrl_action_name(enum kctrl_action_type t)
{
	return (unsigned)t < KCTRL_ACT_TYPE_COUNT ? kctrl_action_names[t] : "?";
}

static void kctrl_logf(struct kctrl *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kctrl_logf(struct kctrl *k, const char *fmt, ...)
{
	if (!k->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	k->log(k->log_arg, line);
}

static void *kctrl_xrealloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, (n ? n : 1) * size);
	KCTRL_CHECK(q != NULL);
	return q;
}

struct kctrl *kctrl_new(const struct kctrl_opts *o)
{
	struct kctrl *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->epoch = o->controller_epoch;
	k->unclean_default = o->unclean_default;
	k->log = o->log;
	k->log_arg = o->log_arg;
	return k;
}

void kctrl_free(struct kctrl *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n_topics; i++) {
		free(k->topics[i].name);
		free(k->topics[i].parts);
	}
	free(k->topics);
	free(k->brokers);
	free(k->acts);
	free(k);
}

/* ---- lookups ---- */

static struct kctrl_topic *kctrl_topic(const struct kctrl *k, const char *name)
{
	for (size_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->topics[i].name, name) == 0)
			return &k->topics[i];
	return NULL;
}

static struct kctrl_part *kctrl_part(const struct kctrl *k, const char *topic, int32_t partition)
{
	struct kctrl_topic *t = kctrl_topic(k, topic);
	if (!t || partition < 0 || partition >= t->n || !t->parts[partition].known)
		return NULL;
	return &t->parts[partition];
}

static struct kctrl_broker *kctrl_broker(const struct kctrl *k, int32_t id)
{
	for (size_t i = 0; i < k->n_brokers; i++)
		if (k->brokers[i].id == id)
			return &k->brokers[i];
	return NULL;
}

enum kctrl_rstate kctrl_rstate(const struct kctrl *k, int32_t id)
{
	const struct kctrl_broker *b = kctrl_broker(k, id);
	return b ? b->st : KCTRL_R_OFFLINE;
}

static bool kctrl_alive(const struct kctrl *k, int32_t id)
{
	return kctrl_rstate(k, id) != KCTRL_R_OFFLINE;
}

static bool kctrl_can_lead(const struct kctrl *k, int32_t id)
{
	return kctrl_rstate(k, id) == KCTRL_R_ONLINE;
}

static bool kctrl_in(const int32_t *ids, uint32_t n, int32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* ---- state machines ---- */

static bool kctrl_pedge_ok(enum kctrl_pstate from, enum kctrl_pstate to)
{
	switch (from) {
	case KCTRL_P_NONEXISTENT:
		return to == KCTRL_P_NEW || to == KCTRL_P_ONLINE || to == KCTRL_P_OFFLINE;
	case KCTRL_P_NEW:
		return to == KCTRL_P_ONLINE || to == KCTRL_P_OFFLINE || to == KCTRL_P_NONEXISTENT;
	case KCTRL_P_ONLINE:
		return to == KCTRL_P_OFFLINE || to == KCTRL_P_NONEXISTENT;
	case KCTRL_P_OFFLINE:
		return to == KCTRL_P_ONLINE || to == KCTRL_P_NONEXISTENT;
	case KCTRL_P_COUNT:
		break;
	}
	return false;
}

static void kctrl_set_pstate(struct kctrl *k, const char *topic, int32_t partition, struct kctrl_part *p,
			     enum kctrl_pstate to, const char *why)
{
	if (p->st == to)
		return;
	KCTRL_CHECK(kctrl_pedge_ok(p->st, to));
	kctrl_logf(k, "%s-%d: %s -> %s, leader %d epoch %d (%s)", topic, partition, kctrl_pstate_name(p->st),
		   kctrl_pstate_name(to), p->have_lisr ? p->lisr.leader : -1, p->have_lisr ? p->lisr.leader_epoch : -1,
		   why);
	p->st = to;
}

/* The state the known facts give (inflight or not: the pending write is not a fact yet). */
static void kctrl_derive(struct kctrl *k, const char *topic, int32_t partition, struct kctrl_part *p,
			 const char *why)
{
	enum kctrl_pstate to;
	if (!p->have_lisr)
		to = KCTRL_P_NEW;
	else if (p->lisr.leader >= 0 && kctrl_alive(k, p->lisr.leader))
		to = KCTRL_P_ONLINE;
	else
		to = KCTRL_P_OFFLINE;
	kctrl_set_pstate(k, topic, partition, p, to, why);
}

static bool kctrl_redge_ok(enum kctrl_rstate from, enum kctrl_rstate to)
{
	switch (from) {
	case KCTRL_R_OFFLINE:
		return to == KCTRL_R_ONLINE;
	case KCTRL_R_ONLINE:
		return to == KCTRL_R_OFFLINE || to == KCTRL_R_SHUTTING;
	case KCTRL_R_SHUTTING:
		return to == KCTRL_R_OFFLINE;
	case KCTRL_R_COUNT:
		break;
	}
	return false;
}

/* Derives a broker's state from its flags; true when it changed. */
static bool kctrl_set_rstate(struct kctrl *k, struct kctrl_broker *b, const char *why)
{
	if (!b->registered || b->dead)
		b->shutting = false; /* a shutdown ends with the broker gone */
	enum kctrl_rstate to = !b->registered || b->dead ? KCTRL_R_OFFLINE
			       : b->shutting		  ? KCTRL_R_SHUTTING
							  : KCTRL_R_ONLINE;
	if (b->st == to)
		return false;
	KCTRL_CHECK(kctrl_redge_ok(b->st, to));
	kctrl_logf(k, "broker %d: %s -> %s (%s)", b->id, kctrl_rstate_name(b->st), kctrl_rstate_name(to), why);
	b->st = to;
	return true;
}

static struct kctrl_broker *kctrl_broker_add(struct kctrl *k, int32_t id)
{
	struct kctrl_broker *b = kctrl_broker(k, id);
	if (b)
		return b;
	k->brokers = kctrl_xrealloc(k->brokers, k->n_brokers + 1, sizeof(*k->brokers));
	b = &k->brokers[k->n_brokers++];
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->st = KCTRL_R_OFFLINE;
	return b;
}

/* ---- actions ---- */

static struct kctrl_action *kctrl_act(struct kctrl *k, enum kctrl_action_type type, const char *topic,
				      int32_t partition)
{
	if (k->n_acts == k->cap_acts) {
		k->cap_acts = k->cap_acts ? 2 * k->cap_acts : 16;
		k->acts = kctrl_xrealloc(k->acts, k->cap_acts, sizeof(*k->acts));
	}
	struct kctrl_action *a = &k->acts[k->n_acts++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->topic = topic;
	a->partition = partition;
	return a;
}

const struct kctrl_action *kctrl_actions(const struct kctrl *k, size_t *n)
{
	*n = k->n_acts;
	return k->acts;
}

void kctrl_actions_clear(struct kctrl *k)
{
	k->n_acts = 0;
}

/* Queues the write of st (leader epoch already chosen) and marks the partition in flight. */
static void kctrl_write(struct kctrl *k, struct kctrl_topic *t, int32_t partition, struct kctrl_lisr *st,
			const char *why)
{
	struct kctrl_part *p = &t->parts[partition];
	KCTRL_CHECK(!p->inflight);
	st->controller_epoch = k->epoch;
	p->inflight = true;
	p->pend = *st;
	struct kctrl_action *a = kctrl_act(k, KCTRL_ACT_WRITE_STATE, t->name, partition);
	a->expect_version = p->have_lisr ? p->lisr.zk_version : -1;
	a->state = *st;
	char isr[128];
	size_t off = 0;
	isr[0] = '\0';
	for (uint32_t i = 0; i < st->n_isr && off < sizeof(isr); i++)
		off += (size_t)snprintf(isr + off, sizeof(isr) - off, "%s%d", i ? "," : "", st->isr[i]);
	kctrl_logf(k, "%s-%d: writing leader %d epoch %d isr [%s] (%s)", t->name, partition, st->leader,
		   st->leader_epoch, isr, why);
}

/* ---- decisions ---- */

/* The ISR minus its members that are dead or shutting down (except keep, the leader), one at a
 * time and never below one member (Kafka's removeReplicasFromIsr keeps the last one, so that it
 * can come back and lead without losing anything). */
static uint32_t kctrl_isr_without(const struct kctrl *k, const struct kctrl_lisr *cur, int32_t keep, int32_t *out)
{
	uint32_t n = cur->n_isr;
	memcpy(out, cur->isr, n * sizeof(*out));
	for (uint32_t i = 0; i < n && n > 1;) {
		if (out[i] != keep && !kctrl_can_lead(k, out[i])) {
			memmove(&out[i], &out[i + 1], (n - i - 1) * sizeof(*out));
			n--;
		} else {
			i++;
		}
	}
	return n;
}

static void kctrl_decide(struct kctrl *k, struct kctrl_topic *t, int32_t partition)
{
	struct kctrl_part *p = &t->parts[partition];
	if (!p->known || p->inflight)
		return;
	kctrl_derive(k, t->name, partition, p, "as known");
	struct kctrl_lisr st;
	memset(&st, 0, sizeof(st));
	if (!p->have_lisr) { /* NEW: first live replica leads, the live replicas are the ISR */
		st.leader = -1;
		for (uint32_t i = 0; i < p->n_rep; i++)
			if (kctrl_can_lead(k, p->rep[i])) {
				if (st.leader < 0)
					st.leader = p->rep[i];
				st.isr[st.n_isr++] = p->rep[i];
			}
		if (st.leader < 0)
			return; /* stays NEW until a replica registers */
		st.leader_epoch = 0;
		kctrl_write(k, t, partition, &st, "new partition");
		return;
	}
	const struct kctrl_lisr *cur = &p->lisr;
	bool unclean = p->unclean >= 0 ? p->unclean > 0 : k->unclean_default;
	if (cur->leader >= 0 && kctrl_can_lead(k, cur->leader)) {
		/* ONLINE: dead followers and those shutting down leave the ISR */
		st = *cur;
		st.n_isr = kctrl_isr_without(k, cur, cur->leader, st.isr);
		if (st.n_isr == cur->n_isr)
			return;
		/* the leader stays: so does its epoch (the znode version moves), unless a member
		 * leaving is shutting down (below) */
		bool fence = false;
		for (uint32_t i = 0; i < cur->n_isr; i++)
			fence |= !kctrl_in(st.isr, st.n_isr, cur->isr[i]) &&
				 kctrl_rstate(k, cur->isr[i]) == KCTRL_R_SHUTTING;
		if (fence)
			st.leader_epoch = cur->leader_epoch + 1;
		kctrl_write(k, t, partition, &st,
			    fence ? "a follower is shutting down: it leaves the ISR, its fetches fenced"
				  : "a follower is dead: it leaves the ISR");
		return;
	}
	/* the leader is dead, shutting down, or there is none: elect in assignment order */
	bool shutting = cur->leader >= 0 && kctrl_rstate(k, cur->leader) == KCTRL_R_SHUTTING;
	int32_t leader = -1;
	for (uint32_t i = 0; i < p->n_rep && leader < 0; i++)
		if (kctrl_can_lead(k, p->rep[i]) && kctrl_in(cur->isr, cur->n_isr, p->rep[i]))
			leader = p->rep[i];
	st = *cur;
	if (leader >= 0) {
		st.leader = leader;
		st.n_isr = kctrl_isr_without(k, cur, leader, st.isr);
		if (!kctrl_in(st.isr, st.n_isr, leader)) /* cannot happen: the leader is a live ISR member */
			st.isr[st.n_isr++] = leader;
	} else if (shutting) {
		return; /* no other ISR member can take it: it keeps leading (Kafka: shutdown retries) */
	} else if (unclean) {
		for (uint32_t i = 0; i < p->n_rep && leader < 0; i++)
			if (kctrl_can_lead(k, p->rep[i]))
				leader = p->rep[i];
		if (leader < 0)
			goto leaderless;
		st.leader = leader;
		st.n_isr = 1;
		st.isr[0] = leader;
		kctrl_logf(k, "%s-%d: unclean election of %d (not in the ISR): records may be lost", t->name, partition,
			   leader);
	} else {
		goto leaderless;
	}
	st.leader_epoch = cur->leader_epoch + 1;
	kctrl_write(k, t, partition, &st, shutting ? "controlled shutdown" : "leader elected");
	return;
leaderless:
	/* nobody can lead: leader -1, the dead leave the ISR but its last member stays */
	st.leader = -1;
	st.n_isr = kctrl_isr_without(k, cur, -1, st.isr);
	if (cur->leader < 0 && st.n_isr == cur->n_isr)
		return;
	if (cur->leader >= 0) /* the leader goes; an ISR-only change of a leaderless state keeps it */
		st.leader_epoch = cur->leader_epoch + 1;
	kctrl_write(k, t, partition, &st, "no live ISR member: leaderless");
}

/* Decides every partition that names broker id (as replica or in its state). */
static void kctrl_decide_broker(struct kctrl *k, int32_t id)
{
	for (size_t i = 0; i < k->n_topics; i++) {
		struct kctrl_topic *t = &k->topics[i];
		for (int32_t j = 0; j < t->n; j++) {
			struct kctrl_part *p = &t->parts[j];
			if (p->known && kctrl_in(p->rep, p->n_rep, id))
				kctrl_decide(k, t, j);
		}
	}
}

/* A broker that is online again (registered anew, or answering again) is told the state of
 * every partition it is a replica of, as Kafka's controller does on a broker's start-up: it may
 * have missed every change while it was away (a pause past its session) and still believe it
 * leads. */
static void kctrl_tell(struct kctrl *k, int32_t id)
{
	for (size_t i = 0; i < k->n_topics; i++) {
		struct kctrl_topic *t = &k->topics[i];
		for (int32_t j = 0; j < t->n; j++) {
			struct kctrl_part *p = &t->parts[j];
			if (!p->known || !p->have_lisr || p->inflight || !kctrl_in(p->rep, p->n_rep, id))
				continue;
			struct kctrl_action *a = kctrl_act(k, KCTRL_ACT_LEADER_AND_ISR, t->name, j);
			a->broker = id;
			a->state = p->lisr;
			a->n_replicas = p->n_rep;
			memcpy(a->replicas, p->rep, p->n_rep * sizeof(*p->rep));
		}
	}
}

/* LeaderAndIsr of partition p (its state as last read or written) to each of its live replicas,
 * but a broker shutting down that left its ISR: the new leader epoch fences its fetches, so that
 * the leader cannot take it back before it stops (told the new state, it would follow at it:
 * Kafka's controller sends it StopReplica instead). */
static void kctrl_tell_replicas(struct kctrl *k, const struct kctrl_topic *t, int32_t partition, struct kctrl_part *p)
{
	for (uint32_t i = 0; i < p->n_rep; i++) {
		if (!kctrl_alive(k, p->rep[i]) || (kctrl_rstate(k, p->rep[i]) == KCTRL_R_SHUTTING &&
						   !kctrl_in(p->lisr.isr, p->lisr.n_isr, p->rep[i])))
			continue;
		struct kctrl_action *a = kctrl_act(k, KCTRL_ACT_LEADER_AND_ISR, t->name, partition);
		a->broker = p->rep[i];
		a->state = p->lisr;
		a->n_replicas = p->n_rep;
		memcpy(a->replicas, p->rep, p->n_rep * sizeof(*p->rep));
	}
	p->told = true;
}

static void kctrl_decide_all(struct kctrl *k)
{
	for (size_t i = 0; i < k->n_topics; i++)
		for (int32_t j = 0; j < k->topics[i].n; j++)
			kctrl_decide(k, &k->topics[i], j);
}

/* ---- inputs ---- */

void kctrl_brokers(struct kctrl *k, const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < k->n_brokers; i++) {
		struct kctrl_broker *b = &k->brokers[i];
		bool listed = false;
		for (size_t j = 0; j < n && !listed; j++)
			listed = ids[j] == b->id;
		if (!listed && b->registered) {
			b->registered = false;
			b->dead = false; /* it registers anew when it comes back */
			kctrl_set_rstate(k, b, "registration gone");
		}
	}
	for (size_t j = 0; j < n; j++) {
		struct kctrl_broker *b = kctrl_broker_add(k, ids[j]);
		if (!b->registered) {
			b->registered = true;
			if (kctrl_set_rstate(k, b, "registered") && b->st == KCTRL_R_ONLINE)
				kctrl_tell(k, b->id);
		}
	}
	kctrl_decide_all(k);
}

void kctrl_broker_dead(struct kctrl *k, int32_t id)
{
	struct kctrl_broker *b = kctrl_broker_add(k, id);
	if (b->dead)
		return;
	b->dead = true;
	if (kctrl_set_rstate(k, b, "connection lost, confirmed dead"))
		kctrl_decide_broker(k, id);
}

void kctrl_broker_back(struct kctrl *k, int32_t id)
{
	struct kctrl_broker *b = kctrl_broker_add(k, id);
	if (!b->dead)
		return;
	b->dead = false;
	if (kctrl_set_rstate(k, b, "connection works again")) {
		kctrl_tell(k, id);
		kctrl_decide_broker(k, id);
	}
}

size_t kctrl_broker_shutting(struct kctrl *k, int32_t id)
{
	struct kctrl_broker *b = kctrl_broker(k, id);
	if (!b || b->st == KCTRL_R_OFFLINE)
		return 0;
	if (!b->shutting) {
		b->shutting = true;
		kctrl_set_rstate(k, b, "controlled shutdown");
	}
	size_t moving = 0;
	for (size_t i = 0; i < k->n_topics; i++) {
		struct kctrl_topic *t = &k->topics[i];
		for (int32_t j = 0; j < t->n; j++) {
			struct kctrl_part *p = &t->parts[j];
			if (!p->known || !kctrl_in(p->rep, p->n_rep, id))
				continue;
			kctrl_decide(k, t, j);
			if (p->inflight && p->have_lisr && p->lisr.leader == id && p->pend.leader != id)
				moving++;
		}
	}
	return moving;
}

static bool kctrl_assignment_ok(const int32_t *replicas, size_t n)
{
	if (n == 0 || n > KCTRL_MAX_REPLICAS)
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (replicas[i] == replicas[j])
				return false;
	return true;
}

int kctrl_partition(struct kctrl *k, const char *topic, int32_t partition, const int32_t *replicas, size_t n,
		    const struct kctrl_lisr *st, int unclean)
{
	if (partition < 0 || !kctrl_assignment_ok(replicas, n) || (st && st->n_isr > KCTRL_MAX_REPLICAS))
		return ERR_INVAL;
	struct kctrl_topic *t = kctrl_topic(k, topic);
	if (!t) {
		k->topics = kctrl_xrealloc(k->topics, k->n_topics + 1, sizeof(*k->topics));
		t = &k->topics[k->n_topics++];
		memset(t, 0, sizeof(*t));
		t->name = strdup(topic);
		KCTRL_CHECK(t->name != NULL);
	}
	if (partition >= t->n) {
		t->parts = kctrl_xrealloc(t->parts, (size_t)partition + 1, sizeof(*t->parts));
		memset(&t->parts[t->n], 0, ((size_t)partition + 1 - (size_t)t->n) * sizeof(*t->parts));
		t->n = partition + 1;
	}
	struct kctrl_part *p = &t->parts[partition];
	if (!p->known) {
		p->known = true;
		p->st = KCTRL_P_NONEXISTENT;
	}
	p->n_rep = (uint32_t)n;
	memcpy(p->rep, replicas, n * sizeof(*replicas));
	p->unclean = unclean;
	if (st && (!p->have_lisr || st->zk_version > p->lisr.zk_version || st->leader_epoch > p->lisr.leader_epoch)) {
		p->lisr = *st;
		p->have_lisr = true;
	}
	kctrl_decide(k, t, partition);
	/* A state read, not written, in this term: its live replicas are told it, as Kafka's
	 * controller does on failover (its replica state machine's start-up sends LeaderAndIsr for
	 * every partition to every live replica): the last term's messages may never have reached
	 * them (a controller that stopped right after writing, its queue dropped) */
	if (p->have_lisr && !p->inflight && !p->told)
		kctrl_tell_replicas(k, t, partition, p);
	return 0;
}

void kctrl_topic_gone(struct kctrl *k, const char *topic)
{
	struct kctrl_topic *t = kctrl_topic(k, topic);
	if (!t)
		return;
	for (int32_t j = 0; j < t->n; j++)
		if (t->parts[j].known)
			kctrl_set_pstate(k, t->name, j, &t->parts[j], KCTRL_P_NONEXISTENT, "topic deleted");
	/* actions naming it point at its name: drop them with it */
	size_t w = 0;
	for (size_t i = 0; i < k->n_acts; i++)
		if (k->acts[i].topic != t->name)
			k->acts[w++] = k->acts[i];
	k->n_acts = w;
	free(t->name);
	free(t->parts);
	size_t idx = (size_t)(t - k->topics);
	memmove(t, t + 1, (k->n_topics - idx - 1) * sizeof(*t));
	k->n_topics--;
	/* the remaining actions' topic pointers stay valid: they point at the names, not the array */
}

void kctrl_write_result(struct kctrl *k, const char *topic, int32_t partition, bool ok, int32_t new_version)
{
	struct kctrl_topic *t = kctrl_topic(k, topic);
	struct kctrl_part *p = kctrl_part(k, topic, partition);
	if (!p || !p->inflight)
		return;
	p->inflight = false;
	if (!ok) {
		kctrl_logf(k, "%s-%d: the state write failed; deciding again from what is read", topic, partition);
		return;
	}
	p->lisr = p->pend;
	p->lisr.zk_version = new_version;
	p->have_lisr = true;
	kctrl_derive(k, t->name, partition, p, "state written");
	kctrl_tell_replicas(k, t, partition, p);
	kctrl_decide(k, t, partition); /* something may have changed while it was in flight */
}

enum kctrl_elect kctrl_elect(struct kctrl *k, const char *topic, int32_t partition, bool unclean)
{
	struct kctrl_topic *t = kctrl_topic(k, topic);
	struct kctrl_part *p = kctrl_part(k, topic, partition);
	if (!p || !p->have_lisr)
		return KCTRL_ELECT_UNKNOWN;
	if (p->inflight)
		return KCTRL_ELECT_BUSY;
	struct kctrl_lisr st = p->lisr;
	if (unclean) {
		if (p->lisr.leader >= 0 && kctrl_alive(k, p->lisr.leader))
			return KCTRL_ELECT_NOT_NEEDED;
		int32_t leader = -1;
		for (uint32_t i = 0; i < p->n_rep && leader < 0; i++)
			if (kctrl_can_lead(k, p->rep[i]))
				leader = p->rep[i];
		if (leader < 0)
			return KCTRL_ELECT_NOT_AVAILABLE;
		st.leader = leader;
		if (kctrl_in(p->lisr.isr, p->lisr.n_isr, leader)) {
			st.n_isr = kctrl_isr_without(k, &p->lisr, leader, st.isr);
		} else {
			st.n_isr = 1;
			st.isr[0] = leader;
			kctrl_logf(k, "%s-%d: unclean election of %d (not in the ISR): records may be lost", topic, partition,
				   leader);
		}
		st.leader_epoch = p->lisr.leader_epoch + 1;
		kctrl_write(k, t, partition, &st, "unclean election asked for");
		return KCTRL_ELECT_STARTED;
	}
	int32_t pref = p->rep[0];
	if (p->lisr.leader == pref)
		return KCTRL_ELECT_NOT_NEEDED;
	if (!kctrl_can_lead(k, pref) || !kctrl_in(p->lisr.isr, p->lisr.n_isr, pref))
		return KCTRL_ELECT_NOT_AVAILABLE;
	st.leader = pref;
	st.leader_epoch = p->lisr.leader_epoch + 1;
	kctrl_write(k, t, partition, &st, "preferred replica");
	return KCTRL_ELECT_STARTED;
}

bool kctrl_busy(const struct kctrl *k, const char *topic, int32_t partition)
{
	const struct kctrl_part *p = kctrl_part(k, topic, partition);
	return p && p->inflight;
}

size_t kctrl_rebalance(struct kctrl *k, int32_t pct)
{
	size_t started = 0;
	for (size_t bi = 0; bi < k->n_brokers; bi++) {
		int32_t id = k->brokers[bi].id;
		if (!kctrl_can_lead(k, id))
			continue;
		size_t preferred = 0, imbalanced = 0;
		for (size_t i = 0; i < k->n_topics; i++)
			for (int32_t j = 0; j < k->topics[i].n; j++) {
				const struct kctrl_part *p = &k->topics[i].parts[j];
				if (!p->known || !p->have_lisr || p->n_rep == 0 || p->rep[0] != id)
					continue;
				preferred++;
				imbalanced += p->lisr.leader != id;
			}
		if (!imbalanced || imbalanced * 100 <= (size_t)pct * preferred)
			continue;
		kctrl_logf(k, "broker %d leads %zu of the %zu partitions it is preferred for: rebalancing",
			   id, preferred - imbalanced, preferred);
		for (size_t i = 0; i < k->n_topics; i++)
			for (int32_t j = 0; j < k->topics[i].n; j++) {
				const struct kctrl_part *p = &k->topics[i].parts[j];
				if (p->known && p->have_lisr && p->n_rep && p->rep[0] == id &&
				    kctrl_elect(k, k->topics[i].name, j, false) == KCTRL_ELECT_STARTED)
					started++;
			}
	}
	return started;
}

size_t kctrl_leading(const struct kctrl *k, int32_t id, struct kctrl_tp *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < k->n_topics; i++)
		for (int32_t j = 0; j < k->topics[i].n; j++) {
			const struct kctrl_part *p = &k->topics[i].parts[j];
			if (!p->known || !p->have_lisr || p->lisr.leader != id || p->n_rep < 2)
				continue;
			if (n < max) {
				out[n].topic = k->topics[i].name;
				out[n].partition = j;
			}
			n++;
		}
	return n;
}

/* ---- state ---- */

enum kctrl_pstate kctrl_pstate(const struct kctrl *k, const char *topic, int32_t partition)
{
	const struct kctrl_part *p = kctrl_part(k, topic, partition);
	return p ? p->st : KCTRL_P_NONEXISTENT;
}

const struct kctrl_lisr *kctrl_state(const struct kctrl *k, const char *topic, int32_t partition)
{
	const struct kctrl_part *p = kctrl_part(k, topic, partition);
	return p && p->have_lisr ? &p->lisr : NULL;
}

/*
 * kb_events — the timeline of observed cluster events (see kb_events.h). A fixed ring: `head`
 * is the slot the next event takes, `n` how many slots hold events (n <= KB_EVENTS_CAP); the
 * oldest event is at (head - n) mod CAP. Sequence numbers only grow, so a reader can tell what is
 * new even after the ring wrapped.
 */
#include "kb_events.h"

#include "jsonw.h"
#include "kb_broker.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const KE_MOD = "events";

struct kb_events {
	struct kb_event ring[KB_EVENTS_CAP];
	uint32_t head, n;
	uint64_t seq;
	int32_t ctrl_id, ctrl_epoch; /* the last controller seen (-1: none yet) */
	uint32_t nbrokers;
	struct kb_events_broker brokers[KB_EVENTS_MAX_BROKERS];
};

static const char *const kb_events_names[KB_EV_KINDS] = {
	[KB_EV_LEADER_ELECTED] = "leader_elected", [KB_EV_LEADER_CHANGE] = "leader_change",
	[KB_EV_OFFLINE] = "offline",		   [KB_EV_ISR_SHRINK] = "isr_shrink",
	[KB_EV_ISR_EXPAND] = "isr_expand",	   [KB_EV_BROKER_UP] = "broker_up",
	[KB_EV_BROKER_DOWN] = "broker_down",	   [KB_EV_CONTROLLER] = "controller",
	[KB_EV_COORD_UP] = "coordinator_up",	   [KB_EV_COORD_DOWN] = "coordinator_down",
	[KB_EV_COORD_ROLE] = "coordinator_role",
	[KB_EV_TOPIC_CREATED] = "topic_created",   [KB_EV_TOPIC_DELETED] = "topic_deleted",
};

const char *kb_events_kind_name(enum kb_event_kind kind)
{
	return kind < KB_EV_KINDS ? kb_events_names[kind] : "?";
}

struct kb_events *kb_events_new(void)
{
	struct kb_events *ev = calloc(1, sizeof(*ev));
	if (ev) {
		ev->ctrl_id = -1;
		ev->ctrl_epoch = -1;
	}
	return ev;
}

void kb_events_free(struct kb_events *ev)
{
	free(ev);
}

static int64_t kb_events_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kb_events_add(struct kb_events *ev, enum kb_event_kind kind, const char *topic, int32_t partition,
		   int32_t broker, const char *fmt, ...)
{
	if (!ev)
		return;
	struct kb_event *e = &ev->ring[ev->head];
	memset(e, 0, sizeof(*e));
	e->seq = ++ev->seq;
	e->ts_ms = kb_events_wall_ms();
	e->kind = kind;
	e->partition = partition;
	e->broker = broker;
	snprintf(e->topic, sizeof(e->topic), "%s", topic ? topic : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	ev->head = (ev->head + 1) % KB_EVENTS_CAP;
	if (ev->n < KB_EVENTS_CAP)
		ev->n++;
	log_debug(KE_MOD, "%s: %s", kb_events_names[kind], e->text);
}

uint32_t kb_events_count(const struct kb_events *ev)
{
	return ev ? ev->n : 0;
}

const struct kb_event *kb_events_get(const struct kb_events *ev, uint32_t i)
{
	if (!ev || i >= ev->n)
		return NULL;
	return &ev->ring[(ev->head + KB_EVENTS_CAP - ev->n + i) % KB_EVENTS_CAP];
}

uint32_t kb_events_brokers_count(const struct kb_events *ev)
{
	return ev ? ev->nbrokers : 0;
}

const struct kb_events_broker *kb_events_broker_get(const struct kb_events *ev, uint32_t i)
{
	return ev && i < ev->nbrokers ? &ev->brokers[i] : NULL;
}

static const struct kb_node *kb_events_node_find(const struct kb_node *nodes, int32_t n, int32_t id)
{
	for (int32_t i = 0; i < n; i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

/* Remembers (or updates) a registered broker; past the cap a new one is not remembered. */
static void kb_events_remember(struct kb_events *ev, const struct kb_node *nd)
{
	struct kb_events_broker *kb = NULL;
	for (uint32_t i = 0; i < ev->nbrokers && !kb; i++)
		if (ev->brokers[i].id == nd->id)
			kb = &ev->brokers[i];
	if (!kb) {
		if (ev->nbrokers >= KB_EVENTS_MAX_BROKERS)
			return;
		kb = &ev->brokers[ev->nbrokers++];
	}
	kb->id = nd->id;
	snprintf(kb->host, sizeof(kb->host), "%s", nd->host);
	kb->port = nd->port;
}

void kb_events_nodes(struct kb_events *ev, const struct kb_node *old, int32_t nold, const struct kb_node *cur,
		     int32_t ncur)
{
	if (!ev)
		return;
	for (int32_t i = 0; i < ncur; i++) {
		const struct kb_node *o = kb_events_node_find(old, nold, cur[i].id);
		kb_events_remember(ev, &cur[i]);
		/* a new registration: a new broker, or one that died and came back (a new epoch) */
		if (!o || o->epoch != cur[i].epoch)
			kb_events_add(ev, KB_EV_BROKER_UP, NULL, -1, cur[i].id, "broker %d registered at %s:%d", cur[i].id,
				      cur[i].host, cur[i].port);
	}
	for (int32_t i = 0; i < nold; i++)
		if (!kb_events_node_find(cur, ncur, old[i].id))
			kb_events_add(ev, KB_EV_BROKER_DOWN, NULL, -1, old[i].id,
				      "broker %d is gone (its registration expired or was removed)", old[i].id);
}

static bool kb_events_has(const int32_t *v, int32_t n, int32_t x)
{
	for (int32_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* "[1,2,3]" of v into buf. */
static const char *kb_events_list(const int32_t *v, int32_t n, char *buf, size_t size)
{
	size_t k = 0;
	k += (size_t)snprintf(buf, size, "[");
	for (int32_t i = 0; i < n && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%d", i ? "," : "", v[i]);
	if (k < size)
		snprintf(buf + k, size - k, "]");
	return buf;
}

void kb_events_part(struct kb_events *ev, const char *topic, const struct kb_part *old, const struct kb_part *cur)
{
	if (!ev || !old || !cur)
		return;
	/* a state not read yet (no state znode) tells nothing */
	if (cur->state_version < 0)
		return;
	bool had_state = old->state_version >= 0;
	int32_t id = cur->id;
	if (!had_state || old->leader != cur->leader) {
		if (cur->leader < 0) {
			if (had_state)
				kb_events_add(ev, KB_EV_OFFLINE, topic, id, old->leader,
					      "%s-%d has no leader (was %d, epoch %d)", topic, id, old->leader,
					      cur->leader_epoch);
		} else if (!had_state || old->leader < 0) {
			kb_events_add(ev, KB_EV_LEADER_ELECTED, topic, id, cur->leader, "%s-%d: leader %d elected (epoch %d)",
				      topic, id, cur->leader, cur->leader_epoch);
		} else {
			kb_events_add(ev, KB_EV_LEADER_CHANGE, topic, id, cur->leader,
				      "%s-%d: leader %d -> %d (epoch %d -> %d)", topic, id, old->leader, cur->leader,
				      old->leader_epoch, cur->leader_epoch);
		}
	}
	if (!had_state)
		return;
	char was[96], now[96];
	for (int32_t i = 0; i < old->nisr; i++)
		if (!kb_events_has(cur->isr, cur->nisr, old->isr[i])) {
			kb_events_add(ev, KB_EV_ISR_SHRINK, topic, id, old->isr[i], "%s-%d: ISR %s -> %s (%d left)", topic,
				      id, kb_events_list(old->isr, old->nisr, was, sizeof(was)),
				      kb_events_list(cur->isr, cur->nisr, now, sizeof(now)), old->isr[i]);
			break; /* one event per change, naming the first replica that left */
		}
	for (int32_t i = 0; i < cur->nisr; i++)
		if (!kb_events_has(old->isr, old->nisr, cur->isr[i])) {
			kb_events_add(ev, KB_EV_ISR_EXPAND, topic, id, cur->isr[i], "%s-%d: ISR %s -> %s (%d joined)", topic,
				      id, kb_events_list(old->isr, old->nisr, was, sizeof(was)),
				      kb_events_list(cur->isr, cur->nisr, now, sizeof(now)), cur->isr[i]);
			break;
		}
}

void kb_events_controller(struct kb_events *ev, int32_t id, int32_t epoch)
{
	if (!ev || id < 0 || epoch <= ev->ctrl_epoch)
		return;
	if (ev->ctrl_id < 0)
		kb_events_add(ev, KB_EV_CONTROLLER, NULL, -1, id, "controller: broker %d (epoch %d)", id, epoch);
	else
		kb_events_add(ev, KB_EV_CONTROLLER, NULL, -1, id, "controller: broker %d -> %d (epoch %d -> %d)",
			      ev->ctrl_id, id, ev->ctrl_epoch, epoch);
	ev->ctrl_id = id;
	ev->ctrl_epoch = epoch;
}

void kb_events_json(const struct kb_events *ev, struct jsonw *w)
{
	jsonw_arr_begin(w);
	for (uint32_t i = 0; i < kb_events_count(ev); i++) {
		const struct kb_event *e = kb_events_get(ev, i);
		jsonw_obj_begin(w);
		jsonw_key(w, "seq");
		jsonw_uint(w, e->seq);
		jsonw_key(w, "ts_ms");
		jsonw_int(w, e->ts_ms);
		jsonw_key(w, "kind");
		jsonw_str(w, kb_events_names[e->kind]);
		jsonw_key(w, "topic");
		if (e->topic[0])
			jsonw_str(w, e->topic);
		else
			jsonw_null(w);
		jsonw_key(w, "partition");
		jsonw_int(w, e->partition);
		jsonw_key(w, "broker");
		jsonw_int(w, e->broker);
		jsonw_key(w, "text");
		jsonw_str(w, e->text);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);
}

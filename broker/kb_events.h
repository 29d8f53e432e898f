/*
 * kb_events — the timeline of cluster events this broker observed, for the live cluster page
 * (kb_page): leader elections and changes, ISR shrinks and expansions, broker registrations and
 * deaths, controller moves, coordinator servers going up or down, topics created and deleted.
 * Each event is derived where the metadata cache changes (kb_zkmeta hands the old and the new
 * state to kb_events_nodes / kb_events_part before it installs the new one) and kept with its
 * wall-clock time and a sequence number in a ring of KB_EVENTS_CAP entries: the oldest is
 * overwritten, so memory is bounded whatever happens. It also remembers every broker it has seen
 * registered (id, host, port; at most KB_EVENTS_MAX_BROKERS), so the page can list a dead broker
 * beside the live ones. Loop thread only.
 */
#ifndef SAMSA_KB_EVENTS_H
#define SAMSA_KB_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct jsonw;
struct kb_events;
struct kb_node;
struct kb_part;

#define KB_EVENTS_CAP 256
#define KB_EVENTS_MAX_BROKERS 256
#define KB_EVENTS_TEXT 200

enum kb_event_kind {
	KB_EV_LEADER_ELECTED, /* a partition got its first leader, or one after being offline */
	KB_EV_LEADER_CHANGE,  /* from one leader to another */
	KB_EV_OFFLINE,	      /* no leader any more */
	KB_EV_ISR_SHRINK,
	KB_EV_ISR_EXPAND,
	KB_EV_BROKER_UP,   /* registered in /brokers/ids */
	KB_EV_BROKER_DOWN, /* its registration is gone */
	KB_EV_CONTROLLER,  /* a new controller epoch */
	KB_EV_COORD_UP,
	KB_EV_COORD_DOWN,
	KB_EV_COORD_ROLE, /* a coordinator server's role changed (follower -> leader) */
	KB_EV_TOPIC_CREATED,
	KB_EV_TOPIC_DELETED,
	KB_EV_KINDS
};

/* One event as kept. topic is "" and partition/broker -1 where they do not apply. */
struct kb_event {
	uint64_t seq; /* 1, 2, ...: a reader asks for those after the last it saw */
	int64_t ts_ms; /* wall clock */
	enum kb_event_kind kind;
	int32_t partition;
	int32_t broker;
	char topic[250];
	char text[KB_EVENTS_TEXT];
};

/* A broker seen registered, alive or not now. */
struct kb_events_broker {
	int32_t id;
	char host[256];
	int32_t port;
};

/* Makes the ring (empty). NULL when out of memory: every other call then does nothing. */
struct kb_events *kb_events_new(void);
void kb_events_free(struct kb_events *ev); /* NULL ok */

/* Snake-case name of a kind ("leader_change"), as the JSON shows it. */
const char *kb_events_kind_name(enum kb_event_kind kind);

/* Records one event now; text is printf-formatted and cut at KB_EVENTS_TEXT. */
void kb_events_add(struct kb_events *ev, enum kb_event_kind kind, const char *topic, int32_t partition,
		   int32_t broker, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The broker list changes from old[0..nold) to cur[0..ncur) (neither is kept): registrations and
 * deaths are recorded and the new brokers remembered. */
void kb_events_nodes(struct kb_events *ev, const struct kb_node *old, int32_t nold, const struct kb_node *cur,
		     int32_t ncur);
/* Partition topic/partition changes from old (NULL: seen for the first time, nothing recorded)
 * to cur: leader elections and changes, going offline, ISR shrinks and expansions. */
void kb_events_part(struct kb_events *ev, const char *topic, const struct kb_part *old, const struct kb_part *cur);
/* The controller as read from the coordinator: an event when epoch is newer than the last seen
 * (every election increments it), naming id and the previous controller. */
void kb_events_controller(struct kb_events *ev, int32_t id, int32_t epoch);

/* Events in order, oldest first (at most KB_EVENTS_CAP); the i-th is valid until the next add. */
uint32_t kb_events_count(const struct kb_events *ev);
const struct kb_event *kb_events_get(const struct kb_events *ev, uint32_t i);
/* Brokers ever seen registered; the i-th of kb_events_brokers_count. */
uint32_t kb_events_brokers_count(const struct kb_events *ev);
const struct kb_events_broker *kb_events_broker_get(const struct kb_events *ev, uint32_t i);

/* The ring as a JSON array of {"seq","ts_ms","kind","topic","partition","broker","text"},
 * oldest first, into w (a value is due). */
void kb_events_json(const struct kb_events *ev, struct jsonw *w);

#endif

/*
 * kb_page — the live cluster page on samsa.http.port, beside /metrics:
 *   /             one self-contained HTML page (inline CSS and JS, embedded in the binary from
 *                 kb_page.html at build time) that fetches /api/cluster every second and redraws
 *   /api/cluster  JSON: this broker's view of the whole cluster —
 *     {"broker": id, "cluster_id", "generated_ms" (wall clock), "coordinator_session":
 *      "connected"|"disconnected",
 *      "ensemble": {"connect", "servers": [{"host","port","state" (up|down|unknown),"mode",...}]},
 *      "controller": {"id" (-1: none), "epoch"},
 *      "brokers": [{"id","host","port","rack","alive","controller"}]  (live ones, ones seen
 *                 before that died, and replicas never seen registered),
 *      "topics": [{"name","internal","deleting","partitions": [{"partition","leader","leader_epoch","replicas","isr",
 *                 "under_replicated","offline"}]}]  (by name),
 *      "groups": [{"group","state","protocol_type","generation","members","coordinator",
 *                 "partitions","lag","lag_unknown_partitions"}]  (the groups this broker
 *                 coordinates; lag = high watermark - committed offset, summed over the
 *                 partitions hosted here), "groups_available" (the group coordinator runs),
 *      "events": [{"seq","ts_ms","kind","topic","partition","broker","text"}]  (kb_events,
 *                 oldest first)}
 * It owns the event ring (b->events, filled by kb_zkmeta's hooks), the ensemble prober (kb_ens)
 * and a timer that asks the ensemble's servers and reads /controller and /controller_epoch: every
 * second while someone looked at the page in the last KB_PAGE_ACTIVE_MS, else every
 * KB_PAGE_IDLE_MS. Loop thread only; every handler renders from memory.
 */
#ifndef SAMSA_KB_PAGE_H
#define SAMSA_KB_PAGE_H

#include <stddef.h>

struct broker;
struct evbuffer;
struct http_server;
struct kb_page;

#define KB_PAGE_ACTIVE_MS 30000
#define KB_PAGE_IDLE_MS 5000

/* Serves / and /api/cluster on hs (NULL: no endpoint; nothing is kept then) and starts the
 * event ring and the ensemble prober. Call before kb_cluster_start so the first registrations
 * are recorded. 0, ERR_NOMEM or ERR_CONFIG (zookeeper.connect unreadable) with text in eb. */
int kb_page_start(struct broker *b, struct http_server *hs, char *eb, size_t el);
/* After kb_cluster_stop (its completions are done). NULL-safe on a broker without a page. */
void kb_page_stop(struct broker *b);
/* The /api/cluster document into out. */
void kb_page_json(struct broker *b, struct evbuffer *out);

#endif

/*
 * kb_ens — the coordinator ensemble as this broker sees it, for the live cluster page: the
 * servers of zookeeper.connect, each asked ZooKeeper's four-letter word `srvr` over a connection
 * of its own (non-blocking on the loop: connect, write "srvr", read to EOF, with a deadline), so
 * the page shows each server's role (leader, follower, observer, standalone) and whether it
 * answers. A server that refuses, times out or is not serving is "down"; each up/down change and
 * role change goes into the event timeline (kb_events). The parser of the `srvr` reply
 * (kb_ens_parse_srvr: outside bytes) is a pure function with a fuzz harness (fuzz_kb_ens).
 * Loop thread only.
 */
#ifndef SAMSA_KB_ENS_H
#define SAMSA_KB_ENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct jsonw;
struct kb_ens;
struct kb_events;

#define KB_ENS_MAX_SERVERS 16
#define KB_ENS_REPLY_MAX 8192 /* bytes of a srvr reply read; a longer one is not a srvr reply */
#define KB_ENS_TIMEOUT_MS 1000

/* What a srvr reply says. Fields not in the reply are -1 / "". */
struct kb_ens_srvr {
	bool serving;	/* false: "This ZooKeeper instance is not currently serving requests" */
	char mode[16];	/* leader, follower, observer, standalone, read-only */
	char version[64];
	int64_t zxid;
	int64_t node_count;
	int64_t connections;
	int64_t outstanding;
};

/* Parses a srvr reply of n bytes (not NUL-terminated). 0, or ERR_CORRUPT when it is neither a
 * serving server's reply (a Mode line) nor the not-serving sentence. */
int kb_ens_parse_srvr(const char *p, size_t n, struct kb_ens_srvr *out);

/* The servers of connect ("host:port[,host:port...][/chroot]", at most KB_ENS_MAX_SERVERS).
 * ev (not owned, may be NULL) receives the events. NULL with text in eb on a bad string or out
 * of memory. */
struct kb_ens *kb_ens_new(struct event_base *base, const char *connect, struct kb_events *ev, char *eb, size_t el);
/* Closes every probe in flight (their results are dropped). NULL ok. */
void kb_ens_free(struct kb_ens *e);
/* Starts one round: each server not still being asked is asked again. */
void kb_ens_poll(struct kb_ens *e);
/* {"connect": ..., "servers": [{"host","port","state","mode","zxid","node_count","connections",
 * "error","since_ms","checked_ms"}]} into w (a value is due). */
void kb_ens_json(const struct kb_ens *e, struct jsonw *w);

#endif

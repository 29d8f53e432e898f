/*
 * zk_session — the session table and ZooKeeper's expiry queue (SessionTrackerImpl +
 * ExpiryQueue): sessions by id with their timeout, password, owning connection and a closing
 * flag, and expiry buckets keyed by tick so that finding the expired ones never scans the table.
 * No clock inside: callers pass a monotonic now_ms. Loop thread only.
 */
#ifndef SAMSA_ZK_SESSION_H
#define SAMSA_ZK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zk_sessions;

struct zk_sessions *zk_sessions_new(int64_t server_id, int64_t now_ms, int32_t tick_ms);
void zk_sessions_free(struct zk_sessions *s); /* NULL ok */

/* ZooKeeper's id scheme: the first id is ((now_ms << 24) >>> 8) | (server_id << 56), then +1
 * for each; never an id that is in the table. */
int64_t zk_sessions_next_id(struct zk_sessions *s);
/* Adds (or replaces) a session; it expires timeout_ms after now_ms, rounded up to a tick. */
int zk_sessions_add(struct zk_sessions *s, int64_t id, int32_t timeout_ms, const uint8_t passwd[16],
		    int64_t now_ms);
int zk_sessions_touch(struct zk_sessions *s, int64_t id, int64_t now_ms);
int zk_sessions_remove(struct zk_sessions *s, int64_t id);
bool zk_sessions_exists(const struct zk_sessions *s, int64_t id);
int32_t zk_sessions_timeout(const struct zk_sessions *s, int64_t id); /* -1 if unknown */
const uint8_t *zk_sessions_passwd(const struct zk_sessions *s, int64_t id);
void *zk_sessions_get_owner(const struct zk_sessions *s, int64_t id);
void zk_sessions_set_owner(struct zk_sessions *s, int64_t id, void *owner);
void zk_sessions_set_closing(struct zk_sessions *s, int64_t id);
bool zk_sessions_is_closing(const struct zk_sessions *s, int64_t id);
/* Calls cb for every session whose expiry is <= now_ms and that is not closing, marking each
 * closing first (the caller then logs a closeSession txn, which removes it). */
int zk_sessions_expire(struct zk_sessions *s, int64_t now_ms, void (*cb)(int64_t id, void *arg), void *arg);
/* Every session (for snapshots); cb non-zero stops with that value. */
int zk_sessions_walk(const struct zk_sessions *s,
		     int (*cb)(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg), void *arg);
size_t zk_sessions_count(const struct zk_sessions *s);
/* The negotiated timeout: requested clamped into [min_ms, max_ms]. */
int32_t zk_sessions_negotiate(int32_t requested, int32_t min_ms, int32_t max_ms);

#endif

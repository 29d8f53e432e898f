/*
 * kapi_group — the consumer-group APIs on the listener: FindCoordinator (10, v0-2) answered
 * here from the metadata cache (the leader of the group's __consumer_offsets partition, the
 * topic created on first use by kb_groups), and JoinGroup (11, v0-5), SyncGroup (14, v0-3),
 * Heartbeat (12, v0-3), LeaveGroup (13, v0-3), OffsetCommit (8, v0-7), OffsetFetch (9, v0-5),
 * ListGroups (16, v0-2), DescribeGroups (15, v0-4), DeleteGroups (42, v0-1) and OffsetDelete
 * (47, v0) decoded with broker/wire's kgw and handed to the group coordinator's core (kgroup,
 * through kb_groups), which answers each exactly once, at once or later, through
 * kapi_group_reply. The request's response slot (struct kresp) is the core's token: it is
 * marked parked, so that a connection closing meanwhile orphans it (kconn_gone) instead of
 * freeing it, and the reply frees an orphan. Loop thread.
 */
#ifndef SAMSA_KAPI_GROUP_H
#define SAMSA_KAPI_GROUP_H

#include <stdint.h>

struct broker;
struct kout;
struct kreq;
struct kresp;

/* FindCoordinator into o: 0, or ERR_PROTO (malformed: the connection closes). */
int kapi_group_find_coordinator(struct broker *b, struct kreq *q, struct kout *o);
/* Any other group API: decoded and given to the core with resp as its token (resp->parked
 * set; answered through kapi_group_reply). 0, or < 0 when malformed (nothing was given to the
 * core, resp stays unfilled in the queue, and the connection closes). */
int kapi_group_request(struct broker *b, struct kreq *q, struct kresp *resp);
/* The core's reply callback (kgroups_ops.reply, arg the broker): encodes resp_body, the struct
 * kgw_<api>_resp of version ver, into the slot token and sends what is ready; an orphaned slot
 * (its connection closed) is freed. */
void kapi_group_reply(void *arg, void *token, int16_t api, int16_t ver, const void *resp_body);

#endif

/*
 * kapi_offsets — the offset questions a partition's leader answers: ListOffsets (API 2, v0-5:
 * earliest, latest = the high watermark, or the first record at or after a timestamp) and
 * OffsetForLeaderEpoch (API 23, v0-3, KIP-101/KIP-279/KIP-320: the end offset of a leader
 * epoch, which a follower truncates to). Loop thread.
 */
#ifndef SAMSA_KAPI_OFFSETS_H
#define SAMSA_KAPI_OFFSETS_H

struct broker;
struct kout;
struct kreq;

/* Each answers q into o: 0, or ERR_PROTO (malformed: the connection closes). */
int kapi_offsets_list(struct broker *b, struct kreq *q, struct kout *o);
int kapi_offsets_for_epoch(struct broker *b, struct kreq *q, struct kout *o);

#endif

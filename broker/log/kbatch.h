/*
 * kbatch — Kafka record batches, format v2 (magic 2): the one decoder of batch bytes, whether
 * they come from a Produce request, a Fetch response or a segment file on disk. Parses and
 * validates headers (CRC-32C over attributes..end), walks the records of uncompressed batches,
 * rewrites the fields the broker owns in place (base offset, leader epoch, LogAppendTime) and
 * builds batches for tests and tools.
 *
 * Batch layout (big-endian), offsets in bytes (Kafka protocol guide, "Record Batch"):
 *    0 baseOffset i64        8 batchLength i32 (bytes after this field)
 *   12 partitionLeaderEpoch  16 magic i8 (2)     17 crc u32 (CRC-32C of bytes 21..end)
 *   21 attributes i16        23 lastOffsetDelta i32
 *   27 baseTimestamp i64     35 maxTimestamp i64
 *   43 producerId i64        51 producerEpoch i16  53 baseSequence i32
 *   57 recordsCount i32      61 records...
 * Record: length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
 * keyLength varint (-1 null), key, valueLength varint (-1 null), value, headersCount varint,
 * headers (keyLength varint >= 0, key, valueLength varint (-1 null), value).
 *
 * Nothing here allocates or does I/O; every function may be given arbitrary bytes. It lives in
 * broker/log/ (library samsa_broker_log) and depends only on common/.
 */
#ifndef SAMSA_KBATCH_H
#define SAMSA_KBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KBATCH_HDR_SIZE 61
#define KBATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength: batchLength counts what follows */
#define KBATCH_MAGIC 2

/* Field offsets inside a batch. */
#define KBATCH_OFF_BASE_OFFSET 0
#define KBATCH_OFF_LENGTH 8
#define KBATCH_OFF_LEADER_EPOCH 12
#define KBATCH_OFF_MAGIC 16
#define KBATCH_OFF_CRC 17
#define KBATCH_OFF_ATTRIBUTES 21
#define KBATCH_OFF_LAST_OFFSET_DELTA 23
#define KBATCH_OFF_BASE_TIMESTAMP 27
#define KBATCH_OFF_MAX_TIMESTAMP 35
#define KBATCH_OFF_PRODUCER_ID 43
#define KBATCH_OFF_RECORDS_COUNT 57

/* attributes */
#define KBATCH_COMPRESSION_MASK 0x07 /* 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
#define KBATCH_LOG_APPEND_TIME 0x08
#define KBATCH_TRANSACTIONAL 0x10
#define KBATCH_CONTROL 0x20

#define KBATCH_NO_TIMESTAMP (-1)

struct kbatch_hdr {
	int64_t base_offset;
	int32_t batch_length;
	int32_t leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t records_count;
};

/* Whole size of a batch (12 + batchLength) from its first 12 bytes; the caller checks len >= 12. */
static inline size_t kbatch_size_of(const uint8_t *p)
{
	uint32_t v = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
	return KBATCH_LOG_OVERHEAD + (size_t)v;
}

/*
 * Decodes the 61-byte header at p (len bytes available). Checks only what the header alone
 * can tell: ERR_TRUNC if len < 61, ERR_VERSION if magic != 2 (checked as soon as 17 bytes are
 * there), ERR_CORRUPT if batchLength < 49. No CRC check. *h is filled whenever len >= 61.
 */
int kbatch_parse_hdr(const uint8_t *p, size_t len, struct kbatch_hdr *h);

/*
 * Validates one complete batch of exactly len bytes (from a Produce request or a segment):
 * header, batchLength == len - 12, magic 2, CRC-32C, recordsCount >= 1 and
 * lastOffsetDelta == recordsCount - 1 (what producers send and what the log stores), and for
 * uncompressed batches every record (bounds, varints, lengths consistent with the record
 * length, offsetDelta strictly increasing within [0, lastOffsetDelta], recordsCount records
 * filling the batch exactly). *h (may be NULL) is filled when the header parsed.
 * Returns 0; ERR_CORRUPT (framing or CRC mismatch: Kafka's CORRUPT_MESSAGE); ERR_VERSION
 * (magic != 2: UNSUPPORTED_FOR_MESSAGE_FORMAT); ERR_PROTO (CRC fine but the content is
 * invalid: INVALID_RECORD). A message goes to eb.
 */
int kbatch_validate(const uint8_t *p, size_t len, struct kbatch_hdr *h, char *eb, size_t el);
/*
 * kbatch_validate without the walk of the records: header, framing, CRC-32C and the header
 * fields that must agree. What a follower checks of the batches its leader sends (Kafka's
 * appendAsFollower: the leader validated every record when it took the batch, and the CRC
 * covers them since); the same return values.
 */
int kbatch_check(const uint8_t *p, size_t len, struct kbatch_hdr *h, char *eb, size_t el);
/*
 * Both with flags. KBATCH_COMPACTED accepts what the log cleaner leaves (Kafka's
 * MemoryRecords.filterTo): a batch keeping its baseOffset and lastOffsetDelta with fewer
 * records, 0 <= recordsCount <= lastOffsetDelta + 1, their offsetDeltas increasing with gaps.
 * Batches read back from a log (recovery, the cleaner, a follower's fetch) are checked this
 * way; a Produce request's with plain kbatch_validate.
 */
#define KBATCH_COMPACTED 2u
int kbatch_check_ex(const uint8_t *p, size_t len, unsigned flags, struct kbatch_hdr *h, char *eb, size_t el);
int kbatch_validate_ex(const uint8_t *p, size_t len, unsigned flags, struct kbatch_hdr *h, char *eb,
		       size_t el);

/*
 * Walks back-to-back batches (a Produce "records" field, a Fetch response, a segment) by their
 * batchLength framing only, calling cb(batch, size, arg) for each complete batch; a non-zero
 * return from cb stops the walk and is returned. Framing errors (batchLength < 49) are
 * ERR_CORRUPT. A partial batch (or fewer than 12 bytes) at the end is ERR_TRUNC, unless
 * flags has KBATCH_ALLOW_PARTIAL (a Fetch response may end in one): then it is ignored.
 * *consumed (may be NULL) gets the bytes of whole batches walked.
 */
#define KBATCH_ALLOW_PARTIAL 1u
typedef int (*kbatch_cb)(const uint8_t *b, size_t blen, void *arg);
int kbatch_foreach(const uint8_t *p, size_t len, kbatch_cb cb, void *arg, char *eb, size_t el);
int kbatch_foreach_ex(const uint8_t *p, size_t len, unsigned flags, kbatch_cb cb, void *arg,
		      size_t *consumed, char *eb, size_t el);

/* In place on a batch the caller has validated (at least KBATCH_HDR_SIZE bytes). baseOffset
 * and partitionLeaderEpoch are not covered by the CRC. */
void kbatch_set_base_offset(uint8_t *b, int64_t base_offset);
void kbatch_set_leader_epoch(uint8_t *b, int32_t epoch);
/* Sets the LogAppendTime attribute bit and maxTimestamp = ts_ms, then recomputes the CRC over
 * the len bytes of the batch (Kafka's setMaxTimestamp(LOG_APPEND_TIME, now)). */
void kbatch_set_log_append_time(uint8_t *b, size_t len, int64_t ts_ms);
/* Recomputes and stores the CRC of a batch of len bytes. */
void kbatch_update_crc(uint8_t *b, size_t len);

/* A record header (key is never null on the wire; value_len -1 = null value). */
struct kbatch_kv {
	const void *key;
	int32_t key_len;
	const void *value;
	int32_t value_len;
};

/* One record of an uncompressed batch, pointing into the batch (valid while it is). */
struct kbatch_record {
	int64_t offset;    /* baseOffset + offsetDelta */
	int64_t timestamp; /* baseTimestamp + timestampDelta, or maxTimestamp under LogAppendTime */
	int8_t attributes;
	const uint8_t *key; /* NULL when key_len == -1 */
	int32_t key_len;
	const uint8_t *value; /* NULL when value_len == -1 */
	int32_t value_len;
	int32_t headers_count;
	const uint8_t *headers; /* raw header bytes, headers_len long: see kbatch_header_next */
	size_t headers_len;
	const uint8_t *raw; /* the whole record as stored, its length varint included */
	size_t raw_len;
};

/*
 * Calls cb for every record of an uncompressed batch of exactly len bytes, in order; a non-zero
 * return from cb stops and is returned. The header and the records are checked as in
 * kbatch_validate_ex with KBATCH_COMPACTED (except the CRC), so arbitrary bytes are safe and a
 * batch the log cleaner thinned is read like any other. A compressed batch is
 * ERR_VERSION ("compressed: not decoded here").
 */
typedef int (*kbatch_record_cb)(const struct kbatch_record *r, void *arg);
int kbatch_records(const uint8_t *b, size_t len, kbatch_record_cb cb, void *arg, char *eb,
		   size_t el);

/* Iterates the headers of a record: *pos starts at 0; returns 1 with *kv filled, 0 at the end,
 * or ERR_PROTO on bad bytes (not possible for a record given by kbatch_records). */
int kbatch_header_next(const struct kbatch_record *r, size_t *pos, struct kbatch_kv *kv);

/* A record to build: key/value with lengths (-1 = null), timestamp as a delta from the batch's
 * base timestamp (>= 0), optional headers. */
struct kbatch_rec {
	const void *key;
	int32_t key_len;
	const void *value;
	int32_t value_len;
	int64_t ts_delta;
	const struct kbatch_kv *headers;
	int n_headers;
};

/*
 * Appends one uncompressed v2 batch of the n >= 1 records to w: baseOffset base_offset,
 * baseTimestamp ts, maxTimestamp ts + max ts_delta, CreateTime, producerId -1, producerEpoch -1,
 * baseSequence -1, leader epoch -1, CRC filled in. Returns the batch size, or 0 if w failed
 * (w->err set) or n < 1.
 */
size_t kbatch_build(struct wbuf *w, int64_t base_offset, int64_t ts, const struct kbatch_rec *recs,
		    int n);
/* kbatch_build as a transactional batch (attributes 0x10) of producer_id at producer_epoch,
 * baseSequence -1: a coordinator's records inside a producer's transaction (TxnOffsetCommit). */
size_t kbatch_build_txn(struct wbuf *w, int64_t base_offset, int64_t ts, const struct kbatch_rec *recs, int n,
			int64_t producer_id, int16_t producer_epoch);

/*
 * Transaction markers (KIP-98): a control batch (attributes transactional + control) whose one
 * record is Kafka's EndTransactionMarker: key = version i16 (0) + type i16 (0 abort, 1 commit),
 * value = version i16 (0) + coordinator epoch i32.
 * kbatch_control_marker reads the first record of the control batch b (len bytes, any bytes):
 * 0 with *type (and for abort/commit *coordinator_epoch, else -1), or ERR_PROTO (not a control
 * batch, compressed, a short key or value, a negative version).
 * kbatch_build_marker appends such a batch (base offset 0, timestamp ts, base sequence -1) to
 * w: its size, or 0 when w failed.
 */
#define KBATCH_MARKER_ABORT 0
#define KBATCH_MARKER_COMMIT 1
int kbatch_control_marker(const uint8_t *b, size_t len, int16_t *type, int32_t *coordinator_epoch);
size_t kbatch_build_marker(struct wbuf *w, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch,
			   bool commit, int64_t ts);

#endif

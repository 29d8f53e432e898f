/*
 * kbatch — Kafka record batch v2 codec (see kbatch.h). Owns no state. Record bytes are read
 * through struct rbuf so that no read can leave the batch; arithmetic on offsets and timestamps
 * taken from the wire is done in unsigned so that hostile values wrap instead of overflowing.
 */
#include "kbatch.h"

#include "buf.h"
#include "crc32c.h"
#include "err.h"

#include <string.h>

/* Smallest record: length(1) attributes(1) tsDelta(1) offsetDelta(1) keyLen(1) valueLen(1)
 * headersCount(1). The length varint counts the 6 bytes after it. */
#define KBATCH_MIN_RECORD_BODY 6

static void kbatch_put64(uint8_t *p, int64_t v)
{
	be32_put(p, (uint32_t)((uint64_t)v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static int64_t kbatch_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

int kbatch_parse_hdr(const uint8_t *p, size_t len, struct kbatch_hdr *h)
{
	if (len > KBATCH_OFF_MAGIC && (int8_t)p[KBATCH_OFF_MAGIC] != KBATCH_MAGIC)
		return ERR_VERSION;
	if (len < KBATCH_HDR_SIZE)
		return ERR_TRUNC;
	struct rbuf r = rbuf_make(p, KBATCH_HDR_SIZE);
	uint8_t magic;
	uint16_t attr16;
	int16_t attrs;
	rbuf_i64(&r, &h->base_offset);
	rbuf_i32(&r, &h->batch_length);
	rbuf_i32(&r, &h->leader_epoch);
	rbuf_u8(&r, &magic);
	h->magic = (int8_t)magic;
	rbuf_u32(&r, &h->crc);
	rbuf_i16(&r, &attrs);
	attr16 = (uint16_t)attrs;
	h->attributes = (int16_t)attr16;
	rbuf_i32(&r, &h->last_offset_delta);
	rbuf_i64(&r, &h->base_timestamp);
	rbuf_i64(&r, &h->max_timestamp);
	rbuf_i64(&r, &h->producer_id);
	rbuf_i16(&r, &h->producer_epoch);
	rbuf_i32(&r, &h->base_sequence);
	rbuf_i32(&r, &h->records_count);
	if (r.err)
		return r.err; /* cannot happen: 61 bytes were there */
	if (h->batch_length < KBATCH_HDR_SIZE - KBATCH_LOG_OVERHEAD)
		return ERR_CORRUPT;
	return 0;
}

/* The record walk's readers, over [*pp, end): the same wire rules as common/buf's rbuf
 * varints, inlined because the leader runs them for every record it takes. 0, or -1 when the
 * bytes end first or a varint is too long (*pp is then unspecified). */
static inline int kb_uvar(const uint8_t **pp, const uint8_t *end, unsigned maxb, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (unsigned i = 0; i < maxb && p < end; i++) {
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return 0;
		}
	}
	return -1;
}

static inline int kb_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
	uint64_t u;
	if (kb_uvar(pp, end, 5, &u) || u > UINT32_MAX)
		return -1;
	uint32_t v = (uint32_t)u;
	*out = (int32_t)((v >> 1) ^ (~(v & 1) + 1));
	return 0;
}

static inline int kb_varlong(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	uint64_t u;
	if (kb_uvar(pp, end, 10, &u))
		return -1;
	*out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
	return 0;
}

/* A varint length (-1: null, *out NULL) and that many bytes. */
static inline int kb_bytes(const uint8_t **pp, const uint8_t *end, const uint8_t **out, int32_t *olen)
{
	int32_t n;
	if (kb_varint(pp, end, &n) || n < -1)
		return -1;
	if (n == -1) {
		*out = NULL;
		*olen = -1;
		return 0;
	}
	if ((size_t)(end - *pp) < (size_t)n)
		return -1;
	*out = *pp;
	*olen = n;
	*pp += n;
	return 0;
}

/*
 * Walks the records of an uncompressed batch whose header h was parsed and whose framing
 * (len == 12 + batchLength) was checked. cb may be NULL (validation only).
 */
static int kbatch_walk(const uint8_t *p, size_t len, const struct kbatch_hdr *h,
		       kbatch_record_cb cb, void *arg, char *eb, size_t el)
{
	const uint8_t *q = p + KBATCH_HDR_SIZE, *end = p + len;
	bool log_append = (h->attributes & KBATCH_LOG_APPEND_TIME) != 0;
	int32_t prev = -1;

	if (h->records_count < 0 ||
	    (size_t)h->records_count > (len - KBATCH_HDR_SIZE) / (KBATCH_MIN_RECORD_BODY + 1))
		return err_set(eb, el, ERR_PROTO, "recordsCount %d does not fit in %zu bytes of records",
			       h->records_count, len - KBATCH_HDR_SIZE);
	for (int32_t i = 0; i < h->records_count; i++) {
		int32_t rlen;
		const uint8_t *raw = q;
		if (kb_varint(&q, end, &rlen))
			return err_set(eb, el, ERR_PROTO, "record %d: bad length varint", i);
		if (rlen < KBATCH_MIN_RECORD_BODY || (size_t)rlen > (size_t)(end - q))
			return err_set(eb, el, ERR_PROTO, "record %d: length %d out of bounds (%zu left)",
				       i, rlen, (size_t)(end - q));
		const uint8_t *rp = q, *rend = q + rlen;
		q = rend;

		struct kbatch_record rec;
		uint8_t attr = *rp++;
		int64_t ts_delta;
		int32_t off_delta, hcount;
		if (kb_varlong(&rp, rend, &ts_delta) || kb_varint(&rp, rend, &off_delta) ||
		    kb_bytes(&rp, rend, &rec.key, &rec.key_len) || kb_bytes(&rp, rend, &rec.value, &rec.value_len) ||
		    kb_varint(&rp, rend, &hcount))
			return err_set(eb, el, ERR_PROTO, "record %d: key/value lengths or varints overrun the %d-byte record",
				       i, rlen);
		if (off_delta <= prev || off_delta > h->last_offset_delta)
			return err_set(eb, el, ERR_PROTO, "record %d: offsetDelta %d not in (%d, %d]", i,
				       off_delta, prev, h->last_offset_delta);
		prev = off_delta;
		if (hcount < 0 || (size_t)hcount > (size_t)(rend - rp) / 2)
			return err_set(eb, el, ERR_PROTO, "record %d: headersCount %d does not fit", i,
				       hcount);
		const uint8_t *hstart = rp;
		for (int32_t j = 0; j < hcount; j++) {
			int32_t hk, hvlen;
			const uint8_t *hv;
			if (kb_varint(&rp, rend, &hk))
				return err_set(eb, el, ERR_PROTO, "record %d header %d: overruns the record",
					       i, j);
			if (hk < 0)
				return err_set(eb, el, ERR_PROTO, "record %d header %d: negative key length",
					       i, j);
			if ((size_t)(rend - rp) < (size_t)hk)
				return err_set(eb, el, ERR_PROTO, "record %d header %d: overruns the record",
					       i, j);
			rp += hk;
			if (kb_bytes(&rp, rend, &hv, &hvlen))
				return err_set(eb, el, ERR_PROTO, "record %d header %d: overruns the record",
					       i, j);
		}
		if (rp != rend)
			return err_set(eb, el, ERR_PROTO, "record %d: %zu bytes left over inside the record",
				       i, (size_t)(rend - rp));
		if (cb) {
			rec.offset = kbatch_add(h->base_offset, off_delta);
			rec.timestamp = log_append ? h->max_timestamp : kbatch_add(h->base_timestamp, ts_delta);
			rec.attributes = (int8_t)attr;
			rec.headers_count = hcount;
			rec.headers = hstart;
			rec.headers_len = (size_t)(rend - hstart);
			rec.raw = raw;
			rec.raw_len = (size_t)(rend - raw);
			int rc = cb(&rec, arg);
			if (rc)
				return rc;
		}
	}
	if (q != end)
		return err_set(eb, el, ERR_PROTO, "%zu bytes after the last of %d records", (size_t)(end - q),
			       h->records_count);
	return 0;
}

/* Header + framing checks shared by validate and records. */
static int kbatch_check_frame(const uint8_t *p, size_t len, struct kbatch_hdr *h, char *eb,
			      size_t el)
{
	int rc = kbatch_parse_hdr(p, len, h);
	if (rc == ERR_VERSION)
		return err_set(eb, el, ERR_VERSION, "magic %d, only record batch v2 (magic 2) is supported",
			       (int8_t)p[KBATCH_OFF_MAGIC]);
	if (rc == ERR_TRUNC)
		return err_set(eb, el, ERR_CORRUPT, "%zu bytes, shorter than a batch header (%d)", len,
			       KBATCH_HDR_SIZE);
	if (rc)
		return err_set(eb, el, ERR_CORRUPT, "batchLength %d is below the minimum", h->batch_length);
	if ((size_t)h->batch_length != len - KBATCH_LOG_OVERHEAD)
		return err_set(eb, el, ERR_CORRUPT, "batchLength %d but the batch has %zu bytes",
			       h->batch_length, len - KBATCH_LOG_OVERHEAD);
	return 0;
}

/* Header fields that must agree with each other (checked after the CRC, so that a flipped bit
 * is reported as corruption). */
static int kbatch_check_content(const struct kbatch_hdr *h, unsigned flags, char *eb, size_t el)
{
	if (flags & KBATCH_COMPACTED) {
		if (h->records_count < 0 || h->last_offset_delta < 0 ||
		    h->records_count > (int64_t)h->last_offset_delta + 1)
			return err_set(eb, el, ERR_PROTO, "recordsCount %d does not fit lastOffsetDelta %d",
				       h->records_count, h->last_offset_delta);
	} else if (h->records_count < 1 || h->last_offset_delta != h->records_count - 1)
		return err_set(eb, el, ERR_PROTO, "recordsCount %d and lastOffsetDelta %d disagree",
			       h->records_count, h->last_offset_delta);
	if ((h->attributes & KBATCH_COMPRESSION_MASK) > 4)
		return err_set(eb, el, ERR_PROTO, "unknown compression type %d",
			       h->attributes & KBATCH_COMPRESSION_MASK);
	return 0;
}

int kbatch_check(const uint8_t *p, size_t len, struct kbatch_hdr *h, char *eb, size_t el)
{
	return kbatch_check_ex(p, len, 0, h, eb, el);
}

int kbatch_check_ex(const uint8_t *p, size_t len, unsigned flags, struct kbatch_hdr *h, char *eb, size_t el)
{
	struct kbatch_hdr tmp;
	if (!h)
		h = &tmp;
	memset(h, 0, sizeof(*h));
	int rc = kbatch_check_frame(p, len, h, eb, el);
	if (rc)
		return rc;
	uint32_t crc = crc32c(0, p + KBATCH_OFF_ATTRIBUTES, len - KBATCH_OFF_ATTRIBUTES);
	if (crc != h->crc)
		return err_set(eb, el, ERR_CORRUPT, "CRC-32C mismatch: stored %08x, computed %08x",
			       h->crc, crc);
	return kbatch_check_content(h, flags, eb, el);
}

int kbatch_validate(const uint8_t *p, size_t len, struct kbatch_hdr *h, char *eb, size_t el)
{
	return kbatch_validate_ex(p, len, 0, h, eb, el);
}

int kbatch_validate_ex(const uint8_t *p, size_t len, unsigned flags, struct kbatch_hdr *h, char *eb,
		       size_t el)
{
	struct kbatch_hdr tmp;
	if (!h)
		h = &tmp;
	int rc = kbatch_check_ex(p, len, flags, h, eb, el);
	if (rc)
		return rc;
	if (h->attributes & KBATCH_COMPRESSION_MASK)
		return 0; /* stored as the producer sent it; records are not decoded */
	return kbatch_walk(p, len, h, NULL, NULL, eb, el);
}

int kbatch_foreach_ex(const uint8_t *p, size_t len, unsigned flags, kbatch_cb cb, void *arg,
		      size_t *consumed, char *eb, size_t el)
{
	size_t pos = 0;
	int rc = 0;
	while (pos < len) {
		size_t left = len - pos;
		if (left < KBATCH_LOG_OVERHEAD) {
			rc = err_set(eb, el, ERR_TRUNC, "partial batch at byte %zu (%zu bytes)", pos, left);
			break;
		}
		int32_t blen = (int32_t)be32_get(p + pos + KBATCH_OFF_LENGTH);
		if (blen < KBATCH_HDR_SIZE - KBATCH_LOG_OVERHEAD) {
			rc = err_set(eb, el, ERR_CORRUPT, "batch at byte %zu: batchLength %d", pos, blen);
			break;
		}
		size_t size = KBATCH_LOG_OVERHEAD + (size_t)blen;
		if (size > left) {
			rc = err_set(eb, el, ERR_TRUNC, "partial batch at byte %zu: %zu of %zu bytes", pos,
				     left, size);
			break;
		}
		if (cb && (rc = cb(p + pos, size, arg)) != 0)
			break;
		pos += size;
	}
	if (consumed)
		*consumed = pos;
	if (rc == ERR_TRUNC && (flags & KBATCH_ALLOW_PARTIAL))
		rc = 0;
	return rc;
}

int kbatch_foreach(const uint8_t *p, size_t len, kbatch_cb cb, void *arg, char *eb, size_t el)
{
	return kbatch_foreach_ex(p, len, 0, cb, arg, NULL, eb, el);
}

void kbatch_set_base_offset(uint8_t *b, int64_t base_offset)
{
	kbatch_put64(b + KBATCH_OFF_BASE_OFFSET, base_offset);
}

void kbatch_set_leader_epoch(uint8_t *b, int32_t epoch)
{
	be32_put(b + KBATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void kbatch_update_crc(uint8_t *b, size_t len)
{
	be32_put(b + KBATCH_OFF_CRC, crc32c(0, b + KBATCH_OFF_ATTRIBUTES, len - KBATCH_OFF_ATTRIBUTES));
}

void kbatch_set_log_append_time(uint8_t *b, size_t len, int64_t ts_ms)
{
	b[KBATCH_OFF_ATTRIBUTES + 1] |= KBATCH_LOG_APPEND_TIME;
	kbatch_put64(b + KBATCH_OFF_MAX_TIMESTAMP, ts_ms);
	kbatch_update_crc(b, len);
}

int kbatch_records(const uint8_t *b, size_t len, kbatch_record_cb cb, void *arg, char *eb,
		   size_t el)
{
	struct kbatch_hdr h;
	int rc = kbatch_check_frame(b, len, &h, eb, el);
	if (!rc)
		rc = kbatch_check_content(&h, KBATCH_COMPACTED, eb, el);
	if (rc)
		return rc;
	if (h.attributes & KBATCH_COMPRESSION_MASK)
		return err_set(eb, el, ERR_VERSION, "compressed batch (type %d): records not decoded here",
			       h.attributes & KBATCH_COMPRESSION_MASK);
	return kbatch_walk(b, len, &h, cb, arg, eb, el);
}

int kbatch_header_next(const struct kbatch_record *r, size_t *pos, struct kbatch_kv *kv)
{
	if (*pos >= r->headers_len)
		return 0;
	struct rbuf rb = rbuf_make(r->headers, r->headers_len);
	int32_t klen;
	const uint8_t *key, *val;
	rbuf_skip(&rb, *pos);
	if (rbuf_varint(&rb, &klen) || klen < 0)
		return ERR_PROTO;
	rbuf_raw(&rb, (size_t)klen, &key);
	rbuf_bytes_varint(&rb, r->headers_len, &val, &kv->value_len);
	if (rb.err)
		return ERR_PROTO;
	kv->key = key;
	kv->key_len = klen;
	kv->value = val;
	*pos = rb.pos;
	return 1;
}

/* ---- building ---- */

static size_t kbatch_varint_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

static size_t kbatch_lenbytes_size(int32_t len)
{
	return kbatch_varint_size(len) + (len > 0 ? (size_t)len : 0);
}

size_t kbatch_build(struct wbuf *w, int64_t base_offset, int64_t ts, const struct kbatch_rec *recs,
		    int n)
{
	if (n < 1 || w->err)
		return 0;
	size_t start = w->len;
	int64_t max_delta = 0;
	if (!wbuf_reserve(w, KBATCH_HDR_SIZE))
		return 0;
	w->len += KBATCH_HDR_SIZE;
	for (int i = 0; i < n; i++) {
		const struct kbatch_rec *rc = &recs[i];
		int32_t klen = rc->key ? rc->key_len : -1;
		int32_t vlen = rc->value ? rc->value_len : -1;
		size_t body = 1 + kbatch_varint_size(rc->ts_delta) + kbatch_varint_size(i) +
			      kbatch_lenbytes_size(klen) + kbatch_lenbytes_size(vlen) +
			      kbatch_varint_size(rc->n_headers);
		for (int j = 0; j < rc->n_headers; j++) {
			const struct kbatch_kv *kv = &rc->headers[j];
			body += kbatch_lenbytes_size(kv->key_len) +
				kbatch_lenbytes_size(kv->value ? kv->value_len : -1);
		}
		if (rc->ts_delta > max_delta)
			max_delta = rc->ts_delta;
		wbuf_varint(w, (int32_t)body);
		wbuf_u8(w, 0);
		wbuf_varlong(w, rc->ts_delta);
		wbuf_varint(w, i);
		wbuf_bytes_varint(w, rc->key, klen);
		wbuf_bytes_varint(w, rc->value, vlen);
		wbuf_varint(w, rc->n_headers);
		for (int j = 0; j < rc->n_headers; j++) {
			const struct kbatch_kv *kv = &rc->headers[j];
			wbuf_bytes_varint(w, kv->key, kv->key_len);
			wbuf_bytes_varint(w, kv->value, kv->value ? kv->value_len : -1);
		}
	}
	if (w->err)
		return 0;
	size_t size = w->len - start;
	uint8_t *b = w->p + start;
	kbatch_put64(b + KBATCH_OFF_BASE_OFFSET, base_offset);
	be32_put(b + KBATCH_OFF_LENGTH, (uint32_t)(size - KBATCH_LOG_OVERHEAD));
	be32_put(b + KBATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
	b[KBATCH_OFF_MAGIC] = KBATCH_MAGIC;
	b[KBATCH_OFF_ATTRIBUTES] = 0;
	b[KBATCH_OFF_ATTRIBUTES + 1] = 0;
	be32_put(b + KBATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
	kbatch_put64(b + KBATCH_OFF_BASE_TIMESTAMP, ts);
	kbatch_put64(b + KBATCH_OFF_MAX_TIMESTAMP, ts + max_delta);
	kbatch_put64(b + KBATCH_OFF_PRODUCER_ID, -1);
	b[51] = 0xff; /* producerEpoch -1 */
	b[52] = 0xff;
	be32_put(b + 53, (uint32_t)-1); /* baseSequence -1 */
	be32_put(b + KBATCH_OFF_RECORDS_COUNT, (uint32_t)n);
	kbatch_update_crc(b, size);
	return size;
}

size_t kbatch_build_txn(struct wbuf *w, int64_t base_offset, int64_t ts, const struct kbatch_rec *recs, int n,
			int64_t producer_id, int16_t producer_epoch)
{
	size_t start = w->len;
	size_t size = kbatch_build(w, base_offset, ts, recs, n);
	if (!size)
		return 0;
	uint8_t *b = w->p + start;
	b[KBATCH_OFF_ATTRIBUTES] = 0;
	b[KBATCH_OFF_ATTRIBUTES + 1] = KBATCH_TRANSACTIONAL;
	kbatch_put64(b + KBATCH_OFF_PRODUCER_ID, producer_id);
	b[51] = (uint8_t)((uint16_t)producer_epoch >> 8);
	b[52] = (uint8_t)producer_epoch;
	kbatch_update_crc(b, size);
	return size;
}

/* ---- transaction markers (KIP-98's control batches) ---- */

struct kbatch_marker_walk {
	int n;
	int16_t type;
	int32_t coord_epoch;
	bool ok;
};

static int kbatch_marker_cb(const struct kbatch_record *r, void *arg)
{
	struct kbatch_marker_walk *m = arg;
	if (m->n++ > 0)
		return 0; /* Kafka reads the first record of a control batch only */
	if (r->key_len < 4 || !r->key)
		return 0;
	/* key: version int16, type int16 (Kafka's ControlRecordType, CURRENT_CONTROL_RECORD_KEY_VERSION 0) */
	int16_t ver = (int16_t)((r->key[0] << 8) | r->key[1]);
	if (ver < 0)
		return 0;
	m->type = (int16_t)((r->key[2] << 8) | r->key[3]);
	if (m->type != KBATCH_MARKER_ABORT && m->type != KBATCH_MARKER_COMMIT) {
		m->ok = true; /* another control record type: no coordinator epoch to read */
		return 0;
	}
	/* value: version int16 (0), coordinator epoch int32 (Kafka's EndTransactionMarker) */
	if (r->value_len < 6 || !r->value)
		return 0;
	int16_t vver = (int16_t)((r->value[0] << 8) | r->value[1]);
	if (vver < 0)
		return 0;
	m->coord_epoch = (int32_t)(((uint32_t)r->value[2] << 24) | ((uint32_t)r->value[3] << 16) |
				   ((uint32_t)r->value[4] << 8) | r->value[5]);
	m->ok = true;
	return 0;
}

int kbatch_control_marker(const uint8_t *b, size_t len, int16_t *type, int32_t *coordinator_epoch)
{
	struct kbatch_hdr h;
	*type = -1;
	*coordinator_epoch = -1;
	if (kbatch_parse_hdr(b, len, &h) || !(h.attributes & KBATCH_CONTROL))
		return ERR_PROTO;
	struct kbatch_marker_walk m = { 0, -1, -1, false };
	char eb[64];
	if (kbatch_records(b, len, kbatch_marker_cb, &m, eb, sizeof(eb)) || !m.ok)
		return ERR_PROTO;
	*type = m.type;
	*coordinator_epoch = m.coord_epoch;
	return 0;
}

size_t kbatch_build_marker(struct wbuf *w, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch,
			   bool commit, int64_t ts)
{
	uint8_t key[4] = { 0, 0, 0, commit ? KBATCH_MARKER_COMMIT : KBATCH_MARKER_ABORT };
	uint8_t value[6] = { 0, 0, (uint8_t)((uint32_t)coordinator_epoch >> 24),
			     (uint8_t)((uint32_t)coordinator_epoch >> 16), (uint8_t)((uint32_t)coordinator_epoch >> 8),
			     (uint8_t)coordinator_epoch };
	struct kbatch_rec rec = { .key = key, .key_len = 4, .value = value, .value_len = 6 };
	size_t start = w->len;
	size_t size = kbatch_build(w, 0, ts, &rec, 1);
	if (!size)
		return 0;
	uint8_t *b = w->p + start;
	uint16_t attr = KBATCH_TRANSACTIONAL | KBATCH_CONTROL;
	b[KBATCH_OFF_ATTRIBUTES] = (uint8_t)(attr >> 8);
	b[KBATCH_OFF_ATTRIBUTES + 1] = (uint8_t)attr;
	kbatch_put64(b + KBATCH_OFF_PRODUCER_ID, producer_id);
	b[51] = (uint8_t)((uint16_t)producer_epoch >> 8);
	b[52] = (uint8_t)producer_epoch;
	kbatch_update_crc(b, size);
	return size;
}

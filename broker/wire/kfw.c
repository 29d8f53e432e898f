/*
 * kfw — Fetch v11 and OffsetForLeaderEpoch v3, the follower's side (see kfw.h). Owns nothing
 * between calls: the encoders append to the caller's wbuf, the decoders fill a result the
 * caller frees. Field order follows apache/kafka's message JSON files for those versions.
 */
#include "kfw.h"
#include "kwire.h"

#include "buf.h"
#include "err.h"
#include "kbatch.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Smallest encodings, for checking counts against the bytes left before allocating. */
#define KFW_TOPIC_MIN 6		/* name i16 length + partition count i32 */
#define KFW_FETCH_PART_MIN 42	/* partition .. preferred replica with null arrays/records */
#define KFW_ABORTED_SIZE 16	/* producer id + first offset */
#define KFW_EPOCH_PART_SIZE 18	/* error + partition + epoch + end offset */

/* ---- encoders ---- */

/* Request header v1; the caller patches the length at `start` when done. */
static void kfw_header(struct wbuf *w, int16_t key, int16_t ver, int32_t corr, const char *client_id)
{
	wbuf_i32(w, 0);
	wbuf_i16(w, key);
	wbuf_i16(w, ver);
	wbuf_i32(w, corr);
	wbuf_str_i16(w, client_id);
}

static int kfw_finish(struct wbuf *w, size_t start)
{
	if (w->err)
		return w->err;
	wbuf_put_i32_at(w, start, (int32_t)(w->len - start - 4));
	return 0;
}

/* Number of topics (runs of equal consecutive names) in parts, an array of n structs of stride
 * bytes whose first member is the topic; -1 on a NULL or over-long name. */
_Static_assert(offsetof(struct kfw_fetch_part, topic) == 0, "topic first");
_Static_assert(offsetof(struct kfw_epoch_part, topic) == 0, "topic first");
static int64_t kfw_topic_runs(const void *parts, size_t n, size_t stride)
{
	int64_t runs = 0;
	const char *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *t = *(const char *const *)((const uint8_t *)parts + i * stride);
		if (!t || strlen(t) > KFW_MAX_TOPIC_LEN)
			return -1;
		if (!prev || strcmp(prev, t) != 0)
			runs++;
		prev = t;
	}
	return runs;
}

int kfw_fetch_encode(struct wbuf *w, int32_t corr, const char *client_id, const struct kfw_fetch_req *req)
{
	size_t start = w->len;
	int64_t nt = kfw_topic_runs(req->parts, req->n_parts, sizeof(*req->parts));
	if (nt < 0 || req->n_parts > INT32_MAX)
		return ERR_INVAL;
	kfw_header(w, KFW_API_FETCH, KFW_FETCH_VERSION, corr, client_id);
	wbuf_i32(w, req->replica_id);
	wbuf_i32(w, req->max_wait_ms);
	wbuf_i32(w, req->min_bytes);
	wbuf_i32(w, req->max_bytes);
	wbuf_u8(w, (uint8_t)req->isolation_level);
	wbuf_i32(w, 0);	 /* session id: no fetch session (KIP-227), */
	wbuf_i32(w, -1); /* epoch -1: a full fetch */
	wbuf_i32(w, (int32_t)nt);
	for (size_t i = 0; i < req->n_parts;) {
		const char *t = req->parts[i].topic;
		size_t j = i;
		while (j < req->n_parts && strcmp(req->parts[j].topic, t) == 0)
			j++;
		wbuf_str_i16(w, t);
		wbuf_i32(w, (int32_t)(j - i));
		for (; i < j; i++) {
			const struct kfw_fetch_part *fp = &req->parts[i];
			wbuf_i32(w, fp->partition);
			wbuf_i32(w, fp->current_leader_epoch);
			wbuf_i64(w, fp->fetch_offset);
			wbuf_i64(w, fp->log_start_offset);
			wbuf_i32(w, fp->partition_max_bytes);
		}
	}
	wbuf_i32(w, 0);	       /* forgotten_topics_data */
	wbuf_str_i16(w, "");   /* rack_id (KIP-392) */
	return kfw_finish(w, start);
}

int kfw_epoch_encode(struct wbuf *w, int32_t corr, const char *client_id, int32_t replica_id,
		     const struct kfw_epoch_part *parts, size_t n_parts)
{
	size_t start = w->len;
	int64_t nt = kfw_topic_runs(parts, n_parts, sizeof(*parts));
	if (nt < 0 || n_parts > INT32_MAX)
		return ERR_INVAL;
	kfw_header(w, KFW_API_OFFSET_FOR_LEADER_EPOCH, KFW_EPOCH_VERSION, corr, client_id);
	wbuf_i32(w, replica_id);
	wbuf_i32(w, (int32_t)nt);
	for (size_t i = 0; i < n_parts;) {
		const char *t = parts[i].topic;
		size_t j = i;
		while (j < n_parts && strcmp(parts[j].topic, t) == 0)
			j++;
		wbuf_str_i16(w, t);
		wbuf_i32(w, (int32_t)(j - i));
		for (; i < j; i++) {
			wbuf_i32(w, parts[i].partition);
			wbuf_i32(w, parts[i].current_leader_epoch);
			wbuf_i32(w, parts[i].leader_epoch);
		}
	}
	return kfw_finish(w, start);
}

/* ---- decoders ---- */

struct kfw_split {
	struct kfw_fetch_resp *out;
	size_t cap;
	int bad; /* the batch callback's refusal */
	char *eb;
	size_t el;
};

/* kbatch_foreach_ex callback: one whole batch of a records field, checked as a follower
 * checks what its leader sends (CRC and header, not every record: kbatch_check). */
static int kfw_split_batch(const uint8_t *b, size_t blen, void *arg)
{
	struct kfw_split *s = arg;
	struct kbatch_hdr h;
	int rc = kbatch_check_ex(b, blen, KBATCH_COMPACTED, &h, s->eb, s->el); /* thinned batches of a compacted log too */
	if (rc == 0 && (h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta))
		rc = err_set(s->eb, s->el, ERR_PROTO, "batch base offset %lld out of range", (long long)h.base_offset);
	if (rc) {
		s->bad = rc;
		return rc;
	}
	if (kwire_grow((void **)&s->out->batches, &s->cap, s->out->n_batches + 1, sizeof(struct kfw_batch))) {
		s->bad = ERR_NOMEM;
		return ERR_NOMEM;
	}
	struct kfw_batch *kb = &s->out->batches[s->out->n_batches++];
	kb->base_offset = h.base_offset;
	kb->last_offset = h.base_offset + h.last_offset_delta;
	kb->epoch = h.leader_epoch;
	return 0;
}

/* Splits pr's records field into whole valid batches (appended to out->batches). */
static int kfw_split_records(struct kfw_split *s, struct kfw_fetch_presp *pr, const uint8_t *rec, size_t len)
{
	char eb[160];
	size_t consumed = 0;
	s->bad = 0;
	s->eb = eb;
	s->el = sizeof(eb);
	pr->first_batch = s->out->n_batches;
	int rc = kbatch_foreach_ex(rec, len, KBATCH_ALLOW_PARTIAL, kfw_split_batch, s, &consumed, eb, sizeof(eb));
	if (rc == ERR_NOMEM || s->bad == ERR_NOMEM)
		return ERR_NOMEM;
	pr->records = len ? rec : NULL;
	pr->records_len = consumed;
	pr->dropped = len - consumed;
	pr->bad = rc;
	pr->n_batches = s->out->n_batches - pr->first_batch;
	return 0;
}

int kfw_fetch_decode(const uint8_t *p, size_t len, struct kfw_fetch_resp *out, char *eb, size_t el)
{
	struct rbuf r = rbuf_make(p, len);
	struct kfw_split split = { out, 0, 0, NULL, 0 };
	size_t parts_cap = 0;
	int32_t nt;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	rbuf_i32(&r, &out->corr);
	rbuf_i32(&r, &out->throttle_ms);
	rbuf_i16(&r, &out->error);
	rbuf_i32(&r, &out->session_id);
	if (rbuf_count_i32(&r, KFW_MAX_TOPICS, KFW_TOPIC_MIN, &nt) || nt < 0) {
		rc = r.err ? r.err : ERR_PROTO;
		goto fail;
	}
	for (int32_t ti = 0; ti < nt; ti++) {
		const uint8_t *topic;
		int32_t tlen, np;
		rbuf_bytes_i16(&r, KFW_MAX_TOPIC_LEN, &topic, &tlen);
		if (rbuf_count_i32(&r, KFW_MAX_PARTS, KFW_FETCH_PART_MIN, &np) || tlen < 0 || np < 0) {
			rc = r.err ? r.err : ERR_PROTO;
			goto fail;
		}
		if (out->n_parts + (size_t)np > KFW_MAX_PARTS) {
			rc = ERR_TOOBIG;
			goto fail;
		}
		if (kwire_grow((void **)&out->parts, &parts_cap, out->n_parts + (size_t)np, sizeof(*out->parts))) {
			rc = ERR_NOMEM;
			goto fail;
		}
		for (int32_t pi = 0; pi < np; pi++) {
			struct kfw_fetch_presp *pr = &out->parts[out->n_parts];
			int32_t naborted;
			const uint8_t *rec;
			int32_t rlen;
			memset(pr, 0, sizeof(*pr));
			pr->topic = topic;
			pr->topic_len = (size_t)tlen;
			pr->first_batch = out->n_batches;
			rbuf_i32(&r, &pr->partition);
			rbuf_i16(&r, &pr->error);
			rbuf_i64(&r, &pr->high_watermark);
			rbuf_i64(&r, &pr->last_stable_offset);
			rbuf_i64(&r, &pr->log_start);
			rbuf_count_i32(&r, INT32_MAX, KFW_ABORTED_SIZE, &naborted);
			if (naborted > 0)
				rbuf_skip(&r, (size_t)naborted * KFW_ABORTED_SIZE);
			rbuf_i32(&r, &pr->preferred_read_replica);
			rbuf_bytes_i32(&r, len, &rec, &rlen);
			if (r.err) {
				rc = r.err;
				goto fail;
			}
			if (rlen > 0 && (rc = kfw_split_records(&split, pr, rec, (size_t)rlen)) != 0)
				goto fail;
			out->n_parts++;
		}
	}
	if (rbuf_left(&r)) {
		rc = err_set(eb, el, ERR_PROTO, "Fetch response: %zu bytes after the last field", rbuf_left(&r));
		kfw_fetch_resp_free(out);
		return rc;
	}
	return 0;
fail:
	kwire_fail(eb, el, rc, "Fetch response", r.pos, len);
	kfw_fetch_resp_free(out);
	return rc;
}

void kfw_fetch_resp_free(struct kfw_fetch_resp *r)
{
	if (!r)
		return;
	free(r->parts);
	free(r->batches);
	memset(r, 0, sizeof(*r));
}

int kfw_epoch_decode(const uint8_t *p, size_t len, struct kfw_epoch_resp *out, char *eb, size_t el)
{
	struct rbuf r = rbuf_make(p, len);
	size_t cap = 0;
	int32_t nt;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	rbuf_i32(&r, &out->corr);
	rbuf_i32(&r, &out->throttle_ms);
	if (rbuf_count_i32(&r, KFW_MAX_TOPICS, KFW_TOPIC_MIN, &nt) || nt < 0) {
		rc = r.err ? r.err : ERR_PROTO;
		goto fail;
	}
	for (int32_t ti = 0; ti < nt; ti++) {
		const uint8_t *topic;
		int32_t tlen, np;
		rbuf_bytes_i16(&r, KFW_MAX_TOPIC_LEN, &topic, &tlen);
		if (rbuf_count_i32(&r, KFW_MAX_PARTS, KFW_EPOCH_PART_SIZE, &np) || tlen < 0 || np < 0) {
			rc = r.err ? r.err : ERR_PROTO;
			goto fail;
		}
		if (out->n_parts + (size_t)np > KFW_MAX_PARTS) {
			rc = ERR_TOOBIG;
			goto fail;
		}
		if (kwire_grow((void **)&out->parts, &cap, out->n_parts + (size_t)np, sizeof(*out->parts))) {
			rc = ERR_NOMEM;
			goto fail;
		}
		for (int32_t pi = 0; pi < np; pi++) {
			struct kfw_epoch_presp *pr = &out->parts[out->n_parts++];
			pr->topic = topic;
			pr->topic_len = (size_t)tlen;
			rbuf_i16(&r, &pr->error);
			rbuf_i32(&r, &pr->partition);
			rbuf_i32(&r, &pr->leader_epoch);
			rbuf_i64(&r, &pr->end_offset);
		}
		if (r.err) {
			rc = r.err;
			goto fail;
		}
	}
	if (rbuf_left(&r)) {
		rc = err_set(eb, el, ERR_PROTO, "OffsetForLeaderEpoch response: %zu bytes after the last field",
			     rbuf_left(&r));
		kfw_epoch_resp_free(out);
		return rc;
	}
	return 0;
fail:
	kwire_fail(eb, el, rc, "OffsetForLeaderEpoch response", r.pos, len);
	kfw_epoch_resp_free(out);
	return rc;
}

void kfw_epoch_resp_free(struct kfw_epoch_resp *r)
{
	if (!r)
		return;
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

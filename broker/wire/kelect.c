/*
 * kelect — Metadata v1 and ElectLeaders v1, the admin client's side (see kelect.h). Owns
 * nothing between calls: the encoders append to the caller's wbuf, the decoders fill a result
 * the caller frees. Field order follows apache/kafka's message JSON files for those versions.
 */
#include "kelect.h"
#include "kwire.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* Smallest encodings, for checking counts against the bytes left before allocating. */
#define KELECT_BROKER_MIN 12	/* id + host i16 length + port + null rack */
#define KELECT_MTOPIC_MIN 9	/* error + name length + is_internal + partition count */
#define KELECT_MPART_MIN 18	/* error + index + leader + two null arrays */
#define KELECT_TOPIC_MIN 6	/* name i16 length + partition count */
#define KELECT_RESULT_MIN 8	/* partition + error + null message */

int kelect_frame_len(const uint8_t hdr[4], size_t *len, char *eb, size_t el)
{
	uint32_t n = be32_get(hdr);
	*len = 0;
	if (n & 0x80000000u)
		return err_set(eb, el, ERR_CORRUPT, "response frame: negative length %d", (int32_t)n);
	if (n < 4)
		return err_set(eb, el, ERR_CORRUPT, "response frame: length %u holds no correlation id", n);
	if (n > KELECT_MAX_FRAME)
		return err_set(eb, el, ERR_TOOBIG, "response frame: length %u over the %u-byte cap", n,
			       KELECT_MAX_FRAME);
	*len = n;
	return 0;
}

/* ---- encoders ---- */

/* Request header v1 after a length placeholder; kelect_finish patches the length. */
static void kelect_header(struct wbuf *w, int16_t key, int16_t ver, int32_t corr, const char *client_id)
{
	wbuf_i32(w, 0);
	wbuf_i16(w, key);
	wbuf_i16(w, ver);
	wbuf_i32(w, corr);
	wbuf_str_i16(w, client_id);
}

static int kelect_finish(struct wbuf *w, size_t start)
{
	if (w->err)
		return w->err;
	wbuf_put_i32_at(w, start, (int32_t)(w->len - start - 4));
	return 0;
}

int kelect_metadata_encode(struct wbuf *w, int32_t corr, const char *client_id)
{
	size_t start = w->len;
	kelect_header(w, KELECT_API_METADATA, KELECT_METADATA_VERSION, corr, client_id);
	wbuf_i32(w, 0); /* topics: none (v1 reads null as "all") */
	return kelect_finish(w, start);
}

int kelect_encode(struct wbuf *w, int32_t corr, const char *client_id, int8_t type, bool all,
		  const struct kelect_tp *tps, size_t n, int32_t timeout_ms)
{
	if (type != KELECT_PREFERRED && type != KELECT_UNCLEAN)
		return ERR_INVAL;
	if (!all && n > KELECT_MAX_PARTS)
		return ERR_INVAL;
	size_t ntopics = 0;
	for (size_t i = 0; !all && i < n; i++) {
		if (!tps[i].topic || strlen(tps[i].topic) > KELECT_MAX_STR)
			return ERR_INVAL;
		ntopics += i == 0 || strcmp(tps[i].topic, tps[i - 1].topic) != 0;
	}
	size_t start = w->len;
	kelect_header(w, KELECT_API_ELECT_LEADERS, KELECT_ELECT_VERSION, corr, client_id);
	wbuf_u8(w, (uint8_t)type);
	if (all) {
		wbuf_i32(w, -1);
	} else {
		wbuf_i32(w, (int32_t)ntopics);
		for (size_t i = 0; i < n;) {
			size_t j = i;
			while (j < n && strcmp(tps[j].topic, tps[i].topic) == 0)
				j++;
			wbuf_str_i16(w, tps[i].topic);
			wbuf_i32(w, (int32_t)(j - i));
			for (; i < j; i++)
				wbuf_i32(w, tps[i].partition);
		}
	}
	wbuf_i32(w, timeout_ms);
	return kelect_finish(w, start);
}

/* ---- decoders ---- */

/* Skips an int32 array (replica or ISR ids); null is allowed. */
static void kelect_skip_ids(struct rbuf *r)
{
	int32_t n;
	if (rbuf_count_i32(r, KELECT_MAX_BROKERS, 4, &n) == 0 && n > 0)
		rbuf_skip(r, (size_t)n * 4);
}

int kelect_metadata_decode(const uint8_t *p, size_t len, struct kelect_metadata *out, char *eb, size_t el)
{
	struct rbuf r = rbuf_make(p, len);
	int32_t nb, nt;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	rbuf_i32(&r, &out->corr);
	if (rbuf_count_i32(&r, KELECT_MAX_BROKERS, KELECT_BROKER_MIN, &nb) || nb < 0) {
		rc = r.err ? r.err : ERR_PROTO;
		goto fail;
	}
	if (nb > 0) {
		out->brokers = calloc((size_t)nb, sizeof(*out->brokers));
		if (!out->brokers) {
			rc = ERR_NOMEM;
			goto fail;
		}
	}
	for (int32_t i = 0; i < nb; i++) {
		struct kelect_broker *kb = &out->brokers[i];
		int32_t hl, rl;
		const uint8_t *rack;
		rbuf_i32(&r, &kb->id);
		rbuf_bytes_i16(&r, KELECT_MAX_STR, &kb->host, &hl);
		rbuf_i32(&r, &kb->port);
		rbuf_bytes_i16(&r, KELECT_MAX_STR, &rack, &rl); /* nullable */
		if (r.err) {
			rc = r.err;
			goto fail;
		}
		if (hl < 0) {
			rc = ERR_PROTO;
			goto fail;
		}
		kb->host_len = (size_t)hl;
		out->n_brokers++;
	}
	rbuf_i32(&r, &out->controller_id);
	if (rbuf_count_i32(&r, KELECT_MAX_TOPICS, KELECT_MTOPIC_MIN, &nt) || nt < 0) {
		rc = r.err ? r.err : ERR_PROTO;
		goto fail;
	}
	size_t parts = 0;
	for (int32_t i = 0; i < nt; i++) {
		int16_t terr;
		const uint8_t *name;
		int32_t nl, np;
		uint8_t internal;
		rbuf_i16(&r, &terr);
		rbuf_bytes_i16(&r, KELECT_MAX_STR, &name, &nl);
		rbuf_u8(&r, &internal);
		if (rbuf_count_i32(&r, KELECT_MAX_PARTS, KELECT_MPART_MIN, &np) || nl < 0 || np < 0) {
			rc = r.err ? r.err : ERR_PROTO;
			goto fail;
		}
		parts += (size_t)np;
		if (parts > KELECT_MAX_PARTS) {
			rc = ERR_TOOBIG;
			goto fail;
		}
		for (int32_t k = 0; k < np && !r.err; k++) {
			rbuf_skip(&r, 10); /* error, index, leader */
			kelect_skip_ids(&r); /* replicas */
			kelect_skip_ids(&r); /* isr */
		}
		if (r.err) {
			rc = r.err;
			goto fail;
		}
		out->n_topics++;
	}
	if (rbuf_left(&r)) {
		rc = err_set(eb, el, ERR_PROTO, "Metadata response: %zu bytes after the last field", rbuf_left(&r));
		kelect_metadata_free(out);
		return rc;
	}
	return 0;
fail:
	kwire_fail(eb, el, rc, "Metadata response", r.pos, len);
	kelect_metadata_free(out);
	return rc;
}

void kelect_metadata_free(struct kelect_metadata *m)
{
	if (!m)
		return;
	free(m->brokers);
	memset(m, 0, sizeof(*m));
}

int kelect_decode(const uint8_t *p, size_t len, struct kelect_resp *out, char *eb, size_t el)
{
	struct rbuf r = rbuf_make(p, len);
	size_t cap = 0;
	int32_t nt;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	rbuf_i32(&r, &out->corr);
	rbuf_i32(&r, &out->throttle_ms);
	rbuf_i16(&r, &out->error);
	if (rbuf_count_i32(&r, KELECT_MAX_TOPICS, KELECT_TOPIC_MIN, &nt) || nt < 0) {
		rc = r.err ? r.err : ERR_PROTO;
		goto fail;
	}
	for (int32_t ti = 0; ti < nt; ti++) {
		const uint8_t *topic;
		int32_t tlen, np;
		rbuf_bytes_i16(&r, KELECT_MAX_STR, &topic, &tlen);
		if (rbuf_count_i32(&r, KELECT_MAX_PARTS, KELECT_RESULT_MIN, &np) || tlen < 0 || np < 0) {
			rc = r.err ? r.err : ERR_PROTO;
			goto fail;
		}
		if (out->n_parts + (size_t)np > KELECT_MAX_PARTS) {
			rc = ERR_TOOBIG;
			goto fail;
		}
		/* np is bounded by the bytes left, so the array never outgrows the frame */
		if (kwire_grow((void **)&out->parts, &cap, out->n_parts + (size_t)np, sizeof(*out->parts))) {
			rc = ERR_NOMEM;
			goto fail;
		}
		for (int32_t pi = 0; pi < np; pi++) {
			struct kelect_result *pr = &out->parts[out->n_parts];
			int32_t ml;
			memset(pr, 0, sizeof(*pr));
			pr->topic = topic;
			pr->topic_len = (size_t)tlen;
			rbuf_i32(&r, &pr->partition);
			rbuf_i16(&r, &pr->error);
			rbuf_bytes_i16(&r, KELECT_MAX_STR, &pr->message, &ml); /* nullable */
			if (r.err) {
				rc = r.err;
				goto fail;
			}
			pr->message_len = ml < 0 ? 0 : (size_t)ml;
			if (ml < 0)
				pr->message = NULL;
			out->n_parts++;
		}
	}
	if (rbuf_left(&r)) {
		rc = err_set(eb, el, ERR_PROTO, "ElectLeaders response: %zu bytes after the last field", rbuf_left(&r));
		kelect_resp_free(out);
		return rc;
	}
	return 0;
fail:
	kwire_fail(eb, el, rc, "ElectLeaders response", r.pos, len);
	kelect_resp_free(out);
	return rc;
}

void kelect_resp_free(struct kelect_resp *r)
{
	if (!r)
		return;
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

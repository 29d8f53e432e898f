/*
 * kwhdr — request and response headers, and ApiVersions' body (see kwhdr.h).
 */
#include "kwhdr.h"

#include "buf.h"

int kwhdr_read(struct rbuf *r, struct kwhdr *h)
{
	h->key = h->ver = 0;
	h->corr = 0;
	rbuf_i16(r, &h->key);
	rbuf_i16(r, &h->ver);
	rbuf_i32(r, &h->corr);
	rbuf_bytes_i16(r, KWHDR_MAX_CLIENT_ID, &h->client_id, &h->client_id_len);
	if (r->err || h->client_id_len < 0) {
		h->client_id = NULL;
		h->client_id_len = -1;
	}
	return r->err;
}

int kwhdr_tags_read(struct rbuf *r)
{
	uint32_t skipped = 0;
	rbuf_tags_skip(r, &skipped);
	return r->err;
}

void kwhdr_resp_tags(struct wbuf *w)
{
	wbuf_uvarint(w, 0);
}

void kwhdr_versions_encode(struct wbuf *w, int16_t ver, int16_t err, size_t n,
			   void (*at)(size_t i, int16_t *key, int16_t *min, int16_t *max))
{
	wbuf_i16(w, err);
	wbuf_i32(w, (int32_t)n);
	for (size_t i = 0; i < n; i++) {
		int16_t key, min, max;
		at(i, &key, &min, &max);
		wbuf_i16(w, key);
		wbuf_i16(w, min);
		wbuf_i16(w, max);
	}
	if (ver >= 1)
		wbuf_i32(w, 0); /* throttle_time_ms */
}

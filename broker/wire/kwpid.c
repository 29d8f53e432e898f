/*
 * kwpid — InitProducerId request and response bodies (see kwpid.h).
 */
#include "kwpid.h"

#include "buf.h"
#include "err.h"
#include "kwire.h"

#include <string.h>

/* Skips a flexible version's tagged fields (KIP-482): a count, then tag, size, bytes each. */
static int kwpid_tags_skip(struct rbuf *r)
{
	uint32_t n = 0;
	if (rbuf_uvarint(r, &n))
		return ERR_PROTO;
	if (n > rbuf_left(r))
		return ERR_PROTO;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t tag, size;
		rbuf_uvarint(r, &tag);
		rbuf_uvarint(r, &size);
		rbuf_skip(r, size);
	}
	return r->err ? ERR_PROTO : 0;
}

int kwpid_req_decode(struct rbuf *r, int16_t ver, struct kwpid_req *out)
{
	memset(out, 0, sizeof(*out));
	out->txn_id_len = -1;
	out->producer_id = -1;
	out->producer_epoch = -1;
	if (ver < 0 || ver > KWPID_MAX_VERSION)
		return ERR_PROTO;
	int rc = ver >= KWPID_FIRST_FLEXIBLE ? rbuf_bytes_compact(r, KWIRE_MAX_STR, &out->txn_id, &out->txn_id_len)
					       : rbuf_bytes_i16(r, KWIRE_MAX_STR, &out->txn_id, &out->txn_id_len);
	if (rc || rbuf_i32(r, &out->txn_timeout_ms))
		return ERR_PROTO;
	if (out->txn_id && memchr(out->txn_id, 0, (size_t)out->txn_id_len))
		return ERR_PROTO;
	if (ver >= 3 && (rbuf_i64(r, &out->producer_id) || rbuf_i16(r, &out->producer_epoch)))
		return ERR_PROTO;
	if (ver >= KWPID_FIRST_FLEXIBLE && kwpid_tags_skip(r))
		return ERR_PROTO;
	return 0;
}

int kwpid_req_encode(struct wbuf *w, int16_t ver, const struct kwpid_req *q)
{
	if (ver >= KWPID_FIRST_FLEXIBLE)
		wbuf_bytes_compact(w, q->txn_id, q->txn_id ? q->txn_id_len : -1);
	else
		wbuf_bytes_i16(w, q->txn_id, q->txn_id ? q->txn_id_len : -1);
	wbuf_i32(w, q->txn_timeout_ms);
	if (ver >= 3) {
		wbuf_i64(w, q->producer_id);
		wbuf_i16(w, q->producer_epoch);
	}
	if (ver >= KWPID_FIRST_FLEXIBLE)
		wbuf_uvarint(w, 0);
	return w->err;
}

int kwpid_resp_encode(struct wbuf *w, int16_t ver, const struct kwpid_resp *p)
{
	wbuf_i32(w, p->throttle_ms);
	wbuf_i16(w, p->error);
	wbuf_i64(w, p->producer_id);
	wbuf_i16(w, p->producer_epoch);
	if (ver >= KWPID_FIRST_FLEXIBLE)
		wbuf_uvarint(w, 0);
	return w->err;
}

int kwpid_resp_decode(struct rbuf *r, int16_t ver, struct kwpid_resp *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWPID_MAX_VERSION || rbuf_i32(r, &out->throttle_ms) || rbuf_i16(r, &out->error) ||
	    rbuf_i64(r, &out->producer_id) || rbuf_i16(r, &out->producer_epoch))
		return ERR_PROTO;
	if (ver >= KWPID_FIRST_FLEXIBLE && kwpid_tags_skip(r))
		return ERR_PROTO;
	return 0;
}

/*
 * kapi_fetch — the Fetch handler (see kapi_fetch.h).
 */
#include "kapi_fetch.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kout.h"
#include "kwire.h"
#include "log.h"
#include "kreplica.h"

#include <unistd.h>

/* ---- Fetch ---- */

/*
 * Builds the Fetch response into o. Returns the number of record bytes it holds, or < 0 on a
 * malformed request. When wait is set (nothing read yet and the request may wait), it only
 * measures.
 */
int64_t kapi_fetch_build(struct broker *b, struct kreq *q, struct kout *o, int32_t *max_wait, int32_t *min_bytes)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t replica, max_bytes = INT32_MAX, session = 0, epoch = -1;
	int8_t iso = 0;
	rbuf_i32(r, &replica);
	rbuf_i32(r, max_wait);
	rbuf_i32(r, min_bytes);
	rbuf_i32(r, &max_bytes);
	rbuf_u8(r, (uint8_t *)&iso);
	if (q->ver >= 7) {
		rbuf_i32(r, &session);
		rbuf_i32(r, &epoch);
	}
	int32_t nt = kwire_count_read(r, 6);
	if (r->err || nt < 0)
		return -1;
	if (max_bytes <= 0)
		max_bytes = 1;
	wbuf_i32(w, 0); /* throttle */
	if (q->ver >= 7) {
		wbuf_i16(w, KE_NONE);
		wbuf_i32(w, 0); /* no fetch session: every fetch is a full one */
	}
	wbuf_i32(w, nt);
	int64_t total = 0;
	for (int32_t ti = 0; ti < nt; ti++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = kwire_str_read(r, name, sizeof(name), NULL);
		int32_t np = kwire_count_read(r, 16);
		if (r->err || np < 0)
			return -1;
		/* a consumer needs READ on the topic, a follower CLUSTER_ACTION on the cluster */
		bool allowed = replica >= 0 ? kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_CLUSTER_ACTION)
					    : kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_READ);
		wbuf_str_i16(w, name);
		wbuf_i32(w, np);
		for (int32_t pi = 0; pi < np; pi++) {
			int32_t idx, cur_epoch = -1, pmax;
			int64_t off, lso_in = -1;
			rbuf_i32(r, &idx);
			if (q->ver >= 9)
				rbuf_i32(r, &cur_epoch);
			rbuf_i64(r, &off);
			if (q->ver >= 5)
				rbuf_i64(r, &lso_in);
			rbuf_i32(r, &pmax);
			if (r->err)
				return -1;
			struct kb_topic *t = NULL;
			struct kb_part *p = bad ? NULL : kb_part_find(b, name, idx, &t);
			int16_t err = KE_NONE;
			struct klog_slice sl = { -1, 0, 0 };
			int64_t hw = -1, start = -1;
			if (!allowed) {
				err = replica >= 0 ? KE_CLUSTER_AUTHORIZATION_FAILED : KE_TOPIC_AUTHORIZATION_FAILED;
			} else if (!p || t->deleting) {
				err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (!krm_hosted(b->rm, name, idx)) {
				err = KE_NOT_LEADER_OR_FOLLOWER;
			} else {
				size_t room = total >= max_bytes ? 0 : (size_t)(max_bytes - total);
				size_t want = pmax > 0 ? (size_t)pmax : 0;
				if (want > room)
					want = room;
				/* KIP-74: the first non-empty partition returns at least one batch */
				if (total == 0 && want == 0)
					want = 1;
				/* a follower (replica >= 0) moves its LEO, the ISR and the HW here; a consumer
				 * reads up to the HW (KIP-320 fencing by cur_epoch, fetch v9+) */
				err = krm_fetch(b->rm, name, idx, replica < 0 ? -1 : replica, cur_epoch, off, want, kb_now_ms(),
						&sl, &hw, &start);
			}
			wbuf_i32(w, idx);
			wbuf_i16(w, err);
			wbuf_i64(w, hw);
			wbuf_i64(w, hw); /* last_stable_offset: no transactions */
			if (q->ver >= 5)
				wbuf_i64(w, start);
			wbuf_i32(w, -1); /* aborted_transactions: null */
			if (q->ver >= 11)
				wbuf_i32(w, -1); /* preferred_read_replica */
			if (sl.len > 0 && sl.fd >= 0) {
				wbuf_i32(w, (int32_t)sl.len);
				kout_file(o, sl.fd, sl.pos, sl.len);
				total += (int64_t)sl.len;
				if (replica < 0)
					kout_tally(o, t, sl.len);
			} else {
				if (sl.fd >= 0)
					close(sl.fd);
				wbuf_i32(w, 0);
			}
		}
	}
	if (q->ver >= 7) { /* forgotten_topics_data */
		int32_t nf = kwire_count_read(r, 6);
		for (int32_t i = 0; i < nf && !r->err; i++) {
			char name[KB_TOPIC_MAX + 2];
			kwire_str_read(r, name, sizeof(name), NULL);
			int32_t k = kwire_count_read(r, 4);
			for (int32_t j = 0; j < k && !r->err; j++) {
				int32_t x;
				rbuf_i32(r, &x);
			}
		}
	}
	if (q->ver >= 11) {
		char rack[256];
		kwire_str_read(r, rack, sizeof(rack), NULL);
	}
	return r->err ? -1 : total;
}

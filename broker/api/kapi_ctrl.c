/*
 * kapi_ctrl — ControlledShutdown and ElectLeaders on the controller (see kapi_ctrl.h).
 */
#include "kapi_ctrl.h"

#include "buf.h"
#include "err.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "kout.h"
#include "kwire.h"
#include "kwait.h"
#include "log.h"
#include "kctrl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const API_MOD = "kafka-api";

/* ---- the controller's requests: ControlledShutdown (API 7), ElectLeaders (API 43) ---- */

#define KB_CTRL_WAIT_MS 30000 /* controller.socket.timeout.ms: the longest a controlled shutdown waits */

/* ControlledShutdown v1-2 (v0 has a request header without client_id). The controller moves
 * the leaderships of broker_id away (kctrl) and answers once those writes are done, listing
 * the partitions it still leads (no other live ISR member); the broker asks again until none
 * remain. The broker epoch (v2) is not checked yet. */
int kapi_ctrl_shutdown(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
				     bool final)
{
	struct rbuf *r = &q->r;
	int32_t id = -1;
	int64_t broker_epoch = -1;
	rbuf_i32(r, &id);
	if (q->ver >= 2)
		rbuf_i64(r, &broker_epoch);
	if (r->err)
		return ERR_PROTO;
	int16_t err = KE_NONE;
	size_t moving = 0;
	if (!b->ctrl) {
		err = KE_NOT_CONTROLLER;
	} else if (kctrl_rstate(b->ctrl, id) == KCTRL_R_OFFLINE) {
		err = KE_BROKER_NOT_AVAILABLE;
	} else {
		moving = kctrl_broker_shutting(b->ctrl, id);
		kcontroller_run(b);
	}
	if (first) {
		if (err == KE_NONE)
			log_info(API_MOD, "controlled shutdown of broker %d: %zu leadership(s) moving", id, moving);
		w->deadline_ms = kb_now_ms() + KB_CTRL_WAIT_MS;
		return 1;
	}
	if (moving && !final)
		return 1;
	struct wbuf *wb = &o->w;
	size_t n = err == KE_NONE ? kctrl_leading(b->ctrl, id, NULL, 0) : 0;
	struct kctrl_tp *tp = n ? calloc(n, sizeof(*tp)) : NULL;
	if (n && !tp)
		return ERR_NOMEM;
	if (n)
		kctrl_leading(b->ctrl, id, tp, n);
	wbuf_i16(wb, err);
	wbuf_i32(wb, (int32_t)n);
	for (size_t i = 0; i < n; i++) {
		wbuf_str_i16(wb, tp[i].topic);
		wbuf_i32(wb, tp[i].partition);
	}
	free(tp);
	return 0;
}

/* ElectLeaders v0-1 (KIP-183, KIP-460): preferred (type 0) or unclean (type 1) elections on the
 * controller, answered once their writes are done (or at timeout_ms: REQUEST_TIMED_OUT); a null
 * list means every partition. Per partition: ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, NOT_CONTROLLER. */
#define KB_ELECT_PENDING (-100) /* w->errs: an election this request started, not written yet */

struct elect_tp {
	char topic[KB_TOPIC_MAX + 2];
	int bad;
	int32_t part;
};

/* The partitions an ElectLeaders request names (all of them for a null list), in order. */
static int elect_parse(struct broker *b, struct rbuf *r, struct elect_tp **out, int32_t *n)
{
	*out = NULL;
	*n = 0;
	int32_t nt;
	if (rbuf_i32(r, &nt))
		return ERR_PROTO;
	if (nt < 0) { /* null: every partition of every topic */
		int32_t total = 0;
		struct kb_topic *t;
		LIST_FOREACH(t, &b->topics, link)
			total += t->deleting ? 0 : t->nparts;
		struct elect_tp *tp = calloc((size_t)(total ? total : 1), sizeof(*tp));
		if (!tp)
			return ERR_NOMEM;
		int32_t k = 0;
		LIST_FOREACH(t, &b->topics, link)
			for (int32_t i = 0; i < t->nparts && !t->deleting && k < total; i++) {
				snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", t->name);
				tp[k++].part = i;
			}
		*out = tp;
		*n = k;
		return 0;
	}
	if (nt > KB_MAX_ITEMS || (size_t)nt * 6 > rbuf_left(r))
		return ERR_PROTO;
	struct elect_tp *tp = NULL;
	int32_t k = 0, cap = 0;
	for (int32_t i = 0; i < nt; i++) {
		char name[KB_TOPIC_MAX + 2];
		int bad = kwire_str_read(r, name, sizeof(name), NULL);
		int32_t np = kwire_count_read(r, 4);
		if (r->err || np < 0 || k + np > KB_MAX_ITEMS)
			goto bad;
		if (k + np > cap) {
			cap = k + np;
			struct elect_tp *ntp = realloc(tp, (size_t)(cap ? cap : 1) * sizeof(*tp));
			if (!ntp) {
				free(tp);
				return ERR_NOMEM;
			}
			tp = ntp;
		}
		for (int32_t j = 0; j < np; j++) {
			snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", name);
			tp[k].bad = bad;
			rbuf_i32(r, &tp[k].part);
			k++;
		}
		if (r->err)
			goto bad;
	}
	*out = tp;
	*n = k;
	return 0;
bad:
	free(tp);
	return ERR_PROTO;
}

static int16_t elect_error(enum kctrl_elect e, bool unclean)
{
	switch (e) {
	case KCTRL_ELECT_NOT_NEEDED:
		return KE_ELECTION_NOT_NEEDED;
	case KCTRL_ELECT_NOT_AVAILABLE:
		return unclean ? KE_ELIGIBLE_LEADERS_NOT_AVAILABLE : KE_PREFERRED_LEADER_NOT_AVAILABLE;
	case KCTRL_ELECT_UNKNOWN:
		return KE_UNKNOWN_TOPIC_OR_PARTITION;
	case KCTRL_ELECT_STARTED:
	case KCTRL_ELECT_BUSY:
		break;
	}
	return KB_ELECT_PENDING;
}

int kapi_ctrl_elect(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct rbuf *r = &q->r;
	int8_t type = 0;
	if (q->ver >= 1 && rbuf_u8(r, (uint8_t *)&type))
		return ERR_PROTO;
	struct elect_tp *tp;
	int32_t n;
	int rc = elect_parse(b, r, &tp, &n);
	if (rc)
		return rc;
	int32_t timeout = 0;
	if (rbuf_i32(r, &timeout) || (type != 0 && type != 1)) {
		free(tp);
		return ERR_PROTO;
	}
	bool unclean = type == 1;
	if (first && kwait_results(w, n)) {
		free(tp);
		return ERR_NOMEM;
	}
	bool done = true;
	for (int32_t i = 0; i < n; i++) {
		int16_t *e = &w->errs[i];
		if (!first && *e != KB_ELECT_PENDING)
			continue;
		if (!b->ctrl) {
			*e = KE_NOT_CONTROLLER;
		} else if (tp[i].bad) {
			*e = KE_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (first) {
			*e = elect_error(kctrl_elect(b->ctrl, tp[i].topic, tp[i].part, unclean), unclean);
		} else if (!kctrl_busy(b->ctrl, tp[i].topic, tp[i].part)) {
			/* its write is done (or failed and was decided again): where does it stand now */
			enum kctrl_elect x = kctrl_elect(b->ctrl, tp[i].topic, tp[i].part, unclean);
			*e = x == KCTRL_ELECT_NOT_NEEDED ? KE_NONE : elect_error(x, unclean);
		}
		done &= *e != KB_ELECT_PENDING;
	}
	if (b->ctrl)
		kcontroller_run(b);
	if (first) {
		w->deadline_ms = kb_now_ms() + (timeout > 0 ? timeout : 0);
		free(tp);
		return 1;
	}
	if (!done && !final) {
		free(tp);
		return 1;
	}
	struct wbuf *wb = &o->w;
	wbuf_i32(wb, 0); /* throttle */
	if (q->ver >= 1)
		wbuf_i16(wb, KE_NONE);
	/* one entry per topic, its partitions in request order */
	int32_t ntopics = 0;
	for (int32_t i = 0; i < n; i++)
		ntopics += i == 0 || strcmp(tp[i].topic, tp[i - 1].topic) != 0;
	wbuf_i32(wb, ntopics);
	for (int32_t i = 0; i < n;) {
		int32_t j = i;
		while (j < n && strcmp(tp[j].topic, tp[i].topic) == 0)
			j++;
		wbuf_str_i16(wb, tp[i].topic);
		wbuf_i32(wb, j - i);
		for (; i < j; i++) {
			int16_t e = w->errs[i] == KB_ELECT_PENDING ? KE_REQUEST_TIMED_OUT : w->errs[i];
			wbuf_i32(wb, tp[i].part);
			wbuf_i16(wb, e);
			if (e == KE_NONE) {
				wbuf_i16(wb, -1);
			} else {
				char msg[KB_TOPIC_MAX + 128];
				snprintf(msg, sizeof(msg), "%s election of %s-%d: %s", unclean ? "unclean" : "preferred",
					 tp[i].topic, tp[i].part,
					 e == KE_ELECTION_NOT_NEEDED		  ? "not needed"
					 : e == KE_PREFERRED_LEADER_NOT_AVAILABLE ? "the preferred replica is not live or not in the ISR"
					 : e == KE_ELIGIBLE_LEADERS_NOT_AVAILABLE ? "no live replica"
					 : e == KE_NOT_CONTROLLER		  ? "this broker is not the controller"
					 : e == KE_REQUEST_TIMED_OUT		  ? "not done within the timeout"
										  : "no such partition");
				wbuf_str_i16(wb, msg);
			}
		}
	}
	free(tp);
	return 0;
}

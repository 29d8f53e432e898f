/*
 * kapi_ctrl — ControlledShutdown and ElectLeaders on the controller (see kapi_ctrl.h).
 *
 * The requests are decoded by kwctrl, once, on arrival, into a struct their kwait keeps
 * (w->priv) until answered, and the responses encoded by it; nothing here reads request bytes.
 * The later passes (kapi_retry) read only the decoded request and the controller's state.
 */
#include "kapi_ctrl.h"

#include "buf.h"
#include "err.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "kout.h"
#include "kwctrl.h"
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
static void kapi_ctrl_free(void *p)
{
	free(p);
}

int kapi_ctrl_shutdown(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
				     bool final)
{
	struct kwctrl_cs_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = kapi_ctrl_free;
		if (kwctrl_cs_req_decode(&q->r, q->ver, m))
			return ERR_PROTO;
	}
	int32_t id = m->broker_id;
	int16_t err = KE_NONE;
	size_t moving = 0;
	if (!kcontroller_kctrl(b->kc)) {
		err = KE_NOT_CONTROLLER;
	} else if (kctrl_rstate(kcontroller_kctrl(b->kc), id) == KCTRL_R_OFFLINE) {
		err = KE_BROKER_NOT_AVAILABLE;
	} else {
		moving = kctrl_broker_shutting(kcontroller_kctrl(b->kc), id);
		kcontroller_run(b->kc);
	}
	if (first) {
		if (err == KE_NONE)
			log_info(API_MOD, "controlled shutdown of broker %d: %zu leadership(s) moving", id, moving);
		w->deadline_ms = kb_now_ms() + KB_CTRL_WAIT_MS;
		return 1;
	}
	if (moving && !final)
		return 1;
	size_t n = err == KE_NONE ? kctrl_leading(kcontroller_kctrl(b->kc), id, NULL, 0) : 0;
	struct kctrl_tp *tp = n ? calloc(n, sizeof(*tp)) : NULL;
	struct kwctrl_tp *rem = n ? calloc(n, sizeof(*rem)) : NULL;
	if (n && (!tp || !rem)) {
		free(tp);
		free(rem);
		return ERR_NOMEM;
	}
	if (n)
		kctrl_leading(kcontroller_kctrl(b->kc), id, tp, n);
	for (size_t i = 0; i < n; i++)
		rem[i] = (struct kwctrl_tp){ tp[i].topic, tp[i].partition };
	struct kwctrl_cs_resp resp = { .error = err, .n = (int32_t)n, .remaining = rem };
	kwctrl_cs_resp_encode(&o->w, &resp);
	free(rem);
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

/* The decoded request and the partitions it names (all of them at its arrival for a null
 * list), in order: w->errs[i] is partition i's outcome. */
struct elect_req {
	struct kwctrl_el_req req;
	struct elect_tp *tp;
	int32_t n;
};

static void elect_req_free(void *p)
{
	struct elect_req *e = p;
	kwctrl_el_req_free(&e->req);
	free(e->tp);
	free(e);
}

/* Lists the partitions of e->req (every partition of every topic for a null list). 0 or
 * ERR_NOMEM. */
static int elect_list(struct broker *b, struct elect_req *e)
{
	int32_t total = 0;
	if (e->req.n < 0) { /* null: every partition of every topic */
		struct kb_topic *t;
		LIST_FOREACH(t, &b->topics, link)
			total += t->deleting ? 0 : t->nparts;
	} else {
		for (int32_t i = 0; i < e->req.n; i++)
			total += e->req.topics[i].n; /* at most KWIRE_MAX_ITEMS (kwctrl) */
	}
	struct elect_tp *tp = calloc((size_t)(total ? total : 1), sizeof(*tp));
	if (!tp)
		return ERR_NOMEM;
	int32_t k = 0;
	if (e->req.n < 0) {
		struct kb_topic *t;
		LIST_FOREACH(t, &b->topics, link)
			for (int32_t i = 0; i < t->nparts && !t->deleting && k < total; i++) {
				snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", t->name);
				tp[k++].part = i;
			}
	} else {
		for (int32_t i = 0; i < e->req.n; i++) {
			const struct kwctrl_el_topic *t = &e->req.topics[i];
			for (int32_t j = 0; j < t->n && k < total; j++) {
				snprintf(tp[k].topic, sizeof(tp[k].topic), "%s", t->name);
				tp[k].bad = t->bad;
				tp[k++].part = t->parts[j];
			}
		}
	}
	e->tp = tp;
	e->n = k;
	return 0;
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

/* The message of a partition's outcome e. */
static void elect_message(char *msg, size_t n, bool unclean, const struct elect_tp *tp, int16_t e)
{
	snprintf(msg, n, "%s election of %s-%d: %s", unclean ? "unclean" : "preferred", tp->topic, tp->part,
		 e == KE_ELECTION_NOT_NEEDED		  ? "not needed"
		 : e == KE_PREFERRED_LEADER_NOT_AVAILABLE ? "the preferred replica is not live or not in the ISR"
		 : e == KE_ELIGIBLE_LEADERS_NOT_AVAILABLE ? "no live replica"
		 : e == KE_NOT_CONTROLLER		  ? "this broker is not the controller"
		 : e == KE_REQUEST_TIMED_OUT		  ? "not done within the timeout"
							  : "no such partition");
}

/* Encodes the answer: one entry per topic (consecutive partitions of the same topic), its
 * partitions in request order. 0 or ERR_NOMEM. */
static int elect_answer(struct kout *o, int16_t ver, const struct elect_req *m, const struct kwait *w)
{
	const struct elect_tp *tp = m->tp;
	int32_t n = m->n, ntopics = 0;
	bool unclean = m->req.type == 1;
	for (int32_t i = 0; i < n; i++)
		ntopics += i == 0 || strcmp(tp[i].topic, tp[i - 1].topic) != 0;
	size_t zt = ntopics > 0 ? (size_t)ntopics : 1, zn = n > 0 ? (size_t)n : 1;
	struct kwctrl_el_tresp *tr = calloc(zt, sizeof(*tr));
	struct kwctrl_el_presp *pr = calloc(zn, sizeof(*pr));
	char (*msgs)[KB_TOPIC_MAX + 128] = calloc(zn, sizeof(*msgs));
	int rc = !tr || !pr || !msgs ? ERR_NOMEM : 0;
	int32_t t = 0;
	for (int32_t i = 0; !rc && i < n;) {
		int32_t j = i;
		while (j < n && strcmp(tp[j].topic, tp[i].topic) == 0)
			j++;
		tr[t] = (struct kwctrl_el_tresp){ .topic = tp[i].topic, .n = j - i, .parts = pr + i };
		t++;
		for (; i < j; i++) {
			int16_t e = w->errs[i] == KB_ELECT_PENDING ? KE_REQUEST_TIMED_OUT : w->errs[i];
			pr[i] = (struct kwctrl_el_presp){ .partition = tp[i].part, .error = e, .message = NULL };
			if (e != KE_NONE) {
				elect_message(msgs[i], sizeof(msgs[i]), unclean, &tp[i], e);
				pr[i].message = msgs[i];
			}
		}
	}
	if (!rc) {
		struct kwctrl_el_resp resp = { .throttle_ms = 0, .error = KE_NONE, .n = ntopics, .topics = tr };
		kwctrl_el_resp_encode(&o->w, ver, &resp);
	}
	free(msgs);
	free(pr);
	free(tr);
	return rc;
}

int kapi_ctrl_elect(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first,
			       bool final)
{
	struct elect_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = elect_req_free;
		int rc = kwctrl_el_req_decode(&q->r, q->ver, &m->req);
		if (!rc)
			rc = elect_list(b, m);
		if (!rc && kwait_results(w, m->n))
			rc = ERR_NOMEM;
		if (rc)
			return rc;
	}
	const struct elect_tp *tp = m->tp;
	bool unclean = m->req.type == 1;
	bool done = true;
	for (int32_t i = 0; i < m->n; i++) {
		int16_t *e = &w->errs[i];
		if (!first && *e != KB_ELECT_PENDING)
			continue;
		if (!kcontroller_kctrl(b->kc)) {
			*e = KE_NOT_CONTROLLER;
		} else if (tp[i].bad) {
			*e = KE_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (first) {
			*e = elect_error(kctrl_elect(kcontroller_kctrl(b->kc), tp[i].topic, tp[i].part, unclean), unclean);
		} else if (!kctrl_busy(kcontroller_kctrl(b->kc), tp[i].topic, tp[i].part)) {
			/* its write is done (or failed and was decided again): where does it stand now */
			enum kctrl_elect x = kctrl_elect(kcontroller_kctrl(b->kc), tp[i].topic, tp[i].part, unclean);
			*e = x == KCTRL_ELECT_NOT_NEEDED ? KE_NONE : elect_error(x, unclean);
		}
		done &= *e != KB_ELECT_PENDING;
	}
	if (kcontroller_kctrl(b->kc))
		kcontroller_run(b->kc);
	if (first) {
		w->deadline_ms = kb_now_ms() + (m->req.timeout_ms > 0 ? m->req.timeout_ms : 0);
		return 1;
	}
	if (!done && !final)
		return 1;
	return elect_answer(o, q->ver, m, w);
}

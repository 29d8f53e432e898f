/*
 * kwait — requests answered later, their per-item results and their retries (see kwait.h).
 */
#include "kwait.h"

#include "err.h"
#include "kapi.h"
#include "kapi_fetch.h"
#include "kb_broker.h"
#include "kconn.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kwait_free(struct kwait *w)
{
	LIST_REMOVE(w, link);
	if (w->resp && !w->resp->conn) { /* orphaned by a closed connection: ours to free */
		if (w->resp->buf)
			evbuffer_free(w->resp->buf);
		free(w->resp);
	}
	for (int32_t i = 0; i < w->n; i++)
		free(w->msgs ? w->msgs[i] : NULL);
	free(w->msgs);
	free(w->errs);
	if (w->priv_free)
		w->priv_free(w->priv);
	free(w);
}

struct kwait *kwait_new(struct broker *b, struct kresp *resp, const struct kreq *q, int kind, int32_t timeout_ms)
{
	struct kwait *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->key = q->key;
	w->ver = q->ver;
	w->corr = q->corr;
	w->resp = resp;
	w->kind = kind;
	w->deadline_ms = kb_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	LIST_INSERT_HEAD(&b->waits, w, link);
	return w;
}

void kwait_free_all(struct broker *b)
{
	struct kwait *w;
	while ((w = LIST_FIRST(&b->waits)))
		kwait_free(w);
	kapi_fetch_free_all(b);
}

void kwait_retry_all(struct broker *b, bool deadlines)
{
	int64_t now = kb_now_ms();
	struct kwait *w, *next;
	for (w = LIST_FIRST(&b->waits); w; w = next) {
		next = LIST_NEXT(w, link);
		bool final = now >= w->deadline_ms;
		if (deadlines && !final)
			continue;
		if (kapi_retry(b, w, final))
			kwait_free(w);
	}
	kapi_fetch_retry(b);
}

void kwait_conn_gone(struct kconn *c)
{
	/* waiting requests of this connection: admin writes finish on their own */
	struct kwait *w, *next;
	for (w = LIST_FIRST(&c->b->waits); w; w = next) {
		next = LIST_NEXT(w, link);
		if (w->resp->conn != c)
			continue;
		TAILQ_REMOVE(&c->q, w->resp, link);
		w->resp->conn = NULL;
		if (w->pending == 0)
			kwait_free(w);
	}
}

/* ---- per-item results of admin requests, filled by their coordinator writes ---- */

struct kwait_item {
	struct kwait *w;
	int32_t i;
};

static void kwait_slot_done(struct broker *b, void *ctx, int16_t err, const char *msg)
{
	struct kwait_item *s = ctx;
	struct kwait *w = s->w;
	if (w->errs[s->i] == KE_NONE && err) {
		w->errs[s->i] = err;
		free(w->msgs[s->i]);
		w->msgs[s->i] = msg ? strdup(msg) : NULL;
	}
	free(s);
	w->pending--;
	kb_wake(b); /* the request is retried: is it answered now? */
}

kb_admin_cb kwait_slot(struct kwait *w, int32_t i, void **ctx)
{
	struct kwait_item *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->w = w;
	s->i = i;
	w->pending++;
	*ctx = s;
	return kwait_slot_done;
}

int kwait_results(struct kwait *w, int32_t n)
{
	w->n = n;
	w->errs = calloc((size_t)(n ? n : 1), sizeof(*w->errs));
	w->msgs = calloc((size_t)(n ? n : 1), sizeof(*w->msgs));
	return w->errs && w->msgs ? 0 : ERR_NOMEM;
}

void kwait_set(struct kwait *w, int32_t i, int16_t err, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	w->errs[i] = err;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m, sizeof(m), fmt, ap);
		va_end(ap);
		free(w->msgs[i]);
		w->msgs[i] = strdup(m);
	}
}

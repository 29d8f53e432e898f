/*
 * kb_pid — producer id blocks through /latest_producer_id_block (see kb_pid.h).
 *
 * State: ids next..end of the claimed block are free (next > end: none, as at start). While a
 * claim runs, claiming is true and the callers wait in the waiters list; the claim's end
 * (success or failure) answers every waiter and empties the list.
 */
#include "kb_pid.h"

#include "err.h"
#include "kb_broker.h"
#include "kb_zk.h"
#include "kerr.h"
#include "kznode.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))
#define KB_PID_ZNODE "/latest_producer_id_block"
#define KB_PID_MAX_TRIES 100 /* lost races in one claim before it gives up */

static const char *const PID_MOD = "producer-ids";

struct kb_pid_waiter {
	kb_admin_cb cb;
	void *ctx;
};

struct kb_pid {
	int64_t next, end;
	bool claiming;
	int tries;
	struct kb_pid_waiter *w;
	size_t nw, capw;
};

static struct kb_pid *kb_pid_get(struct broker *b)
{
	if (!b->pid) {
		b->pid = calloc(1, sizeof(*b->pid));
		if (b->pid) {
			b->pid->next = 0;
			b->pid->end = -1;
		}
	}
	return b->pid;
}

int kb_pid_take(struct broker *b, int64_t *id)
{
	struct kb_pid *p = kb_pid_get(b);
	if (!p)
		return ERR_NOMEM;
	if (p->next > p->end)
		return ERR_AGAIN;
	*id = p->next++;
	return 0;
}

bool kb_pid_available(struct broker *b)
{
	struct kb_pid *p = kb_pid_get(b);
	return p && p->next <= p->end;
}

/* Ends the running claim: every waiter hears err. */
static void kb_pid_done(struct broker *b, int16_t err, const char *msg)
{
	struct kb_pid *p = b->pid;
	struct kb_pid_waiter *w = p->w;
	size_t n = p->nw;
	p->w = NULL;
	p->nw = p->capw = 0;
	p->claiming = false;
	if (err)
		log_warn(PID_MOD, "claiming a producer id block failed: %s", msg);
	for (size_t i = 0; i < n; i++)
		w[i].cb(b, w[i].ctx, err, err ? msg : NULL);
	free(w);
}

static void kb_pid_read(struct broker *b);

static void kb_pid_written(struct broker *b, int rc, const struct kznode_pid_block *nb)
{
	struct kb_pid *p = b->pid;
	if (b->stopping) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, "the broker is stopping");
	} else if (rc == ZOK) {
		p->next = nb->start;
		p->end = nb->end;
		log_info(PID_MOD, "claimed producer ids %" PRId64 "..%" PRId64, nb->start, nb->end);
		kb_pid_done(b, KE_NONE, NULL);
	} else if ((rc == ZBADVERSION || rc == ZNODEEXISTS) && ++p->tries < KB_PID_MAX_TRIES) {
		log_debug(PID_MOD, "lost the race for a producer id block (%s); reading again", zerror(rc));
		kb_pid_read(b);
	} else {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, zerror(rc));
	}
}

/* The block being written rides in a heap copy (the completion's data). */
struct kb_pid_write {
	struct broker *b;
	struct kznode_pid_block nb;
};

static void kb_pid_set_done(int rc, const struct Stat *st, const void *data)
{
	(void)st;
	struct kb_pid_write *wr = (struct kb_pid_write *)(uintptr_t)data;
	struct broker *b = wr->b;
	struct kznode_pid_block nb = wr->nb;
	free(wr);
	kb_pid_written(b, rc, &nb);
}

static void kb_pid_create_done(int rc, const char *value, const void *data)
{
	(void)value;
	struct kb_pid_write *wr = (struct kb_pid_write *)(uintptr_t)data;
	struct broker *b = wr->b;
	struct kznode_pid_block nb = wr->nb;
	free(wr);
	kb_pid_written(b, rc, &nb);
}

static void kb_pid_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char eb[200], full[1200];
	if (b->stopping) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, "the broker is stopping");
		return;
	}
	if (rc != ZOK && rc != ZNONODE) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, zerror(rc));
		return;
	}
	struct kznode_pid_block cur, nb;
	int drc = rc == ZOK ? kznode_pid_block_decode(v, (size_t)(vl > 0 ? vl : 0), &cur, eb, sizeof(eb)) : ERR_NOTFOUND;
	if (drc && drc != ERR_NOTFOUND) {
		/* Kafka fails the same way: a block it cannot read is never overwritten */
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, eb);
		return;
	}
	if (kznode_pid_block_next(drc ? NULL : &cur, b->cfg->broker_id, &nb)) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, "Have exhausted all producerIds.");
		return;
	}
	char *js = NULL;
	struct kb_pid_write *wr = malloc(sizeof(*wr));
	if (!wr || kznode_pid_block_encode(&nb, &js)) {
		free(wr);
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, "out of memory");
		return;
	}
	wr->b = b;
	wr->nb = nb;
	zhandle_t *zh = kb_zk_handle(b->zk);
	int zrc = rc == ZOK ? zoo_aset(zh, ZP(KB_PID_ZNODE, full), js, (int)strlen(js), st->version, kb_pid_set_done, wr)
			    : zoo_acreate(zh, ZP(KB_PID_ZNODE, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0,
					  kb_pid_create_done, wr);
	free(js);
	if (zrc != ZOK) {
		free(wr);
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, zerror(zrc));
		return;
	}
	kb_zk_pump(b->zk);
}

static void kb_pid_read(struct broker *b)
{
	char full[1200];
	int zrc = b->zk ? zoo_aget(kb_zk_handle(b->zk), ZP(KB_PID_ZNODE, full), 0, kb_pid_data, b) : ZINVALIDSTATE;
	if (zrc != ZOK) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, zerror(zrc));
		return;
	}
	kb_zk_pump(b->zk);
}

void kb_pid_claim(struct broker *b, kb_admin_cb cb, void *ctx)
{
	struct kb_pid *p = kb_pid_get(b);
	if (!p) {
		cb(b, ctx, KE_COORDINATOR_NOT_AVAILABLE, "out of memory");
		return;
	}
	if (p->nw == p->capw) {
		size_t cap = p->capw ? p->capw * 2 : 8;
		struct kb_pid_waiter *w = realloc(p->w, cap * sizeof(*w));
		if (!w) {
			cb(b, ctx, KE_COORDINATOR_NOT_AVAILABLE, "out of memory");
			return;
		}
		p->w = w;
		p->capw = cap;
	}
	p->w[p->nw++] = (struct kb_pid_waiter){ cb, ctx };
	if (p->claiming)
		return;
	if (b->stopping || !b->zk) {
		kb_pid_done(b, KE_COORDINATOR_NOT_AVAILABLE, "no coordinator session");
		return;
	}
	p->claiming = true;
	p->tries = 0;
	kb_pid_read(b);
}

void kb_pid_free(struct broker *b)
{
	if (!b->pid)
		return;
	free(b->pid->w);
	free(b->pid);
	b->pid = NULL;
}

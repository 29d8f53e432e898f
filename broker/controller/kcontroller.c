/*
 * kcontroller — this broker's controller role, in Kafka 2.x's ZooKeeper layout (see
 * kcontroller.h): standing for /controller and bumping /controller_epoch; while it holds the
 * role, handing kctrl (the decisions, no I/O) the brokers and partitions the metadata cache
 * reads, and carrying out kctrl's actions: the conditional writes of the partition state
 * znodes, LeaderAndIsr on the control-plane channel (kctl_chan, whose failure detection is an
 * input to kctrl too), topic deletion (/admin/delete_topics), the clean-up of
 * /isr_change_notification and the periodic preferred-leader rebalance. Every coordinator step
 * is an async call whose heap context the completion frees; an answer that arrives after the
 * term that asked has ended is dropped. Runs on the broker's loop thread. Its own library
 * (samsa_broker_kcontroller): the broker's cache and re-reads are reached through struct
 * kcontroller_host only.
 */
#include "kcontroller.h"

#include "err.h"
#include "kb_zk.h"
#include "kctl_chan.h"
#include "kctrl.h"
#include "kname.h"
#include "kznode.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const KC_MOD = "controller";

#define ZP(rel, buf) kb_zk_path(kc->zk, (rel), (buf), sizeof(buf))

#define KC_GRACE_MAX 64 /* brokers in a registration grace at once (more: no grace) */

struct kcontroller {
	struct event_base *base;
	struct kb_zk *zk; /* the broker's coordinator session (borrowed) */
	struct kcontroller_conf conf;
	struct kcontroller_host host;
	void *arg;
	int32_t id;	       /* who holds /controller as last read, -1: unknown */
	int64_t czxid;	       /* that znode's creation (one controller term), 0: unknown */
	int32_t epoch;	       /* the newest controller epoch known (ours while active) */
	int32_t epoch_version; /* the version of /controller_epoch our term wrote */
	bool active;	       /* this broker holds /controller and took the role */
	/* while active, else NULL: the decisions, the channel to every broker, the
	 * auto.leader.rebalance.enable check */
	struct kctrl *ctrl;
	struct kctl_ctrl *ctl;
	struct event *rebalance;
	/* while active: brokers whose registration went away while their control-plane connection
	 * answers (the registration grace, below), and when each grace ends */
	struct kcontroller_grace {
		int32_t id;
		int64_t until_ms;
	} grace[KC_GRACE_MAX];
	int32_t n_grace;
	struct event *grace_timer;
};

static bool kc_stopping(const struct kcontroller *kc)
{
	return kc->host.stopping(kc->arg);
}

/* the wall clock in ms (as the broker's kb_now_ms) */
static int64_t kc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct kcontroller *kcontroller_new(struct event_base *base, struct kb_zk *zk, const struct kcontroller_conf *conf,
				    const struct kcontroller_host *host, void *arg)
{
	struct kcontroller *kc = calloc(1, sizeof(*kc));
	if (!kc)
		return NULL;
	kc->base = base;
	kc->zk = zk;
	kc->conf = *conf;
	kc->host = *host;
	kc->arg = arg;
	kc->id = -1;
	return kc;
}

void kcontroller_free(struct kcontroller *kc)
{
	if (!kc)
		return;
	kcontroller_resign(kc, "the broker stops");
	free(kc);
}

bool kcontroller_active(const struct kcontroller *kc)
{
	return kc && kc->active;
}

int32_t kcontroller_id(const struct kcontroller *kc)
{
	return kc ? kc->id : -1;
}

size_t kcontroller_undelivered(const struct kcontroller *kc)
{
	return kc && kc->active ? kctl_ctrl_undelivered(kc->ctl, kc->conf.broker_id) : 0;
}

int64_t kcontroller_czxid(const struct kcontroller *kc)
{
	return kc ? kc->czxid : 0;
}

int32_t kcontroller_epoch(const struct kcontroller *kc)
{
	return kc ? kc->epoch : 0;
}

struct kctrl *kcontroller_kctrl(const struct kcontroller *kc)
{
	return kc ? kc->ctrl : NULL;
}

void kcontroller_epoch_seen(struct kcontroller *kc, int32_t epoch)
{
	if (kc && epoch > kc->epoch && !kc->active)
		kc->epoch = epoch;
}

static void kcontroller_znode_data(int rc, const char *v, int vl, const struct Stat *st, const void *data);

/* ---- carrying out kctrl's actions ---- */

/*
 * Every state write is a multi of two ops: a check that /controller_epoch is still at the
 * version this term wrote it with, then the create or conditional set of the state znode
 * (Kafka's fix for zombie controllers, KAFKA-6082: a controller that was paused or cut off
 * while another was elected, and resumes still believing it leads, can change nothing in the
 * coordinator). A failed check ends this broker's term at once.
 */
struct kcontroller_write {
	struct kcontroller *kc;
	struct kctrl *ctrl; /* the controller term that asked; the answer is dropped if it ended */
	char name[KNAME_TOPIC_MAX + 1];
	int32_t part;
	bool create;
	zoo_op_t ops[2];
	zoo_op_result_t res[2]; /* the client writes them when the answer comes: kept until then */
	struct Stat stat;
	char created[16];
};

/* After the step-down: who holds /controller now. Still this broker (its own znode, whose term
 * the check says is over): deleted, conditionally on its version, so that an election starts
 * from a clean slate; else as any broker reads it. */
static void kcontroller_step_down_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	char eb[160], full[1024];
	int32_t id = -1;
	if (!kc_stopping(kc) && rc == ZOK && st && !kc->active &&
	    !kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)) && id == kc->conf.broker_id) {
		zoo_adelete(kb_zk_handle(kc->zk), ZP("/controller", full), st->version, kb_zk_ignore_void, NULL);
		kb_zk_pump(kc->zk);
		return;
	}
	kcontroller_znode_data(rc, v, vl, st, data);
}

static void kcontroller_step_down(struct kcontroller *kc, const char *why)
{
	char full[1024];
	kcontroller_resign(kc, why);
	kc->id = -1;
	kc->czxid = 0;
	zoo_aget(kb_zk_handle(kc->zk), ZP("/controller", full), 1, kcontroller_step_down_data, kc);
	kb_zk_pump(kc->zk);
}

static void kcontroller_state_written(int rc, const void *data)
{
	struct kcontroller_write *c = (struct kcontroller_write *)(uintptr_t)data;
	struct kcontroller *kc = c->kc;
	if (!kc_stopping(kc) && kc->ctrl == c->ctrl) {
		int check = rc == ZOK ? ZOK : c->res[0].err;
		if (rc != ZOK && check != ZOK && check != ZRUNTIMEINCONSISTENCY && rc != ZCONNECTIONLOSS &&
		    rc != ZOPERATIONTIMEOUT && rc != ZCLOSING) {
			log_warn(KC_MOD, "controller: /controller_epoch moved on (%s) while writing the state of %s-%d: "
				 "another controller was elected; stepping down", zerror(check), c->name, c->part);
			kcontroller_step_down(kc, "/controller_epoch moved on: another controller was elected");
			free(c);
			return;
		}
		if (rc != ZOK)
			log_info(KC_MOD, "controller: writing the state of %s-%d: %s; reading it again", c->name, c->part,
				 zerror(rc));
		kctrl_write_result(kc->ctrl, c->name, c->part, rc == ZOK, rc == ZOK && !c->create ? c->stat.version : 0);
		kcontroller_run(kc);
		if (rc != ZOK)
			kc->host.refresh_topic(kc->arg, c->name); /* kctrl decides again from what it reads */
	}
	free(c);
}

static void kcontroller_chan_done(int32_t broker_id, int err, const struct kctl_msg *resp, void *arg)
{
	(void)arg;
	if (err == 0 && resp && resp->error_code)
		log_warn(KC_MOD, "controller: broker %d refused a %s: error %d", broker_id, kctl_type_name(resp->type - 1),
			 resp->error_code);
}

/* LeaderAndIsr of one partition to one broker on the control plane (the state is also in its
 * znode, which every broker watches: the channel makes it known at once). */
static void kcontroller_send_leader_and_isr(struct kcontroller *kc, const struct kctrl_action *a)
{
	struct kctl_part part = {
		.topic = a->topic,
		.partition = a->partition,
		.controller_epoch = a->state.controller_epoch,
		.leader = a->state.leader,
		.leader_epoch = a->state.leader_epoch,
		.zk_version = a->state.zk_version,
		.isr = a->state.isr,
		.n_isr = a->state.n_isr,
		.replicas = a->replicas,
		.n_replicas = a->n_replicas,
	};
	struct kctl_endpoint ep = { .id = -1, .host = "", .port = 0 };
	int32_t nn;
	const struct kb_node *nodes = kc->host.nodes(kc->arg, &nn);
	for (int32_t i = 0; i < nn; i++)
		if (nodes[i].id == a->state.leader) {
			ep.id = nodes[i].id;
			ep.host = nodes[i].host;
			ep.port = nodes[i].port;
		}
	struct kctl_msg m = {
		.type = KCTL_LEADER_AND_ISR,
		.parts = &part,
		.n_parts = 1,
		.leaders = ep.id >= 0 ? &ep : NULL,
		.n_leaders = ep.id >= 0 ? 1 : 0,
	};
	int rc = kctl_ctrl_send(kc->ctl, a->broker, &m, kcontroller_chan_done, NULL);
	if (rc && rc != ERR_CLOSED && rc != ERR_NOTFOUND)
		log_warn(KC_MOD, "controller: LeaderAndIsr of %s-%d to broker %d: %s", a->topic, a->partition, a->broker,
			 err_str(rc));
}

/* Carries out kctrl's actions in order. */
void kcontroller_run(struct kcontroller *kc)
{
	size_t n;
	if (!kc || !kc->ctrl)
		return;
	const struct kctrl_action *a = kctrl_actions(kc->ctrl, &n);
	zhandle_t *zh = kb_zk_handle(kc->zk);
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == KCTRL_ACT_LEADER_AND_ISR) {
			if (kc->ctl)
				kcontroller_send_leader_and_isr(kc, &a[i]);
			continue;
		}
		char *js = NULL, rel[512], full[1024];
		const struct kctrl_lisr *st = &a[i].state;
		struct kznode_state ks = { .leader = st->leader,
					   .leader_epoch = st->leader_epoch,
					   .controller_epoch = st->controller_epoch,
					   .n_isr = st->n_isr };
		memcpy(ks.isr, st->isr, st->n_isr * sizeof(int32_t));
		struct kcontroller_write *c = calloc(1, sizeof(*c));
		if (!c || kznode_state_encode(&ks, &js)) { /* as a failed write: decided again once read */
			free(c);
			kctrl_write_result(kc->ctrl, a[i].topic, a[i].partition, false, -1);
			continue;
		}
		c->kc = kc;
		c->ctrl = kc->ctrl;
		snprintf(c->name, sizeof(c->name), "%s", a[i].topic);
		c->part = a[i].partition;
		c->create = a[i].expect_version < 0;
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", a[i].topic, a[i].partition);
		char efull[1024];
		zoo_check_op_init(&c->ops[0], ZP("/controller_epoch", efull), kc->epoch_version);
		if (c->create) {
			char prel[512], pfull[1024];
			snprintf(prel, sizeof(prel), "/brokers/topics/%s/partitions", a[i].topic);
			zoo_acreate(zh, ZP(prel, pfull), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string, NULL);
			snprintf(prel, sizeof(prel), "/brokers/topics/%s/partitions/%d", a[i].topic, a[i].partition);
			zoo_acreate(zh, ZP(prel, pfull), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string, NULL);
			zoo_create_op_init(&c->ops[1], ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, c->created,
					   sizeof(c->created));
		} else {
			zoo_set_op_init(&c->ops[1], ZP(rel, full), js, (int)strlen(js), a[i].expect_version, &c->stat);
		}
		/* the client encodes the ops now (paths and data are copied); res and stat are written
		 * when the answer comes */
		int zrc = zoo_amulti(zh, 2, c->ops, c->res, kcontroller_state_written, c);
		if (zrc != ZOK) {
			free(c);
			kctrl_write_result(kc->ctrl, a[i].topic, a[i].partition, false, -1);
		}
		free(js);
	}
	kctrl_actions_clear(kc->ctrl);
	kb_zk_pump(kc->zk);
}

/* ---- kctrl's inputs: the channel, the brokers, the topics, the rebalance timer ---- */

static void kcontroller_log(void *arg, const char *line)
{
	(void)arg;
	log_info(KC_MOD, "controller: %s", line);
}

/* The channel's fast failure detection: a broker whose connection broke and could not be
 * re-established (kill -9), or that answers no heartbeat (paused, cut off), is dead for the
 * controller before its coordinator session expires. */
static void kcontroller_chan_dead(int32_t id, void *arg)
{
	struct kcontroller *kc = arg;
	if (!kc->ctrl)
		return;
	log_info(KC_MOD, "controller: broker %d is unreachable on the control plane: treating it as dead", id);
	kctrl_broker_dead(kc->ctrl, id);
	kcontroller_run(kc);
	for (int32_t i = 0; i < kc->n_grace; i++)
		if (kc->grace[i].id == id) { /* its grace ends: it leaves the live set now */
			kc->grace[i].until_ms = 0;
			event_active(kc->grace_timer, EV_TIMEOUT, 0);
		}
}

static void kcontroller_chan_alive(int32_t id, void *arg)
{
	struct kcontroller *kc = arg;
	if (!kc->ctrl)
		return;
	log_info(KC_MOD, "controller: broker %d answers on the control plane again", id);
	kctrl_broker_back(kc->ctrl, id);
	kcontroller_run(kc);
}

/*
 * The registration grace. A broker restarted after kill -9 serves its control plane at once but
 * can register only once the killed process's session has expired (its old /brokers/ids/<id>
 * lives until then, up to zookeeper.session.timeout.ms); when that old registration goes, the
 * new process registers within a second. Counting the broker offline in that second moved every
 * leadership it had taken meanwhile (an election for nothing, seen in the failover bench's slow
 * rounds). So a broker whose registration goes while its control-plane connection answers
 * heartbeats (the channel counts it alive: a live process) stays in the live set for
 * KC_REG_GRACE_MS; registered again by then, nothing happened; else it leaves the live set when
 * the grace ends. A process that really died stops answering and the channel reports it dead
 * (which ends its grace at once); one whose session expired while it runs (cut off from the
 * coordinator only) is counted offline KC_REG_GRACE_MS later than Kafka would.
 */
#define KC_REG_GRACE_MS 3000

static bool kcontroller_graced(const struct kcontroller *kc, int32_t id, int64_t now)
{
	for (int32_t i = 0; i < kc->n_grace; i++)
		if (kc->grace[i].id == id)
			return now < kc->grace[i].until_ms && kc->ctl && kctl_ctrl_alive(kc->ctl, id);
	return false;
}

static void kcontroller_grace_drop(struct kcontroller *kc, int32_t id)
{
	for (int32_t i = 0; i < kc->n_grace; i++)
		if (kc->grace[i].id == id) {
			kc->grace[i] = kc->grace[--kc->n_grace];
			return;
		}
}

static bool kcontroller_registered(const struct kcontroller *kc, int32_t id)
{
	int32_t nn;
	const struct kb_node *nodes = kc->host.nodes(kc->arg, &nn);
	for (int32_t i = 0; i < nn; i++)
		if (nodes[i].id == id)
			return true;
	return false;
}

/* A grace ended (or the timer's next check): those over leave the channel and the live set. */
static void kcontroller_grace_tick(evutil_socket_t fd, short what, void *arg)
{
	struct kcontroller *kc = arg;
	(void)fd;
	(void)what;
	if (!kc->ctrl || kc_stopping(kc))
		return;
	int64_t now = kc_now_ms(), next = 0;
	for (int32_t i = 0; i < kc->n_grace;) {
		int32_t id = kc->grace[i].id;
		if (!kcontroller_graced(kc, id, now)) {
			log_info(KC_MOD, "controller: broker %d did not register again within its grace: offline", id);
			kcontroller_grace_drop(kc, id);
			if (kc->ctl && !kcontroller_registered(kc, id))
				kctl_ctrl_remove_broker(kc->ctl, id);
			continue;
		}
		if (!next || kc->grace[i].until_ms < next)
			next = kc->grace[i].until_ms;
		i++;
	}
	if (next) {
		struct timeval tv = { (time_t)((next - now) / 1000), (suseconds_t)(((next - now) % 1000) * 1000) };
		event_add(kc->grace_timer, &tv);
	}
	kcontroller_brokers(kc);
}

static void kcontroller_grace_start(struct kcontroller *kc, int32_t id)
{
	if (kc->n_grace >= KC_GRACE_MAX)
		return;
	if (!kc->grace_timer && !(kc->grace_timer = evtimer_new(kc->base, kcontroller_grace_tick, kc)))
		return;
	kcontroller_grace_drop(kc, id);
	kc->grace[kc->n_grace].id = id;
	kc->grace[kc->n_grace].until_ms = kc_now_ms() + KC_REG_GRACE_MS;
	kc->n_grace++;
	log_info(KC_MOD, "controller: broker %d's registration is gone but it answers on the control plane: "
		 "live for %d ms more, waiting for it to register again", id, KC_REG_GRACE_MS);
	struct timeval tv = { KC_REG_GRACE_MS / 1000, (KC_REG_GRACE_MS % 1000) * 1000 };
	event_add(kc->grace_timer, &tv);
}

/* Keeps the channel's brokers those registered: new ones added, gone ones removed (after their
 * registration grace, when they answer on the control plane). */
void kcontroller_nodes(struct kcontroller *kc, const struct kb_node *nodes, int32_t n)
{
	if (!kc || !kc->ctl)
		return;
	int32_t nold;
	const struct kb_node *old = kc->host.nodes(kc->arg, &nold);
	for (int32_t i = 0; i < nold; i++) {
		int32_t id = old[i].id;
		bool still = false;
		for (int32_t k = 0; k < n && !still; k++)
			still = nodes[k].id == id;
		if (still)
			continue;
		if (kctl_ctrl_alive(kc->ctl, id) && kc->n_grace < KC_GRACE_MAX)
			kcontroller_grace_start(kc, id);
		else
			kctl_ctrl_remove_broker(kc->ctl, id);
	}
	for (int32_t k = 0; k < n; k++) {
		kcontroller_grace_drop(kc, nodes[k].id); /* registered (again) */
		if (nodes[k].control_port > 0)
			kctl_ctrl_add_broker(kc->ctl, nodes[k].id, nodes[k].host, nodes[k].control_port, nodes[k].epoch);
	}
}

void kcontroller_brokers(struct kcontroller *kc)
{
	if (!kc || !kc->ctrl)
		return;
	int32_t nn;
	const struct kb_node *nodes = kc->host.nodes(kc->arg, &nn);
	int32_t *ids = calloc((size_t)nn + (size_t)kc->n_grace + 1, sizeof(*ids));
	if (!ids)
		return;
	size_t n = 0;
	int64_t now = kc_now_ms();
	for (int32_t i = 0; i < nn; i++)
		ids[n++] = nodes[i].id;
	for (int32_t i = 0; i < kc->n_grace; i++)
		if (kcontroller_graced(kc, kc->grace[i].id, now) && !kcontroller_registered(kc, kc->grace[i].id))
			ids[n++] = kc->grace[i].id;
	kctrl_brokers(kc->ctrl, ids, n);
	free(ids);
	kcontroller_run(kc);
}

/* Hands kctrl a topic's partitions as the coordinator holds them (assignment and state). */
void kcontroller_topic(struct kcontroller *kc, const char *name, const struct kb_part *parts, int32_t nparts,
		       int unclean)
{
	if (!kc || !kc->ctrl)
		return;
	for (int32_t i = 0; i < nparts; i++) {
		const struct kb_part *p = &parts[i];
		struct kctrl_lisr st;
		memset(&st, 0, sizeof(st));
		if (p->state_version >= 0) {
			st.leader = p->leader;
			st.leader_epoch = p->leader_epoch;
			st.controller_epoch = p->ctrl_epoch;
			st.zk_version = p->state_version;
			for (int32_t k = 0; k < p->nisr && st.n_isr < KCTRL_MAX_REPLICAS; k++)
				st.isr[st.n_isr++] = p->isr[k];
		}
		if (p->nrep > 0 && kctrl_partition(kc->ctrl, name, p->id, p->replicas, (size_t)p->nrep,
						   p->state_version >= 0 ? &st : NULL, unclean))
			log_warn(KC_MOD, "controller: the assignment of %s-%d is not one it can manage", name, p->id);
	}
	kcontroller_run(kc);
}

void kcontroller_topic_gone(struct kcontroller *kc, const char *topic)
{
	if (kc && kc->ctrl)
		kctrl_topic_gone(kc->ctrl, topic);
}

/* auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds the controller
 * gives leadership back to preferred replicas of brokers whose imbalance is over
 * leader.imbalance.per.broker.percentage (kctrl_rebalance). */
static void kcontroller_rebalance(evutil_socket_t fd, short what, void *arg)
{
	struct kcontroller *kc = arg;
	(void)fd;
	(void)what;
	if (!kc->ctrl || kc_stopping(kc))
		return;
	size_t n = kctrl_rebalance(kc->ctrl, kc->conf.imbalance_pct);
	if (n)
		log_info(KC_MOD, "controller: %zu preferred-replica election(s) to rebalance leadership", n);
	kcontroller_run(kc);
}

/* ---- the term ---- */

/* This broker stops being the controller: its term's decisions in flight are dropped. */
void kcontroller_resign(struct kcontroller *kc, const char *why)
{
	if (!kc)
		return;
	if (kc->active)
		log_info(KC_MOD, "no longer the controller: %s", why);
	kc->active = false;
	kctrl_free(kc->ctrl);
	kc->ctrl = NULL;
	kctl_ctrl_free(kc->ctl);
	kc->ctl = NULL;
	if (kc->rebalance)
		event_free(kc->rebalance);
	kc->rebalance = NULL;
	if (kc->grace_timer)
		event_free(kc->grace_timer);
	kc->grace_timer = NULL;
	kc->n_grace = 0;
}

/* ---- topic deletion (/admin/delete_topics) and ISR change notifications ---- */

/* Recursive delete of path and everything under it, children first. */
struct kcontroller_rdel {
	struct kcontroller *kc;
	char path[1024];
	struct kcontroller_rdel *parent;
	int32_t pending;
	void (*done)(struct kcontroller *kc, void *arg);
	void *arg;
};

static void kcontroller_rdel_start(struct kcontroller *kc, const char *full, struct kcontroller_rdel *parent,
			  void (*done)(struct kcontroller *kc, void *arg), void *arg);
static void kcontroller_rdel_self(struct kcontroller_rdel *d);

static void kcontroller_rdel_finish(struct kcontroller_rdel *d)
{
	struct kcontroller_rdel *parent = d->parent;
	if (!parent && d->done)
		d->done(d->kc, d->arg);
	free(d);
	if (parent && --parent->pending == 0) {
		kcontroller_rdel_self(parent); /* all children gone: delete the parent itself */
	}
}

static void kcontroller_rdel_deleted(int rc, const void *data)
{
	struct kcontroller_rdel *d = (struct kcontroller_rdel *)(uintptr_t)data;
	if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING)
		log_warn(KC_MOD, "deleting %s: %s", d->path, zerror(rc));
	kcontroller_rdel_finish(d);
}

static void kcontroller_rdel_self(struct kcontroller_rdel *d)
{
	if (kc_stopping(d->kc) || zoo_adelete(kb_zk_handle(d->kc->zk), d->path, -1, kcontroller_rdel_deleted, d) != ZOK)
		kcontroller_rdel_finish(d);
	kb_zk_pump(d->kc->zk);
}

static void kcontroller_rdel_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kcontroller_rdel *d = (struct kcontroller_rdel *)(uintptr_t)data;
	if (rc != ZOK || kc_stopping(d->kc)) {
		kcontroller_rdel_finish(d);
		return;
	}
	if (sv->count == 0) {
		kcontroller_rdel_self(d);
		return;
	}
	d->pending = sv->count;
	for (int32_t i = 0; i < sv->count; i++) {
		char child[2048];
		int n = snprintf(child, sizeof(child), "%s/%s", d->path, sv->data[i]);
		if (n < 0 || (size_t)n >= sizeof(d->path)) {
			d->pending--;
			continue;
		}
		kcontroller_rdel_start(d->kc, child, d, NULL, NULL);
	}
}

static void kcontroller_rdel_start(struct kcontroller *kc, const char *full, struct kcontroller_rdel *parent,
			  void (*done)(struct kcontroller *kc, void *arg), void *arg)
{
	struct kcontroller_rdel *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->kc = kc;
	snprintf(d->path, sizeof(d->path), "%s", full);
	d->parent = parent;
	d->done = done;
	d->arg = arg;
	if (kc_stopping(kc) || zoo_aget_children(kb_zk_handle(kc->zk), d->path, 0, kcontroller_rdel_children, d) != ZOK)
		kcontroller_rdel_finish(d);
	kb_zk_pump(kc->zk);
}

static void kcontroller_delete_step(struct kcontroller *kc, void *arg)
{
	char *name = arg; /* "<step>\0<topic>": 0 topic, 1 config, 2 the admin request */
	char rel[600], full[1024];
	const char *t = name + 2;
	if (!kc_stopping(kc)) {
		if (name[0] == '0') {
			name[0] = '1';
			snprintf(rel, sizeof(rel), "/config/topics/%s", t);
			kcontroller_rdel_start(kc, ZP(rel, full), NULL, kcontroller_delete_step, name);
			return;
		}
		if (name[0] == '1') {
			name[0] = '2';
			snprintf(rel, sizeof(rel), "/admin/delete_topics/%s", t);
			kcontroller_rdel_start(kc, ZP(rel, full), NULL, kcontroller_delete_step, name);
			log_info(KC_MOD, "controller: deleted topic %s", t);
			return;
		}
	}
	free(name);
}

static void kcontroller_deletes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	if (rc != ZOK || kc_stopping(kc) || !kc->active)
		return;
	for (int32_t i = 0; i < sv->count; i++) {
		char rel[600], full[1024];
		size_t n = strlen(sv->data[i]);
		char *step = malloc(n + 3);
		if (!step)
			continue;
		step[0] = '0';
		step[1] = '\0';
		memcpy(step + 2, sv->data[i], n + 1);
		kc->host.topic_deleting(kc->arg, sv->data[i]);
		log_info(KC_MOD, "controller: deleting topic %s", sv->data[i]);
		snprintf(rel, sizeof(rel), "/brokers/topics/%s", sv->data[i]);
		kcontroller_rdel_start(kc, ZP(rel, full), NULL, kcontroller_delete_step, step);
	}
}

void kcontroller_process_deletes(struct kcontroller *kc)
{
	char full[1024];
	if (!kc || !kc->active)
		return;
	zoo_aget_children(kb_zk_handle(kc->zk), ZP("/admin/delete_topics", full), 1, kcontroller_deletes_children, kc);
	kb_zk_pump(kc->zk);
}

/* Kafka 2.x's controller handles /isr_change_notification/isr_change_* (a leader changed an
 * ISR) by reading those partitions' states and deleting the notifications. Here every broker
 * already watches the state znodes (kctrl reads them through the same watch), so the
 * controller only deletes them, so that they do not pile up. */
static void kcontroller_isr_changes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	if (rc != ZOK || kc_stopping(kc) || !kc->active)
		return;
	for (int32_t i = 0; i < sv->count; i++) {
		char rel[512], full[1024];
		if (strncmp(sv->data[i], "isr_change_", 11) != 0)
			continue;
		snprintf(rel, sizeof(rel), "/isr_change_notification/%s", sv->data[i]);
		zoo_adelete(kb_zk_handle(kc->zk), ZP(rel, full), -1, kb_zk_ignore_void, NULL);
	}
	kb_zk_pump(kc->zk);
}

void kcontroller_process_isr_changes(struct kcontroller *kc)
{
	char full[1024];
	if (!kc || !kc->active)
		return;
	zoo_aget_children(kb_zk_handle(kc->zk), ZP("/isr_change_notification", full), 1, kcontroller_isr_changes_children, kc);
	kb_zk_pump(kc->zk);
}

/* ---- the election: /controller, /controller_epoch ---- */

static void kcontroller_become(struct kcontroller *kc)
{
	struct kctrl_opts o = { .controller_epoch = kc->epoch,
				.unclean_default = kc->conf.unclean_default,
				.log = kcontroller_log,
				.log_arg = kc };
	kctrl_free(kc->ctrl);
	kc->ctrl = kctrl_new(&o);
	kctl_ctrl_free(kc->ctl);
	kc->ctl = NULL;
	static const struct kctl_ctrl_cbs ctl_cbs = { kcontroller_chan_dead, kcontroller_chan_alive };
	char eb[256];
	if (kc->ctrl && kctl_ctrl_new(kc->base, kc->conf.broker_id, kc->epoch, NULL, &ctl_cbs, kc, &kc->ctl, eb,
				     sizeof(eb)))
		log_warn(KC_MOD, "controller: no control-plane channel (%s); brokers learn from the coordinator only", eb);
	if (kc->ctl && kc->conf.tls)
		kctl_ctrl_set_tls(kc->ctl, kc->conf.tls, kc->conf.tls_check_host); /* mutual TLS, as replication */
	if (kc->ctl) {
		int32_t nn;
		const struct kb_node *nodes = kc->host.nodes(kc->arg, &nn);
		kcontroller_nodes(kc, nodes, nn);
	}
	if (!kc->ctrl) {
		log_error(KC_MOD, "out of memory taking the controller role; giving it up");
		char full[1024];
		zoo_adelete(kb_zk_handle(kc->zk), ZP("/controller", full), -1, kb_zk_ignore_void, NULL);
		kb_zk_pump(kc->zk);
		return;
	}
	kc->active = true;
	kc->id = kc->conf.broker_id;
	log_info(KC_MOD, "this broker (%d) is now the controller, epoch %d", kc->conf.broker_id, kc->epoch);
	if (kc->conf.auto_rebalance && !kc->rebalance) {
		int64_t s = kc->conf.rebalance_interval_s;
		struct timeval tv = { (time_t)s, 0 };
		kc->rebalance = event_new(kc->base, -1, EV_PERSIST, kcontroller_rebalance, kc);
		if (kc->rebalance)
			event_add(kc->rebalance, &tv);
	}
	kcontroller_brokers(kc);
	kc->host.topics(kc->arg);
	kcontroller_process_deletes(kc);
	kcontroller_process_isr_changes(kc);
	kc->host.refresh_topics(kc->arg);
}

static void kcontroller_epoch_written(int rc, const void *data, int version)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	if (kc_stopping(kc))
		return;
	if (rc != ZOK) {
		log_warn(KC_MOD, "cannot write /controller_epoch (%s); giving up the controller role", zerror(rc));
		char full[1024];
		zoo_adelete(kb_zk_handle(kc->zk), ZP("/controller", full), -1, kb_zk_ignore_void, NULL);
		kb_zk_pump(kc->zk);
		return;
	}
	kc->epoch_version = version;
	kcontroller_become(kc);
}

static void kcontroller_epoch_created(int rc, const char *v, const void *data)
{
	(void)v;
	kcontroller_epoch_written(rc, data, 0);
}

static void kcontroller_epoch_set(int rc, const struct Stat *st, const void *data)
{
	kcontroller_epoch_written(rc, data, st ? st->version : 0);
}

static void kcontroller_epoch_read(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	char *js = NULL, eb[160], full[1024];
	int32_t epoch = 0;
	if (kc_stopping(kc))
		return;
	if (rc == ZOK && kznode_epoch_decode(v, (size_t)(vl > 0 ? vl : 0), &epoch, eb, sizeof(eb)))
		log_warn(KC_MOD, "%s; counting from 0", eb);
	if ((rc != ZOK && rc != ZNONODE) || kznode_epoch_encode(epoch + 1, &js)) {
		kcontroller_epoch_written(rc == ZOK || rc == ZNONODE ? ZSYSTEMERROR : rc, data, 0);
		return;
	}
	zhandle_t *zh = kb_zk_handle(kc->zk);
	kc->epoch = epoch + 1;
	if (rc == ZNONODE)
		zoo_acreate(zh, ZP("/controller_epoch", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0,
			    kcontroller_epoch_created, kc);
	else
		zoo_aset(zh, ZP("/controller_epoch", full), js, (int)strlen(js), st->version, kcontroller_epoch_set, kc);
	free(js);
	kb_zk_pump(kc->zk);
}

static void kcontroller_znode_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	if (kc_stopping(kc))
		return;
	if (rc == ZNONODE) {
		kcontroller_elect(kc);
		return;
	}
	if (rc != ZOK)
		return;
	char eb[160];
	int32_t id = -1;
	if (kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)))
		log_warn(KC_MOD, "%s", eb);
	kc->id = id;
	kc->czxid = st ? st->czxid : 0;
	if (id != kc->conf.broker_id && kc->active) {
		log_info(KC_MOD, "broker %d is the controller now", id);
		kcontroller_resign(kc, "another broker holds /controller");
	}
}

static void kcontroller_znode_created(int rc, const char *v, const void *data)
{
	struct kcontroller *kc = (struct kcontroller *)(uintptr_t)data;
	char full[1024];
	(void)v;
	if (kc_stopping(kc))
		return;
	zhandle_t *zh = kb_zk_handle(kc->zk);
	if (rc == ZOK) {
		zoo_aget(zh, ZP("/controller_epoch", full), 0, kcontroller_epoch_read, kc);
		zoo_aexists(zh, ZP("/controller", full), 1, kb_zk_ignore_stat, NULL);
	} else if (rc == ZNODEEXISTS) {
		zoo_aget(zh, ZP("/controller", full), 1, kcontroller_znode_data, kc);
	}
	kb_zk_pump(kc->zk);
}

void kcontroller_elect(struct kcontroller *kc)
{
	char *js = NULL, full[1024];
	if (kznode_controller_encode(kc->conf.broker_id, kc_now_ms(), &js)) {
		log_error(KC_MOD, "out of memory standing for controller");
		return;
	}
	zoo_acreate(kb_zk_handle(kc->zk), ZP("/controller", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE,
		    ZOO_EPHEMERAL, kcontroller_znode_created, kc);
	free(js);
	kb_zk_pump(kc->zk);
}


void kcontroller_watch(struct kcontroller *kc, int type)
{
	if (type == ZOO_DELETED_EVENT) {
		kcontroller_resign(kc, "/controller was deleted; re-electing");
		kc->id = -1;
		kc->czxid = 0;
		kcontroller_elect(kc);
	} else {
		char full[1024];
		zoo_aget(kb_zk_handle(kc->zk), ZP("/controller", full), 1, kcontroller_znode_data, kc);
		kb_zk_pump(kc->zk);
	}
}

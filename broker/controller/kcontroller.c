/*
 * kcontroller — this broker's controller role, in Kafka 2.x's ZooKeeper layout (see
 * kcontroller.h): standing for /controller and bumping /controller_epoch; while it holds the
 * role, handing kctrl (the decisions, no I/O) the brokers and partitions the metadata cache
 * reads, and carrying out kctrl's actions: the conditional writes of the partition state
 * znodes, LeaderAndIsr on the control-plane channel (kctl_chan, whose failure detection is an
 * input to kctrl too), topic deletion (/admin/delete_topics), the clean-up of
 * /isr_change_notification and the periodic preferred-leader rebalance. Every coordinator step
 * is an async call whose heap context the completion frees; an answer that arrives after the
 * term that asked has ended is dropped. Runs on the broker's loop thread. Built into
 * samsa_broker (it drives the broker's session and cache), not the I/O-free controller library.
 */
#include "kcontroller.h"

#include "err.h"
#include "kb_zk.h"
#include "kb_zkmeta.h"
#include "kctl_chan.h"
#include "kctrl.h"
#include "kznode.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KC_MOD = "controller";

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))

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
	struct broker *b;
	struct kctrl *ctrl; /* the controller term that asked; the answer is dropped if it ended */
	char name[KB_TOPIC_MAX + 1];
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
	struct broker *b = (struct broker *)(uintptr_t)data;
	char eb[160], full[1024];
	int32_t id = -1;
	if (!b->stopping && rc == ZOK && st && !b->is_controller &&
	    !kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)) && id == b->cfg->broker_id) {
		zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), st->version, kb_zk_ignore_void, NULL);
		kb_zk_pump(b->zk);
		return;
	}
	kcontroller_znode_data(rc, v, vl, st, data);
}

static void kcontroller_step_down(struct broker *b, const char *why)
{
	char full[1024];
	kcontroller_resign(b, why);
	b->controller_id = -1;
	zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 1, kcontroller_step_down_data, b);
	kb_zk_pump(b->zk);
}

static void kcontroller_state_written(int rc, const void *data)
{
	struct kcontroller_write *c = (struct kcontroller_write *)(uintptr_t)data;
	struct broker *b = c->b;
	if (!b->stopping && b->ctrl == c->ctrl) {
		int check = rc == ZOK ? ZOK : c->res[0].err;
		if (rc != ZOK && check != ZOK && check != ZRUNTIMEINCONSISTENCY && rc != ZCONNECTIONLOSS &&
		    rc != ZOPERATIONTIMEOUT && rc != ZCLOSING) {
			log_warn(KC_MOD, "controller: /controller_epoch moved on (%s) while writing the state of %s-%d: "
				 "another controller was elected; stepping down", zerror(check), c->name, c->part);
			kcontroller_step_down(b, "/controller_epoch moved on: another controller was elected");
			free(c);
			return;
		}
		if (rc != ZOK)
			log_info(KC_MOD, "controller: writing the state of %s-%d: %s; reading it again", c->name, c->part,
				 zerror(rc));
		kctrl_write_result(b->ctrl, c->name, c->part, rc == ZOK, rc == ZOK && !c->create ? c->stat.version : 0);
		kcontroller_run(b);
		if (rc != ZOK)
			kb_zkmeta_refresh_topic(b, c->name); /* kctrl decides again from what it reads */
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
static void kcontroller_send_leader_and_isr(struct broker *b, const struct kctrl_action *a)
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
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == a->state.leader) {
			ep.id = b->nodes[i].id;
			ep.host = b->nodes[i].host;
			ep.port = b->nodes[i].port;
		}
	struct kctl_msg m = {
		.type = KCTL_LEADER_AND_ISR,
		.parts = &part,
		.n_parts = 1,
		.leaders = ep.id >= 0 ? &ep : NULL,
		.n_leaders = ep.id >= 0 ? 1 : 0,
	};
	int rc = kctl_ctrl_send(b->ctl, a->broker, &m, kcontroller_chan_done, NULL);
	if (rc && rc != ERR_CLOSED && rc != ERR_NOTFOUND)
		log_warn(KC_MOD, "controller: LeaderAndIsr of %s-%d to broker %d: %s", a->topic, a->partition, a->broker,
			 err_str(rc));
}

/* Carries out kctrl's actions in order. */
void kcontroller_run(struct broker *b)
{
	size_t n;
	if (!b->ctrl)
		return;
	const struct kctrl_action *a = kctrl_actions(b->ctrl, &n);
	zhandle_t *zh = kb_zk_handle(b->zk);
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == KCTRL_ACT_LEADER_AND_ISR) {
			if (b->ctl)
				kcontroller_send_leader_and_isr(b, &a[i]);
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
			kctrl_write_result(b->ctrl, a[i].topic, a[i].partition, false, -1);
			continue;
		}
		c->b = b;
		c->ctrl = b->ctrl;
		snprintf(c->name, sizeof(c->name), "%s", a[i].topic);
		c->part = a[i].partition;
		c->create = a[i].expect_version < 0;
		snprintf(rel, sizeof(rel), "/brokers/topics/%s/partitions/%d/state", a[i].topic, a[i].partition);
		char efull[1024];
		zoo_check_op_init(&c->ops[0], ZP("/controller_epoch", efull), b->controller_epoch_version);
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
			kctrl_write_result(b->ctrl, a[i].topic, a[i].partition, false, -1);
		}
		free(js);
	}
	kctrl_actions_clear(b->ctrl);
	kb_zk_pump(b->zk);
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
	struct broker *b = arg;
	if (!b->ctrl)
		return;
	log_info(KC_MOD, "controller: broker %d is unreachable on the control plane: treating it as dead", id);
	kctrl_broker_dead(b->ctrl, id);
	kcontroller_run(b);
	for (int32_t i = 0; i < b->n_ctl_grace; i++)
		if (b->ctl_grace[i].id == id) { /* its grace ends: it leaves the live set now */
			b->ctl_grace[i].until_ms = 0;
			event_active(b->ctl_grace_timer, EV_TIMEOUT, 0);
		}
}

static void kcontroller_chan_alive(int32_t id, void *arg)
{
	struct broker *b = arg;
	if (!b->ctrl)
		return;
	log_info(KC_MOD, "controller: broker %d answers on the control plane again", id);
	kctrl_broker_back(b->ctrl, id);
	kcontroller_run(b);
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

static bool kcontroller_graced(const struct broker *b, int32_t id, int64_t now)
{
	for (int32_t i = 0; i < b->n_ctl_grace; i++)
		if (b->ctl_grace[i].id == id)
			return now < b->ctl_grace[i].until_ms && b->ctl && kctl_ctrl_alive(b->ctl, id);
	return false;
}

static void kcontroller_grace_drop(struct broker *b, int32_t id)
{
	for (int32_t i = 0; i < b->n_ctl_grace; i++)
		if (b->ctl_grace[i].id == id) {
			b->ctl_grace[i] = b->ctl_grace[--b->n_ctl_grace];
			return;
		}
}

static bool kcontroller_registered(const struct broker *b, int32_t id)
{
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == id)
			return true;
	return false;
}

/* A grace ended (or the timer's next check): those over leave the channel and the live set. */
static void kcontroller_grace_tick(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	if (!b->ctrl || b->stopping)
		return;
	int64_t now = kb_now_ms(), next = 0;
	for (int32_t i = 0; i < b->n_ctl_grace;) {
		int32_t id = b->ctl_grace[i].id;
		if (!kcontroller_graced(b, id, now)) {
			log_info(KC_MOD, "controller: broker %d did not register again within its grace: offline", id);
			kcontroller_grace_drop(b, id);
			if (b->ctl && !kcontroller_registered(b, id))
				kctl_ctrl_remove_broker(b->ctl, id);
			continue;
		}
		if (!next || b->ctl_grace[i].until_ms < next)
			next = b->ctl_grace[i].until_ms;
		i++;
	}
	if (next) {
		struct timeval tv = { (time_t)((next - now) / 1000), (suseconds_t)(((next - now) % 1000) * 1000) };
		event_add(b->ctl_grace_timer, &tv);
	}
	kcontroller_brokers(b);
}

static void kcontroller_grace_start(struct broker *b, int32_t id)
{
	if (b->n_ctl_grace >= KB_CTL_GRACE_MAX)
		return;
	if (!b->ctl_grace_timer && !(b->ctl_grace_timer = evtimer_new(b->base, kcontroller_grace_tick, b)))
		return;
	kcontroller_grace_drop(b, id);
	b->ctl_grace[b->n_ctl_grace].id = id;
	b->ctl_grace[b->n_ctl_grace].until_ms = kb_now_ms() + KC_REG_GRACE_MS;
	b->n_ctl_grace++;
	log_info(KC_MOD, "controller: broker %d's registration is gone but it answers on the control plane: "
		 "live for %d ms more, waiting for it to register again", id, KC_REG_GRACE_MS);
	struct timeval tv = { KC_REG_GRACE_MS / 1000, (KC_REG_GRACE_MS % 1000) * 1000 };
	event_add(b->ctl_grace_timer, &tv);
}

/* Keeps the channel's brokers those registered: new ones added, gone ones removed (after their
 * registration grace, when they answer on the control plane). */
void kcontroller_nodes(struct broker *b, const struct kb_node *nodes, int32_t n)
{
	if (!b->ctl)
		return;
	for (int32_t i = 0; i < b->nnodes; i++) {
		int32_t id = b->nodes[i].id;
		bool still = false;
		for (int32_t k = 0; k < n && !still; k++)
			still = nodes[k].id == id;
		if (still)
			continue;
		if (kctl_ctrl_alive(b->ctl, id) && b->n_ctl_grace < KB_CTL_GRACE_MAX)
			kcontroller_grace_start(b, id);
		else
			kctl_ctrl_remove_broker(b->ctl, id);
	}
	for (int32_t k = 0; k < n; k++) {
		kcontroller_grace_drop(b, nodes[k].id); /* registered (again) */
		if (nodes[k].control_port > 0)
			kctl_ctrl_add_broker(b->ctl, nodes[k].id, nodes[k].host, nodes[k].control_port, nodes[k].epoch);
	}
}

void kcontroller_brokers(struct broker *b)
{
	if (!b->ctrl)
		return;
	int32_t *ids = calloc((size_t)b->nnodes + (size_t)b->n_ctl_grace + 1, sizeof(*ids));
	if (!ids)
		return;
	size_t n = 0;
	int64_t now = kb_now_ms();
	for (int32_t i = 0; i < b->nnodes; i++)
		ids[n++] = b->nodes[i].id;
	for (int32_t i = 0; i < b->n_ctl_grace; i++)
		if (kcontroller_graced(b, b->ctl_grace[i].id, now) && !kcontroller_registered(b, b->ctl_grace[i].id))
			ids[n++] = b->ctl_grace[i].id;
	kctrl_brokers(b->ctrl, ids, n);
	free(ids);
	kcontroller_run(b);
}

/* unclean.leader.election.enable of a topic: 1, 0, or -1 (the broker's default) */
static int kcontroller_topic_unclean(const struct kb_topic *t)
{
	for (int32_t i = 0; i < t->nconf; i++)
		if (!strcmp(t->conf[i].name, "unclean.leader.election.enable"))
			return !strcmp(t->conf[i].value, "true");
	return -1;
}

/* Hands kctrl a topic's partitions as the coordinator holds them (assignment and state). */
void kcontroller_topic(struct broker *b, struct kb_topic *t)
{
	if (!b->ctrl)
		return;
	int unclean = kcontroller_topic_unclean(t);
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kb_part *p = &t->parts[i];
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
		if (p->nrep > 0 && kctrl_partition(b->ctrl, t->name, p->id, p->replicas, (size_t)p->nrep,
						   p->state_version >= 0 ? &st : NULL, unclean))
			log_warn(KC_MOD, "controller: the assignment of %s-%d is not one it can manage", t->name, p->id);
	}
	kcontroller_run(b);
}

void kcontroller_topic_gone(struct broker *b, const char *topic)
{
	if (b->ctrl)
		kctrl_topic_gone(b->ctrl, topic);
}

/* auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds the controller
 * gives leadership back to preferred replicas of brokers whose imbalance is over
 * leader.imbalance.per.broker.percentage (kctrl_rebalance). */
static void kcontroller_rebalance(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	if (!b->ctrl || b->stopping)
		return;
	size_t n = kctrl_rebalance(b->ctrl, b->cfg->leader_imbalance_per_broker_percentage);
	if (n)
		log_info(KC_MOD, "controller: %zu preferred-replica election(s) to rebalance leadership", n);
	kcontroller_run(b);
}

/* ---- the term ---- */

/* This broker stops being the controller: its term's decisions in flight are dropped. */
void kcontroller_resign(struct broker *b, const char *why)
{
	if (b->is_controller)
		log_info(KC_MOD, "no longer the controller: %s", why);
	b->is_controller = false;
	kctrl_free(b->ctrl);
	b->ctrl = NULL;
	kctl_ctrl_free(b->ctl);
	b->ctl = NULL;
	if (b->rebalance)
		event_free(b->rebalance);
	b->rebalance = NULL;
	if (b->ctl_grace_timer)
		event_free(b->ctl_grace_timer);
	b->ctl_grace_timer = NULL;
	b->n_ctl_grace = 0;
}

/* ---- topic deletion (/admin/delete_topics) and ISR change notifications ---- */

/* Recursive delete of path and everything under it, children first. */
struct kcontroller_rdel {
	struct broker *b;
	char path[1024];
	struct kcontroller_rdel *parent;
	int32_t pending;
	void (*done)(struct broker *b, void *arg);
	void *arg;
};

static void kcontroller_rdel_start(struct broker *b, const char *full, struct kcontroller_rdel *parent,
			  void (*done)(struct broker *b, void *arg), void *arg);
static void kcontroller_rdel_self(struct kcontroller_rdel *d);

static void kcontroller_rdel_finish(struct kcontroller_rdel *d)
{
	struct kcontroller_rdel *parent = d->parent;
	if (!parent && d->done)
		d->done(d->b, d->arg);
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
	if (d->b->stopping || zoo_adelete(kb_zk_handle(d->b->zk), d->path, -1, kcontroller_rdel_deleted, d) != ZOK)
		kcontroller_rdel_finish(d);
	kb_zk_pump(d->b->zk);
}

static void kcontroller_rdel_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kcontroller_rdel *d = (struct kcontroller_rdel *)(uintptr_t)data;
	if (rc != ZOK || d->b->stopping) {
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
		kcontroller_rdel_start(d->b, child, d, NULL, NULL);
	}
}

static void kcontroller_rdel_start(struct broker *b, const char *full, struct kcontroller_rdel *parent,
			  void (*done)(struct broker *b, void *arg), void *arg)
{
	struct kcontroller_rdel *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->b = b;
	snprintf(d->path, sizeof(d->path), "%s", full);
	d->parent = parent;
	d->done = done;
	d->arg = arg;
	if (b->stopping || zoo_aget_children(kb_zk_handle(b->zk), d->path, 0, kcontroller_rdel_children, d) != ZOK)
		kcontroller_rdel_finish(d);
	kb_zk_pump(b->zk);
}

static void kcontroller_delete_step(struct broker *b, void *arg)
{
	char *name = arg; /* "<step>\0<topic>": 0 topic, 1 config, 2 the admin request */
	char rel[600], full[1024];
	const char *t = name + 2;
	if (!b->stopping) {
		if (name[0] == '0') {
			name[0] = '1';
			snprintf(rel, sizeof(rel), "/config/topics/%s", t);
			kcontroller_rdel_start(b, ZP(rel, full), NULL, kcontroller_delete_step, name);
			return;
		}
		if (name[0] == '1') {
			name[0] = '2';
			snprintf(rel, sizeof(rel), "/admin/delete_topics/%s", t);
			kcontroller_rdel_start(b, ZP(rel, full), NULL, kcontroller_delete_step, name);
			log_info(KC_MOD, "controller: deleted topic %s", t);
			return;
		}
	}
	free(name);
}

static void kcontroller_deletes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping || !b->is_controller)
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
		struct kb_topic *t = kb_topic_find(b, sv->data[i]);
		if (t)
			t->deleting = true;
		log_info(KC_MOD, "controller: deleting topic %s", sv->data[i]);
		snprintf(rel, sizeof(rel), "/brokers/topics/%s", sv->data[i]);
		kcontroller_rdel_start(b, ZP(rel, full), NULL, kcontroller_delete_step, step);
	}
}

void kcontroller_process_deletes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/admin/delete_topics", full), 1, kcontroller_deletes_children, b);
	kb_zk_pump(b->zk);
}

/* Kafka 2.x's controller handles /isr_change_notification/isr_change_* (a leader changed an
 * ISR) by reading those partitions' states and deleting the notifications. Here every broker
 * already watches the state znodes (kctrl reads them through the same watch), so the
 * controller only deletes them, so that they do not pile up. */
static void kcontroller_isr_changes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (rc != ZOK || b->stopping || !b->is_controller)
		return;
	for (int32_t i = 0; i < sv->count; i++) {
		char rel[512], full[1024];
		if (strncmp(sv->data[i], "isr_change_", 11) != 0)
			continue;
		snprintf(rel, sizeof(rel), "/isr_change_notification/%s", sv->data[i]);
		zoo_adelete(kb_zk_handle(b->zk), ZP(rel, full), -1, kb_zk_ignore_void, NULL);
	}
	kb_zk_pump(b->zk);
}

void kcontroller_process_isr_changes(struct broker *b)
{
	char full[1024];
	zoo_aget_children(kb_zk_handle(b->zk), ZP("/isr_change_notification", full), 1, kcontroller_isr_changes_children, b);
	kb_zk_pump(b->zk);
}

/* ---- the election: /controller, /controller_epoch ---- */

static void kcontroller_become(struct broker *b)
{
	struct kctrl_opts o = { .controller_epoch = b->controller_epoch,
				.unclean_default = b->cfg->unclean_leader_election_enable,
				.log = kcontroller_log,
				.log_arg = b };
	kctrl_free(b->ctrl);
	b->ctrl = kctrl_new(&o);
	kctl_ctrl_free(b->ctl);
	b->ctl = NULL;
	static const struct kctl_ctrl_cbs ctl_cbs = { kcontroller_chan_dead, kcontroller_chan_alive };
	char eb[256];
	if (b->ctrl && kctl_ctrl_new(b->base, b->cfg->broker_id, b->controller_epoch, NULL, &ctl_cbs, b, &b->ctl, eb,
				     sizeof(eb)))
		log_warn(KC_MOD, "controller: no control-plane channel (%s); brokers learn from the coordinator only", eb);
	if (b->ctl && b->ib_tls)
		kctl_ctrl_set_tls(b->ctl, b->ib_tls, b->ib_tls_check_host); /* mutual TLS, as replication */
	if (b->ctl)
		kcontroller_nodes(b, b->nodes, b->nnodes);
	if (!b->ctrl) {
		log_error(KC_MOD, "out of memory taking the controller role; giving it up");
		char full[1024];
		zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), -1, kb_zk_ignore_void, NULL);
		kb_zk_pump(b->zk);
		return;
	}
	b->is_controller = true;
	b->controller_id = b->cfg->broker_id;
	log_info(KC_MOD, "this broker (%d) is now the controller, epoch %d", b->cfg->broker_id, b->controller_epoch);
	if (b->cfg->auto_leader_rebalance_enable && !b->rebalance) {
		int64_t s = b->cfg->leader_imbalance_check_interval_seconds;
		struct timeval tv = { (time_t)s, 0 };
		b->rebalance = event_new(b->base, -1, EV_PERSIST, kcontroller_rebalance, b);
		if (b->rebalance)
			event_add(b->rebalance, &tv);
	}
	kcontroller_brokers(b);
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		kcontroller_topic(b, t);
	kcontroller_process_deletes(b);
	kcontroller_process_isr_changes(b);
	kb_zkmeta_refresh_topics(b);
}

static void kcontroller_epoch_written(int rc, const void *data, int version)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	if (b->stopping)
		return;
	if (rc != ZOK) {
		log_warn(KC_MOD, "cannot write /controller_epoch (%s); giving up the controller role", zerror(rc));
		char full[1024];
		zoo_adelete(kb_zk_handle(b->zk), ZP("/controller", full), -1, kb_zk_ignore_void, NULL);
		kb_zk_pump(b->zk);
		return;
	}
	b->controller_epoch_version = version;
	kcontroller_become(b);
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
	struct broker *b = (struct broker *)(uintptr_t)data;
	char *js = NULL, eb[160], full[1024];
	int32_t epoch = 0;
	if (b->stopping)
		return;
	if (rc == ZOK && kznode_epoch_decode(v, (size_t)(vl > 0 ? vl : 0), &epoch, eb, sizeof(eb)))
		log_warn(KC_MOD, "%s; counting from 0", eb);
	if ((rc != ZOK && rc != ZNONODE) || kznode_epoch_encode(epoch + 1, &js)) {
		kcontroller_epoch_written(rc == ZOK || rc == ZNONODE ? ZSYSTEMERROR : rc, data, 0);
		return;
	}
	zhandle_t *zh = kb_zk_handle(b->zk);
	b->controller_epoch = epoch + 1;
	if (rc == ZNONODE)
		zoo_acreate(zh, ZP("/controller_epoch", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0,
			    kcontroller_epoch_created, b);
	else
		zoo_aset(zh, ZP("/controller_epoch", full), js, (int)strlen(js), st->version, kcontroller_epoch_set, b);
	free(js);
	kb_zk_pump(b->zk);
}

static void kcontroller_znode_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	(void)st;
	if (b->stopping)
		return;
	if (rc == ZNONODE) {
		kcontroller_elect(b);
		return;
	}
	if (rc != ZOK)
		return;
	char eb[160];
	int32_t id = -1;
	if (kznode_controller_decode(v, (size_t)(vl > 0 ? vl : 0), &id, eb, sizeof(eb)))
		log_warn(KC_MOD, "%s", eb);
	b->controller_id = id;
	if (id != b->cfg->broker_id && b->is_controller) {
		log_info(KC_MOD, "broker %d is the controller now", id);
		kcontroller_resign(b, "another broker holds /controller");
	}
}

static void kcontroller_znode_created(int rc, const char *v, const void *data)
{
	struct broker *b = (struct broker *)(uintptr_t)data;
	char full[1024];
	(void)v;
	if (b->stopping)
		return;
	zhandle_t *zh = kb_zk_handle(b->zk);
	if (rc == ZOK) {
		zoo_aget(zh, ZP("/controller_epoch", full), 0, kcontroller_epoch_read, b);
		zoo_aexists(zh, ZP("/controller", full), 1, kb_zk_ignore_stat, NULL);
	} else if (rc == ZNODEEXISTS) {
		zoo_aget(zh, ZP("/controller", full), 1, kcontroller_znode_data, b);
	}
	kb_zk_pump(b->zk);
}

void kcontroller_elect(struct broker *b)
{
	char *js = NULL, full[1024];
	if (kznode_controller_encode(b->cfg->broker_id, kb_now_ms(), &js)) {
		log_error(KC_MOD, "out of memory standing for controller");
		return;
	}
	zoo_acreate(kb_zk_handle(b->zk), ZP("/controller", full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE,
		    ZOO_EPHEMERAL, kcontroller_znode_created, b);
	free(js);
	kb_zk_pump(b->zk);
}


void kcontroller_watch(struct broker *b, int type)
{
	if (type == ZOO_DELETED_EVENT) {
		kcontroller_resign(b, "/controller was deleted; re-electing");
		b->controller_id = -1;
		kcontroller_elect(b);
	} else {
		char full[1024];
		zoo_aget(kb_zk_handle(b->zk), ZP("/controller", full), 1, kcontroller_znode_data, b);
		kb_zk_pump(b->zk);
	}
}

/*
 * samsa-broker — the broker daemon's main: loads server.properties, opens the log
 * directory, joins the cluster through the coordinator (kb_cluster), and serves the Kafka
 * protocol on its listener (broker/api). One libevent loop owns everything.
 *
 *   samsa-broker <server.properties> [--override key=value]...
 */
#include "err.h"
#include "kapi_group.h"
#include "kapi_txn.h"
#include "kapi_produce.h"
#include "kconn.h"
#include "klisten.h"
#include "kapi_fetch.h"
#include "kwait.h"
#include "fsyncq.h"
#include "kclean.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kb_shutdown.h"
#include "kfetcher.h"
#include "kb_acl.h"
#include "kb_pid.h"
#include "kb_dynconf.h"
#include "kb_groups.h"
#include "kb_txns.h"
#include "kb_metrics.h"
#include "kb_page.h"
#include "kb_config.h"
#include "log.h"
#include "tls.h"
#include "net.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const BROKER_MOD = "samsa-broker";

static void broker_usage(FILE *f)
{
	fprintf(f, "usage: samsa-broker <server.properties> [--override key=value]...\n");
}

static void broker_shutdown_done(struct broker *b, bool clean)
{
	(void)clean;
	event_base_loopexit(b->base, NULL);
}

/* SIGTERM / SIGINT: the first starts a controlled shutdown (kb_shutdown) when this broker is
 * registered; a second one, or one without it, stops at once. */
static void broker_on_signal(int signo, void *arg)
{
	struct broker *b = arg;
	if (!b->shut && b->cfg->controlled_shutdown_enable && b->registered) {
		b->shut = kb_shutdown_start(b, broker_shutdown_done);
		if (b->shut) {
			log_info(BROKER_MOD, "signal %d: controlled shutdown (signal again to stop at once)", signo);
			return;
		}
	}
	log_info(BROKER_MOD, "signal %d: shutting down", signo);
	event_base_loopexit(b->base, NULL);
}

static void broker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kwait_retry_all(arg, false);
}

static void broker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	int64_t now = kb_now_ms();
	krm_tick(b->rm, now); /* acks=all deadlines, ISR shrink */
	kb_groups_tick(b, now); /* sessions, rebalance deadlines, offsets retention */
	kb_txns_tick(b, now);	/* transaction timeouts, marker rounds */
	kwait_retry_all(b, true);
}

/* replica.high.watermark.checkpoint.interval.ms */
static void broker_checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	char eb[512];
	(void)fd;
	(void)what;
	if (krm_checkpoint(b->rm, eb, sizeof(eb)))
		log_error(BROKER_MOD, "checkpoint: %s", eb);
}

/* The replica manager's hooks into the rest of the broker. */
static void broker_isr_write(void *arg, const char *topic, int32_t part, const struct krepl_state *st,
			     int32_t controller_epoch)
{
	kb_cluster_isr_write(arg, topic, part, st, controller_epoch);
}

/* A partition changed inside the replica manager: its waiting fetches retry once the manager
 * has returned (the deferred wake event). */
static void broker_rm_wake(void *arg, const char *topic, int32_t part)
{
	kapi_fetch_touch(arg, topic, part);
	kb_wake(arg);
}

/* A follower: fetch from its leader at the address the leader registered in /brokers/ids. A
 * leader not registered (yet) is reached when the registrations are read again (krm_refollow). */
static void broker_follow(void *arg, const char *topic, int32_t part, int32_t leader, struct krepl *k)
{
	struct broker *b = arg;
	if (!b->fetcher)
		return;
	for (int32_t i = 0; i < b->nnodes; i++) {
		if (b->nodes[i].id != leader)
			continue;
		if (kfetcher_add(b->fetcher, topic, part, leader, b->nodes[i].host, b->nodes[i].port, k))
			log_error(BROKER_MOD, "%s-%d: cannot follow leader %d at %s:%d", topic, part, leader, b->nodes[i].host,
				  b->nodes[i].port);
		return;
	}
	kfetcher_remove(b->fetcher, topic, part); /* not the old leader any more either */
	log_info(BROKER_MOD, "%s-%d: leader %d is not registered; following it once it is", topic, part, leader);
}

static void broker_unfollow(void *arg, const char *topic, int32_t part)
{
	struct broker *b = arg;
	if (b->fetcher)
		kfetcher_remove(b->fetcher, topic, part);
}

static void broker_clean_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	krm_clean(b->rm, kb_now_ms());
}

static void broker_housekeep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	(void)fd;
	(void)what;
	krm_housekeep(b->rm, kb_now_ms());
}

/* The first of log.dirs (comma-separated), created if missing. */
static int broker_log_dir(struct broker *b, char *eb, size_t el)
{
	const char *dirs = b->cfg->log_dirs ? b->cfg->log_dirs : b->cfg->log_dir;
	size_t n = strcspn(dirs, ",");
	b->log_dir = strndup(dirs, n);
	if (!b->log_dir || !b->log_dir[0])
		return err_set(eb, el, ERR_CONFIG, "%s: empty log.dirs", b->cfg->source);
	if (strchr(dirs, ','))
		log_warn(BROKER_MOD, "log.dirs lists several directories; samsa uses the first, %s", b->log_dir);
	/* mkdir -p */
	char path[4096];
	snprintf(path, sizeof(path), "%s", b->log_dir);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST)
				return err_set(eb, el, ERR_IO, "cannot create log directory %s: %s", path, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static void broker_defaults(struct broker *b)
{
	const struct kb_config *c = b->cfg;
	struct klog_opts *o = &b->default_opts;
	memset(o, 0, sizeof(*o));
	o->segment_bytes = c->log_segment_bytes;
	o->roll_ms = c->log_roll_ms > 0 ? c->log_roll_ms : (int64_t)c->log_roll_hours * 3600000;
	if (c->log_retention_ms != -1)
		o->retention_ms = c->log_retention_ms;
	else if (c->log_retention_minutes != -1)
		o->retention_ms = c->log_retention_minutes * 60000;
	else
		o->retention_ms = c->log_retention_hours < 0 ? -1 : (int64_t)c->log_retention_hours * 3600000;
	o->retention_bytes = c->log_retention_bytes;
	o->index_interval_bytes = c->log_index_interval_bytes;
	o->max_index_bytes = c->log_index_size_max_bytes;
	o->flush_messages = c->log_flush_interval_messages;
	o->flush_ms = c->log_flush_interval_ms;
	o->compact = c->cleanup_compact;
	o->no_delete = c->cleanup_no_delete;
	o->delete_retention_ms = c->log_cleaner_delete_retention_ms;
	o->min_compaction_lag_ms = c->log_cleaner_min_compaction_lag_ms;
	o->min_cleanable_ratio = c->cleaner_min_cleanable_ratio;
}

int main(int argc, char **argv)
{
	char eb[1024] = "";
	struct kb_config cfg;
	struct net_signals *sigs = NULL;
	struct event *checkpoint = NULL;
	struct broker b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.cfg = &cfg;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		broker_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* the log first, so that warnings about the config (unknown keys) reach logs/server.log */
	const char *log_dir = getenv("LOG_DIR");
	rc = log_open(log_dir && *log_dir ? log_dir : "logs", "server.log", eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-broker: %s\n", eb);
		return 1;
	}
	rc = kb_config_load(argv[1], &cfg, eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-broker: %s\n", eb);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--override") && i + 1 < argc) {
			rc = kb_config_override(&cfg, argv[++i], eb, sizeof(eb));
			if (!rc)
				rc = kb_config_finish(&cfg, eb, sizeof(eb));
		} else {
			rc = err_set(eb, sizeof(eb), ERR_CONFIG, "unknown argument '%s'", argv[i]);
		}
		if (rc) {
			fprintf(stderr, "samsa-broker: %s\n", eb);
			broker_usage(stderr);
			kb_config_free(&cfg);
			return 1;
		}
	}
	int level = log_level_parse(cfg.log_level);
	if (level < 0) {
		fprintf(stderr, "samsa-broker: %s: invalid value '%s' for 'samsa.log.level'\n", cfg.source,
			cfg.log_level);
		kb_config_free(&cfg);
		return 1;
	}
	log_set_level((enum log_level)level);
	if (cfg.broker_id < 0) {
		fprintf(stderr, "samsa-broker: %s: broker.id must be set (0 or more)\n", cfg.source);
		kb_config_free(&cfg);
		return 1;
	}
	LIST_INIT(&b.topics);
	LIST_INIT(&b.conns);
	LIST_INIT(&b.waits);
	LIST_INIT(&b.flush_waits);
	LIST_INIT(&b.prod_waits);
	broker_defaults(&b);
	b.static_opts = b.default_opts;
	b.config_change_seq = -1;
	rc = broker_log_dir(&b, eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-broker: %s\n", eb);
		log_fatal(BROKER_MOD, "%s", eb);
		rc = 1;
		goto out;
	}
	evthread_use_pthreads();
	b.base = event_base_new();
	if (!b.base) {
		rc = 1;
		goto out;
	}
	if (fsyncq_new(b.base, &b.fsq)) {
		log_fatal(BROKER_MOD, "cannot start the fsync worker");
		rc = 1;
		goto out;
	}
	if (cfg.log_cleaner_enable) {
		struct kclean_opts co = { .map_bytes = (size_t)cfg.log_cleaner_dedupe_buffer_size };
		if (kclean_new(b.base, b.log_dir, &co, &b.cleaner, eb, sizeof(eb))) {
			log_fatal(BROKER_MOD, "cannot start the log cleaner: %s", eb);
			fprintf(stderr, "samsa-broker: cannot start the log cleaner: %s\n", eb);
			rc = 1;
			goto out;
		}
	}
	static const struct krm_ops rm_ops = {
		.isr_write = broker_isr_write,
		.follow = broker_follow,
		.unfollow = broker_unfollow,
		.wake = broker_rm_wake,
	};
	struct krm_opts rmo = {
		.broker_id = cfg.broker_id,
		.log_dir = b.log_dir,
		.lag_time_max_ms = cfg.replica_lag_time_max_ms,
		.pid_expiration_ms = cfg.producer_id_expiration_ms,
		.fsq = b.fsq,
		.cleaner = b.cleaner,
		.flushed = kapi_produce_flushed,
		.flushed_arg = &b,
		.ops = &rm_ops,
		.arg = &b,
		.clock = kb_now_ms,
	};
	b.rm = krm_new(&rmo, eb, sizeof(eb));
	if (!b.rm) {
		log_fatal(BROKER_MOD, "%s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	if (kb_acl_start(&b, eb, sizeof(eb))) {
		log_fatal(BROKER_MOD, "%s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	/* the group coordinator: its answers go out through broker/api's slots */
	if (kb_groups_start(&b, kapi_group_reply)) {
		log_fatal(BROKER_MOD, "cannot start the group coordinator");
		rc = 1;
		goto out;
	}
	/* the transaction coordinator: its answers go out through broker/api's waiting requests */
	if (kb_txns_start(&b, kapi_txn_reply)) {
		log_fatal(BROKER_MOD, "cannot start the transaction coordinator");
		rc = 1;
		goto out;
	}
	/* the fetchers hand their answers to the replica manager */
	static const struct kfetcher_ops fetch_ops = { krm_epoch_answer, krm_fetch_answer };
	b.fetcher = kfetcher_new(b.base, cfg.broker_id, &fetch_ops, b.rm);
	if (!b.fetcher) {
		log_fatal(BROKER_MOD, "cannot start the replica fetchers");
		rc = 1;
		goto out;
	}
	sigs = net_signals_new(b.base, broker_on_signal, &b);
	rc = klisten_start(&b, eb, sizeof(eb));
	if (rc) {
		log_fatal(BROKER_MOD, "cannot listen: %s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	{
		/* replication (and the controlled shutdown's request) over the inter-broker
		 * listener's TLS, when it is SSL */
		if (klisten_inter_broker_tls(&b, &b.ib_tls, &b.ib_tls_check_host, eb, sizeof(eb))) {
			log_fatal(BROKER_MOD, "%s", eb);
			fprintf(stderr, "samsa-broker: %s\n", eb);
			rc = 1;
			goto out;
		}
		if (b.ib_tls)
			kfetcher_set_tls(b.fetcher, b.ib_tls, b.ib_tls_check_host);
		/* and with SASL when it is SASL_SSL (the login's length was checked there) */
		int sr = klisten_inter_broker_sasl(&b, eb, sizeof(eb));
		if (sr == 0 && b.ib_sasl)
			kfetcher_set_sasl(b.fetcher, (enum ksasl_mech)b.ib_sasl_mech, b.ib_sasl_user, b.ib_sasl_pass);
		if (sr) {
			log_fatal(BROKER_MOD, "%s", eb);
			fprintf(stderr, "samsa-broker: %s\n", eb);
			rc = 1;
			goto out;
		}
	}
	b.wake = event_new(b.base, -1, 0, broker_wake_cb, &b);
	b.tick = event_new(b.base, -1, EV_PERSIST, broker_tick_cb, &b);
	b.housekeep = event_new(b.base, -1, EV_PERSIST, broker_housekeep_cb, &b);
	if (b.cleaner) {
		int64_t cb = cfg.log_cleaner_backoff_ms;
		struct timeval cbtv = { cb / 1000, (cb % 1000) * 1000 };
		b.clean = event_new(b.base, -1, EV_PERSIST, broker_clean_cb, &b);
		if (b.clean)
			event_add(b.clean, &cbtv);
	}
	checkpoint = event_new(b.base, -1, EV_PERSIST, broker_checkpoint_cb, &b);
	int64_t ck = cfg.replica_hw_checkpoint_interval_ms;
	struct timeval cktv = { ck / 1000, (ck % 1000) * 1000 };
	event_add(checkpoint, &cktv);
	struct timeval tick = { 0, 20000 };
	int64_t hk = cfg.log_retention_check_interval_ms;
	if (cfg.log_flush_interval_ms > 0 && cfg.log_flush_interval_ms < hk)
		hk = cfg.log_flush_interval_ms;
	struct timeval hktv = { hk / 1000, (hk % 1000) * 1000 };
	event_add(b.tick, &tick);
	event_add(b.housekeep, &hktv);
	rc = kb_metrics_start(&b, cfg.http_host, cfg.http_port, eb, sizeof(eb));
	if (rc) {
		log_fatal(BROKER_MOD, "%s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	rc = kb_page_start(&b, kb_metrics_http(&b), eb, sizeof(eb));
	if (rc) {
		log_fatal(BROKER_MOD, "%s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	rc = kb_cluster_start(&b, eb, sizeof(eb));
	if (rc) {
		log_fatal(BROKER_MOD, "%s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	{
		char where[1024];
		klisten_describe(&b, where, sizeof(where));
		log_info(BROKER_MOD, "broker.id=%d listening on %s; inter-broker %s:%d, log.dirs=%s, zookeeper.connect=%s",
			 cfg.broker_id, where, b.adv_host, b.adv_port, b.log_dir, cfg.zookeeper_connect);
	}
	event_base_dispatch(b.base);
	rc = b.exit_code;
out:
	kb_shutdown_free(b.shut);
	b.shut = NULL;
	klisten_stop(&b);
	if (b.zk)
		kb_cluster_stop(&b);
	b.stopping = true;
	{
		/* the group coordinator answers what it holds while the connections are there, and
		 * leaves the purgatory before the replica manager closes */
		kb_groups_stop(&b);
		kb_txns_stop(&b);
		kconn_close_all(&b);
		kwait_free_all(&b);
		/* a clean shutdown: the fetchers stop (no answer comes after this), then the
		 * checkpoints are written and every log closed (fsynced) */
		kfetcher_free(b.fetcher);
		b.fetcher = NULL;
		event_base_loop(b.base, EVLOOP_NONBLOCK); /* reap the closed leader connections */
		tls_ctx_free(b.ib_tls); /* after the fetchers that borrow it */
		b.ib_tls = NULL;
		krm_free(b.rm);
		b.rm = NULL;
		struct kb_topic *t;
		while ((t = LIST_FIRST(&b.topics))) {
			LIST_REMOVE(t, link);
			kb_topic_free(t);
		}
	}
	kclean_free(b.cleaner); /* after the logs: krm_free cancelled a cleaning of any of them */
	fsyncq_free(b.fsq); /* after the logs: their close releases what waited for it */
	kb_page_stop(&b);
	kb_metrics_stop(&b);
	kb_dynconf_release(&b);
	kb_acl_stop(&b);
	kb_pid_free(&b); /* after the session: claims still waiting were answered by its close */
	for (int32_t i = 0; i < b.nnodes; i++)
		free(b.nodes[i].rack);
	free(b.nodes);
	if (b.wake)
		event_free(b.wake);
	if (b.tick)
		event_free(b.tick);
	if (b.housekeep)
		event_free(b.housekeep);
	if (b.clean)
		event_free(b.clean);
	if (checkpoint)
		event_free(checkpoint);
	net_signals_free(sigs);
	if (b.base)
		event_base_free(b.base);
	free(b.log_dir);
	log_info(BROKER_MOD, "stopped");
	log_close();
	kb_config_free(&cfg);
	return rc;
}

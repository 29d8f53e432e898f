/*
 * zk_metrics — the coordinator's figures as ZooKeeper 3.8 names them: the keys of mntr (for the
 * four-letter word and the AdminServer's monitor, one list for both), and, when
 * metricsProvider.className is ZooKeeper's PrometheusMetricsProvider, /metrics in Prometheus's
 * text format on metricsProvider.httpHost:httpPort with the names, types and summary quantiles
 * that provider exports (HELP = the name, as it writes it): gauges registered by ZooKeeperServer,
 * QuorumZooKeeperServer and LeaderZooKeeperServer (znode_count, num_alive_connections,
 * quorum_size, synced_followers, ...), the counter connection_request_count and the summaries
 * readlatency / updatelatency (quantiles 0.5, 0.9, 0.99) and election_time (0.5). Only what
 * samsa-coord measures is exported; ZooKeeper's metrics of parts samsa does not have (request
 * processor queues, JVM, Netty) are absent rather than zero.
 *
 * Owns the summaries' windows (prom_window: the last 4,096 observations of 10 minutes, as the
 * Prometheus client's sliding window) and the reply-size, leading and serving clocks. Loop
 * thread only; a scrape renders from memory (the open-descriptor count reads /proc/self/fd).
 */
#include "zk_server_int.h"

#include "err.h"
#include "http.h"
#include "prom.h"
#include "raft.h"
#include "zk_peer.h"
#include "zk_session.h"
#include "zk_tree.h"
#include "zk_txnlog.h"
#include "zk_watch.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define ZK_METRICS_WINDOW_MS (10 * 60 * 1000) /* the Prometheus client's default maxAgeSeconds */

struct zk_metrics {
	struct zk_server *srv;
	struct http_server *http;
	struct prom_window read_lat, update_lat, election; /* ms */
	double scratch[PROM_WINDOW_CAP];
	int64_t resp_last, resp_min, resp_max;
	int64_t leading_since_ms; /* 0: not leading */
	int64_t unserving_since_ms; /* 0: serving */
};

static const double zk_metrics_q_advanced[] = { 0.5, 0.9, 0.99 };
static const double zk_metrics_q_basic[] = { 0.5 };

/* ---- figures ---- */

uint64_t zk_metrics_outstanding(const struct zk_server *srv)
{
	uint64_t n = 0;
	for (const struct zk_conn *c = srv->conns; c; c = c->next) {
		for (const struct zk_held *h = c->held_head; h; h = h->next)
			n += h->placeholder || h->t0_us;
		for (const struct zk_held *h = c->defer_head; h; h = h->next)
			n++;
	}
	return n;
}

void zk_metrics_response_sizes(const struct zk_server *srv, int64_t *last, int64_t *min, int64_t *max)
{
	const struct zk_metrics *m = srv->metrics;
	*last = m ? m->resp_last : -1;
	*min = m ? m->resp_min : -1;
	*max = m ? m->resp_max : -1;
}

void zk_metrics_reply(struct zk_server *srv, bool update, uint64_t us, size_t size)
{
	struct zk_metrics *m = srv->metrics;
	if (!m)
		return;
	prom_window_observe(update ? &m->update_lat : &m->read_lat, (double)us / 1000.0, zk_mono_ms());
	m->resp_last = (int64_t)size;
	if (m->resp_min < 0 || (int64_t)size < m->resp_min)
		m->resp_min = (int64_t)size;
	if ((int64_t)size > m->resp_max)
		m->resp_max = (int64_t)size;
}

void zk_metrics_serving(struct zk_server *srv, bool serving)
{
	struct zk_metrics *m = srv->metrics;
	if (!m)
		return;
	int64_t now = zk_mono_ms();
	if (serving && m->unserving_since_ms) {
		prom_window_observe(&m->election, (double)(now - m->unserving_since_ms), now);
		m->unserving_since_ms = 0;
	} else if (!serving && !m->unserving_since_ms) {
		m->unserving_since_ms = now;
	}
}

void zk_metrics_leading(struct zk_server *srv, bool leading)
{
	struct zk_metrics *m = srv->metrics;
	if (m)
		m->leading_since_ms = leading ? zk_mono_ms() : 0;
}

/* The ensemble's figures as the leader sees them (all 0 elsewhere). */
struct zk_metrics_quorum {
	bool quorum, leader;
	int64_t quorum_size, learners, synced_followers, synced_observers, followers;
};

static void zk_metrics_quorum_figures(const struct zk_server *srv, struct zk_metrics_quorum *f)
{
	memset(f, 0, sizeof(*f));
	if (!srv->q)
		return;
	f->quorum = true;
	struct raft *r = srv->q->raft;
	const struct raft_config *rc = raft_config(r, NULL);
	for (uint32_t i = 0; i < rc->n; i++)
		f->quorum_size += rc->servers[i].voter;
	if (raft_role(r) != RAFT_LEADER)
		return;
	f->leader = true;
	f->followers = rc->n ? rc->n - 1 : 0;
	uint64_t commit = raft_commit_index(r);
	for (uint32_t i = 0; i < rc->n; i++) {
		uint64_t id = rc->servers[i].id;
		if (id == srv->q->myid)
			continue;
		f->learners += zk_peer_connected(srv->q->peer, id);
		if (!rc->servers[i].voter)
			f->synced_observers += raft_peer_match(r, id) >= commit;
	}
	uint32_t synced = raft_synced_voters(r);
	f->synced_followers = synced ? synced - 1 : 0;
}

/* ---- mntr ---- */

static void zk_metrics_int(zk_mntr_cb cb, void *arg, const char *key, int64_t v)
{
	struct zk_mntr_item it = { .key = key, .kind = ZK_MNTR_INT, .i = v };
	cb(&it, arg);
}

static void zk_metrics_double(zk_mntr_cb cb, void *arg, const char *key, double v)
{
	struct zk_mntr_item it = { .key = key, .kind = ZK_MNTR_DOUBLE, .d = v };
	cb(&it, arg);
}

static void zk_metrics_str(zk_mntr_cb cb, void *arg, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void zk_metrics_str(zk_mntr_cb cb, void *arg, const char *key, const char *fmt, ...)
{
	struct zk_mntr_item it = { .key = key, .kind = ZK_MNTR_STR };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it.s, sizeof(it.s), fmt, ap);
	va_end(ap);
	cb(&it, arg);
}

void zk_metrics_mntr(struct zk_server *srv, zk_mntr_cb cb, void *arg)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int64_t rlast, rmin, rmax;
	zk_metrics_response_sizes(srv, &rlast, &rmin, &rmax);
	zk_metrics_str(cb, arg, "version", "%s, built on %s %s", ZK_VERSION_STRING, __DATE__, __TIME__);
	zk_metrics_str(cb, arg, "server_state", "%s", zk_4lw_mode(srv));
	zk_metrics_double(cb, arg, "avg_latency",
			  srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0);
	zk_metrics_int(cb, arg, "max_latency", (int64_t)srv->lat_max);
	zk_metrics_int(cb, arg, "min_latency", (int64_t)srv->lat_min);
	zk_metrics_int(cb, arg, "packets_received", (int64_t)srv->packets_received);
	zk_metrics_int(cb, arg, "packets_sent", (int64_t)srv->packets_sent);
	zk_metrics_int(cb, arg, "num_alive_connections", (int64_t)srv->n_conns);
	zk_metrics_int(cb, arg, "outstanding_requests", (int64_t)zk_metrics_outstanding(srv));
	zk_metrics_int(cb, arg, "znode_count", (int64_t)zk_tree_count(srv->db.tree));
	zk_metrics_int(cb, arg, "watch_count", (int64_t)zk_watch_count(srv->watches));
	zk_metrics_int(cb, arg, "ephemerals_count", (int64_t)zk_tree_ephemeral_count(srv->db.tree));
	zk_metrics_int(cb, arg, "approximate_data_size", zk_tree_data_size(srv->db.tree));
	zk_metrics_int(cb, arg, "open_file_descriptor_count", zk_4lw_count_fds());
	zk_metrics_int(cb, arg, "max_file_descriptor_count", (int64_t)rl.rlim_cur);
	zk_metrics_int(cb, arg, "global_sessions", (int64_t)zk_sessions_count(srv->db.sessions));
	zk_metrics_int(cb, arg, "uptime", zk_mono_ms() - srv->start_mono_ms);
	zk_metrics_int(cb, arg, "last_client_response_size", rlast);
	zk_metrics_int(cb, arg, "min_client_response_size", rmin);
	zk_metrics_int(cb, arg, "max_client_response_size", rmax);
	zk_metrics_int(cb, arg, "auth_failed_count", (int64_t)srv->auth_failed);
	zk_metrics_int(cb, arg, "connection_request_count", (int64_t)srv->connection_requests);
	zk_metrics_str(cb, arg, "last_zxid", "0x%" PRIx64, (uint64_t)srv->db.last_zxid);
	zk_metrics_str(cb, arg, "durable_zxid", "0x%" PRIx64, (uint64_t)srv->durable_zxid);
	if (srv->q) {
		struct zk_metrics_quorum f;
		zk_metrics_quorum_figures(srv, &f);
		zk_metrics_int(cb, arg, "raft_term", (int64_t)raft_term(srv->q->raft));
		zk_metrics_str(cb, arg, "raft_commit_index", "0x%" PRIx64, raft_commit_index(srv->q->raft));
		zk_metrics_int(cb, arg, "leader_id", (int64_t)raft_leader(srv->q->raft));
		zk_metrics_int(cb, arg, "quorum_size", f.quorum_size);
		if (f.leader) {
			const struct zk_metrics *m = srv->metrics;
			zk_metrics_int(cb, arg, "followers", f.followers);
			zk_metrics_int(cb, arg, "synced_followers", f.synced_followers);
			zk_metrics_int(cb, arg, "pending_syncs", 0);
			zk_metrics_int(cb, arg, "learners", f.learners);
			zk_metrics_int(cb, arg, "synced_observers", f.synced_observers);
			zk_metrics_int(cb, arg, "leader_uptime",
				       m && m->leading_since_ms ? zk_mono_ms() - m->leading_since_ms : 0);
		}
	}
	uint64_t appends = 0, syncs = 0;
	if (srv->log)
		zk_txnlog_stats(srv->log, &appends, &syncs);
	zk_metrics_int(cb, arg, "txnlog_appends", (int64_t)appends);
	zk_metrics_int(cb, arg, "txnlog_syncs", (int64_t)syncs);
}

/* ---- /metrics ---- */

static int zk_metrics_gauge(struct evbuffer *out, const char *name, double v)
{
	if (prom_family(out, name, name, PROM_GAUGE))
		return -1;
	return prom_sample(out, name, NULL, 0, v);
}

/* Renders every exported metric; 0, or -1 if out of memory. */
static int zk_metrics_render(struct zk_server *srv, struct evbuffer *out)
{
	struct zk_metrics *m = srv->metrics;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int64_t rlast, rmin, rmax;
	zk_metrics_response_sizes(srv, &rlast, &rmin, &rmax);
	int64_t now = zk_mono_ms();
	struct {
		const char *name;
		double v;
	} gauges[] = {
		{ "znode_count", (double)zk_tree_count(srv->db.tree) },
		{ "watch_count", (double)zk_watch_count(srv->watches) },
		{ "ephemerals_count", (double)zk_tree_ephemeral_count(srv->db.tree) },
		{ "approximate_data_size", (double)zk_tree_data_size(srv->db.tree) },
		{ "global_sessions", (double)zk_sessions_count(srv->db.sessions) },
		{ "num_alive_connections", (double)srv->n_conns },
		{ "outstanding_requests", (double)zk_metrics_outstanding(srv) },
		{ "packets_received", (double)srv->packets_received },
		{ "packets_sent", (double)srv->packets_sent },
		{ "avg_latency", srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0 },
		{ "min_latency", (double)srv->lat_min },
		{ "max_latency", (double)srv->lat_max },
		{ "uptime", (double)(now - srv->start_mono_ms) },
		{ "open_file_descriptor_count", (double)zk_4lw_count_fds() },
		{ "max_file_descriptor_count", (double)rl.rlim_cur },
		{ "last_client_response_size", (double)rlast },
		{ "min_client_response_size", (double)rmin },
		{ "max_client_response_size", (double)rmax },
		{ "auth_failed_count", (double)srv->auth_failed },
	};
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (zk_metrics_gauge(out, gauges[i].name, gauges[i].v))
			return -1;
	struct zk_metrics_quorum f;
	zk_metrics_quorum_figures(srv, &f);
	if (f.quorum && zk_metrics_gauge(out, "quorum_size", (double)f.quorum_size))
		return -1;
	if (f.leader && (zk_metrics_gauge(out, "learners", (double)f.learners) ||
			 zk_metrics_gauge(out, "synced_followers", (double)f.synced_followers) ||
			 zk_metrics_gauge(out, "synced_observers", (double)f.synced_observers) ||
			 zk_metrics_gauge(out, "leader_uptime",
					  m->leading_since_ms ? (double)(now - m->leading_since_ms) : 0.0)))
		return -1;
	if (prom_family(out, "connection_request_count", "connection_request_count", PROM_COUNTER) ||
	    prom_sample(out, "connection_request_count", NULL, 0, (double)srv->connection_requests))
		return -1;
	const size_t n_adv = sizeof(zk_metrics_q_advanced) / sizeof(zk_metrics_q_advanced[0]);
	if (prom_summary(out, "readlatency", "readlatency", &m->read_lat, now, zk_metrics_q_advanced, n_adv,
			 m->scratch) ||
	    prom_summary(out, "updatelatency", "updatelatency", &m->update_lat, now, zk_metrics_q_advanced, n_adv,
			 m->scratch))
		return -1;
	if (f.quorum && prom_summary(out, "election_time", "election_time", &m->election, now, zk_metrics_q_basic,
				     1, m->scratch))
		return -1;
	return 0;
}

static void zk_metrics_page(const char *path, struct http_reply *reply, void *arg)
{
	struct zk_server *srv = arg;
	(void)path;
	reply->content_type = PROM_CONTENT_TYPE;
	if (zk_metrics_render(srv, reply->body)) {
		reply->status = 500;
		evbuffer_drain(reply->body, evbuffer_get_length(reply->body));
		evbuffer_add_printf(reply->body, "out of memory\n");
	}
}

/* ---- life cycle ---- */

int zk_metrics_new(struct zk_server *srv, char *errbuf, size_t errlen)
{
	struct zk_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return err_set(errbuf, errlen, ERR_NOMEM, "metrics: out of memory");
	m->srv = srv;
	prom_window_init(&m->read_lat, ZK_METRICS_WINDOW_MS);
	prom_window_init(&m->update_lat, ZK_METRICS_WINDOW_MS);
	prom_window_init(&m->election, ZK_METRICS_WINDOW_MS);
	m->resp_last = m->resp_min = -1;
	m->unserving_since_ms = zk_mono_ms(); /* an ensemble starts with an election (unused standalone) */
	srv->metrics = m;
	const struct zk_config *cfg = srv->cfg;
	if (!cfg->metrics_prometheus)
		return 0;
	int rc = http_server_new(srv->base, "metricsProvider.httpPort", cfg->metrics_http_host, cfg->metrics_http_port,
				 &m->http, errbuf, errlen);
	if (!rc)
		rc = http_server_route(m->http, "/metrics", false, zk_metrics_page, srv);
	return rc;
}

int zk_metrics_port(const struct zk_server *srv)
{
	return srv->metrics && srv->metrics->http ? http_server_port(srv->metrics->http) : -1;
}

void zk_metrics_free(struct zk_metrics *m)
{
	if (!m)
		return;
	http_server_free(m->http);
	free(m);
}

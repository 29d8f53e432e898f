/*
 * kb_metrics — the broker's /metrics (see kb_metrics.h for the names and where each comes
 * from).
 */
#include "kb_metrics.h"

#include "err.h"
#include "http.h"
#include "kb_broker.h"
#include "kcontroller.h"
#include "kb_groups.h"
#include "kgroup.h"
#include "krepl.h"
#include "kreplica.h"
#include "log.h"
#include "prom.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KM_KEYS 64		     /* api keys counted (Kafka 2.x's are below 64) */
#define KM_WINDOW_MS (10 * 60000LL) /* the JMX exporter's percentiles: Yammer's recent window */

/* Kafka's names of its APIs, as the request label of RequestMetrics shows them. */
static const char *const km_api_names[KM_KEYS] = {
	[0] = "Produce", [1] = "Fetch", [2] = "ListOffsets", [3] = "Metadata", [4] = "LeaderAndIsr",
	[5] = "StopReplica", [6] = "UpdateMetadata", [7] = "ControlledShutdown", [8] = "OffsetCommit",
	[9] = "OffsetFetch", [10] = "FindCoordinator", [11] = "JoinGroup", [12] = "Heartbeat",
	[13] = "LeaveGroup", [14] = "SyncGroup", [15] = "DescribeGroups", [16] = "ListGroups",
	[17] = "SaslHandshake", [18] = "ApiVersions", [19] = "CreateTopics", [20] = "DeleteTopics",
	[21] = "DeleteRecords", [22] = "InitProducerId", [23] = "OffsetForLeaderEpoch",
	[24] = "AddPartitionsToTxn", [25] = "AddOffsetsToTxn", [26] = "EndTxn", [27] = "WriteTxnMarkers",
	[28] = "TxnOffsetCommit", [29] = "DescribeAcls", [30] = "CreateAcls", [31] = "DeleteAcls",
	[32] = "DescribeConfigs", [33] = "AlterConfigs", [34] = "AlterReplicaLogDirs",
	[35] = "DescribeLogDirs", [36] = "SaslAuthenticate", [37] = "CreatePartitions",
	[38] = "CreateDelegationToken", [39] = "RenewDelegationToken", [40] = "ExpireDelegationToken",
	[41] = "DescribeDelegationToken", [42] = "DeleteGroups", [43] = "ElectLeaders",
	[44] = "IncrementalAlterConfigs", [45] = "AlterPartitionReassignments",
	[46] = "ListPartitionReassignments", [47] = "OffsetDelete",
};

struct kb_metrics {
	struct http_server *http;
	uint64_t requests[KM_KEYS];
	struct prom_window *total_ms[KM_KEYS]; /* made at a key's first request */
	double scratch[PROM_WINDOW_CAP];
};

static int64_t km_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct kb_metrics *km_get(struct broker *b)
{
	if (!b->metrics)
		b->metrics = calloc(1, sizeof(*b->metrics));
	return b->metrics;
}

void kb_metrics_request(struct broker *b, int16_t key, int64_t dur_us)
{
	struct kb_metrics *m = km_get(b);
	if (!m || key < 0 || key >= KM_KEYS)
		return;
	m->requests[key]++;
	if (!m->total_ms[key]) {
		m->total_ms[key] = malloc(sizeof(*m->total_ms[key]));
		if (!m->total_ms[key])
			return;
		prom_window_init(m->total_ms[key], KM_WINDOW_MS);
	}
	prom_window_observe(m->total_ms[key], (double)dur_us / 1000.0, km_now_ms());
}

static void km_topic_counter(struct evbuffer *out, struct broker *b, const char *name, const char *help, int which)
{
	prom_family(out, name, help, PROM_COUNTER);
	uint64_t sum = 0;
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link) {
		uint64_t v = which == 0 ? t->m_msgs_in : which == 1 ? t->m_bytes_in : t->m_bytes_out;
		const char *labels[] = { "topic", t->name };
		prom_sample(out, name, labels, 1, (double)v);
		sum += v;
	}
	prom_sample(out, name, NULL, 0, (double)sum);
}

static void km_gauge(struct evbuffer *out, const char *name, const char *help, double v)
{
	prom_family(out, name, help, PROM_GAUGE);
	prom_sample(out, name, NULL, 0, v);
}

/* ---- consumer groups, under kafka_exporter's names (the groups this broker coordinates) ---- */

struct km_group_walk {
	struct broker *b;
	struct evbuffer *out;
	const char *group;
	int which; /* 0 members, 1 current offset, 2 lag */
};

static void km_group_offset(void *arg, const char *topic, int32_t part, int64_t offset)
{
	struct km_group_walk *gw = arg;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", (int)part);
	const char *labels[] = { "consumergroup", gw->group, "topic", topic, "partition", ps };
	if (gw->which == 1) {
		prom_sample(gw->out, "kafka_consumergroup_current_offset", labels, 3, (double)offset);
		return;
	}
	/* the lag against the local replica's high watermark; not known here without one */
	int64_t hw = gw->b->rm ? krm_high_watermark(gw->b->rm, topic, part) : -1;
	if (hw >= 0 && offset >= 0)
		prom_sample(gw->out, "kafka_consumergroup_lag", labels, 3, (double)(hw > offset ? hw - offset : 0));
}

static void km_group(void *arg, const struct kgroup_info *gi)
{
	struct km_group_walk *gw = arg;
	if (gw->which == 0) {
		const char *labels[] = { "consumergroup", gi->group };
		prom_sample(gw->out, "kafka_consumergroup_members", labels, 1, (double)gi->members);
		return;
	}
	gw->group = gi->group;
	kgroups_offsets(kb_groups_core(gw->b), gi->group, km_group_offset, gw);
}

static void km_groups(struct evbuffer *out, struct broker *b)
{
	static const char *const names[] = { "kafka_consumergroup_members", "kafka_consumergroup_current_offset",
					      "kafka_consumergroup_lag" };
	static const char *const helps[] = {
		"Members of a consumer group this broker coordinates",
		"A consumer group's committed offset of a partition",
		"A consumer group's lag: a hosted partition's high watermark less the committed offset",
	};
	if (!kb_groups_core(b))
		return;
	for (int which = 0; which < 3; which++) {
		struct km_group_walk gw = { .b = b, .out = out, .which = which };
		prom_family(out, names[which], helps[which], PROM_GAUGE);
		kgroups_each(kb_groups_core(b), km_group, &gw);
	}
}

void kb_metrics_render(struct broker *b, struct evbuffer *out)
{
	struct kb_metrics *m = km_get(b);
	km_topic_counter(out, b, "kafka_server_brokertopicmetrics_messagesin_total",
			 "Records appended to this broker's leader partitions (MessagesInPerSec)", 0);
	km_topic_counter(out, b, "kafka_server_brokertopicmetrics_bytesin_total",
			 "Record batch bytes appended by Produce (BytesInPerSec)", 1);
	km_topic_counter(out, b, "kafka_server_brokertopicmetrics_bytesout_total",
			 "Record bytes sent to consumers by Fetch (BytesOutPerSec)", 2);

	int32_t hosted = 0, leaders = 0, under = 0, offline = 0;
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link) {
		for (int32_t i = 0; i < t->nparts; i++) {
			const struct kb_part *p = &t->parts[i];
			if (p->leader < 0)
				offline++;
			struct krepl *k = b->rm ? krm_krepl(b->rm, t->name, p->id) : NULL;
			if (!k)
				continue;
			hosted++;
			if (krepl_role(k) != KREPL_LEADER)
				continue;
			leaders++;
			uint32_t n = 0;
			int32_t zv;
			krepl_isr(k, &n, &zv);
			if ((int32_t)n < p->nrep)
				under++;
		}
	}
	km_gauge(out, "kafka_server_replicamanager_partitioncount", "Partitions hosted on this broker", hosted);
	km_gauge(out, "kafka_server_replicamanager_leadercount", "Partitions this broker leads", leaders);
	km_gauge(out, "kafka_server_replicamanager_underreplicatedpartitions",
		 "Partitions this broker leads whose ISR is smaller than their replicas", under);
	km_gauge(out, "kafka_controller_kafkacontroller_activecontrollercount",
		 "1 on the broker that is the controller", kcontroller_active(b->kc) ? 1 : 0);
	km_gauge(out, "kafka_controller_kafkacontroller_offlinepartitionscount",
		 "Partitions without a leader (reported by the controller)", kcontroller_active(b->kc) ? offline : 0);
	km_groups(out, b);
	if (!m)
		return;

	const char *req = "kafka_network_requestmetrics_requests_total";
	prom_family(out, req, "Requests answered, per API (RequestsPerSec)", PROM_COUNTER);
	for (int k = 0; k < KM_KEYS; k++) {
		if (!m->requests[k] || !km_api_names[k])
			continue;
		const char *labels[] = { "request", km_api_names[k] };
		prom_sample(out, req, labels, 1, (double)m->requests[k]);
	}
	/* one summary family, its samples labelled by request (as the exporter writes them) */
	static const double qs[] = { 0.5, 0.75, 0.95, 0.99, 0.999 };
	static const char *const qn[] = { "0.5", "0.75", "0.95", "0.99", "0.999" };
	const char *tt = "kafka_network_requestmetrics_totaltimems";
	prom_family(out, tt, "Time from a request's arrival to its response leaving, ms (TotalTimeMs)", PROM_SUMMARY);
	int64_t now = km_now_ms();
	for (int k = 0; k < KM_KEYS; k++) {
		const struct prom_window *w = m->total_ms[k];
		if (!w || !km_api_names[k])
			continue;
		double v[5];
		prom_window_quantiles(w, now, qs, 5, v, m->scratch);
		for (int i = 0; i < 5; i++) {
			const char *labels[] = { "request", km_api_names[k], "quantile", qn[i] };
			prom_sample(out, tt, labels, 2, v[i]);
		}
		char n1[96], n2[96];
		snprintf(n1, sizeof(n1), "%s_count", tt);
		snprintf(n2, sizeof(n2), "%s_sum", tt);
		const char *labels[] = { "request", km_api_names[k] };
		prom_sample(out, n1, labels, 1, (double)w->count);
		prom_sample(out, n2, labels, 1, w->sum);
	}
}

static void km_serve(const char *path, struct http_reply *reply, void *arg)
{
	(void)path;
	kb_metrics_render(arg, reply->body);
	reply->status = 200;
	reply->content_type = PROM_CONTENT_TYPE;
}

int kb_metrics_start(struct broker *b, const char *host, int port, char *eb, size_t el)
{
	struct kb_metrics *m = km_get(b);
	if (!m)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	if (port < 0)
		return 0;
	int rc = http_server_new(b->base, "samsa.http.port", host && host[0] ? host : "0.0.0.0", port, &m->http, eb,
				 el);
	if (rc)
		return rc;
	if (http_server_route(m->http, "/metrics", false, km_serve, b)) {
		http_server_free(m->http);
		m->http = NULL;
		return err_set(eb, el, ERR_NOMEM, "cannot route /metrics");
	}
	log_info("metrics", "serving /metrics on port %d", http_server_port(m->http));
	return 0;
}

int kb_metrics_port(const struct broker *b)
{
	return b->metrics && b->metrics->http ? http_server_port(b->metrics->http) : -1;
}

struct http_server *kb_metrics_http(const struct broker *b)
{
	return b->metrics ? b->metrics->http : NULL;
}

void kb_metrics_stop(struct broker *b)
{
	struct kb_metrics *m = b->metrics;
	if (!m)
		return;
	http_server_free(m->http);
	for (int k = 0; k < KM_KEYS; k++)
		free(m->total_ms[k]);
	free(m);
	b->metrics = NULL;
}

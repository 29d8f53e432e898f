/*
 * kb_metrics — the broker's metrics, served in Prometheus's text format at /metrics on
 * samsa.http.port (-1: off), under the names Kafka's Prometheus JMX exporter gives Kafka 2.x's
 * MBeans (its example config kafka-2_0_0.yml), so that dashboards built on that exporter read a
 * samsa broker as they read a Kafka broker:
 *   kafka_server_brokertopicmetrics_{messagesin,bytesin,bytesout}_total   counters, per topic
 *                                                 (label topic) and for the broker (no label)
 *   kafka_server_replicamanager_{partitioncount,leadercount,underreplicatedpartitions}   gauges
 *   kafka_controller_kafkacontroller_activecontrollercount                  gauge, 1 or 0
 *   kafka_controller_kafkacontroller_offlinepartitionscount                 gauge (controller)
 *   kafka_network_requestmetrics_requests_total{request="Produce",...}      counter per API
 *   kafka_network_requestmetrics_totaltimems{request=...,quantile=...}      summary per API
 *                                                 (0.5, 0.75, 0.95, 0.99, 0.999 over 10 min)
 * and, for the consumer groups this broker coordinates, under the names of kafka_exporter
 * (danielqsj/kafka_exporter, whose Grafana dashboards read them):
 *   kafka_consumergroup_members{consumergroup}                               gauge
 *   kafka_consumergroup_current_offset{consumergroup,topic,partition}         gauge
 *   kafka_consumergroup_lag{consumergroup,topic,partition}                    gauge, the high
 *                                                 watermark less the committed offset, for the
 *                                                 partitions this broker hosts
 * Counters are kept where things happen (kb_metrics_request from the connection when a
 * response leaves; the topic counters by the Produce and Fetch handlers); gauges are computed
 * when scraped from the replica manager and the broker's metadata. Loop thread only.
 */
#ifndef SAMSA_KB_METRICS_H
#define SAMSA_KB_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct evbuffer;
struct kb_metrics;
struct http_server;

/* Starts serving on host:port (port < 0: no endpoint, counters still kept). 0, ERR_IO (the port
 * is taken: eb says which), ERR_NOMEM. */
int kb_metrics_start(struct broker *b, const char *host, int port, char *eb, size_t el);
void kb_metrics_stop(struct broker *b); /* NULL-safe on a broker without metrics */
/* The bound port, -1 when there is no endpoint. */
int kb_metrics_port(const struct broker *b);
/* The endpoint's server, where kb_page adds its routes; NULL when there is none. */
struct http_server *kb_metrics_http(const struct broker *b);

/* One response of api key sent, dur_us after its request arrived. */
void kb_metrics_request(struct broker *b, int16_t key, int64_t dur_us);
/* The whole page into out. */
void kb_metrics_render(struct broker *b, struct evbuffer *out);

#endif

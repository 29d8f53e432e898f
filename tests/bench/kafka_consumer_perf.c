/*
 * kafka-consumer-perf-test — Kafka 2.x's ConsumerPerformance on librdkafka: reads --messages
 * records of --topic and prints Kafka's report:
 *
 *   start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 *   rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
 *   2026-01-01 10:00:00:000, 2026-01-01 10:00:05:000, 95.3674, 19.0735, 100000, 20000.0000, 12, 4988, ...
 *
 * (with --show-detailed-stats a line per --reporting-interval instead). MB are 2^20 bytes of keys
 * and values. Without --group no group is used: every partition is assigned directly from the
 * Metadata, starting at the earliest offset (--from-latest: the end), and rebalance.time.ms is the
 * time to get the metadata and assign. With --group the high-level consumer subscribes, and
 * rebalance.time.ms runs until the first assignment. fetch.time.ms is the rest.
 *
 * librdkafka is set to fetch big (fetch.max.bytes 50 MB, max.partition.fetch.bytes 8 MB or
 * --fetch-size, queued.min.messages 1 M); --consumer.config overrides. The run ends at --messages,
 * or after --timeout ms without a record (Kafka's warning then; the end time is the last record).
 */
#include "ktool.h"
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define CPF_LOGGER "kafka.tools.ConsumerPerformance$"

enum {
	O_BOOTSTRAP, O_BROKER_LIST, O_TOPIC, O_MESSAGES, O_GROUP, O_FETCH_SIZE, O_FROM_LATEST,
	O_SOCKET_BUFFER, O_THREADS, O_FETCH_THREADS, O_CONSUMER_CONFIG, O_DATE_FORMAT, O_HIDE_HEADER,
	O_REPORTING, O_DETAILED, O_TIMEOUT, O_HELP, O_COUNT
};

static const struct ktool_opt cpf_opts_def[O_COUNT] = {
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
			  "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to."),
	[O_BROKER_LIST] = KTOOL_OPT("broker-list", KTOOL_ARG, "String: broker-list",
			    "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified."),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "String: topic", "REQUIRED: The topic to consume from."),
	[O_MESSAGES] = KTOOL_OPT("messages", KTOOL_ARG, "Long: count", "REQUIRED: The number of messages to send or consume"),
	[O_GROUP] = KTOOL_OPT("group", KTOOL_ARG, "String: gid",
		      "The group id to consume on. Without it no group is used: partitions are assigned directly."),
	[O_FETCH_SIZE] = KTOOL_OPT("fetch-size", KTOOL_ARG, "Integer: size",
			   "The amount of data to fetch in a single request per partition. (default: 8388608)"),
	[O_FROM_LATEST] = KTOOL_OPT("from-latest", KTOOL_FLAG, NULL,
			    "If the consumer does not already have an established offset to consume from, start "
			    "with the latest message present in the log rather than the earliest message."),
	[O_SOCKET_BUFFER] = KTOOL_OPT("socket-buffer-size", KTOOL_ARG, "Integer: size",
			      "The size of the tcp RECV size. (default: 2097152)"),
	[O_THREADS] = KTOOL_OPT("threads", KTOOL_ARG, "Integer: count", "Ignored: librdkafka fetches on its own threads."),
	[O_FETCH_THREADS] = KTOOL_OPT("num-fetch-threads", KTOOL_ARG, "Integer: count", "Ignored."),
	[O_CONSUMER_CONFIG] = KTOOL_OPT("consumer.config", KTOOL_ARG, "String: config file", "Consumer config properties file."),
	[O_DATE_FORMAT] = KTOOL_OPT("date-format", KTOOL_ARG, "String: date format",
			    "The date format to use for formatting the time field. See java.text.SimpleDateFormat "
			    "for options (yyyy, MM, dd, HH, mm, ss, SSS are understood). (default: yyyy-MM-dd "
			    "HH:mm:ss:SSS)"),
	[O_HIDE_HEADER] = KTOOL_OPT("hide-header", KTOOL_FLAG, NULL, "If set, skips printing the header for the stats"),
	[O_REPORTING] = KTOOL_OPT("reporting-interval", KTOOL_ARG, "Integer: interval_ms",
			  "Interval in milliseconds at which to print progress info. (default: 5000)"),
	[O_DETAILED] = KTOOL_OPT("show-detailed-stats", KTOOL_FLAG, NULL,
			 "If set, stats are reported for each reporting interval as configured by reporting-interval"),
	[O_TIMEOUT] = KTOOL_OPT("timeout", KTOOL_ARG, "Long: milliseconds",
			"The maximum allowed time in milliseconds between returned records. (default: 10000)"),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
};

static const char cpf_intro[] = "This tool helps in performance test for the full zookeeper consumer";

struct cpf {
	struct ktool_opt o[O_COUNT];
	const char *date_format;
	long long messages, timeout_ms, interval_ms;
	bool grouped, assigned;
	int64_t assigned_us; /* monotonic time the partitions were assigned */
};

/* Formats a wall-clock time (ms since the epoch) with a SimpleDateFormat subset. */
static void cpf_date(const char *fmt, int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	size_t n = 0;
	for (const char *p = fmt; *p && n + 8 < len;) {
		size_t run = 1;
		while (p[run] == p[0])
			run++;
		int v = -1, width = 2;
		switch (p[0]) {
		case 'y': v = tm.tm_year + 1900; width = run == 2 ? 2 : 4; if (run == 2) v %= 100; break;
		case 'M': v = tm.tm_mon + 1; break;
		case 'd': v = tm.tm_mday; break;
		case 'H': v = tm.tm_hour; break;
		case 'm': v = tm.tm_min; break;
		case 's': v = tm.tm_sec; break;
		case 'S': v = (int)(ms % 1000); width = 3; break;
		default: break;
		}
		if (v >= 0) {
			n += (size_t)snprintf(out + n, len - n, "%0*d", width, v);
			p += run;
		} else {
			out[n++] = *p++;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

static int64_t cpf_wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int cpf_usage_error(struct cpf *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cpf_usage_error(struct cpf *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, cpf_intro, c->o, O_COUNT);
	return 1;
}

/* Group mode: notes when the first assignment arrives (the end of the "rebalance"). */
static void cpf_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			  void *opaque)
{
	struct cpf *c = opaque;
	bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
		else
			rd_kafka_assign(rk, parts);
		if (!c->assigned) {
			c->assigned = true;
			c->assigned_us = ktool_now_us();
		}
	} else if (coop) {
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
	} else {
		rd_kafka_assign(rk, NULL);
	}
}

/* No group: every partition of the topic at the start offset. */
static int cpf_assign(struct cpf *c, rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int64_t deadline = ktool_now_us() + c->timeout_ms * 1000;
	rd_kafka_resp_err_t e;
	for (;;) {
		e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		if (!e && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
			break;
		if (md) {
			if (!e)
				e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
			rd_kafka_metadata_destroy(md);
			md = NULL;
		}
		if (ktool_now_us() > deadline || ktool_stop_requested()) {
			rd_kafka_topic_destroy(rkt);
			log_error(CPF_LOGGER, "Could not find the partitions of topic %s: %s", topic, rd_kafka_err2str(e));
			return -1;
		}
		rd_kafka_poll(rk, 500);
	}
	rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int p = 0; p < md->topics[0].partition_cnt; p++)
		rd_kafka_topic_partition_list_add(tps, topic, md->topics[0].partitions[p].id)->offset =
			c->o[O_FROM_LATEST].seen ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	e = rd_kafka_assign(rk, tps);
	rd_kafka_topic_partition_list_destroy(tps);
	if (e) {
		log_error(CPF_LOGGER, "Could not assign partitions: %s", rd_kafka_err2str(e));
		return -1;
	}
	c->assigned = true;
	c->assigned_us = ktool_now_us();
	return 0;
}

static void cpf_print(const char *start, const char *end, bool detailed_thread, double mb, double secs,
		      long long msgs, long long rebalance_ms, long long fetch_ms)
{
	double fetch_secs = (double)fetch_ms / 1000.0;
	if (detailed_thread)
		printf("%s, %d, ", end, 0);
	else if (start)
		printf("%s, %s, ", start, end);
	printf("%.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", mb, secs > 0 ? mb / secs : 0.0, msgs,
	       secs > 0 ? (double)msgs / secs : 0.0, rebalance_ms, fetch_ms, fetch_secs > 0 ? mb / fetch_secs : 0.0,
	       fetch_secs > 0 ? (double)msgs / fetch_secs : 0.0);
	fflush(stdout);
}

static int cpf_parse(struct cpf *c)
{
	char e[512];
	if (!c->o[O_BOOTSTRAP].seen && !c->o[O_BROKER_LIST].seen)
		return cpf_usage_error(c, "Missing required argument \"[bootstrap-server]\"");
	if (!c->o[O_TOPIC].seen)
		return cpf_usage_error(c, "Missing required argument \"[topic]\"");
	if (!c->o[O_MESSAGES].seen)
		return cpf_usage_error(c, "Missing required argument \"[messages]\"");
	c->timeout_ms = 10000;
	c->interval_ms = 5000;
	if (ktool_parse_int("messages", c->o[O_MESSAGES].value, 1, INT64_MAX, &c->messages, e, sizeof(e)) ||
	    (c->o[O_TIMEOUT].seen &&
	     ktool_parse_int("timeout", c->o[O_TIMEOUT].value, 1, INT32_MAX, &c->timeout_ms, e, sizeof(e))) ||
	    (c->o[O_REPORTING].seen &&
	     ktool_parse_int("reporting-interval", c->o[O_REPORTING].value, 1, INT32_MAX, &c->interval_ms, e, sizeof(e))))
		return cpf_usage_error(c, "%s", e);
	c->date_format = c->o[O_DATE_FORMAT].seen ? c->o[O_DATE_FORMAT].value : "yyyy-MM-dd HH:mm:ss:SSS";
	return 0;
}

static int cpf_configure(struct cpf *c, rd_kafka_conf_t *conf, char *e, size_t elen)
{
	static const char *const defaults[][2] = {
		{ "client.id", "consumer-perf" },
		{ "fetch.max.bytes", "52428800" },
		{ "max.partition.fetch.bytes", "8388608" },
		{ "queued.min.messages", "1000000" },
		{ "queued.max.messages.kbytes", "262144" },
		{ "receive.buffer.bytes", "2097152" },
		{ "enable.partition.eof", "false" },
		{ "enable.auto.commit", "false" },
	};
	ktool_conf_logging(conf);
	rd_kafka_conf_set_opaque(conf, c);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (ktool_conf_set(conf, KTOOL_CONSUMER, defaults[i][0], defaults[i][1], e, elen))
			return -1;
	if (ktool_conf_set(conf, KTOOL_CONSUMER, "auto.offset.reset", c->o[O_FROM_LATEST].seen ? "latest" : "earliest",
			   e, elen))
		return -1;
	if (c->o[O_CONSUMER_CONFIG].seen && ktool_conf_load(conf, KTOOL_CONSUMER, c->o[O_CONSUMER_CONFIG].value, e, elen))
		return -1;
	if ((c->o[O_FETCH_SIZE].seen &&
	     ktool_conf_set(conf, KTOOL_CONSUMER, "max.partition.fetch.bytes", c->o[O_FETCH_SIZE].value, e, elen)) ||
	    (c->o[O_SOCKET_BUFFER].seen &&
	     ktool_conf_set(conf, KTOOL_CONSUMER, "receive.buffer.bytes", c->o[O_SOCKET_BUFFER].value, e, elen)))
		return -1;
	const char *servers = c->o[O_BOOTSTRAP].seen ? c->o[O_BOOTSTRAP].value : c->o[O_BROKER_LIST].value;
	if (ktool_conf_set(conf, KTOOL_CONSUMER, "bootstrap.servers", servers, e, elen))
		return -1;
	char gid[256] = "";
	size_t gl = sizeof(gid);
	if (rd_kafka_conf_get(conf, "group.id", gid, &gl) != RD_KAFKA_CONF_OK)
		gid[0] = '\0';
	if (c->o[O_GROUP].seen) {
		c->grouped = true;
		rd_kafka_conf_set_rebalance_cb(conf, cpf_rebalance);
		return ktool_conf_set(conf, KTOOL_CONSUMER, "group.id", c->o[O_GROUP].value, e, elen);
	}
	/* no group: librdkafka's assign() still wants a group.id; nothing is committed */
	return ktool_conf_set(conf, KTOOL_CONSUMER, "group.id", gid[0] ? gid : "samsa-consumer-perf-nogroup", e, elen);
}

int main(int argc, char **argv)
{
	struct cpf c;
	char e[1024];
	int status = 1;
	rd_kafka_t *rk = NULL;

	memset(&c, 0, sizeof(c));
	memcpy(c.o, cpf_opts_def, sizeof(c.o));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, cpf_intro, c.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(c.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = cpf_usage_error(&c, "%s", e);
		goto done;
	}
	if (c.o[O_HELP].seen) {
		ktool_usage(stdout, cpf_intro, c.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (cpf_parse(&c))
		goto done;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (cpf_configure(&c, conf, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		status = cpf_usage_error(&c, "%s", e);
		goto done;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_error(CPF_LOGGER, "%s", e);
		goto done;
	}
	rd_kafka_poll_set_consumer(rk);

	bool detailed = c.o[O_DETAILED].seen;
	if (!c.o[O_HIDE_HEADER].seen)
		printf("%s, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
		       "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n",
		       detailed ? "time, threadId" : "start.time, end.time");
	int64_t start_wall = cpf_wall_ms(), start_us = ktool_now_us();
	if (c.grouped) {
		rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(tps, c.o[O_TOPIC].value, RD_KAFKA_PARTITION_UA);
		rd_kafka_resp_err_t se = rd_kafka_subscribe(rk, tps);
		rd_kafka_topic_partition_list_destroy(tps);
		if (se) {
			log_error(CPF_LOGGER, "Could not subscribe: %s", rd_kafka_err2str(se));
			goto done;
		}
	} else if (cpf_assign(&c, rk, c.o[O_TOPIC].value)) {
		goto done;
	}

	long long msgs = 0, bytes = 0, last_msgs = 0, last_bytes = 0;
	int64_t last_us = ktool_now_us(), last_report_us = last_us, end_us = last_us;
	while (msgs < c.messages && !ktool_stop_requested()) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		int64_t now = ktool_now_us();
		if (!m) {
			if (now - last_us > c.timeout_ms * 1000)
				break;
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn(CPF_LOGGER, "%s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		msgs++;
		bytes += (long long)m->len + (long long)m->key_len;
		rd_kafka_message_destroy(m);
		last_us = end_us = now;
		if (detailed && now - last_report_us >= c.interval_ms * 1000) {
			char when[64];
			cpf_date(c.date_format, cpf_wall_ms(), when, sizeof(when));
			double secs = (double)(now - last_report_us) / 1e6;
			cpf_print(NULL, when, true, (double)(bytes - last_bytes) / 1048576.0, secs, msgs - last_msgs, 0,
				  (now - last_report_us) / 1000);
			last_report_us = now;
			last_msgs = msgs;
			last_bytes = bytes;
		}
	}
	if (msgs < c.messages && !ktool_stop_requested())
		printf("WARNING: Exiting before consuming the expected number of messages: timeout (%lld ms) "
		       "exceeded. You can use the --timeout option to increase the timeout.\n",
		       c.timeout_ms);
	if (msgs == 0)
		end_us = ktool_now_us();
	char s1[64], s2[64];
	cpf_date(c.date_format, start_wall, s1, sizeof(s1));
	cpf_date(c.date_format, start_wall + (end_us - start_us) / 1000, s2, sizeof(s2));
	long long elapsed_ms = (end_us - start_us) / 1000;
	long long rebalance_ms = c.assigned ? (c.assigned_us - start_us) / 1000 : elapsed_ms;
	double mb = (double)bytes / 1048576.0;
	if (!detailed)
		cpf_print(s1, s2, false, mb, (double)elapsed_ms / 1000.0, msgs, rebalance_ms, elapsed_ms - rebalance_ms);
	status = 0; /* as Kafka: a timeout is a warning, not a failure */
	rd_kafka_consumer_close(rk);
done:
	if (rk)
		rd_kafka_destroy(rk);
	ktool_opts_free(c.o, O_COUNT);
	return status;
}

/*
 * kafka-producer-perf-test — Kafka 2.x's ProducerPerformance on librdkafka: sends --num-records
 * records of --record-size random bytes (or lines of --payload-file) to --topic, at most
 * --throughput records/s (-1: as fast as possible), and prints Kafka's report lines:
 *
 *   every 5 s:  N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency.
 *   at the end: N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
 *               P ms 50th, P ms 95th, P ms 99th, P ms 99.9th.
 *
 * Latency is from produce() to the delivery report (so it includes librdkafka's batching).
 * Unless overridden, librdkafka is set to batch hard: acks=1 (Kafka 2.x's default), linger.ms=5,
 * batch.num.messages=10000, batch.size=1 MB, a queue of 10 M messages. Properties apply in
 * Kafka's order: those defaults, --producer.config, then --producer-props (Java names mapped by
 * ktool_conf_set).
 *
 * With --transactional-id and --transaction-duration-ms (Kafka 3.x's options) or
 * --transaction-records (samsa's: a commit every N records), records are sent in transactions
 * (librdkafka's transactional producer: init_transactions once, then begin, the records, commit);
 * the latency of a record then ends at its delivery report, before its transaction commits, as
 * Kafka's tool measures it.
 *
 * Records are the one payload buffer, produced without copy (it outlives every delivery), as
 * Kafka reuses one payload array. Latencies are kept for a sample of at most PP_SAMPLES records
 * (every k-th, as Kafka samples). Runs on one thread: delivery reports run in rd_kafka_poll.
 */
#include "ktool.h"
#include "log.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PP_SAMPLES = 2000000, PP_WINDOW_US = 5000000, PP_MAX_ERRORS_SHOWN = 10 };

_Static_assert(sizeof(void *) >= sizeof(int64_t), "the send time travels in the message opaque");

enum {
	O_TOPIC, O_NUM_RECORDS, O_RECORD_SIZE, O_PAYLOAD_FILE, O_PAYLOAD_DELIM, O_THROUGHPUT,
	O_PRODUCER_PROPS, O_PRODUCER_CONFIG, O_TXN_ID, O_TXN_MS, O_TXN_RECORDS, O_HELP, O_COUNT
};

static const struct ktool_opt pp_opts_def[O_COUNT] = {
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "TOPIC", "produce messages to this topic"),
	[O_NUM_RECORDS] = KTOOL_OPT("num-records", KTOOL_ARG, "NUM-RECORDS", "number of messages to produce"),
	[O_RECORD_SIZE] = KTOOL_OPT("record-size", KTOOL_ARG, "RECORD-SIZE",
			    "message size in bytes. Note that you must provide exactly one of --record-size "
			    "or --payload-file."),
	[O_PAYLOAD_FILE] = KTOOL_OPT("payload-file", KTOOL_ARG, "PAYLOAD-FILE",
			     "file to read the message payloads from. Payloads are split by "
			     "--payload-delimiter and one is picked at random for each record."),
	[O_PAYLOAD_DELIM] = KTOOL_OPT("payload-delimiter", KTOOL_ARG, "PAYLOAD-DELIMITER",
			      "delimiter of the payloads in --payload-file (default: \\n)"),
	[O_THROUGHPUT] = KTOOL_OPT("throughput", KTOOL_ARG, "THROUGHPUT",
			   "throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. "
			   "Set this to -1 to disable throttling."),
	[O_PRODUCER_PROPS] = KTOOL_OPT("producer-props", KTOOL_NARGS, "PROP-NAME=PROP-VALUE ...",
			       "kafka producer related configuration properties like bootstrap.servers, "
			       "client.id etc. These configs take precedence over those passed via "
			       "--producer.config."),
	[O_PRODUCER_CONFIG] = KTOOL_OPT("producer.config", KTOOL_ARG, "CONFIG-FILE", "producer config properties file."),
	[O_TXN_ID] = KTOOL_OPT("transactional-id", KTOOL_ARG, "TRANSACTIONAL-ID",
			       "The transactionalId to use if transaction-duration-ms is > 0. Useful when "
			       "testing the performance of concurrent transactions. (default: "
			       "performance-producer-default-transactional-id)"),
	[O_TXN_MS] = KTOOL_OPT("transaction-duration-ms", KTOOL_ARG, "TRANSACTION-DURATION",
			       "The max age of each transaction. The commitTransaction will be called after "
			       "this time has elapsed. Transactions are only enabled if this value is positive. "
			       "(default: 0)"),
	[O_TXN_RECORDS] = KTOOL_OPT("transaction-records", KTOOL_ARG, "RECORDS",
				    "(samsa) commit a transaction every RECORDS records; enables transactions"),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "show this help message and exit"),
};

static const char pp_intro[] = "usage: producer-performance --topic TOPIC --num-records NUM-RECORDS "
			       "(--record-size RECORD-SIZE | --payload-file PAYLOAD-FILE) --throughput THROUGHPUT "
			       "(--producer-props PROP-NAME=PROP-VALUE ... | --producer.config CONFIG-FILE)\n\n"
			       "This tool is used to verify the producer performance.\n";

/* Counters of the whole run and of the current 5 s window; written by the delivery callback. */
struct pp_stats {
	int64_t start_us;
	long long count, bytes, errors;
	double total_lat_us, max_lat_us;
	int32_t *samples; /* latency of every stride-th record, microseconds */
	long long n_samples, stride;
	int64_t win_start_us;
	long long win_count, win_bytes;
	double win_total_lat_us, win_max_lat_us;
};

static void pp_window_print(struct pp_stats *s, int64_t now)
{
	double secs = (double)(now - s->win_start_us) / 1e6;
	if (secs <= 0 || s->win_count == 0)
		return;
	printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
	       s->win_count, (double)s->win_count / secs, (double)s->win_bytes / 1024.0 / 1024.0 / secs,
	       s->win_total_lat_us / (double)s->win_count / 1000.0, s->win_max_lat_us / 1000.0);
	fflush(stdout);
	s->win_start_us = now;
	s->win_count = s->win_bytes = 0;
	s->win_total_lat_us = s->win_max_lat_us = 0;
}

static void pp_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct pp_stats *s = opaque;
	int64_t now = ktool_now_us();
	if (m->err) {
		if (s->errors++ < PP_MAX_ERRORS_SHOWN)
			log_error("org.apache.kafka.tools.ProducerPerformance", "delivery failed: %s",
				  rd_kafka_err2str(m->err));
		return;
	}
	double lat = (double)(now - (int64_t)(intptr_t)m->_private);
	long long i = s->count++;
	s->bytes += (long long)m->len;
	s->total_lat_us += lat;
	if (lat > s->max_lat_us)
		s->max_lat_us = lat;
	if (i % s->stride == 0 && s->n_samples < PP_SAMPLES)
		s->samples[s->n_samples++] = lat > INT32_MAX ? INT32_MAX : (int32_t)lat;
	s->win_count++;
	s->win_bytes += (long long)m->len;
	s->win_total_lat_us += lat;
	if (lat > s->win_max_lat_us)
		s->win_max_lat_us = lat;
	if (now - s->win_start_us >= PP_WINDOW_US)
		pp_window_print(s, now);
}

static long long pp_txn_failures; /* transactional calls that failed */

/* A transactional call's outcome: 0, or -1 after logging what failed (the error is freed). */
static int pp_txn_call(rd_kafka_error_t *err, const char *what)
{
	if (!err)
		return 0;
	log_error("org.apache.kafka.tools.ProducerPerformance", "%s failed: %s", what, rd_kafka_error_string(err));
	rd_kafka_error_destroy(err);
	pp_txn_failures++;
	return -1;
}

static int pp_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int pp_usage_error(struct ktool_opt *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pp_usage_error(struct ktool_opt *o, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "kafka-producer-perf-test: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, pp_intro, o, O_COUNT);
	return 1;
}

/* Splits the payload file at delim into *out (pointers into *text). */
static int pp_load_payloads(const char *path, const char *delim, char **text, char ***out, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf)
		return -1;
	buf[len] = '\0';
	size_t dl = strlen(delim), cnt = 0, pcap = 16;
	char **v = malloc(pcap * sizeof(*v));
	char *p = buf;
	while (v && *p) {
		char *d = dl ? strstr(p, delim) : NULL;
		if (d)
			*d = '\0';
		if (*p) {
			if (cnt == pcap) {
				char **nv = realloc(v, pcap * 2 * sizeof(*v));
				if (!nv)
					break;
				v = nv;
				pcap *= 2;
			}
			v[cnt++] = p;
		}
		if (!d)
			break;
		p = d + dl;
	}
	if (!v || cnt == 0) {
		free(v);
		free(buf);
		return -1;
	}
	*text = buf;
	*out = v;
	*n = cnt;
	return 0;
}

int main(int argc, char **argv)
{
	struct ktool_opt o[O_COUNT];
	struct pp_stats s;
	char e[1024];
	long long num = 0, size = 0, throughput = -1;
	char *payload = NULL, *ptext = NULL;
	char **payloads = NULL;
	size_t n_payloads = 0;
	rd_kafka_t *rk = NULL;
	int status = 1;

	memcpy(o, pp_opts_def, sizeof(o));
	memset(&s, 0, sizeof(s));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stdout, pp_intro, o, O_COUNT);
		return 0;
	}
	if (ktool_opts_parse(o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = pp_usage_error(o, "%s", e);
		goto done;
	}
	if (o[O_HELP].seen) {
		ktool_usage(stdout, pp_intro, o, O_COUNT);
		status = 0;
		goto done;
	}
	static const int required[] = { O_TOPIC, O_NUM_RECORDS, O_THROUGHPUT };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!o[required[i]].seen) {
			status = pp_usage_error(o, "argument --%s is required", o[required[i]].name);
			goto done;
		}
	if (o[O_RECORD_SIZE].seen == o[O_PAYLOAD_FILE].seen) {
		status = pp_usage_error(o, "one of the arguments --record-size --payload-file is required");
		goto done;
	}
	if (!o[O_PRODUCER_PROPS].seen && !o[O_PRODUCER_CONFIG].seen) {
		status = pp_usage_error(o, "Either --producer-props or --producer.config must be specified.");
		goto done;
	}
	if (ktool_parse_int("num-records", o[O_NUM_RECORDS].value, 1, INT64_MAX, &num, e, sizeof(e)) ||
	    ktool_parse_int("throughput", o[O_THROUGHPUT].value, INT32_MIN, INT32_MAX, &throughput, e, sizeof(e)) ||
	    (o[O_RECORD_SIZE].seen &&
	     ktool_parse_int("record-size", o[O_RECORD_SIZE].value, 0, 100 << 20, &size, e, sizeof(e)))) {
		status = pp_usage_error(o, "%s", e);
		goto done;
	}
	long long txn_ms = 0, txn_records = 0;
	if ((o[O_TXN_MS].seen &&
	     ktool_parse_int("transaction-duration-ms", o[O_TXN_MS].value, 0, INT32_MAX, &txn_ms, e, sizeof(e))) ||
	    (o[O_TXN_RECORDS].seen &&
	     ktool_parse_int("transaction-records", o[O_TXN_RECORDS].value, 1, INT64_MAX, &txn_records, e, sizeof(e)))) {
		status = pp_usage_error(o, "%s", e);
		goto done;
	}
	bool txn = txn_ms > 0 || txn_records > 0;
	if (o[O_PAYLOAD_FILE].seen) {
		const char *delim = o[O_PAYLOAD_DELIM].seen ? o[O_PAYLOAD_DELIM].value : "\n";
		if (pp_load_payloads(o[O_PAYLOAD_FILE].value, delim, &ptext, &payloads, &n_payloads)) {
			log_error("org.apache.kafka.tools.ProducerPerformance", "File does not exist or is empty: %s",
				  o[O_PAYLOAD_FILE].value);
			goto done;
		}
		printf("Reading payloads from: %s\nNumber of messages read: %zu\n", o[O_PAYLOAD_FILE].value, n_payloads);
	} else {
		/* one random payload of capital letters, reused for every record, as Kafka does */
		payload = malloc((size_t)size + 1);
		if (!payload)
			goto done;
		uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)ktool_now_us();
		for (long long i = 0; i < size; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			payload[i] = (char)('A' + x % 26);
		}
	}

	s.stride = num / (num < PP_SAMPLES ? num : PP_SAMPLES);
	if (s.stride < 1)
		s.stride = 1;
	if (!(s.samples = malloc(sizeof(*s.samples) * (size_t)(num < PP_SAMPLES ? num : PP_SAMPLES))))
		goto done;

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ktool_conf_logging(conf);
	rd_kafka_conf_set_opaque(conf, &s);
	rd_kafka_conf_set_dr_msg_cb(conf, pp_dr);
	static const char *const defaults[][2] = {
		{ "acks", "1" },
		{ "linger.ms", "5" },
		{ "batch.num.messages", "10000" },
		{ "batch.size", "1000000" },
		{ "queue.buffering.max.messages", "10000000" },
		{ "client.id", "producer-performance" },
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && !rc; i++)
		rc = ktool_conf_set(conf, KTOOL_PRODUCER, defaults[i][0], defaults[i][1], e, sizeof(e));
	if (!rc && o[O_PRODUCER_CONFIG].seen)
		rc = ktool_conf_load(conf, KTOOL_PRODUCER, o[O_PRODUCER_CONFIG].value, e, sizeof(e));
	for (size_t i = 0; !rc && i < o[O_PRODUCER_PROPS].n; i++)
		rc = ktool_conf_set_kv(conf, KTOOL_PRODUCER, o[O_PRODUCER_PROPS].list[i], e, sizeof(e));
	if (!rc && txn)
		rc = ktool_conf_set(conf, KTOOL_PRODUCER, "transactional.id",
				    o[O_TXN_ID].seen ? o[O_TXN_ID].value : "performance-producer-default-transactional-id",
				    e, sizeof(e));
	if (rc) {
		rd_kafka_conf_destroy(conf);
		status = pp_usage_error(o, "%s", e);
		goto done;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_error("org.apache.kafka.tools.ProducerPerformance", "%s", e);
		goto done;
	}
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o[O_TOPIC].value, NULL);
	uint64_t pick = 0x2545F4914F6CDD1DULL;

	s.start_us = s.win_start_us = ktool_now_us();
	long long sent = 0, txn_sent = 0, txns = 0;
	int64_t txn_start = 0;
	if (txn && (pp_txn_call(rd_kafka_init_transactions(rk, 60000), "init_transactions") ||
		    pp_txn_call(rd_kafka_begin_transaction(rk), "begin_transaction")))
		goto stop;
	txn_start = ktool_now_us();
	for (; sent < num && !ktool_stop_requested(); sent++) {
		const char *p = payload;
		size_t len = (size_t)size;
		if (payloads) {
			pick ^= pick << 13;
			pick ^= pick >> 7;
			pick ^= pick << 17;
			p = payloads[pick % n_payloads];
			len = strlen(p);
		}
		/* Kafka's ThroughputThrottler: never ahead of sent/throughput seconds */
		if (throughput > 0) {
			int64_t due = s.start_us + (int64_t)((double)sent * 1e6 / (double)throughput);
			int64_t now;
			while ((now = ktool_now_us()) < due)
				rd_kafka_poll(rk, (int)((due - now) / 1000 > 0 ? (due - now) / 1000 : 0));
		}
		for (;;) {
			int64_t t = ktool_now_us();
			if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, (void *)(uintptr_t)p, len, NULL, 0,
					     (void *)(intptr_t)t) == 0)
				break;
			rd_kafka_resp_err_t err = rd_kafka_last_error();
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				log_error("org.apache.kafka.tools.ProducerPerformance", "produce failed: %s",
					  rd_kafka_err2str(err));
				goto stop;
			}
			rd_kafka_poll(rk, 1);
		}
		if ((sent & 1023) == 0)
			rd_kafka_poll(rk, 0);
		if (txn && ++txn_sent && ((txn_records && txn_sent >= txn_records) ||
					  (txn_ms && ktool_now_us() - txn_start >= txn_ms * 1000))) {
			txn_sent = 0;
			if (pp_txn_call(rd_kafka_commit_transaction(rk, 60000), "commit_transaction")) {
				sent++;
				goto stop;
			}
			txns++;
			if (sent + 1 < num && pp_txn_call(rd_kafka_begin_transaction(rk), "begin_transaction")) {
				sent++;
				goto stop;
			}
			txn_start = ktool_now_us();
		}
	}
	if (txn && txn_sent && !pp_txn_call(rd_kafka_commit_transaction(rk, 60000), "commit_transaction"))
		txns++;
stop:
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_flush(rk, 100);
	rd_kafka_poll(rk, 0);

	int64_t end = ktool_now_us();
	double secs = (double)(end - s.start_us) / 1e6;
	qsort(s.samples, (size_t)s.n_samples, sizeof(*s.samples), pp_cmp_i32);
	long long pc[4] = { 0, 0, 0, 0 };
	static const double pcts[4] = { 0.5, 0.95, 0.99, 0.999 };
	for (int i = 0; i < 4 && s.n_samples; i++)
		pc[i] = s.samples[(long long)(pcts[i] * (double)s.n_samples) < s.n_samples
					  ? (long long)(pcts[i] * (double)s.n_samples)
					  : s.n_samples - 1] / 1000;
	printf("%lld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
	       "%lld ms 50th, %lld ms 95th, %lld ms 99th, %lld ms 99.9th.\n",
	       s.count, secs > 0 ? (double)s.count / secs : 0.0,
	       secs > 0 ? (double)s.bytes / 1024.0 / 1024.0 / secs : 0.0,
	       s.count ? s.total_lat_us / (double)s.count / 1000.0 : 0.0, s.max_lat_us / 1000.0, pc[0], pc[1],
	       pc[2], pc[3]);
	if (txn)
		printf("%lld transactions committed.\n", txns);
	if (s.errors)
		log_error("org.apache.kafka.tools.ProducerPerformance", "%lld of %lld records failed", s.errors, sent);
	status = s.errors == 0 && s.count == num && pp_txn_failures == 0 ? 0 : 1;
	rd_kafka_topic_destroy(rkt);
done:
	if (rk)
		rd_kafka_destroy(rk);
	free(s.samples);
	free(payload);
	free(payloads);
	free(ptext);
	ktool_opts_free(o, O_COUNT);
	return status;
}

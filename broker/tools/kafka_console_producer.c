/*
 * kafka-console-producer — Kafka 2.x's console producer on librdkafka: every line of stdin is
 * one record of --topic (the line's bytes without its \n or \r\n; the last line may lack one).
 *
 *   kafka-console-producer (--bootstrap-server | --broker-list) host:port --topic T
 *       [--property parse.key=true --property key.separator=:] [--property ignore.error=true]
 *       [--producer-property k=v]... [--producer.config file] [--request-required-acks N]
 *       [--compression-codec [none|gzip|snappy|lz4|zstd]] [--sync] [--timeout ms] ...
 *
 * Client properties are applied in Kafka's order: the tool's defaults for its options (acks=1,
 * linger.ms=1000 from --timeout, ...), then --producer.config, then --producer-property, then the
 * options given explicitly on the command line. Kafka's Java client names are mapped onto
 * librdkafka's (ktool_conf_set).
 *
 * At end of input (or SIGINT/SIGTERM) it waits for every record to be delivered or failed. A
 * failed record is logged as Kafka's ErrorLoggingCallback logs it; the exit status is 0 only if
 * every record was delivered. A ">" prompt is printed before each line when stdin is a terminal
 * (Kafka prints it unconditionally; in a pipe it only clutters stdout).
 *
 * Reading is a poll loop over stdin so that delivery reports are served while the user types.
 */
#include "kname.h"
#include "ktool.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { CP_LINE_MAX = 64 << 20, CP_READ_CHUNK = 1 << 16 };

#define CP_LOGGER "org.apache.kafka.clients.producer.internals.ErrorLoggingCallback"

enum {
	O_BATCH_SIZE, O_BOOTSTRAP, O_BROKER_LIST, O_COMPRESSION, O_HELP, O_LINE_READER, O_MAX_BLOCK,
	O_MAX_MEMORY, O_MAX_PART_MEMORY, O_RETRIES, O_METADATA_EXPIRY, O_PRODUCER_PROPERTY,
	O_PRODUCER_CONFIG, O_PROPERTY, O_ACKS, O_REQUEST_TIMEOUT, O_RETRY_BACKOFF, O_SOCKET_BUFFER,
	O_SYNC, O_TIMEOUT, O_TOPIC, O_VERSION, O_COUNT
};

static const struct ktool_opt cp_opts_def[O_COUNT] = {
	[O_BATCH_SIZE] = KTOOL_OPT("batch-size", KTOOL_ARG, "Integer: size",
			   "Number of messages to send in a single batch if they are not being sent "
			   "synchronously. (default: 200)"),
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
			  "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect "
			  "to. The broker list string in the form HOST1:PORT1,HOST2:PORT2."),
	[O_BROKER_LIST] = KTOOL_OPT("broker-list", KTOOL_ARG, "String: broker-list",
			    "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is "
			    "specified. The broker list string in the form HOST1:PORT1,HOST2:PORT2."),
	[O_COMPRESSION] = KTOOL_OPT("compression-codec", KTOOL_OPTARG, "String: compression-codec",
			    "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If "
			    "specified without value, then it defaults to 'gzip'"),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_LINE_READER] = KTOOL_OPT("line-reader", KTOOL_ARG, "String: reader_class",
			    "The class name of the class to use for reading lines from standard in. Only "
			    "kafka.tools.ConsoleProducer$LineMessageReader is supported."),
	[O_MAX_BLOCK] = KTOOL_OPT("max-block-ms", KTOOL_ARG, "Long: max block on send",
			  "The max time that the producer will block for during a send request "
			  "(default: 60000)"),
	[O_MAX_MEMORY] = KTOOL_OPT("max-memory-bytes", KTOOL_ARG, "Long: total memory in bytes",
			   "The total memory used by the producer to buffer records waiting to be sent to "
			   "the server. (default: 33554432)"),
	[O_MAX_PART_MEMORY] = KTOOL_OPT("max-partition-memory-bytes", KTOOL_ARG, "Long: memory in bytes per partition",
				"The buffer size allocated for a partition. When records are received which "
				"are smaller than this size the producer will attempt to optimistically group "
				"them together until this size is reached. (default: 16384)"),
	[O_RETRIES] = KTOOL_OPT("message-send-max-retries", KTOOL_ARG, "Integer",
			"Brokers can fail receiving the message for multiple reasons, and being unavailable "
			"transiently is just one of them. This property specifies the number of retries "
			"before the producer give up and drop this message. (default: 3)"),
	[O_METADATA_EXPIRY] = KTOOL_OPT("metadata-expiry-ms", KTOOL_ARG, "Long: metadata expiration interval",
				"The period of time in milliseconds after which we force a refresh of "
				"metadata even if we haven't seen any leadership changes. (default: 300000)"),
	[O_PRODUCER_PROPERTY] = KTOOL_OPT("producer-property", KTOOL_LIST, "String: producer_prop",
				  "A mechanism to pass user-defined properties in the form key=value to the "
				  "producer."),
	[O_PRODUCER_CONFIG] = KTOOL_OPT("producer.config", KTOOL_ARG, "String: config file",
				"Producer config properties file. Note that [producer-property] takes "
				"precedence over this config."),
	[O_PROPERTY] = KTOOL_OPT("property", KTOOL_LIST, "String: prop",
			 "A mechanism to pass user-defined properties in the form key=value to the message "
			 "reader. This allows custom configuration for a user-defined message reader. "
			 "Default properties include:\n parse.key=true|false\n key.separator=<key.separator>\n "
			 "ignore.error=true|false"),
	[O_ACKS] = KTOOL_OPT("request-required-acks", KTOOL_ARG, "String: request required acks",
		     "The required acks of the producer requests (default: 1)"),
	[O_REQUEST_TIMEOUT] = KTOOL_OPT("request-timeout-ms", KTOOL_ARG, "Integer: request timeout ms",
				"The ack timeout of the producer requests. Value must be non-negative and "
				"non-zero (default: 1500)"),
	[O_RETRY_BACKOFF] = KTOOL_OPT("retry-backoff-ms", KTOOL_ARG, "Integer",
			      "Before each retry, the producer refreshes the metadata of relevant topics. "
			      "Since leader election takes a bit of time, this property specifies the amount "
			      "of time that the producer waits before refreshing the metadata. (default: 100)"),
	[O_SOCKET_BUFFER] = KTOOL_OPT("socket-buffer-size", KTOOL_ARG, "Integer: size",
			      "The size of the tcp RECV size. (default: 102400)"),
	[O_SYNC] = KTOOL_OPT("sync", KTOOL_FLAG, NULL, "If set message send requests to the brokers are synchronously, "
					      "one at a time as they arrive."),
	[O_TIMEOUT] = KTOOL_OPT("timeout", KTOOL_ARG, "Integer: timeout_ms",
			"If set and the producer is running in asynchronous mode, this gives the maximum "
			"amount of time a message will queue awaiting sufficient batch size. The value is "
			"given in ms. (default: 1000)"),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "String: topic", "REQUIRED: The topic id to produce messages to."),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
};

static const char cp_intro[] = "This tool helps to read data from standard input and publish it to Kafka.";

/* The run: options, reader properties and delivery counts (the counts are written by the
 * delivery-report callback, which runs inside rd_kafka_poll/flush on this thread). */
struct cp {
	struct ktool_opt o[O_COUNT];
	const char *topic;
	bool parse_key, ignore_error;
	const char *key_sep;
	size_t key_sep_len;
	int max_block_ms;
	bool sync;
	bool prompt;
	long long line_no;
	long long sent, delivered, failed;
};

static void cp_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct cp *cp = opaque;
	if (!m->err) {
		cp->delivered++;
		return;
	}
	cp->failed++;
	char key[64];
	if (m->key)
		snprintf(key, sizeof(key), "%zu bytes", m->key_len);
	else
		snprintf(key, sizeof(key), "null");
	log_error(CP_LOGGER, "Error when sending message to topic %s with key: %s, value: %zu bytes with error:",
		  rd_kafka_topic_name(m->rkt), key, m->len);
	fprintf(stderr, "%s\n", rd_kafka_err2str(m->err));
}

static int cp_usage_error(struct cp *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cp_usage_error(struct cp *cp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, cp_intro, cp->o, O_COUNT);
	return 1;
}

/* Sets key from option opt if given (explicit) or, when dflt is not NULL, its default. */
static int cp_option(struct cp *cp, rd_kafka_conf_t *conf, int opt, const char *key, const char *dflt,
		     bool explicit_pass, char *e, size_t elen)
{
	const char *v = cp->o[opt].seen ? cp->o[opt].value : dflt;
	if (!v || (explicit_pass != (cp->o[opt].seen != 0)))
		return 0;
	return ktool_conf_set(conf, KTOOL_PRODUCER, key, v, e, elen);
}

/* The client properties in Kafka's precedence (see the file comment). */
static int cp_configure(struct cp *cp, rd_kafka_conf_t *conf, char *e, size_t elen)
{
	static const struct {
		int opt;
		const char *key;
		const char *dflt; /* NULL: librdkafka's own default unless the option is given */
	} map[] = {
		{ O_ACKS, "acks", "1" },
		{ O_TIMEOUT, "linger.ms", "1000" },
		{ O_RETRIES, "retries", "3" },
		{ O_RETRY_BACKOFF, "retry.backoff.ms", "100" },
		{ O_REQUEST_TIMEOUT, "request.timeout.ms", "1500" },
		{ O_METADATA_EXPIRY, "metadata.max.age.ms", NULL },
		{ O_BATCH_SIZE, "batch.num.messages", NULL },
		{ O_MAX_MEMORY, "buffer.memory", NULL },
		{ O_MAX_PART_MEMORY, "batch.size", NULL },
		{ O_SOCKET_BUFFER, "send.buffer.bytes", NULL },
	};
	size_t n = sizeof(map) / sizeof(map[0]);
	ktool_conf_logging(conf);
	rd_kafka_conf_set_opaque(conf, cp);
	rd_kafka_conf_set_dr_msg_cb(conf, cp_dr);
	if (ktool_conf_set(conf, KTOOL_PRODUCER, "client.id", "console-producer", e, elen))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (cp_option(cp, conf, map[i].opt, map[i].key, map[i].dflt, false, e, elen))
			return -1;
	if (cp->o[O_PRODUCER_CONFIG].seen &&
	    ktool_conf_load(conf, KTOOL_PRODUCER, cp->o[O_PRODUCER_CONFIG].value, e, elen))
		return -1;
	for (size_t i = 0; i < cp->o[O_PRODUCER_PROPERTY].n; i++)
		if (ktool_conf_set_kv(conf, KTOOL_PRODUCER, cp->o[O_PRODUCER_PROPERTY].list[i], e, elen))
			return -1;
	for (size_t i = 0; i < n; i++)
		if (cp_option(cp, conf, map[i].opt, map[i].key, NULL, true, e, elen))
			return -1;
	const char *servers = cp->o[O_BOOTSTRAP].seen ? cp->o[O_BOOTSTRAP].value : cp->o[O_BROKER_LIST].value;
	if (ktool_conf_set(conf, KTOOL_PRODUCER, "bootstrap.servers", servers, e, elen))
		return -1;
	if (cp->o[O_COMPRESSION].seen) {
		const char *codec = cp->o[O_COMPRESSION].value ? cp->o[O_COMPRESSION].value : "gzip";
		if (ktool_conf_set(conf, KTOOL_PRODUCER, "compression.type", codec, e, elen))
			return -1;
	}
	return 0;
}

/* Sends one line; blocks up to --max-block-ms while the local queue is full. 0, or -1 after
 * logging why. */
static int cp_send(struct cp *cp, rd_kafka_t *rk, const char *line, size_t len)
{
	const char *key = NULL, *val = line;
	size_t klen = 0, vlen = len;

	cp->line_no++;
	if (cp->parse_key) {
		const char *sep = cp->key_sep_len && len >= cp->key_sep_len
					  ? memmem(line, len, cp->key_sep, cp->key_sep_len)
					  : NULL;
		if (sep) {
			key = line;
			klen = (size_t)(sep - line);
			val = sep + cp->key_sep_len;
			vlen = len - klen - cp->key_sep_len;
		} else if (!cp->ignore_error) {
			log_error("kafka.tools.ConsoleProducer$", "No key found on line %lld: %.*s", cp->line_no,
				  (int)(len > 1000 ? 1000 : len), line);
			return -1;
		}
	}
	int64_t deadline = ktool_now_us() + (int64_t)cp->max_block_ms * 1000;
	for (;;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(cp->topic), RD_KAFKA_V_KEY(key ? key : NULL, klen),
			RD_KAFKA_V_VALUE((void *)(uintptr_t)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_END);
		if (!e)
			break;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || ktool_now_us() > deadline) {
			log_error(CP_LOGGER, "Error when sending message to topic %s with key: %s, value: %zu bytes "
					     "with error:", cp->topic, key ? "present" : "null", vlen);
			fprintf(stderr, "%s\n", rd_kafka_err2str(e));
			return -1;
		}
		rd_kafka_poll(rk, 10);
	}
	cp->sent++;
	if (cp->sync) {
		while (rd_kafka_outq_len(rk) > 0)
			rd_kafka_flush(rk, 100);
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

/* Reads stdin to its end, sending each line. Returns 0, or -1 when a line could not be sent. */
static int cp_read_loop(struct cp *cp, rd_kafka_t *rk)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, scanned = 0;
	bool eof = false;
	int rc = 0;

	if (cp->prompt) {
		fputc('>', stdout);
		fflush(stdout);
	}
	while (!eof && rc == 0 && !ktool_stop_requested()) {
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		int n = poll(&p, 1, 100);
		rd_kafka_poll(rk, 0);
		if (n <= 0)
			continue;
		if (cap - len < CP_READ_CHUNK) {
			if (cap >= CP_LINE_MAX) {
				log_error("kafka.tools.ConsoleProducer$", "Line %lld is longer than %d bytes",
					  cp->line_no + 1, CP_LINE_MAX);
				rc = -1;
				break;
			}
			char *nb = realloc(buf, cap ? cap * 2 : CP_READ_CHUNK * 2);
			if (!nb) {
				rc = -1;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : CP_READ_CHUNK * 2;
		}
		ssize_t r = read(STDIN_FILENO, buf + len, cap - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			eof = true;
		} else {
			len += (size_t)r;
		}
		/* every complete line; the last one even without its newline at end of file */
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + scanned, '\n', len - scanned);
			size_t end;
			if (nl) {
				end = (size_t)(nl - buf);
			} else if (eof && len > start) {
				end = len;
			} else {
				break;
			}
			size_t l = end - start;
			if (l && buf[start + l - 1] == '\r')
				l--;
			if ((rc = cp_send(cp, rk, buf + start, l)))
				break;
			start = end + 1;
			scanned = start;
			if (cp->prompt && !eof) {
				fputc('>', stdout);
				fflush(stdout);
			}
			if (start >= len)
				break;
		}
		if (start > len)
			start = len;
		memmove(buf, buf + start, len - start);
		len -= start;
		scanned = len;
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct cp cp;
	char e[1024];
	int status = 1;
	rd_kafka_t *rk = NULL;

	memset(&cp, 0, sizeof(cp));
	memcpy(cp.o, cp_opts_def, sizeof(cp.o));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, cp_intro, cp.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(cp.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = cp_usage_error(&cp, "%s", e);
		goto done;
	}
	if (cp.o[O_HELP].seen) {
		ktool_usage(stdout, cp_intro, cp.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (cp.o[O_VERSION].seen) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	if (!cp.o[O_TOPIC].seen) {
		status = cp_usage_error(&cp, "Missing required argument \"[topic]\"");
		goto done;
	}
	if (!cp.o[O_BOOTSTRAP].seen && !cp.o[O_BROKER_LIST].seen) {
		status = cp_usage_error(&cp, "Missing required argument \"[bootstrap-server]\"");
		goto done;
	}
	if (cp.o[O_LINE_READER].seen && strcmp(cp.o[O_LINE_READER].value, "kafka.tools.ConsoleProducer$LineMessageReader")) {
		status = cp_usage_error(&cp, "Only kafka.tools.ConsoleProducer$LineMessageReader is supported as --line-reader");
		goto done;
	}
	cp.topic = cp.o[O_TOPIC].value;
	if (!kname_topic_valid(cp.topic, strlen(cp.topic), e, sizeof(e))) {
		status = cp_usage_error(&cp, "%s", e);
		goto done;
	}
	cp.key_sep = "\t";
	for (size_t i = 0; i < cp.o[O_PROPERTY].n; i++) {
		const char *kv = cp.o[O_PROPERTY].list[i];
		const char *eq = strchr(kv, '=');
		if (!eq) {
			status = cp_usage_error(&cp, "Invalid parser arguments: %s", kv);
			goto done;
		}
		size_t kl = (size_t)(eq - kv);
		if (kl == 9 && !strncmp(kv, "parse.key", kl))
			cp.parse_key = !strcasecmp(eq + 1, "true");
		else if (kl == 13 && !strncmp(kv, "key.separator", kl))
			cp.key_sep = eq + 1;
		else if (kl == 12 && !strncmp(kv, "ignore.error", kl))
			cp.ignore_error = !strcasecmp(eq + 1, "true");
	}
	cp.key_sep_len = strlen(cp.key_sep);
	long long v = 60000;
	if (cp.o[O_MAX_BLOCK].seen &&
	    ktool_parse_int("max-block-ms", cp.o[O_MAX_BLOCK].value, 0, INT32_MAX, &v, e, sizeof(e))) {
		status = cp_usage_error(&cp, "%s", e);
		goto done;
	}
	cp.max_block_ms = (int)v;
	cp.sync = cp.o[O_SYNC].seen;
	cp.prompt = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (cp_configure(&cp, conf, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		log_error("kafka.tools.ConsoleProducer$", "%s", e);
		goto done;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_error("kafka.tools.ConsoleProducer$", "Failed to construct kafka producer: %s", e);
		goto done;
	}
	int rc = cp_read_loop(&cp, rk);
	/* Kafka's producer.close(): wait for everything in flight (each record ends delivered or
	 * failed by message.timeout.ms/delivery.timeout.ms) */
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_flush(rk, 100);
	rd_kafka_poll(rk, 0);
	if (cp.prompt)
		fputc('\n', stdout);
	if (cp.failed)
		log_error("kafka.tools.ConsoleProducer$", "%lld of %lld messages were not delivered", cp.failed,
			  cp.sent);
	status = rc == 0 && cp.failed == 0 && cp.delivered == cp.sent ? 0 : 1;
done:
	if (rk)
		rd_kafka_destroy(rk);
	ktool_opts_free(cp.o, O_COUNT);
	return status;
}

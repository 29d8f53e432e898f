/*
 * kafka-console-consumer — Kafka 2.x's console consumer on librdkafka: prints the records of a
 * topic to stdout, one a line, in the format of Kafka's DefaultMessageFormatter.
 *
 *   kafka-console-consumer --bootstrap-server host:port (--topic T | --whitelist REGEX)
 *       [--from-beginning | --partition N [--offset earliest|latest|N]] [--group G]
 *       [--max-messages N] [--timeout-ms MS] [--property print.key=true ...]
 *       [--consumer-property k=v]... [--consumer.config file]
 *
 * Two ways to consume:
 *  - with a group (--group, or group.id from --consumer-property / --consumer.config): the
 *    high-level consumer subscribes and the group coordinator assigns partitions; offsets are
 *    committed as librdkafka's enable.auto.commit says (Kafka's default: on).
 *  - without one (Kafka would invent a random group): no group APIs are used at all. The
 *    partitions of the topic (all of them from Metadata, or --partition) are assigned directly
 *    with rd_kafka_assign at the start offset. librdkafka's assign() needs a group.id, so a fixed
 *    one is set, with auto commit and offset storing off, and the group coordinator is never
 *    needed; errors about it (a broker without FindCoordinator) are ignored.
 *
 * Output per record (DefaultMessageFormatter of Kafka 2.7+):
 *   [CreateTime:<ms><sep>][Partition:<p><sep>][Offset:<o><sep>][<headers><sep>][<key><sep>]<value>\n
 * with <sep> = key.separator (default TAB), null keys/values printed as null.literal ("null").
 * At the end "Processed a total of N messages" goes to stderr. --timeout-ms ends the run when no
 * record arrives for that long, with Kafka's ERROR line; the exit status is still 0.
 */
#include "ktool.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CC_LOGGER "kafka.tools.ConsoleConsumer$"
#define CC_NOGROUP_ID "samsa-console-consumer-nogroup"

enum {
	O_BOOTSTRAP, O_CONSUMER_PROPERTY, O_CONSUMER_CONFIG, O_SYSTEST, O_FORMATTER, O_FROM_BEGINNING,
	O_GROUP, O_HELP, O_ISOLATION, O_KEY_DESER, O_MAX_MESSAGES, O_OFFSET, O_PARTITION, O_PROPERTY,
	O_SKIP_ERROR, O_TIMEOUT, O_TOPIC, O_VALUE_DESER, O_VERSION, O_WHITELIST, O_COUNT
};

static const struct ktool_opt cc_opts_def[O_COUNT] = {
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
			  "REQUIRED: The server(s) to connect to."),
	[O_CONSUMER_PROPERTY] = KTOOL_OPT("consumer-property", KTOOL_LIST, "String: consumer_prop",
				  "A mechanism to pass user-defined properties in the form key=value to the "
				  "consumer."),
	[O_CONSUMER_CONFIG] = KTOOL_OPT("consumer.config", KTOOL_ARG, "String: config file",
				"Consumer config properties file. Note that [consumer-property] takes "
				"precedence over this config."),
	[O_SYSTEST] = KTOOL_OPT("enable-systest-events", KTOOL_FLAG, NULL,
			"Log lifecycle events of the consumer in addition to logging consumed messages. "
			"(This is specific for system tests.)"),
	[O_FORMATTER] = KTOOL_OPT("formatter", KTOOL_ARG, "String: class",
			  "The name of a class to use for formatting kafka messages for display. Only "
			  "kafka.tools.DefaultMessageFormatter is supported."),
	[O_FROM_BEGINNING] = KTOOL_OPT("from-beginning", KTOOL_FLAG, NULL,
			       "If the consumer does not already have an established offset to consume from, "
			       "start with the earliest message present in the log rather than the latest "
			       "message."),
	[O_GROUP] = KTOOL_OPT("group", KTOOL_ARG, "String: consumer group id",
		      "The consumer group id of the consumer. Without one, partitions are assigned "
		      "directly and no group is used."),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_ISOLATION] = KTOOL_OPT("isolation-level", KTOOL_ARG, "String",
			  "Set to read_committed in order to filter out transactional messages which are not "
			  "committed. Set to read_uncommitted to read all messages. (default: read_uncommitted)"),
	[O_KEY_DESER] = KTOOL_OPT("key-deserializer", KTOOL_ARG, "String: deserializer for key", "Ignored: keys are printed as bytes."),
	[O_MAX_MESSAGES] = KTOOL_OPT("max-messages", KTOOL_ARG, "Integer: num_messages",
			     "The maximum number of messages to consume before exiting. If not set, "
			     "consumption is continual."),
	[O_OFFSET] = KTOOL_OPT("offset", KTOOL_ARG, "String: consume offset",
		       "The offset id to consume from (a non-negative number), or 'earliest' which means "
		       "from beginning, or 'latest' which means from end (default: latest)"),
	[O_PARTITION] = KTOOL_OPT("partition", KTOOL_ARG, "Integer: partition",
			  "The partition to consume from. Consumption starts from the end of the partition "
			  "unless '--offset' is specified."),
	[O_PROPERTY] = KTOOL_OPT("property", KTOOL_LIST, "String: prop",
			 "The properties to initialize the message formatter. Default properties include:\n"
			 " print.timestamp=true|false\n print.key=true|false\n print.offset=true|false\n"
			 " print.partition=true|false\n print.headers=true|false\n print.value=true|false\n"
			 " key.separator=<key.separator>\n line.separator=<line.separator>\n"
			 " headers.separator=<line.separator>\n null.literal=<null.literal>"),
	[O_SKIP_ERROR] = KTOOL_OPT("skip-message-on-error", KTOOL_FLAG, NULL,
			   "If there is an error when processing a message, skip it instead of halt."),
	[O_TIMEOUT] = KTOOL_OPT("timeout-ms", KTOOL_ARG, "Integer: timeout_ms",
			"If specified, exit if no message is available for consumption for the specified "
			"interval."),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "String: topic", "The topic id to consume on."),
	[O_VALUE_DESER] = KTOOL_OPT("value-deserializer", KTOOL_ARG, "String: deserializer for values",
			    "Ignored: values are printed as bytes."),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
	[O_WHITELIST] = KTOOL_OPT("whitelist", KTOOL_ARG, "String: whitelist",
			  "Regular expression specifying whitelist of topics to include for consumption."),
};

static const char cc_intro[] = "This tool helps to read data from Kafka topics and outputs it to standard output.";

/* DefaultMessageFormatter's settings. */
struct cc_format {
	bool timestamp, key, value, partition, offset, headers;
	const char *key_sep, *line_sep, *headers_sep, *null_literal;
};

struct cc {
	struct ktool_opt o[O_COUNT];
	struct cc_format f;
	long long max_messages; /* -1: no limit */
	long long timeout_ms;	/* -1: none */
	int64_t start_offset;	/* librdkafka logical or absolute offset */
	long long partition;	/* -1: all */
	bool grouped;
	bool flush_each;
	long long count;
	regex_t whitelist;
	bool have_whitelist;
};

static int cc_usage_error(struct cc *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cc_usage_error(struct cc *cc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, cc_intro, cc->o, O_COUNT);
	return 1;
}

/* Kafka's formatter properties; unknown ones are ignored as Kafka ignores them. Escapes such as
 * "\t" in separators are taken literally by Kafka too, so none are decoded here. */
static void cc_format_props(struct cc *cc)
{
	struct cc_format *f = &cc->f;
	*f = (struct cc_format){ .value = true, .key_sep = "\t", .line_sep = "\n", .headers_sep = ",",
				 .null_literal = "null" };
	for (size_t i = 0; i < cc->o[O_PROPERTY].n; i++) {
		const char *kv = cc->o[O_PROPERTY].list[i];
		const char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		size_t kl = (size_t)(eq - kv);
		const char *v = eq + 1;
		bool t = !strcasecmp(v, "true");
#define CC_IS(name) (kl == strlen(name) && !strncmp(kv, name, kl))
		if (CC_IS("print.timestamp"))
			f->timestamp = t;
		else if (CC_IS("print.key"))
			f->key = t;
		else if (CC_IS("print.value"))
			f->value = t;
		else if (CC_IS("print.partition"))
			f->partition = t;
		else if (CC_IS("print.offset"))
			f->offset = t;
		else if (CC_IS("print.headers"))
			f->headers = t;
		else if (CC_IS("key.separator"))
			f->key_sep = v;
		else if (CC_IS("line.separator"))
			f->line_sep = v;
		else if (CC_IS("headers.separator"))
			f->headers_sep = v;
		else if (CC_IS("null.literal"))
			f->null_literal = v;
#undef CC_IS
	}
}

/* After a column: the key separator if more columns follow, else the line separator. */
static void cc_sep(const struct cc_format *f, bool more, FILE *out)
{
	fputs(more ? f->key_sep : f->line_sep, out);
}

static void cc_bytes(const struct cc_format *f, const void *p, size_t len, FILE *out)
{
	if (!p)
		fputs(f->null_literal, out);
	else
		fwrite(p, 1, len, out);
}

/* Writes one record as DefaultMessageFormatter.writeTo does. */
static void cc_write(const struct cc_format *f, const rd_kafka_message_t *m, FILE *out)
{
	if (f->timestamp) {
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);
		if (tt == RD_KAFKA_TIMESTAMP_CREATE_TIME)
			fprintf(out, "CreateTime:%" PRId64, ts);
		else if (tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
			fprintf(out, "LogAppendTime:%" PRId64, ts);
		else
			fputs("NO_TIMESTAMP", out);
		cc_sep(f, f->partition || f->offset || f->headers || f->key || f->value, out);
	}
	if (f->partition) {
		fprintf(out, "Partition:%" PRId32, m->partition);
		cc_sep(f, f->offset || f->headers || f->key || f->value, out);
	}
	if (f->offset) {
		fprintf(out, "Offset:%" PRId64, m->offset);
		cc_sep(f, f->headers || f->key || f->value, out);
	}
	if (f->headers) {
		rd_kafka_headers_t *hdrs = NULL;
		if (rd_kafka_message_headers(m, &hdrs) || !hdrs || rd_kafka_header_cnt(hdrs) == 0) {
			fputs("NO_HEADERS", out);
		} else {
			const char *name;
			const void *val;
			size_t size;
			for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
				if (i)
					fputs(f->headers_sep, out);
				fprintf(out, "%s:", name);
				cc_bytes(f, val, size, out);
			}
		}
		cc_sep(f, f->key || f->value, out);
	}
	if (f->key) {
		cc_bytes(f, m->key, m->key_len, out);
		cc_sep(f, f->value, out);
	}
	if (f->value) {
		cc_bytes(f, m->payload, m->len, out);
		fputs(f->line_sep, out);
	}
}

/* ---- setting up ---- */

static int cc_configure(struct cc *cc, rd_kafka_conf_t *conf, char *e, size_t elen)
{
	ktool_conf_logging(conf);
	/* Kafka's tool reads uncommitted records unless told otherwise; librdkafka's default is
	 * read_committed, so it is set here (a property or --isolation-level overrides it) */
	if (ktool_conf_set(conf, KTOOL_CONSUMER, "client.id", "console-consumer", e, elen) ||
	    ktool_conf_set(conf, KTOOL_CONSUMER, "isolation.level", "read_uncommitted", e, elen) ||
	    ktool_conf_set(conf, KTOOL_CONSUMER, "auto.offset.reset",
			   cc->o[O_FROM_BEGINNING].seen ? "earliest" : "latest", e, elen))
		return -1;
	if (cc->o[O_CONSUMER_CONFIG].seen &&
	    ktool_conf_load(conf, KTOOL_CONSUMER, cc->o[O_CONSUMER_CONFIG].value, e, elen))
		return -1;
	for (size_t i = 0; i < cc->o[O_CONSUMER_PROPERTY].n; i++)
		if (ktool_conf_set_kv(conf, KTOOL_CONSUMER, cc->o[O_CONSUMER_PROPERTY].list[i], e, elen))
			return -1;
	if (ktool_conf_set(conf, KTOOL_CONSUMER, "bootstrap.servers", cc->o[O_BOOTSTRAP].value, e, elen))
		return -1;
	if (cc->o[O_ISOLATION].seen &&
	    ktool_conf_set(conf, KTOOL_CONSUMER, "isolation.level", cc->o[O_ISOLATION].value, e, elen))
		return -1;
	/* the group: --group must agree with a group.id given as a property */
	char gid[256] = "";
	size_t gl = sizeof(gid);
	if (rd_kafka_conf_get(conf, "group.id", gid, &gl) != RD_KAFKA_CONF_OK)
		gid[0] = '\0';
	if (cc->o[O_GROUP].seen) {
		if (gid[0] && strcmp(gid, cc->o[O_GROUP].value)) {
			snprintf(e, elen,
				 "The group ids provided in different places (directly using '--group', via "
				 "'--consumer-property', or via '--consumer.config') do not match. Detected group "
				 "ids: '%s', '%s'",
				 cc->o[O_GROUP].value, gid);
			return -1;
		}
		if (ktool_conf_set(conf, KTOOL_CONSUMER, "group.id", cc->o[O_GROUP].value, e, elen))
			return -1;
		cc->grouped = true;
	} else if (gid[0]) {
		cc->grouped = true;
	} else {
		/* no group: assign() only; librdkafka wants some group.id for it, nothing is committed */
		if (ktool_conf_set(conf, KTOOL_CONSUMER, "group.id", CC_NOGROUP_ID, e, elen) ||
		    ktool_conf_set(conf, KTOOL_CONSUMER, "enable.auto.commit", "false", e, elen) ||
		    ktool_conf_set(conf, KTOOL_CONSUMER, "enable.auto.offset.store", "false", e, elen))
			return -1;
	}
	return 0;
}

static bool cc_topic_wanted(const struct cc *cc, const char *topic)
{
	if (cc->o[O_TOPIC].seen)
		return !strcmp(topic, cc->o[O_TOPIC].value);
	return ktool_topic_matches(&cc->whitelist, topic) && !ktool_topic_internal(topic);
}

/* Without a group: assigns the wanted partitions at the start offset, waiting (and asking
 * again) until the topic shows up in the metadata. Returns 0, 1 when stopped, -1 on error. */
static int cc_assign(struct cc *cc, rd_kafka_t *rk)
{
	bool warned = false;
	int64_t started = ktool_now_us();
	for (;;) {
		if (ktool_stop_requested())
			return 1;
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
		if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT) {
			rd_kafka_poll(rk, 0);
			if (cc->timeout_ms >= 0 && ktool_now_us() - started > cc->timeout_ms * 1000)
				return 1;
			continue;
		}
		if (e) {
			log_error(CC_LOGGER, "Could not read the cluster metadata: %s", rd_kafka_err2str(e));
			return -1;
		}
		rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(16);
		for (int i = 0; i < md->topic_cnt; i++) {
			const rd_kafka_metadata_topic_t *t = &md->topics[i];
			if (t->err || !cc_topic_wanted(cc, t->topic))
				continue;
			for (int p = 0; p < t->partition_cnt; p++) {
				if (cc->partition >= 0 && t->partitions[p].id != cc->partition)
					continue;
				rd_kafka_topic_partition_list_add(tps, t->topic, t->partitions[p].id)->offset =
					cc->start_offset;
			}
		}
		rd_kafka_metadata_destroy(md);
		if (tps->cnt > 0) {
			rd_kafka_resp_err_t ae = rd_kafka_assign(rk, tps);
			rd_kafka_topic_partition_list_destroy(tps);
			if (ae) {
				log_error(CC_LOGGER, "Could not assign partitions: %s", rd_kafka_err2str(ae));
				return -1;
			}
			return 0;
		}
		rd_kafka_topic_partition_list_destroy(tps);
		if (!warned) {
			if (cc->partition >= 0)
				log_warn(CC_LOGGER, "Partition %lld of topic %s is not (yet) in the cluster; waiting",
					 cc->partition, cc->o[O_TOPIC].seen ? cc->o[O_TOPIC].value : "(whitelist)");
			else
				log_warn(CC_LOGGER, "No topic matching %s is in the cluster (yet); waiting",
					 cc->o[O_TOPIC].seen ? cc->o[O_TOPIC].value : cc->o[O_WHITELIST].value);
			warned = true;
		}
		if (cc->timeout_ms >= 0 && ktool_now_us() - started > cc->timeout_ms * 1000)
			return 1;
		for (int i = 0; i < 10 && !ktool_stop_requested(); i++)
			rd_kafka_poll(rk, 100);
	}
}

static int cc_subscribe(struct cc *cc, rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(1);
	char pat[1024];
	if (cc->o[O_TOPIC].seen)
		snprintf(pat, sizeof(pat), "%s", cc->o[O_TOPIC].value);
	else
		snprintf(pat, sizeof(pat), "^(%s)$", cc->o[O_WHITELIST].value);
	rd_kafka_topic_partition_list_add(tps, pat, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, tps);
	rd_kafka_topic_partition_list_destroy(tps);
	if (e) {
		log_error(CC_LOGGER, "Could not subscribe: %s", rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

/* Whether a consumer error ends the run. The group coordinator's errors are expected (and
 * ignored) when no group is used. */
static bool cc_error_is_fatal(const struct cc *cc, rd_kafka_t *rk, const rd_kafka_message_t *m)
{
	char why[512];
	switch (m->err) {
	case RD_KAFKA_RESP_ERR__PARTITION_EOF:
		return false;
	case RD_KAFKA_RESP_ERR__FATAL:
		rd_kafka_fatal_error(rk, why, sizeof(why));
		log_error(CC_LOGGER, "Error processing message, terminating consumer process: %s", why);
		return true;
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		log_error(CC_LOGGER, "Error processing message, terminating consumer process: %s",
			  rd_kafka_message_errstr(m));
		return true;
	default:
		break;
	}
	if (!cc->grouped && (m->err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
			     m->err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
			     m->err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE))
		return false;
	log_warn(CC_LOGGER, "%s%s%s [%" PRId32 "]: %s", rd_kafka_err2name(m->err), m->rkt ? " on " : "",
		 m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->partition, rd_kafka_message_errstr(m));
	return false;
}

/* The consume loop. Returns the exit status. */
static int cc_run(struct cc *cc, rd_kafka_t *rk)
{
	int64_t last = ktool_now_us();
	int status = 0;
	while (!ktool_stop_requested() && (cc->max_messages < 0 || cc->count < cc->max_messages)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!m) {
			fflush(stdout);
			if (cc->timeout_ms >= 0 && ktool_now_us() - last >= cc->timeout_ms * 1000) {
				log_error(CC_LOGGER, "Error processing message, terminating consumer process: ");
				fprintf(stderr, "org.apache.kafka.common.errors.TimeoutException\n");
				break;
			}
			continue;
		}
		if (m->err) {
			bool fatal = cc_error_is_fatal(cc, rk, m);
			rd_kafka_message_destroy(m);
			if (fatal) {
				status = 1;
				break;
			}
			continue;
		}
		last = ktool_now_us();
		cc_write(&cc->f, m, stdout);
		rd_kafka_message_destroy(m);
		cc->count++;
		if (cc->flush_each)
			fflush(stdout);
		if (ferror(stdout)) {
			log_error(CC_LOGGER, "Unable to write to standard out, closing consumer.");
			status = 1;
			break;
		}
	}
	if (fflush(stdout) && errno != EPIPE)
		status = 1;
	return status;
}

static int cc_parse_args(struct cc *cc)
{
	char e[512];
	long long v;

	if (!cc->o[O_BOOTSTRAP].seen)
		return cc_usage_error(cc, "Missing required argument \"[bootstrap-server]\"");
	if (cc->o[O_TOPIC].seen + (cc->o[O_WHITELIST].seen ? 1 : 0) != 1)
		return cc_usage_error(cc, "Exactly one of whitelist/topic is required.");
	if (cc->o[O_PARTITION].seen && !cc->o[O_TOPIC].seen)
		return cc_usage_error(cc, "The topic is required when partition is specified.");
	if (cc->o[O_OFFSET].seen && !cc->o[O_PARTITION].seen)
		return cc_usage_error(cc, "The partition is required when offset is specified.");
	if (cc->o[O_FROM_BEGINNING].seen && cc->o[O_OFFSET].seen)
		return cc_usage_error(cc, "Options from-beginning and offset cannot be specified together.");
	if (cc->o[O_GROUP].seen && cc->o[O_PARTITION].seen)
		return cc_usage_error(cc, "Options group and partition cannot be specified together.");
	if (cc->o[O_FORMATTER].seen && strcmp(cc->o[O_FORMATTER].value, "kafka.tools.DefaultMessageFormatter"))
		return cc_usage_error(cc, "Only kafka.tools.DefaultMessageFormatter is supported as --formatter");
	if (cc->o[O_SYSTEST].seen)
		return cc_usage_error(cc, "--enable-systest-events is not supported");
	cc->partition = -1;
	if (cc->o[O_PARTITION].seen) {
		if (ktool_parse_int("partition", cc->o[O_PARTITION].value, 0, INT32_MAX, &v, e, sizeof(e)))
			return cc_usage_error(cc, "%s", e);
		cc->partition = v;
	}
	cc->start_offset = cc->o[O_FROM_BEGINNING].seen ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
	if (cc->o[O_OFFSET].seen) {
		const char *s = cc->o[O_OFFSET].value;
		if (!strcasecmp(s, "earliest"))
			cc->start_offset = RD_KAFKA_OFFSET_BEGINNING;
		else if (!strcasecmp(s, "latest"))
			cc->start_offset = RD_KAFKA_OFFSET_END;
		else if (!ktool_parse_int("offset", s, 0, INT64_MAX, &v, e, sizeof(e)))
			cc->start_offset = v;
		else
			return cc_usage_error(cc, "The provided offset value '%s' is incorrect. Valid values are "
						  "'earliest', 'latest', or a non-negative long.", s);
	}
	cc->max_messages = -1;
	if (cc->o[O_MAX_MESSAGES].seen) {
		if (ktool_parse_int("max-messages", cc->o[O_MAX_MESSAGES].value, INT32_MIN, INT32_MAX, &v, e, sizeof(e)))
			return cc_usage_error(cc, "%s", e);
		cc->max_messages = v < 0 ? -1 : v; /* Kafka: -1 (or any negative) means no limit */
	}
	cc->timeout_ms = -1;
	if (cc->o[O_TIMEOUT].seen) {
		if (ktool_parse_int("timeout-ms", cc->o[O_TIMEOUT].value, INT32_MIN, INT32_MAX, &v, e, sizeof(e)))
			return cc_usage_error(cc, "%s", e);
		cc->timeout_ms = v < 0 ? -1 : v;
	}
	if (cc->o[O_WHITELIST].seen) {
		if (ktool_topic_regex(&cc->whitelist, cc->o[O_WHITELIST].value, e, sizeof(e)))
			return cc_usage_error(cc, "%s", e);
		cc->have_whitelist = true;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cc cc;
	char e[1024];
	int status = 1;
	rd_kafka_t *rk = NULL;

	memset(&cc, 0, sizeof(cc));
	memcpy(cc.o, cc_opts_def, sizeof(cc.o));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, cc_intro, cc.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(cc.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = cc_usage_error(&cc, "%s", e);
		goto done;
	}
	if (cc.o[O_HELP].seen) {
		ktool_usage(stdout, cc_intro, cc.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (cc.o[O_VERSION].seen) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	if (cc_parse_args(&cc))
		goto done;
	cc_format_props(&cc);
	cc.flush_each = isatty(STDOUT_FILENO);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (cc_configure(&cc, conf, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		log_error(CC_LOGGER, "%s", e);
		goto done;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_error(CC_LOGGER, "Failed to construct kafka consumer: %s", e);
		goto done;
	}
	rd_kafka_poll_set_consumer(rk);
	int rc = cc.grouped ? cc_subscribe(&cc, rk) : cc_assign(&cc, rk);
	if (rc < 0)
		goto done;
	status = rc == 0 ? cc_run(&cc, rk) : 0;
	fprintf(stderr, "Processed a total of %lld messages\n", cc.count);
	rd_kafka_consumer_close(rk);
done:
	if (rk)
		rd_kafka_destroy(rk);
	if (cc.have_whitelist)
		regfree(&cc.whitelist);
	ktool_opts_free(cc.o, O_COUNT);
	return status;
}

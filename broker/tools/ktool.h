/*
 * ktool — what the Kafka command-line tools (kafka-topics, the console producer and consumer,
 * the perf tests) share: a command-line parser that accepts what Kafka's tools accept
 * (joptsimple's `--name value`, `--name=value`, unambiguous prefixes; argparse's multi-value
 * `--producer-props a=1 b=2`), Kafka's help layout, the mapping of Kafka's Java client property
 * names onto librdkafka's, Kafka's topic-list regular expressions, the glue that sends
 * librdkafka's log lines through common/log in Kafka's log format, and the raw path: one Kafka
 * request sent by the tool itself, for what librdkafka 2.0's admin API cannot say
 * (kafka-acls' TransactionalId resources, kafka-configs' IncrementalAlterConfigs).
 *
 * Every tool is one short-lived process: state lives in main's locals; the only global is the
 * stop flag a signal handler sets (ktool_stop_requested).
 */
#ifndef SAMSA_KTOOL_H
#define SAMSA_KTOOL_H

#include <librdkafka/rdkafka.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ktool_kind {
	KTOOL_FLAG,  /* --name */
	KTOOL_ARG,   /* --name value; the last one given wins */
	KTOOL_LIST,  /* --name value, repeatable; every value kept */
	KTOOL_NARGS, /* --name v1 v2 ... (up to the next --option), repeatable */
	KTOOL_OPTARG, /* --name [value]: value NULL when the next word is an option or absent */
};

/* One option of a tool's table. name..help are the definition; seen..n are the result. */
struct ktool_opt {
	const char *name; /* without the leading "--" */
	enum ktool_kind kind;
	const char *arg;  /* placeholder for the help, e.g. "String: topic"; NULL for flags */
	const char *help;
	int seen;	    /* times given */
	const char *value;  /* KTOOL_ARG: the last value (points into argv) */
	const char **list;  /* KTOOL_LIST/NARGS: every value (array owned, strings in argv) */
	size_t n;
};

/* One entry of a tool's option table (designated, so the result fields start zeroed). */
#define KTOOL_OPT(n, k, a, h) { .name = (n), .kind = (k), .arg = (a), .help = (h) }

/* Parses argv[1..] against opts. An option may be given as --name value or --name=value, and
 * by any unambiguous prefix of its name (as joptsimple allows). Non-option words are an error.
 * Returns 0, or -1 with "x is not a recognized option" / "Option x requires an argument" /
 * "Option x is ambiguous" in err. Free the lists with ktool_opts_free (also after failure). */
int ktool_opts_parse(struct ktool_opt *opts, size_t n, int argc, char **argv, char *err, size_t errlen);
void ktool_opts_free(struct ktool_opt *opts, size_t n);
/* Prints intro then the option table as joptsimple lays it out ("Option  Description"). */
void ktool_usage(FILE *f, const char *intro, const struct ktool_opt *opts, size_t n);

/* Parses a decimal integer within [min, max]; on failure writes joptsimple's wording
 * ("Cannot parse argument 'x' of option partitions") into err and returns -1. */
int ktool_parse_int(const char *opt, const char *s, long long min, long long max, long long *out,
		    char *err, size_t errlen);

/* Which Kafka client's property names apply (they differ in a few Java-only keys). */
enum ktool_client { KTOOL_PRODUCER, KTOOL_CONSUMER, KTOOL_ADMIN };

/*
 * Sets one client property given by its Kafka (Java client) name. Names librdkafka shares are
 * passed through; Java-only names are mapped (buffer.memory -> queue.buffering.max.kbytes,
 * max.request.size -> message.max.bytes, fetch.max.wait.ms -> fetch.wait.max.ms, assignor class
 * names -> range/roundrobin/cooperative-sticky, ...) or ignored when meaningless here
 * (serializers); a name neither knows gets Kafka's warning "The configuration 'x' was supplied
 * but isn't a known config." and is skipped. Returns 0, or -1 with the reason in err when
 * librdkafka refuses the value.
 */
int ktool_conf_set(rd_kafka_conf_t *conf, enum ktool_client client, const char *key,
		   const char *value, char *err, size_t errlen);
/* "key=value" (as --producer-property/--consumer-property/--property take it): split at the
 * first '=' and set; -1 with "Invalid property: x" style text in err. */
int ktool_conf_set_kv(rd_kafka_conf_t *conf, enum ktool_client client, const char *kv, char *err,
		      size_t errlen);
/* Every property of a Java-properties file (--producer.config, --consumer.config,
 * --command-config), in file order. */
int ktool_conf_load(rd_kafka_conf_t *conf, enum ktool_client client, const char *path, char *err,
		    size_t errlen);

/* Sends librdkafka's log lines (level <= LOG_WARNING only, unless KTOOL_DEBUG is set in the
 * environment) through common/log: "[date] WARN msg (rdkafka)". Call on every conf. */
void ktool_conf_logging(rd_kafka_conf_t *conf);

/*
 * A topic list as Kafka's tools read it (--topic of kafka-topics, --whitelist): ',' means '|',
 * spaces and surrounding quotes are dropped, and the whole name must match (Java's matches()).
 * Returns 0 or -1 with "Invalid regular expression: ..." in err; free with regfree.
 */
int ktool_topic_regex(regex_t *re, const char *list, char *err, size_t errlen);
bool ktool_topic_matches(const regex_t *re, const char *topic);
/* true for Kafka's internal topics (__consumer_offsets, __transaction_state). */
bool ktool_topic_internal(const char *topic);

/* Installs SIGINT/SIGTERM handlers that set the stop flag (and SIGPIPE ignore). */
void ktool_signals(void);
bool ktool_stop_requested(void);

/* Monotonic clock, microseconds. */
int64_t ktool_now_us(void);

/*
 * The raw path: one request, frame out and frame in, to the first bootstrap server of an admin
 * client's conf (bootstrap.servers, security.protocol, ssl.ca.location,
 * ssl.certificate.location, ssl.key.location, ssl.endpoint.identification.algorithm) over
 * PLAINTEXT or SSL; SASL is not spoken (ktool_raw_ok). A blocking socket with a 10 s timeout
 * each way; one connection per call. The caller encodes the body and decodes the answer with
 * broker/wire's codecs: nothing here reads past the response's correlation id.
 */
struct wbuf;

enum {
	KTOOL_RAW_OK = 0,
	KTOOL_RAW_FAILED = -1, /* sent, then an error or a malformed answer (a wrong correlation id,
				* a frame over 16 MiB) */
	KTOOL_RAW_NOCONN = -2, /* nothing sent: a SASL transport, no address, a refused connection
				* or TLS handshake */
	KTOOL_RAW_CLOSED = -3, /* sent, and the connection closed before any byte of an answer (as
				* a Kafka broker does to a request of an API or version it does not
				* serve) */
};

/* Whether the raw path can speak conf's transport (PLAINTEXT or SSL, not SASL). */
bool ktool_raw_ok(const rd_kafka_conf_t *conf);
/* Starts a request frame in w (initialised by the caller): the frame length (set by
 * ktool_raw_call) and request header v1 (api, ver, correlation id 1, client_id). The caller
 * appends the body. */
void ktool_raw_begin(struct wbuf *w, int16_t api, int16_t ver, const char *client_id);
/* Sends the frame w holds (w's sticky error, if any, is KTOOL_RAW_FAILED before sending) and
 * reads the answer. On KTOOL_RAW_OK, *resp (malloc'd, the caller frees it) holds the response
 * after its correlation id (checked), *resplen bytes; on any other result *resp is NULL. */
int ktool_raw_call(const rd_kafka_conf_t *conf, struct wbuf *w, uint8_t **resp, size_t *resplen);

#endif

/*
 * ktool — the shared parts of the Kafka command-line tools (see ktool.h). The Java-name table
 * below is the one place that knows how Kafka's client property names differ from librdkafka's;
 * the raw path at the end is the one place a tool opens its own connection to a broker.
 */
#include "ktool.h"

#include "buf.h"
#include "log.h"
#include "props.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- command line ---- */

static int ktool_opt_find(const struct ktool_opt *opts, size_t n, const char *name, size_t len,
			  char *err, size_t errlen)
{
	int found = -1, matches = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(opts[i].name, name, len) != 0)
			continue;
		if (strlen(opts[i].name) == len)
			return (int)i; /* an exact name beats any prefix */
		found = (int)i;
		matches++;
	}
	if (matches == 1)
		return found;
	if (matches > 1)
		snprintf(err, errlen, "Option %.*s is ambiguous", (int)len, name);
	else
		snprintf(err, errlen, "%.*s is not a recognized option", (int)len, name);
	return -1;
}

static int ktool_opt_push(struct ktool_opt *o, const char *v)
{
	const char **l = realloc(o->list, (o->n + 1) * sizeof(*l));
	if (!l)
		return -1;
	l[o->n++] = v;
	o->list = l;
	return 0;
}

int ktool_opts_parse(struct ktool_opt *opts, size_t n, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			snprintf(err, errlen, "%s is not a recognized option", a);
			return -1;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int k = ktool_opt_find(opts, n, name, len, err, errlen);
		if (k < 0)
			return -1;
		struct ktool_opt *o = &opts[k];
		o->seen++;
		if (o->kind == KTOOL_FLAG) {
			if (eq) {
				snprintf(err, errlen, "Option %s does not take an argument", o->name);
				return -1;
			}
			continue;
		}
		if (o->kind == KTOOL_NARGS) {
			int got = 0;
			if (eq) {
				if (ktool_opt_push(o, eq + 1))
					goto nomem;
				got++;
			}
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
				if (ktool_opt_push(o, argv[++i]))
					goto nomem;
				got++;
			}
			if (!got) {
				snprintf(err, errlen, "argument --%s: expected at least one argument", o->name);
				return -1;
			}
			continue;
		}
		const char *v;
		if (o->kind == KTOOL_OPTARG) {
			if (eq)
				o->value = eq + 1;
			else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
				o->value = argv[++i];
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-' && argv[i + 1][2])) {
			v = argv[++i]; /* a following --word is the next option, as joptsimple reads it */
		} else {
			snprintf(err, errlen, "Option %s requires an argument", o->name);
			return -1;
		}
		o->value = v;
		if (o->kind == KTOOL_LIST && ktool_opt_push(o, v))
			goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void ktool_opts_free(struct ktool_opt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(opts[i].list);
		opts[i].list = NULL;
		opts[i].n = 0;
	}
}

/* Writes text wrapped at width columns, continuation lines indented by indent. */
static void ktool_wrap(FILE *f, const char *text, int col, int indent, int width)
{
	const char *p = text;
	bool first = true;
	while (*p) {
		while (*p == ' ')
			p++;
		if (*p == '\n') {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
			first = true;
			p++;
			continue;
		}
		int w = 0;
		while (p[w] && p[w] != ' ' && p[w] != '\n')
			w++;
		if (!w)
			break;
		if (!first && col + 1 + w > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
			first = true;
		}
		if (!first) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, (size_t)w, f);
		col += w;
		p += w;
		first = false;
	}
}

void ktool_usage(FILE *f, const char *intro, const struct ktool_opt *opts, size_t n)
{
	enum { COL = 41, WIDTH = 80 };
	if (intro)
		fprintf(f, "%s\n", intro);
	fprintf(f, "%-*s%s\n%-*s%s\n", COL, "Option", "Description", COL, "------", "-----------");
	for (size_t i = 0; i < n; i++) {
		char left[256];
		if (opts[i].arg)
			snprintf(left, sizeof(left), "--%s <%s>", opts[i].name, opts[i].arg);
		else
			snprintf(left, sizeof(left), "--%s", opts[i].name);
		int len = (int)strlen(left);
		fputs(left, f);
		if (len >= COL - 1)
			fprintf(f, "\n%*s", COL, "");
		else
			fprintf(f, "%*s", COL - len, "");
		ktool_wrap(f, opts[i].help, COL, COL, WIDTH);
		fputc('\n', f);
	}
}

int ktool_parse_int(const char *opt, const char *s, long long min, long long max, long long *out,
		    char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno) {
		snprintf(err, errlen, "Cannot parse argument '%s' of option %s", s, opt);
		return -1;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "Value %s of option %s is out of range [%lld, %lld]", s, opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- Kafka (Java client) property names ---- */

enum ktool_map_how {
	KTOOL_MAP_RENAME,   /* same value under librdkafka's name */
	KTOOL_MAP_KBYTES,   /* bytes -> kilobytes (at least 1) */
	KTOOL_MAP_IGNORE,   /* meaningless for a C client; dropped silently */
	KTOOL_MAP_WARN,     /* a Java feature librdkafka lacks; dropped with a warning */
	KTOOL_MAP_ASSIGNOR, /* Java assignor class names -> librdkafka assignor names */
	KTOOL_MAP_RESET,    /* auto.offset.reset: "none" is librdkafka's "error" */
};

struct ktool_map {
	const char *java;
	const char *rdkafka; /* NULL: the same name */
	enum ktool_map_how how;
	unsigned clients;    /* bit mask of 1u << enum ktool_client; 0 = all */
};

#define KTOOL_P (1u << KTOOL_PRODUCER)
#define KTOOL_C (1u << KTOOL_CONSUMER)

static const struct ktool_map ktool_maps[] = {
	{ "key.serializer", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "value.serializer", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "key.deserializer", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "value.deserializer", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "max.block.ms", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "max.poll.records", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "exclude.internal.topics", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "default.api.timeout.ms", NULL, KTOOL_MAP_IGNORE, 0 },
	{ "buffer.memory", "queue.buffering.max.kbytes", KTOOL_MAP_KBYTES, KTOOL_P },
	{ "max.request.size", "message.max.bytes", KTOOL_MAP_RENAME, 0 },
	{ "send.buffer.bytes", "socket.send.buffer.bytes", KTOOL_MAP_RENAME, 0 },
	{ "receive.buffer.bytes", "socket.receive.buffer.bytes", KTOOL_MAP_RENAME, 0 },
	{ "fetch.max.wait.ms", "fetch.wait.max.ms", KTOOL_MAP_RENAME, 0 },
	{ "delivery.timeout.ms", "message.timeout.ms", KTOOL_MAP_RENAME, 0 },
	{ "partition.assignment.strategy", NULL, KTOOL_MAP_ASSIGNOR, 0 },
	{ "auto.offset.reset", NULL, KTOOL_MAP_RESET, 0 },
	{ "partitioner.class", NULL, KTOOL_MAP_WARN, 0 },
	{ "interceptor.classes", NULL, KTOOL_MAP_WARN, 0 },
	{ "metric.reporters", NULL, KTOOL_MAP_WARN, 0 },
	{ "sasl.jaas.config", NULL, KTOOL_MAP_WARN, 0 },
	{ "ssl.truststore.location", NULL, KTOOL_MAP_WARN, 0 },
	{ "ssl.truststore.password", NULL, KTOOL_MAP_WARN, 0 },
	{ "ssl.keystore.location", NULL, KTOOL_MAP_WARN, 0 },
};

static const char *ktool_logger(enum ktool_client client)
{
	switch (client) {
	case KTOOL_PRODUCER:
		return "org.apache.kafka.clients.producer.ProducerConfig";
	case KTOOL_CONSUMER:
		return "org.apache.kafka.clients.consumer.ConsumerConfig";
	case KTOOL_ADMIN:
		break;
	}
	return "org.apache.kafka.clients.admin.AdminClientConfig";
}

/* Java's assignor class names (or their simple names) as librdkafka names them. */
static const char *ktool_assignor(const char *cls)
{
	static const struct {
		const char *suffix, *name;
	} names[] = {
		{ "RangeAssignor", "range" },
		{ "RoundRobinAssignor", "roundrobin" },
		{ "CooperativeStickyAssignor", "cooperative-sticky" },
	};
	const char *dot = strrchr(cls, '.');
	const char *simple = dot ? dot + 1 : cls;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(simple, names[i].suffix))
			return names[i].name;
	return cls; /* already a librdkafka name, or librdkafka will say it is not */
}

static int ktool_conf_raw(rd_kafka_conf_t *conf, enum ktool_client client, const char *key,
			  const char *value, char *err, size_t errlen)
{
	char rerr[512];
	rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value, rerr, sizeof(rerr));
	if (res == RD_KAFKA_CONF_OK)
		return 0;
	if (res == RD_KAFKA_CONF_UNKNOWN) {
		log_warn(ktool_logger(client), "The configuration '%s' was supplied but isn't a known config.",
			 key);
		return 0;
	}
	snprintf(err, errlen, "Invalid value %s for configuration %s: %s", value, key, rerr);
	return -1;
}

int ktool_conf_set(rd_kafka_conf_t *conf, enum ktool_client client, const char *key,
		   const char *value, char *err, size_t errlen)
{
	char buf[64];
	for (size_t i = 0; i < sizeof(ktool_maps) / sizeof(ktool_maps[0]); i++) {
		const struct ktool_map *m = &ktool_maps[i];
		if (strcmp(m->java, key) != 0)
			continue;
		if (m->clients && !(m->clients & (1u << client)))
			break; /* not this client's name: let librdkafka judge it */
		const char *name = m->rdkafka ? m->rdkafka : key;
		switch (m->how) {
		case KTOOL_MAP_IGNORE:
			return 0;
		case KTOOL_MAP_WARN:
			log_warn(ktool_logger(client),
				 "The configuration '%s' is not supported by this client and was ignored.", key);
			return 0;
		case KTOOL_MAP_KBYTES: {
			char *end;
			errno = 0;
			long long b = strtoll(value, &end, 10);
			if (!*value || *end || errno || b < 0) {
				snprintf(err, errlen, "Invalid value %s for configuration %s: Not a number of type LONG",
					 value, key);
				return -1;
			}
			snprintf(buf, sizeof(buf), "%lld", b / 1024 > 0 ? b / 1024 : 1);
			return ktool_conf_raw(conf, client, name, buf, err, errlen);
		}
		case KTOOL_MAP_ASSIGNOR: {
			/* a comma-separated list of class names */
			char out[512] = "";
			char *copy = strdup(value), *save = NULL;
			if (!copy) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
				size_t used = strlen(out);
				snprintf(out + used, sizeof(out) - used, "%s%s", used ? "," : "", ktool_assignor(t));
			}
			free(copy);
			return ktool_conf_raw(conf, client, name, out, err, errlen);
		}
		case KTOOL_MAP_RESET:
			return ktool_conf_raw(conf, client, name, strcmp(value, "none") ? value : "error", err,
					      errlen);
		case KTOOL_MAP_RENAME:
			return ktool_conf_raw(conf, client, name, value, err, errlen);
		}
	}
	return ktool_conf_raw(conf, client, key, value, err, errlen);
}

int ktool_conf_set_kv(rd_kafka_conf_t *conf, enum ktool_client client, const char *kv, char *err,
		      size_t errlen)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		snprintf(err, errlen, "Invalid property: '%s' (expected key=value)", kv);
		return -1;
	}
	char key[256];
	size_t klen = (size_t)(eq - kv);
	if (klen >= sizeof(key)) {
		snprintf(err, errlen, "Invalid property: key too long in '%s'", kv);
		return -1;
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	return ktool_conf_set(conf, client, key, eq + 1, err, errlen);
}

int ktool_conf_load(rd_kafka_conf_t *conf, enum ktool_client client, const char *path, char *err,
		    size_t errlen)
{
	struct props *p = NULL;
	if (props_load_file(path, &p, err, errlen))
		return -1;
	int rc = 0;
	for (size_t i = 0; i < props_count(p) && rc == 0; i++) {
		const char *k, *v;
		int line;
		props_at(p, i, &k, &v, &line);
		if (ktool_conf_set(conf, client, k, v, err, errlen)) {
			char inner[512];
			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, errlen, "%s:%d: %s", path, line, inner);
			rc = -1;
		}
	}
	props_free(p);
	return rc;
}

/* Runs on librdkafka's threads; common/log writes each line with one write(). */
static void ktool_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	/* syslog levels: 3 error, 4 warning, 5..7 notice/info/debug. Connection failures are
	 * reported once, by ktool_rdkafka_error, not also as FAIL/ERROR log lines. */
	if (level > 4 && !getenv("KTOOL_DEBUG"))
		return;
	if ((!strcmp(fac, "FAIL") || !strcmp(fac, "ERROR")) && !getenv("KTOOL_DEBUG"))
		return;
	log_msg(level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : LOG_INFO, "rdkafka", "%s: %s", fac, buf);
}

/* Client errors, as Kafka's NetworkClient words the common one. Runs inside rd_kafka_poll (and
 * friends) on the tool's thread. */
static void ktool_rdkafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		return; /* each broker's failure was already reported */
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_fatal_error(rk, why, sizeof(why));
		log_error("org.apache.kafka.clients.NetworkClient", "[%s] Fatal error: %s", rd_kafka_name(rk), why);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE)
		log_warn("org.apache.kafka.clients.NetworkClient",
			 "[%s] Connection could not be established. Broker may not be available: %s", rd_kafka_name(rk),
			 reason);
	else
		log_warn("org.apache.kafka.clients.NetworkClient", "[%s] %s: %s", rd_kafka_name(rk),
			 rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

void ktool_conf_logging(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, ktool_rdkafka_log);
	rd_kafka_conf_set_error_cb(conf, ktool_rdkafka_error);
	if (getenv("KTOOL_DEBUG")) {
		char e[256];
		rd_kafka_conf_set(conf, "debug", getenv("KTOOL_DEBUG"), e, sizeof(e));
	}
}

/* ---- topics ---- */

int ktool_topic_regex(regex_t *re, const char *list, char *err, size_t errlen)
{
	size_t n = strlen(list);
	char *pat = malloc(n + 8);
	if (!pat) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* strip surrounding quotes and all spaces; ',' separates alternatives */
	const char *s = list, *e = list + n;
	while (s < e && (*s == '"' || *s == '\''))
		s++;
	while (e > s && (e[-1] == '"' || e[-1] == '\''))
		e--;
	size_t k = 0;
	pat[k++] = '^';
	pat[k++] = '(';
	for (; s < e; s++) {
		if (*s == ' ')
			continue;
		pat[k++] = *s == ',' ? '|' : *s;
	}
	pat[k++] = ')';
	pat[k++] = '$';
	pat[k] = '\0';
	int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	free(pat);
	if (rc) {
		char why[256];
		regerror(rc, re, why, sizeof(why));
		snprintf(err, errlen, "Invalid regular expression '%s': %s", list, why);
		return -1;
	}
	return 0;
}

bool ktool_topic_matches(const regex_t *re, const char *topic)
{
	return regexec(re, topic, 0, NULL, 0) == 0;
}

bool ktool_topic_internal(const char *topic)
{
	return !strcmp(topic, "__consumer_offsets") || !strcmp(topic, "__transaction_state");
}

/* ---- process ---- */

static volatile sig_atomic_t ktool_stop; /* the one global: written by the signal handler */

static void ktool_on_signal(int sig)
{
	(void)sig;
	ktool_stop = 1;
}

void ktool_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ktool_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool ktool_stop_requested(void)
{
	return ktool_stop != 0;
}

int64_t ktool_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the raw path ---- */

#define KTOOL_RAW_TIMEOUT_S 10
#define KTOOL_RAW_MAX_FRAME (16u << 20)

static void ktool_conf_str(const rd_kafka_conf_t *conf, const char *key, char *out, size_t n)
{
	size_t sz = n;
	if (!conf || rd_kafka_conf_get(conf, key, out, &sz) != RD_KAFKA_CONF_OK)
		out[0] = '\0';
}

/* One raw connection: a socket, and TLS over it when ssl is set. */
struct ktool_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void ktool_conn_close(struct ktool_conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

/* Writes (out) or reads n bytes. 0; -1 on an error or a timeout; 1 when a read meets the end of
 * the stream before its first byte. */
static int ktool_conn_io(struct ktool_conn *c, void *p, size_t n, bool out)
{
	for (size_t off = 0; off < n;) {
		ssize_t k;
		if (c->ssl) {
			int r = out ? SSL_write(c->ssl, (char *)p + off, (int)(n - off))
				    : SSL_read(c->ssl, (char *)p + off, (int)(n - off));
			k = r > 0 ? r : SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
		} else {
			k = out ? send(c->fd, (char *)p + off, n - off, MSG_NOSIGNAL) : recv(c->fd, (char *)p + off, n - off, 0);
		}
		if (k == 0 && !out && off == 0)
			return 1;
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

/* Connects to the first bootstrap server as the admin client would (PLAINTEXT or SSL). 0, or -1
 * when it cannot (a SASL transport, no address, a refused connection or handshake). */
static int ktool_conn_open(const rd_kafka_conf_t *conf, struct ktool_conn *c)
{
	char boot[512], ca[512], crt[512], key[512], ident[32], proto[32];
	if (!ktool_raw_ok(conf))
		return -1;
	ktool_conf_str(conf, "security.protocol", proto, sizeof(proto));
	ktool_conf_str(conf, "bootstrap.servers", boot, sizeof(boot));
	bool ssl = !strcasecmp(proto, "ssl");
	boot[strcspn(boot, ",")] = '\0';
	char *colon = strrchr(boot, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	char *host = boot;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		host++;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return -1;
	struct timeval tv = { KTOOL_RAW_TIMEOUT_S, 0 };
	for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, a->ai_addr, a->ai_addrlen)) {
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (c->fd < 0)
		return -1;
	if (!ssl)
		return 0;
	ktool_conf_str(conf, "ssl.ca.location", ca, sizeof(ca));
	ktool_conf_str(conf, "ssl.certificate.location", crt, sizeof(crt));
	ktool_conf_str(conf, "ssl.key.location", key, sizeof(key));
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || (ca[0] ? SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1
			     : SSL_CTX_set_default_verify_paths(c->ctx) != 1) ||
	    (crt[0] && SSL_CTX_use_certificate_chain_file(c->ctx, crt) != 1) ||
	    (key[0] && SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1))
		return -1;
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	/* the broker's name checked as librdkafka checks it (ssl.endpoint.identification.algorithm) */
	ktool_conf_str(conf, "ssl.endpoint.identification.algorithm", ident, sizeof(ident));
	if (!strcasecmp(ident, "https")) {
		unsigned char ip[16];
		bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
		if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1
			    : SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1)
			return -1;
	}
	if (SSL_connect(c->ssl) != 1)
		return -1;
	return 0;
}

bool ktool_raw_ok(const rd_kafka_conf_t *conf)
{
	char proto[32];
	ktool_conf_str(conf, "security.protocol", proto, sizeof(proto));
	return !strcasecmp(proto, "plaintext") || !strcasecmp(proto, "ssl");
}

void ktool_raw_begin(struct wbuf *w, int16_t api, int16_t ver, const char *client_id)
{
	wbuf_i32(w, 0); /* the frame's length, set by ktool_raw_call */
	wbuf_i16(w, api);
	wbuf_i16(w, ver);
	wbuf_i32(w, 1); /* correlation id */
	wbuf_str_i16(w, client_id);
}

int ktool_raw_call(const rd_kafka_conf_t *conf, struct wbuf *w, uint8_t **resp, size_t *resplen)
{
	struct ktool_conn c = { .fd = -1 };
	uint8_t hdr[4], *p = NULL;
	int rc = KTOOL_RAW_FAILED;
	*resp = NULL;
	*resplen = 0;
	if (w->err || w->len < 4)
		return KTOOL_RAW_FAILED;
	if (ktool_conn_open(conf, &c)) {
		rc = KTOOL_RAW_NOCONN;
		goto out;
	}
	wbuf_put_i32_at(w, 0, (int32_t)(w->len - 4));
	if (ktool_conn_io(&c, w->p, w->len, true))
		goto out;
	int io = ktool_conn_io(&c, hdr, 4, false);
	if (io) {
		rc = io > 0 ? KTOOL_RAW_CLOSED : KTOOL_RAW_FAILED;
		goto out;
	}
	uint32_t len = be32_get(hdr);
	if (len < 4 || len > KTOOL_RAW_MAX_FRAME || !(p = malloc(len)) || ktool_conn_io(&c, p, len, false) ||
	    be32_get(p) != 1)
		goto out;
	memmove(p, p + 4, len - 4);
	*resp = p;
	*resplen = len - 4;
	p = NULL;
	rc = KTOOL_RAW_OK;
out:
	free(p);
	ktool_conn_close(&c);
	return rc;
}

/*
 * kafka-leader-election — Kafka's LeaderElectionCommand (KIP-460, as shipped from 2.4.1 on, with
 * its argument checks and the "Valid replica already elected" line): asks the controller to
 * elect the preferred (or, unclean, any live) replica as the leader of some partitions.
 *
 *   kafka-leader-election --bootstrap-server H:P --election-type preferred|unclean
 *       (--topic T --partition P | --all-topic-partitions | --path-to-json-file F)
 *       [--admin.config F]
 *
 * librdkafka 2.0 (Debian's) has no ElectLeaders call, so this tool speaks the protocol itself
 * over blocking sockets: Metadata v1 to a bootstrap server gives the controller's id and
 * address, ElectLeaders v1 goes there; a NOT_CONTROLLER answer (top-level, or for every
 * partition, as a Kafka 2.x broker that lost the controllership answers), a refused
 * connection or an unknown controller make it look again, every retry.backoff.ms (100 ms), for
 * up to 30 s (Kafka's tool runs its admin client with a 30 s timeout). The bytes are encoded
 * and decoded by broker/wire/kelect alone.
 *
 * Output as Kafka's: "Successfully completed leader election (PREFERRED) for partitions t-0,
 * t-1", "Valid replica already elected for partitions t-2" (ELECTION_NOT_NEEDED), and per
 * failed partition "Error completing leader election (PREFERRED) for partition: t-3:
 * <exception>: <message>" followed, on stderr, by the AdminCommandFailedException "N replica(s)
 * could not be elected" and exit status 1. Partitions are listed sorted by topic then
 * partition (Kafka prints its hash sets' order). Argument errors are Kafka's messages, printed
 * as the JVM reports the uncaught exception (its first line), with exit status 1; no arguments
 * or --help print the usage on stderr and exit 1, as Kafka's CommandLineUtils does.
 *
 * One short-lived process: state lives in main's locals.
 */
#include "buf.h"
#include "err.h"
#include "json.h"
#include "kelect.h"
#include "ktool.h"
#include "props.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KLE_TIMEOUT_MS 30000	 /* Kafka's tool: run(args, 30.second) */
#define KLE_BACKOFF_MS 100	 /* the admin client's retry.backoff.ms */
#define KLE_GRACE_MS 2000	 /* past the controller's own timeout, before giving up on a reply */
#define KLE_MAX_REQUEST (64u << 20)
#define KLE_MAX_JSON (16u << 20)

#define KE_NOT_CONTROLLER 41
#define KE_CLUSTER_AUTHORIZATION_FAILED 31
#define KE_REQUEST_TIMED_OUT 7
#define KE_ELECTION_NOT_NEEDED 84

enum {
	O_BOOTSTRAP,
	O_ADMIN_CONFIG,
	O_JSON,
	O_TOPIC,
	O_PARTITION,
	O_ALL,
	O_TYPE,
	O_HELP,
	O_VERSION,
	O_COUNT
};

static const struct ktool_opt kle_opts_def[O_COUNT] = {
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: host:port",
				  "A hostname and port for the broker to connect to, in the form host:port. Multiple "
				  "comma separated URLs can be given. REQUIRED."),
	[O_ADMIN_CONFIG] = KTOOL_OPT("admin.config", KTOOL_ARG, "String: config file",
				     "Configuration properties files to pass to the admin client"),
	[O_JSON] = KTOOL_OPT("path-to-json-file", KTOOL_ARG, "String: Path to JSON file",
			     "The JSON file with the list  of partition for which leader elections should be "
			     "performed. This is an example format. {\"partitions\": [{\"topic\": \"foo\", "
			     "\"partition\": 1}, {\"topic\": \"foobar\", \"partition\": 2}]} Not allowed if "
			     "--all-topic-partitions or --topic flags are specified."),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "String: topic name",
			      "Name of topic for which to perform an election. Not allowed if --path-to-json-file "
			      "or --all-topic-partitions is specified."),
	[O_PARTITION] = KTOOL_OPT("partition", KTOOL_ARG, "Integer: partition id",
				  "Partition id for which to perform an election. REQUIRED if --topic is specified."),
	[O_ALL] = KTOOL_OPT("all-topic-partitions", KTOOL_FLAG, NULL,
			    "Perform election on all of the eligible topic partitions based on the type of "
			    "election (see the --election-type flag). Not allowed if --topic or "
			    "--path-to-json-file is specified."),
	[O_TYPE] = KTOOL_OPT("election-type", KTOOL_ARG, "[PREFERRED,UNCLEAN]: election type",
			     "Type of election to attempt. Possible values are \"preferred\" for preferred leader "
			     "election or \"unclean\" for unclean leader election. If preferred election is "
			     "selection, the election is only performed if the current leader is not the "
			     "preferred leader for the topic partition. If unclean election is selected, the "
			     "election is only performed if there are no leader for the topic partition. "
			     "REQUIRED."),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
};

static const char kle_intro[] = "This tool attempts to elect a new leader for a set of topic partitions. The "
				"type of elections supported are preferred replicas and unclean replicas.";

/* One partition to elect (owned copy of the topic). */
struct kle_tp {
	char *topic;
	int32_t partition;
};

/* One partition's outcome, as the controller reported it. */
struct kle_result {
	char *topic;
	int32_t partition;
	int16_t error;
	char *message; /* NULL: the error's default message */
};

struct kle_addr {
	char host[300];
	char port[16];
};

struct kle {
	struct ktool_opt o[O_COUNT];
	int8_t type;
	const char *type_name; /* PREFERRED or UNCLEAN */
	bool all;
	struct kle_tp *tps;
	size_t n_tps;
	struct kle_addr *boot;
	size_t n_boot;
	const char *client_id;
	struct props *admin_props;
	int32_t corr;
	int64_t deadline_us;
	struct kle_result *res;
	size_t n_res;
	char err[1024];
	const char *exception; /* the Java class the error is reported as */
	bool timed_out;
};

static int kle_fail(struct kle *k, const char *exception, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kle_fail(struct kle *k, const char *exception, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(k->err, sizeof(k->err), fmt, ap);
	va_end(ap);
	k->exception = exception;
	return -1;
}

/* The Java exception and default message of a Kafka error code (clients' Errors.java). */
static void kle_error_class(int16_t code, const char **cls, const char **msg)
{
	static const struct {
		int16_t code;
		const char *cls, *msg;
	} tab[] = {
		{ 3, "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
		  "This server does not host this topic-partition." },
		{ 7, "org.apache.kafka.common.errors.TimeoutException", "The request timed out." },
		{ 17, "org.apache.kafka.common.errors.InvalidTopicException",
		  "The request attempted to perform an operation on an invalid topic." },
		{ 31, "org.apache.kafka.common.errors.ClusterAuthorizationException", "Cluster authorization failed." },
		{ 35, "org.apache.kafka.common.errors.UnsupportedVersionException", "The version of API is not supported." },
		{ 41, "org.apache.kafka.common.errors.NotControllerException",
		  "This is not the correct controller for this cluster." },
		{ 42, "org.apache.kafka.common.errors.InvalidRequestException",
		  "This most likely occurs because of a request being malformed by the client library or the message "
		  "was sent to an incompatible broker. See the broker logs for more details." },
		{ 80, "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException",
		  "The preferred leader was not available." },
		{ 83, "org.apache.kafka.common.errors.EligibleLeadersNotAvailableException",
		  "Eligible topic partition leaders are not available." },
		{ 84, "org.apache.kafka.common.errors.ElectionNotNeededException",
		  "Leader election not needed for topic partition." },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == code) {
			*cls = tab[i].cls;
			*msg = tab[i].msg;
			return;
		}
	/* Errors.forCode maps any other code to UNKNOWN_SERVER_ERROR */
	*cls = "org.apache.kafka.common.errors.UnknownServerException";
	*msg = "The server experienced an unexpected error when processing the request.";
}

static int64_t kle_left_ms(const struct kle *k)
{
	int64_t left = (k->deadline_us - ktool_now_us()) / 1000;
	return left > 0 ? left : 0;
}

/* ---- arguments ---- */

/* "host:port[,host:port...]" as the admin client's bootstrap.servers takes it. */
static int kle_parse_bootstrap(struct kle *k, const char *list)
{
	size_t cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	k->boot = calloc(cap, sizeof(*k->boot));
	if (!k->boot)
		return kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
	const char *p = list;
	while (*p) {
		size_t l = strcspn(p, ",");
		char url[300];
		if (l >= sizeof(url))
			return kle_fail(k, "org.apache.kafka.common.config.ConfigException",
					"Invalid url in bootstrap.servers: %.*s", (int)l, p);
		memcpy(url, p, l);
		url[l] = '\0';
		char *s = url;
		while (*s == ' ')
			s++;
		char *e = s + strlen(s);
		while (e > s && e[-1] == ' ')
			*--e = '\0';
		if (*s) {
			char *colon = strrchr(s, ':');
			char *end = NULL;
			long port = colon ? strtol(colon + 1, &end, 10) : -1;
			if (!colon || colon == s || !colon[1] || *end || port < 0 || port > 65535)
				return kle_fail(k, "org.apache.kafka.common.config.ConfigException",
						"Invalid url in bootstrap.servers: %s", s);
			*colon = '\0';
			char *h = s;
			if (h[0] == '[' && colon[-1] == ']') { /* [v6]:port */
				colon[-1] = '\0';
				h++;
			}
			snprintf(k->boot[k->n_boot].host, sizeof(k->boot[k->n_boot].host), "%s", h);
			snprintf(k->boot[k->n_boot].port, sizeof(k->boot[k->n_boot].port), "%ld", port);
			k->n_boot++;
		}
		p += l + (p[l] == ',');
	}
	if (!k->n_boot)
		return kle_fail(k, "org.apache.kafka.common.config.ConfigException",
				"No resolvable bootstrap urls given in bootstrap.servers");
	return 0;
}

/*
 * --admin.config: a properties file for Kafka's admin client. This tool speaks PLAINTEXT only
 * and takes its timeouts from Kafka's tool (which overrides the file's), so it uses client.id
 * and refuses what would need another transport; other admin-client keys change nothing here.
 */
static int kle_load_admin_config(struct kle *k, const char *path)
{
	char e[512];
	if (props_load_file(path, &k->admin_props, e, sizeof(e)))
		return kle_fail(k, "java.io.FileNotFoundException", "%s", e);
	for (size_t i = 0; i < props_count(k->admin_props); i++) {
		const char *key, *val;
		int line;
		props_at(k->admin_props, i, &key, &val, &line);
		if (!strcmp(key, "client.id")) {
			k->client_id = val;
		} else if (!strcmp(key, "security.protocol")) {
			if (strcasecmp(val, "PLAINTEXT"))
				return kle_fail(k, "org.apache.kafka.common.config.ConfigException",
						"%s:%d: security.protocol=%s is not supported by this kafka-leader-election "
						"(PLAINTEXT only)", path, line, val);
		} else if (!strncmp(key, "ssl.", 4) || !strncmp(key, "sasl.", 5)) {
			return kle_fail(k, "org.apache.kafka.common.config.ConfigException",
					"%s:%d: %s is not supported by this kafka-leader-election (PLAINTEXT only)", path,
					line, key);
		}
	}
	return 0;
}

/* Adds one partition, keeping the list free of duplicates' copies (the caller checks them). */
static int kle_add_tp(struct kle *k, const char *topic, size_t tlen, int32_t partition, size_t *cap)
{
	if (k->n_tps == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct kle_tp *v = realloc(k->tps, ncap * sizeof(*v));
		if (!v)
			return kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
		k->tps = v;
		*cap = ncap;
	}
	char *t = strndup(topic, tlen);
	if (!t)
		return kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
	k->tps[k->n_tps].topic = t;
	k->tps[k->n_tps].partition = partition;
	k->n_tps++;
	return 0;
}

static int kle_cmp_tp(const void *a, const void *b)
{
	const struct kle_tp *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Kafka's parseReplicaElectionData: {"partitions": [{"topic": t, "partition": p}, ...]}. */
static int kle_parse_json_file(struct kle *k, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kle_fail(k, "java.nio.file.NoSuchFileException", "%s", path);
	char *text = malloc(KLE_MAX_JSON + 1);
	size_t len = text ? fread(text, 1, KLE_MAX_JSON + 1, f) : 0;
	bool rerr = ferror(f);
	fclose(f);
	if (!text)
		return kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
	if (rerr || len > KLE_MAX_JSON) {
		free(text);
		return kle_fail(k, "java.io.IOException", "%s: %s", path,
				rerr ? "read error" : "larger than the 16 MiB this tool reads");
	}
	struct json_doc *doc = NULL;
	char e[256];
	int rc = 0;
	size_t cap = 0;
	if (json_parse(text, len, &doc, e, sizeof(e))) {
		/* Kafka's Json.parseFull gives None for text that is not JSON */
		rc = kle_fail(k, "kafka.admin.AdminOperationException", "Replica election data is empty");
		goto done;
	}
	const struct json_value *root = json_root(doc);
	if (json_type(root) != JSON_OBJECT) {
		rc = kle_fail(k, "kafka.admin.AdminOperationException",
			      "Replica election data is not a JSON object");
		goto done;
	}
	const struct json_value *parts = json_get(root, "partitions");
	if (!parts) {
		rc = kle_fail(k, "kafka.admin.AdminOperationException",
			      "Replica election data is missing \"partitions\" field");
		goto done;
	}
	if (json_type(parts) != JSON_ARRAY) {
		rc = kle_fail(k, "kafka.admin.AdminOperationException",
			      "Replica election data: \"partitions\" is not an array");
		goto done;
	}
	for (size_t i = 0; i < json_len(parts) && rc == 0; i++) {
		const struct json_value *p = json_at(parts, i);
		const struct json_value *t = json_get(p, "topic");
		const struct json_value *n = json_get(p, "partition");
		size_t tlen = 0;
		const char *topic = json_string(t, &tlen);
		int64_t part;
		if (json_type(p) != JSON_OBJECT)
			rc = kle_fail(k, "kafka.admin.AdminOperationException",
				      "Replica election data: partitions[%zu] is not an object", i);
		else if (!t || !n)
			rc = kle_fail(k, "java.util.NoSuchElementException", "key not found: %s", t ? "partition" : "topic");
		else if (!topic || tlen == 0 || tlen > KELECT_MAX_STR || memchr(topic, '\0', tlen))
			rc = kle_fail(k, "kafka.admin.AdminOperationException",
				      "Replica election data: partitions[%zu].topic is not a topic name", i);
		else if (!json_int64(n, &part) || part < INT32_MIN || part > INT32_MAX)
			rc = kle_fail(k, "kafka.admin.AdminOperationException",
				      "Replica election data: partitions[%zu].partition is not an int", i);
		else
			rc = kle_add_tp(k, topic, tlen, (int32_t)part, &cap);
	}
	if (rc)
		goto done;
	qsort(k->tps, k->n_tps, sizeof(*k->tps), kle_cmp_tp);
	/* CoreUtils.duplicates: each repeated partition once, joined by "," */
	char dups[1024] = "";
	size_t dl = 0;
	for (size_t i = 1; i < k->n_tps; i++) {
		if (kle_cmp_tp(&k->tps[i - 1], &k->tps[i]) || (i >= 2 && !kle_cmp_tp(&k->tps[i - 2], &k->tps[i])))
			continue;
		int w = snprintf(dups + dl, sizeof(dups) - dl, "%s%s-%d", dl ? "," : "", k->tps[i].topic,
				 k->tps[i].partition);
		if (w > 0 && (size_t)w < sizeof(dups) - dl)
			dl += (size_t)w;
	}
	if (dl)
		rc = kle_fail(k, "kafka.admin.AdminOperationException",
			      "Replica election data contains duplicate partitions: %s", dups);
done:
	json_free(doc);
	free(text);
	return rc;
}

/* LeaderElectionCommand.validate, then the conversions run() makes. Returns 0 or -1 (k->err). */
static int kle_check_args(struct kle *k)
{
	const char *missing[2];
	size_t nm = 0;
	/* Kafka prepends each missing option to its list */
	if (!k->o[O_TYPE].seen)
		missing[nm++] = "election-type";
	if (!k->o[O_BOOTSTRAP].seen)
		missing[nm++] = "bootstrap-server";
	if (nm)
		return kle_fail(k, "kafka.common.AdminCommandFailedException", "Missing required option(s): %s%s%s",
				missing[0], nm > 1 ? ", " : "", nm > 1 ? missing[1] : "");
	if ((k->o[O_TOPIC].seen > 0) + (k->o[O_ALL].seen > 0) + (k->o[O_JSON].seen > 0) != 1)
		return kle_fail(k, "kafka.common.AdminCommandFailedException",
				"One and only one of the following options is required: topic, all-topic-partitions, "
				"path-to-json-file");
	if (k->o[O_TOPIC].seen && !k->o[O_PARTITION].seen)
		return kle_fail(k, "kafka.common.AdminCommandFailedException", "Missing required option(s): partition");
	if (!k->o[O_TOPIC].seen && k->o[O_PARTITION].seen)
		return kle_fail(k, "kafka.common.AdminCommandFailedException",
				"Option partition is only allowed if topic is used");
	/* joptsimple's EnumConverter: the constant's name, any case */
	const char *t = k->o[O_TYPE].value;
	if (!strcasecmp(t, "PREFERRED")) {
		k->type = KELECT_PREFERRED;
		k->type_name = "PREFERRED";
	} else if (!strcasecmp(t, "UNCLEAN")) {
		k->type = KELECT_UNCLEAN;
		k->type_name = "UNCLEAN";
	} else {
		return kle_fail(k, "joptsimple.OptionArgumentConversionException",
				"Cannot parse argument '%s' of option election-type", t);
	}
	if (k->o[O_JSON].seen && kle_parse_json_file(k, k->o[O_JSON].value))
		return -1;
	if (k->o[O_TOPIC].seen) {
		long long p;
		char e[256];
		size_t cap = 0;
		if (ktool_parse_int("partition", k->o[O_PARTITION].value, INT32_MIN, INT32_MAX, &p, e, sizeof(e)))
			return kle_fail(k, "joptsimple.OptionArgumentConversionException",
					"Cannot parse argument '%s' of option partition", k->o[O_PARTITION].value);
		const char *topic = k->o[O_TOPIC].value;
		if (strlen(topic) > KELECT_MAX_STR)
			return kle_fail(k, "org.apache.kafka.common.errors.InvalidTopicException",
					"Topic name is longer than %d characters", KELECT_MAX_STR);
		if (kle_add_tp(k, topic, strlen(topic), (int32_t)p, &cap))
			return -1;
	}
	k->all = k->o[O_ALL].seen > 0;
	if (kle_parse_bootstrap(k, k->o[O_BOOTSTRAP].value))
		return -1;
	if (k->o[O_ADMIN_CONFIG].seen && kle_load_admin_config(k, k->o[O_ADMIN_CONFIG].value))
		return -1;
	return 0;
}

/* ---- one request, one response, over a blocking socket with a deadline ---- */

/* Waits for fd to be ready for ev until deadline_us; 0, or -1 with errno (ETIMEDOUT). */
static int kle_wait_fd(int fd, short ev, int64_t deadline_us)
{
	for (;;) {
		int64_t left = (deadline_us - ktool_now_us()) / 1000;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = { .fd = fd, .events = ev };
		int n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connects to host:port (every address it resolves to, in turn) by deadline_us. */
static int kle_connect(const char *host, const char *port, int64_t deadline_us, char *eb, size_t el)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g) {
		snprintf(eb, el, "%s:%s: %s", host, port, gai_strerror(g));
		return -1;
	}
	int fd = -1;
	int last = ECONNREFUSED;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS && kle_wait_fd(fd, POLLOUT, deadline_us) == 0) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			rc = soerr ? -1 : 0;
			errno = soerr ? soerr : errno;
		}
		if (rc < 0) {
			last = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(eb, el, "%s:%s: %s", host, port, strerror(last));
	return fd;
}

/*
 * Sends the request frame req[0..len) to host:port and reads one response frame into *out
 * (malloc'd, without its length prefix; the caller frees it), all by deadline_us. Returns 0,
 * or -1 with the reason in eb (connection refused or broken, timeout, bad frame length).
 */
static int kle_roundtrip(const char *host, const char *port, const uint8_t *req, size_t len, int64_t deadline_us,
			 uint8_t **out, size_t *out_len, char *eb, size_t el)
{
	*out = NULL;
	*out_len = 0;
	int fd = kle_connect(host, port, deadline_us, eb, el);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (kle_wait_fd(fd, POLLOUT, deadline_us))
				goto io_fail;
		} else {
			goto io_fail;
		}
	}
	uint8_t hdr[4];
	uint8_t *buf = NULL;
	size_t want = sizeof(hdr), got = 0;
	for (;;) {
		uint8_t *dst = buf ? buf + got : hdr + got;
		ssize_t n = recv(fd, dst, want - got, 0);
		if (n > 0) {
			got += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (kle_wait_fd(fd, POLLIN, deadline_us)) {
				free(buf);
				goto io_fail;
			}
			continue;
		} else {
			if (n == 0)
				errno = ECONNRESET;
			free(buf);
			goto io_fail;
		}
		if (got < want)
			continue;
		if (buf)
			break;
		size_t flen;
		if (kelect_frame_len(hdr, &flen, eb, el)) {
			close(fd);
			return -1;
		}
		buf = malloc(flen);
		if (!buf) {
			snprintf(eb, el, "out of memory for a %zu-byte response", flen);
			close(fd);
			return -1;
		}
		want = flen;
		got = 0;
	}
	close(fd);
	*out = buf;
	*out_len = want;
	return 0;
io_fail:
	snprintf(eb, el, "%s:%s: %s", host, port, errno == ETIMEDOUT ? "no response in time" : strerror(errno));
	close(fd);
	return -1;
}

/* ---- the election ---- */

/* Metadata v1 from one bootstrap server: the controller's address into *ctl. Returns 1 found,
 * 0 when that broker knows no live controller, -1 when it could not be asked. */
static int kle_find_controller(struct kle *k, const struct kle_addr *boot, struct kle_addr *ctl, char *eb, size_t el)
{
	struct wbuf w;
	wbuf_init(&w, KLE_MAX_REQUEST);
	int32_t corr = ++k->corr;
	int rc = -1;
	uint8_t *resp = NULL;
	size_t rlen = 0;
	struct kelect_metadata md;
	memset(&md, 0, sizeof(md));
	if (kelect_metadata_encode(&w, corr, k->client_id)) {
		snprintf(eb, el, "cannot encode the Metadata request");
		goto done;
	}
	int64_t dl = ktool_now_us() + (int64_t)(kle_left_ms(k) < 15000 ? kle_left_ms(k) : 15000) * 1000;
	if (kle_roundtrip(boot->host, boot->port, w.p, w.len, dl, &resp, &rlen, eb, el))
		goto done;
	if (kelect_metadata_decode(resp, rlen, &md, eb, el))
		goto done;
	if (md.corr != corr) {
		snprintf(eb, el, "Metadata response: correlation id %d, expected %d", md.corr, corr);
		goto done;
	}
	rc = 0;
	for (size_t i = 0; i < md.n_brokers; i++) {
		if (md.brokers[i].id != md.controller_id || md.controller_id < 0)
			continue;
		if (md.brokers[i].host_len >= sizeof(ctl->host) || md.brokers[i].port < 0 || md.brokers[i].port > 65535)
			break;
		memcpy(ctl->host, md.brokers[i].host, md.brokers[i].host_len);
		ctl->host[md.brokers[i].host_len] = '\0';
		snprintf(ctl->port, sizeof(ctl->port), "%d", md.brokers[i].port);
		rc = 1;
		break;
	}
	if (rc == 0)
		snprintf(eb, el, "%s:%s knows no live controller (controller id %d)", boot->host, boot->port,
			 md.controller_id);
done:
	kelect_metadata_free(&md);
	free(resp);
	wbuf_free(&w);
	return rc;
}

static void kle_results_free(struct kle *k)
{
	for (size_t i = 0; i < k->n_res; i++) {
		free(k->res[i].topic);
		free(k->res[i].message);
	}
	free(k->res);
	k->res = NULL;
	k->n_res = 0;
}

/*
 * ElectLeaders v1 to the controller at ctl. Returns 1 when the answer is final (results in
 * k->res, or a top-level error in k->err), 0 when the election must be retried elsewhere
 * (NOT_CONTROLLER, no answer), -1 on a malformed answer.
 */
static int kle_elect_at(struct kle *k, const struct kle_addr *ctl, char *eb, size_t el)
{
	struct wbuf w;
	wbuf_init(&w, KLE_MAX_REQUEST);
	int32_t corr = ++k->corr;
	int rc = 0;
	uint8_t *resp = NULL;
	size_t rlen = 0;
	struct kelect_resp er;
	memset(&er, 0, sizeof(er));
	struct kelect_tp *tps = calloc(k->n_tps ? k->n_tps : 1, sizeof(*tps));
	if (!tps) {
		rc = kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
		goto done;
	}
	for (size_t i = 0; i < k->n_tps; i++) {
		tps[i].topic = k->tps[i].topic;
		tps[i].partition = k->tps[i].partition;
	}
	int64_t left = kle_left_ms(k);
	if (kelect_encode(&w, corr, k->client_id, k->type, k->all, tps, k->n_tps, (int32_t)left)) {
		rc = kle_fail(k, "org.apache.kafka.common.KafkaException", "cannot encode the ElectLeaders request");
		goto done;
	}
	if (kle_roundtrip(ctl->host, ctl->port, w.p, w.len, ktool_now_us() + (left + KLE_GRACE_MS) * 1000, &resp,
			  &rlen, eb, el))
		goto done;
	if (kelect_decode(resp, rlen, &er, eb, el) || er.corr != corr) {
		if (er.corr != corr && !*eb)
			snprintf(eb, el, "ElectLeaders response: correlation id %d, expected %d", er.corr, corr);
		rc = kle_fail(k, "org.apache.kafka.common.protocol.types.SchemaException", "%s", eb);
		goto done;
	}
	bool all_not_ctl = er.n_parts > 0;
	for (size_t i = 0; i < er.n_parts; i++)
		all_not_ctl &= er.parts[i].error == KE_NOT_CONTROLLER;
	if (er.error == KE_NOT_CONTROLLER || all_not_ctl) {
		snprintf(eb, el, "%s:%s is no longer the controller", ctl->host, ctl->port);
		goto done;
	}
	rc = 1;
	if (er.error) {
		const char *cls, *msg;
		kle_error_class(er.error, &cls, &msg);
		k->exception = cls;
		snprintf(k->err, sizeof(k->err), "%s", msg);
		goto done;
	}
	k->res = calloc(er.n_parts ? er.n_parts : 1, sizeof(*k->res));
	if (!k->res) {
		rc = kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
		goto done;
	}
	for (size_t i = 0; i < er.n_parts; i++) {
		struct kle_result *r = &k->res[k->n_res];
		r->topic = strndup((const char *)er.parts[i].topic, er.parts[i].topic_len);
		r->partition = er.parts[i].partition;
		r->error = er.parts[i].error;
		r->message = er.parts[i].message ? strndup((const char *)er.parts[i].message, er.parts[i].message_len)
						 : NULL;
		k->n_res++;
		if (!r->topic || (er.parts[i].message && !r->message)) {
			rc = kle_fail(k, "java.lang.OutOfMemoryError", "out of memory");
			goto done;
		}
	}
done:
	kelect_resp_free(&er);
	free(tps);
	free(resp);
	wbuf_free(&w);
	return rc;
}

/* Finds the controller and has it elect, retrying until the deadline. 0, or -1 (k->err). */
static int kle_run(struct kle *k)
{
	char eb[512] = "";
	size_t next_boot = 0;
	for (;;) {
		struct kle_addr ctl;
		int found = -1;
		for (size_t i = 0; i < k->n_boot && found != 1 && kle_left_ms(k) > 0; i++) {
			eb[0] = '\0';
			found = kle_find_controller(k, &k->boot[next_boot], &ctl, eb, sizeof(eb));
			next_boot = (next_boot + 1) % k->n_boot;
		}
		if (found == 1) {
			eb[0] = '\0';
			int rc = kle_elect_at(k, &ctl, eb, sizeof(eb));
			if (rc < 0)
				return -1;
			if (rc == 1)
				return k->exception ? -1 : 0;
		}
		if (getenv("KTOOL_DEBUG"))
			fprintf(stderr, "kafka-leader-election: retrying: %s\n", eb);
		if (kle_left_ms(k) <= KLE_BACKOFF_MS) {
			k->timed_out = true;
			return kle_fail(k, "kafka.common.AdminCommandFailedException", "Timeout waiting for election results");
		}
		struct timespec ts = { 0, KLE_BACKOFF_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static int kle_cmp_result(const void *a, const void *b)
{
	const struct kle_result *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Prints what electLeaders prints; returns the number of partitions that failed. */
static size_t kle_report(struct kle *k)
{
	qsort(k->res, k->n_res, sizeof(*k->res), kle_cmp_result);
	size_t nok = 0, nnoop = 0, nfail = 0;
	for (size_t i = 0; i < k->n_res; i++) {
		nok += k->res[i].error == 0;
		nnoop += k->res[i].error == KE_ELECTION_NOT_NEEDED;
	}
	nfail = k->n_res - nok - nnoop;
	if (nok) {
		printf("Successfully completed leader election (%s) for partitions ", k->type_name);
		for (size_t i = 0, j = 0; i < k->n_res; i++)
			if (k->res[i].error == 0)
				printf("%s%s-%d", j++ ? ", " : "", k->res[i].topic, k->res[i].partition);
		printf("\n");
	}
	if (nnoop) {
		printf("Valid replica already elected for partitions ");
		for (size_t i = 0, j = 0; i < k->n_res; i++)
			if (k->res[i].error == KE_ELECTION_NOT_NEEDED)
				printf("%s%s-%d", j++ ? ", " : "", k->res[i].topic, k->res[i].partition);
		printf("\n");
	}
	for (size_t i = 0; i < k->n_res; i++) {
		const struct kle_result *r = &k->res[i];
		if (r->error == 0 || r->error == KE_ELECTION_NOT_NEEDED)
			continue;
		const char *cls, *msg;
		kle_error_class(r->error, &cls, &msg);
		printf("Error completing leader election (%s) for partition: %s-%d: %s: %s\n", k->type_name, r->topic,
		       r->partition, cls, r->message ? r->message : msg);
	}
	return nfail;
}

/* The first line of what the JVM prints for an exception main lets escape. */
static void kle_uncaught(const char *exception, const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "Exception in thread \"main\" %s: %s\n", exception, msg);
}

int main(int argc, char **argv)
{
	struct kle k;
	char e[512];
	int status = 1;
	memset(&k, 0, sizeof(k));
	memcpy(k.o, kle_opts_def, sizeof(k.o));
	k.client_id = "adminclient-1";
	k.deadline_us = ktool_now_us() + (int64_t)KLE_TIMEOUT_MS * 1000;
	ktool_signals();
	if (ktool_opts_parse(k.o, O_COUNT, argc, argv, e, sizeof(e))) {
		/* joptsimple's OptionException escapes from the options' constructor */
		kle_uncaught(strstr(e, "not a recognized option")	? "joptsimple.UnrecognizedOptionException"
			     : strstr(e, "requires an argument") ? "joptsimple.OptionMissingRequiredArgumentException"
								  : "joptsimple.OptionException",
			     e);
		goto done;
	}
	if (argc < 2 || k.o[O_HELP].seen) { /* CommandLineUtils.printUsageAndDie: stderr, status 1 */
		ktool_usage(stderr, kle_intro, k.o, O_COUNT);
		goto done;
	}
	if (k.o[O_VERSION].seen) {
		printf("%s (samsa)\n", SAMSA_VERSION);
		status = 0;
		goto done;
	}
	if (kle_check_args(&k)) {
		kle_uncaught(k.exception, k.err);
		goto done;
	}
	if (kle_run(&k)) {
		if (k.timed_out) {
			printf("Timeout waiting for election results\n");
			kle_uncaught(k.exception, k.err);
		} else if (k.exception && !strcmp(k.exception, "org.apache.kafka.common.errors.ClusterAuthorizationException")) {
			printf("Not authorized to perform leader election\n");
			kle_uncaught("kafka.common.AdminCommandFailedException", "Not authorized to perform leader election");
		} else {
			char m[1200];
			snprintf(m, sizeof(m), "%s: %s", k.exception, k.err);
			kle_uncaught("java.util.concurrent.ExecutionException", m);
		}
		goto done;
	}
	size_t nfail = kle_report(&k);
	if (nfail) {
		char m[64];
		snprintf(m, sizeof(m), "%zu replica(s) could not be elected", nfail);
		kle_uncaught("kafka.common.AdminCommandFailedException", m);
		goto done;
	}
	status = 0;
done:
	for (size_t i = 0; i < k.n_tps; i++)
		free(k.tps[i].topic);
	free(k.tps);
	free(k.boot);
	kle_results_free(&k);
	props_free(k.admin_props);
	ktool_opts_free(k.o, O_COUNT);
	return status;
}

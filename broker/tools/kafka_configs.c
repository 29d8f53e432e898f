/*
 * kafka-configs — Kafka's config command on librdkafka's admin API (DescribeConfigs,
 * AlterConfigs) and IncrementalAlterConfigs spoken here, for topics and brokers, with Kafka 2.x's
 * flags and output:
 *
 *   kafka-configs --bootstrap-server H:P --entity-type topics|brokers [--entity-name N] --describe
 *   kafka-configs --bootstrap-server H:P --entity-type topics --entity-name T --alter \
 *                 [--add-config k=v[,k2=[a,b]]] [--delete-config k[,k2]]
 *
 * --describe prints the dynamic configs of each entity ("Dynamic configs for topic t are:"
 * then "  k=v sensitive=false synonyms={SOURCE:k=v, ...}"); without a name, every topic (or
 * every broker). --entity-default (the brokers' cluster-wide default, resource name "") is
 * refused: librdkafka 2.0 sends a broker resource to the broker its name numbers. --alter
 * first reads the entity's current dynamic configs to refuse deleting a key that is not set
 * ("Invalid config(s): k"), then prints "Completed updating config for topic t." after:
 *
 *   - a topic: IncrementalAlterConfigs (API 44, v0, the version the broker serves; Kafka 2.7's
 *     ConfigCommand does the same through AdminClient.incrementalAlterConfigs), SET for each
 *     --add-config entry and DELETE for each --delete-config key, so the broker edits the set
 *     its coordinator holds and an edit made by someone else since the describe is kept.
 *     librdkafka 2.0 has no incremental call, so it is sent through ktool's raw path (first
 *     bootstrap server) with broker/wire/kwconfig. That path cannot speak SASL, so over a SASL
 *     transport, when the first bootstrap server cannot be reached, or when it closes the
 *     connection without answering (as a Kafka broker older than 2.3 does to an API it does
 *     not serve), the topic is altered as brokers are (below), with the race that implies.
 *   - a broker: the current dynamic set, with the additions and without the deletions, written
 *     whole with AlterConfigs (Kafka 2.7's ConfigCommand still alters brokers so).
 *
 * Users' SCRAM credentials are written to the coordinator, as Kafka 2.x's command does:
 *
 *   kafka-configs --zookeeper H:P[/chroot] --entity-type users --entity-name alice --alter \
 *                 --add-config 'SCRAM-SHA-256=[iterations=8192,password=pw],SCRAM-SHA-512=[password=pw]'
 *   kafka-configs --zookeeper H:P --entity-type users --entity-name alice --alter --delete-config SCRAM-SHA-512
 *   kafka-configs --zookeeper H:P --entity-type users --entity-name alice --describe
 *
 * A SCRAM-SHA-256/512 value [iterations=N,password=P] (iterations 4096 by default, at least
 * 4096) becomes Kafka's credential "salt=..,stored_key=..,server_key=..,iterations=N" (a random
 * salt, PBKDF2 and HMAC as ScramFormatter does; broker/wire/ksasl); the user's entity config
 * /config/users/<sanitized name> ({"version":1,"config":{..}}) is rewritten with the additions and
 * without the deletions, then a /config/changes/config_change_ notification {"version":2,
 * "entity_path":"users/<name>"} is created. Failures print "Error while executing
 * config command with args '...'" and the exception with its message on stderr, exit 1.
 */
#include "ktool.h"

#include "buf.h"
#include "ksasl.h"
#include "ktzk.h"
#include "kwconfig.h"
#include "kznode.h"
#include "log.h"

#include <openssl/rand.h>
#include <zookeeper/zookeeper.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define KC_TIMEOUT_MS 30000
#define KC_MAX_ADD 64 /* configs added to a user at once */

enum {
	O_BOOTSTRAP,
	O_ZOOKEEPER,
	O_COMMAND_CONFIG,
	O_ENTITY_TYPE,
	O_ENTITY_NAME,
	O_ENTITY_DEFAULT,
	O_DESCRIBE,
	O_ALTER,
	O_ADD_CONFIG,
	O_DELETE_CONFIG,
	O_HELP,
	O_VERSION,
	O_COUNT
};

static const struct ktool_opt kc_opts_def[O_COUNT] = {
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
				  "The Kafka server to connect to."),
	[O_ZOOKEEPER] = KTOOL_OPT("zookeeper", KTOOL_ARG, "String: urls",
				  "The ZooKeeper connection string (host:port[/chroot]): for --entity-type users "
				  "(SCRAM credentials) only; topics and brokers use --bootstrap-server."),
	[O_COMMAND_CONFIG] = KTOOL_OPT("command-config", KTOOL_ARG, "String: command config property file",
				       "Property file containing configs to be passed to Admin Client."),
	[O_ENTITY_TYPE] = KTOOL_OPT("entity-type", KTOOL_ARG, "String",
				    "Type of entity (topics/brokers/users)"),
	[O_ENTITY_NAME] = KTOOL_OPT("entity-name", KTOOL_ARG, "String",
				    "Name of entity (topic name/broker id/user principal name)"),
	[O_ENTITY_DEFAULT] = KTOOL_OPT("entity-default", KTOOL_FLAG, NULL,
				       "Default entity name for brokers (applies to corresponding entity type in "
				       "command line)"),
	[O_DESCRIBE] = KTOOL_OPT("describe", KTOOL_FLAG, NULL, "List configs for the given entity."),
	[O_ALTER] = KTOOL_OPT("alter", KTOOL_FLAG, NULL, "Alter the configuration for the entity."),
	[O_ADD_CONFIG] = KTOOL_OPT("add-config", KTOOL_ARG, "String",
				   "Key Value pairs of configs to add. Square brackets can be used to group "
				   "values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'."),
	[O_DELETE_CONFIG] = KTOOL_OPT("delete-config", KTOOL_ARG, "String", "config keys to remove 'k1,k2'"),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
};

static const char kc_intro[] = "This tool helps to manipulate and describe entity config for a topic, broker or user";

struct kc {
	struct ktool_opt o[O_COUNT];
	bool topics; /* else brokers */
	bool users;  /* --zookeeper, SCRAM credentials */
	char err[1024];
	const char *exception;
	rd_kafka_conf_t *conf; /* a copy of the admin client's settings, for the raw path */
};

static int kc_fail(struct kc *kc, const char *exception, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kc_fail(struct kc *kc, const char *exception, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kc->err, sizeof(kc->err), fmt, ap);
	va_end(ap);
	kc->exception = exception;
	return -1;
}

static const char *kc_exception(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		return "org.apache.kafka.common.errors.UnknownTopicOrPartitionException";
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
		return "org.apache.kafka.common.errors.InvalidConfigurationException";
	case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
		return "org.apache.kafka.common.errors.InvalidRequestException";
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		return "org.apache.kafka.common.errors.TimeoutException";
	default:
		return "org.apache.kafka.common.KafkaException";
	}
}

/* ---- k=v lists ---- */

struct kc_kv {
	char *key;
	char *value; /* NULL for --delete-config keys */
};

static void kc_kvs_free(struct kc_kv *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* Kafka's parseConfigsToBeAdded: pairs split at commas outside [...], each "k=v" with exactly
 * one '=' ([a,b] values lose their brackets). */
static int kc_parse_add(struct kc *kc, const char *s, struct kc_kv **out, size_t *n)
{
	size_t cap = strlen(s) + 1;
	struct kc_kv *v = calloc(cap, sizeof(*v));
	char *tok = malloc(cap);
	*out = NULL;
	*n = 0;
	if (!v || !tok) {
		free(v);
		free(tok);
		return kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
	}
	size_t k = 0, tl = 0;
	int depth = 0;
	for (const char *p = s;; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		if ((*p == ',' && depth == 0) || *p == '\0') {
			tok[tl] = '\0';
			/* the '=' outside [...]: exactly one */
			char *eq = NULL;
			int d = 0, outside = 0;
			for (char *t = tok; *t; t++) {
				if (*t == '[')
					d++;
				else if (*t == ']' && d > 0)
					d--;
				else if (*t == '=' && d == 0 && outside++ == 0)
					eq = t;
			}
			if (!eq || eq == tok || outside != 1) {
				free(tok);
				kc_kvs_free(v, k);
				return kc_fail(kc, "java.lang.IllegalArgumentException",
					       "requirement failed: Invalid entity config: all configs to be added must be in "
					       "the format \"key=val\".");
			}
			*eq = '\0';
			char *val = eq + 1;
			size_t vl = strlen(val);
			if (vl >= 2 && val[0] == '[' && val[vl - 1] == ']') {
				val[vl - 1] = '\0';
				val++;
			}
			v[k].key = strdup(tok);
			v[k].value = strdup(val);
			k++;
			tl = 0;
			if (*p == '\0')
				break;
			continue;
		}
		tok[tl++] = *p;
	}
	free(tok);
	*out = v;
	*n = k;
	return 0;
}

static int kc_parse_delete(struct kc *kc, const char *s, struct kc_kv **out, size_t *n)
{
	size_t cap = strlen(s) + 1;
	struct kc_kv *v = calloc(cap, sizeof(*v));
	*n = 0;
	*out = v;
	if (!v)
		return kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
	const char *p = s;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (l)
			v[(*n)++].key = strndup(p, l);
		p += l + (p[l] == ',');
	}
	return 0;
}

/* ---- admin calls ---- */

static rd_kafka_t *kc_admin_new(struct kc *kc)
{
	char e[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ktool_conf_logging(conf);
	if (ktool_conf_set(conf, KTOOL_ADMIN, "client.id", "adminclient-1", e, sizeof(e)) ||
	    (kc->o[O_COMMAND_CONFIG].seen &&
	     ktool_conf_load(conf, KTOOL_ADMIN, kc->o[O_COMMAND_CONFIG].value, e, sizeof(e))) ||
	    ktool_conf_set(conf, KTOOL_ADMIN, "bootstrap.servers", kc->o[O_BOOTSTRAP].value, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		kc_fail(kc, "org.apache.kafka.common.config.ConfigException", "%s", e);
		return NULL;
	}
	kc->conf = rd_kafka_conf_dup(conf);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		kc_fail(kc, "org.apache.kafka.common.KafkaException", "Failed to create new KafkaAdminClient: %s", e);
	}
	return rk;
}

static rd_kafka_event_t *kc_wait(struct kc *kc, rd_kafka_queue_t *q, const char *call)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KC_TIMEOUT_MS + 5000);
	if (!ev) {
		kc_fail(kc, "org.apache.kafka.common.errors.TimeoutException", "Call(callName=%s) timed out", call);
		return NULL;
	}
	rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
	if (e) {
		kc_fail(kc, kc_exception(e), "%s", rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static rd_kafka_AdminOptions_t *kc_options(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
	char e[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, KC_TIMEOUT_MS, e, sizeof(e));
	return ao;
}

/* The source that marks an entity's own dynamic configs. */
static rd_kafka_ConfigSource_t kc_own_source(const struct kc *kc, const char *name)
{
	if (kc->topics)
		return RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
	return name[0] ? RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG : RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG;
}

/*
 * DescribeConfigs of one entity; calls fn for each of its own dynamic entries. ev_out keeps the
 * result alive for the caller (destroy it). Returns 0 or -1 (kc->err).
 */
static int kc_describe_one(struct kc *kc, rd_kafka_t *rk, const char *name, rd_kafka_event_t **ev_out,
			   const rd_kafka_ConfigEntry_t ***entries, size_t *n)
{
	rd_kafka_ConfigResource_t *res =
		rd_kafka_ConfigResource_new(kc->topics ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_BROKER, name);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = kc_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
	rd_kafka_DescribeConfigs(rk, &res, 1, ao, q);
	rd_kafka_event_t *ev = kc_wait(kc, q, "describeConfigs");
	int rc = -1;
	*ev_out = NULL;
	if (ev) {
		size_t nr = 0;
		const rd_kafka_ConfigResource_t **rs =
			rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nr);
		if (nr != 1) {
			kc_fail(kc, "org.apache.kafka.common.KafkaException", "no result for %s", name);
		} else if (rd_kafka_ConfigResource_error(rs[0])) {
			rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(rs[0]);
			const char *m = rd_kafka_ConfigResource_error_string(rs[0]);
			kc_fail(kc, kc_exception(e), "%s", m && *m ? m : rd_kafka_err2str(e));
		} else {
			*entries = rd_kafka_ConfigResource_configs(rs[0], n);
			*ev_out = ev;
			ev = NULL;
			rc = 0;
		}
		if (ev)
			rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(res);
	return rc;
}

static int kc_describe_entity(struct kc *kc, rd_kafka_t *rk, const char *name)
{
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigEntry_t **es = NULL;
	size_t n = 0;
	if (kc_describe_one(kc, rk, name, &ev, &es, &n))
		return -1;
	if (!kc->topics && !name[0])
		printf("Default configs for brokers in the cluster are:\n");
	else
		printf("Dynamic configs for %s %s are:\n", kc->topics ? "topic" : "broker", name);
	rd_kafka_ConfigSource_t own = kc_own_source(kc, name);
	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_ConfigEntry_source(es[i]) != own)
			continue;
		const char *v = rd_kafka_ConfigEntry_value(es[i]);
		printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(es[i]), v ? v : "null",
		       rd_kafka_ConfigEntry_is_sensitive(es[i]) ? "true" : "false");
		size_t ns = 0;
		const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(es[i], &ns);
		for (size_t k = 0; k < ns; k++) {
			const char *sv = rd_kafka_ConfigEntry_value(syn[k]);
			printf("%s%s:%s=%s", k ? ", " : "", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[k])),
			       rd_kafka_ConfigEntry_name(syn[k]), sv ? sv : "null");
		}
		printf("}\n");
	}
	rd_kafka_event_destroy(ev);
	return 0;
}

static int kc_describe(struct kc *kc, rd_kafka_t *rk)
{
	if (kc->o[O_ENTITY_NAME].seen)
		return kc_describe_entity(kc, rk, kc->o[O_ENTITY_NAME].value);
	/* every topic, or every broker then the cluster default */
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, KC_TIMEOUT_MS);
	if (e)
		return kc_fail(kc, kc_exception(e), "%s", rd_kafka_err2str(e));
	int rc = 0;
	if (kc->topics) {
		char **names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
		int nn = 0;
		for (int i = 0; names && i < md->topic_cnt; i++)
			if (!md->topics[i].err)
				names[nn++] = md->topics[i].topic;
		for (int i = 1; i < nn; i++) /* sorted, as Kafka lists them */
			for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
				char *x = names[j];
				names[j] = names[j - 1];
				names[j - 1] = x;
			}
		for (int i = 0; i < nn && rc == 0; i++)
			rc = kc_describe_entity(kc, rk, names[i]);
		free(names);
	} else {
		int32_t *ids = calloc((size_t)md->broker_cnt + 1, sizeof(*ids));
		for (int i = 0; ids && i < md->broker_cnt; i++) { /* by id */
			ids[i] = md->brokers[i].id;
			for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
				int32_t x = ids[j];
				ids[j] = ids[j - 1];
				ids[j - 1] = x;
			}
		}
		for (int i = 0; ids && i < md->broker_cnt && rc == 0; i++) {
			char id[16];
			snprintf(id, sizeof(id), "%d", ids[i]);
			rc = kc_describe_entity(kc, rk, id);
		}
		free(ids);
	}
	rd_kafka_metadata_destroy(md);
	return rc;
}

/*
 * IncrementalAlterConfigs v0 of topic name through the raw path: SET for each addition, DELETE
 * for each deletion. KTOOL_RAW_OK when the broker altered it; KTOOL_RAW_FAILED with kc->err
 * when it refused or answered badly; KTOOL_RAW_NOCONN or KTOOL_RAW_CLOSED when the caller is to
 * alter it with AlterConfigs instead (a SASL transport, no connection, no answer).
 */
static int kc_alter_incremental(struct kc *kc, const char *name, const struct kc_kv *add, size_t nadd,
				const struct kc_kv *del, size_t ndel)
{
	if (!kc->conf || !ktool_raw_ok(kc->conf))
		return KTOOL_RAW_NOCONN;
	struct kwconfig_entry_in *e = calloc(nadd + ndel + 1, sizeof(*e));
	if (!e) {
		kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
		return KTOOL_RAW_FAILED;
	}
	for (size_t i = 0; i < nadd; i++) /* Kafka's order: the SETs, then the DELETEs */
		e[i] = (struct kwconfig_entry_in){ .name = add[i].key, .value = add[i].value, .op = KWCONFIG_OP_SET };
	for (size_t i = 0; i < ndel; i++)
		e[nadd + i] = (struct kwconfig_entry_in){ .name = del[i].key, .op = KWCONFIG_OP_DELETE };
	struct kwconfig_ac_rreq res = { .type = 2 /* TOPIC */, .name = (char *)name, .n = (int32_t)(nadd + ndel),
					.entries = e };
	struct kwconfig_ac_req q = { .n = 1, .res = &res };
	struct kwconfig_ac_resp p = { 0 };
	struct wbuf w;
	uint8_t *resp = NULL;
	size_t len = 0;
	int rc = KTOOL_RAW_FAILED;
	wbuf_init(&w, 1 << 20);
	ktool_raw_begin(&w, KWCONFIG_API_INCREMENTAL, 0, "adminclient-1");
	if (kwconfig_ac_req_encode(&w, true, 0, &q)) {
		kc_fail(kc, "org.apache.kafka.common.errors.RecordTooLargeException",
			"the IncrementalAlterConfigs request is too large");
		rc = KTOOL_RAW_FAILED;
		goto out;
	}
	rc = ktool_raw_call(kc->conf, &w, &resp, &len);
	if (rc == KTOOL_RAW_NOCONN || rc == KTOOL_RAW_CLOSED)
		goto out;
	struct rbuf r = rbuf_make(resp, len);
	if (rc != KTOOL_RAW_OK || kwconfig_ac_resp_decode(&r, &p) || p.n != 1) {
		kc_fail(kc, "org.apache.kafka.common.KafkaException", "%s answer to IncrementalAlterConfigs",
			rc == KTOOL_RAW_OK ? "a malformed" : "no");
		rc = KTOOL_RAW_FAILED;
		goto out;
	}
	if (p.res[0].error) {
		rd_kafka_resp_err_t err = (rd_kafka_resp_err_t)p.res[0].error;
		const char *m = p.res[0].message;
		kc_fail(kc, kc_exception(err), "%s", m && *m ? m : rd_kafka_err2str(err));
		rc = KTOOL_RAW_FAILED;
		goto out;
	}
	rc = KTOOL_RAW_OK;
out:
	kwconfig_ac_resp_free(&p);
	free(resp);
	wbuf_free(&w);
	free(e);
	return rc;
}

static int kc_alter(struct kc *kc, rd_kafka_t *rk)
{
	const char *name = kc->o[O_ENTITY_NAME].value;
	struct kc_kv *add = NULL, *del = NULL;
	size_t nadd = 0, ndel = 0;
	int rc = 0;
	if (kc->o[O_ADD_CONFIG].seen)
		rc = kc_parse_add(kc, kc->o[O_ADD_CONFIG].value, &add, &nadd);
	if (rc == 0 && kc->o[O_DELETE_CONFIG].seen)
		rc = kc_parse_delete(kc, kc->o[O_DELETE_CONFIG].value, &del, &ndel);
	rd_kafka_event_t *dev = NULL;
	const rd_kafka_ConfigEntry_t **es = NULL;
	size_t n = 0;
	if (rc == 0)
		rc = kc_describe_one(kc, rk, name, &dev, &es, &n);
	rd_kafka_ConfigSource_t own = kc_own_source(kc, name);
	/* deleting a config that is not set is Kafka's "Invalid config(s)" */
	char bad[512] = "";
	size_t bl = 0;
	for (size_t d = 0; rc == 0 && d < ndel; d++) {
		bool set = false;
		for (size_t i = 0; i < n; i++)
			set |= rd_kafka_ConfigEntry_source(es[i]) == own && !strcmp(rd_kafka_ConfigEntry_name(es[i]), del[d].key);
		if (!set) {
			int k = snprintf(bad + bl, sizeof(bad) - bl, "%s%s", bl ? "," : "", del[d].key);
			if (k > 0 && (size_t)k < sizeof(bad) - bl)
				bl += (size_t)k;
		}
	}
	if (rc == 0 && bl)
		rc = kc_fail(kc, "org.apache.kafka.common.errors.InvalidConfigurationException", "Invalid config(s): %s", bad);
	rd_kafka_ConfigResource_t *res = NULL;
	/* a topic: IncrementalAlterConfigs; a broker, or a topic the raw path cannot reach: the
	 * whole set with AlterConfigs (see the top comment) */
	int raw = rc == 0 && kc->topics ? kc_alter_incremental(kc, name, add, nadd, del, ndel) : KTOOL_RAW_NOCONN;
	if (raw == KTOOL_RAW_OK || raw == KTOOL_RAW_FAILED) {
		rc = raw == KTOOL_RAW_OK ? 0 : -1;
	} else if (rc == 0) {
		res = rd_kafka_ConfigResource_new(kc->topics ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_BROKER, name);
		/* the current dynamic set, minus deletions and what is added again, plus additions */
		for (size_t i = 0; i < n; i++) {
			const char *k = rd_kafka_ConfigEntry_name(es[i]);
			bool drop = rd_kafka_ConfigEntry_source(es[i]) != own;
			for (size_t d = 0; d < ndel && !drop; d++)
				drop = !strcmp(del[d].key, k);
			for (size_t a = 0; a < nadd && !drop; a++)
				drop = !strcmp(add[a].key, k);
			if (!drop)
				rd_kafka_ConfigResource_set_config(res, k, rd_kafka_ConfigEntry_value(es[i]));
		}
		for (size_t a = 0; a < nadd; a++)
			rd_kafka_ConfigResource_set_config(res, add[a].key, add[a].value);
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *ao = kc_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
		rd_kafka_AlterConfigs(rk, &res, 1, ao, q);
		rd_kafka_event_t *ev = kc_wait(kc, q, "alterConfigs");
		if (!ev) {
			rc = -1;
		} else {
			size_t nr = 0;
			const rd_kafka_ConfigResource_t **rs =
				rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &nr);
			rd_kafka_resp_err_t e = nr == 1 ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__FAIL;
			if (e) {
				const char *m = nr == 1 ? rd_kafka_ConfigResource_error_string(rs[0]) : NULL;
				rc = kc_fail(kc, kc_exception(e), "%s", m && *m ? m : rd_kafka_err2str(e));
			}
			rd_kafka_event_destroy(ev);
		}
		rd_kafka_AdminOptions_destroy(ao);
		rd_kafka_queue_destroy(q);
	}
	if (rc == 0) {
		if (kc->topics)
			printf("Completed updating config for topic %s.\n", name);
		else if (name[0])
			printf("Completed updating config for broker %s.\n", name);
		else
			printf("Completed updating default config for brokers in the cluster.\n");
	}
	if (res)
		rd_kafka_ConfigResource_destroy(res);
	if (dev)
		rd_kafka_event_destroy(dev);
	kc_kvs_free(add, nadd);
	kc_kvs_free(del, ndel);
	return rc;
}

/* ---- main ---- */

static int kc_usage_error(struct kc *kc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int kc_usage_error(struct kc *kc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, kc_intro, kc->o, O_COUNT);
	return 1;
}

/* ---- users: SCRAM credentials in the coordinator ---- */

/* "iterations=N,password=P" (either order; iterations optional) into a credential string. */
static int kc_scram_value(struct kc *kc, enum ksasl_mech m, const char *v, char *out, size_t n)
{
	long long iterations = 4096;
	const char *pw = NULL;
	size_t pwl = 0;
	for (const char *p = v; *p;) {
		size_t l = strcspn(p, ",");
		if (!strncmp(p, "iterations=", 11) && l > 11) {
			char num[16];
			snprintf(num, sizeof(num), "%.*s", (int)(l - 11), p + 11);
			char *end;
			iterations = strtoll(num, &end, 10);
			if (*end || l - 11 >= sizeof(num))
				return kc_fail(kc, "java.lang.IllegalArgumentException",
					       "Invalid iterations %.*s for %s", (int)(l - 11), p + 11, ksasl_mech_name(m));
		} else if (!strncmp(p, "password=", 9)) {
			pw = p + 9;
			pwl = l - 9;
		} else {
			return kc_fail(kc, "java.lang.IllegalArgumentException",
				       "Invalid credential property %.*s for %s: iterations=N,password=P", (int)l, p,
				       ksasl_mech_name(m));
		}
		p += l + (p[l] == ',');
	}
	if (!pw || pwl == 0)
		return kc_fail(kc, "java.lang.IllegalArgumentException", "Password not specified for %s", ksasl_mech_name(m));
	if (iterations < 4096 || iterations > INT32_MAX)
		return kc_fail(kc, "java.lang.IllegalArgumentException",
			       "Iterations %lld is less than the minimum 4096 required for %s", iterations, ksasl_mech_name(m));
	/* a salt as ScramFormatter makes one: a random number's base-36 digits */
	uint8_t rnd[26], salt[26];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return kc_fail(kc, "java.lang.IllegalStateException", "no random bytes for the salt");
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)"0123456789abcdefghijklmnopqrstuvwxyz"[rnd[i] % 36];
	char *password = strndup(pw, pwl);
	if (!password)
		return kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
	struct ksasl_scram_cred c;
	int rc = ksasl_scram_cred_make(m, password, salt, sizeof(salt), (int32_t)iterations, &c);
	free(password);
	if (rc || ksasl_scram_cred_encode(&c, out, n))
		return kc_fail(kc, "java.lang.IllegalStateException", "cannot make the %s credential", ksasl_mech_name(m));
	return 0;
}

static int kc_zk_fail(struct kc *kc, int rc, const char *path)
{
	if (rc == ZOPERATIONTIMEOUT)
		return kc_fail(kc, "kafka.zookeeper.ZooKeeperClientTimeoutException",
			       "Timed out waiting for a reply for %s", path);
	return kc_fail(kc, "org.apache.zookeeper.KeeperException", "KeeperErrorCode = %s for %s", zerror(rc), path);
}

static int kc_users(struct kc *kc)
{
	const char *name = kc->o[O_ENTITY_NAME].value;
	char san[1024], path[1100], ep[1100];
	if (ksasl_sanitize(name, san, sizeof(san)))
		return kc_fail(kc, "java.lang.IllegalArgumentException", "user name too long");
	snprintf(path, sizeof(path), "/config/users/%s", san);
	struct ktzk *z = NULL;
	int zrc = ktzk_open(kc->o[O_ZOOKEEPER].value, KC_TIMEOUT_MS, &z);
	if (zrc == ZBADARGUMENTS)
		return kc_fail(kc, "java.lang.IllegalArgumentException", "Invalid ZooKeeper connect string %s",
			       kc->o[O_ZOOKEEPER].value);
	if (zrc != ZOK)
		return kc_fail(kc, "kafka.zookeeper.ZooKeeperClientTimeoutException",
			       "Timed out waiting for connection while in state: CONNECTING");
	int rc = -1;
	char *data = NULL, *json = NULL, *note = NULL;
	int len = 0;
	struct kznode_conf *cur = NULL;
	int32_t ncur = 0;
	struct kc_kv *add = NULL, *del = NULL;
	size_t nadd = 0, ndel = 0;
	char eb[256];
	zrc = ktzk_get(z, path, &data, &len);
	if (zrc != ZOK && zrc != ZNONODE) {
		kc_zk_fail(kc, zrc, path);
		goto out;
	}
	if (data && kznode_config_decode(data, (size_t)len, &cur, &ncur, eb, sizeof(eb))) {
		kc_fail(kc, "org.apache.kafka.common.KafkaException", "%s: %s", path, eb);
		goto out;
	}
	if (kc->o[O_DESCRIBE].seen) {
		printf("Configs for user-principal '%s' are ", name);
		for (int32_t i = 0; i < ncur; i++)
			printf("%s%s=%s", i ? "," : "", cur[i].name, cur[i].value);
		printf("\n");
		rc = 0;
		goto out;
	}
	if ((kc->o[O_ADD_CONFIG].seen && kc_parse_add(kc, kc->o[O_ADD_CONFIG].value, &add, &nadd)) ||
	    (kc->o[O_DELETE_CONFIG].seen && kc_parse_delete(kc, kc->o[O_DELETE_CONFIG].value, &del, &ndel)))
		goto out;
	for (size_t i = 0; i < ndel; i++) {
		bool found = false;
		for (int32_t k = 0; k < ncur; k++)
			found |= !strcmp(cur[k].name, del[i].key);
		if (!found) {
			kc_fail(kc, "org.apache.kafka.common.errors.InvalidConfigurationException", "Invalid config(s): %s",
				del[i].key);
			goto out;
		}
	}
	/* the new set: current minus deleted and re-added, then the additions */
	struct kznode_conf *nw = calloc((size_t)ncur + nadd + 1, sizeof(*nw));
	int32_t nn = 0;
	if (!nw) {
		kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
		goto out;
	}
	for (int32_t k = 0; k < ncur; k++) {
		bool drop = false;
		for (size_t i = 0; i < ndel; i++)
			drop |= !strcmp(cur[k].name, del[i].key);
		for (size_t i = 0; i < nadd; i++)
			drop |= !strcmp(cur[k].name, add[i].key);
		if (!drop)
			nw[nn++] = cur[k]; /* borrowed from cur */
	}
	char creds[KC_MAX_ADD][512]; /* the credentials made, by addition */
	for (size_t i = 0; i < nadd; i++) {
		enum ksasl_mech m;
		nw[nn].name = add[i].key;
		nw[nn].value = add[i].value;
		if (ksasl_mech_parse(add[i].key, strlen(add[i].key), &m) == 0 && m != KSASL_PLAIN) {
			if (i >= KC_MAX_ADD || kc_scram_value(kc, m, add[i].value, creds[i], sizeof(creds[i]))) {
				free(nw);
				goto out;
			}
			nw[nn].value = creds[i];
		}
		nn++;
	}
	int erc = kznode_config_encode(nw, nn, &json);
	free(nw);
	snprintf(ep, sizeof(ep), "users/%s", san);
	if (erc || kznode_config_change_encode(ep, &note)) {
		kc_fail(kc, "java.lang.OutOfMemoryError", "out of memory");
		goto out;
	}
	if ((zrc = ktzk_put(z, path, json)) != ZOK) {
		kc_zk_fail(kc, zrc, path);
		goto out;
	}
	if ((zrc = ktzk_create_seq(z, "/config/changes/config_change_", note)) != ZOK) {
		kc_zk_fail(kc, zrc, "/config/changes/config_change_");
		goto out;
	}
	printf("Completed updating config for entity: user-principal '%s'.\n", name);
	rc = 0;
out:
	kc_kvs_free(add, nadd);
	kc_kvs_free(del, ndel);
	kznode_config_free(cur, ncur);
	free(data);
	free(json);
	free(note);
	ktzk_close(z);
	return rc;
}

/* Kafka's ConfigCommandOptions.checkArgs, for what this tool supports. */
static int kc_check_args(struct kc *kc)
{
	if (kc->o[O_DESCRIBE].seen + kc->o[O_ALTER].seen != 1)
		return kc_usage_error(kc, "Command must include exactly one action: --describe, --alter");
	if (!kc->o[O_BOOTSTRAP].seen && !kc->o[O_ZOOKEEPER].seen)
		return kc_usage_error(kc, "One of the required --bootstrap-server or --zookeeper arguments must be specified");
	if (kc->o[O_BOOTSTRAP].seen && kc->o[O_ZOOKEEPER].seen)
		return kc_usage_error(kc, "Only one of --bootstrap-server or --zookeeper must be specified");
	if (!kc->o[O_ENTITY_TYPE].seen)
		return kc_usage_error(kc, "--entity-type must be specified");
	const char *ty = kc->o[O_ENTITY_TYPE].value;
	if (!strcmp(ty, "topics"))
		kc->topics = true;
	else if (!strcmp(ty, "users"))
		kc->users = true;
	else if (strcmp(ty, "brokers"))
		return kc_usage_error(kc, "Invalid entity-type %s, --entity-type must be one of topics, brokers, users "
					  "(clients and broker-loggers are not supported here)", ty);
	if (kc->users && !kc->o[O_ZOOKEEPER].seen)
		return kc_usage_error(kc, "users are altered with --zookeeper here (librdkafka 2.0 has no "
					  "AlterUserScramCredentials)");
	if (!kc->users && kc->o[O_ZOOKEEPER].seen)
		return kc_usage_error(kc, "--zookeeper is supported for --entity-type users only; use --bootstrap-server "
					  "for %s", ty);
	if (kc->users && !kc->o[O_ENTITY_NAME].seen)
		return kc_usage_error(kc, "--entity-name must be specified with --entity-type users here");
	if (kc->o[O_ENTITY_NAME].seen && kc->o[O_ENTITY_DEFAULT].seen)
		return kc_usage_error(kc, "--entity-name and --entity-default cannot both be specified");
	if (kc->o[O_ENTITY_DEFAULT].seen) /* librdkafka 2.0 sends broker resources to a broker id */
		return kc_usage_error(kc, "--entity-default is not supported by this kafka-configs (librdkafka "
					  "addresses broker configs by broker id); use --entity-name <id>, or "
					  "AlterConfigs from another client with the broker name \"\"");
	if (kc->o[O_ALTER].seen) {
		if (!kc->o[O_ENTITY_NAME].seen)
			return kc_usage_error(kc, "an entity name must be specified with --alter of %s", ty);
		if (!kc->o[O_ADD_CONFIG].seen && !kc->o[O_DELETE_CONFIG].seen)
			return kc_usage_error(kc, "At least one of --add-config or --delete-config must be specified with --alter");
	} else if (kc->o[O_ADD_CONFIG].seen || kc->o[O_DELETE_CONFIG].seen) {
		return kc_usage_error(kc, "Option \"[%s]\" can't be used with option \"[describe]\"",
				      kc->o[O_ADD_CONFIG].seen ? "add-config" : "delete-config");
	}
	if (!kc->topics && !kc->users && kc->o[O_ENTITY_NAME].seen) {
		char *end;
		long id = strtol(kc->o[O_ENTITY_NAME].value, &end, 10);
		if (!*kc->o[O_ENTITY_NAME].value || *end || id < 0)
			return kc_usage_error(kc, "The entity name for brokers must be a valid integer broker id, found: %s",
					      kc->o[O_ENTITY_NAME].value);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kc kc;
	char e[512];
	int status = 1;
	memset(&kc, 0, sizeof(kc));
	memcpy(kc.o, kc_opts_def, sizeof(kc.o));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, kc_intro, kc.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(kc.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = kc_usage_error(&kc, "%s", e);
		goto done;
	}
	if (kc.o[O_HELP].seen) {
		ktool_usage(stdout, kc_intro, kc.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (kc.o[O_VERSION].seen) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	if (kc_check_args(&kc))
		goto done;
	rd_kafka_t *rk = kc.users ? NULL : kc_admin_new(&kc);
	int rc = -1;
	if (kc.users) {
		rc = kc_users(&kc);
	} else if (rk) {
		rc = kc.o[O_DESCRIBE].seen ? kc_describe(&kc, rk) : kc_alter(&kc, rk);
		rd_kafka_destroy(rk);
	}
	if (kc.conf)
		rd_kafka_conf_destroy(kc.conf);
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "Error while executing config command with args '");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, "%s%s", i > 1 ? " " : "", argv[i]);
		fprintf(stderr, "'\n%s: %s\n", kc.exception ? kc.exception : "org.apache.kafka.common.KafkaException",
			kc.err);
		goto done;
	}
	status = 0;
done:
	ktool_opts_free(kc.o, O_COUNT);
	return status;
}

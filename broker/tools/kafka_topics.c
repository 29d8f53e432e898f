/*
 * kafka-topics — Kafka 2.x's topic command on librdkafka's Admin API, and with --zookeeper on
 * the ZooKeeper C client over Kafka's own znode layout (--list, --describe; --create writes the
 * assignment with Kafka's replica placement (broker/meta/kassign, the broker's own copy) and the
 * config znode; --delete marks the topic under
 * /admin/delete_topics for the controller).
 *
 *   kafka-topics --bootstrap-server host:port --create --topic T [--partitions N]
 *                [--replication-factor R | --replica-assignment 0:1,1:2] [--config k=v]...
 *                [--if-not-exists]
 *   kafka-topics (--bootstrap-server host:port | --zookeeper host:port[/chroot]) --list
 *   kafka-topics (--bootstrap-server ... | --zookeeper ...) --describe [--topic T]
 *                [--under-replicated-partitions] [--unavailable-partitions]
 *                [--under-min-isr-partitions] [--at-min-isr-partitions (--bootstrap-server only)]
 *                [--topics-with-overrides] [--exclude-internal]
 *   kafka-topics --zookeeper host:port[/chroot] --create --topic T --partitions N
 *                --replication-factor R [--config k=v]... [--if-not-exists]
 *   kafka-topics (--bootstrap-server ... | --zookeeper ...) --delete --topic T [--if-exists]
 *   kafka-topics --bootstrap-server ... --alter --topic T --partitions N [--if-exists]
 *
 * --topic is a Kafka topic list (a regular expression, ',' meaning '|') except with --create.
 * Output is Kafka 2.4+'s: "Created topic T.", topic names one a line, and for --describe
 *   Topic: T<TAB>PartitionCount: 2<TAB>ReplicationFactor: 1<TAB>Configs: k=v,k=v
 *   <TAB>Topic: T<TAB>Partition: 0<TAB>Leader: 0<TAB>Replicas: 0,1<TAB>Isr: 0,1
 * Failures print "Error while executing topic command : <message>" and an ERROR log line
 * naming Kafka's exception class, and exit 1; usage errors print the message and the help and
 * exit 1.
 *
 * Both sources fill the same struct kt_topics, and one printer prints it, so the two paths can
 * not drift apart in format.
 */
#include "err.h"
#include "kassign.h"
#include "kname.h"
#include "ktool.h"
#include "kznode.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#ifndef SAMSA_VERSION
#define SAMSA_VERSION "0"
#endif

enum {
	KT_TIMEOUT_MS = 30000,		/* Kafka's default zookeeper.connection.timeout / request */
	KT_ZK_SESSION_MS = 30000,
	KT_ZK_DATA_MAX = 1 << 20,	/* a znode's data is at most 1 MB (jute.maxbuffer) */
};

#define KT_LOGGER "kafka.admin.TopicCommand$"

/* ---- the command line ---- */

enum {
	O_ALTER, O_AT_MIN_ISR, O_BOOTSTRAP, O_COMMAND_CONFIG, O_CONFIG, O_CREATE, O_DELETE,
	O_DESCRIBE, O_EXCLUDE_INTERNAL, O_HELP, O_IF_EXISTS, O_IF_NOT_EXISTS, O_LIST, O_PARTITIONS,
	O_REPLICA_ASSIGNMENT, O_RF, O_TOPIC, O_OVERRIDES, O_UNAVAILABLE, O_UNDER_MIN_ISR,
	O_UNDER_REPLICATED, O_VERSION, O_ZOOKEEPER, O_COUNT
};

static const struct ktool_opt kt_opts_def[O_COUNT] = {
	[O_ALTER] = KTOOL_OPT("alter", KTOOL_FLAG, NULL,
		      "Alter the number of partitions, replica assignment, and/or configuration for the topic."),
	[O_AT_MIN_ISR] = KTOOL_OPT("at-min-isr-partitions", KTOOL_FLAG, NULL,
			   "if set when describing topics, only show partitions whose isr count is equal to "
			   "the configured minimum. Not supported with the --zookeeper option."),
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
			  "REQUIRED: The Kafka server to connect to. In case of providing this, a direct "
			  "Zookeeper connection won't be required."),
	[O_COMMAND_CONFIG] = KTOOL_OPT("command-config", KTOOL_ARG, "String: command config property file",
			       "Property file containing configs to be passed to Admin Client. This is used "
			       "only with --bootstrap-server option for describing and altering broker configs."),
	[O_CONFIG] = KTOOL_OPT("config", KTOOL_LIST, "String: name=value",
		       "A topic configuration override for the topic being created or altered."),
	[O_CREATE] = KTOOL_OPT("create", KTOOL_FLAG, NULL, "Create a new topic."),
	[O_DELETE] = KTOOL_OPT("delete", KTOOL_FLAG, NULL, "Delete a topic"),
	[O_DESCRIBE] = KTOOL_OPT("describe", KTOOL_FLAG, NULL, "List details for the given topics."),
	[O_EXCLUDE_INTERNAL] = KTOOL_OPT("exclude-internal", KTOOL_FLAG, NULL,
				 "exclude internal topics when running list or describe command. The "
				 "internal topics will be listed by default"),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_IF_EXISTS] = KTOOL_OPT("if-exists", KTOOL_FLAG, NULL,
			  "if set when altering or deleting or describing topics, the action will only "
			  "execute if the topic exists."),
	[O_IF_NOT_EXISTS] = KTOOL_OPT("if-not-exists", KTOOL_FLAG, NULL,
			      "if set when creating topics, the action will only execute if the topic "
			      "does not already exist."),
	[O_LIST] = KTOOL_OPT("list", KTOOL_FLAG, NULL, "List all available topics."),
	[O_PARTITIONS] = KTOOL_OPT("partitions", KTOOL_ARG, "Integer: # of partitions",
			   "The number of partitions for the topic being created or altered (WARNING: If "
			   "partitions are increased for a topic that has a key, the partition logic or "
			   "ordering of the messages will be affected). If not supplied for create, "
			   "defaults to the cluster default."),
	[O_REPLICA_ASSIGNMENT] = KTOOL_OPT("replica-assignment", KTOOL_ARG,
				   "String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
				   "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...",
				   "A list of manual partition-to-broker assignments for the topic being "
				   "created or altered."),
	[O_RF] = KTOOL_OPT("replication-factor", KTOOL_ARG, "Integer: replication factor",
		   "The replication factor for each partition in the topic being created. If not "
		   "supplied, defaults to the cluster default."),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_ARG, "String: topic",
		      "The topic to create, alter, describe or delete. It also accepts a regular "
		      "expression, except for --create option. Put topic name in double quotes and use "
		      "the '\\' prefix to escape regular expression symbols; e.g. \"test\\.topic\"."),
	[O_OVERRIDES] = KTOOL_OPT("topics-with-overrides", KTOOL_FLAG, NULL,
			  "if set when describing topics, only show topics that have overridden configs"),
	[O_UNAVAILABLE] = KTOOL_OPT("unavailable-partitions", KTOOL_FLAG, NULL,
			    "if set when describing topics, only show partitions whose leader is not "
			    "available"),
	[O_UNDER_MIN_ISR] = KTOOL_OPT("under-min-isr-partitions", KTOOL_FLAG, NULL,
			      "if set when describing topics, only show partitions whose isr count is "
			      "less than the configured minimum. Not supported with the --zookeeper option."),
	[O_UNDER_REPLICATED] = KTOOL_OPT("under-replicated-partitions", KTOOL_FLAG, NULL,
				 "if set when describing topics, only show under replicated partitions"),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
	[O_ZOOKEEPER] = KTOOL_OPT("zookeeper", KTOOL_ARG, "String: hosts",
			  "DEPRECATED, The connection string for the zookeeper connection in the form "
			  "host:port. Multiple hosts can be given to allow fail-over."),
};

static const char kt_intro[] = "This tool helps to create, delete, describe, or change a topic.";

/* ---- what both sources produce ---- */

struct kt_partition {
	int32_t id;
	int32_t leader;	     /* -1: none */
	bool has_leader;     /* false: Kafka prints "none" */
	int32_t *replicas;
	size_t n_replicas;
	int32_t *isr;
	size_t n_isr;
};

struct kt_topic {
	char *name;
	struct kt_partition *parts;
	size_t n_parts;
	char *configs;	     /* "k=v,k=v" of the non-default configs; "" when none */
	int32_t min_isr;     /* min.insync.replicas from DescribeConfigs; -1: not known */
	bool deleting;	     /* marked for deletion (ZooKeeper: /admin/delete_topics/<t>) */
};

struct kt_topics {
	struct kt_topic *v;
	size_t n;
};

/* The whole run: options, and the error text of a failure in progress. */
struct kt {
	struct ktool_opt o[O_COUNT];
	regex_t topic_re;
	bool have_re;
	char err[1024];
	const char *exception; /* Kafka's exception class for err */
	int timeout_ms;
	int32_t *live;	       /* ZooKeeper: /brokers/ids, for --unavailable-partitions;
				* Kafka: the brokers of the last Metadata */
	size_t n_live;
};

static void kt_topic_free(struct kt_topic *t)
{
	for (size_t p = 0; p < t->n_parts; p++) {
		free(t->parts[p].replicas);
		free(t->parts[p].isr);
	}
	free(t->parts);
	free(t->name);
	free(t->configs);
}

static void kt_topics_free(struct kt_topics *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		kt_topic_free(&ts->v[i]);
	free(ts->v);
	ts->v = NULL;
	ts->n = 0;
}

static struct kt_topic *kt_topics_add(struct kt_topics *ts, const char *name)
{
	struct kt_topic *v = realloc(ts->v, (ts->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	ts->v = v;
	struct kt_topic *t = &v[ts->n];
	memset(t, 0, sizeof(*t));
	t->min_isr = -1;
	if (!(t->name = strdup(name)) || !(t->configs = strdup(""))) {
		free(t->name);
		free(t->configs);
		return NULL;
	}
	ts->n++;
	return t;
}

static int kt_cmp_topic(const void *a, const void *b)
{
	return strcmp(((const struct kt_topic *)a)->name, ((const struct kt_topic *)b)->name);
}

static int kt_cmp_part(const void *a, const void *b)
{
	int32_t x = ((const struct kt_partition *)a)->id, y = ((const struct kt_partition *)b)->id;
	return (x > y) - (x < y);
}

static int kt_fail(struct kt *kt, const char *exception, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records a failure: its text and Kafka's exception class. Returns -1. */
static int kt_fail(struct kt *kt, const char *exception, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kt->err, sizeof(kt->err), fmt, ap);
	va_end(ap);
	kt->exception = exception;
	return -1;
}

static int kt_nomem(struct kt *kt)
{
	return kt_fail(kt, "java.lang.OutOfMemoryError", "out of memory");
}

/* Kafka's exception class for a broker or client error code. */
static const char *kt_exception(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return "org.apache.kafka.common.errors.TopicExistsException";
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
		return "org.apache.kafka.common.errors.InvalidPartitionsException";
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
		return "org.apache.kafka.common.errors.InvalidReplicationFactorException";
	case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
		return "org.apache.kafka.common.errors.InvalidReplicaAssignmentException";
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
		return "org.apache.kafka.common.errors.InvalidConfigurationException";
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		return "org.apache.kafka.common.errors.InvalidTopicException";
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		return "org.apache.kafka.common.errors.UnknownTopicOrPartitionException";
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
		return "org.apache.kafka.common.errors.PolicyViolationException";
	case RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED:
		return "org.apache.kafka.common.errors.TopicDeletionDisabledException";
	case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
		return "org.apache.kafka.common.errors.NotControllerException";
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		return "org.apache.kafka.common.errors.TopicAuthorizationException";
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
		return "org.apache.kafka.common.errors.ClusterAuthorizationException";
	case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
	case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
		return "org.apache.kafka.common.errors.UnsupportedVersionException";
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
		return "org.apache.kafka.common.errors.TimeoutException";
	default:
		return "org.apache.kafka.common.KafkaException";
	}
}

/* ---- printing ---- */

static void kt_print_ids(const char *label, const int32_t *ids, size_t n)
{
	printf("\t%s: ", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%" PRId32, i ? "," : "", ids[i]);
}

static bool kt_live(const struct kt *kt, int32_t id)
{
	for (size_t i = 0; i < kt->n_live; i++)
		if (kt->live[i] == id)
			return true;
	return false;
}

/* Which partitions a --describe with filters lists, as Kafka 2.4+'s TopicCommand decides
 * (DescribeOptions): without a filter every partition; with filters a partition that ANY of
 * them selects (they are alternatives, not a conjunction):
 *   --under-replicated-partitions  the ISR is smaller than the replica list
 *   --unavailable-partitions       no leader (-1 / none), or a leader that is not a live broker
 *                                  (ZooKeeper: /brokers/ids; Kafka: the brokers of Metadata)
 *   --under-min-isr-partitions     no leader, or ISR < the topic's min.insync.replicas
 *   --at-min-isr-partitions        ISR == the topic's min.insync.replicas
 * The min-ISR filters need the topic's min.insync.replicas (DescribeConfigs; Kafka answers
 * them only with --bootstrap-server); when it is unknown only "no leader" counts. */
static bool kt_shows_partition(const struct kt *kt, const struct kt_topic *t, const struct kt_partition *p)
{
	bool under = kt->o[O_UNDER_REPLICATED].seen, unavail = kt->o[O_UNAVAILABLE].seen;
	bool under_min = kt->o[O_UNDER_MIN_ISR].seen, at_min = kt->o[O_AT_MIN_ISR].seen;
	if (!under && !unavail && !under_min && !at_min)
		return true;
	bool leader = p->has_leader && p->leader >= 0;
	if (under && p->n_isr < p->n_replicas)
		return true;
	if (unavail && (!leader || !kt_live(kt, p->leader)))
		return true;
	if (under_min && (!leader || (t->min_isr >= 0 && p->n_isr < (size_t)t->min_isr)))
		return true;
	if (at_min && t->min_isr >= 0 && p->n_isr == (size_t)t->min_isr)
		return true;
	return false;
}

/* Prints --describe for every topic of ts, as Kafka 2.4+ TopicCommand does: the topic line
 * only without filters, then each partition kt_shows_partition selects. Leader "none" when
 * there is no leader (the Kafka path's leader -1, a partition without a state znode); the
 * ZooKeeper path prints the state's leader as it is, -1 included, as Kafka's did. */
static void kt_print_describe(const struct kt *kt, const struct kt_topics *ts, bool zk)
{
	bool filters = kt->o[O_UNDER_REPLICATED].seen || kt->o[O_UNAVAILABLE].seen || kt->o[O_UNDER_MIN_ISR].seen ||
		       kt->o[O_AT_MIN_ISR].seen;
	bool overrides = kt->o[O_OVERRIDES].seen;

	for (size_t i = 0; i < ts->n; i++) {
		const struct kt_topic *t = &ts->v[i];
		if (!filters && (!overrides || t->configs[0])) {
			printf("Topic: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: %s%s\n", t->name,
			       t->n_parts, t->n_parts ? t->parts[0].n_replicas : 0, t->configs,
			       t->deleting ? "\tMarkedForDeletion: true" : "");
		}
		if (overrides)
			continue;
		for (size_t k = 0; k < t->n_parts; k++) {
			const struct kt_partition *p = &t->parts[k];
			if (!kt_shows_partition(kt, t, p))
				continue;
			printf("\tTopic: %s\tPartition: %" PRId32, t->name, p->id);
			if (p->has_leader && !(p->leader < 0 && !zk))
				printf("\tLeader: %" PRId32, p->leader);
			else
				printf("\tLeader: none");
			kt_print_ids("Replicas", p->replicas, p->n_replicas);
			kt_print_ids("Isr", p->isr, p->n_isr);
			printf("%s\n", t->deleting ? "\tMarkedForDeletion: true" : "");
		}
	}
}

/* Keeps the topics that --topic and --exclude-internal select; fails as Kafka does when a
 * --topic was asked for and none matched (unless --if-exists). */
static int kt_select(struct kt *kt, struct kt_topics *ts)
{
	size_t w = 0;
	for (size_t i = 0; i < ts->n; i++) {
		struct kt_topic *t = &ts->v[i];
		bool keep = (!kt->have_re || ktool_topic_matches(&kt->topic_re, t->name)) &&
			    !(kt->o[O_EXCLUDE_INTERNAL].seen && ktool_topic_internal(t->name));
		if (keep)
			ts->v[w++] = *t;
		else
			kt_topic_free(t);
	}
	ts->n = w;
	if (ts->n > 1) /* qsort of a NULL array, even empty, is undefined */
		qsort(ts->v, ts->n, sizeof(*ts->v), kt_cmp_topic);
	for (size_t i = 0; i < ts->n; i++)
		if (ts->v[i].n_parts > 1)
			qsort(ts->v[i].parts, ts->v[i].n_parts, sizeof(*ts->v[i].parts), kt_cmp_part);
	if (kt->o[O_TOPIC].seen && ts->n == 0 && !kt->o[O_IF_EXISTS].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException", "Topic '%s' does not exist as expected",
			       kt->o[O_TOPIC].value);
	return 0;
}

/* ---- the Kafka path (librdkafka) ---- */

static rd_kafka_t *kt_admin_new(struct kt *kt)
{
	char e[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ktool_conf_logging(conf);
	if (ktool_conf_set(conf, KTOOL_ADMIN, "client.id", "adminclient-1", e, sizeof(e)) ||
	    (kt->o[O_COMMAND_CONFIG].seen &&
	     ktool_conf_load(conf, KTOOL_ADMIN, kt->o[O_COMMAND_CONFIG].value, e, sizeof(e))) ||
	    ktool_conf_set(conf, KTOOL_ADMIN, "bootstrap.servers", kt->o[O_BOOTSTRAP].value, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		kt_fail(kt, "org.apache.kafka.common.config.ConfigException", "%s", e);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		kt_fail(kt, "org.apache.kafka.common.KafkaException", "Failed to create new KafkaAdminClient: %s", e);
	}
	return rk;
}

static int kt_copy_ids(int32_t **out, size_t *n, const int32_t *ids, int cnt)
{
	*n = 0;
	*out = malloc(((size_t)(cnt > 0 ? cnt : 0) + 1) * sizeof(**out));
	if (!*out)
		return -1;
	for (int i = 0; i < cnt; i++)
		(*out)[i] = ids[i];
	*n = (size_t)(cnt > 0 ? cnt : 0);
	return 0;
}

/* Every topic of the cluster with its partitions, from one Metadata request. */
static int kt_admin_topics(struct kt *kt, rd_kafka_t *rk, struct kt_topics *ts)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, kt->timeout_ms);
	if (e)
		return kt_fail(kt, kt_exception(e), "%s: %s", kt_exception(e), rd_kafka_err2str(e));
	int rc = 0;
	free(kt->live);
	kt->n_live = 0;
	if (!(kt->live = calloc((size_t)md->broker_cnt + 1, sizeof(*kt->live)))) {
		rd_kafka_metadata_destroy(md);
		return kt_nomem(kt);
	}
	for (int i = 0; i < md->broker_cnt; i++)
		kt->live[kt->n_live++] = md->brokers[i].id;
	for (int i = 0; i < md->topic_cnt && rc == 0; i++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[i];
		if (mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			continue;
		struct kt_topic *t = kt_topics_add(ts, mt->topic);
		if (!t || !(t->parts = calloc((size_t)mt->partition_cnt + 1, sizeof(*t->parts)))) {
			rc = kt_nomem(kt);
			break;
		}
		for (int p = 0; p < mt->partition_cnt; p++) {
			const rd_kafka_metadata_partition_t *mp = &mt->partitions[p];
			struct kt_partition *kp = &t->parts[t->n_parts++];
			kp->id = mp->id;
			kp->leader = mp->leader;
			kp->has_leader = mp->leader >= 0;
			if (kt_copy_ids(&kp->replicas, &kp->n_replicas, mp->replicas, mp->replica_cnt) ||
			    kt_copy_ids(&kp->isr, &kp->n_isr, mp->isrs, mp->isr_cnt)) {
				rc = kt_nomem(kt);
				break;
			}
		}
	}
	rd_kafka_metadata_destroy(md);
	return rc;
}

/* Waits for the one result event of an admin call on q. NULL (with kt->err) on timeout. */
static rd_kafka_event_t *kt_admin_wait(struct kt *kt, rd_kafka_queue_t *q, const char *call)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, kt->timeout_ms + 5000);
	if (!ev) {
		kt_fail(kt, "org.apache.kafka.common.errors.TimeoutException",
			"org.apache.kafka.common.errors.TimeoutException: Call(callName=%s) timed out", call);
		return NULL;
	}
	rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
	if (e) {
		kt_fail(kt, kt_exception(e), "%s: %s", kt_exception(e), rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static rd_kafka_AdminOptions_t *kt_admin_options(struct kt *kt, rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
	char e[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, kt->timeout_ms, e, sizeof(e));
	if (op != RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)
		rd_kafka_AdminOptions_set_operation_timeout(ao, kt->timeout_ms, e, sizeof(e));
	return ao;
}

/* Fills each topic's non-default configs ("k=v,..."). A broker that cannot describe configs
 * leaves them empty with a warning: the partition listing is still worth printing. */
static int kt_admin_configs(struct kt *kt, rd_kafka_t *rk, struct kt_topics *ts)
{
	if (ts->n == 0)
		return 0;
	/* librdkafka sends DescribeConfigs for topics to the controller: without one among the
	 * brokers (a cluster that reports none, or an unknown id) it would only time out */
	if (!kt_live(kt, rd_kafka_controllerid(rk, 2000))) {
		log_warn(KT_LOGGER, "The cluster reports no controller; topic configs are not shown");
		return 0;
	}
	rd_kafka_ConfigResource_t **res = calloc(ts->n, sizeof(*res));
	if (!res)
		return kt_nomem(kt);
	for (size_t i = 0; i < ts->n; i++)
		res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, ts->v[i].name);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = kt_admin_options(kt, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
	rd_kafka_DescribeConfigs(rk, res, ts->n, ao, q);
	rd_kafka_event_t *ev = kt_admin_wait(kt, q, "describeConfigs");
	int rc = 0;
	if (!ev) {
		log_warn(KT_LOGGER, "Could not describe topic configs: %s", kt->err);
		kt->err[0] = '\0';
	} else {
		size_t n = 0;
		const rd_kafka_ConfigResource_t **out =
			rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
		for (size_t r = 0; r < n && rc == 0; r++) {
			const char *name = rd_kafka_ConfigResource_name(out[r]);
			struct kt_topic *t = NULL;
			for (size_t i = 0; i < ts->n; i++)
				if (!strcmp(ts->v[i].name, name))
					t = &ts->v[i];
			if (!t)
				continue;
			if (rd_kafka_ConfigResource_error(out[r])) {
				log_warn(KT_LOGGER, "Could not describe the configs of topic %s: %s", name,
					 rd_kafka_ConfigResource_error_string(out[r]));
				continue;
			}
			size_t ne = 0, len = 0;
			const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(out[r], &ne);
			for (size_t k = 0; k < ne; k++) {
				const rd_kafka_ConfigEntry_t *ce = ents[k];
				const char *cv = rd_kafka_ConfigEntry_value(ce);
				if (!strcmp(rd_kafka_ConfigEntry_name(ce), "min.insync.replicas") && cv) {
					char *end = NULL;
					long m = strtol(cv, &end, 10);
					if (end != cv && !*end && m >= 0 && m <= INT32_MAX)
						t->min_isr = (int32_t)m;
				}
				if (rd_kafka_ConfigEntry_is_default(ce) ||
				    rd_kafka_ConfigEntry_source(ce) == RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG)
					continue;
				const char *v = rd_kafka_ConfigEntry_value(ce);
				const char *k2 = rd_kafka_ConfigEntry_name(ce);
				size_t add = strlen(k2) + (v ? strlen(v) : 4) + 2;
				char *c = realloc(t->configs, len + add + 1);
				if (!c) {
					rc = kt_nomem(kt);
					break;
				}
				t->configs = c;
				len += (size_t)snprintf(c + len, add + 1, "%s%s=%s", len ? "," : "", k2, v ? v : "null");
			}
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy_array(res, ts->n);
	free(res);
	return rc;
}

/* Checks the per-topic results of CreateTopics/DeleteTopics/CreatePartitions. */
static int kt_topic_results(struct kt *kt, const rd_kafka_topic_result_t **tr, size_t n, bool exists_ok)
{
	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
		if (!e || (exists_ok && e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
			continue;
		const char *msg = rd_kafka_topic_result_error_string(tr[i]);
		return kt_fail(kt, kt_exception(e), "%s: %s", kt_exception(e), msg ? msg : rd_kafka_err2str(e));
	}
	return 0;
}

/* "0:1,1:2" -> one broker list per partition. */
static int kt_set_assignment(struct kt *kt, const char *spec, rd_kafka_NewTopic_t *nt, rd_kafka_NewPartitions_t *np,
			     int first_partition)
{
	char *copy = strdup(spec), *save = NULL;
	if (!copy)
		return kt_nomem(kt);
	int part = first_partition, rc = 0;
	for (char *grp = strtok_r(copy, ",", &save); grp && rc == 0; grp = strtok_r(NULL, ",", &save), part++) {
		int32_t ids[256];
		size_t n = 0;
		char *save2 = NULL;
		for (char *id = strtok_r(grp, ":", &save2); id; id = strtok_r(NULL, ":", &save2)) {
			long long v;
			char e[256];
			while (*id == ' ')
				id++;
			if (n == sizeof(ids) / sizeof(ids[0]) ||
			    ktool_parse_int("replica-assignment", id, 0, INT32_MAX, &v, e, sizeof(e))) {
				rc = kt_fail(kt, "java.lang.NumberFormatException", "For input string: \"%s\"", id);
				break;
			}
			for (size_t k = 0; k < n; k++)
				if (ids[k] == (int32_t)v)
					rc = kt_fail(kt, "kafka.common.AdminCommandFailedException",
						     "Partition replica lists may not contain duplicate entries: %s", grp);
			ids[n++] = (int32_t)v;
		}
		if (rc)
			break;
		char e[512];
		rd_kafka_resp_err_t err =
			nt ? rd_kafka_NewTopic_set_replica_assignment(nt, part, ids, n, e, sizeof(e))
			   : rd_kafka_NewPartitions_set_replica_assignment(np, part - first_partition, ids, n, e,
									    sizeof(e));
		if (err)
			rc = kt_fail(kt, "kafka.common.AdminCommandFailedException", "%s", e);
	}
	free(copy);
	return rc;
}

static int kt_count_groups(const char *spec)
{
	int n = 1;
	for (const char *p = spec; *p; p++)
		n += *p == ',';
	return n;
}

static int kt_admin_create(struct kt *kt, rd_kafka_t *rk)
{
	const char *topic = kt->o[O_TOPIC].value;
	char e[512];
	long long parts = -1, rf = -1;

	if (!kname_topic_valid(topic, strlen(topic), e, sizeof(e)))
		return kt_fail(kt, "org.apache.kafka.common.errors.InvalidTopicException", "%s", e);
	if (kt->o[O_PARTITIONS].seen &&
	    ktool_parse_int("partitions", kt->o[O_PARTITIONS].value, INT32_MIN, INT32_MAX, &parts, e, sizeof(e)))
		return kt_fail(kt, "joptsimple.OptionArgumentConversionException", "%s", e);
	if (kt->o[O_PARTITIONS].seen && parts < 1)
		return kt_fail(kt, "java.lang.IllegalArgumentException", "The partitions must be greater than 0");
	if (kt->o[O_RF].seen &&
	    ktool_parse_int("replication-factor", kt->o[O_RF].value, INT32_MIN, INT32_MAX, &rf, e, sizeof(e)))
		return kt_fail(kt, "joptsimple.OptionArgumentConversionException", "%s", e);
	if (kt->o[O_RF].seen && (rf < 1 || rf > 32767))
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "The replication factor must be between 1 and 32767 inclusive");
	if (kname_topic_may_collide(topic))
		printf("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
		       "('_') could collide. To avoid issues it is best to use either, but not both.\n");

	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(
		topic, kt->o[O_REPLICA_ASSIGNMENT].seen ? kt_count_groups(kt->o[O_REPLICA_ASSIGNMENT].value) : (int)parts,
		(int)rf, e, sizeof(e));
	if (!nt)
		return kt_fail(kt, "java.lang.IllegalArgumentException", "%s", e);
	int rc = 0;
	if (kt->o[O_REPLICA_ASSIGNMENT].seen)
		rc = kt_set_assignment(kt, kt->o[O_REPLICA_ASSIGNMENT].value, nt, NULL, 0);
	for (size_t i = 0; rc == 0 && i < kt->o[O_CONFIG].n; i++) {
		/* Kafka splits at '=' with surrounding spaces and wants exactly two parts */
		const char *kv = kt->o[O_CONFIG].list[i];
		const char *eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1] || strchr(eq + 1, '=')) {
			rc = kt_fail(kt, "java.lang.IllegalArgumentException",
				     "requirement failed: Invalid topic config: all configs to be added must be in "
				     "the format \"key=val\".");
			break;
		}
		char key[256];
		size_t kl = (size_t)(eq - kv);
		while (kl && kv[kl - 1] == ' ')
			kl--;
		snprintf(key, sizeof(key), "%.*s", (int)kl, kv);
		const char *val = eq + 1;
		while (*val == ' ')
			val++;
		if (rd_kafka_NewTopic_set_config(nt, key, val))
			rc = kt_fail(kt, "java.lang.IllegalArgumentException", "Invalid topic config %s", kv);
	}
	if (rc == 0) {
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *ao = kt_admin_options(kt, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
		rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
		rd_kafka_event_t *ev = kt_admin_wait(kt, q, "createTopics");
		if (!ev) {
			rc = -1;
		} else {
			size_t n = 0;
			const rd_kafka_topic_result_t **tr =
				rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
			bool existed = n == 1 && rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
			rc = kt_topic_results(kt, tr, n, kt->o[O_IF_NOT_EXISTS].seen);
			if (rc == 0 && !existed)
				printf("Created topic %s.\n", topic);
			rd_kafka_event_destroy(ev);
		}
		rd_kafka_AdminOptions_destroy(ao);
		rd_kafka_queue_destroy(q);
	}
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

static int kt_admin_delete(struct kt *kt, rd_kafka_t *rk)
{
	struct kt_topics ts = { 0 };
	int rc = kt_admin_topics(kt, rk, &ts);
	if (rc == 0)
		rc = kt_select(kt, &ts);
	for (size_t i = 0; rc == 0 && i < ts.n; i++)
		if (ktool_topic_internal(ts.v[i].name))
			rc = kt_fail(kt, "kafka.common.AdminOperationException",
				     "Topic %s is a kafka internal topic and is not allowed to be marked for deletion.",
				     ts.v[i].name);
	if (rc == 0 && ts.n) {
		rd_kafka_DeleteTopic_t **dt = calloc(ts.n, sizeof(*dt));
		if (!dt) {
			kt_topics_free(&ts);
			return kt_nomem(kt);
		}
		for (size_t i = 0; i < ts.n; i++)
			dt[i] = rd_kafka_DeleteTopic_new(ts.v[i].name);
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *ao = kt_admin_options(kt, rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
		rd_kafka_DeleteTopics(rk, dt, ts.n, ao, q);
		rd_kafka_event_t *ev = kt_admin_wait(kt, q, "deleteTopics");
		if (!ev) {
			rc = -1;
		} else {
			size_t n = 0;
			const rd_kafka_topic_result_t **tr =
				rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
			rc = kt_topic_results(kt, tr, n, false);
			rd_kafka_event_destroy(ev);
		}
		rd_kafka_AdminOptions_destroy(ao);
		rd_kafka_queue_destroy(q);
		rd_kafka_DeleteTopic_destroy_array(dt, ts.n);
		free(dt);
	}
	kt_topics_free(&ts);
	return rc;
}

static int kt_admin_alter(struct kt *kt, rd_kafka_t *rk)
{
	struct kt_topics ts = { 0 };
	long long want = 0;
	char e[512];
	bool assign = kt->o[O_REPLICA_ASSIGNMENT].seen;

	if (!kt->o[O_PARTITIONS].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "--partitions is required to alter a topic with --bootstrap-server (topic configs "
			       "are altered with kafka-configs)");
	if (ktool_parse_int("partitions", kt->o[O_PARTITIONS].value, INT32_MIN, INT32_MAX, &want, e, sizeof(e)))
		return kt_fail(kt, "joptsimple.OptionArgumentConversionException", "%s", e);
	if (want < 1)
		return kt_fail(kt, "java.lang.IllegalArgumentException", "The partitions must be greater than 0");
	int rc = kt_admin_topics(kt, rk, &ts);
	if (rc == 0)
		rc = kt_select(kt, &ts);
	for (size_t i = 0; rc == 0 && i < ts.n; i++) {
		if ((long long)ts.v[i].n_parts >= want)
			rc = kt_fail(kt, "org.apache.kafka.common.errors.InvalidPartitionsException",
				     "org.apache.kafka.common.errors.InvalidPartitionsException: Topic currently has %zu "
				     "partitions, %lld would not be an increase.",
				     ts.v[i].n_parts, want);
	}
	if (rc == 0 && ts.n) {
		rd_kafka_NewPartitions_t **np = calloc(ts.n, sizeof(*np));
		if (!np) {
			kt_topics_free(&ts);
			return kt_nomem(kt);
		}
		for (size_t i = 0; i < ts.n && rc == 0; i++) {
			np[i] = rd_kafka_NewPartitions_new(ts.v[i].name, (size_t)want, e, sizeof(e));
			if (!np[i])
				rc = kt_fail(kt, "java.lang.IllegalArgumentException", "%s", e);
			else if (assign)
				rc = kt_set_assignment(kt, kt->o[O_REPLICA_ASSIGNMENT].value, NULL, np[i],
						       (int)ts.v[i].n_parts);
		}
		if (rc == 0) {
			rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
			rd_kafka_AdminOptions_t *ao = kt_admin_options(kt, rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
			rd_kafka_CreatePartitions(rk, np, ts.n, ao, q);
			rd_kafka_event_t *ev = kt_admin_wait(kt, q, "createPartitions");
			if (!ev) {
				rc = -1;
			} else {
				size_t n = 0;
				const rd_kafka_topic_result_t **tr = rd_kafka_CreatePartitions_result_topics(
					rd_kafka_event_CreatePartitions_result(ev), &n);
				rc = kt_topic_results(kt, tr, n, false);
				rd_kafka_event_destroy(ev);
			}
			rd_kafka_AdminOptions_destroy(ao);
			rd_kafka_queue_destroy(q);
		}
		for (size_t i = 0; i < ts.n; i++)
			if (np[i])
				rd_kafka_NewPartitions_destroy(np[i]);
		free(np);
	}
	kt_topics_free(&ts);
	return rc;
}

static int kt_run_admin(struct kt *kt)
{
	rd_kafka_t *rk = kt_admin_new(kt);
	if (!rk)
		return -1;
	int rc = 0;
	struct kt_topics ts = { 0 };
	if (kt->o[O_CREATE].seen) {
		rc = kt_admin_create(kt, rk);
	} else if (kt->o[O_DELETE].seen) {
		rc = kt_admin_delete(kt, rk);
	} else if (kt->o[O_ALTER].seen) {
		rc = kt_admin_alter(kt, rk);
	} else {
		rc = kt_admin_topics(kt, rk, &ts);
		if (rc == 0)
			rc = kt_select(kt, &ts);
		if (rc == 0 && kt->o[O_LIST].seen) {
			for (size_t i = 0; i < ts.n; i++)
				printf("%s\n", ts.v[i].name);
		} else if (rc == 0) {
			/* configs for the topic lines, and min.insync.replicas for the min-ISR
			 * filters; the other filters print no topic line */
			bool filters = kt->o[O_UNDER_REPLICATED].seen || kt->o[O_UNAVAILABLE].seen;
			bool min_isr = kt->o[O_UNDER_MIN_ISR].seen || kt->o[O_AT_MIN_ISR].seen;
			if (!filters || min_isr)
				rc = kt_admin_configs(kt, rk, &ts);
			if (rc == 0)
				kt_print_describe(kt, &ts, false);
		}
	}
	kt_topics_free(&ts);
	rd_kafka_destroy(rk);
	free(kt->live);
	kt->live = NULL;
	return rc;
}

/* ---- the ZooKeeper path ---- */

/* One request in flight; its completion fills it in. */
struct kt_zk_call {
	bool done;
	int rc;
	char *data;	/* get: owned copy, NUL-terminated */
	int len;
	struct String_vector kids; /* get_children: owned copy */
};

struct kt_zk {
	zhandle_t *zh;
	bool connected, expired;
};

static void kt_zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)path;
	(void)ctx;
	struct kt_zk *z = (struct kt_zk *)(uintptr_t)zoo_get_context(zh);
	if (type != ZOO_SESSION_EVENT)
		return;
	if (state == ZOO_CONNECTED_STATE)
		z->connected = true;
	else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE)
		z->expired = true;
}

/* One turn of the client's I/O: poll its socket as it asks, then let it process. */
static void kt_zk_pump(struct kt_zk *z, int max_ms)
{
	int fd = -1, interest = 0, wait = max_ms;
	struct timeval tv = { 0, 0 };
	struct pollfd p = { -1, 0, 0 };
	if (zookeeper_interest(z->zh, &fd, &interest, &tv) == ZOK && fd >= 0) {
		p.fd = fd;
		p.events = (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) | (interest & ZOOKEEPER_WRITE ? POLLOUT : 0));
		int ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
		if (ms < wait)
			wait = ms;
	} else if (wait > 10) {
		wait = 10;
	}
	int n = poll(&p, p.fd >= 0 ? 1 : 0, wait < 0 ? 0 : wait);
	int events = 0;
	if (n > 0) {
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p.revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(z->zh, events);
}

static int kt_zk_wait(struct kt *kt, struct kt_zk *z, struct kt_zk_call *c)
{
	int64_t deadline = ktool_now_us() + (int64_t)kt->timeout_ms * 1000;
	while (!c->done) {
		if (z->expired)
			return ZSESSIONEXPIRED;
		if (ktool_now_us() > deadline)
			return ZOPERATIONTIMEOUT;
		kt_zk_pump(z, 100);
	}
	return c->rc;
}

static void kt_zk_data_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	(void)stat;
	struct kt_zk_call *c = (struct kt_zk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
	if (rc == ZOK && len >= 0 && value) {
		c->data = malloc((size_t)len + 1);
		if (c->data) {
			memcpy(c->data, value, (size_t)len);
			c->data[len] = '\0';
			c->len = len;
		} else {
			c->rc = ZSYSTEMERROR;
		}
	}
}

static void kt_zk_set_done(int rc, const struct Stat *stat, const void *data)
{
	(void)stat;
	struct kt_zk_call *c = (struct kt_zk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
}

static void kt_zk_kids_done(int rc, const struct String_vector *sv, const void *data)
{
	struct kt_zk_call *c = (struct kt_zk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
	if (rc == ZOK && sv && sv->count > 0) {
		c->kids.data = calloc((size_t)sv->count, sizeof(char *));
		if (!c->kids.data) {
			c->rc = ZSYSTEMERROR;
			return;
		}
		for (int i = 0; i < sv->count; i++) {
			if (!(c->kids.data[i] = strdup(sv->data[i]))) {
				c->rc = ZSYSTEMERROR;
				break;
			}
			c->kids.count = i + 1;
		}
	}
}

static void kt_zk_call_free(struct kt_zk_call *c)
{
	free(c->data);
	for (int i = 0; i < c->kids.count; i++)
		free(c->kids.data[i]);
	free(c->kids.data);
	memset(c, 0, sizeof(*c));
}

static int kt_zk_fail(struct kt *kt, int rc, const char *path)
{
	if (rc == ZOPERATIONTIMEOUT)
		return kt_fail(kt, "kafka.zookeeper.ZooKeeperClientTimeoutException",
			       "kafka.zookeeper.ZooKeeperClientTimeoutException: Timed out waiting for a reply for %s",
			       path);
	return kt_fail(kt, "org.apache.zookeeper.KeeperException",
		       "org.apache.zookeeper.KeeperException: KeeperErrorCode = %s for %s", zerror(rc), path);
}

/* Data of path into c (c->data NULL when the node is empty); ZNONODE is returned, not failed. */
static int kt_zk_get(struct kt *kt, struct kt_zk *z, const char *path, struct kt_zk_call *c)
{
	memset(c, 0, sizeof(*c));
	int rc = zoo_aget(z->zh, path, 0, kt_zk_data_done, c);
	if (rc == ZOK)
		rc = kt_zk_wait(kt, z, c);
	if (rc != ZOK && rc != ZNONODE)
		return kt_zk_fail(kt, rc, path);
	return rc;
}

static int kt_zk_children(struct kt *kt, struct kt_zk *z, const char *path, struct kt_zk_call *c)
{
	memset(c, 0, sizeof(*c));
	int rc = zoo_aget_children(z->zh, path, 0, kt_zk_kids_done, c);
	if (rc == ZOK)
		rc = kt_zk_wait(kt, z, c);
	if (rc != ZOK && rc != ZNONODE)
		return kt_zk_fail(kt, rc, path);
	return rc;
}

/* A copy of n broker ids into a fresh int32 array. */
static int kt_ids_dup(struct kt *kt, const int32_t *ids, size_t n, int32_t **out, size_t *nout)
{
	*nout = 0;
	if (!(*out = malloc((n + 1) * sizeof(**out))))
		return kt_nomem(kt);
	if (n)
		memcpy(*out, ids, n * sizeof(**out));
	*nout = n;
	return 0;
}

/* One topic's assignment, partition states and configs; the znodes' JSON is broker/meta's
 * kznode, the broker's own reader. */
static int kt_zk_topic(struct kt *kt, struct kt_zk *z, struct kt_topic *t, const char *chpath)
{
	char path[1024], e[256];
	struct kt_zk_call c;
	struct kznode_assignment a;
	int rc;

	snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
	if ((rc = kt_zk_get(kt, z, path, &c)) != ZOK) {
		kt_zk_call_free(&c);
		return rc == ZNONODE ? 0 : -1; /* deleted meanwhile: no partitions */
	}
	rc = kznode_assignment_decode(c.data, c.data ? (size_t)c.len : 0, &a, e, sizeof(e));
	kt_zk_call_free(&c);
	if (rc == ERR_NOMEM)
		return kt_nomem(kt);
	if (rc)
		return kt_fail(kt, "kafka.common.KafkaException", "Malformed JSON in %s: %s", path, e);
	if (!(t->parts = calloc((size_t)a.n_parts + 1, sizeof(*t->parts)))) {
		kznode_assignment_free(&a);
		return kt_nomem(kt);
	}
	for (int32_t i = 0; i < a.n_parts && rc == 0; i++) {
		struct kt_partition *p = &t->parts[t->n_parts++];
		int32_t nr;
		const int32_t *r = kznode_assignment_replicas(&a, i, &nr);
		p->id = i;
		if ((rc = kt_ids_dup(kt, r, (size_t)nr, &p->replicas, &p->n_replicas)))
			break;
		char spath[1200];
		snprintf(spath, sizeof(spath), "%s/partitions/%d/state", path, p->id);
		int zrc = kt_zk_get(kt, z, spath, &c);
		if (zrc == ZNONODE) {
			p->isr = malloc(sizeof(*p->isr));
			if (!p->isr)
				rc = kt_nomem(kt);
			kt_zk_call_free(&c);
			continue;
		}
		if (zrc != ZOK) {
			kt_zk_call_free(&c);
			rc = -1;
			break;
		}
		struct kznode_state st;
		rc = kznode_state_decode(c.data, c.data ? (size_t)c.len : 0, &st, e, sizeof(e));
		kt_zk_call_free(&c);
		if (rc) {
			rc = kt_fail(kt, "kafka.common.KafkaException", "Malformed JSON in %s: %s", spath, e);
			break;
		}
		p->leader = st.leader;
		p->has_leader = true;
		rc = kt_ids_dup(kt, st.isr, st.n_isr, &p->isr, &p->n_isr);
	}
	kznode_assignment_free(&a);
	if (rc)
		return rc;

	/* configs, in file order (kznode_config_decode: the broker's reading, string values only) */
	snprintf(path, sizeof(path), "/config/topics/%s", t->name);
	int zrc = kt_zk_get(kt, z, path, &c);
	if (zrc == ZOK && c.data && c.len > 0) {
		struct kznode_conf *kc = NULL;
		int32_t nc = 0;
		rc = kznode_config_decode(c.data, (size_t)c.len, &kc, &nc, e, sizeof(e));
		if (rc == ERR_NOMEM)
			rc = kt_nomem(kt);
		else if (rc)
			rc = kt_fail(kt, "kafka.common.KafkaException", "Malformed JSON in %s: %s", path, e);
		size_t len = 0;
		for (int32_t i = 0; i < nc && rc == 0; i++) {
			size_t add = strlen(kc[i].name) + strlen(kc[i].value) + 2;
			char *ncfg = realloc(t->configs, len + add + 1);
			if (!ncfg) {
				rc = kt_nomem(kt);
				break;
			}
			t->configs = ncfg;
			len += (size_t)snprintf(ncfg + len, add + 1, "%s%s=%s", len ? "," : "", kc[i].name, kc[i].value);
		}
		kznode_config_free(kc, nc);
	} else if (zrc != ZOK && zrc != ZNONODE) {
		rc = -1;
	}
	kt_zk_call_free(&c);
	if (rc)
		return rc;

	snprintf(path, sizeof(path), "%s/%s", chpath, t->name);
	zrc = kt_zk_get(kt, z, path, &c);
	kt_zk_call_free(&c);
	if (zrc == ZOK)
		t->deleting = true;
	else if (zrc != ZNONODE)
		return -1;
	return 0;
}

static bool kt_in(const struct String_vector *sv, const char *s)
{
	for (int i = 0; i < sv->count; i++)
		if (!strcmp(sv->data[i], s))
			return true;
	return false;
}

static void kt_zk_void_done(int rc, const void *data)
{
	struct kt_zk_call *c = (struct kt_zk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
}

static void kt_zk_string_done(int rc, const char *value, const void *data)
{
	(void)value;
	kt_zk_void_done(rc, data);
}

/* Creates path with data (persistent, open ACL), creating missing parents empty, as Kafka's
 * zkClient.createRecursive does. Returns ZOK, or ZNODEEXISTS when path itself exists (and was
 * not to be set); any other failure is recorded in kt->err and gives -1 (ZooKeeper's codes are
 * negative too: compare with ==, never < 0). */
static int kt_zk_create(struct kt *kt, struct kt_zk *z, const char *path, const char *data, bool set_if_exists)
{
	struct kt_zk_call c;
	char parent[1024];
	int rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&c, 0, sizeof(c));
		rc = zoo_acreate(z->zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, 0,
				 kt_zk_string_done, &c);
		if (rc == ZOK)
			rc = kt_zk_wait(kt, z, &c);
		if (rc != ZNONODE)
			break;
		/* a parent is missing: create the chain, then try once more */
		snprintf(parent, sizeof(parent), "%s", path);
		for (char *sl = strchr(parent + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
			*sl = '\0';
			memset(&c, 0, sizeof(c));
			int prc = zoo_acreate(z->zh, parent, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kt_zk_string_done, &c);
			if (prc == ZOK)
				prc = kt_zk_wait(kt, z, &c);
			if (prc != ZOK && prc != ZNODEEXISTS)
				return kt_zk_fail(kt, prc, parent);
			*sl = '/';
		}
	}
	if (rc == ZNODEEXISTS && set_if_exists) {
		memset(&c, 0, sizeof(c));
		rc = zoo_aset(z->zh, path, data, data ? (int)strlen(data) : -1, -1,
			      kt_zk_set_done, &c);
		if (rc == ZOK)
			rc = kt_zk_wait(kt, z, &c);
	}
	if (rc != ZOK && rc != ZNODEEXISTS)
		return kt_zk_fail(kt, rc, path);
	return rc;
}

/* Kafka 2.x's topic-level config names (LogConfig): a ZooKeeper-mode create checks them itself,
 * as there is no broker in the way to refuse an unknown one. */
static bool kt_topic_config_known(const char *name)
{
	static const char *const names[] = {
		"cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
		"flush.messages", "flush.ms", "follower.replication.throttled.replicas",
		"index.interval.bytes", "leader.replication.throttled.replicas", "max.compaction.lag.ms",
		"max.message.bytes", "message.downconversion.enable", "message.format.version",
		"message.timestamp.difference.max.ms", "message.timestamp.type", "min.cleanable.dirty.ratio",
		"min.compaction.lag.ms", "min.insync.replicas", "preallocate", "retention.bytes",
		"retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms",
		"unclean.leader.election.enable",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* --create with --zookeeper, as Kafka 2.x's AdminZkClient.createTopic: the config znode first,
 * then the assignment under /brokers/topics, which the controller watches. */
static int kt_zk_create_topic(struct kt *kt, struct kt_zk *z)
{
	const char *topic = kt->o[O_TOPIC].value;
	char e[512], path[1024];
	long long parts = 0, rf = 0;
	char *cfg = NULL, *asg = NULL;
	struct kznode_conf *confs = NULL;
	size_t nconf = 0;
	int32_t *brokers = NULL, *replicas = NULL;
	struct kt_zk_call ids = { 0 };
	int rc = 0, n = 0;

	if (!kname_topic_valid(topic, strlen(topic), e, sizeof(e)))
		return kt_fail(kt, "org.apache.kafka.common.errors.InvalidTopicException", "%s", e);
	if (kt->o[O_REPLICA_ASSIGNMENT].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "--replica-assignment with --zookeeper is not supported; use --bootstrap-server");
	if (!kt->o[O_PARTITIONS].seen || !kt->o[O_RF].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "Missing required argument \"[%s]\"", kt->o[O_PARTITIONS].seen ? "replication-factor" : "partitions");
	if (ktool_parse_int("partitions", kt->o[O_PARTITIONS].value, 1, 1 << 20, &parts, e, sizeof(e)) ||
	    ktool_parse_int("replication-factor", kt->o[O_RF].value, 1, 32767, &rf, e, sizeof(e)))
		return kt_fail(kt, "java.lang.IllegalArgumentException", "%s", e);
	if (kname_topic_may_collide(topic))
		printf("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
		       "('_') could collide. To avoid issues it is best to use either, but not both.\n");

	snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
	struct kt_zk_call c;
	int zrc = kt_zk_get(kt, z, path, &c);
	kt_zk_call_free(&c);
	if (zrc == ZOK) {
		if (kt->o[O_IF_NOT_EXISTS].seen)
			return 0;
		return kt_fail(kt, "org.apache.kafka.common.errors.TopicExistsException", "Topic '%s' already exists.", topic);
	}
	if (zrc != ZNONODE)
		return -1;
	/* Kafka's AdminZkClient.validateTopicCreate: a name that equals an existing one once '.'
	 * and '_' are alike is refused (their metric names would collide) */
	if (kname_topic_may_collide(topic)) {
		struct kt_zk_call all;
		if (kt_zk_children(kt, z, "/brokers/topics", &all) == -1)
			return -1;
		char coll[1024] = "";
		size_t cl = 0;
		for (int32_t i = 0; i < all.kids.count; i++) {
			if (!kname_topic_collide(all.kids.data[i], topic))
				continue;
			int k = snprintf(coll + cl, sizeof(coll) - cl, "%s%s", cl ? ", " : "", all.kids.data[i]);
			if (k > 0 && (size_t)k < sizeof(coll) - cl)
				cl += (size_t)k;
		}
		kt_zk_call_free(&all);
		if (cl)
			return kt_fail(kt, "org.apache.kafka.common.errors.InvalidTopicException",
				       "Topic '%s' collides with existing topics: %s", topic, coll);
	}
	if (kt_zk_children(kt, z, "/brokers/ids", &ids) == -1)
		return -1;
	n = ids.kids.count;
	if (rf > n) {
		rc = kt_fail(kt, "org.apache.kafka.common.errors.InvalidReplicationFactorException",
			     "Replication factor: %lld larger than available brokers: %d.", rf, n);
		goto out;
	}
	if (!(brokers = calloc((size_t)n, sizeof(*brokers))) ||
	    !(replicas = calloc((size_t)(parts * rf), sizeof(*replicas)))) {
		rc = kt_nomem(kt);
		goto out;
	}
	for (int i = 0; i < n; i++)
		brokers[i] = (int32_t)strtol(ids.kids.data[i], NULL, 10);
	kassign_sort(brokers, n);
	unsigned seed = (unsigned)ktool_now_us();
	int32_t start = (int32_t)(rand_r(&seed) % (unsigned)n), shift = (int32_t)(rand_r(&seed) % (unsigned)n);
	if (kassign_replicas(brokers, n, (int32_t)parts, (int32_t)rf, start, shift, 0, replicas) != 0) {
		rc = kt_fail(kt, "org.apache.kafka.common.errors.InvalidReplicationFactorException",
			     "Replication factor: %lld larger than available brokers: %d.", rf, n);
		goto out;
	}

	/* {"version":1,"config":{"k":"v"}} (kznode_config_encode, as the broker writes it) */
	nconf = kt->o[O_CONFIG].n;
	if (nconf > KZNODE_MAX_CONFIGS) {
		rc = kt_fail(kt, "java.lang.IllegalArgumentException", "More than %d configs", KZNODE_MAX_CONFIGS);
		goto out;
	}
	if (!(confs = calloc(nconf + 1, sizeof(*confs)))) {
		rc = kt_nomem(kt);
		goto out;
	}
	for (size_t i = 0; rc == 0 && i < nconf; i++) {
		const char *kv = kt->o[O_CONFIG].list[i];
		const char *eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1] || strchr(eq + 1, '=')) {
			rc = kt_fail(kt, "java.lang.IllegalArgumentException",
				     "requirement failed: Invalid topic config: all configs to be added must be in "
				     "the format \"key=val\".");
			goto out;
		}
		if (!(confs[i].name = strndup(kv, (size_t)(eq - kv)))) {
			rc = kt_nomem(kt);
			goto out;
		}
		confs[i].value = (char *)(uintptr_t)(eq + 1); /* borrowed from the arguments */
		if (!kt_topic_config_known(confs[i].name)) {
			rc = kt_fail(kt, "org.apache.kafka.common.errors.InvalidConfigurationException",
				     "Unknown topic config name: %s", confs[i].name);
			goto out;
		}
	}
	rc = kznode_config_encode(confs, (int32_t)nconf, &cfg);
	rc = rc || kznode_assignment_encode((int32_t)parts, (int32_t)rf, replicas, &asg);
	if (rc) {
		rc = kt_nomem(kt);
		goto out;
	}
	snprintf(path, sizeof(path), "/config/topics/%s", topic);
	if (kt_zk_create(kt, z, path, cfg, true) == -1) {
		rc = -1;
		goto out;
	}
	snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
	zrc = kt_zk_create(kt, z, path, asg, false);
	if (zrc == -1) {
		rc = -1;
	} else if (zrc == ZNODEEXISTS) {
		if (!kt->o[O_IF_NOT_EXISTS].seen)
			rc = kt_fail(kt, "org.apache.kafka.common.errors.TopicExistsException", "Topic '%s' already exists.",
				     topic);
	} else {
		printf("Created topic %s.\n", topic);
	}
out:
	kt_zk_call_free(&ids);
	free(brokers);
	free(replicas);
	for (size_t i = 0; confs && i < nconf; i++)
		free(confs[i].name);
	free(confs);
	free(cfg);
	free(asg);
	return rc;
}

/* --delete with --zookeeper: marks each selected topic under /admin/delete_topics, where the
 * controller picks it up (Kafka 2.x's wording). */
static int kt_zk_delete_topics(struct kt *kt, struct kt_zk *z, const struct kt_topics *ts)
{
	char path[1024];
	for (size_t i = 0; i < ts->n; i++) {
		const char *t = ts->v[i].name;
		if (ktool_topic_internal(t))
			return kt_fail(kt, "kafka.common.AdminOperationException",
				       "Topic %s is a kafka internal topic and is not allowed to be marked for deletion.", t);
		snprintf(path, sizeof(path), "/admin/delete_topics/%s", t);
		int rc = kt_zk_create(kt, z, path, NULL, false);
		if (rc == -1)
			return -1;
		if (rc == ZNODEEXISTS) {
			printf("Topic %s is already marked for deletion.\n", t);
			continue;
		}
		printf("Topic %s is marked for deletion.\n", t);
		printf("Note: This will have no impact if delete.topic.enable is not set to true.\n");
	}
	return 0;
}

static int kt_run_zk(struct kt *kt)
{
	struct kt_zk z = { 0 };
	struct kt_topics ts = { 0 };
	struct kt_zk_call topics = { 0 }, deleting = { 0 }, ids = { 0 };
	const char *hosts = kt->o[O_ZOOKEEPER].value;
	int rc = 0;

	if (kt->o[O_ALTER].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "--alter needs --bootstrap-server; with --zookeeper topics are listed, described, "
			       "created and deleted");
	if (kt->o[O_UNDER_MIN_ISR].seen || kt->o[O_AT_MIN_ISR].seen)
		return kt_fail(kt, "java.lang.IllegalArgumentException",
			       "--under-min-isr-partitions and --at-min-isr-partitions are not supported with "
			       "--zookeeper");
	zoo_set_debug_level(getenv("KTOOL_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : (ZooLogLevel)0);
	z.zh = zookeeper_init(hosts, kt_zk_watcher, KT_ZK_SESSION_MS, NULL, &z, 0);
	if (!z.zh)
		return kt_fail(kt, "java.lang.IllegalArgumentException", "Invalid ZooKeeper connect string %s: %s",
			       hosts, strerror(errno));
	int64_t deadline = ktool_now_us() + (int64_t)kt->timeout_ms * 1000;
	while (!z.connected && !z.expired && ktool_now_us() < deadline && !ktool_stop_requested())
		kt_zk_pump(&z, 100);
	if (!z.connected) {
		rc = kt_fail(kt, "kafka.zookeeper.ZooKeeperClientTimeoutException",
			     "Timed out waiting for connection while in state: CONNECTING");
		goto out;
	}
	if (kt->o[O_CREATE].seen) {
		rc = kt_zk_create_topic(kt, &z);
		goto out;
	}
	if (kt_zk_children(kt, &z, "/brokers/topics", &topics) == -1 ||
	    kt_zk_children(kt, &z, "/admin/delete_topics", &deleting) == -1 ||
	    (kt->o[O_UNAVAILABLE].seen && kt_zk_children(kt, &z, "/brokers/ids", &ids) == -1)) {
		rc = -1;
		goto out;
	}
	if (ids.kids.count > 0 && !(kt->live = calloc((size_t)ids.kids.count, sizeof(*kt->live)))) {
		rc = kt_nomem(kt);
		goto out;
	}
	for (int i = 0; i < ids.kids.count; i++)
		kt->live[kt->n_live++] = (int32_t)strtol(ids.kids.data[i], NULL, 10);
	for (int i = 0; i < topics.kids.count; i++) {
		struct kt_topic *t = kt_topics_add(&ts, topics.kids.data[i]);
		if (!t) {
			rc = kt_nomem(kt);
			goto out;
		}
		t->deleting = kt_in(&deleting.kids, t->name);
	}
	if ((rc = kt_select(kt, &ts)))
		goto out;
	if (kt->o[O_DELETE].seen) {
		rc = kt_zk_delete_topics(kt, &z, &ts);
		goto out;
	}
	if (kt->o[O_LIST].seen) {
		/* Kafka 2.x's ZooKeeper listing marks topics being deleted */
		for (size_t i = 0; i < ts.n; i++)
			printf("%s%s\n", ts.v[i].name, ts.v[i].deleting ? " - marked for deletion" : "");
		goto out;
	}
	for (size_t i = 0; i < ts.n && rc == 0; i++)
		rc = kt_zk_topic(kt, &z, &ts.v[i], "/admin/delete_topics");
	for (size_t i = 0; i < ts.n && rc == 0; i++)
		qsort(ts.v[i].parts, ts.v[i].n_parts, sizeof(*ts.v[i].parts), kt_cmp_part);
	if (rc == 0)
		kt_print_describe(kt, &ts, true);
out:
	kt_zk_call_free(&topics);
	kt_zk_call_free(&deleting);
	kt_zk_call_free(&ids);
	kt_topics_free(&ts);
	free(kt->live);
	kt->live = NULL;
	if (z.zh)
		zookeeper_close(z.zh);
	return rc;
}

/* ---- main ---- */

static int kt_usage_error(struct kt *kt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int kt_usage_error(struct kt *kt, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, kt_intro, kt->o, O_COUNT);
	return 1;
}

/* Options that only make sense with some actions, as Kafka's checkInvalidArgs sets them. */
static int kt_check_args(struct kt *kt)
{
	static const struct {
		int opt;
		unsigned allowed; /* bit mask of actions */
	} rules[] = {
		{ O_PARTITIONS, 1u << O_CREATE | 1u << O_ALTER },
		{ O_RF, 1u << O_CREATE },
		{ O_REPLICA_ASSIGNMENT, 1u << O_CREATE | 1u << O_ALTER },
		{ O_CONFIG, 1u << O_CREATE | 1u << O_ALTER },
		{ O_IF_NOT_EXISTS, 1u << O_CREATE },
		{ O_IF_EXISTS, 1u << O_ALTER | 1u << O_DELETE | 1u << O_DESCRIBE },
		{ O_UNDER_REPLICATED, 1u << O_DESCRIBE },
		{ O_UNAVAILABLE, 1u << O_DESCRIBE },
		{ O_UNDER_MIN_ISR, 1u << O_DESCRIBE },
		{ O_AT_MIN_ISR, 1u << O_DESCRIBE },
		{ O_OVERRIDES, 1u << O_DESCRIBE },
		{ O_EXCLUDE_INTERNAL, 1u << O_LIST | 1u << O_DESCRIBE },
	};
	static const int actions[] = { O_LIST, O_DESCRIBE, O_CREATE, O_ALTER, O_DELETE };
	int action = -1, n = 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (kt->o[actions[i]].seen) {
			action = actions[i];
			n++;
		}
	if (n != 1)
		return kt_usage_error(kt, "Command must include exactly one action: --list, --describe, --create, "
					  "--alter or --delete");
	if (kt->o[O_BOOTSTRAP].seen == kt->o[O_ZOOKEEPER].seen)
		return kt_usage_error(kt, "Only one of --bootstrap-server or --zookeeper must be specified");
	if ((action == O_CREATE || action == O_ALTER || action == O_DELETE) && !kt->o[O_TOPIC].seen)
		return kt_usage_error(kt, "Missing required argument \"[topic]\"");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (kt->o[rules[i].opt].seen && !(rules[i].allowed & (1u << action)))
			return kt_usage_error(kt, "Option \"[%s]\" can't be used with option \"[%s]\"",
					      kt->o[rules[i].opt].name, kt->o[action].name);
	if (kt->o[O_REPLICA_ASSIGNMENT].seen && kt->o[O_RF].seen)
		return kt_usage_error(kt, "Option \"[replica-assignment]\" can't be used with option "
					  "\"[replication-factor]\"");
	if (kt->o[O_REPLICA_ASSIGNMENT].seen && action == O_CREATE && kt->o[O_PARTITIONS].seen)
		return kt_usage_error(kt, "Option \"[replica-assignment]\" can't be used with option \"[partitions]\"");
	if (action == O_ALTER && kt->o[O_BOOTSTRAP].seen && kt->o[O_CONFIG].seen)
		return kt_usage_error(kt, "Option combination \"[bootstrap-server],[config]\" can't be used with "
					  "option \"[alter]\"");
	if (kt->o[O_COMMAND_CONFIG].seen && !kt->o[O_BOOTSTRAP].seen)
		return kt_usage_error(kt, "Option \"[command-config]\" can't be used with option \"[zookeeper]\"");
	return 0;
}

int main(int argc, char **argv)
{
	struct kt kt;
	char e[512];
	int status = 1;

	memset(&kt, 0, sizeof(kt));
	memcpy(kt.o, kt_opts_def, sizeof(kt.o));
	kt.timeout_ms = KT_TIMEOUT_MS;
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, kt_intro, kt.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(kt.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = kt_usage_error(&kt, "%s", e);
		goto done;
	}
	if (kt.o[O_HELP].seen) {
		ktool_usage(stdout, kt_intro, kt.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (kt.o[O_VERSION].seen) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	if (kt_check_args(&kt))
		goto done;
	if (kt.o[O_TOPIC].seen && !kt.o[O_CREATE].seen) {
		if (ktool_topic_regex(&kt.topic_re, kt.o[O_TOPIC].value, e, sizeof(e))) {
			status = kt_usage_error(&kt, "%s", e);
			goto done;
		}
		kt.have_re = true;
	}
	int rc = kt.o[O_ZOOKEEPER].seen ? kt_run_zk(&kt) : kt_run_admin(&kt);
	if (rc) {
		/* as Kafka: the message on stdout, the exception in the log (stderr) */
		printf("Error while executing topic command : %s\n", kt.err);
		fflush(stdout);
		if (kt.exception && strncmp(kt.err, kt.exception, strlen(kt.exception)) != 0)
			log_error(KT_LOGGER, "%s: %s", kt.exception, kt.err);
		else
			log_error(KT_LOGGER, "%s", kt.err);
		goto done;
	}
	status = 0;
done:
	if (kt.have_re)
		regfree(&kt.topic_re);
	ktool_opts_free(kt.o, O_COUNT);
	return status;
}

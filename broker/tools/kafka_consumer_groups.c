/*
 * kafka-consumer-groups — Kafka 2.x's ConsumerGroupCommand on librdkafka's admin API
 * (ListConsumerGroups, DescribeConsumerGroups, ListConsumerGroupOffsets,
 * AlterConsumerGroupOffsets, DeleteGroups, DeleteConsumerGroupOffsets), with log start and end
 * offsets from ListOffsets (rd_kafka_query_watermark_offsets, rd_kafka_offsets_for_times):
 *
 *   kafka-consumer-groups --bootstrap-server H:P --list [--state [s1,s2]]
 *   kafka-consumer-groups --bootstrap-server H:P --describe (--group G... | --all-groups)
 *                         [--offsets | --members [--verbose] | --state]
 *   kafka-consumer-groups --bootstrap-server H:P --reset-offsets (--group G... | --all-groups)
 *                         (--topic T[:p,p]... | --all-topics)
 *                         (--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N
 *                          | --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --by-duration PnDTnHnMnS
 *                          | --from-file CSV) [--dry-run | --execute] [--export]
 *   kafka-consumer-groups --bootstrap-server H:P --delete (--group G... | --all-groups)
 *   kafka-consumer-groups --bootstrap-server H:P --delete-offsets --group G --topic T[:p,p]...
 *
 * The argument checks, messages and tables are Kafka 2.7's (kafka.admin.ConsumerGroupCommand):
 * "\nError: ..." on stdout, the state notes ("Consumer group 'g' has no active members.", "Warning:
 * Consumer group 'g' is rebalancing.") on stderr, column widths of at least 15 that grow with the
 * values, one space between columns. Where Kafka's row order is a hash map's, rows here are sorted
 * (members by partition count as Kafka does, then topic and partition). Two deliberate differences:
 * --describe --state gives the GROUP column its own width (Kafka 2.7 used the coordinator's, fixed
 * in 3.x), and every run that prints "Error:" exits 1 (Kafka 2.x exits 0 after printing it), so
 * scripts can tell. Usage errors print the message and the help on stderr and exit 1.
 *
 * One short-lived process: all state lives in main's struct cg; the handle is a consumer without
 * a group (admin calls work on any handle, and a consumer's isolation.level=read_uncommitted makes
 * the log end offset the high watermark, as Kafka's admin ListOffsets reads it).
 */
#include "ktool.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CG_LOGGER "kafka.admin.ConsumerGroupCommand$"
#define CG_MISSING "-"

enum {
	O_ALL_GROUPS,
	O_ALL_TOPICS,
	O_BOOTSTRAP,
	O_BY_DURATION,
	O_COMMAND_CONFIG,
	O_DELETE,
	O_DELETE_OFFSETS,
	O_DESCRIBE,
	O_DRY_RUN,
	O_EXECUTE,
	O_EXPORT,
	O_FROM_FILE,
	O_GROUP,
	O_HELP,
	O_LIST,
	O_MEMBERS,
	O_OFFSETS,
	O_RESET_OFFSETS,
	O_SHIFT_BY,
	O_STATE,
	O_TIMEOUT,
	O_TO_CURRENT,
	O_TO_DATETIME,
	O_TO_EARLIEST,
	O_TO_LATEST,
	O_TO_OFFSET,
	O_TOPIC,
	O_VERBOSE,
	O_VERSION,
	O_COUNT
};

static const struct ktool_opt cg_opts_def[O_COUNT] = {
	[O_ALL_GROUPS] = KTOOL_OPT("all-groups", KTOOL_FLAG, NULL, "Apply to all consumer groups."),
	[O_ALL_TOPICS] = KTOOL_OPT("all-topics", KTOOL_FLAG, NULL,
				   "Consider all topics assigned to a group in the `reset-offsets` process."),
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
				  "REQUIRED: The server(s) to connect to."),
	[O_BY_DURATION] = KTOOL_OPT("by-duration", KTOOL_ARG, "String: duration",
				    "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'"),
	[O_COMMAND_CONFIG] = KTOOL_OPT("command-config", KTOOL_ARG, "String: command config property file",
				       "Property file containing configs to be passed to Admin Client and Consumer."),
	[O_DELETE] = KTOOL_OPT("delete", KTOOL_FLAG, NULL,
			       "Pass in groups to delete topic partition offsets and ownership information over "
			       "the entire consumer group. For instance --group g1 --group g2"),
	[O_DELETE_OFFSETS] = KTOOL_OPT("delete-offsets", KTOOL_FLAG, NULL,
				       "Delete offsets of consumer group. Supports one consumer group at the time, and "
				       "multiple topics."),
	[O_DESCRIBE] = KTOOL_OPT("describe", KTOOL_FLAG, NULL,
				 "Describe consumer group and list offset lag (number of messages not yet "
				 "processed) related to given group."),
	[O_DRY_RUN] = KTOOL_OPT("dry-run", KTOOL_FLAG, NULL,
				"Only show results without executing changes on Consumer Groups. Supported "
				"operations: reset-offsets."),
	[O_EXECUTE] = KTOOL_OPT("execute", KTOOL_FLAG, NULL, "Execute operation. Supported operations: reset-offsets."),
	[O_EXPORT] = KTOOL_OPT("export", KTOOL_FLAG, NULL,
			       "Export operation execution to a CSV file. Supported operations: reset-offsets."),
	[O_FROM_FILE] = KTOOL_OPT("from-file", KTOOL_ARG, "String: path to CSV file",
				  "Reset offsets to values defined in CSV file."),
	[O_GROUP] = KTOOL_OPT("group", KTOOL_LIST, "String: consumer group", "The consumer group we wish to act on."),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_LIST] = KTOOL_OPT("list", KTOOL_FLAG, NULL, "List all consumer groups."),
	[O_MEMBERS] = KTOOL_OPT("members", KTOOL_FLAG, NULL,
				"Describe members of the group. This option may be used with '--describe' and "
				"'--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 "
				"--describe --group group1 --members"),
	[O_OFFSETS] = KTOOL_OPT("offsets", KTOOL_FLAG, NULL,
				"Describe the group and list all topic partitions in the group along with their "
				"offset lag. This is the default sub-action of and may be used with '--describe' and "
				"'--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 "
				"--describe --group group1 --offsets"),
	[O_RESET_OFFSETS] = KTOOL_OPT("reset-offsets", KTOOL_FLAG, NULL,
				      "Reset offsets of consumer group. Supports one consumer group at the time, and "
				      "instances should be inactive\nHas 2 execution options: --dry-run (the default) to "
				      "plan which offsets to reset, and --execute to update the offsets. Additionally, "
				      "the --export option is used to export the results to a CSV format.\nYou must "
				      "choose one of the following reset specifications: --to-datetime, --by-period, "
				      "--to-earliest, --to-latest, --shift-by, --from-file, --to-current.\nTo define "
				      "the scope use --all-topics or --topic. One scope must be specified unless you use "
				      "'--from-file'."),
	[O_SHIFT_BY] = KTOOL_OPT("shift-by", KTOOL_ARG, "Long: number-of-offsets",
				 "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative."),
	[O_STATE] = KTOOL_OPT("state", KTOOL_OPTARG, "String",
			      "When specified with '--describe', includes the state of the group.\nExample: "
			      "--bootstrap-server localhost:9092 --describe --group group1 --state\nWhen specified "
			      "with '--list', it displays the state of all groups. It can also be used to list "
			      "groups with specific states.\nExample: --bootstrap-server localhost:9092 --list "
			      "--state stable,empty\nThis option may be used with '--describe', '--list' and "
			      "'--bootstrap-server' options only."),
	[O_TIMEOUT] = KTOOL_OPT("timeout", KTOOL_ARG, "Long: timeout (ms)",
				"The timeout that can be set for some use cases. For example, it can be used when "
				"describing the group to specify the maximum amount of time in milliseconds to wait "
				"before the group stabilizes (when the group is just created, or is going through "
				"some changes). (default: 5000)"),
	[O_TO_CURRENT] = KTOOL_OPT("to-current", KTOOL_FLAG, NULL, "Reset offsets to current offset."),
	[O_TO_DATETIME] = KTOOL_OPT("to-datetime", KTOOL_ARG, "String: datetime",
				    "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'"),
	[O_TO_EARLIEST] = KTOOL_OPT("to-earliest", KTOOL_FLAG, NULL, "Reset offsets to earliest offset."),
	[O_TO_LATEST] = KTOOL_OPT("to-latest", KTOOL_FLAG, NULL, "Reset offsets to latest offset."),
	[O_TO_OFFSET] = KTOOL_OPT("to-offset", KTOOL_ARG, "Long: offset", "Reset offsets to a specific offset."),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_LIST, "String: topic",
			      "The topic whose consumer group information should be deleted or topic whose should "
			      "be included in the reset offset process. In `reset-offsets` case, partitions can be "
			      "specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be "
			      "included in the process. Reset-offsets also supports multiple topic inputs."),
	[O_VERBOSE] = KTOOL_OPT("verbose", KTOOL_FLAG, NULL,
				"Provide additional information, if any, when describing the group. This option may "
				"be used with '--offsets'/'--members'/'--state' and '--bootstrap-server' options "
				"only.\nExample: --bootstrap-server localhost:9092 --describe --group group1 --members "
				"--verbose"),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
};

static const char cg_intro[] = "This tool helps to list all consumer groups, describe a consumer group, delete "
			       "consumer group info, or reset consumer group offsets.";

/* The reset scenarios, in Kafka's order (allResetOffsetScenarioOpts). */
static const int cg_scenarios[] = { O_TO_OFFSET, O_SHIFT_BY, O_TO_DATETIME, O_BY_DURATION,
				    O_TO_EARLIEST, O_TO_LATEST, O_TO_CURRENT, O_FROM_FILE };
#define CG_NSCENARIOS (sizeof(cg_scenarios) / sizeof(cg_scenarios[0]))

struct cg {
	struct ktool_opt o[O_COUNT];
	long long timeout_ms;
	int scenario;	   /* the reset scenario's option index, -1 if none */
	long long value;   /* --to-offset / --shift-by */
	int64_t timestamp; /* --to-datetime / --by-duration, ms since the epoch */
	rd_kafka_t *rk;
	bool failed; /* an "Error:" was printed: exit 1 */
};

/* ---- messages ---- */

/* Kafka's printError: a blank line, then "Error: msg" on stdout. */
static void cg_error(struct cg *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cg_error(struct cg *cg, const char *fmt, ...)
{
	va_list ap;
	printf("\nError: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cg->failed = true;
}

static int cg_usage_error(struct cg *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cg_usage_error(struct cg *cg, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ktool_usage(stderr, cg_intro, cg->o, O_COUNT);
	return 1;
}

/* Kafka's exception (class: message) for a broker error code, as the Java admin client throws it. */
static void cg_exception(rd_kafka_resp_err_t e, const char *fallback, char *buf, size_t len)
{
	static const struct {
		rd_kafka_resp_err_t err;
		const char *cls, *msg;
	} map[] = {
		{ RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND, "GroupIdNotFoundException", "The group id does not exist." },
		{ RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP, "GroupNotEmptyException", "The group is not empty." },
		{ RD_KAFKA_RESP_ERR_INVALID_GROUP_ID, "InvalidGroupIdException", "The configured groupId is invalid." },
		{ RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, "GroupAuthorizationException", "Group authorization failed." },
		{ RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, "CoordinatorNotAvailableException",
		  "The coordinator is not available." },
		{ RD_KAFKA_RESP_ERR_NOT_COORDINATOR, "NotCoordinatorException", "This is not the correct coordinator." },
		{ RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, "CoordinatorLoadInProgressException",
		  "The coordinator is loading and hence can't process requests." },
		{ RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "UnknownTopicOrPartitionException",
		  "This server does not host this topic-partition." },
		{ RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC, "GroupSubscribedToTopicException",
		  "The consumer group is actively subscribed to the topic" },
		{ RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, "UnknownMemberIdException",
		  "The coordinator is not aware of this member." },
		{ RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, "RebalanceInProgressException",
		  "The group is rebalancing, so a rejoin is needed." },
		{ RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE, "OffsetMetadataTooLarge",
		  "The metadata field of the offset request was too large." },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].err == e) {
			snprintf(buf, len, "org.apache.kafka.common.errors.%s: %s", map[i].cls, map[i].msg);
			return;
		}
	if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION)
		snprintf(buf, len, "org.apache.kafka.common.errors.UnsupportedVersionException: %s",
			 fallback && *fallback ? fallback : rd_kafka_err2str(e));
	else if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
		snprintf(buf, len, "org.apache.kafka.common.errors.TimeoutException: %s",
			 fallback && *fallback ? fallback : rd_kafka_err2str(e));
	else
		snprintf(buf, len, "org.apache.kafka.common.KafkaException: %s",
			 fallback && *fallback ? fallback : rd_kafka_err2str(e));
}

/* "Error: Executing consumer group command failed due to <exception>" (Kafka's catch-all). */
static int cg_fail(struct cg *cg, rd_kafka_resp_err_t e, const char *msg)
{
	char ex[512];
	cg_exception(e, msg, ex, sizeof(ex));
	cg_error(cg, "Executing consumer group command failed due to %s", ex);
	return -1;
}

/* ---- admin calls ---- */

static rd_kafka_AdminOptions_t *cg_options(struct cg *cg, rd_kafka_admin_op_t op)
{
	char e[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(cg->rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, (int)cg->timeout_ms, e, sizeof(e));
	return ao;
}

/* Waits for the result of one admin call on q; NULL after printing the error. Destroys ao. */
static rd_kafka_event_t *cg_wait(struct cg *cg, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *ao)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)cg->timeout_ms + 5000);
	rd_kafka_AdminOptions_destroy(ao);
	if (!ev) {
		cg_fail(cg, RD_KAFKA_RESP_ERR__TIMED_OUT, "Timed out waiting for a node assignment.");
		return NULL;
	}
	rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
	if (e) {
		cg_fail(cg, e, rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static int cg_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cg_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * --list --state's argument: states separated by commas, any case (Kafka's
 * ConsumerGroupState.parse). Fills want[] (RD_KAFKA_CONSUMER_GROUP_STATE__CNT entries) and *nw;
 * 0, or -2 after a usage error.
 */
static int cg_parse_states(struct cg *cg, const char *arg, rd_kafka_consumer_group_state_t *want, size_t *nw)
{
	*nw = 0;
	for (const char *p = arg; p && *p;) {
		size_t l = strcspn(p, ",");
		const char *s = p, *e = p + l;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		int code = -1;
		for (int st = 1; st < RD_KAFKA_CONSUMER_GROUP_STATE__CNT; st++) {
			const char *name = rd_kafka_consumer_group_state_name((rd_kafka_consumer_group_state_t)st);
			if (strlen(name) == (size_t)(e - s) && !strncasecmp(s, name, (size_t)(e - s)))
				code = st;
		}
		if (code < 0) {
			cg_usage_error(cg, "Invalid state list '%s'. Valid states are: PreparingRebalance, "
					   "CompletingRebalance, Stable, Dead, Empty", arg);
			return -2;
		}
		bool dup = false;
		for (size_t i = 0; i < *nw; i++)
			dup |= want[i] == (rd_kafka_consumer_group_state_t)code;
		if (!dup)
			want[(*nw)++] = (rd_kafka_consumer_group_state_t)code;
		p += l + (p[l] == ',');
	}
	return 0;
}

/*
 * ListConsumerGroups. On success *names (and *states, if asked) hold the groups sorted by name:
 * arrays and strings owned by the caller (cg_strv_free; free(*states)). want[0..nw) asks the
 * broker for groups in those states only (ListGroups v4; older brokers ignore it and give every
 * group, in state Unknown). Returns 0 or -1 (error printed).
 */
static int cg_list(struct cg *cg, const rd_kafka_consumer_group_state_t *want, size_t nw, char ***names,
		   rd_kafka_consumer_group_state_t **states, size_t *n)
{
	*names = NULL;
	*n = 0;
	if (states)
		*states = NULL;
	rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
	if (nw > 0) {
		rd_kafka_error_t *err = rd_kafka_AdminOptions_set_match_consumer_group_states(ao, want, nw);
		if (err) {
			cg_fail(cg, rd_kafka_error_code(err), rd_kafka_error_string(err));
			rd_kafka_error_destroy(err);
			rd_kafka_AdminOptions_destroy(ao);
			return -1;
		}
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
	rd_kafka_ListConsumerGroups(cg->rk, ao, q);
	rd_kafka_event_t *ev = cg_wait(cg, q, ao);
	rd_kafka_queue_destroy(q);
	if (!ev)
		return -1;
	const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
	size_t nerr = 0, nv = 0;
	const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
	if (nerr > 0) { /* Kafka's result.all.get throws on any broker's failure */
		cg_fail(cg, rd_kafka_error_code(errs[0]), rd_kafka_error_string(errs[0]));
		rd_kafka_event_destroy(ev);
		return -1;
	}
	const rd_kafka_ConsumerGroupListing_t **gl = rd_kafka_ListConsumerGroups_result_valid(res, &nv);
	char **v = calloc(nv + 1, sizeof(*v));
	rd_kafka_consumer_group_state_t *sv = calloc(nv + 1, sizeof(*sv));
	bool oom = !v || !sv;
	size_t k = 0;
	for (size_t i = 0; !oom && i < nv; i++) {
		const char *id = rd_kafka_ConsumerGroupListing_group_id(gl[i]);
		bool dup = false; /* one group per coordinator, but be safe */
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(v[j], id);
		if (dup)
			continue;
		if (!(v[k] = strdup(id)))
			oom = true;
		else
			sv[k++] = rd_kafka_ConsumerGroupListing_state(gl[i]);
	}
	rd_kafka_event_destroy(ev);
	if (oom) {
		cg_strv_free(v, k);
		free(sv);
		return cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "out of memory");
	}
	/* sort names, keeping each state with its name */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
			rd_kafka_consumer_group_state_t y = sv[j];
			sv[j] = sv[j - 1];
			sv[j - 1] = y;
		}
	*names = v;
	*n = k;
	if (states)
		*states = sv;
	else
		free(sv);
	return 0;
}

/* The groups the command acts on: --group values, or every group with --all-groups. Sorted
 * (Kafka keeps them in a TreeMap) and without duplicates. Caller frees with cg_strv_free. */
static int cg_groups(struct cg *cg, char ***names, size_t *n)
{
	if (cg->o[O_ALL_GROUPS].seen)
		return cg_list(cg, NULL, 0, names, NULL, n);
	const struct ktool_opt *g = &cg->o[O_GROUP];
	char **v = calloc(g->n + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < g->n; i++) {
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(v[j], g->list[i]);
		if (!dup && !(v[k++] = strdup(g->list[i]))) {
			cg_strv_free(v, k);
			v = NULL;
		}
	}
	if (!v)
		return cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "out of memory");
	qsort(v, k, sizeof(*v), cg_strcmp);
	*names = v;
	*n = k;
	return 0;
}

/* DescribeConsumerGroups of the given groups; the result event holds the descriptions (the
 * caller destroys it). NULL after printing the error. */
static rd_kafka_event_t *cg_describe_call(struct cg *cg, char **names, size_t n)
{
	rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
	rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
	rd_kafka_DescribeConsumerGroups(cg->rk, (const char **)names, n, ao, q);
	rd_kafka_event_t *ev = cg_wait(cg, q, ao);
	rd_kafka_queue_destroy(q);
	return ev;
}

static const rd_kafka_ConsumerGroupDescription_t *cg_description(rd_kafka_event_t *ev, const char *group)
{
	size_t n = 0;
	const rd_kafka_ConsumerGroupDescription_t **d =
		rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rd_kafka_ConsumerGroupDescription_group_id(d[i]), group))
			return d[i];
	return NULL;
}

/*
 * A group's state from its description: a group the broker does not know is Dead (Kafka's broker
 * describes it so; a broker answering GROUP_ID_NOT_FOUND means the same). Returns 0, or -1 after
 * printing any other error.
 */
static int cg_state(struct cg *cg, const rd_kafka_ConsumerGroupDescription_t *d, rd_kafka_consumer_group_state_t *st)
{
	if (!d)
		return cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "the group is missing from DescribeGroups' answer");
	const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(d);
	if (err && rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
		*st = RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
		return 0;
	}
	if (err)
		return cg_fail(cg, rd_kafka_error_code(err), rd_kafka_error_string(err));
	*st = rd_kafka_ConsumerGroupDescription_state(d);
	return 0;
}

/*
 * The group's committed offsets (ListConsumerGroupOffsets): a list owned by the caller, sorted,
 * partitions without an offset left out. NULL after printing the error.
 *
 * Every partition of the cluster is named rather than asking for "all" (partitions NULL):
 * librdkafka 2.0.2 writes "all" as an empty topic array, which only OffsetFetch v6+ reads as
 * null (a compact array's 0); a broker answering v2-v5 would return nothing.
 */
static rd_kafka_topic_partition_list_t *cg_committed(struct cg *cg, const char *group)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t me = rd_kafka_metadata(cg->rk, 1, NULL, &md, (int)cg->timeout_ms);
	if (me) {
		cg_fail(cg, me, rd_kafka_err2str(me));
		return NULL;
	}
	rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(16);
	for (int i = 0; i < md->topic_cnt; i++)
		for (int p = 0; !md->topics[i].err && p < md->topics[i].partition_cnt; p++)
			rd_kafka_topic_partition_list_add(all, md->topics[i].topic, md->topics[i].partitions[p].id);
	rd_kafka_metadata_destroy(md);
	if (all->cnt == 0)
		return all;
	rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, all);
	rd_kafka_topic_partition_list_destroy(all);
	rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
	rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
	rd_kafka_ListConsumerGroupOffsets(cg->rk, &req, 1, ao, q);
	rd_kafka_event_t *ev = cg_wait(cg, q, ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	if (!ev)
		return NULL;
	size_t n = 0;
	const rd_kafka_group_result_t **gr =
		rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	rd_kafka_topic_partition_list_t *out = NULL;
	if (n != 1) {
		cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "no OffsetFetch result for the group");
	} else if (rd_kafka_group_result_error(gr[0])) {
		const rd_kafka_error_t *err = rd_kafka_group_result_error(gr[0]);
		cg_fail(cg, rd_kafka_error_code(err), rd_kafka_error_string(err));
	} else {
		const rd_kafka_topic_partition_list_t *ps = rd_kafka_group_result_partitions(gr[0]);
		out = rd_kafka_topic_partition_list_new(ps ? ps->cnt : 0);
		for (int i = 0; ps && i < ps->cnt; i++)
			if (!ps->elems[i].err && ps->elems[i].offset >= 0)
				rd_kafka_topic_partition_list_add(out, ps->elems[i].topic, ps->elems[i].partition)->offset =
					ps->elems[i].offset;
		rd_kafka_topic_partition_list_sort(out, NULL, NULL);
	}
	rd_kafka_event_destroy(ev);
	return out;
}

/* Log start and end of one partition (ListOffsets earliest and latest). -1 after printing. */
static int cg_watermarks(struct cg *cg, const char *topic, int32_t partition, int64_t *lo, int64_t *hi)
{
	rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(cg->rk, topic, partition, lo, hi, (int)cg->timeout_ms);
	if (e)
		return cg_fail(cg, e, rd_kafka_err2str(e));
	return 0;
}

/* ---- --list ---- */

static int cg_do_list(struct cg *cg)
{
	char **names;
	rd_kafka_consumer_group_state_t *states;
	rd_kafka_consumer_group_state_t want[RD_KAFKA_CONSUMER_GROUP_STATE__CNT];
	size_t n, nw = 0;
	bool with_state = cg->o[O_STATE].seen;
	if (with_state && cg_parse_states(cg, cg->o[O_STATE].value, want, &nw))
		return -2;
	int rc = cg_list(cg, want, nw, &names, &states, &n);
	if (rc)
		return rc;
	bool unknown = false;
	for (size_t i = 0; i < n; i++)
		unknown |= states[i] == RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN;
	if (with_state && unknown) {
		/* a broker below ListGroups v4 gives no states and ignores the filter: DescribeGroups
		 * tells the states, and the filter is applied here */
		rd_kafka_event_t *ev = cg_describe_call(cg, names, n);
		for (size_t i = 0; ev && rc == 0 && i < n; i++)
			rc = cg_state(cg, cg_description(ev, names[i]), &states[i]);
		if (ev)
			rd_kafka_event_destroy(ev);
		else
			rc = -1;
		size_t k = 0;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			bool keep = nw == 0;
			for (size_t j = 0; j < nw; j++)
				keep |= states[i] == want[j];
			if (keep) {
				names[k] = names[i];
				states[k++] = states[i];
			} else {
				free(names[i]);
			}
		}
		if (rc == 0)
			n = k;
	}
	if (rc == 0 && with_state) {
		int w = 15;
		for (size_t i = 0; i < n; i++)
			if ((int)strlen(names[i]) > w)
				w = (int)strlen(names[i]);
		printf("%-*s %s\n", w, "GROUP", "STATE");
		for (size_t i = 0; i < n; i++)
			printf("%-*s %s\n", w, names[i], rd_kafka_consumer_group_state_name(states[i]));
	} else if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
	}
	cg_strv_free(names, n);
	free(states);
	return rc;
}

/* ---- --describe ---- */

/* Kafka's shouldPrintMemberState: the note for the state; whether a table follows. */
static bool cg_should_print(struct cg *cg, const char *group, rd_kafka_consumer_group_state_t st, size_t rows)
{
	switch (st) {
	case RD_KAFKA_CONSUMER_GROUP_STATE_DEAD:
		cg_error(cg, "Consumer group '%s' does not exist.", group);
		return false;
	case RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY:
		fflush(stdout);
		fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
		break;
	case RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE:
	case RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE:
		fflush(stdout);
		fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
		break;
	case RD_KAFKA_CONSUMER_GROUP_STATE_STABLE:
		break;
	default:
		cg_error(cg, "Executing consumer group command failed due to org.apache.kafka.common.KafkaException: "
			     "Expected a valid consumer group state, but found '%s'.",
			 rd_kafka_consumer_group_state_name(st));
		return false;
	}
	return rows > 0;
}

/* One line of the offsets table. Strings point into the description and committed lists. */
struct cg_row {
	const char *topic;
	int32_t partition;
	int64_t offset; /* committed, -1: none */
	int64_t end;	/* log end, -1: unknown */
	const char *consumer, *host, *client;
	size_t member_parts; /* the member's partition count (Kafka's row order), 0 for "-" rows */
	size_t member;	     /* the member's index, rows of one member stay together */
};

static int cg_row_cmp(const void *a, const void *b)
{
	const struct cg_row *x = a, *y = b;
	if (x->member_parts != y->member_parts)
		return x->member_parts > y->member_parts ? -1 : 1;
	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	int c = strcmp(x->topic, y->topic);
	if (c)
		return c;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

static void cg_fmt_i64(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, CG_MISSING);
	else
		snprintf(buf, len, "%" PRId64, v);
}

static int cg_max(int w, const char *s)
{
	int l = (int)strlen(s);
	return l > w ? l : w;
}

static int cg_describe_offsets(struct cg *cg, const char *group, const rd_kafka_ConsumerGroupDescription_t *d,
			       rd_kafka_consumer_group_state_t st)
{
	rd_kafka_topic_partition_list_t *committed = NULL;
	struct cg_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc = -1;

	if (st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
		cg_should_print(cg, group, st, 0);
		return 0;
	}
	committed = cg_committed(cg, group);
	if (!committed)
		return -1;
	size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);
	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
		const rd_kafka_topic_partition_list_t *ps = ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
		cap += ps ? (size_t)ps->cnt : 0;
	}
	cap += (size_t)committed->cnt;
	rows = calloc(cap + 1, sizeof(*rows));
	if (!rows) {
		cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "out of memory");
		goto out;
	}
	/* the members' partitions (members without any are not shown, as in Kafka) */
	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
		const rd_kafka_topic_partition_list_t *ps = ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
		for (int i = 0; ps && i < ps->cnt; i++) {
			struct cg_row *r = &rows[nrows++];
			const rd_kafka_topic_partition_t *c =
				rd_kafka_topic_partition_list_find(committed, ps->elems[i].topic, ps->elems[i].partition);
			*r = (struct cg_row){ .topic = ps->elems[i].topic, .partition = ps->elems[i].partition,
					      .offset = c ? c->offset : -1, .end = -1,
					      .consumer = rd_kafka_MemberDescription_consumer_id(md),
					      .host = rd_kafka_MemberDescription_host(md),
					      .client = rd_kafka_MemberDescription_client_id(md),
					      .member_parts = (size_t)ps->cnt, .member = m };
		}
	}
	/* committed partitions no member holds */
	size_t assigned = nrows;
	for (int i = 0; i < committed->cnt; i++) {
		const rd_kafka_topic_partition_t *c = &committed->elems[i];
		bool held = false;
		for (size_t k = 0; k < assigned && !held; k++)
			held = rows[k].partition == c->partition && !strcmp(rows[k].topic, c->topic);
		if (!held)
			rows[nrows++] = (struct cg_row){ .topic = c->topic, .partition = c->partition, .offset = c->offset,
							 .end = -1, .consumer = CG_MISSING, .host = CG_MISSING,
							 .client = CG_MISSING, .member_parts = 0, .member = nm };
	}
	qsort(rows, nrows, sizeof(*rows), cg_row_cmp);
	for (size_t i = 0; i < nrows; i++) {
		int64_t lo;
		if (cg_watermarks(cg, rows[i].topic, rows[i].partition, &lo, &rows[i].end))
			goto out;
	}
	if (cg_should_print(cg, group, st, nrows)) {
		int wg = cg_max(15, group), wt = 15, wc = 15, wh = 15;
		for (size_t i = 0; i < nrows; i++) {
			wt = cg_max(wt, rows[i].topic);
			wc = cg_max(wc, rows[i].consumer);
			wh = cg_max(wh, rows[i].host);
		}
		printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, "GROUP", wt, "TOPIC", "PARTITION",
		       "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST", "CLIENT-ID");
		for (size_t i = 0; i < nrows; i++) {
			const struct cg_row *r = &rows[i];
			char part[16], off[24], end[24], lag[24];
			snprintf(part, sizeof(part), "%" PRId32, r->partition);
			cg_fmt_i64(off, sizeof(off), r->offset);
			cg_fmt_i64(end, sizeof(end), r->end);
			cg_fmt_i64(lag, sizeof(lag), r->offset >= 0 && r->end >= 0 ? r->end - r->offset : -1);
			printf("%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, group, wt, r->topic, part, off, end,
			       lag, wc, r->consumer, wh, r->host, r->client);
		}
	}
	rc = 0;
out:
	free(rows);
	rd_kafka_topic_partition_list_destroy(committed);
	return rc;
}

/* A member's assignment as Kafka's --members --verbose prints it: "t1(0,1), t2(0)", topics
 * sorted, partitions sorted; "-" when empty. Returns a malloc'd string or NULL. */
static char *cg_assignment_str(const rd_kafka_topic_partition_list_t *ps)
{
	if (!ps || ps->cnt == 0)
		return strdup(CG_MISSING);
	rd_kafka_topic_partition_list_t *s = rd_kafka_topic_partition_list_copy(ps);
	rd_kafka_topic_partition_list_sort(s, NULL, NULL);
	size_t cap = 16;
	for (int i = 0; i < s->cnt; i++)
		cap += strlen(s->elems[i].topic) + 16;
	char *out = malloc(cap);
	size_t len = 0;
	for (int i = 0; out && i < s->cnt; i++) {
		bool first = i == 0 || strcmp(s->elems[i - 1].topic, s->elems[i].topic);
		bool last = i == s->cnt - 1 || strcmp(s->elems[i + 1].topic, s->elems[i].topic);
		len += (size_t)snprintf(out + len, cap - len, "%s%s%s%" PRId32 "%s", first && i ? ", " : "",
					first ? s->elems[i].topic : "", first ? "(" : ",", s->elems[i].partition,
					last ? ")" : "");
	}
	rd_kafka_topic_partition_list_destroy(s);
	return out;
}

static int cg_describe_members(struct cg *cg, const char *group, const rd_kafka_ConsumerGroupDescription_t *d,
			       rd_kafka_consumer_group_state_t st)
{
	bool verbose = cg->o[O_VERBOSE].seen;
	size_t nm = st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD ? 0 : rd_kafka_ConsumerGroupDescription_member_count(d);
	if (!cg_should_print(cg, group, st, nm))
		return 0;
	int wg = cg_max(15, group), wc = 15, wi = 17, wh = 15, wl = 15;
	bool with_instance = false;
	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const char *inst = rd_kafka_MemberDescription_group_instance_id(md);
		wc = cg_max(wc, rd_kafka_MemberDescription_consumer_id(md));
		wh = cg_max(wh, rd_kafka_MemberDescription_host(md));
		wl = cg_max(wl, rd_kafka_MemberDescription_client_id(md));
		if (inst && *inst) {
			wi = cg_max(wi, inst);
			with_instance = true;
		}
	}
	if (with_instance)
		printf("\n%-*s %-*s %-*s %-*s %-*s %-15s ", wg, "GROUP", wc, "CONSUMER-ID", wi, "GROUP-INSTANCE-ID", wh,
		       "HOST", wl, "CLIENT-ID", "#PARTITIONS");
	else
		printf("\n%-*s %-*s %-*s %-*s %-15s ", wg, "GROUP", wc, "CONSUMER-ID", wh, "HOST", wl, "CLIENT-ID",
		       "#PARTITIONS");
	printf("%s\n", verbose ? "ASSIGNMENT" : "");
	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
		const rd_kafka_topic_partition_list_t *ps = ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
		const char *inst = rd_kafka_MemberDescription_group_instance_id(md);
		char np[16];
		snprintf(np, sizeof(np), "%d", ps ? ps->cnt : 0);
		if (with_instance)
			printf("%-*s %-*s %-*s %-*s %-*s %-15s ", wg, group, wc, rd_kafka_MemberDescription_consumer_id(md),
			       wi, inst ? inst : "", wh, rd_kafka_MemberDescription_host(md), wl,
			       rd_kafka_MemberDescription_client_id(md), np);
		else
			printf("%-*s %-*s %-*s %-*s %-15s ", wg, group, wc, rd_kafka_MemberDescription_consumer_id(md), wh,
			       rd_kafka_MemberDescription_host(md), wl, rd_kafka_MemberDescription_client_id(md), np);
		if (verbose) {
			char *a = cg_assignment_str(ps);
			printf("%s", a ? a : "");
			free(a);
		}
		printf("\n");
	}
	return 0;
}

static int cg_describe_state(struct cg *cg, const char *group, const rd_kafka_ConsumerGroupDescription_t *d,
			     rd_kafka_consumer_group_state_t st)
{
	if (!cg_should_print(cg, group, st, 1))
		return 0;
	const rd_kafka_Node_t *node = rd_kafka_ConsumerGroupDescription_coordinator(d);
	char coord[300];
	if (node)
		snprintf(coord, sizeof(coord), "%s:%u (%d)", rd_kafka_Node_host(node), (unsigned)rd_kafka_Node_port(node),
			 rd_kafka_Node_id(node));
	else
		snprintf(coord, sizeof(coord), CG_MISSING);
	const char *strategy = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
	int wg = cg_max(15, group), wc = cg_max(25, coord);
	printf("\n%-*s %-*s %-20s %-15s %s", wg, "GROUP", wc, "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE",
	       "#MEMBERS");
	printf("\n%-*s %-*s %-20s %-15s %zu\n", wg, group, wc, coord, strategy ? strategy : "",
	       rd_kafka_consumer_group_state_name(st), rd_kafka_ConsumerGroupDescription_member_count(d));
	return 0;
}

static int cg_do_describe(struct cg *cg)
{
	char **names;
	size_t n;
	if (cg_groups(cg, &names, &n))
		return -1;
	int rc = 0;
	rd_kafka_event_t *ev = n ? cg_describe_call(cg, names, n) : NULL;
	if (n && !ev)
		rc = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const rd_kafka_ConsumerGroupDescription_t *d = cg_description(ev, names[i]);
		rd_kafka_consumer_group_state_t st;
		rc = cg_state(cg, d, &st);
		if (rc)
			break;
		if (cg->o[O_MEMBERS].seen)
			rc = cg_describe_members(cg, names[i], d, st);
		else if (cg->o[O_STATE].seen)
			rc = cg_describe_state(cg, names[i], d, st);
		else
			rc = cg_describe_offsets(cg, names[i], d, st);
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	cg_strv_free(names, n);
	return rc;
}

/* ---- --reset-offsets ---- */

/* Kafka's Utils.getDateTime: yyyy-MM-dd'T'HH:mm:ss[.SSS] with an optional zone (Z, +hh, +hhmm,
 * +hh:mm); without a zone the time is UTC. Returns 0 and the epoch milliseconds, or -1. */
static int cg_parse_datetime(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	const char *p = s + n;
	long frac = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (isdigit((unsigned char)*p) && digits < 3) {
			frac = frac * 10 + (*p++ - '0');
			digits++;
		}
		if (digits != 3)
			return -1;
	}
	long off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh = 0, om = 0;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
			return -1;
		oh = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
			om = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
		off = sign * (oh * 3600L + om * 60L);
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - off) * 1000 + frac;
	return 0;
}

/* java.time.Duration.parse's PnDTnHnMnS (days, hours, minutes, seconds with an optional
 * fraction; each part optionally signed). Returns 0 and the milliseconds, or -1. */
static int cg_parse_duration(const char *s, int64_t *ms)
{
	const char *p = s;
	int sign = 1;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (*p != 'P' && *p != 'p')
		return -1;
	p++;
	bool in_time = false, any = false;
	double total = 0;
	while (*p) {
		if (*p == 'T' || *p == 't') {
			if (in_time)
				return -1;
			in_time = true;
			p++;
			if (!*p)
				return -1;
			continue;
		}
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno)
			return -1;
		char u = (char)toupper((unsigned char)*end);
		if (!in_time && u == 'D')
			total += v * 86400000.0;
		else if (in_time && u == 'H')
			total += v * 3600000.0;
		else if (in_time && u == 'M')
			total += v * 60000.0;
		else if (in_time && u == 'S')
			total += v * 1000.0;
		else
			return -1;
		any = true;
		p = end + 1;
	}
	if (!any)
		return -1;
	*ms = (int64_t)(sign * total);
	return 0;
}

/* Parses one --topic of --reset-offsets / --delete-offsets: "t" adds every partition of t from
 * the metadata (or, with unknown_ok, one entry with partition -1 when t does not exist), "t:0,2"
 * the named ones. Returns 0, -1 after printing an error, -2 after a usage error. */
static int cg_topic_arg(struct cg *cg, const struct rd_kafka_metadata *md, const char *arg,
			rd_kafka_topic_partition_list_t *out, bool unknown_ok)
{
	const char *colon = strchr(arg, ':');
	if (colon) {
		char topic[512];
		snprintf(topic, sizeof(topic), "%.*s", (int)(colon - arg), arg);
		const char *p = colon + 1;
		do {
			size_t l = strcspn(p, ",");
			char num[32];
			long long v;
			char e[256];
			snprintf(num, sizeof(num), "%.*s", (int)(l < 31 ? l : 31), p);
			if (l == 0 || l > 10 || ktool_parse_int("topic", num, 0, INT32_MAX, &v, e, sizeof(e))) {
				cg_usage_error(cg, "Invalid partition '%s' in --topic %s", num, arg);
				return -2;
			}
			if (!rd_kafka_topic_partition_list_find(out, topic, (int32_t)v))
				rd_kafka_topic_partition_list_add(out, topic, (int32_t)v);
			p += l + (p[l] == ',');
		} while (*p);
		return 0;
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		const rd_kafka_metadata_topic_t *t = &md->topics[i];
		if (strcmp(t->topic, arg))
			continue;
		if (t->err) {
			if (unknown_ok && t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
				break;
			return cg_fail(cg, t->err, rd_kafka_err2str(t->err));
		}
		for (int p = 0; p < t->partition_cnt; p++)
			if (!rd_kafka_topic_partition_list_find(out, arg, t->partitions[p].id))
				rd_kafka_topic_partition_list_add(out, arg, t->partitions[p].id);
		return 0;
	}
	if (unknown_ok) {
		rd_kafka_topic_partition_list_add(out, arg, -1)->err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
		return 0;
	}
	return cg_fail(cg, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, NULL);
}

/* Every --topic, in a new list (the caller's). NULL after an error (*usage set for a usage one). */
static rd_kafka_topic_partition_list_t *cg_topics(struct cg *cg, bool unknown_ok, bool *usage)
{
	*usage = false;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(cg->rk, 1, NULL, &md, (int)cg->timeout_ms);
	if (e) {
		cg_fail(cg, e, rd_kafka_err2str(e));
		return NULL;
	}
	rd_kafka_topic_partition_list_t *out = rd_kafka_topic_partition_list_new(16);
	for (size_t i = 0; i < cg->o[O_TOPIC].n; i++) {
		int rc = cg_topic_arg(cg, md, cg->o[O_TOPIC].list[i], out, unknown_ok);
		if (rc) {
			*usage = rc == -2;
			rd_kafka_topic_partition_list_destroy(out);
			out = NULL;
			break;
		}
	}
	rd_kafka_metadata_destroy(md);
	return out;
}

/* Kafka's checkOffsetsRange: an offset past the log end becomes the end, one before the log start
 * becomes the start, each with Kafka's warning. */
static int cg_clamp(struct cg *cg, rd_kafka_topic_partition_t *tp)
{
	int64_t lo, hi;
	if (cg_watermarks(cg, tp->topic, tp->partition, &lo, &hi))
		return -1;
	if (tp->offset > hi) {
		log_warn(CG_LOGGER, "New offset (%" PRId64 ") is higher than latest offset for topic partition %s-%" PRId32
				    ". Value will be set to %" PRId64, tp->offset, tp->topic, tp->partition, hi);
		tp->offset = hi;
	} else if (tp->offset < lo) {
		log_warn(CG_LOGGER, "New offset (%" PRId64 ") is lower than earliest offset for topic partition %s-%" PRId32
				    ". Value will be set to %" PRId64, tp->offset, tp->topic, tp->partition, lo);
		tp->offset = lo;
	}
	return 0;
}

/* --from-file: the plan's rows of this group ("topic,partition,offset" when one --group is given
 * and the file has three columns, else "group,topic,partition,offset"). -1/-2 as cg_topic_arg. */
static int cg_plan_from_file(struct cg *cg, const char *group, rd_kafka_topic_partition_list_t *out)
{
	const char *path = cg->o[O_FROM_FILE].value;
	FILE *f = fopen(path, "r");
	if (!f) {
		cg_error(cg, "Executing consumer group command failed due to java.nio.file.NoSuchFileException: %s", path);
		return -1;
	}
	char line[2048];
	int lineno = 0, rc = 0;
	bool single = cg->o[O_GROUP].n == 1;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		char *field[5];
		int nf = 0;
		for (char *p = line; nf < 5;) {
			field[nf++] = p;
			char *c = strchr(p, ',');
			if (!c)
				break;
			*c = '\0';
			p = c + 1;
		}
		const char *g = group, *topic, *ps, *os;
		if (nf == 3 && single) {
			topic = field[0], ps = field[1], os = field[2];
		} else if (nf == 4) {
			g = field[0], topic = field[1], ps = field[2], os = field[3];
		} else {
			cg_error(cg, "Executing consumer group command failed due to line %d of %s is not "
				     "group,topic,partition,offset", lineno, path);
			rc = -1;
			break;
		}
		long long p, o;
		char e[256];
		if (ktool_parse_int("partition", ps, 0, INT32_MAX, &p, e, sizeof(e)) ||
		    ktool_parse_int("offset", os, INT64_MIN, INT64_MAX, &o, e, sizeof(e))) {
			cg_error(cg, "Executing consumer group command failed due to line %d of %s: %s", lineno, path, e);
			rc = -1;
			break;
		}
		if (strcmp(g, group))
			continue;
		rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(out, topic, (int32_t)p);
		if (!tp)
			tp = rd_kafka_topic_partition_list_add(out, topic, (int32_t)p);
		tp->offset = o;
	}
	fclose(f);
	return rc;
}

/*
 * The new offsets of one inactive group (Kafka's prepareOffsetsToReset) into *out (the caller's).
 * Returns 0, -1 after printing an error, -2 after a usage error.
 */
static int cg_prepare_reset(struct cg *cg, const char *group, rd_kafka_topic_partition_list_t **out)
{
	rd_kafka_topic_partition_list_t *committed = cg_committed(cg, group);
	rd_kafka_topic_partition_list_t *ps = NULL;
	int rc = -1;
	bool usage = false;
	*out = NULL;
	if (!committed)
		return -1;
	if (cg->scenario == O_FROM_FILE) {
		ps = rd_kafka_topic_partition_list_new(16);
		rc = cg_plan_from_file(cg, group, ps);
		for (int i = 0; rc == 0 && i < ps->cnt; i++)
			rc = cg_clamp(cg, &ps->elems[i]);
		goto done;
	}
	if (cg->o[O_ALL_TOPICS].seen) {
		ps = rd_kafka_topic_partition_list_copy(committed);
	} else {
		ps = cg_topics(cg, false, &usage);
		if (!ps) {
			rc = usage ? -2 : -1;
			goto done;
		}
	}
	rc = 0;
	if (cg->scenario == O_TO_DATETIME || cg->scenario == O_BY_DURATION) {
		rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_copy(ps);
		for (int i = 0; i < q->cnt; i++)
			q->elems[i].offset = cg->timestamp;
		rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(cg->rk, q, (int)cg->timeout_ms);
		for (int i = 0; !e && i < q->cnt; i++)
			if (q->elems[i].err)
				e = q->elems[i].err;
		if (e) {
			rc = cg_fail(cg, e, rd_kafka_err2str(e));
		} else {
			for (int i = 0; i < ps->cnt && rc == 0; i++) {
				/* no record at or after the time: the log end (Kafka's getLogTimestampOffsets) */
				ps->elems[i].offset = q->elems[i].offset;
				if (ps->elems[i].offset < 0) {
					int64_t lo;
					rc = cg_watermarks(cg, ps->elems[i].topic, ps->elems[i].partition, &lo, &ps->elems[i].offset);
				}
			}
		}
		rd_kafka_topic_partition_list_destroy(q);
		goto done;
	}
	for (int i = 0; i < ps->cnt && rc == 0; i++) {
		rd_kafka_topic_partition_t *tp = &ps->elems[i];
		const rd_kafka_topic_partition_t *c = rd_kafka_topic_partition_list_find(committed, tp->topic, tp->partition);
		int64_t lo, hi;
		switch (cg->scenario) {
		case O_TO_OFFSET:
			tp->offset = cg->value;
			rc = cg_clamp(cg, tp);
			break;
		case O_SHIFT_BY:
			if (!c) {
				cg_usage_error(cg, "Cannot shift offset for partition %s-%" PRId32
						   " since there is no current committed offset", tp->topic, tp->partition);
				rc = -2;
				break;
			}
			tp->offset = c->offset + cg->value;
			rc = cg_clamp(cg, tp);
			break;
		case O_TO_EARLIEST:
		case O_TO_LATEST:
		case O_TO_CURRENT:
			if (cg->scenario == O_TO_CURRENT && c) {
				tp->offset = c->offset;
				break;
			}
			rc = cg_watermarks(cg, tp->topic, tp->partition, &lo, &hi);
			tp->offset = cg->scenario == O_TO_EARLIEST ? lo : hi;
			break;
		default:
			break;
		}
	}
done:
	rd_kafka_topic_partition_list_destroy(committed);
	if (rc == 0) {
		rd_kafka_topic_partition_list_sort(ps, NULL, NULL);
		*out = ps;
	} else if (ps) {
		rd_kafka_topic_partition_list_destroy(ps);
	}
	return rc;
}

/* AlterConsumerGroupOffsets of one group; 0 or -1 after printing the error. */
static int cg_alter(struct cg *cg, const char *group, const rd_kafka_topic_partition_list_t *ps)
{
	rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, ps);
	rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
	rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
	rd_kafka_AlterConsumerGroupOffsets(cg->rk, &req, 1, ao, q);
	rd_kafka_event_t *ev = cg_wait(cg, q, ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_AlterConsumerGroupOffsets_destroy(req);
	if (!ev)
		return -1;
	size_t n = 0;
	const rd_kafka_group_result_t **gr =
		rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
	int rc = 0;
	if (n != 1) {
		rc = cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "no OffsetCommit result for the group");
	} else if (rd_kafka_group_result_error(gr[0])) {
		const rd_kafka_error_t *err = rd_kafka_group_result_error(gr[0]);
		rc = cg_fail(cg, rd_kafka_error_code(err), rd_kafka_error_string(err));
	} else {
		const rd_kafka_topic_partition_list_t *res = rd_kafka_group_result_partitions(gr[0]);
		for (int i = 0; res && i < res->cnt && rc == 0; i++)
			if (res->elems[i].err)
				rc = cg_fail(cg, res->elems[i].err, rd_kafka_err2str(res->elems[i].err));
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

static int cg_do_reset(struct cg *cg)
{
	char **names;
	size_t n;
	if (cg_groups(cg, &names, &n))
		return -1;
	rd_kafka_event_t *ev = n ? cg_describe_call(cg, names, n) : NULL;
	rd_kafka_topic_partition_list_t **plans = calloc(n + 1, sizeof(*plans));
	int rc = (n && !ev) || !plans ? -1 : 0;
	bool execute = cg->o[O_EXECUTE].seen;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rd_kafka_consumer_group_state_t st;
		rc = cg_state(cg, cg_description(ev, names[i]), &st);
		if (rc)
			break;
		if (st != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && st != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
			cg_error(cg, "Assignments can only be reset if the group '%s' is inactive, but the current state is %s.",
				 names[i], rd_kafka_consumer_group_state_name(st));
			plans[i] = rd_kafka_topic_partition_list_new(0);
			continue;
		}
		rc = cg_prepare_reset(cg, names[i], &plans[i]);
		if (rc == 0 && execute && plans[i]->cnt > 0)
			rc = cg_alter(cg, names[i], plans[i]);
	}
	if (rc == 0) {
		if (cg->o[O_EXPORT].seen) {
			/* Kafka's CSV: one line per partition, with the group when more than one is named */
			bool single = cg->o[O_GROUP].n == 1;
			for (size_t i = 0; i < n; i++)
				for (int k = 0; plans[i] && k < plans[i]->cnt; k++) {
					const rd_kafka_topic_partition_t *tp = &plans[i]->elems[k];
					if (!single)
						printf("%s,", names[i]);
					printf("%s,%" PRId32 ",%" PRId64 "\n", tp->topic, tp->partition, tp->offset);
				}
			printf("\n");
		} else if (n > 0) {
			printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
			for (size_t i = 0; i < n; i++)
				for (int k = 0; plans[i] && k < plans[i]->cnt; k++) {
					const rd_kafka_topic_partition_t *tp = &plans[i]->elems[k];
					char part[16], off[24];
					snprintf(part, sizeof(part), "%" PRId32, tp->partition);
					snprintf(off, sizeof(off), "%" PRId64, tp->offset);
					printf("%-30s %-30s %-10s %-15s\n", names[i], tp->topic, part, off);
				}
		}
	}
	for (size_t i = 0; plans && i < n; i++)
		if (plans[i])
			rd_kafka_topic_partition_list_destroy(plans[i]);
	free(plans);
	if (ev)
		rd_kafka_event_destroy(ev);
	cg_strv_free(names, n);
	return rc;
}

/* ---- --delete, --delete-offsets ---- */

static int cg_do_delete(struct cg *cg)
{
	char **names;
	size_t n;
	if (cg_groups(cg, &names, &n))
		return -1;
	rd_kafka_DeleteGroup_t **dg = calloc(n + 1, sizeof(*dg));
	for (size_t i = 0; dg && i < n; i++)
		dg[i] = rd_kafka_DeleteGroup_new(names[i]);
	rd_kafka_event_t *ev = NULL;
	int rc = -1;
	if (!dg) {
		cg_fail(cg, RD_KAFKA_RESP_ERR__FAIL, "out of memory");
	} else if (n == 0) {
		rc = 0;
	} else {
		rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
		rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
		rd_kafka_DeleteGroups(cg->rk, dg, n, ao, q);
		ev = cg_wait(cg, q, ao);
		rd_kafka_queue_destroy(q);
	}
	if (ev) {
		size_t nr = 0;
		const rd_kafka_group_result_t **gr =
			rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &nr);
		size_t nfail = 0;
		for (size_t i = 0; i < nr; i++)
			nfail += rd_kafka_group_result_error(gr[i]) != NULL;
		if (nfail == 0) {
			printf("Deletion of requested consumer groups (");
			for (size_t i = 0; i < nr; i++)
				printf("%s'%s'", i ? ", " : "", rd_kafka_group_result_name(gr[i]));
			printf(") was successful.\n");
		} else {
			cg_error(cg, "Deletion of some consumer groups failed:");
			for (size_t i = 0; i < nr; i++) {
				const rd_kafka_error_t *err = rd_kafka_group_result_error(gr[i]);
				if (!err)
					continue;
				char ex[512];
				cg_exception(rd_kafka_error_code(err), rd_kafka_error_string(err), ex, sizeof(ex));
				printf("* Group '%s' could not be deleted due to: %s\n", rd_kafka_group_result_name(gr[i]), ex);
			}
			if (nfail < nr) {
				printf("\nThese consumer groups were deleted successfully: ");
				size_t k = 0;
				for (size_t i = 0; i < nr; i++)
					if (!rd_kafka_group_result_error(gr[i]))
						printf("%s'%s'", k++ ? ", " : "", rd_kafka_group_result_name(gr[i]));
				printf("\n");
			}
		}
		rd_kafka_event_destroy(ev);
		rc = 0;
	}
	if (dg)
		rd_kafka_DeleteGroup_destroy_array(dg, n);
	free(dg);
	cg_strv_free(names, n);
	return rc;
}

static int cg_do_delete_offsets(struct cg *cg)
{
	const char *group = cg->o[O_GROUP].list[0];
	bool usage;
	rd_kafka_topic_partition_list_t *all = cg_topics(cg, true, &usage);
	if (!all)
		return usage ? -2 : -1;
	/* the unknown topics (partition -1) are reported, not sent */
	rd_kafka_topic_partition_list_t *ps = rd_kafka_topic_partition_list_new(all->cnt);
	for (int i = 0; i < all->cnt; i++)
		if (all->elems[i].partition >= 0)
			rd_kafka_topic_partition_list_add(ps, all->elems[i].topic, all->elems[i].partition);
	rd_kafka_resp_err_t top = RD_KAFKA_RESP_ERR_NO_ERROR;
	const rd_kafka_topic_partition_list_t *res = NULL;
	rd_kafka_event_t *ev = NULL;
	int rc = 0;
	if (ps->cnt > 0) {
		rd_kafka_DeleteConsumerGroupOffsets_t *req = rd_kafka_DeleteConsumerGroupOffsets_new(group, ps);
		rd_kafka_AdminOptions_t *ao = cg_options(cg, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS);
		rd_kafka_queue_t *q = rd_kafka_queue_new(cg->rk);
		rd_kafka_DeleteConsumerGroupOffsets(cg->rk, &req, 1, ao, q);
		/* the group's error comes as the event's: Kafka's messages below, not cg_wait's */
		ev = rd_kafka_queue_poll(q, (int)cg->timeout_ms + 5000);
		rd_kafka_AdminOptions_destroy(ao);
		rd_kafka_queue_destroy(q);
		rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
		if (!ev) {
			rc = cg_fail(cg, RD_KAFKA_RESP_ERR__TIMED_OUT, "Timed out waiting for a node assignment.");
		} else if (rd_kafka_event_error(ev)) {
			top = rd_kafka_event_error(ev);
		} else {
			size_t n = 0;
			const rd_kafka_group_result_t **gr = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
				rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
			if (n == 1 && rd_kafka_group_result_error(gr[0]))
				top = rd_kafka_error_code(rd_kafka_group_result_error(gr[0]));
			else if (n == 1)
				res = rd_kafka_group_result_partitions(gr[0]);
		}
	}
	/* a partition error makes the whole call fail in Kafka's admin client */
	for (int i = 0; !top && res && i < res->cnt; i++)
		if (res->elems[i].err)
			top = res->elems[i].err;
	for (int i = 0; !top && i < all->cnt; i++)
		if (all->elems[i].err)
			top = all->elems[i].err;
	if (rc == 0) {
		char topics[1024];
		size_t tl = 0;
		topics[0] = '\0';
		for (size_t i = 0; i < cg->o[O_TOPIC].n && tl < sizeof(topics); i++)
			tl += (size_t)snprintf(topics + tl, sizeof(topics) - tl, "%s%s", i ? ", " : "", cg->o[O_TOPIC].list[i]);
		switch (top) {
		case RD_KAFKA_RESP_ERR_NO_ERROR:
			printf("Request succeed for deleting offsets with topic %s group %s\n", topics, group);
			break;
		case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
			cg_error(cg, "'%s' is not valid.", group);
			break;
		case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
			cg_error(cg, "'%s' does not exist.", group);
			break;
		case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
			cg_error(cg, "Access to '%s' is not authorized.", group);
			break;
		case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
			cg_error(cg, "Deleting offsets of a consumer group '%s' is forbidden if the group is not empty.", group);
			break;
		case RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC:
		case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
			cg_error(cg, "Encounter some partition level error, see the follow-up details:");
			break;
		default:
			cg_error(cg, "Encounter some unknown error: %s", rd_kafka_err2name(top));
			break;
		}
		printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
		rd_kafka_topic_partition_list_sort(all, NULL, NULL);
		for (int i = 0; i < all->cnt; i++) {
			const rd_kafka_topic_partition_t *tp = &all->elems[i];
			rd_kafka_resp_err_t e = tp->err;
			if (!e && top && !res)
				e = top; /* the whole call failed */
			for (int k = 0; !e && res && k < res->cnt; k++)
				if (res->elems[k].partition == tp->partition && !strcmp(res->elems[k].topic, tp->topic))
					e = res->elems[k].err;
			char part[16], status[512];
			if (tp->partition >= 0)
				snprintf(part, sizeof(part), "%" PRId32, tp->partition);
			else
				snprintf(part, sizeof(part), "Not Provided");
			if (e) {
				char ex[480];
				cg_exception(e, NULL, ex, sizeof(ex));
				const char *colon = strstr(ex, ": ");
				snprintf(status, sizeof(status), "Error: %s", colon ? colon + 2 : ex);
			} else {
				snprintf(status, sizeof(status), "Successful");
			}
			printf("%-30s %-15s %-15s\n", tp->topic, part, status);
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_topic_partition_list_destroy(ps);
	rd_kafka_topic_partition_list_destroy(all);
	return rc;
}

/* ---- arguments ---- */

static bool cg_has(const struct cg *cg, int o)
{
	return cg->o[o].seen > 0;
}

/* Kafka's checkInvalidArgs: used may not come with any of the others. */
static int cg_invalid_with(struct cg *cg, int used, const int *others, size_t n)
{
	if (!cg_has(cg, used))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (others[i] != used && cg_has(cg, others[i]))
			return cg_usage_error(cg, "Option \"[%s]\" can't be used with option \"[%s]\"", cg->o[used].name,
					      cg->o[others[i]].name);
	return 0;
}

/* ConsumerGroupCommandOptions.checkArgs and the action count of main, then the values. */
static int cg_check_args(struct cg *cg)
{
	char e[512];
	/* joptsimple's availableIf */
	static const int need_describe[] = { O_MEMBERS, O_VERBOSE, O_OFFSETS };
	for (size_t i = 0; i < sizeof(need_describe) / sizeof(need_describe[0]); i++)
		if (cg_has(cg, need_describe[i]) && !cg_has(cg, O_DESCRIBE))
			return cg_usage_error(cg, "Option(s) [%s] are unavailable given other options on the command line",
					      cg->o[need_describe[i]].name);
	if (cg_has(cg, O_STATE) && !cg_has(cg, O_DESCRIBE) && !cg_has(cg, O_LIST))
		return cg_usage_error(cg, "Option(s) [state] are unavailable given other options on the command line");
	if (!cg_has(cg, O_BOOTSTRAP))
		return cg_usage_error(cg, "Missing required argument \"[bootstrap-server]\"");
	if (cg_has(cg, O_DESCRIBE)) {
		if (!cg_has(cg, O_GROUP) && !cg_has(cg, O_ALL_GROUPS))
			return cg_usage_error(cg, "Option [describe] takes one of these options: [group], [all-groups]");
		if (cg_has(cg, O_MEMBERS) + cg_has(cg, O_OFFSETS) + cg_has(cg, O_STATE) > 1)
			return cg_usage_error(cg, "Option [describe] takes at most one of these options: [members], "
						  "[offsets], [state]");
		if (cg_has(cg, O_STATE) && cg->o[O_STATE].value)
			return cg_usage_error(cg, "Option [describe] does not take a value for [state]");
	}
	if (cg_has(cg, O_DELETE)) {
		if (!cg_has(cg, O_GROUP) && !cg_has(cg, O_ALL_GROUPS))
			return cg_usage_error(cg, "Option [delete] takes one of these options: [group], [all-groups]");
		if (cg_has(cg, O_TOPIC))
			return cg_usage_error(cg, "The consumer does not support topic-specific offset deletion from a "
						  "consumer group.");
	}
	if (cg_has(cg, O_DELETE_OFFSETS)) {
		if (!cg_has(cg, O_GROUP) || !cg_has(cg, O_TOPIC))
			return cg_usage_error(cg, "Option [delete-offsets] takes the following options: [group], [topic]");
		if (cg->o[O_GROUP].n > 1)
			return cg_usage_error(cg, "Option [delete-offsets] supports one consumer group at the time");
	}
	cg->scenario = -1;
	if (cg_has(cg, O_RESET_OFFSETS)) {
		if (cg_has(cg, O_DRY_RUN) && cg_has(cg, O_EXECUTE))
			return cg_usage_error(cg, "Option [reset-offsets] only accepts one of [execute] and [dry-run]");
		if (!cg_has(cg, O_GROUP) && !cg_has(cg, O_ALL_GROUPS))
			return cg_usage_error(cg, "Option [reset-offsets] takes one of these options: [group], [all-groups]");
		for (size_t i = 0; i < CG_NSCENARIOS; i++)
			if (cg_invalid_with(cg, cg_scenarios[i], cg_scenarios, CG_NSCENARIOS))
				return 1;
		for (size_t i = 0; i < CG_NSCENARIOS; i++)
			if (cg_has(cg, cg_scenarios[i]))
				cg->scenario = cg_scenarios[i];
		if (cg->scenario < 0)
			return cg_usage_error(cg, "Option '[reset-offsets]' requires one of the following scenarios: "
						  "[to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], "
						  "[to-latest], [to-current], [from-file]");
		if (cg->scenario != O_FROM_FILE && !cg_has(cg, O_ALL_TOPICS) && !cg_has(cg, O_TOPIC))
			return cg_usage_error(cg, "One of the reset scopes should be defined: --all-topics, --topic.");
	}
	static const int group_excl[] = { O_ALL_GROUPS, O_LIST };
	if (cg_invalid_with(cg, O_GROUP, group_excl, 2))
		return 1;
	static const int topic_excl[] = { O_LIST, O_DESCRIBE };
	if (cg_invalid_with(cg, O_TOPIC, topic_excl, 2))
		return 1;
	if (cg_has(cg, O_LIST) + cg_has(cg, O_DESCRIBE) + cg_has(cg, O_DELETE) + cg_has(cg, O_RESET_OFFSETS) +
		    cg_has(cg, O_DELETE_OFFSETS) != 1)
		return cg_usage_error(cg, "Command must include exactly one action: --list, --describe, --delete, "
					  "--reset-offsets, --delete-offsets");

	/* the values */
	cg->timeout_ms = 5000;
	if (cg_has(cg, O_TIMEOUT) &&
	    ktool_parse_int("timeout", cg->o[O_TIMEOUT].value, 1, INT32_MAX - 10000, &cg->timeout_ms, e, sizeof(e)))
		return cg_usage_error(cg, "%s", e);
	if (cg->scenario == O_TO_OFFSET &&
	    ktool_parse_int("to-offset", cg->o[O_TO_OFFSET].value, INT64_MIN, INT64_MAX, &cg->value, e, sizeof(e)))
		return cg_usage_error(cg, "%s", e);
	if (cg->scenario == O_SHIFT_BY &&
	    ktool_parse_int("shift-by", cg->o[O_SHIFT_BY].value, INT64_MIN / 2, INT64_MAX / 2, &cg->value, e, sizeof(e)))
		return cg_usage_error(cg, "%s", e);
	if (cg->scenario == O_TO_DATETIME && cg_parse_datetime(cg->o[O_TO_DATETIME].value, &cg->timestamp))
		return cg_usage_error(cg, "Error parsing timestamp '%s': the format is YYYY-MM-DDTHH:mm:SS.sss with an "
					  "optional zone (Z, +hh:mm); without one it is UTC", cg->o[O_TO_DATETIME].value);
	if (cg->scenario == O_BY_DURATION) {
		int64_t d;
		if (cg_parse_duration(cg->o[O_BY_DURATION].value, &d))
			return cg_usage_error(cg, "Text cannot be parsed to a Duration: '%s' (format: PnDTnHnMnS)",
					      cg->o[O_BY_DURATION].value);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		cg->timestamp = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - d;
	}
	if (cg_has(cg, O_RESET_OFFSETS) && !cg_has(cg, O_DRY_RUN) && !cg_has(cg, O_EXECUTE))
		fprintf(stderr, "WARN: No action will be performed as the --execute option is missing.In a future major "
				"release, the default behavior of this command will be to prompt the user before executing "
				"the reset rather than doing a dry run. You should add the --dry-run option explicitly if you "
				"are scripting this command and want to keep the current default behavior without "
				"prompting.\n");
	return 0;
}

static rd_kafka_t *cg_client_new(struct cg *cg)
{
	char e[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ktool_conf_logging(conf);
	if (ktool_conf_set(conf, KTOOL_ADMIN, "client.id", "adminclient-1", e, sizeof(e)) ||
	    (cg_has(cg, O_COMMAND_CONFIG) && ktool_conf_load(conf, KTOOL_ADMIN, cg->o[O_COMMAND_CONFIG].value, e, sizeof(e))) ||
	    ktool_conf_set(conf, KTOOL_ADMIN, "bootstrap.servers", cg->o[O_BOOTSTRAP].value, e, sizeof(e)) ||
	    ktool_conf_set(conf, KTOOL_CONSUMER, "isolation.level", "read_uncommitted", e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		cg_error(cg, "Executing consumer group command failed due to org.apache.kafka.common.config.ConfigException: %s", e);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		cg_error(cg, "Executing consumer group command failed due to org.apache.kafka.common.KafkaException: "
			     "Failed to create new KafkaAdminClient: %s", e);
	}
	return rk;
}

int main(int argc, char **argv)
{
	struct cg cg;
	char e[512];
	int status = 1;
	memset(&cg, 0, sizeof(cg));
	memcpy(cg.o, cg_opts_def, sizeof(cg.o));
	ktool_signals();
	if (argc < 2) {
		ktool_usage(stderr, cg_intro, cg.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(cg.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = cg_usage_error(&cg, "%s", e);
		goto done;
	}
	if (cg_has(&cg, O_HELP)) {
		ktool_usage(stdout, cg_intro, cg.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (cg_has(&cg, O_VERSION)) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	if (cg_check_args(&cg))
		goto done;
	cg.rk = cg_client_new(&cg);
	if (!cg.rk)
		goto done;
	int rc;
	if (cg_has(&cg, O_LIST))
		rc = cg_do_list(&cg);
	else if (cg_has(&cg, O_DESCRIBE))
		rc = cg_do_describe(&cg);
	else if (cg_has(&cg, O_DELETE))
		rc = cg_do_delete(&cg);
	else if (cg_has(&cg, O_RESET_OFFSETS))
		rc = cg_do_reset(&cg);
	else
		rc = cg_do_delete_offsets(&cg);
	rd_kafka_destroy(cg.rk);
	status = rc == 0 && !cg.failed ? 0 : 1;
done:
	fflush(stdout);
	ktool_opts_free(cg.o, O_COUNT);
	return status;
}

/*
 * kafka-acls — Kafka 2.7's AclCommand on librdkafka's admin API (CreateAcls, DescribeAcls,
 * DeleteAcls), with Kafka's options and output:
 *   kafka-acls --bootstrap-server H:P [--command-config F] --add|--remove|--list
 *       [--allow-principal P]... [--deny-principal P]... [--allow-host H]... [--deny-host H]...
 *       [--operation Op]... [--topic T]... [--group G]... [--transactional-id T]... [--cluster]
 *       [--resource-pattern-type literal|prefixed|any|match] [--force] [--producer [--idempotent]]
 *       [--consumer]
 * --add prints "Adding ACLs for resource `ResourcePattern(...)`:" and then, as --list does,
 * "Current ACLs for resource `ResourcePattern(...)`:" with one "(principal=..., host=...,
 * operation=..., permissionType=...)" line per ACL. --remove asks before deleting unless
 * --force. Operation names are Kafka's (Read, Write, Create, Delete, Alter, Describe,
 * ClusterAction, AlterConfigs, DescribeConfigs, IdempotentWrite, All; default All); a principal
 * without a host gets host *. --producer and --consumer (with --add or --remove) expand as
 * AclCommand does: WRITE, DESCRIBE and CREATE on each --topic and WRITE and DESCRIBE on each
 * --transactional-id for a producer (and with --idempotent IDEMPOTENT_WRITE on the cluster; as in
 * Kafka 2.7, a transactional id does not add it: the broker lets a producer with WRITE on its
 * transactional id be idempotent); READ and DESCRIBE on each --topic and READ on each --group for
 * a consumer. Usage errors print Kafka's message and the help and exit 1; a failed call prints
 * "Error while executing ACL command: ..." and exits 1.
 *
 * The raw path. librdkafka 2.0's admin API has no TransactionalId resource type (Kafka's 5: its
 * restype stops at BROKER 4, and it reads a 5 in a DescribeAcls answer as UNKNOWN), so the ACL
 * APIs are also spoken here, v1, through broker/wire/kwacl and ktool's raw path, to the first
 * bootstrap server over the client's transport (PLAINTEXT, or SSL with the client's CA,
 * certificate and key; SASL is not spoken): every binding and filter of a --transactional-id
 * (--add, --remove, --list), and --list without a resource (every ACL, so that TransactionalId
 * ones show as themselves; over SASL, or when that server cannot be reached, librdkafka's answer
 * is printed instead). Other bindings keep going through librdkafka. A --transactional-id over
 * SASL is refused: "needs a PLAINTEXT or SSL listener". And a refused --list: librdkafka 2.0 drops DescribeAcls' error code
 * (CLUSTER_AUTHORIZATION_FAILED, SECURITY_DISABLED) and hands over an empty result, so an empty
 * result of librdkafka's is asked again once through the raw path (over SASL it is taken as it
 * is); the raw path's errors are reported as AclCommand reports them.
 */
#include "ktool.h"

#include "buf.h"
#include "kwacl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KA_TIMEOUT_MS 30000

enum {
	O_BOOTSTRAP,
	O_COMMAND_CONFIG,
	O_ADD,
	O_REMOVE,
	O_LIST,
	O_ALLOW_PRINCIPAL,
	O_DENY_PRINCIPAL,
	O_ALLOW_HOST,
	O_DENY_HOST,
	O_OPERATION,
	O_TOPIC,
	O_GROUP,
	O_TRANSACTIONAL_ID,
	O_CLUSTER,
	O_PATTERN,
	O_FORCE,
	O_PRODUCER,
	O_CONSUMER,
	O_IDEMPOTENT,
	O_HELP,
	O_VERSION,
	O_COUNT
};

static const struct ktool_opt ka_opts_def[O_COUNT] = {
	[O_BOOTSTRAP] = KTOOL_OPT("bootstrap-server", KTOOL_ARG, "String: server to connect to",
				  "A list of host/port pairs to use for establishing the connection to the Kafka cluster."),
	[O_COMMAND_CONFIG] = KTOOL_OPT("command-config", KTOOL_ARG, "String: command-config",
				       "A property file containing configs to be passed to Admin Client."),
	[O_ADD] = KTOOL_OPT("add", KTOOL_FLAG, NULL, "Indicates you are trying to add ACLs."),
	[O_REMOVE] = KTOOL_OPT("remove", KTOOL_FLAG, NULL, "Indicates you are trying to remove ACLs."),
	[O_LIST] = KTOOL_OPT("list", KTOOL_FLAG, NULL,
			     "List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource."),
	[O_ALLOW_PRINCIPAL] = KTOOL_OPT("allow-principal", KTOOL_LIST, "String: allow-principal",
					"principal is in principalType:name format. User:* is the wildcard indicating all users."),
	[O_DENY_PRINCIPAL] = KTOOL_OPT("deny-principal", KTOOL_LIST, "String: deny-principal",
				       "principal is in principalType:name format."),
	[O_ALLOW_HOST] = KTOOL_OPT("allow-host", KTOOL_LIST, "String: allow-host",
				   "Host from which principals listed in --allow-principal will have access. If you have specified --allow-principal then the default for this option will be set to * which allows access from all hosts."),
	[O_DENY_HOST] = KTOOL_OPT("deny-host", KTOOL_LIST, "String: deny-host",
				  "Host from which principals listed in --deny-principal will be denied access. If you have specified --deny-principal then the default for this option will be set to * which denies access from all hosts."),
	[O_OPERATION] = KTOOL_OPT("operation", KTOOL_LIST, "String",
				  "Operation that is being allowed or denied. Valid operation names are: Describe, DescribeConfigs, Alter, IdempotentWrite, Read, Delete, Create, ClusterAction, AlterConfigs, Write, All (default: All)"),
	[O_TOPIC] = KTOOL_OPT("topic", KTOOL_LIST, "String: topic",
			      "topic to which ACLs should be added or removed. A value of * indicates ACL should apply to all topics."),
	[O_GROUP] = KTOOL_OPT("group", KTOOL_LIST, "String: group",
			      "Consumer Group to which the ACLs should be added or removed. A value of * indicates the ACLs should apply to all groups."),
	[O_TRANSACTIONAL_ID] = KTOOL_OPT("transactional-id", KTOOL_LIST, "String: transactional-id",
					 "The transactionalId to which ACLs should be added or removed. A value of * indicates the ACLs should apply to all transactionalIds."),
	[O_CLUSTER] = KTOOL_OPT("cluster", KTOOL_FLAG, NULL, "Add/Remove cluster ACLs."),
	[O_PATTERN] = KTOOL_OPT("resource-pattern-type", KTOOL_ARG, "ANY|MATCH|LITERAL|PREFIXED",
				"The type of the resource pattern or pattern filter. When adding acls, this should be a specific pattern type, e.g. 'literal' or 'prefixed'. When listing or removing acls, a specific pattern type can be used to list or remove acls from specific resource patterns, or use the filter values of 'any' or 'match' (default: LITERAL)"),
	[O_FORCE] = KTOOL_OPT("force", KTOOL_FLAG, NULL, "Assume Yes to all queries and do not prompt."),
	[O_PRODUCER] = KTOOL_OPT("producer", KTOOL_FLAG, NULL,
				 "Convenience option to add/remove ACLs for producer role. This will generate ACLs that allows WRITE,DESCRIBE and CREATE on topic, and WRITE,DESCRIBE on each --transactional-id."),
	[O_CONSUMER] = KTOOL_OPT("consumer", KTOOL_FLAG, NULL,
				 "Convenience option to add/remove ACLs for consumer role. This will generate ACLs that allows READ,DESCRIBE on topic and READ on consumer-group."),
	[O_IDEMPOTENT] = KTOOL_OPT("idempotent", KTOOL_FLAG, NULL,
				   "Enable idempotence for the producer. This should be used in combination with the --producer option. Note that idempotence is enabled automatically if the producer is authorized to a particular transactional-id."),
	[O_HELP] = KTOOL_OPT("help", KTOOL_FLAG, NULL, "Print usage information."),
	[O_VERSION] = KTOOL_OPT("version", KTOOL_FLAG, NULL, "Display Kafka version."),
};

static const char ka_intro[] = "This tool helps to manage acls on kafka.";

struct ka {
	struct ktool_opt o[O_COUNT];
	char err[1024];
	rd_kafka_conf_t *conf; /* a copy of the admin client's settings, for the raw path */
};

static const char *const ka_ops[] = { "UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER",
				      "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
				      "IDEMPOTENT_WRITE" };
static const char *const ka_types[] = { "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID",
					"DELEGATION_TOKEN" };
static const char *const ka_patterns[] = { "UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED" };

/* Kafka's resource type codes; librdkafka 2.0's restype has the first five (its BROKER 4 is
 * Kafka's CLUSTER) and reads the others as UNKNOWN. */
#define KA_RT_TRANSACTIONAL_ID 5

static const char *ka_type_name(int t)
{
	return t >= 0 && t < (int)(sizeof(ka_types) / sizeof(ka_types[0])) ? ka_types[t] : "UNKNOWN";
}

static const char *ka_op_name(int op)
{
	return op >= 0 && op < (int)(sizeof(ka_ops) / sizeof(ka_ops[0])) ? ka_ops[op] : "UNKNOWN";
}

static const char *ka_pattern_name(int p)
{
	return p >= 0 && p < 5 ? ka_patterns[p] : "UNKNOWN";
}

/* "Read", "DescribeConfigs", "describe_configs": case and underscores ignored */
static int ka_op_parse(const char *s)
{
	for (int i = 2; i < (int)(sizeof(ka_ops) / sizeof(ka_ops[0])); i++) {
		const char *a = s, *b = ka_ops[i];
		for (;;) {
			while (*a == '_')
				a++;
			while (*b == '_')
				b++;
			if (!*a || !*b || tolower((unsigned char)*a) != tolower((unsigned char)*b))
				break;
			a++;
			b++;
		}
		if (!*a && !*b)
			return i;
	}
	return -1;
}

static int ka_usage_error(struct ka *ka, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ka_usage_error(struct ka *ka, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	ktool_usage(stderr, ka_intro, ka->o, O_COUNT);
	return 1;
}

/* one resource named on the command line; type is Kafka's code (KA_RT_TRANSACTIONAL_ID too) */
struct ka_res {
	int type;
	const char *name;
};

static size_t ka_resources(struct ka *ka, struct ka_res *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ka->o[O_TOPIC].n && n < max; i++)
		out[n++] = (struct ka_res){ RD_KAFKA_RESOURCE_TOPIC, ka->o[O_TOPIC].list[i] };
	for (size_t i = 0; i < ka->o[O_GROUP].n && n < max; i++)
		out[n++] = (struct ka_res){ RD_KAFKA_RESOURCE_GROUP, ka->o[O_GROUP].list[i] };
	for (size_t i = 0; i < ka->o[O_TRANSACTIONAL_ID].n && n < max; i++)
		out[n++] = (struct ka_res){ KA_RT_TRANSACTIONAL_ID, ka->o[O_TRANSACTIONAL_ID].list[i] };
	bool role = ka->o[O_PRODUCER].seen || ka->o[O_CONSUMER].seen;
	if (n < max && (role ? ka->o[O_PRODUCER].seen && ka->o[O_IDEMPOTENT].seen : ka->o[O_CLUSTER].seen))
		out[n++] = (struct ka_res){ RD_KAFKA_RESOURCE_BROKER, "kafka-cluster" };
	return n;
}

/* The operations the command line names for resource r: --producer's and --consumer's
 * (AclCommand's getProducerResourceFilterToAcls / getConsumerResourceFilterToAcls, merged when
 * both are given), else every --operation (default All). Returns how many (at most 8). */
static size_t ka_res_ops(struct ka *ka, const struct ka_res *r, int *ops)
{
	size_t n = 0;
	bool producer = ka->o[O_PRODUCER].seen, consumer = ka->o[O_CONSUMER].seen;
	if (producer || consumer) {
		if (producer && r->type == RD_KAFKA_RESOURCE_TOPIC) {
			ops[n++] = RD_KAFKA_ACL_OPERATION_WRITE;
			ops[n++] = RD_KAFKA_ACL_OPERATION_DESCRIBE;
			ops[n++] = RD_KAFKA_ACL_OPERATION_CREATE;
		}
		if (consumer && r->type == RD_KAFKA_RESOURCE_TOPIC) {
			ops[n++] = RD_KAFKA_ACL_OPERATION_READ;
			if (!producer)
				ops[n++] = RD_KAFKA_ACL_OPERATION_DESCRIBE;
		}
		if (consumer && r->type == RD_KAFKA_RESOURCE_GROUP)
			ops[n++] = RD_KAFKA_ACL_OPERATION_READ;
		if (producer && r->type == KA_RT_TRANSACTIONAL_ID) {
			ops[n++] = RD_KAFKA_ACL_OPERATION_WRITE;
			ops[n++] = RD_KAFKA_ACL_OPERATION_DESCRIBE;
		}
		if (producer && ka->o[O_IDEMPOTENT].seen && r->type == RD_KAFKA_RESOURCE_BROKER)
			ops[n++] = RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE;
		return n;
	}
	for (size_t i = 0; i < ka->o[O_OPERATION].n && n < 8; i++) {
		int op = ka_op_parse(ka->o[O_OPERATION].list[i]);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= ops[k] == op;
		if (!dup)
			ops[n++] = op;
	}
	if (!n)
		ops[n++] = RD_KAFKA_ACL_OPERATION_ALL;
	return n;
}

static void ka_print_pattern(int type, const char *name, int pattern)
{
	printf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", ka_type_name(type), name,
	       ka_pattern_name(pattern));
}

static void ka_print_entry(const char *principal, const char *host, int op, int perm)
{
	printf("\t(principal=%s, host=%s, operation=%s, permissionType=%s)", principal, host, ka_op_name(op),
	       perm == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW ? "ALLOW"
	       : perm == RD_KAFKA_ACL_PERMISSION_TYPE_DENY ? "DENY"
							    : "UNKNOWN");
}

static rd_kafka_t *ka_admin_new(struct ka *ka)
{
	char e[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ktool_conf_logging(conf);
	if ((ka->o[O_COMMAND_CONFIG].seen &&
	     ktool_conf_load(conf, KTOOL_ADMIN, ka->o[O_COMMAND_CONFIG].value, e, sizeof(e))) ||
	    ktool_conf_set(conf, KTOOL_ADMIN, "bootstrap.servers", ka->o[O_BOOTSTRAP].value, e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		snprintf(ka->err, sizeof(ka->err), "%s", e);
		return NULL;
	}
	ka->conf = rd_kafka_conf_dup(conf);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(ka->err, sizeof(ka->err), "Failed to create new KafkaAdminClient: %s", e);
	}
	return rk;
}

static rd_kafka_event_t *ka_wait(struct ka *ka, rd_kafka_queue_t *q)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KA_TIMEOUT_MS + 5000);
	if (!ev) {
		snprintf(ka->err, sizeof(ka->err), "org.apache.kafka.common.errors.TimeoutException: timed out");
		return NULL;
	}
	if (rd_kafka_event_error(ev)) {
		snprintf(ka->err, sizeof(ka->err), "%s", rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static rd_kafka_AdminOptions_t *ka_options(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
	char e[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, KA_TIMEOUT_MS, e, sizeof(e));
	return ao;
}

/* ---- the raw path: the ACL APIs spoken here (see the header comment) ---- */

/* Whether the raw path can speak the admin client's transport (PLAINTEXT or SSL, not SASL). */
static bool ka_raw_ok(struct ka *ka)
{
	return ka->conf && ktool_raw_ok(ka->conf);
}

/* The error of a raw call as AclCommand reports the exception, into ka->err. */
static void ka_raw_err(struct ka *ka, int16_t error, const char *msg)
{
	const char *cls = error == 31	? "ClusterAuthorizationException"
			  : error == 54 ? "SecurityDisabledException"
					: NULL;
	if (!msg || !msg[0])
		msg = rd_kafka_err2str((rd_kafka_resp_err_t)error);
	if (cls)
		snprintf(ka->err, sizeof(ka->err), "org.apache.kafka.common.errors.%s: %s", cls, msg);
	else
		snprintf(ka->err, sizeof(ka->err), "%s", msg);
}

/* Sends request api v1 with body q to the first bootstrap server and decodes its answer into
 * *out (the caller frees it with kwacl_resp_free, also after a failure). 0; -2 when no
 * connection could be made (a SASL transport, no address, refused); -1 when the exchange failed.
 * ka->err says why on both. */
static int ka_raw_call(struct ka *ka, int16_t api, const struct kwacl_req *q, struct kwacl_resp *out)
{
	struct wbuf w;
	uint8_t *resp = NULL;
	size_t len = 0;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	wbuf_init(&w, 1 << 20);
	ktool_raw_begin(&w, api, 1, "kafka-acls");
	if (kwacl_req_encode(&w, api, 1, q)) {
		snprintf(ka->err, sizeof(ka->err), "the ACL request is too large");
		goto out;
	}
	int raw = ka->conf ? ktool_raw_call(ka->conf, &w, &resp, &len) : KTOOL_RAW_NOCONN;
	if (raw == KTOOL_RAW_NOCONN) {
		char boot[512];
		size_t sz = sizeof(boot);
		if (!ka->conf || rd_kafka_conf_get(ka->conf, "bootstrap.servers", boot, &sz) != RD_KAFKA_CONF_OK)
			boot[0] = '\0';
		snprintf(ka->err, sizeof(ka->err), "could not connect to %.*s for the raw ACL request",
			 (int)strcspn(boot, ","), boot);
		rc = -2;
		goto out;
	}
	struct rbuf r = rbuf_make(resp, len);
	if (raw != KTOOL_RAW_OK || kwacl_resp_decode(&r, api, 1, out)) {
		snprintf(ka->err, sizeof(ka->err), raw == KTOOL_RAW_OK ? "a malformed answer to the raw ACL request"
								       : "no answer to the raw ACL request");
		goto out;
	}
	rc = 0;
out:
	free(resp);
	wbuf_free(&w);
	return rc;
}

/* After an empty DescribeAcls result of librdkafka's: 0 when it really was empty (or cannot be
 * told: no raw connection), -1 with AclCommand's message in ka->err when the broker refused it. */
static int ka_check_empty(struct ka *ka)
{
	struct kwacl_binding any = { .rtype = 1, .pattern = 1, .op = 1, .perm = 1 }; /* ANY, all nulls */
	struct kwacl_req q = { 1, &any };
	struct kwacl_resp p;
	int rc = 0;
	if (!ka_raw_call(ka, KWACL_API_DESCRIBE, &q, &p) && p.error) {
		ka_raw_err(ka, p.error, p.message);
		rc = -1;
	}
	kwacl_resp_free(&p);
	return rc;
}

/* Prints n ACLs grouped by resource as listAcls does ("Current ACLs for resource ..."): a
 * resource's ACLs follow its first one, in the order given. 0, or -1 without memory. */
static int ka_print_current(const struct kwacl_binding *b, size_t n)
{
	bool *done = calloc(n ? n : 1, sizeof(bool));
	if (!done)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		printf("Current ACLs for resource `");
		ka_print_pattern(b[i].rtype, b[i].name, b[i].pattern);
		printf("`: \n ");
		bool first = true;
		for (size_t k = i; k < n; k++) {
			if (done[k] || b[k].rtype != b[i].rtype || b[k].pattern != b[i].pattern || strcmp(b[k].name, b[i].name))
				continue;
			done[k] = true;
			printf("%s", first ? "" : "\n");
			first = false;
			ka_print_entry(b[k].principal, b[k].host, b[k].op, b[k].perm);
		}
		printf(" \n\n");
	}
	free(done);
	return 0;
}

/* The ACLs matching a filter, asked and printed through the raw path (TransactionalId ACLs,
 * and every ACL when no resource is named). 0, -1, or -2 when no connection could be made. */
static int ka_raw_list(struct ka *ka, const struct kwacl_binding *filter)
{
	struct kwacl_req q = { 1, (struct kwacl_binding *)filter };
	struct kwacl_resp p;
	int rc = ka_raw_call(ka, KWACL_API_DESCRIBE, &q, &p);
	if (!rc && p.error) {
		ka_raw_err(ka, p.error, p.message);
		rc = -1;
	}
	if (!rc)
		rc = ka_print_current(p.b, (size_t)p.nb);
	kwacl_resp_free(&p);
	return rc;
}

/* The ACLs matching a filter; prints them grouped by resource as listAcls does. 0 or -1. */
static int ka_list_filter(struct ka *ka, rd_kafka_t *rk, rd_kafka_AclBindingFilter_t *f)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = ka_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
	rd_kafka_DescribeAcls(rk, f, ao, q);
	rd_kafka_event_t *ev = ka_wait(ka, q);
	int rc = -1;
	if (ev) {
		size_t n = 0;
		const rd_kafka_AclBinding_t **acls =
			rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &n);
		struct kwacl_binding *b = calloc(n ? n : 1, sizeof(*b));
		for (size_t i = 0; b && i < n; i++)
			b[i] = (struct kwacl_binding){ (int8_t)rd_kafka_AclBinding_restype(acls[i]),
						       rd_kafka_AclBinding_name(acls[i]),
						       (int8_t)rd_kafka_AclBinding_resource_pattern_type(acls[i]),
						       rd_kafka_AclBinding_principal(acls[i]),
						       rd_kafka_AclBinding_host(acls[i]),
						       (int8_t)rd_kafka_AclBinding_operation(acls[i]),
						       (int8_t)rd_kafka_AclBinding_permission_type(acls[i]) };
		if (!b || ka_print_current(b, n))
			snprintf(ka->err, sizeof(ka->err), "out of memory");
		else
			rc = n ? 0 : ka_check_empty(ka);
		free(b);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	return rc;
}

/* --list, and the listing after --add / --remove: each named resource, or every ACL */
static int ka_list(struct ka *ka, rd_kafka_t *rk, int pattern)
{
	struct ka_res res[256];
	size_t nr = ka_resources(ka, res, 256);
	char e[256];
	if (nr == 0) {
		/* every ACL: through the raw path when it can, as librdkafka reads TransactionalId
		 * (and DelegationToken) ACLs as UNKNOWN; else librdkafka's */
		struct kwacl_binding any = { .rtype = 1, .pattern = 1, .op = 1, .perm = 1 };
		int rc = ka_raw_ok(ka) ? ka_raw_list(ka, &any) : -2;
		if (rc != -2)
			return rc;
		rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
			RD_KAFKA_RESOURCE_ANY, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL, RD_KAFKA_ACL_OPERATION_ANY,
			RD_KAFKA_ACL_PERMISSION_TYPE_ANY, e, sizeof(e));
		rc = f ? ka_list_filter(ka, rk, f) : -1;
		rd_kafka_AclBinding_destroy(f);
		return rc;
	}
	for (size_t i = 0; i < nr; i++) {
		if (res[i].type == KA_RT_TRANSACTIONAL_ID) {
			struct kwacl_binding f = { .rtype = KA_RT_TRANSACTIONAL_ID, .name = res[i].name,
						   .pattern = (int8_t)pattern, .op = 1, .perm = 1 };
			if (ka_raw_list(ka, &f))
				return -1;
			continue;
		}
		rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
			res[i].type, res[i].name, pattern, NULL, NULL, RD_KAFKA_ACL_OPERATION_ANY,
			RD_KAFKA_ACL_PERMISSION_TYPE_ANY, e, sizeof(e));
		int rc = f ? ka_list_filter(ka, rk, f) : -1;
		rd_kafka_AclBinding_destroy(f);
		if (rc)
			return rc;
	}
	return 0;
}

/* the entries the command line names: (principal, host, op, perm) for allow and deny */
struct ka_entry {
	const char *principal, *host;
	int op, perm;
};

/* The entries of resource r: every principal and host with every operation of ka_res_ops. */
static size_t ka_entries(struct ka *ka, const struct ka_res *r, struct ka_entry *out, size_t max)
{
	size_t n = 0;
	static const char *const star[] = { "*" };
	int ops[8];
	size_t nops = ka_res_ops(ka, r, ops);
	for (int k = 0; k < 2; k++) {
		const struct ktool_opt *po = &ka->o[k ? O_DENY_PRINCIPAL : O_ALLOW_PRINCIPAL];
		const struct ktool_opt *ho = &ka->o[k ? O_DENY_HOST : O_ALLOW_HOST];
		const char *const *hosts = ho->n ? ho->list : star;
		size_t nh = ho->n ? ho->n : 1;
		for (size_t p = 0; p < po->n; p++)
			for (size_t h = 0; h < nh; h++)
				for (size_t o = 0; o < nops && n < max; o++)
					out[n++] = (struct ka_entry){
						po->list[p], hosts[h], ops[o],
						k ? RD_KAFKA_ACL_PERMISSION_TYPE_DENY : RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW
					};
	}
	return n;
}

/* The raw CreateAcls or DeleteAcls of n TransactionalId bindings or filters: 0, or -1 with the
 * first error (of a creation, a filter or one of its matches) in ka->err. */
static int ka_raw_change(struct ka *ka, int16_t api, struct kwacl_binding *b, size_t n)
{
	struct kwacl_req q = { (int32_t)n, b };
	struct kwacl_resp p;
	int rc = ka_raw_call(ka, api, &q, &p) ? -1 : 0;
	for (int32_t i = 0; !rc && i < p.n; i++)
		if (p.res[i].error) {
			ka_raw_err(ka, p.res[i].error, p.res[i].message);
			rc = -1;
		}
	kwacl_resp_free(&p);
	return rc;
}

static int ka_add(struct ka *ka, rd_kafka_t *rk, int pattern)
{
	struct ka_res res[256];
	struct ka_entry ent[1024];
	size_t nr = ka_resources(ka, res, 256);
	rd_kafka_AclBinding_t **b = calloc(nr * 1024 + 1, sizeof(*b));
	struct kwacl_binding *tb = calloc(nr * 1024 + 1, sizeof(*tb)); /* the TransactionalId ones */
	size_t nb = 0, ntb = 0;
	char e[256];
	int rc = -1;
	if (!b || !tb)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		size_t ne = ka_entries(ka, &res[i], ent, 1024);
		if (!ne)
			continue; /* --producer's cluster, --producer alone on a group: nothing */
		printf("Adding ACLs for resource `");
		ka_print_pattern(res[i].type, res[i].name, pattern);
		printf("`: \n ");
		for (size_t k = 0; k < ne; k++) {
			printf("%s", k ? "\n" : "");
			ka_print_entry(ent[k].principal, ent[k].host, ent[k].op, ent[k].perm);
			if (res[i].type == KA_RT_TRANSACTIONAL_ID) {
				tb[ntb++] = (struct kwacl_binding){ KA_RT_TRANSACTIONAL_ID, res[i].name, (int8_t)pattern,
								    ent[k].principal, ent[k].host, (int8_t)ent[k].op,
								    (int8_t)ent[k].perm };
				continue;
			}
			b[nb] = rd_kafka_AclBinding_new(res[i].type, res[i].name, pattern, ent[k].principal, ent[k].host,
							ent[k].op, ent[k].perm, e, sizeof(e));
			if (!b[nb]) {
				snprintf(ka->err, sizeof(ka->err), "%s", e);
				goto out;
			}
			nb++;
		}
		printf(" \n\n");
	}
	rc = 0;
	if (nb) {
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *ao = ka_options(rk, RD_KAFKA_ADMIN_OP_CREATEACLS);
		rd_kafka_CreateAcls(rk, b, nb, ao, q);
		rd_kafka_event_t *ev = ka_wait(ka, q);
		rc = -1;
		if (ev) {
			size_t n = 0;
			const rd_kafka_acl_result_t **r =
				rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &n);
			rc = 0;
			for (size_t i = 0; i < n; i++) {
				const rd_kafka_error_t *er = rd_kafka_acl_result_error(r[i]);
				if (er && rd_kafka_error_code(er)) {
					snprintf(ka->err, sizeof(ka->err), "%s", rd_kafka_error_string(er));
					rc = -1;
					break;
				}
			}
			rd_kafka_event_destroy(ev);
		}
		rd_kafka_AdminOptions_destroy(ao);
		rd_kafka_queue_destroy(q);
	}
	if (!rc && ntb)
		rc = ka_raw_change(ka, KWACL_API_CREATE, tb, ntb);
	if (!rc)
		rc = ka_list(ka, rk, pattern);
out:
	for (size_t i = 0; b && i < nb; i++)
		rd_kafka_AclBinding_destroy(b[i]);
	free(b);
	free(tb);
	return rc;
}

static bool ka_confirm(struct ka *ka, const char *what)
{
	if (ka->o[O_FORCE].seen)
		return true;
	printf("Are you sure you want to %s? (y/n)\n", what);
	fflush(stdout);
	char line[16];
	return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

static int ka_remove(struct ka *ka, rd_kafka_t *rk, int pattern)
{
	struct ka_res res[256];
	struct ka_entry ent[1024];
	size_t nr = ka_resources(ka, res, 256);
	bool role = ka->o[O_PRODUCER].seen || ka->o[O_CONSUMER].seen;
	char e[256];
	int rc = 0;
	for (size_t i = 0; i < nr && !rc; i++) {
		int ops[8];
		if (role && !ka_res_ops(ka, &res[i], ops))
			continue; /* a resource the role gives nothing on */
		size_t ne = ka_entries(ka, &res[i], ent, 1024);
		/* no principal named: every ACL of the resource */
		size_t nf = ne ? ne : 1;
		char what[600];
		snprintf(what, sizeof(what), "%s ACLs for resource `ResourcePattern(resourceType=%s, name=%s, patternType=%s)`",
			 ne ? "remove the given" : "delete all", ka_type_name(res[i].type), res[i].name,
			 ka_pattern_name(pattern));
		if (res[i].type == KA_RT_TRANSACTIONAL_ID) {
			struct kwacl_binding *tf = calloc(nf, sizeof(*tf));
			if (!tf)
				return -1;
			for (size_t k = 0; k < nf; k++)
				tf[k] = ne ? (struct kwacl_binding){ KA_RT_TRANSACTIONAL_ID, res[i].name, (int8_t)pattern,
								     ent[k].principal, ent[k].host, (int8_t)ent[k].op,
								     (int8_t)ent[k].perm }
					   : (struct kwacl_binding){ KA_RT_TRANSACTIONAL_ID, res[i].name, (int8_t)pattern,
								     NULL, NULL, RD_KAFKA_ACL_OPERATION_ANY,
								     RD_KAFKA_ACL_PERMISSION_TYPE_ANY };
			if (ka_confirm(ka, what))
				rc = ka_raw_change(ka, KWACL_API_DELETE, tf, nf);
			free(tf);
			continue;
		}
		rd_kafka_AclBindingFilter_t **f = calloc(nf, sizeof(*f));
		if (!f)
			return -1;
		for (size_t k = 0; k < nf; k++)
			f[k] = ne ? rd_kafka_AclBindingFilter_new(res[i].type, res[i].name, pattern, ent[k].principal,
								  ent[k].host, ent[k].op, ent[k].perm, e, sizeof(e))
				  : rd_kafka_AclBindingFilter_new(res[i].type, res[i].name, pattern, NULL, NULL,
								  RD_KAFKA_ACL_OPERATION_ANY,
								  RD_KAFKA_ACL_PERMISSION_TYPE_ANY, e, sizeof(e));
		if (ka_confirm(ka, what)) {
			rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
			rd_kafka_AdminOptions_t *ao = ka_options(rk, RD_KAFKA_ADMIN_OP_DELETEACLS);
			rd_kafka_DeleteAcls(rk, f, nf, ao, q);
			rd_kafka_event_t *ev = ka_wait(ka, q);
			if (!ev) {
				rc = -1;
			} else {
				size_t n = 0;
				const rd_kafka_DeleteAcls_result_response_t **r =
					rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev), &n);
				for (size_t k = 0; k < n; k++) {
					const rd_kafka_error_t *er = rd_kafka_DeleteAcls_result_response_error(r[k]);
					if (er && rd_kafka_error_code(er)) {
						snprintf(ka->err, sizeof(ka->err), "%s", rd_kafka_error_string(er));
						rc = -1;
					}
				}
				rd_kafka_event_destroy(ev);
			}
			rd_kafka_AdminOptions_destroy(ao);
			rd_kafka_queue_destroy(q);
		}
		for (size_t k = 0; k < nf; k++)
			rd_kafka_AclBinding_destroy(f[k]);
		free(f);
	}
	return rc ? rc : ka_list(ka, rk, pattern);
}

int main(int argc, char **argv)
{
	struct ka ka;
	char e[512];
	int status = 1;
	memset(&ka, 0, sizeof(ka));
	memcpy(ka.o, ka_opts_def, sizeof(ka.o));
	if (argc < 2) {
		ktool_usage(stderr, ka_intro, ka.o, O_COUNT);
		return 1;
	}
	if (ktool_opts_parse(ka.o, O_COUNT, argc, argv, e, sizeof(e))) {
		status = ka_usage_error(&ka, "%s", e);
		goto done;
	}
	if (ka.o[O_HELP].seen) {
		ktool_usage(stdout, ka_intro, ka.o, O_COUNT);
		status = 0;
		goto done;
	}
	if (ka.o[O_VERSION].seen) {
		printf("%s (samsa, librdkafka %s)\n", SAMSA_VERSION, rd_kafka_version_str());
		status = 0;
		goto done;
	}
	int actions = !!ka.o[O_ADD].seen + !!ka.o[O_REMOVE].seen + !!ka.o[O_LIST].seen;
	if (!ka.o[O_BOOTSTRAP].seen) {
		status = ka_usage_error(&ka, "One of --authorizer-properties or --bootstrap-server must be specified");
		goto done;
	}
	if (actions != 1) {
		status = ka_usage_error(&ka, "Command must include exactly one action: --list, --add, --remove. ");
		goto done;
	}
	for (size_t i = 0; i < ka.o[O_OPERATION].n; i++)
		if (ka_op_parse(ka.o[O_OPERATION].list[i]) < 0) {
			status = ka_usage_error(&ka, "Invalid operation: %s", ka.o[O_OPERATION].list[i]);
			goto done;
		}
	int pattern = ka.o[O_ADD].seen ? RD_KAFKA_RESOURCE_PATTERN_LITERAL
		      : ka.o[O_PATTERN].seen ? RD_KAFKA_RESOURCE_PATTERN_LITERAL
					     : RD_KAFKA_RESOURCE_PATTERN_ANY;
	if (ka.o[O_PATTERN].seen) {
		const char *p = ka.o[O_PATTERN].value;
		pattern = !strcasecmp(p, "literal")    ? RD_KAFKA_RESOURCE_PATTERN_LITERAL
			  : !strcasecmp(p, "prefixed") ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED
			  : !strcasecmp(p, "any")      ? RD_KAFKA_RESOURCE_PATTERN_ANY
			  : !strcasecmp(p, "match")    ? RD_KAFKA_RESOURCE_PATTERN_MATCH
						       : -1;
		if (pattern < 0) {
			status = ka_usage_error(&ka, "Invalid resource-pattern-type: %s", p);
			goto done;
		}
		if (ka.o[O_ADD].seen && (pattern == RD_KAFKA_RESOURCE_PATTERN_ANY ||
					 pattern == RD_KAFKA_RESOURCE_PATTERN_MATCH)) {
			status = ka_usage_error(&ka, "A '--resource-pattern-type' value of '%s' is not valid when adding acls.", p);
			goto done;
		}
	}
	/* AclCommand's checks of --producer and --consumer */
	static const int role_opts[] = { O_PRODUCER, O_CONSUMER };
	static const int not_with_list[] = { O_PRODUCER, O_CONSUMER, O_ALLOW_HOST, O_ALLOW_PRINCIPAL, O_DENY_HOST,
					     O_DENY_PRINCIPAL };
	static const int not_with_role[] = { O_OPERATION, O_DENY_PRINCIPAL, O_DENY_HOST };
	for (size_t i = 0; ka.o[O_LIST].seen && i < sizeof(not_with_list) / sizeof(not_with_list[0]); i++)
		if (ka.o[not_with_list[i]].seen) {
			status = ka_usage_error(&ka, "Option \"[list]\" can't be used with option \"[%s]\"",
						ka.o[not_with_list[i]].name);
			goto done;
		}
	for (size_t r = 0; r < 2; r++)
		for (size_t i = 0; ka.o[role_opts[r]].seen && i < sizeof(not_with_role) / sizeof(not_with_role[0]); i++)
			if (ka.o[not_with_role[i]].seen) {
				status = ka_usage_error(&ka, "Option \"[%s]\" can't be used with option \"[%s]\"",
							ka.o[role_opts[r]].name, ka.o[not_with_role[i]].name);
				goto done;
			}
	if (ka.o[O_IDEMPOTENT].seen && !ka.o[O_PRODUCER].seen) {
		status = ka_usage_error(&ka, "The --idempotent option is only available if --producer is set");
		goto done;
	}
	if (ka.o[O_PRODUCER].seen && !ka.o[O_TOPIC].n) {
		status = ka_usage_error(&ka, "With --producer you must specify a --topic");
		goto done;
	}
	if (ka.o[O_CONSUMER].seen &&
	    (!ka.o[O_TOPIC].n || !ka.o[O_GROUP].n ||
	     (!ka.o[O_PRODUCER].seen && (ka.o[O_CLUSTER].seen || ka.o[O_TRANSACTIONAL_ID].n)))) {
		status = ka_usage_error(&ka, "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
		goto done;
	}
	struct ka_res res[1];
	if ((ka.o[O_ADD].seen || ka.o[O_REMOVE].seen) && ka_resources(&ka, res, 1) == 0) {
		status = ka_usage_error(&ka, "You must specify one of: --topic, --cluster, --group, --transactional-id, --delegation-token when using this command.");
		goto done;
	}
	if (ka.o[O_ADD].seen && !ka.o[O_ALLOW_PRINCIPAL].n && !ka.o[O_DENY_PRINCIPAL].n) {
		status = ka_usage_error(&ka, "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.");
		goto done;
	}
	rd_kafka_t *rk = ka_admin_new(&ka);
	int rc = -1;
	if (rk && ka.o[O_TRANSACTIONAL_ID].n && !ka_raw_ok(&ka)) {
		fprintf(stderr, "--transactional-id needs a PLAINTEXT or SSL listener here: librdkafka 2.0's admin API "
				"has no TransactionalId resource\n");
		rd_kafka_destroy(rk);
		rd_kafka_conf_destroy(ka.conf);
		status = 1;
		goto done;
	}
	if (rk) {
		rc = ka.o[O_ADD].seen ? ka_add(&ka, rk, pattern)
		     : ka.o[O_REMOVE].seen ? ka_remove(&ka, rk, pattern)
					   : ka_list(&ka, rk, pattern);
		rd_kafka_destroy(rk);
	}
	if (ka.conf)
		rd_kafka_conf_destroy(ka.conf);
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "Error while executing ACL command: %s\n", ka.err);
		status = 1;
	} else {
		status = 0;
	}
done:
	ktool_opts_free(ka.o, O_COUNT);
	return status;
}

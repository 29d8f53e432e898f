/*
 * kb_config — the broker's config table (see kb_config.h). Defaults are Kafka's.
 */
#include "kb_config.h"

#include "cfg.h"
#include "err.h"
#include "ksasl.h"
#include "props.h"

#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KB_OFF(f) offsetof(struct kb_config, f)

static const struct cfg_def kb_config_defs[] = {
	{ "broker.id", CFG_INT, -1, INT32_MAX, "-1", KB_OFF(broker_id), 0, "this broker's id; -1 = generated" },
	{ "listeners", CFG_STRING, 0, 0, "PLAINTEXT://:9092", KB_OFF(listeners), 0, "listener URIs" },
	{ "advertised.listeners", CFG_STRING, 0, 0, NULL, KB_OFF(advertised_listeners), 0, "listeners given to clients" },
	{ "max.connections.per.ip", CFG_INT, 0, INT32_MAX, "2147483647", KB_OFF(max_connections_per_ip), 0, "client connections from one address" },
	{ "max.connections.per.ip.overrides", CFG_STRING, 0, 0, "", KB_OFF(max_connections_per_ip_overrides), 0, "ip:N,... per-address limits" },
	{ "max.connections", CFG_INT, 0, INT32_MAX, "2147483647", KB_OFF(max_connections), 0, "client connections in all" },
	{ "listener.security.protocol.map", CFG_STRING, 0, 0, "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", KB_OFF(listener_security_protocol_map), 0, "NAME:PROTOCOL pairs" },
	{ "inter.broker.listener.name", CFG_STRING, 0, 0, NULL, KB_OFF(inter_broker_listener_name), 0, "the listener other brokers use" },
	{ "security.inter.broker.protocol", CFG_STRING, 0, 0, "PLAINTEXT", KB_OFF(security_inter_broker_protocol), 0, "picks the inter-broker listener by protocol" },
	{ "ssl.keystore.type", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_keystore_type), 0, "PEM" },
	{ "ssl.keystore.location", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_keystore_location), 0, "PEM file: private key and certificate chain" },
	{ "ssl.keystore.certificate.chain", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_keystore_certificate_chain), 0, "inline PEM certificate chain" },
	{ "ssl.keystore.key", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_keystore_key), 0, "inline PEM private key" },
	{ "ssl.key.password", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_key_password), 0, "password of an encrypted key" },
	{ "ssl.keystore.password", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "not needed for a PEM keystore file" },
	{ "ssl.truststore.type", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_truststore_type), 0, "PEM" },
	{ "ssl.truststore.location", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_truststore_location), 0, "PEM file: trusted CA certificates" },
	{ "ssl.truststore.certificates", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_truststore_certificates), 0, "inline PEM trusted certificates" },
	{ "ssl.truststore.password", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "not needed for a PEM truststore" },
	{ "ssl.client.auth", CFG_STRING, 0, 0, "none", KB_OFF(ssl_client_auth), 0, "none, requested, required" },
	{ "ssl.enabled.protocols", CFG_STRING, 0, 0, "TLSv1.2,TLSv1.3", KB_OFF(ssl_enabled_protocols), 0, "TLS versions" },
	{ "ssl.cipher.suites", CFG_STRING, 0, 0, NULL, KB_OFF(ssl_cipher_suites), 0, "cipher suites (default: OpenSSL's)" },
	{ "ssl.protocol", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "the JSSE context protocol (samsa uses ssl.enabled.protocols)" },
	{ "ssl.endpoint.identification.algorithm", CFG_STRING, 0, 0, "https", KB_OFF(ssl_endpoint_identification_algorithm), 0, "https: a follower checks the leader's certificate names its host; empty: not" },
	{ "sasl.enabled.mechanisms", CFG_STRING, 0, 0, "GSSAPI", KB_OFF(sasl_enabled_mechanisms), 0, "SASL mechanisms of the SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512" },
	{ "sasl.mechanism.inter.broker.protocol", CFG_STRING, 0, 0, "PLAIN", KB_OFF(sasl_mechanism_inter_broker_protocol), 0, "the SASL mechanism of the broker's own connections when the inter-broker listener is SASL_SSL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512" },
	{ "listener.name.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "per-listener overrides (kept in cfg->lname)" },
	{ "samsa.sasl.auth.timeout.ms", CFG_INT, 100, 3600000, "10000", KB_OFF(sasl_auth_timeout_ms), CFG_HIDDEN, "closes a SASL connection not authenticated by then" },
	{ "log.dirs", CFG_STRING, 0, 0, NULL, KB_OFF(log_dirs), 0, "partition log directories" },
	{ "log.dir", CFG_STRING, 0, 0, "/tmp/kafka-logs", KB_OFF(log_dir), 0, "used when log.dirs is unset" },
	{ "num.partitions", CFG_INT, 1, 1000000, "1", KB_OFF(num_partitions), 0, "partitions of auto-created topics" },
	{ "default.replication.factor", CFG_INT, 1, 1000, "1", KB_OFF(default_replication_factor), 0, "replicas of auto-created topics" },
	{ "min.insync.replicas", CFG_INT, 1, 1000, "1", KB_OFF(min_insync_replicas), 0, "ISR size needed for acks=all" },
	{ "log.retention.hours", CFG_INT, -1, INT32_MAX, "168", KB_OFF(log_retention_hours), 0, "retention by time" },
	{ "log.retention.minutes", CFG_LONG, -1, INT64_MAX, "-1", KB_OFF(log_retention_minutes), 0, "overrides hours" },
	{ "log.retention.ms", CFG_LONG, -1, INT64_MAX, "-1", KB_OFF(log_retention_ms), 0, "overrides minutes" },
	{ "log.retention.bytes", CFG_LONG, -1, INT64_MAX, "-1", KB_OFF(log_retention_bytes), 0, "retention by size per partition" },
	{ "log.segment.bytes", CFG_LONG, 14, INT32_MAX, "1073741824", KB_OFF(log_segment_bytes), 0, "segment size" },
	{ "log.roll.ms", CFG_LONG, -1, INT64_MAX, "-1", KB_OFF(log_roll_ms), 0, "segment age before a roll" },
	{ "log.roll.hours", CFG_INT, 1, INT32_MAX, "168", KB_OFF(log_roll_hours), 0, "segment age before a roll" },
	{ "log.retention.check.interval.ms", CFG_LONG, 1, INT64_MAX, "300000", KB_OFF(log_retention_check_interval_ms), 0, "retention check period" },
	{ "zookeeper.connect", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_connect), CFG_REQUIRED, "host:port[,host:port][/chroot]" },
	{ "zookeeper.session.timeout.ms", CFG_INT, 1, INT32_MAX, "18000", KB_OFF(zookeeper_session_timeout_ms), 0, "coordinator session timeout" },
	{ "zookeeper.connection.timeout.ms", CFG_INT, -1, INT32_MAX, "-1", KB_OFF(zookeeper_connection_timeout_ms), 0, "connect timeout" },
	{ "zookeeper.ssl.client.enable", CFG_BOOL, 0, 0, "false", KB_OFF(zookeeper_ssl_client_enable), 0, "TLS to the coordinator (through an in-process bridge)" },
	{ "zookeeper.clientCnxnSocket", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "Java's socket class; samsa's bridge needs none" },
	{ "zookeeper.ssl.keystore.location", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_keystore_location), 0, "PEM file: the broker's key and certificate chain (its x509 identity)" },
	{ "zookeeper.ssl.keystore.password", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_keystore_password), 0, "password of an encrypted key" },
	{ "zookeeper.ssl.keystore.type", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_keystore_type), 0, "PEM" },
	{ "zookeeper.ssl.truststore.location", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_truststore_location), 0, "PEM file: trusted CA certificates (unset: the system's)" },
	{ "zookeeper.ssl.truststore.password", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "not needed for a PEM truststore" },
	{ "zookeeper.ssl.truststore.type", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_truststore_type), 0, "PEM" },
	{ "zookeeper.ssl.endpoint.identification.algorithm", CFG_STRING, 0, 0, "HTTPS", KB_OFF(zookeeper_ssl_endpoint_identification_algorithm), 0, "HTTPS: the certificate must name the host; empty: not checked" },
	{ "zookeeper.ssl.protocol", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_protocol), 0, "TLSv1.2 or TLSv1.3 (unset: both)" },
	{ "zookeeper.ssl.enabled.protocols", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_enabled_protocols), 0, "TLS versions (unset: zookeeper.ssl.protocol)" },
	{ "zookeeper.ssl.cipher.suites", CFG_STRING, 0, 0, NULL, KB_OFF(zookeeper_ssl_cipher_suites), 0, "cipher suites (default: OpenSSL's)" },
	{ "zookeeper.ssl.crl.enable", CFG_BOOL, 0, 0, "false", KB_OFF(zookeeper_ssl_crl_enable), 0, "not supported (false only)" },
	{ "zookeeper.ssl.ocsp.enable", CFG_BOOL, 0, 0, "false", KB_OFF(zookeeper_ssl_ocsp_enable), 0, "not supported (false only)" },
	{ "num.network.threads", CFG_INT, 1, 1024, "3", KB_OFF(num_network_threads), 0, "accepted; samsa uses one loop" },
	{ "num.io.threads", CFG_INT, 1, 1024, "8", KB_OFF(num_io_threads), 0, "accepted; samsa uses one loop" },
	{ "socket.send.buffer.bytes", CFG_INT, -1, INT32_MAX, "102400", KB_OFF(socket_send_buffer_bytes), 0, "SO_SNDBUF" },
	{ "socket.receive.buffer.bytes", CFG_INT, -1, INT32_MAX, "102400", KB_OFF(socket_receive_buffer_bytes), 0, "SO_RCVBUF" },
	{ "socket.request.max.bytes", CFG_INT, 1, INT32_MAX, "104857600", KB_OFF(socket_request_max_bytes), 0, "largest request" },
	{ "num.recovery.threads.per.data.dir", CFG_INT, 1, 1024, "1", KB_OFF(num_recovery_threads_per_data_dir), 0, "accepted" },
	{ "offsets.topic.replication.factor", CFG_INT, 1, 1000, "3", KB_OFF(offsets_topic_replication_factor), 0, "__consumer_offsets replicas" },
	{ "transaction.state.log.replication.factor", CFG_INT, 1, 1000, "3", KB_OFF(transaction_state_log_replication_factor), 0, "__transaction_state replicas (at its creation; created once this many brokers are live)" },
	{ "transaction.state.log.min.isr", CFG_INT, 1, 1000, "2", KB_OFF(transaction_state_log_min_isr), 0, "__transaction_state min.insync.replicas (at its creation)" },
	{ "transaction.state.log.num.partitions", CFG_INT, 1, 100000, "50", KB_OFF(transaction_state_log_num_partitions), 0, "__transaction_state partitions (at its creation)" },
	{ "transaction.state.log.segment.bytes", CFG_INT, 14, INT32_MAX, "104857600", KB_OFF(transaction_state_log_segment_bytes), 0, "__transaction_state segment.bytes (at its creation)" },
	{ "transaction.max.timeout.ms", CFG_INT, 1, INT32_MAX, "900000", KB_OFF(transaction_max_timeout_ms), 0, "the longest transaction.timeout.ms a producer may ask" },
	{ "transaction.abort.timed.out.transaction.cleanup.interval.ms", CFG_INT, 1, INT32_MAX, "10000", KB_OFF(transaction_abort_timed_out_transaction_cleanup_interval_ms), 0, "how often transactions past their timeout are looked for (and aborted)" },
	{ "transactional.id.expiration.ms", CFG_INT, 1, INT32_MAX, "604800000", KB_OFF(transactional_id_expiration_ms), 0, "a transactional id without a transaction for this long is removed" },
	{ "transaction.remove.expired.transaction.cleanup.interval.ms", CFG_INT, 1, INT32_MAX, "3600000", KB_OFF(transaction_remove_expired_transaction_cleanup_interval_ms), 0, "how often expired transactional ids are looked for" },
	{ "offsets.topic.num.partitions", CFG_INT, 1, 100000, "50", KB_OFF(offsets_topic_num_partitions), 0, "__consumer_offsets partitions (at its creation)" },
	{ "offsets.topic.segment.bytes", CFG_INT, 14, INT32_MAX, "104857600", KB_OFF(offsets_topic_segment_bytes), 0, "__consumer_offsets segment.bytes (at its creation)" },
	{ "offsets.commit.timeout.ms", CFG_INT, 1, INT32_MAX, "5000", KB_OFF(offsets_commit_timeout_ms), 0, "an offset commit waits this long for its replicas" },
	{ "offsets.retention.minutes", CFG_INT, 1, INT32_MAX, "10080", KB_OFF(offsets_retention_minutes), 0, "offsets of an empty group expire after this" },
	{ "offsets.retention.check.interval.ms", CFG_LONG, 1, INT64_MAX, "600000", KB_OFF(offsets_retention_check_interval_ms), 0, "how often expired offsets are removed" },
	{ "offset.metadata.max.bytes", CFG_INT, 0, INT32_MAX, "4096", KB_OFF(offset_metadata_max_bytes), 0, "longest metadata of a committed offset" },
	{ "group.initial.rebalance.delay.ms", CFG_INT, 0, INT32_MAX, "3000", KB_OFF(group_initial_rebalance_delay_ms), 0, "first rebalance delay" },
	{ "group.min.session.timeout.ms", CFG_INT, 0, INT32_MAX, "6000", KB_OFF(group_min_session_timeout_ms), 0, "shortest session timeout a member may ask" },
	{ "group.max.session.timeout.ms", CFG_INT, 0, INT32_MAX, "1800000", KB_OFF(group_max_session_timeout_ms), 0, "longest session timeout a member may ask" },
	{ "group.max.size", CFG_INT, 1, INT32_MAX, "2147483647", KB_OFF(group_max_size), 0, "members of one consumer group" },
	{ "message.max.bytes", CFG_INT, 0, INT32_MAX, "1048588", KB_OFF(message_max_bytes), 0, "largest record batch" },
	{ "authorizer.class.name", CFG_STRING, 0, 0, "", KB_OFF(authorizer_class_name), 0, "kafka.security.authorizer.AclAuthorizer (or kafka.security.auth.SimpleAclAuthorizer) switches ACLs on; empty: none" },
	{ "super.users", CFG_STRING, 0, 0, "", KB_OFF(super_users), 0, "principals always allowed, ';'-separated" },
	{ "allow.everyone.if.no.acl.found", CFG_BOOL, 0, 0, "false", KB_OFF(allow_everyone_if_no_acl_found), 0, "allow a resource no ACL names" },
	{ "auto.create.topics.enable", CFG_BOOL, 0, 0, "true", KB_OFF(auto_create_topics_enable), 0, "create topics on first use" },
	{ "delete.topic.enable", CFG_BOOL, 0, 0, "true", KB_OFF(delete_topic_enable), 0, "allow topic deletion" },
	{ "unclean.leader.election.enable", CFG_BOOL, 0, 0, "false", KB_OFF(unclean_leader_election_enable), 0, "out-of-sync leaders" },
	{ "controlled.shutdown.enable", CFG_BOOL, 0, 0, "true", KB_OFF(controlled_shutdown_enable), 0, "move leaderships away before stopping" },
	{ "controlled.shutdown.max.retries", CFG_INT, 0, INT32_MAX, "3", KB_OFF(controlled_shutdown_max_retries), 0, "ControlledShutdown attempts" },
	{ "controlled.shutdown.retry.backoff.ms", CFG_LONG, 0, INT64_MAX, "5000", KB_OFF(controlled_shutdown_retry_backoff_ms), 0, "between attempts" },
	{ "auto.leader.rebalance.enable", CFG_BOOL, 0, 0, "true", KB_OFF(auto_leader_rebalance_enable), 0, "give leadership back to preferred replicas" },
	{ "leader.imbalance.per.broker.percentage", CFG_INT, 0, 100, "10", KB_OFF(leader_imbalance_per_broker_percentage), 0, "imbalance that triggers it" },
	{ "leader.imbalance.check.interval.seconds", CFG_LONG, 1, INT32_MAX, "300", KB_OFF(leader_imbalance_check_interval_seconds), 0, "how often it is checked" },
	{ "replica.lag.time.max.ms", CFG_LONG, 1, INT64_MAX, "10000", KB_OFF(replica_lag_time_max_ms), 0, "a follower behind this long leaves the ISR" },
	{ "producer.id.expiration.ms", CFG_LONG, 1, INT32_MAX, "86400000", KB_OFF(producer_id_expiration_ms), 0, "an idle idempotent producer's state is dropped after this" },
	{ "replica.high.watermark.checkpoint.interval.ms", CFG_LONG, 1, INT64_MAX, "5000", KB_OFF(replica_hw_checkpoint_interval_ms), 0, "how often replication-offset-checkpoint is written" },
	{ "log.flush.interval.messages", CFG_LONG, 1, INT64_MAX, "9223372036854775807", KB_OFF(log_flush_interval_messages), 0, "fsync after this many messages" },
	{ "log.flush.interval.ms", CFG_LONG, -1, INT64_MAX, "-1", KB_OFF(log_flush_interval_ms), 0, "fsync after this long (-1: leave to the OS)" },
	{ "log.flush.scheduler.interval.ms", CFG_LONG, 1, INT64_MAX, "9223372036854775807", KB_OFF(log_flush_scheduler_interval_ms), 0, "how often flush.ms is checked" },
	{ "log.index.interval.bytes", CFG_INT, 0, INT32_MAX, "4096", KB_OFF(log_index_interval_bytes), 0, "bytes between offset index entries" },
	{ "log.index.size.max.bytes", CFG_INT, 4, INT32_MAX, "10485760", KB_OFF(log_index_size_max_bytes), 0, "largest offset index" },
	{ "log.message.timestamp.type", CFG_STRING, 0, 0, "CreateTime", KB_OFF(log_message_timestamp_type), 0, "CreateTime or LogAppendTime" },
	{ "log.cleanup.policy", CFG_STRING, 0, 0, "delete", KB_OFF(log_cleanup_policy), 0, "delete, compact or compact,delete" },
	{ "log.cleaner.enable", CFG_BOOL, 0, 0, "true", KB_OFF(log_cleaner_enable), 0, "run the log cleaner for compacted topics" },
	{ "log.cleaner.backoff.ms", CFG_LONG, 1, INT64_MAX, "15000", KB_OFF(log_cleaner_backoff_ms), 0, "how often logs are checked for cleaning" },
	{ "log.cleaner.dedupe.buffer.size", CFG_LONG, 1024, INT64_MAX, "134217728", KB_OFF(log_cleaner_dedupe_buffer_size), 0, "memory of the cleaner's key map" },
	{ "log.cleaner.delete.retention.ms", CFG_LONG, 0, INT64_MAX, "86400000", KB_OFF(log_cleaner_delete_retention_ms), 0, "how long tombstones are kept" },
	{ "log.cleaner.min.compaction.lag.ms", CFG_LONG, 0, INT64_MAX, "0", KB_OFF(log_cleaner_min_compaction_lag_ms), 0, "records younger are not cleaned" },
	{ "log.cleaner.min.cleanable.ratio", CFG_STRING, 0, 0, "0.5", KB_OFF(log_cleaner_min_cleanable_ratio), 0, "dirty share of a log that starts a cleaning" },
	{ "log.cleaner.threads", CFG_INT, 1, 1, "1", KB_OFF(log_cleaner_threads), 0, "cleaner threads (samsa runs one)" },
	{ "control.plane.listener.port", CFG_INT, -1, 65535, "-1", KB_OFF(control_plane_listener_port), 0, "controller channel (KIP-291); -1: first listener's port + 1000, 0: ephemeral" },
	{ "samsa.http.port", CFG_INT, -1, 65535, "-1", KB_OFF(http_port), 0, "/metrics over HTTP (-1: off, 0: any free port)" },
	{ "samsa.http.host", CFG_STRING, 0, 0, "", KB_OFF(http_host), 0, "address of samsa.http.port (empty: every address)" },
	{ "samsa.log.level", CFG_STRING, 0, 0, "INFO", KB_OFF(log_level), 0, "TRACE, DEBUG, INFO, WARN, ERROR" },
};

#define KB_CONFIG_NDEFS (sizeof(kb_config_defs) / sizeof(kb_config_defs[0]))

static int kb_parse_listener(const char *file, const char *s, size_t n, struct kb_listener *l,
			     char *errbuf, size_t errlen)
{
	char buf[512];
	if (n >= sizeof(buf))
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: listener too long", file);
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *sep = strstr(buf, "://");
	if (!sep || sep == buf || (size_t)(sep - buf) >= sizeof(l->name))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'listeners': expected NAME://host:port", file, buf);
	memcpy(l->name, buf, (size_t)(sep - buf));
	l->name[sep - buf] = '\0';
	char *hp = sep + 3;
	char *colon = strrchr(hp, ':');
	if (!colon)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'listeners': no port", file, buf);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'listeners': port must be 0-65535", file, buf);
	*colon = '\0';
	if (hp[0] == '[' && colon > hp && colon[-1] == ']') { /* [::1] */
		colon[-1] = '\0';
		hp++;
	}
	if (strlen(hp) >= sizeof(l->host))
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: listener host too long", file);
	strcpy(l->host, hp);
	l->port = (int)port;
	return 0;
}

static int kb_parse_listeners(const char *file, const char *p, struct kb_listener *out, int *n, char *errbuf,
			      size_t errlen)
{
	*n = 0;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && (*p == ' ')) {
			p++;
			len--;
		}
		if (len) {
			if (*n == KB_MAX_LISTENERS)
				return err_set(errbuf, errlen, ERR_CONFIG, "%s: too many listeners", file);
			int rc = kb_parse_listener(file, p, len, &out[*n], errbuf, errlen);
			if (rc)
				return rc;
			(*n)++;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

int kb_parse_ratio(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !(x >= 0 && x <= 1))
		return -1;
	*out = x;
	return 0;
}

int kb_parse_cleanup_policy(const char *v, bool *compact, bool *no_delete)
{
	/* Kafka's list: "delete", "compact", or both comma-separated in either order */
	bool del = false, comp = false;
	const char *p = v;
	while (*p) {
		size_t n = strcspn(p, ",");
		while (n && *p == ' ') {
			p++;
			n--;
		}
		size_t m = n;
		while (m && p[m - 1] == ' ')
			m--;
		if (m == 6 && !strncmp(p, "delete", 6))
			del = true;
		else if (m == 7 && !strncmp(p, "compact", 7))
			comp = true;
		else
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!del && !comp)
		return -1;
	*compact = comp;
	*no_delete = !del;
	return 0;
}

static const char *const kb_security_names[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };

const char *kb_security_name(enum kb_security s)
{
	return (unsigned)s < 4 ? kb_security_names[s] : "?";
}

static int kb_security_parse(const char *s, size_t n, enum kb_security *out)
{
	for (int i = 0; i < 4; i++)
		if (strlen(kb_security_names[i]) == n && !strncasecmp(s, kb_security_names[i], n)) {
			*out = (enum kb_security)i;
			return 0;
		}
	return -1;
}

/* listener.security.protocol.map "NAME:PROTOCOL,...": the protocol of listener name (n bytes),
 * or -1 (ERR_CONFIG text) when the map does not name it or is malformed. */
static int kb_listener_security(const char *file, const char *map, const char *name, enum kb_security *out,
				char *errbuf, size_t errlen)
{
	for (const char *p = map; p && *p;) {
		size_t n = strcspn(p, ",");
		const char *colon = memchr(p, ':', n);
		const char *a = p, *e = p + n;
		while (a < e && *a == ' ')
			a++;
		if (!colon)
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for 'listener.security.protocol.map': expected NAME:PROTOCOL pairs",
				       file, map);
		const char *v = colon + 1, *ve = e;
		while (v < ve && *v == ' ')
			v++;
		while (ve > v && ve[-1] == ' ')
			ve--;
		enum kb_security sec;
		if (kb_security_parse(v, (size_t)(ve - v), &sec))
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for 'listener.security.protocol.map': protocols are "
				       "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
				       file, map);
		if ((size_t)(colon - a) == strlen(name) && !strncmp(a, name, strlen(name))) {
			*out = sec;
			return 0;
		}
		p = *e ? e + 1 : e;
	}
	return err_set(errbuf, errlen, ERR_CONFIG,
		       "%s: listener '%s' has no security protocol in listener.security.protocol.map", file, name);
}

/* max.connections.per.ip.overrides "host:N,host:N": the limit of ip, or -1 (bad entries are
 * refused at load by kb_config_security). */
static int64_t kb_ip_override(const char *list, const char *ip, bool *bad)
{
	*bad = false;
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		const char *colon = NULL;
		for (const char *q = p + n; q > p; q--)
			if (q[-1] == ':') {
				colon = q - 1;
				break;
			}
		const char *a = p;
		while (a < p + n && *a == ' ')
			a++;
		if (!colon || colon == a) {
			*bad = true;
			return -1;
		}
		char num[16];
		size_t nl = (size_t)(p + n - colon - 1);
		if (nl == 0 || nl >= sizeof(num)) {
			*bad = true;
			return -1;
		}
		memcpy(num, colon + 1, nl);
		num[nl] = '\0';
		char *end;
		long v = strtol(num, &end, 10);
		if (*end || v < 0 || v > INT32_MAX) {
			*bad = true;
			return -1;
		}
		if (ip && (size_t)(colon - a) == strlen(ip) && !strncmp(a, ip, strlen(ip)))
			return v;
		p = p[n] ? p + n + 1 : p + n;
	}
	return -1;
}

int32_t kb_config_ip_limit(const struct kb_config *cfg, const char *ip)
{
	bool bad;
	int64_t v = kb_ip_override(cfg->max_connections_per_ip_overrides, ip, &bad);
	return v >= 0 ? (int32_t)v : cfg->max_connections_per_ip;
}

const struct kb_listener *kb_config_advertised(const struct kb_config *cfg, int i)
{
	for (int k = 0; k < cfg->n_adv; k++)
		if (!strcmp(cfg->adv[k].name, cfg->listener[i].name))
			return &cfg->adv[k];
	return &cfg->listener[i];
}

/* Each comma-separated item of v is TLSv1.2 or TLSv1.3 (any case, spaces allowed). */
static bool kb_config_tls_versions_ok(const char *v)
{
	char buf[256];
	if (strlen(v) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", v);
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t l = strlen(t);
		while (l && t[l - 1] == ' ')
			t[--l] = '\0';
		if (strcasecmp(t, "TLSv1.2") && strcasecmp(t, "TLSv1.3"))
			return false;
		n++;
	}
	return n > 0;
}

/* zookeeper.ssl.*: checked only when zookeeper.ssl.client.enable=true (Kafka ignores them
 * otherwise). */
static int kb_config_zk_ssl(const struct kb_config *cfg, const char *file, char *errbuf, size_t errlen)
{
	if (!cfg->zookeeper_ssl_client_enable)
		return 0;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "zookeeper.ssl.truststore.type" : "zookeeper.ssl.keystore.type";
		const char *t = k ? cfg->zookeeper_ssl_truststore_type : cfg->zookeeper_ssl_keystore_type;
		if (t && *t && strcasecmp(t, "PEM"))
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for '%s': samsa-broker reads PEM stores only; "
				       "convert a %s store to PEM with keytool and openssl",
				       file, t, key, t);
	}
	const char *eia = cfg->zookeeper_ssl_endpoint_identification_algorithm;
	if (eia && *eia && strcasecmp(eia, "HTTPS"))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'zookeeper.ssl.endpoint.identification.algorithm': HTTPS "
			       "(check the coordinator's host name) or empty (do not)", file, eia);
	const char *pr = cfg->zookeeper_ssl_protocol;
	if (pr && *pr && strcasecmp(pr, "TLS") && !kb_config_tls_versions_ok(pr))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'zookeeper.ssl.protocol': TLSv1.2 or TLSv1.3", file, pr);
	const char *ep = cfg->zookeeper_ssl_enabled_protocols;
	if (ep && *ep && !kb_config_tls_versions_ok(ep))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'zookeeper.ssl.enabled.protocols': a list of TLSv1.2, TLSv1.3",
			       file, ep);
	if (cfg->zookeeper_ssl_crl_enable || cfg->zookeeper_ssl_ocsp_enable)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: '%s' is not supported by samsa-broker (set it false)", file,
			       cfg->zookeeper_ssl_crl_enable ? "zookeeper.ssl.crl.enable" : "zookeeper.ssl.ocsp.enable");
	if (cfg->zookeeper_ssl_keystore_password && *cfg->zookeeper_ssl_keystore_password &&
	    !(cfg->zookeeper_ssl_keystore_location && *cfg->zookeeper_ssl_keystore_location))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: zookeeper.ssl.keystore.password is set without zookeeper.ssl.keystore.location", file);
	return 0;
}

void kb_config_zk_tls(const struct kb_config *cfg, struct tls_conf *tc, bool *verify_host)
{
	const char *pr = cfg->zookeeper_ssl_protocol;
	const char *protocols = cfg->zookeeper_ssl_enabled_protocols;
	if (!protocols || !*protocols)
		protocols = pr && *pr && strcasecmp(pr, "TLS") ? pr : NULL;
	*tc = (struct tls_conf){
		.key_location = cfg->zookeeper_ssl_keystore_location,
		.key_password = cfg->zookeeper_ssl_keystore_password,
		.trust_location = cfg->zookeeper_ssl_truststore_location,
		.client_auth = TLS_AUTH_NONE,
		.protocols = protocols,
		.ciphers = cfg->zookeeper_ssl_cipher_suites,
	};
	const char *eia = cfg->zookeeper_ssl_endpoint_identification_algorithm;
	*verify_host = eia && *eia;
}

/* The listeners' protocols, the inter-broker listener, and what TLS needs. */
static int kb_config_security(struct kb_config *cfg, const char *file, char *errbuf, size_t errlen)
{
	bool bad;
	kb_ip_override(cfg->max_connections_per_ip_overrides, NULL, &bad);
	if (bad)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'max.connections.per.ip.overrides': expected host:N pairs", file,
			       cfg->max_connections_per_ip_overrides);
	bool any_ssl = false;
	for (int i = 0; i < cfg->n_listeners; i++) {
		struct kb_listener *l = &cfg->listener[i];
		for (int k = 0; k < i; k++)
			if (!strcmp(cfg->listener[k].name, l->name))
				return err_set(errbuf, errlen, ERR_CONFIG, "%s: listener name '%s' is used twice in 'listeners'",
					       file, l->name);
		int rc = kb_listener_security(file, cfg->listener_security_protocol_map, l->name, &l->security, errbuf,
					      errlen);
		if (rc)
			return rc;
		any_ssl |= l->security == KB_SEC_SSL || l->security == KB_SEC_SASL_SSL;
	}
	for (int k = 0; k < cfg->n_adv; k++) {
		bool found = false;
		for (int i = 0; i < cfg->n_listeners; i++)
			found |= !strcmp(cfg->listener[i].name, cfg->adv[k].name);
		if (!found)
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: advertised.listeners names '%s', which is not in 'listeners'", file, cfg->adv[k].name);
	}
	/* Kafka's two ACL authorizers (2.4+ and the older name) are the one samsa has */
	if (cfg->authorizer_class_name && cfg->authorizer_class_name[0] &&
	    strcmp(cfg->authorizer_class_name, "kafka.security.authorizer.AclAuthorizer") &&
	    strcmp(cfg->authorizer_class_name, "kafka.security.auth.SimpleAclAuthorizer"))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: authorizer.class.name '%s' is not kafka.security.authorizer.AclAuthorizer "
			       "(or kafka.security.auth.SimpleAclAuthorizer)", file, cfg->authorizer_class_name);
	/* inter.broker.listener.name, else the first listener of security.inter.broker.protocol */
	cfg->inter_broker_listener = -1;
	const char *ibl = cfg->inter_broker_listener_name;
	if (ibl && *ibl) {
		for (int i = 0; i < cfg->n_listeners; i++)
			if (!strcmp(cfg->listener[i].name, ibl))
				cfg->inter_broker_listener = i;
		if (cfg->inter_broker_listener < 0)
			return err_set(errbuf, errlen, ERR_CONFIG, "%s: inter.broker.listener.name '%s' is not in 'listeners'",
				       file, ibl);
	} else {
		enum kb_security want;
		const char *sp = cfg->security_inter_broker_protocol;
		if (kb_security_parse(sp, strlen(sp), &want))
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for 'security.inter.broker.protocol'", file, sp);
		for (int i = 0; i < cfg->n_listeners && cfg->inter_broker_listener < 0; i++)
			if (cfg->listener[i].security == want)
				cfg->inter_broker_listener = i;
		if (cfg->inter_broker_listener < 0)
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: no listener has security.inter.broker.protocol %s", file, sp);
	}
	/* followers connect to the leaders' inter-broker endpoint as TLS and/or SASL clients
	 * (kfetcher); the control plane then runs over mutual TLS (kctl_chan), which needs TLS: it
	 * cannot authenticate its peers over SASL_PLAINTEXT, so that is refused */
	enum kb_security ibs = cfg->listener[cfg->inter_broker_listener].security;
	if (ibs == KB_SEC_SASL_PLAINTEXT)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: the inter-broker listener '%s' is SASL_PLAINTEXT: inter-broker SASL is supported "
			       "over SASL_SSL only, because the controller's control plane authenticates brokers with "
			       "mutual TLS and could not over SASL_PLAINTEXT (use a SASL_SSL, SSL or PLAINTEXT listener "
			       "for inter.broker.listener.name)",
			       file, cfg->listener[cfg->inter_broker_listener].name);
	if (ibs == KB_SEC_SASL_SSL) {
		enum ksasl_mech m;
		const char *mech = cfg->sasl_mechanism_inter_broker_protocol;
		if (ksasl_mech_parse(mech, strlen(mech), &m))
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for 'sasl.mechanism.inter.broker.protocol': PLAIN, "
				       "SCRAM-SHA-256 or SCRAM-SHA-512",
				       file, mech);
	}
	const char *eia = cfg->ssl_endpoint_identification_algorithm;
	if (eia && *eia && strcasecmp(eia, "https"))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'ssl.endpoint.identification.algorithm': https or empty", file, eia);
	if (!any_ssl)
		return 0;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "ssl.truststore.type" : "ssl.keystore.type";
		const char *t = k ? cfg->ssl_truststore_type : cfg->ssl_keystore_type;
		if (t && *t && strcasecmp(t, "PEM"))
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for '%s': samsa-broker reads PEM stores only (KIP-651); "
				       "convert a %s store to PEM with keytool and openssl",
				       file, t, key, t);
	}
	bool file_key = cfg->ssl_keystore_location && *cfg->ssl_keystore_location;
	bool inline_key = cfg->ssl_keystore_certificate_chain && *cfg->ssl_keystore_certificate_chain &&
			  cfg->ssl_keystore_key && *cfg->ssl_keystore_key;
	if (!file_key && !inline_key)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: an SSL listener needs ssl.keystore.location (a PEM file) or ssl.keystore.certificate.chain "
			       "and ssl.keystore.key",
			       file);
	enum tls_client_auth auth;
	if (tls_client_auth_parse(cfg->ssl_client_auth, TLS_AUTH_NONE, &auth))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'ssl.client.auth': none, requested or required", file,
			       cfg->ssl_client_auth);
	bool trust = (cfg->ssl_truststore_location && *cfg->ssl_truststore_location) ||
		     (cfg->ssl_truststore_certificates && *cfg->ssl_truststore_certificates);
	if (auth != TLS_AUTH_NONE && !trust)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: ssl.client.auth=%s needs ssl.truststore.location or ssl.truststore.certificates", file,
			       cfg->ssl_client_auth);
	return 0;
}

void kb_config_tls(const struct kb_config *cfg, struct tls_conf *tc)
{
	enum tls_client_auth auth = TLS_AUTH_NONE;
	tls_client_auth_parse(cfg->ssl_client_auth, TLS_AUTH_NONE, &auth);
	*tc = (struct tls_conf){
		.key_location = cfg->ssl_keystore_location,
		.cert_pem = cfg->ssl_keystore_certificate_chain,
		.key_pem = cfg->ssl_keystore_key,
		.key_password = cfg->ssl_key_password,
		.trust_location = cfg->ssl_truststore_location,
		.trust_pem = cfg->ssl_truststore_certificates,
		.client_auth = auth,
		.protocols = cfg->ssl_enabled_protocols,
		.ciphers = cfg->ssl_cipher_suites,
	};
}

/* Keeps a listener.name.* key (a later one of the same name replaces it). */
static int kb_config_lname_set(struct kb_config *cfg, const char *key, const char *value)
{
	for (int i = 0; i < cfg->n_lname; i++)
		if (!strcmp(cfg->lname[i].key, key)) {
			char *v = strdup(value);
			if (!v)
				return ERR_NOMEM;
			free(cfg->lname[i].value);
			cfg->lname[i].value = v;
			return 0;
		}
	if (cfg->n_lname >= 4096)
		return ERR_TOOBIG;
	struct kb_kv *n = realloc(cfg->lname, sizeof(*n) * (size_t)(cfg->n_lname + 1));
	if (!n)
		return ERR_NOMEM;
	cfg->lname = n;
	n[cfg->n_lname].key = strdup(key);
	n[cfg->n_lname].value = strdup(value);
	if (!n[cfg->n_lname].key || !n[cfg->n_lname].value) {
		free(n[cfg->n_lname].key);
		free(n[cfg->n_lname].value);
		return ERR_NOMEM;
	}
	cfg->n_lname++;
	return 0;
}

const char *kb_config_listener_prop(const struct kb_config *cfg, int listener, const char *suffix)
{
	if (listener < 0 || listener >= cfg->n_listeners)
		return NULL;
	const char *name = cfg->listener[listener].name;
	size_t nl = strlen(name), pl = strlen("listener.name.");
	for (int i = 0; i < cfg->n_lname; i++) {
		const char *k = cfg->lname[i].key;
		if (strlen(k) > pl + nl + 1 && !strncasecmp(k + pl, name, nl) && k[pl + nl] == '.' &&
		    !strcmp(k + pl + nl + 1, suffix))
			return cfg->lname[i].value;
	}
	return NULL;
}

int kb_config_finish(struct kb_config *cfg, char *errbuf, size_t errlen)
{
	const char *file = cfg->source ? cfg->source : "config";
	int rc = kb_parse_listeners(file, cfg->listeners, cfg->listener, &cfg->n_listeners, errbuf, errlen);
	if (rc)
		return rc;
	if (cfg->n_listeners == 0)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: 'listeners' names no listener", file);
	rc = kb_parse_listeners(file, cfg->advertised_listeners, cfg->adv, &cfg->n_adv, errbuf, errlen);
	if (rc)
		return rc;
	rc = kb_config_zk_ssl(cfg, file, errbuf, errlen);
	if (rc == 0)
		rc = kb_config_security(cfg, file, errbuf, errlen);
	if (rc)
		return rc;
	if (cfg->log_message_timestamp_type && strcmp(cfg->log_message_timestamp_type, "CreateTime") &&
	    strcmp(cfg->log_message_timestamp_type, "LogAppendTime"))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'log.message.timestamp.type': CreateTime or LogAppendTime",
			       file, cfg->log_message_timestamp_type);
	if (!cfg->zookeeper_connect || !cfg->zookeeper_connect[0])
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: 'zookeeper.connect' is required", file);
	if (kb_parse_cleanup_policy(cfg->log_cleanup_policy ? cfg->log_cleanup_policy : "delete", &cfg->cleanup_compact,
				    &cfg->cleanup_no_delete))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'log.cleanup.policy': delete, compact or compact,delete", file,
			       cfg->log_cleanup_policy);
	if (kb_parse_ratio(cfg->log_cleaner_min_cleanable_ratio ? cfg->log_cleaner_min_cleanable_ratio : "0.5",
			   &cfg->cleaner_min_cleanable_ratio))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'log.cleaner.min.cleanable.ratio': a number from 0 to 1", file,
			       cfg->log_cleaner_min_cleanable_ratio);
	return 0;
}

int kb_config_load(const char *path, struct kb_config *cfg, char *errbuf, size_t errlen)
{
	struct props *p = NULL;
	memset(cfg, 0, sizeof(*cfg));
	int rc = props_load_file(path, &p, errbuf, errlen);
	if (rc)
		return rc;
	rc = cfg_apply(kb_config_defs, KB_CONFIG_NDEFS, p, cfg, errbuf, errlen);
	for (size_t i = 0; !rc && i < props_count(p); i++) {
		const char *key, *value;
		int line;
		props_at(p, i, &key, &value, &line);
		if (!strncmp(key, "listener.name.", strlen("listener.name.")))
			rc = kb_config_lname_set(cfg, key, value) ? err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: cannot keep '%s'", path, line, key) : 0;
	}
	props_free(p);
	if (!rc) {
		cfg->source = strdup(path);
		rc = cfg->source ? kb_config_finish(cfg, errbuf, errlen) : ERR_NOMEM;
	}
	if (rc)
		kb_config_free(cfg);
	return rc;
}

int kb_config_override(struct kb_config *cfg, const char *kv, char *errbuf, size_t errlen)
{
	char key[256];
	const char *value;
	int rc = cfg_split_override(kv, key, sizeof(key), &value, errbuf, errlen);
	if (rc)
		return rc;
	if (!strncmp(key, "listener.name.", strlen("listener.name.")))
		return kb_config_lname_set(cfg, key, value) ? err_set(errbuf, errlen, ERR_CONFIG, "cannot keep '%s'", key) : 0;
	return cfg_set(kb_config_defs, KB_CONFIG_NDEFS, cfg, key, value, errbuf, errlen);
}

void kb_config_free(struct kb_config *cfg)
{
	if (!cfg)
		return;
	char *src = cfg->source;
	for (int i = 0; i < cfg->n_lname; i++) {
		free(cfg->lname[i].key);
		free(cfg->lname[i].value);
	}
	free(cfg->lname);
	cfg_free(kb_config_defs, KB_CONFIG_NDEFS, cfg);
	free(src);
	memset(cfg, 0, sizeof(*cfg));
}

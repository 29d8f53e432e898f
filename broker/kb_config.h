/*
 * kb_config — the broker's configuration: Kafka's server.properties key names and defaults,
 * read from a Java-properties file and validated at load (unknown key: warning; bad value:
 * error naming file, line, key and value).
 */
#ifndef SAMSA_KB_CONFIG_H
#define SAMSA_KB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A listener's security protocol (listener.security.protocol.map). */
enum kb_security { KB_SEC_PLAINTEXT, KB_SEC_SSL, KB_SEC_SASL_PLAINTEXT, KB_SEC_SASL_SSL };

struct kb_listener {
	char name[32]; /* PLAINTEXT, ... */
	char host[256]; /* "" = all addresses */
	int port;
	enum kb_security security; /* derived from listener.security.protocol.map */
};

#define KB_MAX_LISTENERS 8

struct kb_config {
	int32_t broker_id;
	char *listeners;
	char *advertised_listeners;
	char *log_dirs;
	char *log_dir;
	int32_t num_partitions;
	int32_t default_replication_factor;
	int32_t min_insync_replicas;
	int32_t log_retention_hours;
	int64_t log_retention_minutes;
	int64_t log_retention_ms;
	int64_t log_retention_bytes;
	int64_t log_segment_bytes;
	int64_t log_roll_ms;
	int32_t log_roll_hours;
	int64_t log_retention_check_interval_ms;
	char *zookeeper_connect;
	int32_t zookeeper_session_timeout_ms;
	int32_t zookeeper_connection_timeout_ms;
	/* TLS to the coordinator (Kafka's zookeeper.ssl.* keys, KIP-515; PEM stores), through the
	 * broker's in-process bridge (broker/zk/kb_zktls) */
	bool zookeeper_ssl_client_enable;
	char *zookeeper_ssl_keystore_location;
	char *zookeeper_ssl_keystore_password;
	char *zookeeper_ssl_keystore_type;
	char *zookeeper_ssl_truststore_location;
	char *zookeeper_ssl_truststore_type;
	char *zookeeper_ssl_endpoint_identification_algorithm;
	char *zookeeper_ssl_protocol;
	char *zookeeper_ssl_enabled_protocols;
	char *zookeeper_ssl_cipher_suites;
	bool zookeeper_ssl_crl_enable;
	bool zookeeper_ssl_ocsp_enable;
	int32_t num_network_threads;
	int32_t num_io_threads;
	int32_t socket_send_buffer_bytes;
	int32_t socket_receive_buffer_bytes;
	int32_t socket_request_max_bytes;
	int32_t num_recovery_threads_per_data_dir;
	int32_t offsets_topic_replication_factor;
	int32_t transaction_state_log_replication_factor;
	int32_t transaction_state_log_min_isr;
	int32_t transaction_state_log_num_partitions;
	int32_t transaction_state_log_segment_bytes;
	int32_t transaction_max_timeout_ms;
	int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms;
	int32_t transactional_id_expiration_ms;
	int32_t transaction_remove_expired_transaction_cleanup_interval_ms;
	int32_t offsets_topic_num_partitions;
	int32_t offsets_topic_segment_bytes;
	int32_t offsets_commit_timeout_ms;
	int32_t offsets_retention_minutes;
	int64_t offsets_retention_check_interval_ms;
	int32_t offset_metadata_max_bytes;
	int32_t group_initial_rebalance_delay_ms;
	int32_t group_min_session_timeout_ms;
	int32_t group_max_session_timeout_ms;
	int32_t group_max_size;
	int32_t message_max_bytes;
	bool auto_create_topics_enable;
	bool delete_topic_enable;
	bool unclean_leader_election_enable;
	bool controlled_shutdown_enable;
	int32_t controlled_shutdown_max_retries;
	int64_t controlled_shutdown_retry_backoff_ms;
	bool auto_leader_rebalance_enable;
	int32_t leader_imbalance_per_broker_percentage;
	int64_t leader_imbalance_check_interval_seconds;
	int64_t replica_lag_time_max_ms;
	int64_t replica_hw_checkpoint_interval_ms;
	int64_t producer_id_expiration_ms;
	int64_t log_flush_interval_messages;
	int64_t log_flush_interval_ms;
	int64_t log_flush_scheduler_interval_ms;
	int32_t log_index_interval_bytes;
	int32_t log_index_size_max_bytes;
	char *log_message_timestamp_type;
	char *log_cleanup_policy;
	bool log_cleaner_enable;
	int64_t log_cleaner_backoff_ms;
	int64_t log_cleaner_dedupe_buffer_size;
	int64_t log_cleaner_delete_retention_ms;
	int64_t log_cleaner_min_compaction_lag_ms;
	char *log_cleaner_min_cleanable_ratio;
	int32_t log_cleaner_threads;
	char *log_level;
	int32_t control_plane_listener_port; /* -1: kctl_default_port(first listener's port) */
	int32_t http_port;		     /* samsa.http.port: /metrics, -1 off */
	char *http_host;		     /* samsa.http.host: "" every address */
	int32_t max_connections_per_ip;	       /* max.connections.per.ip */
	char *max_connections_per_ip_overrides; /* max.connections.per.ip.overrides: "ip:N,..." */
	int32_t max_connections;	       /* max.connections: client connections in all */
	char *listener_security_protocol_map;
	char *inter_broker_listener_name;
	char *security_inter_broker_protocol;
	/* TLS of the SSL listeners (Kafka's ssl.* keys; PEM stores, KIP-651) */
	char *ssl_keystore_type;
	char *ssl_keystore_location;
	char *ssl_keystore_certificate_chain;
	char *ssl_keystore_key;
	char *ssl_key_password;
	char *ssl_truststore_type;
	char *ssl_truststore_location;
	char *ssl_truststore_certificates;
	char *ssl_client_auth;
	char *ssl_enabled_protocols;
	char *ssl_cipher_suites;
	char *ssl_endpoint_identification_algorithm; /* "https" (check the leader's name) or "" */
	/* SASL of the SASL_PLAINTEXT / SASL_SSL listeners (api/ksauth reads them at start) */
	char *sasl_enabled_mechanisms;
	char *sasl_mechanism_inter_broker_protocol; /* the broker's own SASL client mechanism */
	int32_t sasl_auth_timeout_ms; /* samsa.sasl.auth.timeout.ms (hidden): a connection not
					 authenticated by then is closed */
	/* the listener.name.<listener>.* keys as written (Kafka's per-listener overrides, e.g.
	 * listener.name.sasl_plaintext.plain.sasl.jaas.config); cfg_apply keeps fixed keys only */
	struct kb_kv {
		char *key, *value;
	} *lname;
	int n_lname;
	/* authorization (kb_acl) */
	char *authorizer_class_name; /* "" or Kafka's AclAuthorizer / SimpleAclAuthorizer */
	char *super_users;
	bool allow_everyone_if_no_acl_found;
	char *source;
	/* derived */
	int inter_broker_listener; /* index into listener[] of inter.broker.listener.name */
	struct kb_listener listener[KB_MAX_LISTENERS];
	int n_listeners;
	struct kb_listener adv[KB_MAX_LISTENERS]; /* advertised.listeners */
	int n_adv;
	/* log.cleanup.policy and log.cleaner.min.cleanable.ratio, parsed */
	bool cleanup_compact, cleanup_no_delete;
	double cleaner_min_cleanable_ratio;
};

/* Reads and validates; ERR_CONFIG/ERR_IO with text on failure. Free with kb_config_free. */
int kb_config_load(const char *path, struct kb_config *cfg, char *errbuf, size_t errlen);
int kb_config_override(struct kb_config *cfg, const char *kv, char *errbuf, size_t errlen);
/* Parses listeners ("PLAINTEXT://host:port,...") into cfg->listener; called by load. */
int kb_config_finish(struct kb_config *cfg, char *errbuf, size_t errlen);
void kb_config_free(struct kb_config *cfg);
/* "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL". */
const char *kb_security_name(enum kb_security s);
/* The advertised endpoint of listener i (advertised.listeners' entry of the same name, else the
 * listener itself): host ("" when neither names one) and port (0: the bound port). */
const struct kb_listener *kb_config_advertised(const struct kb_config *cfg, int i);
/* The connection limit of client address ip (max.connections.per.ip, or its entry in
 * max.connections.per.ip.overrides). */
int32_t kb_config_ip_limit(const struct kb_config *cfg, const char *ip);
/* The value of listener `listener`'s override "listener.name.<name>.<suffix>" (the name in any
 * case, as Kafka lower-cases it), else NULL. */
const char *kb_config_listener_prop(const struct kb_config *cfg, int listener, const char *suffix);
/* The TLS settings of the SSL listeners as a tls_conf (strings point into cfg). */
struct tls_conf;
void kb_config_tls(const struct kb_config *cfg, struct tls_conf *tc);
/* The TLS settings of the coordinator connection (zookeeper.ssl.*) as a client tls_conf
 * (strings point into cfg), and whether the coordinator's host name is checked. */
void kb_config_zk_tls(const struct kb_config *cfg, struct tls_conf *tc, bool *verify_host);

/* cleanup.policy, a list ("delete", "compact", "compact,delete" in either order): *compact and
 * *no_delete (the policy lacks delete); -1 for any other value (nothing set). */
int kb_parse_cleanup_policy(const char *v, bool *compact, bool *no_delete);
/* A ratio in [0, 1] (min.cleanable.dirty.ratio); -1 if v is not one (nothing set). */
int kb_parse_ratio(const char *v, double *out);

#endif

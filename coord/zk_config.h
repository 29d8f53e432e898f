/*
 * zk_config — the coordinator's configuration: ZooKeeper's own key names and defaults
 * (zoo.cfg / Kafka's config/zookeeper.properties), read from a Java-properties file and
 * validated at load. Unknown keys are warnings; a bad value stops the start with a message
 * naming file, line, key and value.
 */
#ifndef SAMSA_ZK_CONFIG_H
#define SAMSA_ZK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct props;
struct wbuf;

#define ZK_MAX_SERVERS 16

/* metricsProvider.className values: ZooKeeper's default (figures in mntr only) and its
 * Prometheus provider (/metrics over HTTP, zk_metrics) */
#define ZK_METRICS_DEFAULT_PROVIDER "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"
#define ZK_METRICS_PROMETHEUS_PROVIDER "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

/* One server.N line: host:peerPort:electionPort[:participant|observer][;[clientHost:]clientPort] */
struct zk_quorum_server {
	uint64_t id;
	char host[256];
	int peer_port;
	int election_port; /* accepted; samsa elects on the peer port */
	bool observer;
	char client_host[256]; /* "" when not given */
	int client_port;       /* 0 when not given */
};

struct zk_config {
	int32_t tick_time;	     /* tickTime, ms */
	int32_t init_limit;	     /* initLimit, ticks (quorum) */
	int32_t sync_limit;	     /* syncLimit, ticks (quorum) */
	char *data_dir;		     /* dataDir (required) */
	char *data_log_dir;	     /* dataLogDir (default: dataDir) */
	int32_t client_port;	     /* clientPort */
	char *client_port_address;   /* clientPortAddress (default all addresses) */
	int32_t max_client_cnxns;    /* maxClientCnxns per client IP, 0 = no limit */
	int32_t min_session_timeout; /* minSessionTimeout, ms; -1 = 2 * tickTime */
	int32_t max_session_timeout; /* maxSessionTimeout, ms; -1 = 20 * tickTime */
	int32_t snap_retain_count;   /* autopurge.snapRetainCount (min 3) */
	int32_t purge_interval;	     /* autopurge.purgeInterval, hours; 0 = off */
	char *four_letter_words;     /* 4lw.commands.whitelist */
	int32_t jute_maxbuffer;	     /* jute.maxbuffer: largest request frame */
	int32_t snap_count;	     /* snapCount: txns between snapshots */
	int64_t prealloc_kb;	     /* preAllocSize, KiB */
	bool force_sync;	     /* forceSync (yes/no) */
	int32_t global_outstanding_limit; /* globalOutstandingLimit */
	int64_t container_check_ms;  /* znode.container.checkIntervalMs */
	bool reconfig_enabled;	     /* reconfigEnabled */
	bool standalone_enabled;     /* standaloneEnabled */
	bool extended_types_enabled; /* extendedTypesEnabled: TTL nodes (ZooKeeper's zookeeper.extendedTypesEnabled) */
	bool admin_enable_server;    /* admin.enableServer: the AdminServer (zk_admin); default false */
	char *admin_server_address;  /* admin.serverAddress */
	int32_t admin_server_port;   /* admin.serverPort */
	char *admin_command_url;     /* admin.commandURL ("/commands") */
	int32_t admin_idle_timeout_ms; /* admin.idleTimeout */
	char *metrics_class;	     /* metricsProvider.className */
	bool metrics_prometheus;     /* derived: the class is ZooKeeper's Prometheus provider */
	char *metrics_http_host;     /* metricsProvider.httpHost */
	int32_t metrics_http_port;   /* metricsProvider.httpPort */
	/* TLS for clients (ZooKeeper's secureClientPort and ssl.* keys; PEM keystores only) */
	int32_t secure_client_port;	     /* secureClientPort, -1: none */
	char *secure_client_port_address;    /* secureClientPortAddress (default clientPortAddress) */
	char *ssl_keystore_location;	     /* ssl.keyStore.location: PEM key and certificate chain */
	char *ssl_keystore_password;	     /* ssl.keyStore.password: of an encrypted key */
	char *ssl_keystore_type;	     /* ssl.keyStore.type: PEM (or unset with a .pem file) */
	char *ssl_truststore_location;	     /* ssl.trustStore.location: PEM CA certificates */
	char *ssl_truststore_type;	     /* ssl.trustStore.type: PEM */
	char *ssl_client_auth;		     /* ssl.clientAuth: none, want, need (ZooKeeper's default) */
	char *ssl_enabled_protocols;	     /* ssl.enabledProtocols: TLSv1.2,TLSv1.3 */
	char *ssl_ciphersuites;		     /* ssl.ciphersuites */
	/* TLS between the servers (ZooKeeper's sslQuorum and ssl.quorum.* keys; PEM stores only) */
	bool ssl_quorum;		     /* sslQuorum */
	bool ssl_quorum_hostname_verification; /* ssl.quorum.hostnameVerification: a peer's certificate must name its server.N host */
	char *ssl_quorum_keystore_location;  /* ssl.quorum.keyStore.location */
	char *ssl_quorum_keystore_password;  /* ssl.quorum.keyStore.password */
	char *ssl_quorum_keystore_type;	     /* ssl.quorum.keyStore.type */
	char *ssl_quorum_truststore_location; /* ssl.quorum.trustStore.location */
	char *ssl_quorum_truststore_type;    /* ssl.quorum.trustStore.type */
	char *ssl_quorum_enabled_protocols;  /* ssl.quorum.enabledProtocols */
	char *ssl_quorum_ciphersuites;	     /* ssl.quorum.ciphersuites */
	char *jaas_config;		     /* java.security.auth.login.config: the JAAS file of SASL's users */
	char *log_level;	     /* samsa: log level (INFO) */
	int32_t election_timeout_ms; /* samsa.electionTimeoutMs: Raft's election timeout (min) */
	/* the ensemble: server.N lines and dataDir/myid (n_servers < 2: standalone) */
	struct zk_quorum_server servers[ZK_MAX_SERVERS];
	int n_servers;
	uint64_t myid;
	char *source;		     /* the file it was read from */
};

/* Reads and validates a properties file. On failure returns ERR_CONFIG/ERR_IO with text
 * naming file, line, key and value; *cfg is then freed. Ownership: zk_config_free(cfg). */
int zk_config_load(const char *path, struct zk_config *cfg, char *errbuf, size_t errlen);
/* Applies "key=value" overrides (command line), same checks. */
int zk_config_override(struct zk_config *cfg, const char *kv, char *errbuf, size_t errlen);
/* Derived values filled after load (session timeout bounds, dataLogDir). */
int zk_config_finish(struct zk_config *cfg, char *errbuf, size_t errlen);
void zk_config_free(struct zk_config *cfg);
/* Parses one "server.N" key and its value (as in the file, or in a reconfig's joining list);
 * file and line only name the place in errors. */
int zk_config_server(const char *file, int line, const char *key, const char *v, struct zk_quorum_server *sv,
		     char *errbuf, size_t errlen);
/* The lines of the `conf` four-letter word that every server has, as ZooKeeper 3.8's
 * ZooKeeperServer.dumpConf prints them (clientPort .. serverId); the sizes are the bytes under
 * dataDir/version-2 and dataLogDir/version-2. */
int zk_config_format(const struct zk_config *cfg, uint64_t server_id, int64_t data_dir_size,
		     int64_t data_log_size, struct wbuf *w);

#endif

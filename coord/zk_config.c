/*
 * zk_config — the coordinator's config table (see zk_config.h).
 */
#include "zk_config.h"

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "props.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZK_CFG_OFF(f) offsetof(struct zk_config, f)

/* forceSync is "yes"/"no" in ZooKeeper; kept as a string in the table, checked in finish. */
struct zk_config_raw {
	struct zk_config c;
	char *force_sync_s;
	char *reconfig_s;
	char *standalone_s;
	char *extended_types_s;
	char *admin_s;
	char *ssl_quorum_s;
	char *ssl_quorum_hostname_s;
};

#define ZK_RAW_OFF(f) offsetof(struct zk_config_raw, f)

static const struct cfg_def zk_config_defs[] = {
	{ "tickTime", CFG_INT, 1, 600000, "2000", ZK_CFG_OFF(tick_time), 0, "basic time unit, ms" },
	{ "initLimit", CFG_INT, 1, 100000, "10", ZK_CFG_OFF(init_limit), 0, "ticks a follower may take to connect and sync" },
	{ "syncLimit", CFG_INT, 1, 100000, "5", ZK_CFG_OFF(sync_limit), 0, "ticks a follower may lag" },
	{ "dataDir", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(data_dir), CFG_REQUIRED, "snapshots (and the log unless dataLogDir)" },
	{ "dataLogDir", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(data_log_dir), 0, "transaction log" },
	{ "clientPort", CFG_INT, 0, 65535, "2181", ZK_CFG_OFF(client_port), 0, "client port" },
	{ "clientPortAddress", CFG_STRING, 0, 0, "0.0.0.0", ZK_CFG_OFF(client_port_address), 0, "client listen address" },
	{ "maxClientCnxns", CFG_INT, 0, 1000000, "60", ZK_CFG_OFF(max_client_cnxns), 0, "connections per client IP, 0 = unlimited" },
	{ "minSessionTimeout", CFG_INT, -1, INT32_MAX, "-1", ZK_CFG_OFF(min_session_timeout), 0, "ms, -1 = 2 * tickTime" },
	{ "maxSessionTimeout", CFG_INT, -1, INT32_MAX, "-1", ZK_CFG_OFF(max_session_timeout), 0, "ms, -1 = 20 * tickTime" },
	{ "autopurge.snapRetainCount", CFG_INT, 3, 1000000, "3", ZK_CFG_OFF(snap_retain_count), 0, "snapshots kept by purge" },
	{ "autopurge.purgeInterval", CFG_INT, 0, 100000, "0", ZK_CFG_OFF(purge_interval), 0, "hours between purges, 0 = off" },
	{ "4lw.commands.whitelist", CFG_STRING, 0, 0, "srvr", ZK_CFG_OFF(four_letter_words), 0, "four-letter words allowed, * = all" },
	{ "jute.maxbuffer", CFG_INT, 1024, INT32_MAX, "1048575", ZK_CFG_OFF(jute_maxbuffer), 0, "largest request, bytes" },
	{ "snapCount", CFG_INT, 2, INT32_MAX, "100000", ZK_CFG_OFF(snap_count), 0, "txns between snapshots" },
	{ "preAllocSize", CFG_LONG, 1, 16777216, "65536", ZK_CFG_OFF(prealloc_kb), 0, "log preallocation, KiB" },
	{ "forceSync", CFG_STRING, 0, 0, "yes", ZK_RAW_OFF(force_sync_s), 0, "fsync the log before acknowledging (yes/no)" },
	{ "globalOutstandingLimit", CFG_INT, 1, INT32_MAX, "1000", ZK_CFG_OFF(global_outstanding_limit), 0, "requests queued before reading pauses" },
	{ "znode.container.checkIntervalMs", CFG_LONG, 1, INT32_MAX, "60000", ZK_CFG_OFF(container_check_ms), 0, "container reaper period" },
	{ "reconfigEnabled", CFG_STRING, 0, 0, "false", ZK_RAW_OFF(reconfig_s), 0, "dynamic reconfiguration" },
	{ "standaloneEnabled", CFG_STRING, 0, 0, "true", ZK_RAW_OFF(standalone_s), 0, "allow standalone mode" },
	{ "extendedTypesEnabled", CFG_STRING, 0, 0, "false", ZK_RAW_OFF(extended_types_s), 0, "TTL nodes (createTTL) and their reaper" },
	{ "admin.enableServer", CFG_STRING, 0, 0, "false", ZK_RAW_OFF(admin_s), 0, "AdminServer over HTTP (ZooKeeper's default is true)" },
	{ "admin.serverAddress", CFG_STRING, 0, 0, "0.0.0.0", ZK_CFG_OFF(admin_server_address), 0, "AdminServer listen address" },
	{ "admin.serverPort", CFG_INT, 0, 65535, "8080", ZK_CFG_OFF(admin_server_port), 0, "AdminServer port" },
	{ "admin.commandURL", CFG_STRING, 0, 0, "/commands", ZK_CFG_OFF(admin_command_url), 0, "AdminServer's path of the commands" },
	{ "admin.idleTimeout", CFG_INT, 1, INT32_MAX, "30000", ZK_CFG_OFF(admin_idle_timeout_ms), 0, "AdminServer idle connection timeout, ms" },
	{ "metricsProvider.className", CFG_STRING, 0, 0, ZK_METRICS_DEFAULT_PROVIDER, ZK_CFG_OFF(metrics_class), 0, "metrics provider: ZooKeeper's Prometheus provider serves /metrics" },
	{ "metricsProvider.httpHost", CFG_STRING, 0, 0, "0.0.0.0", ZK_CFG_OFF(metrics_http_host), 0, "/metrics listen address" },
	{ "metricsProvider.httpPort", CFG_INT, 0, 65535, "7000", ZK_CFG_OFF(metrics_http_port), 0, "/metrics port" },
	{ "secureClientPort", CFG_INT, -1, 65535, "-1", ZK_CFG_OFF(secure_client_port), 0, "TLS client port, -1 = none" },
	{ "secureClientPortAddress", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(secure_client_port_address), 0, "TLS client listen address (default clientPortAddress)" },
	{ "ssl.keyStore.location", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_keystore_location), 0, "PEM file: private key and certificate chain" },
	{ "ssl.keyStore.password", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_keystore_password), 0, "password of an encrypted key" },
	{ "ssl.keyStore.type", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_keystore_type), 0, "PEM" },
	{ "ssl.trustStore.location", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_truststore_location), 0, "PEM file: trusted CA certificates" },
	{ "ssl.trustStore.type", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_truststore_type), 0, "PEM" },
	{ "ssl.clientAuth", CFG_STRING, 0, 0, "need", ZK_CFG_OFF(ssl_client_auth), 0, "client certificates: none, want, need" },
	{ "ssl.enabledProtocols", CFG_STRING, 0, 0, "TLSv1.2,TLSv1.3", ZK_CFG_OFF(ssl_enabled_protocols), 0, "TLS versions" },
	{ "ssl.ciphersuites", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_ciphersuites), 0, "cipher suites (default: OpenSSL's)" },
	{ "java.security.auth.login.config", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(jaas_config), 0, "JAAS file whose Server section holds SASL's users (ZooKeeper: a JVM system property; also read from -D in SERVER_JVMFLAGS, KAFKA_OPTS, JVMFLAGS)" },
	{ "sslQuorum", CFG_STRING, 0, 0, "false", ZK_RAW_OFF(ssl_quorum_s), 0, "TLS between the servers" },
	{ "ssl.quorum.hostnameVerification", CFG_STRING, 0, 0, "true", ZK_RAW_OFF(ssl_quorum_hostname_s), 0, "a peer's certificate must name its server.N host" },
	{ "ssl.quorum.keyStore.location", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_keystore_location), 0, "PEM file: this server's key and certificate chain" },
	{ "ssl.quorum.keyStore.password", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_keystore_password), 0, "password of an encrypted key" },
	{ "ssl.quorum.keyStore.type", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_keystore_type), 0, "PEM" },
	{ "ssl.quorum.trustStore.location", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_truststore_location), 0, "PEM file: the CAs peers' certificates are verified against" },
	{ "ssl.quorum.trustStore.type", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_truststore_type), 0, "PEM" },
	{ "ssl.quorum.enabledProtocols", CFG_STRING, 0, 0, "TLSv1.2,TLSv1.3", ZK_CFG_OFF(ssl_quorum_enabled_protocols), 0, "TLS versions between servers" },
	{ "ssl.quorum.ciphersuites", CFG_STRING, 0, 0, NULL, ZK_CFG_OFF(ssl_quorum_ciphersuites), 0, "cipher suites between servers" },
	{ "ssl.quorum.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "other quorum TLS keys (trustStore.password, protocol, clientAuth: peers always show certificates)" },
	{ "sslQuorumReloadCertFiles", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "samsa reloads changed files itself" },
	{ "portUnification", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "plaintext and TLS on one port: not served" },
	{ "ssl.protocol", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "the JSSE context protocol (samsa uses ssl.enabledProtocols)" },
	{ "ssl.trustStore.password", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "not needed for a PEM truststore" },
	{ "ssl.hostnameVerification", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "client-side check; the server does not verify client names" },
	{ "serverCnxnFactory", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "ZooKeeper needs Netty for TLS; samsa serves TLS itself" },
	{ "authProvider.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "auth providers (x509 and digest are built in)" },
	{ "samsa.log.level", CFG_STRING, 0, 0, "INFO", ZK_CFG_OFF(log_level), 0, "TRACE, DEBUG, INFO, WARN, ERROR" },
	/* keys ZooKeeper accepts that matter only to an ensemble or to features not built yet */
	{ "server.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "ensemble members" },
	{ "samsa.electionTimeoutMs", CFG_INT, 50, 600000, "500", ZK_CFG_OFF(election_timeout_ms), 0, "Raft election timeout (ms)" },
	{ "group.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "hierarchical quorum groups" },
	{ "weight.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "hierarchical quorum weights" },
	{ "metricsProvider.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "metrics provider" },
	{ "electionAlg", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "leader election algorithm" },
	{ "peerType", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "participant or observer" },
	{ "quorumListenOnAllIPs", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "peer ports on all addresses" },
};

#define ZK_CONFIG_NDEFS (sizeof(zk_config_defs) / sizeof(zk_config_defs[0]))

static int zk_config_bool(const char *file, const char *key, const char *v, bool *out, char *errbuf,
			  size_t errlen)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false")) {
		*out = false;
		return 0;
	}
	return err_set(errbuf, errlen, ERR_CONFIG, "%s: invalid value '%s' for '%s': expected yes/no or true/false",
		       file, v, key);
}

static void zk_config_raw_free(struct zk_config_raw *raw)
{
	cfg_free(zk_config_defs, ZK_CONFIG_NDEFS, raw);
}

int zk_config_server(const char *file, int line, const char *key, const char *v, struct zk_quorum_server *sv,
		     char *errbuf, size_t errlen)
{
	char buf[600];
	char *end;
	memset(sv, 0, sizeof(*sv));
	long id = strtol(key + 7, &end, 10);
	if (*end || end == key + 7 || id < 1 || id > 254)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: invalid key '%s': N in server.N must be 1-254",
			       file, line, key);
	sv->id = (uint64_t)id;
	if (strlen(v) >= sizeof(buf))
		return err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: value of '%s' too long", file, line, key);
	strcpy(buf, v);
	char *client = strchr(buf, ';');
	if (client)
		*client++ = '\0';
	/* host:peerPort:electionPort[:role]; host may be [v6] */
	char *host = buf, *rest;
	if (host[0] == '[') {
		char *rb = strchr(host, ']');
		if (!rb || rb[1] != ':')
			goto bad;
		*rb = '\0';
		host++;
		rest = rb + 2;
	} else {
		rest = strchr(host, ':');
		if (!rest)
			goto bad;
		*rest++ = '\0';
	}
	char *ep = strchr(rest, ':');
	if (!ep)
		goto bad;
	*ep++ = '\0';
	char *role = strchr(ep, ':');
	if (role)
		*role++ = '\0';
	long pp = strtol(rest, &end, 10);
	if (*end || pp < 1 || pp > 65535)
		goto bad;
	long el = strtol(ep, &end, 10);
	if (*end || el < 1 || el > 65535)
		goto bad;
	if (role && strcmp(role, "participant") && strcmp(role, "observer"))
		goto bad;
	if (!host[0] || strlen(host) >= sizeof(sv->host))
		goto bad;
	strcpy(sv->host, host);
	sv->peer_port = (int)pp;
	sv->election_port = (int)el;
	sv->observer = role && !strcmp(role, "observer");
	if (client && *client) {
		char *colon = strrchr(client, ':');
		char *port = client;
		if (colon) {
			*colon = '\0';
			port = colon + 1;
			if (strlen(client) >= sizeof(sv->client_host))
				goto bad;
			strcpy(sv->client_host, client);
		}
		long cp = strtol(port, &end, 10);
		if (*end || cp < 1 || cp > 65535)
			goto bad;
		sv->client_port = (int)cp;
	}
	return 0;
bad:
	return err_set(errbuf, errlen, ERR_CONFIG,
		       "%s:%d: invalid value '%s' for '%s': expected host:peerPort:electionPort[:participant|observer][;[clientHost:]clientPort]",
		       file, line, v, key);
}

/* The server.N lines of p into cfg (sorted by id); duplicates are an error. */
static int zk_config_servers(struct zk_config *cfg, const struct props *p, const char *file, char *errbuf,
			     size_t errlen)
{
	cfg->n_servers = 0;
	for (size_t i = 0; i < props_count(p); i++) {
		const char *k, *v;
		int line;
		if (props_at(p, i, &k, &v, &line) || strncmp(k, "server.", 7))
			continue;
		if (cfg->n_servers == ZK_MAX_SERVERS)
			return err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: more than %d servers", file, line, ZK_MAX_SERVERS);
		struct zk_quorum_server sv;
		int rc = zk_config_server(file, line, k, v, &sv, errbuf, errlen);
		if (rc)
			return rc;
		for (int j = 0; j < cfg->n_servers; j++)
			if (cfg->servers[j].id == sv.id)
				return err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: server.%llu is given twice", file, line,
					       (unsigned long long)sv.id);
		int at = cfg->n_servers++;
		while (at > 0 && cfg->servers[at - 1].id > sv.id) {
			cfg->servers[at] = cfg->servers[at - 1];
			at--;
		}
		cfg->servers[at] = sv;
	}
	return 0;
}

/* dataDir/myid: the id of this server among the server.N lines. */
static int zk_config_myid(struct zk_config *cfg, const char *file, char *errbuf, size_t errlen)
{
	char path[4200], buf[64];
	snprintf(path, sizeof(path), "%s/myid", cfg->data_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: %d servers are configured but %s cannot be read: %s",
			       file, cfg->n_servers, path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end;
	long id = strtol(buf, &end, 10);
	while (*end == '\n' || *end == '\r' || *end == ' ')
		end++;
	if (*end || end == buf || id < 1 || id > 254)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: invalid server id '%s' in %s", file, buf, path);
	cfg->myid = (uint64_t)id;
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == cfg->myid)
			return 0;
	return err_set(errbuf, errlen, ERR_CONFIG, "%s: myid %ld (from %s) has no server.%ld line", file, id, path, id);
}

/* A store type other than PEM: ZooKeeper's JKS and PKCS12 stores need Java; samsa reads PEM
 * (ZooKeeper's own PEM support, ZOOKEEPER-3172), and says how to convert. */
static int zk_config_store_type(const char *file, const char *key, const char *type, const char *location,
				char *errbuf, size_t errlen)
{
	if (type && *type) {
		if (!strcasecmp(type, "PEM"))
			return 0;
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for '%s': samsa-coord reads PEM stores only (convert a %s store "
			       "with 'openssl pkcs12 -nodes' or 'keytool -importkeystore' + openssl)",
			       file, type, key, type);
	}
	size_t n = location ? strlen(location) : 0;
	if (n >= 4 && (!strcasecmp(location + n - 4, ".jks") || !strcasecmp(location + n - 4, ".p12") ||
		       (n >= 4 && !strcasecmp(location + n - 4, ".pfx"))))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: '%s' looks like a Java or PKCS#12 store; samsa-coord reads PEM stores only "
			       "(set %s=PEM with a PEM file)",
			       file, location, key);
	return 0;
}

/* secureClientPort's settings: a PEM keystore, a PEM truststore when clients are verified. */
static int zk_config_tls(struct zk_config *cfg, const char *file, char *errbuf, size_t errlen)
{
	if (!cfg->ssl_keystore_location || !*cfg->ssl_keystore_location)
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: secureClientPort needs ssl.keyStore.location (a PEM file)",
			       file);
	int rc = zk_config_store_type(file, "ssl.keyStore.type", cfg->ssl_keystore_type, cfg->ssl_keystore_location,
				      errbuf, errlen);
	if (!rc)
		rc = zk_config_store_type(file, "ssl.trustStore.type", cfg->ssl_truststore_type,
					  cfg->ssl_truststore_location, errbuf, errlen);
	if (rc)
		return rc;
	const char *a = cfg->ssl_client_auth;
	if (strcasecmp(a, "none") && strcasecmp(a, "want") && strcasecmp(a, "need"))
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: invalid value '%s' for 'ssl.clientAuth': none, want or need",
			       file, a);
	if (strcasecmp(a, "none") && (!cfg->ssl_truststore_location || !*cfg->ssl_truststore_location))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: ssl.clientAuth=%s needs ssl.trustStore.location (a PEM file of trusted CAs)", file, a);
	if (!cfg->secure_client_port_address || !*cfg->secure_client_port_address) {
		free(cfg->secure_client_port_address);
		cfg->secure_client_port_address = strdup(cfg->client_port_address);
		if (!cfg->secure_client_port_address)
			return ERR_NOMEM;
	}
	return 0;
}

int zk_config_finish(struct zk_config *cfg, char *errbuf, size_t errlen)
{
	const char *file = cfg->source ? cfg->source : "config";
	if (!cfg->data_log_dir || !cfg->data_log_dir[0]) {
		free(cfg->data_log_dir);
		cfg->data_log_dir = strdup(cfg->data_dir);
		if (!cfg->data_log_dir)
			return ERR_NOMEM;
	}
	if (cfg->min_session_timeout == -1)
		cfg->min_session_timeout = 2 * cfg->tick_time;
	if (cfg->max_session_timeout == -1)
		cfg->max_session_timeout = 20 * cfg->tick_time;
	if (cfg->min_session_timeout > cfg->max_session_timeout)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: minSessionTimeout (%d) must not be larger than maxSessionTimeout (%d)",
			       file, cfg->min_session_timeout, cfg->max_session_timeout);
	cfg->metrics_prometheus = !strcmp(cfg->metrics_class, ZK_METRICS_PROMETHEUS_PROVIDER);
	if (!cfg->metrics_prometheus && strcmp(cfg->metrics_class, ZK_METRICS_DEFAULT_PROVIDER))
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'metricsProvider.className': samsa-coord provides "
			       "%s (/metrics over HTTP) and %s (mntr only)",
			       file, cfg->metrics_class, ZK_METRICS_PROMETHEUS_PROVIDER, ZK_METRICS_DEFAULT_PROVIDER);
	if (cfg->admin_command_url[0] != '/' || strlen(cfg->admin_command_url) > 100)
		return err_set(errbuf, errlen, ERR_CONFIG,
			       "%s: invalid value '%s' for 'admin.commandURL': a path starting with '/', at most "
			       "100 characters",
			       file, cfg->admin_command_url);
	if (cfg->secure_client_port >= 0) {
		int rc = zk_config_tls(cfg, file, errbuf, errlen);
		if (rc)
			return rc;
	}
	if (!cfg->jaas_config) {
		/* ZooKeeper takes it as a JVM system property: zkServer.sh's SERVER_JVMFLAGS, Kafka's
		 * KAFKA_OPTS for zookeeper-server-start.sh */
		static const char *const vars[] = { "SERVER_JVMFLAGS", "KAFKA_OPTS", "JVMFLAGS" };
		static const char prop[] = "-Djava.security.auth.login.config=";
		for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !cfg->jaas_config; i++) {
			const char *v = getenv(vars[i]);
			const char *at = v ? strstr(v, prop) : NULL;
			if (at) {
				at += sizeof(prop) - 1;
				cfg->jaas_config = strndup(at, strcspn(at, " \t"));
				if (!cfg->jaas_config)
					return ERR_NOMEM;
			}
		}
	}
	if (cfg->ssl_quorum) {
		if (!cfg->ssl_quorum_keystore_location || !*cfg->ssl_quorum_keystore_location ||
		    !cfg->ssl_quorum_truststore_location || !*cfg->ssl_quorum_truststore_location)
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: sslQuorum=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location "
				       "(PEM files)",
				       file);
		int rc = zk_config_store_type(file, "ssl.quorum.keyStore.type", cfg->ssl_quorum_keystore_type,
					      cfg->ssl_quorum_keystore_location, errbuf, errlen);
		if (!rc)
			rc = zk_config_store_type(file, "ssl.quorum.trustStore.type", cfg->ssl_quorum_truststore_type,
						  cfg->ssl_quorum_truststore_location, errbuf, errlen);
		if (rc)
			return rc;
	}
	if (cfg->n_servers >= 2 || (cfg->n_servers == 1 && !cfg->standalone_enabled))
		return zk_config_myid(cfg, file, errbuf, errlen);
	return 0;
}

int zk_config_load(const char *path, struct zk_config *cfg, char *errbuf, size_t errlen)
{
	struct props *p = NULL;
	struct zk_config_raw raw;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&raw, 0, sizeof(raw));
	rc = props_load_file(path, &p, errbuf, errlen);
	if (rc)
		return rc;
	rc = cfg_apply(zk_config_defs, ZK_CONFIG_NDEFS, p, &raw, errbuf, errlen);
	if (!rc)
		rc = zk_config_servers(&raw.c, p, path, errbuf, errlen);
	props_free(p);
	if (rc)
		goto fail;
	rc = zk_config_bool(path, "forceSync", raw.force_sync_s, &raw.c.force_sync, errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "reconfigEnabled", raw.reconfig_s, &raw.c.reconfig_enabled, errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "standaloneEnabled", raw.standalone_s, &raw.c.standalone_enabled, errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "extendedTypesEnabled", raw.extended_types_s, &raw.c.extended_types_enabled,
				    errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "admin.enableServer", raw.admin_s, &raw.c.admin_enable_server, errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "sslQuorum", raw.ssl_quorum_s, &raw.c.ssl_quorum, errbuf, errlen);
	if (!rc)
		rc = zk_config_bool(path, "ssl.quorum.hostnameVerification", raw.ssl_quorum_hostname_s,
				    &raw.c.ssl_quorum_hostname_verification, errbuf, errlen);
	if (rc)
		goto fail;
	*cfg = raw.c;
	/* the yes/no strings are not needed any more */
	free(raw.force_sync_s);
	free(raw.reconfig_s);
	free(raw.standalone_s);
	free(raw.extended_types_s);
	free(raw.admin_s);
	free(raw.ssl_quorum_s);
	free(raw.ssl_quorum_hostname_s);
	cfg->source = strdup(path);
	if (!cfg->source) {
		zk_config_free(cfg);
		return ERR_NOMEM;
	}
	rc = zk_config_finish(cfg, errbuf, errlen);
	if (rc)
		zk_config_free(cfg);
	return rc;
fail:
	zk_config_raw_free(&raw);
	memset(cfg, 0, sizeof(*cfg));
	return rc;
}

int zk_config_override(struct zk_config *cfg, const char *kv, char *errbuf, size_t errlen)
{
	char key[256];
	const char *value;
	int rc = cfg_split_override(kv, key, sizeof(key), &value, errbuf, errlen);
	if (rc)
		return rc;
	/* the yes/no keys live outside struct zk_config in the table: handle them here */
	static const struct {
		const char *key;
		size_t off;
	} bools[] = {
		{ "forceSync", offsetof(struct zk_config, force_sync) },
		{ "reconfigEnabled", offsetof(struct zk_config, reconfig_enabled) },
		{ "standaloneEnabled", offsetof(struct zk_config, standalone_enabled) },
		{ "extendedTypesEnabled", offsetof(struct zk_config, extended_types_enabled) },
		{ "admin.enableServer", offsetof(struct zk_config, admin_enable_server) },
		{ "sslQuorum", offsetof(struct zk_config, ssl_quorum) },
		{ "ssl.quorum.hostnameVerification", offsetof(struct zk_config, ssl_quorum_hostname_verification) },
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!strcmp(key, bools[i].key))
			return zk_config_bool("override", key, value, (bool *)((char *)cfg + bools[i].off),
					      errbuf, errlen);
	return cfg_set(zk_config_defs, ZK_CONFIG_NDEFS, cfg, key, value, errbuf, errlen);
}

void zk_config_free(struct zk_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->data_dir);
	free(cfg->data_log_dir);
	free(cfg->client_port_address);
	free(cfg->four_letter_words);
	free(cfg->log_level);
	free(cfg->secure_client_port_address);
	free(cfg->jaas_config);
	free(cfg->ssl_quorum_keystore_location);
	free(cfg->ssl_quorum_keystore_password);
	free(cfg->ssl_quorum_keystore_type);
	free(cfg->ssl_quorum_truststore_location);
	free(cfg->ssl_quorum_truststore_type);
	free(cfg->ssl_quorum_enabled_protocols);
	free(cfg->ssl_quorum_ciphersuites);
	free(cfg->ssl_keystore_location);
	free(cfg->ssl_keystore_password);
	free(cfg->ssl_keystore_type);
	free(cfg->ssl_truststore_location);
	free(cfg->ssl_truststore_type);
	free(cfg->ssl_client_auth);
	free(cfg->ssl_enabled_protocols);
	free(cfg->ssl_ciphersuites);
	free(cfg->admin_server_address);
	free(cfg->admin_command_url);
	free(cfg->metrics_class);
	free(cfg->metrics_http_host);
	free(cfg->source);
	memset(cfg, 0, sizeof(*cfg));
}

int zk_config_format(const struct zk_config *cfg, uint64_t server_id, int64_t data_dir_size,
		     int64_t data_log_size, struct wbuf *w)
{
	char line[8400];
	int n = snprintf(line, sizeof(line),
			 "clientPort=%d\nsecureClientPort=%d\ndataDir=%s/version-2\ndataDirSize=%lld\n"
			 "dataLogDir=%s/version-2\ndataLogSize=%lld\ntickTime=%d\nmaxClientCnxns=%d\n"
			 "minSessionTimeout=%d\nmaxSessionTimeout=%d\nclientPortListenBacklog=-1\n"
			 "serverId=%llu\n",
			 cfg->client_port, cfg->secure_client_port, cfg->data_dir, (long long)data_dir_size, cfg->data_log_dir,
			 (long long)data_log_size, cfg->tick_time, cfg->max_client_cnxns,
			 cfg->min_session_timeout, cfg->max_session_timeout, (unsigned long long)server_id);
	if (n < 0)
		return ERR_INVAL;
	return wbuf_raw(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * samsa-broker — the broker daemon's main. So far (the foundation issue) it loads and
 * validates server.properties, opens its log, listens on its first listener and frames Kafka
 * requests; the Kafka APIs come with the broker issues, so each request is logged and the
 * connection closed, which Kafka clients treat as a broker that is not ready.
 *
 *   samsa-broker <server.properties> [--override key=value]...
 */
#include "buf.h"
#include "err.h"
#include "kb_config.h"
#include "log.h"
#include "net.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const BROKER_MOD = "samsa-broker";

static void broker_usage(FILE *f)
{
	fprintf(f, "usage: samsa-broker <server.properties> [--override key=value]...\n");
}

static void broker_on_signal(int signo, void *arg)
{
	struct event_base *base = arg;
	log_info(BROKER_MOD, "signal %d: shutting down", signo);
	event_base_loopexit(base, NULL);
}

static int broker_frame(struct net_conn *nc, const uint8_t *p, size_t len, void *arg)
{
	struct rbuf r = rbuf_make(p, len);
	int16_t api_key = -1, api_version = -1;
	int32_t corr = -1;
	(void)arg;
	rbuf_i16(&r, &api_key);
	rbuf_i16(&r, &api_version);
	rbuf_i32(&r, &corr);
	log_info(BROKER_MOD, "request api_key=%d version=%d correlation_id=%d from %s: Kafka APIs are not served yet; closing",
		 api_key, api_version, corr, net_conn_peer(nc));
	net_conn_close(nc, ERR_PROTO);
	return 0;
}

static void broker_closed(struct net_conn *nc, int err, void *arg)
{
	(void)arg;
	log_debug(BROKER_MOD, "connection %s closed: %s", net_conn_peer(nc), err_str(err));
}

struct broker {
	struct event_base *base;
	const struct kb_config *cfg;
};

static void broker_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct broker *b = arg;
	(void)sa;
	(void)salen;
	struct net_conn_opts opts = {
		.max_frame = (size_t)b->cfg->socket_request_max_bytes,
		.out_high = 1u << 20,
		.out_hard = 64u << 20,
	};
	static const struct net_conn_cbs cbs = { .frame = broker_frame, .closed = broker_closed };
	if (!net_conn_new(b->base, fd, &opts, &cbs, b))
		evutil_closesocket(fd);
}

int main(int argc, char **argv)
{
	char eb[1024] = "";
	struct kb_config cfg;
	struct net_listener *listener = NULL;
	struct net_signals *sigs = NULL;
	struct broker b = { NULL, &cfg };
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		broker_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* the log first, so that warnings about the config (unknown keys) reach logs/server.log */
	const char *log_dir = getenv("LOG_DIR");
	rc = log_open(log_dir && *log_dir ? log_dir : "logs", "server.log", eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-broker: %s\n", eb);
		return 1;
	}
	rc = kb_config_load(argv[1], &cfg, eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-broker: %s\n", eb);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--override") && i + 1 < argc) {
			rc = kb_config_override(&cfg, argv[++i], eb, sizeof(eb));
			if (!rc)
				rc = kb_config_finish(&cfg, eb, sizeof(eb));
		} else {
			rc = err_set(eb, sizeof(eb), ERR_CONFIG, "unknown argument '%s'", argv[i]);
		}
		if (rc) {
			fprintf(stderr, "samsa-broker: %s\n", eb);
			broker_usage(stderr);
			kb_config_free(&cfg);
			return 1;
		}
	}
	int level = log_level_parse(cfg.log_level);
	if (level < 0) {
		fprintf(stderr, "samsa-broker: %s: invalid value '%s' for 'samsa.log.level'\n", cfg.source,
			cfg.log_level);
		kb_config_free(&cfg);
		return 1;
	}
	log_set_level((enum log_level)level);
	evthread_use_pthreads();
	b.base = event_base_new();
	if (!b.base) {
		rc = 1;
		goto out;
	}
	sigs = net_signals_new(b.base, broker_on_signal, b.base);
	const struct kb_listener *l = &cfg.listener[0];
	rc = net_listen(b.base, l->host[0] ? l->host : "0.0.0.0", l->port, 128, broker_accept, &b,
			&listener, eb, sizeof(eb));
	if (rc) {
		log_fatal(BROKER_MOD, "cannot listen: %s", eb);
		fprintf(stderr, "samsa-broker: %s\n", eb);
		rc = 1;
		goto out;
	}
	log_info(BROKER_MOD, "broker.id=%d listening on %s://%s:%d, log.dirs=%s, zookeeper.connect=%s",
		 cfg.broker_id, l->name, l->host[0] ? l->host : "0.0.0.0", net_listener_port(listener),
		 cfg.log_dirs ? cfg.log_dirs : cfg.log_dir, cfg.zookeeper_connect);
	event_base_dispatch(b.base);
	rc = 0;
out:
	net_listener_free(listener);
	net_signals_free(sigs);
	if (b.base)
		event_base_free(b.base);
	log_info(BROKER_MOD, "stopped");
	log_close();
	kb_config_free(&cfg);
	return rc;
}

/*
 * samsa-coord — the coordinator daemon's main: load the properties file, open the log, recover,
 * listen, run the loop until SIGTERM/SIGINT, shut down in reverse order.
 *
 *   samsa-coord <zookeeper.properties> [--override key=value]...
 *
 * Logs go to $LOG_DIR/server.log (default ./logs, as Kafka's scripts do) and to stderr.
 */
#include "err.h"
#include "log.h"
#include "net.h"
#include "zk_config.h"
#include "zk_server.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const COORD_MOD = "samsa-coord";

static void coord_usage(FILE *f)
{
	fprintf(f, "usage: samsa-coord <zookeeper.properties> [--override key=value]...\n");
}

static void coord_on_signal(int signo, void *arg)
{
	struct event_base *base = arg;
	log_info(COORD_MOD, "signal %d: shutting down", signo);
	event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
	char eb[1024] = "";
	struct zk_config cfg;
	struct zk_server *srv = NULL;
	struct event_base *base = NULL;
	struct net_signals *sigs = NULL;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		coord_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* the log first, so that warnings about the config (unknown keys) reach logs/server.log */
	const char *log_dir = getenv("LOG_DIR");
	rc = log_open(log_dir && *log_dir ? log_dir : "logs", "server.log", eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-coord: %s\n", eb);
		return 1;
	}
	rc = zk_config_load(argv[1], &cfg, eb, sizeof(eb));
	if (rc) {
		fprintf(stderr, "samsa-coord: %s\n", eb);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--override") && i + 1 < argc) {
			rc = zk_config_override(&cfg, argv[++i], eb, sizeof(eb));
			if (!rc)
				rc = zk_config_finish(&cfg, eb, sizeof(eb));
		} else {
			rc = err_set(eb, sizeof(eb), ERR_CONFIG, "unknown argument '%s'", argv[i]);
		}
		if (rc) {
			fprintf(stderr, "samsa-coord: %s\n", eb);
			coord_usage(stderr);
			zk_config_free(&cfg);
			return 1;
		}
	}
	int level = log_level_parse(cfg.log_level);
	if (level < 0) {
		fprintf(stderr, "samsa-coord: %s: invalid value '%s' for 'samsa.log.level'\n", cfg.source,
			cfg.log_level);
		zk_config_free(&cfg);
		return 1;
	}
	log_set_level((enum log_level)level);
	evthread_use_pthreads();
	base = event_base_new();
	if (!base) {
		log_fatal(COORD_MOD, "cannot create the event loop");
		rc = 1;
		goto out;
	}
	sigs = net_signals_new(base, coord_on_signal, base);
	log_info(COORD_MOD, "starting samsa-coord with %s", cfg.source);
	rc = zk_server_new(base, &cfg, &srv, eb, sizeof(eb));
	if (rc) {
		log_fatal(COORD_MOD, "cannot start: %s", eb);
		fprintf(stderr, "samsa-coord: %s\n", eb);
		rc = 1;
		goto out;
	}
	event_base_dispatch(base);
	rc = 0;
out:
	zk_server_free(srv);
	net_signals_free(sigs);
	if (base)
		event_base_free(base);
	log_info(COORD_MOD, "stopped");
	log_close();
	zk_config_free(&cfg);
	return rc;
}

/*
 * kafka_mock — a Kafka cluster for testing the Kafka tools before the samsa broker serves them:
 * librdkafka's own mock cluster (rdkafka_mock.h) on loopback ports, which speaks the real Kafka
 * protocol for Metadata, Produce, Fetch, ListOffsets and the group APIs.
 *
 *   kafka_mock [--brokers N] [--topic name:partitions:replication]... [--no-groups]
 *
 * Prints the bootstrap servers on one line of stdout, then serves until stdin reaches end of
 * file or SIGTERM/SIGINT. --no-groups takes FindCoordinator away from the advertised APIs, as the
 * first samsa broker will, so the tools' "no consumer group" paths are tested for real.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t mock_stop;

static void mock_on_signal(int sig)
{
	(void)sig;
	mock_stop = 1;
}

int main(int argc, char **argv)
{
	int brokers = 1;
	char e[512];

	signal(SIGTERM, mock_on_signal);
	signal(SIGINT, mock_on_signal);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", e, sizeof(e));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", e);
		return 1;
	}
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--brokers"))
			brokers = atoi(argv[i + 1]);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-groups")) {
			rd_kafka_mock_set_apiversion(mc, 10 /* FindCoordinator */, -1, -1);
		} else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
			char name[256];
			int parts = 1, rf = 1;
			if (sscanf(argv[++i], "%255[^:]:%d:%d", name, &parts, &rf) < 1 ||
			    rd_kafka_mock_topic_create(mc, name, parts, rf)) {
				fprintf(stderr, "kafka_mock: bad --topic %s\n", argv[i]);
				return 1;
			}
		}
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!mock_stop) {
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		if (poll(&p, 1, 200) > 0) {
			char buf[256];
			if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}

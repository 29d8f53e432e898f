/*
 * zk_bench — coordinator throughput and latency, measured with Debian's ZooKeeper C client
 * (single-threaded async API), so the same client drives samsa-coord and the real ZooKeeper.
 *
 *   zk_bench host:port --op create|set|get [--outstanding N] [--count N] [--value-size B]
 *   zk_bench host:port --populate N [--value-size B]
 *
 * Keeps N requests in flight, times each from submission to completion, and prints one line:
 *   op=create outstanding=100 count=20000 ops_per_sec=... p50_us=... p99_us=... max_us=...
 * A benchmark prints figures; it asserts nothing about them.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static zhandle_t *zh;
static bool connected;
static int inflight, done_count, errors;
static uint64_t *lat_us;
static uint64_t *start_us;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void watcher(zhandle_t *h, int type, int state, const char *path, void *ctx)
{
	(void)h;
	(void)path;
	(void)ctx;
	if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE)
		connected = true;
}

static void pump(int timeout_ms)
{
	int fd = -1, interest = 0;
	struct timeval tv;
	if (zookeeper_interest(zh, &fd, &interest, &tv) != ZOK || fd < 0) {
		zookeeper_process(zh, 0);
		return;
	}
	struct pollfd p = { fd, (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) |
					(interest & ZOOKEEPER_WRITE ? POLLOUT : 0)), 0 };
	int wait = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
	if (wait > timeout_ms)
		wait = timeout_ms;
	int n = poll(&p, 1, wait < 0 ? 0 : wait);
	int events = 0;
	if (n > 0) {
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p.revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(zh, events);
}

static void finish(int rc, const void *data)
{
	size_t i = (size_t)(uintptr_t)data;
	lat_us[i] = now_us() - start_us[i];
	if (rc != ZOK)
		errors++;
	inflight--;
	done_count++;
}

static void done_string(int rc, const char *v, const void *data)
{
	(void)v;
	finish(rc, data);
}

static void done_stat(int rc, const struct Stat *st, const void *data)
{
	(void)st;
	finish(rc, data);
}

static void done_data(int rc, const char *v, int len, const struct Stat *st, const void *data)
{
	(void)v;
	(void)len;
	(void)st;
	finish(rc, data);
}

static void done_void(int rc, const void *data)
{
	finish(rc, data);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void wait_all(void)
{
	while (inflight > 0)
		pump(100);
}

int main(int argc, char **argv)
{
	const char *hosts = NULL, *op = "create";
	int outstanding = 1, count = 10000, value_size = 100, populate = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--op") && i + 1 < argc)
			op = argv[++i];
		else if (!strcmp(argv[i], "--outstanding") && i + 1 < argc)
			outstanding = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--value-size") && i + 1 < argc)
			value_size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--populate") && i + 1 < argc)
			populate = atoi(argv[++i]);
		else if (!hosts)
			hosts = argv[i];
	}
	if (!hosts || outstanding < 1 || count < 1 || value_size < 0) {
		fprintf(stderr, "usage: zk_bench host:port --op create|set|get [--outstanding N] [--count N] "
				"[--value-size B] | --populate N\n");
		return 2;
	}
	if (populate > 0) {
		op = "create";
		count = populate;
		outstanding = outstanding > 1 ? outstanding : 200;
	}
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zh = zookeeper_init(hosts, watcher, 30000, NULL, NULL, 0);
	if (!zh) {
		fprintf(stderr, "zk_bench: cannot connect to %s: %s\n", hosts, strerror(errno));
		return 1;
	}
	for (int i = 0; i < 300 && !connected; i++)
		pump(100);
	if (!connected) {
		fprintf(stderr, "zk_bench: no session with %s\n", hosts);
		return 1;
	}
	char *value = malloc((size_t)value_size + 1);
	memset(value, 'v', (size_t)value_size);
	lat_us = calloc((size_t)count, sizeof(*lat_us));
	start_us = calloc((size_t)count, sizeof(*start_us));
	char base[128];
	snprintf(base, sizeof(base), "/zk-bench-%d-%ld", (int)getpid(), (long)time(NULL));
	inflight = 1;
	zoo_acreate(zh, base, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, done_string, (void *)(uintptr_t)0);
	start_us[0] = now_us();
	wait_all();
	char target[256];
	snprintf(target, sizeof(target), "%s/target", base);
	inflight = 1;
	zoo_acreate(zh, target, value, value_size, &ZOO_OPEN_ACL_UNSAFE, 0, done_string, (void *)(uintptr_t)0);
	wait_all();
	done_count = 0;
	errors = 0;

	uint64_t t0 = now_us();
	int next = 0;
	while (done_count < count) {
		while (inflight < outstanding && next < count) {
			char path[256];
			int rc;
			start_us[next] = now_us();
			void *tag = (void *)(uintptr_t)next;
			if (!strcmp(op, "create")) {
				snprintf(path, sizeof(path), "%s/n-%08d", base, next);
				rc = zoo_acreate(zh, path, value, value_size, &ZOO_OPEN_ACL_UNSAFE, 0, done_string, tag);
			} else if (!strcmp(op, "set")) {
				rc = zoo_aset(zh, target, value, value_size, -1, done_stat, tag);
			} else {
				rc = zoo_aget(zh, target, 0, done_data, tag);
			}
			if (rc != ZOK) {
				fprintf(stderr, "zk_bench: request failed: %s\n", zerror(rc));
				return 1;
			}
			inflight++;
			next++;
		}
		pump(100);
	}
	uint64_t elapsed = now_us() - t0;
	qsort(lat_us, (size_t)count, sizeof(*lat_us), cmp_u64);
	printf("op=%s outstanding=%d count=%d value_size=%d ops_per_sec=%.0f p50_us=%llu p99_us=%llu max_us=%llu errors=%d\n",
	       populate ? "populate" : op, outstanding, count, value_size,
	       (double)count * 1e6 / (double)(elapsed ? elapsed : 1),
	       (unsigned long long)lat_us[count / 2], (unsigned long long)lat_us[(size_t)count * 99 / 100],
	       (unsigned long long)lat_us[count - 1], errors);
	(void)done_void;
	zookeeper_close(zh);
	free(value);
	free(lat_us);
	free(start_us);
	return errors ? 1 : 0;
}

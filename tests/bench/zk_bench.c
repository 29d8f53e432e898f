/*
 * zk_bench — coordinator throughput and latency, measured with Debian's ZooKeeper C client
 * (single-threaded async API, the loop driven here with zookeeper_interest / zookeeper_process
 * and poll), so the same client drives samsa-coord and the real ZooKeeper.
 *
 *   zk_bench host:port --op create|set|get [--outstanding N] [--count N] [--value-size B]
 *   zk_bench host:port --populate N [--value-size B]
 *
 * Keeps `outstanding` requests in flight, times each from submission to completion, and prints
 * one line:
 *   op=create outstanding=100 count=20000 value_size=100 ops_per_sec=... p50_us=... p99_us=...
 *   max_us=... errors=0
 * create makes `count` new znodes under a fresh parent /zk-bench-<pid>-<time>; set and get hit
 * one znode there. --populate N creates N znodes (200 in flight) and leaves them, for a memory
 * figure. Exit status 1 when any request failed. A benchmark prints figures; it asserts nothing
 * about them.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

enum { BENCH_POPULATE_OUTSTANDING = 200, BENCH_CONNECT_TIMEOUT_MS = 30000 };

struct bench_req;

/* The whole run: reached from the watcher through the handle's context. */
struct bench {
	zhandle_t *zh;
	bool connected;
	int inflight;
	int completed;
	int errors;
	int first_error;
};

/* One request: its completion records the latency. */
struct bench_req {
	struct bench *bench;
	uint64_t start_us;
	uint64_t lat_us;
};

static uint64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void bench_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)path;
	(void)ctx;
	struct bench *bench = (struct bench *)(uintptr_t)zoo_get_context(zh);
	if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE)
		bench->connected = true;
}

/* Waits up to timeout_ms for the client's socket, then lets it do its I/O and completions. */
static void bench_pump(struct bench *bench, int timeout_ms)
{
	int fd = -1, interest = 0;
	struct timeval tv = { 0, 0 };
	if (zookeeper_interest(bench->zh, &fd, &interest, &tv) != ZOK || fd < 0) {
		poll(NULL, 0, 10); /* between connections: the client wants to be called again soon */
		zookeeper_process(bench->zh, 0);
		return;
	}
	struct pollfd p = { fd, (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) |
					(interest & ZOOKEEPER_WRITE ? POLLOUT : 0)), 0 };
	int wait = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
	if (wait > timeout_ms)
		wait = timeout_ms;
	int events = 0;
	if (poll(&p, 1, wait < 0 ? 0 : wait) > 0) {
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p.revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(bench->zh, events);
}

static void bench_finish(int rc, const void *data)
{
	struct bench_req *req = (struct bench_req *)(uintptr_t)data;
	struct bench *bench = req->bench;
	req->lat_us = bench_now_us() - req->start_us;
	if (rc != ZOK) {
		if (!bench->errors)
			bench->first_error = rc;
		bench->errors++;
	}
	bench->inflight--;
	bench->completed++;
}

static void bench_done_string(int rc, const char *value, const void *data)
{
	(void)value;
	bench_finish(rc, data);
}

static void bench_done_stat(int rc, const struct Stat *st, const void *data)
{
	(void)st;
	bench_finish(rc, data);
}

static void bench_done_data(int rc, const char *value, int len, const struct Stat *st, const void *data)
{
	(void)value;
	(void)len;
	(void)st;
	bench_finish(rc, data);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Creates one znode and waits for it. Returns ZOK or the error. */
static int bench_create_sync(struct bench *bench, const char *path, const char *value, int len)
{
	struct bench_req req = { bench, bench_now_us(), 0 };
	bench->inflight = 1;
	bench->errors = 0;
	int rc = zoo_acreate(bench->zh, path, value, len, &ZOO_OPEN_ACL_UNSAFE, 0, bench_done_string, &req);
	if (rc != ZOK)
		return rc;
	while (bench->inflight > 0)
		bench_pump(bench, 100);
	return bench->errors ? bench->first_error : ZOK;
}

int main(int argc, char **argv)
{
	const char *hosts = NULL, *op = "create";
	int outstanding = 1, count = 10000, value_size = 100, populate = 0;
	bool bad_args = false;
	for (int i = 1; i < argc && !bad_args; i++) {
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
		else if (!hosts && argv[i][0] != '-')
			hosts = argv[i];
		else
			bad_args = true;
	}
	bool op_ok = !strcmp(op, "create") || !strcmp(op, "set") || !strcmp(op, "get");
	if (bad_args || !hosts || !op_ok || outstanding < 1 || count < 1 || value_size < 0 || populate < 0) {
		fprintf(stderr, "usage: zk_bench host:port --op create|set|get [--outstanding N] [--count N] "
				"[--value-size B]\n       zk_bench host:port --populate N [--value-size B]\n");
		return 2;
	}
	if (populate > 0) {
		op = "create";
		count = populate;
		outstanding = BENCH_POPULATE_OUTSTANDING;
	}

	struct bench bench = { 0 };
	struct bench_req *reqs = calloc((size_t)count, sizeof(*reqs));
	uint64_t *lat = calloc((size_t)count, sizeof(*lat));
	char *value = malloc((size_t)value_size + 1);
	int status = 1;
	if (!reqs || !lat || !value) {
		fprintf(stderr, "zk_bench: out of memory\n");
		goto cleanup;
	}
	memset(value, 'v', (size_t)value_size);

	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	bench.zh = zookeeper_init(hosts, bench_watcher, 30000, NULL, &bench, 0);
	if (!bench.zh) {
		fprintf(stderr, "zk_bench: cannot connect to %s: %s\n", hosts, strerror(errno));
		goto cleanup;
	}
	for (int waited = 0; waited < BENCH_CONNECT_TIMEOUT_MS && !bench.connected; waited += 100)
		bench_pump(&bench, 100);
	if (!bench.connected) {
		fprintf(stderr, "zk_bench: no session with %s\n", hosts);
		goto cleanup;
	}

	char base[128], target[256];
	snprintf(base, sizeof(base), "/zk-bench-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(target, sizeof(target), "%s/target", base);
	int rc = bench_create_sync(&bench, base, "", 0);
	if (rc == ZOK)
		rc = bench_create_sync(&bench, target, value, value_size);
	if (rc != ZOK) {
		fprintf(stderr, "zk_bench: cannot create %s: %s\n", target, zerror(rc));
		goto cleanup;
	}

	bench.inflight = 0;
	bench.completed = 0;
	bench.errors = 0;
	uint64_t t0 = bench_now_us();
	int next = 0;
	while (bench.completed < count) {
		while (bench.inflight < outstanding && next < count) {
			struct bench_req *req = &reqs[next];
			char path[256];
			req->bench = &bench;
			req->start_us = bench_now_us();
			if (!strcmp(op, "create")) {
				snprintf(path, sizeof(path), "%s/n-%08d", base, next);
				rc = zoo_acreate(bench.zh, path, value, value_size, &ZOO_OPEN_ACL_UNSAFE, 0,
						 bench_done_string, req);
			} else if (!strcmp(op, "set")) {
				rc = zoo_aset(bench.zh, target, value, value_size, -1, bench_done_stat, req);
			} else {
				rc = zoo_aget(bench.zh, target, 0, bench_done_data, req);
			}
			if (rc != ZOK) {
				fprintf(stderr, "zk_bench: request not sent: %s\n", zerror(rc));
				goto cleanup;
			}
			bench.inflight++;
			next++;
		}
		bench_pump(&bench, 100);
	}
	uint64_t elapsed = bench_now_us() - t0;

	for (int i = 0; i < count; i++)
		lat[i] = reqs[i].lat_us;
	qsort(lat, (size_t)count, sizeof(*lat), bench_cmp_u64);
	printf("op=%s outstanding=%d count=%d value_size=%d ops_per_sec=%.0f p50_us=%llu p99_us=%llu "
	       "max_us=%llu errors=%d\n",
	       populate ? "populate" : op, outstanding, count, value_size,
	       (double)count * 1e6 / (double)(elapsed ? elapsed : 1), (unsigned long long)lat[count / 2],
	       (unsigned long long)lat[(size_t)count * 99 / 100], (unsigned long long)lat[count - 1],
	       bench.errors);
	if (bench.errors)
		fprintf(stderr, "zk_bench: %d requests failed, the first with %s\n", bench.errors,
			zerror(bench.first_error));
	status = bench.errors ? 1 : 0;
cleanup:
	if (bench.zh)
		zookeeper_close(bench.zh);
	free(value);
	free(lat);
	free(reqs);
	return status;
}

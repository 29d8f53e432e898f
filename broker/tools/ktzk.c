/*
 * ktzk — the tools' blocking ZooKeeper session (see ktzk.h).
 */
#include "ktzk.h"

#include "ktool.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

struct ktzk {
	zhandle_t *zh;
	bool connected, expired;
	int timeout_ms;
};

/* One call in flight; its completion fills it in. */
struct ktzk_call {
	bool done;
	int rc;
	char *data;
	int len;
};

static void ktzk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)path;
	(void)ctx;
	struct ktzk *z = (struct ktzk *)(uintptr_t)zoo_get_context(zh);
	if (type != ZOO_SESSION_EVENT)
		return;
	if (state == ZOO_CONNECTED_STATE)
		z->connected = true;
	else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE)
		z->expired = true;
}

static void ktzk_pump(struct ktzk *z, int max_ms)
{
	int fd = -1, interest = 0, wait = max_ms;
	struct timeval tv = { 0, 0 };
	struct pollfd p = { -1, 0, 0 };
	if (zookeeper_interest(z->zh, &fd, &interest, &tv) == ZOK && fd >= 0) {
		p.fd = fd;
		p.events = (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) | (interest & ZOOKEEPER_WRITE ? POLLOUT : 0));
		int ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
		if (ms < wait)
			wait = ms;
	} else if (wait > 10) {
		wait = 10;
	}
	int n = poll(&p, p.fd >= 0 ? 1 : 0, wait < 0 ? 0 : wait);
	int events = 0;
	if (n > 0) {
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p.revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(z->zh, events);
}

static int ktzk_wait(struct ktzk *z, int rc, struct ktzk_call *c)
{
	if (rc != ZOK)
		return rc;
	int64_t deadline = ktool_now_us() + (int64_t)z->timeout_ms * 1000;
	while (!c->done) {
		if (z->expired)
			return ZSESSIONEXPIRED;
		if (ktool_now_us() > deadline)
			return ZOPERATIONTIMEOUT;
		ktzk_pump(z, 100);
	}
	return c->rc;
}

int ktzk_open(const char *hosts, int timeout_ms, struct ktzk **out)
{
	*out = NULL;
	struct ktzk *z = calloc(1, sizeof(*z));
	if (!z)
		return ZSYSTEMERROR;
	z->timeout_ms = timeout_ms;
	zoo_set_debug_level(getenv("KTOOL_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : (ZooLogLevel)0);
	z->zh = zookeeper_init(hosts, ktzk_watcher, 30000, NULL, z, 0);
	if (!z->zh) {
		free(z);
		return ZBADARGUMENTS;
	}
	int64_t deadline = ktool_now_us() + (int64_t)timeout_ms * 1000;
	while (!z->connected && !z->expired && ktool_now_us() < deadline && !ktool_stop_requested())
		ktzk_pump(z, 100);
	if (!z->connected) {
		ktzk_close(z);
		return ZOPERATIONTIMEOUT;
	}
	*out = z;
	return ZOK;
}

void ktzk_close(struct ktzk *z)
{
	if (!z)
		return;
	zookeeper_close(z->zh);
	free(z);
}

static void ktzk_data_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	(void)stat;
	struct ktzk_call *c = (struct ktzk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
	if (rc == ZOK && len > 0 && value) {
		c->data = malloc((size_t)len + 1);
		if (!c->data) {
			c->rc = ZSYSTEMERROR;
			return;
		}
		memcpy(c->data, value, (size_t)len);
		c->data[len] = '\0';
		c->len = len;
	}
}

static void ktzk_stat_done(int rc, const struct Stat *stat, const void *data)
{
	(void)stat;
	struct ktzk_call *c = (struct ktzk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
}

static void ktzk_string_done(int rc, const char *value, const void *data)
{
	(void)value;
	struct ktzk_call *c = (struct ktzk_call *)(uintptr_t)data;
	c->rc = rc;
	c->done = true;
}

int ktzk_get(struct ktzk *z, const char *path, char **data, int *len)
{
	struct ktzk_call c = { 0 };
	int rc = ktzk_wait(z, zoo_aget(z->zh, path, 0, ktzk_data_done, &c), &c);
	*data = rc == ZOK ? c.data : NULL;
	*len = rc == ZOK ? c.len : 0;
	if (rc != ZOK)
		free(c.data);
	return rc;
}

static int ktzk_create(struct ktzk *z, const char *path, const char *data, int flags)
{
	int rc = ZNONODE;
	for (int attempt = 0; attempt < 2 && rc == ZNONODE; attempt++) {
		struct ktzk_call c = { 0 };
		rc = ktzk_wait(z, zoo_acreate(z->zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, flags,
					      ktzk_string_done, &c),
			       &c);
		if (rc != ZNONODE || attempt)
			break;
		char parent[1024];
		snprintf(parent, sizeof(parent), "%s", path);
		for (char *sl = strchr(parent + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
			*sl = '\0';
			struct ktzk_call pc = { 0 };
			int prc = ktzk_wait(z, zoo_acreate(z->zh, parent, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, ktzk_string_done, &pc),
					    &pc);
			if (prc != ZOK && prc != ZNODEEXISTS)
				return prc;
			*sl = '/';
		}
	}
	return rc;
}

int ktzk_put(struct ktzk *z, const char *path, const char *data)
{
	struct ktzk_call c = { 0 };
	int rc = ktzk_wait(z, zoo_aset(z->zh, path, data, (int)strlen(data), -1, ktzk_stat_done, &c), &c);
	if (rc == ZNONODE) {
		rc = ktzk_create(z, path, data, 0);
		if (rc == ZNODEEXISTS) /* created meanwhile */
			return ktzk_put(z, path, data);
	}
	return rc;
}

int ktzk_create_seq(struct ktzk *z, const char *path, const char *data)
{
	return ktzk_create(z, path, data, ZOO_SEQUENCE);
}

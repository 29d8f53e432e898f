/*
 * loop_helpers — what the event-loop unit suites (net, zk_peer) share: running a libevent
 * loop until a condition holds or a deadline passes, and capturing the process log in a
 * temporary directory to look for a line. Include after check.h, event2/event.h and log.h.
 */
#ifndef SAMSA_TEST_LOOP_HELPERS_H
#define SAMSA_TEST_LOOP_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void deadline_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until done(arg) or ms pass; returns done(arg). */
static bool run_until(struct event_base *base, bool (*done)(void *), void *arg, int ms)
{
	bool expired = false;
	struct event *t = evtimer_new(base, deadline_fired, &expired);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ck_assert_ptr_nonnull(t);
	evtimer_add(t, &tv);
	while (!done(arg) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return done(arg);
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Runs the loop for ms (to show that something does NOT happen). */
static inline void run_for(struct event_base *base, int ms)
{
	run_until(base, never, NULL, ms);
}

/* ---- log capture: the process log goes to <tmp>/test.log while a test runs ---- */

static char log_dir[128];

static inline void log_capture(void)
{
	char eb[256];
	ck_assert_ptr_nonnull(check_mkdtemp(log_dir, sizeof(log_dir), "samsa-test-log"));
	ck_assert_int_eq(log_open(log_dir, "test.log", eb, sizeof(eb)), 0);
}

/* 1 if the captured log contains both strings on one line. */
static inline int log_has(const char *a, const char *b)
{
	char path[sizeof(log_dir) + 16], line[1024];
	int found = 0;
	snprintf(path, sizeof(path), "%s/test.log", log_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && strstr(line, b);
	fclose(f);
	return found;
}

static inline void log_release(void)
{
	char path[sizeof(log_dir) + 16];
	log_close();
	snprintf(path, sizeof(path), "%s/test.log", log_dir);
	unlink(path);
	rmdir(log_dir);
}

#endif

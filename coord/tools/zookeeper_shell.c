/*
 * zookeeper-shell — Kafka's name for ZooKeeper's command-line client (zkCli), built on Debian's
 * ZooKeeper C client. It owns one session and nothing else: the single-threaded API, every call
 * asynchronous with a completion, the loop driven here with zookeeper_interest /
 * zookeeper_process and poll.
 *
 *   zookeeper-shell host:port[/chroot] [command args...]
 *
 * With a command it runs it and exits: 0 on success, 1 on a ZooKeeper error (worded as zkCli
 * words it on stderr, e.g. "Node does not exist: /x"), 2 on a usage error. Without, it reads
 * commands from stdin, one a line (a prompt only on a terminal), and keeps serving the session
 * (pings, watch events) while it waits for input. Output follows zkCli 3.8: ls prints "[a, b]",
 * get prints the data ("null" for none), -s adds the Stat lines ("cZxid = 0x...").
 *
 * All state lives in one struct shell, reached from the default watcher through the handle's
 * context and from each completion through its struct shell_call (the `data` argument).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

enum {
	SHELL_CALL_TIMEOUT_MS = 30000,
	SHELL_SESSION_TIMEOUT_MS = 30000,
	SHELL_CONNECT_TIMEOUT_MS = 30000,
	SHELL_LINE_MAX = 65536,
	SHELL_WORDS_MAX = 64,
};

struct shell {
	zhandle_t *zh;
	const char *hosts;
	bool connected;
	bool expired;
	char in[SHELL_LINE_MAX];	/* interactive input not yet consumed */
	size_t in_len;
	bool in_eof;
	char line[SHELL_LINE_MAX];	/* the line being run; words point into it */
};

/* One request in flight: its completion fills it in. */
struct shell_call {
	bool done;
	int rc;
	bool print_stat;		/* the command's -s: print the Stat after the result */
	struct String_vector kids;	/* deleteall: an owned copy of the children */
};

/* ---- the loop ---- */

/*
 * Waits up to timeout_ms for the client's socket (and for extra_fd to become readable when it
 * is >= 0), then lets the client do its I/O and run completions and watchers.
 * Returns true when extra_fd is readable (or at end of file).
 */
static bool shell_pump(struct shell *shell, int timeout_ms, int extra_fd)
{
	struct pollfd p[2];
	int n = 0, zk = -1, extra = -1;
	int fd = -1, interest = 0;
	struct timeval tv = { 0, 0 };
	int wait = timeout_ms;

	if (zookeeper_interest(shell->zh, &fd, &interest, &tv) == ZOK && fd >= 0) {
		zk = n;
		p[n++] = (struct pollfd){ fd, (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) |
						       (interest & ZOOKEEPER_WRITE ? POLLOUT : 0)), 0 };
		int client_ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
		if (client_ms < wait)
			wait = client_ms;
	} else if (wait > 10) {
		wait = 10; /* between connections: the client wants to be called again soon */
	}
	if (extra_fd >= 0) {
		extra = n;
		p[n++] = (struct pollfd){ extra_fd, POLLIN, 0 };
	}
	if (poll(p, (nfds_t)n, wait < 0 ? 0 : wait) < 0 && errno != EINTR)
		return false;
	int events = 0;
	if (zk >= 0) {
		if (p[zk].revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p[zk].revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(shell->zh, events);
	return extra >= 0 && (p[extra].revents & (POLLIN | POLLHUP | POLLERR));
}

/* Runs the loop until call completes; returns its result, or a timeout / expiry error. */
static int shell_wait(struct shell *shell, struct shell_call *call)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!call->done) {
		if (shell->expired)
			return ZSESSIONEXPIRED;
		shell_pump(shell, 100, -1);
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (!call->done && ms > SHELL_CALL_TIMEOUT_MS)
			return ZOPERATIONTIMEOUT;
	}
	return call->rc;
}

static const char *shell_event_name(int type)
{
	if (type == ZOO_CREATED_EVENT)
		return "NodeCreated";
	if (type == ZOO_DELETED_EVENT)
		return "NodeDeleted";
	if (type == ZOO_CHANGED_EVENT)
		return "NodeDataChanged";
	if (type == ZOO_CHILD_EVENT)
		return "NodeChildrenChanged";
	if (type == ZOO_SESSION_EVENT)
		return "None";
	return "Unknown";
}

/* The default watcher: session state, and the watch events set by -w, printed as zkCli does. */
static void shell_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)ctx;
	struct shell *shell = (struct shell *)(uintptr_t)zoo_get_context(zh);
	if (type == ZOO_SESSION_EVENT) {
		if (state == ZOO_CONNECTED_STATE)
			shell->connected = true;
		else if (state == ZOO_EXPIRED_SESSION_STATE)
			shell->expired = true;
		return;
	}
	printf("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:%s path:%s\n", shell_event_name(type),
	       path ? path : "null");
	fflush(stdout);
}

/* ---- output, as zkCli 3.8 words it ---- */

static void shell_print_error(int rc, const char *path)
{
	switch (rc) {
	case ZNONODE:
		fprintf(stderr, "Node does not exist: %s\n", path);
		break;
	case ZNODEEXISTS:
		fprintf(stderr, "Node already exists: %s\n", path);
		break;
	case ZNOTEMPTY:
		fprintf(stderr, "Node not empty: %s\n", path);
		break;
	case ZBADVERSION:
		fprintf(stderr, "version No is not valid : %s\n", path);
		break;
	case ZNOAUTH:
		fprintf(stderr, "Insufficient permission : %s\n", path);
		break;
	case ZNOCHILDRENFOREPHEMERALS:
		fprintf(stderr, "Ephemerals cannot have children: %s\n", path);
		break;
	case ZBADARGUMENTS:
		fprintf(stderr, "Path must not end with / character or contain invalid characters: %s\n", path);
		break;
	default:
		fprintf(stderr, "KeeperErrorCode = %s for %s\n", zerror(rc), path);
		break;
	}
}

static void shell_print_time(const char *name, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char text[64];
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%a %b %d %H:%M:%S UTC %Y", &tm);
	printf("%s = %s\n", name, text);
}

static void shell_print_stat(const struct Stat *st)
{
	printf("cZxid = 0x%" PRIx64 "\n", (uint64_t)st->czxid);
	shell_print_time("ctime", st->ctime);
	printf("mZxid = 0x%" PRIx64 "\n", (uint64_t)st->mzxid);
	shell_print_time("mtime", st->mtime);
	printf("pZxid = 0x%" PRIx64 "\n", (uint64_t)st->pzxid);
	printf("cversion = %d\n", st->cversion);
	printf("dataVersion = %d\n", st->version);
	printf("aclVersion = %d\n", st->aversion);
	printf("ephemeralOwner = 0x%" PRIx64 "\n", (uint64_t)st->ephemeralOwner);
	printf("dataLength = %d\n", st->dataLength);
	printf("numChildren = %d\n", st->numChildren);
}

/* ---- completions: each records its result in its struct shell_call and prints it ---- */

static struct shell_call *shell_call_of(const void *data)
{
	return (struct shell_call *)(uintptr_t)data;
}

static void shell_done_void(int rc, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
}

/* stat, exists, and set -s print the Stat; set alone prints nothing. */
static void shell_done_stat(int rc, const struct Stat *st, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
	if (rc == ZOK && st && call->print_stat)
		shell_print_stat(st);
}

static void shell_done_data(int rc, const char *value, int len, const struct Stat *st, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
	if (rc != ZOK)
		return;
	if (value && len >= 0)
		printf("%.*s\n", len, value);
	else
		printf("null\n");
	if (call->print_stat && st)
		shell_print_stat(st);
}

static int shell_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ls: children sorted by name (zkCli sorts them), comma separated in brackets. */
static void shell_done_children(int rc, const struct String_vector *v, const struct Stat *st, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
	if (rc != ZOK)
		return;
	int count = v ? v->count : 0;
	char **names = malloc(sizeof(char *) * (size_t)(count > 0 ? count : 1));
	if (!names) {
		call->rc = ZSYSTEMERROR;
		return;
	}
	for (int i = 0; i < count; i++)
		names[i] = v->data[i];
	qsort(names, (size_t)count, sizeof(char *), shell_cmp_names);
	printf("[");
	for (int i = 0; i < count; i++)
		printf("%s%s", i ? ", " : "", names[i]);
	printf("]\n");
	free(names);
	if (call->print_stat && st)
		shell_print_stat(st);
}

static void shell_done_created(int rc, const char *value, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
	if (rc == ZOK)
		printf("Created %s\n", value);
}

static void shell_done_acl(int rc, struct ACL_vector *acl, struct Stat *st, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	(void)st;
	call->rc = rc;
	call->done = true;
	if (rc != ZOK)
		return;
	for (int i = 0; i < acl->count; i++) {
		int p = acl->data[i].perms;
		printf("'%s,'%s\n: %s%s%s%s%s\n", acl->data[i].id.scheme, acl->data[i].id.id,
		       p & ZOO_PERM_CREATE ? "c" : "", p & ZOO_PERM_DELETE ? "d" : "",
		       p & ZOO_PERM_READ ? "r" : "", p & ZOO_PERM_WRITE ? "w" : "", p & ZOO_PERM_ADMIN ? "a" : "");
	}
}

/* deleteall: keeps a copy of the children, since v is freed when the completion returns. */
static void shell_done_kids(int rc, const struct String_vector *v, const void *data)
{
	struct shell_call *call = shell_call_of(data);
	call->rc = rc;
	call->done = true;
	if (rc != ZOK || !v || v->count <= 0)
		return;
	call->kids.data = calloc((size_t)v->count, sizeof(char *));
	if (!call->kids.data) {
		call->rc = ZSYSTEMERROR;
		return;
	}
	call->kids.count = v->count;
	for (int i = 0; i < v->count; i++) {
		call->kids.data[i] = strdup(v->data[i]);
		if (!call->kids.data[i])
			call->rc = ZSYSTEMERROR;
	}
}

/* ---- commands ---- */

/* Deletes path and everything below it, children first. Returns ZOK or the first error. */
static int shell_deleteall(struct shell *shell, const char *path)
{
	struct shell_call call = { 0 };
	int rc = zoo_aget_children(shell->zh, path, 0, shell_done_kids, &call);
	if (rc == ZOK)
		rc = shell_wait(shell, &call);
	for (int i = 0; i < call.kids.count; i++) {
		char child[4096];
		if (rc != ZOK)
			break;
		int n = snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", call.kids.data[i]);
		rc = n > 0 && (size_t)n < sizeof(child) ? shell_deleteall(shell, child) : ZBADARGUMENTS;
	}
	for (int i = 0; i < call.kids.count; i++)
		free(call.kids.data[i]);
	free(call.kids.data);
	if (rc != ZOK || !strcmp(path, "/"))
		return rc;
	struct shell_call del = { 0 };
	rc = zoo_adelete(shell->zh, path, -1, shell_done_void, &del);
	return rc == ZOK ? shell_wait(shell, &del) : rc;
}

static void shell_help(void)
{
	printf("ZooKeeper -server host:port cmd args\n"
	       "\tls [-s] [-w] path\n\tget [-s] [-w] path\n\tset [-s] path data [version]\n"
	       "\tcreate [-e] [-s] [-c] path [data]\n\tdelete path [version]\n\tdeleteall path\n"
	       "\tstat path\n\texists path\n\tgetAcl path\n\tconfig\n\treconfig [-add serverlist] [-remove serveridlist] [-members serverlist]\n\thelp\n\tquit\n");
}

/*
 * Runs one command; argv[0] is its name, argv holds argc words (borrowed).
 * Returns 0 on success, 1 on a ZooKeeper error (printed), 2 on a usage error, -1 for quit.
 */
/* Waits for an issued call (rc is the result), prints an error naming path; 0 or 1. */
static int shell_finish(struct shell *shell, struct shell_call *call, int rc, const char *path)
{
	if (rc == ZOK)
		rc = shell_wait(shell, call);
	fflush(stdout);
	if (rc != ZOK) {
		shell_print_error(rc, path);
		return 1;
	}
	return 0;
}

static int shell_run(struct shell *shell, int argc, char **argv)
{
	struct shell_call call = { 0 };
	bool watch = false, ephemeral = false, sequential = false, container = false, dash_s = false;
	int i = 1, rc;

	if (argc == 0)
		return 0;
	const char *cmd = argv[0];
	if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit"))
		return -1;
	if (!strcmp(cmd, "help")) {
		shell_help();
		return 0;
	}
	/* zkCli's config and reconfig [-add servers] [-remove ids] [-members servers] */
	if (!strcmp(cmd, "config")) {
		rc = zoo_agetconfig(shell->zh, 0, shell_done_data, &call);
		return shell_finish(shell, &call, rc, "/zookeeper/config");
	}
	if (!strcmp(cmd, "reconfig")) {
		const char *add = NULL, *remove = NULL, *members = NULL;
		for (int k = 1; k + 1 < argc; k += 2) {
			if (!strcmp(argv[k], "-add"))
				add = argv[k + 1];
			else if (!strcmp(argv[k], "-remove"))
				remove = argv[k + 1];
			else if (!strcmp(argv[k], "-members"))
				members = argv[k + 1];
		}
		if (!add && !remove && !members) {
			fprintf(stderr, "reconfig [-add serverlist] [-remove serveridlist] [-members serverlist]\n");
			return 2;
		}
		rc = zoo_areconfig(shell->zh, add, remove, members, -1, shell_done_data, &call);
		return shell_finish(shell, &call, rc, "/zookeeper/config");
	}
	/* zkCli's flags: -s is "stat" for ls/get/set and "sequential" for create */
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		for (const char *o = argv[i] + 1; *o; o++) {
			if (*o == 's')
				dash_s = true;
			else if (*o == 'w')
				watch = true;
			else if (*o == 'e')
				ephemeral = true;
			else if (*o == 'c')
				container = true;
		}
	}
	int nargs = argc - i;
	char **a = argv + i;
	if (nargs < 1) {
		shell_help();
		return 2;
	}
	const char *path = a[0];
	if (!strcmp(cmd, "ls")) {
		call.print_stat = dash_s;
		rc = zoo_aget_children2(shell->zh, path, watch, shell_done_children, &call);
	} else if (!strcmp(cmd, "get")) {
		call.print_stat = dash_s;
		rc = zoo_aget(shell->zh, path, watch, shell_done_data, &call);
	} else if (!strcmp(cmd, "stat") || !strcmp(cmd, "exists")) {
		call.print_stat = true;
		rc = zoo_aexists(shell->zh, path, watch, shell_done_stat, &call);
	} else if (!strcmp(cmd, "set")) {
		if (nargs < 2) {
			shell_help();
			return 2;
		}
		call.print_stat = dash_s;
		rc = zoo_aset(shell->zh, path, a[1], (int)strlen(a[1]), nargs > 2 ? atoi(a[2]) : -1,
			      shell_done_stat, &call);
	} else if (!strcmp(cmd, "create")) {
		sequential = dash_s;
		const char *data = nargs > 1 ? a[1] : NULL;
		int mode = container ? ZOO_CONTAINER
				     : ephemeral ? (sequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL)
						 : (sequential ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT);
		rc = zoo_acreate(shell->zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, mode,
				 shell_done_created, &call);
	} else if (!strcmp(cmd, "delete")) {
		rc = zoo_adelete(shell->zh, path, nargs > 1 ? atoi(a[1]) : -1, shell_done_void, &call);
	} else if (!strcmp(cmd, "deleteall") || !strcmp(cmd, "rmr")) {
		rc = shell_deleteall(shell, path);
		call.done = true;
		call.rc = rc;
	} else if (!strcmp(cmd, "getAcl")) {
		rc = zoo_aget_acl(shell->zh, path, shell_done_acl, &call);
	} else {
		fprintf(stderr, "Command not found: Command not found %s\n", cmd);
		shell_help();
		return 2;
	}
	return shell_finish(shell, &call, rc, path);
}

/* Splits line in place into at most max words; double quotes group. Returns the count. */
static int shell_split(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			words[n++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			words[n++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/*
 * Reads the next line of stdin into line (cap bytes, NUL-terminated, a longer line is cut),
 * serving the session while it waits. Returns false at end of input.
 */
static bool shell_read_line(struct shell *shell, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(shell->in, '\n', shell->in_len);
		if (nl || shell->in_len == sizeof(shell->in) || (shell->in_eof && shell->in_len > 0)) {
			size_t take = nl ? (size_t)(nl - shell->in) + 1 : shell->in_len;
			size_t copy = take < cap - 1 ? take : cap - 1;
			memcpy(line, shell->in, copy);
			line[copy] = '\0';
			memmove(shell->in, shell->in + take, shell->in_len - take);
			shell->in_len -= take;
			return true;
		}
		if (shell->in_eof)
			return false;
		if (!shell_pump(shell, 1000, STDIN_FILENO))
			continue;
		ssize_t got = read(STDIN_FILENO, shell->in + shell->in_len, sizeof(shell->in) - shell->in_len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			shell->in_eof = true;
		else
			shell->in_len += (size_t)got;
	}
}

static int shell_interactive(struct shell *shell)
{
	bool tty = isatty(STDIN_FILENO);
	int status = 0;
	for (;;) {
		if (tty) {
			printf("[zk: %s(%s)] ", shell->hosts, shell->expired ? "CLOSED" : "CONNECTED");
			fflush(stdout);
		}
		if (!shell_read_line(shell, shell->line, sizeof(shell->line)))
			break;
		char *words[SHELL_WORDS_MAX];
		int rc = shell_run(shell, shell_split(shell->line, words, SHELL_WORDS_MAX), words);
		if (rc < 0)
			break;
		if (rc)
			status = rc;
	}
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "USAGE: zookeeper-shell zookeeper_host:port[/path] [args...]\n");
		shell_help();
		return argc < 2 ? 2 : 0;
	}
	struct shell *shell = calloc(1, sizeof(*shell));
	if (!shell)
		return 1;
	int status = 1;
	shell->hosts = argv[1];
	zoo_set_debug_level(getenv("ZK_SHELL_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);
	fprintf(stderr, "Connecting to %s\n", shell->hosts);
	shell->zh = zookeeper_init(shell->hosts, shell_watcher, SHELL_SESSION_TIMEOUT_MS, NULL, shell, 0);
	if (!shell->zh) {
		fprintf(stderr, "cannot connect to %s: %s\n", shell->hosts, strerror(errno));
		goto cleanup;
	}
	for (int waited = 0; waited < SHELL_CONNECT_TIMEOUT_MS && !shell->connected; waited += 100)
		shell_pump(shell, 100, -1);
	if (!shell->connected) {
		fprintf(stderr, "could not connect to %s\n", shell->hosts);
		goto cleanup;
	}
	if (argc > 2) {
		status = shell_run(shell, argc - 2, argv + 2);
		if (status < 0)
			status = 0;
	} else {
		status = shell_interactive(shell);
	}
cleanup:
	if (shell->zh)
		zookeeper_close(shell->zh);
	free(shell);
	return status;
}

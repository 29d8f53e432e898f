/*
 * zookeeper-shell — Kafka's name for ZooKeeper's command-line client, built on Debian's
 * ZooKeeper C client (single-threaded API: this program drives zookeeper_interest /
 * zookeeper_process with poll, and every call is asynchronous with a completion).
 *
 *   zookeeper-shell host:port[/chroot] [command args...]
 *
 * With a command it runs it and exits (status 1 on a ZooKeeper error); without, it reads
 * commands from stdin (a prompt only on a terminal). Output follows zkCli: ls prints
 * "[a, b]", get prints the data, -s adds the Stat lines, errors print as zkCli words them.
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

struct shell {
	zhandle_t *zh;
	const char *hosts;
	bool done;	 /* the pending call completed */
	bool connected;
	bool expired;
	int rc;
	int watches;	 /* interactive: print watch events */
};

static struct shell sh; /* one connection per process: callbacks get no context otherwise */

static void shell_pump(int timeout_ms)
{
	int fd = -1, interest = 0;
	struct timeval tv;
	if (zookeeper_interest(sh.zh, &fd, &interest, &tv) != ZOK || fd < 0) {
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
		zookeeper_process(sh.zh, 0);
		return;
	}
	struct pollfd p = { fd, 0, 0 };
	if (interest & ZOOKEEPER_READ)
		p.events |= POLLIN;
	if (interest & ZOOKEEPER_WRITE)
		p.events |= POLLOUT;
	int wait = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
	if (wait > timeout_ms)
		wait = timeout_ms;
	if (wait < 0)
		wait = 0;
	int n = poll(&p, 1, wait);
	int events = 0;
	if (n > 0) {
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (p.revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
	}
	zookeeper_process(sh.zh, events);
}

/* Runs the loop until the pending call completes or the deadline passes. */
static int shell_wait(int timeout_ms)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!sh.done) {
		shell_pump(100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms > timeout_ms || sh.expired)
			return ZOPERATIONTIMEOUT;
	}
	return sh.rc;
}

static const char *shell_type_name(int type)
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

static void shell_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)zh;
	(void)ctx;
	if (type == ZOO_SESSION_EVENT) {
		if (state == ZOO_CONNECTED_STATE)
			sh.connected = true;
		else if (state == ZOO_EXPIRED_SESSION_STATE)
			sh.expired = true;
		return;
	}
	printf("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:%s path:%s\n", shell_type_name(type),
	       path ? path : "null");
	fflush(stdout);
}

/* zkCli's wording of the common errors. */
static void shell_error(int rc, const char *path)
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
	char buf[64];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a %b %d %H:%M:%S UTC %Y", &tm);
	printf("%s = %s\n", name, buf);
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

/* ---- completions: they print and record the result ---- */

static bool opt_stat;

static void done_void(int rc, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
}

static void done_stat(int rc, const struct Stat *st, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
	if (rc == ZOK && st)
		shell_print_stat(st);
}

static void done_stat_quiet(int rc, const struct Stat *st, const void *data)
{
	(void)data;
	(void)st;
	sh.rc = rc;
	sh.done = true;
}

static void done_data(int rc, const char *value, int len, const struct Stat *st, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
	if (rc != ZOK)
		return;
	if (value && len >= 0)
		printf("%.*s\n", len, value);
	else
		printf("null\n");
	if (opt_stat && st)
		shell_print_stat(st);
}

static int shell_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void done_children(int rc, const struct String_vector *v, const struct Stat *st, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
	if (rc != ZOK)
		return;
	char **names = malloc(sizeof(char *) * (size_t)(v->count > 0 ? v->count : 1));
	for (int i = 0; names && i < v->count; i++)
		names[i] = v->data[i];
	if (names && v->count > 1)
		qsort(names, (size_t)v->count, sizeof(char *), shell_cmp);
	printf("[");
	for (int i = 0; names && i < v->count; i++)
		printf("%s%s", i ? ", " : "", names[i]);
	printf("]\n");
	free(names);
	if (opt_stat && st)
		shell_print_stat(st);
}

static void done_string(int rc, const char *value, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
	if (rc == ZOK)
		printf("Created %s\n", value);
}

static void done_acl(int rc, struct ACL_vector *acl, struct Stat *st, const void *data)
{
	(void)data;
	(void)st;
	sh.rc = rc;
	sh.done = true;
	if (rc != ZOK)
		return;
	for (int i = 0; i < acl->count; i++) {
		int p = acl->data[i].perms;
		printf("'%s,'%s\n: %s%s%s%s%s\n", acl->data[i].id.scheme, acl->data[i].id.id,
		       p & ZOO_PERM_CREATE ? "c" : "", p & ZOO_PERM_DELETE ? "d" : "",
		       p & ZOO_PERM_READ ? "r" : "", p & ZOO_PERM_WRITE ? "w" : "", p & ZOO_PERM_ADMIN ? "a" : "");
	}
}

/* deleteall: children first (collected by a synchronous-style walk on the async API). */
static struct String_vector shell_kids;
static void done_kids(int rc, const struct String_vector *v, const void *data)
{
	(void)data;
	sh.rc = rc;
	sh.done = true;
	shell_kids.count = 0;
	shell_kids.data = NULL;
	if (rc == ZOK && v->count > 0) {
		shell_kids.data = calloc((size_t)v->count, sizeof(char *));
		for (int i = 0; shell_kids.data && i < v->count; i++)
			shell_kids.data[i] = strdup(v->data[i]);
		shell_kids.count = shell_kids.data ? v->count : 0;
	}
}

static int shell_deleteall(const char *path)
{
	sh.done = false;
	if (zoo_aget_children(sh.zh, path, 0, done_kids, NULL) != ZOK)
		return ZSYSTEMERROR;
	int rc = shell_wait(30000);
	if (rc != ZOK)
		return rc;
	struct String_vector kids = shell_kids;
	for (int i = 0; i < kids.count && rc == ZOK; i++) {
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", kids.data[i]);
		rc = shell_deleteall(child);
	}
	for (int i = 0; i < kids.count; i++)
		free(kids.data[i]);
	free(kids.data);
	if (rc != ZOK)
		return rc;
	sh.done = false;
	if (zoo_adelete(sh.zh, path, -1, done_void, NULL) != ZOK)
		return ZSYSTEMERROR;
	return shell_wait(30000);
}

static void shell_help(void)
{
	printf("ZooKeeper -server host:port cmd args\n"
	       "\tls [-s] [-w] path\n\tget [-s] [-w] path\n\tset path data [version]\n"
	       "\tcreate [-e] [-s] [-c] path [data]\n\tdelete path [version]\n\tdeleteall path\n"
	       "\tstat path\n\tgetAcl path\n\tquit\n");
}

/* Runs one command (argv[0] is its name). Returns 0, 1 on a ZooKeeper error, 2 on usage. */
static int shell_run(int argc, char **argv)
{
	bool watch = false, eph = false, seq = false, cont = false;
	int i = 1;
	opt_stat = false;
	if (argc == 0)
		return 0;
	const char *cmd = argv[0];
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		for (const char *o = argv[i] + 1; *o; o++) {
			if (*o == 's')
				opt_stat = seq = true;
			else if (*o == 'w')
				watch = true;
			else if (*o == 'e')
				eph = true;
			else if (*o == 'c')
				cont = true;
		}
	}
	int nargs = argc - i;
	char **a = argv + i;
	int rc;
	sh.done = false;
	sh.rc = ZOK;
	if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit"))
		return -1;
	if (!strcmp(cmd, "help")) {
		shell_help();
		return 0;
	}
	if (nargs < 1) {
		shell_help();
		return 2;
	}
	const char *path = a[0];
	if (!strcmp(cmd, "ls")) {
		rc = zoo_aget_children2(sh.zh, path, watch, done_children, NULL);
	} else if (!strcmp(cmd, "get")) {
		rc = zoo_aget(sh.zh, path, watch, done_data, NULL);
	} else if (!strcmp(cmd, "stat") || !strcmp(cmd, "exists")) {
		rc = zoo_aexists(sh.zh, path, watch, done_stat, NULL);
	} else if (!strcmp(cmd, "set")) {
		if (nargs < 2)
			return shell_help(), 2;
		int version = nargs > 2 ? atoi(a[2]) : -1;
		/* zkCli prints nothing for set, the Stat with -s */
		rc = zoo_aset(sh.zh, path, a[1], (int)strlen(a[1]), version, opt_stat ? done_stat : done_stat_quiet,
			      NULL);
	} else if (!strcmp(cmd, "create")) {
		const char *data = nargs > 1 ? a[1] : NULL;
		int mode = cont ? ZOO_CONTAINER : (eph ? (seq ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL)
						   : (seq ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT));
		opt_stat = false;
		rc = zoo_acreate(sh.zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, mode,
				 done_string, NULL);
	} else if (!strcmp(cmd, "delete")) {
		rc = zoo_adelete(sh.zh, path, nargs > 1 ? atoi(a[1]) : -1, done_void, NULL);
	} else if (!strcmp(cmd, "deleteall") || !strcmp(cmd, "rmr")) {
		rc = shell_deleteall(path);
		if (rc != ZOK) {
			shell_error(rc, path);
			return 1;
		}
		return 0;
	} else if (!strcmp(cmd, "getAcl")) {
		rc = zoo_aget_acl(sh.zh, path, done_acl, NULL);
	} else {
		fprintf(stderr, "Command not found: Command not found %s\n", cmd);
		shell_help();
		return 2;
	}
	if (rc == ZOK)
		rc = shell_wait(30000);
	if (rc != ZOK) {
		shell_error(rc, path);
		return 1;
	}
	fflush(stdout);
	return 0;
}

/* Splits a line into words (double quotes group). */
static int shell_split(char *line, char **argv, int max)
{
	int n = 0;
	char *p = line;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			argv[n++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			argv[n++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "USAGE: zookeeper-shell zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]\n");
		return argc < 2 ? 2 : 0;
	}
	zoo_set_debug_level(getenv("ZK_SHELL_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);
	sh.hosts = argv[1];
	fprintf(stderr, "Connecting to %s\n", sh.hosts);
	sh.zh = zookeeper_init(sh.hosts, shell_watcher, 30000, NULL, NULL, 0);
	if (!sh.zh) {
		fprintf(stderr, "cannot connect to %s: %s\n", sh.hosts, strerror(errno));
		return 1;
	}
	for (int i = 0; i < 300 && !sh.connected; i++)
		shell_pump(100);
	if (!sh.connected) {
		fprintf(stderr, "could not connect to %s\n", sh.hosts);
		zookeeper_close(sh.zh);
		return 1;
	}
	int status = 0;
	if (argc > 2) {
		status = shell_run(argc - 2, argv + 2);
		if (status < 0)
			status = 0;
	} else {
		char line[65536];
		bool tty = isatty(STDIN_FILENO);
		for (;;) {
			if (tty) {
				printf("[zk: %s(CONNECTED)] ", sh.hosts);
				fflush(stdout);
			}
			if (!fgets(line, sizeof(line), stdin))
				break;
			char *words[64];
			int n = shell_split(line, words, 64);
			int rc = shell_run(n, words);
			if (rc < 0)
				break;
			if (rc)
				status = rc;
			/* deliver watch events that arrived meanwhile */
			shell_pump(0);
		}
	}
	zookeeper_close(sh.zh);
	return status;
}

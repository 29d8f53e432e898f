/*
 * Fuzz harness: the snapshot reader. The input is written as a snapshot file and loaded (the
 * whole file is validated before anything is delivered); nodes go into a real tree.
 */
#include "err.h"
#include "log.h"
#include "zk_snap.h"
#include "zk_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_node(const char *path, const uint8_t *d, int32_t len, const struct zk_stat *st,
		     const struct zk_acl *acl, int32_t n, void *arg)
{
	zk_tree_load_node(arg, path, d, len, acl, n, st);
	return 0;
}

static int fuzz_session(int64_t id, int32_t timeout, const uint8_t *passwd, void *arg)
{
	(void)id;
	(void)timeout;
	(void)passwd;
	(void)arg;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/samsa-fuzz-snap-XXXXXX";
	char eb[256];
	int64_t zxid = 0;
	log_set_quiet_stderr(1);
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct zk_tree *t = zk_tree_new();
	if (t) {
		zk_snap_load_file(path, fuzz_node, fuzz_session, t, &zxid, eb, sizeof(eb));
		zk_tree_free(t);
	}
	unlink(path);
	return 0;
}

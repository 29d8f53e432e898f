/*
 * Fuzz harness: the txn log reader. The input is written as the only log file of a fresh
 * directory and replayed (each record also decoded as a TxnRecord); a bad tail is truncated,
 * corruption reported, never a crash.
 */
#include "err.h"
#include "log.h"
#include "zk_txnlog.h"
#include "zk_txnrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_replay_cb(int64_t zxid, const uint8_t *rec, size_t len, void *arg)
{
	struct zk_txnrec *r = NULL;
	(void)zxid;
	(*(int *)arg)++;
	if (zk_txnrec_decode(rec, len, &r) == 0)
		zk_txnrec_free(r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/samsa-fuzz-txnlog-XXXXXX";
	char sub[64], path[128];
	char eb[256];
	int64_t last = 0;
	int n = 0;
	log_set_quiet_stderr(1);
	if (!mkdtemp(dir))
		return 0;
	snprintf(sub, sizeof(sub), "%s/version-2", dir);
	mkdir(sub, 0755);
	snprintf(path, sizeof(path), "%s/log.1", sub);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		zk_txnlog_replay(dir, 0, fuzz_replay_cb, &n, &last, eb, sizeof(eb));
	}
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

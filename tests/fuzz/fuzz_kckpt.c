/*
 * Fuzz harness: Kafka's checkpoint files (broker/log/kckpt). Byte 0 picks the format (even:
 * leader-epoch-checkpoint, odd: replication-offset-checkpoint), the rest is the file. Any input
 * must parse or give ERR_CORRUPT with a message naming the file and line, never crash or leak;
 * what parses must satisfy the reader's promises (epochs accepted by kepoch_load, topics
 * printable), and writing it back and re-reading it must give the same entries and bytes that
 * parse again identically.
 */
#include "err.h"
#include "kckpt.h"
#include "kepoch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                        \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz_kckpt: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

static char fuzz_path[64];

static void fuzz_epochs(const char *text, size_t len)
{
	struct kepoch_entry *e = NULL, *e2 = NULL;
	size_t n = 0, n2 = 0;
	char err[256] = "";
	int rc = kckpt_epochs_parse("leader-epoch-checkpoint", text, len, &e, &n, err, sizeof(err));
	if (rc) {
		FUZZ_NEED(rc == ERR_CORRUPT && e == NULL && n == 0);
		FUZZ_NEED(strncmp(err, "leader-epoch-checkpoint:", 24) == 0);
		return;
	}
	struct kepoch *c = kepoch_new();
	FUZZ_NEED(c && kepoch_load(c, e, n) == 0);
	kepoch_free(c);
	FUZZ_NEED(kckpt_epochs_write(fuzz_path, e, n, err, sizeof(err)) == 0);
	FUZZ_NEED(kckpt_epochs_read(fuzz_path, &e2, &n2, err, sizeof(err)) == 0);
	FUZZ_NEED(n2 == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_NEED(e[i].epoch == e2[i].epoch && e[i].start_offset == e2[i].start_offset);
	free(e);
	free(e2);
}

static void fuzz_offsets(const char *text, size_t len)
{
	struct kckpt_offset *o = NULL, *o2 = NULL;
	size_t n = 0, n2 = 0;
	char err[256] = "";
	int rc = kckpt_offsets_parse("replication-offset-checkpoint", text, len, &o, &n, err, sizeof(err));
	if (rc) {
		FUZZ_NEED(rc == ERR_CORRUPT && o == NULL && n == 0);
		FUZZ_NEED(strncmp(err, "replication-offset-checkpoint:", 30) == 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_NEED(o[i].topic[0] && strlen(o[i].topic) <= KCKPT_TOPIC_MAX && o[i].partition >= 0 &&
			  o[i].offset >= 0);
	FUZZ_NEED(kckpt_offsets_write(fuzz_path, o, n, err, sizeof(err)) == 0);
	FUZZ_NEED(kckpt_offsets_read(fuzz_path, &o2, &n2, err, sizeof(err)) == 0);
	FUZZ_NEED(n2 == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_NEED(!strcmp(o[i].topic, o2[i].topic) && o[i].partition == o2[i].partition &&
			  o[i].offset == o2[i].offset);
	free(o);
	free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (!fuzz_path[0])
		snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/samsa-fuzz-kckpt-%ld", (long)getpid());
	if (data[0] & 1)
		fuzz_offsets((const char *)data + 1, size - 1);
	else
		fuzz_epochs((const char *)data + 1, size - 1);
	unlink(fuzz_path);
	return 0;
}

/*
 * Fuzz harness: the Java-properties parser and the typed config table over arbitrary bytes.
 * Any input must give a parsed table or a clear error, never a crash or a leak.
 */
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "props.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct fuzz_conf {
	int32_t port;
	int64_t big;
	bool flag;
	char *dir;
};

static const struct cfg_def fuzz_defs[] = {
	{ "clientPort", CFG_INT, 0, 65535, "2181", offsetof(struct fuzz_conf, port), 0, "" },
	{ "big", CFG_LONG, -1, INT64_MAX, "-1", offsetof(struct fuzz_conf, big), 0, "" },
	{ "flag", CFG_BOOL, 0, 0, "false", offsetof(struct fuzz_conf, flag), 0, "" },
	{ "dataDir", CFG_STRING, 0, 0, "/tmp", offsetof(struct fuzz_conf, dir), 0, "" },
	{ "server.", CFG_STRING, 0, 0, NULL, 0, CFG_PREFIX, "" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct props *p = NULL;
	char eb[256];
	log_set_quiet_stderr(1);
	if (props_parse((const char *)data, size, "fuzz.properties", &p, eb, sizeof(eb)) == 0) {
		struct fuzz_conf c = { 0 };
		for (size_t i = 0; i < props_count(p); i++) {
			const char *k, *v;
			int line;
			if (props_at(p, i, &k, &v, &line) || !k || !v)
				abort();
		}
		cfg_apply(fuzz_defs, sizeof(fuzz_defs) / sizeof(fuzz_defs[0]), p, &c, eb, sizeof(eb));
		cfg_free(fuzz_defs, sizeof(fuzz_defs) / sizeof(fuzz_defs[0]), &c);
		props_free(p);
	}
	return 0;
}

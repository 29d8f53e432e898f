/*
 * Fuzz harness: kb_ens_parse_srvr, the parser of a coordinator's `srvr` reply that the cluster
 * page's ensemble prober reads from the network. Any input must give a parsed reply or
 * ERR_CORRUPT, never a crash or an out-of-bounds read; the strings it fills stay terminated and
 * printable, and a reply it accepts has a mode.
 */
#include "err.h"
#include "kb_ens.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so a read past the end is caught by ASan */
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct kb_ens_srvr s;
	int rc = kb_ens_parse_srvr(p, size, &s);
	if (rc != 0 && rc != ERR_CORRUPT)
		abort();
	fuzz_printable(s.mode, sizeof(s.mode));
	fuzz_printable(s.version, sizeof(s.version));
	if (rc == 0 && !s.mode[0])
		abort();
	if (s.zxid < -1 || s.node_count < -1 || s.connections < -1 || s.outstanding < -1)
		abort();
	free(p);
	return 0;
}

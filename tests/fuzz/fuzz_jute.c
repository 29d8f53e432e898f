/*
 * Fuzz harness: the ZooKeeper client-protocol decoders (ConnectRequest and every request type)
 * over arbitrary frames. Decoding must succeed or fail cleanly, within the arena's bound.
 */
#include "err.h"
#include "jute.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jute_connect_req cr;
	struct jute_req req;
	struct jute_arena a;
	jute_decode_connect(data, size, &cr);
	jute_arena_init(&a, size * 64 + 65536);
	if (jute_decode_request(data, size, &a, &req) == 0) {
		/* touch what was decoded: strings must be NUL-terminated inside the arena */
		size_t n = req.path ? strlen(req.path) : 0;
		for (int32_t i = 0; i < req.n_acl; i++)
			n += strlen(req.acl[i].scheme) + strlen(req.acl[i].id);
		for (int32_t i = 0; i < req.n_ops; i++)
			n += req.ops[i].path ? strlen(req.ops[i].path) : 0;
		for (int k = 0; k < 5; k++)
			for (int32_t i = 0; i < req.n_watches[k]; i++)
				n += req.watches[k][i] ? strlen(req.watches[k][i]) : 0;
		(void)n;
	}
	jute_arena_free(&a);
	return 0;
}

/*
 * Fuzz harness: the coordinator's SASL (zk_sasl) over arbitrary client tokens, and the JAAS
 * parser (common/jaas) over arbitrary text. The first byte picks the target. Any input must be
 * refused or accepted cleanly; an accepted exchange must have named a configured user.
 */
#include "buf.h"
#include "jaas.h"
#include "zk_sasl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_opt(const char *key, const char *value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
}

static void ignore_entry(const char *s, size_t n, void *arg)
{
	char module[256], eb[128];
	(void)arg;
	jaas_entry_parse(s, n, module, sizeof(module), ignore_opt, NULL, eb, sizeof(eb));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char eb[256];
	if (data[0] & 1) {
		char *text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		jaas_section(text, "Server", ignore_entry, NULL, eb, sizeof(eb));
		ignore_entry(text, strlen(text), NULL);
		free(text);
		return 0;
	}
	struct zk_sasl_users u = { .n = 1 };
	u.names[0] = "bob";
	u.passwords[0] = "bob-secret";
	static const uint8_t nonce[16] = { 7 };
	struct zk_sasl_conv c = { 0 };
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	zk_sasl_step(&u, &c, NULL, -1, nonce, &w, eb, sizeof(eb));
	wbuf_reset(&w);
	enum zk_sasl_state st = zk_sasl_step(&u, &c, data + 1, (int32_t)(size - 1), nonce, &w, eb, sizeof(eb));
	if (st == ZK_SASL_DONE && strcmp(c.user, "bob"))
		abort();
	struct zk_sasl_resp r;
	zk_sasl_parse_response(data + 1, size - 1, &r, eb, sizeof(eb));
	wbuf_free(&w);
	return 0;
}

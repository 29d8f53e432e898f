/*
 * Fuzz harness: Kafka's ACL znodes (broker/auth/kacl), what a broker reads from whatever the
 * coordinator holds under /kafka-acl, /kafka-acl-extended and their change folders. Byte 0
 * picks the decoder (mod 3: 0 a resource's ACL document, 1 a LITERAL change notification,
 * 2 a PREFIXED one), the rest is the znode's data. Any input must decode or give an error with a
 * message and an empty output, never crash or leak; what decodes must keep the decoder's
 * promises (principals Type:name, bound operations and permissions) and encode to a document
 * that decodes to the same values.
 */
#include "err.h"
#include "kacl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                       \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "fuzz_kacl: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

static void fuzz_doc(const char *text, size_t len)
{
	struct kacl_entry *e = NULL, *e2 = NULL;
	size_t n = 0, n2 = 0;
	char eb[256] = "", *js = NULL;
	int rc = kacl_zk_decode(text, len, &e, &n, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED((rc == ERR_CORRUPT || rc == ERR_NOMEM) && e == NULL && n == 0 && eb[0]);
		return;
	}
	FUZZ_NEED(e != NULL && n <= KACL_MAX_ENTRIES);
	struct kacl_resource r = { KACL_RT_TOPIC, KACL_PT_LITERAL, "t" };
	for (size_t i = 0; i < n; i++)
		FUZZ_NEED(kacl_valid(&r, &e[i], eb, sizeof(eb)));
	FUZZ_NEED(kacl_zk_encode(e, n, &js) == 0);
	FUZZ_NEED(kacl_zk_decode(js, strlen(js), &e2, &n2, eb, sizeof(eb)) == 0);
	FUZZ_NEED(n2 == n && (n == 0 || !memcmp(e, e2, n * sizeof(*e))));
	/* and the rules run over it without harm */
	struct kacl *acl = kacl_new();
	FUZZ_NEED(acl && kacl_set(acl, &r, e, n) == 0 && kacl_count(acl) == n);
	if (n)
		(void)kacl_authorize(acl, e[0].principal, e[0].host, KACL_RT_TOPIC, "t", e[0].op);
	kacl_free(acl);
	free(js);
	free(e);
	free(e2);
}

static void fuzz_change(int pattern, const char *text, size_t len)
{
	struct kacl_resource r, r2;
	char name[KACL_MAX_NAME + 1], name2[KACL_MAX_NAME + 1], eb[256] = "", *js = NULL;
	int rc = kacl_zk_change_decode(pattern, text, len, &r, name, sizeof(name), eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED((rc == ERR_CORRUPT || rc == ERR_NOMEM) && r.name == NULL && eb[0]);
		return;
	}
	FUZZ_NEED(r.name == name && name[0] && strlen(name) <= KACL_MAX_NAME);
	FUZZ_NEED(kacl_zk_type_name(r.rtype) != NULL);
	FUZZ_NEED(r.pattern == KACL_PT_LITERAL || r.pattern == KACL_PT_PREFIXED);
	FUZZ_NEED(kacl_zk_change_encode(&r, &js) == 0);
	FUZZ_NEED(kacl_zk_change_decode(r.pattern, js, strlen(js), &r2, name2, sizeof(name2), eb, sizeof(eb)) == 0);
	FUZZ_NEED(r2.rtype == r.rtype && r2.pattern == r.pattern && !strcmp(name, name2));
	free(js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		fuzz_doc(text, len);
		break;
	case 1:
		fuzz_change(KACL_PT_LITERAL, text, len);
		break;
	default:
		fuzz_change(KACL_PT_PREFIXED, text, len);
		break;
	}
	return 0;
}

/*
 * Fuzz harness: the JSON reader (common/json) over arbitrary bytes. Any input must give a tree
 * or a clear error, never a crash, a leak or an out-of-bounds read; every accessor is walked over
 * the whole tree to check the invariants json.c promises (children in range, strings
 * NUL-terminated at their length, keys present exactly on object members).
 */
#include "err.h"
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_walk(const struct json_value *v, unsigned depth)
{
	size_t seen = 1, len;
	int64_t i;
	double d;
	bool b;

	if (depth > JSON_MAX_DEPTH)
		abort();
	switch (json_type(v)) {
	case JSON_STRING: {
		const char *s = json_string(v, &len);
		if (!s || s[len] != '\0')
			abort();
		break;
	}
	case JSON_NUMBER:
		if (!json_double(v, &d))
			abort();
		(void)json_int64(v, &i);
		break;
	case JSON_BOOL:
		if (!json_bool(v, &b))
			abort();
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		for (size_t k = 0; k < json_len(v); k++) {
			const char *key = json_key_at(v, k);
			if ((json_type(v) == JSON_OBJECT) != (key != NULL))
				abort();
			if (key)
				(void)json_get(v, key);
			seen += fuzz_walk(json_at(v, k), depth + 1);
		}
		if (json_at(v, json_len(v)))
			abort();
		break;
	case JSON_NULL:
		break;
	}
	return seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL;
	char eb[256];
	int rc = json_parse((const char *)data, size, &doc, eb, sizeof(eb));
	if (rc == 0) {
		if (!doc || fuzz_walk(json_root(doc), 0) > size)
			abort();
		/* the lookups the tools make */
		(void)json_get(json_get(json_root(doc), "partitions"), "0");
		(void)json_get(json_root(doc), "config");
	} else if (doc || (rc != ERR_CORRUPT && rc != ERR_TOOBIG && rc != ERR_NOMEM)) {
		abort();
	}
	json_free(doc);
	return 0;
}

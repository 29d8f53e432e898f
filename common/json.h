/*
 * json — a small, strict JSON reader for the documents samsa reads from the coordinator
 * (Kafka's ZooKeeper layout: broker registrations, topic assignments, partition states,
 * configs). Parses into a tree that owns copies of every string; bounded depth and size, so
 * any bytes at all give a tree or a clear error, never a crash. Writing is left to snprintf.
 */
#ifndef SAMSA_JSON_H
#define SAMSA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	bool b;
	double num;
	char *str;	       /* JSON_STR: decoded, NUL-terminated (an embedded NUL is an error) */
	char **keys;	       /* JSON_OBJ: key of each child */
	struct json **kids;    /* JSON_ARR / JSON_OBJ children */
	size_t n;
};

#define JSON_MAX_DEPTH 32

/* Parses exactly one value (surrounding whitespace allowed). 0 with *out (free with
 * json_free), or ERR_CORRUPT with the byte offset in eb. */
int json_parse(const char *s, size_t len, struct json **out, char *eb, size_t el);
void json_free(struct json *j); /* NULL ok */

/* Lookups that tolerate NULL and wrong types (they return NULL / false). */
const struct json *json_get(const struct json *obj, const char *key);
const struct json *json_at(const struct json *arr, size_t i);
size_t json_count(const struct json *j); /* elements of an array / members of an object */
/* An integral number in [INT64_MIN/2, INT64_MAX/2] (or a string holding one, as Kafka writes
 * some numbers) into *out. */
bool json_int(const struct json *j, int64_t *out);
const char *json_str(const struct json *j);

#endif

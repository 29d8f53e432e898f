/*
 * json — a small, strict JSON reader (RFC 8259) for the documents Kafka keeps in ZooKeeper
 * (`/brokers/topics/<t>`, `.../partitions/<p>/state`, `/config/topics/<t>`, `/brokers/ids/<id>`)
 * and anything else samsa reads as JSON. It parses a whole document into one immutable tree;
 * there is no writer.
 *
 * The input is outside bytes: the parser never reads past len, caps the input size, the nesting
 * depth and the number of values, and reports every malformation as an error with its byte
 * offset. Accessors are NULL-tolerant (a missing member or a wrong type gives NULL / false), so a
 * lookup like json_get(json_get(root, "partitions"), "0") needs one check at the end.
 */
#ifndef SAMSA_JSON_H
#define SAMSA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_INPUT (16u << 20) /* bytes */
#define JSON_MAX_DEPTH 64u	   /* nested arrays/objects */
#define JSON_MAX_VALUES (1u << 20) /* values in one document */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_doc;   /* a parsed document; owns every value and string in it */
struct json_value; /* one value inside a document; valid until json_free of its document */

/* Parses len bytes of text (need not be NUL-terminated). Returns 0 with *out set (free with
 * json_free), or ERR_CORRUPT ("json: offset 12: expected ':' after an object key"), ERR_TOOBIG
 * (input, depth or value count over the caps) or ERR_NOMEM, with text in errbuf and *out NULL. */
int json_parse(const char *text, size_t len, struct json_doc **out, char *errbuf, size_t errlen);
void json_free(struct json_doc *doc); /* NULL is fine */

const struct json_value *json_root(const struct json_doc *doc);

/* The type of v; JSON_NULL for v == NULL as well. */
enum json_type json_type(const struct json_value *v);
/* Members of an object or elements of an array; 0 for anything else (and NULL). */
size_t json_len(const struct json_value *v);
/* The i-th element of an array or the i-th member's value of an object (document order);
 * NULL when out of range or v is neither. */
const struct json_value *json_at(const struct json_value *v, size_t i);
/* The i-th member's key of an object (NUL-terminated, decoded); NULL otherwise. */
const char *json_key_at(const struct json_value *v, size_t i);
/* The member named key of an object (the last one if a key repeats, as Jackson reads it);
 * NULL if v is not an object or has no such member. Keys holding a \u0000 never match. */
const struct json_value *json_get(const struct json_value *v, const char *key);

/* A string's decoded bytes, NUL-terminated (the text may itself hold NULs: *len, if not NULL,
 * gets the exact length); NULL if v is not a string. */
const char *json_string(const struct json_value *v, size_t *len);
/* true and *out set if v is a number with no fraction or exponent that fits in int64_t. */
bool json_int64(const struct json_value *v, int64_t *out);
/* true and *out set if v is a number (any number, as the nearest double). */
bool json_double(const struct json_value *v, double *out);
/* true and *out set if v is true or false. */
bool json_bool(const struct json_value *v, bool *out);

#endif

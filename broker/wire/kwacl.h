/*
 * kwacl — the broker's side of the ACL APIs (KIP-140, KIP-290), non-flexible versions:
 * DescribeAcls (API 29) v0-1, CreateAcls (30) v0-1, DeleteAcls (31) v0-1. The three requests
 * carry the same binding (resource type, resource name, pattern type from v1, principal, host,
 * operation, permission type, in that order): DescribeAcls one filter, CreateAcls an array of
 * creations, DeleteAcls an array of filters; one decoder reads them all. v0 has no pattern type:
 * it is LITERAL. Responses are encoded from structs; request encoders and response decoders
 * serve kafka-acls (which speaks the three itself for TransactionalId ACLs) and the tests.
 * Schemas: apache/kafka clients/src/main/resources/common/message/{Describe,Create,Delete}
 * Acls{Request,Response}.json. Enum values are Kafka's codes (see broker/auth/kacl.h); the
 * decoder passes them through unchecked (the handler judges them, as Kafka answers a bad one
 * with an error, not a dropped connection). The decoder distrusts its input: array counts
 * capped (KWIRE_MAX_ITEMS) and checked against the bytes left before allocation, strings at
 * KWIRE_MAX_STR; a string holding a NUL, or a null where a creation needs a string, is
 * ERR_PROTO. Pure functions, any thread.
 */
#ifndef SAMSA_KWACL_H
#define SAMSA_KWACL_H

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWACL_API_DESCRIBE 29
#define KWACL_API_CREATE 30
#define KWACL_API_DELETE 31
#define KWACL_MAX_VERSION 1

/* One binding or filter. NULL strings are nulls on the wire (filters only). In a decoded
 * request the strings are the request's (kwacl_req_free); elsewhere the caller's. */
struct kwacl_binding {
	int8_t rtype;
	const char *name;
	int8_t pattern; /* v1+; 3 (LITERAL) in v0 */
	const char *principal;
	const char *host;
	int8_t op;
	int8_t perm;
};

/* A decoded (or to be encoded) request: DescribeAcls has exactly one binding. */
struct kwacl_req {
	int32_t n;
	struct kwacl_binding *b;
};

/* Decodes the body of request api (KWACL_API_*) at version ver (0..KWACL_MAX_VERSION) from r
 * (positioned after the request header) into *out; the caller frees it with kwacl_req_free,
 * also after a failure. 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwacl_req_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwacl_req *out);
void kwacl_req_free(struct kwacl_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body to w (DescribeAcls: q->b[0]). Returns w's sticky error. */
int kwacl_req_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwacl_req *q);

/* An error code and message (NULL: none) of one creation or one filter. */
struct kwacl_result {
	int16_t error;
	const char *message;
};

/* DescribeAcls response: the n bindings, grouped into Kafka's resources as they come (the
 * caller puts a resource's bindings next to each other; a binding whose resource differs from
 * the one before starts a new resource). In v0 only LITERAL bindings can be told apart; the
 * caller passes those only. */
int kwacl_describe_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, struct kwacl_result res,
			       const struct kwacl_binding *b, int32_t n);

/* A decoded response of any of the three (kafka-acls's: for the TransactionalId type librdkafka
 * 2.0 cannot name, and for the error code librdkafka 2.0 drops from DescribeAcls): DescribeAcls'
 * error and message and its ACLs in b, flattened (each with its resource; n stays 0);
 * CreateAcls' n results, one per creation; DeleteAcls' n results, one per filter, nmatch[i] of
 * them in b in the filters' order (a match's own error, when its filter has none, becomes the
 * filter's: the caller only asks whether all were deleted). Every string is owned by the
 * response (kwacl_resp_free); messages may be NULL, binding strings are not (non-nullable on the
 * wire). */
struct kwacl_resp {
	int32_t throttle_ms;
	int16_t error;
	const char *message;
	int32_t n;
	struct kwacl_result *res;
	int32_t *nmatch;
	int32_t nb;
	struct kwacl_binding *b;
};
/* Decodes the body of response api at version ver (after the correlation id) from r into *out;
 * the caller frees it with kwacl_resp_free, also after a failure. Counts are capped as the
 * request decoder caps them. 0, ERR_PROTO or ERR_NOMEM. */
int kwacl_resp_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwacl_resp *out);
void kwacl_resp_free(struct kwacl_resp *p); /* NULL ok; leaves it zeroed */

/* CreateAcls response: one result per creation, in the request's order. */
int kwacl_create_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, const struct kwacl_result *r,
			     int32_t n);

/* One filter's outcome in a DeleteAcls response: the bindings it matched (each deleted, error
 * 0) or its error. */
struct kwacl_delete_result {
	struct kwacl_result res;
	int32_t n;
	const struct kwacl_binding *matches;
};
int kwacl_delete_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, const struct kwacl_delete_result *r,
			     int32_t n);

#endif

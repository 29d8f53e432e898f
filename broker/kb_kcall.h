/*
 * kb_kcall — one Kafka request from this broker to another broker's inter-broker listener
 * (or its own), answered once: connect (with the broker's client TLS when that listener is
 * SSL, as the fetchers and the controlled shutdown connect; then SASL, SaslHandshake v1 and
 * SaslAuthenticate v1 through ksaslc, when it is SASL_SSL), send the request frame, read one
 * response frame, check its correlation id, hand its body up, close. The controlled shutdown's
 * ControlledShutdown and the transaction coordinator's WriteTxnMarkers go this way. Every call
 * has a deadline. The loop thread runs all of it.
 */
#ifndef SAMSA_KB_KCALL_H
#define SAMSA_KB_KCALL_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct kb_node;
struct kb_kcall;

/* The outcome: err 0 with the response body (after the correlation id; a flexible response's
 * header tags are the caller's) in body[0..len), valid during the call; or err an ERR_* with
 * why (cannot connect, closed, timed out, malformed) and no body. Called exactly once, from
 * the loop (never from inside kb_kcall_start); the call is freed after it returns. */
typedef void (*kb_kcall_fn)(void *arg, int err, const uint8_t *body, size_t len, const char *why);

/* Sends api/ver with body[0..len) (a request header v1 is written before it: api, version, a
 * correlation id, client id "samsa-broker-<id>"; flexible versions need header v2, which this
 * does not write) to node nd, answered within timeout_ms, the answer at most max_answer bytes.
 * NULL without memory (cb is then not called). */
struct kb_kcall *kb_kcall_start(struct broker *b, const struct kb_node *nd, int16_t api, int16_t ver,
				const uint8_t *body, size_t len, int32_t timeout_ms, size_t max_answer, kb_kcall_fn cb,
				void *arg);
/* Drops a call still under way: cb is not called. NULL ok. Not from inside its cb. */
void kb_kcall_cancel(struct kb_kcall *k);

#endif

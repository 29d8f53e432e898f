/*
 * ksauth — SASL on the broker's SASL_PLAINTEXT and SASL_SSL listeners (KIP-43, KIP-152): what
 * each listener offers (sasl.enabled.mechanisms or listener.name.<l>.sasl.enabled.mechanisms:
 * PLAIN with the users of listener.name.<l>.plain.sasl.jaas.config, SCRAM-SHA-256 and
 * SCRAM-SHA-512 with the credentials Kafka keeps in the coordinator under /config/users/<name>),
 * and per connection the authentication's state machine: before it succeeds only ApiVersions,
 * SaslHandshake and SaslAuthenticate are served (anything else closes the connection, as Kafka
 * does); after SaslHandshake v0 the client's frames are raw SASL tokens (kafka-python), after v1
 * SaslAuthenticate requests (librdkafka, kafkajs). The exchange is bounded before
 * authentication: frames of at most KSASL_MAX_TOKEN plus a header, KSAUTH_MAX_FRAMES of them,
 * and samsa.sasl.auth.timeout.ms from the accept. A failure is answered (where the protocol can
 * say it) with SASL_AUTHENTICATION_FAILED and a message, logged naming the peer and the user,
 * and the connection is closed after the answer leaves. The principal ("User:alice") stays on
 * the connection (kconn.principal). Codecs: broker/wire/ksasl. The loop thread runs all of it.
 */
#ifndef SAMSA_KSAUTH_H
#define SAMSA_KSAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct kb_config;
struct kconn;
struct kout;
struct kreq;

#define KSAUTH_MAX_FRAMES 8 /* requests before authentication (ApiVersions twice, handshake, 2 tokens) */

/* What every SASL listener of cfg offers, built at start. Returns 0 with *out (free with
 * ksauth_conf_free; NULL when cfg has no SASL listener), or ERR_CONFIG with the reason in eb: a
 * SASL listener with none of the mechanisms samsa offers (Kafka's default is GSSAPI, which it
 * does not), PLAIN without a readable PlainLoginModule JAAS entry. */
struct ksauth_conf;
int ksauth_conf_new(const struct kb_config *cfg, struct ksauth_conf **out, char *eb, size_t el);
void ksauth_conf_free(struct ksauth_conf *sc); /* NULL ok */

/* Starts the authentication of c, accepted on a SASL listener: c->auth is set, c's frames are
 * bounded and its timer runs. Returns 0 or ERR_NOMEM (the caller closes c). */
int ksauth_start(struct kconn *c);
/* Frees c's authentication state (at close): a coordinator read in flight is orphaned. NULL ok. */
struct ksauth;
void ksauth_free(struct ksauth *a);
bool ksauth_done(const struct ksauth *a);
/* One frame p[0..len) of c while it is not authenticated. Returns 0 (handled), 1 (an ApiVersions
 * request: the caller serves it as usual), or an error after which the caller closes c. */
int ksauth_frame(struct kconn *c, uint8_t *p, size_t len);

/* kapi's handlers of SaslHandshake and SaslAuthenticate outside an authentication (a listener
 * without SASL, or after it succeeded): ILLEGAL_SASL_STATE, as Kafka answers. */
int ksauth_api_handshake(struct broker *b, struct kreq *q, struct kout *o);
int ksauth_api_authenticate(struct broker *b, struct kreq *q, struct kout *o);

#endif

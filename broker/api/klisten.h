/*
 * klisten — the broker's client listeners: one socket per `listeners` entry, plaintext or TLS
 * as listener.security.protocol.map says (the SSL listeners share one TLS context built from the
 * ssl.* keys and reloaded when its files change), each accepted connection served by api/'s
 * kconn tagged with its listener, so that Metadata answers a client with the brokers' endpoints
 * of the listener it came in on, as Kafka does. Also where each listener is advertised
 * (advertised.listeners by name, else the listener's own host, else this host's name) and which
 * one other brokers use (inter.broker.listener.name). The loop thread runs all of it.
 */
#ifndef SAMSA_KLISTEN_H
#define SAMSA_KLISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct kb_node;

/* Opens every listener of b->cfg and fills b->listen, b->n_listen, b->tls, b->adv_host and
 * b->adv_port. Returns 0, or ERR_CONFIG / ERR_IO with the reason in eb (what was opened is
 * closed again by klisten_stop). */
int klisten_start(struct broker *b, char *eb, size_t el);
/* The client side of the inter-broker listener: when it is SSL, a client TLS context from the
 * same ssl.* keys (the keystore as the client certificate, the truststore to verify the leader)
 * into *out, and in *check_host whether ssl.endpoint.identification.algorithm asks for the
 * leader's host name to be checked; *out NULL for a PLAINTEXT one. Returns 0, or ERR_CONFIG /
 * ERR_IO with the reason in eb. Ownership: tls_ctx_free(*out) (kfetcher_set_tls takes it). */
struct tls_ctx;
int klisten_inter_broker_tls(const struct broker *b, struct tls_ctx **out, bool *check_host, char *eb, size_t el);
/* The SASL login of this broker's own connections to other brokers when the inter-broker
 * listener is SASL_SSL: the mechanism sasl.mechanism.inter.broker.protocol (PLAIN by default)
 * and username / password of listener.name.<listener>.<mechanism lower case>.sasl.jaas.config,
 * as Kafka's broker reads them, into b->ib_sasl*. Returns 0 (b->ib_sasl false for a listener
 * without SASL), or ERR_CONFIG with the reason in eb. */
int klisten_inter_broker_sasl(struct broker *b, char *eb, size_t el);
/* Closes the listeners (connections stay) and frees the TLS context. */
void klisten_stop(struct broker *b);
/* One line per listener for the start-up log ("PLAINTEXT://0.0.0.0:9092 (advertised h:9092)"). */
void klisten_describe(const struct broker *b, char *buf, size_t n);

/* Where a client on this broker's listener `listener` (index into cfg->listener; -1: the
 * inter-broker one) reaches node nd: the endpoint of the same name it registered. Returns
 * false when it registered none of that name (Metadata then leaves it out, as Kafka does). */
int klisten_node_endpoint(const struct broker *b, int listener, const struct kb_node *nd, const char **host,
			    int32_t *port);

#endif

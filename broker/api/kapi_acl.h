/*
 * kapi_acl — authorization on the broker's listener: who a request comes from (its principal:
 * the "User:<name>" SASL authenticated (ksauth), else "User:" + the RFC 2253 subject of a
 * verified client certificate, else "User:ANONYMOUS"; and
 * its host, the peer's address), the one check every handler area calls (kapi_acl_ok), and the
 * ACL APIs: DescribeAcls (29, v0-1), CreateAcls (30, v0-1), DeleteAcls (31, v0-1) as Kafka's
 * KafkaApis answers them (DESCRIBE / ALTER on the cluster; SECURITY_DISABLED without an
 * authorizer). Requests on the inter-broker listener are the brokers' own (replica fetches, the
 * control plane, which Kafka checks as CLUSTER_ACTION); brokers connect as PLAINTEXT
 * User:ANONYMOUS today, so that listener is allowed everything. Loop thread.
 */
#ifndef SAMSA_KAPI_ACL_H
#define SAMSA_KAPI_ACL_H

#include <stdbool.h>
#include <stddef.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

/* Whether the request q may do op (enum kacl_op) on the resource of type rtype (enum
 * kacl_rtype) named name (the cluster: NULL): true without an authorizer. */
bool kapi_acl_ok(struct broker *b, const struct kreq *q, int rtype, const char *name, int op);
/* The request's principal into buf (n bytes). */
void kapi_acl_principal(const struct kreq *q, char *buf, size_t n);

int kapi_acl_describe(struct broker *b, struct kreq *q, struct kout *o);
int kapi_acl_create(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
int kapi_acl_delete(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif

/*
 * krec — the records of the broker's metadata cache that are plain data: a registered broker
 * (struct kb_node, from /brokers/ids/<id>) and a partition's assignment and state (struct
 * kb_part, from /brokers/topics/<t> and its state znode). Header only. They live below the
 * broker so that the cache (kb_broker, kb_zkmeta) and the controller role (controller/
 * kcontroller, which must not see struct broker) share one layout.
 */
#ifndef SAMSA_KREC_H
#define SAMSA_KREC_H

#include "kznode.h"

#include <stdint.h>

/* One partition as the coordinator describes it. The arrays are the cache's (malloc'd, freed
 * with their topic). */
struct kb_part {
	int32_t id;
	int32_t leader; /* -1: none */
	int32_t leader_epoch;
	int32_t ctrl_epoch;
	int32_t state_version; /* znode version of .../state, -1 when there is none yet */
	int32_t nrep, nisr;
	int32_t *replicas;
	int32_t *isr; /* as stored in the state znode */
};

/* One live broker as registered. rack is malloc'd (NULL: none), freed with the list. */
struct kb_node {
	int32_t id;
	char host[256]; /* host and port of its inter-broker listener (fetchers, control) */
	int32_t port;
	char *rack;
	int32_t control_port; /* its control-plane listener (CONTROL_PLANE endpoint), -1: none */
	int64_t epoch;	      /* KIP-380 broker epoch: czxid of its /brokers/ids/<id> */
	int n_eps;	      /* every listener it registered (Metadata answers by listener name) */
	struct kznode_endpoint eps[KZNODE_MAX_ENDPOINTS];
};

#endif

/*
 * kassign — Kafka's replica placement, the one copy that the broker (CreateTopics,
 * CreatePartitions) and the tools (kafka-topics --zookeeper) both use, so a topic gets the same
 * replicas whichever way it is created. It is AdminUtils.assignReplicasToBrokersRackUnaware of
 * Kafka 2.x (described in KIP-36): over the brokers sorted by id, partition p's first replica
 * is broker (p + start_index) mod n, replica j+1 is (first + 1 + (shift + j) mod (n - 1)) mod n,
 * and the shift grows by one at every partition id that is a multiple of n, so leaders and
 * followers both spread. Pure arithmetic, no state.
 */
#ifndef SAMSA_KASSIGN_H
#define SAMSA_KASSIGN_H

#include <stdint.h>

/* Fills out[(p - first_part) * rf + j] with replica j of partition p, for the nparts partitions
 * first_part .. first_part + nparts - 1. brokers: nbrokers ids sorted ascending (the caller
 * sorts; Kafka sorts by id). start_index and shift: in [0, nbrokers) (Kafka draws both at random
 * for a new topic; kassign_growth_start gives them when a topic grows). Returns 0, or ERR_INVAL
 * (out untouched) when nbrokers < 1, rf < 1, rf > nbrokers, nparts < 0, first_part < 0 or an
 * index is out of range. */
int kassign_replicas(const int32_t *brokers, int32_t nbrokers, int32_t nparts, int32_t rf, int32_t start_index,
		     int32_t shift, int32_t first_part, int32_t *out);

/* Kafka's start index (and shift) for partitions added to a topic (AdminZkClient's
 * createNewPartitionsAssignment): the position of the first broker, in the sorted list, whose
 * id is >= the first replica of the topic's partition 0; 0 if there is none. */
int32_t kassign_growth_start(const int32_t *brokers, int32_t nbrokers, int32_t partition0_leader);

/* Sorts n broker ids ascending, in place. */
void kassign_sort(int32_t *brokers, int32_t n);

#endif

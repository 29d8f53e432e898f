/*
 * kgplace — where a consumer group lives: the partition of __consumer_offsets that holds its
 * offsets and metadata, whose leader is the group's coordinator. Kafka places a group at
 * Utils.abs(groupId.hashCode) % offsets.topic.num.partitions (GroupMetadataManager.partitionFor),
 * with Java's String.hashCode over the UTF-16 code units of the group id as Java decoded it from
 * the request's UTF-8 bytes, and Kafka's Utils.abs, which maps Integer.MIN_VALUE to 0 (where
 * Math.abs would leave it negative). Every broker and tool must agree on it exactly, or
 * clients are sent to a broker that does not hold their group. Pure functions, any thread.
 */
#ifndef SAMSA_KGPLACE_H
#define SAMSA_KGPLACE_H

#include <stddef.h>
#include <stdint.h>

/* Java's String.hashCode of the string that new String(p[0..len), UTF_8) gives: malformed
 * UTF-8 becomes U+FFFD as the JDK's decoder replaces it (one per malformed subsequence, its
 * length as the JDK measures it; an encoded surrogate is one U+FFFD), code points past U+FFFF
 * count as their surrogate pair. */
int32_t kgplace_java_hash(const uint8_t *p, size_t len);
/* The partition of group id p[0..len) among n (> 0) partitions of __consumer_offsets. */
int32_t kgplace_partition(const uint8_t *p, size_t len, int32_t n);

#endif

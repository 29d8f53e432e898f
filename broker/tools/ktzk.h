/*
 * ktzk — a blocking ZooKeeper session for the command-line tools that write Kafka's znodes
 * themselves (kafka-configs --zookeeper for users' SCRAM credentials): the single-threaded C
 * client pumped with poll() until each call completes or the timeout passes. Calls return
 * ZooKeeper's codes (ZOK, ZNONODE, ...; ZOPERATIONTIMEOUT past the timeout). The tool's main
 * thread runs all of it. (kafka-topics has its own copy of the same loop, kt_zk, for now.)
 */
#ifndef SAMSA_KTZK_H
#define SAMSA_KTZK_H

#include <stddef.h>

struct ktzk;

/* Connects to hosts ("h:p[,h:p][/chroot]") within timeout_ms. Returns ZOK with *out (free with
 * ktzk_close), or an error code (ZBADARGUMENTS for a bad string, ZOPERATIONTIMEOUT). */
int ktzk_open(const char *hosts, int timeout_ms, struct ktzk **out);
void ktzk_close(struct ktzk *z); /* NULL ok */
/* The data of path: ZOK with *data (malloc'd, NUL-terminated; NULL for an empty node) and *len,
 * or the error (ZNONODE when it does not exist). */
int ktzk_get(struct ktzk *z, const char *path, char **data, int *len);
/* Writes data to path, creating it and its missing parents (empty, open ACL) as Kafka's
 * createRecursive does, or setting it when it exists. ZOK or the error. */
int ktzk_put(struct ktzk *z, const char *path, const char *data);
/* Creates a persistent sequential node path<seq> with data (parents created). ZOK or the error. */
int ktzk_create_seq(struct ktzk *z, const char *path, const char *data);

#endif

/*
 * zk_txnrec — a struct zk_txn to and from its on-disk form (TxnRecord in proto/coordlog.proto).
 * The decoder distrusts its input: unknown types, nested multis, missing paths and bad
 * password lengths are ERR_CORRUPT, never a crash.
 */
#ifndef SAMSA_ZK_TXNREC_H
#define SAMSA_ZK_TXNREC_H

#include "zk_types.h"

#include <stddef.h>
#include <stdint.h>

struct wbuf;
struct zk_txnrec;

#define ZK_TXNREC_VERSION 1
#define ZK_TXNREC_MAX_OPS 65536

/* Appends the packed record to w. 0, or ERR_NOMEM / ERR_TOOBIG / ERR_INVAL. */
int zk_txnrec_encode(const struct zk_txn *txn, struct wbuf *w);
/* Decodes p[0..len). On success *out owns everything the txn points to. */
int zk_txnrec_decode(const uint8_t *p, size_t len, struct zk_txnrec **out);
const struct zk_txn *zk_txnrec_txn(const struct zk_txnrec *r);
void zk_txnrec_free(struct zk_txnrec *r); /* NULL ok */


#endif

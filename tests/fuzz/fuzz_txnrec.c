/*
 * Fuzz harness: the txn-log record decoder (TxnRecord protobuf -> struct zk_txn).
 */
#include "err.h"
#include "zk_txnrec.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zk_txnrec *r = NULL;
	if (zk_txnrec_decode(data, size, &r) == 0) {
		const struct zk_txn *t = zk_txnrec_txn(r);
		size_t n = t->path ? strlen(t->path) : 0;
		for (int32_t i = 0; i < t->n_ops; i++)
			n += t->ops[i].path ? strlen(t->ops[i].path) : 0;
		for (int32_t i = 0; i < t->n_acl; i++)
			n += strlen(t->acl[i].scheme) + strlen(t->acl[i].id);
		(void)n;
		zk_txnrec_free(r);
	}
	return 0;
}

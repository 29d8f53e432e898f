/*
 * kassign — Kafka's rack-unaware replica placement (see kassign.h). It owns nothing; the
 * unit test pins its output to the assignments Kafka's own AdminTest expects.
 */
#include "kassign.h"

#include "err.h"

#include <stddef.h>

int kassign_replicas(const int32_t *brokers, int32_t nbrokers, int32_t nparts, int32_t rf, int32_t start_index,
		     int32_t shift, int32_t first_part, int32_t *out)
{
	if (nbrokers < 1 || rf < 1 || rf > nbrokers || nparts < 0 || first_part < 0 || start_index < 0 ||
	    start_index >= nbrokers || shift < 0 || shift >= nbrokers)
		return ERR_INVAL;
	/* as AdminUtils: the shift starts at the given value even when first_part > 0 (a topic
	 * growing), and grows at each partition id in the range that is a positive multiple of n */
	int64_t next_shift = shift;
	for (int32_t i = 0; i < nparts; i++) {
		int64_t p = (int64_t)first_part + i;
		if (p > 0 && p % nbrokers == 0)
			next_shift++;
		int64_t first = (p + start_index) % nbrokers;
		int32_t *row = out + (size_t)i * (size_t)rf;
		row[0] = brokers[first];
		for (int32_t j = 0; j < rf - 1; j++)
			row[j + 1] = brokers[(first + 1 + (next_shift + j) % (nbrokers - 1)) % nbrokers];
	}
	return 0;
}

int32_t kassign_growth_start(const int32_t *brokers, int32_t nbrokers, int32_t partition0_leader)
{
	for (int32_t i = 0; i < nbrokers; i++)
		if (brokers[i] >= partition0_leader)
			return i;
	return 0;
}

void kassign_sort(int32_t *brokers, int32_t n)
{
	for (int32_t i = 1; i < n; i++)
		for (int32_t j = i; j > 0 && brokers[j - 1] > brokers[j]; j--) {
			int32_t x = brokers[j];
			brokers[j] = brokers[j - 1];
			brokers[j - 1] = x;
		}
}

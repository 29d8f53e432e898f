/*
 * kwire — what every Kafka response decoder in broker/wire shares: the growth of a decoded
 * array (bounded by the counts the decoder has already checked against the bytes left) and the
 * one wording of a decoding failure ("Fetch response: truncated at byte 12 of 40"). Pure
 * functions, any thread.
 */
#ifndef SAMSA_KWIRE_H
#define SAMSA_KWIRE_H

#include <stddef.h>

/* Grows *v (*cap elements of size sz) to hold at least need, doubling from 8; 0 or ERR_NOMEM
 * (then *v and *cap are unchanged). */
int kwire_grow(void **v, size_t *cap, size_t need, size_t sz);
/* Writes "<what>: <why> at byte <pos> of <len>" (or "<what>: out of memory") into eb and
 * returns rc, for a decoder that failed with rc at pos. */
int kwire_fail(char *eb, size_t el, int rc, const char *what, size_t pos, size_t len);

#endif

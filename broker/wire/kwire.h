/*
 * kwire — what the Kafka codecs in broker/wire share: the growth of a decoded array (bounded by
 * the counts the decoder has already checked against the bytes left), the one wording of a
 * decoding failure ("Fetch response: truncated at byte 12 of 40"), and the broker's reading of
 * a request's strings and array counts (every count capped at KWIRE_MAX_ITEMS and by the bytes
 * left, every string at KWIRE_MAX_STR). Pure functions, any thread.
 */
#ifndef SAMSA_KWIRE_H
#define SAMSA_KWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;

/* Bounds on request arrays and strings, far above what any client sends. */
#define KWIRE_MAX_ITEMS 100000
#define KWIRE_MAX_STR 32767
/* A topic name's buffer: Kafka's 249 characters, a NUL, and one more to tell a longer name. */
#define KWIRE_TOPIC_BUF (249 + 2)

/* Grows *v (*cap elements of size sz) to hold at least need, doubling from 8; 0 or ERR_NOMEM
 * (then *v and *cap are unchanged). */
int kwire_grow(void **v, size_t *cap, size_t need, size_t sz);
/* Writes "<what>: <why> at byte <pos> of <len>" (or "<what>: out of memory") into eb and
 * returns rc, for a decoder that failed with rc at pos. */
int kwire_fail(char *eb, size_t el, int rc, const char *what, size_t pos, size_t len);

/* Reads a Kafka STRING into the NUL-terminated out[n]: 0; 1 when it was longer than n-1 or held
 * a NUL (out then holds a cut copy and the decoding goes on: the caller refuses the name);
 * r's error on a short read. *null (may be NULL) tells a null string (out is then ""). */
int kwire_str_read(struct rbuf *r, char *out, size_t n, bool *null);
/* Reads an array count of elements at least min_elem bytes each: the count (-1: null), or -2
 * for one over KWIRE_MAX_ITEMS or the bytes left (r's error is then set). */
int32_t kwire_count_read(struct rbuf *r, size_t min_elem);
/* Reads an array count (as kwire_count_read) and returns that many zeroed elements of sz bytes
 * (caller frees), their number in *n; NULL with *n 0 for none. *rc: 0, ERR_PROTO (a bad count,
 * a short read, or null where !nullable; a null array reads as empty) or ERR_NOMEM. */
void *kwire_array_read(struct rbuf *r, size_t min_elem, size_t sz, bool nullable, int32_t *n, int *rc);
/* Copies a string of the request into a new NUL-terminated one (caller frees); NULL without
 * memory. */
char *kwire_strndup(const uint8_t *p, size_t n);

#endif

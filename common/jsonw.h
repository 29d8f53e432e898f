/*
 * jsonw — a streaming JSON writer (RFC 8259) into an evbuffer, the counterpart of common/json's
 * reader: objects, arrays, strings escaped (", \, control characters as \u00XX), integers,
 * doubles (NaN and infinities, which JSON cannot hold, as null), booleans and null. Commas and
 * nesting are tracked by the writer; misuse (a value where a key is due, nesting deeper than
 * JSONW_MAX_DEPTH, unbalanced ends) is a programming error and asserted. Out of memory sticks
 * and is reported by jsonw_finish. One writer per document, on one thread.
 */
#ifndef SAMSA_JSONW_H
#define SAMSA_JSONW_H

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

#define JSONW_MAX_DEPTH 16

struct jsonw {
	struct evbuffer *out; /* not owned */
	int depth;
	bool in_obj[JSONW_MAX_DEPTH];
	bool first[JSONW_MAX_DEPTH];
	bool key_due; /* inside an object, the next thing must be a key */
	int err;
};

void jsonw_init(struct jsonw *w, struct evbuffer *out);
void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/* The next member's key (only inside an object, before its value). */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_double(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* 0 when the document is complete and was written whole; ERR_NOMEM if a write failed. */
int jsonw_finish(const struct jsonw *w);

#endif

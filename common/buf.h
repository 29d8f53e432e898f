/*
 * buf — bounded byte readers and writers: big-endian integers, Kafka's zig-zag varints,
 * length-prefixed strings and byte arrays (Kafka i16/i32/compact lengths, jute i32 lengths).
 *
 * Every decoder of outside bytes in samsa reads through struct rbuf: reading past the end is
 * ERR_TRUNC, never a crash. Errors are sticky: after the first failure every later read fails
 * too, so a decoder may read a whole record and check r->err once. Writers grow up to a hard
 * maximum (ERR_TOOBIG past it) and are sticky in the same way.
 */
#ifndef SAMSA_BUF_H
#define SAMSA_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read cursor over bytes it does not own. Value type: copy freely. */
struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int err; /* 0, or the first error met (sticky) */
};

static inline struct rbuf rbuf_make(const void *p, size_t len)
{
	struct rbuf r = { (const uint8_t *)p, len, 0, 0 };
	return r;
}

static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->err ? 0 : r->len - r->pos;
}

/* All readers: 0 on success with *out set; a negative ERR_* (sticky) with *out zeroed. */
int rbuf_u8(struct rbuf *r, uint8_t *out);
int rbuf_bool(struct rbuf *r, bool *out); /* any non-zero byte is true */
int rbuf_i16(struct rbuf *r, int16_t *out);
int rbuf_i32(struct rbuf *r, int32_t *out);
int rbuf_u32(struct rbuf *r, uint32_t *out);
int rbuf_i64(struct rbuf *r, int64_t *out);
/* Unsigned LEB128 varint of at most 5 bytes (ERR_CORRUPT if longer or over 32 bits). */
int rbuf_uvarint(struct rbuf *r, uint32_t *out);
/* Zig-zag varint (Kafka "varint", 32 bits) and varlong (64 bits, at most 10 bytes). */
int rbuf_varint(struct rbuf *r, int32_t *out);
int rbuf_varlong(struct rbuf *r, int64_t *out);
/* Skips n bytes. */
int rbuf_skip(struct rbuf *r, size_t n);
/* Points *out at the next n bytes (no copy). */
int rbuf_raw(struct rbuf *r, size_t n, const uint8_t **out);

/*
 * Length-prefixed byte strings, returned as a pointer into the buffer (no copy) and a length.
 * A negative length on the wire means null: *out = NULL, *len = -1. A length over max (or a
 * negative other than -1) is ERR_TOOBIG / ERR_CORRUPT before anything is read or allocated.
 *   _i16:     Kafka STRING / NULLABLE_STRING (int16 length)
 *   _i32:     Kafka BYTES / jute buffer and ustring (int32 length)
 *   _compact: Kafka COMPACT_* (unsigned varint length + 1; 0 means null)
 *   _varint:  Kafka record fields (zig-zag varint length; -1 means null)
 */
int rbuf_bytes_i16(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len);
int rbuf_bytes_i32(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len);
int rbuf_bytes_compact(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len);
int rbuf_bytes_varint(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len);

/* Reads an int32 element count of an array and checks it against max and against the bytes
 * left (each element is at least min_elem_size bytes), so a caller can allocate count elements
 * safely. -1 (null array) gives *count = -1. */
int rbuf_count_i32(struct rbuf *r, int32_t max, size_t min_elem_size, int32_t *count);
/* The same for a Kafka COMPACT_ARRAY count (unsigned varint count + 1; 0 is null, -1). */
int rbuf_count_compact(struct rbuf *r, int32_t max, size_t min_elem_size, int32_t *count);
/* Skips a Kafka tagged-field section (flexible versions: an unsigned varint count, then for each
 * field its tag, its size and size bytes), adding the number of fields skipped to *skipped. */
int rbuf_tags_skip(struct rbuf *r, uint32_t *skipped);

/*
 * A growable output buffer with a hard maximum. It owns p (free with wbuf_free). Writers
 * return 0 or a sticky negative error (ERR_NOMEM, ERR_TOOBIG).
 */
struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* never grows past this many bytes */
	int err;
};

void wbuf_init(struct wbuf *w, size_t max);
void wbuf_free(struct wbuf *w); /* accepts a zeroed wbuf; leaves it empty and reusable */
void wbuf_reset(struct wbuf *w); /* len = 0 and err = 0; keeps the memory */
/* Makes room for n more bytes and returns a pointer to them (len is not advanced), or NULL. */
uint8_t *wbuf_reserve(struct wbuf *w, size_t n);
int wbuf_raw(struct wbuf *w, const void *p, size_t n);
int wbuf_u8(struct wbuf *w, uint8_t v);
int wbuf_bool(struct wbuf *w, bool v);
int wbuf_i16(struct wbuf *w, int16_t v);
int wbuf_i32(struct wbuf *w, int32_t v);
int wbuf_u32(struct wbuf *w, uint32_t v);
int wbuf_i64(struct wbuf *w, int64_t v);
int wbuf_uvarint(struct wbuf *w, uint32_t v);
int wbuf_varint(struct wbuf *w, int32_t v);
int wbuf_varlong(struct wbuf *w, int64_t v);
/* Length-prefixed bytes; p == NULL writes the null marker. */
int wbuf_bytes_i16(struct wbuf *w, const void *p, int32_t len);
int wbuf_bytes_i32(struct wbuf *w, const void *p, int32_t len);
int wbuf_bytes_compact(struct wbuf *w, const void *p, int32_t len);
int wbuf_bytes_varint(struct wbuf *w, const void *p, int32_t len);
/* Writes a NUL-terminated string with an int32 (jute) or int16 (Kafka) length; NULL = null. */
int wbuf_str_i32(struct wbuf *w, const char *s);
int wbuf_str_i16(struct wbuf *w, const char *s);
/* Overwrites 4 bytes at offset off (already written) with v, big-endian: for length prefixes. */
void wbuf_put_i32_at(struct wbuf *w, size_t off, int32_t v);

/* Reads exactly 4 hex digits at s (the caller has checked there are 4 bytes) into *out:
 * 0, or -1 when one is not a hex digit. (The \uXXXX escapes of properties and JSON.) */
int hex4_get(const char *s, uint32_t *out);
/* Writes code point cp (at most U+10FFFF) as UTF-8 into out[0..3]; returns the byte count.
 * (The properties and JSON readers decode \uXXXX escapes with it.) */
size_t utf8_put(uint32_t cp, char *out);

/* Plain big-endian helpers for fixed headers. */
static inline uint32_t be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif

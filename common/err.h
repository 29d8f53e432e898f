/*
 * err — the one list of error codes used across samsa.
 *
 * Functions return int: 0 (ERR_OK) on success, a negative ERR_* code on failure. Details
 * (file, line, key, peer) go into a caller-supplied error buffer, never into the code.
 * ERR_AGAIN means "incomplete input, call again with more" and is never logged as an error.
 */
#ifndef SAMSA_ERR_H
#define SAMSA_ERR_H

#include <stddef.h>

#define ERR_LIST(X)                                                   \
	X(OK, 0, "success")                                           \
	X(AGAIN, -1, "incomplete, call again")                        \
	X(NOMEM, -2, "out of memory")                                 \
	X(INVAL, -3, "invalid argument")                              \
	X(RANGE, -4, "value out of range")                            \
	X(TRUNC, -5, "truncated input")                               \
	X(TOOBIG, -6, "length over the maximum")                      \
	X(IO, -7, "input/output error")                               \
	X(CORRUPT, -8, "corrupt data")                                \
	X(NOTFOUND, -9, "not found")                                  \
	X(EXISTS, -10, "already exists")                              \
	X(CONFIG, -11, "bad configuration")                           \
	X(PROTO, -12, "protocol error")                               \
	X(CLOSED, -13, "connection closed")                           \
	X(VERSION, -14, "unsupported version")                        \
	X(FULL, -15, "buffer full")                                   \
	X(BUSY, -16, "busy")                                          \
	X(NOTLEADER, -17, "not the leader")

enum err {
#define ERR_ENUM_(name, code, text) ERR_##name = (code),
	ERR_LIST(ERR_ENUM_)
#undef ERR_ENUM_
};

/* Static text for an error code; never NULL (unknown codes give "unknown error"). */
const char *err_str(int code);

/* Writes printf-style text into buf (of size len, may be 0/NULL) and returns code, so that
 * callers can write `return err_set(buf, len, ERR_CONFIG, "%s:%d: ...", ...)`. */
int err_set(char *buf, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefixes the text already in buf with printf-style context ("file.c: " + old text). */
void err_wrap(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

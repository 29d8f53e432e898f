/*
 * props — a Java-properties parser that reads files exactly as java.util.Properties.load does
 * ('#'/'!' comments, '='/':'/whitespace separators, backslash continuation lines and escapes,
 * \uXXXX), keeping the line of each key so errors can name it. Duplicate keys: last wins.
 */
#ifndef SAMSA_PROPS_H
#define SAMSA_PROPS_H

#include <stddef.h>

struct props;

#define PROPS_MAX_INPUT (16u << 20)

/* Parses text (not NUL-terminated; len bytes). filename is used in messages. Returns 0 with
 * *out set (free with props_free), or ERR_CONFIG ("file:line: Malformed \uxxxx encoding") /
 * ERR_TOOBIG / ERR_NOMEM with text in errbuf. */
int props_parse(const char *text, size_t len, const char *filename, struct props **out, char *errbuf,
		size_t errlen);
/* Reads and parses a file; ERR_IO naming the path when it cannot be read. */
int props_load_file(const char *path, struct props **out, char *errbuf, size_t errlen);
const char *props_get(const struct props *p, const char *key); /* NULL if absent */
size_t props_count(const struct props *p);
/* The i-th key in file order (after duplicates were merged into their last position... kept at
 * the first position with the last value); line is the line the key started on. */
int props_at(const struct props *p, size_t i, const char **key, const char **value, int *line);
const char *props_filename(const struct props *p);
void props_free(struct props *p);

#endif

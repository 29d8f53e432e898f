/*
 * jaas — Java's JAAS login configuration, as ZooKeeper and Kafka read it: a file of sections
 * ("Server { <entry>; <entry>; };") and the entries themselves ("<LoginModule class>
 * <required|requisite|sufficient|optional> key="value" ... ;"), which Kafka also takes inline
 * in its *.sasl.jaas.config keys. Values may be quoted (backslash escapes) or bare words;
 * comments (// and block) are skipped. Pure functions; the text is the caller's.
 */
#ifndef SAMSA_JAAS_H
#define SAMSA_JAAS_H

#include <stddef.h>

#define JAAS_MAX_TOKEN 4096 /* bytes of one name or value */

/* One option of an entry: key and value NUL-terminated, valid during the call only. */
typedef void (*jaas_opt_fn)(const char *key, const char *value, void *arg);

/* Parses one entry s[0..n): its module's class name into module[mn], then every option in
 * order through opt. The entry ends with ';' and nothing but blanks may follow. 0, or
 * ERR_PROTO with the reason in eb. */
int jaas_entry_parse(const char *s, size_t n, char *module, size_t mn, jaas_opt_fn opt, void *arg, char *eb,
		     size_t el);

/* Finds section `name` in a configuration file's text and calls entry for each of its entries
 * (the entry's text, ';' included, ready for jaas_entry_parse). 0, ERR_NOTFOUND (no such
 * section), or ERR_PROTO with the reason in eb (unbalanced braces, an unterminated quote). */
int jaas_section(const char *text, const char *name, void (*entry)(const char *s, size_t n, void *arg), void *arg,
		 char *eb, size_t el);

#endif

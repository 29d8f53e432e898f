/*
 * cfg — a typed configuration table (name, type, range, default, flags) applied to a struct
 * from a parsed properties file: defaults first, then every key, each value checked. A bad
 * value is an error naming file, line, key and value; an unknown key is a warning in the log.
 */
#ifndef SAMSA_CFG_H
#define SAMSA_CFG_H

#include <stddef.h>
#include <stdint.h>

struct props;
struct wbuf;

#define CFG_MAX_STRING (1 << 20) /* bytes of a string value (inline PEM material is a few KiB) */

enum cfg_type {
	CFG_INT,    /* int32_t */
	CFG_LONG,   /* int64_t */
	CFG_BOOL,   /* bool: true/false, any case */
	CFG_STRING, /* char *, owned by the struct (cfg_free); at most CFG_MAX_STRING bytes */
};

enum cfg_flags {
	CFG_HIDDEN = 1,	  /* test-only knob: not listed by cfg_format */
	CFG_REQUIRED = 2, /* a missing key is an error */
	CFG_PREFIX = 4,	  /* name is a prefix ("server."): matching keys are accepted, not stored */
};

struct cfg_def {
	const char *name;
	enum cfg_type type;
	int64_t min, max; /* CFG_INT / CFG_LONG */
	const char *def;  /* default as text; NULL = 0 / false / NULL string */
	size_t offset;	  /* of the field in the target struct */
	unsigned flags;
	const char *doc;
};

/* Applies defaults then p's keys to out. Returns 0 or ERR_CONFIG with the message in errbuf;
 * on error, strings already set stay owned by out (cfg_free releases them). */
int cfg_apply(const struct cfg_def *defs, size_t n, const struct props *p, void *out, char *errbuf,
	      size_t errlen);
/* Sets one key from text (e.g. a command-line override). Unknown key is ERR_CONFIG here. */
int cfg_set(const struct cfg_def *defs, size_t n, void *out, const char *key, const char *value, char *errbuf,
	    size_t errlen);
/* Splits a command-line override "key=value" into key (copied into keybuf) and *value. */
int cfg_split_override(const char *kv, char *keybuf, size_t keylen, const char **value, char *errbuf,
		       size_t errlen);
/* Frees the CFG_STRING fields (and sets them NULL). */
void cfg_free(const struct cfg_def *defs, size_t n, void *out);
/* "key=value\n" for every non-hidden, non-prefix key. */
int cfg_format(const struct cfg_def *defs, size_t n, const void *out, struct wbuf *w);

#endif

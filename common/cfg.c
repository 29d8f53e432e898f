/*
 * cfg — the typed config table (see cfg.h). Values are trimmed of surrounding whitespace
 * (Java keeps trailing blanks in a property, but Kafka and ZooKeeper trim what they read).
 */
#include "cfg.h"

#include "buf.h"
#include "err.h"
#include "log.h"
#include "props.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const CFG_MOD = "config";

static const struct cfg_def *cfg_find(const struct cfg_def *defs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (defs[i].flags & CFG_PREFIX) {
			if (!strncmp(key, defs[i].name, strlen(defs[i].name)) || !strcmp(key, defs[i].name))
				return &defs[i];
		} else if (!strcmp(key, defs[i].name)) {
			return &defs[i];
		}
	}
	return NULL;
}

/* Parses a decimal integer with optional sign, nothing else; 0 or -1. */
static int cfg_parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_C(9223372036854775808) - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int cfg_store(const struct cfg_def *d, void *out, const char *raw, const char *file, int line,
		     char *errbuf, size_t errlen)
{
	char where[512];
	char val[1024];
	char *field = (char *)out + d->offset;
	const char *s = raw ? raw : "";

	if (line > 0)
		snprintf(where, sizeof(where), "%s:%d", file, line);
	else
		snprintf(where, sizeof(where), "%s", file);
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (d->type == CFG_STRING) {
		/* strings may be long (inline PEM certificates); other values fit val */
		if (len > CFG_MAX_STRING)
			return err_set(errbuf, errlen, ERR_CONFIG, "%s: value for '%s' is longer than %d bytes", where,
				       d->name, CFG_MAX_STRING);
		char *old;
		char *copy = NULL;
		if (raw) {
			copy = strndup(s, len);
			if (!copy)
				return ERR_NOMEM;
		}
		memcpy(&old, field, sizeof(old));
		free(old);
		memcpy(field, &copy, sizeof(copy));
		return 0;
	}
	if (len >= sizeof(val))
		return err_set(errbuf, errlen, ERR_CONFIG, "%s: value for '%s' is too long", where, d->name);
	memcpy(val, s, len);
	val[len] = '\0';

	switch (d->type) {
	case CFG_INT:
	case CFG_LONG: {
		int64_t v = 0;
		int64_t lo = d->min, hi = d->max;
		if (d->type == CFG_INT) {
			if (lo < INT32_MIN)
				lo = INT32_MIN;
			if (hi > INT32_MAX || hi < lo)
				hi = INT32_MAX;
		} else if (hi < lo) {
			hi = INT64_MAX;
		}
		if (!raw) {
			v = 0;
		} else if (cfg_parse_int(val, &v) || v < lo || v > hi) {
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for '%s': expected an integer in [%" PRId64 ", %" PRId64 "]",
				       where, val, d->name, lo, hi);
		}
		if (d->type == CFG_INT) {
			int32_t v32 = (int32_t)v;
			memcpy(field, &v32, sizeof(v32));
		} else {
			memcpy(field, &v, sizeof(v));
		}
		return 0;
	}
	case CFG_BOOL: {
		bool b;
		if (!raw || !strcasecmp(val, "false"))
			b = false;
		else if (!strcasecmp(val, "true"))
			b = true;
		else
			return err_set(errbuf, errlen, ERR_CONFIG,
				       "%s: invalid value '%s' for '%s': expected true or false", where, val, d->name);
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	case CFG_STRING: /* above */
		break;
	}
	return ERR_INVAL;
}

int cfg_apply(const struct cfg_def *defs, size_t n, const struct props *p, void *out, char *errbuf,
	      size_t errlen)
{
	const char *file = props_filename(p) ? props_filename(p) : "(config)";
	int rc;
	for (size_t i = 0; i < n; i++) {
		if (defs[i].flags & CFG_PREFIX)
			continue;
		if (defs[i].type == CFG_STRING) {
			char *null = NULL;
			memcpy((char *)out + defs[i].offset, &null, sizeof(null));
		}
		rc = cfg_store(&defs[i], out, defs[i].def, "default", 0, errbuf, errlen);
		if (rc)
			return rc;
	}
	for (size_t k = 0; k < props_count(p); k++) {
		const char *key, *value;
		int line;
		props_at(p, k, &key, &value, &line);
		const struct cfg_def *d = cfg_find(defs, n, key);
		if (!d) {
			log_warn(CFG_MOD, "%s:%d: unknown key '%s' is ignored", file, line, key);
			continue;
		}
		if (d->flags & CFG_PREFIX)
			continue;
		rc = cfg_store(d, out, value, file, line, errbuf, errlen);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++)
		if ((defs[i].flags & CFG_REQUIRED) && !props_get(p, defs[i].name))
			return err_set(errbuf, errlen, ERR_CONFIG, "%s: missing required key '%s'", file, defs[i].name);
	return 0;
}

int cfg_set(const struct cfg_def *defs, size_t n, void *out, const char *key, const char *value, char *errbuf,
	    size_t errlen)
{
	const struct cfg_def *d = cfg_find(defs, n, key);
	if (!d || (d->flags & CFG_PREFIX))
		return err_set(errbuf, errlen, ERR_CONFIG, "unknown key '%s'", key);
	return cfg_store(d, out, value, "override", 0, errbuf, errlen);
}

int cfg_split_override(const char *kv, char *keybuf, size_t keylen, const char **value, char *errbuf,
		       size_t errlen)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || (size_t)(eq - kv) >= keylen)
		return err_set(errbuf, errlen, ERR_CONFIG, "override '%s': expected key=value", kv);
	memcpy(keybuf, kv, (size_t)(eq - kv));
	keybuf[eq - kv] = '\0';
	*value = eq + 1;
	return 0;
}

void cfg_free(const struct cfg_def *defs, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		if (defs[i].type != CFG_STRING || (defs[i].flags & CFG_PREFIX))
			continue;
		char *s;
		memcpy(&s, (char *)out + defs[i].offset, sizeof(s));
		free(s);
		s = NULL;
		memcpy((char *)out + defs[i].offset, &s, sizeof(s));
	}
}

int cfg_format(const struct cfg_def *defs, size_t n, const void *out, struct wbuf *w)
{
	char line[1400];
	for (size_t i = 0; i < n; i++) {
		const struct cfg_def *d = &defs[i];
		const char *field = (const char *)out + d->offset;
		int len = 0;
		if (d->flags & (CFG_HIDDEN | CFG_PREFIX))
			continue;
		switch (d->type) {
		case CFG_INT: {
			int32_t v;
			memcpy(&v, field, sizeof(v));
			len = snprintf(line, sizeof(line), "%s=%d\n", d->name, v);
			break;
		}
		case CFG_LONG: {
			int64_t v;
			memcpy(&v, field, sizeof(v));
			len = snprintf(line, sizeof(line), "%s=%" PRId64 "\n", d->name, v);
			break;
		}
		case CFG_BOOL: {
			bool v;
			memcpy(&v, field, sizeof(v));
			len = snprintf(line, sizeof(line), "%s=%s\n", d->name, v ? "true" : "false");
			break;
		}
		case CFG_STRING: {
			const char *v;
			memcpy(&v, field, sizeof(v));
			len = snprintf(line, sizeof(line), "%s=%s\n", d->name, v ? v : "");
			break;
		}
		}
		if (len > 0)
			wbuf_raw(w, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	}
	return w->err;
}

/*
 * props — Java properties (see props.h). The grammar follows java.util.Properties.load(Reader):
 * a natural line ends at \n, \r or \r\n; a logical line joins natural lines whose ending has an
 * odd number of backslashes (the continuation's leading whitespace is dropped); blank lines and
 * lines whose first non-whitespace character is '#' or '!' are skipped; the key runs to the
 * first unescaped '=', ':' or whitespace; then whitespace, at most one '=' or ':', whitespace;
 * the value is the rest. Escapes: \t \n \r \f, \uXXXX, and backslash + any other character is
 * that character. Whitespace is ' ', '\t' and '\f'.
 */
#include "props.h"

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stdint.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct props_entry {
	char *key;
	char *value;
	int line;
};

struct props {
	struct props_entry *v;
	size_t n, cap;
	char *filename;
};

static bool props_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

/* The 4 hex digits of a \u escape at s, n bytes left. */
static int props_hex4(const char *s, size_t n, uint32_t *out)
{
	return n < 4 ? -1 : hex4_get(s, out);
}

/*
 * Unescapes s[0..n) into a new string. Returns NULL with *bad set on a malformed \u escape,
 * or NULL on allocation failure.
 */
static char *props_unescape(const char *s, size_t n, bool *bad)
{
	char *out = malloc(n * 2 + 1); /* \uXXXX (6 bytes) -> at most 4 bytes of UTF-8 */
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c != '\\' || i + 1 >= n) {
			if (c != '\\')
				out[o++] = c;
			continue;
		}
		c = s[++i];
		switch (c) {
		case 't':
			out[o++] = '\t';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'u': {
			uint32_t cp;
			if (props_hex4(s + i + 1, n - i - 1, &cp)) {
				*bad = true;
				free(out);
				return NULL;
			}
			i += 4;
			uint32_t lo;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n + 0 && s[i + 1] == '\\' && s[i + 2] == 'u' &&
			    !props_hex4(s + i + 3, n - i - 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			o += utf8_put(cp, out + o);
			break;
		}
		default:
			out[o++] = c;
			break;
		}
	}
	out[o] = '\0';
	return out;
}

static int props_put(struct props *p, char *key, char *value, int line)
{
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->v[i].key, key)) {
			free(key);
			free(p->v[i].value);
			p->v[i].value = value;
			p->v[i].line = line;
			return 0;
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct props_entry *nv = realloc(p->v, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n].key = key;
	p->v[p->n].value = value;
	p->v[p->n].line = line;
	p->n++;
	return 0;
}

int props_parse(const char *text, size_t len, const char *filename, struct props **out, char *errbuf,
		size_t errlen)
{
	struct props *p;
	char *logical = NULL;
	size_t pos = 0;
	int line = 0;
	int rc = 0;
	const char *fname = filename ? filename : "(properties)";

	*out = NULL;
	if (len > PROPS_MAX_INPUT)
		return err_set(errbuf, errlen, ERR_TOOBIG, "%s: larger than %u bytes", fname, PROPS_MAX_INPUT);
	p = calloc(1, sizeof(*p));
	if (!p || !(p->filename = strdup(fname))) {
		free(p);
		return ERR_NOMEM;
	}
	logical = malloc(len + 1);
	if (!logical) {
		props_free(p);
		return ERR_NOMEM;
	}
	while (pos < len) {
		/* gather one logical line into `logical` */
		size_t ll = 0;
		int start_line = line + 1;
		bool first = true;
		bool comment = false;
		for (;;) {
			size_t s = pos;
			while (pos < len && text[pos] != '\n' && text[pos] != '\r')
				pos++;
			size_t e = pos;
			line++;
			if (pos < len) {
				if (text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')
					pos++;
				pos++;
			}
			/* leading whitespace: of the first line, and of continuation lines */
			while (s < e && props_ws(text[s]))
				s++;
			if (first) {
				if (s == e)
					break; /* blank line */
				if (text[s] == '#' || text[s] == '!') {
					comment = true;
					break;
				}
				first = false;
			}
			size_t bs = 0;
			while (bs < e - s && text[e - 1 - bs] == '\\')
				bs++;
			bool cont = (bs % 2) == 1;
			size_t n = e - s - (cont ? 1 : 0);
			memcpy(logical + ll, text + s, n);
			ll += n;
			if (!cont || pos >= len)
				break;
		}
		if (comment || first)
			continue;
		/* split key / value */
		size_t k = 0;
		while (k < ll) {
			char c = logical[k];
			if (c == '\\') {
				k += 2;
				continue;
			}
			if (c == '=' || c == ':' || props_ws(c))
				break;
			k++;
		}
		if (k > ll)
			k = ll;
		size_t v = k;
		while (v < ll && props_ws(logical[v]))
			v++;
		if (v < ll && (logical[v] == '=' || logical[v] == ':')) {
			v++;
			while (v < ll && props_ws(logical[v]))
				v++;
		}
		bool bad = false;
		char *key = props_unescape(logical, k, &bad);
		char *value = key ? props_unescape(logical + v, ll - v, &bad) : NULL;
		if (!key || !value) {
			free(key);
			free(value);
			rc = bad ? err_set(errbuf, errlen, ERR_CONFIG, "%s:%d: Malformed \\uxxxx encoding", fname,
					   start_line)
				 : ERR_NOMEM;
			break;
		}
		rc = props_put(p, key, value, start_line);
		if (rc) {
			free(key);
			free(value);
			break;
		}
	}
	free(logical);
	if (rc) {
		props_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int props_load_file(const char *path, struct props **out, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	if (!f)
		return err_set(errbuf, errlen, ERR_IO, "cannot read config file %s: %s", path, strerror(errno));
	char *buf = malloc(PROPS_MAX_INPUT + 1);
	if (!buf) {
		fclose(f);
		return ERR_NOMEM;
	}
	size_t n = fread(buf, 1, PROPS_MAX_INPUT + 1, f);
	int ioerr = ferror(f);
	fclose(f);
	int rc;
	if (ioerr)
		rc = err_set(errbuf, errlen, ERR_IO, "cannot read config file %s", path);
	else
		rc = props_parse(buf, n, path, out, errbuf, errlen);
	free(buf);
	return rc;
}

const char *props_get(const struct props *p, const char *key)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!strcmp(p->v[i].key, key))
			return p->v[i].value;
	return NULL;
}

size_t props_count(const struct props *p)
{
	return p ? p->n : 0;
}

int props_at(const struct props *p, size_t i, const char **key, const char **value, int *line)
{
	if (!p || i >= p->n)
		return ERR_RANGE;
	if (key)
		*key = p->v[i].key;
	if (value)
		*value = p->v[i].value;
	if (line)
		*line = p->v[i].line;
	return 0;
}

const char *props_filename(const struct props *p)
{
	return p ? p->filename : NULL;
}

void props_free(struct props *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
	free(p->filename);
	free(p);
}

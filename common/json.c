/*
 * json — the reader (see json.h): recursive descent over a bounded buffer.
 */
#include "json.h"

#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct json_p {
	const char *s;
	size_t len, pos;
	int depth;
	char *eb;
	size_t el;
};

static int json_fail(struct json_p *p, const char *what)
{
	return err_set(p->eb, p->el, ERR_CORRUPT, "invalid JSON at byte %zu: %s", p->pos, what);
}

static void json_ws(struct json_p *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
				   p->s[p->pos] == '\r'))
		p->pos++;
}

static int json_value(struct json_p *p, struct json **out);

static int json_hex4(struct json_p *p, uint32_t *out)
{
	uint32_t v = 0;
	if (p->len - p->pos < 4)
		return json_fail(p, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return json_fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

/* Reads a string (p->pos at the opening quote) into a new NUL-terminated copy. */
static int json_string(struct json_p *p, char **out)
{
	p->pos++;
	size_t cap = 16, n = 0;
	char *b = malloc(cap);
	if (!b)
		return ERR_NOMEM;
	for (;;) {
		if (p->pos >= p->len) {
			free(b);
			return json_fail(p, "unterminated string");
		}
		unsigned char c = (unsigned char)p->s[p->pos++];
		uint32_t cp;
		if (c == '"')
			break;
		if (c < 0x20) {
			free(b);
			return json_fail(p, "control character in string");
		}
		if (c == '\\') {
			if (p->pos >= p->len) {
				free(b);
				return json_fail(p, "unterminated escape");
			}
			char e = p->s[p->pos++];
			switch (e) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u': {
				int rc = json_hex4(p, &cp);
				if (!rc && cp >= 0xd800 && cp < 0xdc00) {
					uint32_t lo;
					if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
						rc = json_fail(p, "lone surrogate");
					} else {
						p->pos += 2;
						rc = json_hex4(p, &lo);
						if (!rc && (lo < 0xdc00 || lo > 0xdfff))
							rc = json_fail(p, "bad surrogate pair");
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					}
				} else if (!rc && cp >= 0xdc00 && cp <= 0xdfff) {
					rc = json_fail(p, "lone surrogate");
				}
				if (!rc && cp == 0)
					rc = json_fail(p, "NUL in string");
				if (rc) {
					free(b);
					return rc;
				}
				break;
			}
			default:
				free(b);
				return json_fail(p, "bad escape");
			}
		} else {
			cp = c; /* raw bytes (UTF-8) are copied as they are */
		}
		if (n + 5 > cap) {
			cap *= 2;
			char *nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return ERR_NOMEM;
			}
			b = nb;
		}
		if (cp < 0x80 || c != '\\') {
			b[n++] = (char)cp;
		} else if (cp < 0x800) {
			b[n++] = (char)(0xc0 | (cp >> 6));
			b[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			b[n++] = (char)(0xe0 | (cp >> 12));
			b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			b[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			b[n++] = (char)(0xf0 | (cp >> 18));
			b[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			b[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	b[n] = '\0';
	*out = b;
	return 0;
}

static int json_add(struct json *j, char *key, struct json *kid)
{
	if ((j->n & (j->n - 1)) == 0) { /* grow at powers of two */
		size_t cap = j->n ? j->n * 2 : 4;
		struct json **nk = realloc(j->kids, cap * sizeof(*nk));
		if (!nk)
			return ERR_NOMEM;
		j->kids = nk;
		if (j->type == JSON_OBJ) {
			char **nkeys = realloc(j->keys, cap * sizeof(*nkeys));
			if (!nkeys)
				return ERR_NOMEM;
			j->keys = nkeys;
		}
	}
	if (j->type == JSON_OBJ)
		j->keys[j->n] = key;
	j->kids[j->n++] = kid;
	return 0;
}

static int json_container(struct json_p *p, struct json *j, char close)
{
	p->pos++;
	if (++p->depth > JSON_MAX_DEPTH)
		return json_fail(p, "nested too deeply");
	json_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		struct json *kid = NULL;
		int rc;
		json_ws(p);
		if (close == '}') {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return json_fail(p, "expected a key");
			rc = json_string(p, &key);
			if (rc)
				return rc;
			json_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				return json_fail(p, "expected ':'");
			}
			p->pos++;
		}
		rc = json_value(p, &kid);
		if (!rc)
			rc = json_add(j, key, kid);
		if (rc) {
			free(key);
			json_free(kid);
			return rc;
		}
		json_ws(p);
		if (p->pos >= p->len)
			return json_fail(p, "unterminated container");
		char c = p->s[p->pos++];
		if (c == close)
			break;
		if (c != ',')
			return json_fail(p, "expected ',' or the closing bracket");
	}
	p->depth--;
	return 0;
}

static int json_number(struct json_p *p, struct json *j)
{
	char tmp[64];
	size_t start = p->pos, n = 0;
	while (p->pos < p->len && strchr("+-0123456789.eE", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
	n = p->pos - start;
	if (n == 0 || n >= sizeof(tmp))
		return json_fail(p, "bad number");
	memcpy(tmp, p->s + start, n);
	tmp[n] = '\0';
	/* JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	const char *c = tmp;
	if (*c == '-')
		c++;
	if (*c == '0' && c[1] >= '0' && c[1] <= '9')
		return json_fail(p, "leading zero");
	if (*c < '0' || *c > '9')
		return json_fail(p, "bad number");
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (*end || errno == ERANGE || !isfinite(v))
		return json_fail(p, "bad number");
	j->num = v;
	return 0;
}

static int json_value(struct json_p *p, struct json **out)
{
	*out = NULL;
	json_ws(p);
	if (p->pos >= p->len)
		return json_fail(p, "expected a value");
	struct json *j = calloc(1, sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	int rc = 0;
	char c = p->s[p->pos];
	if (c == '{') {
		j->type = JSON_OBJ;
		rc = json_container(p, j, '}');
	} else if (c == '[') {
		j->type = JSON_ARR;
		rc = json_container(p, j, ']');
	} else if (c == '"') {
		j->type = JSON_STR;
		rc = json_string(p, &j->str);
	} else if (p->len - p->pos >= 4 && !memcmp(p->s + p->pos, "true", 4)) {
		j->type = JSON_BOOL;
		j->b = true;
		p->pos += 4;
	} else if (p->len - p->pos >= 5 && !memcmp(p->s + p->pos, "false", 5)) {
		j->type = JSON_BOOL;
		p->pos += 5;
	} else if (p->len - p->pos >= 4 && !memcmp(p->s + p->pos, "null", 4)) {
		j->type = JSON_NULL;
		p->pos += 4;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		j->type = JSON_NUM;
		rc = json_number(p, j);
	} else {
		rc = json_fail(p, "unexpected character");
	}
	if (rc) {
		json_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

int json_parse(const char *s, size_t len, struct json **out, char *eb, size_t el)
{
	struct json_p p = { s, len, 0, 0, eb, el };
	*out = NULL;
	int rc = json_value(&p, out);
	if (rc)
		return rc;
	json_ws(&p);
	if (p.pos != len) {
		json_free(*out);
		*out = NULL;
		return json_fail(&p, "trailing bytes");
	}
	return 0;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		json_free(j->kids[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->kids);
	free(j->keys);
	free(j->str);
	free(j);
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->kids[i];
	return NULL;
}

const struct json *json_at(const struct json *arr, size_t i)
{
	if (!arr || (arr->type != JSON_ARR && arr->type != JSON_OBJ) || i >= arr->n)
		return NULL;
	return arr->kids[i];
}

size_t json_count(const struct json *j)
{
	return j && (j->type == JSON_ARR || j->type == JSON_OBJ) ? j->n : 0;
}

bool json_int(const struct json *j, int64_t *out)
{
	if (!j)
		return false;
	if (j->type == JSON_STR) {
		char *end;
		errno = 0;
		long long v = strtoll(j->str, &end, 10);
		if (!j->str[0] || *end || errno)
			return false;
		*out = v;
		return true;
	}
	if (j->type != JSON_NUM || j->num != floor(j->num) || fabs(j->num) > 4.5e15)
		return false;
	*out = (int64_t)j->num;
	return true;
}

const char *json_str(const struct json *j)
{
	return j && j->type == JSON_STR ? j->str : NULL;
}

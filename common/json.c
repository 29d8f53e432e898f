/*
 * json — the reader of json.h. A recursive-descent parser over a bounded cursor builds a flat
 * array of values; each array or object keeps its children as one contiguous run of indices
 * (collected on a scratch stack while the container is open, copied out when it closes), so
 * json_at is O(1) and the whole parse is O(input). Decoded strings and keys live in one arena of
 * len + 1 bytes: a string token of r input bytes (quotes included) decodes to at most r - 2 bytes
 * plus its NUL, so the arena can never overflow.
 *
 * Invariants after a successful parse: every node's kids run lies inside doc->kids; every string
 * offset + length + 1 lies inside doc->arena; nothing is modified again until json_free.
 */
#include "json.h"

#include "buf.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JSON_NUMBER_MAX = 1024 }; /* characters in one number token */

struct json_value {
	const struct json_doc *doc;
	enum json_type type;
	bool b;
	bool is_int;
	bool has_key;
	int64_t i;
	double d;
	uint32_t str, str_len; /* string: arena offset and length */
	uint32_t key, key_len; /* member of an object: its key in the arena */
	uint32_t kids, n_kids; /* array/object: run in doc->kids */
};

struct json_doc {
	struct json_value *v;
	uint32_t n, cap;
	uint32_t *kids;
	uint32_t n_kids_used, kids_cap;
	char *arena;
	uint32_t arena_used;
};

/* Parser state; lives on the stack of json_parse. */
struct json_parser {
	const char *p;
	size_t len, pos;
	struct json_doc *doc;
	uint32_t *stack; /* children of the open containers, innermost last */
	uint32_t stack_n, stack_cap;
	char *errbuf;
	size_t errlen;
};

static int json_fail(struct json_parser *jp, const char *what)
{
	return err_set(jp->errbuf, jp->errlen, ERR_CORRUPT, "json: offset %zu: %s", jp->pos, what);
}

static void json_skip_ws(struct json_parser *jp)
{
	while (jp->pos < jp->len) {
		char c = jp->p[jp->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		jp->pos++;
	}
}

/* Grows *arr (of *cap elements of size sz) to hold at least need; caps at JSON_MAX_VALUES. */
static int json_grow(void **arr, uint32_t *cap, uint32_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	if (need > JSON_MAX_VALUES)
		return ERR_TOOBIG;
	uint32_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	if (ncap > JSON_MAX_VALUES)
		ncap = JSON_MAX_VALUES;
	void *n = realloc(*arr, (size_t)ncap * sz);
	if (!n)
		return ERR_NOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static int json_grow_fail(struct json_parser *jp, int rc)
{
	if (rc == ERR_TOOBIG)
		return err_set(jp->errbuf, jp->errlen, ERR_TOOBIG, "json: more than %u values",
			       JSON_MAX_VALUES);
	return err_set(jp->errbuf, jp->errlen, ERR_NOMEM, "json: out of memory");
}

/* Appends a new value of type t; returns its index through *idx. */
static int json_new_value(struct json_parser *jp, enum json_type t, uint32_t *idx)
{
	struct json_doc *doc = jp->doc;
	int rc = json_grow((void **)&doc->v, &doc->cap, doc->n + 1, sizeof(*doc->v));
	if (rc)
		return json_grow_fail(jp, rc);
	*idx = doc->n++;
	memset(&doc->v[*idx], 0, sizeof(doc->v[*idx]));
	doc->v[*idx].type = t;
	return 0;
}

/* Decodes the string token at jp->pos (its opening quote) into the arena. A lone surrogate
 * escape decodes to U+FFFD; raw bytes >= 0x80 are copied as they are; raw control characters
 * are an error, as RFC 8259 says. */
static int json_string_token(struct json_parser *jp, uint32_t *off, uint32_t *slen)
{
	struct json_doc *doc = jp->doc;
	char *out = doc->arena + doc->arena_used;
	uint32_t n = 0;

	jp->pos++; /* the quote */
	for (;;) {
		if (jp->pos >= jp->len)
			return json_fail(jp, "unterminated string");
		unsigned char c = (unsigned char)jp->p[jp->pos];
		if (c == '"') {
			jp->pos++;
			break;
		}
		if (c < 0x20)
			return json_fail(jp, "control character in a string");
		if (c != '\\') {
			out[n++] = (char)c;
			jp->pos++;
			continue;
		}
		if (jp->pos + 1 >= jp->len)
			return json_fail(jp, "unterminated escape");
		char e = jp->p[jp->pos + 1];
		jp->pos += 2;
		switch (e) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (jp->len - jp->pos < 4 || hex4_get(jp->p + jp->pos, &cp))
				return json_fail(jp, "bad \\u escape");
			jp->pos += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && jp->len - jp->pos >= 6 && jp->p[jp->pos] == '\\' &&
			    jp->p[jp->pos + 1] == 'u' && !hex4_get(jp->p + jp->pos + 2, &lo) && lo >= 0xdc00 &&
			    lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				jp->pos += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			n += utf8_put(cp, out + n);
			break;
		}
		default:
			jp->pos -= 1;
			return json_fail(jp, "bad escape");
		}
	}
	out[n] = '\0';
	*off = doc->arena_used;
	*slen = n;
	doc->arena_used += n + 1;
	return 0;
}

static int json_number_token(struct json_parser *jp, struct json_value *v)
{
	size_t start = jp->pos;
	bool integral = true;
	const char *p = jp->p;
	size_t len = jp->len;

	if (jp->pos < len && p[jp->pos] == '-')
		jp->pos++;
	if (jp->pos >= len || p[jp->pos] < '0' || p[jp->pos] > '9')
		return json_fail(jp, "bad number");
	if (p[jp->pos] == '0') {
		jp->pos++;
	} else {
		while (jp->pos < len && p[jp->pos] >= '0' && p[jp->pos] <= '9')
			jp->pos++;
	}
	if (jp->pos < len && p[jp->pos] == '.') {
		integral = false;
		jp->pos++;
		if (jp->pos >= len || p[jp->pos] < '0' || p[jp->pos] > '9')
			return json_fail(jp, "bad number: no digits after '.'");
		while (jp->pos < len && p[jp->pos] >= '0' && p[jp->pos] <= '9')
			jp->pos++;
	}
	if (jp->pos < len && (p[jp->pos] == 'e' || p[jp->pos] == 'E')) {
		integral = false;
		jp->pos++;
		if (jp->pos < len && (p[jp->pos] == '+' || p[jp->pos] == '-'))
			jp->pos++;
		if (jp->pos >= len || p[jp->pos] < '0' || p[jp->pos] > '9')
			return json_fail(jp, "bad number: no digits in the exponent");
		while (jp->pos < len && p[jp->pos] >= '0' && p[jp->pos] <= '9')
			jp->pos++;
	}
	size_t n = jp->pos - start;
	if (n > JSON_NUMBER_MAX)
		return json_fail(jp, "number too long");
	char text[JSON_NUMBER_MAX + 1];
	memcpy(text, p + start, n);
	text[n] = '\0';
	v->d = strtod(text, NULL); /* the grammar was checked above; overflow gives +-HUGE_VAL */
	if (integral) {
		errno = 0;
		long long ll = strtoll(text, NULL, 10);
		if (errno == 0) {
			v->is_int = true;
			v->i = (int64_t)ll;
		}
	}
	return 0;
}

static int json_literal(struct json_parser *jp, const char *word)
{
	size_t n = strlen(word);
	if (jp->len - jp->pos < n || memcmp(jp->p + jp->pos, word, n) != 0)
		return json_fail(jp, "unexpected character");
	jp->pos += n;
	return 0;
}

static int json_push(struct json_parser *jp, uint32_t idx)
{
	int rc = json_grow((void **)&jp->stack, &jp->stack_cap, jp->stack_n + 1, sizeof(*jp->stack));
	if (rc)
		return json_grow_fail(jp, rc);
	jp->stack[jp->stack_n++] = idx;
	return 0;
}

/* Moves the children pushed since mark into doc->kids as the run of container idx. */
static int json_close(struct json_parser *jp, uint32_t idx, uint32_t mark)
{
	struct json_doc *doc = jp->doc;
	uint32_t cnt = jp->stack_n - mark;
	int rc = json_grow((void **)&doc->kids, &doc->kids_cap, doc->n_kids_used + cnt, sizeof(*doc->kids));
	if (rc)
		return json_grow_fail(jp, rc);
	if (cnt)
		memcpy(doc->kids + doc->n_kids_used, jp->stack + mark, (size_t)cnt * sizeof(*doc->kids));
	doc->v[idx].kids = doc->n_kids_used;
	doc->v[idx].n_kids = cnt;
	doc->n_kids_used += cnt;
	jp->stack_n = mark;
	return 0;
}

static int json_value_at(struct json_parser *jp, unsigned depth, uint32_t *out);

static int json_container(struct json_parser *jp, unsigned depth, bool object, uint32_t *out)
{
	uint32_t idx, mark = jp->stack_n;
	int rc;
	char end = object ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		return err_set(jp->errbuf, jp->errlen, ERR_TOOBIG, "json: offset %zu: nested deeper than %u",
			       jp->pos, JSON_MAX_DEPTH);
	if ((rc = json_new_value(jp, object ? JSON_OBJECT : JSON_ARRAY, &idx)))
		return rc;
	jp->pos++; /* '{' or '[' */
	json_skip_ws(jp);
	if (jp->pos < jp->len && jp->p[jp->pos] == end) {
		jp->pos++;
		*out = idx;
		return json_close(jp, idx, mark);
	}
	for (;;) {
		uint32_t key = 0, key_len = 0, child;
		json_skip_ws(jp);
		if (object) {
			if (jp->pos >= jp->len || jp->p[jp->pos] != '"')
				return json_fail(jp, "expected a string key");
			if ((rc = json_string_token(jp, &key, &key_len)))
				return rc;
			json_skip_ws(jp);
			if (jp->pos >= jp->len || jp->p[jp->pos] != ':')
				return json_fail(jp, "expected ':' after an object key");
			jp->pos++;
		}
		if ((rc = json_value_at(jp, depth + 1, &child)))
			return rc;
		if (object) {
			jp->doc->v[child].has_key = true;
			jp->doc->v[child].key = key;
			jp->doc->v[child].key_len = key_len;
		}
		if ((rc = json_push(jp, child)))
			return rc;
		json_skip_ws(jp);
		if (jp->pos >= jp->len)
			return json_fail(jp, object ? "unterminated object" : "unterminated array");
		char c = jp->p[jp->pos++];
		if (c == end)
			break;
		if (c != ',') {
			jp->pos--;
			return json_fail(jp, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	*out = idx;
	return json_close(jp, idx, mark);
}

static int json_value_at(struct json_parser *jp, unsigned depth, uint32_t *out)
{
	int rc;
	uint32_t idx;

	json_skip_ws(jp);
	if (jp->pos >= jp->len)
		return json_fail(jp, "expected a value");
	char c = jp->p[jp->pos];
	switch (c) {
	case '{':
		return json_container(jp, depth, true, out);
	case '[':
		return json_container(jp, depth, false, out);
	case '"':
		if ((rc = json_new_value(jp, JSON_STRING, &idx)))
			return rc;
		rc = json_string_token(jp, &jp->doc->v[idx].str, &jp->doc->v[idx].str_len);
		break;
	case 't':
	case 'f':
		if ((rc = json_new_value(jp, JSON_BOOL, &idx)))
			return rc;
		jp->doc->v[idx].b = c == 't';
		rc = json_literal(jp, c == 't' ? "true" : "false");
		break;
	case 'n':
		if ((rc = json_new_value(jp, JSON_NULL, &idx)))
			return rc;
		rc = json_literal(jp, "null");
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return json_fail(jp, "unexpected character");
		if ((rc = json_new_value(jp, JSON_NUMBER, &idx)))
			return rc;
		rc = json_number_token(jp, &jp->doc->v[idx]);
		break;
	}
	*out = idx;
	return rc;
}

int json_parse(const char *text, size_t len, struct json_doc **out, char *errbuf, size_t errlen)
{
	struct json_parser jp = { .p = text, .len = len, .errbuf = errbuf, .errlen = errlen };
	uint32_t root;
	int rc;

	*out = NULL;
	if (len > JSON_MAX_INPUT)
		return err_set(errbuf, errlen, ERR_TOOBIG, "json: %zu bytes, over the maximum of %u", len,
			       JSON_MAX_INPUT);
	jp.doc = calloc(1, sizeof(*jp.doc));
	if (!jp.doc || !(jp.doc->arena = malloc(len + 1))) {
		rc = err_set(errbuf, errlen, ERR_NOMEM, "json: out of memory");
		goto fail;
	}
	if ((rc = json_value_at(&jp, 0, &root)))
		goto fail;
	json_skip_ws(&jp);
	if (jp.pos != len) {
		rc = json_fail(&jp, "trailing characters after the value");
		goto fail;
	}
	for (uint32_t i = 0; i < jp.doc->n; i++)
		jp.doc->v[i].doc = jp.doc;
	free(jp.stack);
	*out = jp.doc;
	return 0;
fail:
	free(jp.stack);
	json_free(jp.doc);
	return rc;
}

void json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	free(doc->v);
	free(doc->kids);
	free(doc->arena);
	free(doc);
}

const struct json_value *json_root(const struct json_doc *doc)
{
	return doc && doc->n ? &doc->v[0] : NULL; /* the first value parsed is the root */
}

enum json_type json_type(const struct json_value *v)
{
	return v ? v->type : JSON_NULL;
}

size_t json_len(const struct json_value *v)
{
	return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->n_kids : 0;
}

const struct json_value *json_at(const struct json_value *v, size_t i)
{
	if (i >= json_len(v))
		return NULL;
	return &v->doc->v[v->doc->kids[v->kids + i]];
}

const char *json_key_at(const struct json_value *v, size_t i)
{
	if (json_type(v) != JSON_OBJECT)
		return NULL;
	const struct json_value *m = json_at(v, i);
	return m ? v->doc->arena + m->key : NULL;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (json_type(v) != JSON_OBJECT || !key)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = json_len(v); i-- > 0;) {
		const struct json_value *m = json_at(v, i);
		if (m->key_len == klen && memcmp(v->doc->arena + m->key, key, klen) == 0)
			return m;
	}
	return NULL;
}

const char *json_string(const struct json_value *v, size_t *len)
{
	if (json_type(v) != JSON_STRING)
		return NULL;
	if (len)
		*len = v->str_len;
	return v->doc->arena + v->str;
}

bool json_int64(const struct json_value *v, int64_t *out)
{
	if (json_type(v) != JSON_NUMBER || !v->is_int)
		return false;
	*out = v->i;
	return true;
}

bool json_double(const struct json_value *v, double *out)
{
	if (json_type(v) != JSON_NUMBER)
		return false;
	*out = v->d;
	return true;
}

bool json_bool(const struct json_value *v, bool *out)
{
	if (json_type(v) != JSON_BOOL)
		return false;
	*out = v->b;
	return true;
}

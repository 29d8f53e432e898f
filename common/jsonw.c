/*
 * jsonw — the streaming JSON writer (see jsonw.h).
 */
#include "jsonw.h"

#include "err.h"

#include <assert.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (!w->err && evbuffer_add(w->out, s, n))
		w->err = ERR_NOMEM;
}

/* Before any value: the comma between array elements; a key must have come in an object. */
static void jsonw_pre_value(struct jsonw *w)
{
	if (w->depth == 0)
		return;
	if (w->in_obj[w->depth - 1]) {
		assert(!w->key_due);
		w->key_due = true;
		return;
	}
	if (!w->first[w->depth - 1])
		jsonw_raw(w, ",", 1);
	w->first[w->depth - 1] = false;
}

static void jsonw_open(struct jsonw *w, bool obj)
{
	jsonw_pre_value(w);
	assert(w->depth < JSONW_MAX_DEPTH);
	w->in_obj[w->depth] = obj;
	w->first[w->depth] = true;
	w->depth++;
	w->key_due = obj;
	jsonw_raw(w, obj ? "{" : "[", 1);
}

static void jsonw_close(struct jsonw *w, bool obj)
{
	assert(w->depth > 0 && w->in_obj[w->depth - 1] == obj);
	assert(!obj || w->key_due);
	w->depth--;
	w->key_due = w->depth > 0 && w->in_obj[w->depth - 1];
	jsonw_raw(w, obj ? "}" : "]", 1);
}

void jsonw_init(struct jsonw *w, struct evbuffer *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

void jsonw_obj_begin(struct jsonw *w) { jsonw_open(w, true); }
void jsonw_obj_end(struct jsonw *w) { jsonw_close(w, true); }
void jsonw_arr_begin(struct jsonw *w) { jsonw_open(w, false); }
void jsonw_arr_end(struct jsonw *w) { jsonw_close(w, false); }

static void jsonw_string(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	jsonw_raw(w, "\"", 1);
	const char *run = s;
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (p > run)
			jsonw_raw(w, run, (size_t)(p - run));
		if (!c)
			break;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			jsonw_raw(w, esc, 2);
		} else {
			jsonw_raw(w, esc, 6);
		}
		run = p + 1;
	}
	jsonw_raw(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	assert(w->depth > 0 && w->in_obj[w->depth - 1] && w->key_due);
	if (!w->first[w->depth - 1])
		jsonw_raw(w, ",", 1);
	w->first[w->depth - 1] = false;
	jsonw_string(w, key);
	jsonw_raw(w, ":", 1);
	w->key_due = false;
}

void jsonw_str(struct jsonw *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	jsonw_pre_value(w);
	jsonw_string(w, s);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	jsonw_pre_value(w);
	if (!w->err && evbuffer_add_printf(w->out, "%" PRId64, v) < 0)
		w->err = ERR_NOMEM;
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	jsonw_pre_value(w);
	if (!w->err && evbuffer_add_printf(w->out, "%" PRIu64, v) < 0)
		w->err = ERR_NOMEM;
}

void jsonw_double(struct jsonw *w, double v)
{
	if (!isfinite(v)) {
		jsonw_null(w);
		return;
	}
	jsonw_pre_value(w);
	/* integral values keep a ".0" (as Jackson writes a double), so readers see a number of the
	 * same kind every time */
	const char *fmt = "%.1f";
	if (v != floor(v) || fabs(v) >= 1e15) {
		char t[40];
		snprintf(t, sizeof(t), "%.15g", v);
		fmt = strtod(t, NULL) == v ? "%.15g" : "%.17g"; /* the shorter when it reads back the same */
	}
	if (!w->err && evbuffer_add_printf(w->out, fmt, v) < 0)
		w->err = ERR_NOMEM;
}

void jsonw_bool(struct jsonw *w, bool v)
{
	jsonw_pre_value(w);
	jsonw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	jsonw_pre_value(w);
	jsonw_raw(w, "null", 4);
}

int jsonw_finish(const struct jsonw *w)
{
	if (w->err)
		return w->err;
	assert(w->depth == 0);
	return 0;
}

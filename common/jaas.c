/*
 * jaas — JAAS login configuration text (see jaas.h): one tokenizer for files and entries.
 */
#include "jaas.h"

#include "err.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Token kinds: 'w' a word, 'q' a quoted string, a punctuation character, 0 the end, -1 bad. */
struct jaas_lex {
	const char *p, *end;
};

static void jaas_skip(struct jaas_lex *x)
{
	for (;;) {
		while (x->p < x->end && isspace((unsigned char)*x->p))
			x->p++;
		if (x->end - x->p >= 2 && x->p[0] == '/' && x->p[1] == '/') {
			while (x->p < x->end && *x->p != '\n')
				x->p++;
		} else if (x->end - x->p >= 2 && x->p[0] == '/' && x->p[1] == '*') {
			const char *q = x->p + 2;
			while (q + 1 < x->end && !(q[0] == '*' && q[1] == '/'))
				q++;
			x->p = q + 1 < x->end ? q + 2 : x->end;
		} else {
			return;
		}
	}
}

/* A word runs up to a blank or one of = ; " { } (so bare values like alice@x+1 are one word). */
static bool jaas_word_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr("=;\"{}", c);
}

/* The next token; words and quoted strings are copied (unescaped) into buf[n]. */
static int jaas_next(struct jaas_lex *x, char *buf, size_t n)
{
	jaas_skip(x);
	if (x->p >= x->end)
		return 0;
	char c = *x->p;
	size_t k = 0;
	if (c == '"') {
		x->p++;
		while (x->p < x->end && *x->p != '"') {
			char ch = *x->p++;
			if (ch == '\\' && x->p < x->end)
				ch = *x->p++;
			if (k + 1 >= n)
				return -1;
			buf[k++] = ch;
		}
		if (x->p >= x->end)
			return -1; /* unterminated */
		x->p++;
		buf[k] = '\0';
		return 'q';
	}
	if (jaas_word_char(c)) {
		while (x->p < x->end && jaas_word_char(*x->p)) {
			if (k + 1 >= n)
				return -1;
			buf[k++] = *x->p++;
		}
		buf[k] = '\0';
		return 'w';
	}
	x->p++;
	return (unsigned char)c;
}

int jaas_entry_parse(const char *s, size_t n, char *module, size_t mn, jaas_opt_fn opt, void *arg, char *eb,
		     size_t el)
{
	char key[JAAS_MAX_TOKEN], val[JAAS_MAX_TOKEN];
	struct jaas_lex x = { s, s + n };
	if (jaas_next(&x, key, sizeof(key)) != 'w')
		return err_set(eb, el, ERR_PROTO, "expected a login module's class name");
	if (strlen(key) >= mn)
		return err_set(eb, el, ERR_PROTO, "the login module's name is too long");
	snprintf(module, mn, "%s", key);
	if (jaas_next(&x, key, sizeof(key)) != 'w' ||
	    (strcmp(key, "required") && strcmp(key, "requisite") && strcmp(key, "sufficient") && strcmp(key, "optional")))
		return err_set(eb, el, ERR_PROTO,
			       "expected a control flag (required, requisite, sufficient, optional) after %s", module);
	for (;;) {
		int k = jaas_next(&x, key, sizeof(key));
		if (k == ';')
			break;
		if (k != 'w')
			return err_set(eb, el, ERR_PROTO, k == 0 ? "missing ';' at the end of the entry"
								   : "expected an option name (key=\"value\")");
		if (jaas_next(&x, val, sizeof(val)) != '=')
			return err_set(eb, el, ERR_PROTO, "expected '=' after option %s", key);
		k = jaas_next(&x, val, sizeof(val));
		if (k != 'q' && k != 'w')
			return err_set(eb, el, ERR_PROTO, "option %s: a value is missing or its quote is not closed", key);
		opt(key, val, arg);
	}
	if (jaas_next(&x, key, sizeof(key)) != 0)
		return err_set(eb, el, ERR_PROTO, "text after the entry's ';' (one login module only)");
	return 0;
}

int jaas_section(const char *text, const char *name, void (*entry)(const char *s, size_t n, void *arg), void *arg,
		 char *eb, size_t el)
{
	char tok[JAAS_MAX_TOKEN];
	struct jaas_lex x = { text, text + strlen(text) };
	for (;;) {
		int k = jaas_next(&x, tok, sizeof(tok));
		if (k == 0)
			return ERR_NOTFOUND;
		if (k != 'w')
			return err_set(eb, el, ERR_PROTO, "expected a section name");
		bool mine = !strcmp(tok, name);
		if (jaas_next(&x, tok, sizeof(tok)) != '{')
			return err_set(eb, el, ERR_PROTO, "expected '{' after a section name");
		/* entries up to '}' and ';' */
		for (;;) {
			jaas_skip(&x);
			const char *start = x.p;
			k = jaas_next(&x, tok, sizeof(tok));
			if (k == '}')
				break;
			if (k != 'w')
				return err_set(eb, el, ERR_PROTO, "expected a login module entry or '}'");
			while ((k = jaas_next(&x, tok, sizeof(tok))) != ';')
				if (k <= 0 || k == '}' || k == '{')
					return err_set(eb, el, ERR_PROTO, "a login module entry does not end with ';'");
			if (mine)
				entry(start, (size_t)(x.p - start), arg);
		}
		if (jaas_next(&x, tok, sizeof(tok)) != ';')
			return err_set(eb, el, ERR_PROTO, "expected ';' after a section's '}'");
		if (mine)
			return 0;
	}
}

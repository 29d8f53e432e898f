/*
 * err — text for the error codes of err.h and helpers that fill a caller's error buffer.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_str(int code)
{
	switch (code) {
#define ERR_CASE_(name, c, text) \
	case (c):                \
		return text;
		ERR_LIST(ERR_CASE_)
#undef ERR_CASE_
	default:
		return "unknown error";
	}
}

int err_set(char *buf, size_t len, int code, const char *fmt, ...)
{
	if (buf && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

void err_wrap(char *buf, size_t len, const char *fmt, ...)
{
	char prefix[256];
	char old[1024];
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", buf);
	snprintf(buf, len, "%s%s", prefix, old);
}

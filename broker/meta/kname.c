/*
 * kname — Kafka's topic name rules (see kname.h). It owns nothing.
 */
#include "kname.h"

#include <stdio.h>
#include <string.h>

bool kname_topic_valid(const char *name, size_t len, char *why, size_t wn)
{
	if (len == 0) {
		snprintf(why, wn, "Topic name is illegal, it can't be empty");
		return false;
	}
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
		snprintf(why, wn, "Topic name cannot be \".\" or \"..\"");
		return false;
	}
	if (len > KNAME_TOPIC_MAX) {
		snprintf(why, wn, "Topic name is illegal, it can't be longer than %d characters, topic name: %.64s",
			 KNAME_TOPIC_MAX, name);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-')) {
			snprintf(why, wn,
				 "Topic name \"%.*s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
				 (int)(len > 64 ? 64 : len), name);
			return false;
		}
	}
	return true;
}

bool kname_topic_collide(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return false;
	for (; *a && *b; a++, b++) {
		char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

bool kname_topic_may_collide(const char *name)
{
	return strchr(name, '.') || strchr(name, '_');
}

/*
 * kgplace — a group's partition of __consumer_offsets (see kgplace.h): a UTF-8 walk that
 * feeds UTF-16 code units to Java's h = 31 * h + c (int arithmetic, wrapping).
 */
#include "kgplace.h"

#define KGPLACE_REPL 0xfffdu

static int kgplace_cont(uint8_t b)
{
	return (b & 0xc0) == 0x80;
}

static uint32_t kgplace_step(uint32_t h, uint32_t unit)
{
	return h * 31u + unit; /* unsigned: Java's wrap-around without C's signed overflow */
}

/* The JDK's malformed length of a 3-byte sequence at p (at least 2 bytes there). */
static size_t kgplace_bad3(const uint8_t *p)
{
	return ((p[0] == 0xe0 && (p[1] & 0xe0) == 0x80) || !kgplace_cont(p[1])) ? 1 : 2;
}

/* The JDK's malformed length of a 4-byte sequence at p (at least 3 bytes there). */
static size_t kgplace_bad4(const uint8_t *p)
{
	uint8_t b1 = p[0], b2 = p[1];
	if (b1 > 0xf4 || (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) || (b1 == 0xf4 && (b2 & 0xf0) != 0x80) ||
	    !kgplace_cont(b2))
		return 1;
	return kgplace_cont(p[2]) ? 3 : 2;
}

int32_t kgplace_java_hash(const uint8_t *p, size_t len)
{
	uint32_t h = 0;
	size_t i = 0;
	while (i < len) {
		uint8_t b1 = p[i];
		size_t left = len - i - 1; /* bytes after b1 */
		if (b1 < 0x80) {
			h = kgplace_step(h, b1);
			i++;
		} else if (b1 >= 0xc2 && b1 <= 0xdf) {
			if (left >= 1 && kgplace_cont(p[i + 1])) {
				h = kgplace_step(h, ((uint32_t)(b1 & 0x1f) << 6) | (p[i + 1] & 0x3f));
				i += 2;
			} else {
				h = kgplace_step(h, KGPLACE_REPL);
				i++;
			}
		} else if ((b1 & 0xf0) == 0xe0) {
			if (left >= 2) {
				const uint8_t *s = p + i;
				if ((b1 == 0xe0 && (s[1] & 0xe0) == 0x80) || !kgplace_cont(s[1]) || !kgplace_cont(s[2])) {
					h = kgplace_step(h, KGPLACE_REPL);
					i += kgplace_bad3(s);
				} else {
					uint32_t c = ((uint32_t)(b1 & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
					h = kgplace_step(h, (c >= 0xd800 && c <= 0xdfff) ? KGPLACE_REPL : c);
					i += 3;
				}
			} else if (left == 1 && ((b1 == 0xe0 && (p[i + 1] & 0xe0) == 0x80) ||
						 !kgplace_cont(p[i + 1]))) {
				/* the JDK's isMalformed3_2: the lead alone is replaced, the next byte read anew */
				h = kgplace_step(h, KGPLACE_REPL);
				i++;
			} else {
				h = kgplace_step(h, KGPLACE_REPL); /* a truncated sequence at the end */
				i = len;
			}
		} else if (b1 >= 0xf0 && b1 <= 0xf7) {
			if (left >= 3) {
				const uint8_t *s = p + i;
				uint32_t uc = ((uint32_t)(b1 & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
					      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
				if (!kgplace_cont(s[1]) || !kgplace_cont(s[2]) || !kgplace_cont(s[3]) || uc < 0x10000 ||
				    uc > 0x10ffff) {
					h = kgplace_step(h, KGPLACE_REPL);
					i += kgplace_bad4(s);
				} else {
					uc -= 0x10000;
					h = kgplace_step(h, 0xd800 + (uc >> 10));
					h = kgplace_step(h, 0xdc00 + (uc & 0x3ff));
					i += 4;
				}
			} else {
				uint8_t b2 = left >= 1 ? p[i + 1] : 0;
				if (b1 > 0xf4 || (left >= 1 && ((b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) ||
							     (b1 == 0xf4 && (b2 & 0xf0) != 0x80) || !kgplace_cont(b2)))) {
					h = kgplace_step(h, KGPLACE_REPL); /* isMalformed4_2: the lead alone */
					i++;
				} else {
					h = kgplace_step(h, KGPLACE_REPL);
					i += 2; /* the lead and its valid second byte */
					if (i < len && !kgplace_cont(p[i]))
						continue; /* isMalformed4_3: the third is read anew */
					i = len;
				}
			}
		} else {
			h = kgplace_step(h, KGPLACE_REPL); /* 0x80-0xc1, 0xf8-0xff */
			i++;
		}
	}
	return (int32_t)h;
}

int32_t kgplace_partition(const uint8_t *p, size_t len, int32_t n)
{
	int32_t h = kgplace_java_hash(p, len);
	int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h); /* Kafka's Utils.abs */
	return n > 0 ? a % n : 0;
}

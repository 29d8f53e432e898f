/*
 * crc32c — software (slicing-by-8) and SSE4.2 CRC-32C. The table is computed at compile time
 * shape-wise but filled once on first use under pthread_once (immutable afterwards).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected 0x1EDC6F41 */

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
					     crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	pthread_once(&crc32c_once, crc32c_init_table);
	crc = ~crc;
	while (n && ((uintptr_t)b & 7)) {
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *b++) & 0xff];
		n--;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		w ^= crc; /* little-endian hosts only (x86_64, aarch64): see crc32c_hw */
		crc = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
		      crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
		      crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
		      crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
		b += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *b++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t c = ~crc;
	while (n && ((uintptr_t)b & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *b++);
		n--;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		c = _mm_crc32_u64(c, w);
		b += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *b++);
	return ~(uint32_t)c;
}

int crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, p, n);
	return crc32c_sw(crc, p, n);
}
#else
int crc32c_hw_available(void)
{
	return 0;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
	return crc32c_sw(crc, p, n);
}
#endif

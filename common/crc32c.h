/*
 * crc32c — CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), as used by Kafka record
 * batches and by samsa's log and snapshot framing. Uses the SSE4.2 crc32 instruction when the
 * CPU has it, a slicing-by-8 table otherwise; both give the same result.
 */
#ifndef SAMSA_CRC32C_H
#define SAMSA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over p[0..n): crc32c(crc32c(0, a), b) == crc32c(0, a || b). Start with 0. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The table version, always (tests compare it with the hardware path). */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
/* 1 if crc32c() uses the CPU instruction. */
int crc32c_hw_available(void);

#endif

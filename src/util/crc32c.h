/* CRC-32C (Castagnoli) for record batches and CRC-32 (IEEE 802.3 / zlib) for legacy messages and
 * librdkafka-compatible partitioning. Internal to kwire.
 *
 * Both use the zlib convention: pass 0 to start, and pass the previous result to continue, so
 * crc(a || b) == kwi_crc32c(kwi_crc32c(0, a, na), b, nb). */
#ifndef KWI_UTIL_CRC32C_H
#define KWI_UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C through the fastest path this CPU has (SSE4.2 crc32 on x86-64, else tables). */
uint32_t kwi_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable slicing-by-8 path. */
uint32_t kwi_crc32c_sw(uint32_t crc, const void *p, size_t n);
/* The SSE4.2 path; where the CPU or the build lacks it, the same result from the portable path. */
uint32_t kwi_crc32c_hw(uint32_t crc, const void *p, size_t n);
/* Whether kwi_crc32c_hw really uses the crc32 instruction here (so tests can say what they ran). */
bool kwi_crc32c_hw_available(void);

/* CRC-32 (IEEE, reflected polynomial 0xEDB88320), portable; does not need zlib. */
uint32_t kwi_crc32(uint32_t crc, const void *p, size_t n);

#endif

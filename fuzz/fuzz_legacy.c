/* Fuzz harness: legacy message sets (magic 0 and 1), including compressed wrapper messages.
 * Byte 0 bit 0 set: the CRC-32 of every top-level message is recomputed first, so mutations
 * reach the message and wrapper parsers instead of stopping at the checksum. */
#include <stdint.h>

#include "records_walk.h"
#include "util/crc32c.h"

/* Entry layout (README §5): offset int64, size int32, crc uint32 over magic..end. */
static void
restamp(uint8_t *p, size_t size)
{
    size_t pos = 0;
    while (size - pos >= 17) {
        uint32_t len = be32(p + pos + 8);
        if (len > size - pos - 12 || len < 5)
            return;
        if (p[pos + 16] <= 1) {
            uint32_t crc = kwi_crc32(0, p + pos + 16, len - 4);
            p[pos + 12] = (uint8_t)(crc >> 24);
            p[pos + 13] = (uint8_t)(crc >> 16);
            p[pos + 14] = (uint8_t)(crc >> 8);
            p[pos + 15] = (uint8_t)crc;
        }
        pos += 12 + (size_t)len;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_records_input(data, size, restamp);
}

#ifdef KW_FUZZ_MUTATOR
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_records_mutate(data, size, max_size, seed);
}
#endif

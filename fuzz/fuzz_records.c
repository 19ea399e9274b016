/* Fuzz harness: record batch v2 decoding (batches, records, headers, control records,
 * compressed batches). Byte 0 bit 0 set: the CRC-32C of every batch is recomputed first, so
 * mutations inside a batch get past the checksum and reach the record parser. */
#include <stdint.h>

#include "records_walk.h"
#include "util/crc32c.h"

/* Batch layout (README §5): length at 8, magic at 16, CRC at 17 over bytes 21..end. */
static void
restamp(uint8_t *p, size_t size)
{
    size_t pos = 0;
    while (size - pos >= 61) {
        uint32_t len = be32(p + pos + 8);
        if (len > size - pos - 12 || len < 49)
            return;
        if (p[pos + 16] == 2) {
            uint32_t crc = kwi_crc32c(0, p + pos + 21, len - 9);
            p[pos + 17] = (uint8_t)(crc >> 24);
            p[pos + 18] = (uint8_t)(crc >> 16);
            p[pos + 19] = (uint8_t)(crc >> 8);
            p[pos + 20] = (uint8_t)crc;
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

/* Fuzz harness: each decompressor. Byte 0 picks the codec (1 gzip, 2 snappy, 3 lz4, 4 zstd;
 * bit 7 adds the legacy-LZ4 header-checksum tolerance); the rest is the compressed input.
 * Output is capped at 1 MiB, so a bomb must end in KW_ERR_BOMB, never in unbounded memory. */
#include <stdint.h>
#include <stdlib.h>

#include "kwire/codec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 24))
        return 0;
    int codec = 1 + (data[0] & 3);
    unsigned flags = (data[0] & 0x80) ? KW_DECOMPRESS_LZ4_LEGACY_HC : 0;
    kw_slice in = {data + 1, (int32_t)(size - 1)};
    kw_wr out;
    kw_wr_init_dyn(&out, NULL, 2u << 20);
    kw_err e = kw_decompress_ex(codec, flags, in, &out, 1u << 20);
    if (e == KW_ERR_OK && kw_wr_len(&out) > (1u << 20))
        abort(); /* the bound was not honoured */
    kw_wr_fini(&out);
    return 0;
}

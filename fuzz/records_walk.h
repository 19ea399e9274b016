/* Shared by the record fuzz harnesses: walks every batch, record and header of a fetch-style
 * records payload the way a consumer does, with a bounded decompression scratch buffer. */
#ifndef KW_FUZZ_RECORDS_WALK_H
#define KW_FUZZ_RECORDS_WALK_H

#include <stdlib.h>
#include <string.h>

#include "kwire/records.h"

static void
walk_records(const uint8_t *data, size_t size)
{
    kw_slice all = {data, (int32_t)size};
    kw_batch_iter bi;
    kw_batch b;
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1u << 20);
    kw_batch_iter_init(&bi, all);
    while (kw_batch_iter_next(&bi, &b)) {
        kw_record_iter ri;
        kw_record rec;
        if (kw_record_iter_init(&ri, &b, &scratch, 1u << 20) != KW_ERR_OK)
            continue;
        while (kw_record_iter_next(&ri, &rec)) {
            /* Touch every byte the record claims, so ASan sees any slice past its buffer. */
            volatile uint8_t sink = 0;
            for (int32_t i = 0; i < rec.key.len; i++)
                sink ^= rec.key.ptr[i];
            for (int32_t i = 0; i < rec.value.len; i++)
                sink ^= rec.value.ptr[i];
            kw_header_iter hi;
            kw_header h;
            kw_header_iter_init(&hi, &rec);
            while (kw_header_iter_next(&hi, &h))
                for (int32_t i = 0; i < h.value.len; i++)
                    sink ^= h.value.ptr[i];
            if (kw_batch_is_control(&b)) {
                kw_control c;
                (void)kw_control_decode(&rec, &c);
            }
            (void)sink;
        }
    }
    kw_wr_fini(&scratch);
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The harness body: byte 0 bit 0 asks for `restamp` (fix up checksums so mutations reach the
 * parsers behind them) on a private copy, then the copy is walked. */
static int
fuzz_records_input(const uint8_t *data, size_t size, void (*restamp)(uint8_t *p, size_t size))
{
    if (size < 1 || size > (1u << 24))
        return 0;
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    if (data[0] & 1)
        restamp(copy, size - 1);
    walk_records(copy, size - 1);
    free(copy);
    return 0;
}

#ifdef KW_FUZZ_MUTATOR
/* The libFuzzer build (fuzz/meson.build) adds kwire's structure-aware mutator: record-batch
 * mutations (counts, varint lengths, codec bits, lengths, CRCs) on the payload after byte 0,
 * with libFuzzer's own mutation as the byte-level fallback and for 1 input in 8, which is also
 * what changes byte 0. */
#include "kwire/mutate.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static size_t
libfuzzer_bytes(uint8_t *data, size_t size, size_t max_size, uint32_t seed, void *ud)
{
    (void)seed;
    (void)ud;
    return LLVMFuzzerMutate(data, size, max_size);
}

static size_t
fuzz_records_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (size < 2 || max_size < 2 || (seed & 7) == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    kw_mutate_opts o;
    kw_mutate_opts_init(&o);
    o.bytes = libfuzzer_bytes;
    return 1 + kw_mutate_records(data + 1, size - 1, max_size - 1, seed, &o, NULL);
}
#endif

#endif

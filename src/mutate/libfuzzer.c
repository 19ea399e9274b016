/* libFuzzer's custom mutator hooks over kw_mutate_frame / kw_mutate_crossover, for harnesses
 * whose inputs are frames (kwire/mutate.h). A separate library (kwire_mutate_libfuzzer), so
 * these symbols only exist in programs that ask for them.
 *
 * The byte-level fallback is libFuzzer's own LLVMFuzzerMutate, which knows the dictionary and
 * the comparison operands it traced. The options can be changed by the harness through
 * kw_mutate_libfuzzer_opts(). */
#include <stddef.h>
#include <stdint.h>

#include "kwire/mutate.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                 uint8_t *out, size_t max_out, unsigned int seed);

static size_t
libfuzzer_bytes(uint8_t *data, size_t size, size_t max_size, uint32_t seed, void *ud)
{
    (void)seed; /* libFuzzer's mutator draws from its own seeded generator */
    (void)ud;
    return LLVMFuzzerMutate(data, size, max_size);
}

static kw_mutate_opts opts;
static int opts_ready;

kw_mutate_opts *
kw_mutate_libfuzzer_opts(void)
{
    if (!opts_ready) {
        kw_mutate_opts_init(&opts);
        opts.bytes = libfuzzer_bytes;
        opts_ready = 1;
    }
    return &opts;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return kw_mutate_frame(data, size, max_size, seed, kw_mutate_libfuzzer_opts(), NULL);
}

size_t
LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
                          size_t max_out, unsigned int seed)
{
    return kw_mutate_crossover(d1, s1, d2, s2, out, max_out, seed, kw_mutate_libfuzzer_opts(),
                               NULL);
}

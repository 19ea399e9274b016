/* Fuzz harness: decoding of every API, version and direction, then decode -> encode -> decode
 * equality. Input: byte 0 = API key (or 0xff.. for the embedded consumer-protocol structures, see
 * pick()), byte 1 = version, byte 2 bit 0 = response; the rest is the message body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/proto.h"

/* Data structures without an API key are reached through key bytes >= 0xfe. */
static const kw_msgdef *
pick(const uint8_t *data)
{
    if (data[0] == 0xfe)
        return kw_msgdef_by_name("ConsumerProtocolSubscription");
    if (data[0] == 0xff)
        return kw_msgdef_by_name("ConsumerProtocolAssignment");
    return kw_msgdef_by_key(data[0], data[2] & 1);
}

static void
fail(const char *why)
{
    (void)why;
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const kw_msgdef *d = pick(data);
    if (!d)
        return 0;
    int16_t ver = data[1];
    const uint8_t *body = data + 3;
    size_t len = size - 3;

    kw_arena ar;
    /* Decoding may use at most a bounded multiple of the frame in arena memory. */
    kw_arena_init(&ar, NULL, 64 * len + 65536);
    void *m = calloc(1, d->size);
    void *m2 = calloc(1, d->size);
    kw_rd r;
    kw_rd_init(&r, body, len);
    if (kw_msg_decode(d, ver, &r, &ar, m) == KW_ERR_OK) {
        /* What decodes must re-encode to the same bytes and decode to the same fields. */
        kw_wr w, d1, d2;
        kw_wr_init_dyn(&w, NULL, len + 1024);
        if (kw_msg_encode(d, ver, &w, m) != KW_ERR_OK)
            fail("encode of a decoded message failed");
        /* The bytes may differ from the input when it was not canonical (a nullable-struct
         * marker of 5 reads as "present" and is written as 1); the fields may not. */
        kw_rd r2;
        kw_rd_init(&r2, w.base, kw_wr_len(&w));
        if (kw_msg_decode(d, ver, &r2, &ar, m2) != KW_ERR_OK)
            fail("re-encoded message does not decode");
        kw_wr_init_dyn(&d1, NULL, 1u << 28);
        kw_wr_init_dyn(&d2, NULL, 1u << 28);
        kw_msg_dump(d, ver, &d1, m);
        kw_msg_dump(d, ver, &d2, m2);
        if (kw_wr_finish(&d1) == KW_ERR_OK && kw_wr_finish(&d2) == KW_ERR_OK &&
            (kw_wr_len(&d1) != kw_wr_len(&d2) ||
             (kw_wr_len(&d1) && memcmp(d1.base, d2.base, kw_wr_len(&d1)) != 0)))
            fail("decode -> encode -> decode changed a field");
        kw_wr_fini(&d1);
        kw_wr_fini(&d2);
        kw_wr_fini(&w);
    }
    free(m);
    free(m2);
    kw_arena_fini(&ar);
    return 0;
}

#ifdef KW_FUZZ_MUTATOR
/* The libFuzzer build (fuzz/meson.build) adds kwire's structure-aware mutator on the body: the
 * prefix keeps the API and direction, and byte 1 follows a version mutation. One input in 16
 * gets libFuzzer's plain mutation, which is also what changes the prefix. */
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

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    const kw_msgdef *d = size >= 3 ? pick(data) : NULL;
    if (!d || max_size < 3 || (seed & 15) == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    kw_mutate_opts o;
    kw_mutate_opts_init(&o);
    o.bytes = libfuzzer_bytes;
    int16_t ver = data[1];
    size_t n = kw_mutate_body(d, &ver, data + 3, size - 3, max_size - 3, seed, &o, NULL);
    data[1] = (uint8_t)ver;
    return 3 + n;
}
#endif

/* kwire: structure-aware mutation of Kafka frames, for fuzzing Kafka implementations.
 *
 * The mutator decodes an input with kwire's codec, changes it the way a hostile or buggy peer
 * would (an integer at a boundary, an array count that disagrees with its elements, null where
 * the schema forbids it, unknown or repeated tagged fields, another API version, broken record
 * batches, odd UTF-8, ...), and encodes it again. When the input does not decode it falls back
 * to byte-level mutation, so it never gets stuck. Every function is deterministic for a given
 * seed and input: a finding reproduces from (input, seed).
 *
 * It is a separate library, `kwire_mutate` (static, installed, pkg-config `kwire-mutate`), built
 * only on libkwire's public codec API, so libkwire itself carries no fuzzing code. libFuzzer's
 * hooks (LLVMFuzzerCustomMutator, LLVMFuzzerCustomCrossOver) live in a second tiny library,
 * `kwire_mutate_libfuzzer`, that a harness whose inputs are frames (below) links; harnesses with
 * their own input format call kw_mutate_body() / kw_mutate_records() from their own hooks.
 *
 * Frames. The input is self-describing:
 *  - a request frame is a Kafka request without its 4-byte size prefix: the request header
 *    (v1, or v2 for flexible versions; v0 for ControlledShutdown v0) followed by the body. The
 *    header's api_key and api_version say how to decode the body.
 *  - a response frame is KW_MUTATE_RESP_MAGIC ('K','R'), api_key (int16, big-endian),
 *    api_version (int16), then the response as on the wire without its size prefix: the
 *    response header (v0, or v1 for flexible versions except ApiVersions) and the body.
 *    0x4b52 is no API key, so the two kinds cannot be confused.
 *
 * Threads: no global state; each call uses only its arguments. Memory comes from opts->alloc.
 * Nothing here aborts on any input. */
#ifndef KWIRE_MUTATE_H
#define KWIRE_MUTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The two bytes that start a response frame. */
#define KW_MUTATE_RESP_MAGIC0 0x4b /* 'K' */
#define KW_MUTATE_RESP_MAGIC1 0x52 /* 'R' */
/** Bytes before a response frame's header: magic, api_key, api_version. */
#define KW_MUTATE_RESP_PREFIX 6

/** Mutation families; kw_mutate_opts.families enables a subset. */
enum {
    KW_MUT_INT = 1u << 0,     /**< an integer field to 0, -1, min, max, min+1, max-1, v+-1 */
    KW_MUT_COUNT = 1u << 1,   /**< an array count, string/bytes length or nullable-struct marker
                                   on the wire disagrees with the data that follows */
    KW_MUT_NULL = 1u << 2,    /**< null where the schema does not allow it (and the reverse) */
    KW_MUT_TAGS = 1u << 3,    /**< unknown tagged fields, a known tag repeated, tags out of order,
                                   a tagged section count that disagrees */
    KW_MUT_VERSION = 1u << 4, /**< the message re-encoded at another version (bump or drop) */
    KW_MUT_RECORDS = 1u << 5, /**< record batches in Produce requests / Fetch responses: record
                                   counts, varint lengths, codec bits, batch length, CRC right
                                   or deliberately wrong */
    KW_MUT_STRING = 1u << 6,  /**< string contents: UTF-8 edge cases, NUL, long strings */
    KW_MUT_HEADER = 1u << 7,  /**< request/response header: claimed version, correlation id,
                                   client id, api key (within opts->api_keys) */
    KW_MUT_ARRAY = 1u << 8,   /**< array elements duplicated, dropped, emptied */
    KW_MUT_BYTES = 1u << 9,   /**< byte-level mutation of the encoded frame (also the fallback
                                   for inputs that do not decode, which is always allowed) */
    KW_MUT_ALL = (1u << 10) - 1
};

/**
 * Byte-level mutation, libFuzzer's LLVMFuzzerMutate shape plus a seed and user data: mutate
 * data[0..size) in place, return the new size (<= max_size).
 */
typedef size_t (*kw_mutate_bytes_fn)(uint8_t *data, size_t size, size_t max_size, uint32_t seed,
                                     void *ud);

/** Options. Initialise with kw_mutate_opts_init(); a NULL opts means the defaults. */
typedef struct kw_mutate_opts {
    uint32_t families;       /**< KW_MUT_* bits; default KW_MUT_ALL */
    int max_mutations;       /**< structure-aware mutations stacked per call, 1..8; default 2 */
    const int16_t *api_keys; /**< KW_MUT_HEADER may claim only these API keys (NULL: keep the
                                  frame's own key) */
    size_t n_api_keys;
    int16_t min_version;      /**< KW_MUT_VERSION / KW_MUT_HEADER pick versions in this range, */
    int16_t max_version;      /**< clipped to what kwire codes; default 0..INT16_MAX */
    kw_mutate_bytes_fn bytes; /**< byte-level mutator; NULL = kwire's own (bit flips, interesting
                                   values, inserts, erases, copies) */
    void *bytes_ud;
    const kw_allocator *alloc; /**< NULL = the default allocator */
} kw_mutate_opts;

/** @brief Fill opts with the defaults (all families, 2 mutations, every version). */
KW_API void kw_mutate_opts_init(kw_mutate_opts *opts);

/** What a mutation did, for logs and reproducers. */
typedef struct kw_mutate_info {
    uint32_t families; /**< the KW_MUT_* bits of the mutations applied */
    bool decoded;      /**< the input decoded (else only byte-level mutation was possible) */
    char desc[256];    /**< e.g. "Produce v9 req: count Topics.0.Partitions=7 (wire); ..." */
} kw_mutate_info;

/**
 * @brief Mutate a frame (format above) in place, libFuzzer-style.
 *
 * @param data      the frame; up to max_size bytes are writable
 * @param size      its current length
 * @param max_size  the capacity of data; the result never exceeds it
 * @param seed      drives every random choice: same (data, seed, opts) => same result
 * @param opts      NULL for the defaults
 * @param info      NULL, or receives what was done
 * @return the new length (<= max_size; 0 when max_size is 0, and possible from a byte-level
 *         truncation). Never fails: an input that does not decode, or a mutation that cannot
 *         be encoded within max_size, gets byte-level mutation instead.
 */
KW_API size_t kw_mutate_frame(uint8_t *data, size_t size, size_t max_size, uint32_t seed,
                              const kw_mutate_opts *opts, kw_mutate_info *info);

/**
 * @brief Cross two frames into out: when both decode and are the same API, a field or array
 * element of d2 replaces the matching one of d1 (same path, same type); otherwise a byte splice
 * (a prefix of d1 and a suffix of d2).
 * @return bytes written to out (<= max_out).
 */
KW_API size_t kw_mutate_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                  uint8_t *out, size_t max_out, uint32_t seed,
                                  const kw_mutate_opts *opts, kw_mutate_info *info);

/**
 * @brief Mutate a bare message body of type `d` at version *ver (for harnesses whose input
 * carries the API and version some other way). KW_MUT_VERSION may change *ver; KW_MUT_HEADER
 * does not apply. Same contract as kw_mutate_frame().
 */
KW_API size_t kw_mutate_body(const kw_msgdef *d, int16_t *ver, uint8_t *data, size_t size,
                             size_t max_size, uint32_t seed, const kw_mutate_opts *opts,
                             kw_mutate_info *info);

/**
 * @brief Mutate the contents of a `records` field (record batches, magic 0-2) in place: the
 * KW_MUT_RECORDS family on one batch, else byte-level. Same contract as kw_mutate_frame().
 */
KW_API size_t kw_mutate_records(uint8_t *data, size_t size, size_t max_size, uint32_t seed,
                                const kw_mutate_opts *opts, kw_mutate_info *info);

/** kwire's own byte-level mutator (the default of opts->bytes); ud is unused. */
KW_API size_t kw_mutate_bytes(uint8_t *data, size_t size, size_t max_size, uint32_t seed, void *ud);

/**
 * @brief The options of LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver in
 * kwire_mutate_libfuzzer (defaults, with libFuzzer's LLVMFuzzerMutate as the byte-level
 * mutator). A harness may change them, e.g. in LLVMFuzzerInitialize. Defined only in
 * kwire_mutate_libfuzzer; not thread-safe (libFuzzer calls its hooks from one thread).
 */
KW_API kw_mutate_opts *kw_mutate_libfuzzer_opts(void);

/* ---------------------------------------------------------------- frames */

/** A decoded frame. Strings and bytes borrow the input; arrays come from the arena. */
typedef struct kw_frame {
    const kw_msgdef *def; /**< the body's message definition */
    int16_t version;      /**< the API version (from the header / prefix) */
    bool response;
    kw_req_hdr req;   /**< request frames */
    kw_resp_hdr resp; /**< response frames */
    void *msg;        /**< the decoded body (def->size bytes, from the arena) */
} kw_frame;

/**
 * @brief Decode a frame. Errors: KW_ERR_TRUNCATED / KW_ERR_MALFORMED, KW_ERR_UNSUPPORTED_VERSION
 * (an API or version kwire does not code), KW_ERR_NOMEM (arena).
 */
KW_API kw_err kw_frame_decode(const uint8_t *data, size_t size, kw_arena *arena, kw_frame *out);

/**
 * @brief Encode a frame: for requests the header f->req (its api_key/api_version should match
 * f->def and f->version, but need not: a mismatch is a valid fuzz case), for responses the
 * prefix, f->resp and the body. Header versions follow f->def and f->version.
 */
KW_API kw_err kw_frame_encode(kw_wr *w, const kw_frame *f);

#ifdef __cplusplus
}
#endif

#endif

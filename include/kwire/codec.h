/* kwire: compression codecs of Kafka record batches.
 *
 * Each codec compresses the records area of a batch as one stream, exactly as the Java client
 * does (../shared/kafka-protocol/README.md §6):
 *   gzip   a standard RFC 1952 member (zlib); on read, concatenated members are accepted.
 *   snappy xerial snappy-java framing on write; on read, xerial framing or one bare raw block.
 *   lz4    the LZ4 frame format (liblz4 LZ4F_*), written as Kafka does: FLG 0x60, BD 0x40.
 *   zstd   a standard zstd frame; read with the streaming decoder, so no content size is needed.
 *
 * Output is appended to a kw_wr. Decompression is bounded: more than `max_out` bytes of output is
 * KW_ERR_BOMB, never unbounded memory. Corrupt or truncated input is KW_ERR_DECOMPRESS. A codec
 * left out of the build (meson -D<codec>=disabled, or its library missing) or an unknown id is
 * KW_ERR_UNSUPPORTED_CODEC; kw_codec_available() says which are built in.
 *
 * The functions are pure: no I/O, no global state, callable from any thread. The codec
 * libraries allocate their own working state (zlib, liblz4, libzstd contexts) with malloc;
 * only the output goes through the kw_wr's allocator. */
#ifndef KWIRE_CODEC_H
#define KWIRE_CODEC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Codec ids as in the attributes of a record batch (bits 0-2). */
typedef enum kw_codec {
    KW_CODEC_NONE = 0,
    KW_CODEC_GZIP = 1,
    KW_CODEC_SNAPPY = 2,
    KW_CODEC_LZ4 = 3,
    KW_CODEC_ZSTD = 4
} kw_codec;

/** Ask for the codec's default level (gzip: zlib's default 6; lz4: Kafka's default, the fast
 *  compressor; zstd: 3). */
#define KW_CODEC_LEVEL_DEFAULT INT_MIN

/** kw_decompress_ex flag: accept the LZ4 frame-header checksum Kafka 0.8-0.9 wrote in magic-0
 *  messages (computed over the magic number too). Java ignores that checksum for magic 0. */
#define KW_DECOMPRESS_LZ4_LEGACY_HC 0x1u

/** @brief Whether a codec is built in. KW_CODEC_NONE always is. */
KW_API bool kw_codec_available(int codec);
/** @brief "none", "gzip", "snappy", "lz4", "zstd", or "unknown"; never NULL. */
KW_API const char *kw_codec_name(int codec);

/**
 * @brief Compress `in` and append the result to `out`.
 * @param codec a kw_codec; KW_CODEC_NONE appends `in` unchanged.
 * @param level KW_CODEC_LEVEL_DEFAULT or a codec level: gzip 0..9 (-1 also means the default),
 *        lz4 1..17 (as Kafka's compression.lz4.level: 9 is the fast compressor, other levels
 *        the high-compression one), zstd ZSTD_minCLevel()..ZSTD_maxCLevel(); snappy ignores it.
 * @param in the data; a null slice is empty.
 * @param out the writer; it needs a little headroom beyond the final size (one compressed
 *        block's bound), else KW_ERR_NOSPACE.
 * @return KW_ERR_OK; KW_ERR_UNSUPPORTED_CODEC; KW_ERR_INVALID_ARG for a level out of range;
 *         the writer's error (KW_ERR_NOSPACE, KW_ERR_NOMEM); KW_ERR_COMPRESS if the library
 *         fails. On error `out` may hold a partial result after its old length.
 */
KW_API kw_err kw_compress(int codec, int level, kw_slice in, kw_wr *out);

/**
 * @brief Decompress `in` and append the result to `out`, at most `max_out` bytes.
 * @return KW_ERR_OK; KW_ERR_BOMB when the output would exceed `max_out`;
 *         KW_ERR_DECOMPRESS for corrupt or truncated input (also for trailing bytes that do not
 *         form another gzip member, lz4 frame or zstd frame); KW_ERR_UNSUPPORTED_CODEC; the
 *         writer's error (KW_ERR_NOSPACE if `out` is smaller than the output, KW_ERR_NOMEM);
 *         KW_ERR_NOMEM if the codec library cannot allocate its context. For zstd, a frame
 *         whose window exceeds max(8 MiB, max_out) is KW_ERR_BOMB too: the window is memory the
 *         decoder would have to allocate. On error `out` may hold partial output.
 */
KW_API kw_err kw_decompress(int codec, kw_slice in, kw_wr *out, size_t max_out);

/** @brief kw_decompress with KW_DECOMPRESS_* flags. */
KW_API kw_err kw_decompress_ex(int codec, unsigned flags, kw_slice in, kw_wr *out, size_t max_out);

/** Codec library contexts kept between calls. Setting a context up is most of the cost of
 *  compressing a small batch (a zstd context is hundreds of KiB of tables), so a producer or
 *  a fetcher keeps one and passes it to every call. A context serves every codec and both
 *  directions; it is not thread-safe (one thread at a time). */
typedef struct kw_codec_ctx kw_codec_ctx;

/** @brief A new, empty context (library contexts are made on first use).
 *  @param a NULL = the default allocator (for the context itself; the codec libraries
 *         allocate their own state with malloc). */
KW_API kw_err kw_codec_ctx_new(const kw_allocator *a, kw_codec_ctx **out);
/** @brief Free a context and its library contexts. NULL does nothing. */
KW_API void kw_codec_ctx_free(kw_codec_ctx *ctx);
/** @brief kw_compress reusing the context's library state (ctx NULL = kw_compress). Output is
 *  byte-identical to kw_compress. */
KW_API kw_err kw_compress_ctx(kw_codec_ctx *ctx, int codec, int level, kw_slice in, kw_wr *out);
/** @brief kw_decompress_ex reusing the context's library state (ctx NULL = kw_decompress_ex). */
KW_API kw_err kw_decompress_ctx(kw_codec_ctx *ctx, int codec, unsigned flags, kw_slice in,
                                kw_wr *out, size_t max_out);

#ifdef __cplusplus
}
#endif
#endif

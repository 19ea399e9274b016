/* Compression codecs of record batches (README §6): gzip through zlib, snappy through libsnappy's
 * C API with xerial framing, lz4 through liblz4's frame API, zstd through libzstd's streaming
 * API. Each codec is compiled only when meson found its library (KW_HAVE_* in kw_config.h).
 *
 * Output goes straight into the caller's kw_wr, in chunks: the "sink" below reserves a chunk,
 * lets the library write into it and gives back what was not used. Decompression output is
 * bounded by max_out; when the bound is reached the library gets a one-byte probe buffer, and
 * any byte written there means the data is larger than allowed (KW_ERR_BOMB). So a bomb costs
 * at most max_out bytes of memory, and data of exactly max_out bytes still fits. */
#include <string.h>

#include "kw_config.h"
#include "kwire/codec.h"

#if KW_HAVE_ZLIB
#define ZLIB_CONST
#include <zlib.h>
#endif
#if KW_HAVE_SNAPPY
#include <snappy-c.h>
#endif
#if KW_HAVE_LZ4
#include <lz4frame.h>
#endif
#if KW_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

#define CHUNK (64u * 1024u)

#define ANY_CODEC    (KW_HAVE_ZLIB || KW_HAVE_SNAPPY || KW_HAVE_LZ4 || KW_HAVE_ZSTD)
#define STREAM_CODEC (KW_HAVE_ZLIB || KW_HAVE_LZ4 || KW_HAVE_ZSTD)

/* The libraries' contexts, kept between calls. Creating them is most of the cost of
 * compressing a small batch (a zstd level-3 context is a few hundred KiB of tables to set up),
 * so a producer or fetcher keeps one kw_codec_ctx and every call resets what it reuses. A NULL
 * context means "make one for this call only". */
struct kw_codec_ctx {
    const kw_allocator *a;
#if KW_HAVE_ZLIB
    z_stream def, inf;
    bool def_ok, inf_ok;
    int def_level;
#endif
#if KW_HAVE_LZ4
    LZ4F_cctx *lz4c;
    LZ4F_dctx *lz4d;
#endif
#if KW_HAVE_ZSTD
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
#endif
};

/* ---------------------------------------------------------------- output sink */

#if ANY_CODEC

typedef struct sink {
    kw_wr *w;
    size_t limit;    /* decompression bound; SIZE_MAX when compressing */
    size_t produced; /* bytes appended so far */
    size_t asked;    /* size of the buffer the last sink_get handed out */
    bool probe;      /* that buffer was the one-byte probe */
    uint8_t probe_byte;
} sink;

static void
sink_init(sink *s, kw_wr *w, size_t limit)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->limit = limit;
}

static kw_err
sink_err(const sink *s)
{
    kw_err e = kw_wr_finish(s->w);
    return e ? e : KW_ERR_NOMEM;
}
#endif

#if STREAM_CODEC
/* Bytes the writer can still take: up to its maximum if it grows, else to its end. */
static size_t
wr_room(const kw_wr *w)
{
    if (w->err)
        return 0;
    if (!w->a)
        return (size_t)(w->end - w->p);
    size_t len = kw_wr_len(w);
    return w->max > len ? w->max - len : 0;
}

/* A buffer for the next piece of output, or NULL with the writer's error set. When neither the
 * bound nor the writer leaves room, the buffer is the one-byte probe. */
static uint8_t *
sink_get(sink *s, size_t *avail)
{
    size_t n = CHUNK;
    size_t left = s->limit - s->produced;
    size_t room = wr_room(s->w);
    if (left < n)
        n = left;
    if (room < n)
        n = room;
    s->probe = n == 0;
    if (s->probe) {
        s->asked = *avail = 1;
        return &s->probe_byte;
    }
    uint8_t *p = kw_wr_reserve(s->w, n);
    if (!p)
        return NULL;
    s->asked = *avail = n;
    return p;
}

/* Takes back the `unused` tail of the last buffer. Output into the probe is an error: past the
 * bound it is a bomb, otherwise the writer is full. */
static kw_err
sink_put(sink *s, size_t unused)
{
    size_t used = s->asked - unused;
    if (s->probe) {
        if (used == 0)
            return KW_ERR_OK;
        if (s->produced == s->limit)
            return KW_ERR_BOMB;
        return kw_wr_fail(s->w, KW_ERR_NOSPACE);
    }
    s->w->p -= unused;
    s->produced += used;
    return KW_ERR_OK;
}
#endif

/* ---------------------------------------------------------------- gzip */

#if KW_HAVE_ZLIB
/* windowBits 15 + 16 selects the gzip wrapper (RFC 1952) in both directions. */
#define GZ_WBITS (15 + 16)

/* A deflate stream at `level`: the context's, reset, when it has one at that level. */
static kw_err
gz_deflate_get(kw_codec_ctx *ctx, int level, z_stream *tmp, z_stream **out)
{
    if (ctx && ctx->def_ok && ctx->def_level == level) {
        *out = &ctx->def;
        return deflateReset(&ctx->def) == Z_OK ? KW_ERR_OK : KW_ERR_COMPRESS;
    }
    if (ctx && ctx->def_ok) {
        deflateEnd(&ctx->def);
        ctx->def_ok = false;
    }
    z_stream *zs = ctx ? &ctx->def : tmp;
    memset(zs, 0, sizeof(*zs));
    int rc = deflateInit2(zs, level, Z_DEFLATED, GZ_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KW_ERR_NOMEM : KW_ERR_COMPRESS;
    if (ctx) {
        ctx->def_ok = true;
        ctx->def_level = level;
    }
    *out = zs;
    return KW_ERR_OK;
}

static kw_err
gz_compress(kw_codec_ctx *ctx, int level, const uint8_t *in, size_t len, kw_wr *w)
{
    sink sk, *s = &sk;
    sink_init(s, w, SIZE_MAX);
    if (level == KW_CODEC_LEVEL_DEFAULT)
        level = Z_DEFAULT_COMPRESSION;
    if (level < -1 || level > 9)
        return KW_ERR_INVALID_ARG;
    z_stream tmp, *zs;
    kw_err e = gz_deflate_get(ctx, level, &tmp, &zs);
    if (e)
        return e;
    zs->next_in = in;
    zs->avail_in = (uInt)len;
    for (;;) {
        size_t avail;
        uint8_t *o = sink_get(s, &avail);
        if (!o) {
            e = sink_err(s);
            break;
        }
        zs->next_out = o;
        zs->avail_out = (uInt)avail;
        int rc = deflate(zs, Z_FINISH);
        if ((e = sink_put(s, zs->avail_out)))
            break;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            e = KW_ERR_COMPRESS;
            break;
        }
    }
    if (!ctx)
        deflateEnd(zs);
    return e;
}

/* One or more concatenated gzip members. Input that ends inside a member, or trailing bytes
 * that are not another member's header, are corrupt. */
static kw_err
gz_inflate_get(kw_codec_ctx *ctx, z_stream *tmp, z_stream **out)
{
    if (ctx && ctx->inf_ok) {
        *out = &ctx->inf;
        return inflateReset(&ctx->inf) == Z_OK ? KW_ERR_OK : KW_ERR_DECOMPRESS;
    }
    z_stream *zs = ctx ? &ctx->inf : tmp;
    memset(zs, 0, sizeof(*zs));
    int rc = inflateInit2(zs, GZ_WBITS);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KW_ERR_NOMEM : KW_ERR_DECOMPRESS;
    if (ctx)
        ctx->inf_ok = true;
    *out = zs;
    return KW_ERR_OK;
}

static kw_err
gz_decompress(kw_codec_ctx *ctx, const uint8_t *in, size_t len, kw_wr *w, size_t max_out)
{
    sink sk, *s = &sk;
    sink_init(s, w, max_out);
    z_stream tmp, *zs;
    kw_err e = gz_inflate_get(ctx, &tmp, &zs);
    if (e)
        return e;
    zs->next_in = in;
    zs->avail_in = (uInt)len;
    for (;;) {
        size_t avail;
        uint8_t *o = sink_get(s, &avail);
        if (!o) {
            e = sink_err(s);
            break;
        }
        zs->next_out = o;
        zs->avail_out = (uInt)avail;
        int rc = inflate(zs, Z_NO_FLUSH);
        size_t unused = zs->avail_out;
        if ((e = sink_put(s, unused)))
            break;
        if (rc == Z_STREAM_END) {
            if (zs->avail_in == 0)
                break;
            inflateReset(zs); /* another member follows */
            continue;
        }
        if (rc == Z_MEM_ERROR) {
            e = KW_ERR_NOMEM;
            break;
        }
        /* Z_BUF_ERROR only says no progress was possible; with input left and room in the
         * buffer that cannot happen, so it and an exhausted input both mean truncation. */
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || (zs->avail_in == 0 && unused > 0)) {
            e = KW_ERR_DECOMPRESS;
            break;
        }
    }
    if (!ctx)
        inflateEnd(zs);
    return e;
}
#endif

/* ---------------------------------------------------------------- snappy */

#if KW_HAVE_SNAPPY
/* snappy-java's SnappyOutputStream: magic, version 1, minimum compatible version 1, then
 * int32-BE-length-prefixed raw blocks of at most 32 KiB of input each. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HDR   16u
#define XERIAL_BLOCK (32u * 1024u)

static kw_err
snappy_block_compress(const uint8_t *in, size_t n, kw_wr *w)
{
    size_t bound = snappy_max_compressed_length(n);
    size_t pos = kw_wr_len(w);
    if (bound > INT32_MAX)
        return KW_ERR_COMPRESS;
    uint8_t *p = kw_wr_reserve(w, 4 + bound);
    if (!p)
        return kw_wr_finish(w);
    size_t clen = bound;
    if (snappy_compress((const char *)in, n, (char *)p + 4, &clen) != SNAPPY_OK)
        return KW_ERR_COMPRESS;
    w->p -= bound - clen;
    kw_wr_patch_i32(w, pos, (int32_t)clen);
    return kw_wr_finish(w);
}

static kw_err
sn_compress(const uint8_t *in, size_t len, kw_wr *w)
{
    kw_wr_raw(w, xerial_magic, sizeof(xerial_magic));
    kw_wr_i32(w, 1);
    kw_wr_i32(w, 1);
    kw_err e = kw_wr_finish(w);
    for (size_t off = 0; !e && off < len; off += XERIAL_BLOCK) {
        size_t n = len - off < XERIAL_BLOCK ? len - off : XERIAL_BLOCK;
        e = snappy_block_compress(in + off, n, w);
    }
    return e;
}

/* One raw snappy block. Its header states the uncompressed length, which is checked against
 * the bound before any memory is reserved. */
static kw_err
snappy_block_decompress(const uint8_t *in, size_t n, sink *s)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, n, &ulen) != SNAPPY_OK)
        return KW_ERR_DECOMPRESS;
    if (ulen > s->limit - s->produced)
        return KW_ERR_BOMB;
    if (ulen == 0) {
        bool ok = snappy_validate_compressed_buffer((const char *)in, n) == SNAPPY_OK;
        return ok ? KW_ERR_OK : KW_ERR_DECOMPRESS;
    }
    uint8_t *p = kw_wr_reserve(s->w, ulen);
    if (!p)
        return sink_err(s);
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, n, (char *)p, &got) != SNAPPY_OK || got != ulen) {
        s->w->p -= ulen;
        return KW_ERR_DECOMPRESS;
    }
    s->produced += ulen;
    return KW_ERR_OK;
}

/* xerial framing when the magic is there (snappy-java ignores the two version fields), else
 * the whole input is one raw block, as SnappyInputStream does. */
static kw_err
sn_decompress(const uint8_t *in, size_t len, kw_wr *w, size_t max_out)
{
    sink sk, *s = &sk;
    sink_init(s, w, max_out);
    if (len < sizeof(xerial_magic) || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
        return snappy_block_decompress(in, len, s);
    kw_rd r;
    kw_rd_init(&r, in, len);
    if (!kw_rd_raw(&r, XERIAL_HDR))
        return KW_ERR_DECOMPRESS;
    while (kw_rd_remain(&r) > 0) {
        int32_t n = kw_rd_i32(&r);
        if (r.err || n < 0 || kw_rd_remain(&r) < (size_t)n)
            return KW_ERR_DECOMPRESS;
        kw_err e = snappy_block_decompress(kw_rd_raw(&r, (size_t)n), (size_t)n, s);
        if (e)
            return e;
    }
    return KW_ERR_OK;
}
#endif

/* ---------------------------------------------------------------- lz4 */

#if KW_HAVE_LZ4
/* Kafka's frame: independent 64 KiB blocks, no block or content checksum, no content size,
 * which LZ4F writes as FLG 0x60, BD 0x40. Kafka's default level 9 means the fast compressor;
 * any other level the high-compression one (LZ4F uses HC from level 3 up). */
static kw_err
lz4_compress(kw_codec_ctx *ctx, int level, const uint8_t *in, size_t len, kw_wr *w)
{
    if (level != KW_CODEC_LEVEL_DEFAULT && (level < 1 || level > 17))
        return KW_ERR_INVALID_ARG;
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    /* Input goes in whole 64 KiB blocks, so flushing each update changes nothing in the frame;
     * it only keeps LZ4F_compressBound to the size of this update instead of a full block. */
    prefs.autoFlush = 1;
    prefs.compressionLevel = level == KW_CODEC_LEVEL_DEFAULT || level == 9 ? 0 : level;
    LZ4F_cctx *c = ctx ? ctx->lz4c : NULL;
    if (!c && LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)))
        return KW_ERR_NOMEM;
    size_t off = 0;
    bool begun = false, done = false;
    while (!done) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        size_t bound = !begun ? LZ4F_HEADER_SIZE_MAX : LZ4F_compressBound(n, &prefs);
        uint8_t *p = kw_wr_reserve(w, bound);
        if (!p)
            break;
        size_t r;
        if (!begun) {
            r = LZ4F_compressBegin(c, p, bound, &prefs);
            begun = true;
        } else if (n > 0) {
            r = LZ4F_compressUpdate(c, p, bound, in + off, n, NULL);
            off += n;
        } else {
            r = LZ4F_compressEnd(c, p, bound, NULL);
            done = true;
        }
        if (LZ4F_isError(r)) {
            kw_wr_fail(w, KW_ERR_COMPRESS);
            break;
        }
        w->p -= bound - r;
    }
    /* A context is reusable after a complete frame (LZ4F_compressBegin starts afresh); one
     * left mid-frame by an error is not kept. */
    if (ctx && done) {
        ctx->lz4c = c;
    } else {
        LZ4F_freeCompressionContext(c);
        if (ctx)
            ctx->lz4c = NULL;
    }
    return kw_wr_finish(w);
}

/* XXH32 of fewer than 16 bytes (the short-input path of the xxHash spec); enough for the
 * 6-byte span Kafka's old writer checksummed. */
static uint32_t
xxh32_short(const uint8_t *p, size_t n, uint32_t seed)
{
    const uint32_t p1 = 0x9E3779B1u, p2 = 0x85EBCA77u, p3 = 0xC2B2AE3Du, p4 = 0x27D4EB2Fu,
                   p5 = 0x165667B1u;
    uint32_t h = seed + p5 + (uint32_t)n;
    for (; n >= 4; p += 4, n -= 4) {
        uint32_t k =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        h += k * p3;
        h = ((h << 17) | (h >> 15)) * p4;
    }
    for (; n > 0; p++, n--) {
        h += *p * p5;
        h = ((h << 11) | (h >> 21)) * p1;
    }
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

/* Kafka 0.8-0.9 computed the magic-0 frame-header checksum over magic, FLG and BD instead of
 * FLG and BD alone. For a header without content size or dictionary id (all Kafka wrote), put
 * the right checksum into `hdr` (a copy of the 7 header bytes) if the old one is found. */
static bool
lz4_fix_legacy_hc(const uint8_t *in, size_t len, uint8_t hdr[7])
{
    static const uint8_t magic[4] = {0x04, 0x22, 0x4D, 0x18};
    if (len < 7 || memcmp(in, magic, 4) != 0 || (in[4] & 0x09) != 0)
        return false;
    uint8_t good = (uint8_t)(xxh32_short(in + 4, 2, 0) >> 8);
    uint8_t old = (uint8_t)(xxh32_short(in, 6, 0) >> 8);
    if (in[6] == good || in[6] != old)
        return false;
    memcpy(hdr, in, 6);
    hdr[6] = good;
    return true;
}

/* Feeds one segment of input to the frame decoder. `last` is the final segment: there the
 * input must end exactly at the end of a frame; frames may follow each other. */
static kw_err
lz4_feed(LZ4F_dctx *d, const uint8_t *src, size_t left, bool last, sink *s)
{
    for (;;) {
        if (left == 0 && !last)
            return KW_ERR_OK;
        size_t avail;
        uint8_t *o = sink_get(s, &avail);
        if (!o)
            return sink_err(s);
        size_t dsz = avail, ssz = left;
        size_t r = LZ4F_decompress(d, o, &dsz, src, &ssz, NULL);
        kw_err e = sink_put(s, avail - dsz);
        if (e)
            return e;
        if (LZ4F_isError(r))
            return KW_ERR_DECOMPRESS;
        src += ssz;
        left -= ssz;
        if (r == 0 && left == 0)
            return KW_ERR_OK;         /* a frame ended with the input (or with this segment) */
        if (left == 0 && dsz < avail) /* the decoder wants more input than there is */
            return last ? KW_ERR_DECOMPRESS : KW_ERR_OK;
    }
}

static kw_err
lz4_decompress(kw_codec_ctx *ctx, unsigned flags, const uint8_t *in, size_t len, kw_wr *w,
               size_t max_out)
{
    sink sk, *s = &sk;
    sink_init(s, w, max_out);
    LZ4F_dctx *d = ctx ? ctx->lz4d : NULL;
    if (d)
        LZ4F_resetDecompressionContext(d);
    else if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return KW_ERR_NOMEM;
    uint8_t hdr[7];
    kw_err e = KW_ERR_OK;
    if ((flags & KW_DECOMPRESS_LZ4_LEGACY_HC) && lz4_fix_legacy_hc(in, len, hdr)) {
        e = lz4_feed(d, hdr, sizeof(hdr), false, s);
        in += sizeof(hdr);
        len -= sizeof(hdr);
    }
    if (!e)
        e = lz4_feed(d, in, len, true, s);
    if (ctx)
        ctx->lz4d = d;
    else
        LZ4F_freeDecompressionContext(d);
    return e;
}
#endif

/* ---------------------------------------------------------------- zstd */

#if KW_HAVE_ZSTD
static kw_err
zstd_compress(kw_codec_ctx *ctx, int level, const uint8_t *in, size_t len, kw_wr *w)
{
    sink sk, *s = &sk;
    sink_init(s, w, SIZE_MAX);
    if (level == KW_CODEC_LEVEL_DEFAULT)
        level = 3;
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return KW_ERR_INVALID_ARG;
    ZSTD_CCtx *c = ctx ? ctx->zc : NULL;
    if (c)
        ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
    else if (!(c = ZSTD_createCCtx()))
        return KW_ERR_NOMEM;
    if (ctx)
        ctx->zc = c;
    kw_err e = KW_ERR_OK;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, len)))
        e = KW_ERR_COMPRESS;
    ZSTD_inBuffer ib = {in, len, 0};
    while (!e) {
        size_t avail;
        uint8_t *o = sink_get(s, &avail);
        if (!o) {
            e = sink_err(s);
            break;
        }
        ZSTD_outBuffer ob = {o, avail, 0};
        size_t r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
        if ((e = sink_put(s, avail - ob.pos)))
            break;
        if (ZSTD_isError(r))
            e = KW_ERR_COMPRESS;
        else if (r == 0)
            break;
    }
    if (!ctx)
        ZSTD_freeCCtx(c);
    return e;
}

/* The decoder allocates the frame's window up front. Windows up to 8 MiB (every level up to
 * 18 writes less) are always accepted; larger ones only when max_out could fill them. */
static int
zstd_window_log(size_t max_out)
{
    int wlog = 23;
    while (wlog < 30 && ((size_t)1 << wlog) < max_out)
        wlog++;
    return wlog;
}

static kw_err
zstd_decompress(kw_codec_ctx *ctx, const uint8_t *in, size_t len, kw_wr *w, size_t max_out)
{
    sink sk, *s = &sk;
    sink_init(s, w, max_out);
    ZSTD_DCtx *d = ctx ? ctx->zd : NULL;
    if (d)
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    else if (!(d = ZSTD_createDCtx()))
        return KW_ERR_NOMEM;
    if (ctx)
        ctx->zd = d;
    kw_err e = KW_ERR_OK;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, zstd_window_log(s->limit))))
        e = KW_ERR_DECOMPRESS;
    ZSTD_inBuffer ib = {in, len, 0};
    while (!e) {
        size_t avail;
        uint8_t *o = sink_get(s, &avail);
        if (!o) {
            e = sink_err(s);
            break;
        }
        ZSTD_outBuffer ob = {o, avail, 0};
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if ((e = sink_put(s, avail - ob.pos)))
            break;
        if (ZSTD_isError(r)) {
            bool big = ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge;
            e = big ? KW_ERR_BOMB : KW_ERR_DECOMPRESS;
        } else if (r == 0 && ib.pos == ib.size) {
            break; /* the last frame ended with the input */
        } else if (ib.pos == ib.size && ob.pos < ob.size) {
            e = KW_ERR_DECOMPRESS; /* truncated */
        }
    }
    if (!ctx)
        ZSTD_freeDCtx(d);
    return e;
}
#endif

/* ---------------------------------------------------------------- dispatch */

bool
kw_codec_available(int codec)
{
    switch (codec) {
    case KW_CODEC_NONE:
        return true;
    case KW_CODEC_GZIP:
        return KW_HAVE_ZLIB;
    case KW_CODEC_SNAPPY:
        return KW_HAVE_SNAPPY;
    case KW_CODEC_LZ4:
        return KW_HAVE_LZ4;
    case KW_CODEC_ZSTD:
        return KW_HAVE_ZSTD;
    default:
        return false;
    }
}

const char *
kw_codec_name(int codec)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    if (codec < 0 || codec > KW_CODEC_ZSTD)
        return "unknown";
    return names[codec];
}

/* A null slice is empty; a negative length other than -1 or a missing pointer is misuse. */
static kw_err
check_input(kw_slice in, const kw_wr *w)
{
    if (in.len < -1 || (in.len > 0 && !in.ptr))
        return KW_ERR_INVALID_ARG;
    return kw_wr_finish(w);
}

kw_err
kw_codec_ctx_new(const kw_allocator *a, kw_codec_ctx **out)
{
    if (!out)
        return KW_ERR_INVALID_ARG;
    if (!a)
        a = kw_allocator_default();
    kw_codec_ctx *ctx = a->alloc(a->ud, sizeof(*ctx));
    *out = ctx;
    if (!ctx)
        return KW_ERR_NOMEM;
    memset(ctx, 0, sizeof(*ctx));
    ctx->a = a;
    return KW_ERR_OK;
}

void
kw_codec_ctx_free(kw_codec_ctx *ctx)
{
    if (!ctx)
        return;
#if KW_HAVE_ZLIB
    if (ctx->def_ok)
        deflateEnd(&ctx->def);
    if (ctx->inf_ok)
        inflateEnd(&ctx->inf);
#endif
#if KW_HAVE_LZ4
    LZ4F_freeCompressionContext(ctx->lz4c);
    LZ4F_freeDecompressionContext(ctx->lz4d);
#endif
#if KW_HAVE_ZSTD
    ZSTD_freeCCtx(ctx->zc);
    ZSTD_freeDCtx(ctx->zd);
#endif
    const kw_allocator *a = ctx->a;
    a->free(a->ud, ctx, sizeof(*ctx));
}

kw_err
kw_compress(int codec, int level, kw_slice in, kw_wr *out)
{
    return kw_compress_ctx(NULL, codec, level, in, out);
}

kw_err
kw_compress_ctx(kw_codec_ctx *ctx, int codec, int level, kw_slice in, kw_wr *out)
{
    kw_err e = check_input(in, out);
    if (e)
        return e;
    const uint8_t *p = in.ptr;
    size_t len = in.len > 0 ? (size_t)in.len : 0;
    (void)level;
    (void)ctx;
    switch (codec) {
    case KW_CODEC_NONE:
        kw_wr_raw(out, p, len);
        return kw_wr_finish(out);
#if KW_HAVE_ZLIB
    case KW_CODEC_GZIP:
        return gz_compress(ctx, level, p, len, out);
#endif
#if KW_HAVE_SNAPPY
    case KW_CODEC_SNAPPY:
        return sn_compress(p, len, out);
#endif
#if KW_HAVE_LZ4
    case KW_CODEC_LZ4:
        return lz4_compress(ctx, level, p, len, out);
#endif
#if KW_HAVE_ZSTD
    case KW_CODEC_ZSTD:
        return zstd_compress(ctx, level, p, len, out);
#endif
    default:
        return KW_ERR_UNSUPPORTED_CODEC;
    }
}

kw_err
kw_decompress_ex(int codec, unsigned flags, kw_slice in, kw_wr *out, size_t max_out)
{
    return kw_decompress_ctx(NULL, codec, flags, in, out, max_out);
}

kw_err
kw_decompress_ctx(kw_codec_ctx *ctx, int codec, unsigned flags, kw_slice in, kw_wr *out,
                  size_t max_out)
{
    kw_err e = check_input(in, out);
    if (e)
        return e;
    const uint8_t *p = in.ptr;
    size_t len = in.len > 0 ? (size_t)in.len : 0;
    (void)flags;
    (void)ctx;
    switch (codec) {
    case KW_CODEC_NONE:
        if (len > max_out)
            return KW_ERR_BOMB;
        kw_wr_raw(out, p, len);
        return kw_wr_finish(out);
#if KW_HAVE_ZLIB
    case KW_CODEC_GZIP:
        return gz_decompress(ctx, p, len, out, max_out);
#endif
#if KW_HAVE_SNAPPY
    case KW_CODEC_SNAPPY:
        return sn_decompress(p, len, out, max_out);
#endif
#if KW_HAVE_LZ4
    case KW_CODEC_LZ4:
        return lz4_decompress(ctx, flags, p, len, out, max_out);
#endif
#if KW_HAVE_ZSTD
    case KW_CODEC_ZSTD:
        return zstd_decompress(ctx, p, len, out, max_out);
#endif
    default:
        return KW_ERR_UNSUPPORTED_CODEC;
    }
}

kw_err
kw_decompress(int codec, kw_slice in, kw_wr *out, size_t max_out)
{
    return kw_decompress_ex(codec, 0, in, out, max_out);
}

/* kwire: record batches (message format v2, "magic 2") and legacy message sets (magic 0 and 1).
 *
 * The `records` field of Produce and Fetch holds concatenated batches
 * (../shared/kafka-protocol/README.md §5). Reading is two iterators:
 *
 *     kw_batch_iter bi;
 *     kw_batch b;
 *     kw_batch_iter_init(&bi, records);
 *     while (kw_batch_iter_next(&bi, &b)) {
 *         kw_record_iter ri;
 *         kw_record rec;
 *         kw_record_iter_init(&ri, &b, &scratch, max_decompressed);
 *         while (kw_record_iter_next(&ri, &rec))
 *             use(rec.offset, rec.key, rec.value);
 *         if (kw_record_iter_err(&ri)) ...
 *     }
 *     if (kw_batch_iter_err(&bi)) ...
 *
 * Batches and records of an uncompressed batch are zero-copy: every slice points into the
 * `records` buffer. A compressed batch is decompressed once, into the caller's `scratch` writer,
 * and its records point there. Every batch's checksum is verified: CRC-32C for magic 2, CRC-32
 * for magic 0/1 (KW_ERR_CRC).
 *
 * Legacy messages come out of the same iterators: each magic-0/1 entry is one kw_batch, and the
 * record iterator yields its one message, or the inner messages of a compressed wrapper with
 * their absolute offsets. 4.0 brokers no longer write these, but return old data as stored.
 *
 * Writing is a builder that appends a magic-2 batch to a kw_wr without allocating per record.
 *
 * Everything here is pure: no I/O, no global state; each iterator or builder belongs to one
 * thread at a time. */
#ifndef KWIRE_RECORDS_H
#define KWIRE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a v2 batch header, up to and including the record count. */
#define KW_BATCH_HEADER_SIZE 61
/** Bytes of a batch before its batchLength field counts (base offset + length). */
#define KW_BATCH_LOG_OVERHEAD 12

/** Batch attribute bits (v2). Bits 0-2 and 3 mean the same in legacy messages. */
#define KW_BATCH_ATTR_CODEC_MASK      0x0007
#define KW_BATCH_ATTR_LOG_APPEND_TIME 0x0008
#define KW_BATCH_ATTR_TRANSACTIONAL   0x0010
#define KW_BATCH_ATTR_CONTROL         0x0020
#define KW_BATCH_ATTR_DELETE_HORIZON  0x0040

/** One batch as found on the wire.
 *
 *  For magic 0/1 (one legacy entry) the fields are mapped so the same code works: base_offset
 *  is the entry's offset (for a compressed wrapper, that of its LAST inner message, so
 *  kw_batch_last_offset() is right for both), last_offset_delta 0, base and max timestamp the
 *  message's timestamp (-1 in magic 0), producer id/epoch, base sequence and partition leader
 *  epoch -1, record_count 1, or -1 for a compressed wrapper (unknown until decompressed), and
 *  attributes the codec bits plus, in magic 1, the timestamp-type bit. */
typedef struct kw_batch {
    int64_t base_offset;
    int32_t batch_length; /**< bytes after this field */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
    kw_slice raw;     /**< the whole batch, base offset through its last byte */
    kw_slice records; /**< v2: the records area as sent (compressed if the codec says so);
                           magic 0/1: the message's key and value fields */
} kw_batch;

/** @brief The codec id (attributes bits 0-2). */
static inline int
kw_batch_codec(const kw_batch *b)
{
    return b->attributes & KW_BATCH_ATTR_CODEC_MASK;
}
/** @brief Whether the batch holds control records (transaction markers, KRaft records). */
static inline bool
kw_batch_is_control(const kw_batch *b)
{
    return (b->attributes & KW_BATCH_ATTR_CONTROL) != 0;
}
/** @brief Whether the batch belongs to a transaction. */
static inline bool
kw_batch_is_transactional(const kw_batch *b)
{
    return (b->attributes & KW_BATCH_ATTR_TRANSACTIONAL) != 0;
}
/** @brief Whether record timestamps are the broker's append time (max_timestamp). */
static inline bool
kw_batch_log_append_time(const kw_batch *b)
{
    return (b->attributes & KW_BATCH_ATTR_LOG_APPEND_TIME) != 0;
}
/** @brief The offset of the batch's last record; the next fetch starts after it. */
static inline int64_t
kw_batch_last_offset(const kw_batch *b)
{
    return (int64_t)((uint64_t)b->base_offset + (uint64_t)(int64_t)b->last_offset_delta);
}

/* ---------------------------------------------------------------- batch iterator */

/** Walks the batches of a `records` field. A value type: no _fini. */
typedef struct kw_batch_iter {
    kw_rd rd;     /**< at the next batch; on error, at the start of the bad one */
    bool partial; /**< the data ended with an incomplete batch, which was skipped */
} kw_batch_iter;

/** @brief Start at the first batch of `records` (a null slice is empty). */
KW_API void kw_batch_iter_init(kw_batch_iter *it, kw_slice records);

/**
 * @brief The next complete batch, with its checksum verified.
 *
 * Returns false at the end or on error; kw_batch_iter_err() tells which. A fetch response may
 * cut its last batch short (it is limited by max bytes): an incomplete batch at the end ends the
 * iteration cleanly and sets `partial`. A batch whose stated length does not fit what remains is
 * taken to be that trailing cut, as the Java consumer does, so a corrupt length in the last
 * complete position looks the same. Errors: KW_ERR_MALFORMED (a length below the minimum of its
 * format, a negative record count), KW_ERR_CRC, KW_ERR_UNSUPPORTED_VERSION (magic above 2 or
 * negative). The error is sticky; the cursor stays at the bad batch (kw_rd_pos(&it->rd)).
 */
KW_API bool kw_batch_iter_next(kw_batch_iter *it, kw_batch *out);
/** @brief KW_ERR_OK after a clean end, else the error that stopped the iteration. */
KW_API kw_err kw_batch_iter_err(const kw_batch_iter *it);

/* ---------------------------------------------------------------- records */

/** A record header. The key is never null; the value may be. */
typedef struct kw_header {
    kw_slice key;
    kw_slice value;
} kw_header;

/** One record, with absolute offset and timestamp. Slices borrow the batch's buffer (or the
 *  scratch writer of a compressed batch). */
typedef struct kw_record {
    int64_t offset;
    int64_t timestamp; /**< -1 where there is none (magic 0) */
    int8_t attributes; /**< the record's own attribute byte (unused in v2) */
    kw_slice key;      /**< len -1: null key */
    kw_slice value;    /**< len -1: null value (a tombstone on compacted topics) */
    int32_t n_headers;
    kw_slice headers; /**< the encoded headers; read them with kw_header_iter */
} kw_record;

/** Walks the records of one batch. A value type: no _fini; it holds no memory of its own. */
typedef struct kw_record_iter {
    kw_rd rd;
    kw_batch b;       /**< a copy of the batch header */
    int32_t left;     /**< v2: records still to come */
    int64_t rel_base; /**< legacy v1 wrapper: added to each inner offset */
    bool deep;        /**< legacy: iterating the inner messages of a wrapper */
    bool single;      /**< legacy: the one plain message is still to come */
    kw_err err;
    kw_codec_ctx *zctx; /**< decompression contexts to reuse (kw_record_iter_init_ctx); NULL */
} kw_record_iter;

/**
 * @brief Prepare to walk the records of `b`.
 *
 * A compressed batch (or legacy wrapper) is decompressed now: `scratch` is rewound to empty and
 * receives the records area, at most `max_out` bytes. Records of such a batch stay valid until
 * `scratch` is written again or freed; those of an uncompressed batch as long as the records
 * buffer. `scratch` may be NULL for an uncompressed batch.
 *
 * @return KW_ERR_OK, or the error kw_record_iter_next will stop with: KW_ERR_INVALID_ARG (no
 *         scratch for a compressed batch), KW_ERR_UNSUPPORTED_CODEC, KW_ERR_DECOMPRESS,
 *         KW_ERR_BOMB, the scratch writer's error, KW_ERR_MALFORMED (a record count the data
 *         cannot hold; a legacy wrapper with a null value, zstd, an empty inner set, a partial
 *         inner entry, or a wrapper offset below its last inner offset).
 */
KW_API kw_err kw_record_iter_init(kw_record_iter *it, const kw_batch *b, kw_wr *scratch,
                                  size_t max_out);
/** @brief kw_record_iter_init decompressing through `zctx` (kw_codec_ctx_new), whose library
 *  contexts are reused across batches: a consumer keeps one. zctx NULL = kw_record_iter_init. */
KW_API kw_err kw_record_iter_init_ctx(kw_record_iter *it, const kw_batch *b, kw_wr *scratch,
                                      size_t max_out, kw_codec_ctx *zctx);
/**
 * @brief The next record. Returns false at the end or on error (kw_record_iter_err).
 *
 * v2 records are checked field by field: each must fill exactly its stated length, lengths are
 * -1 or non-negative, header keys are not null, header counts are not negative, and the batch
 * must hold exactly record_count records (KW_ERR_MALFORMED, KW_ERR_TRUNCATED, KW_ERR_OVERLONG).
 * Trailing bytes after the last record are reported after it was returned. Legacy inner
 * messages are CRC-checked one by one (KW_ERR_CRC) and may not be compressed themselves
 * (KW_ERR_MALFORMED); the records before a bad one have already been returned.
 */
KW_API bool kw_record_iter_next(kw_record_iter *it, kw_record *out);
/** @brief KW_ERR_OK after a clean end, else the error that stopped the iteration. */
KW_API kw_err kw_record_iter_err(const kw_record_iter *it);

/** Walks the headers of a record (already validated by the record iterator). */
typedef struct kw_header_iter {
    kw_rd rd;
    int32_t left;
} kw_header_iter;

KW_API void kw_header_iter_init(kw_header_iter *it, const kw_record *rec);
/** @brief The next header; false after the last. */
KW_API bool kw_header_iter_next(kw_header_iter *it, kw_header *out);

/* ---------------------------------------------------------------- control records */

/** Control record types (the key's type field). 2-6 are KRaft-internal. */
#define KW_CONTROL_ABORT  0
#define KW_CONTROL_COMMIT 1

/** A decoded control record: the key (version, type) and, for ABORT/COMMIT, the value
 *  (EndTxnMarker version, coordinator epoch). */
typedef struct kw_control {
    int16_t key_version;
    int16_t type;
    int16_t value_version;     /**< -1 unless ABORT/COMMIT */
    int32_t coordinator_epoch; /**< -1 unless ABORT/COMMIT */
} kw_control;

/**
 * @brief Decode the record of a control batch.
 * @return KW_ERR_MALFORMED if the key is shorter than 4 bytes or its version negative, or if an
 *         ABORT/COMMIT value is shorter than 6 bytes or its version negative. Later versions
 *         are accepted (their extra bytes ignored), as Java does.
 */
KW_API kw_err kw_control_decode(const kw_record *rec, kw_control *out);

/* ---------------------------------------------------------------- writing */

/** The batch header fields a writer chooses. Value type: kw_batch_opts_init gives a plain
 *  (non-idempotent) producer batch. */
typedef struct kw_batch_opts {
    int64_t base_offset;            /**< 0 from a producer; the broker assigns offsets */
    int32_t partition_leader_epoch; /**< -1 from a producer */
    int16_t attributes;             /**< codec bits plus KW_BATCH_ATTR_* flags */
    int64_t producer_id;            /**< -1 unless idempotent */
    int16_t producer_epoch;         /**< -1 unless idempotent */
    int32_t base_sequence;          /**< -1 unless idempotent */
    int level;                      /**< compression level, KW_CODEC_LEVEL_DEFAULT */
    int64_t log_append_time;        /**< max_timestamp when KW_BATCH_ATTR_LOG_APPEND_TIME */
} kw_batch_opts;

KW_API void kw_batch_opts_init(kw_batch_opts *o);

/** Appends one batch to a writer. A value type; nothing to free. */
typedef struct kw_batch_builder {
    kw_wr *w;
    size_t start; /**< where the batch begins in w */
    kw_batch_opts o;
    int32_t count;
    int64_t base_ts, max_ts;
    kw_err err;
} kw_batch_builder;

/** @brief Begin a batch at the end of `w` (the 61-byte header is written now and completed by
 *  kw_batch_builder_finish). KW_ERR_UNSUPPORTED_CODEC for a codec not built in. */
KW_API kw_err kw_batch_builder_init(kw_batch_builder *b, kw_wr *w, const kw_batch_opts *o);

/**
 * @brief Append a record: offset delta = its index, timestamp delta from the first record's.
 * @param key,value len -1 for null.
 * @param headers n_headers entries (NULL if 0); keys must not be null.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG for a null header key, a negative count or a length
 *         below -1; KW_ERR_VALUE_RANGE past INT32_MAX records or bytes; the writer's error.
 *         Errors are sticky: later calls and finish return the same one.
 */
KW_API kw_err kw_batch_builder_add(kw_batch_builder *b, int64_t timestamp, kw_slice key,
                                   kw_slice value, const kw_header *headers, int32_t n_headers);

/** @brief Bytes the batch takes in `w` so far (header + uncompressed records). */
KW_API size_t kw_batch_builder_size(const kw_batch_builder *b);

/**
 * @brief Compress the records area if a codec is set, then fill in the lengths, count,
 *        timestamps and CRC. A batch with no records gets timestamps -1 and last offset delta -1.
 * @param scratch where compression happens (rewound first); NULL to use a temporary buffer
 *        from the writer's allocator (or the default one for a fixed writer).
 * @return KW_ERR_OK, or the builder's, writer's or codec's error.
 */
KW_API kw_err kw_batch_builder_finish(kw_batch_builder *b, kw_wr *scratch);

/** @brief Encoded size of one v2 record (including its length prefix), or 0 if a length is
 *  invalid or the size exceeds INT32_MAX. Lets a producer check a batch limit before adding. */
KW_API size_t kw_record_size(int64_t timestamp_delta, int32_t offset_delta, kw_slice key,
                             kw_slice value, const kw_header *headers, int32_t n_headers);

/**
 * @brief Append a control batch of one record, as a transaction coordinator writes an ABORT or
 *        COMMIT marker.
 *
 * The batch takes base offset, leader epoch, producer id/epoch from `o` (its codec is ignored:
 * control batches are never compressed); the attributes get CONTROL, plus TRANSACTIONAL for
 * ABORT/COMMIT. The key is version 0 + type; for ABORT/COMMIT the value is version 0 +
 * coordinator_epoch, for other types null.
 */
KW_API kw_err kw_control_batch_encode(kw_wr *w, const kw_batch_opts *o, int64_t timestamp,
                                      int16_t type, int32_t coordinator_epoch);

#ifdef __cplusplus
}
#endif
#endif

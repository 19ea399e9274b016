/* kwire: the pure Kafka wire codec.
 *
 * No I/O, no clock, no logging, no global state. Reader and writer cursors carry a sticky error:
 * after the first failure every read yields 0/empty and every write is dropped, so a codec reads
 * straight down a schema and checks once at the end.
 *
 * Messages are coded by one hand-written "walk" function per structure (kw_io below) that mirrors
 * the schema in ../shared/kafka-protocol/messages. The same walk decodes, encodes, dumps the field
 * values as text (the conformance format of tests/vectors) and computes the minimum encoded size
 * of an array element, so the encoder and the decoder cannot drift apart. */
#ifndef KWIRE_PROTO_H
#define KWIRE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A borrowed byte range. len -1 means null. Strings are UTF-8 and not NUL-terminated. */
typedef struct kw_slice {
    const uint8_t *ptr;
    int32_t len;
} kw_slice;

/** A Kafka UUID (topic id). All zero means "none". */
typedef struct kw_uuid {
    uint8_t b[16];
} kw_uuid;

#define KW_SLICE_NULL ((kw_slice){NULL, -1})
/** @brief A slice over a NUL-terminated string (NULL gives the null slice). */
KW_API kw_slice kw_slice_str(const char *s);
/** @brief Whether a slice equals a NUL-terminated string. */
KW_API bool kw_slice_eq(kw_slice a, const char *s);

/* ---------------------------------------------------------------- reader */

#define KW_RD_FLEX 0x1u /* compact strings/arrays/bytes and tagged sections */

/** A read cursor over [base, end). */
typedef struct kw_rd {
    const uint8_t *base, *p, *end;
    kw_err err;
    uint32_t flags;
} kw_rd;

KW_API void kw_rd_init(kw_rd *r, const void *buf, size_t len);
/** @brief Bytes not yet read (0 after an error). */
KW_API size_t kw_rd_remain(const kw_rd *r);
/** @brief Offset of the cursor from base. */
KW_API size_t kw_rd_pos(const kw_rd *r);
/** @brief Set the first error (later ones are ignored). Returns the sticky error. */
KW_API kw_err kw_rd_fail(kw_rd *r, kw_err e);
/** @brief Select flexible (compact) encodings for strings, bytes, arrays. */
KW_API void kw_rd_set_flex(kw_rd *r, bool flex);
/** @brief The sticky error, or KW_ERR_OK. */
KW_API kw_err kw_rd_finish(const kw_rd *r);

KW_API int8_t kw_rd_i8(kw_rd *r);
KW_API int16_t kw_rd_i16(kw_rd *r);
KW_API int32_t kw_rd_i32(kw_rd *r);
KW_API int64_t kw_rd_i64(kw_rd *r);
KW_API uint16_t kw_rd_u16(kw_rd *r);
KW_API uint32_t kw_rd_u32(kw_rd *r);
KW_API double kw_rd_f64(kw_rd *r);
KW_API bool kw_rd_bool(kw_rd *r);
KW_API kw_uuid kw_rd_uuid(kw_rd *r);
/** @brief Unsigned LEB128 varint of at most 5 bytes; overlong forms are KW_ERR_OVERLONG. */
KW_API uint32_t kw_rd_uvarint(kw_rd *r);
/** @brief Unsigned LEB128 of at most 10 bytes. */
KW_API uint64_t kw_rd_uvarlong(kw_rd *r);
/** @brief Zigzag signed varint (int32). */
KW_API int32_t kw_rd_varint(kw_rd *r);
/** @brief Zigzag signed varlong (int64). */
KW_API int64_t kw_rd_varlong(kw_rd *r);
/** @brief n raw bytes, borrowed. */
KW_API const uint8_t *kw_rd_raw(kw_rd *r, size_t n);
/** @brief A string: int16 length (classic) or uvarint length+1 (flexible); -1/0 give null. */
KW_API kw_slice kw_rd_str(kw_rd *r);
/** @brief Bytes: int32 length (classic) or uvarint length+1 (flexible). */
KW_API kw_slice kw_rd_bytes(kw_rd *r);
/** @brief An array count: int32 (classic, -1 null) or uvarint count+1 (flexible, 0 null).
 *  Returns -1 for null. The count is checked against the remaining bytes at `min_elem`
 *  bytes per element (at least 1), so it can size an allocation. */
KW_API int32_t kw_rd_array_len(kw_rd *r, size_t min_elem);
/** @brief A child cursor over the next n bytes; the parent skips them. */
KW_API kw_rd kw_rd_child(kw_rd *r, size_t n);
/** @brief Skip a whole tagged-field section (flexible versions). */
KW_API void kw_rd_tagged_skip(kw_rd *r);

/* ---------------------------------------------------------------- writer */

/** A write cursor. Either over a caller's fixed buffer, or growing through an allocator up to
 *  a hard maximum. Errors are sticky (KW_ERR_NOSPACE, KW_ERR_NOMEM, KW_ERR_VALUE_RANGE). */
typedef struct kw_wr {
    uint8_t *base, *p, *end;
    kw_err err;
    uint32_t flags;
    const kw_allocator *a; /* NULL for a fixed buffer */
    size_t max;
} kw_wr;

/** @brief Write into a caller-owned buffer of `cap` bytes. */
KW_API void kw_wr_init_fixed(kw_wr *w, void *buf, size_t cap);
/** @brief Write into a growing buffer (allocator `a`, NULL = default), at most `max` bytes. */
KW_API void kw_wr_init_dyn(kw_wr *w, const kw_allocator *a, size_t max);
/** @brief Free a growing buffer. Fixed buffers are left alone. */
KW_API void kw_wr_fini(kw_wr *w);
KW_API size_t kw_wr_len(const kw_wr *w);
KW_API kw_err kw_wr_finish(const kw_wr *w);
KW_API kw_err kw_wr_fail(kw_wr *w, kw_err e);
KW_API void kw_wr_set_flex(kw_wr *w, bool flex);
/** @brief Make room for n more bytes; returns a pointer to them (advanced past), or NULL. */
KW_API uint8_t *kw_wr_reserve(kw_wr *w, size_t n);

KW_API void kw_wr_i8(kw_wr *w, int8_t v);
KW_API void kw_wr_i16(kw_wr *w, int16_t v);
KW_API void kw_wr_i32(kw_wr *w, int32_t v);
KW_API void kw_wr_i64(kw_wr *w, int64_t v);
KW_API void kw_wr_u16(kw_wr *w, uint16_t v);
KW_API void kw_wr_u32(kw_wr *w, uint32_t v);
KW_API void kw_wr_f64(kw_wr *w, double v);
KW_API void kw_wr_bool(kw_wr *w, bool v);
KW_API void kw_wr_uuid(kw_wr *w, const kw_uuid *v);
KW_API void kw_wr_uvarint(kw_wr *w, uint32_t v);
KW_API void kw_wr_uvarlong(kw_wr *w, uint64_t v);
KW_API void kw_wr_varint(kw_wr *w, int32_t v);
KW_API void kw_wr_varlong(kw_wr *w, int64_t v);
KW_API void kw_wr_raw(kw_wr *w, const void *p, size_t n);
KW_API void kw_wr_str(kw_wr *w, kw_slice s);
KW_API void kw_wr_bytes(kw_wr *w, kw_slice s);
/** @brief An array count; -1 is null. */
KW_API void kw_wr_array_len(kw_wr *w, int32_t n);
/** @brief Insert an unsigned varint at byte offset `pos`, moving what follows. Used for the
 *  sizes and counts of tagged sections, which are known only after the body is written. */
KW_API void kw_wr_insert_uvarint(kw_wr *w, size_t pos, uint32_t v);
/** @brief Overwrite an int32 at byte offset `pos` (length back-patching). */
KW_API void kw_wr_patch_i32(kw_wr *w, size_t pos, int32_t v);
/** @brief Size of v as an unsigned varint. */
KW_API size_t kw_uvarint_size(uint32_t v);

/* ---------------------------------------------------------------- the walk */

typedef enum kw_io_mode {
    KW_IO_DECODE = 0,  /* read the wire into the structure */
    KW_IO_ENCODE = 1,  /* write the structure to the wire */
    KW_IO_DUMP = 2,    /* print "path=value" lines (tests/vectors format) */
    KW_IO_MINSIZE = 3, /* add up the smallest encoding (bounds array counts on decode) */
    KW_IO_VISIT = 4    /* report every field to a visitor (kw_msg_walk) */
} kw_io_mode;

struct kw_walk_state; /* VISIT and ENCODE-with-overrides state (kw_msg_walk, kw_msg_encode_ex) */

/** Unknown tagged fields of one structure, kept so a decode->encode round trip is exact. */
typedef struct kw_tag_raw {
    uint32_t tag;
    kw_slice data;
} kw_tag_raw;
typedef struct kw_tags {
    kw_tag_raw *v;
    int32_t n;
} kw_tags;

typedef struct kw_io {
    kw_io_mode mode;
    bool flex;
    kw_rd *rd;       /* DECODE */
    kw_wr *wr;       /* ENCODE; DUMP writes text here */
    kw_arena *arena; /* DECODE: arrays and unknown tags come from here */
    size_t minsize;  /* MINSIZE */
    size_t path_len; /* DUMP, VISIT */
    char path[480];
    struct kw_walk_state *walk; /* VISIT; ENCODE with overrides; NULL otherwise */
} kw_io;

typedef void (*kw_io_fn)(kw_io *io, int16_t ver, void *m);

/** @brief Select compact encodings for the rest of this message. */
KW_API void kw_io_set_flex(kw_io *io, bool flex);
/** @brief True while decoding: the place to set a schema default for an absent field. */
static inline bool
kw_io_decoding(const kw_io *io)
{
    return io->mode == KW_IO_DECODE;
}

KW_API void kw_io_i8(kw_io *io, const char *name, int8_t *v);
KW_API void kw_io_i16(kw_io *io, const char *name, int16_t *v);
KW_API void kw_io_i32(kw_io *io, const char *name, int32_t *v);
KW_API void kw_io_i64(kw_io *io, const char *name, int64_t *v);
KW_API void kw_io_u16(kw_io *io, const char *name, uint16_t *v);
KW_API void kw_io_u32(kw_io *io, const char *name, uint32_t *v);
KW_API void kw_io_f64(kw_io *io, const char *name, double *v);
KW_API void kw_io_bool(kw_io *io, const char *name, bool *v);
KW_API void kw_io_uuid(kw_io *io, const char *name, kw_uuid *v);
KW_API void kw_io_str(kw_io *io, const char *name, kw_slice *v);
KW_API void kw_io_bytes(kw_io *io, const char *name, kw_slice *v);
/** @brief A `records` field: coded like bytes; the batches stay raw (see records.h). */
KW_API void kw_io_records(kw_io *io, const char *name, kw_slice *v);

/** @brief An array of `*n` elements of `esz` bytes at `*arr`, each coded by fn(io, ver, elem).
 *  *n == -1 is a null array. On decode the elements come from the arena, after the count was
 *  checked against the remaining bytes at the element's minimum encoded size. */
KW_API void kw_io_array(kw_io *io, const char *name, void *arr, int32_t *n, size_t esz, kw_io_fn fn,
                        int16_t ver);
/** @brief Element walks for the primitive arrays of the schemas ([]int32, []string), for use
 *  as the `fn` of kw_io_array. */
KW_API void kw_io_elem_i32(kw_io *io, int16_t ver, void *elem);
KW_API void kw_io_elem_str(kw_io *io, int16_t ver, void *elem);
/** @brief A single embedded structure (not nullable). */
KW_API void kw_io_struct(kw_io *io, const char *name, void *m, kw_io_fn fn, int16_t ver);
/** @brief A nullable embedded structure: int8 -1/1 marker, then the fields when present. */
KW_API void kw_io_struct_nullable(kw_io *io, const char *name, bool *present, void *m, kw_io_fn fn,
                                  int16_t ver);

/** Per-structure state of a tagged-field section. */
typedef struct kw_tagsec {
    size_t start;     /* ENCODE: where the section begins */
    size_t val_start; /* ENCODE: where the current field's value begins */
    uint32_t count;
    int32_t n;        /* DECODE: entries found */
    kw_tag_raw *ent;  /* DECODE: all entries (arena) */
    uint8_t *claimed; /* DECODE: which entries a known field took */
    kw_rd saved;      /* DECODE: the structure's cursor while a field is read */
    int32_t cur;
} kw_tagsec;

/** @brief Begin the tagged section that ends a flexible structure. Call only when io->flex.
 *  Known tagged fields follow, each as:
 *      if (kw_io_tag(io, &ts, TAG, value_differs_from_default)) { ...code it...; kw_io_tag_end(io,
 * &ts); } in ascending tag order; then kw_io_tags_end(). On decode kw_io_tag returns whether the
 * tag is on the wire (set the default otherwise); on encode it returns `present`; on dump, true. */
KW_API void kw_io_tags_begin(kw_io *io, kw_tagsec *ts);
KW_API bool kw_io_tag(kw_io *io, kw_tagsec *ts, uint32_t tag, bool present);
KW_API void kw_io_tag_end(kw_io *io, kw_tagsec *ts);
/** @brief End the section; `unknown` receives (decode) or supplies (encode) unknown fields. */
KW_API void kw_io_tags_end(kw_io *io, kw_tagsec *ts, kw_tags *unknown);
/** @brief Shorthand for a flexible structure with no known tagged fields. */
KW_API void kw_io_tags_only(kw_io *io, kw_tags *unknown);

/* ---------------------------------------------------------------- messages */

/** One message type: a request or response body of an API, or an embedded data structure. */
typedef struct kw_msgdef {
    const char *name; /* schema name, e.g. "MetadataRequest" */
    int16_t api_key;  /* -1 for data structures (ConsumerProtocolSubscription) */
    bool response;
    int16_t min_ver, max_ver;
    int16_t flex_ver; /* first flexible version, or -1 */
    size_t size;      /* sizeof the C structure */
    kw_io_fn io;      /* the walk; it selects flexible encoding itself */
} kw_msgdef;

/** @brief The i-th message kwire codes (0-based), or NULL past the last. */
KW_API const kw_msgdef *kw_msgdef_at(size_t i);
/** @brief Look a message up by schema name; NULL if unknown. */
KW_API const kw_msgdef *kw_msgdef_by_name(const char *name);
/** @brief Look up a request (response=false) or response by API key; NULL if unknown. */
KW_API const kw_msgdef *kw_msgdef_by_key(int16_t api_key, bool response);

/** @brief Decode a whole message body from r into *out (d->size bytes, zeroed first).
 *  Arrays and unknown tagged fields are allocated from `arena`; strings and bytes borrow r's
 *  buffer. Trailing bytes after the body are KW_ERR_MALFORMED. */
KW_API kw_err kw_msg_decode(const kw_msgdef *d, int16_t ver, kw_rd *r, kw_arena *arena, void *out);
/** @brief Encode a message body. Versions outside [min_ver, max_ver] are
 * KW_ERR_UNSUPPORTED_VERSION. */
KW_API kw_err kw_msg_encode(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m);
/** @brief Append the conformance dump ("path=value\n" lines) of a message to w. */
KW_API kw_err kw_msg_dump(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m);

/* ---------------------------------------------------------------- generic field walk */

/* A tool can change any field of any message without knowing its API: kw_msg_walk() runs the
 * message's own walk (the one that decodes and encodes it, so it cannot disagree with the codec)
 * in KW_IO_VISIT mode and reports each field with a pointer to its value. Schema facts the C
 * walk does not carry (version range, nullability, the schema type) come from per-message field
 * tables generated from the JSON schemas (src/proto/fieldtab.c, tests/tools/gen_fieldtab.py);
 * a unit test checks every walk against its table for every version, and the conformance
 * vectors against the tables' nullability. See docs/codec.md. */

/** Field types as the walk sees them. */
typedef enum kw_ftype {
    KW_FT_INT8,
    KW_FT_INT16,
    KW_FT_INT32,
    KW_FT_INT64,
    KW_FT_UINT16,
    KW_FT_UINT32,
    KW_FT_FLOAT64,
    KW_FT_BOOL,
    KW_FT_UUID,
    KW_FT_STRING,     /**< value: kw_slice* (len -1 = null) */
    KW_FT_BYTES,      /**< value: kw_slice* */
    KW_FT_RECORDS,    /**< value: kw_slice* holding record batches */
    KW_FT_ARRAY,      /**< value: the element pointer (void **); count: the count (-1 null) */
    KW_FT_STRUCT,     /**< an embedded structure, or one element of an array of structures
                           (index >= 0); value: the structure; present: its marker if nullable */
    KW_FT_STRUCT_END, /**< the end of the structure opened by the matching KW_FT_STRUCT */
    KW_FT_TAGS        /**< the unknown tagged fields of a flexible structure; value: kw_tags* */
} kw_ftype;

/** @brief A short name of a field type ("int32", "string", "array", ...); never NULL. */
KW_API const char *kw_ftype_name(kw_ftype t);

/** One field of the per-message field tables: the schema's facts about a field. */
typedef struct kw_field_def {
    const char *path;           /**< names from the message root, no indices: "Topics.Name" */
    const char *type;           /**< the schema type: "int32", "[]string", "[]TopicData", ... */
    int16_t min_ver, max_ver;   /**< versions of the field */
    int16_t null_min, null_max; /**< nullableVersions (null_min > null_max: never nullable) */
    int32_t tag;                /**< tag number, or -1 */
    int16_t tag_min, tag_max;   /**< taggedVersions */
} kw_field_def;

/** @brief The table entry of a field of message d by its schema path ("Topics.Name"); NULL if
 *  the table has no such field (or d has no table). */
KW_API const kw_field_def *kw_field_def_find(const kw_msgdef *d, const char *path);
/** @brief The number of table entries of message d, and the i-th (NULL past the end). */
KW_API size_t kw_field_def_count(const kw_msgdef *d);
KW_API const kw_field_def *kw_field_def_at(const kw_msgdef *d, size_t i);

/** One field reported by kw_msg_walk(). Pointers are valid during the callback only, except
 *  value/count/present, which point into the message. */
typedef struct kw_field {
    const char *name;  /**< schema name; NULL for primitive array elements and STRUCT_END */
    const char *path;  /**< the dump path with indices: "Topics.0.Partitions.1.Index" */
    const char *spath; /**< the schema path, no indices: "Topics.Partitions.Index" */
    kw_ftype type;
    void *value;             /**< see kw_ftype; NULL for STRUCT_END */
    int32_t *count;          /**< ARRAY: its count */
    bool *present;           /**< STRUCT: the marker of a nullable structure, else NULL */
    size_t elem_size;        /**< ARRAY, and STRUCT of an element: bytes per element */
    int32_t index;           /**< element index within its array, or -1 */
    int32_t tag;             /**< the tag when this is (inside) a tagged field, else -1 */
    int depth;               /**< structure nesting, 0 at the message root */
    bool flex;               /**< compact encodings (flexible version) */
    bool nullable;           /**< null is allowed here at this version (from the table) */
    const kw_field_def *def; /**< the table entry, or NULL (elements, STRUCT_END, TAGS) */
} kw_field;

/** Called for each field in wire order; return non-zero to stop the walk. The callback may
 *  change scalar values and slices (a changed slice must stay valid until the message is
 *  encoded), and counts/element pointers of arrays only at their KW_FT_ARRAY report (the walk
 *  then descends into the new elements). */
typedef int (*kw_field_fn)(void *ud, const kw_field *f);

/**
 * @brief Walk the fields of a decoded (or built) message m of type d at version ver.
 * Tagged fields are reported whether or not they differ from their default.
 * @return KW_ERR_OK, KW_ERR_UNSUPPORTED_VERSION, KW_ERR_INVALID_ARG (a NULL argument), or
 *         KW_ERR_CANCELED when fn stopped the walk.
 */
KW_API kw_err kw_msg_walk(const kw_msgdef *d, int16_t ver, void *m, kw_field_fn fn, void *ud);

/**
 * @brief Walk every field message d has at version ver, with all-zero values: each array
 * reports one element, each nullable structure its fields. The values are read-only here.
 */
KW_API kw_err kw_msg_walk_schema(const kw_msgdef *d, int16_t ver, kw_field_fn fn, void *ud);

/** A wire override for kw_msg_encode_ex(): where the field whose value (or count) pointer is
 *  `field` is encoded, `value` is written as its array count (ARRAY: `field` = the count
 *  pointer), string/bytes length (`field` = the kw_slice*), nullable-structure marker (`field`
 *  = the present pointer), unknown tagged field size (`field` = the kw_tag_raw*) or tagged
 *  section count (`field` = the kw_tags*), while the data written stays the real one. */
typedef struct kw_override {
    const void *field;
    int64_t value;
} kw_override;

/** @brief kw_msg_encode() with wire overrides, to produce frames whose counts and lengths
 *  disagree with their data. Values out of the wire type's range are truncated to it. */
KW_API kw_err kw_msg_encode_ex(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m,
                               const kw_override *ov, size_t n_ov);

/* ---------------------------------------------------------------- headers */

/** Request header v1 (classic) or v2 (v1 + tagged section). ClientId is always a classic
 *  nullable string, even in v2, so any broker can parse an ApiVersions header. */
typedef struct kw_req_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kw_slice client_id;
    kw_tags tags;
} kw_req_hdr;

/** Response header v0 (correlation id) or v1 (plus a tagged section). */
typedef struct kw_resp_hdr {
    int32_t correlation_id;
    kw_tags tags;
} kw_resp_hdr;

/** @brief Request header version for an API version: 2 when flexible, else 1 (0 for
 *  ControlledShutdown v0, which kwire does not send). */
KW_API int16_t kw_req_hdr_version(const kw_msgdef *req, int16_t api_version);
/** @brief Response header version: 1 when flexible, except ApiVersions which is always 0. */
KW_API int16_t kw_resp_hdr_version(const kw_msgdef *resp, int16_t api_version);
KW_API kw_err kw_req_hdr_decode(kw_rd *r, int16_t hdr_ver, kw_arena *arena, kw_req_hdr *out);
KW_API kw_err kw_req_hdr_encode(kw_wr *w, int16_t hdr_ver, const kw_req_hdr *h);
KW_API kw_err kw_resp_hdr_decode(kw_rd *r, int16_t hdr_ver, kw_arena *arena, kw_resp_hdr *out);
KW_API kw_err kw_resp_hdr_encode(kw_wr *w, int16_t hdr_ver, const kw_resp_hdr *h);

#ifdef __cplusplus
}
#endif

#include "msg.h"

#endif

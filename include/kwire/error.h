/* kwire: error codes.
 *
 * kwire's own errors are one enum, kw_err, generated from the list below. Numbers are pinned and
 * never reused. Broker error codes (the int16 ErrorCode fields of responses) stay data; the
 * kw_broker_err_* functions describe them. */
#ifndef KWIRE_ERROR_H
#define KWIRE_ERROR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, number, retriable, message) */
#define KW_ERR_LIST(X)                                                                             \
    X(OK, 0, 0, "success")                                                                         \
    X(AGAIN, 1, 1, "more bytes are needed")                                                        \
    X(TRUNCATED, 2, 0, "data ends before the structure it announces")                              \
    X(MALFORMED, 3, 0, "malformed data")                                                           \
    X(NOMEM, 4, 1, "out of memory")                                                                \
    X(NOSPACE, 5, 0, "output buffer is full")                                                      \
    X(TOO_LARGE, 6, 0, "size exceeds the configured maximum")                                      \
    X(INVALID_ARG, 7, 0, "invalid argument")                                                       \
    X(UNSUPPORTED_VERSION, 8, 0, "unsupported API or format version")                              \
    X(UNKNOWN_API, 9, 0, "unknown API key")                                                        \
    X(CRC, 10, 0, "checksum mismatch")                                                             \
    X(UNSUPPORTED_CODEC, 11, 0, "compression codec not built in or unknown")                       \
    X(DECOMPRESS, 12, 0, "decompression failed")                                                   \
    X(COMPRESS, 13, 0, "compression failed")                                                       \
    X(BOMB, 14, 0, "decompressed size exceeds the configured maximum")                             \
    X(OVERLONG, 15, 0, "varint uses more bytes than needed or more than allowed")                  \
    X(VALUE_RANGE, 16, 0, "value cannot be represented in this version's encoding")                \
    X(BROKER, 17, 0, "the broker returned an error code")                                          \
    X(TIMED_OUT, 18, 1, "operation timed out")                                                     \
    X(CANCELED, 19, 0, "operation canceled")                                                       \
    X(STATE, 20, 0, "operation not allowed in the current state")                                  \
    X(CONFIG, 21, 0, "invalid configuration")                                                      \
    X(IO, 22, 1, "I/O error")                                                                      \
    X(QUEUE_FULL, 23, 1, "queue is full")                                                          \
    X(NOT_FOUND, 24, 0, "not found")                                                               \
    X(AUTH, 25, 0, "authentication failed")

typedef enum kw_err {
#define KW_ERR_ENUM(name, num, retriable, msg) KW_ERR_##name = num,
    KW_ERR_LIST(KW_ERR_ENUM)
#undef KW_ERR_ENUM
} kw_err;

/** @brief The enum name without prefix ("TRUNCATED"); never NULL. */
KW_API const char *kw_err_name(kw_err e);
/** @brief A one-line English description; never NULL. */
KW_API const char *kw_err_str(kw_err e);
/** @brief Whether retrying the same operation later can succeed. */
KW_API bool kw_err_retriable(kw_err e);

/** @brief A broker error code's name ("NOT_LEADER_OR_FOLLOWER"); "UNKNOWN_ERROR_CODE" for codes
 *  this table does not know. Never NULL. */
KW_API const char *kw_broker_err_name(int16_t code);
/** @brief Whether the Java client treats the code as retriable (RetriableException). */
KW_API bool kw_broker_err_retriable(int16_t code);
/** @brief Whether metadata must be refreshed before retrying (InvalidMetadataException). */
KW_API bool kw_broker_err_refresh_metadata(int16_t code);

/** Caller-owned error detail: reporting an error never allocates. */
typedef struct kw_error {
    kw_err code;
    int16_t broker_code; /**< 0 unless code == KW_ERR_BROKER */
    bool retriable;
    bool fatal;
    int64_t offset; /**< byte offset into the input where known, else -1 */
    char msg[256];
} kw_error;

/** @brief Reset an error detail to "no error". */
KW_API void kw_error_init(kw_error *e);
/** @brief Fill an error detail; printf-style message, truncated to fit. Returns code. */
KW_API kw_err kw_error_set(kw_error *e, kw_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif

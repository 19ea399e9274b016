/* kwire consume and kwire bench consume (cmd_consume.c, cmd_consume_fmt.c,
 * cmd_bench_consume.c). */
#ifndef KW_TOOLS_CMD_CONSUME_H
#define KW_TOOLS_CMD_CONSUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kwire/consumer.h"

/* argv[0] is "consume"; returns the process exit status (0, 1 runtime, 2 usage). */
int cmd_consume(int argc, char **argv);

/* argv[0] is "consume" (after "bench"); returns the process exit status. */
int cmd_bench_consume(int argc, char **argv);

/* ---- output formatting (cmd_consume_fmt.c) ---- */

/* What one piece of an output format prints: kcat's -f tokens, or literal text. */
typedef enum kwt_fmt_kind {
    KWT_FMT_TEXT,      /* literal bytes (escapes already resolved) */
    KWT_FMT_VALUE,     /* %s */
    KWT_FMT_VALUE_LEN, /* %S: length, -1 for null */
    KWT_FMT_VALUE_BE,  /* %R: length as a 4-byte big-endian int32, -1 for null */
    KWT_FMT_KEY,       /* %k */
    KWT_FMT_KEY_LEN,   /* %K */
    KWT_FMT_TIMESTAMP, /* %T: ms since the epoch, -1 when none */
    KWT_FMT_HEADERS,   /* %h: name=value,name=value */
    KWT_FMT_TOPIC,     /* %t */
    KWT_FMT_PARTITION, /* %p */
    KWT_FMT_OFFSET     /* %o */
} kwt_fmt_kind;

typedef struct kwt_fmt_item {
    kwt_fmt_kind kind;
    size_t off, len; /* KWT_FMT_TEXT: the bytes in kwt_fmt.text */
} kwt_fmt_item;

#define KWT_FMT_MAX 64

typedef struct kwt_fmt {
    kwt_fmt_item items[KWT_FMT_MAX];
    size_t n;
    char text[1024]; /* literal pieces, escapes resolved (may contain NUL bytes) */
    size_t text_len;
} kwt_fmt;

/* Resolves kcat's escapes in s (\n \r \t \\ \0 \xHH; \c is c) into out (at most cap bytes);
 * returns the length, or -1 when it does not fit or \x has no hex digit. */
long kwt_unescape(const char *s, char *out, size_t cap);

/* Parses a -f format; on an error writes why into why and returns false. */
bool kwt_fmt_parse(kwt_fmt *f, const char *s, char *why, size_t why_len);

/* The default output: VALUE DELIM, or with a key delimiter KEY KDELIM VALUE DELIM (both
 * already unescaped). */
bool kwt_fmt_default(kwt_fmt *f, const char *kdelim, long kdelim_len, const char *delim,
                     long delim_len);

/* Writes one message as the format says. */
void kwt_fmt_write(FILE *out, const kwt_fmt *f, const kw_consumer_msg *m);

/* Writes one message as one JSON object and a newline, kcat -J's fields:
 * topic, partition, offset, tstype and ts (when the record has a timestamp), headers (an
 * array name, value, name, value ... when it has any), key and payload. Keys, values and
 * headers that are not valid UTF-8 are written in base64, flagged by "key_encoding",
 * "payload_encoding" or "headers_encoding": "base64". */
void kwt_json_write(FILE *out, const kw_consumer_msg *m);

/* Whether the bytes are valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). */
bool kwt_utf8_valid(const unsigned char *p, size_t n);

#endif

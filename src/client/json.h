/* Internal: a tiny JSON writer into a caller's buffer that keeps counting past its end, so
 * one pass both writes and tells the size a buffer needs (the snprintf convention). */
#ifndef KWI_CLIENT_JSON_H
#define KWI_CLIENT_JSON_H

#include <stddef.h>

#include "kwire/error.h"

typedef struct kwi_json {
    char *buf;  /* may be NULL */
    size_t cap; /* bytes available at buf */
    size_t len; /* bytes the output needs so far, without the NUL */
} kwi_json;

void kwi_json_init(kwi_json *j, char *buf, size_t cap);
void kwi_json_raw(kwi_json *j, const char *s);
/* A JSON string with escapes; s NULL writes null. n is the byte length. */
void kwi_json_str(kwi_json *j, const char *s, size_t n);
void kwi_json_fmt(kwi_json *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Terminates. Returns KW_ERR_OK, or KW_ERR_NOSPACE with *len the size needed (with NUL). */
kw_err kwi_json_finish(kwi_json *j, size_t *len);

#endif

/* The JSON writer; see json.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/json.h"

void
kwi_json_init(kwi_json *j, char *buf, size_t cap)
{
    j->buf = buf;
    j->cap = buf ? cap : 0;
    j->len = 0;
}

static void
put(kwi_json *j, const char *s, size_t n)
{
    if (j->len < j->cap) {
        size_t room = j->cap - j->len;
        memcpy(j->buf + j->len, s, n < room ? n : room);
    }
    j->len += n;
}

void
kwi_json_raw(kwi_json *j, const char *s)
{
    put(j, s, strlen(s));
}

void
kwi_json_str(kwi_json *j, const char *s, size_t n)
{
    if (!s) {
        put(j, "null", 4);
        return;
    }
    put(j, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(j, s + run, i - run);
        run = i + 1;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            put(j, esc, 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            put(j, esc, 6);
        }
    }
    put(j, s + run, n - run);
    put(j, "\"", 1);
}

void
kwi_json_fmt(kwi_json *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

kw_err
kwi_json_finish(kwi_json *j, size_t *len)
{
    *len = j->len + 1;
    if (j->len < j->cap) {
        j->buf[j->len] = '\0';
        return KW_ERR_OK;
    }
    if (j->cap)
        j->buf[j->cap - 1] = '\0';
    return KW_ERR_NOSPACE;
}

/* kw_err names, messages and the error-detail object. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kwire/error.h"

const char *
kw_err_name(kw_err e)
{
    switch (e) {
#define KW_ERR_NAME(name, num, retriable, msg)                                                     \
    case KW_ERR_##name:                                                                            \
        return #name;
        KW_ERR_LIST(KW_ERR_NAME)
#undef KW_ERR_NAME
    }
    return "UNKNOWN";
}

const char *
kw_err_str(kw_err e)
{
    switch (e) {
#define KW_ERR_MSG(name, num, retriable, msg)                                                      \
    case KW_ERR_##name:                                                                            \
        return msg;
        KW_ERR_LIST(KW_ERR_MSG)
#undef KW_ERR_MSG
    }
    return "unknown error";
}

bool
kw_err_retriable(kw_err e)
{
    switch (e) {
#define KW_ERR_RETRY(name, num, retriable, msg)                                                    \
    case KW_ERR_##name:                                                                            \
        return retriable;
        KW_ERR_LIST(KW_ERR_RETRY)
#undef KW_ERR_RETRY
    }
    return false;
}

void
kw_error_init(kw_error *e)
{
    memset(e, 0, sizeof(*e));
    e->offset = -1;
}

kw_err
kw_error_set(kw_error *e, kw_err code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->retriable = kw_err_retriable(code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

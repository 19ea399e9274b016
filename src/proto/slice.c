/* Slice helpers. */
#include <string.h>

#include "kwire/proto.h"

kw_slice
kw_slice_str(const char *s)
{
    kw_slice r = {NULL, -1};
    if (s) {
        size_t n = strlen(s);
        r.ptr = (const uint8_t *)s;
        r.len = n > INT32_MAX ? INT32_MAX : (int32_t)n;
    }
    return r;
}

bool
kw_slice_eq(kw_slice a, const char *s)
{
    if (!s)
        return a.len < 0;
    size_t n = strlen(s);
    return a.len >= 0 && (size_t)a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

/* Base64 (RFC 4648 section 4): encoding, and strict decoding for data off the wire. */
#include "base64.h"

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of an alphabet character, or -1. A switch on ranges rather than a 256-entry
 * table keeps the file short; decoding speed does not matter at SCRAM's sizes. */
static int
b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

size_t
kwi_base64_encoded_len(size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > SIZE_MAX / 4)
        return 0;
    return groups * 4;
}

size_t
kwi_base64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

kw_err
kwi_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    const uint8_t *p = in;
    size_t need = kwi_base64_encoded_len(n);
    *out_len = 0;
    if (need == 0 && n != 0)
        return KW_ERR_TOO_LARGE;
    if (cap < need)
        return KW_ERR_NOSPACE;
    size_t o = 0;
    for (; n >= 3; p += 3, n -= 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n) {
        uint32_t v = (uint32_t)p[0] << 16 | (n == 2 ? (uint32_t)p[1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = n == 2 ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    *out_len = o;
    return KW_ERR_OK;
}

kw_err
kwi_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (n % 4 != 0)
        return KW_ERR_MALFORMED;
    size_t pad = 0;
    if (n >= 4 && in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    size_t total = n / 4 * 3 - pad;
    if (total > cap)
        return KW_ERR_NOSPACE;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        /* Only the last group may hold padding; a '=' anywhere else fails b64_value. */
        size_t data = last ? 4 - pad : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = 0;
            if (j < data) {
                d = b64_value((unsigned char)in[i + j]);
                if (d < 0)
                    return KW_ERR_MALFORMED;
            }
            v = v << 6 | (uint32_t)d;
        }
        /* Canonical form: the bits the padding stands for must be zero. */
        if ((pad == 1 && last && (v & 0xffu)) || (pad == 2 && last && (v & 0xffffu)))
            return KW_ERR_MALFORMED;
        out[o++] = (uint8_t)(v >> 16);
        if (data > 2)
            out[o++] = (uint8_t)(v >> 8);
        if (data > 3)
            out[o++] = (uint8_t)v;
    }
    *out_len = o;
    return KW_ERR_OK;
}

/* kwire consume: output formats. kcat's -f tokens and escapes, kcat's -J envelope, and the
 * UTF-8 check and base64 encoding that keep the JSON output valid for binary data. */
#include <inttypes.h>
#include <string.h>

#include "cmd_consume.h"

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long
kwt_unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        char c = *s++;
        if (c == '\\' && *s) {
            char e = *s++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case '0':
                c = '\0';
                break;
            case 'x': {
                int hi = hexval(s[0]);
                if (hi < 0)
                    return -1;
                int lo = hexval(s[1]);
                /* One or two hex digits, as kcat reads them. */
                c = (char)(lo < 0 ? hi : hi * 16 + lo);
                s += lo < 0 ? 1 : 2;
                break;
            }
            default: /* \\ and any other escaped character stand for themselves */
                c = e;
            }
        }
        if (n == cap)
            return -1;
        out[n++] = c;
    }
    return (long)n;
}

static bool
add(kwt_fmt *f, kwt_fmt_kind kind)
{
    if (f->n == KWT_FMT_MAX)
        return false;
    f->items[f->n++] = (kwt_fmt_item){kind, 0, 0};
    return true;
}

/* Adds literal text (escapes resolved). */
static bool
add_text(kwt_fmt *f, const char *s, size_t len, bool unescape)
{
    if (len == 0)
        return true;
    if (f->n == KWT_FMT_MAX || len >= sizeof(f->text) - f->text_len)
        return false;
    char tmp[sizeof(f->text)];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    long n = (long)len;
    char *dst = f->text + f->text_len;
    if (unescape)
        n = kwt_unescape(tmp, dst, sizeof(f->text) - f->text_len);
    else
        memcpy(dst, tmp, len);
    if (n < 0)
        return false;
    f->items[f->n++] = (kwt_fmt_item){KWT_FMT_TEXT, f->text_len, (size_t)n};
    f->text_len += (size_t)n;
    return true;
}

bool
kwt_fmt_parse(kwt_fmt *f, const char *s, char *why, size_t why_len)
{
    static const char tokens[] = "sSRkKThtpo";
    static const kwt_fmt_kind kinds[] = {
        KWT_FMT_VALUE,     KWT_FMT_VALUE_LEN, KWT_FMT_VALUE_BE, KWT_FMT_KEY,       KWT_FMT_KEY_LEN,
        KWT_FMT_TIMESTAMP, KWT_FMT_HEADERS,   KWT_FMT_TOPIC,    KWT_FMT_PARTITION, KWT_FMT_OFFSET};
    memset(f, 0, sizeof(*f));
    while (*s) {
        const char *pct = strchr(s, '%');
        size_t lit = pct ? (size_t)(pct - s) : strlen(s);
        if (!add_text(f, s, lit, true)) {
            snprintf(why, why_len, "-f: bad escape or format too long near '%.20s'", s);
            return false;
        }
        if (!pct)
            break;
        char t = pct[1];
        const char *tok = t ? strchr(tokens, t) : NULL;
        bool ok;
        if (t == '%')
            ok = add_text(f, "%", 1, false);
        else if (tok)
            ok = add(f, kinds[tok - tokens]);
        else {
            snprintf(why, why_len,
                     "-f: unknown token '%%%c' (tokens: %%s %%S %%R %%k %%K %%T %%h "
                     "%%t %%p %%o %%%%)",
                     t ? t : ' ');
            return false;
        }
        if (!ok) {
            snprintf(why, why_len, "-f: format too long");
            return false;
        }
        s = pct + 2;
    }
    return true;
}

bool
kwt_fmt_default(kwt_fmt *f, const char *kdelim, long kdelim_len, const char *delim, long delim_len)
{
    memset(f, 0, sizeof(*f));
    if (kdelim && (!add(f, KWT_FMT_KEY) || !add_text(f, kdelim, (size_t)kdelim_len, false)))
        return false;
    return add(f, KWT_FMT_VALUE) && add_text(f, delim, (size_t)delim_len, false);
}

static void
write_headers(FILE *out, const kw_consumer_msg *m)
{
    for (int32_t i = 0; i < m->n_headers; i++) {
        const kw_header *h = &m->headers[i];
        if (i)
            fputc(',', out);
        if (h->key.len > 0)
            fwrite(h->key.ptr, 1, (size_t)h->key.len, out);
        fputc('=', out);
        if (h->value.len > 0)
            fwrite(h->value.ptr, 1, (size_t)h->value.len, out);
    }
}

void
kwt_fmt_write(FILE *out, const kwt_fmt *f, const kw_consumer_msg *m)
{
    for (size_t i = 0; i < f->n; i++) {
        const kwt_fmt_item *it = &f->items[i];
        switch (it->kind) {
        case KWT_FMT_TEXT:
            fwrite(f->text + it->off, 1, it->len, out);
            break;
        case KWT_FMT_VALUE:
            if (m->value.len > 0)
                fwrite(m->value.ptr, 1, (size_t)m->value.len, out);
            break;
        case KWT_FMT_KEY:
            if (m->key.len > 0)
                fwrite(m->key.ptr, 1, (size_t)m->key.len, out);
            break;
        case KWT_FMT_VALUE_LEN:
            fprintf(out, "%" PRId32, m->value.len < 0 ? -1 : m->value.len);
            break;
        case KWT_FMT_KEY_LEN:
            fprintf(out, "%" PRId32, m->key.len < 0 ? -1 : m->key.len);
            break;
        case KWT_FMT_VALUE_BE: {
            uint32_t v = (uint32_t)(m->value.len < 0 ? -1 : m->value.len);
            unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                                   (unsigned char)(v >> 8), (unsigned char)v};
            fwrite(be, 1, 4, out);
            break;
        }
        case KWT_FMT_TIMESTAMP:
            fprintf(out, "%" PRId64,
                    m->timestamp_type == KW_TIMESTAMP_NONE ? (int64_t)-1 : m->timestamp);
            break;
        case KWT_FMT_HEADERS:
            write_headers(out, m);
            break;
        case KWT_FMT_TOPIC:
            fputs(m->topic, out);
            break;
        case KWT_FMT_PARTITION:
            fprintf(out, "%" PRId32, m->partition);
            break;
        case KWT_FMT_OFFSET:
            fprintf(out, "%" PRId64, m->offset);
            break;
        }
    }
}

bool
kwt_utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false; /* a continuation byte first, 0xc0/0xc1 (overlong) or past 0xf4 */
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

static void
write_base64(FILE *out, const unsigned char *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputc('"', out);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (n - i > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (n - i > 2)
            v |= p[i + 2];
        char q[4] = {al[(v >> 18) & 63], al[(v >> 12) & 63], n - i > 1 ? al[(v >> 6) & 63] : '=',
                     n - i > 2 ? al[v & 63] : '='};
        fwrite(q, 1, 4, out);
    }
    fputc('"', out);
}

/* A JSON string of valid UTF-8 bytes: quotes, backslashes and control characters escaped. */
static void
write_json_bytes(FILE *out, const unsigned char *p, size_t n)
{
    fputc('"', out);
    size_t run = 0; /* start of the bytes not yet written */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fwrite(p + run, 1, i - run, out);
        run = i + 1;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else
            fprintf(out, "\\u%04x", c);
    }
    fwrite(p + run, 1, n - run, out);
    fputc('"', out);
}

/* A key, value or header: null, a string, or base64 (the caller flags which). */
static void
write_slice(FILE *out, kw_slice s, bool b64)
{
    const unsigned char *p = s.ptr ? s.ptr : (const unsigned char *)"";
    if (s.len < 0)
        fputs("null", out);
    else if (b64)
        write_base64(out, p, (size_t)s.len);
    else
        write_json_bytes(out, p, (size_t)s.len);
}

static bool
slice_utf8(kw_slice s)
{
    return s.len <= 0 || kwt_utf8_valid(s.ptr, (size_t)s.len);
}

static void
write_json_headers(FILE *out, const kw_consumer_msg *m)
{
    bool b64 = false;
    for (int32_t i = 0; i < m->n_headers; i++)
        if (!slice_utf8(m->headers[i].key) || !slice_utf8(m->headers[i].value))
            b64 = true;
    fputs(",\"headers\":[", out);
    for (int32_t i = 0; i < m->n_headers; i++) {
        if (i)
            fputc(',', out);
        kw_slice k = m->headers[i].key;
        if (k.len < 0)
            k.len = 0; /* a header name is never null on the wire */
        write_slice(out, k, b64);
        fputc(',', out);
        write_slice(out, m->headers[i].value, b64);
    }
    fputc(']', out);
    if (b64)
        fputs(",\"headers_encoding\":\"base64\"", out);
}

void
kwt_json_write(FILE *out, const kw_consumer_msg *m)
{
    fputs("{\"topic\":", out);
    write_json_bytes(out, (const unsigned char *)m->topic, strlen(m->topic));
    fprintf(out, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64, m->partition, m->offset);
    if (m->timestamp_type != KW_TIMESTAMP_NONE)
        fprintf(out, ",\"tstype\":\"%s\",\"ts\":%" PRId64,
                m->timestamp_type == KW_TIMESTAMP_CREATE_TIME ? "create" : "logappend",
                m->timestamp);
    if (m->n_headers > 0)
        write_json_headers(out, m);
    bool kb = !slice_utf8(m->key), vb = !slice_utf8(m->value);
    fputs(",\"key\":", out);
    write_slice(out, m->key, kb);
    if (kb)
        fputs(",\"key_encoding\":\"base64\"", out);
    fputs(",\"payload\":", out);
    write_slice(out, m->value, vb);
    if (vb)
        fputs(",\"payload_encoding\":\"base64\"", out);
    fputs("}\n", out);
}

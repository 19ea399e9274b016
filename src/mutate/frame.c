/* Self-describing frames (kwire/mutate.h): a request as sent without its size prefix, or a
 * response behind a 6-byte prefix that names its API and version. */
#include <string.h>

#include "frame_int.h"

static int16_t
be16(const uint8_t *p)
{
    return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static bool
is_response(const uint8_t *data, size_t size)
{
    return size >= 2 && data[0] == KW_MUTATE_RESP_MAGIC0 && data[1] == KW_MUTATE_RESP_MAGIC1;
}

kw_err
kw_frame_decode(const uint8_t *data, size_t size, kw_arena *arena, kw_frame *out)
{
    if (!data || !arena || !out)
        return KW_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    bool resp = is_response(data, size);
    size_t pre = resp ? KW_MUTATE_RESP_PREFIX : 0;
    /* Both kinds start (after the prefix) with api_key and api_version. */
    const uint8_t *kv = resp ? data + 2 : data;
    if (size < pre + (resp ? 0 : 4) || (resp && size < KW_MUTATE_RESP_PREFIX))
        return KW_ERR_TRUNCATED;
    const kw_msgdef *d = kw_msgdef_by_key(be16(kv), resp);
    int16_t ver = be16(kv + 2);
    if (!d || ver < d->min_ver || ver > d->max_ver)
        return KW_ERR_UNSUPPORTED_VERSION;
    out->def = d;
    out->version = ver;
    out->response = resp;
    kw_rd r;
    kw_rd_init(&r, data + pre, size - pre);
    kw_err e = resp ? kw_resp_hdr_decode(&r, kw_resp_hdr_version(d, ver), arena, &out->resp)
                    : kw_req_hdr_decode(&r, kw_req_hdr_version(d, ver), arena, &out->req);
    if (e)
        return e;
    out->msg = kw_arena_alloc(arena, d->size ? d->size : 1);
    if (!out->msg)
        return KW_ERR_NOMEM;
    return kw_msg_decode(d, ver, &r, arena, out->msg);
}

kw_err
kwm_frame_encode_ex(kw_wr *w, const kw_frame *f, const kw_override *ov, size_t n_ov)
{
    if (!w || !f || !f->def || !f->msg)
        return w ? kw_wr_fail(w, KW_ERR_INVALID_ARG) : KW_ERR_INVALID_ARG;
    const kw_msgdef *d = f->def;
    if (f->version < d->min_ver || f->version > d->max_ver)
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    if (f->response) {
        uint8_t pre[KW_MUTATE_RESP_PREFIX] = {
            KW_MUTATE_RESP_MAGIC0,
            KW_MUTATE_RESP_MAGIC1,
            (uint8_t)((uint16_t)d->api_key >> 8),
            (uint8_t)d->api_key,
            (uint8_t)((uint16_t)f->version >> 8),
            (uint8_t)f->version,
        };
        kw_wr_raw(w, pre, sizeof(pre));
        kw_resp_hdr_encode(w, kw_resp_hdr_version(d, f->version), &f->resp);
    } else {
        kw_req_hdr_encode(w, kw_req_hdr_version(d, f->version), &f->req);
    }
    if (w->err)
        return w->err;
    return kw_msg_encode_ex(d, f->version, w, f->msg, ov, n_ov);
}

kw_err
kw_frame_encode(kw_wr *w, const kw_frame *f)
{
    return kwm_frame_encode_ex(w, f, NULL, 0);
}

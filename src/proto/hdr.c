/* Request and response headers. */
#include <string.h>

#include "kwire/proto.h"

int16_t
kw_req_hdr_version(const kw_msgdef *req, int16_t api_version)
{
    return req->flex_ver >= 0 && api_version >= req->flex_ver ? 2 : 1;
}

int16_t
kw_resp_hdr_version(const kw_msgdef *resp, int16_t api_version)
{
    /* KIP-511: the ApiVersions response header is always v0, even for flexible bodies, so that a
     * client that sent a version the broker does not know can still read the answer. */
    if (resp->api_key == 18)
        return 0;
    return resp->flex_ver >= 0 && api_version >= resp->flex_ver ? 1 : 0;
}

static void
hdr_tags(kw_rd *r, kw_arena *arena, kw_tags *tags)
{
    kw_io io;
    memset(&io, 0, sizeof(io));
    io.mode = KW_IO_DECODE;
    io.rd = r;
    io.arena = arena;
    io.flex = true;
    kw_io_tags_only(&io, tags);
}

static void
hdr_tags_write(kw_wr *w, const kw_tags *tags)
{
    kw_io io;
    memset(&io, 0, sizeof(io));
    io.mode = KW_IO_ENCODE;
    io.wr = w;
    io.flex = true;
    kw_io_tags_only(&io, (kw_tags *)(uintptr_t)tags);
}

/* RequestHeader v0-2. v0 has no ClientId; ClientId stays a classic string in v2. */
kw_err
kw_req_hdr_decode(kw_rd *r, int16_t hdr_ver, kw_arena *arena, kw_req_hdr *out)
{
    memset(out, 0, sizeof(*out));
    out->client_id = KW_SLICE_NULL;
    if (hdr_ver < 0 || hdr_ver > 2)
        return kw_rd_fail(r, KW_ERR_UNSUPPORTED_VERSION);
    out->api_key = kw_rd_i16(r);
    out->api_version = kw_rd_i16(r);
    out->correlation_id = kw_rd_i32(r);
    if (hdr_ver >= 1) {
        uint32_t flags = r->flags;
        kw_rd_set_flex(r, false);
        out->client_id = kw_rd_str(r);
        r->flags = flags;
    }
    if (hdr_ver >= 2)
        hdr_tags(r, arena, &out->tags);
    return kw_rd_finish(r);
}

kw_err
kw_req_hdr_encode(kw_wr *w, int16_t hdr_ver, const kw_req_hdr *h)
{
    if (hdr_ver < 0 || hdr_ver > 2)
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    kw_wr_i16(w, h->api_key);
    kw_wr_i16(w, h->api_version);
    kw_wr_i32(w, h->correlation_id);
    if (hdr_ver >= 1) {
        uint32_t flags = w->flags;
        kw_wr_set_flex(w, false);
        kw_wr_str(w, h->client_id);
        w->flags = flags;
    }
    if (hdr_ver >= 2)
        hdr_tags_write(w, &h->tags);
    return kw_wr_finish(w);
}

/* ResponseHeader v0-1. */
kw_err
kw_resp_hdr_decode(kw_rd *r, int16_t hdr_ver, kw_arena *arena, kw_resp_hdr *out)
{
    memset(out, 0, sizeof(*out));
    if (hdr_ver < 0 || hdr_ver > 1)
        return kw_rd_fail(r, KW_ERR_UNSUPPORTED_VERSION);
    out->correlation_id = kw_rd_i32(r);
    if (hdr_ver >= 1)
        hdr_tags(r, arena, &out->tags);
    return kw_rd_finish(r);
}

kw_err
kw_resp_hdr_encode(kw_wr *w, int16_t hdr_ver, const kw_resp_hdr *h)
{
    if (hdr_ver < 0 || hdr_ver > 1)
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    kw_wr_i32(w, h->correlation_id);
    if (hdr_ver >= 1)
        hdr_tags_write(w, &h->tags);
    return kw_wr_finish(w);
}

/* The mutator: each family does what it says (the result decodes with the targeted change, or
 * fails to decode with the error the broken count or checksum must cause), results are
 * deterministic per seed and never exceed max_size, undecodable inputs get byte-level
 * mutation, and cross-over moves fields between frames of one API. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mutate.h"
#include "kwire/records.h"
#include "../../support/failalloc.h"
#include "mut_util.h"

size_t
mut_req_frame(const kw_msgdef *d, int16_t ver, const void *m, uint8_t *buf, size_t cap)
{
    kw_frame f;
    memset(&f, 0, sizeof(f));
    f.def = d;
    f.version = ver;
    f.req.api_key = d->api_key;
    f.req.api_version = ver;
    f.req.correlation_id = 7;
    f.req.client_id = kw_slice_str("kwt");
    f.msg = (void *)(uintptr_t)m;
    kw_wr w;
    kw_wr_init_fixed(&w, buf, cap);
    ck_assert_int_eq(kw_frame_encode(&w, &f), KW_ERR_OK);
    return kw_wr_len(&w);
}

kw_mutate_opts
mut_only(uint32_t fam)
{
    kw_mutate_opts o;
    kw_mutate_opts_init(&o);
    o.families = fam;
    o.max_mutations = 1;
    return o;
}

kw_err
mut_decode(const uint8_t *buf, size_t len, kw_arena *ar, kw_frame *f)
{
    kw_arena_init(ar, NULL, 0);
    return kw_frame_decode(buf, len, ar, f);
}

static size_t
heartbeat_frame(int16_t ver, uint8_t *buf)
{
    kw_heartbeat_req h;
    memset(&h, 0, sizeof(h));
    h.group_id = kw_slice_str("group");
    h.generation_id = 5;
    h.member_id = kw_slice_str("member");
    h.group_instance_id = KW_SLICE_NULL;
    return mut_req_frame(&kw_msg_heartbeat_req, ver, &h, buf, MUT_CAP);
}

static size_t
metadata_frame(int16_t ver, const char *a, const char *b, uint8_t *buf)
{
    kw_metadata_req_topic t[2];
    memset(t, 0, sizeof(t));
    t[0].name = kw_slice_str(a);
    t[1].name = kw_slice_str(b);
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    m.topics = t;
    m.n_topics = 2;
    m.allow_auto_topic_creation = true;
    return mut_req_frame(&kw_msg_metadata_req, ver, &m, buf, MUT_CAP);
}

/* ---------------------------------------------------------------- frames */

START_TEST(frame_round_trip)
{
    uint8_t buf[MUT_CAP], out[MUT_CAP];
    size_t n = heartbeat_frame(4, buf);
    /* api key 12, version 4, correlation 7, client id "kwt", empty header tags, then body */
    ck_assert_int_eq(buf[1], 12);
    ck_assert_int_eq(buf[3], 4);
    kw_arena ar;
    kw_frame f;
    ck_assert_int_eq(mut_decode(buf, n, &ar, &f), KW_ERR_OK);
    ck_assert_ptr_eq(f.def, &kw_msg_heartbeat_req);
    ck_assert(!f.response);
    ck_assert_int_eq(f.req.correlation_id, 7);
    ck_assert_int_eq(((kw_heartbeat_req *)f.msg)->generation_id, 5);
    kw_wr w;
    kw_wr_init_fixed(&w, out, sizeof(out));
    ck_assert_int_eq(kw_frame_encode(&w, &f), KW_ERR_OK);
    ck_assert_int_eq(kw_wr_len(&w), n);
    ck_assert(memcmp(out, buf, n) == 0);
    /* A response frame: the prefix names API and version. */
    f.response = true;
    f.def = &kw_msg_heartbeat_resp;
    kw_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = 27;
    f.msg = &r;
    f.resp.correlation_id = 9;
    kw_wr_init_fixed(&w, out, sizeof(out));
    ck_assert_int_eq(kw_frame_encode(&w, &f), KW_ERR_OK);
    ck_assert_int_eq(out[0], 'K');
    ck_assert_int_eq(out[1], 'R');
    ck_assert_int_eq(out[3], 12);
    ck_assert_int_eq(out[5], 4);
    kw_frame g;
    kw_arena ar2;
    ck_assert_int_eq(mut_decode(out, kw_wr_len(&w), &ar2, &g), KW_ERR_OK);
    ck_assert(g.response);
    ck_assert_int_eq(g.resp.correlation_id, 9);
    ck_assert_int_eq(((kw_heartbeat_resp *)g.msg)->error_code, 27);
    /* Unknown API, bad version, truncation. */
    uint8_t bad[] = {0x7f, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0};
    kw_frame h;
    ck_assert_int_eq(kw_frame_decode(bad, sizeof(bad), &ar, &h), KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(kw_frame_decode(buf, 3, &ar, &h), KW_ERR_TRUNCATED);
    ck_assert_int_ne(kw_frame_decode(buf, n - 1, &ar, &h), KW_ERR_OK);
    kw_arena_fini(&ar);
    kw_arena_fini(&ar2);
}
END_TEST

/* ---------------------------------------------------------------- families */

START_TEST(family_int)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_INT);
    for (uint32_t seed = 0; seed < 200; seed++) {
        size_t n = heartbeat_frame(0, buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        ck_assert(info.decoded);
        ck_assert_uint_eq(info.families, KW_MUT_INT);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        kw_heartbeat_req *h = f.msg;
        /* v0 has one integer: GenerationId. The strings stay. */
        ck_assert_int_ne(h->generation_id, 5);
        ck_assert(kw_slice_eq(h->group_id, "group"));
        ck_assert(kw_slice_eq(h->member_id, "member"));
        ck_assert_msg(strstr(info.desc, "GenerationId") != NULL, "%s", info.desc);
        kw_arena_fini(&ar);
    }
}
END_TEST

START_TEST(family_count_breaks_decoding)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_COUNT);
    int arrays = 0, strings = 0;
    for (uint32_t seed = 0; seed < 300; seed++) {
        size_t n = metadata_frame(1, "alpha", "beta", buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        ck_assert_uint_eq(info.families, KW_MUT_COUNT);
        /* The data is unchanged, only what the wire claims: exactly as long, or the same
         * bytes with a different length prefix. A disagreeing count or length can never
         * decode cleanly here: either data is missing or bytes are left over. */
        kw_arena ar;
        kw_frame f;
        kw_err e = mut_decode(buf, m, &ar, &f);
        ck_assert_msg(e == KW_ERR_TRUNCATED || e == KW_ERR_MALFORMED, "seed %u: %s -> %s", seed,
                      info.desc, kw_err_name(e));
        arrays += strstr(info.desc, "count Topics=") != NULL;
        strings += strstr(info.desc, ".Name=") != NULL;
        kw_arena_fini(&ar);
    }
    ck_assert_int_gt(arrays, 20);
    ck_assert_int_gt(strings, 20);
}
END_TEST

static int
find_bad_null(void *ud, const kw_field *f)
{
    int *bad = ud;
    bool null = (f->type == KW_FT_STRING && ((kw_slice *)f->value)->len < 0) ||
                (f->type == KW_FT_ARRAY && f->name && *f->count < 0);
    if (null && !f->nullable)
        (*bad)++;
    return 0;
}

START_TEST(family_null_where_not_nullable)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_NULL);
    for (uint32_t seed = 0; seed < 100; seed++) {
        /* Metadata v0: neither Topics nor a topic Name may be null. */
        size_t n = metadata_frame(0, "alpha", "beta", buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        ck_assert_msg(strstr(info.desc, "(not nullable)") != NULL, "%s", info.desc);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        int bad = 0;
        kw_msg_walk(f.def, f.version, f.msg, find_bad_null, &bad);
        ck_assert_int_eq(bad, 1);
        kw_arena_fini(&ar);
    }
}
END_TEST

START_TEST(family_tags)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_TAGS);
    int added = 0, broken = 0;
    for (uint32_t seed = 0; seed < 300; seed++) {
        size_t n = heartbeat_frame(4, buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        ck_assert_uint_eq(info.families, KW_MUT_TAGS);
        kw_arena ar;
        kw_frame f;
        kw_err e = mut_decode(buf, m, &ar, &f);
        if (e == KW_ERR_OK) {
            /* Heartbeat has no known tags, so an added tag comes back as unknown. */
            kw_heartbeat_req *h = f.msg;
            ck_assert_msg(h->unknown_tags.n + f.req.tags.n >= 1 && strstr(info.desc, "+tag"),
                          "seed %u: %s", seed, info.desc);
            added++;
        } else {
            /* A claimed size or section count that disagrees, or a repeated tag. */
            ck_assert_msg(e == KW_ERR_TRUNCATED || e == KW_ERR_MALFORMED, "%s: %s", info.desc,
                          kw_err_name(e));
            ck_assert_msg(strstr(info.desc, "claiming") || strstr(info.desc, "section count"),
                          "seed %u: %s", seed, info.desc);
            broken++;
        }
        kw_arena_fini(&ar);
    }
    ck_assert_int_gt(added, 50);
    ck_assert_int_gt(broken, 20);
}
END_TEST

START_TEST(family_version)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_VERSION);
    bool seen[5] = {false};
    for (uint32_t seed = 0; seed < 100; seed++) {
        size_t n = heartbeat_frame(2, buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        ck_assert_int_ne(f.version, 2);
        ck_assert_int_le(f.version, 4);
        seen[f.version] = true;
        kw_heartbeat_req *h = f.msg;
        ck_assert(kw_slice_eq(h->group_id, "group"));
        ck_assert_int_eq(h->generation_id, 5);
        kw_arena_fini(&ar);
    }
    ck_assert(seen[0] && seen[1] && seen[3] && seen[4]);
    /* The version range of the options is respected. */
    o.min_version = 3;
    o.max_version = 3;
    size_t n = heartbeat_frame(2, buf);
    kw_mutate_info info;
    size_t m = kw_mutate_frame(buf, n, MUT_CAP, 1, &o, &info);
    kw_arena ar;
    kw_frame f;
    ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
    ck_assert_int_eq(f.version, 3);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(family_string)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_STRING);
    for (uint32_t seed = 0; seed < 100; seed++) {
        size_t n = heartbeat_frame(0, buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, 4096, seed, &o, &info);
        ck_assert_uint_le(m, 4096);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        kw_heartbeat_req *h = f.msg;
        ck_assert_msg(!kw_slice_eq(h->group_id, "group") || !kw_slice_eq(h->member_id, "member"),
                      "%s", info.desc);
        ck_assert_int_eq(h->generation_id, 5);
        kw_arena_fini(&ar);
    }
}
END_TEST

START_TEST(family_array)
{
    uint8_t buf[MUT_CAP];
    kw_mutate_opts o = mut_only(KW_MUT_ARRAY);
    for (uint32_t seed = 0; seed < 100; seed++) {
        size_t n = metadata_frame(1, "alpha", "beta", buf);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        kw_metadata_req *md = f.msg;
        ck_assert_int_ne(md->n_topics, 2);
        for (int32_t i = 0; i < md->n_topics; i++)
            ck_assert(kw_slice_eq(md->topics[i].name, "alpha") ||
                      kw_slice_eq(md->topics[i].name, "beta"));
        kw_arena_fini(&ar);
    }
}
END_TEST

START_TEST(family_header)
{
    uint8_t buf[MUT_CAP], orig[MUT_CAP];
    int16_t keys[] = {3, 12};
    kw_mutate_opts o = mut_only(KW_MUT_HEADER);
    o.api_keys = keys;
    o.n_api_keys = 2;
    int changed_key = 0;
    for (uint32_t seed = 0; seed < 200; seed++) {
        size_t n = heartbeat_frame(4, buf);
        memcpy(orig, buf, n);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        ck_assert_uint_eq(info.families, KW_MUT_HEADER);
        ck_assert(m != n || memcmp(buf, orig, n) != 0);
        /* The body is untouched: the frame ends with the same body bytes. */
        size_t body = 1 + 5 + 4 + 1 + 6 + 1 + 1; /* compact strings, int32, null, tags */
        ck_assert_uint_ge(m, body);
        ck_assert(memcmp(buf + m - body, orig + n - body, body) == 0);
        int16_t key = (int16_t)(buf[0] << 8 | buf[1]);
        ck_assert(key == 12 || key == 3);
        changed_key += key == 3;
    }
    ck_assert_int_gt(changed_key, 5);
}
END_TEST

/* A Produce v9 request with one real batch of two records. */
static size_t
produce_frame(uint8_t *buf, uint8_t *batch, size_t *batch_len)
{
    kw_wr bw;
    kw_wr_init_fixed(&bw, batch, 1024);
    kw_batch_opts bo;
    kw_batch_opts_init(&bo);
    kw_batch_builder bb;
    ck_assert_int_eq(kw_batch_builder_init(&bb, &bw, &bo), KW_ERR_OK);
    kw_batch_builder_add(&bb, 1000, kw_slice_str("k1"), kw_slice_str("v1"), NULL, 0);
    kw_batch_builder_add(&bb, 1001, kw_slice_str("k2"), kw_slice_str("value2"), NULL, 0);
    ck_assert_int_eq(kw_batch_builder_finish(&bb, NULL), KW_ERR_OK);
    *batch_len = kw_wr_len(&bw);
    kw_produce_req_partition p;
    memset(&p, 0, sizeof(p));
    p.index = 0;
    p.records = (kw_slice){batch, (int32_t)*batch_len};
    kw_produce_req_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str("t");
    t.partition_data = &p;
    t.n_partition_data = 1;
    kw_produce_req r;
    memset(&r, 0, sizeof(r));
    r.transactional_id = KW_SLICE_NULL;
    r.acks = -1;
    r.timeout_ms = 1000;
    r.topic_data = &t;
    r.n_topic_data = 1;
    return mut_req_frame(&kw_msg_produce_req, 9, &r, buf, MUT_CAP);
}

START_TEST(family_records)
{
    uint8_t buf[MUT_CAP], batch[1024];
    size_t blen;
    kw_mutate_opts o = mut_only(KW_MUT_RECORDS);
    int crc = 0, count = 0, codec = 0;
    for (uint32_t seed = 0; seed < 400; seed++) {
        size_t n = produce_frame(buf, batch, &blen);
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, n, MUT_CAP, seed, &o, &info);
        kw_arena ar;
        kw_frame f;
        /* The batch is opaque to the message codec: the frame still decodes. */
        ck_assert_int_eq(mut_decode(buf, m, &ar, &f), KW_ERR_OK);
        kw_slice rec = ((kw_produce_req *)f.msg)->topic_data[0].partition_data[0].records;
        ck_assert(rec.len != (int32_t)blen || memcmp(rec.ptr, batch, blen) != 0);
        kw_batch_iter bi;
        kw_batch b;
        kw_batch_iter_init(&bi, rec);
        bool got = kw_batch_iter_next(&bi, &b);
        if (strstr(info.desc, "crc wrong")) {
            ck_assert(!got);
            ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_CRC);
            crc++;
        } else if (strstr(info.desc, "record count")) {
            /* The CRC was recomputed, so the batch passes it and the count is what is
             * wrong. */
            ck_assert_msg(got || kw_batch_iter_err(&bi) == KW_ERR_MALFORMED, "%s", info.desc);
            if (got)
                ck_assert_int_ne(b.record_count, 2);
            count++;
        } else if (strstr(info.desc, "codec bits")) {
            ck_assert_msg(got, "%s: %s", info.desc, kw_err_name(kw_batch_iter_err(&bi)));
            ck_assert_int_ne(kw_batch_codec(&b), 0);
            codec++;
        }
        kw_arena_fini(&ar);
    }
    ck_assert_int_gt(crc, 10);
    ck_assert_int_gt(count, 10);
    ck_assert_int_gt(codec, 10);
}
END_TEST

START_TEST(records_directly)
{
    uint8_t buf[MUT_CAP], batch[1024];
    size_t blen;
    produce_frame(buf, batch, &blen);
    uint8_t a[2048], b[2048];
    for (uint32_t seed = 0; seed < 500; seed++) {
        memcpy(a, batch, blen);
        memcpy(b, batch, blen);
        kw_mutate_info ia, ib;
        size_t na = kw_mutate_records(a, blen, sizeof(a), seed, NULL, &ia);
        size_t nb = kw_mutate_records(b, blen, sizeof(b), seed, NULL, &ib);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(a, b, na) == 0);
        ck_assert_str_eq(ia.desc, ib.desc);
        ck_assert_uint_eq(ia.families, KW_MUT_RECORDS);
        ck_assert_uint_le(na, blen + 8);
    }
}
END_TEST

/* ---------------------------------------------------------------- contract */

START_TEST(fallback_to_bytes)
{
    uint8_t buf[64], orig[64];
    for (uint32_t seed = 0; seed < 200; seed++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)(0xf0 ^ i); /* api key 0xf0f1: no such API */
        memcpy(orig, buf, sizeof(buf));
        kw_mutate_info info;
        size_t m = kw_mutate_frame(buf, 40, sizeof(buf), seed, NULL, &info);
        ck_assert(!info.decoded);
        ck_assert_uint_eq(info.families, KW_MUT_BYTES);
        ck_assert_uint_le(m, sizeof(buf));
        ck_assert(m != 40 || memcmp(buf, orig, 40) != 0);
    }
    /* Nothing to work with. */
    ck_assert_uint_eq(kw_mutate_frame(buf, 0, 0, 1, NULL, NULL), 0);
    ck_assert_uint_eq(kw_mutate_frame(buf, 0, 1, 1, NULL, NULL), 1);
    /* A custom byte mutator is used for the fallback. */
    kw_mutate_opts o;
    kw_mutate_opts_init(&o);
    o.families = KW_MUT_BYTES;
    o.bytes = NULL;
    size_t n = heartbeat_frame(0, buf);
    kw_mutate_info info;
    kw_mutate_frame(buf, n, sizeof(buf), 3, &o, &info);
    ck_assert(!info.decoded);
}
END_TEST

static size_t
zero_bytes(uint8_t *data, size_t size, size_t max_size, uint32_t seed, void *ud)
{
    (void)seed;
    (void)max_size;
    (*(int *)ud)++;
    memset(data, 0, size);
    return size;
}

START_TEST(custom_byte_mutator)
{
    uint8_t buf[64];
    memset(buf, 0xee, sizeof(buf));
    int calls = 0;
    kw_mutate_opts o;
    kw_mutate_opts_init(&o);
    o.bytes = zero_bytes;
    o.bytes_ud = &calls;
    size_t m = kw_mutate_frame(buf, 10, sizeof(buf), 1, &o, NULL);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(m, 10);
    ck_assert_int_eq(buf[0], 0);
    ck_assert_int_eq(buf[9], 0);
    ck_assert_int_eq(buf[10], 0xee);
}
END_TEST

START_TEST(deterministic_and_bounded)
{
    uint8_t a[MUT_CAP], b[MUT_CAP];
    for (uint32_t seed = 0; seed < 300; seed++) {
        size_t n = metadata_frame(12, "alpha", "beta", a);
        memcpy(b, a, n);
        size_t max = n + seed % 64; /* tight limits too */
        kw_mutate_info ia, ib;
        size_t na = kw_mutate_frame(a, n, max, seed, NULL, &ia);
        size_t nb = kw_mutate_frame(b, n, max, seed, NULL, &ib);
        ck_assert_uint_le(na, max);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(a, b, na) == 0);
        ck_assert_str_eq(ia.desc, ib.desc);
        ck_assert_uint_eq(ia.families, ib.families);
    }
    /* Different seeds give different results. */
    size_t n = metadata_frame(12, "alpha", "beta", a);
    memcpy(b, a, n);
    size_t na = kw_mutate_frame(a, n, MUT_CAP, 1, NULL, NULL);
    size_t nb = kw_mutate_frame(b, n, MUT_CAP, 2, NULL, NULL);
    ck_assert(na != nb || memcmp(a, b, na) != 0);
    /* An input larger than max_size is cut to it first. */
    n = metadata_frame(12, "alpha", "beta", a);
    ck_assert_uint_le(kw_mutate_frame(a, n, 10, 5, NULL, NULL), 10);
}
END_TEST

START_TEST(body_mutation)
{
    kw_heartbeat_req h;
    memset(&h, 0, sizeof(h));
    h.group_id = kw_slice_str("g");
    h.member_id = kw_slice_str("m");
    uint8_t buf[256];
    kw_mutate_opts o = mut_only(KW_MUT_VERSION);
    for (uint32_t seed = 0; seed < 50; seed++) {
        kw_wr w;
        kw_wr_init_fixed(&w, buf, sizeof(buf));
        ck_assert_int_eq(kw_msg_encode(&kw_msg_heartbeat_req, 1, &w, &h), KW_ERR_OK);
        int16_t ver = 1;
        size_t m = kw_mutate_body(&kw_msg_heartbeat_req, &ver, buf, kw_wr_len(&w), sizeof(buf),
                                  seed, &o, NULL);
        ck_assert_int_ne(ver, 1);
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_heartbeat_req back;
        kw_rd r;
        kw_rd_init(&r, buf, m);
        ck_assert_int_eq(kw_msg_decode(&kw_msg_heartbeat_req, ver, &r, &ar, &back), KW_ERR_OK);
        ck_assert(kw_slice_eq(back.group_id, "g"));
        kw_arena_fini(&ar);
    }
}
END_TEST

/* Regression (found by fuzz_msg with the mutator): a body that encodes to nothing left the
 * writer without a buffer, and copying zero bytes from it was undefined behaviour. */
START_TEST(empty_body)
{
    kw_api_versions_req m;
    memset(&m, 0, sizeof(m));
    uint8_t buf[64];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_msg_encode(&kw_msg_api_versions_req, 0, &w, &m), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    kw_mutate_opts o = mut_only(KW_MUT_VERSION);
    o.max_version = 2; /* v0-2 have no fields: every result is empty */
    int16_t ver = 0;
    kw_mutate_info info;
    size_t n = kw_mutate_body(&kw_msg_api_versions_req, &ver, buf, 0, sizeof(buf), 9, &o, &info);
    ck_assert_uint_eq(n, 0);
    ck_assert(info.decoded);
    ck_assert(ver == 1 || ver == 2);
}
END_TEST

/* Out of memory anywhere: still a result within max_size (byte-level at worst), every
 * allocation freed, every size named right. */
START_TEST(allocation_failures)
{
    uint8_t buf[MUT_CAP], batch[1024];
    size_t blen;
    for (long fail_at = 0; fail_at < 64; fail_at++) {
        failing f = {fail_at, 0, 0, false};
        kw_allocator a = kwt_failing_allocator(&f);
        kw_mutate_opts o;
        kw_mutate_opts_init(&o);
        o.alloc = &a;
        o.max_mutations = 4;
        for (uint32_t seed = 0; seed < 8; seed++) {
            f.left = fail_at;
            size_t n = produce_frame(buf, batch, &blen);
            size_t m = kw_mutate_frame(buf, n, 4096, seed, &o, NULL);
            ck_assert_uint_le(m, 4096);
            uint8_t out[4096];
            f.left = fail_at;
            ck_assert_uint_le(kw_mutate_crossover(buf, m, buf, m, out, sizeof(out), seed, &o, NULL),
                              sizeof(out));
        }
        ck_assert_int_gt(f.calls, 8); /* the hook is used: arenas and output buffers */
        ck_assert_int_eq(f.live, 0);
        ck_assert(!f.size_mismatch);
    }
}
END_TEST

START_TEST(crossover)
{
    uint8_t a[MUT_CAP], b[MUT_CAP], out[MUT_CAP];
    size_t na = metadata_frame(1, "alpha", "beta", a);
    size_t nb = metadata_frame(1, "gamma", "delta", b);
    for (uint32_t seed = 0; seed < 100; seed++) {
        kw_mutate_info info;
        size_t n = kw_mutate_crossover(a, na, b, nb, out, sizeof(out), seed, NULL, &info);
        ck_assert(info.decoded);
        kw_arena ar;
        kw_frame f;
        ck_assert_int_eq(mut_decode(out, n, &ar, &f), KW_ERR_OK);
        kw_metadata_req *m = f.msg;
        int from_b = 0;
        for (int32_t i = 0; i < m->n_topics; i++)
            from_b +=
                kw_slice_eq(m->topics[i].name, "gamma") || kw_slice_eq(m->topics[i].name, "delta");
        ck_assert_msg(from_b >= 1, "seed %u: %s", seed, info.desc);
        kw_arena_fini(&ar);
    }
    /* Different APIs: a byte splice within max_out. */
    size_t nh = heartbeat_frame(0, b);
    kw_mutate_info info;
    size_t n = kw_mutate_crossover(a, na, b, nh, out, 16, 3, NULL, &info);
    ck_assert_uint_le(n, 16);
    ck_assert_msg(strstr(info.desc, "splice") != NULL, "%s", info.desc);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mutate");
    TCase *tc = tcase_create("families");
    tcase_add_test(tc, frame_round_trip);
    tcase_add_test(tc, family_int);
    tcase_add_test(tc, family_count_breaks_decoding);
    tcase_add_test(tc, family_null_where_not_nullable);
    tcase_add_test(tc, family_tags);
    tcase_add_test(tc, family_version);
    tcase_add_test(tc, family_string);
    tcase_add_test(tc, family_array);
    tcase_add_test(tc, family_header);
    tcase_add_test(tc, family_records);
    tcase_add_test(tc, records_directly);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("contract");
    tcase_add_test(tk, fallback_to_bytes);
    tcase_add_test(tk, custom_byte_mutator);
    tcase_add_test(tk, deterministic_and_bounded);
    tcase_add_test(tk, body_mutation);
    tcase_add_test(tk, empty_body);
    tcase_add_test(tk, allocation_failures);
    tcase_add_test(tk, crossover);
    suite_add_tcase(s, tk);
    return s;
}

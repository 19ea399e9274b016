/* The generic field walk (kw_msg_walk) and its field tables: every walk, at every version,
 * visits exactly the fields its table (generated from the JSON schemas) lists for that
 * version, with matching types and tags; the conformance vectors are null only where the
 * tables allow it; walking reaches values a tool can change; encode overrides write counts
 * and lengths that disagree with the data. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/proto.h"
#include "vec_util.h"

static bool
in(int v, int lo, int hi)
{
    return v >= lo && v <= hi;
}

/* The walk type a schema type must be visited as. */
static kw_ftype
ftype_of(const char *t)
{
    static const struct {
        const char *name;
        kw_ftype ft;
    } map[] = {
        {"int8", KW_FT_INT8},       {"int16", KW_FT_INT16},   {"int32", KW_FT_INT32},
        {"int64", KW_FT_INT64},     {"uint16", KW_FT_UINT16}, {"uint32", KW_FT_UINT32},
        {"float64", KW_FT_FLOAT64}, {"bool", KW_FT_BOOL},     {"uuid", KW_FT_UUID},
        {"string", KW_FT_STRING},   {"bytes", KW_FT_BYTES},   {"records", KW_FT_RECORDS},
    };
    if (strncmp(t, "[]", 2) == 0)
        return KW_FT_ARRAY;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, t) == 0)
            return map[i].ft;
    return KW_FT_STRUCT;
}

/* Whether a table entry exists at ver: its own versions and those of every enclosing field. */
static bool
active(const kw_msgdef *d, const kw_field_def *f, int ver)
{
    if (!in(ver, f->min_ver, f->max_ver))
        return false;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s", f->path);
    char *dot;
    while ((dot = strrchr(prefix, '.'))) {
        *dot = '\0';
        const kw_field_def *p = kw_field_def_find(d, prefix);
        if (!p || !in(ver, p->min_ver, p->max_ver))
            return false;
    }
    return true;
}

static bool
tagged_at(const kw_field_def *f, int ver)
{
    return f->tag >= 0 && in(ver, f->tag_min, f->tag_max);
}

typedef struct schema_ctx {
    const kw_msgdef *d;
    int16_t ver;
    char seen[256][160];
    int n_seen;
    int errors;
    char why[512];
} schema_ctx;

static void
err(schema_ctx *c, const kw_field *f, const char *what)
{
    if (!c->errors)
        snprintf(c->why, sizeof(c->why), "%s v%d %s: %s", c->d->name, c->ver, f->spath, what);
    c->errors++;
}

static int
on_schema_field(void *ud, const kw_field *f)
{
    schema_ctx *c = ud;
    if (f->type == KW_FT_STRUCT_END || f->type == KW_FT_TAGS)
        return 0;
    if (!f->name) { /* an element of a primitive array: typed like the array's elements */
        const kw_field_def *a = kw_field_def_find(c->d, f->spath);
        if (!a || strncmp(a->type, "[]", 2) != 0 || ftype_of(a->type + 2) != f->type)
            err(c, f, "primitive element of the wrong type");
        return 0;
    }
    if (f->index >= 0) /* the structure of one element; the array itself was checked */
        return 0;
    if (!f->def) {
        err(c, f, "visited but not in the field table");
        return 0;
    }
    if (!in(c->ver, f->def->min_ver, f->def->max_ver))
        err(c, f, "visited outside its versions");
    if (ftype_of(f->def->type) != f->type)
        err(c, f, "type differs from the schema");
    if (tagged_at(f->def, c->ver) && f->tag != f->def->tag)
        err(c, f, "tagged in the schema but not walked as that tag");
    if (!tagged_at(f->def, c->ver) && f->tag >= 0) {
        /* Only fields inside a tagged structure may carry its tag. */
        char parent[160];
        snprintf(parent, sizeof(parent), "%s", f->spath);
        char *dot = strrchr(parent, '.');
        bool ok = false;
        while (dot && !ok) {
            *dot = '\0';
            const kw_field_def *p = kw_field_def_find(c->d, parent);
            ok = p && tagged_at(p, c->ver) && p->tag == f->tag;
            dot = strrchr(parent, '.');
        }
        if (!ok)
            err(c, f, "walked as a tagged field the schema does not tag");
    }
    if (c->n_seen < 256)
        snprintf(c->seen[c->n_seen++], sizeof(c->seen[0]), "%s", f->spath);
    return 0;
}

START_TEST(walks_match_field_tables)
{
    const kw_msgdef *d;
    long checked = 0;
    for (size_t i = 0; (d = kw_msgdef_at(i)); i++) {
        ck_assert_msg(kw_field_def_count(d) > 0 || strcmp(d->name, "ApiVersionsRequest") == 0,
                      "%s has no field table", d->name);
        for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
            schema_ctx *c = calloc(1, sizeof(*c));
            c->d = d;
            c->ver = v;
            ck_assert_int_eq(kw_msg_walk_schema(d, v, on_schema_field, c), KW_ERR_OK);
            ck_assert_msg(c->errors == 0, "%s (%d errors)", c->why, c->errors);
            /* The converse: everything the table has at this version was visited. */
            const kw_field_def *f;
            for (size_t k = 0; (f = kw_field_def_at(d, k)); k++) {
                if (!active(d, f, v))
                    continue;
                bool found = false;
                for (int s = 0; s < c->n_seen && !found; s++)
                    found = strcmp(c->seen[s], f->path) == 0;
                ck_assert_msg(found, "%s v%d: table field %s not walked", d->name, v, f->path);
                checked++;
            }
            free(c);
        }
    }
    ck_assert_int_gt(checked, 1000);
}
END_TEST

/* ---------------------------------------------------------------- vectors: nullability */

typedef struct null_ctx {
    const kw_msgdef *d;
    int16_t ver;
    long nulls, fields;
    char why[256];
} null_ctx;

static bool
is_null(const kw_field *f)
{
    switch (f->type) {
    case KW_FT_STRING:
    case KW_FT_BYTES:
    case KW_FT_RECORDS:
        return ((kw_slice *)f->value)->len < 0;
    case KW_FT_ARRAY:
        return *f->count < 0;
    case KW_FT_STRUCT:
        return f->present && !*f->present;
    default:
        return false;
    }
}

static int
on_vector_field(void *ud, const kw_field *f)
{
    null_ctx *c = ud;
    c->fields++;
    if (f->name && f->index < 0 && is_null(f)) {
        c->nulls++;
        if (!f->nullable) {
            snprintf(c->why, sizeof(c->why), "%s v%d: %s is null but not nullable", c->d->name,
                     c->ver, f->path);
            return 1;
        }
    }
    return 0;
}

static int
check_vector_nulls(void *ud, const kw_msgdef *d, int16_t ver, const uint8_t *bin, size_t len)
{
    null_ctx *c = ud;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    void *m = calloc(1, d->size);
    kw_rd r;
    kw_rd_init(&r, bin, len);
    ck_assert_int_eq(kw_msg_decode(d, ver, &r, &ar, m), KW_ERR_OK);
    c->d = d;
    c->ver = ver;
    kw_err e = kw_msg_walk(d, ver, m, on_vector_field, c);
    ck_assert_msg(e == KW_ERR_OK, "%s", c->why);
    free(m);
    kw_arena_fini(&ar);
    return 0;
}

START_TEST(vectors_null_only_where_nullable)
{
    null_ctx c;
    memset(&c, 0, sizeof(c));
    long n = kwt_each_vector(check_vector_nulls, &c);
    ck_assert_int_gt(n, 1000);
    /* The generator draws null for nullable fields, so the check is not vacuous. */
    ck_assert_int_gt(c.nulls, 100);
}
END_TEST

/* ---------------------------------------------------------------- changing values, overrides */

typedef struct set_ctx {
    const char *path;
    int64_t value;
    int hits;
} set_ctx;

static int
set_int(void *ud, const kw_field *f)
{
    set_ctx *c = ud;
    if (strcmp(f->path, c->path) != 0)
        return 0;
    c->hits++;
    if (f->type == KW_FT_INT32)
        *(int32_t *)f->value = (int32_t)c->value;
    return 1;
}

START_TEST(walk_changes_a_value)
{
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    kw_metadata_req_topic t[2];
    memset(t, 0, sizeof(t));
    t[0].name = kw_slice_str("a");
    t[1].name = kw_slice_str("b");
    m.topics = t;
    m.n_topics = 2;
    /* No int32 in MetadataRequest; use Heartbeat's GenerationId instead. */
    kw_heartbeat_req h;
    memset(&h, 0, sizeof(h));
    h.group_id = kw_slice_str("g");
    h.member_id = kw_slice_str("m");
    h.group_instance_id = KW_SLICE_NULL;
    set_ctx c = {"GenerationId", -77, 0};
    ck_assert_int_eq(kw_msg_walk(&kw_msg_heartbeat_req, 4, &h, set_int, &c), KW_ERR_CANCELED);
    ck_assert_int_eq(c.hits, 1);
    ck_assert_int_eq(h.generation_id, -77);

    /* An array count override: Topics claims 5 elements, 2 follow. */
    uint8_t buf[256];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_override ov = {&m.n_topics, 5};
    ck_assert_int_eq(kw_msg_encode_ex(&kw_msg_metadata_req, 1, &w, &m, &ov, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_wr_len(&w), 4 + 2 * 3);
    ck_assert_int_eq(buf[3], 5);
    ck_assert_int_eq(buf[4], 0);
    ck_assert_int_eq(buf[5], 1);
    ck_assert_int_eq(buf[6], 'a');
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_metadata_req back;
    kw_rd r;
    kw_rd_init(&r, buf, kw_wr_len(&w));
    ck_assert_int_eq(kw_msg_decode(&kw_msg_metadata_req, 1, &r, &ar, &back), KW_ERR_TRUNCATED);

    /* A string length override in a flexible version: "a" claims 40 bytes. */
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_override ov2 = {&t[0].name, 40};
    ck_assert_int_eq(kw_msg_encode_ex(&kw_msg_metadata_req, 9, &w, &m, &ov2, 1), KW_ERR_OK);
    /* v9: compact array (3), topic: compact string (41, 'a'), tags (0), ... */
    ck_assert_int_eq(buf[0], 3);
    ck_assert_int_eq(buf[1], 41);
    ck_assert_int_eq(buf[2], 'a');
    kw_arena_reset(&ar);
    kw_rd_init(&r, buf, kw_wr_len(&w));
    ck_assert_int_ne(kw_msg_decode(&kw_msg_metadata_req, 9, &r, &ar, &back), KW_ERR_OK);

    /* Without overrides kw_msg_encode_ex is kw_msg_encode. */
    uint8_t a[256], b[256];
    kw_wr wa, wb;
    kw_wr_init_fixed(&wa, a, sizeof(a));
    kw_wr_init_fixed(&wb, b, sizeof(b));
    ck_assert_int_eq(kw_msg_encode_ex(&kw_msg_metadata_req, 12, &wa, &m, NULL, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_msg_encode(&kw_msg_metadata_req, 12, &wb, &m), KW_ERR_OK);
    ck_assert_int_eq(kw_wr_len(&wa), kw_wr_len(&wb));
    ck_assert(memcmp(a, b, kw_wr_len(&wa)) == 0);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(field_table_lookup)
{
    const kw_field_def *f = kw_field_def_find(&kw_msg_produce_req, "TransactionalId");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->type, "string");
    ck_assert_int_eq(f->min_ver, 3);
    ck_assert_int_eq(f->null_min, 3);
    f = kw_field_def_find(&kw_msg_produce_req, "TopicData.PartitionData.Records");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->type, "records");
    ck_assert_ptr_null(kw_field_def_find(&kw_msg_produce_req, "NoSuchField"));
    ck_assert_str_eq(kw_ftype_name(KW_FT_UUID), "uuid");
    ck_assert_str_eq(kw_ftype_name((kw_ftype)99), "unknown");
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mutate_walk");
    TCase *tc = tcase_create("walk");
    tcase_add_test(tc, walks_match_field_tables);
    tcase_add_test(tc, vectors_null_only_where_nullable);
    tcase_add_test(tc, walk_changes_a_value);
    tcase_add_test(tc, field_table_lookup);
    suite_add_tcase(s, tc);
    return s;
}

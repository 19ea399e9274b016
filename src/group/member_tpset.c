/* Topic-partition sets: the currency of the group member (owned, assigned, revoked, lost).
 *
 * Topics are kept sorted by name (byte order, which for the Kafka topic alphabet is Java's
 * String order) and each topic's partitions sorted and unique, so set operations are merges and
 * the sets reach the wire already in the order Java writes them. Every allocation goes through
 * the set's allocator; a failure leaves the set as it was. */
#include <string.h>

#include "group/member.h"

void
kwi_tpset_init(kwi_tpset *s, const kw_allocator *a)
{
    memset(s, 0, sizeof(*s));
    s->a = a ? a : kw_allocator_default();
}

static void
topic_fini(const kw_allocator *a, kwi_tpset_topic *t)
{
    if (t->name)
        a->free(a->ud, t->name, t->name_len + 1);
    if (t->parts)
        a->free(a->ud, t->parts, (size_t)t->cap * sizeof(int32_t));
    memset(t, 0, sizeof(*t));
}

void
kwi_tpset_clear(kwi_tpset *s)
{
    for (int32_t i = 0; i < s->n; i++)
        topic_fini(s->a, &s->t[i]);
    s->n = 0;
}

void
kwi_tpset_fini(kwi_tpset *s)
{
    if (!s->a)
        return;
    kwi_tpset_clear(s);
    if (s->t)
        s->a->free(s->a->ud, s->t, (size_t)s->cap * sizeof(*s->t));
    s->t = NULL;
    s->cap = 0;
}

static int
name_cmp(const char *a, size_t alen, kw_slice b)
{
    size_t blen = b.len > 0 ? (size_t)b.len : 0;
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b.ptr, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Index of `topic`, or -(insertion point) - 1. */
static int32_t
topic_search(const kwi_tpset *s, kw_slice topic)
{
    int32_t lo = 0, hi = s->n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(s->t[mid].name, s->t[mid].name_len, topic);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

const kwi_tpset_topic *
kwi_tpset_find(const kwi_tpset *s, kw_slice topic)
{
    int32_t i = topic_search(s, topic);
    return i >= 0 ? &s->t[i] : NULL;
}

static int32_t
part_search(const kwi_tpset_topic *t, int32_t p)
{
    int32_t lo = 0, hi = t->n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (t->parts[mid] == p)
            return mid;
        if (t->parts[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

bool
kwi_tpset_contains(const kwi_tpset *s, kw_slice topic, int32_t partition)
{
    const kwi_tpset_topic *t = kwi_tpset_find(s, topic);
    return t && part_search(t, partition) >= 0;
}

/* The entry for `topic`, inserted (with no partitions) if missing. Callers that may leave it
 * empty remove it again (kwi_tpset_add never does). */
static kw_err
topic_get(kwi_tpset *s, kw_slice topic, int32_t *idx)
{
    int32_t i = topic_search(s, topic);
    if (i >= 0) {
        *idx = i;
        return KW_ERR_OK;
    }
    if (topic.len < 0 || topic.len > INT16_MAX)
        return KW_ERR_INVALID_ARG;
    i = -i - 1;
    if (s->n == s->cap) {
        int32_t ncap = s->cap ? s->cap * 2 : 4;
        kwi_tpset_topic *nt = s->t ? s->a->realloc(s->a->ud, s->t, (size_t)s->cap * sizeof(*nt),
                                                   (size_t)ncap * sizeof(*nt))
                                   : s->a->alloc(s->a->ud, (size_t)ncap * sizeof(*nt));
        if (!nt)
            return KW_ERR_NOMEM;
        s->t = nt;
        s->cap = ncap;
    }
    char *name = s->a->alloc(s->a->ud, (size_t)topic.len + 1);
    if (!name)
        return KW_ERR_NOMEM;
    if (topic.len)
        memcpy(name, topic.ptr, (size_t)topic.len);
    name[topic.len] = '\0';
    memmove(&s->t[i + 1], &s->t[i], (size_t)(s->n - i) * sizeof(*s->t));
    memset(&s->t[i], 0, sizeof(s->t[i]));
    s->t[i].name = name;
    s->t[i].name_len = (size_t)topic.len;
    s->n++;
    *idx = i;
    return KW_ERR_OK;
}

static void
topic_remove(kwi_tpset *s, int32_t i)
{
    topic_fini(s->a, &s->t[i]);
    memmove(&s->t[i], &s->t[i + 1], (size_t)(s->n - i - 1) * sizeof(*s->t));
    s->n--;
}

static kw_err
part_insert(const kw_allocator *a, kwi_tpset_topic *t, int32_t p)
{
    int32_t j = part_search(t, p);
    if (j >= 0)
        return KW_ERR_OK;
    j = -j - 1;
    if (t->n == t->cap) {
        int32_t ncap = t->cap ? t->cap * 2 : 4;
        int32_t *np = t->parts ? a->realloc(a->ud, t->parts, (size_t)t->cap * sizeof(int32_t),
                                            (size_t)ncap * sizeof(int32_t))
                               : a->alloc(a->ud, (size_t)ncap * sizeof(int32_t));
        if (!np)
            return KW_ERR_NOMEM;
        t->parts = np;
        t->cap = ncap;
    }
    memmove(&t->parts[j + 1], &t->parts[j], (size_t)(t->n - j) * sizeof(int32_t));
    t->parts[j] = p;
    t->n++;
    return KW_ERR_OK;
}

kw_err
kwi_tpset_add(kwi_tpset *s, kw_slice topic, int32_t partition)
{
    if (partition < 0)
        return KW_ERR_INVALID_ARG;
    int32_t i;
    kw_err e = topic_get(s, topic, &i);
    if (e)
        return e;
    e = part_insert(s->a, &s->t[i], partition);
    if (e && s->t[i].n == 0)
        topic_remove(s, i);
    return e;
}

kw_err
kwi_tpset_set_id(kwi_tpset *s, kw_slice topic, const kw_uuid *id)
{
    int32_t i = topic_search(s, topic);
    if (i < 0)
        return KW_ERR_NOT_FOUND;
    s->t[i].id = *id;
    return KW_ERR_OK;
}

bool
kwi_tpset_remove(kwi_tpset *s, kw_slice topic, int32_t partition)
{
    int32_t i = topic_search(s, topic);
    if (i < 0)
        return false;
    kwi_tpset_topic *t = &s->t[i];
    int32_t j = part_search(t, partition);
    if (j < 0)
        return false;
    memmove(&t->parts[j], &t->parts[j + 1], (size_t)(t->n - j - 1) * sizeof(int32_t));
    t->n--;
    if (t->n == 0)
        topic_remove(s, i);
    return true;
}

int32_t
kwi_tpset_count(const kwi_tpset *s)
{
    int32_t n = 0;
    for (int32_t i = 0; i < s->n; i++)
        n += s->t[i].n;
    return n;
}

static kw_slice
topic_slice(const kwi_tpset_topic *t)
{
    return (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len};
}

/* Adds every partition of `t` that `skip` (may be NULL) does not contain; the topic id comes
 * along when `dst` has none for the topic yet. */
static kw_err
add_topic_minus(kwi_tpset *dst, const kwi_tpset_topic *t, const kwi_tpset_topic *skip)
{
    for (int32_t j = 0; j < t->n; j++) {
        if (skip && part_search(skip, t->parts[j]) >= 0)
            continue;
        kw_err e = kwi_tpset_add(dst, topic_slice(t), t->parts[j]);
        if (e)
            return e;
    }
    const kwi_tpset_topic *d = kwi_tpset_find(dst, topic_slice(t));
    if (d && !kwi_uuid_is_zero(&t->id) && kwi_uuid_is_zero(&d->id))
        ((kwi_tpset_topic *)d)->id = t->id;
    return KW_ERR_OK;
}

kw_err
kwi_tpset_add_all(kwi_tpset *dst, const kwi_tpset *src)
{
    for (int32_t i = 0; i < src->n; i++) {
        kw_err e = add_topic_minus(dst, &src->t[i], NULL);
        if (e)
            return e;
    }
    return KW_ERR_OK;
}

kw_err
kwi_tpset_copy(kwi_tpset *dst, const kwi_tpset *src)
{
    kwi_tpset_clear(dst);
    return kwi_tpset_add_all(dst, src);
}

kw_err
kwi_tpset_diff(kwi_tpset *out, const kwi_tpset *a, const kwi_tpset *b)
{
    kwi_tpset_clear(out);
    for (int32_t i = 0; i < a->n; i++) {
        kw_err e = add_topic_minus(out, &a->t[i], kwi_tpset_find(b, topic_slice(&a->t[i])));
        if (e)
            return e;
    }
    return KW_ERR_OK;
}

bool
kwi_tpset_equal(const kwi_tpset *a, const kwi_tpset *b)
{
    if (a->n != b->n)
        return false;
    for (int32_t i = 0; i < a->n; i++) {
        const kwi_tpset_topic *x = &a->t[i], *y = &b->t[i];
        if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0 ||
            x->n != y->n || (x->n && memcmp(x->parts, y->parts, (size_t)x->n * sizeof(int32_t))))
            return false;
    }
    return true;
}

bool
kwi_uuid_is_zero(const kw_uuid *u)
{
    static const kw_uuid zero;
    return memcmp(u, &zero, sizeof(zero)) == 0;
}

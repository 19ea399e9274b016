/* The event bus runtime's offset tracker. See bus_track.h. */
#include <string.h>

#include "bus/bus_track.h"

void
kwi_track_init(kwi_track *t, const kw_allocator *a)
{
    memset(t, 0, sizeof(*t));
    t->a = a ? a : kw_allocator_default();
}

static void
ptrack_fini(kwi_track *t, kwi_ptrack *p)
{
    if (p->pending)
        t->a->free(t->a->ud, p->pending, p->cap_pending * sizeof(*p->pending));
    p->pending = NULL;
    p->n_pending = p->cap_pending = 0;
}

void
kwi_track_fini(kwi_track *t)
{
    for (size_t i = 0; i < t->n; i++)
        ptrack_fini(t, &t->p[i]);
    if (t->p)
        t->a->free(t->a->ud, t->p, t->cap * sizeof(*t->p));
    memset(t, 0, sizeof(*t));
}

kwi_ptrack *
kwi_track_get(kwi_track *t, int32_t partition)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->p[i].partition == partition)
            return &t->p[i];
    return NULL;
}

kwi_ptrack *
kwi_track_add(kwi_track *t, int32_t partition)
{
    kwi_ptrack *p = kwi_track_get(t, partition);
    if (p)
        return p;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 8;
        kwi_ptrack *np =
            t->a->realloc(t->a->ud, t->p, t->cap * sizeof(*t->p), ncap * sizeof(*t->p));
        if (!np)
            return NULL;
        t->p = np;
        t->cap = ncap;
    }
    p = &t->p[t->n++];
    memset(p, 0, sizeof(*p));
    p->partition = partition;
    p->next = -1;
    p->committed = -1;
    p->retry_offset = -1;
    p->gen = ++t->next_gen;
    return p;
}

void
kwi_track_remove(kwi_track *t, int32_t partition)
{
    kwi_ptrack *p = kwi_track_get(t, partition);
    if (!p)
        return;
    ptrack_fini(t, p);
    size_t i = (size_t)(p - t->p);
    memmove(&t->p[i], &t->p[i + 1], (t->n - i - 1) * sizeof(*t->p));
    t->n--;
}

void
kwi_ptrack_done(kwi_ptrack *p, int64_t offset)
{
    /* A redelivered older offset (after a seek back) must not move the position backwards. */
    if (offset + 1 > p->next)
        p->next = offset + 1;
}

kw_err
kwi_ptrack_pend(kwi_ptrack *p, const kw_allocator *a, int64_t offset)
{
    if (p->n_pending == p->cap_pending) {
        size_t ncap = p->cap_pending ? p->cap_pending * 2 : 4;
        int64_t *np =
            a->realloc(a->ud, p->pending, p->cap_pending * sizeof(*np), ncap * sizeof(*np));
        if (!np)
            return KW_ERR_NOMEM;
        p->pending = np;
        p->cap_pending = ncap;
    }
    /* Keep ascending: offsets normally arrive in order, so this is an append. */
    size_t i = p->n_pending;
    while (i > 0 && p->pending[i - 1] > offset)
        i--;
    if (i > 0 && p->pending[i - 1] == offset)
        return KW_ERR_OK;
    memmove(&p->pending[i + 1], &p->pending[i], (p->n_pending - i) * sizeof(*p->pending));
    p->pending[i] = offset;
    p->n_pending++;
    kwi_ptrack_done(p, offset);
    return KW_ERR_OK;
}

bool
kwi_ptrack_unpend(kwi_ptrack *p, int64_t offset)
{
    for (size_t i = 0; i < p->n_pending; i++) {
        if (p->pending[i] == offset) {
            memmove(&p->pending[i], &p->pending[i + 1],
                    (p->n_pending - i - 1) * sizeof(*p->pending));
            p->n_pending--;
            return true;
        }
    }
    return false;
}

int64_t
kwi_ptrack_commit_pos(const kwi_ptrack *p)
{
    if (p->n_pending > 0)
        return p->pending[0];
    return p->next;
}

bool
kwi_ptrack_need_commit(const kwi_ptrack *p)
{
    int64_t pos = kwi_ptrack_commit_pos(p);
    return pos >= 0 && pos > p->committed;
}

void
kwi_ptrack_retry_set(kwi_ptrack *p, int64_t offset, int32_t count, int64_t due)
{
    p->retry_offset = offset;
    p->retry_count = count;
    p->retry_due = due;
}

void
kwi_ptrack_retry_clear(kwi_ptrack *p)
{
    p->retry_offset = -1;
    p->retry_count = 0;
    p->retry_due = 0;
}

int32_t
kwi_ptrack_retries_of(const kwi_ptrack *p, int64_t offset)
{
    return p->retry_offset == offset ? p->retry_count : 0;
}

bool
kwi_ptrack_may_resume(const kwi_ptrack *p, int64_t now)
{
    return p->paused && p->writes == 0 && (p->retry_offset < 0 || p->retry_due <= now);
}

int64_t
kwi_track_next_due(const kwi_track *t)
{
    int64_t best = -1;
    for (size_t i = 0; i < t->n; i++) {
        const kwi_ptrack *p = &t->p[i];
        /* A partition held by a DLQ write resumes on the write's report, not on a timer. */
        if (p->paused && p->writes == 0 && p->retry_offset >= 0 &&
            (best < 0 || p->retry_due < best))
            best = p->retry_due;
    }
    return best;
}

/* The log of one partition: validated batches stored back to back in one buffer, with an index
 * of their offsets, so that the bytes a Fetch returns are one slice the encoder copies straight
 * into the response.
 *
 * Positions are counted in a byte stream that only grows (pos of a batch never changes); the
 * buffer holds the live part of the stream, starting at stream position buf_pos. Dropping old
 * batches (retention, DeleteRecords) only advances `head`; the dead prefix is reclaimed when an
 * append needs room, by moving the live bytes down, which touches no index entry. */
#include <string.h>

#include "mock_int.h"
#include "util/crc32c.h"

#define POS_BASE_OFFSET  0
#define POS_LEADER_EPOCH 12
#define POS_CRC          17
#define POS_ATTR         21
#define POS_MAX_TS       35

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void
kwi_mock_log_init(kwi_mock_log *l, const kw_allocator *a)
{
    memset(l, 0, sizeof(*l));
    l->a = a;
}

void
kwi_mock_log_fini(kwi_mock_log *l)
{
    if (l->buf)
        l->a->free(l->a->ud, l->buf, l->cap);
    if (l->b)
        l->a->free(l->a->ud, l->b, l->b_cap * sizeof(*l->b));
    memset(l, 0, sizeof(*l));
}

int64_t
kwi_mock_log_bytes(const kwi_mock_log *l)
{
    return (int64_t)(l->tail - l->head);
}

const kwi_mock_batch *
kwi_mock_log_batch(const kwi_mock_log *l, size_t i)
{
    return &l->b[l->b_first + i];
}

const uint8_t *
kwi_mock_log_data(const kwi_mock_log *l, const kwi_mock_batch *b)
{
    return l->buf + (size_t)(b->pos - l->buf_pos);
}

/* Room for `len` more bytes at the tail: reclaim the dead prefix first, grow if still short. */
static kw_err
reserve_bytes(kwi_mock_log *l, size_t len)
{
    size_t live = (size_t)(l->tail - l->head);
    size_t used = (size_t)(l->tail - l->buf_pos);
    if (l->cap - used >= len)
        return KW_ERR_OK;
    if (live > SIZE_MAX / 2 - len)
        return KW_ERR_NOMEM;
    if (l->head > l->buf_pos && l->cap - live >= len) {
        memmove(l->buf, l->buf + (size_t)(l->head - l->buf_pos), live);
        l->buf_pos = l->head;
        return KW_ERR_OK;
    }
    size_t ncap = l->cap ? l->cap : 4096;
    while (ncap < live + len)
        ncap *= 2;
    uint8_t *nb = l->a->alloc(l->a->ud, ncap);
    if (!nb)
        return KW_ERR_NOMEM;
    if (live)
        memcpy(nb, l->buf + (size_t)(l->head - l->buf_pos), live);
    if (l->buf)
        l->a->free(l->a->ud, l->buf, l->cap);
    l->buf = nb;
    l->cap = ncap;
    l->buf_pos = l->head;
    return KW_ERR_OK;
}

static kw_err
reserve_entry(kwi_mock_log *l)
{
    if (l->b_first + l->n < l->b_cap)
        return KW_ERR_OK;
    if (l->b_first > 0) {
        memmove(l->b, l->b + l->b_first, l->n * sizeof(*l->b));
        l->b_first = 0;
        return KW_ERR_OK;
    }
    size_t ncap = l->b_cap ? l->b_cap * 2 : 16;
    kwi_mock_batch *nb =
        l->b ? l->a->realloc(l->a->ud, l->b, l->b_cap * sizeof(*l->b), ncap * sizeof(*l->b))
             : l->a->alloc(l->a->ud, ncap * sizeof(*l->b));
    if (!nb)
        return KW_ERR_NOMEM;
    l->b = nb;
    l->b_cap = ncap;
    return KW_ERR_OK;
}

kw_err
kwi_mock_log_append(kwi_mock_log *l, const kw_batch *b, int32_t leader_epoch, int64_t append_time,
                    int64_t *base_out)
{
    size_t len = (size_t)b->raw.len;
    if (reserve_entry(l) || reserve_bytes(l, len))
        return KW_ERR_NOMEM;
    uint8_t *p = l->buf + (size_t)(l->tail - l->buf_pos);
    memcpy(p, b->raw.ptr, len);
    /* The base offset and the leader epoch are outside the CRC, as Kafka designed them to be
     * stamped by the broker without recomputing it; LogAppendTime changes covered bytes. */
    put_be(p + POS_BASE_OFFSET, (uint64_t)l->hw, 8);
    put_be(p + POS_LEADER_EPOCH, (uint32_t)leader_epoch, 4);
    int64_t max_ts = b->max_timestamp;
    if (append_time >= 0) {
        uint16_t attr = (uint16_t)b->attributes | KW_BATCH_ATTR_LOG_APPEND_TIME;
        put_be(p + POS_ATTR, attr, 2);
        put_be(p + POS_MAX_TS, (uint64_t)append_time, 8);
        put_be(p + POS_CRC, kwi_crc32c(0, p + POS_ATTR, len - POS_ATTR), 4);
        max_ts = append_time;
    }
    kwi_mock_batch *e = &l->b[l->b_first + l->n++];
    e->base = l->hw;
    e->last = l->hw + b->last_offset_delta;
    e->max_ts = max_ts;
    e->pos = l->tail;
    e->len = (uint32_t)len;
    l->tail += len;
    if (base_out)
        *base_out = l->hw;
    l->hw = e->last + 1;
    return KW_ERR_OK;
}

static void
drop_first(kwi_mock_log *l)
{
    l->b_first++;
    l->n--;
    l->head = l->n ? l->b[l->b_first].pos : l->tail;
    if (l->n == 0)
        l->b_first = 0;
}

void
kwi_mock_log_retain(kwi_mock_log *l, int64_t max_bytes)
{
    if (max_bytes < 0)
        return;
    while (l->n > 1 && kwi_mock_log_bytes(l) > max_bytes)
        drop_first(l);
    if (l->n && l->log_start < l->b[l->b_first].base)
        l->log_start = l->b[l->b_first].base;
}

void
kwi_mock_log_truncate_head(kwi_mock_log *l, int64_t offset)
{
    if (offset <= l->log_start)
        return;
    l->log_start = offset;
    while (l->n && l->b[l->b_first].last < offset)
        drop_first(l);
}

size_t
kwi_mock_log_find(const kwi_mock_log *l, int64_t offset)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->b[l->b_first + mid].last < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first batch at or past `upto` (exclusive end of what may be read). */
static size_t
end_index(const kwi_mock_log *l, int64_t upto)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->b[l->b_first + mid].base < upto)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t
end_pos(const kwi_mock_log *l, size_t j)
{
    return j < l->n ? l->b[l->b_first + j].pos : l->tail;
}

int64_t
kwi_mock_log_avail(const kwi_mock_log *l, int64_t offset, int64_t upto)
{
    size_t i = kwi_mock_log_find(l, offset);
    size_t j = end_index(l, upto);
    if (i >= j)
        return 0;
    return (int64_t)(end_pos(l, j) - l->b[l->b_first + i].pos);
}

kw_slice
kwi_mock_log_read(const kwi_mock_log *l, int64_t offset, int64_t upto, int64_t max_bytes,
                  bool min_one)
{
    size_t i = kwi_mock_log_find(l, offset);
    size_t end = end_index(l, upto);
    if (i >= end || max_bytes < 0)
        return (kw_slice){NULL, 0};
    const kwi_mock_batch *first = &l->b[l->b_first + i];
    const uint8_t *start = kwi_mock_log_data(l, first);
    if ((int64_t)first->len > max_bytes) {
        /* KIP-74: the first batch of a response is returned whole so a consumer can make
         * progress; elsewhere an incomplete first batch is replaced by nothing. */
        return min_one ? (kw_slice){start, (int32_t)first->len} : (kw_slice){NULL, 0};
    }
    int64_t total = 0;
    size_t j = i;
    for (; j < end && total + l->b[l->b_first + j].len <= max_bytes; j++)
        total += l->b[l->b_first + j].len;
    /* Kafka slices the segment file by bytes, so the room left is filled with the head of the
     * next batch; clients must skip such a trailing partial batch. */
    if (j < end)
        total = max_bytes; /* less than that batch, or the loop would have taken it */
    if (total > INT32_MAX)
        total = INT32_MAX;
    return (kw_slice){start, (int32_t)total};
}

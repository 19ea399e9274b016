/* Headers of the dead-letter queue, as eventsource-py writes and reads them: the dlq_*
 * headers added when an event is given up on, and their removal (with dlq_replay_count
 * incremented) when a DLQ record is replayed to the main topic. */
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"

const char *
kwi_bus_dlq_reason_name(kwi_bus_dlq_reason r)
{
    switch (r) {
    case KWI_BUS_DLQ_MAX_RETRIES:
        return "max_retries_exceeded";
    case KWI_BUS_DLQ_DESERIALIZATION:
        return "deserialization_error";
    case KWI_BUS_DLQ_REPUBLISH_FAILED:
        return "republish_failed";
    }
    return "unknown";
}

static bool
is_dlq(const kw_header *h)
{
    return h->key.len >= 4 && memcmp(h->key.ptr, "dlq_", 4) == 0;
}

static bool
put(kw_arena *ar, kw_header *o, int32_t *k, const char *key, const char *val)
{
    if (!kwi_bus_header_make(ar, &o[*k], key, val, strlen(val)))
        return false;
    (*k)++;
    return true;
}

static bool
put_int(kw_arena *ar, kw_header *o, int32_t *k, const char *key, int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    return put(ar, o, k, key, num);
}

#define N_DLQ_HEADERS 9

kw_err
kwi_bus_dlq_headers(const kw_header *h, int32_t n, const kwi_bus_dlq_info *info, kw_arena *ar,
                    kw_header **out, int32_t *n_out, kw_error *err)
{
    if (!info || !ar || !out || !n_out || n < 0 || n > INT32_MAX - N_DLQ_HEADERS || (n > 0 && !h))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_bus_dlq_headers: bad argument");
    kw_header *o = kw_arena_calloc(ar, (size_t)n + N_DLQ_HEADERS, sizeof(*o));
    if (!o)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory building DLQ headers");
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (!is_dlq(&h[i]) || kwi_bus_header_is(&h[i], "dlq_replay_count"))
            o[k++] = h[i];
    const char *msg = info->error_message ? info->error_message : "";
    size_t msg_len = info->error_message ? info->error_message_len : 0;
    size_t clipped_len;
    char *clipped = kwi_bus_utf8_clip(msg, msg_len, KWI_BUS_DLQ_MAX_ERROR_CHARS, ar, &clipped_len);
    char ts[KW_BUS_TIME_STR_SIZE];
    if (kw_bus_time_format(info->timestamp_us, KW_BUS_TIME_MICROS, ts, sizeof(ts)) == 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "dlq_timestamp: outside years 1-9999");
    const char *etype = info->error_type && info->error_type[0] ? info->error_type : "HandlerError";
    bool ok =
        clipped && put(ar, o, &k, "dlq_reason", kwi_bus_dlq_reason_name(info->reason)) &&
        put(ar, o, &k, "dlq_error_type", etype) &&
        kwi_bus_header_make(ar, &o[k++], "dlq_error_message", clipped, clipped_len) &&
        put_int(ar, o, &k, "dlq_retry_count", info->retry_count) &&
        put(ar, o, &k, "dlq_timestamp", ts) &&
        put(ar, o, &k, "dlq_original_topic", info->original_topic ? info->original_topic : "") &&
        put_int(ar, o, &k, "dlq_original_partition", info->original_partition) &&
        put_int(ar, o, &k, "dlq_original_offset", info->original_offset) &&
        put(ar, o, &k, "dlq_consumer_group", info->consumer_group ? info->consumer_group : "");
    if (!ok)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory building DLQ headers");
    *out = o;
    *n_out = k;
    return KW_ERR_OK;
}

kw_err
kwi_bus_dlq_replay_count(const kw_header *h, int32_t n, int32_t *out)
{
    const kw_header *c = kwi_bus_header_find(h, n, "dlq_replay_count");
    if (!c) {
        *out = 0;
        return KW_ERR_OK;
    }
    int64_t v;
    if (kwi_bus_header_i64(c, &v) != KW_ERR_OK || v < 0 || v > INT32_MAX)
        return KW_ERR_MALFORMED;
    *out = (int32_t)v;
    return KW_ERR_OK;
}

static bool
dropped_on_replay(const kw_header *h)
{
    return is_dlq(h) || kwi_bus_header_is(h, "retry_count") || kwi_bus_header_is(h, "retry_after");
}

kw_err
kwi_bus_dlq_replay_headers(const kw_header *h, int32_t n, int32_t max_attempts, bool force,
                           kw_arena *ar, kw_header **out, int32_t *n_out, int32_t *new_count,
                           kw_error *err)
{
    if (!ar || !out || !n_out || n < 0 || n == INT32_MAX || (n > 0 && !h))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_bus_dlq_replay_headers: bad argument");
    int32_t old;
    if (kwi_bus_dlq_replay_count(h, n, &old) != KW_ERR_OK) {
        /* An unreadable count cannot prove the guard holds: only a forced replay goes on. */
        if (!force)
            return kw_error_set(err, KW_ERR_MALFORMED,
                                "dlq_replay_count is not a non-negative integer; use force to "
                                "replay anyway");
        old = 0;
    }
    if (!force && old >= max_attempts)
        return kw_error_set(err, KW_ERR_STATE,
                            "the message has been replayed %d times, the maximum is %d (use "
                            "force to override)",
                            (int)old, (int)max_attempts);
    if (old == INT32_MAX)
        return kw_error_set(err, KW_ERR_STATE, "dlq_replay_count cannot grow past %d", (int)old);
    kw_header *o = kw_arena_calloc(ar, (size_t)n + 1, sizeof(*o));
    if (!o)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory building replay headers");
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (!dropped_on_replay(&h[i]))
            o[k++] = h[i];
    if (!put_int(ar, o, &k, "dlq_replay_count", (int64_t)old + 1))
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory building replay headers");
    *out = o;
    *n_out = k;
    if (new_count)
        *new_count = old + 1;
    return KW_ERR_OK;
}

/* API version negotiation; see apiver.h. */
#include <stdio.h>
#include <string.h>

#include "net/apiver.h"

/* KIP-896 (Kafka 4.0) floors: the versions 4.0 removed. A 4.0 broker advertises Produce 0-x
 * (KAFKA-18659) but rejects v0-2, and a removed version is answered by closing the connection
 * without a response, so kwire must never send below these. JoinGroup 0-1 came back in 4.0.1,
 * but v2 (0.11) is the first with the rebalance timeout the group code relies on. */
static const struct {
    int16_t key, floor;
} floors[] = {
    {0, 3},  /* Produce: record batch magic 2 only */
    {1, 4},  /* Fetch */
    {2, 1},  /* ListOffsets */
    {8, 2},  /* OffsetCommit */
    {9, 1},  /* OffsetFetch */
    {11, 2}, /* JoinGroup */
    {19, 2}, /* CreateTopics */
    {20, 1}, /* DeleteTopics */
    {23, 2}, /* OffsetForLeaderEpoch */
    {29, 1}, /* DescribeAcls */
    {30, 1}, /* CreateAcls */
    {31, 1}, /* DeleteAcls */
    {32, 1}, /* DescribeConfigs */
    {34, 1}, /* AlterReplicaLogDirs */
    {35, 1}, /* DescribeLogDirs */
    {38, 1}, /* CreateDelegationToken */
    {39, 1}, /* RenewDelegationToken */
    {40, 1}, /* ExpireDelegationToken */
    {41, 1}, /* DescribeDelegationToken */
};

/* Client-side caps. AddPartitionsToTxn v4+ is the broker-to-broker batched form; clients send
 * v0-3 (the V3AndBelow fields). */
static const struct {
    int16_t key, cap;
} caps[] = {
    {24, 3},
};

int16_t
kwi_apiver_floor(int16_t key)
{
    for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]); i++)
        if (floors[i].key == key)
            return floors[i].floor;
    return 0;
}

bool
kwi_apiver_client_range(int16_t key, int16_t *min, int16_t *max)
{
    const kw_msgdef *d = key >= 0 ? kw_msgdef_by_key(key, false) : NULL;
    if (!d)
        return false;
    int16_t lo = d->min_ver, hi = d->max_ver;
    int16_t fl = kwi_apiver_floor(key);
    if (lo < fl)
        lo = fl;
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (caps[i].key == key && hi > caps[i].cap)
            hi = caps[i].cap;
    if (lo > hi)
        return false;
    *min = lo;
    *max = hi;
    return true;
}

void
kwi_apiver_reset(kwi_apiver *v)
{
    for (int i = 0; i < KWI_APIVER_KEYS; i++) {
        v->use[i] = -1;
        v->broker_min[i] = -1;
        v->broker_max[i] = -1;
    }
}

void
kwi_apiver_select(kwi_apiver *v, const kw_api_version *keys, int32_t n)
{
    kwi_apiver_reset(v);
    for (int32_t i = 0; i < n; i++) {
        int16_t key = keys[i].api_key;
        if (key < 0 || key >= KWI_APIVER_KEYS)
            continue;
        v->broker_min[key] = keys[i].min_version;
        v->broker_max[key] = keys[i].max_version;
    }
    for (int16_t key = 0; key < KWI_APIVER_KEYS; key++) {
        int16_t bmin = v->broker_min[key], bmax = v->broker_max[key], kmin, kmax;
        if (bmin < 0 || bmax < bmin || !kwi_apiver_client_range(key, &kmin, &kmax))
            continue;
        int16_t hi = kmax < bmax ? kmax : bmax;
        int16_t lo = kmin > bmin ? kmin : bmin;
        if (hi >= lo)
            v->use[key] = hi;
    }
}

int16_t
kwi_apiver_get(const kwi_apiver *v, int16_t key)
{
    if (key < 0 || key >= KWI_APIVER_KEYS)
        return -1;
    return v->use[key];
}

/* The retry version after error 35: what the broker's v0 body names for ApiVersions, else 0. */
static int16_t
retry_version(int16_t sent_ver, const uint8_t *body, size_t len, kw_arena *ar)
{
    kw_api_versions_resp m;
    kw_rd r;
    kw_rd_init(&r, body, len);
    if (kw_msg_decode(&kw_msg_api_versions_resp, 0, &r, ar, &m) != KW_ERR_OK)
        return 0; /* not a KIP-511 v0 body (librdkafka's mock): v0 always works */
    int16_t best = 0;
    for (int32_t i = 0; i < m.n_api_keys; i++) {
        const kw_api_version *k = &m.api_keys[i];
        if (k->api_key == KWI_API_API_VERSIONS && k->min_version >= 0 &&
            k->max_version >= k->min_version)
            best = k->max_version;
    }
    if (best > KWI_APIVER_FIRST)
        best = KWI_APIVER_FIRST;
    /* Only ever go down, so a broker that names the version it just rejected cannot loop us. */
    if (best >= sent_ver)
        best = (int16_t)(sent_ver - 1);
    return best < 0 ? 0 : best;
}

kwi_apiver_result
kwi_apiver_response(kwi_apiver *v, int16_t sent_ver, const uint8_t *body, size_t len, kw_arena *ar,
                    int16_t *retry_ver, kw_error *err)
{
    *retry_ver = -1;
    if (len >= 2) {
        int16_t code = (int16_t)(((uint16_t)body[0] << 8) | body[1]);
        if (code == 35 && sent_ver > 0) {
            *retry_ver = retry_version(sent_ver, body, len, ar);
            return KWI_APIVER_RETRY;
        }
    }
    kw_api_versions_resp m;
    kw_rd r;
    kw_rd_init(&r, body, len);
    kw_err e = kw_msg_decode(&kw_msg_api_versions_resp, sent_ver, &r, ar, &m);
    if (e != KW_ERR_OK) {
        kw_error_set(err, e, "ApiVersions v%d response does not parse: %s", sent_ver,
                     kw_err_str(e));
        err->offset = (int64_t)kw_rd_pos(&r);
        return KWI_APIVER_FAIL;
    }
    if (m.error_code != 0) {
        kw_error_set(err, KW_ERR_BROKER, "ApiVersions v%d failed: broker error %d %s", sent_ver,
                     m.error_code, kw_broker_err_name(m.error_code));
        err->broker_code = m.error_code;
        return KWI_APIVER_FAIL;
    }
    kwi_apiver_select(v, m.api_keys, m.n_api_keys);
    return KWI_APIVER_DONE;
}

const char *
kwi_api_name(int16_t key, char *buf, size_t len)
{
    const kw_msgdef *d = kw_msgdef_by_key(key, false);
    if (d) {
        /* Schema names end in "Request"; cut it off. */
        size_t n = strlen(d->name);
        if (n > 7 && strcmp(d->name + n - 7, "Request") == 0)
            n -= 7;
        snprintf(buf, len, "%.*s", (int)n, d->name);
    } else {
        snprintf(buf, len, "API %d", (int)key);
    }
    return buf;
}

/* Release emulation: the API ranges a Kafka release advertises in ApiVersions.
 *
 * Source: franz-go's pkg/kversion/requests.go (github.com/twmb/franz-go), which rebuilds each
 * release's ApiVersions from the Kafka commits that bumped each API, cross-checked in
 * ../shared/kafka-protocol/README.md sections 3 and 4 (its 4.0.0 column is franz-go's b40()):
 *   - 2.8: the ZooKeeper-mode broker z28() (what a 2.8.0 deployment ran; KRaft was a preview),
 *     i.e. z0.8.0 plus every incmax/addkey up to z28(). Its flexible versions stop where 2.8's
 *     did: Produce 9, Fetch 12, Metadata 11, ApiVersions 3, DescribeCluster 0; no
 *     ConsumerGroupHeartbeat (68) or ConsumerGroupDescribe (69).
 *   - 3.9: the KRaft broker b39() (b28() through b39()): Produce 11, Fetch 17, ListOffsets 9,
 *     Metadata 12, FindCoordinator 6, ApiVersions 4, DescribeCluster 1,
 *     ConsumerGroupHeartbeat 0 (KIP-848 preview), ConsumerGroupDescribe 0.
 *   - 4.0: b40(): KIP-896 floors (Fetch 4, ListOffsets 1, OffsetCommit 2, OffsetFetch 1,
 *     JoinGroup 2, CreateTopics 2, DeleteTopics 1, OffsetForLeaderEpoch 2, DescribeConfigs 1,
 *     ACLs/log dirs/delegation tokens 1) and its bumps (Produce 12, ListOffsets 10,
 *     Metadata 13, DescribeGroups 6, EndTxn 5, TxnOffsetCommit 5, DescribeCluster 2,
 *     ConsumerGroupHeartbeat 1, ConsumerGroupDescribe 1). Produce is advertised from 0 but
 *     served from 3 (KAFKA-18334 kept 0-2 in ApiVersions for librdkafka; KAFKA-18659 rejects
 *     them).
 * Broker-internal APIs (LeaderAndIsr, raft, ...) are left out: the mock serves none of them,
 * and an API the mock does not serve is never advertised whatever the release. */
#include <string.h>

#include "mock_int.h"

typedef struct rel_api {
    int16_t key, min, max;
    int16_t acc_min; /* advertised from min but refused below this (0 = none) */
} rel_api;

/* clang-format off */
static const rel_api v2_8[] = {
    {0, 0, 9, 0},  {1, 0, 12, 0}, {2, 0, 6, 0},  {3, 0, 11, 0}, {8, 0, 8, 0},  {9, 0, 7, 0},
    {10, 0, 3, 0}, {11, 0, 7, 0}, {12, 0, 4, 0}, {13, 0, 4, 0}, {14, 0, 5, 0}, {15, 0, 5, 0},
    {16, 0, 4, 0}, {17, 0, 1, 0}, {18, 0, 3, 0}, {19, 0, 7, 0}, {20, 0, 6, 0}, {21, 0, 2, 0},
    {22, 0, 4, 0}, {23, 0, 4, 0}, {24, 0, 3, 0}, {25, 0, 3, 0}, {26, 0, 3, 0}, {28, 0, 3, 0},
    {29, 0, 2, 0}, {30, 0, 2, 0}, {31, 0, 2, 0}, {32, 0, 4, 0}, {33, 0, 2, 0}, {34, 0, 2, 0},
    {35, 0, 2, 0}, {36, 0, 2, 0}, {37, 0, 3, 0}, {38, 0, 2, 0}, {39, 0, 2, 0}, {40, 0, 2, 0},
    {41, 0, 2, 0}, {42, 0, 2, 0}, {43, 0, 2, 0}, {44, 0, 1, 0}, {45, 0, 0, 0}, {46, 0, 0, 0},
    {47, 0, 0, 0}, {48, 0, 1, 0}, {49, 0, 1, 0}, {50, 0, 0, 0}, {51, 0, 0, 0}, {57, 0, 0, 0},
    {60, 0, 0, 0}, {61, 0, 0, 0},
};

static const rel_api v3_9[] = {
    {0, 0, 11, 0}, {1, 0, 17, 0}, {2, 0, 9, 0},  {3, 0, 12, 0}, {8, 0, 9, 0},  {9, 0, 9, 0},
    {10, 0, 6, 0}, {11, 0, 9, 0}, {12, 0, 4, 0}, {13, 0, 5, 0}, {14, 0, 5, 0}, {15, 0, 5, 0},
    {16, 0, 5, 0}, {17, 0, 1, 0}, {18, 0, 4, 0}, {19, 0, 7, 0}, {20, 0, 6, 0}, {21, 0, 2, 0},
    {22, 0, 5, 0}, {23, 0, 4, 0}, {24, 0, 5, 0}, {25, 0, 4, 0}, {26, 0, 4, 0}, {28, 0, 4, 0},
    {29, 0, 3, 0}, {30, 0, 3, 0}, {31, 0, 3, 0}, {32, 0, 4, 0}, {33, 0, 2, 0}, {34, 0, 2, 0},
    {35, 0, 4, 0}, {36, 0, 2, 0}, {37, 0, 3, 0}, {38, 0, 3, 0}, {39, 0, 2, 0}, {40, 0, 2, 0},
    {41, 0, 3, 0}, {42, 0, 2, 0}, {43, 0, 2, 0}, {44, 0, 1, 0}, {45, 0, 0, 0}, {46, 0, 0, 0},
    {47, 0, 0, 0}, {48, 0, 1, 0}, {49, 0, 1, 0}, {50, 0, 0, 0}, {51, 0, 0, 0}, {55, 0, 2, 0},
    {57, 0, 1, 0}, {60, 0, 1, 0}, {61, 0, 0, 0}, {64, 0, 0, 0}, {65, 0, 0, 0}, {66, 0, 1, 0},
    {68, 0, 0, 0}, {69, 0, 0, 0}, {74, 0, 0, 0}, {75, 0, 0, 0},
};

static const rel_api v4_0[] = {
    {0, 0, 12, 3}, {1, 4, 17, 0}, {2, 1, 10, 0}, {3, 0, 13, 0}, {8, 2, 9, 0},  {9, 1, 9, 0},
    {10, 0, 6, 0}, {11, 2, 9, 0}, {12, 0, 4, 0}, {13, 0, 5, 0}, {14, 0, 5, 0}, {15, 0, 6, 0},
    {16, 0, 5, 0}, {17, 0, 1, 0}, {18, 0, 4, 0}, {19, 2, 7, 0}, {20, 1, 6, 0}, {21, 0, 2, 0},
    {22, 0, 5, 0}, {23, 2, 4, 0}, {24, 0, 5, 0}, {25, 0, 4, 0}, {26, 0, 5, 0}, {28, 0, 5, 0},
    {29, 1, 3, 0}, {30, 1, 3, 0}, {31, 1, 3, 0}, {32, 1, 4, 0}, {33, 0, 2, 0}, {34, 1, 2, 0},
    {35, 1, 4, 0}, {36, 0, 2, 0}, {37, 0, 3, 0}, {38, 1, 3, 0}, {39, 1, 2, 0}, {40, 1, 2, 0},
    {41, 1, 3, 0}, {42, 0, 2, 0}, {43, 0, 2, 0}, {44, 0, 1, 0}, {45, 0, 0, 0}, {46, 0, 0, 0},
    {47, 0, 0, 0}, {48, 0, 1, 0}, {49, 0, 1, 0}, {50, 0, 0, 0}, {51, 0, 0, 0}, {55, 0, 2, 0},
    {57, 0, 2, 0}, {60, 0, 2, 0}, {61, 0, 0, 0}, {64, 0, 0, 0}, {65, 0, 0, 0}, {66, 0, 1, 0},
    {68, 0, 1, 0}, {69, 0, 1, 0}, {74, 0, 0, 0}, {75, 0, 0, 0},
};
/* clang-format on */

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct {
    const char *name;
    const rel_api *apis;
    size_t n;
} releases[] = {
    {"2.8", v2_8, N(v2_8)},
    {"3.9", v3_9, N(v3_9)},
    {"4.0", v4_0, N(v4_0)},
};

static const rel_api *
find(const rel_api *apis, size_t n, int16_t key)
{
    for (size_t i = 0; i < n; i++)
        if (apis[i].key == key)
            return &apis[i];
    return NULL;
}

kw_err
kw_mock_emulate(kw_mock *m, const char *release)
{
    bool latest = !release || !*release || strcmp(release, "latest") == 0;
    size_t r = 0;
    while (!latest && r < N(releases) && strcmp(releases[r].name, release) != 0)
        r++;
    if (!latest && r == N(releases))
        return KW_ERR_NOT_FOUND;
    pthread_mutex_lock(&m->lock);
    for (int16_t k = 0; k < KWI_MOCK_API_MAX; k++) {
        kwi_mock_api *a = &m->apis[k];
        if (!a->fn)
            continue;
        a->adv_min = a->min_ver;
        a->adv_max = a->max_ver;
        a->acc_min = 0;
        if (latest)
            continue;
        const rel_api *ra = find(releases[r].apis, releases[r].n, k);
        a->adv_min = ra ? ra->min : -1;
        a->adv_max = ra ? ra->max : -1;
        a->acc_min = ra ? ra->acc_min : 0;
    }
    pthread_mutex_unlock(&m->lock);
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "emulating Kafka %s", latest ? "latest" : release);
    return KW_ERR_OK;
}

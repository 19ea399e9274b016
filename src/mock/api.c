/* The dispatch table: which APIs the broker serves, over which versions, and what ApiVersions
 * advertises.
 *
 * Each served API has two ranges. The handler's range is what the module can answer (the codec's
 * full range unless the module registered less). The advertised range is what ApiVersions
 * lists; it starts equal and is changed by version emulation (kw_mock_api_versions_set). A
 * request is accepted when its version lies in both, so an emulated broker can advertise versions
 * it will not serve, as Kafka 4.0 does with Produce 0-2 (KAFKA-18659). */
#include <string.h>

#include "mock_int.h"

#define API_VERSIONS_KEY 18

kw_err
kwi_mock_api_register(kw_mock *m, const kw_msgdef *req_def, int16_t min_ver, int16_t max_ver,
                      kwi_mock_handler fn, void *ud)
{
    if (!req_def || req_def->response || req_def->api_key < 0 ||
        req_def->api_key >= KWI_MOCK_API_MAX || !fn)
        return KW_ERR_INVALID_ARG;
    const kw_msgdef *resp_def = kw_msgdef_by_key(req_def->api_key, true);
    if (!resp_def)
        return KW_ERR_INVALID_ARG;
    if (min_ver < 0)
        min_ver = req_def->min_ver;
    if (max_ver < 0)
        max_ver = req_def->max_ver;
    if (min_ver < req_def->min_ver || max_ver > req_def->max_ver || min_ver > max_ver)
        return KW_ERR_INVALID_ARG;
    kwi_mock_api *a = &m->apis[req_def->api_key];
    a->fn = fn;
    a->ud = ud;
    a->req_def = req_def;
    a->resp_def = resp_def;
    a->min_ver = a->adv_min = min_ver;
    a->max_ver = a->adv_max = max_ver;
    return KW_ERR_OK;
}

bool
kwi_mock_api_accepts(const kw_mock *m, int16_t key, int16_t ver)
{
    if (key < 0 || key >= KWI_MOCK_API_MAX)
        return false;
    const kwi_mock_api *a = &m->apis[key];
    return a->fn && a->adv_min >= 0 && ver >= a->adv_min && ver <= a->adv_max &&
           ver >= a->min_ver && ver <= a->max_ver && ver >= a->acc_min;
}

kw_err
kwi_mock_api_list(kw_mock *m, kw_arena *ar, kw_api_version **out, int32_t *n)
{
    int32_t count = 0;
    for (int k = 0; k < KWI_MOCK_API_MAX; k++)
        if (m->apis[k].fn && m->apis[k].adv_min >= 0)
            count++;
    kw_api_version *v = kw_arena_calloc(ar, (size_t)(count ? count : 1), sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    int32_t i = 0;
    for (int k = 0; k < KWI_MOCK_API_MAX; k++) {
        const kwi_mock_api *a = &m->apis[k];
        if (!a->fn || a->adv_min < 0)
            continue;
        v[i].api_key = (int16_t)k;
        v[i].min_version = a->adv_min;
        v[i].max_version = a->adv_max;
        i++;
    }
    *out = v;
    *n = count;
    return KW_ERR_OK;
}

static void
lock(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
}

static void
unlock(kw_mock *m)
{
    pthread_mutex_unlock(&m->lock);
}

kw_err
kw_mock_api_versions_set(kw_mock *m, int16_t api_key, int16_t min, int16_t max)
{
    bool hide = min == -1 && max == -1;
    if (!hide && (min < 0 || max < min))
        return KW_ERR_INVALID_ARG;
    if (!kw_msgdef_by_key(api_key, false) || api_key >= KWI_MOCK_API_MAX)
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_mock_api *a = &m->apis[api_key];
    kw_err e = KW_ERR_NOT_FOUND;
    if (a->fn) {
        a->adv_min = min;
        a->adv_max = max;
        a->acc_min = 0; /* an explicit range replaces a release's (versions.c) */
        e = KW_ERR_OK;
    }
    unlock(m);
    return e;
}

kw_err
kw_mock_api_versions_reset(kw_mock *m, int16_t api_key)
{
    if (api_key < 0 || api_key >= KWI_MOCK_API_MAX)
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_mock_api *a = &m->apis[api_key];
    kw_err e = KW_ERR_NOT_FOUND;
    if (a->fn) {
        a->adv_min = a->min_ver;
        a->adv_max = a->max_ver;
        a->acc_min = 0;
        e = KW_ERR_OK;
    }
    unlock(m);
    return e;
}

/* The table of every message kwire codes, gathered from the API family files. */
#include <string.h>

#include "msgtab.h"

static const kw_msgdef *const *const families[] = {
    kwi_family_meta,    kwi_family_produce, kwi_family_fetch, kwi_family_group,
    kwi_family_offsets, kwi_family_txn,     kwi_family_admin, kwi_family_kip848,
};

const kw_msgdef *
kw_msgdef_at(size_t i)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (size_t k = 0; families[f][k]; k++)
            if (i-- == 0)
                return families[f][k];
    return NULL;
}

const kw_msgdef *
kw_msgdef_by_name(const char *name)
{
    const kw_msgdef *d;
    for (size_t i = 0; (d = kw_msgdef_at(i)); i++)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

const kw_msgdef *
kw_msgdef_by_key(int16_t api_key, bool response)
{
    if (api_key < 0)
        return NULL;
    const kw_msgdef *d;
    for (size_t i = 0; (d = kw_msgdef_at(i)); i++)
        if (d->api_key == api_key && d->response == response)
            return d;
    return NULL;
}

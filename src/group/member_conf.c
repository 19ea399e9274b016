/* The member's configuration from a validated kw_conf: the seam the client layer uses, so the
 * Java/librdkafka property names map to the machine in one place. */
#include <string.h>

#include "group/member.h"
#include "util/conf_int.h"

static int32_t
i32(const kw_conf *c, kwi_conf_id id)
{
    int64_t v = kwi_conf_int(c, id);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* NULL for an unset or empty string: Java treats client.rack "" as unset, and an empty
 * group.instance.id is refused by kwi_conf_validate already. */
static const char *
text(const kw_conf *c, kwi_conf_id id)
{
    const char *s = kwi_conf_str(c, id);
    return s && s[0] ? s : NULL;
}

kw_err
kwi_member_cfg_from_conf(kwi_member_cfg *cfg, const kw_conf *conf, kw_error *err)
{
    kwi_member_cfg_init(cfg);
    cfg->alloc = &conf->a;
    cfg->protocol = kwi_conf_int(conf, KWI_CONF_GROUP_PROTOCOL) == KWI_GROUP_PROTOCOL_CONSUMER
                        ? KWI_MEMBER_CONSUMER
                        : KWI_MEMBER_CLASSIC;
    cfg->group_id = text(conf, KWI_CONF_GROUP_ID);
    cfg->group_instance_id = text(conf, KWI_CONF_GROUP_INSTANCE_ID);
    cfg->client_rack = text(conf, KWI_CONF_CLIENT_RACK);
    cfg->session_timeout_ms = i32(conf, KWI_CONF_SESSION_TIMEOUT_MS);
    cfg->heartbeat_interval_ms = i32(conf, KWI_CONF_HEARTBEAT_INTERVAL_MS);
    cfg->max_poll_interval_ms = i32(conf, KWI_CONF_MAX_POLL_INTERVAL_MS);
    cfg->request_timeout_ms = i32(conf, KWI_CONF_REQUEST_TIMEOUT_MS);
    cfg->retry_backoff_ms = i32(conf, KWI_CONF_RETRY_BACKOFF_MS);
    cfg->retry_backoff_max_ms = i32(conf, KWI_CONF_RETRY_BACKOFF_MAX_MS);
    cfg->remote_assignor = text(conf, KWI_CONF_GROUP_REMOTE_ASSIGNOR);
    if (cfg->protocol == KWI_MEMBER_CONSUMER)
        return KW_ERR_OK; /* partition.assignment.strategy belongs to the classic protocol */
    const char *cur = kwi_conf_str(conf, KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY), *item;
    size_t len;
    while (kwi_conf_list_next(&cur, &item, &len)) {
        const kwi_assignor *as = kwi_assignor_find((kw_slice){(const uint8_t *)item, (int32_t)len});
        const char *bad = !as ? "names an assignor kwire does not have"
                          : cfg->n_assignors == KWI_MEMBER_MAX_ASSIGNORS
                              ? "lists too many assignors"
                              : NULL;
        if (bad) {
            if (err)
                kw_error_set(err, KW_ERR_CONFIG, "partition.assignment.strategy %s: %.*s", bad,
                             (int)len, item);
            return KW_ERR_CONFIG;
        }
        bool dup = false;
        for (size_t i = 0; i < cfg->n_assignors; i++)
            dup |= cfg->assignors[i] == as;
        if (!dup)
            cfg->assignors[cfg->n_assignors++] = as;
    }
    return KW_ERR_OK;
}

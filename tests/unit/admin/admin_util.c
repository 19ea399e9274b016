/* Helpers of the admin tests (admin_util.h). */
#include "admin_util.h"

#include "../../support/mockfix.h"

#include <stdio.h>
#include <string.h>

kw_mock *
kwt_adm_mock(int32_t brokers)
{
    kwt_fx_mock_opts o;
    kwt_fx_mock_opts_init(&o);
    o.conf.brokers = brokers;
    o.conf.default_partitions = 2;
    return kwt_fx_mock(&o);
}

kw_client *
kwt_adm_client(const char *bootstrap)
{
    static const char *const base[] = {"reconnect.backoff.ms=10", "reconnect.backoff.max.ms=100",
                                       "retry.backoff.ms=10", "retry.backoff.max.ms=100", NULL};
    return kwt_fx_client(kwt_fx_conf(NULL, bootstrap, base, NULL), NULL);
}

void
kwt_adm_cb(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    kwt_call *k = ud;
    k->calls++;
    k->err = err;
    k->detail = *detail;
    if (err == KW_ERR_OK) {
        ck_assert_ptr_nonnull(r);
        k->op = r->op;
        if (k->check)
            k->check(r, k->ctx);
    } else {
        ck_assert_ptr_null(r);
    }
}

void
kwt_adm_wait(kw_admin *ad)
{
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_admin_wait(ad, 60000, &err) == KW_ERR_OK, "wait: %s", err.msg);
    ck_assert_uint_eq(kw_admin_outstanding(ad), 0);
}

const char *
kwt_err_tag(const kw_error *e, char *buf, size_t len)
{
    if (e->code == KW_ERR_BROKER)
        snprintf(buf, len, "BROKER:%s", kw_broker_err_name(e->broker_code));
    else
        snprintf(buf, len, "%s", kw_err_name(e->code));
    return buf;
}

/* Helpers of the admin tests (admin_util.h). */
#include "admin_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kw_mock *
kwt_adm_mock(int32_t brokers)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = brokers;
    mc.default_partitions = 2;
    kw_mock *m = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &m, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_thread_start(m, &err), KW_ERR_OK);
    return m;
}

static void
log_stderr(void *ud, kw_log_level level, const char *sub, const char *msg)
{
    (void)ud;
    fprintf(stderr, "[%d %s] %s\n", (int)level, sub, msg);
}

kw_client *
kwt_adm_client(const char *bootstrap)
{
    kw_conf *conf = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    static const char *const kv[][2] = {{"reconnect.backoff.ms", "10"},
                                        {"reconnect.backoff.max.ms", "100"},
                                        {"retry.backoff.ms", "10"},
                                        {"retry.backoff.max.ms", "100"}};
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", bootstrap, &err), KW_ERR_OK);
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        ck_assert_int_eq(kw_conf_set(conf, kv[i][0], kv[i][1], &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "%s", err.msg);
    if (getenv("KWT_LOG"))
        kw_client_set_log(c, KW_LOG_DEBUG, log_stderr, NULL);
    return c;
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

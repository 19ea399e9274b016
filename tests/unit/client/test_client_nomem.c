/* Out of memory at every allocation: creating a client (configuration, event loop, resolver,
 * bootstrap brokers, connections, timers) and a connection, then sending requests, fails with
 * KW_ERR_NOMEM at each point, never crashes, and leaves nothing allocated. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/client.h"
#include "net/conn.h"

typedef struct failing {
    long budget; /* allocations still allowed; negative = unlimited */
    long live;   /* allocations not yet freed */
    size_t bytes;
} failing;

static void *
f_alloc(void *ud, size_t n)
{
    failing *f = ud;
    if (f->budget == 0)
        return NULL;
    if (f->budget > 0)
        f->budget--;
    void *p = malloc(n);
    if (p) {
        f->live++;
        f->bytes += n;
    }
    return p;
}

static void *
f_realloc(void *ud, void *p, size_t old, size_t n)
{
    failing *f = ud;
    if (f->budget == 0)
        return NULL;
    if (f->budget > 0)
        f->budget--;
    void *q = realloc(p, n);
    if (q) {
        if (!p)
            f->live++;
        f->bytes += n - old;
    }
    return q;
}

static void
f_free(void *ud, void *p, size_t n)
{
    failing *f = ud;
    if (!p)
        return;
    f->live--;
    f->bytes -= n;
    free(p);
}

START_TEST(test_client_new_every_allocation_fails)
{
    int succeeded = 0;
    for (long n = 0; n < 2000 && !succeeded; n++) {
        failing f = {n, 0, 0};
        kw_allocator a = {f_alloc, f_realloc, f_free, &f};
        kw_conf *conf = NULL;
        kw_error err;
        if (kw_conf_new(&a, &conf) != KW_ERR_OK)
            continue;
        if (kw_conf_set(conf, "bootstrap.servers", "127.0.0.1:9,[::1]:10,localhost:11", &err) !=
            KW_ERR_OK) {
            kw_conf_free(conf);
            ck_assert_int_eq(f.live, 0);
            continue;
        }
        kw_client *c = NULL;
        kw_err e = kw_client_new(conf, &c, &err);
        if (e == KW_ERR_OK) {
            succeeded = 1;
            kw_client_free(c);
        } else {
            ck_assert_msg(e == KW_ERR_NOMEM, "allocation %ld: %s (%s)", n, kw_err_name(e), err.msg);
            ck_assert_ptr_null(c);
        }
        /* The configuration was the client's in both cases: everything is back. */
        ck_assert_msg(f.live == 0, "allocation %ld: %ld blocks leaked", n, f.live);
        ck_assert_uint_eq(f.bytes, 0);
    }
    ck_assert(succeeded);
}
END_TEST

static int cb_calls;

static void
cb(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    (void)err;
    (void)detail;
    (void)resp;
    (void)ud;
    cb_calls++;
}

START_TEST(test_conn_new_and_send_every_allocation_fails)
{
    kwi_reactor *r;
    ck_assert_int_eq(kwi_reactor_new(NULL, &r), KW_ERR_OK);
    static kw_metadata_req m;
    int done = 0;
    for (long n = 0; n < 200 && !done; n++) {
        failing f = {n, 0, 0};
        kw_allocator a = {f_alloc, f_realloc, f_free, &f};
        kwi_conn_opts o;
        memset(&o, 0, sizeof(o));
        o.reactor = r;
        o.alloc = &a;
        o.host = "127.0.0.1";
        o.port = 9;
        o.client_id = "x";
        kwi_conn *c = NULL;
        kw_err e = kwi_conn_new(&o, &c);
        if (e != KW_ERR_OK) {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_int_eq(f.live, 0);
            continue;
        }
        /* Sends until the allocator runs dry: each accepted request gets its callback (at
         * free, canceled); a refused one never does. */
        int accepted = 0;
        cb_calls = 0;
        kw_error err;
        for (int i = 0; i < 8; i++) {
            e = kwi_conn_send(c, 3, &m, NULL, cb, NULL, &err);
            ck_assert(e == KW_ERR_OK || e == KW_ERR_NOMEM);
            accepted += e == KW_ERR_OK;
        }
        kwi_conn_free(c);
        ck_assert_int_eq(cb_calls, accepted);
        ck_assert_int_eq(f.live, 0);
        done = accepted == 8;
    }
    ck_assert(done);
    kwi_reactor_free(r);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("client_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_client_new_every_allocation_fails);
    tcase_add_test(tc, test_conn_new_and_send_every_allocation_fails);
    suite_add_tcase(s, tc);
    return s;
}

/* Out of memory in the consumer: creating one fails cleanly at every allocation; and with the
 * allocator failing from the n-th allocation on while records are fetched, parsed, buffered
 * and handed out (chunks, requests, scratch vectors, the connection's buffers), the consumer
 * never crashes, and once memory is back every record arrives exactly once and in order;
 * freeing leaves nothing allocated. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_util.h"

typedef struct failing {
    long budget; /* allocations still allowed; negative = unlimited */
    long live;   /* allocations not yet freed */
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
    if (p)
        f->live++;
    return p;
}

static void *
f_realloc(void *ud, void *p, size_t old, size_t n)
{
    (void)old;
    failing *f = ud;
    if (f->budget == 0)
        return NULL;
    if (f->budget > 0)
        f->budget--;
    void *q = realloc(p, n);
    if (q && !p)
        f->live++;
    return q;
}

static void
f_free(void *ud, void *p, size_t n)
{
    (void)n;
    failing *f = ud;
    if (!p)
        return;
    f->live--;
    free(p);
}

static kw_mock *mock;

static void
setup(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = 2;
    kw_error err;
    ck_assert_int_eq(kw_mock_new(&mc, &mock, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(mock, "t", 3, 2, &err), KW_ERR_OK);
    for (int32_t part = 0; part < 3; part++)
        kwt_append(mock, "t", part, 0, 40, 1000);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
}

static kw_client *
client(failing *f, kw_allocator *a)
{
    a->alloc = f_alloc;
    a->realloc = f_realloc;
    a->free = f_free;
    a->ud = f;
    kw_conf *conf = NULL;
    kw_error err;
    long saved = f->budget;
    f->budget = -1;
    ck_assert_int_eq(kw_conf_new(a, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", kw_mock_bootstrap(mock), &err),
                     KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.ms", "5", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.max.ms", "20", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.ms", "5", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.max.ms", "20", &err), KW_ERR_OK);
    /* Small fetches, so a run has many responses to fail in. */
    ck_assert_int_eq(kw_conf_set(conf, "max.partition.fetch.bytes", "600", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "fetch.max.wait.ms", "20", &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_int_eq(kw_client_new(conf, &c, &err), KW_ERR_OK);
    kwt_debug_log(c);
    f->budget = saved;
    return c;
}

START_TEST(test_consumer_new_every_allocation_fails)
{
    bool made = false;
    for (long n = 0; n < 200 && !made; n++) {
        failing f = {-1, 0};
        kw_allocator a;
        kw_client *c = client(&f, &a);
        f.budget = n;
        kw_consumer *k = NULL;
        kw_error err;
        kw_err e = kw_consumer_new(c, NULL, &k, &err);
        f.budget = -1;
        if (e == KW_ERR_OK) {
            made = true;
            kw_consumer_free(k);
        } else {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_ptr_null(k);
        }
        kw_client_free(c);
        ck_assert_int_eq(f.live, 0);
    }
    ck_assert(made);
}
END_TEST

START_TEST(test_running_out_of_memory_while_consuming)
{
    for (long n = 0; n < 300; n += 7) {
        failing f = {-1, 0};
        kw_allocator a;
        kw_client *c = client(&f, &a);
        kw_consumer *k = kwt_consumer(c);
        kwt_assign_all(k, "t", 3, KW_OFFSET_BEGINNING);
        kwt_got g;
        kwt_got_init(&g);
        /* Warm up with memory: connections, metadata, the first responses. */
        ck_assert_uint_eq(kwt_poll_until(k, &g, 6, 6, KWT_CONS_DEADLINE_MS), 6);
        int64_t next[3];
        /* A partition still resolving its start (KW_OFFSET_INVALID) starts at 0: the log
         * starts there and it was assigned at the beginning. */
        for (int32_t part = 0; part < 3; part++) {
            ck_assert_int_eq(kw_consumer_position(k, "t", part, &next[part], NULL), KW_ERR_OK);
            if (next[part] < 0)
                next[part] = 0;
        }
        f.budget = n;
        kw_consumer_msg *m[16];
        int64_t end = kwt_mono_ms() + 60;
        while (kwt_mono_ms() < end) {
            size_t got = 0;
            kw_err e = kw_consumer_poll(k, m, 4, 5, &got, NULL);
            ck_assert(e == KW_ERR_OK || e == KW_ERR_NOMEM);
            /* What comes out while memory runs short is still in order, without gaps. */
            for (size_t i = 0; i < got; i++) {
                KWT_CHECK(m[i]->err == KW_ERR_OK, "n=%ld: in-band %s", n, m[i]->errstr);
                int32_t part = m[i]->partition;
                KWT_CHECK(m[i]->offset == next[part], "n=%ld: [%d] offset %lld, want %lld", n, part,
                          (long long)m[i]->offset, (long long)next[part]);
                next[part]++;
            }
            kw_consumer_msgs_release(m, got);
        }
        f.budget = -1; /* memory is back */
        int64_t pos[3];
        for (int32_t part = 0; part < 3; part++) {
            ck_assert_int_eq(kw_consumer_position(k, "t", part, &pos[part], NULL), KW_ERR_OK);
            if (pos[part] < 0)
                pos[part] = 0;
            ck_assert_int_eq(pos[part], next[part]);
        }
        size_t left = (size_t)(120 - pos[0] - pos[1] - pos[2]);
        kwt_got rest;
        kwt_got_init(&rest);
        ck_assert_msg(kwt_poll_until(k, &rest, left, 50, KWT_CONS_DEADLINE_MS) == left,
                      "n=%ld: fewer than %zu records after memory came back", n, left);
        ck_assert_uint_eq(kwt_poll_for(k, &rest, 30), 0);
        for (int32_t part = 0; part < 3; part++)
            kwt_check_stored(mock, &rest, "t", part, pos[part], (size_t)(40 - pos[part]));
        kwt_got_fini(&rest);
        kwt_got_fini(&g);
        kw_consumer_free(k);
        kw_client_free(c);
        ck_assert_msg(f.live == 0, "n=%ld: %ld allocations leaked", n, f.live);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_consumer_new_every_allocation_fails);
    tcase_add_test(tc, test_running_out_of_memory_while_consuming);
    suite_add_tcase(s, tc);
    return s;
}

/* Out of memory in the producer: creating one fails cleanly at every allocation; and with the
 * allocator failing from the n-th allocation on while records are sent and delivered (batches,
 * requests, metadata calls, the producer id, the connection's buffers), every record that
 * kw_producer_send accepted still gets exactly one report once memory is back, nothing
 * crashes, and freeing leaves nothing allocated. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mock.h"
#include "prod_util.h"

typedef struct failing {
    long budget; /* allocations still allowed; negative = unlimited */
    long live;   /* allocations not yet freed */
    long bytes;  /* bytes not yet freed */
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
        f->bytes += (long)n;
    }
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
    if (q)
        f->bytes += (long)n - (p ? (long)old : 0);
    return q;
}

static void
f_free(void *ud, void *p, size_t n)
{
    failing *f = ud;
    if (!p)
        return;
    f->bytes -= (long)n;
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
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
}

/* Extra settings for the next client(): key, value, ..., NULL. */
static const char *const *client_extra;

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
    ck_assert_int_eq(kw_conf_set(conf, "linger.ms", "1", &err), KW_ERR_OK);
    for (int i = 0; client_extra && client_extra[i]; i += 2)
        ck_assert_int_eq(kw_conf_set(conf, client_extra[i], client_extra[i + 1], &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_int_eq(kw_client_new(conf, &c, &err), KW_ERR_OK);
    kwt_debug_log(c);
    f->budget = saved;
    return c;
}

START_TEST(test_producer_new_every_allocation_fails)
{
    bool made = false;
    for (long n = 0; n < 200 && !made; n++) {
        failing f = {-1, 0, 0};
        kw_allocator a;
        kw_client *c = client(&f, &a);
        f.budget = n;
        kw_producer *p = NULL;
        kw_error err;
        kw_err e = kw_producer_new(c, NULL, &p, &err);
        f.budget = -1;
        if (e == KW_ERR_OK) {
            made = true;
            kw_producer_free(p);
        } else {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_ptr_null(p);
        }
        kw_client_free(c);
        ck_assert_int_eq(f.live, 0);
    }
    ck_assert(made);
}
END_TEST

START_TEST(test_running_out_of_memory_while_sending)
{
    for (long n = getenv("KWT_N") ? atol(getenv("KWT_N")) : 0; n < 400; n += 3) {
        failing f = {-1, 0, 0};
        kw_allocator a;
        kw_client *c = client(&f, &a);
        kwt_drs d;
        kwt_drs_init(&d, 61);
        kw_producer *p = kwt_producer(c, &d);
        /* Warm up with memory (connections, metadata, producer id): the client runtime's own
         * out-of-memory paths are tested in tests/unit/client. */
        kwt_send(p, "t", KW_PARTITION_ANY, 60, true);
        kwt_drain(p, &d, 1);
        f.budget = n;
        uint32_t accepted = 1;
        for (uint32_t i = 0; i < 60; i++) {
            char k[16], v[16];
            snprintf(k, sizeof(k), "k%u", i);
            snprintf(v, sizeof(v), "v%u", i);
            kw_message m;
            kw_message_init(&m);
            m.topic = "t";
            m.key = kw_slice_str(k);
            m.value = kw_slice_str(v);
            m.opaque = (void *)(uintptr_t)(i + 1);
            kw_error err;
            kw_err e = kw_producer_send(p, &m, &err);
            ck_assert(e == KW_ERR_OK || e == KW_ERR_NOMEM);
            if (e == KW_ERR_OK)
                accepted++;
            else
                d.v[i].calls = -100; /* no report may come for it */
            if (i % 10 == 9)
                kw_client_step(c, 2, NULL);
        }
        kwt_step_for(c, 30);
        f.budget = -1; /* memory is back: everything accepted completes */
        int64_t end = kwt_mono_ms() + KWT_PROD_DEADLINE_MS;
        while (d.reports < accepted) {
            ck_assert_msg(kwt_mono_ms() < end, "n=%ld: %zu of %u reports", n, d.reports, accepted);
            kw_client_step(c, 10, NULL);
        }
        for (uint32_t i = 0; i < 61; i++)
            ck_assert(d.v[i].calls == 1 || d.v[i].calls == -100);
        ck_assert_uint_eq(kw_producer_outstanding(p), 0);
        kw_producer_free(p);
        kw_client_free(c);
        ck_assert_msg(f.live == 0, "n=%ld: %ld allocations leaked", n, f.live);
        kwt_drs_fini(&d);
    }
}
END_TEST

/* Freed batches are kept for reuse, but with a large batch.size 64 of them could hold 64
 * MB outside buffer.memory: the pool holds at most a quarter of buffer.memory. 24 records of
 * 150 KB to one partition with batch.size=1000000 make four batches of about 1 MB each; once
 * every one is delivered the producer holds at most a 1 MB pool (without the bound, all four). */
START_TEST(test_batch_pool_bounded_by_buffer_memory)
{
    failing f = {-1, 0, 0};
    kw_allocator a;
    static const char *const extra[] = {"batch.size", "1000000", "buffer.memory", "4194304", NULL};
    client_extra = extra;
    kw_client *c = client(&f, &a);
    client_extra = NULL;
    kw_error err;
    kw_error_init(&err);
    kwt_drs d;
    kwt_drs_init(&d, 64);
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = kwt_dr_cb;
    o.delivery_ud = &d;
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(c, &o, &p, &err), KW_ERR_OK);
    kwt_send(p, "t", 0, 0, true); /* connections and metadata are set up */
    kwt_drain(p, &d, 1);
    static uint8_t big[150000];
    memset(big, 'v', sizeof(big));
    for (uint32_t i = 0; i < 24; i++) {
        kw_message m;
        kw_message_init(&m);
        m.topic = "t";
        m.partition = 0;
        m.value = (kw_slice){big, (int32_t)sizeof(big)};
        m.opaque = (void *)(uintptr_t)(i + 2); /* report i + 1 (kwt_send's was 0) */
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    }
    kwt_drain(p, &d, 25);
    ck_assert_uint_eq(d.ok, 25);
    /* What freeing the producer gives back is its pool plus its small structures. */
    long held = f.bytes;
    kw_producer_free(p);
    ck_assert_msg(held - f.bytes <= 1048576 + 65536, "the producer held %ld bytes after delivery",
                  held - f.bytes);
    kw_client_free(c);
    ck_assert_int_eq(f.live, 0);
    kwt_drs_fini(&d);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("producer_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_producer_new_every_allocation_fails);
    tcase_add_test(tc, test_running_out_of_memory_while_sending);
    tcase_add_test(tc, test_batch_pool_bounded_by_buffer_memory);
    suite_add_tcase(s, tc);
    return s;
}

/* The ways of driving the bus and its lifecycle against an in-process kwire-mock: shutdown
 * under load ends within its timeout and a restart in the same group resumes exactly at the
 * committed offsets (nothing lost); the caller's own epoll loop through kw_bus_fd /
 * kw_bus_timeout_ms / kw_bus_step; the background thread while another thread publishes and
 * a handler publishes follow-up events; Prometheus text with the exact counts. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "busrt_util.h"

#define NP     4
#define MAXOFF 512

typedef struct lc {
    atomic_int handled;
    /* per bus (0, 1), per partition, per offset: handled how many times */
    unsigned char hits[2][NP][MAXOFF];
    int64_t first[2][NP]; /* first offset each bus handled per partition */
    int which;
    int sleep_us;
    atomic_int shipped;
} lc;

static lc L;

static int
rec_handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
            void *ud)
{
    (void)bus;
    (void)ev;
    (void)fail;
    (void)ud;
    if (mi->partition < NP && mi->offset < MAXOFF) {
        if (L.first[L.which][mi->partition] < 0)
            L.first[L.which][mi->partition] = mi->offset;
        L.hits[L.which][mi->partition][mi->offset]++;
    }
    if (L.sleep_us) {
        struct timespec ts = {0, L.sleep_us * 1000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&L.handled, 1);
    return 0;
}

static void
wait_handled(int n)
{
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    while (atomic_load(&L.handled) < n) {
        ck_assert_msg(brt_now_ms() < end, "only %d of %d handled", atomic_load(&L.handled), n);
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void
publish_n(kw_bus *bus, int n, int agg_mod)
{
    kw_bus_event ev[50];
    char pay[50][64];
    for (int base = 0; base < n; base += 50) {
        int k = n - base < 50 ? n - base : 50;
        for (int i = 0; i < k; i++)
            brt_event(&ev[i], "OrderCreated", (uint32_t)((base + i) % agg_mod), base + i + 1,
                      pay[i], sizeof(pay[i]));
        kw_error err;
        kw_error_init(&err);
        ck_assert_msg(kw_bus_publish(bus, ev, (size_t)k, NULL, 30000, &err) == KW_ERR_OK, "%s",
                      err.msg);
    }
}

START_TEST(shutdown_under_load_then_restart_resumes)
{
    memset(&L, 0, sizeof(L));
    memset(L.first, 0xff, sizeof(L.first));
    kw_mock *m = brt_mock(NP, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "life", "g-life");
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", rec_handler, NULL, &err), KW_ERR_OK);
    enum { N = 400 };
    publish_n(bus, N, 16);
    L.sleep_us = 2000; /* slow handlers: a shutdown always finds work in progress */
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_OK);
    wait_handled(60);
    int64_t t0 = brt_now_ms();
    ck_assert_msg(kw_bus_shutdown(bus, 3000, &err) == KW_ERR_OK, "%s", err.msg);
    int64_t took = brt_now_ms() - t0;
    ck_assert_msg(took <= 3000 + 1000, "shutdown took %lld ms with a 3000 ms budget",
                  (long long)took);
    int handled1 = atomic_load(&L.handled);
    ck_assert_int_lt(handled1, N);
    kw_bus_free(bus);

    /* What was committed is exactly the contiguous prefix handled on each partition. */
    int64_t co[NP];
    for (int p = 0; p < NP; p++) {
        co[p] = -1;
        kw_mock_committed_offset(m, "g-life", "life.stream", p, &co[p], NULL);
        for (int64_t o = 0; o < co[p]; o++)
            ck_assert_msg(L.hits[0][p][o] == 1, "p%d offset %lld committed, not handled", p,
                          (long long)o);
    }

    /* Restart in the same group: resumes at the committed offsets, and everything ends up
     * handled. */
    L.which = 1;
    L.sleep_us = 0;
    bus = brt_bus(&c);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", rec_handler, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_OK);
    int total = 0;
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    for (;;) {
        total = 0;
        for (int p = 0; p < NP; p++) {
            kw_mock_partition_info pi;
            kw_mock_partition_info_get(m, "life.stream", p, &pi);
            for (int64_t o = 0; o < pi.high_watermark; o++)
                total += (L.hits[0][p][o] || L.hits[1][p][o]);
        }
        if (total == N)
            break;
        ck_assert_msg(brt_now_ms() < end, "%d of %d handled after the restart", total, N);
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(kw_bus_shutdown(bus, 10000, &err), KW_ERR_OK);
    for (int p = 0; p < NP; p++) {
        kw_mock_partition_info pi;
        kw_mock_partition_info_get(m, "life.stream", p, &pi);
        if (co[p] < pi.high_watermark)
            ck_assert_int_eq(L.first[1][p], co[p] < 0 ? 0 : co[p]);
        else
            ck_assert_int_eq(L.first[1][p], -1); /* nothing left there */
    }
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(own_epoll_loop)
{
    memset(&L, 0, sizeof(L));
    memset(L.first, 0xff, sizeof(L.first));
    kw_mock *m = brt_mock(2, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "loop", "g-loop");
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_new(&c, NULL, &bus, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_fd(bus), -1);
    ck_assert_int_eq(kw_bus_step(bus, 0, &err), KW_ERR_STATE); /* not connected */
    ck_assert_int_eq(kw_bus_connect(bus, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", rec_handler, NULL, &err), KW_ERR_OK);
    publish_n(bus, 30, 5);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN};
    ck_assert_int_ge(kw_bus_fd(bus), 0);
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, kw_bus_fd(bus), &e), 0);
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    while (atomic_load(&L.handled) < 30) {
        ck_assert(brt_now_ms() < end);
        int t = kw_bus_timeout_ms(bus);
        struct epoll_event out;
        epoll_wait(ep, &out, 1, t < 0 || t > 100 ? 100 : t);
        ck_assert_int_eq(kw_bus_step(bus, 0, &err), KW_ERR_OK);
    }
    close(ep);
    ck_assert_int_eq(kw_bus_shutdown(bus, 10000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_step(bus, 0, &err), KW_ERR_STATE); /* shut down */
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

/* On OrderCreated, publish OrderShipped for the same order from inside the handler (on the
 * background thread), waiting for its acknowledgement. */
static int
ship_handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
             void *ud)
{
    (void)mi;
    (void)ud;
    kw_bus_event out = *ev;
    kw_uuid_v4(&out.event_id);
    out.event_type = "OrderShipped";
    out.aggregate_version = ev->aggregate_version + 1000;
    out.causation_id = ev->event_id;
    kw_error err;
    kw_error_init(&err);
    if (kw_bus_publish(bus, &out, 1, NULL, 10000, &err) != KW_ERR_OK) {
        kw_bus_failure_set(fail, "PublishError", "%s", err.msg);
        return 1;
    }
    return 0;
}

static int
shipped_handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi,
                kw_bus_failure *fail, void *ud)
{
    (void)bus;
    (void)ev;
    (void)mi;
    (void)fail;
    (void)ud;
    atomic_fetch_add(&L.shipped, 1);
    return 0;
}

static void *
publisher(void *arg)
{
    publish_n(arg, 50, 7);
    return NULL;
}

START_TEST(background_with_publishing_threads)
{
    memset(&L, 0, sizeof(L));
    kw_mock *m = brt_mock(3, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "bg", "g-bg");
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", ship_handler, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", shipped_handler, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_STATE);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, publisher, bus), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    while (atomic_load(&L.shipped) < 100) {
        ck_assert_msg(brt_now_ms() < end, "%d of 100 follow-ups", atomic_load(&L.shipped));
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(kw_bus_shutdown(bus, 10000, &err), KW_ERR_OK);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.events_published, 200);
    ck_assert_uint_eq(st.events_consumed, 200);
    ck_assert_uint_eq(st.events_processed_success, 200);
    char text[65536];
    size_t len = sizeof(text);
    ck_assert_int_eq(kw_bus_metrics_prometheus(kw_bus_metrics_of(bus), text, &len), KW_ERR_OK);
    ck_assert_msg(strstr(text, "kafka_eventbus_messages_published_total{messaging_destination="
                               "\"bg.stream\",event_type=\"OrderShipped\"} 100\n") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "kafka_eventbus_messages_published_total{messaging_destination="
                               "\"bg.stream\",event_type=\"OrderCreated\"} 100\n") != NULL,
                  "%s", text);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_lifecycle");
    /* One case per test, so CK_RUN_CASE runs one alone. */
    TCase *tc_shutdown_under_load_then_restart_resumes =
        tcase_create("shutdown_under_load_then_restart_resumes");
    tcase_set_timeout(tc_shutdown_under_load_then_restart_resumes, 120);
    tcase_add_test(tc_shutdown_under_load_then_restart_resumes,
                   shutdown_under_load_then_restart_resumes);
    suite_add_tcase(s, tc_shutdown_under_load_then_restart_resumes);
    TCase *tc_own_epoll_loop = tcase_create("own_epoll_loop");
    tcase_set_timeout(tc_own_epoll_loop, 120);
    tcase_add_test(tc_own_epoll_loop, own_epoll_loop);
    suite_add_tcase(s, tc_own_epoll_loop);
    TCase *tc_background_with_publishing_threads =
        tcase_create("background_with_publishing_threads");
    tcase_set_timeout(tc_background_with_publishing_threads, 120);
    tcase_add_test(tc_background_with_publishing_threads, background_with_publishing_threads);
    suite_add_tcase(s, tc_background_with_publishing_threads);
    return s;
}

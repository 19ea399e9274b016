/* The bus over SASL_SSL with SCRAM-SHA-512 against an in-process kwire-mock whose listener
 * requires TLS (a throwaway PKI: tests/unit/mock/pki_util.h) and SCRAM logins: connect and
 * create topics, publish and consume, the DLQ tools on their own clients; a wrong password
 * and an untrusted CA fail to connect with clear errors. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busrt_util.h"
#include "kw_config.h"
#include "kwire/mock_security.h"
#include "../mock/pki_util.h"

static atomic_int handled;

static int
handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
        void *ud)
{
    (void)bus;
    (void)mi;
    (void)ud;
    atomic_fetch_add(&handled, 1);
    if (ev->aggregate_version == 3) {
        kw_bus_failure_set(fail, "Nope", "version 3 always fails");
        return 1;
    }
    return 0;
}

static kw_mock *
secure_mock(void)
{
    kw_mock *m = brt_mock(2, false);
    kw_mock_tls_conf t;
    kw_mock_tls_conf_init(&t);
    t.cert_file = pki_path("server.pem");
    t.key_file = pki_path("server.key");
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_tls_set(m, 0, &t, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "SCRAM-SHA-512", "svc-orders", "s3cr3t!", &err),
                     KW_ERR_OK);
    return m;
}

static void
secure_config(kw_bus_config *c, kw_mock *m, const char *password)
{
    brt_config(c, kw_mock_bootstrap(m), "sec", "g-sec");
    snprintf(c->security_protocol, sizeof(c->security_protocol), "SASL_SSL");
    snprintf(c->sasl_mechanism, sizeof(c->sasl_mechanism), "SCRAM-SHA-512");
    snprintf(c->sasl_username, sizeof(c->sasl_username), "svc-orders");
    snprintf(c->sasl_password, sizeof(c->sasl_password), "%s", password);
    snprintf(c->ssl_cafile, sizeof(c->ssl_cafile), "%s", pki_path("ca.pem"));
    c->max_retries = 1;
}

static bool
dlq_one(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return st.messages_sent_to_dlq == 1 && st.events_processed_success == 4;
}

START_TEST(sasl_ssl_scram_512)
{
    atomic_store(&handled, 0);
    kw_mock *m = secure_mock();
    kw_bus_config c;
    secure_config(&c, m, "s3cr3t!");
    kw_bus *bus = brt_bus(&c); /* CreateTopics over the secure listener */
    ck_assert_int_eq(kw_mock_topic_partitions(m, "sec.stream"), 2);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", handler, NULL, &err), KW_ERR_OK);
    kw_bus_event ev[5];
    char pay[5][64];
    for (int i = 0; i < 5; i++)
        brt_event(&ev[i], "OrderCreated", (uint32_t)i, i + 1, pay[i], sizeof(pay[i]));
    ck_assert_msg(kw_bus_publish(bus, ev, 5, NULL, 30000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    brt_until(bus, dlq_one, bus, "4 events handled and 1 in the DLQ");
    ck_assert_int_eq(atomic_load(&handled), 6); /* version 3: first attempt + 1 retry */
    int64_t n = 0;
    ck_assert_msg(kw_bus_get_dlq_message_count(bus, 10000, &n, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1);
    kw_bus_dlq_list l;
    ck_assert_int_eq(kw_bus_get_dlq_messages(bus, 5, 10000, &l, &err), KW_ERR_OK);
    ck_assert_uint_eq(l.n, 1);
    kw_bus_dlq_list_free(&l);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(wrong_password_and_untrusted_ca)
{
    kw_mock *m = secure_mock();
    kw_bus_config c;
    secure_config(&c, m, "wrong");
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_new(&c, NULL, &bus, &err), KW_ERR_OK);
    kw_err e = kw_bus_connect(bus, 5000, &err);
    ck_assert_msg(e != KW_ERR_OK, "connected with a wrong password");
    ck_assert_msg(strstr(err.msg, "uthentication") != NULL, "%d %s", e, err.msg);
    ck_assert_msg(strstr(err.msg, "wrong") == NULL, "the password leaked: %s", err.msg);
    kw_bus_free(bus);
    secure_config(&c, m, "s3cr3t!");
    snprintf(c.ssl_cafile, sizeof(c.ssl_cafile), "%s", pki_path("rogue.pem"));
    ck_assert_int_eq(kw_bus_new(&c, NULL, &bus, &err), KW_ERR_OK);
    ck_assert_int_ne(kw_bus_connect(bus, 5000, &err), KW_ERR_OK);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
#if !KW_HAVE_TLS
    fprintf(stderr, "SKIP: bus_security: kwire was built without TLS\n");
    exit(77);
#endif
    const char *const version[] = {"openssl", "version", NULL};
    if (pki_run(version, NULL, NULL, 30) != 0) {
        fprintf(stderr, "SKIP: bus_security: the openssl command is not installed\n");
        exit(77);
    }
    if (!pki_make()) {
        pki_remove();
        exit(1);
    }
    Suite *s = suite_create("bus_security");
    TCase *tc = tcase_create("security");
    tcase_add_unchecked_fixture(tc, NULL, pki_remove);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sasl_ssl_scram_512);
    tcase_add_test(tc, wrong_password_and_untrusted_ca);
    suite_add_tcase(s, tc);
    return s;
}

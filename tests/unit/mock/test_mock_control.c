/* kwire-mock's control channel (kw_mock_command): every command's answer line and its effect,
 * seen through the C API or on the wire; malformed commands answered "error: ..." with nothing
 * changed; quit. */
#include <stdio.h>

#include "fault_util.h"
#include "kw_config.h"

static char g_out[1200];

static kw_err
cmd(kw_mock *m, const char *line)
{
    return kw_mock_command(m, line, g_out, sizeof(g_out));
}

/* The command answers "ok..." (the message names the command when it does not). */
static void
ok(kw_mock *m, const char *line)
{
    ck_assert_msg(cmd(m, line) == KW_ERR_OK, "%s -> %s", line, g_out);
    ck_assert_msg(strncmp(g_out, "ok", 2) == 0, "%s -> %s", line, g_out);
}

/* The command answers "error: ...". */
static void
fails(kw_mock *m, const char *line)
{
    ck_assert_msg(cmd(m, line) != KW_ERR_OK, "%s -> %s", line, g_out);
    ck_assert_msg(strncmp(g_out, "error: ", 7) == 0, "%s -> %s", line, g_out);
}

START_TEST(test_topics_and_data)
{
    kw_mock *m = fu_mock(2, NULL);
    ok(m, "create t 3 2");
    ck_assert_int_eq(kw_mock_topic_partitions(m, "t"), 3);
    fails(m, "create t 3");
    ck_assert_str_eq(g_out, "error: topic t already exists");
    fails(m, "create u 0");
    fails(m, "create u 1 3"); /* more replicas than brokers */
    ok(m, "create u");
    ok(m, "produce t 1 key value");
    ck_assert_str_eq(g_out, "ok 0");
    ok(m, "produce t 1 - second");
    ck_assert_str_eq(g_out, "ok 1");
    fails(m, "produce t 9 k v");
    ok(m, "leader t 1 2");
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 1, &pi), KW_ERR_OK);
    ck_assert_int_eq(pi.leader, 2);
    ck_assert_int_eq(pi.high_watermark, 2);
    fails(m, "leader t 1 3");
    fails(m, "leader nope 0 1");
    ok(m, "delete u");
    ck_assert_int_eq(kw_mock_topic_partitions(m, "u"), -1);
    fails(m, "delete u");
    ok(m, "bootstrap");
    char want[128];
    snprintf(want, sizeof(want), "ok %s", kw_mock_bootstrap(m));
    ck_assert_str_eq(g_out, want);
    ok(m, "coordinator group g 2");
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, "g"), 2);
    ok(m, "coordinator transaction tx 1");
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_TXN, "tx"), 1);
    fails(m, "coordinator group g 5");
    fails(m, "coordinator share g 1");
    kw_mock_free(m);
}
END_TEST

START_TEST(test_faults)
{
    kw_mock *m = fu_mock(2, NULL);
    ok(m, "create t 1");
    ok(m, "leader t 0 1");
    /* error: by name and by number, on a broker and cluster-wide; checked on the wire. */
    ok(m, "error 1 Metadata UNKNOWN_TOPIC_OR_PARTITION");
    ok(m, "errors 0 3 0 6");
    fails(m, "error 1 Metadata NO_SUCH_ERROR");
    fails(m, "error 1 NoSuchApi 6");
    fails(m, "error 3 Metadata 6");
    fails(m, "error 1 127 6"); /* no error answer for an unknown API */
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    kw_metadata_resp r;
    uint8_t *f;
    static const int16_t want[] = {3, 0, 6, 0};
    for (int i = 0; i < 4; i++) {
        int32_t corr = fu_send_metadata(c, 12, "t", &t, &rq);
        mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f);
        ck_assert_int_eq(r.topics[0].error_code, want[i]);
        free(f);
    }
    /* drop, rtt, chunk, trickle, hostile, clear, down, up: answered and in effect. */
    ok(m, "drop 1 Metadata");
    fu_send_metadata(c, 12, "t", &t, &rq);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    ok(m, "drop 1 any 3");
    fails(m, "drop 1 Metadata -1");
    ok(m, "rtt 0 5");
    ok(m, "chunk 2 100 1");
    ok(m, "trickle 2");
    ok(m, "trickle 2 50");
    fails(m, "chunk 2 100");
    ok(m, "hostile 1 length");
    ok(m, "hostile 1 length -7 api ApiVersions");
#if KW_HAVE_ZLIB
    ok(m, "hostile 1 bomb gzip");
#else
    fails(m, "hostile 1 bomb gzip"); /* no zlib: no gzip bomb */
#endif
    ok(m, "hostile 1 bomb zstd");
    ok(m, "hostile 1 array 9 api 3");
    ok(m, "hostile 2 silent");
    fails(m, "hostile 1 bomb 9");
    fails(m, "hostile 1 nonsense");
    fails(m, "hostile 1 length api");
    ok(m, "clear all");
    c = mc_connect(m, 1, false);
    int32_t corr = fu_send_metadata(c, 12, "t", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f); /* nothing armed any more */
    free(f);
    mc_close(c);
    ok(m, "down 2");
    c = mc_connect(m, 1, false); /* broker 1 is fine */
    mc_close(c);
    ok(m, "up 2");
    c = mc_connect(m, 2, false);
    fu_send_api_versions(c, 3);
    size_t len;
    f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    mc_close(c);
    kw_arena_fini(&ar);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_versions_sasl_and_syntax)
{
    kw_mock *m = fu_mock(1, NULL);
    ok(m, "emulate 2.8");
    fails(m, "emulate 0.8");
    ok(m, "apiversion Produce 3 7");
    ok(m, "apiversion 0 reset");
    fails(m, "apiversion Produce 7 3");
    fails(m, "apiversion Produce x 3");
    ok(m, "emulate latest");
    ok(m, "sasl SCRAM-SHA-256 u p");
    fails(m, "sasl MD5 u p");
    fails(m, "sasl PLAIN u");
    /* Syntax. */
    fails(m, "");
    fails(m, "   ");
    fails(m, "nosuch 1");
    ck_assert_str_eq(g_out, "error: unknown command nosuch (try help)");
    fails(m, "rtt 1");
    ck_assert_str_eq(g_out, "error: usage: rtt <broker|0> <ms>");
    fails(m, "rtt 1 12x");
    fails(m, "a b c d e f g h i j k l m n o p q");
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fails(m, big);
    ok(m, "help");
    ck_assert_ptr_nonnull(strstr(g_out, "hostile <broker> <kind>"));
    ck_assert_int_eq(cmd(m, "quit"), KW_ERR_CANCELED);
    ck_assert_str_eq(g_out, "ok");
    /* A tiny or absent answer buffer is not overrun. */
    char small[4];
    ck_assert_int_eq(kw_mock_command(m, "bootstrap", small, sizeof(small)), KW_ERR_OK);
    ck_assert_str_eq(small, "ok ");
    ck_assert_int_eq(kw_mock_command(m, "nosuch", NULL, 0), KW_ERR_INVALID_ARG);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_control");
    TCase *tc = tcase_create("control");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_topics_and_data);
    tcase_add_test(tc, test_faults);
    tcase_add_test(tc, test_versions_sasl_and_syntax);
    suite_add_tcase(s, tc);
    return s;
}

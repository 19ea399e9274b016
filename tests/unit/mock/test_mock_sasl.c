/* kwire-mock's SASL server: the SCRAM server against RFC 7677's published exchange and PLAIN
 * message checks (pure functions); then, over real sockets with codec-built frames and kwire's
 * own client mechanisms (src/net/sasl.h) on the other side: PLAIN, SCRAM-SHA-256 and
 * SCRAM-SHA-512 through SaslHandshake v1 + SaslAuthenticate v0-2 and through the raw token
 * framing of SaslHandshake v0; what an unauthenticated connection may send; a wrong password
 * (SASL_AUTHENTICATION_FAILED with Kafka's message, then the close; raw framing: just the
 * close); an unknown mechanism; the session lifetime on a virtual clock, its expiry and a
 * KIP-368 re-authentication; and the SASL APIs on a connection without SASL. */
#include <stdio.h>

#include "fault_util.h"
#include "mock/mock_sec.h"
#include "net/sasl.h"
#include "util/base64.h"

/* ---------------------------------------------------------------- pure mechanisms */

static const kwi_mock_scram_cred *
one_cred(void *ud, const char *user, size_t len)
{
    return len == 4 && memcmp(user, "user", 4) == 0 ? ud : NULL;
}

static kwi_mock_sasl_rc
scram_msg(kwi_mock_scram *s, const char *msg, const kwi_mock_scram_cred *cred, const char **out,
          const char **user, const char **why)
{
    const uint8_t *o;
    size_t n;
    static char buf[512];
    kwi_mock_sasl_rc rc = kwi_mock_scram_step(s, (const uint8_t *)msg, strlen(msg), one_cred,
                                              (void *)cred, &o, &n, user, why);
    ck_assert_uint_lt(n, sizeof(buf));
    memcpy(buf, o ? (const char *)o : "", n);
    buf[n] = '\0';
    *out = buf;
    return rc;
}

START_TEST(test_scram_rfc7677_exchange)
{
    /* RFC 7677 section 3: user "user", password "pencil", salt and nonces as published. */
    uint8_t salt[16];
    size_t sl;
    ck_assert_int_eq(kwi_base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt), &sl),
                     KW_ERR_OK);
    kwi_mock_scram_cred cred;
    ck_assert_int_eq(kwi_mock_scram_cred_make(KWI_HASH_SHA256, "pencil", 6, salt, sl, 4096, &cred),
                     KW_ERR_OK);
    kwi_mock_scram *s = kwi_mock_scram_new(kw_allocator_default(), KWI_HASH_SHA256,
                                           "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    ck_assert_ptr_nonnull(s);
    const char *out, *user, *why;
    ck_assert_int_eq(scram_msg(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &cred, &out, &user, &why),
                     KWI_MOCK_SASL_CONTINUE);
    ck_assert_str_eq(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    ck_assert_int_eq(scram_msg(s,
                               "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                               "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                               &cred, &out, &user, &why),
                     KWI_MOCK_SASL_DONE);
    ck_assert_str_eq(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    ck_assert_str_eq(user, "user");
    kwi_mock_scram_free(s);

    /* A proof off by one bit fails. */
    s = kwi_mock_scram_new(kw_allocator_default(), KWI_HASH_SHA256,
                           "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    scram_msg(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &cred, &out, &user, &why);
    ck_assert_int_eq(scram_msg(s,
                               "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                               "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
                               &cred, &out, &user, &why),
                     KWI_MOCK_SASL_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "wrong password"));
    kwi_mock_scram_free(s);

    /* Messages refused before any key is used. */
    static const char *const bad_first[] = {
        "p=tls-unique,,n=user,r=abc",     /* channel binding */
        "n,a=other,n=user,r=abc",         /* authzid is someone else */
        "n,,n=nobody,r=abc",              /* unknown user */
        "n,,n=us=er,r=abc",               /* bad escape */
        "n,,m=ext,n=user,r=abc",          /* reserved mandatory extension */
        "n,,n=user,r=a,b",                /* not an extension */
        "n,,n=user,r=abc,tokenauth=true", /* delegation token */
        "n,,n=user",                      /* no nonce */
        "x,,n=user,r=abc",
    };
    for (size_t i = 0; i < sizeof(bad_first) / sizeof(bad_first[0]); i++) {
        s = kwi_mock_scram_new(kw_allocator_default(), KWI_HASH_SHA256, NULL);
        ck_assert_msg(scram_msg(s, bad_first[i], &cred, &out, &user, &why) == KWI_MOCK_SASL_FAIL,
                      "%s was accepted", bad_first[i]);
        kwi_mock_scram_free(s);
    }
    /* The server's own nonce: 32 random characters, never ',' (checked on a fresh exchange). */
    s = kwi_mock_scram_new(kw_allocator_default(), KWI_HASH_SHA256, NULL);
    ck_assert_int_eq(scram_msg(s, "n,a=user,n=user,r=abc,x=1", &cred, &out, &user, &why),
                     KWI_MOCK_SASL_CONTINUE);
    const char *comma = strchr(out, ',');
    ck_assert_int_eq(comma - out, 2 + 3 + 32);
    /* A client-final with the wrong channel binding ("c=" must be base64("n,a=user,")). */
    char final[256];
    snprintf(final, sizeof(final), "c=biws,r=%.*s,p=AAAA", (int)(comma - out - 2), out + 2);
    ck_assert_int_eq(scram_msg(s, final, &cred, &out, &user, &why), KWI_MOCK_SASL_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "channel binding"));
    kwi_mock_scram_free(s);
}
END_TEST

static const kwi_mock_sasl_user *
plain_user(void *ud, const char *user, size_t len)
{
    const kwi_mock_sasl_user *u = ud;
    return len == u->name_len && memcmp(user, u->name, len) == 0 ? u : NULL;
}

START_TEST(test_plain_checks)
{
    char name[] = "alice", pass[] = "s3cret";
    kwi_mock_sasl_user u = {KWI_MOCK_MECH_PLAIN, name, 5, pass, 6, {{0}, 0, 0, {0}, {0}}};
    char ub[64];
    const char *why;
    static const struct {
        const char *msg;
        size_t len;
        kwi_mock_sasl_rc want;
    } cases[] = {
        {"\0alice\0s3cret", 13, KWI_MOCK_SASL_DONE},
        {"alice\0alice\0s3cret", 18, KWI_MOCK_SASL_DONE},
        {"bob\0alice\0s3cret", 16, KWI_MOCK_SASL_FAIL}, /* authzid of someone else */
        {"\0alice\0s3cre", 12, KWI_MOCK_SASL_FAIL},     /* wrong password */
        {"\0alice\0s3cret!", 14, KWI_MOCK_SASL_FAIL},   /* longer */
        {"\0bob\0s3cret", 11, KWI_MOCK_SASL_FAIL},      /* unknown user */
        {"\0alice\0", 7, KWI_MOCK_SASL_FAIL},           /* empty password */
        {"\0alice\0s3\0cret", 14, KWI_MOCK_SASL_FAIL},  /* a third NUL */
        {"alice s3cret", 12, KWI_MOCK_SASL_FAIL},       /* no NULs */
        {"", 0, KWI_MOCK_SASL_FAIL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(kwi_mock_plain_check((const uint8_t *)cases[i].msg, cases[i].len, plain_user,
                                           &u, ub, sizeof(ub), &why) == cases[i].want,
                      "case %zu", i);
}
END_TEST

/* ---------------------------------------------------------------- over the wire */

static kw_mock *
sasl_mock(int64_t *vnow)
{
    kw_mock *m = fu_mock(1, vnow);
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_sasl_user_add(m, "PLAIN", "alice", "alice-secret", &err) == KW_ERR_OK,
                  "%s", err.msg);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "SCRAM-SHA-256", "bob", "bob-secret", NULL),
                     KW_ERR_OK);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "scram-sha-512", "carol,=x", "carol:secret", NULL),
                     KW_ERR_OK);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "GSSAPI", "x", "y", &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "PLAIN", "", "y", NULL), KW_ERR_INVALID_ARG);
    return m;
}

static kw_sasl_handshake_resp
handshake(mc *c, int16_t ver, const char *mech, kw_arena *ar, uint8_t **f)
{
    kw_sasl_handshake_req rq = {kw_slice_str(mech)};
    kw_sasl_handshake_resp r;
    mc_call(c, &kw_msg_sasl_handshake_req, &kw_msg_sasl_handshake_resp, ver, &rq, ar, &r, f);
    return r;
}

typedef struct login {
    int16_t error_code;  /* of the last SaslAuthenticate */
    char message[256];   /* its error message */
    int64_t lifetime_ms; /* from the final SaslAuthenticate */
    bool client_done;    /* the client verified the server (SCRAM) */
} login;

static kwi_sasl *
client_new(const char *mech, const char *user, const char *pass)
{
    kwi_sasl_conf sc;
    kwi_sasl_conf_init(&sc);
    ck_assert_int_eq(kwi_sasl_mech_parse(mech, &sc.mech), KW_ERR_OK);
    sc.username = user;
    sc.password = pass;
    kwi_sasl *s;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kwi_sasl_new(&sc, &s, &err) == KW_ERR_OK, "%s", err.msg);
    return s;
}

/* SaslHandshake v1 + SaslAuthenticate v`auth_ver` with kwire's client mechanism. */
static login
login_v1(mc *c, const char *mech, const char *user, const char *pass, int16_t auth_ver)
{
    login res;
    memset(&res, 0, sizeof(res));
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_sasl_handshake_resp h = handshake(c, 1, mech, &ar, &f);
    ck_assert_int_eq(h.error_code, 0);
    free(f);
    kwi_sasl *s = client_new(mech, user, pass);
    kwi_sasl_out out;
    ck_assert_int_eq(kwi_sasl_start(s, &out, NULL), KW_ERR_OK);
    for (int round = 0; round < 4; round++) {
        kw_sasl_authenticate_req rq;
        memset(&rq, 0, sizeof(rq));
        rq.auth_bytes = (kw_slice){out.ptr, (int32_t)out.len};
        kw_sasl_authenticate_resp r;
        mc_call(c, &kw_msg_sasl_authenticate_req, &kw_msg_sasl_authenticate_resp, auth_ver, &rq,
                &ar, &r, &f);
        res.error_code = r.error_code;
        res.lifetime_ms = r.session_lifetime_ms;
        if (r.error_code) {
            snprintf(res.message, sizeof(res.message), "%.*s", (int)r.error_message.len,
                     (const char *)r.error_message.ptr);
            free(f);
            break;
        }
        kw_error err;
        kw_error_init(&err);
        kw_err e = kwi_sasl_step(s, r.auth_bytes.ptr,
                                 r.auth_bytes.len > 0 ? (size_t)r.auth_bytes.len : 0, &out, &err);
        free(f);
        ck_assert_msg(e == KW_ERR_OK, "client: %s", err.msg);
        if (out.done) {
            res.client_done = true;
            break;
        }
    }
    kwi_sasl_free(s);
    kw_arena_fini(&ar);
    return res;
}

/* A Metadata request: true if answered, false if the connection was closed. */
static bool
metadata_ok(mc *c)
{
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    fu_send_metadata(c, 12, "t", &t, &rq);
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    free(f);
    return f != NULL;
}

START_TEST(test_mechanisms_succeed)
{
    kw_mock *m = sasl_mock(NULL);
    static const struct {
        const char *mech, *user, *pass;
    } users[] = {
        {"PLAIN", "alice", "alice-secret"},
        {"SCRAM-SHA-256", "bob", "bob-secret"},
        {"SCRAM-SHA-512", "carol,=x", "carol:secret"},
    };
    for (size_t i = 0; i < 3; i++)
        for (int16_t av = 0; av <= 2; av++) {
            mc *c = mc_connect(m, 1, false);
            /* ApiVersions is allowed before authenticating (clients ask first). */
            fu_send_api_versions(c, 3);
            size_t len;
            uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
            ck_assert_ptr_nonnull(f);
            free(f);
            login l = login_v1(c, users[i].mech, users[i].user, users[i].pass, av);
            ck_assert_msg(l.error_code == 0, "%s v%d: %s", users[i].mech, av, l.message);
            ck_assert(l.client_done);
            ck_assert_int_eq(l.lifetime_ms, 0);
            ck_assert(metadata_ok(c));
            mc_close(c);
        }
    kw_mock_free(m);
}
END_TEST

START_TEST(test_unauthenticated_requests_close)
{
    kw_mock *m = sasl_mock(NULL);
    mc *c = mc_connect(m, 1, false);
    ck_assert(!metadata_ok(c)); /* before SaslHandshake */
    mc_close(c);
    /* After SaslHandshake v1 only SaslAuthenticate: ApiVersions closes too, as in Kafka. */
    c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_sasl_handshake_resp h = handshake(c, 1, "PLAIN", &ar, &f);
    ck_assert_int_eq(h.error_code, 0);
    free(f);
    fu_send_api_versions(c, 3);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    kw_arena_fini(&ar);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_wrong_password_and_unknown_mechanism)
{
    kw_mock *m = sasl_mock(NULL);
    mc *c = mc_connect(m, 1, false);
    login l = login_v1(c, "SCRAM-SHA-512", "carol,=x", "nope", 2);
    ck_assert_int_eq(l.error_code, 58); /* SASL_AUTHENTICATION_FAILED */
    ck_assert_str_eq(l.message, "Authentication failed during authentication due to invalid "
                                "credentials with SASL mechanism SCRAM-SHA-512");
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    c = mc_connect(m, 1, false);
    l = login_v1(c, "PLAIN", "alice", "wrong", 1);
    ck_assert_int_eq(l.error_code, 58);
    ck_assert_str_eq(l.message, "Authentication failed: Invalid username or password");
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    /* Credentials are per mechanism: bob has no SCRAM-SHA-512 credential. */
    c = mc_connect(m, 1, false);
    l = login_v1(c, "SCRAM-SHA-512", "bob", "bob-secret", 2);
    ck_assert_int_eq(l.error_code, 58);
    mc_close(c);
    /* A mechanism that is not enabled: 33 with the enabled list, then the close. */
    kw_mock *m2 = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_sasl_user_add(m2, "SCRAM-SHA-256", "u", "p", NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_sasl_user_add(m2, "PLAIN", "u", "p", NULL), KW_ERR_OK);
    c = mc_connect(m2, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_sasl_handshake_resp h = handshake(c, 1, "SCRAM-SHA-512", &ar, &f);
    ck_assert_int_eq(h.error_code, 33);
    ck_assert_int_eq(h.n_mechanisms, 2);
    ck_assert(kw_slice_eq(h.mechanisms[0], "PLAIN"));
    ck_assert(kw_slice_eq(h.mechanisms[1], "SCRAM-SHA-256"));
    free(f);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    kw_arena_fini(&ar);
    kw_mock_free(m2);
    kw_mock_free(m);
}
END_TEST

/* Writes one raw SASL token (size-prefixed, no Kafka header) and reads the raw answer. */
static uint8_t *
raw_token(mc *c, const void *p, size_t n, size_t *len)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    mc_write(c, hdr, 4);
    mc_write(c, p, n);
    return mc_recv_frame(c, MC_WAIT_MS, len);
}

START_TEST(test_handshake_v0_raw_tokens)
{
    kw_mock *m = sasl_mock(NULL);
    static const struct {
        const char *mech, *user, *pass;
    } users[] = {
        {"SCRAM-SHA-256", "bob", "bob-secret"},
        {"SCRAM-SHA-512", "carol,=x", "carol:secret"},
        {"PLAIN", "alice", "alice-secret"},
    };
    for (size_t i = 0; i < 3; i++) {
        mc *c = mc_connect(m, 1, false);
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        uint8_t *f;
        kw_sasl_handshake_resp h = handshake(c, 0, users[i].mech, &ar, &f);
        ck_assert_int_eq(h.error_code, 0);
        ck_assert_int_eq(h.n_mechanisms, 3);
        free(f);
        kwi_sasl *s = client_new(users[i].mech, users[i].user, users[i].pass);
        kwi_sasl_out out;
        ck_assert_int_eq(kwi_sasl_start(s, &out, NULL), KW_ERR_OK);
        while (!out.done) {
            size_t len;
            uint8_t *tok = raw_token(c, out.ptr, out.len, &len);
            ck_assert_msg(tok != NULL, "%s: no raw answer", users[i].mech);
            /* PLAIN's success is an empty token, as Kafka sends it. */
            if (strcmp(users[i].mech, "PLAIN") == 0)
                ck_assert_uint_eq(len, 0);
            kw_error err;
            kw_error_init(&err);
            ck_assert_msg(kwi_sasl_step(s, tok, len, &out, &err) == KW_ERR_OK, "%s", err.msg);
            free(tok);
        }
        kwi_sasl_free(s);
        ck_assert(metadata_ok(c)); /* Kafka frames again */
        kw_arena_fini(&ar);
        mc_close(c);
    }
    /* A wrong password with the raw framing: no answer, the connection closes. */
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    handshake(c, 0, "PLAIN", &ar, &f);
    free(f);
    static const char bad[] = "\0alice\0wrong";
    size_t len;
    uint8_t *tok = raw_token(c, bad, sizeof(bad) - 1, &len);
    ck_assert_ptr_null(tok);
    ck_assert(c->eof);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_session_lifetime_and_reauth)
{
    int64_t now = 100000;
    kw_mock *m = sasl_mock(&now);
    ck_assert_int_eq(kw_mock_sasl_session_lifetime_set(m, 10000), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_sasl_session_lifetime_set(m, -1), KW_ERR_INVALID_ARG);
    mc *c = mc_connect(m, 1, false);
    login l = login_v1(c, "SCRAM-SHA-256", "bob", "bob-secret", 1);
    ck_assert_int_eq(l.error_code, 0);
    ck_assert_int_eq(l.lifetime_ms, 10000);
    /* v0 has no lifetime field. */
    mc *c0 = mc_connect(m, 1, false);
    l = login_v1(c0, "PLAIN", "alice", "alice-secret", 0);
    ck_assert_int_eq(l.lifetime_ms, 0);
    now += 9000;
    ck_assert(metadata_ok(c));
    /* KIP-368: re-authenticate before expiry, same mechanism and user. */
    l = login_v1(c, "SCRAM-SHA-256", "bob", "bob-secret", 2);
    ck_assert_int_eq(l.error_code, 0);
    now += 9000; /* past the first session's end, inside the second's */
    ck_assert(metadata_ok(c));
    now += 1000;
    ck_assert(!metadata_ok(c)); /* expired: closed */
    ck_assert(!metadata_ok(c0));
    mc_close(c);
    mc_close(c0);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_sasl_apis_without_sasl)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_sasl_handshake_resp h = handshake(c, 1, "PLAIN", &ar, &f);
    ck_assert_int_eq(h.error_code, 34); /* ILLEGAL_SASL_STATE, as KafkaApis answers */
    free(f);
    kw_sasl_authenticate_req rq;
    memset(&rq, 0, sizeof(rq));
    kw_sasl_authenticate_resp r;
    mc_call(c, &kw_msg_sasl_authenticate_req, &kw_msg_sasl_authenticate_resp, 2, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 34);
    free(f);
    ck_assert(metadata_ok(c));
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_sasl");
    TCase *tc = tcase_create("sasl");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_scram_rfc7677_exchange);
    tcase_add_test(tc, test_plain_checks);
    tcase_add_test(tc, test_mechanisms_succeed);
    tcase_add_test(tc, test_unauthenticated_requests_close);
    tcase_add_test(tc, test_wrong_password_and_unknown_mechanism);
    tcase_add_test(tc, test_handshake_v0_raw_tokens);
    tcase_add_test(tc, test_session_lifetime_and_reauth);
    tcase_add_test(tc, test_sasl_apis_without_sasl);
    suite_add_tcase(s, tc);
    return s;
}

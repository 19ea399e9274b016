/* SASL client mechanisms: PLAIN's exact bytes; SCRAM-SHA-256 reproducing RFC 7677 section 3's
 * exchange byte for byte; a SCRAM-SHA-512 exchange whose expected messages were computed with
 * Python's hashlib/hmac (an independent implementation); every way a server message can be
 * wrong (tampered signature, foreign nonce, iteration count out of range, missing fields, bad
 * base64, e=...); the state machine's refusals; a failing-allocator sweep whose allocator also
 * checks that no freed block still holds the password or the proof; and interop with
 * cyrus-sasl's server-side SCRAM-SHA-256/512 running in-process (an independent server), with
 * the right and a wrong password. Without cyrus-sasl the interop case says SKIP on stderr. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/sasl.h"

#ifdef KWT_HAVE_CYRUS_SASL
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#endif

/* ---- helpers ------------------------------------------------------------------------------ */

/* A random source that hands out fixed bytes: each byte selects one nonce character, so a
 * nonce string maps back to bytes through the same alphabet the implementation uses. */
typedef struct fixed_rng {
    const char *nonce;
    int fail;
} fixed_rng;

static kw_err
rng_fixed(void *ud, void *buf, size_t n)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fixed_rng *f = ud;
    uint8_t *b = buf;
    if (f->fail)
        return KW_ERR_IO;
    ck_assert_uint_eq(strlen(f->nonce), n);
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(alpha, f->nonce[i]);
        ck_assert_ptr_nonnull(p);
        /* Set high bits too: only the low six may matter. */
        b[i] = (uint8_t)((p - alpha) | (i % 4) << 6);
    }
    return KW_ERR_OK;
}

static const char rfc_cnonce[] = "rOprNGfwEbeRWgbNEkqO";
static const char rfc_server_first[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char rfc_client_final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$"
                                       "k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char rfc_server_final[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

static fixed_rng rfc_rng = {rfc_cnonce, 0};

static kwi_sasl *
new_session(kwi_sasl_mech mech, const char *user, const char *pass, fixed_rng *rng,
            const kw_allocator *a)
{
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.alloc = a;
    c.mech = mech;
    c.username = user;
    c.password = pass;
    if (rng) {
        c.random = rng_fixed;
        c.random_ud = rng;
        c.scram_nonce_len = strlen(rng->nonce);
    }
    kwi_sasl *s = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kwi_sasl_new(&c, &s, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void
out_eq(const kwi_sasl_out *o, const char *want, size_t want_len)
{
    ck_assert_ptr_nonnull(o->ptr);
    if (o->len != want_len || memcmp(o->ptr, want, want_len) != 0)
        ck_abort_msg("client message differs:\n got  %.*s\n want %.*s", (int)o->len,
                     (const char *)o->ptr, (int)want_len, want);
}

static kw_err
step_str(kwi_sasl *s, const char *msg, kwi_sasl_out *out, kw_error *err)
{
    kw_error_init(err);
    return kwi_sasl_step(s, (const uint8_t *)msg, strlen(msg), out, err);
}

/* A SCRAM-SHA-256 session with the RFC nonce, started, waiting for server-first. */
static kwi_sasl *
rfc_started(void)
{
    kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_256, "user", "pencil", &rfc_rng, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    return s;
}

/* Steps a server-first message into an RFC session and expects failure with `code`. */
static void
server_first_fails(const char *msg, size_t len, kw_err code, const char *in_msg)
{
    kwi_sasl *s = rfc_started();
    kwi_sasl_out o;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kwi_sasl_step(s, (const uint8_t *)msg, len, &o, &err);
    ck_assert_msg(e == code, "server-first \"%.*s\": got %s (%s), want %s", (int)len, msg,
                  kw_err_name(e), err.msg, kw_err_name(code));
    ck_assert_ptr_null(o.ptr);
    ck_assert(err.fatal);
    ck_assert(!err.retriable);
    ck_assert_ptr_null(strstr(err.msg, "pencil"));
    if (in_msg)
        ck_assert_msg(strstr(err.msg, in_msg) != NULL, "message \"%s\" lacks \"%s\"", err.msg,
                      in_msg);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_FAILED);
    /* A failed session refuses everything after. */
    ck_assert_int_eq(step_str(s, rfc_server_first, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
}

/* ---- PLAIN -------------------------------------------------------------------------------- */

START_TEST(plain_bytes_exact)
{
    kwi_sasl *s = new_session(KWI_SASL_PLAIN, "alice", "s3cr=t,x", NULL, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_str_eq(kwi_sasl_name(s), "PLAIN");
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    out_eq(&o, "\0alice\0s3cr=t,x", 15);
    ck_assert(!o.done);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_RUNNING);
    /* The broker's SaslAuthenticate answer for PLAIN carries empty auth_bytes. */
    ck_assert_int_eq(kwi_sasl_step(s, NULL, 0, &o, &err), KW_ERR_OK);
    ck_assert(o.done);
    ck_assert_ptr_null(o.ptr);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_DONE);
    ck_assert_int_eq(kwi_sasl_step(s, NULL, 0, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
    kwi_sasl_free(NULL);
}
END_TEST

START_TEST(plain_rejects_server_data)
{
    kwi_sasl *s = new_session(KWI_SASL_PLAIN, "alice", "pw", NULL, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    ck_assert_int_eq(step_str(s, "x", &o, &err), KW_ERR_MALFORMED);
    ck_assert(err.fatal);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_FAILED);
    ck_assert_int_eq(kwi_sasl_step(s, NULL, 0, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
}
END_TEST

START_TEST(bad_configuration)
{
    kwi_sasl_conf c;
    kwi_sasl *s = (kwi_sasl *)1;
    kw_error err;
    char *longpw = malloc(KWI_SASL_MAX_CRED + 2);
    memset(longpw, 'Q', KWI_SASL_MAX_CRED + 1);
    longpw[KWI_SASL_MAX_CRED + 1] = '\0';
    memcpy(longpw, "SeCrEt", 6);
    kwi_sasl_mech mechs[3] = {KWI_SASL_PLAIN, KWI_SASL_SCRAM_SHA_256, KWI_SASL_SCRAM_SHA_512};
    for (int m = 0; m < 3; m++) {
        const char *users[4] = {"u", "", NULL, "u"};
        const char *pws[4] = {"", "p", "p", longpw};
        for (int i = 0; i < 4; i++) {
            kwi_sasl_conf_init(&c);
            c.mech = mechs[m];
            c.username = users[i];
            c.password = pws[i];
            kw_error_init(&err);
            ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
            ck_assert_ptr_null(s);
            ck_assert(err.fatal);
            ck_assert_ptr_null(strstr(err.msg, "SeCrEt"));
        }
        /* Exactly the maximum is accepted. */
        longpw[KWI_SASL_MAX_CRED] = '\0';
        c.username = "u";
        ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_OK);
        kwi_sasl_free(s);
        longpw[KWI_SASL_MAX_CRED] = 'Q';
    }
    free(longpw);
    kwi_sasl_conf_init(&c);
    c.mech = (kwi_sasl_mech)42;
    c.username = c.password = "x";
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
    c.mech = KWI_SASL_SCRAM_SHA_256;
    c.scram_nonce_len = KWI_SCRAM_NONCE_LEN_MIN - 1;
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
    c.scram_nonce_len = KWI_SCRAM_NONCE_LEN_MAX + 1;
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
    c.scram_nonce_len = 0;
    c.scram_max_iterations = KWI_SCRAM_MIN_ITERATIONS - 1;
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
    c.scram_max_iterations = KWI_SCRAM_MAX_ITERATIONS_DEFAULT + 1;
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_INVALID_ARG);
    /* Direct construction of the wrong family is refused too. */
    c.scram_max_iterations = 0;
    c.mech = KWI_SASL_PLAIN;
    ck_assert_int_eq(kwi_sasl_scram_new(&c, &s, &err), KW_ERR_INVALID_ARG);
}
END_TEST

START_TEST(mech_names)
{
    kwi_sasl_mech m;
    ck_assert_int_eq(kwi_sasl_mech_parse("PLAIN", &m), KW_ERR_OK);
    ck_assert_int_eq(m, KWI_SASL_PLAIN);
    ck_assert_int_eq(kwi_sasl_mech_parse("SCRAM-SHA-256", &m), KW_ERR_OK);
    ck_assert_int_eq(m, KWI_SASL_SCRAM_SHA_256);
    ck_assert_int_eq(kwi_sasl_mech_parse("SCRAM-SHA-512", &m), KW_ERR_OK);
    ck_assert_int_eq(m, KWI_SASL_SCRAM_SHA_512);
    ck_assert_int_eq(kwi_sasl_mech_parse("scram-sha-256", &m), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kwi_sasl_mech_parse("SCRAM-SHA-1", &m), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kwi_sasl_mech_parse(NULL, &m), KW_ERR_NOT_FOUND);
    kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_512, "u", "p", NULL, NULL);
    ck_assert_str_eq(kwi_sasl_name(s), "SCRAM-SHA-512");
    kwi_sasl_free(s);
}
END_TEST

/* ---- SCRAM: published and independently computed exchanges -------------------------------- */

START_TEST(scram_rfc7677_exchange)
{
    kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_256, "user", "pencil", &rfc_rng, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_str_eq(kwi_sasl_name(s), "SCRAM-SHA-256");
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    out_eq(&o, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", 32);
    ck_assert_int_eq(step_str(s, rfc_server_first, &o, &err), KW_ERR_OK);
    out_eq(&o, rfc_client_final, strlen(rfc_client_final));
    ck_assert(!o.done);
    ck_assert_int_eq(step_str(s, rfc_server_final, &o, &err), KW_ERR_OK);
    ck_assert(o.done);
    ck_assert_ptr_null(o.ptr);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_DONE);
    ck_assert_int_eq(step_str(s, rfc_server_final, &o, &err), KW_ERR_STATE);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
}
END_TEST

START_TEST(scram_sha512_exchange)
{
    /* Expected messages computed with Python 3 hashlib.pbkdf2_hmac / hmac (SHA-512), with the
     * same formulas as RFC 5802 section 3; the server part of the nonce and the salt are made
     * up. The user name also exercises saslname escaping (',' -> =2C, '=' -> =3D). */
    static fixed_rng rng = {"fyko+d2lbbFgONRv9qkxdawL", 0};
    static const char sfirst[] = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                                 "s=QSXCR+Q6sek8bf92,i=4096";
    static const char cfinal[] = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p="
                                 "Q7GdyRwlIP8ORHZ3R3eMe2L20SQ6CnwEBIJwot9"
                                 "NSYpiF5xouJfAycfyNtW4mQEuKY229XLq3BOZnwUYUZtR+w==";
    static const char sfinal[] = "v=Ewi6kHZjd6fEREd4YIVqDsS+ENSOZP9OycRP8+mBWEP2iG5MkK22QWibnQOE"
                                 "+YM89Md7V8TwcZ+Vruazm9UcWw==";
    kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_512, "kw,user=1", "pencil", &rng, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    out_eq(&o, "n,,n=kw=2Cuser=3D1,r=fyko+d2lbbFgONRv9qkxdawL", 45);
    ck_assert_int_eq(step_str(s, sfirst, &o, &err), KW_ERR_OK);
    out_eq(&o, cfinal, strlen(cfinal));
    ck_assert_int_eq(step_str(s, sfinal, &o, &err), KW_ERR_OK);
    ck_assert(o.done);
    kwi_sasl_free(s);
}
END_TEST

START_TEST(scram_extensions_ignored)
{
    /* RFC 5802: unknown extension attributes after i= (and after v=) are ignored; they are
     * part of the AuthMessage, so the proof changes but the exchange goes on. */
    kwi_sasl *s = rfc_started();
    kwi_sasl_out o;
    kw_error err;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s,x=ext,y=a=b", rfc_server_first);
    ck_assert_int_eq(step_str(s, msg, &o, &err), KW_ERR_OK);
    ck_assert_int_eq(memcmp(o.ptr, rfc_client_final, 60), 0);
    kwi_sasl_free(s);
    s = rfc_started();
    ck_assert_int_eq(step_str(s, rfc_server_first, &o, &err), KW_ERR_OK);
    snprintf(msg, sizeof(msg), "%s,z=extension", rfc_server_final);
    ck_assert_int_eq(step_str(s, msg, &o, &err), KW_ERR_OK);
    ck_assert(o.done);
    kwi_sasl_free(s);
}
END_TEST

/* ---- SCRAM: a server that must be refused -------------------------------------------------- */

/* Steps the RFC server-first and then `final`; expects `code`. */
static void
server_final_fails(const char *final, kw_err code, const char *in_msg)
{
    kwi_sasl *s = rfc_started();
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(step_str(s, rfc_server_first, &o, &err), KW_ERR_OK);
    kw_err e = step_str(s, final, &o, &err);
    ck_assert_msg(e == code, "server-final \"%s\": got %s (%s), want %s", final, kw_err_name(e),
                  err.msg, kw_err_name(code));
    ck_assert(!o.done);
    ck_assert_ptr_null(o.ptr);
    ck_assert(err.fatal);
    ck_assert_ptr_null(strstr(err.msg, "pencil"));
    ck_assert_ptr_null(strstr(err.msg, "6rriTRBi"));
    if (in_msg)
        ck_assert_msg(strstr(err.msg, in_msg) != NULL, "message \"%s\" lacks \"%s\"", err.msg,
                      in_msg);
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_FAILED);
    ck_assert_int_eq(step_str(s, rfc_server_final, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
}

START_TEST(scram_tampered_signature)
{
    /* One character changed; the last byte's bit flipped; a signature for another message. */
    server_final_fails("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=", KWI_SASL_ERR_AUTH,
                       "signature does not match");
    server_final_fails("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", KWI_SASL_ERR_AUTH,
                       "signature does not match");
    server_final_fails("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", KWI_SASL_ERR_AUTH,
                       "signature does not match");
    /* Valid base64 of the wrong length: 31 and 34 bytes, and 64 (a SHA-512 size). */
    server_final_fails("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A==", KWI_SASL_ERR_AUTH, NULL);
    server_final_fails("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4AAA==", KWI_SASL_ERR_AUTH,
                       NULL);
    char sig64[2 + 88 + 1]; /* 64 zero bytes: 86 'A' and "==" */
    memcpy(sig64, "v=", 2);
    memset(sig64 + 2, 'A', 86);
    memcpy(sig64 + 88, "==", 3);
    server_final_fails(sig64, KWI_SASL_ERR_AUTH, NULL);
    /* A correct signature followed by a malformed extension is not accepted either. */
    char msg[128];
    snprintf(msg, sizeof(msg), "%s,", rfc_server_final);
    server_final_fails(msg, KW_ERR_MALFORMED, NULL);
}
END_TEST

START_TEST(scram_server_final_malformed)
{
    server_final_fails("", KW_ERR_MALFORMED, "neither");
    server_final_fails("v=", KW_ERR_MALFORMED, NULL);
    server_final_fails("v=!!!!", KW_ERR_MALFORMED, "base64");
    server_final_fails("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", KW_ERR_MALFORMED, "base64");
    server_final_fails("x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", KW_ERR_MALFORMED, NULL);
    server_final_fails("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", KW_ERR_MALFORMED, NULL);
    /* The server's own error, reported clearly; control characters are not copied. */
    server_final_fails("e=invalid-proof", KWI_SASL_ERR_AUTH, "invalid-proof");
    server_final_fails("e=other-error,x=1", KWI_SASL_ERR_AUTH, "other-error");
    server_final_fails("e=bad\x1b[31mred", KWI_SASL_ERR_AUTH, "bad?[31mred");
}
END_TEST

START_TEST(scram_foreign_nonce)
{
    /* Last character of our part changed. */
    static const char m1[] =
        "r=rOprNGfwEbeRWgbNEkqX%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    /* Exactly our nonce: the server contributed nothing. */
    static const char m2[] = "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    /* Shorter than ours. */
    static const char m3[] = "r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    /* Ours in the middle, not as a prefix. */
    static const char m4[] = "r=xrOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    server_first_fails(m1, strlen(m1), KWI_SASL_ERR_AUTH, "nonce");
    server_first_fails(m2, strlen(m2), KWI_SASL_ERR_AUTH, "nonce");
    server_first_fails(m3, strlen(m3), KWI_SASL_ERR_AUTH, "nonce");
    server_first_fails(m4, strlen(m4), KWI_SASL_ERR_AUTH, "nonce");
    /* A non-printable byte in the nonce is malformed. */
    static const char m5[] = "r=rOprNGfwEbeRWgbNEkqO\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    server_first_fails(m5, strlen(m5), KW_ERR_MALFORMED, NULL);
}
END_TEST

static void
with_iterations(const char *count, kw_err code)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg),
                     "r=rOprNGfwEbeRWgbNEkqO%%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                     "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=%s",
                     count);
    server_first_fails(msg, (size_t)n, code, NULL);
}

START_TEST(scram_iterations_out_of_range)
{
    with_iterations("4095", KWI_SASL_ERR_AUTH);
    with_iterations("1", KWI_SASL_ERR_AUTH);
    with_iterations("1000001", KWI_SASL_ERR_AUTH);
    with_iterations("4294967295", KWI_SASL_ERR_AUTH);
    with_iterations("4294967296", KW_ERR_MALFORMED);
    with_iterations("99999999999999999999", KW_ERR_MALFORMED);
    with_iterations("0", KW_ERR_MALFORMED);
    with_iterations("04096", KW_ERR_MALFORMED);
    with_iterations("-4096", KW_ERR_MALFORMED);
    with_iterations("4096x", KW_ERR_MALFORMED);
    with_iterations("", KW_ERR_MALFORMED);

    /* A lower configured ceiling (Kafka stores at most 16384) is enforced, and the edge
     * values themselves are accepted. */
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.mech = KWI_SASL_SCRAM_SHA_256;
    c.username = "user";
    c.password = "pencil";
    c.random = rng_fixed;
    c.random_ud = &rfc_rng;
    c.scram_nonce_len = strlen(rfc_cnonce);
    c.scram_max_iterations = 16384;
    const char *counts[3] = {"16385", "16384", "4096"};
    kw_err want[3] = {KWI_SASL_ERR_AUTH, KW_ERR_OK, KW_ERR_OK};
    for (int i = 0; i < 3; i++) {
        kwi_sasl *s;
        kwi_sasl_out o;
        kw_error err;
        char msg[256];
        ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_OK);
        ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
        snprintf(msg, sizeof(msg), "r=rOprNGfwEbeRWgbNEkqO%%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=%s",
                 counts[i]);
        ck_assert_int_eq(step_str(s, msg, &o, &err), want[i]);
        if (want[i] != KW_ERR_OK)
            ck_assert_ptr_nonnull(strstr(err.msg, "16384"));
        kwi_sasl_free(s);
    }
}
END_TEST

START_TEST(scram_server_first_malformed)
{
    static const struct {
        const char *msg;
        kw_err code;
        const char *in_msg;
    } cases[] = {
        {"", KW_ERR_MALFORMED, "nonce"},
        {"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", KW_ERR_MALFORMED, "nonce"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv", KW_ERR_MALFORMED, "salt"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,i=4096", KW_ERR_MALFORMED, "salt"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==", KW_ERR_MALFORMED, "iteration"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==", KW_ERR_MALFORMED, "salt"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22Z!J0SNY7soEsUEjb6gQ==,i=4096", KW_ERR_MALFORMED, "base64"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", KW_ERR_MALFORMED, "base64"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096", KW_ERR_MALFORMED, "base64"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096", KW_ERR_MALFORMED, "salt"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,", KW_ERR_MALFORMED,
         "extension"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x", KW_ERR_MALFORMED,
         "extension"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,,x=1", KW_ERR_MALFORMED,
         "extension"},
        {"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,1=x", KW_ERR_MALFORMED,
         "extension"},
        {",r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", KW_ERR_MALFORMED, NULL},
        {"R=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", KW_ERR_MALFORMED, NULL},
        {"r:rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", KW_ERR_MALFORMED, NULL},
        /* Mandatory extensions (m=) must fail the authentication (RFC 5802 section 5.1). */
        {"m=must-understand,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
         KWI_SASL_ERR_AUTH, "mandatory extension"},
        /* A server error in place of server-first. */
        {"e=unknown-user", KWI_SASL_ERR_AUTH, "unknown-user"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        server_first_fails(cases[i].msg, strlen(cases[i].msg), cases[i].code, cases[i].in_msg);

    /* An embedded NUL. */
    static const char nul[] = "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=a\0b";
    server_first_fails(nul, sizeof(nul) - 1, KW_ERR_MALFORMED, NULL);
    static const char nul2[] = "r=rOprNGfwEbeRWgbNEkqO%h\0v,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    server_first_fails(nul2, sizeof(nul2) - 1, KW_ERR_MALFORMED, NULL);

    /* Longer than KWI_SASL_MAX_SERVER_MSG: refused before parsing. */
    size_t big = KWI_SASL_MAX_SERVER_MSG + 1;
    char *m = malloc(big);
    memset(m, 'a', big);
    memcpy(m, rfc_server_first, strlen(rfc_server_first));
    memcpy(m + strlen(rfc_server_first), ",x=", 3);
    server_first_fails(m, big, KW_ERR_MALFORMED, "exceeds");
    /* One byte less (a long extension) is accepted. */
    kwi_sasl *s = rfc_started();
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(kwi_sasl_step(s, (const uint8_t *)m, big - 1, &o, &err), KW_ERR_OK);
    kwi_sasl_free(s);
    free(m);
}
END_TEST

START_TEST(scram_state_machine)
{
    kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_256, "user", "pencil", &rfc_rng, NULL);
    kwi_sasl_out o;
    kw_error err;
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_NEW);
    /* A server message before start. */
    ck_assert_int_eq(step_str(s, rfc_server_first, &o, &err), KW_ERR_STATE);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);

    /* The server-final message where server-first is expected is malformed (no r=). */
    s = rfc_started();
    ck_assert_int_eq(step_str(s, rfc_server_final, &o, &err), KW_ERR_MALFORMED);
    kwi_sasl_free(s);

    /* A random source that fails fails the start, with its own error code. */
    fixed_rng bad = {rfc_cnonce, 1};
    s = new_session(KWI_SASL_SCRAM_SHA_256, "user", "pencil", &bad, NULL);
    kw_error_init(&err);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_IO);
    ck_assert_ptr_null(o.ptr);
    ck_assert(err.fatal);
    ck_assert_ptr_nonnull(strstr(err.msg, "random"));
    ck_assert_int_eq(kwi_sasl_get_state(s), KWI_SASL_FAILED);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_STATE);
    kwi_sasl_free(s);
}
END_TEST

START_TEST(scram_default_nonce)
{
    /* getrandom(2): 32 characters of the base64 alphabet, different every time. */
    char seen[4][KWI_SCRAM_NONCE_LEN + 1];
    for (int i = 0; i < 4; i++) {
        kwi_sasl *s = new_session(KWI_SASL_SCRAM_SHA_512, "u", "p", NULL, NULL);
        kwi_sasl_out o;
        kw_error err;
        ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
        ck_assert_uint_eq(o.len, strlen("n,,n=u,r=") + KWI_SCRAM_NONCE_LEN);
        ck_assert_int_eq(memcmp(o.ptr, "n,,n=u,r=", 9), 0);
        memcpy(seen[i], o.ptr + 9, KWI_SCRAM_NONCE_LEN);
        seen[i][KWI_SCRAM_NONCE_LEN] = '\0';
        ck_assert_uint_eq(strspn(seen[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789+/"),
                          KWI_SCRAM_NONCE_LEN);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
        kwi_sasl_free(s);
    }
}
END_TEST

/* ---- allocation failures and wiping -------------------------------------------------------- */

/* An allocator that fails the fail_at'th allocation (counting from 0; -1 = never), tracks
 * outstanding bytes, checks the sizes given to free, and checks that no block it frees still
 * contains one of the `secret` strings. */
typedef struct test_alloc {
    long count, fail_at;
    size_t live;
    long blocks;
    const char *secret[3];
    int dirty; /* a freed block contained a secret */
} test_alloc;

static void *
ta_alloc(void *ud, size_t n)
{
    test_alloc *t = ud;
    if (t->count++ == t->fail_at)
        return NULL;
    /* Zeroed, so that the secret scan in ta_free reads defined bytes even in a block freed
     * before it was written (valgrind would flag the scan, not the library). */
    size_t *p = calloc(1, n + sizeof(size_t) * 2);
    if (!p)
        return NULL;
    p[0] = n;
    t->live += n;
    t->blocks++;
    return p + 2;
}

static void *
ta_realloc(void *ud, void *ptr, size_t old, size_t n)
{
    (void)ud;
    (void)ptr;
    (void)old;
    (void)n;
    ck_abort_msg("sasl does not realloc");
    return NULL;
}

static void
ta_free(void *ud, void *ptr, size_t n)
{
    test_alloc *t = ud;
    size_t *p = (size_t *)ptr - 2;
    ck_assert_uint_eq(p[0], n);
    for (int k = 0; k < 3 && t->secret[k]; k++) {
        size_t sl = strlen(t->secret[k]);
        for (size_t i = 0; i + sl <= n; i++) {
            if (memcmp((char *)ptr + i, t->secret[k], sl) == 0)
                t->dirty = 1;
        }
    }
    t->live -= n;
    t->blocks--;
    free(p);
}

/* Runs the RFC exchange (or PLAIN) with allocation number fail_at failing. Returns 1 when the
 * whole exchange succeeded, 0 when it failed cleanly with KW_ERR_NOMEM. */
static int
run_with_failure(kwi_sasl_mech mech, long fail_at, test_alloc *t)
{
    kw_allocator a = {ta_alloc, ta_realloc, ta_free, t};
    memset(t, 0, sizeof(*t));
    t->fail_at = fail_at;
    t->secret[0] = "pencil";
    t->secret[1] = "dHzbZapWIk4jUhN"; /* the start of the RFC proof */
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.alloc = &a;
    c.mech = mech;
    c.username = "user";
    c.password = "pencil";
    c.random = rng_fixed;
    c.random_ud = &rfc_rng;
    c.scram_nonce_len = strlen(rfc_cnonce);
    kwi_sasl *s = NULL;
    kwi_sasl_out o;
    kw_error err;
    kw_error_init(&err);
    int ok = 0;
    kw_err e = kwi_sasl_new(&c, &s, &err);
    if (e == KW_ERR_OK)
        e = kwi_sasl_start(s, &o, &err);
    if (e == KW_ERR_OK && mech == KWI_SASL_PLAIN)
        e = kwi_sasl_step(s, NULL, 0, &o, &err);
    if (e == KW_ERR_OK && mech != KWI_SASL_PLAIN) {
        e = step_str(s, rfc_server_first, &o, &err);
        if (e == KW_ERR_OK) {
            out_eq(&o, rfc_client_final, strlen(rfc_client_final));
            e = step_str(s, rfc_server_final, &o, &err);
        }
    }
    if (e == KW_ERR_OK) {
        ck_assert(o.done);
        ok = 1;
    } else {
        ck_assert_int_eq(e, KW_ERR_NOMEM);
        ck_assert(err.retriable);
        ck_assert(err.fatal);
    }
    kwi_sasl_free(s);
    ck_assert_uint_eq(t->live, 0);
    ck_assert_int_eq(t->blocks, 0);
    ck_assert_msg(!t->dirty, "a freed block still held the password or the proof");
    return ok;
}

START_TEST(alloc_failure_sweep)
{
    kwi_sasl_mech mechs[2] = {KWI_SASL_PLAIN, KWI_SASL_SCRAM_SHA_256};
    for (int m = 0; m < 2; m++) {
        test_alloc t;
        long k = 0;
        while (!run_with_failure(mechs[m], k, &t)) {
            k++;
            ck_assert_int_lt(k, 100);
        }
        /* The run that succeeded made exactly k allocations... and without failure too. */
        ck_assert_int_eq(t.count, k);
        ck_assert_int_eq(run_with_failure(mechs[m], -1, &t), 1);
        ck_assert_int_ge(k, mechs[m] == KWI_SASL_PLAIN ? 2 : 5);
    }
}
END_TEST

/* ---- interop with cyrus-sasl's SCRAM server ----------------------------------------------- */

#ifdef KWT_HAVE_CYRUS_SASL
static char sasldb_path[256];
static const char *cyrus_mechs = "SCRAM-SHA-256 SCRAM-SHA-512";
static char cyrus_log[512];

static int
cy_getopt(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    const char *v = NULL;
    if (strcmp(option, "sasldb_path") == 0)
        v = sasldb_path;
    else if (strcmp(option, "auxprop_plugin") == 0)
        v = "sasldb";
    else if (strcmp(option, "mech_list") == 0)
        v = cyrus_mechs;
    if (!v)
        return SASL_FAIL;
    *result = v;
    if (len)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int
cy_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level <= SASL_LOG_WARN)
        snprintf(cyrus_log, sizeof(cyrus_log), "%s", message);
    return SASL_OK;
}

/* sasl_callback_t.proc is int (*)(void); going through void (*)(void), which GCC treats as
 * matching every function type, keeps -Wcast-function-type quiet. */
typedef int (*cy_proc)(void);
static sasl_callback_t cy_callbacks[] = {
    {SASL_CB_GETOPT, (cy_proc)(void (*)(void))cy_getopt, NULL},
    {SASL_CB_LOG, (cy_proc)(void (*)(void))cy_log, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static char tmpdir[128];

static void
cyrus_init(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/kwtest-sasl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(sasldb_path, sizeof(sasldb_path), "%s/sasldb", tmpdir);
    ck_assert_int_eq(sasl_server_init(cy_callbacks, "kwire-test"), SASL_OK);
}

static void
cyrus_fini(void)
{
    sasl_server_done();
    /* sasldb back ends may add a lock file next to the database. */
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* SASL_SUCCESS_DATA: the protocol (Kafka's SaslAuthenticate response) carries data with the
 * success, so cyrus returns SASL_OK together with the server-final message instead of asking
 * for an extra empty round trip. */
static sasl_conn_t *
cyrus_conn(void)
{
    sasl_conn_t *conn = NULL;
    ck_assert_int_eq(
        sasl_server_new("kafka", "kwire.test", NULL, NULL, NULL, NULL, SASL_SUCCESS_DATA, &conn),
        SASL_OK);
    return conn;
}

static void
cyrus_add_user(const char *user, const char *pass)
{
    sasl_conn_t *conn = cyrus_conn();
    int r = sasl_setpass(conn, user, pass, (unsigned)strlen(pass), NULL, 0, SASL_SET_CREATE);
    ck_assert_msg(r == SASL_OK, "sasl_setpass: %d %s (%s)", r, sasl_errdetail(conn), cyrus_log);
    sasl_dispose(&conn);
}

/* One exchange: kwire's client against a new cyrus connection. Returns 1 when both sides
 * accepted, 0 when cyrus rejected the proof (SASL_BADAUTH) as it must for a wrong password. */
static int
cyrus_exchange(kwi_sasl_mech mech, const char *user, const char *pass)
{
    const char *name = mech == KWI_SASL_SCRAM_SHA_512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
    sasl_conn_t *conn = cyrus_conn();
    kwi_sasl *s = new_session(mech, user, pass, NULL, NULL);
    kwi_sasl_out o;
    kw_error err;
    const char *sout = NULL;
    unsigned slen = 0;
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    int r = sasl_server_start(conn, name, (const char *)o.ptr, (unsigned)o.len, &sout, &slen);
    ck_assert_msg(r == SASL_CONTINUE, "sasl_server_start: %d %s (%s)", r, sasl_errdetail(conn),
                  cyrus_log);
    /* cyrus issues 4096 iterations (TESTING.md); kwire must accept them. */
    ck_assert_ptr_nonnull(memmem(sout, slen, ",i=4096", 7));
    kw_error_init(&err);
    ck_assert_msg(kwi_sasl_step(s, (const uint8_t *)sout, slen, &o, &err) == KW_ERR_OK,
                  "kwire refused cyrus's server-first \"%.*s\": %s", (int)slen, sout, err.msg);
    r = sasl_server_step(conn, (const char *)o.ptr, (unsigned)o.len, &sout, &slen);
    int ok;
    if (r == SASL_OK) {
        /* cyrus accepted our proof; its server-final (v=...) must verify on our side. */
        ck_assert_ptr_nonnull(sout);
        kw_error_init(&err);
        ck_assert_msg(kwi_sasl_step(s, (const uint8_t *)sout, slen, &o, &err) == KW_ERR_OK,
                      "kwire refused cyrus's server-final \"%.*s\": %s", (int)slen, sout, err.msg);
        ck_assert(o.done);
        const char *authed = NULL;
        ck_assert_int_eq(sasl_getprop(conn, SASL_USERNAME, (const void **)&authed), SASL_OK);
        ck_assert_str_eq(authed, user);
        ok = 1;
    } else {
        ck_assert_msg(r == SASL_BADAUTH, "sasl_server_step: %d %s (%s)", r, sasl_errdetail(conn),
                      cyrus_log);
        ok = 0;
    }
    kwi_sasl_free(s);
    sasl_dispose(&conn);
    return ok;
}
#endif

START_TEST(interop_cyrus_sasl)
{
#ifdef KWT_HAVE_CYRUS_SASL
    cyrus_init();
    cyrus_add_user("alice", "correct horse battery staple");
    cyrus_add_user("kw,user=1", "p,=w\xc3\xa9"); /* escaping, and a UTF-8 password */
    kwi_sasl_mech mechs[2] = {KWI_SASL_SCRAM_SHA_256, KWI_SASL_SCRAM_SHA_512};
    for (int m = 0; m < 2; m++) {
        ck_assert_int_eq(cyrus_exchange(mechs[m], "alice", "correct horse battery staple"), 1);
        ck_assert_int_eq(cyrus_exchange(mechs[m], "alice", "correct horse battery stapl"), 0);
        ck_assert_int_eq(cyrus_exchange(mechs[m], "alice", "wrong"), 0);
        ck_assert_int_eq(cyrus_exchange(mechs[m], "kw,user=1", "p,=w\xc3\xa9"), 1);
        ck_assert_int_eq(cyrus_exchange(mechs[m], "kw,user=1", "p,=w"), 0);
    }
    cyrus_fini();
#else
    fprintf(stderr, "SKIP net_sasl interop_cyrus_sasl: cyrus-sasl (libsasl2) not found at "
                    "configure time; install libsasl2-dev and libsasl2-modules\n");
#endif
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("net_sasl");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, plain_bytes_exact);
    tcase_add_test(tc, plain_rejects_server_data);
    tcase_add_test(tc, bad_configuration);
    tcase_add_test(tc, mech_names);
    tcase_add_test(tc, scram_rfc7677_exchange);
    tcase_add_test(tc, scram_sha512_exchange);
    tcase_add_test(tc, scram_extensions_ignored);
    tcase_add_test(tc, scram_tampered_signature);
    tcase_add_test(tc, scram_server_final_malformed);
    tcase_add_test(tc, scram_foreign_nonce);
    tcase_add_test(tc, scram_iterations_out_of_range);
    tcase_add_test(tc, scram_server_first_malformed);
    tcase_add_test(tc, scram_state_machine);
    tcase_add_test(tc, scram_default_nonce);
    tcase_add_test(tc, alloc_failure_sweep);
    tcase_add_test(tc, interop_cyrus_sasl);
    suite_add_tcase(s, tc);
    return s;
}

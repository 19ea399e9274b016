/* SASL on the broker: the users, SaslHandshake (17), SaslAuthenticate (36), the raw token
 * framing after SaslHandshake v0, and the gate that keeps unauthenticated connections to what
 * Kafka allows them.
 *
 * The states follow Kafka's SaslServerAuthenticator: INITIAL (ApiVersions, SaslHandshake),
 * then HANDSHAKEN after v1 (SaslAuthenticate only) or RAW after v0 (size-prefixed tokens
 * without Kafka headers, answered the same way; PLAIN's success is an empty token, as Kafka
 * sends), then AUTHENTICATED. Anything out of place closes the connection, as Kafka does, with
 * the reason in the log. The mechanisms themselves are in sasl_server_scram.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mock_sec.h"
#include "util/sha2.h"

enum {
    E_UNSUPPORTED_SASL_MECHANISM = 33,
    E_ILLEGAL_SASL_STATE = 34,
    E_SASL_AUTHENTICATION_FAILED = 58,
};

#define KEY_SASL_HANDSHAKE    17
#define KEY_API_VERSIONS      18
#define KEY_SASL_AUTHENTICATE 36

static const char *const mech_names[KWI_MOCK_MECH_COUNT + 1] = {NULL, "PLAIN", "SCRAM-SHA-256",
                                                                "SCRAM-SHA-512"};

const char *
kwi_mock_mech_name(int mech)
{
    return mech >= 1 && mech <= KWI_MOCK_MECH_COUNT ? mech_names[mech] : "?";
}

int
kwi_mock_mech_lookup(const char *s, size_t n)
{
    for (int i = 1; i <= KWI_MOCK_MECH_COUNT; i++)
        if (strlen(mech_names[i]) == n && strncasecmp(mech_names[i], s, n) == 0)
            return i;
    return 0;
}

static kwi_hash_alg
mech_alg(int mech)
{
    return mech == KWI_MOCK_MECH_SCRAM_SHA_512 ? KWI_HASH_SHA512 : KWI_HASH_SHA256;
}

/* ---------------------------------------------------------------- users */

static void
user_wipe(kw_mock *m, kwi_mock_sasl_user *u)
{
    if (u->name)
        m->a->free(m->a->ud, u->name, u->name_len + 1);
    if (u->password) {
        kwi_secure_zero(u->password, u->password_len);
        m->a->free(m->a->ud, u->password, u->password_len + 1);
    }
    kwi_secure_zero(u, sizeof(*u));
}

void
kwi_mock_sasl_users_free(kw_mock *m, kwi_mock_secstate *st)
{
    for (int32_t i = 0; i < st->n_users; i++)
        user_wipe(m, &st->users[i]);
    if (st->users)
        m->a->free(m->a->ud, st->users, (size_t)st->cap_users * sizeof(*st->users));
    st->users = NULL;
    st->n_users = st->cap_users = 0;
}

static kwi_mock_sasl_user *
user_find(kwi_mock_secstate *st, int mech, const char *name, size_t len)
{
    for (int32_t i = 0; i < st->n_users; i++) {
        kwi_mock_sasl_user *u = &st->users[i];
        if (u->mech == mech && u->name_len == len && memcmp(u->name, name, len) == 0)
            return u;
    }
    return NULL;
}

static char *
dup_str(kw_mock *m, const char *s, size_t n)
{
    char *p = m->a->alloc(m->a->ud, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Fills u (outside the lock: PBKDF2 with 4096 iterations takes a few milliseconds). */
static kw_err
user_make(kw_mock *m, int mech, const char *name, const char *pass, kwi_mock_sasl_user *u)
{
    memset(u, 0, sizeof(*u));
    u->mech = mech;
    u->name_len = strlen(name);
    u->name = dup_str(m, name, u->name_len);
    if (!u->name)
        return KW_ERR_NOMEM;
    size_t plen = strlen(pass);
    if (mech == KWI_MOCK_MECH_PLAIN) {
        u->password_len = plen;
        u->password = dup_str(m, pass, plen);
        return u->password ? KW_ERR_OK : KW_ERR_NOMEM;
    }
    uint8_t salt[KWI_MOCK_SCRAM_SALT_LEN];
    kwi_mock_random(salt, sizeof(salt));
    return kwi_mock_scram_cred_make(mech_alg(mech), pass, plen, salt, sizeof(salt),
                                    KWI_MOCK_SCRAM_ITERATIONS, &u->scram);
}

kw_err
kw_mock_sasl_user_add(kw_mock *m, const char *mechanism, const char *username, const char *password,
                      kw_error *err)
{
    int mech = mechanism ? kwi_mock_mech_lookup(mechanism, strlen(mechanism)) : 0;
    if (!mech)
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "unknown SASL mechanism %s (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)",
                            mechanism ? mechanism : "(null)");
    size_t ul = username ? strlen(username) : 0, pl = password ? strlen(password) : 0;
    if (ul == 0 || ul > KWI_MOCK_SASL_MAX_CRED || pl == 0 || pl > KWI_MOCK_SASL_MAX_CRED)
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "a SASL user name and password must be 1..%u bytes",
                            KWI_MOCK_SASL_MAX_CRED);
    kwi_mock_sasl_user nu;
    kw_err e = user_make(m, mech, username, password, &nu);
    if (e) {
        user_wipe(m, &nu);
        return kw_error_set(err, e, "cannot add SASL user: %s", kw_err_str(e));
    }
    pthread_mutex_lock(&m->lock);
    kwi_mock_secstate *st = kwi_mock_secstate_of(m);
    kwi_mock_sasl_user *old = user_find(st, mech, username, ul);
    if (old) {
        user_wipe(m, old);
        *old = nu;
    } else if (st->n_users == st->cap_users) {
        int32_t cap = st->cap_users ? st->cap_users * 2 : 8;
        kwi_mock_sasl_user *nv =
            st->users ? m->a->realloc(m->a->ud, st->users, (size_t)st->cap_users * sizeof(*nv),
                                      (size_t)cap * sizeof(*nv))
                      : m->a->alloc(m->a->ud, (size_t)cap * sizeof(*nv));
        if (!nv) {
            e = KW_ERR_NOMEM;
        } else {
            st->users = nv;
            st->cap_users = cap;
        }
    }
    if (!old && !e)
        st->users[st->n_users++] = nu;
    pthread_mutex_unlock(&m->lock);
    if (e) {
        user_wipe(m, &nu);
        return kw_error_set(err, e, "out of memory");
    }
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "SASL %s user %s %s", kwi_mock_mech_name(mech), username,
                  old ? "updated" : "added");
    return KW_ERR_OK;
}

kw_err
kw_mock_sasl_session_lifetime_set(kw_mock *m, int64_t ms)
{
    if (ms < 0)
        return KW_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->lock);
    kwi_mock_secstate_of(m)->session_lifetime_ms = ms;
    pthread_mutex_unlock(&m->lock);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- the gate */

static void
deny(kwi_mock_sec *s, int16_t key, const char *why)
{
    kwi_mock_logf(s->m, KW_MOCK_LOG_INFO, "broker %d: closing connection %llu: API %d %s",
                  (int)s->b->node_id, (unsigned long long)s->conn_id, (int)key, why);
}

bool
kwi_mock_sasl_raw_mode(const kwi_mock_sec *s)
{
    return s && s->sasl_state == KWI_SASL_ST_RAW;
}

int
kwi_mock_sasl_gate(kwi_mock_sec *s, const uint8_t *frame, size_t len)
{
    if (!s || s->sasl_state == KWI_SASL_ST_NONE)
        return KWI_MOCK_SASL_PASS;
    if (s->sasl_state == KWI_SASL_ST_RAW)
        return KWI_MOCK_SASL_RAW;
    if (len < 2)
        return KWI_MOCK_SASL_CLOSE;
    int16_t key = (int16_t)(frame[0] << 8 | frame[1]);
    switch (s->sasl_state) {
    case KWI_SASL_ST_INITIAL:
        if (key == KEY_API_VERSIONS || key == KEY_SASL_HANDSHAKE)
            return KWI_MOCK_SASL_PASS;
        deny(s, key, "before SASL authentication");
        return KWI_MOCK_SASL_CLOSE;
    case KWI_SASL_ST_HANDSHAKEN:
        if (key == KEY_SASL_AUTHENTICATE)
            return KWI_MOCK_SASL_PASS;
        deny(s, key, "during SASL authentication (SaslAuthenticate expected)");
        return KWI_MOCK_SASL_CLOSE;
    default:
        /* KIP-368: an expired session may only re-authenticate. */
        if (s->expires_at && kwi_mock_now_ms(s->m) >= s->expires_at && key != KEY_SASL_HANDSHAKE &&
            key != KEY_SASL_AUTHENTICATE) {
            deny(s, key, "after the SASL session expired");
            return KWI_MOCK_SASL_CLOSE;
        }
        return KWI_MOCK_SASL_PASS;
    }
}

void
kwi_mock_sasl_conn_fini(kwi_mock_sec *s)
{
    kwi_mock_scram_free(s->scram);
    s->scram = NULL;
}

/* ---------------------------------------------------------------- exchanges */

static const kwi_mock_scram_cred *
scram_lookup(void *ud, const char *user, size_t len)
{
    kwi_mock_sec *s = ud;
    kwi_mock_sasl_user *u = user_find(kwi_mock_secstate_of(s->m), s->mech, user, len);
    return u ? &u->scram : NULL;
}

static const kwi_mock_sasl_user *
plain_lookup(void *ud, const char *user, size_t len)
{
    kwi_mock_sec *s = ud;
    return user_find(kwi_mock_secstate_of(s->m), KWI_MOCK_MECH_PLAIN, user, len);
}

/* Kafka's messages for a failed login (SaslServerAuthenticator, PlainSaslServer). */
static void
fail_message(const kwi_mock_sec *s, char *buf, size_t cap)
{
    if (s->mech == KWI_MOCK_MECH_PLAIN)
        snprintf(buf, cap, "Authentication failed: Invalid username or password");
    else
        snprintf(buf, cap,
                 "Authentication failed during %s due to invalid credentials with SASL "
                 "mechanism %s",
                 s->reauth ? "re-authentication" : "authentication", kwi_mock_mech_name(s->mech));
}

/* One client token through the chosen mechanism. */
static kwi_mock_sasl_rc
step(kwi_mock_sec *s, const uint8_t *tok, size_t len, const uint8_t **out, size_t *out_len,
     const char **why)
{
    const char *user = NULL;
    char plain_user[KWI_MOCK_SASL_MAX_CRED + 1];
    kwi_mock_sasl_rc rc;
    *out = NULL;
    *out_len = 0;
    if (s->mech == KWI_MOCK_MECH_PLAIN) {
        rc = kwi_mock_plain_check(tok, len, plain_lookup, s, plain_user, sizeof(plain_user), why);
        user = plain_user;
    } else {
        if (!s->scram)
            s->scram = kwi_mock_scram_new(s->m->a, mech_alg(s->mech), NULL);
        if (!s->scram) {
            *why = "out of memory";
            return KWI_MOCK_SASL_FAIL;
        }
        rc = kwi_mock_scram_step(s->scram, tok, len, scram_lookup, s, out, out_len, &user, why);
    }
    if (rc != KWI_MOCK_SASL_DONE)
        return rc;
    /* KIP-368: re-authentication must keep the principal. */
    if (s->reauth && strcmp(s->principal, user) != 0) {
        *why = "re-authentication as a different user";
        return KWI_MOCK_SASL_FAIL;
    }
    snprintf(s->principal, sizeof(s->principal), "%s", user);
    int64_t life = kwi_mock_secstate_of(s->m)->session_lifetime_ms;
    s->expires_at = life > 0 ? kwi_mock_now_ms(s->m) + life : 0;
    s->sasl_state = KWI_SASL_ST_AUTHENTICATED;
    kwi_mock_logf(s->m, KW_MOCK_LOG_INFO, "broker %d: connection %llu: %s %s as %s",
                  (int)s->b->node_id, (unsigned long long)s->conn_id, kwi_mock_mech_name(s->mech),
                  s->reauth ? "re-authenticated" : "authenticated", s->principal);
    s->reauth = false;
    return rc;
}

static void
log_failure(kwi_mock_sec *s, const char *why)
{
    kwi_mock_logf(s->m, KW_MOCK_LOG_INFO,
                  "broker %d: connection %llu: %s authentication failed: %s", (int)s->b->node_id,
                  (unsigned long long)s->conn_id, kwi_mock_mech_name(s->mech), why ? why : "?");
}

/* The token after the last one of an exchange: the state moves on, the scram state goes. */
static void
exchange_over(kwi_mock_sec *s)
{
    kwi_mock_scram_free(s->scram);
    s->scram = NULL;
}

kw_err
kwi_mock_sasl_raw(kwi_mock_req *req, const uint8_t *token, size_t len)
{
    kwi_mock_sec *s = kwi_mock_req_sec(req);
    const uint8_t *out;
    size_t out_len;
    const char *why = NULL;
    kwi_mock_sasl_rc rc = step(s, token, len, &out, &out_len, &why);
    if (rc == KWI_MOCK_SASL_FAIL) {
        /* The raw framing has no way to say why: Kafka just closes. */
        log_failure(s, why);
        exchange_over(s);
        return KW_ERR_AUTH;
    }
    kw_err e = kwi_mock_reply_raw(req, out, out_len); /* copies out, which the exchange owns */
    if (rc == KWI_MOCK_SASL_DONE)
        exchange_over(s);
    return e;
}

static kw_err
sasl_handshake(kwi_mock_req *req, int16_t ver, void *msg)
{
    kw_sasl_handshake_req *r = msg;
    kwi_mock_sec *s = kwi_mock_req_sec(req);
    kwi_mock_secstate *st = kwi_mock_secstate_of(req->m);
    kw_sasl_handshake_resp resp;
    memset(&resp, 0, sizeof(resp));
    /* The enabled mechanisms: those with users, in a fixed order. */
    resp.mechanisms = kwi_mock_req_alloc(req, KWI_MOCK_MECH_COUNT, sizeof(kw_slice));
    if (!resp.mechanisms)
        return KW_ERR_NOMEM;
    bool enabled[KWI_MOCK_MECH_COUNT + 1] = {false};
    for (int32_t i = 0; i < st->n_users; i++)
        enabled[st->users[i].mech] = true;
    for (int i = 1; i <= KWI_MOCK_MECH_COUNT; i++)
        if (enabled[i])
            resp.mechanisms[resp.n_mechanisms++] = kw_slice_str(mech_names[i]);
    int mech = r->mechanism.len > 0
                   ? kwi_mock_mech_lookup((const char *)r->mechanism.ptr, (size_t)r->mechanism.len)
                   : 0;
    bool reauth =
        s && s->sasl_state == KWI_SASL_ST_AUTHENTICATED && st->session_lifetime_ms > 0 && ver >= 1;
    if (!s || s->sasl_state == KWI_SASL_ST_NONE ||
        (s->sasl_state == KWI_SASL_ST_AUTHENTICATED && !reauth)) {
        /* KafkaApis' answer on a connection that is not (or no longer) authenticating. */
        resp.error_code = E_ILLEGAL_SASL_STATE;
        resp.n_mechanisms = 0;
        return kwi_mock_reply(req, &resp);
    }
    if (!mech || !enabled[mech] || (reauth && mech != s->mech)) {
        kwi_mock_logf(req->m, KW_MOCK_LOG_INFO,
                      "broker %d: connection %llu: SASL mechanism %.*s is not enabled",
                      (int)req->broker->node_id, (unsigned long long)s->conn_id,
                      (int)(r->mechanism.len > 0 ? r->mechanism.len : 0),
                      r->mechanism.len > 0 ? (const char *)r->mechanism.ptr : "");
        resp.error_code = E_UNSUPPORTED_SASL_MECHANISM;
        req->close_after = true; /* Kafka closes after telling the client */
        return kwi_mock_reply(req, &resp);
    }
    s->mech = mech;
    s->reauth = reauth;
    s->sasl_state = ver == 0 ? KWI_SASL_ST_RAW : KWI_SASL_ST_HANDSHAKEN;
    return kwi_mock_reply(req, &resp);
}

static kw_err
sasl_authenticate(kwi_mock_req *req, int16_t ver, void *msg)
{
    kw_sasl_authenticate_req *r = msg;
    kwi_mock_sec *s = kwi_mock_req_sec(req);
    kw_sasl_authenticate_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (!s || s->sasl_state != KWI_SASL_ST_HANDSHAKEN) {
        resp.error_code = E_ILLEGAL_SASL_STATE;
        resp.error_message = kw_slice_str("SaslAuthenticate request received after successful "
                                          "authentication");
        return kwi_mock_reply(req, &resp);
    }
    const uint8_t *out;
    size_t out_len;
    const char *why = NULL;
    kwi_mock_sasl_rc rc =
        step(s, r->auth_bytes.ptr, r->auth_bytes.len > 0 ? (size_t)r->auth_bytes.len : 0, &out,
             &out_len, &why);
    if (rc == KWI_MOCK_SASL_FAIL) {
        log_failure(s, why);
        char buf[160];
        fail_message(s, buf, sizeof(buf));
        char *m = kwi_mock_req_strdup(req, kw_slice_str(buf));
        if (!m)
            return KW_ERR_NOMEM;
        exchange_over(s);
        resp.error_code = E_SASL_AUTHENTICATION_FAILED;
        resp.error_message = kw_slice_str(m);
        req->close_after = true;
        return kwi_mock_reply(req, &resp);
    }
    /* The server message lives in the exchange, which the DONE case frees: copy it first. */
    uint8_t *copy = kwi_mock_req_alloc(req, out_len ? out_len : 1, 1);
    if (!copy)
        return KW_ERR_NOMEM;
    if (out_len)
        memcpy(copy, out, out_len);
    resp.auth_bytes = (kw_slice){copy, (int32_t)out_len};
    if (rc == KWI_MOCK_SASL_DONE) {
        exchange_over(s);
        if (ver >= 1)
            resp.session_lifetime_ms = kwi_mock_secstate_of(req->m)->session_lifetime_ms;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_sasl_init(kw_mock *m)
{
    /* Kafka advertises both on every listener; see sasl_handshake for the non-SASL answer. */
    kw_err e = kwi_mock_api_register(m, &kw_msg_sasl_handshake_req, -1, -1, sasl_handshake, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_sasl_authenticate_req, -1, -1, sasl_authenticate,
                                  NULL);
    return e;
}

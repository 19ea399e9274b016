/* The server side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) and of PLAIN (RFC 4616), as pure
 * functions of the client's messages: no I/O, no clock, no logging.
 *
 * SCRAM, as a Kafka broker runs it (ScramSaslServer):
 *   client-first  = gs2-header client-first-bare
 *     gs2-header  = ("n" / "y") "," [ "a=" authzid ] ","     ("p=" channel binding: refused)
 *     bare        = "n=" saslname "," "r=" c-nonce *("," extension)
 *   server-first  = "r=" c-nonce s-nonce "," "s=" base64(salt) "," "i=" iterations
 *   client-final  = "c=" base64(gs2-header) "," "r=" nonce *("," extension) "," "p=" proof
 *   server-final  = "v=" base64(ServerSignature)
 * with AuthMessage = bare "," server-first "," client-final-without-proof, ClientSignature =
 * HMAC(StoredKey, AuthMessage), ClientKey = proof XOR ClientSignature, and the login good when
 * H(ClientKey) == StoredKey (compared in constant time). The credential holds StoredKey and
 * ServerKey only (derived once, when the user is configured), so a login costs two HMACs and a
 * hash, never PBKDF2. Every client message is bounded (KWI_MOCK_SASL_MAX_MSG) before parsing. */
#include <stdio.h>
#include <string.h>

#include "mock_sec.h"
#include "util/base64.h"

#define SNONCE_LEN 32 /* characters of the server's nonce part */

struct kwi_mock_scram {
    const kw_allocator *a;
    kwi_hash_alg alg;
    int step; /* 0: expects client-first; 1: expects client-final; 2: finished */
    kwi_mock_scram_cred cred;
    char snonce[KWI_MOCK_SASL_MAX_MSG + 1];
    char user[KWI_MOCK_SASL_MAX_CRED + 1];
    char cbind[KWI_MOCK_SASL_MAX_MSG]; /* base64(gs2-header), what "c=" must carry */
    char nonce[KWI_MOCK_SASL_MAX_MSG]; /* c-nonce s-nonce */
    /* AuthMessage: bare "," server-first "," client-final-without-proof */
    char auth[3 * KWI_MOCK_SASL_MAX_MSG + 256];
    size_t auth_len;
    char out[KWI_MOCK_SASL_MAX_MSG + 256];
};

/* ---------------------------------------------------------------- credentials */

kw_err
kwi_mock_scram_cred_make(kwi_hash_alg alg, const char *password, size_t plen, const uint8_t *salt,
                         size_t salt_len, uint32_t iterations, kwi_mock_scram_cred *out)
{
    size_t hl = kwi_hash_len(alg);
    if (!hl || salt_len == 0 || salt_len > sizeof(out->salt))
        return KW_ERR_INVALID_ARG;
    uint8_t salted[KWI_HASH_MAX_LEN], client_key[KWI_HASH_MAX_LEN];
    kw_err e = kwi_pbkdf2_hmac(alg, password, plen, salt, salt_len, iterations, salted, hl);
    if (e)
        return e;
    memset(out, 0, sizeof(*out));
    memcpy(out->salt, salt, salt_len);
    out->salt_len = salt_len;
    out->iterations = iterations;
    kwi_hmac_once(alg, salted, hl, "Client Key", 10, client_key);
    kwi_hash_once(alg, client_key, hl, out->stored_key);
    kwi_hmac_once(alg, salted, hl, "Server Key", 10, out->server_key);
    kwi_secure_zero(salted, sizeof(salted));
    kwi_secure_zero(client_key, sizeof(client_key));
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- exchange */

kwi_mock_scram *
kwi_mock_scram_new(const kw_allocator *a, kwi_hash_alg alg, const char *snonce)
{
    if (!kwi_hash_len(alg) || (snonce && strlen(snonce) > KWI_MOCK_SASL_MAX_MSG))
        return NULL;
    kwi_mock_scram *s = a->alloc(a->ud, sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->a = a;
    s->alg = alg;
    if (snonce) {
        memcpy(s->snonce, snonce, strlen(snonce) + 1);
    } else {
        /* 24 random bytes in base64: 32 printable characters, never ',' or '='. */
        uint8_t r[24];
        size_t n;
        kwi_mock_random(r, sizeof(r));
        kwi_base64_encode(r, sizeof(r), s->snonce, sizeof(s->snonce) - 1, &n);
        s->snonce[n] = '\0';
    }
    return s;
}

void
kwi_mock_scram_free(kwi_mock_scram *s)
{
    if (!s)
        return;
    const kw_allocator *a = s->a;
    kwi_secure_zero(s, sizeof(*s)); /* keys, the proof's AuthMessage */
    a->free(a->ud, s, sizeof(*s));
}

/* A cursor over a client message split at ','. */
typedef struct attr_rd {
    const char *p, *end;
} attr_rd;

/* The next ','-separated field (may be empty); false at the end. */
static bool
next_field(attr_rd *r, const char **f, size_t *n)
{
    if (r->p > r->end)
        return false;
    const char *c = memchr(r->p, ',', (size_t)(r->end - r->p));
    const char *stop = c ? c : r->end;
    *f = r->p;
    *n = (size_t)(stop - r->p);
    r->p = stop + 1; /* past the end when there was no comma: the next call ends */
    return true;
}

/* "k=value" with the expected key: the value. */
static bool
attr(const char *f, size_t n, char key, const char **v, size_t *vn)
{
    if (n < 2 || f[0] != key || f[1] != '=')
        return false;
    *v = f + 2;
    *vn = n - 2;
    return true;
}

/* RFC 5802 saslname: "=2C" is ',', "=3D" is '='; any other '=' is malformed. */
static bool
unescape_name(const char *v, size_t n, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (ch == '=') {
            if (n - i < 3)
                return false;
            if (v[i + 1] == '2' && v[i + 2] == 'C')
                ch = ',';
            else if (v[i + 1] == '3' && v[i + 2] == 'D')
                ch = '=';
            else
                return false;
            i += 2;
        }
        if (ch == '\0' || o + 1 >= cap)
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    *len = o;
    return o > 0;
}

static bool
printable_nonce(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
            return false;
    return true;
}

/* Extensions after the nonce: accepted and ignored, except the delegation-token one. */
static bool
extensions_ok(attr_rd *r, const char **why)
{
    const char *f;
    size_t n;
    while (next_field(r, &f, &n)) {
        if (n == 14 && memcmp(f, "tokenauth=true", 14) == 0) {
            *why = "delegation tokens are not supported";
            return false;
        }
        if (n < 2 || memchr(f, '=', n) == NULL) {
            *why = "malformed SCRAM extension";
            return false;
        }
    }
    return true;
}

static kwi_mock_sasl_rc
fail(kwi_mock_scram *s, const char **why, const char *reason)
{
    s->step = 2;
    *why = reason;
    return KWI_MOCK_SASL_FAIL;
}

static kwi_mock_sasl_rc
client_first(kwi_mock_scram *s, const char *m, size_t len, kwi_mock_scram_lookup lookup, void *ud,
             const uint8_t **out, size_t *out_len, const char **why)
{
    attr_rd r = {m, m + len};
    const char *f = m, *v;
    size_t n = 0, vn, ulen;
    if (!next_field(&r, &f, &n) || n != 1 || (f[0] != 'n' && f[0] != 'y'))
        return fail(s, why,
                    n && f[0] == 'p' ? "channel binding is not supported"
                                     : "malformed SCRAM client-first message (gs2 header)");
    const char *authz = NULL;
    size_t authz_n = 0;
    if (!next_field(&r, &f, &n) || (n && !attr(f, n, 'a', &authz, &authz_n)))
        return fail(s, why, "malformed SCRAM client-first message (authzid)");
    const char *bare = r.p;
    size_t gs2_len = (size_t)(bare - m);
    if (!next_field(&r, &f, &n) || !attr(f, n, 'n', &v, &vn) ||
        !unescape_name(v, vn, s->user, sizeof(s->user), &ulen))
        return fail(s, why, "malformed SCRAM client-first message (user name)");
    if (authz) {
        char az[KWI_MOCK_SASL_MAX_CRED + 1];
        size_t azl;
        if (!unescape_name(authz, authz_n, az, sizeof(az), &azl) || azl != ulen ||
            memcmp(az, s->user, ulen) != 0)
            return fail(s, why, "the authorization id differs from the user name");
    }
    if (!next_field(&r, &f, &n) || !attr(f, n, 'r', &v, &vn) || !printable_nonce(v, vn))
        return fail(s, why, "malformed SCRAM client-first message (nonce)");
    if (!extensions_ok(&r, why))
        return fail(s, why, *why);
    const kwi_mock_scram_cred *cred = lookup(ud, s->user, ulen);
    if (!cred)
        return fail(s, why, "unknown user");
    s->cred = *cred;
    /* What "c=" must say: base64 of the gs2 header exactly as sent ("n,," is "biws"). */
    size_t cb;
    if (kwi_base64_encode(m, gs2_len, s->cbind, sizeof(s->cbind) - 1, &cb))
        return fail(s, why, "SCRAM client-first message too long");
    s->cbind[cb] = '\0';
    int nl = snprintf(s->nonce, sizeof(s->nonce), "%.*s%s", (int)vn, v, s->snonce);
    char salt[64];
    size_t sl;
    kwi_base64_encode(cred->salt, cred->salt_len, salt, sizeof(salt) - 1, &sl);
    salt[sl] = '\0';
    int ol = snprintf(s->out, sizeof(s->out), "r=%s,s=%s,i=%u", s->nonce, salt,
                      (unsigned)cred->iterations);
    size_t bare_len = len - gs2_len;
    if (nl < 0 || (size_t)nl >= sizeof(s->nonce) || ol < 0 || (size_t)ol >= sizeof(s->out) ||
        bare_len + 1 + (size_t)ol >= sizeof(s->auth))
        return fail(s, why, "SCRAM client-first message too long");
    memcpy(s->auth, bare, bare_len);
    s->auth[bare_len] = ',';
    memcpy(s->auth + bare_len + 1, s->out, (size_t)ol);
    s->auth_len = bare_len + 1 + (size_t)ol;
    s->step = 1;
    *out = (const uint8_t *)s->out;
    *out_len = (size_t)ol;
    return KWI_MOCK_SASL_CONTINUE;
}

static kwi_mock_sasl_rc
client_final(kwi_mock_scram *s, const char *m, size_t len, const uint8_t **out, size_t *out_len,
             const char **user, const char **why)
{
    /* The proof is the last attribute; everything before ",p=" enters the AuthMessage. */
    const char *p = NULL;
    for (size_t i = len; i >= 3 && !p; i--)
        if (memcmp(m + i - 3, ",p=", 3) == 0)
            p = m + i - 3;
    if (!p)
        return fail(s, why, "malformed SCRAM client-final message (no proof)");
    size_t wo_len = (size_t)(p - m);
    attr_rd r = {m, p};
    const char *f, *v;
    size_t n, vn;
    if (!next_field(&r, &f, &n) || !attr(f, n, 'c', &v, &vn) || vn != strlen(s->cbind) ||
        memcmp(v, s->cbind, vn) != 0)
        return fail(s, why, "the SCRAM channel binding does not match the gs2 header");
    /* RFC 5802 wants the nonce exactly; Kafka's ScramSaslServer only checks that it ends with
     * the server-first nonce, and librdkafka (2.0.2, kcat) relies on that: it sends its own
     * nonce again in front. The AuthMessage holds the nonce as sent, so the proof still binds
     * it. */
    size_t nl = strlen(s->nonce);
    if (!next_field(&r, &f, &n) || !attr(f, n, 'r', &v, &vn) || vn < nl ||
        memcmp(v + vn - nl, s->nonce, nl) != 0)
        return fail(s, why, "the SCRAM nonce does not match");
    if (!extensions_ok(&r, why))
        return fail(s, why, *why);
    size_t hl = kwi_hash_len(s->alg);
    uint8_t proof[KWI_HASH_MAX_LEN + 3], sig[KWI_HASH_MAX_LEN], key[KWI_HASH_MAX_LEN];
    size_t pl;
    if (kwi_base64_decode(p + 3, len - wo_len - 3, proof, sizeof(proof), &pl) || pl != hl)
        return fail(s, why, "malformed SCRAM client proof");
    if (s->auth_len + 1 + wo_len > sizeof(s->auth))
        return fail(s, why, "SCRAM client-final message too long");
    s->auth[s->auth_len] = ',';
    memcpy(s->auth + s->auth_len + 1, m, wo_len);
    s->auth_len += 1 + wo_len;
    kwi_hmac_once(s->alg, s->cred.stored_key, hl, s->auth, s->auth_len, sig);
    for (size_t i = 0; i < hl; i++)
        key[i] = proof[i] ^ sig[i];
    kwi_hash_once(s->alg, key, hl, sig);
    int good = kwi_ct_equal(sig, s->cred.stored_key, hl);
    kwi_secure_zero(key, sizeof(key));
    if (!good)
        return fail(s, why, "wrong password (the client proof does not verify)");
    kwi_hmac_once(s->alg, s->cred.server_key, hl, s->auth, s->auth_len, sig);
    memcpy(s->out, "v=", 2);
    size_t el;
    kwi_base64_encode(sig, hl, s->out + 2, sizeof(s->out) - 2, &el);
    s->step = 2;
    *out = (const uint8_t *)s->out;
    *out_len = 2 + el;
    *user = s->user;
    return KWI_MOCK_SASL_DONE;
}

kwi_mock_sasl_rc
kwi_mock_scram_step(kwi_mock_scram *s, const uint8_t *msg, size_t len, kwi_mock_scram_lookup lookup,
                    void *ud, const uint8_t **out, size_t *out_len, const char **user,
                    const char **why)
{
    *out = NULL;
    *out_len = 0;
    *user = NULL;
    *why = NULL;
    if (len == 0 || len > KWI_MOCK_SASL_MAX_MSG)
        return fail(s, why, len ? "SCRAM message too long" : "empty SCRAM message");
    if (memchr(msg, '\0', len))
        return fail(s, why, "NUL in a SCRAM message");
    switch (s->step) {
    case 0:
        return client_first(s, (const char *)msg, len, lookup, ud, out, out_len, why);
    case 1:
        return client_final(s, (const char *)msg, len, out, out_len, user, why);
    default:
        return fail(s, why, "the SCRAM exchange is over");
    }
}

/* ---------------------------------------------------------------- PLAIN */

kwi_mock_sasl_rc
kwi_mock_plain_check(const uint8_t *msg, size_t len, kwi_mock_plain_lookup find, void *ud,
                     char *user_buf, size_t cap, const char **why)
{
    /* authzid NUL authcid NUL passwd: exactly two NULs (RFC 4616 section 2). */
    const uint8_t *n1 = len ? memchr(msg, '\0', len) : NULL;
    const uint8_t *n2 = n1 ? memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - msg)) : NULL;
    if (!n2 || memchr(n2 + 1, '\0', len - (size_t)(n2 + 1 - msg))) {
        *why = "malformed PLAIN message";
        return KWI_MOCK_SASL_FAIL;
    }
    size_t az = (size_t)(n1 - msg), un = (size_t)(n2 - n1 - 1);
    size_t pn = len - (size_t)(n2 + 1 - msg);
    if (un == 0 || pn == 0 || un >= cap) {
        *why = "empty or over-long PLAIN user name or password";
        return KWI_MOCK_SASL_FAIL;
    }
    memcpy(user_buf, n1 + 1, un);
    user_buf[un] = '\0';
    /* Kafka's PlainSaslServer: an authorization id must name the user itself. */
    if (az && (az != un || memcmp(msg, user_buf, un) != 0)) {
        *why = "the authorization id differs from the user name";
        return KWI_MOCK_SASL_FAIL;
    }
    const kwi_mock_sasl_user *u = find(ud, user_buf, un);
    /* Compare in time that depends only on the length: the expected password's when the user
     * exists, so an unknown user takes as long as a wrong password of that length. */
    int good = u && u->password_len == pn && kwi_ct_equal(u->password, n2 + 1, pn);
    if (!good) {
        *why = u ? "wrong password" : "unknown user";
        return KWI_MOCK_SASL_FAIL;
    }
    return KWI_MOCK_SASL_DONE;
}

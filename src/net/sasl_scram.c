/* SASL SCRAM-SHA-256 and SCRAM-SHA-512 client (RFC 5802 with RFC 7677's hash), as Kafka uses
 * it (KIP-84): no channel binding, no authorization identity.
 *
 *   client-first  n,,n=<saslname>,r=<c-nonce>
 *   server-first  r=<c-nonce><s-nonce>,s=<base64 salt>,i=<count>[,extensions]
 *   client-final  c=biws,r=<c-nonce><s-nonce>,p=<base64 ClientProof>
 *   server-final  v=<base64 ServerSignature>[,extensions]   or   e=<error>
 *
 *   SaltedPassword = PBKDF2-HMAC(password, salt, count)      (RFC 5802's Hi())
 *   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
 *   AuthMessage = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
 *
 * "biws" is base64("n,,"): the GS2 header says the client does not support channel binding.
 * The username is sent as given, with ',' and '=' escaped (=2C, =3D) but without SASLprep,
 * exactly as Kafka's own ScramFormatter and librdkafka do, so the same names work everywhere.
 * The AuthMessage is fed to the HMACs piece by piece and never built in memory. */
#include <assert.h>
#include <errno.h>
#include <sys/random.h>

#include "net/sasl.h"
#include "util/base64.h"
#include "util/sha2.h"

typedef enum scram_phase { WANT_SERVER_FIRST, WANT_SERVER_FINAL } scram_phase;

typedef struct scram {
    kwi_sasl base; /* first: the session handle points here */
    kwi_hash_alg alg;
    size_t hlen;
    char *user; /* raw username, escaped when the message is built */
    size_t ulen;
    char *pass; /* wiped and freed as soon as the proof is computed */
    size_t plen;
    kwi_sasl_random_fn random;
    void *random_ud;
    size_t nonce_len;
    uint32_t max_iter;
    scram_phase phase;
    char *bare; /* client-first-message-bare; the client nonce is its last nonce_len bytes */
    size_t bare_len;
    uint8_t *msg; /* the client message last returned (client-final holds the proof) */
    size_t msg_len;
    uint8_t server_sig[KWI_HASH_MAX_LEN]; /* expected ServerSignature */
} scram;

static const char nonce_chars[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

kw_err
kwi_sasl_random_default(void *ud, void *buf, size_t n)
{
    uint8_t *p = buf;
    (void)ud;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return KW_ERR_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    return KW_ERR_OK;
}

/* ---- memory ------------------------------------------------------------------------------- */

static void
wipe_free(const kw_allocator *a, void *p, size_t n)
{
    if (!p)
        return;
    kwi_secure_zero(p, n);
    a->free(a->ud, p, n);
}

/* Replaces the session's outgoing message, wiping the previous one. Takes ownership of m. */
static void
set_msg(scram *sc, uint8_t *m, size_t n)
{
    wipe_free(sc->base.a, sc->msg, sc->msg_len);
    sc->msg = m;
    sc->msg_len = n;
}

static void
drop_password(scram *sc)
{
    wipe_free(sc->base.a, sc->pass, sc->plen);
    sc->pass = NULL;
    sc->plen = 0;
}

static const char *
mech_name(const scram *sc)
{
    return sc->base.ops->name;
}

/* ---- parsing server messages -------------------------------------------------------------- */

/* A cursor over "a=value,b=value,...". RFC 5802 section 7: attr-val = ALPHA "=" value,
 * value = 1*value-char, where a value-char is any byte but NUL and ','. */
typedef struct attr_rd {
    const char *p, *end;
    int more; /* the last attribute ended in ',': another must follow */
} attr_rd;

typedef struct attr {
    char name;
    const char *v;
    size_t len;
} attr;

/* 1 and the next attribute; 0 at the end; -1 when the syntax is broken (empty attribute,
 * missing '=', empty value, NUL byte, or a trailing ','). */
static int
next_attr(attr_rd *r, attr *out)
{
    if (r->p == r->end)
        return r->more ? -1 : 0;
    if ((size_t)(r->end - r->p) < 3)
        return -1;
    char name = r->p[0];
    if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z')) || r->p[1] != '=')
        return -1;
    const char *v = r->p + 2, *q = v;
    while (q != r->end && *q != ',') {
        if (*q == '\0')
            return -1;
        q++;
    }
    if (q == v)
        return -1;
    out->name = name;
    out->v = v;
    out->len = (size_t)(q - v);
    r->more = q != r->end;
    r->p = r->more ? q + 1 : q; /* past the ',' */
    return 1;
}

/* Checks that the attributes after the ones a message defines are well-formed; RFC 5802 says
 * unrecognised extensions are ignored. */
static int
rest_well_formed(attr_rd *r)
{
    attr a;
    int k;
    while ((k = next_attr(r, &a)) == 1)
        ;
    return k == 0;
}

/* Copies a server-supplied error value into buf as printable ASCII (other bytes become '?'),
 * cut at cap - 1 characters, so an error message never carries control characters. */
static const char *
printable(const char *v, size_t n, char *buf, size_t cap)
{
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++)
        buf[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* The server's e= attribute (RFC 5802 server-error-value, e.g. "invalid-proof",
 * "unknown-user") as an authentication failure. */
static kw_err
server_error(const scram *sc, const attr *a, kw_error *err)
{
    char buf[80];
    return kw_error_set(err, KWI_SASL_ERR_AUTH, "%s: the server rejected the authentication: %s",
                        mech_name(sc), printable(a->v, a->len, buf, sizeof(buf)));
}

/* posit-number = %x31-39 *DIGIT, at most 10 digits, as an unsigned 32-bit count. */
static int
parse_count(const char *v, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10 || v[0] < '1' || v[0] > '9')
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (x > UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/* ---- client-first ------------------------------------------------------------------------- */

static kw_err
scram_start(kwi_sasl *s, kwi_sasl_out *out, kw_error *err)
{
    scram *sc = (scram *)s;
    const kw_allocator *a = s->a;
    uint8_t rnd[KWI_SCRAM_NONCE_LEN_MAX];
    kw_err e = sc->random(sc->random_ud, rnd, sc->nonce_len);
    if (e != KW_ERR_OK)
        return kw_error_set(err, e, "%s: the random source failed to produce a nonce",
                            mech_name(sc));

    /* saslname: ',' and '=' escaped as =2C and =3D (RFC 5802 section 5.1). */
    size_t esc = 0;
    for (size_t i = 0; i < sc->ulen; i++)
        esc += sc->user[i] == ',' || sc->user[i] == '=';
    /* Bounded by KWI_SASL_MAX_CRED and KWI_SCRAM_NONCE_LEN_MAX: no overflow. */
    size_t bare_len = 2 + sc->ulen + 2 * esc + 3 + sc->nonce_len;
    char *bare = a->alloc(a->ud, bare_len);
    uint8_t *msg = a->alloc(a->ud, 3 + bare_len);
    if (!bare || !msg) {
        kwi_secure_zero(rnd, sizeof(rnd));
        if (bare)
            a->free(a->ud, bare, bare_len);
        if (msg)
            a->free(a->ud, msg, 3 + bare_len);
        return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", mech_name(sc));
    }
    size_t o = 0;
    bare[o++] = 'n';
    bare[o++] = '=';
    for (size_t i = 0; i < sc->ulen; i++) {
        char ch = sc->user[i];
        if (ch == ',' || ch == '=') {
            bare[o++] = '=';
            bare[o++] = ch == ',' ? '2' : '3';
            bare[o++] = ch == ',' ? 'C' : 'D';
        } else {
            bare[o++] = ch;
        }
    }
    memcpy(bare + o, ",r=", 3);
    o += 3;
    for (size_t i = 0; i < sc->nonce_len; i++)
        bare[o++] = nonce_chars[rnd[i] & 63]; /* 256 is a multiple of 64: no bias */
    kwi_secure_zero(rnd, sizeof(rnd));

    memcpy(msg, "n,,", 3); /* GS2 header: no channel binding, no authzid */
    memcpy(msg + 3, bare, bare_len);
    sc->bare = bare;
    sc->bare_len = bare_len;
    set_msg(sc, msg, 3 + bare_len);
    sc->phase = WANT_SERVER_FIRST;
    out->ptr = sc->msg;
    out->len = sc->msg_len;
    return KW_ERR_OK;
}

/* ---- server-first -> client-final --------------------------------------------------------- */

typedef struct server_first {
    const char *nonce; /* the combined nonce */
    size_t nonce_len;
    const char *salt_b64;
    size_t salt_b64_len;
    uint32_t iter;
} server_first;

/* Parses and checks the server-first message; on success the fields point into `in`. */
static kw_err
parse_server_first(const scram *sc, const char *in, size_t n, server_first *sf, kw_error *err)
{
    const char *mech = mech_name(sc);
    attr_rd r = {in, in + n, 0};
    attr a;
    int k = next_attr(&r, &a);
    if (k == 1 && a.name == 'm')
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "%s: the server requires a mandatory extension (m=), which kwire "
                            "does not support",
                            mech);
    if (k == 1 && a.name == 'e')
        return server_error(sc, &a, err);
    if (k != 1 || a.name != 'r')
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: server-first message does not start with the nonce (r=)", mech);
    sf->nonce = a.v;
    sf->nonce_len = a.len;
    /* printable = %x21-2B / %x2D-7E */
    for (size_t i = 0; i < a.len; i++) {
        if (a.v[i] < 0x21 || a.v[i] > 0x7e)
            return kw_error_set(err, KW_ERR_MALFORMED,
                                "%s: server nonce contains a non-printable character", mech);
    }
    /* The server must extend our nonce with its own: a server that echoes a different nonce
     * (or only ours) is answering some other exchange, or replaying one. */
    const char *cnonce = sc->bare + sc->bare_len - sc->nonce_len;
    if (a.len <= sc->nonce_len || memcmp(a.v, cnonce, sc->nonce_len) != 0)
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "%s: the server nonce does not extend the client nonce", mech);

    if (next_attr(&r, &a) != 1 || a.name != 's')
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: server-first message lacks the salt (s=) after the nonce", mech);
    sf->salt_b64 = a.v;
    sf->salt_b64_len = a.len;

    if (next_attr(&r, &a) != 1 || a.name != 'i')
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: server-first message lacks the iteration count (i=) after the "
                            "salt",
                            mech);
    if (parse_count(a.v, a.len, &sf->iter) != 0)
        return kw_error_set(err, KW_ERR_MALFORMED, "%s: iteration count is not a positive number",
                            mech);
    if (sf->iter < KWI_SCRAM_MIN_ITERATIONS)
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "%s: the server asks for %u iterations, fewer than the minimum %u",
                            mech, sf->iter, KWI_SCRAM_MIN_ITERATIONS);
    if (sf->iter > sc->max_iter)
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "%s: the server asks for %u iterations, more than the maximum %u", mech,
                            sf->iter, sc->max_iter);
    if (!rest_well_formed(&r))
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: malformed extension in the server-first message", mech);
    return KW_ERR_OK;
}

/* HMAC(key, AuthMessage): AuthMessage = bare "," server-first "," client-final-without-proof,
 * hashed in pieces. */
static void
hmac_auth_message(const scram *sc, const uint8_t *key, const char *sfirst, size_t sfirst_len,
                  const uint8_t *cfwp, size_t cfwp_len, uint8_t *out)
{
    kwi_hmac_ctx h;
    kwi_hmac_init(&h, sc->alg, key, sc->hlen);
    kwi_hmac_update(&h, sc->bare, sc->bare_len);
    kwi_hmac_update(&h, ",", 1);
    kwi_hmac_update(&h, sfirst, sfirst_len);
    kwi_hmac_update(&h, ",", 1);
    kwi_hmac_update(&h, cfwp, cfwp_len);
    kwi_hmac_final(&h, out);
}

/* Builds client-final into a new buffer and sets sc->server_sig. The caller has checked sf. */
static kw_err
client_final(scram *sc, const char *in, size_t n, const server_first *sf, const uint8_t *salt,
             size_t salt_len, kw_error *err)
{
    const kw_allocator *a = sc->base.a;
    size_t hl = sc->hlen;
    size_t cfwp_len = 9 + sf->nonce_len; /* "c=biws,r=" nonce */
    size_t proof_b64 = kwi_base64_encoded_len(hl);
    size_t total = cfwp_len + 3 + proof_b64; /* ",p=" proof; n <= KWI_SASL_MAX_SERVER_MSG */
    uint8_t *msg = a->alloc(a->ud, total);
    if (!msg)
        return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", mech_name(sc));
    memcpy(msg, "c=biws,r=", 9);
    memcpy(msg + 9, sf->nonce, sf->nonce_len);

    uint8_t salted[KWI_HASH_MAX_LEN], ckey[KWI_HASH_MAX_LEN], skey[KWI_HASH_MAX_LEN];
    uint8_t stored[KWI_HASH_MAX_LEN], csig[KWI_HASH_MAX_LEN];
    kw_err e = kwi_pbkdf2_hmac(sc->alg, sc->pass, sc->plen, salt, salt_len, sf->iter, salted, hl);
    if (e != KW_ERR_OK) { /* cannot happen: alg, count and length were checked */
        a->free(a->ud, msg, total);
        return kw_error_set(err, e, "%s: key derivation failed", mech_name(sc));
    }
    kwi_hmac_once(sc->alg, salted, hl, "Client Key", 10, ckey);
    kwi_hmac_once(sc->alg, salted, hl, "Server Key", 10, skey);
    kwi_hash_once(sc->alg, ckey, hl, stored);
    hmac_auth_message(sc, stored, in, n, msg, cfwp_len, csig);
    hmac_auth_message(sc, skey, in, n, msg, cfwp_len, sc->server_sig);
    for (size_t i = 0; i < hl; i++)
        ckey[i] ^= csig[i]; /* ckey now holds ClientProof */
    size_t w = 0;
    memcpy(msg + cfwp_len, ",p=", 3);
    e = kwi_base64_encode(ckey, hl, (char *)msg + cfwp_len + 3, proof_b64, &w);
    kwi_secure_zero(salted, sizeof(salted));
    kwi_secure_zero(ckey, sizeof(ckey));
    kwi_secure_zero(skey, sizeof(skey));
    kwi_secure_zero(stored, sizeof(stored));
    kwi_secure_zero(csig, sizeof(csig));
    assert(e == KW_ERR_OK && w == proof_b64); /* sized by kwi_base64_encoded_len */
    (void)e;
    (void)w;
    set_msg(sc, msg, total);
    return KW_ERR_OK;
}

static kw_err
step_server_first(scram *sc, const char *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    const kw_allocator *a = sc->base.a;
    server_first sf = {NULL, 0, NULL, 0, 0};
    kw_err e = parse_server_first(sc, in, n, &sf, err);
    if (e != KW_ERR_OK)
        return e;
    size_t cap = kwi_base64_decoded_max(sf.salt_b64_len), salt_len = 0;
    uint8_t *salt = a->alloc(a->ud, cap ? cap : 1);
    if (!salt)
        return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", mech_name(sc));
    e = kwi_base64_decode(sf.salt_b64, sf.salt_b64_len, salt, cap, &salt_len);
    if (e != KW_ERR_OK || salt_len == 0) {
        a->free(a->ud, salt, cap ? cap : 1);
        return kw_error_set(err, KW_ERR_MALFORMED, "%s: the salt (s=) is not valid base64",
                            mech_name(sc));
    }
    e = client_final(sc, in, n, &sf, salt, salt_len, err);
    a->free(a->ud, salt, cap ? cap : 1);
    if (e != KW_ERR_OK)
        return e;
    drop_password(sc); /* everything that needs it has been derived */
    sc->phase = WANT_SERVER_FINAL;
    out->ptr = sc->msg;
    out->len = sc->msg_len;
    return KW_ERR_OK;
}

/* ---- server-final ------------------------------------------------------------------------- */

static kw_err
step_server_final(scram *sc, const char *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    const char *mech = mech_name(sc);
    attr_rd r = {in, in + n, 0};
    attr a;
    int k = next_attr(&r, &a);
    if (k == 1 && a.name == 'e')
        return server_error(sc, &a, err);
    if (k != 1 || a.name != 'v')
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: server-final message has neither a signature (v=) nor an "
                            "error (e=)",
                            mech);
    if (!rest_well_formed(&r))
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: malformed extension in the server-final message", mech);
    uint8_t sig[KWI_HASH_MAX_LEN];
    size_t sig_len = 0;
    kw_err e = kwi_base64_decode(a.v, a.len, sig, sizeof(sig), &sig_len);
    if (e == KW_ERR_MALFORMED)
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "%s: the server signature (v=) is not valid base64", mech);
    /* The lengths are public; only the bytes are compared in constant time. */
    if (e != KW_ERR_OK || sig_len != sc->hlen || !kwi_ct_equal(sig, sc->server_sig, sc->hlen))
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "%s: the server signature does not match: the server does not know "
                            "the password, or the exchange was altered",
                            mech);
    /* Nothing more is sent: wipe the proof and the expected signature now. */
    set_msg(sc, NULL, 0);
    kwi_secure_zero(sc->server_sig, sizeof(sc->server_sig));
    out->done = true;
    return KW_ERR_OK;
}

static kw_err
scram_step(kwi_sasl *s, const uint8_t *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    scram *sc = (scram *)s;
    const char *msg = n ? (const char *)in : "";
    if (sc->phase == WANT_SERVER_FIRST)
        return step_server_first(sc, msg, n, out, err);
    return step_server_final(sc, msg, n, out, err);
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static void
scram_destroy(kwi_sasl *s)
{
    scram *sc = (scram *)s;
    const kw_allocator *a = s->a;
    drop_password(sc);
    set_msg(sc, NULL, 0);
    wipe_free(a, sc->user, sc->ulen);
    wipe_free(a, sc->bare, sc->bare_len);
    kwi_secure_zero(sc, sizeof(*sc));
    a->free(a->ud, sc, sizeof(*sc));
}

static const kwi_sasl_ops scram256_ops = {"SCRAM-SHA-256", scram_start, scram_step, scram_destroy};
static const kwi_sasl_ops scram512_ops = {"SCRAM-SHA-512", scram_start, scram_step, scram_destroy};

static char *
dup_bytes(const kw_allocator *a, const char *p, size_t n)
{
    char *d = a->alloc(a->ud, n);
    if (d)
        memcpy(d, p, n);
    return d;
}

kw_err
kwi_sasl_scram_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err)
{
    const kw_allocator *a = c->alloc ? c->alloc : kw_allocator_default();
    const kwi_sasl_ops *ops;
    *out = NULL;
    if (c->mech == KWI_SASL_SCRAM_SHA_256)
        ops = &scram256_ops;
    else if (c->mech == KWI_SASL_SCRAM_SHA_512)
        ops = &scram512_ops;
    else
        return kw_error_set(err, KW_ERR_INVALID_ARG, "SCRAM: mechanism %d is not SCRAM",
                            (int)c->mech);
    size_t ulen = 0, plen = 0;
    kw_err e = kwi_sasl_check_cred(ops->name, "username", c->username, &ulen, err);
    if (e == KW_ERR_OK)
        e = kwi_sasl_check_cred(ops->name, "password", c->password, &plen, err);
    if (e != KW_ERR_OK)
        return e;
    size_t nonce_len = c->scram_nonce_len ? c->scram_nonce_len : KWI_SCRAM_NONCE_LEN;
    if (nonce_len < KWI_SCRAM_NONCE_LEN_MIN || nonce_len > KWI_SCRAM_NONCE_LEN_MAX)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "%s: nonce length %zu is outside %u..%u",
                            ops->name, nonce_len, KWI_SCRAM_NONCE_LEN_MIN, KWI_SCRAM_NONCE_LEN_MAX);
    uint32_t max_iter =
        c->scram_max_iterations ? c->scram_max_iterations : KWI_SCRAM_MAX_ITERATIONS_DEFAULT;
    if (max_iter < KWI_SCRAM_MIN_ITERATIONS || max_iter > KWI_SCRAM_MAX_ITERATIONS_DEFAULT)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "%s: iteration limit %u is outside %u..%u",
                            ops->name, max_iter, KWI_SCRAM_MIN_ITERATIONS,
                            KWI_SCRAM_MAX_ITERATIONS_DEFAULT);

    scram *sc = a->alloc(a->ud, sizeof(*sc));
    if (!sc)
        return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", ops->name);
    memset(sc, 0, sizeof(*sc));
    sc->base.ops = ops;
    sc->base.a = a;
    sc->base.state = KWI_SASL_NEW;
    sc->alg = c->mech == KWI_SASL_SCRAM_SHA_512 ? KWI_HASH_SHA512 : KWI_HASH_SHA256;
    sc->hlen = kwi_hash_len(sc->alg);
    sc->random = c->random ? c->random : kwi_sasl_random_default;
    sc->random_ud = c->random_ud;
    sc->nonce_len = nonce_len;
    sc->max_iter = max_iter;
    sc->user = dup_bytes(a, c->username, ulen);
    sc->ulen = sc->user ? ulen : 0;
    sc->pass = dup_bytes(a, c->password, plen);
    sc->plen = sc->pass ? plen : 0;
    if (!sc->user || !sc->pass) {
        scram_destroy(&sc->base);
        return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", ops->name);
    }
    *out = &sc->base;
    return KW_ERR_OK;
}

/* SASL PLAIN (RFC 4616) client: one message, [authzid] NUL authcid NUL passwd.
 *
 * kwire sends an empty authzid, as the Java client and librdkafka do: Kafka's PlainServer
 * accepts an authzid only when it equals the authcid, so there is nothing to gain from one.
 * The password travels in clear, so PLAIN belongs on TLS (SASL_SSL); that policy is the
 * connection layer's. */
#include "net/sasl.h"
#include "util/sha2.h"

typedef struct plain {
    kwi_sasl base; /* first: the session handle points here */
    uint8_t *msg;  /* NUL user NUL password: holds the password, wiped on free */
    size_t len;
} plain;

static kw_err
plain_start(kwi_sasl *s, kwi_sasl_out *out, kw_error *err)
{
    plain *p = (plain *)s;
    (void)err;
    out->ptr = p->msg;
    out->len = p->len;
    return KW_ERR_OK;
}

static kw_err
plain_step(kwi_sasl *s, const uint8_t *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    (void)s;
    (void)in;
    /* RFC 4616 defines no server data; a Kafka broker answers with empty auth_bytes and reports
     * a wrong password as an error code in SaslAuthenticate, which the connection layer sees. */
    if (n != 0)
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "PLAIN: the server sent %zu bytes where none are defined", n);
    out->done = true;
    return KW_ERR_OK;
}

static void
plain_destroy(kwi_sasl *s)
{
    plain *p = (plain *)s;
    const kw_allocator *a = s->a;
    if (p->msg) {
        kwi_secure_zero(p->msg, p->len);
        a->free(a->ud, p->msg, p->len);
    }
    kwi_secure_zero(p, sizeof(*p));
    a->free(a->ud, p, sizeof(*p));
}

static const kwi_sasl_ops plain_ops = {"PLAIN", plain_start, plain_step, plain_destroy};

kw_err
kwi_sasl_plain_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err)
{
    const kw_allocator *a = c->alloc ? c->alloc : kw_allocator_default();
    size_t ulen = 0, plen = 0;
    *out = NULL;
    kw_err e = kwi_sasl_check_cred("PLAIN", "username", c->username, &ulen, err);
    if (e == KW_ERR_OK)
        e = kwi_sasl_check_cred("PLAIN", "password", c->password, &plen, err);
    if (e != KW_ERR_OK)
        return e;
    plain *p = a->alloc(a->ud, sizeof(*p));
    if (!p)
        return kw_error_set(err, KW_ERR_NOMEM, "PLAIN: out of memory");
    memset(p, 0, sizeof(*p));
    p->base.ops = &plain_ops;
    p->base.a = a;
    p->base.state = KWI_SASL_NEW;
    p->len = 1 + ulen + 1 + plen; /* both at most KWI_SASL_MAX_CRED: no overflow */
    p->msg = a->alloc(a->ud, p->len);
    if (!p->msg) {
        p->len = 0;
        plain_destroy(&p->base);
        return kw_error_set(err, KW_ERR_NOMEM, "PLAIN: out of memory");
    }
    p->msg[0] = 0; /* empty authzid */
    memcpy(p->msg + 1, c->username, ulen);
    p->msg[1 + ulen] = 0;
    memcpy(p->msg + 2 + ulen, c->password, plen);
    *out = &p->base;
    return KW_ERR_OK;
}

/* kwire fuzz: one case on the wire, and its verdict.
 *
 * The case frame and an ApiVersions v0 probe go out back to back on the same connection.
 * Kafka answers the requests of a connection in order, so what comes back says everything:
 *
 *   case response, then probe response    fine (the case response must decode strictly)
 *   probe response only                   fine when the case expects no response (Produce
 *                                         with acks=0) or did not decode; otherwise the
 *                                         broker dropped a request: a protocol violation
 *   any other correlation id              a protocol violation (out of order)
 *   the connection closes                 fine: a broker may close on a malformed request;
 *                                         then a new connection must answer ApiVersions
 *   nothing within the timeout            a hang, when a new connection still answers;
 *                                         a crash when it does not
 *   no new connection answers             a crash
 *
 * A request may legitimately make the broker wait (Fetch max_wait_ms, JoinGroup's rebalance,
 * admin timeouts): the wait it asks for is added to the timeout. A wait longer than the
 * timeout itself cannot be told apart from a hang in reasonable time, so such a case gets a
 * short look only and, if it has not been answered by then, is counted as inconclusive (the
 * broker must still answer a new connection). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd_fuzz_int.h"
#include "kwire/mutate.h"

enum { EXPECT_NO, EXPECT_YES, EXPECT_MAYBE };

#define FZ_SHORT_LOOK_MS 50

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
nonneg(int64_t v)
{
    return v > 0 ? v : 0;
}

/* How long the decoded request may legitimately keep the broker from answering. */
static int64_t
legit_wait_ms(const kw_frame *f)
{
    switch (f->def->api_key) {
    case 0:
        return nonneg(((const kw_produce_req *)f->msg)->timeout_ms);
    case 1:
        return nonneg(((const kw_fetch_req *)f->msg)->max_wait_ms);
    case 2:
        return nonneg(((const kw_list_offsets_req *)f->msg)->timeout_ms);
    case 11: {
        const kw_join_group_req *m = f->msg;
        int64_t s = nonneg(m->session_timeout_ms), r = nonneg(m->rebalance_timeout_ms);
        return f->version == 0 ? s : (r > s ? r : s);
    }
    case 19:
        return nonneg(((const kw_create_topics_req *)f->msg)->timeout_ms);
    case 20:
        return nonneg(((const kw_delete_topics_req *)f->msg)->timeout_ms);
    case 21:
        return nonneg(((const kw_delete_records_req *)f->msg)->timeout_ms);
    case 37:
        return nonneg(((const kw_create_partitions_req *)f->msg)->timeout_ms);
    default:
        return 0;
    }
}

/* Whether the request (without size prefix) expects a response, and its legitimate wait. */
static int
expectation(const uint8_t *f, size_t n, int64_t *wait)
{
    *wait = 0;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_frame fr;
    int ex = EXPECT_MAYBE;
    /* A request that does not decode may be answered with an error or make the broker close
     * the connection; neither is a finding. */
    if (kw_frame_decode(f, n, &ar, &fr) == KW_ERR_OK && !fr.response) {
        ex = EXPECT_YES;
        if (fr.def->api_key == 0 && ((const kw_produce_req *)fr.msg)->acks == 0)
            ex = EXPECT_NO;
        else
            *wait = legit_wait_ms(&fr);
    }
    kw_arena_fini(&ar);
    return ex;
}

/* Decodes a response strictly: header and body of the API and version the request named. */
static bool
response_ok(int16_t key, int16_t ver, const uint8_t *p, size_t n, char *why, size_t why_sz)
{
    const kw_msgdef *d = kw_msgdef_by_key(key, true);
    if (!d || ver < d->min_ver || ver > d->max_ver)
        return true; /* kwire cannot judge what it does not code */
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd r;
    kw_rd_init(&r, p, n);
    kw_resp_hdr h;
    void *body = kw_arena_alloc(&ar, d->size);
    kw_err e = kw_resp_hdr_decode(&r, kw_resp_hdr_version(d, ver), &ar, &h);
    if (e == KW_ERR_OK)
        e = body ? kw_msg_decode(d, ver, &r, &ar, body) : KW_ERR_NOMEM;
    if (e != KW_ERR_OK && key == 18) {
        /* KIP-511: an ApiVersions version the broker does not know is answered with a v0
         * body carrying UNSUPPORTED_VERSION. */
        kw_api_versions_resp v0;
        kw_rd_init(&r, p, n);
        kw_resp_hdr_decode(&r, 0, &ar, &h);
        if (kw_msg_decode(d, 0, &r, &ar, &v0) == KW_ERR_OK && v0.error_code == 35)
            e = KW_ERR_OK;
    }
    if (e != KW_ERR_OK)
        snprintf(why, why_sz, "%s v%d response (%zu bytes) rejected by kwire's decoder: %s",
                 d->name, (int)ver, n, kw_err_name(e));
    kw_arena_fini(&ar);
    return e == KW_ERR_OK;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool
fz_exec_alive(fz_exec *x, kw_error *err)
{
    /* A broker that is busy cleaning up after a closed connection may be slow to accept the
     * next; three attempts within a few timeouts separate that from a broker that is gone. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt)
            sleep_ms(100 * attempt);
        kw_error_init(err);
        x->reconnects++;
        if (fz_link_open(&x->link, x->net, NULL, fz_now_ms() + x->timeout_ms, err) == KW_ERR_OK)
            return true;
    }
    return false;
}

static void verdict(fz_verdict *v, fz_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verdict(fz_verdict *v, fz_kind k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->kind = k;
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);
}

/* Keeps the start of an offending response for the reproducer (the size prefix excluded). */
static void
keep_hex(fz_verdict *v, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = n < FZ_RESP_HEX ? n : FZ_RESP_HEX;
    for (size_t i = 0; i < k; i++) {
        v->response[2 * i] = hex[p[i] >> 4];
        v->response[2 * i + 1] = hex[p[i] & 15];
    }
    v->response[2 * k] = '\0';
}

/* The connection failed (closed, reset, timed out): decides between fine, hang and crash. */
static void
after_failure(fz_exec *x, fz_verdict *v, bool timed_out, bool conclusive, int64_t waited)
{
    fz_link_close(&x->link);
    kw_error err;
    if (!fz_exec_alive(x, &err)) {
        verdict(v, FZ_CRASH,
                "the broker stopped answering: %s (the case's connection failed "
                "after %ld ms)",
                err.msg, (long)waited);
        return;
    }
    if (timed_out && conclusive)
        verdict(v, FZ_HANG, "no response within %ld ms; a new connection answers", (long)waited);
    else if (timed_out)
        x->inconclusive++;
}

/* Reads responses until the probe's; fills v. */
static void
read_responses(fz_exec *x, int32_t case_corr, bool has_corr, int32_t probe_corr, int expect,
               int16_t key, int16_t ver, int64_t budget_ms, bool conclusive, fz_verdict *v)
{
    int64_t start = fz_now_ms(), deadline = start + budget_ms;
    bool got_case = false;
    for (;;) {
        const uint8_t *f;
        size_t n;
        kw_error err;
        kw_error_init(&err);
        kw_err e = fz_link_read(&x->link, deadline, &f, &n, &err);
        if (e == KW_ERR_MALFORMED) {
            verdict(v, FZ_VIOLATION, "%s", err.msg);
            fz_link_close(&x->link);
            return;
        }
        if (e != KW_ERR_OK) {
            after_failure(x, v, e == KW_ERR_TIMED_OUT, conclusive, fz_now_ms() - start);
            return;
        }
        if (n < 4) {
            verdict(v, FZ_VIOLATION, "a response frame of %zu bytes", n);
            fz_link_close(&x->link);
            return;
        }
        int32_t corr = (int32_t)be32(f);
        char why[200];
        if (has_corr && corr == case_corr && !got_case) {
            got_case = true;
            if (expect == EXPECT_NO) {
                verdict(v, FZ_VIOLATION,
                        "a response (correlation id %d) to a Produce with acks=0, which "
                        "expects none",
                        (int)corr);
                fz_link_close(&x->link);
                return;
            }
            if (!response_ok(key, ver, f, n, why, sizeof(why))) {
                verdict(v, FZ_VIOLATION, "%s", why);
                keep_hex(v, f, n);
                fz_link_close(&x->link);
                return;
            }
            continue;
        }
        if (corr == probe_corr) {
            if (!got_case && expect == EXPECT_YES) {
                verdict(v, FZ_VIOLATION,
                        "no response to correlation id %d, but the next request (%d) was "
                        "answered",
                        (int)case_corr, (int)probe_corr);
                fz_link_close(&x->link);
                return;
            }
            if (!response_ok(18, 0, f, n, why, sizeof(why))) {
                verdict(v, FZ_VIOLATION, "probe: %s", why);
                keep_hex(v, f, n);
                fz_link_close(&x->link);
            }
            return;
        }
        verdict(v, FZ_VIOLATION, "correlation id %d out of order (expected %d)", (int)corr,
                (int)(got_case || !has_corr ? probe_corr : case_corr));
        fz_link_close(&x->link);
        return;
    }
}

void
fz_exec_case(fz_exec *x, uint8_t *frame, size_t len, fz_verdict *v)
{
    memset(v, 0, sizeof(*v));
    kw_error err;
    kw_error_init(&err);
    if (!fz_link_is_open(&x->link) && !fz_exec_alive(x, &err)) {
        verdict(v, FZ_CRASH, "the broker stopped answering before the case: %s", err.msg);
        return;
    }
    bool has_corr = len >= 12;
    int16_t key = has_corr ? (int16_t)(frame[4] << 8 | frame[5]) : -1;
    int16_t ver = has_corr ? (int16_t)(frame[6] << 8 | frame[7]) : -1;
    int32_t case_corr = has_corr ? (int32_t)be32(frame + 8) : 0;
    int32_t probe_corr = (case_corr & 0x3fffffff) ^ 0x40000000;
    int64_t wait;
    int expect = len > 4 ? expectation(frame + 4, len - 4, &wait) : EXPECT_MAYBE;
    if (expect == EXPECT_MAYBE)
        wait = 0;
    /* A case that asks for a longer wait than the timeout gets a short look only: waiting
     * the whole timeout for it could not tell a hang from the wait it asked for anyway. */
    bool conclusive = wait <= x->timeout_ms;
    int64_t budget = conclusive
                         ? x->timeout_ms + wait
                         : (x->timeout_ms < FZ_SHORT_LOOK_MS ? x->timeout_ms : FZ_SHORT_LOOK_MS);

    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 4096);
    fz_probe_frame(probe_corr, &w);
    kw_err e = fz_link_write(&x->link, frame, len, fz_now_ms() + budget, &err);
    if (e == KW_ERR_OK)
        e = fz_link_write(&x->link, w.base, kw_wr_len(&w), fz_now_ms() + budget, &err);
    kw_wr_fini(&w);
    if (e != KW_ERR_OK) {
        /* The broker closed while we were still writing (it may stop reading at the first
         * malformed frame); what matters is whether it still serves new connections. */
        after_failure(x, v, e == KW_ERR_TIMED_OUT, conclusive, budget);
        return;
    }
    read_responses(x, case_corr, has_corr, probe_corr, expect, key, ver, budget, conclusive, v);
}

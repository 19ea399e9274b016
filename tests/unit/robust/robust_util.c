#include "robust_util.h"

#include "../../support/mockfix.h"

#include <arpa/inet.h>
#include <execinfo.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* failalloc counts and fails one allocation; "from i on" is one more check in front of it. */
/* Debugging aid: $KWT_TRAP_ALLOC=i prints a backtrace (resolve it with addr2line) and raises
 * SIGTRAP at allocation i of an armed run: where the allocation a sweep found a bug behind is. */
static void
trap(const kwt_fa *fa)
{
    const char *t = getenv("KWT_TRAP_ALLOC");
    if (t && fa->armed && fa->f.calls == atol(t)) {
        void *pcs[32];
        backtrace_symbols_fd(pcs, backtrace(pcs, 32), 2);
        raise(SIGTRAP);
    }
}

static void *
fa_alloc(void *ud, size_t n)
{
    kwt_fa *fa = ud;
    trap(fa);
    if (fa->fail_from >= 0 && fa->f.calls >= fa->fail_from) {
        fa->f.calls++;
        return NULL;
    }
    return fa->inner.alloc(fa->inner.ud, n);
}

static void *
fa_realloc(void *ud, void *p, size_t old, size_t n)
{
    kwt_fa *fa = ud;
    trap(fa);
    if (fa->fail_from >= 0 && fa->f.calls >= fa->fail_from) {
        fa->f.calls++;
        return NULL;
    }
    return fa->inner.realloc(fa->inner.ud, p, old, n);
}

static void
fa_free(void *ud, void *p, size_t n)
{
    kwt_fa *fa = ud;
    fa->inner.free(fa->inner.ud, p, n);
}

void
kwt_fa_init(kwt_fa *fa)
{
    memset(fa, 0, sizeof(*fa));
    fa->f.left = -1;
    fa->fail_from = -1;
    fa->inner = kwt_failing_allocator(&fa->f);
    fa->a = (kw_allocator){fa_alloc, fa_realloc, fa_free, fa};
}

void
kwt_fa_arm(kwt_fa *fa, long i, bool from_on)
{
    fa->f.calls = 0;
    fa->armed = i >= 0;
    fa->f.left = -1;
    fa->fail_from = -1;
    if (i >= 0 && from_on)
        fa->fail_from = i;
    else if (i >= 0)
        fa->f.left = i;
}

long
kwt_fa_count(const kwt_fa *fa)
{
    return fa->f.calls;
}

long
kwt_sweep_next(long i, long n, long cap)
{
    long stride = 1;
    if (i >= 100 && n > cap)
        stride = (n - 100) / (cap > 100 ? cap - 100 : 1) + 1;
    i += stride;
    return i < n ? i : -1;
}

kw_conf *
kwt_fa_conf(kwt_fa *fa, const char *bootstrap, const char *const *extra)
{
    long saved = fa->f.left, saved_from = fa->fail_from;
    fa->f.left = -1;
    fa->fail_from = -1;
    /* Fast retries and reconnects: a sweep makes hundreds of clients. */
    static const char *const base[] = {"retry.backoff.ms=5", "retry.backoff.max.ms=50",
                                       "reconnect.backoff.ms=5", "reconnect.backoff.max.ms=50",
                                       NULL};
    kw_conf *conf = kwt_fx_conf(&fa->a, bootstrap, base, NULL);
    /* `extra` comes as "key", "value" pairs. */
    kw_error err;
    kw_error_init(&err);
    for (size_t i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, extra[i], extra[i + 1], &err) == KW_ERR_OK, "%s=%s: %s",
                      extra[i], extra[i + 1], err.msg);
    fa->f.left = saved;
    fa->fail_from = saved_from;
    return conf;
}

kw_client *
kwt_fa_client(kwt_fa *fa, const char *bootstrap, const char *const *extra)
{
    kw_conf *conf = kwt_fa_conf(fa, bootstrap, extra);
    long saved = fa->f.left, saved_from = fa->fail_from;
    fa->f.left = -1;
    fa->fail_from = -1;
    kw_client *c = kwt_fx_client(conf, NULL);
    fa->f.left = saved;
    fa->fail_from = saved_from;
    return c;
}

int64_t
kwt_now_ms(void)
{
    return kwt_fx_now_ms();
}

int
kwt_listen(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, backlog), 0);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

const char *
kwt_conn_state(kw_client *c, int port, char buf[16])
{
    kw_broker_stats b[8];
    kw_stats t;
    buf[0] = '\0';
    ck_assert_int_eq(kw_client_stats(c, &t, b, 8), KW_ERR_OK);
    for (size_t i = 0; i < t.n_brokers && i < 8; i++) {
        if (b[i].port == port) {
            snprintf(buf, 16, "%s", b[i].state);
            break;
        }
    }
    return buf;
}

void
kwt_debug_log_client(kw_client *c)
{
    kwt_fx_debug_log(c, NULL);
}

void
kwt_md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)detail;
    (void)md;
    kwt_cbrec *r = ud;
    r->calls++;
    r->err = err;
}

/* The transport seam (src/net/transport.h) on a whole client: every connection goes through
 * the installed functions (a refused connect reaches the metadata call as the cause), and the
 * seam cannot be swapped under a live socket. The fuzzer (fuzz/fuzz_client.c) runs the full
 * in-memory broker on it; this checks the contract on its own. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client/client_int.h"
#include "kwire/conf.h"
#include "net/transport.h"

typedef struct fake {
    int opens, closes, fd;
    bool refuse;
} fake;

static int
f_open(void *ud, const struct sockaddr *sa, socklen_t len)
{
    fake *f = ud;
    (void)sa;
    (void)len;
    f->opens++;
    f->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* always writable: the connect "ends" */
    return f->fd;
}

static int
f_connect_error(void *ud, int fd)
{
    fake *f = ud;
    ck_assert_int_eq(fd, f->fd);
    return f->refuse ? ECONNREFUSED : 0;
}

static ssize_t
f_recv(void *ud, int fd, void *buf, size_t len)
{
    (void)ud, (void)fd, (void)buf, (void)len;
    errno = EAGAIN;
    return -1;
}

static ssize_t
f_send(void *ud, int fd, const void *buf, size_t len)
{
    (void)ud, (void)fd, (void)buf;
    return (ssize_t)len; /* swallowed: this broker never answers */
}

static void
f_close(void *ud, int fd)
{
    fake *f = ud;
    f->closes++;
    close(fd);
}

typedef struct res {
    bool done;
    kw_err err;
    char msg[512];
} res;

static void
on_md(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c, (void)md;
    res *r = ud;
    r->done = true;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
}

static kw_client *
client(void)
{
    kw_conf *conf;
    kw_error err;
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", "192.0.2.1:9092", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.ms", "10", &err), KW_ERR_OK);
    kw_client *c;
    ck_assert_int_eq(kw_client_new(conf, &c, &err), KW_ERR_OK);
    return c;
}

START_TEST(refused_connect_through_the_seam)
{
    fake f = {0, 0, -1, true};
    kwi_transport t = {f_open, f_connect_error, f_recv, f_send, f_close, &f};
    kw_client *c = client();
    ck_assert_int_eq(kwi_client_set_transport(c, &t), KW_ERR_OK);
    res r = {0};
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 300, on_md, &r, &err), KW_ERR_OK);
    for (int i = 0; i < 2000 && !r.done; i++)
        ck_assert_int_eq(kw_client_step(c, 5, &err), KW_ERR_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.err, KW_ERR_TIMED_OUT);
    /* 192.0.2.1 (TEST-NET-1) is never dialled for real: the refusal came from the seam. */
    ck_assert_msg(strstr(r.msg, "connect to 192.0.2.1:9092: Connection refused"), "%s", r.msg);
    ck_assert_int_ge(f.opens, 1);
    kw_client_free(c);
    ck_assert_int_eq(f.opens, f.closes);
}
END_TEST

START_TEST(no_swap_under_a_live_socket)
{
    fake f = {0, 0, -1, false};
    kwi_transport t = {f_open, f_connect_error, f_recv, f_send, f_close, &f};
    kw_client *c = client();
    ck_assert_int_eq(kwi_client_set_transport(c, &t), KW_ERR_OK);
    res r = {0};
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 5000, on_md, &r, &err), KW_ERR_OK);
    for (int i = 0; i < 50 && f.opens == 0; i++)
        ck_assert_int_eq(kw_client_step(c, 5, &err), KW_ERR_OK);
    ck_assert_int_eq(f.opens, 1);
    ck_assert_int_eq(kwi_client_set_transport(c, NULL), KW_ERR_STATE);
    kw_client_free(c); /* cancels the call, closes through the seam */
    ck_assert(r.done);
    ck_assert_int_eq(r.err, KW_ERR_CANCELED);
    ck_assert_int_eq(f.closes, 1);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("hostile_transport");
    TCase *t = tcase_create("seam");
    tcase_add_test(t, refused_connect_through_the_seam);
    tcase_add_test(t, no_swap_under_a_live_socket);
    suite_add_tcase(s, t);
    return s;
}

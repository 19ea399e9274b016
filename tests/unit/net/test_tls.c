/* The TLS engine against an independent TLS server, `openssl s_server`, on loopback.
 *
 * Before the suite runs, the openssl command line makes a throwaway PKI in a temporary
 * directory: a CA, a second CA nobody trusts, a server certificate for localhost/127.0.0.1,
 * an expired one, and a client certificate whose key is encrypted. Each test starts its own
 * s_server (-accept 127.0.0.1:0, which prints the port it bound, so no port race; -naccept 1;
 * -rev echoes each line reversed) and drives a kwire session over a non-blocking socket with
 * poll(), exactly as a reactor would. s_server is started with PR_SET_PDEATHSIG, so it dies
 * with the forked test process even when an assertion ends the test early.
 *
 * A build without TLS runs only the stub checks and reports the suite as skipped (exit 77). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kw_config.h"
#include "net/tls.h"
#include "../../support/slow.h"

#if KW_HAVE_TLS
#include <openssl/err.h>
#endif

#define OP_TIMEOUT_MS (5000 * kwt_slow_factor())
#define KEY_PASSWORD  "s3cret pass"

static char g_dir[256];

/* ---- files and processes ---------------------------------------------------------------- */

/* A path inside the temporary directory; a few rotating buffers so calls can be nested. */
static const char *
P(const char *name)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv in g_dir with output appended to gen.log; true on exit status 0. */
static bool
run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int fd = open(P("gen.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || chdir(g_dir) != 0)
            _exit(127);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static const char pki_cnf[] = "[req]\n"
                              "distinguished_name = dn\n"
                              "prompt = no\n"
                              "[dn]\n"
                              "CN = placeholder\n"
                              "[v3_ca]\n"
                              "basicConstraints = critical,CA:TRUE\n"
                              "keyUsage = critical,keyCertSign,cRLSign\n"
                              "subjectKeyIdentifier = hash\n"
                              "[v3_leaf]\n"
                              "basicConstraints = CA:FALSE\n"
                              "keyUsage = critical,digitalSignature\n"
                              "extendedKeyUsage = serverAuth,clientAuth\n"
                              "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid\n"
                              "[ca]\n"
                              "default_ca = ca_default\n"
                              "[ca_default]\n"
                              "database = index.txt\n"
                              "new_certs_dir = .\n"
                              "serial = serial\n"
                              "default_md = sha256\n"
                              "policy = policy_any\n"
                              "unique_subject = no\n"
                              "[policy_any]\n"
                              "commonName = supplied\n";

#define EC "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"

/* The throwaway PKI. EC P-256 keys, because RSA key generation would dominate the run time. */
static bool
make_pki(void)
{
    write_file(P("pki.cnf"), pki_cnf);
    write_file(P("index.txt"), "");
    write_file(P("serial"), "10\n");
    /* One option and its value per pair, for reading; clang-format would column-align it. */
    /* clang-format off */
    const char *const cmds[][32] = {
        {"openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", EC, "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kwire test CA", "-days", "2", NULL},
        {"openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", EC, "-nodes",
         "-keyout", "ca2.key", "-out", "ca2.pem", "-subj", "/CN=kwire untrusted CA",
         "-days", "2", NULL},
        {"openssl", "req", "-new", "-config", "pki.cnf", EC, "-nodes",
         "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", NULL},
        {"openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "2", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "2",
         "-out", "server.pem", NULL},
        /* openssl x509 cannot back-date; openssl ca can. */
        {"openssl", "ca", "-batch", "-config", "pki.cnf", "-notext", "-cert", "ca.pem",
         "-keyfile", "ca.key", "-in", "server.csr", "-out", "expired.pem",
         "-extfile", "pki.cnf", "-extensions", "v3_leaf",
         "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", NULL},
        {"openssl", "req", "-new", "-config", "pki.cnf", EC, "-passout", "pass:" KEY_PASSWORD,
         "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=kwire-client", NULL},
        {"openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "3", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "2",
         "-out", "client.pem", NULL},
        {"mkdir", "cadir", NULL},
        {"cp", "ca.pem", "cadir/", NULL},
        {"openssl", "rehash", "cadir", NULL},
        {"sh", "-c", "cat server.pem server.key > combined.pem", NULL},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!run(cmds[i])) {
            fprintf(stderr, "making the test PKI failed at: %s %s; its output:\n", cmds[i][0],
                    cmds[i][1]);
            return false;
        }
    return true;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
remove_dir(void)
{
    if (g_dir[0] && !getenv("KWT_KEEP_TLS_DIR"))
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- s_server ------------------------------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char log[512];
} server;

static void
slurp(const char *path, char *buf, size_t len)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
}

/* Starts `openssl s_server -rev` with the given certificate and extra arguments, and waits
 * until it prints the port it listens on. */
static void
server_start(server *s, const char *cert, const char *key, const char *const extra[])
{
    snprintf(s->log, sizeof(s->log), "%s/s_server.%d.log", g_dir, (int)getpid());
    const char *argv[40] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                            "-rev",    "-cert",    cert,      "-key",        key};
    size_t n = 11;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        /* Die with the test process, whatever way it ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || chdir(g_dir) != 0)
            _exit(127);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    char text[4096];
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    for (;;) {
        slurp(s->log, text, sizeof(text));
        const char *a = strstr(text, "ACCEPT ");
        const char *colon = a ? strchr(a, '\n') : NULL;
        if (colon) {
            while (colon > a && colon[-1] != ':')
                colon--;
            s->port = atoi(colon);
            ck_assert_int_gt(s->port, 0);
            return;
        }
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = -1;
            ck_abort_msg("s_server exited before listening:\n%s", text);
        }
        ck_assert_msg(now_ms() < deadline, "s_server did not start:\n%s", text);
        usleep(2000);
    }
}

static void
server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
}

/* s_server's output so far (for assertions and failure messages). */
static const char *
server_log(const server *s)
{
    static char text[16384];
    slurp(s->log, text, sizeof(text));
    return text;
}

/* ---- a client, driven like a reactor would ----------------------------------------------- */

typedef struct client {
    kwi_tls_ctx *ctx;
    kwi_tls *t;
    int fd;
    kw_error err;
} client;

/* Socket buffer sizes for the next connection (0 = the kernel's); a test sets it in its own
 * forked process. */
static int g_sockbuf;

static int
tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (g_sockbuf > 0) {
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &g_sockbuf, sizeof(int)), 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &g_sockbuf, sizeof(int)), 0);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    ck_assert_msg(rc == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
    return fd;
}

static void
conf_trusting(kwi_tls_conf *c, const char *ca)
{
    kwi_tls_conf_init(c);
    c->ca_file = ca;
}

static void
client_open(client *cl, const kwi_tls_conf *conf, const char *host, int port)
{
    memset(cl, 0, sizeof(*cl));
    kw_error_init(&cl->err);
    ck_assert_msg(kwi_tls_ctx_new(conf, &cl->ctx, &cl->err) == KW_ERR_OK, "ctx: %s", cl->err.msg);
    cl->fd = tcp_connect(port);
    ck_assert_msg(kwi_tls_new(cl->ctx, cl->fd, host, &cl->t, &cl->err) == KW_ERR_OK, "new: %s",
                  cl->err.msg);
}

static void
client_close(client *cl)
{
    kwi_tls_free(cl->t);
    kwi_tls_ctx_free(cl->ctx);
    if (cl->fd >= 0)
        close(cl->fd);
}

/* Waits for the readiness an AGAIN asked for; fails the test after OP_TIMEOUT_MS. */
static void
wait_for(int fd, kwi_tls_rc rc, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = rc == KWI_TLS_AGAIN_READ ? POLLIN : POLLOUT};
    int left = (int)(deadline - now_ms());
    ck_assert_msg(left > 0, "timed out waiting for the socket");
    int n = poll(&p, 1, left);
    ck_assert_msg(n >= 0 || errno == EINTR, "poll: %s", strerror(errno));
}

static bool
again(kwi_tls_rc rc)
{
    return rc == KWI_TLS_AGAIN_READ || rc == KWI_TLS_AGAIN_WRITE;
}

static kwi_tls_rc
handshake(client *cl)
{
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    kwi_tls_rc rc;
    while (again(rc = kwi_tls_handshake(cl->t, &cl->err)))
        wait_for(cl->fd, rc, deadline);
    return rc;
}

static kwi_tls_rc
write_all(client *cl, const char *buf, size_t len)
{
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        kwi_tls_rc rc = kwi_tls_write(cl->t, buf + done, len - done, &n, &cl->err);
        if (again(rc)) {
            ck_assert_uint_eq(n, 0);
            wait_for(cl->fd, rc, deadline);
            continue;
        }
        if (rc != KWI_TLS_OK)
            return rc;
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_le(n, len - done);
        done += n;
    }
    return KWI_TLS_OK;
}

/* Reads exactly len bytes. Checks the pending() contract on the way: while it is nonzero, a
 * read must deliver without waiting for the socket. */
static kwi_tls_rc
read_exact(client *cl, char *buf, size_t len, size_t chunk)
{
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    size_t done = 0;
    while (done < len) {
        size_t pending = kwi_tls_pending(cl->t);
        size_t want = len - done < chunk ? len - done : chunk;
        size_t n = 0;
        kwi_tls_rc rc = kwi_tls_read(cl->t, buf + done, want, &n, &cl->err);
        if (pending > 0) {
            ck_assert_int_eq(rc, KWI_TLS_OK);
            ck_assert_uint_eq(n, want < pending ? want : pending);
        }
        if (again(rc)) {
            wait_for(cl->fd, rc, deadline);
            continue;
        }
        if (rc != KWI_TLS_OK)
            return rc;
        done += n;
    }
    return KWI_TLS_OK;
}

/* One line through s_server -rev; checks the reversed answer. */
static void
echo(client *cl, const char *line)
{
    size_t len = strlen(line);
    char sent[256], want[256], got[256];
    ck_assert_uint_lt(len + 1, sizeof(sent));
    snprintf(sent, sizeof(sent), "%s\n", line);
    for (size_t i = 0; i < len; i++)
        want[i] = line[len - 1 - i];
    want[len] = '\n';
    ck_assert_msg(write_all(cl, sent, len + 1) == KWI_TLS_OK, "write: %s", cl->err.msg);
    ck_assert_msg(read_exact(cl, got, len + 1, sizeof(got)) == KWI_TLS_OK, "read: %s", cl->err.msg);
    ck_assert_int_eq(memcmp(got, want, len + 1), 0);
}

/* The thread's OpenSSL error queue is empty: a failure left nothing for the next connection. */
static void
assert_queue_empty(void)
{
#if KW_HAVE_TLS
    ck_assert_uint_eq(ERR_peek_error(), 0);
#endif
}

static void
assert_msg_has(const kw_error *err, const char *needle)
{
    ck_assert_msg(strstr(err->msg, needle) != NULL, "expected \"%s\" in: %s", needle, err->msg);
}

/* s_server expecting an SNI name: a different name gets a fatal "unrecognized name" alert, no
 * SNI at all is accepted. (-servername wants a second certificate; it is the same one.) */
static const char *const sni_localhost[] = {"-servername", "localhost",  "-servername_fatal",
                                            "-cert2",      "server.pem", "-key2",
                                            "server.key",  NULL};
static const char *const sni_other[] = {
    "-servername", "other.example", "-servername_fatal", "-cert2",
    "server.pem",  "-key2",         "server.key",        NULL};

/* ---- tests: success ------------------------------------------------------------------------ */

START_TEST(test_echo_dns_name)
{
    server s;
    server_start(&s, "server.pem", "server.key", sni_localhost);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_str_eq(kwi_tls_protocol(cl.t), "none");
    /* Sessions hold the context: the caller may drop its reference at once. */
    kwi_tls_ctx_free(cl.ctx);
    cl.ctx = NULL;
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    ck_assert_str_eq(kwi_tls_protocol(cl.t), "TLSv1.3");
    ck_assert_str_ne(kwi_tls_cipher(cl.t), "none");
    ck_assert_int_eq(kwi_tls_handshake(cl.t, &cl.err), KWI_TLS_OK); /* idempotent */
    echo(&cl, "hello kwire");
    echo(&cl, "a second line");
    ck_assert_int_eq(kwi_tls_shutdown(cl.t, &cl.err), KWI_TLS_OK);
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_sni_is_sent)
{
    /* A server that wants another SNI name refuses us: so we sent "localhost". */
    server s;
    server_start(&s, "server.pem", "server.key", sni_other);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_IO); /* not an authentication failure */
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: the broker sent the alert "
                            "\"unrecognized name\"");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_echo_ip_address)
{
    /* An IP literal is checked against the IP SAN and never sent as SNI (RFC 6066): this
     * server would refuse any name but other.example. */
    server s;
    server_start(&s, "server.pem", "server.key", sni_other);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "127.0.0.1", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "by address");
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_tls12_and_ca_dir)
{
    const char *const args[] = {"-tls1_2", NULL};
    server s;
    server_start(&s, "server.pem", "server.key", args);
    kwi_tls_conf conf;
    kwi_tls_conf_init(&conf);
    conf.ca_dir = P("cadir");
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    ck_assert_str_eq(kwi_tls_protocol(cl.t), "TLSv1.2");
    echo(&cl, "tls one two");
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_old_protocol_refused)
{
    /* A server that speaks only TLS 1.1 (allowed on its side by security level 0). */
    const char *const args[] = {"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", NULL};
    server s;
    server_start(&s, "server.pem", "server.key", args);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_IO);
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: the broker sent the alert "
                            "\"protocol version\": the broker does not accept TLS 1.2 or newer");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_verify_off_accepts_untrusted)
{
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca2.pem"));
    conf.verify_peer = false;
    client cl;
    client_open(&cl, &conf, "broker.invalid", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "unverified");
    client_close(&cl);
    server_stop(&s);
}
END_TEST

/* ---- tests: verification ----------------------------------------------------------------- */

START_TEST(test_untrusted_ca)
{
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca2.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: certificate verification "
                            "failed: unable to get local issuer certificate (depth 0, subject "
                            "/CN=localhost)");
    assert_queue_empty();
    /* The session is dead: later calls say so, and shutdown does no I/O. */
    char buf[8];
    size_t n = 1;
    ck_assert_int_eq(kwi_tls_read(cl.t, buf, sizeof(buf), &n, &cl.err), KWI_TLS_ERROR);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    assert_msg_has(&cl.err, "already failed");
    ck_assert_int_eq(kwi_tls_write(cl.t, "x", 1, &n, &cl.err), KWI_TLS_ERROR);
    ck_assert_int_eq(kwi_tls_shutdown(cl.t, &cl.err), KWI_TLS_OK);
    ck_assert_uint_eq(kwi_tls_pending(cl.t), 0);
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_expired_certificate)
{
    server s;
    server_start(&s, "expired.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    assert_msg_has(&cl.err, "certificate verification failed: certificate has expired");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_hostname_mismatch)
{
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "broker.invalid", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "hostname mismatch");
    assert_msg_has(&cl.err, "valid for DNS:localhost, IP:127.0.0.1, not for \"broker.invalid\"");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_ip_mismatch)
{
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "127.0.0.2", s.port); /* we still connect to 127.0.0.1 */
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    assert_msg_has(&cl.err, "IP address mismatch");
    assert_msg_has(&cl.err, "not for \"127.0.0.2\"");
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_hostname_check_off)
{
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    conf.verify_hostname = false; /* the chain is still verified */
    client cl;
    client_open(&cl, &conf, "broker.invalid", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "any name");
    client_close(&cl);
    server_stop(&s);
}
END_TEST

/* ---- tests: mutual TLS ---------------------------------------------------------------------- */

static const char *const mtls_args[] = {"-Verify", "1", "-CAfile", "ca.pem", NULL};

START_TEST(test_mtls_without_client_cert)
{
    server s;
    server_start(&s, "server.pem", "server.key", mtls_args);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    /* TLS 1.3: the client finishes its handshake before the server checks for a certificate,
     * so the refusal arrives on the first read. */
    kwi_tls_rc rc = handshake(&cl);
    if (rc == KWI_TLS_OK) {
        rc = write_all(&cl, "hi\n", 3);
        char buf[8];
        if (rc == KWI_TLS_OK)
            rc = read_exact(&cl, buf, 3, sizeof(buf));
    }
    ck_assert_int_eq(rc, KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "the broker sent the alert \"certificate required\": the broker "
                            "requires a client certificate");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_mtls_with_encrypted_key)
{
    server s;
    server_start(&s, "server.pem", "server.key", mtls_args);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    conf.cert_file = P("client.pem");
    conf.key_file = P("client.key");
    conf.key_password = KEY_PASSWORD;
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "mutual");
    client_close(&cl);
    ck_assert_msg(strstr(server_log(&s), "CN = kwire-client") != NULL, "%s", server_log(&s));
    server_stop(&s);
}
END_TEST

START_TEST(test_mtls_tls12_without_client_cert)
{
    /* TLS 1.2 fails inside the handshake instead. */
    const char *const args[] = {"-Verify", "1", "-CAfile", "ca.pem", "-tls1_2", NULL};
    server s;
    server_start(&s, "server.pem", "server.key", args);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_AUTH);
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: the broker sent the alert "
                            "\"handshake failure\"");
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

/* ---- tests: peers that are not well-behaved TLS servers ------------------------------------ */

/* A loopback listener of our own; returns its fd and port. */
static int
listener(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    socklen_t sl = sizeof(sa);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return l;
}

/* Accepts one connection, optionally writes `say`, and closes it. */
static kwi_tls_rc
handshake_with_rude_peer(client *cl, const char *say)
{
    int port;
    int l = listener(&port);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client_open(cl, &conf, "localhost", port);
    int a = accept(l, NULL, NULL);
    ck_assert_int_ge(a, 0);
    if (say)
        ck_assert_int_eq(write(a, say, strlen(say)), (ssize_t)strlen(say));
    close(a);
    close(l);
    return handshake(cl);
}

START_TEST(test_peer_closes_immediately)
{
    client cl;
    ck_assert_int_eq(handshake_with_rude_peer(&cl, NULL), KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_IO);
    /* EOF, or EPIPE/ECONNRESET when the ClientHello met the closed socket: all say so. */
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: the peer closed the connection");
    assert_queue_empty();
    client_close(&cl);
}
END_TEST

START_TEST(test_peer_not_tls)
{
    client cl;
    ck_assert_int_eq(handshake_with_rude_peer(&cl, "HTTP/1.0 400 Bad Request\r\n\r\n"),
                     KWI_TLS_ERROR);
    ck_assert_int_eq(cl.err.code, KW_ERR_IO);
    ck_assert(!cl.err.retriable);
    assert_msg_has(&cl.err, "the peer does not speak TLS");
    assert_queue_empty();
    client_close(&cl);
}
END_TEST

START_TEST(test_connection_refused)
{
    int port;
    int l = listener(&port);
    close(l); /* nothing listens there now */
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", port);
    ck_assert_int_eq(handshake(&cl), KWI_TLS_ERROR);
    assert_msg_has(&cl.err, "TLS handshake with localhost failed: Connection refused");
    ck_assert(cl.err.retriable);
    client_close(&cl);
}
END_TEST

START_TEST(test_peer_closes_session)
{
    /* s_server -rev ends the session when a line starts with CLOSE. */
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "before close");
    ck_assert_int_eq(write_all(&cl, "CLOSE\n", 6), KWI_TLS_OK);
    char buf[64];
    ck_assert_int_eq(read_exact(&cl, buf, sizeof(buf), sizeof(buf)), KWI_TLS_CLOSED);
    ck_assert_int_eq(cl.err.code, KW_ERR_IO);
    assert_msg_has(&cl.err, "TLS peer localhost closed the");
    size_t n;
    ck_assert_int_eq(kwi_tls_read(cl.t, buf, sizeof(buf), &n, &cl.err), KWI_TLS_CLOSED);
    assert_msg_has(&cl.err, "has already been closed");
    ck_assert_int_eq(kwi_tls_shutdown(cl.t, &cl.err), KWI_TLS_OK);
    assert_queue_empty();
    client_close(&cl);
    server_stop(&s);
}
END_TEST

/* ---- tests: pending() -------------------------------------------------------------------- */

START_TEST(test_pending_after_large_write)
{
    /* A 12,000-byte line comes back in one or a few records. Reading it 256 bytes at a time
     * leaves the rest of each record inside OpenSSL, where poll() cannot see it: once the
     * last record is in, the socket is idle while pending() is not zero. */
    enum { LINE = 12000 };
    static char line[LINE + 1], got[LINE + 1];
    for (size_t i = 0; i < LINE; i++)
        line[i] = (char)('a' + i % 26);
    line[LINE] = '\n';
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    ck_assert_uint_eq(kwi_tls_pending(cl.t), 0);
    ck_assert_msg(write_all(&cl, line, LINE + 1) == KWI_TLS_OK, "%s", cl.err.msg);

    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    size_t done = 0;
    bool saw_hidden = false;
    while (done < LINE + 1) {
        size_t pending = kwi_tls_pending(cl.t);
        if (pending > 0 && done + pending == LINE + 1 && !saw_hidden) {
            /* Everything left is inside the TLS layer: the socket has nothing to say, and a
             * reactor that waited for it would wait forever. */
            struct pollfd p = {.fd = cl.fd, .events = POLLIN};
            ck_assert_int_eq(poll(&p, 1, 20), 0);
            saw_hidden = true;
        }
        size_t n = 0;
        kwi_tls_rc rc = kwi_tls_read(cl.t, got + done, 256, &n, &cl.err);
        if (pending > 0) {
            ck_assert_int_eq(rc, KWI_TLS_OK);
            ck_assert_uint_eq(n, pending < 256 ? pending : 256);
        }
        if (again(rc)) {
            wait_for(cl.fd, rc, deadline);
            continue;
        }
        ck_assert_msg(rc == KWI_TLS_OK, "%s", cl.err.msg);
        ck_assert_uint_le(n, 256);
        done += n;
    }
    ck_assert(saw_hidden);
    ck_assert_uint_eq(kwi_tls_pending(cl.t), 0);
    for (size_t i = 0; i < LINE; i++)
        ck_assert_int_eq(got[i], line[LINE - 1 - i]);
    ck_assert_int_eq(got[LINE], '\n');
    client_close(&cl);
    server_stop(&s);
}
END_TEST

START_TEST(test_write_backpressure)
{
    /* s_server is stopped (SIGSTOP) after the handshake, so our writes back up until one
     * returns AGAIN_WRITE. After SIGCONT the pending write is retried from a different
     * buffer with the same bytes, which the engine must accept (the connection layer
     * compacts its output queue while a write waits), and every line comes back. */
    enum { LEN = 1000, MAX_LINES = 4000 };
    static char got[MAX_LINES * LEN];
    char bufs[2][LEN];
    g_sockbuf = 16384; /* bounds how much our side buffers before AGAIN */
    server s;
    server_start(&s, "server.pem", "server.key", NULL);
    kwi_tls_conf conf;
    conf_trusting(&conf, P("ca.pem"));
    client cl;
    client_open(&cl, &conf, "localhost", s.port);
    ck_assert_msg(handshake(&cl) == KWI_TLS_OK, "%s", cl.err.msg);
    echo(&cl, "ready"); /* s_server has finished its part of the handshake */
    ck_assert_int_eq(kill(s.pid, SIGSTOP), 0);

    size_t lines = 0, off = 0, n = 0;
    kwi_tls_rc rc = KWI_TLS_OK;
    int which = 0;
    for (;;) {
        ck_assert_msg(lines < MAX_LINES, "no back-pressure after %d lines", MAX_LINES);
        memset(bufs[which], 'A' + (int)(lines % 26), LEN - 1);
        bufs[which][LEN - 1] = '\n';
        rc = kwi_tls_write(cl.t, bufs[which] + off, LEN - off, &n, &cl.err);
        if (rc != KWI_TLS_OK)
            break;
        off += n;
        if (off == LEN) {
            lines++;
            off = 0;
        }
    }
    ck_assert_msg(rc == KWI_TLS_AGAIN_WRITE, "write: %d %s", rc, cl.err.msg);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(kill(s.pid, SIGCONT), 0);

    /* Finish the pending line from the other buffer, reading the echo meanwhile (s_server
     * stops reading while its own writes to us are blocked). */
    which ^= 1;
    memcpy(bufs[which], bufs[which ^ 1], LEN);
    size_t total = (lines + 1) * LEN, received = 0;
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    short want = POLLOUT;
    while (received < total) {
        bool progress = false;
        if (want) {
            rc = kwi_tls_write(cl.t, bufs[which] + off, LEN - off, &n, &cl.err);
            if (rc == KWI_TLS_OK) {
                off += n;
                want = off == LEN ? 0 : POLLOUT;
                progress = true;
            } else {
                ck_assert_msg(again(rc), "write: %s", cl.err.msg);
                want = rc == KWI_TLS_AGAIN_READ ? POLLIN : POLLOUT;
            }
        }
        rc = kwi_tls_read(cl.t, got + received, total - received, &n, &cl.err);
        if (rc == KWI_TLS_OK) {
            received += n;
            progress = true;
        } else {
            ck_assert_msg(again(rc), "read: %s", cl.err.msg);
        }
        if (!progress) {
            struct pollfd p = {.fd = cl.fd, .events = POLLIN | want};
            int left = (int)(deadline - now_ms());
            ck_assert_msg(left > 0, "timed out: %zu of %zu bytes back", received, total);
            poll(&p, 1, left);
        }
    }
    for (size_t i = 0; i < total; i++)
        ck_assert_int_eq(got[i], i % LEN == LEN - 1 ? '\n' : 'A' + (int)(i / LEN % 26));
    client_close(&cl);
    server_stop(&s);
}
END_TEST

/* ---- tests: settings ------------------------------------------------------------------------ */

static void
ctx_fails(const kwi_tls_conf *conf, const char *needle)
{
    kw_error err;
    kw_error_init(&err);
    kwi_tls_ctx *ctx = (kwi_tls_ctx *)&err; /* must be reset to NULL */
    ck_assert_int_eq(kwi_tls_ctx_new(conf, &ctx, &err), KW_ERR_CONFIG);
    ck_assert_ptr_null(ctx);
    ck_assert(!err.retriable);
    assert_msg_has(&err, needle);
    assert_queue_empty();
}

START_TEST(test_config_errors)
{
    kwi_tls_conf c;
    conf_trusting(&c, P("missing.pem"));
    ctx_fails(&c, "missing.pem: No such file or directory");
    conf_trusting(&c, P("server.key")); /* a file with no certificate in it */
    ctx_fails(&c, "ssl.ca.location: cannot load CA certificates from");

    kwi_tls_conf_init(&c);
    c.ca_dir = P("ca.pem");
    ctx_fails(&c, "is not a directory");

    kwi_tls_conf_init(&c);
    c.key_file = P("client.key");
    ctx_fails(&c, "ssl.key.location is set but ssl.certificate.location is not");

    kwi_tls_conf_init(&c);
    c.cert_file = P("missing.pem");
    ctx_fails(&c, "ssl.certificate.location: cannot load a certificate chain from");

    kwi_tls_conf_init(&c);
    c.cert_file = P("client.pem");
    c.key_file = P("client.key");
    ctx_fails(&c, "is encrypted and ssl.key.password is not set");
    c.key_password = "wrong";
    ctx_fails(&c, "ssl.key.password: cannot decrypt the private key");
    c.key_file = P("server.key");
    ctx_fails(&c, "does not match the certificate");
    c.key_file = NULL; /* the key must then be in the certificate file */
    ctx_fails(&c, "ssl.key.location is not set and no private key could be loaded from the "
                  "certificate file");
    c.key_file = P("missing.key");
    ctx_fails(&c, "ssl.key.location: cannot load a private key from");

    /* Host-name verification needs a host name. */
    kwi_tls_conf_init(&c);
    c.ca_file = P("ca.pem");
    kw_error err;
    kw_error_init(&err);
    kwi_tls_ctx *ctx = NULL;
    ck_assert_int_eq(kwi_tls_ctx_new(&c, &ctx, &err), KW_ERR_OK);
    kwi_tls *t = NULL;
    ck_assert_int_eq(kwi_tls_new(ctx, 0, NULL, &t, &err), KW_ERR_CONFIG);
    ck_assert_ptr_null(t);
    assert_msg_has(&err, "needs the broker's host name");
    ck_assert_int_eq(kwi_tls_new(ctx, -1, "localhost", &t, &err), KW_ERR_INVALID_ARG);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    ck_assert_int_eq(kwi_tls_new(ctx, 0, longname, &t, &err), KW_ERR_INVALID_ARG);
    kwi_tls_ctx_free(ctx);
    ck_assert_int_eq(kwi_tls_ctx_new(NULL, &ctx, &err), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(ctx);
    kwi_tls_ctx_free(NULL);
    kwi_tls_free(NULL);

    /* Without host-name verification, no host is fine; so are the system store and a
     * certificate file that also holds its key. */
    c.verify_hostname = false;
    c.ca_file = NULL;
    c.cert_file = P("combined.pem");
    ck_assert_msg(kwi_tls_ctx_new(&c, &ctx, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kwi_tls_new(ctx, 0, NULL, &t, &err), KW_ERR_OK);
    ck_assert_str_eq(kwi_tls_protocol(t), "none");
    ck_assert_int_eq(kwi_tls_shutdown(t, &err), KWI_TLS_OK); /* nothing to close yet */
    kwi_tls_free(t);
    kwi_tls_ctx_free(ctx);
}
END_TEST

/* An allocator that fails once `left` allocations have succeeded. */
static void *
fail_alloc(void *ud, size_t size)
{
    int *left = ud;
    if ((*left)-- <= 0)
        return NULL;
    return malloc(size);
}

static void *
fail_realloc(void *ud, void *p, size_t old, size_t size)
{
    (void)ud;
    (void)old;
    return realloc(p, size);
}

static void
fail_free(void *ud, void *p, size_t size)
{
    (void)ud;
    (void)size;
    free(p);
}

START_TEST(test_out_of_memory)
{
    int left = 0;
    kw_allocator a = {fail_alloc, fail_realloc, fail_free, &left};
    kwi_tls_conf c;
    conf_trusting(&c, P("ca.pem"));
    c.alloc = &a;
    kw_error err;
    kw_error_init(&err);
    kwi_tls_ctx *ctx = NULL;
    ck_assert_int_eq(kwi_tls_ctx_new(&c, &ctx, &err), KW_ERR_NOMEM);
    ck_assert_ptr_null(ctx);
    left = 1; /* the context, then not the session */
    ck_assert_int_eq(kwi_tls_ctx_new(&c, &ctx, &err), KW_ERR_OK);
    kwi_tls *t = (kwi_tls *)&err;
    ck_assert_int_eq(kwi_tls_new(ctx, 0, "localhost", &t, &err), KW_ERR_NOMEM);
    ck_assert_ptr_null(t);
    ck_assert(err.retriable);
    kwi_tls_ctx_free(ctx); /* nothing leaks: LeakSanitizer builds check it */
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

#if !KW_HAVE_TLS
/* Without TLS only the stub exists: check it, then report the suite as skipped. */
static void
check_stub_and_skip(void)
{
    kwi_tls_conf c;
    kwi_tls_conf_init(&c);
    kw_error err;
    kw_error_init(&err);
    kwi_tls_ctx *ctx = (kwi_tls_ctx *)&err;
    kwi_tls *t = (kwi_tls *)&err;
    bool ok = !kwi_tls_available() && kwi_tls_ctx_new(&c, &ctx, &err) == KW_ERR_CONFIG &&
              ctx == NULL && strcmp(err.msg, "kwire was built without TLS (-Dtls=disabled)") == 0 &&
              kwi_tls_new(NULL, 0, "localhost", &t, &err) == KW_ERR_CONFIG && t == NULL;
    if (!ok) {
        fprintf(stderr, "FAIL: the TLS stub does not report itself as expected: %s\n", err.msg);
        exit(1);
    }
    fprintf(stderr, "SKIP: net_tls: %s; the stub reports that clearly\n", err.msg);
    exit(77);
}
#endif

Suite *kw_test_suite(void);

Suite *
kw_test_suite(void)
{
#if !KW_HAVE_TLS
    check_stub_and_skip();
#endif
    if (!kwi_tls_available()) {
        fprintf(stderr, "FAIL: KW_HAVE_TLS is set but the TLS stub was linked\n");
        exit(1);
    }
    const char *const version[] = {"openssl", "version", NULL};
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/kwire-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "cannot create %s: %s\n", g_dir, strerror(errno));
        exit(1);
    }
    if (!run(version)) {
        remove_dir();
        fprintf(stderr, "SKIP: net_tls: the openssl command is not installed (Debian: openssl)\n");
        exit(77);
    }
    if (!make_pki()) {
        char log[4096];
        slurp(P("gen.log"), log, sizeof(log));
        fprintf(stderr, "%s\n", log);
        remove_dir();
        exit(1);
    }

    Suite *s = suite_create("net_tls");
    TCase *tc = tcase_create("tls");
    /* Runs once in the runner process, after every forked test has finished. */
    tcase_add_unchecked_fixture(tc, NULL, remove_dir);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_echo_dns_name);
    tcase_add_test(tc, test_sni_is_sent);
    tcase_add_test(tc, test_echo_ip_address);
    tcase_add_test(tc, test_tls12_and_ca_dir);
    tcase_add_test(tc, test_old_protocol_refused);
    tcase_add_test(tc, test_verify_off_accepts_untrusted);
    tcase_add_test(tc, test_untrusted_ca);
    tcase_add_test(tc, test_expired_certificate);
    tcase_add_test(tc, test_hostname_mismatch);
    tcase_add_test(tc, test_ip_mismatch);
    tcase_add_test(tc, test_hostname_check_off);
    tcase_add_test(tc, test_mtls_without_client_cert);
    tcase_add_test(tc, test_mtls_with_encrypted_key);
    tcase_add_test(tc, test_mtls_tls12_without_client_cert);
    tcase_add_test(tc, test_peer_closes_immediately);
    tcase_add_test(tc, test_peer_not_tls);
    tcase_add_test(tc, test_connection_refused);
    tcase_add_test(tc, test_peer_closes_session);
    tcase_add_test(tc, test_pending_after_large_write);
    tcase_add_test(tc, test_write_backpressure);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

/* The librdkafka mock launcher; see rdk_launch.h. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rdk_launch.h"

#define LINE_TIMEOUT_MS 30000

bool
kwt_rdk_available(const char **why)
{
    const char *p = getenv("KW_RDK_MOCK");
    if (!p || !*p) {
        *why = "librdkafka-dev not found at build time (KW_RDK_MOCK unset): apt-get install "
               "librdkafka-dev";
        return false;
    }
    if (access(p, X_OK) != 0) {
        *why = "the rdk_mock helper is not executable";
        return false;
    }
    return true;
}

void
kwt_rdk_require(void)
{
    const char *why;
    if (!kwt_rdk_available(&why)) {
        fprintf(stderr, "SKIP: %s\n", why);
        printf("SKIP: %s\n", why);
        exit(77);
    }
}

/* Reads one line (without the newline) within the timeout. */
static void
read_line(kwt_rdk *m, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(m->buf, '\n', m->len);
        if (nl) {
            size_t n = (size_t)(nl - m->buf);
            ck_assert_uint_lt(n, cap);
            memcpy(out, m->buf, n);
            out[n] = '\0';
            memmove(m->buf, nl + 1, m->len - n - 1);
            m->len -= n + 1;
            return;
        }
        ck_assert_msg(m->len < sizeof(m->buf), "rdk_mock: line too long");
        struct pollfd p = {m->from_child, POLLIN, 0};
        int rc = poll(&p, 1, LINE_TIMEOUT_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        ck_assert_msg(rc == 1, "rdk_mock: no answer within %d ms", LINE_TIMEOUT_MS);
        ssize_t r = read(m->from_child, m->buf + m->len, sizeof(m->buf) - m->len);
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert_msg(r > 0, "rdk_mock exited unexpectedly");
        m->len += (size_t)r;
    }
}

void
kwt_rdk_start(kwt_rdk *m, int n)
{
    memset(m, 0, sizeof(*m));
    const char *path = getenv("KW_RDK_MOCK");
    ck_assert_ptr_nonnull(path);
    int in[2], out[2];
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    char arg[16];
    snprintf(arg, sizeof(arg), "%d", n);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(path, path, arg, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    m->pid = pid;
    m->to_child = in[1];
    m->from_child = out[0];
    m->n_brokers = n;
    read_line(m, m->bootstrap, sizeof(m->bootstrap));
    ck_assert_msg(strchr(m->bootstrap, ':') != NULL, "rdk_mock: bad bootstrap line \"%s\"",
                  m->bootstrap);
}

void
kwt_rdk_cmd(kwt_rdk *m, const char *fmt, ...)
{
    char cmd[512], ans[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof(cmd) - 1);
    cmd[n++] = '\n';
    ck_assert_int_eq(write(m->to_child, cmd, (size_t)n), n);
    read_line(m, ans, sizeof(ans));
    cmd[n - 1] = '\0';
    ck_assert_msg(strcmp(ans, "ok") == 0, "rdk_mock: \"%s\" answered \"%s\"", cmd, ans);
}

int
kwt_rdk_port(const kwt_rdk *m, int id)
{
    const char *p = m->bootstrap;
    for (int i = 1; i < id && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    ck_assert_ptr_nonnull(p);
    const char *colon = strchr(p, ':');
    ck_assert_ptr_nonnull(colon);
    return atoi(colon + 1);
}

void
kwt_rdk_stop(kwt_rdk *m)
{
    if (m->pid <= 0)
        return;
    if (write(m->to_child, "quit\n", 5) < 0) {
        /* already gone; reaped below */
    }
    close(m->to_child);
    close(m->from_child);
    for (int i = 0; i < 500; i++) {
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = 0;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    m->pid = 0;
}

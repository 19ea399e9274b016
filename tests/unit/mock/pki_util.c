/* The throwaway PKI of pki_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pki_util.h"

static char g_dir[256];

const char *
pki_path(const char *name)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

int
pki_run(const char *const argv[], const char *in, const char *out, int timeout_s)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        int i = open(in ? in : "/dev/null", O_RDONLY);
        int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (i < 0 || o < 0 || (g_dir[0] && chdir(g_dir) != 0))
            _exit(127);
        dup2(i, 0);
        dup2(o, 1);
        dup2(o, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -2;
        }
        usleep(10000); /* polling a child's exit; not synchronising with the mock */
    }
}

static bool
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static const char cnf[] = "[req]\n"
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
                          "authorityKeyIdentifier = keyid\n";

#define EC "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"

bool
pki_make(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/kwire-mock-pki-XXXXXX");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return false;
    }
    if (!write_file(pki_path("pki.cnf"), cnf))
        return false;
    /* clang-format off */
    const char *const cmds[][32] = {
        {"openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", EC,
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kwire mock test CA", "-days", "2",
         NULL},
        {"openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", EC,
         "-keyout", "rogue-ca.key", "-out", "rogue-ca.pem", "-subj", "/CN=untrusted CA",
         "-days", "2", NULL},
        {"openssl", "req", "-new", "-config", "pki.cnf", EC, "-keyout", "server.key",
         "-out", "server.csr", "-subj", "/CN=localhost", NULL},
        {"openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "2", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "2",
         "-out", "server.pem", NULL},
        {"openssl", "req", "-new", "-config", "pki.cnf", EC, "-keyout", "client.key",
         "-out", "client.csr", "-subj", "/CN=kwire-client", NULL},
        {"openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "3", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "2",
         "-out", "client.pem", NULL},
        {"openssl", "req", "-new", "-config", "pki.cnf", EC, "-keyout", "rogue.key",
         "-out", "rogue.csr", "-subj", "/CN=rogue-client", NULL},
        {"openssl", "x509", "-req", "-in", "rogue.csr", "-CA", "rogue-ca.pem", "-CAkey",
         "rogue-ca.key", "-set_serial", "4", "-extfile", "pki.cnf", "-extensions", "v3_leaf",
         "-days", "2", "-out", "rogue.pem", NULL},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (pki_run(cmds[i], NULL, pki_path("gen.log"), 60) != 0) {
            fprintf(stderr, "making the test PKI failed at: %s %s (see %s)\n", cmds[i][0],
                    cmds[i][1], pki_path("gen.log"));
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

void
pki_remove(void)
{
    if (g_dir[0] && !getenv("KWT_KEEP_PKI"))
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

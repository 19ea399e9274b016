/* A throwaway MIT Kerberos realm for tests (krb5_kdc.h). */
#include "krb5_kdc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static kwt_kdc *running; /* for the atexit handler */

static int
find_prog(const char *name, char *out, size_t cap)
{
    /* The admin programs live in sbin, which a non-root PATH often lacks. */
    const char *path = getenv("PATH");
    char dirs[1024];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/local/sbin:/usr/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return 1;
    }
    return 0;
}

static void
ms_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
append_file(char *buf, size_t cap, const char *dir, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = strlen(buf);
    if (n + 1 < cap) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        buf[n + r] = '\0';
    }
    fclose(f);
}

/* Forks argv[0] with stdin from /dev/null and its output appended to dir/log. With die_with
 * set the child gets SIGKILL when this process dies. Returns the pid or -1. */
static pid_t
spawn(const kwt_kdc *k, char *const argv[], const char *log, int die_with)
{
    pid_t parent = getpid();
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", k->dir, log);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The parent may have died between fork and prctl: then nobody would kill us. */
    if (die_with && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/* Waits up to timeout_s for a child; its exit status (128 + signal when killed), or -1 after
 * killing it at the deadline. Polls: a child that exits is reaped within 10 ms. */
static int
wait_exit(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        ms_sleep(10);
    }
}

/* Runs an admin program to completion; 1 on exit status 0, else 0 with k->fail set. */
static int
run(kwt_kdc *k, const char *what, char *const argv[])
{
    pid_t pid = spawn(k, argv, "cmd.log", 0);
    int rc = pid < 0 ? -1 : wait_exit(pid, 120);
    if (rc == 0)
        return 1;
    snprintf(k->fail, sizeof(k->fail), "%s exited with %d; output:\n", what, rc);
    append_file(k->fail, sizeof(k->fail), k->dir, "cmd.log");
    return 0;
}

/* A port free for TCP and UDP on 127.0.0.1 (the KDC listens on both). Another process may
 * take it before the KDC binds; start_kdc then tries again with a new one. */
static int
pick_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof(sa);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
        int ok = t >= 0 && u >= 0 && bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                 getsockname(t, (struct sockaddr *)&sa, &sl) == 0 &&
                 bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (t >= 0)
            close(t);
        if (u >= 0)
            close(u);
        if (ok)
            return ntohs(sa.sin_port);
    }
    return -1;
}

static int
write_file(const kwt_kdc *k, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", k->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* krb5.conf for every Kerberos user, kdc.conf for the KDC and the admin tools. Clients talk
 * TCP (udp_preference_limit = 1), so a busy machine dropping a datagram cannot stall them. */
static int
write_confs(const kwt_kdc *k)
{
    const char *d = k->dir;
    char b[2048];
    snprintf(b, sizeof(b),
             "[libdefaults]\n default_realm = " KWT_REALM "\n dns_lookup_kdc = false\n"
             " dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n"
             " udp_preference_limit = 1\n default_ccache_name = FILE:%s/default.cc\n"
             " default_client_keytab_name = FILE:%s/default_client.keytab\n"
             "[realms]\n " KWT_REALM " = {\n  kdc = 127.0.0.1:%d\n }\n"
             "[domain_realm]\n localhost = " KWT_REALM "\n .kwire.test = " KWT_REALM "\n",
             d, d, k->port);
    if (!write_file(k, "krb5.conf", b))
        return 0;
    snprintf(b, sizeof(b),
             "[kdcdefaults]\n kdc_listen = 127.0.0.1:%d\n kdc_tcp_listen = 127.0.0.1:%d\n"
             "[realms]\n " KWT_REALM " = {\n  database_name = %s/principal\n"
             "  key_stash_file = %s/stash\n  acl_file = %s/kadm5.acl\n  max_life = 1h\n }\n"
             "[logging]\n kdc = FILE:%s/kdc.log\n admin_server = FILE:%s/kadmin.log\n"
             " default = FILE:%s/krb5.log\n",
             k->port, k->port, d, d, d, d, d, d);
    return write_file(k, "kdc.conf", b) && write_file(k, "kadm5.acl", "");
}

static int
port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 0;
    int ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(s);
    return ok;
}

/* Starts krb5kdc and waits until it accepts connections on its port. A KDC that exits first
 * (another process took the port in the meantime) is retried on another port. */
static int
start_kdc(kwt_kdc *k)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        if ((k->port = pick_port()) < 0 || !write_confs(k)) {
            snprintf(k->fail, sizeof(k->fail), "cannot pick a port or write the configuration");
            return 0;
        }
        char *argv[] = {k->krb5kdc, "-n", "-r", KWT_REALM, NULL};
        k->pid = spawn(k, argv, "kdc.out", 1);
        if (k->pid < 0) {
            k->pid = 0;
            snprintf(k->fail, sizeof(k->fail), "fork: %s", strerror(errno));
            return 0;
        }
        double end = now_s() + 60; /* generous: a loaded 2-core machine */
        int st;
        while (waitpid(k->pid, &st, WNOHANG) == 0) {
            if (port_open(k->port))
                return 1;
            if (now_s() > end) {
                snprintf(k->fail, sizeof(k->fail), "krb5kdc did not listen on port %d in 60 s",
                         k->port);
                return 0; /* kwt_kdc_stop kills it */
            }
            ms_sleep(10);
        }
        k->pid = 0;
        snprintf(k->fail, sizeof(k->fail), "krb5kdc exited on port %d; output:\n", k->port);
        append_file(k->fail, sizeof(k->fail), k->dir, "kdc.out");
        append_file(k->fail, sizeof(k->fail), k->dir, "kdc.log");
    }
    return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void
kwt_kdc_stop(kwt_kdc *k)
{
    if (!k || k->owner != getpid())
        return;
    if (k->pid > 0) {
        kill(k->pid, SIGTERM);
        if (wait_exit(k->pid, 10) < 0) /* wait_exit kills it at the deadline */
            fprintf(stderr, "krb5_kdc: krb5kdc ignored SIGTERM and was killed\n");
        k->pid = 0;
    }
    if (k->dir[0]) {
        nftw(k->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        k->dir[0] = '\0';
    }
    if (running == k)
        running = NULL;
}

static void
stop_at_exit(void)
{
    kwt_kdc_stop(running);
}

static void
setenv_dir(const kwt_kdc *k, const char *name, const char *fmt)
{
    char v[160];
    snprintf(v, sizeof(v), fmt, k->dir);
    setenv(name, v, 1);
}

/* The database, the principals and their keytabs. The KDC need not run for this. */
static int
make_realm(kwt_kdc *k, const char *const *services)
{
    char *create[] = {k->kdb5_util, "-r", KWT_REALM,          "create",
                      "-s",         "-P", "kwire-master-key", NULL};
    if (!run(k, "kdb5_util create", create))
        return 0;
    char cmd[512];
    char *argv[] = {k->kadmin_local, "-r", KWT_REALM, "-q", cmd, NULL};
    snprintf(cmd, sizeof(cmd), "addprinc -randkey client");
    if (!run(k, cmd, argv))
        return 0;
    snprintf(cmd, sizeof(cmd), "ktadd -k %s/client.keytab client", k->dir);
    if (!run(k, cmd, argv))
        return 0;
    for (const char *const *s = services; *s; s++) {
        snprintf(cmd, sizeof(cmd), "addprinc -randkey %s", *s);
        if (!run(k, cmd, argv))
            return 0;
        snprintf(cmd, sizeof(cmd), "ktadd -k %s/service.keytab %s", k->dir, *s);
        if (!run(k, cmd, argv))
            return 0;
    }
    return 1;
}

int
kwt_kdc_start(kwt_kdc *k, const char *const *services)
{
    memset(k, 0, sizeof(*k));
    k->owner = getpid();
    if (!find_prog("krb5kdc", k->krb5kdc, sizeof(k->krb5kdc)) ||
        !find_prog("kdb5_util", k->kdb5_util, sizeof(k->kdb5_util)) ||
        !find_prog("kadmin.local", k->kadmin_local, sizeof(k->kadmin_local)) ||
        !find_prog("kinit", k->kinit, sizeof(k->kinit))) {
        snprintf(k->skip, sizeof(k->skip),
                 "krb5kdc, kdb5_util, kadmin.local or kinit not found (Debian krb5-kdc, "
                 "krb5-admin-server, krb5-user)");
        return 0;
    }
    static int registered;
    if (!registered++)
        atexit(stop_at_exit);
    running = k;
    snprintf(k->dir, sizeof(k->dir), "/tmp/kwt-krb5-XXXXXX");
    if (!mkdtemp(k->dir)) {
        k->dir[0] = '\0';
        snprintf(k->fail, sizeof(k->fail), "mkdtemp: %s", strerror(errno));
        return -1;
    }
    setenv_dir(k, "KRB5_CONFIG", "%s/krb5.conf");
    setenv_dir(k, "KRB5_KDC_PROFILE", "%s/kdc.conf");
    setenv_dir(k, "KRB5_KTNAME", "FILE:%s/service.keytab");
    setenv("KRB5RCACHETYPE", "none", 1); /* no replay cache files outside k->dir */
    unsetenv("KRB5_CLIENT_KTNAME");
    unsetenv("KRB5CCNAME");
    k->port = 1; /* until start_kdc picks one: the admin tools do not talk to the KDC */
    if (!write_confs(k)) {
        snprintf(k->fail, sizeof(k->fail), "cannot write the configuration in %s", k->dir);
        return -1;
    }
    if (!make_realm(k, services) || !start_kdc(k))
        return -1;
    char keytab[128];
    snprintf(keytab, sizeof(keytab), "%s/client.keytab", k->dir);
    char *kinit[] = {k->kinit, "-k", "-t", keytab, "client@" KWT_REALM, NULL};
    setenv_dir(k, "KRB5CCNAME", "FILE:%s/client.cc");
    int ok = run(k, "kinit -k -t client.keytab client", kinit);
    unsetenv("KRB5CCNAME");
    return ok ? 1 : -1;
}

void
kwt_kdc_client_env(const kwt_kdc *k, const char *ccache, const char *keytab)
{
    char v[192];
    snprintf(v, sizeof(v), "FILE:%s/%s", k->dir, ccache);
    setenv("KRB5CCNAME", v, 1);
    if (keytab) {
        snprintf(v, sizeof(v), "FILE:%s/%s", k->dir, keytab);
        setenv("KRB5_CLIENT_KTNAME", v, 1);
    } else {
        unsetenv("KRB5_CLIENT_KTNAME");
    }
}

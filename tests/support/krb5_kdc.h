/* Test support: a throwaway MIT Kerberos realm, KWIRE.TEST, with a real KDC.
 *
 * kwt_kdc_start makes a temporary directory, writes krb5.conf and kdc.conf there, creates the
 * database (kdb5_util create -s), adds client@KWIRE.TEST and the given service principals
 * (kadmin.local addprinc -randkey, ktadd), starts krb5kdc -n on an ephemeral loopback port,
 * waits until it accepts connections and gets a ticket for the client with kinit. No DNS is
 * involved: names are not canonicalised, so "kafka@localhost" is exactly kafka/localhost.
 *
 * Files in k->dir: client.keytab (client@KWIRE.TEST), service.keytab (every service
 * principal), client.cc (the client's ticket cache, FILE: type). The default cache and the
 * default client keytab point into k->dir and do not exist, so nothing outside the directory
 * is read or written.
 *
 * The environment of this process (inherited by forks and children) gets KRB5_CONFIG,
 * KRB5_KDC_PROFILE, KRB5_KTNAME (the service keytab, for an acceptor such as cyrus-sasl's
 * server) and KRB5RCACHETYPE=none; KRB5CCNAME and KRB5_CLIENT_KTNAME are unset: each test
 * chooses its client credentials.
 *
 * krb5kdc dies with the process that started it (PR_SET_PDEATHSIG); kwt_kdc_stop, or an
 * atexit handler in that same process, stops it and removes the directory. Forks of that
 * process (Check's fork mode) leave both alone when they exit. */
#ifndef KWT_KRB5_KDC_H
#define KWT_KRB5_KDC_H

#include <sys/types.h>

#define KWT_REALM "KWIRE.TEST"

typedef struct kwt_kdc {
    char dir[64];
    int port;
    pid_t pid;   /* krb5kdc; 0 when not running */
    pid_t owner; /* the process that started it */
    char krb5kdc[128], kdb5_util[128], kadmin_local[128], kinit[128];
    char skip[256]; /* set when kwt_kdc_start returns 0 */
    char fail[768]; /* set when kwt_kdc_start returns -1, with the tool's output */
} kwt_kdc;

/* Starts the realm with the service principals services[0..] (NULL-terminated, at least one,
 * each like "kafka/localhost"). Returns 1 when the KDC is up and the client has a ticket; 0
 * when the Kerberos programs are not installed (k->skip names the Debian packages); -1 when
 * something failed (k->fail says what). One realm per process at a time. */
int kwt_kdc_start(kwt_kdc *k, const char *const *services);

/* Stops the KDC and removes the directory. Does nothing in any other process than the one that
 * started it, and nothing the second time. */
void kwt_kdc_stop(kwt_kdc *k);

/* Points the Kerberos client environment at k->dir/<ccache> (KRB5CCNAME, FILE: type) and, when
 * keytab is not NULL, at k->dir/<keytab> as the client keytab (KRB5_CLIENT_KTNAME; unset
 * otherwise), from which MIT krb5 gets a ticket by itself when the cache has none. */
void kwt_kdc_client_env(const kwt_kdc *k, const char *ccache, const char *keytab);

#endif

/* Internal: the logging hook as the runtime layers see it.
 *
 * The public hook (kw_client_set_log) is a function, a user pointer and a maximum level. The
 * layers below the client get a pointer to this struct and test the level before they format
 * anything, so a silent client (the default) never pays for a message it would throw away:
 *
 *     if (kwi_log_on(log, KWI_LOG_DEBUG))
 *         kwi_log_write(log, KWI_LOG_DEBUG, "conn", "broker %d: %s", id, why);
 *
 * Nothing here may be given a secret: callers log host names, node ids, API names and error
 * texts, never configuration values of secret properties or authentication tokens. */
#ifndef KWI_NET_LOG_H
#define KWI_NET_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Levels match syslog's numbers and kw_log_level in kwire/client.h. */
#define KWI_LOG_ERROR 3
#define KWI_LOG_WARN  4
#define KWI_LOG_INFO  6
#define KWI_LOG_DEBUG 7

typedef void (*kwi_log_fn)(void *ud, int level, const char *subsystem, const char *msg);

typedef struct kwi_log {
    kwi_log_fn fn; /* NULL = silent */
    void *ud;
    int level; /* messages above this level are not formatted */
} kwi_log;

static inline bool
kwi_log_on(const kwi_log *l, int level)
{
    return l && l->fn && level <= l->level;
}

/* Formats into a bounded stack buffer (longer messages are truncated) and calls the hook. */
void kwi_log_write(const kwi_log *l, int level, const char *subsystem, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif

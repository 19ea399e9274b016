/* The logging hook: format once, into a bounded buffer, only when someone listens. */
#include <stdarg.h>
#include <stdio.h>

#include "net/log.h"

#define LOG_LINE_MAX 512

void
kwi_log_write(const kwi_log *l, int level, const char *subsystem, const char *fmt, ...)
{
    if (!kwi_log_on(l, level))
        return;
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->fn(l->ud, level, subsystem, line);
}

/* The monotonic millisecond clock and its test override; see clock.h. */
#include <time.h>

#include "clock.h"

int64_t
kwi_clock_now_ms(const kwi_clock *c)
{
    if (c && c->now)
        return c->now(c->ud);
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer; if it somehow did, 0 makes
     * every timer look due at once, which is safe (early, never lost). */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

#include "slow.h"

#include <stdlib.h>

int
kwt_slow_factor(void)
{
    const char *v = getenv("KW_UNDER_VALGRIND");
    return v && *v && *v != '0' ? 20 : 1;
}

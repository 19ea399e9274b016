#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard.h"

uint8_t *
kwt_guard_init(kwt_guard *g, const void *src, size_t len)
{
    memset(g, 0, sizeof(*g));
    long ps = sysconf(_SC_PAGESIZE);
    size_t page = ps > 0 ? (size_t)ps : 4096;
    size_t data_pages = len / page + (len % page != 0);
    if (data_pages == 0)
        data_pages = 1;
    size_t map_len = (data_pages + 1) * page;
    void *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    uint8_t *guard = (uint8_t *)map + data_pages * page;
    if (mprotect(guard, page, PROT_NONE) != 0) {
        munmap(map, map_len);
        return NULL;
    }
    g->map = map;
    g->map_len = map_len;
    g->len = len;
    g->data = guard - len;
    if (src && len)
        memcpy(g->data, src, len);
    return g->data;
}

void
kwt_guard_fini(kwt_guard *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    memset(g, 0, sizeof(*g));
}

/* Shared by the record fuzz harnesses: walks every batch, record and header of a fetch-style
 * records payload the way a consumer does, with a bounded decompression scratch buffer. */
#ifndef KW_FUZZ_RECORDS_WALK_H
#define KW_FUZZ_RECORDS_WALK_H

#include <stdlib.h>

#include "kwire/records.h"

static void
walk_records(const uint8_t *data, size_t size)
{
    kw_slice all = {data, (int32_t)size};
    kw_batch_iter bi;
    kw_batch b;
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1u << 20);
    kw_batch_iter_init(&bi, all);
    while (kw_batch_iter_next(&bi, &b)) {
        kw_record_iter ri;
        kw_record rec;
        if (kw_record_iter_init(&ri, &b, &scratch, 1u << 20) != KW_ERR_OK)
            continue;
        while (kw_record_iter_next(&ri, &rec)) {
            /* Touch every byte the record claims, so ASan sees any slice past its buffer. */
            volatile uint8_t sink = 0;
            for (int32_t i = 0; i < rec.key.len; i++)
                sink ^= rec.key.ptr[i];
            for (int32_t i = 0; i < rec.value.len; i++)
                sink ^= rec.value.ptr[i];
            kw_header_iter hi;
            kw_header h;
            kw_header_iter_init(&hi, &rec);
            while (kw_header_iter_next(&hi, &h))
                for (int32_t i = 0; i < h.value.len; i++)
                    sink ^= h.value.ptr[i];
            if (kw_batch_is_control(&b)) {
                kw_control c;
                (void)kw_control_decode(&rec, &c);
            }
            (void)sink;
        }
    }
    kw_wr_fini(&scratch);
}

#endif

/* Internal: the generated per-message field tables (fieldtab.c). */
#ifndef KWI_PROTO_FIELDTAB_H
#define KWI_PROTO_FIELDTAB_H

#include "kwire/proto.h"

typedef struct kwi_field_tab {
    const char *msg;
    const kw_field_def *fields; /* sorted by path */
    size_t n;
} kwi_field_tab;

extern const kwi_field_tab kwi_field_tabs[]; /* sorted by msg */
extern const size_t kwi_n_field_tabs;

#endif

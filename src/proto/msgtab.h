/* Internal: each API family file exports a NULL-terminated list of its messages. */
#ifndef KWI_PROTO_MSGTAB_H
#define KWI_PROTO_MSGTAB_H

#include "kwire/proto.h"

extern const kw_msgdef *const kwi_family_meta[];
extern const kw_msgdef *const kwi_family_produce[];
extern const kw_msgdef *const kwi_family_fetch[];
extern const kw_msgdef *const kwi_family_group[];
extern const kw_msgdef *const kwi_family_offsets[];
extern const kw_msgdef *const kwi_family_txn[];
extern const kw_msgdef *const kwi_family_admin[];
extern const kw_msgdef *const kwi_family_kip848[];

#endif

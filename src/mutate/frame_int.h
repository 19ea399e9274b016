/* Internal: frame encoding with wire overrides. */
#ifndef KWI_MUTATE_FRAME_INT_H
#define KWI_MUTATE_FRAME_INT_H

#include "kwire/mutate.h"

kw_err kwm_frame_encode_ex(kw_wr *w, const kw_frame *f, const kw_override *ov, size_t n_ov);

#endif

/* Internal: the VISIT mode of the walk and the wire overrides of kw_msg_encode_ex (walk.c). */
#ifndef KWI_PROTO_WALK_H
#define KWI_PROTO_WALK_H

#include "kwire/proto.h"

struct kw_walk_state {
    const kw_msgdef *def;
    int16_t ver;
    kw_field_fn fn; /* VISIT */
    void *ud;
    bool stop;   /* the visitor asked to stop */
    bool schema; /* kw_msg_walk_schema: one zero element per array, read-only values */
    int depth;
    int32_t tag;           /* the tagged field being walked, or -1 */
    int32_t index;         /* the index of the primitive array element being walked, or -1 */
    const kw_override *ov; /* ENCODE */
    size_t n_ov;
};

/* Report one field to the visitor (VISIT mode). */
void kwi_walk_visit(kw_io *io, const char *name, kw_ftype type, void *value, int32_t *count,
                    bool *present, size_t esz);
void kwi_walk_array(kw_io *io, const char *name, void *arr, int32_t *n, size_t esz, kw_io_fn fn,
                    int16_t ver);
void kwi_walk_struct(kw_io *io, const char *name, bool *present, void *m, kw_io_fn fn, int16_t ver);
/* ENCODE with overrides: the count/length/marker to write for `field`, else `real`. */
int64_t kwi_walk_count(const kw_io *io, const void *field, int64_t real);
/* ENCODE with overrides: a string (bytes=false) or bytes field, with its length overridable. */
void kwi_walk_encode_slice(kw_io *io, const kw_slice *v, bool bytes);

size_t kwi_io_path_push(kw_io *io, const char *name, int32_t idx);
void kwi_io_path_pop(kw_io *io, size_t old);

#endif

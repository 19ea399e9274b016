/* Test helper: iterate over every frame of tests/vectors. */
#ifndef KW_TEST_MUT_VEC_UTIL_H
#define KW_TEST_MUT_VEC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kwire/proto.h"

/* Called for each vector with its message, version and body bytes; return non-zero to stop. */
typedef int (*kwt_vec_fn)(void *ud, const kw_msgdef *d, int16_t ver, const uint8_t *bin,
                          size_t len);

/* Runs fn over every vector (asserting the files parse); returns the number of vectors seen. */
long kwt_each_vector(kwt_vec_fn fn, void *ud);

/* Builds a frame (kwire/mutate.h format) from a vector body into out; returns its length, or 0
 * when the message has no API key (data structures) or out is too small. */
size_t kwt_vector_frame(const kw_msgdef *d, int16_t ver, const uint8_t *bin, size_t len,
                        uint8_t *out, size_t cap);

#endif

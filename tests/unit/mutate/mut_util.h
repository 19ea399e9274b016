/* Test helpers for the mutator tests: building frames and decoding results. */
#ifndef KW_TEST_MUT_UTIL_H
#define KW_TEST_MUT_UTIL_H

#include "kwire/mutate.h"

#define MUT_CAP 65536

/* Encodes a request frame of d at ver (correlation id 7, client id "kwt") into buf. */
size_t mut_req_frame(const kw_msgdef *d, int16_t ver, const void *m, uint8_t *buf, size_t cap);

/* Options with only `fam` enabled and one mutation per call. */
kw_mutate_opts mut_only(uint32_t fam);

/* Decodes a frame into f with arena ar (initialised here); returns the error. */
kw_err mut_decode(const uint8_t *buf, size_t len, kw_arena *ar, kw_frame *f);

#endif

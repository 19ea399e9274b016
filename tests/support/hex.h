/* Test helpers: hex decoding and reading whole files. */
#ifndef KW_TEST_HEX_H
#define KW_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decodes n hex digits into out (n/2 bytes); returns bytes written or -1 on a bad digit. */
long kwt_unhex(const char *hex, size_t n, uint8_t *out);
/* Reads a whole file into a malloc'd NUL-terminated buffer; NULL on failure. */
char *kwt_read_file(const char *path, size_t *len);

#endif

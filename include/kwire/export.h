/* kwire: symbol visibility. Everything is built with -fvisibility=hidden; KW_API marks the
 * public surface of libkwire. */
#ifndef KWIRE_EXPORT_H
#define KWIRE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define KW_API __attribute__((visibility("default")))
#else
#define KW_API
#endif

#endif

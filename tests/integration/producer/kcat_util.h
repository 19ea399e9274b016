/* kcat (Debian's, on librdkafka) as an independent consumer and producer for the producer's
 * integration tests: it reads a topic from the beginning to its end and the test compares
 * every record (partition, offset, key, value, timestamp, headers) with what was sent. */
#ifndef KWT_KCAT_UTIL_H
#define KWT_KCAT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kcat_rec {
    int32_t partition;
    int64_t offset;
    int64_t ts;
    char *key;     /* "NULL" for a null key (kcat -Z) */
    char *value;   /* "NULL" for a null value */
    char *headers; /* "k=v,k2=v2" */
} kcat_rec;

typedef struct kcat_recs {
    kcat_rec *v;
    size_t n, cap;
} kcat_recs;

/* Whether kcat is on the PATH; *why says what is missing. */
bool kcat_available(const char **why);
/* Exits 77 (a visible skip) when kcat or the rdk mock helper is missing. */
void kcat_require(void);
/* Reads every record of `topic` (CRCs checked); fails the test if kcat fails. */
void kcat_consume(const char *bootstrap, const char *topic, kcat_recs *out);
void kcat_recs_fini(kcat_recs *r);
/* kafka-python (Debian's python3-kafka, in /usr/bin/python3) as a second reader. */
bool kpy_available(void);
/* Reads every record with kafka-python; false when it lacks the codec's module (a note goes
 * to stderr), else fails the test on error. */
bool kpy_consume(const char *bootstrap, const char *topic, kcat_recs *out);
/* Produces "key:value" lines with kcat's murmur2_random partitioner (librdkafka's Java-
 * compatible one). */
void kcat_produce_keyed(const char *bootstrap, const char *topic, const char *const *keys,
                        size_t n);

#endif

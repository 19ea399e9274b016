/* Internal: API version negotiation (ApiVersions, key 18).
 *
 * Every new connection asks the broker which versions of each API it serves. kwire then uses,
 * per API, the highest version both sides support, but never one below the Kafka 4.0 floors of
 * KIP-896 (Produce 3, Fetch 4, ...): a 4.x broker still advertises Produce 0 yet rejects v0-2,
 * so the broker's minimum alone cannot be trusted. An API with no version in common is
 * unusable on that connection, and requests that need it fail with KW_ERR_UNSUPPORTED_VERSION.
 *
 * The ApiVersions exchange itself has a fallback dance. kwire first sends its highest version
 * (v4). A broker that does not know it answers with error 35 (UNSUPPORTED_VERSION) and, since
 * KIP-511, a v0 body listing what it does support; kwire retries with the ApiVersions version
 * named there. Some brokers send a body that does not parse as v0 (librdkafka's mock 2.0.2
 * sends a flexible-looking list after a v0 error code), so when the v0 body does not parse the
 * retry goes straight to v0, which every broker speaks. Pure functions: no I/O. */
#ifndef KWI_NET_APIVER_H
#define KWI_NET_APIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/error.h"
#include "kwire/proto.h"

/* API keys 0..KWI_APIVER_KEYS-1 are tracked; brokers advertise broker-internal keys beyond
 * what kwire sends, and those are ignored. */
#define KWI_APIVER_KEYS 128

#define KWI_API_PRODUCE      0
#define KWI_API_METADATA     3
#define KWI_API_SASL_HS      17
#define KWI_API_API_VERSIONS 18
#define KWI_API_SASL_AUTH    36

/* The ApiVersions version kwire sends first: its highest. */
#define KWI_APIVER_FIRST 4

typedef struct kwi_apiver {
    int16_t use[KWI_APIVER_KEYS];        /* negotiated version; -1 = unusable */
    int16_t broker_min[KWI_APIVER_KEYS]; /* as advertised; -1 = not advertised */
    int16_t broker_max[KWI_APIVER_KEYS];
} kwi_apiver;

/* The version range kwire itself will send for `key`: the codec's range narrowed by the Kafka
 * 4.0 floor and by client-side caps (AddPartitionsToTxn v0-3, the client form). Returns false
 * for APIs kwire does not send. */
bool kwi_apiver_client_range(int16_t key, int16_t *min, int16_t *max);

/* The KIP-896 floor for `key` (0 when the API kept all its versions). */
int16_t kwi_apiver_floor(int16_t key);

/* Marks every API unusable and nothing advertised. */
void kwi_apiver_reset(kwi_apiver *v);

/* Fills `v` from the broker's list. Invalid ranges (negative, min > max) count as unusable. */
void kwi_apiver_select(kwi_apiver *v, const kw_api_version *keys, int32_t n);

/* The negotiated version of `key`, or -1. */
int16_t kwi_apiver_get(const kwi_apiver *v, int16_t key);

typedef enum kwi_apiver_result {
    KWI_APIVER_DONE = 0, /* `v` holds the negotiated table */
    KWI_APIVER_RETRY,    /* send ApiVersions again at *retry_ver */
    KWI_APIVER_FAIL      /* give up on this connection; err says why */
} kwi_apiver_result;

/* Interprets an ApiVersions response body (after the v0 response header) to a request sent
 * at `sent_ver`. `ar` receives the decoded arrays and may be reset afterwards. A retry always
 * names a version below `sent_ver`, so the exchange ends after at most KWI_APIVER_FIRST+1
 * rounds. */
kwi_apiver_result kwi_apiver_response(kwi_apiver *v, int16_t sent_ver, const uint8_t *body,
                                      size_t len, kw_arena *ar, int16_t *retry_ver, kw_error *err);

/* A short API name for messages ("Produce", "Metadata"); "API <n>" style names are written
 * to buf for keys kwire does not code. */
const char *kwi_api_name(int16_t key, char *buf, size_t len);

#endif

/* Internal to kwire-mock's fault injection (fault.c, fault_errors.c, fault_hostile.c). */
#ifndef KWI_MOCK_FAULT_H
#define KWI_MOCK_FAULT_H

#include "mock_int.h"

#define KWI_MOCK_FAULT_MAX_CODES   1024 /* queued error codes per broker and API */
#define KWI_MOCK_FAULT_MAX_HOSTILE 64   /* armed hostile responses per broker */
#define KWI_MOCK_NO_CODE           (-32768)

/* Error codes queued for one API. */
typedef struct kwi_mock_errq {
    int16_t api;
    int16_t *codes;
    int32_t n, head, cap;
} kwi_mock_errq;

typedef struct kwi_mock_hostile_arm {
    int kind;    /* kw_mock_hostile */
    int16_t api; /* -1 = any */
    int64_t arg;
} kwi_mock_hostile_arm;

/* One broker's faults (slot 0: the cluster-wide error queues). */
typedef struct kwi_mock_fbroker {
    kwi_mock_errq *errs;
    int32_t n_errs, cap_errs;
    bool drop_armed;
    int16_t drop_api;
    int32_t drop_skip;
    int32_t rtt_ms;
    int32_t chunk, chunk_delay_ms;
    kwi_mock_hostile_arm hostile[KWI_MOCK_FAULT_MAX_HOSTILE];
    int32_t n_hostile;
    bool silent;
    bool down;
} kwi_mock_fbroker;

/* m->mod[KWI_MOCK_MOD_FAULT] */
typedef struct kwi_mock_faults {
    kwi_mock_fbroker *b; /* [0] cluster-wide, [i] broker i */
    int32_t n;
} kwi_mock_faults;

/* fault_errors.c: whether an injected error can be answered for this API, and the answer:
 * the response Kafka sends when the request fails with `code` (built from the decoded
 * request), queued with kwi_mock_reply. KW_ERR_IO asks to close the connection instead
 * (Produce with acks=0). */
bool kwi_mock_fault_error_supported(int16_t api_key);
kw_err kwi_mock_fault_error_reply(kwi_mock_req *req, int16_t code);

/* An error-response builder of one API (fault_errors.c; the admin and SASL ones in
 * fault_errors_admin.c). */
typedef kw_err (*kwi_mock_ferr_fn)(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_api_versions(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_sasl_handshake(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_sasl_authenticate(kwi_mock_req *req, int16_t ver, const void *msg,
                                       int16_t code);
kw_err kwi_mock_ferr_describe_cluster(kwi_mock_req *req, int16_t ver, const void *msg,
                                      int16_t code);
kw_err kwi_mock_ferr_create_topics(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_delete_topics(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_create_partitions(kwi_mock_req *req, int16_t ver, const void *msg,
                                       int16_t code);
kw_err kwi_mock_ferr_describe_configs(kwi_mock_req *req, int16_t ver, const void *msg,
                                      int16_t code);
kw_err kwi_mock_ferr_delete_records(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code);
kw_err kwi_mock_ferr_offset_for_leader_epoch(kwi_mock_req *req, int16_t ver, const void *msg,
                                             int16_t code);
/* Zeroed response arrays of n (<= 0: none) elements of T, living as long as the request. */
#define KWI_MOCK_ALLOC(req, n, T)                                                                  \
    ((T *)kwi_mock_req_alloc((req), (size_t)((n) > 0 ? (n) : 0), sizeof(T)))

/* fault_hostile.c: rewrites req->out (a whole response frame: size, header, body) for a
 * hostile kind; *applied false when this response cannot carry it (then nothing changed). */
kw_err kwi_mock_hostile_apply(kwi_mock_req *req, int kind, int64_t arg, bool *applied);
bool kwi_mock_hostile_arg_ok(int kind, int64_t arg);
const char *kwi_mock_hostile_name(int kind);
/* The kind named s ("length", "correlation", ...), or 0. */
int kwi_mock_hostile_lookup(const char *s);

#endif

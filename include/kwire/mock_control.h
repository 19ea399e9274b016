/* kwire-mock: release emulation, fault injection and the text control channel (included by
 * kwire/mock.h).
 *
 * Faults are armed per broker and act on what that broker does next; each is described at
 * its function. They are meant for tests of clients (kwire's own robustness suite among them):
 * errors a real broker returns, connections that break, brokers that go away, slow networks,
 * and responses no honest broker sends. Every function takes the cluster's lock, so it may be
 * called while the cluster's thread runs, and none of them blocks. */
#ifndef KWIRE_MOCK_CONTROL_H
#define KWIRE_MOCK_CONTROL_H

#include "mock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions by release */

/**
 * @brief Advertise the API ranges of a Kafka release in ApiVersions: "2.8", "3.9" or "4.0";
 *        NULL, "" or "latest" = back to the served ranges.
 *
 * For every API the mock serves, the release's range replaces the advertised one; an API the
 * release does not have is hidden (not advertised, requests close the connection). "4.0" also
 * keeps what Kafka 4.0 does with the versions it removed: Produce is advertised from v0 but
 * v0-2 are refused (KAFKA-18659), Fetch starts at 4, JoinGroup at 2, and so on (KIP-896). A
 * version the release advertises but the mock cannot serve (Fetch below 4, Produce with message
 * format v0/v1) still closes the connection. kw_mock_api_versions_set afterwards overrides one
 * API on top of the release. The ranges are listed in docs/mock.md.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND for an unknown release.
 */
KW_API kw_err kw_mock_emulate(kw_mock *m, const char *release);

/* ---------------------------------------------------------------- faults */

/**
 * @brief The next `n` requests of `api_key` on broker `node_id` (0 = on any broker, consulted
 *        after the broker's own sequence) are answered with codes[0], codes[1], ... in turn,
 *        appended after any codes still queued. Code 0 lets that request through to the
 *        handler. An answered request has no effect (nothing is produced, committed, joined).
 *
 * The error goes where Kafka puts it for that API: every partition of a Produce, Fetch,
 * ListOffsets, OffsetCommit, ... (Fetch also at the top for session errors, v7+), every topic
 * of a Metadata response (which still lists the brokers), the top-level code of a JoinGroup,
 * Heartbeat, InitProducerId, ..., each group of a DescribeGroups. A Produce with acks=0 cannot
 * be answered, so its connection is closed instead, as Kafka does.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (no such broker); KW_ERR_INVALID_ARG (n < 1, more than
 *         1024 codes queued, an API with no error answer here); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_fault_errors(kw_mock *m, int32_t node_id, int16_t api_key,
                                   const int16_t *codes, int32_t n);

/**
 * @brief Close the connection that carries broker `node_id`'s next request of `api_key` (-1 =
 *        any API), after letting `skip` such requests through; that request is not answered.
 *        One-shot.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND; KW_ERR_INVALID_ARG (skip < 0).
 */
KW_API kw_err kw_mock_fault_drop(kw_mock *m, int32_t node_id, int16_t api_key, int32_t skip);

/** @brief Delay every response of broker `node_id` (0 = every broker) by `ms` (0 = none).
 *  Responses stay in order. KW_ERR_OK, KW_ERR_NOT_FOUND or KW_ERR_INVALID_ARG (ms < 0). */
KW_API kw_err kw_mock_broker_rtt(kw_mock *m, int32_t node_id, int32_t ms);

/** @brief Partial writes: broker `node_id`'s responses are written `chunk` bytes at a time,
 *  `delay_ms` apart (chunk 0 = whole responses again). chunk 1, delay 1000 is a broker that
 *  trickles a byte a second. KW_ERR_OK, KW_ERR_NOT_FOUND or KW_ERR_INVALID_ARG. */
KW_API kw_err kw_mock_broker_chunked(kw_mock *m, int32_t node_id, int32_t chunk, int32_t delay_ms);

/** @brief Take broker `node_id` down: its listener is closed (connecting is refused) and its
 *  connections are closed. Metadata keeps listing it, as Kafka does for a while. KW_ERR_OK
 *  (also when already down) or KW_ERR_NOT_FOUND. */
KW_API kw_err kw_mock_broker_down(kw_mock *m, int32_t node_id);

/** @brief Bring broker `node_id` back on its port. KW_ERR_OK (also when it is up);
 *  KW_ERR_NOT_FOUND; KW_ERR_IO when the port cannot be bound again (taken meanwhile). */
KW_API kw_err kw_mock_broker_up(kw_mock *m, int32_t node_id, kw_error *err);

/** Responses no honest broker sends (kw_mock_fault_hostile). */
typedef enum kw_mock_hostile {
    /** The size prefix says `arg` bytes (default 2147483647; negative allowed) while the real
     *  body follows. The connection stays open. */
    KW_MOCK_HOSTILE_LENGTH = 1,
    /** The correlation id is one the client did not use (corr XOR 0x40000000, or `arg`). */
    KW_MOCK_HOSTILE_CORRELATION = 2,
    /** The response is sent twice: the second copy repeats an answered correlation id. */
    KW_MOCK_HOSTILE_DUPLICATE = 3,
    /** Before the response, an extra copy answers a request never sent (corr XOR 0x40000000,
     *  or `arg`). */
    KW_MOCK_HOSTILE_UNSOLICITED = 4,
    /** The frame is cut after `arg` bytes (default: half of it, size prefix intact), then the
     *  connection is closed. */
    KW_MOCK_HOSTILE_TRUNCATE = 5,
    /** The response's first array claims `arg` elements (default 2147483647; compact arrays
     *  then say 4294967294; a negative `arg` is written as is in a classic array and as null
     *  in a compact one). For ApiVersions, Metadata, Produce, Fetch, ListOffsets,
     *  OffsetCommit, OffsetFetch, FindCoordinator v4+, DescribeGroups, ListGroups,
     *  CreateTopics, DeleteTopics, DeleteRecords, CreatePartitions, DescribeConfigs; waits for
     *  one of those. */
    KW_MOCK_HOSTILE_ARRAY = 6,
    /** A Fetch response's first record batch gets a wrong CRC; waits for a Fetch that returns
     *  records. */
    KW_MOCK_HOSTILE_CRC = 7,
    /** A Fetch response's first partition returns, at the requested offset, a ~33 KB batch
     *  whose records decompress to 1 GiB + 128 KiB (arg 4 or 0: zstd; arg 1: gzip, ~1 MB). The
     *  batch's CRC is correct. */
    KW_MOCK_HOSTILE_BOMB = 8,
    /** Requests are read and never answered (the connection stays open) until cleared. */
    KW_MOCK_HOSTILE_SILENT = 9,
    /** A string longer than its frame: the first broker's host in a Metadata response claims
     *  `arg` bytes (default 32767; compact strings 2147483647); waits for a Metadata response. */
    KW_MOCK_HOSTILE_STRING = 10,
} kw_mock_hostile;

/**
 * @brief Arm a hostile response on broker `node_id` for the next response of `api_key` (-1 =
 *        any; CRC and BOMB always mean Fetch). One-shot, except SILENT which stays until
 *        kw_mock_fault_clear. Several armed one-shots apply to successive responses, in order.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND; KW_ERR_INVALID_ARG (unknown kind, more than 64 armed,
 *         a bomb codec this build cannot make).
 */
KW_API kw_err kw_mock_fault_hostile(kw_mock *m, int32_t node_id, kw_mock_hostile kind,
                                    int16_t api_key, int64_t arg);

/** @brief Disarm every fault of broker `node_id` (0 = all): errors, drops, latency, partial
 *  writes, hostile responses. A down broker stays down. KW_ERR_OK or KW_ERR_NOT_FOUND. */
KW_API kw_err kw_mock_fault_clear(kw_mock *m, int32_t node_id);

/* ---------------------------------------------------------------- control channel */

/**
 * @brief Run one text command (the standalone `kwire mock` reads them from stdin) and write
 *        the one-line answer into out: "ok", "ok <value>" or "error: <why>". The commands are
 *        listed in docs/mock.md and by "help"; e.g. "error 1 Produce NOT_LEADER_OR_FOLLOWER 3",
 *        "down 2", "rtt 1 200", "leader t 0 2", "hostile 1 length", "create t 3".
 * @param out receives a NUL-terminated answer, truncated to cap.
 * @return KW_ERR_OK when the command ran; KW_ERR_INVALID_ARG (unknown or malformed command) or
 *         the command's error otherwise (the answer says why); KW_ERR_CANCELED for "quit" (the
 *         answer is "ok"), which the caller implements: no command fails with that code.
 */
KW_API kw_err kw_mock_command(kw_mock *m, const char *line, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

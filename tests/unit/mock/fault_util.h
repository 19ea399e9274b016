/* Helpers shared by the fault-injection tests: a cluster on a virtual or real clock, raw byte
 * reads from a connection (for responses that are not well-formed frames), and small request
 * builders. */
#ifndef KW_TEST_FAULT_UTIL_H
#define KW_TEST_FAULT_UTIL_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mock_client.h"

static inline int64_t
fu_vclock(void *ud)
{
    return *(int64_t *)ud;
}

/* brokers, partitions of auto-created topics, and an optional virtual clock. */
static inline kw_mock *
fu_mock(int brokers, int64_t *vnow)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = brokers;
    conf.cluster_id = "kwire-fault-test";
    if (vnow) {
        conf.clock = fu_vclock;
        conf.clock_ud = vnow;
    }
    kw_mock *m = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&conf, &m, &err) == KW_ERR_OK, "%s", err.msg);
    return m;
}

/* Reads until `want` bytes arrived (or EOF, or timeout_ms passed), stepping the mock; returns
 * how many bytes are in buf. *eof tells whether the peer closed. */
static inline size_t
fu_read(mc *c, uint8_t *buf, size_t want, int timeout_ms, bool *eof)
{
    size_t have = 0;
    *eof = false;
    /* Bytes the frame reader already buffered come first. */
    if (c->len) {
        size_t n = c->len < want ? c->len : want;
        memcpy(buf, c->buf, n);
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
        have = n;
    }
    int64_t deadline = mc_now_ms() + timeout_ms;
    while (have < want && mc_now_ms() < deadline) {
        ssize_t n = recv(c->fd, buf + have, want - have, MSG_DONTWAIT);
        if (n > 0) {
            have += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            *eof = true;
            break;
        }
        mc_pump(c, 5);
    }
    return have;
}

static inline uint32_t
fu_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An ApiVersions request (any version) with a software name. */
static inline int32_t
fu_send_api_versions(mc *c, int16_t ver)
{
    kw_api_versions_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.client_software_name = kw_slice_str("kwire-test");
    rq.client_software_version = kw_slice_str("0.1.0");
    return mc_send(c, &kw_msg_api_versions_req, ver, &rq);
}

/* A Metadata request for one topic (v4+ may auto-create). */
static inline int32_t
fu_send_metadata(mc *c, int16_t ver, const char *topic, kw_metadata_req_topic *t,
                 kw_metadata_req *rq)
{
    memset(t, 0, sizeof(*t));
    memset(rq, 0, sizeof(*rq));
    t->name = kw_slice_str(topic);
    rq->topics = t;
    rq->n_topics = topic ? 1 : -1;
    rq->allow_auto_topic_creation = true;
    return mc_send(c, &kw_msg_metadata_req, ver, rq);
}

#endif

/* Internal: the socket-level seam under a broker connection.
 *
 * A connection normally talks to its broker through socket(2)/connect(2)/recv(2)/send(2). A
 * kwi_transport replaces those five calls with functions of its own, so that a harness can run
 * the whole client (connections, metadata, producer) against bytes it makes up in memory: the
 * whole-client fuzzer (fuzz/fuzz_client.c) and tests that need a broker no socket can play.
 *
 * The transport still hands out a real file descriptor (an eventfd, for instance), because the
 * reactor waits on fds: it must be readable when recv has something to say (bytes or the end of
 * the stream) and writable when send can make progress. Everything else about the fd is the
 * transport's business; the connection never calls a socket function on it.
 *
 * The seam is set per connection (kwi_conn_opts.transport) or per client
 * (kwi_client_set_transport); NULL, the default, is the plain socket path and costs one branch
 * per call. TLS sessions read and write their fd directly, so a transport is for plaintext and
 * SASL links only. Single-threaded, like the connection that calls it. */
#ifndef KWI_NET_TRANSPORT_H
#define KWI_NET_TRANSPORT_H

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct kwi_transport {
    /* Opens a non-blocking stream to `sa` and starts connecting. Returns the fd the reactor
     * watches, or -1 with errno set. */
    int (*open)(void *ud, const struct sockaddr *sa, socklen_t len);
    /* The outcome of the connect once the fd is writable: 0, or an errno value. */
    int (*connect_error)(void *ud, int fd);
    /* As recv(2) and send(2): > 0 bytes moved, recv 0 = end of stream, -1 with errno
     * (EAGAIN = would block). */
    ssize_t (*recv)(void *ud, int fd, void *buf, size_t len);
    ssize_t (*send)(void *ud, int fd, const void *buf, size_t len);
    /* Closes what open returned. */
    void (*close)(void *ud, int fd);
    void *ud;
} kwi_transport;

static inline ssize_t
kwi_transport_recv(const kwi_transport *t, int fd, void *buf, size_t len)
{
    return t ? t->recv(t->ud, fd, buf, len) : recv(fd, buf, len, 0);
}

static inline ssize_t
kwi_transport_send(const kwi_transport *t, int fd, const void *buf, size_t len)
{
    return t ? t->send(t->ud, fd, buf, len) : send(fd, buf, len, MSG_NOSIGNAL);
}

static inline void
kwi_transport_close(const kwi_transport *t, int fd)
{
    if (t)
        t->close(t->ud, fd);
    else
        close(fd);
}

#endif

/*
 * Counts the TCP connections this process opens, whichever library opens them.
 *
 * The driver defines connect() itself: the dynamic linker resolves a shared library's
 * call to connect() to the executable's definition first, so liblcm_outcome.so (Rust's
 * std) and libcurl both come through here, and the call goes on to libc's connect().
 * Counted at the client, for both clients the same way: the server's own counter
 * (lcm-sim's connection_count) exists only in-process, and system-wide TCP counters
 * are disturbed by anything else running on the machine.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench.h"

static atomic_uint_fast64_t connects;

uint64_t tcp_connects(void) { return atomic_load(&connects); }

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
    static _Atomic(connect_fn) next;
    connect_fn real = atomic_load(&next);
    if (!real) {
        real = (connect_fn)dlsym(RTLD_NEXT, "connect");
        if (!real) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store(&next, real);
    }
    int type = 0;
    socklen_t type_len = sizeof type;
    if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) &&
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM)
        atomic_fetch_add(&connects, 1);
    return real(fd, addr, len);
}

/*
 * rebind.c: an LD_PRELOAD library (Linux, glibc) used by websockify's
 * "wrap a program" mode.
 *
 * websockify listens on a public port P and starts a program that also wants
 * to listen on P. This library sits in front of libc's bind() inside that
 * program (and everything it execs, since LD_PRELOAD is inherited) and moves
 * any TCP/UDP bind to port P onto loopback port Q, where websockify connects
 * to it:
 *
 *   - AF_INET  bind to any address, port P  ->  127.0.0.1:Q
 *   - AF_INET6 bind to any address, port P  ->  [::1]:Q
 *     (wildcard, loopback or a real address; v6-only or dual-stack)
 *   - AF_INET6 bind to an IPv4-mapped address (::ffff:a.b.c.d), port P
 *                                           ->  [::ffff:127.0.0.1]:Q
 *     (the program asked for IPv4 traffic on an IPv6 socket; it keeps that,
 *     just on loopback, and a v6-only socket still gets the kernel's error)
 *
 * A program that binds both families therefore keeps both sockets, and none
 * of them stays reachable on the public port.
 *
 * Configuration, read from the environment on every call:
 *   REBIND_OLD_PORT  P, the port to move away from
 *   REBIND_NEW_PORT  Q, the loopback port to move to
 *   REBIND_DEBUG     if set and neither empty nor "0": one line on stderr
 *                    for every bind that was moved
 * Both port values must be non-empty plain decimal numbers from 1 to 65535
 * (no sign, no spaces, no other characters); otherwise nothing is moved.
 *
 *   REBIND_PARENT_PID  websockify's PID. When the process is loaded as a
 *                    direct child of that PID, it asks the kernel for SIGTERM
 *                    when websockify dies (PR_SET_PDEATHSIG), so a wrapped
 *                    program never outlives websockify, even one killed with
 *                    SIGKILL. Descendants (other parents) are not affected.
 *
 * Everything else is passed to the real bind() untouched: other ports, other
 * families (AF_UNIX, AF_NETLINK, ...), a NULL address and an address length
 * too short for its family (the kernel then reports the error as usual).
 * errno is whatever the real bind() left, exactly as without this library.
 *
 * Build: cc -shared -fPIC -O2 -o rebind.so rebind.c -ldl
 */

/* Deliberately no _GNU_SOURCE: with it, glibc declares bind() with a
 * transparent-union parameter type that a plain definition cannot match. */
#define _DEFAULT_SOURCE 1

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef RTLD_NEXT
/* glibc only exposes RTLD_NEXT under _GNU_SOURCE; this is its value there
 * (and musl's). */
#define RTLD_NEXT ((void *)-1L)
#endif

#define REBIND_EXPORT __attribute__((visibility("default")))

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static bind_fn real_bind_fn;
static pthread_once_t real_bind_once = PTHREAD_ONCE_INIT;

static void find_real_bind(void)
{
    void *sym = dlsym(RTLD_NEXT, "bind");
    /* POSIX guarantees object and function pointers convert for dlsym. */
    memcpy(&real_bind_fn, &sym, sizeof real_bind_fn);
}

/* Call the next bind() in the lookup chain (normally libc's). */
static int call_real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    pthread_once(&real_bind_once, find_real_bind);
    if (real_bind_fn != NULL)
        return real_bind_fn(fd, addr, len);
#ifdef SYS_bind
    /* No next definition found (should not happen with a dynamic libc):
     * go straight to the kernel rather than break every bind. */
    return (int)syscall(SYS_bind, fd, addr, len);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* Parse a port from the environment: 1..65535, digits only. 0 if invalid. */
static unsigned int env_port(const char *name)
{
    const char *s = getenv(name);
    unsigned int value = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        value = value * 10u + (unsigned int)(*s - '0');
        if (value > 65535u)
            return 0;
    }
    return value;
}

static int debug_enabled(void)
{
    const char *s = getenv("REBIND_DEBUG");
    return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

/* Format an AF_INET or AF_INET6 socket address as host:port / [host]:port. */
static void format_addr(int family, const void *ip, unsigned int port, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];

    if (inet_ntop(family, ip, host, sizeof host) == NULL)
        snprintf(host, sizeof host, "?");
    if (family == AF_INET6)
        snprintf(out, outlen, "[%s]:%u", host, port);
    else
        snprintf(out, outlen, "%s:%u", host, port);
}

/* One line on stderr describing a moved bind. Leaves errno unchanged. */
static void report_move(int fd, int family, const void *old_ip, const void *new_ip,
                        unsigned int old_port, unsigned int new_port, int result, int err)
{
    char from[INET6_ADDRSTRLEN + 16];
    char to[INET6_ADDRSTRLEN + 16];
    char reason[128];
    char line[512];
    int n;

    format_addr(family, old_ip, old_port, from, sizeof from);
    format_addr(family, new_ip, new_port, to, sizeof to);
    if (result == 0) {
        n = snprintf(line, sizeof line, "rebind: pid %ld fd %d: bind %s moved to %s\n",
                     (long)getpid(), fd, from, to);
    } else {
        if (strerror_r(err, reason, sizeof reason) != 0)
            snprintf(reason, sizeof reason, "errno %d", err);
        n = snprintf(line, sizeof line, "rebind: pid %ld fd %d: bind %s moved to %s failed: %s\n",
                     (long)getpid(), fd, from, to, reason);
    }
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        ssize_t ignored = write(STDERR_FILENO, line, len);
        (void)ignored;
    }
    errno = err;
}

REBIND_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    int saved_errno = errno;
    sa_family_t family;
    unsigned int old_port, new_port;
    int result, err;

    if (addr == NULL || addrlen < (socklen_t)sizeof(sa_family_t))
        return call_real_bind(fd, addr, addrlen);
    memcpy(&family, (const char *)addr + offsetof(struct sockaddr, sa_family), sizeof family);
    if (family != AF_INET && family != AF_INET6)
        return call_real_bind(fd, addr, addrlen);

    old_port = env_port("REBIND_OLD_PORT");
    new_port = env_port("REBIND_NEW_PORT");
    errno = saved_errno; /* getenv must not leave traces in errno */
    if (old_port == 0 || new_port == 0)
        return call_real_bind(fd, addr, addrlen);

    if (family == AF_INET) {
        struct sockaddr_in orig, moved;

        if (addrlen < (socklen_t)sizeof orig)
            return call_real_bind(fd, addr, addrlen);
        memcpy(&orig, addr, sizeof orig);
        if (ntohs(orig.sin_port) != old_port)
            return call_real_bind(fd, addr, addrlen);

        moved = orig;
        moved.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        moved.sin_port = htons((uint16_t)new_port);
        result = call_real_bind(fd, (const struct sockaddr *)&moved, (socklen_t)sizeof moved);
        err = errno;
        if (debug_enabled())
            report_move(fd, AF_INET, &orig.sin_addr, &moved.sin_addr, old_port, new_port, result,
                        err);
        errno = err;
        return result;
    } else {
        /* Linux accepts the 24-byte RFC 2133 form without sin6_scope_id. */
        const socklen_t min_len = (socklen_t)offsetof(struct sockaddr_in6, sin6_scope_id);
        struct sockaddr_in6 orig, moved;

        if (addrlen < min_len)
            return call_real_bind(fd, addr, addrlen);
        memset(&orig, 0, sizeof orig);
        memcpy(&orig, addr, addrlen < (socklen_t)sizeof orig ? (size_t)addrlen : sizeof orig);
        if (ntohs(orig.sin6_port) != old_port)
            return call_real_bind(fd, addr, addrlen);

        memset(&moved, 0, sizeof moved);
        moved.sin6_family = AF_INET6;
        moved.sin6_port = htons((uint16_t)new_port);
        if (IN6_IS_ADDR_V4MAPPED(&orig.sin6_addr)) {
            static const unsigned char mapped_loopback[16] = {0, 0, 0, 0, 0,    0,    0, 0,
                                                              0, 0, 0xff, 0xff, 127, 0, 0, 1};
            memcpy(&moved.sin6_addr, mapped_loopback, sizeof mapped_loopback);
        } else {
            moved.sin6_addr = in6addr_loopback;
        }
        result = call_real_bind(fd, (const struct sockaddr *)&moved, (socklen_t)sizeof moved);
        err = errno;
        if (debug_enabled())
            report_move(fd, AF_INET6, &orig.sin6_addr, &moved.sin6_addr, old_port, new_port,
                        result, err);
        errno = err;
        return result;
    }
}

/* Runs when the library is loaded: see REBIND_PARENT_PID above. */
__attribute__((constructor)) static void follow_parent(void)
{
    int saved_errno = errno;
    const char *s = getenv("REBIND_PARENT_PID");
    long pid = 0;

    if (s != NULL && *s != '\0') {
        for (; *s >= '0' && *s <= '9' && pid < 4194304L; s++)
            pid = pid * 10 + (*s - '0');
        if (*s == '\0' && pid > 0 && (long)getppid() == pid)
            prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
    errno = saved_errno;
}

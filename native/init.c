/*
 * init.c: websockify-init, a minimal init process for running websockify as
 * PID 1 (for example as a container's entrypoint).
 *
 * Why it exists: when a process dies, its children are handed to PID 1 of
 * their pid namespace, and PID 1 must wait() for them or they stay zombies
 * forever. Node (libuv) only waits for the processes it started itself, so a
 * wrapped program that daemonizes would leave its orphans as zombies when
 * node is PID 1. This program takes PID 1's place and runs node as its child.
 *
 * Usage: websockify-init [--] PROGRAM [ARGS...]
 *
 *   - Starts PROGRAM (found through PATH like a shell does) as its only
 *     direct child, in the same process group and session, with the signal
 *     mask and dispositions that websockify-init itself started with.
 *   - Passes SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
 *     on to PROGRAM. A signal that the terminal sent to the whole foreground
 *     process group (Ctrl-C, Ctrl-\, a window resize, a hangup) has already
 *     reached PROGRAM too, since it shares our process group; such a signal is
 *     not passed on a second time.
 *   - Waits for every process that becomes its child, including orphans
 *     re-parented to it, so that none of them remains a zombie.
 *   - When PROGRAM ends, exits with its status: its exit code, or 128+N when
 *     signal N killed it.
 *   - If PROGRAM cannot be started: a message on stderr, and exit status 127
 *     (not found) or 126 (found but not executable, or any other exec error).
 *   - Exit status 2 with a usage message when no PROGRAM is given.
 *   - systemd socket activation: sockets passed to websockify-init (LISTEN_PID
 *     is its PID, for example 1 under podman) are meant for PROGRAM, so
 *     PROGRAM gets LISTEN_PID set to its own PID; the fds are inherited as is.
 *
 * It prints nothing else, unless WEBSOCKIFY_INIT_DEBUG is set to something
 * other than "" or "0": then one stderr line per signal and per reaped child.
 *
 * Implementation: the signals of interest and SIGCHLD stay blocked in this
 * process and are taken one at a time with sigwaitinfo(), so nothing runs in
 * a signal handler and no SIGCHLD can be missed between two waits (a blocked
 * signal stays pending). Blocked signals are queued even for a pid namespace's
 * init, which otherwise drops signals whose disposition is the default; a
 * no-op handler is installed as well so that this holds whatever the kernel.
 *
 * Linux (and any POSIX system with sigwaitinfo). Build:
 *   cc -O2 -o websockify-init init.c
 */

#define _XOPEN_SOURCE 700 /* POSIX 2008 with XSI: getpgid() */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "websockify-init"

static const int forwarded_signals[] = {
    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};
#define FORWARDED_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])

static int debug_enabled;

static void debug(const char *format, ...)
{
    va_list args;
    if (!debug_enabled)
        return;
    va_start(args, format);
    fputs(NAME ": ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

static void usage(FILE *out)
{
    fputs("usage: " NAME " [--] PROGRAM [ARGS...]\n"
          "Runs PROGRAM as its child, passes signals on to it, reaps orphaned\n"
          "processes, and exits with PROGRAM's exit status (128+N if signal N\n"
          "killed it). Meant to run as PID 1.\n",
          out);
}

/* Never called while the signal is blocked; its presence alone matters. */
static void ignore_signal(int sig)
{
    (void)sig;
}

/* The exit status a shell would report for a wait() status. */
static int shell_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/*
 * In the forked child: sockets passed by systemd to the parent (LISTEN_PID is
 * its PID) are for PROGRAM, which would otherwise ignore them (sd_listen_fds
 * checks that LISTEN_PID is its own PID).
 */
static void hand_over_listen_pid(void)
{
    const char *listen_pid = getenv("LISTEN_PID");
    char pid[32];

    if (listen_pid == NULL)
        return;
    snprintf(pid, sizeof pid, "%ld", (long)getppid());
    if (strcmp(listen_pid, pid) != 0)
        return;
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
}

/* In the forked child: restore what we inherited, then become PROGRAM. */
static void run_program(char **argv, const sigset_t *original_mask,
                        const struct sigaction *original_actions)
{
    size_t i;
    int error;

    for (i = 0; i < FORWARDED_COUNT; i++)
        sigaction(forwarded_signals[i], &original_actions[i], NULL);
    sigprocmask(SIG_SETMASK, original_mask, NULL);
    hand_over_listen_pid();

    execvp(argv[0], argv);
    error = errno;
    if (error == ENOENT && strchr(argv[0], '/') == NULL)
        fprintf(stderr, NAME ": %s: command not found\n", argv[0]);
    else
        fprintf(stderr, NAME ": cannot run %s: %s\n", argv[0], strerror(error));
    _exit(error == ENOENT || error == ENOTDIR ? 127 : 126);
}

/*
 * Waits for every child that has ended, without blocking. Returns 1 and sets
 * *status when `program` was among them.
 */
static int reap_children(pid_t program, int *status)
{
    int program_ended = 0;

    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            break; /* 0: others still running; ECHILD: no children left */
        if (pid == program) {
            *status = st;
            program_ended = 1;
            debug("program (pid %ld) ended with status %d", (long)pid, shell_status(st));
        } else {
            debug("reaped orphan pid %ld", (long)pid);
        }
    }
    return program_ended;
}

/*
 * True when the terminal already delivered `info`'s signal to the program:
 * the kernel sent it (not kill() or sigqueue()) and the program is still in
 * our process group, which is the group the terminal signals.
 */
static int terminal_delivered(const siginfo_t *info, pid_t program)
{
#ifdef SI_KERNEL
    return info->si_code == SI_KERNEL && getpgid(program) == getpgrp();
#else
    (void)info;
    (void)program;
    return 0;
#endif
}

int main(int argc, char **argv)
{
    char **program_argv;
    const char *debug_value;
    sigset_t waited, original_mask;
    struct sigaction original_actions[FORWARDED_COUNT];
    struct sigaction action;
    pid_t program;
    size_t i;

    (void)argc;
    program_argv = argv + 1;
    if (program_argv[0] != NULL && strcmp(program_argv[0], "--") == 0) {
        program_argv++;
    } else if (program_argv[0] != NULL && program_argv[0][0] == '-') {
        if (strcmp(program_argv[0], "-h") == 0 || strcmp(program_argv[0], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, NAME ": unknown option %s\n", program_argv[0]);
        usage(stderr);
        return 2;
    }
    if (program_argv[0] == NULL) {
        fputs(NAME ": no program given\n", stderr);
        usage(stderr);
        return 2;
    }

    debug_value = getenv("WEBSOCKIFY_INIT_DEBUG");
    debug_enabled = debug_value != NULL && debug_value[0] != '\0' && strcmp(debug_value, "0") != 0;

    sigemptyset(&waited);
    for (i = 0; i < FORWARDED_COUNT; i++)
        sigaddset(&waited, forwarded_signals[i]);
    sigaddset(&waited, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &waited, &original_mask) != 0) {
        fprintf(stderr, NAME ": sigprocmask: %s\n", strerror(errno));
        return 1;
    }

    memset(&action, 0, sizeof action);
    action.sa_handler = ignore_signal;
    sigemptyset(&action.sa_mask);
    for (i = 0; i < FORWARDED_COUNT; i++)
        sigaction(forwarded_signals[i], &action, &original_actions[i]);

    program = fork();
    if (program < 0) {
        fprintf(stderr, NAME ": cannot start %s: fork: %s\n", program_argv[0], strerror(errno));
        return 1;
    }
    if (program == 0)
        run_program(program_argv, &original_mask, original_actions);

    debug("started %s as pid %ld (we are pid %ld)", program_argv[0], (long)program, (long)getpid());

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&waited, &info);

        if (sig < 0) {
            if (errno == EINTR)
                continue; /* e.g. woken by SIGCONT after a stop */
            fprintf(stderr, NAME ": sigwaitinfo: %s\n", strerror(errno));
            return 1;
        }
        if (sig == SIGCHLD) {
            int status;
            if (reap_children(program, &status))
                return shell_status(status);
            continue;
        }
        if (terminal_delivered(&info, program)) {
            debug("signal %d came from the terminal to the whole group: not passed on", sig);
            continue;
        }
        debug("passing signal %d on to pid %ld", sig, (long)program);
        if (kill(program, sig) != 0 && errno != ESRCH)
            fprintf(stderr, NAME ": cannot pass signal %d on: %s\n", sig, strerror(errno));
    }
}

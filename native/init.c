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
 * Second use: websockify-init --watchdog WRAP_ID GRACE_MS
 *
 *   The guard that stops a wrapped program when websockify dies, even by
 *   SIGKILL. websockify starts it with a pipe as fd 3 and keeps the pipe's
 *   other end without ever writing to it. The watchdog detaches (it forks and
 *   the first process exits at once, so it is nobody's child and waits in its
 *   own session) and blocks reading fd 3. End of file means websockify is
 *   gone, or has stopped the program itself and closed the pipe. Either way it
 *   then stops every process of the program's tree: each process whose
 *   environment holds WEBSOCKIFY_WRAP_ID=WRAP_ID (every descendant inherits
 *   it, however deep and whatever session it moved to) and every member of
 *   those processes' groups. They get SIGTERM, then SIGKILL once GRACE_MS
 *   milliseconds have passed; a process that appears meanwhile gets the same.
 *   Then it exits. Linux (/proc) only.
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME "websockify-init"

static const int forwarded_signals[] = {
    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};
#define FORWARDED_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])

static int debug_enabled;

static void debug(const char *format, ...)
{
    /* One write per line: stderr is unbuffered, and a line written in pieces can be
       split by the program's own output on a shared terminal. */
    char line[512];
    int length;
    va_list args;
    if (!debug_enabled)
        return;
    length = snprintf(line, sizeof line, NAME ": ");
    va_start(args, format);
    length += vsnprintf(line + length, sizeof line - (size_t)length - 1, format, args);
    va_end(args);
    if (length > (int)sizeof line - 2)
        length = (int)sizeof line - 2;
    line[length++] = '\n';
    fwrite(line, 1, (size_t)length, stderr);
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

/* ---- --watchdog ---------------------------------------------------------- */

#define MAX_TREE 4096
#define WATCHED_FD 3 /* the pipe from websockify */

struct tree {
    pid_t pids[MAX_TREE];
    pid_t groups[MAX_TREE];
    size_t count;
};

/* True when `needle` (of `length` bytes) occurs in `haystack`. */
static int contains(const char *haystack, size_t size, const char *needle, size_t length)
{
    size_t i;
    if (length > size)
        return 0;
    for (i = 0; i + length <= size; i++)
        if (memcmp(haystack + i, needle, length) == 0)
            return 1;
    return 0;
}

/* Reads /proc/PID/NAME into `buffer`, NUL-terminated; its length, or -1 when it is gone. */
static ssize_t read_proc(pid_t pid, const char *name, char *buffer, size_t size)
{
    char path[64];
    size_t used = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (used < size - 1 && (n = read(fd, buffer + used, size - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    buffer[used] = '\0';
    return (ssize_t)used;
}

/*
 * Reads /proc/PID/stat: its process group, and whether it still runs (not a
 * zombie). Returns 0 when the process is gone.
 */
static int process_state(pid_t pid, pid_t *group, int *alive)
{
    char buffer[1024], *end, state;
    long ppid, pgrp;

    if (read_proc(pid, "stat", buffer, sizeof buffer) <= 0)
        return 0;
    end = strrchr(buffer, ')'); /* the command name may hold anything */
    if (end == NULL || sscanf(end + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
        return 0;
    *group = (pid_t)pgrp;
    *alive = state != 'Z' && state != 'X';
    return 1;
}

/* True when the environment of `pid` holds `mark` ("\0NAME=VALUE\0"). */
static int is_marked(pid_t pid, const char *mark, size_t length)
{
    static char environ_data[1 << 18];
    ssize_t n;

    /* A NUL on each side, so the first and the last variable match too. */
    environ_data[0] = '\0';
    n = read_proc(pid, "environ", environ_data + 1, sizeof environ_data - 1);
    if (n < 0)
        return 0;
    return contains(environ_data, (size_t)n + 2, mark, length);
}

/* The live processes that carry `mark`, with their groups. */
static void find_tree(struct tree *tree, const char *mark, size_t length)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    pid_t self = getpid();

    tree->count = 0;
    if (proc == NULL)
        return;
    while ((entry = readdir(proc)) != NULL && tree->count < MAX_TREE) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        pid_t group;
        int alive;
        if (*end != '\0' || pid <= 0 || (pid_t)pid == self)
            continue;
        if (!is_marked((pid_t)pid, mark, length) || !process_state((pid_t)pid, &group, &alive) || !alive)
            continue;
        tree->pids[tree->count] = (pid_t)pid;
        tree->groups[tree->count] = group;
        tree->count++;
    }
    closedir(proc);
}

/* Signals every process of the tree and its group; SIGTERM only once per process. */
static void signal_tree(const struct tree *tree, int sig, pid_t *termed, size_t *termed_count)
{
    size_t i, j;
    for (i = 0; i < tree->count; i++) {
        int seen = 0;
        if (sig == SIGTERM) {
            for (j = 0; j < *termed_count && !seen; j++)
                seen = termed[j] == tree->pids[i];
            if (seen)
                continue;
            if (*termed_count < MAX_TREE)
                termed[(*termed_count)++] = tree->pids[i];
        }
        kill(tree->pids[i], sig);
        /* Members of the group that dropped the mark (env -i) go too. */
        if (tree->groups[i] > 1)
            kill(-tree->groups[i], sig);
    }
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000;
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static int watchdog(const char *wrap_id, const char *grace_text)
{
    static struct tree tree;
    static pid_t termed[MAX_TREE];
    size_t termed_count = 0, length;
    char mark[256], buffer[256];
    char *end;
    long grace = strtol(grace_text, &end, 10), deadline;
    pid_t pid;

    length = (size_t)snprintf(mark, sizeof mark, "%cWEBSOCKIFY_WRAP_ID=%s%c", 0, wrap_id, 0);
    if (*wrap_id == '\0' || length >= sizeof mark || *end != '\0' || grace < 0) {
        fputs(NAME ": usage: " NAME " --watchdog WRAP_ID GRACE_MS\n", stderr);
        return 2;
    }
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, NAME ": watchdog: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid > 0)
        return 0; /* the watchdog lives on, detached */
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        ssize_t n = read(WATCHED_FD, buffer, sizeof buffer);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    find_tree(&tree, mark, length);
    signal_tree(&tree, SIGTERM, termed, &termed_count);
    deadline = now_ms() + grace;
    while (tree.count > 0 && now_ms() < deadline) {
        pause_ms(50);
        find_tree(&tree, mark, length);
        signal_tree(&tree, SIGTERM, termed, &termed_count); /* newcomers */
    }
    /* SIGKILL cannot be ignored; a few rounds catch what forked meanwhile. */
    deadline = now_ms() + 2000;
    while (tree.count > 0 && now_ms() < deadline) {
        signal_tree(&tree, SIGKILL, termed, &termed_count);
        pause_ms(20);
        find_tree(&tree, mark, length);
    }
    return 0;
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

    program_argv = argv + 1;
    if (program_argv[0] != NULL && strcmp(program_argv[0], "--watchdog") == 0) {
        if (argc != 4) {
            fputs(NAME ": usage: " NAME " --watchdog WRAP_ID GRACE_MS\n", stderr);
            return 2;
        }
        return watchdog(argv[2], argv[3]);
    }
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

/*
 * run_proc.c - one child process per job of `fresh run`, and the watchdog
 * that keeps children from outliving fresh.
 *
 * DESIGN
 * Each job is a child forked by the worker thread that runs the job, in a
 * process group of its own (setpgid), so that a stop reaches everything the
 * program started (shell pipelines, data-loader workers): SIGTERM to the
 * group, then SIGKILL after the grace. Its standard output and error are
 * pipes read with poll(); standard output is cut into lines (reports for
 * the study, everything into the job's log), standard error goes to the log
 * and its last bytes are kept for the failure message. A pidfd (Linux 5.3+)
 * in the poll set says at once when the child exits, even if a grandchild
 * still holds the pipes; without one, the loop checks every tick. The exit
 * is observed with waitid(WNOWAIT) first: while the child is an unreaped
 * zombie its pid, which is also the group's id, cannot be reused, so the
 * group can be killed (leftovers) and struck off the watchdog's list before
 * the child is reaped.
 *
 * fresh killed: two guards. The child asks the kernel for SIGTERM when the
 * thread that forked it dies (PR_SET_PDEATHSIG), which covers the direct
 * child at once. The watchdog, forked before any thread exists, holds the
 * read end of a pipe on which fresh writes "+pgid" and "-pgid"; fresh holds
 * the only write end, so when fresh dies (SIGKILL included) the watchdog
 * reads end-of-file and sends SIGTERM, then SIGKILL after the grace, to every
 * group still listed: grandchildren are covered too. Messages are 5 bytes,
 * below PIPE_BUF, so writes from several worker threads never interleave.
 *
 * Between fork and exec the child runs only async-signal-safe calls: the
 * program path and environment are prepared by the parent.
 */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 25

static int watchdog_fd = -1;
static pid_t watchdog_pid = -1;
static atomic_int hurry;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void run_proc_hurry(void) { atomic_store(&hurry, 1); }

/* ---- watchdog ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int group_alive(pid_t pg) { return kill(-pg, 0) == 0 || errno == EPERM; }

static void watchdog_main(int rfd, double grace)
{
    pid_t *groups = NULL;
    size_t n = 0, cap = 0;
    unsigned char msg[5];
    for (;;) {
        ssize_t got = 0;
        while (got < 5) {
            ssize_t k = read(rfd, msg + got, (size_t)(5 - got));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += k;
        }
        if (got < 5)
            break; /* end of file: fresh is gone */
        int32_t pg;
        memcpy(&pg, msg + 1, 4);
        if (msg[0] == '+') {
            if (n == cap) {
                size_t c = cap ? 2 * cap : 16;
                pid_t *g = realloc(groups, c * sizeof *g);
                if (!g)
                    continue; /* PR_SET_PDEATHSIG still covers the child */
                groups = g;
                cap = c;
            }
            groups[n++] = (pid_t)pg;
        } else {
            for (size_t i = 0; i < n; i++)
                if (groups[i] == (pid_t)pg) {
                    groups[i] = groups[--n];
                    break;
                }
        }
    }
    if (n == 0)
        _exit(0);
    for (size_t i = 0; i < n; i++)
        kill(-groups[i], SIGTERM);
    double end = now_s() + grace;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < n; i++)
            alive += group_alive(groups[i]);
        if (alive == 0 || now_s() >= end)
            break;
        sleep_ms(50);
    }
    for (size_t i = 0; i < n; i++)
        kill(-groups[i], SIGKILL);
    _exit(0);
}

int run_watchdog_start(double grace)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[1]);
        setpgid(0, 0); /* a kill of fresh's group must not take it along */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        /* close everything else this process inherited */
        for (int fd = 3; fd < 1024; fd++)
            if (fd != fds[0])
                close(fd);
        watchdog_main(fds[0], grace);
    }
    close(fds[0]);
    watchdog_fd = fds[1];
    watchdog_pid = pid;
    return 0;
}

void run_watchdog_stop(void)
{
    if (watchdog_fd >= 0)
        close(watchdog_fd);
    watchdog_fd = -1;
    if (watchdog_pid > 0)
        while (waitpid(watchdog_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    watchdog_pid = -1;
}

static void watchdog_tell(char op, pid_t pg)
{
    if (watchdog_fd < 0)
        return;
    unsigned char msg[5];
    int32_t v = (int32_t)pg;
    msg[0] = (unsigned char)op;
    memcpy(msg + 1, &v, 4);
    while (write(watchdog_fd, msg, sizeof msg) < 0 && errno == EINTR)
        ;
}

/* ---- helpers ---- */

char *run_resolve(const char *name, const char *path_env)
{
    if (!name || !*name) {
        errno = ENOENT;
        return NULL;
    }
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0)
            return NULL;
        return strdup(name);
    }
    const char *p = path_env && *path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    int saw_eacces = 0;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        size_t need = (len ? len : 1) + 1 + strlen(name) + 1;
        char *full = malloc(need);
        if (!full)
            return NULL;
        if (len)
            snprintf(full, need, "%.*s/%s", (int)len, p, name);
        else
            snprintf(full, need, "./%s", name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(full, X_OK) == 0)
                return full;
            saw_eacces = 1;
        }
        free(full);
        p += len;
        if (*p == ':')
            p++;
    }
    errno = saw_eacces ? EACCES : ENOENT;
    return NULL;
}

void run_tail_lines(const char *tail, size_t n, int max_lines, char *out, size_t len)
{
    if (len == 0)
        return;
    out[0] = '\0';
    /* walk back over max_lines non-empty lines */
    size_t end = n;
    while (end > 0 && (tail[end - 1] == '\n' || tail[end - 1] == '\r'))
        end--;
    size_t start = end;
    int lines = 0;
    while (start > 0 && lines < max_lines) {
        size_t e = start;
        while (start > 0 && tail[start - 1] != '\n')
            start--;
        if (e > start)
            lines++;
        if (lines < max_lines)
            while (start > 0 && (tail[start - 1] == '\n' || tail[start - 1] == '\r'))
                start--;
    }
    /* join with " | ", dropping \r */
    char *buf = malloc(2 * (end - start) + 1);
    if (!buf)
        return;
    size_t k = 0;
    for (size_t i = start; i < end; i++) {
        if (tail[i] == '\r')
            continue;
        if (tail[i] == '\n') {
            if (k > 0 && buf[k - 1] != ' ') {
                memcpy(buf + k, " | ", 3);
                k += 3;
            }
            continue;
        }
        buf[k++] = tail[i];
    }
    buf[k] = '\0';
    if (k < len)
        memcpy(out, buf, k + 1);
    else if (len > 4)
        snprintf(out, len, "...%s", buf + k - (len - 4));
    free(buf);
}

/* ---- one child ---- */

typedef struct line_buf {
    char *buf;
    size_t n;
    int discarding; /* inside an overlong line, after its start was given */
} line_buf;

typedef struct supervise {
    const run_child_opts *o;
    run_child_result *r;
    int log_fd;
    line_buf out, err;
    int want_stop;
} supervise;

static void log_write(supervise *sv, const char *p, size_t n)
{
    if (sv->log_fd < 0 || sv->r->log_failed)
        return;
    while (n > 0) {
        ssize_t k = write(sv->log_fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            sv->r->log_failed = 1;
            sv->r->log_err = errno;
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

static void tail_add(run_child_result *r, const char *p, size_t n)
{
    if (n >= RUN_TAIL_MAX) {
        memcpy(r->tail, p + n - RUN_TAIL_MAX, RUN_TAIL_MAX);
        r->n_tail = RUN_TAIL_MAX;
    } else {
        if (r->n_tail + n > RUN_TAIL_MAX) {
            size_t drop = r->n_tail + n - RUN_TAIL_MAX;
            memmove(r->tail, r->tail + drop, r->n_tail - drop);
            r->n_tail -= drop;
        }
        memcpy(r->tail + r->n_tail, p, n);
        r->n_tail += n;
    }
    r->tail[r->n_tail] = '\0';
}

/* A complete stdout line (or the start of an overlong one). */
static void stdout_line(supervise *sv, const char *line, size_t n, int truncated)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (sv->o->on_line && sv->o->on_line(sv->o->user, line, n, truncated))
        sv->want_stop = 1;
}

/* Feeds bytes of stream `which` (1 stdout, 2 stderr); eof flushes a last
 * line without its newline. */
static void feed(supervise *sv, int which, const char *p, size_t n, int eof)
{
    line_buf *lb = which == 1 ? &sv->out : &sv->err;
    if (which == 2)
        tail_add(sv->r, p, n);
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        if (lb->discarding) {
            log_write(sv, p, take);
            if (nl)
                lb->discarding = 0;
        } else if (lb->n + take > RUN_LINE_MAX) {
            /* overlong: give its start, log it all, skip to its end */
            size_t room = RUN_LINE_MAX - lb->n;
            memcpy(lb->buf + lb->n, p, room);
            lb->n += room;
            log_write(sv, lb->buf, lb->n);
            log_write(sv, p + room, take - room);
            if (which == 1)
                stdout_line(sv, lb->buf, lb->n, 1);
            lb->n = 0;
            lb->discarding = nl == NULL;
        } else {
            memcpy(lb->buf + lb->n, p, take);
            lb->n += take;
            if (nl) {
                log_write(sv, lb->buf, lb->n);
                if (which == 1)
                    stdout_line(sv, lb->buf, lb->n - 1, 0);
                lb->n = 0;
            }
        }
        p += take;
        n -= take;
    }
    if (eof && lb->n > 0) { /* a last line without a newline */
        log_write(sv, lb->buf, lb->n);
        log_write(sv, "\n", 1);
        if (which == 1)
            stdout_line(sv, lb->buf, lb->n, 0);
        lb->n = 0;
    }
    if (eof)
        lb->discarding = 0;
}

/* Reads what fd has now; 1 at end of file (or error), else 0. */
static int drain(supervise *sv, int which, int fd, char *buf, size_t cap)
{
    for (;;) {
        ssize_t k = read(fd, buf, cap);
        if (k > 0) {
            feed(sv, which, buf, (size_t)k, 0);
            if ((size_t)k < cap)
                return 0;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        feed(sv, which, buf, 0, 1);
        return 1;
    }
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static void child_exec(const run_child_opts *o, int out_w, int err_w, int null_fd, int status_w,
                       pid_t parent)
{
    setpgid(0, 0);
    /* SIGTERM when the thread that forked us dies (fresh killed) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    /* the pool's workers block every signal, and fresh may ignore some:
     * the program starts with the defaults */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], SIG_DFL);
    if (dup2(null_fd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        goto fail;
    execve(o->path, o->argv, o->envp);
fail:;
    int e = errno;
    while (write(status_w, &e, sizeof e) < 0 && errno == EINTR)
        ;
    _exit(127);
}

int run_child(const run_child_opts *o, run_child_result *r)
{
    memset(r, 0, sizeof *r);
    supervise sv;
    memset(&sv, 0, sizeof sv);
    sv.o = o;
    sv.r = r;
    sv.log_fd = -1;
    int out[2] = {-1, -1}, err[2] = {-1, -1}, st[2] = {-1, -1}, null_fd = -1, pidfd = -1;
    char *rbuf = NULL;
    sv.out.buf = malloc(RUN_LINE_MAX);
    sv.err.buf = malloc(RUN_LINE_MAX);
    rbuf = malloc(65536);
    if (!sv.out.buf || !sv.err.buf || !rbuf) {
        r->err = ENOMEM;
        goto out;
    }
    sv.log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sv.log_fd < 0) {
        r->log_failed = 1;
        r->log_err = errno;
    }
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(st, O_CLOEXEC) ||
        (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        r->err = errno;
        goto out;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        r->err = errno;
        goto out;
    }
    if (pid == 0)
        child_exec(o, out[1], err[1], null_fd, st[1], parent);
    setpgid(pid, pid); /* also in the parent: no race with an early kill */
    watchdog_tell('+', pid);
    close(out[1]);
    close(err[1]);
    close(st[1]);
    out[1] = err[1] = st[1] = -1;
    /* exec failed? the status pipe closes on exec, or carries errno */
    int e = 0;
    ssize_t k;
    while ((k = read(st[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    if (k == (ssize_t)sizeof e) {
        watchdog_tell('-', pid);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r->err = e;
        goto out;
    }
    r->started = 1;
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
    pidfd = open_pidfd(pid);

    int out_eof = 0, err_eof = 0, exited = 0;
    double kill_at = 0;
    siginfo_t si;
    while (!exited) {
        struct pollfd pf[3];
        int np = 0, i_out = -1, i_err = -1, i_pid = -1;
        if (!out_eof) {
            i_out = np;
            pf[np++] = (struct pollfd){out[0], POLLIN, 0};
        }
        if (!err_eof) {
            i_err = np;
            pf[np++] = (struct pollfd){err[0], POLLIN, 0};
        }
        if (pidfd >= 0) {
            i_pid = np;
            pf[np++] = (struct pollfd){pidfd, POLLIN, 0};
        }
        int timeout = TICK_MS;
        if (pidfd < 0 && out_eof && err_eof)
            timeout = 5; /* both pipes closed: the exit is near */
        int pr = poll(pf, (nfds_t)np, timeout);
        if (pr < 0 && errno != EINTR)
            break; /* cannot happen with valid fds; the exit check below ends it */
        if (pr > 0) {
            if (i_out >= 0 && pf[i_out].revents)
                out_eof = drain(&sv, 1, out[0], rbuf, 65536);
            if (i_err >= 0 && pf[i_err].revents)
                err_eof = drain(&sv, 2, err[0], rbuf, 65536);
        }
        int check = pidfd < 0 || (i_pid >= 0 && pr > 0 && pf[i_pid].revents);
        if (check) {
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
                exited = 1;
        }
        if (exited)
            break;
        /* stop: asked by a line, by the study, or a second interrupt */
        if (!r->stop_sent && (sv.want_stop || (o->should_stop && o->should_stop(o->user)))) {
            kill(-pid, SIGTERM);
            r->stop_sent = 1;
            kill_at = now_s() + o->stop_grace;
        }
        if (!r->kill_sent &&
            ((r->stop_sent && now_s() >= kill_at) || atomic_load(&hurry))) {
            kill(-pid, SIGKILL);
            r->kill_sent = r->stop_sent = 1;
        }
    }
    /* the child is a zombie: its pid (the group id) cannot be reused yet.
     * Take what the pipes hold now; a grandchild may keep them open, so do
     * not wait for end of file. */
    if (!out_eof)
        drain(&sv, 1, out[0], rbuf, 65536);
    if (!err_eof)
        drain(&sv, 2, err[0], rbuf, 65536);
    feed(&sv, 1, rbuf, 0, 1);
    feed(&sv, 2, rbuf, 0, 1);
    kill(-pid, SIGKILL); /* leftovers of the group */
    watchdog_tell('-', pid);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status)) {
        r->exited = 1;
        r->status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->signaled = 1;
        r->signal = WTERMSIG(status);
    }
out:
    if (sv.log_fd >= 0)
        close(sv.log_fd);
    int fds[] = {out[0], out[1], err[0], err[1], st[0], st[1], null_fd, pidfd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(sv.out.buf);
    free(sv.err.buf);
    free(rbuf);
    return r->started ? 0 : -1;
}

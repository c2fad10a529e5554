/*
 * run.h - the pieces of `fresh run` (cmd_run.c): supervising one child
 * process per job (run_proc.c) and expanding the command template
 * (run_template.c). Internal to the CLI.
 */
#ifndef FRESH_CLI_RUN_H
#define FRESH_CLI_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include "fresh/space.h"

/* ---- run_proc.c: child processes ---- */

/* Starts the watchdog: a small process (in its own process group, ignoring
 * SIGINT/SIGTERM/SIGHUP) that learns the process group of every running job
 * through a pipe. When this process dies in any way, even by SIGKILL, the
 * pipe reaches end-of-file and the watchdog sends SIGTERM to every group
 * still listed, waits up to grace seconds, sends SIGKILL, and exits. Call
 * once, before any thread is created. 0, or -1 with errno. */
int run_watchdog_start(double grace);

/* Stops the watchdog (closes the pipe: it finds no group left and exits)
 * and reaps it. */
void run_watchdog_stop(void);

/* Forces every supervised child to be killed at once (SIGKILL, no grace):
 * for a second interrupt. Async-signal-safe. */
void run_proc_hurry(void);

/* A line of the child's standard output (without its newline; truncated
 * is 1 when the line was longer than RUN_LINE_MAX and only its start is
 * given). Returns 0 to go on, 1 to ask the child to stop now. */
typedef int (*run_line_fn)(void *user, const char *line, size_t len, int truncated);
/* Polled while the child runs: non-zero asks it to stop. */
typedef int (*run_stop_fn)(void *user);

#define RUN_LINE_MAX 65536
#define RUN_TAIL_MAX 2048

typedef struct run_child_opts {
    const char *path;        /* the program to execute (resolved) */
    char *const *argv;       /* NULL-terminated */
    char *const *envp;       /* NULL-terminated */
    const char *log_path;    /* stdout and stderr lines are appended here */
    double stop_grace;       /* seconds between SIGTERM and SIGKILL */
    run_line_fn on_line;
    run_stop_fn should_stop;
    void *user;
} run_child_opts;

typedef struct run_child_result {
    int started;             /* 0: fork, pipe or exec failed (err holds errno) */
    int err;
    int exited, status;      /* exit status when exited */
    int signaled, signal;    /* signal number when killed by a signal */
    int stop_sent;           /* SIGTERM was sent (a stop was asked) */
    int kill_sent;           /* SIGKILL was sent (grace over, or hurry) */
    int log_failed;          /* the log could not be written (errno in log_err) */
    int log_err;
    size_t n_tail;
    char tail[RUN_TAIL_MAX + 1]; /* the last bytes of standard error */
} run_child_result;

/* Runs one child: its own process group, standard input /dev/null,
 * standard output read line by line (on_line), standard error appended to
 * the log and kept as a tail, a stop asked by on_line or should_stop sent
 * as SIGTERM to the group, then SIGKILL after stop_grace. Whatever is left
 * in the group when the child ends is killed. Fills *r; returns 0, or -1
 * when the child could not be started (r->err). Thread safety: any thread
 * (one call per child). */
int run_child(const run_child_opts *o, run_child_result *r);

/* The last `max_lines` non-empty lines of a tail, joined with " | ", cut
 * to fit len bytes (the start is dropped, marked "..."). */
void run_tail_lines(const char *tail, size_t n, int max_lines, char *out, size_t len);

/* Resolves a command name through PATH (as execvp would); a name with a
 * slash is taken as is. Returns a malloc'd path, or NULL with errno. */
char *run_resolve(const char *name, const char *path_env);

/* ---- run_template.c: placeholders ---- */

typedef struct run_template run_template;

/* Names fresh provides besides the parameters. */
extern const char *const run_reserved[];

/* Parses the command words (copied). Placeholders are {NAME} with NAME made
 * of letters, digits and _ . : - ; {{ and }} are literal braces; "${...}"
 * and other brace text (a space inside, say) are left as written. Every
 * NAME must be a reserved name or a parameter of space, and not both:
 * otherwise NULL and err names it. */
run_template *run_template_create(int argc, char *const *argv, const fresh_space *space,
                                  char *err, size_t errlen);
void run_template_destroy(run_template *tp);

/* The value of a placeholder for one job: a string (valid until the next
 * call), or NULL for an inactive parameter. */
typedef const char *(*run_lookup_fn)(void *user, const char *name);

/* Expands the template: a new NULL-terminated argv (free with
 * run_argv_free). A word that names an inactive parameter is left out, and
 * so is the option word just before a word that is only that placeholder
 * ("--momentum {momentum}" disappears as a pair). NULL when out of memory. */
char **run_template_expand(const run_template *tp, run_lookup_fn lookup, void *user);
void run_argv_free(char **argv);

/* Writes value x of parameter i as text: the shortest decimal that reads
 * back exactly for floats, an integer for ints, the label for categorical
 * and ordinal. buf of len bytes. */
void run_format_value(const fresh_space *space, size_t i, double x, char *buf, size_t len);

/* The words joined as a shell would need them quoted (for messages and the
 * study file's record of the command). malloc'd; NULL when out of memory. */
char *run_join_quoted(int argc, char *const *argv);

#endif

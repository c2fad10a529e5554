/* cli.h - shared pieces of the fresh command-line tool. */
#ifndef FRESH_CLI_H
#define FRESH_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "fresh/study.h"

/* Exit codes: 0 success, 1 the command failed, 2 bad usage. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Prints "fresh CMD: message" to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* getopt_long with opterr off; on an unknown option or a missing argument it
 * prints one line naming the option and returns '?'. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* Strict number parsing: the whole string must be a finite number. 0 on
 * success, -1 (after printing an error naming the option) otherwise. */
int cli_parse_double(const char *cmd, const char *opt, const char *text, double *out);
int cli_parse_long(const char *cmd, const char *opt, const char *text, long *out);

/* ---- Ctrl-C and SIGTERM (interrupt.c) ----
 * A command that runs a study calls cli_interrupt_install() once, then
 * cli_interrupt_watch(study) before fresh_study_optimize() and
 * cli_interrupt_watch(NULL) after it. The first SIGINT/SIGTERM stops the
 * watched study cleanly (fresh_study_force_stop: jobs cut short are recorded
 * as interrupted, not as deaths of the process); a second one kills the
 * process. After optimize, if cli_interrupted(), the command prints
 * cli_interrupt_report() and exits with cli_interrupt_exit_code(). */

/* The program name for the resume command (main sets it from argv[0]). */
extern const char *cli_argv0;

/* Installs the SIGINT and SIGTERM handlers (SA_RESETHAND). */
void cli_interrupt_install(void);

/* The study the handlers stop (NULL: none). A signal that came before is
 * applied to the new study at once. */
void cli_interrupt_watch(fresh_study *study);

/* The signal received (SIGINT or SIGTERM), 0 if none. */
int cli_interrupted(void);

/* 128 + the signal received (130 for SIGINT), 0 if none. */
int cli_interrupt_exit_code(void);

/* Prints to stderr what the stopped study saved (`saved` finished jobs,
 * `cut_short` jobs that will run again, the study file) and the command
 * that resumes it: cli_argv0, then argv (argc words, argv[0] the command
 * name) with --resume added unless present. Without a study file it says
 * that nothing was saved. */
void cli_interrupt_report(const char *cmd, size_t saved, size_t cut_short, const char *storage,
                          int argc, char **argv);

/* Writes the resume command (as in cli_interrupt_report) and a newline. */
void cli_resume_command(FILE *f, int argc, char **argv);

/* Writes the names name_at(0), name_at(1), ... (until NULL) into buf as
 * "a, b, c" (truncated to n bytes): the valid values in a message. */
void cli_names(char *buf, size_t n, const char *(*name_at)(size_t));

/* Checks a study file option before a study starts, so that the message
 * names the command's options: with resume, a file that does not exist is an
 * error (not a new study); without it, a file that already holds a study is
 * one (naming --resume). Prints the error ("fresh CMD: ...") and returns
 * CLI_EXIT_FAIL, or returns 0 to go on (other problems are left to the
 * library's own messages). */
int cli_check_storage(const char *cmd, const char *path, int resume);

/* Checks --mpi against how fresh was built and against --workers (over MPI
 * the evaluating ranks are the workers, one job at a time each). Prints the
 * usage error and returns CLI_EXIT_USAGE, or returns 0. */
int cli_check_mpi(const char *cmd, int use_mpi, int workers_given);

int cmd_plan(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif

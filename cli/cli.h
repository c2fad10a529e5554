/* cli.h - shared pieces of the fresh command-line tool. */
#ifndef FRESH_CLI_H
#define FRESH_CLI_H

#include <getopt.h>

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

int cmd_plan(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif

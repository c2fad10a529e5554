/*
 * progress.h - progress of a long command-line job (fresh bench, make demo,
 * fresh run), written to a stream, usually stderr.
 *
 * On a terminal one line is rewritten in place ("\r") at most every
 * CLI_PROGRESS_TTY_STEP seconds; otherwise (a pipe, a log file, CI) one plain
 * line is printed every `interval` seconds, so a long run under a pipe still
 * shows that it is alive without flooding the log. With a known total the
 * line shows the percentage, the elapsed time and an estimate of the time
 * left (elapsed x remaining / done); without one, what was done and the
 * elapsed time.
 *
 * Times are passed in by the caller (cli_now() for the real clock), so the
 * display is deterministic under test. Not thread-safe: call it from one
 * thread (the study's owner thread, through the on_job callback).
 */
#ifndef FRESH_CLI_PROGRESS_H
#define FRESH_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

/* Seconds between two rewrites of the terminal line. */
#define CLI_PROGRESS_TTY_STEP 0.2
/* Default seconds between two plain lines when the stream is not a terminal. */
#define CLI_PROGRESS_INTERVAL 10.0

typedef struct cli_progress {
    FILE *out;          /* borrowed */
    int tty;            /* 1: rewrite one line; 0: a plain line every interval */
    double interval;    /* seconds between plain lines; <= 0: none until done */
    double total;       /* the known total, in `unit`; <= 0: unknown */
    const char *unit;   /* borrowed: "MBE", "brackets" */
    double start, last; /* cli_now() seconds at init and at the last line */
    int on_screen;      /* a terminal line is shown and not ended yet */
} cli_progress;

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Starts a display at time `now`. unit is borrowed for the display's life. */
void cli_progress_init(cli_progress *p, FILE *out, int tty, double interval, double total,
                       const char *unit, double now);

/* Formats one progress line (no newline) into buf (n bytes, truncated):
 *   "[ 42%] 12.6/30 MBE, 1m05s elapsed, about 1m30s left; DETAIL"
 *   "12.6 MBE, 1m05s elapsed; DETAIL"      (total unknown)
 *   "done: 30.2/30 MBE in 2m35s; DETAIL"   (final)
 * Past the total (jobs still running when it was reached) the line says
 * "finishing the running jobs" instead of a time left. detail may be NULL.
 * Returns what snprintf returns. */
int cli_progress_format(char *buf, size_t n, double done, double total, const char *unit,
                        double elapsed, int final, const char *detail);

/* Formats a duration: "42s", "3m05s", "2h07m". */
void cli_progress_duration(char *buf, size_t n, double seconds);

/* Shows progress `done` at time `now` when it is time to: returns 1 if a line
 * was written, 0 if not. */
int cli_progress_update(cli_progress *p, double now, double done, const char *detail);

/* Writes the final line (always) and ends a terminal line with a newline. */
void cli_progress_finish(cli_progress *p, double now, double done, const char *detail);

#endif

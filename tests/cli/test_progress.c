/* test_progress.c - the CLI progress display (cli/progress.c): the line's
 * content, how often it is written on a terminal and to a pipe, and the
 * final line. Times are given, so the test is deterministic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

static char line[512];

Test(progress, format_known_total)
{
    cli_progress_format(line, sizeof line, 12.5, 50, "MBE", 65, 0, "10 jobs");
    /* a quarter done in 65 s: three quarters left take 195 s */
    cr_assert_str_eq(line, "[ 25%] 12.5/50 MBE, 1m05s elapsed, about 3m15s left; 10 jobs");
}

Test(progress, format_unknown_total_and_no_detail)
{
    cli_progress_format(line, sizeof line, 3, 0, "MBE", 7.4, 0, NULL);
    cr_assert_str_eq(line, "3 MBE, 7s elapsed");
}

Test(progress, format_nothing_done_has_no_estimate)
{
    cli_progress_format(line, sizeof line, 0, 10, "brackets", 1, 0, "");
    cr_assert_str_eq(line, "[  0%] 0/10 brackets, 1s elapsed");
}

Test(progress, format_past_the_total)
{
    cli_progress_format(line, sizeof line, 31.2, 30, "MBE", 4000, 0, "x");
    cr_assert_str_eq(line, "[100%] 31.2/30 MBE, 1h06m elapsed, finishing the running jobs; x");
    cli_progress_format(line, sizeof line, 31.2, 30, "MBE", 4000, 1, "x");
    cr_assert_str_eq(line, "done: 31.2/30 MBE in 1h06m; x");
}

static char *buf;
static size_t len;

static FILE *sink(void)
{
    buf = NULL;
    len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    return f;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(progress, pipe_one_plain_line_per_interval)
{
    FILE *f = sink();
    cli_progress p;
    cli_progress_init(&p, f, 0, 10, 100, "MBE", 1000);
    int shown = 0;
    for (int i = 1; i <= 95; i++) /* an update every second for 95 s */
        shown += cli_progress_update(&p, 1000 + i, i, "d");
    cli_progress_finish(&p, 1096, 100, "d");
    fclose(f);
    cr_assert_eq(shown, 9); /* at 10, 20, ..., 90 s */
    cr_assert_eq(count(buf, "\n"), 10);
    cr_assert_eq(count(buf, "\r"), 0);
    cr_assert_eq(count(buf, "\033"), 0);
    cr_assert(strstr(buf, "[ 10%] 10/100 MBE, 10s elapsed, about 1m30s left; d\n") == buf);
    cr_assert_not_null(strstr(buf, "done: 100/100 MBE in 1m36s; d\n"));
    free(buf);
}

Test(progress, pipe_interval_zero_prints_only_the_end)
{
    FILE *f = sink();
    cli_progress p;
    cli_progress_init(&p, f, 0, 0, 100, "MBE", 0);
    for (int i = 1; i <= 50; i++)
        cr_assert_eq(cli_progress_update(&p, i, i, NULL), 0);
    cli_progress_finish(&p, 51, 100, NULL);
    fclose(f);
    cr_assert_str_eq(buf, "done: 100/100 MBE in 51s\n");
    free(buf);
}

Test(progress, terminal_rewrites_one_line)
{
    FILE *f = sink();
    cli_progress p;
    cli_progress_init(&p, f, 1, 10, 4, "brackets", 0);
    int shown = 0;
    for (int i = 1; i <= 20; i++) /* every 1/8 s: a rewrite when 0.2 s have passed */
        shown += cli_progress_update(&p, 0.125 * i, 0.125 * i, NULL);
    cr_assert(p.on_screen);
    cli_progress_finish(&p, 2.5, 4, NULL);
    fclose(f);
    cr_assert_eq(shown, 10, "%d rewrites", shown); /* at 2/8, 4/8, ... 20/8 s */
    cr_assert_eq(count(buf, "\r"), shown + 1);
    cr_assert_eq(count(buf, "\033[K"), shown + 1);
    cr_assert_eq(count(buf, "\n"), 1); /* only the final line ends */
    cr_assert_eq(buf[len - 1], '\n');
    cr_assert(!p.on_screen);
    free(buf);
}

Test(progress, durations)
{
    char d[32];
    cli_progress_duration(d, sizeof d, 0);
    cr_assert_str_eq(d, "0s");
    cli_progress_duration(d, sizeof d, 59.4);
    cr_assert_str_eq(d, "59s");
    cli_progress_duration(d, sizeof d, 3599);
    cr_assert_str_eq(d, "59m59s");
    cli_progress_duration(d, sizeof d, 7260);
    cr_assert_str_eq(d, "2h01m");
    cli_progress_duration(d, sizeof d, -5);
    cr_assert_str_eq(d, "0s");
}

/* progress.c - the progress display of long CLI jobs (see progress.h). */
#include "progress.h"

#include <math.h>
#include <string.h>
#include <time.h>

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, FILE *out, int tty, double interval, double total,
                       const char *unit, double now)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->interval = interval;
    p->total = total;
    p->unit = unit ? unit : "";
    p->start = p->last = now;
}

void cli_progress_duration(char *buf, size_t n, double seconds)
{
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    long s = lround(seconds);
    if (s < 60)
        snprintf(buf, n, "%lds", s);
    else if (s < 3600)
        snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, n, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}

int cli_progress_format(char *buf, size_t n, double done, double total, const char *unit,
                        double elapsed, int final, const char *detail)
{
    char el[32], left[64] = "";
    cli_progress_duration(el, sizeof el, elapsed);
    const char *sep = detail && *detail ? "; " : "";
    if (!detail)
        detail = "";
    if (final)
        return total > 0 ? snprintf(buf, n, "done: %.3g/%g %s in %s%s%s", done, total, unit, el,
                                    sep, detail)
                         : snprintf(buf, n, "done: %.3g %s in %s%s%s", done, unit, el, sep, detail);
    if (!(total > 0))
        return snprintf(buf, n, "%.3g %s, %s elapsed%s%s", done, unit, el, sep, detail);
    double frac = done / total;
    if (frac < 0)
        frac = 0;
    if (frac >= 1) {
        frac = 1; /* the jobs still running when the total was reached */
        snprintf(left, sizeof left, ", finishing the running jobs");
    } else if (done > 0) {
        char d[32];
        cli_progress_duration(d, sizeof d, elapsed * (total - done) / done);
        snprintf(left, sizeof left, ", about %s left", d);
    }
    return snprintf(buf, n, "[%3.0f%%] %.3g/%g %s, %s elapsed%s%s%s", floor(100 * frac), done,
                    total, unit, el, left, sep, detail);
}

static void emit(cli_progress *p, double now, double done, int final, const char *detail)
{
    char line[512];
    cli_progress_format(line, sizeof line, done, p->total, p->unit, now - p->start, final,
                        detail);
    if (p->tty) {
        fprintf(p->out, "\r%s\033[K", line); /* erase what a longer line left */
        p->on_screen = 1;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->last = now;
}

int cli_progress_update(cli_progress *p, double now, double done, const char *detail)
{
    double step = p->tty ? CLI_PROGRESS_TTY_STEP : p->interval;
    if (!p->tty && !(p->interval > 0))
        return 0;
    if (now - p->last < step)
        return 0;
    emit(p, now, done, 0, detail);
    return 1;
}

void cli_progress_finish(cli_progress *p, double now, double done, const char *detail)
{
    emit(p, now, done, 1, detail);
    if (p->tty) {
        fputc('\n', p->out);
        fflush(p->out);
        p->on_screen = 0;
    }
}

/*
 * interrupt.c - Ctrl-C and SIGTERM for the commands that run a study
 * (`fresh bench`, `fresh run`).
 *
 * Without a handler, SIGINT kills the process: the jobs running at that
 * moment are left asked-but-not-told in the study file and count, on
 * resume, as deaths of the process, so a few interrupts of a resumed run
 * fail a healthy job for good. With these handlers the first SIGINT or
 * SIGTERM calls fresh_study_force_stop() on the watched study (a lock-free
 * atomic store, async-signal-safe): optimize stops handing out jobs, asks
 * the running ones to stop and returns FRESH_STOPPED; the jobs it cut short
 * are recorded as interrupted and run again on resume, not counted as
 * deaths. The command then prints what was saved and the exact command that
 * resumes the study (cli_interrupt_report). The handlers are installed with
 * SA_RESETHAND: a second Ctrl-C kills the process at once, as the user asks.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_argv0 = "fresh";

static fresh_study *_Atomic watched;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    fresh_study *s = atomic_load(&watched);
    if (s)
        fresh_study_force_stop(s);
    static const char msg[] = "\nfresh: stopping: waiting for the running jobs to stop "
                              "(press Ctrl-C again to quit at once)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

void cli_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_interrupt_watch(fresh_study *study)
{
    atomic_store(&watched, study);
    if (study && got_signal) /* it came before the study existed */
        fresh_study_force_stop(study);
}

int cli_interrupted(void) { return got_signal; }

int cli_interrupt_exit_code(void) { return got_signal ? 128 + got_signal : 0; }

/* Writes word to f, in single quotes unless it is made of safe characters. */
static void shell_word(FILE *f, const char *word)
{
    int plain = *word != '\0';
    for (const char *p = word; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%",
                    *p))
            plain = 0;
    if (plain) {
        fputs(word, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

void cli_resume_command(FILE *f, int argc, char **argv)
{
    int has_resume = 0;
    shell_word(f, cli_argv0);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        has_resume |= !strcmp(argv[i], "--resume");
    }
    for (int i = 0; i < argc; i++) {
        if (!has_resume && !strcmp(argv[i], "--")) { /* options end here */
            fputs(" --resume", f);
            has_resume = 1;
        }
        fputc(' ', f);
        shell_word(f, argv[i]);
    }
    if (!has_resume)
        fputs(" --resume", f);
    fputc('\n', f);
}

void cli_interrupt_report(const char *cmd, size_t saved, size_t cut_short, const char *storage,
                          int argc, char **argv)
{
    const char *name = got_signal == SIGTERM ? "SIGTERM" : "SIGINT";
    if (!storage) {
        fprintf(stderr,
                "fresh %s: interrupted (%s): nothing was saved (no study file); %zu jobs had "
                "finished\n",
                cmd, name, saved);
        return;
    }
    fprintf(stderr,
            "fresh %s: interrupted (%s): %zu finished jobs are saved in %s; %zu jobs cut short "
            "will run again\nresume with:\n  ",
            cmd, name, saved, storage, cut_short);
    cli_resume_command(stderr, argc, argv);
}

/* Schedulers: stage sizes and promotions over a full Hyperband iteration,
 * the concurrent-bracket rule, failed jobs, ties, and the three policies. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/scheduler.h"
#include "sched_fixtures.h"

/* loss of a configuration: a fixed pseudo-random permutation of ids */
static double loss_of(uint64_t id) { return (double)((id * 7919u) % 1009u); }

Test(scheduler, full_hyperband_iteration_sequential)
{
    sched s = make(fresh_scheduler_hyperband, 1, 81, 3);
    const long want_n[5][5] = {{81, 27, 9, 3, 1}, {34, 11, 3, 1}, {15, 5, 1}, {8, 2}, {5}};
    const double want_r[5][5] = {{1, 3, 9, 27, 81}, {3, 9, 27, 81}, {9, 27, 81}, {27, 81}, {81}};
    for (int k = 0; k < 5; k++) {
        int stages = 5 - k;
        uint64_t prev_stage_ids[100];
        size_t n_prev = 0;
        for (int i = 0; i < stages; i++) {
            fresh_sched_job jobs[100];
            long n = 0;
            /* start the whole stage (sequentially: a single worker) */
            for (;;) {
                fresh_sched_job j;
                int rc = next(&s, 0, &j);
                if (rc == FRESH_WAIT || rc == FRESH_DONE)
                    break;
                cr_assert_eq(rc, FRESH_OK);
                cr_assert_eq(j.bracket, k);
                cr_assert_eq(j.stage, i);
                cr_assert_eq(j.budget, want_r[k][i]);
                cr_assert_eq(j.resume_from, i == 0 ? 0 : want_r[k][i - 1]);
                cr_assert_eq(j.stage_size, want_n[k][i]);
                cr_assert_eq(j.quota, i + 1 < stages ? want_n[k][i + 1] : 0);
                jobs[n++] = j;
            }
            if (i == 0 && n == 0) { /* bracket not open yet */
                fresh_sched_job j;
                cr_assert_eq(next(&s, 1, &j), FRESH_OK);
                cr_assert_eq(j.bracket, k);
                jobs[n++] = j;
                for (;;) {
                    int rc = next(&s, 0, &j);
                    if (rc != FRESH_OK)
                        break;
                    jobs[n++] = j;
                }
            }
            cr_assert_eq(n, want_n[k][i], "bracket %d stage %d: %ld jobs", k, i, n);
            if (i > 0) {
                /* the promoted are exactly the best of the previous stage */
                for (long a = 0; a < n; a++) {
                    int better = 0;
                    for (size_t b = 0; b < n_prev; b++)
                        if (loss_of(prev_stage_ids[b]) < loss_of(jobs[a].config_id))
                            better++;
                    cr_assert_lt(better, want_n[k][i], "config %llu promoted with %d better",
                                 (unsigned long long)jobs[a].config_id, better);
                }
            }
            for (long a = 0; a < n; a++) {
                prev_stage_ids[a] = jobs[a].config_id;
                cr_assert_eq(s.type->finish(s.state, &jobs[a], loss_of(jobs[a].config_id), 1, NULL),
                             FRESH_OK);
            }
            n_prev = (size_t)n;
        }
        cr_assert_eq(s.type->n_finished(s.state), k + 1);
    }
    /* 81 + 34 + 15 + 8 + 5 new configurations */
    cr_assert_eq(s.next_id, 143);
    /* the next bracket is s = s_max again */
    fresh_sched_job j;
    cr_assert_eq(next(&s, 0, &j), FRESH_DONE);
    cr_assert_eq(next(&s, 1, &j), FRESH_OK);
    cr_assert_eq(j.bracket, 5);
    cr_assert_eq(j.stage_size, 81);
    drop(&s);
}

Test(scheduler, concurrent_brackets)
{
    /* a bracket blocked at its barrier lets the next one start; the older
     * bracket has priority once it can go on */
    sched s = make(fresh_scheduler_hyperband, 1, 9, 3); /* s=2: 9@1 3@3 1@9; s=1: 5@3 1@9 ... */
    fresh_sched_job b0[9], j;
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(next(&s, 1, &b0[i]), FRESH_OK);
        cr_assert_eq(b0[i].bracket, 0);
    }
    /* all of bracket 0's stage 0 is running: without open_new we wait */
    cr_assert_eq(next(&s, 0, &j), FRESH_WAIT);
    /* a free worker opens bracket 1 */
    cr_assert_eq(next(&s, 1, &j), FRESH_OK);
    cr_assert_eq(j.bracket, 1);
    cr_assert_eq(j.budget, 3.0);
    /* finishing bracket 0's stage: its promotions come before bracket 1's slots */
    for (int i = 0; i < 9; i++)
        cr_assert_eq(s.type->finish(s.state, &b0[i], (double)(9 - i), 1, NULL), FRESH_OK);
    cr_assert_eq(next(&s, 0, &j), FRESH_OK);
    cr_assert_eq(j.bracket, 0);
    cr_assert_eq(j.stage, 1);
    cr_assert_eq(j.config_id, 8); /* best loss 1 */
    cr_assert_eq(j.resume_from, 1.0);
    cr_assert_eq(next(&s, 0, &j), FRESH_OK);
    cr_assert_eq(j.config_id, 7);
    cr_assert_eq(next(&s, 0, &j), FRESH_OK);
    cr_assert_eq(j.config_id, 6);
    /* then bracket 1 continues */
    cr_assert_eq(next(&s, 0, &j), FRESH_OK);
    cr_assert_eq(j.bracket, 1);
    cr_assert_eq(s.type->n_opened(s.state), 2);
    drop(&s);
}

Test(scheduler, failed_rank_last_and_stage_shrinks)
{
    sched s = make(fresh_scheduler_sh, 1, 9, 3); /* 9@1 3@3 1@9 */
    fresh_sched_job j[9], p;
    for (int i = 0; i < 9; i++)
        next(&s, 1, &j[i]);
    /* only two succeed; a stopped-early job with a great loss ranks after completed */
    for (int i = 0; i < 9; i++) {
        double loss = i == 4 ? 0.5 : i == 7 ? 3.0 : i == 2 ? 0.1 : INFINITY;
        int completed = i != 2;
        cr_assert_eq(s.type->finish(s.state, &j[i], loss, completed, NULL), FRESH_OK);
    }
    fresh_sched_job st1[3];
    int n = 0;
    while (next(&s, 0, &p) == FRESH_OK)
        st1[n++] = p;
    cr_assert_eq(n, 3, "three survivors with finite losses");
    cr_assert_eq(st1[0].config_id, 4);
    cr_assert_eq(st1[1].config_id, 7);
    cr_assert_eq(st1[2].config_id, 2, "stopped-early job ranks after completed ones");
    cr_assert_eq(st1[0].stage_size, 3);
    /* all of stage 1 fails: the bracket ends instead of stalling */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(s.type->finish(s.state, &st1[i], NAN, 1, NULL), FRESH_OK);
    cr_assert_eq(s.type->n_finished(s.state), 1);
    cr_assert_eq(next(&s, 0, &p), FRESH_DONE);
    drop(&s);
}

Test(scheduler, ties_broken_by_config_id)
{
    sched s = make(fresh_scheduler_sh, 1, 3, 3); /* s=1: ceil(2*3/2)=3@1, 1@3 */
    fresh_sched_job j[3], p;
    for (int i = 0; i < 3; i++)
        next(&s, 1, &j[i]);
    /* finish in reverse order with equal losses */
    for (int i = 2; i >= 0; i--)
        s.type->finish(s.state, &j[i], 1.0, 1, NULL);
    cr_assert_eq(next(&s, 0, &p), FRESH_OK);
    cr_assert_eq(p.config_id, 0);
    drop(&s);
}

Test(scheduler, policies)
{
    sched s = make(fresh_scheduler_none, 1, 81, 3);
    fresh_sched_job j;
    cr_assert_eq(next(&s, 1, &j), FRESH_OK);
    cr_assert_eq(j.budget, 81.0);
    cr_assert_eq(j.stage_size, 5);
    cr_assert_eq(j.quota, 0);
    drop(&s);
    s = make(fresh_scheduler_sh, 1, 81, 3);
    for (int b = 0; b < 3; b++) {
        cr_assert_eq(next(&s, 1, &j), FRESH_OK);
        cr_assert_eq(j.budget, 1.0);
        cr_assert_eq(j.bracket, b);
        while (next(&s, 0, &j) == FRESH_OK)
            ;
    }
    drop(&s);
    cr_assert_eq(fresh_scheduler_find("hyperband"), fresh_scheduler_hyperband);
    cr_assert_eq(fresh_scheduler_find("sh"), fresh_scheduler_sh);
    cr_assert_eq(fresh_scheduler_find("none"), fresh_scheduler_none);
    cr_assert_null(fresh_scheduler_find("asha2"));
    cr_assert_null(fresh_scheduler_find(NULL));
}

Test(scheduler, bad_calls)
{
    sched s = make(fresh_scheduler_hyperband, 1, 9, 3);
    fresh_sched_job j, bogus;
    next(&s, 1, &j);
    bogus = j;
    bogus.bracket = 7;
    cr_assert_eq(s.type->finish(s.state, &bogus, 1, 1, NULL), FRESH_EINVAL);
    cr_assert_eq(s.type->finish(s.state, &j, 1, 1, NULL), FRESH_OK);
    cr_assert_eq(s.type->finish(s.state, &j, 1, 1, NULL), FRESH_EINVAL, "finished twice");
    cr_assert_eq(s.type->bind(s.state, &j, 99), FRESH_EINVAL, "already bound");
    drop(&s);
    void *st = calloc(1, fresh_scheduler_hyperband->state_size);
    char err[512];
    fresh_plan *p = fresh_plan_create();
    cr_assert_eq(fresh_scheduler_hyperband->init(st, p, err), FRESH_EINVAL);
    fresh_plan_destroy(p);
    free(st);
}

/* Runs `n_brackets` brackets of the adaptive scheduler on 1..9 (rungs 1, 3,
 * 9), every job finishing at once; jobs from scratch report at every rung
 * with rung losses agreeing (sign +1) or disagreeing (-1) with the final
 * ranking. Returns how many brackets started at each rung. */
static void run_adaptive(double sign, int n_brackets, int started_at[3])
{
    sched s = make(fresh_scheduler_adaptive, 1, 9, 3);
    started_at[0] = started_at[1] = started_at[2] = 0;
    long last_bracket = -1;
    fresh_sched_job j;
    while (s.type->n_opened(s.state) < n_brackets || s.type->n_finished(s.state) < n_brackets - 1) {
        int rc = next(&s, s.type->n_opened(s.state) < n_brackets, &j);
        if (rc != FRESH_OK)
            break;
        if (j.bracket != last_bracket && j.stage == 0 && j.slot == 0) {
            last_bracket = j.bracket;
            started_at[j.budget == 1 ? 0 : j.budget == 3 ? 1 : 2]++;
        }
        double loss = loss_of(j.config_id);
        double rungs[3] = {NAN, NAN, NAN};
        if (j.resume_from == 0) {
            for (int r = 0; r < 3; r++) {
                double b = r == 0 ? 1 : r == 1 ? 3 : 9;
                if (b < j.budget)
                    rungs[r] = sign * loss + b; /* any monotone map keeps the ranks */
                else if (b == j.budget)
                    rungs[r] = loss;
            }
        }
        cr_assert_eq(s.type->finish(s.state, &j, loss, 1, rungs), FRESH_OK);
    }
    drop(&s);
}

Test(scheduler, adaptive_skips_misleading_rungs_only)
{
    int agree[3], disagree[3];
    run_adaptive(+1, 30, agree);
    /* reliable fidelities: plain Hyperband cycle, 10 of each */
    cr_assert_eq(agree[0], 10);
    cr_assert_eq(agree[1], 10);
    cr_assert_eq(agree[2], 10);
    run_adaptive(-1, 30, disagree);
    /* misleading: once enough unselected pairs exist, only full-budget brackets */
    cr_assert_lt(disagree[0], 4, "rung 1 brackets: %d", disagree[0]);
    cr_assert_leq(disagree[1], 4, "rung 3 brackets: %d", disagree[1]);
    cr_assert_geq(disagree[2], 22, "full-budget brackets: %d", disagree[2]);
    cr_assert_eq(fresh_scheduler_find("adaptive"), fresh_scheduler_adaptive);
}

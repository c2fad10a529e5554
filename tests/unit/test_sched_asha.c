/* The asynchronous schedulers (schedulers/asha.c), driven directly through
 * next/bind/finish: exact promotions for a scripted sequence of results
 * (ties, failures, stopped jobs, late arrivals), groups and their ending,
 * open_new = 0, bad calls, and async-hyperband's ladder draws. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/scheduler.h"
#include "sched_fixtures.h"

/* The next job must be exactly (config, bracket, stage, budget, resume_from). */
static fresh_sched_job expect(sched *s, int open_new, uint64_t config, long bracket, int stage,
                              double budget, double from)
{
    fresh_sched_job j;
    int rc = next(s, open_new, &j);
    cr_assert_eq(rc, FRESH_OK, "next: %d", rc);
    cr_assert_eq(j.config_id, config, "config %llu, want %llu", (unsigned long long)j.config_id,
                 (unsigned long long)config);
    cr_assert_eq(j.bracket, bracket, "config %llu: bracket %ld, want %ld",
                 (unsigned long long)config, j.bracket, bracket);
    cr_assert_eq(j.stage, stage, "config %llu: stage %d, want %d", (unsigned long long)config,
                 j.stage, stage);
    cr_assert_eq(j.budget, budget, "config %llu: budget %g, want %g", (unsigned long long)config,
                 j.budget, budget);
    cr_assert_eq(j.resume_from, from, "config %llu: from %g, want %g",
                 (unsigned long long)config, j.resume_from, from);
    return j;
}

static void done(sched *s, const fresh_sched_job *j, double loss, int completed)
{
    cr_assert_eq(s->type->finish(s->state, j, loss, completed, NULL), FRESH_OK);
}

/* Options before the first job: a limit on paused results, and the
 * promotion rule as published (paper = 1) or fresh's cap (0, the default). */
static void options(sched *s, size_t max_paused, int paper)
{
    fresh_sched_options o = {max_paused, paper};
    cr_assert_eq(s->type->set_options(s->state, &o), FRESH_OK);
}

/* 1..9, eta 3: rungs 1, 3, 9; a group is bracket s = 2's first stage, 9
 * configurations. Every promotion below is worked out by hand from the rule
 * "the best unpromoted result of rung i is among the top floor(n_i / 3)". */
Test(asha, scripted_promotions_ties_failures_late_arrivals)
{
    sched s = make(fresh_scheduler_asha, 1, 9, 3);
    options(&s, 0, 1); /* the rule as published */
    fresh_sched_job j[16], p[8];
    j[0] = expect(&s, 1, 0, 0, 0, 1, 0);
    cr_assert_eq(j[0].quota, 3);      /* the synchronous stage's: 9 -> 3 */
    cr_assert_eq(j[0].stage_size, 9);
    cr_assert_eq(j[0].slot, 0);
    j[1] = expect(&s, 1, 1, 0, 0, 1, 0);
    j[2] = expect(&s, 1, 2, 0, 0, 1, 0);
    done(&s, &j[0], 5, 1);
    done(&s, &j[1], 3, 1);
    done(&s, &j[2], 4, 1);
    /* n = 3, top 1: config 1 (loss 3) */
    p[0] = expect(&s, 1, 1, 0, 1, 3, 1);
    cr_assert_eq(p[0].quota, 1);
    cr_assert_eq(p[0].stage_size, 3);
    cr_assert_eq(p[0].slot, 1);
    /* config 1 promoted; 2 (rank 1) is not in the top 1: a new one */
    j[3] = expect(&s, 1, 3, 0, 0, 1, 0);
    /* a late arrival better than the promoted config 1: n = 4, top 1 =
     * {3}, not promoted yet: promoted too (1 stays promoted) */
    done(&s, &j[3], 1, 1);
    p[1] = expect(&s, 1, 3, 0, 1, 3, 1);
    /* a failure and a NaN never rank before finite losses */
    j[4] = expect(&s, 1, 4, 0, 0, 1, 0);
    done(&s, &j[4], INFINITY, 0);
    j[5] = expect(&s, 1, 5, 0, 0, 1, 0);
    j[6] = expect(&s, 1, 6, 0, 0, 1, 0);
    done(&s, &j[5], 4, 1); /* ties config 2 (loss 4): id 2 ranks first */
    done(&s, &j[6], NAN, 1);
    /* rung 0: 3 1 | 1 3 | 2 4 | 5 4 | 0 5 | 4 inf | 6 inf, n = 7, top 2
     * both promoted already */
    j[7] = expect(&s, 1, 7, 0, 0, 1, 0);
    done(&s, &j[7], 6, 1);
    j[8] = expect(&s, 1, 8, 0, 0, 1, 0); /* the group's ninth */
    /* rung 1: both running, nothing there yet */
    done(&s, &p[0], 2, 1);
    done(&s, &p[1], 0.5, 1);
    done(&s, &j[8], 10, 1);
    /* n = 9, top 3: config 2 (tie won against 5) */
    p[2] = expect(&s, 1, 2, 0, 1, 3, 1);
    done(&s, &p[2], 0.7, 1);
    /* rung 1: 3 0.5 | 2 0.7 | 1 2, n = 3, top 1: config 3 to the top rung,
     * which comes before anything at rung 0 */
    p[3] = expect(&s, 1, 3, 0, 2, 9, 3);
    cr_assert_eq(p[3].quota, 0);
    cr_assert_eq(p[3].stage_size, 1);
    /* group 0 is full: nothing to promote, no new group allowed: wait */
    fresh_sched_job w;
    cr_assert_eq(next(&s, 0, &w), FRESH_WAIT);
    cr_assert_eq(s.type->n_opened(s.state), 1);
    done(&s, &p[3], 0.4, 1);
    cr_assert_eq(s.type->n_finished(s.state), 0); /* 3, 4, 6 are final; six are not */
    cr_assert_eq(next(&s, 0, &w), FRESH_DONE);
    /* a new group when allowed */
    j[9] = expect(&s, 1, 9, 1, 0, 1, 0);
    cr_assert_eq(s.type->n_opened(s.state), 2);
    /* a job stopped early with the best loss ranks after every completed one */
    done(&s, &j[9], 0.1, 0);
    j[10] = expect(&s, 1, 10, 1, 0, 1, 0);
    done(&s, &j[10], 7, 1);
    j[11] = expect(&s, 1, 11, 1, 0, 1, 0);
    done(&s, &j[11], 8, 1);
    /* rung 0: 3 1 P | 1 3 P | 2 4 P | 5 4 | 0 5 | 7 6 | 10 7 | 11 8 | 8 10 |
     * 9 0.1 stopped | 4, 6 inf; n = 12, top 4: config 5, not the stopped 9 */
    p[4] = expect(&s, 1, 5, 0, 1, 3, 1);
    cr_assert_eq(p[4].slot, 5);
    drop(&s);
}

/* The late-arrival script of the two tests below, on rungs 1, 3, 9: six
 * configurations start (j[0..5]), three poor results arrive first and the
 * best of them (config 2) goes up (returned), then three better ones
 * arrive late: configs 0, 1, 2 end at losses 9, 8, 7, then configs 5, 4, 3
 * at 1, 2, 3 (n = 6). */
static fresh_sched_job poor_then_good(sched *s, fresh_sched_job *j)
{
    for (int i = 0; i < 6; i++)
        j[i] = expect(s, 1, (uint64_t)i, 0, 0, 1, 0);
    done(s, &j[0], 9, 1);
    done(s, &j[1], 8, 1);
    done(s, &j[2], 7, 1);
    fresh_sched_job a = expect(s, 1, 2, 0, 1, 3, 1); /* n = 3: 1 promotion */
    done(s, &j[5], 1, 1);
    done(s, &j[4], 2, 1);
    done(s, &j[3], 3, 1);
    return a;
}

/* Results arrive in an order unlike the asks; promotions follow the rule
 * at each ask and a promotion made is never taken back. */
Test(asha, late_arrivals_never_undo_promotions)
{
    sched s = make(fresh_scheduler_asha, 1, 9, 3);
    options(&s, 0, 1); /* the rule as published */
    fresh_sched_job j[6];
    fresh_sched_job a = poor_then_good(&s, j);
    /* n = 6, top 2 = {5, 4}: both promoted, 2 stays */
    expect(&s, 1, 5, 0, 1, 3, 1);
    expect(&s, 1, 4, 0, 1, 3, 1);
    expect(&s, 1, 6, 0, 0, 1, 0); /* 3 has rank 2: not in the top 2 */
    done(&s, &a, 0.5, 1);
    drop(&s);
}

/* fresh's rule (the default): the same results as above, but a rung never
 * promotes more than floor(n / 3): the late good results wait for the
 * rung to grow, and none is taken back. */
Test(asha, cap_holds_promotions_to_one_in_eta)
{
    sched s = make(fresh_scheduler_asha, 1, 9, 3);
    fresh_sched_job j[9];
    fresh_sched_job a = poor_then_good(&s, j);
    /* n = 6, quota 2: config 5 goes up; 4 (rank 1) is in the top 2 but the
     * rung has promoted 2 already: a new configuration instead */
    expect(&s, 1, 5, 0, 1, 3, 1);
    j[6] = expect(&s, 1, 6, 0, 0, 1, 0);
    j[7] = expect(&s, 1, 7, 0, 0, 1, 0);
    j[8] = expect(&s, 1, 8, 0, 0, 1, 0);
    done(&s, &j[6], 5, 1);
    done(&s, &j[7], 6, 1);
    /* n = 8: quota 2 still */
    expect(&s, 1, 9, 1, 0, 1, 0); /* the next group */
    done(&s, &j[8], 4, 1);
    /* n = 9, quota 3: config 4 (loss 2, rank 1) goes up now */
    expect(&s, 1, 4, 0, 1, 3, 1);
    done(&s, &a, 0.5, 1);
    drop(&s);
}

/* A group ends when each of its configurations reached the top rung or
 * failed; with s_max = 0 every configuration is at the top at once. */
Test(asha, groups_finish_and_open_new_zero)
{
    sched s = make(fresh_scheduler_asha, 1, 3, 3); /* rungs 1, 3; group of 3 */
    fresh_sched_job j[3];
    for (int i = 0; i < 3; i++)
        j[i] = expect(&s, i == 0, (uint64_t)i, 0, 0, 1, 0); /* a group fills without open_new */
    fresh_sched_job w;
    cr_assert_eq(next(&s, 0, &w), FRESH_WAIT);
    done(&s, &j[0], 2, 1);
    done(&s, &j[1], INFINITY, 0); /* failed: final */
    done(&s, &j[2], 1, 1);
    fresh_sched_job p = expect(&s, 0, 2, 0, 1, 3, 1); /* n = 3, top 1 */
    cr_assert_eq(next(&s, 0, &w), FRESH_WAIT);
    done(&s, &p, 0.5, 0); /* stopped at the top rung: final too */
    cr_assert_eq(s.type->n_finished(s.state), 0); /* config 0 could still go up */
    cr_assert_eq(next(&s, 0, &w), FRESH_DONE);
    drop(&s);

    s = make(fresh_scheduler_asha, 5, 5, 3); /* one rung: a group is 1 configuration */
    fresh_sched_job a = expect(&s, 1, 0, 0, 0, 5, 0);
    fresh_sched_job b = expect(&s, 1, 1, 1, 0, 5, 0);
    done(&s, &b, 1, 1);
    cr_assert_eq(s.type->n_finished(s.state), 1);
    done(&s, &a, 1, 1);
    cr_assert_eq(s.type->n_finished(s.state), 2);
    cr_assert_eq(s.type->n_opened(s.state), 2);
    drop(&s);
}

Test(asha, never_waits_while_it_may_open)
{
    /* 100 asks without a result: a synchronous scheduler would need none,
     * ASHA always has a job */
    sched s = make(fresh_scheduler_asha, 1, 81, 3);
    for (int i = 0; i < 100; i++) {
        fresh_sched_job j;
        cr_assert_eq(next(&s, 1, &j), FRESH_OK);
        cr_assert_eq(j.bracket, i / 81);
        cr_assert_eq(j.budget, 1);
    }
    cr_assert_eq(s.type->n_opened(s.state), 2);
    drop(&s);
}

Test(asha, bad_calls)
{
    sched s = make(fresh_scheduler_asha, 1, 9, 3);
    fresh_sched_job j;
    cr_assert_eq(s.type->next(s.state, 1, &j), FRESH_OK);
    fresh_sched_job bad = j;
    bad.slot = 7;
    cr_assert_eq(s.type->bind(s.state, &bad, 0), FRESH_EINVAL);
    cr_assert_eq(s.type->bind(s.state, &j, 0), FRESH_OK);
    cr_assert_eq(s.type->bind(s.state, &j, 1), FRESH_EINVAL); /* bound already */
    bad = j;
    bad.stage = 1;
    cr_assert_eq(s.type->finish(s.state, &bad, 1, 1, NULL), FRESH_EINVAL);
    bad = j;
    bad.bracket = 3;
    cr_assert_eq(s.type->finish(s.state, &bad, 1, 1, NULL), FRESH_EINVAL);
    cr_assert_eq(s.type->finish(s.state, &j, 1, 1, NULL), FRESH_OK);
    cr_assert_eq(s.type->finish(s.state, &j, 1, 1, NULL), FRESH_EINVAL); /* twice */
    drop(&s);
    char err[512];
    void *st = calloc(1, fresh_scheduler_asha->state_size);
    fresh_plan *plan = fresh_plan_create(); /* not computed */
    cr_assert_eq(fresh_scheduler_asha->init(st, plan, err), FRESH_EINVAL);
    fresh_scheduler_asha->destroy(st);
    free(st);
    fresh_plan_destroy(plan);
}

Test(asha, names)
{
    cr_assert_eq(fresh_scheduler_find("asha"), fresh_scheduler_asha);
    cr_assert_eq(fresh_scheduler_find("async-hyperband"), fresh_scheduler_async_hyperband);
    cr_assert_str_eq(fresh_scheduler_asha->name, "asha");
    cr_assert_str_eq(fresh_scheduler_async_hyperband->name, "async-hyperband");
    int seen = 0;
    for (size_t i = 0; fresh_scheduler_name(i); i++)
        seen += !strcmp(fresh_scheduler_name(i), "asha") +
                !strcmp(fresh_scheduler_name(i), "async-hyperband");
    cr_assert_eq(seen, 2);
}

/* 1..9, eta 3: brackets s = 2, 1, 0 with n_0 = 9, 5, 3. The smooth weighted
 * round robin (each draw: add every weight, take the largest, subtract the
 * total from it), worked by hand over one cycle of 17 draws:
 *   0 1 0 2 0 1 0 2 0 1 0 1 0 2 0 1 0
 * and then again. Ladder k starts at budget 1, 3, 9. */
Test(async_hyperband, ladder_draws)
{
    static const int want[17] = {0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 1, 0, 2, 0, 1, 0};
    static const double bottom[3] = {1, 3, 9};
    static const long size[3] = {9, 5, 3};
    sched s = make(fresh_scheduler_async_hyperband, 1, 9, 3);
    long group_of[3] = {-1, -1, -1}, fill[3] = {0, 0, 0}, groups = 0;
    int count[3] = {0, 0, 0};
    for (int d = 0; d < 34; d++) {
        int k = want[d % 17];
        if (group_of[k] < 0 || fill[k] == size[k]) { /* a new group, numbered in order */
            group_of[k] = groups++;
            fill[k] = 0;
        }
        fill[k]++;
        count[k]++;
        fresh_sched_job j = expect(&s, 1, (uint64_t)d, group_of[k], 0, bottom[k], 0);
        cr_assert_eq(j.stage_size, size[k]);
    }
    cr_assert_eq(count[0], 18);
    cr_assert_eq(count[1], 10);
    cr_assert_eq(count[2], 6);
    cr_assert_eq(s.type->n_opened(s.state), groups);
    cr_assert_eq(groups, 6);
    drop(&s);
}

/* Each ladder promotes on its own results; the promotion to the higher
 * budget goes first. */
Test(async_hyperband, independent_ladders_highest_promotion_first)
{
    sched s = make(fresh_scheduler_async_hyperband, 1, 9, 3);
    /* draws 0 1 0 2 0 1 0 2 0 1 0 1 ...: ladder 0 gets ids 0 2 4 6 8,
     * ladder 1 gets 1 5 9, ladder 2 gets 3 7 */
    fresh_sched_job j[12];
    for (int d = 0; d < 10; d++) {
        int rc = next(&s, 1, &j[d]);
        cr_assert_eq(rc, FRESH_OK);
    }
    cr_assert_eq(j[1].budget, 3);
    cr_assert_eq(j[3].budget, 9);
    cr_assert_eq(j[3].quota, 0); /* ladder 2 has one rung */
    /* ladder 0: 0, 2, 4 (losses 3 2 1); ladder 1: 1, 5, 9 (losses 1 2 3) */
    done(&s, &j[0], 3, 1);
    done(&s, &j[2], 2, 1);
    done(&s, &j[4], 1, 1);
    done(&s, &j[1], 1, 1);
    done(&s, &j[5], 2, 1);
    done(&s, &j[9], 3, 1);
    /* both promote: ladder 1's config 1 to 9 first, then ladder 0's 4 to 3.
     * Ladder 1's rung 1 (budget 9) is its top. */
    fresh_sched_job a = expect(&s, 1, 1, 1, 1, 9, 3);
    cr_assert_eq(a.quota, 0);
    expect(&s, 1, 4, 0, 1, 3, 1);
    /* the results of one ladder never count on another: ladder 2's
     * configurations at budget 9 do not make ladder 1's rung 1 promote */
    done(&s, &j[3], 0.1, 1);
    done(&s, &j[7], 0.2, 1);
    expect(&s, 1, 10, 0, 0, 1, 0); /* draw 11: ladder 0, its group 0 */
    expect(&s, 1, 11, 1, 0, 3, 0); /* draw 12: ladder 1, its group 1 (4 of 5) */
    drop(&s);
}

/* async-adaptive: configurations that ran from scratch to the maximum
 * budget (ladder 2) and reported at rungs 1 and 3 rank in reverse at rung 1
 * and alike at rung 3: after FRESH_ADAPTIVE_MIN_PAIRS of them the round
 * robin leaves ladder 0 (first budget 1) out and keeps ladder 1. Plain
 * async-hyperband keeps drawing ladder 0. */
static int ladder0_draws_after_pairs(const fresh_scheduler_type *type)
{
    sched s = make(type, 1, 9, 3);
    int pairs = 0, ladder0_after = 0, ladder1_after = 0;
    for (int d = 0; d < 200 && ladder1_after < 10; d++) {
        fresh_sched_job j;
        cr_assert_eq(next(&s, 1, &j), FRESH_OK);
        if (pairs >= FRESH_ADAPTIVE_MIN_PAIRS) {
            ladder0_after += j.budget == 1;
            ladder1_after += j.budget == 3;
        }
        if (j.budget != 9)
            continue; /* the others keep running: nothing to promote */
        double final = (double)pairs;
        double rung[3] = {100.0 - final, final, final}; /* rung 1 reversed, rung 3 alike */
        cr_assert_eq(s.type->finish(s.state, &j, final, 1, rung), FRESH_OK);
        pairs++;
    }
    cr_assert_eq(ladder1_after, 10);
    drop(&s);
    return ladder0_after;
}

Test(async_hyperband, adaptive_leaves_out_a_misleading_first_rung)
{
    cr_assert_eq(ladder0_draws_after_pairs(fresh_scheduler_async_adaptive), 0);
    cr_assert_gt(ladder0_draws_after_pairs(fresh_scheduler_async_hyperband), 10);
}

/* One script, with and without a limit of 2 paused results per rung (1..9,
 * eta 3: rungs 1, 3, 9; a group is 9 configurations). Returns the config id
 * of the job after the script's 12 rung-0 results: the limit retires
 * configs 0 and 3, which ASHA as published promotes later. */
static uint64_t paused_script(size_t max_paused)
{
    sched s = make(fresh_scheduler_asha, 1, 9, 3);
    const fresh_scheduler_type *T = s.type;
    cr_assert_eq(T->set_options(s.state, NULL), FRESH_EINVAL);
    options(&s, max_paused, 1);
    fresh_sched_job j[12], p[3];
    for (int i = 0; i < 3; i++)
        j[i] = expect(&s, 1, (uint64_t)i, 0, 0, 1, 0);
    cr_assert_eq(T->config_final(s.state, &j[0]), 0); /* running */
    done(&s, &j[0], 5, 1);
    done(&s, &j[1], 3, 1);
    cr_assert_eq(T->config_final(s.state, &j[0]), 0); /* paused, eligible */
    done(&s, &j[2], 4, 1);
    /* 3 paused > 2: the last of them, config 0 (loss 5), is retired */
    cr_assert_eq(T->config_final(s.state, &j[0]), max_paused == 2);
    cr_assert_eq(T->config_final(s.state, &j[2]), 0);
    p[0] = expect(&s, 1, 1, 0, 1, 3, 1); /* n = 3, top 1: config 1 */
    cr_assert_eq(T->config_final(s.state, &p[0]), 0);
    j[3] = expect(&s, 1, 3, 0, 0, 1, 0);
    done(&s, &j[3], 4.5, 1); /* paused: 2 (4), 3 (4.5); n = 4, top 1: promoted */
    cr_assert_eq(T->config_final(s.state, &j[3]), 0);
    j[4] = expect(&s, 1, 4, 0, 0, 1, 0);
    done(&s, &j[4], 1, 1); /* paused 4 (1), 2, 3: config 3 retired */
    cr_assert_eq(T->config_final(s.state, &j[3]), max_paused == 2);
    p[1] = expect(&s, 1, 4, 0, 1, 3, 1); /* n = 5, top 1: config 4 ranks 0 */
    for (int i = 5; i < 9; i++) { /* the group's last four fail: final */
        j[i] = expect(&s, 1, (uint64_t)i, 0, 0, 1, 0);
        done(&s, &j[i], INFINITY, 0);
        cr_assert_eq(T->config_final(s.state, &j[i]), 1);
    }
    p[2] = expect(&s, 1, 2, 0, 1, 3, 1); /* n = 9, top 3: config 2 ranks 2 */
    for (int i = 9; i < 12; i++) { /* group 1: three more failures, n = 12 */
        j[i] = expect(&s, 1, (uint64_t)i, 1, 0, 1, 0);
        done(&s, &j[i], INFINITY, 0);
    }
    /* top 4: config 3 (4.5) ranks 3 among the results, unless retired; the
     * retired results still count in n, so the ranks of the others stand */
    fresh_sched_job nx;
    cr_assert_eq(next(&s, 1, &nx), FRESH_OK);
    /* final: group 0 = 0 and 3 retired (with the limit) + 5..8 failed;
     * 1, 2 and 4 run at rung 1 */
    cr_assert_eq(T->n_finished(s.state), 0);
    fresh_sched_job unknown = j[0];
    unknown.config_id = 77;
    cr_assert_eq(T->config_final(s.state, &unknown), 0);
    drop(&s);
    return nx.stage == 1 ? nx.config_id : FRESH_SCHED_NEW;
}

Test(asha, max_paused_retires_the_last_paused_results)
{
    /* ASHA as published promotes config 3 after the failures; with the
     * limit it was retired and a new configuration starts instead */
    cr_assert_eq(paused_script(0), 3);
    cr_assert_eq(paused_script(2), FRESH_SCHED_NEW);
}

Test(asha, max_paused_ends_the_study_sooner_and_is_offered_by_async_only)
{
    /* 1..3, eta 3: rungs 1, 3; groups of 3. With a limit of 1 every paused
     * result but the best is retired: once the best is promoted and done
     * nothing can run (without the limit config 0 could still go up, see
     * groups_finish_and_open_new_zero); the group does not count as
     * finished (that takes the top rung or a failure for each). */
    sched s = make(fresh_scheduler_asha, 1, 3, 3);
    options(&s, 1, 0);
    fresh_sched_job j[3];
    for (int i = 0; i < 3; i++)
        j[i] = expect(&s, 1, (uint64_t)i, 0, 0, 1, 0);
    done(&s, &j[0], 2, 1);
    done(&s, &j[1], 3, 1); /* retired */
    done(&s, &j[2], 1, 1); /* config 0 retired */
    cr_assert_eq(s.type->config_final(s.state, &j[0]), 1);
    cr_assert_eq(s.type->config_final(s.state, &j[1]), 1);
    fresh_sched_job p = expect(&s, 0, 2, 0, 1, 3, 1);
    cr_assert_eq(s.type->n_finished(s.state), 0);
    done(&s, &p, 0.5, 1);
    cr_assert_eq(s.type->config_final(s.state, &p), 1);
    cr_assert_eq(s.type->n_finished(s.state), 0);
    fresh_sched_job w;
    cr_assert_eq(next(&s, 0, &w), FRESH_DONE);
    drop(&s);

    /* the limit must come before the first job */
    s = make(fresh_scheduler_async_hyperband, 1, 9, 3);
    cr_assert_eq(next(&s, 1, &w), FRESH_OK);
    fresh_sched_options o4 = {4, 0};
    cr_assert_eq(s.type->set_options(s.state, &o4), FRESH_EINVAL);
    drop(&s);
    cr_assert_not_null(fresh_scheduler_async_adaptive->set_options);
    cr_assert_not_null(fresh_scheduler_async_adaptive->config_final);
    cr_assert_null(fresh_scheduler_hyperband->set_options);
    cr_assert_null(fresh_scheduler_adaptive->config_final);
}

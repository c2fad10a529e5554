/*
 * mpi.c - the study over MPI (fresh/mpi.h): rank 0 schedules, every other
 * rank evaluates.
 *
 * DESIGN
 * Rank 0 is fresh_study_optimize() with ranks in place of pool workers: it
 * asks the study for a job while a rank is free, sends it, and tells the
 * study each result; the scheduler, sampler, early-stopping tables and the
 * study file never leave rank 0 (lib/study.c's ask/tell and the few hooks
 * of lib/study_internal.h). An evaluating rank waits for a job, builds a
 * stand-alone trial (no study) whose reports go through `remote_report`,
 * runs the objective and sends back everything the owner's trial would
 * hold at tell: return code, failure and message, loss, stop bits, every
 * report, the checkpoint and the run time. Rank 0 copies that onto its trial
 * (fresh__trial_apply_remote) and tells it, so tell's rules (failed,
 * stopped, completed; cost; sampler observations) are the threaded ones.
 *
 * Messages (on a duplicate of the caller's communicator, so tags cannot
 * clash with the application's), all packed byte buffers:
 *   0 -> r  JOB     ids, seed, budget, resume point, time limit, whether the
 *                   stage has an early-stopping table, x, the rung budgets,
 *                   checkpoint
 *   r -> 0  REPORT  (job, step, loss) of a job with a table, step < budget
 *   0 -> r  DECIDE  (job, stop bits) from fresh__trial_decide on rank 0
 *   0 -> r  STOP    (job): the study is stopping (wall time, target, force
 *                   stop); read by the rank at its next report
 *   r -> 0  RESULT  the outcome, reports and checkpoint
 *   0 -> r  QUIT    rank 0's return value; the rank returns it
 * Messages between two ranks arrive in order (MPI's non-overtaking rule),
 * so a STOP or DECIDE for a finished job is recognised by its job id and
 * dropped.
 *
 * Waiting: MPI_Iprobe in a loop that backs off from spinning to sleeps of
 * up to NAP_RANK (NAP_OWNER on rank 0, which answers everyone), so that
 * idle ranks on an oversubscribed node leave the cores to the ranks that
 * work (Open MPI's blocking receive spins). Measured in bench/mpi-scaling.sh:
 * shorter sleeps on the evaluating ranks cost more in CPU shared with rank
 * 0 than they save in latency once 64 ranks share two cores.
 *
 * Rank 0 starts the study's clock once every rank has joined and received
 * the space (launch skew is not the study's time; fresh_mpi_stats.setup).
 *
 * A rank that does not answer by its job's deadline plus a grace period is
 * given up on: rank 0 sets the job's time-limit flag (fresh_trial_should_stop
 * past the deadline) and tells it, so it is recorded like a job over its time
 * limit; the rank gets no more jobs until its late result arrives, which is
 * dropped. Its reports meanwhile get a stop decision.
 */
#include "fresh/mpi.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fresh/space.h"
#include "study_internal.h"

enum { TAG_JOB = 1, TAG_REPORT, TAG_DECIDE, TAG_STOP, TAG_RESULT, TAG_QUIT };

#define WAIT_SPINS 16
#define NAP_RANK 1e-3        /* longest sleep of an evaluating rank between probes (s) */
#define NAP_OWNER 1e-4       /* of rank 0 */
#define WAIT_RECHECK 0.05    /* rank 0 re-checks the stopping criteria this often */
#define MSG_LEN 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waits until a message from src with tag (MPI_ANY_* allowed) can be
 * received, or timeout seconds pass (< 0: no limit), sleeping at most
 * max_nap seconds between probes. 1 with *st filled, or 0 on timeout. */
static int wait_msg(MPI_Comm comm, int src, int tag, double timeout, double max_nap,
                    MPI_Status *st)
{
    double t0 = timeout >= 0 ? now() : 0, nap = 2e-6;
    for (int i = 0;; i++) {
        int flag = 0;
        MPI_Iprobe(src, tag, comm, &flag, st);
        if (flag)
            return 1;
        if (timeout >= 0 && now() - t0 >= timeout)
            return 0;
        if (i < WAIT_SPINS)
            continue;
        struct timespec ts = {0, (long)(nap * 1e9)};
        nanosleep(&ts, NULL);
        nap = nap * 2 < max_nap ? nap * 2 : max_nap;
    }
}

/* ---- packed buffers ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap, pos;
    int oom;
} buf;

static void put(buf *b, const void *data, size_t len)
{
    if (b->oom || len == 0)
        return;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

/* Copies len bytes at the read position into out; 0, or -1 past the end. */
static int get(buf *b, void *out, size_t len)
{
    if (len > b->n - b->pos)
        return -1;
    memcpy(out, b->p + b->pos, len);
    b->pos += len;
    return 0;
}

/* Receives the probed message *st into b (its whole length). A message
 * that cannot be received for want of memory cannot be skipped either (MPI
 * needs a buffer for it): the MPI job is aborted, as a crash would, and the
 * study file resumes it (docs/mpi.md). */
static void recv_buf(MPI_Comm comm, const MPI_Status *st, buf *b)
{
    int count = 0, rank = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    b->n = b->pos = 0;
    if ((size_t)count > b->cap) {
        unsigned char *p = realloc(b->p, (size_t)count);
        if (!p) {
            MPI_Comm_rank(comm, &rank);
            fprintf(stderr, "fresh: rank %d: out of memory receiving %d bytes; aborting\n", rank,
                    count);
            MPI_Abort(comm, 1);
        }
        b->p = p;
        b->cap = (size_t)count;
    }
    MPI_Recv(b->p, count, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, comm, MPI_STATUS_IGNORE);
    b->n = (size_t)count;
}

static void send_buf(MPI_Comm comm, int dest, int tag, const buf *b)
{
    MPI_Send(b->p, (int)b->n, MPI_BYTE, dest, tag, comm);
}

/* A message of one job id (STOP) or job id + bits (DECIDE). */
typedef struct small_msg {
    uint64_t job;
    uint32_t bits;
    double step, loss; /* REPORT */
} small_msg;

/* The fixed part of a RESULT. */
typedef struct result_head {
    uint64_t job, n_rep, ckpt_len, n_rtt;
    int32_t rc, failed, has_loss, ckpt_saved;
    uint32_t stop, pad;
    double loss, run_seconds, rtt_sum, rtt_max;
    char message[MSG_LEN];
} result_head;

/* The fixed part of a JOB. */
typedef struct job_head {
    uint64_t job, config, seed, dim, n_rungs, ckpt_len;
    double budget, resume_from, time_limit;
    int32_t has_table, pad;
} job_head;

void fresh_mpi_params_default(fresh_mpi_params *p)
{
    if (p)
        p->answer_grace = -1;
}

/* ------------------------------------------------------ evaluating ranks */

typedef struct worker {
    MPI_Comm comm;
    int rank;
    const fresh_space *space;
    buf in;
    uint64_t job;
    int has_table;
    double budget;
    int quit, quit_status;
    double rtt_sum, rtt_max;
    uint64_t n_rtt;
} worker;

/* A message from rank 0 while a job runs: STOP for this job stops it,
 * QUIT (rank 0 is done: this rank was given up on) stops it and ends the
 * rank after the job; anything else is stale. Returns the STOP bits. */
static unsigned take_control(worker *w, const MPI_Status *st, small_msg *m)
{
    recv_buf(w->comm, st, &w->in);
    if (st->MPI_TAG == TAG_QUIT) {
        int32_t status = FRESH_ESTATE;
        get(&w->in, &status, sizeof status);
        w->quit = 1;
        w->quit_status = status;
        return STOP_STUDY;
    }
    if (get(&w->in, m, sizeof *m) == 0 && m->job == w->job && st->MPI_TAG == TAG_STOP)
        return STOP_STUDY;
    return 0;
}

static unsigned remote_report(fresh_trial *t, double step, double loss, void *ctx)
{
    worker *w = ctx;
    unsigned bits = 0;
    MPI_Status st;
    int flag = 0;
    small_msg m;
    if (w->quit)
        return STOP_STUDY;
    /* a stop already sent by rank 0 */
    for (;;) {
        MPI_Iprobe(0, MPI_ANY_TAG, w->comm, &flag, &st);
        if (!flag || st.MPI_TAG == TAG_DECIDE || st.MPI_TAG == TAG_JOB)
            break;
        bits |= take_control(w, &st, &m);
    }
    if (bits || !w->has_table || !(step < w->budget))
        return bits;
    memset(&m, 0, sizeof m);
    m.job = w->job;
    m.step = step;
    m.loss = loss;
    double t0 = now();
    MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, TAG_REPORT, w->comm);
    for (;;) {
        wait_msg(w->comm, 0, MPI_ANY_TAG, -1, NAP_RANK, &st);
        if (st.MPI_TAG != TAG_DECIDE) {
            bits |= take_control(w, &st, &m);
            if (w->quit)
                return bits;
            continue;
        }
        recv_buf(w->comm, &st, &w->in);
        if (get(&w->in, &m, sizeof m) == 0 && m.job == w->job)
            break;
    }
    double rtt = now() - t0;
    w->rtt_sum += rtt;
    if (rtt > w->rtt_max)
        w->rtt_max = rtt;
    w->n_rtt++;
    (void)t;
    return bits | m.bits;
}

/* Runs the job in w->in; sends the RESULT. */
static void run_job(worker *w, fresh_objective objective, void *user)
{
    job_head h;
    buf out = {0};
    result_head r;
    memset(&r, 0, sizeof r);
    double *x = NULL;
    const void *ckpt = NULL;
    fresh_trial *t = NULL;
    size_t dim = fresh_space_dim(w->space);
    if (get(&w->in, &h, sizeof h) != 0 || h.dim != dim || h.n_rungs > FRESH_PLAN_MAX_STAGES ||
        h.ckpt_len > w->in.n - w->in.pos ||
        (dim + h.n_rungs) * sizeof *x > w->in.n - w->in.pos - h.ckpt_len) {
        r.job = h.job;
        r.rc = FRESH_EPARSE;
        r.failed = 1;
        snprintf(r.message, sizeof r.message, "rank %d: malformed job message", w->rank);
        goto send;
    }
    r.job = h.job;
    x = malloc(dim * sizeof *x);
    t = fresh__trial_new();
    if (!x || !t) {
        r.rc = FRESH_ENOMEM;
        r.failed = 1;
        snprintf(r.message, sizeof r.message, "rank %d: out of memory for the job", w->rank);
        goto send;
    }
    get(&w->in, x, dim * sizeof *x);
    double rungs[FRESH_PLAN_MAX_STAGES];
    get(&w->in, rungs, (size_t)h.n_rungs * sizeof *rungs);
    ckpt = h.ckpt_len ? w->in.p + w->in.pos : NULL;
    w->job = h.job;
    w->has_table = h.has_table;
    w->budget = h.budget;
    w->rtt_sum = w->rtt_max = 0;
    w->n_rtt = 0;
    t->space = w->space;
    t->job_id = h.job;
    t->job_index = (size_t)h.job;
    t->config_id = h.config;
    t->seed = h.seed;
    t->x = x;
    t->budget = h.budget;
    t->resume_from = h.resume_from;
    t->rungs = rungs;
    t->n_rungs = (size_t)h.n_rungs;
    t->ckpt_in = ckpt;
    t->ckpt_in_len = (size_t)h.ckpt_len;
    t->job_time_limit = h.time_limit;
    t->remote = remote_report;
    t->remote_ctx = w;
    double t0 = now();
    fresh__trial_start_clock(t);
    int rc = objective(t, user);
    r.run_seconds = now() - t0;
    r.rc = rc;
    r.failed = t->failed;
    memcpy(r.message, t->message, sizeof r.message < sizeof t->message ? sizeof r.message
                                                                       : sizeof t->message);
    r.message[MSG_LEN - 1] = '\0';
    r.has_loss = t->has_loss;
    r.loss = t->loss;
    r.stop = atomic_load(&t->stop);
    r.n_rep = t->n_rep;
    r.ckpt_saved = t->ckpt_saved;
    r.ckpt_len = t->ckpt_out_len;
    r.rtt_sum = w->rtt_sum;
    r.rtt_max = w->rtt_max;
    r.n_rtt = w->n_rtt;
    if (r.ckpt_len > (uint64_t)INT_MAX / 2) {
        r.ckpt_saved = 0;
        r.ckpt_len = 0;
        r.failed = 1;
        r.rc = r.rc ? r.rc : FRESH_EINVAL;
        snprintf(r.message, sizeof r.message,
                 "rank %d: checkpoint of %zu bytes is too large to send (at most 1 GiB): keep "
                 "it in a shared directory and checkpoint its path",
                 w->rank, t->ckpt_out_len);
    }
send:
    put(&out, &r, sizeof r);
    if (t) {
        put(&out, t->rep_steps, r.n_rep * sizeof(double));
        put(&out, t->rep_losses, r.n_rep * sizeof(double));
        if (r.ckpt_saved)
            put(&out, t->ckpt_out, (size_t)r.ckpt_len);
    }
    if (out.oom) { /* send what says why */
        out.n = 0;
        out.oom = 0;
        r.n_rep = 0;
        r.ckpt_saved = 0;
        r.failed = 1;
        r.rc = r.rc ? r.rc : FRESH_ENOMEM;
        snprintf(r.message, sizeof r.message, "rank %d: out of memory sending the result",
                 w->rank);
        out.p = (unsigned char *)&r;
        out.n = sizeof r;
        send_buf(w->comm, 0, TAG_RESULT, &out);
        out.p = NULL;
    } else if (!w->quit) { /* after a QUIT rank 0 receives nothing more */
        send_buf(w->comm, 0, TAG_RESULT, &out);
    }
    free(out.p);
    fresh__trial_release(t);
    free(x);
}

static int worker_loop(MPI_Comm comm, int rank, const fresh_space *space,
                       fresh_objective objective, void *user)
{
    worker w;
    memset(&w, 0, sizeof w);
    w.comm = comm;
    w.rank = rank;
    w.space = space;
    while (!w.quit) {
        MPI_Status st;
        wait_msg(comm, 0, MPI_ANY_TAG, -1, NAP_RANK, &st);
        if (st.MPI_TAG == TAG_JOB) {
            recv_buf(comm, &st, &w.in);
            run_job(&w, objective, user);
        } else {
            small_msg m;
            take_control(&w, &st, &m); /* QUIT, or a stale STOP/DECIDE */
        }
    }
    free(w.in.p);
    return w.quit_status;
}

/* ------------------------------------------------------------------ rank 0 */

typedef struct rank_slot {
    fresh_trial *t;    /* the job it runs; NULL when free or given up on */
    double give_up;    /* absolute time; 0 = never */
    int lost;          /* given up on: no jobs until its late result */
} rank_slot;

typedef struct owner {
    fresh_study *s;
    MPI_Comm comm;
    int size;
    rank_slot *slots;
    int *free_q;       /* FIFO of free ranks */
    int q_head, q_len;
    int busy;
    double grace;
    int end;
    buf in, out;
    fresh_mpi_stats *st;
    double rtt_sum;
    uint64_t n_rtt;
} owner;

static void push_free(owner *o, int r)
{
    o->free_q[(o->q_head + o->q_len) % o->size] = r;
    o->q_len++;
}

static int pop_free(owner *o)
{
    int r = o->free_q[o->q_head];
    o->q_head = (o->q_head + 1) % o->size;
    o->q_len--;
    return r;
}

/* Running jobs are asked to stop: the study's flags and a STOP to each rank. */
static void stop_all(owner *o)
{
    fresh__study_stop_running(o->s);
    for (int r = 1; r < o->size; r++)
        if (o->slots[r].t) {
            small_msg m;
            memset(&m, 0, sizeof m);
            m.job = o->slots[r].t->job_id;
            MPI_Send(&m, (int)sizeof m, MPI_BYTE, r, TAG_STOP, o->comm);
        }
}

static void set_end(owner *o, int end)
{
    if (o->end)
        return;
    o->end = end;
    if (end != FRESH_BUDGET_REACHED && end != FRESH_BRACKETS_DONE)
        stop_all(o); /* wall time, target, force stop, errors: running jobs stop too */
}

static void tell(owner *o, int r)
{
    fresh_trial *t = o->slots[r].t;
    o->slots[r].t = NULL;
    o->slots[r].give_up = 0;
    o->busy--;
    int tr = fresh_study_tell(o->s, t);
    if (tr < 0)
        set_end(o, tr);
}

static int send_job(owner *o, fresh_trial *t)
{
    int r = pop_free(o);
    job_head h;
    memset(&h, 0, sizeof h);
    size_t len = 0;
    const void *ckpt = fresh_trial_checkpoint(t, &len);
    h.job = t->job_id;
    h.config = t->config_id;
    h.seed = t->seed;
    h.dim = fresh_space_dim(t->space);
    h.n_rungs = t->n_rungs;
    h.ckpt_len = len;
    h.budget = t->budget;
    h.resume_from = t->resume_from;
    h.time_limit = t->job_time_limit;
    h.has_table = t->table != NULL;
    o->out.n = 0;
    put(&o->out, &h, sizeof h);
    put(&o->out, t->x, (size_t)h.dim * sizeof *t->x);
    put(&o->out, t->rungs, t->n_rungs * sizeof *t->rungs);
    put(&o->out, ckpt, len);
    if (o->out.oom || o->out.n > (size_t)INT_MAX) {
        o->out.oom = 0;
        push_free(o, r);
        fresh_trial_fail(t, o->out.n > (size_t)INT_MAX
                                ? "checkpoint too large to send over MPI (at most 1 GiB)"
                                : "out of memory sending the job");
        t->rc = FRESH_ENOMEM;
        int tr = fresh_study_tell(o->s, t);
        if (tr < 0)
            set_end(o, tr);
        return FRESH_OK;
    }
    send_buf(o->comm, r, TAG_JOB, &o->out);
    o->slots[r].t = t;
    o->slots[r].give_up = 0;
    if (t->job_time_limit > 0)
        o->slots[r].give_up =
            now() + t->job_time_limit + (o->grace >= 0 ? o->grace : 1 + 0.25 * t->job_time_limit);
    o->busy++;
    o->st->jobs++;
    return FRESH_OK;
}

static void on_report(owner *o, int r, const small_msg *m)
{
    small_msg d;
    memset(&d, 0, sizeof d);
    d.job = m->job;
    fresh_trial *t = o->slots[r].t;
    if (t && t->job_id == m->job) {
        d.bits = fresh__trial_decide(t, m->step, m->loss);
        o->st->reports_decided++;
    } else {
        d.bits = STOP_STUDY; /* a job given up on: stop it */
    }
    MPI_Send(&d, (int)sizeof d, MPI_BYTE, r, TAG_DECIDE, o->comm);
}

static void on_result(owner *o, int r)
{
    result_head h;
    fresh_trial *t = o->slots[r].t;
    if (get(&o->in, &h, sizeof h) != 0 || !t || t->job_id != h.job) {
        if (!t && o->slots[r].lost) { /* a late result: the job was recorded as timed out */
            o->slots[r].lost = 0;
            o->st->late_results++;
            push_free(o, r);
        } else if (t) { /* unreadable: the job failed, the rank is free */
            fresh_trial_fail(t, "malformed or lost result from its rank");
            t->rc = FRESH_EPARSE;
            tell(o, r);
            push_free(o, r);
        }
        return;
    }
    size_t nrep = (size_t)h.n_rep;
    int ok = nrep <= (o->in.n - o->in.pos) / (2 * sizeof(double)) &&
             h.ckpt_len <= o->in.n - o->in.pos - 2 * nrep * sizeof(double);
    h.message[MSG_LEN - 1] = '\0';
    if (ok) {
        const double *steps = (const double *)(o->in.p + o->in.pos);
        fresh__remote_outcome oc = {h.rc, h.failed, h.message, h.has_loss, h.loss, h.stop,
                                    nrep, NULL, NULL, h.ckpt_saved, NULL, (size_t)h.ckpt_len,
                                    h.run_seconds, r};
        /* the payload may be unaligned for doubles: copy it out */
        double *rep = nrep ? malloc(2 * nrep * sizeof *rep) : NULL;
        if (nrep && !rep) {
            fresh_trial_fail(t, "out of memory receiving the result");
            t->rc = FRESH_ENOMEM;
        } else {
            memcpy(rep, steps, 2 * nrep * sizeof *rep);
            oc.steps = rep;
            oc.losses = rep ? rep + nrep : NULL;
            oc.ckpt = o->in.p + o->in.pos + 2 * nrep * sizeof(double);
            if (fresh__trial_apply_remote(t, &oc) != FRESH_OK) {
                fresh_trial_fail(t, "out of memory receiving the result");
                t->rc = FRESH_ENOMEM;
            }
        }
        free(rep);
        o->rtt_sum += h.rtt_sum;
        o->n_rtt += h.n_rtt;
        if (h.rtt_max > o->st->report_rtt_max)
            o->st->report_rtt_max = h.rtt_max;
    } else {
        fresh_trial_fail(t, h.failed ? h.message : "malformed result from its rank");
        t->rc = h.rc ? h.rc : FRESH_EPARSE;
    }
    tell(o, r);
    push_free(o, r);
}

/* Ranks past their job's deadline and grace: the job is recorded as timed
 * out, the rank is set aside. */
static void give_up_late(owner *o)
{
    double t_now = now();
    for (int r = 1; r < o->size; r++) {
        rank_slot *sl = &o->slots[r];
        if (!sl->t || sl->give_up <= 0 || t_now < sl->give_up)
            continue;
        fresh_trial_should_stop(sl->t); /* past the deadline: sets the time-limit flag */
        sl->lost = 1;
        o->st->ranks_lost++;
        tell(o, r);
    }
}

/* The next wait's limit: wall time left, the nearest give-up, a re-check. */
static double wait_limit(owner *o)
{
    double lim = WAIT_RECHECK, t_now = now();
    for (int r = 1; r < o->size; r++)
        if (o->slots[r].t && o->slots[r].give_up > 0 && o->slots[r].give_up - t_now < lim)
            lim = o->slots[r].give_up - t_now;
    return lim > 0 ? lim : 0;
}

static int owner_loop(owner *o)
{
    fresh_study *s = o->s;
    for (int r = 1; r < o->size; r++)
        push_free(o, r);
    double idle = 0, t_start = now();
    for (;;) {
        if (!o->end) {
            int e = fresh__study_ending(s);
            if (e)
                set_end(o, e);
        }
        /* jobs that were running when an earlier process died run first,
         * even if a budget or bracket criterion holds (the uninterrupted
         * study ran them); not after a stop (they stay requeued) */
        while (o->q_len > 0 && (!o->end || (fresh__study_requeued(s) > 0 &&
                                            (o->end == FRESH_BUDGET_REACHED ||
                                             o->end == FRESH_BRACKETS_DONE)))) {
            fresh_trial *t = NULL;
            int r = fresh_study_ask(s, &t);
            if (r == FRESH_OK) {
                send_job(o, t);
                continue;
            }
            if (r != FRESH_WAIT)
                set_end(o, r);
            break;
        }
        if (o->busy == 0)
            break;
        MPI_Status st;
        double t0 = now();
        int got = wait_msg(o->comm, MPI_ANY_SOURCE, MPI_ANY_TAG, wait_limit(o), NAP_OWNER, &st);
        idle += now() - t0;
        /* every message that is there, before the next asks: reports wait
         * for their decision, and results free ranks */
        while (got) {
            int r = st.MPI_SOURCE;
            recv_buf(o->comm, &st, &o->in);
            if (st.MPI_TAG == TAG_REPORT) {
                small_msg m;
                if (get(&o->in, &m, sizeof m) == 0)
                    on_report(o, r, &m);
            } else if (st.MPI_TAG == TAG_RESULT) {
                on_result(o, r);
            }
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, o->comm, &got, &st);
        }
        give_up_late(o);
    }
    o->st->wall = now() - t_start;
    o->st->rank0_busy = o->st->wall - idle;
    return o->end ? o->end : FRESH_BRACKETS_DONE;
}

/* ------------------------------------------------------------ the call */

enum { BAD_NONE = 0, BAD_SIZE, BAD_STUDY_MISSING, BAD_STUDY_GIVEN, BAD_OBJECTIVE, BAD_STATE };

static const char *bad_text(int why)
{
    switch (why) {
    case BAD_SIZE: return "needs at least 2 ranks (rank 0 schedules, the others evaluate)";
    case BAD_STUDY_MISSING: return "rank 0 needs the study";
    case BAD_STUDY_GIVEN: return "only rank 0 passes a study; the other ranks pass NULL";
    case BAD_OBJECTIVE: return "objective: NULL";
    default: return "the study cannot run now";
    }
}

int fresh_study_optimize_mpi(fresh_study *study, fresh_objective objective, void *user,
                             MPI_Comm comm)
{
    return fresh_study_optimize_mpi_ex(study, objective, user, comm, NULL, NULL);
}

int fresh_study_optimize_mpi_ex(fresh_study *study, fresh_objective objective, void *user,
                                MPI_Comm comm_in, const fresh_mpi_params *params,
                                fresh_mpi_stats *stats)
{
    double t_call = now();
    fresh_mpi_stats local_stats;
    fresh_mpi_stats *stp = stats ? stats : &local_stats;
    memset(stp, 0, sizeof *stp);
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (!inited || finalized)
        return study ? fresh__study_error(study, FRESH_ESTATE, "MPI is not initialized")
                     : FRESH_ESTATE;
    int rank = 0, size = 0;
    MPI_Comm_rank(comm_in, &rank);
    MPI_Comm_size(comm_in, &size);
    stp->ranks = size;

    /* every rank checks its arguments; all agree before anything runs */
    int why = BAD_NONE, begin_rc = FRESH_EINVAL;
    if (size < 2)
        why = BAD_SIZE;
    else if (!objective && rank != 0)
        why = BAD_OBJECTIVE;
    else if (rank == 0 && !study)
        why = BAD_STUDY_MISSING;
    else if (rank != 0 && study)
        why = BAD_STUDY_GIVEN;
    else if (rank == 0 && (begin_rc = fresh__study_can_run(study)) != FRESH_OK)
        why = BAD_STATE;
    int code = why ? rank * 8 + why : INT_MAX, first = INT_MAX;
    MPI_Allreduce(&code, &first, 1, MPI_INT, MPI_MIN, comm_in);
    if (first != INT_MAX) {
        if (rank == 0 && why == BAD_STATE)
            return begin_rc; /* with run_begin's message */
        if (rank == 0 && study) {
            char msg[160];
            if (first % 8 == BAD_SIZE)
                snprintf(msg, sizeof msg, "%s", bad_text(BAD_SIZE));
            else
                snprintf(msg, sizeof msg, "rank %d: %s", first / 8, bad_text(first % 8));
            return fresh__study_error(study, FRESH_EINVAL, msg);
        }
        return first % 8 == BAD_STATE ? FRESH_ESTATE : FRESH_EINVAL;
    }

    MPI_Comm comm;
    MPI_Comm_dup(comm_in, &comm);
    /* the space travels as JSON */
    char *json = NULL;
    uint64_t len = 0;
    if (rank == 0 && fresh_space_write_json(fresh__study_space(study), &json) == FRESH_OK)
        len = strlen(json) + 1;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    int status = FRESH_OK;
    fresh_space *space = NULL;
    if (len == 0) {
        status = FRESH_ENOMEM;
    } else {
        if (rank != 0)
            json = malloc((size_t)len);
        int have = json != NULL, all = 0;
        MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, comm);
        if (!all) {
            status = FRESH_ENOMEM;
        } else {
            MPI_Bcast(json, (int)len, MPI_CHAR, 0, comm);
            if (rank != 0) {
                space = fresh_space_create();
                if (!space)
                    status = FRESH_ENOMEM;
                else if (fresh_space_read_json_string(space, json, "the study's space") != FRESH_OK)
                    status = FRESH_EPARSE;
            }
            int worst = status;
            MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MIN, comm);
            status = worst;
        }
    }
    free(json);
    if (status == FRESH_OK) {
        if (rank == 0) {
            /* the study's clock starts when every rank is there and has the
             * space: launch skew is not the study's time */
            stp->setup = now() - t_call;
            fresh__study_run_begin(study, (size_t)(size - 1));
            owner o;
            memset(&o, 0, sizeof o);
            o.s = study;
            o.comm = comm;
            o.size = size;
            o.grace = params ? params->answer_grace : -1;
            o.st = stp;
            o.slots = calloc((size_t)size, sizeof *o.slots);
            o.free_q = calloc((size_t)size, sizeof *o.free_q);
            if (!o.slots || !o.free_q)
                status = fresh__study_error(study, FRESH_ENOMEM, "out of memory");
            else
                status = owner_loop(&o);
            fresh__study_run_end(study);
            stp->report_rtt_mean = o.n_rtt ? o.rtt_sum / (double)o.n_rtt : 0;
            stp->jobs_per_second_max =
                stp->rank0_busy > 0 ? (double)stp->jobs / stp->rank0_busy : 0;
            free(o.slots);
            free(o.free_q);
            free(o.in.p);
            free(o.out.p);
            int32_t q = status;
            for (int r = 1; r < size; r++)
                MPI_Send(&q, (int)sizeof q, MPI_BYTE, r, TAG_QUIT, comm);
        } else {
            status = worker_loop(comm, rank, space, objective, user);
        }
    } else if (rank == 0) {
        fresh__study_error(study, status, status == FRESH_EPARSE
                                              ? "the study's space could not be rebuilt on a rank"
                                              : "out of memory sending the space");
    }
    fresh_space_destroy(space);
    MPI_Comm_free(&comm);
    return status;
}

/*
 * storage.h - durable study storage (internal). All sqlite3 calls live in
 * storage_sqlite.c.
 *
 * The study is deterministic given the order of its ask and tell events
 * (every random draw comes from a stream of (seed, config id, purpose)), so
 * the store is an event log: each ask (the job, and the configuration when it
 * is new) and each tell (the raw outcome of the trial: objective return code,
 * failure message, loss, stop flags, reports, checkpoint) is committed in its
 * own transaction, durably (WAL, synchronous=FULL), before the study acts on
 * it. Resuming replays the log through ask/tell, which rebuilds brackets,
 * promotions, sampler observations and RNG positions exactly; jobs asked but
 * never told were running at the crash and are run again.
 *
 * Thread safety: owner thread only (the study's).
 */
#ifndef FRESH_STORAGE_H
#define FRESH_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define FRESH_STORE_SCHEMA_VERSION 1

typedef struct fresh_store fresh_store;

typedef struct fresh__job_row {
    uint64_t job_id, config_id;
    long bracket;
    int stage;
    uint64_t slot;
    double budget, resume_from;
} fresh__job_row;

typedef struct fresh__outcome_row {
    uint64_t job_id;
    int rc;                 /* objective's return value */
    int failed;             /* fresh_trial_fail / NaN report / out of memory */
    const char *message;    /* failure message ("" if none) */
    int has_loss;
    double loss;            /* may be NaN or +-inf: stored exactly */
    unsigned stop_flags;
    size_t n_reports;
    const double *steps, *losses; /* losses may be NaN/inf */
    int ckpt_saved;
    const void *ckpt;
    size_t ckpt_len;
    double start, end;      /* seconds since study creation */
    int worker;
} fresh__outcome_row;

/* A study file must be a regular file (or not exist yet): a directory, a
 * FIFO, a socket or a device gives FRESH_EIO at open, from both openers.
 *
 * Opens (creating if missing) the study file at path and takes an exclusive
 * lock on it for the life of the handle: a second opener, in this or another
 * process, gets FRESH_EBUSY ("in use by another process"), never a corrupt
 * file. A file that is not a SQLite database or not a fresh study, or has an
 * unknown schema version, gives FRESH_ESTORE with a message; a read-only
 * file FRESH_EIO or FRESH_ESTORE. On error *out is NULL and err (512 bytes)
 * says what went wrong, naming the file. */
int fresh__store_open(fresh_store **out, const char *path, char *err);

/* Opens an existing study file read-only, without the lock, as a snapshot
 * of what was committed at the first read (the file may be in use by the
 * process that runs the study). get_meta, replay and get_checkpoint work;
 * set_meta, ask, retry and tell fail with FRESH_EIO. FRESH_OK, FRESH_EIO (no
 * such file, a directory, cannot open), FRESH_ENOTFOUND (an empty file),
 * FRESH_ESTORE (not a fresh study file, another schema version, corrupt),
 * FRESH_EBUSY (SQLite busy beyond the open timeout), FRESH_ENOMEM. */
int fresh__store_open_snapshot(fresh_store **out, const char *path, char *err);

/* 1 if another handle (any process) holds the lock of the study file at
 * path, 0 if not (no lock file, or it could be locked and was released at
 * once), FRESH_EIO if the lock file cannot be opened, FRESH_ENOMEM. */
int fresh__store_in_use(const char *path);

/* Closes the handle (NULL is a no-op); releases the lock. */
void fresh__store_close(fresh_store *st);

/* Message of the last failed call. */
const char *fresh__store_errmsg(const fresh_store *st);

/* The stored study parameters and space (JSON texts, caller frees with
 * free()); FRESH_ENOTFOUND for a new, empty file. */
int fresh__store_get_meta(fresh_store *st, char **params_json, char **space_json);

/* Records the parameters and space of a new study (once: a second call
 * gives FRESH_ESTATE). */
int fresh__store_set_meta(fresh_store *st, const char *params_json, const char *space_json);

/* Records an ask: the job and, for a new configuration (x != NULL), its
 * values (dim doubles, NaN for inactive) and whether the model chose it.
 * One durable transaction.
 * Errors of ask, tell and set_meta (the transaction is rolled back, nothing
 * of the event is stored): FRESH_EBUSY (SQLITE_BUSY/LOCKED), FRESH_ENOMEM,
 * FRESH_EIO (read-only, cannot open), FRESH_ESTORE (I/O error, disk full,
 * constraint such as a duplicate job id or a tell without its ask, corrupt
 * file); the message names the file, the job and SQLite's text. */
/* model_based: 0 random, 1 model, 2 random by the BOHB hedge (other nonzero
 * values are stored as 1). */
int fresh__store_ask(fresh_store *st, const fresh__job_row *job, const double *x, size_t dim,
                     int model_based);

/* Records that a job asked earlier, never told (it was running when the
 * process died, or it was interrupted), is handed out again: a second "ask"
 * event for the same job, written when the job is handed out (not when it
 * is merely requeued). Replay calls on_ask again for it; the study counts
 * these runs. One durable transaction. */
int fresh__store_retry(fresh_store *st, uint64_t job_id);

/* Records that the running job job_id was cut short by a stop request
 * (fresh_study_force_stop, Ctrl-C) and will run again: its run ended
 * without a death of the process. One durable transaction. Errors as for
 * fresh__store_ask. */
int fresh__store_interrupt(fresh_store *st, uint64_t job_id);

/* Calls on_job(user, job_id, n) for each job with n > 0 recorded
 * interrupts (any order). A snapshot of a file written before interrupts
 * were recorded has none. A non-zero return of on_job stops and is
 * returned; FRESH_ESTORE/FRESH_EBUSY/FRESH_ENOMEM from SQLite. */
int fresh__store_interrupts(fresh_store *st, int (*on_job)(void *user, uint64_t job_id, long n),
                            void *user);

/* Records a tell: the raw outcome, its reports and checkpoint (replacing
 * the configuration's previous one when ckpt_saved). One durable
 * transaction. */
int fresh__store_tell(fresh_store *st, const fresh__outcome_row *o);

/* Replays every event in the order it was recorded: on_ask for asks (with
 * the stored x for new configurations, else NULL), on_tell for tells. A
 * callback's non-zero return stops the replay and is returned. Pointers are
 * valid during the callback only.
 * Details: for an ask that did not create its configuration, x is NULL and
 * dim and model_based are 0. A tell's ckpt/ckpt_len are filled only while
 * that tell's checkpoint is still its configuration's current one (ckpt is
 * then non-NULL even for an empty checkpoint); a superseded checkpoint is not
 * kept, so ckpt_saved is 1 with ckpt NULL and ckpt_len 0. Callbacks must not
 * write to the store. A malformed row gives FRESH_ESTORE. */
int fresh__store_replay(fresh_store *st,
                        int (*on_ask)(void *user, const fresh__job_row *job, const double *x,
                                      size_t dim, int model_based),
                        int (*on_tell)(void *user, const fresh__outcome_row *o), void *user);

/* The checkpoint stored for a configuration (caller frees *blob with free());
 * *blob = NULL and *len = 0 when there is none; an empty checkpoint gives a
 * non-NULL *blob with *len = 0. */
int fresh__store_get_checkpoint(fresh_store *st, uint64_t config_id, void **blob, size_t *len);

#endif

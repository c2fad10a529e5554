/*
 * storage_sqlite.c - the study file: an SQLite event log (see storage.h and
 * docs/storage.md). Every sqlite3 call of the library lives in this file.
 *
 * DESIGN
 *
 * Event log. Each fresh__store_ask / fresh__store_tell is one transaction,
 * BEGIN IMMEDIATE ... COMMIT, that writes the rows of the event (a new
 * configuration, the job, the outcome, the checkpoint) and one row of the
 * `events` table. A failure at any step rolls the whole transaction back, so
 * the file never holds half an event: either the `events` row and all of its
 * data are committed, or none of them. If even the ROLLBACK fails, the handle
 * is marked broken and refuses further writes; closing it lets SQLite roll
 * the open transaction back (or recover it from the WAL at the next open).
 *
 * Durability. journal_mode=WAL with synchronous=FULL: a COMMIT returns only
 * after the WAL has been fsync'ed. A newly created file also has its
 * directory fsync'ed, so the file itself survives a power cut.
 *
 * Exclusive use. Two layers:
 *   1. An flock(LOCK_EX|LOCK_NB) on a side file "<path>.lock", taken before
 *      SQLite touches the study file. flock locks belong to the open file
 *      description, so a second opener conflicts whether it is another
 *      process or another handle in this process, and the kernel drops the
 *      lock when the holder dies. The side file is used instead of the
 *      database file itself because closing *any* descriptor of a file drops
 *      the process's POSIX (fcntl) locks on it, which are SQLite's: a failed
 *      second opener closing its descriptor of the database would silently
 *      unlock the first handle. The lock file is removed at close; the
 *      open/lock/verify-inode loop in take_lock makes that removal safe.
 *   2. SQLite's own locks in WAL mode (the -shm file): a writer from outside
 *      fresh (the sqlite3 shell) waits for or fails on fresh's transactions,
 *      and readers see committed transactions only. The writer does not use
 *      locking_mode=EXCLUSIVE, so that fresh__store_open_snapshot can read a
 *      study while its process runs it (fresh show, fresh export).
 * Snapshots. fresh__store_open_snapshot takes no side lock and opens the file
 * read-only in one read transaction kept for the life of the handle: it sees
 * the study as committed at its first read, however far the writer gets
 * meanwhile (WAL readers do not block the writer, nor it them). Its write
 * functions fail with FRESH_EIO.
 * A snapshot of a study that no process runs (no lock held, no -wal file)
 * is opened with immutable=1: SQLite then reads the file like read-only
 * media, creates no -wal/-shm files and needs no write access to the
 * directory, so `fresh show` works in a read-only directory and leaves
 * nothing behind that another user would own.
 * Any SQLITE_BUSY at open is reported as FRESH_EBUSY, "in use by another
 * process"; busy_timeout is short (OPEN_BUSY_MS) so nothing hangs. Once
 * open, a writer's transactions wait up to WRITE_BUSY_MS for an outside
 * SQLite client (the sqlite3 shell) that holds the write lock.
 *
 * Interrupts. A job cut short by fresh_study_force_stop (Ctrl-C) is neither
 * told nor lost: fresh__store_interrupt adds a row to `interrupts`, so that
 * on resume the job runs again without its interrupted run counting as a
 * death of the process. The table is created on the first writable open of
 * a file (CREATE TABLE IF NOT EXISTS): files written before it existed stay
 * readable, and a snapshot of such a file simply has no interrupts.
 *
 * Doubles. SQLite turns a bound NaN into NULL, and a REAL-affinity column
 * stores -0.0 as the integer 0. Scalars that must round-trip exactly (loss,
 * budget, resume_from, times) live in columns without type affinity: finite
 * values and infinities are stored as REAL (which keeps every bit, -0.0
 * included, when no affinity is applied), NaN as an 8-byte blob of its IEEE
 * bits. Arrays (x, report steps and losses) are blobs of 8-byte
 * little-endian IEEE 754 values.
 */
#define _DEFAULT_SOURCE /* flock() */
#define _POSIX_C_SOURCE 200809L

#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fresh/status.h"
#include "internal.h"

/* PRAGMA application_id of a fresh study file: "FRSH". */
#define FRESH_APP_ID 0x46525348
/* Busy timeouts in milliseconds; only non-fresh SQLite clients can make
 * SQLite itself wait, since the side lock keeps fresh openers out. Opening
 * gives up quickly ("in use by another process"); a write of a running
 * study waits (SQLite retries) for an outside client's lock up to
 * WRITE_BUSY_MS before the study stops with FRESH_EBUSY. */
#define OPEN_BUSY_MS 50
#define WRITE_BUSY_MS 60000

/* ---- cached statements ---- */

enum {
    S_BEGIN,
    S_COMMIT,
    S_INS_CONFIG,
    S_INS_JOB,
    S_INS_OUTCOME,
    S_PUT_CKPT,
    S_INS_EVENT,
    S_GET_META,
    S_INS_META,
    S_GET_CKPT,
    S_REPLAY,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_INS_CONFIG] = "INSERT INTO configs(id, job_id, dim, x, model_based) "
                     "VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_INS_JOB] = "INSERT INTO jobs(id, config_id, bracket, stage, slot, budget, resume_from) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_INS_OUTCOME] = "INSERT INTO outcomes(job_id, rc, failed, message, has_loss, loss,"
                      " stop_flags,"
                      " start_time, end_time, worker, n_reports, report_steps, report_losses,"
                      " ckpt_saved)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [S_PUT_CKPT] = "INSERT OR REPLACE INTO checkpoints(config_id, job_id, data) "
                   "VALUES((SELECT config_id FROM jobs WHERE id = ?1), ?1, ?2)",
    [S_INS_EVENT] = "INSERT INTO events(kind, job_id) VALUES(?1, ?2)",
    [S_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [S_INS_META] = "INSERT INTO meta(key, value) VALUES(?1, ?2)",
    [S_GET_CKPT] = "SELECT data FROM checkpoints WHERE config_id = ?1",
    [S_REPLAY] =
        /* columns 0-7 */
        "SELECT e.seq, e.kind, e.job_id, j.id, j.config_id, j.bracket, j.stage, j.slot,"
        /* 8-14 */
        " j.budget, j.resume_from, c.id, c.job_id = j.id, c.dim, c.x, c.model_based,"
        /* 15-21 */
        " o.job_id, o.rc, o.failed, o.message, o.has_loss, o.loss, o.stop_flags,"
        /* 22-29 */
        " o.start_time, o.end_time, o.worker, o.n_reports, o.report_steps,"
        " o.report_losses, o.ckpt_saved, k.data"
        " FROM events e LEFT JOIN jobs j ON j.id = e.job_id"
        " LEFT JOIN configs c ON c.id = j.config_id"
        " LEFT JOIN outcomes o ON e.kind = 'tell' AND o.job_id = e.job_id"
        " LEFT JOIN checkpoints k ON e.kind = 'tell' AND k.config_id = j.config_id"
        " AND k.job_id = e.job_id"
        " ORDER BY e.seq",
};

/* The schema of version FRESH_STORE_SCHEMA_VERSION (docs/storage.md).
 * Columns marked f64 have no type affinity on purpose (see DESIGN). */
static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE configs(id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL,"
    " dim INTEGER NOT NULL, x BLOB NOT NULL, model_based INTEGER NOT NULL);"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY,"
    " config_id INTEGER NOT NULL REFERENCES configs(id), bracket INTEGER NOT NULL,"
    " stage INTEGER NOT NULL, slot INTEGER NOT NULL,"
    " budget /* f64 */ NOT NULL, resume_from /* f64 */ NOT NULL);"
    "CREATE TABLE outcomes(job_id INTEGER PRIMARY KEY REFERENCES jobs(id),"
    " rc INTEGER NOT NULL, failed INTEGER NOT NULL, message TEXT NOT NULL,"
    " has_loss INTEGER NOT NULL, loss /* f64 */ NOT NULL, stop_flags INTEGER NOT NULL,"
    " start_time /* f64 */ NOT NULL, end_time /* f64 */ NOT NULL, worker INTEGER NOT NULL,"
    " n_reports INTEGER NOT NULL, report_steps BLOB NOT NULL, report_losses BLOB NOT NULL,"
    " ckpt_saved INTEGER NOT NULL);"
    "CREATE TABLE checkpoints(config_id INTEGER PRIMARY KEY REFERENCES configs(id),"
    " job_id INTEGER NOT NULL REFERENCES jobs(id), data BLOB NOT NULL);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL CHECK (kind IN ('ask', 'tell')),"
    " job_id INTEGER NOT NULL REFERENCES jobs(id));";

/* Added to version 1 without a version change: older builds ignore it (they
 * count an interrupted run as a death of the process, as they always did). */
static const char interrupts_sql[] =
    "CREATE TABLE IF NOT EXISTS interrupts(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id INTEGER NOT NULL REFERENCES jobs(id));";

struct fresh_store {
    sqlite3 *db;
    char *path;
    char *sql_path; /* the name given to SQLite when it differs from path */
    int lock_fd;
    char *lock_path;
    int broken; /* a transaction could not be rolled back: no more writes */
    int snapshot; /* opened by fresh__store_open_snapshot: read-only */
    sqlite3_stmt *stmt[S_COUNT];
    unsigned char *scratch; /* encoding buffer for blobs */
    size_t scratch_cap;
    char errmsg[FRESH__ERRMSG_LEN];
};

/* ---- small helpers ---- */

/* SQLite's message for rc: the connection's own when it matches (it names
 * the constraint or table), else the generic text (an injected fault). */
static const char *db_msg(sqlite3 *db, int rc)
{
    if (db && (sqlite3_errcode(db) & 0xff) == (rc & 0xff))
        return sqlite3_errmsg(db);
    return sqlite3_errstr(rc);
}

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return FRESH_EBUSY;
    case SQLITE_NOMEM:
        return FRESH_ENOMEM;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        return FRESH_EIO;
    default:
        return FRESH_ESTORE;
    }
}

/* Sets buf from an SQLite failure rc while doing `what`. */
static int sql_err(char *buf, sqlite3 *db, const char *path, int rc, const char *what)
{
    int status = map_rc(rc);
    if (status == FRESH_EBUSY)
        return fresh__set_err(buf, status, "study file '%s' is in use by another process (%s, %s)",
                              path, db_msg(db, rc), what);
    if ((rc & 0xff) == SQLITE_CORRUPT)
        return fresh__set_err(buf, status, "study file '%s' is corrupt or truncated (%s, %s)", path,
                              db_msg(db, rc), what);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return fresh__set_err(buf, status, "study file '%s' is not a fresh study file (%s)", path,
                              db_msg(db, rc));
    return fresh__set_err(buf, status, "study file '%s': %s (%s)", path, what, db_msg(db, rc));
}

static void put_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Binds a scalar exactly: REAL unless NaN, which goes as its 8 bits. */
static int bind_f64(sqlite3_stmt *s, int i, double v)
{
    if (isnan(v)) {
        unsigned char b[8];
        put_f64(b, v);
        return sqlite3_bind_blob(s, i, b, 8, SQLITE_TRANSIENT);
    }
    return sqlite3_bind_double(s, i, v);
}

/* Reads a scalar stored by bind_f64; -1 if the column holds something else. */
static int column_f64(sqlite3_stmt *s, int i, double *out)
{
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_FLOAT:
        *out = sqlite3_column_double(s, i);
        return 0;
    case SQLITE_INTEGER:
        *out = (double)sqlite3_column_int64(s, i);
        return 0;
    case SQLITE_BLOB:
        if (sqlite3_column_bytes(s, i) != 8)
            return -1;
        *out = get_f64(sqlite3_column_blob(s, i));
        return 0;
    default:
        return -1;
    }
}

static int bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    return sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* Binds n bytes (n may be 0, p may then be NULL) as a blob, never NULL. */
static int bind_bytes(sqlite3_stmt *s, int i, const void *p, size_t n)
{
    if (n == 0)
        return sqlite3_bind_zeroblob(s, i, 0);
    return sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC);
}

/* Grows the scratch buffer to at least n bytes. */
static int scratch_reserve(fresh_store *st, size_t n)
{
    if (n <= st->scratch_cap)
        return FRESH_OK;
    unsigned char *p = fresh__realloc(st->scratch, n);
    if (!p)
        return fresh__set_err(st->errmsg, FRESH_ENOMEM, "study file '%s': out of memory", st->path);
    st->scratch = p;
    st->scratch_cap = n;
    return FRESH_OK;
}

/* Runs a statement that returns no rows; leaves it reset and unbound. */
static int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs a one-value query (a PRAGMA); *out gets the integer of the first row. */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* Like query_int for a text result, copied into buf (size n). */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    buf[0] = '\0';
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        if (t)
            snprintf(buf, n, "%s", (const char *)t);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* Rolls back the open transaction, if any; marks the handle broken if that
 * fails and a transaction is still open. */
static void rollback(fresh_store *st)
{
    if (sqlite3_get_autocommit(st->db))
        return; /* SQLite already rolled back (IOERR, FULL on COMMIT...) */
    if (sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
        !sqlite3_get_autocommit(st->db))
        st->broken = 1;
}

/* Fails a write call: rolls back and formats the message. */
static int write_fail(fresh_store *st, int rc, const char *what)
{
    /* Format first: ROLLBACK replaces the connection's error message. */
    int status = sql_err(st->errmsg, st->db, st->path, rc, what);
    rollback(st);
    if (st->broken) {
        size_t len = strlen(st->errmsg);
        snprintf(st->errmsg + len, sizeof st->errmsg - len,
                 "; rollback failed, close and reopen the study");
    }
    return status;
}

static int check_writable(fresh_store *st)
{
    if (st->snapshot)
        return fresh__set_err(st->errmsg, FRESH_EIO,
                              "study file '%s' was opened as a read-only snapshot", st->path);
    if (st->broken)
        return fresh__set_err(st->errmsg, FRESH_ESTORE,
                              "study file '%s': an earlier transaction could not be rolled back; "
                              "close and reopen the study",
                              st->path);
    return FRESH_OK;
}

/* ---- the side lock ---- */

/* Takes the flock on "<path>.lock". The loop guards against a holder that
 * removes the file between our open() and flock(): we keep the lock only if
 * the locked inode is still the one the name points to. */
#define LOCK_BUSY_WAITS 20 /* 1 ms each before a held lock means "in use" */
static int take_lock(fresh_store *st, char *err)
{
    int busy_waits = 0;
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return fresh__set_err(err, FRESH_EIO,
                                  "study file '%s': cannot create lock file '%s': %s", st->path,
                                  st->lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK && busy_waits++ < LOCK_BUSY_WAITS) {
                /* fresh__store_in_use holds a shared lock for an instant */
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
                tries--;
                continue;
            }
            if (e == EWOULDBLOCK)
                return fresh__set_err(err, FRESH_EBUSY,
                                      "study file '%s' is in use by another process "
                                      "(lock file '%s' is held)",
                                      st->path, st->lock_path);
            return fresh__set_err(err, FRESH_EIO, "study file '%s': cannot lock '%s': %s", st->path,
                                  st->lock_path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(st->lock_path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            st->lock_fd = fd;
            return FRESH_OK;
        }
        close(fd); /* the file was removed or replaced under us: retry */
    }
    return fresh__set_err(err, FRESH_EBUSY, "study file '%s' is in use by another process",
                          st->path);
}

static void release_lock(fresh_store *st)
{
    if (st->lock_fd >= 0) {
        unlink(st->lock_path); /* while still holding the lock; see take_lock */
        close(st->lock_fd);
        st->lock_fd = -1;
    }
}

/* fsyncs the directory holding path, so a new file's name is durable. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (!slash) {
        dir = fresh__strdup(".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = fresh__malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir)
        return; /* best effort */
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    fresh__free(dir);
}

/* ---- open / close ---- */

static void store_free(fresh_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* a snapshot's read transaction */
    if (st->db)
        sqlite3_close_v2(st->db);
    release_lock(st);
    fresh__free(st->scratch);
    fresh__free(st->lock_path);
    fresh__free(st->sql_path);
    fresh__free(st->path);
    fresh__free(st);
}

/* Creates the schema inside the open transaction. */
static int create_schema(fresh_store *st, char *err)
{
    char sql[256];
    int rc = sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sql_err(err, st->db, st->path, rc, "creating the schema");
    time_t now = time(NULL);
    struct tm tm;
    char created[32] = "unknown";
    if (gmtime_r(&now, &tm))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(sql, sizeof sql,
             "PRAGMA application_id = %d; PRAGMA user_version = %d;"
             "INSERT INTO meta(key, value) VALUES('application', 'fresh'),"
             " ('schema_version', '%d'), ('created', '%s');",
             FRESH_APP_ID, FRESH_STORE_SCHEMA_VERSION, FRESH_STORE_SCHEMA_VERSION, created);
    rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sql_err(err, st->db, st->path, rc, "creating the schema");
    return FRESH_OK;
}

/* Checks that an existing file is a fresh study of a supported version. */
static int check_schema(fresh_store *st, sqlite3_int64 app_id, char *err)
{
    char app[32], ver[32];
    if (app_id != FRESH_APP_ID)
        return fresh__set_err(err, FRESH_ESTORE,
                              "study file '%s' is an SQLite database but not a fresh study file "
                              "(application id %lld)",
                              st->path, (long long)app_id);
    int rc =
        query_text(st->db, "SELECT value FROM meta WHERE key = 'application'", app, sizeof app);
    if (rc == SQLITE_OK)
        rc = query_text(st->db, "SELECT value FROM meta WHERE key = 'schema_version'", ver,
                        sizeof ver);
    if ((rc & 0xff) == SQLITE_ERROR) /* no such table */
        return fresh__set_err(err, FRESH_ESTORE,
                              "study file '%s' is not a fresh study file (%s)", st->path,
                              db_msg(st->db, rc));
    if (rc != SQLITE_OK)
        return sql_err(err, st->db, st->path, rc, "reading the schema version");
    if (strcmp(app, "fresh") != 0)
        return fresh__set_err(err, FRESH_ESTORE,
                              "study file '%s' is not a fresh study file (application '%s')",
                              st->path, app);
    char *end = NULL;
    long v = strtol(ver, &end, 10);
    if (ver[0] == '\0' || *end != '\0')
        return fresh__set_err(err, FRESH_ESTORE,
                              "study file '%s' is corrupt: schema_version '%s' is not a number",
                              st->path, ver);
    if (v != FRESH_STORE_SCHEMA_VERSION)
        return fresh__set_err(err, FRESH_ESTORE,
                              "study file '%s': schema version %ld not supported (this build reads "
                              "version %d)",
                              st->path, v, FRESH_STORE_SCHEMA_VERSION);
    return FRESH_OK;
}

/* ---- what both openers share ---- */

/* The argument checks of an opener named `fn`. */
static int check_open_args(const char *fn, fresh_store **out, const char *path, char *err)
{
    err[0] = '\0';
    if (!out)
        return fresh__set_err(err, FRESH_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (!path || !*path)
        return fresh__set_err(err, FRESH_EINVAL, "study file name is empty");
    return FRESH_OK;
}

/* "<path>.lock" (fresh__malloc'ed), or NULL when out of memory. */
static char *lock_name(const char *path)
{
    size_t plen = strlen(path);
    char *lp = fresh__malloc(plen + sizeof ".lock");
    if (lp) {
        memcpy(lp, path, plen);
        memcpy(lp + plen, ".lock", sizeof ".lock");
    }
    return lp;
}

/* A zeroed store for path (no lock, no connection yet), or NULL. */
static fresh_store *store_alloc(const char *path, char *err)
{
    fresh_store *st = fresh__calloc(1, sizeof *st);
    if (st) {
        st->lock_fd = -1;
        st->path = fresh__strdup(path);
        if (st->path)
            return st;
        store_free(st);
    }
    fresh__set_err(err, FRESH_ENOMEM, "study file '%s': out of memory", path);
    return NULL;
}

/* A study file must be a regular file: a FIFO would hang the open, a
 * device would get its lock file written beside it in /dev. */
static int check_regular(const char *path, const struct stat *sb, char *err)
{
    if (S_ISDIR(sb->st_mode))
        return fresh__set_err(err, FRESH_EIO, "study file '%s' is a directory", path);
    if (!S_ISREG(sb->st_mode))
        return fresh__set_err(err, FRESH_EIO,
                              "study file '%s' is not a regular file (a FIFO, socket or device)",
                              path);
    return FRESH_OK;
}

/* 1 if "<path>-wal" exists. */
static int wal_exists(const char *path)
{
    size_t n = strlen(path);
    char *w = fresh__malloc(n + 5);
    if (!w)
        return 1; /* the safe answer: read the WAL */
    memcpy(w, path, n);
    memcpy(w + n, "-wal", 5);
    int r = access(w, F_OK) == 0;
    fresh__free(w);
    return r;
}

/* "file:PATH?immutable=1" with '%', '?' and '#' escaped (fresh__malloc'ed),
 * or NULL when out of memory. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *u = fresh__malloc(3 * n + 32), *o = u;
    if (!u)
        return NULL;
    o += sprintf(o, "file:%s", path[0] == '/' ? "//" : "");
    for (const char *p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            o += sprintf(o, "%%%02X", (unsigned char)*p);
        else
            *o++ = *p;
    }
    strcpy(o, "?immutable=1");
    return u;
}

/* Opens st->path with SQLite (flags as sqlite3_open_v2), extended result
 * codes on; immutable: read-only, as read-only media (no -wal/-shm). Debian's
 * SQLite is built with SQLITE_USE_URI: a relative name such as "file:x.db"
 * or ":memory:" must stay a plain file name. */
static int open_db(fresh_store *st, int flags, int immutable, char *err)
{
    const char *path = st->path, *sql_path = path;
    size_t plen = strlen(path);
    if (immutable) {
        sql_path = st->sql_path = immutable_uri(path);
        if (!st->sql_path)
            return fresh__set_err(err, FRESH_ENOMEM, "study file '%s': out of memory", path);
        flags |= SQLITE_OPEN_URI;
    } else if (strncmp(path, "file:", 5) == 0 || path[0] == ':') {
        sql_path = st->sql_path = fresh__malloc(plen + 3);
        if (!st->sql_path)
            return fresh__set_err(err, FRESH_ENOMEM, "study file '%s': out of memory", path);
        memcpy(st->sql_path, "./", 2);
        memcpy(st->sql_path + 2, path, plen + 1);
    }
    int rc = sqlite3_open_v2(sql_path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int e = st->db ? sqlite3_system_errno(st->db) : 0;
        return fresh__set_err(err, map_rc(rc) == FRESH_ENOMEM ? FRESH_ENOMEM : FRESH_EIO,
                              "cannot open study file '%s': %s%s%s", path, db_msg(st->db, rc),
                              e ? ": " : "", e ? strerror(e) : "");
    }
    sqlite3_extended_result_codes(st->db, 1);
    return FRESH_OK;
}

/* The file's application id and number of schema objects (both 0: empty). */
static int read_header(fresh_store *st, sqlite3_int64 *app_id, sqlite3_int64 *ntables, char *err)
{
    *app_id = *ntables = 0;
    int rc = query_int(st->db, "PRAGMA application_id", app_id);
    if (rc == SQLITE_OK)
        rc = query_int(st->db, "SELECT count(*) FROM sqlite_master", ntables);
    return rc == SQLITE_OK ? FRESH_OK : sql_err(err, st->db, st->path, rc, "reading the header");
}

static int prepare_all(fresh_store *st, char *err)
{
    for (int i = 0; i < S_COUNT; i++) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return sql_err(err, st->db, st->path, rc, "preparing statements");
    }
    return FRESH_OK;
}

int fresh__store_open(fresh_store **out, const char *path, char *err)
{
    char dummy[FRESH__ERRMSG_LEN];
    if (!err)
        err = dummy;
    int status = check_open_args("fresh__store_open", out, path, err), rc, is_new = 0;
    if (status != FRESH_OK)
        return status;
    fresh_store *st = store_alloc(path, err);
    if (!st)
        return FRESH_ENOMEM;
    if (!(st->lock_path = lock_name(path))) {
        status = fresh__set_err(err, FRESH_ENOMEM, "study file '%s': out of memory", path);
        goto fail;
    }

    struct stat sb;
    if (stat(path, &sb) == 0 && (status = check_regular(path, &sb, err)) != FRESH_OK)
        goto fail;
    if ((status = take_lock(st, err)) != FRESH_OK)
        goto fail;
    if ((status = open_db(st, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, err)) != FRESH_OK)
        goto fail;
    if (sqlite3_db_readonly(st->db, "main") == 1) {
        status = fresh__set_err(err, FRESH_EIO,
                                "study file '%s' is read-only (no write permission)", path);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, OPEN_BUSY_MS);
    rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = ON;", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "setting up the connection");
        goto fail;
    }

    /* Check or create the schema under a write lock. */
    rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "opening");
        goto fail;
    }
    sqlite3_int64 app_id, ntables;
    if ((status = read_header(st, &app_id, &ntables, err)) != FRESH_OK)
        goto fail;
    if (app_id == 0 && ntables == 0) {
        is_new = 1;
        status = create_schema(st, err);
    } else {
        status = check_schema(st, app_id, err);
    }
    if (status != FRESH_OK)
        goto fail;
    rc = sqlite3_exec(st->db, interrupts_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "opening");
        goto fail;
    }
    rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, is_new ? "creating the schema" : "opening");
        goto fail;
    }

    /* WAL (kept by the file) and full fsync on every commit. */
    char mode[16];
    rc = query_text(st->db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "switching to WAL mode");
        goto fail;
    }
    if (strcmp(mode, "wal") != 0) {
        status = fresh__set_err(err, FRESH_ESTORE,
                                "study file '%s': cannot switch to WAL mode (journal mode '%s')",
                                path, mode);
        goto fail;
    }
    rc = sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "setting synchronous = FULL");
        goto fail;
    }
    if (!is_new) {
        char qc[160];
        rc = query_text(st->db, "PRAGMA quick_check(1)", qc, sizeof qc);
        if (rc != SQLITE_OK) {
            status = sql_err(err, st->db, path, rc, "checking integrity");
            goto fail;
        }
        if (strcmp(qc, "ok") != 0) {
            status = fresh__set_err(err, FRESH_ESTORE,
                                    "study file '%s' is corrupt or truncated (%s)", path, qc);
            goto fail;
        }
    }
    if ((status = prepare_all(st, err)) != FRESH_OK)
        goto fail;
    sqlite3_busy_timeout(st->db, WRITE_BUSY_MS);
    if (is_new)
        sync_dir(path);
    *out = st;
    return FRESH_OK;

fail:
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    store_free(st);
    return status;
}

int fresh__store_open_snapshot(fresh_store **out, const char *path, char *err)
{
    char dummy[FRESH__ERRMSG_LEN];
    if (!err)
        err = dummy;
    int status = check_open_args("fresh__store_open_snapshot", out, path, err);
    if (status != FRESH_OK)
        return status;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fresh__set_err(err, FRESH_EIO, "no study file '%s'", path);
    if ((status = check_regular(path, &sb, err)) != FRESH_OK)
        return status;
    fresh_store *st = store_alloc(path, err);
    if (!st)
        return FRESH_ENOMEM;
    st->snapshot = 1;
    /* no process runs the study and no WAL is left to read: immutable (see
     * DESIGN) */
    int immutable = fresh__store_in_use(path) == 0 && !wal_exists(path);
    if ((status = open_db(st, SQLITE_OPEN_READONLY, immutable, err)) != FRESH_OK)
        goto fail;
    sqlite3_busy_timeout(st->db, OPEN_BUSY_MS);
    /* One read transaction for the life of the handle: every read sees the
     * file as it was at the first one, whatever the writer commits since. */
    int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = sql_err(err, st->db, path, rc, "reading the header");
        goto fail;
    }
    sqlite3_int64 app_id, ntables;
    if ((status = read_header(st, &app_id, &ntables, err)) != FRESH_OK)
        goto fail;
    if (app_id == 0 && ntables == 0) {
        status = fresh__set_err(err, FRESH_ENOTFOUND, "the study file '%s' holds no study", path);
        goto fail;
    }
    if ((status = check_schema(st, app_id, err)) != FRESH_OK ||
        (status = prepare_all(st, err)) != FRESH_OK)
        goto fail;
    *out = st;
    return FRESH_OK;

fail:
    store_free(st); /* rolls the read transaction back */
    return status;
}

int fresh__store_in_use(const char *path)
{
    char *lp = lock_name(path);
    if (!lp)
        return FRESH_ENOMEM;
    int fd = open(lp, O_RDONLY | O_CLOEXEC);
    fresh__free(lp);
    if (fd < 0)
        return errno == ENOENT ? 0 : FRESH_EIO;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* drops the shared lock if it was taken */
    return held;
}

void fresh__store_close(fresh_store *st) { store_free(st); }

const char *fresh__store_errmsg(const fresh_store *st) { return st ? st->errmsg : "no store"; }

/* ---- meta ---- */

static int get_meta_value(fresh_store *st, const char *key, char **out)
{
    sqlite3_stmt *s = st->stmt[S_GET_META];
    int rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int status = FRESH_OK;
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        *out = t ? fresh__strdup((const char *)t) : NULL; /* NULL text: SQLite out of memory */
        if (!*out)
            status = fresh__set_err(st->errmsg, FRESH_ENOMEM, "study file '%s': out of memory",
                                    st->path);
    } else if (rc == SQLITE_DONE) {
        status = fresh__set_err(st->errmsg, FRESH_ENOTFOUND,
                                "study file '%s' has no '%s' recorded yet", st->path, key);
    } else {
        status = sql_err(st->errmsg, st->db, st->path, rc, "reading the study parameters");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return status;
}

int fresh__store_get_meta(fresh_store *st, char **params_json, char **space_json)
{
    if (!st)
        return FRESH_EINVAL;
    char *p = NULL, *s = NULL;
    int status = get_meta_value(st, "params", &p);
    if (status == FRESH_OK)
        status = get_meta_value(st, "space", &s);
    if (status != FRESH_OK) {
        fresh__free(p);
        return status;
    }
    if (params_json)
        *params_json = p;
    else
        fresh__free(p);
    if (space_json)
        *space_json = s;
    else
        fresh__free(s);
    return FRESH_OK;
}

int fresh__store_set_meta(fresh_store *st, const char *params_json, const char *space_json)
{
    if (!st)
        return FRESH_EINVAL;
    if (!params_json || !space_json)
        return fresh__set_err(st->errmsg, FRESH_EINVAL,
                              "study file '%s': parameters and space must not be NULL", st->path);
    int status = check_writable(st);
    if (status != FRESH_OK)
        return status;
    sqlite3_stmt *ins = st->stmt[S_INS_META];
    int rc = run(st->stmt[S_BEGIN]);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, "recording the study parameters");
    const char *keys[2] = {"params", "space"}, *vals[2] = {params_json, space_json};
    for (int i = 0; i < 2; i++) {
        rc = sqlite3_bind_text(ins, 1, keys[i], -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_text(ins, 2, vals[i], -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = run(ins);
        else
            sqlite3_clear_bindings(ins);
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            rollback(st);
            return fresh__set_err(st->errmsg, FRESH_ESTATE,
                                  "study file '%s' already holds the parameters of a study",
                                  st->path);
        }
        if (rc != SQLITE_OK)
            return write_fail(st, rc, "recording the study parameters");
    }
    rc = run(st->stmt[S_COMMIT]);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, "recording the study parameters");
    return FRESH_OK;
}

/* ---- ask / tell ---- */

/* The last step of an ask or tell: the event row, then COMMIT. */
static int append_event_and_commit(fresh_store *st, const char *kind, uint64_t job_id,
                                   const char *what)
{
    sqlite3_stmt *s = st->stmt[S_INS_EVENT];
    int rc = sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_u64(s, 2, job_id);
    rc = rc == SQLITE_OK ? run(s) : (sqlite3_clear_bindings(s), rc);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    rc = run(st->stmt[S_COMMIT]);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    return FRESH_OK;
}

/* Opens the transaction of a one-job event (`event` of job_id); `what`
 * (96 bytes) names it for messages. */
static int begin_job_event(fresh_store *st, const char *event, uint64_t job_id, char *what)
{
    if (!st)
        return FRESH_EINVAL;
    int status = check_writable(st);
    if (status != FRESH_OK)
        return status;
    snprintf(what, 96, "recording the %s of job %llu", event, (unsigned long long)job_id);
    int rc = run(st->stmt[S_BEGIN]);
    return rc == SQLITE_OK ? FRESH_OK : write_fail(st, rc, what);
}

int fresh__store_retry(fresh_store *st, uint64_t job_id)
{
    char what[96];
    int status = begin_job_event(st, "retry", job_id, what);
    if (status != FRESH_OK)
        return status;
    return append_event_and_commit(st, "ask", job_id, what);
}

int fresh__store_interrupt(fresh_store *st, uint64_t job_id)
{
    char what[96];
    int status = begin_job_event(st, "interrupt", job_id, what);
    if (status != FRESH_OK)
        return status;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO interrupts(job_id) VALUES(?1)", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = bind_u64(s, 1, job_id);
    if (rc == SQLITE_OK)
        rc = run(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_OK)
        rc = run(st->stmt[S_COMMIT]);
    return rc == SQLITE_OK ? FRESH_OK : write_fail(st, rc, what);
}

int fresh__store_interrupts(fresh_store *st, int (*on_job)(void *user, uint64_t job_id, long n),
                            void *user)
{
    if (!st || !on_job)
        return FRESH_EINVAL;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT job_id, count(*) FROM interrupts GROUP BY job_id",
                                -1, &s, NULL);
    if (rc != SQLITE_OK) {
        /* a snapshot of a file written before the table existed */
        if ((rc & 0xff) == SQLITE_ERROR && st->snapshot)
            return FRESH_OK;
        return sql_err(st->errmsg, st->db, st->path, rc, "reading the interrupts");
    }
    int status = FRESH_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && status == FRESH_OK)
        status = on_job(user, (uint64_t)sqlite3_column_int64(s, 0),
                        (long)sqlite3_column_int64(s, 1));
    if (status == FRESH_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        status = sql_err(st->errmsg, st->db, st->path, rc, "reading the interrupts");
    sqlite3_finalize(s);
    return status;
}

int fresh__store_ask(fresh_store *st, const fresh__job_row *job, const double *x, size_t dim,
                     int model_based)
{
    if (!st)
        return FRESH_EINVAL;
    if (!job)
        return fresh__set_err(st->errmsg, FRESH_EINVAL, "study file '%s': job is NULL", st->path);
    if (x && dim > (size_t)INT_MAX / 8)
        return fresh__set_err(st->errmsg, FRESH_EINVAL,
                              "study file '%s': configuration dimension %zu too large", st->path,
                              dim);
    int status = check_writable(st);
    if (status != FRESH_OK)
        return status;
    char what[96];
    snprintf(what, sizeof what, "recording the ask of job %llu", (unsigned long long)job->job_id);
    if (x) {
        if ((status = scratch_reserve(st, dim * 8)) != FRESH_OK)
            return status;
        for (size_t i = 0; i < dim; i++)
            put_f64(st->scratch + 8 * i, x[i]);
    }

    int rc = run(st->stmt[S_BEGIN]);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    if (x) {
        sqlite3_stmt *s = st->stmt[S_INS_CONFIG];
        rc = bind_u64(s, 1, job->config_id);
        if (rc == SQLITE_OK)
            rc = bind_u64(s, 2, job->job_id);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(s, 3, (sqlite3_int64)dim);
        if (rc == SQLITE_OK)
            rc = bind_bytes(s, 4, st->scratch, dim * 8);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(s, 5, model_based == 2 ? 2 : model_based != 0);
        rc = rc == SQLITE_OK ? run(s) : (sqlite3_clear_bindings(s), rc);
        if (rc != SQLITE_OK)
            return write_fail(st, rc, what);
    }
    sqlite3_stmt *s = st->stmt[S_INS_JOB];
    rc = bind_u64(s, 1, job->job_id);
    if (rc == SQLITE_OK)
        rc = bind_u64(s, 2, job->config_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, (sqlite3_int64)job->bracket);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 4, job->stage);
    if (rc == SQLITE_OK)
        rc = bind_u64(s, 5, job->slot);
    if (rc == SQLITE_OK)
        rc = bind_f64(s, 6, job->budget);
    if (rc == SQLITE_OK)
        rc = bind_f64(s, 7, job->resume_from);
    rc = rc == SQLITE_OK ? run(s) : (sqlite3_clear_bindings(s), rc);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    return append_event_and_commit(st, "ask", job->job_id, what);
}

int fresh__store_tell(fresh_store *st, const fresh__outcome_row *o)
{
    if (!st)
        return FRESH_EINVAL;
    if (!o)
        return fresh__set_err(st->errmsg, FRESH_EINVAL, "study file '%s': outcome is NULL",
                              st->path);
    if (o->n_reports > 0 && (!o->steps || !o->losses))
        return fresh__set_err(st->errmsg, FRESH_EINVAL,
                              "study file '%s': job %llu has %zu reports but no arrays", st->path,
                              (unsigned long long)o->job_id, o->n_reports);
    if (o->n_reports > (size_t)INT_MAX / 16)
        return fresh__set_err(st->errmsg, FRESH_EINVAL, "study file '%s': too many reports (%zu)",
                              st->path, o->n_reports);
    if (o->ckpt_saved && (o->ckpt_len > (size_t)INT_MAX || (o->ckpt_len > 0 && !o->ckpt)))
        return fresh__set_err(st->errmsg, FRESH_EINVAL,
                              "study file '%s': job %llu has an invalid checkpoint (%zu bytes)",
                              st->path, (unsigned long long)o->job_id, o->ckpt_len);
    int status = check_writable(st);
    if (status != FRESH_OK)
        return status;
    char what[96];
    snprintf(what, sizeof what, "recording the outcome of job %llu", (unsigned long long)o->job_id);
    size_t nb = 8 * o->n_reports;
    if ((status = scratch_reserve(st, 2 * nb)) != FRESH_OK)
        return status;
    for (size_t i = 0; i < o->n_reports; i++) {
        put_f64(st->scratch + 8 * i, o->steps[i]);
        put_f64(st->scratch + nb + 8 * i, o->losses[i]);
    }

    int rc = run(st->stmt[S_BEGIN]);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    sqlite3_stmt *s = st->stmt[S_INS_OUTCOME];
    rc = bind_u64(s, 1, o->job_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 2, o->rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 3, o->failed);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 4, o->message ? o->message : "", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 5, o->has_loss);
    if (rc == SQLITE_OK)
        rc = bind_f64(s, 6, o->loss);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 7, (sqlite3_int64)o->stop_flags);
    if (rc == SQLITE_OK)
        rc = bind_f64(s, 8, o->start);
    if (rc == SQLITE_OK)
        rc = bind_f64(s, 9, o->end);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 10, o->worker);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 11, (sqlite3_int64)o->n_reports);
    if (rc == SQLITE_OK)
        rc = bind_bytes(s, 12, st->scratch, nb);
    if (rc == SQLITE_OK)
        rc = bind_bytes(s, 13, st->scratch + nb, nb);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 14, o->ckpt_saved != 0);
    rc = rc == SQLITE_OK ? run(s) : (sqlite3_clear_bindings(s), rc);
    if (rc != SQLITE_OK)
        return write_fail(st, rc, what);
    if (o->ckpt_saved) {
        s = st->stmt[S_PUT_CKPT];
        rc = bind_u64(s, 1, o->job_id);
        if (rc == SQLITE_OK)
            rc = bind_bytes(s, 2, o->ckpt, o->ckpt_len);
        rc = rc == SQLITE_OK ? run(s) : (sqlite3_clear_bindings(s), rc);
        if (rc != SQLITE_OK)
            return write_fail(st, rc, what);
    }
    return append_event_and_commit(st, "tell", o->job_id, what);
}

/* ---- replay ---- */

struct f64buf {
    double *v;
    size_t cap;
};

/* Decodes blob column i holding n doubles into b; -1 on a size mismatch,
 * -2 out of memory. */
static int decode_f64s(sqlite3_stmt *s, int i, size_t n, struct f64buf *b)
{
    int type = sqlite3_column_type(s, i);
    if (type != SQLITE_BLOB && !(n == 0 && type == SQLITE_NULL))
        return -1;
    const unsigned char *p = sqlite3_column_blob(s, i);
    size_t bytes = (size_t)sqlite3_column_bytes(s, i);
    if (bytes != 8 * n || (n > 0 && !p))
        return -1;
    if (n > b->cap) {
        double *v = fresh__realloc(b->v, n * sizeof *v);
        if (!v)
            return -2;
        b->v = v;
        b->cap = n;
    }
    for (size_t k = 0; k < n; k++)
        b->v[k] = get_f64(p + 8 * k);
    return 0;
}

int fresh__store_replay(fresh_store *st,
                        int (*on_ask)(void *user, const fresh__job_row *job, const double *x,
                                      size_t dim, int model_based),
                        int (*on_tell)(void *user, const fresh__outcome_row *o), void *user)
{
    if (!st)
        return FRESH_EINVAL;
    sqlite3_stmt *s = st->stmt[S_REPLAY];
    struct f64buf xb = {0}, sb = {0}, lb = {0};
    int status = FRESH_OK, rc;
    static const unsigned char empty[1] = {0};
    static const double empty_x[1] = {0};
    long long seq = 0;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        seq = sqlite3_column_int64(s, 0);
        const unsigned char *kind = sqlite3_column_text(s, 1);
        int is_tell = kind && strcmp((const char *)kind, "tell") == 0;
        if (!kind || (!is_tell && strcmp((const char *)kind, "ask") != 0))
            goto corrupt;
        if (sqlite3_column_type(s, 3) == SQLITE_NULL || sqlite3_column_type(s, 10) == SQLITE_NULL)
            goto corrupt; /* the event's job or its configuration is missing */
        fresh__job_row job;
        job.job_id = (uint64_t)sqlite3_column_int64(s, 3);
        job.config_id = (uint64_t)sqlite3_column_int64(s, 4);
        job.bracket = (long)sqlite3_column_int64(s, 5);
        job.stage = sqlite3_column_int(s, 6);
        job.slot = (uint64_t)sqlite3_column_int64(s, 7);
        if (column_f64(s, 8, &job.budget) || column_f64(s, 9, &job.resume_from))
            goto corrupt;
        if (!is_tell) {
            const double *x = NULL;
            size_t dim = 0;
            int model_based = 0;
            if (sqlite3_column_int(s, 11)) { /* this ask created the configuration */
                sqlite3_int64 d = sqlite3_column_int64(s, 12);
                if (d < 0 || (uint64_t)d > (size_t)INT_MAX / 8)
                    goto corrupt;
                dim = (size_t)d;
                int r = decode_f64s(s, 13, dim, &xb);
                if (r == -2)
                    goto nomem;
                if (r)
                    goto corrupt;
                x = xb.v ? xb.v : empty_x; /* dim 0: still non-NULL */
                model_based = sqlite3_column_int(s, 14);
            }
            if (on_ask && (status = on_ask(user, &job, x, dim, model_based)) != 0)
                goto done;
            continue;
        }
        if (sqlite3_column_type(s, 15) == SQLITE_NULL)
            goto corrupt; /* a tell without its outcome */
        fresh__outcome_row o;
        memset(&o, 0, sizeof o);
        o.job_id = job.job_id;
        o.rc = sqlite3_column_int(s, 16);
        o.failed = sqlite3_column_int(s, 17);
        const unsigned char *msg = sqlite3_column_text(s, 18);
        if (!msg && sqlite3_errcode(st->db) == SQLITE_NOMEM)
            goto nomem;
        o.message = msg ? (const char *)msg : "";
        o.has_loss = sqlite3_column_int(s, 19);
        o.stop_flags = (unsigned)sqlite3_column_int64(s, 21);
        if (column_f64(s, 20, &o.loss) || column_f64(s, 22, &o.start) ||
            column_f64(s, 23, &o.end))
            goto corrupt;
        o.worker = sqlite3_column_int(s, 24);
        sqlite3_int64 n = sqlite3_column_int64(s, 25);
        if (n < 0 || (uint64_t)n > (size_t)INT_MAX / 16)
            goto corrupt;
        o.n_reports = (size_t)n;
        int r = decode_f64s(s, 26, o.n_reports, &sb);
        if (r == 0)
            r = decode_f64s(s, 27, o.n_reports, &lb);
        if (r == -2)
            goto nomem;
        if (r)
            goto corrupt;
        o.steps = o.n_reports ? sb.v : NULL;
        o.losses = o.n_reports ? lb.v : NULL;
        o.ckpt_saved = sqlite3_column_int(s, 28);
        if (o.ckpt_saved && sqlite3_column_type(s, 29) == SQLITE_BLOB) {
            /* still the configuration's current checkpoint */
            o.ckpt_len = (size_t)sqlite3_column_bytes(s, 29);
            o.ckpt = o.ckpt_len ? sqlite3_column_blob(s, 29) : empty;
            if (!o.ckpt)
                goto nomem;
        }
        if (on_tell && (status = on_tell(user, &o)) != 0)
            goto done;
    }
    if (rc != SQLITE_DONE)
        status = sql_err(st->errmsg, st->db, st->path, rc, "replaying the event log");
    goto done;

corrupt:
    status = fresh__set_err(st->errmsg, FRESH_ESTORE,
                            "study file '%s' is corrupt: event %lld has missing or malformed data",
                            st->path, seq);
    goto done;
nomem:
    status = fresh__set_err(st->errmsg, FRESH_ENOMEM, "study file '%s': out of memory in replay",
                            st->path);
done:
    sqlite3_reset(s);
    fresh__free(xb.v);
    fresh__free(sb.v);
    fresh__free(lb.v);
    return status;
}

/* ---- checkpoints ---- */

int fresh__store_get_checkpoint(fresh_store *st, uint64_t config_id, void **blob, size_t *len)
{
    if (!st)
        return FRESH_EINVAL;
    if (!blob || !len)
        return fresh__set_err(st->errmsg, FRESH_EINVAL, "study file '%s': blob or len is NULL",
                              st->path);
    *blob = NULL;
    *len = 0;
    sqlite3_stmt *s = st->stmt[S_GET_CKPT];
    int status = FRESH_OK;
    int rc = bind_u64(s, 1, config_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        const void *p = sqlite3_column_blob(s, 0);
        if (n > 0 && !p) {
            status = fresh__set_err(st->errmsg, FRESH_ENOMEM, "study file '%s': out of memory",
                                    st->path);
        } else {
            void *copy = fresh__malloc(n); /* n == 0: a non-NULL empty checkpoint */
            if (!copy) {
                status = fresh__set_err(st->errmsg, FRESH_ENOMEM,
                                        "study file '%s': out of memory", st->path);
            } else {
                if (n)
                    memcpy(copy, p, n);
                *blob = copy;
                *len = n;
            }
        }
    } else if (rc != SQLITE_DONE) {
        status = sql_err(st->errmsg, st->db, st->path, rc, "reading a checkpoint");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return status;
}

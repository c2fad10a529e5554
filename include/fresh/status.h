/*
 * fresh/status.h - status codes shared by every fresh module.
 *
 * One X-macro table, FRESH_STATUS_MAP, generates the enum, the names and the
 * messages (the libuv pattern), so they cannot drift apart.
 *   0          FRESH_OK
 *   negative   an error: the call changed nothing; the object's errmsg says why
 *   positive   a normal ending: why a study stopped, or that ask has to wait
 */
#ifndef FRESH_STATUS_H
#define FRESH_STATUS_H

#include "fresh/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XX(NAME, value, "message") */
#define FRESH_STATUS_MAP(XX)                                                    \
    XX(OK, 0, "success")                                                        \
    XX(EINVAL, -1, "invalid argument")                                          \
    XX(ENOMEM, -2, "out of memory")                                             \
    XX(ENOTFOUND, -3, "no such parameter, value or object")                     \
    XX(EPARSE, -4, "malformed input file")                                      \
    XX(EIO, -5, "input/output error")                                           \
    XX(ESTATE, -6, "call not allowed in the object's current state")            \
    XX(ENOSAMPLE, -7, "no valid configuration could be sampled")                \
    XX(EGSL, -8, "GSL numerical error")                                         \
    XX(ESTORE, -9, "storage error")                                             \
    XX(EBUSY, -10, "resource in use by another process or thread")              \
    XX(EMISMATCH, -11, "stored study differs from the requested one")           \
    XX(ECANCELED, -12, "job was cancelled before it started")                   \
    XX(ETIMEDOUT, -13, "job exceeded its time limit")                           \
    XX(EOBJECTIVE, -14, "objective failed or returned no valid loss")           \
    XX(ETHREAD, -15, "thread could not be created")                             \
    XX(EUNSUPPORTED, -16, "feature not supported by this build or format")      \
    XX(BUDGET_REACHED, 1, "total budget reached")                               \
    XX(STOPPED, 2, "stopped on request")                                        \
    XX(TARGET_REACHED, 3, "target loss reached")                                \
    XX(TIME_REACHED, 4, "wall-time limit reached")                              \
    XX(BRACKETS_DONE, 5, "requested number of brackets completed")              \
    XX(WAIT, 6, "no job can start until a running job reports back")           \
    XX(DONE, 7, "nothing left to schedule")

typedef enum fresh_status {
#define FRESH__STATUS_ENUM(name, value, msg) FRESH_##name = value,
    FRESH_STATUS_MAP(FRESH__STATUS_ENUM)
#undef FRESH__STATUS_ENUM
} fresh_status;

/* The message for a status code ("invalid argument"); for an unknown code a
 * static "unknown status" string. Never NULL; the string is static.
 * Thread safety: any thread. */
FRESH_API const char *fresh_strerror(int status);

/* The enum name without prefix ("EINVAL", "BUDGET_REACHED"); NULL for an
 * unknown code. Static string.
 * Thread safety: any thread. */
FRESH_API const char *fresh_status_name(int status);

/* Number of entries in the table and the code of entry i (i < count), so that
 * tests and bindings can walk every status.
 * Thread safety: any thread. */
FRESH_API int fresh_status_count(void);
FRESH_API int fresh_status_at(int i);

/* Library initialisation: switches GSL's abort-on-error handler off (fresh
 * checks GSL return codes itself and maps them to FRESH_EGSL). Called
 * automatically by every _create function; calling it again is harmless.
 * Thread safety: any thread (uses pthread_once). */
FRESH_API void fresh_init(void);

/* Version string "MAJOR.MINOR.PATCH". Thread safety: any thread. */
FRESH_API const char *fresh_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FRESH_STATUS_H */

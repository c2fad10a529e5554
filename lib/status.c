/*
 * status.c - the status table (names, messages), library initialisation and
 * the mapping of GSL error codes.
 */
#include "fresh/status.h"
#include "internal.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>

static const struct {
    int code;
    const char *name;
    const char *msg;
} status_table[] = {
#define FRESH__STATUS_ROW(name, value, msg) {value, #name, msg},
    FRESH_STATUS_MAP(FRESH__STATUS_ROW)
#undef FRESH__STATUS_ROW
};

#define N_STATUS ((int)(sizeof status_table / sizeof status_table[0]))

const char *fresh_strerror(int status)
{
    for (int i = 0; i < N_STATUS; i++)
        if (status_table[i].code == status)
            return status_table[i].msg;
    return "unknown status";
}

const char *fresh_status_name(int status)
{
    for (int i = 0; i < N_STATUS; i++)
        if (status_table[i].code == status)
            return status_table[i].name;
    return NULL;
}

int fresh_status_count(void) { return N_STATUS; }

int fresh_status_at(int i)
{
    return (i >= 0 && i < N_STATUS) ? status_table[i].code : 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void do_init(void) { gsl_set_error_handler_off(); }

void fresh_init(void) { pthread_once(&init_once, do_init); }

const char *fresh_version(void) { return FRESH_VERSION_STRING; }

int fresh__map_gsl(int gsl_status)
{
    if (gsl_status == GSL_SUCCESS)
        return FRESH_OK;
    if (gsl_status == GSL_ENOMEM)
        return FRESH_ENOMEM;
    if (gsl_status == GSL_EINVAL || gsl_status == GSL_EDOM)
        return FRESH_EINVAL;
    return FRESH_EGSL;
}

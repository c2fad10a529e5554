/*
 * space_internal.h - what space.c shares with the space file readers
 * (space_json.c); never installed.
 */
#ifndef FRESH_SPACE_INTERNAL_H
#define FRESH_SPACE_INTERNAL_H

#include <stddef.h>

#include "fresh/space.h"

/* Removes every parameter and forbidden clause, leaving an empty space; the
 * errmsg is kept. */
void fresh__space_clear(fresh_space *space);

/* The space's errmsg buffer (FRESH__ERRMSG_LEN bytes), for the readers. */
char *fresh__space_errbuf(fresh_space *space);

/* Writes the shortest of %.15g, %.16g, %.17g that reads back as exactly v. */
void fresh__format_double(char *buf, size_t len, double v);

#endif

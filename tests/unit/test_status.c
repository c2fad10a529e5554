/* Status table: every code has a unique name and a message; errors are
 * negative, endings positive; unknown codes are handled. */
#include <criterion/criterion.h>
#include <string.h>

#include "fresh/status.h"

Test(status, every_code_has_name_and_message)
{
    int n = fresh_status_count();
    cr_assert(n >= 20);
    for (int i = 0; i < n; i++) {
        int c = fresh_status_at(i);
        const char *name = fresh_status_name(c);
        cr_assert_not_null(name, "code %d has no name", c);
        cr_assert(strlen(name) > 0);
        cr_assert_str_neq(fresh_strerror(c), "unknown status", "code %d", c);
        for (int j = 0; j < i; j++) {
            cr_assert_neq(fresh_status_at(j), c, "duplicate code %d", c);
            cr_assert_str_neq(fresh_status_name(fresh_status_at(j)), name);
        }
        if (name[0] == 'E')
            cr_assert_lt(c, 0, "%s should be negative", name);
        else if (strcmp(name, "OK") != 0)
            cr_assert_gt(c, 0, "%s should be positive", name);
    }
}

Test(status, known_values)
{
    cr_assert_eq(FRESH_OK, 0);
    cr_assert_str_eq(fresh_status_name(FRESH_EINVAL), "EINVAL");
    cr_assert_str_eq(fresh_status_name(FRESH_BUDGET_REACHED), "BUDGET_REACHED");
    cr_assert_str_eq(fresh_strerror(FRESH_ENOMEM), "out of memory");
}

Test(status, unknown_code)
{
    cr_assert_null(fresh_status_name(-9999));
    cr_assert_str_eq(fresh_strerror(-9999), "unknown status");
    cr_assert_eq(fresh_status_at(-1), 0);
    cr_assert_eq(fresh_status_at(fresh_status_count()), 0);
}

Test(status, version_and_init)
{
    fresh_init();
    fresh_init();
    cr_assert_str_eq(fresh_version(), "0.1.0");
}

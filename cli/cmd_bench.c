/* cmd_bench.c - `fresh bench` (placeholder until the engine lands). */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fresh bench: not available yet\n");
    return CLI_EXIT_FAIL;
}

/* fresh - command-line tool (placeholder until the subcommands land). */
#include <stdio.h>
#include <string.h>

#include "fresh/status.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("fresh %s\n", fresh_version());
        return 0;
    }
    fprintf(stderr, "usage: fresh COMMAND ...\n");
    return 2;
}

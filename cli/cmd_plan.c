/* cmd_plan.c - `fresh plan`: the Hyperband bracket table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fresh/plan.h"

static const char plan_usage[] =
    "usage: fresh plan [--min-budget B] [--max-budget B] [--eta N] [--floor] [--json]\n"
    "\n"
    "Prints the Hyperband brackets (Li et al. 2018, Algorithm 1) for a budget range:\n"
    "for each bracket s = s_max .. 0 the stages as n@r (n configurations at budget r),\n"
    "the bracket's total budget and that of one Hyperband iteration.\n"
    "\n"
    "  --min-budget B  smallest budget (default 1)\n"
    "  --max-budget B  largest budget (default 81)\n"
    "  --eta N         reduction factor, integer >= 2 (default 3)\n"
    "  --floor         HpBandSter/DEHB bracket sizes instead of the paper's\n"
    "  --json          machine-readable output\n";

int cmd_plan(int argc, char **argv)
{
    double lo = 1, hi = 81, eta = 3;
    int json = 0;
    fresh_bracket_formula formula = FRESH_BRACKETS_PAPER;
    static const struct option opts[] = {
        {"min-budget", required_argument, NULL, 'm'}, {"max-budget", required_argument, NULL, 'M'},
        {"eta", required_argument, NULL, 'e'},        {"floor", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},             {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt("plan", argc, argv, ":h", opts)) != -1) {
        switch (c) {
        case 'm': if (cli_parse_double("plan", "min-budget", optarg, &lo)) return CLI_EXIT_USAGE; break;
        case 'M': if (cli_parse_double("plan", "max-budget", optarg, &hi)) return CLI_EXIT_USAGE; break;
        case 'e': if (cli_parse_double("plan", "eta", optarg, &eta)) return CLI_EXIT_USAGE; break;
        case 'f': formula = FRESH_BRACKETS_FLOOR; break;
        case 'j': json = 1; break;
        case 'h': fputs(plan_usage, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("plan", "unexpected argument '%s'", argv[optind]);
    fresh_plan *p = fresh_plan_create();
    if (!p) {
        fprintf(stderr, "fresh plan: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    int rc = fresh_plan_compute(p, lo, hi, eta, formula);
    if (rc != FRESH_OK) {
        fprintf(stderr, "fresh plan: %s\n", fresh_plan_errmsg(p));
        fresh_plan_destroy(p);
        return CLI_EXIT_USAGE;
    }
    if (json) {
        char *text = NULL;
        if (fresh_plan_to_json(p, &text) != FRESH_OK) {
            fprintf(stderr, "fresh plan: out of memory\n");
            fresh_plan_destroy(p);
            return CLI_EXIT_FAIL;
        }
        printf("%s\n", text);
        free(text);
    } else {
        int s_max = fresh_plan_s_max(p);
        printf("Hyperband plan: budgets %g..%g, eta %g, s_max %d, %d brackets (%s formula)\n",
               lo, hi, eta, s_max, s_max + 1,
               formula == FRESH_BRACKETS_PAPER ? "paper" : "floor");
        for (int k = 0; k <= s_max; k++) {
            printf("  s=%-2d", fresh_plan_bracket_s(p, k));
            for (int i = 0; i <= fresh_plan_bracket_s(p, k); i++) {
                long n;
                double r;
                fresh_plan_stage(p, k, i, &n, &r);
                printf(" %6ld@%-6g", n, r);
            }
            for (int i = fresh_plan_bracket_s(p, k); i < s_max; i++)
                printf(" %13s", "");
            printf("  total %g (%.4g x max budget)\n", fresh_plan_bracket_budget(p, k),
                   fresh_plan_bracket_budget(p, k) / hi);
        }
        printf("  one Hyperband iteration: %g (%.4g x max budget)\n",
               fresh_plan_iteration_budget(p), fresh_plan_iteration_budget(p) / hi);
    }
    fresh_plan_destroy(p);
    return 0;
}

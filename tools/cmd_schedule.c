/* cmd_schedule.c — `diffuscope schedule`: print a noise schedule as JSON. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "error.h"
#include "schedule.h"

static const char *USAGE =
    "usage: diffuscope schedule [--kind linear|cosine] [--steps T]\n"
    "  Prints {kind, T, beta[], alpha_bar[], sqrt_alpha_bar[], sqrt_one_minus_alpha_bar[], snr[],\n"
    "  posterior_variance[], posterior_coef_x0[], posterior_coef_xt[]} (q(x_{t-1} | x_t, x_0))\n"
    "  with t = 1..T (default: linear, T = 1000). Values are printed with 17 significant digits.\n";

static void print_array(const char *name, const double *v, int n, int last) {
    printf("  \"%s\": [", name);
    for (int i = 0; i < n; i++) printf("%s%.17g", i ? ", " : "", v[i]);
    printf("]%s\n", last ? "" : ",");
}

int cmd_schedule(int argc, char **argv) {
    static const struct option opts[] = {
        {"kind", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    ds_schedule_kind kind = DS_SCHEDULE_LINEAR;
    long T = 1000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (ds_schedule_kind_parse(optarg, &kind)) return cli_error(2, "--kind: %s", ds_last_error());
            break;
        case 'T':
            if (cli_parse_long("--steps", optarg, 1, DS_MAX_T, &T)) return 2;
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "schedule: unexpected argument '%s'", argv[optind]);
    static ds_schedule s;
    if (ds_schedule_init(&s, kind, (int)T)) return cli_error(1, "%s", ds_last_error());
    printf("{\n  \"kind\": \"%s\",\n  \"T\": %d,\n", ds_schedule_kind_name(kind), s.T);
    print_array("beta", s.beta, s.T, 0);
    print_array("alpha_bar", s.alpha_bar, s.T, 0);
    print_array("sqrt_alpha_bar", s.sqrt_alpha_bar, s.T, 0);
    print_array("sqrt_one_minus_alpha_bar", s.sqrt_one_minus_alpha_bar, s.T, 0);
    print_array("snr", s.snr, s.T, 0);
    print_array("posterior_variance", s.posterior_variance, s.T, 0);
    print_array("posterior_coef_x0", s.posterior_coef_x0, s.T, 0);
    print_array("posterior_coef_xt", s.posterior_coef_xt, s.T, 1);
    printf("}\n");
    return 0;
}

/* cmd_vi.c — `diffuscope vi`: KL(q||p), KL(p||q) and the ELBO of a Gaussian q against a
 * Gaussian-mixture target, Monte-Carlo estimates of them, or a fit minimising either KL.
 * Prints one JSON object; numbers have 17 significant digits (they round-trip). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "vi.h"

static const char *USAGE =
    "usage: diffuscope vi [--mu M] [--sigma S] [--target w:m:s,...] [--log-z L] [--mc N [--seed K]]\n"
    "       diffuscope vi --fit reverse|forward [--mu M] [--sigma S] [--target ...] [--steps N] [--path]\n"
    "  q = N(M, S^2) (default M = 0, S = 1) against the target p, a mixture of up to 8 Gaussians given as\n"
    "  weight:mean:std triples (weights are normalised to sum 1; default " DS_VI_DEFAULT_TARGET ").\n"
    "  Prints {target, mu, sigma, log_z, kl_q_p, kl_p_q, elbo, entropy_q, entropy_p, grad_kl_q_p,\n"
    "  grad_kl_p_q} where ELBO = log Z - KL(q||p) for the unnormalised target Z p (--log-z, default 0)\n"
    "  and the gradients are (d/dmu, d/dlog sigma). --mc N adds Monte-Carlo estimates from N samples\n"
    "  (seed K, default 0) with their standard errors under \"mc\".\n"
    "  --fit reverse minimises KL(q||p) (mode-seeking), --fit forward KL(p||q) (mass-covering), from\n"
    "  (M, S), by natural-gradient descent of at most N steps (default 1000); prints the optimum, both\n"
    "  KLs there and the number of steps, and with --path every (mu, sigma, KL) on the way.\n"
    "  Ranges: |M| <= 100, 0.01 <= S <= 100 (accuracy 1e-6 is tested for |M| <= 20, 0.05 <= S <= 20).\n";

static void print_target(const ds_mixture *p) {
    printf("  \"target\": [");
    for (int i = 0; i < p->k; i++)
        printf("%s{\"weight\": %.17g, \"mean\": %.17g, \"std\": %.17g}", i ? ", " : "", p->weight[i], p->mean[i], p->std[i]);
    printf("],\n");
}

static void print_result(const ds_vi_result *r) {
    printf("  \"mu\": %.17g,\n  \"sigma\": %.17g,\n  \"log_z\": %.17g,\n", r->mu, r->sigma, r->log_z);
    printf("  \"kl_q_p\": %.17g,\n  \"kl_p_q\": %.17g,\n  \"elbo\": %.17g,\n", r->kl_q_p, r->kl_p_q, r->elbo);
    printf("  \"entropy_q\": %.17g,\n  \"entropy_p\": %.17g,\n", r->entropy_q, r->entropy_p);
    printf("  \"grad_kl_q_p\": [%.17g, %.17g],\n  \"grad_kl_p_q\": [%.17g, %.17g]", r->grad_kl_q_p[0], r->grad_kl_q_p[1],
           r->grad_kl_p_q[0], r->grad_kl_p_q[1]);
}

int cmd_vi(int argc, char **argv) {
    enum { OPT_MU = 1, OPT_SIGMA, OPT_TARGET, OPT_LOG_Z, OPT_MC, OPT_SEED, OPT_FIT, OPT_STEPS, OPT_PATH };
    static const struct option opts[] = {
        {"mu", required_argument, 0, OPT_MU},       {"sigma", required_argument, 0, OPT_SIGMA},
        {"target", required_argument, 0, OPT_TARGET}, {"log-z", required_argument, 0, OPT_LOG_Z},
        {"mc", required_argument, 0, OPT_MC},       {"seed", required_argument, 0, OPT_SEED},
        {"fit", required_argument, 0, OPT_FIT},     {"steps", required_argument, 0, OPT_STEPS},
        {"path", no_argument, 0, OPT_PATH},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    double mu = 0, sigma = 1, log_z = 0;
    long mc_n = 0, seed = 0, steps = 1000;
    int fitting = 0, with_path = 0, seed_given = 0;
    ds_vi_direction dir = DS_VI_REVERSE;
    ds_mixture p;
    if (ds_mixture_default(&p)) return cli_error(1, "vi: %s", ds_last_error());
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MU: if (cli_parse_double_in("--mu", optarg, -DS_VI_MAX_ABS_MEAN, DS_VI_MAX_ABS_MEAN, &mu)) return 2; break;
        case OPT_SIGMA: if (cli_parse_double_in("--sigma", optarg, DS_VI_MIN_STD, DS_VI_MAX_STD, &sigma)) return 2; break;
        case OPT_LOG_Z:
            if (cli_parse_double_in("--log-z", optarg, -DS_VI_MAX_ABS_LOG_Z, DS_VI_MAX_ABS_LOG_Z, &log_z)) return 2;
            break;
        case OPT_TARGET:
            if (ds_mixture_parse(&p, optarg, (long)strlen(optarg))) return cli_error(2, "--target: %s", ds_last_error());
            break;
        case OPT_MC: if (cli_parse_long("--mc", optarg, 2, DS_VI_MAX_MC, &mc_n)) return 2; break;
        case OPT_SEED: if (cli_parse_long("--seed", optarg, 0, 9007199254740992L, &seed)) return 2; seed_given = 1; break;
        case OPT_FIT:
            if (ds_vi_direction_parse(optarg, &dir)) return cli_error(2, "--fit: %s", ds_last_error());
            fitting = 1;
            break;
        case OPT_STEPS: if (cli_parse_long("--steps", optarg, 0, DS_VI_MAX_FIT_STEPS, &steps)) return 2; break;
        case OPT_PATH: with_path = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "vi: unexpected argument '%s'", argv[optind]);
    if (fitting && mc_n) return cli_error(2, "vi: --mc estimates one (mu, sigma); it does not combine with --fit");
    if (seed_given && !mc_n) return cli_error(2, "vi: --seed only makes sense with --mc N");
    if (!fitting && with_path) return cli_error(2, "vi: --path only makes sense with --fit");

    ds_vi_result r;
    if (!fitting) {
        if (ds_vi_eval(&p, mu, sigma, log_z, &r)) return cli_error(2, "vi: %s", ds_last_error());
        ds_vi_mc mc;
        if (mc_n && ds_vi_mc_estimate(&p, mu, sigma, log_z, mc_n, (unsigned long)seed, &mc))
            return cli_error(1, "vi: %s", ds_last_error());
        printf("{\n");
        print_target(&p);
        print_result(&r);
        if (mc_n)
            printf(",\n  \"mc\": {\"n\": %ld, \"seed\": %ld, \"kl_q_p\": %.17g, \"kl_q_p_se\": %.17g, \"kl_p_q\": %.17g, "
                   "\"kl_p_q_se\": %.17g, \"elbo\": %.17g, \"elbo_se\": %.17g}",
                   mc.n, seed, mc.kl_q_p, mc.kl_q_p_se, mc.kl_p_q, mc.kl_p_q_se, mc.elbo, mc.elbo_se);
        printf("\n}\n");
        return 0;
    }

    static double path[(DS_VI_MAX_FIT_STEPS + 1) * 3];
    int rows;
    ds_vi_result start, fit;
    if (ds_vi_eval(&p, mu, sigma, log_z, &start)) return cli_error(2, "vi: %s", ds_last_error());
    if (ds_vi_fit(&p, dir, mu, sigma, (int)steps, path, &rows, &fit) ||
        ds_vi_eval(&p, fit.mu, fit.sigma, log_z, &r))
        return cli_error(1, "vi: %s", ds_last_error());
    printf("{\n  \"fit\": \"%s\",\n  \"minimises\": \"%s\",\n", ds_vi_direction_name(dir), dir == DS_VI_FORWARD ? "kl_p_q" : "kl_q_p");
    print_target(&p);
    printf("  \"start\": {\"mu\": %.17g, \"sigma\": %.17g, \"kl\": %.17g},\n", mu, sigma, path[2]);
    printf("  \"steps\": %d,\n  \"kl\": %.17g,\n", rows - 1, dir == DS_VI_FORWARD ? r.kl_p_q : r.kl_q_p);
    print_result(&r);
    if (with_path) {
        printf(",\n  \"path\": [");
        for (int i = 0; i < rows; i++) printf("%s[%.17g, %.17g, %.17g]", i ? ", " : "", path[3 * i], path[3 * i + 1], path[3 * i + 2]);
        printf("]");
    }
    printf("\n}\n");
    return 0;
}

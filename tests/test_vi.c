/* test_vi.c — the variational-inference maths against closed forms, a very fine reference
 * quadrature, finite differences, Monte Carlo, and the fits' known optima. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "rng.h"
#include "vi.h"

/* KL(N(a, A^2) || N(b, B^2)) */
static double gauss_kl(double a, double A, double b, double B) {
    return log(B / A) + (A * A + (a - b) * (a - b)) / (2 * B * B) - 0.5;
}

/* The reference: composite Simpson in long double with libm, independent of vi.c's
 * adaptive Gauss-Kronrod and of detmath. */
static long double ref_log_p(const ds_mixture *p, const long double *log_coef, long double x) {
    long double top = -INFINITY, l[DS_VI_MAX_COMPONENTS], sum = 0;
    for (int i = 0; i < p->k; i++) {
        long double u = (x - p->mean[i]) / p->std[i];
        l[i] = log_coef[i] - 0.5L * u * u;
        if (l[i] > top) top = l[i];
    }
    for (int i = 0; i < p->k; i++) sum += expl(l[i] - top);
    return top + logl(sum);
}

/* E_{N(a, b^2)}[log p] on [a - 14b, a + 14b] with n (even) Simpson panels. */
static double ref_expect_log_p(const ds_mixture *p, double a, double b, long n) {
    long double lo = a - 14.0L * b, h = 28.0L * b / n, sum = 0, log_coef[DS_VI_MAX_COMPONENTS];
    for (int i = 0; i < p->k; i++)
        log_coef[i] = logl(p->weight[i]) - logl(p->std[i]) - 0.5L * logl(2 * 3.14159265358979323846264L);
    for (long i = 0; i <= n; i++) {
        long double x = lo + h * i, z = (x - a) / b;
        long double f = expl(-0.5L * z * z) / (b * sqrtl(2 * 3.14159265358979323846264L)) * ref_log_p(p, log_coef, x);
        sum += f * (i == 0 || i == n ? 1 : (i & 1) ? 4 : 2);
    }
    return (double)(sum * h / 3);
}

enum { REF_PANELS = 40000 };

static void ref_kls(const ds_mixture *p, double mu, double sigma, double *kl_q_p, double *kl_p_q) {
    const double pi = 3.14159265358979323846;
    double h_q = log(sigma * sqrt(2 * pi * exp(1.0)));
    *kl_q_p = -h_q - ref_expect_log_p(p, mu, sigma, REF_PANELS);
    double neg_h_p = 0, cross = 0;
    for (int i = 0; i < p->k; i++) {
        neg_h_p += p->weight[i] * ref_expect_log_p(p, p->mean[i], p->std[i], REF_PANELS);
        double d = p->mean[i] - mu;
        cross += p->weight[i] * (log(sigma) + 0.5 * log(2 * pi) + (p->std[i] * p->std[i] + d * d) / (2 * sigma * sigma));
    }
    *kl_p_q = neg_h_p + cross;
}

static void test_one_component(void) {
    const double mus[] = {-20, -7.5, 0, 3, 20}, sigmas[] = {0.05, 0.3, 1, 5, 20};
    const double targets[][2] = {{0, 1}, {-20, 0.05}, {20, 20}, {3.5, 0.7}};
    double worst = 0;
    for (int t = 0; t < 4; t++) {
        ds_mixture p;
        double w = 1, m = targets[t][0], s = targets[t][1];
        CHECK(ds_mixture_init(&p, 1, &w, &m, &s) == DS_OK, "init: %s", ds_last_error());
        CHECK_NEAR(p.entropy, log(s * sqrt(2 * 3.14159265358979323846 * exp(1.0))), 1e-9, "H(p) of a Gaussian");
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                double mu = mus[i], sg = sigmas[j];
                ds_vi_result r;
                CHECK(ds_vi_eval(&p, mu, sg, 0, &r) == DS_OK, "eval: %s", ds_last_error());
                double want_qp = gauss_kl(mu, sg, m, s), want_pq = gauss_kl(m, s, mu, sg);
                CHECK_NEAR(r.kl_q_p, want_qp, 1e-6, "KL(q||p) one component");
                CHECK_NEAR(r.kl_p_q, want_pq, 1e-6, "KL(p||q) one component");
                /* closed-form gradients in (mu, log sigma) */
                double tol_g = 1e-6 * (1 + fabs(sg * sg / (s * s)));
                CHECK_NEAR(r.grad_kl_q_p[0], (mu - m) / (s * s), 1e-6 * (1 + fabs((mu - m) / (s * s))), "dKL(q||p)/dmu");
                CHECK_NEAR(r.grad_kl_q_p[1], -1 + sg * sg / (s * s), tol_g, "dKL(q||p)/dlog sigma");
                CHECK_NEAR(r.grad_kl_p_q[0], (mu - m) / (sg * sg), 1e-9 * (1 + fabs((mu - m) / (sg * sg))), "dKL(p||q)/dmu");
                worst = fmax(worst, fmax(fabs(r.kl_q_p - want_qp), fabs(r.kl_p_q - want_pq)));
            }
    }
    printf("one-component targets: worst |KL - closed form| = %.3g\n", worst);
}

static void test_against_reference(void) {
    /* the default target on the seed's grid, then random targets and q's over the stated range */
    ds_mixture p;
    CHECK(ds_mixture_default(&p) == DS_OK, "default: %s", ds_last_error());
    const double grid_mu[] = {-3, 0, 4, 7}, grid_sigma[] = {0.6, 0.8, 1.0, 3.0};
    double worst = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j += 3) {
            ds_vi_result r;
            double qp, pq;
            CHECK(ds_vi_eval(&p, grid_mu[i], grid_sigma[j], 0, &r) == DS_OK, "eval: %s", ds_last_error());
            ref_kls(&p, grid_mu[i], grid_sigma[j], &qp, &pq);
            CHECK_NEAR(r.kl_q_p, qp, 1e-6, "KL(q||p) default target");
            CHECK_NEAR(r.kl_p_q, pq, 1e-6, "KL(p||q) default target");
            worst = fmax(worst, fmax(fabs(r.kl_q_p - qp), fabs(r.kl_p_q - pq)));
        }
    ds_rng rng;
    ds_rng_seed(&rng, 7);
    for (int c = 0; c < 16; c++) {
        int k = 1 + (int)ds_rng_below(&rng, DS_VI_MAX_COMPONENTS);
        double w[DS_VI_MAX_COMPONENTS], m[DS_VI_MAX_COMPONENTS], s[DS_VI_MAX_COMPONENTS];
        for (int i = 0; i < k; i++) {
            w[i] = 0.05 + ds_rng_uniform(&rng);
            m[i] = -20 + 40 * ds_rng_uniform(&rng);
            s[i] = 0.05 * pow(400.0, ds_rng_uniform(&rng)); /* log-uniform on [0.05, 20] */
        }
        CHECK(ds_mixture_init(&p, k, w, m, s) == DS_OK, "init: %s", ds_last_error());
        double mu = -20 + 40 * ds_rng_uniform(&rng), sigma = 0.05 * pow(400.0, ds_rng_uniform(&rng));
        if (c == 0) sigma = 20; /* the extremes: widest q over narrow components, and narrowest */
        if (c == 1) sigma = 0.05;
        ds_vi_result r;
        double qp, pq;
        CHECK(ds_vi_eval(&p, mu, sigma, 0, &r) == DS_OK, "eval: %s", ds_last_error());
        ref_kls(&p, mu, sigma, &qp, &pq);
        CHECK_NEAR(r.kl_q_p, qp, 1e-6, "KL(q||p) random mixture");
        CHECK_NEAR(r.kl_p_q, pq, 1e-6, "KL(p||q) random mixture");
        worst = fmax(worst, fmax(fabs(r.kl_q_p - qp), fabs(r.kl_p_q - pq)));
    }
    printf("mixtures against the 40000-panel Simpson reference: worst |diff| = %.3g\n", worst);
}

static void test_elbo_and_gradients(void) {
    ds_mixture p;
    ds_mixture_default(&p);
    const double cases[][3] = {{-3, 0.6, 0}, {0, 1, 2.5}, {4, 3, -7}, {7, 0.8, 100}, {1.3, 15, 0.1}};
    for (int c = 0; c < 5; c++) {
        double mu = cases[c][0], sigma = cases[c][1], log_z = cases[c][2];
        ds_vi_result r, a, b;
        CHECK(ds_vi_eval(&p, mu, sigma, log_z, &r) == DS_OK, "eval: %s", ds_last_error());
        CHECK(fabs(r.elbo + r.kl_q_p - log_z) <= 1e-12 * (1 + fabs(log_z)), "ELBO + KL(q||p) = %.17g, log Z = %g", r.elbo + r.kl_q_p, log_z);
        CHECK(r.kl_q_p >= 0 && r.kl_p_q >= 0, "KLs are non-negative (%g, %g)", r.kl_q_p, r.kl_p_q);
        /* central differences in mu and log sigma */
        const double h = 1e-4;
        ds_vi_eval(&p, mu + h, sigma, log_z, &a);
        ds_vi_eval(&p, mu - h, sigma, log_z, &b);
        CHECK_NEAR(r.grad_kl_q_p[0], (a.kl_q_p - b.kl_q_p) / (2 * h), 1e-5 * (1 + fabs(r.grad_kl_q_p[0])), "dKL(q||p)/dmu vs finite difference");
        CHECK_NEAR(r.grad_kl_p_q[0], (a.kl_p_q - b.kl_p_q) / (2 * h), 1e-5 * (1 + fabs(r.grad_kl_p_q[0])), "dKL(p||q)/dmu vs finite difference");
        ds_vi_eval(&p, mu, sigma * exp(h), log_z, &a);
        ds_vi_eval(&p, mu, sigma * exp(-h), log_z, &b);
        CHECK_NEAR(r.grad_kl_q_p[1], (a.kl_q_p - b.kl_q_p) / (2 * h), 1e-5 * (1 + fabs(r.grad_kl_q_p[1])), "dKL(q||p)/dlog sigma vs finite difference");
        CHECK_NEAR(r.grad_kl_p_q[1], (a.kl_p_q - b.kl_p_q) / (2 * h), 1e-5 * (1 + fabs(r.grad_kl_p_q[1])), "dKL(p||q)/dlog sigma vs finite difference");
    }
}

static void test_monte_carlo(void) {
    ds_mixture p;
    ds_mixture_default(&p);
    const double cases[][2] = {{-3, 0.6}, {0, 1}, {4, 1}, {7, 3}, {2.5, 3.87}};
    for (int c = 0; c < 5; c++) {
        ds_vi_result r;
        ds_vi_mc mc;
        ds_vi_eval(&p, cases[c][0], cases[c][1], 1.5, &r);
        CHECK(ds_vi_mc_estimate(&p, cases[c][0], cases[c][1], 1.5, 20000, 1000 + c, &mc) == DS_OK, "mc: %s", ds_last_error());
        CHECK(fabs(mc.kl_q_p - r.kl_q_p) <= 3 * mc.kl_q_p_se, "MC KL(q||p) %g +- %g vs %g", mc.kl_q_p, mc.kl_q_p_se, r.kl_q_p);
        CHECK(fabs(mc.kl_p_q - r.kl_p_q) <= 3 * mc.kl_p_q_se, "MC KL(p||q) %g +- %g vs %g", mc.kl_p_q, mc.kl_p_q_se, r.kl_p_q);
        CHECK(fabs(mc.elbo - r.elbo) <= 3 * mc.elbo_se, "MC ELBO %g +- %g vs %g", mc.elbo, mc.elbo_se, r.elbo);
        CHECK(mc.kl_q_p_se > 0 && mc.kl_p_q_se > 0, "standard errors are positive");
    }
    /* the same seed gives the same estimate; another seed a different one */
    ds_vi_mc a, b, c;
    ds_vi_mc_estimate(&p, 0, 1, 0, 1000, 5, &a);
    ds_vi_mc_estimate(&p, 0, 1, 0, 1000, 5, &b);
    ds_vi_mc_estimate(&p, 0, 1, 0, 1000, 6, &c);
    CHECK(a.kl_q_p == b.kl_q_p && a.kl_p_q == b.kl_p_q, "MC is reproducible from its seed");
    CHECK(a.kl_q_p != c.kl_q_p, "another seed gives another estimate");
    /* a q equal to a one-component p: every sample gives exactly 0 up to rounding */
    ds_mixture g;
    double w = 1, m = 2, s = 0.5;
    ds_mixture_init(&g, 1, &w, &m, &s);
    ds_vi_mc_estimate(&g, 2, 0.5, 0, 100, 1, &a);
    CHECK(fabs(a.kl_q_p) < 1e-12 && a.kl_q_p_se < 1e-12, "q = p gives KL 0 with no noise (%g +- %g)", a.kl_q_p, a.kl_q_p_se);
    CHECK(ds_vi_mc_estimate(&p, 0, 1, 0, 1, 1, &a) == DS_ERR, "n = 1 refused (no standard error)");
}

static void test_fits(void) {
    ds_mixture p;
    ds_mixture_default(&p);
    static double path[(DS_VI_MAX_FIT_STEPS + 1) * 3];
    int rows;
    ds_vi_result r;
    /* reverse KL from the left mode stays there (mode-seeking) */
    CHECK(ds_vi_fit(&p, DS_VI_REVERSE, -3, 0.6, 1000, path, &rows, &r) == DS_OK, "fit: %s", ds_last_error());
    printf("reverse fit from (-3, 0.6): mu %.6f sigma %.6f KL(q||p) %.6f after %d steps\n", r.mu, r.sigma, r.kl_q_p, rows - 1);
    CHECK(fabs(r.mu + 3) < 0.1 && fabs(r.sigma - 0.7) < 0.1, "reverse fit stays on the left mode: mu %g sigma %g", r.mu, r.sigma);
    CHECK(fabs(r.kl_q_p + log(0.3)) < 0.05, "its KL is about -log 0.3 (got %g)", r.kl_q_p);
    CHECK(rows > 1 && rows < 1000, "the fit converged (%d rows)", rows);
    int monotone = 1;
    for (int i = 1; i < rows; i++) monotone &= path[3 * i + 2] <= path[3 * i - 1];
    CHECK(monotone, "KL decreases along the reverse path");
    CHECK(path[0] == -3 && path[1] == 0.6, "the path starts at the start point");
    CHECK(sqrt(r.sigma * r.sigma * r.grad_kl_q_p[0] * r.grad_kl_q_p[0] + 0.5 * r.grad_kl_q_p[1] * r.grad_kl_q_p[1]) < 1e-6,
          "the gradient vanishes at the reverse optimum");

    /* forward KL covers all three modes: the optimum is p's mean and variance */
    CHECK(ds_vi_fit(&p, DS_VI_FORWARD, -3, 0.6, 1000, path, &rows, &r) == DS_OK, "fit: %s", ds_last_error());
    printf("forward fit from (-3, 0.6): mu %.6f sigma %.6f KL(p||q) %.6f after %d steps\n", r.mu, r.sigma, r.kl_p_q, rows - 1);
    double mean = 0.3 * -3 + 0.5 * 4 + 0.2 * 7;
    double var = 0.3 * (0.49 + 9) + 0.5 * (1 + 16) + 0.2 * (0.36 + 49) - mean * mean;
    CHECK_NEAR(r.mu, mean, 1e-6, "forward fit mu = E_p[x]");
    CHECK_NEAR(r.sigma, sqrt(var), 1e-6, "forward fit sigma = sd_p");
    CHECK(r.mu - 2 * r.sigma < -3 && r.mu + 2 * r.sigma > 7, "forward fit covers all three modes (%g +- 2 x %g)", r.mu, r.sigma);
    monotone = 1;
    for (int i = 1; i < rows; i++) monotone &= path[3 * i + 2] <= path[3 * i - 1];
    CHECK(monotone, "KL decreases along the forward path");

    CHECK(ds_vi_fit(&p, (ds_vi_direction)3, 0, 1, 10, path, &rows, &r) == DS_ERR, "unknown direction refused");
    CHECK(ds_vi_fit(&p, DS_VI_REVERSE, 0, 1, -1, path, &rows, &r) == DS_ERR, "negative steps refused");
    CHECK(ds_vi_fit(&p, DS_VI_REVERSE, 0, 1, 0, path, &rows, &r) == DS_OK && rows == 1, "zero steps gives the start point");
}

static void test_parser(void) {
    ds_mixture p;
    const char *spec = DS_VI_DEFAULT_TARGET;
    CHECK(ds_mixture_parse(&p, spec, (long)strlen(spec)) == DS_OK, "default spec: %s", ds_last_error());
    CHECK(p.k == 3 && p.weight[1] == 0.5 && p.mean[2] == 7 && p.std[0] == 0.7, "default spec parsed");
    CHECK(ds_mixture_parse(&p, " 3 : -1e0 : 2.5 ,1:+5:.5", 100) == DS_OK, "spaces, signs, exponent: %s", ds_last_error());
    CHECK(p.k == 2 && p.weight[0] == 0.75 && p.weight[1] == 0.25 && p.mean[0] == -1 && p.std[1] == 0.5, "weights normalised");
    CHECK(ds_mixture_parse(&p, "1:0:1,junk", 5) == DS_OK && p.k == 1, "len bounds the input");
    const char *bad[] = {"", " ", "1:2", "1:2:3,", "1:2:3,,1:2:3", "0:1:1", "-1:0:1", "1:0:0", "1:0:-1", "1:nan:1", "1:inf:1",
                         "1:0x10:1", "1:1e999:1", "1:0:1 x", "1::1", "1:0:1;1:0:1", "1:101:1", "1:0:1000", "1e-300:0:1,1:0:1",
                         "1:0:1,1:0:1,1:0:1,1:0:1,1:0:1,1:0:1,1:0:1,1:0:1,1:0:1", "1.:.:1", "1:0:1e", "1:0:1:2", "1,0,1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ds_clear_error();
        CHECK(ds_mixture_parse(&p, bad[i], (long)strlen(bad[i])) == DS_ERR, "bad spec '%s' refused", bad[i]);
        CHECK(ds_last_error()[0] != '\0', "bad spec '%s' has a message", bad[i]);
    }
    ds_mixture_parse(&p, "1:0:1,1:5", 9);
    CHECK(strstr(ds_last_error(), "component 2") != NULL, "message names the component: %s", ds_last_error());
    static char long_spec[DS_VI_MAX_SPEC + 10];
    memset(long_spec, ' ', sizeof long_spec - 1);
    memcpy(long_spec, "1:0:1", 5);
    CHECK(ds_mixture_parse(&p, long_spec, (long)strlen(long_spec)) == DS_ERR, "overlong spec refused");
}

static void test_validation(void) {
    ds_mixture p;
    ds_vi_result r;
    ds_mixture_default(&p);
    CHECK(ds_vi_eval(&p, NAN, 1, 0, &r) == DS_ERR, "mu NaN refused");
    CHECK(ds_vi_eval(&p, 0, 0, 0, &r) == DS_ERR, "sigma 0 refused");
    CHECK(ds_vi_eval(&p, 0, INFINITY, 0, &r) == DS_ERR, "sigma inf refused");
    CHECK(ds_vi_eval(&p, 500, 1, 0, &r) == DS_ERR, "mu out of range refused");
    CHECK(ds_vi_eval(&p, 0, 1, NAN, &r) == DS_ERR, "log Z NaN refused");
    CHECK(ds_vi_eval(NULL, 0, 1, 0, &r) == DS_ERR, "null target refused");
    double w = 1, m = 0, s = 1;
    CHECK(ds_mixture_init(&p, 0, &w, &m, &s) == DS_ERR, "zero components refused");
    CHECK(ds_mixture_init(&p, 9, &w, &m, &s) == DS_ERR, "nine components refused");
    double params[3] = {1, 0, 1}, out[4 * 5];
    CHECK(ds_vi_curves(1, params, 0, 1, 1, 1, 5, out) == DS_ERR, "empty curve range refused");
    CHECK(ds_vi_curves(1, params, 0, 1, -1, 1, 5, out) == DS_OK, "curves: %s", ds_last_error());
    CHECK_NEAR(out[2], 1 / sqrt(2 * 3.14159265358979323846), 1e-15, "p(0) of N(0, 1)");
    CHECK_NEAR(out[5 + 2], out[2], 0, "q = p at 0");
    CHECK(ds_vi_monte_carlo(1, params, 0, 1, 0, 10.5, 1, out) == DS_ERR, "fractional n refused");
}

int main(void) {
    test_one_component();
    test_against_reference();
    test_elbo_and_gradients();
    test_monte_carlo();
    test_fits();
    test_parser();
    test_validation();
    return check_summary("test_vi");
}

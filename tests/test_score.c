/* test_score.c — scores, Langevin, reverse SDE, PF-ODE and flow sampling (score.h) against
 * closed forms, with no training.
 *
 * Data N(m, S) in 2-D with a full covariance. Under the VP forward process x_t ~ N(√ᾱ m, C_t),
 * C_t = ᾱ S + (1 − ᾱ) I, so the score is −C_t⁻¹ (x − √ᾱ m) and ε* = −√(1 − ᾱ) · score; under
 * the flow path x_t = (1 − t) x_0 + t ε, x_t ~ N((1 − t) m, (1 − t)² S + t² I) and the optimal
 * velocity E[ε − x_0 | x_t] = −m + (t I − (1 − t) S) C_t⁻¹ (x − (1 − t) m). Both fields are
 * affine in x, so an ODE (and its Euler / Heun discretisation) maps a point set by an affine
 * map: starting from points whitened to mean 0 and covariance I exactly, the result's moments
 * are the discretisation's error alone, with no sampling noise. The SDE and Langevin inject
 * noise and are checked within k standard errors. Also: the closed forms against a finite-
 * difference gradient of log q_t and against the mixture's exact fields; the order of Euler
 * (1) and Heun (2) measured on the exact velocity; the wrong model family refused by name;
 * the flow objective of the point trainer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "gmm_denoiser.h"
#include "mlp_train.h"
#include "model.h"
#include "rng.h"
#include "sampler_models.h"
#include "schedule.h"
#include "score.h"
#include "shapes.h"
#include "test_files.h"

static ds_schedule sched;
static const double M[2] = {0.8, -0.5};
static const double S[2][2] = {{0.5, 0.3}, {0.3, 0.4}};

/* the closed forms for a target N(m, cov) */
typedef struct {
    double m[2], cov[2][2];
    long evaluations;
} gauss;

static void inverse2(const double a[2][2], double out[2][2]) {
    const double det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    out[0][0] = a[1][1] / det, out[0][1] = -a[0][1] / det, out[1][0] = -a[1][0] / det, out[1][1] = a[0][0] / det;
}

/* lower Cholesky factor of a 2x2 SPD matrix */
static void cholesky2(const double a[2][2], double L[2][2]) {
    L[0][0] = sqrt(a[0][0]);
    L[0][1] = 0;
    L[1][0] = a[1][0] / L[0][0];
    L[1][1] = sqrt(a[1][1] - L[1][0] * L[1][0]);
}

/* C = sa² cov + sn² I */
static void marginal_cov(const gauss *g, double sa, double sn, double C[2][2]) {
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) C[i][j] = sa * sa * g->cov[i][j] + (i == j ? sn * sn : 0.0);
}

static void gauss_score_at(const gauss *g, double a, const double x[2], double s[2]) {
    double C[2][2], P[2][2];
    marginal_cov(g, sqrt(a), sqrt(1.0 - a), C);
    inverse2(C, P);
    const double d0 = x[0] - sqrt(a) * g->m[0], d1 = x[1] - sqrt(a) * g->m[1];
    s[0] = -(P[0][0] * d0 + P[0][1] * d1);
    s[1] = -(P[1][0] * d0 + P[1][1] * d1);
}

static int gauss_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    (void)cls;
    gauss *g = ctx;
    g->evaluations += B;
    for (int b = 0; b < B; b++) {
        const double a = sched.alpha_bar[(int)t[b] - 1], xb[2] = {x[2 * b], x[2 * b + 1]};
        double s[2];
        gauss_score_at(g, a, xb, s);
        for (int j = 0; j < 2; j++) eps[2 * b + j] = (float)(-sqrt(1.0 - a) * s[j]);
    }
    return DS_OK;
}

static void gauss_velocity_at(const gauss *g, double t, const double x[2], double v[2]) {
    double C[2][2], P[2][2], K[2][2], A[2][2];
    marginal_cov(g, 1.0 - t, t, C);
    inverse2(C, P);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) K[i][j] = (i == j ? t : 0.0) - (1.0 - t) * g->cov[i][j];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) A[i][j] = K[i][0] * P[0][j] + K[i][1] * P[1][j];
    const double d0 = x[0] - (1.0 - t) * g->m[0], d1 = x[1] - (1.0 - t) * g->m[1];
    for (int i = 0; i < 2; i++) v[i] = -g->m[i] + A[i][0] * d0 + A[i][1] * d1;
}

static int gauss_velocity(void *ctx, const float *x, const float *t, int B, float *v) {
    gauss *g = ctx;
    g->evaluations += B;
    for (int b = 0; b < B; b++) {
        const double xb[2] = {x[2 * b], x[2 * b + 1]};
        double vb[2];
        gauss_velocity_at(g, t[b], xb, vb);
        v[2 * b] = (float)vb[0], v[2 * b + 1] = (float)vb[1];
    }
    return DS_OK;
}

static gauss target(void) {
    gauss g = {.m = {M[0], M[1]}, .cov = {{S[0][0], S[0][1]}, {S[1][0], S[1][1]}}};
    return g;
}

static ds_field eps_field(gauss *g) {
    return (ds_field){.schedule = &sched, .eps = gauss_eps, .eps_ctx = g, .D = 2, .what = "the Gaussian"};
}
static ds_field velocity_field(gauss *g) {
    return (ds_field){.velocity = gauss_velocity, .velocity_ctx = g, .D = 2, .what = "the Gaussian"};
}

/* mean (2) and covariance (3: xx, xy, yy) of n points */
static void moments(const float *x, int n, double mean[2], double cov[3]) {
    mean[0] = mean[1] = 0;
    for (int i = 0; i < n; i++) mean[0] += x[2 * i], mean[1] += x[2 * i + 1];
    mean[0] /= n, mean[1] /= n;
    cov[0] = cov[1] = cov[2] = 0;
    for (int i = 0; i < n; i++) {
        double a = x[2 * i] - mean[0], b = x[2 * i + 1] - mean[1];
        cov[0] += a * a, cov[1] += a * b, cov[2] += b * b;
    }
    for (int k = 0; k < 3; k++) cov[k] /= n - 1;
}

/* the moments of x against N(mean, cov) within tol_mean / tol_cov; returns the largest error */
static double check_moments(const float *x, int n, const double mean[2], const double cov[2][2], double tol_mean,
                            double tol_cov, const char *what) {
    double mu[2], c[3];
    moments(x, n, mu, c);
    const double want[3] = {cov[0][0], cov[0][1], cov[1][1]};
    double worst = 0;
    for (int j = 0; j < 2; j++) {
        CHECK(fabs(mu[j] - mean[j]) <= tol_mean, "%s: mean[%d] %.5f, want %.5f (tol %.3g)", what, j, mu[j], mean[j], tol_mean);
        worst = fmax(worst, fabs(mu[j] - mean[j]));
    }
    for (int k = 0; k < 3; k++) {
        CHECK(fabs(c[k] - want[k]) <= tol_cov, "%s: cov[%d] %.5f, want %.5f (tol %.3g)", what, k, c[k], want[k], tol_cov);
        worst = fmax(worst, fabs(c[k] - want[k]));
    }
    return worst;
}

/* n normals standardised to sample mean 0 and sample covariance I exactly */
static float *whitened(int n, uint64_t seed) {
    float *z = malloc(sizeof(float) * 2 * (size_t)n);
    ds_rng r;
    ds_rng_seed(&r, seed);
    double *d = malloc(sizeof(double) * 2 * (size_t)n);
    for (long i = 0; i < 2L * n; i++) d[i] = ds_rng_normal(&r);
    double mu[2] = {0, 0}, C[2][2] = {{0, 0}, {0, 0}}, L[2][2];
    for (int i = 0; i < n; i++) mu[0] += d[2 * i] / n, mu[1] += d[2 * i + 1] / n;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) C[a][b] += (d[2 * i + a] - mu[a]) * (d[2 * i + b] - mu[b]) / (n - 1);
    cholesky2(C, L);
    for (int i = 0; i < n; i++) { /* z = L⁻¹ (d − mu) */
        double a = d[2 * i] - mu[0], b = d[2 * i + 1] - mu[1];
        double z0 = a / L[0][0], z1 = (b - L[1][0] * z0) / L[1][1];
        z[2 * i] = (float)z0, z[2 * i + 1] = (float)z1;
    }
    free(d);
    return z;
}

/* x = shift + L z for the points z (n, 2) in place */
static void affine(float *z, int n, const double shift[2], const double C[2][2]) {
    double L[2][2];
    cholesky2(C, L);
    for (int i = 0; i < n; i++) {
        double a = z[2 * i], b = z[2 * i + 1];
        z[2 * i] = (float)(shift[0] + L[0][0] * a);
        z[2 * i + 1] = (float)(shift[1] + L[1][0] * a + L[1][1] * b);
    }
}

/* runs the paths and returns a copy of the last frame (n, 2), or NULL with a failed check */
static float *run_paths(const ds_field *f, ds_path_kind kind, int steps, const float *start, int n, double *times) {
    ds_path_params p;
    ds_path_params_init(&p);
    p.kind = kind;
    p.steps = steps;
    p.seed = 11;
    float *frames = malloc(sizeof(float) * 2 * (size_t)n * (steps + 1));
    int F = ds_paths(f, &p, start, n, frames, times);
    CHECK(F == steps + 1, "%s: %d frames (%s)", ds_path_kind_name(kind), F, ds_last_error());
    if (F != steps + 1) { free(frames); return NULL; }
    float *last = malloc(sizeof(float) * 2 * (size_t)n);
    memcpy(last, frames + 2L * n * steps, sizeof(float) * 2 * (size_t)n);
    free(frames);
    return last;
}

/* ---- the closed forms themselves ---- */

static double log_q(const gauss *g, double a, double x0, double x1) {
    double C[2][2], P[2][2];
    marginal_cov(g, sqrt(a), sqrt(1.0 - a), C);
    inverse2(C, P);
    const double d0 = x0 - sqrt(a) * g->m[0], d1 = x1 - sqrt(a) * g->m[1];
    return -0.5 * (P[0][0] * d0 * d0 + 2 * P[0][1] * d0 * d1 + P[1][1] * d1 * d1);
}

static void test_closed_forms(void) {
    gauss g = target();
    /* the score is the gradient of log q_t (central differences, h = 1e-5) */
    const double pts[3][2] = {{0.3, -0.2}, {1.5, 0.7}, {-1.0, -1.3}};
    const int ts[3] = {20, 250, 900};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            const double a = sched.alpha_bar[ts[k] - 1], h = 1e-5, *x = pts[i];
            double s[2];
            gauss_score_at(&g, a, x, s);
            CHECK_NEAR(s[0], (log_q(&g, a, x[0] + h, x[1]) - log_q(&g, a, x[0] - h, x[1])) / (2 * h), 1e-5 * (1 + fabs(s[0])), "score x");
            CHECK_NEAR(s[1], (log_q(&g, a, x[0], x[1] + h) - log_q(&g, a, x[0], x[1] - h)) / (2 * h), 1e-5 * (1 + fabs(s[1])), "score y");
        }
    /* a one-component mixture with a diagonal covariance: its exact score and velocity (score.h
     * through gmm_denoiser) equal the closed forms */
    gauss d = {.m = {0.8, -0.5}, .cov = {{0.5, 0}, {0, 0.2}}};
    const double w = 1;
    const float mean[2] = {0.8f, -0.5f}, var[2] = {0.5f, 0.2f};
    ds_gmm *mix = ds_gmm_create(&sched, 1, 2, &w, mean, var, NULL);
    ds_field f;
    ds_field_of_gmm(mix, &f);
    const float x[6] = {0.3f, -0.2f, 1.5f, 0.7f, -1.0f, -1.3f};
    float out[6];
    for (int k = 0; k < 3; k++) {
        CHECK(ds_score(&f, ts[k], x, 3, out) == DS_OK, "mixture score: %s", ds_last_error());
        for (int i = 0; i < 3; i++) {
            const double xi[2] = {x[2 * i], x[2 * i + 1]};
            double s[2];
            gauss_score_at(&d, sched.alpha_bar[ts[k] - 1], xi, s);
            /* ε* is rounded to float, and the score divides it by √(1 − ᾱ) once more than E[x_0 | x_t] */
            for (int j = 0; j < 2; j++)
                CHECK_NEAR(out[2 * i + j], s[j], 1e-6 * (1 + fabs(s[j])) / (1 - sched.alpha_bar[ts[k] - 1]), "mixture score = closed form");
        }
    }
    const double flow_ts[3] = {0.05, 0.5, 1.0};
    for (int k = 0; k < 3; k++) {
        CHECK(ds_velocity(&f, flow_ts[k], x, 3, out) == DS_OK, "mixture velocity: %s", ds_last_error());
        for (int i = 0; i < 3; i++) {
            const double xi[2] = {x[2 * i], x[2 * i + 1]};
            double v[2];
            gauss_velocity_at(&d, flow_ts[k], xi, v);
            for (int j = 0; j < 2; j++) CHECK_NEAR(out[2 * i + j], v[j], 2e-5 * (1 + fabs(v[j])), "mixture velocity = closed form");
        }
    }
    CHECK(ds_velocity(&f, 0.0, x, 3, out) == DS_ERR && strstr(ds_last_error(), "t must be in (0, 1]"), "t = 0 refused: %s",
          ds_last_error());
    ds_gmm_free(mix);
}

/* ---- ODEs from whitened noise ---- */

static void test_odes_map_noise_to_target(void) {
    gauss g = target();
    const int n = 4000;
    /* flow: x_1 ~ N(0, I) exactly */
    static const struct { ds_path_kind kind; int steps; double tol_mean, tol_cov; } FLOW[] = {
        /* measured (largest error, always the covariance, which the discretisation shrinks):
         * Euler 20: 0.063, Euler 100: 0.013, Heun 10: 0.010, Heun 20: 0.0023 — the means are
         * within 1e-3; tolerances 1.5 times the measured errors */
        {DS_PATH_FLOW_EULER, 20, 0.01, 0.095}, {DS_PATH_FLOW_EULER, 100, 0.003, 0.02},
        {DS_PATH_FLOW_HEUN, 10, 0.003, 0.015}, {DS_PATH_FLOW_HEUN, 20, 0.001, 0.0035}};
    ds_field vf = velocity_field(&g);
    for (int c = 0; c < 4; c++) {
        float *z = whitened(n, 5);
        g.evaluations = 0;
        float *x = run_paths(&vf, FLOW[c].kind, FLOW[c].steps, z, n, NULL);
        char what[64];
        snprintf(what, sizeof what, "%s %d steps", ds_path_kind_name(FLOW[c].kind), FLOW[c].steps);
        if (x) {
            double e = check_moments(x, n, M, S, FLOW[c].tol_mean, FLOW[c].tol_cov, what);
            printf("  %-22s largest moment error %.2e\n", what, e);
        }
        const long per_point = FLOW[c].kind == DS_PATH_FLOW_EULER ? FLOW[c].steps : 2 * FLOW[c].steps - 1;
        CHECK(g.evaluations == per_point * n, "%s: %ld evaluations, want %ld", what, g.evaluations, per_point * n);
        free(x);
        free(z);
    }
    /* PF-ODE: from the exact x_T marginal N(√ᾱ_T m, C_T) */
    ds_field ef = eps_field(&g);
    /* measured 2.1e-3 and 4.4e-5 (the last step, to t = 0, is an Euler step, as DDIM's) */
    static const struct { int steps; double tol; } ODE[] = {{50, 0.004}, {200, 1e-4}};
    for (int c = 0; c < 2; c++) {
        float *z = whitened(n, 6);
        const double aT = sched.alpha_bar[sched.T - 1], shift[2] = {sqrt(aT) * M[0], sqrt(aT) * M[1]};
        double C[2][2];
        marginal_cov(&g, sqrt(aT), sqrt(1 - aT), C);
        affine(z, n, shift, C);
        double times[201];
        float *x = run_paths(&ef, DS_PATH_ODE_HEUN, ODE[c].steps, z, n, times);
        char what[64];
        snprintf(what, sizeof what, "ode-heun %d steps", ODE[c].steps);
        if (x) {
            double e = check_moments(x, n, M, S, ODE[c].tol, ODE[c].tol, what);
            printf("  %-22s largest moment error %.2e\n", what, e);
        }
        CHECK(times[0] == 1000 && times[ODE[c].steps] == 0 && times[ODE[c].steps - 1] == 1, "ode times %g .. %g", times[0],
              times[ODE[c].steps]);
        free(x);
        free(z);
    }
}

/* ---- Langevin ---- */

static void test_langevin(void) {
    gauss g = target();
    ds_field ef = eps_field(&g);
    const int n = 10000, t = 50, block = 100, blocks = 8;
    const double step = 0.5;
    /* q_t at level t; ULA's stationary covariance is C (I − δP/4)⁻¹, a bias of δλ/4 ≤ 0.04 C here */
    const double a = sched.alpha_bar[t - 1], mean[2] = {sqrt(a) * M[0], sqrt(a) * M[1]};
    double C[2][2];
    marginal_cov(&g, sqrt(a), sqrt(1 - a), C);
    float *frames = malloc(sizeof(float) * 2 * (size_t)n * (block + 1));
    float *x = malloc(sizeof(float) * 2 * (size_t)n);
    ds_rng r;
    ds_rng_seed(&r, 3);
    ds_rng_fill_normal_f32(&r, x, 2L * n);
    /* restarted from the last frame with a new seed each block: 800 steps in all */
    for (int k = 0; k < blocks; k++) {
        int F = ds_langevin_chain(&ef, t, step, block, 100 + k, x, n, frames);
        CHECK(F == block + 1, "langevin: %d frames (%s)", F, ds_last_error());
        if (F != block + 1) break;
        CHECK(memcmp(frames, x, sizeof(float) * 2 * (size_t)n) == 0, "frame 0 is the start");
        memcpy(x, frames + 2L * n * block, sizeof(float) * 2 * (size_t)n);
    }
    /* standard errors: mean sqrt(0.75 / n) = 0.009, covariance ~ 0.75 sqrt(2 / n) = 0.011 */
    double e = check_moments(x, n, mean, C, 0.025, 0.04, "langevin at t = 50");
    printf("  langevin t=50 800 steps: largest moment error vs q_t %.3f\n", e);
    /* same seed, same start: the same chains; another seed: others */
    float *again = malloc(sizeof(float) * 2 * (size_t)n * (block + 1));
    ds_langevin_chain(&ef, t, step, 4, 7, x, n, frames);
    ds_langevin_chain(&ef, t, step, 4, 7, x, n, again);
    CHECK(memcmp(frames, again, sizeof(float) * 2 * (size_t)n * 5) == 0, "a seed gives the same chains");
    ds_langevin_chain(&ef, t, step, 4, 8, x, n, again);
    CHECK(memcmp(frames + 2L * n * 4, again + 2L * n * 4, sizeof(float) * 2 * (size_t)n) != 0, "another seed restarts them");
    /* a chain's path does not depend on how many run beside it */
    ds_langevin_chain(&ef, t, step, 4, 7, x, 10, again);
    CHECK(memcmp(frames + 2L * n * 4, again + 2L * 10 * 4, sizeof(float) * 20) == 0, "chain i is the same for any n");
    /* annealed (NCSN-style) from N(0, I): 50 levels of 40 steps down to t = 1 reach the data */
    ds_path_params p;
    ds_path_params_init(&p);
    p.kind = DS_PATH_LANGEVIN, p.steps = 50, p.per_level = 40, p.step_size = 1.0, p.seed = 4;
    float *ann = realloc(frames, sizeof(float) * 2 * (size_t)n * (p.steps + 1));
    const int na = 5000; /* standard errors 0.01 (mean), 0.011 (covariance) */
    ds_rng_fill_normal_f32(&r, x, 2L * na);
    int F = ds_paths(&ef, &p, x, na, ann, NULL);
    CHECK(F == 51, "annealed langevin: %d (%s)", F, ds_last_error());
    if (F == 51) {
        e = check_moments(ann + 2L * na * 50, na, M, S, 0.035, 0.05, "annealed langevin");
        printf("  annealed langevin 50x40: largest moment error vs the data %.3f\n", e);
    }
    free(ann);
    free(again);
    free(x);
}

/* ---- the SDE and its ODE twin share the marginals q_t ---- */

static void test_sde_ode_marginals(void) {
    gauss g = target();
    ds_field ef = eps_field(&g);
    const int n = 5000, steps = 1000;
    const double aT = sched.alpha_bar[sched.T - 1], shift[2] = {sqrt(aT) * M[0], sqrt(aT) * M[1]};
    double CT[2][2];
    marginal_cov(&g, sqrt(aT), sqrt(1 - aT), CT);
    float *zs = malloc(sizeof(float) * 2 * (size_t)n), *zo = whitened(n, 9);
    ds_rng r;
    ds_rng_seed(&r, 12);
    ds_rng_fill_normal_f32(&r, zs, 2L * n);
    affine(zs, n, shift, CT);
    affine(zo, n, shift, CT);
    float *fs = malloc(sizeof(float) * 2 * (size_t)n * (steps + 1)), *fo = malloc(sizeof(float) * 2 * (size_t)n * (steps + 1));
    double ts[1001], to[1001];
    ds_path_params p;
    ds_path_params_init(&p);
    p.steps = steps, p.seed = 21;
    p.kind = DS_PATH_SDE;
    int ok = ds_paths(&ef, &p, zs, n, fs, ts) == steps + 1;
    CHECK(ok, "sde: %s", ds_last_error());
    p.kind = DS_PATH_ODE_HEUN;
    ok = ok && ds_paths(&ef, &p, zo, n, fo, to) == steps + 1;
    CHECK(ok, "ode: %s", ds_last_error());
    /* every timestep (h = β_t <= 0.02). Standard errors of the SDE's moments at n = 5000: mean
     * <= 0.013, covariance <= 0.016, so 3 of them; Euler–Maruyama's bias is O(h) <= 0.01 here */
    const int frames[] = {200, 400, 600, 800, 950, 1000};
    for (int k = 0; k < 6 && ok; k++) {
        const int f = frames[k], t = (int)ts[f];
        CHECK(ts[f] == to[f], "same time grid");
        const double a = t ? sched.alpha_bar[t - 1] : 1.0, mean[2] = {sqrt(a) * M[0], sqrt(a) * M[1]};
        double C[2][2];
        marginal_cov(&g, sqrt(a), sqrt(1 - a), C);
        char what[64];
        snprintf(what, sizeof what, "sde at t = %d", t);
        double es = check_moments(fs + 2L * n * f, n, mean, C, 0.04, 0.05, what);
        snprintf(what, sizeof what, "ode at t = %d", t);
        double eo = check_moments(fo + 2L * n * f, n, mean, C, 0.005, 0.005, what);
        printf("  t = %3d: largest moment error vs q_t: sde %.4f, ode %.4f\n", t, es, eo);
    }
    free(fs), free(fo), free(zs), free(zo);
}

/* ---- orders of convergence on the exact velocity ---- */

static double final_error(const ds_field *f, ds_path_kind kind, int steps, const float *start, int n, const float *ref) {
    float *x = run_paths(f, kind, steps, start, n, NULL);
    double e = 0;
    for (long i = 0; x && i < 2L * n; i++) e = fmax(e, fabs(x[i] - ref[i]));
    free(x);
    return e;
}

static void test_convergence_order(void) {
    gauss g = target();
    ds_field vf = velocity_field(&g);
    const int n = 64;
    float *start = whitened(n, 13);
    float *ref = run_paths(&vf, DS_PATH_FLOW_HEUN, 1000, start, n, NULL); /* error ~ 1e-7 */
    if (!ref) { free(start); return; }
    const ds_path_kind kinds[2] = {DS_PATH_FLOW_EULER, DS_PATH_FLOW_HEUN};
    for (int k = 0; k < 2; k++) {
        double e[5], order_sum = 0;
        printf("  %s:", ds_path_kind_name(kinds[k]));
        for (int i = 0; i < 5; i++) {
            e[i] = final_error(&vf, kinds[k], 4 << i, start, n, ref);
            printf(" %d steps %.2e%s", 4 << i, e[i], i < 4 ? "," : "");
        }
        for (int i = 1; i < 5; i++) order_sum += log2(e[i - 1] / e[i]);
        const double order = order_sum / 4, want = k ? 2.0 : 1.0;
        printf("  -> order %.3f\n", order);
        CHECK(fabs(order - want) <= 0.15, "%s: measured order %.3f, want %.0f +- 0.15", ds_path_kind_name(kinds[k]), order, want);
    }
    free(ref);
    free(start);
}

/* ---- the wrong family, bad input ---- */

static void expect_error(int rc, const char *fragment, const char *what) {
    CHECK(rc < 0 && strstr(ds_last_error(), fragment), "%s: rc %d, message '%s' lacks '%s'", what, rc, ds_last_error(), fragment);
}

static void test_refusals(void) {
    gauss g = target();
    ds_field ef = eps_field(&g), vf = velocity_field(&g);
    ds_path_params p;
    ds_path_params_init(&p);
    float start[4] = {0, 0, 1, 1}, frames[4 * 1001];
    p.kind = DS_PATH_FLOW_EULER;
    expect_error(ds_paths(&ef, &p, start, 2, frames, NULL), "predicts the noise ε, not a flow velocity: flow-euler needs",
                 "flow sampler on an ε field");
    p.kind = DS_PATH_SDE;
    expect_error(ds_paths(&vf, &p, start, 2, frames, NULL), "predicts the flow velocity, not the noise: sde needs an ε-model",
                 "sde on a velocity field");
    expect_error(ds_score(&vf, 10, start, 2, frames), "the score needs an ε-model", "score of a velocity field");
    p.kind = DS_PATH_ODE_HEUN;
    p.steps = 0;
    expect_error(ds_paths(&ef, &p, start, 2, frames, NULL), "steps must be between 1 and 1000 (got 0)", "0 steps");
    p.steps = 10, p.t_start = 5;
    expect_error(ds_paths(&ef, &p, start, 2, frames, NULL), "steps must be between 1 and 5 (got 10)", "more steps than t_start");
    p.t_start = 2.5;
    expect_error(ds_paths(&ef, &p, start, 2, frames, NULL), "start timestep must be a whole number in 1..1000 (got 2.5)", "t_start");
    p.kind = DS_PATH_FLOW_HEUN, p.t_start = 1.5;
    expect_error(ds_paths(&vf, &p, start, 2, frames, NULL), "flow start time must be in (0, 1] (got 1.5)", "flow t_start");
    p.kind = DS_PATH_LANGEVIN, p.t_start = 0, p.step_size = 0;
    expect_error(ds_paths(&ef, &p, start, 2, frames, NULL), "Langevin step size must be between", "step size 0");
    start[1] = NAN;
    expect_error(ds_langevin_chain(&ef, 10, 0.1, 5, 1, start, 2, frames), "start point: value 1 is not finite", "NaN start");
    start[1] = 0;
    expect_error(ds_langevin_chain(&ef, 1001, 0.1, 5, 1, start, 2, frames), "Langevin noise level t must be between 1 and 1000",
                 "level");
    ds_path_kind k;
    expect_error(ds_path_kind_parse("euler", &k), "unknown path sampler 'euler' (expected one of langevin, sde, ode-heun, "
                                                  "flow-euler, flow-heun)", "parse");
    /* models: a flow model under an ε sampler, an ε-model under a flow sampler */
    ds_model *m = ds_model_random(DS_MODEL_MLP, NULL, 1);
    const float t1[2] = {0.5f, 0.5f};
    float out[4];
    expect_error(ds_model_velocity(m, start, t1, 2, out), "this model predicts eps, not the flow velocity", "velocity of an ε-model");
    CHECK(ds_model_set_prediction(m, DS_PREDICT_FLOW) == DS_OK, "flow prediction accepted: %s", ds_last_error());
    const float t500[2] = {500, 500};
    expect_error(ds_model_eps(m, start, t500, NULL, 2, out), "this model predicts the flow velocity, not the noise", "ε of a flow model");
    CHECK(ds_model_velocity(m, start, t1, 2, out) == DS_OK, "flow model velocity: %s", ds_last_error());
    ds_field mf;
    static ds_schedule msch;
    CHECK(ds_field_of_model(m, &msch, &mf) == DS_OK && mf.velocity && !mf.eps, "a flow model's field is a velocity");
    /* a v-model: the ε samplers get eps = sqrt(1 - abar) x + sqrt(abar) v of the network's own v */
    CHECK(ds_model_set_prediction(m, DS_PREDICT_V) == DS_OK, "v prediction accepted: %s", ds_last_error());
    const float tv[2] = {500, 37.5f};
    float v[4], eps[4];
    CHECK(ds_model_forward(m, start, tv, NULL, 2, v) == DS_OK && ds_model_eps(m, start, tv, NULL, 2, eps) == DS_OK,
          "v-model forward and eps: %s", ds_last_error());
    static ds_schedule lin;
    ds_schedule_init(&lin, DS_SCHEDULE_LINEAR, 1000);
    double worst = 0;
    for (int b = 0; b < 2; b++) {
        /* t = 37.5 lies halfway between two steps: abar halfway between theirs */
        const double abar = b == 0 ? lin.alpha_bar[499] : 0.5 * (lin.alpha_bar[36] + lin.alpha_bar[37]);
        for (int i = 0; i < 2; i++) {
            const double want = sqrt(1 - abar) * start[2 * b + i] + sqrt(abar) * v[2 * b + i];
            worst = fmax(worst, fabs(eps[2 * b + i] - want));
        }
    }
    CHECK(worst <= 1e-6, "v-model: eps = sqrt(1 - abar) x + sqrt(abar) v, worst |diff| %.2e (<= 1e-6)", worst);
    {   /* the file says v, and the model read back gives the same eps */
        uint8_t *bytes;
        size_t nb;
        float again[4];
        ds_model *r = ds_model_to_bytes(m, DS_DTYPE_F32, &bytes, &nb) == DS_OK ? ds_model_from_bytes(bytes, nb) : NULL;
        CHECK(r && ds_model_prediction(r) == DS_PREDICT_V && ds_model_eps(r, start, tv, NULL, 2, again) == DS_OK &&
                  !memcmp(again, eps, sizeof eps),
              "a v-model's file round trip: prediction v, the same eps");
        ds_model_free(r);
        free(bytes);
    }
    CHECK(ds_model_set_prediction(m, DS_PREDICT_EPS) == DS_OK && ds_model_eps(m, start, tv, NULL, 2, out) == DS_OK &&
              !memcmp(out, v, sizeof out),
          "back to eps-prediction: the network's output unchanged");
    ds_model_free(m);
}

/* ---- chains and paths at a small level, started far from the data (the score widget's, issue #16) ----
 * Started on a grid over the plot, a chain at t = 40 on the cow MLP shipped until stop 16
 * (trained at lr 1e-2, kept as tests/golden/mlp_wild_cow.dsw) diverged ("the model's ε: value 36 is
 * not finite"): off q_40's support the network was never trained, its ε̂ points outward, and
 * −ε̂ / √(1 − ᾱ_t) pushes the chain away at any step size. Annealed from T down to t first (Song &
 * Ermon 2019), the chains reach the shape while the field is right; the drift cap keeps the few
 * that still stray finite. Its reverse-SDE and ODE paths from a far start at t ≤ 80 reached
 * 10^11–10^23; the shipped cow (lr 5e-3 since stop 16) and the other four shapes keep every path on the plot. */

enum { CHAIN_GRID = 20, CHAIN_LEVELS = 20, CHAIN_PER_LEVEL = 2, CHAIN_STEPS = 80 };
static const double CHAIN_STEP = 0.2, PLOT = 3.5;

/* the widget's chains: annealed from T to t, then CHAIN_STEPS at t; the last frame into out (n, 2) */
static int widget_chains(const ds_field *f, int t, const float *grid, int n, float *out) {
    ds_path_params p;
    ds_path_params_init(&p);
    p.kind = DS_PATH_LANGEVIN, p.t_start = f->schedule->T, p.t_end = t, p.step_size = CHAIN_STEP;
    p.per_level = CHAIN_PER_LEVEL, p.seed = 11;
    p.steps = CHAIN_LEVELS < f->schedule->T - t + 1 ? CHAIN_LEVELS : f->schedule->T - t + 1;
    float *warm = malloc(sizeof(float) * 2 * (size_t)n * (p.steps + 1)), *chain = malloc(sizeof(float) * 2 * (size_t)n * (CHAIN_STEPS + 1));
    int rc = ds_paths(f, &p, grid, n, warm, NULL) == p.steps + 1 &&
                     ds_langevin_chain(f, t, CHAIN_STEP, CHAIN_STEPS, 12, warm + 2L * n * p.steps, n, chain) == CHAIN_STEPS + 1
                 ? DS_OK
                 : DS_ERR;
    if (!rc) memcpy(out, chain + 2L * n * CHAIN_STEPS, sizeof(float) * 2 * (size_t)n);
    free(warm), free(chain);
    return rc;
}

/* chains of the last frame x (n, 2) against the shape's points: the median distance to the
 * nearest point into *median, the number not finite into *lost and off the plot into *off */
static void chain_gaps(const float *x, int n, const float *shape, int m, double *median, int *lost, int *off) {
    double *gap = malloc(sizeof(double) * n);
    *lost = *off = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[2 * i]) || !isfinite(x[2 * i + 1])) { (*lost)++; gap[i] = 1e300; continue; }
        if (fabs(x[2 * i]) > PLOT || fabs(x[2 * i + 1]) > PLOT) (*off)++;
        double best = 1e300;
        for (int j = 0; j < m; j++) {
            double dx = x[2 * i] - shape[2 * j], dy = x[2 * i + 1] - shape[2 * j + 1];
            if (dx * dx + dy * dy < best) best = dx * dx + dy * dy;
        }
        gap[i] = sqrt(best);
    }
    for (int i = 1; i < n; i++) /* insertion sort: n = 400 */
        for (int k = i; k > 0 && gap[k] < gap[k - 1]; k--) { double g = gap[k]; gap[k] = gap[k - 1]; gap[k - 1] = g; }
    *median = gap[n / 2];
    free(gap);
}

/* a model from the source tree (DS_SOURCE_DIR, default .), or NULL after a failed check */
static ds_model *source_model(const char *name) {
    char path[1024];
    const char *src = getenv("DS_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", name);
    size_t size;
    uint8_t *bytes = read_file(path, &size);
    ds_model *m = bytes ? ds_model_from_bytes(bytes, size) : NULL;
    free(bytes);
    CHECK(m != NULL, "%s loads (%s)", path, ds_last_error());
    return m;
}

static void test_langevin_small_levels(void) {
    ds_model *m = source_model("weights/points-cow.dsw"), *wild = source_model("tests/golden/mlp_wild_cow.dsw");
    if (!m || !wild) return;
    static ds_schedule msch, wsch;
    ds_field learned, exact, wild_field;
    CHECK(ds_field_of_model(m, &msch, &learned) == DS_OK, "cow field: %s", ds_last_error());
    CHECK(ds_field_of_model(wild, &wsch, &wild_field) == DS_OK, "wild cow field: %s", ds_last_error());
    /* the score widget's exact stand-in: a Gaussian of variance 0.01 on each of 400 points (seed 7) */
    const int m_pts = 400, n = CHAIN_GRID * CHAIN_GRID;
    float *shape = malloc(sizeof(float) * 2 * m_pts), *vars = malloc(sizeof(float) * 2 * m_pts);
    double *w = malloc(sizeof(double) * m_pts);
    ds_shape_points(DS_SHAPE_COW, m_pts, 7, shape);
    for (int i = 0; i < m_pts; i++) w[i] = 1, vars[2 * i] = vars[2 * i + 1] = 0.01f;
    ds_gmm *g = ds_gmm_create(&msch, m_pts, 2, w, shape, vars, NULL);
    ds_field_of_gmm(g, &exact);
    float *grid = malloc(sizeof(float) * 2 * n), *end = malloc(sizeof(float) * 2 * n);
    ds_grid_points(-PLOT, PLOT, CHAIN_GRID, grid);
    /* the cause: at t = 40 the plain chain from the grid is pushed off the plot (before the drift
     * cap it overflowed: "the model's ε: value 36 is not finite") */
    float *plain = malloc(sizeof(float) * 2 * (size_t)n * (CHAIN_STEPS + 1));
    int F = ds_langevin_chain(&wild_field, 40, CHAIN_STEP, CHAIN_STEPS, 12, grid, n, plain);
    double median;
    int lost, off;
    CHECK(F == CHAIN_STEPS + 1, "the plain chain at t = 40 stays finite (the drift cap): %s", ds_last_error());
    chain_gaps(plain + 2L * n * CHAIN_STEPS, n, shape, m_pts, &median, &lost, &off);
    printf("  the wild cow's chains at t=40 without annealing: %d of %d off the plot, %d not finite\n", off, n, lost);
    CHECK(lost == 0 && off > n / 10, "without annealing the wild cow's chains at t = 40 leave the plot (%d of %d)", off, n);
    free(plain);
    /* with it: finite, on the plot (all but 1 %), and near the shape at every level */
    const int levels[] = {1, 2, 5, 10, 40, 90, 300, 1000};
    for (int k = 0; k < (int)(sizeof levels / sizeof *levels); k++) {
        const int t = levels[k];
        const double sigma = sqrt(1 - msch.alpha_bar[t - 1]), bound = 0.15 + 1.5 * sigma;
        for (int which = 0; which < 2; which++) {
            const ds_field *f = which ? &learned : &exact;
            const char *name = which ? "learned" : "exact";
            int rc = widget_chains(f, t, grid, n, end);
            CHECK(rc == DS_OK, "%s chains at t = %d run (%s)", name, t, ds_last_error());
            if (rc) continue;
            chain_gaps(end, n, shape, m_pts, &median, &lost, &off);
            printf("  %s chains at t=%d: median distance to the shape %.3f (bound %.3f), %d off the plot\n", name, t, median, bound, off);
            CHECK(lost == 0 && off <= n / 100, "%s chains at t = %d: finite (%d lost), on the plot (%d off)", name, t, lost, off);
            CHECK(median < bound, "%s chains at t = %d: median distance %.3f < %.3f", name, t, median, bound);
        }
    }
    /* the end level is Langevin's alone, and it lies between 1 and the start */
    ds_path_params p;
    ds_path_params_init(&p);
    p.kind = DS_PATH_SDE, p.t_end = 40, p.steps = 5;
    expect_error(ds_paths(&exact, &p, grid, 2, end, NULL), "an end level (40) is for langevin only: sde runs to t = 0", "sde end");
    p.kind = DS_PATH_LANGEVIN, p.t_start = 30;
    expect_error(ds_paths(&exact, &p, grid, 2, end, NULL), "Langevin end level must be between 1 and 30", "end above start");
    p.t_start = 50, p.steps = 12;
    expect_error(ds_paths(&exact, &p, grid, 2, end, NULL), "Langevin noise levels must be between 1 and 11", "levels");
    free(grid), free(end), free(shape), free(vars), free(w);
    ds_gmm_free(g);
    ds_model_free(m);
    ds_model_free(wild);
}

/* The widget's reverse-SDE (6 paths) and ODE path from a start anywhere on the plot (a 5 × 5 grid
 * over it) at t = 2..200: the largest |coordinate| on any of them, into *worst. */
static int far_paths(const ds_field *f, double *worst) {
    enum { G = 5, K = 6, MAX_STEPS = 50 };
    float grid[2 * G * G], starts[2 * K], frames[2 * K * (MAX_STEPS + 1)];
    ds_grid_points(-PLOT, PLOT, G, grid);
    const int levels[] = {2, 5, 10, 20, 40, 80, 120, 200};
    *worst = 0;
    for (int l = 0; l < (int)(sizeof levels / sizeof *levels); l++)
        for (int s = 0; s < G * G; s++)
            for (int sde = 0; sde < 2; sde++) {
                ds_path_params p;
                ds_path_params_init(&p);
                const int n = sde ? K : 1;
                p.kind = sde ? DS_PATH_SDE : DS_PATH_ODE_HEUN, p.t_start = levels[l], p.seed = 3;
                p.steps = levels[l] < MAX_STEPS ? levels[l] : MAX_STEPS;
                for (int k = 0; k < n; k++) starts[2 * k] = grid[2 * s], starts[2 * k + 1] = grid[2 * s + 1];
                if (ds_paths(f, &p, starts, n, frames, NULL) != p.steps + 1) return DS_ERR;
                for (int i = 0; i < 2 * n * (p.steps + 1); i++)
                    if (!(fabs(frames[i]) <= *worst)) *worst = fabs(frames[i]);
            }
    return DS_OK;
}

static void test_far_start_paths(void) {
    const char *shapes[] = {"cow", "moons", "spiral", "rings", "letter"};
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "weights/points-%s.dsw", shapes[i]);
        ds_model *m = source_model(name);
        if (!m) continue;
        static ds_schedule sch;
        ds_field f;
        double worst;
        CHECK(ds_field_of_model(m, &sch, &f) == DS_OK && far_paths(&f, &worst) == DS_OK, "%s paths: %s", name, ds_last_error());
        printf("  %s: SDE and ODE paths from far starts at t = 2..200 stay within |x| <= %.2f\n", shapes[i], worst);
        CHECK(worst <= 2 * PLOT, "%s: every path from the plot stays near it (largest |x| %.3g)", name, worst);
        ds_model_free(m);
    }
    ds_model *wild = source_model("tests/golden/mlp_wild_cow.dsw");
    if (!wild) return;
    static ds_schedule sch;
    ds_field f;
    double worst;
    CHECK(ds_field_of_model(wild, &sch, &f) == DS_OK && far_paths(&f, &worst) == DS_OK, "wild cow paths: %s", ds_last_error());
    printf("  the wild cow: its paths reach |x| = %.3g (finite, off the plot)\n", worst);
    CHECK(isfinite(worst) && worst > 10 * PLOT, "the wild cow's paths leave the plot but stay finite (%.3g): the check above can fail", worst);
    ds_model_free(wild);
}

/* ---- the flow objective of the point trainer ---- */

static void test_flow_trainer(void) {
    const int n = 2000;
    float *pts = malloc(sizeof(float) * 2 * n);
    ds_shape_points(DS_SHAPE_MOONS, n, 1, pts);
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    c.total_steps = 600, c.batch = 128, c.optim.decay_steps = 600, c.optim.lr = 5e-3;
    c.objective = DS_MLP_OBJECTIVE_FLOW;
    ds_mlp_trainer a, b;
    CHECK(ds_mlp_trainer_init(&a, &c, pts, n) == DS_OK, "flow trainer: %s", ds_last_error());
    double first, last;
    ds_mlp_trainer_run(&a, 50, &first);
    ds_mlp_trainer_run(&a, 500, NULL);
    ds_mlp_trainer_run(&a, 50, &last);
    /* the velocity target's variance is E|ε − x0|² ≈ 2 + E|x0|² ≈ 3; a learned field halves the loss */
    printf("  flow trainer loss %.3f -> %.3f\n", first, last);
    CHECK(last < 0.8 * first, "flow loss falls: %.3f -> %.3f", first, last);
    uint8_t *bytes;
    size_t size;
    CHECK(ds_mlp_trainer_save(&a, 1, &bytes, &size) == DS_OK, "save");
    ds_model *m = ds_model_from_bytes(bytes, size);
    CHECK(m && ds_model_prediction(m) == DS_PREDICT_FLOW, "the file says flow");
    ds_model_free(m);
    free(bytes);
    /* the diffusion objective on the same seed trains other weights; flow twice the same */
    c.objective = DS_MLP_OBJECTIVE_DIFFUSION;
    ds_mlp_trainer_init(&b, &c, pts, n);
    ds_mlp_trainer_run(&b, 600, NULL);
    CHECK(memcmp(a.model.params, b.model.params, sizeof(float) * (size_t)a.model.table.total) != 0, "objectives differ");
    ds_mlp_trainer_free(&b);
    c.objective = DS_MLP_OBJECTIVE_FLOW;
    ds_mlp_trainer_init(&b, &c, pts, n);
    ds_mlp_trainer_run(&b, 600, NULL);
    CHECK(memcmp(a.model.params, b.model.params, sizeof(float) * (size_t)a.model.table.total) == 0, "flow run reproducible");
    ds_mlp_trainer_free(&b);
    ds_mlp_trainer_free(&a);
    ds_mlp_objective o;
    expect_error(ds_mlp_objective_parse("score", &o), "unknown training objective 'score' (expected diffusion or flow)", "objective");
    free(pts);
}

int main(void) {
    ds_schedule_init(&sched, DS_SCHEDULE_LINEAR, 1000);
    test_closed_forms();
    test_odes_map_noise_to_target();
    test_langevin();
    test_sde_ode_marginals();
    test_convergence_order();
    test_refusals();
    test_langevin_small_levels();
    test_far_start_paths();
    test_flow_trainer();
    return check_summary("test_score");
}

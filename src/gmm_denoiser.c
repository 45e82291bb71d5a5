/* gmm_denoiser.c — exact posterior mean of a Gaussian mixture under the schedule (see gmm_denoiser.h). */
#include "gmm_denoiser.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "sampler.h"

struct ds_gmm {
    ds_schedule schedule;
    int K, D;
    double *log_weight;    /* (K) log w_k, normalised */
    double *mean;          /* (K, D) μ_k */
    double *var;           /* (K, D) s_k² */
    int *label;            /* (K) class or -1 */
    int shared_var;        /* every component has the same s² row: the terms below are one row */
    double cached_S, cached_A, cached_c1, cached_c2; /* the noise level the terms below are for */
    double *log_det;       /* (K, or 1 for a shared variance) Σ_j log(A s_kj² + c1 − c2) (VP: ᾱ s_kj² + 1 − ᾱ) */
    double *level;         /* (2, K or 1, D): the precision 1 / (A s_kj² + c1 − c2), then the gain S s_kj² / (that variance) */
    double *log_post;      /* (K) scratch: log w_k + log N(x_t; ...) for one input */
    double *acc;           /* (D) scratch: the posterior mean's sums, one per dimension */
};

ds_gmm *ds_gmm_create(const ds_schedule *schedule, int K, int D, const double *weight, const float *mean,
                      const float *var, const int *label) {
    if (!schedule || !weight || !mean || !var) { ds_fail("gmm: null schedule, weight, mean or var"); return NULL; }
    if (ds_check_range_int(K, 1, 1 << 16, "number of mixture components")) return NULL;
    if (ds_check_range_int(D, 1, 1 << 20, "data dimension")) return NULL;
    if ((long)K * D > (1L << 24)) { ds_fail("gmm: %d components x %d dims is too large", K, D); return NULL; }
    double total = 0;
    for (int k = 0; k < K; k++) {
        if (!isfinite(weight[k]) || weight[k] <= 0) { ds_fail("gmm: weight %d must be positive (got %g)", k, weight[k]); return NULL; }
        if (label && ds_check_range_int(label[k], -1, 9, "gmm component label")) return NULL;
        total += weight[k];
    }
    for (long i = 0; i < (long)K * D; i++) {
        if (!isfinite(mean[i])) { ds_fail("gmm: mean[%ld] is not finite", i); return NULL; }
        if (!isfinite(var[i]) || var[i] < 0) { ds_fail("gmm: var[%ld] must be finite and >= 0 (got %g)", i, var[i]); return NULL; }
    }
    ds_gmm *g = calloc(1, sizeof *g);
    if (!g) { ds_fail("gmm: out of memory"); return NULL; }
    g->schedule = *schedule;
    g->K = K;
    g->D = D;
    g->log_weight = malloc(sizeof(double) * K);
    g->mean = malloc(sizeof(double) * K * D);
    g->var = malloc(sizeof(double) * K * D);
    g->label = malloc(sizeof(int) * K);
    g->log_det = malloc(sizeof(double) * K);
    g->level = malloc(sizeof(double) * 2 * K * D);
    g->log_post = malloc(sizeof(double) * K);
    g->acc = malloc(sizeof(double) * D);
    if (!g->log_weight || !g->mean || !g->var || !g->label || !g->log_det || !g->level || !g->log_post || !g->acc) {
        ds_gmm_free(g);
        ds_fail("gmm: out of memory");
        return NULL;
    }
    for (int k = 0; k < K; k++) {
        g->log_weight[k] = ds_log(weight[k] / total);
        g->label[k] = label ? label[k] : -1;
    }
    for (long i = 0; i < (long)K * D; i++) {
        g->mean[i] = mean[i];
        g->var[i] = var[i];
    }
    g->shared_var = 1;
    for (long i = D; i < (long)K * D && g->shared_var; i++) g->shared_var = g->var[i] == g->var[i % D];
    g->cached_A = -1; /* no variance term is negative: the first call fills the cache */
    return g;
}

void ds_gmm_free(ds_gmm *g) {
    if (!g) return;
    free(g->log_weight);
    free(g->mean);
    free(g->var);
    free(g->label);
    free(g->log_det);
    free(g->level);
    free(g->log_post);
    free(g->acc);
    free(g);
}

int ds_gmm_dim(const ds_gmm *g) { return g->D; }
const ds_schedule *ds_gmm_schedule(const ds_gmm *g) { return &g->schedule; }

static int in_class(const ds_gmm *g, int k, int cls) { return cls == DS_NO_CLASS || g->label[k] == cls; }

/* E[x_0 | x] for one input x = S x_0 + noise, where component k gives x ~ N(S μ_k, A s_k² + c1 − c2)
 * per dimension (VP: S = √ᾱ, A = ᾱ, c1 = 1, c2 = ᾱ; written so, the VP arithmetic is unchanged).
 * Each component's variances, gains and log-determinant depend only on the noise level: they are
 * cached for the last (S, A, c1, c2), once for all components when they share one variance (the
 * points widgets' mixtures: a sampler step then costs an exp and a few multiplies per component). */
static void denoise_one(ds_gmm *g, const float *xb, int c, double S, double A, double c1, double c2, float *out) {
    const int K = g->K, D = g->D, rows = g->shared_var ? 1 : K;
    double *precision = g->level, *gain = g->level + (long)rows * D;
    if (S != g->cached_S || A != g->cached_A || c1 != g->cached_c1 || c2 != g->cached_c2) {
        for (int k = 0; k < rows; k++) {
            double ld = 0;
            for (int j = 0; j < D; j++) {
                const long i = (long)k * D + j;
                const double variance = A * g->var[i] + c1 - c2;
                precision[i] = 1.0 / variance;
                gain[i] = S * g->var[i] / variance;
                ld += ds_log(variance);
            }
            g->log_det[k] = ld;
        }
        g->cached_S = S, g->cached_A = A, g->cached_c1 = c1, g->cached_c2 = c2;
    }
    const long row = g->shared_var ? 0 : D; /* component k's terms at k·row */
    double best = -INFINITY;
    for (int k = 0; k < K; k++) {
        if (!in_class(g, k, c)) continue;
        const double *mu = g->mean + (long)k * D, *p = precision + k * row;
        double q = 0;
        for (int j = 0; j < D; j++) {
            double d = xb[j] - S * mu[j];
            q += d * d * p[j];
        }
        g->log_post[k] = g->log_weight[k] - 0.5 * (q + g->log_det[row ? k : 0]);
        if (g->log_post[k] > best) best = g->log_post[k];
    }
    double norm = 0;
    for (int k = 0; k < K; k++) {
        if (!in_class(g, k, c)) continue;
        g->log_post[k] = ds_exp(g->log_post[k] - best); /* now an unnormalised r_k */
        norm += g->log_post[k];
    }
    /* component by component (each dimension's sum still runs over k in order) */
    double *acc = g->acc;
    for (int j = 0; j < D; j++) acc[j] = 0;
    for (int k = 0; k < K; k++) {
        const double r = g->log_post[k];
        if (!in_class(g, k, c) || r < 1e-300) continue;
        const double *mu = g->mean + (long)k * D, *gk = gain + k * row;
        for (int j = 0; j < D; j++) acc[j] += r * (mu[j] + gk[j] * (xb[j] - S * mu[j]));
    }
    for (int j = 0; j < D; j++) out[j] = (float)(acc[j] / norm);
}

static int check_class(const ds_gmm *g, int c) {
    if (ds_check_range_int(c, 0, DS_NO_CLASS, "class")) return DS_ERR;
    for (int k = 0; k < g->K; k++)
        if (in_class(g, k, c)) return DS_OK;
    return ds_fail("gmm denoise: no mixture component has class %d", c);
}

int ds_gmm_denoise(ds_gmm *g, const float *x, const float *t, const int *cls, int B, float *x0) {
    if (!g || !x || !t || !x0) return ds_fail("gmm denoise: null argument");
    if (ds_check_range_int(B, 1, 1 << 20, "batch")) return DS_ERR;
    const int D = g->D, T = g->schedule.T;
    for (int b = 0; b < B; b++) {
        if (!(t[b] >= 1 && t[b] <= T && t[b] == floorf(t[b])))
            return ds_fail("gmm denoise: t must be a whole timestep in 1..%d (got %g)", T, (double)t[b]);
        int c = cls ? cls[b] : DS_NO_CLASS;
        if (check_class(g, c)) return DS_ERR;
        const double a = g->schedule.alpha_bar[(int)t[b] - 1];
        denoise_one(g, x + (long)b * D, c, sqrt(a), a, 1.0, a, x0 + (long)b * D);
    }
    return DS_OK;
}

int ds_gmm_denoise_scaled(ds_gmm *g, const float *x, double signal, double noise, int B, float *x0) {
    if (!g || !x || !x0) return ds_fail("gmm denoise: null argument");
    if (ds_check_range_int(B, 1, 1 << 20, "batch")) return DS_ERR;
    if (ds_check_range(signal, 0.0, 1e6, "signal scale") || ds_check_range(noise, 0.0, 1e6, "noise scale")) return DS_ERR;
    if (noise == 0.0) return ds_fail("gmm denoise: the noise scale must be positive (x_0 is x itself at noise 0)");
    if (check_class(g, DS_NO_CLASS)) return DS_ERR;
    for (int b = 0; b < B; b++)
        denoise_one(g, x + (long)b * g->D, DS_NO_CLASS, signal, signal * signal, noise * noise, 0.0, x0 + (long)b * g->D);
    return DS_OK;
}

int ds_gmm_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    ds_gmm *g = ctx;
    if (ds_gmm_denoise(g, x, t, cls, B, eps)) return DS_ERR;
    for (int b = 0; b < B; b++) {
        const double a = g->schedule.alpha_bar[(int)t[b] - 1], sa = sqrt(a), s = sqrt(1.0 - a);
        for (int j = 0; j < g->D; j++) {
            long i = (long)b * g->D + j;
            eps[i] = (float)((x[i] - sa * eps[i]) / s); /* eps[i] held E[x_0 | x_t] */
        }
    }
    return DS_OK;
}

int ds_gmm_sample(const ds_gmm *g, ds_rng *rng, int cls, float *x0) {
    if (!g || !rng || !x0) return ds_fail("gmm sample: null argument");
    if (ds_check_range_int(cls, 0, DS_NO_CLASS, "class")) return DS_ERR;
    double total = 0;
    for (int k = 0; k < g->K; k++)
        if (in_class(g, k, cls)) total += ds_exp(g->log_weight[k]);
    if (total <= 0) return ds_fail("gmm sample: no mixture component has class %d", cls);
    double u = ds_rng_uniform(rng) * total;
    int pick = -1;
    for (int k = 0; k < g->K; k++) {
        if (!in_class(g, k, cls)) continue;
        pick = k;
        u -= ds_exp(g->log_weight[k]);
        if (u < 0) break;
    }
    for (int j = 0; j < g->D; j++) {
        long i = (long)pick * g->D + j;
        x0[j] = (float)(g->mean[i] + sqrt(g->var[i]) * ds_rng_normal(rng));
    }
    return DS_OK;
}

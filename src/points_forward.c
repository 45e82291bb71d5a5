/* points_forward.c — x_t of point sets and the marginal density q(x_t) (see points_forward.h). */
#include "points_forward.h"

#include <math.h>
#include <stdlib.h>

#include "detmath.h"
#include "error.h"
#include "rng.h"
#include "schedule.h"
#include "shapes.h"

/* sqrt(abar_t) and sqrt(1 - abar_t) at step t (0..T), validating everything. */
static int signal_and_noise(int kind, int T, int t, double *a, double *s) {
    static ds_schedule sch; /* 40 KB: too big for the WASM stack */
    if (ds_schedule_init(&sch, (ds_schedule_kind)kind, T)) return DS_ERR;
    if (ds_check_range_int(t, 0, T, "step t")) return DS_ERR;
    *a = t ? sch.sqrt_alpha_bar[t - 1] : 1.0;
    *s = t ? sch.sqrt_one_minus_alpha_bar[t - 1] : 0.0;
    return DS_OK;
}

static int check_points(const float *p, int n, const char *what) {
    if (!p) return ds_fail("%s: null pointer", what);
    for (long i = 0; i < 2L * n; i++)
        if (!isfinite(p[i])) return ds_fail("%s: point %ld is not finite", what, i / 2);
    return DS_OK;
}

int ds_points_noise(int n, double seed, float *out) {
    uint64_t s = 0;
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of points") || ds_seed_from_double(seed, &s)) return DS_ERR;
    if (!out) return ds_fail("noise: null output");
    ds_rng r;
    ds_rng_seed(&r, s);
    ds_rng_fill_normal_f32(&r, out, 2L * n);
    return DS_OK;
}

int ds_forward_points(int kind, int T, int t, const float *x0, const float *eps, int n, float *xt) {
    double a, s;
    if (signal_and_noise(kind, T, t, &a, &s)) return DS_ERR;
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of points")) return DS_ERR;
    if (check_points(x0, n, "x0") || check_points(eps, n, "eps")) return DS_ERR;
    if (!xt) return ds_fail("forward: null output");
    for (long i = 0; i < 2L * n; i++) xt[i] = (float)(a * x0[i] + s * eps[i]);
    return DS_OK;
}

int ds_forward_trajectory(int kind, int T, const float *x0, const float *eps, float *out) {
    double a, s;
    if (signal_and_noise(kind, T, 0, &a, &s)) return DS_ERR;
    if (check_points(x0, 1, "x0") || check_points(eps, 1, "eps")) return DS_ERR;
    if (!out) return ds_fail("trajectory: null output");
    for (int t = 0; t <= T; t++) {
        signal_and_noise(kind, T, t, &a, &s);
        out[2 * t] = (float)(a * x0[0] + s * eps[0]);
        out[2 * t + 1] = (float)(a * x0[1] + s * eps[1]);
    }
    return DS_OK;
}

int ds_forward_density(int kind, int T, int t, const float *x0, int n, double lo, double hi, int G, float *out) {
    double a, s;
    if (signal_and_noise(kind, T, t, &a, &s)) return DS_ERR;
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of points") || check_points(x0, n, "x0")) return DS_ERR;
    if (ds_check_range_int(G, 2, 1024, "grid size")) return DS_ERR;
    if (ds_check_range(lo, -1e6, 1e6, "grid low end") || ds_check_range(hi, -1e6, 1e6, "grid high end")) return DS_ERR;
    if (!(hi > lo)) return ds_fail("grid: high end %g must exceed low end %g", hi, lo);
    if (!out) return ds_fail("density: null output");
    double cell = (hi - lo) / G, var = s * s + cell * cell;
    /* Isotropic Gaussians factor into x and y: n (2G) exponentials and an outer product,
     * instead of n G^2 exponentials. */
    float *gx = malloc(sizeof(float) * 2 * (size_t)G);
    double *acc = calloc((size_t)G * G, sizeof(double));
    if (!gx || !acc) { free(gx); free(acc); return ds_fail("density: out of memory"); }
    float *gy = gx + G;
    double norm = 1.0 / (2.0 * 3.14159265358979323846 * var * n);
    for (int i = 0; i < n; i++) {
        double mx = a * x0[2 * i], my = a * x0[2 * i + 1];
        for (int k = 0; k < G; k++) {
            double c = lo + (k + 0.5) * cell;
            gx[k] = (float)ds_exp(-(c - mx) * (c - mx) / (2 * var));
            double r = hi - (k + 0.5) * cell; /* row k is y = hi - (k + 1/2) cell */
            gy[k] = (float)ds_exp(-(r - my) * (r - my) / (2 * var));
        }
        for (int row = 0; row < G; row++) {
            if (gy[row] < 1e-12f) continue;
            double g = gy[row], *dst = acc + (size_t)row * G;
            for (int col = 0; col < G; col++) dst[col] += g * gx[col];
        }
    }
    for (long k = 0; k < (long)G * G; k++) out[k] = (float)(acc[k] * norm);
    free(gx);
    free(acc);
    return DS_OK;
}

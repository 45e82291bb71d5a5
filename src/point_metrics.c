/* point_metrics.c — Chamfer distance and MMD between point sets (see point_metrics.h). */
#include "point_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "shapes.h"

static const double BANDWIDTHS[] = {0.1, 0.2, 0.5, 1.0};
#define N_BANDWIDTHS 4

static double mean_nearest(const float *a, int na, const float *b, int nb) {
    double sum = 0;
    for (int i = 0; i < na; i++) {
        float ax = a[2 * i], ay = a[2 * i + 1], best = INFINITY;
        for (int j = 0; j < nb; j++) {
            float dx = ax - b[2 * j], dy = ay - b[2 * j + 1], d = dx * dx + dy * dy;
            if (d < best) best = d;
        }
        sum += sqrt((double)best);
    }
    return sum / na;
}

double ds_chamfer(const float *a, int na, const float *b, int nb) {
    return 0.5 * (mean_nearest(a, na, b, nb) + mean_nearest(b, nb, a, na));
}

/* sum over pairs of the averaged kernel; `same` skips the diagonal (unbiased estimate) */
static double kernel_sum(const float *a, int na, const float *b, int nb, int same) {
    double coef[N_BANDWIDTHS], total = 0;
    for (int k = 0; k < N_BANDWIDTHS; k++) coef[k] = -1.0 / (2 * BANDWIDTHS[k] * BANDWIDTHS[k]);
    for (int i = 0; i < na; i++)
        for (int j = same ? i + 1 : 0; j < nb; j++) {
            double dx = a[2 * i] - b[2 * j], dy = a[2 * i + 1] - b[2 * j + 1], d = dx * dx + dy * dy, kv = 0;
            for (int k = 0; k < N_BANDWIDTHS; k++) kv += exp(coef[k] * d);
            total += (same ? 2.0 : 1.0) * kv / N_BANDWIDTHS;
        }
    return total;
}

double ds_mmd2(const float *a, int na, const float *b, int nb) {
    double aa = kernel_sum(a, na, a, na, 1) / ((double)na * (na - 1));
    double bb = kernel_sum(b, nb, b, nb, 1) / ((double)nb * (nb - 1));
    double ab = kernel_sum(a, na, b, nb, 0) / ((double)na * nb);
    return aa + bb - 2 * ab;
}

static int check_set(const float *p, int n, const char *what) {
    if (!p) return ds_fail("quality: %s is a null pointer", what);
    if (ds_check_range_int(n, 2, 1 << 16, what)) return DS_ERR;
    for (long i = 0; i < 2L * n; i++)
        if (!isfinite(p[i])) return ds_fail("quality: %s point %ld is not finite", what, i / 2);
    return DS_OK;
}

int ds_point_quality(const float *a, int na, const float *b, int nb, double *out) {
    if (check_set(a, na, "sample set") || check_set(b, nb, "reference set")) return DS_ERR;
    if (!out) return ds_fail("quality: null output");
    out[0] = ds_chamfer(a, na, b, nb);
    out[1] = ds_mmd2(a, na, b, nb);
    return DS_OK;
}

int ds_point_floor(int kind, int n, double seed, double *out) {
    if (ds_check_range_int(n, 2, 1 << 16, "number of points")) return DS_ERR;
    if (!out) return ds_fail("floor: null output");
    float *a = malloc(sizeof(float) * 4 * (size_t)n);
    if (!a) return ds_fail("floor: out of memory");
    int rc = ds_shape_points(kind, n, seed, a);
    if (rc == DS_OK) rc = ds_shape_points(kind, n, seed + 1, a + 2 * n);
    if (rc == DS_OK) rc = ds_point_quality(a, n, a + 2 * n, n, out);
    free(a);
    return rc;
}

int ds_point_judge(double chamfer, double mmd2, double floor_chamfer, ds_point_verdict *out) {
    if (!out) return ds_fail("point verdict: null output");
    if (ds_check_finite(chamfer, "Chamfer distance") || ds_check_finite(mmd2, "MMD^2")) return DS_ERR;
    if (!(floor_chamfer > 0) || !isfinite(floor_chamfer))
        return ds_fail("point verdict: the real-vs-real Chamfer must be a positive number (got %g)", floor_chamfer);
    out->chamfer_ratio = chamfer / floor_chamfer;
    out->pass = out->chamfer_ratio <= DS_POINT_MAX_CHAMFER_RATIO && mmd2 <= DS_POINT_MAX_MMD2;
    return DS_OK;
}

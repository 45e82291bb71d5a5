/* test_detmath.c — deterministic exp/log/sin/cos against libm, and the RNG's statistics. */
#include <math.h>

#include "check.h"
#include "detmath.h"
#include "rng.h"

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

int main(void) {
    double worst_log = 0, worst_exp = 0, worst_sin = 0, worst_cos = 0;
    ds_rng r;
    ds_rng_seed(&r, 1);
    for (int i = 0; i < 200000; i++) {
        double x = ds_exp((ds_rng_uniform(&r) - 0.5) * 1400); /* spans 1e-304 .. 1e304 */
        worst_log = fmax(worst_log, fabs(ds_log(x) - log(x)) / fmax(1.0, fabs(log(x))));
        double y = (ds_rng_uniform(&r) - 0.5) * 1400;
        worst_exp = fmax(worst_exp, rel(ds_exp(y), exp(y)));
        double z = (ds_rng_uniform(&r) - 0.5) * 2000;
        worst_sin = fmax(worst_sin, fabs(ds_sin(z) - sin(z)));
        worst_cos = fmax(worst_cos, fabs(ds_cos(z) - cos(z)));
    }
    CHECK(worst_log < 4e-16, "ds_log worst error %.3g", worst_log);
    CHECK(worst_exp < 4e-15, "ds_exp worst relative error %.3g", worst_exp);
    CHECK(worst_sin < 1e-15 && worst_cos < 1e-15, "ds_sin/ds_cos worst error %.3g / %.3g", worst_sin, worst_cos);
    CHECK(ds_log(0) == -INFINITY && isnan(ds_log(-1)) && ds_exp(-1000) == 0 && isinf(ds_exp(1000)), "edge values");
    CHECK(rel(ds_log(4.9406564584124654e-324), log(4.9406564584124654e-324)) < 1e-15, "log of a subnormal");
    CHECK(rel(ds_log1p_exp(50), 50) < 1e-15 && rel(ds_log1p_exp(-50), exp(-50)) < 1e-14, "softplus tails");

    /* RNG: same seed, same stream; normals have mean 0 and variance 1 within 5 standard errors. */
    ds_rng a, b;
    ds_rng_seed(&a, 42);
    ds_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= ds_rng_u64(&a) == ds_rng_u64(&b);
    CHECK(same, "same seed gives the same stream");
    /* golden stream: the WASM builds must produce these exact doubles (tests/wasm/foundation.test.mjs) */
    const double golden[4] = {-0.72621913824478568, -0.21119691823195985, 0.22162270150359331, 0.52277168775601457};
    double got[4];
    CHECK(ds_rng_normals(42, 4, got) == 0, "ds_rng_normals");
    for (int i = 0; i < 4; i++) CHECK(got[i] == golden[i], "golden normal %d: got %.17g want %.17g", i, got[i], golden[i]);
    ds_rng_seed(&a, 42);
    const int n = 400000;
    double sum = 0, sum2 = 0, sum4 = 0;
    for (int i = 0; i < n; i++) {
        double v = ds_rng_normal(&a);
        sum += v;
        sum2 += v * v;
        sum4 += v * v * v * v;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    CHECK(fabs(mean) < 5 / sqrt(n), "normal mean %g", mean);
    CHECK(fabs(var - 1) < 5 * sqrt(2.0 / n), "normal variance %g", var);
    CHECK(fabs(sum4 / n - 3) < 5 * sqrt(96.0 / n), "normal fourth moment %g (want 3)", sum4 / n);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[ds_rng_below(&a, 7)]++;
    int uniform = 1;
    for (int k = 0; k < 7; k++) uniform &= fabs(counts[k] - 10000.0) < 5 * sqrt(10000 * 6.0 / 7);
    CHECK(uniform, "ds_rng_below(7) uniform");
    return check_summary("test_detmath");
}

/* detmath.c — deterministic elementary functions (see detmath.h). */
#include "detmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const double LN2_HI = 6.93147180369123816490e-01; /* high bits of ln 2, exact in 32 bits */
static const double LN2_LO = 1.90821492927058770002e-10; /* ln 2 - LN2_HI */

/* Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)). Uses bit manipulation, exact. */
static double split_exponent(double x, int *e) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int exponent = (int)((bits >> 52) & 0x7ff);
    if (exponent == 0) { /* subnormal: scale into the normal range first */
        x *= 18014398509481984.0; /* 2^54 */
        memcpy(&bits, &x, sizeof bits);
        exponent = (int)((bits >> 52) & 0x7ff) - 54;
    }
    *e = exponent - 1023;
    bits = (bits & 0x800fffffffffffffULL) | (0x3ffULL << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356237309504880) { m *= 0.5; *e += 1; }
    return m;
}

double ds_log(double x) {
    if (isnan(x) || x < 0) return NAN;
    if (x == 0) return -INFINITY;
    if (isinf(x)) return x;
    int e;
    double m = split_exponent(x, &e);
    /* log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: the odd series to s^25 is < 1e-19. */
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double p = 1.0 / 25;
    for (int k = 23; k >= 3; k -= 2) p = p * s2 + 1.0 / k;
    double log_m = 2.0 * s + 2.0 * s * s2 * p;
    return (double)e * LN2_HI + ((double)e * LN2_LO + log_m);
}

double ds_exp(double x) {
    if (isnan(x)) return x;
    if (x > 709.782712893384) return INFINITY;
    if (x < -745.2) return 0.0;
    /* x = k ln2 + r, |r| <= ln2/2; e^r by Taylor to r^14 (error < 1e-18), in Horner form on the
     * coefficients 1/n! (multiplies only: the GMM denoiser's posterior weights spend most of their
     * time here, and a division costs several multiplies) */
    static const double inv_factorial[15] = {
        1.0, 1.0, 0.5, 0.16666666666666666, 0.041666666666666664, 0.008333333333333333,
        0.001388888888888889, 0.0001984126984126984, 2.48015873015873e-05, 2.7557319223985893e-06,
        2.755731922398589e-07, 2.505210838544172e-08, 2.08767569878681e-09, 1.6059043836821613e-10,
        1.1470745597729725e-11};
    double k = floor(x * 1.44269504088896340736 + 0.5);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double p = inv_factorial[14];
    for (int n = 13; n >= 0; n--) p = p * r + inv_factorial[n];
    /* scale by 2^k in two steps so subnormal results and k = 1024 stay representable */
    int ki = (int)k, k1 = ki / 2, k2 = ki - k1;
    uint64_t b1 = (uint64_t)(k1 + 1023) << 52, b2 = (uint64_t)(k2 + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return p * s1 * s2;
}

/* sin and cos of r with |r| <= pi/4, Taylor polynomials to r^17 / r^18 (error < 1e-19). */
static double sin_kernel(double r) {
    double r2 = r * r, p = 0.0;
    for (int n = 17; n >= 3; n -= 2) p = (p + 1.0) * (-r2 / ((double)n * (n - 1)));
    return r + r * p;
}
static double cos_kernel(double r) {
    double r2 = r * r, p = 0.0;
    for (int n = 18; n >= 2; n -= 2) p = (p + 1.0) * (-r2 / ((double)n * (n - 1)));
    return 1.0 + p;
}

/* Reduce x by multiples of pi/2 (Cody-Waite with a three-part pi/2); quadrant in *q. */
static double reduce_half_pi(double x, int *q) {
    static const double PIO2_1 = 1.57079632673412561417e+00;  /* first 33 bits of pi/2 */
    static const double PIO2_2 = 6.07710050650619224932e-11;  /* next 33 bits */
    static const double PIO2_3 = 2.02226624879595063154e-21;  /* the rest */
    double k = floor(x * 0.63661977236758134308 + 0.5);
    *q = (int)fmod(k, 4.0);
    if (*q < 0) *q += 4;
    return ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
}

double ds_sin(double x) {
    if (!isfinite(x)) return NAN;
    int q;
    double r = reduce_half_pi(x, &q);
    switch (q) {
    case 0: return sin_kernel(r);
    case 1: return cos_kernel(r);
    case 2: return -sin_kernel(r);
    default: return -cos_kernel(r);
    }
}

double ds_cos(double x) {
    if (!isfinite(x)) return NAN;
    int q;
    double r = reduce_half_pi(x, &q);
    switch (q) {
    case 0: return cos_kernel(r);
    case 1: return -sin_kernel(r);
    case 2: return -cos_kernel(r);
    default: return sin_kernel(r);
    }
}

double ds_log1p_exp(double x) {
    if (x > 36.0) return x + ds_exp(-x);
    if (x < -36.0) return ds_exp(x);
    return ds_log(1.0 + ds_exp(x));
}

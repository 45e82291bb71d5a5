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

/* 2^(j/64), j = 0..63, each the double nearest the exact value (50-digit decimal arithmetic) */
static const double EXP2_64THS[64] = {
    1.0, 1.0108892860517005, 1.0218971486541166, 1.0330248790212284,
    1.0442737824274138, 1.0556451783605572, 1.0671404006768237, 1.0787607977571199,
    1.0905077326652577, 1.102382583307841, 1.1143867425958924, 1.1265216186082418,
    1.1387886347566916, 1.1511892299529827, 1.1637248587775775, 1.1763969916502812,
    1.189207115002721, 1.202156731452703, 1.215247359980469, 1.22848053610687,
    1.241857812073484, 1.255380757024691, 1.2690509571917332, 1.2828700160787783,
    1.2968395546510096, 1.3109612115247644, 1.3252366431597413, 1.339667524053303,
    1.3542555469368927, 1.3690024229745905, 1.383909881963832, 1.3989796725383112,
    1.4142135623730951, 1.42961333839197, 1.4451808069770467, 1.460917794180647,
    1.4768261459394993, 1.4929077282912648, 1.5091644275934228, 1.5255981507445384,
    1.5422108254079407, 1.559004400237837, 1.5759808451078865, 1.593142151342267,
    1.6104903319492543, 1.6280274218573478, 1.645755478153965, 1.6636765803267364,
    1.681792830507429, 1.7001063537185235, 1.718619298122478, 1.7373338352737062,
    1.7562521603732995, 1.7753764925265212, 1.7947090750031072, 1.8142521755003989,
    1.8340080864093424, 1.8539791250833855, 1.8741676341103, 1.8945759815869656,
    1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951,
};

double ds_exp(double x) {
    if (isnan(x)) return x;
    if (x > 709.782712893384) return INFINITY;
    if (x < -745.2) return 0.0;
    /* x = (64 m + j) ln2/64 + r, |r| <= ln2/128; e^x = 2^m 2^(j/64) e^r with e^r by Taylor to r^6
     * (error < 3e-20) in Horner form: a table and six multiplies instead of a long series (the GMM
     * denoiser's posterior weights spend most of their time here) */
    double k = floor(x * (64.0 * 1.44269504088896340736) + 0.5);
    double r = (x - k * (LN2_HI / 64)) - k * (LN2_LO / 64);
    double q = 1.0 / 720; /* q = e^r - 1, kept apart from the 1 so T + T q rounds once */
    q = q * r + 1.0 / 120;
    q = q * r + 1.0 / 24;
    q = q * r + 1.0 / 6;
    q = q * r + 0.5;
    q = q * r + 1.0;
    q = q * r;
    int ki = (int)k, j = ki & 63, m = (ki - j) / 64;
    double p = EXP2_64THS[j] + EXP2_64THS[j] * q;
    /* scale by 2^m in two steps so subnormal results and m = 1024 stay representable */
    int m1 = m / 2, m2 = m - m1;
    uint64_t b1 = (uint64_t)(m1 + 1023) << 52, b2 = (uint64_t)(m2 + 1023) << 52;
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

/* detmath.h — deterministic elementary functions.
 *
 * glibc (native) and musl (Emscripten) may round exp/log/sin/cos differently in the last
 * bit, which would make the same seed give different samples natively and in the browser.
 * These versions use only +, -, *, / and sqrt (all exactly rounded by IEEE 754) in a fixed
 * order, so they return bit-identical results on every target that does not contract
 * a*b+c into an FMA (the build passes -ffp-contract=off). Accuracy: about 1 ulp of double
 * over the ranges stated; tests/test_detmath.c compares them with libm.
 * Not for hot loops: kernels have their own vector approximations. */
#ifndef DS_DETMATH_H
#define DS_DETMATH_H

double ds_log(double x);            /* x > 0; ds_log(0) = -inf, negative or NaN -> NaN */
double ds_exp(double x);            /* underflows to 0 below -745, overflows to inf above 709.78 */
double ds_sin(double x);            /* |x| < 1e6 keeps full accuracy */
double ds_cos(double x);
double ds_log1p_exp(double x);      /* log(1 + e^x) without overflow (softplus) */

#endif

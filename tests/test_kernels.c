/* test_kernels.c — every SIMD kernel against its scalar reference on random shapes.
 *
 * Shapes are drawn so that every vector loop also runs its remainder loop (sizes 1..19 hit
 * every value mod 4 and mod 8, GEMM columns 1..35 every value mod 16 for the 16-column tiles
 * of an AVX build, and odd image sizes hit the conv edges). Tolerances:
 *   gemm with op(B) = B, conv2d     bit-identical (same summation order as the reference)
 *   winograd conv                   |diff| <= 1e-5 * (sum over taps of |w x| + |bias|)
 *   gemm with op(B) = B^T, linear   |diff| <= 1e-5 * sum_k |a_k b_k| (lanes reassociate the sum)
 *   groupnorm (+ silu)              |diff| <= 1e-5 * (1 + |ref|)  (double statistics, summed in
 *                                   another order, may round mean/rstd to a neighbouring float)
 *   silu                            |diff| <= 2e-6 * |ref| + 1e-30 (polynomial exp vs expf)
 *   upsample, concat, add, channel bias, class embedding: exact
 *   timestep embedding              |diff| <= 1e-6 against libm's sin/cos/exp in double
 *   im2col / col2im                 adjoint: <col2im(c), x> = <c, im2col(x)> to 1e-5 relative */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "kernels_variant.h"
#include "rng.h"

static ds_rng rng;

static int rand_int(int lo, int hi) { return lo + (int)ds_rng_below(&rng, (uint32_t)(hi - lo + 1)); }
static float *rand_floats(long n, float scale) {
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) v[i] = (float)((2.0 * ds_rng_uniform(&rng) - 1.0) * scale);
    return v;
}
static float *copy_floats(const float *v, long n) {
    float *c = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    memcpy(c, v, sizeof(float) * (size_t)n);
    return c;
}

/* max |a - b| over n values, and whether they are all bit-identical */
static double max_diff(const float *a, const float *b, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void test_gemm(void) {
    double worst_exact = 0, worst_rel = 0;
    for (int trial = 0; trial < 400; trial++) {
        int ta = trial & 1, tb = (trial >> 1) & 1, acc = (trial >> 2) & 1;
        int M = rand_int(1, 19), N = rand_int(1, 35), K = rand_int(1, 37);
        if (trial % 50 == 0) { M = 64; N = 196; K = 288; } /* a real conv shape */
        int lda = (ta ? M : K) + rand_int(0, 3), ldb = (tb ? K : N) + rand_int(0, 3), ldc = N + rand_int(0, 3);
        long a_rows = ta ? K : M, b_rows = tb ? N : K;
        float *A = rand_floats(a_rows * lda, 1.0f), *B = rand_floats(b_rows * ldb, 1.0f);
        float *C = rand_floats((long)M * ldc, 1.0f), *C_ref = copy_floats(C, (long)M * ldc);
        ds_gemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, acc);
        ds_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, C_ref, ldc, acc);
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double mag = acc ? fabs(C_ref[(long)i * ldc + j]) : 0;
                for (int k = 0; k < K; k++) {
                    float a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                    float b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                    mag += fabs((double)a * b);
                }
                double d = fabs((double)C[(long)i * ldc + j] - C_ref[(long)i * ldc + j]);
                if (!tb) worst_exact = fmax(worst_exact, d);
                worst_rel = fmax(worst_rel, d / (mag + 1e-30));
            }
        }
        /* padding columns beyond N must be untouched */
        int pad_ok = 1;
        for (int i = 0; i < M; i++)
            for (int j = N; j < ldc; j++) pad_ok &= C[(long)i * ldc + j] == C_ref[(long)i * ldc + j];
        CHECK(pad_ok, "gemm ta=%d tb=%d M=%d N=%d K=%d wrote past N", ta, tb, M, N, K);
        free(A), free(B), free(C), free(C_ref);
    }
    CHECK(worst_exact == 0, "gemm (op(B) = B) differs from the reference by %.3g (expected bit-identical)", worst_exact);
    CHECK(worst_rel <= 1e-5, "gemm worst relative difference %.3g > 1e-5", worst_rel);
    printf("gemm: worst |diff| op(B)=B %.3g, worst relative (all) %.3g\n", worst_exact, worst_rel);
}

/* The trainer's GEMM (op(B) = B): under a variant with FMA each product is fused into its sum,
 * so it may differ from the reference, but by no more than the two roundings of K products
 * and the accumulate can: 2 (K + 1) u (|C_old| + sum |a b|), u = 2^-24. Without FMA (base) it
 * must be the reference bit for bit. Shapes include the trainer's (K = 784 pixels, 16-column
 * weight-gradient panels, K = 32..96 channels for the input gradient). */
static void test_gemm_train(void) {
    const int exact = !strcmp(ds_kernels_variant(), "base");
    double worst_ratio = 0;
    long differing = 0, total = 0;
    for (int trial = 0; trial < 200; trial++) {
        int ta = trial & 1, acc = (trial >> 1) & 1;
        int M = rand_int(1, 40), N = rand_int(1, 50), K = rand_int(1, 100);
        if (trial % 40 == 0) { M = 18; N = 16; K = 784; }
        if (trial % 40 == 1) { M = 36; N = 196; K = 64; }
        int lda = (ta ? M : K) + rand_int(0, 3), ldb = N + rand_int(0, 3), ldc = N + rand_int(0, 3);
        float *A = rand_floats((long)(ta ? K : M) * lda, 1.0f), *B = rand_floats((long)K * ldb, 1.0f);
        float *C = rand_floats((long)M * ldc, 1.0f), *C_ref = copy_floats(C, (long)M * ldc);
        float *C_old = copy_floats(C, (long)M * ldc);
        ds_gemm_train(ta, M, N, K, A, lda, B, ldb, C, ldc, acc);
        ds_gemm_ref(ta, 0, M, N, K, A, lda, B, ldb, C_ref, ldc, acc);
        int pad_ok = 1;
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double mag = acc ? fabs(C_old[(long)i * ldc + j]) : 0;
                for (int k = 0; k < K; k++)
                    mag += fabs((double)(ta ? A[(long)k * lda + i] : A[(long)i * lda + k]) * B[(long)k * ldb + j]);
                const double bound = 2.0 * (K + 1) * 0x1p-24 * mag;
                const double d = fabs((double)C[(long)i * ldc + j] - C_ref[(long)i * ldc + j]);
                worst_ratio = fmax(worst_ratio, d / (bound + 1e-38));
                differing += d != 0, total++;
            }
            for (int j = N; j < ldc; j++) pad_ok &= C[(long)i * ldc + j] == C_ref[(long)i * ldc + j];
        }
        CHECK(pad_ok, "gemm_train ta=%d M=%d N=%d K=%d wrote past N", ta, M, N, K);
        free(A), free(B), free(C), free(C_ref), free(C_old);
    }
    if (exact) CHECK(differing == 0, "gemm_train without FMA: %ld of %ld values differ from the reference", differing, total);
    CHECK(worst_ratio <= 1.0, "gemm_train differs from the reference by %.3g x its rounding bound", worst_ratio);
    printf("gemm_train (%s): %ld of %ld values differ from the reference, worst %.3g of the rounding bound\n",
           ds_kernels_variant(), differing, total, worst_ratio);
}

static void test_conv(void) {
    double worst = 0;
    for (int trial = 0; trial < 120; trial++) {
        int B = rand_int(1, 3), Cin = rand_int(1, 9), H = rand_int(1, 13), W = rand_int(1, 13), Cout = rand_int(1, 9);
        int K = trial & 1 ? 3 : 1, stride = trial & 2 ? 2 : 1, use_bias = trial % 5 != 0;
        if (trial == 0) { B = 2; Cin = 32; H = W = 28; Cout = 32; K = 3; stride = 1; }
        if (trial == 2) { B = 2; Cin = 64; H = W = 14; Cout = 64; K = 3; stride = 2; }
        int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
        float *x = rand_floats((long)B * Cin * H * W, 1.0f), *w = rand_floats((long)Cout * Cin * K * K, 0.5f);
        float *bias = use_bias ? rand_floats(Cout, 1.0f) : NULL;
        long ny = (long)B * Cout * Ho * Wo;
        float *y = rand_floats(ny, 9.0f), *y_ref = rand_floats(ny, 9.0f);
        float *scratch = rand_floats((long)ds_conv2d_scratch_floats(Cin, H, W, K, stride), 9.0f);
        ds_conv2d(x, w, bias, y, scratch, B, Cin, H, W, Cout, K, stride);
        ds_conv2d_ref(x, w, bias, y_ref, B, Cin, H, W, Cout, K, stride);
        double d = max_diff(y, y_ref, ny);
        CHECK(d == 0, "conv2d B=%d Cin=%d %dx%d Cout=%d K=%d stride=%d bias=%d: max diff %.3g (first %g vs %g)", B, Cin,
              H, W, Cout, K, stride, use_bias, d, y[0], y_ref[0]);
        worst = fmax(worst, d);
        /* the output size formula: 28 -> 14 -> 7 for K = 3, stride 2 */
        free(x), free(w), free(bias), free(y), free(y_ref), free(scratch);
    }
    CHECK(ds_conv2d_out_size(28, 3, 2) == 14 && ds_conv2d_out_size(14, 3, 2) == 7 && ds_conv2d_out_size(7, 3, 1) == 7,
          "conv output sizes 28 -> 14 -> 7");
    printf("conv2d: worst |diff| %.3g over 120 random shapes\n", worst);
}

/* Winograd against the direct reference: |diff| <= 1e-5 * (sum over taps of |w x| + |bias|).
 * Shapes: odd and even sizes (tiles cropped at the right and bottom), sizes below one tile,
 * channel counts around the 4-row GEMM tile, batches whose tiles cross chunk and panel edges. */
static void test_winograd(void) {
    double worst = 0;
    double worst4 = 0;
    for (int trial = 0; trial < 130; trial++) {
        int B = rand_int(1, 3), Cin = rand_int(1, 13), H = rand_int(1, 13), W = rand_int(1, 13), Cout = rand_int(1, 9);
        if (trial >= 90) H = rand_int(DS_WINOGRAD_TILE4_MIN, 31), W = rand_int(DS_WINOGRAD_TILE4_MIN, 31); /* F(4x4), cropped tiles */
        int use_bias = trial % 5 != 0;
        if (trial == 0) { B = 2; Cin = 32; H = W = 28; Cout = 32; }
        if (trial == 1) { B = 3; Cin = 64; H = W = 7; Cout = 64; }
        if (trial == 2) { B = 5; Cin = 128; H = W = 14; Cout = 64; } /* several chunks */
        if (trial == 3) { B = 1; Cin = 1100; H = 3; W = 17; Cout = 5; } /* the smallest chunk, 8 tiles */
        const long nx = (long)B * Cin * H * W, nw = (long)Cout * Cin * 9, ny = (long)B * Cout * H * W;
        float *x = rand_floats(nx, 1.0f), *w = rand_floats(nw, 0.5f), *bias = use_bias ? rand_floats(Cout, 1.0f) : NULL;
        const int tile = ds_winograd_tile(H, W);
        float *U = rand_floats((long)ds_winograd_u_floats(Cout, Cin, tile), 9.0f), *y = rand_floats(ny, 9.0f), *y_ref = rand_floats(ny, 9.0f);
        float *scratch = rand_floats((long)ds_winograd_scratch_floats(Cin, W, Cout), 9.0f);
        ds_winograd_weights(w, U, Cout, Cin, tile);
        ds_conv2d_winograd(x, U, bias, y, scratch, B, Cin, H, W, Cout);
        ds_conv2d_ref(x, w, bias, y_ref, B, Cin, H, W, Cout, 3, 1);
        double rel = 0;
        for (int b = 0; b < B; b++)
            for (int o = 0; o < Cout; o++)
                for (int py = 0; py < H; py++)
                    for (int px = 0; px < W; px++) {
                        double mag = bias ? fabs(bias[o]) : 0;
                        for (int c = 0; c < Cin; c++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = py + ky - 1, ix = px + kx - 1;
                                    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                        mag += fabs((double)w[((long)o * Cin + c) * 9 + ky * 3 + kx] * x[(((long)b * Cin + c) * H + iy) * W + ix]);
                                }
                        long at = (((long)b * Cout + o) * H + py) * W + px;
                        rel = fmax(rel, fabs((double)y[at] - y_ref[at]) / (mag + 1e-30));
                    }
        CHECK(rel <= 1e-5, "winograd B=%d Cin=%d %dx%d Cout=%d bias=%d: relative difference %.3g > 1e-5", B, Cin, H, W,
              Cout, use_bias, rel);
        if (tile == 4) worst4 = fmax(worst4, rel);
        else worst = fmax(worst, rel);
        free(x), free(w), free(bias), free(U), free(y), free(y_ref), free(scratch);
    }
    printf("winograd: worst relative |diff| F(2x2) %.3g, F(4x4) %.3g over 130 shapes\n", worst, worst4);
}

static void test_im2col_adjoint(void) {
    double worst = 0;
    for (int trial = 0; trial < 48; trial++) {
        int Cin = rand_int(1, 5), H = rand_int(1, 11), W = rand_int(1, 11), K = trial & 1 ? 3 : 1, stride = trial & 2 ? 2 : 1;
        if (trial >= 40) H = (int[]){28, 14, 7, 9}[trial % 4], W = H; /* the network's sizes */
        int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
        long ncol = (long)Cin * K * K * Ho * Wo, nx = (long)Cin * H * W;
        float *x = rand_floats(nx, 1.0f), *c = rand_floats(ncol, 1.0f), *col = rand_floats(ncol, 5.0f);
        float *dx = calloc((size_t)nx, sizeof(float));
        ds_im2col(x, col, Cin, H, W, K, stride);
        ds_col2im(c, dx, Cin, H, W, K, stride);
        /* the fast col2im gives the reference's bits, onto a dx that is not zero too */
        float *dx2 = rand_floats(nx, 1.0f), *dx_ref = copy_floats(dx2, nx);
        ds_col2im(c, dx2, Cin, H, W, K, stride);
        ds_col2im_ref(c, dx_ref, Cin, H, W, K, stride);
        CHECK(!memcmp(dx2, dx_ref, sizeof(float) * (size_t)nx), "col2im Cin=%d %dx%d K=%d stride %d: not the reference's bits",
              Cin, H, W, K, stride);
        free(dx_ref), free(dx2);
        double lhs = 0, rhs = 0, mag = 0;
        for (long i = 0; i < nx; i++) lhs += (double)dx[i] * x[i];
        for (long i = 0; i < ncol; i++) rhs += (double)c[i] * col[i], mag += fabs((double)c[i] * col[i]);
        worst = fmax(worst, fabs(lhs - rhs) / (mag + 1e-30));
        free(x), free(c), free(col), free(dx);
    }
    CHECK(worst <= 1e-5, "col2im is not the adjoint of im2col: relative gap %.3g", worst);
}

static void test_linear(void) {
    double worst = 0;
    for (int trial = 0; trial < 200; trial++) {
        int B = rand_int(1, 17), in = rand_int(1, 37), out = rand_int(1, 19), use_bias = trial % 3 != 0;
        if (trial == 0) { B = 16; in = 128; out = 128; }
        float *x = rand_floats((long)B * in, 1.0f), *W = rand_floats((long)out * in, 1.0f);
        float *bias = use_bias ? rand_floats(out, 1.0f) : NULL;
        float *y = rand_floats((long)B * out, 1.0f), *y_ref = rand_floats((long)B * out, 1.0f);
        ds_linear(x, W, bias, y, B, in, out);
        ds_linear_ref(x, W, bias, y_ref, B, in, out);
        for (int b = 0; b < B; b++) {
            for (int o = 0; o < out; o++) {
                double mag = bias ? fabs(bias[o]) : 0;
                for (int i = 0; i < in; i++) mag += fabs((double)x[(long)b * in + i] * W[(long)o * in + i]);
                worst = fmax(worst, fabs((double)y[(long)b * out + o] - y_ref[(long)b * out + o]) / (mag + 1e-30));
            }
        }
        /* a row computed alone is bit-identical to the same row inside the batch */
        int alone_ok = 1;
        for (int b = 0; b < B; b++) {
            ds_linear(x + (long)b * in, W, bias, y_ref, 1, in, out);
            alone_ok &= max_diff(y_ref, y + (long)b * out, out) == 0;
        }
        CHECK(alone_ok, "linear B=%d in=%d out=%d: a row alone differs from the row in the batch", B, in, out);
        free(x), free(W), free(bias), free(y), free(y_ref);
    }
    CHECK(worst <= 1e-5, "linear worst relative difference %.3g > 1e-5", worst);
    printf("linear: worst relative difference %.3g\n", worst);
}

static void test_groupnorm(void) {
    double worst = 0, worst_stats = 0;
    for (int trial = 0; trial < 150; trial++) {
        int G = rand_int(1, 4), B = rand_int(1, 3), C = G * rand_int(1, 5), HW = rand_int(1, 40), fused = trial & 1;
        if (trial == 0) { G = 8; B = 2; C = 64; HW = 196; }
        long n = (long)B * C * HW;
        /* an offset makes the mean matter; a spread of scales per channel tests the variance */
        float *x = rand_floats(n, 3.0f);
        for (long i = 0; i < n; i++) x[i] += 5.0f;
        float *gamma = rand_floats(C, 2.0f), *beta = rand_floats(C, 1.0f);
        float *y = rand_floats(n, 1.0f), *y_ref = rand_floats(n, 1.0f), *a = rand_floats(n, 1.0f), *a_ref = rand_floats(n, 1.0f);
        float mean[64], rstd[64], mean_ref[64], rstd_ref[64];
        if (fused) {
            ds_groupnorm_silu(x, gamma, beta, y, a, mean, rstd, B, C, HW, G, 1e-5f);
            ds_groupnorm_silu_ref(x, gamma, beta, y_ref, a_ref, mean_ref, rstd_ref, B, C, HW, G, 1e-5f);
        } else {
            ds_groupnorm(x, gamma, beta, y, mean, rstd, B, C, HW, G, 1e-5f);
            ds_groupnorm_ref(x, gamma, beta, y_ref, mean_ref, rstd_ref, B, C, HW, G, 1e-5f);
        }
        for (long i = 0; i < n; i++) {
            worst = fmax(worst, fabs((double)y[i] - y_ref[i]) / (1 + fabs(y_ref[i])));
            if (fused) worst = fmax(worst, fabs((double)a[i] - a_ref[i]) / (1 + fabs(a_ref[i])));
        }
        for (int i = 0; i < B * G; i++)
            worst_stats = fmax(worst_stats, fmax(fabs(mean[i] - mean_ref[i]) / fabs(mean_ref[i]), fabs(rstd[i] - rstd_ref[i]) / rstd_ref[i]));
        free(x), free(gamma), free(beta), free(y), free(y_ref), free(a), free(a_ref);
    }
    CHECK(worst <= 1e-5, "groupnorm worst difference %.3g > 1e-5 (relative to 1 + |y|)", worst);
    CHECK(worst_stats <= 1e-6, "groupnorm mean / rstd differ by %.3g relative", worst_stats);

    /* against the definition on a hand-made case: one group of (1, 2, 3, 4) -> mean 2.5, var 1.25 */
    float x[4] = {1, 2, 3, 4}, g[2] = {1, 2}, b[2] = {0, 10}, y[4], mean, rstd;
    ds_groupnorm(x, g, b, y, &mean, &rstd, 1, 2, 2, 1, 0.0f);
    double r = 1 / sqrt(1.25);
    CHECK_NEAR(mean, 2.5, 1e-7, "groupnorm mean");
    CHECK_NEAR(rstd, r, 1e-6, "groupnorm rstd");
    CHECK_NEAR(y[0], -1.5 * r, 1e-6, "groupnorm y[0]");
    CHECK_NEAR(y[3], 1.5 * r * 2 + 10, 1e-5, "groupnorm y[3] with gamma 2, beta 10");
    printf("groupnorm: worst difference %.3g, statistics %.3g\n", worst, worst_stats);
}

/* softmax rows against the reference (expf, sum in double), rows summing to 1, a row of equal
 * values uniform, large values without overflow */
static void test_softmax(void) {
    double worst = 0, worst_sum = 0;
    int outside = 0;
    for (int trial = 0; trial < 40; trial++) {
        const int rows = rand_int(1, 5), n = rand_int(1, 70);
        const float scale = trial % 2 ? 0.125f : 1.0f;
        float *x = rand_floats((long)rows * n, trial < 20 ? 5.0f : 200.0f), *y = copy_floats(x, (long)rows * n);
        ds_softmax_rows(x, rows, n, scale);
        ds_softmax_rows_ref(y, rows, n, scale);
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int j = 0; j < n; j++) {
                const long i = (long)r * n + j;
                worst = fmax(worst, fabs((double)x[i] - y[i]) / (y[i] + 1e-30));
                sum += x[i];
                outside += !(x[i] >= 0 && x[i] <= 1);
            }
            worst_sum = fmax(worst_sum, fabs(sum - 1));
        }
        free(x), free(y);
    }
    CHECK(outside == 0, "softmax: %d values outside [0, 1]", outside);
    CHECK(worst <= 1e-5, "softmax worst relative difference %.3g > 1e-5", worst);
    CHECK(worst_sum <= 1e-5, "softmax rows sum to 1 within 1e-5 (worst %.3g)", worst_sum);
    float flat[9] = {3, 3, 3, 3, 3, 3, 3, 3, 3};
    ds_softmax_rows(flat, 1, 9, 1.0f);
    for (int j = 0; j < 9; j++) CHECK_NEAR(flat[j], 1.0 / 9, 1e-7, "equal values: uniform");
    printf("softmax rows: worst relative difference %.3g, worst |row sum - 1| %.3g\n", worst, worst_sum);
}

static void test_silu(void) {
    double worst = 0;
    for (int trial = 0; trial < 50; trial++) {
        long n = rand_int(1, 67);
        float *x = rand_floats(n, trial < 25 ? 10.0f : 100.0f), *y = rand_floats(n, 1), *y_ref = rand_floats(n, 1);
        if (trial == 0 && n >= 6) { x[0] = 0.0f; x[1] = -0.0f; x[2] = 88.0f; x[3] = -88.0f; x[4] = 1e-20f; x[5] = -200.0f; }
        ds_silu(x, y, n);
        ds_silu_ref(x, y_ref, n);
        for (long i = 0; i < n; i++) worst = fmax(worst, fabs((double)y[i] - y_ref[i]) / (fabs(y_ref[i]) + 1e-30 / 2e-6));
        /* in place gives the same */
        float *z = copy_floats(x, n);
        ds_silu(z, z, n);
        CHECK(max_diff(z, y, n) == 0, "silu in place differs");
        free(x), free(y), free(y_ref), free(z);
    }
    CHECK(worst <= 2e-6, "silu worst relative difference %.3g > 2e-6", worst);
    float one = 1.0f, s;
    ds_silu(&one, &s, 1);
    CHECK_NEAR(s, 1.0 / (1.0 + exp(-1.0)), 1e-7, "silu(1)");
    printf("silu: worst relative difference %.3g\n", worst);
}

static void test_moves(void) {
    for (int trial = 0; trial < 40; trial++) {
        int BC = rand_int(1, 6), H = rand_int(1, 9), W = rand_int(1, 11);
        float *x = rand_floats((long)BC * H * W, 1), *y = rand_floats(4L * BC * H * W, 1), *y_ref = rand_floats(4L * BC * H * W, 1);
        ds_upsample2x(x, y, BC, H, W);
        ds_upsample2x_ref(x, y_ref, BC, H, W);
        CHECK(max_diff(y, y_ref, 4L * BC * H * W) == 0, "upsample2x %dx%dx%d differs", BC, H, W);
        CHECK(y[(2L * H) * (2 * W) - 1] == x[(long)H * W - 1], "upsample2x: the last pixel repeats the last input");
        free(x), free(y), free(y_ref);

        int B = rand_int(1, 3), Ca = rand_int(1, 5), Cb = rand_int(1, 5), HW = rand_int(1, 30);
        float *a = rand_floats((long)B * Ca * HW, 1), *b = rand_floats((long)B * Cb * HW, 1);
        long ny = (long)B * (Ca + Cb) * HW;
        float *c = rand_floats(ny, 1), *c_ref = rand_floats(ny, 1);
        ds_concat_channels(a, Ca, b, Cb, c, B, HW);
        ds_concat_channels_ref(a, Ca, b, Cb, c_ref, B, HW);
        CHECK(max_diff(c, c_ref, ny) == 0, "concat B=%d Ca=%d Cb=%d HW=%d differs", B, Ca, Cb, HW);
        free(a), free(b), free(c), free(c_ref);

        long n = rand_int(1, 70);
        float *p = rand_floats(n, 1), *q = rand_floats(n, 1), *s = rand_floats(n, 1), *s_ref = rand_floats(n, 1);
        ds_add(p, q, s, n);
        ds_add_ref(p, q, s_ref, n);
        CHECK(max_diff(s, s_ref, n) == 0, "add n=%ld differs", n);
        free(p), free(q), free(s), free(s_ref);

        int C = rand_int(1, 5);
        float *v = rand_floats((long)B * C, 1), *yb = rand_floats((long)B * C * HW, 1), *yb_ref = copy_floats(yb, (long)B * C * HW);
        ds_add_channel_bias(yb, v, B, C, HW);
        ds_add_channel_bias_ref(yb_ref, v, B, C, HW);
        CHECK(max_diff(yb, yb_ref, (long)B * C * HW) == 0, "add_channel_bias B=%d C=%d HW=%d differs", B, C, HW);
        free(v), free(yb), free(yb_ref);
    }
}

static void test_embeddings(void) {
    const int D = 128;
    float t[5] = {0.0f, 1.0f, 17.5f, 500.0f, 1000.0f}, e[5 * 128], e_ref[5 * 128];
    ds_timestep_embedding(t, e, 5, D);
    ds_timestep_embedding_ref(t, e_ref, 5, D);
    CHECK(max_diff(e, e_ref, 5 * D) == 0, "timestep embedding differs from its reference");
    double worst = 0;
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < D / 2; i++) {
            double f = exp(-log(10000.0) * i / (D / 2));
            worst = fmax(worst, fabs(e[b * D + i] - sin(t[b] * f)));
            worst = fmax(worst, fabs(e[b * D + D / 2 + i] - cos(t[b] * f)));
        }
    }
    CHECK(worst <= 1e-6, "timestep embedding vs libm: %.3g", worst);
    CHECK(e[0] == 0.0f && e[D / 2] == 1.0f, "t = 0 gives sin 0, cos 1");

    float table[11 * 6];
    for (int i = 0; i < 66; i++) table[i] = (float)i;
    int cls[4] = {0, 10, 3, 3};
    float out[24], out_ref[24];
    ds_class_embedding(table, cls, out, 4, 6);
    ds_class_embedding_ref(table, cls, out_ref, 4, 6);
    CHECK(max_diff(out, out_ref, 24) == 0 && out[6] == 60.0f && out[23] == 23.0f, "class embedding rows");
}

/* The 3x3 stride-1 convs to 1..3 outputs (conv_out) run their own kernel: bit-identical to the
 * reference on the network's shape, on rows of 16 + 3 pixels, on tall thin images, with and
 * without bias, in the scratch that ds_conv2d_scratch_floats gives (run last: the shapes above
 * keep their random inputs). */
static void test_conv_few_outputs(void) {
    const int shapes[][5] = {{2, 32, 28, 28, 1}, {3, 5, 7, 19, 3}, {1, 2, 13, 1, 2}, {2, 3, 1, 6, 1}, {1, 9, 5, 33, 2}};
    for (int i = 0; i < (int)(sizeof shapes / sizeof shapes[0]); i++) {
        const int B = shapes[i][0], Cin = shapes[i][1], H = shapes[i][2], W = shapes[i][3], Cout = shapes[i][4];
        float *x = rand_floats((long)B * Cin * H * W, 1.0f), *w = rand_floats((long)Cout * Cin * 9, 0.5f);
        float *bias = i % 2 ? NULL : rand_floats(Cout, 1.0f);
        const long ny = (long)B * Cout * H * W;
        float *y = rand_floats(ny, 9.0f), *y_ref = rand_floats(ny, 9.0f);
        float *scratch = rand_floats((long)ds_conv2d_scratch_floats(Cin, H, W, 3, 1), 9.0f);
        ds_conv2d(x, w, bias, y, scratch, B, Cin, H, W, Cout, 3, 1);
        ds_conv2d_ref(x, w, bias, y_ref, B, Cin, H, W, Cout, 3, 1);
        const double d = max_diff(y, y_ref, ny);
        CHECK(d == 0, "conv2d to %d outputs B=%d Cin=%d %dx%d bias=%d: max diff %.3g", Cout, B, Cin, H, W, bias != NULL, d);
        free(x), free(w), free(bias), free(y), free(y_ref), free(scratch);
    }
}

int main(void) {
    ds_rng_seed(&rng, 2024);
    test_gemm();
    test_gemm_train();
    test_conv();
    test_winograd();
    test_im2col_adjoint();
    test_linear();
    /* its own stream: GroupNorm's fast formula (x * scale + shift) differs from the reference's
     * most on groups of one value (rstd = 1 / sqrt(eps)), so a change in how many random values
     * the tests above draw must not move which shapes this one sees */
    ds_rng_seed(&rng, 2024);
    test_groupnorm();
    test_silu();
    test_softmax();
    test_moves();
    test_embeddings();
    test_conv_few_outputs();
    return check_summary("test_kernels");
}

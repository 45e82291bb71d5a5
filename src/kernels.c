/* kernels.c — the fast versions of the kernels (see kernels.h), written once with SIMDe.
 *
 * SIMDe maps these SSE2 intrinsics to SSE natively, to wasm simd128 under -msimd128 and to
 * portable scalar code in the scalar WASM build, so every target runs this same source with
 * the same rounding (no FMA contraction: -ffp-contract=off). Each kernel is a vector main
 * loop plus a scalar remainder loop. The scalar references live in kernels_ref.c.
 * This is the only file (with its _ref twin) that knows about vectors. */
#include <math.h>
#include <string.h>

#include <simde/x86/sse2.h>

#include "kernels.h"

typedef simde__m128 v4;

#define V_LOAD simde_mm_loadu_ps
#define V_STORE simde_mm_storeu_ps
#define V_SET1 simde_mm_set1_ps
#define V_ADD simde_mm_add_ps
#define V_SUB simde_mm_sub_ps
#define V_MUL simde_mm_mul_ps
#define V_DIV simde_mm_div_ps

/* ---- matrix multiply --------------------------------------------------------------------
 * op(B) not transposed: a 4 x 8 register tile of C (8 accumulators); for each k, one row of
 * 8 B values times 4 broadcast A values. Every C element sums its K products in k order, exactly like the
 * reference, so this path is bit-identical to ds_gemm_ref. Loop order: column panel outer,
 * row tiles inner, so the K x 8 panel of B stays in L1 while all rows of A stream past. */

/* op(A)[i][k] = A[i * sa_i + k * sa_k]: (lda, 1) when A is stored (M, K), (1, lda) when
 * stored (K, M), so the tiles need no transpose branch in their inner loop. */

static inline void store_c(float *c, v4 v, int accumulate) {
    V_STORE(c, accumulate ? V_ADD(V_LOAD(c), v) : v);
}

/* 4 rows x 8 columns */
static inline void tile_4x8(int K, const float *A, long sa_i, long sa_k, const float *B, int ldb, float *C, int ldc,
                            int accumulate) {
    v4 c00 = simde_mm_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float *a0 = A, *a1 = A + sa_i, *a2 = A + 2 * sa_i, *a3 = A + 3 * sa_i;
    for (int k = 0; k < K; k++) {
        const float *brow = B + (long)k * ldb;
        v4 b0 = V_LOAD(brow), b1 = V_LOAD(brow + 4);
        const long ak = k * sa_k;
        v4 a = V_SET1(a0[ak]);
        c00 = V_ADD(c00, V_MUL(a, b0));
        c01 = V_ADD(c01, V_MUL(a, b1));
        a = V_SET1(a1[ak]);
        c10 = V_ADD(c10, V_MUL(a, b0));
        c11 = V_ADD(c11, V_MUL(a, b1));
        a = V_SET1(a2[ak]);
        c20 = V_ADD(c20, V_MUL(a, b0));
        c21 = V_ADD(c21, V_MUL(a, b1));
        a = V_SET1(a3[ak]);
        c30 = V_ADD(c30, V_MUL(a, b0));
        c31 = V_ADD(c31, V_MUL(a, b1));
    }
    store_c(C, c00, accumulate), store_c(C + 4, c01, accumulate);
    store_c(C + ldc, c10, accumulate), store_c(C + ldc + 4, c11, accumulate);
    store_c(C + 2 * ldc, c20, accumulate), store_c(C + 2 * ldc + 4, c21, accumulate);
    store_c(C + 3 * ldc, c30, accumulate), store_c(C + 3 * ldc + 4, c31, accumulate);
}

/* 1 row x 8 columns (the row remainder) */
static inline void tile_1x8(int K, const float *A, long sa_k, const float *B, int ldb, float *C, int accumulate) {
    v4 c0 = simde_mm_setzero_ps(), c1 = c0;
    for (int k = 0; k < K; k++) {
        const float *brow = B + (long)k * ldb;
        v4 a = V_SET1(A[k * sa_k]);
        c0 = V_ADD(c0, V_MUL(a, V_LOAD(brow)));
        c1 = V_ADD(c1, V_MUL(a, V_LOAD(brow + 4)));
    }
    store_c(C, c0, accumulate), store_c(C + 4, c1, accumulate);
}

/* 1 row x 4 columns */
static inline void tile_1x4(int K, const float *A, long sa_k, const float *B, int ldb, float *C, int accumulate) {
    v4 c0 = simde_mm_setzero_ps();
    for (int k = 0; k < K; k++) c0 = V_ADD(c0, V_MUL(V_SET1(A[k * sa_k]), V_LOAD(B + (long)k * ldb)));
    store_c(C, c0, accumulate);
}

/* 1 row x 1 column */
static inline void tile_1x1(int K, const float *A, long sa_k, const float *B, int ldb, float *C, int accumulate) {
    float sum = 0.0f;
    for (int k = 0; k < K; k++) sum += A[k * sa_k] * B[(long)k * ldb];
    *C = accumulate ? *C + sum : sum;
}

static void gemm_b_rows(int trans_a, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                        int ldc, int accumulate) {
    const long sa_i = trans_a ? 1 : lda, sa_k = trans_a ? lda : 1;
    int j0 = 0;
    for (; j0 + 8 <= N; j0 += 8) {
        int i0 = 0;
        for (; i0 + 4 <= M; i0 += 4)
            tile_4x8(K, A + i0 * sa_i, sa_i, sa_k, B + j0, ldb, C + (long)i0 * ldc + j0, ldc, accumulate);
        for (; i0 < M; i0++) tile_1x8(K, A + i0 * sa_i, sa_k, B + j0, ldb, C + (long)i0 * ldc + j0, accumulate);
    }
    for (; j0 + 4 <= N; j0 += 4)
        for (int i0 = 0; i0 < M; i0++) tile_1x4(K, A + i0 * sa_i, sa_k, B + j0, ldb, C + (long)i0 * ldc + j0, accumulate);
    for (; j0 < N; j0++)
        for (int i0 = 0; i0 < M; i0++) tile_1x1(K, A + i0 * sa_i, sa_k, B + j0, ldb, C + (long)i0 * ldc + j0, accumulate);
}

/* Horizontal sum in a fixed order: (v0 + v2) + (v1 + v3). */
static inline float hsum(v4 v) {
    v4 hi = simde_mm_movehl_ps(v, v);        /* v2 v3 . . */
    v4 s = V_ADD(v, hi);                      /* v0+v2 v1+v3 */
    v4 s1 = simde_mm_shuffle_ps(s, s, 0x55); /* v1+v3 */
    return simde_mm_cvtss_f32(simde_mm_add_ss(s, s1));
}

/* op(B) transposed, A not: C[i][j] = dot(A row i, B row j), both contiguous in k. Tiles of
 * 2 rows x 4 columns share each load; every element is summed the same way whatever tile it
 * falls in (4 lanes over k, hsum, then the k tail in order), so a row's result does not
 * depend on the batch around it. Differs from the reference by float reassociation only. */
static inline float dot_finish(v4 lanes, const float *a, const float *b, int K4, int K) {
    float r = hsum(lanes);
    for (int k = K4; k < K; k++) r += a[k] * b[k];
    return r;
}

static inline void put(float *c, float v, int accumulate) { *c = accumulate ? *c + v : v; }

static void gemm_dot(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                     int accumulate) {
    const int K4 = K & ~3;
    int i = 0;
    for (; i + 2 <= M; i += 2) {
        const float *a0 = A + (long)i * lda, *a1 = a0 + lda;
        float *c0 = C + (long)i * ldc, *c1 = c0 + ldc;
        int j = 0;
        for (; j + 4 <= N; j += 4) {
            const float *b0 = B + (long)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            v4 s00 = simde_mm_setzero_ps(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int k = 0; k < K4; k += 4) {
                v4 x0 = V_LOAD(a0 + k), x1 = V_LOAD(a1 + k), w;
                w = V_LOAD(b0 + k), s00 = V_ADD(s00, V_MUL(x0, w)), s10 = V_ADD(s10, V_MUL(x1, w));
                w = V_LOAD(b1 + k), s01 = V_ADD(s01, V_MUL(x0, w)), s11 = V_ADD(s11, V_MUL(x1, w));
                w = V_LOAD(b2 + k), s02 = V_ADD(s02, V_MUL(x0, w)), s12 = V_ADD(s12, V_MUL(x1, w));
                w = V_LOAD(b3 + k), s03 = V_ADD(s03, V_MUL(x0, w)), s13 = V_ADD(s13, V_MUL(x1, w));
            }
            put(c0 + j, dot_finish(s00, a0, b0, K4, K), accumulate);
            put(c0 + j + 1, dot_finish(s01, a0, b1, K4, K), accumulate);
            put(c0 + j + 2, dot_finish(s02, a0, b2, K4, K), accumulate);
            put(c0 + j + 3, dot_finish(s03, a0, b3, K4, K), accumulate);
            put(c1 + j, dot_finish(s10, a1, b0, K4, K), accumulate);
            put(c1 + j + 1, dot_finish(s11, a1, b1, K4, K), accumulate);
            put(c1 + j + 2, dot_finish(s12, a1, b2, K4, K), accumulate);
            put(c1 + j + 3, dot_finish(s13, a1, b3, K4, K), accumulate);
        }
        for (; j < N; j++) {
            const float *b = B + (long)j * ldb;
            v4 s0 = simde_mm_setzero_ps(), s1 = s0;
            for (int k = 0; k < K4; k += 4) {
                v4 w = V_LOAD(b + k);
                s0 = V_ADD(s0, V_MUL(V_LOAD(a0 + k), w));
                s1 = V_ADD(s1, V_MUL(V_LOAD(a1 + k), w));
            }
            put(c0 + j, dot_finish(s0, a0, b, K4, K), accumulate);
            put(c1 + j, dot_finish(s1, a1, b, K4, K), accumulate);
        }
    }
    for (; i < M; i++) {
        const float *a = A + (long)i * lda;
        float *c = C + (long)i * ldc;
        for (int j = 0; j < N; j++) {
            const float *b = B + (long)j * ldb;
            v4 s0 = simde_mm_setzero_ps();
            for (int k = 0; k < K4; k += 4) s0 = V_ADD(s0, V_MUL(V_LOAD(a + k), V_LOAD(b + k)));
            put(c + j, dot_finish(s0, a, b, K4, K), accumulate);
        }
    }
}

void ds_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
             float *C, int ldc, int accumulate) {
    if (!trans_b)
        gemm_b_rows(trans_a, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    else if (!trans_a)
        gemm_dot(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    else /* A^T B^T: not used by the networks; (B A)^T would need a transpose buffer */
        ds_gemm_ref(1, 1, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

/* ---- convolution: im2col panels + GEMM micro-tiles ----
 * The im2col matrix (kdim = C_in*K*K rows, npix columns) is never built whole: it is made
 * 8 columns (output pixels) at a time as a packed panel P (kdim, 8), contiguous, which stays
 * in L1/L2 while every 4-row tile of the weights streams past it. The columns run on across
 * the images of the batch, so 7x7 maps (49 pixels) waste no lanes at batch > 1. Bias is added as a tile is
 * stored. Each output sums its kdim products in k order from 0 and then adds the bias, like
 * ds_conv2d_ref, so the result is bit-identical to the reference. 1x1 stride-1 convs need no
 * im2col: they are a GEMM on the image itself. */

#define PANEL 8

/* Packs im2col columns q0 .. q0+7 of the batch into P (kdim, 8). Column q is pixel q % npix
 * of image q / npix (the batch's im2col matrices side by side), so small images fill whole
 * panels; columns at or past total = B * npix are zero. A panel lying in one output row of
 * one image at stride 1 copies 8 contiguous inputs per row of P. */
static void pack_panel(const float *x, long in_size, float *P, int C_in, int H, int W, int K, int stride, int Wo,
                       int npix, long q0, long total) {
    const int pad = K / 2, n = total - q0 < PANEL ? (int)(total - q0) : PANEL;
    const long b0 = q0 / npix;
    const int p0 = (int)(q0 % npix), oy = p0 / Wo, ox = p0 % Wo;
    const int one_row = stride == 1 && n == PANEL && ox + PANEL <= Wo; /* then also one image */
    /* general panels: for each kernel tap (ky, kx) and slot, the input's offset from the
     * channel plane of image 0, or -1 outside the image (K <= 3: at most 9 taps) */
    long off[9][PANEL];
    if (!one_row) {
        for (int s = 0; s < PANEL; s++) {
            const long q = q0 + s;
            const int p = (int)(q % npix), iy0 = (p / Wo) * stride - pad, ix0 = (p % Wo) * stride - pad;
            for (int ky = 0; ky < K; ky++) {
                for (int kx = 0; kx < K; kx++) {
                    const int iy = iy0 + ky, ix = ix0 + kx;
                    const int inside = s < n && (unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W;
                    off[ky * K + kx][s] = inside ? (q / npix) * in_size + (long)iy * W + ix : -1;
                }
            }
        }
    }
    const v4 zero = simde_mm_setzero_ps();
    float *dst = P;
    for (int c = 0; c < C_in; c++) {
        const long plane = (long)c * H * W;
        if (!one_row) {
            for (int t = 0; t < K * K; t++, dst += PANEL)
                for (int s = 0; s < PANEL; s++) dst[s] = off[t][s] >= 0 ? x[plane + off[t][s]] : 0.0f;
            continue;
        }
        const float *xc = x + b0 * in_size + plane;
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++, dst += PANEL) {
                const int iy = oy - pad + ky, ix = ox - pad + kx;
                if (iy < 0 || iy >= H) {
                    V_STORE(dst, zero), V_STORE(dst + 4, zero);
                    continue;
                }
                const float *src = xc + (long)iy * W + ix;
                if (ix >= 0 && ix + PANEL <= W) {
                    V_STORE(dst, V_LOAD(src)), V_STORE(dst + 4, V_LOAD(src + 4));
                    continue;
                }
                for (int s = 0; s < PANEL; s++) dst[s] = (unsigned)(ix + s) < (unsigned)W ? src[s] : 0.0f;
            }
        }
    }
}

/* Stores a finished row of a tile: the bias (if any) added, all 8 columns or the first n. */
static inline void store_row(float *c, v4 lo, v4 hi, const float *bias, int n) {
    if (bias) {
        const v4 b = V_SET1(*bias);
        lo = V_ADD(lo, b), hi = V_ADD(hi, b);
    }
    if (n == PANEL) {
        V_STORE(c, lo), V_STORE(c + 4, hi);
        return;
    }
    float tmp[PANEL];
    V_STORE(tmp, lo), V_STORE(tmp + 4, hi);
    memcpy(c, tmp, sizeof(float) * (size_t)n);
}

/* C rows i0..i0+3, columns 0..n-1 = W rows (4, kdim) x P (kdim, 8) + bias */
static inline void conv_tile_4x8(int kdim, const float *w, const float *P, float *C, int ldc, const float *bias, int n) {
    v4 c00 = simde_mm_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float *w0 = w, *w1 = w + kdim, *w2 = w + 2 * kdim, *w3 = w + 3 * kdim;
    for (int k = 0; k < kdim; k++, P += PANEL) {
        const v4 b0 = V_LOAD(P), b1 = V_LOAD(P + 4);
        v4 a = V_SET1(w0[k]);
        c00 = V_ADD(c00, V_MUL(a, b0)), c01 = V_ADD(c01, V_MUL(a, b1));
        a = V_SET1(w1[k]);
        c10 = V_ADD(c10, V_MUL(a, b0)), c11 = V_ADD(c11, V_MUL(a, b1));
        a = V_SET1(w2[k]);
        c20 = V_ADD(c20, V_MUL(a, b0)), c21 = V_ADD(c21, V_MUL(a, b1));
        a = V_SET1(w3[k]);
        c30 = V_ADD(c30, V_MUL(a, b0)), c31 = V_ADD(c31, V_MUL(a, b1));
    }
    store_row(C, c00, c01, bias, n);
    store_row(C + ldc, c10, c11, bias ? bias + 1 : NULL, n);
    store_row(C + 2 * ldc, c20, c21, bias ? bias + 2 : NULL, n);
    store_row(C + 3 * ldc, c30, c31, bias ? bias + 3 : NULL, n);
}

static inline void conv_tile_1x8(int kdim, const float *w, const float *P, float *C, const float *bias, int n) {
    v4 c0 = simde_mm_setzero_ps(), c1 = c0;
    for (int k = 0; k < kdim; k++, P += PANEL) {
        const v4 a = V_SET1(w[k]);
        c0 = V_ADD(c0, V_MUL(a, V_LOAD(P))), c1 = V_ADD(c1, V_MUL(a, V_LOAD(P + 4)));
    }
    store_row(C, c0, c1, bias, n);
}

static void add_bias_rows(float *y, const float *bias, int C, int HW) {
    for (int c = 0; c < C; c++) {
        float *row = y + (long)c * HW;
        v4 bv = V_SET1(bias[c]);
        int i = 0;
        for (; i + 4 <= HW; i += 4) V_STORE(row + i, V_ADD(V_LOAD(row + i), bv));
        for (; i < HW; i++) row[i] += bias[c];
    }
}

/* Writes rows (rows, 8) of a panel's tile, first n columns, to their images and pixels. */
static void scatter_tile(const float *tile, int rows, int n, float *y, int C_out, int o, int npix, long q0) {
    for (int s = 0; s < n; s++) {
        const long q = q0 + s, b = q / npix;
        float *col = y + (b * C_out + o) * npix + q % npix;
        for (int r = 0; r < rows; r++) col[(long)r * npix] = tile[r * PANEL + s];
    }
}

void ds_conv2d(const float *x, const float *w, const float *bias, float *y, float *scratch, int B, int C_in, int H,
               int W, int C_out, int K, int stride) {
    const int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    const long in_size = (long)C_in * H * W, out_size = (long)C_out * Ho * Wo;
    const int kdim = C_in * K * K, npix = Ho * Wo;
    if (K == 1 && stride == 1) { /* a 1x1 stride-1 conv is a plain GEMM on each image */
        for (int b = 0; b < B; b++) {
            ds_gemm(0, 0, C_out, npix, kdim, w, kdim, x + b * in_size, npix, y + b * out_size, npix, 0);
            if (bias) add_bias_rows(y + b * out_size, bias, C_out, npix);
        }
        return;
    }
    const long total = (long)B * npix;
    float tile[4 * PANEL];
    for (long q0 = 0; q0 < total; q0 += PANEL) {
        const int n = total - q0 < PANEL ? (int)(total - q0) : PANEL;
        const long b = q0 / npix;
        const int p0 = (int)(q0 % npix);
        /* direct stores when the panel's columns are pixels p0.. of one image */
        const int direct = p0 + n <= npix;
        float *yb = y + b * out_size + p0;
        pack_panel(x, in_size, scratch, C_in, H, W, K, stride, Wo, npix, q0, total);
        int o = 0;
        for (; o + 4 <= C_out; o += 4) {
            const float *wo = w + (long)o * kdim, *bo = bias ? bias + o : NULL;
            if (direct) {
                conv_tile_4x8(kdim, wo, scratch, yb + (long)o * npix, npix, bo, n);
            } else {
                conv_tile_4x8(kdim, wo, scratch, tile, PANEL, bo, PANEL);
                scatter_tile(tile, 4, n, y, C_out, o, npix, q0);
            }
        }
        for (; o < C_out; o++) {
            const float *wo = w + (long)o * kdim, *bo = bias ? bias + o : NULL;
            if (direct) {
                conv_tile_1x8(kdim, wo, scratch, yb + (long)o * npix, bo, n);
            } else {
                conv_tile_1x8(kdim, wo, scratch, tile, bo, PANEL);
                scatter_tile(tile, 1, n, y, C_out, o, npix, q0);
            }
        }
    }
}

/* ---- linear ---- */

void ds_linear(const float *x, const float *W, const float *bias, float *y, int B, int in, int out) {
    gemm_dot(B, out, in, x, in, W, in, y, out, 0);
    if (bias) {
        for (int b = 0; b < B; b++) {
            float *row = y + (long)b * out;
            int o = 0;
            for (; o + 4 <= out; o += 4) V_STORE(row + o, V_ADD(V_LOAD(row + o), V_LOAD(bias + o)));
            for (; o < out; o++) row[o] += bias[o];
        }
    }
}

/* ---- GroupNorm: statistics in double (two passes), normalisation in float ---- */

/* Sum of n floats in double: two double lanes per half-vector, then the lanes, then the tail. */
static double sum_f64(const float *x, long n) {
    simde__m128d s0 = simde_mm_setzero_pd(), s1 = simde_mm_setzero_pd();
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 v = V_LOAD(x + i);
        s0 = simde_mm_add_pd(s0, simde_mm_cvtps_pd(v));
        s1 = simde_mm_add_pd(s1, simde_mm_cvtps_pd(simde_mm_movehl_ps(v, v)));
    }
    double lanes[2];
    simde_mm_storeu_pd(lanes, simde_mm_add_pd(s0, s1));
    double s = lanes[0] + lanes[1];
    for (; i < n; i++) s += x[i];
    return s;
}

static double sq_dev_f64(const float *x, long n, double mu) {
    simde__m128d s0 = simde_mm_setzero_pd(), s1 = simde_mm_setzero_pd(), m = simde_mm_set1_pd(mu);
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 v = V_LOAD(x + i);
        simde__m128d d0 = simde_mm_sub_pd(simde_mm_cvtps_pd(v), m);
        simde__m128d d1 = simde_mm_sub_pd(simde_mm_cvtps_pd(simde_mm_movehl_ps(v, v)), m);
        s0 = simde_mm_add_pd(s0, simde_mm_mul_pd(d0, d0));
        s1 = simde_mm_add_pd(s1, simde_mm_mul_pd(d1, d1));
    }
    double lanes[2];
    simde_mm_storeu_pd(lanes, simde_mm_add_pd(s0, s1));
    double s = lanes[0] + lanes[1];
    for (; i < n; i++) s += ((double)x[i] - mu) * ((double)x[i] - mu);
    return s;
}

/* Mean and rstd of group g of item b (statistics in double, as documented in kernels.h). */
static void group_stats(const float *xg, long n, float *mean_f, float *rstd_f, float eps) {
    double mu = sum_f64(xg, n) / n;
    double var = sq_dev_f64(xg, n, mu) / n;
    *mean_f = (float)mu;
    *rstd_f = (float)(1.0 / sqrt(var + eps));
}

void ds_groupnorm(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, int B,
                  int C, int HW, int G, float eps) {
    const int cpg = C / G;
    const long n = (long)cpg * HW;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            const long base = ((long)b * C + (long)g * cpg) * HW;
            float mean_f, rstd_f;
            group_stats(x + base, n, &mean_f, &rstd_f, eps);
            if (mean) mean[b * G + g] = mean_f;
            if (rstd) rstd[b * G + g] = rstd_f;
            v4 mv = V_SET1(mean_f), rv = V_SET1(rstd_f);
            for (int c = 0; c < cpg; c++) {
                const float *xc = x + base + (long)c * HW;
                float *yc = y + base + (long)c * HW;
                float ga = gamma[g * cpg + c], be = beta[g * cpg + c];
                v4 gv = V_SET1(ga), bv = V_SET1(be);
                int i = 0;
                for (; i + 4 <= HW; i += 4)
                    V_STORE(yc + i, V_ADD(V_MUL(V_MUL(V_SUB(V_LOAD(xc + i), mv), rv), gv), bv));
                for (; i < HW; i++) yc[i] = (xc[i] - mean_f) * rstd_f * ga + be;
            }
        }
    }
}

/* ---- SiLU with a vector exp ----
 * exp(x) = 2^n * e^r, n = round(x / ln 2), |r| <= ln2 / 2, e^r by the Cephes degree-5
 * polynomial (relative error about 1.2e-7 in float); x is clamped to [-87.3, 88.4] first so
 * 2^n stays a normal float. */
static inline v4 exp_v4(v4 x) {
    x = simde_mm_min_ps(x, V_SET1(88.3762626647949f));
    x = simde_mm_max_ps(x, V_SET1(-87.3365447504019f));
    v4 fx = V_ADD(V_MUL(x, V_SET1(1.44269504088896341f)), V_SET1(0.5f));
    v4 fl = simde_mm_cvtepi32_ps(simde_mm_cvttps_epi32(fx)); /* trunc, then floor for negatives */
    fl = V_SUB(fl, simde_mm_and_ps(simde_mm_cmpgt_ps(fl, fx), V_SET1(1.0f)));
    x = V_SUB(x, V_MUL(fl, V_SET1(0.693359375f)));
    x = V_SUB(x, V_MUL(fl, V_SET1(-2.12194440e-4f)));
    v4 z = V_MUL(x, x);
    v4 p = V_SET1(1.9875691500e-4f);
    p = V_ADD(V_MUL(p, x), V_SET1(1.3981999507e-3f));
    p = V_ADD(V_MUL(p, x), V_SET1(8.3334519073e-3f));
    p = V_ADD(V_MUL(p, x), V_SET1(4.1665795894e-2f));
    p = V_ADD(V_MUL(p, x), V_SET1(1.6666665459e-1f));
    p = V_ADD(V_MUL(p, x), V_SET1(5.0000001201e-1f));
    p = V_ADD(V_ADD(V_MUL(p, z), x), V_SET1(1.0f));
    simde__m128i e = simde_mm_slli_epi32(simde_mm_add_epi32(simde_mm_cvttps_epi32(fl), simde_mm_set1_epi32(127)), 23);
    return V_MUL(p, simde_mm_castsi128_ps(e));
}

static inline v4 silu_v4(v4 x) {
    return V_DIV(x, V_ADD(V_SET1(1.0f), exp_v4(V_SUB(simde_mm_setzero_ps(), x))));
}

/* scalar tail through the same vector code (one lane), so every element rounds the same way */
static inline float silu_1(float x) { return simde_mm_cvtss_f32(silu_v4(V_SET1(x))); }

void ds_silu(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) V_STORE(y + i, silu_v4(V_LOAD(x + i)));
    for (; i < n; i++) y[i] = silu_1(x[i]);
}

/* One pass: each value is normalised, stored to norm (when kept) and its SiLU to act, with
 * the same operations as ds_groupnorm followed by ds_silu (so the same bits). */
void ds_groupnorm_silu(const float *x, const float *gamma, const float *beta, float *norm, float *act, float *mean,
                       float *rstd, int B, int C, int HW, int G, float eps) {
    const int cpg = C / G;
    const long n = (long)cpg * HW;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            const long base = ((long)b * C + (long)g * cpg) * HW;
            float mean_f, rstd_f;
            group_stats(x + base, n, &mean_f, &rstd_f, eps);
            if (mean) mean[b * G + g] = mean_f;
            if (rstd) rstd[b * G + g] = rstd_f;
            const v4 mv = V_SET1(mean_f), rv = V_SET1(rstd_f);
            for (int c = 0; c < cpg; c++) {
                const long at = base + (long)c * HW;
                const float ga = gamma[g * cpg + c], be = beta[g * cpg + c];
                const v4 gv = V_SET1(ga), bv = V_SET1(be);
                int i = 0;
                for (; i + 4 <= HW; i += 4) {
                    const v4 v = V_ADD(V_MUL(V_MUL(V_SUB(V_LOAD(x + at + i), mv), rv), gv), bv);
                    if (norm) V_STORE(norm + at + i, v);
                    V_STORE(act + at + i, silu_v4(v));
                }
                for (; i < HW; i++) {
                    const float v = (x[at + i] - mean_f) * rstd_f * ga + be;
                    if (norm) norm[at + i] = v;
                    act[at + i] = silu_1(v);
                }
            }
        }
    }
}

/* ---- data movement and element-wise ---- */

void ds_upsample2x(const float *x, float *y, int BC, int H, int W) {
    const int W2 = 2 * W;
    for (long p = 0; p < BC; p++) {
        for (int i = 0; i < H; i++) {
            const float *in = x + (p * H + i) * W;
            float *out0 = y + (p * 2 * H + 2 * i) * W2;
            int j = 0;
            for (; j + 4 <= W; j += 4) {
                v4 v = V_LOAD(in + j);
                V_STORE(out0 + 2 * j, simde_mm_unpacklo_ps(v, v));
                V_STORE(out0 + 2 * j + 4, simde_mm_unpackhi_ps(v, v));
            }
            for (; j < W; j++) out0[2 * j] = out0[2 * j + 1] = in[j];
            memcpy(out0 + W2, out0, sizeof(float) * W2); /* the second output row repeats the first */
        }
    }
}

void ds_concat_channels(const float *a, int Ca, const float *b, int Cb, float *y, int B, int HW) {
    const long na = (long)Ca * HW, nb = (long)Cb * HW;
    for (int n = 0; n < B; n++) {
        memcpy(y + n * (na + nb), a + n * na, sizeof(float) * na);
        memcpy(y + n * (na + nb) + na, b + n * nb, sizeof(float) * nb);
    }
}

void ds_add(const float *a, const float *b, float *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) V_STORE(y + i, V_ADD(V_LOAD(a + i), V_LOAD(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}

void ds_add_channel_bias(float *y, const float *v, int B, int C, int HW) {
    for (long bc = 0; bc < (long)B * C; bc++) {
        float *row = y + bc * HW;
        v4 bv = V_SET1(v[bc]);
        int i = 0;
        for (; i + 4 <= HW; i += 4) V_STORE(row + i, V_ADD(V_LOAD(row + i), bv));
        for (; i < HW; i++) row[i] += v[bc];
    }
}

/* kernels.c — the fast versions of the kernels (see kernels.h), written once against the
 * vector vocabulary of vec.h.
 *
 * vec.h maps its vectors to SSE / AVX natively, to wasm simd128 under -msimd128 and to
 * portable scalar code in the scalar WASM build, so every target runs this same source with
 * the same rounding (no FMA contraction: -ffp-contract=off). Each kernel is a vector main
 * loop plus a scalar remainder loop. The scalar references live in kernels_ref.c.
 * Not here: intrinsics (vec.h), backward passes (kernels_grad.c). */
#include "kernels_variant.h" /* first: a dispatching build renames the public functions */

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vec.h"

/* ---- matrix multiply: the one register-tiled GEMM ----------------------------------------
 * op(B) not transposed: register tiles of up to 4 rows x NR = 2 * VF_LANES columns (8
 * accumulators: 4 x 8 on 4-lane targets, 4 x 16 with AVX, see vec.h); for each k, one row of
 * NR B values times 4 broadcast A values. Every C element sums its K products in k order
 * from zero, mul then add, then adds the old C (accumulate) or the row's bias: the
 * reference's operations exactly, so this path is bit-identical to ds_gemm_ref (and the
 * convolutions built on it to ds_conv2d_ref) whatever tile an element falls in. ds_gemm, the
 * direct and the Winograd convolutions, and the trainer's backward (through ds_gemm) all run
 * on this one tile. Loop order: column panel outer, row tiles inner, so the K x NR panel of
 * B stays in L1 while all rows of A stream past. */

#define NR (2 * VF_LANES)
/* Rows per register tile: 8 with AVX-512 (16 accumulators + 2 B vectors + 1 broadcast of the
 * 32 zmm registers), 6 with AVX (12 accumulators + 2 B vectors + 1 broadcast of the 16
 * ymm registers: 1.5x the arithmetic per B load of 4 rows), 4 elsewhere (WASM engines and
 * 8-lane emulation spill beyond that: in V8 on an AVX2 EPYC, 5 rows ran the Winograd GEMMs
 * 12% slower and 6 rows 25% slower than 4). The tile shape changes no result. */
#if VF_LANES == 16
#define TILE_ROWS 8
#elif VF_LANES == 8
#define TILE_ROWS 6
#else
#define TILE_ROWS 4
#endif

/* The first n floats of src (rounded up to whole v4, readable) to dst, by vector moves. */
static inline void copy_short(float *dst, const float *src, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) v4_store(dst + i, v4_load(src + i));
    v4_store_part(dst + i, v4_load(src + i), n - i);
}

/* Stores one finished tile row (NV vectors) to c: plus the row's bias (when non-NULL), plus
 * the old c (accumulate), all NV * VF_LANES columns or (not accumulating) the first n. */
static inline __attribute__((always_inline)) void store_tile_row(float *c, const vf *acc, int NV, const float *bias,
                                                                 int accumulate, int n) {
    float tmp[NR];
    const int full = n == NV * VF_LANES;
    for (int v = 0; v < NV; v++) {
        vf s = acc[v];
        if (bias) s = vf_add(s, vf_set1(*bias));
        if (accumulate) s = vf_add(vf_load(c + v * VF_LANES), s);
        vf_store((full ? c : tmp) + v * VF_LANES, s);
    }
    if (!full) copy_short(c, tmp, n);
}

/* C rows 0..MR-1 (row stride ldc), NV vectors of columns = op(A) rows (MR, K) x B (K, NV *
 * VF_LANES), then stored by store_tile_row (bias: MR values or NULL). op(A)[i][k] =
 * A[i * sa_i + k * sa_k]: (lda, 1) when A is stored (M, K), (1, lda) when stored (K, M), so
 * the tile needs no transpose branch in its inner loop. MR (1..TILE_ROWS) and NV (1, 2) are
 * constants at every call, so the loops over them unroll into registers. fused (a constant too):
 * each product added by vf_mul_add (ds_gemm_train) instead of mul then add. */
static inline __attribute__((always_inline)) void tile(int fused, int MR, int NV, int K, const float *A, long sa_i, long sa_k,
                                                       const float *B, long ldb, float *C, long ldc,
                                                       const float *bias, int accumulate, int n) {
    vf acc[TILE_ROWS][2];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = vf_zero();
    /* B's row and A's column k by pointer steps, not k * stride: in WASM the multiplies stayed
     * in the loop (two imul and eight address sums per k in V8, where the packed Winograd tile
     * has none) */
    const float *brow = B, *acol = A;
    for (int k = 0; k < K; k++, brow += ldb, acol += sa_k) {
        vf b[2];
        for (int v = 0; v < NV; v++) b[v] = vf_load(brow + v * VF_LANES);
        for (int r = 0; r < MR; r++) {
            const vf a = vf_set1(acol[r * sa_i]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = fused ? vf_mul_add(a, b[v], acc[r][v]) : vf_add(acc[r][v], vf_mul(a, b[v]));
        }
    }
    for (int r = 0; r < MR; r++) store_tile_row(C + r * ldc, acc[r], NV, bias ? bias + r : NULL, accumulate, n);
}

/* All rows of one column block of NV vectors: 4-row tiles, then single rows. */
static inline __attribute__((always_inline)) void tile_column(int fused, int NV, int M, int K, const float *A, long sa_i,
                                                              long sa_k, const float *B, long ldb, float *C, long ldc,
                                                              int accumulate) {
    const int n = NV * VF_LANES;
    int i0 = 0;
    if (TILE_ROWS > 4)
        for (; i0 + TILE_ROWS <= M; i0 += TILE_ROWS)
            tile(fused, TILE_ROWS, NV, K, A + i0 * sa_i, sa_i, sa_k, B, ldb, C + i0 * ldc, ldc, NULL, accumulate, n);
    for (; i0 + 4 <= M; i0 += 4)
        tile(fused, 4, NV, K, A + i0 * sa_i, sa_i, sa_k, B, ldb, C + i0 * ldc, ldc, NULL, accumulate, n);
    for (; i0 < M; i0++) tile(fused, 1, NV, K, A + i0 * sa_i, sa_i, sa_k, B, ldb, C + i0 * ldc, ldc, NULL, accumulate, n);
}

/* The last nt < VF_LANES columns of gemm_b_rows (the 4 of 196 pixels at 14x14, the 1 of 49 at
 * 7x7, the single output channel of conv_out's weight gradient): vectors over VF_LANES rows of
 * C instead, one accumulator per column, so the nt sums run side by side rather than one
 * latency-bound scalar chain at a time. Each lane sums its element's K products in k order
 * from zero, mul then add, then adds the old C: the tiles' operations, so the result is the
 * same bits. op(A)'s column k for VF_LANES rows is contiguous when A is stored (K, M)
 * (sa_i = 1: the backward's w^T dy), else gathered. */
static void gemm_tail_columns(int M, int nt, int K, const float *A, long sa_i, long sa_k, const float *B, long ldb,
                              float *C, long ldc, int accumulate) {
    int i0 = 0;
    for (; i0 + VF_LANES <= M; i0 += VF_LANES) {
        vf acc[VF_LANES];
        for (int t = 0; t < nt; t++) acc[t] = vf_zero();
        for (int k = 0; k < K; k++) {
            const float *a = A + i0 * sa_i + k * sa_k, *brow = B + k * ldb;
            float g[VF_LANES];
            if (sa_i != 1)
                for (int r = 0; r < VF_LANES; r++) g[r] = a[r * sa_i];
            const vf av = vf_load(sa_i == 1 ? a : g);
            for (int t = 0; t < nt; t++) acc[t] = vf_add(acc[t], vf_mul(av, vf_set1(brow[t])));
        }
        for (int t = 0; t < nt; t++) {
            float sum[VF_LANES];
            vf_store(sum, acc[t]);
            for (int r = 0; r < VF_LANES; r++) {
                float *c = C + (i0 + r) * ldc + t;
                *c = accumulate ? *c + sum[r] : sum[r];
            }
        }
    }
    for (; i0 < M; i0++) /* the last rows, one element at a time */
        for (int t = 0; t < nt; t++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) sum += A[i0 * sa_i + k * sa_k] * B[k * ldb + t];
            float *c = C + i0 * ldc + t;
            *c = accumulate ? *c + sum : sum;
        }
}

static inline __attribute__((always_inline)) void gemm_b_rows_strided(int fused, int M, int N, int K, const float *A,
                                                                      long sa_i, long sa_k, const float *B, int ldb,
                                                                      float *C, int ldc, int accumulate) {
    int j0 = 0;
    for (; j0 + NR <= N; j0 += NR) tile_column(fused, 2, M, K, A, sa_i, sa_k, B + j0, ldb, C + j0, ldc, accumulate);
    for (; j0 + VF_LANES <= N; j0 += VF_LANES)
        tile_column(fused, 1, M, K, A, sa_i, sa_k, B + j0, ldb, C + j0, ldc, accumulate);
    if (j0 < N) gemm_tail_columns(M, N - j0, K, A, sa_i, sa_k, B + j0, ldb, C + j0, ldc, accumulate);
}

/* op(A)'s strides as constants, one copy of the tiles each: one of them is 1, which the
 * compiler then folds into every load of A (with this and the tiles' pointer steps, ds_gemm's share of
 * the WASM forward's profile fell from 11.6% to 10.1%, Zen 4). */
static inline __attribute__((always_inline)) void gemm_b_rows(int fused, int trans_a, int M, int N, int K,
                                                              const float *A, int lda, const float *B, int ldb,
                                                              float *C, int ldc, int accumulate) {
    if (trans_a)
        gemm_b_rows_strided(fused, M, N, K, A, 1, lda, B, ldb, C, ldc, accumulate);
    else
        gemm_b_rows_strided(fused, M, N, K, A, lda, 1, B, ldb, C, ldc, accumulate);
}

/* The trainer's GEMM: ds_gemm's tiles with each product added by one fused multiply-add where
 * the variant has FMA (VF_HAS_FMA; the avx2 variant on Zen 3 runs 12 FMAs where it ran 12 muls
 * and 12 adds per k, the same FP-pipe time in half the instructions), so its results differ
 * from ds_gemm_ref by rounding (tests/test_kernels.c bounds it) and between variants; where the
 * variant has no FMA it is ds_gemm bit for bit. The columns past the last whole vector run
 * unfused, as in ds_gemm. */
void ds_gemm_train(int trans_a, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                   int ldc, int accumulate) {
    gemm_b_rows(VF_HAS_FMA, trans_a, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

/* op(B) transposed, A not: C[i][j] = dot(A row i, B row j), both contiguous in k. Tiles of
 * 2 rows x 4 columns share each load; every element is summed the same way whatever tile it
 * falls in (4 lanes over k, v4_hsum, then the k tail in order), so a row's result does not
 * depend on the batch around it. Differs from the reference by float reassociation only. */
static inline float dot_finish(v4 lanes, const float *a, const float *b, int K4, int K) {
    float r = v4_hsum(lanes);
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
            v4 s00 = v4_zero(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int k = 0; k < K4; k += 4) {
                v4 x0 = v4_load(a0 + k), x1 = v4_load(a1 + k), w;
                w = v4_load(b0 + k), s00 = v4_add(s00, v4_mul(x0, w)), s10 = v4_add(s10, v4_mul(x1, w));
                w = v4_load(b1 + k), s01 = v4_add(s01, v4_mul(x0, w)), s11 = v4_add(s11, v4_mul(x1, w));
                w = v4_load(b2 + k), s02 = v4_add(s02, v4_mul(x0, w)), s12 = v4_add(s12, v4_mul(x1, w));
                w = v4_load(b3 + k), s03 = v4_add(s03, v4_mul(x0, w)), s13 = v4_add(s13, v4_mul(x1, w));
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
            v4 s0 = v4_zero(), s1 = s0;
            for (int k = 0; k < K4; k += 4) {
                v4 w = v4_load(b + k);
                s0 = v4_add(s0, v4_mul(v4_load(a0 + k), w));
                s1 = v4_add(s1, v4_mul(v4_load(a1 + k), w));
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
            v4 s0 = v4_zero();
            for (int k = 0; k < K4; k += 4) s0 = v4_add(s0, v4_mul(v4_load(a + k), v4_load(b + k)));
            put(c + j, dot_finish(s0, a, b, K4, K), accumulate);
        }
    }
}

void ds_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
             float *C, int ldc, int accumulate) {
    if (!trans_b)
        gemm_b_rows(0, trans_a, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    else if (!trans_a)
        gemm_dot(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    else /* A^T B^T: not used by the networks; (B A)^T would need a transpose buffer */
        ds_gemm_ref(1, 1, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

/* ---- convolution: im2col panels + the GEMM's tiles ----
 * The im2col matrix (kdim = C_in*K*K rows, npix columns) is never built whole: it is made
 * PANEL = NR columns (output pixels) at a time as a packed panel P (kdim, PANEL), contiguous,
 * which stays in L1/L2 while every 4-row tile of the weights streams past it. The columns run on across
 * the images of the batch, so 7x7 maps (49 pixels) waste no lanes at batch > 1. Bias is added as a tile is
 * stored. Each output sums its kdim products in k order from 0 and then adds the bias, like
 * ds_conv2d_ref, so the result is bit-identical to the reference. 1x1 stride-1 convs need no
 * im2col: they are a GEMM on the image itself. */

#define PANEL NR

/* Packs im2col columns q0 .. q0+PANEL-1 of the batch into P (kdim, PANEL). Column q is pixel q % npix
 * of image q / npix (the batch's im2col matrices side by side), so small images fill whole
 * panels; columns at or past total = B * npix are zero. A panel lying in one output row of
 * one image at stride 1 copies PANEL contiguous inputs per row of P. */
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
    const vf zero = vf_zero();
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
                    for (int s = 0; s < PANEL; s += VF_LANES) vf_store(dst + s, zero);
                    continue;
                }
                const float *src = xc + (long)iy * W + ix;
                if (ix >= 0 && ix + PANEL <= W) {
                    for (int s = 0; s < PANEL; s += VF_LANES) vf_store(dst + s, vf_load(src + s));
                    continue;
                }
                for (int s = 0; s < PANEL; s++) dst[s] = (unsigned)(ix + s) < (unsigned)W ? src[s] : 0.0f;
            }
        }
    }
}

static void add_bias_rows(float *y, const float *bias, int C, int HW) {
    for (int c = 0; c < C; c++) {
        float *row = y + (long)c * HW;
        v4 bv = v4_set1(bias[c]);
        int i = 0;
        for (; i + 4 <= HW; i += 4) v4_store(row + i, v4_add(v4_load(row + i), bv));
        for (; i < HW; i++) row[i] += bias[c];
    }
}

/* ---- 3x3 stride-1 convolution to 1..3 output channels (conv_out) ----
 * With fewer than 4 outputs the GEMM's 4-row weight tiles run mostly empty and packing the
 * im2col panels costs far more than their arithmetic. Here each output row is summed straight
 * from a zero-padded copy of one image, 4 pixels per vector (up to 16 per pass): every output
 * adds its C_in*9 products w * x in (c, ky, kx) order from zero, padding zeros included, then
 * the bias: the reference's operations, so the result is bit-identical to ds_conv2d_ref. */
#define FEW_OUTPUTS 4 /* C_out below this takes this path */

/* Padded row width: input column ix at ix + 1, zeros at 0 and from W + 1; a vector of output
 * columns ox0 .. ox0 + 3 (ox0 < W) reads up to column ox0 + 5 <= round4(W) + 1. */
static int few_pad_width(int W) { return ((W + 3) & ~3) + 4; }

/* NV vectors of one output row: xp points at the padded image's row oy, column ox0 (plane
 * stride ps, row stride Wp), wo at the output channel's (C_in, 3, 3) weights. */
static inline __attribute__((always_inline)) void few_row(int NV, const float *xp, long ps, int Wp, int C_in,
                                                          const float *wo, const float *bias, float *dst, int n) {
    v4 acc[4];
    for (int v = 0; v < NV; v++) acc[v] = v4_zero();
    for (int c = 0; c < C_in; c++) {
        const float *xc = xp + c * ps, *wc = wo + c * 9;
        for (int ky = 0; ky < 3; ky++) {
            const float *row = xc + ky * Wp;
            for (int kx = 0; kx < 3; kx++) {
                const v4 wv = v4_set1(wc[ky * 3 + kx]);
                for (int v = 0; v < NV; v++) acc[v] = v4_add(acc[v], v4_mul(wv, v4_load(row + kx + 4 * v)));
            }
        }
    }
    float tmp[16];
    const int full = n == 4 * NV;
    for (int v = 0; v < NV; v++) {
        const v4 out = bias ? v4_add(acc[v], v4_set1(*bias)) : acc[v];
        v4_store((full ? dst : tmp) + 4 * v, out);
    }
    if (!full) copy_short(dst, tmp, n);
}

/* One image (C_in, H, W) into the padded copy pad (C_in, H + 2, Wp), whose borders are zero. */
static void few_pad_image(const float *x, float *pad, int C_in, int H, int W, int Wp) {
    for (int c = 0; c < C_in; c++) {
        for (int iy = 0; iy < H; iy++) {
            const float *src = x + ((long)c * H + iy) * W;
            float *dst = pad + ((long)c * (H + 2) + iy + 1) * Wp + 1;
            int j = 0;
            for (; j + 4 <= W; j += 4) v4_store(dst + j, v4_load(src + j));
            for (; j < W; j++) dst[j] = src[j];
        }
    }
}

static void conv3x3_few_outputs(const float *x, const float *w, const float *bias, float *y, float *pad, int B,
                                int C_in, int H, int W, int C_out) {
    const int Wp = few_pad_width(W);
    const long ps = (long)(H + 2) * Wp, n_pad = (long)C_in * ps;
    for (long i = 0; i < n_pad; i += 4) v4_store(pad + i, v4_zero()); /* n_pad is a multiple of 4 */
    for (int b = 0; b < B; b++) {
        few_pad_image(x + (long)b * C_in * H * W, pad, C_in, H, W, Wp);
        for (int o = 0; o < C_out; o++) {
            const float *wo = w + (long)o * C_in * 9, *bo = bias ? bias + o : NULL;
            float *yo = y + ((long)b * C_out + o) * H * W;
            for (int oy = 0; oy < H; oy++) {
                const float *xp = pad + (long)oy * Wp;
                float *dst = yo + (long)oy * W;
                int ox = 0;
                for (; ox + 16 <= W; ox += 16) few_row(4, xp + ox, ps, Wp, C_in, wo, bo, dst + ox, 16);
                for (; ox < W; ox += 4) few_row(1, xp + ox, ps, Wp, C_in, wo, bo, dst + ox, W - ox < 4 ? W - ox : 4);
            }
        }
    }
}

size_t ds_conv2d_scratch_floats(int C_in, int H, int W, int K, int stride) {
    if (K == 1 && stride == 1) return 0;
    const size_t npix = (size_t)ds_conv2d_out_size(H, K, stride) * ds_conv2d_out_size(W, K, stride);
    const size_t im2col = (size_t)C_in * K * K * (npix > PANEL ? npix : PANEL); /* one image, at least one panel */
    const size_t padded = K == 3 && stride == 1 ? (size_t)C_in * (H + 2) * few_pad_width(W) : 0; /* few outputs */
    return im2col > padded ? im2col : padded;
}

/* Writes rows (rows, PANEL) of a panel's tile, first n columns, to their images and pixels. */
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
    if (K == 3 && stride == 1 && C_out < FEW_OUTPUTS) {
        conv3x3_few_outputs(x, w, bias, y, scratch, B, C_in, H, W, C_out);
        return;
    }
    const long total = (long)B * npix;
    float tile_out[4 * PANEL];
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
                tile(0, 4, 2, kdim, wo, kdim, 1, scratch, PANEL, yb + (long)o * npix, npix, bo, 0, n);
            } else {
                tile(0, 4, 2, kdim, wo, kdim, 1, scratch, PANEL, tile_out, PANEL, bo, 0, PANEL);
                scatter_tile(tile_out, 4, n, y, C_out, o, npix, q0);
            }
        }
        for (; o < C_out; o++) {
            const float *wo = w + (long)o * kdim, *bo = bias ? bias + o : NULL;
            if (direct) {
                tile(0, 1, 2, kdim, wo, kdim, 1, scratch, PANEL, yb + (long)o * npix, npix, bo, 0, n);
            } else {
                tile(0, 1, 2, kdim, wo, kdim, 1, scratch, PANEL, tile_out, PANEL, bo, 0, PANEL);
                scatter_tile(tile_out, 1, n, y, C_out, o, npix, q0);
            }
        }
    }
}

/* ---- Winograd F(2x2, 3x3) and F(4x4, 3x3): 3x3 stride-1 convolution with 16 multiplies per 2x2
 * tile, or 36 per 4x4 tile ----
 * Each 2x2 output tile of each (output, input) channel pair is A^T [U (.) V] A with
 * U = G g G^T (the 3x3 kernel g, transformed once: ds_winograd_weights) and V = B^T d B (the
 * 4x4 input patch d starting one pixel up-left of the tile). Summed over input channels the
 * element-wise products become 16 independent GEMMs M[xi] (C_out, tiles) = U[xi] (C_out, C_in)
 * x V[xi] (C_in, tiles), so the multiplies drop from 36 to 16 per tile and channel pair
 * (2.25x) while the GEMMs run on the same register tiles as the direct conv.
 *
 * F(4x4, 3x3) (further down) is the same with 4x4 output tiles, 6x6 patches and 36 GEMMs:
 * 36 multiplies per 16 outputs instead of 16 per 4; ds_winograd_tile picks it for images of
 * at least 12x12 (at 7x7 and batch 1 its 4 tiles fill half a GEMM panel, and it ran 1.2-1.6x
 * slower there in V8). Its error is about 15x F(2x2)'s (tests/test_kernels.c: 5.9e-6 against
 * 3.2e-7 of the magnitude), still well inside the tests' 1e-5.
 *
 * Tiles are numbered across the batch (q = (b * th + ty) * tw + tx) and handled in chunks of
 * at most wino_chunk(C_in, planes) tiles so V and M stay in cache: V[xi][c][chunk tile] and
 * M[xi][o][chunk tile], the tiles contiguous (rounded up to whole PANEL-column GEMM panels).
 * The transforms vectorise over 4 tiles of a tile row: 4 patch columns at stride 2 are one
 * even/odd shuffle of two loads from a zero-padded copy of the 4 input rows ("strip").
 * Every operation is a float add, subtract or multiply in a fixed order, so the result is
 * the same on every target; it differs from the direct sum by rounding (tests/test_kernels.c). */

#define WINO_V_FLOATS (128 * 1024) /* V of one chunk */

/* tiles per chunk for `planes` transformed planes (16 for F(2x2), 36 for F(4x4)) of C_in channels */
static int wino_chunk(int C_in, int planes) {
    int nt = WINO_V_FLOATS / (planes * C_in) / PANEL * PANEL;
    return nt < PANEL ? PANEL : nt > 512 ? 512 : nt;
}

static int round_up(int v, int m) { return (v + m - 1) / m * m; }

/* Row and xi strides of V (rows = C_in) and M (rows = C_out): a cache line more than packed,
 * so the 16 xi planes (and the rows) do not all fall in the same L1 sets when the packed
 * sizes are multiples of 4 KB (32 channels x 256 tiles is 32 KB). */
#define WINO_SKEW 16
static long wino_ld(int NT) { return NT + WINO_SKEW; }
static long wino_xs(int rows, int NT) { return rows * wino_ld(NT) + WINO_SKEW; }

/* the strip's row length for n tiles of F(m x m): whole groups of 4 tiles and the loads past them */
static int wino_strip_width(int m, int n) { return m == 4 ? 4 * round_up(n, 4) + 4 : 2 * round_up(n, 4) + 2; }

static size_t wino_scratch(int C_in, int W, int C_out, int m) {
    const int planes = (m + 2) * (m + 2), nt = wino_chunk(C_in, planes);
    const size_t strip = (size_t)(m + 2) * wino_strip_width(m, (W + m - 1) / m);
    return planes * (size_t)(wino_xs(C_in, nt) + wino_xs(C_out, nt)) + 8 + strip;
}

size_t ds_winograd_scratch_floats(int C_in, int W, int C_out) {
    const size_t two = wino_scratch(C_in, W, C_out, 2), four = wino_scratch(C_in, W, C_out, 4);
    return two > four ? two : four;
}

/* Where U[xi] keeps weight (o, c): rows in blocks of 4 stored (C_in, 4), so the GEMM tile reads
 * the 4 weights of each k from one place by constant offsets (wino_gemm: no address arithmetic
 * per row in WASM); the last C_out % 4 rows stay rows (C_in). The same for every target. */
static long wino_u_index(int o, int c, int C_out, int C_in) {
    const int full = C_out & ~3;
    return o < full ? ((long)(o & ~3) * C_in + (long)c * 4 + (o & 3)) : (long)o * C_in + c;
}

/* F(4x4, 3x3): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 * (interpolation points 0, +-1, +-2, infinity), in double and rounded once: U is made once
 * per set of weights, and its rounding is most of F(4x4)'s extra error. */
static void g4(double a, double b, double c, double u[6]) {
    u[0] = a / 4, u[1] = -(a + b + c) / 6, u[2] = -(a - b + c) / 6;
    u[3] = (a + 2 * b + 4 * c) / 24, u[4] = (a - 2 * b + 4 * c) / 24, u[5] = c;
}

static void winograd4_weights(const float *w, float *U, int C_out, int C_in) {
    const long pairs = (long)C_out * C_in;
    for (long p = 0; p < pairs; p++) {
        const float *g = w + p * 9;
        const long at = wino_u_index((int)(p / C_in), (int)(p % C_in), C_out, C_in);
        double t[6][3], u[6];
        for (int j = 0; j < 3; j++) { /* G g, column by column */
            g4(g[j], g[3 + j], g[6 + j], u);
            for (int i = 0; i < 6; i++) t[i][j] = u[i];
        }
        for (int i = 0; i < 6; i++) { /* (G g) G^T */
            g4(t[i][0], t[i][1], t[i][2], u);
            for (int j = 0; j < 6; j++) U[(6 * i + j) * pairs + at] = (float)u[j];
        }
    }
}

void ds_winograd_weights(const float *w, float *U, int C_out, int C_in, int tile) {
    if (tile == 4) {
        winograd4_weights(w, U, C_out, C_in);
        return;
    }
    const long pairs = (long)C_out * C_in;
    for (long p = 0; p < pairs; p++) {
        const float *g = w + p * 9;
        const long at = wino_u_index((int)(p / C_in), (int)(p % C_in), C_out, C_in);
        float t[4][3]; /* G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 */
        for (int j = 0; j < 3; j++) {
            const float a = g[j], b = g[3 + j], c = g[6 + j];
            t[0][j] = a, t[1][j] = (a + b + c) * 0.5f, t[2][j] = (a - b + c) * 0.5f, t[3][j] = c;
        }
        for (int i = 0; i < 4; i++) { /* (G g) G^T, the same combination along each row */
            const float a = t[i][0], b = t[i][1], c = t[i][2];
            const float u[4] = {a, (a + b + c) * 0.5f, (a - b + c) * 0.5f, c};
            for (int j = 0; j < 4; j++) U[(4 * i + j) * pairs + at] = u[j];
        }
    }
}

/* Input rows y0 .. y0+rows-1 of one channel plane (H, W), columns x0 .. x0+sw-1, into strip
 * (rows, sw), zero outside the image (F(m x m): y0 = m ty - 1, x0 = m tx0 - 1, rows m + 2).
 * Copied with vector moves, not memcpy / memset: the rows are about 30 floats, and in WASM a
 * libc call per row cost more than the transform. */
static void wino_strip(const float *plane, int H, int W, int y0, int x0, int rows, float *strip, int sw) {
    const int first = x0 < 0 ? -x0 : 0, end = W - x0 < sw ? W - x0 : sw; /* inside: first .. end-1 */
    const v4 zero = v4_zero();
    for (int r = 0; r < rows; r++) {
        float *dst = strip + r * sw;
        const int iy = y0 + r;
        int j = 0;
        if (iy >= 0 && iy < H) {
            const float *src = plane + (long)iy * W + x0;
            for (; j < first; j++) dst[j] = 0.0f;
            for (; j + 4 <= end; j += 4) v4_store(dst + j, v4_load(src + j));
            for (; j < end; j++) dst[j] = src[j];
        }
        for (; j + 4 <= sw; j += 4) v4_store(dst + j, zero);
        for (; j < sw; j++) dst[j] = 0.0f;
    }
}

/* V = B^T d B for the 4 tiles whose patches start at strip column 0, 2, 4, 6; v[xi] holds
 * the 4 tiles' values of element xi = 4 * row + column. */
static inline void wino_input4(const float *strip, int sw, v4 v[16]) {
    v4 d[4][4];
    for (int r = 0; r < 4; r++) {
        const float *s = strip + r * sw;
        const v4 a0 = v4_load(s), a1 = v4_load(s + 4), b0 = v4_load(s + 2), b1 = v4_load(s + 6);
        d[r][0] = v4_even(a0, a1), d[r][1] = v4_odd(a0, a1);
        d[r][2] = v4_even(b0, b1), d[r][3] = v4_odd(b0, b1);
    }
    for (int j = 0; j < 4; j++) { /* B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3 */
        const v4 d0 = d[0][j], d1 = d[1][j], d2 = d[2][j], d3 = d[3][j];
        d[0][j] = v4_sub(d0, d2), d[1][j] = v4_add(d1, d2), d[2][j] = v4_sub(d2, d1), d[3][j] = v4_sub(d1, d3);
    }
    for (int i = 0; i < 4; i++) { /* (B^T d) B: the same along each row */
        const v4 t0 = d[i][0], t1 = d[i][1], t2 = d[i][2], t3 = d[i][3];
        v[4 * i] = v4_sub(t0, t2), v[4 * i + 1] = v4_add(t1, t2), v[4 * i + 2] = v4_sub(t2, t1), v[4 * i + 3] = v4_sub(t1, t3);
    }
}

/* Output transform Y = A^T M A (+ bias) of n tiles of one image's tile row ty, channel o:
 * m points at M[0][o][col] (xi stride ms floats); yo is the output plane (H, W). */
static void wino_output_segment(const float *m, long ms, const float *bias, float *yo, int H, int W, int ty, int tx0,
                                int n) {
    const v4 bv = v4_set1(bias ? *bias : 0.0f);
    const int rows = H - 2 * ty < 2 ? 1 : 2;
    for (int i = 0; i < n; i += 4) {
        v4 s[2][4];
        for (int j = 0; j < 4; j++) { /* A^T M: rows m0 + m1 + m2, m1 - m2 - m3 */
            const v4 m0 = v4_load(m + j * ms + i), m1 = v4_load(m + (4 + j) * ms + i);
            const v4 m2 = v4_load(m + (8 + j) * ms + i), m3 = v4_load(m + (12 + j) * ms + i);
            s[0][j] = v4_add(v4_add(m0, m1), m2), s[1][j] = v4_sub(v4_sub(m1, m2), m3);
        }
        const int x = 2 * (tx0 + i), cnt = n - i < 4 ? n - i : 4;
        const int width = W - x < 2 * cnt ? W - x : 2 * cnt;
        for (int r = 0; r < rows; r++) {
            const v4 y0 = v4_add(v4_add(v4_add(s[r][0], s[r][1]), s[r][2]), bv);
            const v4 y1 = v4_add(v4_sub(v4_sub(s[r][1], s[r][2]), s[r][3]), bv);
            const v4 lo = v4_zip_lo(y0, y1), hi = v4_zip_hi(y0, y1);
            float *dst = yo + (long)(2 * ty + r) * W + x;
            if (width >= 4) {
                v4_store(dst, lo);
                if (width == 8) v4_store(dst + 4, hi);
                else v4_store_part(dst + 4, hi, width - 4);
            } else {
                v4_store_part(dst, lo, width);
            }
        }
    }
}

/* ---- F(4x4, 3x3): 6x6 patches, 36 planes ----
 * B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 * A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. The transforms vectorise over
 * 4 tiles of a tile row as F(2x2)'s do; the tiles' columns lie 4 apart in the strip, so a 4x4
 * transpose of 4 loads gives column j of all 4 tiles (two transposes per strip row). */
static inline void wino4_bt(const v4 d[6], v4 t[6]) { /* B^T d for 6 values */
    const v4 two = v4_set1(2.0f), four = v4_set1(4.0f), five = v4_set1(5.0f);
    const v4 p = v4_sub(d[4], v4_mul(d[2], four)), q = v4_sub(d[3], v4_mul(d[1], four));
    const v4 r = v4_sub(d[4], d[2]), s = v4_mul(v4_sub(d[3], d[1]), two);
    t[0] = v4_add(v4_sub(d[4], v4_mul(d[2], five)), v4_mul(d[0], four));
    t[1] = v4_add(p, q), t[2] = v4_sub(p, q), t[3] = v4_add(r, s), t[4] = v4_sub(r, s);
    t[5] = v4_add(v4_sub(d[5], v4_mul(d[3], five)), v4_mul(d[1], four));
}

static inline void wino4_at(const v4 m[6], v4 o[4]) { /* A^T m for 6 values */
    const v4 a = v4_add(m[1], m[2]), b = v4_sub(m[1], m[2]), c = v4_add(m[3], m[4]), d = v4_sub(m[3], m[4]);
    o[0] = v4_add(v4_add(m[0], a), c);
    o[1] = v4_add(b, v4_mul(d, v4_set1(2.0f)));
    o[2] = v4_add(a, v4_mul(c, v4_set1(4.0f)));
    o[3] = v4_add(v4_add(b, v4_mul(d, v4_set1(8.0f))), m[5]);
}

/* V = B^T d B for the 4 tiles whose patches start at strip column 0, 4, 8, 12; v[xi] holds
 * the 4 tiles' values of element xi = 6 * row + column. */
static inline void wino4_input4(const float *strip, int sw, v4 v[36]) {
    v4 d[6][6];
    for (int r = 0; r < 6; r++) {
        const float *s = strip + r * sw;
        v4 a[4] = {v4_load(s), v4_load(s + 4), v4_load(s + 8), v4_load(s + 12)};
        v4 b[4] = {a[1], a[2], a[3], v4_load(s + 16)};
        v4_transpose4(a), v4_transpose4(b);
        d[r][0] = a[0], d[r][1] = a[1], d[r][2] = a[2], d[r][3] = a[3], d[r][4] = b[0], d[r][5] = b[1];
    }
    for (int j = 0; j < 6; j++) { /* B^T d, column by column */
        v4 col[6], t[6];
        for (int r = 0; r < 6; r++) col[r] = d[r][j];
        wino4_bt(col, t);
        for (int r = 0; r < 6; r++) d[r][j] = t[r];
    }
    for (int i = 0; i < 6; i++) wino4_bt(d[i], v + 6 * i); /* (B^T d) B, row by row */
}

/* Input transform of F(m x m) for n tiles (tile row ty of one image, tiles tx0 ..) of every
 * channel into chunk columns col .. col+n-1 of V[xi][c][chunk tile] (row stride ld, xi stride
 * xs). m (2 or 4) is a constant at each call. */
static inline __attribute__((always_inline)) void wino_input_segment(int m, const float *xb, int C_in, int H, int W,
                                                                     int ty, int tx0, int n, int col, float *V,
                                                                     long xs, long ld, float *strip) {
    const int sw = wino_strip_width(m, n), planes = (m + 2) * (m + 2);
    for (int c = 0; c < C_in; c++) {
        wino_strip(xb + (long)c * H * W, H, W, m * ty - 1, m * tx0 - 1, m + 2, strip, sw);
        float *vc = V + c * ld + col;
        /* whole groups of 4 tiles even at the end: the 1..3 extra columns are overwritten by
         * the next run, zeroed with the chunk's last panel, or lie past it (< ld) */
        for (int i = 0; i < n; i += 4) {
            v4 v[36];
            if (m == 4) wino4_input4(strip + 4 * i, sw, v);
            else wino_input4(strip + 2 * i, sw, v);
            for (int xi = 0; xi < planes; xi++) v4_store(vc + xi * xs + i, v[xi]);
        }
    }
}

/* Y = A^T M A (+ bias) of n tiles of one image's tile row ty, channel o, as wino_output_segment */
static void wino4_output_segment(const float *m, long ms, const float *bias, float *yo, int H, int W, int ty,
                                 int tx0, int n) {
    const v4 bv = v4_set1(bias ? *bias : 0.0f);
    const int rows = H - 4 * ty < 4 ? H - 4 * ty : 4;
    for (int i = 0; i < n; i += 4) {
        v4 s[4][6];
        for (int j = 0; j < 6; j++) { /* A^T M, column by column */
            v4 col[6], o[4];
            for (int r = 0; r < 6; r++) col[r] = v4_load(m + (6 * r + j) * ms + i);
            wino4_at(col, o);
            for (int r = 0; r < 4; r++) s[r][j] = o[r];
        }
        const int x = 4 * (tx0 + i), cnt = n - i < 4 ? n - i : 4;
        for (int r = 0; r < rows; r++) {
            v4 y[4];
            wino4_at(s[r], y); /* (A^T M) A: y[c] is pixel c of the 4 tiles */
            for (int c = 0; c < 4; c++) y[c] = v4_add(y[c], bv);
            v4_transpose4(y); /* y[t]: tile t's 4 pixels */
            float *dst = yo + (long)(4 * ty + r) * W + x;
            for (int t = 0; t < cnt; t++) {
                const int width = W - x - 4 * t;
                if (width >= 4) v4_store(dst + 4 * t, y[t]);
                else v4_store_part(dst + 4 * t, y[t], width);
            }
        }
    }
}

/* 4 rows of C (row stride ldc) x NV vectors = Ap (K, 4) (4 rows packed, wino_u_index) x B (K,
 * NV * VF_LANES), row stride ldb: the GEMM tile with both operands walked by one pointer each. */
static inline __attribute__((always_inline)) void tile4_packed(int NV, int K, const float *Ap, const float *B, long ldb,
                                                               float *C, long ldc) {
    vf acc[4][2];
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = vf_zero();
    for (int k = 0; k < K; k++, Ap += 4, B += ldb) {
        vf b[2];
        for (int v = 0; v < NV; v++) b[v] = vf_load(B + v * VF_LANES);
        for (int r = 0; r < 4; r++) {
            const vf a = vf_set1(Ap[r]);
            for (int v = 0; v < NV; v++) acc[r][v] = vf_add(acc[r][v], vf_mul(a, b[v]));
        }
    }
    for (int r = 0; r < 4; r++) store_tile_row(C + r * ldc, acc[r], NV, NULL, 0, NV * VF_LANES);
}

/* M (C_out, N) = U[xi] (C_out, C_in, packed) x V (C_in, N), N a multiple of VF_LANES (whole
 * PANEL-column panels, then one vector): each element sums its C_in products in order from
 * zero, as gemm_b_rows does. */
static inline __attribute__((always_inline)) void wino_gemm_columns(int NV, int C_out, int C_in, const float *U,
                                                                    const float *V, long ldv, float *M, long ldm) {
    const int full = C_out & ~3;
    for (int o = 0; o < full; o += 4) tile4_packed(NV, C_in, U + (long)o * C_in, V, ldv, M + o * ldm, ldm);
    for (int o = full; o < C_out; o++)
        tile(0, 1, NV, C_in, U + (long)o * C_in, 0, 1, V, ldv, M + o * ldm, ldm, NULL, 0, NV * VF_LANES);
}

static void wino_gemm(int C_out, int N, int C_in, const float *U, const float *V, long ldv, float *M, long ldm) {
    int j0 = 0;
    for (; j0 + PANEL <= N; j0 += PANEL) wino_gemm_columns(2, C_out, C_in, U, V + j0, ldv, M + j0, ldm);
    if (j0 < N) wino_gemm_columns(1, C_out, C_in, U, V + j0, ldv, M + j0, ldm);
}

/* The run of tiles starting at batch tile q that stays in one tile row and ends by `end`:
 * its image *b, tile row *ty, first tile *tx; returns its length. */
static int wino_run(long q, long end, long tpi, int tw, long *b, int *ty, int *tx) {
    const long r = q % tpi;
    *b = q / tpi, *ty = (int)(r / tw), *tx = (int)(r % tw);
    return tw - *tx < end - q ? tw - *tx : (int)(end - q);
}

void ds_conv2d_winograd(const float *x, const float *U, const float *bias, float *y, float *scratch, int B, int C_in,
                        int H, int W, int C_out) {
    const int m = ds_winograd_tile(H, W), planes = (m + 2) * (m + 2);
    const int th = (H + m - 1) / m, tw = (W + m - 1) / m, NT = wino_chunk(C_in, planes);
    const long tpi = (long)th * tw, total = B * tpi, pairs = (long)C_out * C_in, plane = (long)H * W;
    const long ld = wino_ld(NT), xs_v = wino_xs(C_in, NT), xs_m = wino_xs(C_out, NT);
    float *V = scratch, *M = V + planes * xs_v, *strip = M + planes * xs_m + 8;
    long b;
    int ty, tx, n;
    for (long q0 = 0; q0 < total; q0 += NT) {
        const int nt = total - q0 < NT ? (int)(total - q0) : NT, ntp = round_up(nt, VF_LANES);
        for (long q = q0; q < q0 + nt; q += n) { /* the chunk as runs of tiles within one tile row */
            n = wino_run(q, q0 + nt, tpi, tw, &b, &ty, &tx);
            if (m == 4)
                wino_input_segment(4, x + b * C_in * plane, C_in, H, W, ty, tx, n, (int)(q - q0), V, xs_v, ld, strip);
            else
                wino_input_segment(2, x + b * C_in * plane, C_in, H, W, ty, tx, n, (int)(q - q0), V, xs_v, ld, strip);
        }
        if (ntp > nt) /* the last vector's unused columns: zeros, not stale values (whole v4 stores reach ntp, stay < ld) */
            for (int xi = 0; xi < planes; xi++)
                for (int c = 0; c < C_in; c++) {
                    float *row = V + xi * xs_v + c * ld + nt;
                    for (int s = 0; s < ntp - nt; s += 4) v4_store(row + s, v4_zero());
                }
        for (int xi = 0; xi < planes; xi++) /* M[xi] (C_out, ntp) = U[xi] (C_out, C_in) V[xi] (C_in, ntp) */
            wino_gemm(C_out, ntp, C_in, U + xi * pairs, V + xi * xs_v, ld, M + xi * xs_m, ld);
        for (long q = q0; q < q0 + nt; q += n) {
            n = wino_run(q, q0 + nt, tpi, tw, &b, &ty, &tx);
            for (int o = 0; o < C_out; o++) {
                float *yo = y + (b * C_out + o) * plane;
                const float *mo = M + o * ld + (q - q0), *bo = bias ? bias + o : NULL;
                if (m == 4)
                    wino4_output_segment(mo, xs_m, bo, yo, H, W, ty, tx, n);
                else
                    wino_output_segment(mo, xs_m, bo, yo, H, W, ty, tx, n);
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
            for (; o + 4 <= out; o += 4) v4_store(row + o, v4_add(v4_load(row + o), v4_load(bias + o)));
            for (; o < out; o++) row[o] += bias[o];
        }
    }
}

/* ---- SiLU with the vector exp (vec.h v4_exp) ---- */
static inline v4 silu_v4(v4 x) {
    return v4_div(x, v4_add(v4_set1(1.0f), v4_exp(v4_sub(v4_zero(), x))));
}

/* VF_LANES at a time, each lane silu_v4's operations (vec.h: vf_exp is v4_exp per lane) */
static inline vf silu_vf(vf x) { return vf_div(x, vf_add(vf_set1(1.0f), vf_exp(vf_sub(vf_zero(), x)))); }

/* scalar tail through the same vector code (one lane), so every element rounds the same way */
static inline float silu_1(float x) { return v4_first(silu_v4(v4_set1(x))); }

void ds_silu(const float *x, float *y, long n) {
    long i = 0;
    for (; i + VF_LANES <= n; i += VF_LANES) vf_store(y + i, silu_vf(vf_load(x + i)));
    for (; i + 4 <= n; i += 4) v4_store(y + i, silu_v4(v4_load(x + i)));
    for (; i < n; i++) y[i] = silu_1(x[i]);
}

/* ---- softmax of rows ----
 * Per row: the largest scaled value (4 lanes, then the tail), exp of each scaled value less it
 * (v4_exp; the tail in one lane of the same code), their sum in 4 lanes added (l0 + l2) +
 * (l1 + l3) then the tail in order, and one multiply by the sum's reciprocal. Every step is a
 * fixed sequence of float operations: the same bits on every target. */
void ds_softmax_rows(float *x, int rows, int n, float scale) {
    const v4 sv = v4_set1(scale);
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * n;
        int j = 0;
        v4 top4 = v4_set1(-INFINITY);
        for (; j + 4 <= n; j += 4) top4 = v4_max(top4, v4_mul(v4_load(row + j), sv));
        float t4[4], top = -INFINITY;
        v4_store(t4, top4);
        for (int l = 0; l < 4; l++) top = t4[l] > top ? t4[l] : top;
        for (; j < n; j++) top = scale * row[j] > top ? scale * row[j] : top;
        const v4 tv = v4_set1(top);
        v4 sum4 = v4_zero();
        for (j = 0; j + 4 <= n; j += 4) {
            const v4 e = v4_exp(v4_sub(v4_mul(v4_load(row + j), sv), tv));
            v4_store(row + j, e);
            sum4 = v4_add(sum4, e);
        }
        float sum = v4_hsum(sum4);
        for (; j < n; j++) sum += (row[j] = v4_first(v4_exp(v4_set1(scale * row[j] - top))));
        const float inv = 1.0f / sum;
        const v4 iv = v4_set1(inv);
        for (j = 0; j + 4 <= n; j += 4) v4_store(row + j, v4_mul(v4_load(row + j), iv));
        for (; j < n; j++) row[j] *= inv;
    }
}

/* ---- GroupNorm: statistics in double (one pass), normalisation in float ----
 * One pass sums x and x^2 in double; var = E[x^2] - mean^2 loses nothing that matters in
 * double (53 bits against float inputs) unless |mean| / std passed 1e5, far beyond any
 * activation here. Each value is then normalised as x * scale + shift with the channel's
 * scale = rstd * gamma and shift = beta - mean * scale (2 operations instead of 4). */

/* Mean and rstd of one group's n values, also stored to *mean / *rstd when non-NULL. */
static void group_stats(const float *x, long n, float eps, float *mean, float *rstd, float *mean_f, float *rstd_f) {
    d2 s0 = d2_zero(), s1 = s0, q0 = s0, q1 = s0;
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        const v4 v = v4_load(x + i);
        const d2 lo = d2_from_low(v), hi = d2_from_low(v4_high(v));
        s0 = d2_add(s0, lo), s1 = d2_add(s1, hi);
        q0 = d2_add(q0, d2_mul(lo, lo)), q1 = d2_add(q1, d2_mul(hi, hi));
    }
    double sl[2], ql[2];
    d2_store(sl, d2_add(s0, s1));
    d2_store(ql, d2_add(q0, q1));
    double sum = sl[0] + sl[1], sq = ql[0] + ql[1];
    for (; i < n; i++) sum += x[i], sq += (double)x[i] * x[i];
    const double mu = sum / n, var = sq / n - mu * mu;
    *mean_f = (float)mu;
    *rstd_f = (float)(1.0 / sqrt((var > 0 ? var : 0) + eps));
    if (mean) *mean = *mean_f;
    if (rstd) *rstd = *rstd_f;
}

/* GroupNorm of x, then per channel: norm = x * scale + shift (when norm is non-NULL) and
 * act = silu(norm) (when act is non-NULL). ds_groupnorm and ds_groupnorm_silu are this pass,
 * so the fused kernel gives the same bits as the two kernels one after the other. The choice
 * of stores is made once per channel, outside the vector loop. */
static void groupnorm_pass(const float *x, const float *gamma, const float *beta, float *norm, float *act, float *mean,
                           float *rstd, int B, int C, int HW, int G, float eps) {
    const int cpg = C / G;
    const long n = (long)cpg * HW;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            const long base = ((long)b * C + (long)g * cpg) * HW;
            float mean_f, rstd_f;
            group_stats(x + base, n, eps, mean ? mean + b * G + g : NULL, rstd ? rstd + b * G + g : NULL, &mean_f, &rstd_f);
            for (int c = 0; c < cpg; c++) {
                const long at = base + (long)c * HW;
                const float scale = rstd_f * gamma[g * cpg + c], shift = beta[g * cpg + c] - mean_f * scale;
                const v4 sv = v4_set1(scale), hv = v4_set1(shift);
                const vf svf = vf_set1(scale), hvf = vf_set1(shift);
                const float *xc = x + at;
                float *nc = norm ? norm + at : NULL, *ac = act ? act + at : NULL;
                int i = 0;
                /* whole vf vectors, then v4, then single lanes: the same operations per element */
                if (nc && ac) {
                    for (; i + VF_LANES <= HW; i += VF_LANES) {
                        const vf v = vf_add(vf_mul(vf_load(xc + i), svf), hvf);
                        vf_store(nc + i, v);
                        vf_store(ac + i, silu_vf(v));
                    }
                    for (; i + 4 <= HW; i += 4) {
                        const v4 v = v4_add(v4_mul(v4_load(xc + i), sv), hv);
                        v4_store(nc + i, v);
                        v4_store(ac + i, silu_v4(v));
                    }
                } else if (ac) {
                    for (; i + VF_LANES <= HW; i += VF_LANES)
                        vf_store(ac + i, silu_vf(vf_add(vf_mul(vf_load(xc + i), svf), hvf)));
                    for (; i + 4 <= HW; i += 4) v4_store(ac + i, silu_v4(v4_add(v4_mul(v4_load(xc + i), sv), hv)));
                } else {
                    for (; i + VF_LANES <= HW; i += VF_LANES) vf_store(nc + i, vf_add(vf_mul(vf_load(xc + i), svf), hvf));
                    for (; i + 4 <= HW; i += 4) v4_store(nc + i, v4_add(v4_mul(v4_load(xc + i), sv), hv));
                }
                for (; i < HW; i++) {
                    const float v = xc[i] * scale + shift;
                    if (nc) nc[i] = v;
                    if (ac) ac[i] = silu_1(v);
                }
            }
        }
    }
}

void ds_groupnorm(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, int B,
                  int C, int HW, int G, float eps) {
    groupnorm_pass(x, gamma, beta, y, NULL, mean, rstd, B, C, HW, G, eps);
}

/* One pass: each value is normalised, stored to norm (when kept) and its SiLU to act. */
void ds_groupnorm_silu(const float *x, const float *gamma, const float *beta, float *norm, float *act, float *mean,
                       float *rstd, int B, int C, int HW, int G, float eps) {
    groupnorm_pass(x, gamma, beta, norm, act, mean, rstd, B, C, HW, G, eps);
}

/* ---- data movement and element-wise ---- */

void ds_upsample2x(const float *x, float *y, int BC, int H, int W) {
    const int W2 = 2 * W;
    for (long p = 0; p < BC; p++) {
        for (int i = 0; i < H; i++) {
            const float *in = x + (p * H + i) * W;
            float *out0 = y + (p * 2 * H + 2 * i) * W2, *out1 = out0 + W2; /* the second row repeats the first */
            int j = 0;
            for (; j + 4 <= W; j += 4) {
                const v4 v = v4_load(in + j), lo = v4_zip_lo(v, v), hi = v4_zip_hi(v, v);
                v4_store(out0 + 2 * j, lo), v4_store(out0 + 2 * j + 4, hi);
                v4_store(out1 + 2 * j, lo), v4_store(out1 + 2 * j + 4, hi);
            }
            for (; j < W; j++) out0[2 * j] = out0[2 * j + 1] = out1[2 * j] = out1[2 * j + 1] = in[j];
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
    for (; i + 4 <= n; i += 4) v4_store(y + i, v4_add(v4_load(a + i), v4_load(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}

void ds_add_channel_bias(float *y, const float *v, int B, int C, int HW) {
    for (long bc = 0; bc < (long)B * C; bc++) {
        float *row = y + bc * HW;
        v4 bv = v4_set1(v[bc]);
        int i = 0;
        for (; i + 4 <= HW; i += 4) v4_store(row + i, v4_add(v4_load(row + i), bv));
        for (; i < HW; i++) row[i] += v[bc];
    }
}

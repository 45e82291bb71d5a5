/* kernels.h — the numeric building blocks of the denoisers, each in two versions.
 *
 * Every kernel NAME has a fast version (SIMD through SIMDe: SSE natively, wasm simd128 in
 * the browser, SIMDe's scalar emulation in the scalar WASM build — the same source in all
 * three) and a plain scalar twin NAME_ref written for clarity, which the tests compare
 * against (tests/test_kernels.c states the tolerance of each). Only kernels*.c include SIMDe.
 * The embeddings and im2col / col2im touch few values or only move them; their fast and
 * reference versions share one scalar implementation (kernels_ref.c).
 *
 * Conventions:
 *   - activations are float32 NCHW, contiguous: x[((b*C + c)*H + y)*W + x]
 *   - conv weights (C_out, C_in, K, K); linear weights (out, in), y = x W^T + b
 *   - sizes are ints (all tensors here are far below 2^31 elements); pointers never alias
 *     unless a kernel says in-place is allowed
 *   - kernels do not validate: the model layer (unet.c, mlp.c) checks shapes once, up front.
 *     Bias pointers may be NULL (no bias). Kernels never allocate; scratch is passed in.
 *
 * Not here: the network wiring (unet.c, mlp.c), backward passes (the trainer's), weights I/O.
 */
#ifndef DS_KERNELS_H
#define DS_KERNELS_H

#include <stddef.h>

/* ---- matrix multiply: the engine of conv and linear ---------------------------------------
 * C (M, N) = op(A) (M, K) x op(B) (K, N)          (accumulate = 0)
 * C (M, N) += op(A) (M, K) x op(B) (K, N)         (accumulate = 1)
 * op(A) = A when trans_a = 0 (A stored (M, K), row stride lda), A^T when trans_a = 1
 * (A stored (K, M), row stride lda); likewise B with trans_b / ldb. C has row stride ldc.
 * The trainer uses all four transpose combinations for the backward passes. */
void ds_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
             float *C, int ldc, int accumulate);
void ds_gemm_ref(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float *C, int ldc, int accumulate);
/* The trainer's GEMM (op(B) = B only): ds_gemm with fused multiply-adds where the kernel
 * variant has FMA, so its bits depend on the CPU (within float rounding of ds_gemm_ref,
 * bounded in tests/test_kernels.c); without FMA (SSE2, WASM) it is ds_gemm exactly. Only the
 * UNet trainer's convolution backward uses it: nothing the browser runs or compares. */
void ds_gemm_train(int trans_a, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                   int ldc, int accumulate);

/* ---- 2-D convolution, padding K/2 (zeros), stride 1 or 2 ----------------------------------
 * x (B, C_in, H, W), w (C_out, C_in, K, K), bias (C_out) or NULL -> y (B, C_out, Ho, Wo)
 * with Ho = (H + 2*(K/2) - K) / stride + 1 (28 -> 14 -> 7 for K = 3, stride 2), same for Wo.
 * K is 1 or 3. scratch: ds_conv2d_scratch_floats(...) floats (0 for K = 1, stride 1): room
 * for the im2col of one image (the trainer's backward uses it whole; the forward packs one
 * 8-column panel of it at a time); the caller allocates it once and reuses it. */
int ds_conv2d_out_size(int in_size, int K, int stride);
size_t ds_conv2d_scratch_floats(int C_in, int H, int W, int K, int stride);
void ds_conv2d(const float *x, const float *w, const float *bias, float *y, float *scratch, int B, int C_in, int H,
               int W, int C_out, int K, int stride);
void ds_conv2d_ref(const float *x, const float *w, const float *bias, float *y, int B, int C_in, int H, int W,
                   int C_out, int K, int stride);

/* ---- Winograd F(m x m, 3x3): the 3x3, stride-1 case of ds_conv2d with fewer multiplies ----
 * m (the output tile) is 2 or 4, chosen by the image size (ds_winograd_tile): F(4x4, 3x3) does
 * 36 multiplies per 4x4 tile and channel pair instead of 144 (4x fewer; F(2x2): 16 per 2x2,
 * 2.25x), but on small images its padded tiles and short GEMMs lose that, so 7x7 keeps F(2x2).
 * ds_winograd_weights: w (C_out, C_in, 3, 3) -> U ((m+2)^2, C_out x C_in), U[xi] = (G g G^T)[xi],
 * each xi's rows packed for the GEMM tiles (kernels.c: blocks of 4 rows as (C_in, 4), the last
 * C_out % 4 rows as rows), done once per set of weights, for the tile the convolution will use.
 * ds_conv2d_winograd: x (B, C_in, H, W), U (of tile ds_winograd_tile(H, W)), bias (C_out) or
 * NULL -> y (B, C_out, H, W), the same convolution as ds_conv2d(..., K = 3, stride = 1) up to
 * float rounding (tests/test_kernels.c bounds the difference). scratch:
 * ds_winograd_scratch_floats(C_in, W, C_out) floats, independent of B and H. */
#define DS_WINOGRAD_TILE4_MIN 12 /* images at least this wide and high use F(4x4, 3x3) */
static inline int ds_winograd_tile(int H, int W) { return H >= DS_WINOGRAD_TILE4_MIN && W >= DS_WINOGRAD_TILE4_MIN ? 4 : 2; }
static inline size_t ds_winograd_u_floats(int C_out, int C_in, int tile) {
    return (size_t)(tile + 2) * (tile + 2) * C_out * C_in;
}
size_t ds_winograd_scratch_floats(int C_in, int W, int C_out);
void ds_winograd_weights(const float *w, float *U, int C_out, int C_in, int tile);
void ds_conv2d_winograd(const float *x, const float *U, const float *bias, float *y, float *scratch, int B, int C_in,
                        int H, int W, int C_out);

/* im2col of ONE image: x (C_in, H, W) -> col (C_in*K*K, Ho*Wo), row index (c*K + ky)*K + kx,
 * zero where the window leaves the image. col2im is its adjoint: dx (C_in, H, W) += the
 * column gradients scattered back (the trainer's conv backward: dcol = W^T dy, then col2im).
 * im2col moves data only, so it has a single (scalar) implementation; col2im adds, and its
 * fast version (kernels_grad.c: each row of dx once, stride 1) gives ds_col2im_ref's bits. */
void ds_im2col(const float *x, float *col, int C_in, int H, int W, int K, int stride);
void ds_col2im(const float *col, float *dx, int C_in, int H, int W, int K, int stride);
void ds_col2im_ref(const float *col, float *dx, int C_in, int H, int W, int K, int stride);

/* ---- linear: y (B, out) = x (B, in) W^T + bias,  W (out, in), bias (out) or NULL ---------- */
void ds_linear(const float *x, const float *W, const float *bias, float *y, int B, int in, int out);
void ds_linear_ref(const float *x, const float *W, const float *bias, float *y, int B, int in, int out);

/* ---- GroupNorm -----------------------------------------------------------------------------
 * x (B, C, HW) with C divisible by G; each (b, group) of C/G channels x HW values is
 * normalised with its own mean and biased variance:  y = (x - mean) * rstd * gamma[c] + beta[c],
 * rstd = 1 / sqrt(var + eps). Statistics accumulate in double (so both versions agree to
 * float rounding): the fast version in one pass (sum and sum of squares) and applies
 * x * scale + shift per channel, the reference two passes and the formula as written.
 * mean, rstd (B, G) are written when non-NULL (the trainer keeps them). */
void ds_groupnorm(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, int B,
                  int C, int HW, int G, float eps);
void ds_groupnorm_ref(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd,
                      int B, int C, int HW, int G, float eps);

/* ---- SiLU: y = x * sigmoid(x) = x / (1 + exp(-x)), n values; in-place (y == x) allowed ----
 * The fast version uses a polynomial exp (relative error ~2e-7), the reference expf. */
void ds_silu(const float *x, float *y, long n);
void ds_silu_ref(const float *x, float *y, long n);

/* Fused GroupNorm + SiLU: norm (B, C, HW) receives the GroupNorm output (the trainer needs it
 * for the SiLU backward; may be NULL) and act = silu(norm). Same arguments as ds_groupnorm. */
void ds_groupnorm_silu(const float *x, const float *gamma, const float *beta, float *norm, float *act, float *mean,
                       float *rstd, int B, int C, int HW, int G, float eps);
void ds_groupnorm_silu_ref(const float *x, const float *gamma, const float *beta, float *norm, float *act,
                           float *mean, float *rstd, int B, int C, int HW, int G, float eps);

/* ---- softmax of rows: self-attention's weights --------------------------------------------
 * x (rows, n) in place: each row r becomes softmax(scale * x[r]), exp(scale x - max) over its
 * sum. The fast version runs v4_exp (vec.h) 4 values at a time and sums in 4 lanes then in a
 * fixed order, the same bits on every target; the reference uses expf and a sum in double. */
void ds_softmax_rows(float *x, int rows, int n, float scale);
void ds_softmax_rows_ref(float *x, int rows, int n, float scale);

/* ---- data movement and element-wise -------------------------------------------------------- */

/* nearest-neighbour 2x upsampling: x (BC, H, W) -> y (BC, 2H, 2W), y[i][j] = x[i/2][j/2] */
void ds_upsample2x(const float *x, float *y, int BC, int H, int W);
void ds_upsample2x_ref(const float *x, float *y, int BC, int H, int W);

/* channel concat: a (B, Ca, HW), b (B, Cb, HW) -> y (B, Ca + Cb, HW), a's channels first */
void ds_concat_channels(const float *a, int Ca, const float *b, int Cb, float *y, int B, int HW);
void ds_concat_channels_ref(const float *a, int Ca, const float *b, int Cb, float *y, int B, int HW);

/* y = a + b, n values; y may equal a or b (residual add) */
void ds_add(const float *a, const float *b, float *y, long n);
void ds_add_ref(const float *a, const float *b, float *y, long n);

/* per-(b, c) broadcast add: y (B, C, HW) += v (B, C)  (the time/class embedding projection
 * added to every pixel of a channel) */
void ds_add_channel_bias(float *y, const float *v, int B, int C, int HW);
void ds_add_channel_bias_ref(float *y, const float *v, int B, int C, int HW);

/* ---- embeddings ----------------------------------------------------------------------------
 * Sinusoidal timestep embedding, D even, half = D/2, for i = 0..half-1:
 *   freq_i = exp(-ln(10000) * i / half)
 *   out[b][i] = sin(t[b] * freq_i),  out[b][half + i] = cos(t[b] * freq_i)
 * computed in double with detmath's ds_exp/ds_sin/ds_cos and rounded to float once, so native
 * and WASM give bit-identical embeddings. t (B) is the timestep as a float in [0, 1000]. */
void ds_timestep_embedding(const float *t, float *out, int B, int D);
void ds_timestep_embedding_ref(const float *t, float *out, int B, int D);

/* Class embedding: out (B, E) = table[cls[b]] (a row copy), table (n_rows, E). For the UNet
 * n_rows = n_classes + 1: rows 0..n_classes-1 are the classes, row n_classes is "no class"
 * (classifier-free guidance). cls must already be checked to lie in 0..n_rows-1. */
void ds_class_embedding(const float *table, const int *cls, float *out, int B, int E);
void ds_class_embedding_ref(const float *table, const int *cls, float *out, int B, int E);

#endif

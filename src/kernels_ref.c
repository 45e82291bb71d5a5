/* kernels_ref.c — the plain scalar twins of every kernel (see kernels.h).
 *
 * Written for clarity, not speed: these define what each kernel computes, and the tests
 * compare the SIMD versions (kernels.c) against them. No SIMD here, no allocation.
 * The data-movement helper ds_im2col and the embeddings, whose fast and reference versions
 * coincide, live here too (ds_col2im's fast version is in kernels_grad.c). */
#include <math.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "kernels.h"
#include "kernels_variant.h"

/* ---- matrix multiply ---- */

void ds_gemm_ref(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float *C, int ldc, int accumulate) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = trans_b ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                sum += a * b;
            }
            float *c = &C[(long)i * ldc + j];
            *c = accumulate ? *c + sum : sum;
        }
    }
}

/* ---- convolution ---- */

int ds_conv2d_out_size(int in_size, int K, int stride) { return (in_size + 2 * (K / 2) - K) / stride + 1; }

/* Direct convolution, accumulating over (c, ky, kx) in that order — the same order as the
 * im2col rows, so the GEMM path matches it closely. */
void ds_conv2d_ref(const float *x, const float *w, const float *bias, float *y, int B, int C_in, int H, int W,
                   int C_out, int K, int stride) {
    const int pad = K / 2, Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    for (int b = 0; b < B; b++) {
        for (int o = 0; o < C_out; o++) {
            for (int oy = 0; oy < Ho; oy++) {
                for (int ox = 0; ox < Wo; ox++) {
                    float sum = 0.0f;
                    for (int c = 0; c < C_in; c++) {
                        for (int ky = 0; ky < K; ky++) {
                            for (int kx = 0; kx < K; kx++) {
                                int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                                float v = (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                              ? x[(((long)b * C_in + c) * H + iy) * W + ix]
                                              : 0.0f;
                                sum += w[(((long)o * C_in + c) * K + ky) * K + kx] * v;
                            }
                        }
                    }
                    y[(((long)b * C_out + o) * Ho + oy) * Wo + ox] = bias ? sum + bias[o] : sum;
                }
            }
        }
    }
}

/* the output columns ox whose input column ox*stride + shift lies in 0..W-1: [*lo, *hi) */
static void valid_columns(int Wo, int W, int stride, int shift, int *lo, int *hi) {
    int a = shift < 0 ? (-shift + stride - 1) / stride : 0; /* first ox with ix >= 0 */
    int b = W - 1 - shift < 0 ? 0 : (W - 1 - shift) / stride + 1; /* first ox with ix >= W */
    *lo = a < Wo ? a : Wo;
    *hi = b < *lo ? *lo : b < Wo ? b : Wo;
}

/* Both walk (c, ky, kx, oy) rows and handle each row's valid columns as one run: zeros (im2col)
 * or nothing (col2im) outside it, so the inner loops have no branches. col2im adds each
 * element's contributions in the same (ky, kx, oy) order as the element-wise loop would. */
void ds_im2col(const float *x, float *col, int C_in, int H, int W, int K, int stride) {
    const int pad = K / 2, Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    for (int c = 0; c < C_in; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((long)(c * K + ky) * K + kx) * Ho * Wo;
                int lo, hi, shift = kx - pad;
                valid_columns(Wo, W, stride, shift, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride + ky - pad;
                    float *out = row + (long)oy * Wo;
                    if (iy < 0 || iy >= H) {
                        memset(out, 0, sizeof(float) * Wo);
                        continue;
                    }
                    const float *in = x + ((long)c * H + iy) * W;
                    for (int ox = 0; ox < lo; ox++) out[ox] = 0.0f;
                    if (stride == 1)
                        memcpy(out + lo, in + lo + shift, sizeof(float) * (size_t)(hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++) out[ox] = in[ox * stride + shift];
                    for (int ox = hi; ox < Wo; ox++) out[ox] = 0.0f;
                }
            }
        }
    }
}

void ds_col2im_ref(const float *col, float *dx, int C_in, int H, int W, int K, int stride) {
    const int pad = K / 2, Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    for (int c = 0; c < C_in; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((long)(c * K + ky) * K + kx) * Ho * Wo;
                int lo, hi, shift = kx - pad;
                valid_columns(Wo, W, stride, shift, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride + ky - pad;
                    if (iy < 0 || iy >= H) continue;
                    float *out = dx + ((long)c * H + iy) * W;
                    const float *in = row + (long)oy * Wo;
                    if (stride == 1)
                        for (int ox = lo; ox < hi; ox++) out[ox + shift] += in[ox];
                    else
                        for (int ox = lo; ox < hi; ox++) out[ox * stride + shift] += in[ox];
                }
            }
        }
    }
}

/* ---- linear ---- */

void ds_linear_ref(const float *x, const float *W, const float *bias, float *y, int B, int in, int out) {
    for (int b = 0; b < B; b++) {
        for (int o = 0; o < out; o++) {
            float sum = 0.0f;
            for (int i = 0; i < in; i++) sum += x[(long)b * in + i] * W[(long)o * in + i];
            y[(long)b * out + o] = bias ? sum + bias[o] : sum;
        }
    }
}

/* ---- GroupNorm ---- */

void ds_groupnorm_ref(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, int B,
                      int C, int HW, int G, float eps) {
    const int cpg = C / G;
    const long n = (long)cpg * HW;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((long)b * C + (long)g * cpg) * HW;
            float *yg = y + ((long)b * C + (long)g * cpg) * HW;
            double sum = 0.0;
            for (long i = 0; i < n; i++) sum += xg[i];
            double mu = sum / n, sq = 0.0;
            for (long i = 0; i < n; i++) sq += ((double)xg[i] - mu) * ((double)xg[i] - mu);
            float mean_f = (float)mu, rstd_f = (float)(1.0 / sqrt(sq / n + eps));
            if (mean) mean[b * G + g] = mean_f;
            if (rstd) rstd[b * G + g] = rstd_f;
            for (int c = 0; c < cpg; c++) {
                float ga = gamma[g * cpg + c], be = beta[g * cpg + c];
                for (int i = 0; i < HW; i++) yg[(long)c * HW + i] = (xg[(long)c * HW + i] - mean_f) * rstd_f * ga + be;
            }
        }
    }
}

/* ---- softmax of rows ---- */

void ds_softmax_rows_ref(float *x, int rows, int n, float scale) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * n, top = -INFINITY;
        for (int j = 0; j < n; j++) top = fmaxf(top, scale * row[j]);
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += (row[j] = expf(scale * row[j] - top));
        for (int j = 0; j < n; j++) row[j] = (float)(row[j] / sum);
    }
}

/* ---- SiLU ---- */

void ds_silu_ref(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void ds_groupnorm_silu_ref(const float *x, const float *gamma, const float *beta, float *norm, float *act,
                           float *mean, float *rstd, int B, int C, int HW, int G, float eps) {
    float *dst = norm ? norm : act;
    ds_groupnorm_ref(x, gamma, beta, dst, mean, rstd, B, C, HW, G, eps);
    ds_silu_ref(dst, act, (long)B * C * HW);
}

/* ---- data movement and element-wise ---- */

void ds_upsample2x_ref(const float *x, float *y, int BC, int H, int W) {
    for (long p = 0; p < BC; p++)
        for (int i = 0; i < 2 * H; i++)
            for (int j = 0; j < 2 * W; j++) y[(p * 2 * H + i) * 2 * W + j] = x[(p * H + i / 2) * W + j / 2];
}

void ds_concat_channels_ref(const float *a, int Ca, const float *b, int Cb, float *y, int B, int HW) {
    for (int n = 0; n < B; n++) {
        for (int c = 0; c < Ca + Cb; c++) {
            for (int i = 0; i < HW; i++) {
                y[((long)n * (Ca + Cb) + c) * HW + i] =
                    c < Ca ? a[((long)n * Ca + c) * HW + i] : b[((long)n * Cb + (c - Ca)) * HW + i];
            }
        }
    }
}

void ds_add_ref(const float *a, const float *b, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void ds_add_channel_bias_ref(float *y, const float *v, int B, int C, int HW) {
    for (long bc = 0; bc < (long)B * C; bc++)
        for (int i = 0; i < HW; i++) y[bc * HW + i] += v[bc];
}

/* ---- embeddings (no SIMD: the fast names call these) ---- */

void ds_timestep_embedding_ref(const float *t, float *out, int B, int D) {
    const int half = D / 2;
    const double log_10000 = 9.2103403719761827; /* ln(10000) */
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < half; i++) {
            double freq = ds_exp(-log_10000 * i / half);
            double arg = (double)t[b] * freq;
            out[(long)b * D + i] = (float)ds_sin(arg);
            out[(long)b * D + half + i] = (float)ds_cos(arg);
        }
    }
}

void ds_timestep_embedding(const float *t, float *out, int B, int D) { ds_timestep_embedding_ref(t, out, B, D); }

void ds_class_embedding_ref(const float *table, const int *cls, float *out, int B, int E) {
    for (int b = 0; b < B; b++)
        for (int e = 0; e < E; e++) out[(long)b * E + e] = table[(long)cls[b] * E + e];
}

void ds_class_embedding(const float *table, const int *cls, float *out, int B, int E) {
    for (int b = 0; b < B; b++) memcpy(out + (long)b * E, table + (long)cls[b] * E, sizeof(float) * E);
}

#ifndef DS_KERNEL_DISPATCH
/* one variant under the plain names (WASM, -march=native, other CPUs): kernels_variant.h */
const char *ds_kernels_variant(void) { return "build"; }
int ds_kernels_select(const char *name) {
    if (name && !strcmp(name, "build")) return DS_OK;
    return ds_fail("this build has one kernel variant ('build'), not '%s'", name ? name : "(null)");
}
#endif

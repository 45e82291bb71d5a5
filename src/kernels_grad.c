/* kernels_grad.c — backward passes of the forward kernels (see kernels_grad.h).
 * Conv backward runs on kernels.c's ds_gemm_train (the forward's register tiles, with fused
 * multiply-adds where the CPU has FMA: only the native UNet trainer runs it), linear backward
 * on ds_gemm itself (the MLPs also train in the browser, with the same bits as natively); the
 * rest are memory-bound loops in plain C.
 * Not here: vectors and intrinsics (vec.h), the network wiring (unet_train.c, mlp_train.c). */
#include "kernels_grad.h"

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vec.h"

/* ---- convolution backward ---- */

size_t ds_conv2d_backward_scratch_floats(int C_in, int H, int W, int C_out, int K, int stride) {
    size_t Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    size_t CKK = (size_t)C_in * K * K, P = Ho * Wo;
    return 2 * CKK * P + P * C_out + CKK * C_out;
}

/* dy of one image (C_out, P) -> the B operand of the weight-gradient GEMM, dy^T (P, C_out),
 * stored as column panels of DW_PANEL outputs: panel j0 is (P, w) contiguous, w = DW_PANEL or
 * the remainder. Each GEMM call then streams one contiguous panel (a cache line per k) instead
 * of a strided column block of the whole dy^T. */
#define DW_PANEL 16
static void transpose_panels(const float *dy, float *panels, int C_out, int P) {
    for (int j0 = 0; j0 < C_out; j0 += DW_PANEL) {
        const int w = C_out - j0 < DW_PANEL ? C_out - j0 : DW_PANEL;
        float *pan = panels + (size_t)j0 * P;
        for (int o = 0; o < w; o++) {
            const float *row = dy + (size_t)(j0 + o) * P;
            for (int p = 0; p < P; p++) pan[(size_t)p * w + o] = row[p];
        }
    }
}

/* Input channels per block of the im2col rows: the block's columns (cb * K * K rows of P
 * pixels) and their gradient stay in L2 (about 64 kB each) while the GEMMs stream past them,
 * instead of a whole image's im2col (2.7 MB for 96 channels at 28x28) round-tripping through
 * L3. An even count of channels gives 3x3 blocks of 18 rows, whole register tiles of 6 rows.
 * Rows of different channels never mix in a GEMM output or in col2im, so the blocking changes
 * no result. */
#define CONV_BWD_BLOCK_FLOATS 16384
static int channel_block(int C_in, int KK, int P) {
    int cb = CONV_BWD_BLOCK_FLOATS / (KK * P);
    if (cb > 2) cb &= ~1;
    return cb < 1 ? 1 : cb > C_in ? C_in : cb;
}

/* col2im, stride 1, K <= 3: each row of dx read and written once, its (up to 9) contributions
 * added in registers, instead of K * K read-modify-write passes over the image (the reference
 * order of loops, which made this the trainer's third-largest cost). Each element still gets
 * its contributions in (ky, kx) order, added to the old dx one at a time: the reference's
 * bits. Contribution t of a row is in[t][j - shift[t]] for output column j; the columns
 * [pad, W - pad) have every kx inside the image, the pad columns at each edge skip the kx
 * that leave it. */
static inline float col2im_one(float acc, const float *const *in, const int *shift, int n, int j, int W) {
    for (int t = 0; t < n; t++)
        if (j - shift[t] >= 0 && j - shift[t] < W) acc += in[t][j - shift[t]];
    return acc;
}

static void col2im_rows(const float *col, float *dx, int C_in, int H, int W, int K) {
    const int pad = K / 2, P = H * W;
    for (int c = 0; c < C_in; c++) {
        for (int iy = 0; iy < H; iy++) {
            const float *in[9];
            int shift[9], n = 0;
            for (int ky = 0; ky < K; ky++) {
                const int oy = iy - ky + pad;
                if (oy < 0 || oy >= H) continue;
                for (int kx = 0; kx < K; kx++, n++) {
                    shift[n] = kx - pad;
                    in[n] = col + ((size_t)(c * K + ky) * K + kx) * P + (size_t)oy * W;
                }
            }
            float *out = dx + ((size_t)c * H + iy) * W;
            int j = pad;
            for (; j + 4 <= W - pad; j += 4) {
                v4 acc = v4_load(out + j);
                for (int t = 0; t < n; t++) acc = v4_add(acc, v4_load(in[t] + j - shift[t]));
                v4_store(out + j, acc);
            }
            for (int e = 0; e < pad && e < W; e++) out[e] = col2im_one(out[e], in, shift, n, e, W);
            for (; j < W; j++) out[j] = col2im_one(out[j], in, shift, n, j, W);
        }
    }
}

void ds_col2im(const float *col, float *dx, int C_in, int H, int W, int K, int stride) {
    if (stride == 1 && K <= 3)
        col2im_rows(col, dx, C_in, H, W, K);
    else
        ds_col2im_ref(col, dx, C_in, H, W, K, stride);
}

void ds_conv2d_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, float *db,
                        float *scratch, int B, int C_in, int H, int W, int C_out, int K, int stride) {
    int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    int P = Ho * Wo, KK = K * K, CKK = C_in * KK, HW = H * W;
    int direct = (K == 1 && stride == 1); /* a 1x1 conv is a GEMM on the image itself */
    int cb = channel_block(C_in, KK, P);
    float *col = scratch, *dcol = col + (size_t)CKK * P, *dyT = dcol + (size_t)CKK * P, *dwT = dyT + (size_t)P * C_out;
    /* dw^T (CKK, C_out) = sum over images of col (CKK, P) x dy_b^T (P, C_out), added to dw at the end */
    if (dw) memset(dwT, 0, sizeof(float) * (size_t)CKK * C_out);
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * C_in * HW;
        const float *dyb = dy + (size_t)b * C_out * P;
        if (dw) {
            transpose_panels(dyb, dyT, C_out, P);
            for (int c0 = 0; c0 < C_in; c0 += direct ? C_in : cb) {
                const int n = direct ? C_in : C_in - c0 < cb ? C_in - c0 : cb;
                const float *cols = xb;
                if (!direct) {
                    ds_im2col(xb + (size_t)c0 * HW, col, n, H, W, K, stride);
                    cols = col;
                }
                for (int j0 = 0; j0 < C_out; j0 += DW_PANEL) {
                    const int w = C_out - j0 < DW_PANEL ? C_out - j0 : DW_PANEL;
                    ds_gemm_train(0, n * KK, w, P, cols, P, dyT + (size_t)j0 * P, w, dwT + (size_t)c0 * KK * C_out + j0,
                            C_out, 1);
                }
            }
        }
        if (dx) {
            float *dxb = dx + (size_t)b * C_in * HW;
            /* dcol (CKK, P) = w^T (CKK, C_out) x dy_b (C_out, P); w stored (C_out, CKK) */
            if (direct)
                ds_gemm_train(1, C_in, P, C_out, w, C_in, dyb, P, dxb, P, 1);
            for (int c0 = 0; !direct && c0 < C_in; c0 += cb) {
                const int n = C_in - c0 < cb ? C_in - c0 : cb;
                ds_gemm_train(1, n * KK, P, C_out, w + (size_t)c0 * KK, CKK, dyb, P, dcol, P, 0);
                ds_col2im(dcol, dxb + (size_t)c0 * HW, n, H, W, K, stride);
            }
        }
        if (db) {
            for (int c = 0; c < C_out; c++) {
                double s = 0.0;
                const float *d = dyb + (size_t)c * P;
                for (int i = 0; i < P; i++) s += d[i];
                db[c] += (float)s;
            }
        }
    }
    if (dw)
        for (int o = 0; o < C_out; o++)
            for (int i = 0; i < CKK; i++) dw[(size_t)o * CKK + i] += dwT[(size_t)i * C_out + o];
}

void ds_linear_backward(const float *x, const float *W, const float *dy, float *dx, float *dW, float *db, int B,
                        int in, int out) {
    /* dW (out, in) += dy^T (out, B) x x (B, in);  dx (B, in) += dy (B, out) x W (out, in) */
    if (dW) ds_gemm(1, 0, out, in, B, dy, out, x, in, dW, in, 1);
    if (dx) ds_gemm(0, 0, B, in, out, dy, out, W, in, dx, in, 1);
    if (db) {
        for (int o = 0; o < out; o++) {
            double s = 0.0;
            for (int b = 0; b < B; b++) s += dy[(size_t)b * out + o];
            db[o] += (float)s;
        }
    }
}

/* d silu(x) / dx = s (1 + x (1 - s)), s = sigmoid(x) = 1 / (1 + exp(-x)) with the forward's
 * vector exp (vec.h), so the gradient is that of the function the forward computed; the scalar
 * tails run the same code in one lane. */
static inline v4 silu_grad_v4(v4 x) {
    const v4 one = v4_set1(1.0f), s = v4_div(one, v4_add(one, v4_exp(v4_sub(v4_zero(), x))));
    return v4_mul(s, v4_add(one, v4_mul(x, v4_sub(one, s))));
}
static inline float silu_grad_1(float x) { return v4_first(silu_grad_v4(v4_set1(x))); }

/* GroupNorm backward over dy, or (norm non-NULL) over the SiLU gradient d_norm made here one
 * channel at a time from d_act: ds_silu_backward into a zeroed buffer, 0 + dy s (1 + x (1 - s)),
 * in its own loop before the sums. */
static void groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                               const float *dy, const float *norm, float *d_norm, float *dx, float *dgamma,
                               float *dbeta, int B, int C, int HW, int G) {
    int cpg = C / G;
    double n = (double)cpg * HW;
    const float *d_in = norm ? d_norm : dy;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            double mu = mean[b * G + g], rs = rstd[b * G + g];
            /* the two group sums of the input gradient: sum(dxhat) and sum(dxhat * xhat) */
            double sum_d = 0.0, sum_dx = 0.0;
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                size_t base = ((size_t)b * C + c) * HW;
                const double gam = gamma ? gamma[c] : 1.0;
                if (norm) {
                    const float *nc = norm + base, *yc = dy + base;
                    float *dn = d_norm + base;
                    int i = 0;
                    for (; i + 4 <= HW; i += 4) v4_store(dn + i, v4_add(v4_zero(), v4_mul(v4_load(yc + i), silu_grad_v4(v4_load(nc + i)))));
                    for (; i < HW; i++) dn[i] = 0.0f + yc[i] * silu_grad_1(nc[i]);
                }
                /* four partial sums each, added pairwise at the end: a fixed order on every
                 * machine, and four dependency chains instead of one (the loop was bound by
                 * the latency of its two additions) */
                double b4[4] = {0, 0, 0, 0}, g4[4] = {0, 0, 0, 0};
                const float *xc = x + base, *dc = d_in + base;
                int i = 0;
                for (; i + 4 <= HW; i += 4)
                    for (int l = 0; l < 4; l++) {
                        const double xhat = (xc[i + l] - mu) * rs, d = dc[i + l];
                        b4[l] += d;
                        g4[l] += d * xhat;
                    }
                for (; i < HW; i++) {
                    const double xhat = (xc[i] - mu) * rs, d = dc[i];
                    b4[0] += d;
                    g4[0] += d * xhat;
                }
                const double sb = (b4[0] + b4[1]) + (b4[2] + b4[3]), sg = (g4[0] + g4[1]) + (g4[2] + g4[3]);
                if (dgamma) dgamma[c] += (float)sg;
                if (dbeta) dbeta[c] += (float)sb;
                sum_d += sb * gam;
                sum_dx += sg * gam;
            }
            if (!dx) continue;
            double mean_d = sum_d / n, mean_dx = sum_dx / n;
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                size_t base = ((size_t)b * C + c) * HW;
                double gam = gamma ? gamma[c] : 1.0;
                for (int i = 0; i < HW; i++) {
                    double xhat = (x[base + i] - mu) * rs;
                    dx[base + i] += (float)(rs * (d_in[base + i] * gam - mean_d - xhat * mean_dx));
                }
            }
        }
    }
}

void ds_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                           const float *dy, float *dx, float *dgamma, float *dbeta, int B, int C, int HW, int G) {
    groupnorm_backward(x, gamma, mean, rstd, dy, NULL, NULL, dx, dgamma, dbeta, B, C, HW, G);
}

void ds_groupnorm_silu_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                const float *norm, const float *d_act, float *d_norm, float *dx, float *dgamma,
                                float *dbeta, int B, int C, int HW, int G) {
    groupnorm_backward(x, gamma, mean, rstd, d_act, norm, d_norm, dx, dgamma, dbeta, B, C, HW, G);
}

void ds_silu_backward(const float *x, const float *dy, float *dx, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) v4_store(dx + i, v4_add(v4_load(dx + i), v4_mul(v4_load(dy + i), silu_grad_v4(v4_load(x + i)))));
    for (; i < n; i++) dx[i] += dy[i] * silu_grad_1(x[i]);
}

void ds_upsample2x_backward(const float *dy, float *dx, int BC, int H, int W) {
    int W2 = 2 * W;
    for (int p = 0; p < BC; p++) {
        const float *d = dy + (size_t)p * 4 * H * W;
        float *o = dx + (size_t)p * H * W;
        for (int i = 0; i < H; i++) {
            const float *r0 = d + (size_t)(2 * i) * W2, *r1 = r0 + W2;
            for (int j = 0; j < W; j++) o[i * W + j] += (r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1]);
        }
    }
}

void ds_concat_channels_backward(const float *dy, float *da, int Ca, float *db, int Cb, int B, int HW) {
    size_t na = (size_t)Ca * HW, nb = (size_t)Cb * HW;
    for (int b = 0; b < B; b++) {
        const float *d = dy + (size_t)b * (na + nb);
        if (da) ds_accumulate(d, da + (size_t)b * na, (long)na);
        if (db) ds_accumulate(d + na, db + (size_t)b * nb, (long)nb);
    }
}

void ds_accumulate(const float *dy, float *dx, long n) {
    for (long i = 0; i < n; i++) dx[i] += dy[i];
}

void ds_add_channel_bias_backward(const float *dy, float *dv, int B, int C, int HW) {
    for (int p = 0; p < B * C; p++) {
        const float *d = dy + (size_t)p * HW;
        double s = 0.0;
        for (int i = 0; i < HW; i++) s += d[i];
        dv[p] += (float)s;
    }
}

void ds_class_embedding_backward(const float *dout, const int *cls, float *dtable, int B, int E) {
    for (int b = 0; b < B; b++) ds_accumulate(dout + (size_t)b * E, dtable + (size_t)cls[b] * E, E);
}

double ds_mse_backward(const float *pred, const float *target, float *dpred, long n, long n_total) {
    double s = 0.0, scale = 2.0 / (double)n_total;
    for (long i = 0; i < n; i++) {
        double d = (double)pred[i] - (double)target[i];
        s += d * d;
        if (dpred) dpred[i] = (float)(scale * d);
    }
    return s / (double)n_total;
}

double ds_mse_backward_weighted(const float *pred, const float *target, const float *weight, float *dpred, int B,
                                long item, long n_total) {
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const long at = (long)b * item;
        double s = 0.0, scale = 2.0 * (double)weight[b] / (double)n_total;
        for (long i = 0; i < item; i++) {
            double d = (double)pred[at + i] - (double)target[at + i];
            s += d * d;
            if (dpred) dpred[at + i] = (float)(scale * d);
        }
        total += (double)weight[b] * s;
    }
    return total / (double)n_total;
}

double ds_softmax_xent_backward(const float *logits, const int *labels, float *dlogits, int B, int C, long n_total) {
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        double mx = z[0], sum = 0.0;
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        loss += log(sum) + mx - (double)z[labels[b]];
        if (dlogits)
            for (int c = 0; c < C; c++)
                dlogits[(size_t)b * C + c] = (float)((exp((double)z[c] - mx) / sum - (c == labels[b])) / (double)n_total);
    }
    return loss / (double)n_total;
}

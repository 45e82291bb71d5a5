/* kernels_grad.c — backward passes of the forward kernels (see kernels_grad.h).
 * The heavy ones (conv, linear) are GEMMs through ds_gemm, the SIMD kernel of kernels.c;
 * the rest are memory-bound loops the compiler vectorises on its own. */
#include "kernels_grad.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

size_t ds_conv2d_backward_scratch_floats(int C_in, int H, int W, int K, int stride) {
    int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    return 2 * (size_t)C_in * K * K * Ho * Wo;
}

void ds_conv2d_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, float *db,
                        float *scratch, int B, int C_in, int H, int W, int C_out, int K, int stride) {
    int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    int P = Ho * Wo, CKK = C_in * K * K;
    int direct = (K == 1 && stride == 1); /* a 1x1 conv is a GEMM on the image itself */
    float *col = scratch, *dcol = scratch + (size_t)CKK * P;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * C_in * H * W;
        const float *dyb = dy + (size_t)b * C_out * P;
        if (dw) {
            const float *cb = xb;
            if (!direct) {
                ds_im2col(xb, col, C_in, H, W, K, stride);
                cb = col;
            }
            /* dw (C_out, CKK) += dy_b (C_out, P) x col^T (P, CKK) */
            ds_gemm(0, 1, C_out, CKK, P, dyb, P, cb, P, dw, CKK, 1);
        }
        if (dx) {
            float *dxb = dx + (size_t)b * C_in * H * W;
            if (direct) {
                /* dx_b (C_in, P) += w^T (C_in, C_out) x dy_b (C_out, P) */
                ds_gemm(1, 0, C_in, P, C_out, w, C_in, dyb, P, dxb, P, 1);
            } else {
                ds_gemm(1, 0, CKK, P, C_out, w, CKK, dyb, P, dcol, P, 0);
                ds_col2im(dcol, dxb, C_in, H, W, K, stride);
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

void ds_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                           const float *dy, float *dx, float *dgamma, float *dbeta, int B, int C, int HW, int G) {
    int cpg = C / G;
    double n = (double)cpg * HW;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            double mu = mean[b * G + g], rs = rstd[b * G + g];
            /* the two group sums of the input gradient: sum(dxhat) and sum(dxhat * xhat) */
            double sum_d = 0.0, sum_dx = 0.0;
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                size_t base = ((size_t)b * C + c) * HW;
                double gam = gamma ? gamma[c] : 1.0, sg = 0.0, sb = 0.0;
                for (int i = 0; i < HW; i++) {
                    double xhat = (x[base + i] - mu) * rs, d = dy[base + i];
                    sb += d;
                    sg += d * xhat;
                }
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
                    dx[base + i] += (float)(rs * (dy[base + i] * gam - mean_d - xhat * mean_dx));
                }
            }
        }
    }
}

void ds_silu_backward(const float *x, const float *dy, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] += dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
    }
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

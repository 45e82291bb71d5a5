/* kernels_grad.c — backward passes of the forward kernels (see kernels_grad.h).
 * Compiled once per kernel variant like kernels.c (kernels_variant.h). Conv backward runs on
 * kernels.c's ds_gemm_train (the forward's register tiles, with fused multiply-adds where the
 * CPU has FMA: only the native UNet trainer runs it), the 3x3 weight gradient straight from
 * the zero-padded image (no im2col); linear backward on ds_gemm itself (the MLPs also train in
 * the browser, with the same bits as natively); SiLU and GroupNorm backward on vf vectors with
 * the same operations per element on every target; the rest are memory-bound loops.
 * Not here: vectors and intrinsics (vec.h), the network wiring (unet_train.c, mlp_train.c). */
#include "kernels_variant.h" /* first: a dispatching build renames the public functions */

#include "kernels_grad.h"

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vec.h"

/* ---- convolution backward ---- */

/* the padded layout of the 3x3 stride-1 weight gradient (dw_taps below): rows of W + 2 */
static size_t padded_image_floats(int C_in, int H, int W) { return (size_t)C_in * (H + 2) * (W + 2) + 2; }
static size_t padded_pixels(int H, int W) { return (size_t)H * (W + 2); }

/* the scratch's parts: col and dcol (col_floats each), dy^T (dyT_floats), dw^T (CKK x C_out) */
static void conv_bwd_parts(int C_in, int H, int W, int C_out, int K, int stride, size_t *col_floats,
                           size_t *dyT_floats) {
    const size_t Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    const size_t P = Ho * Wo, col = (size_t)C_in * K * K * P, dyT = P * C_out;
    *col_floats = col, *dyT_floats = dyT;
    if (K == 3 && stride == 1) { /* the padded image and dy rows of dw_taps */
        const size_t xpad = padded_image_floats(C_in, H, W), dyp = padded_pixels(H, W) * C_out;
        *col_floats = xpad > col ? xpad : col;
        *dyT_floats = dyp > dyT ? dyp : dyT;
    }
}

size_t ds_conv2d_backward_scratch_floats(int C_in, int H, int W, int C_out, int K, int stride) {
    size_t col, dyT;
    conv_bwd_parts(C_in, H, W, C_out, K, stride, &col, &dyT);
    return 2 * col + dyT + (size_t)C_in * K * K * C_out;
}

/* dy of one image (C_out, P) -> the B operand of the weight-gradient GEMM, dy^T (P, C_out),
 * stored as column panels of DW_PANEL outputs: panel j0 is (P, w) contiguous, w = DW_PANEL or
 * the remainder. Each GEMM call then streams one contiguous panel (a cache line per k) instead
 * of a strided column block of the whole dy^T. */
#define DW_PANEL (2 * VF_LANES) /* the GEMM's widest register tile (kernels.c NR) */
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

/* The same panels of dy (C_out, H, W) with each row padded to W + 2 by two zero pixels:
 * panel j0 is (H (W + 2), w), pixel p' = y (W + 2) + x. */
static void transpose_panels_padded(const float *dy, float *panels, int C_out, int H, int W) {
    const int Wp = W + 2;
    const size_t Pp = padded_pixels(H, W);
    for (int j0 = 0; j0 < C_out; j0 += DW_PANEL) {
        const int w = C_out - j0 < DW_PANEL ? C_out - j0 : DW_PANEL;
        float *pan = panels + (size_t)j0 * Pp;
        for (int o = 0; o < w; o++) {
            const float *plane = dy + (size_t)(j0 + o) * H * W;
            for (int y = 0; y < H; y++) {
                float *dst = pan + (size_t)y * Wp * w + o;
                for (int x = 0; x < W; x++) dst[(size_t)x * w] = plane[y * W + x];
                dst[(size_t)W * w] = 0.0f, dst[(size_t)(W + 1) * w] = 0.0f;
            }
        }
    }
}

/* x (C_in, H, W) -> xpad (C_in, H + 2, W + 2) with a zero border, then 2 zeros past the end */
static void pad_image(const float *x, float *xpad, int C_in, int H, int W) {
    const int Wp = W + 2;
    memset(xpad, 0, sizeof(float) * padded_image_floats(C_in, H, W));
    for (int c = 0; c < C_in; c++)
        for (int y = 0; y < H; y++)
            memcpy(xpad + ((size_t)c * (H + 2) + y + 1) * Wp + 1, x + ((size_t)c * H + y) * W, sizeof(float) * W);
}

/* dw^T (C_in * 9, C_out) += the weight gradient of one image of a 3x3 stride-1 conv, without
 * im2col: dw^T[c][k][o] = sum over pixels of x[c][y + ky - 1][x + kx - 1] dy[o][y][x] is,
 * over padded pixels p' = y (W + 2) + x, sum_p' xpad[c][p' + ky (W + 2) + kx] dy'[p'][o]: for
 * each tap k one GEMM whose A operand is the padded image itself at an offset (rows c, row
 * stride (H + 2)(W + 2)), written to rows c * 9 + k of dw^T. The pad pixels of dy' are zero,
 * so what A reads there (the next row's border, the next channel's first values, the two
 * trailing zeros) adds nothing; they cost 2/W more products than im2col's 9 copies of x,
 * which took a third of the weight gradient's time. */
static void dw_taps(const float *xpad, const float *dyT, float *dwT, int C_in, int H, int W, int C_out) {
    const int Wp = W + 2, Pp = (int)padded_pixels(H, W), lda = (H + 2) * Wp;
    for (int j0 = 0; j0 < C_out; j0 += DW_PANEL) {
        const int w = C_out - j0 < DW_PANEL ? C_out - j0 : DW_PANEL;
        for (int k = 0; k < 9; k++)
            ds_gemm_train(0, C_in, w, Pp, xpad + (k / 3) * Wp + k % 3, lda, dyT + (size_t)j0 * Pp, w,
                          dwT + (size_t)k * C_out + j0, 9 * C_out, 1);
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
    int taps = (K == 3 && stride == 1);   /* dw from the padded image (dw_taps) */
    int cb = channel_block(C_in, KK, P);
    size_t col_floats, dyT_floats;
    conv_bwd_parts(C_in, H, W, C_out, K, stride, &col_floats, &dyT_floats);
    float *col = scratch, *dcol = col + col_floats, *dyT = dcol + col_floats, *dwT = dyT + dyT_floats;
    /* dw^T (CKK, C_out) = sum over images of col (CKK, P) x dy_b^T (P, C_out), added to dw at the end */
    if (dw) memset(dwT, 0, sizeof(float) * (size_t)CKK * C_out);
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * C_in * HW;
        const float *dyb = dy + (size_t)b * C_out * P;
        if (dw && taps) {
            pad_image(xb, col, C_in, H, W);
            transpose_panels_padded(dyb, dyT, C_out, H, W);
            dw_taps(col, dyT, dwT, C_in, H, W, C_out);
        } else if (dw) {
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
 * vector exp (vec.h), so the gradient is that of the function the forward computed; VF_LANES
 * at a time, then 4, and the scalar tails through the same code in one lane: every element
 * gets the same operations on every target. */
static inline v4 silu_grad_v4(v4 x) {
    const v4 one = v4_set1(1.0f), s = v4_div(one, v4_add(one, v4_exp(v4_sub(v4_zero(), x))));
    return v4_mul(s, v4_add(one, v4_mul(x, v4_sub(one, s))));
}
static inline vf silu_grad_vf(vf x) {
    const vf one = vf_set1(1.0f), s = vf_div(one, vf_add(one, vf_exp(vf_sub(vf_zero(), x))));
    return vf_mul(s, vf_add(one, vf_mul(x, vf_sub(one, s))));
}
static inline float silu_grad_1(float x) { return v4_first(silu_grad_v4(v4_set1(x))); }

/* dx (n) += dy * silu'(x) */
static void silu_backward_into(const float *x, const float *dy, float *dx, long n) {
    long i = 0;
    for (; i + VF_LANES <= n; i += VF_LANES)
        vf_store(dx + i, vf_add(vf_load(dx + i), vf_mul(vf_load(dy + i), silu_grad_vf(vf_load(x + i)))));
    for (; i + 4 <= n; i += 4) v4_store(dx + i, v4_add(v4_load(dx + i), v4_mul(v4_load(dy + i), silu_grad_v4(v4_load(x + i)))));
    for (; i < n; i++) dx[i] += dy[i] * silu_grad_1(x[i]);
}

/* A channel's two sums for the GroupNorm gradient, sum(d) and sum(d xhat) with xhat = (x - mu)
 * rs, in float: element i goes to partial sum i % GN_PARTIALS (one, two or four vf registers of
 * them, by the target's width; the tail element by element into the same partial), and the
 * partials are added in order in double. So every target gives the same bits, and each float
 * partial holds only HW / 16 values (49 at 28x28). */
#define GN_PARTIALS 16
static void channel_sums(const float *x, const float *d, int HW, float mu, float rs, double *sum_d, double *sum_dx) {
    enum { NV = GN_PARTIALS / VF_LANES };
    const vf muv = vf_set1(mu), rsv = vf_set1(rs);
    vf acc_d[NV], acc_g[NV];
    for (int j = 0; j < NV; j++) acc_d[j] = vf_zero(), acc_g[j] = vf_zero();
    int i = 0;
    for (; i + GN_PARTIALS <= HW; i += GN_PARTIALS)
        for (int j = 0; j < NV; j++) {
            const vf dv = vf_load(d + i + j * VF_LANES);
            const vf xh = vf_mul(vf_sub(vf_load(x + i + j * VF_LANES), muv), rsv);
            acc_d[j] = vf_add(acc_d[j], dv);
            acc_g[j] = vf_add(acc_g[j], vf_mul(dv, xh));
        }
    float pd[GN_PARTIALS], pg[GN_PARTIALS];
    for (int j = 0; j < NV; j++) vf_store(pd + j * VF_LANES, acc_d[j]), vf_store(pg + j * VF_LANES, acc_g[j]);
    for (int l = 0; i < HW; i++, l++) {
        const float xh = (x[i] - mu) * rs;
        pd[l] += d[i];
        pg[l] += d[i] * xh;
    }
    double sd = 0.0, sg = 0.0;
    for (int l = 0; l < GN_PARTIALS; l++) sd += pd[l], sg += pg[l];
    *sum_d = sd, *sum_dx = sg;
}

/* GroupNorm backward over dy, or (norm non-NULL) over the SiLU gradient d_norm made here one
 * channel at a time from d_act: silu_backward_into a zeroed buffer, 0 + dy s (1 + x (1 - s)),
 * in its own loop before the sums (so the fused kernel is ds_silu_backward then
 * ds_groupnorm_backward bit for bit). dx += rs (d gamma - mean(d gamma) - xhat mean(d gamma
 * xhat)) in float, the group means from the channels' sums in double. */
static void groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                               const float *dy, const float *norm, float *d_norm, float *dx, float *dgamma,
                               float *dbeta, int B, int C, int HW, int G) {
    int cpg = C / G;
    double n = (double)cpg * HW;
    const float *d_in = norm ? d_norm : dy;
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < G; g++) {
            const float mu = mean[b * G + g], rs = rstd[b * G + g];
            double sum_d = 0.0, sum_dx = 0.0; /* over the group: sum(d gamma), sum(d gamma xhat) */
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                size_t base = ((size_t)b * C + c) * HW;
                const double gam = gamma ? gamma[c] : 1.0;
                if (norm) {
                    memset(d_norm + base, 0, sizeof(float) * HW);
                    silu_backward_into(norm + base, dy + base, d_norm + base, HW);
                }
                double sb, sg;
                channel_sums(x + base, d_in + base, HW, mu, rs, &sb, &sg);
                if (dgamma) dgamma[c] += (float)sg;
                if (dbeta) dbeta[c] += (float)sb;
                sum_d += sb * gam;
                sum_dx += sg * gam;
            }
            if (!dx) continue;
            const float mean_d = (float)(sum_d / n), mean_dx = (float)(sum_dx / n);
            const vf muv = vf_set1(mu), rsv = vf_set1(rs), mdv = vf_set1(mean_d), mdxv = vf_set1(mean_dx);
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                size_t base = ((size_t)b * C + c) * HW;
                const float gam = gamma ? gamma[c] : 1.0f;
                const vf gv = vf_set1(gam);
                const float *xc = x + base, *dc = d_in + base;
                float *o = dx + base;
                int i = 0;
                for (; i + VF_LANES <= HW; i += VF_LANES) {
                    const vf xh = vf_mul(vf_sub(vf_load(xc + i), muv), rsv);
                    const vf t = vf_sub(vf_sub(vf_mul(vf_load(dc + i), gv), mdv), vf_mul(xh, mdxv));
                    vf_store(o + i, vf_add(vf_load(o + i), vf_mul(rsv, t)));
                }
                for (; i < HW; i++) {
                    const float xh = (xc[i] - mu) * rs;
                    o[i] += rs * ((dc[i] * gam - mean_d) - xh * mean_dx);
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

void ds_silu_backward(const float *x, const float *dy, float *dx, long n) { silu_backward_into(x, dy, dx, n); }

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

void ds_softmax_rows_backward(const float *p, float *dp, int rows, int n, float scale) {
    for (int r = 0; r < rows; r++) {
        const float *pr = p + (long)r * n;
        float *dr = dp + (long)r * n;
        double dot = 0.0;
        for (int j = 0; j < n; j++) dot += (double)dr[j] * pr[j];
        for (int j = 0; j < n; j++) dr[j] = (float)(scale * pr[j] * (dr[j] - dot));
    }
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

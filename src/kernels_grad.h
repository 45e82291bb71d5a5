/* kernels_grad.h — backward passes of the kernels in kernels.h, for the trainer.
 *
 * Each NAME_backward takes the forward's inputs (or the values the forward cached, such as
 * GroupNorm's mean and rstd) and the gradient of the loss with respect to the forward's output
 * (dy), and ACCUMULATES (+=) the gradients of the inputs and parameters into the given
 * buffers; any of them may be NULL when not needed. Accumulating lets a tensor that feeds
 * several layers (skip connections, residuals) collect its gradient from each, and lets a
 * trainer sum a batch's parameter gradients into one blob; the caller zeroes them once.
 * Same layout conventions as kernels.h (NCHW float32, conv weights (C_out, C_in, K, K),
 * linear weights (out, in)). Conv backward's GEMMs run on kernels.h's ds_gemm_train (fused
 * multiply-adds where the CPU has FMA, so its bits depend on the CPU), linear backward's on
 * ds_gemm (bit-identical to ds_gemm_ref with op(B) = B, natively and in WASM, where the MLPs
 * train); the bias reductions accumulate in double, GroupNorm's per channel in 16 float
 * partial sums added in double (the same bits on every target).
 * tests/test_grad.c checks every one against central finite differences of the forward kernel.
 * Not here: the network wiring of the backward pass (unet_train.c, mlp_train.c). */
#ifndef DS_KERNELS_GRAD_H
#define DS_KERNELS_GRAD_H

#include <stddef.h>

/* Conv backward. x (B, C_in, H, W) and w as in the forward; dy (B, C_out, Ho, Wo).
 * dx (B, C_in, H, W) +=, dw (C_out, C_in, K, K) +=, db (C_out) +=.
 * scratch: ds_conv2d_backward_scratch_floats(...) floats (im2col of one image and its
 * gradient, dy of one image transposed, dw transposed). */
size_t ds_conv2d_backward_scratch_floats(int C_in, int H, int W, int C_out, int K, int stride);
void ds_conv2d_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, float *db,
                        float *scratch, int B, int C_in, int H, int W, int C_out, int K, int stride);

/* Linear backward: x (B, in), W (out, in), dy (B, out); dx (B, in) +=, dW (out, in) +=, db (out) +=. */
void ds_linear_backward(const float *x, const float *W, const float *dy, float *dx, float *dW, float *db, int B,
                        int in, int out);

/* GroupNorm backward from the forward's x, gamma and its cached mean, rstd (B, G).
 * dy (B, C, HW); dx (B, C, HW) +=, dgamma (C) +=, dbeta (C) +=. */
void ds_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                           const float *dy, float *dx, float *dgamma, float *dbeta, int B, int C, int HW, int G);

/* GroupNorm + SiLU backward (act = silu(norm), norm = groupnorm(x)) in one pass over each
 * group: the same as ds_silu_backward(norm, d_act, d_norm zeroed) then ds_groupnorm_backward
 * on d_norm, bit for bit, without the zeroing and a pass over memory. d_norm (B, C, HW) is
 * scratch, overwritten with the gradient of norm; dx +=, dgamma +=, dbeta += as above. */
void ds_groupnorm_silu_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                const float *norm, const float *d_act, float *d_norm, float *dx, float *dgamma,
                                float *dbeta, int B, int C, int HW, int G);

/* SiLU backward from the forward's input x: dx += dy * s (1 + x (1 - s)), s = sigmoid(x). */
void ds_silu_backward(const float *x, const float *dy, float *dx, long n);

/* Nearest 2x upsampling backward: dy (BC, 2H, 2W) -> dx (BC, H, W) += sum of each 2x2 block. */
void ds_upsample2x_backward(const float *dy, float *dx, int BC, int H, int W);

/* Channel concat backward: dy (B, Ca + Cb, HW) -> da (B, Ca, HW) +=, db (B, Cb, HW) +=. */
void ds_concat_channels_backward(const float *dy, float *da, int Ca, float *db, int Cb, int B, int HW);

/* Accumulate: dx (n) += dy (n) (the backward of y = a + b for each of a and b). */
void ds_accumulate(const float *dy, float *dx, long n);

/* Broadcast channel add backward: y (B, C, HW) += v (B, C)  =>  dv (B, C) += sum over HW of dy. */
void ds_add_channel_bias_backward(const float *dy, float *dv, int B, int C, int HW);

/* Class embedding backward: dtable (n_rows, E) row cls[b] += dout[b] (B, E). */
void ds_class_embedding_backward(const float *dout, const int *cls, float *dtable, int B, int E);

/* Mean squared error of a shard of n values within a batch of n_total: returns
 * sum((pred - target)^2) / n_total (in double) and writes dpred = 2 (pred - target) / n_total,
 * so the shards of one batch add up to the batch mean and its gradient. */
double ds_mse_backward(const float *pred, const float *target, float *dpred, long n, long n_total);
/* The same over B items of `item` floats, item b's squared error times weight[b] (B): returns
 * sum_b weight[b] sum_i (pred - target)^2 / n_total, dpred = 2 weight[b] (pred - target) / n_total. */
double ds_mse_backward_weighted(const float *pred, const float *target, const float *weight, float *dpred, int B,
                                long item, long n_total);

/* Backward of ds_softmax_rows(x, rows, n, scale) from its output p (rows, n): dp (rows, n), the
 * gradient of p, becomes in place the gradient of x: scale p (dp - sum_j dp_j p_j), per row. */
void ds_softmax_rows_backward(const float *p, float *dp, int rows, int n, float scale);

/* Softmax cross-entropy of B rows of C logits against labels (B) in 0..C-1, within a batch of
 * n_total rows: returns sum(-log softmax(logits)[label]) / n_total (in double) and writes
 * dlogits = (softmax - onehot) / n_total (may be NULL). */
double ds_softmax_xent_backward(const float *logits, const int *labels, float *dlogits, int B, int C, long n_total);

#endif

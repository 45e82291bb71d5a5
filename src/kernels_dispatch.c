/* kernels_dispatch.c — the kernel layer's public functions in a portable x86-64 build: each
 * calls the variant of kernels.c / kernels_grad.c / kernels_bench.c the CPU supports (kernels_variant.h).
 *
 * The choice is made once, at the first call, from CPUID (__builtin_cpu_supports: AVX-512F
 * for the avx512 variant, compiled with -mavx512f -mavx2 -mfma; AVX2 and FMA for the avx2
 * variant, -mavx2 -mfma) unless DS_KERNELS=base|avx2|avx512 says otherwise. An indirect call
 * per kernel call costs nothing next to the kernels themselves.
 * Compiled only when CMake sets DS_KERNEL_DISPATCH (native x86-64 without -march=native);
 * every other build has one variant under the plain names and ds_kernels_variant() from
 * kernels_ref.c. Not here: the kernels (kernels.c), their scalar twins (kernels_ref.c). */
#ifdef DS_KERNEL_DISPATCH
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "kernels_bench.h"
#include "kernels_grad.h"
#include "kernels_variant.h"

/* every variant's functions: ds_X_base, ds_X_avx2 and ds_X_avx512, each of ds_X's type */
#define DECLARE(name) extern __typeof__(name) name##_base, name##_avx2, name##_avx512;
DS_KERNEL_FUNCTIONS(DECLARE)

typedef struct {
    const char *name;
#define FIELD(name) __typeof__(name) *name;
    DS_KERNEL_FUNCTIONS(FIELD)
} kernel_table;

#define BASE_ENTRY(name) name##_base,
#define AVX2_ENTRY(name) name##_avx2,
#define AVX512_ENTRY(name) name##_avx512,
static const kernel_table BASE = {"base", DS_KERNEL_FUNCTIONS(BASE_ENTRY)};
static const kernel_table AVX2 = {"avx2", DS_KERNEL_FUNCTIONS(AVX2_ENTRY)};
static const kernel_table AVX512 = {"avx512", DS_KERNEL_FUNCTIONS(AVX512_ENTRY)};

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
/* (libgcc's CPUID check also asks the OS, through XGETBV, whether it saves the zmm state) */
static int cpu_has_avx512(void) { return cpu_has_avx2() && __builtin_cpu_supports("avx512f"); }

/* the best the CPU runs, no better than DS_KERNELS asks */
static const kernel_table *choose(void) {
    const char *want = getenv("DS_KERNELS");
    if (want && !strcmp(want, "base")) return &BASE;
    if (want && !strcmp(want, "avx2")) return cpu_has_avx2() ? &AVX2 : &BASE;
    return cpu_has_avx512() ? &AVX512 : cpu_has_avx2() ? &AVX2 : &BASE;
}

static const kernel_table *chosen; /* the table in use */

/* the first callers may race to set it, all to the same value */
static const kernel_table *kernels(void) {
    const kernel_table *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (!k) {
        k = choose();
        __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    }
    return k;
}

const char *ds_kernels_variant(void) { return kernels()->name; }

int ds_kernels_select(const char *name) {
    const kernel_table *k = !name                      ? NULL
                            : !strcmp(name, "base")    ? &BASE
                            : !strcmp(name, "avx2")    ? &AVX2
                            : !strcmp(name, "avx512")  ? &AVX512
                                                       : NULL;
    if (!k) return ds_fail("unknown kernel variant '%s' (base, avx2 or avx512)", name ? name : "(null)");
    if (k == &AVX2 && !cpu_has_avx2()) return ds_fail("this CPU lacks AVX2 and FMA: the avx2 kernels cannot run");
    if (k == &AVX512 && !cpu_has_avx512()) return ds_fail("this CPU lacks AVX-512F: the avx512 kernels cannot run");
    __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    return DS_OK;
}

void ds_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
             int ldc, int accumulate) {
    kernels()->ds_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
void ds_gemm_train(int trans_a, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                   int accumulate) {
    kernels()->ds_gemm_train(trans_a, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
size_t ds_conv2d_scratch_floats(int C_in, int H, int W, int K, int stride) {
    return kernels()->ds_conv2d_scratch_floats(C_in, H, W, K, stride);
}
void ds_conv2d(const float *x, const float *w, const float *bias, float *y, float *scratch, int B, int C_in, int H,
               int W, int C_out, int K, int stride) {
    kernels()->ds_conv2d(x, w, bias, y, scratch, B, C_in, H, W, C_out, K, stride);
}
size_t ds_winograd_scratch_floats(int C_in, int W, int C_out) {
    return kernels()->ds_winograd_scratch_floats(C_in, W, C_out);
}
void ds_winograd_weights(const float *w, float *U, int C_out, int C_in, int tile) {
    kernels()->ds_winograd_weights(w, U, C_out, C_in, tile);
}
void ds_conv2d_winograd(const float *x, const float *U, const float *bias, float *y, float *scratch, int B, int C_in,
                        int H, int W, int C_out) {
    kernels()->ds_conv2d_winograd(x, U, bias, y, scratch, B, C_in, H, W, C_out);
}
void ds_linear(const float *x, const float *W, const float *bias, float *y, int B, int in, int out) {
    kernels()->ds_linear(x, W, bias, y, B, in, out);
}
void ds_silu(const float *x, float *y, long n) { kernels()->ds_silu(x, y, n); }
void ds_groupnorm(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, int B,
                  int C, int HW, int G, float eps) {
    kernels()->ds_groupnorm(x, gamma, beta, y, mean, rstd, B, C, HW, G, eps);
}
void ds_groupnorm_silu(const float *x, const float *gamma, const float *beta, float *norm, float *act, float *mean,
                       float *rstd, int B, int C, int HW, int G, float eps) {
    kernels()->ds_groupnorm_silu(x, gamma, beta, norm, act, mean, rstd, B, C, HW, G, eps);
}
void ds_upsample2x(const float *x, float *y, int BC, int H, int W) { kernels()->ds_upsample2x(x, y, BC, H, W); }
void ds_concat_channels(const float *a, int Ca, const float *b, int Cb, float *y, int B, int HW) {
    kernels()->ds_concat_channels(a, Ca, b, Cb, y, B, HW);
}
void ds_add(const float *a, const float *b, float *y, long n) { kernels()->ds_add(a, b, y, n); }
void ds_add_channel_bias(float *y, const float *v, int B, int C, int HW) { kernels()->ds_add_channel_bias(y, v, B, C, HW); }
void ds_softmax_rows(float *x, int rows, int n, float scale) { kernels()->ds_softmax_rows(x, rows, n, scale); }
int ds_bench_peak(double seconds, double *out) { return kernels()->ds_bench_peak(seconds, out); }
int ds_bench_unet_convs(const ds_unet *m, int B, double seconds, int cap_rows, double *out) {
    return kernels()->ds_bench_unet_convs(m, B, seconds, cap_rows, out);
}
int ds_bench_unet_layers(const ds_unet *m, int B, double seconds, int cap_rows, double *out) {
    return kernels()->ds_bench_unet_layers(m, B, seconds, cap_rows, out);
}

/* kernels_grad.h */
size_t ds_conv2d_backward_scratch_floats(int C_in, int H, int W, int C_out, int K, int stride) {
    return kernels()->ds_conv2d_backward_scratch_floats(C_in, H, W, C_out, K, stride);
}
void ds_col2im(const float *col, float *dx, int C_in, int H, int W, int K, int stride) {
    kernels()->ds_col2im(col, dx, C_in, H, W, K, stride);
}
void ds_conv2d_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, float *db,
                        float *scratch, int B, int C_in, int H, int W, int C_out, int K, int stride) {
    kernels()->ds_conv2d_backward(x, w, dy, dx, dw, db, scratch, B, C_in, H, W, C_out, K, stride);
}
void ds_linear_backward(const float *x, const float *W, const float *dy, float *dx, float *dW, float *db, int B,
                        int in, int out) {
    kernels()->ds_linear_backward(x, W, dy, dx, dW, db, B, in, out);
}
void ds_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                           const float *dy, float *dx, float *dgamma, float *dbeta, int B, int C, int HW, int G) {
    kernels()->ds_groupnorm_backward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, B, C, HW, G);
}
void ds_groupnorm_silu_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                const float *norm, const float *d_act, float *d_norm, float *dx, float *dgamma,
                                float *dbeta, int B, int C, int HW, int G) {
    kernels()->ds_groupnorm_silu_backward(x, gamma, mean, rstd, norm, d_act, d_norm, dx, dgamma, dbeta, B, C, HW, G);
}
void ds_silu_backward(const float *x, const float *dy, float *dx, long n) { kernels()->ds_silu_backward(x, dy, dx, n); }
void ds_upsample2x_backward(const float *dy, float *dx, int BC, int H, int W) {
    kernels()->ds_upsample2x_backward(dy, dx, BC, H, W);
}
void ds_concat_channels_backward(const float *dy, float *da, int Ca, float *db, int Cb, int B, int HW) {
    kernels()->ds_concat_channels_backward(dy, da, Ca, db, Cb, B, HW);
}
void ds_accumulate(const float *dy, float *dx, long n) { kernels()->ds_accumulate(dy, dx, n); }
void ds_add_channel_bias_backward(const float *dy, float *dv, int B, int C, int HW) {
    kernels()->ds_add_channel_bias_backward(dy, dv, B, C, HW);
}
void ds_class_embedding_backward(const float *dout, const int *cls, float *dtable, int B, int E) {
    kernels()->ds_class_embedding_backward(dout, cls, dtable, B, E);
}
double ds_mse_backward(const float *pred, const float *target, float *dpred, long n, long n_total) {
    return kernels()->ds_mse_backward(pred, target, dpred, n, n_total);
}
double ds_mse_backward_weighted(const float *pred, const float *target, const float *weight, float *dpred, int B,
                                long item, long n_total) {
    return kernels()->ds_mse_backward_weighted(pred, target, weight, dpred, B, item, n_total);
}
double ds_softmax_xent_backward(const float *logits, const int *labels, float *dlogits, int B, int C, long n_total) {
    return kernels()->ds_softmax_xent_backward(logits, labels, dlogits, B, C, n_total);
}
void ds_softmax_rows_backward(const float *p, float *dp, int rows, int n, float scale) {
    kernels()->ds_softmax_rows_backward(p, dp, rows, n, scale);
}
#endif

/* kernels_variant.h — compiles the kernel layer once per instruction set, under its own names.
 *
 * A portable x86-64 build (no -march=native) compiles kernels.c and kernels_bench.c three
 * times: with -DDS_KERNEL_VARIANT=base (SSE2), avx2 (-mavx2 -mfma: the 8-lane vf of vec.h,
 * 6 x 16 GEMM tiles) and avx512 (-mavx512f -mavx2 -mfma: 16 lanes, 8 x 32 tiles). This header,
 * included first by those files, renames each public function ds_X to ds_X_base,
 * ds_X_avx2 or ds_X_avx512; kernels_dispatch.c then defines
 * ds_X, calling the variant the CPU supports (chosen once, at the first call). The variants
 * give the same bits (vec.h: the lane width changes no result; -ffp-contract=off keeps FMA out),
 * so tests/test_kernels.c runs every kernel under both and compares them byte for byte; the one
 * exception is ds_gemm_train, the trainer's GEMM, which fuses its multiply-adds under avx2 and
 * avx512 (tests/test_kernels.c bounds its difference from the reference instead).
 * Without DS_KERNEL_VARIANT (WASM, -march=native, other CPUs) nothing is renamed and there is
 * no dispatch. Not here: the kernels (kernels.c), the choice (kernels_dispatch.c). */
#ifndef DS_KERNELS_VARIANT_H
#define DS_KERNELS_VARIANT_H

/* X(name): every function a variant provides (kernels.h, kernels_bench.h, kernels_grad.h) */
#define DS_KERNEL_FUNCTIONS(X)                                                                                          \
    X(ds_gemm) X(ds_gemm_train) X(ds_conv2d_scratch_floats) X(ds_conv2d) X(ds_winograd_scratch_floats) X(ds_winograd_weights)          \
    X(ds_conv2d_winograd) X(ds_linear) X(ds_silu) X(ds_groupnorm) X(ds_groupnorm_silu) X(ds_upsample2x)              \
    X(ds_concat_channels) X(ds_add) X(ds_add_channel_bias) X(ds_softmax_rows) X(ds_bench_peak) X(ds_bench_unet_convs)          \
    X(ds_bench_unet_layers) DS_KERNEL_GRAD_FUNCTIONS(X)
/* kernels_grad.h's: the trainer's backward passes */
#define DS_KERNEL_GRAD_FUNCTIONS(X)                                                                                     \
    X(ds_conv2d_backward_scratch_floats) X(ds_col2im) X(ds_conv2d_backward) X(ds_linear_backward) \
    X(ds_groupnorm_backward) X(ds_groupnorm_silu_backward) X(ds_silu_backward) X(ds_upsample2x_backward) \
    X(ds_concat_channels_backward) X(ds_accumulate) X(ds_add_channel_bias_backward) X(ds_class_embedding_backward) \
    X(ds_mse_backward) X(ds_mse_backward_weighted) X(ds_softmax_xent_backward) X(ds_softmax_rows_backward)

#ifdef DS_KERNEL_VARIANT
#define DS_KV_CAT2(a, b) a##_##b
#define DS_KV_CAT(a, b) DS_KV_CAT2(a, b)
#define ds_gemm DS_KV_CAT(ds_gemm, DS_KERNEL_VARIANT)
#define ds_gemm_train DS_KV_CAT(ds_gemm_train, DS_KERNEL_VARIANT)
#define ds_conv2d_scratch_floats DS_KV_CAT(ds_conv2d_scratch_floats, DS_KERNEL_VARIANT)
#define ds_conv2d DS_KV_CAT(ds_conv2d, DS_KERNEL_VARIANT)
#define ds_winograd_scratch_floats DS_KV_CAT(ds_winograd_scratch_floats, DS_KERNEL_VARIANT)
#define ds_winograd_weights DS_KV_CAT(ds_winograd_weights, DS_KERNEL_VARIANT)
#define ds_conv2d_winograd DS_KV_CAT(ds_conv2d_winograd, DS_KERNEL_VARIANT)
#define ds_linear DS_KV_CAT(ds_linear, DS_KERNEL_VARIANT)
#define ds_silu DS_KV_CAT(ds_silu, DS_KERNEL_VARIANT)
#define ds_groupnorm DS_KV_CAT(ds_groupnorm, DS_KERNEL_VARIANT)
#define ds_groupnorm_silu DS_KV_CAT(ds_groupnorm_silu, DS_KERNEL_VARIANT)
#define ds_upsample2x DS_KV_CAT(ds_upsample2x, DS_KERNEL_VARIANT)
#define ds_concat_channels DS_KV_CAT(ds_concat_channels, DS_KERNEL_VARIANT)
#define ds_add DS_KV_CAT(ds_add, DS_KERNEL_VARIANT)
#define ds_add_channel_bias DS_KV_CAT(ds_add_channel_bias, DS_KERNEL_VARIANT)
#define ds_softmax_rows DS_KV_CAT(ds_softmax_rows, DS_KERNEL_VARIANT)
#define ds_bench_peak DS_KV_CAT(ds_bench_peak, DS_KERNEL_VARIANT)
#define ds_bench_unet_convs DS_KV_CAT(ds_bench_unet_convs, DS_KERNEL_VARIANT)
#define ds_bench_unet_layers DS_KV_CAT(ds_bench_unet_layers, DS_KERNEL_VARIANT)
#define ds_conv2d_backward_scratch_floats DS_KV_CAT(ds_conv2d_backward_scratch_floats, DS_KERNEL_VARIANT)
#define ds_col2im DS_KV_CAT(ds_col2im, DS_KERNEL_VARIANT)
#define ds_conv2d_backward DS_KV_CAT(ds_conv2d_backward, DS_KERNEL_VARIANT)
#define ds_linear_backward DS_KV_CAT(ds_linear_backward, DS_KERNEL_VARIANT)
#define ds_groupnorm_backward DS_KV_CAT(ds_groupnorm_backward, DS_KERNEL_VARIANT)
#define ds_groupnorm_silu_backward DS_KV_CAT(ds_groupnorm_silu_backward, DS_KERNEL_VARIANT)
#define ds_silu_backward DS_KV_CAT(ds_silu_backward, DS_KERNEL_VARIANT)
#define ds_upsample2x_backward DS_KV_CAT(ds_upsample2x_backward, DS_KERNEL_VARIANT)
#define ds_concat_channels_backward DS_KV_CAT(ds_concat_channels_backward, DS_KERNEL_VARIANT)
#define ds_accumulate DS_KV_CAT(ds_accumulate, DS_KERNEL_VARIANT)
#define ds_add_channel_bias_backward DS_KV_CAT(ds_add_channel_bias_backward, DS_KERNEL_VARIANT)
#define ds_class_embedding_backward DS_KV_CAT(ds_class_embedding_backward, DS_KERNEL_VARIANT)
#define ds_mse_backward DS_KV_CAT(ds_mse_backward, DS_KERNEL_VARIANT)
#define ds_mse_backward_weighted DS_KV_CAT(ds_mse_backward_weighted, DS_KERNEL_VARIANT)
#define ds_softmax_xent_backward DS_KV_CAT(ds_softmax_xent_backward, DS_KERNEL_VARIANT)
#define ds_softmax_rows_backward DS_KV_CAT(ds_softmax_rows_backward, DS_KERNEL_VARIANT)
#endif

/* The variant in use: "base", "avx2", "avx512", or "build" when this build has no dispatch
 * (WASM, -march=native, non-x86). The environment variable DS_KERNELS=base|avx2|avx512 caps
 * the choice before the first kernel call (tests, benchmarks): the best variant the CPU runs
 * that is no wider than the one asked for. */
const char *ds_kernels_variant(void);
/* Switches to the variant called name ("base", "avx2", "avx512"; "build" in a build without dispatch)
 * for the calls that follow; for tests that compare the variants, not for use while another
 * thread runs kernels. DS_ERR if the name is unknown or the CPU lacks the instructions. */
int ds_kernels_select(const char *name);

#endif

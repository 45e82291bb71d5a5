/* test_kernel_variants.c — the SSE2, AVX2+FMA and AVX-512 kernel variants of a portable x86-64
 * build (src/kernels_variant.h): the default Fashion UNet's forward at batch 3 gives the same
 * bits under each, and so do the SiLU and GroupNorm+SiLU backward passes; two training steps (gradients, Adam, EMA) of a small UNet on synthetic images
 * agree to float rounding (the wider variants' trainer GEMM fuses its multiply-adds). Compares
 * the variants this CPU runs; skips (passes, saying so) in a build without dispatch or on a CPU
 * without AVX2. The per-kernel checks against the scalar references are in test_kernels.c;
 * ctest also runs that file under DS_KERNELS=base and DS_KERNELS=avx2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "kernels.h"
#include "kernels_grad.h"
#include "kernels_variant.h"
#include "model.h"
#include "unet_trainer.h"

enum { B = 3, STEPS = 2, N_IMAGES = 8 };
#define LR 1e-3

/* eps of the default UNet (seed 5) on fixed inputs, under the current variant */
static void forward(float *eps) {
    ds_model *m = ds_model_random(DS_MODEL_UNET, NULL, 5);
    CHECK(m != NULL, "default UNet: %s", ds_last_error());
    const int item = ds_model_item_floats(m);
    float *x = malloc(sizeof(float) * B * item), t[B] = {3.0f, 400.0f, 999.0f};
    int cls[B] = {0, 7, 10};
    for (int i = 0; i < B * item; i++) x[i] = (float)((i * 29) % 97) / 48.0f - 1.0f;
    CHECK(ds_model_forward(m, x, t, cls, B, eps) == DS_OK, "forward: %s", ds_last_error());
    free(x);
    ds_model_free(m);
}

/* GroupNorm+SiLU backward (and SiLU's alone) on fixed data, under the current variant: planes of
 * 196 and 49 pixels, so the 16-lane partial sums and the vector loops all have tails.
 * out: d_norm, dx, dgamma, dbeta and SiLU's dx, GN_OUT floats per plane size. */
enum { GN_B = 2, GN_C = 8, GN_G = 4 };
#define GN_OUT(HW) (3L * GN_B * GN_C * (HW) + 2 * GN_C)
static void norm_backward(int HW, float *out) {
    const long n = (long)GN_B * GN_C * HW;
    float *x = malloc(sizeof(float) * n), *dy = malloc(sizeof(float) * n), *norm = malloc(sizeof(float) * n);
    float *act = malloc(sizeof(float) * n), gamma[GN_C], beta[GN_C], mean[GN_B * GN_G], rstd[GN_B * GN_G];
    for (long i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) / 25.0f - 2.0f, dy[i] = (float)((i * 53) % 89) / 44.0f - 1.0f;
    for (int c = 0; c < GN_C; c++) gamma[c] = 0.5f + 0.1f * c, beta[c] = 0.05f * c - 0.2f;
    ds_groupnorm_silu(x, gamma, beta, norm, act, mean, rstd, GN_B, GN_C, HW, GN_G, 1e-5f);
    float *d_norm = out, *dx = d_norm + n, *silu_dx = dx + n, *dgamma = silu_dx + n, *dbeta = dgamma + GN_C;
    memset(out, 0, sizeof(float) * GN_OUT(HW));
    ds_groupnorm_silu_backward(x, gamma, mean, rstd, norm, dy, d_norm, dx, dgamma, dbeta, GN_B, GN_C, HW, GN_G);
    ds_silu_backward(norm, dy, silu_dx, n);
    free(x), free(dy), free(norm), free(act);
}

/* parameters and last gradient after STEPS steps of a small UNet, under the current variant */
static void train(const fashion_set *data, float **params, float **grads, long *n) {
    ds_unet_config c;
    ds_unet_config_default(&c);
    c.base_channels = 8, c.n_levels = 2, c.channel_mult[1] = 2, c.channel_mult[2] = 0, c.groups = 4, c.temb_dim = 16;
    int ints[DS_UNET_N_CONFIG];
    const int n_ints = ds_unet_config_to_ints(&c, ints);
    unet_trainer tr;
    unet_trainer_config cfg = {.batch = 4, .shard = 2, .workers = 1, .p_uncond = 0.1, .schedule = DS_SCHEDULE_LINEAR,
                               .T = 1000, .seed = 9};
    ds_optim_config_default(&cfg.optim);
    cfg.optim.lr = LR;
    const unet_train_data td = unet_train_data_fashion(data);
    if (unet_trainer_init(&tr, &cfg, ints, n_ints, &td)) {
        CHECK(0, "trainer: %s", ds_last_error());
        exit(check_summary("test_kernel_variants"));
    }
    double loss;
    for (int s = 0; s < STEPS; s++) CHECK(unet_trainer_step(&tr, &loss) == DS_OK, "step: %s", ds_last_error());
    *n = tr.unet.table.total;
    *params = malloc(sizeof(float) * *n), *grads = malloc(sizeof(float) * *n);
    memcpy(*params, tr.unet.params, sizeof(float) * *n);
    memcpy(*grads, tr.grads, sizeof(float) * *n);
    unet_trainer_free(&tr);
}

int main(void) {
    if (ds_kernels_select("base") != DS_OK) {
        printf("test_kernel_variants: %s: one variant ('%s'), nothing to compare\n", ds_last_error(), ds_kernels_variant());
        return check_summary("test_kernel_variants");
    }
    CHECK(ds_kernels_select("avx1024") == DS_ERR && strstr(ds_last_error(), "unknown kernel variant"), "unknown name refused");
    /* base, and every wider variant this CPU runs */
    const char *all[3] = {"base", "avx2", "avx512"}, *names[3];
    int nv = 0;
    for (int v = 0; v < 3; v++)
        if (ds_kernels_select(all[v]) == DS_OK) names[nv++] = all[v];
        else printf("test_kernel_variants: %s; not compared\n", ds_last_error());
    if (nv < 2) {
        printf("test_kernel_variants: only base runs here; skipped\n");
        return check_summary("test_kernel_variants");
    }
    fashion_set data = {.n = N_IMAGES, .pixels = malloc(N_IMAGES * 784), .labels = malloc(N_IMAGES)};
    for (int i = 0; i < N_IMAGES * 784; i++) data.pixels[i] = (uint8_t)((i * 131) % 256);
    for (int i = 0; i < N_IMAGES; i++) data.labels[i] = (uint8_t)(i % 10);

    float *eps[3], *params[3], *grads[3], *gn196[3], *gn49[3];
    long n[3];
    for (int v = 0; v < nv; v++) {
        CHECK(ds_kernels_select(names[v]) == DS_OK && !strcmp(ds_kernels_variant(), names[v]), "select %s", names[v]);
        eps[v] = malloc(sizeof(float) * B * 784);
        forward(eps[v]);
        train(&data, &params[v], &grads[v], &n[v]);
        gn196[v] = malloc(sizeof(float) * GN_OUT(196)), gn49[v] = malloc(sizeof(float) * GN_OUT(49));
        norm_backward(196, gn196[v]), norm_backward(49, gn49[v]);
    }
    for (int v = 1; v < nv; v++) {
        CHECK(!memcmp(eps[0], eps[v], sizeof(float) * B * 784), "default UNet forward: base and %s give the same bits", names[v]);
        CHECK(!memcmp(gn196[0], gn196[v], sizeof(float) * GN_OUT(196)) && !memcmp(gn49[0], gn49[v], sizeof(float) * GN_OUT(49)),
              "GroupNorm+SiLU and SiLU backward: base and %s give the same bits", names[v]);
        /* Training differs by rounding only: the wider variants fuse the conv backward's
         * multiply-adds (ds_gemm_train). The gradients agree to float rounding (relative L2
         * gap); each weight moves by Adam's steps of about lr, whose direction a gradient near
         * zero can flip, so the weights agree to within 2 lr per step. */
        CHECK(n[0] == n[v], "the same parameter count");
        double gap = 0, norm = 0, worst_w = 0;
        for (long i = 0; i < n[0]; i++) {
            gap += ((double)grads[0][i] - grads[v][i]) * ((double)grads[0][i] - grads[v][i]);
            norm += (double)grads[0][i] * grads[0][i];
            worst_w = fmax(worst_w, fabs((double)params[0][i] - params[v][i]));
        }
        gap = sqrt(gap / norm);
        CHECK(norm > 0 && gap <= 1e-5, "gradients: relative L2 gap %.3g between base and %s (> 1e-5)", gap, names[v]);
        CHECK(worst_w <= 2 * LR * STEPS, "weights after %d steps: differ by %.3g (> 2 lr per step)", STEPS, worst_w);
        printf("test_kernel_variants: %s: forward bit-identical to base; after %d training steps gradients' relative gap "
               "%.2e, weights' largest difference %.2e\n", names[v], STEPS, gap, worst_w);
    }
    int differs = 0;
    for (int i = 0; i < B * 784 && !differs; i++) differs = eps[0][i] != 0.0f;
    CHECK(differs, "the forward produced something (the comparison can fail)");
    int nonzero = 0;
    for (long i = 0; i < GN_OUT(49); i++) nonzero += gn49[0][i] != 0.0f;
    CHECK(nonzero > GN_OUT(49) / 2, "the backward passes produced something (%d of %ld values non-zero)", nonzero, GN_OUT(49));
    for (int v = 0; v < nv; v++) free(eps[v]), free(params[v]), free(grads[v]), free(gn196[v]), free(gn49[v]);
    free(data.pixels), free(data.labels);
    return check_summary("test_kernel_variants");
}

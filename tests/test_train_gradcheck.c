/* test_train_gradcheck.c — the whole UNet backward against central finite differences of the
 * whole forward, on a tiny config that still exercises every path: two
 * levels, two res blocks per level (so both the concat and the plain block inputs), 1x1 skips,
 * the stride-2 downsample, the upsample, the time MLP and the class table (one item
 * conditional, one "no class"). Every parameter tensor is checked at up to PER_TENSOR
 * random elements. Loss L = sum(eps * r) with a fixed random r. Figures printed: the worst
 * per-tensor max|fd - an| / max|an| over the checked elements and the global
 * ||fd - an|| / ||an||. A planted error in one gradient must be caught. (The MLP's
 * whole-network check is tests/test_mlp_train.c.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "unet_train.h"

#define PER_TENSOR 12

static ds_rng rng;

typedef struct {
    double worst_tensor, global;
} figures;

/* forward + loss for whichever network ctx holds */
typedef double (*loss_fn)(void *ctx);

static figures check_blob(const char *what, const ds_param_table *t, float *params, const float *grads, loss_fn f,
                          void *ctx, double h, double tol, int planted) {
    figures fig = {0, 0};
    double num = 0, den = 0;
    for (int k = 0; k < t->n; k++) {
        const ds_param_info *p = &t->p[k];
        double max_an = 0, max_err = 0;
        int m = p->numel < PER_TENSOR ? (int)p->numel : PER_TENSOR;
        for (int j = 0; j < m; j++) {
            long i = p->offset + (p->numel <= PER_TENSOR ? j : (long)ds_rng_below(&rng, (uint32_t)p->numel));
            float keep = params[i];
            params[i] = keep + (float)h;
            double lp = f(ctx);
            params[i] = keep - (float)h;
            double lm = f(ctx);
            params[i] = keep;
            double fd = (lp - lm) / (2 * h), an = grads[i];
            if (planted && k == t->n / 2 && j == 0) an *= 1.05; /* the checker must see this */
            max_an = fmax(max_an, fabs(an));
            max_err = fmax(max_err, fabs(fd - an));
            num += (fd - an) * (fd - an);
            den += an * an;
        }
        double rel = max_err / fmax(max_an, 1e-6);
        if (!planted)
            CHECK(rel <= tol && max_an > 0, "%s %s: rel err %.3g (max|an| %.3g) > tol %.3g", what, p->name, rel, max_an, tol);
        fig.worst_tensor = fmax(fig.worst_tensor, rel);
    }
    fig.global = sqrt(num / fmax(den, 1e-30));
    printf("  %-5s%s %d tensors: worst per-tensor rel err %.2e, global rel err %.2e (tol %.0e)\n", what,
           planted ? " (planted error)" : "", t->n, fig.worst_tensor, fig.global, tol);
    return fig;
}

/* ---- UNet ---- */
typedef struct {
    ds_unet *m;
    ds_unet_state *s;
    const float *x, *t, *r;
    const int *cls;
    int B;
} unet_ctx;

static double unet_loss(void *p) {
    unet_ctx *c = p;
    if (ds_unet_forward(c->m, c->s, c->x, c->t, c->cls, c->B, NULL)) return NAN;
    long n = (long)c->B * c->m->config.in_channels * c->m->config.image_size * c->m->config.image_size;
    double L = 0;
    for (long i = 0; i < n; i++) L += (double)c->s->eps[i] * c->r[i];
    return L;
}

static void perturb(float *p, long n, double scale) {
    for (long i = 0; i < n; i++) p[i] += (float)(ds_rng_normal(&rng) * scale);
}

/* the whole UNet's gradient against central differences, a planted error seen, accumulation */
static void check_unet(const char *name, const ds_unet_config *cfg) {
    ds_unet m;
    ds_unet_state s;
    ds_unet_grad_state g;
    CHECK(ds_unet_build(&m, cfg) == DS_OK, "build: %s", ds_last_error());
    ds_unet_init_random(&m, 5);
    /* no zero biases or unit gains: every term of every gradient takes part */
    perturb(m.params, m.table.total, 0.1);
    const int B = 2;
    CHECK(ds_unet_state_alloc(&s, &m, B) == DS_OK, "state: %s", ds_last_error());
    CHECK(ds_unet_grad_state_alloc(&g, &m, B) == DS_OK, "grad state: %s", ds_last_error());
    const long n = (long)B * cfg->in_channels * cfg->image_size * cfg->image_size;
    float *x = malloc(sizeof(float) * n), *r = malloc(sizeof(float) * n), t[2] = {37.f, 802.f};
    int cls[2] = {1, cfg->n_classes};
    for (long i = 0; i < n; i++) x[i] = (float)ds_rng_normal(&rng), r[i] = (float)ds_rng_normal(&rng);
    unet_ctx ctx = {&m, &s, x, t, r, cls, B};
    float *grads = calloc((size_t)m.table.total, sizeof(float));
    unet_loss(&ctx);
    CHECK(ds_unet_backward(&m, &s, &g, NULL, r, B, grads) == DS_OK, "backward: %s", ds_last_error());
    printf("  %s: %ld parameters\n", name, m.table.total);
    check_blob(name, &m.table, m.params, grads, unet_loss, &ctx, 1e-2, 1e-2, 0);
    figures bad = check_blob(name, &m.table, m.params, grads, unet_loss, &ctx, 1e-2, 1e-2, 1);
    CHECK(bad.worst_tensor > 1e-2, "planted 5%% error seen (worst %.3g)", bad.worst_tensor);

    /* the trainer's path: the blocks' input gradients as Winograd convs of the transposed
     * kernels, the same gradient within Winograd's rounding (relative to each tensor's size) */
    ds_unet_backward_weights bw;
    CHECK(ds_unet_backward_weights_alloc(&bw, &m, 1) == DS_OK, "backward weights: %s", ds_last_error());
    ds_unet_backward_weights_prepare(&bw, &m);
    float *wino = calloc((size_t)m.table.total, sizeof(float));
    unet_loss(&ctx);
    CHECK(ds_unet_backward(&m, &s, &g, &bw, r, B, wino) == DS_OK, "backward (Winograd): %s", ds_last_error());
    double worst = 0;
    for (int k = 0; k < m.table.n; k++) {
        const ds_param_info *e = &m.table.p[k];
        double diff = 0, norm = 0;
        for (long i = e->offset; i < e->offset + e->numel; i++)
            diff = fmax(diff, fabs((double)wino[i] - grads[i])), norm = fmax(norm, fabs((double)grads[i]));
        if (norm > 0) worst = fmax(worst, diff / norm);
    }
    printf("  %s: Winograd input gradients vs the GEMM path: worst %.2e of a tensor's largest element\n", name, worst);
    CHECK(worst < 1e-4, "Winograd backward within 1e-4 of the GEMM path (worst %.3g)", worst);
    CHECK(worst > 0, "the Winograd path was taken (it rounds differently)");
    check_blob(name, &m.table, m.params, wino, unet_loss, &ctx, 1e-2, 1e-2, 0);
    free(wino);
    ds_unet_backward_weights_free(&bw);

    /* accumulation: a second backward doubles the gradient (up to float rounding, since the
     * per-image sums now land on non-zero values) */
    float *twice = malloc(sizeof(float) * (size_t)m.table.total);
    memcpy(twice, grads, sizeof(float) * (size_t)m.table.total);
    unet_loss(&ctx);
    ds_unet_backward(&m, &s, &g, NULL, r, B, twice);
    int doubled = 1;
    for (long i = 0; i < m.table.total; i++) doubled &= fabsf(twice[i] - 2 * grads[i]) <= 1e-5f * fabsf(grads[i]) + 1e-7f;
    CHECK(doubled, "backward accumulates (+=) into the gradient blob");
    CHECK(ds_unet_backward(&m, &s, &g, NULL, r, 3, grads) == DS_ERR, "a batch above the state's size is refused");
    free(twice);
    free(grads), free(x), free(r);
    ds_unet_grad_state_free(&g);
    ds_unet_state_free(&s);
    ds_unet_free(&m);
}

int main(void) {
    ds_rng_seed(&rng, 77);
    printf("whole-network gradient checks (central differences, h = 1e-2)\n");

    /* UNet: 8x8, 2 levels (4, 8 channels), 2 res blocks per level, 3 classes */
    const ds_unet_config grey = {.image_size = 8, .in_channels = 1, .base_channels = 4, .n_levels = 2,
                                 .channel_mult = {1, 2}, .n_res_blocks = 2, .groups = 2, .temb_dim = 8, .n_classes = 3};
    check_unet("unet", &grey);

    /* The batch noising: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps with t in 1..T, about
     * p_uncond of the classes replaced by "no class", the same draws from the same RNG state. */
    {
        static ds_schedule sch;
        ds_schedule_init(&sch, DS_SCHEDULE_LINEAR, 1000);
        enum { NB = 4000, ITEM = 3 };
        static float x0[NB * ITEM], xt[NB * ITEM], eps[NB * ITEM], tf[NB], xt2[NB * ITEM], eps2[NB * ITEM], tf2[NB];
        static int cls_in[NB], cls[NB], cls2[NB];
        for (int i = 0; i < NB * ITEM; i++) x0[i] = (float)(i % 7) - 3.f;
        for (int i = 0; i < NB; i++) cls_in[i] = i % 10;
        ds_rng r1, r2;
        ds_rng_seed(&r1, 9), ds_rng_seed(&r2, 9);
        ds_diffusion_draw(&r1, &sch, x0, cls_in, 10, 0.1, NB, ITEM, xt, eps, tf, cls);
        ds_diffusion_draw(&r2, &sch, x0, cls_in, 10, 0.1, NB, ITEM, xt2, eps2, tf2, cls2);
        CHECK(!memcmp(xt, xt2, sizeof xt) && !memcmp(cls, cls2, sizeof cls), "same RNG state, same batch");
        int dropped = 0, kept_right = 1, t_ok = 1, formula = 1;
        double mean_eps = 0, var_eps = 0;
        for (int b = 0; b < NB; b++) {
            int t = (int)tf[b];
            t_ok &= tf[b] == (float)t && t >= 1 && t <= 1000;
            if (cls[b] == 10) dropped++;
            else kept_right &= cls[b] == cls_in[b];
            for (int i = 0; i < ITEM; i++) {
                int k = b * ITEM + i;
                float want = (float)sch.sqrt_alpha_bar[t - 1] * x0[k] + (float)sch.sqrt_one_minus_alpha_bar[t - 1] * eps[k];
                formula &= xt[k] == want;
                mean_eps += eps[k];
                var_eps += (double)eps[k] * eps[k];
            }
        }
        mean_eps /= NB * ITEM;
        var_eps = var_eps / (NB * ITEM) - mean_eps * mean_eps;
        CHECK(t_ok && kept_right && formula, "t in 1..T, kept classes unchanged, x_t by the formula");
        CHECK(dropped > 320 && dropped < 480, "about 10%% of %d labels dropped (got %d)", NB, dropped);
        CHECK(fabs(mean_eps) < 0.05 && fabs(var_eps - 1) < 0.05, "noise ~ N(0, 1) (mean %.3f, var %.3f)", mean_eps, var_eps);
        ds_diffusion_draw(&r1, &sch, x0, NULL, 10, 0.1, NB, ITEM, xt, eps, tf, cls);
        int all_uncond = 1;
        for (int b = 0; b < NB; b++) all_uncond &= cls[b] == 10;
        CHECK(all_uncond, "no classes given: every item unconditional");

        /* the targets: eps itself; v = a eps - s x0, from which s x_t + a v gives eps back and
         * a x_t - s v gives x0; the min-SNR-5 weights min(SNR, 5) / SNR and / (SNR + 1) */
        static float target[NB * ITEM], weight[NB];
        CHECK(ds_diffusion_target(&sch, DS_PREDICT_EPS, 0, x0, eps, tf, NB, ITEM, target, weight) == DS_OK &&
                  !memcmp(target, eps, sizeof eps),
              "eps target: the noise itself");
        int unit = 1;
        for (int b = 0; b < NB; b++) unit &= weight[b] == 1.0f;
        CHECK(unit, "no min-SNR: every weight 1");
        CHECK(ds_diffusion_target(&sch, DS_PREDICT_V, 5, x0, eps, tf, NB, ITEM, target, weight) == DS_OK, "v target: %s",
              ds_last_error());
        double back_eps = 0, back_x0 = 0, werr = 0;
        int low = 0, high = 0;
        for (int b = 0; b < NB; b++) {
            const int t = (int)tf[b];
            const double a = sch.sqrt_alpha_bar[t - 1], s = sch.sqrt_one_minus_alpha_bar[t - 1], snr = sch.snr[t - 1];
            for (int i = 0; i < ITEM; i++) {
                const int k = b * ITEM + i;
                back_eps = fmax(back_eps, fabs(s * xt[k] + a * target[k] - eps[k]));
                back_x0 = fmax(back_x0, fabs(a * xt[k] - s * target[k] - x0[k]));
            }
            werr = fmax(werr, fabs(weight[b] - fmin(snr, 5) / (snr + 1)));
            low += weight[b] < 0.5f, high += snr < 5 && fabs(weight[b] - snr / (snr + 1)) < 1e-6;
        }
        CHECK(back_eps < 1e-5 && back_x0 < 1e-5, "v target: s x_t + a v = eps (%.2e), a x_t - s v = x0 (%.2e)", back_eps, back_x0);
        CHECK(werr < 1e-6 && low > 0 && high > 0, "v min-SNR-5 weights min(SNR, 5) / (SNR + 1) (worst %.2e; %d below 0.5, %d capped)",
              werr, low, high);
        CHECK(ds_diffusion_target(&sch, DS_PREDICT_EPS, 5, x0, eps, tf, NB, ITEM, target, weight) == DS_OK, "eps min-SNR");
        werr = 0;
        for (int b = 0; b < NB; b++) {
            const double snr = sch.snr[(int)tf[b] - 1];
            werr = fmax(werr, fabs(weight[b] - fmin(snr, 5) / snr));
        }
        CHECK(werr < 1e-6, "eps min-SNR-5 weights min(SNR, 5) / SNR (worst %.2e)", werr);
        CHECK(ds_diffusion_target(&sch, DS_PREDICT_FLOW, 0, x0, eps, tf, NB, ITEM, target, weight) == DS_ERR &&
                  strstr(ds_last_error(), "trains eps or v, not flow"),
              "flow target refused: %s", ds_last_error());
        tf[7] = 2.5f;
        CHECK(ds_diffusion_target(&sch, DS_PREDICT_V, 0, x0, eps, tf, NB, ITEM, target, weight) == DS_ERR &&
                  strstr(ds_last_error(), "timestep 2.5 of item 7 is not an integer in 1..1000"),
              "fractional t refused: %s", ds_last_error());
    }
    /* RGB as `train --images` makes it: 3 channels in and out, 8 -> 4 -> 2, 2 classes (last: its
     * draws leave the RNG of the checks above as it was) */
    const ds_unet_config rgb = {.image_size = 8, .in_channels = 3, .base_channels = 4, .n_levels = 3,
                                .channel_mult = {1, 2, 2}, .n_res_blocks = 1, .groups = 2, .temb_dim = 8, .n_classes = 2};
    check_unet("unet rgb", &rgb);
    /* the mid self-attention (at 4x4: 16 positions, 8 channels), every tensor of it checked */
    ds_unet_config attn = grey;
    attn.attention = 1;
    check_unet("unet attention", &attn);
    return check_summary("test_train_gradcheck");
}
